/* For test_memctl: fill FILL_PAGES pages with one identical (nonzero)
 * pattern and ZERO_PAGES pages with data that is then cleared again, then
 * idle in WFI forever: the sharing scanner should merge the first and drop
 * the second. Other harts park. */
#include <stdint.h>

__asm__(".section .text.init, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "  csrr t0, mhartid\n"
        "  bnez t0, 2f\n"
        "  la sp, stack_top\n"
        "  call main\n"
        "2: wfi\n"
        "  j 2b\n"
        ".text\n");

#define FILL_BASE 0x80400000ul
#define FILL_PAGES 2048ul
#define ZERO_PAGES 1024ul

uint8_t stack[4096] __attribute__((aligned(16)));
__asm__(".globl stack_top\n.set stack_top, stack + 4096\n");

int main(void)
{
    volatile uint64_t *p = (volatile uint64_t *)FILL_BASE;
    for (uint64_t i = 0; i < FILL_PAGES * 512; i++)
        p[i] = 0x0123456789abcdefull ^ (i & 511);
    volatile uint64_t *z = p + FILL_PAGES * 512;
    for (uint64_t i = 0; i < ZERO_PAGES * 512; i += 64)
        z[i] = i + 1;
    for (uint64_t i = 0; i < ZERO_PAGES * 512; i += 64)
        z[i] = 0;
    return 0;
}

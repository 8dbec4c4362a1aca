/* For test_memctl: write a pattern (one distinct word every STRIDE bytes)
 * over SPAN bytes of RAM, read it back, and exit through HTIF: 0 if every
 * word matched, else 1. Run in a VM whose memory limit is far below SPAN,
 * it makes the controller swap (and swap back in). Other harts park. */
#include <stdint.h>

__asm__(".section .text.init, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "  csrr t0, mhartid\n"
        "  bnez t0, 2f\n"
        "  la sp, stack_top\n"
        "  call main\n"
        "  slli a0, a0, 1\n"
        "  ori a0, a0, 1\n"
        "  la t1, tohost\n"
        "  sd a0, 0(t1)\n"
        "2: wfi\n"
        "  j 2b\n"
        ".text\n"
        ".section .tohost, \"aw\"\n"
        ".align 3\n"
        ".globl tohost\n"
        "tohost: .dword 0\n"
        ".globl fromhost\n"
        "fromhost: .dword 0\n"
        ".text\n");

#define BASE 0x80200000ul
#define SPAN (200ul << 20)
#define STRIDE 8ul

uint8_t stack[4096] __attribute__((aligned(16)));
__asm__(".globl stack_top\n.set stack_top, stack + 4096\n");

static uint64_t pattern(uint64_t a)
{
    return (a * 0x9e3779b97f4a7c15ull) ^ (a >> 12) ^ 0x5555aaaa5555aaaaull;
}

int main(void)
{
    for (uint64_t a = BASE; a < BASE + SPAN; a += STRIDE)
        *(volatile uint64_t *)a = pattern(a);
    int bad = 0;
    for (uint64_t a = BASE; a < BASE + SPAN; a += STRIDE)
        if (*(volatile uint64_t *)a != pattern(a))
            bad = 1;
    return bad;
}

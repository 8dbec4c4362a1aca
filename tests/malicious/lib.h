/* Runtime for the malicious-guest programs: UART output, pass/fail through
 * the sifive_test device, the CLINT clock, the device tree's RAM size, and a
 * trap handler that records an expected trap and skips the instruction.
 *
 * A program's main() returns 0 for pass or a failure code in 1..126, which
 * becomes the machine's exit status (syscon 0x3333 | code << 16). */
#ifndef MAL_LIB_H
#define MAL_LIB_H

#include <stddef.h>
#include <stdint.h>

#define SYSCON_BASE 0x100000ul
#define UART_BASE 0x10000000ul
#define CLINT_MTIME 0x200bff8ul
#define PLIC_BASE 0xc000000ul
#define RAM_BASE 0x80000000ul
#define TICKS_PER_MS 10000ull        /* virt's timebase: 10 MHz */

/* Failure code reported when a trap arrives that nobody expected. */
#define CODE_UNEXPECTED_TRAP 125
#define CODE_NO_FDT 124

#define fence() __asm__ volatile("fence iorw, iorw" ::: "memory")

static inline uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint8_t rd8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline void wr8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }

#define csr_read(name) ({ uint64_t v_; __asm__ volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define csr_write(name, v) __asm__ volatile("csrw " #name ", %0" ::"r"((uint64_t)(v)))

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void put_c(char c);
void put_s(const char *s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);
/* put_s(a) put_hex(v) put_s("\n") */
void put_kv(const char *a, uint64_t v);

/* The first failed check's name, printed with the final FAIL line (which
 * run.sh quotes). Set it with mal_failed_check (first call wins). */
void mal_failed_check(const char *what);
__attribute__((noreturn)) void mal_exit(int code);
__attribute__((noreturn)) void mal_fail(int code, const char *why);

uint64_t now_ticks(void);

/* End of the RAM that starts at 0x80000000, from the device tree passed in
 * a1; fails the program (CODE_NO_FDT) if there is none. */
uint64_t ram_end(void);

/* 1 if /chosen/bootargs contains "malicious.qemu-quirks": run.sh passes it
 * when DISCO_MALICIOUS_RUNNER=qemu, to accept QEMU 7.2's known deviations
 * (listed in README.md). On disco the programs are strict. */
int qemu_quirks(void);

/* ---- traps ---- */
struct trap_frame {
    uint64_t x[32];
};
struct trap_record {
    uint64_t cause, tval, epc;
    unsigned count;
};
/* While trap_armed is non-zero, traps are recorded in trap_last (count
 * incremented) and the trapping instruction is skipped; an instruction
 * access fault returns to the saved ra instead (the test jumped there with
 * jalr ra). A trap while disarmed fails the program. */
extern volatile int trap_armed;
extern volatile struct trap_record trap_last;
void trap_clear(void);

#endif

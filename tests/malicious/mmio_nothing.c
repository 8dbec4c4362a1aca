/* mmio_nothing: accesses to physical addresses where nothing is mapped,
 * illegal instructions, and MMIO storms.
 *
 * Expects, for every unmapped address and every access width (integer,
 * FP, LR, AMO): exactly one trap, mcause 5 (load access fault) for loads
 * and LR, 7 (store/AMO access fault) for stores and AMOs, 1 (instruction
 * access fault) for a jump there, with mtval = the address. Illegal
 * instructions: mcause 2. The storms must finish and read back what was
 * written. Failure codes:
 *   10+i load, 30+i store, 50+i AMO/LR, 70+i FP, 90+i fetch  (i = address index)
 * Under QEMU (quirks), AMOs may report mcause 5 instead of 7.
 *   100.. illegal instructions, 110.. storms, 116.. device register sweeps.
 *
 * The sweeps read every register word of the PLIC (a few words in each of
 * its 4 KiB pages), CLINT, RTC, UART, syscon and empty virtio slots, and
 * write the PLIC's per-source and per-context registers for sources and
 * contexts that do not exist, the CLINT's msip/mtimecmp for harts that do
 * not exist, and every register of empty virtio slots. Faults (mcause
 * 4..7) are accepted there; afterwards the devices must still work. */
#include "lib.h"

#ifndef SELFTEST_FLIP
#define SELFTEST_FLIP 0     /* build with -DSELFTEST_FLIP=1 to prove it can fail */
#endif

#define ANY_TVAL (~0ull)

static int failures;
static int first_code;

static void note_fail(int code, const char *what, uint64_t addr)
{
    put_s("  FAIL ");
    put_s(what);
    put_s(" @ ");
    put_hex(addr);
    put_s(": traps ");
    put_dec(trap_last.count);
    put_s(" mcause ");
    put_hex(trap_last.cause);
    put_s(" mtval ");
    put_hex(trap_last.tval);
    put_s("\n");
    if (!failures++)
        first_code = code;
    mal_failed_check(what);
}

/* One trap, with this cause and (unless ANY_TVAL) this tval. CAUSE_AMO
 * is 7 (store/AMO access fault, as the spec says); with QEMU quirks on, 5
 * is accepted too: QEMU 7.2 reports AMO faults as load access faults. */
#define CAUSE_AMO 0x75
static void check_trap(int code, const char *what, uint64_t addr, uint64_t cause, uint64_t tval)
{
    int cause_ok = cause == CAUSE_AMO
                       ? (trap_last.cause == 7 || (qemu_quirks() && trap_last.cause == 5))
                       : trap_last.cause == cause;
    int ok = trap_last.count == 1 && cause_ok &&
             (tval == ANY_TVAL || trap_last.tval == tval);
    if (!ok)
        note_fail(code, what, addr);
}

#define PROBE(code, what, addr, cause, insn)                                  \
    do {                                                                      \
        uint64_t v_ = 0x1234;                                                 \
        trap_clear();                                                         \
        trap_armed = 1;                                                       \
        __asm__ volatile(insn : "+r"(v_) : "r"(addr) : "memory");             \
        trap_armed = 0;                                                       \
        check_trap(code, what, addr, cause, addr);                            \
    } while (0)

#define PROBE_F(code, what, addr, cause, insn)                                \
    do {                                                                      \
        trap_clear();                                                         \
        trap_armed = 1;                                                       \
        __asm__ volatile(insn ::"r"(addr) : "memory", "ft0");                 \
        trap_armed = 0;                                                       \
        check_trap(code, what, addr, cause, addr);                            \
    } while (0)

static void probe_address(int i, uint64_t a)
{
    put_s("probe ");
    put_hex(a);
    put_s("\n");
    /* Loads: mcause 5. */
    PROBE(10 + i, "lb", a, 5, "lb %0, 0(%1)");
    PROBE(10 + i, "lbu", a, 5, "lbu %0, 0(%1)");
    PROBE(10 + i, "lh", a, 5, "lh %0, 0(%1)");
    PROBE(10 + i, "lhu", a, 5, "lhu %0, 0(%1)");
    PROBE(10 + i, "lw", a, 5, "lw %0, 0(%1)");
    PROBE(10 + i, "lwu", a, 5, "lwu %0, 0(%1)");
    PROBE(10 + i, "ld", a, 5, "ld %0, 0(%1)");
    /* Stores: mcause 7. */
    PROBE(30 + i, "sb", a, 7, "sb %0, 0(%1)");
    PROBE(30 + i, "sh", a, 7, "sh %0, 0(%1)");
    PROBE(30 + i, "sw", a, 7, "sw %0, 0(%1)");
    PROBE(30 + i, "sd", a, 7, "sd %0, 0(%1)");
    /* LR is a load (5); AMOs are stores (7). */
    PROBE(50 + i, "lr.w", a, 5, "lr.w %0, (%1)");
    PROBE(50 + i, "lr.d", a, 5, "lr.d %0, (%1)");
    PROBE(50 + i, "amoadd.w", a, CAUSE_AMO, "amoadd.w %0, %0, (%1)");
    PROBE(50 + i, "amoswap.d", a, CAUSE_AMO, "amoswap.d %0, %0, (%1)");
    PROBE(50 + i, "amoor.d", a, CAUSE_AMO, "amoor.d %0, %0, (%1)");
    /* FP loads and stores. */
    PROBE_F(70 + i, "flw", a, 5, "flw ft0, 0(%0)");
    PROBE_F(70 + i, "fld", a, 5, "fld ft0, 0(%0)");
    PROBE_F(70 + i, "fsw", a, 7, "fsw ft0, 0(%0)");
    PROBE_F(70 + i, "fsd", a, 7, "fsd ft0, 0(%0)");
}

/* Jump to an unmapped address: instruction access fault (1), mtval = the
 * address; the handler returns to ra. */
static void probe_fetch(int i, uint64_t a)
{
    trap_clear();
    trap_armed = 1;
    __asm__ volatile("jalr ra, 0(%0)" ::"r"(a)
                     : "ra", "memory");
    trap_armed = 0;
    check_trap(90 + i, "fetch", a, 1, a);
}

static void illegal_instructions(void)
{
    put_s("illegal instructions\n");
    /* c.unimp (16-bit all zeros). */
    trap_clear();
    trap_armed = 1;
    __asm__ volatile(".option push; .option rvc; .2byte 0x0000; .option pop" ::: "memory");
    trap_armed = 0;
    if (trap_last.count != 1 || trap_last.cause != 2 || trap_last.tval != 0)
        note_fail(100, "c.unimp 0x0000", 0);
    /* A 32-bit word of zeros is two c.unimp parcels: two traps. */
    trap_clear();
    trap_armed = 1;
    __asm__ volatile(".4byte 0x00000000" ::: "memory");
    trap_armed = 0;
    if (trap_last.count != 2 || trap_last.cause != 2)
        note_fail(101, "word 0x00000000", 0);
    /* All ones: a reserved long encoding; its low 16 bits say "32 bits or
     * more", the handler skips 4 bytes. mtval may be 0 or the bits. */
    trap_clear();
    trap_armed = 1;
    __asm__ volatile(".4byte 0xffffffff" ::: "memory");
    trap_armed = 0;
    if (trap_last.count != 1 || trap_last.cause != 2 ||
        (trap_last.tval != 0 && (trap_last.tval & 0xffff) != 0xffff))
        note_fail(102, "word 0xffffffff", 0);
    /* Writing a read-only CSR (mvendorid). */
    trap_clear();
    trap_armed = 1;
    __asm__ volatile("csrw mvendorid, zero" ::: "memory");
    trap_armed = 0;
    if (trap_last.count != 1 || trap_last.cause != 2)
        note_fail(103, "csrw mvendorid", 0);
    /* Writing the read-only cycle counter shadow (csrrw x0, cycle, x0). */
    trap_clear();
    trap_armed = 1;
    __asm__ volatile(".4byte 0xc0001073" ::: "memory");
    trap_armed = 0;
    if (trap_last.count != 1 || trap_last.cause != 2)
        note_fail(104, "csrw cycle", 0);
}

/* A storm of faulting accesses: each one must trap, and the machine keeps
 * going. */
static void fault_storm(uint64_t a, unsigned n)
{
    put_s("fault storm\n");
    trap_clear();
    trap_armed = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = 0;
        __asm__ volatile("lw %0, 0(%1)" : "+r"(v) : "r"(a + 4 * (i & 255)) : "memory");
        __asm__ volatile("sw %0, 0(%1)" : "+r"(v) : "r"(a + 4 * (i & 255)) : "memory");
    }
    trap_armed = 0;
    if (trap_last.count != 2 * n)
        note_fail(110, "fault storm", a);
}

static void mmio_storm(void)
{
    put_s("MMIO storm: UART scratch\n");
    /* 1,000,000 writes to the UART scratch register, each read back. */
    for (uint32_t i = 0; i < 1000000; i++) {
        wr8(UART_BASE + 7, (uint8_t)i);
        if (rd8(UART_BASE + 7) != (uint8_t)i) {
            note_fail(111, "UART SCR readback", UART_BASE + 7);
            break;
        }
    }
    put_s("MMIO storm: PLIC\n");
    /* PLIC: source priorities written and read back, plus pending,
     * enable, threshold and claim/complete reads, 1,000,000 accesses. */
    for (uint32_t i = 0; i < 200000; i++) {
        uint32_t src = 1 + (i % 31), prio = i & 7;
        wr32(PLIC_BASE + 4 * src, prio);
        if (rd32(PLIC_BASE + 4 * src) != prio) {
            note_fail(112, "PLIC priority readback", PLIC_BASE + 4 * src);
            break;
        }
        (void)rd32(PLIC_BASE + 0x1000);             /* pending 0..31 */
        (void)rd32(PLIC_BASE + 0x2000);             /* context 0 enables */
        (void)rd32(PLIC_BASE + 0x200000);           /* context 0 threshold */
        uint32_t claim = rd32(PLIC_BASE + 0x200004);
        if (claim)
            wr32(PLIC_BASE + 0x200004, claim);      /* complete */
    }
    for (uint32_t src = 1; src < 32; src++)
        wr32(PLIC_BASE + 4 * src, 0);
    put_s("MMIO storm: virtio, CLINT\n");
    uint64_t last = now_ticks();
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t slot = 0x10001000u + 0x1000u * (i & 7);
        if (rd32(slot) != 0x74726976u) {
            note_fail(113, "virtio magic", slot);
            break;
        }
        uint64_t t = now_ticks();
        if (t < last) {
            note_fail(114, "mtime went backwards", CLINT_MTIME);
            break;
        }
        last = t;
    }
}

/* Accesses that may fault: any number of traps, causes 4..7 only. */
static unsigned sweep_traps;
static int sweep_bad;
static void sweep_begin(void)
{
    trap_clear();
    trap_armed = 1;
}
static void sweep_end(int code, const char *what)
{
    trap_armed = 0;
    sweep_traps += trap_last.count;
    if (trap_last.count && (trap_last.cause < 4 || trap_last.cause > 7)) {
        note_fail(code, what, trap_last.tval);
        sweep_bad = 1;
    }
}
static void sw32(uintptr_t a, uint32_t v) { wr32(a, v); }
static uint64_t sr64(uintptr_t a) { return *(volatile uint64_t *)a; }
static void sw64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

static void device_sweeps(void)
{
    put_s("device register sweeps\n");
    /* PLIC: reads everywhere (a few words per page), then writes to
     * priorities of sources 1..1023, enables of every context, thresholds
     * and claim/complete of every context, with wild values. */
    sweep_begin();
    for (uintptr_t pg = PLIC_BASE; pg < PLIC_BASE + 0x600000; pg += 0x1000) {
        (void)rd32(pg);
        (void)rd32(pg + 4);
        (void)rd32(pg + 0x7c);
        (void)rd32(pg + 0x80);
        (void)rd32(pg + 0xffc);
        (void)sr64(pg + 0x8);
    }
    sweep_end(116, "PLIC reads");
    sweep_begin();
    for (uint32_t src = 1; src < 1024; src++)
        sw32(PLIC_BASE + 4 * src, 0xffffffffu);
    for (uint32_t ctx = 0; ctx < 15872; ctx += 1 + (ctx > 64) * 61) {
        uintptr_t en = PLIC_BASE + 0x2000 + 0x80 * ctx;
        sw32(en, 0xffffffffu);
        sw32(en + 0x7c, 0xffffffffu);
        uintptr_t c = PLIC_BASE + 0x200000 + 0x1000 * (uintptr_t)ctx;
        sw32(c, 0xffffffffu);                   /* threshold */
        (void)rd32(c + 4);                      /* claim */
        sw32(c + 4, 0xffffffffu);               /* complete a source that is not there */
        sw32(c + 4, 1023);
        sw32(c + 4, 0);
        sw32(c + 8, 0xffffffffu);               /* reserved */
    }
    sweep_end(116, "PLIC writes");
    /* Put the PLIC back: priorities, context 0/1 enables and thresholds. */
    for (uint32_t src = 1; src < 1024; src++)
        wr32(PLIC_BASE + 4 * src, 0);
    for (uint32_t ctx = 0; ctx < 2; ctx++) {
        for (uint32_t w = 0; w < 32; w++)
            wr32(PLIC_BASE + 0x2000 + 0x80 * ctx + 4 * w, 0);
        wr32(PLIC_BASE + 0x200000 + 0x1000 * ctx, 0);
    }
    wr32(PLIC_BASE + 4, 5);
    if (rd32(PLIC_BASE + 4) != 5) {
        note_fail(116, "PLIC priority 1 readback after the sweep", PLIC_BASE + 4);
        sweep_bad = 1;
    }
    wr32(PLIC_BASE + 4, 0);

    /* CLINT: read every word; msip of every hart slot 1..4094 and
     * mtimecmp of every hart slot 1..4094 written (hart 0 left alone:
     * interrupts are off anyway, but keep its state clean). */
    sweep_begin();
    for (uintptr_t a = 0x2000000; a < 0x2010000; a += 4)
        (void)rd32(a);
    for (uint32_t h = 1; h < 4095; h++) {
        sw32(0x2000000 + 4 * h, 1);
        sw32(0x2000000 + 4 * h, 0);
        sw64(0x2004000 + 8 * h, ~0ull);
    }
    sw32(0x2000000 + 4 * 4095, 1);              /* the last msip word */
    sweep_end(117, "CLINT");
    if (now_ticks() == 0) {
        note_fail(117, "mtime reads 0 after the CLINT sweep", CLINT_MTIME);
        sweep_bad = 1;
    }

    /* RTC, syscon, UART: reads only (writes could stop the clock, power
     * off, or reprogram the console). */
    sweep_begin();
    for (uintptr_t a = 0x101000; a < 0x102000; a += 4)
        (void)rd32(a);
    for (uintptr_t a = SYSCON_BASE; a < SYSCON_BASE + 0x1000; a += 4)
        (void)rd32(a);
    for (uintptr_t a = UART_BASE; a < UART_BASE + 0x100; a++)
        if ((a & 7) != 0 && (a & 7) != 5)       /* not RBR (eats input), LSR is fine */
            (void)rd8(a);
    sweep_end(118, "RTC/syscon/UART reads");

    /* Empty virtio slots (DeviceID 0): every register written, then the
     * magic must still read back. */
    sweep_begin();
    for (unsigned s = 0; s < 8; s++) {
        uintptr_t b = 0x10001000u + 0x1000u * s;
        if (rd32(b + 8) != 0)
            continue;
        for (uintptr_t off = 0; off < 0x1000; off += 4)
            if (off != 0x70)
                sw32(b + off, 0xffffffffu);
        sw32(b + 0x50, 0);                      /* notify queue 0 */
        sw32(b + 0x70, 0xff);                   /* status */
        sw32(b + 0x70, 0);
        if (rd32(b) != 0x74726976u || rd32(b + 8) != 0) {
            note_fail(119, "empty virtio slot changed identity", b);
            sweep_bad = 1;
        }
    }
    sweep_end(119, "empty virtio slots");
    put_s("  ");
    put_dec(sweep_traps);
    put_s(" faults during the sweeps\n");
}

int main(void)
{
    put_s("mmio_nothing: start\n");
    uint64_t re = ram_end();
    (void)qemu_quirks();
    put_kv("RAM end ", re);
    uint64_t addrs[] = {
        0x200000,                   /* hole between the RTC and the CLINT */
        0x10009000,                 /* just past the 8 virtio-mmio slots */
        0xc600000,                  /* just past the PLIC */
        0x10100000 + 0x100000,      /* hole above the UART/virtio block */
        re,                         /* first byte past RAM */
        re + 0x1000,
        re + 0x1000000,             /* well past RAM */
        0x0100000000000000ull,      /* 2^56: beyond any physical address */
        0xfffffffffffff000ull,      /* top of the 64-bit space */
    };
    unsigned n = sizeof addrs / sizeof addrs[0];
    for (unsigned i = 0; i < n; i++)
        probe_address((int)i, addrs[i]);
    for (unsigned i = 0; i < n; i++)
        probe_fetch((int)i, addrs[i]);
    illegal_instructions();
    fault_storm(0x200000, 100000);
    device_sweeps();
    mmio_storm();
#if SELFTEST_FLIP
    /* Flipped expectation: a load from RAM must "fault". */
    {
        static volatile uint32_t ram_word;
        PROBE(122, "selftest: RAM load expected to fault", (uint64_t)&ram_word, 5, "lw %0, 0(%1)");
    }
#endif
    if (failures) {
        put_s("mmio_nothing: ");
        put_dec((uint64_t)failures);
        put_s(" check(s) failed\n");
        return first_code;
    }
    put_s("mmio_nothing: all checks passed\n");
    return 0;
}

/* Shared definitions for disco's ISA tests (tests/isa/*.S).
 *
 * A test is one assembly file:
 *
 *     #include "common.h"
 *     TEST_BEGIN
 *         TEST_CASE(1, a0, 5, li a1, 2; addi a0, a1, 3)
 *         ...
 *     TEST_END
 *
 * linked with lib/runtime.S (entry, HTIF tohost/fromhost, pass/fail, the
 * M- and S-mode trap handlers). test_main starts in M-mode with mtvec =
 * trap_m_entry (direct), satp = 0, medeleg = mideleg = mie = 0, PMP open,
 * mstatus.FS = Initial, fcsr = 0, sp = a small stack.
 *
 * Registers the macros use (do not keep values in them across a macro):
 *   gp (TESTNUM)  number of the running check; fail reports it.
 *   t5, t6        macro scratch.
 *   a6, a7        GOTO_M (ecall with a magic a7; a6 = where to continue).
 *
 * Result: tohost = 1 (pass) or (TESTNUM << 1) | 1 (fail). Keep check
 * numbers in 1..126: disco's and QEMU's exit status is tohost >> 1, and
 * the runner script reads statuses >= 128 as deaths by signal. A failure
 * with TESTNUM = 0 (outside any check) is reported as check 127.
 *
 * Comments in tests: use C or C++ comments (the preprocessor eats them);
 * '#' is not a comment once cpp has run. ';' separates instructions on one
 * line, which is how the multi-instruction macro arguments are written.
 */
#ifndef DISCO_ISA_COMMON_H
#define DISCO_ISA_COMMON_H

#define TESTNUM gp

/* ---- CSR bits ---------------------------------------------------------- */
#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_SPIE  (1 << 5)
#define MSTATUS_UBE   (1 << 6)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_SPP   (1 << 8)
#define MSTATUS_MPP   (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_MPP_M (3 << 11)
#define MSTATUS_FS    (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_CLEAN   (2 << 13)
#define MSTATUS_FS_DIRTY   (3 << 13)
#define MSTATUS_XS    (3 << 15)
#define MSTATUS_MPRV  (1 << 17)
#define MSTATUS_SUM   (1 << 18)
#define MSTATUS_MXR   (1 << 19)
#define MSTATUS_TVM   (1 << 20)
#define MSTATUS_TW    (1 << 21)
#define MSTATUS_TSR   (1 << 22)
#define MSTATUS_UXL   (3 << 32)
#define MSTATUS_SXL   (3 << 34)
#define MSTATUS_SD    (1 << 63)

#define MIP_SSIP (1 << 1)
#define MIP_MSIP (1 << 3)
#define MIP_STIP (1 << 5)
#define MIP_MTIP (1 << 7)
#define MIP_SEIP (1 << 9)
#define MIP_MEIP (1 << 11)

#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define INTR_BIT    (1 << 63)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_USER_ECALL       8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL    11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15

#define SATP_MODE_SV39 (8 << 60)
#define SATP_MODE_SV48 (9 << 60)

#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* ---- Board (QEMU virt / spike layout, which disco follows) ------------ */
#define CLINT_BASE     0x2000000
#define CLINT_MSIP     (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME    (CLINT_BASE + 0xbff8)

/* ---- Trap records (see lib/runtime.S) ----------------------------------
 * trap_rec (M handler) and strap_rec (S handler), 128 bytes each: */
#define TR_COUNT  0    /* traps taken since TRAP_ARM (exceptions + interrupts) */
#define TR_CAUSE  8    /* last xcause */
#define TR_EPC    16   /* last xepc */
#define TR_TVAL   24   /* last xtval */
#define TR_PRIV   32   /* privilege the last trap came from (xPP) */
#define TR_STATUS 40   /* xstatus as seen in the handler (after the trap) */
#define TR_RESUME 48   /* if nonzero: the next exception returns here (then 0) */
#define TR_LOG    64   /* causes of the first 8 traps, in order */
#define TR_SIZE   128

/* a7 value that turns an ecall into "continue in M-mode at a6". */
#define GOTO_M_MAGIC 0x60704d

/* ---- Test skeleton ------------------------------------------------------ */
#define TEST_BEGIN        \
    .text;                \
    .globl test_main;     \
    .align 2;             \
test_main:

#define TEST_END          \
    j pass;               \
    .data

/* Check `code` leaves `expected` in `reg` (any register but t5/t6/gp). */
#define TEST_CASE(n, reg, expected, ...) \
    li TESTNUM, n;                       \
    __VA_ARGS__;                         \
    li t6, expected;                     \
    beq reg, t6, 9999f;                  \
    j fail;                              \
9999:

/* Check a register without running code. */
#define CHECK_REG(n, reg, expected) TEST_CASE(n, reg, expected, nop)

/* Fail the check now unless `reg` equals `expected`. */
#define ASSERT_EQ(reg, expected) \
    li t6, expected;             \
    beq reg, t6, 9999f;          \
    j fail;                      \
9999:

#define ASSERT_NE(reg, val)      \
    li t6, val;                  \
    bne reg, t6, 9999f;          \
    j fail;                      \
9999:

/* Fail unless two registers are equal. */
#define ASSERT_REGS_EQ(a, b)     \
    beq a, b, 9999f;             \
    j fail;                      \
9999:

/* Fail if a != b, with code's result in a. */
#define FAIL_IF_NE(a, b) ASSERT_REGS_EQ(a, b)

/* ---- Traps -------------------------------------------------------------
 * Exceptions are fatal (fail with the current TESTNUM) unless armed. The
 * handlers skip the faulting instruction (2 or 4 bytes, read at xepc),
 * or continue at TR_RESUME if set. Fetch faults without TR_RESUME fail. */
#define TRAP_ARM                       \
    la t6, trap_rec;                   \
    sd zero, TR_COUNT(t6);             \
    sd zero, TR_CAUSE(t6);             \
    sd zero, TR_EPC(t6);               \
    sd zero, TR_TVAL(t6);              \
    sd zero, TR_PRIV(t6);              \
    sd zero, TR_RESUME(t6);            \
    la t6, strap_rec;                  \
    sd zero, TR_COUNT(t6);             \
    sd zero, TR_CAUSE(t6);             \
    sd zero, TR_EPC(t6);               \
    sd zero, TR_TVAL(t6);              \
    sd zero, TR_PRIV(t6);              \
    sd zero, TR_RESUME(t6);            \
    la t6, trap_armed;                 \
    li t5, 1;                          \
    sd t5, 0(t6)

#define TRAP_DISARM                    \
    la t6, trap_armed;                 \
    sd zero, 0(t6)

/* The next exception taken by the M (S) handler continues at `label`. */
#define SET_RESUME(label)              \
    la t5, label;                      \
    la t6, trap_rec;                   \
    sd t5, TR_RESUME(t6)
#define SET_SRESUME(label)             \
    la t5, label;                      \
    la t6, strap_rec;                  \
    sd t5, TR_RESUME(t6)

/* Load a field of the M (S) trap record into reg. */
#define LOAD_TRAP(reg, field)  la reg, trap_rec;  ld reg, field(reg)
#define LOAD_STRAP(reg, field) la reg, strap_rec; ld reg, field(reg)

/* Check a trap-record field (after the trapping code, in M-mode or in
 * S-mode while the record's page is mapped). */
#define CHECK_TRAP_FIELD(n, field, expected) \
    li TESTNUM, n;                           \
    LOAD_TRAP(t5, field);                    \
    ASSERT_EQ(t5, expected)
#define CHECK_STRAP_FIELD(n, field, expected) \
    li TESTNUM, n;                            \
    LOAD_STRAP(t5, field);                    \
    ASSERT_EQ(t5, expected)

/* Exactly one trap to M, with mcause `cause`. Disarms. */
#define CHECK_TRAP(n, cause)           \
    li TESTNUM, n;                     \
    TRAP_DISARM;                       \
    LOAD_TRAP(t5, TR_COUNT);           \
    ASSERT_EQ(t5, 1);                  \
    LOAD_TRAP(t5, TR_CAUSE);           \
    ASSERT_EQ(t5, cause)
/* Exactly one trap to S (and none to M), with scause `cause`. Disarms. */
#define CHECK_STRAP(n, cause)          \
    li TESTNUM, n;                     \
    TRAP_DISARM;                       \
    LOAD_TRAP(t5, TR_COUNT);           \
    ASSERT_EQ(t5, 0);                  \
    LOAD_STRAP(t5, TR_COUNT);          \
    ASSERT_EQ(t5, 1);                  \
    LOAD_STRAP(t5, TR_CAUSE);          \
    ASSERT_EQ(t5, cause)
/* No trap at all since TRAP_ARM. Disarms. */
#define CHECK_NO_TRAP(n)               \
    li TESTNUM, n;                     \
    TRAP_DISARM;                       \
    LOAD_TRAP(t5, TR_COUNT);           \
    ASSERT_EQ(t5, 0);                  \
    LOAD_STRAP(t5, TR_COUNT);          \
    ASSERT_EQ(t5, 0)

/* Run `code` (in M-mode) expecting exactly one trap with mcause `cause`. */
#define TEST_TRAP(n, cause, ...)       \
    li TESTNUM, n;                     \
    TRAP_ARM;                          \
    __VA_ARGS__;                       \
    CHECK_TRAP(n, cause)

/* Run `code` expecting no trap. */
#define TEST_NO_TRAP(n, ...)           \
    li TESTNUM, n;                     \
    TRAP_ARM;                          \
    __VA_ARGS__;                       \
    CHECK_NO_TRAP(n)

/* ---- Privilege changes -------------------------------------------------
 * From M-mode: continue at the next instruction in S (U) mode via mret.
 * mret also sets MIE = MPIE; these macros set MPIE = 0 first so machine
 * interrupts stay disabled unless the test enables them afterwards. */
#define GOTO_MODE_FROM_M(mpp_bits)     \
    li t6, MSTATUS_MPP | MSTATUS_MPIE; \
    csrc mstatus, t6;                  \
    li t6, mpp_bits;                   \
    csrs mstatus, t6;                  \
    la t6, 9998f;                      \
    csrw mepc, t6;                     \
    mret;                              \
9998:
#define GOTO_S GOTO_MODE_FROM_M(MSTATUS_MPP_S)
#define GOTO_U GOTO_MODE_FROM_M(0)
/* From S-mode to U-mode via sret (SPIE cleared). */
#define GOTO_U_FROM_S                  \
    li t6, MSTATUS_SPP | MSTATUS_SPIE; \
    csrc sstatus, t6;                  \
    la t6, 9998f;                      \
    csrw sepc, t6;                     \
    sret;                              \
9998:
/* From any mode: back to M-mode at the next instruction (magic ecall,
 * served by the M handler, or forwarded to it by the S handler). */
#define GOTO_M                         \
    la a6, 9997f;                      \
    li a7, GOTO_M_MAGIC;               \
    ecall;                             \
9997:

/* Jump to `label` when running on QEMU (detected at reset: mvendorid = 0,
 * marchid = mimpid = QEMU's version, e.g. 0x070216). Only for checks where
 * QEMU (the reference the tests are validated against) departs from the
 * spec or lacks a feature; every use says why. */
#define SKIP_ON_QEMU(label)            \
    la t6, isa_qemu;                   \
    ld t6, 0(t6);                      \
    beqz t6, 9996f;                    \
    j label;                           \
9996:

/* Run `code` in U (S) mode, back in M afterwards, and expect exactly one
 * trap to M with mcause `cause` (or none). */
#define TEST_TRAP_IN_U(n, cause, ...)  \
    li TESTNUM, n; TRAP_ARM; GOTO_U; __VA_ARGS__; GOTO_M; CHECK_TRAP(n, cause)
#define TEST_TRAP_IN_S(n, cause, ...)  \
    li TESTNUM, n; TRAP_ARM; GOTO_S; __VA_ARGS__; GOTO_M; CHECK_TRAP(n, cause)
#define TEST_NO_TRAP_IN_U(n, ...)      \
    li TESTNUM, n; TRAP_ARM; GOTO_U; __VA_ARGS__; GOTO_M; CHECK_NO_TRAP(n)
#define TEST_NO_TRAP_IN_S(n, ...)      \
    li TESTNUM, n; TRAP_ARM; GOTO_S; __VA_ARGS__; GOTO_M; CHECK_NO_TRAP(n)

#endif

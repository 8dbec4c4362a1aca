/* Misaligned accesses. Plain loads/stores (integer, FP, compressed) may
 * either be performed (the value must then be right, including across a
 * 4 KiB page boundary) or trap with cause 4/6 (or access fault 5/7) and
 * mtval = the address, leaving the destination register (load) or memory
 * (store) untouched; both are accepted, each access is checked for
 * whichever happened. Misaligned AMOs and LR/SC must trap: store/AMO
 * misaligned 6 or access fault 7 (LR: 4 or 5). */
#include "common.h"

#define SENTINEL 0x5e5e5e5e5e5e5e5e
#define STVAL    0xa1b2c3d4e5f60718

/* fail unless t5 is c1 or c2 */
#define ASSERT_ONE_OF(c1, c2)    \
    li t6, c1;                   \
    beq t5, t6, 9981f;           \
    li t6, c2;                   \
    beq t5, t6, 9981f;           \
    j fail;                      \
9981:

/* the trap record says: one trap, cause c1 or c2, mtval = a1 */
#define CHECK_MIS_TRAP(c1, c2)   \
    LOAD_TRAP(t5, TR_COUNT);     \
    ASSERT_EQ(t5, 1);            \
    LOAD_TRAP(t5, TR_CAUSE);     \
    ASSERT_ONE_OF(c1, c2);       \
    LOAD_TRAP(t5, TR_TVAL);      \
    ASSERT_REGS_EQ(t5, a1)

/* AMO flavour: QEMU 7.2 reports misaligned AMOs as load-address-
 * misaligned (cause 4) instead of store/AMO (6); accepted on QEMU only. */
#define CHECK_MIS_TRAP_AMO(c1, c2)   \
    LOAD_TRAP(t5, TR_COUNT);     \
    ASSERT_EQ(t5, 1);            \
    LOAD_TRAP(t5, TR_TVAL);      \
    ASSERT_REGS_EQ(t5, a1);      \
    LOAD_TRAP(t5, TR_CAUSE);     \
    li t6, CAUSE_MISALIGNED_LOAD; \
    bne t5, t6, 9984f;           \
    la t6, isa_qemu;             \
    ld t6, 0(t6);                \
    bnez t6, 9985f;              \
9984:                            \
    ASSERT_ONE_OF(c1, c2);       \
9985:

/* restore mbuf from mbuf_orig */
#define RESET_BUF                \
    la t5, mbuf_orig;            \
    la t6, mbuf;                 \
    ld a3, 0(t5);  sd a3, 0(t6); \
    ld a3, 8(t5);  sd a3, 8(t6); \
    ld a3, 16(t5); sd a3, 16(t6);\
    ld a3, 24(t5); sd a3, 24(t6)

#define TEST_MIS_LOAD(n, inst, off, expected) \
    li TESTNUM, n;               \
    TRAP_ARM;                    \
    la a1, mbuf;                 \
    addi a1, a1, off;            \
    li a0, SENTINEL;             \
    inst a0, 0(a1);              \
    TRAP_DISARM;                 \
    LOAD_TRAP(t5, TR_COUNT);     \
    beqz t5, 9982f;              \
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS); \
    ASSERT_EQ(a0, SENTINEL);     \
    j 9983f;                     \
9982:                            \
    ASSERT_EQ(a0, expected);     \
9983:

/* memory dwords 0..2 of mbuf afterwards: d0..d2 if performed, unchanged
 * if trapped */
#define CHECK_MBUF(d0, d1, d2)   \
    la a4, mbuf;                 \
    ld a3, 0(a4);  ASSERT_EQ(a3, d0); \
    ld a3, 8(a4);  ASSERT_EQ(a3, d1); \
    ld a3, 16(a4); ASSERT_EQ(a3, d2)

#define TEST_MIS_STORE(n, inst, off, d0, d1, d2) \
    li TESTNUM, n;               \
    RESET_BUF;                   \
    TRAP_ARM;                    \
    la a1, mbuf;                 \
    addi a1, a1, off;            \
    li a2, STVAL;                \
    inst a2, 0(a1);              \
    TRAP_DISARM;                 \
    LOAD_TRAP(t5, TR_COUNT);     \
    beqz t5, 9982f;              \
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS); \
    CHECK_MBUF(ORIG0, ORIG1, ORIG2); \
    j 9983f;                     \
9982:                            \
    CHECK_MBUF(d0, d1, d2);      \
9983:

/* AMOs: must trap (6 or 7), rd and memory untouched */
#define TEST_MIS_AMO(n, off, c1, c2, ...) \
    li TESTNUM, n;               \
    RESET_BUF;                   \
    TRAP_ARM;                    \
    la a1, mbuf;                 \
    addi a1, a1, off;            \
    li a2, STVAL;                \
    li a0, SENTINEL;             \
    __VA_ARGS__;                 \
    TRAP_DISARM;                 \
    CHECK_MIS_TRAP_AMO(c1, c2);      \
    ASSERT_EQ(a0, SENTINEL);     \
    CHECK_MBUF(ORIG0, ORIG1, ORIG2)

#define ORIG0 0x8776655443322110
#define ORIG1 0x0ffeeddccbbaa998
#define ORIG2 0x9786756453423120

TEST_BEGIN
    RESET_BUF
    TEST_MIS_LOAD(  1, lh, 1, 0x0000000000003221)
    TEST_MIS_LOAD(  2, lhu, 1, 0x0000000000003221)
    TEST_MIS_LOAD(  3, lh, 7, 0xffffffffffff9887)
    TEST_MIS_LOAD(  4, lw, 1, 0x0000000054433221)
    TEST_MIS_LOAD(  5, lw, 2, 0x0000000065544332)
    TEST_MIS_LOAD(  6, lw, 3, 0x0000000076655443)
    TEST_MIS_LOAD(  7, lwu, 3, 0x0000000076655443)
    TEST_MIS_LOAD(  8, lw, 6, 0xffffffffa9988776)
    TEST_MIS_LOAD(  9, ld, 1, 0x9887766554433221)
    TEST_MIS_LOAD( 10, ld, 2, 0xa998877665544332)
    TEST_MIS_LOAD( 11, ld, 3, 0xbaa9988776655443)
    TEST_MIS_LOAD( 12, ld, 4, 0xcbbaa99887766554)
    TEST_MIS_LOAD( 13, ld, 5, 0xdccbbaa998877665)
    TEST_MIS_LOAD( 14, ld, 6, 0xeddccbbaa9988776)
    TEST_MIS_LOAD( 15, ld, 7, 0xfeeddccbbaa99887)
    TEST_MIS_LOAD( 16, ld, 13, 0x64534231200ffeed)
    TEST_MIS_LOAD( 17, c.lw, 5, 0xffffffff98877665)
    TEST_MIS_LOAD( 18, c.ld, 9, 0x200ffeeddccbbaa9)
    TEST_MIS_STORE( 19, sh, 1, 0x8776655443071810, 0x0ffeeddccbbaa998, 0x9786756453423120)
    TEST_MIS_STORE( 20, sh, 7, 0x1876655443322110, 0x0ffeeddccbbaa907, 0x9786756453423120)
    TEST_MIS_STORE( 21, sw, 3, 0x87e5f60718322110, 0x0ffeeddccbbaa998, 0x9786756453423120)
    TEST_MIS_STORE( 22, sw, 6, 0x0718655443322110, 0x0ffeeddccbbae5f6, 0x9786756453423120)
    TEST_MIS_STORE( 23, sd, 5, 0xf607185443322110, 0x0ffeeda1b2c3d4e5, 0x9786756453423120)
    TEST_MIS_STORE( 24, sd, 1, 0xb2c3d4e5f6071810, 0x0ffeeddccbbaa9a1, 0x9786756453423120)
    TEST_MIS_STORE( 25, sd, 15, 0x8776655443322110, 0x18feeddccbbaa998, 0x97a1b2c3d4e5f607)

    /* ---- FP loads/stores ---- */
    li TESTNUM, 26
    TRAP_ARM
    la a1, mbuf
    addi a1, a1, 2
    li a0, SENTINEL
    fmv.d.x fa0, a0
    flw fa0, 0(a1)
    TRAP_DISARM
    fmv.x.d a0, fa0
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
    ASSERT_EQ(a0, SENTINEL)
    j 2f
1:  ASSERT_EQ(a0, 0xffffffff65544332)
2:
    li TESTNUM, 27
    TRAP_ARM
    la a1, mbuf
    addi a1, a1, 4
    li a0, SENTINEL
    fmv.d.x fa0, a0
    fld fa0, 0(a1)
    TRAP_DISARM
    fmv.x.d a0, fa0
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
    ASSERT_EQ(a0, SENTINEL)
    j 2f
1:  ASSERT_EQ(a0, 0xcbbaa99887766554)
2:
    li TESTNUM, 28
    RESET_BUF
    TRAP_ARM
    la a1, mbuf
    addi a1, a1, 3
    li a2, STVAL
    fmv.d.x fa1, a2
    fsd fa1, 0(a1)
    TRAP_DISARM
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
    CHECK_MBUF(ORIG0, ORIG1, ORIG2)
    j 2f
1:  CHECK_MBUF(0xd4e5f60718322110, 0x0ffeeddccba1b2c3, ORIG2)
2:
    li TESTNUM, 29
    RESET_BUF
    TRAP_ARM
    la a1, mbuf
    addi a1, a1, 6
    li a2, STVAL
    fmv.w.x fa1, a2
    fsw fa1, 0(a1)
    TRAP_DISARM
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
    CHECK_MBUF(ORIG0, ORIG1, ORIG2)
    j 2f
1:  CHECK_MBUF(0x0718655443322110, 0x0ffeeddccbbae5f6, ORIG2)
2:

    /* ---- across a 4 KiB page boundary ---- */
    la s0, pagebuf
    li a1, 4096
    add s0, s0, a1                      /* s0 = the page boundary */
    li a1, 0x0807060504030201
    sd a1, -8(s0)
    li a1, 0x100f0e0d0c0b0a09
    sd a1, 0(s0)
    li TESTNUM, 30
    TRAP_ARM
    addi a1, s0, -3
    li a0, SENTINEL
    ld a0, 0(a1)
    TRAP_DISARM
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
    ASSERT_EQ(a0, SENTINEL)
    j 2f
1:  ASSERT_EQ(a0, 0x0d0c0b0a09080706)
2:
    li TESTNUM, 31
    TRAP_ARM
    addi a1, s0, -2
    li a0, SENTINEL
    lw a0, 0(a1)
    TRAP_DISARM
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS)
    ASSERT_EQ(a0, SENTINEL)
    j 2f
1:  ASSERT_EQ(a0, 0x000000000a090807)
2:
    li TESTNUM, 32
    TRAP_ARM
    addi a1, s0, -5
    li a2, STVAL
    sd a2, 0(a1)
    TRAP_DISARM
    ld a3, -8(s0)
    ld a4, 0(s0)
    LOAD_TRAP(t5, TR_COUNT)
    beqz t5, 1f
    CHECK_MIS_TRAP(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS)
    ASSERT_EQ(a3, 0x0807060504030201)
    ASSERT_EQ(a4, 0x100f0e0d0c0b0a09)
    j 2f
1:  ASSERT_EQ(a3, 0xd4e5f60718030201)
    ASSERT_EQ(a4, 0x100f0e0d0ca1b2c3)
2:

    /* ---- AMOs and LR/SC: always trap ---- */
    TEST_MIS_AMO(33, 2, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, amoadd.w a0, a2, (a1))
    TEST_MIS_AMO(34, 4, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, amoswap.d a0, a2, (a1))
    TEST_MIS_AMO(35, 1, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, amoor.d a0, a2, (a1))
    TEST_MIS_AMO(36, 5, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, amomaxu.w a0, a2, (a1))
    TEST_MIS_AMO(37, 12, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, amoadd.d a0, a2, (a1))
    TEST_MIS_AMO(38, 2, CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, lr.w a0, (a1))
    TEST_MIS_AMO(39, 4, CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, lr.d a0, (a1))
    /* a misaligned SC (after a valid, aligned LR elsewhere) traps too.
     * QEMU 7.2 compares the address with the reservation first and just
     * fails the SC (rd = 1, no trap); Spike traps. Skipped on QEMU. */
    li TESTNUM, 40
    SKIP_ON_QEMU(1f)
    TEST_MIS_AMO(40, 4, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, la a3, mbuf; lr.d a3, (a3); sc.d a0, a2, (a1))
    /* and without any reservation */
    TEST_MIS_AMO(41, 2, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, sc.w a0, a2, (a1))
1:
TEST_END

    .align 6
mbuf:
    .space 64
mbuf_orig:
    .byte 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87
    .byte 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f
    .byte 0x20, 0x31, 0x42, 0x53, 0x64, 0x75, 0x86, 0x97
    .byte 0xa8, 0xb9, 0xca, 0xdb, 0xec, 0xfd, 0x0e, 0x1f
    .align 12
pagebuf:
    .space 8192

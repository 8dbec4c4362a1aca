/* Zicsr and the machine/supervisor CSRs: CSR instruction semantics
 * (old value, set/clear, immediates, no write when rs1 = x0), read-only
 * CSRs, misa, mhartid, mstatus WARL fields and the sstatus view, mie/mip
 * and sie/sip under mideleg, medeleg/mideleg, satp WARL, mepc/sepc
 * alignment, fcsr/frm/fflags aliasing, mstatus.FS (Off traps, Dirty after
 * FP writes, SD), counters (cycle, instret, time vs CLINT mtime),
 * mcounteren/scounteren gating, and CSR privilege checks. */
#include "common.h"

#define MISA_BIT(c) (1 << ((c) - 'A'))

TEST_BEGIN
    /* ---- CSR instructions ---- */
    TEST_CASE(  1, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; csrw mscratch, a1; csrr a0, mscratch)
    TEST_CASE(  2, a0, 0x0123456789abcdef, li a1, 5; csrrw a0, mscratch, a1)
    TEST_CASE(  3, a0, 5, csrr a0, mscratch)
    TEST_CASE(  4, a0, 5, li a1, 0xf0; csrrs a0, mscratch, a1)
    TEST_CASE(  5, a0, 0xf5, li a1, 0x0f; csrrc a0, mscratch, a1)
    TEST_CASE(  6, a0, 0xf0, csrr a0, mscratch)
    TEST_CASE(  7, a0, 0xf0, csrrwi a0, mscratch, 0x1f)
    TEST_CASE(  8, a0, 0x1f, csrrci a0, mscratch, 0x3)
    TEST_CASE(  9, a0, 0x1c, csrrsi a0, mscratch, 0x10)
    TEST_CASE( 10, a0, 0x1c, csrr a0, mscratch)
    /* rd = rs1 */
    TEST_CASE( 11, a0, 0x1c, li a0, 0x77; csrrw a0, mscratch, a0)
    TEST_CASE( 12, a0, 0x77, csrr a0, mscratch)
    /* rd = x0 still writes */
    TEST_CASE( 13, a0, 0x99, li a1, 0x99; csrrw x0, mscratch, a1; csrr a0, mscratch)

    /* ---- read-only CSRs: reads never trap, writes do ---- */
    TEST_NO_TRAP( 14, csrr a0, mvendorid; csrr a0, marchid; csrr a0, mimpid; csrrs a0, mhartid, x0; csrrci a0, mhartid, 0)
    TEST_TRAP( 15, CAUSE_ILLEGAL_INSN, li a1, 0; csrw mvendorid, a1)
    /* csrrs with a register other than x0, even one holding 0, is a write
     * attempt (Zicsr; Spike traps). QEMU 7.2 decides by the value (write
     * mask 0: no trap), so skipped there. */
    li TESTNUM, 16
    SKIP_ON_QEMU(1f)
    TEST_TRAP( 16, CAUSE_ILLEGAL_INSN, li a1, 0; csrrs a0, mhartid, a1)
1:
    TEST_TRAP( 17, CAUSE_ILLEGAL_INSN, csrrsi a0, mhartid, 1)
    TEST_TRAP( 18, CAUSE_ILLEGAL_INSN, li a1, 0; csrw cycle, a1)
    TEST_TRAP( 19, CAUSE_ILLEGAL_INSN, csrrwi x0, instret, 0)
    /* an unimplemented (custom) CSR number */
    TEST_TRAP( 20, CAUSE_ILLEGAL_INSN, csrr a0, 0x8ff)

    /* ---- misa, mhartid ---- */
    TEST_CASE( 21, a0, 2, csrr a1, misa; srli a0, a1, 62)
    TEST_CASE( 22, a0, 0, csrr a1, misa; li a2, MISA_BIT('I') | MISA_BIT('M') | MISA_BIT('A') | MISA_BIT('F') | MISA_BIT('D') | MISA_BIT('C') | MISA_BIT('S') | MISA_BIT('U'); and a1, a1, a2; sub a0, a1, a2)
    /* no E, no N (user interrupts) */
    TEST_CASE( 23, a0, 0, csrr a1, misa; li a2, MISA_BIT('E') | MISA_BIT('N'); and a0, a1, a2)
    TEST_CASE( 24, a0, 0, csrr a0, mhartid)

    /* ---- mstatus ---- */
    /* UXL = SXL = 2 (64-bit) */
    TEST_CASE( 25, a0, 0xa, csrr a1, mstatus; srli a1, a1, 32; andi a0, a1, 0xf)
    /* XS = 0 (no extension state) */
    TEST_CASE( 26, a0, 0, csrr a1, mstatus; li a2, MSTATUS_XS; and a0, a1, a2)
    /* single-bit fields are writable */
    li TESTNUM, 27
    li s0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
    csrs mstatus, s0
    csrr a0, mstatus
    and a0, a0, s0
    ASSERT_REGS_EQ(a0, s0)
    csrc mstatus, s0
    csrr a0, mstatus
    and a0, a0, s0
    ASSERT_EQ(a0, 0)
    /* MIE */
    TEST_CASE( 28, a0, MSTATUS_MIE, csrsi mstatus, MSTATUS_MIE; csrr a1, mstatus; csrci mstatus, MSTATUS_MIE; andi a0, a1, MSTATUS_MIE)
    /* MPRV is writable (cleared again before anything else happens) */
    TEST_CASE( 29, a0, MSTATUS_MPRV, li a1, MSTATUS_MPRV; csrs mstatus, a1; csrr a2, mstatus; csrc mstatus, a1; and a0, a2, a1)
    /* MPP holds U, S and M */
    li TESTNUM, 30
    li s0, MSTATUS_MPP
    csrc mstatus, s0
    csrr a0, mstatus
    and a0, a0, s0
    ASSERT_EQ(a0, 0)
    li a1, MSTATUS_MPP_S
    csrs mstatus, a1
    csrr a0, mstatus
    and a0, a0, s0
    ASSERT_EQ(a0, MSTATUS_MPP_S)
    csrs mstatus, s0
    csrr a0, mstatus
    and a0, a0, s0
    ASSERT_EQ(a0, MSTATUS_MPP_M)
    /* MPP is WARL: the reserved value 2 must not read back.
     * QEMU 7.2 keeps MPP = 2 (fixed in later QEMU), so skipped there. */
    li TESTNUM, 31
    SKIP_ON_QEMU(1f)
    csrc mstatus, s0
    li a1, 2 << 11
    csrs mstatus, a1
    csrr a0, mstatus
    and a0, a0, s0
    ASSERT_NE(a0, 2 << 11)
1:  csrs mstatus, s0
    /* SD summarizes FS == Dirty */
    li TESTNUM, 32
    li a1, MSTATUS_FS
    csrs mstatus, a1
    csrr a0, mstatus
    srli a0, a0, 63
    ASSERT_EQ(a0, 1)
    li a1, MSTATUS_FS
    csrc mstatus, a1
    li a1, MSTATUS_FS_CLEAN
    csrs mstatus, a1
    csrr a0, mstatus
    srli a0, a0, 63
    ASSERT_EQ(a0, 0)

    /* ---- sstatus is a view of mstatus ---- */
    li TESTNUM, 33
    li a1, MSTATUS_FS
    csrc mstatus, a1
    li a1, MSTATUS_FS_INITIAL
    csrs mstatus, a1
    csrr s1, mstatus
    li a1, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR
    csrs sstatus, a1
    csrr a0, mstatus
    and a2, a0, a1
    ASSERT_REGS_EQ(a2, a1)
    csrc sstatus, a1
    /* M-only fields neither visible nor writable through sstatus */
    li TESTNUM, 34
    li a1, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
    csrs sstatus, a1
    csrr a0, mstatus
    ASSERT_REGS_EQ(a0, s1)
    csrr a0, sstatus
    and a0, a0, a1
    ASSERT_EQ(a0, 0)
    /* FS and UXL are visible in sstatus */
    TEST_CASE( 35, a0, MSTATUS_FS_INITIAL, csrr a1, sstatus; li a2, MSTATUS_FS; and a0, a1, a2)
    TEST_CASE( 36, a0, 2, csrr a1, sstatus; srli a1, a1, 32; andi a0, a1, 3)

    /* ---- mie / mip / sie / sip ---- */
    /* the six standard interrupt-enable bits are writable, user ones absent */
    TEST_CASE( 37, a0, 0xaaa, li a1, -1; csrw mie, a1; csrr a1, mie; li a2, 0xaaa; and a0, a1, a2)
    TEST_CASE( 38, a0, 0, csrr a1, mie; andi a0, a1, 0x111)
    csrw mie, zero
    /* mip: SSIP/STIP/SEIP writable by M; MTIP/MSIP/MEIP are not */
    TEST_CASE( 39, a0, MIP_SSIP | MIP_STIP | MIP_SEIP, li a1, MIP_SSIP | MIP_STIP | MIP_SEIP; csrs mip, a1; csrr a0, mip; csrc mip, a1)
    TEST_CASE( 40, a0, 0, li a1, MIP_MTIP | MIP_MSIP | MIP_MEIP; csrs mip, a1; csrr a0, mip; and a0, a0, a1)
    TEST_CASE( 41, a0, 0, csrr a1, mip; li a2, 0xaaa; and a0, a1, a2)
    /* without delegation sie/sip show nothing and writes do not reach mie */
    TEST_CASE( 42, a0, 0, csrw mideleg, zero; li a1, -1; csrw sie, a1; csrr a0, sie)
    TEST_CASE( 43, a0, 0, csrr a0, mie)
    TEST_CASE( 44, a0, 0, li a1, MIP_SSIP; csrs mip, a1; csrr a0, sip; csrc mip, a1)
    /* delegated: sie/sip bits are mie/mip bits */
    TEST_CASE( 45, a0, 0x222, li a1, 0x222; csrw mideleg, a1; csrr a1, mideleg; andi a0, a1, 0x222)
    TEST_CASE( 46, a0, 0x222, li a1, 0x222; csrw sie, a1; csrr a1, mie; li a2, 0xaaa; and a0, a1, a2)
    TEST_CASE( 47, a0, 0x222, csrr a1, sie; li a2, 0xaaa; and a0, a1, a2)
    TEST_CASE( 48, a0, MIP_SSIP, csrsi sip, MIP_SSIP; csrr a1, mip; andi a0, a1, MIP_SSIP)
    TEST_CASE( 49, a0, 0, csrci sip, MIP_SSIP; csrr a1, mip; andi a0, a1, MIP_SSIP)
    /* STIP is read-only in sip */
    TEST_CASE( 50, a0, 0, li a1, MIP_STIP; csrs sip, a1; csrr a0, mip; and a0, a0, a1)
    csrw mie, zero
    csrw mideleg, zero
    /* machine interrupts cannot be delegated in mideleg */
    TEST_CASE( 51, a0, 0, li a1, 0x888; csrw mideleg, a1; csrr a1, mideleg; li a2, 0x888; and a0, a1, a2)
    csrw mideleg, zero

    /* ---- medeleg ---- */
    /* ecall from M (bit 11) cannot be delegated: medeleg[11] is read-only
     * zero. QEMU 7.2 lets it be set (0xf0bfff), so skipped there. */
    li a1, -1
    csrw medeleg, a1
    li TESTNUM, 52
    SKIP_ON_QEMU(1f)
    TEST_CASE( 52, a0, 0, csrr a1, medeleg; li a2, 1 << 11; and a0, a1, a2)
1:
    /* the usual delegable exceptions are */
    TEST_CASE( 53, a0, 0xb1fd, csrr a1, medeleg; li a2, 0xb1fd; and a0, a1, a2)
    csrw medeleg, zero

    /* ---- satp ---- */
    TEST_CASE( 54, a0, SATP_MODE_SV39 | 0x80010, li a1, SATP_MODE_SV39 | 0x80010; csrw satp, a1; csrr a0, satp)
    /* an unsupported MODE: the whole write is ignored */
    TEST_CASE( 55, a0, SATP_MODE_SV39 | 0x80010, li a1, (1 << 60) | 0x123; csrw satp, a1; csrr a0, satp)
    TEST_CASE( 56, a0, SATP_MODE_SV48 | 0x80020, li a1, SATP_MODE_SV48 | 0x80020; csrw satp, a1; csrr a0, satp)
    TEST_CASE( 57, a0, 0, csrw satp, zero; csrr a0, satp)

    /* ---- xepc / xtvec ---- */
    /* mepc[0] and sepc[0] are always zero (IALIGN = 16). QEMU 7.2 stores
     * the bit (and ignores it on xRET), so skipped there. */
    li TESTNUM, 58
    SKIP_ON_QEMU(1f)
    TEST_CASE( 58, a0, 0x80001234, li a1, 0x80001235; csrw mepc, a1; csrr a0, mepc)
    TEST_CASE( 59, a0, 0x80001236, li a1, 0x80001237; csrw sepc, a1; csrr a0, sepc)
1:
    TEST_CASE( 60, a0, 0x80000101, li a1, 0x80000101; csrw stvec, a1; csrr a0, stvec)
    TEST_CASE( 61, a0, 0x80000100, li a1, 0x80000100; csrw stvec, a1; csrr a0, stvec)
    li TESTNUM, 62
    csrr s1, mtvec
    li a1, 0x80000101
    csrw mtvec, a1
    csrr a0, mtvec
    csrw mtvec, s1
    ASSERT_EQ(a0, 0x80000101)
    TEST_CASE( 63, a0, 0xbad, li a1, 0xbad; csrw mtval, a1; csrr a0, mtval)
    TEST_CASE( 64, a0, 0xbad, li a1, 0xbad; csrw stval, a1; csrr a0, stval)
    TEST_CASE( 65, a0, 0x8000000000000005, li a1, 0x8000000000000005; csrw scause, a1; csrr a0, scause)
    TEST_CASE( 66, a0, 0x55, li a1, 0x55; csrw sscratch, a1; csrr a0, sscratch)

    /* ---- fcsr = frm << 5 | fflags ---- */
    TEST_CASE( 67, a0, 0x83, li a1, 0x83; csrw fcsr, a1; csrr a0, fcsr)
    TEST_CASE( 68, a0, 4, csrr a0, frm)
    TEST_CASE( 69, a0, 3, csrr a0, fflags)
    TEST_CASE( 70, a0, 0x43, csrwi frm, 2; csrr a0, fcsr)
    TEST_CASE( 71, a0, 0x5c, csrwi fflags, 0x1c; csrr a0, fcsr)
    TEST_CASE( 72, a0, 0x1c, csrrci a0, fflags, 0x4)
    TEST_CASE( 73, a0, 0x58, csrr a0, fcsr)
    fscsr zero

    /* ---- mstatus.FS ---- */
    /* an FP register write makes FS Dirty (and SD 1) */
    li TESTNUM, 74
    li a1, MSTATUS_FS
    csrc mstatus, a1
    li a1, MSTATUS_FS_CLEAN
    csrs mstatus, a1
    fmv.d.x fa0, zero
    csrr a0, mstatus
    li a1, MSTATUS_FS
    and a1, a0, a1
    ASSERT_EQ(a1, MSTATUS_FS_DIRTY)
    srli a0, a0, 63
    ASSERT_EQ(a0, 1)
    /* an fcsr write (fflags set by an FP op) too */
    li TESTNUM, 75
    li a1, MSTATUS_FS
    csrc mstatus, a1
    li a1, MSTATUS_FS_CLEAN
    csrs mstatus, a1
    csrwi fflags, 1
    csrr a0, mstatus
    li a1, MSTATUS_FS
    and a0, a0, a1
    ASSERT_EQ(a0, MSTATUS_FS_DIRTY)
    /* FS = Off: every FP instruction and FP CSR access is illegal */
    li a1, MSTATUS_FS
    csrc mstatus, a1
    la s0, scratch
    TEST_TRAP( 76, CAUSE_ILLEGAL_INSN, fadd.d fa0, fa1, fa2)
    TEST_TRAP( 77, CAUSE_ILLEGAL_INSN, fld fa0, 0(s0))
    TEST_TRAP( 78, CAUSE_ILLEGAL_INSN, fsw fa0, 0(s0))
    TEST_TRAP( 79, CAUSE_ILLEGAL_INSN, fmv.x.d a0, fa0)
    TEST_TRAP( 80, CAUSE_ILLEGAL_INSN, fmv.w.x fa0, a0)
    TEST_TRAP( 81, CAUSE_ILLEGAL_INSN, frcsr a0)
    TEST_TRAP( 82, CAUSE_ILLEGAL_INSN, csrwi fflags, 0)
    TEST_TRAP( 83, CAUSE_ILLEGAL_INSN, c.fld fa0, 0(s0))
    TEST_TRAP( 84, CAUSE_ILLEGAL_INSN, fmadd.s fa0, fa1, fa2, fa3)
    /* FS stayed Off */
    TEST_CASE( 85, a0, 0, csrr a1, mstatus; li a2, MSTATUS_FS; and a0, a1, a2)
    li a1, MSTATUS_FS_INITIAL
    csrs mstatus, a1

    /* ---- counters ---- */
    /* cycle and instret advance */
    TEST_CASE( 86, a0, 1, rdcycle a1; nop; nop; nop; nop; rdcycle a2; sltu a0, a1, a2)
    TEST_CASE( 87, a0, 1, rdinstret a1; nop; nop; nop; nop; rdinstret a2; sub a3, a2, a1; sltiu a0, a3, 5; xori a0, a0, 1)
    /* instret is exact: 10 instructions between two reads (QEMU without
     * -icount counts host ticks instead; skipped there) */
    li TESTNUM, 88
    SKIP_ON_QEMU(1f)
    .option push
    .option norvc
    csrr a1, instret
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    addi a3, a3, 1
    csrr a2, instret
    .option pop
    sub a0, a2, a1
    ASSERT_EQ(a0, 10)
1:
    /* mcycle / minstret are writable; cycle / instret shadow them */
    li TESTNUM, 89
    li a1, 1000000
    csrw minstret, a1
    csrr a0, instret
    sub a0, a0, a1
    bltz a0, 2f
    li a2, 10000000
    bgeu a0, a2, 2f
    li a1, 0x100000000
    csrw mcycle, a1
    csrr a0, cycle
    sub a0, a0, a1
    bltz a0, 2f
    li a2, 100000000
    bgeu a0, a2, 2f
    j 3f
2:  j fail
3:
    /* CLINT mtime advances (10 MHz: within a bounded spin) */
    li TESTNUM, 90
    li s0, CLINT_MTIME
    ld a1, 0(s0)
    li a3, 10000000
1:  ld a2, 0(s0)
    bne a2, a1, 2f
    addi a3, a3, -1
    bnez a3, 1b
    j fail
2:  sltu a0, a1, a2
    ASSERT_EQ(a0, 1)
    /* the time CSR advances and agrees with mtime. QEMU's spike board has
     * no time CSR (rdtime traps there; firmware emulates it): skipped. */
    li TESTNUM, 91
    SKIP_ON_QEMU(4f)
    rdtime a1
    li a3, 10000000
1:  rdtime a2
    bne a2, a1, 2f
    addi a3, a3, -1
    bnez a3, 1b
    j fail
2:  sltu a0, a1, a2
    ASSERT_EQ(a0, 1)
    li TESTNUM, 92
    ld a1, 0(s0)
    rdtime a2
    ld a3, 0(s0)
    sltu a0, a2, a1
    ASSERT_EQ(a0, 0)
    sltu a0, a3, a2
    ASSERT_EQ(a0, 0)
4:

    /* ---- mcounteren / scounteren ---- */
    csrw mcounteren, zero
    csrw scounteren, zero
    TEST_TRAP_IN_S( 93, CAUSE_ILLEGAL_INSN, rdcycle a0)
    TEST_TRAP_IN_S( 94, CAUSE_ILLEGAL_INSN, rdtime a0)
    TEST_TRAP_IN_S( 95, CAUSE_ILLEGAL_INSN, rdinstret a0)
    TEST_TRAP_IN_U( 96, CAUSE_ILLEGAL_INSN, rdcycle a0)
    TEST_TRAP_IN_U( 97, CAUSE_ILLEGAL_INSN, rdtime a0)
    TEST_TRAP_IN_U( 98, CAUSE_ILLEGAL_INSN, rdinstret a0)
    /* mcounteren only: S may, U may not */
    csrwi mcounteren, 7
    TEST_NO_TRAP_IN_S( 99, rdcycle a0; rdinstret a0)
    TEST_TRAP_IN_U(100, CAUSE_ILLEGAL_INSN, rdcycle a0)
    TEST_TRAP_IN_U(101, CAUSE_ILLEGAL_INSN, rdtime a0)
    /* per-counter bits */
    csrwi mcounteren, 2
    TEST_TRAP_IN_S(102, CAUSE_ILLEGAL_INSN, rdcycle a0)
    TEST_TRAP_IN_S(103, CAUSE_ILLEGAL_INSN, rdinstret a0)
    /* time with TM set: allowed in S (not on QEMU spike, see check 91) */
    li TESTNUM, 104
    SKIP_ON_QEMU(1f)
    TEST_NO_TRAP_IN_S(104, rdtime a0)
1:
    /* both enabled: U may */
    csrwi mcounteren, 7
    csrwi scounteren, 7
    TEST_NO_TRAP_IN_U(105, rdcycle a0; rdinstret a0)
    li TESTNUM, 106
    SKIP_ON_QEMU(1f)
    TEST_NO_TRAP_IN_U(106, rdtime a0)
1:
    /* scounteren is not consulted for S-mode itself */
    csrwi scounteren, 0
    TEST_NO_TRAP_IN_S(107, rdcycle a0)
    csrw mcounteren, zero

    /* ---- CSR privilege ---- */
    TEST_TRAP_IN_S(108, CAUSE_ILLEGAL_INSN, csrr a0, mstatus)
    TEST_TRAP_IN_S(109, CAUSE_ILLEGAL_INSN, csrw mscratch, a0)
    TEST_TRAP_IN_S(110, CAUSE_ILLEGAL_INSN, csrr a0, mepc)
    TEST_TRAP_IN_U(111, CAUSE_ILLEGAL_INSN, csrr a0, sstatus)
    TEST_TRAP_IN_U(112, CAUSE_ILLEGAL_INSN, csrr a0, sscratch)
    TEST_TRAP_IN_U(113, CAUSE_ILLEGAL_INSN, csrr a0, satp)
    TEST_NO_TRAP_IN_S(114, csrr a0, sstatus; csrw sscratch, a0; csrr a0, satp; csrr a0, sie)
    /* fcsr is user level */
    TEST_NO_TRAP_IN_U(115, frcsr a0; fsflags zero)
    /* S reads of sstatus see the changes M made */
    li TESTNUM, 116
    li a1, MSTATUS_SUM
    csrs mstatus, a1
    TRAP_ARM
    GOTO_S
    csrr s1, sstatus
    GOTO_M
    CHECK_NO_TRAP(116)
    li a1, MSTATUS_SUM
    csrc mstatus, a1
    and a0, s1, a1
    ASSERT_EQ(a0, MSTATUS_SUM)
TEST_END

    .align 4
scratch:
    .space 64

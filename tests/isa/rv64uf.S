/* RV64F: single-precision arithmetic, FMA (one rounding), sqrt, sign
 * injection, min/max (NaN and signed-zero rules), compares (quiet vs
 * signalling), fclass, conversions (rounding and saturation), moves,
 * NaN-boxing of results and of inputs, rounding modes (frm and static rm,
 * reserved rm values), fflags (every flag, sticky), and mstatus.FS. */
#include "common.h"
#include "fp.h"

#define S_ZERO  0x00000000
#define S_NZERO 0x80000000
#define S_ONE   0x3f800000
#define S_MONE  0xbf800000
#define S_TWO   0x40000000
#define S_MTWO  0xc0000000
#define S_THREE 0x40400000
#define S_HALF  0x3f000000
#define S_MHALF 0xbf000000
#define S_1P5   0x3fc00000
#define S_M1P5  0xbfc00000
#define S_2P5   0x40200000
#define S_M2P5  0xc0200000
#define S_INF   0x7f800000
#define S_NINF  0xff800000
#define S_QNAN  0x7fc00000      /* the canonical NaN */
#define S_QNANP 0x7fc12345      /* quiet NaN with payload */
#define S_SNAN  0x7f800001
#define S_MAX   0x7f7fffff
#define S_NMAX  0xff7fffff
#define S_MINN  0x00800000      /* smallest normal */
#define S_SUB   0x00400000      /* 2^-127, subnormal */
#define S_NSUB  0x80000001
#define S_1E38  0x7e967699
#define S_1EM30 0x0da24260
#define S_3E9   0x4f32d05e
#define S_M3E9  0xcf32d05e

TEST_BEGIN
    /* ---- arithmetic ---- */
    TEST_FPS_OP2(  1, fadd.s, rne, 0,     0x40700000, S_1P5, 0x40100000)  /* 1.5 + 2.25 = 3.75 */
    TEST_FPS_OP2(  2, fsub.s, rne, 0,     0xbf400000, S_1P5, 0x40100000)  /* -0.75 */
    TEST_FPS_OP2(  3, fmul.s, rne, 0,     0x40580000, S_1P5, 0x40100000)  /* 3.375 */
    TEST_FPS_OP2(  4, fdiv.s, rne, FF_NX, 0x3eaaaaab, S_ONE, S_THREE)
    TEST_FPS_OP2(  5, fdiv.s, rne, FF_DZ, S_INF,  S_ONE,  S_ZERO)
    TEST_FPS_OP2(  6, fdiv.s, rne, FF_DZ, S_NINF, S_MONE, S_ZERO)
    TEST_FPS_OP2(  7, fdiv.s, rne, FF_NV, S_QNAN, S_ZERO, S_ZERO)
    TEST_FPS_OP1(  8, fsqrt.s, rne, 0,     S_TWO, 0x40800000)
    TEST_FPS_OP1(  9, fsqrt.s, rne, FF_NX, 0x3fb504f3, S_TWO)
    TEST_FPS_OP1( 10, fsqrt.s, rne, FF_NV, S_QNAN, S_MONE)
    TEST_FPS_OP1( 11, fsqrt.s, rne, 0,     S_NZERO, S_NZERO)
    TEST_FPS_OP2( 12, fadd.s, rne, FF_NV, S_QNAN, S_INF, S_NINF)
    TEST_FPS_OP2( 13, fmul.s, rne, FF_NV, S_QNAN, S_ZERO, S_INF)
    /* NaN results are always the canonical NaN (no payload propagation) */
    TEST_FPS_OP2( 14, fadd.s, rne, 0,     S_QNAN, S_QNANP, S_ONE)
    TEST_FPS_OP2( 15, fadd.s, rne, FF_NV, S_QNAN, S_SNAN, S_ONE)
    TEST_FPS_OP2( 16, fmul.s, rne, FF_OF | FF_NX, S_INF, S_1E38, S_1E38)
    TEST_FPS_OP2( 17, fmul.s, rne, FF_UF | FF_NX, S_ZERO, S_1EM30, S_1EM30)
    /* x + (-x) is +0, except -0 when rounding down */
    TEST_FPS_OP2( 18, fadd.s, rne, 0, S_ZERO,  S_ONE, S_MONE)
    TEST_FPS_OP2( 19, fadd.s, rdn, 0, S_NZERO, S_ONE, S_MONE)
    /* exact subnormal result: no underflow flag (tiny but exact) */
    TEST_FPS_OP2( 20, fmul.s, rne, 0, S_SUB, S_MINN, S_HALF)
    /* tiny and inexact: underflow */
    TEST_FPS_OP2( 21, fdiv.s, rne, FF_UF | FF_NX, 0x002aaaab, S_MINN, S_THREE)

    /* ---- fused multiply-add ---- */
    TEST_FPS_OP3( 22, fmadd.s,  rne, 0, 0x40e00000, S_TWO, S_THREE, S_ONE)   /*  7 */
    TEST_FPS_OP3( 23, fmsub.s,  rne, 0, 0x40a00000, S_TWO, S_THREE, S_ONE)   /*  5 */
    TEST_FPS_OP3( 24, fnmsub.s, rne, 0, 0xc0a00000, S_TWO, S_THREE, S_ONE)   /* -5 */
    TEST_FPS_OP3( 25, fnmadd.s, rne, 0, 0xc0e00000, S_TWO, S_THREE, S_ONE)   /* -7 */
    /* one rounding: (1+2^-12)^2 - 1 = 2^-11 + 2^-24 exactly (mul then
     * add would give 2^-11) */
    TEST_FPS_OP3( 26, fmadd.s,  rne, 0, 0x3a000400, 0x3f800800, 0x3f800800, S_MONE)
    /* inf * 0 + qNaN raises NV (RISC-V requires it) */
    TEST_FPS_OP3( 27, fmadd.s,  rne, FF_NV, S_QNAN, S_INF, S_ZERO, S_QNANP)
    TEST_FPS_OP3( 28, fmadd.s,  rne, 0,     S_QNAN, S_ONE, S_ONE, S_QNANP)
    TEST_FPS_OP3( 29, fmadd.s,  rne, FF_NV, S_QNAN, S_ONE, S_ONE, S_SNAN)

    /* ---- sign injection (no NaN canonicalization, no flags) ---- */
    TEST_FPS_OP2N( 30, fsgnj.s,  0, S_MONE, S_ONE,  S_MTWO)
    TEST_FPS_OP2N( 31, fsgnj.s,  0, S_ONE,  S_MONE, S_TWO)
    TEST_FPS_OP2N( 32, fsgnjn.s, 0, S_ONE,  S_ONE,  S_MTWO)
    TEST_FPS_OP2N( 33, fsgnjn.s, 0, S_MONE, S_ONE,  S_TWO)
    TEST_FPS_OP2N( 34, fsgnjx.s, 0, S_ONE,  S_MONE, S_MTWO)
    TEST_FPS_OP2N( 35, fsgnjx.s, 0, S_MONE, S_MONE, S_TWO)
    TEST_FPS_OP2N( 36, fsgnj.s,  0, 0xff800001, S_SNAN, S_MONE)

    /* ---- min / max ---- */
    TEST_FPS_OP2N( 37, fmin.s, 0, S_ONE, S_ONE, S_TWO)
    TEST_FPS_OP2N( 38, fmax.s, 0, S_TWO, S_ONE, S_TWO)
    TEST_FPS_OP2N( 39, fmin.s, 0, S_MTWO, S_ONE, S_MTWO)
    TEST_FPS_OP2N( 40, fmin.s, 0, S_NZERO, S_NZERO, S_ZERO)
    TEST_FPS_OP2N( 41, fmin.s, 0, S_NZERO, S_ZERO, S_NZERO)
    TEST_FPS_OP2N( 42, fmax.s, 0, S_ZERO, S_NZERO, S_ZERO)
    TEST_FPS_OP2N( 43, fmax.s, 0, S_ZERO, S_ZERO, S_NZERO)
    TEST_FPS_OP2N( 44, fmin.s, 0, S_ONE, S_QNANP, S_ONE)
    TEST_FPS_OP2N( 45, fmax.s, 0, S_ONE, S_ONE, S_QNANP)
    TEST_FPS_OP2N( 46, fmin.s, 0, S_QNAN, S_QNANP, S_QNANP)
    TEST_FPS_OP2N( 47, fmin.s, FF_NV, S_ONE, S_SNAN, S_ONE)
    TEST_FPS_OP2N( 48, fmax.s, FF_NV, S_QNAN, S_SNAN, S_SNAN)
    TEST_FPS_OP2N( 49, fmax.s, 0, S_NINF, S_NINF, S_NINF)

    /* ---- compares: feq is quiet, flt/fle signal on any NaN ---- */
    TEST_FPS_CMP( 50, feq.s, 0, 1, S_ONE, S_ONE)
    TEST_FPS_CMP( 51, feq.s, 0, 0, S_ONE, S_TWO)
    TEST_FPS_CMP( 52, flt.s, 0, 1, S_ONE, S_TWO)
    TEST_FPS_CMP( 53, flt.s, 0, 0, S_TWO, S_ONE)
    TEST_FPS_CMP( 54, fle.s, 0, 1, S_TWO, S_TWO)
    TEST_FPS_CMP( 55, feq.s, 0, 1, S_NZERO, S_ZERO)
    TEST_FPS_CMP( 56, flt.s, 0, 0, S_NZERO, S_ZERO)
    TEST_FPS_CMP( 57, fle.s, 0, 1, S_ZERO, S_NZERO)
    TEST_FPS_CMP( 58, feq.s, 0, 0, S_QNAN, S_QNAN)
    TEST_FPS_CMP( 59, feq.s, FF_NV, 0, S_SNAN, S_ONE)
    TEST_FPS_CMP( 60, flt.s, FF_NV, 0, S_QNAN, S_ONE)
    TEST_FPS_CMP( 61, fle.s, FF_NV, 0, S_ONE, S_QNAN)
    TEST_FPS_CMP( 62, flt.s, 0, 1, S_NINF, S_NMAX)

    /* ---- fclass ---- */
    TEST_FPS_CLASS( 63, FCLASS_NINF,  S_NINF)
    TEST_FPS_CLASS( 64, FCLASS_NNORM, S_MONE)
    TEST_FPS_CLASS( 65, FCLASS_NSUB,  S_NSUB)
    TEST_FPS_CLASS( 66, FCLASS_NZERO, S_NZERO)
    TEST_FPS_CLASS( 67, FCLASS_PZERO, S_ZERO)
    TEST_FPS_CLASS( 68, FCLASS_PSUB,  S_SUB)
    TEST_FPS_CLASS( 69, FCLASS_PNORM, S_MAX)
    TEST_FPS_CLASS( 70, FCLASS_PINF,  S_INF)
    TEST_FPS_CLASS( 71, FCLASS_SNAN,  S_SNAN)
    TEST_FPS_CLASS( 72, FCLASS_QNAN,  S_QNANP)

    /* ---- float -> integer: rounding, saturation, sign extension ---- */
    TEST_FPS_TOINT( 73, fcvt.w.s,  rne, FF_NX, 2,  S_1P5)
    TEST_FPS_TOINT( 74, fcvt.w.s,  rtz, FF_NX, 1,  S_1P5)
    TEST_FPS_TOINT( 75, fcvt.w.s,  rdn, FF_NX, -2, S_M1P5)
    TEST_FPS_TOINT( 76, fcvt.w.s,  rup, FF_NX, -1, S_M1P5)
    TEST_FPS_TOINT( 77, fcvt.w.s,  rmm, FF_NX, 3,  S_2P5)
    TEST_FPS_TOINT( 78, fcvt.w.s,  rne, FF_NX, 2,  S_2P5)
    TEST_FPS_TOINT( 79, fcvt.w.s,  rmm, FF_NX, -3, S_M2P5)
    TEST_FPS_TOINT( 80, fcvt.w.s,  rtz, FF_NV, 0x7fffffff, S_3E9)
    TEST_FPS_TOINT( 81, fcvt.w.s,  rtz, FF_NV, 0xffffffff80000000, S_M3E9)
    TEST_FPS_TOINT( 82, fcvt.w.s,  rtz, FF_NV, 0x7fffffff, S_QNAN)
    TEST_FPS_TOINT( 83, fcvt.w.s,  rtz, FF_NV, 0xffffffff80000000, S_NINF)
    TEST_FPS_TOINT( 84, fcvt.w.s,  rtz, 0, 0, S_NZERO)
    /* wu: 32-bit result sign-extended into the 64-bit register */
    TEST_FPS_TOINT( 85, fcvt.wu.s, rtz, 0, 0xffffffffb2d05e00, S_3E9)
    TEST_FPS_TOINT( 86, fcvt.wu.s, rtz, FF_NV, 0, S_MONE)
    TEST_FPS_TOINT( 87, fcvt.wu.s, rtz, FF_NX, 0, S_MHALF)   /* rounds to 0: only inexact */
    TEST_FPS_TOINT( 88, fcvt.wu.s, rtz, FF_NV, 0xffffffffffffffff, S_QNAN)
    TEST_FPS_TOINT( 89, fcvt.l.s,  rtz, 0, 3000000000, S_3E9)
    TEST_FPS_TOINT( 90, fcvt.l.s,  rtz, FF_NV, 0x7fffffffffffffff, S_INF)
    TEST_FPS_TOINT( 91, fcvt.l.s,  rtz, FF_NV, 0x8000000000000000, 0xfe967699)  /* -1e38 */
    TEST_FPS_TOINT( 92, fcvt.l.s,  rtz, FF_NV, 0x7fffffffffffffff, S_SNAN)
    TEST_FPS_TOINT( 93, fcvt.lu.s, rtz, FF_NV, 0, S_NINF)
    TEST_FPS_TOINT( 94, fcvt.lu.s, rtz, FF_NV, 0xffffffffffffffff, S_1E38)
    TEST_FPS_TOINT( 95, fcvt.lu.s, rtz, FF_NV, 0xffffffffffffffff, S_QNAN)

    /* ---- integer -> float ---- */
    TEST_FPS_FROMINT( 96, fcvt.s.w,  rne, 0,     S_MONE, -1)
    TEST_FPS_FROMINT( 97, fcvt.s.w,  rne, FF_NX, 0x4f000000, 0x7fffffff)
    TEST_FPS_FROMINT( 98, fcvt.s.w,  rne, 0,     S_THREE, 0x100000003)        /* low 32 bits only */
    TEST_FPS_FROMINT( 99, fcvt.s.wu, rne, FF_NX, 0x4f800000, 0xffffffffffffffff)
    TEST_FPS_FROMINT(100, fcvt.s.l,  rne, 0,     0xdf000000, 0x8000000000000000)
    TEST_FPS_FROMINT(101, fcvt.s.lu, rne, FF_NX, 0x5f800000, 0xffffffffffffffff)
    TEST_FPS_FROMINT(102, fcvt.s.l,  rne, FF_NX, 0x4b800000, 16777217)
    TEST_FPS_FROMINT(103, fcvt.s.l,  rup, FF_NX, 0x4b800001, 16777217)

    /* ---- moves and NaN boxing ---- */
    /* fmv.x.w sign-extends; fmv.w.x NaN-boxes */
    TEST_CASE(104, a0, 0xffffffffbf800000, li a1, S_MONE; fmv.w.x fa0, a1; fmv.x.w a0, fa0)
    TEST_CASE(105, a0, 0xffffffff3f800000, li a1, 0x123456783f800000; fmv.w.x fa0, a1; fmv.x.d a0, fa0)
    /* flw NaN-boxes; fsw stores only the word */
    la s0, fbuf
    TEST_CASE(106, a0, 0xffffffff40490fdb, li a1, 0x40490fdb; sw a1, 0(s0); flw fa0, 0(s0); fmv.x.d a0, fa0)
    TEST_CASE(107, a0, 0x1111111140490fdb, li a1, 0x1111111122222222; sd a1, 8(s0); fsw fa0, 8(s0); ld a0, 8(s0))
    /* a value that is not a valid NaN-boxed single reads as the canonical NaN */
    TEST_CASE(108, a0, BOXS(S_QNAN), li a1, 0x000000003f800000; fmv.d.x fa1, a1; FPS_LD(fa2, S_ONE); fsflags zero; fadd.s fa0, fa1, fa2; fmv.x.d a0, fa0)
    TEST_CASE(109, a0, 0, frflags a0)       /* a quiet NaN: no NV */
    TEST_CASE(110, a0, FCLASS_QNAN, li a1, 0xfffffffe3f800000; fmv.d.x fa1, a1; fclass.s a0, fa1)
    /* sign of the canonical NaN (positive) is what fsgnj sees */
    TEST_CASE(111, a0, BOXS(S_MONE), li a1, 0x00000000bf800000; fmv.d.x fa1, a1; FPS_LD(fa2, S_ONE); fsgnjn.s fa0, fa2, fa1; fmv.x.d a0, fa0)
    TEST_CASE(112, a0, BOXS(S_QNAN), li a1, 0x00000000bf800000; fmv.d.x fa1, a1; FPS_LD(fa2, S_ONE); fsgnj.s fa0, fa1, fa2; fmv.x.d a0, fa0)
    /* transfers out ignore the upper bits: fmv.x.w and fsw see the low word */
    TEST_CASE(113, a0, 0x000000003f800000, li a1, 0x000000003f800000; fmv.d.x fa1, a1; fmv.x.w a0, fa1)
    TEST_CASE(114, a0, 0x3f800000, li a1, 0x000000003f800000; fmv.d.x fa1, a1; fsw fa1, 16(s0); lwu a0, 16(s0))
    /* fcvt.s.w result is boxed even into a register holding a double */
    TEST_CASE(115, a0, BOXS(S_TWO), li a1, 0x400921fb54442d18; fmv.d.x fa0, a1; li a2, 2; fcvt.s.w fa0, a2; fmv.x.d a0, fa0)

    /* ---- rounding modes: dynamic (frm) and static ---- */
    /* 1/3 under each frm */
    li TESTNUM, 116
    FPS_LD(fa1, S_ONE)
    FPS_LD(fa2, S_THREE)
    fsrmi RM_RNE
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3eaaaaab)
    fsrmi RM_RTZ
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3eaaaaaa)
    fsrmi RM_RDN
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3eaaaaaa)
    fsrmi RM_RUP
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3eaaaaab)
    fsrmi RM_RMM
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3eaaaaab)
    /* -1/3: RDN rounds away from zero, RUP toward */
    li TESTNUM, 117
    FPS_LD(fa1, S_MONE)
    fsrmi RM_RDN
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0xffffffffbeaaaaab)
    fsrmi RM_RUP
    fdiv.s fa0, fa1, fa2
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0xffffffffbeaaaaaa)
    /* static rm overrides frm (still RUP here) */
    li TESTNUM, 118
    FPS_LD(fa1, S_ONE)
    fdiv.s fa0, fa1, fa2, rtz
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3eaaaaaa)
    /* ties: 1 + 2^-24 is halfway between 1 and 1 + 2^-23 */
    li TESTNUM, 119
    FPS_LD(fa2, 0x33800000)             /* 2^-24 */
    fadd.s fa0, fa1, fa2, rne
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, S_ONE)
    fadd.s fa0, fa1, fa2, rmm
    fmv.x.w a0, fa0
    ASSERT_EQ(a0, 0x3f800001)
    /* overflow under directed rounding: largest finite instead of inf */
    TEST_FPS_OP2(120, fmul.s, rtz, FF_OF | FF_NX, S_MAX, S_1E38, S_1E38)
    TEST_FPS_OP2(121, fmul.s, rup, FF_OF | FF_NX, S_NMAX, 0xfe967699, S_1E38)
    /* frm and fflags are fields of fcsr; fsrm/fsflags return the old value */
    li TESTNUM, 122
    fsrmi a0, RM_RDN
    ASSERT_EQ(a0, RM_RUP)
    fsflags zero
    FPS_LD(fa1, S_ONE)
    FPS_LD(fa2, S_ZERO)
    fdiv.s fa0, fa1, fa2                /* DZ */
    FPS_LD(fa2, S_THREE)
    fdiv.s fa0, fa1, fa2                /* NX: flags are sticky */
    frcsr a0
    ASSERT_EQ(a0, (RM_RDN << 5) | FF_DZ | FF_NX)
    fsflagsi a0, 0
    ASSERT_EQ(a0, FF_DZ | FF_NX)
    frcsr a0
    ASSERT_EQ(a0, RM_RDN << 5)
    fsrmi RM_RNE

    /* reserved rounding modes are illegal instructions: static rm 5/6,
     * and dyn with frm = 5 or 7 */
    li TESTNUM, 123
    TRAP_ARM
    .word (2 << 20) | (1 << 15) | (5 << 12) | (3 << 7) | 0x53   /* fadd.s f3, f1, f2, rm=5 */
    CHECK_TRAP(123, CAUSE_ILLEGAL_INSN)
    TEST_TRAP(124, CAUSE_ILLEGAL_INSN, .word (2 << 20) | (1 << 15) | (6 << 12) | (3 << 7) | 0x53)
    TEST_TRAP(125, CAUSE_ILLEGAL_INSN, fsrmi 5; fadd.s fa0, fa1, fa2)
    TEST_TRAP(126, CAUSE_ILLEGAL_INSN, fsrmi 7; fdiv.s fa0, fa1, fa2; fsrmi 0)
    fsrmi 0
TEST_END

    .align 4
fbuf:
    .space 64

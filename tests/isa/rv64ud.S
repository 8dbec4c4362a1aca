/* RV64D: double-precision arithmetic, FMA (one rounding), sqrt, sign
 * injection, min/max, compares, fclass, conversions double<->single
 * (NaN canonicalization, NaN-boxing), double<->integer (rounding,
 * saturation), FLD/FSD and FMV.X.D/FMV.D.X, rounding modes, fflags. */
#include "common.h"
#include "fp.h"

#define D_ZERO  0x0000000000000000
#define D_NZERO 0x8000000000000000
#define D_ONE   0x3ff0000000000000
#define D_MONE  0xbff0000000000000
#define D_TWO   0x4000000000000000
#define D_MTWO  0xc000000000000000
#define D_THREE 0x4008000000000000
#define D_HALF  0x3fe0000000000000
#define D_MHALF 0xbfe0000000000000
#define D_1P5   0x3ff8000000000000
#define D_M1P5  0xbff8000000000000
#define D_2P5   0x4004000000000000
#define D_M2P5  0xc004000000000000
#define D_2P25  0x4002000000000000
#define D_INF   0x7ff0000000000000
#define D_NINF  0xfff0000000000000
#define D_QNAN  0x7ff8000000000000      /* canonical NaN */
#define D_QNANP 0x7ff8000000012345
#define D_SNAN  0x7ff0000000000001
#define D_MAX   0x7fefffffffffffff
#define D_NMAX  0xffefffffffffffff
#define D_MINN  0x0010000000000000
#define D_SUB   0x0008000000000000
#define D_NSUB  0x8000000000000001
#define D_1E308 0x7fe1ccf385ebc8a0
#define D_1EM300 0x01a56e1fc2f8f359

#define S_ONE   0x3f800000
#define S_1P5   0x3fc00000
#define S_QNAN  0x7fc00000
#define S_SNAN  0x7f800001

TEST_BEGIN
    /* ---- arithmetic ---- */
    TEST_FPD_OP2(  1, fadd.d, rne, 0,     0x400e000000000000, D_1P5, D_2P25)
    TEST_FPD_OP2(  2, fsub.d, rne, 0,     0xbfe8000000000000, D_1P5, D_2P25)
    TEST_FPD_OP2(  3, fmul.d, rne, 0,     0x400b000000000000, D_1P5, D_2P25)
    TEST_FPD_OP2(  4, fdiv.d, rne, FF_NX, 0x3fd5555555555555, D_ONE, D_THREE)
    TEST_FPD_OP2(  5, fdiv.d, rup, FF_NX, 0x3fd5555555555556, D_ONE, D_THREE)
    TEST_FPD_OP2(  6, fdiv.d, rne, FF_DZ, D_NINF, D_MONE, D_ZERO)
    TEST_FPD_OP2(  7, fdiv.d, rne, FF_NV, D_QNAN, D_INF, D_INF)
    TEST_FPD_OP1(  8, fsqrt.d, rne, 0,     D_TWO, 0x4010000000000000)
    TEST_FPD_OP1(  9, fsqrt.d, rne, FF_NX, 0x3ff6a09e667f3bcd, D_TWO)
    TEST_FPD_OP1( 10, fsqrt.d, rne, FF_NV, D_QNAN, D_MONE)
    TEST_FPD_OP1( 11, fsqrt.d, rne, 0,     D_INF, D_INF)
    TEST_FPD_OP2( 12, fsub.d, rne, FF_NV, D_QNAN, D_INF, D_INF)
    TEST_FPD_OP2( 13, fadd.d, rne, 0,     D_QNAN, D_ONE, D_QNANP)
    TEST_FPD_OP2( 14, fmul.d, rne, FF_NV, D_QNAN, D_SNAN, D_ONE)
    TEST_FPD_OP2( 15, fmul.d, rne, FF_OF | FF_NX, D_INF, D_1E308, D_1E308)
    TEST_FPD_OP2( 16, fmul.d, rtz, FF_OF | FF_NX, D_MAX, D_1E308, D_1E308)
    TEST_FPD_OP2( 17, fmul.d, rne, 0, D_SUB, D_MINN, D_HALF)
    TEST_FPD_OP2( 18, fdiv.d, rne, FF_UF | FF_NX, 0x0005555555555555, D_MINN, D_THREE)
    TEST_FPD_OP2( 19, fmul.d, rne, FF_UF | FF_NX, D_ZERO, D_1EM300, D_1EM300)
    TEST_FPD_OP2( 20, fsub.d, rdn, 0, D_NZERO, D_ONE, D_ONE)
    TEST_FPD_OP2( 21, fsub.d, rne, 0, D_ZERO, D_ONE, D_ONE)

    /* ---- FMA ---- */
    TEST_FPD_OP3( 22, fmadd.d,  rne, 0, 0x401c000000000000, D_TWO, D_THREE, D_ONE)
    TEST_FPD_OP3( 23, fmsub.d,  rne, 0, 0x4014000000000000, D_TWO, D_THREE, D_ONE)
    TEST_FPD_OP3( 24, fnmsub.d, rne, 0, 0xc014000000000000, D_TWO, D_THREE, D_ONE)
    TEST_FPD_OP3( 25, fnmadd.d, rne, 0, 0xc01c000000000000, D_TWO, D_THREE, D_ONE)
    /* (1+2^-27)^2 - 1 = 2^-26 + 2^-54 exactly, with a single rounding */
    TEST_FPD_OP3( 26, fmadd.d,  rne, 0, 0x3e50000001000000, 0x3ff0000002000000, 0x3ff0000002000000, D_MONE)
    TEST_FPD_OP3( 27, fmadd.d,  rne, FF_NV, D_QNAN, D_ZERO, D_NINF, D_QNANP)
    /* -(0 * 1) - 0 = -0 - 0 = -0 */
    TEST_FPD_OP3( 28, fnmadd.d, rne, 0, D_NZERO, D_ZERO, D_ONE, D_ZERO)

    /* ---- sign injection ---- */
    TEST_FPD_OP2N( 29, fsgnj.d,  0, D_MONE, D_ONE,  D_MTWO)
    TEST_FPD_OP2N( 30, fsgnjn.d, 0, D_MONE, D_ONE,  D_TWO)
    TEST_FPD_OP2N( 31, fsgnjx.d, 0, D_ONE,  D_MONE, D_MTWO)
    TEST_FPD_OP2N( 32, fsgnjx.d, 0, D_MONE, D_ONE,  D_MTWO)
    TEST_FPD_OP2N( 33, fsgnjn.d, 0, 0xfff0000000000001, D_SNAN, D_ONE)

    /* ---- min / max ---- */
    TEST_FPD_OP2N( 34, fmin.d, 0, D_MTWO, D_ONE, D_MTWO)
    TEST_FPD_OP2N( 35, fmax.d, 0, D_ONE, D_ONE, D_MTWO)
    TEST_FPD_OP2N( 36, fmin.d, 0, D_NZERO, D_ZERO, D_NZERO)
    TEST_FPD_OP2N( 37, fmax.d, 0, D_ZERO, D_NZERO, D_ZERO)
    TEST_FPD_OP2N( 38, fmin.d, 0, D_TWO, D_QNANP, D_TWO)
    TEST_FPD_OP2N( 39, fmax.d, 0, D_QNAN, D_QNANP, D_QNAN)
    TEST_FPD_OP2N( 40, fmax.d, FF_NV, D_TWO, D_TWO, D_SNAN)
    TEST_FPD_OP2N( 41, fmin.d, FF_NV, D_QNAN, D_SNAN, D_QNANP)

    /* ---- compares ---- */
    TEST_FPD_CMP( 42, feq.d, 0, 1, D_ONE, D_ONE)
    TEST_FPD_CMP( 43, flt.d, 0, 1, D_MTWO, D_ONE)
    TEST_FPD_CMP( 44, fle.d, 0, 0, D_TWO, D_ONE)
    TEST_FPD_CMP( 45, feq.d, 0, 1, D_ZERO, D_NZERO)
    TEST_FPD_CMP( 46, feq.d, 0, 0, D_QNAN, D_ONE)
    TEST_FPD_CMP( 47, feq.d, FF_NV, 0, D_ONE, D_SNAN)
    TEST_FPD_CMP( 48, fle.d, FF_NV, 0, D_QNAN, D_QNAN)
    TEST_FPD_CMP( 49, flt.d, 0, 1, D_NMAX, D_NSUB)

    /* ---- fclass ---- */
    TEST_FPD_CLASS( 50, FCLASS_NINF,  D_NINF)
    TEST_FPD_CLASS( 51, FCLASS_NNORM, D_NMAX)
    TEST_FPD_CLASS( 52, FCLASS_NSUB,  D_NSUB)
    TEST_FPD_CLASS( 53, FCLASS_NZERO, D_NZERO)
    TEST_FPD_CLASS( 54, FCLASS_PZERO, D_ZERO)
    TEST_FPD_CLASS( 55, FCLASS_PSUB,  D_SUB)
    TEST_FPD_CLASS( 56, FCLASS_PNORM, D_MINN)
    TEST_FPD_CLASS( 57, FCLASS_PINF,  D_INF)
    TEST_FPD_CLASS( 58, FCLASS_SNAN,  D_SNAN)
    TEST_FPD_CLASS( 59, FCLASS_QNAN,  D_QNAN)
    /* a boxed single is a (quiet) NaN as a double */
    TEST_FPD_CLASS( 60, FCLASS_QNAN,  0xffffffff3f800000)

    /* ---- double <-> single ---- */
    TEST_CASE( 61, a0, D_1P5, FPS_LD(fa1, S_1P5); fcvt.d.s fa0, fa1; fmv.x.d a0, fa0)
    /* sNaN single -> canonical double NaN, NV */
    TEST_CASE( 62, a0, D_QNAN, FPS_LD(fa1, S_SNAN); fsflags zero; fcvt.d.s fa0, fa1; fmv.x.d a0, fa0)
    TEST_CASE( 63, a0, FF_NV, frflags a0)
    /* an improperly boxed single converts as the canonical NaN, no flags */
    TEST_CASE( 64, a0, D_QNAN, FPD_LD(fa1, D_ONE); fsflags zero; fcvt.d.s fa0, fa1; fmv.x.d a0, fa0)
    TEST_CASE( 65, a0, 0, frflags a0)
    TEST_FPD_OP1( 66, fcvt.s.d, rne, FF_NX, BOXS(0x3eaaaaab), 0x3fd5555555555555)
    TEST_FPD_OP1( 67, fcvt.s.d, rtz, FF_NX, BOXS(0x3eaaaaaa), 0x3fd5555555555555)
    TEST_FPD_OP1( 68, fcvt.s.d, rne, FF_OF | FF_NX, BOXS(0x7f800000), D_1E308)
    TEST_FPD_OP1( 69, fcvt.s.d, rne, 0, BOXS(S_QNAN), D_QNANP)
    TEST_FPD_OP1( 70, fcvt.s.d, rne, FF_UF | FF_NX, BOXS(0), D_1EM300)
    TEST_FPD_OP1( 71, fcvt.s.d, rne, FF_NV, BOXS(S_QNAN), D_SNAN)
    TEST_FPD_OP1( 72, fcvt.s.d, rne, 0, BOXS(0xff800000), D_NINF)

    /* ---- double -> integer ---- */
    TEST_FPD_TOINT( 73, fcvt.w.d,  rne, FF_NX, 2,  D_1P5)
    TEST_FPD_TOINT( 74, fcvt.w.d,  rdn, FF_NX, -2, D_M1P5)
    TEST_FPD_TOINT( 75, fcvt.w.d,  rmm, FF_NX, -3, D_M2P5)
    TEST_FPD_TOINT( 76, fcvt.w.d,  rne, FF_NX, -2, D_M2P5)
    /* rounds to 2^31: out of range after rounding */
    TEST_FPD_TOINT( 77, fcvt.w.d,  rne, FF_NV, 0x7fffffff, 0x41dfffffffe00000)
    TEST_FPD_TOINT( 78, fcvt.w.d,  rtz, FF_NX, 0x7fffffff, 0x41dfffffffe00000)
    TEST_FPD_TOINT( 79, fcvt.w.d,  rtz, FF_NX, 0xffffffff80000000, 0xc1e00000001ccccd)
    TEST_FPD_TOINT( 80, fcvt.w.d,  rtz, FF_NV, 0x7fffffff, D_QNANP)
    TEST_FPD_TOINT( 81, fcvt.wu.d, rtz, 0, 0xffffffffffffffff, 0x41efffffffe00000)
    TEST_FPD_TOINT( 82, fcvt.wu.d, rtz, FF_NV, 0xffffffffffffffff, D_INF)
    TEST_FPD_TOINT( 83, fcvt.wu.d, rne, FF_NV, 0, D_M1P5)
    TEST_FPD_TOINT( 84, fcvt.l.d,  rtz, FF_NV, 0x7fffffffffffffff, 0x43e0000000000000)
    TEST_FPD_TOINT( 85, fcvt.l.d,  rtz, 0, 0x8000000000000000, 0xc3e0000000000000)
    TEST_FPD_TOINT( 86, fcvt.l.d,  rtz, FF_NV, 0x8000000000000000, D_NINF)
    TEST_FPD_TOINT( 87, fcvt.l.d,  rup, FF_NX, 1, 0x3fb999999999999a)
    TEST_FPD_TOINT( 88, fcvt.lu.d, rtz, 0, 0xfffffffffffff800, 0x43efffffffffffff)
    TEST_FPD_TOINT( 89, fcvt.lu.d, rtz, 0, 0, D_NZERO)
    TEST_FPD_TOINT( 90, fcvt.lu.d, rtz, FF_NV, 0, D_MONE)
    TEST_FPD_TOINT( 91, fcvt.lu.d, rtz, FF_NV, 0xffffffffffffffff, D_SNAN)

    /* ---- integer -> double ---- */
    TEST_CASE( 92, a0, D_MONE, li a2, -1; fcvt.d.w fa0, a2; fmv.x.d a0, fa0)
    TEST_CASE( 93, a0, 0x41efffffffe00000, li a2, -1; fcvt.d.wu fa0, a2; fmv.x.d a0, fa0)
    TEST_CASE( 94, a0, D_THREE, li a2, 0xffffffff00000003; fcvt.d.w fa0, a2; fmv.x.d a0, fa0)
    TEST_FPD_FROMINT( 95, fcvt.d.l,  rne, FF_NX, 0x4340000000000000, 0x20000000000001)
    TEST_FPD_FROMINT( 96, fcvt.d.l,  rup, FF_NX, 0x4340000000000001, 0x20000000000001)
    TEST_FPD_FROMINT( 97, fcvt.d.lu, rne, FF_NX, 0x43f0000000000000, 0xffffffffffffffff)
    TEST_FPD_FROMINT( 98, fcvt.d.l,  rne, 0, 0xc3e0000000000000, 0x8000000000000000)
    TEST_FPD_FROMINT( 99, fcvt.d.lu, rne, 0, D_ZERO, 0)

    /* ---- moves, loads, stores ---- */
    la s0, dbuf
    TEST_CASE(100, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; fmv.d.x fa0, a1; fmv.x.d a0, fa0)
    TEST_CASE(101, a0, 0x7ff0000000000001, li a1, D_SNAN; sd a1, 0(s0); fld fa0, 0(s0); fmv.x.d a0, fa0)
    TEST_CASE(102, a0, 0x7ff0000000000001, fsd fa0, 8(s0); ld a0, 8(s0))
    /* FSD of a boxed single stores all 64 bits */
    TEST_CASE(103, a0, BOXS(S_ONE), FPS_LD(fa0, S_ONE); fsd fa0, 16(s0); ld a0, 16(s0))
    /* FLW then FLD to the same register */
    TEST_CASE(104, a0, D_1P5, li a1, S_ONE; sw a1, 24(s0); flw fa0, 24(s0); li a1, D_1P5; sd a1, 24(s0); fld fa0, 24(s0); fmv.x.d a0, fa0)

    /* ---- rounding modes and flags ---- */
    li TESTNUM, 105
    FPD_LD(fa1, D_ONE)
    FPD_LD(fa2, 0x3ca0000000000000)     /* 2^-53: half an ulp of 1.0 */
    fsrmi RM_RNE
    fadd.d fa0, fa1, fa2
    fmv.x.d a0, fa0
    ASSERT_EQ(a0, D_ONE)
    fsrmi RM_RMM
    fadd.d fa0, fa1, fa2
    fmv.x.d a0, fa0
    ASSERT_EQ(a0, 0x3ff0000000000001)
    fsrmi RM_RUP
    fadd.d fa0, fa1, fa2
    fmv.x.d a0, fa0
    ASSERT_EQ(a0, 0x3ff0000000000001)
    fsrmi RM_RDN
    fadd.d fa0, fa1, fa2, dyn
    fmv.x.d a0, fa0
    ASSERT_EQ(a0, D_ONE)
    /* static rm wins over frm = RDN */
    fadd.d fa0, fa1, fa2, rup
    fmv.x.d a0, fa0
    ASSERT_EQ(a0, 0x3ff0000000000001)
    fsrmi RM_RNE
    /* flags accumulate across D operations */
    li TESTNUM, 106
    fsflags zero
    FPD_LD(fa1, D_SNAN)
    feq.d a0, fa1, fa1                  /* NV */
    FPD_LD(fa1, D_1E308)
    fmul.d fa0, fa1, fa1                /* OF NX */
    frflags a0
    ASSERT_EQ(a0, FF_NV | FF_OF | FF_NX)
    /* fflags CSR write keeps only 5 bits; frm only 3 */
    li TESTNUM, 107
    li a1, 0xff
    csrw fflags, a1
    csrr a0, fflags
    ASSERT_EQ(a0, 0x1f)
    li a1, 0xff
    csrw frm, a1
    csrr a0, frm
    ASSERT_EQ(a0, 7)
    csrr a0, fcsr
    ASSERT_EQ(a0, 0xff)
    li a1, -1
    csrw fcsr, a1
    csrr a0, fcsr
    ASSERT_EQ(a0, 0xff)
    fscsr zero
    /* double ops with reserved rm trap */
    TEST_TRAP(108, CAUSE_ILLEGAL_INSN, .word (1 << 25) | (2 << 20) | (1 << 15) | (5 << 12) | (3 << 7) | 0x53)  /* fadd.d rm=5 */
TEST_END

    .align 4
dbuf:
    .space 64

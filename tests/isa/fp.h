/* FP test macros for rv64uf.S / rv64ud.S (include after common.h).
 *
 * Operands are given as bit patterns; results are checked bit-exactly,
 * including the NaN-boxing of single-precision results (the whole 64-bit
 * f register is read with fmv.x.d), and fflags is checked after the one
 * instruction (cleared before it). The macros clobber t0, a0, a1, a2 and
 * fa0-fa3 (f10-f13): result in fa0, operands in fa1, fa2, fa3.
 *
 * rm arguments are the assembler's rounding-mode names: rne, rtz, rdn,
 * rup, rmm or dyn (use frm). */
#ifndef DISCO_ISA_FP_H
#define DISCO_ISA_FP_H

/* fflags bits */
#define FF_NX 0x01
#define FF_UF 0x02
#define FF_OF 0x04
#define FF_DZ 0x08
#define FF_NV 0x10

/* frm values */
#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

/* fclass bits */
#define FCLASS_NINF  0x001
#define FCLASS_NNORM 0x002
#define FCLASS_NSUB  0x004
#define FCLASS_NZERO 0x008
#define FCLASS_PZERO 0x010
#define FCLASS_PSUB  0x020
#define FCLASS_PNORM 0x040
#define FCLASS_PINF  0x080
#define FCLASS_SNAN  0x100
#define FCLASS_QNAN  0x200

/* A single NaN-boxed in a 64-bit f register. */
#define BOXS(x) (0xffffffff00000000 | (x))

#define FPS_LD(freg, bits) li t0, bits; fmv.w.x freg, t0
#define FPD_LD(freg, bits) li t0, bits; fmv.d.x freg, t0

#define FP_CHECK(res, flags)      \
    frflags a1;                   \
    fmv.x.d a0, fa0;              \
    ASSERT_EQ(a0, res);           \
    ASSERT_EQ(a1, flags)
#define FP_CHECK_INT(res, flags)  \
    frflags a1;                   \
    ASSERT_EQ(a0, res);           \
    ASSERT_EQ(a1, flags)

/* ---- single ---- */
#define TEST_FPS_OP1(n, inst, rm, flags, res, a) \
    li TESTNUM, n; FPS_LD(fa1, a); fsflags zero; \
    inst fa0, fa1, rm; FP_CHECK(BOXS(res), flags)
#define TEST_FPS_OP2(n, inst, rm, flags, res, a, b) \
    li TESTNUM, n; FPS_LD(fa1, a); FPS_LD(fa2, b); fsflags zero; \
    inst fa0, fa1, fa2, rm; FP_CHECK(BOXS(res), flags)
/* two operands, no rounding mode (fmin/fmax/fsgnj*) */
#define TEST_FPS_OP2N(n, inst, flags, res, a, b) \
    li TESTNUM, n; FPS_LD(fa1, a); FPS_LD(fa2, b); fsflags zero; \
    inst fa0, fa1, fa2; FP_CHECK(BOXS(res), flags)
#define TEST_FPS_OP3(n, inst, rm, flags, res, a, b, c) \
    li TESTNUM, n; FPS_LD(fa1, a); FPS_LD(fa2, b); FPS_LD(fa3, c); \
    fsflags zero; inst fa0, fa1, fa2, fa3, rm; FP_CHECK(BOXS(res), flags)
/* integer result: compares, fclass, fcvt to integer */
#define TEST_FPS_CMP(n, inst, flags, res, a, b) \
    li TESTNUM, n; FPS_LD(fa1, a); FPS_LD(fa2, b); fsflags zero; \
    inst a0, fa1, fa2; FP_CHECK_INT(res, flags)
#define TEST_FPS_CLASS(n, res, a) \
    li TESTNUM, n; FPS_LD(fa1, a); fsflags zero; \
    fclass.s a0, fa1; FP_CHECK_INT(res, 0)
#define TEST_FPS_TOINT(n, inst, rm, flags, res, a) \
    li TESTNUM, n; FPS_LD(fa1, a); fsflags zero; \
    inst a0, fa1, rm; FP_CHECK_INT(res, flags)
#define TEST_FPS_FROMINT(n, inst, rm, flags, res, i) \
    li TESTNUM, n; li a2, i; fsflags zero; \
    inst fa0, a2, rm; FP_CHECK(BOXS(res), flags)

/* ---- double ---- */
#define TEST_FPD_OP1(n, inst, rm, flags, res, a) \
    li TESTNUM, n; FPD_LD(fa1, a); fsflags zero; \
    inst fa0, fa1, rm; FP_CHECK(res, flags)
#define TEST_FPD_OP2(n, inst, rm, flags, res, a, b) \
    li TESTNUM, n; FPD_LD(fa1, a); FPD_LD(fa2, b); fsflags zero; \
    inst fa0, fa1, fa2, rm; FP_CHECK(res, flags)
#define TEST_FPD_OP2N(n, inst, flags, res, a, b) \
    li TESTNUM, n; FPD_LD(fa1, a); FPD_LD(fa2, b); fsflags zero; \
    inst fa0, fa1, fa2; FP_CHECK(res, flags)
#define TEST_FPD_OP3(n, inst, rm, flags, res, a, b, c) \
    li TESTNUM, n; FPD_LD(fa1, a); FPD_LD(fa2, b); FPD_LD(fa3, c); \
    fsflags zero; inst fa0, fa1, fa2, fa3, rm; FP_CHECK(res, flags)
#define TEST_FPD_CMP(n, inst, flags, res, a, b) \
    li TESTNUM, n; FPD_LD(fa1, a); FPD_LD(fa2, b); fsflags zero; \
    inst a0, fa1, fa2; FP_CHECK_INT(res, flags)
#define TEST_FPD_CLASS(n, res, a) \
    li TESTNUM, n; FPD_LD(fa1, a); fsflags zero; \
    fclass.d a0, fa1; FP_CHECK_INT(res, 0)
#define TEST_FPD_TOINT(n, inst, rm, flags, res, a) \
    li TESTNUM, n; FPD_LD(fa1, a); fsflags zero; \
    inst a0, fa1, rm; FP_CHECK_INT(res, flags)
#define TEST_FPD_FROMINT(n, inst, rm, flags, res, i) \
    li TESTNUM, n; li a2, i; fsflags zero; \
    inst fa0, a2, rm; FP_CHECK(res, flags)

#endif

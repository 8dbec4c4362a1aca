/* Unit tests for riscv/fpu.c: rv_fpu_exec on a bare struct rv_hart (no CPU
 * core needed). Instructions are encoded by hand. */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "riscv/hart.h"
#include "t.h"

enum { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 };
enum { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4, DYN = 7 };

/* funct7 values of OP-FP */
enum {
    FADD_S = 0x00, FADD_D = 0x01, FSUB_S = 0x04, FSUB_D = 0x05,
    FMUL_S = 0x08, FMUL_D = 0x09, FDIV_S = 0x0c, FDIV_D = 0x0d,
    FSQRT_S = 0x2c, FSQRT_D = 0x2d, FSGNJ_S = 0x10, FSGNJ_D = 0x11,
    FMINMAX_S = 0x14, FMINMAX_D = 0x15, FCVT_S_D = 0x20, FCVT_D_S = 0x21,
    FCMP_S = 0x50, FCMP_D = 0x51, FCVT_I_S = 0x60, FCVT_I_D = 0x61,
    FCVT_S_I = 0x68, FCVT_D_I = 0x69, FMVX_S = 0x70, FMVX_D = 0x71,
    FMVF_S = 0x78, FMVF_D = 0x79,
};
enum { FMADD = 0x43, FMSUB = 0x47, FNMSUB = 0x4b, FNMADD = 0x4f };
enum { CVT_W = 0, CVT_WU = 1, CVT_L = 2, CVT_LU = 3 };

#define QS 0x7fc00000u
#define QD 0x7ff8000000000000ull
#define BOX 0xffffffff00000000ull

static uint32_t rtype(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t rm, uint32_t rd)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | 0x53;
}
static uint32_t r4(uint32_t opc, uint32_t fmt, uint32_t rs3, uint32_t rs2, uint32_t rs1,
                   uint32_t rm, uint32_t rd)
{
    return rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | opc;
}

static uint32_t fb(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint64_t db(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}
static float bf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint64_t box(uint32_t u) { return BOX | u; }

static struct rv_hart *new_hart(void)
{
    struct rv_hart *h = calloc(1, sizeof *h);
    if (!h) {
        perror("calloc");
        exit(2);
    }
    h->mstatus = 1ull << RV_MSTATUS_FS_SHIFT; /* FS = Initial */
    return h;
}

/* Last result of the helpers below. g_pre: fflags the helpers preset
 * before each instruction (NX exercises the quick RNE paths, which are only
 * taken when NX has already accrued); CHECK_FL expects exactly the given
 * flags on top of those. */
static int g_rc;
static uint32_t g_fl, g_pre;
#define CHECK_FL(want) CHECK_EQ(g_fl, (uint32_t)(want) | g_pre)

/* Run one R-type op on singles: f1 = a, f2 = b (boxed), result f3. */
static uint32_t op_s(uint32_t f7, uint32_t rm, uint32_t a, uint32_t b)
{
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->f[1] = box(a);
    h->f[2] = box(b);
    h->f[3] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, rtype(f7, 2, 1, rm, 3));
    g_fl = h->fcsr & 31;
    uint64_t r = h->f[3];
    if (g_rc == 0 && (r >> 32) != 0xffffffffu)
        g_rc = 99; /* single result not NaN-boxed */
    free(h);
    return (uint32_t)r;
}
static uint64_t op_d(uint32_t f7, uint32_t rm, uint64_t a, uint64_t b)
{
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->f[1] = a;
    h->f[2] = b;
    h->f[3] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, rtype(f7, 2, 1, rm, 3));
    g_fl = h->fcsr & 31;
    uint64_t r = h->f[3];
    free(h);
    return r;
}
/* unary (rs2 field given): f1 = a raw 64-bit, result f3 raw */
static uint64_t op_u(uint32_t f7, uint32_t rs2, uint32_t rm, uint64_t a)
{
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->f[1] = a;
    h->f[3] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, rtype(f7, rs2, 1, rm, 3));
    g_fl = h->fcsr & 31;
    uint64_t r = h->f[3];
    free(h);
    return r;
}
/* fp -> x (compare, fmv.x, fclass): f1 = a (raw), f2 = b (raw), result x5 */
static uint64_t op_x(uint32_t f7, uint32_t rm, uint64_t a, uint64_t b)
{
    uint32_t rs2 = (f7 == FMVX_S || f7 == FMVX_D) ? 0 : 2;
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->f[1] = a;
    h->f[2] = b;
    h->x[5] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, rtype(f7, rs2, 1, rm, 5));
    g_fl = h->fcsr & 31;
    uint64_t r = h->x[5];
    free(h);
    return r;
}
static uint64_t cvt_x(uint32_t f7, uint32_t kind, uint32_t rm, uint64_t a)
{
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->f[1] = a;
    h->x[5] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, rtype(f7, kind, 1, rm, 5));
    g_fl = h->fcsr & 31;
    uint64_t r = h->x[5];
    free(h);
    return r;
}
/* x -> fp: x6 = v, result f3 raw */
static uint64_t cvt_f(uint32_t f7, uint32_t kind, uint32_t rm, uint64_t v)
{
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->x[6] = v;
    h->f[3] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, rtype(f7, kind, 6, rm, 3));
    g_fl = h->fcsr & 31;
    uint64_t r = h->f[3];
    free(h);
    return r;
}
/* fused: f1*f2 (+/-) f4 -> f3, raw 64-bit registers */
static uint64_t op_r4(uint32_t opc, uint32_t fmt, uint32_t rm, uint64_t a, uint64_t b, uint64_t c)
{
    struct rv_hart *h = new_hart();
    h->fcsr = g_pre;
    h->f[1] = a;
    h->f[2] = b;
    h->f[4] = c;
    h->f[3] = 0x5555555555555555ull;
    g_rc = rv_fpu_exec(h, r4(opc, fmt, 4, 2, 1, rm, 3));
    g_fl = h->fcsr & 31;
    uint64_t r = h->f[3];
    free(h);
    return r;
}

/* ---- cases ---------------------------------------------------------------- */

static void nan_boxing(void)
{
    struct rv_hart *h = new_hart();
    /* improperly boxed 1.0 + 1.0 -> canonical NaN, no flags (it is quiet) */
    h->f[1] = 0x000000003f800000ull;
    h->f[2] = box(0x3f800000);
    CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, RNE, 3)), 0);
    CHECK_EQ(h->f[3], box(QS));
    CHECK_EQ(h->fcsr & 31, 0);
    /* partially boxed (upper bits not all ones) is also not a single */
    h->f[1] = 0xfffffffe3f800000ull;
    CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, RNE, 3)), 0);
    CHECK_EQ(h->f[3], box(QS));
    /* properly boxed: 1 + 1 = 2, written boxed */
    h->f[1] = box(0x3f800000);
    CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, RNE, 3)), 0);
    CHECK_EQ(h->f[3], box(0x40000000));
    /* fsgnj.s: unboxed rs1 is the canonical NaN, takes rs2's sign */
    h->f[1] = 0x000000003f800000ull;
    h->f[2] = box(0xbf800000);
    CHECK_EQ(rv_fpu_exec(h, rtype(FSGNJ_S, 2, 1, 0, 3)), 0);
    CHECK_EQ(h->f[3], box(0xffc00000));
    /* unboxed rs2 supplies the canonical NaN's sign (positive) */
    h->f[1] = box(0xbf800000);
    h->f[2] = 0x00000000bf800000ull;
    CHECK_EQ(rv_fpu_exec(h, rtype(FSGNJ_S, 2, 1, 0, 3)), 0);
    CHECK_EQ(h->f[3], box(0x3f800000));
    /* fclass.s of an unboxed value: quiet NaN */
    h->f[1] = 0x000000003f800000ull;
    CHECK_EQ(rv_fpu_exec(h, rtype(FMVX_S, 0, 1, 1, 5)), 0);
    CHECK_EQ(h->x[5], 0x200);
    /* fcvt.d.s of an unboxed value: canonical double NaN, no NV */
    h->fcsr = 0;
    CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_D_S, 0, 1, RNE, 3)), 0);
    CHECK_EQ(h->f[3], QD);
    CHECK_EQ(h->fcsr & 31, 0);
    /* fcvt.w.s of an unboxed value: NaN -> INT32_MAX, NV */
    CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_I_S, CVT_W, 1, RNE, 5)), 0);
    CHECK_EQ(h->x[5], 0x7fffffff);
    CHECK_EQ(h->fcsr & 31, NV);
    /* fmv.w.x writes a boxed value */
    h->x[6] = 0x123456789abcdef0ull;
    CHECK_EQ(rv_fpu_exec(h, rtype(FMVF_S, 0, 6, 0, 3)), 0);
    CHECK_EQ(h->f[3], 0xffffffff9abcdef0ull);
    free(h);
}

static void canonical_nans(void)
{
    /* quiet NaN payloads are not propagated */
    CHECK_EQ(op_s(FADD_S, RNE, 0x7fc12345, 0x3f800000), QS);
    CHECK_EQ(g_rc, 0);
    CHECK_FL(0);
    CHECK_EQ(op_s(FMUL_S, RNE, 0x3f800000, 0xffc00001), QS);
    CHECK_FL(0);
    CHECK_EQ(op_d(FADD_D, RNE, 0xfff8000000000001ull, db(1.0)), QD);
    CHECK_FL(0);
    CHECK_EQ(op_d(FDIV_D, RNE, db(1.0), 0x7ff8dead0000beefull), QD);
    /* invalid operations produce the canonical NaN (x86 makes a negative one) */
    CHECK_EQ(op_s(FDIV_S, RNE, 0, 0), QS);
    CHECK_FL(NV);
    CHECK_EQ(op_s(FSUB_S, RNE, 0x7f800000, 0x7f800000), QS);
    CHECK_FL(NV);
    CHECK_EQ(op_d(FMUL_D, RNE, db(INFINITY), 0), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_d(FADD_D, RNE, db(INFINITY), db(-INFINITY)), QD);
    CHECK_FL(NV);
    /* same under RMM (separate code path) */
    CHECK_EQ(op_s(FADD_S, RMM, 0xffc12345, 0x3f800000), QS);
    CHECK_FL(0);
    CHECK_EQ(op_d(FDIV_D, RMM, 0, 0), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_s(FSUB_S, RMM, 0x7f800000, 0x7f800000), QS);
    CHECK_FL(NV);
    /* sign injection and moves keep NaN bits */
    CHECK_EQ(op_s(FSGNJ_S, 0, 0x7fc12345, 0x80000000), 0xffc12345);
    CHECK_FL(0);
    CHECK_EQ(op_d(FSGNJ_D, 2, 0x7ff0000000000001ull, 0x8000000000000000ull),
             0xfff0000000000001ull);
    CHECK_FL(0);
    CHECK_EQ(op_x(FMVX_D, 0, 0x7ff0000000000001ull, 0), 0x7ff0000000000001ull);
    CHECK_EQ(cvt_f(FMVF_D, 0, 0, 0xfff0000000000003ull), 0xfff0000000000003ull);
    CHECK_FL(0);
}

static void snan_raises_nv(void)
{
    CHECK_EQ(op_s(FADD_S, RNE, 0x7f800001, 0x3f800000), QS);
    CHECK_FL(NV);
    CHECK_EQ(op_s(FMUL_S, RMM, 0x3f800000, 0xff800001), QS);
    CHECK_FL(NV);
    CHECK_EQ(op_d(FSUB_D, RNE, db(1.0), 0x7ff0000000000001ull), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_u(FSQRT_S, 0, RNE, box(0x7fa00000)), box(QS));
    CHECK_FL(NV);
    CHECK_EQ(op_u(FSQRT_D, 0, RNE, 0x7ff4000000000000ull), QD);
    CHECK_FL(NV);
    /* conversions */
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0x7f800001)), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0xffc00001)), QD);
    CHECK_FL(0);
    CHECK_EQ(op_u(FCVT_S_D, 1, RNE, 0x7ff0000000000001ull), box(QS));
    CHECK_FL(NV);
    CHECK_EQ(op_u(FCVT_S_D, 1, RNE, 0x7ff8000000000001ull), box(QS));
    CHECK_FL(0);
    /* comparisons: feq quiet, flt/fle signalling */
    CHECK_EQ(op_x(FCMP_S, 2, box(QS), box(QS)), 0);
    CHECK_FL(0);
    CHECK_EQ(op_x(FCMP_S, 2, box(0x7f800001), box(0x3f800000)), 0);
    CHECK_FL(NV);
    CHECK_EQ(op_x(FCMP_S, 1, box(QS), box(0x3f800000)), 0);
    CHECK_FL(NV);
    CHECK_EQ(op_x(FCMP_S, 0, box(0x3f800000), box(QS)), 0);
    CHECK_FL(NV);
    CHECK_EQ(op_x(FCMP_D, 2, QD, db(1.0)), 0);
    CHECK_FL(0);
    CHECK_EQ(op_x(FCMP_D, 2, db(1.0), 0x7ff0000000000001ull), 0);
    CHECK_FL(NV);
    CHECK_EQ(op_x(FCMP_D, 1, QD, db(1.0)), 0);
    CHECK_FL(NV);
    /* fsgnj does not signal */
    CHECK_EQ(op_s(FSGNJ_S, 1, 0x7f800001, 0x3f800000), 0xff800001);
    CHECK_FL(0);
    /* fma with sNaN addend */
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(0x3f800000), box(0x3f800000), box(0x7f800001)), box(QS));
    CHECK_FL(NV);
}

static void compare_ordinary(void)
{
    CHECK_EQ(op_x(FCMP_S, 2, box(0x80000000), box(0)), 1); /* -0 == +0 */
    CHECK_EQ(op_x(FCMP_S, 1, box(0x80000000), box(0)), 0); /* !(-0 < +0) */
    CHECK_EQ(op_x(FCMP_S, 0, box(0), box(0x80000000)), 1); /* +0 <= -0 */
    CHECK_EQ(op_x(FCMP_S, 1, box(0xbf800000), box(0x3f800000)), 1);
    CHECK_EQ(op_x(FCMP_S, 1, box(0xc0000000), box(0xbf800000)), 1); /* -2 < -1 */
    CHECK_EQ(op_x(FCMP_S, 1, box(0xbf800000), box(0xc0000000)), 0);
    CHECK_EQ(op_x(FCMP_S, 0, box(0x00000001), box(0x00000002)), 1); /* subnormals */
    CHECK_EQ(op_x(FCMP_S, 1, box(0x00000002), box(0x00000001)), 0);
    CHECK_EQ(op_x(FCMP_D, 1, db(-INFINITY), db(-1e308)), 1);
    CHECK_EQ(op_x(FCMP_D, 0, db(2.0), db(1.0)), 0);
    CHECK_EQ(op_x(FCMP_D, 2, db(1.5), db(1.5)), 1);
    CHECK_EQ(op_x(FCMP_D, 2, db(1.5), db(-1.5)), 0);
    CHECK_FL(0);
}

/* fcvt.w.s of +-2.5 (and friends) under every rounding mode, static and dynamic */
static void cvt_rounding_modes(void)
{
    static const struct {
        int rm;
        int64_t p25, m25, p35, m05;
    } t[] = {
        {RNE, 2, -2, 4, 0}, {RTZ, 2, -2, 3, 0}, {RDN, 2, -3, 3, -1},
        {RUP, 3, -2, 4, 0}, {RMM, 3, -3, 4, -1},
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, t[i].rm, box(fb(2.5f))), t[i].p25);
        CHECK_FL(NX);
        CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, t[i].rm, box(fb(-2.5f))), t[i].m25);
        CHECK_FL(NX);
        CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, t[i].rm, db(3.5)), t[i].p35);
        CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, t[i].rm, db(-0.5)), t[i].m05);
        CHECK_FL(NX);
        /* the same through frm (dynamic rm) */
        struct rv_hart *h = new_hart();
        h->fcsr = (uint32_t)t[i].rm << 5;
        h->f[1] = box(fb(-2.5f));
        CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_I_S, CVT_L, 1, DYN, 5)), 0);
        CHECK_EQ(h->x[5], t[i].m25);
        CHECK_EQ(h->fcsr, ((uint32_t)t[i].rm << 5) | NX);
        free(h);
    }
    /* exact conversions raise nothing */
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RMM, box(fb(-7.0f))), (uint64_t)-7);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_LU, RNE, db(4503599627370497.0)), 4503599627370497ull);
    CHECK_FL(0);
    /* tiny values */
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RUP, 0x0000000000000001ull), 1);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RDN, 0x8000000000000001ull), (uint64_t)-1);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RMM, box(0x3effffff)), 0); /* 0.49999997 */
    CHECK_FL(NX);
}

/* Addition exactly halfway between two singles/doubles, every mode. */
static void add_ties_all_modes(void)
{
    const uint32_t one = 0x3f800000, h24 = fb(0x1p-24f);
    static const struct {
        int rm;
        uint32_t pos, neg, pos3;
    } t[] = {
        {RNE, 0x3f800000, 0xbf800000, 0x3f800002},
        {RTZ, 0x3f800000, 0xbf800000, 0x3f800001},
        {RDN, 0x3f800000, 0xbf800001, 0x3f800001},
        {RUP, 0x3f800001, 0xbf800000, 0x3f800002},
        {RMM, 0x3f800001, 0xbf800001, 0x3f800002},
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_EQ(op_s(FADD_S, t[i].rm, one, h24), t[i].pos);
        CHECK_EQ(g_rc, 0);
        CHECK_FL(NX);
        CHECK_EQ(op_s(FSUB_S, t[i].rm, one | 0x80000000u, h24), t[i].neg);
        CHECK_FL(NX);
        /* 1 + 3*2^-24: halfway between 1+2^-23 (odd) and 1+2^-22 (even) */
        CHECK_EQ(op_s(FADD_S, t[i].rm, one, fb(0x3p-24f)), t[i].pos3);
        CHECK_FL(NX);
    }
    /* RMM off the tie: just above rounds up, just below rounds down */
    CHECK_EQ(op_s(FADD_S, RMM, one, fb(0x1p-24f + 0x1p-40f)), 0x3f800001);
    CHECK_EQ(op_s(FADD_S, RMM, one, fb(0x1p-24f - 0x1p-40f)), 0x3f800000);
    CHECK_FL(NX);
    CHECK_EQ(op_s(FADD_S, RMM, one, one), 0x40000000);
    CHECK_FL(0);
    /* doubles: 1 + 2^-53 */
    CHECK_EQ(op_d(FADD_D, RNE, db(1.0), db(0x1p-53)), 0x3ff0000000000000ull);
    CHECK_FL(NX);
    CHECK_EQ(op_d(FADD_D, RMM, db(1.0), db(0x1p-53)), 0x3ff0000000000001ull);
    CHECK_FL(NX);
    CHECK_EQ(op_d(FADD_D, RMM, db(-1.0), db(-0x1p-53)), 0xbff0000000000001ull);
    CHECK_EQ(op_d(FADD_D, RMM, db(1.0), db(0x1p-53 - 0x1p-90)), 0x3ff0000000000000ull);
    CHECK_EQ(op_d(FADD_D, RUP, db(1.0), db(0x1p-90)), 0x3ff0000000000001ull);
    CHECK_EQ(op_d(FADD_D, RDN, db(-1.0), db(-0x1p-90)), 0xbff0000000000001ull);
    CHECK_EQ(op_d(FADD_D, RTZ, db(-1.0), db(-0x1p-53 - 0x1p-90)), 0xbff0000000000000ull);
    /* exact zero sum: -0 only when rounding down */
    CHECK_EQ(op_s(FADD_S, RDN, one, one | 0x80000000u), 0x80000000);
    CHECK_FL(0);
    CHECK_EQ(op_s(FADD_S, RNE, one, one | 0x80000000u), 0);
    CHECK_EQ(op_s(FADD_S, RMM, one, one | 0x80000000u), 0);
    CHECK_EQ(op_d(FSUB_D, RDN, db(1.0), db(1.0)), 0x8000000000000000ull);
    CHECK_EQ(op_d(FSUB_D, RMM, db(1.0), db(1.0)), 0);
}

/* RMM on other operations, including ties that only occur in the subnormal
 * range (division) and through the fused path. */
static void rmm_other_ops(void)
{
    /* (1+3*2^-52) * 1.5 = 1.5 + 4*2^-52 + 2^-53: tie, even is ...04 */
    CHECK_EQ(op_d(FMUL_D, RNE, 0x3ff0000000000003ull, db(1.5)), 0x3ff8000000000004ull);
    CHECK_EQ(op_d(FMUL_D, RMM, 0x3ff0000000000003ull, db(1.5)), 0x3ff8000000000005ull);
    CHECK_FL(NX);
    CHECK_EQ(op_r4(FMADD, 1, RMM, 0x3ff0000000000003ull, db(1.5), 0), 0x3ff8000000000005ull);
    CHECK_FL(NX);
    /* fma tie reachable only through the exact product:
     * (1+2^-52)^2 + (2^-53 - 2^-104) = 1 + 2^-51 + 2^-53 */
    CHECK_EQ(op_r4(FMADD, 1, RNE, 0x3ff0000000000001ull, 0x3ff0000000000001ull,
                   db(0x1p-53 - 0x1p-104)), 0x3ff0000000000002ull);
    CHECK_EQ(op_r4(FMADD, 1, RMM, 0x3ff0000000000001ull, 0x3ff0000000000001ull,
                   db(0x1p-53 - 0x1p-104)), 0x3ff0000000000003ull);
    CHECK_FL(NX);
    /* single fma under RMM: (1+2^-23)*(1+2^-23) + (2^-24 - 2^-46) = 1+2^-22+2^-24 */
    CHECK_EQ(op_r4(FMADD, 0, RMM, box(0x3f800001), box(0x3f800001),
                   box(fb(0x1p-24f - 0x1p-46f))), box(0x3f800003));
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(0x3f800001), box(0x3f800001),
                   box(fb(0x1p-24f - 0x1p-46f))), box(0x3f800002));
    /* division ties in the subnormal range */
    CHECK_EQ(op_s(FDIV_S, RNE, 0x00000005, 0x40000000), 0x00000002);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_s(FDIV_S, RMM, 0x00000005, 0x40000000), 0x00000003);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_s(FDIV_S, RMM, 0x80000001, 0x40000000), 0x80000001);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_d(FDIV_D, RNE, 1, db(2.0)), 0);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_d(FDIV_D, RMM, 1, db(2.0)), 1);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_d(FDIV_D, RMM, 1, db(3.0)), 0); /* below the tie */
    CHECK_FL(UF | NX);
    /* ordinary division and sqrt under RMM */
    CHECK_EQ(op_d(FDIV_D, RMM, db(1.0), db(3.0)), db(1.0 / 3.0));
    CHECK_FL(NX);
    CHECK_EQ(op_s(FDIV_S, RMM, fb(1.0f), fb(4.0f)), fb(0.25f));
    CHECK_FL(0);
    CHECK_EQ(op_u(FSQRT_D, 0, RMM, db(2.0)), db(1.4142135623730951));
    CHECK_FL(NX);
    /* divide by zero under RMM */
    CHECK_EQ(op_s(FDIV_S, RMM, fb(-3.0f), 0), 0xff800000);
    CHECK_FL(DZ);
    /* overflow under RMM */
    CHECK_EQ(op_s(FMUL_S, RMM, 0x7f7fffff, 0x40000000), 0x7f800000);
    CHECK_FL(OF | NX);
    CHECK_EQ(op_d(FADD_D, RMM, db(-0x1.fffffffffffffp1023), db(-0x1p970)), 0xfff0000000000000ull);
    CHECK_FL(OF | NX);
    /* just below the overflow threshold (max + ulp/4) rounds to max */
    CHECK_EQ(op_d(FADD_D, RMM, db(0x1.fffffffffffffp1023), db(0x1p969)), 0x7fefffffffffffffull);
    CHECK_FL(NX);
}

/* Randomised: RMM results of fmul.s/fadd.s/fdiv.s agree with an independent
 * model built from the RTZ result and the exact (double) value. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static void rmm_random_model(void)
{
    int bad = 0;
    for (int i = 0; i < 20000 && !bad; i++) {
        /* exponents near each other so add is exact in double */
        uint32_t a = (rnd32() & 0x807fffff) | ((uint32_t)(100 + rnd32() % 50) << 23);
        uint32_t b = (rnd32() & 0x807fffff) | ((uint32_t)(100 + rnd32() % 50) << 23);
        if (i % 3 == 0) /* sometimes few mantissa bits, to get ties */
            b &= 0xfff00000;
        uint32_t f7 = i % 2 ? FMUL_S : FADD_S;
        double exact = f7 == FMUL_S ? (double)bf(a) * (double)bf(b) : (double)bf(a) + (double)bf(b);
        uint32_t tz = op_s(f7, RTZ, a, b);
        uint32_t r = op_s(f7, RMM, a, b);
        uint32_t fl = g_fl;
        uint32_t want;
        if ((double)bf(tz) == exact) {
            want = tz;
        } else {
            float away = nextafterf(bf(tz), exact > 0 ? INFINITY : -INFINITY);
            double mid = ((double)bf(tz) + (double)away) / 2;
            want = fabs(exact) >= fabs(mid) ? fb(away) : tz;
        }
        if (r != want || fl != (((double)bf(want) == exact ? 0u : (uint32_t)NX) | g_pre))
            bad = 1;
        CHECK_EQ(r, want);
    }
    CHECK(!bad);
}

static void dynamic_rm(void)
{
    struct rv_hart *h = new_hart();
    h->f[1] = box(0x3f800000);
    h->f[2] = box(fb(0x1p-24f));
    /* frm = RUP: dynamic rounding rounds the tie up */
    h->fcsr = RUP << 5;
    h->f[3] = 0;
    CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, DYN, 3)), 0);
    CHECK_EQ(h->f[3], box(0x3f800001));
    h->fcsr = RMM << 5;
    CHECK_EQ(rv_fpu_exec(h, r4(FMADD, 0, 2, 2, 1, DYN, 3)), 0); /* 1*2^-24 + 2^-24 */
    CHECK_EQ(h->f[3], box(0x34000000));
    /* frm 5, 6, 7 with rm = dynamic: illegal, nothing written */
    for (uint32_t frm = 5; frm <= 7; frm++) {
        h->fcsr = frm << 5;
        h->f[3] = 0x1234;
        h->x[5] = 0x1234;
        h->mstatus = 1ull << RV_MSTATUS_FS_SHIFT;
        CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, DYN, 3)), -1);
        CHECK_EQ(rv_fpu_exec(h, rtype(FSQRT_D, 0, 1, DYN, 3)), -1);
        CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_I_S, CVT_W, 1, DYN, 5)), -1);
        CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_D_I, CVT_L, 1, DYN, 3)), -1);
        CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_S_D, 1, 1, DYN, 3)), -1);
        CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_D_S, 0, 1, DYN, 3)), -1);
        CHECK_EQ(rv_fpu_exec(h, r4(FNMADD, 1, 2, 2, 1, DYN, 3)), -1);
        CHECK_EQ(h->f[3], 0x1234);
        CHECK_EQ(h->x[5], 0x1234);
        CHECK_EQ(h->fcsr, frm << 5);
        CHECK_EQ(h->mstatus, 1ull << RV_MSTATUS_FS_SHIFT);
        /* instructions without a rounding mode don't care about frm */
        CHECK_EQ(rv_fpu_exec(h, rtype(FSGNJ_S, 2, 1, 0, 3)), 0);
        CHECK_EQ(rv_fpu_exec(h, rtype(FCMP_D, 2, 1, 2, 5)), 0);
    }
    /* static rm 5 and 6 are reserved */
    h->fcsr = 0;
    CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, 5, 3)), -1);
    CHECK_EQ(rv_fpu_exec(h, rtype(FMUL_D, 2, 1, 6, 3)), -1);
    CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_I_D, CVT_L, 1, 5, 5)), -1);
    CHECK_EQ(rv_fpu_exec(h, r4(FMADD, 0, 2, 2, 1, 6, 3)), -1);
    free(h);
}

static void cvt_saturation(void)
{
    /* fcvt.w.s */
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(QS)), 0x7fffffff);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(0xffc00000)), 0x7fffffff); /* -NaN too */
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(0x7f800000)), 0x7fffffff);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(0xff800000)), 0xffffffff80000000ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(fb(0x1p31f))), 0x7fffffff);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(fb(-0x1p31f))), 0xffffffff80000000ull);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(fb(3e9f))), 0x7fffffff);
    CHECK_FL(NV);
    /* fcvt.wu.s: result sign-extended from 32 bits */
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(fb(3e9f))), 0xffffffffb2d05e00ull);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(fb(-1.0f))), 0);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RTZ, box(fb(-0.75f))), 0);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(fb(-0.25f))), 0);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(fb(-0.75f))), 0); /* rounds to -1 */
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(0x80000000)), 0);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(fb(0x1p32f))), ~0ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(QS)), ~0ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_WU, RNE, box(0xff800000)), 0);
    CHECK_FL(NV);
    /* 64-bit */
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RNE, QD), 0x7fffffffffffffffull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RNE, 0xfff8000000000000ull), 0x7fffffffffffffffull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_WU, RNE, 0xfff0000000000001ull), ~0ull); /* -sNaN */
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, RNE, 0xfff8000000000000ull), 0x7fffffff);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RNE, db(0x1p63)), 0x7fffffffffffffffull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RNE, db(-0x1p63)), 0x8000000000000000ull);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RNE, db(-1e300)), 0x8000000000000000ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_L, RNE, db(0x1.fffffffffffffp62)), 0x7ffffffffffffc00ull);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_LU, RNE, db(-1.0)), 0);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_LU, RNE, db(0x1p64)), ~0ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_LU, RNE, db(0x1.fffffffffffffp63)), 0xfffffffffffff800ull);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_LU, RNE, db(INFINITY)), ~0ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_LU, RNE, box(fb(0x1p63f))), 0x8000000000000000ull);
    CHECK_FL(0);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_L, RNE, box(fb(0x1p63f))), 0x7fffffffffffffffull);
    CHECK_FL(NV);
    /* boundary decided after rounding */
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, RTZ, db(-2147483648.5)), 0xffffffff80000000ull);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, RDN, db(-2147483648.5)), 0xffffffff80000000ull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, RNE, db(2147483647.4)), 0x7fffffff);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, RMM, db(2147483647.5)), 0x7fffffff);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_WU, RUP, db(4294967294.2)), 0xffffffffffffffffull);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_WU, RUP, db(4294967295.2)), 0xffffffffffffffffull);
    CHECK_FL(NV);
    CHECK_EQ(cvt_x(FCVT_I_D, CVT_W, RNE, db(0.1)), 0);
    CHECK_FL(NX);
    CHECK_EQ(cvt_x(FCVT_I_S, CVT_W, RNE, box(0x00000001)), 0); /* subnormal */
    CHECK_FL(NX);
}

static void int_to_fp(void)
{
    /* 2^24 + 1 is a tie between 2^24 and 2^24 + 2 */
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RNE, 16777217), box(0x4b800000));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RUP, 16777217), box(0x4b800001));
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RMM, 16777217), box(0x4b800001));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RMM, (uint64_t)-16777217), box(0xcb800001));
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RMM, 16777219), box(0x4b800002)); /* tie, even is up */
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RTZ, 16777219), box(0x4b800001));
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RMM, 0), box(0));
    CHECK_FL(0);
    /* W uses the low 32 bits, signed; WU unsigned */
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_W, RNE, 0x00000000ffffffffull), box(0xbf800000));
    CHECK_FL(0);
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_WU, RNE, 0x12345678ffffffffull), box(0x4f800000));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_WU, RTZ, 0x12345678ffffffffull), box(0x4f7fffff));
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_WU, RNE, 0x12345678ffffffffull), db(4294967295.0));
    CHECK_FL(0);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_W, RNE, 0x00000000ffffffffull), db(-1.0));
    CHECK_FL(0);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_W, RMM, 0x80000000ull), db(-2147483648.0));
    CHECK_FL(0);
    /* 64-bit sources */
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_LU, RNE, ~0ull), box(0x5f800000));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_LU, RTZ, ~0ull), box(0x5f7fffff));
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_LU, RMM, ~0ull), box(0x5f800000));
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_L, RNE, ~0ull), box(0xbf800000));
    CHECK_FL(0);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_L, RNE, (1ull << 53) + 1), db(0x1p53));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_L, RMM, (1ull << 53) + 1), db(0x1p53 + 2));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_L, RDN, (uint64_t)-((1ll << 53) + 1)), db(-0x1p53 - 2));
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_L, RNE, 0x8000000000000000ull), db(-0x1p63));
    CHECK_FL(0);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_LU, RNE, 0x8000000000000001ull), db(0x1p63));
    CHECK_FL(NX);
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_LU, RUP, 0x8000000000000001ull), db(0x1p63 + 0x1p11));
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_LU, RMM, 0x8000000000000400ull), db(0x1p63 + 0x1p11));
    CHECK_EQ(cvt_f(FCVT_D_I, CVT_LU, RNE, 0x8000000000000400ull), db(0x1p63));
}

static void min_max(void)
{
    const uint32_t pz = 0, nz = 0x80000000;
    /* signed zeros, both operand orders */
    CHECK_EQ(op_s(FMINMAX_S, 0, pz, nz), nz);
    CHECK_EQ(op_s(FMINMAX_S, 0, nz, pz), nz);
    CHECK_EQ(op_s(FMINMAX_S, 1, pz, nz), pz);
    CHECK_EQ(op_s(FMINMAX_S, 1, nz, pz), pz);
    CHECK_FL(0);
    CHECK_EQ(op_d(FMINMAX_D, 0, 0, 0x8000000000000000ull), 0x8000000000000000ull);
    CHECK_EQ(op_d(FMINMAX_D, 1, 0x8000000000000000ull, 0), 0);
    /* ordinary */
    CHECK_EQ(op_s(FMINMAX_S, 0, fb(1.0f), fb(2.0f)), fb(1.0f));
    CHECK_EQ(op_s(FMINMAX_S, 1, fb(1.0f), fb(2.0f)), fb(2.0f));
    CHECK_EQ(op_s(FMINMAX_S, 0, fb(-1.0f), fb(-2.0f)), fb(-2.0f));
    CHECK_EQ(op_s(FMINMAX_S, 1, fb(-1.0f), fb(-2.0f)), fb(-1.0f));
    CHECK_EQ(op_d(FMINMAX_D, 0, db(-INFINITY), db(5.0)), db(-INFINITY));
    CHECK_EQ(op_d(FMINMAX_D, 1, db(-INFINITY), db(5.0)), db(5.0));
    CHECK_EQ(op_d(FMINMAX_D, 1, db(1e-310), db(-1e-310)), db(1e-310));
    /* one NaN: the other operand; quiet -> no flag, signalling -> NV */
    CHECK_EQ(op_s(FMINMAX_S, 0, QS, fb(3.0f)), fb(3.0f));
    CHECK_FL(0);
    CHECK_EQ(op_s(FMINMAX_S, 1, fb(3.0f), 0xffc00000), fb(3.0f));
    CHECK_FL(0);
    CHECK_EQ(op_s(FMINMAX_S, 0, 0x7f800001, fb(3.0f)), fb(3.0f));
    CHECK_FL(NV);
    CHECK_EQ(op_d(FMINMAX_D, 1, db(-7.0), 0x7ff0000000000001ull), db(-7.0));
    CHECK_FL(NV);
    /* both NaN: canonical NaN */
    CHECK_EQ(op_s(FMINMAX_S, 0, 0x7fc00123, 0xffc00000), QS);
    CHECK_FL(0);
    CHECK_EQ(op_s(FMINMAX_S, 1, 0x7f800001, 0x7fc00001), QS);
    CHECK_FL(NV);
    CHECK_EQ(op_d(FMINMAX_D, 0, 0xfff8000000000001ull, QD), QD);
    /* unboxed operand counts as NaN */
    {
        struct rv_hart *h = new_hart();
        h->f[1] = 0x3f800000;
        h->f[2] = box(0x40400000);
        CHECK_EQ(rv_fpu_exec(h, rtype(FMINMAX_S, 2, 1, 1, 3)), 0);
        CHECK_EQ(h->f[3], box(0x40400000));
        free(h);
    }
}

static void classify(void)
{
    static const struct {
        uint32_t s;
        uint64_t d;
        uint64_t cls;
    } t[] = {
        {0xff800000, 0xfff0000000000000ull, 1 << 0},  /* -inf */
        {0xbf800000, 0xbff0000000000000ull, 1 << 1},  /* -normal */
        {0x807fffff, 0x800fffffffffffffull, 1 << 2},  /* -subnormal */
        {0x80000000, 0x8000000000000000ull, 1 << 3},  /* -0 */
        {0x00000000, 0x0000000000000000ull, 1 << 4},  /* +0 */
        {0x00000001, 0x0000000000000001ull, 1 << 5},  /* +subnormal */
        {0x00800000, 0x0010000000000000ull, 1 << 6},  /* +normal (min) */
        {0x7f800000, 0x7ff0000000000000ull, 1 << 7},  /* +inf */
        {0x7f800001, 0x7ff0000000000001ull, 1 << 8},  /* sNaN */
        {0xffbfffff, 0xfff7ffffffffffffull, 1 << 8},  /* negative sNaN */
        {0x7fc00000, 0x7ff8000000000000ull, 1 << 9},  /* qNaN */
        {0xffffffff, 0xffffffffffffffffull, 1 << 9},  /* negative qNaN */
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_EQ(op_x(FMVX_S, 1, box(t[i].s), 0), t[i].cls);
        CHECK_EQ(g_rc, 0);
        CHECK_EQ(op_x(FMVX_D, 1, t[i].d, 0), t[i].cls);
        CHECK_FL(0);
    }
    CHECK_EQ(op_x(FMVX_S, 1, box(0x7f7fffff), 0), 1 << 6);
}

static void fused(void)
{
    const uint64_t two = box(0x40000000), three = box(0x40400000), one = box(0x3f800000);
    CHECK_EQ(op_r4(FMADD, 0, RNE, two, three, one), box(fb(7.0f)));
    CHECK_EQ(op_r4(FMSUB, 0, RNE, two, three, one), box(fb(5.0f)));
    CHECK_EQ(op_r4(FNMSUB, 0, RNE, two, three, one), box(fb(-5.0f)));
    CHECK_EQ(op_r4(FNMADD, 0, RNE, two, three, one), box(fb(-7.0f)));
    CHECK_FL(0);
    CHECK_EQ(op_r4(FMADD, 1, RNE, db(2.0), db(3.0), db(1.0)), db(7.0));
    CHECK_EQ(op_r4(FMSUB, 1, RNE, db(2.0), db(3.0), db(1.0)), db(5.0));
    CHECK_EQ(op_r4(FNMSUB, 1, RNE, db(2.0), db(3.0), db(1.0)), db(-5.0));
    CHECK_EQ(op_r4(FNMADD, 1, RNE, db(2.0), db(3.0), db(1.0)), db(-7.0));
    /* fnmadd is -(a*b) - c, so an exact zero is +0 (not -(a*b+c) = -0) */
    CHECK_EQ(op_r4(FNMADD, 0, RNE, one, one, box(0xbf800000)), box(0));
    CHECK_EQ(op_r4(FNMADD, 1, RNE, db(1.0), db(1.0), db(-1.0)), 0);
    CHECK_EQ(op_r4(FMSUB, 1, RDN, db(1.0), db(1.0), db(1.0)), 0x8000000000000000ull);
    /* single rounding: a*a - round(a*a) recovers the low product bits */
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(0x3f800001), box(0x3f800001), box(0xbf800002)),
             box(0x28800000)); /* 2^-46 */
    CHECK_FL(0);
    CHECK_EQ(op_r4(FMADD, 1, RNE, 0x3ff0000000000001ull, 0x3ff0000000000001ull,
                   0xbff0000000000002ull), db(0x1p-104));
    CHECK_FL(0);
    CHECK_EQ(op_r4(FMSUB, 1, RTZ, 0x3ff0000000000001ull, 0x3ff0000000000001ull,
                   0x3ff0000000000002ull), db(0x1p-104));
    /* inf * 0 is invalid, even with a quiet NaN addend */
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(0x7f800000), box(0), one), box(QS));
    CHECK_FL(NV);
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(0), box(0xff800000), box(QS)), box(QS));
    CHECK_FL(NV);
    CHECK_EQ(op_r4(FNMSUB, 1, RNE, db(INFINITY), 0, QD), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_r4(FMADD, 1, RMM, 0x8000000000000000ull, db(-INFINITY), QD), QD);
    CHECK_FL(NV);
    /* ...but a quiet NaN operand alone is not */
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(QS), box(0), one), box(QS));
    CHECK_FL(0);
    CHECK_EQ(op_r4(FMADD, 1, RNE, db(1.0), db(2.0), 0xfff8000000000123ull), QD);
    CHECK_FL(0);
    /* inf*x - inf */
    CHECK_EQ(op_r4(FMSUB, 1, RNE, db(INFINITY), db(2.0), db(INFINITY)), QD);
    CHECK_FL(NV);
    /* overflow */
    CHECK_EQ(op_r4(FMADD, 0, RNE, box(0x7f7fffff), two, one), box(0x7f800000));
    CHECK_FL(OF | NX);
}

static void div_sqrt(void)
{
    CHECK_EQ(op_s(FDIV_S, RNE, fb(1.0f), 0), 0x7f800000);
    CHECK_FL(DZ);
    CHECK_EQ(op_s(FDIV_S, RNE, fb(-1.0f), 0), 0xff800000);
    CHECK_FL(DZ);
    CHECK_EQ(op_d(FDIV_D, RTZ, db(1.0), 0x8000000000000000ull), db(-INFINITY));
    CHECK_FL(DZ);
    CHECK_EQ(op_d(FDIV_D, RNE, db(INFINITY), 0), db(INFINITY)); /* no DZ */
    CHECK_FL(0);
    CHECK_EQ(op_d(FDIV_D, RNE, db(1.0), db(3.0)), db(1.0 / 3.0));
    CHECK_FL(NX);
    CHECK_EQ(op_d(FDIV_D, RUP, db(1.0), db(3.0)), db(1.0 / 3.0) + 1);
    CHECK_EQ(op_d(FDIV_D, RTZ, db(1.0), db(3.0)), db(1.0 / 3.0));
    /* sqrt */
    CHECK_EQ(op_u(FSQRT_S, 0, RNE, box(fb(-1.0f))), box(QS));
    CHECK_FL(NV);
    CHECK_EQ(op_u(FSQRT_D, 0, RNE, db(-1e-310)), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_u(FSQRT_D, 0, RNE, db(-INFINITY)), QD);
    CHECK_FL(NV);
    CHECK_EQ(op_u(FSQRT_S, 0, RNE, box(0x80000000)), box(0x80000000)); /* sqrt(-0) = -0 */
    CHECK_FL(0);
    CHECK_EQ(op_u(FSQRT_S, 0, RNE, box(fb(4.0f))), box(fb(2.0f)));
    CHECK_FL(0);
    CHECK_EQ(op_u(FSQRT_S, 0, RNE, box(fb(2.0f))), box(0x3fb504f3));
    CHECK_FL(NX);
    CHECK_EQ(op_u(FSQRT_S, 0, RUP, box(fb(2.0f))), box(0x3fb504f4));
    CHECK_EQ(op_u(FSQRT_D, 0, RNE, db(INFINITY)), db(INFINITY));
    CHECK_FL(0);
    CHECK_EQ(op_u(FSQRT_D, 0, RNE, 1), db(0x1p-537));
    CHECK_FL(0);
    CHECK_EQ(op_u(FSQRT_D, 1, RNE, db(4.0)), 0x5555555555555555ull); /* rs2 != 0 */
    CHECK_EQ(g_rc, -1);
}

static void overflow_underflow(void)
{
    /* overflow: result depends on the rounding direction */
    CHECK_EQ(op_s(FMUL_S, RNE, 0x7f7fffff, fb(2.0f)), 0x7f800000);
    CHECK_FL(OF | NX);
    CHECK_EQ(op_s(FMUL_S, RTZ, 0x7f7fffff, fb(2.0f)), 0x7f7fffff);
    CHECK_FL(OF | NX);
    CHECK_EQ(op_s(FMUL_S, RDN, 0x7f7fffff, fb(2.0f)), 0x7f7fffff);
    CHECK_EQ(op_s(FMUL_S, RUP, 0x7f7fffff, fb(2.0f)), 0x7f800000);
    CHECK_EQ(op_s(FMUL_S, RUP, 0xff7fffff, fb(2.0f)), 0xff7fffff);
    CHECK_FL(OF | NX);
    CHECK_EQ(op_d(FADD_D, RNE, db(0x1.fffffffffffffp1023), db(0x1p971)), db(INFINITY));
    CHECK_FL(OF | NX);
    /* exact subnormal result: no flags at all */
    CHECK_EQ(op_s(FMUL_S, RNE, fb(0x1p-100f), fb(0x1p-30f)), 0x00080000);
    CHECK_FL(0);
    /* tiny and inexact */
    CHECK_EQ(op_s(FMUL_S, RNE, fb(0x1p-100f), fb(0x1p-50f)), 0);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_s(FMUL_S, RUP, fb(0x1p-100f), fb(0x1p-60f)), 1);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_d(FMUL_D, RNE, db(0x1p-600), db(0x1.8p-450)), 0x0000000001800000ull);
    CHECK_FL(0);
    CHECK_EQ(op_d(FMUL_D, RNE, db(0x1p-600), db(0x1.0000000000001p-460)), 0x0000000000004000ull);
    CHECK_FL(UF | NX);
    /* Tininess is detected AFTER rounding (as RISC-V requires):
     * (1-2^-24) * 2^-126 = 2^-126 - 2^-150 rounds to 2^-126 in the subnormal
     * grid, but with unbounded exponent it is 2^-126 - 2^-150 (< 2^-126):
     * tiny -> UF. */
    CHECK_EQ(op_s(FMUL_S, RNE, 0x3f7fffff, 0x00800000), 0x00800000);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_s(FMUL_S, RMM, 0x3f7fffff, 0x00800000), 0x00800000);
    CHECK_FL(UF | NX);
    /* 18631*2^-75 * 1801*2^-76 = 2^-126 - 2^-151 rounds (unbounded) to
     * 2^-126: not tiny -> only NX. */
    {
        uint32_t a = fb(ldexpf(18631.0f, -75)), b = fb(ldexpf(1801.0f, -76));
        CHECK_EQ(op_s(FMUL_S, RNE, a, b), 0x00800000);
        CHECK_FL(NX);
        CHECK_EQ(op_s(FMUL_S, RMM, a, b), 0x00800000);
        CHECK_FL(NX);
        CHECK_EQ(op_s(FMUL_S, RTZ, a, b), 0x007fffff);
        CHECK_FL(UF | NX);
    }
    /* doubles: (1-2^-53)*2^-1022 tiny; (2^18-1)(2^36+2^18+1)*2^-1076 not */
    CHECK_EQ(op_d(FMUL_D, RNE, db(0x1.fffffffffffffp-1), db(0x1p-1022)), 0x0010000000000000ull);
    CHECK_FL(UF | NX);
    CHECK_EQ(op_d(FMUL_D, RMM, db(0x1.fffffffffffffp-1), db(0x1p-1022)), 0x0010000000000000ull);
    CHECK_FL(UF | NX);
    {
        uint64_t a = db(ldexp(262143.0, -538)), b = db(ldexp(68719738881.0, -538));
        CHECK_EQ(op_d(FMUL_D, RNE, a, b), 0x0010000000000000ull);
        CHECK_FL(NX);
        CHECK_EQ(op_d(FMUL_D, RMM, a, b), 0x0010000000000000ull);
        CHECK_FL(NX);
    }
}

static void cvt_s_d(void)
{
    const uint32_t S = 1; /* rs2 = D source */
    /* 1 + 2^-24: a tie for single */
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(1.0 + 0x1p-24)), box(0x3f800000));
    CHECK_FL(NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RMM, db(1.0 + 0x1p-24)), box(0x3f800001));
    CHECK_FL(NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RUP, db(1.0 + 0x1p-40)), box(0x3f800001));
    CHECK_EQ(op_u(FCVT_S_D, S, RMM, db(1.0 + 0x1p-24 - 0x1p-50)), box(0x3f800000));
    CHECK_EQ(op_u(FCVT_S_D, S, RDN, db(-1.0 - 0x1p-40)), box(0xbf800001));
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0.1)), box(fb(0.1f)));
    CHECK_FL(NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0.5)), box(0x3f000000));
    CHECK_FL(0);
    /* overflow */
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(1e300)), box(0x7f800000));
    CHECK_FL(OF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RTZ, db(1e300)), box(0x7f7fffff));
    CHECK_FL(OF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RDN, db(-1e300)), box(0xff800000));
    CHECK_EQ(op_u(FCVT_S_D, S, RUP, db(-1e300)), box(0xff7fffff));
    CHECK_EQ(op_u(FCVT_S_D, S, RMM, db(-1e300)), box(0xff800000));
    CHECK_FL(OF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RTZ, db(0x1p128)), box(0x7f7fffff)); /* just past max */
    CHECK_FL(OF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(-0x1p128)), box(0xff800000));
    CHECK_FL(OF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0x1.fffffep127)), box(0x7f7fffff)); /* max: exact */
    CHECK_FL(0);
    CHECK_EQ(op_u(FCVT_S_D, S, RUP, db(0x1p-126)), box(0x00800000)); /* min normal: exact */
    CHECK_FL(0);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(-INFINITY)), box(0xff800000));
    CHECK_FL(0);
    /* underflow */
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(1e-50)), box(0));
    CHECK_FL(UF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RUP, db(1e-50)), box(1));
    CHECK_FL(UF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RMM, db(0x1p-150)), box(1)); /* tie with 0 */
    CHECK_FL(UF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0x1p-150)), box(0));
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0x1p-149)), box(1)); /* exact subnormal */
    CHECK_FL(0);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0x1p-126 - 0x1p-150)), box(0x00800000));
    CHECK_FL(UF | NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RNE, db(0x1p-126 - 0x1p-151)), box(0x00800000));
    CHECK_FL(NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RMM, db(0x1p-126 - 0x1p-151)), box(0x00800000));
    CHECK_FL(NX);
    CHECK_EQ(op_u(FCVT_S_D, S, RMM, db(0x1p-126 - 0x1p-150)), box(0x00800000));
    CHECK_FL(UF | NX);
    /* fcvt.d.s: exact, subnormals normalised */
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(fb(0.1f))), db((double)0.1f));
    CHECK_FL(0);
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0x00000001)), db(0x1p-149));
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0x807fffff)), db(-0x1.fffffcp-127));
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0x80000000)), 0x8000000000000000ull);
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0xff800000)), db(-INFINITY));
    CHECK_EQ(op_u(FCVT_D_S, 0, RNE, box(0x7f7fffff)), db(0x1.fffffep127));
    CHECK_FL(0);
}

static void fmv_moves(void)
{
    CHECK_EQ(op_x(FMVX_S, 0, box(0x80000000), 0), 0xffffffff80000000ull);
    CHECK_EQ(op_x(FMVX_S, 0, box(0x7f800000), 0), 0x7f800000);
    /* fmv.x.w moves the low bits, boxed or not */
    CHECK_EQ(op_x(FMVX_S, 0, 0x00000000c0000000ull, 0), 0xffffffffc0000000ull);
    CHECK_EQ(op_x(FMVX_S, 0, box(0x7f800001), 0), 0x7f800001);
    CHECK_FL(0);
    CHECK_EQ(op_x(FMVX_D, 0, 0xfedcba9876543210ull, 0), 0xfedcba9876543210ull);
    CHECK_EQ(cvt_f(FMVF_S, 0, 0, 0xabcdef0180000001ull), box(0x80000001));
    CHECK_EQ(cvt_f(FMVF_D, 0, 0, 0x7ff0000000000001ull), 0x7ff0000000000001ull);
    CHECK_FL(0);
    /* fsgnj family */
    CHECK_EQ(op_s(FSGNJ_S, 0, fb(1.5f), fb(-2.0f)), fb(-1.5f));
    CHECK_EQ(op_s(FSGNJ_S, 1, fb(1.5f), fb(-2.0f)), fb(1.5f));
    CHECK_EQ(op_s(FSGNJ_S, 1, fb(1.5f), fb(2.0f)), fb(-1.5f));
    CHECK_EQ(op_s(FSGNJ_S, 2, fb(-1.5f), fb(-2.0f)), fb(1.5f));
    CHECK_EQ(op_s(FSGNJ_S, 2, fb(-1.5f), fb(2.0f)), fb(-1.5f));
    CHECK_EQ(op_d(FSGNJ_D, 0, db(1.5), db(-0.0)), db(-1.5));
    CHECK_EQ(op_d(FSGNJ_D, 1, db(-1.5), db(-0.0)), db(1.5));
    CHECK_EQ(op_d(FSGNJ_D, 2, db(-1.5), db(-3.0)), db(1.5));
}

static void x0_never_written(void)
{
    struct rv_hart *h = new_hart();
    h->f[1] = box(fb(1.0f));
    h->f[2] = box(fb(1.0f));
    h->x[1] = 0x4000; /* for int->fp */
    const uint32_t insns[] = {
        rtype(FCMP_S, 2, 1, 2, 0),         /* feq -> 1 */
        rtype(FCMP_S, 2, 1, 0, 0),         /* fle -> 1 */
        rtype(FMVX_S, 0, 1, 0, 0),         /* fmv.x.w */
        rtype(FMVX_D, 0, 1, 0, 0),         /* fmv.x.d */
        rtype(FMVX_S, 0, 1, 1, 0),         /* fclass */
        rtype(FCVT_I_S, CVT_W, 1, RNE, 0), /* fcvt.w.s -> 1 */
        rtype(FCVT_I_D, CVT_LU, 1, RNE, 0),
    };
    for (unsigned i = 0; i < sizeof insns / sizeof insns[0]; i++) {
        CHECK_EQ(rv_fpu_exec(h, insns[i]), 0);
        CHECK_EQ(h->x[0], 0);
    }
    /* flags still accrue when rd = x0 */
    h->f[1] = box(QS);
    CHECK_EQ(rv_fpu_exec(h, rtype(FCVT_I_S, CVT_W, 1, RNE, 0)), 0);
    CHECK_EQ(h->x[0], 0);
    CHECK(h->fcsr & NV);
    /* f0 is an ordinary register */
    CHECK_EQ(rv_fpu_exec(h, rtype(FMVF_D, 0, 1, 0, 0)), 0);
    CHECK_EQ(h->f[0], 0x4000);
    free(h);
}

static void fs_dirty_and_flag_accrual(void)
{
    const uint64_t fs_init = 1ull << RV_MSTATUS_FS_SHIFT;
    struct rv_hart *h = new_hart();
    h->f[1] = box(fb(1.0f));
    h->f[2] = box(fb(2.0f));
    CHECK_EQ(h->mstatus, fs_init);
    CHECK_EQ(rv_fpu_exec(h, rtype(FADD_S, 2, 1, RNE, 3)), 0);
    CHECK_EQ(h->mstatus & RV_MSTATUS_FS_MASK, RV_MSTATUS_FS_MASK);
    CHECK(h->mstatus & RV_MSTATUS_SD);
    /* moves and conversions into f registers dirty FS too */
    const uint32_t w[] = {
        rtype(FMVF_S, 0, 1, 0, 3), rtype(FSGNJ_D, 2, 1, 0, 3), rtype(FCVT_D_I, CVT_L, 1, RNE, 3),
        rtype(FMINMAX_S, 2, 1, 0, 3), rtype(FCVT_D_S, 0, 1, RNE, 3), r4(FMADD, 0, 2, 2, 1, RNE, 3),
    };
    for (unsigned i = 0; i < sizeof w / sizeof w[0]; i++) {
        h->mstatus = fs_init;
        CHECK_EQ(rv_fpu_exec(h, w[i]), 0);
        CHECK_EQ(h->mstatus, fs_init | RV_MSTATUS_FS_MASK | RV_MSTATUS_SD);
    }
    /* flags accrue: existing bits and frm are kept */
    h->fcsr = (RTZ << 5) | NX;
    h->f[2] = box(0);
    CHECK_EQ(rv_fpu_exec(h, rtype(FDIV_S, 2, 1, DYN, 3)), 0);
    CHECK_EQ(h->fcsr, (RTZ << 5) | NX | DZ);
    CHECK_EQ(h->f[3], box(0x7f800000));
    /* a flag-raising integer-result instruction dirties FS (fflags changed) */
    h->mstatus = fs_init;
    h->f[1] = box(QS);
    CHECK_EQ(rv_fpu_exec(h, rtype(FCMP_S, 2, 1, 1, 5)), 0);
    CHECK_EQ(h->mstatus & RV_MSTATUS_FS_MASK, RV_MSTATUS_FS_MASK);
    CHECK(h->fcsr & NV);
    free(h);
}

static void illegal_encodings(void)
{
    struct rv_hart *h = new_hart();
    h->f[1] = box(fb(1.0f));
    h->f[2] = box(fb(2.0f));
    h->f[3] = 0x777;
    h->x[5] = 0x777;
    const uint32_t bad[] = {
        rtype(0x02, 2, 1, RNE, 3),           /* fadd.h (fmt H) */
        rtype(0x03, 2, 1, RNE, 3),           /* fadd.q */
        r4(FMADD, 2, 2, 2, 1, RNE, 3),       /* fmadd.h */
        r4(FNMADD, 3, 2, 2, 1, RNE, 3),      /* fnmadd.q */
        rtype(FSGNJ_S, 2, 1, 3, 3),          /* fsgnj funct3 3 */
        rtype(FSGNJ_D, 2, 1, 7, 3),
        rtype(FMINMAX_S, 2, 1, 2, 3),        /* fmin funct3 2 */
        rtype(FCMP_D, 2, 1, 3, 5),           /* fcmp funct3 3 */
        rtype(FCVT_I_S, 4, 1, RNE, 5),       /* fcvt.?.s rs2 4 */
        rtype(FCVT_S_I, 5, 1, RNE, 3),
        rtype(FCVT_S_D, 0, 1, RNE, 3),       /* fcvt.s.s */
        rtype(FCVT_S_D, 3, 1, RNE, 3),       /* fcvt.s.q */
        rtype(FCVT_D_S, 1, 1, RNE, 3),       /* fcvt.d.d */
        rtype(FCVT_D_S, 2, 1, RNE, 3),       /* fcvt.d.h */
        rtype(FSQRT_S, 1, 1, RNE, 3),        /* fsqrt with rs2 != 0 */
        rtype(FMVX_S, 1, 1, 0, 5),           /* fmv.x.w rs2 != 0 */
        rtype(FMVX_D, 0, 1, 2, 5),           /* funct3 2 */
        rtype(FMVF_S, 0, 1, 1, 3),           /* fmv.w.x funct3 != 0 */
        rtype(FMVF_D, 1, 1, 0, 3),
        rtype(0x18, 2, 1, RNE, 3),           /* funct5 00110 */
        rtype(0x30, 2, 1, RNE, 3),           /* funct5 01100 */
        rtype(0x7c, 2, 1, RNE, 3),           /* funct5 11111 */
        0x00000013,                          /* addi: not an FP opcode */
        0x00000007,                          /* flw: not computational */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h->mstatus = 1ull << RV_MSTATUS_FS_SHIFT;
        h->fcsr = 0;
        if (rv_fpu_exec(h, bad[i]) != -1) {
            printf("  not rejected: %08x\n", bad[i]);
            CHECK(0);
        }
        CHECK_EQ(h->f[3], 0x777);
        CHECK_EQ(h->x[5], 0x777);
        CHECK_EQ(h->fcsr, 0);
        CHECK_EQ(h->mstatus, 1ull << RV_MSTATUS_FS_SHIFT);
    }
    free(h);
}

/* The host's rounding mode is left as it was, and the guest's rounding mode
 * (not the host's) applies. */
static void host_env_preserved(void)
{
    int old = fegetround();
    CHECK_EQ(fesetround(FE_UPWARD), 0);
    feclearexcept(FE_ALL_EXCEPT);
    /* RNE tie: host rounding up must not leak in */
    CHECK_EQ(op_s(FADD_S, RNE, 0x3f800000, fb(0x1p-24f)), 0x3f800000);
    CHECK_EQ(fegetround(), FE_UPWARD);
    CHECK_EQ(op_s(FADD_S, RMM, 0xbf800000, fb(-0x1p-24f)), 0xbf800001);
    CHECK_EQ(fegetround(), FE_UPWARD);
    CHECK_EQ(op_r4(FMADD, 1, RDN, db(1.0), db(0x1p-60), db(1.0)), db(1.0));
    CHECK_EQ(fegetround(), FE_UPWARD);
    CHECK_EQ(cvt_f(FCVT_S_I, CVT_L, RTZ, ~0ull >> 1), box(0x5effffff));
    CHECK_EQ(op_u(FCVT_S_D, 1, RMM, db(1.0 + 0x1p-24)), box(0x3f800001));
    CHECK_EQ(fegetround(), FE_UPWARD);
    {
        volatile float a = 1.0f, b = 0x1p-24f;
        float r = a + b;
        CHECK_EQ(fb(r), 0x3f800001); /* host still rounds up */
    }
    fesetround(old);
    CHECK_EQ(fegetround(), old);
}

/* Results of the fast path agree with the host's own RNE arithmetic. */
static void random_rne_matches_host(void)
{
    int bad = 0;
    for (int i = 0; i < 20000 && !bad; i++) {
        uint64_t a = ((uint64_t)rnd32() << 32 | rnd32()) & 0x3fffffffffffffffull;
        uint64_t b = ((uint64_t)rnd32() << 32 | rnd32()) & 0x3fffffffffffffffull;
        a |= (uint64_t)(rnd32() & 1) << 63;
        b += 0x0010000000000000ull; /* avoid zero divisor */
        volatile double va, vb;
        memcpy((void *)&va, &a, 8);
        memcpy((void *)&vb, &b, 8);
        double sum = va + vb, prod = va * vb, quot = va / vb;
        bad |= op_d(FADD_D, RNE, a, b) != db(sum);
        bad |= op_d(FMUL_D, RNE, a, b) != db(prod);
        bad |= op_d(FDIV_D, RNE, a, b) != db(quot);
        bad |= op_d(FMUL_D, DYN, a, b) != db(prod); /* frm = 0 */
    }
    CHECK(!bad);
}

/* The same cases with NX already set in fflags (quick paths). */
static void canonical_nans_nx(void)
{
    g_pre = NX;
    canonical_nans();
    g_pre = 0;
}
static void snan_raises_nv_nx(void)
{
    g_pre = NX;
    snan_raises_nv();
    g_pre = 0;
}
static void add_ties_all_modes_nx(void)
{
    g_pre = NX;
    add_ties_all_modes();
    g_pre = 0;
}
static void rmm_other_ops_nx(void)
{
    g_pre = NX;
    rmm_other_ops();
    g_pre = 0;
}
static void rmm_random_model_nx(void)
{
    g_pre = NX;
    rmm_random_model();
    g_pre = 0;
}
static void fused_nx(void)
{
    g_pre = NX;
    fused();
    g_pre = 0;
}
static void div_sqrt_nx(void)
{
    g_pre = NX;
    div_sqrt();
    g_pre = 0;
}
static void overflow_underflow_nx(void)
{
    g_pre = NX;
    overflow_underflow();
    g_pre = 0;
}
static void cvt_s_d_nx(void)
{
    g_pre = NX;
    cvt_s_d();
    g_pre = 0;
}
static void int_to_fp_nx(void)
{
    g_pre = NX;
    int_to_fp();
    g_pre = 0;
}
static void min_max_nx(void)
{
    g_pre = NX;
    min_max();
    g_pre = 0;
}
static void cvt_saturation_nx(void)
{
    g_pre = NX;
    cvt_saturation();
    g_pre = 0;
}
static void host_env_preserved_nx(void)
{
    g_pre = NX;
    host_env_preserved();
    g_pre = 0;
}
static void random_rne_matches_host_nx(void)
{
    g_pre = NX;
    random_rne_matches_host();
    g_pre = 0;
}

int main(void)
{
    RUN(nan_boxing);
    RUN(canonical_nans);
    RUN(snan_raises_nv);
    RUN(compare_ordinary);
    RUN(cvt_rounding_modes);
    RUN(add_ties_all_modes);
    RUN(rmm_other_ops);
    RUN(rmm_random_model);
    RUN(dynamic_rm);
    RUN(cvt_saturation);
    RUN(int_to_fp);
    RUN(min_max);
    RUN(classify);
    RUN(fused);
    RUN(div_sqrt);
    RUN(overflow_underflow);
    RUN(cvt_s_d);
    RUN(fmv_moves);
    RUN(x0_never_written);
    RUN(fs_dirty_and_flag_accrual);
    RUN(illegal_encodings);
    RUN(host_env_preserved);
    RUN(random_rne_matches_host);
    RUN(canonical_nans_nx);
    RUN(snan_raises_nv_nx);
    RUN(add_ties_all_modes_nx);
    RUN(rmm_other_ops_nx);
    RUN(rmm_random_model_nx);
    RUN(fused_nx);
    RUN(div_sqrt_nx);
    RUN(overflow_underflow_nx);
    RUN(cvt_s_d_nx);
    RUN(int_to_fp_nx);
    RUN(min_max_nx);
    RUN(cvt_saturation_nx);
    RUN(host_env_preserved_nx);
    RUN(random_rne_matches_host_nx);
    T_EXIT();
}

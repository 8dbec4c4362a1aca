/* RISC-V F and D computational instructions (RV64): OP-FP and the fused
 * multiply-adds, per the unprivileged spec's F and D chapters.
 *
 * How results are computed:
 *  - add/sub/mul/div/sqrt/fma, int->fp and fcvt.s.d under RNE/RTZ/RDN/RUP
 *    run on the host FPU with its rounding mode set to the guest's and its
 *    exception flags cleared, then read back (x86-64: MXCSR directly; other
 *    hosts: <fenv.h>). The host state is restored afterwards. Operands and
 *    results pass through empty asm (or volatile) "launders" so the compiler
 *    can neither constant-fold nor move the arithmetic out of the bracket.
 *    Every NaN result is replaced by the canonical NaN.
 *  - Quick paths that skip the environment switch: conversions that are
 *    exact (same result in every mode, no flags); and, on x86-64, guest RNE
 *    with NX already accrued in fflags and the host MXCSR in its default
 *    state, where a finite result that cannot be tiny can only have raised
 *    NX (the idea of QEMU's "hardfloat"). Anything else takes the full path.
 *  - RMM (round to nearest, ties to max magnitude) is not a host mode. The
 *    operation is done in long double (>= 64-bit significand, much wider
 *    exponent range, so no intermediate over/underflow) with RTZ, giving y
 *    = x truncated to >= p+2 bits (exact for the single-precision product
 *    and any int source). Every midpoint between two results is a long
 *    double, so y >= midpoint iff x >= midpoint (in magnitude): RMM(x) is
 *    RNE(y), except when y is exactly a midpoint, detected by
 *    2y == lo + hi, which rounds away from zero. Flags for RMM are computed
 *    explicitly (NX, OF, and UF with tininess after rounding, which is the
 *    same threshold under RNE and RMM). sqrt can never tie, so it uses RNE.
 *  - fp->int conversions, comparisons, min/max, sign injection, classify,
 *    moves and fcvt.d.s are done on the bit patterns in software.
 * No global mutable state: fenv/MXCSR are per host thread. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "riscv/hart.h"

#ifdef __clang__
#pragma STDC FENV_ACCESS ON
#endif

_Static_assert(LDBL_MANT_DIG >= 55, "RMM emulation needs long double with >= 55-bit significand");

enum { FL_NX = 1, FL_UF = 2, FL_OF = 4, FL_DZ = 8, FL_NV = 16 };
enum { RM_RNE = 0, RM_RTZ = 1, RM_RDN = 2, RM_RUP = 3, RM_RMM = 4 };
enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_FMA };

#define QNAN_S 0x7fc00000u
#define QNAN_D 0x7ff8000000000000ull
#define BOX_S 0xffffffff00000000ull
#define SIGN_S 0x80000000u
#define SIGN_D 0x8000000000000000ull

/* ---- bit helpers ------------------------------------------------------- */
static inline uint32_t unbox(uint64_t v)
{
    return (v >> 32) == 0xffffffffu ? (uint32_t)v : QNAN_S;
}
static inline float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline uint32_t u_of_f(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline double d_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}
static inline uint64_t u_of_d(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}
static inline bool isnan_s(uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }
static inline bool isnan_d(uint64_t u) { return (u & ~SIGN_D) > 0x7ff0000000000000ull; }
static inline bool issnan_s(uint32_t u) { return isnan_s(u) && !(u & 0x00400000u); }
static inline bool issnan_d(uint64_t u) { return isnan_d(u) && !(u & 0x0008000000000000ull); }
/* Exact single -> double on bits (non-NaN input). */
static uint64_t s_to_d_bits(uint32_t u)
{
    uint64_t sign = (uint64_t)(u >> 31) << 63;
    uint32_t e = (u >> 23) & 0xff, m = u & 0x7fffff;
    if (e == 0xff)
        return sign | 0x7ff0000000000000ull;
    if (e == 0) {
        if (m == 0)
            return sign;
        /* subnormal: normalise */
        int sh = __builtin_clz(m) - 8; /* bring the top bit to bit 23 */
        m <<= sh;
        m &= 0x7fffff;
        return sign | ((uint64_t)(1023 - 126 - sh) << 52) | ((uint64_t)m << 29);
    }
    return sign | ((uint64_t)(e - 127 + 1023) << 52) | ((uint64_t)m << 29);
}

/* ---- host floating-point environment ----------------------------------- */
#if defined(__x86_64__) && !defined(DISCO_FPU_FENV_ONLY) /* the latter: test the portable path */
#define HAVE_MXCSR 1
struct mxenv {
    uint32_t old;
};
static inline void mx_begin(struct mxenv *e, int rm)
{
    /* MXCSR.RC: 00 nearest, 01 down, 10 up, 11 toward zero. */
    static const uint32_t rc[4] = {0x0000, 0x6000, 0x2000, 0x4000};
    uint32_t old, nw;
    __asm__ volatile("stmxcsr %0" : "=m"(old));
    e->old = old;
    /* flags clear, all exceptions masked, no DAZ/FTZ */
    nw = (old & ~0xffffu) | 0x1f80u | rc[rm];
    if (nw != old)
        __asm__ volatile("ldmxcsr %0" : : "m"(nw));
}
static inline uint32_t mx_end(struct mxenv *e)
{
    uint32_t cur;
    __asm__ volatile("stmxcsr %0" : "=m"(cur));
    if (cur != e->old)
        __asm__ volatile("ldmxcsr %0" : : "m"(e->old));
    /* IE(0)->NV, ZE(2)->DZ, OE(3)->OF, UE(4)->UF, PE(5)->NX; DE(1) ignored */
    return ((cur & 1) << 4) | (((cur >> 2) & 1) << 3) | (((cur >> 3) & 1) << 2) |
           (((cur >> 4) & 1) << 1) | ((cur >> 5) & 1);
}
/* The host is in its default state (RNE, exceptions masked, no DAZ/FTZ):
 * ordinary C arithmetic then rounds like the guest's RNE. */
static inline bool mx_is_default(void)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return (m & 0xffc0u) == 0x1f80u;
}
#define LAUNDER_F(v) __asm__ volatile("" : "+x"(v))
#define LAUNDER_I(v) __asm__ volatile("" : "+r"(v))

__attribute__((target("fma"))) static float hw_fmaf(float a, float b, float c)
{
    return __builtin_fmaf(a, b, c);
}
__attribute__((target("fma"))) static double hw_fma(double a, double b, double c)
{
    return __builtin_fma(a, b, c);
}
static inline bool have_hw_fma(void) { return __builtin_cpu_supports("fma"); }
#endif

/* Portable: fenv.h. Volatile copies keep the arithmetic inside. */
#define LAUNDER_V(v)                                                             \
    do {                                                                         \
        volatile __typeof__(v) lv_ = (v);                                        \
        (v) = lv_;                                                               \
    } while (0)

static const int host_rm[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};

struct feenv {
    fenv_t saved;
};
static inline void fe_begin(struct feenv *e, int host_mode)
{
    fegetenv(&e->saved);
    fesetround(host_mode);
    feclearexcept(FE_ALL_EXCEPT);
}
static inline uint32_t fe_flags(void)
{
    int x = fetestexcept(FE_ALL_EXCEPT);
    return (x & FE_INVALID ? FL_NV : 0) | (x & FE_DIVBYZERO ? FL_DZ : 0) |
           (x & FE_OVERFLOW ? FL_OF : 0) | (x & FE_UNDERFLOW ? FL_UF : 0) |
           (x & FE_INEXACT ? FL_NX : 0);
}
static inline void fe_end(struct feenv *e) { fesetenv(&e->saved); }

/* ---- RMM support ------------------------------------------------------- */
/* Round a finite nonzero long double y to single/double with RMM, computing
 * flags. y is either the exact value x, or (inexact1 set) x truncated to
 * long double precision. Truncation is enough: every boundary that matters
 * (a rounding midpoint, the tininess threshold) has at most p+1 <= 54
 * significant bits, so it is a long double, and trunc(x) is on the same
 * side of it as x, or on it exactly when x is on it or just above it (in
 * magnitude) -- and for RMM "on" and "just above" both round away.
 * Must run with the host in round-to-nearest. */
static float rmm_round_s(long double y, bool inexact1, uint32_t *fl)
{
    volatile long double vy = y;
    float r = (float)vy;
    LAUNDER_V(r);
    bool inexact = inexact1 || (long double)r != y;
    if (isinf(r)) {
        *fl |= FL_OF | FL_NX;
        return r;
    }
    if (inexact && fabsl((long double)r) < fabsl(y)) {
        float n = f_of(u_of_f(r) + 1); /* next away from zero (r finite) */
        if ((long double)r + (long double)n == 2 * y)
            r = n;
    }
    if (inexact) {
        *fl |= FL_NX;
        /* tiny after rounding <=> |y| < 2^-126 - 2^-151 (same for RNE/RMM) */
        if (fabsl(y) < ldexpl(1, -126) - ldexpl(1, -151))
            *fl |= FL_UF;
    }
    return r;
}
static double rmm_round_d(long double y, bool inexact1, uint32_t *fl)
{
    volatile long double vy = y;
    double r = (double)vy;
    LAUNDER_V(r);
    bool inexact = inexact1 || (long double)r != y;
    if (isinf(r)) {
        *fl |= FL_OF | FL_NX;
        return r;
    }
    if (inexact && fabsl((long double)r) < fabsl(y)) {
        double n = d_of(u_of_d(r) + 1);
        if ((long double)r + (long double)n == 2 * y)
            r = n;
    }
    if (inexact) {
        *fl |= FL_NX;
        if (fabsl(y) < ldexpl(1, -1022) - ldexpl(1, -1076))
            *fl |= FL_UF;
    }
    return r;
}

/* op on non-NaN long double inputs under RTZ. Returns the value; *inexact,
 * *fl (NV/DZ) set. Runs inside an fe_begin bracket. */
static long double rmm_core(int op, long double a, long double b, long double c,
                            bool *inexact, uint32_t *fl)
{
    fesetround(FE_TOWARDZERO);
    feclearexcept(FE_ALL_EXCEPT);
    LAUNDER_V(a);
    LAUNDER_V(b);
    LAUNDER_V(c);
    long double y;
    switch (op) {
    case OP_ADD: y = a + b; break;
    case OP_SUB: y = a - b; break;
    case OP_MUL: y = a * b; break;
    case OP_DIV: y = a / b; break;
    default: y = fmal(a, b, c); break;
    }
    LAUNDER_V(y);
    uint32_t f = fe_flags();
    fesetround(FE_TONEAREST);
    *fl |= f & (FL_NV | FL_DZ);
    *inexact = (f & FL_NX) != 0;
    return y;
}

/* ---- arithmetic ---------------------------------------------------------- */
#define ARITH_BODY(T, LAUNDER, FMA, SQRT)                                        \
    do {                                                                         \
        LAUNDER(a);                                                              \
        LAUNDER(b);                                                              \
        LAUNDER(c);                                                              \
        switch (op) {                                                            \
        case OP_ADD: r = a + b; break;                                           \
        case OP_SUB: r = a - b; break;                                           \
        case OP_MUL: r = a * b; break;                                           \
        case OP_DIV: r = a / b; break;                                           \
        case OP_SQRT: r = SQRT(a); break;                                        \
        default: r = FMA(a, b, c); break;                                        \
        }                                                                        \
        LAUNDER(r);                                                              \
    } while (0)

/* Result bits (canonical NaN) and flags. a,b,c are the (unboxed) inputs. */
static uint32_t arith_s(int op, int rm, uint32_t ua, uint32_t ub, uint32_t uc, bool nx_set,
                        uint32_t *fl)
{
    float a = f_of(ua), b = f_of(ub), c = f_of(uc), r;
    (void)nx_set;
    if (op == OP_SQRT && (ua & SIGN_S) && (ua & 0x7fffffffu) && !isnan_s(ua)) {
        *fl |= FL_NV; /* sqrt of a negative number */
        return QNAN_S;
    }
    if (isnan_s(ua) || isnan_s(ub) || isnan_s(uc) || op == OP_SQRT)
        if (rm == RM_RMM)
            rm = RM_RNE; /* rounding is irrelevant for NaNs; sqrt never ties */
#ifdef HAVE_MXCSR
    /* Quick path (like QEMU's "hardfloat"): guest in RNE with NX already
     * accrued, host in its default state. A finite result that cannot be
     * tiny can then only have raised NX, so no flags need to be read. Sums
     * and differences are exact whenever they are tiny. */
    if (rm == RM_RNE && nx_set && mx_is_default() && (op != OP_FMA || have_hw_fma())) {
        switch (op) {
        case OP_ADD: r = a + b; break;
        case OP_SUB: r = a - b; break;
        case OP_MUL: r = a * b; break;
        case OP_DIV: r = a / b; break;
        case OP_SQRT: r = __builtin_sqrtf(a); break;
        default: r = hw_fmaf(a, b, c); break;
        }
        uint32_t m = u_of_f(r) & 0x7fffffffu;
        if (m < 0x7f800000u && (op <= OP_SUB || m > 0x00800000u))
            return u_of_f(r);
    }
#endif
    if (rm == RM_RMM) {
        struct feenv e;
        bool inx;
        fe_begin(&e, FE_TONEAREST);
        long double y = rmm_core(op, a, b, c, &inx, fl);
        uint32_t res;
        if (isnan(y))
            res = QNAN_S;
        else if (isinf(y) || y == 0)
            res = u_of_f((float)y);
        else
            res = u_of_f(rmm_round_s(y, inx, fl));
        fe_end(&e);
        return res;
    }
#ifdef HAVE_MXCSR
    if (op != OP_FMA || have_hw_fma()) {
        struct mxenv e;
        mx_begin(&e, rm);
        ARITH_BODY(float, LAUNDER_F, hw_fmaf, __builtin_sqrtf);
        *fl |= mx_end(&e);
    } else
#endif
    {
        struct feenv e;
        fe_begin(&e, host_rm[rm]);
        ARITH_BODY(float, LAUNDER_V, fmaf, sqrtf);
        *fl |= fe_flags();
        fe_end(&e);
    }
    uint32_t ur = u_of_f(r);
    if (isnan_s(ur)) {
        ur = QNAN_S;
        /* inf*0 + qNaN is invalid too */
        if (op == OP_FMA && (((ua & 0x7fffffffu) == 0x7f800000u && (ub & 0x7fffffffu) == 0) ||
                             ((ub & 0x7fffffffu) == 0x7f800000u && (ua & 0x7fffffffu) == 0)))
            *fl |= FL_NV;
    }
    return ur;
}

static uint64_t arith_d(int op, int rm, uint64_t ua, uint64_t ub, uint64_t uc, bool nx_set,
                        uint32_t *fl)
{
    double a = d_of(ua), b = d_of(ub), c = d_of(uc), r;
    (void)nx_set;
    if (op == OP_SQRT && (ua & SIGN_D) && (ua & ~SIGN_D) && !isnan_d(ua)) {
        *fl |= FL_NV;
        return QNAN_D;
    }
    if (isnan_d(ua) || isnan_d(ub) || isnan_d(uc) || op == OP_SQRT)
        if (rm == RM_RMM)
            rm = RM_RNE;
#ifdef HAVE_MXCSR
    if (rm == RM_RNE && nx_set && mx_is_default() && (op != OP_FMA || have_hw_fma())) {
        switch (op) {
        case OP_ADD: r = a + b; break;
        case OP_SUB: r = a - b; break;
        case OP_MUL: r = a * b; break;
        case OP_DIV: r = a / b; break;
        case OP_SQRT: r = __builtin_sqrt(a); break;
        default: r = hw_fma(a, b, c); break;
        }
        uint64_t m = u_of_d(r) & ~SIGN_D;
        if (m < 0x7ff0000000000000ull && (op <= OP_SUB || m > 0x0010000000000000ull))
            return u_of_d(r);
    }
#endif
    if (rm == RM_RMM) {
        struct feenv e;
        bool inx;
        fe_begin(&e, FE_TONEAREST);
        long double y = rmm_core(op, a, b, c, &inx, fl);
        uint64_t res;
        if (isnan(y))
            res = QNAN_D;
        else if (isinf(y) || y == 0)
            res = u_of_d((double)y);
        else
            res = u_of_d(rmm_round_d(y, inx, fl));
        fe_end(&e);
        return res;
    }
#ifdef HAVE_MXCSR
    if (op != OP_FMA || have_hw_fma()) {
        struct mxenv e;
        mx_begin(&e, rm);
        ARITH_BODY(double, LAUNDER_F, hw_fma, __builtin_sqrt);
        *fl |= mx_end(&e);
    } else
#endif
    {
        struct feenv e;
        fe_begin(&e, host_rm[rm]);
        ARITH_BODY(double, LAUNDER_V, fma, sqrt);
        *fl |= fe_flags();
        fe_end(&e);
    }
    uint64_t ur = u_of_d(r);
    if (isnan_d(ur)) {
        ur = QNAN_D;
        if (op == OP_FMA && (((ua & ~SIGN_D) == 0x7ff0000000000000ull && (ub & ~SIGN_D) == 0) ||
                             ((ub & ~SIGN_D) == 0x7ff0000000000000ull && (ua & ~SIGN_D) == 0)))
            *fl |= FL_NV;
    }
    return ur;
}

/* ---- conversions --------------------------------------------------------- */
/* double bits (any, incl. NaN) -> integer of kind 0=W 1=WU 2=L 3=LU, with
 * rounding, saturation and flags. W/WU results are sign-extended. */
static uint64_t cvt_f2i(uint64_t v, int rm, unsigned kind, uint32_t *fl)
{
    bool sign = v >> 63;
    int e = (int)((v >> 52) & 0x7ff);
    uint64_t m = v & ((1ull << 52) - 1);
    bool is_signed = !(kind & 1), w64 = (kind & 2) != 0;
    bool big = false, inexact = false;
    uint64_t ip = 0, res;

    if (e == 0x7ff) {
        big = true;
        if (m)
            sign = false; /* NaN -> largest positive */
    } else {
        if (e)
            m |= 1ull << 52;
        else
            e = 1;
        int sh = 1075 - e;
        if (sh <= 0) {
            if (sh < -11)
                big = true;
            else
                ip = m << -sh;
        } else {
            bool rb, st;
            if (sh > 54) {
                ip = 0;
                rb = false;
                st = m != 0;
            } else {
                ip = m >> sh;
                rb = (m >> (sh - 1)) & 1;
                st = (m & ((1ull << (sh - 1)) - 1)) != 0;
            }
            inexact = rb || st;
            bool inc;
            switch (rm) {
            case RM_RNE: inc = rb && (st || (ip & 1)); break;
            case RM_RTZ: inc = false; break;
            case RM_RDN: inc = sign && inexact; break;
            case RM_RUP: inc = !sign && inexact; break;
            default: inc = rb; break; /* RMM */
            }
            ip += inc;
        }
        if (!big) {
            if (is_signed) {
                uint64_t lim = w64 ? 1ull << 63 : 1ull << 31;
                big = sign ? ip > lim : ip > lim - 1;
            } else if (sign) {
                big = ip != 0;
            } else if (!w64) {
                big = ip > 0xffffffffull;
            }
        }
    }
    if (big) {
        *fl |= FL_NV;
        if (is_signed)
            res = sign ? (w64 ? SIGN_D : 0xffffffff80000000ull)
                       : (w64 ? ~SIGN_D : 0x7fffffffull);
        else
            res = sign ? 0 : ~0ull;
    } else {
        if (inexact)
            *fl |= FL_NX;
        res = sign ? (uint64_t)0 - ip : ip;
    }
    if (!w64)
        res = (uint64_t)(int64_t)(int32_t)(uint32_t)res;
    return res;
}

/* integer (kind 0=W 1=WU 2=L 3=LU) -> single/double */
#define I2F_BODY(T, LAUNDER)                                                     \
    do {                                                                         \
        LAUNDER_I(x);                                                            \
        switch (kind) {                                                          \
        case 0: r = (T)(int32_t)x; break;                                        \
        case 1: r = (T)(uint32_t)x; break;                                       \
        case 2: r = (T)(int64_t)x; break;                                        \
        default: r = (T)x; break;                                                \
        }                                                                        \
        LAUNDER(r);                                                              \
    } while (0)

static long double int_as_ld(uint64_t x, unsigned kind)
{
    switch (kind) {
    case 0: return (long double)(int32_t)x;
    case 1: return (long double)(uint32_t)x;
    case 2: return (long double)(int64_t)x;
    default: return (long double)x;
    }
}

#ifndef HAVE_MXCSR
#undef LAUNDER_I
#define LAUNDER_I(v) LAUNDER_V(v)
#endif

/* Conversion of an integer of this kind to a format with `prec` significand
 * bits is exact (so: same in every mode, no flags). */
static inline bool i2f_exact(uint64_t x, unsigned kind, int prec)
{
    uint64_t mag;
    switch (kind) {
    case 0: mag = (uint64_t)(uint32_t)x; mag = (mag >> 31) ? (uint32_t)-(uint32_t)mag : mag; break;
    case 1: mag = (uint32_t)x; break;
    case 2: mag = (x >> 63) ? (uint64_t)0 - x : x; break;
    default: mag = x; break;
    }
    return mag == 0 || 64 - __builtin_clzll(mag) - __builtin_ctzll(mag) <= prec;
}

static uint32_t i2f_s(uint64_t x, unsigned kind, int rm, bool nx_set, uint32_t *fl)
{
    float r;
    (void)nx_set;
    if (i2f_exact(x, kind, 24)
#ifdef HAVE_MXCSR
        || (rm == RM_RNE && nx_set && mx_is_default())
#endif
    ) {
        /* exact (any mode), or RNE where only NX (already set) is possible:
         * an integer source can neither overflow nor underflow */
        switch (kind) {
        case 0: r = (float)(int32_t)x; break;
        case 1: r = (float)(uint32_t)x; break;
        case 2: r = (float)(int64_t)x; break;
        default: r = (float)x; break;
        }
        return u_of_f(r);
    }
    if (rm == RM_RMM) {
        struct feenv e;
        fe_begin(&e, FE_TONEAREST);
        long double y = int_as_ld(x, kind); /* exact */
        r = y == 0 ? 0.0f : rmm_round_s(y, false, fl);
        fe_end(&e);
        return u_of_f(r);
    }
#ifdef HAVE_MXCSR
    struct mxenv e;
    mx_begin(&e, rm);
    I2F_BODY(float, LAUNDER_F);
    *fl |= mx_end(&e);
#else
    struct feenv e;
    fe_begin(&e, host_rm[rm]);
    I2F_BODY(float, LAUNDER_V);
    *fl |= fe_flags();
    fe_end(&e);
#endif
    return u_of_f(r);
}

static uint64_t i2f_d(uint64_t x, unsigned kind, int rm, bool nx_set, uint32_t *fl)
{
    double r;
    (void)nx_set;
    if (kind < 2 || i2f_exact(x, kind, 53)
#ifdef HAVE_MXCSR
        || (rm == RM_RNE && nx_set && mx_is_default())
#endif
    ) {
        switch (kind) {
        case 0: r = (double)(int32_t)x; break;
        case 1: r = (double)(uint32_t)x; break;
        case 2: r = (double)(int64_t)x; break;
        default: r = (double)x; break;
        }
        return u_of_d(r);
    }
    if (rm == RM_RMM) {
        struct feenv e;
        fe_begin(&e, FE_TONEAREST);
        long double y = int_as_ld(x, kind);
        r = y == 0 ? 0.0 : rmm_round_d(y, false, fl);
        fe_end(&e);
        return u_of_d(r);
    }
#ifdef HAVE_MXCSR
    struct mxenv e;
    mx_begin(&e, rm);
    I2F_BODY(double, LAUNDER_F);
    *fl |= mx_end(&e);
#else
    struct feenv e;
    fe_begin(&e, host_rm[rm]);
    I2F_BODY(double, LAUNDER_V);
    *fl |= fe_flags();
    fe_end(&e);
#endif
    return u_of_d(r);
}

/* fcvt.s.d */
static uint32_t d2s(uint64_t u, int rm, bool nx_set, uint32_t *fl)
{
    if (isnan_d(u)) {
        if (issnan_d(u))
            *fl |= FL_NV;
        return QNAN_S;
    }
    /* exact: zero, infinity, or a normal single (done on the bits) */
    uint32_t sign = (uint32_t)(u >> 32) & SIGN_S;
    uint64_t ex = (u >> 52) & 0x7ff;
    if ((u & ~SIGN_D) == 0)
        return sign;
    if (ex == 0x7ff)
        return sign | 0x7f800000u;
    if (ex >= 1023 - 126 && ex <= 1023 + 127 && (u & 0x1fffffffu) == 0)
        return sign | (uint32_t)(ex - 1023 + 127) << 23 | (uint32_t)((u >> 29) & 0x7fffff);
    double d = d_of(u);
    float r;
    (void)nx_set;
#ifdef HAVE_MXCSR
    if (rm == RM_RNE && nx_set && mx_is_default()) {
        r = (float)d;
        uint32_t m = u_of_f(r) & 0x7fffffffu;
        if (m > 0x00800000u && m < 0x7f800000u)
            return u_of_f(r);
    }
#endif
    if (rm == RM_RMM) {
        struct feenv e;
        fe_begin(&e, FE_TONEAREST);
        long double y = d;
        r = (y == 0 || isinf(y)) ? (float)d : rmm_round_s(y, false, fl);
        fe_end(&e);
        return u_of_f(r);
    }
#ifdef HAVE_MXCSR
    struct mxenv e;
    mx_begin(&e, rm);
    LAUNDER_F(d);
    r = (float)d;
    LAUNDER_F(r);
    *fl |= mx_end(&e);
#else
    struct feenv e;
    fe_begin(&e, host_rm[rm]);
    LAUNDER_V(d);
    r = (float)d;
    LAUNDER_V(r);
    *fl |= fe_flags();
    fe_end(&e);
#endif
    return u_of_f(r);
}

/* ---- compare, min/max, classify --------------------------------------- */
/* Map IEEE bits to an unsigned key ordered like the values (-0 < +0). */
static inline uint64_t okey_d(uint64_t u) { return (u & SIGN_D) ? ~u : u | SIGN_D; }

/* a, b as double bits (non-NaN); -1/0/1 with -0 == +0 */
static inline int cmp_d(uint64_t a, uint64_t b)
{
    if (((a | b) & ~SIGN_D) == 0)
        return 0;
    uint64_t ka = okey_d(a), kb = okey_d(b);
    return ka < kb ? -1 : ka > kb;
}

static unsigned fclass_parts(bool sign, bool exp_max, bool exp_zero, bool mant_zero, bool quiet)
{
    if (exp_max) {
        if (mant_zero)
            return sign ? 1u << 0 : 1u << 7;
        return quiet ? 1u << 9 : 1u << 8;
    }
    if (exp_zero) {
        if (mant_zero)
            return sign ? 1u << 3 : 1u << 4;
        return sign ? 1u << 2 : 1u << 5;
    }
    return sign ? 1u << 1 : 1u << 6;
}
static unsigned fclass_s(uint32_t u)
{
    uint32_t e = (u >> 23) & 0xff, m = u & 0x7fffff;
    return fclass_parts(u >> 31, e == 0xff, e == 0, m == 0, (m >> 22) & 1);
}
static unsigned fclass_d(uint64_t u)
{
    uint64_t e = (u >> 52) & 0x7ff, m = u & ((1ull << 52) - 1);
    return fclass_parts(u >> 63, e == 0x7ff, e == 0, m == 0, (m >> 51) & 1);
}

/* ---- decode ---------------------------------------------------------------- */
static inline int resolve_rm(const struct rv_hart *h, unsigned rm)
{
    if (rm == 7)
        rm = (h->fcsr >> 5) & 7;
    return rm <= RM_RMM ? (int)rm : -1;
}

static inline void set_x(struct rv_hart *h, unsigned rd, uint64_t v)
{
    if (rd)
        h->x[rd] = v;
}
static inline void set_fs(struct rv_hart *h, unsigned rd, uint32_t v)
{
    h->f[rd] = BOX_S | v;
    rv_fs_set_dirty(h);
}
static inline void set_fd(struct rv_hart *h, unsigned rd, uint64_t v)
{
    h->f[rd] = v;
    rv_fs_set_dirty(h);
}

int rv_fpu_exec(struct rv_hart *h, uint32_t insn)
{
    unsigned opc = insn & 0x7f, rd = (insn >> 7) & 31, f3 = (insn >> 12) & 7;
    unsigned rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    unsigned fmt = (insn >> 25) & 3, f5 = insn >> 27;
    bool dbl = fmt == 1, nx = h->fcsr & FL_NX;
    uint32_t fl = 0;
    int rm;

    if (fmt > 1)
        return -1; /* H and Q are not supported */

    if (opc != 0x53) {
        /* FMADD 0x43, FMSUB 0x47, FNMSUB 0x4b, FNMADD 0x4f */
        if ((opc & 0x73) != 0x43)
            return -1;
        if ((rm = resolve_rm(h, f3)) < 0)
            return -1;
        unsigned kind = (opc >> 2) & 3;
        bool neg_prod = kind >= 2, neg_add = kind == 1 || kind == 3;
        if (dbl) {
            uint64_t a = h->f[rs1], b = h->f[rs2], c = h->f[f5];
            a ^= neg_prod ? SIGN_D : 0;
            c ^= neg_add ? SIGN_D : 0;
            set_fd(h, rd, arith_d(OP_FMA, rm, a, b, c, nx, &fl));
        } else {
            uint32_t a = unbox(h->f[rs1]), b = unbox(h->f[rs2]), c = unbox(h->f[f5]);
            a ^= neg_prod ? SIGN_S : 0;
            c ^= neg_add ? SIGN_S : 0;
            set_fs(h, rd, arith_s(OP_FMA, rm, a, b, c, nx, &fl));
        }
        goto flags;
    }

    switch (f5) {
    case 0x00: /* fadd */
    case 0x01: /* fsub */
    case 0x02: /* fmul */
    case 0x03: /* fdiv */
    case 0x0b: /* fsqrt */
    {
        int op = f5 == 0x0b ? OP_SQRT : (int)f5;
        if (op == OP_SQRT && rs2 != 0)
            return -1;
        if ((rm = resolve_rm(h, f3)) < 0)
            return -1;
        if (dbl)
            set_fd(h, rd, arith_d(op, rm, h->f[rs1], h->f[rs2], 0, nx, &fl));
        else
            set_fs(h, rd, arith_s(op, rm, unbox(h->f[rs1]), unbox(h->f[rs2]), 0, nx, &fl));
        break;
    }
    case 0x04: /* fsgnj, fsgnjn, fsgnjx */
        if (f3 > 2)
            return -1;
        if (dbl) {
            uint64_t a = h->f[rs1], b = h->f[rs2];
            uint64_t s = f3 == 0 ? b : f3 == 1 ? ~b : a ^ b;
            set_fd(h, rd, (a & ~SIGN_D) | (s & SIGN_D));
        } else {
            uint32_t a = unbox(h->f[rs1]), b = unbox(h->f[rs2]);
            uint32_t s = f3 == 0 ? b : f3 == 1 ? ~b : a ^ b;
            set_fs(h, rd, (a & ~SIGN_S) | (s & SIGN_S));
        }
        break;
    case 0x05: /* fmin, fmax */
    {
        if (f3 > 1)
            return -1;
        uint64_t a, b, qa, qb; /* qa/qb: double bits for ordering */
        bool na, nb;
        if (dbl) {
            a = qa = h->f[rs1];
            b = qb = h->f[rs2];
            na = isnan_d(a);
            nb = isnan_d(b);
            if (issnan_d(a) || issnan_d(b))
                fl |= FL_NV;
        } else {
            a = unbox(h->f[rs1]);
            b = unbox(h->f[rs2]);
            na = isnan_s((uint32_t)a);
            nb = isnan_s((uint32_t)b);
            if (issnan_s((uint32_t)a) || issnan_s((uint32_t)b))
                fl |= FL_NV;
            qa = na ? 0 : s_to_d_bits((uint32_t)a);
            qb = nb ? 0 : s_to_d_bits((uint32_t)b);
        }
        uint64_t r;
        if (na && nb)
            r = dbl ? QNAN_D : QNAN_S;
        else if (na)
            r = b;
        else if (nb)
            r = a;
        else {
            bool a_lt = okey_d(qa) < okey_d(qb); /* total order: -0 < +0 */
            r = (f3 == 0) == a_lt ? a : b;
        }
        if (dbl)
            set_fd(h, rd, r);
        else
            set_fs(h, rd, (uint32_t)r);
        break;
    }
    case 0x08: /* fcvt.s.d (fmt S, rs2 1), fcvt.d.s (fmt D, rs2 0) */
        if (rs2 != (dbl ? 0u : 1u))
            return -1;
        if ((rm = resolve_rm(h, f3)) < 0)
            return -1;
        if (dbl) {
            uint32_t a = unbox(h->f[rs1]);
            if (isnan_s(a)) {
                if (issnan_s(a))
                    fl |= FL_NV;
                set_fd(h, rd, QNAN_D);
            } else {
                set_fd(h, rd, s_to_d_bits(a));
            }
        } else {
            set_fs(h, rd, d2s(h->f[rs1], rm, nx, &fl));
        }
        break;
    case 0x14: /* fle, flt, feq */
    {
        if (f3 > 2)
            return -1;
        uint64_t a, b;
        bool na, nb, sn;
        if (dbl) {
            a = h->f[rs1];
            b = h->f[rs2];
            na = isnan_d(a);
            nb = isnan_d(b);
            sn = issnan_d(a) || issnan_d(b);
        } else {
            uint32_t sa = unbox(h->f[rs1]), sb = unbox(h->f[rs2]);
            na = isnan_s(sa);
            nb = isnan_s(sb);
            sn = issnan_s(sa) || issnan_s(sb);
            a = na ? 0 : s_to_d_bits(sa);
            b = nb ? 0 : s_to_d_bits(sb);
        }
        uint64_t res = 0;
        if (na || nb) {
            if (f3 != 2 || sn)
                fl |= FL_NV; /* flt/fle signal on any NaN, feq on sNaN */
        } else {
            int c = cmp_d(a, b);
            res = f3 == 2 ? c == 0 : f3 == 1 ? c < 0 : c <= 0;
        }
        set_x(h, rd, res);
        break;
    }
    case 0x18: /* fcvt.{w,wu,l,lu}.{s,d} */
    {
        if (rs2 > 3)
            return -1;
        if ((rm = resolve_rm(h, f3)) < 0)
            return -1;
        uint64_t v;
        if (dbl) {
            v = h->f[rs1];
        } else {
            uint32_t a = unbox(h->f[rs1]);
            v = isnan_s(a) ? QNAN_D : s_to_d_bits(a);
        }
        set_x(h, rd, cvt_f2i(v, rm, rs2, &fl));
        break;
    }
    case 0x1a: /* fcvt.{s,d}.{w,wu,l,lu} */
        if (rs2 > 3)
            return -1;
        if ((rm = resolve_rm(h, f3)) < 0)
            return -1;
        if (dbl)
            set_fd(h, rd, i2f_d(h->x[rs1], rs2, rm, nx, &fl));
        else
            set_fs(h, rd, i2f_s(h->x[rs1], rs2, rm, nx, &fl));
        break;
    case 0x1c: /* fmv.x.w / fmv.x.d (f3 0), fclass (f3 1) */
        if (rs2 != 0 || f3 > 1)
            return -1;
        if (f3 == 0)
            set_x(h, rd, dbl ? h->f[rs1] : (uint64_t)(int64_t)(int32_t)(uint32_t)h->f[rs1]);
        else
            set_x(h, rd, dbl ? fclass_d(h->f[rs1]) : fclass_s(unbox(h->f[rs1])));
        break;
    case 0x1e: /* fmv.w.x / fmv.d.x */
        if (rs2 != 0 || f3 != 0)
            return -1;
        if (dbl)
            set_fd(h, rd, h->x[rs1]);
        else
            set_fs(h, rd, (uint32_t)h->x[rs1]);
        break;
    default:
        return -1;
    }

flags:
    if (fl) {
        h->fcsr |= fl;
        rv_fs_set_dirty(h);
    }
    return 0;
}

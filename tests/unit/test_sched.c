/* The vCPU scheduler: tiny bare-metal guests (hand-assembled into a virt
 * board's RAM) run on a worker pool; checks credit weights, caps, idle cost,
 * wake-up latency (interrupt, timer, cross-thread IPI), pausing, and remote
 * fences across threads (including two harts fencing each other through
 * the built-in SBI).
 *
 * Fairness and cap figures are the scheduler's own thread-CPU-time
 * accounting over a wall-clock window; idle cost is the process's CPU
 * time. Every wait is bounded. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "machine/board.h"
#include "machine/sbi.h"
#include "t.h"
#include "vmm/sched.h"

/* ---- a tiny assembler --------------------------------------------------------- */

enum { ZERO = 0, RA = 1, T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9, A0 = 10, A1, A2, A3, A4, A5,
       A6, A7, T3 = 28, T4, T5 };

#define U32(x) ((uint32_t)(x))
#define enc_i(op, rd, f3, rs1, imm)                                                    \
    ((U32(imm) & 0xfff) << 20 | U32(rs1) << 15 | U32(f3) << 12 | U32(rd) << 7 | U32(op))
#define enc_s(f3, rs1, rs2, imm)                                                       \
    (((U32(imm) >> 5) & 0x7f) << 25 | U32(rs2) << 20 | U32(rs1) << 15 | U32(f3) << 12 | \
     (U32(imm) & 0x1f) << 7 | 0x23)
#define enc_j(rd, off)                                                                 \
    (((U32(off) >> 20) & 1) << 31 | ((U32(off) >> 1) & 0x3ff) << 21 |                  \
     ((U32(off) >> 11) & 1) << 20 | ((U32(off) >> 12) & 0xff) << 12 | U32(rd) << 7 | 0x6f)
#define enc_b(f3, rs1, rs2, off)                                                       \
    (((U32(off) >> 12) & 1) << 31 | ((U32(off) >> 5) & 0x3f) << 25 | U32(rs2) << 20 |  \
     U32(rs1) << 15 | U32(f3) << 12 | ((U32(off) >> 1) & 0xf) << 8 |                   \
     ((U32(off) >> 11) & 1) << 7 | 0x63)
#define ADDI(rd, rs1, imm) enc_i(0x13, rd, 0, rs1, imm)
#define ANDI(rd, rs1, imm) enc_i(0x13, rd, 7, rs1, imm)
#define SLLI(rd, rs1, sh) enc_i(0x13, rd, 1, rs1, sh)
#define ADD(rd, rs1, rs2) (U32(rs2) << 20 | U32(rs1) << 15 | U32(rd) << 7 | 0x33)
#define JAL(rd, off) enc_j(rd, off)
#define JALR(rd, rs1, imm) enc_i(0x67, rd, 0, rs1, imm)
#define BNE(rs1, rs2, off) enc_b(1, rs1, rs2, off)
#define LD(rd, rs1, imm) enc_i(0x03, rd, 3, rs1, imm)
#define BEQ(rs1, rs2, off) enc_b(0, rs1, rs2, off)
#define CSRS(csr, rs1) enc_i(0x73, 0, 2, rs1, csr)
#define SD(rs2, rs1, imm) enc_s(3, rs1, rs2, imm)
#define SW(rs2, rs1, imm) enc_s(2, rs1, rs2, imm)
#define SB(rs2, rs1, imm) enc_s(0, rs1, rs2, imm)
#define LUI(rd, imm) ((U32(imm) & 0xfffff000u) | U32(rd) << 7 | 0x37)
#define JMP(off) enc_j(0, off)
#define WFI 0x10500073u
#define ECALL 0x00000073u
#define CSR_MIE 0x304

#define RAM 0x80000000ull
#define UART 0x10000000ull
#define CLINT_MSIP(i) (0x2000000ull + 4 * (i))
#define CLINT_MTIMECMP(i) (0x2004000ull + 8 * (i))

/* a0 = &counter: count forever. */
static const uint32_t p_count[] = {
    ADDI(T0, T0, 1),
    SD(T0, A0, 0),
    JMP(-8),
};

/* Enable MTIE and wait in WFI forever (the timer is set far away). */
static const uint32_t p_idle[] = {
    ADDI(T0, ZERO, 0x80),
    CSRS(CSR_MIE, T0),
    WFI,
    JMP(-4),
};

/* Enable MSIE; on each wake-up: clear own msip (a2), print t2 (a1 = UART). */
static const uint32_t p_wake[] = {
    ADDI(T0, ZERO, 8),
    CSRS(CSR_MIE, T0),
    WFI,                /* 0x08 */
    SW(ZERO, A2, 0),
    SB(T2, A1, 0),
    JMP(-12),
};

/* Enable MTIE; on each timer: print t2, push mtimecmp (a3) to the far future. */
static const uint32_t p_timer[] = {
    ADDI(T0, ZERO, 0x80),
    CSRS(CSR_MIE, T0),
    WFI,                /* 0x08 */
    SB(T2, A1, 0),
    ADDI(T3, ZERO, -1),
    SD(T3, A3, 0),
    JMP(-16),
};

/* Wait for a go flag at a5, send one IPI to hart 1 (a2 = its msip), then
 * sleep forever. */
static const uint32_t p_ipi[] = {
    LD(T0, A5, 0),
    BEQ(T0, ZERO, -4),
    ADDI(T0, ZERO, 1),
    SW(T0, A2, 0),
    WFI,
    JMP(-4),
};

/* S-mode, built-in SBI: remote sfence.vma on hart a4's mask, forever,
 * counting the calls at s1. */
static const uint32_t p_fence[] = {
    LUI(S0, 0x52465000),          /* RFENCE = 0x52464E43 */
    ADDI(S0, S0, -0x1bd),
    ADDI(A7, S0, 0),              /* 0x08 loop: a7 = RFENCE */
    ADDI(A6, ZERO, 1),            /* remote_sfence_vma */
    ADDI(A0, A4, 0),              /* hart mask */
    ADDI(A1, ZERO, 0),            /* base 0 */
    ADDI(A2, ZERO, 0),
    ADDI(A3, ZERO, -1),
    ECALL,
    ADDI(T0, T0, 1),
    SD(T0, S1, 0),
    JMP(-36),
};

/* Forever: store to a5 (a page whose write slow path shoots the VM down,
 * see shoot_bus), store to a4 (an MMIO register that does the same), count
 * at a0. */
static const uint32_t p_shoot[] = {
    SD(T0, A5, 0),
    SD(T0, A4, 0),
    ADDI(T0, T0, 1),
    SD(T0, A0, 0),
    JMP(-16),
};

/* Code on three pages, checking its own results (for trimming). Page 0:
 * enable MSIE and MTIE; loop: call page 1 (sum 1..50) and page 2 (check
 * the sum: rounds at a0, errors at a0 + 8), clear own msip (a2), set
 * mtimecmp (a3) to *a4 + ((rounds & 7) << 12) ticks (a4: the CLINT's mtime,
 * or a far-away value in RAM), WFI. */
static const uint32_t p_trim0[] = {
    ADDI(T0, ZERO, 0x88),
    CSRS(CSR_MIE, T0),
    JAL(RA, 0x1000 - 0x08),   /* 0x08 loop */
    JAL(RA, 0x2000 - 0x0c),
    SW(ZERO, A2, 0),
    LD(T4, A0, 0),
    ANDI(T4, T4, 7),
    SLLI(T4, T4, 12),
    LD(T5, A4, 0),
    ADD(T5, T5, T4),
    SD(T5, A3, 0),
    WFI,
    JMP(0x08 - 0x30),
};
static const uint32_t p_trim1[] = {
    ADDI(T1, ZERO, 0),
    ADDI(T2, ZERO, 0),
    ADDI(T1, T1, 1),          /* 0x08 */
    ADD(T2, T2, T1),
    ADDI(T3, ZERO, 50),
    BNE(T1, T3, -12),
    JALR(ZERO, RA, 0),
};
static const uint32_t p_trim2[] = {
    ADDI(T3, ZERO, 1275),
    BEQ(T2, T3, 16),
    LD(T4, A0, 8),            /* wrong sum: errors++ */
    ADDI(T4, T4, 1),
    SD(T4, A0, 8),
    LD(T4, A0, 0),            /* 0x14: rounds++ */
    ADDI(T4, T4, 1),
    SD(T4, A0, 0),
    JALR(ZERO, RA, 0),
};

/* ---- test machines -------------------------------------------------------------- */

struct tvm {
    struct board *b;
    struct sched_vm *sv;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    unsigned chars;             /* console bytes seen */
    uint64_t last_char_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t proc_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void tvm_out(void *ctx, const uint8_t *buf, size_t len)
{
    struct tvm *t = ctx;
    (void)buf;
    pthread_mutex_lock(&t->lock);
    t->chars += (unsigned)len;
    t->last_char_ns = mono_ns();
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->lock);
}

static void tvm_wake(void *ctx, unsigned hart)
{
    struct tvm *t = ctx;
    if (t->sv)
        sched_wake(t->sv, hart);
}

static void tvm_fence_wait(void *ctx, unsigned self, uint64_t mask, int bits)
{
    struct tvm *t = ctx;
    if (t->sv)
        sched_fence_wait(t->sv, self, mask, bits);
}

/* A board with `n` harts, every hart in M-mode at RAM running `prog`
 * (a0 = per-hart counter address RAM + 0x10000 + 64 * i). */
static struct tvm *tvm_new(unsigned n, const uint32_t *prog, size_t words)
{
    struct tvm *t = calloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    struct board_config cfg = {
        .nharts = n,
        .ram_size = 16ull << 20,
        .console_out = tvm_out,
        .console_ctx = t,
        .wake = tvm_wake,
        .wake_ctx = t,
        .fence_wait = tvm_fence_wait,
    };
    struct disco_err err;
    err_clear(&err);
    t->b = board_new(&cfg, &err);
    if (!t->b) {
        printf("board_new: %s\n", err.msg);
        free(t);
        return NULL;
    }
    pmap_write(board_pmap(t->b), RAM, prog, words * 4);
    for (unsigned i = 0; i < n; i++) {
        struct rv_hart *h = board_hart(t->b, i);
        rv_hart_reset(h, RAM);
        h->x[A0] = RAM + 0x10000 + 64 * i;
        h->x[A1] = UART;
        h->x[A2] = CLINT_MSIP(i);
        h->x[A3] = CLINT_MTIMECMP(i);
        h->x[T2] = 'A' + i;
        board_set_hart_state(t->b, i, BOARD_HART_STARTED);
    }
    return t;
}

static int tvm_attach(struct tvm *t, struct sched *s, unsigned weight, unsigned cap)
{
    struct rv_hart *harts[BOARD_MAX_HARTS];
    unsigned n = board_nharts(t->b);
    for (unsigned i = 0; i < n; i++)
        harts[i] = board_hart(t->b, i);
    struct sched_vm_params p = {.harts = harts, .nharts = n, .weight = weight, .cap = cap};
    struct disco_err err;
    err_clear(&err);
    t->sv = sched_vm_add(s, &p, &err);
    if (!t->sv) {
        printf("sched_vm_add: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void tvm_free(struct tvm *t)
{
    if (!t)
        return;
    if (t->sv)
        sched_vm_remove(t->sv);
    t->sv = NULL;
    board_free(t->b);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static uint64_t counter(struct tvm *t, unsigned i)
{
    uint64_t v = 0;
    pmap_read(board_pmap(t->b), RAM + 0x10000 + 64 * i, &v, 8);
    return v;
}

static struct sched *mksched_trim_cfg(unsigned workers, uint64_t trim_after_ns,
                                     unsigned min_pages, uint64_t interval_ns)
{
    struct disco_err err;
    err_clear(&err);
    struct sched_config c = {.workers = workers, .trim_after_ns = trim_after_ns,
                             .trim_min_pages = min_pages, .trim_interval_ns = interval_ns};
    struct sched *s = sched_new(&c, &err);
    if (!s)
        printf("sched_new: %s\n", err.msg);
    return s;
}

static struct sched *mksched_trim(unsigned workers, uint64_t trim_after_ns)
{
    return mksched_trim_cfg(workers, trim_after_ns, 1, 1);
}

static struct sched *mksched(unsigned workers)
{
    return mksched_trim(workers, 0);
}

/* Wait (bounded) until vCPU i (every vCPU if i < 0) of t is in `state`. */
static bool wait_vcpu_state(struct tvm *t, int i, enum sched_vcpu_state state, uint64_t timeout_ns)
{
    uint64_t end = mono_ns() + timeout_ns;
    for (;;) {
        bool all = true;
        for (unsigned k = 0; k < board_nharts(t->b); k++) {
            if (i >= 0 && k != (unsigned)i)
                continue;
            struct sched_vcpu_stats st;
            sched_vcpu_stats(t->sv, k, &st);
            all &= st.state == state;
        }
        if (all)
            return true;
        if (mono_ns() > end)
            return false;
        sleep_ns(1000000);
    }
}

static bool wait_state(struct tvm *t, enum sched_vcpu_state state, uint64_t timeout_ns)
{
    return wait_vcpu_state(t, -1, state, timeout_ns);
}

/* Wait (bounded) until the console has seen more than `chars` bytes. */
static bool wait_chars(struct tvm *t, unsigned chars, uint64_t timeout_ns)
{
    struct timespec ts;
    uint64_t end = mono_ns() + timeout_ns;
    ts.tv_sec = (time_t)(end / 1000000000u);
    ts.tv_nsec = (long)(end % 1000000000u);
    pthread_mutex_lock(&t->lock);
    while (t->chars <= chars)
        if (pthread_cond_timedwait(&t->cv, &t->lock, &ts) != 0)
            break;
    bool ok = t->chars > chars;
    pthread_mutex_unlock(&t->lock);
    return ok;
}

static unsigned chars_seen(struct tvm *t)
{
    pthread_mutex_lock(&t->lock);
    unsigned c = t->chars;
    pthread_mutex_unlock(&t->lock);
    return c;
}

/* ---- cases ------------------------------------------------------------------------ */

/* Two CPU-bound VMs with weights 1:2 on one worker get CPU 1:2 (+-10%). */
static void sched_weights(void)
{
    struct sched *s = mksched(1);
    struct tvm *a = tvm_new(1, p_count, 3), *b = tvm_new(1, p_count, 3);
    CHECK(s && a && b);
    if (!s || !a || !b)
        goto out;
    CHECK_EQ(tvm_attach(a, s, 256, 0), 0);
    CHECK_EQ(tvm_attach(b, s, 512, 0), 0);
    sched_vm_resume(a->sv);
    sched_vm_resume(b->sv);
    sleep_ns(300000000ull);   /* warm-up: first periods, calibration */
    struct sched_vm_stats sa0, sb0, sa, sb;
    sched_vm_stats(a->sv, &sa0);
    sched_vm_stats(b->sv, &sb0);
    sleep_ns(2500000000ull);
    sched_vm_stats(a->sv, &sa);
    sched_vm_stats(b->sv, &sb);
    uint64_t ca = sa.cpu_ns - sa0.cpu_ns, cb = sb.cpu_ns - sb0.cpu_ns;
    double ratio = (double)cb / (double)(ca ? ca : 1);
    printf("  weights 256:512 -> cpu %.3f s : %.3f s = 1 : %.3f\n", ca / 1e9, cb / 1e9, ratio);
    CHECK(ratio >= 1.8 && ratio <= 2.2);
    CHECK(counter(a, 0) > 0 && counter(b, 0) > 0);
out:
    tvm_free(a);
    tvm_free(b);
    sched_free(s);
}

/* A CPU-bound VM capped at 30% of a host CPU stays at or below 33%, even
 * with the CPU otherwise free. */
static void sched_cap(void)
{
    struct sched *s = mksched(1);
    struct tvm *a = tvm_new(1, p_count, 3);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    CHECK_EQ(tvm_attach(a, s, 0, 30), 0);
    uint64_t t0 = mono_ns();
    sched_vm_resume(a->sv);
    sleep_ns(2000000000ull);
    struct sched_vm_stats st;
    sched_vm_stats(a->sv, &st);
    uint64_t wall = mono_ns() - t0;
    double share = (double)st.cpu_ns / (double)wall;
    printf("  cap 30%% -> %.1f%% of a host CPU (%llu parks)\n", share * 100,
           (unsigned long long)st.parks);
    CHECK(share <= 0.33);
    CHECK(share >= 0.20);   /* and it did run */
    CHECK(st.parks > 0);
out:
    tvm_free(a);
    sched_free(s);
}

/* 8 vCPUs idle in WFI with a far timer cost (almost) no host CPU. */
static void sched_idle_cost(void)
{
    struct sched *s = mksched(2);
    struct tvm *a = tvm_new(8, p_idle, 4);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    uint64_t far = rv_clock_now(board_clock(a->b)) + 100ull * BOARD_TIMEBASE_HZ;
    for (unsigned i = 0; i < 8; i++)
        atomic_store(&board_hart(a->b, i)->mtimecmp, far);
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));
    uint64_t c0 = proc_cpu_ns(), t0 = mono_ns();
    sleep_ns(1000000000ull);
    uint64_t cpu = proc_cpu_ns() - c0, wall = mono_ns() - t0;
    printf("  8 idle vCPUs -> %.2f%% of a host CPU\n", 100.0 * (double)cpu / (double)wall);
    CHECK(cpu * 20 < wall);   /* < 5% */
    CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 0));
out:
    tvm_free(a);
    sched_free(s);
}

/* A sleeping vCPU wakes on rv_hart_set_irq + sched_wake, promptly. */
static void sched_wake_irq(void)
{
    struct sched *s = mksched(2);
    struct tvm *a = tvm_new(1, p_wake, 6);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    uint64_t worst = 0;
    for (int k = 0; k < 20; k++) {
        if (!wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull)) {
            CHECK(!"vCPU never went to sleep");
            break;
        }
        unsigned c = chars_seen(a);
        uint64_t t0 = mono_ns();
        rv_hart_set_irq(board_hart(a->b, 0), RV_MIP_MSIP, true);
        sched_wake(a->sv, 0);
        bool ok = wait_chars(a, c, 1000000000ull);
        CHECK(ok);
        if (!ok)
            break;
        uint64_t lat = a->last_char_ns - t0;
        worst = lat > worst ? lat : worst;
    }
    printf("  interrupt wake-up: worst %.3f ms over 20\n", worst / 1e6);
    CHECK(worst < 100000000ull);
    struct sched_vcpu_stats st;
    sched_vcpu_stats(a->sv, 0, &st);
    CHECK(st.wakeups >= 20);
out:
    tvm_free(a);
    sched_free(s);
}

/* A vCPU sleeping in WFI wakes at its timer deadline, not before, and not
 * much after; while it sleeps it uses no CPU. */
static void sched_wake_timer(void)
{
    struct sched *s = mksched(1);
    struct tvm *a = tvm_new(1, p_timer, 7);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    struct rv_clock *clk = board_clock(a->b);
    uint64_t t0 = mono_ns();
    atomic_store(&board_hart(a->b, 0)->mtimecmp,
                 rv_clock_now(clk) + BOARD_TIMEBASE_HZ / 20);   /* 50 ms */
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    bool ok = wait_chars(a, 0, 2000000000ull);
    CHECK(ok);
    if (ok) {
        uint64_t lat = a->last_char_ns - t0;
        printf("  timer 50 ms -> woke after %.3f ms\n", lat / 1e6);
        CHECK(lat >= 49000000ull);
        CHECK(lat < 150000000ull);
    }
    struct sched_vcpu_stats st;
    sched_vcpu_stats(a->sv, 0, &st);
    CHECK(st.cpu_ns < 20000000ull);
    CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));
out:
    tvm_free(a);
    sched_free(s);
}

/* Hart 0, running on one worker, writes hart 1's msip while hart 1 sleeps:
 * the board's wake hook puts hart 1 back on the other worker. */
static void sched_ipi(void)
{
    struct sched *s = mksched(2);
    struct tvm *a = tvm_new(2, p_wake, 6);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    pmap_write(board_pmap(a->b), RAM + 0x1000, p_ipi, sizeof p_ipi);
    struct rv_hart *h0 = board_hart(a->b, 0);
    rv_hart_reset(h0, RAM + 0x1000);
    h0->x[A2] = CLINT_MSIP(1);
    h0->x[A5] = RAM + 0x20000;   /* go flag */
    struct rv_hart *h1 = board_hart(a->b, 1);
    h1->x[A1] = UART;
    h1->x[A2] = CLINT_MSIP(1);
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    CHECK(wait_vcpu_state(a, 1, SCHED_VCPU_SLEEPING, 2000000000ull));
    CHECK(wait_vcpu_state(a, 0, SCHED_VCPU_RUNNING, 2000000000ull));
    CHECK_EQ(chars_seen(a), 0);
    uint64_t go = 1, t0 = mono_ns();
    pmap_write(board_pmap(a->b), RAM + 0x20000, &go, 8);
    bool ok = wait_chars(a, 0, 2000000000ull);
    CHECK(ok);
    if (ok)
        printf("  cross-thread IPI wake-up: %.3f ms\n", (a->last_char_ns - t0) / 1e6);
    struct sched_vcpu_stats st;
    sched_vcpu_stats(a->sv, 1, &st);
    CHECK(st.wakeups >= 1);
    CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));   /* both asleep again */
out:
    tvm_free(a);
    sched_free(s);
}

/* Pausing a VM leaves no worker in its harts: they make no progress until
 * resumed, and the board can be freed right after removal (ASan would see a
 * worker still in it). */
static void sched_pause_stops(void)
{
    struct sched *s = mksched(2);
    struct tvm *a = tvm_new(2, p_count, 3);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    for (int k = 0; k < 5; k++) {
        sched_vm_resume(a->sv);
        uint64_t c0 = counter(a, 0), c1 = counter(a, 1);
        uint64_t end = mono_ns() + 2000000000ull;
        while ((counter(a, 0) == c0 || counter(a, 1) == c1) && mono_ns() < end)
            sleep_ns(1000000);
        CHECK(counter(a, 0) != c0 && counter(a, 1) != c1);
        sched_vm_pause(a->sv);
        for (unsigned i = 0; i < 2; i++) {
            struct sched_vcpu_stats st;
            sched_vcpu_stats(a->sv, i, &st);
            CHECK_EQ(st.state, SCHED_VCPU_PAUSED);
        }
        c0 = counter(a, 0);
        c1 = counter(a, 1);
        sleep_ns(30000000);
        CHECK_EQ(counter(a, 0), c0);
        CHECK_EQ(counter(a, 1), c1);
    }
    sched_vm_resume(a->sv);
    sleep_ns(10000000);
    sched_vm_remove(a->sv);   /* pauses first */
    a->sv = NULL;
    uint64_t c0 = counter(a, 0);
    sleep_ns(20000000);
    CHECK_EQ(counter(a, 0), c0);
out:
    tvm_free(a);
    sched_free(s);
}

/* sched_fence_wait returns only once a running target served its
 * flush_request; a target that is not running counts as done at once. */
static void sched_fence_running(void)
{
    struct sched *s = mksched(1);
    struct tvm *a = tvm_new(1, p_count, 3);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    CHECK(wait_state(a, SCHED_VCPU_RUNNING, 2000000000ull));
    struct rv_hart *h = board_hart(a->b, 0);
    unsigned served = 0;
    for (int k = 0; k < 200; k++) {
        sleep_ns(500000);   /* leave the host CPU to the worker */
        rv_hart_flush_tlb(h);
        sched_fence_wait(a->sv, ~0u, 1, 1);
        served += !(atomic_load(&h->flush_request) & 1);
    }
    /* The lone vCPU is CPU-bound on the lone worker: it is inside
     * rv_hart_run nearly all the time (else it counts as done with the bit
     * still set: between two rv_hart_run calls, or if the host deschedules
     * the worker right there). Without the wait, the bit would still be set
     * almost every time. */
    printf("  fence wait: %u of 200 served while waiting\n", served);
    CHECK(served >= 150);   /* ~199 on a quiet host; margin for a busy one */
    sched_vm_pause(a->sv);
    rv_hart_flush_tlb(h);
    uint64_t t0 = mono_ns();
    sched_fence_wait(a->sv, ~0u, 1, 1);
    CHECK(mono_ns() - t0 < 10000000ull);   /* not running: no wait */
    CHECK(atomic_load(&h->flush_request) & 1);   /* served when it next runs */
out:
    tvm_free(a);
    sched_free(s);
}

/* Two S-mode harts on two workers fence each other through the built-in
 * SBI as fast as they can: no deadlock (each counts as done while the other
 * waits inside its own ecall), both make progress. */
static void sched_sbi_fences(void)
{
    struct sched *s = mksched(2);
    struct tvm *a = tvm_new(2, p_fence, 12);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    for (unsigned i = 0; i < 2; i++) {
        struct rv_hart *h = board_hart(a->b, i);
        rv_hart_reset(h, RAM);
        rv_hart_boot_supervisor(h, RAM, 0);
        h->x[A4] = 1ull << (1 - i);
        h->x[S1] = RAM + 0x10000 + 64 * i;
    }
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    /* Usually done in well under a second; the long bound is for ASan on a
     * busy host, where one hart can run far ahead of the other. */
    uint64_t end = mono_ns() + 20000000000ull;
    while ((counter(a, 0) < 20000 || counter(a, 1) < 20000) && mono_ns() < end)
        sleep_ns(2000000);
    printf("  mutual SBI fences: %llu and %llu calls\n", (unsigned long long)counter(a, 0),
           (unsigned long long)counter(a, 1));
    CHECK(counter(a, 0) >= 20000 && counter(a, 1) >= 20000);
out:
    tvm_free(a);
    sched_free(s);
}

/* A one-hart machine running p_trim*; a4 = CLINT mtime if `timer`, else a
 * RAM word far in the future (the vCPU sleeps until woken). */
static struct tvm *tvm_trim(bool timer)
{
    struct tvm *t = tvm_new(1, p_trim0, sizeof p_trim0 / 4);
    if (!t)
        return NULL;
    pmap_write(board_pmap(t->b), RAM + 0x1000, p_trim1, sizeof p_trim1);
    pmap_write(board_pmap(t->b), RAM + 0x2000, p_trim2, sizeof p_trim2);
    uint64_t far = 1ull << 62;
    pmap_write(board_pmap(t->b), RAM + 0x20000, &far, 8);
    board_hart(t->b, 0)->x[A4] = timer ? 0x200bff8ull : RAM + 0x20000;
    return t;
}

static uint64_t trims_of(struct tvm *t)
{
    struct sched_vcpu_stats st;
    sched_vcpu_stats(t->sv, 0, &st);
    return st.trims;
}

static bool wait_trims(struct tvm *t, uint64_t n, uint64_t timeout_ns)
{
    uint64_t end = mono_ns() + timeout_ns;
    while (trims_of(t) < n)
        if (mono_ns() > end)
            return false;
        else
            sleep_ns(1000000);
    return true;
}

static uint64_t rounds_of(struct tvm *t) { return counter(t, 0); }
static uint64_t errors_of(struct tvm *t)
{
    uint64_t v = 0;
    pmap_read(board_pmap(t->b), RAM + 0x10000 + 8, &v, 8);
    return v;
}

static bool wait_rounds(struct tvm *t, uint64_t n, uint64_t timeout_ns)
{
    uint64_t end = mono_ns() + timeout_ns;
    while (rounds_of(t) < n)
        if (mono_ns() > end)
            return false;
        else
            sleep_ns(1000000);
    return true;
}

/* A vCPU that ran code and then sleeps past the trim delay has its
 * decoded-code cache given back (once per sleep); woken, it decodes again
 * and runs on correctly. */
static void sched_trim_idle(void)
{
    struct sched *s = mksched_trim(2, 100000000ull);   /* 100 ms */
    struct tvm *a = tvm_trim(false);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    struct rv_hart *h = board_hart(a->b, 0);
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    /* (WFI may return early once at the start: count from the state seen) */
    CHECK(wait_rounds(a, 1, 2000000000ull));
    CHECK(wait_trims(a, 1, 5000000000ull));
    CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));
    uint64_t trims = trims_of(a), rounds = rounds_of(a);
    CHECK_EQ(rv_hart_decoded_pages(h), 0);
    for (int k = 0; k < 3; k++) {
        rv_hart_set_irq(h, RV_MIP_MSIP, true);
        sched_wake(a->sv, 0);
        CHECK(wait_rounds(a, rounds + 1, 2000000000ull));
        CHECK(wait_trims(a, trims + 1, 5000000000ull));
        CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));
        CHECK_EQ(rv_hart_decoded_pages(h), 0);
        trims = trims_of(a);
        rounds = rounds_of(a);
    }
    sleep_ns(300000000ull);   /* three more delays: a sleep is trimmed once */
    CHECK_EQ(trims_of(a), trims);
    CHECK_EQ(rounds_of(a), rounds);
    CHECK(trims >= 4);
    CHECK_EQ(errors_of(a), 0);
    struct sched_vm_stats vst;
    sched_vm_stats(a->sv, &vst);
    CHECK_EQ(vst.trims, trims);
    printf("  %llu rounds, %llu trims\n", (unsigned long long)rounds, (unsigned long long)trims);
    /* Paused soon after a wake-up: the code was decoded again; a paused
     * vCPU is not trimmed. */
    rv_hart_set_irq(h, RV_MIP_MSIP, true);
    sched_wake(a->sv, 0);
    CHECK(wait_rounds(a, rounds + 1, 2000000000ull));
    sched_vm_pause(a->sv);
    uint64_t t5 = trims_of(a);
    if (t5 == trims)   /* not trimmed before the pause (100 ms): it holds pages */
        CHECK(rv_hart_decoded_pages(h) > 0);
    sleep_ns(300000000ull);
    CHECK_EQ(trims_of(a), t5);
out:
    tvm_free(a);
    sched_free(s);
}

/* A vCPU holding fewer decoded pages than trim_min_pages keeps them: its
 * sleeps pass the trim delay without a trim. */
static void sched_trim_min_pages(void)
{
    struct sched *s = mksched_trim_cfg(2, 50000000ull, 1000, 1);   /* 50 ms, 1000 pages */
    struct tvm *a = tvm_trim(false);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    struct rv_hart *h = board_hart(a->b, 0);
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    CHECK(wait_rounds(a, 1, 2000000000ull));
    CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));
    sleep_ns(300000000ull);   /* six trim delays */
    CHECK_EQ(trims_of(a), 0);
    CHECK(rv_hart_decoded_pages(h) > 0);
    CHECK_EQ(errors_of(a), 0);
out:
    tvm_free(a);
    sched_free(s);
}

/* Once trimmed, a vCPU is not trimmed again within trim_interval_ns, however
 * often it sleeps past the trim delay. */
static void sched_trim_interval(void)
{
    struct sched *s = mksched_trim_cfg(2, 50000000ull, 1, 60000000000ull);   /* 50 ms; 60 s */
    struct tvm *a = tvm_trim(false);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    struct rv_hart *h = board_hart(a->b, 0);
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    CHECK(wait_rounds(a, 1, 2000000000ull));
    CHECK(wait_trims(a, 1, 5000000000ull));
    for (int k = 0; k < 3; k++) {   /* run (decode again), sleep past the delay */
        uint64_t r = rounds_of(a);
        rv_hart_set_irq(h, RV_MIP_MSIP, true);
        sched_wake(a->sv, 0);
        CHECK(wait_rounds(a, r + 1, 2000000000ull));
        CHECK(wait_state(a, SCHED_VCPU_SLEEPING, 2000000000ull));
        sleep_ns(150000000ull);
    }
    CHECK_EQ(trims_of(a), 1);
    CHECK(rv_hart_decoded_pages(h) > 0);
    CHECK_EQ(errors_of(a), 0);
out:
    tvm_free(a);
    sched_free(s);
}

struct hammer {
    struct tvm *t;
    _Atomic int stop;
    uint64_t wakes;
};

static void *hammer_main(void *arg)
{
    struct hammer *hm = arg;
    struct rv_hart *h = board_hart(hm->t->b, 0);
    unsigned seed = 12345;
    while (!atomic_load(&hm->stop)) {
        rv_hart_set_irq(h, RV_MIP_MSIP, true);
        sched_wake(hm->t->sv, 0);
        hm->wakes++;
        seed = seed * 1103515245u + 12345u;
        sleep_ns((seed >> 8) % 3000000u);   /* 0..3 ms */
    }
    return NULL;
}

/* Trims racing wake-ups, timers and pauses: the vCPU sleeps 0..3 ms on its
 * timer, is woken from another thread at random and paused now and then,
 * with a 1 ms trim delay; its code (three pages, trimmed and decoded again
 * and again) checks its own results. Meant for the SAN build too. */
static void sched_trim_race(void)
{
    struct sched *s = mksched_trim(2, 1000000ull);   /* 1 ms */
    struct tvm *a = tvm_trim(true);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    struct hammer hm = {.t = a};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, hammer_main, &hm), 0);
    uint64_t end = mono_ns() + 3000000000ull;
    unsigned pauses = 0;
    while (mono_ns() < end) {
        sleep_ns(20000000ull);
        sched_vm_pause(a->sv);
        pauses++;
        sleep_ns(2000000ull);
        sched_vm_resume(a->sv);
    }
    atomic_store(&hm.stop, 1);
    pthread_join(th, NULL);
    uint64_t r = rounds_of(a);
    CHECK(wait_rounds(a, r + 3, 2000000000ull));   /* still runs on its timer */
    struct sched_vcpu_stats st;
    sched_vcpu_stats(a->sv, 0, &st);
    printf("  %llu rounds, %llu trims, %llu wake-ups sent, %u pauses\n",
           (unsigned long long)rounds_of(a), (unsigned long long)st.trims,
           (unsigned long long)hm.wakes, pauses);
    CHECK(st.trims >= 10);
    CHECK(rounds_of(a) >= 100);
    CHECK_EQ(errors_of(a), 0);
out:
    tvm_free(a);
    sched_free(s);
}

/* ---- copy-on-write shootdowns ------------------------------------------------------ */

#define FLUSH_TLB_BIT 1   /* flush_request bit 0: TLB (riscv/hart.h) */

/* A non-worker thread's shootdown returns only once a busy vCPU has served
 * the flush (it clears the bit itself), and does not wait for a sleeping
 * or paused one (their bits stay set until they next run); wait = false
 * only sets the bits. */
static void sched_shootdown_waits(void)
{
    struct sched *s = mksched(1);
    struct tvm *a = tvm_new(2, p_count, 3);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    pmap_write(board_pmap(a->b), RAM + 0x1000, p_idle, sizeof p_idle);
    struct rv_hart *h0 = board_hart(a->b, 0), *h1 = board_hart(a->b, 1);
    h1->pc = RAM + 0x1000;
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sched_vm_resume(a->sv);
    CHECK(wait_vcpu_state(a, 1, SCHED_VCPU_SLEEPING, 2000000000ull));
    CHECK(wait_vcpu_state(a, 0, SCHED_VCPU_RUNNING, 2000000000ull));
    unsigned served = 0;
    uint64_t slowest = 0;
    for (int k = 0; k < 200; k++) {
        sleep_ns(500000);   /* leave the host CPU to the worker */
        uint64_t t0 = mono_ns();
        sched_vm_shootdown(a->sv, FLUSH_TLB_BIT, true);
        uint64_t dt = mono_ns() - t0;
        slowest = dt > slowest ? dt : slowest;
        served += !(atomic_load(&h0->flush_request) & FLUSH_TLB_BIT);
    }
    /* As in sched_fence_running: the busy vCPU is inside rv_hart_run
     * nearly all the time; without the wait its bit would still be set
     * almost every time. */
    printf("  shootdown: %u of 200 served while waiting, slowest %llu us\n", served,
           (unsigned long long)(slowest / 1000));
    CHECK(served >= 150);
    CHECK(slowest < 1500000000ull);   /* bounded, never hangs */
    CHECK(atomic_load(&h1->flush_request) & FLUSH_TLB_BIT);   /* asleep: not waited for */
    struct sched_vcpu_stats st;
    sched_vcpu_stats(a->sv, 1, &st);
    CHECK_EQ(st.state, SCHED_VCPU_SLEEPING);

    sched_vm_pause(a->sv);
    atomic_store(&h0->flush_request, 0);
    atomic_store(&h1->flush_request, 0);
    uint64_t t0 = mono_ns();
    sched_vm_shootdown(a->sv, FLUSH_TLB_BIT, true);
    CHECK(mono_ns() - t0 < 10000000ull);   /* nothing runs: no wait */
    CHECK(atomic_load(&h0->flush_request) & FLUSH_TLB_BIT);
    CHECK(atomic_load(&h1->flush_request) & FLUSH_TLB_BIT);
    atomic_store(&h0->flush_request, 0);
    atomic_store(&h1->flush_request, 0);
    sched_vm_shootdown(a->sv, FLUSH_TLB_BIT, false);
    CHECK(atomic_load(&h0->flush_request) & FLUSH_TLB_BIT);
    CHECK(atomic_load(&h1->flush_request) & FLUSH_TLB_BIT);
out:
    tvm_free(a);
    sched_free(s);
}

/* A hart's bus wrapped so that a write slow path to `page` (ram_page with
 * for_write, as a copy-on-write break does) and a store to the MMIO
 * register `mmio` (as a device doing DMA) each shoot the VM down from
 * inside rv_hart_run. */
#define SHOOT_MMIO 0x30000000ull
struct shoot_bus {
    struct rv_bus orig;
    struct sched_vm *sv;
    uint64_t page;
    _Atomic uint64_t calls;
};

static uint8_t *shoot_ram_page(void *ctx, uint64_t pa, bool for_write)
{
    struct shoot_bus *sb = ctx;
    uint8_t *p = sb->orig.ram_page(sb->orig.ctx, pa, for_write);
    if (p && for_write && (pa & ~0xfffull) == sb->page) {
        sched_vm_shootdown(sb->sv, FLUSH_TLB_BIT, true);
        atomic_fetch_add(&sb->calls, 1);
    }
    return p;
}

static int shoot_mmio_read(void *ctx, uint64_t pa, unsigned len, uint64_t *val)
{
    struct shoot_bus *sb = ctx;
    return sb->orig.mmio_read(sb->orig.ctx, pa, len, val);
}

static int shoot_mmio_write(void *ctx, uint64_t pa, unsigned len, uint64_t val)
{
    struct shoot_bus *sb = ctx;
    if (pa != SHOOT_MMIO)
        return sb->orig.mmio_write(sb->orig.ctx, pa, len, val);
    sched_vm_shootdown(sb->sv, FLUSH_TLB_BIT, true);
    atomic_fetch_add(&sb->calls, 1);
    return 0;
}

static bool shoot_sbi(void *ctx, struct rv_hart *h)
{
    struct shoot_bus *sb = ctx;
    return sb->orig.sbi_call ? sb->orig.sbi_call(sb->orig.ctx, h) : false;
}

/* Two vCPUs on two workers shoot each other down from inside rv_hart_run,
 * as fast as they can (each of their flushes also flushes their own TLB,
 * so every loop takes both slow paths again), while the test thread shoots
 * too: no deadlock (a vCPU waiting in a shootdown counts as done for the
 * other), both make steady progress. */
static void sched_shootdown_mutual(void)
{
    struct sched *s = mksched(2);
    struct tvm *a = tvm_new(2, p_shoot, sizeof p_shoot / 4);
    struct shoot_bus sb[2];
    memset(sb, 0, sizeof sb);
    CHECK(s && a);
    if (!s || !a)
        goto out;
    for (unsigned i = 0; i < 2; i++) {
        struct rv_hart *h = board_hart(a->b, i);
        sb[i].orig = h->bus;
        sb[i].page = RAM + 0x20000 + 0x1000 * i;
        h->bus.ctx = &sb[i];
        h->bus.ram_page = shoot_ram_page;
        h->bus.mmio_read = shoot_mmio_read;
        h->bus.mmio_write = shoot_mmio_write;
        h->bus.sbi_call = shoot_sbi;
        h->x[A4] = SHOOT_MMIO;
        h->x[A5] = sb[i].page;
    }
    CHECK_EQ(tvm_attach(a, s, 0, 0), 0);
    sb[0].sv = sb[1].sv = a->sv;
    sched_vm_resume(a->sv);
    const uint64_t want = 20000;
    uint64_t slowest = 0, start = mono_ns();
    /* Usually well under a second; the bound is for ASan on a busy host.
     * A deadlock would cost the fence timeout (1 s) per round. */
    uint64_t end = start + 20000000000ull;
    while ((counter(a, 0) < want || counter(a, 1) < want) && mono_ns() < end) {
        sleep_ns(2000000);
        uint64_t t0 = mono_ns();
        sched_vm_shootdown(a->sv, FLUSH_TLB_BIT, true);
        uint64_t dt = mono_ns() - t0;
        slowest = dt > slowest ? dt : slowest;
    }
    uint64_t took = mono_ns() - start;
    printf("  mutual shootdowns: %llu and %llu rounds, %llu and %llu calls in %llu ms, "
           "test thread's slowest %llu us\n",
           (unsigned long long)counter(a, 0), (unsigned long long)counter(a, 1),
           (unsigned long long)atomic_load(&sb[0].calls),
           (unsigned long long)atomic_load(&sb[1].calls), (unsigned long long)(took / 1000000),
           (unsigned long long)(slowest / 1000));
    CHECK(counter(a, 0) >= want && counter(a, 1) >= want);
    /* each round shoots at least once from its ram_page and its MMIO store */
    CHECK(atomic_load(&sb[0].calls) >= 2 * want && atomic_load(&sb[1].calls) >= 2 * want);
    CHECK(slowest < 1500000000ull);
out:
    tvm_free(a);
    sched_free(s);
}

/* Bad parameters are refused with a message. */
static void sched_bad_params(void)
{
    struct disco_err err;
    err_clear(&err);
    struct sched_config c = {.workers = SCHED_MAX_WORKERS + 1};
    CHECK(sched_new(&c, &err) == NULL);
    CHECK(err.msg[0] != 0);
    struct sched *s = mksched(1);
    if (!s)
        return;
    struct sched_vm_params p = {.harts = NULL, .nharts = 0};
    err_clear(&err);
    CHECK(sched_vm_add(s, &p, &err) == NULL);
    CHECK(err.msg[0] != 0);
    sched_free(s);
}

int main(void)
{
    RUN(sched_bad_params);
    RUN(sched_wake_irq);
    RUN(sched_wake_timer);
    RUN(sched_ipi);
    RUN(sched_pause_stops);
    RUN(sched_fence_running);
    RUN(sched_sbi_fences);
    RUN(sched_shootdown_waits);
    RUN(sched_shootdown_mutual);
    RUN(sched_trim_idle);
    RUN(sched_trim_min_pages);
    RUN(sched_trim_interval);
    RUN(sched_trim_race);
    RUN(sched_idle_cost);
    RUN(sched_cap);
    RUN(sched_weights);
    T_EXIT();
}

/* The vCPU scheduler (see sched.h for the model).
 *
 * Locking: one mutex per scheduler guards every queue, the timer heap, the
 * VM list, vCPU states, credits and statistics. It is taken at slice
 * boundaries, on wake-ups and by the accounting; never while a vCPU
 * executes guest code (rv_hart_run and the VM's hooks run unlocked), so
 * device callbacks that wake vCPUs from inside rv_hart_run are safe. With
 * 10 ms slices the lock is cold; per-worker run queues with stealing are
 * the known next step if many workers ever contend on it.
 *
 * Run queues: three FIFO lists by priority class, BOOST > UNDER > OVER
 * (Xen credit1's classes). A VM's class follows the sign of its credit; a
 * vCPU woken from sleep while its VM has credit is BOOSTed until the end of
 * its next slice. A vCPU whose slice was cut short by a preemption goes back
 * at the head of its class (it keeps its turn), others at the tail. A capped
 * VM that used its cap is "parked": its runnable vCPUs wait on the VM's own
 * list, off the run queues, until the next accounting period.
 *
 * Timers: sleeping vCPUs with a timer deadline sit in one binary min-heap
 * keyed by the deadline in CLOCK_MONOTONIC ns. One idle worker (the "timer
 * owner") waits on its condition variable with the earliest deadline as
 * timeout; other idle workers wait without a timeout. Busy workers see
 * deadlines through `timer_hint` (the heap's top, an atomic) and cut their
 * rv_hart_run budgets so that they look at the heap when a deadline passes.
 *
 * Wake-ups: sched_wake moves a sleeping vCPU to a run queue and signals one
 * idle worker's condition variable; with no idle worker it asks a running
 * vCPU of a lower class, or else a sibling, to yield (exit_request makes
 * rv_hart_run return at its next block boundary). A wake-up for a vCPU that
 * is running is remembered (`woken`) and cancels its next sleep, so none is
 * lost between rv_hart_run returning WFI and the vCPU going to sleep; and a
 * vCPU only goes to sleep (under the lock) after rv_hart_wakeup_pending said
 * nothing is pending, so an interrupt raised without a wake-up call is not
 * lost either.
 *
 * Trimming: a vCPU going to sleep (SLEEPING or BLOCKED) joins the trim
 * queue, due trim_after_ns later; a constant delay keeps that FIFO sorted
 * by due time. Waking, pausing or trimming takes it off, so each sleep is
 * trimmed at most once. A worker at the top of its loop trims a due vCPU
 * (rv_hart_trim, unmapping up to 32 MiB) without the lock, treating the
 * trim like a slice: the vCPU is RUNNING (reported as still asleep) with
 * no worker, off the timer heap and the run queues, and counts in its VM's
 * nrunning, so sched_vm_pause waits for the trim to end and a wake-up in
 * the meantime only sets `woken`; retaking the lock, the worker puts it on
 * a run queue if it was woken, else back to sleep (timer re-armed, wake-ups
 * pending re-checked). Idle workers wait for the trim queue's head like
 * for a timer. */
#define _GNU_SOURCE
#include "vmm/sched.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

#define MIN_BUDGET 1000ull              /* instructions per rv_hart_run call, at least */
#define MAX_BUDGET (1ull << 28)
#define INITIAL_RATE 20000ull           /* instructions per ms before calibration */
#define MIN_RATE 1000ull
#define MAX_RATE 1000000000ull
#define CALIBRATE_MIN_NS 20000ull       /* calls shorter than this do not calibrate */
#define MIN_CAPPED_SLICE_NS 100000ull   /* a capped VM's slice is never shorter */
#define WAKE_RATELIMIT_NS 100000ull     /* a woken vCPU preempts a sibling that ran this long */
#define FENCE_SPINS 256u                /* pause-spins before yielding the host CPU */
#define FENCE_TIMEOUT_NS 1000000000ull
#define NO_HEAP SIZE_MAX

enum { Q_BOOST, Q_UNDER, Q_OVER, NQ };

struct vcpu;
struct vq {
    struct vcpu *head, *tail;
};

struct worker;

struct vcpu {
    struct sched_vm *vm;
    unsigned idx;
    struct rv_hart *hart;
    /* under the scheduler lock */
    enum sched_vcpu_state state;
    bool woken;                 /* sched_wake while RUNNING */
    bool boost;
    bool yielded;               /* its slice was cut for a sibling (directed yield) */
    struct vq *q;               /* the list it is on (RUNNABLE), or NULL */
    struct vcpu *next, *prev;
    size_t heap_idx;            /* NO_HEAP when not in the timer heap */
    uint64_t deadline;          /* CLOCK_MONOTONIC ns */
    struct worker *worker;      /* RUNNING on */
    uint64_t slice_start;
    bool active;                /* wanted CPU during this period */
    uint64_t cpu_ns, run_ns, instret, slices, wakeups, preemptions, trims;
    /* trim queue (asleep, not trimmed yet): due at trim_at */
    struct vcpu *tnext, *tprev;
    bool on_trimq;
    bool trimming;              /* a worker is inside rv_hart_trim for it */
    enum sched_vcpu_state trim_state;   /* SLEEPING or BLOCKED: while trimming */
    uint64_t trim_at;           /* CLOCK_MONOTONIC ns */
    uint64_t last_trim;         /* when it was last trimmed, 0: never */
    /* lock-free */
    _Atomic int in_guest;       /* inside rv_hart_run */
    _Atomic int fencing;        /* inside sched_fence_wait (an SBI call) */
    _Atomic int preempt;        /* asked to end its slice */
    /* touched only by the worker running it */
    uint64_t rate;              /* instructions per ms */
};

struct sched_vm {
    struct sched *s;
    struct sched_vm *next, *prev;
    struct sched_vm_ops ops;
    void *ctx;
    unsigned n;
    uint64_t max_chunk;
    /* under the scheduler lock */
    unsigned weight, cap;
    int64_t credit;             /* ns of host CPU */
    int64_t cap_left;           /* ns left in this period (cap != 0) */
    bool parked, paused;
    unsigned nrunning;
    uint64_t parks;
    struct vq parkq;
    struct vcpu vcpu[];
};

struct worker {
    struct sched *s;
    pthread_t thread;
    pthread_cond_t cv;
    bool kicked, idle;
    struct vcpu *cur;
};

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t pause_cv;
    unsigned nworkers, nstarted;
    uint64_t slice_ns, period_ns, sibling_slice_ns, trim_after_ns;
    unsigned trim_min_pages;
    uint64_t trim_interval_ns;
    struct worker *workers;
    struct worker **idle;       /* stack of idle workers */
    unsigned nidle;
    struct worker *timer_owner;
    uint64_t timer_armed;
    struct vq rq[NQ];
    struct vcpu **heap;
    size_t heap_n, heap_cap;
    struct vcpu *trim_head, *trim_tail;   /* trim queue, by trim_at */
    _Atomic uint64_t timer_hint;   /* heap top deadline, UINT64_MAX if none */
    uint64_t next_acct, last_acct;
    /* Thread CPU time and wall time of the slices since the last
     * accounting: their ratio is how much of a host CPU a worker really got
     * while running (less than 1 when other host processes compete). */
    uint64_t acct_cpu_ns, acct_run_ns;
    struct sched_vm *vms;
    size_t total_vcpus;
    unsigned nparked;
    bool shutdown;
};

/* The vCPU this worker thread is running (NULL elsewhere), so that a
 * wake-up sent from inside a vCPU (an IPI) knows its sender. Per thread,
 * not shared state. */
static _Thread_local struct vcpu *running_here;

/* ---- time ------------------------------------------------------------------ */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}

/* The CLOCK_MONOTONIC ns at which a hart clock reads `ticks` (rounded up). */
static uint64_t ticks_to_mono(struct rv_clock *clk, uint64_t ticks)
{
    unsigned __int128 ns =
        ((unsigned __int128)ticks * 1000000000u + clk->freq_hz - 1) / clk->freq_hz;
    int64_t off = atomic_load(&clk->offset_ns);
    unsigned __int128 t = ns + (unsigned __int128)(off > 0 ? off : 0);
    return t >= UINT64_MAX ? UINT64_MAX - 1 : (uint64_t)t;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- queues ------------------------------------------------------------------ */

static void q_push(struct vq *q, struct vcpu *c, bool front)
{
    c->q = q;
    if (front) {
        c->prev = NULL;
        c->next = q->head;
        if (q->head)
            q->head->prev = c;
        else
            q->tail = c;
        q->head = c;
    } else {
        c->next = NULL;
        c->prev = q->tail;
        if (q->tail)
            q->tail->next = c;
        else
            q->head = c;
        q->tail = c;
    }
}

static void q_remove(struct vcpu *c)
{
    struct vq *q = c->q;
    if (!q)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        q->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        q->tail = c->prev;
    c->next = c->prev = NULL;
    c->q = NULL;
}

static struct vcpu *q_pop(struct vq *q)
{
    struct vcpu *c = q->head;
    if (c)
        q_remove(c);
    return c;
}

/* ---- timer heap ---------------------------------------------------------------- */

static void heap_set(struct sched *s, size_t i, struct vcpu *c)
{
    s->heap[i] = c;
    c->heap_idx = i;
}

static void heap_up(struct sched *s, size_t i)
{
    struct vcpu *c = s->heap[i];
    while (i) {
        size_t p = (i - 1) / 2;
        if (s->heap[p]->deadline <= c->deadline)
            break;
        heap_set(s, i, s->heap[p]);
        i = p;
    }
    heap_set(s, i, c);
}

static void heap_down(struct sched *s, size_t i)
{
    struct vcpu *c = s->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t best = c->deadline;
        if (l < s->heap_n && s->heap[l]->deadline < best) {
            m = l;
            best = s->heap[l]->deadline;
        }
        if (l + 1 < s->heap_n && s->heap[l + 1]->deadline < best)
            m = l + 1;
        if (m == i)
            break;
        heap_set(s, i, s->heap[m]);
        i = m;
    }
    heap_set(s, i, c);
}

static void update_hint(struct sched *s)
{
    atomic_store(&s->timer_hint, s->heap_n ? s->heap[0]->deadline : UINT64_MAX);
}

/* heap_cap >= total_vcpus always (sched_vm_add reserves), so no failure. */
static void heap_push(struct sched *s, struct vcpu *c)
{
    heap_set(s, s->heap_n++, c);
    heap_up(s, s->heap_n - 1);
    update_hint(s);
}

static void heap_remove(struct sched *s, struct vcpu *c)
{
    size_t i = c->heap_idx;
    if (i == NO_HEAP)
        return;
    c->heap_idx = NO_HEAP;
    struct vcpu *last = s->heap[--s->heap_n];
    if (i < s->heap_n) {
        heap_set(s, i, last);
        heap_up(s, i);
        heap_down(s, last->heap_idx);
    }
    update_hint(s);
}

/* ---- trim queue ------------------------------------------------------------------------ */

static void trimq_add(struct sched *s, struct vcpu *c)
{
    if (c->on_trimq || s->trim_after_ns == UINT64_MAX)
        return;
    uint64_t now = mono_ns();
    c->trim_at = now + s->trim_after_ns < now ? UINT64_MAX - 1 : now + s->trim_after_ns;
    c->on_trimq = true;
    c->tnext = NULL;
    c->tprev = s->trim_tail;
    if (s->trim_tail)
        s->trim_tail->tnext = c;
    else
        s->trim_head = c;
    s->trim_tail = c;
}

static void trimq_remove(struct sched *s, struct vcpu *c)
{
    if (!c->on_trimq)
        return;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        s->trim_head = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        s->trim_tail = c->tprev;
    c->tnext = c->tprev = NULL;
    c->on_trimq = false;
}

/* ---- workers: idle stack, kicks, preemption ---------------------------------------- */

/* Take w off the idle stack, if it is there. Lock held. */
static void idle_remove(struct sched *s, struct worker *w)
{
    if (!w->idle)
        return;
    for (unsigned i = 0; i < s->nidle; i++) {
        if (s->idle[i] == w) {
            s->idle[i] = s->idle[--s->nidle];
            break;
        }
    }
    w->idle = false;
}

static void kick_worker(struct sched *s, struct worker *w)
{
    idle_remove(s, w);
    w->kicked = true;
    pthread_cond_signal(&w->cv);
}

static bool kick_idle(struct sched *s)
{
    if (!s->nidle)
        return false;
    kick_worker(s, s->idle[s->nidle - 1]);
    return true;
}

/* When the idle workers must wake up next: the earliest timer, the next
 * accounting period while some VM is parked at its cap, the next trim. */
static uint64_t idle_deadline(struct sched *s)
{
    uint64_t dl = s->heap_n ? s->heap[0]->deadline : UINT64_MAX;
    if (s->nparked && s->next_acct < dl)
        dl = s->next_acct;
    if (s->trim_head && s->trim_head->trim_at < dl)
        dl = s->trim_head->trim_at;
    return dl;
}

/* The timer heap or the parked set changed: make sure an idle worker waits
 * for the (possibly earlier) deadline. */
static void timers_changed(struct sched *s)
{
    uint64_t dl = idle_deadline(s);
    if (dl == UINT64_MAX)
        return;
    if (s->timer_owner) {
        if (dl < s->timer_armed)
            kick_worker(s, s->timer_owner);
    } else {
        kick_idle(s);
    }
}

static int vcpu_class(const struct vcpu *c)
{
    if (c->vm->credit > 0)
        return c->boost ? Q_BOOST : Q_UNDER;
    return Q_OVER;
}

static void preempt(struct vcpu *c)
{
    atomic_store(&c->preempt, 1);
    atomic_store(&c->hart->exit_request, 1);
}

/* No idle worker for the woken vCPU c (already queued): ask a running vCPU
 * of a lower class to yield (the lowest class, running longest among
 * equals), as Xen's credit scheduler tickles a CPU. Failing that, a running
 * sibling of c (the same VM, so its own CPU time) that has run at least
 * WAKE_RATELIMIT_NS yields to it: the typical case is an IPI or a device
 * interrupt for a vCPU the VM is waiting for. */
static void tickle(struct sched *s, struct vcpu *c)
{
    int cls = vcpu_class(c);
    struct vcpu *victim = NULL, *sib = NULL;
    int vcls = cls;
    uint64_t now = 0;
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct vcpu *r = s->workers[i].cur;
        if (!r || atomic_load(&r->preempt))
            continue;
        int k = vcpu_class(r);
        if (k > vcls || (k == vcls && victim && r->slice_start < victim->slice_start)) {
            victim = r;
            vcls = k;
        } else if (r->vm == c->vm && !r->boost) {
            if (!now)
                now = mono_ns();
            if (now - r->slice_start >= WAKE_RATELIMIT_NS &&
                (!sib || r->slice_start < sib->slice_start))
                sib = r;
        }
    }
    if (victim) {
        preempt(victim);
    } else if (sib) {
        q_remove(c);
        q_push(&s->rq[cls], c, true);   /* ahead of the yielding sibling */
        sib->yielded = true;
        preempt(sib);
    }
}

/* Some other vCPU of v waits on a run queue. */
static bool sibling_waiting(const struct sched_vm *v)
{
    for (unsigned i = 0; i < v->n; i++)
        if (v->vcpu[i].state == SCHED_VCPU_RUNNABLE && v->vcpu[i].q != &v->parkq)
            return true;
    return false;
}

/* ---- vCPU state changes (lock held) ------------------------------------------------- */

static void enqueue(struct sched *s, struct vcpu *c, bool front)
{
    struct sched_vm *v = c->vm;
    trimq_remove(s, c);
    c->state = SCHED_VCPU_RUNNABLE;
    c->active = true;
    q_push(v->parked ? &v->parkq : &s->rq[vcpu_class(c)], c, front);
}

/* A paused, sleeping or blocked vCPU becomes runnable. `kick`: find a
 * worker for it (not needed when the caller is a worker about to pick). */
static void make_runnable(struct sched *s, struct vcpu *c, bool boost, bool kick)
{
    c->boost = boost;
    enqueue(s, c, false);
    if (!kick || c->vm->parked)
        return;
    if (!kick_idle(s))
        tickle(s, c);
}

static void expire_timers(struct sched *s, uint64_t now, bool kick)
{
    while (s->heap_n && s->heap[0]->deadline <= now) {
        struct vcpu *c = s->heap[0];
        heap_remove(s, c);
        c->wakeups++;
        make_runnable(s, c, true, kick);
    }
}

/* `trim`: queue it for trimming (not when it was just trimmed). */
static void sleep_vcpu(struct sched *s, struct vcpu *c, bool with_timer, bool trim)
{
    struct rv_hart *h = c->hart;
    if (with_timer) {
        /* Checked under the lock: an interrupt raised after this check
         * comes with a sched_wake, which waits for the lock and then finds
         * the vCPU SLEEPING. */
        if (rv_hart_wakeup_pending(h)) {
            enqueue(s, c, false);
            return;
        }
        c->state = SCHED_VCPU_SLEEPING;
        uint64_t t = rv_hart_next_timer(h);
        /* A deadline already passed belongs to a timer the hart does not
         * listen to (mie clear; else it would be pending): arming it would
         * wake the vCPU again and again. It sleeps until a wake-up then. */
        if (t != UINT64_MAX && t > rv_clock_now(h->clock)) {
            c->deadline = ticks_to_mono(h->clock, t);
            heap_push(s, c);
        }
    } else {
        c->state = SCHED_VCPU_BLOCKED;
    }
    if (trim)
        trimq_add(s, c);
    if (c->heap_idx != NO_HEAP || c->on_trimq)
        timers_changed(s);
}

/* ---- credits ------------------------------------------------------------------- */

static int64_t cap_quota(const struct sched *s, const struct sched_vm *v)
{
    return (int64_t)(s->period_ns * v->cap / 100);
}

static void park(struct sched *s, struct sched_vm *v)
{
    v->parked = true;
    v->parks++;
    s->nparked++;
    for (unsigned i = 0; i < v->n; i++) {
        struct vcpu *c = &v->vcpu[i];
        if (c->state == SCHED_VCPU_RUNNABLE && c->q != &v->parkq) {
            q_remove(c);
            q_push(&v->parkq, c, false);
        } else if (c->state == SCHED_VCPU_RUNNING && c->worker) {
            preempt(c);
        }
    }
    timers_changed(s);   /* idle workers must wake for the next period */
}

static void unpark(struct sched *s, struct sched_vm *v)
{
    v->parked = false;
    s->nparked--;
    struct vcpu *c;
    while ((c = q_pop(&v->parkq))) {
        q_push(&s->rq[vcpu_class(c)], c, false);
        kick_idle(s);
    }
}

static void charge(struct sched *s, struct vcpu *c, uint64_t cpu)
{
    struct sched_vm *v = c->vm;
    v->credit -= (int64_t)cpu;
    if (v->cap) {
        v->cap_left -= (int64_t)cpu;
        if (v->cap_left <= 0 && !v->parked && !v->paused)
            park(s, v);
    }
}

/* Every period (Xen credit1's csched_acct): hand out credit by weight
 * among the VMs that wanted CPU, refill caps, and re-sort the run queues by
 * the new classes. Credit is per VM (Xen keeps it per vCPU): the vCPUs of
 * one VM always share a class, so a vCPU spinning on a lock never runs
 * ahead of the preempted sibling that holds it just because the holder
 * used more CPU. */
static void account(struct sched *s, uint64_t now)
{
    /* Accounting runs at the first slice boundary after the period's end,
     * so periods come out a little long: hand out credit (and cap budget)
     * for the time that really passed, or the sum of credits would drift
     * negative and every VM end up OVER. After an idle gap, one period. */
    uint64_t elapsed = now - s->last_acct;
    if (!s->last_acct || elapsed > 2 * s->period_ns)
        elapsed = s->period_ns;
    s->last_acct = now;
    s->next_acct = now + s->period_ns;
    uint64_t wsum = 0;
    for (struct sched_vm *v = s->vms; v; v = v->next) {
        if (v->paused)
            continue;
        for (unsigned i = 0; i < v->n; i++) {
            if (v->vcpu[i].active) {
                wsum += v->weight;
                break;
            }
        }
    }
    int64_t total = (int64_t)(s->nworkers * elapsed);
    /* Hand out only the CPU the workers can really get: when the host is
     * busy with other processes, a worker runs for part of each wall-clock
     * slice; credit for all of it would leave every VM UNDER, and weights
     * would stop mattering (round-robin instead of 1:2). */
    if (s->acct_run_ns > s->acct_cpu_ns && s->acct_run_ns >= s->slice_ns) {
        double got = (double)s->acct_cpu_ns / (double)s->acct_run_ns;
        if (got < 0.1)
            got = 0.1;
        total = (int64_t)((double)total * got);
    }
    s->acct_cpu_ns = s->acct_run_ns = 0;
    for (struct sched_vm *v = s->vms; v; v = v->next) {
        if (v->cap) {
            /* Refill by the time passed; at most one period's worth waits. */
            int64_t q = cap_quota(s, v), add = (int64_t)(elapsed * v->cap / 100);
            v->cap_left = v->cap_left + add > q ? q : v->cap_left + add;
            if (v->parked && v->cap_left > 0)
                unpark(s, v);
        }
        unsigned nactive = 0;
        for (unsigned i = 0; i < v->n; i++)
            nactive += v->vcpu[i].active;
        if (v->paused || !nactive || !wsum)
            continue;   /* idle VMs keep what they have, and get nothing new */
        int64_t share = (int64_t)((uint64_t)total * v->weight / wsum);
        unsigned usable = nactive < s->nworkers ? nactive : s->nworkers;
        if (share > (int64_t)(usable * elapsed))
            share = (int64_t)(usable * elapsed);
        if (v->cap && share > (int64_t)(elapsed * v->cap / 100))
            share = (int64_t)(elapsed * v->cap / 100);
        /* Unused credit piles up only a little (Xen: about one time
         * slice), so a VM that idled cannot then hog the CPU. A busy VM's
         * credit swings by up to its share plus a slice per running vCPU
         * between two accountings: below this bound, so none of it is
         * lost. */
        int64_t most = share + (int64_t)(usable * s->slice_ns);
        v->credit += share;
        if (v->credit > most)
            v->credit = most;
        if (v->credit < -total)
            v->credit = -total;
        for (unsigned i = 0; i < v->n; i++) {
            struct vcpu *c = &v->vcpu[i];
            c->active = (c->state == SCHED_VCPU_RUNNABLE || c->state == SCHED_VCPU_RUNNING) &&
                        !c->trimming;
        }
    }
    /* Re-sort by class, keeping the order within each class. */
    struct vq all = {NULL, NULL};
    for (int k = 0; k < NQ; k++) {
        struct vcpu *c;
        while ((c = q_pop(&s->rq[k])))
            q_push(&all, c, false);
    }
    struct vcpu *c;
    while ((c = q_pop(&all)))
        q_push(&s->rq[vcpu_class(c)], c, false);
}

static bool queues_empty(const struct sched *s)
{
    for (int k = 0; k < NQ; k++)
        if (s->rq[k].head)
            return false;
    return true;
}

static struct vcpu *pick(struct sched *s)
{
    for (int k = 0; k < NQ; k++) {
        struct vcpu *c = q_pop(&s->rq[k]);
        if (c)
            return c;
    }
    return NULL;
}

/* ---- running a slice ---------------------------------------------------------------- */

static enum sched_verdict default_exit(int r)
{
    switch (r) {
    case RV_EXIT_WFI: return SCHED_SLEEP;
    case RV_EXIT_FATAL: return SCHED_BLOCK;
    default: return SCHED_RUN;
    }
}

static void calibrate(struct vcpu *c, uint64_t di, uint64_t dt)
{
    if (dt < CALIBRATE_MIN_NS || di == 0)
        return;
    uint64_t r = (uint64_t)((unsigned __int128)di * 1000000u / dt);
    r = (3 * c->rate + r) / 4;
    c->rate = r < MIN_RATE ? MIN_RATE : r > MAX_RATE ? MAX_RATE : r;
}

/* A busy worker saw a timer deadline pass: wake those vCPUs (kicking idle
 * workers or preempting, possibly the caller's own vCPU). */
static void running_timer_check(struct sched *s, uint64_t now)
{
    pthread_mutex_lock(&s->lock);
    expire_timers(s, now, true);
    pthread_mutex_unlock(&s->lock);
}

/* Runs without the lock. */
static enum sched_verdict run_slice(struct sched *s, struct vcpu *c, uint64_t slice_ns,
                                    bool *preempted)
{
    struct sched_vm *v = c->vm;
    struct rv_hart *h = c->hart;
    enum sched_verdict verdict = v->ops.enter ? v->ops.enter(v->ctx, c->idx) : SCHED_RUN;
    if (verdict != SCHED_RUN)
        return verdict;
    uint64_t now = mono_ns();
    uint64_t end = now + slice_ns;
    for (;;) {
        uint64_t hint = atomic_load(&s->timer_hint);
        if (hint <= now) {
            running_timer_check(s, now);
            if (atomic_exchange(&c->preempt, 0)) {
                *preempted = true;
                break;
            }
            hint = atomic_load(&s->timer_hint);
        }
        uint64_t until = hint > now && hint < end ? hint : end;
        uint64_t budget = (uint64_t)((unsigned __int128)c->rate * (until - now) / 1000000u);
        if (budget < MIN_BUDGET)
            budget = MIN_BUDGET;
        if (budget > MAX_BUDGET)
            budget = MAX_BUDGET;
        if (v->max_chunk && budget > v->max_chunk)
            budget = v->max_chunk;
        uint64_t i0 = h->instret;
        atomic_store(&c->in_guest, 1);
        int r = rv_hart_run(h, budget);
        atomic_store(&c->in_guest, 0);
        uint64_t t = mono_ns();
        calibrate(c, h->instret - i0, t - now);
        now = t;
        verdict = v->ops.exit ? v->ops.exit(v->ctx, c->idx, r) : default_exit(r);
        if (verdict != SCHED_RUN)
            break;
        if (atomic_exchange(&c->preempt, 0)) {
            *preempted = true;
            break;
        }
        if (now + slice_ns / 64 >= end)
            break;
    }
    return verdict;
}

static void end_slice(struct sched *s, struct worker *w, struct vcpu *c, enum sched_verdict verdict,
                      bool preempted, uint64_t cpu, uint64_t wall, uint64_t instret)
{
    struct sched_vm *v = c->vm;
    w->cur = NULL;
    c->worker = NULL;
    c->cpu_ns += cpu;
    c->run_ns += wall;
    s->acct_cpu_ns += cpu;
    s->acct_run_ns += wall;
    c->instret += instret;
    c->boost = false;
    v->nrunning--;
    charge(s, c, cpu);
    if (v->paused) {
        c->state = SCHED_VCPU_PAUSED;
        c->woken = false;
        c->yielded = false;
        if (!v->nrunning)
            pthread_cond_broadcast(&s->pause_cv);
        return;
    }
    if (preempted)
        c->preemptions++;
    if (verdict != SCHED_RUN && c->woken)
        verdict = SCHED_RUN;   /* woken while it ran: look again */
    c->woken = false;
    bool front = preempted && !c->yielded;   /* a yield goes to the back */
    c->yielded = false;
    switch (verdict) {
    case SCHED_RUN: enqueue(s, c, front); break;
    case SCHED_SLEEP: sleep_vcpu(s, c, true, true); break;
    case SCHED_BLOCK: sleep_vcpu(s, c, false, true); break;
    }
}

/* Give the decoded-code cache of c (due on the trim queue) back to the host.
 * Lock held on entry and on return, dropped around rv_hart_trim (see
 * "Trimming" at the top). */
static void trim_vcpu(struct sched *s, struct vcpu *c)
{
    struct sched_vm *v = c->vm;
    struct rv_hart *h = c->hart;
    trimq_remove(s, c);
    /* Little to give back (an idle guest's small working set, decoded
     * again after its first trim): keep it, and the wake-ups stay cheap.
     * The count only changes inside rv_hart_run / rv_hart_trim, and this
     * vCPU is in neither. */
    uint64_t now = mono_ns();
    if (rv_hart_decoded_pages(h) < s->trim_min_pages ||
        (c->last_trim && now - c->last_trim < s->trim_interval_ns))
        return;
    heap_remove(s, c);
    c->trim_state = c->state;
    c->state = SCHED_VCPU_RUNNING;
    c->trimming = true;
    c->woken = false;
    v->nrunning++;
    pthread_mutex_unlock(&s->lock);
    size_t bytes = rv_hart_trim(h);
    pthread_mutex_lock(&s->lock);
    c->trimming = false;
    v->nrunning--;
    if (bytes) {
        c->trims++;
        c->last_trim = now;
    }
    if (v->paused) {
        c->state = SCHED_VCPU_PAUSED;
        c->woken = false;
        if (!v->nrunning)
            pthread_cond_broadcast(&s->pause_cv);
        return;
    }
    if (c->woken) {
        c->woken = false;
        c->wakeups++;
        make_runnable(s, c, true, false);   /* the caller picks next */
    } else {
        sleep_vcpu(s, c, c->trim_state == SCHED_VCPU_SLEEPING, false);
    }
}

static void worker_idle(struct sched *s, struct worker *w)
{
    uint64_t dl = idle_deadline(s);
    bool owner = false;
    if (dl != UINT64_MAX && !s->timer_owner) {
        s->timer_owner = w;
        s->timer_armed = dl;
        owner = true;
    }
    w->kicked = false;
    w->idle = true;
    s->idle[s->nidle++] = w;
    while (!w->kicked && !s->shutdown) {
        if (owner) {
            struct timespec ts = ns_to_ts(dl);
            if (pthread_cond_timedwait(&w->cv, &s->lock, &ts) == ETIMEDOUT)
                break;
        } else {
            pthread_cond_wait(&w->cv, &s->lock);
        }
    }
    idle_remove(s, w);
    if (s->timer_owner == w)
        s->timer_owner = NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sched *s = w->s;
    pthread_mutex_lock(&s->lock);
    while (!s->shutdown) {
        uint64_t now = mono_ns();
        expire_timers(s, now, false);
        if (s->trim_head && s->trim_head->trim_at <= now) {
            trim_vcpu(s, s->trim_head);
            continue;
        }
        if (now >= s->next_acct && (!queues_empty(s) || s->nparked))
            account(s, now);
        struct vcpu *c = pick(s);
        if (!c) {
            worker_idle(s, w);
            continue;
        }
        /* More work, or nobody left watching the timers: wake a colleague. */
        if (s->nidle && (!queues_empty(s) || (!s->timer_owner && idle_deadline(s) != UINT64_MAX)))
            kick_idle(s);
        struct sched_vm *v = c->vm;
        c->state = SCHED_VCPU_RUNNING;
        c->worker = w;
        c->slice_start = now;
        c->slices++;
        w->cur = c;
        v->nrunning++;
        c->active = true;
        atomic_store(&c->preempt, 0);
        /* Overcommitted VM (a sibling waits for a worker): short slices, so
         * a vCPU spinning on a lock held by a preempted sibling (there are
         * no pause-loop exits to tell) wastes little and the holder soon
         * runs again. */
        uint64_t slice = s->slice_ns;
        if (slice > s->sibling_slice_ns && sibling_waiting(v))
            slice = s->sibling_slice_ns;
        if (v->cap && (uint64_t)(v->cap_left > 0 ? v->cap_left : 0) < slice)
            slice = v->cap_left > (int64_t)MIN_CAPPED_SLICE_NS ? (uint64_t)v->cap_left
                                                               : MIN_CAPPED_SLICE_NS;
        pthread_mutex_unlock(&s->lock);

        uint64_t cpu0 = thread_cpu_ns(), t0 = mono_ns(), i0 = c->hart->instret;
        bool preempted = false;
        running_here = c;
        enum sched_verdict verdict = run_slice(s, c, slice, &preempted);
        running_here = NULL;
        uint64_t cpu1 = thread_cpu_ns(), t1 = mono_ns(), i1 = c->hart->instret;

        pthread_mutex_lock(&s->lock);
        end_slice(s, w, c, verdict, preempted, cpu1 - cpu0, t1 - t0, i1 - i0);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- scheduler lifecycle ------------------------------------------------------------- */

static void stop_workers(struct sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->shutdown = true;
    for (unsigned i = 0; i < s->nstarted; i++)
        pthread_cond_signal(&s->workers[i].cv);
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->nstarted; i++)
        pthread_join(s->workers[i].thread, NULL);
    s->nstarted = 0;
}

static void sched_destroy(struct sched *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_cond_destroy(&s->workers[i].cv);
    pthread_cond_destroy(&s->pause_cv);
    pthread_mutex_destroy(&s->lock);
    free(s->heap);
    free(s->idle);
    free(s->workers);
    free(s);
}

struct sched *sched_new(const struct sched_config *cfg, struct disco_err *err)
{
    struct sched_config c = cfg ? *cfg : (struct sched_config){0};
    if (!c.workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c.workers = n < 1 ? 1 : n > (long)SCHED_MAX_WORKERS ? SCHED_MAX_WORKERS : (unsigned)n;
    }
    if (c.workers > SCHED_MAX_WORKERS) {
        err_set(err, -EINVAL, "too many scheduler workers (%u, at most %u)", c.workers,
                SCHED_MAX_WORKERS);
        return NULL;
    }
    if (!c.slice_ns)
        c.slice_ns = SCHED_DEFAULT_SLICE_NS;
    if (!c.period_ns)
        c.period_ns = SCHED_DEFAULT_PERIOD_NS;
    if (!c.sibling_slice_ns)
        c.sibling_slice_ns = SCHED_DEFAULT_SIBLING_SLICE_NS;
    if (c.sibling_slice_ns > c.slice_ns)
        c.sibling_slice_ns = c.slice_ns;
    if (!c.trim_after_ns)
        c.trim_after_ns = SCHED_DEFAULT_TRIM_AFTER_NS;
    if (!c.trim_min_pages)
        c.trim_min_pages = SCHED_DEFAULT_TRIM_MIN_PAGES;
    if (!c.trim_interval_ns)
        c.trim_interval_ns = SCHED_DEFAULT_TRIM_INTERVAL_NS;
    struct sched *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, -ENOMEM, "out of memory for the scheduler");
        return NULL;
    }
    s->nworkers = c.workers;
    s->slice_ns = c.slice_ns;
    s->period_ns = c.period_ns;
    s->sibling_slice_ns = c.sibling_slice_ns;
    s->trim_after_ns = c.trim_after_ns;
    s->trim_min_pages = c.trim_min_pages;
    s->trim_interval_ns = c.trim_interval_ns;
    s->workers = calloc(c.workers, sizeof *s->workers);
    s->idle = calloc(c.workers, sizeof *s->idle);
    if (!s->workers || !s->idle) {
        free(s->workers);
        free(s->idle);
        free(s);
        err_set(err, -ENOMEM, "out of memory for the scheduler");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->pause_cv, &ca);
    for (unsigned i = 0; i < c.workers; i++) {
        s->workers[i].s = s;
        pthread_cond_init(&s->workers[i].cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    atomic_store(&s->timer_hint, UINT64_MAX);
    s->next_acct = 0;

    /* Workers take no signals: the process's handlers run on the thread
     * that waits for events. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < c.workers; i++) {
        rc = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
        if (rc)
            break;
        s->nstarted++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        stop_workers(s);
        sched_destroy(s);
        err_errno(err, rc, "cannot start scheduler worker threads");
        return NULL;
    }
    return s;
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    stop_workers(s);
    sched_destroy(s);
}

unsigned sched_workers(const struct sched *s) { return s->nworkers; }

/* ---- VMs ------------------------------------------------------------------------------- */

struct sched_vm *sched_vm_add(struct sched *s, const struct sched_vm_params *p,
                              struct disco_err *err)
{
    if (!p->harts || p->nharts < 1 || p->nharts > SCHED_MAX_VCPUS) {
        err_set(err, -EINVAL, "bad number of vCPUs %u (1..%u)", p->nharts, SCHED_MAX_VCPUS);
        return NULL;
    }
    for (unsigned i = 0; i < p->nharts; i++)
        if (!p->harts[i]) {
            err_set(err, -EINVAL, "vCPU %u has no hart", i);
            return NULL;
        }
    if (p->weight > SCHED_MAX_WEIGHT || p->cap > 100u * SCHED_MAX_WORKERS) {
        err_set(err, -EINVAL, "bad weight %u (1..%u) or cap %u%%", p->weight, SCHED_MAX_WEIGHT,
                p->cap);
        return NULL;
    }
    struct sched_vm *v = calloc(1, sizeof *v + p->nharts * sizeof v->vcpu[0]);
    if (!v) {
        err_set(err, -ENOMEM, "out of memory for the VM's vCPUs");
        return NULL;
    }
    v->s = s;
    if (p->ops)
        v->ops = *p->ops;
    v->ctx = p->ctx;
    v->n = p->nharts;
    v->max_chunk = p->max_chunk;
    v->weight = p->weight ? p->weight : SCHED_DEFAULT_WEIGHT;
    v->cap = p->cap;
    v->paused = true;
    for (unsigned i = 0; i < v->n; i++) {
        struct vcpu *c = &v->vcpu[i];
        c->vm = v;
        c->idx = i;
        c->hart = p->harts[i];
        c->state = SCHED_VCPU_PAUSED;
        c->heap_idx = NO_HEAP;
        c->rate = INITIAL_RATE;
    }
    pthread_mutex_lock(&s->lock);
    if (s->heap_cap < s->total_vcpus + v->n) {
        size_t cap = s->total_vcpus + v->n;
        cap = cap < 16 ? 16 : cap * 2;
        struct vcpu **h = realloc(s->heap, cap * sizeof *h);
        if (!h) {
            pthread_mutex_unlock(&s->lock);
            free(v);
            err_set(err, -ENOMEM, "out of memory for the timer heap");
            return NULL;
        }
        s->heap = h;
        s->heap_cap = cap;
    }
    s->total_vcpus += v->n;
    if (v->cap)
        v->cap_left = cap_quota(s, v);
    v->next = s->vms;
    if (s->vms)
        s->vms->prev = v;
    s->vms = v;
    pthread_mutex_unlock(&s->lock);
    return v;
}

void sched_vm_pause(struct sched_vm *v)
{
    struct sched *s = v->s;
    pthread_mutex_lock(&s->lock);
    if (!v->paused) {
        v->paused = true;
        for (unsigned i = 0; i < v->n; i++) {
            struct vcpu *c = &v->vcpu[i];
            switch (c->state) {
            case SCHED_VCPU_RUNNABLE: q_remove(c); c->state = SCHED_VCPU_PAUSED; break;
            case SCHED_VCPU_SLEEPING:
                heap_remove(s, c);
                trimq_remove(s, c);
                c->state = SCHED_VCPU_PAUSED;
                break;
            case SCHED_VCPU_BLOCKED:
                trimq_remove(s, c);
                c->state = SCHED_VCPU_PAUSED;
                break;
            case SCHED_VCPU_RUNNING:
                if (!c->trimming)   /* a trim ends by itself */
                    preempt(c);
                break;
            case SCHED_VCPU_PAUSED: break;
            }
            c->woken = false;
        }
    }
    /* Unbounded on purpose: the machine may only be touched (or freed)
     * once no worker runs its harts; rv_hart_run returns at its next block
     * boundary once exit_request is set. */
    while (v->nrunning)
        pthread_cond_wait(&s->pause_cv, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void sched_vm_resume(struct sched_vm *v)
{
    struct sched *s = v->s;
    pthread_mutex_lock(&s->lock);
    if (v->paused) {
        v->paused = false;
        for (unsigned i = 0; i < v->n; i++)
            if (v->vcpu[i].state == SCHED_VCPU_PAUSED)
                make_runnable(s, &v->vcpu[i], false, true);
    }
    pthread_mutex_unlock(&s->lock);
}

void sched_vm_remove(struct sched_vm *v)
{
    if (!v)
        return;
    struct sched *s = v->s;
    sched_vm_pause(v);
    pthread_mutex_lock(&s->lock);
    if (v->parked) {
        struct vcpu *c;
        while ((c = q_pop(&v->parkq)))
            ;
        s->nparked--;
    }
    if (v->prev)
        v->prev->next = v->next;
    else
        s->vms = v->next;
    if (v->next)
        v->next->prev = v->prev;
    s->total_vcpus -= v->n;
    pthread_mutex_unlock(&s->lock);
    free(v);
}

int sched_vm_set_harts(struct sched_vm *v, struct rv_hart *const *harts, unsigned n)
{
    struct sched *s = v->s;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (!v->paused || v->nrunning || n != v->n) {
        rc = -EINVAL;
    } else {
        for (unsigned i = 0; i < n; i++)
            if (!harts[i])
                rc = -EINVAL;
        for (unsigned i = 0; i < n && rc == 0; i++) {
            v->vcpu[i].hart = harts[i];
            atomic_store(&v->vcpu[i].in_guest, 0);
            atomic_store(&v->vcpu[i].fencing, 0);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void sched_vm_set_weight(struct sched_vm *v, unsigned weight)
{
    pthread_mutex_lock(&v->s->lock);
    v->weight = weight == 0 ? SCHED_DEFAULT_WEIGHT
                            : weight > SCHED_MAX_WEIGHT ? SCHED_MAX_WEIGHT : weight;
    pthread_mutex_unlock(&v->s->lock);
}

void sched_vm_set_cap(struct sched_vm *v, unsigned cap)
{
    struct sched *s = v->s;
    pthread_mutex_lock(&s->lock);
    if (cap > 100u * s->nworkers)
        cap = 100u * s->nworkers;
    v->cap = cap;
    if (!cap && v->parked)
        unpark(s, v);
    else if (cap && v->cap_left > cap_quota(s, v))
        v->cap_left = cap_quota(s, v);
    pthread_mutex_unlock(&s->lock);
}

void sched_wake(struct sched_vm *v, unsigned i)
{
    if (i >= v->n)
        return;
    struct sched *s = v->s;
    struct vcpu *c = &v->vcpu[i];
    pthread_mutex_lock(&s->lock);
    switch (c->state) {
    case SCHED_VCPU_SLEEPING:
        heap_remove(s, c);
        /* fallthrough */
    case SCHED_VCPU_BLOCKED:
        c->wakeups++;
        make_runnable(s, c, true, true);
        break;
    case SCHED_VCPU_RUNNING: c->woken = true; break;
    case SCHED_VCPU_RUNNABLE: {
        /* Directed yield: a sibling kicks a vCPU that is waiting for a
         * worker (preempted, or out of its slice). The sender usually
         * waits for the target next (an IPI for a function call, a TLB
         * shootdown), spinning away its slice while the target cannot run:
         * give the target the head of its queue and the sender's worker.
         * The target keeps its own class, so a VM cannot climb over
         * others this way. */
        struct vcpu *me = running_here;
        if (me && me->vm == v && me != c && c->q != &v->parkq) {
            q_remove(c);
            q_push(&s->rq[vcpu_class(c)], c, true);
            if (!kick_idle(s) && !atomic_load(&me->preempt)) {
                me->yielded = true;
                preempt(me);
            }
        }
        break;
    }
    case SCHED_VCPU_PAUSED: break;
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- remote fences --------------------------------------------------------------------
 *
 * The SBI sets flush_request on the targets, then waits here. A target
 * counts as done when
 *   - its request bits are clear (it served them at a block boundary), or
 *   - it is not inside rv_hart_run (in_guest == 0): rv_hart_run serves
 *     flush_request on entry, before the first instruction, so a sleeping,
 *     blocked, paused or queued vCPU cannot use a stale TLB entry. HSM
 *     STOPPED harts are also reset (flushed whole) by hart_start. Ordering:
 *     the request (a seq_cst RMW) precedes our seq_cst load of in_guest; a
 *     worker that stores in_guest = 1 after that load reads flush_request
 *     after it, in rv_hart_run, and sees the request;
 *   - it is itself waiting here (fencing): it is inside an SBI ecall, which
 *     ends its block, and the CPU serves flush_request at that block
 *     boundary before the next guest instruction. Counting it as done is
 *     what keeps two harts fencing each other at the same time from
 *     waiting for each other forever.
 * The caller itself is skipped for the same reason (served right after
 * its ecall).
 * Waiting spins briefly, then yields the host CPU between checks (the
 * target serves within about a thousand guest instructions once it runs),
 * and gives up after FENCE_TIMEOUT_NS: a target stuck that long is not
 * executing guest instructions (e.g. inside a slow device access) and
 * serves the request before its next block. */
/* Wait for the vCPUs of v in mask (except vCPU `skip`) to serve `bits`, as
 * described above. me: the caller's own vCPU (of any VM) or NULL; it counts
 * as fencing meanwhile, so that one waiting for it does not wait forever. */
static bool fence_wait(struct sched_vm *v, struct vcpu *me, unsigned skip, uint64_t mask,
                       int bits)
{
    bool served = true;
    if (me)
        atomic_store(&me->fencing, 1);
    uint64_t deadline = 0;
    for (unsigned i = 0; i < v->n && i < 64; i++) {
        if (!(mask & (1ull << i)) || i == skip)
            continue;
        struct vcpu *t = &v->vcpu[i];
        unsigned spins = 0;
        /* in_device: inside a device callback, which may wait for a lock
         * the caller holds; it serves FLUSH_TLB before its next access. */
        while ((atomic_load(&t->hart->flush_request) & bits) && atomic_load(&t->in_guest) &&
               !atomic_load(&t->fencing) && !atomic_load(&t->hart->in_device)) {
            if (++spins < FENCE_SPINS) {
                cpu_relax();
                continue;
            }
            uint64_t now = mono_ns();
            if (!deadline)
                deadline = now + FENCE_TIMEOUT_NS;
            else if (now >= deadline) {
                served = false;
                goto out;
            }
            sched_yield();
        }
    }
out:
    if (me)
        atomic_store(&me->fencing, 0);
    return served;
}

void sched_fence_wait(struct sched_vm *v, unsigned self, uint64_t mask, int bits)
{
    fence_wait(v, self < v->n ? &v->vcpu[self] : NULL, self, mask, bits);
}

/* ---- statistics ---------------------------------------------------------------------------- */

void sched_vcpu_stats(struct sched_vm *v, unsigned i, struct sched_vcpu_stats *st)
{
    memset(st, 0, sizeof *st);
    if (i >= v->n)
        return;
    pthread_mutex_lock(&v->s->lock);
    const struct vcpu *c = &v->vcpu[i];
    st->state = c->trimming ? c->trim_state : c->state;
    st->cpu_ns = c->cpu_ns;
    st->run_ns = c->run_ns;
    st->instret = c->instret;
    st->slices = c->slices;
    st->wakeups = c->wakeups;
    st->preemptions = c->preemptions;
    st->trims = c->trims;
    pthread_mutex_unlock(&v->s->lock);
}

void sched_vm_stats(struct sched_vm *v, struct sched_vm_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&v->s->lock);
    st->nvcpus = v->n;
    st->weight = v->weight;
    st->cap = v->cap;
    st->parked = v->parked;
    st->parks = v->parks;
    for (unsigned i = 0; i < v->n; i++) {
        const struct vcpu *c = &v->vcpu[i];
        st->cpu_ns += c->cpu_ns;
        st->run_ns += c->run_ns;
        st->instret += c->instret;
        st->slices += c->slices;
        st->wakeups += c->wakeups;
        st->preemptions += c->preemptions;
        st->trims += c->trims;
    }
    st->credit_ns = v->credit;
    pthread_mutex_unlock(&v->s->lock);
}

/* Copy-on-write shootdown (see sched.h). The calling thread's own vCPU
 * (running_here: a worker inside a slice, e.g. in ram_page) is the one that
 * broke the page: it serves its FLUSH_TLB as soon as its bus call returns,
 * so it is not waited for, and it counts as fencing while it waits, which
 * is sound for the same reason as for an SBI fence: a vCPU waiting here is
 * inside a bus callback and serves its flush before its next guest
 * instruction (the CPU serves FLUSH_TLB right after ram_page(for_write) and
 * device callbacks return). That keeps two vCPUs that break pages at the
 * same time from waiting for each other. Its VM may be another than v (a
 * device of one VM writing another's memory): it is marked all the same.
 * Other threads (event loop, API) have no vCPU and just wait. */
bool sched_vm_shootdown(struct sched_vm *v, int bits, bool wait)
{
    if (!v || !bits)
        return true;
    uint64_t mask = 0;
    for (unsigned i = 0; i < v->n && i < 64; i++) {
        atomic_fetch_or(&v->vcpu[i].hart->flush_request, bits);
        mask |= 1ull << i;
    }
    if (!wait)
        return true;
    struct vcpu *me = running_here;
    unsigned skip = me && me->vm == v ? me->idx : ~0u;
    return fence_wait(v, me, skip, mask, bits);
}

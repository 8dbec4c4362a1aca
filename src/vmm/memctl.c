/* The memory controller (see memctl.h for what it does).
 *
 * Threads. All controller work (a "tick": scanning, sampling, reclaim) runs
 * on the event loop's thread, woken by a timerfd (the next deadline) and an
 * eventfd (the pool's pressure hook, a VM added). File descriptors rather
 * than evloop timers because evloop_del is a clean barrier from any thread,
 * so memctl_free needs no handshake with a loop that may have stopped.
 * `work` serialises ticks (memctl_poll from a test thread included).
 *
 * mc->lock guards the VM list, the reservations' sum, each VM's pins and
 * removed flag, and the numbers memctl_vm_stats reads. A tick pins the VMs
 * it works on (pins > 0) and never holds mc->lock while calling a VM's ops,
 * so the ops may take the VM's own locks. memctl_vm_remove unlinks the VM
 * and waits until it is unpinned; from inside a tick on the same thread (an
 * op calling it) it cannot wait, so the tick frees it when unpinning and
 * stops touching it (its pmap may be gone) once an op returns.
 *
 * Policy numbers (defaults; see memctl.h for the ESX model):
 *   - scanning: scan_batch pages per VM per scan_interval, as one quiesce;
 *     after a full round over RAM that merged or dropped at most 1/256 of
 *     the VM's touched pages, the VM is scanned at 1/16 of that rate
 *     (batches 4x bigger, 64x less often, so 16x fewer quiesces too), until
 *     its touched pages grow by max(4 MiB, 1/32) or the pool is under
 *     pressure. The CPU used is a token bucket of scan_cpu_pct of one CPU.
 *   - limit: a VM holding more than its limit is swapped down to limit -
 *     limit/16, 2048 pages per quiesce; between batches the guest runs at
 *     least as long as the batch stopped it. While a VM holds more than
 *     7/8 of its limit and keeps growing it is polled every 1 ms (doubling
 *     up to scan_interval while it does not grow).
 *   - pool: over the soft mark, 250 ms of hard scanning (no back-off,
 *     2048-page batches), then per-VM targets (lowest shares per page with
 *     the idle tax gives first, never below its reservation) to bring usage
 *     to budget * 29/32, balloons set toward them, 2 s for the guests to
 *     inflate, then swap down to the targets. Over the budget itself: swap
 *     at once until under it. Below budget * 7/8 balloons are given back. */
#define _GNU_SOURCE
#include "vmm/memctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "mem/pmap.h"
#include "util/clock.h"
#include "vmm/evloop.h"
#include "vmm/vm.h"

#define PAGE PMAP_PAGE_SIZE
#define MIB (1ull << 20)
#define MAX_BATCH 2048u                 /* pages per quiesce: a VM is never stopped long */
#define BACKOFF_SHIFT 4                 /* idle VMs: 1/16 of the scan rate */
#define BACKOFF_BATCH_SHIFT 2           /* ... in batches up to 4x bigger */
#define ROUND_IDLE_DIV 256u             /* a round "found nothing": gain <= touched/256 */
#define GROWTH_MIN_PAGES 1024u          /* touched growth that ends the back-off: 4 MiB ... */
#define GROWTH_DIV 32u                  /* ... or 1/32 of the touched pages */
#define SHARE_PHASE_NS 250000000ull     /* hard scanning before ballooning */
#define BALLOON_WAIT_NS 2000000000ull   /* time the guests get to inflate */
#define PRESSURE_POLL_NS 10000000ull    /* re-look while the pool is over its mark */
#define REARM_MIN_NS 1000000ull         /* shortest gap between swap batches of one VM */
#define STUCK_RETRY_NS 100000000ull     /* a VM whose swap made no progress */
#define ERROR_RETRY_NS 1000000000ull    /* a VM whose swap failed (swap store error) */
#define LIMIT_POLL_MIN_NS 1000000ull    /* a VM with a limit, growing fast */
#define LIMIT_POLL_MAX_NS 1000000000ull /* ... far below its limit and not growing */
#define LIMIT_RATE_PAGES_MS 64u         /* the fastest a guest is assumed to start touching */
#define SAMPLE_FAST_SHIFT 1             /* moving averages of f: weight 1/2 ... */
#define SAMPLE_SLOW_SHIFT 3             /* ... and 1/8 for each new sample */

enum reclaim_phase {
    PH_IDLE,      /* pool under its soft mark */
    PH_SHARE,     /* over it: scan hard first */
    PH_BALLOON,   /* balloons set toward the targets: wait for the guests */
    PH_SWAP,      /* swap what remains over the targets */
};

struct memctl_vm {
    struct memctl *mc;
    struct memctl_vm *prev, *next;      /* mc->vms (mc->lock) */
    char name[64];
    struct pmap *pm;
    uint64_t mem, reservation, limit;   /* bytes; limit effective (mem if none) */
    unsigned shares;
    char domain[MPOOL_DOMAIN_NAME_MAX + 1];
    struct memctl_vm_ops ops;
    void *ctx;

    /* mc->lock */
    unsigned pins;
    _Atomic bool removed;
    /* Removed from inside a tick on its thread (an op called
     * memctl_vm_remove): freed when unpinned; after the op returns nothing
     * of it (ops, ctx, pmap) may be used, not even unquiesce. */
    _Atomic bool dead;
    bool free_on_unpin;
    uint64_t working_set, target, balloon_target;
    unsigned active_permille;

    /* tick only (serialised by mc->work) */
    uint64_t held, touched, shared;     /* pages, from the last look */
    unsigned scan_shift;
    uint64_t next_scan_ns;
    uint64_t round_mark, round_gain0;   /* scan_rounds / merges + zero drops at round start */
    uint64_t touched_mark;              /* touched pages when it was backed off */
    bool sampling;
    uint64_t sample_end_ns;
    unsigned f_fast, f_slow;            /* permille; valid once have_f */
    bool have_f;
    bool limit_swapping;                /* hysteresis: down to limit - limit/16 */
    uint64_t next_swap_ns;              /* duty cycle / retry of swap batches */
    uint64_t limit_poll_ns, limit_poll_period, limit_held_seen, limit_seen_ns;
    uint64_t pool_target;               /* pages; UINT64_MAX: none (pool not reclaiming) */
    bool swap_stuck;                    /* its last swap batch made no progress */
};

struct memctl {
    struct mpool *pool;
    struct evloop *ev;
    int timer_fd, wake_fd;
    bool timer_watched, wake_watched;
    /* resolved config */
    uint64_t scan_interval;
    unsigned scan_batch, scan_cpu_pct, tax_pct, sample_pages;
    uint64_t sample_period;

    pthread_mutex_t lock;
    pthread_cond_t unpinned;
    struct memctl_vm *vms;
    unsigned nvms;
    uint64_t reserved;                  /* bytes: reservations of the VMs added */
    bool ticking;                       /* a tick runs on tick_thread */
    pthread_t tick_thread;

    pthread_mutex_t work;               /* one tick at a time */
    /* tick only */
    int64_t credit_ns;                  /* scanning CPU left (token bucket) */
    uint64_t credit_at;
    unsigned rr;                        /* round-robin start of the scan */
    uint64_t seed;
    enum reclaim_phase phase;
    uint64_t phase_deadline;
    uint64_t armed_ns;                  /* the timerfd's deadline, 0: disarmed */
};

/* ---- small helpers --------------------------------------------------------------- */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* "64 MiB", "1536 KiB" or "12345 bytes": sizes in messages as a user gave them. */
static const char *size_str(char *buf, size_t n, uint64_t v)
{
    if (!v)
        snprintf(buf, n, "0 MiB");
    else if (!(v & (MIB - 1)))
        snprintf(buf, n, "%llu MiB", (unsigned long long)(v >> 20));
    else if (!(v & 1023))
        snprintf(buf, n, "%llu KiB", (unsigned long long)(v >> 10));
    else
        snprintf(buf, n, "%llu bytes", (unsigned long long)v);
    return buf;
}

static void wake_loop(struct memctl *mc)
{
    uint64_t one = 1;
    ssize_t r = write(mc->wake_fd, &one, sizeof one);
    (void)r;
}

/* The pool's pressure hook: any thread (a hart's too), so only a wake-up. */
static void pressure_hook(void *ctx)
{
    wake_loop(ctx);
}

static bool gone(struct memctl_vm *mv)
{
    return atomic_load(&mv->removed);
}

static bool dead(struct memctl_vm *mv)
{
    return atomic_load(&mv->dead);
}

/* ---- validation --------------------------------------------------------------------- */

/* The checks of memctl_check; mc->lock held (the reservations' sum). */
static int check_locked(struct memctl *mc, uint64_t mem, uint64_t reservation, uint64_t limit,
                        const char *share_domain, struct disco_err *err)
{
    char a[32], b[32], c[32], d[32];
    if (!limit)
        limit = mem;
    if (limit < VM_MIN_MEM)
        return err_set(err, -EINVAL, "memory limit %s is below the minimum of %s",
                       size_str(a, sizeof a, limit), size_str(b, sizeof b, VM_MIN_MEM));
    if (limit > mem)
        return err_set(err, -EINVAL, "memory limit %s is more than the VM's memory (%s)",
                       size_str(a, sizeof a, limit), size_str(b, sizeof b, mem));
    if (reservation > limit)
        return err_set(err, -EINVAL, "memory reservation %s is more than the VM's %s (%s)",
                       size_str(a, sizeof a, reservation),
                       limit == mem ? "memory" : "memory limit", size_str(b, sizeof b, limit));
    if (share_domain && !mpool_domain(mc->pool, share_domain))
        return err_set(err, -EINVAL, "bad sharing domain '%.80s' (1..%u characters of "
                       "A-Z a-z 0-9 _ . -)", share_domain, MPOOL_DOMAIN_NAME_MAX);
    uint64_t budget = mpool_budget(mc->pool);
    if (reservation > budget || mc->reserved > budget - reservation)
        return err_set(err, -ENOMEM, "memory reservations would total %s (%s already reserved "
                       "+ %s), more than the memory budget of %s",
                       size_str(a, sizeof a, mc->reserved + reservation),
                       size_str(b, sizeof b, mc->reserved), size_str(c, sizeof c, reservation),
                       size_str(d, sizeof d, budget));
    return 0;
}

int memctl_check(struct memctl *mc, uint64_t mem, uint64_t reservation, uint64_t limit,
                 const char *share_domain, struct disco_err *err)
{
    pthread_mutex_lock(&mc->lock);
    int rc = check_locked(mc, mem, reservation, limit, share_domain, err);
    pthread_mutex_unlock(&mc->lock);
    return rc;
}

/* ---- timers ------------------------------------------------------------------------- */

/* Fire the timerfd at `deadline` (CLOCK_MONOTONIC); 0 disarms. Tick only. */
static void arm(struct memctl *mc, uint64_t deadline)
{
    if (deadline == mc->armed_ns)
        return;
    struct itimerspec its = {0};
    if (deadline) {
        its.it_value.tv_sec = (time_t)(deadline / 1000000000u);
        its.it_value.tv_nsec = (long)(deadline % 1000000000u);
        if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
            its.it_value.tv_nsec = 1;   /* zero would disarm */
    }
    timerfd_settime(mc->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    mc->armed_ns = deadline;
}

/* ---- per-VM work (tick) ------------------------------------------------------------- */

static void look(struct memctl_vm *mv, struct pmap_stats *st)
{
    pmap_stats(mv->pm, st);
    mv->held = st->private_pages + st->shared_pages;
    mv->touched = st->private_pages + st->shared_pages + st->swapped_pages;
    mv->shared = st->shared_pages;
}

/* Active fraction, permille: the larger moving average (ESX), 1000 until
 * the first sample (assume everything is in use). */
static unsigned active_permille(const struct memctl_vm *mv)
{
    if (!mv->have_f)
        return 1000;
    return mv->f_fast > mv->f_slow ? mv->f_fast : mv->f_slow;
}

/* Working-set sampling: end the running sample if its period is over and
 * start the next (no quiesce needed: the TLB flush makes the next touch of
 * a sampled page go through pmap_page). */
static void sample_step(struct memctl *mc, struct memctl_vm *mv, uint64_t now)
{
    if (mv->sampling && now < mv->sample_end_ns)
        return;
    if (mv->sampling) {
        unsigned f = pmap_sample_end(mv->pm);
        if (f > 1000)
            f = 1000;
        if (!mv->have_f) {
            mv->f_fast = mv->f_slow = f;
            mv->have_f = true;
        } else {
            /* EWMA in integers: x += (f - x) / 2^shift */
            mv->f_fast = (unsigned)((int)mv->f_fast + ((int)f - (int)mv->f_fast) / (1 << SAMPLE_FAST_SHIFT));
            mv->f_slow = (unsigned)((int)mv->f_slow + ((int)f - (int)mv->f_slow) / (1 << SAMPLE_SLOW_SHIFT));
        }
        unsigned a = active_permille(mv);
        pthread_mutex_lock(&mc->lock);
        mv->active_permille = a;
        pthread_mutex_unlock(&mc->lock);
    }
    pmap_sample_begin(mv->pm, mc->sample_pages, splitmix64(&mc->seed));
    mv->ops.flush_tlbs(mv->ctx);
    mv->sampling = true;
    mv->sample_end_ns = now + mc->sample_period;
}

/* One scan batch with the VM quiesced. */
static void scan_vm(struct memctl *mc, struct memctl_vm *mv, uint64_t now, bool hard)
{
    unsigned shift = hard ? 0 : mv->scan_shift;
    unsigned bshift = shift < BACKOFF_BATCH_SHIFT ? shift : BACKOFF_BATCH_SHIFT;
    uint64_t batch = hard ? max64(mc->scan_batch, MAX_BATCH) : (uint64_t)mc->scan_batch << bshift;
    if (batch > max64(mc->scan_batch, MAX_BATCH))
        batch = max64(mc->scan_batch, MAX_BATCH);
    /* Interval such that batch / interval = rate >> shift. */
    uint64_t interval = hard ? mc->scan_interval
                             : (mc->scan_interval << shift) * batch / mc->scan_batch;

    uint64_t t0 = thread_cpu_ns();
    mv->ops.quiesce(mv->ctx);
    if (dead(mv))
        return;
    /* Removed from another thread meanwhile: the remover waits for us, so
     * the VM is still there to unquiesce; its pmap is left alone. */
    unsigned changed = gone(mv) ? 0 : pmap_scan(mv->pm, (unsigned)batch);
    if (changed)
        mv->ops.flush_tlbs(mv->ctx);
    if (dead(mv))
        return;
    mv->ops.unquiesce(mv->ctx);
    if (gone(mv))
        return;
    mc->credit_ns -= (int64_t)(thread_cpu_ns() - t0);
    mv->next_scan_ns = now + interval;

    struct pmap_stats st;
    look(mv, &st);
    uint64_t gain = st.merges + st.zero_pages;
    if (st.scan_rounds != mv->round_mark) {
        /* A round over RAM ended: did it find anything? */
        bool idle = (gain - mv->round_gain0) * ROUND_IDLE_DIV <= mv->touched;
        if (idle && !hard) {
            mv->scan_shift = BACKOFF_SHIFT;
            mv->touched_mark = mv->touched;
        } else {
            mv->scan_shift = 0;
        }
        mv->round_mark = st.scan_rounds;
        mv->round_gain0 = gain;
    }
}

/* One bounded swap batch toward `want` fewer held pages, VM quiesced.
 * Returns pages swapped or dropped (<= 0: nothing more for now).
 * `urgent` (over the hard limit or the budget): the guest gets only
 * REARM_MIN_NS before the next batch, since a guest can dirty pages several
 * times faster than they are compressed and written (measured: ~200 vs
 * ~40 pages per ms), so swapping has to throttle it; else it runs at least
 * as long as the batch stopped it. */
static int swap_vm(struct memctl_vm *mv, uint64_t want, uint64_t now, bool urgent)
{
    unsigned n = (unsigned)min64(want, MAX_BATCH);
    if (!n)
        return 0;
    uint64_t t0 = mono_ns();
    mv->ops.quiesce(mv->ctx);
    if (dead(mv))
        return 0;
    int r = gone(mv) ? 0 : pmap_swap_out(mv->pm, n);
    if (r > 0)
        mv->ops.flush_tlbs(mv->ctx);
    if (dead(mv))
        return 0;
    mv->ops.unquiesce(mv->ctx);
    if (gone(mv))
        return 0;
    uint64_t dt = mono_ns() - t0;
    /* The guest runs at least as long as the batch stopped it. */
    if (r > 0)
        mv->next_swap_ns = now + (urgent ? REARM_MIN_NS : max64(REARM_MIN_NS, dt));
    else
        mv->next_swap_ns = now + (r < 0 ? ERROR_RETRY_NS : STUCK_RETRY_NS);
    mv->swap_stuck = r <= 0;
    struct pmap_stats st;
    look(mv, &st);
    return r;
}

/* The VM's own limit: swap it down to limit - limit/16 once above. */
static void limit_step(struct memctl_vm *mv, uint64_t now)
{
    if (mv->limit >= mv->mem)
        return;   /* it cannot hold more than its RAM */
    uint64_t limit = mv->limit / PAGE, low = (mv->limit - mv->limit / 16) / PAGE;
    if (mv->held > limit)
        mv->limit_swapping = true;
    if (mv->limit_swapping && mv->held <= low)
        mv->limit_swapping = false;
    if (mv->limit_swapping && now >= mv->next_swap_ns)
        swap_vm(mv, mv->held - low, now, mv->held > limit);
    if (gone(mv))
        return;
    /* No hook fires for a VM's own limit: look again before it can get
     * there at the rate it grew since the last look (a guest may touch
     * 100+ pages per ms), at least every 1 ms while it grows; while it does
     * not, less and less often (up to scan_interval near the limit, 1 s
     * below 7/8 of it). */
    uint64_t dt = mv->limit_seen_ns ? now - mv->limit_seen_ns : 0;
    uint64_t dist = mv->held < low ? low - mv->held : 0;
    /* Never longer than it takes at LIMIT_RATE_PAGES_MS to get there. */
    uint64_t period = min64(dist * 1000000 / LIMIT_RATE_PAGES_MS, LIMIT_POLL_MAX_NS);
    if (mv->held > mv->limit_held_seen && dt) {
        /* Growing: half the time to get there at the rate seen. */
        uint64_t grown = mv->held - mv->limit_held_seen;
        if (dist < UINT64_MAX / dt)
            period = min64(period, dist * dt / (2 * grown));
    } else {
        /* Not growing: back off (exponentially) up to that. */
        period = min64(period, max64(mv->limit_poll_period, LIMIT_POLL_MIN_NS / 2) * 2);
    }
    mv->limit_poll_period = max64(period, LIMIT_POLL_MIN_NS);
    mv->limit_poll_ns = now + mv->limit_poll_period;
    mv->limit_held_seen = mv->held;
    mv->limit_seen_ns = now;
}

/* ---- pool reclaim --------------------------------------------------------------------- */

/* ESX's shares per page with the idle tax: lower gives first. */
static double ratio(const struct memctl *mc, const struct memctl_vm *mv, uint64_t pages)
{
    double f = active_permille(mv) / 1000.0;
    double k = 1.0 / (1.0 - mc->tax_pct / 100.0);
    double denom = (double)pages * (f + k * (1.0 - f));
    return denom > 0 ? mv->shares / denom : 1e300;
}

/* Per-VM targets (pages) so that the VMs hold `need` pages less in all:
 * from the lowest ratio first, in chunks, never below the reservation. */
static void compute_targets(struct memctl *mc, struct memctl_vm **vms, unsigned n, uint64_t need)
{
    if (n == 0)
        return;   /* the pool can be over its mark with no VM managed (a failed start) */
    uint64_t floor[n];
    for (unsigned i = 0; i < n; i++) {
        struct memctl_vm *mv = vms[i];
        uint64_t base = min64(mv->held, mv->limit / PAGE);
        /* What its limit takes anyway counts toward the need. */
        uint64_t over = mv->held - base;
        need = need > over ? need - over : 0;
        mv->pool_target = base;
        mv->swap_stuck = false;
        floor[i] = min64(mv->reservation / PAGE, base);
    }
    uint64_t chunk = max64(MIB / PAGE, need / 64);
    while (need) {
        int best = -1;
        double best_r = 0;
        for (unsigned i = 0; i < n; i++) {
            if (gone(vms[i]) || vms[i]->pool_target <= floor[i])
                continue;
            double r = ratio(mc, vms[i], vms[i]->pool_target);
            if (best < 0 || r < best_r) {
                best = (int)i;
                best_r = r;
            }
        }
        if (best < 0)
            break;
        struct memctl_vm *mv = vms[best];
        uint64_t d = min64(min64(chunk, mv->pool_target - floor[best]), need);
        mv->pool_target -= d;
        need -= d;
    }
    pthread_mutex_lock(&mc->lock);
    for (unsigned i = 0; i < n; i++)
        vms[i]->target = vms[i]->pool_target * PAGE;
    pthread_mutex_unlock(&mc->lock);
}

static uint64_t used_pages(struct memctl *mc)
{
    struct mpool_stats st;
    mpool_stats(mc->pool, &st);
    return st.used_pages;
}

/* Pages to reclaim to bring the pool to budget * 29/32 (soft mark minus
 * a margin, so one reclaim episode does not end right at the mark). */
static uint64_t reclaim_need(struct memctl *mc)
{
    uint64_t budget = mpool_budget(mc->pool);
    uint64_t goal = (budget - budget / 16 - budget / 32) / PAGE;
    uint64_t used = used_pages(mc);
    return used > goal ? used - goal : 0;
}

/* Ask the guests to inflate toward their targets. Returns true if any
 * balloon took the request. */
static bool set_balloons(struct memctl *mc, struct memctl_vm **vms, unsigned n)
{
    bool any = false;
    for (unsigned i = 0; i < n; i++) {
        struct memctl_vm *mv = vms[i];
        if (gone(mv) || !mv->ops.balloon || mv->held <= mv->pool_target)
            continue;
        uint64_t in_balloon = mv->ops.ballooned ? mv->ops.ballooned(mv->ctx) : 0;
        if (gone(mv))
            continue;
        uint64_t give = (mv->held - mv->pool_target) * PAGE;
        uint64_t keep = mv->mem > in_balloon ? mv->mem - in_balloon : 0;
        keep = keep > give ? keep - give : 0;
        if (keep < VM_MIN_MEM)
            keep = VM_MIN_MEM;
        if (keep >= mv->mem)
            continue;
        if (mv->ops.balloon(mv->ctx, keep) == 0) {
            any = true;
            pthread_mutex_lock(&mc->lock);
            mv->balloon_target = keep;
            pthread_mutex_unlock(&mc->lock);
        }
    }
    return any;
}

/* Plenty of memory again: the guests get their balloon memory back. */
static void release_balloons(struct memctl *mc, struct memctl_vm **vms, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct memctl_vm *mv = vms[i];
        if (gone(mv) || !mv->balloon_target || !mv->ops.balloon)
            continue;
        mv->ops.balloon(mv->ctx, mv->mem);
        pthread_mutex_lock(&mc->lock);
        mv->balloon_target = 0;
        pthread_mutex_unlock(&mc->lock);
    }
}

/* No pool reclaim: each VM may hold up to its limit. */
static void clear_targets(struct memctl *mc, struct memctl_vm **vms, unsigned n)
{
    pthread_mutex_lock(&mc->lock);
    for (unsigned i = 0; i < n; i++) {
        vms[i]->pool_target = UINT64_MAX;
        vms[i]->target = vms[i]->limit;
    }
    pthread_mutex_unlock(&mc->lock);
}

/* Move the pool's reclaim state along (before the per-VM work). */
static void pool_phase(struct memctl *mc, struct memctl_vm **vms, unsigned n, uint64_t now)
{
    uint64_t over_soft = mpool_over_soft(mc->pool);
    uint64_t budget = mpool_budget(mc->pool);
    switch (mc->phase) {
    case PH_IDLE:
        if (over_soft) {
            mc->phase = PH_SHARE;
            mc->phase_deadline = now + SHARE_PHASE_NS;
            compute_targets(mc, vms, n, reclaim_need(mc));
        } else {
            if (used_pages(mc) * PAGE < budget - budget / 8)
                release_balloons(mc, vms, n);
            clear_targets(mc, vms, n);
        }
        break;
    case PH_SHARE:
        if (!over_soft) {
            mc->phase = PH_IDLE;
            clear_targets(mc, vms, n);
        } else if (now >= mc->phase_deadline) {
            compute_targets(mc, vms, n, reclaim_need(mc));
            if (set_balloons(mc, vms, n)) {
                mc->phase = PH_BALLOON;
                mc->phase_deadline = now + BALLOON_WAIT_NS;
            } else {
                mc->phase = PH_SWAP;
            }
        }
        break;
    case PH_BALLOON:
        if (!over_soft) {
            mc->phase = PH_IDLE;
            clear_targets(mc, vms, n);
        } else if (now >= mc->phase_deadline) {
            compute_targets(mc, vms, n, reclaim_need(mc));
            mc->phase = PH_SWAP;
        }
        break;
    case PH_SWAP: {
        uint64_t need = reclaim_need(mc);
        if (!need) {
            mc->phase = PH_IDLE;
            clear_targets(mc, vms, n);
            break;
        }
        /* Everyone at target but still too much (the guests grew): take
         * more, from the ratios as they are now. */
        bool pending = false;
        for (unsigned i = 0; i < n; i++)
            if (!gone(vms[i]) && vms[i]->held > vms[i]->pool_target && !vms[i]->swap_stuck)
                pending = true;
        if (!pending)
            compute_targets(mc, vms, n, need);
        return;
    }
    }
    /* Over the budget itself the swapping starts at once: from targets
     * with the latest samples. */
    if (mc->phase != PH_IDLE && mpool_over_budget(mc->pool))
        compute_targets(mc, vms, n, reclaim_need(mc));
}

/* ---- the tick ----------------------------------------------------------------------------- */

static void unpin(struct memctl *mc, struct memctl_vm *mv)
{
    pthread_mutex_lock(&mc->lock);
    bool free_it = --mv->pins == 0 && mv->free_on_unpin;
    pthread_cond_broadcast(&mc->unpinned);
    pthread_mutex_unlock(&mc->lock);
    if (free_it)
        free(mv);
}

static void tick(struct memctl *mc, bool force)
{
    pthread_mutex_lock(&mc->work);
    uint64_t now = mono_ns();

    /* Pin the VMs: none is freed while this tick may use it. */
    pthread_mutex_lock(&mc->lock);
    unsigned n = mc->nvms, k = 0;
    struct memctl_vm **vms = n ? malloc(n * sizeof *vms) : NULL;
    if (n && !vms) {
        pthread_mutex_unlock(&mc->lock);
        arm(mc, now + mc->scan_interval);   /* try again later */
        pthread_mutex_unlock(&mc->work);
        return;
    }
    for (struct memctl_vm *mv = mc->vms; mv; mv = mv->next) {
        mv->pins++;
        vms[k++] = mv;
    }
    mc->ticking = true;
    mc->tick_thread = pthread_self();
    pthread_mutex_unlock(&mc->lock);

    /* Scanning CPU: scan_cpu_pct of one CPU, banked for one interval. */
    uint64_t cap = mc->scan_interval * mc->scan_cpu_pct / 100;
    mc->credit_ns += (int64_t)((now - mc->credit_at) * mc->scan_cpu_pct / 100);
    if (mc->credit_ns > (int64_t)cap)
        mc->credit_ns = (int64_t)cap;
    mc->credit_at = now;

    struct pmap_stats st;
    pthread_mutex_lock(&mc->lock);
    for (unsigned i = 0; i < n; i++) {
        struct memctl_vm *mv = vms[i];
        look(mv, &st);
        mv->working_set = mv->touched * active_permille(mv) / 1000 * PAGE;
    }
    pthread_mutex_unlock(&mc->lock);
    pool_phase(mc, vms, n, now);
    bool hard = mc->phase != PH_IDLE;
    bool over_budget = mpool_over_budget(mc->pool) > 0;
    bool pool_swap = mc->phase == PH_SWAP || over_budget;

    for (unsigned j = 0; j < n; j++) {
        struct memctl_vm *mv = vms[(mc->rr + j) % n];
        if (gone(mv))
            continue;
        sample_step(mc, mv, now);
        if (gone(mv))
            continue;
        limit_step(mv, now);
        if (gone(mv))
            continue;
        /* Touched pages grew since it was backed off: full speed again. */
        if (mv->touched < mv->touched_mark)
            mv->touched_mark = mv->touched;
        if (mv->scan_shift &&
            mv->touched - mv->touched_mark > max64(GROWTH_MIN_PAGES, mv->touched / GROWTH_DIV)) {
            mv->scan_shift = 0;
            mv->next_scan_ns = now;
        }
        bool due = now >= mv->next_scan_ns || (hard && mv->scan_shift);
        if (mv->held && (force || (due && mc->credit_ns > 0)))
            scan_vm(mc, mv, now, hard);
        else if (!mv->held && due)
            mv->next_scan_ns = now + mc->scan_interval;   /* nothing to scan yet */
        if (gone(mv))
            continue;
        if (pool_swap && mv->held > mv->pool_target && now >= mv->next_swap_ns &&
            (mc->phase == PH_SWAP || mpool_over_budget(mc->pool)))
            swap_vm(mv, mv->held - mv->pool_target, now, mpool_over_budget(mc->pool) > 0);
    }
    if (n)
        mc->rr = (mc->rr + 1) % n;

    /* Next deadline. */
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        struct memctl_vm *mv = vms[i];
        if (gone(mv))
            continue;
        uint64_t scan = mv->next_scan_ns;
        if (mc->credit_ns <= 0)   /* when the bucket has credit again */
            scan = max64(scan, now + (uint64_t)(-mc->credit_ns) * 100 / mc->scan_cpu_pct + 1);
        next = min64(next, scan);
        if (mv->sampling)
            next = min64(next, mv->sample_end_ns);
        if (mv->limit_poll_ns)
            next = min64(next, mv->limit_poll_ns);
        if (mv->limit_swapping || (pool_swap && mv->held > mv->pool_target))
            next = min64(next, max64(mv->next_swap_ns, now + REARM_MIN_NS));
    }
    if (n && mc->phase != PH_IDLE)
        next = min64(next, now + PRESSURE_POLL_NS);
    if (n && mc->phase != PH_IDLE && mc->phase != PH_SWAP)
        next = min64(next, max64(mc->phase_deadline, now + REARM_MIN_NS));
    if (next <= now)
        next = now + REARM_MIN_NS;   /* 0 would disarm; never spin */
    arm(mc, next == UINT64_MAX ? 0 : next);

    pthread_mutex_lock(&mc->lock);
    mc->ticking = false;
    pthread_mutex_unlock(&mc->lock);
    for (unsigned i = 0; i < n; i++)
        unpin(mc, vms[i]);
    free(vms);
    pthread_mutex_unlock(&mc->work);
}

static void timer_fn(void *ctx, int fd, uint32_t events)
{
    (void)events;
    struct memctl *mc = ctx;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&mc->work);
    mc->armed_ns = 0;   /* fired: arm() must set it again */
    pthread_mutex_unlock(&mc->work);
    tick(mc, false);
}

static void wake_fn(void *ctx, int fd, uint32_t events)
{
    (void)events;
    uint64_t v;
    while (read(fd, &v, sizeof v) > 0)
        ;
    tick(ctx, false);
}

void memctl_poll(struct memctl *mc)
{
    tick(mc, true);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

struct memctl *memctl_new(const struct memctl_config *cfg, struct evloop *ev,
                          struct disco_err *err)
{
    struct memctl_config def = {0};
    if (!cfg)
        cfg = &def;
    if (cfg->scan_cpu_pct > 100) {
        err_set(err, -EINVAL, "bad scanning CPU limit %u%% (1..100)", cfg->scan_cpu_pct);
        return NULL;
    }
    unsigned tax = cfg->idle_tax_set || cfg->idle_tax_pct ? cfg->idle_tax_pct
                                                          : MEMCTL_DEFAULT_IDLE_TAX_PCT;
    if (tax >= 100) {
        err_set(err, -EINVAL, "bad idle memory tax %u%% (0..99)", tax);
        return NULL;
    }
    struct memctl *mc = calloc(1, sizeof *mc);
    if (!mc) {
        err_set(err, -ENOMEM, "out of memory for the memory controller");
        return NULL;
    }
    mc->ev = ev;
    mc->timer_fd = mc->wake_fd = -1;
    mc->scan_interval = cfg->scan_interval_ns ? cfg->scan_interval_ns
                                              : MEMCTL_DEFAULT_SCAN_INTERVAL_NS;
    mc->scan_batch = cfg->scan_batch ? cfg->scan_batch : MEMCTL_DEFAULT_SCAN_BATCH;
    mc->scan_cpu_pct = cfg->scan_cpu_pct ? cfg->scan_cpu_pct : MEMCTL_DEFAULT_SCAN_CPU_PCT;
    mc->tax_pct = tax;
    mc->sample_period = cfg->sample_period_ns ? cfg->sample_period_ns
                                              : MEMCTL_DEFAULT_SAMPLE_PERIOD_NS;
    mc->sample_pages = cfg->sample_pages ? cfg->sample_pages : MEMCTL_DEFAULT_SAMPLE_PAGES;
    mc->seed = mono_ns() ^ (uint64_t)(uintptr_t)mc;
    mc->credit_at = mono_ns();
    pthread_mutex_init(&mc->lock, NULL);
    pthread_mutex_init(&mc->work, NULL);
    pthread_cond_init(&mc->unpinned, NULL);
    mc->pool = mpool_new(&cfg->pool, err);
    if (!mc->pool)
        goto fail;
    mc->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    mc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (mc->timer_fd < 0 || mc->wake_fd < 0) {
        err_errno(err, errno, "memory controller: timerfd/eventfd");
        goto fail;
    }
    if (evloop_add(ev, mc->timer_fd, EPOLLIN, timer_fn, mc, err) < 0)
        goto fail;
    mc->timer_watched = true;
    if (evloop_add(ev, mc->wake_fd, EPOLLIN, wake_fn, mc, err) < 0)
        goto fail;
    mc->wake_watched = true;
    mpool_set_pressure_hook(mc->pool, pressure_hook, mc);
    return mc;
fail:
    memctl_free(mc);
    return NULL;
}

void memctl_free(struct memctl *mc)
{
    if (!mc)
        return;
    if (mc->pool)
        mpool_set_pressure_hook(mc->pool, NULL, NULL);
    /* After evloop_del neither callback runs or will run. */
    if (mc->timer_watched)
        evloop_del(mc->ev, mc->timer_fd);
    if (mc->wake_watched)
        evloop_del(mc->ev, mc->wake_fd);
    if (mc->timer_fd >= 0)
        close(mc->timer_fd);
    if (mc->wake_fd >= 0)
        close(mc->wake_fd);
    mpool_free(mc->pool);
    pthread_cond_destroy(&mc->unpinned);
    pthread_mutex_destroy(&mc->work);
    pthread_mutex_destroy(&mc->lock);
    free(mc);
}

struct mpool *memctl_pool(struct memctl *mc)
{
    return mc->pool;
}

struct memctl_vm *memctl_vm_add(struct memctl *mc, const struct memctl_vm_params *p,
                                struct disco_err *err)
{
    if (!p || !p->pm || !p->ops || !p->ops->quiesce || !p->ops->unquiesce || !p->ops->flush_tlbs) {
        err_set(err, -EINVAL, "memory controller: a VM needs a pmap and quiesce, unquiesce "
                "and flush_tlbs");
        return NULL;
    }
    uint64_t mem = pmap_size(p->pm);
    struct memctl_vm *mv = calloc(1, sizeof *mv);
    if (!mv) {
        err_set(err, -ENOMEM, "out of memory for the memory controller");
        return NULL;
    }
    mv->mc = mc;
    snprintf(mv->name, sizeof mv->name, "%s", p->name ? p->name : "VM");
    mv->pm = p->pm;
    mv->mem = mem;
    mv->reservation = p->reservation;
    mv->limit = p->limit ? p->limit : mem;
    mv->shares = p->shares ? p->shares
                           : (unsigned)min64(UINT32_MAX, (mem >> 20) * MEMCTL_SHARES_PER_MIB);
    if (!mv->shares)
        mv->shares = 1;
    if (p->share_domain)
        snprintf(mv->domain, sizeof mv->domain, "%s", p->share_domain);
    mv->ops = *p->ops;
    mv->ctx = p->ctx;
    mv->target = mv->limit;
    mv->pool_target = UINT64_MAX;
    mv->active_permille = 1000;

    pthread_mutex_lock(&mc->lock);
    int rc = check_locked(mc, mem, p->reservation, p->limit, p->share_domain, err);
    if (rc == 0)
        mc->reserved += p->reservation;
    pthread_mutex_unlock(&mc->lock);
    if (rc < 0) {
        if (err && p->name && rc == -EINVAL) {
            /* Say which VM. */
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            err_set(err, rc, "%s: %s", mv->name, msg);
        }
        free(mv);
        return NULL;
    }
    /* Attached already (vm_start failed once and is tried again): the
     * pmap keeps its pool and domain. */
    struct mpool *had = pmap_pool(p->pm);
    int arc = 0;
    if (!had) {
        uint32_t dom = p->share_domain ? mpool_domain(mc->pool, p->share_domain)
                                       : mpool_private_domain(mc->pool);
        arc = pmap_attach(p->pm, mc->pool, dom, err);
    } else if (had != mc->pool) {
        arc = err_set(err, -EBUSY, "%s: its memory belongs to another memory pool", mv->name);
    }
    if (arc < 0) {
        pthread_mutex_lock(&mc->lock);
        mc->reserved -= p->reservation;
        pthread_mutex_unlock(&mc->lock);
        free(mv);
        return NULL;
    }
    pthread_mutex_lock(&mc->lock);
    mv->next = mc->vms;
    if (mc->vms)
        mc->vms->prev = mv;
    mc->vms = mv;
    mc->nvms++;
    pthread_mutex_unlock(&mc->lock);
    wake_loop(mc);   /* the loop arms the timer for it */
    return mv;
}

void memctl_vm_remove(struct memctl_vm *mv)
{
    if (!mv)
        return;
    struct memctl *mc = mv->mc;
    pthread_mutex_lock(&mc->lock);
    if (mv->prev)
        mv->prev->next = mv->next;
    else
        mc->vms = mv->next;
    if (mv->next)
        mv->next->prev = mv->prev;
    mc->nvms--;
    mc->reserved -= mv->reservation;
    atomic_store(&mv->removed, true);
    if (mv->pins && mc->ticking && pthread_equal(mc->tick_thread, pthread_self())) {
        /* Called from inside a tick (an op): the tick stops using it as
         * soon as the op returns and frees it when it unpins. */
        mv->free_on_unpin = true;
        atomic_store(&mv->dead, true);
        pthread_mutex_unlock(&mc->lock);
        return;
    }
    while (mv->pins)
        pthread_cond_wait(&mc->unpinned, &mc->lock);
    pthread_mutex_unlock(&mc->lock);
    free(mv);
}

void memctl_vm_stats(struct memctl_vm *mv, struct memctl_vm_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!mv)
        return;
    struct memctl *mc = mv->mc;
    pthread_mutex_lock(&mc->lock);
    st->reservation = mv->reservation;
    st->limit = mv->limit;
    st->shares = mv->shares;
    snprintf(st->share_domain, sizeof st->share_domain, "%s", mv->domain);
    st->working_set = mv->working_set;
    st->active_permille = mv->active_permille;
    st->target = mv->target;
    st->balloon_target = mv->balloon_target;
    pthread_mutex_unlock(&mc->lock);
}

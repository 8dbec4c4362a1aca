/* The memory controller (vmm/memctl.h) on its own and wired into VMs:
 *   - memctl_new / memctl_check refuse bad parameters with messages that
 *     name the numbers;
 *   - policy with stand-in VMs (pmaps and recording ops, the controller
 *     driven by memctl_poll on this thread): over the soft mark the VM with
 *     the lowest shares per page (an idle one, taxed) gives first, balloon
 *     first, swap after, and balloons are given back once memory is
 *     plentiful;
 *   - removal: from another thread while an op runs (waits for it), from
 *     inside an op (no deadlock, nothing touched after);
 *   - real VMs (tests/unit/vm_progs): identical pages merge and zero pages
 *     drop; a VM with a 64 MiB limit writes and verifies 200 MiB and holds
 *     about its limit while doing so; a user pause survives controller
 *     quiesces; VMs stopped while the controller scans them.
 * Every wait is a bounded poll. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mem/mpool.h"
#include "mem/pmap.h"
#include "t.h"
#include "util/clock.h"
#include "vmm/evloop.h"
#include "vmm/memctl.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

#define MIB (1ull << 20)
#define RAM_BASE 0x80000000ull

static char progdir[PATH_MAX];

static void pace_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const char *prog(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s.elf", progdir, name);
    return path;
}

static bool have_progs(void)
{
    return access(prog("share_fill"), R_OK) == 0 && access(prog("swap_pattern"), R_OK) == 0;
}

/* ---- stand-in VMs: a pmap and ops that record what the controller does ---------- */

struct fake {
    struct pmap *pm;
    struct memctl_vm *mv;
    struct memctl *mc;
    _Atomic int quiesced, quiesces, inside;
    _Atomic int flushes;
    _Atomic uint64_t balloon_keep;     /* last balloon request, 0: none */
    _Atomic int balloons;
    _Atomic unsigned slow_quiesce_ms;  /* quiesce takes this long */
    _Atomic bool remove_in_quiesce;    /* remove itself (and free its pmap) from quiesce */
};

static void f_quiesce(void *ctx)
{
    struct fake *f = ctx;
    atomic_fetch_add(&f->inside, 1);
    atomic_fetch_add(&f->quiesces, 1);
    atomic_fetch_add(&f->quiesced, 1);
    unsigned ms = atomic_load(&f->slow_quiesce_ms);
    if (ms)
        pace_ms(ms);   /* a VM slow to stop: the remover must wait for this */
    if (atomic_exchange(&f->remove_in_quiesce, false)) {
        memctl_vm_remove(f->mv);
        f->mv = NULL;
        pmap_free(f->pm);   /* the controller must not touch it any more */
        f->pm = NULL;
    }
    atomic_fetch_sub(&f->inside, 1);
}

static void f_unquiesce(void *ctx)
{
    struct fake *f = ctx;
    atomic_fetch_sub(&f->quiesced, 1);
}

static void f_flush(void *ctx)
{
    struct fake *f = ctx;
    atomic_fetch_add(&f->flushes, 1);
}

static int f_balloon(void *ctx, uint64_t keep)
{
    struct fake *f = ctx;
    atomic_store(&f->balloon_keep, keep);
    atomic_fetch_add(&f->balloons, 1);
    return 0;
}

static const struct memctl_vm_ops fake_ops = {f_quiesce, f_unquiesce, f_flush, NULL, NULL};
static const struct memctl_vm_ops fake_ops_balloon = {f_quiesce, f_unquiesce, f_flush,
                                                      f_balloon, NULL};

static bool fake_add(struct fake *f, struct memctl *mc, uint64_t mem, uint64_t reservation,
                     const struct memctl_vm_ops *ops)
{
    memset(f, 0, sizeof *f);
    f->mc = mc;
    f->pm = pmap_new(RAM_BASE, mem, NULL);
    if (!f->pm)
        return false;
    struct memctl_vm_params p = {.name = "fake", .pm = f->pm, .reservation = reservation,
                                 .ops = ops, .ctx = f};
    struct disco_err err = {0};
    f->mv = memctl_vm_add(mc, &p, &err);
    if (!f->mv)
        printf("memctl_vm_add: %s\n", err.msg);
    return f->mv != NULL;
}

static void fake_del(struct fake *f)
{
    memctl_vm_remove(f->mv);
    f->mv = NULL;
    pmap_free(f->pm);
    f->pm = NULL;
}

/* Write n distinct (unshareable) pages from page `first`. */
static void fill_distinct(struct pmap *pm, uint64_t first, uint64_t n, uint64_t salt)
{
    uint64_t buf[512];
    for (uint64_t i = 0; i < n; i++) {
        for (unsigned w = 0; w < 512; w += 64)
            buf[w] = (first + i) * 0x9e3779b97f4a7c15ull ^ salt ^ w;
        for (unsigned w = 0; w < 512; w++)
            if (w % 64)
                buf[w] = salt + w;
        pmap_write(pm, RAM_BASE + (first + i) * 4096, buf, sizeof buf);
    }
}

static uint64_t held_pages(struct pmap *pm)
{
    struct pmap_stats st;
    pmap_stats(pm, &st);
    return st.private_pages + st.shared_pages;
}

/* ---- memctl_new / memctl_check ---------------------------------------------------- */

static void test_check_messages(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct disco_err err = {0};
    struct memctl_config bad = {.idle_tax_pct = 100};
    CHECK(memctl_new(&bad, ev, &err) == NULL);
    CHECK(strstr(err.msg, "tax") != NULL);
    bad = (struct memctl_config){.scan_cpu_pct = 101};
    CHECK(memctl_new(&bad, ev, &err) == NULL);
    bad = (struct memctl_config){.pool.budget = 1 * MIB};
    CHECK(memctl_new(&bad, ev, &err) == NULL);

    struct memctl_config cfg = {.pool.budget = 256 * MIB, .pool.swap_dir = "/tmp"};
    struct memctl *mc = memctl_new(&cfg, ev, &err);
    CHECK(mc != NULL);
    if (!mc) {
        evloop_free(ev);
        return;
    }
    CHECK_EQ(memctl_check(mc, 128 * MIB, 0, 0, NULL, &err), 0);
    CHECK_EQ(memctl_check(mc, 128 * MIB, 16 * MIB, 64 * MIB, "web.tier-1", &err), 0);
    CHECK_EQ(memctl_check(mc, 128 * MIB, 200 * MIB, 0, NULL, &err), -EINVAL);
    CHECK(strstr(err.msg, "reservation 200 MiB") && strstr(err.msg, "128 MiB"));
    CHECK_EQ(memctl_check(mc, 128 * MIB, 0, 8 * MIB, NULL, &err), -EINVAL);
    CHECK(strstr(err.msg, "limit 8 MiB") && strstr(err.msg, "16 MiB"));
    CHECK_EQ(memctl_check(mc, 128 * MIB, 0, 256 * MIB, NULL, &err), -EINVAL);
    CHECK(strstr(err.msg, "limit 256 MiB") != NULL);
    CHECK_EQ(memctl_check(mc, 128 * MIB, 64 * MIB, 32 * MIB, NULL, &err), -EINVAL);
    CHECK(strstr(err.msg, "64 MiB") && strstr(err.msg, "32 MiB"));
    CHECK_EQ(memctl_check(mc, 128 * MIB, 0, 0, "bad domain!", &err), -EINVAL);
    CHECK(strstr(err.msg, "bad domain!") != NULL);
    CHECK_EQ(memctl_check(mc, 128 * MIB, 0, 0, "", &err), -EINVAL);

    /* Reservations add up against the budget. */
    struct fake a;
    CHECK(fake_add(&a, mc, 256 * MIB, 200 * MIB, &fake_ops));
    CHECK_EQ(memctl_check(mc, 128 * MIB, 100 * MIB, 0, NULL, &err), -ENOMEM);
    CHECK(strstr(err.msg, "300 MiB") && strstr(err.msg, "256 MiB"));
    struct pmap *pm = pmap_new(RAM_BASE, 128 * MIB, NULL);
    struct memctl_vm_params p = {.name = "second", .pm = pm, .reservation = 100 * MIB,
                                 .ops = &fake_ops};
    CHECK(memctl_vm_add(mc, &p, &err) == NULL);
    CHECK_EQ(err.code, -ENOMEM);
    p.reservation = 56 * MIB;   /* exactly what is left */
    struct memctl_vm *mv = memctl_vm_add(mc, &p, &err);
    CHECK(mv != NULL);
    struct memctl_vm_stats st;
    memctl_vm_stats(mv, &st);
    CHECK_EQ(st.reservation, 56 * MIB);
    CHECK_EQ(st.limit, 128 * MIB);
    CHECK_EQ(st.shares, 128 * MEMCTL_SHARES_PER_MIB);
    CHECK_EQ(st.share_domain[0], 0);
    memctl_vm_remove(mv);
    pmap_free(pm);
    fake_del(&a);
    /* Removing gives the reservation back. */
    CHECK_EQ(memctl_check(mc, 256 * MIB, 256 * MIB, 0, NULL, &err), 0);
    memctl_free(mc);
    evloop_free(ev);
}

/* ---- policy with stand-ins ------------------------------------------------------------ */

/* Budget 64 MiB (soft mark 60 MiB); A and B hold 40 MiB each, same shares.
 * B keeps touching its pages, A is idle: the idle tax makes A give first.
 * A has a balloon: it is asked before anything is swapped; the test plays
 * the guest and gives the pages back (pmap_discard). Then memory is
 * plentiful again and the balloon is released (target back to all of A's
 * memory). */
static void test_policy_idle_tax_balloon_swap(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct memctl_config cfg = {
        .pool = {.budget = MPOOL_MIN_BUDGET, .swap_dir = "/tmp"},
        .scan_interval_ns = 1000000,
        .sample_period_ns = 5000000,
        .sample_pages = 200,
    };
    struct disco_err err = {0};
    struct memctl *mc = memctl_new(&cfg, ev, &err);
    CHECK(mc != NULL);
    if (!mc) {
        evloop_free(ev);
        return;
    }
    struct fake a, b;
    CHECK(fake_add(&a, mc, 64 * MIB, 0, &fake_ops_balloon));
    CHECK(fake_add(&b, mc, 64 * MIB, 0, &fake_ops));
    /* 62 MiB in all: over the soft mark (60), under the budget (64). */
    const uint64_t pages = 40 * MIB / 4096, bpages = 22 * MIB / 4096;
    fill_distinct(a.pm, 0, pages, 1);
    fill_distinct(b.pm, 0, bpages, 2);
    struct mpool *mp = memctl_pool(mc);
    CHECK(mpool_over_soft(mp) > 0);
    CHECK_EQ(mpool_over_budget(mp), 0);

    /* Let the samples see B active and A idle before the pressure acts:
     * the controller polls; B is touched between polls. */
    uint64_t t_end = mono_ns() + 20000000000ull;
    bool ballooned = false, released = false, b_freed = false;
    uint64_t a_swapped_at_balloon = 0;
    while (mono_ns() < t_end) {
        for (uint64_t i = 0; i < bpages && !b_freed; i++)
            pmap_page(b.pm, RAM_BASE + i * 4096, false);
        memctl_poll(mc);
        if (!ballooned && atomic_load(&a.balloons)) {
            ballooned = true;
            struct pmap_stats st;
            pmap_stats(a.pm, &st);
            a_swapped_at_balloon = st.swapped_pages;
            /* The guest inflates: give back what it was asked for. */
            uint64_t keep = atomic_load(&a.balloon_keep);
            CHECK(keep < 64 * MIB);
            uint64_t give = (64 * MIB - keep) / 4096;
            if (give > pages)
                give = pages;
            pmap_discard(a.pm, RAM_BASE + (pages - give) * 4096, give * 4096);
        }
        if (ballooned && !b_freed && !mpool_over_soft(mp)) {
            /* B held its memory through the episode; now its guest frees
             * most of it: plenty again, A's balloon must come back. */
            CHECK_EQ(held_pages(b.pm), bpages);
            struct memctl_vm_stats sa, sb;
            memctl_vm_stats(a.mv, &sa);
            memctl_vm_stats(b.mv, &sb);
            CHECK(sa.active_permille < sb.active_permille);
            CHECK(sb.active_permille > 500);
            CHECK(sa.balloon_target > 0 && sa.balloon_target < 64 * MIB);
            pmap_discard(b.pm, RAM_BASE, 16 * MIB);
            b_freed = true;
        }
        if (ballooned && atomic_load(&a.balloon_keep) == 64 * MIB) {
            released = true;
            break;
        }
        pace_ms(1);
    }
    CHECK(ballooned);
    CHECK(released);          /* given back once under budget * 7/8 */
    CHECK(b_freed);
    CHECK_EQ(a_swapped_at_balloon, 0);   /* balloon before swap */
    CHECK_EQ(mpool_over_soft(mp), 0);
    struct pmap_stats ps;
    pmap_stats(b.pm, &ps);
    CHECK_EQ(ps.swapped_pages, 0);
    struct memctl_vm_stats sa;
    memctl_vm_stats(a.mv, &sa);
    CHECK_EQ(sa.balloon_target, 0);
    fake_del(&a);
    fake_del(&b);
    memctl_free(mc);
    evloop_free(ev);
}

/* No balloon anywhere: over the soft mark (not the budget) the idle VM is
 * swapped after the hard-scanning phase; the active one is left alone. */
static void test_policy_swap_idle_first(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct memctl_config cfg = {
        .pool = {.budget = MPOOL_MIN_BUDGET, .swap_dir = "/tmp"},
        .scan_interval_ns = 1000000,
        .sample_period_ns = 5000000,
        .sample_pages = 200,
    };
    struct memctl *mc = memctl_new(&cfg, ev, NULL);
    CHECK(mc != NULL);
    if (!mc) {
        evloop_free(ev);
        return;
    }
    struct fake a, b;
    CHECK(fake_add(&a, mc, 64 * MIB, 0, &fake_ops));
    CHECK(fake_add(&b, mc, 64 * MIB, 0, &fake_ops));
    const uint64_t pages = 40 * MIB / 4096, bpages = 22 * MIB / 4096;
    fill_distinct(a.pm, 0, pages, 3);
    fill_distinct(b.pm, 0, bpages, 4);
    struct mpool *mp = memctl_pool(mc);
    CHECK(mpool_over_soft(mp) > 0);
    uint64_t t_end = mono_ns() + 20000000000ull;
    while (mono_ns() < t_end && mpool_over_soft(mp)) {
        for (uint64_t i = 0; i < bpages; i++)
            pmap_page(b.pm, RAM_BASE + i * 4096, false);
        memctl_poll(mc);
        pace_ms(1);
    }
    CHECK_EQ(mpool_over_soft(mp), 0);
    struct pmap_stats st;
    pmap_stats(a.pm, &st);
    CHECK(st.swapped_pages > 0);
    pmap_stats(b.pm, &st);
    CHECK_EQ(st.swapped_pages, 0);
    CHECK(atomic_load(&a.quiesced) == 0 && atomic_load(&b.quiesced) == 0);   /* balanced */
    fake_del(&a);
    fake_del(&b);
    memctl_free(mc);
    evloop_free(ev);
}

/* ---- removal ------------------------------------------------------------------------ */

/* The loop ticks every millisecond; one stand-in is slow to quiesce. Its
 * removal from this thread must wait for the op in progress, and the
 * controller must not call it again (the other one keeps being called). */
static void test_remove_waits(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct memctl_config cfg = {.pool = {.budget = 256 * MIB, .swap_dir = "/tmp"},
                                .scan_interval_ns = 1000000, .scan_cpu_pct = 100};
    struct memctl *mc = memctl_new(&cfg, ev, NULL);
    CHECK(mc && evloop_start_thread(ev, NULL) == 0);
    if (!mc) {
        evloop_free(ev);
        return;
    }
    for (int round = 0; round < 5; round++) {
        struct fake a, b;
        CHECK(fake_add(&a, mc, 16 * MIB, 0, &fake_ops));
        CHECK(fake_add(&b, mc, 16 * MIB, 0, &fake_ops));
        fill_distinct(a.pm, 0, 64, 5);
        fill_distinct(b.pm, 0, 64, 6);
        atomic_store(&a.slow_quiesce_ms, 3);
        uint64_t end = mono_ns() + 10000000000ull;
        while (mono_ns() < end && !atomic_load(&a.inside))
            ;
        CHECK(atomic_load(&a.inside) == 1);
        memctl_vm_remove(a.mv);
        CHECK_EQ(atomic_load(&a.inside), 0);
        CHECK_EQ(atomic_load(&a.quiesced), 0);   /* its unquiesce came before */
        int q = atomic_load(&a.quiesces), qb = atomic_load(&b.quiesces);
        pmap_free(a.pm);
        /* b is still scanned (it backs off after a round: allow time). */
        end = mono_ns() + 10000000000ull;
        while (mono_ns() < end && atomic_load(&b.quiesces) < qb + 3)
            pace_ms(1);
        CHECK(atomic_load(&b.quiesces) >= qb + 3);
        CHECK_EQ(atomic_load(&a.quiesces), q);
        fake_del(&b);
    }
    memctl_free(mc);   /* the loop still runs: memctl_free waits for its callbacks */
    evloop_free(ev);
}

/* A VM removed (and its pmap freed) from inside its own quiesce: no
 * deadlock, nothing touched after (ASan). */
static void test_remove_from_op(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct memctl_config cfg = {.pool = {.budget = 256 * MIB, .swap_dir = "/tmp"}};
    struct memctl *mc = memctl_new(&cfg, ev, NULL);
    CHECK(mc != NULL);
    if (!mc) {
        evloop_free(ev);
        return;
    }
    struct fake a, b;
    CHECK(fake_add(&a, mc, 16 * MIB, 0, &fake_ops));
    CHECK(fake_add(&b, mc, 16 * MIB, 0, &fake_ops));
    fill_distinct(a.pm, 0, 16, 7);
    fill_distinct(b.pm, 0, 16, 8);
    atomic_store(&a.remove_in_quiesce, true);
    memctl_poll(mc);
    CHECK(a.mv == NULL && a.pm == NULL);
    CHECK_EQ(atomic_load(&a.quiesces), 1);
    CHECK(atomic_load(&b.quiesces) >= 1);
    memctl_poll(mc);
    CHECK_EQ(atomic_load(&a.quiesces), 1);
    fake_del(&b);
    memctl_free(mc);
    evloop_free(ev);
}

/* ---- real VMs ------------------------------------------------------------------------- */

struct tvm {
    struct vm *vm;
    pthread_mutex_t lock;
    int exited, rc;
    struct vm_exit ex;
    bool free_in_exited;
    char elf[PATH_MAX + 64];
};

static void t_exited(void *ctx, struct vm *vm, const struct vm_exit *ex, int rc,
                     const struct disco_err *err)
{
    (void)err;
    struct tvm *t = ctx;
    pthread_mutex_lock(&t->lock);
    t->exited++;
    t->ex = *ex;
    t->rc = rc;
    if (t->free_in_exited) {
        vm_free(vm);
        t->vm = NULL;
    }
    pthread_mutex_unlock(&t->lock);
}

static void t_console(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
}

static bool tvm_init(struct tvm *t, const char *name, uint64_t mem, uint64_t limit)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    snprintf(t->elf, sizeof t->elf, "%s", prog(name));
    struct vm_config cfg = {
        .cpus = 1,
        .mem = mem,
        .elf = t->elf,
        .console = {.write = t_console, .in_fd = -1, .ctx = t},
        .mem_limit = limit,
    };
    struct disco_err err = {0};
    t->vm = vm_new(&cfg, &err);
    if (!t->vm)
        printf("vm_new(%s): %s\n", name, err.msg);
    return t->vm != NULL;
}

static int tvm_exited(struct tvm *t)
{
    pthread_mutex_lock(&t->lock);
    int n = t->exited;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static bool tvm_wait(struct tvm *t, unsigned s)
{
    uint64_t end = mono_ns() + s * 1000000000ull;
    while (mono_ns() < end && !tvm_exited(t))
        pace_ms(1);
    return tvm_exited(t) == 1;
}

struct host {
    struct sched *s;
    struct evloop *ev;
    struct memctl *mc;
};

static bool host_new(struct host *h, uint64_t scan_ns)
{
    struct sched_config sc = {.workers = 2};
    h->s = sched_new(&sc, NULL);
    h->ev = evloop_new(NULL);
    struct memctl_config mcfg = {.pool = {.budget = 1024 * MIB, .swap_dir = "/tmp"},
                                 .scan_interval_ns = scan_ns, .scan_cpu_pct = 50};
    struct disco_err err = {0};
    h->mc = h->ev ? memctl_new(&mcfg, h->ev, &err) : NULL;
    if (!h->mc)
        printf("memctl_new: %s\n", err.msg);
    return h->s && h->ev && h->mc && evloop_start_thread(h->ev, NULL) == 0;
}

static void host_free(struct host *h)
{
    memctl_free(h->mc);
    evloop_free(h->ev);
    sched_free(h->s);
}

static int tvm_start(struct tvm *t, struct host *h)
{
    struct vm_events events = {.exited = t_exited, .ctx = t};
    struct disco_err err = {0};
    int rc = vm_start(t->vm, h->s, h->ev, h->mc, &events, &err);
    if (rc < 0)
        printf("vm_start: %s\n", err.msg);
    return rc;
}

/* 2048 identical pages merge; 1024 written-then-cleared pages drop. */
static void test_vm_sharing(void)
{
    struct host h;
    CHECK(host_new(&h, 2000000));
    struct tvm t;
    CHECK(tvm_init(&t, "share_fill", 32 * MIB, 0));
    CHECK_EQ(tvm_start(&t, &h), 0);
    struct vm_stats st = {0};
    uint64_t end = mono_ns() + 30000000000ull;
    while (mono_ns() < end) {
        vm_stats(t.vm, &st);
        struct pmap_stats ps;
        pmap_stats(vm_pmap(t.vm), &ps);
        if (st.merges >= 2000 && ps.zero_pages >= 1000 && st.mem_private < 4 * MIB)
            break;
        pace_ms(2);
    }
    struct pmap_stats ps;
    pmap_stats(vm_pmap(t.vm), &ps);
    CHECK(st.merges >= 2000);
    CHECK(ps.zero_pages >= 1000);
    /* The 2048 identical pages (8 MiB) now cost a frame or two: what the
     * guest holds privately is its code, stack and little else. */
    CHECK(st.mem_private < 4 * MIB);
    CHECK(st.mem_shared >= 2000 * 4096);
    struct mpool_stats mps;
    mpool_stats(memctl_pool(h.mc), &mps);
    CHECK(mps.saved_pages >= 2000);
    CHECK_EQ(st.mem_limit, 32 * MIB);
    CHECK_EQ(st.mem_shares, 32 * MEMCTL_SHARES_PER_MIB);
    CHECK_EQ(st.mem_target, 32 * MIB);
    vm_stop(t.vm);
    CHECK(tvm_wait(&t, 10));
    vm_free(t.vm);
    host_free(&h);
}

/* 256 MiB VM limited to 64 MiB writes and verifies 200 MiB. */
static void test_vm_limit_swap(void)
{
    struct host h;
    CHECK(host_new(&h, 100000000));
    struct tvm t;
    CHECK(tvm_init(&t, "swap_pattern", 256 * MIB, 64 * MIB));
    uint64_t t0 = mono_ns();
    CHECK_EQ(tvm_start(&t, &h), 0);
    uint64_t end = mono_ns() + 50000000000ull, max_held = 0;
    struct vm_stats st = {0};
    while (mono_ns() < end && !tvm_exited(&t)) {
        vm_stats(t.vm, &st);
        if (st.mem_private + st.mem_shared > max_held)
            max_held = st.mem_private + st.mem_shared;
        pace_ms(1);
    }
    CHECK_EQ(tvm_exited(&t), 1);
    CHECK_EQ(t.ex.reason, VM_EXIT_HTIF);
    CHECK_EQ(t.rc, 0);   /* every word read back right */
    vm_stats(t.vm, &st);
    CHECK(st.swap_outs > 150 * MIB / 4096);
    CHECK(st.swap_ins > 100 * MIB / 4096);
    printf("  %.1f s: limit 64 MiB: max held %llu KiB, swap_outs %llu, swap_ins %llu\n",
           (mono_ns() - t0) / 1e9, (unsigned long long)(max_held >> 10), (unsigned long long)st.swap_outs,
           (unsigned long long)st.swap_ins);
    /* Slack: a poll period plus a batch's worth of guest writes. */
    CHECK(max_held <= 64 * MIB + 8 * MIB);
    vm_free(t.vm);
    host_free(&h);
}

/* The controller quiesces a user-paused VM over and over: it stays paused;
 * vm_resume then runs it again. */
static void test_vm_pause_kept(void)
{
    struct host h;
    CHECK(host_new(&h, 1000000));
    struct tvm t;
    CHECK(tvm_init(&t, "spin", 16 * MIB, 0));
    CHECK_EQ(tvm_start(&t, &h), 0);
    struct vm_stats st;
    uint64_t end = mono_ns() + 10000000000ull;
    do {
        vm_stats(t.vm, &st);
        pace_ms(1);
    } while (mono_ns() < end && st.instret < 1000000);
    CHECK_EQ(vm_pause(t.vm), 0);
    vm_stats(t.vm, &st);
    uint64_t i0 = st.instret;
    struct pmap_stats ps;
    pmap_stats(vm_pmap(t.vm), &ps);
    uint64_t s0 = ps.scanned;
    end = mono_ns() + 20000000000ull;
    while (mono_ns() < end) {
        pmap_stats(vm_pmap(t.vm), &ps);
        if (ps.scanned >= s0 + 20)   /* several quiesce / unquiesce pairs */
            break;
        pace_ms(1);
    }
    CHECK(ps.scanned >= s0 + 20);
    vm_stats(t.vm, &st);
    CHECK(st.paused);
    CHECK_EQ(st.instret, i0);
    CHECK_EQ(vm_resume(t.vm), 0);
    end = mono_ns() + 10000000000ull;
    do {
        vm_stats(t.vm, &st);
        pace_ms(1);
    } while (mono_ns() < end && st.instret == i0);
    CHECK(st.instret > i0);
    vm_stop(t.vm);
    CHECK(tvm_wait(&t, 10));
    vm_free(t.vm);
    host_free(&h);
}

/* VMs stopped (and freed from exited) while the controller scans them
 * every millisecond; one guest reset too (remove + re-add). */
static void test_vm_stop_while_scanning(void)
{
    struct host h;
    CHECK(host_new(&h, 1000000));
    enum { N = 4 };
    struct tvm t[N];
    for (int i = 0; i < N; i++) {
        CHECK(tvm_init(&t[i], "share_fill", 32 * MIB, 0));
        t[i].free_in_exited = true;
        CHECK_EQ(tvm_start(&t[i], &h), 0);
    }
    vm_request_reset(t[0].vm);
    for (int i = 0; i < N; i++) {
        pace_ms(5 + 7 * i);   /* staggered: some mid-fill, some idle */
        pthread_mutex_lock(&t[i].lock);
        if (t[i].vm)
            vm_stop(t[i].vm);
        pthread_mutex_unlock(&t[i].lock);
    }
    for (int i = 0; i < N; i++) {
        CHECK(tvm_wait(&t[i], 10));
        CHECK(t[i].vm == NULL);
        pthread_mutex_destroy(&t[i].lock);
    }
    host_free(&h);
}

/* A reservation over the budget fails vm_start cleanly. */
static void test_vm_start_refused(void)
{
    struct host h;
    CHECK(host_new(&h, 0));
    struct tvm t;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.lock, NULL);
    snprintf(t.elf, sizeof t.elf, "%s", prog("spin"));
    struct vm_config cfg = {.cpus = 1, .mem = 2048 * MIB, .elf = t.elf,
                            .console = {.write = t_console, .in_fd = -1},
                            .mem_reservation = 1536 * MIB};
    t.vm = vm_new(&cfg, NULL);
    CHECK(t.vm != NULL);
    struct vm_events events = {.exited = t_exited, .ctx = &t};
    struct disco_err err = {0};
    CHECK_EQ(vm_start(t.vm, h.s, h.ev, h.mc, &events, &err), -ENOMEM);
    CHECK(strstr(err.msg, "1536 MiB") && strstr(err.msg, "1024 MiB"));
    vm_free(t.vm);
    host_free(&h);
}

/* RUN, and say how long the case took (runtime budget under ASan). */
#define TRUN(fn)                                                                 \
    do {                                                                         \
        uint64_t t0_ = mono_ns();                                                \
        RUN(fn);                                                                 \
        printf("  (%s: %.1f s)\n", #fn, (mono_ns() - t0_) / 1e9);                \
    } while (0)

int main(int argc, char **argv)
{
    (void)argc;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        snprintf(exe, sizeof exe, "%s", argv[0]);
    else
        exe[n] = 0;
    char *d = dirname(dirname(dirname(exe)));
    snprintf(progdir, sizeof progdir, "%s/vm_progs", d);

    TRUN(test_check_messages);
    TRUN(test_policy_idle_tax_balloon_swap);
    TRUN(test_policy_swap_idle_first);
    TRUN(test_remove_waits);
    TRUN(test_remove_from_op);
    if (!have_progs()) {
        SKIP(test_vm_cases, "no vm_progs ELFs (riscv64-unknown-elf-gcc; make vm-progs)");
        T_EXIT();
    }
    TRUN(test_vm_sharing);
    TRUN(test_vm_limit_swap);
    TRUN(test_vm_pause_kept);
    TRUN(test_vm_stop_while_scanning);
    TRUN(test_vm_start_refused);
    T_EXIT();
}

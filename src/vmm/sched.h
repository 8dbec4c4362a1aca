/* The vCPU scheduler: a pool of host worker threads that runs the vCPUs
 * (struct rv_hart) of every VM registered with it, in time slices, with Xen
 * credit-scheduler semantics (per-VM weight and cap).
 *
 * A scheduler is an object; several may exist. Each VM is a struct sched_vm
 * holding its harts and two hooks that let the VMM map the hart's state
 * (HSM, board events, HTIF...) to "run / idle / block"; the scheduler knows
 * nothing about boards or devices.
 *
 * vCPU states:
 *   PAUSED    its VM is paused (new VMs start paused): never runs
 *   RUNNABLE  on a run queue (or parked: its VM is over its cap)
 *   RUNNING   a worker is inside its slice
 *   SLEEPING  idle (WFI): off the run queues, costs no host CPU; wakes at its
 *             timer deadline (rv_hart_next_timer) or on sched_wake
 *   BLOCKED   like SLEEPING without a timer (HSM STOPPED, fatal error)
 *
 * Slices: rv_hart_run takes an instruction budget; the scheduler converts
 * the slice's time into budgets with a per-vCPU estimate of instructions per
 * millisecond (calibrated from its past runs) and re-checks the clock after
 * every rv_hart_run call until the slice is used. A vCPU asked to stop
 * (exit_request) returns from rv_hart_run at its next block boundary.
 *
 * Credits (Xen credit1): every accounting period (default 30 ms) each VM
 * that wanted CPU gets credit = workers * period * weight / sum of those
 * VMs' weights (at most what its active vCPUs can use, and at most its cap);
 * running costs it the thread CPU time its vCPUs used. Credit is per VM (Xen
 * keeps it per vCPU), so siblings share a priority class: vCPUs of VMs with
 * credit left run before those without (UNDER before OVER); a vCPU woken
 * from sleep while its VM has credit is BOOSTed ahead of both and may
 * preempt a running vCPU of a lower class. Work-conserving: an OVER vCPU
 * still runs when nothing else wants the CPU. A capped VM (cap = percent of
 * one host CPU) is parked once it used its cap's share of the period, until
 * the next period.
 *
 * Siblings (vCPUs of one VM) help each other, since a guest often waits
 * for one vCPU on another: a woken vCPU with no idle worker and no
 * lower-class victim takes the worker of a running sibling; a vCPU kicked
 * (sched_wake) by a running sibling while it waits on a run queue gets the
 * head of the queue and the sibling's worker (directed yield); and while a
 * sibling waits for a worker, slices are short (sibling_slice_ns), so lock
 * holders preempted in the guest soon run again.
 *
 * Idle memory: a vCPU that has slept (SLEEPING or BLOCKED) for trim_after_ns
 * without a break gets its decoded-code cache (rv_hart_trim, up to 32 MiB
 * per hart) given back to the host by an otherwise idle worker, once per
 * sleep, if it holds at least trim_min_pages decoded pages and was not
 * trimmed in the last trim_interval_ns; it decodes again on demand when it
 * next runs. The first trim drops a guest's boot-time code (hundreds of
 * pages); what its idle wake-ups decode again is small, and is trimmed
 * again only now and then, so idle guests stay cheap in CPU too. */
#ifndef DISCO_VMM_SCHED_H
#define DISCO_VMM_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "riscv/hart.h"
#include "util/err.h"

#define SCHED_DEFAULT_SLICE_NS 10000000ull   /* 10 ms */
#define SCHED_DEFAULT_PERIOD_NS 30000000ull  /* 30 ms, Xen's accounting period */
#define SCHED_DEFAULT_SIBLING_SLICE_NS 500000ull   /* 0.5 ms, see sibling_slice_ns */
#define SCHED_DEFAULT_WEIGHT 256u
/* An idle Linux guest's vCPU wakes about once a second (timers) and runs
 * for well under a millisecond: trimming sooner would redo its decoding at
 * nearly every wake-up, later would leave the memory with it for longer. */
#define SCHED_DEFAULT_TRIM_AFTER_NS 1000000000ull  /* 1 s, see trim_after_ns */
#define SCHED_DEFAULT_TRIM_MIN_PAGES 64u     /* 2 MiB of decoded code */
#define SCHED_DEFAULT_TRIM_INTERVAL_NS 30000000000ull   /* 30 s, see trim_interval_ns */
#define SCHED_MAX_WEIGHT 65535u
#define SCHED_MAX_WORKERS 256u
#define SCHED_MAX_VCPUS 64u                  /* per VM (fence masks are 64-bit) */

struct sched_config {
    unsigned workers;     /* host worker threads; 0: one per online host CPU */
    uint64_t slice_ns;    /* 0: SCHED_DEFAULT_SLICE_NS */
    uint64_t period_ns;   /* credit accounting period; 0: SCHED_DEFAULT_PERIOD_NS */
    /* Slice of a vCPU while a sibling (same VM) waits for a worker: short,
     * because a guest spinning on a lock whose holder is preempted burns
     * its whole slice (no pause-loop exits here); 0: the default. */
    uint64_t sibling_slice_ns;
    /* A vCPU asleep this long gives its decoded-code cache back to the
     * host (rv_hart_trim); 0: SCHED_DEFAULT_TRIM_AFTER_NS, UINT64_MAX:
     * never. */
    uint64_t trim_after_ns;
    /* ... but only if it holds at least this many decoded pages (32 KiB
     * each); 0: SCHED_DEFAULT_TRIM_MIN_PAGES. */
    unsigned trim_min_pages;
    /* ... and at most once per this long per vCPU: an idle Linux guest
     * decodes its small idle working set again after a trim, and trimming
     * that at every 1 s sleep would cost more CPU than the memory is
     * worth; 0: SCHED_DEFAULT_TRIM_INTERVAL_NS. */
    uint64_t trim_interval_ns;
};

/* What a vCPU does next. */
enum sched_verdict {
    SCHED_RUN = 0,   /* keep running (or go back on a run queue at slice end) */
    SCHED_SLEEP,      /* sleep until its timer (rv_hart_next_timer) or sched_wake */
    SCHED_BLOCK,     /* sleep until sched_wake only */
};

/* Hooks, called on worker threads without scheduler locks held; hooks for
 * different vCPUs of one VM may run at the same time. */
struct sched_vm_ops {
    /* Before a slice of vCPU i: may it run? NULL: SCHED_RUN. */
    enum sched_verdict (*enter)(void *ctx, unsigned i);
    /* After every rv_hart_run call of vCPU i, with its result (RV_EXIT_*).
     * NULL: RV_EXIT_WFI -> SCHED_SLEEP, RV_EXIT_FATAL -> SCHED_BLOCK, else
     * SCHED_RUN. SCHED_SLEEP is only taken if no interrupt is pending and
     * enabled (rv_hart_wakeup_pending), so it is also right after
     * RV_EXIT_REQUEST for an HSM-suspended hart. */
    enum sched_verdict (*exit)(void *ctx, unsigned i, int rv_exit);
};

struct sched_vm_params {
    struct rv_hart *const *harts;   /* vCPU i runs harts[i] */
    unsigned nharts;                /* 1..SCHED_MAX_VCPUS */
    unsigned weight;                /* 0: SCHED_DEFAULT_WEIGHT */
    unsigned cap;                   /* percent of one host CPU, 0: none */
    uint64_t max_chunk;             /* at most this many instructions per rv_hart_run
                                       call (e.g. HTIF polling), 0: no limit */
    const struct sched_vm_ops *ops; /* may be NULL */
    void *ctx;
};

enum sched_vcpu_state {
    SCHED_VCPU_PAUSED = 0,
    SCHED_VCPU_RUNNABLE,
    SCHED_VCPU_RUNNING,
    SCHED_VCPU_SLEEPING,
    SCHED_VCPU_BLOCKED,
};

struct sched_vcpu_stats {
    enum sched_vcpu_state state;
    uint64_t cpu_ns;        /* host thread CPU time spent running it */
    uint64_t run_ns;        /* wall time of its slices */
    uint64_t instret;       /* instructions retired under this scheduler */
    uint64_t slices;        /* slices started */
    uint64_t wakeups;       /* sleeping/blocked -> runnable */
    uint64_t preemptions;   /* slices cut short for another vCPU */
    uint64_t trims;         /* decoded-code caches given back while it slept */
};

struct sched_vm_stats {
    unsigned nvcpus, weight, cap;
    int64_t credit_ns;      /* current credit (negative: OVER) */
    bool parked;            /* over its cap until the next period */
    uint64_t cpu_ns, run_ns, instret, slices, wakeups, preemptions, trims;   /* sums */
    uint64_t parks;         /* times it hit its cap */
};

struct sched;
struct sched_vm;

/* Start the worker threads. */
struct sched *sched_new(const struct sched_config *cfg, struct disco_err *err);
/* Stop and join the workers. Every VM must have been removed. */
void sched_free(struct sched *s);
unsigned sched_workers(const struct sched *s);

/* Register a VM. It starts paused: call sched_vm_resume to run it. */
struct sched_vm *sched_vm_add(struct sched *s, const struct sched_vm_params *p,
                              struct disco_err *err);
/* Pause, then unregister and free. */
void sched_vm_remove(struct sched_vm *v);

/* Stop running the VM's vCPUs: returns once no worker is inside any of its
 * vCPUs (running vCPUs are asked to stop with exit_request; this waits for
 * rv_hart_run to return). Not async-signal-safe. Idempotent. */
void sched_vm_pause(struct sched_vm *v);
/* Make every vCPU runnable again (each goes through ops->enter). */
void sched_vm_resume(struct sched_vm *v);
/* Replace the harts (e.g. after a reset rebuilt the machine). The VM must
 * be paused and n must equal its vCPU count. */
int sched_vm_set_harts(struct sched_vm *v, struct rv_hart *const *harts, unsigned n);
void sched_vm_set_weight(struct sched_vm *v, unsigned weight);
void sched_vm_set_cap(struct sched_vm *v, unsigned cap);

/* vCPU i may have become runnable (interrupt raised, IPI, hart started...):
 * a sleeping or blocked vCPU goes back on a run queue and an idle worker
 * is woken; a running one re-checks before it would sleep. Thread-safe,
 * callable from hooks and from inside rv_hart_run (device callbacks); not
 * async-signal-safe. */
void sched_wake(struct sched_vm *v, unsigned i);

/* Remote fences across threads. The caller (vCPU `self`, or >= nvcpus for
 * none) has set flush_request `bits` on the harts in `mask` (bit i = vCPU
 * i); this returns once each of them has served them, or cannot execute
 * another guest instruction before serving them (it is not inside
 * rv_hart_run, or is itself waiting here inside an SBI call). Bounded: gives
 * up after about a second if a target is stuck outside guest code (e.g. in
 * a slow device access). */
void sched_fence_wait(struct sched_vm *v, unsigned self, uint64_t mask, int bits);

/* TLB shootdown for the memory layer (copy-on-write): set `bits` in
 * flush_request of every vCPU of v and return once each of them has served
 * them or cannot execute another guest instruction before serving them (as
 * sched_fence_wait, same bound). If the calling thread is a worker running
 * one of v's vCPUs, that vCPU is not waited for (it serves its own flush
 * itself, see rv_bus.ram_page), nor one inside a device callback
 * (rv_hart.in_device). Any thread. wait = false: only set the bits.
 * Returns false if it gave up waiting (a target still had the bits set
 * after the bound): the caller must not yet free what the TLBs may reach. */
bool sched_vm_shootdown(struct sched_vm *v, int bits, bool wait);

void sched_vm_stats(struct sched_vm *v, struct sched_vm_stats *st);
void sched_vcpu_stats(struct sched_vm *v, unsigned i, struct sched_vcpu_stats *st);

#endif

/* The memory controller: host-wide policy over the machine memory pool
 * (mem/mpool.h), the ESX way. One per struct disco_host (vm_run makes its
 * own). Everything it does runs on the event loop's thread (timers), with
 * each VM quiesced (its vCPUs paused; block DMA runs on the same loop
 * thread, so it is excluded too) for the short batches that change pmap
 * entries:
 *
 *   - Sharing scanner, always on: every scan_interval_ns each VM has up to
 *     scan_batch pages scanned (pmap_scan), limited overall to scan_cpu_pct
 *     of one host CPU. Zero pages are dropped; identical pages within the
 *     VM's sharing domain map one frame.
 *   - Working-set sampling: every sample_period_ns, sample_pages random
 *     touched pages per VM are watched (pmap_sample_*); the fraction touched
 *     is the VM's active fraction f (a slow and a fast moving average; the
 *     larger counts, as in ESX).
 *   - Allocation (ESX): each VM's share of the budget follows its shares
 *     per page, with the idle-memory tax: ratio = shares / (pages * (f +
 *     k * (1 - f))), k = 1 / (1 - tax). Reclaim takes from the VM with the
 *     lowest ratio first, never below its reservation; a VM above its limit
 *     is always reclaimed down to it.
 *   - Reclaim order when the pool is above its soft mark (mpool pressure
 *     hook) or a VM is above its limit: scan harder (sharing), then balloon
 *     toward the per-VM targets (guests with a balloon driver), then swap
 *     (pmap_swap_out), which also covers guests without a balloon and
 *     anything the balloon did not give back within balloon_wait_ns. */
#ifndef DISCO_VMM_MEMCTL_H
#define DISCO_VMM_MEMCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/mpool.h"
#include "util/err.h"

struct evloop;
struct pmap;
struct memctl;
struct memctl_vm;

#define MEMCTL_DEFAULT_SCAN_INTERVAL_NS 100000000ull   /* 100 ms */
#define MEMCTL_DEFAULT_SCAN_BATCH 512u                 /* -> 5120 pages/s per VM */
#define MEMCTL_DEFAULT_SCAN_CPU_PCT 10u
#define MEMCTL_DEFAULT_IDLE_TAX_PCT 75u
#define MEMCTL_DEFAULT_SAMPLE_PERIOD_NS 30000000000ull /* 30 s */
#define MEMCTL_DEFAULT_SAMPLE_PAGES 100u
#define MEMCTL_SHARES_PER_MIB 10u                      /* ESX "normal" */

struct memctl_config {
    struct mpool_config pool;      /* budget, swap_dir */
    uint64_t scan_interval_ns;     /* 0: default */
    unsigned scan_batch;           /* pages per VM per interval; 0: default */
    unsigned scan_cpu_pct;         /* 0: default; 1..100 */
    unsigned idle_tax_pct;         /* 0: default; 0..99 (100+ refused). Use
                                      idle_tax_set = true to give 0. */
    bool idle_tax_set;
    uint64_t sample_period_ns;     /* 0: default */
    unsigned sample_pages;         /* 0: default */
};

/* What the controller needs from a VM (vm.c). Called on the loop thread,
 * never with controller locks a VM caller could wait on. */
struct memctl_vm_ops {
    /* Stop / restart the VM's vCPUs (nesting with user pause is the VM's
     * business: unquiesce must not resume a VM the user paused). */
    void (*quiesce)(void *ctx);
    void (*unquiesce)(void *ctx);
    /* Set FLUSH_TLB on every hart (served before each runs again). */
    void (*flush_tlbs)(void *ctx);
    /* Balloon target: the guest should keep guest_mem bytes. -ENODEV if
     * the VM has no balloon driver listening. May be NULL. */
    int (*balloon)(void *ctx, uint64_t guest_mem);
    /* Bytes the guest has in its balloon now. May be NULL. */
    uint64_t (*ballooned)(void *ctx);
};

struct memctl_vm_params {
    const char *name;              /* for messages */
    struct pmap *pm;               /* not yet attached to a pool */
    uint64_t reservation;          /* bytes never reclaimed; 0..mem */
    uint64_t limit;                /* bytes at most held; 0: mem */
    unsigned shares;               /* 0: MEMCTL_SHARES_PER_MIB per MiB of RAM */
    const char *share_domain;      /* NULL: the VM shares only with itself */
    const struct memctl_vm_ops *ops;
    void *ctx;
};

/* The pool is made from cfg->pool; errors (impossible budget) name the
 * value. Timers go on ev. */
struct memctl *memctl_new(const struct memctl_config *cfg, struct evloop *ev,
                          struct disco_err *err);
/* Every VM must have been removed. */
void memctl_free(struct memctl *mc);
struct mpool *memctl_pool(struct memctl *mc);

/* Check a VM's memory parameters against each other and the budget without
 * adding it: reservation <= limit <= mem, limit >= VM_MIN_MEM (16 MiB),
 * share_domain a valid name, and the reservations of the VMs already added
 * plus this one within the budget. 0, or -EINVAL / -ENOMEM with err. */
int memctl_check(struct memctl *mc, uint64_t mem, uint64_t reservation, uint64_t limit,
                 const char *share_domain, struct disco_err *err);
/* Attach the VM's pmap to the pool (its domain) and start managing it. Same
 * checks as memctl_check. Any thread. */
struct memctl_vm *memctl_vm_add(struct memctl *mc, const struct memctl_vm_params *p,
                                struct disco_err *err);
/* Stop managing it; returns once no controller work for it runs. Call
 * before freeing its pmap, from any thread (the loop's too) and without
 * holding anything the ops take. */
void memctl_vm_remove(struct memctl_vm *mv);

struct memctl_vm_stats {
    uint64_t reservation, limit;   /* bytes */
    unsigned shares;
    char share_domain[MPOOL_DOMAIN_NAME_MAX + 1];   /* "" if private */
    uint64_t working_set;          /* bytes, estimated */
    unsigned active_permille;      /* f, per 1000 */
    uint64_t target;               /* bytes the controller wants it to hold */
    uint64_t balloon_target;       /* last balloon target it set, 0: none */
};
void memctl_vm_stats(struct memctl_vm *mv, struct memctl_vm_stats *st);

/* For tests and tuning: run one controller pass now (scan every VM one
 * batch, reclaim if needed). Loop thread only. */
void memctl_poll(struct memctl *mc);

#endif

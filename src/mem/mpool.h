/* The machine memory pool: host-wide, shared by every VM of one disco
 * process (one per struct disco_host; `disco run` makes its own).
 *
 * It owns:
 *   - the budget: bytes of host memory that guest RAM may use (private
 *     pages of every attached pmap + shared frames). Crossing the soft mark
 *     (budget - budget/16) calls the pressure hook, which the VMM's memory
 *     controller (vmm/memctl.h) answers by reclaiming: sharing, then
 *     ballooning, then swap. Charging never fails: a hart that touches a new
 *     page always gets it, and the controller brings usage back under the
 *     budget.
 *   - the share table: frames holding page contents found in more than one
 *     place, keyed by (sharing domain, xxh3 hash of the page), refcounted.
 *     Pages of different domains never meet in it.
 *   - the swap store (mem/swap.h): one unlinked file, zstd per page.
 *
 * Thread-safe: every function may be called from any thread. */
#ifndef DISCO_MEM_MPOOL_H
#define DISCO_MEM_MPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define MPOOL_MIN_BUDGET (64ull << 20)
#define MPOOL_DOMAIN_NAME_MAX 64

struct mpool;

struct mpool_config {
    /* Host memory for guest RAM, bytes. 0: the default, 3/4 of the host's
     * physical memory (MemTotal). Refused (EINVAL) if below
     * MPOOL_MIN_BUDGET or above MemTotal. */
    uint64_t budget;
    /* Directory for the swap file (opened O_TMPFILE, so nothing is left
     * behind); NULL: $TMPDIR or /var/tmp. Opened lazily at the first swap
     * out, so a pool that never swaps needs no writable directory. */
    const char *swap_dir;
};

struct mpool *mpool_new(const struct mpool_config *cfg, struct disco_err *err);
/* Every attached pmap must be freed first. */
void mpool_free(struct mpool *mp);

uint64_t mpool_budget(const struct mpool *mp);
/* Change the budget (same limits as mpool_config.budget). 0 or -EINVAL. */
int mpool_set_budget(struct mpool *mp, uint64_t budget, struct disco_err *err);

/* Called (any thread, possibly a hart's, with no pool lock held) when
 * charged memory crosses the soft mark upward; must only wake something
 * (write an eventfd). Called again only after usage went below the mark. */
void mpool_set_pressure_hook(struct mpool *mp, void (*fn)(void *ctx), void *ctx);

/* Sharing domains. mpool_domain returns the id of a named domain (made on
 * first use; ids of names stay fixed for the pool's life); name must be
 * 1..MPOOL_DOMAIN_NAME_MAX bytes of [A-Za-z0-9_.-], else 0 (invalid).
 * mpool_private_domain returns a fresh id no name maps to: the default for
 * a VM (shares only with itself). Never 0. */
uint32_t mpool_domain(struct mpool *mp, const char *name);
uint32_t mpool_private_domain(struct mpool *mp);

struct mpool_stats {
    uint64_t budget;          /* bytes */
    uint64_t used_pages;      /* private pages of all pmaps + shared frames */
    uint64_t private_pages;
    uint64_t shared_frames;   /* frames in the share table */
    uint64_t shared_refs;     /* guest pages mapping them */
    uint64_t saved_pages;     /* shared_refs - shared_frames: host memory saved */
    uint64_t swapped_pages;   /* pages in the swap store */
    uint64_t swap_bytes;      /* bytes they take in the swap file */
    uint64_t pressure_events; /* soft mark crossings (cumulative) */
};
void mpool_stats(struct mpool *mp, struct mpool_stats *st);

/* Bytes above the soft mark right now (0 if under): what the memory
 * controller should reclaim. */
uint64_t mpool_over_soft(struct mpool *mp);
/* Bytes above the budget itself (0 if under). */
uint64_t mpool_over_budget(struct mpool *mp);

/* ---- for mem/ only (pmap.c): accounting, share table, swap ---- */
void mpool_charge(struct mpool *mp, int64_t private_pages);
/* Offer a page's contents for sharing in `domain`. Returns a shared frame
 * whose contents equal `page` byte for byte, with a reference taken for
 * the caller, or NULL (not shared). The first sighting of a hash only
 * records it; the second makes a frame from `page`. */
const uint8_t *mpool_share(struct mpool *mp, uint32_t domain, uint64_t hash, const uint8_t *page);
/* Drop a reference to a frame mpool_share returned. */
void mpool_unshare(struct mpool *mp, const uint8_t *frame);
/* Forget share-table entries of `domain` that hold no frame (first
 * sightings). Optional: the pool bounds first sightings itself (at most
 * one per page of budget, the oldest forgotten first) and knows a page
 * offered again from the same address for the same one. */
void mpool_forget_hints(struct mpool *mp, uint32_t domain);
struct swap *mpool_swap(struct mpool *mp, struct disco_err *err);

#endif

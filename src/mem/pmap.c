/* The pmap (see pmap.h).
 *
 * Entries are one atomic word per guest page:
 *   0                      nowhere yet (reads as zero)
 *   == the page's slot     private (frames + index * page size)
 *   any other even value   shared: a read-only frame of the pool
 *   (swap slot << 1) | 1   swapped
 * Pointers are page-aligned, so bit 0 is free for the swap tag.
 *
 * Locking: the fast path (a private page) is one acquire load and a
 * compare. Nowhere -> private is a lock-free CAS (racing first touches
 * agree on the slot). Every other transition (COW break, swap in, and the
 * batch operations: scan, swap out, discard) happens under pm->lock, and
 * private -> anything else happens only under it, so a holder of the lock
 * that sees a private entry knows it stays private. Pool charges, the
 * shootdown hook and mpool_unshare are called with the lock released. */
#include "mem/pmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "mem/mpool.h"
#include "mem/swap.h"

/* Per-page flag bits. */
#define PG_ACCESSED 1u   /* pmap_page since the CLOCK hand last passed */
#define PG_SAMPLING 2u   /* in the current working-set sample, not yet touched */
#define PG_SEEN 4u       /* in the sample and touched since pmap_sample_begin */

#define SAMPLE_MAX 1024u

struct pmap {
    uint64_t base;
    uint64_t size;
    uint64_t npages;
    uint8_t *frames;                /* MAP_NORESERVE reservation: the slots */
    _Atomic uintptr_t *entries;     /* per page, encoded as above */
    _Atomic uint8_t *flags;         /* per page, PG_* */

    atomic_uint_fast64_t n_private, n_shared, n_swapped;
    atomic_uint_fast64_t zero_pages, merges, cow_breaks, swap_outs, swap_ins;
    atomic_uint_fast64_t scanned, scan_rounds;

    pthread_mutex_t lock;           /* slow transitions, batch ops, below */
    struct mpool *mp;               /* set once by pmap_attach, before the VM runs */
    uint32_t domain;
    uint64_t scan_cursor;
    uint64_t clock_hand;
    unsigned n_sample;
    uint64_t sample[SAMPLE_MAX];

    pmap_write_hook hook;
    void *hook_ctx;
    pmap_shootdown_hook shootdown;
    void *shootdown_ctx;

    /* Shared frames left by copy-on-write breaks whose shootdown gave up
     * waiting (a hart's thread stalled): a hart may still read them, so
     * they are released only at the next batch op (the VM quiesced: every
     * hart has served its flush or will before it runs) or pmap_free.
     * Guarded by lock. */
    const uint8_t **deferred;
    unsigned n_deferred, cap_deferred;
};

/* lock held. */
static void release_deferred(struct pmap *pm)
{
    for (unsigned i = 0; i < pm->n_deferred; i++)
        mpool_unshare(pm->mp, pm->deferred[i]);
    pm->n_deferred = 0;
}

static inline uint8_t *slot_of(const struct pmap *pm, uint64_t idx)
{
    return pm->frames + (idx << PMAP_PAGE_SHIFT);
}

static inline bool is_swapped(uintptr_t e) { return e & 1; }

static bool page_is_zero(const uint8_t *page)
{
    const uint64_t *w = (const uint64_t *)page;
    uint64_t acc = 0;
    for (size_t i = 0; i < PMAP_PAGE_SIZE / 8; i += 8)
        acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7];
    return acc == 0;
}

/* The slot's host memory goes back to the host (the mapping stays, so a
 * stale pointer into it reads zero and refaults on write). It cannot fail
 * on our own private anonymous mapping; if it did, the page would just
 * stay resident. */
static void release_slot(struct pmap *pm, uint64_t idx, uint64_t n)
{
    (void)madvise(slot_of(pm, idx), n << PMAP_PAGE_SHIFT, MADV_DONTNEED);
}

struct pmap *pmap_new(uint64_t base, uint64_t size, struct disco_err *err)
{
    if (size == 0 || (size & (PMAP_PAGE_SIZE - 1)) || (base & (PMAP_PAGE_SIZE - 1)) ||
        base + size < base) {
        err_set(err, -EINVAL, "guest RAM size 0x%llx at 0x%llx is not a whole number of pages",
                (unsigned long long)size, (unsigned long long)base);
        return NULL;
    }
    struct pmap *pm = calloc(1, sizeof *pm);
    if (!pm) {
        err_set(err, -ENOMEM, "out of memory for pmap");
        return NULL;
    }
    pm->base = base;
    pm->size = size;
    pm->npages = size >> PMAP_PAGE_SHIFT;
    pm->entries = calloc(pm->npages, sizeof *pm->entries);
    pm->flags = calloc(pm->npages, sizeof *pm->flags);
    void *frames = mmap(NULL, size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!pm->entries || !pm->flags || frames == MAP_FAILED) {
        err_set(err, -ENOMEM, "cannot reserve %llu MiB of guest RAM",
                (unsigned long long)(size >> 20));
        if (frames != MAP_FAILED)
            munmap(frames, size);
        free(pm->entries);
        free((void *)pm->flags);
        free(pm);
        return NULL;
    }
    pm->frames = frames;
    pthread_mutex_init(&pm->lock, NULL);
    return pm;
}

void pmap_free(struct pmap *pm)
{
    if (!pm)
        return;
    if (pm->mp) {
        release_deferred(pm);
        struct swap *sw = atomic_load(&pm->n_swapped) ? mpool_swap(pm->mp, NULL) : NULL;
        for (uint64_t i = 0; i < pm->npages; i++) {
            uintptr_t e = atomic_load(&pm->entries[i]);
            if (e == 0 || e == (uintptr_t)slot_of(pm, i))
                continue;
            if (is_swapped(e)) {
                if (sw)
                    swap_drop(sw, e >> 1);
            } else {
                mpool_unshare(pm->mp, (const uint8_t *)e);
            }
        }
        mpool_charge(pm->mp, -(int64_t)atomic_load(&pm->n_private));
    }
    munmap(pm->frames, pm->size);
    pthread_mutex_destroy(&pm->lock);
    free(pm->deferred);
    free(pm->entries);
    free((void *)pm->flags);
    free(pm);
}

int pmap_attach(struct pmap *pm, struct mpool *mp, uint32_t domain, struct disco_err *err)
{
    if (!mp || domain == 0)
        return err_set(err, -EINVAL, "pmap_attach: %s", mp ? "sharing domain 0 is invalid"
                                                            : "no memory pool");
    pthread_mutex_lock(&pm->lock);
    if (pm->mp) {
        pthread_mutex_unlock(&pm->lock);
        return err_set(err, -EBUSY, "guest RAM is already attached to a memory pool");
    }
    pm->mp = mp;
    pm->domain = domain;
    uint64_t touched = atomic_load(&pm->n_private);
    pthread_mutex_unlock(&pm->lock);
    mpool_charge(mp, (int64_t)touched);
    return 0;
}

struct mpool *pmap_pool(const struct pmap *pm) { return pm->mp; }
uint64_t pmap_base(const struct pmap *pm) { return pm->base; }
uint64_t pmap_size(const struct pmap *pm) { return pm->size; }

uint64_t pmap_touched_pages(const struct pmap *pm)
{
    struct pmap *p = (struct pmap *)pm;
    return atomic_load(&p->n_private) + atomic_load(&p->n_shared) + atomic_load(&p->n_swapped);
}

void pmap_stats(const struct pmap *pm, struct pmap_stats *st)
{
    struct pmap *p = (struct pmap *)pm;
    memset(st, 0, sizeof *st);
    st->pages = p->npages;
    st->private_pages = atomic_load(&p->n_private);
    st->shared_pages = atomic_load(&p->n_shared);
    st->swapped_pages = atomic_load(&p->n_swapped);
    st->zero_pages = atomic_load(&p->zero_pages);
    st->merges = atomic_load(&p->merges);
    st->cow_breaks = atomic_load(&p->cow_breaks);
    st->swap_outs = atomic_load(&p->swap_outs);
    st->swap_ins = atomic_load(&p->swap_ins);
    st->scanned = atomic_load(&p->scanned);
    st->scan_rounds = atomic_load(&p->scan_rounds);
}

void pmap_set_write_hook(struct pmap *pm, pmap_write_hook fn, void *ctx)
{
    pm->hook = fn;
    pm->hook_ctx = ctx;
}

void pmap_set_shootdown_hook(struct pmap *pm, pmap_shootdown_hook fn, void *ctx)
{
    pm->shootdown = fn;
    pm->shootdown_ctx = ctx;
}

bool pmap_contains(const struct pmap *pm, uint64_t gpa, uint64_t len)
{
    if (gpa < pm->base)
        return false;
    uint64_t off = gpa - pm->base;
    return off <= pm->size && len <= pm->size - off;
}

/* ---- pmap_page ---- */

/* Rarely taken: set ACCESSED, and SEEN (ending SAMPLING) for a page in the
 * current working-set sample. */
static void __attribute__((noinline)) mark_accessed_slow(struct pmap *pm, uint64_t idx, uint8_t f)
{
    uint8_t want;
    do {
        want = (uint8_t)((f | PG_ACCESSED | ((f & PG_SAMPLING) ? PG_SEEN : 0)) & ~PG_SAMPLING);
    } while (!atomic_compare_exchange_weak_explicit(&pm->flags[idx], &f, want,
                                                    memory_order_relaxed, memory_order_relaxed));
}

/* A load, and a store only when something changes, so pages hit all the
 * time do not bounce a written cache line between harts. */
static inline void mark_accessed(struct pmap *pm, uint64_t idx)
{
    uint8_t f = atomic_load_explicit(&pm->flags[idx], memory_order_relaxed);
    if ((f & (PG_ACCESSED | PG_SAMPLING)) != PG_ACCESSED)
        mark_accessed_slow(pm, idx, f);
}

static uint8_t *__attribute__((noinline)) page_slow(struct pmap *pm, uint64_t idx, uintptr_t e,
                                                    bool for_write)
{
    uint8_t *slot = slot_of(pm, idx);
    if (e != 0 && !is_swapped(e) && !for_write)
        return (uint8_t *)e;   /* a shared frame, for reading */
    if (e == 0) {
        if (atomic_compare_exchange_strong(&pm->entries[idx], &e, (uintptr_t)slot)) {
            atomic_fetch_add(&pm->n_private, 1);
            mpool_charge(pm->mp, 1);
            return slot;
        }
        if (e == (uintptr_t)slot)
            return slot;   /* a racing first touch won */
        if (!is_swapped(e) && !for_write)
            return (uint8_t *)e;
    }

    /* COW break or swap in. */
    const uint8_t *old_frame = NULL;
    bool charge = false;
    uint8_t *ret = slot;
    pthread_mutex_lock(&pm->lock);
    e = atomic_load_explicit(&pm->entries[idx], memory_order_acquire);
    if (e == 0) {
        /* Discarded meanwhile: a first touch again (CAS: lock-free first
         * touches may race us, and only one may count it). */
        if (atomic_compare_exchange_strong(&pm->entries[idx], &e, (uintptr_t)slot)) {
            atomic_fetch_add(&pm->n_private, 1);
            charge = true;
        }
    } else if (e == (uintptr_t)slot) {
        /* Another thread broke the COW or swapped the page in first. */
    } else if (is_swapped(e)) {
        struct swap *sw = mpool_swap(pm->mp, NULL);
        if (!sw || swap_get(sw, e >> 1, slot) < 0) {
            release_slot(pm, idx, 1);   /* whatever was half written */
            ret = NULL;
        } else {
            atomic_store_explicit(&pm->entries[idx], (uintptr_t)slot, memory_order_release);
            swap_drop(sw, e >> 1);
            atomic_fetch_sub(&pm->n_swapped, 1);
            atomic_fetch_add(&pm->n_private, 1);
            atomic_fetch_add(&pm->swap_ins, 1);
            charge = true;
        }
    } else if (!for_write) {
        ret = (uint8_t *)e;   /* shared again (cannot happen unquiesced, but harmless) */
    } else {
        /* Copy-on-write. The slot was released when the page was merged. */
        old_frame = (const uint8_t *)e;
        memcpy(slot, old_frame, PMAP_PAGE_SIZE);
        atomic_store_explicit(&pm->entries[idx], (uintptr_t)slot, memory_order_release);
        atomic_fetch_sub(&pm->n_shared, 1);
        atomic_fetch_add(&pm->n_private, 1);
        atomic_fetch_add(&pm->cow_breaks, 1);
        charge = true;
    }
    pthread_mutex_unlock(&pm->lock);
    if (charge)
        mpool_charge(pm->mp, 1);
    if (old_frame) {
        /* Harts may still read the old frame through TLB entries made
         * before the break: only once none can may it be freed and reused. */
        bool served = !pm->shootdown ||
                      pm->shootdown(pm->shootdown_ctx, pm->base + (idx << PMAP_PAGE_SHIFT), true);
        if (!served) {
            pthread_mutex_lock(&pm->lock);
            if (pm->n_deferred == pm->cap_deferred) {
                unsigned nc = pm->cap_deferred ? 2 * pm->cap_deferred : 16;
                const uint8_t **n = realloc(pm->deferred, nc * sizeof *n);
                if (n) {
                    pm->deferred = n;
                    pm->cap_deferred = nc;
                }
            }
            /* Out of memory for the list: keep the reference for good (a
             * 4 KiB leak until the pool goes) rather than risk a reuse. */
            if (pm->n_deferred < pm->cap_deferred)
                pm->deferred[pm->n_deferred++] = old_frame;
            pthread_mutex_unlock(&pm->lock);
        } else {
            mpool_unshare(pm->mp, old_frame);
        }
    }
    return ret;
}

uint8_t *pmap_page(struct pmap *pm, uint64_t gpa, bool for_write)
{
    if (gpa < pm->base || gpa - pm->base >= pm->size)
        return NULL;
    uint64_t idx = (gpa - pm->base) >> PMAP_PAGE_SHIFT;
    uint8_t *slot = slot_of(pm, idx);
    uintptr_t e = atomic_load_explicit(&pm->entries[idx], memory_order_acquire);
    mark_accessed(pm, idx);
    if (e == (uintptr_t)slot)
        return slot;
    return page_slow(pm, idx, e, for_write);
}

/* ---- copies ---- */

/* Walk [gpa, gpa+len) page by page, calling fn on each piece. */
static int pmap_walk(struct pmap *pm, uint64_t gpa, size_t len, bool for_write,
                     void (*fn)(uint8_t *host, size_t n, void *arg, size_t done), void *arg)
{
    if (!pmap_contains(pm, gpa, len))
        return -EFAULT;
    size_t done = 0;
    while (done < len) {
        uint64_t a = gpa + done;
        size_t in_page = PMAP_PAGE_SIZE - (a & (PMAP_PAGE_SIZE - 1));
        size_t n = len - done < in_page ? len - done : in_page;
        uint8_t *page = pmap_page(pm, a, for_write);
        if (!page)
            return -EIO;
        fn(page + (a & (PMAP_PAGE_SIZE - 1)), n, arg, done);
        if (!for_write) {
            /* A shared frame read without any TLB shootdown covering us:
             * a COW break elsewhere may have dropped it (and the pool
             * reused it) while we copied. If the entry still maps it, it
             * was held all along; otherwise copy again from the new one. */
            uint64_t idx = (a - pm->base) >> PMAP_PAGE_SHIFT;
            atomic_thread_fence(memory_order_acquire);
            if (page != slot_of(pm, idx) &&
                atomic_load_explicit(&pm->entries[idx], memory_order_relaxed) != (uintptr_t)page)
                continue;
        }
        done += n;
    }
    return 0;
}

static void copy_out(uint8_t *host, size_t n, void *arg, size_t done)
{
    memcpy((uint8_t *)arg + done, host, n);
}

static void copy_in(uint8_t *host, size_t n, void *arg, size_t done)
{
    memcpy(host, (const uint8_t *)arg + done, n);
}

static void fill_in(uint8_t *host, size_t n, void *arg, size_t done)
{
    (void)done;
    memset(host, *(int *)arg, n);
}

int pmap_read(struct pmap *pm, uint64_t gpa, void *buf, size_t len)
{
    return pmap_walk(pm, gpa, len, false, copy_out, buf);
}

int pmap_write(struct pmap *pm, uint64_t gpa, const void *buf, size_t len)
{
    int rc = pmap_walk(pm, gpa, len, true, copy_in, (void *)buf);
    if (rc == 0 && pm->hook && len)
        pm->hook(pm->hook_ctx, gpa, len);
    return rc;
}

int pmap_fill(struct pmap *pm, uint64_t gpa, int byte, size_t len)
{
    int rc = pmap_walk(pm, gpa, len, true, fill_in, &byte);
    if (rc == 0 && pm->hook && len)
        pm->hook(pm->hook_ctx, gpa, len);
    return rc;
}

/* ---- discard ---- */

/* Stale TLB entries for discarded private pages are harmless: a slot's
 * address is fixed and MADV_DONTNEED keeps the mapping, so they reach the
 * page's own slot, which reads zero. The shootdown only makes the next
 * touch go through pmap_page so the page is counted again. Decoded code of
 * the pages is stale, hence the write hook. */
int pmap_discard(struct pmap *pm, uint64_t gpa, uint64_t len)
{
    if (len == 0 || ((gpa | len) & (PMAP_PAGE_SIZE - 1)) || !pmap_contains(pm, gpa, len))
        return -EINVAL;
    uint64_t first = (gpa - pm->base) >> PMAP_PAGE_SHIFT;
    uint64_t n = len >> PMAP_PAGE_SHIFT;
    uint64_t dropped = 0;
    struct swap *sw = NULL;
    pthread_mutex_lock(&pm->lock);
    for (uint64_t i = first; i < first + n; i++) {
        uintptr_t e = atomic_load_explicit(&pm->entries[i], memory_order_relaxed);
        if (e == (uintptr_t)slot_of(pm, i)) {
            /* Private entries change only under the lock: store is safe. */
            atomic_store_explicit(&pm->entries[i], 0, memory_order_relaxed);
            dropped++;
        } else if (e && is_swapped(e)) {
            atomic_store_explicit(&pm->entries[i], 0, memory_order_relaxed);
            if (sw || (sw = mpool_swap(pm->mp, NULL)))
                swap_drop(sw, e >> 1);
            atomic_fetch_sub(&pm->n_swapped, 1);
        }
        /* Shared pages stay: dropping the frame would need a waiting
         * shootdown first. */
    }
    /* Under the lock so a COW break or swap in of a page in the range
     * (which writes the slot under the lock) cannot be wiped. */
    release_slot(pm, first, n);
    pthread_mutex_unlock(&pm->lock);
    if (dropped) {
        atomic_fetch_sub(&pm->n_private, dropped);
        mpool_charge(pm->mp, -(int64_t)dropped);
    }
    if (pm->hook)
        pm->hook(pm->hook_ctx, gpa, len);
    if (pm->shootdown)
        pm->shootdown(pm->shootdown_ctx, gpa, false);
    return 0;
}

/* ---- batch operations ---- */

unsigned pmap_scan(struct pmap *pm, unsigned max_pages)
{
    if (!pm->mp)
        return 0;
    unsigned changed = 0;
    uint64_t steps = max_pages < pm->npages ? max_pages : pm->npages;
    pthread_mutex_lock(&pm->lock);
    release_deferred(pm);
    for (uint64_t k = 0; k < steps; k++) {
        uint64_t idx = pm->scan_cursor;
        if (++pm->scan_cursor == pm->npages) {
            pm->scan_cursor = 0;
            /* No mpool_forget_hints here: in a domain of several VMs that
             * would drop the others' first sightings before their scanners
             * get to the matching pages. The pool ages hints out itself and
             * knows a page's own hint from an earlier round. */
            atomic_fetch_add(&pm->scan_rounds, 1);
        }
        atomic_fetch_add(&pm->scanned, 1);
        uint8_t *slot = slot_of(pm, idx);
        if (atomic_load_explicit(&pm->entries[idx], memory_order_relaxed) != (uintptr_t)slot)
            continue;   /* nowhere, shared or swapped already */
        if (page_is_zero(slot)) {
            atomic_store_explicit(&pm->entries[idx], 0, memory_order_release);
            release_slot(pm, idx, 1);
            atomic_fetch_sub(&pm->n_private, 1);
            atomic_fetch_add(&pm->zero_pages, 1);
            mpool_charge(pm->mp, -1);
            changed++;
            continue;
        }
        const uint8_t *frame = mpool_share(pm->mp, pm->domain, XXH3_64bits(slot, PMAP_PAGE_SIZE),
                                           slot);
        if (!frame)
            continue;
        atomic_store_explicit(&pm->entries[idx], (uintptr_t)frame, memory_order_release);
        release_slot(pm, idx, 1);
        atomic_fetch_sub(&pm->n_private, 1);
        atomic_fetch_add(&pm->n_shared, 1);
        atomic_fetch_add(&pm->merges, 1);
        mpool_charge(pm->mp, -1);
        changed++;
    }
    pthread_mutex_unlock(&pm->lock);
    return changed;
}

int pmap_swap_out(struct pmap *pm, unsigned max_pages)
{
    if (!pm->mp || max_pages == 0)
        return 0;
    int done = 0, rc = 0;
    struct swap *sw = NULL;
    pthread_mutex_lock(&pm->lock);
    release_deferred(pm);
    /* CLOCK: the hand clears ACCESSED as it passes and takes private pages
     * found clear; two laps at most (the second finds the first's cleared). */
    for (uint64_t step = 0; step < 2 * pm->npages && (unsigned)done < max_pages; step++) {
        uint64_t idx = pm->clock_hand;
        if (++pm->clock_hand == pm->npages)
            pm->clock_hand = 0;
        uint8_t *slot = slot_of(pm, idx);
        if (atomic_load_explicit(&pm->entries[idx], memory_order_relaxed) != (uintptr_t)slot)
            continue;
        if (atomic_load_explicit(&pm->flags[idx], memory_order_relaxed) & PG_ACCESSED) {
            atomic_fetch_and_explicit(&pm->flags[idx], (uint8_t)~PG_ACCESSED, memory_order_relaxed);
            continue;
        }
        if (page_is_zero(slot)) {
            /* Counted with the scanner's zero pages: same saving. */
            atomic_store_explicit(&pm->entries[idx], 0, memory_order_release);
            atomic_fetch_add(&pm->zero_pages, 1);
        } else {
            struct disco_err err;
            err_clear(&err);
            if (!sw && !(sw = mpool_swap(pm->mp, &err))) {
                rc = err.code < 0 ? err.code : -EIO;
                break;
            }
            uint64_t sslot;
            rc = swap_put(sw, slot, &sslot);
            if (rc < 0)
                break;
            if (sslot > (UINTPTR_MAX >> 1)) {   /* cannot be tagged in an entry */
                swap_drop(sw, sslot);
                rc = -EOVERFLOW;
                break;
            }
            atomic_store_explicit(&pm->entries[idx], ((uintptr_t)sslot << 1) | 1,
                                  memory_order_release);
            atomic_fetch_add(&pm->n_swapped, 1);
            atomic_fetch_add(&pm->swap_outs, 1);
        }
        release_slot(pm, idx, 1);
        atomic_fetch_sub(&pm->n_private, 1);
        mpool_charge(pm->mp, -1);
        done++;
    }
    pthread_mutex_unlock(&pm->lock);
    /* Pages already changed must still get their TLB flush: report them,
     * and let the error come back on the next call. */
    return done ? done : rc;
}

/* ---- working-set sampling ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void sample_clear(struct pmap *pm)
{
    for (unsigned i = 0; i < pm->n_sample; i++)
        atomic_fetch_and_explicit(&pm->flags[pm->sample[i]], (uint8_t)~(PG_SAMPLING | PG_SEEN),
                                  memory_order_relaxed);
    pm->n_sample = 0;
}

void pmap_sample_begin(struct pmap *pm, unsigned n, uint64_t seed)
{
    if (n > SAMPLE_MAX)
        n = SAMPLE_MAX;
    uint64_t rng = seed;
    pthread_mutex_lock(&pm->lock);
    sample_clear(pm);
    /* Reservoir sampling over the touched pages: uniform, one pass. */
    uint64_t seen = 0;
    for (uint64_t i = 0; i < pm->npages && n; i++) {
        if (!atomic_load_explicit(&pm->entries[i], memory_order_relaxed))
            continue;
        if (seen < n) {
            pm->sample[seen] = i;
        } else {
            uint64_t r = splitmix64(&rng) % (seen + 1);
            if (r < n)
                pm->sample[r] = i;
        }
        seen++;
    }
    pm->n_sample = seen < n ? (unsigned)seen : n;
    for (unsigned i = 0; i < pm->n_sample; i++) {
        _Atomic uint8_t *f = &pm->flags[pm->sample[i]];
        atomic_fetch_and_explicit(f, (uint8_t)~PG_SEEN, memory_order_relaxed);
        atomic_fetch_or_explicit(f, PG_SAMPLING, memory_order_relaxed);
    }
    pthread_mutex_unlock(&pm->lock);
}

unsigned pmap_sample_end(struct pmap *pm)
{
    pthread_mutex_lock(&pm->lock);
    unsigned n = pm->n_sample, seen = 0;
    for (unsigned i = 0; i < n; i++)
        if (atomic_load_explicit(&pm->flags[pm->sample[i]], memory_order_relaxed) & PG_SEEN)
            seen++;
    sample_clear(pm);
    pthread_mutex_unlock(&pm->lock);
    return n ? (unsigned)((uint64_t)seen * 1000 / n) : 1000;
}

/* ---- residency ---- */

uint64_t pmap_resident_pages(const struct pmap *pm)
{
    /* mincore in bounded chunks so a large guest needs no big vector. Note
     * a page only ever read may map the host's shared zero page and still
     * count as resident here. */
    unsigned char vec[4096];
    uint64_t resident = 0;
    for (uint64_t done = 0; done < pm->npages;) {
        uint64_t n = pm->npages - done < sizeof vec ? pm->npages - done : sizeof vec;
        if (mincore(pm->frames + (done << PMAP_PAGE_SHIFT), n << PMAP_PAGE_SHIFT, vec) < 0)
            return 0;
        for (uint64_t i = 0; i < n; i++)
            resident += vec[i] & 1;
        done += n;
    }
    return resident;
}


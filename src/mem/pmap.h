/* The pmap: guest-physical -> machine (host) memory, page-granular, one per
 * VM. Every path into guest RAM goes through it: the CPU (via the board's
 * rv_bus.ram_page), DMA from virtio devices (pmap_read/pmap_write), loaders.
 * That is what lets disco share, balloon, swap and clone single pages.
 *
 * An entry is one of:
 *   - nowhere yet: never touched, discarded (balloon, free page reporting)
 *     or found all-zero by the scanner. Costs no host memory; reads as zero.
 *   - private: the page's own slot in one MAP_NORESERVE reservation per VM
 *     (slot i is at a fixed host address, so a slot's host pointer never
 *     changes; the host kernel gives it a frame on first write).
 *   - shared: a read-only frame of the host-wide pool (mem/mpool.h), found
 *     identical by the scanner. The first write copies it back into the
 *     page's slot (copy-on-write) and then calls the shootdown hook, which
 *     must make every hart drop TLB entries that may still point at the
 *     shared frame before the writer goes on.
 *   - swapped: compressed in the pool's swap store; read back on access.
 *
 * Threads: pmap_page / pmap_read / pmap_write / pmap_fill may be called from
 * any thread at any time (harts, DMA). The batch operations (pmap_scan,
 * pmap_swap_out, pmap_discard) change entries that harts may have cached:
 * the caller must have the VM quiesced (no hart inside rv_hart_run, no DMA
 * in flight: in disco, the VM paused and the call made on the loop thread,
 * which is where block DMA runs) and must flush every hart's TLB before the
 * harts run again. Without a pool (pmap_attach never called) there is no
 * sharing, swap or budget: the pmap behaves as a plain lazily-backed RAM. */
#ifndef DISCO_MEM_PMAP_H
#define DISCO_MEM_PMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define PMAP_PAGE_SHIFT 12
#define PMAP_PAGE_SIZE (1ull << PMAP_PAGE_SHIFT)

struct pmap;
struct mpool;

/* Called after pmap_write/pmap_fill changed guest memory behind the CPUs'
 * backs (DMA, loaders), so decoded-code caches can drop those pages. */
typedef void (*pmap_write_hook)(void *ctx, uint64_t gpa, uint64_t len);

/* TLB shootdown, implemented by the VMM (any thread; the pmap's lock is
 * not held). wait = true: after a copy-on-write break of guest page gpa;
 * return only once no hart can read guest memory through a TLB entry made
 * before the break (set FLUSH_TLB on every hart of the VM and wait for the
 * running ones to serve it; the calling hart, if it is one, serves its own
 * right after its ram_page call returns). wait = false: after
 * pmap_discard; ask the harts to flush soon and return at once (stale
 * entries there are harmless: they reach the page's own slot, which reads
 * zero; the flush only makes the next touch go through pmap_page so the
 * page is counted again). Returns false if the wait gave up (bounded: a
 * hart's host thread stalled): the pmap then keeps the old frame until
 * its next batch operation (VM quiesced) or pmap_free. */
typedef bool (*pmap_shootdown_hook)(void *ctx, uint64_t gpa, bool wait);

/* RAM occupies guest-physical [base, base + size); size is a multiple of
 * the page size and at least one page. */
struct pmap *pmap_new(uint64_t base, uint64_t size, struct disco_err *err);
/* Gives shared frames and swap slots back to the pool and detaches. */
void pmap_free(struct pmap *pm);

/* Join the host-wide pool: from now on the pmap's private pages count
 * against the pool's budget (pages touched so far are charged now), the
 * scanner may share its pages with others of the same sharing domain
 * (mpool_domain), and pmap_swap_out may page it out. At most once, before
 * the VM runs. 0, or <0 with err. */
int pmap_attach(struct pmap *pm, struct mpool *mp, uint32_t domain, struct disco_err *err);
struct mpool *pmap_pool(const struct pmap *pm);

uint64_t pmap_base(const struct pmap *pm);
uint64_t pmap_size(const struct pmap *pm);
/* Pages that have host memory or a swap slot: private + shared + swapped. */
uint64_t pmap_touched_pages(const struct pmap *pm);

/* Pages of guest RAM slots the host really holds now (mincore on the
 * slots; shared frames are not counted here). A released page the guest
 * has only read since maps the host's shared zero page and counts too,
 * though it costs no memory. */
uint64_t pmap_resident_pages(const struct pmap *pm);

struct pmap_stats {
    uint64_t pages;         /* configured RAM in pages */
    uint64_t private_pages; /* entries in their own slot */
    uint64_t shared_pages;  /* entries mapping a pool frame (shared with
                               other pages of this or other VMs) */
    uint64_t swapped_pages; /* entries in the swap store */
    uint64_t zero_pages;    /* pages the scanner found all-zero and dropped
                               (cumulative) */
    uint64_t merges;        /* pages mapped onto a shared frame (cumulative) */
    uint64_t cow_breaks;    /* writes that copied a shared page (cumulative) */
    uint64_t swap_outs, swap_ins;   /* cumulative */
    uint64_t scanned;       /* pages the scanner looked at (cumulative) */
    uint64_t scan_rounds;   /* full passes over RAM completed */
};
void pmap_stats(const struct pmap *pm, struct pmap_stats *st);

/* Give [gpa, gpa+len) (page-aligned, inside RAM) back to the host, for
 * pages the guest gave up (balloon, free page reporting): private slots
 * are released (MADV_DONTNEED) and swap slots put back, and those pages
 * read as zero afterwards, like never-touched memory. Shared pages are left
 * as they are (their frame is already deduplicated, and dropping it would
 * need a waiting TLB shootdown first). Calls the write hook (decoded code
 * of those pages is stale) and the shootdown hook with wait = false. Any
 * thread, no quiesce needed. -EINVAL if the range is not page-aligned
 * RAM. */
int pmap_discard(struct pmap *pm, uint64_t gpa, uint64_t len);

void pmap_set_write_hook(struct pmap *pm, pmap_write_hook fn, void *ctx);
void pmap_set_shootdown_hook(struct pmap *pm, pmap_shootdown_hook fn, void *ctx);

/* True if [gpa, gpa+len) lies inside RAM (no overflow). */
bool pmap_contains(const struct pmap *pm, uint64_t gpa, uint64_t len);

/* Host pointer to the page containing gpa (page-aligned); NULL if gpa is
 * outside RAM, or (only with a pool) if a swapped page cannot be read back
 * (I/O error: the caller raises an access fault). for_write: the caller
 * will write through the pointer: a shared page is copied first (COW), and
 * the result is always the page's own slot. Without for_write the result
 * may be a read-only shared frame: never write through it. Marks the page
 * accessed (working-set sampling, swap victim choice). Thread-safe. */
uint8_t *pmap_page(struct pmap *pm, uint64_t gpa, bool for_write);

/* Bounds-checked copies for DMA and loaders: -EFAULT (and nothing copied)
 * unless the whole range is RAM (-EIO if a swapped page cannot be read).
 * pmap_write and pmap_fill call the write hook. */
int pmap_read(struct pmap *pm, uint64_t gpa, void *buf, size_t len);
int pmap_write(struct pmap *pm, uint64_t gpa, const void *buf, size_t len);
int pmap_fill(struct pmap *pm, uint64_t gpa, int byte, size_t len);

/* ---- batch operations: VM quiesced, TLBs flushed after (see top) ---- */

/* The sharing scanner: look at up to max_pages pages from where the last
 * call stopped (wrapping around RAM). A private page that is all zero is
 * dropped (reads as zero again, costs nothing); any other private page is
 * hashed (xxh3) and offered to the pool's share table of the pmap's domain:
 * if an identical frame exists (verified byte for byte) the page maps it
 * and its slot is released. Returns the number of entries changed (the
 * caller flushes TLBs if nonzero). No-op (0) without a pool. */
unsigned pmap_scan(struct pmap *pm, unsigned max_pages);

/* Page out up to max_pages private pages not accessed since the last call
 * (CLOCK over the accessed bits that pmap_page sets), compressing them
 * into the pool's swap store, and release their slots. Pages whose slot
 * holds only zeros are dropped instead of written. Returns pages swapped or
 * dropped (caller flushes TLBs if nonzero); <0 on a swap store error. */
int pmap_swap_out(struct pmap *pm, unsigned max_pages);

/* Working-set sampling (ESX): pick n random touched pages and clear their
 * sampled-accessed bits; the caller then flushes the harts' TLBs (no
 * quiesce needed) so the next touch of any of them goes through pmap_page.
 * pmap_sample_end returns how many of the sampled pages were touched since,
 * per 1000 of those sampled (1000 if none could be sampled). */
void pmap_sample_begin(struct pmap *pm, unsigned n, uint64_t seed);
unsigned pmap_sample_end(struct pmap *pm);

#endif

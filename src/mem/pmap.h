/* The pmap: guest-physical -> machine (host) memory, page-granular, one per
 * VM. Every path into guest RAM goes through it: the CPU (via the board's
 * rv_bus.ram_page), DMA from virtio devices (pmap_read/pmap_write), loaders.
 * That is what lets later work share, balloon, swap and clone single pages.
 *
 * Today an entry is either "nowhere yet" (never touched: costs no host
 * memory) or a machine frame. Frames come from one MAP_NORESERVE reservation
 * per VM, so untouched guest RAM costs nothing. */
#ifndef DISCO_MEM_PMAP_H
#define DISCO_MEM_PMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define PMAP_PAGE_SHIFT 12
#define PMAP_PAGE_SIZE (1ull << PMAP_PAGE_SHIFT)

struct pmap;

/* Called after pmap_write/pmap_fill changed guest memory behind the CPUs'
 * backs (DMA, loaders), so decoded-code caches can drop those pages. */
typedef void (*pmap_write_hook)(void *ctx, uint64_t gpa, uint64_t len);

/* RAM occupies guest-physical [base, base + size); size is a multiple of
 * the page size and at least one page. */
struct pmap *pmap_new(uint64_t base, uint64_t size, struct disco_err *err);
void pmap_free(struct pmap *pm);

uint64_t pmap_base(const struct pmap *pm);
uint64_t pmap_size(const struct pmap *pm);
/* Pages that have a machine frame (touched at least once). */
uint64_t pmap_touched_pages(const struct pmap *pm);

/* Pages of guest RAM the host really holds now (mincore on the frames).
 * A released page the guest has only read since maps the host's shared
 * zero page and counts too, though it costs no memory. */
uint64_t pmap_resident_pages(const struct pmap *pm);

/* Give [gpa, gpa+len) (page-aligned, inside RAM) back to the host: the
 * frames are released (MADV_DONTNEED) and read as zero afterwards, like
 * never-touched memory. For pages the guest gave up (balloon, free page
 * reporting). Calls the write hook (decoded code of those pages is stale).
 * -EINVAL if the range is not page-aligned RAM. */
int pmap_discard(struct pmap *pm, uint64_t gpa, uint64_t len);

void pmap_set_write_hook(struct pmap *pm, pmap_write_hook fn, void *ctx);

/* True if [gpa, gpa+len) lies inside RAM (no overflow). */
bool pmap_contains(const struct pmap *pm, uint64_t gpa, uint64_t len);

/* Host pointer to the page containing gpa (page-aligned), allocating its
 * frame on first touch; NULL if gpa is outside RAM. for_write says the
 * caller will write (copy-on-write point for later sharing). Thread-safe. */
uint8_t *pmap_page(struct pmap *pm, uint64_t gpa, bool for_write);

/* Bounds-checked copies for DMA and loaders: -EFAULT (and nothing copied)
 * unless the whole range is RAM. pmap_write and pmap_fill call the write
 * hook. */
int pmap_read(struct pmap *pm, uint64_t gpa, void *buf, size_t len);
int pmap_write(struct pmap *pm, uint64_t gpa, const void *buf, size_t len);
int pmap_fill(struct pmap *pm, uint64_t gpa, int byte, size_t len);

#endif

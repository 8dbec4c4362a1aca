/* The hypervisor swap store: guest pages written out to one unlinked file
 * (O_TMPFILE), compressed with zstd where it pays (a page that does not
 * shrink below 3/4 of its size is stored raw). Space is handed out in
 * 512-byte units and reused. Thread-safe. */
#ifndef DISCO_MEM_SWAP_H
#define DISCO_MEM_SWAP_H

#include <stdint.h>

#include "util/err.h"

#define SWAP_PAGE_SIZE 4096u

struct swap;

/* dir: where to make the file; NULL: $TMPDIR or /var/tmp. */
struct swap *swap_open(const char *dir, struct disco_err *err);
void swap_close(struct swap *sw);

/* Store one page; *slot identifies it until swap_drop. 0, or <0 (-errno:
 * the file cannot grow, I/O error). Slot ids are never 0 and always below
 * 2^32, so a caller may pack them into 32 bits; the id of a dropped slot
 * may be handed out again by a later put. */
int swap_put(struct swap *sw, const uint8_t *page, uint64_t *slot);
/* Read a page back (does not drop it). 0, or <0 (-EIO on a short read or
 * corrupt data, -EINVAL for a slot not in use). On error the contents of
 * `page` are unspecified. */
int swap_get(struct swap *sw, uint64_t slot, uint8_t *page);
/* Free the slot's space. Ids not in use (never handed out, already
 * dropped) are ignored. */
void swap_drop(struct swap *sw, uint64_t slot);

struct swap_stats {
    uint64_t pages;           /* slots in use */
    uint64_t bytes;           /* file space they take */
    uint64_t file_size;
    uint64_t puts, gets;      /* cumulative */
};
void swap_stats(struct swap *sw, struct swap_stats *st);

#endif

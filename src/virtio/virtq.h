/* Split virtqueues (virtio 1.x §2.7), device side.
 *
 * The descriptor table, the available ring and the used ring live in GUEST
 * memory and are reached only through the pmap (pmap_read/pmap_write, plus
 * momentary page lookups for the 16-bit ring indices, which must be read
 * and written atomically). The guest may be hostile: every index, length,
 * address and chain shape is checked, chain walks are bounded, and a
 * malformed queue is reported as -EIO so the transport can put the device
 * into DEVICE_NEEDS_RESET.
 *
 * A struct virtq is not thread-safe by itself: the transport serialises all
 * calls with its per-device mutex. Ordering against the guest's harts (which
 * run on other host threads) is by atomic fences: avail idx is loaded with
 * acquire, used idx is stored with release, and the EVENT_IDX checks sit
 * behind full fences. */
#ifndef DISCO_VIRTIO_VIRTQ_H
#define DISCO_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/pmap.h"

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

/* Largest queue size the split layout allows. */
#define VIRTQ_SIZE_LIMIT 32768u

/* One guest buffer of a chain. Zero-length descriptors are dropped while
 * walking, so every segment here has len > 0 and lies wholly inside RAM. */
struct virtq_seg {
    uint64_t addr;
    uint32_t len;
};

/* A popped descriptor chain: seg[0 .. n_rd) are device-readable (driver ->
 * device), seg[n_rd .. n_rd + n_wr) device-writable. The segment array
 * belongs to the queue and is valid until the next virtq_pop. */
struct virtq_chain {
    uint16_t head;
    unsigned n_rd, n_wr;
    uint64_t rd_len, wr_len;      /* byte totals of each part */
    const struct virtq_seg *seg;
};

struct virtq {
    struct pmap *mem;
    uint16_t num_max;             /* device limit, power of two */
    /* Driver-programmed configuration (QueueNum / Queue*Low/High). */
    uint32_t num;
    uint64_t desc_addr, avail_addr, used_addr;
    bool ready;
    /* Negotiated ring features, latched when the queue is enabled. */
    bool f_indirect, f_event_idx;
    /* Device-private progress. */
    uint16_t last_avail;          /* next available-ring slot to consume */
    uint16_t used_idx;            /* shadow of used->idx */
    struct virtq_seg *segs;       /* num_max entries */
};

/* Set up / tear down the host-side state (allocates the segment array). */
int virtq_init(struct virtq *vq, struct pmap *mem, uint16_t num_max);
void virtq_destroy(struct virtq *vq);

/* Back to the power-on state: not ready, num = num_max, addresses 0. */
void virtq_reset(struct virtq *vq);

/* Driver wrote QueueReady = 1: validate the size (power of two, 1..num_max)
 * and the ring placement (alignment, wholly inside RAM) and start with
 * fresh indices. -EINVAL (queue left disabled) if anything is wrong. */
int virtq_enable(struct virtq *vq, bool f_indirect, bool f_event_idx);

/* Take the next available chain. 1: *ch filled; 0: ring empty; -EIO: the
 * driver broke the ring (bad index, loop, buffer outside RAM, ...). */
int virtq_pop(struct virtq *vq, struct virtq_chain *ch);
/* True if the driver has made chains available that were not popped yet
 * (or the avail ring is unreadable or corrupt, which virtq_pop reports). */
bool virtq_has_avail(struct virtq *vq);

/* Return a chain to the driver with `len` bytes written into its
 * device-writable part. -EIO if the used ring cannot be written. */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* After pushing, starting from used index `old_used`: does the driver want
 * a used-buffer interrupt (VIRTQ_AVAIL_F_NO_INTERRUPT / used_event)? */
bool virtq_need_interrupt(struct virtq *vq, uint16_t old_used);

/* Copy from the device-readable part of a chain, starting `off` bytes into
 * it, or into the device-writable part. -EFAULT if the range runs past the
 * part (nothing is guaranteed to have been copied then). */
int virtq_chain_read(const struct virtq *vq, const struct virtq_chain *ch, uint64_t off,
                     void *buf, size_t len);
int virtq_chain_write(const struct virtq *vq, const struct virtq_chain *ch, uint64_t off,
                      const void *buf, size_t len);

#endif

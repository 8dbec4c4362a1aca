/* virtio-mmio transport (virtio 1.x, "modern", Version register = 2) and
 * the devices that sit on it. The board sees a device only as an MMIO
 * window (0x200 bytes used of a 0x1000 slot) plus its interrupt line; the
 * device reaches guest memory only through the pmap (bounds-checked DMA),
 * so wild descriptors become a device error, never a host access. */
#ifndef DISCO_VIRTIO_MMIO_H
#define DISCO_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/device.h"
#include "mem/pmap.h"
#include "util/err.h"

/* What the board gives a virtio device. */
struct virtio_host {
    struct pmap *mem;        /* guest RAM, for DMA */
    struct irq_line irq;     /* the slot's PLIC line */
};

struct virtio_mmio;          /* transport + device */
extern const struct mmio_ops virtio_mmio_ops;  /* dev = struct virtio_mmio * */
void virtio_mmio_free(struct virtio_mmio *vm);
uint32_t virtio_mmio_device_id(const struct virtio_mmio *vm);
/* Deferred queue processing, for devices whose work is slow (virtio-blk's
 * file I/O): once fn is set, a queue notification only marks the queue
 * pending and calls fn(ctx), on the notifying hart's thread with the device
 * lock held (fn must only signal, e.g. write an eventfd); the owner then
 * calls virtio_mmio_serve, typically from its event loop, which processes
 * the pending queues and raises their interrupts. Without fn (the default)
 * notifications are processed synchronously. Other devices ignore fn. */
void virtio_mmio_set_kick(struct virtio_mmio *vm, void (*fn)(void *ctx), void *ctx);
/* Process the queues notified since the last call (no-op if none). Takes
 * the device lock; must not be called with it held. A device reset drops
 * what is pending. */
void virtio_mmio_serve(struct virtio_mmio *vm);

/* virtio-blk over a raw image file. Errors name the file. */
struct virtio_mmio *virtio_blk_new(const struct virtio_host *host, const char *path,
                                   bool readonly, struct disco_err *err);

/* virtio-rng: entropy from getrandom(2). */
struct virtio_mmio *virtio_rng_new(const struct virtio_host *host, struct disco_err *err);

/* virtio-balloon (device ID 5): inflate/deflate queues, the statistics
 * queue, free page reporting, deflate-on-OOM. Pages the guest gives up
 * (inflate, reported free pages) are released to the host at once
 * (pmap_discard); the guest may use them again after a deflate (or, with
 * deflate-on-OOM, when it needs them). */
struct virtio_mmio *virtio_balloon_new(const struct virtio_host *host, struct disco_err *err);
/* Ask the guest to hold `pages` 4 KiB pages in its balloon (config
 * num_pages, with a config-change interrupt). Any thread. */
void virtio_balloon_set_target(struct virtio_mmio *vm, uint64_t pages);
struct virtio_balloon_info {
    uint64_t target_pages;      /* what the host asked */
    uint64_t actual_pages;      /* what the guest says it holds (config actual) */
    uint64_t inflated_pages;    /* pages in the balloon as the device counted them */
    uint64_t reported_pages;    /* free pages reported (and released) so far */
    bool stats_valid;           /* the guest sent statistics: below */
    uint64_t stat_free, stat_total, stat_available, stat_caches;   /* bytes */
};
void virtio_balloon_info(struct virtio_mmio *vm, struct virtio_balloon_info *info);

/* virtio-console (one port, no multiport for now): output to a sink,
 * input pushed with virtio_console_input. */
typedef void (*virtio_console_sink)(void *ctx, const uint8_t *buf, size_t len);
struct virtio_mmio *virtio_console_new(const struct virtio_host *host,
                                       virtio_console_sink sink, void *sink_ctx,
                                       struct disco_err *err);
/* Deliver input bytes to the guest; returns how many were accepted (the
 * guest may not have posted receive buffers yet). */
size_t virtio_console_input(struct virtio_mmio *vm, const uint8_t *buf, size_t len);
/* Call fn(ctx) whenever the guest posts receive buffers (a receiveq
 * notification, or the driver going live), so input that was refused can be
 * retried. fn runs on the notifying hart's thread with the device lock held:
 * it must only signal (e.g. write an eventfd), never call back in. */
void virtio_console_set_rx_notify(struct virtio_mmio *vm, void (*fn)(void *ctx), void *ctx);

#endif

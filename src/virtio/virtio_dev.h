/* Internal to src/virtio: how a device model (blk, rng, console) plugs into
 * the generic virtio-mmio transport in mmio.c.
 *
 * Locking: every transport entry point (MMIO read/write) runs under the
 * device's mutex, and so do the device callbacks below. A device entry
 * point called from elsewhere (e.g. console input from the console thread)
 * takes the same mutex with virtio_mmio_lock/unlock. Callbacks must not
 * call back into code that takes the lock again. */
#ifndef DISCO_VIRTIO_DEV_H
#define DISCO_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio_mmio.h"
#include "virtio/virtq.h"

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* Transport-level feature bits. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* InterruptStatus bits. */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_CONFIG_MAX 256

struct virtio_dev_ops {
    const char *name;         /* for messages: "virtio-blk" */
    uint32_t device_id;
    unsigned num_queues;      /* <= VIRTIO_MMIO_MAX_QUEUES */
    uint16_t queue_max;       /* QueueNumMax of every queue, power of two */
    uint64_t features;        /* device-specific feature bits offered */
    /* The driver notified queue q (or the device just became DRIVER_OK
     * with q ready). Called only while the device is live: DRIVER_OK,
     * FEATURES_OK, not NEEDS_RESET, queue q ready. */
    void (*notify)(struct virtio_mmio *vm, void *dev, unsigned q);
    /* With a kick hook set (virtio_mmio_set_kick), notify runs from
     * virtio_mmio_serve on the owner's loop rather than inside the
     * QueueNotify write on the hart's thread (slow device work: disk I/O). */
    bool deferred;
    void (*reset)(void *dev);         /* optional: device reset (status 0) */
    /* Optional: the driver wrote `len` bytes (1/2/4/8) at config offset
     * `off`. Without it config space is read-only. The device decides what
     * is writable and stores it with virtio_mmio_config_write. */
    void (*config_write)(struct virtio_mmio *vm, void *dev, uint64_t off, unsigned len,
                         uint64_t val);
    void (*destroy)(void *dev);       /* optional: free the device state */
};

/* Create the transport for a device; `config` (len <= VIRTIO_MMIO_CONFIG_MAX)
 * is the initial device config space (copied). On failure returns NULL,
 * fills err, and calls ops->destroy(dev). */
struct virtio_mmio *virtio_mmio_create(const struct virtio_host *host,
                                       const struct virtio_dev_ops *ops, void *dev,
                                       const void *config, size_t config_len,
                                       struct disco_err *err);

/* The following are for device code; the lock must be held. */
void *virtio_mmio_dev(struct virtio_mmio *vm);
struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned q);
/* Can the device use queue q now (live device, queue ready)? */
bool virtio_mmio_queue_live(struct virtio_mmio *vm, unsigned q);
/* Negotiated features (valid once FEATURES_OK). */
uint64_t virtio_mmio_features(const struct virtio_mmio *vm);
/* The driver broke the protocol: set DEVICE_NEEDS_RESET, raise a config
 * change interrupt, stop processing until the driver resets the device. */
void virtio_mmio_needs_reset(struct virtio_mmio *vm);
/* Raise a used-buffer interrupt. */
void virtio_mmio_interrupt_used(struct virtio_mmio *vm);
/* Store `len` bytes into the device config space at `off` (ignored if out
 * of range). Does not notify: see virtio_mmio_config_changed. */
void virtio_mmio_config_write(struct virtio_mmio *vm, size_t off, const void *buf, size_t len);
/* The device changed its config: new ConfigGeneration, and a
 * configuration change interrupt if the driver is live (a driver that is
 * not yet live reads the config when it gets there). */
void virtio_mmio_config_changed(struct virtio_mmio *vm);

/* Handle one chain: return the number of bytes written into its
 * device-writable part (the used length), or <0 if the chain is malformed
 * in a way the device cannot report (then the device needs reset). */
typedef int64_t (*virtio_chain_fn)(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                                   const struct virtq_chain *ch);
/* Pop every available chain of queue q, hand it to fn, push it as used,
 * and interrupt the driver if it asked for it. */
void virtio_mmio_process_queue(struct virtio_mmio *vm, unsigned q, virtio_chain_fn fn);

/* For device entry points called from outside the MMIO handlers. */
void virtio_mmio_lock(struct virtio_mmio *vm);
void virtio_mmio_unlock(struct virtio_mmio *vm);

#endif

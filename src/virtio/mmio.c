/* virtio-mmio transport, virtio 1.x modern register layout (Version 2),
 * spec §4.2.2. Generic: the device model behind it supplies a
 * virtio_dev_ops (virtio_dev.h), its config space and queue handlers.
 *
 * All register accesses run under a per-device mutex (several harts may
 * touch the same device, and device entry points like console input come
 * from other threads). Queue processing happens inside the QueueNotify
 * write, unless the device defers it (ops->deferred) and the owner set a
 * kick hook: then the write only marks the queue pending and kicks, and the
 * owner's loop runs virtio_mmio_serve. */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_MMIO_MAGIC 0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VERSION 2u
#define VIRTIO_MMIO_VENDOR 0x554d4551u  /* "QEMU" */

enum {
    REG_MAGIC = 0x000,
    REG_VERSION = 0x004,
    REG_DEVICE_ID = 0x008,
    REG_VENDOR_ID = 0x00c,
    REG_DEVICE_FEATURES = 0x010,
    REG_DEVICE_FEATURES_SEL = 0x014,
    REG_DRIVER_FEATURES = 0x020,
    REG_DRIVER_FEATURES_SEL = 0x024,
    REG_QUEUE_SEL = 0x030,
    REG_QUEUE_NUM_MAX = 0x034,
    REG_QUEUE_NUM = 0x038,
    REG_QUEUE_READY = 0x044,
    REG_QUEUE_NOTIFY = 0x050,
    REG_INTERRUPT_STATUS = 0x060,
    REG_INTERRUPT_ACK = 0x064,
    REG_STATUS = 0x070,
    REG_QUEUE_DESC_LOW = 0x080,
    REG_QUEUE_DESC_HIGH = 0x084,
    REG_QUEUE_DRIVER_LOW = 0x090,
    REG_QUEUE_DRIVER_HIGH = 0x094,
    REG_QUEUE_DEVICE_LOW = 0x0a0,
    REG_QUEUE_DEVICE_HIGH = 0x0a4,
    REG_SHM_SEL = 0x0ac,
    REG_SHM_LEN_LOW = 0x0b0,
    REG_SHM_LEN_HIGH = 0x0b4,
    REG_SHM_BASE_LOW = 0x0b8,
    REG_SHM_BASE_HIGH = 0x0bc,
    REG_CONFIG_GENERATION = 0x0fc,
    REG_CONFIG = 0x100,
};

/* Ring features the transport implements for every device. */
#define TRANSPORT_FEATURES                                                             \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC) |                 \
     (1ull << VIRTIO_F_EVENT_IDX))

struct virtio_mmio {
    pthread_mutex_t lock;
    const struct virtio_dev_ops *ops;
    void *dev;
    struct pmap *mem;
    struct irq_line irq;

    uint64_t offered;             /* DeviceFeatures */
    uint64_t driver_features;     /* DriverFeatures as written */
    uint32_t device_features_sel, driver_features_sel;
    uint32_t queue_sel;
    uint32_t status;
    uint32_t int_status;
    uint32_t config_generation;

    uint8_t config[VIRTIO_MMIO_CONFIG_MAX];
    size_t config_len;

    unsigned nq;
    struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];

    /* Deferred processing (ops->deferred with a kick hook): queues notified
     * but not yet served, one bit per queue. */
    void (*kick)(void *ctx);
    void *kick_ctx;
    uint32_t pending;
    /* Chains one process_queue call may take (0: all), and bytes they may
     * offer (0: any). Set while serving, so a guest refilling its ring from
     * another hart, or posting huge buffers, cannot keep the shared loop to
     * itself. */
    unsigned budget;
    uint64_t byte_budget;
};

/* One serve pass takes per queue at most SERVE_BUDGET chains, and stops
 * taking more once the chains taken offer SERVE_BYTES or more. A chain's
 * size (readable plus writable bytes) bounds what the device moves for it;
 * a chain the device refuses without doing the work still counts in full,
 * which only slows down the guest that sent it. virtio-blk caps a request
 * at 4 MiB, so a pass moves at most 16 MiB plus one request. */
#define SERVE_BUDGET 64
#define SERVE_BYTES (16ull << 20)

/* ---- helpers for device code (lock held) ---- */

void virtio_mmio_lock(struct virtio_mmio *vm) { pthread_mutex_lock(&vm->lock); }
void virtio_mmio_unlock(struct virtio_mmio *vm) { pthread_mutex_unlock(&vm->lock); }
void *virtio_mmio_dev(struct virtio_mmio *vm) { return vm->dev; }

uint32_t virtio_mmio_device_id(const struct virtio_mmio *vm) { return vm->ops->device_id; }

uint64_t virtio_mmio_features(const struct virtio_mmio *vm)
{
    return (vm->status & VIRTIO_STATUS_FEATURES_OK) ? vm->driver_features : 0;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned q)
{
    return q < vm->nq ? &vm->vq[q] : NULL;
}

static bool device_live(const struct virtio_mmio *vm)
{
    uint32_t need = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;
    uint32_t bad = VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED;
    return (vm->status & need) == need && !(vm->status & bad);
}

bool virtio_mmio_queue_live(struct virtio_mmio *vm, unsigned q)
{
    return device_live(vm) && q < vm->nq && vm->vq[q].ready;
}

static void update_irq(struct virtio_mmio *vm)
{
    /* Level-triggered: asserted while any InterruptStatus bit is set.
     * Re-driving the same level is harmless for a level input. */
    irq_line_set(&vm->irq, vm->int_status != 0);
}

void virtio_mmio_interrupt_used(struct virtio_mmio *vm)
{
    vm->int_status |= VIRTIO_INT_USED;
    update_irq(vm);
}

void virtio_mmio_config_write(struct virtio_mmio *vm, size_t off, const void *buf, size_t len)
{
    if (off <= vm->config_len && len <= vm->config_len - off)
        memcpy(vm->config + off, buf, len);
}

void virtio_mmio_config_changed(struct virtio_mmio *vm)
{
    vm->config_generation++;
    if (!(vm->status & VIRTIO_STATUS_DRIVER_OK))
        return;
    vm->int_status |= VIRTIO_INT_CONFIG;
    update_irq(vm);
}

void virtio_mmio_needs_reset(struct virtio_mmio *vm)
{
    if (vm->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    vm->status |= VIRTIO_STATUS_NEEDS_RESET;
    vm->int_status |= VIRTIO_INT_CONFIG;
    update_irq(vm);
}

void virtio_mmio_process_queue(struct virtio_mmio *vm, unsigned q, virtio_chain_fn fn)
{
    if (!virtio_mmio_queue_live(vm, q))
        return;
    struct virtq *vq = &vm->vq[q];
    uint16_t old_used = vq->used_idx;
    struct virtq_chain ch;
    int rc = 0;
    uint64_t bytes = 0;
    /* Each round consumes one chain the driver made available; a malformed
     * ring ends the loop with rc < 0. */
    for (unsigned done = 0;; done++) {
        if ((vm->budget && done == vm->budget) ||
            (vm->byte_budget && bytes >= vm->byte_budget)) {
            vm->pending |= 1u << q;   /* maybe more: serve it again later */
            break;
        }
        if ((rc = virtq_pop(vq, &ch)) <= 0)
            break;
        bytes += ch.rd_len + ch.wr_len;
        int64_t n = fn(vm, vm->dev, vq, &ch);
        if (n < 0) {
            rc = -EIO;
            break;
        }
        if (n > (int64_t)ch.wr_len)
            n = (int64_t)ch.wr_len;
        if (virtq_push(vq, ch.head, (uint32_t)n)) {
            rc = -EIO;
            break;
        }
    }
    if (virtq_need_interrupt(vq, old_used))
        virtio_mmio_interrupt_used(vm);
    if (rc < 0)
        virtio_mmio_needs_reset(vm);
}

/* ---- the register file ---- */

static void device_reset(struct virtio_mmio *vm)
{
    vm->status = 0;
    vm->driver_features = 0;
    vm->device_features_sel = vm->driver_features_sel = 0;
    vm->queue_sel = 0;
    for (unsigned q = 0; q < vm->nq; q++)
        virtq_reset(&vm->vq[q]);
    vm->pending = 0;   /* requests of the old driver instance are gone */
    if (vm->ops->reset)
        vm->ops->reset(vm->dev);
    vm->int_status = 0;
    update_irq(vm);
}

/* The driver notified queue q (or it became live): process it now, or
 * leave it to virtio_mmio_serve on the owner's loop. */
static void queue_notify(struct virtio_mmio *vm, unsigned q)
{
    if (!virtio_mmio_queue_live(vm, q) || !vm->ops->notify)
        return;
    if (vm->ops->deferred && vm->kick) {
        /* One kick per batch: while bits are pending, the loop has been
         * kicked and has not taken them yet, so a notify storm costs no
         * extra eventfd writes. */
        bool idle = vm->pending == 0;
        vm->pending |= 1u << q;
        if (idle)
            vm->kick(vm->kick_ctx);
        return;
    }
    vm->ops->notify(vm, vm->dev, q);
}

/* At DRIVER_OK: look at the queues that already hold chains. Only those:
 * a deferred device kicked for an empty queue would serve it later, after
 * the driver may have queued (and still be editing) requests it has not
 * notified yet. */
static void kick_queued(struct virtio_mmio *vm)
{
    for (unsigned q = 0; q < vm->nq; q++)
        if (virtio_mmio_queue_live(vm, q) && virtq_has_avail(&vm->vq[q]))
            queue_notify(vm, q);
}

static void write_status(struct virtio_mmio *vm, uint32_t v)
{
    if (v == 0) {
        device_reset(vm);
        return;
    }
    uint32_t old = vm->status;
    /* The driver cannot clear bits (only reset does) nor set NEEDS_RESET. */
    uint32_t s = old | (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET);
    if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Accept only a subset of what we offered, and only modern. */
        if ((vm->driver_features & ~vm->offered) ||
            !(vm->driver_features & (1ull << VIRTIO_F_VERSION_1)))
            s &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    vm->status = s;
    /* Chains the driver queued before DRIVER_OK were not processed then;
     * look at every ready queue now. */
    if ((s & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        kick_queued(vm);
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
    if (high)
        *v = (*v & 0xffffffffull) | ((uint64_t)half << 32);
    else
        *v = (*v & ~0xffffffffull) | half;
}

static struct virtq *sel_queue(struct virtio_mmio *vm)
{
    return vm->queue_sel < vm->nq ? &vm->vq[vm->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *vm, uint64_t off)
{
    struct virtq *vq = sel_queue(vm);
    switch (off) {
    case REG_MAGIC: return VIRTIO_MMIO_MAGIC;
    case REG_VERSION: return VIRTIO_MMIO_VERSION;
    case REG_DEVICE_ID: return vm->ops->device_id;
    case REG_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
    case REG_DEVICE_FEATURES:
        if (vm->device_features_sel > 1)
            return 0;
        return (uint32_t)(vm->offered >> (32 * vm->device_features_sel));
    case REG_QUEUE_NUM_MAX: return vq ? vq->num_max : 0;
    case REG_QUEUE_NUM: return vq ? vq->num : 0;
    case REG_QUEUE_READY: return vq ? vq->ready : 0;
    case REG_INTERRUPT_STATUS: return vm->int_status;
    case REG_STATUS: return vm->status;
    case REG_QUEUE_DESC_LOW: return vq ? (uint32_t)vq->desc_addr : 0;
    case REG_QUEUE_DESC_HIGH: return vq ? (uint32_t)(vq->desc_addr >> 32) : 0;
    case REG_QUEUE_DRIVER_LOW: return vq ? (uint32_t)vq->avail_addr : 0;
    case REG_QUEUE_DRIVER_HIGH: return vq ? (uint32_t)(vq->avail_addr >> 32) : 0;
    case REG_QUEUE_DEVICE_LOW: return vq ? (uint32_t)vq->used_addr : 0;
    case REG_QUEUE_DEVICE_HIGH: return vq ? (uint32_t)(vq->used_addr >> 32) : 0;
    /* No shared memory regions: length (and base) read as all ones. */
    case REG_SHM_LEN_LOW: case REG_SHM_LEN_HIGH:
    case REG_SHM_BASE_LOW: case REG_SHM_BASE_HIGH:
        return 0xffffffffu;
    case REG_CONFIG_GENERATION: return vm->config_generation;
    default: return 0;
    }
}

static void reg_write(struct virtio_mmio *vm, uint64_t off, uint32_t v)
{
    struct virtq *vq = sel_queue(vm);
    /* Queue layout registers are frozen while the queue is enabled: the
     * validated configuration cannot change under the device. */
    struct virtq *cfgq = vq && !vq->ready ? vq : NULL;
    switch (off) {
    case REG_DEVICE_FEATURES_SEL: vm->device_features_sel = v; break;
    case REG_DRIVER_FEATURES:
        if (!(vm->status & VIRTIO_STATUS_FEATURES_OK) && vm->driver_features_sel <= 1)
            set_half(&vm->driver_features, vm->driver_features_sel == 1, v);
        break;
    case REG_DRIVER_FEATURES_SEL: vm->driver_features_sel = v; break;
    case REG_QUEUE_SEL: vm->queue_sel = v; break;
    case REG_QUEUE_NUM:
        if (cfgq)
            cfgq->num = v;
        break;
    case REG_QUEUE_READY:
        if (!vq)
            break;
        if (v == 0) {
            vq->ready = false;
        } else if (!vq->ready) {
            uint64_t f = virtio_mmio_features(vm);
            if (virtq_enable(vq, f & (1ull << VIRTIO_F_INDIRECT_DESC),
                             f & (1ull << VIRTIO_F_EVENT_IDX)))
                virtio_mmio_needs_reset(vm);  /* bad size or rings outside RAM */
        }
        break;
    case REG_QUEUE_NOTIFY:
        if (v < vm->nq)
            queue_notify(vm, v);
        break;
    case REG_INTERRUPT_ACK:
        vm->int_status &= ~v;
        update_irq(vm);
        break;
    case REG_STATUS: write_status(vm, v); break;
    case REG_QUEUE_DESC_LOW: if (cfgq) set_half(&cfgq->desc_addr, false, v); break;
    case REG_QUEUE_DESC_HIGH: if (cfgq) set_half(&cfgq->desc_addr, true, v); break;
    case REG_QUEUE_DRIVER_LOW: if (cfgq) set_half(&cfgq->avail_addr, false, v); break;
    case REG_QUEUE_DRIVER_HIGH: if (cfgq) set_half(&cfgq->avail_addr, true, v); break;
    case REG_QUEUE_DEVICE_LOW: if (cfgq) set_half(&cfgq->used_addr, false, v); break;
    case REG_QUEUE_DEVICE_HIGH: if (cfgq) set_half(&cfgq->used_addr, true, v); break;
    default: break;  /* read-only or unknown: ignored */
    }
}

static int vmmio_read(void *opaque, uint64_t off, unsigned len, uint64_t *val)
{
    struct virtio_mmio *vm = opaque;
    if (off >= REG_CONFIG) {
        /* Device config space: 1/2/4/8-byte little-endian accesses; bytes
         * past the device's config structure read as 0. */
        if (len != 1 && len != 2 && len != 4 && len != 8)
            return -EINVAL;
        uint64_t v = 0;
        pthread_mutex_lock(&vm->lock);
        for (unsigned i = 0; i < len; i++) {
            uint64_t c = off - REG_CONFIG + i;
            if (c < vm->config_len)
                v |= (uint64_t)vm->config[c] << (8 * i);
        }
        pthread_mutex_unlock(&vm->lock);
        *val = v;
        return 0;
    }
    if (len != 4 || (off & 3))
        return -EINVAL;     /* registers are 32-bit only */
    pthread_mutex_lock(&vm->lock);
    *val = reg_read(vm, off);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static int vmmio_write(void *opaque, uint64_t off, unsigned len, uint64_t val)
{
    struct virtio_mmio *vm = opaque;
    if (off >= REG_CONFIG) {
        /* Writable fields are the device's business (virtio-balloon's
         * `actual`); the others ignore config writes. */
        if (len != 1 && len != 2 && len != 4 && len != 8)
            return -EINVAL;
        if (vm->ops->config_write) {
            pthread_mutex_lock(&vm->lock);
            vm->ops->config_write(vm, vm->dev, off - REG_CONFIG, len, val);
            pthread_mutex_unlock(&vm->lock);
        }
        return 0;
    }
    if (len != 4 || (off & 3))
        return -EINVAL;
    pthread_mutex_lock(&vm->lock);
    reg_write(vm, off, (uint32_t)val);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

const struct mmio_ops virtio_mmio_ops = {
    .read = vmmio_read,
    .write = vmmio_write,
};

struct virtio_mmio *virtio_mmio_create(const struct virtio_host *host,
                                       const struct virtio_dev_ops *ops, void *dev,
                                       const void *config, size_t config_len,
                                       struct disco_err *err)
{
    struct virtio_mmio *vm = NULL;
    if (!host || !host->mem || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES ||
        config_len > VIRTIO_MMIO_CONFIG_MAX) {
        err_set(err, -EINVAL, "%s: bad device parameters", ops->name);
        goto fail;
    }
    vm = calloc(1, sizeof *vm);
    if (!vm) {
        err_set(err, -ENOMEM, "%s: out of memory", ops->name);
        goto fail;
    }
    for (unsigned q = 0; q < ops->num_queues; q++) {
        int rc = virtq_init(&vm->vq[q], host->mem, ops->queue_max);
        if (rc) {
            err_set(err, rc, "%s: cannot set up virtqueue %u", ops->name, q);
            for (unsigned k = 0; k < q; k++)
                virtq_destroy(&vm->vq[k]);
            goto fail;
        }
    }
    if (pthread_mutex_init(&vm->lock, NULL)) {
        for (unsigned q = 0; q < ops->num_queues; q++)
            virtq_destroy(&vm->vq[q]);
        err_set(err, -ENOMEM, "%s: cannot create mutex", ops->name);
        goto fail;
    }
    vm->nq = ops->num_queues;
    vm->ops = ops;
    vm->dev = dev;
    vm->mem = host->mem;
    vm->irq = host->irq;
    vm->offered = ops->features | TRANSPORT_FEATURES;
    if (config_len)
        memcpy(vm->config, config, config_len);
    vm->config_len = config_len;
    return vm;
fail:
    free(vm);
    if (ops->destroy)
        ops->destroy(dev);
    return NULL;
}

void virtio_mmio_set_kick(struct virtio_mmio *vm, void (*fn)(void *ctx), void *ctx)
{
    if (!vm)
        return;
    pthread_mutex_lock(&vm->lock);
    vm->kick = fn;
    vm->kick_ctx = ctx;
    if (vm->pending && fn) {
        fn(ctx);   /* the new owner serves what the old one had not */
    } else if (vm->pending) {
        /* Back to synchronous mode: nobody would serve these otherwise. */
        uint32_t p = vm->pending;
        vm->pending = 0;
        for (unsigned q = 0; q < vm->nq; q++)
            if (p & (1u << q))
                queue_notify(vm, q);
    }
    pthread_mutex_unlock(&vm->lock);
}

void virtio_mmio_serve(struct virtio_mmio *vm)
{
    if (!vm)
        return;
    pthread_mutex_lock(&vm->lock);
    uint32_t p = vm->pending;
    vm->pending = 0;
    vm->budget = SERVE_BUDGET;
    vm->byte_budget = SERVE_BYTES;
    for (unsigned q = 0; q < vm->nq; q++)
        if ((p & (1u << q)) && virtio_mmio_queue_live(vm, q))
            vm->ops->notify(vm, vm->dev, q);
    vm->budget = 0;
    vm->byte_budget = 0;
    /* A queue cut short by the budget: come back after the loop's other
     * work. */
    if (vm->pending && vm->kick)
        vm->kick(vm->kick_ctx);
    pthread_mutex_unlock(&vm->lock);
}

void virtio_mmio_free(struct virtio_mmio *vm)
{
    if (!vm)
        return;
    for (unsigned q = 0; q < vm->nq; q++)
        virtq_destroy(&vm->vq[q]);
    if (vm->ops->destroy)
        vm->ops->destroy(vm->dev);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

/* A tiny virtio-mmio "driver" for unit tests: plays the guest against a
 * device through virtio_mmio_ops, with rings and buffers in a pmap.
 * Include after t.h. */
#ifndef DISCO_TESTS_VIRTIO_DRV_H
#define DISCO_TESTS_VIRTIO_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mem/pmap.h"
#include "virtio/virtio_mmio.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (16ull << 20)
#define HEAP_BASE (RAM_BASE + 0x100000)

/* Register offsets and bits (spelled out here, independently of mmio.c). */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR 0x00c
#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QSEL 0x030
#define R_QNUM_MAX 0x034
#define R_QNUM 0x038
#define R_QREADY 0x044
#define R_QNOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_QDESC_LO 0x080
#define R_QDESC_HI 0x084
#define R_QDRV_LO 0x090
#define R_QDRV_HI 0x094
#define R_QDEV_LO 0x0a0
#define R_QDEV_HI 0x0a4
#define R_CFG_GEN 0x0fc
#define R_CONFIG 0x100

#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 0x40u

#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

struct fake_irq {
    bool level;
    int raises;     /* low -> high transitions */
    unsigned num;
};

static inline void fake_irq_set(void *ctx, unsigned num, bool level)
{
    struct fake_irq *f = ctx;
    f->num = num;
    if (level && !f->level)
        f->raises++;
    f->level = level;
}

struct drvq {
    uint64_t desc, avail, used;
    uint16_t num;
    uint16_t avail_idx;     /* driver's next avail idx */
    uint16_t used_seen;     /* used entries consumed by the test */
};

struct drv {
    struct pmap *pm;
    struct fake_irq irq;
    struct virtio_host host;
    struct virtio_mmio *vm;
    struct drvq q[4];
    uint64_t heap;
};

/* Fresh guest RAM and host description; the device is created by the test. */
static inline int drv_open(struct drv *d)
{
    struct disco_err err;
    memset(d, 0, sizeof *d);
    d->pm = pmap_new(RAM_BASE, RAM_SIZE, &err);
    if (!d->pm)
        return -1;
    d->host.mem = d->pm;
    d->host.irq.set = fake_irq_set;
    d->host.irq.ctx = &d->irq;
    d->host.irq.num = 7;
    d->heap = HEAP_BASE;
    return 0;
}

static inline void drv_close(struct drv *d)
{
    virtio_mmio_free(d->vm);
    pmap_free(d->pm);
    d->vm = NULL;
    d->pm = NULL;
}

static inline uint32_t rreg(struct drv *d, uint64_t off)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    CHECK_EQ(virtio_mmio_ops.read(d->vm, off, 4, &v), 0);
    return (uint32_t)v;
}

static inline void wreg(struct drv *d, uint64_t off, uint32_t v)
{
    CHECK_EQ(virtio_mmio_ops.write(d->vm, off, 4, v), 0);
}

static inline uint64_t dev_features(struct drv *d)
{
    wreg(d, R_DEV_FEAT_SEL, 0);
    uint64_t f = rreg(d, R_DEV_FEAT);
    wreg(d, R_DEV_FEAT_SEL, 1);
    f |= (uint64_t)rreg(d, R_DEV_FEAT) << 32;
    return f;
}

/* Reset, ACKNOWLEDGE, DRIVER, write `features`, FEATURES_OK. Returns true
 * if the device kept FEATURES_OK. */
static inline bool drv_negotiate(struct drv *d, uint64_t features)
{
    wreg(d, R_STATUS, 0);
    wreg(d, R_STATUS, S_ACK);
    wreg(d, R_STATUS, S_ACK | S_DRIVER);
    wreg(d, R_DRV_FEAT_SEL, 0);
    wreg(d, R_DRV_FEAT, (uint32_t)features);
    wreg(d, R_DRV_FEAT_SEL, 1);
    wreg(d, R_DRV_FEAT, (uint32_t)(features >> 32));
    wreg(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    return (rreg(d, R_STATUS) & S_FEATURES_OK) != 0;
}

/* Program queue q with its rings at a fixed spot per queue. Returns the
 * QueueReady read-back. */
static inline bool drv_queue_at(struct drv *d, unsigned q, uint16_t num, uint64_t desc, uint64_t avail,
                         uint64_t used)
{
    struct drvq *dq = &d->q[q];
    memset(dq, 0, sizeof *dq);
    dq->desc = desc;
    dq->avail = avail;
    dq->used = used;
    dq->num = num;
    /* The driver hands over zeroed rings. */
    if (pmap_contains(d->pm, desc, 0x4000))
        pmap_fill(d->pm, desc, 0, 0x4000);
    if (pmap_contains(d->pm, avail, 0x4000))
        pmap_fill(d->pm, avail, 0, 0x4000);
    if (pmap_contains(d->pm, used, 0x8000))
        pmap_fill(d->pm, used, 0, 0x8000);
    wreg(d, R_QSEL, q);
    wreg(d, R_QNUM, num);
    wreg(d, R_QDESC_LO, (uint32_t)desc);
    wreg(d, R_QDESC_HI, (uint32_t)(desc >> 32));
    wreg(d, R_QDRV_LO, (uint32_t)avail);
    wreg(d, R_QDRV_HI, (uint32_t)(avail >> 32));
    wreg(d, R_QDEV_LO, (uint32_t)used);
    wreg(d, R_QDEV_HI, (uint32_t)(used >> 32));
    wreg(d, R_QREADY, 1);
    return rreg(d, R_QREADY) == 1;
}

static inline uint64_t qbase(unsigned q) { return RAM_BASE + 0x20000ull * q; }

static inline bool drv_queue(struct drv *d, unsigned q, uint16_t num)
{
    uint64_t b = qbase(q);
    return drv_queue_at(d, q, num, b, b + 0x4000, b + 0x8000);
}

static inline void drv_ok(struct drv *d)
{
    wreg(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Allocate guest memory for buffers (never reused within a test). */
static inline uint64_t galloc(struct drv *d, uint64_t len)
{
    uint64_t a = d->heap;
    d->heap += (len + 15) & ~15ull;
    return a;
}

static inline void put_desc_at(struct drv *d, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                        uint16_t flags, uint16_t next)
{
    uint8_t raw[16];
    memcpy(raw, &addr, 8);
    memcpy(raw + 8, &len, 4);
    memcpy(raw + 12, &flags, 2);
    memcpy(raw + 14, &next, 2);
    CHECK_EQ(pmap_write(d->pm, table + 16ull * i, raw, 16), 0);
}

static inline void put_desc(struct drv *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    put_desc_at(d, d->q[q].desc, i, addr, len, flags, next);
}

static inline uint16_t get16(struct drv *d, uint64_t gpa)
{
    uint16_t v = 0;
    CHECK_EQ(pmap_read(d->pm, gpa, &v, 2), 0);
    return v;
}

static inline void put16(struct drv *d, uint64_t gpa, uint16_t v)
{
    CHECK_EQ(pmap_write(d->pm, gpa, &v, 2), 0);
}

/* Make chain `head` available (no notify). */
static inline void drv_avail(struct drv *d, unsigned q, uint16_t head)
{
    struct drvq *dq = &d->q[q];
    put16(d, dq->avail + 4 + 2ull * (dq->avail_idx % dq->num), head);
    dq->avail_idx++;
    put16(d, dq->avail + 2, dq->avail_idx);
}

static inline void drv_kick(struct drv *d, unsigned q) { wreg(d, R_QNOTIFY, q); }

static inline uint16_t used_idx(struct drv *d, unsigned q) { return get16(d, d->q[q].used + 2); }

/* Next used element; false if none. */
static inline bool drv_used(struct drv *d, unsigned q, uint32_t *id, uint32_t *len)
{
    struct drvq *dq = &d->q[q];
    if (used_idx(d, q) == dq->used_seen)
        return false;
    uint32_t e[2];
    CHECK_EQ(pmap_read(d->pm, dq->used + 4 + 8ull * (dq->used_seen % dq->num), e, 8), 0);
    dq->used_seen++;
    *id = e[0];
    *len = e[1];
    return true;
}

/* With EVENT_IDX: ask for an interrupt on the next used entry (used_event
 * = what we have consumed so far), as a driver re-enabling callbacks does. */
static inline void drv_want_irq(struct drv *d, unsigned q)
{
    struct drvq *dq = &d->q[q];
    put16(d, dq->avail + 4 + 2ull * dq->num, dq->used_seen);
}

static inline bool needs_reset(struct drv *d)
{
    return (rreg(d, R_STATUS) & S_NEEDS_RESET) && (rreg(d, R_INT_STATUS) & 2) && d->irq.level;
}

static inline void ack_irq(struct drv *d)
{
    wreg(d, R_INT_ACK, rreg(d, R_INT_STATUS));
}

#endif

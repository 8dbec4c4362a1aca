/* A small virtio-mmio (modern, Version 2) driver for the malicious-guest
 * programs, plus virtio-blk request helpers, a DMA arena with canary
 * checking, and the disk image's known contents.
 *
 * Every wait is bounded by the CLINT clock; nothing here can hang. */
#ifndef MAL_VIRTIO_H
#define MAL_VIRTIO_H

#include "lib.h"

#define VIO_BASE 0x10001000ul
#define VIO_SLOT_SIZE 0x1000ul
#define VIO_SLOTS 8

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
#define S_FAILED 0x80u

#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

#define BLK_T_IN 0
#define BLK_T_OUT 1

#define DISK_MAGIC "DISCO-MALICIOUS-TEST"
/* Byte i of sector s of the test disk (run.sh writes the same, see
 * mkdisk in run.sh): sector 0 starts with DISK_MAGIC zero-padded to 32
 * bytes and ends with 4 zero bytes; everything else is a pattern. */
uint8_t disk_byte(uint64_t s, unsigned i);

/* ---- DMA arena: 64 KiB in .bss, page-aligned. ---- */
#define ARENA_SIZE 0x10000ul
#define A_DESC 0x1000ul      /* 16 KiB: up to 1024 descriptors */
#define A_AVAIL 0x5000ul     /* up to 1024 entries */
#define A_USED 0x6000ul      /* 12 KiB */
#define A_HDR 0x9000ul       /* request header (16 bytes) */
#define A_STATUS 0x9100ul    /* status byte */
#define A_HDR2 0x9200ul      /* spare header */
#define A_DATA 0xa000ul      /* 8 KiB data */
#define A_IND 0xc000ul       /* indirect tables */
#define A_SPARE 0xd000ul
extern uint8_t arena[ARENA_SIZE];
#define AR(off) ((uint64_t)(uintptr_t)arena + (off))

/* Fill the whole arena with the canary pattern, then zero the rings. */
void arena_prepare(void);
/* Remember the arena as it is now (after the driver wrote its part). */
void arena_snapshot(void);
/* Windows the device may legitimately write, checked by arena_check. */
void arena_allow(uint64_t off, uint64_t len);
void arena_allow_clear(void);
/* 0 if every byte outside the allowed windows is as snapshotted; else
 * prints the first difference and returns -1. */
int arena_check(void);

/* ---- device and queue ---- */
struct vdev {
    uintptr_t base;
    uint64_t offered;
    uint64_t features;
    uint32_t qnum_max;
};

struct vq {
    /* Where the driver writes (always in the arena). */
    uint64_t desc, avail, used;
    uint16_t num;
    uint16_t avail_idx;
    uint16_t used_seen;
};

static inline uint32_t vr(const struct vdev *d, unsigned off)
{
    fence();
    uint32_t v = rd32(d->base + off);
    fence();
    return v;
}

static inline void vw(const struct vdev *d, unsigned off, uint32_t v)
{
    fence();
    wr32(d->base + off, v);
    fence();
}

/* Scan the slots for `device_id`; 0 if found (Version 2 required). */
int vdev_find(struct vdev *d, uint32_t device_id);
/* Write 0 to Status and wait (bounded) for it to read back 0. */
int vdev_reset(struct vdev *d);
/* Reset, ACK, DRIVER, negotiate (VERSION_1 | (want & offered)),
 * FEATURES_OK; 0 if the device kept FEATURES_OK. */
int vdev_negotiate(struct vdev *d, uint64_t want);
/* Select queue q, write size and ring addresses (device-side addresses),
 * QueueReady = 1. Returns the Status register afterwards. */
uint32_t vq_setup_raw(struct vdev *d, unsigned q, uint32_t num, uint64_t desc, uint64_t avail,
                      uint64_t used);
/* Driver-side ring state for the arena's rings; zeroes the indices. */
void vq_bind(struct vq *vq, uint16_t num);
void vdev_driver_ok(struct vdev *d);
/* Full, normal bring-up: negotiate, queue 0 with `num` entries in the
 * arena, DRIVER_OK. 0 on success. */
int vdev_bringup(struct vdev *d, struct vq *vq, uint64_t want, uint16_t num);

void desc_set(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
              uint16_t next);
/* avail->ring[avail_idx % num] = head; avail->idx = ++avail_idx. */
void vq_publish(struct vq *vq, uint16_t head);
/* Set avail->idx to an arbitrary value (attacks). */
void vq_set_avail_idx(struct vq *vq, uint16_t idx);
void vq_notify(struct vdev *d, uint32_t q);

enum wait_result { W_DONE, W_NEEDS_RESET, W_TIMEOUT };
/* Wait up to `ms` for the used ring to move past used_seen or for
 * NEEDS_RESET. On W_DONE, *id and *len are the next used element and
 * used_seen is advanced. */
enum wait_result vq_wait(struct vdev *d, struct vq *vq, unsigned ms, uint32_t *id, uint32_t *len);
uint16_t vq_used_idx(const struct vq *vq);

/* ---- virtio-blk ---- */
void blk_hdr(uint64_t off, uint32_t type, uint64_t sector);
/* A well-formed IN request of `sectors` sectors into A_DATA, waiting up to
 * 2 s; checks status 0 and the data. 0 on success, else -1 (and says why). */
int blk_good_read(struct vdev *d, struct vq *vq, uint64_t sector, unsigned sectors);
/* Check A_DATA against the disk contents. */
int blk_data_ok(uint64_t sector, unsigned sectors);

#endif

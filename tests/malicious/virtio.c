#include "virtio.h"

uint8_t arena[ARENA_SIZE] __attribute__((aligned(4096)));
static uint8_t shadow[ARENA_SIZE];

#define MAX_ALLOW 8
static struct {
    uint64_t off, len;
} allow[MAX_ALLOW];
static unsigned n_allow;

uint8_t disk_byte(uint64_t s, unsigned i)
{
    static const char magic[] = DISK_MAGIC;
    if (s == 0 && i < 32)
        return i < sizeof magic - 1 ? (uint8_t)magic[i] : 0;
    if (s == 0 && i >= 508)
        return 0;
    return (uint8_t)(s * 131 + i * 7 + 1);
}

static uint8_t canary(uint64_t o)
{
    return (uint8_t)(0xa5 ^ (o >> 3) ^ (o * 29));
}

void arena_prepare(void)
{
    for (uint64_t o = 0; o < ARENA_SIZE; o++)
        arena[o] = canary(o);
    /* Rings start zeroed (the device reads avail->idx and we read
     * used->idx). */
    memset(arena + A_AVAIL, 0, 0x1000);
    memset(arena + A_USED, 0, 0x3000);
    arena[A_STATUS] = 0xff;
    arena_allow_clear();
}

void arena_snapshot(void)
{
    fence();
    memcpy(shadow, arena, ARENA_SIZE);
}

void arena_allow(uint64_t off, uint64_t len)
{
    if (n_allow < MAX_ALLOW) {
        allow[n_allow].off = off;
        allow[n_allow].len = len;
        n_allow++;
    }
}

void arena_allow_clear(void)
{
    n_allow = 0;
}

static int allowed(uint64_t o)
{
    for (unsigned k = 0; k < n_allow; k++)
        if (o >= allow[k].off && o - allow[k].off < allow[k].len)
            return 1;
    return 0;
}

int arena_check(void)
{
    fence();
    for (uint64_t o = 0; o < ARENA_SIZE; o++) {
        if (arena[o] != shadow[o] && !allowed(o)) {
            put_s("  arena corrupted at offset ");
            put_hex(o);
            put_s(" (address ");
            put_hex(AR(o));
            put_s("): was ");
            put_hex(shadow[o]);
            put_s(", now ");
            put_hex(arena[o]);
            put_s("\n");
            return -1;
        }
    }
    return 0;
}

/* ---- device ---- */

int vdev_find(struct vdev *d, uint32_t device_id)
{
    for (unsigned s = 0; s < VIO_SLOTS; s++) {
        uintptr_t b = VIO_BASE + s * VIO_SLOT_SIZE;
        if (rd32(b + R_MAGIC) != 0x74726976u || rd32(b + R_DEVICE_ID) != device_id)
            continue;
        d->base = b;
        if (rd32(b + R_VERSION) != 2) {
            put_kv("virtio device is not Version 2 (modern) at ", b);
            return -1;
        }
        return 0;
    }
    return -1;
}

int vdev_reset(struct vdev *d)
{
    vw(d, R_STATUS, 0);
    uint64_t t0 = now_ticks();
    while (vr(d, R_STATUS) != 0)
        if (now_ticks() - t0 > 1000 * TICKS_PER_MS)
            return -1;
    return 0;
}

int vdev_negotiate(struct vdev *d, uint64_t want)
{
    if (vdev_reset(d))
        return -1;
    vw(d, R_STATUS, S_ACK);
    vw(d, R_STATUS, S_ACK | S_DRIVER);
    vw(d, R_DEV_FEAT_SEL, 0);
    uint64_t lo = vr(d, R_DEV_FEAT);
    vw(d, R_DEV_FEAT_SEL, 1);
    uint64_t hi = vr(d, R_DEV_FEAT);
    d->offered = hi << 32 | lo;
    if (!(d->offered & F_VERSION_1))
        return -1;
    d->features = (want & d->offered) | F_VERSION_1;
    vw(d, R_DRV_FEAT_SEL, 0);
    vw(d, R_DRV_FEAT, (uint32_t)d->features);
    vw(d, R_DRV_FEAT_SEL, 1);
    vw(d, R_DRV_FEAT, (uint32_t)(d->features >> 32));
    vw(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(vr(d, R_STATUS) & S_FEATURES_OK))
        return -1;
    return 0;
}

uint32_t vq_setup_raw(struct vdev *d, unsigned q, uint32_t num, uint64_t desc, uint64_t avail,
                      uint64_t used)
{
    vw(d, R_QSEL, q);
    d->qnum_max = vr(d, R_QNUM_MAX);
    vw(d, R_QNUM, num);
    vw(d, R_QDESC_LO, (uint32_t)desc);
    vw(d, R_QDESC_HI, (uint32_t)(desc >> 32));
    vw(d, R_QDRV_LO, (uint32_t)avail);
    vw(d, R_QDRV_HI, (uint32_t)(avail >> 32));
    vw(d, R_QDEV_LO, (uint32_t)used);
    vw(d, R_QDEV_HI, (uint32_t)(used >> 32));
    vw(d, R_QREADY, 1);
    return vr(d, R_STATUS);
}

void vq_bind(struct vq *vq, uint16_t num)
{
    vq->desc = AR(A_DESC);
    vq->avail = AR(A_AVAIL);
    vq->used = AR(A_USED);
    vq->num = num;
    vq->avail_idx = 0;
    vq->used_seen = 0;
}

void vdev_driver_ok(struct vdev *d)
{
    vw(d, R_STATUS, vr(d, R_STATUS) | S_DRIVER_OK);
}

int vdev_bringup(struct vdev *d, struct vq *vq, uint64_t want, uint16_t num)
{
    if (vdev_negotiate(d, want)) {
        put_s("  bring-up: feature negotiation failed\n");
        return -1;
    }
    vq_bind(vq, num);
    memset(arena + A_AVAIL, 0, 0x1000);
    memset(arena + A_USED, 0, 0x3000);
    vw(d, R_QSEL, 0);
    if (vr(d, R_QREADY) != 0) {
        put_s("  bring-up: queue 0 ready after reset\n");
        return -1;
    }
    uint32_t max = vr(d, R_QNUM_MAX);
    if (max < num) {
        put_kv("  bring-up: QueueNumMax too small: ", max);
        return -1;
    }
    uint32_t st = vq_setup_raw(d, 0, num, vq->desc, vq->avail, vq->used);
    if (st & S_NEEDS_RESET) {
        put_s("  bring-up: NEEDS_RESET after QueueReady\n");
        return -1;
    }
    if (vr(d, R_QREADY) != 1) {
        put_s("  bring-up: QueueReady did not stick\n");
        return -1;
    }
    vdev_driver_ok(d);
    st = vr(d, R_STATUS);
    if ((st & (S_DRIVER_OK | S_NEEDS_RESET | S_FAILED)) != S_DRIVER_OK) {
        put_kv("  bring-up: bad status after DRIVER_OK: ", st);
        return -1;
    }
    return 0;
}

void desc_set(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
              uint16_t next)
{
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)(table + 16ull * i);
    *(volatile uint64_t *)p = addr;
    *(volatile uint32_t *)(p + 8) = len;
    *(volatile uint16_t *)(p + 12) = flags;
    *(volatile uint16_t *)(p + 14) = next;
}

void vq_publish(struct vq *vq, uint16_t head)
{
    volatile uint16_t *av = (volatile uint16_t *)(uintptr_t)vq->avail;
    av[2 + (vq->avail_idx % vq->num)] = head;
    fence();
    vq->avail_idx++;
    av[1] = vq->avail_idx;
    fence();
}

void vq_set_avail_idx(struct vq *vq, uint16_t idx)
{
    volatile uint16_t *av = (volatile uint16_t *)(uintptr_t)vq->avail;
    fence();
    vq->avail_idx = idx;
    av[1] = idx;
    fence();
}

void vq_notify(struct vdev *d, uint32_t q)
{
    vw(d, R_QNOTIFY, q);
}

uint16_t vq_used_idx(const struct vq *vq)
{
    fence();
    return ((volatile uint16_t *)(uintptr_t)vq->used)[1];
}

enum wait_result vq_wait(struct vdev *d, struct vq *vq, unsigned ms, uint32_t *id, uint32_t *len)
{
    uint64_t t0 = now_ticks();
    for (;;) {
        if (vq_used_idx(vq) != vq->used_seen) {
            fence();
            volatile uint32_t *e =
                (volatile uint32_t *)(uintptr_t)(vq->used + 4 + 8ull * (vq->used_seen % vq->num));
            *id = e[0];
            *len = e[1];
            vq->used_seen++;
            vw(d, R_INT_ACK, vr(d, R_INT_STATUS));
            return W_DONE;
        }
        if (vr(d, R_STATUS) & S_NEEDS_RESET)
            return W_NEEDS_RESET;
        if (now_ticks() - t0 > ms * TICKS_PER_MS)
            return W_TIMEOUT;
    }
}

/* ---- virtio-blk ---- */

void blk_hdr(uint64_t off, uint32_t type, uint64_t sector)
{
    volatile uint8_t *p = arena + off;
    *(volatile uint32_t *)p = type;
    *(volatile uint32_t *)(p + 4) = 0;
    *(volatile uint64_t *)(p + 8) = sector;
}

int blk_data_ok(uint64_t sector, unsigned sectors)
{
    fence();
    for (unsigned s = 0; s < sectors; s++)
        for (unsigned i = 0; i < 512; i++) {
            uint8_t got = arena[A_DATA + 512 * s + i], want = disk_byte(sector + s, i);
            if (got != want) {
                put_s("  data mismatch: sector ");
                put_dec(sector + s);
                put_s(" byte ");
                put_dec(i);
                put_s(": got ");
                put_hex(got);
                put_s(" want ");
                put_hex(want);
                put_s("\n");
                return -1;
            }
        }
    return 0;
}

int blk_good_read(struct vdev *d, struct vq *vq, uint64_t sector, unsigned sectors)
{
    memset(arena + A_DATA, 0xee, 512 * sectors);
    arena[A_STATUS] = 0xff;
    blk_hdr(A_HDR, BLK_T_IN, sector);
    uint16_t h = (uint16_t)(vq->avail_idx % vq->num);   /* use different slots over time */
    if (vq->num < 3)
        return -1;
    uint16_t a = h, b = (uint16_t)((h + 1) % vq->num), c = (uint16_t)((h + 2) % vq->num);
    desc_set(vq->desc, a, AR(A_HDR), 16, D_NEXT, b);
    desc_set(vq->desc, b, AR(A_DATA), 512 * sectors, D_NEXT | D_WRITE, c);
    desc_set(vq->desc, c, AR(A_STATUS), 1, D_WRITE, 0);
    vq_publish(vq, a);
    vq_notify(d, 0);
    uint32_t id, len;
    enum wait_result w = vq_wait(d, vq, 2000, &id, &len);
    if (w != W_DONE) {
        put_s(w == W_TIMEOUT ? "  good read: no completion within 2 s\n"
                             : "  good read: device set NEEDS_RESET\n");
        return -1;
    }
    if (id != a) {
        put_kv("  good read: used id is ", id);
        return -1;
    }
    if (arena[A_STATUS] != 0) {
        put_kv("  good read: status ", arena[A_STATUS]);
        return -1;
    }
    if (len > 512 * sectors + 1) {
        put_kv("  good read: used len too big: ", len);
        return -1;
    }
    return blk_data_ok(sector, sectors);
}

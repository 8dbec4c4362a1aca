/* virtio_queue_bad_setup: a virtio-blk driver that sets its queue up
 * wrong, pokes registers it should not, and notifies queues that do not
 * exist.
 *
 * Cases (failure code = 10 + index, printed on the UART): queue sizes 0,
 * 7 (not a power of two), QueueNumMax + 1, 0x10000, 0xffffffff; QueueReady
 * with each ring outside RAM, straddling the end of RAM, wrapping 2^64, or
 * misaligned; notifies of queues 5, 1000, 0xffffffff; setting up queue 5
 * (which does not exist); moving the rings of a live queue; QueueReady = 0
 * under a pending request; feature negotiation with bits never offered or
 * without VERSION_1; DRIVER_OK without FEATURES_OK; garbage in Status;
 * writes to read-only registers and config space; odd-size and misaligned
 * register accesses; 100,000 notifies with nothing pending; a reset with a
 * request pending.
 *
 * Accepted: DEVICE_NEEDS_RESET, an error status, ignoring the request, or
 * (for a set-up the device may legitimately take, e.g. a queue of
 * QueueNumMax entries, or misaligned rings) a correct completion — never a
 * successful completion with wrong data, never a write outside the request's
 * buffers. Register accesses may fault (mcause 4..7) or not. Cases marked
 * "same queue" must leave a live queue working without a reset; after every
 * case the device is reset and a good read must return the right data. */
#include "virtio.h"

#ifndef SELFTEST_FLIP
#define SELFTEST_FLIP 0     /* -DSELFTEST_FLIP=1: expect notify(5) to complete a request */
#endif

#define QNUM 8

static struct vdev dev;
static struct vq q;
static uint64_t re;

/* A good IN request of sector 0 in the arena at descriptors 0..2, published
 * at avail slot 0 (the same slot for any queue size). */
static void publish_good(void)
{
    memset(arena + A_DATA, 0xee, 512);
    arena[A_STATUS] = 0xff;
    blk_hdr(A_HDR, BLK_T_IN, 0);
    desc_set(AR(A_DESC), 0, AR(A_HDR), 16, D_NEXT, 1);
    desc_set(AR(A_DESC), 1, AR(A_DATA), 512, D_NEXT | D_WRITE, 2);
    desc_set(AR(A_DESC), 2, AR(A_STATUS), 1, D_WRITE, 0);
    vq_publish(&q, 0);
}

enum { OUT_RESET, OUT_ERROR, OUT_IGNORED, OUT_OK };

/* Notify queue 0, wait, classify. A completion with status 0 must carry
 * the right data. The arena must be intact outside the request's buffers.
 * Returns the outcome, or -1 if something was wrong. */
static int notify_and_judge(void)
{
    arena_snapshot();
    arena_allow_clear();
    arena_allow(A_USED, 0x3000);
    arena_allow(A_STATUS, 1);
    arena_allow(A_DATA, 0x2000);
    vq_notify(&dev, 0);
    uint32_t id = 0, len = 0;
    enum wait_result w = vq_wait(&dev, &q, 200, &id, &len);
    int out;
    if (w == W_NEEDS_RESET || (vr(&dev, R_STATUS) & S_NEEDS_RESET)) {
        put_s("DEVICE_NEEDS_RESET");
        out = OUT_RESET;
    } else if (w == W_TIMEOUT) {
        put_s("ignored");
        out = OUT_IGNORED;
    } else if (arena[A_STATUS] != 0) {
        put_s("completed, status ");
        put_hex(arena[A_STATUS]);
        out = OUT_ERROR;
    } else {
        put_s("completed OK");
        out = OUT_OK;
    }
    put_s("\n");
    if (out == OUT_OK && blk_data_ok(0, 1)) {
        put_s("  FAIL: success with wrong data\n");
        return -1;
    }
    if (arena_check()) {
        put_s("  FAIL: memory outside the request's buffers changed\n");
        return -1;
    }
    return out;
}

/* Negotiate, set queue 0 up with these device-side values, DRIVER_OK,
 * publish a good request, notify, judge. */
static int bad_queue(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
    arena_prepare();
    if (vdev_negotiate(&dev, 0)) {
        put_s("  FAIL: negotiation\n");
        return -1;
    }
    vq_bind(&q, QNUM);
    uint32_t st = vq_setup_raw(&dev, 0, num, desc, avail, used);
    put_s("QueueReady reads ");
    put_dec(vr(&dev, R_QREADY));
    put_s(st & S_NEEDS_RESET ? ", NEEDS_RESET at once; " : "; ");
    vdev_driver_ok(&dev);
    publish_good();
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_num0(void) { return bad_queue(0, AR(A_DESC), AR(A_AVAIL), AR(A_USED)); }
static int c_num7(void) { return bad_queue(7, AR(A_DESC), AR(A_AVAIL), AR(A_USED)); }
static int c_num_max1(void)
{
    return bad_queue(dev.qnum_max + 1, AR(A_DESC), AR(A_AVAIL), AR(A_USED));
}
static int c_num_64k(void) { return bad_queue(0x10000, AR(A_DESC), AR(A_AVAIL), AR(A_USED)); }
static int c_num_ones(void) { return bad_queue(0xffffffffu, AR(A_DESC), AR(A_AVAIL), AR(A_USED)); }
static int c_num_max(void)
{
    /* Legitimate: the largest queue the device offers must work. */
    uint32_t max = dev.qnum_max;
    if (max > 1024) {
        put_s("QueueNumMax > 1024, skipped\n");
        return 0;
    }
    arena_prepare();
    if (vdev_bringup(&dev, &q, 0, (uint16_t)max) || blk_good_read(&dev, &q, 0, 1) ||
        blk_good_read(&dev, &q, 2047, 1)) {
        put_s("  FAIL: a queue of QueueNumMax entries does not work\n");
        return -1;
    }
    put_s("works (");
    put_dec(max);
    put_s(" entries)\n");
    return 0;
}
static int c_desc_hole(void) { return bad_queue(QNUM, 0x200000, AR(A_AVAIL), AR(A_USED)); }
static int c_avail_hole(void) { return bad_queue(QNUM, AR(A_DESC), 0x200000, AR(A_USED)); }
static int c_used_hole(void) { return bad_queue(QNUM, AR(A_DESC), AR(A_AVAIL), 0x200000); }
static int c_desc_straddle(void) { return bad_queue(QNUM, re - 64, AR(A_AVAIL), AR(A_USED)); }
static int c_avail_straddle(void) { return bad_queue(QNUM, AR(A_DESC), re - 4, AR(A_USED)); }
static int c_used_straddle(void) { return bad_queue(QNUM, AR(A_DESC), AR(A_AVAIL), re - 8); }
static int c_all_wrap(void)
{
    return bad_queue(QNUM, 0xffffffffffffff80ull, 0xfffffffffffffffeull, 0xfffffffffffffffcull);
}
static int c_rings_above4g(void)
{
    return bad_queue(QNUM, 0x100000000ull, 0x100001000ull, 0x100002000ull);
}
static int c_misaligned(void)
{
    /* Not a multiple of the required alignment; the device may refuse or
     * (like QEMU) cope. Driver-side rings stay where the driver writes. */
    return bad_queue(QNUM, AR(A_DESC) + 8, AR(A_AVAIL) + 1, AR(A_USED) + 2);
}

/* A live, working queue 0 with nothing pending. */
static int live(void)
{
    arena_prepare();
    return vdev_bringup(&dev, &q, 0, QNUM);
}

/* The live queue still works, without a reset. */
static int same_queue_ok(void)
{
    if (vr(&dev, R_STATUS) & S_NEEDS_RESET) {
        put_s("  FAIL: device asked for a reset\n");
        return -1;
    }
    if (blk_good_read(&dev, &q, 1, 1)) {
        put_s("  FAIL: the live queue stopped working\n");
        return -1;
    }
    return 0;
}

static int c_notify_missing(void)
{
    if (live())
        return -1;
    publish_good();
    arena_snapshot();
    vq_notify(&dev, 5);
    vq_notify(&dev, 1000);
    vq_notify(&dev, 0xffffffffu);
    vq_notify(&dev, 0x10000);       /* low 16 bits = queue 0 */
    uint32_t id, len;
    enum wait_result w = vq_wait(&dev, &q, 100, &id, &len);
#if SELFTEST_FLIP
    if (w != W_DONE) {
        put_s("  FAIL (selftest): expected a completion\n");
        return -1;
    }
#endif
    if (w == W_NEEDS_RESET) {
        put_s("  FAIL: NEEDS_RESET after notifying missing queues\n");
        return -1;
    }
    if (w == W_DONE && (arena[A_STATUS] != 0 || blk_data_ok(0, 1))) {
        put_s("  FAIL: a request completed wrongly\n");
        return -1;
    }
    put_s(w == W_DONE ? "(0x10000 notified queue 0) " : "nothing happened ");
    if (w != W_DONE) {
        /* The request is still pending: a notify of queue 0 completes it. */
        vq_notify(&dev, 0);
        if (vq_wait(&dev, &q, 2000, &id, &len) != W_DONE || arena[A_STATUS] != 0 ||
            blk_data_ok(0, 1)) {
            put_s("\n  FAIL: the pending request did not complete on notify 0\n");
            return -1;
        }
    }
    put_s("ok\n");
    return same_queue_ok();
}

static int c_setup_missing_queue(void)
{
    if (live())
        return -1;
    static const uint32_t sels[] = {5, 8, 1000, 0xffffffffu};
    for (unsigned i = 0; i < 4; i++) {
        vw(&dev, R_QSEL, sels[i]);
        uint32_t max = vr(&dev, R_QNUM_MAX);
        if (max != 0) {
            put_s("  FAIL: a missing queue has QueueNumMax ");
            put_dec(max);
            put_s("\n");
            return -1;
        }
        vw(&dev, R_QNUM, QNUM);
        vw(&dev, R_QDESC_LO, (uint32_t)AR(A_SPARE));
        vw(&dev, R_QDESC_HI, 0);
        vw(&dev, R_QDRV_LO, 0x200000);
        vw(&dev, R_QDEV_LO, 0x1000);
        vw(&dev, R_QREADY, 1);
        vq_notify(&dev, sels[i]);
    }
    vw(&dev, R_QSEL, 0);
    put_s("ignored\n");
    return same_queue_ok();
}

static int c_move_live_rings(void)
{
    if (live())
        return -1;
    vw(&dev, R_QSEL, 0);
    vw(&dev, R_QNUM, 1024);
    vw(&dev, R_QDESC_LO, 0x200000);
    vw(&dev, R_QDESC_HI, 0);
    vw(&dev, R_QDRV_LO, 0x1000);
    vw(&dev, R_QDEV_LO, 0x10000000);    /* the UART */
    publish_good();
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_unready_pending(void)
{
    if (live())
        return -1;
    publish_good();
    vw(&dev, R_QSEL, 0);
    vw(&dev, R_QREADY, 0);
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_features_unoffered(void)
{
    arena_prepare();
    vdev_reset(&dev);
    vw(&dev, R_STATUS, S_ACK | S_DRIVER);
    vw(&dev, R_DRV_FEAT_SEL, 0);
    vw(&dev, R_DRV_FEAT, 0xffffffffu);
    vw(&dev, R_DRV_FEAT_SEL, 1);
    vw(&dev, R_DRV_FEAT, 0xffffffffu);
    vw(&dev, R_DRV_FEAT_SEL, 7);        /* no such word */
    vw(&dev, R_DRV_FEAT, 0xffffffffu);
    vw(&dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    put_s(vr(&dev, R_STATUS) & S_FEATURES_OK ? "FEATURES_OK kept; " : "FEATURES_OK refused; ");
    vq_bind(&q, QNUM);
    (void)vq_setup_raw(&dev, 0, QNUM, AR(A_DESC), AR(A_AVAIL), AR(A_USED));
    vdev_driver_ok(&dev);
    publish_good();
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_features_legacy(void)
{
    arena_prepare();
    vdev_reset(&dev);
    vw(&dev, R_STATUS, S_ACK | S_DRIVER);
    vw(&dev, R_DRV_FEAT_SEL, 0);
    vw(&dev, R_DRV_FEAT, 0);
    vw(&dev, R_DRV_FEAT_SEL, 1);
    vw(&dev, R_DRV_FEAT, 0);            /* no VERSION_1 */
    vw(&dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    put_s(vr(&dev, R_STATUS) & S_FEATURES_OK ? "FEATURES_OK kept; " : "FEATURES_OK refused; ");
    vq_bind(&q, QNUM);
    (void)vq_setup_raw(&dev, 0, QNUM, AR(A_DESC), AR(A_AVAIL), AR(A_USED));
    vdev_driver_ok(&dev);
    publish_good();
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_no_features_ok(void)
{
    arena_prepare();
    vdev_reset(&dev);
    vw(&dev, R_STATUS, S_ACK | S_DRIVER);
    vq_bind(&q, QNUM);
    (void)vq_setup_raw(&dev, 0, QNUM, AR(A_DESC), AR(A_AVAIL), AR(A_USED));
    vw(&dev, R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
    publish_good();
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_status_garbage(void)
{
    if (live())
        return -1;
    vw(&dev, R_STATUS, 0xff);
    vw(&dev, R_STATUS, 0x40);
    vw(&dev, R_STATUS, 0xffffff00u);
    publish_good();
    return notify_and_judge() < 0 ? -1 : 0;
}

static int c_readonly_regs(void)
{
    if (live())
        return -1;
    static const unsigned ro[] = {R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR, R_DEV_FEAT,
                                  R_QNUM_MAX, R_INT_STATUS, R_CFG_GEN};
    for (unsigned i = 0; i < sizeof ro / sizeof ro[0]; i++)
        vw(&dev, ro[i], 0xdeadbeefu);
    if (vr(&dev, R_MAGIC) != 0x74726976u || vr(&dev, R_VERSION) != 2 ||
        vr(&dev, R_DEVICE_ID) != 2) {
        put_s("  FAIL: a read-only register changed\n");
        return -1;
    }
    /* Config space: capacity (8 bytes at 0x100) is read-only. */
    uint32_t cap_lo = vr(&dev, R_CONFIG), cap_hi = vr(&dev, R_CONFIG + 4);
    for (unsigned off = 0; off < 0x100; off += 4)
        vw(&dev, R_CONFIG + off, 0xa5a5a5a5u);
    if (vr(&dev, R_CONFIG) != cap_lo || vr(&dev, R_CONFIG + 4) != cap_hi || cap_lo != 2048 ||
        cap_hi != 0) {
        put_s("  FAIL: capacity is not 2048 sectors or changed after config writes\n");
        return -1;
    }
    put_s("unchanged\n");
    return same_queue_ok();
}

static int c_odd_accesses(void)
{
    if (live())
        return -1;
    uintptr_t b = dev.base;
    trap_clear();
    trap_armed = 1;
    /* Reads of every width at every register offset and past the config
     * space; then narrow and wide writes to harmless registers. */
    for (unsigned off = 0; off < 0x1000; off += 4) {
        (void)*(volatile uint8_t *)(b + off + 1);
        (void)*(volatile uint16_t *)(b + off + 2);
        (void)*(volatile uint32_t *)(b + off);
        if (!(off & 7))
            (void)*(volatile uint64_t *)(b + off);
    }
    *(volatile uint8_t *)(b + R_INT_ACK) = 0xff;
    *(volatile uint16_t *)(b + R_QNOTIFY) = 5;
    *(volatile uint64_t *)(b + 0xc0) = ~0ull;          /* reserved */
    *(volatile uint64_t *)(b + 0x800) = ~0ull;         /* past config */
    *(volatile uint8_t *)(b + 0xfff) = 0xff;
    /* Misaligned 32-bit accesses: may also be address-misaligned traps. */
    __asm__ volatile("lw t0, 1(%0)" ::"r"(b) : "t0", "memory");
    __asm__ volatile("sw zero, 0x66(%0)" ::"r"(b) : "memory");
    trap_armed = 0;
    if (trap_last.count && (trap_last.cause < 4 || trap_last.cause > 7)) {
        put_kv("  FAIL: odd register access raised mcause ", trap_last.cause);
        return -1;
    }
    put_dec(trap_last.count);
    put_s(" faults; ");
    put_s("device still ");
    put_s(vr(&dev, R_STATUS) & S_NEEDS_RESET ? "needs reset\n" : "live\n");
    return same_queue_ok();
}

static int c_notify_storm(void)
{
    if (live())
        return -1;
    for (unsigned i = 0; i < 100000; i++)
        vq_notify(&dev, 0);
    put_s("done\n");
    return same_queue_ok();
}

static int c_reset_pending(void)
{
    if (live())
        return -1;
    publish_good();
    vdev_reset(&dev);               /* reset with a request pending */
    vq_notify(&dev, 0);             /* queue is gone: nothing may happen */
    uint32_t id, len;
    enum wait_result w = vq_wait(&dev, &q, 100, &id, &len);
    if (w == W_DONE) {
        put_s("  FAIL: a reset device completed a request\n");
        return -1;
    }
    put_s("nothing happened\n");
    return 0;
}

struct tcase {
    const char *name;
    int (*run)(void);
};

static const struct tcase cases[] = {
    {"queue size 0", c_num0},
    {"queue size 7 (not a power of two)", c_num7},
    {"queue size QueueNumMax + 1", c_num_max1},
    {"queue size 0x10000", c_num_64k},
    {"queue size 0xffffffff", c_num_ones},
    {"queue size QueueNumMax (legitimate)", c_num_max},
    {"descriptor table in a hole", c_desc_hole},
    {"avail ring in a hole", c_avail_hole},
    {"used ring in a hole", c_used_hole},
    {"descriptor table straddling RAM end", c_desc_straddle},
    {"avail ring straddling RAM end", c_avail_straddle},
    {"used ring straddling RAM end", c_used_straddle},
    {"all rings wrapping 2^64", c_all_wrap},
    {"rings above 4 GiB", c_rings_above4g},
    {"misaligned rings", c_misaligned},
    {"notify queues 5, 1000, 0xffffffff, 0x10000 (same queue)", c_notify_missing},
    {"set up missing queues 5, 8, 1000, 0xffffffff (same queue)", c_setup_missing_queue},
    {"move the rings of a live queue", c_move_live_rings},
    {"QueueReady = 0 with a request pending", c_unready_pending},
    {"driver features never offered", c_features_unoffered},
    {"no VERSION_1", c_features_legacy},
    {"DRIVER_OK without FEATURES_OK", c_no_features_ok},
    {"garbage in Status", c_status_garbage},
    {"writes to read-only registers and config (same queue)", c_readonly_regs},
    {"odd-size and misaligned register accesses (same queue)", c_odd_accesses},
    {"100,000 notifies with nothing pending (same queue)", c_notify_storm},
    {"reset with a request pending", c_reset_pending},
};

int main(void)
{
    put_s("virtio_queue_bad_setup: start\n");
    re = ram_end();
    put_kv("RAM end ", re);
    (void)qemu_quirks();
    if (vdev_find(&dev, 2))
        mal_fail(1, "no modern virtio-blk device found");
    put_kv("virtio-blk at ", dev.base);
    arena_prepare();
    if (vdev_bringup(&dev, &q, 0, QNUM) || blk_good_read(&dev, &q, 0, 1))
        mal_fail(2, "bring-up or first good read failed");
    put_kv("QueueNumMax ", dev.qnum_max);
    int first = 0, nfail = 0;
    unsigned n = sizeof cases / sizeof cases[0];
    for (unsigned k = 0; k < n; k++) {
        int code = 10 + (int)k;
        put_s("case ");
        put_s(cases[k].name);
        put_s(": ");
        int bad = cases[k].run() != 0;
        /* Whatever happened: reset, bring up, good reads. */
        arena_prepare();
        if (!bad && (vdev_bringup(&dev, &q, 0, QNUM) || blk_good_read(&dev, &q, 0, 1) ||
                     blk_good_read(&dev, &q, 4, 3))) {
            put_s("  FAIL: the device does not work after a reset\n");
            bad = 1;
        }
        if (bad) {
            mal_failed_check(cases[k].name);
            nfail++;
            if (!first)
                first = code;
            if (vdev_bringup(&dev, &q, 0, QNUM))
                break;
        }
    }
    if (nfail) {
        put_s("virtio_queue_bad_setup: ");
        put_dec((uint64_t)nfail);
        put_s(" case(s) mishandled\n");
        return first;
    }
    put_s("virtio_queue_bad_setup: all cases handled\n");
    return 0;
}

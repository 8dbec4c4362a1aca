/* virtio-mmio transport and split virtqueues, driven through a probe device
 * that records every chain it is handed. */
#include "t.h"
#include "virtio_drv.h"

#include "virtio/virtio_dev.h"

#define PROBE_QMAX 16
#define PROBE_FEATURE (1ull << 3)

struct probe {
    int calls;
    unsigned n_rd, n_wr;
    uint64_t rd_len, wr_len;
    uint8_t rd[8192];
};
static struct probe pr;

static int64_t probe_chain(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                           const struct virtq_chain *ch)
{
    (void)vm;
    struct probe *p = dev;
    p->calls++;
    p->n_rd = ch->n_rd;
    p->n_wr = ch->n_wr;
    p->rd_len = ch->rd_len;
    p->wr_len = ch->wr_len;
    size_t n = ch->rd_len < sizeof p->rd ? (size_t)ch->rd_len : sizeof p->rd;
    if (virtq_chain_read(vq, ch, 0, p->rd, n))
        return -1;
    for (uint64_t i = 0; i < ch->wr_len && i < 65536; i++) {
        uint8_t b = (uint8_t)(i ^ 0x5a);
        if (virtq_chain_write(vq, ch, i, &b, 1))
            return -1;
    }
    return (int64_t)(ch->wr_len < 65536 ? ch->wr_len : 65536);
}

static void probe_notify(struct virtio_mmio *vm, void *dev, unsigned q)
{
    (void)dev;
    virtio_mmio_process_queue(vm, q, probe_chain);
}

static const struct virtio_dev_ops probe_ops = {
    .name = "probe",
    .device_id = 0x42,
    .num_queues = 2,
    .queue_max = PROBE_QMAX,
    .features = PROBE_FEATURE,
    .notify = probe_notify,
};

static const uint8_t probe_cfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static bool probe_open(struct drv *d)
{
    struct disco_err err;
    memset(&pr, 0, sizeof pr);
    if (drv_open(d))
        return false;
    d->vm = virtio_mmio_create(&d->host, &probe_ops, &pr, probe_cfg, sizeof probe_cfg, &err);
    if (!d->vm) {
        pmap_free(d->pm);
        return false;
    }
    return true;
}

/* Probe device, features negotiated, queue 0 ready with `num`, DRIVER_OK. */
static bool probe_live(struct drv *d, uint64_t features, uint16_t num)
{
    if (!probe_open(d))
        return false;
    bool ok = drv_negotiate(d, features) && drv_queue(d, 0, num);
    drv_ok(d);
    return ok;
}

static void transport_identity(void)
{
    struct drv d;
    CHECK(probe_open(&d));
    if (!d.vm)
        return;
    CHECK_EQ(rreg(&d, R_MAGIC), 0x74726976);
    CHECK_EQ(rreg(&d, R_VERSION), 2);
    CHECK_EQ(rreg(&d, R_DEVICE_ID), 0x42);
    CHECK_EQ(rreg(&d, R_VENDOR), 0x554d4551);
    uint64_t f = dev_features(&d);
    CHECK(f & F_VERSION_1);
    CHECK(f & F_INDIRECT);
    CHECK(f & F_EVENT_IDX);
    CHECK(f & PROBE_FEATURE);
    wreg(&d, R_DEV_FEAT_SEL, 2);
    CHECK_EQ(rreg(&d, R_DEV_FEAT), 0);
    wreg(&d, R_QSEL, 0);
    CHECK_EQ(rreg(&d, R_QNUM_MAX), PROBE_QMAX);
    CHECK_EQ(rreg(&d, R_QREADY), 0);
    wreg(&d, R_QSEL, 2);    /* no such queue */
    CHECK_EQ(rreg(&d, R_QNUM_MAX), 0);
    CHECK_EQ(rreg(&d, 0x0b0), 0xffffffff);  /* no shared memory region */
    /* Registers are 32-bit only. */
    uint64_t v;
    CHECK(virtio_mmio_ops.read(d.vm, R_MAGIC, 2, &v) < 0);
    CHECK(virtio_mmio_ops.write(d.vm, R_STATUS, 1, 1) < 0);
    /* Config space: any width, little-endian, zero past the end. */
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 1, 1, &v), 0);
    CHECK_EQ(v, 2);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 2, 2, &v), 0);
    CHECK_EQ(v, 0x0403);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 4, 4, &v), 0);
    CHECK_EQ(v, 0x08070605);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG, 8, &v), 0);
    CHECK_EQ(v, 0x0807060504030201ull);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 8, 8, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, 0xff8, 8, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(virtio_mmio_device_id(d.vm), 0x42);
    drv_close(&d);
}

static void feature_negotiation(void)
{
    struct drv d;
    CHECK(probe_open(&d));
    if (!d.vm)
        return;
    /* A feature the device did not offer is refused. */
    CHECK(!drv_negotiate(&d, F_VERSION_1 | (1ull << 40)));
    /* So is a legacy (non-VERSION_1) driver. */
    CHECK(!drv_negotiate(&d, PROBE_FEATURE));
    /* A subset of the offer that includes VERSION_1 is accepted. */
    CHECK(drv_negotiate(&d, F_VERSION_1 | PROBE_FEATURE | F_INDIRECT));
    /* Features are frozen after FEATURES_OK. */
    wreg(&d, R_DRV_FEAT_SEL, 0);
    wreg(&d, R_DRV_FEAT, 0xffffffff);
    CHECK_EQ(rreg(&d, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
    /* The driver cannot clear bits; only writing 0 resets. */
    wreg(&d, R_STATUS, S_ACK);
    CHECK_EQ(rreg(&d, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
    /* NEEDS_RESET is the device's to set. */
    wreg(&d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_NEEDS_RESET);
    CHECK_EQ(rreg(&d, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(!d.irq.level);
    wreg(&d, R_STATUS, 0);
    CHECK_EQ(rreg(&d, R_STATUS), 0);
    drv_close(&d);
}

static void basic_chain_and_interrupt(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1, 16));
    if (!d.vm)
        return;
    uint64_t in = galloc(&d, 10), out = galloc(&d, 8);
    CHECK_EQ(pmap_write(d.pm, in, "hello virt", 10), 0);
    put_desc(&d, 0, 3, in, 10, D_NEXT, 7);
    put_desc(&d, 0, 7, out, 8, D_WRITE, 0);
    drv_avail(&d, 0, 3);
    CHECK(!d.irq.level);
    drv_kick(&d, 0);
    uint32_t id = 99, len = 99;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 3);
    CHECK_EQ(len, 8);
    CHECK_EQ(pr.calls, 1);
    CHECK_EQ(pr.n_rd, 1);
    CHECK_EQ(pr.n_wr, 1);
    CHECK(memcmp(pr.rd, "hello virt", 10) == 0);
    uint8_t got[8];
    CHECK_EQ(pmap_read(d.pm, out, got, 8), 0);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(got[i], i ^ 0x5a);
    CHECK(d.irq.level);
    CHECK_EQ(d.irq.num, 7);
    CHECK_EQ(rreg(&d, R_INT_STATUS), 1);
    wreg(&d, R_INT_ACK, 1);
    CHECK(!d.irq.level);
    CHECK_EQ(rreg(&d, R_INT_STATUS), 0);
    /* A spurious notify with nothing new does nothing. */
    drv_kick(&d, 0);
    CHECK_EQ(pr.calls, 1);
    CHECK(!d.irq.level);
    drv_close(&d);
}

static void segments_cross_pages_and_zero_length(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1, 16));
    if (!d.vm)
        return;
    uint64_t in = HEAP_BASE + 0x1000 - 5;  /* straddles a page boundary */
    CHECK_EQ(pmap_write(d.pm, in, "0123456789", 10), 0);
    uint64_t w1 = HEAP_BASE + 0x3000 - 3, w2 = HEAP_BASE + 0x5000;
    put_desc(&d, 0, 0, in, 10, D_NEXT, 1);
    put_desc(&d, 0, 1, 0, 0, D_NEXT, 2);                      /* zero-length, bogus addr */
    put_desc(&d, 0, 2, w1, 6, D_WRITE | D_NEXT, 3);
    put_desc(&d, 0, 3, 0xffffffffffffff00ull, 0, D_WRITE | D_NEXT, 4); /* zero-length */
    put_desc(&d, 0, 4, w2, 4, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    uint32_t id = 0, len = 0;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 10);
    CHECK_EQ(pr.n_rd, 1);
    CHECK_EQ(pr.n_wr, 2);
    CHECK(memcmp(pr.rd, "0123456789", 10) == 0);
    uint8_t a[6], b[4];
    CHECK_EQ(pmap_read(d.pm, w1, a, 6), 0);
    CHECK_EQ(pmap_read(d.pm, w2, b, 4), 0);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(a[i], i ^ 0x5a);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(b[i], (i + 6) ^ 0x5a);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

static void indirect_chain(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1 | F_INDIRECT, 16));
    if (!d.vm)
        return;
    uint64_t tbl = galloc(&d, 48), in = galloc(&d, 4), o1 = galloc(&d, 3), o2 = galloc(&d, 5);
    CHECK_EQ(pmap_write(d.pm, in, "abcd", 4), 0);
    put_desc_at(&d, tbl, 0, in, 4, D_NEXT, 2);
    put_desc_at(&d, tbl, 2, o1, 3, D_WRITE | D_NEXT, 1);
    put_desc_at(&d, tbl, 1, o2, 5, D_WRITE, 0);
    put_desc(&d, 0, 5, tbl, 48, D_INDIRECT, 0);
    drv_avail(&d, 0, 5);
    drv_kick(&d, 0);
    uint32_t id = 0, len = 0;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 5);
    CHECK_EQ(len, 8);
    CHECK_EQ(pr.n_rd, 1);
    CHECK_EQ(pr.n_wr, 2);
    CHECK(memcmp(pr.rd, "abcd", 4) == 0);
    uint8_t b[5];
    CHECK_EQ(pmap_read(d.pm, o2, b, 5), 0);
    CHECK_EQ(b[0], 3 ^ 0x5a);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));

    /* A full-length chain (queue size buffers) through an indirect table
     * is fine; one more buffer is not. */
    uint64_t big = galloc(&d, 16 * 17);
    for (uint16_t i = 0; i < 16; i++)
        put_desc_at(&d, big, i, in, 1, i < 15 ? D_NEXT : 0, i + 1);
    put_desc(&d, 0, 6, big, 16 * 16, D_INDIRECT, 0);
    drv_avail(&d, 0, 6);
    drv_kick(&d, 0);
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(pr.n_rd, 16);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    for (uint16_t i = 0; i < 17; i++)
        put_desc_at(&d, big, i, in, 1, i < 16 ? D_NEXT : 0, i + 1);
    put_desc(&d, 0, 7, big, 16 * 17, D_INDIRECT, 0);
    drv_avail(&d, 0, 7);
    drv_kick(&d, 0);
    CHECK(!drv_used(&d, 0, &id, &len));
    CHECK(needs_reset(&d));
    drv_close(&d);
}

/* ---- malicious rings: each case must end in NEEDS_RESET, untouched
 * buffers and no used entries. ---- */

typedef void (*bad_setup)(struct drv *d);

static void bad_loop(struct drv *d)
{
    put_desc(d, 0, 0, HEAP_BASE, 4, D_NEXT, 1);
    put_desc(d, 0, 1, HEAP_BASE, 4, D_NEXT, 0);
    drv_avail(d, 0, 0);
}
static void bad_self_loop(struct drv *d)
{
    put_desc(d, 0, 4, HEAP_BASE, 4, D_WRITE | D_NEXT, 4);
    drv_avail(d, 0, 4);
}
static void bad_head_index(struct drv *d) { drv_avail(d, 0, 16); }
static void bad_head_index_huge(struct drv *d) { drv_avail(d, 0, 0xffff); }
static void bad_next_index(struct drv *d)
{
    put_desc(d, 0, 0, HEAP_BASE, 4, D_NEXT, 99);
    drv_avail(d, 0, 0);
}
static void bad_buffer_outside_ram(struct drv *d)
{
    put_desc(d, 0, 0, RAM_BASE + RAM_SIZE - 4, 8, D_WRITE, 0);
    drv_avail(d, 0, 0);
}
static void bad_buffer_below_ram(struct drv *d)
{
    put_desc(d, 0, 0, 0x1000, 8, 0, 0);
    drv_avail(d, 0, 0);
}
static void bad_buffer_wraps(struct drv *d)
{
    put_desc(d, 0, 0, 0xfffffffffffffff8ull, 16, D_WRITE, 0);
    drv_avail(d, 0, 0);
}
static void bad_buffer_huge(struct drv *d)
{
    put_desc(d, 0, 0, RAM_BASE, 0xffffffffu, D_WRITE, 0);
    drv_avail(d, 0, 0);
}
static void bad_avail_jump(struct drv *d)
{
    put_desc(d, 0, 0, HEAP_BASE, 4, 0, 0);
    put16(d, d->q[0].avail + 2, 17);     /* 17 chains in a 16-entry ring */
}
static void bad_read_after_write(struct drv *d)
{
    put_desc(d, 0, 0, HEAP_BASE, 4, D_WRITE | D_NEXT, 1);
    put_desc(d, 0, 1, HEAP_BASE + 64, 4, 0, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_not_negotiated(struct drv *d)
{
    put_desc_at(d, HEAP_BASE, 0, HEAP_BASE + 0x100, 4, 0, 0);
    put_desc(d, 0, 0, HEAP_BASE, 16, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_nested(struct drv *d)
{
    /* The inner table is itself well-formed: only the nesting is wrong. */
    put_desc_at(d, HEAP_BASE + 0x200, 0, HEAP_BASE + 0x100, 4, D_WRITE, 0);
    put_desc_at(d, HEAP_BASE, 0, HEAP_BASE + 0x100, 4, D_NEXT, 1);
    put_desc_at(d, HEAP_BASE, 1, HEAP_BASE + 0x200, 16, D_INDIRECT, 0);
    put_desc(d, 0, 0, HEAP_BASE, 32, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_with_next(struct drv *d)
{
    put_desc_at(d, HEAP_BASE, 0, HEAP_BASE + 0x100, 4, 0, 0);
    put_desc(d, 0, 0, HEAP_BASE, 16, D_INDIRECT | D_NEXT, 1);
    put_desc(d, 0, 1, HEAP_BASE + 0x100, 4, 0, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_len(struct drv *d)
{
    put_desc_at(d, HEAP_BASE, 0, HEAP_BASE + 0x100, 4, 0, 0);
    put_desc(d, 0, 0, HEAP_BASE, 17, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_zero_len(struct drv *d)
{
    put_desc(d, 0, 0, HEAP_BASE, 0, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_outside_ram(struct drv *d)
{
    put_desc(d, 0, 0, RAM_BASE + RAM_SIZE - 16, 32, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_wraps(struct drv *d)
{
    put_desc(d, 0, 0, 0xfffffffffffffff0ull, 32, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_loop(struct drv *d)
{
    put_desc_at(d, HEAP_BASE, 0, HEAP_BASE + 0x100, 4, D_NEXT, 1);
    put_desc_at(d, HEAP_BASE, 1, HEAP_BASE + 0x100, 4, D_NEXT, 0);
    put_desc(d, 0, 0, HEAP_BASE, 32, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_next_index(struct drv *d)
{
    put_desc_at(d, HEAP_BASE, 0, HEAP_BASE + 0x100, 4, D_NEXT, 2);  /* table has 2 */
    put_desc(d, 0, 0, HEAP_BASE, 32, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}
static void bad_indirect_huge_table(struct drv *d)
{
    /* A table claiming the whole of RAM, every entry chaining on: the walk
     * must stop at the queue size. */
    pmap_fill(d->pm, HEAP_BASE, 0, 0x10000);
    for (uint16_t i = 0; i < 64; i++)
        put_desc_at(d, HEAP_BASE, i, HEAP_BASE + 0x20000, 4, D_NEXT, i + 1);
    put_desc(d, 0, 0, HEAP_BASE, 0xfff0, D_INDIRECT, 0);
    drv_avail(d, 0, 0);
}

struct bad_case {
    const char *name;
    bad_setup setup;
};

static const struct bad_case bad_cases[] = {
    { "loop", bad_loop },
    { "self_loop", bad_self_loop },
    { "head_index", bad_head_index },
    { "head_index_huge", bad_head_index_huge },
    { "next_index", bad_next_index },
    { "buffer_outside_ram", bad_buffer_outside_ram },
    { "buffer_below_ram", bad_buffer_below_ram },
    { "buffer_wraps", bad_buffer_wraps },
    { "buffer_huge", bad_buffer_huge },
    { "avail_jump", bad_avail_jump },
    { "read_after_write", bad_read_after_write },
    { "indirect_not_negotiated", bad_indirect_not_negotiated },
    { "indirect_nested", bad_indirect_nested },
    { "indirect_with_next", bad_indirect_with_next },
    { "indirect_len", bad_indirect_len },
    { "indirect_zero_len", bad_indirect_zero_len },
    { "indirect_outside_ram", bad_indirect_outside_ram },
    { "indirect_wraps", bad_indirect_wraps },
    { "indirect_loop", bad_indirect_loop },
    { "indirect_next_index", bad_indirect_next_index },
    { "indirect_huge_table", bad_indirect_huge_table },
};

static void malicious_chains_need_reset(void)
{
    for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
        struct drv d;
        bool indirect = bad_cases[k].setup != bad_indirect_not_negotiated;
        CHECK(probe_live(&d, F_VERSION_1 | (indirect ? F_INDIRECT : 0), 16));
        if (!d.vm)
            return;
        int failed_before = t_st.case_failed;
        bad_cases[k].setup(&d);
        drv_kick(&d, 0);
        CHECK(needs_reset(&d));
        CHECK_EQ(pr.calls, 0);
        CHECK_EQ(used_idx(&d, 0), 0);
        /* Once broken, notifies are ignored until reset. */
        drv_kick(&d, 0);
        CHECK_EQ(pr.calls, 0);
        /* Reset clears it; the device works again. */
        wreg(&d, R_STATUS, 0);
        CHECK_EQ(rreg(&d, R_STATUS), 0);
        CHECK_EQ(rreg(&d, R_INT_STATUS), 0);
        CHECK(!d.irq.level);
        CHECK(drv_negotiate(&d, F_VERSION_1));
        CHECK(drv_queue(&d, 0, 16));
        drv_ok(&d);
        put_desc(&d, 0, 0, HEAP_BASE + 0x8000, 4, D_WRITE, 0);
        drv_avail(&d, 0, 0);
        drv_kick(&d, 0);
        uint32_t id = 0, len = 0;
        CHECK(drv_used(&d, 0, &id, &len));
        CHECK_EQ(len, 4);
        if (!failed_before && t_st.case_failed)
            printf("  (in bad case '%s')\n", bad_cases[k].name);
        drv_close(&d);
    }
}

/* Queue configurations refused at QueueReady: bad size, misaligned or
 * out-of-RAM rings. */
static void bad_queue_setup(void)
{
    const uint64_t b = qbase(0), end = RAM_BASE + RAM_SIZE;
    struct {
        const char *name;
        uint16_t num;
        uint64_t desc, avail, used;
    } cases[] = {
        { "size_not_pow2", 12, b, b + 0x4000, b + 0x8000 },
        { "size_over_max", 32, b, b + 0x4000, b + 0x8000 },
        { "size_zero", 0, b, b + 0x4000, b + 0x8000 },
        { "desc_outside", 16, end, b + 0x4000, b + 0x8000 },
        { "desc_straddles_end", 16, end - 128, b + 0x4000, b + 0x8000 },
        { "avail_outside", 16, b, 0x1000, b + 0x8000 },
        { "used_straddles_end", 16, b, b + 0x4000, end - 64 },
        { "used_wraps", 16, b, b + 0x4000, 0xfffffffffffffff0ull },
        { "desc_misaligned", 16, b + 8, b + 0x4000, b + 0x8000 },
        { "avail_misaligned", 16, b, b + 0x4001, b + 0x8000 },
        { "used_misaligned", 16, b, b + 0x4000, b + 0x8002 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct drv d;
        CHECK(probe_open(&d));
        if (!d.vm)
            return;
        int failed_before = t_st.case_failed;
        CHECK(drv_negotiate(&d, F_VERSION_1));
        CHECK(!drv_queue_at(&d, 0, cases[k].num, cases[k].desc, cases[k].avail, cases[k].used));
        drv_ok(&d);
        CHECK(needs_reset(&d));
        drv_kick(&d, 0);
        CHECK_EQ(pr.calls, 0);
        if (!failed_before && t_st.case_failed)
            printf("  (in queue case '%s')\n", cases[k].name);
        drv_close(&d);
    }
}

/* Once NEEDS_RESET is set, even well-formed chains wait for a reset. */
static void broken_device_stops(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1, 16));
    if (!d.vm)
        return;
    CHECK(!drv_queue(&d, 1, 3));      /* not a power of two */
    CHECK(needs_reset(&d));
    put_desc(&d, 0, 0, HEAP_BASE, 4, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(pr.calls, 0);
    CHECK_EQ(used_idx(&d, 0), 0);
    /* The driver cannot clear the bit by writing status. */
    wreg(&d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    CHECK(rreg(&d, R_STATUS) & S_NEEDS_RESET);
    drv_kick(&d, 0);
    CHECK_EQ(pr.calls, 0);
    drv_close(&d);
}

static void queue_config_frozen_while_ready(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1, 8));
    if (!d.vm)
        return;
    wreg(&d, R_QSEL, 0);
    wreg(&d, R_QNUM, 4);
    wreg(&d, R_QDESC_LO, 0x1234);
    CHECK_EQ(rreg(&d, R_QNUM), 8);
    CHECK_EQ(rreg(&d, R_QDESC_LO), (uint32_t)qbase(0));
    /* Disable, reconfigure, re-enable: allowed. */
    wreg(&d, R_QREADY, 0);
    CHECK_EQ(rreg(&d, R_QREADY), 0);
    wreg(&d, R_QNUM, 4);
    CHECK_EQ(rreg(&d, R_QNUM), 4);
    drv_close(&d);
}

static void no_interrupt_flag(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1, 16));
    if (!d.vm)
        return;
    put16(&d, d.q[0].avail, 1);  /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    put_desc(&d, 0, 0, HEAP_BASE, 4, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    uint32_t id = 0, len = 0;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK(!d.irq.level);
    put16(&d, d.q[0].avail, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK(d.irq.level);
    drv_close(&d);
}

static void event_idx(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1 | F_EVENT_IDX, 16));
    if (!d.vm)
        return;
    uint64_t used_event = d.q[0].avail + 4 + 2 * 16;
    uint64_t avail_event = d.q[0].used + 4 + 8 * 16;
    put_desc(&d, 0, 0, HEAP_BASE, 4, D_WRITE, 0);
    /* Driver wants an interrupt only once used idx passes 1. */
    put16(&d, used_event, 1);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(used_idx(&d, 0), 1);
    CHECK(!d.irq.level);
    /* The device asks to be kicked for the next avail entry. */
    CHECK_EQ(get16(&d, avail_event), 1);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(used_idx(&d, 0), 2);
    CHECK(d.irq.level);
    CHECK_EQ(get16(&d, avail_event), 2);
    ack_irq(&d);
    /* A batch of three that crosses used_event = 3 interrupts once. */
    put16(&d, used_event, 3);
    drv_avail(&d, 0, 0);
    drv_avail(&d, 0, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(used_idx(&d, 0), 5);
    CHECK(d.irq.level);
    CHECK_EQ(d.irq.raises, 2);
    CHECK_EQ(get16(&d, avail_event), 5);
    drv_close(&d);
}

static void deferred_until_driver_ok(void)
{
    struct drv d;
    CHECK(probe_open(&d));
    if (!d.vm)
        return;
    CHECK(drv_negotiate(&d, F_VERSION_1));
    CHECK(drv_queue(&d, 0, 16));
    put_desc(&d, 0, 0, HEAP_BASE, 4, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(pr.calls, 0);
    CHECK_EQ(used_idx(&d, 0), 0);
    drv_ok(&d);
    CHECK_EQ(pr.calls, 1);
    CHECK_EQ(used_idx(&d, 0), 1);
    CHECK(d.irq.level);
    /* Reset drops the interrupt and the queues. */
    wreg(&d, R_STATUS, 0);
    CHECK(!d.irq.level);
    wreg(&d, R_QSEL, 0);
    CHECK_EQ(rreg(&d, R_QREADY), 0);
    drv_close(&d);
}

static void index_wraparound(void)
{
    struct drv d;
    CHECK(probe_live(&d, F_VERSION_1 | F_EVENT_IDX, 4));
    if (!d.vm)
        return;
    put_desc(&d, 0, 1, HEAP_BASE, 2, D_WRITE, 0);
    uint32_t total = 0;
    for (int round = 0; round < 16400 && !t_st.case_failed; round++) {
        for (int k = 0; k < 4; k++)
            drv_avail(&d, 0, 1);
        drv_kick(&d, 0);
        uint32_t id = 0, len = 0;
        while (drv_used(&d, 0, &id, &len)) {
            CHECK_EQ(id, 1);
            CHECK_EQ(len, 2);
            total++;
        }
        put16(&d, d.q[0].avail + 4 + 2 * 4, d.q[0].used_seen);  /* used_event */
    }
    CHECK_EQ(total, 16400u * 4);
    CHECK_EQ(used_idx(&d, 0), (uint16_t)(16400u * 4));
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

int main(void)
{
    RUN(transport_identity);
    RUN(feature_negotiation);
    RUN(basic_chain_and_interrupt);
    RUN(segments_cross_pages_and_zero_length);
    RUN(indirect_chain);
    RUN(malicious_chains_need_reset);
    RUN(bad_queue_setup);
    RUN(broken_device_stops);
    RUN(queue_config_frozen_while_ready);
    RUN(no_interrupt_flag);
    RUN(event_idx);
    RUN(deferred_until_driver_ok);
    RUN(index_wraparound);
    T_EXIT();
}

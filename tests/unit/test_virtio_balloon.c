/* virtio-balloon: features and queue layout, inflate/deflate, statistics,
 * free page reporting, the target, and hostile drivers. */
#include "t.h"
#include "virtio_drv.h"

#define F_STATS (1ull << 1)
#define F_OOM (1ull << 2)
#define F_REPORTING (1ull << 5)
#define F_ALL (F_VERSION_1 | F_INDIRECT | F_EVENT_IDX | F_STATS | F_OOM | F_REPORTING)

/* Guest pages the tests fill and give back: well clear of rings and heap. */
#define AREA (RAM_BASE + (8ull << 20))
#define AREA_PAGES 1024

static bool bal_open(struct drv *d, uint64_t features)
{
    struct disco_err err;
    if (drv_open(d))
        return false;
    d->vm = virtio_balloon_new(&d->host, &err);
    if (!d->vm) {
        pmap_free(d->pm);
        return false;
    }
    if (!drv_negotiate(d, features))
        return false;
    unsigned nq = 2 + !!(features & F_STATS) + !!(features & F_REPORTING);
    for (unsigned q = 0; q < nq; q++)
        if (!drv_queue(d, q, 128))
            return false;
    drv_ok(d);
    /* Touch the buffer heap now, so posting a buffer does not change the
     * resident counts the tests compare. */
    pmap_fill(d->pm, HEAP_BASE, 0, 1ull << 20);
    return true;
}

static uint32_t cfg_read32(struct drv *d, unsigned off)
{
    uint64_t v = 0;
    CHECK_EQ(virtio_mmio_ops.read(d->vm, R_CONFIG + off, 4, &v), 0);
    return (uint32_t)v;
}

static void cfg_write32(struct drv *d, unsigned off, uint32_t v)
{
    CHECK_EQ(virtio_mmio_ops.write(d->vm, R_CONFIG + off, 4, v), 0);
}

static struct virtio_balloon_info info(struct drv *d)
{
    struct virtio_balloon_info bi;
    virtio_balloon_info(d->vm, &bi);
    return bi;
}

static uint64_t area_pfn(unsigned page) { return (AREA >> 12) + page; }

/* Post a PFN array as one device-readable buffer in descriptor `slot` of
 * queue q and kick; returns the used length (or ~0 if not used). */
static uint32_t send_pfns(struct drv *d, unsigned q, uint16_t slot, const uint32_t *pfns,
                          unsigned n, uint32_t bytes)
{
    uint64_t buf = galloc(d, 4ull * n + 4);
    CHECK_EQ(pmap_write(d->pm, buf, pfns, 4ull * n), 0);
    put_desc(d, q, slot, buf, bytes ? bytes : 4 * n, 0, 0);
    drv_avail(d, q, slot);
    drv_kick(d, q);
    uint32_t id = 0, len = ~0u;
    CHECK(drv_used(d, q, &id, &len));
    CHECK_EQ(id, slot);
    return len;
}

static uint8_t byte_at(struct drv *d, uint64_t gpa)
{
    uint8_t b = 0xee;
    CHECK_EQ(pmap_read(d->pm, gpa, &b, 1), 0);
    return b;
}

static void balloon_features_and_layout(void)
{
    struct drv d;
    struct disco_err err;
    CHECK_EQ(drv_open(&d), 0);
    d.vm = virtio_balloon_new(&d.host, &err);
    CHECK(d.vm != NULL);
    if (!d.vm)
        return;
    CHECK_EQ(rreg(&d, R_DEVICE_ID), 5);
    uint64_t f = dev_features(&d);
    CHECK(f & F_VERSION_1);
    CHECK(f & F_STATS);
    CHECK(f & F_OOM);
    CHECK(f & F_REPORTING);
    CHECK(!(f & 1));            /* no MUST_TELL_HOST */
    CHECK(!(f & (1ull << 3)));  /* no FREE_PAGE_HINT: it would shift reporting_vq */
    CHECK(!(f & (1ull << 4)));  /* no PAGE_POISON */
    for (unsigned q = 0; q < 4; q++) {
        wreg(&d, R_QSEL, q);
        CHECK_EQ(rreg(&d, R_QNUM_MAX), 128);
    }
    wreg(&d, R_QSEL, 4);
    CHECK_EQ(rreg(&d, R_QNUM_MAX), 0);
    CHECK_EQ(cfg_read32(&d, 0), 0);
    CHECK_EQ(cfg_read32(&d, 4), 0);
    /* Features we did not offer are refused; legacy too. */
    CHECK(!drv_negotiate(&d, F_VERSION_1 | (1ull << 3)));
    CHECK(!drv_negotiate(&d, F_STATS));
    CHECK(drv_negotiate(&d, F_ALL));
    drv_close(&d);
}

static void balloon_inflate_deflate(void)
{
    struct drv d;
    CHECK(bal_open(&d, F_ALL));
    if (!d.vm)
        return;
    CHECK_EQ(pmap_fill(d.pm, AREA, 0x5a, 64 * 4096), 0);
    uint64_t before = pmap_resident_pages(d.pm);
    /* A run, a lone page, a run given backwards. */
    uint32_t pfns[40];
    unsigned n = 0;
    for (unsigned i = 0; i < 16; i++)
        pfns[n++] = (uint32_t)area_pfn(i);
    pfns[n++] = (uint32_t)area_pfn(20);
    for (unsigned i = 0; i < 8; i++)
        pfns[n++] = (uint32_t)area_pfn(40 - i);
    CHECK_EQ(send_pfns(&d, 0, 0, pfns, n, 0), 0);
    CHECK_EQ(pmap_resident_pages(d.pm), before - 25);
    CHECK_EQ(info(&d).inflated_pages, 25);
    CHECK_EQ(byte_at(&d, AREA + 5 * 4096 + 17), 0);
    CHECK_EQ(byte_at(&d, AREA + 20 * 4096), 0);
    CHECK_EQ(byte_at(&d, AREA + 33 * 4096 + 4095), 0);
    CHECK_EQ(byte_at(&d, AREA + 16 * 4096), 0x5a);   /* neighbours kept */
    CHECK_EQ(byte_at(&d, AREA + 32 * 4096 + 4095), 0x5a);
    CHECK_EQ(byte_at(&d, AREA + 41 * 4096), 0x5a);
    CHECK(d.irq.level);
    ack_irq(&d);
    /* The same page again counts once. */
    uint32_t again[2] = {(uint32_t)area_pfn(20), (uint32_t)area_pfn(20)};
    CHECK_EQ(send_pfns(&d, 0, 1, again, 2, 0), 0);
    CHECK_EQ(info(&d).inflated_pages, 25);
    /* Deflate some; a page that was never inflated changes nothing. */
    uint32_t out[4] = {(uint32_t)area_pfn(0), (uint32_t)area_pfn(1), (uint32_t)area_pfn(20),
                       (uint32_t)area_pfn(50)};
    CHECK_EQ(send_pfns(&d, 1, 0, out, 4, 0), 0);
    CHECK_EQ(info(&d).inflated_pages, 22);
    /* A deflated page is the guest's again: it writes and reads it. */
    CHECK_EQ(pmap_fill(d.pm, AREA + 4096, 0x33, 4096), 0);
    CHECK_EQ(byte_at(&d, AREA + 4096 + 100), 0x33);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    /* A device reset empties the balloon (a rebooted guest owns its RAM). */
    cfg_write32(&d, 4, 22);
    CHECK_EQ(info(&d).actual_pages, 22);
    wreg(&d, R_STATUS, 0);
    CHECK_EQ(info(&d).inflated_pages, 0);
    CHECK_EQ(info(&d).actual_pages, 0);
    CHECK_EQ(cfg_read32(&d, 4), 0);
    drv_close(&d);
}

static void balloon_ignores_garbage_pfns(void)
{
    struct drv d;
    CHECK(bal_open(&d, F_ALL));
    if (!d.vm)
        return;
    CHECK_EQ(pmap_fill(d.pm, RAM_BASE + RAM_SIZE - 4096, 0x77, 4096), 0);
    CHECK_EQ(pmap_fill(d.pm, AREA, 0x77, 4096), 0);
    uint64_t before = pmap_resident_pages(d.pm);
    uint32_t pfns[] = {
        0, 1, 0xffffffffu,
        (uint32_t)((RAM_BASE >> 12) - 1),               /* just below RAM */
        (uint32_t)((RAM_BASE + RAM_SIZE) >> 12),        /* just past it */
        0x7fffffffu,
        (uint32_t)area_pfn(0),                          /* the one real page */
    };
    unsigned n = sizeof pfns / sizeof pfns[0];
    CHECK_EQ(send_pfns(&d, 0, 0, pfns, n, 0), 0);
    CHECK_EQ(info(&d).inflated_pages, 1);
    CHECK_EQ(pmap_resident_pages(d.pm), before - 1);
    CHECK_EQ(byte_at(&d, RAM_BASE + RAM_SIZE - 1), 0x77);
    /* A trailing partial entry is ignored; so is an empty buffer's worth. */
    uint32_t last[2] = {(uint32_t)((RAM_BASE + RAM_SIZE) >> 12) - 1, 0};
    CHECK_EQ(send_pfns(&d, 0, 1, last, 2, 7), 0);   /* one whole entry + 3 bytes */
    CHECK_EQ(info(&d).inflated_pages, 2);
    CHECK_EQ(byte_at(&d, RAM_BASE + RAM_SIZE - 1), 0);
    CHECK_EQ(send_pfns(&d, 0, 2, last, 1, 3), 0);
    CHECK_EQ(info(&d).inflated_pages, 2);
    /* Deflating garbage is as harmless. */
    CHECK_EQ(send_pfns(&d, 1, 0, pfns, n - 1, 0), 0);
    CHECK_EQ(info(&d).inflated_pages, 2);
    /* A buffer of device-writable PFNs only: nothing to read, no error. */
    uint64_t wb = galloc(&d, 64);
    put_desc(&d, 0, 3, wb, 64, D_WRITE, 0);
    drv_avail(&d, 0, 3);
    drv_kick(&d, 0);
    uint32_t id, len;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(len, 0);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

struct stat_entry {
    uint16_t tag;
    uint64_t val;
} __attribute__((packed));

static void put_stats(struct drv *d, uint64_t buf, uint64_t base)
{
    struct stat_entry st[] = {
        {0, 1}, {4, base + 4}, {5, base + 5}, {6, base + 6}, {7, base + 7}, {8, 9}, {99, 1234},
    };
    CHECK_EQ(pmap_write(d->pm, buf, st, sizeof st), 0);
}

static void balloon_stats(void)
{
    struct drv d;
    CHECK(bal_open(&d, F_ALL));
    if (!d.vm)
        return;
    CHECK(!info(&d).stats_valid);
    /* The driver primes the stats queue (2) with one buffer... */
    uint64_t buf = galloc(&d, 128);
    put_stats(&d, buf, 1000);
    put_desc(&d, 2, 0, buf, 7 * 10, 0, 0);
    drv_avail(&d, 2, 0);
    drv_kick(&d, 2);
    /* ...which the device keeps until it wants fresh numbers. */
    CHECK_EQ(used_idx(&d, 2), 0);
    struct virtio_balloon_info bi = info(&d);   /* this asks for more */
    CHECK(bi.stats_valid);
    CHECK_EQ(bi.stat_free, 1004);
    CHECK_EQ(bi.stat_total, 1005);
    CHECK_EQ(bi.stat_available, 1006);
    CHECK_EQ(bi.stat_caches, 1007);
    uint32_t id = 9, len = 9;
    CHECK(drv_used(&d, 2, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 0);
    CHECK(d.irq.level);
    ack_irq(&d);
    /* No buffer held: asking again does nothing. */
    info(&d);
    CHECK_EQ(used_idx(&d, 2), 1);
    /* The driver refills and reposts it. A short buffer updates what it has. */
    put_stats(&d, buf, 2000);
    put_desc(&d, 2, 1, buf, 2 * 10 + 5, 0, 0);   /* swap_in, free, half an entry */
    drv_avail(&d, 2, 1);
    drv_kick(&d, 2);
    bi = info(&d);
    CHECK_EQ(bi.stat_free, 2004);
    CHECK_EQ(bi.stat_total, 1005);
    CHECK(drv_used(&d, 2, &id, &len));
    CHECK_EQ(id, 1);
    /* Two buffers posted at once: the older goes straight back. */
    put_desc(&d, 2, 2, buf, 70, 0, 0);
    put_desc(&d, 2, 3, buf, 70, 0, 0);
    drv_avail(&d, 2, 2);
    drv_avail(&d, 2, 3);
    drv_kick(&d, 2);
    CHECK(drv_used(&d, 2, &id, &len));
    CHECK_EQ(id, 2);
    CHECK(!drv_used(&d, 2, &id, &len));
    info(&d);
    CHECK(drv_used(&d, 2, &id, &len));
    CHECK_EQ(id, 3);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

static void report(struct drv *d, unsigned q, uint16_t slot, uint64_t a1, uint32_t l1, uint64_t a2,
                   uint32_t l2)
{
    put_desc(d, q, slot, a1, l1, D_WRITE | D_NEXT, (uint16_t)(slot + 1));
    put_desc(d, q, (uint16_t)(slot + 1), a2, l2, D_WRITE, 0);
    drv_avail(d, q, slot);
    drv_kick(d, q);
}

static void balloon_reporting(void)
{
    struct drv d;
    CHECK(bal_open(&d, F_ALL));
    if (!d.vm)
        return;
    CHECK_EQ(pmap_fill(d.pm, AREA, 0x42, AREA_PAGES * 4096ull), 0);
    uint64_t before = pmap_resident_pages(d.pm);
    /* reporting_vq is queue 3 with stats present: 2 MiB, and a range whose
     * ends are not page-aligned (only its 2 whole pages go). */
    report(&d, 3, 0, AREA, 2u << 20, AREA + (3ull << 20) + 100, 3 * 4096);
    uint32_t id = 9, len = 9;
    CHECK(drv_used(&d, 3, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 0);
    CHECK_EQ(info(&d).reported_pages, 512 + 2);
    CHECK_EQ(info(&d).inflated_pages, 0);
    CHECK_EQ(pmap_resident_pages(d.pm), before - 514);
    CHECK_EQ(byte_at(&d, AREA + (2ull << 20) - 1), 0);
    CHECK_EQ(byte_at(&d, AREA + (2ull << 20)), 0x42);
    CHECK_EQ(byte_at(&d, AREA + (3ull << 20) + 4095), 0x42);   /* partial first page kept */
    CHECK_EQ(byte_at(&d, AREA + (3ull << 20) + 4096), 0);
    CHECK_EQ(byte_at(&d, AREA + (3ull << 20) + 3 * 4096), 0x42); /* partial last page kept */
    /* Readable buffers and sub-page ranges release nothing. */
    put_desc(&d, 3, 4, AREA + (3ull << 20) + 8 * 4096, 4096, 0, 0);
    drv_avail(&d, 3, 4);
    drv_kick(&d, 3);
    report(&d, 3, 5, AREA + (3ull << 20) + 9 * 4096 + 1, 4096, AREA + (3ull << 20) + 20 * 4096, 100);
    CHECK(drv_used(&d, 3, &id, &len));
    CHECK(drv_used(&d, 3, &id, &len));
    CHECK_EQ(info(&d).reported_pages, 514);
    CHECK_EQ(byte_at(&d, AREA + (3ull << 20) + 8 * 4096), 0x42);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);

    /* Without the stats feature, reporting_vq moves up to queue 2. */
    CHECK(bal_open(&d, F_VERSION_1 | F_REPORTING));
    if (!d.vm)
        return;
    CHECK_EQ(pmap_fill(d.pm, AREA, 0x42, 16 * 4096), 0);
    report(&d, 2, 0, AREA, 8 * 4096, AREA + 8 * 4096, 4096);
    CHECK(drv_used(&d, 2, &id, &len));
    CHECK_EQ(info(&d).reported_pages, 9);
    CHECK_EQ(byte_at(&d, AREA + 8 * 4096), 0);
    CHECK_EQ(byte_at(&d, AREA + 9 * 4096), 0x42);
    CHECK(!info(&d).stats_valid);
    drv_close(&d);
}

static void balloon_target(void)
{
    struct drv d;
    struct disco_err err;
    CHECK_EQ(drv_open(&d), 0);
    d.vm = virtio_balloon_new(&d.host, &err);
    CHECK(d.vm != NULL);
    if (!d.vm)
        return;
    /* Before the driver is live: config only, no interrupt. */
    uint32_t gen = rreg(&d, R_CFG_GEN);
    virtio_balloon_set_target(d.vm, 100);
    CHECK_EQ(cfg_read32(&d, 0), 100);
    CHECK(rreg(&d, R_CFG_GEN) != gen);
    CHECK(!d.irq.level);
    CHECK_EQ(rreg(&d, R_INT_STATUS), 0);
    CHECK(drv_negotiate(&d, F_ALL));
    for (unsigned q = 0; q < 4; q++)
        CHECK(drv_queue(&d, q, 128));
    drv_ok(&d);
    CHECK(!d.irq.level);
    /* Live: a configuration change interrupt with the new num_pages. */
    gen = rreg(&d, R_CFG_GEN);
    virtio_balloon_set_target(d.vm, 2048);
    CHECK_EQ(cfg_read32(&d, 0), 2048);
    CHECK(rreg(&d, R_CFG_GEN) != gen);
    CHECK_EQ(rreg(&d, R_INT_STATUS), 2);
    CHECK(d.irq.level);
    ack_irq(&d);
    CHECK(!d.irq.level);
    CHECK_EQ(info(&d).target_pages, 2048);
    /* The guest reports `actual`; it cannot write num_pages. */
    cfg_write32(&d, 4, 2000);
    cfg_write32(&d, 0, 7);
    CHECK_EQ(cfg_read32(&d, 4), 2000);
    CHECK_EQ(cfg_read32(&d, 0), 2048);
    CHECK_EQ(info(&d).actual_pages, 2000);
    /* Byte-wise access to actual works too; writes past the config do nothing. */
    CHECK_EQ(virtio_mmio_ops.write(d.vm, R_CONFIG + 5, 1, 0x01), 0);
    CHECK_EQ(info(&d).actual_pages, 2000 % 256 + 256);
    CHECK_EQ(virtio_mmio_ops.write(d.vm, R_CONFIG + 8, 8, ~0ull), 0);
    CHECK_EQ(virtio_mmio_ops.write(d.vm, R_CONFIG + 3, 4, ~0ull), 0);  /* straddles */
    CHECK_EQ(cfg_read32(&d, 0), 2048);
    CHECK_EQ(info(&d).actual_pages, 0xffffff);
    /* Huge targets saturate the 32-bit field. */
    virtio_balloon_set_target(d.vm, 1ull << 40);
    CHECK_EQ(cfg_read32(&d, 0), 0xffffffffu);
    /* A reset keeps the host's target. */
    wreg(&d, R_STATUS, 0);
    CHECK_EQ(cfg_read32(&d, 0), 0xffffffffu);
    CHECK(!d.irq.level);
    /* Not a balloon: the balloon calls ignore it. */
    struct virtio_mmio *rng = virtio_rng_new(&d.host, &err);
    CHECK(rng != NULL);
    virtio_balloon_set_target(rng, 5);
    struct virtio_balloon_info bi;
    virtio_balloon_info(rng, &bi);
    CHECK_EQ(bi.target_pages, 0);
    virtio_mmio_free(rng);
    drv_close(&d);
}

/* Hostile rings on each queue end in DEVICE_NEEDS_RESET, never a crash, and
 * a reset brings the device back. */
static void balloon_hostile_rings(void)
{
    struct drv d;
    for (unsigned q = 0; q < 4; q++) {
        CHECK(bal_open(&d, F_ALL));
        if (!d.vm)
            return;
        /* A buffer outside RAM. */
        put_desc(&d, q, 0, RAM_BASE + RAM_SIZE - 8, 64, q == 3 ? D_WRITE : 0, 0);
        drv_avail(&d, q, 0);
        drv_kick(&d, q);
        CHECK(needs_reset(&d));
        /* Reset, set up again, then a chain that loops on itself. */
        CHECK(drv_negotiate(&d, F_ALL));
        for (unsigned k = 0; k < 4; k++)
            CHECK(drv_queue(&d, k, 128));
        drv_ok(&d);
        ack_irq(&d);
        CHECK(!needs_reset(&d));
        uint64_t b = galloc(&d, 64);
        put_desc(&d, q, 0, b, 16, D_NEXT | (q == 3 ? D_WRITE : 0), 1);
        put_desc(&d, q, 1, b, 16, D_NEXT | (q == 3 ? D_WRITE : 0), 0);
        drv_avail(&d, q, 0);
        drv_kick(&d, q);
        CHECK(needs_reset(&d));
        /* A head index past the ring. */
        CHECK(drv_negotiate(&d, F_ALL));
        for (unsigned k = 0; k < 4; k++)
            CHECK(drv_queue(&d, k, 128));
        drv_ok(&d);
        ack_irq(&d);
        drv_avail(&d, q, 500);
        drv_kick(&d, q);
        CHECK(needs_reset(&d));
        /* While NEEDS_RESET, set_target and info are still safe. */
        virtio_balloon_set_target(d.vm, 10);
        info(&d);
        drv_close(&d);
    }
    /* Rings placed outside RAM: the queue is refused. */
    CHECK(bal_open(&d, F_ALL));
    if (!d.vm)
        return;
    wreg(&d, R_STATUS, 0);
    CHECK(drv_negotiate(&d, F_ALL));
    CHECK(!drv_queue_at(&d, 0, 128, RAM_BASE + RAM_SIZE, RAM_BASE, RAM_BASE + 0x8000));
    CHECK(needs_reset(&d));
    /* Notifying queues that do not exist or are not ready does nothing. */
    drv_kick(&d, 7);
    drv_kick(&d, 1);
    drv_close(&d);
}

/* A stats buffer held across a driver reset is forgotten, not returned
 * into the new driver's ring. */
static void balloon_stats_reset(void)
{
    struct drv d;
    CHECK(bal_open(&d, F_ALL));
    if (!d.vm)
        return;
    uint64_t buf = galloc(&d, 128);
    put_stats(&d, buf, 0);
    put_desc(&d, 2, 0, buf, 70, 0, 0);
    drv_avail(&d, 2, 0);
    drv_kick(&d, 2);
    CHECK(drv_negotiate(&d, F_ALL));
    for (unsigned k = 0; k < 4; k++)
        CHECK(drv_queue(&d, k, 128));
    drv_ok(&d);
    info(&d);
    CHECK_EQ(used_idx(&d, 2), 0);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

int main(void)
{
    RUN(balloon_features_and_layout);
    RUN(balloon_inflate_deflate);
    RUN(balloon_ignores_garbage_pfns);
    RUN(balloon_stats);
    RUN(balloon_reporting);
    RUN(balloon_target);
    RUN(balloon_hostile_rings);
    RUN(balloon_stats_reset);
    T_EXIT();
}

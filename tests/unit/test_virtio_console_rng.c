/* virtio-rng and virtio-console. */
#include "t.h"
#include "virtio_drv.h"

#include <pthread.h>
#include <time.h>

/* ---- rng ---- */

static bool rng_open(struct drv *d)
{
    struct disco_err err;
    if (drv_open(d))
        return false;
    d->vm = virtio_rng_new(&d->host, &err);
    if (!d->vm) {
        pmap_free(d->pm);
        return false;
    }
    bool ok = drv_negotiate(d, F_VERSION_1 | F_INDIRECT) && drv_queue(d, 0, 64);
    drv_ok(d);
    return ok;
}

static unsigned count_zero(const uint8_t *b, size_t n)
{
    unsigned z = 0;
    for (size_t i = 0; i < n; i++)
        z += b[i] == 0;
    return z;
}

static void rng_fills_buffers(void)
{
    struct drv d;
    CHECK(rng_open(&d));
    if (!d.vm)
        return;
    CHECK_EQ(rreg(&d, R_DEVICE_ID), 4);
    /* Two writable segments, the first crossing a page. */
    uint64_t a = HEAP_BASE + 0x1000 - 100, b = HEAP_BASE + 0x8000;
    CHECK_EQ(pmap_fill(d.pm, a, 0, 300), 0);
    CHECK_EQ(pmap_fill(d.pm, b, 0, 1000), 0);
    put_desc(&d, 0, 0, a, 300, D_WRITE | D_NEXT, 1);
    put_desc(&d, 0, 1, b, 700, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    uint32_t id = 9, len = 0;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 1000);
    uint8_t buf[1000];
    CHECK_EQ(pmap_read(d.pm, a, buf, 300), 0);
    CHECK_EQ(pmap_read(d.pm, b, buf + 300, 700), 0);
    CHECK(count_zero(buf, 1000) < 20);    /* ~4 expected from random bytes */
    uint8_t after[300];
    CHECK_EQ(pmap_read(d.pm, b + 700, after, 300), 0);
    CHECK_EQ(count_zero(after, 300), 300);  /* nothing past the buffer */
    CHECK(d.irq.level);
    /* A second request gets different bytes. */
    uint64_t c = HEAP_BASE + 0x9000;
    put_desc(&d, 0, 2, c, 64, D_WRITE, 0);
    drv_avail(&d, 0, 2);
    drv_kick(&d, 0);
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(len, 64);
    uint8_t c64[64];
    CHECK_EQ(pmap_read(d.pm, c, c64, 64), 0);
    CHECK(memcmp(c64, buf, 64) != 0);
    /* Read-only buffers get nothing (used length 0), no error. */
    put_desc(&d, 0, 3, c, 64, 0, 0);
    drv_avail(&d, 0, 3);
    drv_kick(&d, 0);
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(len, 0);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

static void rng_bad_buffer_needs_reset(void)
{
    struct drv d;
    CHECK(rng_open(&d));
    if (!d.vm)
        return;
    put_desc(&d, 0, 0, RAM_BASE + RAM_SIZE, 64, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK(needs_reset(&d));
    CHECK_EQ(used_idx(&d, 0), 0);
    drv_close(&d);
}

/* ---- console ---- */

struct sink {
    uint8_t buf[8192];
    size_t len;     /* bytes kept in buf */
    size_t total;   /* bytes seen */
    int calls;
};

static void sink_fn(void *ctx, const uint8_t *buf, size_t len)
{
    struct sink *s = ctx;
    s->calls++;
    s->total += len;
    if (len > sizeof s->buf - s->len)
        len = sizeof s->buf - s->len;
    memcpy(s->buf + s->len, buf, len);
    s->len += len;
}

static bool cons_open(struct drv *d, struct sink *s)
{
    struct disco_err err;
    memset(s, 0, sizeof *s);
    if (drv_open(d))
        return false;
    d->vm = virtio_console_new(&d->host, sink_fn, s, &err);
    if (!d->vm) {
        pmap_free(d->pm);
        return false;
    }
    bool ok = drv_negotiate(d, F_VERSION_1 | F_EVENT_IDX) && drv_queue(d, 0, 32) &&
              drv_queue(d, 1, 32);
    drv_ok(d);
    return ok;
}

static void console_tx_reaches_sink(void)
{
    struct drv d;
    struct sink s;
    CHECK(cons_open(&d, &s));
    if (!d.vm)
        return;
    CHECK_EQ(rreg(&d, R_DEVICE_ID), 3);
    CHECK_EQ(dev_features(&d) & 0xffffff, 0);   /* no SIZE, MULTIPORT, EMERG_WRITE */
    uint64_t a = HEAP_BASE + 0x2000 - 3, b = galloc(&d, 16);
    CHECK_EQ(pmap_write(d.pm, a, "Hello, ", 7), 0);
    CHECK_EQ(pmap_write(d.pm, b, "world!\n", 7), 0);
    put_desc(&d, 1, 0, a, 7, D_NEXT, 1);
    put_desc(&d, 1, 1, b, 7, 0, 0);
    drv_avail(&d, 1, 0);
    drv_kick(&d, 1);
    uint32_t id = 9, len = 9;
    CHECK(drv_used(&d, 1, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 0);
    CHECK_EQ(s.len, 14);
    CHECK(memcmp(s.buf, "Hello, world!\n", 14) == 0);
    /* Output larger than the device's chunk size arrives whole, in order. */
    uint64_t big = galloc(&d, 5000);
    uint8_t pat[5000];
    for (int i = 0; i < 5000; i++)
        pat[i] = (uint8_t)('a' + i % 26);
    CHECK_EQ(pmap_write(d.pm, big, pat, 5000), 0);
    put_desc(&d, 1, 2, big, 5000, 0, 0);
    drv_avail(&d, 1, 2);
    drv_kick(&d, 1);
    CHECK(drv_used(&d, 1, &id, &len));
    CHECK_EQ(s.len, 14 + 5000);
    CHECK(memcmp(s.buf + 14, pat, 5000) == 0);
    /* Kicking the receiveq sends nothing out. */
    int calls = s.calls;
    drv_kick(&d, 0);
    CHECK_EQ(s.calls, calls);
    drv_close(&d);
}

static void console_rx_delivers_input(void)
{
    struct drv d;
    struct sink s;
    CHECK(cons_open(&d, &s));
    if (!d.vm)
        return;
    const uint8_t msg[] = "abcdefghij";
    /* No receive buffers posted yet: nothing accepted. */
    CHECK_EQ(virtio_console_input(d.vm, msg, 10), 0);
    CHECK(!d.irq.level);
    uint64_t r1 = galloc(&d, 4), r2 = galloc(&d, 4);
    put_desc(&d, 0, 0, r1, 4, D_WRITE, 0);
    put_desc(&d, 0, 1, r2, 4, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_avail(&d, 0, 1);
    drv_kick(&d, 0);
    CHECK_EQ(used_idx(&d, 0), 0);   /* buffers wait for input */
    /* 10 bytes, 8 bytes of room: 8 accepted, the caller keeps the rest. */
    CHECK_EQ(virtio_console_input(d.vm, msg, 10), 8);
    uint32_t id = 9, len = 0;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 4);
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 1);
    CHECK_EQ(len, 4);
    uint8_t got[8];
    CHECK_EQ(pmap_read(d.pm, r1, got, 4), 0);
    CHECK_EQ(pmap_read(d.pm, r2, got + 4, 4), 0);
    CHECK(memcmp(got, "abcdefgh", 8) == 0);
    CHECK(d.irq.level);
    CHECK_EQ(rreg(&d, R_INT_STATUS), 1);
    ack_irq(&d);
    CHECK_EQ(virtio_console_input(d.vm, msg + 8, 2), 0);
    /* A buffer bigger than the input takes a short write. */
    drv_want_irq(&d, 0);
    uint64_t r3 = galloc(&d, 64);
    put_desc(&d, 0, 2, r3, 64, D_WRITE, 0);
    drv_avail(&d, 0, 2);
    CHECK_EQ(virtio_console_input(d.vm, msg + 8, 2), 2);
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 2);
    CHECK_EQ(len, 2);
    CHECK_EQ(pmap_read(d.pm, r3, got, 2), 0);
    CHECK(memcmp(got, "ij", 2) == 0);
    CHECK(d.irq.level);
    CHECK_EQ(s.len, 0);
    /* Input to a reset device is refused, not lost silently. */
    wreg(&d, R_STATUS, 0);
    put_desc(&d, 0, 3, r3, 64, D_WRITE, 0);
    drv_avail(&d, 0, 3);
    CHECK_EQ(virtio_console_input(d.vm, msg, 3), 0);
    drv_close(&d);
}

static void console_rx_bad_buffer(void)
{
    struct drv d;
    struct sink s;
    CHECK(cons_open(&d, &s));
    if (!d.vm)
        return;
    put_desc(&d, 0, 0, 0xfffffffffffff000ull, 0x2000, D_WRITE, 0);  /* wraps */
    drv_avail(&d, 0, 0);
    CHECK_EQ(virtio_console_input(d.vm, (const uint8_t *)"x", 1), 0);
    CHECK(needs_reset(&d));
    drv_close(&d);
}

/* Input from another thread while this one drives the MMIO registers; run
 * under the sanitizer build (and meaningful under TSan) to check locking. */
struct feeder {
    struct virtio_mmio *vm;
    _Atomic size_t total;
    _Atomic int stop;
};

static void *feeder_main(void *arg)
{
    struct feeder *f = arg;
    const uint8_t byte = 'z';
    while (!f->stop && f->total < 2000)
        f->total += virtio_console_input(f->vm, &byte, 1);
    return NULL;
}

static void console_concurrent_input(void)
{
    struct drv d;
    struct sink s;
    CHECK(cons_open(&d, &s));
    if (!d.vm)
        return;
    struct feeder f = { d.vm, 0, 0 };
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, feeder_main, &f), 0);
    uint64_t rb = galloc(&d, 32 * 8);
    for (uint16_t i = 0; i < 32; i++)
        put_desc(&d, 0, i, rb + 8ull * i, 8, D_WRITE, 0);
    uint64_t tx = galloc(&d, 4);
    CHECK_EQ(pmap_write(d.pm, tx, "out!", 4), 0);
    put_desc(&d, 1, 0, tx, 4, 0, 0);
    size_t received = 0;
    unsigned txs = 0;
    time_t deadline = time(NULL) + 20;
    for (long iter = 0; received < 2000 && (iter % 1024 || time(NULL) < deadline); iter++) {
        /* Recycle consumed rx buffers; keep some output flowing. */
        uint32_t id, len;
        while (drv_used(&d, 0, &id, &len)) {
            received += len;
            drv_avail(&d, 0, (uint16_t)id);
        }
        if (iter < 32)
            drv_avail(&d, 0, (uint16_t)iter);
        if (iter % 16 == 0) {
            drv_avail(&d, 1, 0);
            drv_kick(&d, 1);
            while (drv_used(&d, 1, &id, &len))
                txs++;
        }
        drv_kick(&d, 0);
        ack_irq(&d);
    }
    f.stop = 1;
    pthread_join(th, NULL);
    uint32_t id, len;
    while (drv_used(&d, 0, &id, &len))
        received += len;
    CHECK_EQ(received, f.total);
    CHECK_EQ(f.total, 2000);
    CHECK(txs > 0);
    CHECK_EQ(s.total, 4 * txs);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

int main(void)
{
    RUN(rng_fills_buffers);
    RUN(rng_bad_buffer_needs_reset);
    RUN(console_tx_reaches_sink);
    RUN(console_rx_delivers_input);
    RUN(console_rx_bad_buffer);
    RUN(console_concurrent_input);
    T_EXIT();
}

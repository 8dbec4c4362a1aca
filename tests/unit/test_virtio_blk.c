/* virtio-blk against a temporary raw image. */
#include "t.h"
#include "virtio_drv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define NSECT 64u
/* The device's advertised per-request limits (blk.c). */
#define SIZE_MAX_ADV (32u * 1024)
#define SEG_MAX_ADV 128u
#define REQ_MAX (4u << 20)

static char img_path[64];

/* (Re)write the NSECT-sector image; sector s is filled with (s * 7 + 1). */
static int fill_image(void)
{
    int fd = open(img_path, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return -1;
    uint8_t sec[512];
    for (unsigned s = 0; s < NSECT; s++) {
        memset(sec, (int)(s * 7 + 1), sizeof sec);
        if (write(fd, sec, sizeof sec) != (ssize_t)sizeof sec) {
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 0;
}

static int make_image(void)
{
    strcpy(img_path, "/tmp/disco-blk-XXXXXX");
    int fd = mkstemp(img_path);
    if (fd < 0)
        return -1;
    close(fd);
    return fill_image();
}

static bool blk_open(struct drv *d, bool ro, uint64_t features)
{
    struct disco_err err;
    if (fill_image() || drv_open(d))
        return false;
    d->vm = virtio_blk_new(&d->host, img_path, ro, &err);
    if (!d->vm) {
        printf("  virtio_blk_new: %s\n", err.msg);
        pmap_free(d->pm);
        return false;
    }
    bool ok = drv_negotiate(d, features) && drv_queue(d, 0, 128);
    drv_ok(d);
    return ok;
}

static uint8_t file_byte(uint64_t off)
{
    uint8_t b = 0xee;
    int fd = open(img_path, O_RDONLY);
    if (fd >= 0) {
        if (pread(fd, &b, 1, (off_t)off) != 1)
            b = 0xee;
        close(fd);
    }
    return b;
}

struct blk_res {
    bool used;
    uint32_t len;
    uint8_t status;
};

/* One request: header, data (device-writable unless OUT), status byte, as
 * three direct descriptors; data split in two at `split` bytes if nonzero. */
static struct blk_res blk_req(struct drv *d, uint32_t type, uint64_t sector, uint64_t data,
                              uint32_t len, uint32_t split)
{
    struct blk_res r = { false, 0, 0xff };
    uint64_t hdr = galloc(d, 16), st = galloc(d, 1);
    uint8_t h[16] = { 0 };
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    CHECK_EQ(pmap_write(d->pm, hdr, h, 16), 0);
    CHECK_EQ(pmap_write(d->pm, st, &r.status, 1), 0);
    uint16_t dflag = type == T_OUT ? 0 : D_WRITE;
    uint16_t i = 0;
    put_desc(d, 0, i, hdr, 16, D_NEXT, (uint16_t)(i + 1));
    i++;
    if (len && split && split < len) {
        put_desc(d, 0, i, data, split, dflag | D_NEXT, (uint16_t)(i + 1));
        i++;
        put_desc(d, 0, i, data + split, len - split, dflag | D_NEXT, (uint16_t)(i + 1));
        i++;
    } else if (len) {
        put_desc(d, 0, i, data, len, dflag | D_NEXT, (uint16_t)(i + 1));
        i++;
    }
    put_desc(d, 0, i, st, 1, D_WRITE, 0);
    drv_avail(d, 0, 0);
    drv_kick(d, 0);
    uint32_t id = 0;
    r.used = drv_used(d, 0, &id, &r.len);
    CHECK_EQ(pmap_read(d->pm, st, &r.status, 1), 0);
    return r;
}

static void blk_config_and_features(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    CHECK_EQ(rreg(&d, R_DEVICE_ID), 2);
    uint64_t f = dev_features(&d);
    CHECK(f & (1u << 1));   /* SIZE_MAX */
    CHECK(f & (1u << 2));   /* SEG_MAX */
    CHECK(f & (1u << 6));   /* BLK_SIZE */
    CHECK(f & (1u << 9));   /* FLUSH */
    CHECK(!(f & (1u << 5))); /* not RO */
    uint64_t v = 0;
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG, 8, &v), 0);
    CHECK_EQ(v, NSECT);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 0x08, 4, &v), 0);   /* size_max */
    CHECK_EQ(v, SIZE_MAX_ADV);
    uint64_t size_max = v;
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 0x0c, 4, &v), 0);   /* seg_max */
    CHECK_EQ(v, SEG_MAX_ADV);
    /* Linux's largest request: seg_max segments of size_max bytes. */
    CHECK(v * size_max <= REQ_MAX);
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG + 0x14, 4, &v), 0);
    CHECK_EQ(v, 512);
    drv_close(&d);
}

static void blk_write_read_roundtrip(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    /* Three sectors at sector 5, the data split across a page boundary. */
    uint64_t wbuf = HEAP_BASE + 0x10000 - 700, rbuf = HEAP_BASE + 0x20000 - 100;
    uint8_t pat[1536], got[1536];
    for (unsigned i = 0; i < sizeof pat; i++)
        pat[i] = (uint8_t)(i * 13 + 5);
    CHECK_EQ(pmap_write(d.pm, wbuf, pat, sizeof pat), 0);
    struct blk_res r = blk_req(&d, T_OUT, 5, wbuf, sizeof pat, 1000);
    CHECK(r.used);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, 1);
    for (unsigned i = 0; i < sizeof pat; i += 97)
        CHECK_EQ(file_byte(5 * 512 + i), pat[i]);
    CHECK_EQ(file_byte(5 * 512 - 1), 4 * 7 + 1);        /* neighbours intact */
    CHECK_EQ(file_byte(8 * 512), 8 * 7 + 1);
    r = blk_req(&d, T_IN, 5, rbuf, sizeof pat, 512);
    CHECK(r.used);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, sizeof pat + 1);
    CHECK_EQ(pmap_read(d.pm, rbuf, got, sizeof got), 0);
    CHECK(memcmp(got, pat, sizeof pat) == 0);
    /* An untouched sector reads back its original content. */
    r = blk_req(&d, T_IN, 63, rbuf, 512, 0);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(pmap_read(d.pm, rbuf + 511, got, 1), 0);
    CHECK_EQ(got[0], (uint8_t)(63 * 7 + 1));
    CHECK(d.irq.level);
    drv_close(&d);
}

/* The whole disk (32 KiB) written and read back through an indirect table
 * of 16 data segments of 2 KiB, scattered 4 KiB apart in guest memory. */
static void blk_indirect_whole_disk(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1 | F_INDIRECT));
    if (!d.vm)
        return;
    uint64_t tbl = galloc(&d, 16 * 20), hdr = galloc(&d, 16), st = galloc(&d, 1);
    uint64_t data = HEAP_BASE + 0x40000;
    uint8_t *pat = malloc(NSECT * 512), *got = malloc(NSECT * 512);
    CHECK(pat && got);
    if (!pat || !got) {
        free(pat);
        free(got);
        drv_close(&d);
        return;
    }
    for (unsigned i = 0; i < NSECT * 512; i++)
        pat[i] = (uint8_t)(i ^ (i >> 8) ^ 0x33);
    for (unsigned k = 0; k < 16; k++)
        CHECK_EQ(pmap_write(d.pm, data + k * 4096ull, pat + k * 2048, 2048), 0);
    for (int pass = 0; pass < 2; pass++) {
        uint32_t type = pass == 0 ? T_OUT : T_IN;
        uint8_t h[16] = { 0 };
        memcpy(h, &type, 4);
        CHECK_EQ(pmap_write(d.pm, hdr, h, 16), 0);
        if (pass == 1)
            for (unsigned k = 0; k < 16; k++)
                CHECK_EQ(pmap_fill(d.pm, data + k * 4096ull, 0, 2048), 0);
        put_desc_at(&d, tbl, 0, hdr, 16, D_NEXT, 1);
        for (unsigned k = 0; k < 16; k++)
            put_desc_at(&d, tbl, (uint16_t)(k + 1), data + k * 4096ull, 2048,
                        (pass ? D_WRITE : 0) | D_NEXT, (uint16_t)(k + 2));
        put_desc_at(&d, tbl, 17, st, 1, D_WRITE, 0);
        put_desc(&d, 0, 9, tbl, 18 * 16, D_INDIRECT, 0);
        drv_avail(&d, 0, 9);
        drv_kick(&d, 0);
        uint32_t id = 0, len = 0;
        CHECK(drv_used(&d, 0, &id, &len));
        CHECK_EQ(id, 9);
        CHECK_EQ(len, pass ? NSECT * 512 + 1 : 1);
        uint8_t s = 0xff;
        CHECK_EQ(pmap_read(d.pm, st, &s, 1), 0);
        CHECK_EQ(s, S_OK);
    }
    for (unsigned k = 0; k < 16; k++)
        CHECK_EQ(pmap_read(d.pm, data + k * 4096ull, got + k * 2048, 2048), 0);
    CHECK(memcmp(got, pat, NSECT * 512) == 0);
    CHECK_EQ(file_byte(12345), pat[12345]);
    free(pat);
    free(got);
    drv_close(&d);
}

/* A 200 KiB request, bigger than the 64 KiB bounce buffer (on a temporarily
 * grown image). */
static void blk_request_larger_than_bounce(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    /* Reopen on a grown image: 1024 sectors. */
    virtio_mmio_free(d.vm);
    d.vm = NULL;
    int fd = open(img_path, O_RDWR);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_EQ(ftruncate(fd, 512 * 1024), 0);
        close(fd);
    }
    struct disco_err err;
    d.vm = virtio_blk_new(&d.host, img_path, false, &err);
    CHECK(d.vm != NULL);
    if (!d.vm) {
        drv_close(&d);
        return;
    }
    CHECK(drv_negotiate(&d, F_VERSION_1));
    CHECK(drv_queue(&d, 0, 128));
    drv_ok(&d);
    uint64_t cap = 0;
    CHECK_EQ(virtio_mmio_ops.read(d.vm, R_CONFIG, 8, &cap), 0);
    CHECK_EQ(cap, 1024);
    const uint32_t len = 200 * 1024;
    uint8_t *pat = malloc(len), *got = malloc(len);
    if (pat && got) {
        for (uint32_t i = 0; i < len; i++)
            pat[i] = (uint8_t)((i * 31) >> 3);
        uint64_t buf = HEAP_BASE + 0x100000;
        CHECK_EQ(pmap_write(d.pm, buf, pat, len), 0);
        struct blk_res r = blk_req(&d, T_OUT, 100, buf, len, 70000);
        CHECK_EQ(r.status, S_OK);
        CHECK_EQ(pmap_fill(d.pm, buf, 0, len), 0);
        r = blk_req(&d, T_IN, 100, buf, len, 130000);
        CHECK_EQ(r.status, S_OK);
        CHECK_EQ(r.len, len + 1);
        CHECK_EQ(pmap_read(d.pm, buf, got, len), 0);
        CHECK(memcmp(got, pat, len) == 0);
        CHECK_EQ(file_byte(100 * 512 + 150000), pat[150000]);
    }
    free(pat);
    free(got);
    drv_close(&d);
}

static void blk_flush_get_id_unsupported(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    struct blk_res r = blk_req(&d, T_FLUSH, 0, 0, 0, 0);
    CHECK(r.used);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, 1);
    uint64_t idb = galloc(&d, 20);
    CHECK_EQ(pmap_fill(d.pm, idb, 0xaa, 20), 0);
    r = blk_req(&d, T_GET_ID, 0, idb, 20, 0);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, 21);
    char id[20];
    CHECK_EQ(pmap_read(d.pm, idb, id, 20), 0);
    CHECK(memcmp(id, "disco", 5) == 0);
    CHECK_EQ(id[5], 0);
    CHECK_EQ(id[19], 0);
    /* A short ID buffer gets a truncated ID. */
    uint64_t idc = galloc(&d, 3);
    CHECK_EQ(pmap_fill(d.pm, idc, 0xaa, 4), 0);
    r = blk_req(&d, T_GET_ID, 0, idc, 3, 0);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, 4);
    CHECK_EQ(pmap_read(d.pm, idc, id, 3), 0);
    CHECK(memcmp(id, "dis", 3) == 0);
    /* Unknown request types. */
    r = blk_req(&d, 11 /* DISCARD, not offered */, 0, 0, 0, 0);
    CHECK(r.used);
    CHECK_EQ(r.status, S_UNSUPP);
    CHECK_EQ(r.len, 1);
    r = blk_req(&d, 0xdeadbeef, 0, 0, 0, 0);
    CHECK_EQ(r.status, S_UNSUPP);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

static void blk_out_of_range(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    uint64_t buf = galloc(&d, 1024);
    struct blk_res r;
    r = blk_req(&d, T_IN, NSECT, buf, 512, 0);            /* just past the end */
    CHECK(r.used);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(r.len, 1);
    r = blk_req(&d, T_IN, NSECT - 1, buf, 1024, 0);       /* crosses the end */
    CHECK_EQ(r.status, S_IOERR);
    r = blk_req(&d, T_IN, NSECT - 1, buf, 512, 0);        /* last sector: fine */
    CHECK_EQ(r.status, S_OK);
    r = blk_req(&d, T_IN, 0xffffffffffffffffull, buf, 512, 0);  /* sector*512 wraps */
    CHECK_EQ(r.status, S_IOERR);
    r = blk_req(&d, T_IN, 1ull << 55, buf, 512, 0);
    CHECK_EQ(r.status, S_IOERR);
    r = blk_req(&d, T_IN, 0, buf, 100, 0);                /* not whole sectors */
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(pmap_fill(d.pm, buf, 0x77, 1024), 0);
    r = blk_req(&d, T_OUT, NSECT - 1, buf, 1024, 0);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(file_byte((NSECT - 1) * 512), (uint8_t)((NSECT - 1) * 7 + 1));
    struct stat stt;
    CHECK_EQ(stat(img_path, &stt), 0);
    CHECK_EQ(stt.st_size, NSECT * 512);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

static void blk_readonly(void)
{
    struct drv d;
    CHECK(blk_open(&d, true, F_VERSION_1 | (1ull << 5)));
    if (!d.vm)
        return;
    CHECK(dev_features(&d) & (1u << 5));
    uint64_t buf = galloc(&d, 512);
    CHECK_EQ(pmap_fill(d.pm, buf, 0x99, 512), 0);
    struct blk_res r = blk_req(&d, T_OUT, 2, buf, 512, 0);
    CHECK(r.used);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(file_byte(2 * 512), 2 * 7 + 1);
    r = blk_req(&d, T_IN, 3, buf, 512, 0);
    CHECK_EQ(r.status, S_OK);
    uint8_t b = 0;
    CHECK_EQ(pmap_read(d.pm, buf + 100, &b, 1), 0);
    CHECK_EQ(b, 3 * 7 + 1);
    r = blk_req(&d, T_FLUSH, 0, 0, 0, 0);
    CHECK_EQ(r.status, S_OK);
    drv_close(&d);
}

static void blk_open_errors(void)
{
    struct drv d;
    struct disco_err err;
    CHECK_EQ(drv_open(&d), 0);
    err_clear(&err);
    const char *missing = "/tmp/disco-no-such-image.raw";
    CHECK(virtio_blk_new(&d.host, missing, false, &err) == NULL);
    CHECK(strstr(err.msg, missing) != NULL);
    CHECK(err.code < 0);
    err_clear(&err);
    CHECK(virtio_blk_new(&d.host, "/tmp", true, &err) == NULL);
    CHECK(strstr(err.msg, "/tmp") != NULL);
    CHECK(strstr(err.msg, "regular file") != NULL);
    err_clear(&err);
    CHECK(virtio_blk_new(&d.host, "", true, &err) == NULL);
    CHECK(err.msg[0] != '\0');
    pmap_free(d.pm);
}

static void blk_malformed_requests(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    /* Header only: no status byte to report into. */
    uint64_t hdr = galloc(&d, 16);
    CHECK_EQ(pmap_fill(d.pm, hdr, 0, 16), 0);
    put_desc(&d, 0, 0, hdr, 16, 0, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK(needs_reset(&d));
    CHECK_EQ(used_idx(&d, 0), 0);
    /* Short header. */
    CHECK(drv_negotiate(&d, F_VERSION_1));
    CHECK(drv_queue(&d, 0, 128));
    drv_ok(&d);
    CHECK(!needs_reset(&d));
    uint64_t st = galloc(&d, 1);
    put_desc(&d, 0, 0, hdr, 8, D_NEXT, 1);
    put_desc(&d, 0, 1, st, 1, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK(needs_reset(&d));
    /* Data buffer outside RAM. */
    CHECK(drv_negotiate(&d, F_VERSION_1));
    CHECK(drv_queue(&d, 0, 128));
    drv_ok(&d);
    put_desc(&d, 0, 0, hdr, 16, D_NEXT, 1);
    put_desc(&d, 0, 1, RAM_BASE + RAM_SIZE - 256, 512, D_WRITE | D_NEXT, 2);
    put_desc(&d, 0, 2, st, 1, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK(needs_reset(&d));
    drv_close(&d);
}

/* Deferred mode (the VMM's): a notify only kicks; virtio_mmio_serve does
 * the work and raises the interrupt. */
static void count_kick(void *ctx) { (*(int *)ctx)++; }

/* A FLUSH request (header + status) as chain `head` at descriptors
 * head, head + 1; returns the status byte's address. */
static uint64_t flush_chain(struct drv *d, uint16_t head)
{
    uint64_t hdr = galloc(d, 16), st = galloc(d, 1);
    uint8_t h[16] = { T_FLUSH };
    uint8_t ff = 0xff;
    CHECK_EQ(pmap_write(d->pm, hdr, h, 16), 0);
    CHECK_EQ(pmap_write(d->pm, st, &ff, 1), 0);
    put_desc(d, 0, head, hdr, 16, D_NEXT, (uint16_t)(head + 1));
    put_desc(d, 0, (uint16_t)(head + 1), st, 1, D_WRITE, 0);
    return st;
}

static void blk_deferred(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    int kicks = 0;
    virtio_mmio_set_kick(d.vm, count_kick, &kicks);
    virtio_mmio_serve(d.vm);                  /* nothing pending: no-op */
    CHECK_EQ(kicks, 0);
    uint64_t buf = galloc(&d, 512);
    uint64_t hdr = galloc(&d, 16), st = galloc(&d, 1);
    uint8_t h[16] = { T_IN };
    h[8] = 9;                                 /* sector 9 */
    CHECK_EQ(pmap_write(d.pm, hdr, h, 16), 0);
    CHECK_EQ(pmap_fill(d.pm, st, 0xff, 1), 0);
    put_desc(&d, 0, 0, hdr, 16, D_NEXT, 1);
    put_desc(&d, 0, 1, buf, 512, D_WRITE | D_NEXT, 2);
    put_desc(&d, 0, 2, st, 1, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(kicks, 1);
    CHECK_EQ(used_idx(&d, 0), 0);             /* not processed yet */
    CHECK(!d.irq.level);
    drv_kick(&d, 0);                          /* already pending: no second kick */
    CHECK_EQ(kicks, 1);
    virtio_mmio_serve(d.vm);
    uint32_t id = 99, len = 0;
    CHECK(drv_used(&d, 0, &id, &len));
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 513);
    uint8_t b = 0;
    CHECK_EQ(pmap_read(d.pm, st, &b, 1), 0);
    CHECK_EQ(b, S_OK);
    CHECK_EQ(pmap_read(d.pm, buf + 17, &b, 1), 0);
    CHECK_EQ(b, 9 * 7 + 1);
    CHECK(d.irq.level);
    ack_irq(&d);
    virtio_mmio_serve(d.vm);                  /* served: nothing more */
    CHECK(!d.irq.level);

    /* A device reset drops what is pending: a re-initialised queue starts
     * empty, and serving finds nothing. */
    put_desc(&d, 0, 0, hdr, 16, D_NEXT, 1);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(kicks, 2);
    wreg(&d, R_STATUS, 0);
    virtio_mmio_serve(d.vm);
    CHECK(!d.irq.level);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));

    /* Chains queued before DRIVER_OK are picked up then, deferred too. */
    CHECK(drv_negotiate(&d, F_VERSION_1));
    CHECK(drv_queue(&d, 0, 128));
    uint64_t st1 = flush_chain(&d, 0);
    drv_avail(&d, 0, 0);
    drv_ok(&d);
    CHECK_EQ(kicks, 3);
    CHECK_EQ(used_idx(&d, 0), 0);
    virtio_mmio_serve(d.vm);
    CHECK_EQ(used_idx(&d, 0), 1);
    CHECK_EQ(pmap_read(d.pm, st1, &b, 1), 0);
    CHECK_EQ(b, S_OK);
    ack_irq(&d);

    /* DRIVER_OK with nothing queued kicks nothing: a serve after it would
     * take chains the driver made available but has not notified yet (and
     * may still be editing). */
    wreg(&d, R_STATUS, 0);
    CHECK(drv_negotiate(&d, F_VERSION_1));
    CHECK(drv_queue(&d, 0, 128));
    drv_ok(&d);
    CHECK_EQ(kicks, 3);

    /* A wild descriptor is found (and the device needs reset) only when
     * served, and never touches host memory. */
    put_desc(&d, 0, 0, hdr, 16, D_NEXT, 1);
    put_desc(&d, 0, 1, RAM_BASE + RAM_SIZE - 256, 512, D_WRITE | D_NEXT, 2);
    put_desc(&d, 0, 2, st, 1, D_WRITE, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    virtio_mmio_serve(d.vm);
    CHECK(needs_reset(&d));
    drv_close(&d);
}

/* One serve takes a bounded number of chains and kicks again for the rest,
 * so a guest cannot keep the shared loop busy; clearing the hook falls back
 * to synchronous processing of what is pending. */
static void blk_deferred_budget(void)
{
    struct drv d;
    CHECK(blk_open(&d, false, F_VERSION_1));
    if (!d.vm)
        return;
    int kicks = 0;
    virtio_mmio_set_kick(d.vm, count_kick, &kicks);
    enum { N = 60 };   /* chains of 2 descriptors: 120 of 128 */
    uint64_t st[N];
    for (uint16_t i = 0; i < N; i++) {
        st[i] = flush_chain(&d, (uint16_t)(2 * i));
        drv_avail(&d, 0, (uint16_t)(2 * i));
    }
    drv_kick(&d, 0);
    CHECK_EQ(kicks, 1);
    virtio_mmio_serve(d.vm);
    /* N is below the budget: all done, no re-kick. */
    CHECK_EQ(used_idx(&d, 0), N);
    CHECK_EQ(kicks, 1);
    /* Now more than one budget's worth: refill and serve twice. */
    for (uint16_t round = 0; round < 2; round++)
        for (uint16_t i = 0; i < N; i++) {
            if (round == 1 && i == 30)
                break;
            drv_avail(&d, 0, (uint16_t)(2 * i));
        }
    /* 90 chains available (descriptors reused: the device does not care). */
    drv_kick(&d, 0);
    CHECK_EQ(kicks, 2);
    virtio_mmio_serve(d.vm);
    uint16_t after1 = used_idx(&d, 0);
    CHECK(after1 > N && after1 < N + 90);
    CHECK_EQ(kicks, 3);                       /* cut short: kicked again */
    virtio_mmio_serve(d.vm);
    CHECK_EQ(used_idx(&d, 0), N + 90);
    CHECK_EQ(kicks, 3);
    uint8_t b = 0xff;
    CHECK_EQ(pmap_read(d.pm, st[N - 1], &b, 1), 0);
    CHECK_EQ(b, S_OK);

    /* Pending when the hook goes away: processed there and then. */
    flush_chain(&d, 0);
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(kicks, 4);
    CHECK_EQ(used_idx(&d, 0), N + 90);
    virtio_mmio_set_kick(d.vm, NULL, NULL);
    CHECK_EQ(used_idx(&d, 0), N + 91);
    /* And synchronous from now on. */
    drv_avail(&d, 0, 0);
    drv_kick(&d, 0);
    CHECK_EQ(used_idx(&d, 0), N + 92);
    CHECK_EQ(kicks, 4);
    drv_close(&d);
}

/* Like blk_open, on the image grown (sparsely) to `bytes`, with a queue of
 * `qsize`. */
static bool blk_open_big(struct drv *d, uint64_t features, uint64_t bytes, uint16_t qsize)
{
    struct disco_err err;
    memset(d, 0, sizeof *d);
    if (fill_image() || truncate(img_path, (off_t)bytes) || drv_open(d))
        return false;
    d->vm = virtio_blk_new(&d->host, img_path, false, &err);
    if (!d->vm) {
        printf("  virtio_blk_new: %s\n", err.msg);
        pmap_free(d->pm);
        return false;
    }
    bool ok = drv_negotiate(d, features) && drv_queue(d, 0, qsize);
    drv_ok(d);
    return ok;
}

/* The whole image file (malloc'ed), or NULL. */
static uint8_t *file_all(size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    int fd = open(img_path, O_RDONLY);
    if (fd < 0)
        return NULL;
    if (!fstat(fd, &st) && (buf = malloc((size_t)st.st_size + 1))) {
        if (pread(fd, buf, (size_t)st.st_size, 0) == (ssize_t)st.st_size) {
            *len = (size_t)st.st_size;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    return buf;
}

/* A request through an indirect table (descriptor 0 of the ring): header,
 * `nseg` data segments of 512 bytes at `data` (consecutive, but separate
 * descriptors), status. */
static struct blk_res seg_req(struct drv *d, uint32_t type, uint64_t sector, uint64_t data,
                              unsigned nseg)
{
    struct blk_res r = { false, 0, 0xff };
    uint64_t tbl = galloc(d, 16ull * (nseg + 2)), hdr = galloc(d, 16), st = galloc(d, 1);
    uint8_t h[16] = { 0 };
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    CHECK_EQ(pmap_write(d->pm, hdr, h, 16), 0);
    CHECK_EQ(pmap_write(d->pm, st, &r.status, 1), 0);
    uint16_t dflag = type == T_OUT ? 0 : D_WRITE;
    put_desc_at(d, tbl, 0, hdr, 16, D_NEXT, 1);
    for (unsigned k = 0; k < nseg; k++)
        put_desc_at(d, tbl, (uint16_t)(k + 1), data + 512ull * k, 512, dflag | D_NEXT,
                    (uint16_t)(k + 2));
    put_desc_at(d, tbl, (uint16_t)(nseg + 1), st, 1, D_WRITE, 0);
    put_desc(d, 0, 0, tbl, 16 * (nseg + 2), D_INDIRECT, 0);
    drv_avail(d, 0, 0);
    drv_kick(d, 0);
    uint32_t id = 0;
    r.used = drv_used(d, 0, &id, &r.len);
    CHECK_EQ(pmap_read(d->pm, st, &r.status, 1), 0);
    return r;
}

/* Requests over the advertised limits (more than REQ_MAX data bytes, or
 * more than seg_max data segments) fail with IOERR without touching the
 * disk or the guest's buffer; requests at the limits, and normal requests
 * afterwards, work. */
static void blk_request_limits(void)
{
    struct drv d;
    const uint64_t disk = 8u << 20;
    CHECK(blk_open_big(&d, F_VERSION_1 | F_INDIRECT, disk, 256));
    if (!d.vm)
        return;
    uint64_t buf = RAM_BASE + (8u << 20);   /* up to 4 MiB + 64 KiB: inside RAM */
    size_t flen = 0, alen = 0;
    uint8_t *before = file_all(&flen);
    CHECK(before != NULL);
    CHECK_EQ(flen, disk);
    uint8_t b = 0;

    /* 4 MiB + one sector: refused, as one descriptor or as two. */
    CHECK_EQ(pmap_fill(d.pm, buf, 0x5a, REQ_MAX + 512), 0);
    struct blk_res r = blk_req(&d, T_OUT, 0, buf, REQ_MAX + 512, 0);
    CHECK(r.used);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(r.len, 1);
    r = blk_req(&d, T_OUT, 1, buf, REQ_MAX + 512, REQ_MAX / 2);
    CHECK(r.used);
    CHECK_EQ(r.status, S_IOERR);
    r = blk_req(&d, T_IN, 0, buf, REQ_MAX + 512, 0);
    CHECK(r.used);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(pmap_read(d.pm, buf, &b, 1), 0);       /* sector 0 holds 1s */
    CHECK_EQ(b, 0x5a);
    CHECK_EQ(pmap_read(d.pm, buf + REQ_MAX + 511, &b, 1), 0);
    CHECK_EQ(b, 0x5a);
    /* seg_max + 1 data segments, though small: refused too. */
    r = seg_req(&d, T_OUT, 2, buf, SEG_MAX_ADV + 1);
    CHECK(r.used);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(r.len, 1);
    r = seg_req(&d, T_IN, 2, buf, SEG_MAX_ADV + 1);
    CHECK_EQ(r.status, S_IOERR);
    CHECK_EQ(r.len, 1);
    CHECK_EQ(pmap_read(d.pm, buf + 100, &b, 1), 0);
    CHECK_EQ(b, 0x5a);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    uint8_t *after = file_all(&alen);
    CHECK(after != NULL);
    CHECK_EQ(alen, flen);
    if (before && after && alen == flen)
        CHECK(memcmp(before, after, flen) == 0);
    free(before);
    free(after);

    /* Exactly at the limits: fine. seg_max segments of 512 bytes ... */
    r = seg_req(&d, T_OUT, 2, buf, SEG_MAX_ADV);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(file_byte(2 * 512), 0x5a);
    CHECK_EQ(file_byte((2 + SEG_MAX_ADV) * 512 - 1), 0x5a);
    CHECK_EQ(file_byte((2 + SEG_MAX_ADV) * 512), 0);  /* the grown, sparse part */
    CHECK_EQ(file_byte(1 * 512), 1 * 7 + 1);
    r = seg_req(&d, T_IN, 0, buf, SEG_MAX_ADV);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, SEG_MAX_ADV * 512 + 1);
    CHECK_EQ(pmap_read(d.pm, buf + 512 + 7, &b, 1), 0);
    CHECK_EQ(b, 1 * 7 + 1);
    /* ... and REQ_MAX bytes in one request. */
    CHECK_EQ(pmap_fill(d.pm, buf, 0xc3, REQ_MAX), 0);
    r = blk_req(&d, T_OUT, 4096, buf, REQ_MAX, 12345 * 2);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(file_byte(4096 * 512), 0xc3);
    CHECK_EQ(file_byte(4096 * 512 + REQ_MAX - 1), 0xc3);
    CHECK_EQ(pmap_fill(d.pm, buf, 0, REQ_MAX), 0);
    r = blk_req(&d, T_IN, 4096, buf, REQ_MAX, 0);
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(r.len, REQ_MAX + 1);
    CHECK_EQ(pmap_read(d.pm, buf + REQ_MAX - 1, &b, 1), 0);
    CHECK_EQ(b, 0xc3);
    /* And an ordinary request still works. */
    r = blk_req(&d, T_IN, 1, buf, 512, 0);         /* sector 1: never written */
    CHECK_EQ(r.status, S_OK);
    CHECK_EQ(pmap_read(d.pm, buf + 9, &b, 1), 0);
    CHECK_EQ(b, 1 * 7 + 1);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

/* A serve pass is bounded by bytes as well as by chains: eight 4 MiB reads
 * (far below the chain budget) take more than one pass, each cut-short
 * pass kicking again, and all complete. */
static void blk_deferred_byte_budget(void)
{
    struct drv d;
    CHECK(blk_open_big(&d, F_VERSION_1, 8u << 20, 128));
    if (!d.vm)
        return;
    int kicks = 0;
    virtio_mmio_set_kick(d.vm, count_kick, &kicks);
    enum { NB = 8 };
    uint64_t buf = RAM_BASE + (8u << 20);
    uint64_t st[NB];
    for (uint16_t i = 0; i < NB; i++) {
        uint64_t hdr = galloc(&d, 16);
        st[i] = galloc(&d, 1);
        uint8_t h[16] = { T_IN };
        uint64_t sector = (i & 1) * 8192ull;
        memcpy(h + 8, &sector, 8);
        CHECK_EQ(pmap_write(d.pm, hdr, h, 16), 0);
        CHECK_EQ(pmap_fill(d.pm, st[i], 0xff, 1), 0);
        put_desc(&d, 0, (uint16_t)(3 * i), hdr, 16, D_NEXT, (uint16_t)(3 * i + 1));
        put_desc(&d, 0, (uint16_t)(3 * i + 1), buf, REQ_MAX, D_WRITE | D_NEXT,
                 (uint16_t)(3 * i + 2));
        put_desc(&d, 0, (uint16_t)(3 * i + 2), st[i], 1, D_WRITE, 0);
        drv_avail(&d, 0, (uint16_t)(3 * i));
    }
    drv_kick(&d, 0);
    CHECK_EQ(kicks, 1);
    virtio_mmio_serve(d.vm);
    uint16_t after1 = used_idx(&d, 0);
    CHECK(after1 >= 1 && after1 < NB);
    CHECK_EQ(kicks, 2);                       /* cut short: kicked again */
    int passes = 1;
    while (used_idx(&d, 0) < NB && passes < 2 * NB) {
        int k = kicks;
        uint16_t u = used_idx(&d, 0);
        virtio_mmio_serve(d.vm);
        passes++;
        CHECK(used_idx(&d, 0) > u);
        if (used_idx(&d, 0) < NB)
            CHECK_EQ(kicks, k + 1);
    }
    CHECK_EQ(used_idx(&d, 0), NB);
    CHECK(passes >= 2 && passes < NB);
    for (unsigned i = 0; i < NB; i++) {
        uint32_t id = 99, len = 0;
        uint8_t b = 0xff;
        CHECK(drv_used(&d, 0, &id, &len));
        CHECK_EQ(id, 3 * i);
        CHECK_EQ(len, REQ_MAX + 1);
        CHECK_EQ(pmap_read(d.pm, st[i], &b, 1), 0);
        CHECK_EQ(b, S_OK);
    }
    /* Whatever is left pending finds an empty ring. */
    virtio_mmio_serve(d.vm);
    CHECK_EQ(used_idx(&d, 0), NB);
    CHECK(!(rreg(&d, R_STATUS) & S_NEEDS_RESET));
    drv_close(&d);
}

int main(void)
{
    if (make_image()) {
        printf("FAIL: setup: cannot create a temporary image\n");
        return 1;
    }
    RUN(blk_config_and_features);
    RUN(blk_write_read_roundtrip);
    RUN(blk_indirect_whole_disk);
    RUN(blk_request_larger_than_bounce);
    RUN(blk_flush_get_id_unsupported);
    RUN(blk_out_of_range);
    RUN(blk_readonly);
    RUN(blk_open_errors);
    RUN(blk_malformed_requests);
    RUN(blk_deferred);
    RUN(blk_deferred_budget);
    RUN(blk_request_limits);
    RUN(blk_deferred_byte_budget);
    unlink(img_path);
    T_EXIT();
}

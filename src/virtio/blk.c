/* virtio-blk (device ID 2) over a raw image file.
 *
 * With a kick hook (virtio_mmio_set_kick, the VMM sets one), a QueueNotify
 * only marks the queue pending, and the requests are processed by
 * virtio_mmio_serve on the VM's event loop, so a slow disk does not stall
 * the hart that wrote it. Without one (unit tests), they are processed
 * synchronously inside the QueueNotify write, under the device mutex.
 *
 * Data moves between the file and guest memory through a bounded bounce
 * buffer, so a request's size never decides how much host memory we use.
 *
 * A request's size does decide how long it keeps the (shared) loop busy, so
 * it is bounded too: the device advertises seg_max and size_max, which make
 * Linux build requests of at most BLK_SEG_MAX segments of at most
 * BLK_SIZE_MAX bytes each (BLK_REQ_MAX in all), and fails anything bigger
 * with VIRTIO_BLK_S_IOERR before touching the disk. */
#include "virtio/virtio_dev.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define BLK_SECTOR 512u
#define BLK_QUEUE_MAX 256
#define BLK_BOUNCE (64u * 1024)

/* Per-request limits (config seg_max / size_max). Linux sets its queue's
 * max_segments to seg_max and max_segment_size to size_max, so it never
 * builds a request moving more than BLK_REQ_MAX bytes, nor a chain of more
 * than BLK_SEG_MAX data descriptors plus header and status. Requests over
 * either limit fail with IOERR. */
#define BLK_SEG_MAX 128u
#define BLK_SIZE_MAX (32u * 1024)
#define BLK_REQ_MAX ((uint64_t)BLK_SEG_MAX * BLK_SIZE_MAX)   /* 4 MiB */

/* struct virtio_blk_config offsets (§5.2.4). */
#define CFG_CAPACITY 0x00
#define CFG_SIZE_MAX 0x08
#define CFG_SEG_MAX 0x0c
#define CFG_BLK_SIZE 0x14
#define CFG_LEN 0x3c

#define HDR_LEN 16  /* le32 type, le32 reserved, le64 sector */

struct vblk {
    int fd;
    bool readonly;
    uint64_t capacity;    /* in 512-byte sectors */
    uint8_t *bounce;      /* BLK_BOUNCE bytes */
};

static int file_io(int fd, bool write, uint8_t *buf, size_t len, uint64_t pos)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write ? pwrite(fd, buf + done, len - done, (off_t)(pos + done))
                          : pread(fd, buf + done, len - done, (off_t)(pos + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -EIO;
        }
        if (n == 0)
            return -EIO;    /* image shrank under us */
        done += (size_t)n;
    }
    return 0;
}

/* Move `len` bytes between the image at byte `pos` and the chain, starting
 * `coff` bytes into its readable (write to disk) or writable (read from
 * disk) part. */
static int blk_rw(struct vblk *b, struct virtq *vq, const struct virtq_chain *ch, bool to_disk,
                  uint64_t pos, uint64_t coff, uint64_t len)
{
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < BLK_BOUNCE ? (size_t)(len - done) : BLK_BOUNCE;
        if (to_disk) {
            if (virtq_chain_read(vq, ch, coff + done, b->bounce, n) ||
                file_io(b->fd, true, b->bounce, n, pos + done))
                return -EIO;
        } else {
            if (file_io(b->fd, false, b->bounce, n, pos + done) ||
                virtq_chain_write(vq, ch, coff + done, b->bounce, n))
                return -EIO;
        }
        done += n;
    }
    return 0;
}

/* Is [sector, sector + bytes/512) inside the disk, in whole sectors? */
static bool range_ok(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
    if (bytes % BLK_SECTOR)
        return false;
    uint64_t n = bytes / BLK_SECTOR;
    return sector <= b->capacity && n <= b->capacity - sector;
}

static int64_t blk_request(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                           const struct virtq_chain *ch)
{
    (void)vm;
    struct vblk *b = dev;
    uint8_t hdr[HDR_LEN];
    /* A request needs its header and a status byte (the last writable
     * byte); without them there is nothing we can even report into. */
    if (ch->rd_len < HDR_LEN || ch->wr_len < 1 || virtq_chain_read(vq, ch, 0, hdr, HDR_LEN))
        return -1;
    uint32_t type;
    uint64_t sector;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    type = le32toh(type);
    sector = le64toh(sector);

    uint64_t data_in = ch->wr_len - 1;      /* device-writable data bytes */
    uint64_t data_out = ch->rd_len - HDR_LEN; /* device-readable data bytes */
    uint8_t status = VIRTIO_BLK_S_OK;
    uint64_t written = 0;                   /* data bytes written to guest */

    /* Over the advertised limits: only a broken or hostile driver sends
     * this. Fail it without any disk I/O; the device stays usable. The
     * segment count includes header and status (zero-length descriptors
     * are not counted: the walk drops them). */
    if ((uint64_t)ch->n_rd + ch->n_wr > BLK_SEG_MAX + 2 || data_in + data_out > BLK_REQ_MAX)
        status = VIRTIO_BLK_S_IOERR;
    else switch (type) {
    case VIRTIO_BLK_T_IN:
        if (!range_ok(b, sector, data_in) ||
            blk_rw(b, vq, ch, false, sector * BLK_SECTOR, 0, data_in))
            status = VIRTIO_BLK_S_IOERR;
        else
            written = data_in;
        break;
    case VIRTIO_BLK_T_OUT:
        if (b->readonly || !range_ok(b, sector, data_out) ||
            blk_rw(b, vq, ch, true, sector * BLK_SECTOR, HDR_LEN, data_out))
            status = VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_FLUSH:
        if (!b->readonly && fdatasync(b->fd))
            status = VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        uint8_t id[VIRTIO_BLK_ID_BYTES] = "disco";  /* rest zero-filled */
        size_t n = data_in < sizeof id ? (size_t)data_in : sizeof id;
        if (virtq_chain_write(vq, ch, 0, id, n))
            status = VIRTIO_BLK_S_IOERR;
        else
            written = n;
        break;
    }
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    if (virtq_chain_write(vq, ch, ch->wr_len - 1, &status, 1))
        return -1;
    /* Used length: data actually written plus the status byte. For a
     * failed read the data part is unspecified; report just the status. */
    return (int64_t)written + 1;
}

static void blk_notify(struct virtio_mmio *vm, void *dev, unsigned q)
{
    (void)dev;
    virtio_mmio_process_queue(vm, q, blk_request);
}

static void blk_destroy(void *dev)
{
    struct vblk *b = dev;
    if (!b)
        return;
    if (b->fd >= 0)
        close(b->fd);
    free(b->bounce);
    free(b);
}

/* The two tables differ only in VIRTIO_BLK_F_RO. */
#define BLK_OPS(extra_features)                                                       \
    {                                                                                 \
        .name = "virtio-blk",                                                         \
        .device_id = VIRTIO_ID_BLOCK,                                                 \
        .num_queues = 1,                                                              \
        .queue_max = BLK_QUEUE_MAX,                                                   \
        .features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) | \
                    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |  \
                    (extra_features),                                                 \
        .notify = blk_notify,                                                         \
        .deferred = true,                                                             \
        .destroy = blk_destroy,                                                       \
    }

static const struct virtio_dev_ops blk_ops_rw = BLK_OPS(0);
static const struct virtio_dev_ops blk_ops_ro = BLK_OPS(1ull << VIRTIO_BLK_F_RO);

static void put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

struct virtio_mmio *virtio_blk_new(const struct virtio_host *host, const char *path,
                                   bool readonly, struct disco_err *err)
{
    if (!path || !*path) {
        err_set(err, -EINVAL, "virtio-blk: no disk image given");
        return NULL;
    }
    struct vblk *b = calloc(1, sizeof *b);
    if (!b) {
        err_set(err, -ENOMEM, "virtio-blk: out of memory for '%s'", path);
        return NULL;
    }
    b->fd = -1;
    b->readonly = readonly;
    b->bounce = malloc(BLK_BOUNCE);
    if (!b->bounce) {
        err_set(err, -ENOMEM, "virtio-blk: out of memory for '%s'", path);
        blk_destroy(b);
        return NULL;
    }
    /* O_NONBLOCK so that a FIFO or device node cannot hang the open; the
     * S_ISREG check below rejects those anyway. */
    b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
    if (b->fd < 0) {
        err_errno(err, errno, "virtio-blk: cannot open disk image '%s'%s", path,
                  readonly ? "" : " read-write");
        blk_destroy(b);
        return NULL;
    }
    struct stat st;
    if (fstat(b->fd, &st)) {
        err_errno(err, errno, "virtio-blk: cannot stat disk image '%s'", path);
        blk_destroy(b);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(err, -EINVAL, "virtio-blk: disk image '%s' is not a regular file", path);
        blk_destroy(b);
        return NULL;
    }
    int fl = fcntl(b->fd, F_GETFL);
    if (fl >= 0)
        fcntl(b->fd, F_SETFL, fl & ~O_NONBLOCK);
    /* A trailing partial sector is not addressable and is ignored. */
    b->capacity = (uint64_t)st.st_size / BLK_SECTOR;

    uint8_t cfg[CFG_LEN] = { 0 };
    uint64_t cap = htole64(b->capacity);
    memcpy(cfg + CFG_CAPACITY, &cap, 8);
    put_le32(cfg + CFG_SIZE_MAX, BLK_SIZE_MAX);
    put_le32(cfg + CFG_SEG_MAX, BLK_SEG_MAX);
    put_le32(cfg + CFG_BLK_SIZE, BLK_SECTOR);
    return virtio_mmio_create(host, readonly ? &blk_ops_ro : &blk_ops_rw, b, cfg, sizeof cfg,
                              err);
}

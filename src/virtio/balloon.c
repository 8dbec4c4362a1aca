/* virtio-balloon (device ID 5, virtio 1.x §5.5).
 *
 * Queues: inflateq 0, deflateq 1, then statsq and reporting_vq if their
 * features were negotiated, numbered on over the features present. That is
 * what Linux (virtio_balloon.c init_vqs + virtio_mmio.c vm_find_vqs, which
 * skips absent queues with queue_idx++) and QEMU do; the spec's table gives
 * fixed numbers, but they agree here since we never offer FREE_PAGE_HINT
 * (which would sit between stats and reporting).
 *
 * Config: le32 num_pages (the host's target, written by the host) and le32
 * actual (written by the guest).
 *
 * Work runs synchronously on QueueNotify, like virtio-rng: it is madvise
 * and bookkeeping, never blocking I/O, so it is cheap, and doing it on the
 * notifying hart's thread charges it to the guest that asked rather than to
 * the event loop other VMs share. Free page reporting also wants a quick
 * ack: the guest's reporting worker sleeps until the buffer comes back. */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_ID_BALLOON 5
#define BALLOON_F_STATS_VQ 1
#define BALLOON_F_DEFLATE_ON_OOM 2
#define BALLOON_F_REPORTING 5
/* Linux needs the reporting queue to hold PAGE_REPORTING_CAPACITY (32)
 * buffers; QEMU uses 128 for every balloon queue. */
#define BALLOON_QUEUE_MAX 128
#define BALLOON_NUM_QUEUES 4

#define CFG_NUM_PAGES 0
#define CFG_ACTUAL 4
#define CFG_LEN 8

/* Statistics tags (§5.5.6.3) we keep. */
#define STAT_MEMFREE 4
#define STAT_MEMTOT 5
#define STAT_AVAIL 6
#define STAT_CACHES 7
#define STAT_ENTRY 10          /* packed { le16 tag; le64 val; } */
#define STAT_MAX_ENTRIES 64    /* Linux sends about ten; ignore the rest */

#define PFN_SHIFT 12           /* balloon PFNs are 4 KiB frames, whatever the guest page */
#define PFN_CHUNK 256          /* Linux's VIRTIO_BALLOON_ARRAY_PFNS_MAX */

enum role { ROLE_NONE, ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORTING };

struct vballoon {
    struct virtio_mmio *vm;
    struct pmap *mem;
    uint64_t npages;
    uint64_t *inflated_map;    /* one bit per guest page: in the balloon */
    uint64_t inflated;         /* bits set */
    uint64_t reported;         /* pages released by free page reporting, ever */
    uint32_t target, actual;
    bool stats_valid;
    uint64_t stat_free, stat_total, stat_avail, stat_caches;
    /* The stats buffer the driver handed over; returning it asks for fresh
     * numbers (the classic statsq protocol). */
    bool stats_held;
    uint16_t stats_head;
    unsigned stats_q;
};

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static enum role queue_role(const struct virtio_mmio *vm, unsigned q)
{
    uint64_t f = virtio_mmio_features(vm);
    if (q == 0)
        return ROLE_INFLATE;
    if (q == 1)
        return ROLE_DEFLATE;
    unsigned next = 2;
    if (f & (1ull << BALLOON_F_STATS_VQ)) {
        if (q == next)
            return ROLE_STATS;
        next++;
    }
    if ((f & (1ull << BALLOON_F_REPORTING)) && q == next)
        return ROLE_REPORTING;
    return ROLE_NONE;
}

/* A run of contiguous guest pages waiting to be discarded in one madvise. */
struct run {
    uint64_t start, len;
};

static void run_flush(struct vballoon *b, struct run *r)
{
    if (r->len)
        pmap_discard(b->mem, r->start, r->len);   /* validated: cannot fail */
    r->len = 0;
}

static void run_add(struct vballoon *b, struct run *r, uint64_t gpa)
{
    if (r->len && gpa == r->start + r->len) {
        r->len += PMAP_PAGE_SIZE;
        return;
    }
    run_flush(b, r);
    r->start = gpa;
    r->len = PMAP_PAGE_SIZE;
}

/* An inflate or deflate buffer: le32 PFNs in the readable part. Entries
 * that are not guest RAM are ignored (a guest may only give back its own
 * pages); a trailing partial entry too. */
static int64_t pfn_chain(struct vballoon *b, struct virtq *vq, const struct virtq_chain *ch,
                         bool inflate)
{
    uint64_t base = pmap_base(b->mem);
    uint64_t n = ch->rd_len / 4;
    uint8_t buf[PFN_CHUNK * 4];
    struct run r = {0};
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < PFN_CHUNK ? (size_t)(n - done) : PFN_CHUNK;
        if (virtq_chain_read(vq, ch, done * 4, buf, k * 4))
            return -1;
        for (size_t i = 0; i < k; i++) {
            uint64_t gpa = get_le(buf + 4 * i, 4) << PFN_SHIFT;
            if (!pmap_contains(b->mem, gpa, PMAP_PAGE_SIZE))
                continue;
            uint64_t idx = (gpa - base) >> PMAP_PAGE_SHIFT;
            uint64_t bit = 1ull << (idx & 63);
            uint64_t *w = &b->inflated_map[idx >> 6];
            if (inflate) {
                if (!(*w & bit)) {
                    *w |= bit;
                    b->inflated++;
                }
                run_add(b, &r, gpa);
            } else if (*w & bit) {
                /* Nothing to map back: the page reads as zero until the
                 * guest writes it, and the host refaults it then. */
                *w &= ~bit;
                b->inflated--;
            }
        }
        done += k;
    }
    run_flush(b, &r);
    return 0;
}

static int64_t inflate_chain(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                             const struct virtq_chain *ch)
{
    (void)vm;
    return pfn_chain(dev, vq, ch, true);
}

static int64_t deflate_chain(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                             const struct virtq_chain *ch)
{
    (void)vm;
    return pfn_chain(dev, vq, ch, false);
}

/* A free page report: every device-writable buffer is a free range of guest
 * RAM (the chain walk checked it lies inside RAM); release its whole pages.
 * The guest may reuse them at once, so they are not counted as inflated. */
static int64_t report_chain(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                            const struct virtq_chain *ch)
{
    (void)vm;
    (void)vq;
    struct vballoon *b = dev;
    for (unsigned i = ch->n_rd; i < ch->n_rd + ch->n_wr; i++) {
        uint64_t start = (ch->seg[i].addr + PMAP_PAGE_SIZE - 1) & ~(PMAP_PAGE_SIZE - 1);
        uint64_t end = (ch->seg[i].addr + ch->seg[i].len) & ~(PMAP_PAGE_SIZE - 1);
        if (end > start && pmap_discard(b->mem, start, end - start) == 0)
            b->reported += (end - start) >> PMAP_PAGE_SHIFT;
    }
    return 0;
}

static void parse_stats(struct vballoon *b, struct virtq *vq, const struct virtq_chain *ch)
{
    uint8_t buf[STAT_MAX_ENTRIES * STAT_ENTRY];
    uint64_t n = ch->rd_len / STAT_ENTRY;
    if (n > STAT_MAX_ENTRIES)
        n = STAT_MAX_ENTRIES;
    if (n == 0 || virtq_chain_read(vq, ch, 0, buf, (size_t)n * STAT_ENTRY))
        return;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = buf + i * STAT_ENTRY;
        uint64_t val = get_le(e + 2, 8);
        switch (get_le(e, 2)) {
        case STAT_MEMFREE: b->stat_free = val; break;
        case STAT_MEMTOT: b->stat_total = val; break;
        case STAT_AVAIL: b->stat_avail = val; break;
        case STAT_CACHES: b->stat_caches = val; break;
        default: break;
        }
    }
    b->stats_valid = true;
}

/* The driver (re)posted its stats buffer: read it and keep it. */
static void stats_notify(struct virtio_mmio *vm, struct vballoon *b, unsigned q)
{
    struct virtq *vq = virtio_mmio_queue(vm, q);
    uint16_t old_used = vq->used_idx;
    struct virtq_chain ch;
    int rc;
    while ((rc = virtq_pop(vq, &ch)) > 0) {
        parse_stats(b, vq, &ch);
        /* Linux has one stats buffer; should a driver post more, hand the
         * older one back (as a request) and keep the newest. */
        if (b->stats_held && virtq_push(vq, b->stats_head, 0)) {
            rc = -EIO;
            break;
        }
        b->stats_held = true;
        b->stats_head = ch.head;
        b->stats_q = q;
    }
    if (virtq_need_interrupt(vq, old_used))
        virtio_mmio_interrupt_used(vm);
    if (rc < 0)
        virtio_mmio_needs_reset(vm);
}

/* Return the held stats buffer: the driver refills and reposts it. */
static void stats_request(struct virtio_mmio *vm, struct vballoon *b)
{
    if (!b->stats_held || !virtio_mmio_queue_live(vm, b->stats_q) ||
        queue_role(vm, b->stats_q) != ROLE_STATS)
        return;
    struct virtq *vq = virtio_mmio_queue(vm, b->stats_q);
    uint16_t old_used = vq->used_idx;
    b->stats_held = false;
    if (virtq_push(vq, b->stats_head, 0)) {
        virtio_mmio_needs_reset(vm);
        return;
    }
    if (virtq_need_interrupt(vq, old_used))
        virtio_mmio_interrupt_used(vm);
}

static void balloon_notify(struct virtio_mmio *vm, void *dev, unsigned q)
{
    switch (queue_role(vm, q)) {
    case ROLE_INFLATE: virtio_mmio_process_queue(vm, q, inflate_chain); break;
    case ROLE_DEFLATE: virtio_mmio_process_queue(vm, q, deflate_chain); break;
    case ROLE_STATS: stats_notify(vm, dev, q); break;
    case ROLE_REPORTING: virtio_mmio_process_queue(vm, q, report_chain); break;
    case ROLE_NONE: break;   /* a queue the negotiated features do not use */
    }
}

/* Only `actual` is writable; other config writes are ignored. */
static void balloon_config_write(struct virtio_mmio *vm, void *dev, uint64_t off, unsigned len,
                                 uint64_t val)
{
    struct vballoon *b = dev;
    uint8_t cur[4];
    put_le32(cur, b->actual);
    bool hit = false;
    for (unsigned i = 0; i < len; i++) {
        uint64_t c = off + i;
        if (c >= CFG_ACTUAL && c < CFG_ACTUAL + 4) {
            cur[c - CFG_ACTUAL] = (uint8_t)(val >> (8 * i));
            hit = true;
        }
    }
    if (!hit)
        return;
    b->actual = (uint32_t)get_le(cur, 4);
    virtio_mmio_config_write(vm, CFG_ACTUAL, cur, 4);
}

/* A reset driver holds no balloon any more (a rebooted guest owns all its
 * RAM): start empty. The host's target stays. */
static void balloon_reset(void *dev)
{
    struct vballoon *b = dev;
    memset(b->inflated_map, 0, ((b->npages + 63) / 64) * sizeof *b->inflated_map);
    b->inflated = 0;
    b->actual = 0;
    b->stats_held = false;
    uint8_t zero[4] = {0};
    virtio_mmio_config_write(b->vm, CFG_ACTUAL, zero, 4);
}

static void balloon_destroy(void *dev)
{
    struct vballoon *b = dev;
    if (!b)
        return;
    free(b->inflated_map);
    free(b);
}

static const struct virtio_dev_ops balloon_ops = {
    .name = "virtio-balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .num_queues = BALLOON_NUM_QUEUES,
    .queue_max = BALLOON_QUEUE_MAX,
    .features = (1ull << BALLOON_F_STATS_VQ) | (1ull << BALLOON_F_DEFLATE_ON_OOM) |
                (1ull << BALLOON_F_REPORTING),
    .notify = balloon_notify,
    .reset = balloon_reset,
    .config_write = balloon_config_write,
    .destroy = balloon_destroy,
};

struct virtio_mmio *virtio_balloon_new(const struct virtio_host *host, struct disco_err *err)
{
    if (!host || !host->mem) {
        err_set(err, -EINVAL, "virtio-balloon: no guest memory");
        return NULL;
    }
    struct vballoon *b = calloc(1, sizeof *b);
    if (!b) {
        err_set(err, -ENOMEM, "virtio-balloon: out of memory");
        return NULL;
    }
    b->mem = host->mem;
    b->npages = pmap_size(host->mem) >> PMAP_PAGE_SHIFT;
    b->inflated_map = calloc((b->npages + 63) / 64, sizeof *b->inflated_map);
    if (!b->inflated_map) {
        free(b);
        err_set(err, -ENOMEM, "virtio-balloon: out of memory");
        return NULL;
    }
    uint8_t cfg[CFG_LEN] = {0};
    struct virtio_mmio *vm = virtio_mmio_create(host, &balloon_ops, b, cfg, sizeof cfg, err);
    if (vm)
        b->vm = vm;
    return vm;
}

static struct vballoon *balloon_of(struct virtio_mmio *vm)
{
    return virtio_mmio_device_id(vm) == VIRTIO_ID_BALLOON ? virtio_mmio_dev(vm) : NULL;
}

void virtio_balloon_set_target(struct virtio_mmio *vm, uint64_t pages)
{
    if (!vm)
        return;
    virtio_mmio_lock(vm);
    struct vballoon *b = balloon_of(vm);
    if (b) {
        b->target = pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
        uint8_t le[4];
        put_le32(le, b->target);
        virtio_mmio_config_write(vm, CFG_NUM_PAGES, le, 4);
        virtio_mmio_config_changed(vm);
    }
    virtio_mmio_unlock(vm);
}

void virtio_balloon_info(struct virtio_mmio *vm, struct virtio_balloon_info *info)
{
    memset(info, 0, sizeof *info);
    if (!vm)
        return;
    virtio_mmio_lock(vm);
    struct vballoon *b = balloon_of(vm);
    if (b) {
        info->target_pages = b->target;
        info->actual_pages = b->actual;
        info->inflated_pages = b->inflated;
        info->reported_pages = b->reported;
        info->stats_valid = b->stats_valid;
        info->stat_free = b->stat_free;
        info->stat_total = b->stat_total;
        info->stat_available = b->stat_avail;
        info->stat_caches = b->stat_caches;
        /* What we return now is from the last report; ask for the next
         * one so a later call sees fresher numbers without waiting here. */
        stats_request(vm, b);
    }
    virtio_mmio_unlock(vm);
}

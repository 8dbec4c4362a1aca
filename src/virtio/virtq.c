/* Split virtqueue, device side. See virtq.h for the threat model: the ring
 * layout is guest-controlled and everything read from it is checked before
 * use; walks are bounded by the queue size. */
#include "virtio/virtq.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Ring layout (virtio 1.x §2.7): offsets from the area base addresses. */
#define DESC_SIZE 16u
#define AVAIL_FLAGS 0u
#define AVAIL_IDX 2u
#define AVAIL_RING 4u          /* + 2 * slot; used_event at slot == num */
#define USED_IDX 2u
#define USED_RING 4u           /* + 8 * slot; avail_event at 8 * num */

static uint64_t avail_bytes(uint32_t num) { return 6 + 2 * (uint64_t)num; }
static uint64_t used_bytes(uint32_t num) { return 6 + 8 * (uint64_t)num; }

/* The 16-bit ring indices are shared with guest harts running concurrently
 * on other threads, so they are accessed as single atomic 16-bit operations
 * (a byte-wise copy could tear, e.g. 0x00ff -> 0x0100 seen as 0x01ff, which
 * would look like a ring overrun). They are 2-byte aligned, hence never
 * straddle a page; the page pointer is used only for this one access. */
static int load16_acquire(struct pmap *pm, uint64_t gpa, uint16_t *out)
{
    if ((gpa & 1) || !pmap_contains(pm, gpa, 2))
        return -EFAULT;
    /* A read may return a shared frame; if a copy-on-write elsewhere
     * released it meanwhile (TLB shootdowns do not reach device threads),
     * the entry changed: read again from the new page. */
    for (;;) {
        uint8_t *page = pmap_page(pm, gpa, false);
        if (!page)
            return -EFAULT;
        uint16_t *p = (uint16_t *)(void *)(page + (gpa & (PMAP_PAGE_SIZE - 1)));
        *out = le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
        if (pmap_page(pm, gpa, false) == page)
            return 0;
    }
}

static int store16_release(struct pmap *pm, uint64_t gpa, uint16_t v)
{
    if ((gpa & 1) || !pmap_contains(pm, gpa, 2))
        return -EFAULT;
    uint8_t *page = pmap_page(pm, gpa, true);
    if (!page)
        return -EFAULT;
    uint16_t le = htole16(v);
    uint16_t *p = (uint16_t *)(void *)(page + (gpa & (PMAP_PAGE_SIZE - 1)));
    __atomic_store_n(p, le, __ATOMIC_RELEASE);
    /* Rewrite the same bytes through pmap_write so its write hook (decoded
     * code caches) hears about the change; the value does not change, so
     * concurrent readers cannot observe anything torn. */
    return pmap_write(pm, gpa, &le, sizeof le);
}

int virtq_init(struct virtq *vq, struct pmap *mem, uint16_t num_max)
{
    memset(vq, 0, sizeof *vq);
    if (num_max == 0 || (num_max & (num_max - 1)) || num_max > VIRTQ_SIZE_LIMIT)
        return -EINVAL;
    vq->mem = mem;
    vq->num_max = num_max;
    vq->segs = calloc(num_max, sizeof *vq->segs);
    if (!vq->segs)
        return -ENOMEM;
    virtq_reset(vq);
    return 0;
}

void virtq_destroy(struct virtq *vq)
{
    free(vq->segs);
    vq->segs = NULL;
}

void virtq_reset(struct virtq *vq)
{
    vq->num = vq->num_max;
    vq->desc_addr = vq->avail_addr = vq->used_addr = 0;
    vq->ready = false;
    vq->f_indirect = vq->f_event_idx = false;
    vq->last_avail = 0;
    vq->used_idx = 0;
}

int virtq_enable(struct virtq *vq, bool f_indirect, bool f_event_idx)
{
    uint32_t num = vq->num;
    vq->ready = false;
    if (num == 0 || num > vq->num_max || (num & (num - 1)))
        return -EINVAL;
    if ((vq->desc_addr & 15) || (vq->avail_addr & 1) || (vq->used_addr & 3))
        return -EINVAL;
    if (!pmap_contains(vq->mem, vq->desc_addr, DESC_SIZE * (uint64_t)num) ||
        !pmap_contains(vq->mem, vq->avail_addr, avail_bytes(num)) ||
        !pmap_contains(vq->mem, vq->used_addr, used_bytes(num)))
        return -EINVAL;
    vq->f_indirect = f_indirect;
    vq->f_event_idx = f_event_idx;
    /* A freshly enabled queue starts at index 0 on both sides (the driver
     * hands over zeroed rings). */
    vq->last_avail = 0;
    vq->used_idx = 0;
    vq->ready = true;
    return 0;
}

/* How many chains the driver has made available; -EIO if it claims more
 * than the ring holds (idx jumped ahead by more than the queue size). */
static int avail_pending(struct virtq *vq, uint16_t *pending)
{
    uint16_t idx;
    if (load16_acquire(vq->mem, vq->avail_addr + AVAIL_IDX, &idx))
        return -EIO;
    uint16_t n = (uint16_t)(idx - vq->last_avail);
    if (n > vq->num)
        return -EIO;
    *pending = n;
    return 0;
}

bool virtq_has_avail(struct virtq *vq)
{
    uint16_t n = 0;
    return avail_pending(vq, &n) < 0 || n > 0;
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static int read_desc(struct virtq *vq, uint64_t table, uint32_t i, struct desc *d)
{
    uint8_t raw[DESC_SIZE];
    if (pmap_read(vq->mem, table + (uint64_t)i * DESC_SIZE, raw, sizeof raw))
        return -EIO;
    uint64_t a;
    uint32_t l;
    uint16_t f, n;
    memcpy(&a, raw, 8);
    memcpy(&l, raw + 8, 4);
    memcpy(&f, raw + 12, 2);
    memcpy(&n, raw + 14, 2);
    d->addr = le64toh(a);
    d->len = le32toh(l);
    d->flags = le16toh(f);
    d->next = le16toh(n);
    return 0;
}

/* Walk the chain starting at `head`. Bounded: at most `num` buffer
 * descriptors are visited in total (direct plus indirect, so loops end
 * there), plus at most one indirect descriptor (an indirect table may not
 * contain another, and INDIRECT may not be combined with NEXT). */
static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_chain *ch)
{
    uint64_t table = vq->desc_addr;
    uint32_t table_len = vq->num;
    uint32_t i = head;
    bool in_indirect = false;
    unsigned nbuf = 0, nseg = 0;

    ch->head = head;
    ch->n_rd = ch->n_wr = 0;
    ch->rd_len = ch->wr_len = 0;
    ch->seg = vq->segs;
    if (i >= table_len)
        return -EIO;
    for (;;) {
        struct desc d;
        if (read_desc(vq, table, i, &d))
            return -EIO;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!vq->f_indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT))
                return -EIO;
            if (d.len == 0 || d.len % DESC_SIZE || !pmap_contains(vq->mem, d.addr, d.len))
                return -EIO;
            table = d.addr;
            table_len = d.len / DESC_SIZE;
            i = 0;
            in_indirect = true;
            continue;
        }
        if (++nbuf > vq->num)
            return -EIO;            /* longer than the queue: a loop or a lie */
        if (d.len) {
            if (!pmap_contains(vq->mem, d.addr, d.len))
                return -EIO;        /* outside RAM, or wrapping past 2^64 */
            if (d.flags & VIRTQ_DESC_F_WRITE) {
                ch->n_wr++;
                ch->wr_len += d.len;
            } else {
                if (ch->n_wr)
                    return -EIO;    /* readable after writable */
                ch->n_rd++;
                ch->rd_len += d.len;
            }
            vq->segs[nseg].addr = d.addr;
            vq->segs[nseg].len = d.len;
            nseg++;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        i = d.next;
        if (i >= table_len)
            return -EIO;
    }
}

int virtq_pop(struct virtq *vq, struct virtq_chain *ch)
{
    if (!vq->ready)
        return 0;
    uint16_t pending;
    if (avail_pending(vq, &pending))
        return -EIO;
    if (pending == 0) {
        if (!vq->f_event_idx)
            return 0;
        /* Ask to be notified when the driver makes the next chain
         * available, then look again: a chain added between our check and
         * the avail_event store would otherwise go unnoticed. */
        if (store16_release(vq->mem, vq->used_addr + USED_RING + 8 * (uint64_t)vq->num,
                            vq->last_avail))
            return -EIO;
        atomic_thread_fence(memory_order_seq_cst);
        if (avail_pending(vq, &pending))
            return -EIO;
        if (pending == 0)
            return 0;
    }
    uint16_t slot = vq->last_avail & (uint16_t)(vq->num - 1);
    uint16_t head;
    if (pmap_read(vq->mem, vq->avail_addr + AVAIL_RING + 2 * (uint64_t)slot, &head, 2))
        return -EIO;
    head = le16toh(head);
    if (walk_chain(vq, head, ch))
        return -EIO;
    vq->last_avail++;
    return 1;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
    if (!vq->ready)
        return -EIO;
    uint16_t slot = vq->used_idx & (uint16_t)(vq->num - 1);
    uint32_t elem[2] = { htole32(head), htole32(len) };
    if (pmap_write(vq->mem, vq->used_addr + USED_RING + 8 * (uint64_t)slot, elem, sizeof elem))
        return -EIO;
    vq->used_idx++;
    /* Release: the element above is visible before the new index. */
    if (store16_release(vq->mem, vq->used_addr + USED_IDX, vq->used_idx))
        return -EIO;
    return 0;
}

bool virtq_need_interrupt(struct virtq *vq, uint16_t old_used)
{
    if (!vq->ready || vq->used_idx == old_used)
        return false;
    /* Full fence: our used idx store must be ordered before reading the
     * driver's suppression state, or a driver re-enabling interrupts just
     * now could miss this batch. */
    atomic_thread_fence(memory_order_seq_cst);
    if (vq->f_event_idx) {
        uint16_t ev;
        if (load16_acquire(vq->mem, vq->avail_addr + AVAIL_RING + 2 * (uint64_t)vq->num, &ev))
            return true;
        /* vring_need_event: did used idx step past used_event in
         * (old_used, used_idx]? */
        return (uint16_t)(vq->used_idx - ev - 1) < (uint16_t)(vq->used_idx - old_used);
    }
    uint16_t flags;
    if (load16_acquire(vq->mem, vq->avail_addr + AVAIL_FLAGS, &flags))
        return true;
    return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static int chain_copy(const struct virtq *vq, const struct virtq_seg *seg, unsigned n,
                      uint64_t total, uint64_t off, uint8_t *buf, size_t len, bool to_guest)
{
    if (off > total || len > total - off)
        return -EFAULT;
    size_t done = 0;
    for (unsigned k = 0; k < n && done < len; k++) {
        if (off >= seg[k].len) {
            off -= seg[k].len;
            continue;
        }
        uint64_t room = seg[k].len - off;
        size_t take = len - done < room ? len - done : (size_t)room;
        int rc = to_guest ? pmap_write(vq->mem, seg[k].addr + off, buf + done, take)
                          : pmap_read(vq->mem, seg[k].addr + off, buf + done, take);
        if (rc)
            return -EFAULT;
        done += take;
        off = 0;
    }
    return done == len ? 0 : -EFAULT;
}

int virtq_chain_read(const struct virtq *vq, const struct virtq_chain *ch, uint64_t off,
                     void *buf, size_t len)
{
    return chain_copy(vq, ch->seg, ch->n_rd, ch->rd_len, off, buf, len, false);
}

int virtq_chain_write(const struct virtq *vq, const struct virtq_chain *ch, uint64_t off,
                      const void *buf, size_t len)
{
    return chain_copy(vq, ch->seg + ch->n_rd, ch->n_wr, ch->wr_len, off, (uint8_t *)buf, len,
                      true);
}

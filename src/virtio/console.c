/* virtio-console (device ID 3), a single port without VIRTIO_CONSOLE_F_MULTIPORT:
 * queue 0 is the receiveq (host -> guest), queue 1 the transmitq.
 *
 * Transmit is processed synchronously on QueueNotify: the bytes go to the
 * sink callback (called with the device mutex held, on the hart thread).
 * Receive is pushed by virtio_console_input, typically from a console
 * thread, into whatever buffers the guest has posted; it takes the same
 * mutex as the MMIO handlers. When the guest posts receive buffers, an
 * optional hook tells the owner (who holds input back until then) to retry. */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <stdlib.h>

#define VIRTIO_ID_CONSOLE 3
#define CONSOLE_QUEUE_MAX 128
#define CONSOLE_RXQ 0
#define CONSOLE_TXQ 1
#define CONSOLE_CFG_LEN 12  /* cols, rows, max_nr_ports, emerg_wr: unused */
#define TX_CHUNK 1024u

struct vcons {
    virtio_console_sink sink;
    void *sink_ctx;
    void (*rx_posted)(void *ctx);   /* device lock held, on the hart's thread */
    void *rx_ctx;
};

static int64_t cons_tx(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                       const struct virtq_chain *ch)
{
    (void)vm;
    struct vcons *c = dev;
    uint8_t buf[TX_CHUNK];
    for (uint64_t off = 0; off < ch->rd_len;) {
        size_t n = ch->rd_len - off < sizeof buf ? (size_t)(ch->rd_len - off) : sizeof buf;
        if (virtq_chain_read(vq, ch, off, buf, n))
            return -1;
        if (c->sink)
            c->sink(c->sink_ctx, buf, n);
        off += n;
    }
    return 0;   /* nothing written into the guest's buffer */
}

static void cons_notify(struct virtio_mmio *vm, void *dev, unsigned q)
{
    struct vcons *c = dev;
    /* Notifications on the receiveq just announce fresh buffers; input is
     * placed into them when it arrives: tell whoever holds input back. */
    if (q == CONSOLE_TXQ)
        virtio_mmio_process_queue(vm, q, cons_tx);
    else if (q == CONSOLE_RXQ && c->rx_posted)
        c->rx_posted(c->rx_ctx);
}

void virtio_console_set_rx_notify(struct virtio_mmio *vm, void (*fn)(void *ctx), void *ctx)
{
    if (!vm || virtio_mmio_device_id(vm) != VIRTIO_ID_CONSOLE)
        return;
    virtio_mmio_lock(vm);
    struct vcons *c = virtio_mmio_dev(vm);
    c->rx_posted = fn;
    c->rx_ctx = ctx;
    virtio_mmio_unlock(vm);
}

size_t virtio_console_input(struct virtio_mmio *vm, const uint8_t *buf, size_t len)
{
    if (!vm || !len)
        return 0;
    size_t accepted = 0;
    virtio_mmio_lock(vm);
    if (virtio_mmio_device_id(vm) == VIRTIO_ID_CONSOLE && virtio_mmio_queue_live(vm, CONSOLE_RXQ)) {
        struct virtq *vq = virtio_mmio_queue(vm, CONSOLE_RXQ);
        uint16_t old_used = vq->used_idx;
        struct virtq_chain ch;
        int rc = 0;
        while (accepted < len && (rc = virtq_pop(vq, &ch)) > 0) {
            size_t n = len - accepted;
            if (n > ch.wr_len)
                n = (size_t)ch.wr_len;
            if (virtq_chain_write(vq, &ch, 0, buf + accepted, n) ||
                virtq_push(vq, ch.head, (uint32_t)n)) {
                rc = -EIO;
                break;
            }
            accepted += n;
        }
        if (virtq_need_interrupt(vq, old_used))
            virtio_mmio_interrupt_used(vm);
        if (rc < 0)
            virtio_mmio_needs_reset(vm);
    }
    virtio_mmio_unlock(vm);
    return accepted;
}

static void cons_destroy(void *dev) { free(dev); }

static const struct virtio_dev_ops cons_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_max = CONSOLE_QUEUE_MAX,
    .features = 0,
    .notify = cons_notify,
    .destroy = cons_destroy,
};

struct virtio_mmio *virtio_console_new(const struct virtio_host *host,
                                       virtio_console_sink sink, void *sink_ctx,
                                       struct disco_err *err)
{
    struct vcons *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(err, -ENOMEM, "virtio-console: out of memory");
        return NULL;
    }
    c->sink = sink;
    c->sink_ctx = sink_ctx;
    uint8_t cfg[CONSOLE_CFG_LEN] = { 0 };
    return virtio_mmio_create(host, &cons_ops, c, cfg, sizeof cfg, err);
}

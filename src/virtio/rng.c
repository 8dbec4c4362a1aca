/* virtio-rng (device ID 4): one request queue; every device-writable byte
 * the driver posts is filled from getrandom(2). Processed synchronously on
 * QueueNotify. */
#include "virtio/virtio_dev.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#define VIRTIO_ID_RNG 4
#define RNG_QUEUE_MAX 64
/* Bound the host work per request; the spec lets the device return fewer
 * bytes than the buffer holds (the used length says how many). */
#define RNG_MAX_PER_REQUEST (64u * 1024)
#define RNG_CHUNK 256u

static int64_t rng_request(struct virtio_mmio *vm, void *dev, struct virtq *vq,
                           const struct virtq_chain *ch)
{
    (void)vm;
    (void)dev;
    uint64_t want = ch->wr_len < RNG_MAX_PER_REQUEST ? ch->wr_len : RNG_MAX_PER_REQUEST;
    uint8_t buf[RNG_CHUNK];
    uint64_t done = 0;
    while (done < want) {
        size_t n = want - done < sizeof buf ? (size_t)(want - done) : sizeof buf;
        ssize_t got = getrandom(buf, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;      /* hand back what we have */
        }
        if (got == 0)
            break;
        if (virtq_chain_write(vq, ch, done, buf, (size_t)got))
            break;
        done += (uint64_t)got;
    }
    return (int64_t)done;
}

static void rng_notify(struct virtio_mmio *vm, void *dev, unsigned q)
{
    (void)dev;
    virtio_mmio_process_queue(vm, q, rng_request);
}

static const struct virtio_dev_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = RNG_QUEUE_MAX,
    .features = 0,
    .notify = rng_notify,
};

struct virtio_mmio *virtio_rng_new(const struct virtio_host *host, struct disco_err *err)
{
    return virtio_mmio_create(host, &rng_ops, NULL, NULL, 0, err);
}

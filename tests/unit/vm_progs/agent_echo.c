/* A bare-metal stand-in for the guest agent: drives the virtio-console
 * (polling, no interrupts), says "hello\n" on the transmitq, then echoes
 * every byte it receives. Only 4 receive buffers of 64 bytes are posted at
 * a time, so a longer message from the host has to wait for the guest to
 * repost them. Runs until the host stops it. */
#include <stdint.h>

__asm__(".section .text.init, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "  csrr t0, mhartid\n"
        "  bnez t0, 2f\n"
        "  la sp, stack_top\n"
        "  call main\n"
        "2: wfi\n"
        "  j 2b\n"
        ".text\n");

#define VIO_BASE 0x10001000ul
#define VIO_SLOTS 8
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QSEL 0x030
#define R_QNUM 0x038
#define R_QREADY 0x044
#define R_QNOTIFY 0x050
#define R_STATUS 0x070
#define R_QDESC_LO 0x080
#define R_QDESC_HI 0x084
#define R_QDRV_LO 0x090
#define R_QDRV_HI 0x094
#define R_QDEV_LO 0x0a0
#define R_QDEV_HI 0x0a4
#define QN 8
#define RXBUFS 4
#define RXLEN 64

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
struct avail {
    uint16_t flags, idx, ring[QN];
};
struct used {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[QN];
};
struct queue {
    struct desc d[QN] __attribute__((aligned(16)));
    struct avail a __attribute__((aligned(2)));
    struct used u __attribute__((aligned(4)));
    uint16_t seen;
};

static struct queue rxq, txq;
static uint8_t rxbuf[RXBUFS][RXLEN];
static uint8_t txbuf[RXLEN];
uint8_t stack[4096] __attribute__((aligned(16)));
__asm__(".globl stack_top\n.set stack_top, stack + 4096\n");

#define fence() __asm__ volatile("fence iorw, iorw" ::: "memory")
static uintptr_t base;
static uint32_t rd(unsigned off)
{
    fence();
    return *(volatile uint32_t *)(base + off);
}
static void wr(unsigned off, uint32_t v)
{
    fence();
    *(volatile uint32_t *)(base + off) = v;
    fence();
}

static void setup(unsigned q, struct queue *vq)
{
    wr(R_QSEL, q);
    wr(R_QNUM, QN);
    uint64_t d = (uintptr_t)vq->d, a = (uintptr_t)&vq->a, u = (uintptr_t)&vq->u;
    wr(R_QDESC_LO, (uint32_t)d);
    wr(R_QDESC_HI, (uint32_t)(d >> 32));
    wr(R_QDRV_LO, (uint32_t)a);
    wr(R_QDRV_HI, (uint32_t)(a >> 32));
    wr(R_QDEV_LO, (uint32_t)u);
    wr(R_QDEV_HI, (uint32_t)(u >> 32));
    wr(R_QREADY, 1);
}

static void post(struct queue *vq, uint16_t i)
{
    vq->a.ring[vq->a.idx % QN] = i;
    fence();
    *(volatile uint16_t *)&vq->a.idx = vq->a.idx + 1;
    fence();
}

static void send(const uint8_t *buf, uint32_t len)
{
    for (uint32_t k = 0; k < len; k++)
        txbuf[k] = buf[k];
    txq.d[0] = (struct desc){(uintptr_t)txbuf, len, 0, 0};
    post(&txq, 0);
    wr(R_QNOTIFY, 1);
    while (*(volatile uint16_t *)&txq.u.idx == txq.seen)
        fence();
    txq.seen++;
}

int main(void)
{
    for (unsigned s = 0; s < VIO_SLOTS && !base; s++) {
        uintptr_t b = VIO_BASE + s * 0x1000ul;
        if (*(volatile uint32_t *)(b + R_MAGIC) == 0x74726976 &&
            *(volatile uint32_t *)(b + R_VERSION) == 2 &&
            *(volatile uint32_t *)(b + R_DEVICE_ID) == 3)
            base = b;
    }
    if (!base)
        return 1;
    wr(R_STATUS, 0);
    wr(R_STATUS, 1 | 2);
    wr(R_DEV_FEAT_SEL, 1);
    uint32_t hi = rd(R_DEV_FEAT);
    wr(R_DRV_FEAT_SEL, 0);
    wr(R_DRV_FEAT, 0);
    wr(R_DRV_FEAT_SEL, 1);
    wr(R_DRV_FEAT, hi & 1);   /* VIRTIO_F_VERSION_1 */
    wr(R_STATUS, 1 | 2 | 8);
    setup(0, &rxq);
    setup(1, &txq);
    for (uint16_t i = 0; i < RXBUFS; i++) {
        rxq.d[i] = (struct desc){(uintptr_t)rxbuf[i], RXLEN, 2 /* WRITE */, 0};
        post(&rxq, i);
    }
    wr(R_STATUS, 1 | 2 | 8 | 4);
    send((const uint8_t *)"hello\n", 6);
    for (;;) {
        while (*(volatile uint16_t *)&rxq.u.idx == rxq.seen)
            fence();
        fence();
        uint32_t id = rxq.u.ring[rxq.seen % QN].id, len = rxq.u.ring[rxq.seen % QN].len;
        rxq.seen++;
        if (id < RXBUFS && len <= RXLEN)
            send(rxbuf[id], len);
        post(&rxq, (uint16_t)(id % RXBUFS));
        wr(R_QNOTIFY, 0);
    }
}

/* NS16550A: the 8250 driver's probes, DLAB, transmit to the sink, RX FIFO
 * order and overflow, IIR priorities, THRE interrupt semantics, FCR resets,
 * loopback, wide and bad accesses, and uart_input from another thread. */
#include <pthread.h>
#include <stdint.h>

#include "machine/uart.h"
#include "t.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2,
       LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct cap {
    int level;
    unsigned sets;
    uint8_t out[4096];
    size_t nout;
};

static void cap_irq(void *ctx, unsigned num, bool level)
{
    struct cap *c = ctx;
    (void)num;
    c->level = level;
    c->sets++;
}

static void cap_sink(void *ctx, const uint8_t *buf, size_t len)
{
    struct cap *c = ctx;
    for (size_t i = 0; i < len && c->nout < sizeof(c->out); i++)
        c->out[c->nout++] = buf[i];
}

static struct cap cap;

static struct uart *mk(void)
{
    memset(&cap, 0, sizeof(cap));
    struct irq_line l = {.set = cap_irq, .ctx = &cap, .num = 10};
    return uart_new(l, cap_sink, &cap);
}

static uint8_t rd(struct uart *u, uint64_t off)
{
    uint64_t v = 0xdeadbeef;
    CHECK_EQ(uart_mmio_ops.read(u, off, 1, &v), 0);
    CHECK(v <= 0xff);
    return (uint8_t)v;
}

static void wr(struct uart *u, uint64_t off, uint8_t v)
{
    CHECK_EQ(uart_mmio_ops.write(u, off, 1, v), 0);
}

static void uart_8250_probes(void)
{
    struct uart *u = mk();
    CHECK_EQ(rd(u, LSR), 0x60); /* THRE | TEMT, no data */
    CHECK_EQ(rd(u, IIR), 0x01);
    /* Scratch register. */
    wr(u, SCR, 0xa5);
    CHECK_EQ(rd(u, SCR), 0xa5);
    wr(u, SCR, 0x5a);
    CHECK_EQ(rd(u, SCR), 0x5a);
    /* IER test of autoconfig(): 4 writable bits. */
    wr(u, IER, 0);
    CHECK_EQ(rd(u, IER) & 0x0f, 0);
    wr(u, IER, 0x0f);
    CHECK_EQ(rd(u, IER) & 0x0f, 0x0f);
    wr(u, IER, 0xff);
    CHECK_EQ(rd(u, IER), 0x0f); /* UUE (bit 6) not writable -> 16550A */
    wr(u, IER, 0);
    /* FIFO detection: IIR bits 7:6 = 11 with FIFOs on. */
    wr(u, FCR, 0x01);
    CHECK_EQ(rd(u, IIR) >> 6, 3);
    wr(u, FCR, 0x00);
    CHECK_EQ(rd(u, IIR) >> 6, 0);
    /* EFR probe (LCR=0xbf, offset 2 reads IIR): must not read 0. */
    wr(u, FCR, 0x01);
    wr(u, LCR, 0xbf);
    CHECK(rd(u, IIR) != 0);
    wr(u, LCR, 0x03);
    /* Loopback test: MCR = LOOP | 0x0a -> MSR status = DCD | CTS. */
    wr(u, MCR, 0x1a);
    CHECK_EQ(rd(u, MSR) & 0xf0, 0x90);
    wr(u, MCR, 0x1f);
    CHECK_EQ(rd(u, MSR) & 0xf0, 0xf0);
    wr(u, MCR, 0x08);
    CHECK_EQ(rd(u, MCR), 0x08);
    CHECK_EQ(rd(u, MSR), 0xb0); /* DCD | DSR | CTS */
    CHECK_EQ(cap.nout, 0);
    uart_free(u);
}

static void uart_dlab(void)
{
    struct uart *u = mk();
    wr(u, IER, 0x05);
    wr(u, LCR, 0x83);
    wr(u, DLL, 0x34);
    wr(u, DLM, 0x12);
    CHECK_EQ(rd(u, DLL), 0x34);
    CHECK_EQ(rd(u, DLM), 0x12);
    CHECK_EQ(rd(u, LCR), 0x83);
    CHECK_EQ(cap.nout, 0); /* DLL write is not a transmit */
    uart_input(u, (const uint8_t *)"z", 1);
    CHECK_EQ(rd(u, DLL), 0x34); /* not the data */
    wr(u, LCR, 0x03);
    CHECK_EQ(rd(u, IER), 0x05); /* IER untouched by DLM write */
    CHECK_EQ(rd(u, RBR), 'z');
    wr(u, LCR, 0x80);
    CHECK_EQ(rd(u, DLM), 0x12); /* divisor kept */
    uart_free(u);
}

static void uart_transmit(void)
{
    struct uart *u = mk();
    wr(u, THR, 'h');
    wr(u, THR, 'i');
    CHECK_EQ(cap.nout, 2);
    CHECK(memcmp(cap.out, "hi", 2) == 0);
    CHECK_EQ(rd(u, LSR) & 0x60, 0x60);
    uart_free(u);
}

static void uart_rx_fifo_order_and_overflow(void)
{
    struct uart *u = mk();
    wr(u, FCR, 0x07);
    CHECK_EQ(rd(u, LSR) & 1, 0);
    CHECK_EQ(rd(u, RBR), 0); /* empty */
    CHECK_EQ(uart_input(u, (const uint8_t *)"abc", 3), 3);
    CHECK_EQ(rd(u, LSR) & 1, 1);
    CHECK_EQ(rd(u, RBR), 'a');
    CHECK_EQ(rd(u, RBR), 'b');
    CHECK_EQ(rd(u, LSR) & 1, 1);
    CHECK_EQ(rd(u, RBR), 'c');
    CHECK_EQ(rd(u, LSR) & 1, 0);
    /* Overflow: what does not fit is refused, never lost or reordered. */
    size_t room = uart_input_room(u);
    CHECK(room >= 16);
    uint8_t big[1000];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 1);
    size_t n = uart_input(u, big, sizeof(big));
    CHECK_EQ(n, room);
    CHECK_EQ(uart_input_room(u), 0);
    CHECK_EQ(uart_input(u, big + n, 5), 0);
    CHECK_EQ(rd(u, LSR) & 0x02, 0); /* no overrun: nothing was dropped */
    unsigned wrong = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(rd(u, LSR) & 1) || rd(u, RBR) != big[i])
            wrong++;
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(rd(u, LSR) & 1, 0);
    CHECK_EQ(uart_input_room(u), room);
    /* Continue with the refused rest. */
    CHECK_EQ(uart_input(u, big + n, 2), 2);
    CHECK_EQ(rd(u, RBR), big[n]);
    CHECK_EQ(rd(u, RBR), big[n + 1]);
    uart_free(u);
}

static void uart_iir_priorities(void)
{
    struct uart *u = mk();
    wr(u, FCR, 0x81); /* FIFO on, trigger 8 */
    CHECK_EQ(rd(u, IIR), 0xc1);
    CHECK(!cap.level);
    wr(u, IER, 0x07); /* RLSI | THRI | RDI */
    CHECK_EQ(rd(u, IIR), 0xc2); /* THRE, and this read clears it */
    CHECK_EQ(rd(u, IIR), 0xc1);
    CHECK(!cap.level);
    /* One byte, below the trigger level: character timeout. */
    uart_input(u, (const uint8_t *)"1", 1);
    CHECK(cap.level);
    CHECK_EQ(rd(u, IIR), 0xcc);
    /* Reaching the trigger level: received data available. */
    uart_input(u, (const uint8_t *)"2345678", 7);
    CHECK_EQ(rd(u, IIR), 0xc4);
    /* Data outranks THRE. */
    wr(u, THR, '!');
    CHECK_EQ(rd(u, IIR), 0xc4);
    for (int i = 0; i < 8; i++)
        rd(u, RBR);
    CHECK(cap.level);
    CHECK_EQ(rd(u, IIR), 0xc2); /* now THRE shows */
    CHECK(!cap.level);
    CHECK_EQ(rd(u, IIR), 0xc1);
    CHECK(!cap.level);
    /* RDI masked: data present but no interrupt. */
    wr(u, IER, 0x00);
    uart_input(u, (const uint8_t *)"x", 1);
    CHECK_EQ(rd(u, IIR), 0xc1);
    CHECK(!cap.level);
    wr(u, IER, 0x01);
    CHECK(cap.level);
    CHECK_EQ(rd(u, RBR), 'x');
    CHECK(!cap.level);
    /* FIFOs off: any data is "received data available". */
    wr(u, FCR, 0x00);
    uart_input(u, (const uint8_t *)"y", 1);
    CHECK_EQ(rd(u, IIR), 0x04);
    CHECK_EQ(rd(u, RBR), 'y');
    CHECK_EQ(rd(u, IIR), 0x01);
    uart_free(u);
}

static void uart_line_status_overrun(void)
{
    struct uart *u = mk();
    wr(u, FCR, 0x01);
    wr(u, MCR, 0x10); /* loopback */
    CHECK_EQ(uart_input_room(u), 0);
    CHECK_EQ(uart_input(u, (const uint8_t *)"q", 1), 0);
    wr(u, THR, 'x');
    CHECK_EQ(cap.nout, 0); /* looped back, not sent */
    CHECK_EQ(rd(u, LSR) & 1, 1);
    CHECK_EQ(rd(u, RBR), 'x');
    /* Fill the FIFO through the loop, then overrun it. */
    unsigned pushed = 0;
    while (!(rd(u, LSR) & 0x02) && pushed < 100000) {
        wr(u, THR, (uint8_t)pushed);
        pushed++;
    }
    CHECK(pushed >= 17);
    wr(u, IER, 0x05); /* RLSI | RDI */
    wr(u, THR, 0xee);
    CHECK_EQ(rd(u, IIR), 0xc6);
    CHECK(cap.level);
    uint8_t lsr = rd(u, LSR);
    CHECK_EQ(lsr & 0x03, 0x03); /* OE and DR, OE cleared by this read */
    CHECK_EQ(rd(u, LSR) & 0x02, 0);
    CHECK_EQ(rd(u, IIR), 0xc4); /* data remains */
    CHECK_EQ(rd(u, RBR), 0);    /* first byte kept, in order */
    CHECK_EQ(rd(u, RBR), 1);
    wr(u, MCR, 0x08);
    CHECK(uart_input_room(u) > 0);
    uart_free(u);
}

static void uart_thre_semantics(void)
{
    struct uart *u = mk();
    wr(u, FCR, 0x01);
    wr(u, IER, 0x02);
    CHECK(cap.level);
    CHECK_EQ(rd(u, IIR), 0xc2);
    CHECK(!cap.level); /* cleared by reading IIR */
    CHECK_EQ(rd(u, IIR), 0xc1);
    /* Writing THR: the byte leaves at once, THRE interrupt again. */
    wr(u, THR, 'a');
    CHECK(cap.level);
    CHECK_EQ(rd(u, IIR), 0xc2);
    CHECK(!cap.level);
    /* The 8250 THRE test: IER toggled 0 -> THRI re-asserts. */
    wr(u, IER, 0x00);
    wr(u, IER, 0x02);
    CHECK(cap.level);
    CHECK_EQ(rd(u, IIR), 0xc2);
    /* Disabling THRI lowers the line even with the latch set. */
    wr(u, THR, 'b');
    CHECK(cap.level);
    wr(u, IER, 0x00);
    CHECK(!cap.level);
    CHECK_EQ(rd(u, IIR), 0xc1);
    /* A transmit FIFO reset sets THRE (interrupt if enabled). */
    wr(u, IER, 0x02);
    rd(u, IIR);
    CHECK(!cap.level);
    wr(u, FCR, 0x05);
    CHECK(cap.level);
    CHECK_EQ(rd(u, IIR), 0xc2);
    CHECK_EQ(cap.nout, 2);
    uart_free(u);
}

static void uart_fcr_resets(void)
{
    struct uart *u = mk();
    wr(u, FCR, 0x01);
    uart_input(u, (const uint8_t *)"abcd", 4);
    wr(u, FCR, 0x03); /* clear RX */
    CHECK_EQ(rd(u, LSR) & 1, 0);
    uart_input(u, (const uint8_t *)"ef", 2);
    wr(u, FCR, 0x00); /* toggling FE flushes */
    CHECK_EQ(rd(u, LSR) & 1, 0);
    uart_input(u, (const uint8_t *)"g", 1);
    wr(u, FCR, 0x00); /* no toggle: kept */
    CHECK_EQ(rd(u, RBR), 'g');
    uart_free(u);
}

static void uart_wide_and_bad_accesses(void)
{
    struct uart *u = mk();
    wr(u, SCR, 0x77);
    uint64_t v = 0;
    /* Bytes 4..7: MCR, LSR, MSR, SCR. */
    CHECK_EQ(uart_mmio_ops.read(u, 4, 4, &v), 0);
    CHECK_EQ(v, 0x77b06008ull);
    /* A 4-byte write at 4 writes MCR and SCR (LSR/MSR read-only). */
    CHECK_EQ(uart_mmio_ops.write(u, 4, 4, 0x11ffff03ull), 0);
    CHECK_EQ(rd(u, MCR), 0x03);
    CHECK_EQ(rd(u, SCR), 0x11);
    CHECK_EQ(rd(u, LSR), 0x60);
    for (uint64_t off = 8; off < UART_SIZE; off++) {
        v = 1;
        CHECK_EQ(uart_mmio_ops.read(u, off, 1, &v), 0);
        CHECK_EQ(v, 0);
        CHECK_EQ(uart_mmio_ops.write(u, off, 1, 0x41), 0);
    }
    CHECK_EQ(cap.nout, 0);
    CHECK(uart_mmio_ops.read(u, 1, 2, &v) < 0);
    CHECK(uart_mmio_ops.write(u, 2, 4, 0) < 0);
    CHECK(uart_mmio_ops.read(u, 0, 3, &v) < 0);
    uart_free(u);
}

struct feeder {
    struct uart *u;
    unsigned n;
};

static uint8_t pattern(unsigned i)
{
    return (uint8_t)(i * 13 + (i >> 8));
}

static void *feed(void *arg)
{
    struct feeder *f = arg;
    unsigned i = 0;
    while (i < f->n) {
        uint8_t buf[37];
        unsigned k = 0;
        for (; k < sizeof(buf) && i + k < f->n; k++)
            buf[k] = pattern(i + k);
        i += (unsigned)uart_input(f->u, buf, k);
        if (uart_input_room(f->u) == 0)
            sched_yield();
    }
    return NULL;
}

static void uart_threaded_input(void)
{
    struct uart *u = mk();
    wr(u, FCR, 0x07);
    wr(u, IER, 0x01);
    struct feeder f = {.u = u, .n = 100000};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, feed, &f), 0);
    unsigned got = 0, wrong = 0;
    while (got < f.n) {
        if (rd(u, LSR) & 1) {
            if (rd(u, RBR) != pattern(got))
                wrong++;
            got++;
        } else {
            sched_yield();
        }
    }
    pthread_join(t, NULL);
    CHECK_EQ(wrong, 0);
    CHECK_EQ(rd(u, LSR) & 1, 0);
    CHECK(!cap.level);
    uart_free(u);
}

int main(void)
{
    RUN(uart_8250_probes);
    RUN(uart_dlab);
    RUN(uart_transmit);
    RUN(uart_rx_fifo_order_and_overflow);
    RUN(uart_iir_priorities);
    RUN(uart_line_status_overrun);
    RUN(uart_thre_semantics);
    RUN(uart_fcr_resets);
    RUN(uart_wide_and_bad_accesses);
    RUN(uart_threaded_input);
    T_EXIT();
}

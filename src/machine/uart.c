/* NS16550A UART, modelled on QEMU's hw/char/serial.c (the reference Linux's
 * 8250 driver and OpenSBI are known to work with).
 *
 * Registers (byte offsets, reg-shift 0):
 *   0 RBR (read) / THR (write) / DLL (DLAB=1)
 *   1 IER (4 bits) / DLM (DLAB=1)
 *   2 IIR (read) / FCR (write; FCR is written whatever DLAB says)
 *   3 LCR   4 MCR (5 bits)   5 LSR   6 MSR   7 SCR
 * Offsets 8..UART_SIZE-1 read 0 and ignore writes. Accesses wider than a
 * byte are split into byte accesses, lowest address first (as QEMU's
 * serial_mm does), each with its side effects.
 *
 * Transmit: a THR write goes straight to the sink (or, in loopback, into the
 * receive FIFO), so LSR.THRE and LSR.TEMT always read 1. The sink is called
 * with the UART's lock held (keeps the bytes of several harts in order): it
 * must not call back into this UART.
 *
 * Receive: a FIFO of UART_RX_FIFO (256) bytes, larger than a real 16550A's
 * 16 so a console can push pasted text in bigger pieces; the guest cannot
 * tell (it drains while LSR.DR). uart_input stores what fits and returns the
 * count: bytes are never dropped by it. With the FIFOs disabled (FCR.FE=0,
 * 16450 mode) the same buffer keeps being used: DR stays set while bytes
 * remain. In loopback mode (MCR.LOOP) outside input is refused (room 0) and
 * THR bytes are received instead; a loopback byte that finds the FIFO full
 * is lost and sets LSR.OE (a receiver-line-status interrupt if IER.RLSI).
 *
 * Interrupts (IIR priority order, highest first):
 *   RLS  0x06  IER.RLSI and LSR.OE/BI (cleared by reading LSR)
 *   RDA  0x04  IER.RDI and data count >= the FCR trigger level (or any data
 *              when the FIFOs are disabled)
 *   CTI  0x0c  IER.RDI and data below the trigger level. There is no
 *              character-timeout timer: the timeout is deemed to have expired
 *              at once, so data below the trigger level is reported
 *              immediately with the timeout id. Linux treats both the same.
 *   THRE 0x02  IER.THRI and the THRE interrupt latch. The latch is set when
 *              IER.THRI goes 0->1 (THR is always empty), by a THR write (the
 *              byte leaves at once, so the holder is empty again) and by an
 *              FCR transmit-FIFO reset; it is cleared by reading IIR while
 *              THRE is the reported source, and when IER.THRI goes 1->0.
 *   MSI  0x00  never: modem status lines never change (MSR = DCD|DSR|CTS).
 * IIR bits 7:6 read 11 while the FIFOs are enabled (how the 8250 driver
 * detects a 16550A). The irq line level is "IIR bit 0 is clear", written
 * with irq_line_set after every state change.
 *
 * Locking: one mutex guards all state; uart_input / uart_input_room may be
 * called from any thread concurrently with the MMIO handlers. */
#include "machine/uart.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define UART_RX_FIFO 256u

enum {
    R_RBR = 0, R_IER = 1, R_IIR = 2, R_LCR = 3,
    R_MCR = 4, R_LSR = 5, R_MSR = 6, R_SCR = 7,
};

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c
#define IIR_FE 0xc0

#define FCR_FE 0x01
#define FCR_RFR 0x02
#define FCR_XFR 0x04

#define LCR_DLAB 0x80

#define MCR_LOOP 0x10
#define MCR_OUT2 0x08

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80

struct uart {
    pthread_mutex_t lock;
    struct irq_line irq;
    uart_sink sink;
    void *sink_ctx;

    uint8_t rx[UART_RX_FIFO];
    unsigned rx_head, rx_count;

    uint16_t divider;
    uint8_t ier, iir, fcr, lcr, mcr, lsr, msr, scr;
    unsigned rx_trigger;   /* FCR receive trigger level, bytes */
    bool thr_ipending;     /* THRE interrupt latch */
};

struct uart *uart_new(struct irq_line irq, uart_sink sink, void *sink_ctx)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->irq = irq;
    u->sink = sink;
    u->sink_ctx = sink_ctx;
    /* QEMU's reset values: 9600 8N1 divider, OUT2 set. */
    u->divider = 0x0c;
    u->iir = IIR_NO_INT;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
    u->mcr = MCR_OUT2;
    u->rx_trigger = 1;
    return u;
}

void uart_free(struct uart *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

/* Recompute IIR and the line. Lock held. */
static void uart_update(struct uart *u)
{
    uint8_t id = IIR_NO_INT;
    bool fifo = u->fcr & FCR_FE;
    if ((u->ier & IER_RLSI) && (u->lsr & (LSR_OE | LSR_BI)))
        id = IIR_RLSI;
    else if ((u->ier & IER_RDI) && (u->lsr & LSR_DR))
        id = (!fifo || u->rx_count >= u->rx_trigger) ? IIR_RDI : IIR_CTI;
    else if ((u->ier & IER_THRI) && u->thr_ipending)
        id = IIR_THRI;
    u->iir = id | (fifo ? IIR_FE : 0);
    irq_line_set(&u->irq, id != IIR_NO_INT);
}

static size_t uart_room_locked(const struct uart *u)
{
    if (u->mcr & MCR_LOOP)
        return 0;
    return UART_RX_FIFO - u->rx_count;
}

/* Append one byte; false if the FIFO is full. Lock held. */
static bool uart_rx_push(struct uart *u, uint8_t b)
{
    if (u->rx_count == UART_RX_FIFO)
        return false;
    u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = b;
    u->rx_count++;
    u->lsr |= LSR_DR;
    return true;
}

static void uart_rx_reset(struct uart *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
    u->lsr &= ~(LSR_DR | LSR_BI);
}

size_t uart_input(struct uart *u, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&u->lock);
    size_t room = uart_room_locked(u);
    size_t n = len < room ? len : room;
    for (size_t i = 0; i < n; i++)
        uart_rx_push(u, buf[i]);
    if (n)
        uart_update(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

size_t uart_input_room(struct uart *u)
{
    pthread_mutex_lock(&u->lock);
    size_t room = uart_room_locked(u);
    pthread_mutex_unlock(&u->lock);
    return room;
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
    uint8_t r = 0;
    switch (reg) {
    case R_RBR:
        if (u->lcr & LCR_DLAB)
            return (uint8_t)u->divider;
        if (u->rx_count) {
            r = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
            u->rx_count--;
        }
        if (!u->rx_count)
            u->lsr &= ~(LSR_DR | LSR_BI);
        uart_update(u);
        return r;
    case R_IER:
        if (u->lcr & LCR_DLAB)
            return (uint8_t)(u->divider >> 8);
        return u->ier;
    case R_IIR:
        r = u->iir;
        if ((r & 0x0f) == IIR_THRI) {
            u->thr_ipending = false;
            uart_update(u);
        }
        return r;
    case R_LCR:
        return u->lcr;
    case R_MCR:
        return u->mcr;
    case R_LSR:
        r = u->lsr;
        if (u->lsr & (LSR_BI | LSR_OE)) {
            u->lsr &= ~(LSR_BI | LSR_OE);
            uart_update(u);
        }
        return r;
    case R_MSR:
        if (u->mcr & MCR_LOOP) {
            /* Outputs looped back: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
            r = (uint8_t)((u->mcr & 0x0c) << 4);
            r |= (u->mcr & 0x02) << 3;
            r |= (u->mcr & 0x01) << 5;
            return r;
        }
        return u->msr;
    case R_SCR:
        return u->scr;
    }
    return 0;
}

static void uart_write_reg(struct uart *u, unsigned reg, uint8_t v)
{
    switch (reg) {
    case R_RBR:
        if (u->lcr & LCR_DLAB) {
            u->divider = (uint16_t)((u->divider & 0xff00) | v);
            return;
        }
        if (u->mcr & MCR_LOOP) {
            if (!uart_rx_push(u, v))
                u->lsr |= LSR_OE;
        } else if (u->sink) {
            u->sink(u->sink_ctx, &v, 1);
        }
        /* Cleared by the write, set again as the byte has left at once. */
        u->thr_ipending = true;
        uart_update(u);
        return;
    case R_IER:
        if (u->lcr & LCR_DLAB) {
            u->divider = (uint16_t)((u->divider & 0x00ff) | (v << 8));
            return;
        } else {
            uint8_t changed = (u->ier ^ v) & 0x0f;
            u->ier = v & 0x0f;
            if (changed & IER_THRI)
                u->thr_ipending = (u->ier & IER_THRI) && (u->lsr & LSR_THRE);
            if (changed)
                uart_update(u);
        }
        return;
    case R_IIR: /* FCR */
        if ((v ^ u->fcr) & FCR_FE)
            v |= FCR_RFR | FCR_XFR; /* toggling the FIFOs resets them */
        if (v & FCR_RFR)
            uart_rx_reset(u);
        if (v & FCR_XFR) {
            u->lsr |= LSR_THRE;
            u->thr_ipending = true;
        }
        u->fcr = v & 0xc9; /* FE, DMA mode, trigger level stick */
        switch (v & 0xc0) {
        case 0x00: u->rx_trigger = 1; break;
        case 0x40: u->rx_trigger = 4; break;
        case 0x80: u->rx_trigger = 8; break;
        default: u->rx_trigger = 14; break;
        }
        uart_update(u);
        return;
    case R_LCR:
        u->lcr = v;
        return;
    case R_MCR:
        u->mcr = v & 0x1f;
        return;
    case R_LSR:
    case R_MSR:
        return; /* read-only */
    case R_SCR:
        u->scr = v;
        return;
    }
}

static int uart_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    struct uart *u = dev;
    if ((len != 1 && len != 2 && len != 4 && len != 8) || (off & (len - 1)))
        return -1;
    uint64_t v = 0;
    pthread_mutex_lock(&u->lock);
    for (unsigned i = 0; i < len; i++)
        if (off + i < 8)
            v |= (uint64_t)uart_read_reg(u, (unsigned)(off + i)) << (8 * i);
    pthread_mutex_unlock(&u->lock);
    *val = v;
    return 0;
}

static int uart_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    struct uart *u = dev;
    if ((len != 1 && len != 2 && len != 4 && len != 8) || (off & (len - 1)))
        return -1;
    pthread_mutex_lock(&u->lock);
    for (unsigned i = 0; i < len; i++)
        if (off + i < 8)
            uart_write_reg(u, (unsigned)(off + i), (uint8_t)(val >> (8 * i)));
    pthread_mutex_unlock(&u->lock);
    return 0;
}

const struct mmio_ops uart_mmio_ops = {
    .read = uart_read,
    .write = uart_write,
};

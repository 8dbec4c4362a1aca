/* How devices plug into the board: a device exposes MMIO handlers for its
 * register window and drives interrupt lines. One device per file. */
#ifndef DISCO_MACHINE_DEVICE_H
#define DISCO_MACHINE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

/* Register access at byte offset `off` inside the device's window; len is
 * 1, 2, 4 or 8 and off is len-aligned by the board... unless the guest did
 * a misaligned device access, which the board turns into an access fault.
 * Return 0, or <0 to make the access fault (a guest-visible fault, never a
 * host crash). Unknown registers should read 0 / ignore writes unless the
 * device's spec says otherwise. */
struct mmio_ops {
    int (*read)(void *dev, uint64_t off, unsigned len, uint64_t *val);
    int (*write)(void *dev, uint64_t off, unsigned len, uint64_t val);
};

/* A level-triggered interrupt line into the PLIC (source number `num`). */
struct irq_line {
    void (*set)(void *ctx, unsigned num, bool level);
    void *ctx;
    unsigned num;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
    if (l && l->set)
        l->set(l->ctx, l->num, level);
}

#endif

/* PLIC (SiFive platform-level interrupt controller), QEMU virt layout:
 * sources 1..PLIC_NUM_SOURCES-1; for hart i, context 2i is M-mode (drives
 * MEIP) and context 2i+1 is S-mode (drives SEIP). Priorities at 0x0,
 * pending at 0x1000, enables at 0x2000 + 0x80*ctx, threshold/claim at
 * 0x200000 + 0x1000*ctx. */
#ifndef DISCO_MACHINE_PLIC_H
#define DISCO_MACHINE_PLIC_H

#include <stdbool.h>

#include "machine/device.h"
#include "riscv/hart.h"

#define PLIC_NUM_SOURCES 96   /* source 0 is reserved */
#define PLIC_SIZE 0x600000

struct plic;
struct plic *plic_new(struct rv_hart **harts, unsigned nharts);
void plic_free(struct plic *p);
/* Level-triggered input; signature matches irq_line.set (ctx = plic).
 * Thread-safe: devices may call it from any thread. */
void plic_set_irq(void *plic, unsigned num, bool level);
extern const struct mmio_ops plic_mmio_ops;
/* Optional: wake(ctx, hart) is called when an output of hart `hart` (MEIP
 * or SEIP) goes from low to high, so a run loop sleeping in WFI can pick
 * the hart up. Called with the PLIC's lock held, from whichever thread
 * caused the change: it must not call back into the PLIC. Set it before the
 * harts or devices run. */
void plic_set_wake(struct plic *p, void (*wake)(void *ctx, unsigned hart), void *ctx);

#endif

/* CLINT (SiFive core-local interruptor), QEMU virt layout: msip[hart] at
 * 0x0 + 4*hart, mtimecmp[hart] at 0x4000 + 8*hart, mtime at 0xbff8.
 * mtime comes from the shared rv_clock; mtimecmp lives in the hart
 * (h->mtimecmp) so the CPU checks its own timer without calling out. */
#ifndef DISCO_MACHINE_CLINT_H
#define DISCO_MACHINE_CLINT_H

#include "machine/device.h"
#include "riscv/hart.h"

#define CLINT_SIZE 0x10000

struct clint;
struct clint *clint_new(struct rv_hart **harts, unsigned nharts, struct rv_clock *clock);
void clint_free(struct clint *c);
extern const struct mmio_ops clint_mmio_ops;
/* Optional: wake(ctx, hart) is called when an access sets that hart's
 * MSIP, or makes its MTIP pending (mtimecmp/mtime writes), so a run loop
 * sleeping in WFI can pick the hart up. Called on the accessing thread,
 * possibly with the CLINT's lock held: it must not call back into the
 * CLINT. (A timer that expires later is no CLINT event: the idle loop uses
 * rv_hart_next_timer.) Set it before the harts run. */
void clint_set_wake(struct clint *c, void (*wake)(void *ctx, unsigned hart), void *ctx);

#endif

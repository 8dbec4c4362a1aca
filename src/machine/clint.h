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

#endif

/* sifive,test0 / syscon power control (QEMU virt 0x100000): writing 0x5555
 * powers off, 0x7777 resets, 0x3333 | (code << 16) powers off with a
 * failure code. Linux uses it via syscon-poweroff / syscon-reboot. */
#ifndef DISCO_MACHINE_SYSCON_H
#define DISCO_MACHINE_SYSCON_H

#include "machine/device.h"

#define SYSCON_SIZE 0x1000

enum syscon_event { SYSCON_POWEROFF, SYSCON_RESET, SYSCON_FAIL };
typedef void (*syscon_handler)(void *ctx, enum syscon_event ev, unsigned code);

struct syscon;
struct syscon *syscon_new(syscon_handler fn, void *ctx);
void syscon_free(struct syscon *s);
extern const struct mmio_ops syscon_mmio_ops;

#endif

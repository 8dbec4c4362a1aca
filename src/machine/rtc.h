/* Goldfish RTC (QEMU virt 0x101000, irq 11): wall-clock time in ns from the
 * host's CLOCK_REALTIME plus a guest-set offset; alarm support optional. */
#ifndef DISCO_MACHINE_RTC_H
#define DISCO_MACHINE_RTC_H

#include "machine/device.h"

#define RTC_SIZE 0x1000

struct rtc;
struct rtc *rtc_new(struct irq_line irq);
void rtc_free(struct rtc *r);
extern const struct mmio_ops rtc_mmio_ops;

#endif

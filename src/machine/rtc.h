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
/* Fire the alarm if it is due. Alarms are otherwise only checked lazily, on
 * the guest's accesses to the RTC (there is no timer thread); a board that
 * wants alarms to fire on time while the guest does not touch the RTC calls
 * this now and then (e.g. from its idle loop). Thread-safe. */
void rtc_poll(struct rtc *r);

#endif

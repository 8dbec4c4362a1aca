/* Goldfish RTC (google,goldfish-rtc; QEMU virt 0x101000, irq 11), modelled
 * on QEMU's hw/rtc/goldfish_rtc.c.
 *
 *   0x00 TIME_LOW        read: low 32 bits of the time, and latches the
 *                        high 32 bits for TIME_HIGH; write: see below
 *   0x04 TIME_HIGH       read: the latched high half; write: see below
 *   0x08 ALARM_LOW       write: low half of the alarm, and arms it
 *   0x0c ALARM_HIGH      write: high half of the alarm (write it first)
 *   0x10 IRQ_ENABLED     bit 0
 *   0x14 CLEAR_ALARM     write: disarm the alarm
 *   0x18 ALARM_STATUS    read: 1 while an alarm is armed and has not fired
 *   0x1c CLEAR_INTERRUPT write: drop the pending alarm interrupt
 * Other offsets read 0 and ignore writes. Registers are 32-bit: len 4 is
 * native, len 8 is two 32-bit accesses lower address first (so an 8-byte
 * read at 0 returns a consistent 64-bit time), len 1 and 2 fault (QEMU's
 * device only decodes 32-bit accesses).
 *
 * Time is ns since the epoch: host CLOCK_REALTIME + a guest-set offset.
 * Setting it: a TIME_HIGH write takes effect at once (replacing the high
 * half of the current time) and is also remembered; the next TIME_LOW write
 * sets the time to (remembered high << 32 | low), or to (current high << 32
 * | low) if no TIME_HIGH write preceded it. So Linux's HIGH-then-LOW
 * sequence sets exactly the 64-bit value it meant, even if the low half of
 * the clock wraps in between.
 *
 * Alarm: arming an alarm whose time has already come fires it at once
 * (interrupt pending, ALARM_STATUS 0). A future alarm is checked lazily: on
 * every access to the RTC and on rtc_poll(); there is no timer thread.
 * The irq line is (interrupt pending && IRQ_ENABLED).
 *
 * Locking: one mutex guards the state (harts and rtc_poll may race). */
#include "machine/rtc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

enum {
    RTC_TIME_LOW = 0x00,
    RTC_TIME_HIGH = 0x04,
    RTC_ALARM_LOW = 0x08,
    RTC_ALARM_HIGH = 0x0c,
    RTC_IRQ_ENABLED = 0x10,
    RTC_CLEAR_ALARM = 0x14,
    RTC_ALARM_STATUS = 0x18,
    RTC_CLEAR_INTERRUPT = 0x1c,
};

struct rtc {
    pthread_mutex_t lock;
    struct irq_line irq;
    uint64_t offset;        /* added (mod 2^64) to host realtime ns */
    uint32_t time_high;     /* latched by TIME_LOW reads */
    bool set_high_valid;    /* a TIME_HIGH write awaits its TIME_LOW */
    uint32_t set_high;
    uint64_t alarm_next;
    bool alarm_running;
    bool irq_enabled;
    bool irq_pending;
};

static uint64_t host_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_now(const struct rtc *r)
{
    return host_realtime_ns() + r->offset;
}

static void rtc_set_time(struct rtc *r, uint64_t t)
{
    r->offset = t - host_realtime_ns();
}

struct rtc *rtc_new(struct irq_line irq)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->irq = irq;
    return r;
}

void rtc_free(struct rtc *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void rtc_update(struct rtc *r)
{
    irq_line_set(&r->irq, r->irq_pending && r->irq_enabled);
}

/* Fire a due alarm. Lock held. */
static void rtc_check_alarm(struct rtc *r)
{
    if (r->alarm_running && rtc_now(r) >= r->alarm_next) {
        r->alarm_running = false;
        r->irq_pending = true;
        rtc_update(r);
    }
}

void rtc_poll(struct rtc *r)
{
    pthread_mutex_lock(&r->lock);
    rtc_check_alarm(r);
    pthread_mutex_unlock(&r->lock);
}

static uint32_t rtc_read32(struct rtc *r, uint64_t off)
{
    uint64_t now;
    switch (off) {
    case RTC_TIME_LOW:
        now = rtc_now(r);
        r->time_high = (uint32_t)(now >> 32);
        return (uint32_t)now;
    case RTC_TIME_HIGH:
        return r->time_high;
    case RTC_ALARM_LOW:
        return (uint32_t)r->alarm_next;
    case RTC_ALARM_HIGH:
        return (uint32_t)(r->alarm_next >> 32);
    case RTC_IRQ_ENABLED:
        return r->irq_enabled;
    case RTC_ALARM_STATUS:
        return r->alarm_running;
    default:
        return 0;
    }
}

static void rtc_write32(struct rtc *r, uint64_t off, uint32_t v)
{
    uint64_t now;
    switch (off) {
    case RTC_TIME_LOW:
        now = rtc_now(r);
        if (r->set_high_valid)
            now = (uint64_t)r->set_high << 32;
        rtc_set_time(r, (now & ~0xffffffffull) | v);
        r->set_high_valid = false;
        break;
    case RTC_TIME_HIGH:
        now = rtc_now(r);
        rtc_set_time(r, ((uint64_t)v << 32) | (now & 0xffffffffull));
        r->set_high_valid = true;
        r->set_high = v;
        break;
    case RTC_ALARM_LOW:
        r->alarm_next = (r->alarm_next & ~0xffffffffull) | v;
        r->alarm_running = true; /* fires at the end of this access if due */
        break;
    case RTC_ALARM_HIGH:
        r->alarm_next = ((uint64_t)v << 32) | (r->alarm_next & 0xffffffffull);
        break;
    case RTC_IRQ_ENABLED:
        r->irq_enabled = v & 1;
        rtc_update(r);
        break;
    case RTC_CLEAR_ALARM:
        r->alarm_running = false;
        break;
    case RTC_CLEAR_INTERRUPT:
        r->irq_pending = false;
        rtc_update(r);
        break;
    default:
        break;
    }
}

static int rtc_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    struct rtc *r = dev;
    if ((len != 4 && len != 8) || (off & (len - 1)))
        return -1;
    uint64_t v = 0;
    pthread_mutex_lock(&r->lock);
    rtc_check_alarm(r);
    for (unsigned i = 0; i < len / 4; i++)
        v |= (uint64_t)rtc_read32(r, off + 4 * i) << (32 * i);
    pthread_mutex_unlock(&r->lock);
    *val = v;
    return 0;
}

static int rtc_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    struct rtc *r = dev;
    if ((len != 4 && len != 8) || (off & (len - 1)))
        return -1;
    pthread_mutex_lock(&r->lock);
    rtc_check_alarm(r);
    for (unsigned i = 0; i < len / 4; i++)
        rtc_write32(r, off + 4 * i, (uint32_t)(val >> (32 * i)));
    /* After the whole access, so an 8-byte ALARM write arms the full value. */
    rtc_check_alarm(r);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

const struct mmio_ops rtc_mmio_ops = {
    .read = rtc_read,
    .write = rtc_write,
};

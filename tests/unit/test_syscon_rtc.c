/* syscon (sifive,test0) codes; goldfish RTC time, set-time offset, alarms
 * (past alarms fire at once, future ones lazily / via rtc_poll), irq
 * enable and clear, bad accesses. */
#include <stdint.h>
#include <time.h>

#include "machine/rtc.h"
#include "machine/syscon.h"
#include "t.h"

/* ---- syscon ---- */

struct ev {
    unsigned n;
    enum syscon_event ev;
    unsigned code;
};

static void on_event(void *ctx, enum syscon_event ev, unsigned code)
{
    struct ev *e = ctx;
    e->n++;
    e->ev = ev;
    e->code = code;
}

static void syscon_codes(void)
{
    struct ev e = {0};
    struct syscon *s = syscon_new(on_event, &e);
    uint64_t v = 1;
    CHECK_EQ(syscon_mmio_ops.read(s, 0, 4, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0x5555), 0);
    CHECK_EQ(e.n, 1);
    CHECK_EQ(e.ev, SYSCON_POWEROFF);
    CHECK_EQ(e.code, 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0x7777), 0);
    CHECK_EQ(e.n, 2);
    CHECK_EQ(e.ev, SYSCON_RESET);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0x3333 | (42u << 16)), 0);
    CHECK_EQ(e.n, 3);
    CHECK_EQ(e.ev, SYSCON_FAIL);
    CHECK_EQ(e.code, 42);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0xffff3333u), 0);
    CHECK_EQ(e.n, 4);
    CHECK_EQ(e.code, 0xffff);
    /* Ignored: other values, other offsets, byte writes. */
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0x1234), 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0), 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0x5556), 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 4, 4, 0x5555), 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 0x800, 4, 0x7777), 0);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 1, 0x55), 0);
    CHECK_EQ(e.n, 4);
    /* 16-bit store of the status (QEMU accepts it too). */
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 2, 0x5555), 0);
    CHECK_EQ(e.n, 5);
    CHECK_EQ(e.ev, SYSCON_POWEROFF);
    syscon_free(s);
    /* No handler: harmless. */
    s = syscon_new(NULL, NULL);
    CHECK_EQ(syscon_mmio_ops.write(s, 0, 4, 0x5555), 0);
    syscon_free(s);
}

/* ---- RTC ---- */

#define TIME_LOW 0x00
#define TIME_HIGH 0x04
#define ALARM_LOW 0x08
#define ALARM_HIGH 0x0c
#define IRQ_ENABLED 0x10
#define CLEAR_ALARM 0x14
#define ALARM_STATUS 0x18
#define CLEAR_INTERRUPT 0x1c

struct line {
    int level;
    unsigned num;
};

static void on_irq(void *ctx, unsigned num, bool level)
{
    struct line *l = ctx;
    l->level = level;
    l->num = num;
}

static struct line line;

static struct rtc *mk(void)
{
    memset(&line, 0, sizeof(line));
    struct irq_line l = {.set = on_irq, .ctx = &line, .num = 11};
    return rtc_new(l);
}

static uint32_t rd(struct rtc *r, uint64_t off)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    CHECK_EQ(rtc_mmio_ops.read(r, off, 4, &v), 0);
    CHECK(v <= 0xffffffffull);
    return (uint32_t)v;
}

static void wr(struct rtc *r, uint64_t off, uint32_t v)
{
    CHECK_EQ(rtc_mmio_ops.write(r, off, 4, v), 0);
}

/* How Linux's rtc-goldfish reads the time. */
static uint64_t rtc_time(struct rtc *r)
{
    uint64_t lo = rd(r, TIME_LOW);
    uint64_t hi = rd(r, TIME_HIGH);
    return hi << 32 | lo;
}

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void rtc_time_is_host_realtime(void)
{
    struct rtc *r = mk();
    uint64_t before = host_ns();
    uint64_t t = rtc_time(r);
    uint64_t after = host_ns();
    CHECK(t >= before && t <= after);
    CHECK(t > 1600000000ull * 1000000000u); /* after 2020 */
    /* 8-byte read gives the same thing in one access. */
    uint64_t v;
    CHECK_EQ(rtc_mmio_ops.read(r, TIME_LOW, 8, &v), 0);
    CHECK(v >= t && v - t < 1000000000u);
    sleep_ms(5);
    uint64_t t2 = rtc_time(r);
    CHECK(t2 - t >= 5000000);
    rtc_free(r);
}

static void rtc_set_time(void)
{
    struct rtc *r = mk();
    /* Linux: HIGH then LOW. Low half close to wrapping on purpose. */
    uint64_t target = 0x00000005fffffff0ull;
    wr(r, TIME_HIGH, (uint32_t)(target >> 32));
    wr(r, TIME_LOW, (uint32_t)target);
    uint64_t t = rtc_time(r);
    CHECK(t >= target && t - target < 1000000000u);
    /* It keeps running. */
    sleep_ms(3);
    uint64_t t2 = rtc_time(r);
    CHECK(t2 - t >= 3000000);
    /* Far in the future (2100). */
    target = 4102444800ull * 1000000000u;
    wr(r, TIME_HIGH, (uint32_t)(target >> 32));
    wr(r, TIME_LOW, (uint32_t)target);
    t = rtc_time(r);
    CHECK(t >= target && t - target < 1000000000u);
    /* A LOW write alone keeps the current high half. */
    wr(r, TIME_LOW, 0);
    t = rtc_time(r);
    CHECK_EQ(t >> 32, target >> 32);
    CHECK((t & 0xffffffffu) < 1000000000u);
    /* A HIGH write alone takes effect too. */
    wr(r, TIME_HIGH, 7);
    CHECK_EQ(rtc_time(r) >> 32, 7);
    /* Other RTC instances are unaffected (no global state). */
    struct rtc *r2 = mk();
    uint64_t h = host_ns();
    uint64_t t3 = rtc_time(r2);
    CHECK(t3 >= h && t3 - h < 1000000000u);
    rtc_free(r2);
    rtc_free(r);
}

static void rtc_alarm_in_past_fires_at_once(void)
{
    struct rtc *r = mk();
    wr(r, IRQ_ENABLED, 1);
    CHECK_EQ(rd(r, IRQ_ENABLED), 1);
    uint64_t when = rtc_time(r) - 1000000000u;
    wr(r, ALARM_HIGH, (uint32_t)(when >> 32));
    wr(r, ALARM_LOW, (uint32_t)when);
    CHECK(line.level);
    CHECK_EQ(line.num, 11);
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    CHECK_EQ(rd(r, ALARM_LOW), (uint32_t)when);
    CHECK_EQ(rd(r, ALARM_HIGH), (uint32_t)(when >> 32));
    wr(r, CLEAR_INTERRUPT, 1);
    CHECK(!line.level);
    rtc_free(r);
}

/* Sleep until the host clock (= a fresh RTC's clock) is past `when`. */
static void sleep_past(uint64_t when)
{
    while (host_ns() <= when + 1000000u)
        sleep_ms(5);
}

/* Margins: an alarm armed ALARM_MARGIN ahead must not have fired by the
 * next few statements, even on a loaded machine. */
#define ALARM_MARGIN 300000000u /* 300 ms */

static void rtc_alarm_future_lazy(void)
{
    struct rtc *r = mk();
    uint64_t when = rtc_time(r) + ALARM_MARGIN;
    wr(r, ALARM_HIGH, (uint32_t)(when >> 32));
    wr(r, ALARM_LOW, (uint32_t)when);
    CHECK_EQ(rd(r, ALARM_STATUS), 1);
    CHECK(!line.level);
    sleep_past(when);
    rtc_poll(r);
    /* Fired, but the interrupt is not enabled yet. */
    CHECK(!line.level);
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    wr(r, IRQ_ENABLED, 1);
    CHECK(line.level);
    wr(r, IRQ_ENABLED, 0);
    CHECK(!line.level);
    wr(r, IRQ_ENABLED, 1);
    wr(r, CLEAR_INTERRUPT, 1);
    CHECK(!line.level);
    /* Any register access also notices a due alarm (no timer thread: the
     * line stays low until then). */
    when = rtc_time(r) + ALARM_MARGIN;
    wr(r, ALARM_HIGH, (uint32_t)(when >> 32));
    wr(r, ALARM_LOW, (uint32_t)when);
    CHECK(!line.level);
    sleep_past(when);
    CHECK(!line.level);
    (void)rd(r, IRQ_ENABLED);
    CHECK(line.level);
    wr(r, CLEAR_INTERRUPT, 1);
    CHECK(!line.level);
    rtc_free(r);
}

static void rtc_clear_alarm_disarms(void)
{
    struct rtc *r = mk();
    wr(r, IRQ_ENABLED, 1);
    uint64_t when = rtc_time(r) + ALARM_MARGIN;
    /* One 8-byte store arms the whole value. */
    CHECK_EQ(rtc_mmio_ops.write(r, ALARM_LOW, 8, when), 0);
    CHECK_EQ(rd(r, ALARM_STATUS), 1);
    CHECK_EQ(rd(r, ALARM_HIGH), (uint32_t)(when >> 32));
    CHECK(!line.level);
    wr(r, CLEAR_ALARM, 1);
    CHECK_EQ(rd(r, ALARM_STATUS), 0);
    sleep_past(when);
    rtc_poll(r);
    CHECK(!line.level);
    /* Setting the clock past an armed alarm fires it. */
    when = rtc_time(r) + 3600ull * 1000000000u;
    wr(r, ALARM_HIGH, (uint32_t)(when >> 32));
    wr(r, ALARM_LOW, (uint32_t)when);
    CHECK(!line.level);
    uint64_t later = when + 1000000000u;
    wr(r, TIME_HIGH, (uint32_t)(later >> 32));
    wr(r, TIME_LOW, (uint32_t)later);
    CHECK(line.level);
    rtc_free(r);
}

static void rtc_bad_accesses(void)
{
    struct rtc *r = mk();
    uint64_t v;
    CHECK(rtc_mmio_ops.read(r, TIME_LOW, 1, &v) < 0);
    CHECK(rtc_mmio_ops.read(r, TIME_LOW, 2, &v) < 0);
    CHECK(rtc_mmio_ops.write(r, IRQ_ENABLED, 2, 1) < 0);
    CHECK(rtc_mmio_ops.read(r, TIME_HIGH, 8, &v) < 0);
    for (uint64_t off = 0x20; off < RTC_SIZE; off += 4) {
        CHECK_EQ(rd(r, off), 0);
        wr(r, off, 0xffffffffu);
    }
    CHECK_EQ(rd(r, IRQ_ENABLED), 0);
    CHECK(!line.level);
    rtc_free(r);
}

int main(void)
{
    RUN(syscon_codes);
    RUN(rtc_time_is_host_realtime);
    RUN(rtc_set_time);
    RUN(rtc_alarm_in_past_fires_at_once);
    RUN(rtc_alarm_future_lazy);
    RUN(rtc_clear_alarm_disarms);
    RUN(rtc_bad_accesses);
    T_EXIT();
}

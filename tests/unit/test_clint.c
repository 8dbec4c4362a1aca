/* CLINT: msip -> MSIP per hart, mtimecmp (8-byte and 4-byte halves) and
 * the MTIP state after writes, mtime from the shared clock (monotonic,
 * halves, writes shift the clock), bad accesses. */
#include <stdint.h>
#include <time.h>

#include "machine/clint.h"
#include "t.h"

#define MSIP(i) (0x0u + 4u * (i))
#define MTIMECMP(i) (0x4000u + 8u * (i))
#define MTIME 0xbff8u

static struct rv_hart *harts[2];
static struct rv_clock clk;

static struct clint *mk(void)
{
    for (unsigned i = 0; i < 2; i++)
        harts[i] = calloc(1, sizeof(struct rv_hart));
    atomic_store(&clk.offset_ns, 0);
    clk.freq_hz = 10000000;
    return clint_new(harts, 2, &clk);
}

static void rm(struct clint *c)
{
    clint_free(c);
    for (unsigned i = 0; i < 2; i++) {
        free(harts[i]);
        harts[i] = NULL;
    }
}

static uint64_t rd(struct clint *c, uint64_t off, unsigned len)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    CHECK_EQ(clint_mmio_ops.read(c, off, len, &v), 0);
    return v;
}

static void wr(struct clint *c, uint64_t off, unsigned len, uint64_t v)
{
    CHECK_EQ(clint_mmio_ops.write(c, off, len, v), 0);
}

static bool irq(unsigned hart, uint64_t bit)
{
    return (atomic_load(&harts[hart]->mip) & bit) != 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void clint_msip(void)
{
    struct clint *c = mk();
    wr(c, MSIP(1), 4, 1);
    CHECK(irq(1, RV_MIP_MSIP));
    CHECK(!irq(0, RV_MIP_MSIP));
    CHECK_EQ(rd(c, MSIP(1), 4), 1);
    CHECK_EQ(rd(c, MSIP(0), 4), 0);
    /* Only bit 0 is implemented. */
    wr(c, MSIP(1), 4, 0xfffffffe);
    CHECK(!irq(1, RV_MIP_MSIP));
    CHECK_EQ(rd(c, MSIP(1), 4), 0);
    /* An 8-byte access covers two harts' words. */
    wr(c, MSIP(0), 8, (1ull << 32) | 1);
    CHECK(irq(0, RV_MIP_MSIP) && irq(1, RV_MIP_MSIP));
    CHECK_EQ(rd(c, MSIP(0), 8), (1ull << 32) | 1);
    wr(c, MSIP(0), 1, 0);
    CHECK(!irq(0, RV_MIP_MSIP) && irq(1, RV_MIP_MSIP));
    /* A write not touching byte 0 of the word leaves the bit alone. */
    wr(c, MSIP(1) + 2, 2, 0);
    CHECK(irq(1, RV_MIP_MSIP));
    /* Other mip bits are untouched. */
    atomic_fetch_or(&harts[0]->mip, RV_MIP_SEIP);
    wr(c, MSIP(0), 4, 1);
    wr(c, MSIP(0), 4, 0);
    CHECK(irq(0, RV_MIP_SEIP));
    /* Harts that do not exist: read 0, writes ignored. */
    CHECK_EQ(rd(c, MSIP(2), 4), 0);
    wr(c, MSIP(4095), 4, 1);
    CHECK_EQ(rd(c, MSIP(4095), 4), 0);
    rm(c);
}

static void clint_mtimecmp_halves_and_mtip(void)
{
    struct clint *c = mk();
    wr(c, MTIMECMP(0), 8, UINT64_MAX);
    CHECK_EQ(atomic_load(&harts[0]->mtimecmp), UINT64_MAX);
    CHECK(!irq(0, RV_MIP_MTIP));
    /* RV32-style update: low half first, still far in the future. */
    wr(c, MTIMECMP(0), 4, 0);
    CHECK_EQ(atomic_load(&harts[0]->mtimecmp), 0xffffffff00000000ull);
    CHECK(!irq(0, RV_MIP_MTIP));
    CHECK_EQ(rd(c, MTIMECMP(0), 4), 0);
    CHECK_EQ(rd(c, MTIMECMP(0) + 4, 4), 0xffffffff);
    wr(c, MTIMECMP(0) + 4, 4, 0);
    CHECK_EQ(atomic_load(&harts[0]->mtimecmp), 0);
    CHECK(irq(0, RV_MIP_MTIP)); /* now >= 0 */
    CHECK(!irq(1, RV_MIP_MTIP));
    /* Moving it into the future clears MTIP at once. */
    uint64_t now = rv_clock_now(&clk);
    wr(c, MTIMECMP(0), 8, now + 100000000); /* +10 s */
    CHECK(!irq(0, RV_MIP_MTIP));
    CHECK_EQ(rd(c, MTIMECMP(0), 8), now + 100000000);
    /* Hart 1's comparator is separate. */
    wr(c, MTIMECMP(1), 8, 0x1122334455667788ull);
    CHECK_EQ(atomic_load(&harts[1]->mtimecmp), 0x1122334455667788ull);
    CHECK_EQ(rd(c, MTIMECMP(1), 2), 0x7788);
    CHECK_EQ(rd(c, MTIMECMP(1) + 6, 1), 0x22);
    CHECK_EQ(atomic_load(&harts[0]->mtimecmp), now + 100000000);
    /* A close deadline passes. */
    uint64_t when = rv_clock_now(&clk) + 3000000; /* +300 ms */
    wr(c, MTIMECMP(1), 8, when);
    CHECK(!irq(1, RV_MIP_MTIP));
    while (rv_clock_now(&clk) <= when)
        sleep_ms(5);
    wr(c, MTIMECMP(1), 8, when); /* a rewrite recomputes MTIP */
    CHECK(irq(1, RV_MIP_MTIP));
    rm(c);
}

static void clint_mtime(void)
{
    struct clint *c = mk();
    uint64_t a = rd(c, MTIME, 8);
    uint64_t ref = rv_clock_now(&clk);
    CHECK(ref >= a && ref - a < 10000000); /* within 1 s */
    uint64_t prev = a;
    unsigned backwards = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t t = rd(c, MTIME, 8);
        if (t < prev)
            backwards++;
        prev = t;
    }
    CHECK_EQ(backwards, 0);
    sleep_ms(2);
    uint64_t b = rd(c, MTIME, 8);
    CHECK(b - a >= 20000); /* 2 ms at 10 MHz */
    uint64_t hi = rd(c, MTIME + 4, 4);
    uint64_t lo = rd(c, MTIME, 4);
    CHECK(hi == b >> 32 || hi == (b >> 32) + 1);
    (void)lo;
    rm(c);
}

static void clint_mtime_write(void)
{
    struct clint *c = mk();
    wr(c, MTIME, 8, 50000000); /* 5 s */
    uint64_t t = rd(c, MTIME, 8);
    CHECK(t >= 50000000 && t < 50000000 + 10000000);
    uint64_t r = rv_clock_now(&clk);
    CHECK(r >= t && r < 50000000 + 10000000);
    /* MTIP follows time changes. */
    wr(c, MTIMECMP(0), 8, 60000000);
    wr(c, MTIMECMP(1), 8, 90000000);
    CHECK(!irq(0, RV_MIP_MTIP));
    wr(c, MTIME, 8, 70000000);
    CHECK(irq(0, RV_MIP_MTIP));
    CHECK(!irq(1, RV_MIP_MTIP));
    wr(c, MTIME, 8, 0);
    t = rd(c, MTIME, 8);
    CHECK(t < 10000000);
    CHECK(!irq(0, RV_MIP_MTIP));
    /* High half alone. */
    wr(c, MTIME + 4, 4, 3);
    t = rd(c, MTIME, 8);
    CHECK_EQ(t >> 32, 3);
    /* Huge values saturate without breaking the clock (no UB). */
    wr(c, MTIME, 8, UINT64_MAX);
    t = rd(c, MTIME, 8);
    CHECK(t > (1ull << 50));
    uint64_t t2 = rd(c, MTIME, 8);
    CHECK(t2 >= t);
    rm(c);
}

static void clint_bad_accesses(void)
{
    struct clint *c = mk();
    uint64_t v;
    CHECK(clint_mmio_ops.read(c, MTIME + 4, 8, &v) < 0);
    CHECK(clint_mmio_ops.write(c, MSIP(0) + 1, 2, 1) < 0);
    CHECK(clint_mmio_ops.read(c, 0, 3, &v) < 0);
    /* Unmapped offsets inside / past the window read 0. */
    CHECK_EQ(rd(c, 0xc000, 4), 0);
    CHECK_EQ(rd(c, CLINT_SIZE - 8, 8), 0);
    CHECK_EQ(rd(c, CLINT_SIZE + 0x100, 8), 0);
    wr(c, 0xc000, 8, ~0ull);
    wr(c, CLINT_SIZE, 8, ~0ull);
    for (uint64_t off = 0; off < CLINT_SIZE; off += 8)
        CHECK_EQ(clint_mmio_ops.read(c, off, 8, &v), 0);
    rm(c);
}

static unsigned wakes[2];

static void on_wake(void *ctx, unsigned hart)
{
    CHECK(ctx == (void *)wakes);
    CHECK(hart < 2);
    if (hart < 2)
        wakes[hart]++;
}

static void clint_wake_hook(void)
{
    struct clint *c = mk();
    wakes[0] = wakes[1] = 0;
    clint_set_wake(c, on_wake, wakes);
    wr(c, MSIP(1), 4, 1);
    CHECK_EQ(wakes[1], 1);
    CHECK_EQ(wakes[0], 0);
    wr(c, MSIP(1), 4, 0);
    CHECK_EQ(wakes[1], 1);
    wr(c, MTIMECMP(0), 8, UINT64_MAX);
    CHECK_EQ(wakes[0], 0);
    wr(c, MTIMECMP(0), 8, 0);
    CHECK_EQ(wakes[0], 1);
    rm(c);
}

int main(void)
{
    RUN(clint_msip);
    RUN(clint_mtimecmp_halves_and_mtip);
    RUN(clint_mtime);
    RUN(clint_mtime_write);
    RUN(clint_bad_accesses);
    RUN(clint_wake_hook);
    T_EXIT();
}

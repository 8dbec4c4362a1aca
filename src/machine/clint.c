/* CLINT (SiFive core-local interruptor), QEMU virt layout.
 *
 *   0x0000 + 4*i   msip[i]     bit 0 drives mip.MSIP of hart i; reads give
 *                              the current mip.MSIP (the guest cannot change
 *                              that bit through CSR writes, so mip is the
 *                              single source of truth).
 *   0x4000 + 8*i   mtimecmp[i] stored in harts[i]->mtimecmp.
 *   0xbff8         mtime       rv_clock_now(clock).
 *
 * Access sizes: every register can be accessed with len 1, 2, 4 or 8 at a
 * len-aligned offset. An access always falls inside one naturally aligned
 * 8-byte chunk; reads extract bytes from the chunk's value, writes
 * read-modify-write it (so 4-byte accesses to the lo/hi halves of mtimecmp
 * and mtime work, as do 8-byte accesses covering two msip words).
 *
 * mtime writes: the machine's single rv_clock is shifted (clock->offset_ns)
 * so that mtime reads the written value from then on; this changes `time`
 * for every hart, as on hardware with one shared mtime. The value is rounded
 * up to the clock's resolution (1 ns) and saturates at the time value of
 * 2^62 ns (~146 years; keeps rv_clock_now free of overflow). MTIP of every
 * hart is then recomputed.
 *
 * MTIP: the CPU computes MTIP from mtimecmp itself; after an mtimecmp (or
 * mtime) write we also set mip.MTIP = (now >= mtimecmp) at once so the state
 * is right immediately (a lowered timer does not linger until the CPU's next
 * check).
 *
 * Wake hook (clint_set_wake): called for hart i when a write sets its MSIP
 * or leaves its MTIP pending, so a sleeping run loop notices.
 *
 * Locking: msip is atomic in mip; a mutex serialises the read-modify-write
 * of mtimecmp halves and mtime adjustments. */
#include "machine/clint.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CLINT_MSIP_BASE 0x0000u
#define CLINT_MSIP_END 0x4000u
#define CLINT_MTIMECMP_BASE 0x4000u
#define CLINT_MTIMECMP_END 0xbff8u
#define CLINT_MTIME 0xbff8u

struct clint {
    struct rv_hart **harts;
    unsigned nharts;
    struct rv_clock *clock;
    pthread_mutex_t lock;
    void (*wake)(void *ctx, unsigned hart);
    void *wake_ctx;
};

struct clint *clint_new(struct rv_hart **harts, unsigned nharts, struct rv_clock *clock)
{
    struct clint *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (nharts) {
        c->harts = calloc(nharts, sizeof(*c->harts));
        if (!c->harts) {
            free(c);
            return NULL;
        }
        memcpy(c->harts, harts, nharts * sizeof(*harts));
    }
    c->nharts = nharts;
    c->clock = clock;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void clint_free(struct clint *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->harts);
    free(c);
}

void clint_set_wake(struct clint *c, void (*wake)(void *ctx, unsigned hart), void *ctx)
{
    pthread_mutex_lock(&c->lock);
    c->wake = wake;
    c->wake_ctx = ctx;
    pthread_mutex_unlock(&c->lock);
}

static void clint_wake(struct clint *c, unsigned i)
{
    if (c->wake)
        c->wake(c->wake_ctx, i);
}

static struct rv_hart *clint_hart(struct clint *c, uint64_t i)
{
    return i < c->nharts ? c->harts[i] : NULL;
}

static uint64_t clint_now(struct clint *c)
{
    return c->clock ? rv_clock_now(c->clock) : 0;
}

static void clint_update_mtip(struct clint *c, unsigned i, uint64_t now)
{
    struct rv_hart *h = c->harts[i];
    bool level = now >= atomic_load(&h->mtimecmp);
    rv_hart_set_irq(h, RV_MIP_MTIP, level);
    if (level)
        clint_wake(c, i);
}

/* Value of the aligned 8-byte chunk at `base`. */
static uint64_t clint_chunk_read(struct clint *c, uint64_t base)
{
    if (base < CLINT_MSIP_END) {
        uint64_t v = 0;
        for (unsigned k = 0; k < 2; k++) {
            struct rv_hart *h = clint_hart(c, base / 4 + k);
            if (h && (atomic_load(&h->mip) & RV_MIP_MSIP))
                v |= 1ull << (32 * k);
        }
        return v;
    }
    if (base < CLINT_MTIMECMP_END) {
        struct rv_hart *h = clint_hart(c, (base - CLINT_MTIMECMP_BASE) / 8);
        return h ? atomic_load(&h->mtimecmp) : 0;
    }
    if (base == CLINT_MTIME)
        return clint_now(c);
    return 0;
}

/* Make the clock read `t` now (see the header comment). Lock held. */
static void clint_set_mtime(struct clint *c, uint64_t t)
{
    struct rv_clock *ck = c->clock;
    if (!ck || !ck->freq_hz)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    __int128 mono = (__int128)ts.tv_sec * 1000000000 + ts.tv_nsec;
    /* Smallest ns with floor(ns * freq / 1e9) >= t. */
    __int128 ns = ((__int128)t * 1000000000 + ck->freq_hz - 1) / ck->freq_hz;
    /* Keep offset_ns in a range where rv_clock_now's signed arithmetic
     * cannot overflow: time saturates at 2^62 ns (~146 years) of uptime. */
    if (ns > ((__int128)1 << 62))
        ns = (__int128)1 << 62;
    atomic_store(&ck->offset_ns, (int64_t)(mono - ns));
    uint64_t now = rv_clock_now(ck);
    for (unsigned i = 0; i < c->nharts; i++)
        if (c->harts[i])
            clint_update_mtip(c, i, now);
}

static bool clint_bad_access(uint64_t off, unsigned len)
{
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return true;
    return (off & (len - 1)) != 0;
}

static int clint_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    struct clint *c = dev;
    if (clint_bad_access(off, len))
        return -1;
    if (off >= CLINT_SIZE) {
        *val = 0;
        return 0;
    }
    uint64_t chunk = clint_chunk_read(c, off & ~7ull);
    unsigned shift = (unsigned)(off & 7) * 8;
    uint64_t mask = len == 8 ? ~0ull : (1ull << (8 * len)) - 1;
    *val = (chunk >> shift) & mask;
    return 0;
}

static int clint_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    struct clint *c = dev;
    if (clint_bad_access(off, len))
        return -1;
    if (off >= CLINT_SIZE)
        return 0;
    uint64_t base = off & ~7ull;
    unsigned shift = (unsigned)(off & 7) * 8;
    uint64_t mask = (len == 8 ? ~0ull : (1ull << (8 * len)) - 1) << shift;
    uint64_t bits = (val << shift) & mask;

    if (base < CLINT_MSIP_END) {
        /* Two 32-bit msip words per chunk; touch only those written. */
        for (unsigned k = 0; k < 2; k++) {
            uint64_t wmask = 0xffffffffull << (32 * k);
            if (!(mask & wmask))
                continue;
            struct rv_hart *h = clint_hart(c, base / 4 + k);
            if (!h)
                continue;
            /* Bit 0 of the word is the only implemented bit; a write that
             * does not cover byte 0 of the word leaves it unchanged. */
            uint64_t bit0 = 1ull << (32 * k);
            if (mask & bit0) {
                bool level = (bits & bit0) != 0;
                rv_hart_set_irq(h, RV_MIP_MSIP, level);
                if (level)
                    clint_wake(c, (unsigned)(base / 4 + k));
            }
        }
        return 0;
    }
    if (base < CLINT_MTIMECMP_END) {
        uint64_t i = (base - CLINT_MTIMECMP_BASE) / 8;
        struct rv_hart *h = clint_hart(c, i);
        if (!h)
            return 0;
        pthread_mutex_lock(&c->lock);
        uint64_t old = atomic_load(&h->mtimecmp);
        uint64_t nv = (old & ~mask) | bits;
        atomic_store(&h->mtimecmp, nv);
        clint_update_mtip(c, (unsigned)i, clint_now(c));
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    if (base == CLINT_MTIME) {
        pthread_mutex_lock(&c->lock);
        uint64_t old = clint_now(c);
        clint_set_mtime(c, (old & ~mask) | bits);
        pthread_mutex_unlock(&c->lock);
    }
    return 0;
}

const struct mmio_ops clint_mmio_ops = {
    .read = clint_read,
    .write = clint_write,
};

/* PLIC (SiFive platform-level interrupt controller), QEMU virt layout.
 *
 *   0x000000 + 4*s            priority[s], s = 1..PLIC_NUM_SOURCES-1; WARL,
 *                             3 bits (0..7); source 0 reads 0.
 *   0x001000 + 4*w            pending bits, word w (read-only: writes are
 *                             ignored).
 *   0x002000 + 0x80*c + 4*w   enable bits of context c, word w (bit 0 of
 *                             word 0, source 0, is hardwired to 0).
 *   0x200000 + 0x1000*c       threshold of context c (WARL, 0..7).
 *   0x200004 + 0x1000*c       claim (read) / complete (write) of context c.
 * Context 2i is hart i's M-mode (drives mip.MEIP), 2i+1 its S-mode (SEIP).
 * Every other offset in the window, and contexts >= 2*nharts, read 0 and
 * ignore writes.
 *
 * Access sizes: registers are 32-bit. len 4 is the native access; len 8 is
 * done as two 32-bit accesses, lower address first (with the side effects
 * of each, e.g. a claim); len 1 and 2 make the access fault, as on QEMU
 * and the SiFive PLIC, which only decode aligned 32-bit accesses.
 *
 * Gateway (level-triggered): while a source is not in service its pending
 * bit follows its input line (raised when the line goes high, dropped again
 * if the line goes low before a claim; the spec's gateway, and QEMU since
 * 8.x, keep it pending until claimed, QEMU up to 7.x dropped it like this:
 * the device no longer wants service and the guest is spared a claim that
 * finds nothing to do). A claim returns the highest-priority source that is
 * pending, enabled for the context and has priority > the context's
 * threshold (ties: lowest id; none: 0); it clears the pending bit and puts
 * the source in service, so it cannot become pending again until it is
 * completed. Completing re-arms it: if its line is still high it is pending
 * again at once. A completion is accepted from any context, even one that
 * does not enable the source (as QEMU does; the SiFive spec says to ignore
 * it, but a guest that moved an irq's affinity between claim and complete
 * would then leave the source in service forever). Completing a source that
 * is not in service, or an id >= PLIC_NUM_SOURCES, does nothing.
 *
 * Outputs: after every change each context's line is recomputed as "some
 * source pending, enabled for it, with priority > its threshold" and written
 * to its hart with rv_hart_set_irq (MEIP / SEIP); a rising output also
 * calls the optional wake hook (plic_set_wake).
 *
 * Locking: one mutex guards all state; plic_set_irq may be called from any
 * thread, concurrently with the MMIO handlers. */
#include "machine/plic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PLIC_WORDS ((PLIC_NUM_SOURCES + 31) / 32)
#define PLIC_PRIO_MASK 7u

#define PLIC_PRIORITY_BASE 0x000000u
#define PLIC_PENDING_BASE 0x001000u
#define PLIC_ENABLE_BASE 0x002000u
#define PLIC_ENABLE_STRIDE 0x80u
#define PLIC_CONTEXT_BASE 0x200000u
#define PLIC_CONTEXT_STRIDE 0x1000u

struct plic_ctx {
    uint32_t enable[PLIC_WORDS];
    uint32_t threshold;
};

struct plic {
    pthread_mutex_t lock;
    struct rv_hart **harts;
    unsigned nharts;
    unsigned nctx;
    uint32_t priority[PLIC_NUM_SOURCES];
    uint32_t level[PLIC_WORDS];      /* input line state */
    uint32_t pending[PLIC_WORDS];
    uint32_t in_service[PLIC_WORDS]; /* claimed, not yet completed */
    struct plic_ctx *ctx;
    bool *out;                       /* last output level per context */
    void (*wake)(void *ctx, unsigned hart);
    void *wake_ctx;
};

static bool bit_get(const uint32_t *w, unsigned n)
{
    return (w[n / 32] >> (n % 32)) & 1;
}

static void bit_put(uint32_t *w, unsigned n, bool v)
{
    if (v)
        w[n / 32] |= 1u << (n % 32);
    else
        w[n / 32] &= ~(1u << (n % 32));
}

struct plic *plic_new(struct rv_hart **harts, unsigned nharts)
{
    struct plic *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->nharts = nharts;
    p->nctx = 2 * nharts;
    if (nharts) {
        p->harts = calloc(nharts, sizeof(*p->harts));
        p->ctx = calloc(p->nctx, sizeof(*p->ctx));
        p->out = calloc(p->nctx, sizeof(*p->out));
        if (!p->harts || !p->ctx || !p->out) {
            free(p->harts);
            free(p->ctx);
            free(p->out);
            free(p);
            return NULL;
        }
        memcpy(p->harts, harts, nharts * sizeof(*harts));
    }
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

void plic_free(struct plic *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->harts);
    free(p->ctx);
    free(p->out);
    free(p);
}

void plic_set_wake(struct plic *p, void (*wake)(void *ctx, unsigned hart), void *ctx)
{
    pthread_mutex_lock(&p->lock);
    p->wake = wake;
    p->wake_ctx = ctx;
    pthread_mutex_unlock(&p->lock);
}

/* Best claimable source for context c, 0 if none. Lock held. */
static unsigned plic_best(struct plic *p, unsigned c)
{
    const struct plic_ctx *x = &p->ctx[c];
    unsigned best = 0;
    uint32_t best_prio = x->threshold;
    for (unsigned w = 0; w < PLIC_WORDS; w++) {
        uint32_t cand = p->pending[w] & x->enable[w] & ~p->in_service[w];
        while (cand) {
            unsigned s = w * 32 + (unsigned)__builtin_ctz(cand);
            cand &= cand - 1;
            /* Strictly greater: ties keep the lower id found first. */
            if (p->priority[s] > best_prio) {
                best_prio = p->priority[s];
                best = s;
            }
        }
    }
    return best;
}

/* Recompute every context's output. Lock held. */
static void plic_update(struct plic *p)
{
    for (unsigned c = 0; c < p->nctx; c++) {
        struct rv_hart *h = p->harts[c / 2];
        if (!h)
            continue;
        bool level = plic_best(p, c) != 0;
        rv_hart_set_irq(h, (c & 1) ? RV_MIP_SEIP : RV_MIP_MEIP, level);
        if (level && !p->out[c] && p->wake)
            p->wake(p->wake_ctx, c / 2);
        p->out[c] = level;
    }
}

void plic_set_irq(void *plic, unsigned num, bool level)
{
    struct plic *p = plic;
    if (!p || num == 0 || num >= PLIC_NUM_SOURCES)
        return;
    pthread_mutex_lock(&p->lock);
    if (bit_get(p->level, num) != level) {
        bit_put(p->level, num, level);
        if (!bit_get(p->in_service, num)) {
            bit_put(p->pending, num, level);
            plic_update(p);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

static uint32_t plic_claim(struct plic *p, unsigned c)
{
    unsigned s = plic_best(p, c);
    if (s) {
        bit_put(p->pending, s, false);
        bit_put(p->in_service, s, true);
        plic_update(p);
    }
    return s;
}

static void plic_complete(struct plic *p, unsigned c, uint32_t s)
{
    if (s == 0 || s >= PLIC_NUM_SOURCES)
        return;
    (void)c;
    if (!bit_get(p->in_service, s))
        return;
    bit_put(p->in_service, s, false);
    if (bit_get(p->level, s))
        bit_put(p->pending, s, true);
    plic_update(p);
}

/* 32-bit register read at an aligned offset. Lock held. */
static uint32_t plic_read32(struct plic *p, uint64_t off)
{
    if (off < PLIC_PENDING_BASE) {
        uint64_t s = (off - PLIC_PRIORITY_BASE) / 4;
        return s < PLIC_NUM_SOURCES ? p->priority[s] : 0;
    }
    if (off < PLIC_ENABLE_BASE) {
        uint64_t w = (off - PLIC_PENDING_BASE) / 4;
        return w < PLIC_WORDS ? p->pending[w] : 0;
    }
    if (off < PLIC_CONTEXT_BASE) {
        uint64_t c = (off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4;
        return c < p->nctx && w < PLIC_WORDS ? p->ctx[c].enable[w] : 0;
    }
    uint64_t c = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
    uint64_t r = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
    if (c >= p->nctx)
        return 0;
    if (r == 0)
        return p->ctx[c].threshold;
    if (r == 4)
        return plic_claim(p, (unsigned)c);
    return 0;
}

/* 32-bit register write at an aligned offset. Lock held. */
static void plic_write32(struct plic *p, uint64_t off, uint32_t v)
{
    if (off < PLIC_PENDING_BASE) {
        uint64_t s = (off - PLIC_PRIORITY_BASE) / 4;
        if (s == 0 || s >= PLIC_NUM_SOURCES)
            return;
        p->priority[s] = v & PLIC_PRIO_MASK;
        plic_update(p);
        return;
    }
    if (off < PLIC_ENABLE_BASE)
        return; /* pending bits are read-only */
    if (off < PLIC_CONTEXT_BASE) {
        uint64_t c = (off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4;
        if (c >= p->nctx || w >= PLIC_WORDS)
            return;
        if (w == 0)
            v &= ~1u; /* source 0 does not exist */
        if ((w + 1) * 32 > PLIC_NUM_SOURCES)
            v &= (uint32_t)((1ull << (PLIC_NUM_SOURCES - w * 32)) - 1);
        p->ctx[c].enable[w] = v;
        plic_update(p);
        return;
    }
    uint64_t c = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
    uint64_t r = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
    if (c >= p->nctx)
        return;
    if (r == 0) {
        p->ctx[c].threshold = v & PLIC_PRIO_MASK;
        plic_update(p);
    } else if (r == 4) {
        plic_complete(p, (unsigned)c, v);
    }
}

static int plic_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    struct plic *p = dev;
    if ((len != 4 && len != 8) || (off & (len - 1)))
        return -1;
    uint64_t v = 0;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < len / 4; i++) {
        uint64_t o = off + 4 * i;
        if (o < PLIC_SIZE)
            v |= (uint64_t)plic_read32(p, o) << (32 * i);
    }
    pthread_mutex_unlock(&p->lock);
    *val = v;
    return 0;
}

static int plic_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    struct plic *p = dev;
    if ((len != 4 && len != 8) || (off & (len - 1)))
        return -1;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < len / 4; i++) {
        uint64_t o = off + 4 * i;
        if (o < PLIC_SIZE)
            plic_write32(p, o, (uint32_t)(val >> (32 * i)));
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

const struct mmio_ops plic_mmio_ops = {
    .read = plic_read,
    .write = plic_write,
};

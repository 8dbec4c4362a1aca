/* PLIC: priority/threshold/claim/complete, ties, in-service masking, level
 * re-pend, routing of contexts to MEIP/SEIP of the right hart, register
 * WARL behaviour, out-of-range offsets, and concurrent plic_set_irq. */
#include <pthread.h>
#include <stdint.h>

#include "machine/plic.h"
#include "t.h"

#define PRIO(s) (0x0u + 4u * (s))
#define PENDING(w) (0x1000u + 4u * (w))
#define ENABLE(c, w) (0x2000u + 0x80u * (c) + 4u * (w))
#define THRESH(c) (0x200000u + 0x1000u * (c))
#define CLAIM(c) (0x200004u + 0x1000u * (c))

static struct rv_hart *harts[2];

static struct plic *mk(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        harts[i] = calloc(1, sizeof(struct rv_hart));
    return plic_new(harts, n);
}

static void rm(struct plic *p, unsigned n)
{
    plic_free(p);
    for (unsigned i = 0; i < n; i++) {
        free(harts[i]);
        harts[i] = NULL;
    }
}

static uint32_t rd(struct plic *p, uint64_t off)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    CHECK_EQ(plic_mmio_ops.read(p, off, 4, &v), 0);
    return (uint32_t)v;
}

static void wr(struct plic *p, uint64_t off, uint32_t v)
{
    CHECK_EQ(plic_mmio_ops.write(p, off, 4, v), 0);
}

static bool irq(unsigned hart, uint64_t bit)
{
    return (atomic_load(&harts[hart]->mip) & bit) != 0;
}

static void plic_claim_order_and_ties(void)
{
    struct plic *p = mk(1);
    wr(p, PRIO(1), 3);
    wr(p, PRIO(5), 7);
    wr(p, PRIO(10), 3);
    wr(p, PRIO(40), 5);
    wr(p, ENABLE(1, 0), (1u << 1) | (1u << 5) | (1u << 10));
    wr(p, ENABLE(1, 1), 1u << (40 - 32));
    CHECK(!irq(0, RV_MIP_SEIP));
    plic_set_irq(p, 10, true);
    plic_set_irq(p, 1, true);
    plic_set_irq(p, 5, true);
    plic_set_irq(p, 40, true);
    CHECK_EQ(rd(p, PENDING(0)), (1u << 1) | (1u << 5) | (1u << 10));
    CHECK_EQ(rd(p, PENDING(1)), 1u << 8);
    CHECK(irq(0, RV_MIP_SEIP));
    CHECK(!irq(0, RV_MIP_MEIP)); /* nothing enabled for the M context */
    CHECK_EQ(rd(p, CLAIM(1)), 5);  /* priority 7 */
    CHECK_EQ(rd(p, CLAIM(1)), 40); /* priority 5 */
    CHECK_EQ(rd(p, CLAIM(1)), 1);  /* tie at 3: lowest id first */
    CHECK(irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 10);
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    CHECK_EQ(rd(p, PENDING(0)), 0);
    CHECK_EQ(rd(p, PENDING(1)), 0);
    rm(p, 1);
}

static void plic_threshold_and_zero_priority(void)
{
    struct plic *p = mk(1);
    wr(p, PRIO(2), 3);
    wr(p, PRIO(3), 0); /* priority 0: never interrupts */
    wr(p, ENABLE(0, 0), (1u << 2) | (1u << 3));
    wr(p, THRESH(0), 3);
    CHECK_EQ(rd(p, THRESH(0)), 3);
    plic_set_irq(p, 2, true);
    plic_set_irq(p, 3, true);
    CHECK(!irq(0, RV_MIP_MEIP)); /* 3 is not > 3 */
    CHECK_EQ(rd(p, CLAIM(0)), 0);
    CHECK_EQ(rd(p, PENDING(0)), (1u << 2) | (1u << 3));
    wr(p, THRESH(0), 2);
    CHECK(irq(0, RV_MIP_MEIP));
    wr(p, THRESH(0), 7);
    CHECK(!irq(0, RV_MIP_MEIP));
    wr(p, THRESH(0), 0);
    CHECK(irq(0, RV_MIP_MEIP));
    CHECK_EQ(rd(p, CLAIM(0)), 2);
    CHECK(!irq(0, RV_MIP_MEIP)); /* source 3 has priority 0 */
    CHECK_EQ(rd(p, CLAIM(0)), 0);
    /* Raising the priority makes it deliverable. */
    wr(p, PRIO(3), 1);
    CHECK(irq(0, RV_MIP_MEIP));
    CHECK_EQ(rd(p, CLAIM(0)), 3);
    rm(p, 1);
}

static void plic_in_service_and_level_repend(void)
{
    struct plic *p = mk(1);
    wr(p, PRIO(7), 1);
    wr(p, ENABLE(1, 0), 1u << 7);
    plic_set_irq(p, 7, true);
    CHECK(irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 7);
    /* Line still high, but in service: no re-pend, no irq, no re-claim. */
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, PENDING(0)), 0);
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    plic_set_irq(p, 7, false);
    plic_set_irq(p, 7, true);
    CHECK(!irq(0, RV_MIP_SEIP));
    /* Completing with a wrong id does nothing. */
    wr(p, CLAIM(1), 8);
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    /* Complete: line still high -> pending again at once. */
    wr(p, CLAIM(1), 7);
    CHECK(irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, PENDING(0)), 1u << 7);
    CHECK_EQ(rd(p, CLAIM(1)), 7);
    /* Line dropped during service: complete leaves it idle. */
    plic_set_irq(p, 7, false);
    wr(p, CLAIM(1), 7);
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, PENDING(0)), 0);
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    /* Level gateway: a line that drops before the claim is no longer
     * pending. */
    plic_set_irq(p, 7, true);
    CHECK(irq(0, RV_MIP_SEIP));
    plic_set_irq(p, 7, false);
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    rm(p, 1);
}

static void plic_complete_from_any_context(void)
{
    struct plic *p = mk(2);
    wr(p, PRIO(4), 2);
    wr(p, ENABLE(0, 0), 1u << 4);
    plic_set_irq(p, 4, true);
    CHECK_EQ(rd(p, CLAIM(0)), 4);
    /* Affinity moved between claim and complete (Linux can do that): the
     * completion comes through a context that no longer enables 4 and
     * must still re-arm it, as on QEMU. */
    wr(p, ENABLE(0, 0), 0);
    wr(p, ENABLE(3, 0), 1u << 4);
    CHECK(!irq(1, RV_MIP_SEIP));
    wr(p, CLAIM(0), 4);
    CHECK(irq(1, RV_MIP_SEIP));
    CHECK(!irq(0, RV_MIP_MEIP));
    CHECK_EQ(rd(p, CLAIM(3)), 4);
    /* Completing twice, or something not in service, changes nothing. */
    wr(p, CLAIM(3), 4);
    wr(p, CLAIM(3), 4);
    CHECK_EQ(rd(p, CLAIM(3)), 4);
    wr(p, CLAIM(3), 5);
    CHECK_EQ(rd(p, CLAIM(3)), 0);
    rm(p, 2);
}

static void plic_routes_contexts_to_harts(void)
{
    struct plic *p = mk(2);
    wr(p, PRIO(3), 1);
    wr(p, ENABLE(2, 0), 1u << 3); /* hart 1, M-mode */
    plic_set_irq(p, 3, true);
    CHECK(!irq(0, RV_MIP_MEIP));
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK(irq(1, RV_MIP_MEIP));
    CHECK(!irq(1, RV_MIP_SEIP));
    wr(p, ENABLE(1, 0), 1u << 3); /* hart 0, S-mode */
    CHECK(irq(0, RV_MIP_SEIP));
    CHECK(!irq(0, RV_MIP_MEIP));
    wr(p, ENABLE(3, 0), 1u << 3); /* hart 1, S-mode */
    CHECK(irq(1, RV_MIP_SEIP));
    /* Thresholds are per context. */
    wr(p, THRESH(3), 1);
    CHECK(!irq(1, RV_MIP_SEIP));
    CHECK(irq(1, RV_MIP_MEIP));
    wr(p, THRESH(3), 0);
    /* One claim takes it away from every context. */
    CHECK_EQ(rd(p, CLAIM(2)), 3);
    CHECK(!irq(0, RV_MIP_SEIP));
    CHECK(!irq(1, RV_MIP_MEIP));
    CHECK(!irq(1, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 0);
    CHECK_EQ(rd(p, CLAIM(3)), 0);
    wr(p, CLAIM(2), 3);
    CHECK(irq(0, RV_MIP_SEIP) && irq(1, RV_MIP_MEIP) && irq(1, RV_MIP_SEIP));
    /* Disabling drops the output. */
    wr(p, ENABLE(2, 0), 0);
    CHECK(!irq(1, RV_MIP_MEIP));
    CHECK(irq(1, RV_MIP_SEIP));
    rm(p, 2);
}

static void plic_registers_warl(void)
{
    struct plic *p = mk(1);
    wr(p, PRIO(1), 0xffffffff);
    CHECK_EQ(rd(p, PRIO(1)), 7);
    wr(p, PRIO(0), 5);
    CHECK_EQ(rd(p, PRIO(0)), 0);
    wr(p, PRIO(PLIC_NUM_SOURCES), 5);
    CHECK_EQ(rd(p, PRIO(PLIC_NUM_SOURCES)), 0);
    wr(p, THRESH(0), 0xff);
    CHECK_EQ(rd(p, THRESH(0)), 7);
    wr(p, ENABLE(0, 0), 0xffffffff);
    CHECK_EQ(rd(p, ENABLE(0, 0)), 0xfffffffe);
    wr(p, ENABLE(0, 2), 0xffffffff);
    CHECK_EQ(rd(p, ENABLE(0, 2)), 0xffffffff); /* sources 64..95 */
    wr(p, ENABLE(0, 3), 0xffffffff);
    CHECK_EQ(rd(p, ENABLE(0, 3)), 0);
    wr(p, PENDING(0), 0xffffffff); /* read-only */
    CHECK_EQ(rd(p, PENDING(0)), 0);
    CHECK(!irq(0, RV_MIP_MEIP));
    /* Out-of-range sources are ignored. */
    plic_set_irq(p, 0, true);
    plic_set_irq(p, PLIC_NUM_SOURCES, true);
    plic_set_irq(p, 12345, true);
    CHECK_EQ(rd(p, PENDING(0)), 0);
    CHECK_EQ(rd(p, PENDING(3)), 0);
    /* Only aligned 4/8-byte accesses decode. */
    uint64_t v;
    CHECK(plic_mmio_ops.read(p, PRIO(1), 1, &v) < 0);
    CHECK(plic_mmio_ops.read(p, PRIO(1), 2, &v) < 0);
    CHECK(plic_mmio_ops.write(p, PRIO(1), 2, 1) < 0);
    CHECK(plic_mmio_ops.read(p, PRIO(1) + 2, 4, &v) < 0);
    CHECK(plic_mmio_ops.read(p, PRIO(1), 3, &v) < 0);
    /* 8 bytes = two registers, low address first. */
    CHECK_EQ(plic_mmio_ops.write(p, PRIO(2), 8, (5ull << 32) | 6), 0);
    CHECK_EQ(rd(p, PRIO(2)), 6);
    CHECK_EQ(rd(p, PRIO(3)), 5);
    CHECK_EQ(plic_mmio_ops.read(p, PRIO(2), 8, &v), 0);
    CHECK_EQ(v, (5ull << 32) | 6);
    rm(p, 1);
}

static void plic_every_offset_is_safe(void)
{
    struct plic *p = mk(2);
    wr(p, PRIO(9), 1);
    wr(p, ENABLE(1, 0), 1u << 9);
    plic_set_irq(p, 9, true);
    uint64_t nonzero_unexpected = 0;
    for (uint64_t off = 0; off < PLIC_SIZE; off += 4) {
        uint64_t v = 0;
        if (plic_mmio_ops.read(p, off, 4, &v) != 0)
            nonzero_unexpected++;
        bool known = off <= PRIO(PLIC_NUM_SOURCES - 1) ||
                     (off >= PENDING(0) && off < PENDING(3)) ||
                     (off >= ENABLE(0, 0) && off < ENABLE(4, 0) &&
                      (off - ENABLE(0, 0)) % 0x80 < 12) ||
                     (off >= THRESH(0) && off < THRESH(4) &&
                      (off - THRESH(0)) % 0x1000 < 8);
        if (!known && v != 0)
            nonzero_unexpected++;
    }
    CHECK_EQ(nonzero_unexpected, 0);
    /* The sweep claimed 9 through context 1 (the only one enabling it). */
    CHECK(!irq(0, RV_MIP_SEIP));
    /* Writes anywhere (garbage) must not crash; then state still sane. */
    for (uint64_t off = 0; off < PLIC_SIZE; off += 4)
        CHECK_EQ(plic_mmio_ops.write(p, off, 4, 0xffffffffu), 0);
    uint64_t v;
    CHECK_EQ(plic_mmio_ops.read(p, PLIC_SIZE, 4, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(plic_mmio_ops.write(p, PLIC_SIZE + 0x1000, 8, ~0ull), 0);
    /* After the sweep every priority is 7 and every threshold 7 (nothing
     * passes); the completion writes of 0xffffffff named no source, so 9 is
     * still in service until completed for real, then pending again (its
     * line is still high). */
    CHECK_EQ(rd(p, PENDING(0)), 0);
    wr(p, CLAIM(1), 9);
    CHECK_EQ(rd(p, PENDING(0)), 1u << 9);
    CHECK(!irq(0, RV_MIP_SEIP));
    wr(p, THRESH(1), 6);
    CHECK(irq(0, RV_MIP_SEIP));
    CHECK_EQ(rd(p, CLAIM(1)), 9);
    rm(p, 2);
}

struct stress {
    struct plic *p;
    _Atomic int stop;
};

static void *toggler(void *arg)
{
    struct stress *s = arg;
    for (unsigned i = 0; !atomic_load(&s->stop); i++) {
        plic_set_irq(s->p, 1 + i % 4, (i / 4) & 1);
        if (i > 2000000)
            break;
    }
    return NULL;
}

static void plic_concurrent_set_irq(void)
{
    struct plic *p = mk(1);
    for (unsigned s = 1; s <= 4; s++)
        wr(p, PRIO(s), s);
    wr(p, ENABLE(1, 0), 0x1e);
    struct stress st = {.p = p};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, toggler, &st), 0);
    unsigned claims = 0, bad = 0;
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t id = rd(p, CLAIM(1));
        if (id) {
            claims++;
            if (id > 4)
                bad++;
            wr(p, CLAIM(1), id);
        }
    }
    atomic_store(&st.stop, 1);
    pthread_join(t, NULL);
    CHECK_EQ(bad, 0);
    /* Quiesce: all lines low -> nothing pending after completes. */
    for (unsigned s = 1; s <= 4; s++)
        plic_set_irq(p, s, false);
    for (unsigned s = 1; s <= 4; s++)
        wr(p, CLAIM(1), s);
    CHECK_EQ(rd(p, PENDING(0)), 0);
    CHECK(!irq(0, RV_MIP_SEIP));
    (void)claims;
    rm(p, 1);
}

static unsigned wakes[2];

static void on_wake(void *ctx, unsigned hart)
{
    CHECK(ctx == (void *)wakes);
    CHECK(hart < 2);
    if (hart < 2)
        wakes[hart]++;
}

static void plic_wake_on_rising_output(void)
{
    struct plic *p = mk(2);
    wakes[0] = wakes[1] = 0;
    plic_set_wake(p, on_wake, wakes);
    wr(p, PRIO(6), 1);
    wr(p, ENABLE(3, 0), 1u << 6); /* hart 1 S */
    CHECK_EQ(wakes[1], 0);
    plic_set_irq(p, 6, true);
    CHECK_EQ(wakes[1], 1);
    CHECK_EQ(wakes[0], 0);
    /* Still high: no new wake for unrelated changes. */
    wr(p, PRIO(7), 3);
    CHECK_EQ(wakes[1], 1);
    CHECK_EQ(rd(p, CLAIM(3)), 6);
    wr(p, CLAIM(3), 6); /* line still high: rises again */
    CHECK_EQ(wakes[1], 2);
    CHECK_EQ(wakes[0], 0);
    rm(p, 2);
}

int main(void)
{
    RUN(plic_claim_order_and_ties);
    RUN(plic_threshold_and_zero_priority);
    RUN(plic_in_service_and_level_repend);
    RUN(plic_complete_from_any_context);
    RUN(plic_routes_contexts_to_harts);
    RUN(plic_registers_warl);
    RUN(plic_every_offset_is_safe);
    RUN(plic_concurrent_set_irq);
    RUN(plic_wake_on_rising_output);
    T_EXIT();
}

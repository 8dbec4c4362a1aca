#include "mem/mpool.h"
#include "mem/pmap.h"
#include "mem/swap.h"
#include "t.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static void pmap_lazy_and_bounds(void)
{
    struct disco_err err;
    struct pmap *pm = pmap_new(0x80000000ull, 64ull << 20, &err);
    CHECK(pm != NULL);
    if (!pm)
        return;
    CHECK_EQ(pmap_touched_pages(pm), 0);
    CHECK(pmap_page(pm, 0x7ffff000ull, false) == NULL);
    CHECK(pmap_page(pm, 0x80000000ull + (64ull << 20), false) == NULL);
    uint8_t *p = pmap_page(pm, 0x80001234ull, true);
    CHECK(p != NULL);
    CHECK_EQ(pmap_touched_pages(pm), 1);
    CHECK(pmap_page(pm, 0x80001000ull, false) == p);
    uint32_t v = 0xdeadbeef, r = 0;
    CHECK_EQ(pmap_write(pm, 0x80001ffeull, &v, 4), 0); /* crosses a page */
    CHECK_EQ(pmap_read(pm, 0x80001ffeull, &r, 4), 0);
    CHECK_EQ(r, 0xdeadbeef);
    /* Ranges leaving RAM, or wrapping, are refused whole. */
    CHECK_EQ(pmap_read(pm, 0x80000000ull + (64ull << 20) - 2, &r, 4), -EFAULT);
    CHECK_EQ(pmap_write(pm, UINT64_MAX - 1, &v, 4), -EFAULT);
    CHECK_EQ(pmap_read(pm, 0x7ffffffeull, &r, 4), -EFAULT);
    pmap_free(pm);
}

static void pmap_rejects_bad_sizes(void)
{
    struct disco_err err;
    CHECK(pmap_new(0x80000000ull, 0, &err) == NULL);
    CHECK(pmap_new(0x80000000ull, 1000, &err) == NULL);
    CHECK(err.msg[0] != '\0');
}

struct hook_log {
    int calls;
    uint64_t gpa, len;
};

static void log_hook(void *ctx, uint64_t gpa, uint64_t len)
{
    struct hook_log *h = ctx;
    h->calls++;
    h->gpa = gpa;
    h->len = len;
}

static void pmap_discard_releases_pages(void)
{
    struct disco_err err;
    const uint64_t base = 0x80000000ull;
    struct pmap *pm = pmap_new(base, 4ull << 20, &err);
    CHECK(pm != NULL);
    if (!pm)
        return;
    CHECK_EQ(pmap_resident_pages(pm), 0);
    CHECK_EQ(pmap_fill(pm, base, 0xa5, 64 * 4096), 0);
    CHECK_EQ(pmap_touched_pages(pm), 64);
    CHECK_EQ(pmap_resident_pages(pm), 64);
    uint8_t *p = pmap_page(pm, base + 8 * 4096, false);
    struct hook_log h = {0};
    pmap_set_write_hook(pm, log_hook, &h);
    CHECK_EQ(pmap_discard(pm, base + 8 * 4096, 16 * 4096), 0);
    CHECK_EQ(h.calls, 1);
    CHECK_EQ(h.gpa, base + 8 * 4096);
    CHECK_EQ(h.len, 16 * 4096);
    CHECK_EQ(pmap_resident_pages(pm), 48);
    CHECK_EQ(pmap_touched_pages(pm), 48);
    /* A host pointer taken before (a soft TLB entry) stays usable: writing
     * through it refaults the page, which reads back what was written. */
    p[1] = 7;
    CHECK_EQ(pmap_resident_pages(pm), 49);
    uint8_t b = 0;
    CHECK_EQ(pmap_read(pm, base + 8 * 4096 + 1, &b, 1), 0);
    CHECK_EQ(b, 7);
    CHECK_EQ(p[0], 0);
    CHECK(pmap_page(pm, base + 8 * 4096, true) == p);   /* the entry is back */
    CHECK_EQ(pmap_touched_pages(pm), 49);
    /* The other discarded pages read as zero, the pages around are kept.
     * (Reading maps the host's zero page, which mincore counts as resident
     * though it costs nothing: hence no exact count after this.) */
    CHECK_EQ(pmap_read(pm, base + 20 * 4096 + 7, &b, 1), 0);
    CHECK_EQ(b, 0);
    CHECK_EQ(pmap_read(pm, base + 8 * 4096 - 1, &b, 1), 0);
    CHECK_EQ(b, 0xa5);
    CHECK_EQ(pmap_read(pm, base + 24 * 4096, &b, 1), 0);
    CHECK_EQ(b, 0xa5);
    /* Discarding never-touched or already discarded pages is fine. */
    CHECK_EQ(pmap_discard(pm, base + (1ull << 20), 4096), 0);
    CHECK_EQ(pmap_discard(pm, base + 9 * 4096, 4096), 0);
    CHECK_EQ(pmap_touched_pages(pm), 50);   /* page 20, read above */
    /* The whole of RAM. */
    CHECK_EQ(pmap_discard(pm, base, 4ull << 20), 0);
    CHECK_EQ(pmap_resident_pages(pm), 0);
    CHECK_EQ(pmap_touched_pages(pm), 0);
    pmap_free(pm);
}

static void pmap_discard_rejects_bad_ranges(void)
{
    struct disco_err err;
    const uint64_t base = 0x80000000ull, size = 4ull << 20;
    struct pmap *pm = pmap_new(base, size, &err);
    CHECK(pm != NULL);
    if (!pm)
        return;
    CHECK_EQ(pmap_fill(pm, base, 0x11, size), 0);
    struct hook_log h = {0};
    pmap_set_write_hook(pm, log_hook, &h);
    CHECK_EQ(pmap_discard(pm, base + 1, 4096), -EINVAL);          /* unaligned start */
    CHECK_EQ(pmap_discard(pm, base, 4095), -EINVAL);              /* partial page */
    CHECK_EQ(pmap_discard(pm, base, 0), -EINVAL);
    CHECK_EQ(pmap_discard(pm, base - 4096, 4096), -EINVAL);       /* below RAM */
    CHECK_EQ(pmap_discard(pm, base - 4096, 8192), -EINVAL);       /* straddles the start */
    CHECK_EQ(pmap_discard(pm, base + size, 4096), -EINVAL);       /* just past the end */
    CHECK_EQ(pmap_discard(pm, base + size - 4096, 8192), -EINVAL);
    CHECK_EQ(pmap_discard(pm, 0xfffffffffffff000ull, 0x2000), -EINVAL); /* wraps */
    CHECK_EQ(pmap_discard(pm, 0, 4096), -EINVAL);
    CHECK_EQ(h.calls, 0);
    CHECK_EQ(pmap_resident_pages(pm), size / 4096);
    CHECK_EQ(pmap_touched_pages(pm), size / 4096);
    pmap_free(pm);
}

/* ---- with a pool: sharing, copy-on-write, swap, sampling ---- */

#define RAM_BASE 0x80000000ull
#define PG 4096ull

static struct mpool *test_pool(void)
{
    struct disco_err err;
    struct mpool_config cfg = {.budget = MPOOL_MIN_BUDGET, .swap_dir = "/tmp"};
    struct mpool *mp = mpool_new(&cfg, &err);
    if (!mp)
        printf("# mpool_new: %s\n", err.msg);
    return mp;
}

static struct pmap *attached_pmap(struct mpool *mp, uint64_t size, uint32_t domain)
{
    struct disco_err err;
    struct pmap *pm = pmap_new(RAM_BASE, size, &err);
    if (pm && pmap_attach(pm, mp, domain, &err) < 0) {
        printf("# pmap_attach: %s\n", err.msg);
        pmap_free(pm);
        return NULL;
    }
    return pm;
}

static void pattern(uint8_t *buf, unsigned seed)
{
    for (unsigned i = 0; i < PG; i++)
        buf[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static int write_pattern(struct pmap *pm, uint64_t page, unsigned seed)
{
    uint8_t buf[PG];
    pattern(buf, seed);
    return pmap_write(pm, RAM_BASE + page * PG, buf, PG);
}

static bool has_pattern(struct pmap *pm, uint64_t page, unsigned seed)
{
    uint8_t want[PG], got[PG];
    pattern(want, seed);
    return pmap_read(pm, RAM_BASE + page * PG, got, PG) == 0 && memcmp(want, got, PG) == 0;
}

static bool pool_is_empty(struct mpool *mp)
{
    struct mpool_stats st;
    mpool_stats(mp, &st);
    return st.used_pages == 0 && st.private_pages == 0 && st.shared_frames == 0 &&
           st.shared_refs == 0 && st.swapped_pages == 0;
}

static void pmap_attach_charges_and_checks(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    struct disco_err err;
    struct pmap *pm = pmap_new(RAM_BASE, 1 << 20, &err);
    CHECK(pm != NULL);
    if (!pm) {
        mpool_free(mp);
        return;
    }
    CHECK_EQ(pmap_fill(pm, RAM_BASE, 1, 10 * PG), 0);
    CHECK(pmap_pool(pm) == NULL);
    CHECK_EQ(pmap_scan(pm, 100), 0);        /* no pool: nothing */
    CHECK_EQ(pmap_swap_out(pm, 100), 0);
    CHECK_EQ(pmap_attach(pm, mp, 0, &err), -EINVAL);
    CHECK_EQ(pmap_attach(pm, NULL, 1, &err), -EINVAL);
    CHECK_EQ(pmap_attach(pm, mp, mpool_private_domain(mp), &err), 0);
    CHECK(pmap_pool(pm) == mp);
    CHECK_EQ(pmap_attach(pm, mp, mpool_private_domain(mp), &err), -EBUSY);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.private_pages, 10);
    CHECK_EQ(st.used_pages, 10);
    CHECK(pmap_page(pm, RAM_BASE + 20 * PG, false) != NULL);   /* first touch: charged */
    mpool_stats(mp, &st);
    CHECK_EQ(st.used_pages, 11);
    CHECK_EQ(pmap_discard(pm, RAM_BASE, 4 * PG), 0);
    mpool_stats(mp, &st);
    CHECK_EQ(st.used_pages, 7);
    pmap_free(pm);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static void pmap_shares_identical_pages(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t d = mpool_domain(mp, "a");
    struct pmap *a = attached_pmap(mp, 1 << 20, d), *b = attached_pmap(mp, 1 << 20, d);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    /* Pages 0..15 equal in both, 16..31 different, 32 a duplicate of page
     * 1 inside a. */
    for (unsigned i = 0; i < 32; i++) {
        /* (seeds differ mod 256, or the patterns would be equal) */
        CHECK_EQ(write_pattern(a, i, i < 16 ? i : 100 + i), 0);
        CHECK_EQ(write_pattern(b, i, i < 16 ? i : 200 + i), 0);
    }
    CHECK_EQ(write_pattern(a, 32, 1), 0);
    unsigned changed = pmap_scan(a, 256) + pmap_scan(b, 256) + pmap_scan(a, 256);
    CHECK_EQ(changed, 16 + 16 + 1);
    for (unsigned i = 0; i < 16; i++) {
        const uint8_t *fa = pmap_page(a, RAM_BASE + i * PG, false);
        CHECK(fa != NULL && fa == pmap_page(b, RAM_BASE + i * PG, false));
        CHECK(has_pattern(a, i, i) && has_pattern(b, i, i));
    }
    CHECK(pmap_page(a, RAM_BASE + 32 * PG, false) == pmap_page(a, RAM_BASE + PG, false));
    for (unsigned i = 16; i < 32; i++) {
        CHECK(pmap_page(a, RAM_BASE + i * PG, false) != pmap_page(b, RAM_BASE + i * PG, false));
        CHECK(has_pattern(a, i, 100 + i) && has_pattern(b, i, 200 + i));
    }
    struct pmap_stats sa, sb;
    pmap_stats(a, &sa);
    pmap_stats(b, &sb);
    CHECK_EQ(sa.shared_pages, 17);
    CHECK_EQ(sa.private_pages, 16);
    CHECK_EQ(sa.merges, 17);
    CHECK_EQ(sb.shared_pages, 16);
    CHECK_EQ(sb.merges, 16);
    CHECK_EQ(sa.scanned, 512);
    CHECK_EQ(sa.scan_rounds, 2);
    CHECK_EQ(sb.scan_rounds, 1);
    CHECK_EQ(pmap_touched_pages(a), 33);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 16);
    CHECK_EQ(st.shared_refs, 33);
    CHECK_EQ(st.saved_pages, 17);
    CHECK_EQ(st.private_pages, 32);
    CHECK_EQ(st.used_pages, 48);
    /* A slot given up by a merge is not resident any more. */
    CHECK_EQ(pmap_resident_pages(a), 16);
    /* Scanning again changes nothing. */
    CHECK_EQ(pmap_scan(a, 256) + pmap_scan(b, 256), 0);
out:
    pmap_free(a);
    pmap_free(b);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

struct cow_probe {
    struct mpool *mp;
    const uint8_t *old_frame;
    uint8_t old_byte;
    int calls;
    bool wait;
    uint64_t gpa;
    uint64_t frames_at_hook, refs_at_hook;
    bool old_intact_at_hook;
    bool give_up;           /* report the wait as given up */
};

static bool cow_hook(void *ctx, uint64_t gpa, bool wait)
{
    struct cow_probe *p = ctx;
    struct mpool_stats st;
    mpool_stats(p->mp, &st);
    p->calls++;
    p->wait = wait;
    p->gpa = gpa;
    p->frames_at_hook = st.shared_frames;
    p->refs_at_hook = st.shared_refs;
    p->old_intact_at_hook = p->old_frame[5] == p->old_byte;
    return !p->give_up;
}

static void pmap_cow_break_copies_then_shoots_down(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t d = mpool_domain(mp, "cow");
    struct pmap *a = attached_pmap(mp, 64 * PG, d), *b = attached_pmap(mp, 64 * PG, d);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    const uint64_t gpa = RAM_BASE + 3 * PG;
    CHECK_EQ(write_pattern(a, 3, 42), 0);
    CHECK_EQ(write_pattern(b, 3, 42), 0);
    pmap_scan(a, 64);
    pmap_scan(b, 64);
    pmap_scan(a, 64);
    const uint8_t *frame = pmap_page(a, gpa, false);
    CHECK(frame != NULL && frame == pmap_page(b, gpa, false));
    struct cow_probe pa = {.mp = mp, .old_frame = frame, .old_byte = frame[5]};
    struct cow_probe pb = pa;
    pmap_set_shootdown_hook(a, cow_hook, &pa);
    pmap_set_shootdown_hook(b, cow_hook, &pb);

    /* a writes through pmap_write: a copy, then the waiting shootdown. */
    uint32_t v = 0x11223344;
    CHECK_EQ(pmap_write(a, gpa + 8, &v, 4), 0);
    CHECK_EQ(pa.calls, 1);
    CHECK(pa.wait);
    CHECK_EQ(pa.gpa, gpa);
    CHECK_EQ(pa.refs_at_hook, 2);          /* a's reference not yet dropped */
    CHECK(pa.old_intact_at_hook);
    CHECK(pmap_page(a, gpa, false) != frame);
    CHECK(has_pattern(b, 3, 42));          /* b still reads the old bytes */
    uint32_t r = 0;
    CHECK_EQ(pmap_read(a, gpa + 8, &r, 4), 0);
    CHECK_EQ(r, v);
    CHECK_EQ(pmap_read(a, gpa + 12, &r, 1), 0);
    uint8_t old[PG];
    pattern(old, 42);
    CHECK_EQ(r & 0xff, old[12]);           /* the rest was copied */
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_refs, 1);

    /* b writes through pmap_page(for_write): its break frees the frame,
     * but only after the hook ran. */
    uint8_t *w = pmap_page(b, gpa, true);
    CHECK(w != NULL && w != frame);
    CHECK_EQ(pb.calls, 1);
    CHECK(pb.wait);
    CHECK_EQ(pb.frames_at_hook, 1);
    CHECK(pb.old_intact_at_hook);
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 0);
    CHECK_EQ(frame[5], 0);                 /* now released */
    w[0] = 0x5a;
    CHECK(pmap_page(b, gpa, false) == w);
    CHECK(memcmp(w + 1, old + 1, PG - 1) == 0);
    struct pmap_stats sa, sb;
    pmap_stats(a, &sa);
    pmap_stats(b, &sb);
    CHECK_EQ(sa.cow_breaks, 1);
    CHECK_EQ(sb.cow_breaks, 1);
    CHECK_EQ(sa.shared_pages + sb.shared_pages, 0);
    CHECK_EQ(sa.private_pages, 1);
    mpool_stats(mp, &st);
    CHECK_EQ(st.private_pages, 2);
out:
    pmap_free(a);
    pmap_free(b);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

/* A shootdown that gave up waiting (a hart's thread stalled) must not let
 * the old frame be freed: it stays until the next batch op (VM quiesced). */
static void pmap_cow_defers_frame_when_shootdown_gives_up(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t d = mpool_private_domain(mp);
    struct pmap *a = attached_pmap(mp, 64 * PG, d);
    CHECK(a != NULL);
    if (!a)
        goto out;
    const uint64_t gpa = RAM_BASE + 3 * PG;
    CHECK_EQ(write_pattern(a, 3, 42), 0);
    CHECK_EQ(write_pattern(a, 4, 42), 0);
    pmap_scan(a, 64);
    pmap_scan(a, 64);
    const uint8_t *frame = pmap_page(a, gpa, false);
    CHECK(frame != NULL && frame == pmap_page(a, gpa + PG, false));
    struct cow_probe p = {.mp = mp, .old_frame = frame, .old_byte = frame[5], .give_up = true};
    pmap_set_shootdown_hook(a, cow_hook, &p);
    CHECK(pmap_page(a, gpa, true) != NULL);
    CHECK(pmap_page(a, gpa + PG, true) != NULL);   /* the last reference: would free it */
    CHECK_EQ(p.calls, 2);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 1);                 /* kept for a stale reader */
    CHECK_EQ(frame[5], p.old_byte);
    pmap_scan(a, 1);                               /* quiesced: now it may go */
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 0);
out:
    pmap_free(a);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static void pmap_domains_never_meet(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t doms[4] = {mpool_domain(mp, "a"), mpool_domain(mp, "b"), mpool_private_domain(mp),
                        mpool_private_domain(mp)};
    struct pmap *pm[4] = {0};
    bool ok = true;
    for (int v = 0; v < 4; v++) {
        pm[v] = attached_pmap(mp, 64 * PG, doms[v]);
        ok = ok && pm[v];
        for (unsigned i = 0; pm[v] && i < 8; i++)
            CHECK_EQ(write_pattern(pm[v], i, i), 0);
    }
    CHECK(ok);
    if (ok) {
        for (int round = 0; round < 3; round++)
            for (int v = 0; v < 4; v++)
                pmap_scan(pm[v], 64);
        for (unsigned i = 0; i < 8; i++)
            for (int v = 0; v < 4; v++)
                for (int u = v + 1; u < 4; u++)
                    CHECK(pmap_page(pm[v], RAM_BASE + i * PG, false) !=
                          pmap_page(pm[u], RAM_BASE + i * PG, false));
        struct mpool_stats st;
        mpool_stats(mp, &st);
        CHECK_EQ(st.saved_pages, 0);
        CHECK_EQ(st.shared_frames, 0);
        /* The control: a fifth VM in domain "a" does share with the first. */
        struct pmap *e = attached_pmap(mp, 64 * PG, mpool_domain(mp, "a"));
        CHECK(e != NULL);
        if (e) {
            for (unsigned i = 0; i < 8; i++)
                write_pattern(e, i, i);
            pmap_scan(e, 64);
            pmap_scan(pm[0], 64);
            CHECK(pmap_page(e, RAM_BASE, false) == pmap_page(pm[0], RAM_BASE, false));
            pmap_free(e);
        }
    }
    for (int v = 0; v < 4; v++)
        pmap_free(pm[v]);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static void pmap_scan_drops_zero_pages(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    struct pmap *pm = attached_pmap(mp, 64 * PG, mpool_private_domain(mp));
    CHECK(pm != NULL);
    if (!pm) {
        mpool_free(mp);
        return;
    }
    CHECK_EQ(pmap_fill(pm, RAM_BASE, 0, 20 * PG), 0);   /* written, but zero */
    CHECK_EQ(write_pattern(pm, 5, 9), 0);
    CHECK_EQ(pmap_resident_pages(pm), 20);
    /* In batches: the cursor carries on where it stopped. */
    CHECK_EQ(pmap_scan(pm, 10), 9);    /* page 5 is only hashed */
    CHECK_EQ(pmap_scan(pm, 10), 10);
    struct pmap_stats st;
    pmap_stats(pm, &st);
    CHECK_EQ(st.zero_pages, 19);
    CHECK_EQ(st.private_pages, 1);
    CHECK_EQ(st.scanned, 20);
    CHECK_EQ(st.scan_rounds, 0);
    CHECK_EQ(pmap_touched_pages(pm), 1);
    CHECK_EQ(pmap_resident_pages(pm), 1);
    struct mpool_stats ms;
    mpool_stats(mp, &ms);
    CHECK_EQ(ms.used_pages, 1);
    uint8_t b = 0xff;
    CHECK_EQ(pmap_read(pm, RAM_BASE + 7 * PG + 9, &b, 1), 0);
    CHECK_EQ(b, 0);
    CHECK(has_pattern(pm, 5, 9));
    CHECK_EQ(pmap_scan(pm, 1000), 1);   /* the rest, wrapping once: page 7, read */
    pmap_stats(pm, &st);
    CHECK_EQ(st.scan_rounds, 1);
    pmap_free(pm);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static bool swap_ready(void)
{
    struct disco_err err;
    struct swap *sw = swap_open("/tmp", &err);
    if (!sw)
        return false;
    swap_close(sw);
    return true;
}

static void pmap_swap_round_trip(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    struct pmap *pm = attached_pmap(mp, 256 * PG, mpool_private_domain(mp));
    CHECK(pm != NULL);
    if (!pm) {
        mpool_free(mp);
        return;
    }
    for (unsigned i = 0; i < 64; i++)
        CHECK_EQ(write_pattern(pm, i, i), 0);
    CHECK_EQ(pmap_fill(pm, RAM_BASE + 64 * PG, 0, 8 * PG), 0);
    /* Everything was just accessed: the first lap clears, the second takes. */
    CHECK_EQ(pmap_swap_out(pm, 1000), 72);
    struct pmap_stats st;
    pmap_stats(pm, &st);
    CHECK_EQ(st.swapped_pages, 64);
    CHECK_EQ(st.swap_outs, 64);
    CHECK_EQ(st.private_pages, 0);
    CHECK_EQ(st.zero_pages, 8);
    CHECK_EQ(pmap_touched_pages(pm), 64);
    CHECK_EQ(pmap_resident_pages(pm), 0);
    struct mpool_stats ms;
    mpool_stats(mp, &ms);
    CHECK_EQ(ms.used_pages, 0);
    CHECK_EQ(ms.swapped_pages, 64);
    CHECK(ms.swap_bytes > 0);
    CHECK_EQ(pmap_swap_out(pm, 10), 0);   /* nothing private left */
    /* Reads and writes bring pages back, with their contents. */
    for (unsigned i = 0; i < 32; i++)
        CHECK(has_pattern(pm, i, i));
    uint8_t *w = pmap_page(pm, RAM_BASE + 40 * PG, true);
    CHECK(w != NULL);
    uint8_t want[PG];
    pattern(want, 40);
    if (w)
        CHECK(memcmp(w, want, PG) == 0);
    const uint8_t *r = pmap_page(pm, RAM_BASE + 41 * PG, false);
    pattern(want, 41);
    CHECK(r != NULL && memcmp(r, want, PG) == 0);
    CHECK(has_pattern(pm, 63, 63));
    uint8_t z = 0xff;
    CHECK_EQ(pmap_read(pm, RAM_BASE + 66 * PG, &z, 1), 0);
    CHECK_EQ(z, 0);
    pmap_stats(pm, &st);
    CHECK_EQ(st.swap_ins, 35);
    CHECK_EQ(st.swapped_pages, 29);
    CHECK_EQ(st.private_pages, 36);   /* 35 swapped in + page 66 read */
    mpool_stats(mp, &ms);
    CHECK_EQ(ms.swapped_pages, 29);
    CHECK_EQ(ms.used_pages, 36);
    /* Discard: swapped pages give their slot back and read zero; shared
     * pages stay. */
    struct hook_log h = {0};
    pmap_set_write_hook(pm, log_hook, &h);
    CHECK_EQ(pmap_discard(pm, RAM_BASE + 32 * PG, 8 * PG), 0);   /* pages 32..39: swapped */
    CHECK_EQ(h.calls, 1);
    mpool_stats(mp, &ms);
    CHECK_EQ(ms.swapped_pages, 21);
    CHECK_EQ(pmap_read(pm, RAM_BASE + 33 * PG, &z, 1), 0);
    CHECK_EQ(z, 0);
    pmap_free(pm);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static void pmap_clock_prefers_idle_pages(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    struct pmap *pm = attached_pmap(mp, 256 * PG, mpool_private_domain(mp));
    CHECK(pm != NULL);
    if (!pm) {
        mpool_free(mp);
        return;
    }
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(write_pattern(pm, i, i), 0);
    /* Lap one clears every accessed bit, lap two takes page 0. */
    CHECK_EQ(pmap_swap_out(pm, 1), 1);
    /* Touch 1..15 (as a TLB miss would); 16..31 stay idle. */
    for (unsigned i = 1; i < 16; i++)
        CHECK(pmap_page(pm, RAM_BASE + i * PG, false) != NULL);
    CHECK_EQ(pmap_swap_out(pm, 8), 8);
    struct pmap_stats st;
    pmap_stats(pm, &st);
    CHECK_EQ(st.swapped_pages, 9);
    /* The victims are idle pages: touching the recently used ones again
     * reads nothing back from swap. */
    for (unsigned i = 1; i < 16; i++)
        CHECK(pmap_page(pm, RAM_BASE + i * PG, false) != NULL);
    pmap_stats(pm, &st);
    CHECK_EQ(st.swap_ins, 0);
    for (unsigned i = 16; i < 24; i++)
        CHECK(has_pattern(pm, i, i));
    pmap_stats(pm, &st);
    CHECK_EQ(st.swap_ins, 8);
    CHECK(has_pattern(pm, 0, 0));
    pmap_free(pm);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static void pmap_discard_keeps_shared_and_shoots_down(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    struct pmap *pm = attached_pmap(mp, 64 * PG, mpool_private_domain(mp));
    CHECK(pm != NULL);
    if (!pm) {
        mpool_free(mp);
        return;
    }
    CHECK_EQ(write_pattern(pm, 0, 3), 0);
    CHECK_EQ(write_pattern(pm, 1, 3), 0);
    CHECK_EQ(write_pattern(pm, 2, 4), 0);
    pmap_scan(pm, 64);
    pmap_scan(pm, 64);
    struct pmap_stats st;
    pmap_stats(pm, &st);
    CHECK_EQ(st.shared_pages, 2);
    struct cow_probe p = {.mp = mp, .old_frame = pmap_page(pm, RAM_BASE, false)};
    p.old_byte = p.old_frame[5];
    pmap_set_shootdown_hook(pm, cow_hook, &p);
    CHECK_EQ(pmap_discard(pm, RAM_BASE, 3 * PG), 0);
    CHECK_EQ(p.calls, 1);
    CHECK(!p.wait);
    CHECK_EQ(p.gpa, RAM_BASE);
    pmap_stats(pm, &st);
    CHECK_EQ(st.shared_pages, 2);
    CHECK_EQ(st.private_pages, 0);
    CHECK(has_pattern(pm, 0, 3) && has_pattern(pm, 1, 3));
    uint8_t z = 1;
    CHECK_EQ(pmap_read(pm, RAM_BASE + 2 * PG, &z, 1), 0);
    CHECK_EQ(z, 0);
    pmap_free(pm);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

static void pmap_sampling_counts_touched(void)
{
    struct disco_err err;
    struct pmap *pm = pmap_new(RAM_BASE, 1024 * PG, &err);
    CHECK(pm != NULL);
    if (!pm)
        return;
    pmap_sample_begin(pm, 100, 1);
    CHECK_EQ(pmap_sample_end(pm), 1000);   /* nothing touched: nothing to sample */
    for (unsigned i = 0; i < 200; i++)
        CHECK(pmap_page(pm, RAM_BASE + i * 5 * PG, true) != NULL);
    pmap_sample_begin(pm, 100, 7);
    CHECK_EQ(pmap_sample_end(pm), 0);      /* none touched since */
    pmap_sample_begin(pm, 5000, 7);        /* capped; all 200 sampled */
    for (unsigned i = 0; i < 200; i += 2)
        pmap_page(pm, RAM_BASE + i * 5 * PG, false);
    CHECK_EQ(pmap_sample_end(pm), 500);
    pmap_sample_begin(pm, 50, 9);
    for (unsigned i = 0; i < 200; i++)
        pmap_page(pm, RAM_BASE + i * 5 * PG, false);
    pmap_read(pm, RAM_BASE, &err, 1);
    CHECK_EQ(pmap_sample_end(pm), 1000);
    CHECK_EQ(pmap_sample_end(pm), 1000);   /* no sample running */
    /* A different seed picks a different sample of a half-touched set. */
    unsigned r[4];
    for (unsigned s = 0; s < 4; s++) {
        pmap_sample_begin(pm, 20, s + 100);
        for (unsigned i = 0; i < 100; i++)
            pmap_page(pm, RAM_BASE + i * 5 * PG, false);
        r[s] = pmap_sample_end(pm);
        CHECK(r[s] <= 1000);
    }
    CHECK(r[0] != r[1] || r[1] != r[2] || r[2] != r[3]);
    pmap_free(pm);
}

/* ---- threads: COW breaks, reads of frames being dropped, scans ---- */

#define MT_PAGES 64u
#define MT_THREADS 4u
#define MT_MIN_OPS 2000u
#define MT_SCANS 4000u

struct mt_state {
    struct pmap *pm[2];
    pthread_rwlock_t quiesce;     /* writers: the scanner (the VM paused) */
    atomic_uint workers_left;
    atomic_bool stop;
    atomic_uint ops;
    atomic_uint scans;
    atomic_uint errors;
    atomic_uint shootdowns;
    uint64_t model[2][MT_PAGES];  /* page's first word; each page has one owner thread */
};

struct mt_worker {
    struct mt_state *s;
    unsigned id;
};

static bool mt_shootdown(void *ctx, uint64_t gpa, bool wait)
{
    (void)gpa;
    (void)wait;
    atomic_fetch_add(&((struct mt_state *)ctx)->shootdowns, 1);
    return true;
}

static uint8_t mt_byte(unsigned page, unsigned off) { return (uint8_t)(page * 37 + off * 3 + 1); }

static bool mt_page_ok(const uint8_t *p, unsigned page, uint64_t word)
{
    uint64_t w;
    memcpy(&w, p, 8);
    if (w != word)
        return false;
    for (unsigned off = 8; off < PG; off += 97)
        if (p[off] != mt_byte(page, off))
            return false;
    return true;
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void *mt_worker_run(void *arg)
{
    struct mt_worker *w = arg;
    struct mt_state *s = w->s;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (w->id + 1);
    /* Until the scanner is done (it makes a fixed number of batches). */
    for (unsigned op = 0; op < MT_MIN_OPS || !atomic_load(&s->stop); op++) {
        uint64_t r = xorshift(&rng);
        unsigned v = r & 1, kind = (r >> 1) & 3;
        unsigned own = (unsigned)((r >> 3) % (MT_PAGES / MT_THREADS)) * MT_THREADS + w->id;
        unsigned any = (unsigned)((r >> 20) % MT_PAGES);
        uint64_t val = (r >> 40) % 3;   /* few values: pages keep meeting again */
        uint64_t gpa = RAM_BASE + own * PG;
        /* Keep pace with the scanner, so pages stay unchanged long enough
         * to be merged again (it never waits for us to stop). */
        while (!atomic_load(&s->stop) && atomic_load(&s->ops) > atomic_load(&s->scans) * 16u + 64u)
            sched_yield();
        pthread_rwlock_rdlock(&s->quiesce);
        if (kind == 0) {
            if (pmap_write(s->pm[v], gpa, &val, 8) == 0)
                s->model[v][own] = val;
            else
                atomic_fetch_add(&s->errors, 1);
        } else if (kind == 1) {
            uint8_t *p = pmap_page(s->pm[v], gpa, true);
            if (p) {
                memcpy(p, &val, 8);
                s->model[v][own] = val;
            } else {
                atomic_fetch_add(&s->errors, 1);
            }
        } else if (kind == 2) {
            const uint8_t *p = pmap_page(s->pm[v], gpa, false);
            if (!p || !mt_page_ok(p, own, s->model[v][own]))
                atomic_fetch_add(&s->errors, 1);
        } else {
            /* Another thread's page: its owner may break COW meanwhile. */
            uint8_t buf[PG];
            uint64_t word;
            if (pmap_read(s->pm[v], RAM_BASE + any * PG, buf, PG) < 0)
                atomic_fetch_add(&s->errors, 1);
            memcpy(&word, buf, 8);
            if (!mt_page_ok(buf, any, word) || word > 2)
                atomic_fetch_add(&s->errors, 1);
        }
        pthread_rwlock_unlock(&s->quiesce);
        atomic_fetch_add(&s->ops, 1);
    }
    atomic_fetch_sub(&s->workers_left, 1);
    return NULL;
}

static void pmap_threads_cow_and_scan(void)
{
    struct mpool *mp = test_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    static struct mt_state s;
    memset(&s, 0, sizeof s);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* The scanner must get in between the workers' many short holds. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s.quiesce, &attr);
    pthread_rwlockattr_destroy(&attr);
    uint32_t d = mpool_domain(mp, "mt");
    s.pm[0] = attached_pmap(mp, MT_PAGES * PG, d);
    s.pm[1] = attached_pmap(mp, MT_PAGES * PG, d);
    CHECK(s.pm[0] && s.pm[1]);
    if (!s.pm[0] || !s.pm[1])
        goto out;
    for (unsigned v = 0; v < 2; v++) {
        pmap_set_shootdown_hook(s.pm[v], mt_shootdown, &s);
        for (unsigned p = 0; p < MT_PAGES; p++) {
            uint8_t buf[PG];
            for (unsigned off = 0; off < PG; off++)
                buf[off] = mt_byte(p, off);
            memset(buf, 0, 8);
            CHECK_EQ(pmap_write(s.pm[v], RAM_BASE + p * PG, buf, PG), 0);
        }
    }
    for (int i = 0; i < 3; i++) {
        pmap_scan(s.pm[0], MT_PAGES);
        pmap_scan(s.pm[1], MT_PAGES);
    }
    struct mpool_stats ms;
    mpool_stats(mp, &ms);
    CHECK_EQ(ms.saved_pages, MT_PAGES);   /* everything shared to start with */

    atomic_store(&s.workers_left, MT_THREADS);
    pthread_t th[MT_THREADS];
    struct mt_worker w[MT_THREADS];
    for (unsigned t = 0; t < MT_THREADS; t++) {
        w[t] = (struct mt_worker){&s, t};
        CHECK(pthread_create(&th[t], NULL, mt_worker_run, &w[t]) == 0);
    }
    /* The scanner, on this thread: the VM quiesced for each batch. */
    unsigned scans = 0, merged = 0;
    for (; scans < MT_SCANS; scans++) {
        /* Let the workers make progress between batches (they always do:
         * this waits for nothing else). */
        while (atomic_load(&s.ops) < scans * 16u)
            sched_yield();
        pthread_rwlock_wrlock(&s.quiesce);
        merged += pmap_scan(s.pm[scans & 1], 16);
        pthread_rwlock_unlock(&s.quiesce);
        atomic_store(&s.scans, scans + 1);
    }
    atomic_store(&s.stop, true);
    for (unsigned t = 0; t < MT_THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK_EQ(atomic_load(&s.errors), 0);
    CHECK(merged > 0);
    struct pmap_stats s0, s1;
    pmap_stats(s.pm[0], &s0);
    pmap_stats(s.pm[1], &s1);
    CHECK(s0.cow_breaks + s1.cow_breaks > 0);
    CHECK_EQ(atomic_load(&s.shootdowns), s0.cow_breaks + s1.cow_breaks);
    printf("# %u scans, %u ops, %u pages merged, %llu COW breaks\n", scans, atomic_load(&s.ops), merged,
           (unsigned long long)(s0.cow_breaks + s1.cow_breaks));
    /* Every page of both VMs holds what its owner last wrote. */
    for (unsigned v = 0; v < 2; v++)
        for (unsigned p = 0; p < MT_PAGES; p++) {
            uint8_t buf[PG];
            CHECK_EQ(pmap_read(s.pm[v], RAM_BASE + p * PG, buf, PG), 0);
            CHECK(mt_page_ok(buf, p, s.model[v][p]));
        }
    mpool_stats(mp, &ms);
    CHECK_EQ(ms.shared_refs, s0.shared_pages + s1.shared_pages);
    CHECK_EQ(ms.private_pages, s0.private_pages + s1.private_pages);
    CHECK_EQ(ms.used_pages, ms.private_pages + ms.shared_frames);
out:
    pmap_free(s.pm[0]);
    pmap_free(s.pm[1]);
    pthread_rwlock_destroy(&s.quiesce);
    CHECK(pool_is_empty(mp));
    mpool_free(mp);
}

int main(void)
{
    RUN(pmap_lazy_and_bounds);
    RUN(pmap_rejects_bad_sizes);
    RUN(pmap_discard_releases_pages);
    RUN(pmap_discard_rejects_bad_ranges);
    RUN(pmap_attach_charges_and_checks);
    RUN(pmap_shares_identical_pages);
    RUN(pmap_cow_break_copies_then_shoots_down);
    RUN(pmap_cow_defers_frame_when_shootdown_gives_up);
    RUN(pmap_domains_never_meet);
    RUN(pmap_scan_drops_zero_pages);
    RUN(pmap_discard_keeps_shared_and_shoots_down);
    RUN(pmap_sampling_counts_touched);
    if (swap_ready()) {
        RUN(pmap_swap_round_trip);
        RUN(pmap_clock_prefers_idle_pages);
    } else {
        SKIP(pmap_swap_round_trip, "no swap store in /tmp");
        SKIP(pmap_clock_prefers_idle_pages, "no swap store in /tmp");
    }
    RUN(pmap_threads_cow_and_scan);
    T_EXIT();
}

#include "mem/pmap.h"
#include "t.h"

#include <errno.h>

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

int main(void)
{
    RUN(pmap_lazy_and_bounds);
    RUN(pmap_rejects_bad_sizes);
    RUN(pmap_discard_releases_pages);
    RUN(pmap_discard_rejects_bad_ranges);
    T_EXIT();
}

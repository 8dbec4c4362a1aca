#include "mem/pmap.h"
#include "t.h"

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

int main(void)
{
    RUN(pmap_lazy_and_bounds);
    RUN(pmap_rejects_bad_sizes);
    T_EXIT();
}

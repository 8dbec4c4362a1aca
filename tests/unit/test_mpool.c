#include "mem/mpool.h"
#include "t.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>

static uint64_t mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    uint64_t kib = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib * 1024;
}

static struct mpool *small_pool(void)
{
    struct disco_err err;
    struct mpool_config cfg = {.budget = MPOOL_MIN_BUDGET, .swap_dir = "/tmp"};
    struct mpool *mp = mpool_new(&cfg, &err);
    if (!mp)
        printf("# mpool_new: %s\n", err.msg);
    return mp;
}

static bool contains_number(const char *msg, uint64_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, n);
    return strstr(msg, buf) != NULL;
}

static void mpool_budget_limits(void)
{
    struct disco_err err;
    uint64_t total = mem_total();
    CHECK(total > 0);
    /* Default: 3/4 of MemTotal. */
    struct mpool *mp = mpool_new(NULL, &err);
    CHECK(mp != NULL);
    if (!mp)
        return;
    if (total / 4 * 3 >= MPOOL_MIN_BUDGET)
        CHECK_EQ(mpool_budget(mp), total / 4 * 3);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.budget, mpool_budget(mp));
    CHECK_EQ(st.used_pages, 0);

    /* Too small and too large are refused, naming both numbers. */
    err_clear(&err);
    CHECK_EQ(mpool_set_budget(mp, MPOOL_MIN_BUDGET - 1, &err), -EINVAL);
    CHECK(contains_number(err.msg, MPOOL_MIN_BUDGET - 1));
    CHECK(contains_number(err.msg, MPOOL_MIN_BUDGET));
    err_clear(&err);
    CHECK_EQ(mpool_set_budget(mp, total + 4096, &err), -EINVAL);
    CHECK(contains_number(err.msg, total + 4096));
    CHECK(contains_number(err.msg, total));
    CHECK(mpool_budget(mp) >= MPOOL_MIN_BUDGET && mpool_budget(mp) <= total); /* unchanged */
    CHECK_EQ(mpool_set_budget(mp, MPOOL_MIN_BUDGET, &err), 0);
    CHECK_EQ(mpool_budget(mp), MPOOL_MIN_BUDGET);
    mpool_free(mp);

    struct mpool_config cfg = {.budget = 1 << 20};
    err_clear(&err);
    CHECK(mpool_new(&cfg, &err) == NULL);
    CHECK_EQ(err.code, -EINVAL);
    CHECK(contains_number(err.msg, 1 << 20));
    CHECK(contains_number(err.msg, MPOOL_MIN_BUDGET));
    cfg.budget = total * 2;
    err_clear(&err);
    CHECK(mpool_new(&cfg, &err) == NULL);
    CHECK(contains_number(err.msg, total * 2));
    CHECK(contains_number(err.msg, total));
}

static void count_hook(void *ctx) { (*(int *)ctx)++; }

static void mpool_pressure_is_edge_triggered(void)
{
    struct mpool *mp = small_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    int calls = 0;
    mpool_set_pressure_hook(mp, count_hook, &calls);
    const int64_t budget_pages = MPOOL_MIN_BUDGET / 4096;
    const int64_t soft_pages = budget_pages - budget_pages / 16;
    mpool_charge(mp, soft_pages);             /* at the mark, not above */
    CHECK_EQ(calls, 0);
    CHECK_EQ(mpool_over_soft(mp), 0);
    mpool_charge(mp, 1);                      /* crosses */
    CHECK_EQ(calls, 1);
    CHECK_EQ(mpool_over_soft(mp), 4096);
    CHECK_EQ(mpool_over_budget(mp), 0);
    mpool_charge(mp, 100);                    /* still above: no new call */
    mpool_charge(mp, -50);
    mpool_charge(mp, 50);
    CHECK_EQ(calls, 1);
    mpool_charge(mp, budget_pages - soft_pages);   /* 101 pages over budget */
    CHECK_EQ(mpool_over_budget(mp), 101 * 4096);
    CHECK_EQ(calls, 1);
    mpool_charge(mp, -(budget_pages + 101));  /* back to zero: re-armed */
    CHECK_EQ(mpool_over_soft(mp), 0);
    mpool_charge(mp, soft_pages + 10);
    CHECK_EQ(calls, 2);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.pressure_events, 2);
    CHECK_EQ(st.used_pages, soft_pages + 10);
    CHECK_EQ(st.private_pages, soft_pages + 10);
    /* Lowering the budget under the usage fires too (after a re-arm). */
    struct disco_err err;
    mpool_charge(mp, -(soft_pages + 10));
    CHECK_EQ(mpool_set_budget(mp, 2 * MPOOL_MIN_BUDGET, &err), 0);
    mpool_charge(mp, soft_pages + 10);        /* under the new, higher mark */
    CHECK_EQ(calls, 2);
    CHECK_EQ(mpool_set_budget(mp, MPOOL_MIN_BUDGET, &err), 0);
    CHECK_EQ(calls, 3);
    mpool_charge(mp, -(soft_pages + 10));
    mpool_set_pressure_hook(mp, NULL, NULL);
    mpool_charge(mp, soft_pages + 1);         /* no hook: counted only */
    CHECK_EQ(calls, 3);
    mpool_stats(mp, &st);
    CHECK_EQ(st.pressure_events, 4);
    mpool_charge(mp, -(soft_pages + 1));
    mpool_stats(mp, &st);
    CHECK_EQ(st.used_pages, 0);
    mpool_free(mp);
}

static void mpool_domains_named_and_private(void)
{
    struct mpool *mp = small_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t a = mpool_domain(mp, "a"), b = mpool_domain(mp, "b");
    CHECK(a != 0 && b != 0 && a != b);
    CHECK_EQ(mpool_domain(mp, "a"), a);
    CHECK_EQ(mpool_domain(mp, "golden-image_1.0"), mpool_domain(mp, "golden-image_1.0"));
    char name[MPOOL_DOMAIN_NAME_MAX + 2];
    memset(name, 'x', sizeof name);
    name[MPOOL_DOMAIN_NAME_MAX] = '\0';
    CHECK(mpool_domain(mp, name) != 0);             /* 64 bytes: fine */
    name[MPOOL_DOMAIN_NAME_MAX] = 'x';
    name[MPOOL_DOMAIN_NAME_MAX + 1] = '\0';
    CHECK_EQ(mpool_domain(mp, name), 0);            /* 65: too long */
    CHECK_EQ(mpool_domain(mp, ""), 0);
    CHECK_EQ(mpool_domain(mp, NULL), 0);
    CHECK_EQ(mpool_domain(mp, "a b"), 0);
    CHECK_EQ(mpool_domain(mp, "x/y"), 0);
    CHECK_EQ(mpool_domain(mp, "caf\xc3\xa9"), 0);
    uint32_t p1 = mpool_private_domain(mp), p2 = mpool_private_domain(mp);
    CHECK(p1 != 0 && p2 != 0 && p1 != p2);
    CHECK(p1 != a && p1 != b && p2 != a && p2 != b);
    CHECK(mpool_domain(mp, "c") != p1 && mpool_domain(mp, "c") != p2);
    mpool_free(mp);
}

static void fill_page(uint8_t *p, uint8_t seed)
{
    for (int i = 0; i < 4096; i++)
        p[i] = (uint8_t)(seed + i * 13);
}

static void mpool_share_and_unshare(void)
{
    struct mpool *mp = small_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t d = mpool_domain(mp, "d"), other = mpool_private_domain(mp);
    static uint8_t pages[5][4096];
    for (int i = 0; i < 4; i++)
        fill_page(pages[i], 7);
    fill_page(pages[4], 8);   /* different bytes */
    const uint64_t h = 0x1234;
    CHECK(mpool_share(mp, d, h, pages[0]) == NULL);    /* first sighting */
    CHECK(mpool_share(mp, d, h, pages[0]) == NULL);    /* the same page again */
    const uint8_t *f = mpool_share(mp, d, h, pages[1]);
    CHECK(f != NULL);
    if (!f) {
        mpool_free(mp);
        return;
    }
    CHECK(f != pages[1] && memcmp(f, pages[1], 4096) == 0);
    CHECK(mpool_share(mp, d, h, pages[2]) == f);
    /* Same hash, different bytes: a collision never maps them together. */
    CHECK(mpool_share(mp, d, h, pages[4]) == NULL);
    /* Same bytes and hash in another domain: not this frame. */
    CHECK(mpool_share(mp, other, h, pages[3]) == NULL);
    CHECK(mpool_share(mp, other, h, pages[2]) != f);
    CHECK(mpool_share(mp, 0, h, pages[3]) == NULL);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 2);
    CHECK_EQ(st.shared_refs, 3);
    CHECK_EQ(st.saved_pages, 1);
    CHECK_EQ(st.used_pages, 2);
    CHECK_EQ(st.private_pages, 0);
    const uint8_t *g = mpool_share(mp, other, h, pages[1]);   /* the other domain's frame */
    CHECK(g != NULL && g != f);
    mpool_unshare(mp, g);
    mpool_unshare(mp, g);
    mpool_unshare(mp, f);
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 1);
    CHECK_EQ(st.shared_refs, 1);
    CHECK_EQ(f[100], pages[0][100]);   /* still held */
    mpool_unshare(mp, f);
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_frames, 0);
    CHECK_EQ(st.shared_refs, 0);
    CHECK_EQ(st.used_pages, 0);
    CHECK_EQ(f[100], 0);               /* released to the host */
    /* Bad input is ignored. */
    mpool_unshare(mp, f);
    mpool_unshare(mp, pages[0]);
    mpool_unshare(mp, NULL);
    mpool_stats(mp, &st);
    CHECK_EQ(st.shared_refs, 0);
    /* A freed frame is reused. */
    CHECK(mpool_share(mp, d, 99, pages[0]) == NULL);
    const uint8_t *f2 = mpool_share(mp, d, 99, pages[1]);
    CHECK(f2 != NULL);
    if (f2)
        CHECK(memcmp(f2, pages[0], 4096) == 0);
    /* mpool_free releases what is left (ASan checks). */
    mpool_free(mp);
}

static void mpool_hints_bounded_and_forgotten(void)
{
    struct mpool *mp = small_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    uint32_t d = mpool_domain(mp, "d");
    static uint8_t a[4096], b[4096];
    fill_page(a, 1);
    memcpy(b, a, sizeof b);
    /* Hints are capped (one per budget page, at least 65536): the oldest
     * go first. */
    const uint64_t n = 200000;
    for (uint64_t h = 1; h <= n; h++)
        CHECK(mpool_share(mp, d, h, a) == NULL);
    CHECK(mpool_share(mp, d, 1, b) == NULL);     /* forgotten: a first sighting again */
    const uint8_t *f = mpool_share(mp, d, n, b); /* still there */
    CHECK(f != NULL);
    mpool_unshare(mp, f);
    /* mpool_forget_hints drops one domain's hints only. */
    uint32_t e = mpool_domain(mp, "e");
    CHECK(mpool_share(mp, d, 5000000, a) == NULL);
    CHECK(mpool_share(mp, e, 5000000, a) == NULL);
    mpool_forget_hints(mp, d);
    CHECK(mpool_share(mp, d, 5000000, b) == NULL);
    f = mpool_share(mp, e, 5000000, b);
    CHECK(f != NULL);
    mpool_unshare(mp, f);
    struct mpool_stats st;
    mpool_stats(mp, &st);
    CHECK_EQ(st.used_pages, 0);
    mpool_free(mp);
}

static void mpool_swap_opens_lazily(void)
{
    struct disco_err err;
    struct mpool_config cfg = {.budget = MPOOL_MIN_BUDGET, .swap_dir = "/nonexistent/disco-swap"};
    struct mpool *mp = mpool_new(&cfg, &err);
    CHECK(mp != NULL);   /* the directory is only needed at the first swap out */
    if (!mp)
        return;
    err_clear(&err);
    CHECK(mpool_swap(mp, &err) == NULL);
    CHECK(err.code < 0 && err.msg[0] != '\0');
    mpool_free(mp);

    mp = small_pool();
    CHECK(mp != NULL);
    if (!mp)
        return;
    struct swap *sw = mpool_swap(mp, &err);
    CHECK(sw != NULL);
    CHECK(mpool_swap(mp, &err) == sw);
    mpool_free(mp);
}

int main(void)
{
    RUN(mpool_budget_limits);
    RUN(mpool_pressure_is_edge_triggered);
    RUN(mpool_domains_named_and_private);
    RUN(mpool_share_and_unshare);
    RUN(mpool_hints_bounded_and_forgotten);
    RUN(mpool_swap_opens_lazily);
    T_EXIT();
}

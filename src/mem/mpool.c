/* STUB: replaced by the real implementation. */
#include "mem/mpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mpool {
    uint64_t budget;
    uint32_t next_domain;
};

struct mpool *mpool_new(const struct mpool_config *cfg, struct disco_err *err)
{
    struct mpool *mp = calloc(1, sizeof *mp);
    if (!mp) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    mp->budget = cfg && cfg->budget ? cfg->budget : (1ull << 30);
    mp->next_domain = 1u << 31;
    return mp;
}
void mpool_free(struct mpool *mp) { free(mp); }
uint64_t mpool_budget(const struct mpool *mp) { return mp->budget; }
int mpool_set_budget(struct mpool *mp, uint64_t budget, struct disco_err *err)
{
    (void)err;
    mp->budget = budget;
    return 0;
}
void mpool_set_pressure_hook(struct mpool *mp, void (*fn)(void *ctx), void *ctx)
{
    (void)mp; (void)fn; (void)ctx;
}
uint32_t mpool_domain(struct mpool *mp, const char *name) { (void)mp; (void)name; return 1; }
uint32_t mpool_private_domain(struct mpool *mp) { return mp->next_domain++; }
void mpool_stats(struct mpool *mp, struct mpool_stats *st)
{
    memset(st, 0, sizeof *st);
    st->budget = mp->budget;
}
uint64_t mpool_over_soft(struct mpool *mp) { (void)mp; return 0; }
uint64_t mpool_over_budget(struct mpool *mp) { (void)mp; return 0; }
void mpool_charge(struct mpool *mp, int64_t private_pages) { (void)mp; (void)private_pages; }
const uint8_t *mpool_share(struct mpool *mp, uint32_t domain, uint64_t hash, const uint8_t *page)
{
    (void)mp; (void)domain; (void)hash; (void)page;
    return NULL;
}
void mpool_unshare(struct mpool *mp, const uint8_t *frame) { (void)mp; (void)frame; }
void mpool_forget_hints(struct mpool *mp, uint32_t domain) { (void)mp; (void)domain; }
struct swap *mpool_swap(struct mpool *mp, struct disco_err *err)
{
    (void)mp;
    err_set(err, -ENOSYS, "no swap yet");
    return NULL;
}

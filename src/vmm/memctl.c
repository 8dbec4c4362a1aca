/* STUB: replaced by the real implementation. */
#include "vmm/memctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem/pmap.h"

struct memctl {
    struct mpool *pool;
};
struct memctl_vm {
    struct memctl *mc;
};

struct memctl *memctl_new(const struct memctl_config *cfg, struct evloop *ev, struct disco_err *err)
{
    (void)ev;
    struct memctl *mc = calloc(1, sizeof *mc);
    if (!mc) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    mc->pool = mpool_new(cfg ? &cfg->pool : NULL, err);
    if (!mc->pool) {
        free(mc);
        return NULL;
    }
    return mc;
}
void memctl_free(struct memctl *mc)
{
    if (!mc)
        return;
    mpool_free(mc->pool);
    free(mc);
}
struct mpool *memctl_pool(struct memctl *mc) { return mc->pool; }
int memctl_check(struct memctl *mc, uint64_t mem, uint64_t reservation, uint64_t limit,
                 const char *share_domain, struct disco_err *err)
{
    (void)mc; (void)mem; (void)reservation; (void)limit; (void)share_domain; (void)err;
    return 0;
}
struct memctl_vm *memctl_vm_add(struct memctl *mc, const struct memctl_vm_params *p,
                                struct disco_err *err)
{
    (void)p;
    struct memctl_vm *mv = calloc(1, sizeof *mv);
    if (!mv) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    mv->mc = mc;
    return mv;
}
void memctl_vm_remove(struct memctl_vm *mv) { free(mv); }
void memctl_vm_stats(struct memctl_vm *mv, struct memctl_vm_stats *st)
{
    (void)mv;
    memset(st, 0, sizeof *st);
}
void memctl_poll(struct memctl *mc) { (void)mc; }

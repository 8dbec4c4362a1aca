/* STUB: replaced by the real implementation. */
#include "mem/swap.h"

#include <errno.h>
#include <string.h>

struct swap *swap_open(const char *dir, struct disco_err *err)
{
    (void)dir;
    err_set(err, -ENOSYS, "no swap yet");
    return NULL;
}
void swap_close(struct swap *sw) { (void)sw; }
int swap_put(struct swap *sw, const uint8_t *page, uint64_t *slot)
{
    (void)sw; (void)page; (void)slot;
    return -ENOSYS;
}
int swap_get(struct swap *sw, uint64_t slot, uint8_t *page)
{
    (void)sw; (void)slot; (void)page;
    return -ENOSYS;
}
void swap_drop(struct swap *sw, uint64_t slot) { (void)sw; (void)slot; }
void swap_stats(struct swap *sw, struct swap_stats *st) { (void)sw; memset(st, 0, sizeof *st); }

/* rv_codemap: one 32-bit word per RAM page, shared by the harts of one
 * machine. Bit 0 says "some hart decoded code from this page"; bits 31:1
 * are a generation. A write to a page with bit 0 set (by a CPU store slow
 * path, or DMA via rv_codemap_written) bumps the generation and clears
 * bit 0; each decoded page remembers the word it was decoded under and is
 * redone when the word differs. Harts never install fast write-TLB entries
 * for pages with bit 0 set; when a page becomes code, the other harts are
 * asked to drop their write-TLB entries (FLUSH_WTLB). */
#include <stdlib.h>

#include "riscv/cpu_priv.h"

struct rv_codemap *rv_codemap_new(uint64_t ram_base, uint64_t ram_size)
{
    struct rv_codemap *cm = calloc(1, sizeof(*cm));
    if (!cm)
        return NULL;
    cm->base = ram_base & PG_MASK;
    cm->npages = (ram_size + (ram_base - cm->base) + PG_SIZE - 1) >> PG_SHIFT;
    cm->size = cm->npages << PG_SHIFT;
    cm->words = calloc(cm->npages ? cm->npages : 1, sizeof(*cm->words));
    if (!cm->words) {
        free(cm);
        return NULL;
    }
    pthread_mutex_init(&cm->lock, NULL);
    return cm;
}

void rv_codemap_free(struct rv_codemap *cm)
{
    if (!cm)
        return;
    pthread_mutex_destroy(&cm->lock);
    free(cm->harts);
    free(cm->words);
    free(cm);
}

_Atomic uint32_t *rv_codemap_word(struct rv_codemap *cm, uint64_t pa)
{
    if (!cm || pa < cm->base || pa - cm->base >= cm->size)
        return NULL;
    return &cm->words[(pa - cm->base) >> PG_SHIFT];
}

bool rv_codemap_note_write(_Atomic uint32_t *w)
{
    uint32_t v = atomic_load_explicit(w, memory_order_acquire);
    while (v & 1) {
        if (atomic_compare_exchange_weak_explicit(w, &v, (v + 2) & ~1u, memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
    return false;
}

void rv_codemap_written(struct rv_codemap *cm, uint64_t pa, uint64_t len)
{
    if (!cm || len == 0)
        return;
    uint64_t end = pa + len;
    if (end < pa)
        end = UINT64_MAX;
    if (end <= cm->base || pa >= cm->base + cm->size)
        return;
    if (pa < cm->base)
        pa = cm->base;
    if (end > cm->base + cm->size)
        end = cm->base + cm->size;
    for (uint64_t a = pa & PG_MASK; a < end; a += PG_SIZE)
        rv_codemap_note_write(&cm->words[(a - cm->base) >> PG_SHIFT]);
}

uint32_t rv_codemap_mark_code(struct rv_codemap *cm, _Atomic uint32_t *w, struct rv_hart *self,
                              uint64_t pa)
{
    uint32_t old = atomic_fetch_or_explicit(w, 1u, memory_order_acq_rel);
    if (!(old & 1)) {
        rv_tlb_flush_write_pa(self, pa);
        pthread_mutex_lock(&cm->lock);
        for (unsigned i = 0; i < cm->nharts; i++)
            if (cm->harts[i] != self)
                atomic_fetch_or(&cm->harts[i]->flush_request, FLUSH_WTLB);
        pthread_mutex_unlock(&cm->lock);
    }
    return old | 1u;
}

bool rv_codemap_add_hart(struct rv_codemap *cm, struct rv_hart *h)
{
    if (!cm)
        return true;
    pthread_mutex_lock(&cm->lock);
    if (cm->nharts == cm->cap) {
        unsigned nc = cm->cap ? cm->cap * 2 : 8;
        struct rv_hart **n = realloc(cm->harts, nc * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&cm->lock);
            return false;
        }
        cm->harts = n;
        cm->cap = nc;
    }
    cm->harts[cm->nharts++] = h;
    pthread_mutex_unlock(&cm->lock);
    return true;
}

void rv_codemap_remove_hart(struct rv_codemap *cm, struct rv_hart *h)
{
    if (!cm)
        return;
    pthread_mutex_lock(&cm->lock);
    for (unsigned i = 0; i < cm->nharts; i++) {
        if (cm->harts[i] == h) {
            cm->harts[i] = cm->harts[--cm->nharts];
            break;
        }
    }
    pthread_mutex_unlock(&cm->lock);
}

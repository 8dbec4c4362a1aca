#include "mem/pmap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct pmap {
    uint64_t base;
    uint64_t size;
    uint64_t npages;
    uint8_t *frames;                /* MAP_NORESERVE reservation backing frames */
    _Atomic(uint8_t *) *entries;    /* per guest page: host page, or NULL */
    atomic_uint_fast64_t touched;
    pmap_write_hook hook;
    void *hook_ctx;
};

struct pmap *pmap_new(uint64_t base, uint64_t size, struct disco_err *err)
{
    if (size == 0 || (size & (PMAP_PAGE_SIZE - 1)) || (base & (PMAP_PAGE_SIZE - 1)) ||
        base + size < base) {
        err_set(err, -EINVAL, "guest RAM size 0x%llx at 0x%llx is not a whole number of pages",
                (unsigned long long)size, (unsigned long long)base);
        return NULL;
    }
    struct pmap *pm = calloc(1, sizeof *pm);
    if (!pm) {
        err_set(err, -ENOMEM, "out of memory for pmap");
        return NULL;
    }
    pm->base = base;
    pm->size = size;
    pm->npages = size >> PMAP_PAGE_SHIFT;
    pm->entries = calloc(pm->npages, sizeof *pm->entries);
    void *frames = mmap(NULL, size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!pm->entries || frames == MAP_FAILED) {
        err_set(err, -ENOMEM, "cannot reserve %llu MiB of guest RAM",
                (unsigned long long)(size >> 20));
        free(pm->entries);
        free(pm);
        return NULL;
    }
    pm->frames = frames;
    return pm;
}

void pmap_free(struct pmap *pm)
{
    if (!pm)
        return;
    munmap(pm->frames, pm->size);
    free(pm->entries);
    free(pm);
}

uint64_t pmap_base(const struct pmap *pm) { return pm->base; }
uint64_t pmap_size(const struct pmap *pm) { return pm->size; }
uint64_t pmap_touched_pages(const struct pmap *pm) { return atomic_load(&pm->touched); }

void pmap_set_write_hook(struct pmap *pm, pmap_write_hook fn, void *ctx)
{
    pm->hook = fn;
    pm->hook_ctx = ctx;
}

bool pmap_contains(const struct pmap *pm, uint64_t gpa, uint64_t len)
{
    if (gpa < pm->base)
        return false;
    uint64_t off = gpa - pm->base;
    return off <= pm->size && len <= pm->size - off;
}

uint8_t *pmap_page(struct pmap *pm, uint64_t gpa, bool for_write)
{
    (void)for_write; /* no shared pages yet: every frame is private */
    if (gpa < pm->base || gpa - pm->base >= pm->size)
        return NULL;
    uint64_t idx = (gpa - pm->base) >> PMAP_PAGE_SHIFT;
    uint8_t *page = atomic_load_explicit(&pm->entries[idx], memory_order_acquire);
    if (page)
        return page;
    /* First touch: give the page its frame. Racing harts agree on the same
     * frame, so whichever CAS wins, the pointer is the same. */
    uint8_t *frame = pm->frames + (idx << PMAP_PAGE_SHIFT);
    uint8_t *expected = NULL;
    if (atomic_compare_exchange_strong(&pm->entries[idx], &expected, frame))
        atomic_fetch_add(&pm->touched, 1);
    return frame;
}

/* Walk [gpa, gpa+len) page by page, calling fn on each piece. */
static int pmap_walk(struct pmap *pm, uint64_t gpa, size_t len, bool for_write,
                     void (*fn)(uint8_t *host, size_t n, void *arg, size_t done), void *arg)
{
    if (!pmap_contains(pm, gpa, len))
        return -EFAULT;
    size_t done = 0;
    while (done < len) {
        uint64_t a = gpa + done;
        size_t in_page = PMAP_PAGE_SIZE - (a & (PMAP_PAGE_SIZE - 1));
        size_t n = len - done < in_page ? len - done : in_page;
        uint8_t *page = pmap_page(pm, a, for_write);
        fn(page + (a & (PMAP_PAGE_SIZE - 1)), n, arg, done);
        done += n;
    }
    return 0;
}

static void copy_out(uint8_t *host, size_t n, void *arg, size_t done)
{
    memcpy((uint8_t *)arg + done, host, n);
}

static void copy_in(uint8_t *host, size_t n, void *arg, size_t done)
{
    memcpy(host, (const uint8_t *)arg + done, n);
}

static void fill_in(uint8_t *host, size_t n, void *arg, size_t done)
{
    (void)done;
    memset(host, *(int *)arg, n);
}

int pmap_read(struct pmap *pm, uint64_t gpa, void *buf, size_t len)
{
    return pmap_walk(pm, gpa, len, false, copy_out, buf);
}

int pmap_write(struct pmap *pm, uint64_t gpa, const void *buf, size_t len)
{
    int rc = pmap_walk(pm, gpa, len, true, copy_in, (void *)buf);
    if (rc == 0 && pm->hook && len)
        pm->hook(pm->hook_ctx, gpa, len);
    return rc;
}

int pmap_fill(struct pmap *pm, uint64_t gpa, int byte, size_t len)
{
    int rc = pmap_walk(pm, gpa, len, true, fill_in, &byte);
    if (rc == 0 && pm->hook && len)
        pm->hook(pm->hook_ctx, gpa, len);
    return rc;
}

/* No TLB shootdown is needed here: a page's frame is fixed (frames + idx *
 * page size) and MADV_DONTNEED keeps the mapping, so host pointers cached
 * in the harts' soft TLBs stay valid. The page just reads back as zero, and
 * the host kernel refaults a fresh frame on the next write. Decoded code of
 * the pages is stale, hence the write hook. */
int pmap_discard(struct pmap *pm, uint64_t gpa, uint64_t len)
{
    if (len == 0 || ((gpa | len) & (PMAP_PAGE_SIZE - 1)) || !pmap_contains(pm, gpa, len))
        return -EINVAL;
    uint64_t first = (gpa - pm->base) >> PMAP_PAGE_SHIFT;
    uint64_t n = len >> PMAP_PAGE_SHIFT;
    /* Entries go first: a racing pmap_page refaults the page and counts it
     * touched again, which is what the host will hold after its write. */
    uint64_t dropped = 0;
    for (uint64_t i = first; i < first + n; i++)
        if (atomic_exchange(&pm->entries[i], NULL))
            dropped++;
    if (dropped)
        atomic_fetch_sub(&pm->touched, dropped);
    /* Cannot fail on a private anonymous mapping we own; if it did, the
     * pages would merely stay resident. */
    (void)madvise(pm->frames + (first << PMAP_PAGE_SHIFT), len, MADV_DONTNEED);
    if (pm->hook)
        pm->hook(pm->hook_ctx, gpa, len);
    return 0;
}

uint64_t pmap_resident_pages(const struct pmap *pm)
{
    /* mincore in bounded chunks so a large guest needs no big vector. Note
     * a page only ever read may map the host's shared zero page and still
     * count as resident here. */
    unsigned char vec[4096];
    uint64_t resident = 0;
    for (uint64_t done = 0; done < pm->npages;) {
        uint64_t n = pm->npages - done < sizeof vec ? pm->npages - done : sizeof vec;
        if (mincore(pm->frames + (done << PMAP_PAGE_SHIFT), n << PMAP_PAGE_SHIFT, vec) < 0)
            return 0;
        for (uint64_t i = 0; i < n; i++)
            resident += vec[i] & 1;
        done += n;
    }
    return resident;
}

/* ---- STUBS (replaced by the real implementation) ---- */
int pmap_attach(struct pmap *pm, struct mpool *mp, uint32_t domain, struct disco_err *err)
{
    (void)pm; (void)mp; (void)domain; (void)err;
    return 0;
}
struct mpool *pmap_pool(const struct pmap *pm) { (void)pm; return NULL; }
void pmap_stats(const struct pmap *pm, struct pmap_stats *st)
{
    memset(st, 0, sizeof *st);
    st->pages = pm->npages;
    st->private_pages = atomic_load(&pm->touched);
}
void pmap_set_shootdown_hook(struct pmap *pm, pmap_shootdown_hook fn, void *ctx)
{
    (void)pm; (void)fn; (void)ctx;
}
unsigned pmap_scan(struct pmap *pm, unsigned max_pages) { (void)pm; (void)max_pages; return 0; }
int pmap_swap_out(struct pmap *pm, unsigned max_pages) { (void)pm; (void)max_pages; return 0; }
void pmap_sample_begin(struct pmap *pm, unsigned n, uint64_t seed) { (void)pm; (void)n; (void)seed; }
unsigned pmap_sample_end(struct pmap *pm) { (void)pm; return 1000; }

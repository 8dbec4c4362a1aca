/* Sv39/Sv48 translation, the software TLB and the memory slow paths. */
#include "riscv/cpu_priv.h"

#define PTE_V (1ull << 0)
#define PTE_R (1ull << 1)
#define PTE_W (1ull << 2)
#define PTE_X (1ull << 3)
#define PTE_U (1ull << 4)
#define PTE_G (1ull << 5)
#define PTE_A (1ull << 6)
#define PTE_D (1ull << 7)
#define PPN_MASK ((1ull << 44) - 1)

static const int idx_priv[MMU_N] = {RV_PRIV_M, RV_PRIV_S, RV_PRIV_S, RV_PRIV_U};

void rv_update_mmu_idx(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    int priv = h->priv;
    p->fidx = priv == RV_PRIV_M ? MMU_M : priv == RV_PRIV_S ? MMU_S : MMU_U;
    int dpriv = priv;
    if (priv == RV_PRIV_M && (h->mstatus & MS_MPRV))
        dpriv = (int)((h->mstatus >> MS_MPP_SHIFT) & 3);
    if (dpriv == RV_PRIV_M)
        p->didx = MMU_M;
    else if (dpriv == RV_PRIV_S)
        p->didx = (h->mstatus & MS_SUM) ? MMU_SSUM : MMU_S;
    else
        p->didx = MMU_U;
}

static void flush_ctx(struct rv_hart_priv *p, int idx)
{
    for (int a = 0; a < ACC_N; a++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            p->tlb[idx][a][i].tag = TLB_INVALID;
            p->tlb[idx][a][i].dp = NULL;
        }
}

void rv_tlb_flush_all(struct rv_hart *h)
{
    for (int idx = 0; idx < MMU_N; idx++)
        flush_ctx(h->p, idx);
    h->p->super_lo = UINT64_MAX;
    h->p->super_hi = 0;
}

void rv_tlb_flush_vm(struct rv_hart *h)
{
    for (int idx = MMU_S; idx < MMU_N; idx++)
        flush_ctx(h->p, idx);
    h->p->super_lo = UINT64_MAX;
    h->p->super_hi = 0;
}

void rv_tlb_flush_va(struct rv_hart *h, uint64_t va)
{
    struct rv_hart_priv *p = h->p;
    if (va >= p->super_lo && va <= p->super_hi) {
        rv_tlb_flush_vm(h);
        return;
    }
    unsigned i = (va >> PG_SHIFT) & TLB_MASK;
    for (int idx = MMU_S; idx < MMU_N; idx++)
        for (int a = 0; a < ACC_N; a++) {
            struct tlbe *e = &p->tlb[idx][a][i];
            if (((e->tag ^ va) & PG_MASK) == 0) {
                e->tag = TLB_INVALID;
                e->dp = NULL;
            }
        }
}

void rv_tlb_flush_write(struct rv_hart *h)
{
    for (int idx = 0; idx < MMU_N; idx++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            h->p->tlb[idx][ACC_W][i].tag = TLB_INVALID;
}

void rv_tlb_flush_write_pa(struct rv_hart *h, uint64_t pa)
{
    for (int idx = 0; idx < MMU_N; idx++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            struct tlbe *e = &h->p->tlb[idx][ACC_W][i];
            if (e->pa == pa)
                e->tag = TLB_INVALID;
        }
}

void rv_tlb_flush_fetch(struct rv_hart *h)
{
    for (int idx = 0; idx < MMU_N; idx++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            h->p->tlb[idx][ACC_X][i].dp = NULL;
}

void rv_serve_cow_flush(struct rv_hart *h)
{
    /* seq_cst load: a shootdown that saw this hart waiting in its own
     * shootdown (sched's `fencing`) counted on it seeing the request here,
     * after that wait ended. */
    if (likely(!(atomic_load(&h->flush_request) & FLUSH_TLB)))
        return;
    /* Clear before flushing: a request set after the clear stays pending
     * and is served later; one set before it is served by this flush. */
    if (!(atomic_fetch_and(&h->flush_request, ~FLUSH_TLB) & FLUSH_TLB))
        return;
    rv_tlb_flush_all(h);
    h->p->code_host_stale = true;
}

static int page_fault(int acc)
{
    return acc == ACC_X ? EXC_INSN_PAGE : acc == ACC_R ? EXC_LOAD_PAGE : EXC_STORE_PAGE;
}

static int access_fault(int acc)
{
    return acc == ACC_X ? EXC_INSN_ACCESS : acc == ACC_R ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

/* Walk; *pgshift gets the leaf's page size (12, 21, 30, 39). */
static int walk(struct rv_hart *h, uint64_t va, int acc, int priv, uint64_t *pa, int *pgshift)
{
    struct rv_hart_priv *p = h->p;
    uint64_t satp = p->satp;
    int mode = (int)(satp >> 60);
    int levels;
    if (mode == 8)
        levels = 3;
    else if (mode == 9)
        levels = 4;
    else {
        *pa = va;
        *pgshift = PG_SHIFT;
        return 0;
    }
    int vabits = 12 + 9 * levels;
    if ((uint64_t)((int64_t)(va << (64 - vabits)) >> (64 - vabits)) != va)
        return page_fault(acc);

restart:;
    uint64_t a = (satp & PPN_MASK) << PG_SHIFT;
    uint64_t pte = 0, pte_addr = 0;
    int i;
    for (i = levels - 1;; i--) {
        pte_addr = a + ((va >> (PG_SHIFT + 9 * i)) & 511) * 8;
        uint8_t *pg = h->bus.ram_page(h->bus.ctx, pte_addr & PG_MASK, false);
        if (!pg)
            return access_fault(acc);
        pte = __atomic_load_n((uint64_t *)(pg + (pte_addr & (PG_SIZE - 1))), __ATOMIC_ACQUIRE);
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)))
            return page_fault(acc);
        if (pte >> 54)
            return page_fault(acc);
        if (pte & (PTE_R | PTE_X))
            break;
        if (i == 0)
            return page_fault(acc);
        a = ((pte >> 10) & PPN_MASK) << PG_SHIFT;
    }

    /* leaf at level i */
    if (priv == RV_PRIV_U) {
        if (!(pte & PTE_U))
            return page_fault(acc);
    } else if (pte & PTE_U) {
        if (acc == ACC_X || !(h->mstatus & MS_SUM))
            return page_fault(acc);
    }
    switch (acc) {
    case ACC_R:
        if (!(pte & PTE_R) && !((pte & PTE_X) && (h->mstatus & MS_MXR)))
            return page_fault(acc);
        break;
    case ACC_W:
        if (!(pte & PTE_W))
            return page_fault(acc);
        break;
    default:
        if (!(pte & PTE_X))
            return page_fault(acc);
        break;
    }
    uint64_t ppn = (pte >> 10) & PPN_MASK;
    int shift = PG_SHIFT + 9 * i;
    if (i > 0 && (ppn & ((1ull << (9 * i)) - 1)))
        return page_fault(acc);

    uint64_t want = pte | PTE_A | (acc == ACC_W ? PTE_D : 0);
    if (want != pte) {
        /* The page table page may be shared: this may copy it. pg is the
         * pointer after the copy, and the CAS below fails (restart) if the
         * PTE changed meanwhile. */
        uint8_t *pg = h->bus.ram_page(h->bus.ctx, pte_addr & PG_MASK, true);
        rv_serve_cow_flush(h);
        if (!pg)
            return access_fault(acc);
        uint64_t expect = pte;
        if (!__atomic_compare_exchange_n((uint64_t *)(pg + (pte_addr & (PG_SIZE - 1))), &expect,
                                         want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            goto restart;
        _Atomic uint32_t *w = rv_codemap_word(h->codemap, pte_addr);
        if (w)
            rv_codemap_note_write(w);
    }
    *pa = ((ppn << PG_SHIFT) & ~((1ull << shift) - 1)) | (va & ((1ull << shift) - 1));
    *pgshift = shift;
    return 0;
}

int rv_translate(struct rv_hart *h, uint64_t va, int acc, int priv, uint64_t *pa)
{
    int sh;
    if (priv == RV_PRIV_M) {
        *pa = va;
        return 0;
    }
    return walk(h, va, acc, priv, pa, &sh);
}

/* Find or fill the TLB entry for va in the current context. NULL after
 * taking the trap (tval = va). */
static struct tlbe *resolve(struct rv_hart *h, uint64_t va, int acc)
{
    struct rv_hart_priv *p = h->p;
    int idx = acc == ACC_X ? p->fidx : p->didx;
    struct tlbe *e = &p->tlb[idx][acc][(va >> PG_SHIFT) & TLB_MASK];
    if (e->tag != TLB_INVALID && ((e->tag ^ va) & PG_MASK) == 0)
        return e;

    uint64_t pa;
    int sh = PG_SHIFT, cause = 0;
    if (idx_priv[idx] == RV_PRIV_M)
        pa = va;
    else
        cause = walk(h, va, acc, idx_priv[idx], &pa, &sh);
    if (cause) {
        rv_take_trap(h, (uint64_t)cause, va);
        return NULL;
    }
    if (sh > PG_SHIFT) {
        uint64_t lo = va & ~((1ull << sh) - 1), hi = lo + (1ull << sh) - 1;
        if (lo < p->super_lo)
            p->super_lo = lo;
        if (hi > p->super_hi)
            p->super_hi = hi;
    }
    uint64_t ppage = pa & PG_MASK;
    uint8_t *host = h->bus.ram_page(h->bus.ctx, ppage, acc == ACC_W);
    if (acc == ACC_W)
        rv_serve_cow_flush(h);   /* before e caches host */
    uint64_t flags = 0;
    e->pa = ppage;
    e->dp = NULL;
    if (host) {
        e->addend = (uintptr_t)host - (uintptr_t)(va & PG_MASK);
        if (acc == ACC_W) {
            _Atomic uint32_t *w = rv_codemap_word(h->codemap, ppage);
            if (w && (atomic_load_explicit(w, memory_order_acquire) & 1))
                flags |= TLB_F_NOTDIRTY;
        }
    } else {
        e->addend = 0;
        flags |= TLB_F_IO;
    }
    e->tag = (va & PG_MASK) | flags;
    return e;
}

static uint64_t host_read(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static void host_write(uint8_t *p, unsigned size, uint64_t val)
{
    switch (size) {
    case 1: *p = (uint8_t)val; break;
    case 2: { uint16_t v = (uint16_t)val; memcpy(p, &v, 2); break; }
    case 4: { uint32_t v = (uint32_t)val; memcpy(p, &v, 4); break; }
    default: memcpy(p, &val, 8); break;
    }
}

int rv_load_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    if (va & (size - 1)) {
        struct tlbe *e0 = resolve(h, va, ACC_R);
        if (!e0)
            return -1;
        bool io = (e0->tag & TLB_F_IO) != 0;
        uint64_t last = va + size - 1;
        if ((last ^ va) & PG_MASK) {
            struct tlbe *e1 = resolve(h, last, ACC_R);
            if (!e1)
                return -1;
            io |= (e1->tag & TLB_F_IO) != 0;
            /* e0 may have been evicted by e1 only if they share a slot,
             * which differing consecutive pages never do. */
        }
        if (io) {
            rv_take_trap(h, EXC_LOAD_ACCESS, va);
            return -1;
        }
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++) {
            uint64_t b;
            if (rv_load_slow(h, va + i, 1, &b))
                return -1;
            v |= b << (8 * i);
        }
        *val = v;
        return 0;
    }
    struct tlbe *e = resolve(h, va, ACC_R);
    if (!e)
        return -1;
    if (e->tag & TLB_F_IO) {
        uint64_t v = 0;
        atomic_store(&h->in_device, 1);
        int rc = h->bus.mmio_read(h->bus.ctx, e->pa | (va & (PG_SIZE - 1)), size, &v);
        atomic_store(&h->in_device, 0);
        rv_serve_cow_flush(h);   /* a device may have written guest memory */
        if (rc < 0) {
            rv_take_trap(h, EXC_LOAD_ACCESS, va);
            return -1;
        }
        if (size < 8)
            v &= (1ull << (8 * size)) - 1;
        *val = v;
        return 0;
    }
    *val = host_read((const uint8_t *)(e->addend + (uintptr_t)va), size);
    return 0;
}

/* Write through a RAM write-TLB entry; returns 1 if code was hit. */
static int ram_store(struct rv_hart *h, struct tlbe *e, uint64_t va, unsigned size, uint64_t val)
{
    host_write((uint8_t *)(e->addend + (uintptr_t)va), size, val);
    if (e->tag & TLB_F_NOTDIRTY) {
        _Atomic uint32_t *w = rv_codemap_word(h->codemap, e->pa);
        bool hit = w && rv_codemap_note_write(w);
        /* The page is no longer code: let later stores take the fast path
         * (re-decoding it flushes this entry again). */
        if (!w || !(atomic_load_explicit(w, memory_order_acquire) & 1))
            e->tag &= ~TLB_F_NOTDIRTY;
        return hit ? 1 : 0;
    }
    return 0;
}

int rv_store_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t val)
{
    if (va & (size - 1)) {
        struct tlbe *e0 = resolve(h, va, ACC_W);
        if (!e0)
            return -1;
        bool io = (e0->tag & TLB_F_IO) != 0;
        uint64_t last = va + size - 1;
        if ((last ^ va) & PG_MASK) {
            struct tlbe *e1 = resolve(h, last, ACC_W);
            if (!e1)
                return -1;
            io |= (e1->tag & TLB_F_IO) != 0;
        }
        if (io) {
            rv_take_trap(h, EXC_STORE_ACCESS, va);
            return -1;
        }
        int ret = 0;
        for (unsigned i = 0; i < size; i++) {
            int r = rv_store_slow(h, va + i, 1, val >> (8 * i));
            if (r < 0)
                return r;
            ret |= r;
        }
        return ret;
    }
    struct tlbe *e = resolve(h, va, ACC_W);
    if (!e)
        return -1;
    if (e->tag & TLB_F_IO) {
        if (size < 8)
            val &= (1ull << (8 * size)) - 1;
        atomic_store(&h->in_device, 1);
        int rc = h->bus.mmio_write(h->bus.ctx, e->pa | (va & (PG_SIZE - 1)), size, val);
        atomic_store(&h->in_device, 0);
        /* A device may have written guest memory (virtio queues processed
         * on the notifying hart's thread), breaking copy-on-write. */
        rv_serve_cow_flush(h);
        if (rc < 0) {
            rv_take_trap(h, EXC_STORE_ACCESS, va);
            return -1;
        }
        return 0;
    }
    return ram_store(h, e, va, size, val);
}

void *rv_amo_ptr(struct rv_hart *h, uint64_t va, unsigned size, int acc, _Atomic uint32_t **codew)
{
    if (codew)
        *codew = NULL;
    if (va & (size - 1)) {
        rv_take_trap(h, acc == ACC_R ? EXC_LOAD_MISALIGNED : EXC_STORE_MISALIGNED, va);
        return NULL;
    }
    struct tlbe *e = resolve(h, va, acc);
    if (!e)
        return NULL;
    if (e->tag & TLB_F_IO) {
        rv_take_trap(h, acc == ACC_R ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS, va);
        return NULL;
    }
    if ((e->tag & TLB_F_NOTDIRTY) && codew)
        *codew = rv_codemap_word(h->codemap, e->pa);
    return (void *)(e->addend + (uintptr_t)va);
}

int rv_fetch16_slow(struct rv_hart *h, uint64_t va, uint16_t *out)
{
    struct tlbe *e = resolve(h, va, ACC_X);
    if (!e)
        return -1;
    if (e->tag & TLB_F_IO) {
        uint64_t pa = e->pa | (va & (PG_SIZE - 1)), v = 0;
        atomic_store(&h->in_device, 1);
        int rc = h->bus.mmio_read(h->bus.ctx, pa & ~3ull, 4, &v);
        atomic_store(&h->in_device, 0);
        rv_serve_cow_flush(h);
        if (rc < 0) {
            rv_take_trap(h, EXC_INSN_ACCESS, va);
            return -1;
        }
        *out = (uint16_t)(v >> (8 * (pa & 2)));
        return 0;
    }
    *out = (uint16_t)host_read((const uint8_t *)(e->addend + (uintptr_t)va), 2);
    return 0;
}

/* Fetch-TLB slow path used by the run loop: resolve and return the entry,
 * or NULL after the trap. */
struct tlbe *rv_fetch_resolve(struct rv_hart *h, uint64_t va)
{
    return resolve(h, va, ACC_X);
}

/* MMU: Sv39/Sv48 walks, permissions, A/D, superpages, TLB invalidation,
 * page-crossing fetch, MPRV. Page tables are built by hand in the fake RAM;
 * code runs in S (or U) mode from an identity-mapped 1 GiB superpage and
 * every trap goes to an M-mode halt loop, where mcause/mtval are checked. */
#include "rv_test.h"
#include "t.h"

#define HALT (RAM_BASE + 0x10000)
#define PT_BASE (RAM_BASE + 0x100000)
#define PG_A (RAM_BASE + 0x30000) /* data pages */
#define PG_B (RAM_BASE + 0x31000)
#define PG_C (RAM_BASE + 0x32000)
#define CODE (RAM_BASE + 0x1000)

#define V (1ull << 0)
#define R (1ull << 1)
#define W (1ull << 2)
#define X (1ull << 3)
#define U (1ull << 4)
#define A (1ull << 6)
#define D (1ull << 7)

struct pt {
    struct tenv *e;
    uint64_t root, next;
    int levels;
};

static uint64_t pt_alloc(struct pt *t)
{
    uint64_t a = t->next;
    t->next += 4096;
    memset(ram_ptr(t->e, a), 0, 4096);
    return a;
}

/* Map va -> pa at leaf level `lvl` (0: 4K, 1: 2M, 2: 1G); returns the PTE's
 * physical address. */
static uint64_t pt_map(struct pt *t, uint64_t va, uint64_t pa, uint64_t flags, int lvl)
{
    uint64_t a = t->root;
    for (int i = t->levels - 1; i > lvl; i--) {
        uint64_t pa_pte = a + ((va >> (12 + 9 * i)) & 511) * 8;
        uint64_t pte = r64(t->e, pa_pte);
        if (!(pte & V)) {
            uint64_t n = pt_alloc(t);
            pte = (n >> 12) << 10 | V;
            w64(t->e, pa_pte, pte);
        }
        a = (pte >> 10) << 12;
    }
    uint64_t pa_pte = a + ((va >> (12 + 9 * lvl)) & 511) * 8;
    w64(t->e, pa_pte, (pa >> 12) << 10 | flags);
    return pa_pte;
}

struct menv {
    struct tenv *e;
    struct pt t;
    struct prog p;
};

/* S-mode (or U) with paging on; code at CODE via an identity superpage. */
static void menv_init(struct menv *m, int levels)
{
    m->e = tenv_new();
    put_halt(m->e, HALT);
    m->t.e = m->e;
    m->t.levels = levels;
    m->t.next = PT_BASE;
    m->t.root = pt_alloc(&m->t);
    pt_map(&m->t, RAM_BASE, RAM_BASE, V | R | W | X | A | D, 2);
    m->p.e = m->e;
    m->p.pc = CODE;
}

static void menv_go(struct menv *m, int priv)
{
    struct rv_hart *h = m->e->h;
    h->p->mtvec = HALT;
    h->p->satp = (uint64_t)(m->t.levels == 3 ? 8 : 9) << 60 | m->t.root >> 12;
    h->priv = priv;
    h->pc = CODE;
    rv_tlb_flush_all(h);
    rv_update_mmu_idx(h);
}

static int menv_run(struct menv *m) { return rv_hart_run(m->e->h, 10000); }

static void sv39_basic(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    pt_map(&m.t, 0x40000000, PG_A, V | R | W | A | D, 0);
    pt_map(&m.t, 0x40001000, PG_B, V | R | W | A | D, 0);
    w64(m.e, PG_B, 0x5555);
    li(&m.p, S0, 0x40000000);
    li(&m.p, T0, 0x1234);
    emit(&m.p, SD(T0, S0, 8));
    emit(&m.p, LD(A0, S0, 8));
    li(&m.p, S1, 0x40001000);
    emit(&m.p, LD(A1, S1, 0));
    li(&m.p, T1, 0x1122334455667788ll);
    li(&m.p, S2, 0x40000ffc);
    emit(&m.p, SD(T1, S2, 0));          /* misaligned across two mapped pages */
    emit(&m.p, LD(A2, S2, 0));
    emit(&m.p, WFI);
    menv_go(&m, RV_PRIV_S);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->priv, RV_PRIV_S);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(r64(m.e, PG_A + 8), 0x1234);
    CHECK_EQ(h->x[A0], 0x1234);
    CHECK_EQ(h->x[A1], 0x5555);
    CHECK_EQ(h->x[A2], 0x1122334455667788ull);
    CHECK_EQ(r32(m.e, PG_A + 0xffc), 0x55667788);
    CHECK_EQ(r32(m.e, PG_B), 0x11223344);
    tenv_free(m.e);
}

/* Run one access `insn` (base register S0 = va) in `priv` with the page at
 * va mapped with `flags`; return mcause (0 if no trap) and check tval. */
static uint64_t try_access(uint32_t insn, uint64_t flags, int priv, uint64_t mstatus_set,
                           uint64_t *tval)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    if (priv == RV_PRIV_U) /* code must be user-accessible */
        pt_map(&m.t, RAM_BASE, RAM_BASE, V | R | W | X | U | A | D, 2);
    pt_map(&m.t, 0x40000000, PG_A, flags, 0);
    li(&m.p, S0, 0x40000000);
    emit(&m.p, insn);
    emit(&m.p, WFI);
    menv_go(&m, priv);
    h->mstatus |= mstatus_set;
    rv_update_mmu_idx(h);
    menv_run(&m);
    uint64_t cause = h->p->mcause;
    *tval = h->p->mtval;
    if (priv == RV_PRIV_U && cause == 2 && h->p->mtval == WFI)
        cause = 0; /* U's WFI is illegal: the access itself went through */
    tenv_free(m.e);
    return cause;
}

static void sv39_permissions(void)
{
    uint64_t tv;
    /* store to a read-only page */
    CHECK_EQ(try_access(SD(T0, S0, 16), V | R | A | D, RV_PRIV_S, 0, &tv), 15);
    CHECK_EQ(tv, 0x40000010);
    /* load from a read-write page: fine */
    CHECK_EQ(try_access(LD(A0, S0, 0), V | R | W | A | D, RV_PRIV_S, 0, &tv), 0);
    /* execute-only page: load faults unless MXR */
    CHECK_EQ(try_access(LD(A0, S0, 0), V | X | A, RV_PRIV_S, 0, &tv), 13);
    CHECK_EQ(try_access(LD(A0, S0, 0), V | X | A, RV_PRIV_S, MS_MXR, &tv), 0);
    /* fetch from a non-executable page */
    CHECK_EQ(try_access(JALR(0, S0, 0), V | R | W | A | D, RV_PRIV_S, 0, &tv), 12);
    CHECK_EQ(tv, 0x40000000);
    /* S touching a U page: only loads/stores, only with SUM */
    CHECK_EQ(try_access(LD(A0, S0, 0), V | R | W | U | A | D, RV_PRIV_S, 0, &tv), 13);
    CHECK_EQ(try_access(LD(A0, S0, 0), V | R | W | U | A | D, RV_PRIV_S, MS_SUM, &tv), 0);
    CHECK_EQ(try_access(SD(A0, S0, 0), V | R | W | U | A | D, RV_PRIV_S, MS_SUM, &tv), 0);
    CHECK_EQ(try_access(JALR(0, S0, 0), V | R | X | U | A, RV_PRIV_S, MS_SUM, &tv), 12);
    /* U touching an S page */
    CHECK_EQ(try_access(LD(A0, S0, 0), V | R | W | A | D, RV_PRIV_U, 0, &tv), 13);
    CHECK_EQ(try_access(LD(A0, S0, 0), V | R | W | U | A | D, RV_PRIV_U, 0, &tv), 0);
    CHECK_EQ(try_access(SD(A0, S0, 0), V | R | U | A | D, RV_PRIV_U, 0, &tv), 15);
    /* reserved encodings: W without R, reserved high bits, invalid */
    CHECK_EQ(try_access(LD(A0, S0, 0), V | W | A | D, RV_PRIV_S, 0, &tv), 13);
    CHECK_EQ(try_access(LD(A0, S0, 0), V | R | A | (1ull << 60), RV_PRIV_S, 0, &tv), 13);
    CHECK_EQ(try_access(LD(A0, S0, 0), R | W | A | D, RV_PRIV_S, 0, &tv), 13);
}

static void sv39_noncanonical_and_pte_access_fault(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    li(&m.p, S0, 0x0000008000000000ll); /* bit 39 set, bits 63:40 clear */
    emit(&m.p, LD(A0, S0, 0));
    menv_go(&m, RV_PRIV_S);
    menv_run(&m);
    CHECK_EQ(h->p->mcause, 13);
    CHECK_EQ(h->p->mtval, 0x0000008000000000ull);
    tenv_free(m.e);

    /* a non-leaf PTE pointing outside RAM: access fault */
    menv_init(&m, 3);
    h = m.e->h;
    uint64_t root_pte = m.t.root + 1 * 8; /* VA 0x40000000 -> index 1 */
    w64(m.e, root_pte, (0x20000000ull >> 12) << 10 | V);
    li(&m.p, S0, 0x40000000);
    emit(&m.p, SD(A0, S0, 0));
    menv_go(&m, RV_PRIV_S);
    menv_run(&m);
    CHECK_EQ(h->p->mcause, 7);
    CHECK_EQ(h->p->mtval, 0x40000000);
    tenv_free(m.e);
}

static void ad_bits(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    uint64_t pa_pte = pt_map(&m.t, 0x40000000, PG_A, V | R | W, 0);
    li(&m.p, S0, 0x40000000);
    emit(&m.p, LD(A0, S0, 0));
    emit(&m.p, WFI);
    emit(&m.p, SD(A0, S0, 0));
    emit(&m.p, WFI);
    menv_go(&m, RV_PRIV_S);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(r64(m.e, pa_pte) & (A | D), A);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(r64(m.e, pa_pte) & (A | D), A | D);
    CHECK_EQ(h->p->mcause, 0);
    tenv_free(m.e);
}

static void superpages(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    /* aligned 2 MiB page: VA 0x40200000 -> PA RAM_BASE + 0x200000 */
    pt_map(&m.t, 0x40200000, RAM_BASE + 0x200000, V | R | W | A | D, 1);
    /* misaligned 2 MiB page (PPN low bits set) */
    pt_map(&m.t, 0x40400000, RAM_BASE + 0x201000, V | R | W | A | D, 1);
    w64(m.e, RAM_BASE + 0x200000 + 0x1238, 0xfeed);
    li(&m.p, S0, 0x40201238);
    emit(&m.p, LD(A0, S0, 0));
    li(&m.p, S1, 0x40400000);
    emit(&m.p, LD(A1, S1, 0));
    menv_go(&m, RV_PRIV_S);
    menv_run(&m);
    CHECK_EQ(h->x[A0], 0xfeed);
    CHECK_EQ(h->p->mcause, 13);
    CHECK_EQ(h->p->mtval, 0x40400000);
    tenv_free(m.e);
}

static void sv48_walk(void)
{
    struct menv m;
    menv_init(&m, 4);
    struct rv_hart *h = m.e->h;
    uint64_t va = 0x00007f1234567000ull;
    pt_map(&m.t, va, PG_C, V | R | W | A | D, 0);
    w64(m.e, PG_C + 0x10, 0xabcdef);
    li(&m.p, S0, (int64_t)va);
    emit(&m.p, LD(A0, S0, 0x10));
    li(&m.p, S1, (int64_t)0x0000800000000000ull); /* non-canonical for Sv48 */
    emit(&m.p, LD(A1, S1, 0));
    menv_go(&m, RV_PRIV_S);
    menv_run(&m);
    CHECK_EQ(h->x[A0], 0xabcdef);
    CHECK_EQ(h->p->mcause, 13);
    CHECK_EQ(h->p->mtval, 0x0000800000000000ull);
    tenv_free(m.e);
}

static void tlb_invalidation(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    uint64_t pa_pte = pt_map(&m.t, 0x40000000, PG_A, V | R | W | A | D, 0);
    w64(m.e, PG_A, 111);
    w64(m.e, PG_B, 222);
    li(&m.p, S0, 0x40000000);
    emit(&m.p, LD(A0, S0, 0));
    emit(&m.p, WFI);                     /* test remaps PG_A -> PG_B here */
    emit(&m.p, LD(A1, S0, 0));           /* stale: still cached */
    emit(&m.p, SFENCE_VMA(S0, 0));
    emit(&m.p, LD(A2, S0, 0));           /* new mapping */
    emit(&m.p, WFI);                     /* remap back to PG_A */
    emit(&m.p, SFENCE_VMA(0, 0));
    emit(&m.p, LD(A3, S0, 0));
    emit(&m.p, WFI);                     /* remap to PG_B, flush via satp write */
    emit(&m.p, CSRRS(T0, CSR_SATP, 0));
    emit(&m.p, CSRRW(0, CSR_SATP, T0));
    emit(&m.p, LD(A4, S0, 0));
    emit(&m.p, WFI);
    menv_go(&m, RV_PRIV_S);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    w64(m.e, pa_pte, (PG_B >> 12) << 10 | V | R | W | A | D);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    w64(m.e, pa_pte, (PG_A >> 12) << 10 | V | R | W | A | D);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    w64(m.e, pa_pte, (PG_B >> 12) << 10 | V | R | W | A | D);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 111);
    CHECK_EQ(h->x[A1], 111);
    CHECK_EQ(h->x[A2], 222);
    CHECK_EQ(h->x[A3], 111);
    CHECK_EQ(h->x[A4], 222);
    CHECK_EQ(h->p->mcause, 0);
    tenv_free(m.e);

    /* sfence.vma of one address inside a cached superpage drops it all */
    menv_init(&m, 3);
    h = m.e->h;
    pa_pte = pt_map(&m.t, 0x40200000, RAM_BASE + 0x200000, V | R | W | A | D, 1);
    w64(m.e, RAM_BASE + 0x200000 + 0x5000, 1);
    w64(m.e, RAM_BASE + 0x5000, 2);
    li(&m.p, S0, 0x40205000);
    li(&m.p, S1, 0x40200000);
    emit(&m.p, LD(A0, S0, 0));
    emit(&m.p, WFI);
    emit(&m.p, SFENCE_VMA(S1, 0));       /* other 4K page of the superpage */
    emit(&m.p, LD(A1, S0, 0));
    emit(&m.p, WFI);
    menv_go(&m, RV_PRIV_S);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    w64(m.e, pa_pte, (RAM_BASE >> 12) << 10 | V | R | W | A | D);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 1);
    CHECK_EQ(h->x[A1], 2);
    tenv_free(m.e);

    /* remote flush request */
    menv_init(&m, 3);
    h = m.e->h;
    pa_pte = pt_map(&m.t, 0x40000000, PG_A, V | R | W | A | D, 0);
    w64(m.e, PG_A, 111);
    w64(m.e, PG_B, 222);
    li(&m.p, S0, 0x40000000);
    emit(&m.p, LD(A0, S0, 0));
    emit(&m.p, WFI);
    emit(&m.p, LD(A1, S0, 0));
    emit(&m.p, WFI);
    menv_go(&m, RV_PRIV_S);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    w64(m.e, pa_pte, (PG_B >> 12) << 10 | V | R | W | A | D);
    rv_hart_flush_tlb(h);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->x[A1], 222);
    tenv_free(m.e);
}

static void cross_page_fetch(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    /* Two virtual code pages backed by non-adjacent physical pages; a
     * 4-byte instruction straddles them. The second page starts unmapped. */
    uint64_t va = 0x40000000;
    pt_map(&m.t, va, PG_C, V | R | X | A, 0);
    uint32_t insn = ADDI(A0, A0, 0x123);
    struct prog c = {m.e, PG_C + 0xff8};
    emit(&c, ADDI(A0, 0, 1));
    emit16(&c, 0x0001); /* c.nop: puts the next insn at 0xffe */
    w16(m.e, PG_C + 0xffe, (uint16_t)insn);
    w16(m.e, PG_B, (uint16_t)(insn >> 16));
    w32(m.e, PG_B + 2, WFI);
    li(&m.p, S0, (int64_t)(va + 0xff8));
    emit(&m.p, JALR(0, S0, 0));
    menv_go(&m, RV_PRIV_S);
    menv_run(&m);
    CHECK_EQ(h->p->mcause, 12);
    CHECK_EQ(h->p->mepc, va + 0xffe);
    CHECK_EQ(h->p->mtval, va + 0x1000);
    CHECK_EQ(h->x[A0], 1);
    /* map the second page and go again */
    pt_map(&m.t, va + 0x1000, PG_B, V | R | X | A, 0);
    menv_go(&m, RV_PRIV_S);
    h->p->mcause = 0;
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(h->x[A0], 0x124);
    CHECK_EQ(h->pc, va + 0x1000 + 6);
    tenv_free(m.e);
}

static void fetch_fault_delegated(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    uint64_t stvec = RAM_BASE + 0x3000;
    put_halt(m.e, stvec);
    li(&m.p, S0, 0x40000000);
    emit(&m.p, JALR(0, S0, 8));
    menv_go(&m, RV_PRIV_S);
    h->p->medeleg = 1 << 12;
    h->p->stvec = stvec;
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->priv, RV_PRIV_S);
    CHECK_EQ(h->p->scause, 12);
    CHECK_EQ(h->p->stval, 0x40000008);
    CHECK_EQ(h->p->sepc, 0x40000008);
    CHECK_EQ(h->p->mcause, 0);
    tenv_free(m.e);
}

static void mprv_loads(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    pt_map(&m.t, 0x40000000, PG_A, V | R | W | A | D, 0);
    w64(m.e, PG_A, 0x77);
    /* M-mode code (no translation for fetch), MPRV=1 MPP=S for data */
    li(&m.p, S0, 0x40000000);
    li(&m.p, T0, (int64_t)(MS_MPRV | (1ull << 11)));
    emit(&m.p, CSRRS(0, CSR_MSTATUS, T0));
    emit(&m.p, LD(A0, S0, 0));
    emit(&m.p, CSRRC(0, CSR_MSTATUS, T0));
    li(&m.p, S1, (int64_t)PG_B);
    emit(&m.p, LD(A1, S1, 0));           /* bare again: physical */
    emit(&m.p, CSRRS(0, CSR_MSTATUS, T0));
    emit(&m.p, LD(A2, S1, 0));           /* translated: identity superpage */
    li(&m.p, S1, 0x40001000);
    emit(&m.p, LD(A3, S1, 0));           /* unmapped: fault to M */
    w64(m.e, PG_B, 0x88);
    menv_go(&m, RV_PRIV_M);
    menv_run(&m);
    CHECK_EQ(h->x[A0], 0x77);
    CHECK_EQ(h->x[A1], 0x88);
    CHECK_EQ(h->x[A2], 0x88);
    CHECK_EQ(h->p->mcause, 13);
    CHECK_EQ(h->p->mtval, 0x40001000);
    CHECK_EQ(h->priv, RV_PRIV_M);
    tenv_free(m.e);
}

/* A bus where one page (here: a page-table page) is shared copy-on-write:
 * reads are served from `shared` (A) until ram_page is asked for writing,
 * which copies A into the page's own RAM (B), poisons A (a freed frame),
 * sets FLUSH_TLB on the hart (the shootdown) and returns B. */
struct cow_bus {
    struct tenv *e;
    uint64_t page;
    uint8_t *shared;
    bool broken;
    unsigned breaks;
};

static uint8_t *cow_ram_page(void *ctx, uint64_t pa, bool for_write)
{
    struct cow_bus *c = ctx;
    if ((pa & ~0xfffull) == c->page && !c->broken) {
        if (!for_write)
            return c->shared;
        memcpy(ram_ptr(c->e, c->page), c->shared, 4096);
        memset(c->shared, 0, 4096);
        c->broken = true;
        c->breaks++;
        rv_hart_flush_tlb(c->e->h);
    }
    return fb_ram_page(&c->e->fb, pa, for_write);
}

/* The walker sets the A bit of a leaf PTE in a shared page-table page:
 * that breaks COW inside the walk. The guest reads the PTE through a
 * mapping of that table before (read TLB -> A) and after, in one block:
 * the second read must see the A bit, i.e. the walk's flush was served at
 * once (and the CAS went to B, whose PTE the walk then used). */
static void cow_page_table_ad_update(void)
{
    struct menv m;
    menv_init(&m, 3);
    struct rv_hart *h = m.e->h;
    uint64_t pte_a = pt_map(&m.t, 0x40000000, PG_A, V | R | W, 0);   /* no A, no D */
    uint64_t table = pte_a & ~0xfffull;
    pt_map(&m.t, 0x40001000, table, V | R | A | D, 0);
    w64(m.e, PG_A, 0x77);
    struct cow_bus c = {.e = m.e, .page = table};
    c.shared = aligned_alloc(4096, 4096);
    memcpy(c.shared, ram_ptr(m.e, table), 4096);
    memset(ram_ptr(m.e, table), 0xee, 4096 - 8);   /* B: junk until the copy */
    h->bus.ctx = &c;
    h->bus.ram_page = cow_ram_page;
    li(&m.p, S1, 0x40001000 + (pte_a & 0xfff));
    li(&m.p, S0, 0x40000000);
    emit(&m.p, LD(A0, S1, 0));    /* the leaf PTE, from A */
    emit(&m.p, LD(A1, S0, 0));    /* walk sets A: COW of the table */
    emit(&m.p, LD(A2, S1, 0));    /* the leaf PTE again, from B */
    emit(&m.p, SD(A1, S0, 8));    /* walk sets D, in B */
    emit(&m.p, LD(A3, S1, 0));
    emit(&m.p, WFI);
    menv_go(&m, RV_PRIV_S);
    CHECK_EQ(menv_run(&m), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->x[A0] & (A | D), 0);
    CHECK_EQ(h->x[A1], 0x77);
    CHECK_EQ(h->x[A2] & (A | D), A);
    CHECK_EQ(h->x[A3] & (A | D), A | D);
    CHECK_EQ(r64(m.e, pte_a) & (A | D), A | D);
    CHECK_EQ(r64(m.e, PG_A + 8), 0x77);
    free(c.shared);
    tenv_free(m.e);
}

int main(void)
{
    RUN(sv39_basic);
    RUN(sv39_permissions);
    RUN(sv39_noncanonical_and_pte_access_fault);
    RUN(ad_bits);
    RUN(superpages);
    RUN(sv48_walk);
    RUN(tlb_invalidation);
    RUN(cross_page_fetch);
    RUN(fetch_fault_delegated);
    RUN(mprv_loads);
    RUN(cow_page_table_ad_update);
    T_EXIT();
}

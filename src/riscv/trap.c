/* Traps, interrupts, timers, xRET. */
#include "riscv/cpu_priv.h"

void rv_take_trap(struct rv_hart *h, uint64_t cause, uint64_t tval)
{
    struct rv_hart_priv *p = h->p;
    bool intr = (cause & CAUSE_INT) != 0;
    unsigned code = (unsigned)(cause & 63);
    uint64_t deleg = intr ? p->mideleg : p->medeleg;
    uint64_t ms = h->mstatus;

    p->lr_valid = false;
    if (h->priv <= RV_PRIV_S && ((deleg >> code) & 1)) {
        p->scause = cause;
        p->sepc = h->pc;
        p->stval = tval;
        ms &= ~(MS_SPIE | MS_SPP);
        if (ms & MS_SIE)
            ms |= MS_SPIE;
        if (h->priv == RV_PRIV_S)
            ms |= MS_SPP;
        ms &= ~MS_SIE;
        h->priv = RV_PRIV_S;
        h->pc = (p->stvec & ~3ull) + ((intr && (p->stvec & 1)) ? 4ull * code : 0);
    } else {
        p->mcause = cause;
        p->mepc = h->pc;
        p->mtval = tval;
        ms &= ~(MS_MPIE | MS_MPP);
        if (ms & MS_MIE)
            ms |= MS_MPIE;
        ms |= (uint64_t)h->priv << MS_MPP_SHIFT;
        ms &= ~MS_MIE;
        h->priv = RV_PRIV_M;
        h->pc = (p->mtvec & ~3ull) + ((intr && (p->mtvec & 1)) ? 4ull * code : 0);
    }
    h->mstatus = ms;
    rv_update_mmu_idx(h);
}

void rv_do_mret(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    uint64_t ms = h->mstatus;
    int mpp = (int)((ms >> MS_MPP_SHIFT) & 3);
    ms &= ~MS_MIE;
    if (ms & MS_MPIE)
        ms |= MS_MIE;
    ms |= MS_MPIE;
    ms &= ~MS_MPP; /* least-privileged mode: U */
    if (mpp != RV_PRIV_M)
        ms &= ~MS_MPRV;
    h->mstatus = ms;
    h->priv = mpp;
    h->pc = p->mepc;
    p->lr_valid = false;
    rv_update_mmu_idx(h);
}

void rv_do_sret(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    uint64_t ms = h->mstatus;
    int spp = (ms & MS_SPP) ? RV_PRIV_S : RV_PRIV_U;
    ms &= ~MS_SIE;
    if (ms & MS_SPIE)
        ms |= MS_SIE;
    ms |= MS_SPIE;
    ms &= ~MS_SPP;
    ms &= ~MS_MPRV;
    h->mstatus = ms;
    h->priv = spp;
    h->pc = p->sepc;
    p->lr_valid = false;
    rv_update_mmu_idx(h);
}

uint64_t rv_mip_read(struct rv_hart *h)
{
    uint64_t v = atomic_load_explicit(&h->mip, memory_order_acquire);
    if (__atomic_load_n(&h->p->seip_sw, __ATOMIC_RELAXED))
        v |= RV_MIP_SEIP;
    return v;
}

void rv_update_timers(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    uint64_t now = rv_clock_now(h->clock);
    uint64_t mip = atomic_load_explicit(&h->mip, memory_order_relaxed);
    uint64_t set = 0, clr = 0;

    if (now >= atomic_load_explicit(&h->mtimecmp, memory_order_relaxed))
        set |= RV_MIP_MTIP;
    else
        clr |= RV_MIP_MTIP;
    uint64_t st = atomic_load_explicit(&p->stimer, memory_order_relaxed);
    if (st != UINT64_MAX && now >= st)
        set |= RV_MIP_STIP;
    if (__atomic_load_n(&p->menvcfg, __ATOMIC_RELAXED) & MENVCFG_STCE) {
        if (now >= __atomic_load_n(&p->stimecmp, __ATOMIC_RELAXED))
            set |= RV_MIP_STIP;
        else if (!(set & RV_MIP_STIP))
            clr |= RV_MIP_STIP;
    }
    if (set & ~mip)
        atomic_fetch_or(&h->mip, set);
    if (clr & mip)
        atomic_fetch_and(&h->mip, ~clr);
}

/* Interrupts in decreasing priority: MEI, MSI, MTI, SEI, SSI, STI. */
static const uint8_t irq_order[6] = {11, 3, 7, 9, 1, 5};

static bool take_first(struct rv_hart *h, uint64_t set)
{
    for (int i = 0; i < 6; i++) {
        if (set & (1ull << irq_order[i])) {
            rv_take_trap(h, CAUSE_INT | irq_order[i], 0);
            return true;
        }
    }
    return false;
}

bool rv_check_interrupts(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    uint64_t pend = rv_mip_read(h) & p->mie;
    if (likely(!pend))
        return false;
    uint64_t m = pend & ~p->mideleg;
    if (m && (h->priv < RV_PRIV_M || (h->mstatus & MS_MIE)))
        return take_first(h, m);
    uint64_t s = pend & p->mideleg;
    if (s && (h->priv < RV_PRIV_S || (h->priv == RV_PRIV_S && (h->mstatus & MS_SIE))))
        return take_first(h, s);
    return false;
}

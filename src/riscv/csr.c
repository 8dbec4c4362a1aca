/* Control and status registers (privileged spec 1.12). */
#include "riscv/cpu_priv.h"

#define MSTATUS_WMASK (MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP | MS_FS | \
                       MS_MPRV | MS_SUM | MS_MXR | MS_TVM | MS_TW | MS_TSR)
#define SSTATUS_RMASK (MS_SIE | MS_SPIE | MS_SPP | MS_FS | (3ull << 15) | MS_SUM | MS_MXR | \
                       MS_UXL | MS_SD)
#define SSTATUS_WMASK (MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR)
#define MEDELEG_MASK 0xb3ffull
#define MIDELEG_MASK (RV_MIP_SSIP | RV_MIP_STIP | RV_MIP_SEIP)
#define MIE_MASK (RV_MIP_SSIP | RV_MIP_MSIP | RV_MIP_STIP | RV_MIP_MTIP | RV_MIP_SEIP | RV_MIP_MEIP)
#define SATP_ASID_MASK (0xffffull << 44)
#define SATP_PPN_MASK ((1ull << 44) - 1)

enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
    CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02, CSR_HPM31 = 0xc1f,
    CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
    CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
    CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_STIMECMP = 0x14d, CSR_SATP = 0x180,
    CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
    CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
    CSR_MCOUNTINHIBIT = 0x320, CSR_MHPMEVENT3 = 0x323, CSR_MHPMEVENT31 = 0x33f,
    CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342, CSR_MTVAL = 0x343,
    CSR_MIP = 0x344, CSR_PMPCFG0 = 0x3a0, CSR_PMPCFG15 = 0x3af, CSR_PMPADDR0 = 0x3b0,
    CSR_PMPADDR63 = 0x3ef, CSR_MSECCFG = 0x747,
    CSR_TSELECT = 0x7a0, CSR_TDATA1 = 0x7a1, CSR_TDATA2 = 0x7a2, CSR_TDATA3 = 0x7a3,
    CSR_TINFO = 0x7a4,
    CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02, CSR_MHPM3 = 0xb03, CSR_MHPM31 = 0xb1f,
    CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13, CSR_MHARTID = 0xf14,
    CSR_MCONFIGPTR = 0xf15,
};

static uint64_t sd_fix(uint64_t ms)
{
    if ((ms & MS_FS) == MS_FS)
        ms |= MS_SD;
    else
        ms &= ~MS_SD;
    return ms;
}

static bool counter_ok(struct rv_hart *h, unsigned n)
{
    struct rv_hart_priv *p = h->p;
    if (h->priv < RV_PRIV_M && !((p->mcounteren >> n) & 1))
        return false;
    if (h->priv < RV_PRIV_S && !((p->scounteren >> n) & 1))
        return false;
    return true;
}

/* 0, or -1 for an illegal access */
static int csr_read(struct rv_hart *h, unsigned csr, uint64_t *out)
{
    struct rv_hart_priv *p = h->p;
    uint64_t v = 0;
    switch (csr) {
    case CSR_FFLAGS: case CSR_FRM: case CSR_FCSR:
        if (!(h->mstatus & MS_FS))
            return -1;
        v = csr == CSR_FFLAGS ? (h->fcsr & 0x1f) : csr == CSR_FRM ? ((h->fcsr >> 5) & 7)
                                                                   : (h->fcsr & 0xff);
        break;
    case CSR_CYCLE: case CSR_TIME: case CSR_INSTRET:
        if (!counter_ok(h, csr - CSR_CYCLE))
            return -1;
        if (csr == CSR_TIME)
            v = rv_clock_now(h->clock);
        else if (csr == CSR_CYCLE)
            v = h->instret + (uint64_t)p->cycle_off;
        else
            v = h->instret + (uint64_t)p->instret_off;
        break;
    case CSR_SSTATUS: v = sd_fix(h->mstatus) & SSTATUS_RMASK; break;
    case CSR_SIE: v = p->mie & p->mideleg; break;
    case CSR_STVEC: v = p->stvec; break;
    case CSR_SCOUNTEREN: v = p->scounteren; break;
    case CSR_SENVCFG: v = p->senvcfg; break;
    case CSR_SSCRATCH: v = p->sscratch; break;
    case CSR_SEPC: v = p->sepc; break;
    case CSR_SCAUSE: v = p->scause; break;
    case CSR_STVAL: v = p->stval; break;
    case CSR_SIP: v = rv_mip_read(h) & p->mideleg; break;
    case CSR_STIMECMP:
        if (h->priv < RV_PRIV_M &&
            (!(p->menvcfg & MENVCFG_STCE) || !(p->mcounteren & 2)))
            return -1;
        v = p->stimecmp;
        break;
    case CSR_SATP:
        if (h->priv == RV_PRIV_S && (h->mstatus & MS_TVM))
            return -1;
        v = p->satp;
        break;
    case CSR_MSTATUS: v = sd_fix(h->mstatus); break;
    case CSR_MISA: v = p->misa; break;
    case CSR_MEDELEG: v = p->medeleg; break;
    case CSR_MIDELEG: v = p->mideleg; break;
    case CSR_MIE: v = p->mie; break;
    case CSR_MTVEC: v = p->mtvec; break;
    case CSR_MCOUNTEREN: v = p->mcounteren; break;
    case CSR_MENVCFG: v = p->menvcfg; break;
    case CSR_MCOUNTINHIBIT: v = p->mcountinhibit; break;
    case CSR_MSCRATCH: v = p->mscratch; break;
    case CSR_MEPC: v = p->mepc; break;
    case CSR_MCAUSE: v = p->mcause; break;
    case CSR_MTVAL: v = p->mtval; break;
    case CSR_MIP: v = rv_mip_read(h); break;
    case CSR_MSECCFG: v = 0; break;
    case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3: v = 0; break;
    case CSR_TINFO: v = 1; break; /* only "type 0": no trigger here */
    case CSR_MCYCLE: v = h->instret + (uint64_t)p->cycle_off; break;
    case CSR_MINSTRET: v = h->instret + (uint64_t)p->instret_off; break;
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR: v = 0; break;
    case CSR_MHARTID: v = h->mhartid; break;
    default:
        if (csr > CSR_INSTRET && csr <= CSR_HPM31) {
            if (!counter_ok(h, csr - CSR_CYCLE))
                return -1;
            v = 0;
        } else if (csr >= CSR_MHPM3 && csr <= CSR_MHPM31) {
            v = 0;
        } else if (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31) {
            v = 0;
        } else if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
            if (csr & 1)
                return -1;
            unsigned base = (csr - CSR_PMPCFG0) * 4;
            for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t)p->pmpcfg[base + i] << (8 * i);
        } else if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
            v = p->pmpaddr[csr - CSR_PMPADDR0];
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static void set_mip_bit(struct rv_hart *h, uint64_t bit, bool on)
{
    rv_hart_set_irq(h, bit, on);
}

/* 0 ok, 1 ok and end the block, -1 illegal */
static int csr_write(struct rv_hart *h, unsigned csr, uint64_t v)
{
    struct rv_hart_priv *p = h->p;
    switch (csr) {
    case CSR_FFLAGS: case CSR_FRM: case CSR_FCSR:
        if (!(h->mstatus & MS_FS))
            return -1;
        if (csr == CSR_FFLAGS)
            h->fcsr = (h->fcsr & ~0x1fu) | (uint32_t)(v & 0x1f);
        else if (csr == CSR_FRM)
            h->fcsr = (h->fcsr & ~0xe0u) | (uint32_t)((v & 7) << 5);
        else
            h->fcsr = (uint32_t)(v & 0xff);
        rv_fs_set_dirty(h);
        return 0;
    case CSR_SSTATUS:
    case CSR_MSTATUS: {
        uint64_t mask = csr == CSR_MSTATUS ? MSTATUS_WMASK : SSTATUS_WMASK;
        uint64_t old = h->mstatus;
        uint64_t ms = (old & ~mask) | (v & mask);
        if (((ms >> MS_MPP_SHIFT) & 3) == 2)
            ms = (ms & ~MS_MPP) | (old & MS_MPP);
        ms = sd_fix(ms) | (2ull << 32) | (2ull << 34);
        h->mstatus = ms;
        if ((old ^ ms) & MS_MXR)
            rv_tlb_flush_vm(h);
        rv_update_mmu_idx(h);
        return 1;
    }
    case CSR_SIE:
        __atomic_store_n(&p->mie, (p->mie & ~p->mideleg) | (v & p->mideleg & MIE_MASK),
                         __ATOMIC_RELAXED);
        return 1;
    case CSR_STVEC:
    case CSR_MTVEC:
        if ((v & 3) >= 2)
            v &= ~3ull;
        if (csr == CSR_STVEC)
            p->stvec = v;
        else
            p->mtvec = v;
        return 0;
    case CSR_SCOUNTEREN: p->scounteren = (uint32_t)v; return 0;
    case CSR_SENVCFG: p->senvcfg = v & 1; return 0;
    case CSR_SSCRATCH: p->sscratch = v; return 0;
    case CSR_SEPC: p->sepc = v & ~1ull; return 0;
    case CSR_SCAUSE: p->scause = v; return 0;
    case CSR_STVAL: p->stval = v; return 0;
    case CSR_SIP:
        if (p->mideleg & RV_MIP_SSIP)
            set_mip_bit(h, RV_MIP_SSIP, (v & RV_MIP_SSIP) != 0);
        return 1;
    case CSR_STIMECMP:
        if (h->priv < RV_PRIV_M &&
            (!(p->menvcfg & MENVCFG_STCE) || !(p->mcounteren & 2)))
            return -1;
        __atomic_store_n(&p->stimecmp, v, __ATOMIC_RELAXED);
        rv_update_timers(h);
        return 1;
    case CSR_SATP: {
        if (h->priv == RV_PRIV_S && (h->mstatus & MS_TVM))
            return -1;
        uint64_t mode = v >> 60;
        if (mode != 0 && mode != 8 && mode != 9)
            return 0; /* unsupported mode: write ignored */
        p->satp = (v & ((0xfull << 60) | SATP_ASID_MASK | SATP_PPN_MASK));
        rv_tlb_flush_vm(h);
        return 1;
    }
    case CSR_MISA: return 0;
    case CSR_MEDELEG: p->medeleg = v & MEDELEG_MASK; return 0;
    case CSR_MIDELEG: p->mideleg = v & MIDELEG_MASK; return 1;
    case CSR_MIE: __atomic_store_n(&p->mie, v & MIE_MASK, __ATOMIC_RELAXED); return 1;
    case CSR_MCOUNTEREN: p->mcounteren = (uint32_t)v; return 0;
    case CSR_MENVCFG:
        __atomic_store_n(&p->menvcfg, v & (MENVCFG_STCE | 1), __ATOMIC_RELAXED);
        rv_update_timers(h);
        return 1;
    case CSR_MCOUNTINHIBIT: p->mcountinhibit = (uint32_t)(v & ~2ull); return 0;
    case CSR_MSCRATCH: p->mscratch = v; return 0;
    case CSR_MEPC: p->mepc = v & ~1ull; return 0;
    case CSR_MCAUSE: p->mcause = v; return 0;
    case CSR_MTVAL: p->mtval = v; return 0;
    case CSR_MIP:
        set_mip_bit(h, RV_MIP_SSIP, (v & RV_MIP_SSIP) != 0);
        if (!(p->menvcfg & MENVCFG_STCE))
            set_mip_bit(h, RV_MIP_STIP, (v & RV_MIP_STIP) != 0);
        __atomic_store_n(&p->seip_sw, (v & RV_MIP_SEIP) != 0, __ATOMIC_RELAXED);
        return 1;
    case CSR_MSECCFG:
    case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3: case CSR_TINFO:
        return 0;
    case CSR_MCYCLE: p->cycle_off = (int64_t)(v - h->instret - 1); return 0;
    case CSR_MINSTRET: p->instret_off = (int64_t)(v - h->instret - 1); return 0;
    default:
        if (csr >= CSR_MHPM3 && csr <= CSR_MHPM31)
            return 0;
        if (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31)
            return 0;
        if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
            if (csr & 1)
                return -1;
            unsigned base = (csr - CSR_PMPCFG0) * 4;
            for (unsigned i = 0; i < 8; i++) {
                uint8_t old = p->pmpcfg[base + i];
                if (old & 0x80)
                    continue; /* locked */
                uint8_t b = (uint8_t)(v >> (8 * i)) & 0x9f;
                if ((b & 3) == 2)
                    b &= (uint8_t)~2; /* W without R is reserved */
                p->pmpcfg[base + i] = b;
            }
            return 0;
        }
        if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
            unsigned i = csr - CSR_PMPADDR0;
            if (p->pmpcfg[i] & 0x80)
                return 0;
            if (i + 1 < 64 && (p->pmpcfg[i + 1] & 0x80) && ((p->pmpcfg[i + 1] >> 3) & 3) == 1)
                return 0; /* locked TOR entry above */
            p->pmpaddr[i] = v & ((1ull << 54) - 1);
            return 0;
        }
        return -1;
    }
}

int rv_csr_insn(struct rv_hart *h, const struct dinsn *d)
{
    unsigned csr = (unsigned)d->imm & 0xfff;
    unsigned f3 = d->rs2, rs1 = d->rs1, rd = d->rd;
    uint64_t src = (f3 & 4) ? rs1 : h->x[rs1];
    unsigned op = f3 & 3;
    bool do_write = op == 1 || rs1 != 0;

    if (((csr >> 8) & 3) > (unsigned)h->priv)
        return -1;
    if (do_write && (csr >> 10) == 3)
        return -1;
    uint64_t old;
    if (csr_read(h, csr, &old))
        return -1;
    int r = 0;
    if (do_write) {
        uint64_t base = old;
        /* mip.SEIP reads as (software bit | PLIC line), but CSRRS/CSRRC
         * modify only the software bit: never latch the line into it. */
        if (csr == CSR_MIP)
            base = (old & ~RV_MIP_SEIP) | (h->p->seip_sw ? RV_MIP_SEIP : 0);
        uint64_t nv = op == 1 ? src : op == 2 ? (base | src) : (base & ~src);
        r = csr_write(h, csr, nv);
        if (r < 0)
            return -1;
    }
    if (rd)
        h->x[rd] = old;
    return r;
}

void rv_csr_reset(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    h->mstatus = (2ull << 32) | (2ull << 34);
    h->fcsr = 0;
    p->misa = (2ull << 62) | (1u << 0) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 8) |
              (1u << 12) | (1u << 18) | (1u << 20);
    p->medeleg = p->mideleg = 0;
    __atomic_store_n(&p->mie, 0, __ATOMIC_RELAXED);
    p->mtvec = p->stvec = p->mepc = p->sepc = 0;
    p->mcause = p->scause = p->mtval = p->stval = 0;
    p->mscratch = p->sscratch = p->satp = 0;
    p->mcounteren = p->scounteren = p->mcountinhibit = 0;
    __atomic_store_n(&p->menvcfg, 0, __ATOMIC_RELAXED);
    p->senvcfg = 0;
    __atomic_store_n(&p->stimecmp, UINT64_MAX, __ATOMIC_RELAXED);
    p->cycle_off = p->instret_off = 0;
    memset(p->pmpcfg, 0, sizeof(p->pmpcfg));
    memset(p->pmpaddr, 0, sizeof(p->pmpaddr));
    __atomic_store_n(&p->seip_sw, false, __ATOMIC_RELAXED);
}

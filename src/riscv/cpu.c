/* The hart: lifecycle, decoded-page cache and the run loop.
 *
 * Run loop structure (one function, computed-goto dispatch on d->xop):
 *   irq_check: account retired instructions, serve exit/flush requests,
 *              take a pending interrupt, start a new chunk of about CHUNK
 *              instructions (or return RV_EXIT_BUDGET);
 *   lookup:    translate pc through the fetch TLB to a decoded page (the
 *              "block"), then dispatch slot after slot. Leaving the page,
 *              a trap, or anything that changes the execution context
 *              returns to lookup / irq_check.
 * Counting: entering a straight-line run (ENTER, lookup) charges its whole
 * length (d->run) to the chunk budget n; the budget is checked only there.
 * SYNC makes pc and instret exact in the middle of a run (before anything
 * that may trap or read instret), `trapped` and END_BLOCK give back the
 * part of the run that did not execute.
 * Instructions that are not in a decoded page (a 32-bit instruction that
 * straddles two pages, code in MMIO or in memory the codemap does not
 * cover) are fetched through the MMU, decoded into p->tmp and executed
 * once ("temp mode": in-page jumps are disabled by cur_vpn = ~0, and the
 * in-page forms of finish_decode are not used). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "riscv/cpu_priv.h"

#define CHUNK 1024 /* instructions between interrupt / timer checks (checked
                    * at the end of a run, so a chunk may run over) */

/* ---- decoded pages ------------------------------------------------------ */

static void dp_reset(struct rv_hart *h, struct dpage *dp)
{
    memset(dp->slot, 0, sizeof(dp->slot[0]) * DP_SLOTS);
    dp->slot[DP_SLOTS].op = OP_PAGE_END;
    dp->slot[DP_SLOTS].xop = XOP_PAGE_END;
    dp->gen = rv_codemap_mark_code(h->codemap, dp->genp, h, dp->pa);
    dp->epoch = h->p->epoch;
}

static void dp_flush_all(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    for (unsigned i = 0; i < DP_HASH; i++) {
        struct dpage *dp = p->dp_hash[i];
        while (dp) {
            struct dpage *n = dp->hnext;
            dp->hnext = p->dp_free;
            p->dp_free = dp;
            dp = n;
        }
        p->dp_hash[i] = NULL;
    }
    p->dp_count = 0;
    rv_tlb_flush_fetch(h);
}

/* A page from the free list, else carved from the newest chunk (a new one
 * mmap'd when it is used up). */
static struct dpage *dp_alloc(struct rv_hart_priv *p)
{
    struct dpage *dp = p->dp_free;
    if (dp) {
        p->dp_free = dp->hnext;
        return dp;
    }
    struct dp_chunk *c = p->dp_chunks;
    if (!c || c->used == DP_CHUNK) {
        void *m = mmap(NULL, DP_CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        /* No transparent huge pages: a used page must cost its own 32 KiB,
         * not 2 MiB (the chunks of a hart may be merged into one mapping). */
        (void)madvise(m, DP_CHUNK_BYTES, MADV_NOHUGEPAGE);
        c = m;
        c->next = p->dp_chunks;
        c->used = 0;
        p->dp_chunks = c;
    }
    p->dp_pages++;
    return &c->page[c->used++];
}

/* Unmap every chunk: the caller has dropped all references to their pages
 * (dp_flush_all). Returns the bytes unmapped. */
static size_t dp_release(struct rv_hart_priv *p)
{
    size_t bytes = 0;
    while (p->dp_chunks) {
        struct dp_chunk *n = p->dp_chunks->next;
        munmap(p->dp_chunks, DP_CHUNK_BYTES);
        bytes += DP_CHUNK_BYTES;
        p->dp_chunks = n;
    }
    p->dp_free = NULL;
    p->dp_pages = 0;
    return bytes;
}

static struct dpage *dp_get(struct rv_hart *h, uint64_t pa, _Atomic uint32_t *w)
{
    struct rv_hart_priv *p = h->p;
    unsigned hi = (unsigned)(pa >> PG_SHIFT) & (DP_HASH - 1);
    for (struct dpage *dp = p->dp_hash[hi]; dp; dp = dp->hnext) {
        if (dp->pa == pa) {
            if (dp->epoch != p->epoch || dp->gen != atomic_load_explicit(w, memory_order_acquire))
                dp_reset(h, dp);
            return dp;
        }
    }
    if (p->dp_count >= DP_MAX)
        dp_flush_all(h);
    struct dpage *dp = dp_alloc(p);
    if (!dp)
        return NULL;
    dp->pa = pa;
    dp->genp = w;
    dp_reset(h, dp);
    dp->hnext = p->dp_hash[hi];
    p->dp_hash[hi] = dp;
    p->dp_count++;
    return dp;
}

void rv_icache_flush(struct rv_hart *h)
{
    h->p->epoch++;
}

static void serve_flush(struct rv_hart *h)
{
    int f = atomic_exchange(&h->flush_request, 0);
    if (f & FLUSH_TLB)
        rv_tlb_flush_all(h);
    else if (f & FLUSH_WTLB)
        rv_tlb_flush_write(h);
    if ((f & FLUSH_DPAGES) && !(f & FLUSH_TLB))
        rv_tlb_flush_fetch(h);
    if (f & FLUSH_ICACHE)
        rv_icache_flush(h);
}

/* ---- runs ---------------------------------------------------------------- */

/* Does op end a straight-line run (control transfer, or an op that always
 * leaves the block)? */
static bool ends_run(unsigned op)
{
    switch (op & ~OP_C) {
    case OP_JAL: case OP_JALR:
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
    case OP_ECALL: case OP_EBREAK: case OP_MRET: case OP_SRET: case OP_WFI:
    case OP_FENCE_I: case OP_SFENCE_VMA: case OP_ILLEGAL:
        return true;
    }
    return false;
}

/* rv_decode's op (with OP_C) -> handler */
static const uint8_t xmap[256] = {
#define RV_XMAP4(n) [OP_##n] = XOP_##n,
#define RV_XMAPC(n) [OP_##n | OP_C] = XOPC_##n,
    RV_OPS(RV_XMAP4) RV_COPS(RV_XMAPC)
#undef RV_XMAP4
#undef RV_XMAPC
};

/* Pick the handler of a freshly decoded instruction. slot: its slot in a
 * decoded page, or -1 for the temp slots (no in-page forms there). The
 * forms for rd = x0 are not optional: the general handlers of loads and
 * jumps write x[rd] without restoring x[0]. */
static void finish_decode(struct dinsn *d, int slot)
{
    bool c = d->op & OP_C;
    unsigned x = xmap[d->op];
    int32_t delta = d->imm >> 1; /* jumps: target slot - this slot */
    bool in_page = slot >= 0 && slot + delta >= 0 && slot + delta < DP_SLOTS;
#define XF(n) (c ? XOPC_##n : XOP_##n)
    switch (d->op & ~OP_C) {
    case OP_BEQ: if (in_page) x = XF(BEQ_L); break;
    case OP_BNE: if (in_page) x = XF(BNE_L); break;
    case OP_BLT: if (in_page) x = XF(BLT_L); break;
    case OP_BGE: if (in_page) x = XF(BGE_L); break;
    case OP_BLTU: if (in_page) x = XF(BLTU_L); break;
    case OP_BGEU: if (in_page) x = XF(BGEU_L); break;
    case OP_JAL:
        if (in_page)
            x = d->rd ? XF(JAL_L) : XF(J_L);
        else if (!d->rd)
            x = XF(J);
        break;
    case OP_JALR:
        if (!d->rd)
            x = XF(JR);
        break;
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
        if (!d->rd)
            x = XF(LOAD_X0);
        break;
    case OP_ADDI:
        if (!d->rs1)
            x = XF(LI);
        else if (!d->imm)
            x = XF(MV);
        break;
    case OP_ADD:
        if (!d->rs1) {
            x = XF(MV);
            d->rs1 = d->rs2;
        } else if (!d->rs2) {
            x = XF(MV);
        }
        break;
    }
#undef XF
    if (x == XOP_UNDEC) /* not produced by rv_decode */
        x = c ? XOPC_ILLEGAL : XOP_ILLEGAL;
    d->xop = (uint16_t)x;
    d->aux = delta;
}

/* The plain form of an xop: XOP_<op> of its own op; for a pair, of its
 * first instruction. */
static const uint16_t xkind[XOP__COUNT] = {
#define RV_XK4(n) [XOP_##n] = XOP_##n,
#define RV_XKC(n) [XOPC_##n] = XOP_##n,
#define RV_XKP(a, b)                                                           \
    [XOP_P_##a##_##b] = XOP_##a, [XOP_P_##a##_##b + 1] = XOP_##a,              \
    [XOP_P_##a##_##b + 2] = XOP_##a, [XOP_P_##a##_##b + 3] = XOP_##a,
    RV_OPS(RV_XK4) RV_COPS(RV_XKC) RV_XOPS(RV_XK4) RV_XOPS(RV_XKC) RV_PAIRS(RV_XKP)
#undef RV_XK4
#undef RV_XKC
#undef RV_XKP
};

/* The pair handler for plain forms a then b (first of its four), or 0. */
static unsigned pair_xop(unsigned a, unsigned b)
{
#define RV_PAIR_IF(pa, pb)                                                     \
    if (a == XOP_##pa && b == XOP_##pb)                                        \
        return XOP_P_##pa##_##pb;
    RV_PAIRS(RV_PAIR_IF)
#undef RV_PAIR_IF
    return 0;
}

/* Fuse slot s with the instruction after it when RV_PAIRS has the pair.
 * Each slot decides on its own: executing the pair skips the second slot,
 * which keeps its own handler for jumps that land on it. */
static void fuse(struct dinsn *base, unsigned s)
{
    struct dinsn *d = &base[s];
    unsigned t = s + ((d->op & OP_C) ? 1 : 2);
    if (t >= DP_SLOTS)
        return;
    unsigned px = pair_xop(xkind[d->xop], xkind[base[t].xop]);
    if (px)
        d->xop = (uint16_t)(px + ((d->op & OP_C) ? 2 : 0) + ((base[t].op & OP_C) ? 1 : 0));
}

/* Decode the run that starts at slot s0 of a page whose bytes are at host:
 * every slot up to the next run end, the page end, or a slot that is
 * already decoded (whose run continues this one), then set `run` of the
 * new slots. A 32-bit instruction in the last slot becomes OP_CROSS, with
 * run 0: it is executed from the temp slots, which count it. */
static void decode_run(struct dinsn *base, const uint8_t *host, unsigned s0)
{
    unsigned s = s0, cnt = 0, tail = 0;
    while (s < DP_SLOTS) {
        struct dinsn *d = &base[s];
        if (d->op != OP_UNDEC) {
            tail = d->run;
            break;
        }
        unsigned off = s << 1;
        uint16_t lo;
        memcpy(&lo, host + off, 2);
        if ((lo & 3) == 3) {
            if (off == PG_SIZE - 2) {
                d->op = OP_CROSS;
                d->xop = XOP_CROSS;
                d->run = 0;
                break;
            }
            uint32_t insn;
            memcpy(&insn, host + off, 4);
            rv_decode(insn, d);
        } else {
            rv_decode(lo, d);
        }
        finish_decode(d, (int)s);
        cnt++;
        if (ends_run(d->op))
            break;
        s += (d->op & OP_C) ? 1 : 2;
    }
    unsigned r = cnt + tail;
    s = s0;
    for (unsigned i = 0; i < cnt; i++) {
        base[s].run = (uint16_t)r--;
        fuse(base, s);
        s += (base[s].op & OP_C) ? 1 : 2;
    }
}

/* ---- the run loop -------------------------------------------------------- */

static int run(struct rv_hart *h, int64_t left)
{
    struct rv_hart_priv *p = h->p;
    uint64_t *const x = h->x;
    struct dinsn *d = NULL, *base = NULL;
    uint8_t *host = NULL;
    uint64_t page_va = 0, cur_vpn = 0;
    struct tlbe *tlb_r = NULL, *tlb_w = NULL;
    int64_t n = 0, n0 = 0;

    /* Handlers by xop: L_<op> for the 32-bit form, Lc_<op> for the 16-bit
     * one, so that the hot handlers know their length at compile time: the
     * next slot then does not depend on a loaded byte, which keeps a load
     * off the dispatch critical path. */
    static const void *const labels[XOP__COUNT] = {
#define RV_LABEL4(n) [XOP_##n] = &&L_##n,
#define RV_LABELC(n) [XOPC_##n] = &&Lc_##n,
#define RV_LABELP(a, b)                                                        \
        [XOP_P_##a##_##b] = &&LP_##a##_##b##_44, [XOP_P_##a##_##b + 1] = &&LP_##a##_##b##_42, \
        [XOP_P_##a##_##b + 2] = &&LP_##a##_##b##_24, [XOP_P_##a##_##b + 3] = &&LP_##a##_##b##_22,
        RV_OPS(RV_LABEL4) RV_COPS(RV_LABELC) RV_XOPS(RV_LABEL4) RV_XOPS(RV_LABELC)
        RV_PAIRS(RV_LABELP)
#undef RV_LABEL4
#undef RV_LABELC
#undef RV_LABELP
    };

#define DISPATCH() goto *labels[d->xop]
#define PC() (page_va + ((uint64_t)(d - base) << 1))
/* length of the current instruction, read from the slot (cold handlers) */
#define DLEN() ((d->op & OP_C) ? 2u : 4u)
/* Instruction counting: n is the chunk's budget left, charged with a
 * whole run (d->run) when the run is entered, so within a run the
 * instructions retired since n0 are n0 - n - d->run. NEXT stays in the
 * run; ENTER starts the run at d (budget check, charge, dispatch). */
#define NEXT()                                                                 \
    do {                                                                       \
        d += IL / 2;                                                           \
        DISPATCH();                                                            \
    } while (0)
#define ENTER()                                                                \
    do {                                                                       \
        if (unlikely(n <= 0))                                                  \
            goto chunk_end;                                                    \
        n -= d->run;                                                           \
        DISPATCH();                                                            \
    } while (0)
/* not-taken branch: the next slot starts a run */
#define FALLTHROUGH()                                                          \
    do {                                                                       \
        d += IL / 2;                                                           \
        ENTER();                                                               \
    } while (0)
#define JUMP(target)                                                           \
    do {                                                                       \
        uint64_t t_ = (target);                                                \
        if (likely((t_ >> PG_SHIFT) == cur_vpn)) {                             \
            d = base + ((t_ & (PG_SIZE - 1)) >> 1);                            \
            ENTER();                                                           \
        }                                                                      \
        h->pc = t_;                                                            \
        goto lookup;                                                           \
    } while (0)
/* Retire the current instruction and leave the block: give back the
 * charge for the rest of the run. */
#define END_BLOCK(label)                                                       \
    do {                                                                       \
        n += d->run - 1;                                                       \
        d += IL / 2;                                                           \
        h->pc = PC();                                                          \
        goto label;                                                            \
    } while (0)
/* Make h->pc and h->instret exact before the current instruction (which
 * may trap or read instret); afterwards n0 - n - d->run is 0. A trap then
 * goes to `trapped`, which gives back the rest of the run. */
#define SYNC()                                                                 \
    do {                                                                       \
        int64_t k_ = n0 - n - d->run;                                          \
        h->pc = PC();                                                          \
        h->instret += (uint64_t)k_;                                            \
        left -= k_;                                                            \
        n0 = n + d->run;                                                       \
    } while (0)
/* Handlers (every body ends in a goto). H4: an op without a 16-bit form.
 * H2: one instance per length (IL is a constant). H1: both lengths share
 * one instance (IL read from the slot), for cold ops. */
#define H4(name, ...) L_##name : { enum { IL = 4 }; __VA_ARGS__ }
#define H2(name, ...)                                                          \
    L_##name : { enum { IL = 4 }; __VA_ARGS__ }                                \
    Lc_##name : { enum { IL = 2 }; __VA_ARGS__ }
#define H1(name, ...)                                                          \
    L_##name : Lc_##name : { const unsigned IL = DLEN(); (void)IL; __VA_ARGS__ }
#define RD (d->rd)
#define RS1 (x[d->rs1])
#define RS2 (x[d->rs2])
#define IMM ((int64_t)d->imm)

    goto irq_check;

chunk_end:
    h->pc = PC();
irq_check:
    h->instret += (uint64_t)(n0 - n);
    left -= n0 - n;
    n0 = n = 0;
    if (unlikely(atomic_load_explicit(&h->exit_request, memory_order_relaxed))) {
        atomic_store(&h->exit_request, 0);
        return RV_EXIT_REQUEST;
    }
    if (unlikely(atomic_load_explicit(&h->flush_request, memory_order_relaxed)))
        serve_flush(h);
    if (h->instret >= p->next_timer_check) {
        rv_update_timers(h);
        p->next_timer_check = h->instret + CHUNK;
    }
    rv_check_interrupts(h);
    if (left <= 0)
        return RV_EXIT_BUDGET;
    n = n0 = left < CHUNK ? left : CHUNK;

lookup: {
    if (unlikely(n <= 0 ||
                 (atomic_load_explicit(&h->flush_request, memory_order_relaxed) |
                  atomic_load_explicit(&h->exit_request, memory_order_relaxed))))
        goto irq_check;
    uint64_t pc = h->pc;
    struct tlbe *fe = &p->tlb[p->fidx][ACC_X][(pc >> PG_SHIFT) & TLB_MASK];
    struct dpage *dp;
    if (likely(fe->tag == (pc & PG_MASK) && fe->dp)) {
        dp = fe->dp;
        if (unlikely(dp->epoch != p->epoch ||
                     dp->gen != atomic_load_explicit(dp->genp, memory_order_relaxed)))
            dp_reset(h, dp);
    } else {
        fe = rv_fetch_resolve(h, pc);
        if (!fe)
            goto trap_charge; /* fetch fault taken */
        p->code_host_stale = false;   /* host is taken from fe below */
        _Atomic uint32_t *w;
        if ((fe->tag & TLB_F_IO) || !(w = rv_codemap_word(h->codemap, fe->pa)) ||
            !(dp = dp_get(h, fe->pa, w)))
            goto step_slow;
        fe->dp = dp;
    }
    base = dp->slot;
    page_va = pc & PG_MASK;
    cur_vpn = pc >> PG_SHIFT;
    host = (uint8_t *)(fe->addend + (uintptr_t)page_va);
    tlb_r = p->tlb[p->didx][ACC_R];
    tlb_w = p->tlb[p->didx][ACC_W];
    d = base + ((pc & (PG_SIZE - 1)) >> 1);
    n -= d->run;
    DISPATCH();
}

step_slow: {
    uint64_t pc = h->pc;
    uint16_t lo, hi = 0;
    if (rv_fetch16_slow(h, pc, &lo))
        goto trap_charge;
    if ((lo & 3) == 3 && rv_fetch16_slow(h, pc + 2, &hi))
        goto trap_charge;
    uint32_t insn = (uint32_t)hi << 16 | lo;
    p->tmp_raw = (lo & 3) == 3 ? insn : lo;
    rv_decode(insn, &p->tmp[0]);
    finish_decode(&p->tmp[0], -1);
    p->tmp[0].run = 1;
    p->tmp[1].op = p->tmp[2].op = OP_TEMP_END;
    p->tmp[1].xop = p->tmp[2].xop = XOP_TEMP_END;
    p->tmp[1].run = p->tmp[2].run = 0;
    base = p->tmp;
    page_va = pc;
    cur_vpn = ~0ull;
    host = NULL;
    tlb_r = p->tlb[p->didx][ACC_R];
    tlb_w = p->tlb[p->didx][ACC_W];
    d = base;
    n -= d->run;
    DISPATCH();
}

trapped:
    n = n0; /* SYNC was done at the trapping instruction */
    /* A trap retires nothing but must still use up budget: a guest whose
     * trap handler traps again (or whose mtvec is unmapped) would otherwise
     * never return from rv_hart_run, and its worker could not be
     * preempted. */
trap_charge:
    if (--left <= 0)
        goto irq_check;
    goto lookup;

illegal: {
    SYNC();
    if (unlikely(host && p->code_host_stale)) {
        /* host may reach a frame no longer mapped (copy-on-write flush
         * mid-block): look the page up again and redo the instruction. */
        p->code_host_stale = false;
        n = n0;
        goto lookup;
    }
    uint64_t raw;
    if (host) {
        uint32_t w = 0;
        memcpy(&w, host + ((d - base) << 1), DLEN());
        raw = w;
    } else {
        raw = p->tmp_raw;
    }
    h->pc = PC();
    rv_take_trap(h, EXC_ILLEGAL, raw);
    goto trapped;
}

/* Only reached when a run is entered (decode_run decodes whole runs), so
 * the run was charged 0: charge it now. A copy-on-write flush earlier in
 * the block may have left host reaching a frame that is no longer this
 * machine's: then look the page up again first (the dpage stays, as it is
 * per guest-physical page). */
H4(UNDEC, {
    if (unlikely(p->code_host_stale)) {
        p->code_host_stale = false;
        h->pc = PC();
        goto lookup;
    }
    decode_run(base, host, (unsigned)(d - base));
    n -= d->run;
    DISPATCH();
})
H4(CROSS, h->pc = PC(); goto step_slow;)
H4(PAGE_END, h->pc = PC(); goto lookup;)
H4(TEMP_END, h->pc = PC(); goto lookup;)
H1(ILLEGAL, SYNC(); rv_take_trap(h, EXC_ILLEGAL, (uint32_t)d->imm); goto trapped;)
H2(NOP, NEXT();)

    /* ---- RV64I ---- */
#define E_LUI x[RD] = (uint64_t)IMM;
H2(LUI, E_LUI NEXT();)
#define E_AUIPC x[RD] = PC() + (uint64_t)IMM;
H4(AUIPC, E_AUIPC NEXT();)
/* rd != 0 here: rd = 0 forms are J / JR */
H2(JAL, {
    uint64_t pc = PC();
    x[RD] = pc + IL;
    JUMP(pc + (uint64_t)IMM);
})
H2(JALR, {
    uint64_t pc = PC();
    uint64_t t = (RS1 + (uint64_t)IMM) & ~1ull;
    x[RD] = pc + IL;
    JUMP(t);
})
H2(J, JUMP(PC() + (uint64_t)IMM);)
H2(JR, JUMP((RS1 + (uint64_t)IMM) & ~1ull);)
/* in-page forms: aux = target slot - this slot */
H2(JAL_L, x[RD] = PC() + IL; d += d->aux; ENTER();)
H2(J_L, d += d->aux; ENTER();)
#define BRANCH_L(cond)                                                         \
    do {                                                                       \
        if (cond) {                                                            \
            d += d->aux;                                                       \
            ENTER();                                                           \
        }                                                                      \
        FALLTHROUGH();                                                         \
    } while (0)
H2(BEQ_L, BRANCH_L(RS1 == RS2);)
H2(BNE_L, BRANCH_L(RS1 != RS2);)
H2(BLT_L, BRANCH_L((int64_t)RS1 < (int64_t)RS2);)
H2(BGE_L, BRANCH_L((int64_t)RS1 >= (int64_t)RS2);)
H2(BLTU_L, BRANCH_L(RS1 < RS2);)
H2(BGEU_L, BRANCH_L(RS1 >= RS2);)
H2(BEQ, if (RS1 == RS2) JUMP(PC() + (uint64_t)IMM); FALLTHROUGH();)
H2(BNE, if (RS1 != RS2) JUMP(PC() + (uint64_t)IMM); FALLTHROUGH();)
H4(BLT, if ((int64_t)RS1 < (int64_t)RS2) JUMP(PC() + (uint64_t)IMM); FALLTHROUGH();)
H4(BGE, if ((int64_t)RS1 >= (int64_t)RS2) JUMP(PC() + (uint64_t)IMM); FALLTHROUGH();)
H4(BLTU, if (RS1 < RS2) JUMP(PC() + (uint64_t)IMM); FALLTHROUGH();)
H4(BGEU, if (RS1 >= RS2) JUMP(PC() + (uint64_t)IMM); FALLTHROUGH();)

#define LOAD_E(T, SZ)                                                          \
    {                                                                          \
        uint64_t va = RS1 + (uint64_t)IMM;                                     \
        struct tlbe *e = &tlb_r[(va >> PG_SHIFT) & TLB_MASK];                  \
        if (likely(e->tag == (va & (PG_MASK | (SZ - 1))))) {                   \
            T v;                                                               \
            memcpy(&v, (void *)(e->addend + (uintptr_t)va), SZ);               \
            x[RD] = (uint64_t)(int64_t)v;                                      \
        } else {                                                               \
            uint64_t v;                                                        \
            SYNC();                                                            \
            if (rv_load_slow(h, va, SZ, &v))                                   \
                goto trapped;                                                  \
            x[RD] = (uint64_t)(int64_t)(T)v;                                   \
        }                                                                      \
    }
#define E_LB LOAD_E(int8_t, 1)
H4(LB, E_LB NEXT();)
#define E_LH LOAD_E(int16_t, 2)
H4(LH, E_LH NEXT();)
#define E_LW LOAD_E(int32_t, 4)
H2(LW, E_LW NEXT();)
#define E_LD LOAD_E(int64_t, 8)
H2(LD, E_LD NEXT();)
#define E_LBU LOAD_E(uint8_t, 1)
H4(LBU, E_LBU NEXT();)
#define E_LHU LOAD_E(uint16_t, 2)
H4(LHU, E_LHU NEXT();)
#define E_LWU LOAD_E(uint32_t, 4)
H4(LWU, E_LWU NEXT();)

#define STORE(T, SZ, VAL) STORE_E(T, SZ, VAL) NEXT();
#define STORE_E(T, SZ, VAL)                                                    \
    {                                                                          \
        uint64_t va = RS1 + (uint64_t)IMM;                                     \
        struct tlbe *e = &tlb_w[(va >> PG_SHIFT) & TLB_MASK];                  \
        T v = (T)(VAL);                                                        \
        if (likely(e->tag == (va & (PG_MASK | (SZ - 1))))) {                   \
            memcpy((void *)(e->addend + (uintptr_t)va), &v, SZ);               \
        } else {                                                               \
            SYNC();                                                            \
            int r_ = rv_store_slow(h, va, SZ, (uint64_t)v);                    \
            if (r_ < 0)                                                        \
                goto trapped;                                                  \
            if (r_ > 0)                                                        \
                END_BLOCK(lookup);                                             \
        }                                                                      \
    }
/* a load into x0: the access happens (it may trap or be MMIO), the value
 * is dropped */
H1(LOAD_X0, {
    static const uint8_t size[8] = {
        [OP_LB - OP_LB] = 1, [OP_LH - OP_LB] = 2, [OP_LW - OP_LB] = 4, [OP_LD - OP_LB] = 8,
        [OP_LBU - OP_LB] = 1, [OP_LHU - OP_LB] = 2, [OP_LWU - OP_LB] = 4};
    unsigned sz = size[(d->op & ~OP_C) - OP_LB];
    uint64_t va = RS1 + (uint64_t)IMM, v;
    SYNC();
    if (rv_load_slow(h, va, sz, &v))
        goto trapped;
    NEXT();
})

#define E_SB STORE_E(uint8_t, 1, RS2)
H4(SB, E_SB NEXT();)
#define E_SH STORE_E(uint16_t, 2, RS2)
H4(SH, E_SH NEXT();)
#define E_SW STORE_E(uint32_t, 4, RS2)
H2(SW, E_SW NEXT();)
#define E_SD STORE_E(uint64_t, 8, RS2)
H2(SD, E_SD NEXT();)

#define E_ADDI x[RD] = RS1 + (uint64_t)IMM;
H2(ADDI, E_ADDI NEXT();)
#define E_LI x[RD] = (uint64_t)IMM;
H2(LI, E_LI NEXT();)
#define E_MV x[RD] = RS1;
H2(MV, E_MV NEXT();)
#define E_SLTI x[RD] = (int64_t)RS1 < IMM;
H4(SLTI, E_SLTI NEXT();)
#define E_SLTIU x[RD] = RS1 < (uint64_t)IMM;
H4(SLTIU, E_SLTIU NEXT();)
#define E_XORI x[RD] = RS1 ^ (uint64_t)IMM;
H4(XORI, E_XORI NEXT();)
#define E_ORI x[RD] = RS1 | (uint64_t)IMM;
H4(ORI, E_ORI NEXT();)
#define E_ANDI x[RD] = RS1 & (uint64_t)IMM;
H2(ANDI, E_ANDI NEXT();)
#define E_SLLI x[RD] = RS1 << (d->imm & 63);
H2(SLLI, E_SLLI NEXT();)
#define E_SRLI x[RD] = RS1 >> (d->imm & 63);
H2(SRLI, E_SRLI NEXT();)
#define E_SRAI x[RD] = (uint64_t)((int64_t)RS1 >> (d->imm & 63));
H2(SRAI, E_SRAI NEXT();)
#define E_ADD x[RD] = RS1 + RS2;
H2(ADD, E_ADD NEXT();)
#define E_SUB x[RD] = RS1 - RS2;
H2(SUB, E_SUB NEXT();)
#define E_SLL x[RD] = RS1 << (RS2 & 63);
H4(SLL, E_SLL NEXT();)
#define E_SLT x[RD] = (int64_t)RS1 < (int64_t)RS2;
H4(SLT, E_SLT NEXT();)
#define E_SLTU x[RD] = RS1 < RS2;
H4(SLTU, E_SLTU NEXT();)
#define E_XOR x[RD] = RS1 ^ RS2;
H2(XOR, E_XOR NEXT();)
#define E_SRL x[RD] = RS1 >> (RS2 & 63);
H4(SRL, E_SRL NEXT();)
#define E_SRA x[RD] = (uint64_t)((int64_t)RS1 >> (RS2 & 63));
H4(SRA, E_SRA NEXT();)
#define E_OR x[RD] = RS1 | RS2;
H2(OR, E_OR NEXT();)
#define E_AND x[RD] = RS1 & RS2;
H2(AND, E_AND NEXT();)
#define SX32(v) ((uint64_t)(int64_t)(int32_t)(uint32_t)(v))
#define E_ADDIW x[RD] = SX32(RS1 + (uint64_t)IMM);
H2(ADDIW, E_ADDIW NEXT();)
#define E_SLLIW x[RD] = SX32((uint32_t)RS1 << (d->imm & 31));
H4(SLLIW, E_SLLIW NEXT();)
#define E_SRLIW x[RD] = SX32((uint32_t)RS1 >> (d->imm & 31));
H4(SRLIW, E_SRLIW NEXT();)
#define E_SRAIW x[RD] = (uint64_t)(int64_t)((int32_t)(uint32_t)RS1 >> (d->imm & 31));
H4(SRAIW, E_SRAIW NEXT();)
#define E_ADDW x[RD] = SX32(RS1 + RS2);
H2(ADDW, E_ADDW NEXT();)
#define E_SUBW x[RD] = SX32(RS1 - RS2);
H2(SUBW, E_SUBW NEXT();)
#define E_SLLW x[RD] = SX32((uint32_t)RS1 << (RS2 & 31));
H4(SLLW, E_SLLW NEXT();)
#define E_SRLW x[RD] = SX32((uint32_t)RS1 >> (RS2 & 31));
H4(SRLW, E_SRLW NEXT();)
#define E_SRAW x[RD] = (uint64_t)(int64_t)((int32_t)(uint32_t)RS1 >> (RS2 & 31));
H4(SRAW, E_SRAW NEXT();)

    /* ---- pairs (RV_PAIRS): both instructions, one dispatch. d points at
     * the instruction being executed, so traps, SYNC and END_BLOCK in the
     * second one see it as usual. ---- */
#define PAIR_BODY(A, LA, B, LB)                                                \
    {                                                                          \
        {                                                                      \
            enum { IL = LA };                                                  \
            E_##A                                                              \
        }                                                                      \
        d += LA / 2;                                                           \
        {                                                                      \
            enum { IL = LB };                                                  \
            E_##B                                                              \
        }                                                                      \
        d += LB / 2;                                                           \
        DISPATCH();                                                            \
    }
#define PAIR_HANDLERS(A, B)                                                    \
    LP_##A##_##B##_44 : PAIR_BODY(A, 4, B, 4)                                  \
    LP_##A##_##B##_42 : PAIR_BODY(A, 4, B, 2)                                  \
    LP_##A##_##B##_24 : PAIR_BODY(A, 2, B, 4)                                  \
    LP_##A##_##B##_22 : PAIR_BODY(A, 2, B, 2)
    RV_PAIRS(PAIR_HANDLERS)
#undef PAIR_HANDLERS
#undef PAIR_BODY

    /* ---- M ---- */
H4(MUL, x[RD] = RS1 * RS2; NEXT();)
H4(MULH, x[RD] = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64); NEXT();)
H4(MULHSU, x[RD] = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)RS2) >> 64); NEXT();)
H4(MULHU, x[RD] = (uint64_t)(((unsigned __int128)RS1 * RS2) >> 64); NEXT();)
H4(DIV, {
    int64_t a = (int64_t)RS1, b = (int64_t)RS2;
    x[RD] = b == 0 ? ~0ull : (a == INT64_MIN && b == -1) ? (uint64_t)a : (uint64_t)(a / b);
    NEXT();
})
H4(DIVU, { uint64_t a = RS1, b = RS2; x[RD] = b == 0 ? ~0ull : a / b; NEXT(); })
H4(REM, {
    int64_t a = (int64_t)RS1, b = (int64_t)RS2;
    x[RD] = b == 0 ? (uint64_t)a : (a == INT64_MIN && b == -1) ? 0 : (uint64_t)(a % b);
    NEXT();
})
H4(REMU, { uint64_t a = RS1, b = RS2; x[RD] = b == 0 ? a : a % b; NEXT(); })
H4(MULW, x[RD] = SX32((uint32_t)RS1 * (uint32_t)RS2); NEXT();)
H4(DIVW, {
    int32_t a = (int32_t)(uint32_t)RS1, b = (int32_t)(uint32_t)RS2;
    x[RD] = b == 0 ? ~0ull : (a == INT32_MIN && b == -1) ? SX32(a) : SX32(a / b);
    NEXT();
})
H4(DIVUW, {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    x[RD] = b == 0 ? ~0ull : SX32(a / b);
    NEXT();
})
H4(REMW, {
    int32_t a = (int32_t)(uint32_t)RS1, b = (int32_t)(uint32_t)RS2;
    x[RD] = b == 0 ? SX32(a) : (a == INT32_MIN && b == -1) ? 0 : SX32(a % b);
    NEXT();
})
H4(REMUW, {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    x[RD] = b == 0 ? SX32(a) : SX32(a % b);
    NEXT();
})

    /* ---- Zba / Zbb / Zbs ---- */
H4(SH1ADD, x[RD] = (RS1 << 1) + RS2; NEXT();)
H4(SH2ADD, x[RD] = (RS1 << 2) + RS2; NEXT();)
H4(SH3ADD, x[RD] = (RS1 << 3) + RS2; NEXT();)
H4(ADD_UW, x[RD] = (uint64_t)(uint32_t)RS1 + RS2; NEXT();)
H4(SH1ADD_UW, x[RD] = ((uint64_t)(uint32_t)RS1 << 1) + RS2; NEXT();)
H4(SH2ADD_UW, x[RD] = ((uint64_t)(uint32_t)RS1 << 2) + RS2; NEXT();)
H4(SH3ADD_UW, x[RD] = ((uint64_t)(uint32_t)RS1 << 3) + RS2; NEXT();)
H4(SLLI_UW, x[RD] = (uint64_t)(uint32_t)RS1 << (d->imm & 63); NEXT();)
H4(ANDN, x[RD] = RS1 & ~RS2; NEXT();)
H4(ORN, x[RD] = RS1 | ~RS2; NEXT();)
H4(XNOR, x[RD] = ~(RS1 ^ RS2); NEXT();)
H4(MAX, x[RD] = (int64_t)RS1 > (int64_t)RS2 ? RS1 : RS2; NEXT();)
H4(MAXU, x[RD] = RS1 > RS2 ? RS1 : RS2; NEXT();)
H4(MIN, x[RD] = (int64_t)RS1 < (int64_t)RS2 ? RS1 : RS2; NEXT();)
H4(MINU, x[RD] = RS1 < RS2 ? RS1 : RS2; NEXT();)
#define ROL64(v, s) (((s) & 63) ? ((v) << ((s) & 63)) | ((v) >> (64 - ((s) & 63))) : (v))
#define ROR64(v, s) (((s) & 63) ? ((v) >> ((s) & 63)) | ((v) << (64 - ((s) & 63))) : (v))
#define ROL32(v, s) (((s) & 31) ? ((v) << ((s) & 31)) | ((v) >> (32 - ((s) & 31))) : (v))
#define ROR32(v, s) (((s) & 31) ? ((v) >> ((s) & 31)) | ((v) << (32 - ((s) & 31))) : (v))
H4(ROL, { uint64_t a = RS1, s = RS2; x[RD] = ROL64(a, s); NEXT(); })
H4(ROR, { uint64_t a = RS1, s = RS2; x[RD] = ROR64(a, s); NEXT(); })
H4(RORI, { uint64_t a = RS1, s = (uint64_t)d->imm; x[RD] = ROR64(a, s); NEXT(); })
H4(ROLW, { uint32_t a = (uint32_t)RS1, s = (uint32_t)RS2; x[RD] = SX32(ROL32(a, s)); NEXT(); })
H4(RORW, { uint32_t a = (uint32_t)RS1, s = (uint32_t)RS2; x[RD] = SX32(ROR32(a, s)); NEXT(); })
H4(RORIW, { uint32_t a = (uint32_t)RS1, s = (uint32_t)d->imm; x[RD] = SX32(ROR32(a, s)); NEXT(); })
H4(ZBB_UN, {
    uint64_t a = RS1, r = 0;
    switch (d->imm) {
    case ZB_CLZ: r = a ? (uint64_t)__builtin_clzll(a) : 64; break;
    case ZB_CTZ: r = a ? (uint64_t)__builtin_ctzll(a) : 64; break;
    case ZB_CPOP: r = (uint64_t)__builtin_popcountll(a); break;
    case ZB_CLZW: r = (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32; break;
    case ZB_CTZW: r = (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32; break;
    case ZB_CPOPW: r = (uint64_t)__builtin_popcount((uint32_t)a); break;
    case ZB_SEXTB: r = (uint64_t)(int64_t)(int8_t)(uint8_t)a; break;
    case ZB_SEXTH: r = (uint64_t)(int64_t)(int16_t)(uint16_t)a; break;
    case ZB_ZEXTH: r = (uint16_t)a; break;
    case ZB_ORCB:
        for (int i = 0; i < 64; i += 8)
            if ((a >> i) & 0xff)
                r |= 0xffull << i;
        break;
    case ZB_REV8: r = __builtin_bswap64(a); break;
    }
    x[RD] = r;
    NEXT();
})
H4(BCLR, x[RD] = RS1 & ~(1ull << (RS2 & 63)); NEXT();)
H4(BCLRI, x[RD] = RS1 & ~(1ull << (d->imm & 63)); NEXT();)
H4(BEXT, x[RD] = (RS1 >> (RS2 & 63)) & 1; NEXT();)
H4(BEXTI, x[RD] = (RS1 >> (d->imm & 63)) & 1; NEXT();)
H4(BINV, x[RD] = RS1 ^ (1ull << (RS2 & 63)); NEXT();)
H4(BINVI, x[RD] = RS1 ^ (1ull << (d->imm & 63)); NEXT();)
H4(BSET, x[RD] = RS1 | (1ull << (RS2 & 63)); NEXT();)
H4(BSETI, x[RD] = RS1 | (1ull << (d->imm & 63)); NEXT();)

    /* ---- system ---- */
H4(FENCE_I, rv_icache_flush(h); END_BLOCK(lookup);)
H4(ECALL, {
    SYNC();
    if (h->priv == RV_PRIV_S && h->builtin_sbi && h->bus.sbi_call) {
        if (h->bus.sbi_call(h->bus.ctx, h)) {
            x[0] = 0;
            END_BLOCK(irq_check);
        }
    }
    rv_take_trap(h, (uint64_t)(EXC_ECALL_U + h->priv), 0);
    goto trapped;
})
H1(EBREAK, {
    SYNC();
    rv_take_trap(h, EXC_BREAKPOINT, h->pc);
    goto trapped;
})
H4(MRET, {
    if (h->priv != RV_PRIV_M)
        goto illegal;
    n += d->run - 1;
    rv_do_mret(h);
    goto irq_check;
})
H4(SRET, {
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MS_TSR)))
        goto illegal;
    n += d->run - 1;
    rv_do_sret(h);
    goto irq_check;
})
H4(WFI, {
    if (h->priv == RV_PRIV_U || (h->priv < RV_PRIV_M && (h->mstatus & MS_TW)))
        goto illegal;
    n += d->run - 1;
    d += IL / 2;
    h->pc = PC();
    rv_update_timers(h);
    if (rv_mip_read(h) & __atomic_load_n(&p->mie, __ATOMIC_RELAXED))
        goto irq_check;
    h->instret += (uint64_t)(n0 - n);
    return RV_EXIT_WFI;
})
H4(SFENCE_VMA, {
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MS_TVM)))
        goto illegal;
    if (d->rs1)
        rv_tlb_flush_va(h, RS1);
    else
        rv_tlb_flush_vm(h);
    END_BLOCK(lookup);
})
H4(CSR, {
    SYNC();
    int r = rv_csr_insn(h, d);
    if (r < 0)
        goto illegal;
    x[0] = 0;
    if (r > 0)
        END_BLOCK(irq_check);
    NEXT();
})

    /* ---- A ---- */
L_LR_W:
L_LR_D: {
    enum { IL = 4 };
    unsigned sz = (d->op & 0x7f) == OP_LR_W ? 4 : 8;
    uint64_t va = RS1;
    SYNC();
    void *ptr = rv_amo_ptr(h, va, sz, ACC_R, NULL);
    if (!ptr)
        goto trapped;
    uint64_t v;
    if (sz == 4)
        v = (uint64_t)(int64_t)__atomic_load_n((int32_t *)ptr, __ATOMIC_ACQUIRE);
    else
        v = __atomic_load_n((uint64_t *)ptr, __ATOMIC_ACQUIRE);
    p->lr_valid = true;
    p->lr_addr = va;
    p->lr_val = v;
    x[RD] = v;
    x[0] = 0;
    NEXT();
}
L_SC_W:
L_SC_D: {
    enum { IL = 4 };
    unsigned sz = (d->op & 0x7f) == OP_SC_W ? 4 : 8;
    uint64_t va = RS1, val = RS2;
    SYNC();
    if (va & (sz - 1)) {
        rv_take_trap(h, EXC_STORE_MISALIGNED, va);
        goto trapped;
    }
    bool ok = false, code = false;
    if (p->lr_valid && p->lr_addr == va) {
        _Atomic uint32_t *cw;
        void *ptr = rv_amo_ptr(h, va, sz, ACC_W, &cw);
        if (!ptr)
            goto trapped;
        if (sz == 4) {
            uint32_t exp = (uint32_t)p->lr_val;
            ok = __atomic_compare_exchange_n((uint32_t *)ptr, &exp, (uint32_t)val, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        } else {
            uint64_t exp = p->lr_val;
            ok = __atomic_compare_exchange_n((uint64_t *)ptr, &exp, val, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        }
        if (ok && cw)
            code = rv_codemap_note_write(cw);
    }
    p->lr_valid = false;
    x[RD] = ok ? 0 : 1;
    x[0] = 0;
    if (code)
        END_BLOCK(lookup);
    NEXT();
}
L_AMO_W:
L_AMO_D: {
    enum { IL = 4 };
    bool w32 = (d->op & 0x7f) == OP_AMO_W;
    uint64_t va = RS1, b = RS2, old;
    SYNC();
    _Atomic uint32_t *cw;
    void *ptr = rv_amo_ptr(h, va, w32 ? 4 : 8, ACC_W, &cw);
    if (!ptr)
        goto trapped;
    if (w32) {
        uint32_t *q = ptr, bv = (uint32_t)b, o;
        switch (d->imm) {
        case 0x01: o = __atomic_exchange_n(q, bv, __ATOMIC_SEQ_CST); break;
        case 0x00: o = __atomic_fetch_add(q, bv, __ATOMIC_SEQ_CST); break;
        case 0x04: o = __atomic_fetch_xor(q, bv, __ATOMIC_SEQ_CST); break;
        case 0x0c: o = __atomic_fetch_and(q, bv, __ATOMIC_SEQ_CST); break;
        case 0x08: o = __atomic_fetch_or(q, bv, __ATOMIC_SEQ_CST); break;
        default: {
            o = __atomic_load_n(q, __ATOMIC_RELAXED);
            uint32_t nv;
            do {
                int32_t so = (int32_t)o, sb = (int32_t)bv;
                switch (d->imm) {
                case 0x10: nv = so < sb ? o : bv; break;
                case 0x14: nv = so > sb ? o : bv; break;
                case 0x18: nv = o < bv ? o : bv; break;
                default: nv = o > bv ? o : bv; break;
                }
            } while (!__atomic_compare_exchange_n(q, &o, nv, true, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_RELAXED));
        }
        }
        old = SX32(o);
    } else {
        uint64_t *q = ptr, o;
        switch (d->imm) {
        case 0x01: o = __atomic_exchange_n(q, b, __ATOMIC_SEQ_CST); break;
        case 0x00: o = __atomic_fetch_add(q, b, __ATOMIC_SEQ_CST); break;
        case 0x04: o = __atomic_fetch_xor(q, b, __ATOMIC_SEQ_CST); break;
        case 0x0c: o = __atomic_fetch_and(q, b, __ATOMIC_SEQ_CST); break;
        case 0x08: o = __atomic_fetch_or(q, b, __ATOMIC_SEQ_CST); break;
        default: {
            o = __atomic_load_n(q, __ATOMIC_RELAXED);
            uint64_t nv;
            do {
                int64_t so = (int64_t)o, sb = (int64_t)b;
                switch (d->imm) {
                case 0x10: nv = so < sb ? o : b; break;
                case 0x14: nv = so > sb ? o : b; break;
                case 0x18: nv = o < b ? o : b; break;
                default: nv = o > b ? o : b; break;
                }
            } while (!__atomic_compare_exchange_n(q, &o, nv, true, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_RELAXED));
        }
        }
        old = o;
    }
    x[RD] = old;
    x[0] = 0;
    if (cw && rv_codemap_note_write(cw))
        END_BLOCK(lookup);
    NEXT();
}

    /* ---- F/D loads and stores, FP compute ---- */
H4(FLW, {
    if (!(h->mstatus & MS_FS))
        goto illegal;
    uint64_t va = RS1 + (uint64_t)IMM, v;
    struct tlbe *e = &tlb_r[(va >> PG_SHIFT) & TLB_MASK];
    if (likely(e->tag == (va & (PG_MASK | 3)))) {
        uint32_t t;
        memcpy(&t, (void *)(e->addend + (uintptr_t)va), 4);
        v = t;
    } else {
        SYNC();
        if (rv_load_slow(h, va, 4, &v))
            goto trapped;
    }
    h->f[RD] = 0xffffffff00000000ull | (uint32_t)v;
    rv_fs_set_dirty(h);
    NEXT();
})
H2(FLD, {
    if (!(h->mstatus & MS_FS))
        goto illegal;
    uint64_t va = RS1 + (uint64_t)IMM, v;
    struct tlbe *e = &tlb_r[(va >> PG_SHIFT) & TLB_MASK];
    if (likely(e->tag == (va & (PG_MASK | 7)))) {
        memcpy(&v, (void *)(e->addend + (uintptr_t)va), 8);
    } else {
        SYNC();
        if (rv_load_slow(h, va, 8, &v))
            goto trapped;
    }
    h->f[RD] = v;
    rv_fs_set_dirty(h);
    NEXT();
})
H4(FSW, {
    if (!(h->mstatus & MS_FS))
        goto illegal;
    STORE(uint32_t, 4, h->f[d->rs2])
})
H2(FSD, {
    if (!(h->mstatus & MS_FS))
        goto illegal;
    STORE(uint64_t, 8, h->f[d->rs2])
})
H4(FPOP, {
    if (!(h->mstatus & MS_FS))
        goto illegal;
    int r = rv_fpu_exec(h, (uint32_t)d->imm);
    x[0] = 0;
    if (r < 0)
        goto illegal;
    NEXT();
})

#undef DISPATCH
#undef PC
#undef DLEN
#undef NEXT
#undef ENTER
#undef FALLTHROUGH
#undef JUMP
#undef END_BLOCK
#undef SYNC
#undef H1
#undef H2
}

/* ---- public API ----------------------------------------------------------- */

int rv_hart_run(struct rv_hart *h, uint64_t budget)
{
    if (h->fatal_msg[0])
        return RV_EXIT_FATAL;
    if (atomic_load(&h->flush_request))
        serve_flush(h);
    rv_update_timers(h);
    h->p->next_timer_check = h->instret + CHUNK;
    int64_t b = budget > (uint64_t)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)budget;
    return run(h, b);
}

struct rv_hart *rv_hart_new(uint64_t hartid, const struct rv_bus *bus, struct rv_clock *clock,
                            struct rv_codemap *codemap)
{
    struct rv_hart *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->p = calloc(1, sizeof(*h->p));
    if (!h->p) {
        free(h);
        return NULL;
    }
    h->mhartid = hartid;
    h->bus = *bus;
    h->clock = clock;
    h->codemap = codemap;
    atomic_store(&h->mtimecmp, UINT64_MAX);
    if (!rv_codemap_add_hart(codemap, h)) {
        free(h->p);
        free(h);
        return NULL;
    }
    rv_hart_reset(h, 0);
    return h;
}

void rv_hart_free(struct rv_hart *h)
{
    if (!h)
        return;
    rv_codemap_remove_hart(h->codemap, h);
    struct rv_hart_priv *p = h->p;
    dp_flush_all(h);
    dp_release(p);
    free(p);
    free(h);
}

void rv_hart_reset(struct rv_hart *h, uint64_t reset_pc)
{
    struct rv_hart_priv *p = h->p;
    memset(h->x, 0, sizeof(h->x));
    memset(h->f, 0, sizeof(h->f));
    h->pc = reset_pc;
    h->priv = RV_PRIV_M;
    h->builtin_sbi = false;
    h->fatal_msg[0] = 0;
    rv_csr_reset(h);
    atomic_fetch_and(&h->mip, ~(RV_MIP_SSIP | RV_MIP_STIP | RV_MIP_MTIP));
    atomic_store(&p->stimer, UINT64_MAX);
    atomic_store(&h->flush_request, 0); /* everything is flushed below */
    p->lr_valid = false;
    p->epoch++;
    rv_tlb_flush_all(h);
    rv_update_mmu_idx(h);
}

void rv_hart_set_timer(struct rv_hart *h, uint64_t when)
{
    atomic_store(&h->p->stimer, when);
    atomic_fetch_and(&h->mip, ~RV_MIP_STIP);
    if (rv_clock_now(h->clock) >= when)
        atomic_fetch_or(&h->mip, RV_MIP_STIP);
}

void rv_hart_boot_supervisor(struct rv_hart *h, uint64_t entry, uint64_t fdt_addr)
{
    struct rv_hart_priv *p = h->p;
    h->builtin_sbi = true;
    p->medeleg = 0xb3ffull & ~((1ull << EXC_ECALL_S) | (1ull << EXC_ECALL_M));
    p->mideleg = RV_MIP_SSIP | RV_MIP_STIP | RV_MIP_SEIP;
    p->mcounteren = 7;
    p->scounteren = 7; /* as OpenSBI does: Linux 6.1 never sets it, and
                        * user space reads time/cycle/instret (vDSO) */
    p->pmpaddr[0] = (1ull << 54) - 1;
    p->pmpcfg[0] = 0x1f; /* NAPOT, RWX */
    h->priv = RV_PRIV_S;
    h->pc = entry;
    h->x[10] = h->mhartid;
    h->x[11] = fdt_addr;
    rv_update_mmu_idx(h);
}

bool rv_hart_wakeup_pending(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    uint64_t mip = rv_mip_read(h);
    uint64_t mie = __atomic_load_n(&p->mie, __ATOMIC_RELAXED);
    if (mip & mie)
        return true;
    uint64_t now = rv_clock_now(h->clock);
    if ((mie & RV_MIP_MTIP) && now >= atomic_load(&h->mtimecmp))
        return true;
    if (mie & RV_MIP_STIP) {
        uint64_t st = atomic_load(&p->stimer);
        if (st != UINT64_MAX && now >= st)
            return true;
        if ((__atomic_load_n(&p->menvcfg, __ATOMIC_RELAXED) & MENVCFG_STCE) &&
            now >= __atomic_load_n(&p->stimecmp, __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

uint64_t rv_hart_next_timer(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    uint64_t t = atomic_load(&h->mtimecmp);
    uint64_t st = atomic_load(&p->stimer);
    if (st < t)
        t = st;
    if (__atomic_load_n(&p->menvcfg, __ATOMIC_RELAXED) & MENVCFG_STCE) {
        uint64_t sc = __atomic_load_n(&p->stimecmp, __ATOMIC_RELAXED);
        if (sc < t)
            t = sc;
    }
    return t;
}

void rv_hart_flush_tlb(struct rv_hart *h)
{
    atomic_fetch_or(&h->flush_request, FLUSH_TLB);
}

void rv_hart_flush_icache(struct rv_hart *h)
{
    atomic_fetch_or(&h->flush_request, FLUSH_ICACHE);
}

size_t rv_hart_trim(struct rv_hart *h)
{
    struct rv_hart_priv *p = h->p;
    if (!p->dp_chunks)
        return 0;
    /* dp_flush_all without its rv_tlb_flush_fetch: the TLB may be written
     * by another thread right now (rv_hart_reset from an HSM hart_start),
     * so its page pointers are dropped when the hart next runs, before any
     * fetch (rv_hart_run serves flush_request first). */
    memset(p->dp_hash, 0, sizeof(p->dp_hash));
    p->dp_count = 0;
    size_t bytes = dp_release(p);
    atomic_fetch_or(&h->flush_request, FLUSH_DPAGES);
    return bytes;
}

unsigned rv_hart_decoded_pages(const struct rv_hart *h)
{
    return h->p->dp_pages;
}

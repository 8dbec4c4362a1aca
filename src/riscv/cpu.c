/* The hart: lifecycle, decoded-page cache and the run loop.
 *
 * Run loop structure (one function, computed-goto dispatch):
 *   irq_check: account retired instructions, serve exit/flush requests,
 *              take a pending interrupt, start a new chunk of at most CHUNK
 *              instructions (or return RV_EXIT_BUDGET);
 *   lookup:    translate pc through the fetch TLB to a decoded page (the
 *              "block"), then dispatch slot after slot. Leaving the page,
 *              a trap, or anything that changes the execution context
 *              returns to lookup / irq_check.
 * Instructions that are not in a decoded page (a 32-bit instruction that
 * straddles two pages, code in MMIO or in memory the codemap does not
 * cover) are fetched through the MMU, decoded into p->tmp and executed
 * once ("temp mode": in-page jumps are disabled by cur_vpn = ~0). */
#include <stdio.h>
#include <stdlib.h>

#include "riscv/cpu_priv.h"

#define CHUNK 1024 /* instructions between interrupt / timer checks */

/* ---- decoded pages ------------------------------------------------------ */

static void dp_reset(struct rv_hart *h, struct dpage *dp)
{
    memset(dp->slot, 0, sizeof(dp->slot[0]) * DP_SLOTS);
    dp->slot[DP_SLOTS].op = OP_PAGE_END;
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
    struct dpage *dp = p->dp_free;
    if (dp)
        p->dp_free = dp->hnext;
    else if (!(dp = malloc(sizeof(*dp))))
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
    if (f & FLUSH_ICACHE)
        rv_icache_flush(h);
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
    unsigned op_ = 0;

    static const void *const labels[256] = {
#define RV_OP_LABEL(name) [OP_##name] = &&L_##name, [OP_##name | OP_C] = &&L_##name,
        RV_OPS(RV_OP_LABEL)
#undef RV_OP_LABEL
    };

#define DISPATCH()                                                             \
    do {                                                                       \
        op_ = d->op;                                                           \
        goto *labels[op_];                                                     \
    } while (0)
#define PC() (page_va + ((uint64_t)(d - base) << 1))
#define ILEN() (4u - ((op_ >> 7) << 1))
#define ADVANCE() (d += 2 - (op_ >> 7))
#define NEXT()                                                                 \
    do {                                                                       \
        ADVANCE();                                                             \
        if (unlikely(--n <= 0))                                                \
            goto chunk_end;                                                    \
        DISPATCH();                                                            \
    } while (0)
#define JUMP(target)                                                           \
    do {                                                                       \
        uint64_t t_ = (target);                                                \
        if (likely((t_ >> PG_SHIFT) == cur_vpn)) {                             \
            d = base + ((t_ & (PG_SIZE - 1)) >> 1);                            \
            if (unlikely(--n <= 0))                                            \
                goto chunk_end;                                                \
            DISPATCH();                                                        \
        }                                                                      \
        h->pc = t_;                                                            \
        if (unlikely(--n <= 0))                                                \
            goto irq_check;                                                    \
        goto lookup;                                                           \
    } while (0)
/* Retire the current instruction and leave the block. */
#define END_BLOCK(label)                                                       \
    do {                                                                       \
        ADVANCE();                                                             \
        n--;                                                                   \
        h->pc = PC();                                                          \
        goto label;                                                            \
    } while (0)
#define SYNC()                                                                 \
    do {                                                                       \
        h->pc = PC();                                                          \
        h->instret += (uint64_t)(n0 - n);                                      \
        left -= n0 - n;                                                        \
        n0 = n;                                                                \
    } while (0)
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
    if (unlikely(atomic_load_explicit(&h->flush_request, memory_order_relaxed) |
                 atomic_load_explicit(&h->exit_request, memory_order_relaxed)))
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
            goto lookup; /* fetch fault taken */
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
    DISPATCH();
}

step_slow: {
    uint64_t pc = h->pc;
    uint16_t lo, hi = 0;
    if (rv_fetch16_slow(h, pc, &lo))
        goto lookup;
    if ((lo & 3) == 3 && rv_fetch16_slow(h, pc + 2, &hi))
        goto lookup;
    uint32_t insn = (uint32_t)hi << 16 | lo;
    p->tmp_raw = (lo & 3) == 3 ? insn : lo;
    rv_decode(insn, &p->tmp[0]);
    p->tmp[1].op = p->tmp[2].op = OP_TEMP_END;
    base = p->tmp;
    page_va = pc;
    cur_vpn = ~0ull;
    host = NULL;
    tlb_r = p->tlb[p->didx][ACC_R];
    tlb_w = p->tlb[p->didx][ACC_W];
    d = base;
    DISPATCH();
}

trapped:
    goto lookup;

illegal: {
    uint64_t raw;
    if (host) {
        uint32_t w = 0;
        memcpy(&w, host + ((d - base) << 1), ILEN());
        raw = w;
    } else {
        raw = p->tmp_raw;
    }
    h->pc = PC();
    rv_take_trap(h, EXC_ILLEGAL, raw);
    goto trapped;
}

L_UNDEC: {
    unsigned off = (unsigned)(d - base) << 1;
    uint16_t lo;
    memcpy(&lo, host + off, 2);
    if ((lo & 3) == 3) {
        if (off == PG_SIZE - 2) {
            d->op = OP_CROSS;
        } else {
            uint32_t insn;
            memcpy(&insn, host + off, 4);
            rv_decode(insn, d);
        }
    } else {
        rv_decode(lo, d);
    }
    DISPATCH();
}
L_CROSS:
    h->pc = PC();
    goto step_slow;
L_PAGE_END:
L_TEMP_END:
    h->pc = PC();
    goto lookup;
L_ILLEGAL:
    h->pc = PC();
    rv_take_trap(h, EXC_ILLEGAL, (uint32_t)d->imm);
    goto trapped;
L_NOP:
    NEXT();

    /* ---- RV64I ---- */
L_LUI: x[RD] = (uint64_t)IMM; NEXT();
L_AUIPC: x[RD] = PC() + (uint64_t)IMM; NEXT();
L_JAL: {
    uint64_t pc = PC();
    x[RD] = pc + ILEN();
    x[0] = 0;
    JUMP(pc + (uint64_t)IMM);
}
L_JALR: {
    uint64_t pc = PC();
    uint64_t t = (RS1 + (uint64_t)IMM) & ~1ull;
    x[RD] = pc + ILEN();
    x[0] = 0;
    JUMP(t);
}
L_BEQ: if (RS1 == RS2) JUMP(PC() + (uint64_t)IMM); NEXT();
L_BNE: if (RS1 != RS2) JUMP(PC() + (uint64_t)IMM); NEXT();
L_BLT: if ((int64_t)RS1 < (int64_t)RS2) JUMP(PC() + (uint64_t)IMM); NEXT();
L_BGE: if ((int64_t)RS1 >= (int64_t)RS2) JUMP(PC() + (uint64_t)IMM); NEXT();
L_BLTU: if (RS1 < RS2) JUMP(PC() + (uint64_t)IMM); NEXT();
L_BGEU: if (RS1 >= RS2) JUMP(PC() + (uint64_t)IMM); NEXT();

#define LOAD(T, SZ)                                                            \
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
        x[0] = 0;                                                              \
        NEXT();                                                                \
    }
L_LB: LOAD(int8_t, 1)
L_LH: LOAD(int16_t, 2)
L_LW: LOAD(int32_t, 4)
L_LD: LOAD(int64_t, 8)
L_LBU: LOAD(uint8_t, 1)
L_LHU: LOAD(uint16_t, 2)
L_LWU: LOAD(uint32_t, 4)

#define STORE(T, SZ, VAL)                                                      \
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
        NEXT();                                                                \
    }
L_SB: STORE(uint8_t, 1, RS2)
L_SH: STORE(uint16_t, 2, RS2)
L_SW: STORE(uint32_t, 4, RS2)
L_SD: STORE(uint64_t, 8, RS2)

L_ADDI: x[RD] = RS1 + (uint64_t)IMM; NEXT();
L_SLTI: x[RD] = (int64_t)RS1 < IMM; NEXT();
L_SLTIU: x[RD] = RS1 < (uint64_t)IMM; NEXT();
L_XORI: x[RD] = RS1 ^ (uint64_t)IMM; NEXT();
L_ORI: x[RD] = RS1 | (uint64_t)IMM; NEXT();
L_ANDI: x[RD] = RS1 & (uint64_t)IMM; NEXT();
L_SLLI: x[RD] = RS1 << (d->imm & 63); NEXT();
L_SRLI: x[RD] = RS1 >> (d->imm & 63); NEXT();
L_SRAI: x[RD] = (uint64_t)((int64_t)RS1 >> (d->imm & 63)); NEXT();
L_ADD: x[RD] = RS1 + RS2; NEXT();
L_SUB: x[RD] = RS1 - RS2; NEXT();
L_SLL: x[RD] = RS1 << (RS2 & 63); NEXT();
L_SLT: x[RD] = (int64_t)RS1 < (int64_t)RS2; NEXT();
L_SLTU: x[RD] = RS1 < RS2; NEXT();
L_XOR: x[RD] = RS1 ^ RS2; NEXT();
L_SRL: x[RD] = RS1 >> (RS2 & 63); NEXT();
L_SRA: x[RD] = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT();
L_OR: x[RD] = RS1 | RS2; NEXT();
L_AND: x[RD] = RS1 & RS2; NEXT();
#define SX32(v) ((uint64_t)(int64_t)(int32_t)(uint32_t)(v))
L_ADDIW: x[RD] = SX32(RS1 + (uint64_t)IMM); NEXT();
L_SLLIW: x[RD] = SX32((uint32_t)RS1 << (d->imm & 31)); NEXT();
L_SRLIW: x[RD] = SX32((uint32_t)RS1 >> (d->imm & 31)); NEXT();
L_SRAIW: x[RD] = (uint64_t)(int64_t)((int32_t)(uint32_t)RS1 >> (d->imm & 31)); NEXT();
L_ADDW: x[RD] = SX32(RS1 + RS2); NEXT();
L_SUBW: x[RD] = SX32(RS1 - RS2); NEXT();
L_SLLW: x[RD] = SX32((uint32_t)RS1 << (RS2 & 31)); NEXT();
L_SRLW: x[RD] = SX32((uint32_t)RS1 >> (RS2 & 31)); NEXT();
L_SRAW: x[RD] = (uint64_t)(int64_t)((int32_t)(uint32_t)RS1 >> (RS2 & 31)); NEXT();

    /* ---- M ---- */
L_MUL: x[RD] = RS1 * RS2; NEXT();
L_MULH: x[RD] = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64); NEXT();
L_MULHSU: x[RD] = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)RS2) >> 64); NEXT();
L_MULHU: x[RD] = (uint64_t)(((unsigned __int128)RS1 * RS2) >> 64); NEXT();
L_DIV: {
    int64_t a = (int64_t)RS1, b = (int64_t)RS2;
    x[RD] = b == 0 ? ~0ull : (a == INT64_MIN && b == -1) ? (uint64_t)a : (uint64_t)(a / b);
    NEXT();
}
L_DIVU: { uint64_t a = RS1, b = RS2; x[RD] = b == 0 ? ~0ull : a / b; NEXT(); }
L_REM: {
    int64_t a = (int64_t)RS1, b = (int64_t)RS2;
    x[RD] = b == 0 ? (uint64_t)a : (a == INT64_MIN && b == -1) ? 0 : (uint64_t)(a % b);
    NEXT();
}
L_REMU: { uint64_t a = RS1, b = RS2; x[RD] = b == 0 ? a : a % b; NEXT(); }
L_MULW: x[RD] = SX32((uint32_t)RS1 * (uint32_t)RS2); NEXT();
L_DIVW: {
    int32_t a = (int32_t)(uint32_t)RS1, b = (int32_t)(uint32_t)RS2;
    x[RD] = b == 0 ? ~0ull : (a == INT32_MIN && b == -1) ? SX32(a) : SX32(a / b);
    NEXT();
}
L_DIVUW: {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    x[RD] = b == 0 ? ~0ull : SX32(a / b);
    NEXT();
}
L_REMW: {
    int32_t a = (int32_t)(uint32_t)RS1, b = (int32_t)(uint32_t)RS2;
    x[RD] = b == 0 ? SX32(a) : (a == INT32_MIN && b == -1) ? 0 : SX32(a % b);
    NEXT();
}
L_REMUW: {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    x[RD] = b == 0 ? SX32(a) : SX32(a % b);
    NEXT();
}

    /* ---- Zba / Zbb / Zbs ---- */
L_SH1ADD: x[RD] = (RS1 << 1) + RS2; NEXT();
L_SH2ADD: x[RD] = (RS1 << 2) + RS2; NEXT();
L_SH3ADD: x[RD] = (RS1 << 3) + RS2; NEXT();
L_ADD_UW: x[RD] = (uint64_t)(uint32_t)RS1 + RS2; NEXT();
L_SH1ADD_UW: x[RD] = ((uint64_t)(uint32_t)RS1 << 1) + RS2; NEXT();
L_SH2ADD_UW: x[RD] = ((uint64_t)(uint32_t)RS1 << 2) + RS2; NEXT();
L_SH3ADD_UW: x[RD] = ((uint64_t)(uint32_t)RS1 << 3) + RS2; NEXT();
L_SLLI_UW: x[RD] = (uint64_t)(uint32_t)RS1 << (d->imm & 63); NEXT();
L_ANDN: x[RD] = RS1 & ~RS2; NEXT();
L_ORN: x[RD] = RS1 | ~RS2; NEXT();
L_XNOR: x[RD] = ~(RS1 ^ RS2); NEXT();
L_MAX: x[RD] = (int64_t)RS1 > (int64_t)RS2 ? RS1 : RS2; NEXT();
L_MAXU: x[RD] = RS1 > RS2 ? RS1 : RS2; NEXT();
L_MIN: x[RD] = (int64_t)RS1 < (int64_t)RS2 ? RS1 : RS2; NEXT();
L_MINU: x[RD] = RS1 < RS2 ? RS1 : RS2; NEXT();
#define ROL64(v, s) (((s) & 63) ? ((v) << ((s) & 63)) | ((v) >> (64 - ((s) & 63))) : (v))
#define ROR64(v, s) (((s) & 63) ? ((v) >> ((s) & 63)) | ((v) << (64 - ((s) & 63))) : (v))
#define ROL32(v, s) (((s) & 31) ? ((v) << ((s) & 31)) | ((v) >> (32 - ((s) & 31))) : (v))
#define ROR32(v, s) (((s) & 31) ? ((v) >> ((s) & 31)) | ((v) << (32 - ((s) & 31))) : (v))
L_ROL: { uint64_t a = RS1, s = RS2; x[RD] = ROL64(a, s); NEXT(); }
L_ROR: { uint64_t a = RS1, s = RS2; x[RD] = ROR64(a, s); NEXT(); }
L_RORI: { uint64_t a = RS1, s = (uint64_t)d->imm; x[RD] = ROR64(a, s); NEXT(); }
L_ROLW: { uint32_t a = (uint32_t)RS1, s = (uint32_t)RS2; x[RD] = SX32(ROL32(a, s)); NEXT(); }
L_RORW: { uint32_t a = (uint32_t)RS1, s = (uint32_t)RS2; x[RD] = SX32(ROR32(a, s)); NEXT(); }
L_RORIW: { uint32_t a = (uint32_t)RS1, s = (uint32_t)d->imm; x[RD] = SX32(ROR32(a, s)); NEXT(); }
L_ZBB_UN: {
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
}
L_BCLR: x[RD] = RS1 & ~(1ull << (RS2 & 63)); NEXT();
L_BCLRI: x[RD] = RS1 & ~(1ull << (d->imm & 63)); NEXT();
L_BEXT: x[RD] = (RS1 >> (RS2 & 63)) & 1; NEXT();
L_BEXTI: x[RD] = (RS1 >> (d->imm & 63)) & 1; NEXT();
L_BINV: x[RD] = RS1 ^ (1ull << (RS2 & 63)); NEXT();
L_BINVI: x[RD] = RS1 ^ (1ull << (d->imm & 63)); NEXT();
L_BSET: x[RD] = RS1 | (1ull << (RS2 & 63)); NEXT();
L_BSETI: x[RD] = RS1 | (1ull << (d->imm & 63)); NEXT();

    /* ---- system ---- */
L_FENCE_I:
    rv_icache_flush(h);
    END_BLOCK(lookup);
L_ECALL:
    SYNC();
    if (h->priv == RV_PRIV_S && h->builtin_sbi && h->bus.sbi_call) {
        if (h->bus.sbi_call(h->bus.ctx, h)) {
            x[0] = 0;
            END_BLOCK(irq_check);
        }
    }
    rv_take_trap(h, (uint64_t)(EXC_ECALL_U + h->priv), 0);
    goto trapped;
L_EBREAK:
    h->pc = PC();
    rv_take_trap(h, EXC_BREAKPOINT, h->pc);
    goto trapped;
L_MRET:
    if (h->priv != RV_PRIV_M)
        goto illegal;
    n--;
    rv_do_mret(h);
    goto irq_check;
L_SRET:
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MS_TSR)))
        goto illegal;
    n--;
    rv_do_sret(h);
    goto irq_check;
L_WFI:
    if (h->priv == RV_PRIV_U || (h->priv < RV_PRIV_M && (h->mstatus & MS_TW)))
        goto illegal;
    ADVANCE();
    n--;
    h->pc = PC();
    rv_update_timers(h);
    if (rv_mip_read(h) & __atomic_load_n(&p->mie, __ATOMIC_RELAXED))
        goto irq_check;
    h->instret += (uint64_t)(n0 - n);
    return RV_EXIT_WFI;
L_SFENCE_VMA:
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MS_TVM)))
        goto illegal;
    if (d->rs1)
        rv_tlb_flush_va(h, RS1);
    else
        rv_tlb_flush_vm(h);
    END_BLOCK(lookup);
L_CSR: {
    SYNC();
    int r = rv_csr_insn(h, d);
    if (r < 0)
        goto illegal;
    x[0] = 0;
    if (r > 0)
        END_BLOCK(irq_check);
    NEXT();
}

    /* ---- A ---- */
L_LR_W:
L_LR_D: {
    unsigned sz = (op_ & 0x7f) == OP_LR_W ? 4 : 8;
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
    unsigned sz = (op_ & 0x7f) == OP_SC_W ? 4 : 8;
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
    bool w32 = (op_ & 0x7f) == OP_AMO_W;
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
L_FLW: {
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
}
L_FLD: {
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
}
L_FSW:
    if (!(h->mstatus & MS_FS))
        goto illegal;
    STORE(uint32_t, 4, h->f[d->rs2])
L_FSD:
    if (!(h->mstatus & MS_FS))
        goto illegal;
    STORE(uint64_t, 8, h->f[d->rs2])
L_FPOP: {
    if (!(h->mstatus & MS_FS))
        goto illegal;
    int r = rv_fpu_exec(h, (uint32_t)d->imm);
    x[0] = 0;
    if (r < 0)
        goto illegal;
    NEXT();
}

#undef DISPATCH
#undef PC
#undef ILEN
#undef ADVANCE
#undef NEXT
#undef JUMP
#undef END_BLOCK
#undef SYNC
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
    while (p->dp_free) {
        struct dpage *n = p->dp_free->hnext;
        free(p->dp_free);
        p->dp_free = n;
    }
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

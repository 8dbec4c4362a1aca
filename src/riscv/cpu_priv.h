/* Private to src/riscv/: the hart's hidden state, the decoded-instruction
 * format, the software TLB and the helpers shared by cpu.c, decode.c,
 * csr.c, mmu.c, trap.c and codemap.c. Nothing outside riscv/ includes this.
 *
 * Engine outline (see cpu.c for the run loop):
 *  - Code is decoded lazily into per-guest-PHYSICAL-page arrays of 16-byte
 *    `struct dinsn` slots, one slot per 2-byte offset (2048 per page plus a
 *    PAGE_END sentinel). Execution walks a slot pointer through the page
 *    (TinyEMU style); a transfer leaving the page, a trap or a CSR write that
 *    changes the execution context ends the "block" and goes back to the
 *    lookup, which is the natural seam for a later DBT.
 *  - Decoding is done a straight-line "run" at a time (up to and including
 *    the next control transfer), when execution first enters it. Each slot
 *    records how many instructions remain in its run, so instructions are
 *    counted per run (once, when it is entered) instead of one by one, and
 *    h->instret is made exact only where it can be seen (traps, CSRs,
 *    exits). A run is also the unit a later DBT would translate.
 *  - At decode time each slot gets its handler (xop): the 16-bit and the
 *    32-bit form of an op have separate handlers (the slot stride is a
 *    constant), common forms are specialized (in-page branches and jumps
 *    with a precomputed slot delta, li / mv, jumps that do not link), and
 *    listed pairs of adjacent instructions become one handler (RV_PAIRS):
 *    the host's indirect jumps, one per dispatch, are the main cost.
 *  - Software TLB: per hart, per MMU context (M / S / S+SUM / U), separate
 *    read / write / fetch direct-mapped tables caching virtual page -> host
 *    addend. Flag bits in the tag force the slow path (MMIO pages, pages
 *    that hold decoded code).
 *  - rv_codemap: per-RAM-page word, bit 0 "holds decoded code", bits 31:1 a
 *    generation bumped by any write to such a page; decoded pages remember
 *    the word they were decoded under and are redone when it changes. */
#ifndef DISCO_RISCV_CPU_PRIV_H
#define DISCO_RISCV_CPU_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "riscv/hart.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PG_SHIFT 12
#define PG_SIZE (1ull << PG_SHIFT)
#define PG_MASK (~(PG_SIZE - 1))

/* ---- decoded instructions ---------------------------------------------- */
/* Op numbers; bit 7 of dinsn.op marks a 16-bit (compressed) instruction, so
 * at most 128 ops. */
#define RV_OPS(X)                                                              \
    X(UNDEC) X(ILLEGAL) X(NOP) X(PAGE_END) X(CROSS) X(TEMP_END)                \
    X(LUI) X(AUIPC) X(JAL) X(JALR)                                             \
    X(BEQ) X(BNE) X(BLT) X(BGE) X(BLTU) X(BGEU)                                \
    X(LB) X(LH) X(LW) X(LD) X(LBU) X(LHU) X(LWU)                               \
    X(SB) X(SH) X(SW) X(SD)                                                    \
    X(ADDI) X(SLTI) X(SLTIU) X(XORI) X(ORI) X(ANDI) X(SLLI) X(SRLI) X(SRAI)    \
    X(ADD) X(SUB) X(SLL) X(SLT) X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND)      \
    X(ADDIW) X(SLLIW) X(SRLIW) X(SRAIW) X(ADDW) X(SUBW) X(SLLW) X(SRLW)        \
    X(SRAW)                                                                    \
    X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV) X(DIVU) X(REM) X(REMU)            \
    X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW)                                  \
    X(FENCE_I) X(ECALL) X(EBREAK) X(MRET) X(SRET) X(WFI) X(SFENCE_VMA) X(CSR)  \
    X(LR_W) X(LR_D) X(SC_W) X(SC_D) X(AMO_W) X(AMO_D)                          \
    X(FLW) X(FLD) X(FSW) X(FSD) X(FPOP)                                        \
    X(SH1ADD) X(SH2ADD) X(SH3ADD) X(ADD_UW) X(SH1ADD_UW) X(SH2ADD_UW)          \
    X(SH3ADD_UW) X(SLLI_UW)                                                    \
    X(ANDN) X(ORN) X(XNOR) X(MAX) X(MAXU) X(MIN) X(MINU)                       \
    X(ROL) X(ROR) X(RORI) X(ROLW) X(RORW) X(RORIW) X(ZBB_UN)                   \
    X(BCLR) X(BCLRI) X(BEXT) X(BEXTI) X(BINV) X(BINVI) X(BSET) X(BSETI)

enum rv_op {
#define RV_OP_ENUM(n) OP_##n,
    RV_OPS(RV_OP_ENUM)
#undef RV_OP_ENUM
    OP__COUNT
};
#define OP_C 0x80 /* compressed flag */

/* ZBB_UN sub-ops (in imm) */
enum { ZB_CLZ, ZB_CTZ, ZB_CPOP, ZB_CLZW, ZB_CTZW, ZB_CPOPW, ZB_SEXTB, ZB_SEXTH,
       ZB_ZEXTH, ZB_ORCB, ZB_REV8 };

/* The ops that have a 16-bit form (rv_decode may return them | OP_C). */
#define RV_COPS(X)                                                             \
    X(NOP) X(ILLEGAL) X(ADDI) X(ADDIW) X(LUI) X(SLLI) X(SRLI) X(SRAI) X(ANDI)  \
    X(ADD) X(SUB) X(XOR) X(OR) X(AND) X(ADDW) X(SUBW)                          \
    X(LW) X(LD) X(SW) X(SD) X(FLD) X(FSD)                                      \
    X(JAL) X(JALR) X(BEQ) X(BNE) X(EBREAK)

/* Execution-only forms the run loop picks at decode time (cpu.c,
 * finish_decode): in-page branches and jumps (aux = target slot delta),
 * jumps that do not link, li / mv, loads into x0. */
#define RV_XOPS(X)                                                             \
    X(BEQ_L) X(BNE_L) X(BLT_L) X(BGE_L) X(BLTU_L) X(BGEU_L)                    \
    X(JAL_L) X(J_L) X(J) X(JR) X(LI) X(MV) X(LOAD_X0)

/* Superinstructions: an instruction and the next one run by one handler
 * (one dispatch instead of two) when their forms are listed here. Chosen
 * from instruction-pair profiles of the default guest (Linux boot, busybox
 * sha256sum and pipe copies); every listed form has a handler body E_<op>
 * in cpu.c. Only ops that never end a run may appear. */
#define RV_PAIRS(X)                                                            \
    X(OR, XOR) X(SLLIW, SRLIW) X(MV, MV) X(ADDIW, ADDIW) X(ADDW, ADDW)         \
    X(XOR, ADDW) X(SRLIW, SLLIW) X(OR, SRLIW) X(AND, AND) X(OR, SLLIW)         \
    X(SD, SD) X(LW, SRLIW) X(ADDI, ADDI) X(LBU, LBU) X(LD, LD)                 \
    X(ADDIW, ADDW) X(LW, SLLIW) X(SLLI, ADD) X(LW, XOR) X(ADDI, AND)           \
    X(SB, ADDI) X(AUIPC, ADDI) X(SLLI, SRLI) X(ADD, ADD) X(LD, ADDI)           \
    X(SW, ADDI)

/* Handler numbers of the run loop: every op in its 32-bit form (XOP_op),
 * the ops of RV_COPS in their 16-bit form (XOPC_op), both forms of the
 * RV_XOPS, and four per pair (XOP_P_a_b + 2 * (a is 16-bit) + (b is
 * 16-bit)). XOP_UNDEC is 0, so a zeroed slot is "not decoded". */
enum rv_xop {
#define RV_XOP4(n) XOP_##n,
#define RV_XOPC(n) XOPC_##n,
#define RV_XOPP(a, b) XOP_P_##a##_##b, XOP_P_##a##_##b##_1, XOP_P_##a##_##b##_2, \
                      XOP_P_##a##_##b##_3,
    RV_OPS(RV_XOP4) RV_COPS(RV_XOPC) RV_XOPS(RV_XOP4) RV_XOPS(RV_XOPC) RV_PAIRS(RV_XOPP)
#undef RV_XOP4
#undef RV_XOPC
#undef RV_XOPP
    XOP__COUNT
};

/* One decoded instruction. CSR: imm = csr number, rs2 = funct3, rs1 = rs1
 * or uimm. AMO: imm = funct5. FPOP / ILLEGAL: imm = raw bits.
 * rv_decode sets op, rd, rs1, rs2 and imm; the run loop sets the rest:
 *  - xop: the handler (enum rv_xop);
 *  - run: the number of instructions from this slot to the end of its
 *    straight-line run, i.e. up to and including the next control transfer
 *    or the last instruction of the page. Instructions are counted per
 *    run, when it is entered (0 = not decoded);
 *  - aux: per-xop data (in-page jumps: target slot - this slot). */
struct dinsn {
    uint8_t op, rd, rs1, rs2;
    int32_t imm;
    uint16_t run;
    uint16_t xop;
    int32_t aux;
};

/* Decode one instruction (low 16 bits are used for compressed ones).
 * Returns the length, 2 or 4. Illegal encodings give OP_ILLEGAL. */
int rv_decode(uint32_t insn, struct dinsn *d);
static inline int rv_insn_len(uint32_t lo16) { return (lo16 & 3) == 3 ? 4 : 2; }

/* ---- decoded page cache -------------------------------------------------- */
#define DP_SLOTS 2048
struct dpage {
    uint64_t pa;                 /* guest-physical page address */
    struct dpage *hnext;         /* hash chain */
    _Atomic uint32_t *genp;      /* codemap word of this page */
    uint32_t gen;                /* value of *genp when decoded */
    uint32_t epoch;              /* hart's icache epoch when decoded */
    struct dinsn slot[DP_SLOTS + 1];
};
#define DP_HASH 1024
#define DP_MAX 1024              /* decoded pages per hart before a full flush
                                  * (32 KiB each: at most 32 MiB per hart) */
/* Decoded pages are carved from chunks mmap'd DP_CHUNK pages at a time
 * (pages of a chunk are only touched, so only resident, once used), and
 * kept for reuse until rv_hart_trim unmaps every chunk. */
#define DP_CHUNK 32
struct dp_chunk {
    struct dp_chunk *next;
    unsigned used;               /* pages carved out so far */
    struct dpage page[];
};
#define DP_CHUNK_BYTES (sizeof(struct dp_chunk) + DP_CHUNK * sizeof(struct dpage))

/* ---- software TLB -------------------------------------------------------- */
#define TLB_BITS 8
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_MASK (TLB_SIZE - 1)
#define TLB_INVALID (~0ull)
#define TLB_F_NOTDIRTY 0x800ull  /* write TLB: page holds decoded code */
#define TLB_F_IO 0x400ull        /* MMIO page: pa is cached, data is not */
#define TLB_F_MASK (TLB_F_NOTDIRTY | TLB_F_IO)

enum { MMU_M, MMU_S, MMU_SSUM, MMU_U, MMU_N };
enum { ACC_R, ACC_W, ACC_X, ACC_N };

struct tlbe {
    uint64_t tag;        /* va page | flags, or TLB_INVALID */
    uintptr_t addend;    /* host = addend + va (RAM pages) */
    uint64_t pa;         /* guest-physical page */
    struct dpage *dp;    /* fetch TLB: decoded page (may be NULL) */
};

/* ---- CSRs and other private state -------------------------------------- */
struct rv_hart_priv {
    struct tlbe tlb[MMU_N][ACC_N][TLB_SIZE];
    int didx, fidx;              /* MMU context for data / fetch */

    uint64_t misa, medeleg, mideleg, mie;
    uint64_t mtvec, stvec, mepc, sepc, mcause, scause, mtval, stval;
    uint64_t mscratch, sscratch, satp;
    uint32_t mcounteren, scounteren, mcountinhibit;
    uint64_t menvcfg, senvcfg;
    uint64_t stimecmp;
    int64_t cycle_off, instret_off; /* mcycle = instret + cycle_off */
    uint8_t pmpcfg[64];
    uint64_t pmpaddr[64];
    bool seip_sw;                /* software-written mip.SEIP */

    /* Built-in SBI timer */
    _Atomic uint64_t stimer;     /* UINT64_MAX: not armed */

    /* LR/SC reservation */
    bool lr_valid;
    uint64_t lr_addr;
    uint64_t lr_val;

    /* timers are re-checked every so many instructions */
    uint64_t next_timer_check;

    /* decoded pages */
    struct dpage *dp_hash[DP_HASH];
    struct dpage *dp_free;       /* recycled pages */
    unsigned dp_count;           /* pages in dp_hash */
    struct dp_chunk *dp_chunks;  /* where every page lives (mmap'd) */
    unsigned dp_pages;           /* pages carved from dp_chunks */
    uint32_t epoch;

    /* scratch slots for single-stepping an instruction that is not in a
     * decoded page (straddles pages, runs from MMIO or untracked memory) */
    struct dinsn tmp[3];
    uint32_t tmp_raw;

    /* bounding box of virtual addresses cached from superpages since the
     * last full flush: sfence.vma of an address inside forces a full flush */
    uint64_t super_lo, super_hi;

    /* A copy-on-write TLB flush was served in the middle of a block
     * (rv_serve_cow_flush): the run loop's host pointer to the current code
     * page may reach a frame this machine no longer maps (and the memory
     * layer may free), so it is taken again (lookup) before it is read. */
    bool code_host_stale;
};

/* mstatus bits */
#define MS_SIE (1ull << 1)
#define MS_MIE (1ull << 3)
#define MS_SPIE (1ull << 5)
#define MS_MPIE (1ull << 7)
#define MS_SPP (1ull << 8)
#define MS_MPP_SHIFT 11
#define MS_MPP (3ull << 11)
#define MS_FS (3ull << 13)
#define MS_MPRV (1ull << 17)
#define MS_SUM (1ull << 18)
#define MS_MXR (1ull << 19)
#define MS_TVM (1ull << 20)
#define MS_TW (1ull << 21)
#define MS_TSR (1ull << 22)
#define MS_UXL (3ull << 32)
#define MS_SXL (3ull << 34)
#define MS_SD (1ull << 63)

#define CAUSE_INT (1ull << 63)
enum {
    EXC_INSN_MISALIGNED = 0, EXC_INSN_ACCESS = 1, EXC_ILLEGAL = 2, EXC_BREAKPOINT = 3,
    EXC_LOAD_MISALIGNED = 4, EXC_LOAD_ACCESS = 5, EXC_STORE_MISALIGNED = 6,
    EXC_STORE_ACCESS = 7, EXC_ECALL_U = 8, EXC_ECALL_S = 9, EXC_ECALL_M = 11,
    EXC_INSN_PAGE = 12, EXC_LOAD_PAGE = 13, EXC_STORE_PAGE = 15,
};

#define MENVCFG_STCE (1ull << 63)

/* ---- codemap ------------------------------------------------------------ */
struct rv_codemap {
    uint64_t base, size, npages;
    _Atomic uint32_t *words;     /* bit 0: holds code; bits 31:1 generation */
    pthread_mutex_t lock;        /* guards the hart list */
    struct rv_hart **harts;
    unsigned nharts, cap;
};
_Atomic uint32_t *rv_codemap_word(struct rv_codemap *cm, uint64_t pa);
/* A decoded page is being (re)built for pa: mark the page as code. Returns
 * the word value to remember. Drops write-TLB entries of other harts if the
 * page was not code before; `self` drops its own entries for the page. */
uint32_t rv_codemap_mark_code(struct rv_codemap *cm, _Atomic uint32_t *w,
                              struct rv_hart *self, uint64_t pa);
/* A CPU wrote to a page whose word is w: returns true if decoded code was
 * invalidated. */
bool rv_codemap_note_write(_Atomic uint32_t *w);
bool rv_codemap_add_hart(struct rv_codemap *cm, struct rv_hart *h);
void rv_codemap_remove_hart(struct rv_codemap *cm, struct rv_hart *h);

/* flush_request private bit: drop write-TLB entries (a page became code) */
#define FLUSH_TLB 1
#define FLUSH_ICACHE 2
#define FLUSH_WTLB 4
/* private bit: the decoded pages were unmapped (rv_hart_trim): drop the
 * fetch TLB's pointers to them */
#define FLUSH_DPAGES 8

/* ---- trap.c ---------------------------------------------------------------- */
void rv_take_trap(struct rv_hart *h, uint64_t cause, uint64_t tval);
/* Take the highest-priority enabled pending interrupt, if any. h->pc must
 * be the pc of the next instruction. Returns true if one was taken. */
bool rv_check_interrupts(struct rv_hart *h);
/* Recompute the CPU-owned timer bits of mip (MTIP, STIP) from the clock. */
void rv_update_timers(struct rv_hart *h);
uint64_t rv_mip_read(struct rv_hart *h);
void rv_do_mret(struct rv_hart *h);
void rv_do_sret(struct rv_hart *h);

/* ---- mmu.c ------------------------------------------------------------------- */
void rv_update_mmu_idx(struct rv_hart *h);
void rv_tlb_flush_all(struct rv_hart *h);
void rv_tlb_flush_vm(struct rv_hart *h); /* all but the M context */
void rv_tlb_flush_va(struct rv_hart *h, uint64_t va);
void rv_tlb_flush_write(struct rv_hart *h);
void rv_tlb_flush_write_pa(struct rv_hart *h, uint64_t pa);
void rv_tlb_flush_fetch(struct rv_hart *h);
/* Translate va for an access; returns 0 and *pa, or an exception cause. */
int rv_translate(struct rv_hart *h, uint64_t va, int acc, int priv, uint64_t *pa);
/* Called right after a bus call that may have broken copy-on-write
 * (ram_page for_write, or a device callback that wrote guest memory): if
 * that set FLUSH_TLB on this hart, flush the whole TLB now, before the
 * returned pointer is used or cached, so that no entry still reaches the
 * old frame (see rv_bus.ram_page). Other flush bits wait for the block
 * boundary as usual. */
void rv_serve_cow_flush(struct rv_hart *h);
/* Slow paths. Return 0 on success, -1 when a trap was taken (h->pc must
 * hold the instruction's pc on entry), 1 (stores) when the write hit
 * decoded code, so the block must end. */
int rv_load_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t *val);
int rv_store_slow(struct rv_hart *h, uint64_t va, unsigned size, uint64_t val);
/* Host pointer for an aligned atomic access (LR with acc=ACC_R, SC/AMO
 * with ACC_W), or NULL after taking the trap (misaligned, fault, MMIO).
 * For ACC_W, *codew is set to the codemap word when the page holds code
 * (the caller calls rv_codemap_note_write after writing), else NULL. */
void *rv_amo_ptr(struct rv_hart *h, uint64_t va, unsigned size, int acc,
                 _Atomic uint32_t **codew);
/* Instruction fetch for the slow single-step path: 16 bits at va. Returns 0,
 * or -1 with the trap taken (tval = va). */
int rv_fetch16_slow(struct rv_hart *h, uint64_t va, uint16_t *out);
struct tlbe *rv_fetch_resolve(struct rv_hart *h, uint64_t va);

/* ---- csr.c --------------------------------------------------------------- */
/* Execute a CSR instruction. Returns 0 (continue), 1 (continue, but end the
 * block: the context may have changed) or -1 (illegal: caller traps). */
int rv_csr_insn(struct rv_hart *h, const struct dinsn *d);
void rv_csr_reset(struct rv_hart *h);

/* ---- cpu.c -------------------------------------------------------------- */
void rv_icache_flush(struct rv_hart *h);

#endif

/* Shared helpers for the CPU unit tests (test_cpu, test_mmu, test_decode):
 * a tiny fake bus (RAM at 0x80000000 + an MMIO scratch device) and a
 * hand assembler for RV64GC encodings. */
#ifndef DISCO_TESTS_RV_TEST_H
#define DISCO_TESTS_RV_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "riscv/cpu_priv.h"
#include "riscv/hart.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (4ull << 20)
#define DEV_BASE 0x10000000ull
#define DEV_SIZE 0x1000ull

struct fake_bus {
    uint8_t *ram;
    uint64_t dev[DEV_SIZE / 8];
    unsigned mmio_reads, mmio_writes;
    unsigned sbi_calls;
    bool sbi_ret;
};

static inline uint8_t *fb_ram_page(void *ctx, uint64_t pa, bool for_write)
{
    struct fake_bus *fb = ctx;
    (void)for_write;
    if (pa < RAM_BASE || pa - RAM_BASE >= RAM_SIZE)
        return NULL;
    return fb->ram + ((pa - RAM_BASE) & ~0xfffull);
}

static inline int fb_mmio_read(void *ctx, uint64_t pa, unsigned len, uint64_t *val)
{
    struct fake_bus *fb = ctx;
    if (pa < DEV_BASE || pa - DEV_BASE >= DEV_SIZE || (pa & (len - 1)))
        return -1;
    uint64_t off = pa - DEV_BASE, w = fb->dev[off / 8];
    w >>= 8 * (off & 7);
    if (len < 8)
        w &= (1ull << (8 * len)) - 1;
    *val = w;
    fb->mmio_reads++;
    return 0;
}

static inline int fb_mmio_write(void *ctx, uint64_t pa, unsigned len, uint64_t val)
{
    struct fake_bus *fb = ctx;
    if (pa < DEV_BASE || pa - DEV_BASE >= DEV_SIZE || (pa & (len - 1)))
        return -1;
    uint64_t off = pa - DEV_BASE;
    uint64_t mask = len < 8 ? ((1ull << (8 * len)) - 1) : ~0ull;
    unsigned sh = 8 * (off & 7);
    fb->dev[off / 8] = (fb->dev[off / 8] & ~(mask << sh)) | ((val & mask) << sh);
    fb->mmio_writes++;
    return 0;
}

static inline bool fb_sbi(void *ctx, struct rv_hart *h)
{
    struct fake_bus *fb = ctx;
    fb->sbi_calls++;
    if (fb->sbi_ret) {
        h->x[10] = 0;
        h->x[11] = h->x[17] * 2; /* a1 = 2 * a7: proves we ran */
    }
    return fb->sbi_ret;
}

struct tenv {
    struct fake_bus fb;
    struct rv_clock clock;
    struct rv_codemap *cm;
    struct rv_hart *h;
};

static inline struct rv_hart *tenv_add_hart(struct tenv *e, uint64_t id)
{
    struct rv_bus bus = {
        .ctx = &e->fb,
        .ram_page = fb_ram_page,
        .mmio_read = fb_mmio_read,
        .mmio_write = fb_mmio_write,
        .sbi_call = fb_sbi,
    };
    struct rv_hart *h = rv_hart_new(id, &bus, &e->clock, e->cm);
    if (h)
        rv_hart_reset(h, RAM_BASE);
    return h;
}

static inline struct tenv *tenv_new(void)
{
    struct tenv *e = calloc(1, sizeof(*e));
    e->fb.ram = calloc(1, RAM_SIZE);
    e->clock.freq_hz = 10000000;
    e->cm = rv_codemap_new(RAM_BASE, RAM_SIZE);
    e->h = tenv_add_hart(e, 0);
    return e;
}

static inline void tenv_free(struct tenv *e)
{
    rv_hart_free(e->h);
    rv_codemap_free(e->cm);
    free(e->fb.ram);
    free(e);
}

static inline void *ram_ptr(struct tenv *e, uint64_t pa)
{
    if (pa < RAM_BASE || pa - RAM_BASE >= RAM_SIZE - 8)
        abort(); /* test bug */
    return e->fb.ram + (pa - RAM_BASE);
}
static inline void w32(struct tenv *e, uint64_t pa, uint32_t v) { memcpy(ram_ptr(e, pa), &v, 4); }
static inline void w16(struct tenv *e, uint64_t pa, uint16_t v) { memcpy(ram_ptr(e, pa), &v, 2); }
static inline void w64(struct tenv *e, uint64_t pa, uint64_t v) { memcpy(ram_ptr(e, pa), &v, 8); }
static inline uint64_t r64(struct tenv *e, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, ram_ptr(e, pa), 8);
    return v;
}
static inline uint32_t r32(struct tenv *e, uint64_t pa)
{
    uint32_t v;
    memcpy(&v, ram_ptr(e, pa), 4);
    return v;
}

/* ---- encoders ---- */
static inline uint32_t enc_r(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd,
                             unsigned opc)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc;
}
static inline uint32_t enc_i(int32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned opc)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc;
}
static inline uint32_t enc_s(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3, unsigned opc)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 31) << 7 | opc;
}
static inline uint32_t enc_b(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
           ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}
static inline uint32_t enc_u(int32_t imm, unsigned rd, unsigned opc)
{
    return ((uint32_t)imm & 0xfffff000u) | rd << 7 | opc;
}
static inline uint32_t enc_j(int32_t imm, unsigned rd)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
           ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}

#define ADDI(rd, rs, imm) enc_i(imm, rs, 0, rd, 0x13)
#define SLTI(rd, rs, imm) enc_i(imm, rs, 2, rd, 0x13)
#define SLTIU(rd, rs, imm) enc_i(imm, rs, 3, rd, 0x13)
#define XORI(rd, rs, imm) enc_i(imm, rs, 4, rd, 0x13)
#define ORI(rd, rs, imm) enc_i(imm, rs, 6, rd, 0x13)
#define ANDI(rd, rs, imm) enc_i(imm, rs, 7, rd, 0x13)
#define SLLI(rd, rs, sh) enc_i(sh, rs, 1, rd, 0x13)
#define SRLI(rd, rs, sh) enc_i(sh, rs, 5, rd, 0x13)
#define SRAI(rd, rs, sh) enc_i(0x400 | (sh), rs, 5, rd, 0x13)
#define ADDIW(rd, rs, imm) enc_i(imm, rs, 0, rd, 0x1b)
#define SLLIW(rd, rs, sh) enc_i(sh, rs, 1, rd, 0x1b)
#define SRLIW(rd, rs, sh) enc_i(sh, rs, 5, rd, 0x1b)
#define SRAIW(rd, rs, sh) enc_i(0x400 | (sh), rs, 5, rd, 0x1b)
#define ADD(rd, a, b) enc_r(0, b, a, 0, rd, 0x33)
#define SUB(rd, a, b) enc_r(0x20, b, a, 0, rd, 0x33)
#define SLL(rd, a, b) enc_r(0, b, a, 1, rd, 0x33)
#define SLT(rd, a, b) enc_r(0, b, a, 2, rd, 0x33)
#define SLTU(rd, a, b) enc_r(0, b, a, 3, rd, 0x33)
#define XOR(rd, a, b) enc_r(0, b, a, 4, rd, 0x33)
#define SRL(rd, a, b) enc_r(0, b, a, 5, rd, 0x33)
#define SRA(rd, a, b) enc_r(0x20, b, a, 5, rd, 0x33)
#define OR(rd, a, b) enc_r(0, b, a, 6, rd, 0x33)
#define AND(rd, a, b) enc_r(0, b, a, 7, rd, 0x33)
#define ADDW(rd, a, b) enc_r(0, b, a, 0, rd, 0x3b)
#define SUBW(rd, a, b) enc_r(0x20, b, a, 0, rd, 0x3b)
#define SLLW(rd, a, b) enc_r(0, b, a, 1, rd, 0x3b)
#define SRLW(rd, a, b) enc_r(0, b, a, 5, rd, 0x3b)
#define SRAW(rd, a, b) enc_r(0x20, b, a, 5, rd, 0x3b)
#define MUL(rd, a, b) enc_r(1, b, a, 0, rd, 0x33)
#define MULH(rd, a, b) enc_r(1, b, a, 1, rd, 0x33)
#define MULHSU(rd, a, b) enc_r(1, b, a, 2, rd, 0x33)
#define MULHU(rd, a, b) enc_r(1, b, a, 3, rd, 0x33)
#define DIV(rd, a, b) enc_r(1, b, a, 4, rd, 0x33)
#define DIVU(rd, a, b) enc_r(1, b, a, 5, rd, 0x33)
#define REM(rd, a, b) enc_r(1, b, a, 6, rd, 0x33)
#define REMU(rd, a, b) enc_r(1, b, a, 7, rd, 0x33)
#define MULW(rd, a, b) enc_r(1, b, a, 0, rd, 0x3b)
#define DIVW(rd, a, b) enc_r(1, b, a, 4, rd, 0x3b)
#define DIVUW(rd, a, b) enc_r(1, b, a, 5, rd, 0x3b)
#define REMW(rd, a, b) enc_r(1, b, a, 6, rd, 0x3b)
#define REMUW(rd, a, b) enc_r(1, b, a, 7, rd, 0x3b)
#define LUI(rd, imm) enc_u(imm, rd, 0x37)
#define AUIPC(rd, imm) enc_u(imm, rd, 0x17)
#define JAL(rd, off) enc_j(off, rd)
#define JALR(rd, rs, off) enc_i(off, rs, 0, rd, 0x67)
#define BEQ(a, b, off) enc_b(off, b, a, 0)
#define BNE(a, b, off) enc_b(off, b, a, 1)
#define BLT(a, b, off) enc_b(off, b, a, 4)
#define BGE(a, b, off) enc_b(off, b, a, 5)
#define BLTU(a, b, off) enc_b(off, b, a, 6)
#define BGEU(a, b, off) enc_b(off, b, a, 7)
#define LB(rd, rs, off) enc_i(off, rs, 0, rd, 0x03)
#define LH(rd, rs, off) enc_i(off, rs, 1, rd, 0x03)
#define LW(rd, rs, off) enc_i(off, rs, 2, rd, 0x03)
#define LD(rd, rs, off) enc_i(off, rs, 3, rd, 0x03)
#define LBU(rd, rs, off) enc_i(off, rs, 4, rd, 0x03)
#define LHU(rd, rs, off) enc_i(off, rs, 5, rd, 0x03)
#define LWU(rd, rs, off) enc_i(off, rs, 6, rd, 0x03)
#define SB(rs2, rs1, off) enc_s(off, rs2, rs1, 0, 0x23)
#define SH(rs2, rs1, off) enc_s(off, rs2, rs1, 1, 0x23)
#define SW(rs2, rs1, off) enc_s(off, rs2, rs1, 2, 0x23)
#define SD(rs2, rs1, off) enc_s(off, rs2, rs1, 3, 0x23)
#define FLW(rd, rs, off) enc_i(off, rs, 2, rd, 0x07)
#define FLD(rd, rs, off) enc_i(off, rs, 3, rd, 0x07)
#define FSW(rs2, rs1, off) enc_s(off, rs2, rs1, 2, 0x27)
#define FSD(rs2, rs1, off) enc_s(off, rs2, rs1, 3, 0x27)
#define ECALL 0x00000073u
#define EBREAK 0x00100073u
#define MRET 0x30200073u
#define SRET 0x10200073u
#define WFI 0x10500073u
#define FENCE 0x0ff0000fu
#define FENCE_I 0x0000100fu
#define SFENCE_VMA(rs1, rs2) enc_r(0x09, rs2, rs1, 0, 0, 0x73)
#define CSRRW(rd, csr, rs) enc_i(csr, rs, 1, rd, 0x73)
#define CSRRS(rd, csr, rs) enc_i(csr, rs, 2, rd, 0x73)
#define CSRRC(rd, csr, rs) enc_i(csr, rs, 3, rd, 0x73)
#define CSRRWI(rd, csr, u) enc_i(csr, u, 5, rd, 0x73)
#define CSRRSI(rd, csr, u) enc_i(csr, u, 6, rd, 0x73)
#define CSRRCI(rd, csr, u) enc_i(csr, u, 7, rd, 0x73)
#define AMO(f5, f3, rd, rs1, rs2) enc_r((f5) << 2, rs2, rs1, f3, rd, 0x2f)
#define LR_W(rd, rs1) AMO(0x02, 2, rd, rs1, 0)
#define LR_D(rd, rs1) AMO(0x02, 3, rd, rs1, 0)
#define SC_W(rd, rs1, rs2) AMO(0x03, 2, rd, rs1, rs2)
#define SC_D(rd, rs1, rs2) AMO(0x03, 3, rd, rs1, rs2)
#define AMOADD_W(rd, rs1, rs2) AMO(0x00, 2, rd, rs1, rs2)
#define AMOADD_D(rd, rs1, rs2) AMO(0x00, 3, rd, rs1, rs2)
#define AMOSWAP_D(rd, rs1, rs2) AMO(0x01, 3, rd, rs1, rs2)
#define AMOMIN_W(rd, rs1, rs2) AMO(0x10, 2, rd, rs1, rs2)
#define AMOMAXU_D(rd, rs1, rs2) AMO(0x1c, 3, rd, rs1, rs2)
#define AMOOR_W(rd, rs1, rs2) AMO(0x08, 2, rd, rs1, rs2)
#define NOP ADDI(0, 0, 0)

/* ---- program builder ---- */
struct prog {
    struct tenv *e;
    uint64_t pc;
};

static inline void emit(struct prog *p, uint32_t insn)
{
    w32(p->e, p->pc, insn);
    p->pc += 4;
}

static inline void emit16(struct prog *p, uint16_t insn)
{
    w16(p->e, p->pc, insn);
    p->pc += 2;
}

static inline int32_t sext12(int64_t v)
{
    return (int32_t)((uint32_t)(v & 0xfff) << 20) >> 20;
}

/* li rd, v (any 64-bit constant) */
static inline void li(struct prog *p, unsigned rd, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        int32_t lo = sext12(v);
        uint32_t hi = (uint32_t)((uint64_t)v - (uint64_t)(int64_t)lo);
        if (hi) {
            emit(p, LUI(rd, (int32_t)hi));
            emit(p, ADDIW(rd, rd, lo));
        } else {
            emit(p, ADDI(rd, 0, lo));
        }
        return;
    }
    int32_t lo = sext12(v);
    int64_t hi = (int64_t)((uint64_t)v - (uint64_t)(int64_t)lo) >> 12;
    li(p, rd, hi);
    emit(p, SLLI(rd, rd, 12));
    if (lo)
        emit(p, ADDI(rd, rd, lo));
}

/* Register names */
enum { ZERO, RA, SP, GP, TP, T0, T1, T2, S0, S1, A0, A1, A2, A3, A4, A5, A6, A7,
       S2, S3, S4, S5, S6, S7, S8, S9, S10, S11, T3, T4, T5, T6 };

/* CSR numbers */
#define CSR_MSTATUS 0x300
#define CSR_MEDELEG 0x302
#define CSR_MIDELEG 0x303
#define CSR_MIE 0x304
#define CSR_MTVEC 0x305
#define CSR_MCOUNTEREN 0x306
#define CSR_MEPC 0x341
#define CSR_MCAUSE 0x342
#define CSR_MTVAL 0x343
#define CSR_MIP 0x344
#define CSR_SSTATUS 0x100
#define CSR_SIE 0x104
#define CSR_STVEC 0x105
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_SIP 0x144
#define CSR_SATP 0x180
#define CSR_TIME 0xc01
#define CSR_INSTRET 0xc02
#define CSR_MINSTRET 0xb02
#define CSR_MHARTID 0xf14
#define CSR_MISA 0x301

/* A halt handler: WFI; j .-4 (returns RV_EXIT_WFI when nothing pending). */
static inline void put_halt(struct tenv *e, uint64_t at)
{
    w32(e, at, WFI);
    w32(e, at + 4, JAL(0, -4));
}

#endif

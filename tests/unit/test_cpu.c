/* CPU core: execution, traps, CSRs, interrupts, atomics, self-modifying
 * code, run-loop exits. Programs are hand-assembled into a fake bus. */
#include <pthread.h>

#include "rv_test.h"
#include "t.h"

#define HALT (RAM_BASE + 0x10000)
#define DATA (RAM_BASE + 0x20000)

/* New env, program builder at RAM_BASE, M-mode traps go to a halt loop. */
static struct tenv *setup(struct prog *p)
{
    struct tenv *e = tenv_new();
    put_halt(e, HALT);
    e->h->p->mtvec = HALT;
    p->e = e;
    p->pc = RAM_BASE;
    return e;
}

static int run(struct tenv *e, uint64_t budget) { return rv_hart_run(e->h, budget); }

static void basic_alu(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    li(&p, A0, 5);
    li(&p, A1, -7);
    emit(&p, ADD(A2, A0, A1));          /* -2 */
    emit(&p, SUB(A3, A0, A1));          /* 12 */
    emit(&p, SLT(A4, A1, A0));          /* 1 */
    emit(&p, SLTU(A5, A1, A0));         /* 0 */
    emit(&p, SRAI(A6, A1, 1));          /* -4 */
    emit(&p, SRLI(A7, A1, 60));         /* 0xf */
    emit(&p, LUI(S2, 0x12345000));
    emit(&p, AUIPC(S3, 0x1000));        /* pc + 0x1000 */
    uint64_t auipc_pc = p.pc - 4;
    emit(&p, ADDI(0, 0, 55));           /* x0 stays 0 */
    emit(&p, ADDIW(S4, 0, -1));
    emit(&p, SLLIW(S5, A0, 31));        /* 0xffffffff80000000 */
    emit(&p, ADDW(S6, S5, S5));         /* 0 */
    li(&p, S7, 0x123456789abcdef0ll);
    li(&p, S8, INT64_MAX);
    emit(&p, XORI(S9, A0, -1));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A2], (uint64_t)-2);
    CHECK_EQ(h->x[A3], 12);
    CHECK_EQ(h->x[A4], 1);
    CHECK_EQ(h->x[A5], 0);
    CHECK_EQ(h->x[A6], (uint64_t)-4);
    CHECK_EQ(h->x[A7], 0xf);
    CHECK_EQ(h->x[S2], 0x12345000);
    CHECK_EQ(h->x[S3], auipc_pc + 0x1000);
    CHECK_EQ(h->x[0], 0);
    CHECK_EQ(h->x[S4], ~0ull);
    CHECK_EQ(h->x[S5], 0xffffffff80000000ull);
    CHECK_EQ(h->x[S6], 0);
    CHECK_EQ(h->x[S7], 0x123456789abcdef0ull);
    CHECK_EQ(h->x[S8], (uint64_t)INT64_MAX);
    CHECK_EQ(h->x[S9], (uint64_t)~5ll);
    CHECK_EQ(h->pc, p.pc);
    tenv_free(e);
}

static void muldiv_edges(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    li(&p, S0, INT64_MIN);
    li(&p, S1, -1);
    li(&p, S2, 0);
    li(&p, S3, 7);
    emit(&p, DIV(A0, S3, S2));    /* /0 -> -1 */
    emit(&p, DIVU(A1, S3, S2));   /* -> all ones */
    emit(&p, REM(A2, S3, S2));    /* -> 7 */
    emit(&p, REMU(A3, S3, S2));   /* -> 7 */
    emit(&p, DIV(A4, S0, S1));    /* overflow -> INT64_MIN */
    emit(&p, REM(A5, S0, S1));    /* -> 0 */
    emit(&p, MULH(A6, S0, S1));   /* INT64_MIN * -1 = 2^63: high = 0 */
    emit(&p, MULHU(A7, S1, S1));  /* (2^64-1)^2 high = 2^64-2 */
    emit(&p, MULHSU(T0, S1, S1)); /* -1 * (2^64-1) high = -1 */
    emit(&p, MULW(T1, S0, S1));   /* low32 0 */
    li(&p, T2, 0x80000000ll);
    emit(&p, DIVW(T3, T2, S1));   /* INT32_MIN / -1 = INT32_MIN sext */
    emit(&p, REMW(T4, T2, S1));   /* 0 */
    emit(&p, DIVUW(T5, S3, S2));  /* -1 */
    emit(&p, REMUW(T6, S1, S2));  /* sext(0xffffffff) = -1 */
    emit(&p, DIV(S4, S1, S3));    /* -1/7 = 0 */
    emit(&p, REM(S5, S1, S3));    /* -1 */
    li(&p, S6, 0x7fffffff);
    emit(&p, ADDW(S7, S6, S6));   /* 0xfffffffe sext -> -2 */
    emit(&p, MULW(S8, S6, S6));   /* low32(0x3fffffff00000001) = 1 */
    emit(&p, SRAW(S9, T2, S3));   /* 0x80000000 >>a 7 = 0xff000000 sext */
    emit(&p, SRLW(S10, T2, S3));  /* 0x01000000 */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], ~0ull);
    CHECK_EQ(h->x[A1], ~0ull);
    CHECK_EQ(h->x[A2], 7);
    CHECK_EQ(h->x[A3], 7);
    CHECK_EQ(h->x[A4], (uint64_t)INT64_MIN);
    CHECK_EQ(h->x[A5], 0);
    CHECK_EQ(h->x[A6], 0);
    CHECK_EQ(h->x[A7], ~1ull);
    CHECK_EQ(h->x[T0], ~0ull);
    CHECK_EQ(h->x[T1], 0);
    CHECK_EQ(h->x[T3], 0xffffffff80000000ull);
    CHECK_EQ(h->x[T4], 0);
    CHECK_EQ(h->x[T5], ~0ull);
    CHECK_EQ(h->x[T6], ~0ull);
    CHECK_EQ(h->x[S4], 0);
    CHECK_EQ(h->x[S5], ~0ull);
    CHECK_EQ(h->x[S7], (uint64_t)-2);
    CHECK_EQ(h->x[S8], 1);
    CHECK_EQ(h->x[S9], 0xffffffffff000000ull);
    CHECK_EQ(h->x[S10], 0x01000000);
    tenv_free(e);
}

static void bitmanip(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    li(&p, S0, 0x00f0000000000f80ll);
    li(&p, S1, 3);
    li(&p, S2, -5);
    emit(&p, enc_r(0x10, S1, S1, 2, A0, 0x33));      /* sh1add a0, s1, s1 = 9 */
    emit(&p, enc_r(0x20, S1, S0, 7, A1, 0x33));      /* andn a1, s0, s1 */
    emit(&p, enc_i(0x600, S0, 1, A2, 0x13));         /* clz a2, s0 = 8 */
    emit(&p, enc_i(0x602, S0, 1, A3, 0x13));         /* cpop a3, s0 = 9 */
    emit(&p, enc_i(0x6b8, S0, 5, A4, 0x13));         /* rev8 a4, s0 */
    emit(&p, enc_i(0x604, S0, 1, A5, 0x13));         /* sext.b a5, s0 = 0xff..80 */
    emit(&p, enc_r(0x05, S1, S2, 4, A6, 0x33));      /* min a6, s2, s1 = -5 */
    emit(&p, enc_r(0x05, S1, S2, 7, A7, 0x33));      /* maxu a7, s2, s1 = -5 */
    emit(&p, enc_i(0x600 | 4, S0, 5, T0, 0x13));     /* rori t0, s0, 4 */
    emit(&p, enc_i(0x280 | 40, S1, 1, T1, 0x13));    /* bseti t1, s1, 40 */
    emit(&p, enc_i(0x480 | 52, S0, 5, T2, 0x13));    /* bexti t2, s0, 52 = 1 */
    emit(&p, enc_i(0x287, S0, 5, T3, 0x13));         /* orc.b t3, s0 */
    emit(&p, enc_r(0x04, 0, S2, 4, T4, 0x3b));       /* zext.h t4, s2 */
    emit(&p, enc_r(0x30, S1, S2, 1, T5, 0x3b));      /* rolw t5, s2, s1 */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 9);
    CHECK_EQ(h->x[A1], 0x00f0000000000f80ull);
    CHECK_EQ(h->x[A2], 8);
    CHECK_EQ(h->x[A3], 9);
    CHECK_EQ(h->x[A4], 0x800f00000000f000ull);
    CHECK_EQ(h->x[A5], 0xffffffffffffff80ull);
    CHECK_EQ(h->x[A6], (uint64_t)-5);
    CHECK_EQ(h->x[A7], (uint64_t)-5);
    CHECK_EQ(h->x[T0], 0x000f0000000000f8ull);
    CHECK_EQ(h->x[T1], (1ull << 40) | 3);
    CHECK_EQ(h->x[T2], 1);
    CHECK_EQ(h->x[T3], 0x00ff00000000ffffull);
    CHECK_EQ(h->x[T4], 0xfffb);
    CHECK_EQ(h->x[T5], 0xffffffffffffffdfull);
    tenv_free(e);
}

static void loads_stores(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    w64(e, DATA, 0x8899aabbccddeeffull);
    li(&p, S0, DATA);
    emit(&p, LB(A0, S0, 0));      /* 0xff -> -1 */
    emit(&p, LBU(A1, S0, 0));
    emit(&p, LH(A2, S0, 6));      /* 0x8899 sext */
    emit(&p, LHU(A3, S0, 6));
    emit(&p, LW(A4, S0, 4));      /* 0x8899aabb sext */
    emit(&p, LWU(A5, S0, 4));
    emit(&p, LD(A6, S0, 0));
    li(&p, T0, 0x1122334455667788ll);
    emit(&p, SD(T0, S0, 16));
    emit(&p, SW(T0, S0, 24));
    emit(&p, SH(T0, S0, 28));
    emit(&p, SB(T0, S0, 30));
    /* misaligned, handled in hardware */
    emit(&p, SD(T0, S0, 35));
    emit(&p, LD(A7, S0, 35));
    emit(&p, LW(T1, S0, 1));
    /* misaligned across a page boundary */
    li(&p, S1, DATA + 0xffd);
    emit(&p, SD(T0, S1, 0));
    emit(&p, LD(T2, S1, 0));
    emit(&p, LD(0, S0, 0));       /* load into x0 */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], ~0ull);
    CHECK_EQ(h->x[A1], 0xff);
    CHECK_EQ(h->x[A2], 0xffffffffffff8899ull);
    CHECK_EQ(h->x[A3], 0x8899);
    CHECK_EQ(h->x[A4], 0xffffffff8899aabbull);
    CHECK_EQ(h->x[A5], 0x8899aabbull);
    CHECK_EQ(h->x[A6], 0x8899aabbccddeeffull);
    CHECK_EQ(r64(e, DATA + 16), 0x1122334455667788ull);
    CHECK_EQ(r64(e, DATA + 24), 0x0088778855667788ull);
    CHECK_EQ(h->x[A7], 0x1122334455667788ull);
    CHECK_EQ(h->x[T1], 0xffffffffbbccddeeull);
    CHECK_EQ(h->x[T2], 0x1122334455667788ull);
    CHECK_EQ(h->x[0], 0);
    CHECK_EQ(h->p->mcause, 0); /* no trap */
    tenv_free(e);
}

static void branches_loop(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    /* sum 1..100 with a counted loop, plus a call/return */
    li(&p, A0, 0);
    li(&p, A1, 100);
    uint64_t loop = p.pc;
    emit(&p, ADD(A0, A0, A1));
    emit(&p, ADDI(A1, A1, -1));
    emit(&p, BNE(A1, 0, (int32_t)(loop - p.pc)));
    emit(&p, JAL(RA, 12));        /* call f */
    emit(&p, ADDI(A3, A2, 1));
    emit(&p, WFI);
    /* f: */
    emit(&p, ADDI(A2, 0, 41));
    emit(&p, JALR(0, RA, 0));
    /* signed / unsigned compares */
    CHECK_EQ(run(e, 10000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 5050);
    CHECK_EQ(h->x[A3], 42);
    CHECK_EQ(h->instret, 2 + 300 + 5);
    tenv_free(e);

    e = setup(&p);
    h = e->h;
    li(&p, S0, -1);
    li(&p, S1, 1);
    emit(&p, BLT(S0, S1, 8));     /* taken */
    emit(&p, ADDI(A0, 0, 1));
    emit(&p, BLTU(S0, S1, 8));    /* not taken */
    emit(&p, ADDI(A1, 0, 1));
    emit(&p, BGE(S1, S0, 8));     /* taken */
    emit(&p, ADDI(A2, 0, 1));
    emit(&p, BGEU(S1, S0, 8));    /* not taken */
    emit(&p, ADDI(A3, 0, 1));
    emit(&p, BEQ(S0, S0, 8));     /* taken */
    emit(&p, ADDI(A4, 0, 1));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 0);
    CHECK_EQ(h->x[A1], 1);
    CHECK_EQ(h->x[A2], 0);
    CHECK_EQ(h->x[A3], 1);
    CHECK_EQ(h->x[A4], 0);
    tenv_free(e);
}

static void compressed_program(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    /* c.li a0,0; c.li a1,10; loop: c.add a0,a1; c.addi a1,-1; c.bnez a1,loop;
     * c.mv a2,a0; c.slli a2,2; c.addiw a2, 1; wfi */
    emit16(&p, 0x4501);           /* c.li a0, 0 */
    emit16(&p, 0x45a9);           /* c.li a1, 10 */
    emit16(&p, 0x952e);           /* c.add a0, a1 */
    emit16(&p, 0x15fd);           /* c.addi a1, -1 */
    emit16(&p, 0xfdf5);           /* c.bnez a1, -4 */
    emit16(&p, 0x862a);           /* c.mv a2, a0 */
    emit16(&p, 0x060a);           /* c.slli a2, 2 */
    emit16(&p, 0x2605);           /* c.addiw a2, 1 */
    emit16(&p, 0x1141);           /* c.addi sp, -16 (sp=0 -> -16) */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 55);
    CHECK_EQ(h->x[A2], 221);
    CHECK_EQ(h->x[SP], (uint64_t)-16);
    CHECK_EQ(h->pc, p.pc);
    tenv_free(e);
}

static void compressed_mem_and_jumps(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    li(&p, SP, DATA);
    li(&p, S0, DATA + 0x100);
    li(&p, A0, 0x1234);
    li(&p, A5, 0x55667788);
    emit16(&p, 0xe42a);           /* c.sdsp a0, 8(sp) */
    emit16(&p, 0xc05c);           /* c.sw a5, 4(s0) */
    emit16(&p, 0x4044);           /* c.lw s1, 4(s0) */
    emit16(&p, 0x67a2);           /* c.ldsp a5, 8(sp) */
    emit16(&p, 0xe81c);           /* c.sd a5, 16(s0) */
    emit16(&p, 0x6818);           /* c.ld a4, 16(s0) */
    emit16(&p, 0x1018);           /* c.addi4spn a4, sp, 32 */
    emit16(&p, 0x66c9);           /* c.lui a3, 0x12 */
    emit16(&p, 0x8291);           /* c.srli a3, 4 */
    emit16(&p, 0xc63e);           /* c.swsp a5, 12(sp) */
    emit16(&p, 0x4632);           /* c.lwsp a2, 12(sp) */
    uint64_t sub = RAM_BASE + 0x800;
    li(&p, A5, (int64_t)sub);
    uint64_t jalr_pc = p.pc;
    emit16(&p, 0x9782);           /* c.jalr a5 */
    emit16(&p, 0xa011);           /* c.j +4 */
    emit16(&p, 0x0001);           /* c.nop (skipped) -> would be fine anyway */
    emit16(&p, 0x9002);           /* c.ebreak: must not be reached? no: target */
    struct prog s = {e, sub};
    emit16(&s, 0x0505);           /* c.addi a0, 1 */
    emit16(&s, 0x8082);           /* c.jr ra */
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(r32(e, DATA + 8), 0x1234);
    CHECK_EQ(r32(e, DATA + 0x104), 0x55667788);
    CHECK_EQ(h->x[S1], 0x55667788);
    CHECK_EQ(r64(e, DATA + 0x110), 0x1234);
    CHECK_EQ(h->x[A4], DATA + 32);
    CHECK_EQ(h->x[A3], 0x1200);
    CHECK_EQ(h->x[A2], 0x1234);
    CHECK_EQ(h->x[A0], 0x1235);
    CHECK_EQ(h->x[RA], jalr_pc + 2);
    /* c.j +4 skipped the c.nop and landed on c.ebreak: breakpoint trap */
    CHECK_EQ(h->p->mcause, 3);
    CHECK_EQ(h->p->mepc, jalr_pc + 6);
    tenv_free(e);
}

static void ecall_delegated_to_s(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t stvec = RAM_BASE + 0x3000, user = RAM_BASE + 0x2000;
    /* S handler: read scause/sepc/stval into a0..a2, then wfi (S, TW=0) */
    struct prog s = {e, stvec};
    emit(&s, CSRRS(A0, CSR_SCAUSE, 0));
    emit(&s, CSRRS(A1, CSR_SEPC, 0));
    emit(&s, CSRRS(A2, CSR_STVAL, 0));
    emit(&s, CSRRS(A3, CSR_SSTATUS, 0));
    emit(&s, WFI);
    struct prog u = {e, user};
    emit(&u, ADDI(A7, 0, 3));
    emit(&u, ECALL);
    /* M: delegate ecall-from-U, set stvec, drop to U via mret */
    li(&p, T0, 1 << 8);
    emit(&p, CSRRW(0, CSR_MEDELEG, T0));
    li(&p, T0, (int64_t)stvec);
    emit(&p, CSRRW(0, CSR_STVEC, T0));
    li(&p, T0, (int64_t)user);
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    li(&p, T0, 3 << 11);
    emit(&p, CSRRC(0, CSR_MSTATUS, T0)); /* MPP = U */
    emit(&p, MRET);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->priv, RV_PRIV_S);
    CHECK_EQ(h->x[A0], 8);
    CHECK_EQ(h->x[A1], user + 4);
    CHECK_EQ(h->x[A2], 0);
    CHECK_EQ(h->x[A3] & MS_SPP, 0); /* came from U */
    CHECK_EQ(h->x[A7], 3);
    CHECK_EQ(h->p->mcause, 0);
    tenv_free(e);
}

static void ecall_s_to_m_and_sret(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t sup = RAM_BASE + 0x2000;
    struct prog s = {e, sup};
    emit(&s, ADDI(A0, 0, 7));
    emit(&s, ECALL);
    li(&p, T0, (int64_t)sup);
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    li(&p, T0, 1 << 11);
    emit(&p, CSRRS(0, CSR_MSTATUS, T0));   /* MPP = S (was U=0) */
    emit(&p, MRET);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->priv, RV_PRIV_M);
    CHECK_EQ(h->p->mcause, 9);
    CHECK_EQ(h->p->mepc, sup + 4);
    CHECK_EQ((h->mstatus >> 11) & 3, 1);   /* MPP = S */
    CHECK_EQ(h->x[A0], 7);
    tenv_free(e);
}

static void illegal_instructions(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    emit(&p, 0xffffffffu);
    CHECK_EQ(run(e, 100), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->p->mtval, 0xffffffffu);
    CHECK_EQ(h->p->mepc, RAM_BASE);
    tenv_free(e);

    /* compressed all-zero is illegal, tval = 0 bits */
    e = setup(&p);
    h = e->h;
    emit16(&p, 0x0001); /* c.nop */
    emit16(&p, 0x0000);
    CHECK_EQ(run(e, 100), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->p->mepc, RAM_BASE + 2);
    CHECK_EQ(h->p->mtval, 0);
    tenv_free(e);

    /* MRET from S-mode is illegal; CSR write to a read-only CSR too */
    e = setup(&p);
    h = e->h;
    emit(&p, CSRRW(0, CSR_MHARTID, A0));
    CHECK_EQ(run(e, 100), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->p->mtval, CSRRW(0, CSR_MHARTID, A0));
    tenv_free(e);

    /* FP load with mstatus.FS = 0 */
    e = setup(&p);
    h = e->h;
    emit(&p, FLD(1, 0, 0));
    CHECK_EQ(run(e, 100), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->p->mtval, FLD(1, 0, 0));
    tenv_free(e);
}

/* A guest whose trap handler traps again retires nothing; rv_hart_run must
 * still return when the budget is used, or its worker could never be
 * preempted (a malicious guest could pin a host thread). */
static void trap_storm_returns(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    emit(&p, 0xffffffffu);        /* illegal, and mtvec points at it */
    h->p->mtvec = RAM_BASE;
    uint64_t before = h->instret;
    CHECK_EQ(run(e, 1000), RV_EXIT_BUDGET);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->instret, before); /* traps are not retired instructions */
    tenv_free(e);

    /* mtvec unmapped: every fetch faults, the handler fetch too */
    e = setup(&p);
    h = e->h;
    h->p->mtvec = 0x4000;
    h->pc = 0x4000;
    CHECK_EQ(run(e, 1000), RV_EXIT_BUDGET);
    CHECK_EQ(h->p->mcause, 1);
    CHECK_EQ(h->pc, 0x4000);
    tenv_free(e);
}

static void csr_basics(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    emit(&p, CSRRS(A0, CSR_MISA, 0));
    emit(&p, CSRRS(A1, CSR_MHARTID, 0));
    li(&p, T0, -1);
    emit(&p, CSRRW(0, CSR_MEDELEG, T0));
    emit(&p, CSRRS(A2, CSR_MEDELEG, 0));
    emit(&p, CSRRW(0, CSR_MIDELEG, T0));
    emit(&p, CSRRS(A3, CSR_MIDELEG, 0));
    emit(&p, CSRRW(0, CSR_MIE, T0));
    emit(&p, CSRRS(A4, CSR_SIE, 0));
    emit(&p, CSRRW(A5, CSR_MSTATUS, T0)); /* old value; writes all ones */
    emit(&p, CSRRS(A6, CSR_MSTATUS, 0));
    emit(&p, CSRRS(A7, CSR_SSTATUS, 0));
    emit(&p, CSRRWI(0, 0x3a0, 0x1f));     /* pmpcfg0 */
    emit(&p, CSRRS(S2, 0x3a0, 0));
    emit(&p, CSRRW(0, 0x3b0, T0));        /* pmpaddr0 */
    emit(&p, CSRRS(S3, 0x3b0, 0));
    emit(&p, CSRRS(S4, 0x7a0, 0));        /* tselect */
    li(&p, T1, 0x5ll << 60);              /* satp mode 5: unsupported */
    emit(&p, CSRRW(0, CSR_SATP, T1));
    emit(&p, CSRRS(S5, CSR_SATP, 0));
    emit(&p, CSRRS(S6, CSR_MINSTRET, 0));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], (2ull << 62) | 0x14112d);
    CHECK_EQ(h->x[A1], 0);
    CHECK_EQ(h->x[A2], 0xb3ff);
    CHECK_EQ(h->x[A3], 0x222);
    CHECK_EQ(h->x[A4], 0x222);
    CHECK_EQ(h->x[A5], (2ull << 32) | (2ull << 34));
    uint64_t ms = h->x[A6];
    CHECK((ms & MS_SD) && (ms & MS_FS) == MS_FS && (ms & MS_MPRV) && (ms & MS_TSR));
    CHECK_EQ((ms >> 32) & 0xf, 0xa); /* UXL = SXL = 2 */
    CHECK_EQ(h->x[A7] & (MS_MIE | MS_MPP | MS_TSR), 0);
    CHECK(h->x[A7] & MS_SIE);
    CHECK_EQ(h->x[S2], 0x1f);
    CHECK_EQ(h->x[S3], (1ull << 54) - 1);
    CHECK_EQ(h->x[S4], 0);
    CHECK_EQ(h->x[S5], 0);
    CHECK(h->x[S6] > 10 && h->x[S6] < 40);
    tenv_free(e);
}

static void counter_gating(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t user = RAM_BASE + 0x2000;
    struct prog u = {e, user};
    emit(&u, CSRRS(A0, CSR_TIME, 0));
    emit(&u, ADDI(A1, 0, 1));
    emit(&u, WFI); /* never reached */
    li(&p, T0, (int64_t)user);
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    emit(&p, MRET); /* MPP = U at reset */
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->p->mepc, user);
    CHECK_EQ(h->x[A1], 0);
    tenv_free(e);

    /* enabled in mcounteren + scounteren: U can read time */
    e = setup(&p);
    h = e->h;
    u.e = e;
    u.pc = user;
    e->clock.offset_ns = 0;
    emit(&u, CSRRS(A0, CSR_TIME, 0));
    emit(&u, CSRRS(A1, CSR_INSTRET, 0));
    emit(&u, ECALL);
    li(&p, T0, 7);
    emit(&p, CSRRW(0, CSR_MCOUNTEREN, T0));
    emit(&p, CSRRW(0, 0x106, T0)); /* scounteren */
    li(&p, T0, (int64_t)user);
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    emit(&p, MRET);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 8);
    CHECK(h->x[A0] > 0);
    CHECK(h->x[A1] >= 7);
    tenv_free(e);
}

static void lr_sc(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    w64(e, DATA, 100);
    li(&p, S0, DATA);
    li(&p, T1, 555);
    emit(&p, LR_D(A0, S0));
    emit(&p, ADDI(T0, A0, 1));
    emit(&p, SC_D(A1, S0, T0));        /* succeeds: 0 */
    emit(&p, SC_D(A2, S0, T1));        /* no reservation: 1 */
    emit(&p, LR_W(A3, S0));
    emit(&p, SD(T1, S0, 8));           /* unrelated store */
    emit(&p, SC_W(A4, S0, T1));        /* succeeds */
    emit(&p, LR_D(A5, S0));
    emit(&p, SC_D(A6, S0, T0));        /* value changed under us? no: succeeds */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 100);
    CHECK_EQ(h->x[A1], 0);
    CHECK_EQ(h->x[A2], 1);
    CHECK_EQ(h->x[A3], 101);
    CHECK_EQ(h->x[A4], 0);
    CHECK_EQ(h->x[A5], 555);
    CHECK_EQ(h->x[A6], 0);
    CHECK_EQ(r64(e, DATA), 101);
    tenv_free(e);

    /* SC fails when another hart changed the word between LR and SC
     * (the CAS against the LR value fails). */
    e = setup(&p);
    h = e->h;
    w64(e, DATA, 5);
    li(&p, S0, DATA);
    li(&p, T0, 9);
    emit(&p, LR_D(A0, S0));
    emit(&p, WFI);                      /* pause here */
    emit(&p, SC_D(A1, S0, T0));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    w64(e, DATA, 6);                    /* "other hart" */
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A1], 1);
    CHECK_EQ(r64(e, DATA), 6);
    tenv_free(e);

    /* a trap between LR and SC clears the reservation */
    e = setup(&p);
    h = e->h;
    h->p->mtvec = RAM_BASE + 0x1000;
    struct prog t = {e, RAM_BASE + 0x1000};
    emit(&t, CSRRS(T1, CSR_MEPC, 0));
    emit(&t, ADDI(T1, T1, 4));
    emit(&t, CSRRW(0, CSR_MEPC, T1));
    emit(&t, MRET);
    w64(e, DATA, 5);
    li(&p, S0, DATA);
    li(&p, T0, (3 << 11));
    emit(&p, CSRRS(0, CSR_MSTATUS, T0));   /* MPP = M for the mret */
    emit(&p, LR_D(A0, S0));
    emit(&p, ECALL);
    emit(&p, SC_D(A1, S0, T0));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A1], 1);
    CHECK_EQ(r64(e, DATA), 5);
    tenv_free(e);
}

static void amos(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    w64(e, DATA, 10);
    w64(e, DATA + 8, 0xfffffff0ffffffffull);
    li(&p, S0, DATA);
    li(&p, S1, DATA + 8);
    li(&p, T0, 5);
    li(&p, T1, -3);
    emit(&p, AMOADD_D(A0, S0, T0));    /* a0 = 10, mem 15 */
    emit(&p, AMOSWAP_D(A1, S0, T1));   /* a1 = 15, mem -3 */
    emit(&p, AMOMAXU_D(A2, S0, T0));   /* a2 = -3, mem -3 (unsigned max) */
    emit(&p, AMOMIN_W(A3, S1, T0));    /* low word -1 vs 5 -> -1 stays; a3 = -1 */
    emit(&p, AMOADD_W(A4, S1, T0));    /* a4 = -1 sext, low = 4 */
    emit(&p, AMOOR_W(A5, S1, T0));     /* a5 = 4, low = 5 */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 10);
    CHECK_EQ(h->x[A1], 15);
    CHECK_EQ(h->x[A2], (uint64_t)-3);
    CHECK_EQ(r64(e, DATA), (uint64_t)-3);
    CHECK_EQ(h->x[A3], ~0ull);
    CHECK_EQ(h->x[A4], ~0ull);
    CHECK_EQ(h->x[A5], 4);
    CHECK_EQ(r64(e, DATA + 8), 0xfffffff000000005ull);
    tenv_free(e);

    /* misaligned AMO -> store/AMO address misaligned (6) */
    e = setup(&p);
    h = e->h;
    li(&p, S0, DATA + 4);
    emit(&p, AMOADD_D(A0, S0, T0));
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 6);
    CHECK_EQ(h->p->mtval, DATA + 4);
    tenv_free(e);

    /* misaligned LR -> load address misaligned (4) */
    e = setup(&p);
    h = e->h;
    li(&p, S0, DATA + 2);
    emit(&p, LR_W(A0, S0));
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 4);
    tenv_free(e);
}

static void mmio_and_access_faults(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    e->fb.dev[1] = 0x1122334455667788ull;
    li(&p, S0, DEV_BASE);
    li(&p, T0, 0xabcd);
    emit(&p, LD(A0, S0, 8));
    emit(&p, LW(A1, S0, 12));
    emit(&p, SH(T0, S0, 16));
    emit(&p, LD(A2, S0, 16));
    li(&p, S1, 0x40000000);
    emit(&p, LW(A3, S1, 0));           /* nothing there: load access fault */
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 0x1122334455667788ull);
    CHECK_EQ(h->x[A1], 0x11223344);
    CHECK_EQ(h->x[A2], 0xabcd);
    CHECK_EQ(h->p->mcause, 5);
    CHECK_EQ(h->p->mtval, 0x40000000);
    tenv_free(e);

    e = setup(&p);
    h = e->h;
    li(&p, S1, 0x40000000);
    emit(&p, SD(S1, S1, 8));            /* store access fault */
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 7);
    CHECK_EQ(h->p->mtval, 0x40000008);
    tenv_free(e);

    /* misaligned MMIO -> access fault */
    e = setup(&p);
    h = e->h;
    li(&p, S0, DEV_BASE);
    emit(&p, LW(A0, S0, 2));
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 5);
    tenv_free(e);

    /* jumping to nowhere: instruction access fault */
    e = setup(&p);
    h = e->h;
    li(&p, S0, 0x40000000);
    emit(&p, JALR(0, S0, 0));
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 1);
    CHECK_EQ(h->p->mtval, 0x40000000);
    tenv_free(e);
}

static void wfi_and_exit_reasons(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t loop = p.pc;
    emit(&p, ADDI(A0, A0, 1));
    emit(&p, JAL(0, (int32_t)(loop - p.pc)));
    CHECK_EQ(run(e, 10000), RV_EXIT_BUDGET);
    CHECK(h->instret >= 10000 && h->instret < 10000 + 8);
    CHECK(h->x[A0] >= 4999 && h->x[A0] <= 5004);
    atomic_store(&h->exit_request, 1);
    CHECK_EQ(run(e, 10000), RV_EXIT_REQUEST);
    CHECK_EQ(atomic_load(&h->exit_request), 0);
    uint64_t before = h->instret;
    CHECK_EQ(run(e, 100), RV_EXIT_BUDGET);
    CHECK(h->instret - before >= 100 && h->instret - before < 108);
    tenv_free(e);

    /* WFI with an enabled pending interrupt (MIE off) does not stop;
     * WFI with nothing pending exits with pc past the WFI. */
    e = setup(&p);
    h = e->h;
    li(&p, T0, RV_MIP_MSIP);
    emit(&p, CSRRW(0, CSR_MIE, T0));
    emit(&p, WFI);
    emit(&p, ADDI(A0, 0, 1));
    emit(&p, CSRRW(0, CSR_MIE, 0));
    emit(&p, WFI);
    uint64_t last_wfi = p.pc - 4;
    emit(&p, ADDI(A1, 0, 2));
    emit(&p, WFI);
    rv_hart_set_irq(h, RV_MIP_MSIP, true);
    CHECK(!rv_hart_wakeup_pending(h)); /* mie still 0 */
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 1);
    CHECK_EQ(h->pc, last_wfi + 4);
    CHECK_EQ(h->x[A1], 0);
    CHECK(!rv_hart_wakeup_pending(h));
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A1], 2);
    tenv_free(e);

    /* WFI in U-mode is illegal */
    e = setup(&p);
    h = e->h;
    struct prog u = {e, RAM_BASE + 0x2000};
    emit(&u, WFI);
    li(&p, T0, (int64_t)(RAM_BASE + 0x2000));
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    emit(&p, MRET);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 2);
    CHECK_EQ(h->p->mtval, WFI);
    tenv_free(e);
}

static void mtip_from_mtimecmp(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    atomic_store(&h->mtimecmp, UINT64_MAX);
    li(&p, T0, RV_MIP_MTIP);
    emit(&p, CSRRW(0, CSR_MIE, T0));
    emit(&p, CSRRSI(0, CSR_MSTATUS, 8)); /* MIE */
    uint64_t loop = p.pc;
    emit(&p, ADDI(A0, A0, 1));
    emit(&p, JAL(0, (int32_t)(loop - p.pc)));
    CHECK_EQ(run(e, 5000), RV_EXIT_BUDGET);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(rv_hart_next_timer(h), UINT64_MAX);
    atomic_store(&h->mtimecmp, 0); /* CLINT: fire now */
    CHECK_EQ(rv_hart_next_timer(h), 0);
    CHECK(rv_hart_wakeup_pending(h));
    /* the halt loop's WFI does not stop: MTIP is pending and enabled */
    CHECK_EQ(run(e, 5000), RV_EXIT_BUDGET);
    CHECK(h->pc == HALT || h->pc == HALT + 4);
    CHECK_EQ(h->p->mcause, CAUSE_INT | 7);
    CHECK(h->p->mepc >= loop && h->p->mepc <= loop + 4);
    CHECK(atomic_load(&h->mip) & RV_MIP_MTIP);
    atomic_store(&h->mtimecmp, UINT64_MAX);
    CHECK_EQ(run(e, 10), RV_EXIT_WFI); /* timer re-armed: now WFI sleeps */
    CHECK(!(atomic_load(&h->mip) & RV_MIP_MTIP));
    tenv_free(e);
}

static void interrupt_priority_and_delegation(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t stvec = RAM_BASE + 0x3000, sup = RAM_BASE + 0x2000;
    put_halt(e, stvec);
    struct prog s = {e, sup};
    emit(&s, CSRRSI(0, CSR_SSTATUS, 2));  /* SIE: take SSI now */
    emit(&s, ADDI(A0, 0, 1));
    li(&p, T0, RV_MIP_SSIP | RV_MIP_STIP);
    emit(&p, CSRRW(0, CSR_MIDELEG, T0));
    li(&p, T0, RV_MIP_SSIP | RV_MIP_STIP | RV_MIP_MSIP);
    emit(&p, CSRRW(0, CSR_MIE, T0));
    li(&p, T0, (int64_t)stvec | 1);         /* vectored */
    emit(&p, CSRRW(0, CSR_STVEC, T0));
    li(&p, T0, RV_MIP_SSIP | RV_MIP_STIP);
    emit(&p, CSRRS(0, CSR_MIP, T0));      /* both pending */
    li(&p, T0, (int64_t)sup);
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    li(&p, T0, 1 << 11);
    emit(&p, CSRRS(0, CSR_MSTATUS, T0));  /* MPP = S */
    emit(&p, MRET);
    /* vectored: SSI (cause 1) lands at stvec + 4 */
    put_halt(e, stvec + 4);
    CHECK_EQ(run(e, 1000), RV_EXIT_BUDGET); /* WFI: SSIP stays pending */
    CHECK_EQ(h->priv, RV_PRIV_S);
    CHECK_EQ(h->p->scause, CAUSE_INT | 1); /* SSI before STI */
    CHECK_EQ(h->p->sepc, sup + 4);
    CHECK_EQ(h->x[A0], 0);
    CHECK(h->pc == stvec + 4 || h->pc == stvec + 8);
    tenv_free(e);

    /* Non-delegated MSIP while in S with MIE=0 is still taken (priv < M) */
    e = setup(&p);
    h = e->h;
    s.e = e;
    s.pc = sup;
    emit(&s, ADDI(A0, 0, 1));
    emit(&s, JAL(0, 0));
    li(&p, T0, RV_MIP_MSIP);
    emit(&p, CSRRW(0, CSR_MIE, T0));
    li(&p, T0, (int64_t)sup);
    emit(&p, CSRRW(0, CSR_MEPC, T0));
    li(&p, T0, 1 << 11);
    emit(&p, CSRRS(0, CSR_MSTATUS, T0));
    emit(&p, MRET);
    CHECK_EQ(run(e, 100), RV_EXIT_BUDGET);
    CHECK_EQ(h->priv, RV_PRIV_S);
    rv_hart_set_irq(h, RV_MIP_MSIP, true);
    CHECK_EQ(run(e, 5000), RV_EXIT_BUDGET);
    CHECK_EQ(h->priv, RV_PRIV_M);
    CHECK_EQ(h->p->mcause, CAUSE_INT | 3);
    CHECK_EQ((h->mstatus >> 11) & 3, 1);
    tenv_free(e);
}

/* mip.SEIP = software bit | PLIC line; CSRRS on mip must not latch the
 * line into the software bit (that caused an SEI storm under OpenSBI). */
static void mip_seip_software_bit(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    emit(&p, CSRRSI(0, CSR_MIP, 2));      /* set SSIP while the line is high */
    emit(&p, CSRRS(A0, CSR_MIP, 0));
    emit(&p, WFI);                        /* test drops the line here */
    emit(&p, CSRRS(A1, CSR_MIP, 0));
    li(&p, T0, RV_MIP_SEIP);
    emit(&p, CSRRS(0, CSR_MIP, T0));      /* software SEIP */
    emit(&p, CSRRS(A2, CSR_MIP, 0));
    emit(&p, CSRRC(0, CSR_MIP, T0));
    emit(&p, CSRRS(A3, CSR_MIP, 0));
    emit(&p, WFI);
    rv_hart_set_irq(h, RV_MIP_SEIP, true);
    CHECK_EQ(run(e, 100), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0] & (RV_MIP_SEIP | RV_MIP_SSIP), RV_MIP_SEIP | RV_MIP_SSIP);
    rv_hart_set_irq(h, RV_MIP_SEIP, false);
    CHECK_EQ(run(e, 100), RV_EXIT_WFI);
    CHECK_EQ(h->x[A1] & (RV_MIP_SEIP | RV_MIP_SSIP), RV_MIP_SSIP);
    CHECK_EQ(h->x[A2] & RV_MIP_SEIP, RV_MIP_SEIP);
    CHECK_EQ(h->x[A3] & RV_MIP_SEIP, 0);
    tenv_free(e);
}

/* instret is exact wherever it can be observed: at CSR reads, at traps
 * taken in the middle of straight-line code, after a store that patches
 * the running block, around a 32-bit instruction straddling two pages, and
 * whatever the budget of each rv_hart_run call. */
static void instret_prog(struct tenv *e, unsigned *kp)
{
    struct rv_hart *h = e->h;
    /* M-mode trap handler: s10 = minstret at entry; skip the insn. */
    struct prog t = {e, RAM_BASE + 0x3000};
    emit(&t, CSRRS(S10, CSR_MINSTRET, 0));
    emit(&t, CSRRS(T5, CSR_MEPC, 0));
    emit(&t, ADDI(T5, T5, 4));
    emit(&t, CSRRW(0, CSR_MEPC, T5));
    emit(&t, MRET);
    h->p->mtvec = RAM_BASE + 0x3000;
    struct prog p = {e, RAM_BASE};
    unsigned k = 0; /* instructions retired so far */
#define E(i) (emit(&p, (i)), k++)
    E(ADDI(T1, 0, 0x13));           /* t1 = NOP */
    E(ADDI(A0, 0, 1));
    E(ADDI(A0, A0, 1));
    E(ADDI(S7, 0, (int32_t)k + 1)); /* expected minstret at the fault */
    emit(&p, LD(T0, 0, 0));         /* access fault: not retired */
    k += 5;
    E(ADDI(S2, S10, 0));
    emit16(&p, 0x0505), k++;        /* c.addi a0, 1 */
    emit16(&p, 0x0001), k++;        /* c.nop */
    E(ADDI(S8, 0, (int32_t)k + 1));
    emit(&p, EBREAK);
    k += 5;
    E(ADDI(S3, S10, 0));
    /* patch the 4th instruction from the auipc (li a1, 99 -> nop) */
    E(AUIPC(S0, 0));
    E(SW(T1, S0, 12));
    E(ADDI(A0, A0, 1));
    E(ADDI(A1, 0, 99));
    E(CSRRS(S4, CSR_MINSTRET, 0));  /* reads k - 1 */
    /* jump to a 32-bit instruction straddling the next page boundary */
    uint64_t pb = RAM_BASE + 0x2000;
    E(JAL(0, (int32_t)(pb - 2 - p.pc)));
    p.pc = pb - 2;
    E(ADDI(A0, A0, 1));
    E(ADDI(A0, A0, 1));
    E(CSRRS(S5, CSR_MINSTRET, 0));
    E(ADDI(S9, 0, (int32_t)k + 1));
    emit(&p, 0);                    /* illegal */
    k += 5;
    E(ADDI(S6, S10, 0));
    E(ADDI(S11, 0, (int32_t)k + 1));
    emit(&p, ECALL);                /* M-mode ecall traps */
    k += 5;
    E(ADDI(A2, S10, 0));
    E(ADDI(A0, A0, 1));
    emit(&p, WFI), k++;
#undef E
    *kp = k;
}

static void instret_exact(void)
{
    static const uint64_t budgets[] = {1000, 1, 2, 3, 7};
    for (unsigned b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
        struct prog p;
        struct tenv *e = setup(&p);
        struct rv_hart *h = e->h;
        unsigned k;
        instret_prog(e, &k);
        int rc, calls = 0;
        while ((rc = run(e, budgets[b])) == RV_EXIT_BUDGET && calls < 1000)
            calls++;
        CHECK_EQ(rc, RV_EXIT_WFI);
        CHECK_EQ(h->instret, k);
        CHECK_EQ(h->x[A0], 7);
        CHECK_EQ(h->x[A1], 0);             /* patched before it ran */
        CHECK_EQ(h->x[S2], h->x[S7]);    /* at the load fault */
        CHECK_EQ(h->x[S3], h->x[S8]);    /* at the ebreak */
        CHECK_EQ(h->x[S6], h->x[S9]);    /* at the illegal insn */
        CHECK_EQ(h->x[A2], h->x[S11]);   /* at the ecall */
        CHECK_EQ(h->x[S4], h->x[S3] + 5 + 1 + 4);
        CHECK_EQ(h->x[S5], h->x[S4] + 4);
        CHECK_EQ(h->p->mcause, EXC_ECALL_M);
        if (budgets[b] == 1)
            CHECK(calls >= 8);
        tenv_free(e);
    }
}

/* ---- superinstructions: a random mix of the fusable instruction forms,
 * run once as is and once with a NOP after every instruction (which keeps
 * any two of them from being fused): same registers, same memory. Pairs of
 * the forms in RV_PAIRS are emitted on purpose, with random lengths, and
 * the code spans several pages (fusion and decoding at page ends). ---- */
static uint32_t fz_state;
static uint32_t fz_rnd(uint32_t n)
{
    fz_state = fz_state * 1103515245u + 12345u;
    return (fz_state >> 8) % n;
}
/* destinations avoid x0 and the memory bases sp (x2) and s0 (x8) */
static unsigned fz_rd(void)
{
    static const uint8_t r[] = {1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
    return r[fz_rnd(sizeof(r))];
}
static unsigned fz_rdc(void) { return 9 + fz_rnd(7); } /* x9..x15 */
static unsigned fz_rs(void) { return fz_rnd(32); }
static int32_t fz_imm6(void) { return (int32_t)fz_rnd(63) - 31 ?: 1; } /* nonzero */
#define CI(f3, rd, imm) (uint16_t)((f3) << 13 | ((imm) & 0x20) << 7 | (rd) << 7 | ((imm) & 0x1f) << 2 | 1)
#define CR(f4, rd, rs2) (uint16_t)((f4) << 12 | (rd) << 7 | (rs2) << 2 | 2)
#define CA(hi, rd, f, rs2) (uint16_t)(0x8c01 | (hi) << 12 | ((rd) - 8) << 7 | (f) << 5 | ((rs2) - 8) << 2)
#define CLS(f3, r, off) (uint16_t)((f3) << 13 | (((off) >> 3) & 7) << 10 | (r) << 2)

enum { FZ_OR, FZ_XOR, FZ_AND, FZ_ADD, FZ_SUB, FZ_ADDW, FZ_SUBW, FZ_ADDI, FZ_ADDIW, FZ_SLLI,
       FZ_SRLI, FZ_SLLIW, FZ_SRLIW, FZ_MV, FZ_LI, FZ_LUI, FZ_LW, FZ_LD, FZ_LBU, FZ_SW, FZ_SD,
       FZ_SB, FZ_XORI, FZ_SRAIW, FZ_SLL, FZ_N };

static void fz_emit(struct prog *p, int k, bool c)
{
    unsigned rd = fz_rd(), a = fz_rs(), b = fz_rs();
    unsigned rc = fz_rdc(), bc = fz_rdc();
    unsigned off4 = fz_rnd(32) * 4, off8 = fz_rnd(32) * 8;
    switch (k) {
    case FZ_OR: case FZ_XOR: case FZ_AND: case FZ_SUB: {
        static const unsigned f[] = {[FZ_OR] = 2, [FZ_XOR] = 1, [FZ_AND] = 3, [FZ_SUB] = 0};
        if (c)
            emit16(p, CA(0, rc, f[k], bc));
        else
            emit(p, k == FZ_OR ? OR(rd, a, b) : k == FZ_XOR ? XOR(rd, a, b)
                    : k == FZ_AND ? AND(rd, a, b) : SUB(rd, a, b));
        break;
    }
    case FZ_ADDW: case FZ_SUBW:
        if (c)
            emit16(p, CA(1, rc, k == FZ_ADDW ? 1 : 0, bc));
        else
            emit(p, k == FZ_ADDW ? ADDW(rd, a, b) : SUBW(rd, a, b));
        break;
    case FZ_ADD:
        if (c)
            emit16(p, CR(9, rd, b ? b : 1));        /* c.add */
        else
            emit(p, ADD(rd, a, b));
        break;
    case FZ_MV:
        if (c)
            emit16(p, CR(8, rd, b ? b : 1));        /* c.mv */
        else
            emit(p, fz_rnd(2) ? ADDI(rd, a, 0) : ADD(rd, 0, a));
        break;
    case FZ_ADDI:
        if (c)
            emit16(p, CI(0, rd, fz_imm6()));        /* c.addi */
        else
            emit(p, ADDI(rd, a ? a : 1, (int32_t)fz_rnd(4096) - 2048));
        break;
    case FZ_LI:
        if (c)
            emit16(p, CI(2, rd, fz_imm6()));        /* c.li */
        else
            emit(p, ADDI(rd, 0, (int32_t)fz_rnd(4096) - 2048));
        break;
    case FZ_ADDIW:
        if (c)
            emit16(p, CI(1, rd, fz_imm6()));        /* c.addiw */
        else
            emit(p, ADDIW(rd, a, (int32_t)fz_rnd(4096) - 2048));
        break;
    case FZ_SLLI:
        if (c)
            emit16(p, (uint16_t)(CI(0, rd, (int32_t)fz_rnd(63) + 1) & ~3u) | 2); /* c.slli */
        else
            emit(p, SLLI(rd, a, (int32_t)fz_rnd(64)));
        break;
    case FZ_SRLI:
        if (c)
            emit16(p, (uint16_t)(0x8001 | CI(0, rc - 8, (int32_t)fz_rnd(63) + 1))); /* c.srli */
        else
            emit(p, SRLI(rd, a, (int32_t)fz_rnd(64)));
        break;
    case FZ_SLLIW: emit(p, SLLIW(rd, a, (int32_t)fz_rnd(32))); break;
    case FZ_SRLIW: emit(p, SRLIW(rd, a, (int32_t)fz_rnd(32))); break;
    case FZ_SRAIW: emit(p, SRAIW(rd, a, (int32_t)fz_rnd(32))); break;
    case FZ_XORI: emit(p, XORI(rd, a, (int32_t)fz_rnd(4096) - 2048)); break;
    case FZ_SLL: emit(p, SLL(rd, a, b)); break;
    case FZ_LUI:
        if (c)
            emit16(p, CI(3, rd == 2 ? 1 : rd, fz_imm6())); /* c.lui */
        else
            emit(p, LUI(rd, (int32_t)(fz_rnd(1u << 20) << 12)));
        break;
    case FZ_LW:
        if (c) /* c.lw rc, off4(s0) */
            emit16(p, (uint16_t)(CLS(2, rc - 8, off4) | ((off4 >> 2) & 1) << 6 | ((off4 >> 6) & 1) << 5));
        else
            emit(p, LW(rd, fz_rnd(2) ? S0 : SP, (int32_t)off4));
        break;
    case FZ_LD:
        if (c) /* c.ld rc, off8(s0) */
            emit16(p, (uint16_t)(CLS(3, rc - 8, off8) | ((off8 >> 6) & 3) << 5));
        else
            emit(p, LD(rd, fz_rnd(2) ? S0 : SP, (int32_t)off8));
        break;
    case FZ_SW:
        if (c) /* c.sw bc, off4(s0) */
            emit16(p, (uint16_t)(CLS(6, bc - 8, off4) | ((off4 >> 2) & 1) << 6 | ((off4 >> 6) & 1) << 5));
        else
            emit(p, SW(b, fz_rnd(2) ? S0 : SP, (int32_t)off4));
        break;
    case FZ_SD:
        if (c) /* c.sd bc, off8(s0) */
            emit16(p, (uint16_t)(CLS(7, bc - 8, off8) | ((off8 >> 6) & 3) << 5));
        else
            emit(p, SD(b, fz_rnd(2) ? S0 : SP, (int32_t)off8));
        break;
    case FZ_LBU: emit(p, LBU(rd, fz_rnd(2) ? S0 : SP, (int32_t)fz_rnd(256))); break;
    case FZ_SB: emit(p, SB(b, fz_rnd(2) ? S0 : SP, (int32_t)fz_rnd(256))); break;
    }
}

static bool fz_has_c(int k)
{
    return !(k == FZ_SLLIW || k == FZ_SRLIW || k == FZ_SRAIW || k == FZ_XORI || k == FZ_SLL ||
             k == FZ_LBU || k == FZ_SB);
}

static void fuse_differential(void)
{
    /* the pairs of RV_PAIRS (AUIPC, whose value depends on the pc, aside) */
    static const uint8_t pairs[][2] = {
        {FZ_OR, FZ_XOR}, {FZ_SLLIW, FZ_SRLIW}, {FZ_MV, FZ_MV}, {FZ_ADDIW, FZ_ADDIW},
        {FZ_ADDW, FZ_ADDW}, {FZ_XOR, FZ_ADDW}, {FZ_SRLIW, FZ_SLLIW}, {FZ_OR, FZ_SRLIW},
        {FZ_AND, FZ_AND}, {FZ_OR, FZ_SLLIW}, {FZ_SD, FZ_SD}, {FZ_LW, FZ_SRLIW},
        {FZ_ADDI, FZ_ADDI}, {FZ_LBU, FZ_LBU}, {FZ_LD, FZ_LD}, {FZ_ADDIW, FZ_ADDW},
        {FZ_LW, FZ_SLLIW}, {FZ_SLLI, FZ_ADD}, {FZ_LW, FZ_XOR}, {FZ_ADDI, FZ_AND},
        {FZ_SB, FZ_ADDI}, {FZ_SLLI, FZ_SRLI}, {FZ_ADD, FZ_ADD}, {FZ_LD, FZ_ADDI},
        {FZ_SW, FZ_ADDI}};
    for (uint32_t seed = 1; seed <= 12; seed++) {
        struct tenv *env[2];
        unsigned count[2];
        for (int w = 0; w < 2; w++) {
            struct prog p;
            struct tenv *e = env[w] = setup(&p);
            fz_state = seed;
            for (int r = 1; r < 32; r++)
                e->h->x[r] = (uint64_t)fz_rnd(1u << 24) << 40 ^ (uint64_t)fz_rnd(1u << 24) << 16 ^
                             fz_rnd(1u << 16);
            e->h->x[SP] = DATA + 0x400;
            e->h->x[S0] = DATA;
            for (unsigned i = 0; i < 0x800; i += 4)
                w32(e, DATA + i, fz_rnd(1u << 24) * 0x9e3779b1u);
            unsigned n = 0;
            for (int g = 0; g < 1800; g++) { /* 3+ pages */
                int k[2], m = 1;
                if (fz_rnd(3)) {
                    const uint8_t *pr = pairs[fz_rnd(sizeof(pairs) / sizeof(pairs[0]))];
                    k[0] = pr[0], k[1] = pr[1], m = 2;
                } else {
                    k[0] = (int)fz_rnd(FZ_N);
                }
                for (int j = 0; j < m; j++) {
                    bool c = fz_has_c(k[j]) && fz_rnd(2);
                    fz_emit(&p, k[j], c);
                    n++;
                    if (w) {
                        emit(&p, NOP);
                        n++;
                    }
                }
            }
            emit(&p, WFI);
            count[w] = n + 1;
        }
        for (int w = 0; w < 2; w++) {
            CHECK_EQ(run(env[w], 100000), RV_EXIT_WFI);
            CHECK_EQ(env[w]->h->instret, count[w]);
            CHECK_EQ(env[w]->h->p->mcause, 0); /* no trap */
        }
        for (int r = 0; r < 32; r++)
            CHECK_EQ(env[0]->h->x[r], env[1]->h->x[r]);
        CHECK(memcmp(ram_ptr(env[0], DATA), ram_ptr(env[1], DATA), 0x800) == 0);
        tenv_free(env[0]);
        tenv_free(env[1]);
    }
}

/* Pairs and in-page jumps: a jump into the second instruction of a pair
 * runs just that one; a fault in the second instruction of a pair is
 * precise; a store in a pair that patches the next instruction is seen. */
static void fuse_edges(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    li(&p, A0, 0);
    li(&p, A1, 0);
    emit(&p, JAL(0, 8));                 /* into the second addi */
    emit(&p, ADDI(A0, A0, 1));           /* ADDI+ADDI pair */
    emit(&p, ADDI(A1, A1, 1));
    emit(&p, ADDI(A2, A1, 10));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 0);
    CHECK_EQ(h->x[A1], 1);
    CHECK_EQ(h->x[A2], 11);
    tenv_free(e);

    /* ld; ld (faults): first done, mepc/mtval/instret at the second */
    e = setup(&p);
    h = e->h;
    w64(e, DATA, 0x1122334455667788ull);
    li(&p, S0, DATA);                    /* 2 insns (lui+addiw) */
    li(&p, S1, 0x100);                   /* 1 */
    uint64_t ld2 = p.pc + 4;
    emit(&p, LD(A0, S0, 0));             /* LD+LD pair */
    emit(&p, LD(A1, S1, 0));             /* address 0x100: access fault */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI); /* the halt loop's WFI */
    CHECK_EQ(h->x[A0], 0x1122334455667788ull);
    CHECK_EQ(h->p->mcause, EXC_LOAD_ACCESS);
    CHECK_EQ(h->p->mepc, ld2);
    CHECK_EQ(h->p->mtval, 0x100);
    CHECK_EQ(h->instret, (ld2 - RAM_BASE) / 4 + 1); /* ... + the halt's wfi */
    tenv_free(e);

    /* sd; sd: the first overwrites the second (and the one after) with
     * nops before it runs */
    e = setup(&p);
    h = e->h;
    li(&p, T0, (int64_t)((uint64_t)NOP << 32 | NOP));
    emit(&p, AUIPC(S0, 0));
    emit(&p, ADDI(S0, S0, 12));          /* s0 = address of the 2nd sd */
    emit(&p, SD(T0, S0, 0));             /* SD+SD pair: patches ... */
    emit(&p, SD(S0, S0, 0x100));         /* ... this one and the next */
    emit(&p, ADDI(A0, 0, 5));
    emit(&p, WFI);
    uint64_t second = p.pc - 12;
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(r32(e, second), NOP);
    CHECK_EQ(r64(e, second + 0x100), 0);
    CHECK_EQ(h->x[A0], 0);
    CHECK_EQ(h->pc, p.pc);
    tenv_free(e);

    /* in-page branches to the first and last slot of a page, a backward
     * loop, a branch to itself that is not taken, and jal/jr links */
    e = setup(&p);
    h = e->h;
    uint64_t pg = RAM_BASE + 0x3000;
    p.pc = pg;
    emit(&p, JAL(0, 0xffa));             /* to pg + 0xffa */
    uint64_t back = p.pc;
    emit(&p, ADDI(A0, A0, 1));           /* pg + 4 */
    emit(&p, BNE(A0, A1, -4));           /* loop until a0 == a1 */
    emit(&p, BEQ(A0, A2, 0));            /* a0 != a2: not taken */
    emit(&p, JAL(RA, 8));
    emit(&p, WFI);
    emit(&p, ADDI(A3, RA, 0));
    emit(&p, JALR(0, RA, 0));            /* back to the wfi */
    p.pc = pg + 0xffa;
    emit16(&p, 0x0001);                  /* c.nop */
    emit(&p, JAL(0, -0xff8));            /* last slots of the page -> back */
    h->pc = pg;
    h->x[A1] = 7;
    h->x[A2] = 100;
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 7);
    CHECK_EQ(h->x[A3], back + 16);
    CHECK_EQ(h->pc, back + 20);
    tenv_free(e);
}

static void smc_fence_i(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t f = RAM_BASE + 0x1000;
    struct prog fn = {e, f};
    emit(&fn, ADDI(A0, A0, 1));
    emit(&fn, JALR(0, RA, 0));
    li(&p, S0, (int64_t)f);
    li(&p, T0, ADDI(A0, A0, 100));
    emit(&p, JALR(RA, S0, 0));            /* a0 = 1 */
    emit(&p, SW(T0, S0, 0));              /* patch */
    emit(&p, FENCE_I);
    emit(&p, JALR(RA, S0, 0));            /* a0 = 101 */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 101);
    tenv_free(e);
}

static void smc_same_page_no_fence(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    /* Patch the very next instruction of the running page (no fence.i:
     * our stores to code are always seen). */
    li(&p, T0, ADDI(A0, 0, 77));
    emit(&p, AUIPC(S0, 0));
    emit(&p, SW(T0, S0, 8));
    emit(&p, ADDI(A0, 0, 1));            /* overwritten before it runs */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->x[A0], 77);
    tenv_free(e);

    /* A loop that patches itself: the patched branch exits the loop. */
    e = setup(&p);
    h = e->h;
    li(&p, S0, 0);
    emit(&p, AUIPC(S1, 0));
    uint64_t top = p.pc;
    /* top: addi s0,s0,1; li t1,50; bne s0,t1,jal; li t2,NOP; sw t2,(jal);
     * jal: j top (patched into a nop at s0 == 50); wfi */
    emit(&p, ADDI(S0, S0, 1));
    emit(&p, ADDI(T1, 0, 50));
    emit(&p, BNE(S0, T1, 12));
    li(&p, T2, NOP);                             /* 1 insn (fits 12 bits) */
    emit(&p, SW(T2, S1, 24));                    /* patch the jal below */
    emit(&p, JAL(0, (int32_t)(top - p.pc)));     /* at s1 + 24 */
    emit(&p, WFI);
    CHECK_EQ(r32(e, RAM_BASE + 4 + 24), JAL(0, -20));
    CHECK_EQ(run(e, 10000), RV_EXIT_WFI);
    CHECK_EQ(h->x[S0], 50);
    tenv_free(e);
}

static void smc_second_hart_and_dma(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *a = e->h;
    struct rv_hart *b = tenv_add_hart(e, 1);
    CHECK(b != NULL);
    if (!b) {
        tenv_free(e);
        return;
    }
    b->p->mtvec = HALT;
    uint64_t f = RAM_BASE + 0x1000;
    struct prog fn = {e, f};
    emit(&fn, ADDI(A0, 0, 1));
    emit(&fn, WFI);
    /* hart A runs f */
    a->pc = f;
    CHECK_EQ(rv_hart_run(a, 100), RV_EXIT_WFI);
    CHECK_EQ(a->x[A0], 1);
    /* hart B patches f through its own store path */
    struct prog bp = {e, RAM_BASE + 0x2000};
    li(&bp, S0, (int64_t)f);
    li(&bp, T0, ADDI(A0, 0, 2));
    emit(&bp, SW(T0, S0, 0));
    emit(&bp, WFI);
    b->pc = RAM_BASE + 0x2000;
    CHECK_EQ(rv_hart_run(b, 100), RV_EXIT_WFI);
    CHECK_EQ(r32(e, f), ADDI(A0, 0, 2));
    /* hart A runs f again and sees the new instruction */
    a->pc = f;
    CHECK_EQ(rv_hart_run(a, 100), RV_EXIT_WFI);
    CHECK_EQ(a->x[A0], 2);
    /* B patches again after a write-TLB entry could exist: still seen */
    b->pc = RAM_BASE + 0x2000;
    b->x[T0] = 0;
    w32(e, RAM_BASE + 0x2000 + 0, ADDI(T0, 0, 3) | 0); /* li t0, 3 ... */
    {
        struct prog bq = {e, RAM_BASE + 0x2000};
        li(&bq, S0, (int64_t)f);
        li(&bq, T0, ADDI(A0, 0, 3));
        emit(&bq, SW(T0, S0, 0));
        emit(&bq, WFI);
        rv_codemap_written(e->cm, RAM_BASE + 0x2000, 64); /* we rewrote B's code */
    }
    CHECK_EQ(rv_hart_run(b, 100), RV_EXIT_WFI);
    a->pc = f;
    CHECK_EQ(rv_hart_run(a, 100), RV_EXIT_WFI);
    CHECK_EQ(a->x[A0], 3);
    /* DMA */
    w32(e, f, ADDI(A0, 0, 4));
    rv_codemap_written(e->cm, f, 4);
    a->pc = f;
    CHECK_EQ(rv_hart_run(a, 100), RV_EXIT_WFI);
    CHECK_EQ(a->x[A0], 4);
    /* Remote fence.i (rv_hart_flush_icache) also drops decoded code */
    w32(e, f, ADDI(A0, 0, 5)); /* behind everyone's back */
    rv_hart_flush_icache(a);
    a->pc = f;
    CHECK_EQ(rv_hart_run(a, 100), RV_EXIT_WFI);
    CHECK_EQ(a->x[A0], 5);
    rv_hart_free(b);
    tenv_free(e);
}

static void builtin_sbi(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t entry = RAM_BASE + 0x2000;
    struct prog s = {e, entry};
    emit(&s, ADDI(A7, 0, 21));
    emit(&s, ECALL);
    emit(&s, ADDI(A2, A1, 1));
    emit(&s, WFI);
    rv_hart_boot_supervisor(h, entry, 0x82000000);
    CHECK_EQ(h->priv, RV_PRIV_S);
    CHECK_EQ(h->x[A1], 0x82000000);
    e->fb.sbi_ret = true;
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(e->fb.sbi_calls, 1);
    CHECK_EQ(h->x[A1], 42);
    CHECK_EQ(h->x[A2], 43);
    CHECK_EQ(h->p->medeleg, 0xb1ff);
    CHECK_EQ(h->p->mcounteren, 7);
    CHECK_EQ(h->p->scounteren, 7);
    CHECK_EQ(h->p->mideleg, 0x222);
    tenv_free(e);

    /* handler refuses: normal trap to M (cause 9) */
    e = setup(&p);
    h = e->h;
    s.e = e;
    s.pc = entry;
    emit(&s, ECALL);
    rv_hart_boot_supervisor(h, entry, 0);
    h->p->mtvec = HALT;
    e->fb.sbi_ret = false;
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(e->fb.sbi_calls, 1);
    CHECK_EQ(h->p->mcause, 9);
    CHECK_EQ(h->priv, RV_PRIV_M);
    tenv_free(e);
}

static void sbi_timer_stip(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    uint64_t entry = RAM_BASE + 0x2000, stvec = RAM_BASE + 0x3000;
    put_halt(e, stvec);
    struct prog s = {e, entry};
    li(&s, T0, (int64_t)stvec);
    emit(&s, CSRRW(0, CSR_STVEC, T0));
    li(&s, T0, RV_MIP_STIP);
    emit(&s, CSRRW(0, CSR_SIE, T0));
    emit(&s, CSRRSI(0, CSR_SSTATUS, 2));
    uint64_t loop = s.pc;
    emit(&s, JAL(0, 0));
    rv_hart_boot_supervisor(h, entry, 0);
    rv_hart_set_timer(h, UINT64_MAX - 1);
    CHECK_EQ(run(e, 3000), RV_EXIT_BUDGET);
    CHECK_EQ(h->pc, loop);
    CHECK_EQ(rv_hart_next_timer(h), UINT64_MAX - 1);
    rv_hart_set_timer(h, 1);
    CHECK(atomic_load(&h->mip) & RV_MIP_STIP);
    CHECK_EQ(run(e, 3000), RV_EXIT_BUDGET);
    CHECK_EQ(h->p->scause, CAUSE_INT | 5);
    CHECK_EQ(h->p->sepc, loop);
    rv_hart_set_timer(h, UINT64_MAX - 1);
    CHECK(!(atomic_load(&h->mip) & RV_MIP_STIP));
    tenv_free(e);
}

static void fp_loads_stores(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *h = e->h;
    w64(e, DATA, 0x400921fb54442d18ull);
    w32(e, DATA + 8, 0x3f800000u);
    li(&p, T0, 1 << 13);
    emit(&p, CSRRS(0, CSR_MSTATUS, T0)); /* FS = initial */
    li(&p, S0, DATA);
    emit(&p, FLD(1, S0, 0));
    emit(&p, FLW(2, S0, 8));
    emit(&p, FSD(2, S0, 16));
    emit(&p, FSW(1, S0, 24));
    emit16(&p, 0x2004 | 0); /* c.fld f9, 0(s0) */
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->f[1], 0x400921fb54442d18ull);
    CHECK_EQ(h->f[2], 0xffffffff3f800000ull);
    CHECK_EQ(r64(e, DATA + 16), 0xffffffff3f800000ull);
    CHECK_EQ(r32(e, DATA + 24), 0x54442d18u);
    CHECK_EQ(h->f[9], 0x400921fb54442d18ull);
    CHECK_EQ(h->mstatus & MS_FS, MS_FS);
    CHECK(h->mstatus & MS_SD);
    tenv_free(e);
}

/* Two harts on two threads hammering one counter with AMOADD and with
 * LR/SC loops: no lost updates. */
struct thr_arg {
    struct rv_hart *h;
    int rc;
};

static void *thr_run(void *arg)
{
    struct thr_arg *a = arg;
    a->rc = RV_EXIT_BUDGET;
    while (a->rc == RV_EXIT_BUDGET)
        a->rc = rv_hart_run(a->h, 100000);
    return NULL;
}

static void atomics_two_threads(void)
{
    struct prog p;
    struct tenv *e = setup(&p);
    struct rv_hart *b = tenv_add_hart(e, 1);
    b->p->mtvec = HALT;
    const int iters = 20000;
    /* a0 = counter addr, a1 = iterations */
    li(&p, A0, DATA);
    li(&p, A1, iters);
    li(&p, T1, 1);
    uint64_t loop = p.pc;
    emit(&p, AMOADD_D(0, A0, T1));
    /* LR/SC increment of the second word */
    emit(&p, ADDI(A2, A0, 8));
    emit(&p, LR_D(T2, A2));
    emit(&p, ADDI(T2, T2, 1));
    emit(&p, SC_D(T3, A2, T2));
    emit(&p, BNE(T3, 0, -12));
    emit(&p, ADDI(A1, A1, -1));
    emit(&p, BNE(A1, 0, (int32_t)(loop - p.pc)));
    emit(&p, WFI);
    b->pc = RAM_BASE;
    pthread_t t1, t2;
    struct thr_arg a1 = {e->h, 0}, a2 = {b, 0};
    pthread_create(&t1, NULL, thr_run, &a1);
    pthread_create(&t2, NULL, thr_run, &a2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK_EQ(a1.rc, RV_EXIT_WFI);
    CHECK_EQ(a2.rc, RV_EXIT_WFI);
    CHECK_EQ(r64(e, DATA), 2 * iters);
    CHECK_EQ(r64(e, DATA + 8), 2 * iters);
    rv_hart_free(b);
    tenv_free(e);
}

/* ---- copy-on-write breaks (shared pages, as the pmap does them) ---------- */

/* A bus whose page `page` starts out shared copy-on-write: it is served
 * from `shared` (the pool frame, "A") for reads and fetches; the first
 * ram_page for writing copies A into the page's own RAM ("B"), returns B
 * and sets FLUSH_TLB on the hart (the shootdown), as pmap_page and the
 * VMM's hook do. A store to DEV_BASE + 0x100 breaks it too, like virtio
 * DMA done inside mmio_write, and then writes dma_val at B + dma_off and
 * the patch word at B + patch_off (a device writing guest memory, with the
 * codemap told as pmap's write hook does). poison: after the copy, A is
 * filled with zeros, like a pool frame freed and reused, so a stale
 * pointer into it reads something else. */
#define COW_DOORBELL (DEV_BASE + 0x100)
struct cow_bus {
    struct tenv *e;
    uint64_t page;
    uint8_t *shared;
    bool broken, poison;
    unsigned breaks;
    uint64_t dma_val;
    unsigned dma_off;
    uint32_t patch;
    unsigned patch_off;   /* 0: none */
};

static void cow_break(struct cow_bus *c)
{
    memcpy(ram_ptr(c->e, c->page), c->shared, 4096);
    c->broken = true;
    c->breaks++;
    if (c->poison)
        memset(c->shared, 0, 4096);
    rv_hart_flush_tlb(c->e->h);
}

static uint8_t *cow_ram_page(void *ctx, uint64_t pa, bool for_write)
{
    struct cow_bus *c = ctx;
    if ((pa & ~0xfffull) == c->page && !c->broken) {
        if (!for_write)
            return c->shared;
        cow_break(c);
    }
    return fb_ram_page(&c->e->fb, pa, for_write);
}

static int cow_mmio_read(void *ctx, uint64_t pa, unsigned len, uint64_t *val)
{
    struct cow_bus *c = ctx;
    return fb_mmio_read(&c->e->fb, pa, len, val);
}

static int cow_mmio_write(void *ctx, uint64_t pa, unsigned len, uint64_t val)
{
    struct cow_bus *c = ctx;
    if (pa != COW_DOORBELL)
        return fb_mmio_write(&c->e->fb, pa, len, val);
    if (!c->broken)
        cow_break(c);
    w64(c->e, c->page + c->dma_off, c->dma_val);
    if (c->patch_off)
        w32(c->e, c->page + c->patch_off, c->patch);
    rv_codemap_written(c->e->cm, c->page, 4096);
    return 0;
}

/* Program builder at RAM_BASE, traps to HALT, and `page` shared COW with
 * the given words at offsets 8 and 16 in A (B holds junk until the copy). */
static struct tenv *cow_setup(struct prog *p, struct cow_bus *c, uint64_t page)
{
    struct tenv *e = setup(p);
    memset(c, 0, sizeof *c);
    c->e = e;
    c->page = page;
    c->shared = aligned_alloc(4096, 4096);
    memset(c->shared, 0, 4096);
    uint64_t a8 = 0x1111, a16 = 0x3333;
    memcpy(c->shared + 8, &a8, 8);
    memcpy(c->shared + 16, &a16, 8);
    memset(ram_ptr(e, page), 0xee, 4096 - 8);
    e->h->bus.ctx = c;
    e->h->bus.ram_page = cow_ram_page;
    e->h->bus.mmio_read = cow_mmio_read;
    e->h->bus.mmio_write = cow_mmio_write;
    return e;
}

static void cow_free(struct cow_bus *c)
{
    tenv_free(c->e);
    free(c->shared);
}

/* Load (read TLB -> A), store (breaks COW: B), load again, all in one
 * block: the second load must see the store, i.e. the hart dropped its
 * read-TLB entry to A as soon as ram_page returned, not at the block's
 * end. */
static void cow_store_then_load(void)
{
    struct prog p;
    struct cow_bus c;
    struct tenv *e = cow_setup(&p, &c, DATA);
    struct rv_hart *h = e->h;
    li(&p, S0, DATA);
    emit(&p, LD(A0, S0, 8));
    li(&p, T0, 0x2222);
    emit(&p, SD(T0, S0, 8));
    emit(&p, LD(A1, S0, 8));
    emit(&p, LD(A2, S0, 16));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->x[A0], 0x1111);
    CHECK_EQ(h->x[A1], 0x2222);
    CHECK_EQ(h->x[A2], 0x3333);
    CHECK_EQ(r64(e, DATA + 8), 0x2222);
    CHECK_EQ(atomic_load(&h->flush_request) & FLUSH_TLB, 0);
    cow_free(&c);
}

/* The same through an AMO, and through LR/SC (the reservation is by
 * address: the SC compares with the value LR read from A, now in B). */
static void cow_amo_then_load(void)
{
    struct prog p;
    struct cow_bus c;
    struct tenv *e = cow_setup(&p, &c, DATA);
    struct rv_hart *h = e->h;
    li(&p, S0, DATA + 8);
    emit(&p, LD(A0, S0, 0));
    li(&p, T0, 5);
    emit(&p, AMOADD_D(A1, S0, T0));
    emit(&p, LD(A2, S0, 0));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->x[A0], 0x1111);
    CHECK_EQ(h->x[A1], 0x1111);
    CHECK_EQ(h->x[A2], 0x1116);
    cow_free(&c);

    e = cow_setup(&p, &c, DATA);
    h = e->h;
    li(&p, S0, DATA + 16);
    emit(&p, LD(A0, S0, 0));
    emit(&p, LR_D(A1, S0));
    li(&p, T1, 0x4444);
    emit(&p, SC_D(A2, S0, T1));
    emit(&p, LD(A3, S0, 0));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->x[A1], 0x3333);
    CHECK_EQ(h->x[A2], 0);        /* SC succeeded */
    CHECK_EQ(h->x[A3], 0x4444);
    cow_free(&c);
}

/* A device callback (mmio_write) that writes guest memory breaks COW: the
 * hart serves the flush when the callback returns. */
static void cow_mmio_dma_then_load(void)
{
    struct prog p;
    struct cow_bus c;
    struct tenv *e = cow_setup(&p, &c, DATA);
    struct rv_hart *h = e->h;
    c.dma_val = 0x5555;
    c.dma_off = 8;
    li(&p, S0, DATA);
    li(&p, S2, COW_DOORBELL);
    emit(&p, LD(A0, S0, 8));
    emit(&p, SD(0, S2, 0));
    emit(&p, LD(A1, S0, 8));
    emit(&p, WFI);
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->x[A0], 0x1111);
    CHECK_EQ(h->x[A1], 0x5555);
    cow_free(&c);
}

/* The code page itself is shared and a device breaks it in the middle of
 * a block, patching an instruction further on and leaving A poisoned (a
 * freed frame): the hart must not decode the rest of the page, nor read an
 * instruction's bits for mtval, from A. */
static void cow_code_page_mid_block(void)
{
    struct prog p;
    struct cow_bus c;
    struct tenv *e = cow_setup(&p, &c, RAM_BASE + 0x1000);
    struct rv_hart *h = e->h;
    uint32_t code[] = {
        LUI(S2, (int32_t)COW_DOORBELL & ~0xfff),
        SD(0, S2, 0x100),            /* 0x04: DMA breaks the code page */
        JAL(0, 0x40 - 0x08),         /* 0x08: in-page jump to a new run */
    };
    memcpy(c.shared, code, sizeof code);
    uint32_t old = ADDI(A0, 0, 7), patched = ADDI(A0, 0, 42);
    memcpy(c.shared + 0x40, &old, 4);
    uint32_t wfi = WFI;
    memcpy(c.shared + 0x44, &wfi, 4);
    c.poison = true;
    c.patch = patched;
    c.patch_off = 0x40;
    c.dma_off = 0x80;
    h->pc = RAM_BASE + 0x1000;
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(h->p->mcause, 0);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->x[A0], 42);
    cow_free(&c);

    /* An FP instruction with mstatus.FS off, decoded before the break in
     * the same run: its illegal-instruction trap reports its bits. */
    e = cow_setup(&p, &c, RAM_BASE + 0x1000);
    h = e->h;
    uint32_t fadd = 0x02007053u;   /* fadd.d f0, f0, f0 */
    uint32_t code2[] = {LUI(S2, (int32_t)COW_DOORBELL & ~0xfff), SD(0, S2, 0x100), fadd, WFI};
    memcpy(c.shared, code2, sizeof code2);
    c.poison = true;
    c.dma_off = 0x80;
    h->mstatus &= ~MS_FS;
    h->pc = RAM_BASE + 0x1000;
    CHECK_EQ(run(e, 1000), RV_EXIT_WFI);
    CHECK_EQ(c.breaks, 1);
    CHECK_EQ(h->p->mcause, EXC_ILLEGAL);
    CHECK_EQ(h->p->mepc, RAM_BASE + 0x1008);
    CHECK_EQ(h->p->mtval, fadd);
    cow_free(&c);
}

int main(void)
{
    RUN(basic_alu);
    RUN(muldiv_edges);
    RUN(bitmanip);
    RUN(loads_stores);
    RUN(branches_loop);
    RUN(compressed_program);
    RUN(compressed_mem_and_jumps);
    RUN(ecall_delegated_to_s);
    RUN(ecall_s_to_m_and_sret);
    RUN(illegal_instructions);
    RUN(trap_storm_returns);
    RUN(csr_basics);
    RUN(counter_gating);
    RUN(lr_sc);
    RUN(amos);
    RUN(mmio_and_access_faults);
    RUN(wfi_and_exit_reasons);
    RUN(mtip_from_mtimecmp);
    RUN(interrupt_priority_and_delegation);
    RUN(mip_seip_software_bit);
    RUN(instret_exact);
    RUN(fuse_differential);
    RUN(fuse_edges);
    RUN(smc_fence_i);
    RUN(smc_same_page_no_fence);
    RUN(smc_second_hart_and_dma);
    RUN(builtin_sbi);
    RUN(sbi_timer_stip);
    RUN(fp_loads_stores);
    RUN(atomics_two_threads);
    RUN(cow_store_then_load);
    RUN(cow_amo_then_load);
    RUN(cow_mmio_dma_then_load);
    RUN(cow_code_page_mid_block);
    T_EXIT();
}

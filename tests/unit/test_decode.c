/* Decoder: representative encodings (checked against GNU as output),
 * compressed expansions, reserved/illegal encodings. */
#include "rv_test.h"
#include "t.h"

struct dcase {
    uint32_t insn;
    int op;
    int rd, rs1, rs2;
    int32_t imm;
    int len;
};

#define C(op) (OP_##op | OP_C)
#define N(op) (OP_##op)

static const struct dcase cases[] = {
    {0x12345537, N(LUI), A0, 0, 0, 0x12345000, 4},
    {0xfffff317, N(AUIPC), T1, 0, 0, (int32_t)0xfffff000, 4},
    {0x001000ef, N(JAL), RA, 0, 0, 0x800, 4},
    {0x00c08067, N(JALR), 0, RA, 0, 12, 4},
    {0x80b50063, N(BEQ), 0, A0, A1, -4096, 4},
    {0x7e62ffe3, N(BGEU), 0, T0, T1, 4094, 4},
    {0xfff10503, N(LB), A0, SP, 0, -1, 4},
    {0x7ff56483, N(LWU), S1, A0, 0, 2047, 4},
    {0x81fdb023, N(SD), 0, S11, T6, -2048, 4},
    {0x43f5d513, N(SRAI), A0, A1, 0, 63, 4},
    {0x41f5d51b, N(SRAIW), A0, A1, 0, 31, 4},
    {0x02c5a533, N(MULHSU), A0, A1, A2, 0, 4},
    {0x027372bb, N(REMUW), T0, T1, T2, 0, 4},
    {0x1005b52f, N(LR_D), A0, A1, 0, 0, 4},
    {0x1ec5a52f, N(SC_W), A0, A1, A2, 0, 4},
    {0xe463b2af, N(AMO_D), T0, T2, T1, 0x1c, 4},
    {0x3058d573, N(CSR), A0, 17, 5, 0x305, 4},
    {0x0000100f, N(FENCE_I), 0, 0, 0, 0, 4},
    {0x0330000f, N(NOP), 0, 0, 0, 0, 4},
    {0x12b50073, N(SFENCE_VMA), 0, A0, A1, 0x12b50073, 4},
    {0x023170d3, N(FPOP), 1, 2, 3, 0x023170d3, 4},
    {0x203170c3, N(FPOP), 1, 2, 3, 0x203170c3, 4},
    {0x00852287, N(FLW), 5, A0, 0, 8, 4},
    {0xfe653c27, N(FSD), 0, A0, 6, -8, 4},
    {0x20c5a533, N(SH1ADD), A0, A1, A2, 0, 4},
    {0x60059513, N(ZBB_UN), A0, A1, 0, ZB_CLZ, 4},
    {0x6b85d513, N(ZBB_UN), A0, A1, 0, ZB_REV8, 4},
    {0x2a859513, N(BSETI), A0, A1, 0, 40, 4},
    {0x6215d513, N(RORI), A0, A1, 0, 33, 4},
    {0x0805c53b, N(ZBB_UN), A0, A1, 0, ZB_ZEXTH, 4},
    {0x00000073, N(ECALL), 0, 0, 0, 0, 4},
    {0x30200073, N(MRET), 0, 0, 0, 0, 4},
    {0x10500073, N(WFI), 0, 0, 0, 0, 4},
    /* rd = x0 ALU ops are hints: no-ops */
    {0x00500013, N(NOP), 0, 0, 0, 0, 4},          /* addi x0, x0, 5 */
    {0x00b50033, N(NOP), 0, 0, 0, 0, 4},          /* add x0, a0, a1 */
    /* compressed */
    {0x7685, C(LUI), A3, 0, 0, (int32_t)0xfffe1000, 2},
    {0x7101, C(ADDI), SP, SP, 0, -512, 2},
    {0x1ffc, C(ADDI), A5, SP, 0, 1020, 2},
    {0xff86, C(SD), 0, SP, RA, 504, 2},
    {0x747e, C(LD), S0, SP, 0, 504, 2},
    {0xbfa2, C(FSD), 0, SP, 8, 504, 2},
    {0x3ffc, C(FLD), 15, A5, 0, 248, 2},
    {0x97fd, C(SRAI), A5, A5, 0, 63, 2},
    {0xd081, C(BEQ), 0, S1, 0, -256, 2},
    {0xaffd, C(JAL), 0, 0, 0, 2046, 2},
    {0x8082, C(JALR), 0, RA, 0, 0, 2},
    {0x9782, C(JALR), RA, A5, 0, 0, 2},
    {0x9002, C(EBREAK), 0, 0, 0, 0, 2},
    {0x9d0d, C(SUBW), A0, A0, A1, 0, 2},
    {0x862a, C(ADD), A2, 0, A0, 0, 2},
    {0x952e, C(ADD), A0, A0, A1, 0, 2},
    {0xc63e, C(SW), 0, SP, A5, 12, 2},
    {0x46b2, C(LW), A3, SP, 0, 12, 2},
    {0x0001, C(NOP), 0, 0, 0, 0, 2},
    {0x4001, C(NOP), 0, 0, 0, 0, 2},              /* c.li x0, 0: hint */
};

static void representative_encodings(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dcase *c = &cases[i];
        struct dinsn d;
        memset(&d, 0xee, sizeof(d));
        int len = rv_decode(c->insn, &d);
        if (len != c->len || d.op != c->op || (c->op != N(NOP) && c->op != C(NOP) &&
            (d.rd != c->rd || d.rs1 != c->rs1 || d.rs2 != c->rs2 || d.imm != c->imm))) {
            printf("  insn %08x: len %d op %d rd %d rs1 %d rs2 %d imm %d\n", c->insn, len, d.op,
                   d.rd, d.rs1, d.rs2, d.imm);
            CHECK(0);
        }
    }
}

static void illegal_encodings(void)
{
    static const uint32_t bad32[] = {
        0xffffffff,              /* all ones */
        0x00007003,              /* load funct3 7 */
        0x00004023 | (4 << 12),  /* store funct3 4 */
        0x00002063,              /* branch funct3 2 */
        0x00001067,              /* jalr funct3 1 */
        0x00004073,              /* system funct3 4 */
        0x10000073,              /* system funct3 0 unknown */
        0x02001033 | (0x7f << 25), /* OP funct7 0x7f */
        0x1005b52f | (1 << 20),  /* lr.d with rs2 != 0 */
        0x0000502f,              /* AMO funct3 5 */
        0x00004007,              /* LOAD-FP funct3 4 */
        0x0000000b,              /* custom-0 */
        0x02059513,              /* slli with bit 25 in funct6? f6=0x00 shamt 32: valid! */
    };
    for (size_t i = 0; i + 1 < sizeof(bad32) / sizeof(bad32[0]); i++) {
        struct dinsn d;
        CHECK_EQ(rv_decode(bad32[i], &d), 4);
        if (d.op != OP_ILLEGAL)
            printf("  insn %08x not illegal (op %d)\n", bad32[i], d.op);
        CHECK_EQ(d.op, OP_ILLEGAL);
        CHECK_EQ((uint32_t)d.imm, bad32[i]);
    }
    struct dinsn d;
    rv_decode(0x02059513, &d); /* slli a0, a1, 32 is fine on RV64 */
    CHECK_EQ(d.op, OP_SLLI);
    CHECK_EQ(d.imm, 32);

    static const uint16_t bad16[] = {
        0x0000, /* all zero */
        0x0010, /* c.addi4spn with nzuimm 0 */
        0x8000, /* quadrant 0 funct3 4 reserved */
        0x4002, /* c.lwsp rd=0 */
        0x6002, /* c.ldsp rd=0 */
        0x8002, /* c.jr x0 */
        0x6101, /* c.addi16sp 0 */
        0x6501, /* c.lui a0, 0 */
        0x2001, /* c.addiw x0 */
        0x9c41, /* c.subw? reserved funct 2 with bit12 */
        0x9c61, /* reserved funct 3 with bit12 */
    };
    for (size_t i = 0; i < sizeof(bad16) / sizeof(bad16[0]); i++) {
        CHECK_EQ(rv_decode(bad16[i], &d), 2);
        if (d.op != (OP_ILLEGAL | OP_C))
            printf("  insn %04x not illegal (op %d)\n", bad16[i], d.op);
        CHECK_EQ(d.op, OP_ILLEGAL | OP_C);
        CHECK_EQ((uint32_t)d.imm, bad16[i]);
    }
}

/* Round-trip: every encoder macro of rv_test.h decodes to its own op. */
static void encoder_roundtrip(void)
{
    struct {
        uint32_t insn;
        int op;
    } rt[] = {
        {ADD(1, 2, 3), OP_ADD}, {SUB(1, 2, 3), OP_SUB}, {SLL(1, 2, 3), OP_SLL},
        {SLT(1, 2, 3), OP_SLT}, {SLTU(1, 2, 3), OP_SLTU}, {XOR(1, 2, 3), OP_XOR},
        {SRL(1, 2, 3), OP_SRL}, {SRA(1, 2, 3), OP_SRA}, {OR(1, 2, 3), OP_OR},
        {AND(1, 2, 3), OP_AND}, {ADDW(1, 2, 3), OP_ADDW}, {SUBW(1, 2, 3), OP_SUBW},
        {SLLW(1, 2, 3), OP_SLLW}, {SRLW(1, 2, 3), OP_SRLW}, {SRAW(1, 2, 3), OP_SRAW},
        {MUL(1, 2, 3), OP_MUL}, {MULH(1, 2, 3), OP_MULH}, {MULHU(1, 2, 3), OP_MULHU},
        {DIV(1, 2, 3), OP_DIV}, {DIVU(1, 2, 3), OP_DIVU}, {REM(1, 2, 3), OP_REM},
        {REMU(1, 2, 3), OP_REMU}, {MULW(1, 2, 3), OP_MULW}, {DIVW(1, 2, 3), OP_DIVW},
        {DIVUW(1, 2, 3), OP_DIVUW}, {REMW(1, 2, 3), OP_REMW}, {ADDI(1, 2, -5), OP_ADDI},
        {SLTI(1, 2, 5), OP_SLTI}, {SLTIU(1, 2, 5), OP_SLTIU}, {XORI(1, 2, 5), OP_XORI},
        {ORI(1, 2, 5), OP_ORI}, {ANDI(1, 2, 5), OP_ANDI}, {SLLI(1, 2, 5), OP_SLLI},
        {SRLI(1, 2, 5), OP_SRLI}, {SRAI(1, 2, 5), OP_SRAI}, {ADDIW(1, 2, 5), OP_ADDIW},
        {SLLIW(1, 2, 5), OP_SLLIW}, {SRLIW(1, 2, 5), OP_SRLIW}, {SRAIW(1, 2, 5), OP_SRAIW},
        {LB(1, 2, 5), OP_LB}, {LH(1, 2, 5), OP_LH}, {LW(1, 2, 5), OP_LW},
        {LD(1, 2, 5), OP_LD}, {LBU(1, 2, 5), OP_LBU}, {LHU(1, 2, 5), OP_LHU},
        {LWU(1, 2, 5), OP_LWU}, {SB(1, 2, 5), OP_SB}, {SH(1, 2, 5), OP_SH},
        {SW(1, 2, 5), OP_SW}, {SD(1, 2, 5), OP_SD}, {BNE(1, 2, 8), OP_BNE},
        {BLT(1, 2, 8), OP_BLT}, {BGE(1, 2, 8), OP_BGE}, {BLTU(1, 2, 8), OP_BLTU},
        {EBREAK, OP_EBREAK}, {SRET, OP_SRET}, {CSRRS(1, 0x300, 2), OP_CSR},
        {AMOADD_W(1, 2, 3), OP_AMO_W}, {SC_D(1, 2, 3), OP_SC_D}, {LR_W(1, 2), OP_LR_W},
        {FLD(1, 2, 8), OP_FLD}, {FSW(1, 2, 8), OP_FSW}, {FENCE, OP_NOP},
    };
    for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
        struct dinsn d;
        rv_decode(rt[i].insn, &d);
        if (d.op != rt[i].op)
            printf("  %08x -> op %d, want %d\n", rt[i].insn, d.op, rt[i].op);
        CHECK_EQ(d.op, rt[i].op);
    }
    struct dinsn d;
    rv_decode(BNE(1, 2, -8), &d);
    CHECK_EQ(d.imm, -8);
    rv_decode(JAL(0, -1048576), &d);
    CHECK_EQ(d.imm, -1048576);
    rv_decode(SD(1, 2, -2047), &d);
    CHECK_EQ(d.imm, -2047);
}

int main(void)
{
    RUN(representative_encodings);
    RUN(illegal_encodings);
    RUN(encoder_roundtrip);
    T_EXIT();
}

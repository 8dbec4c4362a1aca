/* RV64GC (+Zba/Zbb/Zbs) decoder: raw instruction -> struct dinsn. Pure
 * function of the bits; privilege and mstatus checks happen at execution. */
#include "riscv/cpu_priv.h"

static int set(struct dinsn *d, int op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm)
{
    d->op = (uint8_t)op;
    d->rd = (uint8_t)rd;
    d->rs1 = (uint8_t)rs1;
    d->rs2 = (uint8_t)rs2;
    d->imm = imm;
    return 4;
}

static int illegal(struct dinsn *d, uint32_t insn)
{
    return set(d, OP_ILLEGAL, 0, 0, 0, (int32_t)insn);
}

/* Pure register-writing op: with rd == x0 it is a no-op (hint). */
static int alu(struct dinsn *d, int op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm)
{
    if (rd == 0)
        return set(d, OP_NOP, 0, 0, 0, 0);
    return set(d, op, rd, rs1, rs2, imm);
}

static int decode32(uint32_t insn, struct dinsn *d)
{
    unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    unsigned f3 = (insn >> 12) & 7, f7 = insn >> 25;
    int32_t immi = (int32_t)insn >> 20;
    int32_t imms = (int32_t)(insn & 0xfe000000) >> 20 | (int32_t)((insn >> 7) & 31);
    int32_t immb = (int32_t)(insn & 0x80000000) >> 19 | (int32_t)((insn & 0x80) << 4) |
                   (int32_t)((insn >> 20) & 0x7e0) | (int32_t)((insn >> 7) & 0x1e);
    int32_t immu = (int32_t)(insn & 0xfffff000);
    int32_t immj = (int32_t)(insn & 0x80000000) >> 11 | (int32_t)(insn & 0xff000) |
                   (int32_t)((insn >> 9) & 0x800) | (int32_t)((insn >> 20) & 0x7fe);
    unsigned shamt = (insn >> 20) & 63, f6 = insn >> 26;

    switch (insn & 0x7f) {
    case 0x03: {
        static const uint8_t ops[8] = {OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, 0};
        if (f3 == 7)
            return illegal(d, insn);
        return set(d, ops[f3], rd, rs1, 0, immi);
    }
    case 0x07:
        if (f3 == 2)
            return set(d, OP_FLW, rd, rs1, 0, immi);
        if (f3 == 3)
            return set(d, OP_FLD, rd, rs1, 0, immi);
        return illegal(d, insn);
    case 0x0f:
        if (f3 == 0)
            return set(d, OP_NOP, 0, 0, 0, 0); /* FENCE, FENCE.TSO, PAUSE */
        if (f3 == 1)
            return set(d, OP_FENCE_I, 0, 0, 0, 0);
        return illegal(d, insn);
    case 0x13:
        switch (f3) {
        case 0: return alu(d, OP_ADDI, rd, rs1, 0, immi);
        case 2: return alu(d, OP_SLTI, rd, rs1, 0, immi);
        case 3: return alu(d, OP_SLTIU, rd, rs1, 0, immi);
        case 4: return alu(d, OP_XORI, rd, rs1, 0, immi);
        case 6: return alu(d, OP_ORI, rd, rs1, 0, immi);
        case 7: return alu(d, OP_ANDI, rd, rs1, 0, immi);
        case 1:
            if (f6 == 0)
                return alu(d, OP_SLLI, rd, rs1, 0, (int32_t)shamt);
            if (f6 == 0x0a)
                return alu(d, OP_BSETI, rd, rs1, 0, (int32_t)shamt);
            if (f6 == 0x12)
                return alu(d, OP_BCLRI, rd, rs1, 0, (int32_t)shamt);
            if (f6 == 0x1a)
                return alu(d, OP_BINVI, rd, rs1, 0, (int32_t)shamt);
            if (f7 == 0x30) {
                switch (rs2) {
                case 0: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_CLZ);
                case 1: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_CTZ);
                case 2: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_CPOP);
                case 4: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_SEXTB);
                case 5: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_SEXTH);
                }
            }
            return illegal(d, insn);
        case 5:
            if (f6 == 0)
                return alu(d, OP_SRLI, rd, rs1, 0, (int32_t)shamt);
            if (f6 == 0x10)
                return alu(d, OP_SRAI, rd, rs1, 0, (int32_t)shamt);
            if (f6 == 0x18)
                return alu(d, OP_RORI, rd, rs1, 0, (int32_t)shamt);
            if (f6 == 0x12)
                return alu(d, OP_BEXTI, rd, rs1, 0, (int32_t)shamt);
            if ((insn >> 20) == 0x287)
                return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_ORCB);
            if ((insn >> 20) == 0x6b8)
                return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_REV8);
            return illegal(d, insn);
        }
        break;
    case 0x17:
        return alu(d, OP_AUIPC, rd, 0, 0, immu);
    case 0x1b:
        switch (f3) {
        case 0: return alu(d, OP_ADDIW, rd, rs1, 0, immi);
        case 1:
            if (f7 == 0)
                return alu(d, OP_SLLIW, rd, rs1, 0, (int32_t)rs2);
            if (f6 == 0x02)
                return alu(d, OP_SLLI_UW, rd, rs1, 0, (int32_t)shamt);
            if (f7 == 0x30) {
                switch (rs2) {
                case 0: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_CLZW);
                case 1: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_CTZW);
                case 2: return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_CPOPW);
                }
            }
            return illegal(d, insn);
        case 5:
            if (f7 == 0)
                return alu(d, OP_SRLIW, rd, rs1, 0, (int32_t)rs2);
            if (f7 == 0x20)
                return alu(d, OP_SRAIW, rd, rs1, 0, (int32_t)rs2);
            if (f7 == 0x30)
                return alu(d, OP_RORIW, rd, rs1, 0, (int32_t)rs2);
            return illegal(d, insn);
        }
        return illegal(d, insn);
    case 0x23: {
        static const uint8_t ops[4] = {OP_SB, OP_SH, OP_SW, OP_SD};
        if (f3 > 3)
            return illegal(d, insn);
        return set(d, ops[f3], 0, rs1, rs2, imms);
    }
    case 0x27:
        if (f3 == 2)
            return set(d, OP_FSW, 0, rs1, rs2, imms);
        if (f3 == 3)
            return set(d, OP_FSD, 0, rs1, rs2, imms);
        return illegal(d, insn);
    case 0x2f: {
        unsigned f5 = insn >> 27;
        bool dw;
        if (f3 == 2)
            dw = false;
        else if (f3 == 3)
            dw = true;
        else
            return illegal(d, insn);
        switch (f5) {
        case 0x02:
            if (rs2 != 0)
                return illegal(d, insn);
            return set(d, dw ? OP_LR_D : OP_LR_W, rd, rs1, 0, 0);
        case 0x03:
            return set(d, dw ? OP_SC_D : OP_SC_W, rd, rs1, rs2, 0);
        case 0x00: case 0x01: case 0x04: case 0x08: case 0x0c:
        case 0x10: case 0x14: case 0x18: case 0x1c:
            return set(d, dw ? OP_AMO_D : OP_AMO_W, rd, rs1, rs2, (int32_t)f5);
        }
        return illegal(d, insn);
    }
    case 0x33:
        switch (f7) {
        case 0x00: {
            static const uint8_t ops[8] = {OP_ADD, OP_SLL, OP_SLT, OP_SLTU,
                                           OP_XOR, OP_SRL, OP_OR, OP_AND};
            return alu(d, ops[f3], rd, rs1, rs2, 0);
        }
        case 0x20:
            switch (f3) {
            case 0: return alu(d, OP_SUB, rd, rs1, rs2, 0);
            case 5: return alu(d, OP_SRA, rd, rs1, rs2, 0);
            case 4: return alu(d, OP_XNOR, rd, rs1, rs2, 0);
            case 6: return alu(d, OP_ORN, rd, rs1, rs2, 0);
            case 7: return alu(d, OP_ANDN, rd, rs1, rs2, 0);
            }
            return illegal(d, insn);
        case 0x01: {
            static const uint8_t ops[8] = {OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
                                           OP_DIV, OP_DIVU, OP_REM, OP_REMU};
            return alu(d, ops[f3], rd, rs1, rs2, 0);
        }
        case 0x10:
            if (f3 == 2) return alu(d, OP_SH1ADD, rd, rs1, rs2, 0);
            if (f3 == 4) return alu(d, OP_SH2ADD, rd, rs1, rs2, 0);
            if (f3 == 6) return alu(d, OP_SH3ADD, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x05:
            if (f3 == 4) return alu(d, OP_MIN, rd, rs1, rs2, 0);
            if (f3 == 5) return alu(d, OP_MINU, rd, rs1, rs2, 0);
            if (f3 == 6) return alu(d, OP_MAX, rd, rs1, rs2, 0);
            if (f3 == 7) return alu(d, OP_MAXU, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x30:
            if (f3 == 1) return alu(d, OP_ROL, rd, rs1, rs2, 0);
            if (f3 == 5) return alu(d, OP_ROR, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x24:
            if (f3 == 1) return alu(d, OP_BCLR, rd, rs1, rs2, 0);
            if (f3 == 5) return alu(d, OP_BEXT, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x14:
            if (f3 == 1) return alu(d, OP_BSET, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x34:
            if (f3 == 1) return alu(d, OP_BINV, rd, rs1, rs2, 0);
            return illegal(d, insn);
        }
        return illegal(d, insn);
    case 0x37:
        return alu(d, OP_LUI, rd, 0, 0, immu);
    case 0x3b:
        switch (f7) {
        case 0x00:
            if (f3 == 0) return alu(d, OP_ADDW, rd, rs1, rs2, 0);
            if (f3 == 1) return alu(d, OP_SLLW, rd, rs1, rs2, 0);
            if (f3 == 5) return alu(d, OP_SRLW, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x20:
            if (f3 == 0) return alu(d, OP_SUBW, rd, rs1, rs2, 0);
            if (f3 == 5) return alu(d, OP_SRAW, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x01:
            switch (f3) {
            case 0: return alu(d, OP_MULW, rd, rs1, rs2, 0);
            case 4: return alu(d, OP_DIVW, rd, rs1, rs2, 0);
            case 5: return alu(d, OP_DIVUW, rd, rs1, rs2, 0);
            case 6: return alu(d, OP_REMW, rd, rs1, rs2, 0);
            case 7: return alu(d, OP_REMUW, rd, rs1, rs2, 0);
            }
            return illegal(d, insn);
        case 0x04:
            if (f3 == 0) return alu(d, OP_ADD_UW, rd, rs1, rs2, 0);
            if (f3 == 4 && rs2 == 0) return alu(d, OP_ZBB_UN, rd, rs1, 0, ZB_ZEXTH);
            return illegal(d, insn);
        case 0x10:
            if (f3 == 2) return alu(d, OP_SH1ADD_UW, rd, rs1, rs2, 0);
            if (f3 == 4) return alu(d, OP_SH2ADD_UW, rd, rs1, rs2, 0);
            if (f3 == 6) return alu(d, OP_SH3ADD_UW, rd, rs1, rs2, 0);
            return illegal(d, insn);
        case 0x30:
            if (f3 == 1) return alu(d, OP_ROLW, rd, rs1, rs2, 0);
            if (f3 == 5) return alu(d, OP_RORW, rd, rs1, rs2, 0);
            return illegal(d, insn);
        }
        return illegal(d, insn);
    case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
        return set(d, OP_FPOP, rd, rs1, rs2, (int32_t)insn);
    case 0x63: {
        static const uint8_t ops[8] = {OP_BEQ, OP_BNE, 0, 0, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU};
        if (f3 == 2 || f3 == 3)
            return illegal(d, insn);
        return set(d, ops[f3], 0, rs1, rs2, immb);
    }
    case 0x67:
        if (f3 != 0)
            return illegal(d, insn);
        return set(d, OP_JALR, rd, rs1, 0, immi);
    case 0x6f:
        return set(d, OP_JAL, rd, 0, 0, immj);
    case 0x73:
        if (f3 == 0) {
            switch (insn) {
            case 0x00000073: return set(d, OP_ECALL, 0, 0, 0, 0);
            case 0x00100073: return set(d, OP_EBREAK, 0, 0, 0, 0);
            case 0x30200073: return set(d, OP_MRET, 0, 0, 0, 0);
            case 0x10200073: return set(d, OP_SRET, 0, 0, 0, 0);
            case 0x10500073: return set(d, OP_WFI, 0, 0, 0, 0);
            }
            if (f7 == 0x09 && rd == 0)
                return set(d, OP_SFENCE_VMA, 0, rs1, rs2, (int32_t)insn);
            return illegal(d, insn);
        }
        if (f3 == 4)
            return illegal(d, insn);
        return set(d, OP_CSR, rd, rs1, f3, (int32_t)(insn >> 20));
    }
    return illegal(d, insn);
}

static int cset(struct dinsn *d, int op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm)
{
    set(d, op, rd, rs1, rs2, imm);
    d->op |= OP_C;
    return 2;
}

static int calu(struct dinsn *d, int op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm)
{
    if (rd == 0)
        return cset(d, OP_NOP, 0, 0, 0, 0);
    return cset(d, op, rd, rs1, rs2, imm);
}

static int cillegal(struct dinsn *d, uint32_t insn)
{
    return cset(d, OP_ILLEGAL, 0, 0, 0, (int32_t)(insn & 0xffff));
}

#define B(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

static int32_t sext(uint32_t v, int bits)
{
    return (int32_t)(v << (32 - bits)) >> (32 - bits);
}

static int decode16(uint32_t insn, struct dinsn *d)
{
    unsigned f3 = B(insn, 15, 13);
    unsigned rdp = 8 + B(insn, 4, 2), rs1p = 8 + B(insn, 9, 7);
    unsigned rd = B(insn, 11, 7), rs2 = B(insn, 6, 2);
    int32_t imm6 = sext(B(insn, 12, 12) << 5 | B(insn, 6, 2), 6);
    uint32_t uimm_d = B(insn, 12, 10) << 3 | B(insn, 6, 5) << 6;            /* C.LD/FLD/SD/FSD */
    uint32_t uimm_w = B(insn, 12, 10) << 3 | B(insn, 6, 6) << 2 | B(insn, 5, 5) << 6;

    switch (insn & 3) {
    case 0:
        switch (f3) {
        case 0: {
            uint32_t nz = B(insn, 12, 11) << 4 | B(insn, 10, 7) << 6 | B(insn, 6, 6) << 2 |
                          B(insn, 5, 5) << 3;
            if (nz == 0)
                return cillegal(d, insn);
            return cset(d, OP_ADDI, rdp, 2, 0, (int32_t)nz);
        }
        case 1: return cset(d, OP_FLD, rdp, rs1p, 0, (int32_t)uimm_d);
        case 2: return cset(d, OP_LW, rdp, rs1p, 0, (int32_t)uimm_w);
        case 3: return cset(d, OP_LD, rdp, rs1p, 0, (int32_t)uimm_d);
        case 5: return cset(d, OP_FSD, 0, rs1p, rdp, (int32_t)uimm_d);
        case 6: return cset(d, OP_SW, 0, rs1p, rdp, (int32_t)uimm_w);
        case 7: return cset(d, OP_SD, 0, rs1p, rdp, (int32_t)uimm_d);
        }
        return cillegal(d, insn);
    case 1:
        switch (f3) {
        case 0: return calu(d, OP_ADDI, rd, rd, 0, imm6);
        case 1:
            if (rd == 0)
                return cillegal(d, insn);
            return cset(d, OP_ADDIW, rd, rd, 0, imm6);
        case 2: return calu(d, OP_ADDI, rd, 0, 0, imm6);
        case 3:
            if (rd == 2) {
                int32_t imm = sext(B(insn, 12, 12) << 9 | B(insn, 6, 6) << 4 | B(insn, 5, 5) << 6 |
                                   B(insn, 4, 3) << 7 | B(insn, 2, 2) << 5, 10);
                if (imm == 0)
                    return cillegal(d, insn);
                return cset(d, OP_ADDI, 2, 2, 0, imm);
            } else {
                int32_t imm = sext(B(insn, 12, 12) << 17 | B(insn, 6, 2) << 12, 18);
                if (imm == 0)
                    return cillegal(d, insn);
                return calu(d, OP_LUI, rd, 0, 0, imm);
            }
        case 4: {
            unsigned f2 = B(insn, 11, 10);
            unsigned sh = B(insn, 12, 12) << 5 | B(insn, 6, 2);
            if (f2 == 0)
                return cset(d, OP_SRLI, rs1p, rs1p, 0, (int32_t)sh);
            if (f2 == 1)
                return cset(d, OP_SRAI, rs1p, rs1p, 0, (int32_t)sh);
            if (f2 == 2)
                return cset(d, OP_ANDI, rs1p, rs1p, 0, imm6);
            unsigned f = B(insn, 6, 5);
            if (!B(insn, 12, 12)) {
                static const uint8_t ops[4] = {OP_SUB, OP_XOR, OP_OR, OP_AND};
                return cset(d, ops[f], rs1p, rs1p, rdp, 0);
            }
            if (f == 0)
                return cset(d, OP_SUBW, rs1p, rs1p, rdp, 0);
            if (f == 1)
                return cset(d, OP_ADDW, rs1p, rs1p, rdp, 0);
            return cillegal(d, insn);
        }
        case 5: {
            int32_t imm = sext(B(insn, 12, 12) << 11 | B(insn, 11, 11) << 4 | B(insn, 10, 9) << 8 |
                               B(insn, 8, 8) << 10 | B(insn, 7, 7) << 6 | B(insn, 6, 6) << 7 |
                               B(insn, 5, 3) << 1 | B(insn, 2, 2) << 5, 12);
            return cset(d, OP_JAL, 0, 0, 0, imm);
        }
        case 6: case 7: {
            int32_t imm = sext(B(insn, 12, 12) << 8 | B(insn, 11, 10) << 3 | B(insn, 6, 5) << 6 |
                               B(insn, 4, 3) << 1 | B(insn, 2, 2) << 5, 9);
            return cset(d, f3 == 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, imm);
        }
        }
        break;
    case 2:
        switch (f3) {
        case 0:
            return calu(d, OP_SLLI, rd, rd, 0, (int32_t)(B(insn, 12, 12) << 5 | B(insn, 6, 2)));
        case 1:
            return cset(d, OP_FLD, rd, 2, 0,
                        (int32_t)(B(insn, 12, 12) << 5 | B(insn, 6, 5) << 3 | B(insn, 4, 2) << 6));
        case 2:
            if (rd == 0)
                return cillegal(d, insn);
            return cset(d, OP_LW, rd, 2, 0,
                        (int32_t)(B(insn, 12, 12) << 5 | B(insn, 6, 4) << 2 | B(insn, 3, 2) << 6));
        case 3:
            if (rd == 0)
                return cillegal(d, insn);
            return cset(d, OP_LD, rd, 2, 0,
                        (int32_t)(B(insn, 12, 12) << 5 | B(insn, 6, 5) << 3 | B(insn, 4, 2) << 6));
        case 4:
            if (!B(insn, 12, 12)) {
                if (rs2 == 0) {
                    if (rd == 0)
                        return cillegal(d, insn);
                    return cset(d, OP_JALR, 0, rd, 0, 0);
                }
                return calu(d, OP_ADD, rd, 0, rs2, 0);
            }
            if (rs2 == 0) {
                if (rd == 0)
                    return cset(d, OP_EBREAK, 0, 0, 0, 0);
                return cset(d, OP_JALR, 1, rd, 0, 0);
            }
            return calu(d, OP_ADD, rd, rd, rs2, 0);
        case 5:
            return cset(d, OP_FSD, 0, 2, rs2, (int32_t)(B(insn, 12, 10) << 3 | B(insn, 9, 7) << 6));
        case 6:
            return cset(d, OP_SW, 0, 2, rs2, (int32_t)(B(insn, 12, 9) << 2 | B(insn, 8, 7) << 6));
        case 7:
            return cset(d, OP_SD, 0, 2, rs2, (int32_t)(B(insn, 12, 10) << 3 | B(insn, 9, 7) << 6));
        }
        break;
    }
    return cillegal(d, insn);
}

int rv_decode(uint32_t insn, struct dinsn *d)
{
    if ((insn & 3) == 3)
        return decode32(insn, d);
    return decode16(insn & 0xffff, d);
}

/* RV64C: every compressed instruction of RV64GC written explicitly with
 * its c. mnemonic, plus instruction lengths, link values of c.jalr (pc+2),
 * 32-bit instructions at 2-byte aligned addresses, c.ebreak and the
 * all-zero illegal instruction. */
#include "common.h"

    .option rvc

TEST_BEGIN
    /* c.li / c.lui / c.addi / c.addiw / c.mv / c.add */
    TEST_CASE( 1, a0, 0xffffffffffffffe0, c.li a0, -32)
    TEST_CASE( 2, a0, 31, c.li a0, 31)
    TEST_CASE( 3, a0, 0x000000000001f000, c.lui a0, 0x1f)
    TEST_CASE( 4, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
    TEST_CASE( 5, a0, 0x0000000000000009, c.li a0, 10; c.addi a0, -1)
    TEST_CASE( 6, a0, 0x000000000000002f, c.li a0, 0; c.addi a0, 31; c.addi a0, 16)
    TEST_CASE( 7, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
    TEST_CASE( 8, a0, 0x0000000012345678, li a0, 0xabcdef0012345678; c.addiw a0, 0)   /* sext.w */
    TEST_CASE( 9, a0, 0x123456789, li a1, 0x123456789; c.mv a0, a1)
    TEST_CASE(10, a0, 0x300000003, li a0, 0x100000001; li a1, 0x200000002; c.add a0, a1)

    /* c.addi16sp / c.addi4spn (sp-relative) */
    li TESTNUM, 11
    mv s1, sp
    c.addi16sp sp, -64
    sub a0, s1, sp
    ASSERT_EQ(a0, 64)
    c.addi16sp sp, 496
    sub a0, sp, s1
    ASSERT_EQ(a0, 432)
    mv sp, s1
    TEST_CASE(12, a0, 1020, c.addi4spn a0, sp, 1020; sub a0, a0, sp)
    TEST_CASE(13, a0, 4, c.addi4spn a0, sp, 4; sub a0, a0, sp)

    /* shifts and immediates on x8-x15 */
    TEST_CASE(14, a0, 0x8000000000000000, c.li a0, 1; c.slli a0, 63)
    TEST_CASE(15, a0, 0x0000000000000001, li a0, 0x8000000000000000; c.srli a0, 63)
    TEST_CASE(16, a0, 0xfffffffffffffffe, li a0, 0x8000000000000000; c.srai a0, 62)
    TEST_CASE(17, a0, 0x0000000000000800, li a0, 0x100000; c.srli a0, 9)
    TEST_CASE(18, a0, 0x0000000000000015, li a0, 0xff35; c.andi a0, 0x1f)
    TEST_CASE(19, a0, 0x123456789abcdee0, li a0, 0x123456789abcdef0; c.andi a0, -32)

    /* register-register ops on x8-x15 */
    TEST_CASE(20, a0, 0x0000000000000003, li a0, 10; li a1, 7; c.sub a0, a1)
    TEST_CASE(21, a0, 0x00000000000000f0, li a0, 0xff; li a1, 0x0f; c.xor a0, a1)
    TEST_CASE(22, a0, 0x00000000000000ff, li a0, 0xf0; li a1, 0x0f; c.or a0, a1)
    TEST_CASE(23, a0, 0x0000000000000030, li a0, 0xf0; li a1, 0x3f; c.and a0, a1)
    TEST_CASE(24, a0, 0xffffffff80000000, li a0, 0x7fffffff; li a1, 1; c.addw a0, a1)
    TEST_CASE(25, a0, 0x000000007fffffff, li a0, 0x80000000; li a1, 1; c.subw a0, a1)
    TEST_CASE(26, a0, 0xffffffffffffffff, li a0, 0x100000000; li a1, 0x100000001; c.subw a0, a1)

    /* loads/stores on x8-x15 */
    la s0, cbuf
    TEST_CASE(27, a0, 0xffffffff89abcdef, li a1, 0x0123456789abcdef; c.sd a1, 8(s0); c.lw a0, 8(s0))
    TEST_CASE(28, a0, 0x0123456789abcdef, c.ld a0, 8(s0))
    TEST_CASE(29, a0, 0x01234567fedcba98, li a1, 0xfedcba98; c.sw a1, 8(s0); c.ld a0, 8(s0))
    TEST_CASE(30, a0, 0x1122334455667788, li a1, 0x1122334455667788; c.sd a1, 248(s0); c.ld a0, 248(s0))
    TEST_CASE(31, a0, 0x0000000055667788, addi s1, s0, 124; c.lw a0, 124(s1))

    /* sp-relative loads/stores */
    li TESTNUM, 32
    mv s1, sp
    mv sp, s0
    li a1, 0xcafef00dd00dfeed
    c.sdsp a1, 504(sp)
    c.ldsp a2, 504(sp)
    c.sdsp a1, 248(sp)
    c.lwsp a3, 248(sp)
    li a4, 0x80000001
    c.swsp a4, 252(sp)
    c.lwsp a5, 252(sp)
    mv sp, s1
    ASSERT_EQ(a2, 0xcafef00dd00dfeed)
    ASSERT_EQ(a3, 0xffffffffd00dfeed)
    ASSERT_EQ(a5, 0xffffffff80000001)
    TEST_CASE(33, a0, 0xcafef00dd00dfeed, ld a0, 504(s0))

    /* FP loads/stores (FS is Initial from the runtime) */
    li TESTNUM, 34
    li a1, 0x400921fb54442d18
    c.sd a1, 16(s0)
    c.fld fa0, 16(s0)
    c.fsd fa0, 24(s0)
    c.ld a0, 24(s0)
    ASSERT_EQ(a0, 0x400921fb54442d18)
    li TESTNUM, 35
    mv s1, sp
    mv sp, s0
    c.fldsp fa1, 16(sp)
    c.fsdsp fa1, 496(sp)
    mv sp, s1
    ld a0, 496(s0)
    ASSERT_EQ(a0, 0x400921fb54442d18)

    /* control flow */
    TEST_CASE(36, a0, 1, c.li a0, 0; c.j 1f; c.li a0, 5; 1: c.addi a0, 1)
    TEST_CASE(37, a0, 2, c.li a0, 0; c.beqz a0, 1f; c.li a0, 5; 1: c.addi a0, 2)
    TEST_CASE(38, a0, 5, c.li a0, 1; c.beqz a0, 1f; c.li a0, 5; 1: nop)
    TEST_CASE(39, a0, 3, c.li a0, 1; c.bnez a0, 1f; c.li a0, 5; 1: c.addi a0, 2)
    TEST_CASE(40, a0, 7, c.li a0, 0; c.bnez a0, 1f; c.li a0, 7; 1: nop)
    /* backward c.bnez loop */
    TEST_CASE(41, a1, 5, c.li a0, 5; c.li a1, 0; 1: c.addi a1, 1; c.addi a0, -1; c.bnez a0, 1b)
    /* c.jr */
    TEST_CASE(42, a0, 9, la a1, 1f; c.li a0, 0; c.jr a1; c.li a0, 1; 1: c.addi a0, 9)
    /* c.jalr links pc + 2 */
    TEST_CASE(43, a0, 0, la a1, 1f; la a2, 2f; c.jalr a1; 2: j fail; 1: sub a0, ra, a2)
    /* c.jalr with rs1 == ra: target from the old ra */
    TEST_CASE(44, a0, 0, la ra, 1f; la a2, 2f; c.jalr ra; 2: j fail; 1: sub a0, ra, a2)

    /* instruction lengths */
    TEST_CASE(45, a0, 2, la a1, 1f; la a2, 2f; 1: c.addi a3, 1; 2: sub a0, a2, a1)
    TEST_CASE(46, a0, 4, la a1, 1f; la a2, 2f; .option push; .option norvc; 1: addi a3, a3, 1; .option pop; 2: sub a0, a2, a1)

    /* 32-bit instructions at 2 (mod 4) addresses, mixed with 16-bit ones */
    li TESTNUM, 47
    .align 2
    c.nop
    .option push
    .option norvc
    li a0, 0
    addi a0, a0, 3
    addi a0, a0, 4
    .option pop
    c.addi a0, 1
    ASSERT_EQ(a0, 8)
    /* jump into the middle of that pattern: to a 32-bit insn at 2 mod 4 */
    TEST_CASE(48, a0, 0x30, la a1, 3f; c.li a0, 0; c.jr a1; .align 2; c.nop; 3: .option push; .option norvc; addi a0, a0, 0x30; .option pop)

    /* c.nop changes nothing */
    TEST_CASE(49, a0, 11, c.li a0, 11; c.nop; c.nop)

    /* c.ebreak: breakpoint, mepc at the 2-byte instruction */
    li TESTNUM, 50
    TRAP_ARM
    la s2, 1f
1:  c.ebreak
    CHECK_TRAP(50, CAUSE_BREAKPOINT)
    li TESTNUM, 51
    LOAD_TRAP(a0, TR_EPC)
    ASSERT_REGS_EQ(a0, s2)

    /* the all-zero halfword is illegal (mtval = the instruction = 0,
     * or 0 when mtval is not written for illegal instructions) */
    li TESTNUM, 52
    TRAP_ARM
    la s2, 1f
1:  .half 0x0000
    CHECK_TRAP(52, CAUSE_ILLEGAL_INSN)
    CHECK_TRAP_FIELD(53, TR_TVAL, 0)
    li TESTNUM, 54
    LOAD_TRAP(a0, TR_EPC)
    ASSERT_REGS_EQ(a0, s2)
TEST_END

    .align 6
cbuf:
    .space 1024

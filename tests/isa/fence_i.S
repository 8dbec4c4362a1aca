/* Zifencei / self-modifying code: after stores to instruction memory and
 * FENCE.I, the new instructions execute: a patched function, repeated
 * patching, an instruction patched just ahead in the same straight-line
 * code, 16-bit instructions, code copied into a data buffer, a patch
 * written by an AMO, an instruction straddling a 4 KiB page boundary
 * patched in its second page, and FENCE.I executed in S and U mode. */
#include "common.h"

/* addi a0, zero, imm */
#define ADDI_A0(imm) ((((imm) & 0xfff) << 20) | (10 << 7) | 0x13)
/* c.li a0, imm (imm in -32..31) */
#define C_LI_A0(imm) (0x4001 | (((imm) & 0x20) << 7) | (10 << 7) | (((imm) & 0x1f) << 2))

    .option norvc

TEST_BEGIN
    /* ---- patch a function ---- */
    TEST_CASE(1, a0, 1, call smc_func)
    TEST_CASE(2, a0, 2, la a1, smc_func; li a2, ADDI_A0(2); sw a2, 0(a1); fence.i; call smc_func)
    /* many times in a row */
    li TESTNUM, 3
    li s1, 3
1:  la a1, smc_func
    li a2, ADDI_A0(0)
    slli a3, s1, 20
    or a2, a2, a3
    sw a2, 0(a1)
    fence.i
    call smc_func
    ASSERT_REGS_EQ(a0, s1)
    addi s1, s1, 1
    li a3, 40
    bne s1, a3, 1b

    /* ---- patch the instruction right after the fence ---- */
    li TESTNUM, 4
    li a0, 0
    la a1, 2f
    li a2, ADDI_A0(5)
    sw a2, 0(a1)
    fence.i
2:  addi a0, zero, 1
    ASSERT_EQ(a0, 5)
    /* the same code again, patched differently (runs the loop twice) */
    li TESTNUM, 5
    li s1, 0
3:  la a1, 4f
    li a2, ADDI_A0(100)
    add a2, a2, zero
    slli a3, s1, 20
    add a2, a2, a3
    sw a2, 0(a1)
    fence.i
4:  addi a0, zero, 1
    addi a3, s1, 100
    ASSERT_REGS_EQ(a0, a3)
    addi s1, s1, 1
    li a3, 5
    bne s1, a3, 3b

    /* ---- 16-bit instructions ---- */
    TEST_CASE(6, a0, 7, call smc_cfunc)
    TEST_CASE(7, a0, 9, la a1, smc_cfunc; li a2, C_LI_A0(9); sh a2, 0(a1); fence.i; call smc_cfunc)
    TEST_CASE(8, a0, -3, la a1, smc_cfunc; li a2, C_LI_A0(-3); sh a2, 0(a1); fence.i; call smc_cfunc)

    /* ---- code copied into a data buffer ---- */
    li TESTNUM, 9
    la a1, codebuf
    li a2, ADDI_A0(0x123)
    sw a2, 0(a1)
    li a2, 0x00008067               /* ret (jalr x0, 0(ra)) */
    sw a2, 4(a1)
    fence.i
    jalr a1
    ASSERT_EQ(a0, 0x123)
    TEST_CASE(10, a0, 0x321, la a1, codebuf; li a2, ADDI_A0(0x321); sw a2, 0(a1); fence.i; jalr a1)
    /* a patch written with an AMO */
    TEST_CASE(11, a0, 0x456, la a1, codebuf; li a2, ADDI_A0(0x456); amoswap.w zero, a2, (a1); fence.i; jalr a1)
    /* a longer function: 64 instructions adding 1 each, then patched to 2 */
    li TESTNUM, 12
    la a1, codebuf
    li a2, 64
    li a3, 0x00150513               /* addi a0, a0, 1 */
1:  sw a3, 0(a1)
    addi a1, a1, 4
    addi a2, a2, -1
    bnez a2, 1b
    li a3, 0x00008067
    sw a3, 0(a1)
    fence.i
    li a0, 0
    la a1, codebuf
    jalr a1
    ASSERT_EQ(a0, 64)
    li TESTNUM, 13
    la a1, codebuf
    li a3, 0x00250513               /* addi a0, a0, 2 */
    sw a3, 128(a1)                  /* instruction 32 */
    fence.i
    li a0, 0
    jalr a1
    ASSERT_EQ(a0, 65)

    /* ---- an instruction straddling two pages, patched in the second ---- */
    TEST_CASE(14, a0, 1, call cross_func)
    TEST_CASE(15, a0, 3, la a1, cross_insn; li a2, 0x0030; sh a2, 2(a1); fence.i; call cross_func)
    TEST_CASE(16, a0, 4, la a1, cross_insn; li a2, 0x0040; sh a2, 2(a1); fence.i; call cross_func)

    /* ---- fence.i is available in S and U ---- */
    li TESTNUM, 17
    la a1, smc_func
    li a2, ADDI_A0(17)
    sw a2, 0(a1)
    TRAP_ARM
    GOTO_S
    fence.i
    call smc_func
    mv s2, a0
    GOTO_M
    CHECK_NO_TRAP(17)
    li TESTNUM, 18
    ASSERT_EQ(s2, 17)
    li TESTNUM, 19
    la a1, smc_func
    li a2, ADDI_A0(19)
    sw a2, 0(a1)
    TRAP_ARM
    GOTO_U
    fence.i
    call smc_func
    mv s2, a0
    GOTO_M
    CHECK_NO_TRAP(19)
    li TESTNUM, 20
    ASSERT_EQ(s2, 19)
TEST_END

    .text
    .align 2
smc_func:
    addi a0, zero, 1
    ret

    .option push
    .option rvc
    .align 2
smc_cfunc:
    c.li a0, 7
    c.jr ra
    .option pop

    /* cross_insn occupies the last 2 bytes of one page and the first 2 of
     * the next */
    .balign 4096
    .skip 4094
cross_func:
cross_insn:
    addi a0, zero, 1
    ret

    .data
    .align 6
codebuf:
    .space 512

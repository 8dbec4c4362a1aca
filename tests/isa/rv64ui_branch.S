/* RV64I control transfer: conditional branches (taken / not taken,
 * signed / unsigned, forward / backward), JAL and JALR (link value, offset,
 * bit 0 cleared, rd == rs1). */
#include "common.h"

#define TEST_BR_TAKEN(n, inst, v1, v2) \
    li TESTNUM, n; li a1, v1; li a2, v2; inst a1, a2, 1f; j fail; 1:
#define TEST_BR_NOT_TAKEN(n, inst, v1, v2) \
    li TESTNUM, n; li a1, v1; li a2, v2; inst a1, a2, 1f; j 2f; 1: j fail; 2:

TEST_BEGIN
    TEST_BR_TAKEN     ( 1, beq,  5, 5)
    TEST_BR_NOT_TAKEN ( 2, beq,  5, 6)
    TEST_BR_TAKEN     ( 3, beq,  -1, 0xffffffffffffffff)
    TEST_BR_NOT_TAKEN ( 4, beq,  0xffffffff, 0xffffffffffffffff)
    TEST_BR_TAKEN     ( 5, bne,  0x100000000, 0)
    TEST_BR_NOT_TAKEN ( 6, bne,  -7, -7)
    TEST_BR_TAKEN     ( 7, blt,  -1, 0)
    TEST_BR_NOT_TAKEN ( 8, blt,  0, -1)
    TEST_BR_NOT_TAKEN ( 9, blt,  3, 3)
    TEST_BR_TAKEN     (10, blt,  0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR_TAKEN     (11, bge,  3, 3)
    TEST_BR_TAKEN     (12, bge,  0, -1)
    TEST_BR_NOT_TAKEN (13, bge,  -2, -1)
    TEST_BR_NOT_TAKEN (14, bge,  0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR_TAKEN     (15, bltu, 0, -1)
    TEST_BR_NOT_TAKEN (16, bltu, -1, 0)
    TEST_BR_NOT_TAKEN (17, bltu, 9, 9)
    TEST_BR_NOT_TAKEN (18, bltu, 0x8000000000000000, 0x7fffffffffffffff)
    TEST_BR_TAKEN     (19, bgeu, -1, 0)
    TEST_BR_TAKEN     (20, bgeu, 9, 9)
    TEST_BR_NOT_TAKEN (21, bgeu, 0, -1)
    TEST_BR_TAKEN     (22, bgeu, 0x8000000000000000, 0x7fffffffffffffff)
    /* comparisons against x0 */
    TEST_BR_TAKEN     (23, bltu, 0, 1)
    li TESTNUM, 24; li a1, -3; bgez a1, 2f; bltz a1, 1f; 2: j fail; 1:
    li TESTNUM, 25; beqz zero, 1f; j fail; 1:
    li TESTNUM, 26; li a1, 1; blez a1, 2f; bgtz a1, 1f; 2: j fail; 1:

    /* backward branch: loop 10 times */
    TEST_CASE(27, a0, 10, li a0, 0; li a1, 10; 1: addi a0, a0, 1; bne a0, a1, 1b)
    /* long forward branch (near the +4 KiB limit) */
    li TESTNUM, 28
    li a1, 1
    bnez a1, 1f
    j fail
    .option push
    .option norvc
    .rept 1000
    nop
    .endr
    .option pop
1:

    /* JAL: link = address of the next instruction (4 bytes on) */
    TEST_CASE(29, a0, 0, .option push; .option norvc; la a1, 2f; jal a2, 1f; 2: j fail; 1: sub a0, a1, a2; .option pop)
    /* JAL x0 (plain j) does not write x0 */
    TEST_CASE(30, a0, 0, jal x0, 1f; j fail; 1: mv a0, x0)
    /* JAL far backward then forward */
    li TESTNUM, 31
    j 3f
2:  j 4f
3:  j 2b
4:

    /* JALR: target = (rs1 + imm) & ~1, link = pc + 4 */
    TEST_CASE(32, a0, 1, .option push; .option norvc; la a1, 1f; li a0, 0; jalr a2, 0(a1); j fail; 1: li a0, 1; .option pop)
    TEST_CASE(33, a0, 0, .option push; .option norvc; la a1, 1f; jalr a2, 0(a1); 2: j fail; 1: la a3, 2b; sub a0, a2, a3; .option pop)
    /* positive and negative offsets */
    TEST_CASE(34, a0, 2, la a1, 1f; addi a1, a1, -16; li a0, 0; jalr ra, 16(a1); j fail; 1: li a0, 2)
    TEST_CASE(35, a0, 3, la a1, 1f; addi a1, a1, 40; li a0, 0; jalr ra, -40(a1); j fail; 1: li a0, 3)
    /* bit 0 of the target is cleared */
    TEST_CASE(36, a0, 4, la a1, 1f; addi a1, a1, 1; li a0, 0; jalr ra, 0(a1); j fail; .align 2; 1: li a0, 4)
    TEST_CASE(37, a0, 5, la a1, 1f; li a0, 0; jalr ra, 1(a1); j fail; .align 2; 1: li a0, 5)
    /* rd == rs1: target computed from the old value */
    TEST_CASE(38, a0, 0, .option push; .option norvc; la a1, 1f; jalr a1, 0(a1); 2: j fail; 1: la a3, 2b; sub a0, a1, a3; .option pop)
    /* jalr x0 (ret-style) does not link */
    TEST_CASE(39, a0, 7, la a1, 1f; li a0, 0; jr a1; j fail; 1: li a0, 7)
    /* call / ret */
    TEST_CASE(40, a0, 42, li a0, 0; call subr; addi a0, a0, 2)
    /* 2-byte aligned targets are fine with the C extension */
    TEST_CASE(41, a0, 6, .option push; .option rvc; la a1, 1f; li a0, 0; jr a1; j fail; .align 2; c.nop; 1: li a0, 6; .option pop)

    j pass

    .align 2
subr:
    li a0, 40
    ret
TEST_END

/* RV64I integer computation: register-immediate and register-register
 * ops, 32-bit (W) forms, LUI/AUIPC, x0 as destination. */
#include "common.h"

TEST_BEGIN
    /* ADD / ADDI / SUB */
    TEST_CASE( 1, a0, 0x0000000000000005, li a1, 2; li a2, 3; add a0, a1, a2)
    TEST_CASE( 2, a0, 0x0000000000000000, li a1, -1; li a2, 1; add a0, a1, a2)
    TEST_CASE( 3, a0, 0x8000000000000000, li a1, 0x7fffffffffffffff; li a2, 1; add a0, a1, a2)
    TEST_CASE( 4, a0, 0xfffffffffffff800, li a1, 0; addi a0, a1, -2048)
    TEST_CASE( 5, a0, 0x00000000000007ff, li a1, 0; addi a0, a1, 2047)
    TEST_CASE( 6, a0, 0x7fffffffffffffff, li a1, 0x8000000000000000; addi a0, a1, -1)
    TEST_CASE( 7, a0, 0xffffffffffffffff, li a1, 2; li a2, 3; sub a0, a1, a2)
    TEST_CASE( 8, a0, 0x7fffffffffffffff, li a1, 0x8000000000000000; li a2, 1; sub a0, a1, a2)
    TEST_CASE( 9, a0, 0x0000000000000000, li a1, 0x123456789abcdef0; sub a0, a1, a1)

    /* logical */
    TEST_CASE(10, a0, 0x0f000f000f000f00, li a1, 0xff00ff00ff00ff00; li a2, 0x0f0f0f0f0f0f0f0f; and a0, a1, a2)
    TEST_CASE(11, a0, 0xff0fff0fff0fff0f, li a1, 0xff00ff00ff00ff00; li a2, 0x0f0f0f0f0f0f0f0f; or a0, a1, a2)
    TEST_CASE(12, a0, 0xf00ff00ff00ff00f, li a1, 0xff00ff00ff00ff00; li a2, 0x0f0f0f0f0f0f0f0f; xor a0, a1, a2)
    TEST_CASE(13, a0, 0xff00ff00ff00ff00, li a1, 0xff00ff00ff00ff00; andi a0, a1, -1)
    TEST_CASE(14, a0, 0x0000000000000700, li a1, 0xff00ff00ff00ff00; andi a0, a1, 0x70f)
    TEST_CASE(15, a0, 0xfffffffffffff80f, li a1, 0x000000000000000f; ori a0, a1, -2048)
    TEST_CASE(16, a0, 0x00ff00ff00ff00ff, li a1, 0xff00ff00ff00ff00; xori a0, a1, -1)
    TEST_CASE(17, a0, 0xff00ff00ff00fff0, li a1, 0xff00ff00ff00ff00; xori a0, a1, 0x0f0)

    /* shifts (64-bit, shamt 6 bits, register amount uses low 6 bits) */
    TEST_CASE(18, a0, 0x8000000000000000, li a1, 1; slli a0, a1, 63)
    TEST_CASE(19, a0, 0x0000000000000001, li a1, 0x8000000000000000; srli a0, a1, 63)
    TEST_CASE(20, a0, 0xffffffffffffffff, li a1, 0x8000000000000000; srai a0, a1, 63)
    TEST_CASE(21, a0, 0xfff8000000000000, li a1, 0x8000000000000000; srai a0, a1, 12)
    TEST_CASE(22, a0, 0x0000000000000002, li a1, 1; li a2, 65; sll a0, a1, a2)
    TEST_CASE(23, a0, 0x0000000000000001, li a1, 0x8000000000000000; li a2, -1; srl a0, a1, a2)
    TEST_CASE(24, a0, 0xc000000000000000, li a1, 0x8000000000000000; li a2, 0x101; sra a0, a1, a2)
    TEST_CASE(25, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; li a2, 64; sll a0, a1, a2)
    TEST_CASE(26, a0, 0x00000000f0000000, li a1, 0x00000000f0000000; srai a0, a1, 0)

    /* compare */
    TEST_CASE(27, a0, 1, li a1, -1; li a2, 0; slt a0, a1, a2)
    TEST_CASE(28, a0, 0, li a1, -1; li a2, 0; sltu a0, a1, a2)
    TEST_CASE(29, a0, 0, li a1, 5; li a2, 5; slt a0, a1, a2)
    TEST_CASE(30, a0, 1, li a1, 0x8000000000000000; li a2, 0x7fffffffffffffff; slt a0, a1, a2)
    TEST_CASE(31, a0, 0, li a1, 0x8000000000000000; li a2, 0x7fffffffffffffff; sltu a0, a1, a2)
    TEST_CASE(32, a0, 1, li a1, -5; slti a0, a1, -4)
    TEST_CASE(33, a0, 0, li a1, -4; slti a0, a1, -4)
    /* sltiu sign-extends the immediate, then compares unsigned */
    TEST_CASE(34, a0, 1, li a1, 0xfffffffffffff000; sltiu a0, a1, -1)
    TEST_CASE(35, a0, 0, li a1, -1; sltiu a0, a1, -1)
    TEST_CASE(36, a0, 1, li a1, 0; sltiu a0, a1, 1)        /* seqz */
    TEST_CASE(37, a0, 0, li a1, 7; sltiu a0, a1, 1)
    TEST_CASE(38, a0, 1, li a1, 7; sltu a0, zero, a1)      /* snez */

    /* LUI / AUIPC */
    TEST_CASE(39, a0, 0xffffffff80000000, lui a0, 0x80000)
    TEST_CASE(40, a0, 0x000000007ffff000, lui a0, 0x7ffff)
    TEST_CASE(41, a0, 0, la a1, 1f; 1: auipc a0, 0; sub a0, a0, a1)
    TEST_CASE(42, a0, 0x1000, la a1, 1f; 1: auipc a0, 1; sub a0, a0, a1)
    /* auipc with a negative upper immediate */
    TEST_CASE(43, a0, -0x80000000, la a1, 1f; 1: auipc a0, 0x80000; sub a0, a0, a1)

    /* 32-bit forms: results sign-extended from bit 31 */
    TEST_CASE(44, a0, 0xffffffff80000000, li a1, 0x7fffffff; li a2, 1; addw a0, a1, a2)
    TEST_CASE(45, a0, 0x0000000000000000, li a1, 0xffffffff; li a2, 1; addw a0, a1, a2)
    TEST_CASE(46, a0, 0x0000000012345679, li a1, 0xabcdef0012345678; addiw a0, a1, 1)
    TEST_CASE(47, a0, 0xffffffff80000000, li a1, 0x000000007fffffff; addiw a0, a1, 1)
    TEST_CASE(48, a0, 0xffffffff87654321, li a1, 0x1234567887654321; sext.w a0, a1)
    TEST_CASE(49, a0, 0x000000007fffffff, li a1, 0xffffffff80000000; li a2, 1; subw a0, a1, a2)
    TEST_CASE(50, a0, 0xffffffff80000000, li a1, 1; slliw a0, a1, 31)
    TEST_CASE(51, a0, 0x0000000000000000, li a1, 0x100000000; slliw a0, a1, 1)
    TEST_CASE(52, a0, 0x0000000000000001, li a1, 0xffffffff80000000; srliw a0, a1, 31)
    TEST_CASE(53, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; srliw a0, a1, 0)
    TEST_CASE(54, a0, 0x0000000000000001, li a1, 0x1234567880000000; srliw a0, a1, 31)
    TEST_CASE(55, a0, 0xffffffffffffffff, li a1, 0x0000000080000000; sraiw a0, a1, 31)
    TEST_CASE(56, a0, 0xfffffffff8000000, li a1, 0x0000000080000000; sraiw a0, a1, 4)
    /* register forms use the low 5 bits of rs2 */
    TEST_CASE(57, a0, 0x0000000000000002, li a1, 1; li a2, 33; sllw a0, a1, a2)
    TEST_CASE(58, a0, 0x0000000000000001, li a1, 0x80000000; li a2, 63; srlw a0, a1, a2)
    TEST_CASE(59, a0, 0xffffffffc0000000, li a1, 0x80000000; li a2, 0x21; sraw a0, a1, a2)
    TEST_CASE(60, a0, 0x0000000000007fff, li a1, 0xffffffff7fffffff; li a2, 16; srlw a0, a1, a2)
    TEST_CASE(61, a0, 0x000000007fffffff, li a1, 0x7fffffff; li a2, 0; sraw a0, a1, a2)

    /* writes to x0 are discarded; reads give 0 */
    TEST_CASE(62, a0, 0, li a1, 5; addi x0, a1, 1; mv a0, x0)
    TEST_CASE(63, a0, 0, lui x0, 0x12345; add a0, x0, x0)
    TEST_CASE(64, a0, 0, li a1, -1; xor x0, a1, a1; or a0, x0, zero)

    /* source = destination */
    TEST_CASE(65, a0, 26, li a0, 13; add a0, a0, a0)
    TEST_CASE(66, a0, 0x100, li a0, 1; li a1, 8; sll a0, a0, a1)
    TEST_CASE(67, a0, 4, li a0, 8; srai a0, a0, 1)

    /* NOP and HINTs (addi x0 / slli x0 forms) do nothing */
    TEST_CASE(68, a0, 9, li a0, 9; nop; addi x0, x0, 5; slti x0, a0, 3; add x0, a0, a0)
TEST_END

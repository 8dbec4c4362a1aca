/* RV64A: every AMO in .w and .d form (returned old value, memory result,
 * .w sign extension and untouched neighbour word), aq/rl variants, rd
 * aliasing, and LR/SC (success, failure without a reservation, failure
 * after a successful SC, failure at another address, .w sign extension). */
#include "common.h"

TEST_BEGIN
    la s0, amo_buf
    addi s1, s0, 8
    /* amoswap.d */
    TEST_CASE(  1, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amoswap.d a0, a2, (s0))
    TEST_CASE(  2, a0, 0xfffffffffffff800, ld a0, 0(s0))
    /* amoadd.d */
    TEST_CASE(  3, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amoadd.d a0, a2, (s0))
    TEST_CASE(  4, a0, 0xffffffff7ffff800, ld a0, 0(s0))
    /* amoxor.d */
    TEST_CASE(  5, a0, 0x00ff00ff00ff00ff, li a1, 0xff00ff00ff00ff; sd a1, 0(s0); li a2, 0xf0f0f0f0f0f0f0f; amoxor.d a0, a2, (s0))
    TEST_CASE(  6, a0, 0x0ff00ff00ff00ff0, ld a0, 0(s0))
    /* amoand.d */
    TEST_CASE(  7, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amoand.d a0, a2, (s0))
    TEST_CASE(  8, a0, 0xffffffff80000000, ld a0, 0(s0))
    /* amoor.d */
    TEST_CASE(  9, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfff; amoor.d a0, a2, (s0))
    TEST_CASE( 10, a0, 0xffffffff80000fff, ld a0, 0(s0))
    /* amomin.d */
    TEST_CASE( 11, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amomin.d a0, a2, (s0))
    TEST_CASE( 12, a0, 0xffffffff80000000, ld a0, 0(s0))
    /* amomin.d */
    TEST_CASE( 13, a0, 0x0000000000000005, li a1, 0x5; sd a1, 0(s0); li a2, 0xfffffffffffffffb; amomin.d a0, a2, (s0))
    TEST_CASE( 14, a0, 0xfffffffffffffffb, ld a0, 0(s0))
    /* amomax.d */
    TEST_CASE( 15, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amomax.d a0, a2, (s0))
    TEST_CASE( 16, a0, 0xfffffffffffff800, ld a0, 0(s0))
    /* amomax.d */
    TEST_CASE( 17, a0, 0x8000000000000000, li a1, 0x8000000000000000; sd a1, 0(s0); li a2, 0x7fffffffffffffff; amomax.d a0, a2, (s0))
    TEST_CASE( 18, a0, 0x7fffffffffffffff, ld a0, 0(s0))
    /* amominu.d */
    TEST_CASE( 19, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amominu.d a0, a2, (s0))
    TEST_CASE( 20, a0, 0xffffffff80000000, ld a0, 0(s0))
    /* amominu.d */
    TEST_CASE( 21, a0, 0x8000000000000000, li a1, 0x8000000000000000; sd a1, 0(s0); li a2, 0x7fffffffffffffff; amominu.d a0, a2, (s0))
    TEST_CASE( 22, a0, 0x7fffffffffffffff, ld a0, 0(s0))
    /* amomaxu.d */
    TEST_CASE( 23, a0, 0xffffffff80000000, li a1, 0xffffffff80000000; sd a1, 0(s0); li a2, 0xfffffffffffff800; amomaxu.d a0, a2, (s0))
    TEST_CASE( 24, a0, 0xfffffffffffff800, ld a0, 0(s0))
    /* amomaxu.d */
    TEST_CASE( 25, a0, 0x0000000000000001, li a1, 0x1; sd a1, 0(s0); li a2, 0xffffffffffffffff; amomaxu.d a0, a2, (s0))
    TEST_CASE( 26, a0, 0xffffffffffffffff, ld a0, 0(s0))
    /* amoswap.w: old value sign-extended, upper word untouched */
    TEST_CASE( 27, a0, 0xffffffff80000000, li a1, 0x5555aaaa80000000; sd a1, 0(s0); li a2, 0x7ffff800; amoswap.w a0, a2, (s0))
    TEST_CASE( 28, a0, 0x5555aaaa7ffff800, ld a0, 0(s0))
    /* amoadd.w: old value sign-extended, upper word untouched */
    TEST_CASE( 29, a0, 0x000000007fffffff, li a1, 0x5555aaaa7fffffff; sd a1, 0(s0); li a2, 0x1; amoadd.w a0, a2, (s0))
    TEST_CASE( 30, a0, 0x5555aaaa80000000, ld a0, 0(s0))
    /* amoadd.w: old value sign-extended, upper word untouched */
    TEST_CASE( 31, a0, 0xffffffffffffffff, li a1, 0x5555aaaaffffffff; sd a1, 0(s0); li a2, 0x1; amoadd.w a0, a2, (s0))
    TEST_CASE( 32, a0, 0x5555aaaa00000000, ld a0, 0(s0))
    /* amoxor.w: old value sign-extended, upper word untouched */
    TEST_CASE( 33, a0, 0xffffffffff00ff00, li a1, 0x5555aaaaff00ff00; sd a1, 0(s0); li a2, 0xff00ff0; amoxor.w a0, a2, (s0))
    TEST_CASE( 34, a0, 0x5555aaaaf0f0f0f0, ld a0, 0(s0))
    /* amoand.w: old value sign-extended, upper word untouched */
    TEST_CASE( 35, a0, 0xffffffff80000000, li a1, 0x5555aaaa80000000; sd a1, 0(s0); li a2, 0xfffff800; amoand.w a0, a2, (s0))
    TEST_CASE( 36, a0, 0x5555aaaa80000000, ld a0, 0(s0))
    /* amoor.w: old value sign-extended, upper word untouched */
    TEST_CASE( 37, a0, 0x0000000000000001, li a1, 0x5555aaaa00000001; sd a1, 0(s0); li a2, 0x80000000; amoor.w a0, a2, (s0))
    TEST_CASE( 38, a0, 0x5555aaaa80000001, ld a0, 0(s0))
    /* amomin.w: old value sign-extended, upper word untouched */
    TEST_CASE( 39, a0, 0xffffffff80000000, li a1, 0x5555aaaa80000000; sd a1, 0(s0); li a2, 0x7fffffff; amomin.w a0, a2, (s0))
    TEST_CASE( 40, a0, 0x5555aaaa80000000, ld a0, 0(s0))
    /* amomin.w: old value sign-extended, upper word untouched */
    TEST_CASE( 41, a0, 0x0000000000000001, li a1, 0x5555aaaa00000001; sd a1, 0(s0); li a2, 0xffffffff; amomin.w a0, a2, (s0))
    TEST_CASE( 42, a0, 0x5555aaaaffffffff, ld a0, 0(s0))
    /* amomax.w: old value sign-extended, upper word untouched */
    TEST_CASE( 43, a0, 0xffffffff80000000, li a1, 0x5555aaaa80000000; sd a1, 0(s0); li a2, 0x7fffffff; amomax.w a0, a2, (s0))
    TEST_CASE( 44, a0, 0x5555aaaa7fffffff, ld a0, 0(s0))
    /* amomax.w: old value sign-extended, upper word untouched */
    TEST_CASE( 45, a0, 0xfffffffffffffffe, li a1, 0x5555aaaafffffffe; sd a1, 0(s0); li a2, 0xffffffff; amomax.w a0, a2, (s0))
    TEST_CASE( 46, a0, 0x5555aaaaffffffff, ld a0, 0(s0))
    /* amominu.w: old value sign-extended, upper word untouched */
    TEST_CASE( 47, a0, 0xffffffff80000000, li a1, 0x5555aaaa80000000; sd a1, 0(s0); li a2, 0x7fffffff; amominu.w a0, a2, (s0))
    TEST_CASE( 48, a0, 0x5555aaaa7fffffff, ld a0, 0(s0))
    /* amominu.w: old value sign-extended, upper word untouched */
    TEST_CASE( 49, a0, 0xffffffffffffffff, li a1, 0x5555aaaaffffffff; sd a1, 0(s0); li a2, 0x0; amominu.w a0, a2, (s0))
    TEST_CASE( 50, a0, 0x5555aaaa00000000, ld a0, 0(s0))
    /* amomaxu.w: old value sign-extended, upper word untouched */
    TEST_CASE( 51, a0, 0xffffffff80000000, li a1, 0x5555aaaa80000000; sd a1, 0(s0); li a2, 0x7fffffff; amomaxu.w a0, a2, (s0))
    TEST_CASE( 52, a0, 0x5555aaaa80000000, ld a0, 0(s0))
    /* amomaxu.w: old value sign-extended, upper word untouched */
    TEST_CASE( 53, a0, 0x0000000000000001, li a1, 0x5555aaaa00000001; sd a1, 0(s0); li a2, 0xffffffff; amomaxu.w a0, a2, (s0))
    TEST_CASE( 54, a0, 0x5555aaaaffffffff, ld a0, 0(s0))

    /* AMO on the upper word of a doubleword */
    TEST_CASE( 55, a0, 0x0000000012345678, li a1, 0x12345678aaaaaaaa; sd a1, 0(s0); li a2, 1; addi a3, s0, 4; amoadd.w a0, a2, (a3))
    TEST_CASE( 56, a0, 0x12345679aaaaaaaa, ld a0, 0(s0))
    /* aq / rl / aqrl encodings behave the same on one hart */
    TEST_CASE( 57, a0, 10, li a1, 10; sd a1, 0(s0); li a2, 5; amoadd.d.aq a0, a2, (s0))
    TEST_CASE( 58, a0, 15, li a2, 5; amoadd.d.rl a0, a2, (s0))
    TEST_CASE( 59, a0, 20, li a2, 5; amoadd.d.aqrl a0, a2, (s0); ld a0, 0(s0); addi a0, a0, -5)
    /* rd == x0: memory still updated */
    TEST_CASE( 60, a0, 0x77, li a2, 0x77; amoswap.d x0, a2, (s0); ld a0, 0(s0))
    /* rd == rs2: old value returned, new value from the old rs2 */
    TEST_CASE( 61, a0, 0x77, li a0, 0x100; amoadd.d a0, a0, (s0))
    TEST_CASE( 62, a0, 0x177, ld a0, 0(s0))

    /* LR/SC success (retried a bounded number of times: an SC may fail
     * spuriously, but an LR/SC loop like this must eventually succeed) */
    li TESTNUM, 63
    li a1, 0x1111
    sd a1, 8(s0)
    li a4, 100
1:  lr.d a0, (s1)
    li a2, 0x2222
    sc.d a3, a2, (s1)
    beqz a3, 2f
    addi a4, a4, -1
    bnez a4, 1b
    j fail
2:  ASSERT_EQ(a0, 0x1111)
    TEST_CASE( 64, a0, 0x2222, ld a0, 8(s0))
    /* SC right after a successful SC has no reservation: fails, no store */
    TEST_CASE( 65, a0, 1, li a2, 0x3333; sc.d a3, a2, (s1); snez a0, a3)
    TEST_CASE( 66, a0, 0x2222, ld a0, 8(s0))
    /* SC to an address in another page than the LR's: must fail */
    li TESTNUM, 67
    la s2, amo_far
    li a1, 0x4444
    sd a1, 0(s2)
    lr.d a0, (s1)
    li a2, 0x5555
    sc.d a3, a2, (s2)
    beqz a3, fail_67
    ld a0, 0(s2)
    ASSERT_EQ(a0, 0x4444)
    /* a second SC there (never reserved) fails too */
    TEST_CASE( 68, a0, 1, li a2, 0x6666; sc.d a3, a2, (s2); snez a0, a3)
    /* LR.W sign-extends; SC.W writes only the word */
    li TESTNUM, 69
    li a1, 0xaaaaaaaa87654321
    sd a1, 16(s0)
    addi s3, s0, 16
    li a4, 100
1:  lr.w a0, (s3)
    li a2, 0xffffffff01020304
    sc.w a3, a2, (s3)
    beqz a3, 2f
    addi a4, a4, -1
    bnez a4, 1b
    j fail
2:  ASSERT_EQ(a0, 0xffffffff87654321)
    TEST_CASE( 70, a0, 0xaaaaaaaa01020304, ld a0, 16(s0))
    /* lr/sc with aq/rl bits */
    li TESTNUM, 71
    li a4, 100
1:  lr.d.aq a0, (s1)
    addi a0, a0, 1
    sc.d.rl a3, a0, (s1)
    beqz a3, 2f
    addi a4, a4, -1
    bnez a4, 1b
    j fail
2:  TEST_CASE( 72, a0, 0x2223, ld a0, 8(s0))
    /* An atomic increment loop (the classic LR/SC pattern), 50 rounds */
    li TESTNUM, 73
    sd zero, 24(s0)
    addi s3, s0, 24
    li a5, 50
3:  li a4, 100
1:  lr.d a0, (s3)
    addi a0, a0, 1
    sc.d a3, a0, (s3)
    beqz a3, 2f
    addi a4, a4, -1
    bnez a4, 1b
    j fail
2:  addi a5, a5, -1
    bnez a5, 3b
    ld a0, 24(s0)
    ASSERT_EQ(a0, 50)
    j pass

fail_67:
    j fail
TEST_END

    .align 6
amo_buf:
    .space 64
    .align 12
    .space 64
amo_far:
    .space 64

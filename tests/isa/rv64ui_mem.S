/* RV64I loads and stores: every width, sign/zero extension, little-endian
 * byte order, positive/negative offsets, partial stores, FENCE, and a
 * load into x0. */
#include "common.h"

TEST_BEGIN
    la s0, mdata
    /* mdata: 0x8877665544332211, 0xf0debc9a78563412 */
    TEST_CASE( 1, a0, 0x0000000000000011, lb a0, 0(s0))
    TEST_CASE( 2, a0, 0xffffffffffffff88, lb a0, 7(s0))
    TEST_CASE( 3, a0, 0x0000000000000088, lbu a0, 7(s0))
    TEST_CASE( 4, a0, 0x0000000000002211, lh a0, 0(s0))
    TEST_CASE( 5, a0, 0xffffffffffff8877, lh a0, 6(s0))
    TEST_CASE( 6, a0, 0x0000000000008877, lhu a0, 6(s0))
    TEST_CASE( 7, a0, 0x0000000044332211, lw a0, 0(s0))
    TEST_CASE( 8, a0, 0xffffffff88776655, lw a0, 4(s0))
    TEST_CASE( 9, a0, 0x0000000088776655, lwu a0, 4(s0))
    TEST_CASE(10, a0, 0x8877665544332211, ld a0, 0(s0))
    TEST_CASE(11, a0, 0xf0debc9a78563412, ld a0, 8(s0))
    TEST_CASE(12, a0, 0xfffffffff0debc9a, lw a0, 12(s0))
    TEST_CASE(13, a0, 0x00000000000000f0, lbu a0, 15(s0))
    TEST_CASE(14, a0, 0xfffffffffffffff0, lb a0, 15(s0))
    /* negative offsets */
    TEST_CASE(15, a0, 0x0000000078563412, addi a1, s0, 16; lw a0, -8(a1))
    TEST_CASE(16, a0, 0x8877665544332211, addi a1, s0, 2047; ld a0, -2047(a1))
    TEST_CASE(17, a0, 0x000000000000bc9a, addi a1, s0, -2035; lhu a0, 2047(a1))

    /* stores */
    la s1, wbuf
    TEST_CASE(18, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; sd a1, 0(s1); ld a0, 0(s1))
    TEST_CASE(19, a0, 0x01234567deadbeef, li a1, 0xffffffffdeadbeef; sw a1, 0(s1); ld a0, 0(s1))
    TEST_CASE(20, a0, 0x0123cafedeadbeef, li a1, 0x123cafe; sh a1, 4(s1); ld a0, 0(s1))
    TEST_CASE(21, a0, 0x5a23cafedeadbeef, li a1, -166; sb a1, 7(s1); ld a0, 0(s1))
    TEST_CASE(22, a0, 0x5a23cafedeadbe00, sb zero, 0(s1); ld a0, 0(s1))
    TEST_CASE(23, a0, 0x000000000000005a, lbu a0, 7(s1))
    /* stores with negative offsets, and to the next doubleword */
    TEST_CASE(24, a0, 0x1111111122222222, addi a1, s1, 24; li a2, 0x1111111122222222; sd a2, -16(a1); ld a0, 8(s1))
    TEST_CASE(25, a0, 0x0000000000007788, li a2, 0x7788; addi a1, s1, 32; sh a2, -14(a1); lhu a0, 18(s1))
    /* byte-by-byte store, doubleword load (little-endian) */
    li TESTNUM, 26
    li a1, 0x01
    sb a1, 24(s1)
    li a1, 0x02
    sb a1, 25(s1)
    li a1, 0x03
    sb a1, 26(s1)
    li a1, 0x04
    sb a1, 27(s1)
    li a1, 0x05
    sb a1, 28(s1)
    li a1, 0x06
    sb a1, 29(s1)
    li a1, 0x07
    sb a1, 30(s1)
    li a1, 0x08
    sb a1, 31(s1)
    ld a0, 24(s1)
    ASSERT_EQ(a0, 0x0807060504030201)
    /* doubleword store, halfword loads */
    TEST_CASE(27, a0, 0x0000000000000403, lhu a0, 26(s1))
    TEST_CASE(28, a0, 0x0000000000000807, lh a0, 30(s1))

    /* load into x0 has no effect on x0 */
    TEST_CASE(29, a0, 0, ld x0, 0(s0); mv a0, x0)
    /* load with rd == rs1 */
    TEST_CASE(30, a0, 0x8877665544332211, mv a0, s0; ld a0, 0(a0))
    /* store-to-load forwarding through the same address */
    TEST_CASE(31, a0, 0x3, li a1, 1; sd a1, 32(s1); ld a2, 32(s1); addi a2, a2, 2; sd a2, 32(s1); ld a0, 32(s1))

    /* fences are accepted (and do nothing visible on one hart) */
    TEST_CASE(32, a0, 0x77, li a1, 0x77; sd a1, 40(s1); fence; fence rw, rw; fence r, r; fence w, w; fence.tso; ld a0, 40(s1))
    /* pause (a FENCE hint) */
    TEST_CASE(33, a0, 9, li a0, 9; .word 0x0100000f)

    /* access near the top of a 4 KiB page and the first bytes of the next */
    la s2, pagebuf
    li TESTNUM, 34
    li a2, 4096
    add s3, s2, a2
    li a1, 0x1122334455667788
    sd a1, -8(s3)
    li a1, 0x99aabbccddeeff00
    sd a1, 0(s3)
    ld a0, -8(s3)
    ASSERT_EQ(a0, 0x1122334455667788)
    TEST_CASE(35, a0, 0xffffffffddeeff00, lw a0, 0(s3))
TEST_END

    .align 3
mdata:
    .dword 0x8877665544332211
    .dword 0xf0debc9a78563412
wbuf:
    .space 64
    .align 12
pagebuf:
    .space 8192

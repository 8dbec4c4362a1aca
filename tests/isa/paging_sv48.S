/* Sv48 translation: the Sv39 checks (paging_tests.h) under a 4-level
 * table, plus the 4th level itself: addresses above 512 GiB, 512 GiB
 * "terapages" (aligned and misaligned), and Sv48's canonical rule. */
#include "common.h"
#define LEVELS 4
#include "paging.h"

#define TERA_OK  0x18000000000      /* root48[3]: leaf -> PA 0 */
#define TERA_MIS 0x10000000000      /* root48[2]: leaf -> PA 0x80000000 */

TEST_BEGIN
#include "paging_tests.h"

    /* ---- Sv48 only ---- */
    la a3, pdata3
    li a1, 0x80000000
    sub a3, a3, a1                      /* pdata3's offset in RAM */
    /* 0x8000000000 (level-3 index 1) -> gigapage at PA 0x80000000 */
    TEST_S(70, a0, 0x3333333333333333, li a1, 0x8000000000; add a1, a1, a3; ld a0, 0(a1))
    /* bit 47 set with bits 63:48 clear: not canonical */
    TEST_S_FAULT(71, CAUSE_LOAD_PAGE_FAULT, 0x0000800000000000, li a1, 0x0000800000000000; ld a0, 0(a1))
    /* canonical in Sv48 (not in Sv39) and unmapped */
    TEST_S_FAULT(72, CAUSE_LOAD_PAGE_FAULT, 0x0000004000000000, li a1, 0x0000004000000000; ld a0, 0(a1))
    /* 512 GiB leaves at level 3 */
    li a1, 0
    SET_PTE(root48, 3, a1, PTE_LEAF_RW)
    li a1, 0x80000000
    SET_PTE(root48, 2, a1, PTE_LEAF_RW)
    sfence.vma
    li a1, 0x80000000
    add a3, a3, a1                      /* pdata3's PA */
    TEST_S(73, a0, 0x3333333333333333, li a1, TERA_OK; add a1, a1, a3; ld a0, 0(a1))
    TEST_S_FAULT(74, CAUSE_LOAD_PAGE_FAULT, TERA_MIS, li a1, TERA_MIS; ld a0, 0(a1))
TEST_END

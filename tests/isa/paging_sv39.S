/* Sv39 translation: 4 KiB pages, megapages and gigapages (aligned and
 * misaligned), R/W/X/U permissions, SUM, MXR, MPRV, A/D bits updated by
 * hardware, sfence.vma, invalid/reserved PTEs, non-canonical addresses,
 * page faults (12/13/15, mtval/stval = the virtual address) taken in M or
 * delegated to S. The shared checks are in paging_tests.h. */
#include "common.h"
#define LEVELS 3
#include "paging.h"

TEST_BEGIN
#include "paging_tests.h"

    /* ---- Sv39 only ---- */
    /* bit 38 set with bits 63:39 clear: not canonical */
    TEST_S_FAULT(70, CAUSE_LOAD_PAGE_FAULT, 0x0000004000000000, li a1, 0x0000004000000000; ld a0, 0(a1))
    /* the lowest upper-half address is canonical but unmapped */
    TEST_S_FAULT(71, CAUSE_LOAD_PAGE_FAULT, 0xffffffc000000000, li a1, 0xffffffc000000000; ld a0, 0(a1))
    /* Sv48's 4th level does not exist: 0x8000000000 is not canonical */
    TEST_S_FAULT(72, CAUSE_STORE_PAGE_FAULT, 0x8000000000, li a1, 0x8000000000; sd a0, 0(a1))
TEST_END

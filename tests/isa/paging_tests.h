/* The checks shared by paging_sv39.S and paging_sv48.S (numbers 1..69),
 * placed between TEST_BEGIN and TEST_END; see paging.h for the map. */

/* S-mode code, no trap expected, then reg == expected (checked in M) */
#define TEST_S(n, reg, expected, ...)  \
    li TESTNUM, n; TRAP_ARM; GOTO_S; __VA_ARGS__; GOTO_M; \
    CHECK_NO_TRAP(n); ASSERT_EQ(reg, expected)
/* S-mode code faulting once into M with cause and mtval */
#define TEST_S_FAULT(n, cause, tval, ...) \
    TEST_TRAP_IN_S(n, cause, __VA_ARGS__); \
    LOAD_TRAP(t5, TR_TVAL); ASSERT_EQ(t5, tval)
/* S-mode fetch fault: execution continues at the next instruction of
 * the test (through TR_RESUME) */
#define TEST_S_FETCH_FAULT(n, target)  \
    li TESTNUM, n; TRAP_ARM; SET_RESUME(9989f); GOTO_S; \
    li a1, target; jalr a1; 9989: GOTO_M; \
    CHECK_FAULT(n, CAUSE_FETCH_PAGE_FAULT, target)
/* U-mode load/store helpers: one trap or none */
#define TEST_U_LOAD(n, addr, expected) \
    li TESTNUM, n; TRAP_ARM; li a1, addr; CALL_U(u_load); \
    CHECK_NO_TRAP(n); ASSERT_EQ(a0, expected)
#define TEST_U_FAULT(n, func, cause, addr) \
    li TESTNUM, n; TRAP_ARM; li a1, addr; CALL_U(func); \
    CHECK_FAULT(n, cause, addr)

    call build_tables
    la s0, pdata1
    la s1, pdata2
    la s2, pdata3

    TEST_CASE(1, a0, SATP_MODE >> 60, csrr a1, satp; srli a0, a1, 60)

    /* ---- basic translation through 4 KiB pages ---- */
    TEST_S(2, a0, 0x1111111111111111, li a1, PG(PG_RW); ld a0, 0(a1))
    TEST_S(3, a0, 0, li a1, PG(PG_RW); li a2, 0xabcd; sd a2, 8(a1); li a0, 0)
    TEST_CASE(4, a0, 0xabcd, ld a0, 8(s0))          /* M sees it at the PA */
    TEST_S(5, a0, 0xabcd, li a1, PG(PG_RO); ld a0, 8(a1))
    /* same physical page through two VAs */
    TEST_S(6, a0, 0x5a5a, li a1, PG(PG_RW); li a2, 0x5a5a; sd a2, 16(a1); li a1, PG(PG_SF); ld a0, 16(a1))

    /* ---- permissions ---- */
    TEST_S_FAULT(7, CAUSE_STORE_PAGE_FAULT, PG(PG_RO) + 24, li a1, PG(PG_RO); sd a1, 24(a1))
    TEST_S_FAULT(8, CAUSE_LOAD_PAGE_FAULT, PG(PG_XO) + 4, li a1, PG(PG_XO); lw a0, 4(a1))
    TEST_S(9, a0, 0x42, li a1, PG(PG_XO); jalr a1)
    /* MXR: execute-only pages become readable (not writable) */
    li a1, MSTATUS_MXR
    csrs mstatus, a1
    TEST_S(10, a0, 0, li a1, PG(PG_XO); lw a0, 0(a1); la a2, pxonly; lw a2, 0(a2); sub a0, a0, a2)
    TEST_S_FAULT(11, CAUSE_STORE_PAGE_FAULT, PG(PG_XO), li a1, PG(PG_XO); sw a1, 0(a1))
    li a1, MSTATUS_MXR
    csrc mstatus, a1
    /* fetch from a page without X */
    TEST_S_FETCH_FAULT(12, PG(PG_RW))
    TEST_S_FETCH_FAULT(13, PG(PG_RO))

    /* ---- SUM and U pages ---- */
    TEST_S_FAULT(14, CAUSE_LOAD_PAGE_FAULT, PG(PG_URW), li a1, PG(PG_URW); ld a0, 0(a1))
    TEST_S_FAULT(15, CAUSE_STORE_PAGE_FAULT, PG(PG_URW) + 8, li a1, PG(PG_URW); sd a0, 8(a1))
    li a1, MSTATUS_SUM
    csrs mstatus, a1
    TEST_S(16, a0, 0x2222222222222222, li a1, PG(PG_URW); ld a0, 0(a1))
    TEST_S(17, a0, 0, li a1, PG(PG_URW); li a2, 0x77; sd a2, 8(a1); li a0, 0)
    TEST_CASE(18, a0, 0x77, ld a0, 8(s1))
    /* S never executes U pages, SUM or not */
    li TESTNUM, 19
    la a2, user_code_start
    TRAP_ARM
    SET_RESUME(1f)
    GOTO_S
    la a1, user_code_start
    jalr a1
1:  GOTO_M
    CHECK_TRAP(19, CAUSE_FETCH_PAGE_FAULT)
    LOAD_TRAP(a0, TR_TVAL)
    ASSERT_REGS_EQ(a0, a2)
    li a1, MSTATUS_SUM
    csrc mstatus, a1

    /* ---- U mode ---- */
    TEST_U_LOAD(20, PG(PG_URW), 0x2222222222222222)
    TEST_U_LOAD(21, PG(PG_URO) + 8, 0x77)
    li TESTNUM, 22
    TRAP_ARM
    li a1, PG(PG_URW) + 16
    li a2, 0x99
    CALL_U(u_store)
    CHECK_NO_TRAP(22)
    TEST_CASE(23, a0, 0x99, ld a0, 16(s1))
    TEST_U_FAULT(24, u_store, CAUSE_STORE_PAGE_FAULT, PG(PG_URO) + 16)
    TEST_U_FAULT(25, u_load, CAUSE_LOAD_PAGE_FAULT, PG(PG_RW))
    TEST_U_FAULT(26, u_store, CAUSE_STORE_PAGE_FAULT, PG(PG_RW))
    TEST_U_FAULT(27, u_load, CAUSE_LOAD_PAGE_FAULT, PG(PG_XO))
    /* U fetch from an S page */
    li TESTNUM, 28
    TRAP_ARM
    SET_RESUME(u_resume)
    la a1, s_func
    mv a2, a1
    CALL_U(u_jump)
    CHECK_TRAP(28, CAUSE_FETCH_PAGE_FAULT)
    LOAD_TRAP(a0, TR_TVAL)
    ASSERT_REGS_EQ(a0, a2)
    /* SUM does not matter to U */
    li a1, MSTATUS_SUM
    csrs mstatus, a1
    TEST_U_FAULT(29, u_load, CAUSE_LOAD_PAGE_FAULT, PG(PG_RW) + 8)
    li a1, MSTATUS_SUM
    csrc mstatus, a1

    /* ---- invalid and reserved PTEs ---- */
    TEST_S_FAULT(30, CAUSE_LOAD_PAGE_FAULT, PG(PG_INV), li a1, PG(PG_INV); ld a0, 0(a1))
    TEST_S_FAULT(31, CAUSE_STORE_PAGE_FAULT, PG(PG_INV) + 8, li a1, PG(PG_INV); sd a0, 8(a1))
    TEST_S_FAULT(32, CAUSE_LOAD_PAGE_FAULT, PG(PG_WONLY), li a1, PG(PG_WONLY); ld a0, 0(a1))
    TEST_S_FAULT(33, CAUSE_STORE_PAGE_FAULT, PG(PG_WONLY), li a1, PG(PG_WONLY); sd a0, 0(a1))
    /* pointer PTE at the last level */
    TEST_S_FAULT(34, CAUSE_LOAD_PAGE_FAULT, NONLEAF_L0 + 0x10, li a1, NONLEAF_L0; ld a0, 0x10(a1))
    /* reserved PTE bits 60:54 set: fault */
    TEST_S_FAULT(35, CAUSE_LOAD_PAGE_FAULT, PG(PG_RSVD), li a1, PG(PG_RSVD); ld a0, 0(a1))

    /* ---- A and D bits: set by hardware ---- */
    TEST_CASE(36, a0, 0, PTE_ADDR(PG_AD0); ld a1, 0(a0); andi a0, a1, PTE_A | PTE_D)
    TEST_S(37, a0, 0x3333333333333333, li a1, PG(PG_AD0); ld a0, 0(a1))
    TEST_CASE(38, a0, PTE_A, PTE_ADDR(PG_AD0); ld a1, 0(a0); andi a0, a1, PTE_A | PTE_D)
    TEST_S(39, a0, 0, li a1, PG(PG_AD0); sd zero, 8(a1); li a0, 0)
    TEST_CASE(40, a0, PTE_A | PTE_D, PTE_ADDR(PG_AD0); ld a1, 0(a0); andi a0, a1, PTE_A | PTE_D)
    /* a store to a page with A = 1, D = 0 sets D */
    TEST_S(41, a0, 0, li a1, PG(PG_A1D0); sd zero, 16(a1); li a0, 0)
    TEST_CASE(42, a0, PTE_A | PTE_D, PTE_ADDR(PG_A1D0); ld a1, 0(a0); andi a0, a1, PTE_A | PTE_D)
    /* an instruction fetch sets A (not D) */
    TEST_S(43, a0, 0x42, li a1, PG(PG_XA0); jalr a1)
    TEST_CASE(44, a0, PTE_A, PTE_ADDR(PG_XA0); ld a1, 0(a0); andi a0, a1, PTE_A | PTE_D)
    /* a load does not set D */
    TEST_CASE(45, a0, PTE_A, PTE_ADDR(PG_RO); ld a1, 0(a0); andi a0, a1, PTE_A | PTE_D)

    /* ---- sfence.vma makes PTE changes visible ---- */
    TEST_S(46, a0, 0x1111111111111111, li a1, PG(PG_SF); ld a0, 0(a1))
    li TESTNUM, 47
    mv a1, s1
    MK_PTE(a1, PTE_LEAF_RW)
    PTE_ADDR(PG_SF)
    sd t0, 0(a0)
    sfence.vma
    TEST_S(47, a0, 0x2222222222222222, li a1, PG(PG_SF); ld a0, 0(a1))
    /* S changes it back: M writes the PTE, S fences that one address */
    li TESTNUM, 48
    mv a1, s0
    MK_PTE(a1, PTE_LEAF_RW)
    PTE_ADDR(PG_SF)
    sd t0, 0(a0)
    TEST_S(48, a0, 0x1111111111111111, li a1, PG(PG_SF); sfence.vma a1, zero; ld a0, 0(a1))
    /* a PTE made invalid faults after sfence.vma */
    li TESTNUM, 49
    PTE_ADDR(PG_SF)
    sd zero, 0(a0)
    TEST_S_FAULT(49, CAUSE_LOAD_PAGE_FAULT, PG(PG_SF), li a1, PG(PG_SF); sfence.vma a1; ld a0, 0(a1))

    /* ---- superpages ---- */
    la a3, pdata3
    li a1, 0x80000000
    sub a3, a3, a1                      /* a3 = pdata3's offset in RAM */
    TEST_S(50, a0, 0x3333333333333333, li a1, MEGA_OK; add a1, a1, a3; ld a0, 0(a1))
    TEST_S_FAULT(51, CAUSE_LOAD_PAGE_FAULT, MEGA_MIS + 8, li a1, MEGA_MIS; ld a0, 8(a1))
    TEST_S(52, a0, 0x3333333333333333, li a1, GIGA_OK; add a1, a1, a3; ld a0, 0(a1))
    TEST_S_FAULT(53, CAUSE_LOAD_PAGE_FAULT, GIGA_MIS, li a1, GIGA_MIS; ld a0, 0(a1))
    TEST_S_FAULT(54, CAUSE_STORE_PAGE_FAULT, GIGA_MIS + 0x1000, li a1, GIGA_MIS + 0x1000; sd a0, 0(a1))
    /* the upper half of the address space */
    TEST_S(55, a0, 0x3333333333333333, li a1, HIGH_OK; add a1, a1, a3; ld a0, 0(a1))

    /* ---- non-canonical addresses ---- */
    TEST_S_FAULT(56, CAUSE_LOAD_PAGE_FAULT, NONCANON, li a1, NONCANON; ld a0, 0(a1))
    TEST_S_FAULT(57, CAUSE_STORE_PAGE_FAULT, NONCANON + 8, li a1, NONCANON; sd a0, 8(a1))
    TEST_S_FAULT(58, CAUSE_LOAD_PAGE_FAULT, 0x8000000040000000, li a1, 0x8000000040000000; ld a0, 0(a1))
    TEST_S_FETCH_FAULT(59, NONCANON)

    /* ---- MPRV: M-mode loads/stores with MPP's translation ---- */
    li TESTNUM, 60
    TRAP_ARM
    li a1, MSTATUS_MPP
    csrc mstatus, a1
    li a1, MSTATUS_MPP_S | MSTATUS_MPRV
    csrs mstatus, a1
    li a1, PG(PG_RW)
    ld a0, 0(a1)
    li a1, MSTATUS_MPRV
    csrc mstatus, a1
    CHECK_NO_TRAP(60)
    ASSERT_EQ(a0, 0x1111111111111111)
    li TESTNUM, 61
    TRAP_ARM
    li a1, MSTATUS_MPP
    csrc mstatus, a1
    li a1, MSTATUS_MPP_S | MSTATUS_MPRV
    csrs mstatus, a1
    li a1, PG(PG_RO)
    sd a0, 0(a1)
    li a1, MSTATUS_MPRV
    csrc mstatus, a1
    CHECK_FAULT(61, CAUSE_STORE_PAGE_FAULT, PG(PG_RO))
    CHECK_TRAP_FIELD(62, TR_PRIV, PRV_M)
    /* MPP = U: U pages yes, S pages no */
    li TESTNUM, 63
    TRAP_ARM
    li a1, MSTATUS_MPP
    csrc mstatus, a1
    li a1, MSTATUS_MPRV
    csrs mstatus, a1
    li a1, PG(PG_URW)
    ld a0, 0(a1)
    li a2, PG(PG_RW)
    ld a3, 0(a2)
    li a1, MSTATUS_MPRV
    csrc mstatus, a1
    CHECK_FAULT(63, CAUSE_LOAD_PAGE_FAULT, PG(PG_RW))
    li TESTNUM, 64
    ASSERT_EQ(a0, 0x2222222222222222)
    /* instruction fetch in M is never translated (we are still running) */

    /* ---- page faults delegated to S ---- */
    la a1, trap_s_entry
    csrw stvec, a1
    li a1, (1 << CAUSE_FETCH_PAGE_FAULT) | (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT)
    csrw medeleg, a1
    li TESTNUM, 65
    TRAP_ARM
    GOTO_S
    li a1, PG(PG_INV)
s_pf_load:
    ld a0, 24(a1)
    GOTO_M
    CHECK_STRAP(65, CAUSE_LOAD_PAGE_FAULT)
    CHECK_STRAP_FIELD(66, TR_TVAL, PG(PG_INV) + 24)
    li TESTNUM, 67
    LOAD_STRAP(a0, TR_EPC)
    la a1, s_pf_load
    ASSERT_REGS_EQ(a0, a1)
    /* from U, with SPP = U */
    li TESTNUM, 68
    TRAP_ARM
    SET_SRESUME(u_resume)      /* the S handler need not read U code */
    li a1, PG(PG_RO)
    CALL_U(u_store)
    CHECK_STRAP(68, CAUSE_STORE_PAGE_FAULT)
    CHECK_STRAP_FIELD(69, TR_PRIV, PRV_U)
    csrw medeleg, zero

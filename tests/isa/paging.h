/* Shared body of paging_sv39.S and paging_sv48.S (which define LEVELS as
 * 3 or 4 and include this after common.h).
 *
 * Page tables are built at run time in M-mode (in .data pages):
 *
 *   VA 0x80000000..0x801fffff  4 KiB identity pages, S-only RWX (the test
 *                              image; must stay < 2 MiB), except the user
 *                              code page (U R X).
 *   VA 0x80200000..0x87ffffff  2 MiB identity megapages, S RWX.
 *   VA 0x40000000 + i*4K       test pages, PG(i), see below.
 *   VA 0x40200000              megapage with a misaligned PPN -> fault
 *   VA 0x40400000              megapage -> PA 0x80000000
 *   VA 0x40600000              non-leaf PTE at level 0 -> fault
 *   VA 0xc0000000              gigapage -> PA 0x80000000
 *   VA 0x100000000             gigapage with a misaligned PPN -> fault
 *   VA 0xffffffffc0000000      gigapage -> PA 0x80000000 (upper half)
 *   Sv48 only: VA 0x8000000000 (needs the 4th level) -> PA 0x80000000
 *
 * Faults go to the M handler unless a test delegates them. User-mode code
 * lives in its own page (.text.user) and is entered with CALL_U. */

#define TVA    0x40000000
#define PG(i)  (TVA + (i) * 0x1000)

/* test pages */
#define PG_RW      0    /* -> pdata1, S RW A D */
#define PG_RO      1    /* -> pdata1, S R A */
#define PG_XO      2    /* -> pxonly, S X A */
#define PG_URW     3    /* -> pdata2, U RW A D */
#define PG_URO     4    /* -> pdata2, U R A */
#define PG_AD0     5    /* -> pdata3, S RW, A = D = 0 */
#define PG_SF      6    /* -> pdata1, later pdata2 (sfence test) */
#define PG_INV     7    /* V = 0 */
#define PG_WONLY   8    /* W without R: reserved */
#define PG_A1D0    9    /* -> pdata3, S RW A, D = 0 */
#define PG_XA0     10   /* -> pxonly, S X, A = 0 */
#define PG_RSVD    11   /* -> pdata1, S RW A D + reserved bit 60 */

#define PTE_LEAF_RW  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define PTE_LEAF_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

#define MEGA_MIS   0x40200000
#define MEGA_OK    0x40400000
#define NONLEAF_L0 0x40600000
#define GIGA_OK    0xc0000000
#define GIGA_MIS   0x100000000
#define HIGH_OK    0xffffffffc0000000

#if LEVELS == 4
#define SATP_MODE SATP_MODE_SV48
#define NONCANON  0x0001000000000000
#else
#define SATP_MODE SATP_MODE_SV39
#define NONCANON  0x0000008000000000
#endif

/* t0 = PTE pointing at the physical address in `pa` with `flags` */
#define MK_PTE(pa, flags)   \
    srli t0, pa, 12;        \
    slli t0, t0, 10;        \
    ori t0, t0, flags
/* table[idx] = PTE(pa register, flags) */
#define SET_PTE(table, idx, pa, flags) \
    MK_PTE(pa, flags);                 \
    la t1, table;                      \
    li t2, (idx) * 8;                  \
    add t1, t1, t2;                    \
    sd t0, 0(t1)
/* a0 = address of the PTE of test page i */
#define PTE_ADDR(i)                    \
    la a0, l0_test;                    \
    addi a0, a0, (i) * 8

/* Run the user-mode routine `func` (in .text.user); it ends with U_RETURN
 * and must keep a6. */
#define CALL_U(func)                   \
    la a6, 9990f;                      \
    la t6, func;                       \
    csrw mepc, t6;                     \
    li t6, MSTATUS_MPP | MSTATUS_MPIE; \
    csrc mstatus, t6;                  \
    mret;                              \
9990:
#define U_RETURN                       \
    li a7, GOTO_M_MAGIC;               \
    ecall

/* Expect exactly one trap to M with `cause` and mtval `tval`. */
#define CHECK_FAULT(n, cause, tval)    \
    CHECK_TRAP(n, cause);              \
    LOAD_TRAP(t5, TR_TVAL);            \
    ASSERT_EQ(t5, tval)

    .text
build_tables:
    /* ---- L0 identity for the first 2 MiB ---- */
    la a0, l0_ident
    li a1, 0x80000000
    li a2, 512
1:  MK_PTE(a1, PTE_LEAF_RWX)
    sd t0, 0(a0)
    addi a0, a0, 8
    li t1, 0x1000
    add a1, a1, t1
    addi a2, a2, -1
    bnez a2, 1b
    /* the user code page: U R X */
    la a1, user_code_start
    li t1, 0x80000000
    sub t2, a1, t1
    srli t2, t2, 12
    slli t2, t2, 3
    la a0, l0_ident
    add a0, a0, t2
    MK_PTE(a1, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)
    sd t0, 0(a0)
    /* ---- L1 for 0x80000000..0xbfffffff ---- */
    la a1, l0_ident
    SET_PTE(l1_ident, 0, a1, PTE_V)
    la a0, l1_ident
    addi a0, a0, 8
    li a1, 0x80200000
    li a2, 63
1:  MK_PTE(a1, PTE_LEAF_RWX)
    sd t0, 0(a0)
    addi a0, a0, 8
    li t1, 0x200000
    add a1, a1, t1
    addi a2, a2, -1
    bnez a2, 1b
    /* ---- test window: L1 at VA 0x40000000 ---- */
    la a1, l0_test
    SET_PTE(l1_test, 0, a1, PTE_V)
    la a1, pdata1                   /* misaligned megapage: PPN[0] != 0 */
    SET_PTE(l1_test, 1, a1, PTE_LEAF_RW)
    li a1, 0x80000000
    SET_PTE(l1_test, 2, a1, PTE_LEAF_RW)
    la a1, l0_nonleaf
    SET_PTE(l1_test, 3, a1, PTE_V)
    la a1, pdata1                   /* a pointer PTE at level 0 */
    SET_PTE(l0_nonleaf, 0, a1, PTE_V)
    /* ---- test pages ---- */
    la a1, pdata1
    SET_PTE(l0_test, PG_RW, a1, PTE_LEAF_RW)
    SET_PTE(l0_test, PG_RO, a1, PTE_V | PTE_R | PTE_A)
    SET_PTE(l0_test, PG_SF, a1, PTE_LEAF_RW)
    la a1, pxonly
    SET_PTE(l0_test, PG_XO, a1, PTE_V | PTE_X | PTE_A)
    SET_PTE(l0_test, PG_XA0, a1, PTE_V | PTE_X)
    la a1, pdata2
    SET_PTE(l0_test, PG_URW, a1, PTE_LEAF_RW | PTE_U)
    SET_PTE(l0_test, PG_URO, a1, PTE_V | PTE_R | PTE_U | PTE_A)
    la a1, pdata3
    SET_PTE(l0_test, PG_AD0, a1, PTE_V | PTE_R | PTE_W)
    SET_PTE(l0_test, PG_A1D0, a1, PTE_V | PTE_R | PTE_W | PTE_A)
    la a1, pdata1
    SET_PTE(l0_test, PG_WONLY, a1, PTE_V | PTE_W | PTE_A | PTE_D)
    SET_PTE(l0_test, PG_RSVD, a1, PTE_LEAF_RW)
    la a0, l0_test
    ld t0, PG_RSVD * 8(a0)
    li t1, 1 << 60
    or t0, t0, t1
    sd t0, PG_RSVD * 8(a0)
    /* ---- the Sv39-shaped root (level 2) ---- */
    la a1, l1_test
    SET_PTE(root39, 1, a1, PTE_V)
    la a1, l1_ident
    SET_PTE(root39, 2, a1, PTE_V)
    li a1, 0x80000000
    SET_PTE(root39, 3, a1, PTE_LEAF_RW)
    li a1, 0x80200000               /* misaligned gigapage */
    SET_PTE(root39, 4, a1, PTE_LEAF_RW)
    li a1, 0x80000000
    SET_PTE(root39, 511, a1, PTE_LEAF_RW)
#if LEVELS == 4
    /* ---- level 3 on top ---- */
    la a1, root39
    SET_PTE(root48, 0, a1, PTE_V)
    SET_PTE(root48, 511, a1, PTE_V)
    la a1, l2_hi
    SET_PTE(root48, 1, a1, PTE_V)
    li a1, 0x80000000
    SET_PTE(l2_hi, 0, a1, PTE_LEAF_RW)
    la a1, root48
#else
    la a1, root39
#endif
    srli a1, a1, 12
    li t0, SATP_MODE
    or a1, a1, t0
    csrw satp, a1
    sfence.vma
    ret

/* ---- user code: its own page, mapped U R X ---- */
    .text
    .balign 4096
user_code_start:
u_load:                 /* a0 = *(u64 *)a1 */
    ld a0, 0(a1)
    U_RETURN
u_store:                /* *(u64 *)a1 = a2 */
    sd a2, 0(a1)
    U_RETURN
u_jump:                 /* call a1 (expected to fault; resume at u_resume) */
    jalr a1
u_resume:
    U_RETURN
    .balign 4096

/* ---- execute-only code page ---- */
    .balign 4096
pxonly:
    li a0, 0x42
    ret
    .balign 4096

/* S-mode function in ordinary (identity) code: returns 0x77 */
s_func:
    li a0, 0x77
    ret

/* ---- data ---- */
    .data
    .balign 4096
pdata1: .dword 0x1111111111111111
    .balign 4096
pdata2: .dword 0x2222222222222222
    .balign 4096
pdata3: .dword 0x3333333333333333
    .balign 4096
root39:    .space 4096
l1_ident:  .space 4096
l0_ident:  .space 4096
l1_test:   .space 4096
l0_test:   .space 4096
l0_nonleaf: .space 4096
#if LEVELS == 4
root48:    .space 4096
l2_hi:     .space 4096
#endif
    .text

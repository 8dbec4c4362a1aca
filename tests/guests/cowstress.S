/* Copy-on-write stress (tests/unit/test_memshare.c). Fills NPAGES pages
 * (4 MiB from DATA_BASE) with version 0 of a pattern that is the same in
 * every VM, so the host's scanner merges them within the VM and across VMs
 * of one sharing domain. A page only ever holds one of NVERS versions, so
 * rewritten pages keep matching others and get merged again. Then, for
 * `rounds` rounds, each hart rewrites pages of its own (even pages: hart
 * 0, odd: hart 1) with versions picked by its own PRNG, seeded from the
 * boot argument `seed=N` (different in each VM) and the hart id, and
 * checks pages against the version table (one byte per page):
 *   - hot phase: HOT_ITERS times, verify a window of HOT_PAGES pages (few
 *     enough to stay in the software TLB between passes) and rewrite one
 *     own page in it. With two harts this is where one hart's
 *     copy-on-write break must shoot down the other's TLB entry for the
 *     shared frame: a stale entry would read the old contents;
 *   - cold phase: rewrite PER_ROUND own pages anywhere, verify every page.
 *
 * With two harts (HSM hart_start of hart 1 succeeds) both run at once, each
 * verifying the other's pages while they are being rewritten. The table is
 * a seqlock per page: a writer stores BUSY, fences, writes the page,
 * fences, stores the new version; a reader skips a page whose version is
 * BUSY or changed while it was read (the reader's own pages never are).
 * With one hart it does all pages itself.
 *
 * Ends "cowstress: pass" + SBI shutdown, or "cowstress: FAIL ..." +
 * shutdown(system failure). Boot argument `hold=1`: after passing, sleep
 * in WFI instead of shutting down (the test inspects the pmaps, then
 * stops the VM). `rounds=N` overrides the default 40; `corrupt=1` damages
 * one word behind the table's back (the test must then fail). */
#include "guest.h"

#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_IPI 0x735049
#define SIE_SSIE 0x2

#define DATA_BASE 0x80400000
#define NPAGES 1024
#define NVERS 16            /* versions 0..15; BUSY marks a page being written */
#define BUSY 0xff
#define PER_ROUND 16
#define HOT_PAGES 64          /* < the 256-entry software TLB */
#define HOT_ITERS 32
#define DEFAULT_ROUNDS 40
#define K1 0x9E3779B97F4A7C15   /* word i of version v: K1 * (v + 1) + K2 * i */
#define K2 0xD1B54A32D192ED03

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    sd s0, 8(sp)
    mv s0, a1                   /* fdt */
    mv s1, a1

    mv a0, s0
    la a1, key_seed
    li a2, 1
    call bootarg
    la t0, seed
    sd a0, 0(t0)
    mv a0, s0
    la a1, key_rounds
    li a2, DEFAULT_ROUNDS
    call bootarg
    la t0, rounds
    sd a0, 0(t0)
    mv a0, s0
    la a1, key_hold
    li a2, 0
    call bootarg
    la t0, hold
    sd a0, 0(t0)

    la a0, msg_up
    call puts

    /* version 0 everywhere */
    li s0, 0
1:  la t0, vers
    add t0, t0, s0
    sb zero, 0(t0)
    li t0, DATA_BASE
    slli t1, s0, 12
    add a0, t0, t1
    li a1, 0
    call fill_page
    addi s0, s0, 1
    li t0, NPAGES
    blt s0, t0, 1b
    /* corrupt=1 (a check that the checker works): one word of page 4
     * changes behind the version table's back. Page 4 is hart 0's (even)
     * and in the first hot window, which is verified before anything is
     * rewritten: the damage is always found. */
    mv a0, s1
    la a1, key_corrupt
    li a2, 0
    call bootarg
    beqz a0, 1f
    li t0, DATA_BASE + 4 * 4096
    sd zero, 24(t0)
1:  fence rw, rw

    /* Hart 1, if there is one: nharts = 2 must be visible before it runs. */
    la t0, nharts
    li t1, 2
    sd t1, 0(t0)
    fence rw, rw
    li a7, SBI_EXT_HSM
    li a6, 0                    /* hart_start(1, hart1_entry, 0) */
    li a0, 1
    la a1, hart1_entry
    li a2, 0
    ecall
    beqz a0, 2f
    la t0, nharts
    li t1, 1
    sd t1, 0(t0)
    la t0, done1
    sd t1, 0(t0)                /* no hart 1 to wait for */
2:
    la t0, nharts
    ld t2, 0(t0)
    li t1, 2
    la a0, msg_one
    bne t2, t1, 3f
    la a0, msg_two
3:  call puts

    csrs sie, SIE_SSIE          /* WFI wakes on hart 1's IPI (SIE stays off: no trap) */
    li a0, 0
    call worker

    /* wait for hart 1: it sets done1, then sends an IPI */
4:  csrc sip, SIE_SSIE
    la t0, done1
    ld t1, 0(t0)
    bnez t1, 5f
    wfi
    j 4b
5:  fence rw, rw
    la t0, failed
    ld t1, 0(t0)
    bnez t1, report_fail

    la a0, msg_pass
    call puts
    la t0, hold
    ld t1, 0(t0)
    beqz t1, 6f
    csrw sie, zero
7:  wfi                         /* held: the test stops the VM */
    j 7b
6:  li a7, SBI_EXT_SRST
    li a6, 0
    li a0, SRST_SHUTDOWN
    li a1, SRST_REASON_NONE
    ecall
8:  j 8b

report_fail:
    la a0, msg_fail
    call puts
    la t0, fail_hart
    ld a0, 0(t0)
    call puthex
    la a0, msg_page
    call puts
    la t0, fail_page
    ld a0, 0(t0)
    call puthex
    la a0, msg_ver
    call puts
    la t0, fail_ver
    ld a0, 0(t0)
    call puthex
    la a0, msg_got
    call puts
    la t0, fail_word
    ld a0, 0(t0)
    call puthex
    la a0, msg_nl
    call puts
    li a7, SBI_EXT_SRST
    li a6, 0
    li a0, SRST_SHUTDOWN
    li a1, SRST_REASON_FAILURE
    ecall
9:  j 9b

/* Hart 1 (a0 = 1): its own stack, the same worker, then tell hart 0. */
hart1_entry:
    la sp, stack1_top
    li a0, 1
    call worker
    fence rw, rw
    la t0, done1
    li t1, 1
    sd t1, 0(t0)
    fence rw, rw
    li a7, SBI_EXT_IPI
    li a6, 0                    /* send_ipi(mask = hart 0, base 0) */
    li a0, 1
    li a1, 0
    ecall
1:  wfi
    j 1b

/* WRITE_ONE lo, n (registers): rewrite one page of this hart's among
 * pages [lo, lo + n) (lo and n even) with a random version, as a seqlock
 * writer. Worker context: s0 hartid, s1 nharts, s2 PRNG, s5 data, s6
 * table; uses s9, s10, s11. */
.macro WRITE_ONE lo, n
    call rng
    divu t1, \n, s1
    srli t0, a0, 8
    remu t0, t0, t1
    mul t0, t0, s1
    add t0, t0, \lo
    add s9, t0, s0              /* page */
    srli t1, a0, 40
    andi s10, t1, NVERS - 1     /* version */
    add s11, s6, s9
    li t2, BUSY
    sb t2, 0(s11)
    fence w, w
    slli t0, s9, 12
    add a0, s5, t0
    mv a1, s10
    call fill_page
    fence w, w
    sb s10, 0(s11)
.endm

/* worker(a0 = hartid): the rounds. Each round: a hot phase, HOT_ITERS
 * times "verify a HOT_PAGES window, rewrite one own page of it"
 * (the window fits the other hart's TLB, so a stale entry for a page the
 * other hart just copied-on-write would be read again); then PER_ROUND
 * rewrites anywhere and a verify of every page. */
worker:
    addi sp, sp, -112
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    sd s2, 24(sp)
    sd s3, 32(sp)
    sd s4, 40(sp)
    sd s5, 48(sp)
    sd s6, 56(sp)
    sd s7, 64(sp)
    sd s8, 72(sp)
    sd s9, 80(sp)
    sd s10, 88(sp)
    sd s11, 96(sp)

    mv s0, a0                   /* hartid */
    la t0, nharts
    ld s1, 0(t0)
    la t0, seed
    ld s2, 0(t0)
    addi t1, s0, 1
    li t2, K1
    mul t1, t1, t2
    xor s2, s2, t1              /* PRNG state: seed ^ K1 * (hartid + 1) */
    bnez s2, 1f
    li s2, 1
1:  li s3, 0                    /* round */
    la t0, rounds
    ld s4, 0(t0)
    li s5, DATA_BASE
    la s6, vers

round:
    la t0, failed
    ld t1, 0(t0)
    bnez t1, wdone
    bgeu s3, s4, wdone

    /* hot phase: window (round % (NPAGES / HOT_PAGES)) * HOT_PAGES; both
     * harts go at the same pace, so mostly in the same window */
    li t0, NPAGES / HOT_PAGES
    remu t0, s3, t0
    li t1, HOT_PAGES
    mul s7, t0, t1              /* window start */
    li s8, HOT_ITERS
hot:
    mv a0, s7
    li a1, HOT_PAGES
    mv a2, s0
    call verify_range
    bnez a0, wdone
    li t3, HOT_PAGES
    WRITE_ONE s7, t3
    addi s8, s8, -1
    bnez s8, hot

    /* cold: rewrite PER_ROUND own pages anywhere, verify every page */
    li s8, PER_ROUND
wr: li t3, NPAGES
    WRITE_ONE zero, t3
    addi s8, s8, -1
    bnez s8, wr
    li a0, 0
    li a1, NPAGES
    mv a2, s0
    call verify_range
    bnez a0, wdone

    addi s3, s3, 1
    j round

wdone:
    ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    ld s2, 24(sp)
    ld s3, 32(sp)
    ld s4, 40(sp)
    ld s5, 48(sp)
    ld s6, 56(sp)
    ld s7, 64(sp)
    ld s8, 72(sp)
    ld s9, 80(sp)
    ld s10, 88(sp)
    ld s11, 96(sp)
    addi sp, sp, 112
    ret

/* verify_range(a0 = first page, a1 = count, a2 = hartid): check pages
 * against the table as a seqlock reader (skip a page whose version is
 * BUSY or changed while it was read). 0, or 1 after recording the
 * failure (fail_*) and setting `failed`. */
verify_range:
    addi sp, sp, -64
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    sd s2, 24(sp)
    sd s3, 32(sp)
    sd s4, 40(sp)
    sd s5, 48(sp)
    mv s0, a0                   /* page */
    add s1, a0, a1              /* end */
    mv s2, a2
    la s5, vers
1:  bgeu s0, s1, 3f
    add s3, s5, s0
    lbu s4, 0(s3)               /* version before */
    li t2, BUSY
    beq s4, t2, 2f
    fence r, r
    li t0, DATA_BASE
    slli t1, s0, 12
    add a0, t0, t1
    mv a1, s4
    call verify_page            /* a0: 0 ok, else the address of the bad word */
    fence r, r
    lbu t1, 0(s3)               /* version after */
    bne t1, s4, 2f              /* rewritten meanwhile: skip */
    bnez a0, 4f
2:  addi s0, s0, 1
    j 1b
3:  li a0, 0
    j 5f
4:  ld t1, 0(a0)
    la t0, fail_word
    sd t1, 0(t0)
    la t0, fail_hart
    sd s2, 0(t0)
    la t0, fail_page
    sd s0, 0(t0)
    la t0, fail_ver
    sd s4, 0(t0)
    fence w, w
    la t0, failed
    li t1, 1
    sd t1, 0(t0)
    li a0, 1
5:  ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    ld s2, 24(sp)
    ld s3, 32(sp)
    ld s4, 40(sp)
    ld s5, 48(sp)
    addi sp, sp, 64
    ret

/* xorshift64 on s2 (the worker's state); returns it in a0. */
rng:
    slli t0, s2, 13
    xor s2, s2, t0
    srli t0, s2, 7
    xor s2, s2, t0
    slli t0, s2, 17
    xor s2, s2, t0
    mv a0, s2
    ret

/* fill_page(a0 = page, a1 = version) */
fill_page:
    addi t0, a1, 1
    li t1, K1
    mul t0, t0, t1
    li t1, K2
    li t2, 4096
    add t2, t2, a0
1:  sd t0, 0(a0)
    add t0, t0, t1
    addi a0, a0, 8
    bltu a0, t2, 1b
    ret

/* verify_page(a0 = page, a1 = version): 0, or the address of a wrong word */
verify_page:
    addi t0, a1, 1
    li t1, K1
    mul t0, t0, t1
    li t1, K2
    li t2, 4096
    add t2, t2, a0
1:  ld t3, 0(a0)
    bne t3, t0, 2f
    add t0, t0, t1
    addi a0, a0, 8
    bltu a0, t2, 1b
    li a0, 0
2:  ret

/* puthex(a0): 16 hex digits */
puthex:
    mv t1, a0
    li t2, 60
1:  srl a0, t1, t2
    andi a0, a0, 15
    li t0, 10
    blt a0, t0, 2f
    addi a0, a0, 'a' - '0' - 10
2:  addi a0, a0, '0'
    li a7, SBI_LEGACY_PUTCHAR
    ecall
    addi t2, t2, -4
    bgez t2, 1b
    ret

    .section .rodata
key_seed:   .asciz "seed="
key_rounds: .asciz "rounds="
key_hold:   .asciz "hold="
key_corrupt: .asciz "corrupt="
msg_up:     .asciz "cowstress: up\n"
msg_one:    .asciz "cowstress: 1 hart\n"
msg_two:    .asciz "cowstress: 2 harts\n"
msg_pass:   .asciz "cowstress: pass\n"
msg_fail:   .asciz "cowstress: FAIL hart "
msg_page:   .asciz " page "
msg_ver:    .asciz " expected version "
msg_got:    .asciz " word "
msg_nl:     .asciz "\n"

    .data
    .balign 8
seed:      .dword 0
rounds:    .dword 0
hold:      .dword 0
nharts:    .dword 1
done1:     .dword 0
failed:    .dword 0
fail_hart: .dword 0
fail_page: .dword 0
fail_ver:  .dword 0
fail_word: .dword 0

    .bss
    .balign 4096
vers:
    .skip NPAGES
    .balign 16
stack1:
    .skip 4096
stack1_top:

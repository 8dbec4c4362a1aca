/* Swap round trip (tests/fleet/mem_swap.sh, tests/unit/test_memshare.c):
 * writes a pattern over `mib=N` MiB (boot argument; default 200) from
 * DATA_BASE, each 8-byte word a hash of its own address (no two pages
 * alike, none zero, so neither sharing nor zero-page dropping can stand in
 * for swap), prints "swapfill: written", then reads every word back and
 * checks it. With a memory limit well below N MiB the host has to swap
 * most of it out and back in. Ends "swapfill: pass" + SBI shutdown, or
 * "swapfill: FAIL ..." + shutdown(system failure). */
#include "guest.h"

#define DATA_BASE 0x80400000
#define DEFAULT_MIB 200
#define K1 0x9E3779B97F4A7C15

    .text
    .globl main
main:
    mv s0, a1                   /* fdt: the top of the RAM we may use */
    mv a0, s0
    la a1, key_mib
    li a2, DEFAULT_MIB
    call bootarg
    slli s2, a0, 20             /* bytes */
    li s1, DATA_BASE
    add s3, s1, s2              /* end */
    beqz s2, too_big
    bgtu s3, s0, too_big        /* would overwrite the device tree (or wrap) */

    la a0, msg_up
    call puts

    li s4, K1
    mv t0, s1
1:  mul t1, t0, s4              /* word = h(address) */
    srli t2, t1, 31
    xor t1, t1, t2
    sd t1, 0(t0)
    addi t0, t0, 8
    bltu t0, s3, 1b

    la a0, msg_written
    call puts

    mv t0, s1
2:  mul t1, t0, s4
    srli t2, t1, 31
    xor t1, t1, t2
    ld t3, 0(t0)
    bne t3, t1, bad
    addi t0, t0, 8
    bltu t0, s3, 2b

    la a0, msg_pass
    call puts
    li a7, SBI_EXT_SRST
    li a6, 0
    li a0, SRST_SHUTDOWN
    li a1, SRST_REASON_NONE
    ecall
3:  j 3b

bad:
    mv s5, t0
    mv s6, t3
    la a0, msg_fail
    call puts
    mv a0, s5
    call puthex
    la a0, msg_got
    call puts
    mv a0, s6
    call puthex
    la a0, msg_nl
    call puts
    j fail

too_big:
    la a0, msg_big
    call puts
fail:
    li a7, SBI_EXT_SRST
    li a6, 0
    li a0, SRST_SHUTDOWN
    li a1, SRST_REASON_FAILURE
    ecall
4:  j 4b

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
key_mib:     .asciz "mib="
msg_up:      .asciz "swapfill: up\n"
msg_written: .asciz "swapfill: written\n"
msg_pass:    .asciz "swapfill: pass\n"
msg_fail:    .asciz "swapfill: FAIL at "
msg_got:     .asciz " word "
msg_nl:      .asciz "\n"
msg_big:     .asciz "swapfill: FAIL: mib= does not fit below the device tree\n"

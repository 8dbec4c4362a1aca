/* Runtime of the test guests: entry (a0 = hartid, a1 = fdt, S-mode, from
 * the built-in SBI), a stack, and puts through the legacy SBI putchar
 * (the simplest console every SBI has). Each guest provides main. */
#include "guest.h"

    .section .text.init
    .globl _start
_start:
    /* Only hart 0 runs the program; others (cpus > 1) park. */
    bnez a0, park
    la sp, stack_top
    call main
park:
    wfi
    j park

    .text
/* puts(a0 = NUL-terminated string) */
    .globl puts
puts:
    mv t0, a0
1:  lbu a0, 0(t0)
    beqz a0, 2f
    li a7, SBI_LEGACY_PUTCHAR
    ecall
    addi t0, t0, 1
    j 1b
2:  ret

/* bootarg(a0 = fdt, a1 = key such as "seed=", a2 = default): the decimal
 * number after the first occurrence of key in the device tree blob (where
 * /chosen/bootargs lives), else the default. */
    .globl bootarg
bootarg:
    beqz a0, 9f
    lbu t0, 0(a0)
    li t1, 0xd0
    bne t0, t1, 9f
    lbu t0, 1(a0)
    li t1, 0x0d
    bne t0, t1, 9f
    lbu t0, 4(a0)               /* totalsize, big-endian */
    slli t0, t0, 8
    lbu t1, 5(a0)
    or t0, t0, t1
    slli t0, t0, 8
    lbu t1, 6(a0)
    or t0, t0, t1
    slli t0, t0, 8
    lbu t1, 7(a0)
    or t0, t0, t1
    li t1, 0x100000
    bgtu t0, t1, 9f
    add t2, a0, t0              /* end */
    mv t3, a0                   /* cursor */
1:  mv t4, t3
    mv t5, a1
2:  lbu t6, 0(t5)
    beqz t6, 3f                 /* whole key matched */
    bgeu t4, t2, 9f
    lbu a3, 0(t4)
    bne a3, t6, 4f
    addi t4, t4, 1
    addi t5, t5, 1
    j 2b
4:  addi t3, t3, 1
    bltu t3, t2, 1b
    j 9f
3:  li a0, 0
    li a4, 10
5:  bgeu t4, t2, 6f
    lbu a3, 0(t4)
    addi a3, a3, -'0'
    bgeu a3, a4, 6f
    mul a0, a0, a4
    add a0, a0, a3
    addi t4, t4, 1
    j 5b
6:  ret
9:  mv a0, a2
    ret

    .bss
    .balign 16
stack:
    .skip 4096
stack_top:

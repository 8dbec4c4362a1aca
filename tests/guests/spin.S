/* Prints "spin: up", then counts forever: CPU-bound (fairness, caps,
 * pause tests). */
#include "guest.h"

    .text
    .globl main
main:
    la a0, msg
    call puts
    li t1, 0
1:  addi t1, t1, 1
    j 1b

    .section .rodata
msg: .asciz "spin: up\n"

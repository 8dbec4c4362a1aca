/* Interrupts off (sstatus.SIE and sie clear), then counts forever: the
 * guest never gives the CPU back by itself (isolation tests). */
#include "guest.h"

    .text
    .globl main
main:
    csrci sstatus, SSTATUS_SIE
    csrw sie, zero
    la a0, msg
    call puts
    li t1, 0
1:  addi t1, t1, 1
    j 1b

    .section .rodata
msg: .asciz "spin_irqoff: up\n"

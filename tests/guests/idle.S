/* Prints "idle: up", then sleeps in WFI forever with its timer set to
 * never: it costs no host CPU. */
#include "guest.h"

    .text
    .globl main
main:
    la a0, msg
    call puts
    li a7, SBI_EXT_TIME
    li a6, 0                /* set_timer */
    li a0, -1
    ecall
    csrci sstatus, SSTATUS_SIE
1:  wfi
    j 1b

    .section .rodata
msg: .asciz "idle: up\n"

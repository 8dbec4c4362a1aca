/* Prints "poweroff: bye" and powers off through SBI SRST. */
#include "guest.h"

    .text
    .globl main
main:
    la a0, msg
    call puts
    li a7, SBI_EXT_SRST
    li a6, 0                /* system_reset */
    li a0, SRST_SHUTDOWN
    li a1, SRST_REASON_NONE
    ecall
1:  j 1b                    /* not reached */

    .section .rodata
msg: .asciz "poweroff: bye\n"

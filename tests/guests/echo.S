/* Prints "echo: up", then echoes console input back, polling the legacy
 * SBI getchar (which returns -1 while nothing is waiting). */
#include "guest.h"

    .text
    .globl main
main:
    la a0, msg
    call puts
1:  li a7, SBI_LEGACY_GETCHAR
    ecall
    bltz a0, 1b
    li a7, SBI_LEGACY_PUTCHAR
    ecall
    j 1b

    .section .rodata
msg: .asciz "echo: up\n"

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

    .bss
    .balign 16
stack:
    .skip 4096
stack_top:

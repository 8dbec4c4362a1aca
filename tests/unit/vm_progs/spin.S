/* Count forever (every hart): a VM that only a stop ends. */
    .section .text.init, "ax"
    .globl _start
_start:
1:  addi    t1, t1, 1
    j       1b

/* Count to LOOPS, then exit through HTIF tohost with status CODE (built as
 * exitCODE.elf). Other harts park. */
#ifndef LOOPS
#define LOOPS 2000000
#endif
    .section .text.init, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    li      t1, LOOPS
1:  addi    t1, t1, -1
    bnez    t1, 1b
    li      t0, (CODE << 1) | 1
    la      t1, tohost
    sd      t0, 0(t1)
park:
    wfi
    j       park

    .section .tohost, "aw"
    .align  3
    .globl  tohost
tohost: .dword 0
    .globl  fromhost
fromhost: .dword 0

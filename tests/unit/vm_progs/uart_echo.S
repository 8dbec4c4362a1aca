/* Listen on the UART (receive-data interrupt enabled, which is what makes
 * the VMM deliver console input), echo every byte, and exit through HTIF
 * with status 0 after a 'q'. */
#define UART 0x10000000
    .section .text.init, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    li      s0, UART
    li      t0, 1
    sb      t0, 1(s0)           /* IER: receive data available */
1:  lbu     t0, 5(s0)           /* LSR */
    andi    t0, t0, 1           /* data ready */
    beqz    t0, 1b
    lbu     t1, 0(s0)           /* RBR */
    sb      t1, 0(s0)           /* THR: echo */
    li      t2, 'q'
    bne     t1, t2, 1b
    li      t0, 1
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

/* Write VALUE to the syscon (sifive_test) register: 0x5555 power-off,
 * 0x3333 | code << 16 failure, 0x7777 reset. Other harts park. */
    .section .text.init, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    li      t1, 0x100000
    li      t0, VALUE
    sw      t0, 0(t1)
park:
    wfi
    j       park

# A guest that traps forever inside RAM: mtvec points at an illegal
# instruction, so each trap re-enters the handler and traps again.
    .section .text.init
    .globl _start
_start:
    la t0, handler
    csrw mtvec, t0
    j handler
    .balign 4
handler:
    .word 0

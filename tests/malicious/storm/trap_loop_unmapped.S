# A guest that traps forever: mtvec points at an unmapped address, so every
# instruction fetch faults and the fault handler itself faults. No
# instruction ever retires. disco must still end its slices, so it stays
# responsive (SIGTERM, Ctrl-A x) and other harts/VMs keep running.
    .section .text.init
    .globl _start
_start:
    li t0, 0x4000
    csrw mtvec, t0
    jr t0

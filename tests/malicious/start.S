/* Entry and M-mode trap vector for the malicious-guest programs.
 * Hart 0 runs main(); every other hart parks in WFI. a1 at entry is the
 * device tree (QEMU -bios none and disco --elf both pass one). */
    .section .text.init, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, _stack_top
    la      t0, mal_fdt_addr
    sd      a1, 0(t0)
    /* .bss is zero on both loaders, but do not rely on it. */
    la      t0, _bss_start
    la      t1, _bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  li      t0, (1 << 13)           /* mstatus.FS = Initial: FP usable */
    csrs    mstatus, t0
    csrw    fcsr, zero
    csrw    mie, zero
    la      t0, mal_trap_entry
    csrw    mtvec, t0
    call    main
    call    mal_exit                /* main's return value: 0 pass, else fail code */
park:
    wfi
    j       park

/* Trap vector (direct mode): save x1..x31 in a frame on the stack, call
 * mal_trap(frame) which may change the saved registers and mepc, restore,
 * mret. frame->x[2] holds the interrupted sp. */
    .text
    .align  4
    .globl  mal_trap_entry
mal_trap_entry:
    addi    sp, sp, -256
    .irp    r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\r, (\r * 8)(sp)
    .endr
    addi    t0, sp, 256
    sd      t0, 16(sp)
    mv      a0, sp
    call    mal_trap
    .irp    r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\r, (\r * 8)(sp)
    .endr
    addi    sp, sp, 256
    mret

/* Runtime linked into every ISA test: reset entry, HTIF tohost/fromhost,
 * pass/fail, and the default M- and S-mode trap handlers. See common.h. */
#include "common.h"

    .option norelax

/* ======================================================================== */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    csrr t0, mhartid
    bnez t0, park
    /* Open PMP (entry 0: NAPOT over everything, RWX) so S/U can reach
     * memory; skip it where PMP CSRs do not exist. */
    la t0, 1f
    csrw mtvec, t0
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    .align 2
1:
    la t0, trap_m_entry
    csrw mtvec, t0
    csrw mie, zero
    csrw mip, zero
    csrw medeleg, zero
    csrw mideleg, zero
    csrw satp, zero
    csrw mscratch, zero
    /* mstatus: MPP = M, FS = Initial, everything else 0. */
    li t0, MSTATUS_MPP_M | MSTATUS_FS_INITIAL
    csrw mstatus, t0
    fscsr zero
    /* No timer interrupt pending from a stale mtimecmp. */
    li t0, CLINT_MTIMECMP
    li t1, -1
    sd t1, 0(t0)
    /* QEMU identifies itself with mvendorid = 0 and marchid = mimpid =
     * its version number; see SKIP_ON_QEMU in common.h. */
    la t2, isa_qemu
    sd zero, 0(t2)
    la t0, 1f                   /* (if these CSRs trapped: not QEMU) */
    csrw mtvec, t0
    csrr t0, mvendorid
    bnez t0, 1f
    csrr t0, marchid
    csrr t1, mimpid
    bne t0, t1, 1f
    beqz t0, 1f
    li t1, 0x1000000
    bgeu t0, t1, 1f
    li t1, 1
    sd t1, 0(t2)
    .align 2
1:  la t0, trap_m_entry
    csrw mtvec, t0
    la sp, isa_stack_top
    li TESTNUM, 0
    /* Known values in the integer registers. */
    li ra, 0
    li tp, 0
    li t0, 0
    li t1, 0
    li t2, 0
    li s0, 0
    li s1, 0
    li a0, 0
    li a1, 0
    li a2, 0
    li a3, 0
    li a4, 0
    li a5, 0
    li a6, 0
    li a7, 0
    li s2, 0
    li s3, 0
    li s4, 0
    li s5, 0
    li s6, 0
    li s7, 0
    li s8, 0
    li s9, 0
    li s10, 0
    li s11, 0
    li t3, 0
    li t4, 0
    li t5, 0
    li t6, 0
    j test_main

    .align 2
park:
    wfi
    j park

/* ======================================================================== */
    .section .tohost, "aw", @progbits
    .align 6
    .globl tohost
    .type tohost, @object
    .size tohost, 8
tohost: .dword 0
    .align 6
    .globl fromhost
    .type fromhost, @object
    .size fromhost, 8
fromhost: .dword 0

/* ======================================================================== */
    .text
    .globl pass
    .globl fail
    .align 2
pass:
    fence
    li t0, 1
    la t1, tohost
    sd t0, 0(t1)
1:  j 1b

    .align 2
fail:
    fence
    bnez TESTNUM, 2f
    li TESTNUM, 127
2:  slli t0, TESTNUM, 1
    ori t0, t0, 1
    la t1, tohost
    sd t0, 0(t1)
1:  j 1b

/* ------------------------------------------------------------------------
 * M-mode handler. Saves t0..t4 in m_save (one hart only).
 *  - ecall (cause 8/9/11) with a7 == GOTO_M_MAGIC: continue in M at a6.
 *  - Records count/cause/epc/tval/priv/status (+ cause log) in trap_rec.
 *  - Interrupts: silences the source (mtimecmp = -1, msip = 0, clears
 *    mip.SSIP/STIP/SEIP, or the mie bit), returns to mepc.
 *  - Exceptions: fail unless trap_armed; continue at TR_RESUME if set,
 *    else skip the instruction at mepc. */
    .align 6
    .globl trap_m_entry
trap_m_entry:
    csrw mscratch, t0
    la t0, m_save
    sd t1, 8(t0)
    sd t2, 16(t0)
    sd t3, 24(t0)
    sd t4, 32(t0)
    csrr t1, mscratch
    sd t1, 0(t0)

    csrr t1, mcause
    /* magic ecall? */
    li t2, GOTO_M_MAGIC
    bne a7, t2, 1f
    li t2, CAUSE_USER_ECALL
    beq t1, t2, m_goto_m
    li t2, CAUSE_SUPERVISOR_ECALL
    beq t1, t2, m_goto_m
    li t2, CAUSE_MACHINE_ECALL
    beq t1, t2, m_goto_m
1:
    /* record */
    la t2, trap_rec
    ld t3, TR_COUNT(t2)
    li t4, 8
    bgeu t3, t4, 2f
    slli t4, t3, 3
    add t4, t4, t2
    sd t1, TR_LOG(t4)
2:  addi t3, t3, 1
    sd t3, TR_COUNT(t2)
    sd t1, TR_CAUSE(t2)
    csrr t3, mepc
    sd t3, TR_EPC(t2)
    csrr t3, mtval
    sd t3, TR_TVAL(t2)
    csrr t3, mstatus
    sd t3, TR_STATUS(t2)
    srli t3, t3, 11
    andi t3, t3, 3
    sd t3, TR_PRIV(t2)

    bgez t1, m_exception
    /* interrupt: silence its source */
    slli t1, t1, 1
    srli t1, t1, 1
    li t2, IRQ_M_TIMER
    bne t1, t2, 1f
    li t3, CLINT_MTIMECMP
    li t4, -1
    sd t4, 0(t3)
    j m_return
1:  li t2, IRQ_M_SOFT
    bne t1, t2, 1f
    li t3, CLINT_MSIP
    sw zero, 0(t3)
    j m_return
1:  li t2, IRQ_S_SOFT
    bne t1, t2, 1f
    csrci mip, MIP_SSIP
    j m_return
1:  li t2, IRQ_S_TIMER
    bne t1, t2, 1f
    li t3, MIP_STIP
    csrc mip, t3
    j m_return
1:  li t2, IRQ_S_EXT
    bne t1, t2, 1f
    li t3, MIP_SEIP
    csrc mip, t3
    j m_return
1:  li t3, 1
    sll t3, t3, t1
    csrc mie, t3
    j m_return

m_exception:
    la t2, trap_armed
    ld t2, 0(t2)
    beqz t2, m_unexpected
    la t2, trap_rec
    ld t3, TR_RESUME(t2)
    beqz t3, 1f
    sd zero, TR_RESUME(t2)
    csrw mepc, t3
    j m_return
1:  /* fetch faults cannot be skipped */
    li t2, CAUSE_MISALIGNED_FETCH
    beq t1, t2, m_unexpected
    li t2, CAUSE_FETCH_ACCESS
    beq t1, t2, m_unexpected
    li t2, CAUSE_FETCH_PAGE_FAULT
    beq t1, t2, m_unexpected
    csrr t3, mepc
    lhu t4, 0(t3)
    andi t4, t4, 3
    li t2, 3
    addi t3, t3, 2
    bne t4, t2, 1f
    addi t3, t3, 2
1:  csrw mepc, t3
    j m_return

m_goto_m:
    li t3, MSTATUS_MPP
    csrs mstatus, t3
    csrw mepc, a6
    /* fall through */
m_return:
    la t0, m_save
    ld t1, 8(t0)
    ld t2, 16(t0)
    ld t3, 24(t0)
    ld t4, 32(t0)
    ld t0, 0(t0)
    mret

m_unexpected:
    /* Report the running check as failed, from M-mode. */
    j fail

/* ------------------------------------------------------------------------
 * S-mode handler (tests install it in stvec). Records into strap_rec.
 * A magic GOTO_M ecall delegated here is forwarded to M with another
 * ecall (from S, cause 9, which the tests never delegate). Unexpected
 * exceptions go to fail through M. Interrupts: clears sip.SSIP, or the
 * sie bit of other sources (STIP/SEIP are not writable in sip). */
    .align 6
    .globl trap_s_entry
trap_s_entry:
    csrw sscratch, t0
    la t0, s_save
    sd t1, 8(t0)
    sd t2, 16(t0)
    sd t3, 24(t0)
    sd t4, 32(t0)
    csrr t1, sscratch
    sd t1, 0(t0)

    csrr t1, scause
    li t2, GOTO_M_MAGIC
    bne a7, t2, 1f
    li t2, CAUSE_USER_ECALL
    beq t1, t2, s_forward
    li t2, CAUSE_SUPERVISOR_ECALL
    beq t1, t2, s_forward
1:
    la t2, strap_rec
    ld t3, TR_COUNT(t2)
    li t4, 8
    bgeu t3, t4, 2f
    slli t4, t3, 3
    add t4, t4, t2
    sd t1, TR_LOG(t4)
2:  addi t3, t3, 1
    sd t3, TR_COUNT(t2)
    sd t1, TR_CAUSE(t2)
    csrr t3, sepc
    sd t3, TR_EPC(t2)
    csrr t3, stval
    sd t3, TR_TVAL(t2)
    csrr t3, sstatus
    sd t3, TR_STATUS(t2)
    srli t3, t3, 8
    andi t3, t3, 1
    sd t3, TR_PRIV(t2)

    bgez t1, s_exception
    slli t1, t1, 1
    srli t1, t1, 1
    li t2, IRQ_S_SOFT
    bne t1, t2, 1f
    csrci sip, MIP_SSIP
    j s_return
1:  li t3, 1
    sll t3, t3, t1
    csrc sie, t3
    j s_return

s_exception:
    la t2, trap_armed
    ld t2, 0(t2)
    beqz t2, s_unexpected
    la t2, strap_rec
    ld t3, TR_RESUME(t2)
    beqz t3, 1f
    sd zero, TR_RESUME(t2)
    csrw sepc, t3
    j s_return
1:  li t2, CAUSE_MISALIGNED_FETCH
    beq t1, t2, s_unexpected
    li t2, CAUSE_FETCH_ACCESS
    beq t1, t2, s_unexpected
    li t2, CAUSE_FETCH_PAGE_FAULT
    beq t1, t2, s_unexpected
    csrr t3, sepc
    lhu t4, 0(t3)
    andi t4, t4, 3
    li t2, 3
    addi t3, t3, 2
    bne t4, t2, 1f
    addi t3, t3, 2
1:  csrw sepc, t3
    /* fall through */
s_return:
    la t0, s_save
    ld t1, 8(t0)
    ld t2, 16(t0)
    ld t3, 24(t0)
    ld t4, 32(t0)
    ld t0, 0(t0)
    sret

s_forward:
    la t0, s_save
    ld t1, 8(t0)
    ld t2, 16(t0)
    ld t3, 24(t0)
    ld t4, 32(t0)
    ld t0, 0(t0)
    ecall
    /* not reached: M continues at a6 */
    j fail

s_unexpected:
    la a6, fail
    li a7, GOTO_M_MAGIC
    ecall
    j fail

/* ======================================================================== */
    .data
    .align 6
    .globl trap_rec
trap_rec:  .space TR_SIZE
    .globl strap_rec
strap_rec: .space TR_SIZE
    .globl trap_armed
trap_armed: .dword 0
    .globl isa_qemu
isa_qemu:  .dword 0
m_save:    .space 64
s_save:    .space 64

    .bss
    .align 4
isa_stack: .space 4096
    .globl isa_stack_top
isa_stack_top:

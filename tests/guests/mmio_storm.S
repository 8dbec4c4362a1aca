/* Prints "mmio_storm: up", then hammers device registers forever with
 * interrupts off: UART scratch and IER, the PLIC claim/complete and a
 * priority, the RTC, virtio-mmio identification reads and QueueNotify
 * doorbells of the console and rng slots (their queues are not set up),
 * syscon reads. Every access is legal; there are just very many of them
 * (isolation tests: the storm must cost only this guest's CPU time). */
#include "guest.h"

#define UART 0x10000000
#define PLIC_PRIO1 0x0c000004
#define PLIC_S0_CLAIM 0x0c201004        /* hart 0, S-mode context */
#define RTC 0x00101000
#define SYSCON 0x00100000
#define VIRTIO_SLOT6 0x10007000
#define VIRTIO_SLOT7 0x10008000
#define VIRTIO_NOTIFY 0x50

    .text
    .globl main
main:
    csrci sstatus, SSTATUS_SIE
    la a0, msg
    call puts
    li s0, UART
    li s1, PLIC_PRIO1
    li s2, PLIC_S0_CLAIM
    li s3, RTC
    li s4, SYSCON
    li s5, VIRTIO_SLOT6
    li s6, VIRTIO_SLOT7
    li t1, 0
1:  addi t1, t1, 1
    sb t1, 7(s0)                /* UART scratch */
    lbu t2, 7(s0)
    lbu t2, 1(s0)               /* IER */
    sw t1, 0(s1)                /* priority of source 1 */
    lw t2, 0(s2)                /* claim ... */
    sw t2, 0(s2)                /* ... and complete */
    lw t2, 0(s3)                /* RTC time */
    lw t2, 0(s4)                /* syscon */
    lw t2, 0(s5)                /* virtio magic */
    lw t2, 0(s6)
    sw zero, VIRTIO_NOTIFY(s5)  /* doorbells */
    sw zero, VIRTIO_NOTIFY(s6)
    li t3, 1
    sw t3, VIRTIO_NOTIFY(s6)
    j 1b

    .section .rodata
msg: .asciz "mmio_storm: up\n"

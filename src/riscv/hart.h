/* One RISC-V hart (RV64GC, M/S/U). The CPU knows nothing about devices or
 * VMs: it reaches guest-physical memory through struct rv_bus and returns to
 * its caller (vcpu_run's shape) for anything it cannot do itself.
 *
 * Ownership: riscv/ owns this file. Fields documented here as "shared
 * contract" are used by riscv/fpu.c and machine/ and must keep their names
 * and meaning; the CPU may add private fields freely. */
#ifndef DISCO_RISCV_HART_H
#define DISCO_RISCV_HART_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rv_hart;

/* ---- What a hart needs from the board ---------------------------------- */
struct rv_bus {
    void *ctx;
    /* Host pointer to the start of the 4 KiB guest-physical page holding
     * `pa`, or NULL if `pa` is not RAM (then MMIO is tried). for_write: the
     * caller will write through the pointer (the board may copy-on-write
     * first). The pointer stays valid until the board invalidates the
     * harts' TLBs (rv_hart_flush_tlb). */
    uint8_t *(*ram_page)(void *ctx, uint64_t pa, bool for_write);
    /* Device access; len is 1, 2, 4 or 8. Return 0, or <0 for an access
     * fault (the CPU raises load/store access fault with tval = vaddr). */
    int (*mmio_read)(void *ctx, uint64_t pa, unsigned len, uint64_t *val);
    int (*mmio_write)(void *ctx, uint64_t pa, unsigned len, uint64_t val);
    /* Built-in SBI: called for ECALL from S-mode when hart->builtin_sbi is
     * set, instead of trapping to M-mode. The handler reads a0..a7 and
     * writes a0/a1; the CPU then advances pc past the ecall. Returning
     * false makes the CPU take the normal trap. May set hart->exit_request
     * (e.g. for SRST) so the run loop returns. */
    bool (*sbi_call)(void *ctx, struct rv_hart *h);
};

/* Why rv_hart_run returned. */
enum rv_exit {
    RV_EXIT_BUDGET = 0,   /* slice used up */
    RV_EXIT_WFI,          /* WFI executed with no interrupt pending (mip&mie==0) */
    RV_EXIT_REQUEST,      /* exit_request was set (power-off, reset, HTIF, pause...) */
    RV_EXIT_FATAL,        /* the emulator cannot continue (see fatal_msg) */
};

/* Privilege levels. */
enum { RV_PRIV_U = 0, RV_PRIV_S = 1, RV_PRIV_M = 3 };

/* Interrupt bits in mip/mie. */
#define RV_MIP_SSIP (1ull << 1)
#define RV_MIP_MSIP (1ull << 3)
#define RV_MIP_STIP (1ull << 5)
#define RV_MIP_MTIP (1ull << 7)
#define RV_MIP_SEIP (1ull << 9)
#define RV_MIP_MEIP (1ull << 11)

/* mstatus.FS */
#define RV_MSTATUS_FS_SHIFT 13
#define RV_MSTATUS_FS_MASK (3ull << 13)
#define RV_MSTATUS_SD (1ull << 63)

/* Time source shared by the harts of one machine: time = (now_ns -
 * offset_ns) * freq_hz / 1e9. Owned by the board. */
struct rv_clock {
    _Atomic int64_t offset_ns;
    uint64_t freq_hz;          /* 10 MHz like QEMU virt */
};

struct rv_hart {
    /* ---- shared contract ---- */
    uint64_t x[32];            /* x[0] always reads 0 */
    uint64_t f[32];            /* FP regs; singles are NaN-boxed */
    uint64_t pc;
    uint32_t fcsr;             /* frm in bits 7:5, fflags in bits 4:0 */
    int priv;                  /* RV_PRIV_* */
    uint64_t mhartid;
    uint64_t mstatus;          /* the full mstatus; sstatus is a view */

    /* Interrupt lines driven from outside the hart (devices, other harts,
     * other threads): bits of mip set/cleared atomically by
     * rv_hart_set_irq. The CPU merges these with its software-written
     * bits (SSIP/STIP written by the guest). */
    _Atomic uint64_t mip_ext;
    /* Machine timer compare (CLINT's mtimecmp for this hart); MTIP is
     * pending while time >= mtimecmp. Written by the CLINT. */
    _Atomic uint64_t mtimecmp;
    /* Set from anywhere to make rv_hart_run return RV_EXIT_REQUEST at the
     * next instruction boundary. The run loop clears it. */
    _Atomic int exit_request;
    /* Requests from other harts (remote sfence.vma / fence.i). The target
     * hart services them at its next block boundary. */
    _Atomic int flush_request;  /* bit 0: TLB, bit 1: decode cache */

    bool builtin_sbi;          /* ECALL from S-mode goes to bus.sbi_call */
    struct rv_bus bus;
    struct rv_clock *clock;
    char fatal_msg[160];

    /* Stats, reachable from `disco stats` later. */
    uint64_t instret;

    /* ---- private to riscv/ (the CPU may add more below) ---- */
    struct rv_hart_priv *p;
};

/* Create/destroy. misa is RV64IMAFDC+SU (Zba/Zbb/Zbs if implemented). */
struct rv_hart *rv_hart_new(uint64_t hartid, const struct rv_bus *bus,
                            struct rv_clock *clock);
void rv_hart_free(struct rv_hart *h);
/* Reset: M-mode, pc = reset_pc, CSRs at reset values. */
void rv_hart_reset(struct rv_hart *h, uint64_t reset_pc);

/* Execute until about `budget` instructions have retired, or an exit reason
 * arises. Returns enum rv_exit. */
int rv_hart_run(struct rv_hart *h, uint64_t budget);

/* Raise/lower external interrupt bits (RV_MIP_*): thread-safe. */
void rv_hart_set_irq(struct rv_hart *h, uint64_t mask, bool level);
/* True if an interrupt is pending and enabled (mip & mie != 0), which is
 * what wakes a hart from WFI. Thread-safe read. */
bool rv_hart_wakeup_pending(struct rv_hart *h);
/* Current time value (rdtime), from h->clock. */
uint64_t rv_clock_now(const struct rv_clock *c);
/* The earliest time value at which a timer of this hart fires (mtimecmp,
 * or stimecmp if Sstc is on), UINT64_MAX if none; lets an idle loop sleep. */
uint64_t rv_hart_next_timer(struct rv_hart *h);

/* Invalidate this hart's software TLB (all entries). Thread-safe when
 * called on another hart: it sets flush_request. */
void rv_hart_flush_tlb(struct rv_hart *h);
/* A write to guest-physical [pa, pa+len) happened outside this hart (DMA,
 * another hart, the loader): drop decoded code for those pages. */
void rv_hart_code_written(struct rv_hart *h, uint64_t pa, uint64_t len);

/* FP (riscv/fpu.c). Execute one FP computational instruction: opcodes
 * OP-FP (0x53), FMADD (0x43), FMSUB (0x47), FNMSUB (0x4b), FNMADD (0x4f).
 * Loads/stores (FLW/FLD/FSW/FSD and compressed forms) are done by the core.
 * The core has already checked mstatus.FS != 0. Returns 0 on success, -1
 * for an illegal instruction (bad rm, unknown encoding). Sets fflags and
 * marks FS dirty. */
int rv_fpu_exec(struct rv_hart *h, uint32_t insn);

static inline void rv_fs_set_dirty(struct rv_hart *h)
{
    h->mstatus |= RV_MSTATUS_FS_MASK | RV_MSTATUS_SD;
}

#endif

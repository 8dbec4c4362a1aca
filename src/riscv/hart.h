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
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct rv_hart;

/* ---- What a hart needs from the board ---------------------------------- */
struct rv_bus {
    void *ctx;
    /* Host pointer to the start of the 4 KiB guest-physical page holding
     * `pa`, or NULL if `pa` is not RAM (then MMIO is tried). for_write: the
     * caller will write through the pointer (the board may copy-on-write
     * first). The pointer stays valid until the board invalidates the
     * harts' TLBs (rv_hart_flush_tlb). A copy-on-write inside this call
     * sets FLUSH_TLB in the calling hart's own flush_request too: the CPU
     * serves it as soon as ram_page returns (before it uses or caches the
     * pointer), not at the next block boundary, so no TLB entry of its own
     * still reaches the old frame. */
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

    /* mip, the whole register, as one atomic word: devices, the CLINT,
     * other harts and other threads set/clear bits with rv_hart_set_irq;
     * guest CSR writes change only the software-writable bits, atomically.
     * (MTIP/STIP from timers may instead be computed by the CPU from
     * mtimecmp / the S-timer; see rv_hart_set_timer.) */
    _Atomic uint64_t mip;
    /* Machine timer compare (CLINT's mtimecmp for this hart); MTIP is
     * pending while time >= mtimecmp. Written by the CLINT. */
    _Atomic uint64_t mtimecmp;
    /* Set from anywhere to make rv_hart_run return RV_EXIT_REQUEST at the
     * next instruction boundary. The run loop clears it. */
    _Atomic int exit_request;
    /* Requests from other harts (remote sfence.vma / fence.i). The target
     * hart services them at its next block boundary (at most ~1024
     * instructions later; a hart that is not running, when it next runs)
     * and then clears the bits, so a requester may wait for them to
     * clear. Bits 2 and 3 are private to riscv/. */
    _Atomic int flush_request;  /* bit 0: TLB, bit 1: decode cache */
    /* Set while the hart is inside a device callback (bus.mmio_read /
     * mmio_write). It serves FLUSH_TLB as soon as the callback returns,
     * before any further access, so a shootdown need not wait for it (a
     * device callback may block on a lock the shooter holds). */
    _Atomic int in_device;

    bool builtin_sbi;          /* ECALL from S-mode goes to bus.sbi_call */
    struct rv_bus bus;
    struct rv_clock *clock;
    struct rv_codemap *codemap; /* shared by the harts of one machine */
    char fatal_msg[160];

    /* Stats, reachable from `disco stats` later. */
    uint64_t instret;

    /* ---- private to riscv/ (the CPU may add more below) ---- */
    struct rv_hart_priv *p;
};

/* Per-machine record of which RAM pages hold decoded code, shared by all
 * harts of one machine, so that a store by any hart, or DMA, to such a page
 * drops the stale decoded blocks on every hart. */
struct rv_codemap;
struct rv_codemap *rv_codemap_new(uint64_t ram_base, uint64_t ram_size);
void rv_codemap_free(struct rv_codemap *cm);
/* Guest-physical [pa, pa+len) was written outside the CPUs (DMA, loader):
 * invalidate decoded code for those pages on all harts. Thread-safe. */
void rv_codemap_written(struct rv_codemap *cm, uint64_t pa, uint64_t len);

/* Create/destroy. misa is RV64IMAFDC+SU (Zba/Zbb/Zbs if implemented). */
struct rv_hart *rv_hart_new(uint64_t hartid, const struct rv_bus *bus,
                            struct rv_clock *clock, struct rv_codemap *codemap);
void rv_hart_free(struct rv_hart *h);
/* Reset: M-mode, pc = reset_pc, CSRs at reset values. */
void rv_hart_reset(struct rv_hart *h, uint64_t reset_pc);

/* Execute until about `budget` instructions have retired, or an exit reason
 * arises. Returns enum rv_exit. */
int rv_hart_run(struct rv_hart *h, uint64_t budget);

/* Raise/lower interrupt bits (RV_MIP_*) in mip: thread-safe, and makes a
 * running hart notice at its next check (it polls mip at block
 * boundaries). Waking a sleeping (WFI) hart is the run loop's job. */
static inline void rv_hart_set_irq(struct rv_hart *h, uint64_t mask, bool level)
{
    if (level)
        atomic_fetch_or(&h->mip, mask);
    else
        atomic_fetch_and(&h->mip, ~mask);
}

/* Built-in SBI's set_timer for S-mode: STIP is pending while
 * time >= when; setting a new value clears STIP until then. */
void rv_hart_set_timer(struct rv_hart *h, uint64_t when);

/* Put a reset hart into the state the built-in SBI promises a kernel:
 * S-mode, builtin_sbi on, exceptions and S-level interrupts delegated to
 * S (medeleg/mideleg), counters enabled for S/U (mcounteren), PMP open,
 * pc = entry, a0 = hartid, a1 = fdt address. */
void rv_hart_boot_supervisor(struct rv_hart *h, uint64_t entry, uint64_t fdt_addr);
/* True if an interrupt is pending and enabled (mip & mie != 0), which is
 * what wakes a hart from WFI. Thread-safe read. */
bool rv_hart_wakeup_pending(struct rv_hart *h);
/* Current time value (rdtime / CLINT mtime), from a clock. */
static inline uint64_t rv_clock_now(struct rv_clock *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - atomic_load(&c->offset_ns);
    if (ns < 0)
        ns = 0;
    /* freq_hz <= 1 GHz: split to avoid overflow for long uptimes. */
    uint64_t u = (uint64_t)ns;
    return (u / 1000000000u) * c->freq_hz + (u % 1000000000u) * c->freq_hz / 1000000000u;
}
/* The earliest time value at which a timer of this hart fires (mtimecmp,
 * or stimecmp if Sstc is on), UINT64_MAX if none; lets an idle loop sleep. */
uint64_t rv_hart_next_timer(struct rv_hart *h);

/* Invalidate this hart's software TLB (all entries). Thread-safe when
 * called from another thread: it sets flush_request, served at the hart's
 * next block boundary. */
void rv_hart_flush_tlb(struct rv_hart *h);
/* Drop this hart's decoded code (remote fence.i). Thread-safe likewise. */
void rv_hart_flush_icache(struct rv_hart *h);

/* Give the memory of this hart's decoded-code cache back to the host (an
 * idle vCPU needs none of it; code is decoded again on demand when it
 * next runs). Returns the bytes unmapped (0: nothing was held). Call only
 * while the hart is not inside rv_hart_run and no other thread calls
 * rv_hart_run or rv_hart_trim for it (the scheduler: a vCPU it is not
 * running). Safe against what other threads may do to a hart that is not
 * running: rv_hart_set_irq, rv_hart_flush_tlb / _icache, codemap updates,
 * and rv_hart_reset / rv_hart_boot_supervisor (HSM hart_start): it touches
 * only the decoded-page cache and flush_request (atomically); the fetch
 * TLB's pointers into the freed pages are dropped through flush_request,
 * which rv_hart_run serves before its first instruction. */
size_t rv_hart_trim(struct rv_hart *h);
/* Decoded pages whose memory the hart holds (in use or kept for reuse;
 * 32 KiB each). Same calling rule as rv_hart_trim. */
unsigned rv_hart_decoded_pages(const struct rv_hart *h);

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

/* The virt board: QEMU `virt`'s memory map, harts, CLINT, PLIC, UART, RTC,
 * syscon, 8 virtio-mmio slots, RAM at 0x80000000, the built-in SBI, and the
 * boot protocol (loaders + device tree). machine/ never includes virtio/:
 * the VMM plugs virtio devices into slots with board_attach_mmio and gives
 * them the slot's interrupt line (board_slot_irq) and the pmap.
 *
 * Threading: the harts of one board may run on different host threads at
 * once (vmm/sched.c). Board state that harts and device threads share
 * (events, hart states, interrupts) is atomic or locked; remote fences wait
 * for their targets through the fence_wait hook. */
#ifndef DISCO_MACHINE_BOARD_H
#define DISCO_MACHINE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/device.h"
#include "mem/pmap.h"
#include "riscv/hart.h"
#include "util/err.h"

/* ---- QEMU virt memory map --------------------------------------------- */
#define VIRT_TEST_BASE 0x100000ull      /* sifive_test / syscon */
#define VIRT_TEST_SIZE 0x1000ull
#define VIRT_RTC_BASE 0x101000ull       /* goldfish RTC */
#define VIRT_RTC_SIZE 0x1000ull
#define VIRT_RTC_IRQ 11
#define VIRT_CLINT_BASE 0x2000000ull
#define VIRT_CLINT_SIZE 0x10000ull
#define VIRT_PLIC_BASE 0xc000000ull
#define VIRT_PLIC_SIZE 0x600000ull
#define VIRT_UART0_BASE 0x10000000ull
#define VIRT_UART0_SIZE 0x100ull
#define VIRT_UART0_IRQ 10
#define VIRT_VIRTIO_BASE 0x10001000ull  /* slot i at BASE + i * SIZE, irq 1 + i */
#define VIRT_VIRTIO_SIZE 0x1000ull
#define VIRT_VIRTIO_IRQ 1
#define VIRT_VIRTIO_SLOTS 8
#define VIRT_DRAM_BASE 0x80000000ull

#define BOARD_MAX_HARTS 32
#define BOARD_TIMEBASE_HZ 10000000ull   /* 10 MHz like QEMU virt */
#define BOARD_KERNEL_ADDR 0x80200000ull /* Linux Image / next stage after firmware */
#define BOARD_FIRMWARE_MAX (BOARD_KERNEL_ADDR - VIRT_DRAM_BASE)
#define BOARD_MIN_RAM (16ull << 20)

/* The impl ID the built-in SBI reports (sbi_get_impl_id): "D15C0". */
#define BOARD_SBI_IMPL_ID 0xD15C0ull
#define BOARD_SBI_IMPL_VERSION 1ull

/* ---- Events that end or restart a run ---------------------------------- */
enum board_event {
    BOARD_EV_NONE = 0,
    BOARD_EV_POWEROFF,   /* syscon 0x5555, SBI SRST shutdown, legacy shutdown */
    BOARD_EV_RESET,      /* syscon 0x7777, SBI SRST cold/warm reboot */
    BOARD_EV_FAIL,       /* syscon 0x3333 | code << 16; code in *code */
};

/* Hart run states: the SBI HSM states (same numbers as the spec). Harts
 * other than 0 start STOPPED under the built-in SBI; with --bios / --elf
 * every hart starts STARTED (the firmware parks them itself). hart_stop
 * leaves a hart STOP_PENDING: the run loop makes it STOPPED once the hart
 * has left rv_hart_run, so a hart_start from another thread never resets a
 * hart that is still executing. */
enum board_hart_state {
    BOARD_HART_STARTED = 0,
    BOARD_HART_STOPPED = 1,
    BOARD_HART_START_PENDING = 2,
    BOARD_HART_STOP_PENDING = 3,
    BOARD_HART_SUSPENDED = 4,   /* retentive hart_suspend: like WFI */
};

struct board_config {
    unsigned nharts;              /* 1..BOARD_MAX_HARTS */
    uint64_t ram_size;            /* bytes, a multiple of 4 KiB, >= BOARD_MIN_RAM */
    /* Console: UART0 output and SBI console output go here. */
    void (*console_out)(void *ctx, const uint8_t *buf, size_t len);
    /* SBI legacy console_getchar / DBCN read: next input byte or -1. */
    int (*console_getc)(void *ctx);
    void *console_ctx;
    /* Optional: called when another agent (IPI, hart_start, device) made
     * hart `hartid` runnable, so a sleeping run loop can pick it up. */
    void (*wake)(void *ctx, unsigned hartid);
    void *wake_ctx;
    /* Optional: the built-in SBI set flush_request `bits` on the harts in
     * `mask` (bit i = hart i) for a remote fence asked by hart `self`;
     * return once they have served it (the VMM's scheduler knows which
     * harts are running). Called with wake_ctx. NULL: return at once, which
     * is right when one thread runs every hart (a hart serves flush_request
     * before it next runs). */
    void (*fence_wait)(void *ctx, unsigned self, uint64_t mask, int bits);
};

/* What to boot: either elf (bare-metal, every hart in M-mode at e_entry,
 * a0 = hartid, a1 = device tree) or a kernel (Image or vmlinux ELF at
 * BOARD_KERNEL_ADDR, hart 0 in S-mode via the built-in SBI). With `bios`,
 * every hart instead starts the firmware in M-mode (raw at VIRT_DRAM_BASE,
 * or an ELF at its addresses) with a0 = hartid, a1 = device tree, a2 =
 * fw_dynamic_info whose next_addr is the kernel's (or the ELF's) entry. */
struct board_boot {
    const char *kernel;
    const char *initrd;           /* optional */
    const char *cmdline;          /* optional bootargs */
    const char *bios;             /* optional firmware (raw binary or ELF) */
    const char *elf;              /* bare-metal ELF instead of a kernel */
};

/* Where things ended up (for HTIF, tests and messages). */
struct board_layout {
    uint64_t entry;               /* first instruction of hart 0 */
    uint64_t kernel_addr, kernel_size;
    uint64_t initrd_start, initrd_end;   /* 0, 0 when none */
    uint64_t fdt_addr, fdt_size;
    uint64_t fw_info_addr;        /* fw_dynamic_info (bios mode), else 0 */
    bool has_tohost, has_fromhost;       /* --elf: HTIF symbols found */
    uint64_t tohost, fromhost;
};

struct board;

struct board *board_new(const struct board_config *cfg, struct disco_err *err);
void board_free(struct board *b);

/* Load images, build and place the device tree, and put the harts in their
 * initial state. Call once after the virtio devices are attached. Errors
 * name the file and the addresses. */
int board_boot(struct board *b, const struct board_boot *boot, struct disco_err *err);
const struct board_layout *board_layout(const struct board *b);

/* ---- Accessors for the VMM and the SBI --------------------------------- */
struct pmap *board_pmap(struct board *b);
unsigned board_nharts(const struct board *b);
struct rv_hart *board_hart(struct board *b, unsigned i);
struct rv_clock *board_clock(struct board *b);
struct uart *board_uart(struct board *b);

/* Plug a device (virtio) into virtio-mmio slot 0..7; the board forwards
 * accesses to [VIRT_VIRTIO_BASE + slot * VIRT_VIRTIO_SIZE, +0x1000). */
int board_attach_mmio(struct board *b, unsigned slot, const struct mmio_ops *ops, void *dev,
                      struct disco_err *err);
/* The slot's PLIC line (source 1 + slot); irq_line.set is plic_set_irq. */
struct irq_line board_slot_irq(struct board *b, unsigned slot);

/* Physical-address access as a hart sees it (RAM or MMIO), for tests and
 * the HTIF: len 1/2/4/8. <0 on an access fault. */
int board_phys_read(struct board *b, uint64_t pa, unsigned len, uint64_t *val);
int board_phys_write(struct board *b, uint64_t pa, unsigned len, uint64_t val);

/* Events: the first request wins until taken; every hart is asked to stop
 * (exit_request) so the run loop sees it promptly. Thread-safe. */
void board_request(struct board *b, enum board_event ev, unsigned code);
enum board_event board_take_event(struct board *b, unsigned *code);
/* True while an event waits to be taken. Thread-safe. */
bool board_event_pending(struct board *b);

/* Hart states (thread-safe). */
enum board_hart_state board_hart_state(struct board *b, unsigned i);
void board_set_hart_state(struct board *b, unsigned i, enum board_hart_state st);
/* Atomically move hart i from state `from` to `to`; false if it was not in `from`. */
bool board_hart_state_cas(struct board *b, unsigned i, enum board_hart_state from,
                          enum board_hart_state to);
/* Tell the run loop a hart became runnable (calls cfg.wake). */
void board_wake(struct board *b, unsigned i);
/* Remote fences: wait until the harts in `mask` served flush_request
 * `bits` (calls cfg.fence_wait, if any). */
void board_fence_wait(struct board *b, unsigned self, uint64_t mask, int bits);

/* Let devices without their own timer catch up (the RTC alarm); the run
 * loop calls this now and then, and whenever it wakes from idle. */
void board_poll(struct board *b);

/* True once the guest listens on UART0 (it enabled the receive-data
 * interrupt). Console input pushed before that would be thrown away by the
 * driver's FIFO reset, so the VMM holds it back until then. */
bool board_console_ready(struct board *b);

/* Console helpers used by the SBI. */
void board_console_write(struct board *b, const uint8_t *buf, size_t len);
int board_console_getc(struct board *b);

#endif

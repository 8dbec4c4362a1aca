/* One virtual machine: a virt board plus its virtio devices, built from a
 * config, and the loop that runs it.
 *
 * vm_run runs the harts on a vCPU scheduler (vmm/sched.h): a pool of
 * worker threads, so the harts of a multi-hart VM really run at once on
 * different host threads. The calling thread becomes the VM's I/O thread:
 * it sleeps in ppoll() on the console input and an eventfd, and handles
 * console input, stop requests and board events (power-off, reset). For
 * now vm_run makes a private scheduler; the multi-VM daemon will register
 * many VMs with one. */
#ifndef DISCO_VMM_VM_H
#define DISCO_VMM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VM_MAX_CPUS 32
#define VM_DEFAULT_MEM (256ull << 20)
#define VM_MIN_MEM (16ull << 20)
#define VM_MAX_MEM (64ull << 30)
#define VM_MAX_DISKS 6        /* 8 virtio slots minus console and rng */
#define VM_DEFAULT_APPEND "console=ttyS0"

/* Where the guest console goes. The VM never touches stdout itself. */
struct vm_console {
    /* Guest console output (UART, SBI console, virtio-console, HTIF). */
    void (*write)(void *ctx, const uint8_t *buf, size_t len);
    /* Console input: a file descriptor the VM polls, -1 for none. EOF on it
     * just means "no more input". */
    int in_fd;
    /* Optional input filter (escape keys): consumes n bytes from `in`,
     * writes the bytes for the guest to `out` (at most n) and returns how
     * many; sets *quit to end the run (vm_run then reports VM_EXIT_QUIT). */
    size_t (*filter)(void *ctx, const uint8_t *in, size_t n, uint8_t *out, bool *quit);
    void *ctx;
};

struct vm_config {
    unsigned cpus;                /* 1..VM_MAX_CPUS */
    uint64_t mem;                 /* bytes */
    const char *kernel;           /* Linux Image or vmlinux */
    const char *initrd;
    const char *append;           /* kernel command line (NULL: none) */
    const char *bios;             /* firmware, e.g. OpenSBI fw_dynamic.bin */
    const char *elf;              /* bare-metal ELF (HTIF tohost) instead of a kernel;
                                     with bios: the firmware's S-mode payload */
    const char *const *disks;     /* raw images -> virtio-blk, first = /dev/vda */
    unsigned ndisks;
    struct vm_console console;
    /* Scheduling. workers: host threads for vm_run's scheduler; 0 means
     * $DISCO_WORKERS if set, else one per host CPU but at most `cpus`.
     * weight (0: 256) and cap (percent of one host CPU, 0: none) are the
     * VM's credit-scheduler parameters (sched.h). */
    unsigned workers;
    unsigned weight;
    unsigned cap;
};

enum vm_exit_reason {
    VM_EXIT_POWEROFF,   /* syscon 0x5555, SBI shutdown: status 0 */
    VM_EXIT_FAIL,       /* syscon 0x3333 | code << 16, SBI shutdown(system failure) */
    VM_EXIT_HTIF,       /* --elf: tohost exit; code 0 = pass */
    VM_EXIT_QUIT,       /* the console filter asked to quit (Ctrl-A x) */
    VM_EXIT_STOPPED,    /* vm_request_stop (a signal) */
};

struct vm_exit {
    enum vm_exit_reason reason;
    unsigned code;      /* FAIL / HTIF code */
    unsigned resets;    /* guest reboots served */
};

struct vm;

/* Check the config, build the machine and load the images. */
struct vm *vm_new(const struct vm_config *cfg, struct disco_err *err);
void vm_free(struct vm *vm);

/* Run until the guest powers off, fails, passes/fails its HTIF test, the
 * console asks to quit, or vm_request_stop. A guest reset (syscon 0x7777,
 * SBI reboot) rebuilds the machine from the config and keeps going.
 * Returns the exit status for the guest (0, or the FAIL/HTIF code; a FAIL
 * with code 0 counts as 1), or <0 on a fatal error (err says why: e.g. a
 * hart hit something the emulator cannot do). */
int vm_run(struct vm *vm, struct vm_exit *exit_info, struct disco_err *err);

/* Ask vm_run to return soon. Async-signal-safe. */
void vm_request_stop(struct vm *vm);

/* Parse a memory size: digits with an optional K/M/G suffix (KiB, MiB,
 * GiB; no suffix means MiB, like QEMU's -m). */
int vm_parse_size(const char *s, uint64_t *out);

#endif

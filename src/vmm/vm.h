/* One virtual machine: a virt board plus its virtio devices, built from a
 * config, and what runs it.
 *
 * Two ways to run a VM:
 *   - vm_start: register it with a shared vCPU scheduler (vmm/sched.h) and a
 *     shared event loop (vmm/evloop.h), and return. Many VMs share one
 *     scheduler and one loop (the daemon). Control work (board events,
 *     resets, console input, agent traffic) runs on the loop's thread; the
 *     end of the run is reported through vm_events.exited.
 *   - vm_run: the one-shot foreground mode of `disco run`: makes a private
 *     scheduler and loop, runs the loop on the calling thread until the run
 *     ends, and cleans up.
 *
 * The agent port: the VM's virtio-console (hvc1 in the guest: the SBI console is hvc0) is a byte
 * channel to the guest agent. Bytes the guest writes go to cfg.agent_rx (or,
 * without one, to the console like any other output); bytes for the guest
 * are queued with vm_agent_send and delivered as the guest posts receive
 * buffers. vmm/agent.h speaks the protocol on top. */
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
#define VM_MAX_DISKS 5        /* 8 virtio slots minus console, rng and balloon */
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
    /* Bytes the guest wrote to the agent port (virtio-console). Called on a
     * worker thread with the device's lock held: copy and return, never call
     * back into the VM. NULL: the port's output goes to the console. */
    void (*agent_rx)(void *ctx, const uint8_t *buf, size_t len);
    void *agent_ctx;
    /* Memory (vmm/memctl.h): reservation (bytes never reclaimed, 0: none),
     * limit (bytes of host memory it may hold, 0: mem), shares (0: 10 per
     * MiB) and sharing domain (NULL: shares pages only with itself). */
    uint64_t mem_reservation;
    uint64_t mem_limit;
    unsigned mem_shares;
    const char *share_domain;
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
struct sched;
struct evloop;
struct memctl;

/* How a started VM reports back (vm_start). Called on the loop thread. */
struct vm_events {
    /* The run ended: power-off, guest failure, fatal emulation error (rc < 0,
     * err says why), or vm_stop. The VM has left the scheduler and the loop
     * already; vm_free may be called from inside this callback (the VM does
     * not touch itself after calling it). Called exactly once per vm_start. */
    void (*exited)(void *ctx, struct vm *vm, const struct vm_exit *ex, int rc,
                   const struct disco_err *err);
    /* The guest rebooted and the machine was rebuilt in place (optional):
     * the agent connection is gone. Called with the VM paused, before the
     * rebuilt machine runs (so nothing the new guest sends can come
     * before it) and with the VM's control lock held: it must not call
     * vm_pause, vm_resume, vm_stats or vm_set_sched. Agent bytes queued
     * (vm_agent_send) before it returns are dropped. */
    void (*reset)(void *ctx, struct vm *vm);
    void *ctx;
};

/* Per-VM numbers for `disco stats`. */
struct vm_stats {
    unsigned cpus;
    uint64_t mem;               /* configured RAM, bytes */
    uint64_t mem_touched;       /* guest RAM backed by host memory, bytes */
    unsigned resets;            /* guest reboots served */
    uint64_t uptime_ns;         /* since vm_start / vm_run (0 if not started) */
    /* Scheduler accounting (sched_vm_stats); zero when not started. */
    uint64_t cpu_ns, run_ns, instret, slices, wakeups, preemptions, parks;
    unsigned weight, cap;
    bool paused;
    uint64_t mem_resident;      /* guest RAM the host holds now (pmap_resident_pages) */
    /* Balloon (virtio-balloon; zero without one). */
    uint64_t balloon_target, balloon_actual;      /* bytes */
    uint64_t balloon_reported;                    /* bytes returned by free page reporting */
    /* Memory controller view (zero when not started or without one). */
    uint64_t mem_private, mem_shared, mem_swapped;   /* bytes of guest RAM in each state */
    uint64_t mem_working_set;                     /* bytes, estimated by sampling */
    uint64_t mem_target;                          /* what the controller wants it to hold */
    uint64_t mem_reservation, mem_limit;          /* bytes (limit: effective, mem if none) */
    unsigned mem_shares;
    uint64_t cow_breaks, merges, swap_ins, swap_outs;   /* cumulative */
    /* Per vCPU (the first `cpus` entries; zero when not started). */
    struct vm_vcpu_stats {
        uint64_t cpu_ns, instret, slices, wakeups;
        bool sleeping;          /* idle (WFI) or stopped: off the run queues */
    } vcpu[VM_MAX_CPUS];
};

/* Check the config, build the machine and load the images. */
struct vm *vm_new(const struct vm_config *cfg, struct disco_err *err);
/* Not while started and not yet exited (vm_stop, then free in or after
 * vm_events.exited). The config's strings must live as long as the VM: a
 * reset reloads the images from them. */
void vm_free(struct vm *vm);

/* Run until the guest powers off, fails, passes/fails its HTIF test, the
 * console asks to quit, or vm_request_stop. A guest reset (syscon 0x7777,
 * SBI reboot) rebuilds the machine from the config and keeps going.
 * Returns the exit status for the guest (0, or the FAIL/HTIF code; a FAIL
 * with code 0 counts as 1), or <0 on a fatal error (err says why: e.g. a
 * hart hit something the emulator cannot do). */
int vm_run(struct vm *vm, struct vm_exit *exit_info, struct disco_err *err);

/* Ask vm_run (or a started VM) to stop soon: hard stop, exit reason
 * VM_EXIT_STOPPED. Async-signal-safe; idempotent. */
void vm_request_stop(struct vm *vm);

/* Start the VM on a shared scheduler and event loop: it begins running at
 * once. Returns <0 (err) if it cannot be registered. A VM is started at
 * most once (after exited, vm_free it and make a new one). */
/* mc (may be NULL: no sharing, swap or budget for this VM) is the host's
 * memory controller; the VM is added to it here (memctl_vm_add: errors such
 * as reservations over the budget fail the start) and removed when it
 * exits, and re-added with the rebuilt machine on a reset. */
int vm_start(struct vm *vm, struct sched *s, struct evloop *ev, struct memctl *mc,
             const struct vm_events *events, struct disco_err *err);
/* Hard stop, same as vm_request_stop (exited follows on the loop thread). */
void vm_stop(struct vm *vm);
/* Pause / resume a started VM: vm_pause returns once no vCPU of it runs.
 * Guest time keeps running while paused (timers fire late on resume, none
 * is lost). Any thread but the loop's. 0, or -EINVAL if not running. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* Reboot the machine in place now (hard reset, like a guest reboot). */
void vm_request_reset(struct vm *vm);

/* Queue console input for the guest's UART (held back until the guest
 * listens, delivered as its FIFO drains). Any thread. Returns the number of
 * bytes accepted (less than len when the queue is full). */
size_t vm_console_input(struct vm *vm, const uint8_t *buf, size_t len);

/* Queue bytes for the guest agent (virtio-console receive). Any thread.
 * Returns len, or -ENOBUFS when the queue (VM_AGENT_QUEUE bytes) is full, or
 * -EPIPE when the VM is not running. The queue is dropped on reset. */
#define VM_AGENT_QUEUE (1u << 20)
int vm_agent_send(struct vm *vm, const uint8_t *buf, size_t len);

void vm_stats(struct vm *vm, struct vm_stats *st);
/* The guest RAM of the current machine (for tests and tools): NULL if
 * there is none; valid until a reset rebuilds the machine or vm_free. */
struct pmap;
struct pmap *vm_pmap(struct vm *vm);
/* Change weight (0: default) and cap (percent of one host CPU, 0: none);
 * applies at once to a started VM. 0, or -EINVAL. */
int vm_set_sched(struct vm *vm, unsigned weight, unsigned cap);
/* Balloon: ask the guest to keep `guest_mem` bytes of its RAM (the rest
 * goes into its balloon and back to the host). guest_mem >= cfg.mem gives
 * everything back. 0, or -EINVAL (below VM_MIN_MEM), -EPIPE (not running). */
int vm_balloon(struct vm *vm, uint64_t guest_mem);

/* Parse a memory size: digits with an optional K/M/G suffix (KiB, MiB,
 * GiB; no suffix means MiB, like QEMU's -m). */
int vm_parse_size(const char *s, uint64_t *out);

#endif

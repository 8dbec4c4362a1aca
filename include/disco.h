/* libdisco: one C API for the guests of a host, in the spirit of LXC's
 * lxc_container. A struct disco_host owns a set of named guests (virtual
 * machines and containers, behind the same verbs), one vCPU
 * scheduler and one event loop for all of them, and a state directory where
 * guest configs and console logs live, so guests survive a restart of the
 * program that owns the host (the `disco daemon`).
 *
 * Every function is thread-safe and may block (shutdown waits for the guest,
 * exec for the command). Errors: 0 or a negative errno-style code, with
 * *err (may be NULL) naming what failed:
 *   -ENOENT  no guest of that name       -EEXIST  the name is taken
 *   -EINVAL  bad config or argument      -EBUSY   wrong state for the operation
 *   -ENOTCONN the guest agent is not running   -ETIMEDOUT  it did not answer
 *   -ENOMEM  memory reservations do not fit the host's memory budget
 *
 * States and the operations they allow (others fail with -EBUSY and change
 * nothing):
 *   STOPPED   start, destroy, (config) ............ start -> RUNNING
 *   RUNNING   stop, shutdown, reboot, pause, exec, console, stats
 *   PAUSED    resume, stop, console, stats ........ stop -> STOPPED
 *   STOPPING  (a shutdown is in progress) stop, console, stats
 *   any       info, list, get_config, set_sched
 * A guest that powers off by itself goes to STOPPED; one whose emulation
 * failed goes to STOPPED with last_exit saying why. */
#ifndef DISCO_H
#define DISCO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disco_err.h"

#define DISCO_NAME_MAX 63            /* [A-Za-z0-9][A-Za-z0-9_.-]* */
#define DISCO_MAX_DISKS 5
#define DISCO_MAX_CPUS 32
#define DISCO_DEFAULT_SHUTDOWN_MS 30000u

enum disco_state {
    DISCO_STOPPED = 0,
    DISCO_RUNNING,
    DISCO_PAUSED,
    DISCO_STOPPING,
};
const char *disco_state_name(enum disco_state st);   /* "stopped", ... */

/* A guest is a virtual machine or a container (see the end of this file). */
enum disco_kind {
    DISCO_KIND_VM = 0,
    DISCO_KIND_CONTAINER,
};
const char *disco_kind_name(enum disco_kind k);     /* "vm", "container" */

struct disco_host;

struct disco_host_config {
    const char *state_dir;      /* NULL: $DISCO_STATE_DIR, else /var/lib/disco */
    unsigned workers;           /* vCPU worker threads; 0: one per host CPU */
    uint64_t slice_ns;          /* 0: 10 ms */
    /* Memory overcommit (docs/MEMORY.md). mem_budget: host memory for all
     * guests' RAM, bytes (0: 3/4 of the host's physical memory); swap_dir:
     * where the swap file goes (NULL: state_dir); scan_batch and
     * scan_interval_ns: sharing scanner rate per VM (0: 512 pages per
     * 100 ms); scan_cpu_pct: its CPU budget (0: 10 % of one CPU);
     * idle_tax_pct: the idle-memory tax (used only if idle_tax_set; else
     * 75). */
    uint64_t mem_budget;
    const char *swap_dir;
    unsigned scan_batch;
    uint64_t scan_interval_ns;
    unsigned scan_cpu_pct;
    unsigned idle_tax_pct;
    bool idle_tax_set;
};

/* Open the host: load every saved guest config (all STOPPED, except those
 * marked autostart, which are started). An impossible memory budget (below
 * 64 MiB, above the host's RAM) or other bad memory settings fail it with
 * -EINVAL naming the value. */
struct disco_host *disco_host_new(const struct disco_host_config *cfg, struct disco_err *err);
/* Hard-stop every running guest and free the host (configs stay on disk).
 * No other call may be in progress and every console must be detached. */
void disco_host_free(struct disco_host *h);
/* What disco_host_new could not do but did not fail for: saved configs it
 * skipped (unreadable, corrupt; left on disk, their names stay taken) and
 * autostarts that failed. Newline-separated lines, or NULL if none; valid
 * until disco_host_free. Another host on the same state_dir is refused
 * (-EBUSY). */
const char *disco_host_warnings(struct disco_host *h);

/* A VM's configuration. Strings are copied by disco_create. Paths must be
 * absolute. */
struct disco_vm_config {
    const char *name;
    unsigned cpus;              /* 0: 1 */
    uint64_t mem;               /* bytes; 0: 256 MiB */
    const char *kernel;
    const char *initrd;         /* optional */
    const char *append;         /* NULL: "console=ttyS0" */
    const char *bios;           /* optional */
    const char *disks[DISCO_MAX_DISKS];
    unsigned ndisks;
    unsigned weight;            /* 0: 256 */
    unsigned cap;               /* percent of one host CPU; 0: none */
    bool autostart;             /* start when the host is opened */
    /* Memory: reservation (bytes never reclaimed, 0: none), limit (bytes of
     * host memory it may hold, 0: mem), shares (0: 10 per MiB), sharing
     * domain (NULL: shares pages only with itself; VMs naming the same
     * domain share identical pages with each other). */
    uint64_t mem_reservation;
    uint64_t mem_limit;
    unsigned mem_shares;
    const char *share_domain;
};

/* Parse a config (JSON text, see docs/FLEET.md; or a file holding it) into
 * *cfg; its strings point into *storage, which the caller frees with free().
 * Unknown keys and wrong types are errors that name the key. */
int disco_vm_config_parse(const char *json, struct disco_vm_config *cfg, void **storage,
                          struct disco_err *err);
int disco_vm_config_load(const char *path, struct disco_vm_config *cfg, void **storage,
                         struct disco_err *err);
/* The config as JSON text (malloc'd), in the same format. */
char *disco_vm_config_to_json(const struct disco_vm_config *cfg);

/* Define a guest (STOPPED) and save its config. A mem_reservation larger
 * than the host's whole memory budget is refused (-ENOMEM); one that only
 * collides with running guests' reservations is refused by start instead. */
int disco_create(struct disco_host *h, const struct disco_vm_config *cfg, struct disco_err *err);
/* Remove a STOPPED guest, its config and its console log. */
int disco_destroy(struct disco_host *h, const char *name, struct disco_err *err);

/* -ENOMEM if its mem_reservation plus those of the running guests exceed
 * the host's memory budget. */
int disco_start(struct disco_host *h, const char *name, struct disco_err *err);
/* Hard stop (pull the plug). RUNNING, PAUSED or STOPPING -> STOPPED. */
int disco_stop(struct disco_host *h, const char *name, struct disco_err *err);
/* Clean shutdown through the guest agent; if the guest is not STOPPED
 * within timeout_ms (0: DISCO_DEFAULT_SHUTDOWN_MS), or has no agent, hard
 * stop when the time is up. *forced (may be NULL) tells which happened. */
int disco_shutdown(struct disco_host *h, const char *name, uint64_t timeout_ms, bool *forced,
                   struct disco_err *err);
/* Clean reboot through the agent; with force (or no agent answering within
 * timeout_ms, 0: 10 s; or no agent connected at all), a hard reset. */
int disco_reboot(struct disco_host *h, const char *name, bool force, uint64_t timeout_ms,
                 struct disco_err *err);
int disco_pause(struct disco_host *h, const char *name, struct disco_err *err);
int disco_resume(struct disco_host *h, const char *name, struct disco_err *err);

/* Balloon a RUNNING guest down to guest_mem bytes (its balloon takes the
 * rest and the host gets it back; at least 16 MiB), or back up (guest_mem
 * >= its configured memory deflates fully). Returns once asked; the guest
 * inflates in the background (see balloon_actual in disco_stats). */
int disco_balloon(struct disco_host *h, const char *name, uint64_t guest_mem, struct disco_err *err);

/* Change weight / cap of a guest, in any state (saved; a running guest gets
 * them at its next start for now). DISCO_SCHED_KEEP keeps a value; weight 0
 * means the default (256), cap 0 none. */
#define DISCO_SCHED_KEEP UINT32_MAX
int disco_set_sched(struct disco_host *h, const char *name, unsigned weight, unsigned cap,
                    struct disco_err *err);

struct disco_info {
    char name[DISCO_NAME_MAX + 1];
    enum disco_state state;
    bool agent;                 /* the guest agent is connected */
    char last_exit[256];        /* why it last stopped ("" if never ran) */
    enum disco_kind kind;
    int pid;                    /* container: its init in the host's pid namespace, 0 if none */
};
int disco_info(struct disco_host *h, const char *name, struct disco_info *info,
               struct disco_err *err);
/* All guests, sorted by name: *out is malloc'd (free it), *n entries. */
int disco_list(struct disco_host *h, struct disco_info **out, size_t *n, struct disco_err *err);
/* The saved config of a guest; strings valid until the guest is destroyed. */
int disco_get_config(struct disco_host *h, const char *name, struct disco_vm_config *cfg,
                     struct disco_err *err);

struct disco_stats {
    enum disco_state state;
    unsigned cpus, weight, cap;
    uint64_t uptime_ns;
    uint64_t cpu_ns;            /* host CPU time of its vCPUs */
    uint64_t instret;           /* guest instructions retired */
    uint64_t slices, wakeups, preemptions, parks;
    unsigned resets;
    uint64_t mem;               /* configured */
    uint64_t mem_touched;       /* guest RAM backed by host memory */
    bool guest_mem_valid;       /* the agent answered: the fields below are set */
    uint64_t guest_mem_total, guest_mem_free, guest_mem_available, guest_mem_cached;
    uint64_t mem_resident;      /* guest RAM the host holds now */
    uint64_t balloon_target;    /* bytes the host asked the guest's balloon to hold */
    uint64_t balloon_actual;    /* bytes the guest's balloon holds */
    uint64_t balloon_reported;  /* bytes the guest returned by free page reporting */
    /* Memory controller (bytes; zero when not running, except reservation,
     * limit and shares: the configured values in every state, the limit
     * being the configured memory when none is set). */
    uint64_t mem_private;       /* guest RAM in pages of its own */
    uint64_t mem_shared;        /* guest RAM mapping frames shared by content */
    uint64_t mem_swapped;       /* guest RAM in disco's swap */
    uint64_t mem_working_set;   /* estimated by sampling */
    uint64_t mem_target;        /* what the controller wants it to hold */
    uint64_t mem_reservation, mem_limit;
    unsigned mem_shares;
    uint64_t cow_breaks, merges, swap_ins, swap_outs;   /* cumulative */
    /* Containers (kind container; cpu_ns, uptime_ns and mem_resident are set
     * too, from the cgroup): */
    enum disco_kind kind;
    uint64_t ct_mem_max;        /* bytes, UINT64_MAX: none */
    uint64_t ct_mem_peak, ct_oom_kills, ct_mem_failcnt;
    uint64_t ct_pids, ct_pids_max;      /* max UINT64_MAX: none */
    uint64_t ct_cpu_throttled_ns, ct_nr_throttled;
    uint64_t ct_io_read_bytes, ct_io_write_bytes;
    /* Per vCPU, the first `cpus` entries (zero while stopped). */
    struct disco_vcpu_stats {
        uint64_t cpu_ns, instret, slices, wakeups;
        bool idle;              /* asleep in WFI (or stopped): costs no host CPU */
    } vcpu[DISCO_MAX_CPUS];
};
/* Host-wide memory: the pool every guest's RAM comes from. */
struct disco_host_mem_stats {
    uint64_t budget;            /* bytes */
    uint64_t used;              /* bytes: private pages + shared frames */
    uint64_t private_bytes;
    uint64_t shared_frames_bytes;   /* memory the shared frames take */
    uint64_t shared_refs_bytes;     /* guest memory mapping them */
    uint64_t saved;             /* bytes saved by sharing */
    uint64_t swapped;           /* guest bytes in swap */
    uint64_t swap_file_bytes;   /* what they take on disk */
    uint64_t pressure_events;
};
void disco_host_mem_stats(struct disco_host *h, struct disco_host_mem_stats *st);

int disco_stats(struct disco_host *h, const char *name, struct disco_stats *st,
                struct disco_err *err);

/* Run a command in a RUNNING guest through its agent (-ENOTCONN if it is
 * not connected); timeout_ms 0: no limit. */
struct disco_exec_result {
    int status;                 /* exit code, or 128 + signal */
    uint8_t *out, *errout;      /* malloc'd, NUL-terminated */
    size_t out_len, err_len;
    bool truncated;
};
int disco_exec(struct disco_host *h, const char *name, const char *const *argv,
               uint64_t timeout_ms, struct disco_exec_result *res, struct disco_err *err);
void disco_exec_result_free(struct disco_exec_result *res);
/* Wait until the guest's agent is connected (a freshly started guest takes
 * a moment to boot): 0, -ETIMEDOUT, or -EBUSY if the guest is not running
 * (or stops while we wait). timeout_ms 0: just check. */
int disco_wait_agent(struct disco_host *h, const char *name, uint64_t timeout_ms,
                     struct disco_err *err);

/* Console: any number of watchers; at most one writer. Output is the
 * guest's serial console (also appended to <state_dir>/vms/<name>/console.log,
 * rotated to console.log.1 at 1 MiB); a new watcher first gets the last
 * DISCO_CONSOLE_REPLAY bytes of the current run. Attaching needs a guest
 * that is not STOPPED. The callbacks run on disco threads (replay: on the
 * attaching thread) with a console lock held: they must not block (drop or
 * buffer) and must not call libdisco. */
#define DISCO_CONSOLE_REPLAY (64u << 10)
struct disco_console;
struct disco_console_ops {
    void (*output)(void *ctx, const uint8_t *buf, size_t len);
    /* The guest stopped or was destroyed: no more output (optional). */
    void (*closed)(void *ctx);
};
/* want_write: ask to be the writer; *is_writer says whether we are (the
 * first writer keeps the role until it detaches). */
struct disco_console *disco_console_attach(struct disco_host *h, const char *name,
                                           const struct disco_console_ops *ops, void *ctx,
                                           bool want_write, bool *is_writer,
                                           struct disco_err *err);
/* Input for the guest (writer only): bytes accepted (fewer than len when
 * its queue is full), or -EPERM (not the writer), -EPIPE (guest stopped). */
int disco_console_write(struct disco_console *c, const uint8_t *buf, size_t len);
/* After this returns, ops are not called any more. */
void disco_console_detach(struct disco_console *c);
/* Path of the guest's console log (malloc'd; NULL: no such guest). */
char *disco_console_log_path(struct disco_host *h, const char *name);

/* ---- Containers (docs/CONTAINERS.md) ---------------------------------------
 * A container is a guest of the same host, under the same names and verbs:
 * disco_start/stop/shutdown/reboot/pause (freeze)/resume (thaw)/info/list/
 * stats/exec/console_attach/destroy work on both kinds. For a container:
 *   start      runs its init in new namespaces, its cgroup and a pivot_root
 *   stop       SIGKILL to everything in its cgroup
 *   shutdown   SIGPWR to init (as LXC), SIGKILL to all after timeout_ms
 *   reboot     shutdown (force: stop), then start again
 *   pause      freezes its cgroup (PAUSED), resume thaws it
 *   exec       a process joins its namespaces, cgroup and limits (attach)
 *   console    its init's pty (terminal) or its stdout/stderr and stdin
 * Container-only verbs below give -EINVAL for a VM, and VM-only ones
 * (disco_balloon, disco_wait_agent) -EINVAL for a container. */

#define DISCO_CT_MAX_ARGS 64
struct disco_ct_config {
    const char *name;
    const char *rootfs;             /* absolute directory */
    /* An overlay snapshot (disco_ct_snapshot with overlay): the read-only
     * lower layer(s), "DIR[:DIR]..." (top first); rootfs is then the mount
     * point <state_dir>/vms/<name>/rootfs, mounted at start over the upper
     * and work directories beside it. NULL: rootfs is used as it is. */
    const char *rootfs_lower;
    const char *argv[DISCO_CT_MAX_ARGS + 1];   /* NULL-terminated; none: /bin/sh */
    const char *env[DISCO_CT_MAX_ARGS + 1];    /* NULL-terminated; none: PATH, HOME, TERM */
    const char *cwd;                /* NULL: "/" */
    const char *hostname;           /* NULL: the name */
    bool terminal;                  /* init gets a pty (the console); else pipes */
    uint64_t mem_limit;             /* bytes; 0: none */
    unsigned cpu_weight;            /* 1..10000 (cgroup v2 scale; v1 shares converted); 0: default */
    unsigned cpu_cap;               /* percent of one host CPU (CFS quota); 0: none */
    unsigned pids_max;              /* 0: none */
    unsigned io_weight;             /* 10..1000; 0: default */
    /* Network: with a bridge, a veth pair (host end on the bridge, created if
     * missing) with address/gateway inside; without, only lo. */
    const char *bridge;
    const char *address;            /* "10.88.0.2/16"; NULL: none */
    const char *gateway;            /* NULL: none */
    /* User namespace: container uid/gid 0..65535 map to host uid/gid
     * userns_base..+65535 (root running disco); an unprivileged caller
     * always gets one (its own uid mapped to 0). */
    bool userns;
    uint32_t userns_base;           /* 0: 100000 */
    bool readonly_root;
    bool autostart;
};
int disco_ct_config_parse(const char *json, struct disco_ct_config *cfg, void **storage,
                          struct disco_err *err);
char *disco_ct_config_to_json(const struct disco_ct_config *cfg);
/* Define a container (STOPPED) and save its config. */
int disco_ct_create(struct disco_host *h, const struct disco_ct_config *cfg, struct disco_err *err);
/* The kind of a guest (-ENOENT if none). */
int disco_kind(struct disco_host *h, const char *name, enum disco_kind *kind,
               struct disco_err *err);
int disco_ct_get_config(struct disco_host *h, const char *name, struct disco_ct_config *cfg,
                        struct disco_err *err);

/* Container-only, RUNNING: */
/* mknod inside the container's /dev (type 'c' or 'b'); also allowed by
 * its devices cgroup where there is one. */
int disco_add_device_node(struct disco_host *h, const char *name, const char *path, char type,
                          unsigned major, unsigned minor, unsigned mode, struct disco_err *err);
/* Move host interface ifname (a NIC, or one end of a veth pair) into the
 * container as ct_ifname (NULL: same name), up. */
int disco_attach_interface(struct disco_host *h, const char *name, const char *ifname,
                           const char *ct_ifname, struct disco_err *err);
/* A new STOPPED container new_name with a copy of name's root file system
 * (overlay: an overlayfs upper layer over the original instead of a copy;
 * the original must then not change). name must be STOPPED or PAUSED. */
int disco_ct_snapshot(struct disco_host *h, const char *name, const char *new_name, bool overlay,
                      struct disco_err *err);
/* CRIU: dump a RUNNING container to dir (stop: it stops, else keeps
 * running); restore a STOPPED one from dir. -ENOTSUP when CRIU cannot run
 * on this kernel (the message says why). */
int disco_ct_checkpoint(struct disco_host *h, const char *name, const char *dir, bool stop,
                        struct disco_err *err);
int disco_ct_restore(struct disco_host *h, const char *name, const char *dir,
                     struct disco_err *err);

#endif

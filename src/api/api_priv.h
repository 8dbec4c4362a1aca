/* libdisco internals shared by src/api/: the host, its guests, the
 * console hub of a guest, and config helpers.
 *
 * Lock order (never take one on the left while holding one on the right):
 *     host->lock  ->  guest->lock  ->  hub->lock / guest->vm_lock  ->  (vm's own locks)
 * and host->aux_lock (warnings, container monitor count) is a leaf taken
 * under any of them.
 * guest->lock is never held while waiting on the guest (agent round trips,
 * waiting for the guest to stop) except inside pthread_cond_wait on
 * guest->cond, because the vm's exited callback (loop thread) takes it.
 * vm_lock is a leaf lock that only guards the vm pointer for the hot I/O
 * paths (agent send, console input), so they never wait behind a slow
 * start. */
#ifndef DISCO_API_PRIV_H
#define DISCO_API_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disco.h"
#include "util/err.h"

#define CONSOLE_LOG_MAX (1u << 20)   /* console.log rotates to console.log.1 here */

struct vm;
struct agent;
struct sched;
struct evloop;

/* ---- console hub (console.c) ---------------------------------------------- */

/* Everything a guest's console output goes to: the log file, the replay
 * ring and the attached watchers. Output arrives on vCPU worker threads (and
 * the loop thread); everything here is quick and non-blocking apart from an
 * append to the log file (page cache). */
struct console_hub {
    pthread_mutex_t lock;
    char *log_path, *log_old_path;
    int log_fd;                         /* open while the guest runs, else -1 */
    uint64_t log_size;
    uint8_t *ring;                      /* DISCO_CONSOLE_REPLAY bytes */
    size_t ring_head, ring_len;         /* next write position, bytes held */
    struct disco_console *watchers;     /* list through ->next */
    struct disco_console *writer;
};

struct guest;

struct disco_console {
    struct disco_console *next;
    struct guest *g;                    /* holds a reference */
    struct disco_console_ops ops;
    void *ctx;
    bool closed;                        /* closed() ran: no more output */
    bool writer;
};

int hub_init(struct console_hub *hub, const char *dir, struct disco_err *err);
void hub_destroy(struct console_hub *hub);
/* A run begins: open (append) the log and clear the replay ring. */
int hub_run_begin(struct console_hub *hub, struct disco_err *err);
/* The run ended: close the log, tell every watcher closed(). */
void hub_run_end(struct console_hub *hub);
/* vm_console.write: log, ring, watchers. */
void hub_output(void *ctx, const uint8_t *buf, size_t len);

/* ---- guests and the host (host.c) ----------------------------------------- */

struct ctg_run;

struct guest {
    struct disco_host *h;
    enum disco_kind kind;               /* fixed at create */
    _Atomic unsigned refs;              /* the name table, API calls in flight,
                                           consoles, a started vm */
    char name[DISCO_NAME_MAX + 1];
    char *dir;                          /* <state_dir>/vms/<name> */

    pthread_mutex_t lock;
    pthread_cond_t cond;                /* state / run_gen changes */
    bool removed;                       /* destroyed: ops give -ENOENT */
    enum disco_state state;
    uint64_t run_gen;                   /* +1 each time a run ends */
    struct disco_vm_config cfg;         /* VM: normalised; strings in cfg_storage */
    struct disco_ct_config ct_cfg;      /* container: normalised; strings in cfg_storage */
    void *cfg_storage;
    char last_exit[256];
    bool forced_stop;                   /* the run is being hard-stopped by shutdown */

    pthread_mutex_t vm_lock;
    struct vm *vm;                      /* set while started: guest->lock AND vm_lock
                                           to change, either to read */
    struct agent *agent;                /* lives as long as the guest (VMs use it) */
    struct console_hub hub;

    /* Containers (ct.c). */
    struct ctg_run *run;                /* set while started (guest->lock) */
    int ct_in_fd;                       /* console input: pty master or stdin pipe, -1
                                           (vm_lock, like vm) */
    const char *busy_op;                /* a snapshot copies its root: start, resume,
                                           restore and destroy wait (guest->lock) */
};

/* The guest of that name with a reference held (guest_unref it), or NULL
 * with -ENOENT in err. */
struct guest *host_get(struct disco_host *h, const char *name, struct disco_err *err);
void guest_unref(struct guest *g);
/* "cannot OP guest 'NAME': it is STATE" as -EBUSY; guest->lock held. */
int guest_busy(struct guest *g, const char *op, struct disco_err *err);
/* -EBUSY "cannot OP guest 'NAME': <busy_op>" while a snapshot is being
 * taken, else 0; guest->lock held. */
int guest_busy_op(struct guest *g, const char *op, struct disco_err *err);
/* guest_busy unless the guest is in state `want`, then guest_busy_op. */
int guest_check(struct guest *g, const char *op, enum disco_state want, struct disco_err *err);

/* Shared with ct.c. guest_open: look the guest up and lock it (0 with a
 * reference and guest->lock held, or -ENOENT); guest_close undoes it. */
int guest_open(struct disco_host *h, const char *name, struct guest **out, struct disco_err *err);
void guest_close(struct guest *g);
/* mono_ns() deadline, saturating; a timed wait on guest->cond. */
uint64_t deadline_after_ms(uint64_t timeout_ms);
void guest_cond_wait_until(struct guest *g, uint64_t deadline_ns);
/* -EDEADLK when called on the host's event loop thread. */
int not_on_loop(struct disco_host *h, const char *what, struct disco_err *err);
void host_add_warning(struct disco_host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *host_vms_dir(const struct disco_host *h);
/* Add a normalised container config (storage: its strings, taken on
 * success) as a new STOPPED guest, saved under <vms_dir>/<name>.
 * prepared_dir: NULL, or a directory (under vms_dir) renamed to the guest's
 * directory first (a snapshot prepares its files there). */
int host_add_ct(struct disco_host *h, const struct disco_ct_config *cfg, void *storage,
                const char *prepared_dir, struct disco_err *err);
/* Container monitor threads (ct.c): disco_host_free waits for them. */
void host_monitor_begin(struct disco_host *h);
void host_monitor_end(struct disco_host *h);

/* ---- containers (ct.c) ------------------------------------------------------ */

/* All with guest->lock held (released only inside waits on guest->cond),
 * on a container guest, in the state the verb needs (host.c checks it). */
int ctg_start(struct guest *g, struct disco_err *err);                     /* STOPPED */
void ctg_hard_stop(struct guest *g);                    /* not STOPPED; waits for the end */
int ctg_shutdown(struct guest *g, uint64_t timeout_ms, bool *forced);       /* RUNNING */
int ctg_reboot(struct guest *g, bool force, uint64_t timeout_ms, struct disco_err *err);
int ctg_pause(struct guest *g, bool frozen, struct disco_err *err);
void ctg_stats(struct guest *g, struct disco_stats *st);
int ctg_pid(struct guest *g);
int ctg_set_cpu(struct guest *g, unsigned weight, unsigned cap, struct disco_err *err);
/* RUNNING; returns with guest->lock released and the reference dropped
 * (the command may take long). */
int ctg_exec(struct guest *g, const char *const *argv, uint64_t timeout_ms,
             struct disco_exec_result *res, struct disco_err *err);
/* Console input (any thread, takes vm_lock): bytes taken or -EPIPE. */
int ctg_console_write(struct guest *g, const uint8_t *buf, size_t len);
/* Files a container made in its directory (snapshot root, overlay
 * layers): removed by destroy (guest->lock held, STOPPED). */
int ctg_remove_files(struct guest *g, struct disco_err *err);

/* ---- config helpers (config.c) -------------------------------------------- */

bool config_name_ok(const char *name);
/* A sharing domain name: the rule of mpool_domain (1..64 of [A-Za-z0-9_.-]). */
bool config_share_domain_ok(const char *name);
/* Check a config (names the bad field) and return a normalised deep copy
 * (defaults filled in) whose strings live in one block *storage. */
int config_normalise(const struct disco_vm_config *in, struct disco_vm_config *out,
                     void **storage, struct disco_err *err);
/* Write the config to <dir>/config.json atomically (tmp file + rename). */
int config_save(const char *dir, const struct disco_vm_config *cfg, struct disco_err *err);
int ct_config_save(const char *dir, const struct disco_ct_config *cfg, struct disco_err *err);
/* The container counterpart of config_normalise (defaults: argv /bin/sh,
 * env PATH/HOME/TERM, cwd /, hostname the name, userns_base 100000). */
int ct_config_normalise(const struct disco_ct_config *in, struct disco_ct_config *out,
                        void **storage, struct disco_err *err);
/* The kind a config's JSON text declares ("kind", absent: VM). */
int config_kind(const char *json, enum disco_kind *kind, struct disco_err *err);
/* Load a saved config of either kind (*kind says which was filled). */
int config_load_any(const char *path, enum disco_kind *kind, struct disco_vm_config *vm,
                    struct disco_ct_config *ct, void **storage, struct disco_err *err);
/* A network interface name the kernel takes (1..15 bytes, no '/', ':', spaces). */
bool config_ifname_ok(const char *s);

#endif

/* libdisco: the host object and the lifecycle of its guests (disco.h).
 *
 * Threads: API calls come from any thread; a guest's VM reports its end
 * (exited) and guest reboots (reset) on the host's event loop thread; its
 * console output and agent bytes arrive on vCPU worker threads.
 *
 * Each guest has a state (disco.h) and a run generation, bumped by the
 * exited callback: whoever waits for a run to end (stop, shutdown, host
 * free) waits on guest->cond for run_gen to change, which cannot be fooled
 * by a quick restart the way waiting for STOPPED could. Waiters release
 * guest->lock while they wait (pthread_cond_wait), because exited needs it
 * to record the end of the run. See api_priv.h for the lock order.
 *
 * Choices (what a user of LXC / libvirt would expect):
 *   - A saved config that cannot be loaded does not stop the host from
 *     opening: the other guests load, and disco_host_warnings() lists what
 *     was skipped (its directory is left alone, and its name stays taken:
 *     disco_create refuses it until the directory is fixed or removed).
 *     Autostart failures are listed there too.
 *   - Two hosts on one state directory would corrupt each other: the second
 *     disco_host_new fails with -EBUSY (flock on <state_dir>/lock).
 *   - Blocking calls that wait for a guest's run to end (stop, shutdown)
 *     refuse to run on the host's own event loop thread (-EDEADLK).
 *   - shutdown without a ready agent keeps waiting (the guest may still be
 *     booting: the power-off request goes out as soon as the agent says
 *     hello, or the guest may power off by itself) and hard-stops at the
 *     timeout.
 *   - The balloon target is not saved: a guest started again after a stop
 *     has an empty balloon (like QEMU, where it belongs to the running
 *     device). Across a guest reboot the VM keeps asking for the last
 *     target, so a rebooted guest inflates again. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_priv.h"
#include "mem/mpool.h"
#include "mem/pmap.h"
#include "vmm/agent.h"
#include "vmm/evloop.h"
#include "vmm/memctl.h"
#include "vmm/sched.h"
#include "vmm/vm.h"
#include "util/clock.h"

#define DEFAULT_STATE_DIR "/var/lib/disco"

_Static_assert(DISCO_MAX_CPUS == VM_MAX_CPUS, "disco.h and vm.h disagree on the vCPU limit");
#define STATE_DIR_ENV "DISCO_STATE_DIR"
#define WAIT_TICK_MS 50u           /* re-check the agent while waiting for a shutdown */
#define STATS_AGENT_MS 1000u       /* meminfo must not make `disco stats` slow */
#define REBOOT_AGENT_MS 10000u     /* default wait for the agent to accept a reboot */
#define WARNINGS_MAX 8192u

struct disco_host {
    char *state_dir, *vms_dir;
    int lock_fd;
    pthread_mutex_t lock;          /* the name table */
    struct guest **guests;         /* sorted by name */
    size_t n, cap;
    struct sched *sched;
    struct evloop *ev;
    struct memctl *mc;             /* the memory pool and its controller (timers on ev) */
    /* A leaf lock (taken last, with or without a guest's lock held: a
     * container's start notes warnings and registers its monitor while
     * holding its guest lock, which host->lock must not nest in). */
    pthread_mutex_t aux_lock;
    char *warnings;                /* NULL or newline-separated notes (aux_lock) */
    unsigned monitors;             /* container monitor threads alive (aux_lock) */
    pthread_cond_t monitors_done;  /* monitors went to 0 */
};

const char *disco_state_name(enum disco_state st)
{
    switch (st) {
    case DISCO_STOPPED: return "stopped";
    case DISCO_RUNNING: return "running";
    case DISCO_PAUSED: return "paused";
    case DISCO_STOPPING: return "stopping";
    }
    return "unknown";
}

const char *disco_kind_name(enum disco_kind k)
{
    switch (k) {
    case DISCO_KIND_VM: return "vm";
    case DISCO_KIND_CONTAINER: return "container";
    }
    return "unknown";
}

/* mono_ns() deadline timeout_ms from now; saturates (a huge timeout, e.g.
 * from a client, must not wrap around into "already past"). */
uint64_t deadline_after_ms(uint64_t timeout_ms)
{
    uint64_t now = mono_ns();
    if (timeout_ms > (UINT64_MAX - now) / 1000000u)
        return UINT64_MAX;
    return now + timeout_ms * 1000000u;
}

void guest_cond_wait_until(struct guest *g, uint64_t deadline_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                          .tv_nsec = (long)(deadline_ns % 1000000000u)};
    pthread_cond_timedwait(&g->cond, &g->lock, &ts);
}

void host_add_warning(struct disco_host *h, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One buffer for the host's life, appended in place: a pointer from
     * disco_host_warnings stays valid while containers add notes later
     * (the text first, then the newline over the old end, so a reader
     * sees the old or the new string). */
    pthread_mutex_lock(&h->aux_lock);
    if (!h->warnings && (h->warnings = malloc(WARNINGS_MAX)))
        h->warnings[0] = '\0';
    size_t old = h->warnings ? strlen(h->warnings) : 0, len = strlen(line);
    if (h->warnings && len && old + len + 2 <= WARNINGS_MAX) {
        /* At `at` goes "\nline" (or "line" first); its first byte last. */
        size_t at = old;
        char first = old ? '\n' : line[0];
        const char *rest = old ? line : line + 1;
        memcpy(h->warnings + at + 1, rest, strlen(rest) + 1);
        atomic_thread_fence(memory_order_release);
        h->warnings[at] = first;
    }
    pthread_mutex_unlock(&h->aux_lock);
}

const char *disco_host_warnings(struct disco_host *h)
{
    pthread_mutex_lock(&h->aux_lock);
    const char *w = h->warnings && h->warnings[0] ? h->warnings : NULL;
    pthread_mutex_unlock(&h->aux_lock);
    return w;
}

const char *host_vms_dir(const struct disco_host *h)
{
    return h->vms_dir;
}

void host_monitor_begin(struct disco_host *h)
{
    pthread_mutex_lock(&h->aux_lock);
    h->monitors++;
    pthread_mutex_unlock(&h->aux_lock);
}

void host_monitor_end(struct disco_host *h)
{
    pthread_mutex_lock(&h->aux_lock);
    if (--h->monitors == 0)
        pthread_cond_broadcast(&h->monitors_done);
    pthread_mutex_unlock(&h->aux_lock);
}

/* ---- guests -------------------------------------------------------------------- */

static int agent_send_cb(void *ctx, const uint8_t *buf, size_t len)
{
    struct guest *g = ctx;
    int rc = -ENOTCONN;
    pthread_mutex_lock(&g->vm_lock);
    if (g->vm)
        rc = vm_agent_send(g->vm, buf, len);
    pthread_mutex_unlock(&g->vm_lock);
    return rc < 0 ? rc : 0;
}

static void agent_rx_cb(void *ctx, const uint8_t *buf, size_t len)
{
    struct guest *g = ctx;
    agent_input(g->agent, buf, len);
}

static void guest_free(struct guest *g)
{
    agent_free(g->agent);
    hub_destroy(&g->hub);
    free(g->cfg_storage);
    free(g->dir);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->vm_lock);
    free(g);
}

void guest_unref(struct guest *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1)
        guest_free(g);
}

/* A guest (one reference: the table's) owning its config / storage on
 * success: vm for a VM, ct for a container. */
static struct guest *guest_new(struct disco_host *h, const struct disco_vm_config *vm,
                               const struct disco_ct_config *ct, void *storage,
                               struct disco_err *err)
{
    const char *name = ct ? ct->name : vm->name;
    struct guest *g = calloc(1, sizeof *g);
    if (!g) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (asprintf(&g->dir, "%s/%s", h->vms_dir, name) < 0) {
        free(g);
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (hub_init(&g->hub, g->dir, err) < 0) {
        free(g->dir);
        free(g);
        return NULL;
    }
    g->agent = agent_new(agent_send_cb, g, err);
    if (!g->agent) {
        hub_destroy(&g->hub);
        free(g->dir);
        free(g);
        return NULL;
    }
    g->h = h;
    atomic_init(&g->refs, 1);
    snprintf(g->name, sizeof g->name, "%s", name);
    if (ct) {
        g->kind = DISCO_KIND_CONTAINER;
        g->ct_cfg = *ct;
        g->cfg.name = g->ct_cfg.name;
    } else {
        g->kind = DISCO_KIND_VM;
        g->cfg = *vm;
    }
    g->cfg_storage = storage;
    g->ct_in_fd = -1;
    g->state = DISCO_STOPPED;
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->vm_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
    return g;
}

/* Index of name in the sorted table, or where it would go (*found false).
 * host->lock held. */
static size_t table_find(struct disco_host *h, const char *name, bool *found)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(h->guests[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static int table_insert(struct disco_host *h, struct guest *g, struct disco_err *err)
{
    bool found;
    size_t i = table_find(h, g->name, &found);
    if (found)
        return err_set(err, -EEXIST, "a guest named '%s' exists", g->name);
    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 16;
        struct guest **ng = realloc(h->guests, nc * sizeof *ng);
        if (!ng)
            return err_set(err, -ENOMEM, "out of memory");
        h->guests = ng;
        h->cap = nc;
    }
    memmove(&h->guests[i + 1], &h->guests[i], (h->n - i) * sizeof *h->guests);
    h->guests[i] = g;
    h->n++;
    return 0;
}

struct guest *host_get(struct disco_host *h, const char *name, struct disco_err *err)
{
    if (!name || !config_name_ok(name)) {
        err_set(err, -ENOENT, "no guest named '%s'", name ? name : "(null)");
        return NULL;
    }
    pthread_mutex_lock(&h->lock);
    bool found;
    size_t i = table_find(h, name, &found);
    struct guest *g = found ? h->guests[i] : NULL;
    if (g)
        atomic_fetch_add(&g->refs, 1);
    pthread_mutex_unlock(&h->lock);
    if (!g)
        err_set(err, -ENOENT, "no guest named '%s'", name);
    return g;
}

int guest_busy(struct guest *g, const char *op, struct disco_err *err)
{
    static const char *const hint[] = {
        [DISCO_STOPPED] = "start it first",
        [DISCO_RUNNING] = "stop it first",
        [DISCO_PAUSED] = "resume or stop it first",
        [DISCO_STOPPING] = "it is shutting down",
    };
    return err_set(err, -EBUSY, "cannot %s guest '%s': it is %s (%s)", op, g->name,
                   disco_state_name(g->state), hint[g->state]);
}

int guest_busy_op(struct guest *g, const char *op, struct disco_err *err)
{
    if (!g->busy_op)
        return 0;
    return err_set(err, -EBUSY, "cannot %s guest '%s': %s", op, g->name, g->busy_op);
}

int guest_check(struct guest *g, const char *op, enum disco_state want, struct disco_err *err)
{
    return g->state != want ? guest_busy(g, op, err) : guest_busy_op(g, op, err);
}

/* Look a guest up and lock it: 0 with a reference and guest->lock held, or
 * <0 (-ENOENT). */
int guest_open(struct disco_host *h, const char *name, struct guest **out,
               struct disco_err *err)
{
    err_clear(err);
    struct guest *g = host_get(h, name, err);
    if (!g)
        return -ENOENT;
    pthread_mutex_lock(&g->lock);
    if (g->removed) {
        pthread_mutex_unlock(&g->lock);
        guest_unref(g);
        return err_set(err, -ENOENT, "no guest named '%s'", name);
    }
    *out = g;
    return 0;
}

void guest_close(struct guest *g)
{
    pthread_mutex_unlock(&g->lock);
    guest_unref(g);
}

/* ---- runs ------------------------------------------------------------------------ */

static void on_exited(void *ctx, struct vm *vm, const struct vm_exit *ex, int rc,
                      const struct disco_err *verr)
{
    struct guest *g = ctx;
    agent_disconnect(g->agent);
    pthread_mutex_lock(&g->lock);
    if (rc < 0) {
        snprintf(g->last_exit, sizeof g->last_exit, "error: %.*s",
                 (int)sizeof g->last_exit - 8,
                 verr && verr->msg[0] ? verr->msg : "emulation failed");
    } else {
        switch (ex->reason) {
        case VM_EXIT_POWEROFF:
            snprintf(g->last_exit, sizeof g->last_exit, "powered off");
            break;
        case VM_EXIT_FAIL:
            snprintf(g->last_exit, sizeof g->last_exit, "guest reported failure %u", ex->code);
            break;
        case VM_EXIT_HTIF:
            if (ex->code)
                snprintf(g->last_exit, sizeof g->last_exit, "test failed with code %u",
                         ex->code);
            else
                snprintf(g->last_exit, sizeof g->last_exit, "test passed");
            break;
        case VM_EXIT_QUIT:
        case VM_EXIT_STOPPED:
            snprintf(g->last_exit, sizeof g->last_exit, "%s",
                     g->forced_stop ? "stopped (shutdown timed out)" : "stopped");
            break;
        }
    }
    pthread_mutex_lock(&g->vm_lock);
    g->vm = NULL;
    pthread_mutex_unlock(&g->vm_lock);
    /* vm_free flushes the last console output into the hub: before
     * hub_run_end, which closes the log and the watchers. */
    vm_free(vm);
    hub_run_end(&g->hub);
    g->state = DISCO_STOPPED;
    g->forced_stop = false;
    g->run_gen++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    guest_unref(g);   /* the run's reference */
}

static void on_reset(void *ctx, struct vm *vm)
{
    (void)vm;
    struct guest *g = ctx;
    agent_disconnect(g->agent);
}

/* guest->lock held, state STOPPED. */
static int guest_start(struct guest *g, struct disco_err *err)
{
    if (g->kind == DISCO_KIND_CONTAINER)
        return ctg_start(g, err);
    struct disco_host *h = g->h;
    const struct disco_vm_config *c = &g->cfg;
    struct vm_config vc = {
        .cpus = c->cpus,
        .mem = c->mem,
        .kernel = c->kernel,
        .initrd = c->initrd,
        .append = c->append,
        .bios = c->bios,
        .disks = c->disks,
        .ndisks = c->ndisks,
        .console = {.write = hub_output, .in_fd = -1, .ctx = g},
        .weight = c->weight,
        .cap = c->cap,
        .agent_rx = agent_rx_cb,
        .agent_ctx = g,
        .mem_reservation = c->mem_reservation,
        .mem_limit = c->mem_limit,
        .mem_shares = c->mem_shares,
        .share_domain = c->share_domain,
    };
    int rc = hub_run_begin(&g->hub, err);
    if (rc < 0)
        return rc;
    struct disco_err verr;
    err_clear(&verr);
    struct vm *vm = vm_new(&vc, &verr);
    if (!vm) {
        hub_run_end(&g->hub);
        return err_set(err, verr.code ? verr.code : -EINVAL, "guest '%s': %s", g->name,
                       verr.msg);
    }
    agent_disconnect(g->agent);   /* a fresh connection for the new run */
    pthread_mutex_lock(&g->vm_lock);
    g->vm = vm;
    pthread_mutex_unlock(&g->vm_lock);
    atomic_fetch_add(&g->refs, 1);   /* the run's, dropped by on_exited */
    struct vm_events evs = {.exited = on_exited, .reset = on_reset, .ctx = g};
    if ((rc = vm_start(vm, h->sched, h->ev, h->mc, &evs, &verr)) < 0) {
        pthread_mutex_lock(&g->vm_lock);
        g->vm = NULL;
        pthread_mutex_unlock(&g->vm_lock);
        vm_free(vm);
        hub_run_end(&g->hub);
        atomic_fetch_sub(&g->refs, 1);   /* the table still holds one */
        return err_set(err, rc, "guest '%s': %s", g->name, verr.msg);
    }
    g->state = DISCO_RUNNING;
    g->forced_stop = false;
    return 0;
}

/* Hard-stop the current run and wait for on_exited. guest->lock held (and
 * released while waiting); state not STOPPED. */
static void guest_hard_stop(struct guest *g)
{
    if (g->kind == DISCO_KIND_CONTAINER) {
        ctg_hard_stop(g);
        return;
    }
    uint64_t gen = g->run_gen;
    vm_stop(g->vm);
    while (g->run_gen == gen)
        pthread_cond_wait(&g->cond, &g->lock);
}

int not_on_loop(struct disco_host *h, const char *what, struct disco_err *err)
{
    if (evloop_on_loop_thread(h->ev))
        return err_set(err, -EDEADLK, "%s would wait for the event loop it is called from",
                       what);
    return 0;
}

/* ---- the host ------------------------------------------------------------------- */

static int mkdir_p(const char *path, struct disco_err *err)
{
    char *p = strdup(path);
    if (!p)
        return err_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char ch = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            rc = err_errno(err, errno, "state directory %s", p);
            break;
        }
        *s = ch;
        if (!ch)
            break;
    }
    free(p);
    return rc;
}

/* Load <vms_dir>/<name>/config.json (either kind) into the table, or add
 * a warning. */
static void load_guest(struct disco_host *h, const char *name)
{
    struct disco_err err;
    err_clear(&err);
    char *path;
    if (asprintf(&path, "%s/%s/config.json", h->vms_dir, name) < 0)
        return;
    struct disco_vm_config raw, cfg;
    struct disco_ct_config ct_raw, ct_cfg;
    enum disco_kind kind = DISCO_KIND_VM;
    void *raw_storage = NULL, *storage = NULL;
    if (!config_name_ok(name)) {
        host_add_warning(h, "%s/%s: skipped: not a valid guest name", h->vms_dir, name);
    } else if (access(path, F_OK) < 0 && errno == ENOENT) {
        /* A directory without a config: a leftover, not a guest. */
    } else if (config_load_any(path, &kind, &raw, &ct_raw, &raw_storage, &err) < 0) {
        host_add_warning(h, "skipped guest '%s': %s", name, err.msg);
    } else if ((kind == DISCO_KIND_VM ? raw.name : ct_raw.name) &&
               strcmp(kind == DISCO_KIND_VM ? raw.name : ct_raw.name, name) != 0) {
        host_add_warning(h, "skipped guest '%s': %s names '%s'", name, path,
                         kind == DISCO_KIND_VM ? raw.name : ct_raw.name);
    } else {
        raw.name = ct_raw.name = name;
        int rc = kind == DISCO_KIND_VM ? config_normalise(&raw, &cfg, &storage, &err)
                                       : ct_config_normalise(&ct_raw, &ct_cfg, &storage, &err);
        if (rc < 0) {
            host_add_warning(h, "skipped guest '%s': %s: %s", name, path, err.msg);
        } else {
            struct guest *g = guest_new(h, kind == DISCO_KIND_VM ? &cfg : NULL,
                                        kind == DISCO_KIND_VM ? NULL : &ct_cfg, storage, &err);
            if (!g) {
                free(storage);
                host_add_warning(h, "skipped guest '%s': %s", name, err.msg);
            } else {
                pthread_mutex_lock(&h->lock);
                rc = table_insert(h, g, &err);
                pthread_mutex_unlock(&h->lock);
                if (rc < 0) {
                    host_add_warning(h, "skipped guest '%s': %s", name, err.msg);
                    guest_unref(g);
                }
            }
        }
    }
    free(raw_storage);
    free(path);
}

static int load_all(struct disco_host *h, struct disco_err *err)
{
    DIR *d = opendir(h->vms_dir);
    if (!d)
        return err_errno(err, errno, "%s", h->vms_dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        load_guest(h, e->d_name);
    }
    closedir(d);
    return 0;
}

struct disco_host *disco_host_new(const struct disco_host_config *cfg, struct disco_err *err)
{
    err_clear(err);
    struct disco_host_config dflt = {0};
    if (!cfg)
        cfg = &dflt;
    const char *dir = cfg->state_dir;
    if (!dir || !dir[0])
        dir = getenv(STATE_DIR_ENV);
    if (!dir || !dir[0])
        dir = DEFAULT_STATE_DIR;
    if (dir[0] != '/') {
        err_set(err, -EINVAL, "state directory '%s' must be an absolute path", dir);
        return NULL;
    }
    struct disco_host *h = calloc(1, sizeof *h);
    if (!h) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    h->lock_fd = -1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->aux_lock, NULL);
    pthread_cond_init(&h->monitors_done, NULL);
    if (!(h->state_dir = strdup(dir)) || asprintf(&h->vms_dir, "%s/vms", dir) < 0) {
        h->vms_dir = NULL;
        err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir_p(h->vms_dir, err) < 0)
        goto fail;
    char *lock_path;
    if (asprintf(&lock_path, "%s/lock", dir) < 0) {
        err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    h->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (h->lock_fd < 0) {
        err_errno(err, errno, "%s", lock_path);
        free(lock_path);
        goto fail;
    }
    if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            err_set(err, -EBUSY, "state directory %s is in use by another disco host (%s is "
                    "locked)", dir, lock_path);
        else
            err_errno(err, errno, "flock %s", lock_path);
        free(lock_path);
        goto fail;
    }
    free(lock_path);

    struct sched_config sc = {.workers = cfg->workers, .slice_ns = cfg->slice_ns};
    if (!(h->sched = sched_new(&sc, err)))
        goto fail;
    if (!(h->ev = evloop_new(err)))
        goto fail;
    /* The pool and its controller before any guest can start. The swap
     * file is unlinked at once (O_TMPFILE), so the state directory is a
     * safe default place for it. */
    struct memctl_config mcc = {
        .pool = {.budget = cfg->mem_budget,
                 .swap_dir = cfg->swap_dir && cfg->swap_dir[0] ? cfg->swap_dir : h->state_dir},
        .scan_interval_ns = cfg->scan_interval_ns,
        .scan_batch = cfg->scan_batch,
        .scan_cpu_pct = cfg->scan_cpu_pct,
        .idle_tax_pct = cfg->idle_tax_pct,
        .idle_tax_set = cfg->idle_tax_set,
    };
    if (!(h->mc = memctl_new(&mcc, h->ev, err)))
        goto fail;
    if (evloop_start_thread(h->ev, err) < 0)
        goto fail;
    if (load_all(h, err) < 0)
        goto fail;

    /* Autostart: a guest that fails to start stays STOPPED with a warning;
     * the host opens anyway (one broken guest must not take the others
     * down). */
    for (size_t i = 0; i < h->n; i++) {
        struct guest *g = h->guests[i];
        if (g->kind == DISCO_KIND_CONTAINER ? !g->ct_cfg.autostart : !g->cfg.autostart)
            continue;
        struct disco_err serr;
        err_clear(&serr);
        pthread_mutex_lock(&g->lock);
        int rc = guest_start(g, &serr);
        pthread_mutex_unlock(&g->lock);
        if (rc < 0)
            host_add_warning(h, "autostart of '%s' failed: %s", g->name, serr.msg);
    }
    return h;
fail:
    /* No guest has started (load_all and autostart are the last steps):
     * the controller has no VM to let go of. */
    if (h->mc)
        memctl_free(h->mc);
    if (h->ev)
        evloop_free(h->ev);
    if (h->sched)
        sched_free(h->sched);
    for (size_t i = 0; i < h->n; i++)
        guest_unref(h->guests[i]);
    free(h->guests);
    if (h->lock_fd >= 0)
        close(h->lock_fd);
    free(h->warnings);
    free(h->vms_dir);
    free(h->state_dir);
    pthread_cond_destroy(&h->monitors_done);
    pthread_mutex_destroy(&h->aux_lock);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return NULL;
}

void disco_host_free(struct disco_host *h)
{
    if (!h)
        return;
    /* Stop every run first (the loop must still be alive to report them). */
    for (size_t i = 0; i < h->n; i++) {
        struct guest *g = h->guests[i];
        pthread_mutex_lock(&g->lock);
        if (g->state != DISCO_STOPPED)
            guest_hard_stop(g);
        pthread_mutex_unlock(&g->lock);
    }
    /* A container's monitor thread reports the end of its run (run_gen)
     * a moment before it is gone: wait for the last of them. */
    pthread_mutex_lock(&h->aux_lock);
    while (h->monitors)
        pthread_cond_wait(&h->monitors_done, &h->aux_lock);
    pthread_mutex_unlock(&h->aux_lock);
    /* Every VM has left the controller (on_exited); its timers live on the
     * loop, so it goes before the loop does. */
    memctl_free(h->mc);
    evloop_free(h->ev);
    sched_free(h->sched);
    /* Consoles still attached keep their guest alive (they must be
     * detached before the host is freed: they would point at it). */
    for (size_t i = 0; i < h->n; i++)
        guest_unref(h->guests[i]);
    free(h->guests);
    close(h->lock_fd);   /* releases the flock */
    free(h->warnings);
    free(h->vms_dir);
    free(h->state_dir);
    pthread_cond_destroy(&h->monitors_done);
    pthread_mutex_destroy(&h->aux_lock);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- create / destroy ---------------------------------------------------------- */

/* Remove the guest's files: config.json first (once it is gone the guest
 * no longer exists on disk, so a failure there changes nothing), then the
 * rest best-effort. */
static int remove_dir(const char *dir, struct disco_err *err)
{
    char *cfg;
    if (asprintf(&cfg, "%s/config.json", dir) < 0)
        return err_set(err, -ENOMEM, "out of memory");
    if (unlink(cfg) < 0 && errno != ENOENT) {
        int rc = err_errno(err, errno, "removing %s", cfg);
        free(cfg);
        return rc;
    }
    free(cfg);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

/* What the controller can tell at create. A reservation larger than the
 * whole budget could never start: refused now. One that only collides
 * with the reservations of guests running right now may fit later, so
 * that case (memctl_check's -ENOMEM) is left to start. */
static int check_mem_fits(struct disco_host *h, const struct disco_vm_config *c,
                          struct disco_err *err)
{
    uint64_t budget = mpool_budget(memctl_pool(h->mc));
    if (c->mem_reservation > budget)
        return err_set(err, -ENOMEM, "config: 'mem_reservation' (%llu MiB) can never fit the "
                       "host's memory budget (%llu MiB)",
                       (unsigned long long)(c->mem_reservation >> 20),
                       (unsigned long long)(budget >> 20));
    struct disco_err merr;
    err_clear(&merr);
    int rc = memctl_check(h->mc, c->mem, c->mem_reservation, c->mem_limit, c->share_domain,
                          &merr);
    if (rc < 0 && rc != -ENOMEM)
        return err_set(err, rc, "config: %s", merr.msg);
    return 0;
}

int disco_create(struct disco_host *h, const struct disco_vm_config *in, struct disco_err *err)
{
    err_clear(err);
    if (!in)
        return err_set(err, -EINVAL, "no config");
    struct disco_vm_config cfg;
    void *storage = NULL;
    int rc = config_normalise(in, &cfg, &storage, err);
    if (rc == 0)
        rc = check_mem_fits(h, &cfg, err);
    if (rc < 0) {
        free(storage);
        return rc;
    }
    /* The host lock is held across the file work so that two creates of
     * one name, or a create racing a destroy, cannot interleave on disk. */
    pthread_mutex_lock(&h->lock);
    bool found;
    table_find(h, cfg.name, &found);
    char *dir = NULL, *cfgpath = NULL;
    if (found) {
        rc = err_set(err, -EEXIST, "a guest named '%s' exists", cfg.name);
        goto out;
    }
    if (asprintf(&dir, "%s/%s", h->vms_dir, cfg.name) < 0 ||
        asprintf(&cfgpath, "%s/config.json", dir) < 0) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (mkdir(dir, 0750) < 0) {
        if (errno != EEXIST) {
            rc = err_errno(err, errno, "creating %s", dir);
            goto out;
        }
        if (access(cfgpath, F_OK) == 0) {
            /* A config we did not load (see disco_host_warnings). */
            rc = err_set(err, -EEXIST, "guest '%s': %s exists but was not loaded; fix or "
                         "remove it", cfg.name, cfgpath);
            goto out;
        }
    }
    if ((rc = config_save(dir, &cfg, err)) < 0)
        goto out;
    struct guest *g = guest_new(h, &cfg, NULL, storage, err);
    if (!g) {
        rc = err && err->code ? err->code : -ENOMEM;   /* err may be NULL */
        remove_dir(dir, NULL);
        goto out;
    }
    storage = NULL;   /* the guest's now */
    if ((rc = table_insert(h, g, err)) < 0) {
        remove_dir(dir, NULL);
        guest_unref(g);
    }
out:
    pthread_mutex_unlock(&h->lock);
    free(storage);
    free(dir);
    free(cfgpath);
    return rc;
}

int host_add_ct(struct disco_host *h, const struct disco_ct_config *cfg, void *storage,
                const char *prepared_dir, struct disco_err *err)
{
    /* As disco_create: the host lock covers the file work. */
    pthread_mutex_lock(&h->lock);
    bool found;
    table_find(h, cfg->name, &found);
    char *dir = NULL, *cfgpath = NULL;
    int rc = 0;
    if (found) {
        rc = err_set(err, -EEXIST, "a guest named '%s' exists", cfg->name);
        goto out;
    }
    if (asprintf(&dir, "%s/%s", h->vms_dir, cfg->name) < 0 ||
        asprintf(&cfgpath, "%s/config.json", dir) < 0) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (prepared_dir) {
        /* rename() fails with ENOTEMPTY/EEXIST if the directory is there
         * and not empty: never merged into someone's leftovers. */
        rmdir(dir);
        if (rename(prepared_dir, dir) < 0) {
            rc = errno == EEXIST || errno == ENOTEMPTY
                     ? err_set(err, -EEXIST, "guest '%s': %s exists; remove it first", cfg->name,
                               dir)
                     : err_errno(err, errno, "rename %s to %s", prepared_dir, dir);
            goto out;
        }
    } else if (mkdir(dir, 0750) < 0) {
        if (errno != EEXIST) {
            rc = err_errno(err, errno, "creating %s", dir);
            goto out;
        }
        if (access(cfgpath, F_OK) == 0) {
            rc = err_set(err, -EEXIST, "guest '%s': %s exists but was not loaded; fix or "
                         "remove it", cfg->name, cfgpath);
            goto out;
        }
    }
    if ((rc = ct_config_save(dir, cfg, err)) < 0) {
        if (prepared_dir)
            rename(dir, prepared_dir);   /* give the caller its files back to clean up */
        goto out;
    }
    struct guest *g = guest_new(h, NULL, cfg, storage, err);
    if (!g) {
        rc = err && err->code ? err->code : -ENOMEM;
        unlink(cfgpath);
        if (prepared_dir)
            rename(dir, prepared_dir);
        else
            rmdir(dir);
        goto out;
    }
    if ((rc = table_insert(h, g, err)) < 0) {
        g->cfg_storage = NULL;   /* the caller keeps storage on failure */
        unlink(cfgpath);
        if (prepared_dir)
            rename(dir, prepared_dir);
        else
            rmdir(dir);
        guest_unref(g);
    }
out:
    pthread_mutex_unlock(&h->lock);
    free(dir);
    free(cfgpath);
    return rc;
}

int disco_ct_create(struct disco_host *h, const struct disco_ct_config *in,
                    struct disco_err *err)
{
    err_clear(err);
    if (!in)
        return err_set(err, -EINVAL, "no config");
    if (in->rootfs_lower)
        return err_set(err, -EINVAL, "config: 'rootfs_lower' is made by disco_ct_snapshot, "
                       "not given to create");
    struct disco_ct_config cfg;
    void *storage = NULL;
    int rc = ct_config_normalise(in, &cfg, &storage, err);
    if (rc == 0)
        rc = host_add_ct(h, &cfg, storage, NULL, err);
    if (rc < 0)
        free(storage);
    return rc;
}

int disco_destroy(struct disco_host *h, const char *name, struct disco_err *err)
{
    err_clear(err);
    pthread_mutex_lock(&h->lock);
    bool found;
    size_t i = name && config_name_ok(name) ? table_find(h, name, &found) : (found = false, 0);
    if (!found) {
        pthread_mutex_unlock(&h->lock);
        return err_set(err, -ENOENT, "no guest named '%s'", name ? name : "(null)");
    }
    struct guest *g = h->guests[i];
    pthread_mutex_lock(&g->lock);
    int rc = guest_check(g, "destroy", DISCO_STOPPED, err);
    if (rc == 0 && (rc = remove_dir(g->dir, err)) == 0) {
        /* The config is gone: the rest (a snapshot's root and layers) is
         * best effort, like the rest of remove_dir. */
        if (g->kind == DISCO_KIND_CONTAINER) {
            ctg_remove_files(g, NULL);
            rmdir(g->dir);
        }
        g->removed = true;
        memmove(&h->guests[i], &h->guests[i + 1], (h->n - i - 1) * sizeof *h->guests);
        h->n--;
    }
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&h->lock);
    if (rc == 0)
        guest_unref(g);   /* the table's reference */
    return rc;
}

/* ---- lifecycle -------------------------------------------------------------------- */

int disco_start(struct disco_host *h, const char *name, struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    rc = guest_check(g, "start", DISCO_STOPPED, err);
    if (rc == 0)
        rc = guest_start(g, err);
    guest_close(g);
    return rc;
}

int disco_stop(struct disco_host *h, const char *name, struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->state == DISCO_STOPPED)
        rc = guest_busy(g, "stop", err);
    else if ((rc = not_on_loop(h, "stop", err)) == 0)
        guest_hard_stop(g);
    guest_close(g);
    return rc;
}

int disco_shutdown(struct disco_host *h, const char *name, uint64_t timeout_ms, bool *forced,
                   struct disco_err *err)
{
    if (forced)
        *forced = false;
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->state != DISCO_RUNNING) {
        rc = guest_busy(g, "shut down", err);
        guest_close(g);
        return rc;
    }
    if ((rc = not_on_loop(h, "shutdown", err)) < 0) {
        guest_close(g);
        return rc;
    }
    if (!timeout_ms)
        timeout_ms = DISCO_DEFAULT_SHUTDOWN_MS;
    if (g->kind == DISCO_KIND_CONTAINER) {
        rc = ctg_shutdown(g, timeout_ms, forced);
        guest_close(g);
        return rc;
    }
    uint64_t deadline = deadline_after_ms(timeout_ms);
    uint64_t gen = g->run_gen;
    g->state = DISCO_STOPPING;
    bool asked = false;
    uint64_t next_ask = 0;
    while (g->run_gen == gen) {
        uint64_t now = mono_ns();
        if (now >= deadline)
            break;
        if (!asked && now >= next_ask && agent_ready(g->agent)) {
            /* Unlocked: the agent's answer comes from the guest, and the
             * run may end meanwhile (run_gen tells). */
            uint64_t left_ms = (deadline - now) / 1000000u + 1;
            pthread_mutex_unlock(&g->lock);
            int r = agent_power(g->agent, false, left_ms, NULL);
            pthread_mutex_lock(&g->lock);
            asked = r == 0;
            next_ask = mono_ns() + WAIT_TICK_MS * 1000000ull;   /* retry later, not hot */
            continue;
        }
        uint64_t until = now + WAIT_TICK_MS * 1000000ull;
        guest_cond_wait_until(g, until < deadline ? until : deadline);
    }
    if (g->run_gen == gen) {
        if (forced)
            *forced = true;
        g->forced_stop = true;
        guest_hard_stop(g);
    }
    guest_close(g);
    return 0;
}

int disco_reboot(struct disco_host *h, const char *name, bool force, uint64_t timeout_ms,
                 struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->state != DISCO_RUNNING) {
        rc = guest_busy(g, "reboot", err);
        guest_close(g);
        return rc;
    }
    if (g->kind == DISCO_KIND_CONTAINER) {
        if ((rc = not_on_loop(g->h, "reboot", err)) == 0)
            rc = ctg_reboot(g, force, timeout_ms, err);
        guest_close(g);
        return rc;
    }
    if (!force && agent_ready(g->agent)) {
        uint64_t gen = g->run_gen;
        pthread_mutex_unlock(&g->lock);
        int r = agent_power(g->agent, true, timeout_ms ? timeout_ms : REBOOT_AGENT_MS, NULL);
        pthread_mutex_lock(&g->lock);
        if (r == 0) {
            guest_close(g);
            return 0;
        }
        /* No answer: fall back to a hard reset of the same run, if it is
         * still running (not paused / stopped meanwhile). */
        if (g->run_gen != gen || g->state != DISCO_RUNNING) {
            rc = g->removed ? err_set(err, -ENOENT, "no guest named '%s'", g->name)
                            : guest_busy(g, "reboot", err);
            guest_close(g);
            return rc;
        }
    }
    vm_request_reset(g->vm);
    guest_close(g);
    return 0;
}

int disco_pause(struct disco_host *h, const char *name, struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->state != DISCO_RUNNING)
        rc = guest_busy(g, "pause", err);
    else if (g->kind == DISCO_KIND_CONTAINER)
        rc = ctg_pause(g, true, err);
    else if (vm_pause(g->vm) < 0)   /* its run is ending: exited is on its way */
        rc = err_set(err, -EBUSY, "cannot pause guest '%s': it is stopping", g->name);
    else
        g->state = DISCO_PAUSED;
    guest_close(g);
    return rc;
}

int disco_resume(struct disco_host *h, const char *name, struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    rc = guest_check(g, "resume", DISCO_PAUSED, err);
    if (rc == 0 && g->kind == DISCO_KIND_CONTAINER)
        rc = ctg_pause(g, false, err);
    else if (rc == 0 && vm_resume(g->vm) < 0)
        rc = err_set(err, -EBUSY, "cannot resume guest '%s': it is stopping", g->name);
    else if (rc == 0)
        g->state = DISCO_RUNNING;
    guest_close(g);
    return rc;
}

int disco_balloon(struct disco_host *h, const char *name, uint64_t guest_mem,
                  struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->kind == DISCO_KIND_CONTAINER)
        rc = err_set(err, -EINVAL, "guest '%s' is a container: it has no balloon (its memory "
                     "limit is mem_limit)", g->name);
    else if (g->state != DISCO_RUNNING)
        rc = guest_busy(g, "balloon", err);
    else if (guest_mem < VM_MIN_MEM)
        rc = err_set(err, -EINVAL,
                     "guest '%s': cannot balloon down to %llu bytes (at least %llu MiB)",
                     g->name, (unsigned long long)guest_mem,
                     (unsigned long long)(VM_MIN_MEM >> 20));
    else if ((rc = vm_balloon(g->vm, guest_mem)) == -EPIPE)   /* its run is ending */
        rc = err_set(err, -EBUSY, "cannot balloon guest '%s': it is stopping", g->name);
    else if (rc < 0)
        rc = err_set(err, rc, "guest '%s': balloon to %llu bytes failed", g->name,
                     (unsigned long long)guest_mem);
    guest_close(g);
    return rc;
}

int disco_set_sched(struct disco_host *h, const char *name, unsigned weight, unsigned cap,
                    struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->kind == DISCO_KIND_CONTAINER) {
        rc = ctg_set_cpu(g, weight, cap, err);
        guest_close(g);
        return rc;
    }
    struct disco_vm_config c = g->cfg;
    if (weight != DISCO_SCHED_KEEP)
        c.weight = weight ? weight : SCHED_DEFAULT_WEIGHT;
    if (cap != DISCO_SCHED_KEEP)
        c.cap = cap;
    if (c.weight > SCHED_MAX_WEIGHT)
        rc = err_set(err, -EINVAL, "bad weight %u (1..%u)", c.weight, SCHED_MAX_WEIGHT);
    else if (c.cap > 100u * SCHED_MAX_WORKERS)
        rc = err_set(err, -EINVAL, "bad cap %u (0..%u percent of one host CPU)", c.cap,
                     100u * SCHED_MAX_WORKERS);
    else if ((rc = config_save(g->dir, &c, err)) == 0) {
        g->cfg.weight = c.weight;   /* strings unchanged: storage stays */
        g->cfg.cap = c.cap;
        if (g->vm)
            vm_set_sched(g->vm, c.weight, c.cap);   /* a running guest: at once */
    }
    guest_close(g);
    return rc;
}

/* ---- queries ---------------------------------------------------------------------- */

static void fill_info(struct guest *g, struct disco_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", g->name);
    info->state = g->state;
    info->agent = g->kind == DISCO_KIND_VM && g->state != DISCO_STOPPED && agent_ready(g->agent);
    snprintf(info->last_exit, sizeof info->last_exit, "%s", g->last_exit);
    info->kind = g->kind;
    info->pid = g->kind == DISCO_KIND_CONTAINER ? ctg_pid(g) : 0;
}

int disco_info(struct disco_host *h, const char *name, struct disco_info *info,
               struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    fill_info(g, info);
    guest_close(g);
    return 0;
}

int disco_list(struct disco_host *h, struct disco_info **out, size_t *n, struct disco_err *err)
{
    err_clear(err);
    *out = NULL;
    *n = 0;
    /* Take references under the host lock, then look at each guest without
     * it, so a guest busy starting does not hold up the whole table. */
    pthread_mutex_lock(&h->lock);
    size_t cnt = h->n;
    struct guest **gs = calloc(cnt ? cnt : 1, sizeof *gs);
    if (!gs) {
        pthread_mutex_unlock(&h->lock);
        return err_set(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cnt; i++) {
        gs[i] = h->guests[i];
        atomic_fetch_add(&gs[i]->refs, 1);
    }
    pthread_mutex_unlock(&h->lock);
    struct disco_info *infos = calloc(cnt ? cnt : 1, sizeof *infos);
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        pthread_mutex_lock(&gs[i]->lock);
        if (infos && !gs[i]->removed)
            fill_info(gs[i], &infos[k++]);
        pthread_mutex_unlock(&gs[i]->lock);
        guest_unref(gs[i]);
    }
    free(gs);
    if (!infos)
        return err_set(err, -ENOMEM, "out of memory");
    *out = infos;
    *n = k;
    return 0;
}

int disco_get_config(struct disco_host *h, const char *name, struct disco_vm_config *cfg,
                     struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->kind == DISCO_KIND_CONTAINER)
        rc = err_set(err, -EINVAL, "guest '%s' is a container (see disco_ct_get_config)",
                     g->name);
    else
        *cfg = g->cfg;
    guest_close(g);
    return rc;
}

int disco_ct_get_config(struct disco_host *h, const char *name, struct disco_ct_config *cfg,
                        struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->kind != DISCO_KIND_CONTAINER)
        rc = err_set(err, -EINVAL, "guest '%s' is a VM, not a container", g->name);
    else
        *cfg = g->ct_cfg;
    guest_close(g);
    return rc;
}

int disco_kind(struct disco_host *h, const char *name, enum disco_kind *kind,
               struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    *kind = g->kind;
    guest_close(g);
    return 0;
}

int disco_stats(struct disco_host *h, const char *name, struct disco_stats *st,
                struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof *st);
    st->state = g->state;
    if (g->kind == DISCO_KIND_CONTAINER) {
        ctg_stats(g, st);
        guest_close(g);
        return 0;
    }
    st->cpus = g->cfg.cpus;
    st->weight = g->cfg.weight;
    st->cap = g->cfg.cap;
    st->mem = g->cfg.mem;
    /* The configured memory parameters, in every state (the effective
     * limit: the configured memory when none is set). */
    st->mem_reservation = g->cfg.mem_reservation;
    st->mem_limit = g->cfg.mem_limit ? g->cfg.mem_limit : g->cfg.mem;
    st->mem_shares = g->cfg.mem_shares;
    if (g->vm) {
        struct vm_stats vs;
        memset(&vs, 0, sizeof vs);
        vm_stats(g->vm, &vs);
        st->uptime_ns = vs.uptime_ns;
        st->cpu_ns = vs.cpu_ns;
        st->instret = vs.instret;
        st->slices = vs.slices;
        st->wakeups = vs.wakeups;
        st->preemptions = vs.preemptions;
        st->parks = vs.parks;
        st->resets = vs.resets;
        st->mem_touched = vs.mem_touched;
        st->mem_resident = vs.mem_resident;
        st->balloon_target = vs.balloon_target;
        st->balloon_actual = vs.balloon_actual;
        st->balloon_reported = vs.balloon_reported;
        st->mem_private = vs.mem_private;
        st->mem_shared = vs.mem_shared;
        st->mem_swapped = vs.mem_swapped;
        st->mem_working_set = vs.mem_working_set;
        st->mem_target = vs.mem_target;
        st->cow_breaks = vs.cow_breaks;
        st->merges = vs.merges;
        st->swap_ins = vs.swap_ins;
        st->swap_outs = vs.swap_outs;
        /* The controller's effective values (0 from a VM it does not
         * manage: keep the configured ones below). */
        if (vs.mem_limit) {
            st->mem_reservation = vs.mem_reservation;
            st->mem_limit = vs.mem_limit;
            st->mem_shares = vs.mem_shares;
        }
        for (unsigned i = 0; i < vs.cpus && i < DISCO_MAX_CPUS; i++)
            st->vcpu[i] = (struct disco_vcpu_stats){
                .cpu_ns = vs.vcpu[i].cpu_ns,
                .instret = vs.vcpu[i].instret,
                .slices = vs.vcpu[i].slices,
                .wakeups = vs.vcpu[i].wakeups,
                .idle = vs.vcpu[i].sleeping,
            };
    }
    bool ask = g->state == DISCO_RUNNING && agent_ready(g->agent);
    pthread_mutex_unlock(&g->lock);
    if (ask) {
        struct agent_meminfo mi;
        if (agent_meminfo(g->agent, &mi, STATS_AGENT_MS, NULL) == 0) {
            st->guest_mem_valid = true;
            st->guest_mem_total = mi.total;
            st->guest_mem_free = mi.free;
            st->guest_mem_available = mi.available;
            st->guest_mem_cached = mi.cached;
        }
    }
    guest_unref(g);
    return 0;
}

void disco_host_mem_stats(struct disco_host *h, struct disco_host_mem_stats *st)
{
    struct mpool_stats ps;
    memset(&ps, 0, sizeof ps);
    mpool_stats(memctl_pool(h->mc), &ps);
    memset(st, 0, sizeof *st);
    st->budget = ps.budget;
    st->used = ps.used_pages * PMAP_PAGE_SIZE;
    st->private_bytes = ps.private_pages * PMAP_PAGE_SIZE;
    st->shared_frames_bytes = ps.shared_frames * PMAP_PAGE_SIZE;
    st->shared_refs_bytes = ps.shared_refs * PMAP_PAGE_SIZE;
    st->saved = ps.saved_pages * PMAP_PAGE_SIZE;
    st->swapped = ps.swapped_pages * PMAP_PAGE_SIZE;
    st->swap_file_bytes = ps.swap_bytes;
    st->pressure_events = ps.pressure_events;
}

int disco_exec(struct disco_host *h, const char *name, const char *const *argv,
               uint64_t timeout_ms, struct disco_exec_result *res, struct disco_err *err)
{
    memset(res, 0, sizeof *res);
    if (!argv || !argv[0])
        return err_set(err, -EINVAL, "exec: no command");
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->state != DISCO_RUNNING) {
        rc = guest_busy(g, "run a command in", err);
        guest_close(g);
        return rc;
    }
    if (g->kind == DISCO_KIND_CONTAINER)
        return ctg_exec(g, argv, timeout_ms, res, err);
    if (!agent_ready(g->agent)) {
        rc = err_set(err, -ENOTCONN, "guest '%s': its agent is not connected", g->name);
        guest_close(g);
        return rc;
    }
    pthread_mutex_unlock(&g->lock);
    struct agent_exec_result ar;
    memset(&ar, 0, sizeof ar);
    rc = agent_exec(g->agent, argv, timeout_ms ? timeout_ms : AGENT_FOREVER, &ar, err);
    if (rc == 0) {
        res->status = ar.status;
        res->out = ar.out;
        res->errout = ar.errout;
        res->out_len = ar.out_len;
        res->err_len = ar.err_len;
        res->truncated = ar.truncated;
    }
    guest_unref(g);
    return rc;
}

void disco_exec_result_free(struct disco_exec_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->errout);
    memset(res, 0, sizeof *res);
}

int disco_wait_agent(struct disco_host *h, const char *name, uint64_t timeout_ms,
                     struct disco_err *err)
{
    struct guest *g;
    int rc = guest_open(h, name, &g, err);
    if (rc < 0)
        return rc;
    if (g->kind == DISCO_KIND_CONTAINER) {
        /* The contract: VM-only. (The daemon's wait_agent op answers for
         * containers itself: a running container's init has exec'd.) */
        rc = err_set(err, -EINVAL, "guest '%s' is a container: it has no agent", g->name);
        guest_close(g);
        return rc;
    }
    uint64_t deadline = deadline_after_ms(timeout_ms);
    for (;;) {
        if (g->removed) {
            rc = err_set(err, -ENOENT, "no guest named '%s'", g->name);
            break;
        }
        if (g->state != DISCO_RUNNING) {
            rc = guest_busy(g, "wait for the agent of", err);
            break;
        }
        if (agent_ready(g->agent))
            break;
        uint64_t now = mono_ns();
        if (now >= deadline) {
            rc = err_set(err, -ETIMEDOUT, "guest '%s': the agent did not connect within %llu ms",
                         g->name, (unsigned long long)timeout_ms);
            break;
        }
        /* Short slices, so a guest that stops meanwhile is noticed. */
        uint64_t left = (deadline - now) / 1000000u + 1;
        pthread_mutex_unlock(&g->lock);
        agent_wait_ready(g->agent, left < WAIT_TICK_MS ? left : WAIT_TICK_MS, NULL);
        pthread_mutex_lock(&g->lock);
    }
    guest_close(g);
    return rc;
}

/* `disco daemon`: a thin layer over libdisco. One thread per client
 * connection reads request lines (one JSON object each), calls libdisco and
 * writes one reply line; the `console` op turns its connection into a raw
 * byte stream. The main thread accepts connections and waits for
 * SIGTERM/SIGINT (through a signalfd: every thread has them blocked). */
#define _GNU_SOURCE
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ct/spawn.h"
#include "disco.h"
#include "mem/mpool.h"
#include "vmm/vm.h"

#define MAX_CLIENTS 128
#define MAX_LINE (1u << 20)             /* longest request line */
#define CONSOLE_BUF (256u << 10)        /* per console client; > DISCO_CONSOLE_REPLAY */
#define CLIENT_STACK (512u << 10)
#define SHUTDOWN_GRACE_MS 10000         /* wait for busy clients on SIGTERM */
#define REPLY_SEND_TIMEOUT_S 30         /* a client not reading its replies is dropped */
#define ACCEPT_BACKOFF_MS 100           /* out of fds: wait before accepting again */
#define MAX_SCAN_BATCH (1u << 20)       /* pages per VM per round: 4 GiB */
#define MAX_SCAN_INTERVAL_MS 3600000u   /* an hour */

struct daemon {
    struct disco_host *host;
    pthread_mutex_t lock;
    pthread_cond_t idle;                /* nclients went down */
    int fds[MAX_CLIENTS];               /* -1: free slot */
    unsigned nclients;
    bool stopping;
};

struct client {
    struct daemon *d;
    int fd, slot;
    char *buf;                          /* unparsed input */
    size_t len, cap;
};

/* ---- errno names ---- */

static const struct {
    int code;
    const char *name;
} errno_names[] = {
    {EINVAL, "EINVAL"},   {ENOENT, "ENOENT"},       {EEXIST, "EEXIST"},
    {EBUSY, "EBUSY"},     {ENOTCONN, "ENOTCONN"},   {ETIMEDOUT, "ETIMEDOUT"},
    {EPROTO, "EPROTO"},   {EMSGSIZE, "EMSGSIZE"},   {EAGAIN, "EAGAIN"},
    {ENOMEM, "ENOMEM"},   {EIO, "EIO"},             {EPERM, "EPERM"},
    {EACCES, "EACCES"},   {ENOSPC, "ENOSPC"},       {EPIPE, "EPIPE"},
    {ENOSYS, "ENOSYS"},   {E2BIG, "E2BIG"},         {ENOBUFS, "ENOBUFS"},
    {EMFILE, "EMFILE"},   {ENAMETOOLONG, "ENAMETOOLONG"}, {ENOEXEC, "ENOEXEC"},
    {EFAULT, "EFAULT"},   {ECANCELED, "ECANCELED"}, {ERANGE, "ERANGE"},
    {EISDIR, "EISDIR"},   {ENOTDIR, "ENOTDIR"},     {EROFS, "EROFS"},
    {EOPNOTSUPP, "EOPNOTSUPP"}, {ESRCH, "ESRCH"},   {EINTR, "EINTR"},
};

const char *daemon_errno_name(int code)
{
    if (code < 0)
        code = -code;
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].code == code)
            return errno_names[i].name;
    return "EIO";
}

/* ---- replies ---- */

static struct json_object *reply_ok(void)
{
    struct json_object *r = json_object_new_object();
    json_object_object_add(r, "ok", json_object_new_boolean(1));
    return r;
}

static struct json_object *reply_err(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct json_object *reply_err(int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct json_object *r = json_object_new_object();
    json_object_object_add(r, "ok", json_object_new_boolean(0));
    json_object_object_add(r, "error", json_object_new_string(msg));
    json_object_object_add(r, "errno", json_object_new_string(daemon_errno_name(code)));
    return r;
}

/* The reply for a libdisco call: ok, or its error. */
static struct json_object *reply_rc(int rc, const struct disco_err *e)
{
    if (rc >= 0)
        return reply_ok();
    return reply_err(rc, "%s", e->msg[0] ? e->msg : strerror(-rc));
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* Send one reply line and free the reply. */
static bool send_reply(int fd, struct json_object *r)
{
    size_t n;
    const char *s = json_object_to_json_string_length(
        r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    bool ok = write_all(fd, s, n) && write_all(fd, "\n", 1);
    json_object_put(r);
    return ok;
}

/* ---- request fields: absent optional fields take their default; a field
 * of the wrong type is an EINVAL reply (returned through *reply). ---- */

static bool get_str(struct json_object *req, const char *key, bool required, const char **out,
                    struct json_object **reply)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
        if (required) {
            *reply = reply_err(EINVAL, "missing field '%s'", key);
            return false;
        }
        *out = NULL;
        return true;
    }
    if (!json_object_is_type(v, json_type_string)) {
        *reply = reply_err(EINVAL, "field '%s' must be a string", key);
        return false;
    }
    *out = json_object_get_string(v);
    return true;
}

static bool get_uint(struct json_object *req, const char *key, uint64_t def, uint64_t max,
                     uint64_t *out, struct json_object **reply)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
        *out = def;
        return true;
    }
    if (!json_object_is_type(v, json_type_int)) {
        *reply = reply_err(EINVAL, "field '%s' must be an integer", key);
        return false;
    }
    errno = 0;
    int64_t i = json_object_get_int64(v);
    if (i < 0 || errno == EINVAL || (uint64_t)i > max) {
        *reply = reply_err(EINVAL, "field '%s' is out of range (0..%llu)", key,
                           (unsigned long long)max);
        return false;
    }
    *out = (uint64_t)i;
    return true;
}

static bool get_bool(struct json_object *req, const char *key, bool *out,
                     struct json_object **reply)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
        *out = false;
        return true;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        *reply = reply_err(EINVAL, "field '%s' must be true or false", key);
        return false;
    }
    *out = json_object_get_boolean(v);
    return true;
}

/* ---- ops ---- */

typedef struct json_object *op_fn(struct daemon *d, struct json_object *req, const char *name);

static struct json_object *op_ping(struct daemon *d, struct json_object *req, const char *name)
{
    (void)d, (void)req, (void)name;
    struct json_object *r = reply_ok();
    json_object_object_add(r, "version", json_object_new_string(DISCO_VERSION));
    return r;
}

/* A guest whose files are missing would only fail at start: say so at
 * create, while the user is looking. */
static int check_file(const char *what, const char *path, bool dev_ok, struct disco_err *e)
{
    struct stat st;
    if (!path)
        return 0;
    if (stat(path, &st) < 0) {
        int en = errno;
        snprintf(e->msg, sizeof e->msg, "%s '%s': %s", what, path, strerror(en));
        return e->code = -en;
    }
    if (!S_ISREG(st.st_mode) && !(dev_ok && S_ISBLK(st.st_mode))) {
        snprintf(e->msg, sizeof e->msg, "%s '%s' is not a regular file", what, path);
        return e->code = -EINVAL;
    }
    return 0;
}

static int check_files(const struct disco_vm_config *cfg, struct disco_err *e)
{
    int rc = check_file("kernel", cfg->kernel, false, e);
    if (!rc)
        rc = check_file("initrd", cfg->initrd, false, e);
    if (!rc)
        rc = check_file("bios", cfg->bios, false, e);
    for (unsigned i = 0; !rc && i < cfg->ndisks; i++)
        rc = check_file("disk", cfg->disks[i], true, e);
    return rc;
}

/* A container's root must exist (and be a directory) at create, too. */
static int check_dir(const char *what, const char *path, struct disco_err *e)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        int en = errno;
        snprintf(e->msg, sizeof e->msg, "%s '%s': %s", what, path, strerror(en));
        return e->code = -en;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(e->msg, sizeof e->msg, "%s '%s' is not a directory", what, path);
        return e->code = -ENOTDIR;
    }
    return 0;
}

/* "kind": "container" in the config makes a container. */
static struct json_object *create_container(struct daemon *d, const char *text)
{
    struct disco_ct_config cfg;
    void *storage = NULL;
    struct disco_err e = {0};
    int rc = disco_ct_config_parse(text, &cfg, &storage, &e);
    if (rc >= 0 && cfg.rootfs)
        rc = check_dir("rootfs", cfg.rootfs, &e);
    if (rc >= 0)
        rc = disco_ct_create(d->host, &cfg, &e);
    free(storage);
    return reply_rc(rc, &e);
}

static struct json_object *op_create(struct daemon *d, struct json_object *req, const char *name)
{
    (void)name;
    struct json_object *c, *k;
    if (!json_object_object_get_ex(req, "config", &c))
        return reply_err(EINVAL, "missing field 'config'");
    if (!json_object_is_type(c, json_type_object))
        return reply_err(EINVAL, "field 'config' must be an object");
    const char *text = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN);
    if (json_object_object_get_ex(c, "kind", &k) && json_object_is_type(k, json_type_string) &&
        !strcmp(json_object_get_string(k), "container"))
        return create_container(d, text);
    struct disco_vm_config cfg;
    void *storage = NULL;
    struct disco_err e = {0};
    int rc = disco_vm_config_parse(text, &cfg, &storage, &e);
    if (rc >= 0)
        rc = check_files(&cfg, &e);
    if (rc >= 0)
        rc = disco_create(d->host, &cfg, &e);
    free(storage);
    return reply_rc(rc, &e);
}

static struct json_object *op_destroy(struct daemon *d, struct json_object *req, const char *name)
{
    struct json_object *r = NULL;
    bool force;
    if (!get_bool(req, "force", &force, &r))
        return r;
    struct disco_err e = {0};
    if (force) {
        /* Stopping a guest that is already stopped is not an error here. */
        struct disco_info info;
        int rc = disco_info(d->host, name, &info, &e);
        if (rc < 0)
            return reply_rc(rc, &e);
        if (info.state != DISCO_STOPPED && (rc = disco_stop(d->host, name, &e)) < 0 &&
            rc != -EBUSY)
            return reply_rc(rc, &e);
        memset(&e, 0, sizeof e);
    }
    return reply_rc(disco_destroy(d->host, name, &e), &e);
}

static struct json_object *op_start(struct daemon *d, struct json_object *req, const char *name)
{
    struct json_object *r = NULL;
    uint64_t wait_ms;
    if (!get_uint(req, "wait_agent_ms", 0, UINT64_MAX >> 1, &wait_ms, &r))
        return r;
    struct disco_err e = {0};
    int rc = disco_start(d->host, name, &e);
    enum disco_kind kind = DISCO_KIND_VM;
    /* A container is ready once started (its init has exec'd). */
    if (rc >= 0 && wait_ms && disco_kind(d->host, name, &kind, NULL) == 0 &&
        kind == DISCO_KIND_VM)
        rc = disco_wait_agent(d->host, name, wait_ms, &e);
    return reply_rc(rc, &e);
}

static struct json_object *op_stop(struct daemon *d, struct json_object *req, const char *name)
{
    (void)req;
    struct disco_err e = {0};
    return reply_rc(disco_stop(d->host, name, &e), &e);
}

static struct json_object *op_pause(struct daemon *d, struct json_object *req, const char *name)
{
    (void)req;
    struct disco_err e = {0};
    return reply_rc(disco_pause(d->host, name, &e), &e);
}

static struct json_object *op_resume(struct daemon *d, struct json_object *req, const char *name)
{
    (void)req;
    struct disco_err e = {0};
    return reply_rc(disco_resume(d->host, name, &e), &e);
}

static struct json_object *op_shutdown(struct daemon *d, struct json_object *req,
                                       const char *name)
{
    struct json_object *r = NULL;
    uint64_t timeout_ms;
    if (!get_uint(req, "timeout_ms", 0, UINT64_MAX >> 1, &timeout_ms, &r))
        return r;
    struct disco_err e = {0};
    bool forced = false;
    int rc = disco_shutdown(d->host, name, timeout_ms, &forced, &e);
    r = reply_rc(rc, &e);
    if (rc >= 0)
        json_object_object_add(r, "forced", json_object_new_boolean(forced));
    return r;
}

static struct json_object *op_reboot(struct daemon *d, struct json_object *req, const char *name)
{
    struct json_object *r = NULL;
    bool force;
    uint64_t timeout_ms;
    if (!get_bool(req, "force", &force, &r) ||
        !get_uint(req, "timeout_ms", 0, UINT64_MAX >> 1, &timeout_ms, &r))
        return r;
    struct disco_err e = {0};
    return reply_rc(disco_reboot(d->host, name, force, timeout_ms, &e), &e);
}

/* `memory`: bytes as an integer, or a size string like --mem ("128M"; a
 * bare number in a string means MiB). */
static struct json_object *op_balloon(struct daemon *d, struct json_object *req,
                                      const char *name)
{
    struct json_object *v;
    uint64_t mem;
    if (!json_object_object_get_ex(req, "memory", &v) || json_object_is_type(v, json_type_null))
        return reply_err(EINVAL, "missing field 'memory'");
    if (json_object_is_type(v, json_type_string)) {
        const char *str = json_object_get_string(v);
        if (vm_parse_size(str, &mem) < 0)
            return reply_err(EINVAL, "bad memory size '%.64s' (e.g. 128M, 1G)", str);
    } else if (json_object_is_type(v, json_type_int)) {
        struct json_object *r = NULL;
        if (!get_uint(req, "memory", 0, UINT64_MAX >> 1, &mem, &r))
            return r;
    } else {
        return reply_err(EINVAL, "field 'memory' must be an integer (bytes) or a size string");
    }
    struct disco_err e = {0};
    return reply_rc(disco_balloon(d->host, name, mem, &e), &e);
}

static struct json_object *op_set(struct daemon *d, struct json_object *req, const char *name)
{
    struct json_object *r = NULL;
    /* A field left out keeps its current value. */
    uint64_t weight, cap;
    if (!get_uint(req, "weight", DISCO_SCHED_KEEP, DISCO_SCHED_KEEP - 1, &weight, &r) ||
        !get_uint(req, "cap", DISCO_SCHED_KEEP, DISCO_SCHED_KEEP - 1, &cap, &r))
        return r;
    struct disco_err e = {0};
    return reply_rc(disco_set_sched(d->host, name, (unsigned)weight, (unsigned)cap, &e), &e);
}

static struct json_object *op_state(struct daemon *d, struct json_object *req, const char *name)
{
    (void)req;
    struct disco_info info;
    struct disco_err e = {0};
    int rc = disco_info(d->host, name, &info, &e);
    struct json_object *r = reply_rc(rc, &e);
    if (rc >= 0) {
        json_object_object_add(r, "state", json_object_new_string(disco_state_name(info.state)));
        json_object_object_add(r, "agent", json_object_new_boolean(info.agent));
        json_object_object_add(r, "last_exit", json_object_new_string(info.last_exit));
        json_object_object_add(r, "kind", json_object_new_string(disco_kind_name(info.kind)));
        if (info.kind == DISCO_KIND_CONTAINER)
            json_object_object_add(r, "pid", json_object_new_int(info.pid));
    }
    return r;
}

static struct json_object *op_list(struct daemon *d, struct json_object *req, const char *name)
{
    (void)req, (void)name;
    struct disco_info *all = NULL;
    size_t n = 0;
    struct disco_err e = {0};
    int rc = disco_list(d->host, &all, &n, &e);
    struct json_object *r = reply_rc(rc, &e);
    if (rc >= 0) {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            struct json_object *g = json_object_new_object();
            json_object_object_add(g, "name", json_object_new_string(all[i].name));
            json_object_object_add(g, "state",
                                   json_object_new_string(disco_state_name(all[i].state)));
            json_object_object_add(g, "agent", json_object_new_boolean(all[i].agent));
            json_object_object_add(g, "kind",
                                   json_object_new_string(disco_kind_name(all[i].kind)));
            if (all[i].kind == DISCO_KIND_CONTAINER)
                json_object_object_add(g, "pid", json_object_new_int(all[i].pid));
            json_object_array_add(arr, g);
        }
        json_object_object_add(r, "guests", arr);
    }
    free(all);
    return r;
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_uint64(v));
}

static struct json_object *op_stats(struct daemon *d, struct json_object *req, const char *name)
{
    (void)req;
    struct disco_stats st;
    struct disco_err e = {0};
    int rc = disco_stats(d->host, name, &st, &e);
    struct json_object *r = reply_rc(rc, &e);
    if (rc < 0)
        return r;
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, "state", json_object_new_string(disco_state_name(st.state)));
    json_object_object_add(s, "kind", json_object_new_string(disco_kind_name(st.kind)));
    if (st.kind == DISCO_KIND_CONTAINER) {
        /* Limits of UINT64_MAX ("none") are left out. */
        add_u64(s, "weight", st.weight);
        add_u64(s, "cap", st.cap);
        add_u64(s, "uptime_ns", st.uptime_ns);
        add_u64(s, "cpu_ns", st.cpu_ns);
        add_u64(s, "mem_resident", st.mem_resident);
        add_u64(s, "mem_limit", st.mem_limit);
        if (st.ct_mem_max != UINT64_MAX)
            add_u64(s, "ct_mem_max", st.ct_mem_max);
        add_u64(s, "ct_mem_peak", st.ct_mem_peak);
        add_u64(s, "ct_oom_kills", st.ct_oom_kills);
        add_u64(s, "ct_mem_failcnt", st.ct_mem_failcnt);
        add_u64(s, "ct_pids", st.ct_pids);
        if (st.ct_pids_max != UINT64_MAX)
            add_u64(s, "ct_pids_max", st.ct_pids_max);
        add_u64(s, "ct_cpu_throttled_ns", st.ct_cpu_throttled_ns);
        add_u64(s, "ct_nr_throttled", st.ct_nr_throttled);
        add_u64(s, "ct_io_read_bytes", st.ct_io_read_bytes);
        add_u64(s, "ct_io_write_bytes", st.ct_io_write_bytes);
        json_object_object_add(r, "stats", s);
        return r;
    }
    add_u64(s, "cpus", st.cpus);
    add_u64(s, "weight", st.weight);
    add_u64(s, "cap", st.cap);
    add_u64(s, "uptime_ns", st.uptime_ns);
    add_u64(s, "cpu_ns", st.cpu_ns);
    add_u64(s, "instret", st.instret);
    add_u64(s, "slices", st.slices);
    add_u64(s, "wakeups", st.wakeups);
    add_u64(s, "preemptions", st.preemptions);
    add_u64(s, "parks", st.parks);
    add_u64(s, "resets", st.resets);
    add_u64(s, "mem", st.mem);
    add_u64(s, "mem_touched", st.mem_touched);
    add_u64(s, "mem_resident", st.mem_resident);
    add_u64(s, "balloon_target", st.balloon_target);
    add_u64(s, "balloon_actual", st.balloon_actual);
    add_u64(s, "balloon_reported", st.balloon_reported);
    add_u64(s, "mem_private", st.mem_private);
    add_u64(s, "mem_shared", st.mem_shared);
    add_u64(s, "mem_swapped", st.mem_swapped);
    add_u64(s, "mem_working_set", st.mem_working_set);
    add_u64(s, "mem_target", st.mem_target);
    add_u64(s, "mem_reservation", st.mem_reservation);
    add_u64(s, "mem_limit", st.mem_limit);
    add_u64(s, "mem_shares", st.mem_shares);
    add_u64(s, "cow_breaks", st.cow_breaks);
    add_u64(s, "merges", st.merges);
    add_u64(s, "swap_ins", st.swap_ins);
    add_u64(s, "swap_outs", st.swap_outs);
    if (st.guest_mem_valid) {
        add_u64(s, "guest_mem_total", st.guest_mem_total);
        add_u64(s, "guest_mem_free", st.guest_mem_free);
        add_u64(s, "guest_mem_available", st.guest_mem_available);
        add_u64(s, "guest_mem_cached", st.guest_mem_cached);
    }
    struct json_object *vc = json_object_new_array();
    for (unsigned i = 0; i < st.cpus && i < DISCO_MAX_CPUS; i++) {
        struct json_object *o = json_object_new_object();
        add_u64(o, "cpu_ns", st.vcpu[i].cpu_ns);
        add_u64(o, "instret", st.vcpu[i].instret);
        add_u64(o, "slices", st.vcpu[i].slices);
        add_u64(o, "wakeups", st.vcpu[i].wakeups);
        json_object_object_add(o, "idle", json_object_new_boolean(st.vcpu[i].idle));
        json_object_array_add(vc, o);
    }
    json_object_object_add(s, "vcpus", vc);
    json_object_object_add(r, "stats", s);
    return r;
}

/* The host's memory pool: bytes, apart from pressure_events. */
static struct json_object *op_host_stats(struct daemon *d, struct json_object *req,
                                         const char *name)
{
    (void)req, (void)name;
    struct disco_host_mem_stats ms;
    disco_host_mem_stats(d->host, &ms);
    struct json_object *r = reply_ok(), *o = json_object_new_object();
    add_u64(o, "budget", ms.budget);
    add_u64(o, "used", ms.used);
    add_u64(o, "private", ms.private_bytes);
    add_u64(o, "shared_frames", ms.shared_frames_bytes);
    add_u64(o, "shared_refs", ms.shared_refs_bytes);
    add_u64(o, "saved", ms.saved);
    add_u64(o, "swapped", ms.swapped);
    add_u64(o, "swap_file", ms.swap_file_bytes);
    add_u64(o, "pressure_events", ms.pressure_events);
    json_object_object_add(r, "host", o);
    return r;
}

static struct json_object *op_exec(struct daemon *d, struct json_object *req, const char *name)
{
    struct json_object *r = NULL, *a;
    uint64_t timeout_ms;
    if (!get_uint(req, "timeout_ms", 0, UINT64_MAX >> 1, &timeout_ms, &r))
        return r;
    if (!json_object_object_get_ex(req, "argv", &a))
        return reply_err(EINVAL, "missing field 'argv'");
    if (!json_object_is_type(a, json_type_array))
        return reply_err(EINVAL, "field 'argv' must be an array of strings");
    size_t n = json_object_array_length(a);
    if (n == 0)
        return reply_err(EINVAL, "field 'argv' is empty: no command to run");
    const char **argv = calloc(n + 1, sizeof *argv);
    if (!argv)
        return reply_err(ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(a, i);
        if (!json_object_is_type(s, json_type_string)) {
            free(argv);
            return reply_err(EINVAL, "field 'argv' must be an array of strings");
        }
        argv[i] = json_object_get_string(s);
    }
    struct disco_exec_result res;
    memset(&res, 0, sizeof res);
    struct disco_err e = {0};
    int rc = disco_exec(d->host, name, argv, timeout_ms, &res, &e);
    free(argv);
    r = reply_rc(rc, &e);
    if (rc >= 0) {
        json_object_object_add(r, "status", json_object_new_int(res.status));
        json_object_object_add(r, "stdout", json_object_new_string_len(
                                                (const char *)(res.out ? res.out : (uint8_t *)""),
                                                (int)res.out_len));
        json_object_object_add(r, "stderr", json_object_new_string_len(
                                                (const char *)(res.errout ? res.errout
                                                                          : (uint8_t *)""),
                                                (int)res.err_len));
        json_object_object_add(r, "truncated", json_object_new_boolean(res.truncated));
        disco_exec_result_free(&res);
    }
    return r;
}

static struct json_object *op_wait_agent(struct daemon *d, struct json_object *req,
                                         const char *name)
{
    struct json_object *r = NULL;
    uint64_t timeout_ms;
    if (!get_uint(req, "timeout_ms", 120000, UINT64_MAX >> 1, &timeout_ms, &r))
        return r;
    struct disco_err e = {0};
    /* A container has no agent; it is ready when it runs (`start --wait`
     * works for both kinds). */
    struct disco_info info;
    int rc = disco_info(d->host, name, &info, &e);
    if (rc >= 0 && info.kind == DISCO_KIND_CONTAINER)
        return info.state == DISCO_RUNNING
                   ? reply_ok()
                   : reply_err(EBUSY, "cannot wait for container '%s': it is %s", name,
                               disco_state_name(info.state));
    return reply_rc(disco_wait_agent(d->host, name, timeout_ms, &e), &e);
}

/* ---- container-only ops ---- */

static struct json_object *op_add_device(struct daemon *d, struct json_object *req,
                                         const char *name)
{
    struct json_object *r = NULL;
    const char *path, *type;
    uint64_t major, minor, mode;
    if (!get_str(req, "path", true, &path, &r) || !get_str(req, "type", true, &type, &r) ||
        !get_uint(req, "major", 0, 4095, &major, &r) ||
        !get_uint(req, "minor", 0, 0xfffff, &minor, &r) ||
        !get_uint(req, "mode", 0666, 0777, &mode, &r))
        return r;
    if (strcmp(type, "c") && strcmp(type, "b"))
        return reply_err(EINVAL, "field 'type' must be \"c\" or \"b\"");
    struct disco_err e = {0};
    return reply_rc(disco_add_device_node(d->host, name, path, type[0], (unsigned)major,
                                          (unsigned)minor, (unsigned)mode, &e),
                    &e);
}

static struct json_object *op_attach_interface(struct daemon *d, struct json_object *req,
                                               const char *name)
{
    struct json_object *r = NULL;
    const char *ifname, *as;
    if (!get_str(req, "ifname", true, &ifname, &r) || !get_str(req, "as", false, &as, &r))
        return r;
    struct disco_err e = {0};
    return reply_rc(disco_attach_interface(d->host, name, ifname, as, &e), &e);
}

static struct json_object *op_snapshot(struct daemon *d, struct json_object *req,
                                       const char *name)
{
    struct json_object *r = NULL;
    const char *new_name;
    bool overlay;
    if (!get_str(req, "new_name", true, &new_name, &r) || !get_bool(req, "overlay", &overlay, &r))
        return r;
    struct disco_err e = {0};
    return reply_rc(disco_ct_snapshot(d->host, name, new_name, overlay, &e), &e);
}

static struct json_object *op_checkpoint(struct daemon *d, struct json_object *req,
                                         const char *name)
{
    struct json_object *r = NULL;
    const char *dir;
    bool stop;
    if (!get_str(req, "dir", true, &dir, &r) || !get_bool(req, "stop", &stop, &r))
        return r;
    struct disco_err e = {0};
    return reply_rc(disco_ct_checkpoint(d->host, name, dir, stop, &e), &e);
}

static struct json_object *op_restore(struct daemon *d, struct json_object *req,
                                      const char *name)
{
    struct json_object *r = NULL;
    const char *dir;
    if (!get_str(req, "dir", true, &dir, &r))
        return r;
    struct disco_err e = {0};
    return reply_rc(disco_ct_restore(d->host, name, dir, &e), &e);
}

static const struct {
    const char *op;
    op_fn *fn;
    bool needs_name;
} ops[] = {
    {"ping", op_ping, false},         {"create", op_create, false},
    {"destroy", op_destroy, true},    {"start", op_start, true},
    {"stop", op_stop, true},          {"shutdown", op_shutdown, true},
    {"reboot", op_reboot, true},      {"pause", op_pause, true},
    {"resume", op_resume, true},      {"set", op_set, true},
    {"state", op_state, true},        {"list", op_list, false},
    {"stats", op_stats, true},        {"exec", op_exec, true},
    {"wait_agent", op_wait_agent, true}, {"balloon", op_balloon, true},
    {"host_stats", op_host_stats, false},
    {"add_device", op_add_device, true}, {"attach_interface", op_attach_interface, true},
    {"snapshot", op_snapshot, true},  {"checkpoint", op_checkpoint, true},
    {"restore", op_restore, true},
    {"console", NULL, true},          /* handled by the connection: it changes mode */
};

/* ---- console streaming: the output callback only copies into a bounded
 * ring (never blocks the guest; what does not fit is dropped and counted);
 * a writer thread drains the ring into the socket. ---- */

struct constream {
    int fd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t ring[CONSOLE_BUF];
    size_t head, len;
    uint64_t dropped;
    bool closed;                        /* the guest stopped: flush and hang up */
    bool done;                          /* the client went away: flush and exit */
};

static void con_output(void *ctx, const uint8_t *buf, size_t n)
{
    struct constream *cs = ctx;
    pthread_mutex_lock(&cs->lock);
    size_t room = CONSOLE_BUF - cs->len;
    size_t take = n < room ? n : room;
    cs->dropped += n - take;
    for (size_t i = 0; i < take;) {
        size_t tail = (cs->head + cs->len) % CONSOLE_BUF;
        size_t chunk = CONSOLE_BUF - tail;
        if (chunk > take - i)
            chunk = take - i;
        memcpy(cs->ring + tail, buf + i, chunk);
        cs->len += chunk;
        i += chunk;
    }
    if (take)
        pthread_cond_signal(&cs->cond);
    pthread_mutex_unlock(&cs->lock);
}

static void con_closed(void *ctx)
{
    struct constream *cs = ctx;
    pthread_mutex_lock(&cs->lock);
    cs->closed = true;
    pthread_cond_signal(&cs->cond);
    pthread_mutex_unlock(&cs->lock);
}

static void *con_writer(void *arg)
{
    struct constream *cs = arg;
    bool broken = false;
    pthread_mutex_lock(&cs->lock);
    for (;;) {
        while (!cs->len && !cs->closed && !cs->done)
            pthread_cond_wait(&cs->cond, &cs->lock);
        if (!cs->len)
            break;
        /* Only this thread consumes, so the chunk stays put while unlocked. */
        size_t chunk = CONSOLE_BUF - cs->head;
        if (chunk > cs->len)
            chunk = cs->len;
        const uint8_t *p = cs->ring + cs->head;
        pthread_mutex_unlock(&cs->lock);
        if (!broken && !write_all(cs->fd, p, chunk))
            broken = true;   /* the client is gone: keep draining, drop */
        pthread_mutex_lock(&cs->lock);
        cs->head = (cs->head + chunk) % CONSOLE_BUF;
        cs->len -= chunk;
    }
    bool hang_up = cs->closed || broken;
    pthread_mutex_unlock(&cs->lock);
    /* Wakes the connection thread's read, which then detaches. */
    if (hang_up)
        shutdown(cs->fd, SHUT_RDWR);
    return NULL;
}

/* Feed client bytes to the guest; the UART queue may be full for a while,
 * so retry briefly, then drop rather than stall the connection forever. */
static void con_input(struct disco_console *con, const uint8_t *p, size_t n)
{
    int tries = 0;
    while (n && tries < 1000) {
        int w = disco_console_write(con, p, n);
        if (w < 0)
            return;
        if (w == 0) {
            tries++;
            nanosleep(&(struct timespec){0, 1000000}, NULL);
            continue;
        }
        p += w;
        n -= (size_t)w;
        tries = 0;
    }
}

/* The `console` op: reply, then stream until either side closes. Returns
 * true if the connection is done (streamed, or broken); an error reply
 * leaves it in request mode. */
static bool serve_console(struct client *c, struct json_object *req)
{
    struct json_object *r = NULL;
    const char *name;
    bool want_write;
    if (!get_str(req, "name", true, &name, &r) || !get_bool(req, "write", &want_write, &r))
        return !send_reply(c->fd, r);
    struct constream *cs = calloc(1, sizeof *cs);
    if (!cs)
        return !send_reply(c->fd, reply_err(ENOMEM, "out of memory"));
    bool done = true;
    cs->fd = c->fd;
    pthread_mutex_init(&cs->lock, NULL);
    pthread_cond_init(&cs->cond, NULL);
    static const struct disco_console_ops cops = {.output = con_output, .closed = con_closed};
    struct disco_err e = {0};
    bool writer = false;
    /* Output may arrive at once: it waits in the ring until the reply is out
     * and the writer thread runs. */
    struct disco_console *con =
        disco_console_attach(c->d->host, name, &cops, cs, want_write, &writer, &e);
    if (!con) {
        done = !send_reply(c->fd, reply_rc(e.code < 0 ? e.code : -EIO, &e));
        goto out;
    }
    r = reply_ok();
    json_object_object_add(r, "writer", json_object_new_boolean(writer));
    pthread_t wt;
    bool have_writer = send_reply(c->fd, r);
    if (have_writer) {
        /* From here the writer thread owns output and drops rather than
         * blocks: no send timeout (a paused terminal is not a dead one). */
        struct timeval none = {0};
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
        have_writer = pthread_create(&wt, NULL, con_writer, cs) == 0;
    }
    if (have_writer) {
        /* Bytes the client sent right behind the request line are input. */
        if (writer && c->len)
            con_input(con, (const uint8_t *)c->buf, c->len);
        c->len = 0;
        uint8_t buf[4096];
        for (;;) {
            ssize_t n = read(c->fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (writer)
                con_input(con, buf, (size_t)n);
        }
    }
    disco_console_detach(con);
    if (have_writer) {
        pthread_mutex_lock(&cs->lock);
        cs->done = true;
        pthread_cond_signal(&cs->cond);
        pthread_mutex_unlock(&cs->lock);
        pthread_join(wt, NULL);
    }
    if (cs->dropped)
        fprintf(stderr, "disco daemon: console of %s: dropped %llu bytes for a slow client\n",
                name, (unsigned long long)cs->dropped);
out:
    pthread_cond_destroy(&cs->cond);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
    return done;
}

/* ---- connections ---- */

/* Handle one request line. Returns false when the connection is done (the
 * console op consumed it). */
static bool handle_line(struct client *c, const char *line, size_t n)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return send_reply(c->fd, reply_err(ENOMEM, "out of memory"));
    struct json_object *req = json_tokener_parse_ex(tok, line, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    /* A complete value must use the whole line (json-c stops after it). */
    if (req && jerr == json_tokener_success && (size_t)json_tokener_get_parse_end(tok) < n) {
        size_t end = json_tokener_get_parse_end(tok);
        while (end < n && (line[end] == ' ' || line[end] == '\t'))
            end++;
        if (end < n) {
            json_object_put(req);
            req = NULL;
            jerr = json_tokener_error_parse_unexpected;
        }
    }
    json_tokener_free(tok);
    if (!req || jerr != json_tokener_success) {
        json_object_put(req);
        return send_reply(c->fd, reply_err(EPROTO, "malformed JSON: %s",
                                           jerr == json_tokener_continue
                                               ? "incomplete value"
                                               : json_tokener_error_desc(jerr)));
    }
    struct json_object *r = NULL, *opv;
    bool keep = true;
    if (!json_object_is_type(req, json_type_object)) {
        r = reply_err(EPROTO, "a request must be a JSON object");
    } else if (!json_object_object_get_ex(req, "op", &opv)) {
        r = reply_err(EINVAL, "missing field 'op'");
    } else if (!json_object_is_type(opv, json_type_string)) {
        r = reply_err(EINVAL, "field 'op' must be a string");
    } else {
        const char *op = json_object_get_string(opv);
        size_t i;
        for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!strcmp(ops[i].op, op))
                break;
        const char *name = NULL;
        if (i == sizeof ops / sizeof ops[0]) {
            r = reply_err(EINVAL, "unknown op '%.64s'", op);
        } else if (!ops[i].fn) {
            keep = !serve_console(c, req);
        } else if (ops[i].needs_name && !get_str(req, "name", true, &name, &r)) {
            /* r holds the error */
        } else {
            r = ops[i].fn(c->d, req, name);
        }
    }
    if (r && !send_reply(c->fd, r))
        keep = false;
    json_object_put(req);
    return keep;
}

static void client_release(struct client *c)
{
    struct daemon *d = c->d;
    pthread_mutex_lock(&d->lock);
    d->fds[c->slot] = -1;
    d->nclients--;
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
    close(c->fd);
    free(c->buf);
    free(c);
}

static void *client_thread(void *arg)
{
    struct client *c = arg;
    for (;;) {
        /* Every complete line in the buffer first. */
        char *nl;
        while ((nl = memchr(c->buf, '\n', c->len))) {
            size_t n = (size_t)(nl - c->buf);
            size_t rest = c->len - n - 1;
            size_t ln = n;
            if (ln && c->buf[ln - 1] == '\r')
                ln--;
            /* Take the line out first: the console op treats what follows
             * it as raw input. */
            char *line = malloc(ln + 1);
            if (!line)
                goto done;
            memcpy(line, c->buf, ln);
            line[ln] = '\0';
            memmove(c->buf, nl + 1, rest);
            c->len = rest;
            bool blank = strspn(line, " \t") == ln;
            bool keep = blank || handle_line(c, line, ln);
            free(line);
            if (!keep)
                goto done;
        }
        if (c->len > MAX_LINE) {
            send_reply(c->fd, reply_err(EMSGSIZE, "request line longer than %u bytes", MAX_LINE));
            goto done;
        }
        if (c->len == c->cap) {
            size_t ncap = c->cap * 2;
            if (ncap > MAX_LINE + 1)
                ncap = MAX_LINE + 1;
            char *nb = realloc(c->buf, ncap);
            if (!nb)
                goto done;
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        c->len += (size_t)n;
    }
done:
    client_release(c);
    return NULL;
}

/* Returns -1 when the daemon should back off before accepting again: out
 * of file descriptors or memory (the listener stays readable, so accepting
 * again at once would spin). */
static int accept_client(struct daemon *d, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ? -1 : 0;
    /* A client that stops reading its replies must not hold a connection
     * thread forever (console streams clear this: they never block). */
    struct timeval snd = {.tv_sec = REPLY_SEND_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
    pthread_mutex_lock(&d->lock);
    int slot = -1;
    for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
        if (d->fds[i] < 0)
            slot = i;
    if (slot >= 0) {
        d->fds[slot] = fd;
        d->nclients++;
    }
    pthread_mutex_unlock(&d->lock);
    if (slot < 0) {
        /* Small enough for the socket buffer: this cannot block. */
        struct json_object *r =
            reply_err(EAGAIN, "too many clients (at most %d connections)", MAX_CLIENTS);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        send_reply(fd, r);
        close(fd);
        return 0;
    }
    struct client *c = calloc(1, sizeof *c);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, CLIENT_STACK);
    pthread_t t;
    if (c) {
        c->d = d;
        c->fd = fd;
        c->slot = slot;
        c->cap = 4096;
        c->buf = malloc(c->cap);
    }
    if (!c || !c->buf || pthread_create(&t, &attr, client_thread, c) != 0) {
        if (c) {
            free(c->buf);
            free(c);
        }
        pthread_mutex_lock(&d->lock);
        d->fds[slot] = -1;
        d->nclients--;
        pthread_mutex_unlock(&d->lock);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        send_reply(fd, reply_err(ENOMEM, "cannot serve another client"));
        close(fd);
    }
    pthread_attr_destroy(&attr);
    return 0;
}

/* ---- startup ---- */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("disco: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_RUNTIME;
}

static const char daemon_usage[] =
    "usage: disco daemon [--socket PATH] [--state-dir DIR] [--workers N] [--slice-ms N]\n"
    "                    [--mem-budget SIZE] [--swap-dir DIR] [--scan-batch N]\n"
    "                    [--scan-interval-ms N] [--scan-cpu-pct N] [--idle-tax PCT]\n"
    "\n"
    "Run the disco daemon in the foreground: it owns every VM and container of the\n"
    "host and serves the control socket the other disco commands talk to\n"
    "(docs/FLEET.md, docs/CONTAINERS.md).\n"
    "\n"
    "  --socket PATH     control socket (default $DISCO_SOCKET, else " DISCO_DEFAULT_SOCKET ")\n"
    "  --state-dir DIR   VM configs and console logs (default $DISCO_STATE_DIR, else\n"
    "                    /var/lib/disco)\n"
    "  --workers N       vCPU worker threads (default: one per host CPU)\n"
    "  --slice-ms N      scheduler time slice in milliseconds (default 10)\n"
    "\n"
    "Memory overcommit (docs/MEMORY.md):\n"
    "  --mem-budget SIZE host memory for all guests' RAM, e.g. 4G (default: 3/4 of the\n"
    "                    host's RAM; at least 64M, at most the host's RAM)\n"
    "  --swap-dir DIR    where disco's swap file goes (default: the state directory);\n"
    "                    the file is unlinked at once, nothing is left behind\n"
    "  --scan-batch N    pages the sharing scanner looks at per VM per round (default 512)\n"
    "  --scan-interval-ms N  time between scanner rounds (default 100)\n"
    "  --scan-cpu-pct N  the scanner's CPU budget, percent of one host CPU, 1..100\n"
    "                    (default 10)\n"
    "  --idle-tax PCT    idle-memory tax, 0..99 (default 75): how much less idle\n"
    "                    memory counts when deciding whom to reclaim from\n"
    "\n"
    "SIGTERM or SIGINT hard-stops the guests and exits; their configs stay.\n"
    "It runs from a sealed in-memory copy of its binary (CVE-2019-5736).\n";

static unsigned long parse_num(const char *opt, const char *s, unsigned long min,
                               unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < min || v > max)
        cli_die_usage("daemon", "%s: '%s' is not a number between %lu and %lu", opt, s, min, max);
    return v;
}

/* --mem-budget: a size like --mem, within what the pool accepts (so a typo
 * is a usage error, not a failed start). */
static uint64_t parse_budget(const char *s)
{
    uint64_t v;
    if (vm_parse_size(s, &v) < 0)
        cli_die_usage("daemon", "--mem-budget: '%s' is not a size (examples: 512M, 4G)", s);
    if (v < MPOOL_MIN_BUDGET)
        cli_die_usage("daemon", "--mem-budget: %s is too small (at least %llu MiB)", s,
                      (unsigned long long)(MPOOL_MIN_BUDGET >> 20));
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
    if (ram && v > ram)
        cli_die_usage("daemon", "--mem-budget: %s is more than the host's RAM (%llu MiB)", s,
                      (unsigned long long)(ram >> 20));
    return v;
}

/* mkdir -p; directories it creates are 0700 (the socket is root-only). */
static int make_dirs(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return -ENAMETOOLONG;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return -errno;
            *s = c;
            if (!c)
                break;
        }
    }
    return 0;
}

static void fill_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path, path, strlen(path) + 1);
}

/* 0 if the path is free (a stale socket is removed), or an error. */
static int claim_socket_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : fail("%s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return fail("%s exists and is not a socket; not replacing it", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket: %s", strerror(errno));
    struct sockaddr_un a;
    fill_addr(&a, path);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    if (rc == 0)
        return fail("another disco daemon is already listening on %s", path);
    if (e != ECONNREFUSED)
        return fail("%s: %s", path, strerror(e));
    if (unlink(path) < 0 && errno != ENOENT)
        return fail("cannot remove the stale socket %s: %s", path, strerror(errno));
    return 0;
}

static int listen_on(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un a;
    fill_addr(&a, path);
    /* Created 0600 from the start: no window where others could connect. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    umask(old);
    if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
        e = rc < 0 ? e : errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Stop everything the clients may be waiting on, wake their threads and give
 * them a moment; true if they all finished. */
static bool drain_clients(struct daemon *d)
{
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (d->fds[i] >= 0)
            shutdown(d->fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&d->lock);
    /* A client blocked in exec, wait_agent or shutdown returns once its
     * guest stops. */
    struct disco_info *all = NULL;
    size_t n = 0;
    if (disco_list(d->host, &all, &n, NULL) >= 0)
        for (size_t i = 0; i < n; i++)
            if (all[i].state != DISCO_STOPPED)
                disco_stop(d->host, all[i].name, NULL);
    free(all);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SHUTDOWN_GRACE_MS / 1000;
    pthread_mutex_lock(&d->lock);
    while (d->nclients) {
        /* Connections accepted meanwhile were shut down above or will see
         * the closed listener; re-shut in case one slipped in. */
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (d->fds[i] >= 0)
                shutdown(d->fds[i], SHUT_RDWR);
        if (pthread_cond_timedwait(&d->idle, &d->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool idle = d->nclients == 0;
    pthread_mutex_unlock(&d->lock);
    return idle;
}

/* CVE-2019-5736: a container's process must not be able to write our
 * binary through /proc/<pid>/exe. Re-run from a sealed in-memory copy,
 * before any thread exists. Returns only if that failed. */
static int seal_binary(int argc, char **argv)
{
    if (ct_self_is_sealed())
        return 0;
    char **av = calloc((size_t)argc + 3, sizeof *av);
    if (!av)
        return fail("out of memory");
    av[0] = program_invocation_name;   /* main's argv[0]: what main dispatches on */
    av[1] = "daemon";
    for (int i = 0; i < argc; i++)
        av[i + 2] = argv[i];
    struct disco_err e = {0};
    int rc = ct_exec_from_sealed_copy(av, environ, &e);
    free(av);
    if (rc == 0)
        return 0;
    return fail("cannot run from a sealed copy of the disco binary, which protects it from "
                "containers (CVE-2019-5736): %s; not starting",
                e.msg[0] ? e.msg : strerror(-rc));
}

int daemon_main(int argc, char **argv)
{
    /* First: this re-executes the program. Refusing to start when it
     * fails (rather than running containers unprotected) is deliberate. */
    if (seal_binary(argc, argv))
        return EXIT_RUNTIME;
    const char *sock = getenv("DISCO_SOCKET");
    if (!sock || !*sock)
        sock = DISCO_DEFAULT_SOCKET;
    struct disco_host_config hc = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(daemon_usage, stdout);
            return 0;
        }
        static const char *const opts[] = {
            "--socket",     "--state-dir",  "--workers",          "--slice-ms",
            "--mem-budget", "--swap-dir",   "--scan-batch",       "--scan-interval-ms",
            "--scan-cpu-pct", "--idle-tax",
        };
        const char *opt = NULL, *val = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            size_t l = strlen(opts[k]);
            if (!strncmp(a, opts[k], l) && (a[l] == '\0' || a[l] == '=')) {
                opt = opts[k];
                if (a[l] == '=')
                    val = a + l + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    cli_die_usage("daemon", "%s needs a value", opt);
                break;
            }
        }
        if (!opt)
            cli_die_usage("daemon", strncmp(a, "--", 2) ? "unexpected argument '%s'" : "unknown option '%s'",
                      a);
        if (!strcmp(opt, "--socket")) {
            if (!*val)
                cli_die_usage("daemon", "--socket needs a path");
            sock = val;
        } else if (!strcmp(opt, "--state-dir")) {
            if (!*val)
                cli_die_usage("daemon", "--state-dir needs a directory");
            hc.state_dir = val;
        } else if (!strcmp(opt, "--workers")) {
            hc.workers = (unsigned)parse_num(opt, val, 1, 1024);
        } else if (!strcmp(opt, "--slice-ms")) {
            hc.slice_ns = parse_num(opt, val, 1, 10000) * 1000000ull;
        } else if (!strcmp(opt, "--mem-budget")) {
            hc.mem_budget = parse_budget(val);
        } else if (!strcmp(opt, "--swap-dir")) {
            struct stat st;
            if (!*val)
                cli_die_usage("daemon", "--swap-dir needs a directory");
            if (stat(val, &st) < 0)
                cli_die_usage("daemon", "--swap-dir: %s: %s", val, strerror(errno));
            if (!S_ISDIR(st.st_mode))
                cli_die_usage("daemon", "--swap-dir: %s is not a directory", val);
            hc.swap_dir = val;
        } else if (!strcmp(opt, "--scan-batch")) {
            hc.scan_batch = (unsigned)parse_num(opt, val, 1, MAX_SCAN_BATCH);
        } else if (!strcmp(opt, "--scan-interval-ms")) {
            hc.scan_interval_ns = parse_num(opt, val, 1, MAX_SCAN_INTERVAL_MS) * 1000000ull;
        } else if (!strcmp(opt, "--scan-cpu-pct")) {
            hc.scan_cpu_pct = (unsigned)parse_num(opt, val, 1, 100);
        } else {
            hc.idle_tax_pct = (unsigned)parse_num(opt, val, 0, 99);
            hc.idle_tax_set = true;
        }
    }
    if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        cli_die_usage("daemon", "--socket: '%s' is too long for a unix socket path", sock);

    /* Every thread (libdisco's included) inherits this mask; the main
     * thread takes the signals through a signalfd. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0)
        return fail("signalfd: %s", strerror(errno));

    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", sock);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int rc = make_dirs(dir);
        if (rc < 0)
            return fail("cannot create the socket directory %s: %s", dir, strerror(-rc));
    }
    if (claim_socket_path(sock))
        return EXIT_RUNTIME;

    static struct daemon d;
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.idle, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        d.fds[i] = -1;
    struct disco_err e = {0};
    d.host = disco_host_new(&hc, &e);
    if (!d.host)
        return fail("%s", e.msg[0] ? e.msg : "cannot open the host");
    const char *warn = disco_host_warnings(d.host);
    if (warn)
        fprintf(stderr, "disco daemon: warning: %s\n", warn);
    int lfd = listen_on(sock);
    if (lfd < 0) {
        disco_host_free(d.host);
        return fail("cannot listen on %s: %s", sock, strerror(-lfd));
    }
    fprintf(stderr, "disco daemon: listening on %s\n", sock);

    int sig = 0;
    while (!sig) {
        struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "disco daemon: poll: %s\n", strerror(errno));
            break;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                sig = (int)si.ssi_signo;
        }
        if (!sig && (p[0].revents & POLLIN) && accept_client(&d, lfd) < 0) {
            struct pollfd ps = {.fd = sfd, .events = POLLIN};
            poll(&ps, 1, ACCEPT_BACKOFF_MS);   /* signals still end the wait */
        }
    }
    close(lfd);
    unlink(sock);
    fprintf(stderr, "disco daemon: %s: stopping the guests\n", sig ? strsignal(sig) : "error");
    if (drain_clients(&d)) {
        disco_host_free(d.host);
    } else {
        /* A client thread is still inside libdisco: freeing the host under
         * it would be worse than leaving; the process exit ends the VMs. */
        fprintf(stderr, "disco daemon: %u clients still busy; exiting without waiting\n",
                d.nclients);
    }
    close(sfd);
    fprintf(stderr, "disco daemon: stopped\n");
    return 0;
}

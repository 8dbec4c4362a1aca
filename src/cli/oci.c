/* `disco oci` / disco-oci: an OCI runtime command line that podman and
 * conmon drive like runc (docs/OCI.md). This file: the global options, the
 * verb table, error reporting (stderr and the --log file, JSON lines for
 * conmon), option parsing and the state directory of a container. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/oci.h"
#include "ct/cgroup.h"

static const char oci_usage_text[] =
    "usage: disco-oci [GLOBAL OPTIONS] VERB [OPTIONS] [ID] ...\n"
    "       (also `disco oci ...`)\n"
    "\n"
    "An OCI runtime (runtime-spec " OCI_SPEC_VERSION ") with runc's command line.\n"
    "\n"
    "Global options:\n"
    "  --root DIR          state directory (default /run/disco-oci; not root:\n"
    "                      $XDG_RUNTIME_DIR/disco-oci)\n"
    "  --log FILE          also write errors (and warnings) to FILE\n"
    "  --log-format FMT    text (default) or json (one {level,msg,time} object a line)\n"
    "  --debug             debug lines on stderr and in the log\n"
    "  --systemd-cgroup    accepted (cgroupsPath \"slice:prefix:name\" is understood)\n"
    "  --rootless VALUE    true|false|auto (accepted; not root implies rootless)\n"
    "  --version, -v       print the version\n"
    "  --help, -h          this text\n"
    "\n"
    "Verbs:\n"
    "  create [--bundle DIR] [--console-socket PATH] [--pid-file PATH]\n"
    "         [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID\n"
    "  start ID\n"
    "  run [create's options] [--detach] [--keep] ID\n"
    "  state ID\n"
    "  kill [--all] ID [SIGNAL]            (default SIGTERM)\n"
    "  delete [--force] ID\n"
    "  exec [--process FILE] [--tty] [--console-socket PATH] [--detach]\n"
    "       [--pid-file PATH] [--cwd DIR] [--env K=V]... [--user UID[:GID]]\n"
    "       [--additional-gids GID]... [--cap CAP]... [--no-new-privs]\n"
    "       [--preserve-fds N] ID [COMMAND [ARG]...]\n"
    "  list [--format table|json] [--quiet]\n"
    "  ps [--format table|json] ID [PS OPTIONS]\n"
    "  pause ID | resume ID\n"
    "  spec [--bundle DIR] [--rootless]\n"
    "  features\n";

/* ---- errors and the log ---- */

static void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

static void log_line(struct oci *o, const char *level, const char *msg)
{
    if (!o->log_path)
        return;
    if (!o->log) {
        o->log = fopen(o->log_path, "ae");
        if (!o->log)
            return;     /* the message went to stderr already */
    }
    char t[64];
    oci_time_now(t, sizeof t);
    if (o->log_json) {
        fprintf(o->log, "{\"level\":\"%s\",\"msg\":\"", level);
        json_escape(o->log, msg);
        fprintf(o->log, "\",\"time\":\"%s\"}\n", t);
    } else {
        fprintf(o->log, "time=\"%s\" level=%s msg=\"", t, level);
        json_escape(o->log, msg);
        fputs("\"\n", o->log);
    }
    fflush(o->log);
}

static void report(struct oci *o, const char *level, bool to_stderr, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (to_stderr)
        fprintf(stderr, "disco-oci: %s: %s\n", level, msg);
    log_line(o, level, msg);
}

int oci_fail(struct oci *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(o, "error", true, fmt, ap);
    va_end(ap);
    return EXIT_RUNTIME;
}

int oci_usage(struct oci *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(o, "error", true, fmt, ap);
    va_end(ap);
    fprintf(stderr, "(see 'disco-oci --help')\n");
    return EXIT_USAGE;
}

void oci_warn(struct oci *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(o, "warning", true, fmt, ap);
    va_end(ap);
}

void oci_debug(struct oci *o, const char *fmt, ...)
{
    if (!o->debug)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(o, "debug", true, fmt, ap);
    va_end(ap);
}

/* ---- option parsing ---- */

int oci_next(struct oci *o, struct oci_args *a, const struct oci_opt *opts, const char **val)
{
    if (a->i >= a->argc)
        return -1;
    const char *arg = a->argv[a->i];
    if (a->only_positional || arg[0] != '-' || !arg[1]) {
        a->i++;
        *val = arg;
        if (a->stop_at_positional)
            a->only_positional = true;
        return 0;
    }
    a->i++;
    if (!strcmp(arg, "--")) {
        a->only_positional = true;
        return oci_next(o, a, opts, val);
    }
    const char *name = arg + 1 + (arg[1] == '-');
    size_t len = strcspn(name, "=");
    const char *inline_val = name[len] == '=' ? name + len + 1 : NULL;
    for (const struct oci_opt *p = opts; p && p->name; p++) {
        bool match = (strlen(p->name) == len && !strncmp(p->name, name, len)) ||
                     (p->short_name && len == 1 && name[0] == p->short_name && arg[1] != '-');
        if (!match)
            continue;
        if (!p->has_arg) {
            /* --flag=false turns it off (callers test oci_flag()). */
            *val = inline_val ? inline_val : "true";
            return p->key;
        }
        if (inline_val) {
            *val = inline_val;
        } else {
            if (a->i >= a->argc)
                return oci_usage(o, "%s: option --%s needs a value", o->verb, p->name), -2;
            *val = a->argv[a->i++];
        }
        return p->key;
    }
    return oci_usage(o, "%s: unknown option '%s'", o->verb, arg), -2;
}

/* ---- small helpers ---- */

int oci_parse_count(const char *s, int max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    return (int)v;
}

int oci_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int oci_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return -e;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

char *oci_read_file(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (len == cap) {
            if (cap >= max) {
                free(buf);
                close(fd);
                errno = EFBIG;
                return NULL;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                break;
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            buf[len] = '\0';
            close(fd);
            return buf;
        }
        len += (size_t)n;
    }
    int e = errno ? errno : ENOMEM;
    free(buf);
    close(fd);
    errno = e;
    return NULL;
}

void oci_time_now(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32], frac[16] = "";
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts.tv_nsec) {
        /* Go's RFC3339Nano: the fraction without trailing zeros. */
        snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    snprintf(buf, size, "%s%sZ", base, frac);
}

int oci_send_console(const char *socket_path, int fd, const char *name, char *why, size_t why_size)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof sa.sun_path) {
        snprintf(why, why_size, "console socket path too long: %s", socket_path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, socket_path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        snprintf(why, why_size, "cannot connect to the console socket %s: %s", socket_path,
                 strerror(e));
        if (s >= 0)
            close(s);
        return -e;
    }
    /* runc's protocol: one message whose payload is the terminal's name and
     * whose SCM_RIGHTS carries the pty master. */
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    do
        n = sendmsg(s, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    int e = n < 0 ? errno : 0;
    close(s);
    if (e) {
        snprintf(why, why_size, "cannot send the console to %s: %s", socket_path, strerror(e));
        return -e;
    }
    return 0;
}

void oci_print_json(json_object *j, bool pretty)
{
    int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    puts(json_object_to_json_string_ext(j, flags));
}

/* ---- the state of a container ---- */

const char *oci_status_name(enum oci_status s)
{
    switch (s) {
    case OCI_CREATING: return "creating";
    case OCI_CREATED: return "created";
    case OCI_RUNNING: return "running";
    case OCI_PAUSED: return "paused";
    case OCI_STOPPED: return "stopped";
    }
    return "unknown";
}

bool oci_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= sizeof((struct oci_state *)0)->id)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

int oci_proc_stat(pid_t pid, unsigned long long *start_time, char *state)
{
    if (pid <= 0)
        return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold anything: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -1;
    p += 2;
    if (state)
        *state = *p;
    /* field 3 is the state: 19 more fields to the start time (22). */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    if (start_time)
        *start_time = strtoull(p, NULL, 10);
    return 0;
}

bool oci_init_alive(const struct oci_state *st)
{
    unsigned long long t;
    char s;
    if (oci_proc_stat(st->pid, &t, &s) < 0)
        return false;
    return t == st->start_time && s != 'Z' && s != 'X' && s != 'x';
}

int oci_init_pidfd(const struct oci_state *st)
{
    if (st->pid <= 0)
        return -1;
    int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd < 0)
        return -1;
    /* Checked after opening: the pidfd then refers to the process we checked. */
    if (!oci_init_alive(st)) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int oci_state_load(struct oci *o, const char *id, struct oci_state *st)
{
    memset(st, 0, sizeof *st);
    if (!oci_id_valid(id)) {
        oci_fail(o, "invalid container ID '%s' (expected [A-Za-z0-9][A-Za-z0-9_.-]*)", id);
        return -EINVAL;
    }
    copy_str(st->id, sizeof st->id, id);
    if (snprintf(st->dir, sizeof st->dir, "%s/%s", o->root, id) >= (int)sizeof st->dir) {
        oci_fail(o, "state path too long");
        return -ENAMETOOLONG;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" OCI_STATE_FILE, st->dir);
    char *text = oci_read_file(path, 1 << 20);
    if (!text) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            oci_fail(o, "container does not exist: %s", id);
            return -ENOENT;
        }
        oci_fail(o, "cannot read %s: %s", path, strerror(e));
        return -e;
    }
    json_object *j = json_tokener_parse(text);
    free(text);
    if (!j || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        oci_fail(o, "corrupt state file %s", path);
        return -EINVAL;
    }
    json_object *v;
    if (json_object_object_get_ex(j, "pid", &v))
        st->pid = json_object_get_int(v);
    copy_str(st->bundle, sizeof st->bundle, jstr(j, "bundle"));
    copy_str(st->rootfs, sizeof st->rootfs, jstr(j, "rootfs"));
    copy_str(st->created, sizeof st->created, jstr(j, "created"));
    copy_str(st->oci_version, sizeof st->oci_version, jstr(j, "ociVersion"));
    if (json_object_object_get_ex(j, "annotations", &v) && json_object_is_type(v, json_type_object))
        st->annotations = json_object_get(v);
    json_object *d;
    if (json_object_object_get_ex(j, "disco", &d) && json_object_is_type(d, json_type_object)) {
        copy_str(st->cgroup, sizeof st->cgroup, jstr(d, "cgroupPath"));
        if (json_object_object_get_ex(d, "initStartTime", &v))
            st->start_time = (unsigned long long)json_object_get_int64(v);
    }
    json_object_put(j);
    return 0;
}

void oci_state_clear(struct oci_state *st)
{
    json_object_put(st->annotations);
    st->annotations = NULL;
}

json_object *oci_state_json(const struct oci_state *st, enum oci_status status)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "ociVersion", json_object_new_string(st->oci_version[0] ? st->oci_version : OCI_SPEC_VERSION));
    json_object_object_add(j, "id", json_object_new_string(st->id));
    /* runc reports pid 0 once the container stopped (the pid may be reused). */
    json_object_object_add(j, "pid", json_object_new_int(status == OCI_STOPPED ? 0 : st->pid));
    json_object_object_add(j, "status", json_object_new_string(oci_status_name(status)));
    json_object_object_add(j, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(j, "rootfs", json_object_new_string(st->rootfs));
    json_object_object_add(j, "created", json_object_new_string(st->created));
    json_object_object_add(j, "owner", json_object_new_string(""));
    if (st->annotations && json_object_object_length(st->annotations))
        json_object_object_add(j, "annotations", json_object_get(st->annotations));
    return j;
}

int oci_state_save(struct oci *o, const struct oci_state *st)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "ociVersion", json_object_new_string(st->oci_version));
    json_object_object_add(j, "id", json_object_new_string(st->id));
    json_object_object_add(j, "pid", json_object_new_int(st->pid));
    json_object_object_add(j, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(j, "rootfs", json_object_new_string(st->rootfs));
    json_object_object_add(j, "created", json_object_new_string(st->created));
    if (st->annotations)
        json_object_object_add(j, "annotations", json_object_get(st->annotations));
    json_object *d = json_object_new_object();
    json_object_object_add(d, "cgroupPath", json_object_new_string(st->cgroup));
    json_object_object_add(d, "initStartTime", json_object_new_int64((int64_t)st->start_time));
    json_object_object_add(j, "disco", d);
    const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" OCI_STATE_FILE, st->dir);
    int rc = oci_write_atomic(path, text, strlen(text), 0600);
    json_object_put(j);
    if (rc < 0)
        return oci_fail(o, "cannot write %s: %s", path, strerror(-rc)), rc;
    return 0;
}

enum oci_status oci_status(const struct oci_state *st)
{
    if (!oci_init_alive(st))
        return OCI_STOPPED;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" OCI_FIFO_FILE, st->dir);
    if (access(path, F_OK) == 0)
        return OCI_CREATED;
    if (st->cgroup[0]) {
        struct ct_cgroup *cg;
        struct disco_err err;
        if (ct_cgroup_open(NULL, st->cgroup, &cg, &err) == 0) {
            bool frozen = ct_cgroup_frozen(cg);
            ct_cgroup_free(cg);
            if (frozen)
                return OCI_PAUSED;
        }
    }
    return OCI_RUNNING;
}

int oci_destroy(struct oci *o, struct oci_state *st)
{
    int status = 0;
    if (st->cgroup[0]) {
        struct ct_cgroup *cg;
        struct disco_err err;
        err_clear(&err);
        int rc = ct_cgroup_open(NULL, st->cgroup, &cg, &err);
        if (rc == 0) {
            rc = ct_cgroup_destroy(cg, &err);
            if (rc == -EBUSY || rc == -ETIMEDOUT) {
                /* Processes outlived the init (no pid namespace): kill them, as runc does. */
                struct disco_err e2;
                ct_cgroup_signal_all(cg, SIGKILL, &e2);
                err_clear(&err);
                rc = ct_cgroup_destroy(cg, &err);
            }
            ct_cgroup_free(cg);
        }
        if (rc < 0 && rc != -ENOENT)
            status = oci_fail(o, "cannot remove the cgroup %s: %s", st->cgroup, err.msg);
    }
    DIR *d = opendir(st->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    if (rmdir(st->dir) < 0 && errno != ENOENT)
        status = oci_fail(o, "cannot remove %s: %s", st->dir, strerror(errno));
    return status;
}

/* ---- the entry ---- */

static const struct {
    const char *name;
    int (*fn)(struct oci *o, int argc, char **argv);
} verbs[] = {
    {"create", oci_create}, {"start", oci_start}, {"run", oci_run}, {"exec", oci_exec},
    {"state", oci_state_verb}, {"kill", oci_kill}, {"delete", oci_delete},
    {"list", oci_list}, {"spec", oci_spec}, {"pause", oci_pause}, {"resume", oci_resume},
    {"ps", oci_ps}, {"features", oci_features},
};

enum { G_ROOT = 1, G_LOG, G_LOG_FORMAT, G_DEBUG, G_SYSTEMD, G_ROOTLESS, G_CRIU, G_VERSION, G_HELP };

int oci_main(int argc, char **argv)
{
    struct oci o = {.argc = argc, .argv = argv, .verb = "disco-oci"};
    static const struct oci_opt gopts[] = {
        {"root", 0, true, G_ROOT}, {"log", 0, true, G_LOG}, {"log-format", 0, true, G_LOG_FORMAT},
        {"debug", 0, false, G_DEBUG}, {"systemd-cgroup", 0, false, G_SYSTEMD},
        {"rootless", 0, false, G_ROOTLESS}, {"criu", 0, true, G_CRIU},
        {"version", 'v', false, G_VERSION}, {"help", 'h', false, G_HELP}, {0},
    };
    const char *root = NULL;
    const char *rootless = NULL;
    struct oci_args a = {.argc = argc, .argv = argv, .i = 1, .stop_at_positional = true};
    const char *verb = NULL, *val;
    int k;
    while ((k = oci_next(&o, &a, gopts, &val)) != -1) {
        switch (k) {
        case -2: return EXIT_USAGE;
        case 0: verb = val; break;
        case G_ROOT: root = val; break;
        case G_LOG: o.log_path = val; break;
        case G_LOG_FORMAT:
            if (strcmp(val, "json") && strcmp(val, "text"))
                return oci_usage(&o, "--log-format must be text or json, not '%s'", val);
            o.log_json = !strcmp(val, "json");
            break;
        case G_DEBUG: o.debug = oci_flag(val); break;
        case G_SYSTEMD: o.systemd_cgroup = oci_flag(val); break;
        case G_ROOTLESS:
            /* runc's --rootless takes true|false|auto, also as a separate word. */
            if (!strcmp(val, "true") && a.i < argc &&
                (!strcmp(argv[a.i], "true") || !strcmp(argv[a.i], "false") || !strcmp(argv[a.i], "auto")))
                val = argv[a.i++];
            rootless = val;
            break;
        case G_CRIU: break;
        case G_VERSION:
            printf("disco-oci version %s\nspec: " OCI_SPEC_VERSION "\n", DISCO_VERSION);
            return 0;
        case G_HELP:
            fputs(oci_usage_text, stdout);
            return 0;
        }
        if (verb)
            break;
    }
    o.rootless = geteuid() != 0 || (rootless && !strcmp(rootless, "true"));
    if (root) {
        if (!root[0])
            return oci_usage(&o, "--root must not be empty");
        if (snprintf(o.root, sizeof o.root, "%s", root) >= (int)sizeof o.root)
            return oci_usage(&o, "--root too long");
    } else if (geteuid() != 0 && getenv("XDG_RUNTIME_DIR") && getenv("XDG_RUNTIME_DIR")[0]) {
        snprintf(o.root, sizeof o.root, "%s/disco-oci", getenv("XDG_RUNTIME_DIR"));
    } else {
        snprintf(o.root, sizeof o.root, "/run/disco-oci");
    }
    if (!verb) {
        fputs(oci_usage_text, stderr);
        return EXIT_USAGE;
    }
    /* Writing to a closed pipe (conmon gone) must be an error, not death. */
    signal(SIGPIPE, SIG_IGN);
    int rc = -1;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (!strcmp(verb, verbs[i].name)) {
            o.verb = verb;
            oci_debug(&o, "%s (root %s)", verb, o.root);
            rc = verbs[i].fn(&o, argc - a.i, argv + a.i);
            break;
        }
    }
    if (rc == -1) {
        if (!strcmp(verb, "help")) {
            fputs(oci_usage_text, stdout);
            rc = 0;
        } else {
            rc = oci_usage(&o, "unknown command '%s'", verb);
        }
    }
    if (o.log)
        fclose(o.log);
    return rc;
}

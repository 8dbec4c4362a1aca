/* Checkpoint/restore through the `criu` command. Each run is a posix_spawn
 * of an argv array (no shell: paths are never re-parsed), with stdin from
 * /dev/null, stdout and stderr captured through a pipe, a default signal
 * disposition and mask (the daemon may block signals on its threads), and
 * a bounded wait on a pidfd. The options follow what runc passes CRIU over
 * its RPC interface: external bind mounts keyed by their destination,
 * masked files mapped to /dev/null, an external network namespace
 * inherited as "extRootNetNS", cgroups managed by CRIU. */
#define _GNU_SOURCE
#include "ct/criu.h"

#include "ct/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

extern char **environ;

#define CRIU_CHECK_TIMEOUT_MS 20000
#define CRIU_RUN_TIMEOUT_MS 60000
/* What we keep of a run's stdout+stderr (its first part: where criu check
 * says what is wrong). */
#define OUT_MAX 8192
/* The fds criu restore inherits: a joined network namespace, then the
 * new stdio pipes (first stdio one + 0..2). */
#define NETNS_CHILD_FD 3
#define STDIO_CHILD_FD 4
/* Where checkpoint records what the init's fds 0-2 were, as runc does
 * (same name and format: a JSON array of three strings). */
#define DESCRIPTORS_FILE "descriptors.json"

struct fd_pass {
    int src, dst;
};

/* ---- argv building ----------------------------------------------------- */

struct argv_buf {
    char **v;
    size_t n, cap;
    bool oom;
};

static void argv_add(struct argv_buf *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void argv_add(struct argv_buf *a, const char *fmt, ...)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **nv = realloc(a->v, cap * sizeof *nv);
        if (!nv) {
            a->oom = true;
            return;
        }
        a->v = nv;
        a->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        a->oom = true;
        return;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void argv_free(struct argv_buf *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- running criu ------------------------------------------------------ */

struct run_result {
    int status;                 /* wait status */
    char out[OUT_MAX];          /* NUL-terminated start of stdout+stderr */
    size_t out_len;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void out_append(struct run_result *rr, const char *p, size_t n)
{
    size_t room = sizeof rr->out - 1 - rr->out_len;
    if (n > room)
        n = room;
    memcpy(rr->out + rr->out_len, p, n);
    rr->out_len += n;
    rr->out[rr->out_len] = '\0';
}

/* Run argv (argv[0] looked up in PATH); fds[i].src is given to the child
 * as fds[i].dst. -ENOENT if the program is missing, -ETIMEDOUT (child
 * killed) after timeout_ms. */
#define PASS_MAX 4
static int run_tool(char *const argv[], const struct fd_pass *fds, size_t nfds, int timeout_ms,
                    struct run_result *rr, struct disco_err *err)
{
    memset(rr, 0, sizeof *rr);
    if (nfds > PASS_MAX)
        return err_set(err, -EINVAL, "too many descriptors for %s", argv[0]);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_errno(err, errno, "cannot create a pipe for %s", argv[0]);
    int src_fd[PASS_MAX];
    for (size_t i = 0; i < nfds; i++) {
        /* adddup2 with equal descriptors would keep FD_CLOEXEC on older
         * glibc, and a source may be another's target: hand over copies
         * above every target. */
        src_fd[i] = fcntl(fds[i].src, F_DUPFD_CLOEXEC, STDIO_CHILD_FD + 3);
        if (src_fd[i] < 0) {
            int e = errno;
            while (i-- > 0)
                close(src_fd[i]);
            close(p[0]);
            close(p[1]);
            return err_errno(err, e, "cannot pass a descriptor to %s", argv[0]);
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    for (size_t i = 0; i < nfds; i++)
        posix_spawn_file_actions_adddup2(&fa, src_fd[i], fds[i].dst);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    for (size_t i = 0; i < nfds; i++)
        close(src_fd[i]);
    if (r != 0) {
        close(p[0]);
        return err_errno(err, r, "cannot run %s", argv[0]);
    }

    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    int64_t deadline = now_ms() + timeout_ms;
    bool exited = false, pipe_open = true, lost = false;
    int status = 0;
    while (!exited) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pf[2] = {
            {.fd = pipe_open ? p[0] : -1, .events = POLLIN},
            {.fd = pidfd, .events = POLLIN},
        };
        /* Without a pidfd (old kernel), check for the exit now and then. */
        int wait = pidfd >= 0 ? (int)left : (int)(left < 100 ? left : 100);
        int n = poll(pf, 2, wait);
        if (n < 0 && errno != EINTR)
            break;
        if (pipe_open && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            ssize_t k = read(p[0], buf, sizeof buf);
            if (k > 0)
                out_append(rr, buf, (size_t)k);
            else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                pipe_open = false;
        }
        if (pidfd < 0 || (pf[1].revents & POLLIN)) {
            pid_t w = waitpid(pid, &status, pidfd >= 0 ? 0 : WNOHANG);
            if (w == pid) {
                exited = true;
            } else if (w < 0 && errno == ECHILD) {
                /* Someone else (a catch-all SIGCHLD handler) reaped it:
                 * its status is lost, so success cannot be claimed. */
                exited = lost = true;
            }
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    /* Whatever it wrote last, without waiting for descendants that may
     * still hold the pipe. */
    for (char buf[4096];;) {
        ssize_t k = pipe_open ? read(p[0], buf, sizeof buf) : 0;
        if (k <= 0)
            break;
        out_append(rr, buf, (size_t)k);
    }
    close(p[0]);
    if (pidfd >= 0)
        close(pidfd);
    rr->status = status;
    if (lost)
        return err_set(err, -ECHILD, "%s %s: its exit status was collected elsewhere", argv[0],
                       argv[1] ? argv[1] : "");
    if (!exited)
        return err_set(err, -ETIMEDOUT, "%s %s did not finish within %d s (killed)", argv[0],
                       argv[1] ? argv[1] : "", timeout_ms / 1000);
    return 0;
}

static void describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, size, "status 0x%x", status);
}

/* Pick the lines that matter from text: those with "Error" (the last
 * `max` of them, or the first ones if first_errors), else its last lines;
 * joined with "; " into out. */
static void pick_lines(const char *text, bool first_errors, int max, char *out, size_t size)
{
    out[0] = '\0';
    const char *lines[64];
    size_t lens[64];
    int nl = 0, nerr = 0;
    const char *errs[64];
    size_t errlens[64];
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            if (nl == 64) {
                memmove(lines, lines + 1, 63 * sizeof *lines);
                memmove(lens, lens + 1, 63 * sizeof *lens);
                nl--;
            }
            lines[nl] = p;
            lens[nl++] = len;
            if (memmem(p, len, "Error", 5)) {
                if (nerr == 64) {
                    if (first_errors)
                        goto next;
                    memmove(errs, errs + 1, 63 * sizeof *errs);
                    memmove(errlens, errlens + 1, 63 * sizeof *errlens);
                    nerr--;
                }
                errs[nerr] = p;
                errlens[nerr++] = len;
            }
        }
    next:
        p = e ? e + 1 : p + len;
    }
    const char **pick = nerr ? errs : lines;
    size_t *plen = nerr ? errlens : lens;
    int count = nerr ? nerr : nl;
    int from = 0, to = count;
    if (count > max) {
        if (nerr && first_errors)
            to = max;
        else
            from = count - max;
    }
    size_t used = 0;
    for (int i = from; i < to && used + 1 < size; i++) {
        int k = snprintf(out + used, size - used, "%s%.*s", used ? "; " : "", (int)plen[i],
                         pick[i]);
        if (k < 0)
            break;
        used += (size_t)k;
        if (used >= size)
            used = size - 1;
    }
}

/* The end of a criu log (dir/name), reduced to its error lines. */
static void log_tail(const char *dir, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[16385];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof buf - 1 ? end - (off_t)(sizeof buf - 1) : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, start);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* Drop a partial first line. */
    char *text = buf;
    if (start > 0) {
        char *nl = strchr(buf, '\n');
        text = nl ? nl + 1 : buf;
    }
    pick_lines(text, false, 3, out, size);
}

/* What the init's fds 0-2 are ("pipe:[123]", "/dev/null"...), saved
 * next to the images: restore hands new pipes in their place. */
static int save_descriptors(pid_t init_pid, const char *image_dir, struct disco_err *err)
{
    json_object *arr = json_object_new_array();
    if (!arr)
        return err_errno(err, ENOMEM, "checkpoint");
    for (int i = 0; i < 3; i++) {
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)init_pid, i);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        json_object_array_add(arr, json_object_new_string(target));
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" DESCRIPTORS_FILE, image_dir);
    /* The image directory is the caller's: never follow a planted link. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = fd >= 0 && json_object_to_fd(fd, arr, JSON_C_TO_STRING_PLAIN) == 0
                ? 0 : err_errno(err, fd < 0 ? errno : EIO, "checkpoint: cannot write %s", path);
    if (fd >= 0)
        close(fd);
    json_object_put(arr);
    return r;
}

/* desc[i]: the saved descriptors ("" when unknown: an older checkpoint). */
static void load_descriptors(const char *image_dir, char desc[3][64])
{
    for (int i = 0; i < 3; i++)
        desc[i][0] = '\0';
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" DESCRIPTORS_FILE, image_dir);
    /* A regular file of at most a few KiB (not a link, fifo or device). */
    char text[4096];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    ssize_t n = -1;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)sizeof text)
        n = read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    text[n] = '\0';
    json_object *arr = json_tokener_parse(text);
    if (!arr)
        return;
    if (json_object_is_type(arr, json_type_array))
        for (size_t i = 0; i < 3 && i < json_object_array_length(arr); i++) {
            const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
            if (v)
                snprintf(desc[i], sizeof desc[i], "%s", v);
        }
    json_object_put(arr);
}

/* Which criu: $DISCO_CRIU; else the one scripts/criu.sh builds from
 * Debian trixie's source ($DISCO_CACHE, default /var/cache/disco, then
 * criu/default/criu), because Debian 12's criu 3.17 fails `criu check` on
 * kernels from 6.13 on (the split vvar mapping); else criu on $PATH. */
static const char *criu_program(char *buf, size_t size)
{
    const char *env = getenv("DISCO_CRIU");
    if (env && env[0])
        return env;
    const char *cache = getenv("DISCO_CACHE");
    int n = snprintf(buf, size, "%s/criu/default/criu", cache && cache[0] ? cache : "/var/cache/disco");
    if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
        return buf;
    return "criu";
}

/* ---- public ------------------------------------------------------------ */

int ct_criu_available(struct disco_err *err)
{
    char prog[PATH_MAX];
    char *argv[] = {(char *)criu_program(prog, sizeof prog), "check", NULL};
    struct run_result *rr = malloc(sizeof *rr);
    if (!rr)
        return err_errno(err, ENOMEM, "criu check");
    int r = run_tool(argv, NULL, 0, CRIU_CHECK_TIMEOUT_MS, rr, err);
    if (r == -ENOENT) {
        free(rr);
        return err_set(err, -ENOENT, "criu is not installed (Debian package criu)");
    }
    if (r < 0) {
        free(rr);
        return r == -ETIMEDOUT ? err_set(err, -ENOTSUP, "criu check did not finish within %d s",
                                         CRIU_CHECK_TIMEOUT_MS / 1000)
                               : r;
    }
    if (WIFEXITED(rr->status) && WEXITSTATUS(rr->status) == 0) {
        free(rr);
        return 0;
    }
    char why[384], st[48];
    pick_lines(rr->out, true, 2, why, sizeof why);
    describe_status(rr->status, st, sizeof st);
    free(rr);
    return err_set(err, -ENOTSUP, "criu check failed (%s): %s", st,
                   why[0] ? why : "no message");
}

static int mkdir_p(const char *dir, struct disco_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return err_set(err, -ENAMETOOLONG, "checkpoint directory '%.64s...': too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return err_errno(err, errno, "cannot create %s", path);
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(err, -ENOTDIR, "checkpoint directory %s: not a directory", dir);
    return 0;
}

/* Options both directions share. */
static void add_common(struct argv_buf *a, const struct ct_spec *spec, const char *image_dir,
                       const char *log, const char *root)
{
    argv_add(a, "-D");
    argv_add(a, "%s", image_dir);
    argv_add(a, "-o");
    argv_add(a, "%s", log);
    argv_add(a, "-v4");
    argv_add(a, "--root");
    argv_add(a, "%s", root);
    argv_add(a, "--manage-cgroups");
    argv_add(a, "--tcp-established");
    argv_add(a, "--file-locks");
    argv_add(a, "--ext-unix-sk");
    /* A terminal's pty master is held outside (conmon, the console
     * socket): CRIU can only treat such a tree as a shell job. */
    if (spec->process.terminal)
        argv_add(a, "--shell-job");
}

static int run_failed(const char *what, const char *image_dir, const char *log,
                      const struct run_result *rr, struct disco_err *err)
{
    char tail[360], st[48];
    log_tail(image_dir, log, tail, sizeof tail);
    if (!tail[0])
        pick_lines(rr->out, false, 3, tail, sizeof tail);
    describe_status(rr->status, st, sizeof st);
    return err_set(err, -EIO, "%s failed (%s): %s", what, st,
                   tail[0] ? tail : "no message (see the log)");
}

int ct_criu_checkpoint(pid_t init_pid, const struct ct_spec *spec, const char *image_dir,
                       bool leave_running, struct disco_err *err)
{
    if (init_pid <= 0)
        return err_set(err, -EINVAL, "checkpoint: no container process (pid %d)", (int)init_pid);
    if (!spec || !spec->root_path)
        return err_set(err, -EINVAL, "checkpoint: no container root file system");
    if (!image_dir || !image_dir[0])
        return err_set(err, -EINVAL, "checkpoint: no image directory");
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d", (int)init_pid);
    if (access(proc, F_OK) < 0)
        return err_errno(err, errno, "checkpoint: no process %d", (int)init_pid);
    int r = mkdir_p(image_dir, err);
    if (r < 0)
        return r;
    if ((r = ct_criu_available(err)) < 0)
        return r;

    struct argv_buf a = {0};
    char prog[PATH_MAX];
    argv_add(&a, "%s", criu_program(prog, sizeof prog));
    argv_add(&a, "dump");
    argv_add(&a, "-t");
    argv_add(&a, "%d", (int)init_pid);
    add_common(&a, spec, image_dir, "dump.log", spec->root_path);
    if (leave_running)
        argv_add(&a, "--leave-running");
    /* Bind mounts come from outside the container: CRIU records them as
     * external, keyed by their destination, and restore maps them back. */
    for (size_t i = 0; i < spec->nmounts; i++) {
        const struct ct_mount *m = &spec->mounts[i];
        if (m->bind && m->destination) {
            argv_add(&a, "--external");
            argv_add(&a, "mnt[%s]:%s", m->destination, m->destination);
        }
    }
    /* Masked files are /dev/null bind mounts (masked directories are
     * tmpfs, which CRIU dumps itself). */
    for (size_t i = 0; i < spec->nmasked; i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d/root%s", (int)init_pid, spec->masked_paths[i]);
        if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
            argv_add(&a, "--external");
            argv_add(&a, "mnt[%s]:%s", spec->masked_paths[i], spec->masked_paths[i]);
        }
    }
    /* A joined (not created) network namespace is not the container's to
     * dump: mark it external, restore gets it back as extRootNetNS. */
    const struct ct_namespace *net = &spec->ns[CT_NS_NET];
    if (net->enabled && net->path) {
        struct stat st;
        if (stat(net->path, &st) < 0) {
            argv_free(&a);
            return err_errno(err, errno, "checkpoint: network namespace %s", net->path);
        }
        argv_add(&a, "--external");
        argv_add(&a, "net[%lu]:extRootNetNS", (unsigned long)st.st_ino);
    }
    if (a.oom) {
        argv_free(&a);
        return err_errno(err, ENOMEM, "checkpoint");
    }
    struct run_result *rr = malloc(sizeof *rr);
    if (!rr) {
        argv_free(&a);
        return err_errno(err, ENOMEM, "checkpoint");
    }
    if ((r = save_descriptors(init_pid, image_dir, err)) < 0) {
        argv_free(&a);
        free(rr);
        return r;
    }
    r = run_tool(a.v, NULL, 0, CRIU_RUN_TIMEOUT_MS, rr, err);
    argv_free(&a);
    if (r == 0 && !(WIFEXITED(rr->status) && WEXITSTATUS(rr->status) == 0)) {
        char what[96];
        snprintf(what, sizeof what, "criu dump of pid %d into %s", (int)init_pid, image_dir);
        r = run_failed(what, image_dir, "dump.log", rr, err);
    } else if (r == -ETIMEDOUT) {
        char tail[300];
        log_tail(image_dir, "dump.log", tail, sizeof tail);
        r = err_set(err, -ETIMEDOUT, "criu dump of pid %d did not finish within %d s: %s",
                    (int)init_pid, CRIU_RUN_TIMEOUT_MS / 1000, tail);
    }
    free(rr);
    return r;
}

/* criu --cgroup-root wants a path below the hierarchy roots: accept that
 * ("disco/web1", "/disco/web1") or a directory under /sys/fs/cgroup (on a
 * v1 layout its first component is the controller's hierarchy). */
static int cgroup_root_arg(const char *dir, char *out, size_t size, struct disco_err *err)
{
    static const char mnt[] = "/sys/fs/cgroup/";
    const char *rel = dir;
    if (!strncmp(dir, mnt, sizeof mnt - 1)) {
        rel = dir + sizeof mnt - 1;
        struct statfs sf;
        bool unified = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270;
        if (!unified) {
            const char *slash = strchr(rel, '/');
            rel = slash ? slash : "";
        }
    }
    while (*rel == '/')
        rel++;
    if (snprintf(out, size, "/%s", rel) >= (int)size)
        return err_set(err, -ENAMETOOLONG, "cgroup directory '%.64s...': too long", dir);
    return 0;
}

/* --cgroup-root for the hierarchies containers live in. On v1 one per
 * hierarchy ("memory:/disco/b"): a bare root would also move the restored
 * processes in every other one (a hybrid host's unified hierarchy,
 * net_cls...), making cgroups nobody removes. On v2, the one root. */
static void add_cgroup_roots(struct argv_buf *a, const char *root)
{
    bool v1 = false;
    FILE *f = fopen("/proc/self/cgroup", "re");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2 == c1 + 1)
            continue;               /* "0::/..." (v2) */
        *c2 = '\0';
        if (!ct_cgroup_v1_uses(c1 + 1))
            continue;
        v1 = true;
        argv_add(a, "--cgroup-root");
        argv_add(a, "%s:%s", c1 + 1, root);
    }
    free(line);
    if (f)
        fclose(f);
    if (!v1) {
        argv_add(a, "--cgroup-root");
        argv_add(a, "%s", root);
    }
}

int ct_criu_restore(const struct ct_spec *spec, const char *image_dir, const char *cgroup_dir,
                    const int stdio[3], pid_t *pid, struct disco_err *err)
{
    if (pid)
        *pid = 0;
    if (!spec || !spec->root_path)
        return err_set(err, -EINVAL, "restore: no container root file system");
    if (!image_dir || !image_dir[0])
        return err_set(err, -EINVAL, "restore: no image directory");
    if (!pid)
        return err_set(err, -EINVAL, "restore: nowhere to return the pid");
    struct stat st;
    if (stat(image_dir, &st) < 0)
        return err_errno(err, errno, "restore: checkpoint directory %s", image_dir);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, -ENOTDIR, "restore: checkpoint directory %s: not a directory",
                       image_dir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/inventory.img", image_dir);
    if (access(path, R_OK) < 0)
        return err_set(err, -ENOENT, "restore: no checkpoint in %s (inventory.img missing)",
                       image_dir);
    char cgroot[PATH_MAX];
    int r;
    if (cgroup_dir && (r = cgroup_root_arg(cgroup_dir, cgroot, sizeof cgroot, err)) < 0)
        return r;
    if ((r = ct_criu_available(err)) < 0)
        return r;

    /* CRIU needs the root to be a mount point: like runc, restore onto a
     * private bind mount of the root file system, dropped afterwards (the
     * restored container keeps its own copy in its mount namespace). */
    char root[] = "/tmp/disco-criu-root.XXXXXX";
    if (!mkdtemp(root))
        return err_errno(err, errno, "restore: cannot create a directory for the root");
    if (mount(spec->root_path, root, NULL, MS_BIND | MS_REC, NULL) < 0) {
        r = err_errno(err, errno, "restore: cannot bind-mount %s", spec->root_path);
        rmdir(root);
        return r;
    }
    mount(NULL, root, NULL, MS_PRIVATE | MS_REC, NULL);

    int netns_fd = -1;
    const struct ct_namespace *net = &spec->ns[CT_NS_NET];
    if (net->enabled && net->path) {
        netns_fd = open(net->path, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0) {
            r = err_errno(err, errno, "restore: network namespace %s", net->path);
            goto out_mount;
        }
    }
    char pidfile[PATH_MAX];
    snprintf(pidfile, sizeof pidfile, "%s/restore.pid", image_dir);
    unlink(pidfile);

    struct argv_buf a = {0};
    char prog[PATH_MAX];
    argv_add(&a, "%s", criu_program(prog, sizeof prog));
    argv_add(&a, "restore");
    add_common(&a, spec, image_dir, "restore.log", root);
    argv_add(&a, "--restore-detached");
    argv_add(&a, "--pidfile");
    argv_add(&a, "%s", pidfile);
    if (cgroup_dir)
        add_cgroup_roots(&a, cgroot);
    for (size_t i = 0; i < spec->nmounts; i++) {
        const struct ct_mount *m = &spec->mounts[i];
        if (m->bind && m->destination && m->source) {
            argv_add(&a, "--external");
            argv_add(&a, "mnt[%s]:%s", m->destination, m->source);
        }
    }
    /* Keys of masked directories are unused (tmpfs): CRIU ignores them. */
    for (size_t i = 0; i < spec->nmasked; i++) {
        argv_add(&a, "--external");
        argv_add(&a, "mnt[%s]:/dev/null", spec->masked_paths[i]);
    }
    struct fd_pass pass[PASS_MAX];
    size_t npass = 0;
    if (netns_fd >= 0) {
        argv_add(&a, "--inherit-fd");
        argv_add(&a, "fd[%d]:extRootNetNS", NETNS_CHILD_FD);
        pass[npass++] = (struct fd_pass){netns_fd, NETNS_CHILD_FD};
    }
    /* The init's stdio pipes led out of the container (to whoever started
     * it): new ones take their place, once per pipe (stdout and stderr
     * often share one). */
    char desc[3][64];
    load_descriptors(image_dir, desc);
    for (int i = 0; stdio && i < 3; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup = dup || (desc[j][0] && strcmp(desc[i], desc[j]) == 0);
        if (stdio[i] < 0 || dup || strncmp(desc[i], "pipe:", 5) != 0)
            continue;
        argv_add(&a, "--inherit-fd");
        argv_add(&a, "fd[%d]:%s", STDIO_CHILD_FD + i, desc[i]);
        pass[npass++] = (struct fd_pass){stdio[i], STDIO_CHILD_FD + i};
    }
    struct run_result *rr = a.oom ? NULL : malloc(sizeof *rr);
    if (!rr) {
        argv_free(&a);
        r = err_errno(err, ENOMEM, "restore");
        goto out_fd;
    }
    r = run_tool(a.v, pass, npass, CRIU_RUN_TIMEOUT_MS, rr, err);
    argv_free(&a);
    if (r == 0 && !(WIFEXITED(rr->status) && WEXITSTATUS(rr->status) == 0)) {
        char what[96];
        snprintf(what, sizeof what, "criu restore from %.60s", image_dir);
        r = run_failed(what, image_dir, "restore.log", rr, err);
    } else if (r == -ETIMEDOUT) {
        char tail[300];
        log_tail(image_dir, "restore.log", tail, sizeof tail);
        r = err_set(err, -ETIMEDOUT, "criu restore did not finish within %d s: %s",
                    CRIU_RUN_TIMEOUT_MS / 1000, tail);
    }
    free(rr);
    if (r == 0) {
        FILE *f = fopen(pidfile, "re");
        long v = 0;
        if (!f || fscanf(f, "%ld", &v) != 1 || v <= 0 || v > INT_MAX)
            r = err_set(err, -EIO, "restore: criu left no pid in %s", pidfile);
        else
            *pid = (pid_t)v;
        if (f)
            fclose(f);
    }
out_fd:
    if (netns_fd >= 0)
        close(netns_fd);
out_mount:
    umount2(root, MNT_DETACH);
    rmdir(root);
    return r;
}

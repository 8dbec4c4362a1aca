/* ct_spawn / ct_exec_spawn / ct_add_device_node / sealed re-exec, against a
 * busybox root file system built in a temp dir. Needs root and
 * /bin/busybox (busybox-static); each case SKIPs otherwise. */
#define _GNU_SOURCE
#include "ct/cgroup.h"
#include "ct/spawn.h"
#include "ct/spec.h"
#include "t.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char g_root[300];        /* the rootfs (inside g_tmp) */
static char g_tmp[200];
static const char *g_self;

/* ---- a hand-built spec ---- */

static char **strv(const char *first, va_list ap, size_t *n)
{
    char **v = calloc(32, sizeof *v);
    size_t i = 0;
    for (const char *s = first; s && i < 31; s = va_arg(ap, const char *))
        v[i++] = strdup(s);
    *n = i;
    return v;
}

static void add_mount(struct ct_spec *s, const char *dest, const char *type, unsigned long flags,
                      const char *data)
{
    struct ct_mount *m = &s->mounts[s->nmounts++];
    m->destination = strdup(dest);
    m->type = strdup(type);
    m->source = strdup(type);
    m->flags = flags;
    m->data = data ? strdup(data) : NULL;
}

/* New mount/pid/uts/ipc/net namespaces, proc, a tmpfs /dev with devpts. */
static struct ct_spec *spec_new(const char *arg0, ...)
{
    struct ct_spec *s = calloc(1, sizeof *s);
    s->root_path = strdup(g_root);
    s->hostname = strdup("ctest");
    va_list ap;
    va_start(ap, arg0);
    s->process.args = strv(arg0, ap, &s->process.nargs);
    va_end(ap);
    s->process.env = calloc(3, sizeof(char *));
    s->process.env[0] = strdup("PATH=/bin");
    s->process.env[1] = strdup("HOME=/");
    s->process.nenv = 2;
    s->process.cwd = strdup("/");
    uint64_t caps = ct_caps_default();
    s->process.caps = (struct ct_caps){caps, caps, caps, 0, 0};
    s->mounts = calloc(4, sizeof *s->mounts);
    add_mount(s, "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    add_mount(s, "/dev", "tmpfs", MS_NOSUID, "mode=755,size=1024k");
    add_mount(s, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    enum ct_ns on[] = {CT_NS_MOUNT, CT_NS_PID, CT_NS_UTS, CT_NS_IPC, CT_NS_NET};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++)
        s->ns[on[i]].enabled = true;
    ct_resources_init(&s->resources);
    return s;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void spec_free(struct ct_spec *s)
{
    if (!s)
        return;
    free(s->root_path);
    free(s->hostname);
    strv_free(s->process.args);
    strv_free(s->process.env);
    free(s->process.cwd);
    for (size_t i = 0; i < s->nmounts; i++) {
        free(s->mounts[i].destination);
        free(s->mounts[i].type);
        free(s->mounts[i].source);
        free(s->mounts[i].data);
    }
    free(s->mounts);
    for (int i = 0; i < CT_NS_COUNT; i++)
        free(s->ns[i].path);
    free(s->uid_mappings);
    free(s->gid_mappings);
    free(s);
}

/* ---- helpers ---- */

/* Read until EOF (or EIO: a pty whose slave closed), bounded. */
static size_t read_all(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (n + 1 < size) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= timeout_ms)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(timeout_ms - el)) <= 0)
            break;
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

/* waitpid bounded by the pidfd; -1 on timeout (then killed). */
static int wait_exit(struct ct_child *c, int timeout_ms)
{
    if (c->pidfd >= 0) {
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            return -1;
        }
    }
    int st;
    if (waitpid(c->pid, &st, 0) != c->pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool no_children_left(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* Spawn with stdout+stderr into a pipe; returns the output's fd. */
static int spawn_piped(struct ct_spec *s, const char *fifo, struct ct_child *c,
                       struct disco_err *err, int *rc)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    struct ct_spawn_opts o = {.spec = s, .exec_fifo = fifo, .stdio = {-1, p[1], p[1]}};
    *rc = ct_spawn(&o, c, err);
    close(p[1]);
    return p[0];
}

static int run_capture(struct ct_spec *s, char *out, size_t size, int *status,
                       struct disco_err *err)
{
    struct ct_child c;
    int rc;
    int fd = spawn_piped(s, NULL, &c, err, &rc);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    read_all(fd, out, size, 10000);
    close(fd);
    *status = wait_exit(&c, 10000);
    ct_child_close(&c);
    return 0;
}

static bool need_root(const char *name)
{
    if (geteuid() != 0) {
        printf("SKIP: %s: needs root\n", name);
        return false;
    }
    if (access("/bin/busybox", X_OK) != 0) {
        printf("SKIP: %s: needs /bin/busybox (busybox-static)\n", name);
        return false;
    }
    return true;
}

/* ---- cases ---- */

static void spawn_runs_in_new_namespaces(void)
{
    struct ct_spec *s = spec_new("sh", "-c", "echo $$; hostname; id -u", NULL);
    struct disco_err err = {0};
    char out[512];
    int st = -1;
    int rc = run_capture(s, out, sizeof out, &st, &err);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(out, "1\nctest\n0\n") == 0);
    if (strcmp(out, "1\nctest\n0\n") != 0)
        printf("  output: '%s'\n", out);
    CHECK_EQ(st, 0);
    CHECK(no_children_left());
    spec_free(s);
}

static void spawn_missing_program_is_enoent(void)
{
    struct ct_spec *s = spec_new("no-such-program-xyz", NULL);
    struct disco_err err = {0};
    struct ct_child c;
    int rc;
    int fd = spawn_piped(s, NULL, &c, &err, &rc);
    CHECK_EQ(rc, -ENOENT);
    CHECK(strstr(err.msg, "no-such-program-xyz") != NULL);
    CHECK(strstr(err.msg, "$PATH") != NULL);
    CHECK(no_children_left());
    close(fd);
    /* An absolute path that is missing, too. */
    free(s->process.args[0]);
    s->process.args[0] = strdup("/bin/nope");
    fd = spawn_piped(s, NULL, &c, &err, &rc);
    CHECK_EQ(rc, -ENOENT);
    CHECK(strstr(err.msg, "/bin/nope") != NULL);
    CHECK(no_children_left());
    close(fd);
    /* Found but not executable by the kernel: the execve's own error. */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bin/garbage", g_root);
    FILE *f = fopen(bad, "w");
    if (f) {
        fputs("\x01\x02 not a program\n", f);
        fclose(f);
    }
    chmod(bad, 0755);
    free(s->process.args[0]);
    s->process.args[0] = strdup("garbage");
    fd = spawn_piped(s, NULL, &c, &err, &rc);
    CHECK_EQ(rc, -ENOEXEC);
    CHECK(strstr(err.msg, "exec '/bin/garbage'") != NULL);
    CHECK(no_children_left());
    close(fd);
    unlink(bad);
    spec_free(s);
}

static int before_run_fails(void *ctx, pid_t pid, struct disco_err *err)
{
    (void)ctx;
    return err_set(err, -EADDRINUSE, "network of %d refused", (int)pid);
}

static void spawn_before_run_error_cleans_up(void)
{
    struct ct_spec *s = spec_new("true", NULL);
    struct disco_err err = {0};
    struct ct_child c;
    struct ct_spawn_opts o = {.spec = s, .stdio = {-1, -1, -1}, .before_run = before_run_fails};
    CHECK_EQ(ct_spawn(&o, &c, &err), -EADDRINUSE);
    CHECK(strstr(err.msg, "refused") != NULL);
    CHECK(no_children_left());
    spec_free(s);
}

static void spawn_exec_fifo_waits_for_start(void)
{
    char fifo[400], marker[400];
    snprintf(fifo, sizeof fifo, "%s/exec.fifo", g_tmp);
    snprintf(marker, sizeof marker, "%s/marker", g_root);
    unlink(marker);
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    struct ct_spec *s = spec_new("sh", "-c", "echo ran > /marker", NULL);
    struct disco_err err = {0};
    struct ct_child c;
    int rc;
    int fd = spawn_piped(s, fifo, &c, &err, &rc);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK(access(marker, F_OK) != 0);   /* created, not started */
        /* `start`: open for reading, read the byte. */
        int r = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        CHECK(r >= 0);
        char b[8];
        CHECK_EQ(read_all(r, b, sizeof b, 10000), 1);
        CHECK(b[0] == '0');
        close(r);
        CHECK_EQ(wait_exit(&c, 10000), 0);
        CHECK(access(marker, F_OK) == 0);
        ct_child_close(&c);
    }
    close(fd);
    unlink(fifo);
    unlink(marker);
    spec_free(s);
}

static void spawn_terminal(void)
{
    struct ct_spec *s = spec_new("sh", "-c", "echo hello-tty; tty", NULL);
    s->process.terminal = true;
    s->process.console_rows = 30;
    s->process.console_cols = 100;
    struct disco_err err = {0};
    struct ct_child c;
    struct ct_spawn_opts o = {.spec = s, .stdio = {-1, -1, -1}};
    int rc = ct_spawn(&o, &c, &err);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK(c.pty_master >= 0);
        char out[512];
        read_all(c.pty_master, out, sizeof out, 10000);
        CHECK(strstr(out, "hello-tty") != NULL);
        CHECK(strstr(out, "/dev/pts/0") != NULL);
        CHECK_EQ(wait_exit(&c, 10000), 0);
        ct_child_close(&c);
        CHECK_EQ(c.pty_master, -1);
    }
    spec_free(s);
}

static void spawn_user_namespace_mapping(void)
{
    char owned[400];
    snprintf(owned, sizeof owned, "%s/tmp/owned", g_root);
    unlink(owned);
    struct ct_spec *s = spec_new("sh", "-c", "id -u; touch /tmp/owned", NULL);
    s->ns[CT_NS_USER].enabled = true;
    s->uid_mappings = calloc(1, sizeof *s->uid_mappings);
    s->gid_mappings = calloc(1, sizeof *s->gid_mappings);
    s->uid_mappings[0] = (struct ct_idmap){0, 100000, 65536};
    s->gid_mappings[0] = (struct ct_idmap){0, 100000, 65536};
    s->nuid_mappings = s->ngid_mappings = 1;
    struct disco_err err = {0};
    char out[512];
    int st = -1;
    int rc = run_capture(s, out, sizeof out, &st, &err);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(out, "0\n") == 0);
    CHECK_EQ(st, 0);
    struct stat sb;
    CHECK_EQ(stat(owned, &sb), 0);
    CHECK_EQ(sb.st_uid, 100000);
    CHECK_EQ(sb.st_gid, 100000);
    unlink(owned);
    spec_free(s);
}

/* "0,1,2,..." from `ls -l /proc/self/fd` output; the directory ls itself
 * opened (-> /proc/N/fd) is left out. */
static void fd_list(const char *ls_out, char *out, size_t size)
{
    out[0] = '\0';
    for (const char *l = ls_out; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        char *arrow = strstr(line, " -> ");
        if (arrow) {
            *arrow = '\0';
            const char *target = arrow + 4;
            char *name = strrchr(line, ' ');
            bool own_dir = strncmp(target, "/proc/", 6) == 0 &&
                           strcmp(target + strlen(target) - 3, "/fd") == 0;
            if (name && !own_dir) {
                size_t n = strlen(out);
                snprintf(out + n, size - n, "%s%s", n ? "," : "", name + 1);
            }
        }
        l = nl ? nl + 1 : NULL;
    }
}


/* Not root: a user namespace mapping only our own uid/gid works directly;
 * asking for more without /etc/subuid entries is EPERM. Runs in a child
 * that became uid/gid 65534. */
static void spawn_rootless(void)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(2);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        struct ct_spec *s = spec_new("sh", "-c", "id -u; id -g", NULL);
        s->ns[CT_NS_USER].enabled = true;
        s->uid_mappings = calloc(1, sizeof *s->uid_mappings);
        s->gid_mappings = calloc(1, sizeof *s->gid_mappings);
        s->uid_mappings[0] = (struct ct_idmap){0, 65534, 1};
        s->gid_mappings[0] = (struct ct_idmap){0, 65534, 1};
        s->nuid_mappings = s->ngid_mappings = 1;
        s->process.caps = (struct ct_caps){0};
        struct disco_err err = {0};
        char out[256];
        int st = -1;
        int rc = run_capture(s, out, sizeof out, &st, &err);
        dprintf(p[1], "rc=%d st=%d out=%s|%s\n", rc, st, out, rc < 0 ? err.msg : "");
        s->uid_mappings[0].size = 65536;
        struct ct_child c;
        struct ct_spawn_opts o = {.spec = s, .stdio = {-1, -1, -1}};
        rc = ct_spawn(&o, &c, &err);
        dprintf(p[1], "big=%d left=%d %s\n", rc, no_children_left(), err.msg);
        _exit(0);
    }
    close(p[1]);
    char out[1024];
    read_all(p[0], out, sizeof out, 20000);
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strncmp(out, "rc=0 st=0 out=0\n0\n|\n", strlen("rc=0 st=0 out=0\n0\n|\n")) == 0);
    CHECK(strstr(out, "big=-1 left=1 ") != NULL);   /* -EPERM, nothing left */
    CHECK(strstr(out, "newuidmap") != NULL);
    if (t_st.case_failed)
        printf("  output: '%s'\n", out);
}

static void spawn_leaks_no_host_fd(void)
{
    int host = open("/", O_RDONLY | O_DIRECTORY);      /* no CLOEXEC, on purpose */
    CHECK(host >= 0);
    struct ct_spec *s = spec_new("ls", "-l", "/proc/self/fd", NULL);
    struct disco_err err = {0};
    char out[2048], fds[128];
    int st = -1;
    CHECK_EQ(run_capture(s, out, sizeof out, &st, &err), 0);
    fd_list(out, fds, sizeof fds);
    CHECK(strcmp(fds, "0,1,2") == 0);
    if (strcmp(fds, "0,1,2") != 0)
        printf("  fds: '%s'\n", out);
    CHECK_EQ(st, 0);
    close(host);
    spec_free(s);
}

static int high_fd(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 20);
    close(fd);
    return h;
}

static void spawn_preserve_fds(void)
{
    /* fd 3 (a pipe) is passed on with preserve_fds 1, fd 4 (open, not
     * close-on-exec) is not. Everything else lives above 20. */
    int p[2], out[2];
    CHECK_EQ(pipe(p), 0);
    p[0] = high_fd(p[0]);
    p[1] = high_fd(p[1]);
    CHECK_EQ(pipe(out), 0);
    out[0] = high_fd(out[0]);
    out[1] = high_fd(out[1]);
    int saved3 = fcntl(3, F_DUPFD_CLOEXEC, 20), saved4 = fcntl(4, F_DUPFD_CLOEXEC, 20);
    CHECK_EQ(dup2(p[1], 3), 3);
    close(p[1]);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    CHECK_EQ(dup2(dir, 4), 4);
    if (dir != 4)
        close(dir);
    struct ct_spec *s = spec_new("sh", "-c", "echo via-3 >&3; exec ls -l /proc/self/fd", NULL);
    struct ct_spawn_opts o = {.spec = s, .stdio = {-1, out[1], out[1]}, .preserve_fds = 1};
    struct disco_err err = {0};
    struct ct_child c;
    int rc = ct_spawn(&o, &c, &err);
    CHECK_EQ(rc, 0);
    close(out[1]);
    close(3);
    close(4);
    if (saved3 >= 0) {
        dup2(saved3, 3);
        close(saved3);
    }
    if (saved4 >= 0) {
        dup2(saved4, 4);
        close(saved4);
    }
    if (rc == 0) {
        char b[256], ls[2048], fds[128];
        read_all(out[0], ls, sizeof ls, 10000);
        read_all(p[0], b, sizeof b, 10000);
        CHECK(strcmp(b, "via-3\n") == 0);
        fd_list(ls, fds, sizeof fds);
        CHECK(strcmp(fds, "0,1,2,3") == 0);
        if (strcmp(fds, "0,1,2,3") != 0)
            printf("  fds: '%s'\n", ls);
        CHECK_EQ(wait_exit(&c, 10000), 0);
        ct_child_close(&c);
    }
    close(out[0]);
    close(p[0]);
    spec_free(s);
}

static void spawn_cwd_is_contained(void)
{
    struct ct_spec *s = spec_new("ls", NULL);
    struct disco_err err = {0};
    struct ct_child c;
    const char *bad[] = {"/proc/self/fd/3", "/../..", "/tmp/../../etc", "relative"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        free(s->process.cwd);
        s->process.cwd = strdup(bad[i]);
        struct ct_spawn_opts o = {.spec = s, .stdio = {-1, -1, -1}};
        CHECK_EQ(ct_spawn(&o, &c, &err), -EINVAL);
        CHECK(strstr(err.msg, "cwd") != NULL);
    }
    CHECK(no_children_left());
    /* A symlink climbing out of the root ends at the container's "/". */
    char link[400];
    snprintf(link, sizeof link, "%s/up", g_root);
    unlink(link);
    CHECK_EQ(symlink("../../../../../..", link), 0);
    free(s->process.cwd);
    s->process.cwd = strdup("/up");
    char out[1024];
    int st = -1;
    CHECK_EQ(run_capture(s, out, sizeof out, &st, &err), 0);
    CHECK(strstr(out, "rootmark") != NULL);
    CHECK_EQ(st, 0);
    unlink(link);
    spec_free(s);
}


/* Joining namespaces by path: a second container in the pid namespace of
 * a first (the second fork), and one joining a user namespace by path (its
 * new namespaces unshared from inside it). */
static void spawn_joins_namespaces_by_path(void)
{
    struct ct_spec *s1 = spec_new("sleep", "30", NULL);
    s1->ns[CT_NS_USER].enabled = true;
    s1->uid_mappings = calloc(1, sizeof *s1->uid_mappings);
    s1->gid_mappings = calloc(1, sizeof *s1->gid_mappings);
    s1->uid_mappings[0] = (struct ct_idmap){0, 100000, 65536};
    s1->gid_mappings[0] = (struct ct_idmap){0, 100000, 65536};
    s1->nuid_mappings = s1->ngid_mappings = 1;
    struct disco_err err = {0};
    struct ct_child init;
    struct ct_spawn_opts o = {.spec = s1, .stdio = {-1, -1, -1}};
    int rc = ct_spawn(&o, &init, &err);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc < 0) {
        spec_free(s1);
        return;
    }
    char nspath[64];

    /* 1. Same pid namespace (and user namespace) as the first. */
    struct ct_spec *s2 = spec_new("sh", "-c", "ps; echo pid=$$; id -u", NULL);
    s2->ns[CT_NS_USER].enabled = true;
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/user", (int)init.pid);
    s2->ns[CT_NS_USER].path = strdup(nspath);
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/pid", (int)init.pid);
    s2->ns[CT_NS_PID].path = strdup(nspath);
    char out[2048];
    int st = -1;
    rc = run_capture(s2, out, sizeof out, &st, &err);
    if (rc < 0)
        printf("  ct_spawn (joining): %s\n", err.msg);
    CHECK_EQ(rc, 0);
    CHECK(strstr(out, "sleep 30") != NULL);     /* sees the first's init */
    CHECK(strstr(out, "pid=1\n") == NULL && strstr(out, "pid=") != NULL);
    CHECK(strstr(out, "\n0\n") != NULL);        /* root of the joined user ns */
    CHECK_EQ(st, 0);
    if (t_st.case_failed)
        printf("  output: '%s'\n", out);
    spec_free(s2);

    /* 2. Joined user namespace, everything else new: pid 1 of its own. */
    struct ct_spec *s3 = spec_new("sh", "-c", "echo pid=$$; id -u; hostname", NULL);
    s3->ns[CT_NS_USER].enabled = true;
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/user", (int)init.pid);
    s3->ns[CT_NS_USER].path = strdup(nspath);
    rc = run_capture(s3, out, sizeof out, &st, &err);
    if (rc < 0)
        printf("  ct_spawn (joined user ns): %s\n", err.msg);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(out, "pid=1\n0\nctest\n") == 0);
    CHECK_EQ(st, 0);
    if (strcmp(out, "pid=1\n0\nctest\n") != 0)
        printf("  output: '%s'\n", out);
    spec_free(s3);

    kill(init.pid, SIGKILL);
    CHECK_EQ(wait_exit(&init, 10000), 128 + SIGKILL);
    ct_child_close(&init);
    CHECK(no_children_left());
    spec_free(s1);
}

/* The filter applies with and without no_new_privileges (installed before
 * the capabilities drop, or last). */
static void spawn_seccomp_applies(void)
{
    for (int nnp = 0; nnp < 2; nnp++) {
        struct ct_spec *s = spec_new("sh", "-c", "mkdir /tmp/sc-dir && echo made; echo done", NULL);
        s->process.no_new_privileges = nnp;
        struct ct_seccomp *sc = calloc(1, sizeof *sc);
        sc->default_action = SCMP_ACT_ALLOW;
        sc->rules = calloc(1, sizeof *sc->rules);
        sc->nrules = 1;
        sc->rules[0].names = calloc(3, sizeof(char *));
        sc->rules[0].names[0] = "mkdir";
        sc->rules[0].names[1] = "mkdirat";
        sc->rules[0].nnames = 2;
        sc->rules[0].action = SCMP_ACT_ERRNO(EPERM);
        s->seccomp = sc;
        struct disco_err err = {0};
        char out[512];
        int st = -1;
        int rc = run_capture(s, out, sizeof out, &st, &err);
        if (rc < 0)
            printf("  ct_spawn (nnp %d): %s\n", nnp, err.msg);
        CHECK_EQ(rc, 0);
        CHECK(strstr(out, "made") == NULL);
        CHECK(strstr(out, "done") != NULL);
        char dir[400];
        snprintf(dir, sizeof dir, "%s/tmp/sc-dir", g_root);
        CHECK(access(dir, F_OK) != 0);
        rmdir(dir);
        free(sc->rules[0].names);
        free(sc->rules);
        free(sc);
        s->seccomp = NULL;
        spec_free(s);
    }
}

static void exec_into_running_container(void)
{
    struct ct_spec *s = spec_new("sleep", "30", NULL);
    free(s->hostname);
    s->hostname = strdup("exec-host");
    struct disco_err err = {0};
    struct ct_child init;
    struct ct_spawn_opts o = {.spec = s, .stdio = {-1, -1, -1}};
    int rc = ct_spawn(&o, &init, &err);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc < 0) {
        spec_free(s);
        return;
    }
    struct ct_process pr = s->process;
    char *args[] = {"sh", "-c", "ps; hostname; echo pid=$$", NULL};
    pr.args = args;
    pr.nargs = 3;
    pr.cwd = "/tmp";
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    struct ct_exec_opts eo = {.init_pid = init.pid, .spec = s, .process = &pr,
                              .stdio = {-1, p[1], p[1]}};
    struct ct_child ex;
    rc = ct_exec_spawn(&eo, &ex, &err);
    close(p[1]);
    if (rc < 0)
        printf("  ct_exec_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        char out[2048];
        read_all(p[0], out, sizeof out, 10000);
        CHECK(strstr(out, "sleep 30") != NULL);
        CHECK(strstr(out, "exec-host\n") != NULL);
        CHECK(strstr(out, "pid=1\n") == NULL && strstr(out, "pid=") != NULL);
        /* Our child, reaped here. */
        CHECK_EQ(wait_exit(&ex, 10000), 0);
        ct_child_close(&ex);
        if (t_st.case_failed)
            printf("  output: '%s'\n", out);
    }
    close(p[0]);

    /* With a terminal: a pty of the container's devpts. */
    char *args_tty[] = {"tty", NULL};
    pr.args = args_tty;
    pr.nargs = 1;
    pr.terminal = true;
    eo.stdio[1] = eo.stdio[2] = -1;
    rc = ct_exec_spawn(&eo, &ex, &err);
    if (rc < 0)
        printf("  ct_exec_spawn (terminal): %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        char out[256];
        CHECK(ex.pty_master >= 0);
        read_all(ex.pty_master, out, sizeof out, 10000);
        CHECK(strncmp(out, "/dev/pts/", 9) == 0);
        CHECK_EQ(wait_exit(&ex, 10000), 0);
        ct_child_close(&ex);
    }
    pr.terminal = false;

    /* A missing program through exec: ENOENT, nothing left over. */
    char *args2[] = {"no-such-exec", NULL};
    pr.args = args2;
    pr.nargs = 1;
    eo.stdio[1] = eo.stdio[2] = -1;
    CHECK_EQ(ct_exec_spawn(&eo, &ex, &err), -ENOENT);
    CHECK(strstr(err.msg, "no-such-exec") != NULL);

    /* add_device_node into it. */
    struct ct_device dev = {.path = "/dev/loopish", .type = 'c', .major = 1, .minor = 3,
                            .mode = 0640, .uid = 0, .gid = 0};
    rc = ct_add_device_node(init.pid, &dev, &err);
    if (rc < 0)
        printf("  ct_add_device_node: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/root/dev/loopish", (int)init.pid);
    struct stat sb;
    CHECK_EQ(stat(path, &sb), 0);
    CHECK(S_ISCHR(sb.st_mode));
    CHECK_EQ(major(sb.st_rdev), 1);
    CHECK_EQ(minor(sb.st_rdev), 3);
    CHECK_EQ(sb.st_mode & 07777, 0640);
    /* Outside /dev, or climbing out: refused. */
    dev.path = "/etc/x";
    CHECK_EQ(ct_add_device_node(init.pid, &dev, &err), -EINVAL);
    dev.path = "/dev/../etc/x";
    CHECK_EQ(ct_add_device_node(init.pid, &dev, &err), -EINVAL);

    kill(init.pid, SIGKILL);
    CHECK_EQ(wait_exit(&init, 10000), 128 + SIGKILL);
    ct_child_close(&init);
    CHECK(no_children_left());
    spec_free(s);
}

/* The re-executed test binary's mode: prints what it sees. */
/* The copy holds what the kernel loads, not the section headers and
 * debug info of a -g build: smaller than the original, and no section
 * headers left pointing past its end. */
static bool sealed_copy_trimmed(const char *orig)
{
    struct stat a, b;
    Elf64_Ehdr eh;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fstat(fd, &a) == 0 && stat(orig, &b) == 0 &&
              pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh;
    close(fd);
    return ok && a.st_size < b.st_size && eh.e_shnum == 0 && eh.e_shoff == 0;
}

static int sealed_check_main(const char *orig)
{
    bool sealed = ct_self_is_sealed();
    bool write_refused = true;
    int fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        /* Some kernels let the open through; the seal must stop the write. */
        write_refused = write(fd, "x", 1) < 0;
        close(fd);
    }
    printf("sealed=%d write_refused=%d trimmed=%d\n", sealed, write_refused,
           sealed_copy_trimmed(orig));
    return 0;
}

static void sealed_reexec(void)
{
    CHECK(!ct_self_is_sealed());
    int p[2];
    CHECK_EQ(pipe(p), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        char *argv[] = {(char *)g_self, "--sealed-check", (char *)g_self, NULL};
        struct disco_err err = {0};
        ct_exec_from_sealed_copy(argv, environ, &err);
        fprintf(stderr, "sealed copy: %s\n", err.msg);
        _exit(99);
    }
    close(p[1]);
    char out[128];
    read_all(p[0], out, sizeof out, 10000);
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(out, "sealed=1 write_refused=1 trimmed=1\n") == 0);
    if (strcmp(out, "sealed=1 write_refused=1 trimmed=1\n") != 0)
        printf("  output: '%s'\n", out);
    struct stat sb;
    if (stat(g_self, &sb) == 0)
        printf("  (sealed re-exec of a %lld KiB binary: %.1f ms)\n", (long long)sb.st_size / 1024,
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* Real cgroups (v1 here): the init and an exec'd process end up in the
 * container's cgroup in every hierarchy (they enter by themselves, see
 * ct_cgroup_self_enter_prepare), and without a cgroup namespace the
 * container's /sys/fs/cgroup shows only its own cgroup. */
static void spawn_and_exec_enter_real_cgroup(void)
{
    if (ct_cgroup_detect(NULL) == CT_CGROUP_NONE) {
        SKIP_CASE("no cgroup file system mounted");
        return;
    }
    char rel[64];
    snprintf(rel, sizeof rel, "disco-test-spawn/%d", (int)getpid());
    struct disco_err err = {0};
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(NULL, rel, NULL, &cg, &err);
    if (rc < 0)
        printf("  ct_cgroup_create: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc < 0)
        return;
    struct ct_spec *s = spec_new("sleep", "30", NULL);
    add_mount(s, "/sys/fs/cgroup", "cgroup", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
    struct ct_child init;
    struct ct_spawn_opts o = {.spec = s, .cgroup = cg, .stdio = {-1, -1, -1}};
    rc = ct_spawn(&o, &init, &err);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        pid_t *pids = NULL;
        size_t n = 0;
        CHECK_EQ(ct_cgroup_pids(cg, &pids, &n, &err), 0);
        CHECK(n == 1 && pids && pids[0] == init.pid);
        free(pids);
        /* Every hierarchy disco uses, from /proc/PID/cgroup. */
        char path[64], text[4096];
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)init.pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t len = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
        text[len > 0 ? len : 0] = '\0';
        if (fd >= 0)
            close(fd);
        CHECK(strstr(text, ":pids:/") && strstr(text, ":memory:/") ? true
                                                                     : ct_cgroup_mode(cg) == CT_CGROUP_V2);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            bool used = strstr(line, ":pids:") || strstr(line, ":memory:") ||
                        strstr(line, ":freezer:") || strstr(line, ":devices:") ||
                        strncmp(line, "0::", 3) == 0;
            if (strncmp(line, "0::", 3) == 0 && ct_cgroup_mode(cg) == CT_CGROUP_V1)
                used = false;   /* a hybrid host's empty unified hierarchy */
            if (!used)
                continue;
            size_t ll = strlen(line), rl = strlen(rel);
            CHECK(ll > rl && strcmp(line + ll - rl, rel) == 0);
            if (!(ll > rl && strcmp(line + ll - rl, rel) == 0))
                printf("  init's cgroup line: %s\n", line);
        }

        struct ct_process pr = s->process;
        char *args[] = {"sh", "-c",
                        "grep -c disco-test-spawn /proc/self/cgroup; "
                        "cat /sys/fs/cgroup/pids/cgroup.procs | sort -n | head -1; "
                        "ls /sys/fs/cgroup/pids | grep -c disco-test-spawn; exit 0", NULL};
        pr.args = args;
        pr.nargs = 3;
        int p[2];
        CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
        struct ct_exec_opts eo = {.init_pid = init.pid, .spec = s, .process = &pr,
                                  .cgroup = cg, .stdio = {-1, p[1], p[1]}};
        struct ct_child ex;
        rc = ct_exec_spawn(&eo, &ex, &err);
        close(p[1]);
        if (rc < 0)
            printf("  ct_exec_spawn: %s\n", err.msg);
        CHECK_EQ(rc, 0);
        if (rc == 0) {
            char out[256];
            read_all(p[0], out, sizeof out, 10000);
            CHECK_EQ(wait_exit(&ex, 10000), 0);
            ct_child_close(&ex);
            /* In the cgroup in every v1 hierarchy (at least pids, memory,
             * devices, freezer, cpu...); its pids view starts at the init
             * (pid 1 in the container); no host tree above it. */
            int lines = 0, first = 0, host_dirs = -1;
            CHECK(sscanf(out, "%d\n%d\n%d", &lines, &first, &host_dirs) == 3);
            CHECK(lines >= (ct_cgroup_mode(cg) == CT_CGROUP_V1 ? 4 : 1));
            CHECK_EQ(first, 1);
            CHECK_EQ(host_dirs, 0);
            if (t_st.case_failed)
                printf("  exec output: '%s'\n", out);
        }
        close(p[0]);
        kill(init.pid, SIGKILL);
        CHECK_EQ(wait_exit(&init, 10000), 128 + SIGKILL);
        ct_child_close(&init);
    }
    CHECK_EQ(ct_cgroup_destroy(cg, &err), 0);
    ct_cgroup_free(cg);
    /* The parent it made, in each hierarchy (v2: the top one). */
    rmdir("/sys/fs/cgroup/disco-test-spawn");
    DIR *d = opendir("/sys/fs/cgroup");
    for (struct dirent *de; d && (de = readdir(d));) {
        char dir[512];
        snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s/disco-test-spawn", de->d_name);
        if (de->d_name[0] != '.')
            rmdir(dir);
    }
    if (d)
        closedir(d);
    spec_free(s);
    CHECK(no_children_left());
}

/* cgroup v2 through clone3(CLONE_INTO_CGROUP): a hybrid host's unified
 * hierarchy (no controllers) is real cgroup2, so this runs here too. */
static void spawn_into_v2_cgroup(void)
{
    const char *root = NULL;
    if (ct_cgroup_detect("/sys/fs/cgroup/unified") == CT_CGROUP_V2)
        root = "/sys/fs/cgroup/unified";
    else if (ct_cgroup_detect(NULL) == CT_CGROUP_V2)
        root = "/sys/fs/cgroup";
    if (!root) {
        SKIP_CASE("no cgroup2 hierarchy mounted");
        return;
    }
    char rel[64];
    snprintf(rel, sizeof rel, "disco-test-v2-%d", (int)getpid());
    struct disco_err err = {0};
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(root, rel, NULL, &cg, &err);
    if (rc < 0)
        printf("  ct_cgroup_create(%s): %s\n", root, err.msg);
    CHECK_EQ(rc, 0);
    if (rc < 0)
        return;
    CHECK_EQ(ct_cgroup_mode(cg), CT_CGROUP_V2);
    struct ct_spec *s = spec_new("cat", "/proc/self/cgroup", NULL);
    char out[1024];
    int st = -1;
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    struct ct_spawn_opts o = {.spec = s, .cgroup = cg, .stdio = {-1, p[1], p[1]}};
    struct ct_child c;
    rc = ct_spawn(&o, &c, &err);
    close(p[1]);
    if (rc < 0)
        printf("  ct_spawn: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        read_all(p[0], out, sizeof out, 10000);
        st = wait_exit(&c, 10000);
        ct_child_close(&c);
        CHECK_EQ(st, 0);
        char want[96];
        snprintf(want, sizeof want, "0::/%s\n", rel);
        CHECK(strstr(out, want) != NULL);
        if (!strstr(out, want))
            printf("  /proc/self/cgroup: '%s' (want '%s')\n", out, want);
    }
    close(p[0]);
    CHECK_EQ(ct_cgroup_destroy(cg, &err), 0);
    ct_cgroup_free(cg);
    spec_free(s);
    CHECK(no_children_left());
}

/* ---- the rootfs ---- */

static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static bool make_rootfs(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/disco-test-spawn-XXXXXX");
    if (!mkdtemp(g_tmp))
        return false;
    /* The user-namespace case runs as host uid 100000: it must traverse. */
    chmod(g_tmp, 0755);
    snprintf(g_root, sizeof g_root, "%s/rootfs", g_tmp);
    return sh("set -e; R=%s; mkdir -p $R/bin $R/proc $R/dev $R/tmp $R/etc; chmod 1777 $R/tmp;"
              "cp /bin/busybox $R/bin/; touch $R/rootmark;"
              "for c in sh true echo cat ls ps sleep id hostname mount touch tty; do"
              " ln -sf busybox $R/bin/$c; done",
              g_root) == 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--sealed-check") == 0)
        return sealed_check_main(argv[2]);
    g_self = realpath("/proc/self/exe", NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);   /* the children must not inherit it (reset) */
    if (!need_root("test_ct_spawn")) {
        RUN(sealed_reexec);
        T_EXIT();
    }
    if (!make_rootfs()) {
        printf("FAIL: make_rootfs: could not build a busybox rootfs\n");
        return 1;
    }
    RUN(spawn_runs_in_new_namespaces);
    RUN(spawn_missing_program_is_enoent);
    RUN(spawn_before_run_error_cleans_up);
    RUN(spawn_exec_fifo_waits_for_start);
    RUN(spawn_terminal);
    RUN(spawn_user_namespace_mapping);
    RUN(spawn_rootless);
    RUN(spawn_leaks_no_host_fd);
    RUN(spawn_preserve_fds);
    RUN(spawn_cwd_is_contained);
    RUN(spawn_joins_namespaces_by_path);
    RUN(spawn_and_exec_enter_real_cgroup);
    RUN(spawn_into_v2_cgroup);
    RUN(spawn_seccomp_applies);
    RUN(exec_into_running_container);
    RUN(sealed_reexec);
    sh("rm -rf %s", g_tmp);
    free((void *)g_self);
    T_EXIT();
}

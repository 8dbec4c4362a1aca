/* Starting container processes: ct_spawn (the first one), ct_exec_spawn
 * (another one inside a running container), ct_add_device_node, and the
 * sealed re-execution against CVE-2019-5736. The order of the steps is the
 * one spawn.h describes.
 *
 * Everything between the clone and the execve runs in a copy of a possibly
 * multi-threaded process: only system calls and the async-signal-safe
 * helpers of ct/child.h, on data the parent prepared (see child.h).
 *
 * Namespaces. The new ones are created by clone3 itself, except:
 *  - cgroup: unshared by the child after the parent moved it into its
 *    cgroup, so that cgroup is the root of its view;
 *  - when the user namespace is joined by path, nothing is created by the
 *    clone: the child joins the user namespace first and unshares the new
 *    namespaces from inside it, so they belong to it.
 * A pid namespace joined by path (or created by unshare) only applies to
 * children, so the child forks once more (CLONE_PARENT: the grandchild is
 * the caller's child), reports the grandchild's pid and exits; the
 * grandchild goes on. Limitation: with a NEW user namespace, namespaces
 * joined by path must be ones the new user namespace may enter (owned by
 * it or a descendant); joining host-owned ones then fails with EPERM from
 * setns, named in the error (runc joins them before unsharing the user
 * namespace; disco does not, to keep one clone).
 *
 * Sync protocol over a SOCK_SEQPACKET socketpair, fixed-size messages:
 *   parent -> child: GO (arg: setgroups allowed)
 *   child -> parent: PID (second fork), PTY (the master, SCM_RIGHTS),
 *                    READY, ERR (errno + message)
 * The child's end is close-on-exec: EOF after READY means the execve
 * happened (without an exec fifo). */
#define _GNU_SOURCE
#include "ct/spawn.h"

#include "ct/child.h"
#include "ct/rootfs.h"
#include "ct/security.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

extern char **environ;

/* The kernel's struct clone_args (v0 layout, 64 bytes), spelled here so
 * <linux/sched.h> and <sched.h> need not be mixed. */
struct ct_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

enum sync_type { SYNC_GO = 1, SYNC_PID, SYNC_PTY, SYNC_READY, SYNC_ERR };

struct sync_msg {
    int type;
    int arg;                    /* GO: setgroups allowed */
    pid_t pid;                  /* PID: the grandchild, in the caller's pid namespace */
    struct ct_child_err e;      /* ERR */
};

/* 3 + preserve_fds must not overflow; more is no use (RLIMIT_NOFILE). */
#define PRESERVE_FDS_MAX (1 << 20)

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* /proc/PID/ns names and flags, in the order namespaces are joined (as
 * nsenter: user first, mount last so the others' paths still resolve). */
static const struct {
    enum ct_ns ns;
    const char *proc_name;
    int flag;
} ns_join_order[CT_NS_COUNT] = {
    {CT_NS_USER, "user", CLONE_NEWUSER}, {CT_NS_CGROUP, "cgroup", CLONE_NEWCGROUP},
    {CT_NS_IPC, "ipc", CLONE_NEWIPC},    {CT_NS_UTS, "uts", CLONE_NEWUTS},
    {CT_NS_NET, "net", CLONE_NEWNET},    {CT_NS_PID, "pid", CLONE_NEWPID},
    {CT_NS_MOUNT, "mnt", CLONE_NEWNS},
};

static int ns_flag(enum ct_ns ns)
{
    for (int i = 0; i < CT_NS_COUNT; i++)
        if (ns_join_order[i].ns == ns)
            return ns_join_order[i].flag;
    return 0;
}

static bool ns_new(const struct ct_spec *s, enum ct_ns ns)
{
    return s->ns[ns].enabled && !s->ns[ns].path;
}

/* ------------------------------------------------------------------ */
/* Small async-signal-safe helpers (child side).                       */

static void child_utoa(char *buf, size_t size, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    size_t i = 0;
    while (n && i + 1 < size)
        buf[i++] = tmp[--n];
    buf[i] = '\0';
}

static void child_write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static int sync_send(int sock, int type, int arg, pid_t pid, const struct ct_child_err *e)
{
    struct sync_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.arg = arg;
    m.pid = pid;
    if (e)
        m.e = *e;
    for (;;) {
        ssize_t n = send(sock, &m, sizeof m, MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof m)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static int sync_send_fd(int sock, int type, int fd)
{
    struct sync_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof m)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* Receive one message (and an fd passed with it: *fd, else -1).
 * Returns 1, 0 on EOF, -errno. */
static int sync_recv(int sock, struct sync_msg *m, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    if (fd)
        *fd = -1;
    for (;;) {
        struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof u.buf};
        memset(m, 0, sizeof *m);
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int got;
                memcpy(&got, CMSG_DATA(c), sizeof got);
                if (fd && *fd < 0)
                    *fd = got;
                else
                    close(got);
            }
        }
        if (n == 0)
            return 0;
        if (n != (ssize_t)sizeof *m)
            return -EPROTO;
        m->e.msg[sizeof m->e.msg - 1] = '\0';
        return 1;
    }
}

/* Child: block for GO. Returns false when the parent went away. */
static bool child_wait_go(int sock, int *arg)
{
    struct sync_msg m;
    int r = sync_recv(sock, &m, NULL);
    if (r != 1 || m.type != SYNC_GO)
        return false;
    if (arg)
        *arg = m.arg;
    return true;
}

static __attribute__((noreturn)) void child_die(int sock, const struct ct_child_err *e)
{
    if (sock >= 0)
        sync_send(sock, SYNC_ERR, 0, 0, e);
    _exit(1);
}

/* A clone that behaves like fork (no CLONE_VM, no stack). flags: namespace
 * flags, CLONE_PARENT. *pidfd gets a pidfd when the kernel makes one. */
/* cgroup_fd >= 0: CLONE_INTO_CGROUP (v2); without clone3 that fails with
 * ENOSYS and the caller enters the cgroup another way. */
static pid_t raw_fork_into(uint64_t flags, int *pidfd, int cgroup_fd)
{
    int pfd = -1;
    struct ct_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = flags | (pidfd ? CLONE_PIDFD : 0);
    if (cgroup_fd >= 0) {
        a.flags |= CLONE_INTO_CGROUP;
        a.cgroup = (uint64_t)cgroup_fd;
    }
    a.pidfd = (uint64_t)(uintptr_t)&pfd;
    /* With CLONE_PARENT the child's exit signal is the caller's anyway. */
    a.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r < 0 && errno == ENOSYS && cgroup_fd < 0) {
        unsigned long f = (unsigned long)flags | ((flags & CLONE_PARENT) ? 0 : SIGCHLD);
        r = syscall(SYS_clone, f, 0UL, 0UL, 0UL, 0UL);
        pfd = -1;
    }
    if (r > 0 && pidfd)
        *pidfd = pfd;
    return (pid_t)r;
}

static pid_t raw_fork(uint64_t flags, int *pidfd)
{
    return raw_fork_into(flags, pidfd, -1);
}

/* A new, still single-threaded process entering its cgroup by itself (see
 * ct_cgroup_self_enter_prepare). */
static void child_self_enter_cgroup(struct ct_cgroup_self_enter *se, int sock)
{
    if (!se)
        return;
    /* v2: clone3 used it already; it must not reach the container. */
    if (se->v2_fd >= 0)
        close(se->v2_fd);
    se->v2_fd = -1;
    if (!se->n)
        return;
    int r = ct_cgroup_self_enter(se);
    for (size_t i = 0; i < se->n; i++)
        close(se->tasks_fd[i]);
    se->n = 0;
    if (r < 0) {
        struct ct_child_err e;
        memset(&e, 0, sizeof e);
        child_die(sock, (ct_child_fail(&e, -r, "entering the container's cgroup", NULL), &e));
    }
}

/* Child, first thing: the parent's handlers (and ignored signals, which
 * would survive execve) must not apply to it; the parent blocked all
 * signals around the clone, unblock them here. */
static void child_reset_signals(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        sigaction(sig, &dfl, NULL);     /* glibc-internal ones: EINVAL, fine */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void close_range_fallback(unsigned lo, unsigned hi)
{
    if (lo > hi)
        return;
    if (syscall(SYS_close_range, lo, hi, 0) == 0)
        return;
    struct rlimit rl;
    unsigned max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
        max = (unsigned)rl.rlim_cur;
    for (unsigned fd = lo; fd <= hi && fd < max; fd++)
        close((int)fd);
}

/* Close every fd >= lo but keep_a and keep_b (-1: none). */
static void close_fds_except(int lo, int keep_a, int keep_b)
{
    if (keep_a > keep_b) {
        int t = keep_a;
        keep_a = keep_b;
        keep_b = t;
    }
    unsigned next = (unsigned)lo;
    int keep[2] = {keep_a, keep_b};
    for (int i = 0; i < 2; i++) {
        if (keep[i] < lo)
            continue;
        if ((unsigned)keep[i] > next)
            close_range_fallback(next, (unsigned)keep[i] - 1);
        next = (unsigned)keep[i] + 1;
    }
    close_range_fallback(next, ~0U);
}

/* Move fd to a number >= floor (close-on-exec), closing the old one. */
static int child_move_fd(int fd, int floor, struct ct_child_err *e)
{
    if (fd < 0 || fd >= floor)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (n < 0)
        return ct_child_fail(e, errno, "moving a setup fd", NULL), -1;
    close(fd);
    return n;
}

/* "cwd" must be absolute, without "..", and not a /proc fd link (leaked
 * host directories: CVE-2024-21626). Parent side. */
static int check_cwd(const char *cwd, struct disco_err *err)
{
    if (!cwd || cwd[0] != '/')
        return err_set(err, -EINVAL, "process.cwd '%s' must be absolute", cwd ? cwd : "");
    for (const char *p = cwd; *p;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        if (end - p == 2 && p[0] == '.' && p[1] == '.')
            return err_set(err, -EINVAL, "process.cwd '%s' must not contain '..'", cwd);
        p = end;
    }
    if (strncmp(cwd, "/proc/self/fd", 13) == 0 || strncmp(cwd, "/proc/thread-self/fd", 20) == 0 ||
        (strncmp(cwd, "/proc/", 6) == 0 && strstr(cwd, "/fd")))
        return err_set(err, -EINVAL, "process.cwd '%s' must not be a /proc fd link", cwd);
    return 0;
}

/* Only sysctls of a namespace the container has (runc's list): others
 * are the host's, e.g. kernel.core_pattern would run a host command. */
static bool sysctl_namespaced(const struct ct_spec *s, const char *k)
{
    static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                      "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                      "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (size_t i = 0; i < sizeof ipc / sizeof ipc[0]; i++)
        if (strcmp(k, ipc[i]) == 0)
            return s->ns[CT_NS_IPC].enabled;
    if (strncmp(k, "fs.mqueue.", 10) == 0)
        return s->ns[CT_NS_IPC].enabled;
    if (strncmp(k, "net.", 4) == 0)
        return s->ns[CT_NS_NET].enabled;
    if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0)
        return s->ns[CT_NS_UTS].enabled;
    return false;
}

static int check_process(const struct ct_process *p, struct disco_err *err)
{
    if (!p || !p->args || p->nargs < 1 || !p->args[0] || !p->args[0][0])
        return err_set(err, -EINVAL, "process.args must name a program");
    return check_cwd(p->cwd, err);
}

/* chdir to cwd, creating it when missing (as runc does: images name
 * working directories that do not exist yet). */
static int child_chdir(const char *cwd)
{
    if (chdir(cwd) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    char buf[PATH_MAX];
    size_t n = strlen(cwd);
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, cwd, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return chdir(cwd);
}

/* The working directory must be inside the root: the kernel's getcwd
 * prefixes "(unreachable)" otherwise. */
static bool child_cwd_reachable(void)
{
    char buf[PATH_MAX];
    long r = syscall(SYS_getcwd, buf, sizeof buf);
    return r > 0 && buf[0] == '/';
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The program: args[0] as is when it has a '/', else the first match on
 * the PATH of the process's environment. */
static int child_find_program(const struct ct_process *p, char *out, size_t size,
                              struct ct_child_err *e)
{
    const char *a0 = p->args[0];
    size_t alen = strlen(a0);
    if (strchr(a0, '/')) {
        struct stat st;
        if (alen >= size)
            return ct_child_fail(e, ENAMETOOLONG, "executable file", a0);
        if (stat(a0, &st) < 0)
            return ct_child_fail(e, errno, "exec: stat", a0);
        if (S_ISDIR(st.st_mode))
            return ct_child_fail(e, EISDIR, "exec: not a file:", a0);
        memcpy(out, a0, alen + 1);
        return 0;
    }
    const char *path = DEFAULT_PATH;
    for (size_t i = 0; p->env && p->env[i]; i++) {
        if (strncmp(p->env[i], "PATH=", 5) == 0) {
            path = p->env[i] + 5;
            break;
        }
    }
    for (const char *d = path;;) {
        const char *end = strchr(d, ':');
        size_t dlen = end ? (size_t)(end - d) : strlen(d);
        if (dlen == 0) {
            d = ".";
            dlen = 1;
        }
        if (dlen + 1 + alen < size) {
            memcpy(out, d, dlen);
            out[dlen] = '/';
            memcpy(out + dlen + 1, a0, alen + 1);
            if (is_executable_file(out))
                return 0;
        }
        if (!end)
            break;
        d = end + 1;
    }
    ct_child_fail(e, ENOENT, "executable file", a0);
    ct_child_msg_cat(e, " not found in $PATH");
    return -1;
}

/* What child_finish needs: the process part of the setup, shared by the
 * first process and exec'd ones. */
struct finish_plan {
    const struct ct_process *proc;
    int stdio[3];
    int preserve_fds;
    int fifo_fd;                /* -1: none */
    const struct ct_bpf *bpf;
    int cap_last;
    /* Its own session even without a terminal (the container's init, as in
     * LXC): a session led from outside its pid namespace is one CRIU
     * cannot dump, and nothing in the container should share the
     * runtime's. */
    bool new_session;
};

/* From the terminal or stdio to the execve. Never returns. */
static __attribute__((noreturn)) void child_finish(const struct finish_plan *fp, int sock,
                                                   bool setgroups_allowed)
{
    struct ct_child_err e;
    memset(&e, 0, sizeof e);
    const struct ct_process *p = fp->proc;
    int floor = 3 + (fp->preserve_fds > 0 ? fp->preserve_fds : 0);
    int fifo = fp->fifo_fd;

    /* Out of the way of the preserved fds, which are closed otherwise. */
    sock = child_move_fd(sock, floor, &e);
    if (sock < 0)
        _exit(1);
    if (fifo >= 0 && (fifo = child_move_fd(fifo, floor, &e)) < 0)
        child_die(sock, &e);

    if (p->terminal) {
        int master = -1, slave = -1;
        if (ct_child_open_pty(&master, &slave, &e) < 0)
            child_die(sock, &e);
        if (sync_send_fd(sock, SYNC_PTY, master) < 0)
            child_die(sock, &e);
        close(master);
        if (setsid() < 0)
            child_die(sock, (ct_child_fail(&e, errno, "setsid", NULL), &e));
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
            child_die(sock, (ct_child_fail(&e, errno, "ioctl TIOCSCTTY", NULL), &e));
        if (p->console_rows || p->console_cols) {
            struct winsize ws = {.ws_row = (unsigned short)p->console_rows,
                                 .ws_col = (unsigned short)p->console_cols};
            if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                child_die(sock, (ct_child_fail(&e, errno, "ioctl TIOCSWINSZ", NULL), &e));
        }
        for (int i = 0; i < 3; i++)
            if (dup2(slave, i) < 0)
                child_die(sock, (ct_child_fail(&e, errno, "dup2 of the console", NULL), &e));
        if (slave > 2)
            close(slave);
    } else {
        if (fp->new_session && setsid() < 0)
            child_die(sock, (ct_child_fail(&e, errno, "setsid", NULL), &e));
        /* Through temporaries, so stdio[1] == 0 and the like work. */
        int tmp[3] = {-1, -1, -1};
        for (int i = 0; i < 3; i++)
            if (fp->stdio[i] >= 0 && (tmp[i] = fcntl(fp->stdio[i], F_DUPFD_CLOEXEC, floor)) < 0)
                child_die(sock, (ct_child_fail(&e, errno, "dup of a stdio fd", NULL), &e));
        for (int i = 0; i < 3; i++) {
            if (tmp[i] < 0)
                continue;
            if (dup2(tmp[i], i) < 0)
                child_die(sock, (ct_child_fail(&e, errno, "dup2 of a stdio fd", NULL), &e));
            close(tmp[i]);
        }
    }

    /* No host fd may reach the container (CVE-2024-21626): everything
     * above the preserved ones goes, before any chdir. */
    for (int fd = 3; fd < floor; fd++)
        fcntl(fd, F_SETFD, 0);
    close_fds_except(floor, sock, fifo);

    if (ct_child_rlimits(p, &e) < 0)
        child_die(sock, &e);
    /* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: before
     * the capabilities go. With it, as late as possible (runc's order). */
    if (fp->bpf && fp->bpf->len && !p->no_new_privileges && ct_child_seccomp(fp->bpf, &e) < 0)
        child_die(sock, &e);

    /* First as root (directories only root may enter), again as the user
     * when that was refused. */
    const char *cwd = p->cwd ? p->cwd : "/";
    int cwd_errno = child_chdir(cwd) == 0 ? 0 : errno;

    if (ct_child_set_user_and_caps(p, fp->cap_last, setgroups_allowed, &e) < 0)
        child_die(sock, &e);
    if (p->no_new_privileges && ct_child_no_new_privs(&e) < 0)
        child_die(sock, &e);

    if (cwd_errno == EACCES || cwd_errno == EPERM)
        cwd_errno = child_chdir(cwd) == 0 ? 0 : errno;
    if (cwd_errno)
        child_die(sock, (ct_child_fail(&e, cwd_errno, "chdir to process.cwd", cwd), &e));
    if (!child_cwd_reachable())
        child_die(sock, (ct_child_fail(&e, EPERM, "process.cwd outside the root:", cwd), &e));

    char prog[PATH_MAX];
    if (child_find_program(p, prog, sizeof prog, &e) < 0)
        child_die(sock, &e);

    if (sync_send(sock, SYNC_READY, 0, 0, NULL) < 0)
        _exit(1);

    if (fifo >= 0) {
        /* The parent is gone from the socket; `start` opening the fifo
         * for reading is the signal. */
        close(sock);
        sock = -1;
        char link[64] = "/proc/self/fd/";
        child_utoa(link + 14, sizeof link - 14, (unsigned long)fifo);
        int w;
        do
            w = open(link, O_WRONLY | O_CLOEXEC);
        while (w < 0 && errno == EINTR);
        if (w < 0) {
            child_write_all(2, "disco: container init: opening the exec fifo failed\n");
            _exit(127);
        }
        if (write(w, "0", 1) != 1) {
            child_write_all(2, "disco: container init: writing the exec fifo failed\n");
            _exit(127);
        }
        close(w);
        close(fifo);
    }

    if (fp->bpf && fp->bpf->len && p->no_new_privileges && ct_child_seccomp(fp->bpf, &e) < 0) {
        child_write_all(2, "disco: container init: ");
        child_write_all(2, e.msg);
        child_write_all(2, "\n");
        child_die(sock, &e);
    }

    char *empty_env[] = {NULL};
    execve(prog, p->args, p->env ? p->env : empty_env);
    int xe = errno;
    char num[24];
    child_utoa(num, sizeof num, (unsigned long)xe);
    child_write_all(2, "disco: container init: exec '");
    child_write_all(2, prog);
    child_write_all(2, "' failed: errno ");
    child_write_all(2, num);
    child_write_all(2, "\n");
    ct_child_fail(&e, xe, "exec", prog);
    if (sock >= 0)
        sync_send(sock, SYNC_ERR, 0, 0, &e);
    _exit(127);
}

/* ------------------------------------------------------------------ */
/* Parent side.                                                        */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int write_file(const char *path, const char *text, struct disco_err *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "open '%s'", path);
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    if (w < 0)
        return err_errno(err, e, "write '%s'", path);
    if ((size_t)w != n)
        return err_set(err, -EIO, "short write to '%s'", path);
    return 0;
}

static void reap(pid_t pid, int *status)
{
    int st = 0;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
        ;
    if (status)
        *status = st;
}

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

static const char *find_helper(const char *name, char *buf, size_t size)
{
    static const char *const dirs[] = {"/usr/bin", "/bin", "/usr/sbin", "/sbin"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, size, "%s/%s", dirs[i], name);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

/* newuidmap / newgidmap PID cid hid size ... (shadow's setuid helpers,
 * checked against /etc/subuid and /etc/subgid). */
static int run_idmap_helper(const char *name, pid_t pid, const struct ct_idmap *m, size_t n,
                            struct disco_err *err)
{
    char path[64];
    if (!find_helper(name, path, sizeof path))
        return err_set(err, -EPERM,
                       "user namespace: mapping more than our own id needs %s (package uidmap) "
                       "and /etc/sub%cid entries",
                       name, name[3] == 'u' ? 'u' : 'g');
    size_t argc = 2 + 3 * n + 1;
    char **argv = calloc(argc, sizeof *argv);
    char *nums = calloc(1 + 3 * n, 16);
    if (!argv || !nums) {
        free(argv);
        free(nums);
        return err_set(err, -ENOMEM, "out of memory");
    }
    argv[0] = (char *)name;
    argv[1] = nums;
    snprintf(nums, 16, "%d", (int)pid);
    for (size_t i = 0; i < n; i++) {
        uint32_t v[3] = {m[i].container_id, m[i].host_id, m[i].size};
        for (int k = 0; k < 3; k++) {
            char *s = nums + 16 * (1 + 3 * i + (size_t)k);
            snprintf(s, 16, "%u", v[k]);
            argv[2 + 3 * i + (size_t)k] = s;
        }
    }
    /* Its complaint (which range /etc/subuid refused) goes into the error. */
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        free(argv);
        free(nums);
        return err_errno(err, errno, "pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    pid_t hp;
    int r = posix_spawn(&hp, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    free(nums);
    close(ep[1]);
    if (r != 0) {
        close(ep[0]);
        return err_errno(err, r, "running %s", path);
    }
    char msg[256];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(ep[0], msg + got, sizeof msg - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof msg - 1)
            break;
    }
    close(ep[0]);
    msg[got] = '\0';
    while (got && (msg[got - 1] == '\n' || msg[got - 1] == ' '))
        msg[--got] = '\0';
    int st;
    reap(hp, &st);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return err_set(err, -EPERM, "%s for pid %d failed (status %d)%s%s", path, (int)pid,
                       status_code(st), got ? ": " : " (check /etc/subuid, /etc/subgid)", msg);
    return 0;
}

static char *idmap_text(const struct ct_idmap *m, size_t n)
{
    size_t size = n * 36 + 1;
    char *s = malloc(size);
    if (!s)
        return NULL;
    size_t off = 0;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(s + off, size - off, "%u %u %u\n", m[i].container_id,
                                m[i].host_id, m[i].size);
    return s;
}

static int write_idmap(pid_t pid, const char *file, const struct ct_idmap *m, size_t n,
                       struct disco_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    char *text = idmap_text(m, n);
    if (!text)
        return err_set(err, -ENOMEM, "out of memory");
    int r = write_file(path, text, err);
    free(text);
    return r;
}

/* uid_map / gid_map of the child's new user namespace. *setgroups_allowed:
 * what /proc/PID/setgroups says afterwards. */
static int setup_user_ns(const struct ct_spec *s, pid_t pid, bool *setgroups_allowed,
                         struct disco_err *err)
{
    if (!s->nuid_mappings || !s->ngid_mappings)
        return err_set(err, -EINVAL,
                       "linux.uidMappings/gidMappings: a new user namespace needs both");
    int r;
    if (geteuid() == 0) {
        if ((r = write_idmap(pid, "uid_map", s->uid_mappings, s->nuid_mappings, err)) < 0 ||
            (r = write_idmap(pid, "gid_map", s->gid_mappings, s->ngid_mappings, err)) < 0)
            return r;
    } else {
        /* Unprivileged: only our own id, directly (setgroups "deny" first
         * for the gid); anything more through newuidmap/newgidmap. */
        bool own_uid = s->nuid_mappings == 1 && s->uid_mappings[0].size == 1 &&
                       s->uid_mappings[0].host_id == geteuid();
        bool own_gid = s->ngid_mappings == 1 && s->gid_mappings[0].size == 1 &&
                       s->gid_mappings[0].host_id == getegid();
        r = own_uid ? write_idmap(pid, "uid_map", s->uid_mappings, 1, err)
                    : run_idmap_helper("newuidmap", pid, s->uid_mappings, s->nuid_mappings, err);
        if (r < 0)
            return r;
        if (own_gid) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
            if ((r = write_file(path, "deny", err)) < 0 ||
                (r = write_idmap(pid, "gid_map", s->gid_mappings, 1, err)) < 0)
                return r;
        } else if ((r = run_idmap_helper("newgidmap", pid, s->gid_mappings, s->ngid_mappings,
                                         err)) < 0) {
            return r;
        }
    }
    char path[64], buf[16] = "";
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    *setgroups_allowed = strncmp(buf, "deny", 4) != 0;
    return 0;
}

static int write_oom_score_adj(pid_t pid, int v, struct disco_err *err)
{
    char path[64], text[16];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
    snprintf(text, sizeof text, "%d", v);
    return write_file(path, text, err);
}

static int open_pidfd(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The parent's view of a child being set up. */
struct setup {
    int sock;                   /* our end */
    pid_t pid;                  /* the process that will exec */
    int pidfd;
    pid_t intermediate;         /* still to reap (second fork), 0: none */
    int pty_master;
    bool have_fifo;
};

static void setup_abort(struct setup *su)
{
    close_fd(&su->sock);        /* children waiting for GO see EOF */
    if (su->pid > 0) {
        kill(su->pid, SIGKILL);
        reap(su->pid, NULL);
        su->pid = 0;
    }
    if (su->intermediate > 0) {
        kill(su->intermediate, SIGKILL);
        reap(su->intermediate, NULL);
        su->intermediate = 0;
    }
    close_fd(&su->pidfd);
    close_fd(&su->pty_master);
}

/* After GO: the second fork's pid, the pty, then READY or an error; then
 * (no fifo) EOF = the execve happened. on_pid: called for the grandchild
 * before it is let go (exec: cgroup). */
static int setup_wait(struct setup *su, const char *who, int go_arg,
                      int (*on_pid)(void *ctx, pid_t pid, struct disco_err *err), void *ctx,
                      struct disco_err *err)
{
    bool ready = false;
    for (;;) {
        struct sync_msg m;
        int fd = -1;
        int r = sync_recv(su->sock, &m, &fd);
        if (r < 0)
            return err_errno(err, r, "%s: reading the sync socket", who);
        if (r == 0) {
            if (ready && !su->have_fifo)
                return 0;       /* close-on-exec: it exec'd */
            pid_t pid = su->pid;
            int st = 0;
            if (su->intermediate > 0) {
                reap(su->intermediate, &st);
                su->intermediate = 0;
            } else {
                reap(pid, &st);
                su->pid = 0;
            }
            return err_set(err, -EIO, "%s exited during setup (status %d)", who,
                           status_code(st));
        }
        switch (m.type) {
        case SYNC_PID: {
            if (su->intermediate <= 0 || m.pid <= 0)
                return err_set(err, -EPROTO, "%s: unexpected pid message", who);
            /* The grandchild is ours (CLONE_PARENT); its parent exits. */
            int st = 0;
            reap(su->intermediate, &st);
            su->intermediate = 0;
            su->pid = m.pid;
            close_fd(&su->pidfd);
            su->pidfd = open_pidfd(su->pid);
            if (on_pid && (r = on_pid(ctx, su->pid, err)) < 0)
                return r;
            (void)sync_send(su->sock, SYNC_GO, go_arg, 0, NULL);   /* failure: EOF next */
            break;
        }
        case SYNC_PTY:
            if (fd < 0)
                return err_set(err, -EPROTO, "%s: console message without an fd", who);
            close_fd(&su->pty_master);
            su->pty_master = fd;
            fd = -1;
            break;
        case SYNC_READY:
            ready = true;
            if (su->have_fifo)
                return 0;
            break;
        case SYNC_ERR: {
            int e = m.e.err > 0 ? m.e.err : EIO;
            if (fd >= 0)
                close(fd);
            return err_errno(err, e, "%s: %s", who, m.e.msg);
        }
        default:
            if (fd >= 0)
                close(fd);
            return err_set(err, -EPROTO, "%s: unknown sync message %d", who, m.type);
        }
        if (fd >= 0)
            close(fd);
    }
}

struct spawn_plan {
    const struct ct_spec *spec;
    struct ct_rootfs *rootfs;   /* new mount namespace; NULL otherwise */
    int ns_fd[CT_NS_COUNT];     /* to join, -1 */
    int late_unshare;           /* CLONE_NEW* the child unshares after joining */
    bool second_fork;
    bool in_userns;             /* new or joined */
    bool chroot_root;           /* no mount namespace at all */
    struct ct_cgroup_self_enter cg_enter;  /* v1 tasks fds; n 0: not by itself */
    struct finish_plan fp;
};

static __attribute__((noreturn)) void spawn_child(struct spawn_plan *pl, int sock, int parent_sock)
{
    struct ct_child_err e;
    memset(&e, 0, sizeof e);
    const struct ct_spec *s = pl->spec;
    child_reset_signals();
    close(parent_sock);
    child_self_enter_cgroup(&pl->cg_enter, sock);

    /* The parent writes our uid_map/gid_map/setgroups: they must be its
     * (a non-dumpable process's /proc files belong to root). */
    if (ns_new(s, CT_NS_USER))
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int go_arg = 0;
    if (!child_wait_go(sock, &go_arg))
        _exit(1);
    /* The parent wrote our /proc files; from now on nothing in the
     * container may ptrace us or open /proc/PID/{mem,exe}. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    for (int i = 0; i < CT_NS_COUNT; i++) {
        enum ct_ns ns = ns_join_order[i].ns;
        if (pl->ns_fd[ns] < 0)
            continue;
        if (setns(pl->ns_fd[ns], ns_join_order[i].flag) < 0)
            child_die(sock, (ct_child_fail(&e, errno, "setns", s->ns[ns].path), &e));
        close(pl->ns_fd[ns]);
    }
    if (pl->in_userns) {
        /* Root of its user namespace: full capabilities there. */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            child_die(sock, (ct_child_fail(&e, errno, "setresuid to root in the user namespace",
                                           NULL), &e));
    }
    if (pl->late_unshare && unshare(pl->late_unshare) < 0)
        child_die(sock, (ct_child_fail(&e, errno, "unshare of the new namespaces", NULL), &e));
    if (pl->second_fork) {
        pid_t g = raw_fork(CLONE_PARENT, NULL);
        if (g < 0)
            child_die(sock, (ct_child_fail(&e, errno, "fork into the pid namespace", NULL), &e));
        if (g > 0) {
            sync_send(sock, SYNC_PID, 0, g, NULL);
            _exit(0);
        }
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (!child_wait_go(sock, &go_arg))
            _exit(1);
    }
    if (s->ns[CT_NS_CGROUP].enabled && !s->ns[CT_NS_CGROUP].path &&
        unshare(CLONE_NEWCGROUP) < 0)
        child_die(sock, (ct_child_fail(&e, errno, "unshare of the cgroup namespace", NULL), &e));
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        child_die(sock, (ct_child_fail(&e, errno, "sethostname", s->hostname), &e));

    if (pl->rootfs) {
        if (ct_rootfs_enter(pl->rootfs, &e) < 0)
            child_die(sock, &e);
    } else if (pl->chroot_root && s->root_path) {
        /* No mount namespace: the weaker chroot (documented). */
        if (chdir(s->root_path) < 0 || chroot(".") < 0)
            child_die(sock, (ct_child_fail(&e, errno, "chroot", s->root_path), &e));
    }
    child_finish(&pl->fp, sock, go_arg != 0);
}

static void plan_release(struct spawn_plan *pl, struct ct_bpf *bpf)
{
    for (int i = 0; i < CT_NS_COUNT; i++)
        close_fd(&pl->ns_fd[i]);
    close_fd(&pl->fp.fifo_fd);
    ct_cgroup_self_enter_release(&pl->cg_enter);
    if (pl->rootfs)
        ct_rootfs_free(pl->rootfs);
    pl->rootfs = NULL;
    ct_bpf_free(bpf);
    memset(bpf, 0, sizeof *bpf);
}

int ct_spawn(const struct ct_spawn_opts *o, struct ct_child *out, struct disco_err *err)
{
    if (!o || !o->spec || !out)
        return err_set(err, -EINVAL, "ct_spawn: no spec");
    const struct ct_spec *s = o->spec;
    out->pid = 0;
    out->pidfd = -1;
    out->pty_master = -1;
    int r = check_process(&s->process, err);
    if (r < 0)
        return r;
    if (s->hostname && !s->ns[CT_NS_UTS].enabled)
        return err_set(err, -EINVAL, "hostname: needs a uts namespace");
    if (o->preserve_fds < 0 || o->preserve_fds > PRESERVE_FDS_MAX)
        return err_set(err, -EINVAL, "preserve_fds %d (0..%d)", o->preserve_fds,
                       PRESERVE_FDS_MAX);
    for (size_t i = 0; i < s->nsysctl; i++)
        if (!s->sysctl_keys[i] || !sysctl_namespaced(s, s->sysctl_keys[i]))
            return err_set(err, -EINVAL, "linux.sysctl: '%s' is not in a namespace of the "
                           "container: setting it would change the host",
                           s->sysctl_keys[i] ? s->sysctl_keys[i] : "");

    struct spawn_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.spec = s;
    for (int i = 0; i < CT_NS_COUNT; i++)
        pl.ns_fd[i] = -1;
    pl.fp.proc = &s->process;
    for (int i = 0; i < 3; i++)
        pl.fp.stdio[i] = o->stdio[i];
    pl.fp.preserve_fds = o->preserve_fds;
    pl.fp.fifo_fd = -1;
    pl.fp.cap_last = ct_cap_last();
    struct ct_bpf bpf = {0};
    pl.fp.bpf = &bpf;
    pl.in_userns = s->ns[CT_NS_USER].enabled;
    pl.cg_enter.v2_fd = -1;
    pl.fp.new_session = true;
    bool user_joined = pl.in_userns && s->ns[CT_NS_USER].path;

    uint64_t new_flags = 0;
    for (int i = 0; i < CT_NS_COUNT; i++)
        if (i != CT_NS_CGROUP && ns_new(s, (enum ct_ns)i))
            new_flags |= (uint64_t)ns_flag((enum ct_ns)i);
    uint64_t clone_flags = new_flags;
    if (user_joined) {
        /* Created from inside the joined user namespace, so they are its. */
        clone_flags = 0;
        pl.late_unshare = (int)new_flags;
        pl.second_fork = ns_new(s, CT_NS_PID);
    }
    if (s->ns[CT_NS_PID].enabled && s->ns[CT_NS_PID].path)
        pl.second_fork = true;
    pl.chroot_root = !s->ns[CT_NS_MOUNT].enabled;

    int sv[2] = {-1, -1};
    struct setup su = {.sock = -1, .pid = 0, .pidfd = -1, .pty_master = -1,
                       .have_fifo = o->exec_fifo != NULL};

    if (ns_new(s, CT_NS_MOUNT) &&
        (r = ct_rootfs_prepare(s, pl.in_userns, o->cgroup, &pl.rootfs, err)) < 0)
        goto fail;
    if (s->seccomp && (r = ct_seccomp_compile(s->seccomp, &bpf, err)) < 0)
        goto fail;
    for (int i = 0; i < CT_NS_COUNT; i++) {
        if (!s->ns[i].enabled || !s->ns[i].path)
            continue;
        pl.ns_fd[i] = open(s->ns[i].path, O_RDONLY | O_CLOEXEC);
        if (pl.ns_fd[i] < 0) {
            r = err_errno(err, errno, "linux.namespaces: %s path '%s'", ct_ns_name((enum ct_ns)i),
                          s->ns[i].path);
            goto fail;
        }
    }
    if (o->exec_fifo && (pl.fp.fifo_fd = open(o->exec_fifo, O_PATH | O_CLOEXEC)) < 0) {
        r = err_errno(err, errno, "exec fifo '%s'", o->exec_fifo);
        goto fail;
    }
    /* Fake trees (tests) and failures leave it empty: we write its pid. */
    if (o->cgroup)
        (void)ct_cgroup_self_enter_prepare(o->cgroup, &pl.cg_enter, NULL);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = err_errno(err, errno, "socketpair");
        goto fail;
    }

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    pid_t pid = raw_fork_into(clone_flags, &pidfd, pl.cg_enter.v2_fd);
    bool cg_entered = pid > 0 && (pl.cg_enter.v2_fd >= 0 || pl.cg_enter.n > 0);
    if (pid < 0 && pl.cg_enter.v2_fd >= 0)     /* refused (no clone3?): the old way */
        pid = raw_fork(clone_flags, &pidfd);
    if (pid == 0)
        spawn_child(&pl, sv[1], sv[0]);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close_fd(&sv[1]);
    su.sock = sv[0];
    if (pid < 0) {
        r = err_errno(err, clone_errno, "clone of the container init (flags 0x%llx)",
                      (unsigned long long)clone_flags);
        goto fail;
    }
    /* The child has its own copy of all this. */
    plan_release(&pl, &bpf);
    su.pid = pid;
    su.pidfd = pidfd >= 0 ? pidfd : open_pidfd(pid);
    if (pl.second_fork) {
        su.intermediate = pid;
        su.pid = 0;
    }

    bool setgroups_allowed = true;
    if (ns_new(s, CT_NS_USER) && (r = setup_user_ns(s, pid, &setgroups_allowed, err)) < 0)
        goto fail;
    if (user_joined) {
        /* Joined: what the namespace's creator chose, seen through the
         * process of a /proc/PID/ns/user path. */
        char path[PATH_MAX], buf[16] = "";
        const char *p = s->ns[CT_NS_USER].path;
        const char *nsp = strstr(p, "/ns/user");
        if (strncmp(p, "/proc/", 6) == 0 && nsp && (size_t)(nsp - p) < sizeof path - 16) {
            snprintf(path, sizeof path, "%.*s/setgroups", (int)(nsp - p), p);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t n = read(fd, buf, sizeof buf - 1);
                buf[n > 0 ? n : 0] = '\0';
                close(fd);
            }
            setgroups_allowed = strncmp(buf, "deny", 4) != 0;
        }
    }
    if (o->cgroup && !cg_entered && (r = ct_cgroup_enter(o->cgroup, pid, err)) < 0)
        goto fail;
    if (s->process.oom_score_adj_set &&
        (r = write_oom_score_adj(pid, s->process.oom_score_adj, err)) < 0)
        goto fail;
    if (o->before_run && (r = o->before_run(o->ctx, pid, err)) < 0)
        goto fail;
    /* A child that died already shows as EOF below, with its status. */
    (void)sync_send(su.sock, SYNC_GO, setgroups_allowed, 0, NULL);
    if ((r = setup_wait(&su, "container init", setgroups_allowed, NULL, NULL, err)) < 0)
        goto fail;
    close_fd(&su.sock);
    out->pid = su.pid;
    out->pidfd = su.pidfd;
    out->pty_master = su.pty_master;
    return 0;

fail:
    plan_release(&pl, &bpf);
    close_fd(&sv[0]);
    close_fd(&sv[1]);
    su.sock = -1;
    setup_abort(&su);
    return r;
}

/* ------------------------------------------------------------------ */
/* exec into a running container                                       */

struct exec_plan {
    int ns_fd[CT_NS_COUNT];
    int root_fd;                /* the init's root to chroot into (no mount ns joined), -1 */
    bool in_userns;
    struct ct_cgroup_self_enter cg_enter;  /* v1: the grandchild enters by itself */
    struct finish_plan fp;
};

static __attribute__((noreturn)) void exec_child(struct exec_plan *pl, int sock, int parent_sock)
{
    struct ct_child_err e;
    memset(&e, 0, sizeof e);
    child_reset_signals();
    close(parent_sock);
    /* Inside the container's namespaces before exec: nothing there may
     * ptrace us or read our memory. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    for (int i = 0; i < CT_NS_COUNT; i++) {
        enum ct_ns ns = ns_join_order[i].ns;
        if (pl->ns_fd[ns] < 0)
            continue;
        if (setns(pl->ns_fd[ns], ns_join_order[i].flag) < 0)
            child_die(sock, (ct_child_fail(&e, errno, "setns into the container's",
                                           ns_join_order[i].proc_name), &e));
        close(pl->ns_fd[ns]);
    }
    /* A container without a mount namespace of its own is chrooted: so is
     * what runs in it, or it would see the host's root. */
    if (pl->root_fd >= 0 && (fchdir(pl->root_fd) < 0 || chroot(".") < 0))
        child_die(sock, (ct_child_fail(&e, errno, "chroot into the container's root", NULL), &e));
    pid_t g = raw_fork(CLONE_PARENT, NULL);
    if (g < 0)
        child_die(sock, (ct_child_fail(&e, errno, "fork into the pid namespace", NULL), &e));
    if (g > 0) {
        sync_send(sock, SYNC_PID, 0, g, NULL);
        _exit(0);
    }
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    int go_arg = 0;
    if (!child_wait_go(sock, &go_arg))
        _exit(1);
    /* After GO, which follows our pid reaching the parent: an error here
     * is then one the parent can clean up after (it knows to reap us). */
    child_self_enter_cgroup(&pl->cg_enter, sock);
    if (pl->in_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        child_die(sock, (ct_child_fail(&e, errno, "setresuid to root in the user namespace",
                                       NULL), &e));
    child_finish(&pl->fp, sock, go_arg != 0);
}

struct exec_pid_ctx {
    const struct ct_exec_opts *o;
    bool cg_entered;            /* the process entered by itself */
};

static int exec_on_pid(void *ctx, pid_t pid, struct disco_err *err)
{
    const struct ct_exec_opts *o = ((struct exec_pid_ctx *)ctx)->o;
    int r;
    if (o->cgroup && !((struct exec_pid_ctx *)ctx)->cg_entered &&
        (r = ct_cgroup_enter(o->cgroup, pid, err)) < 0)
        return r;
    if (o->process->oom_score_adj_set &&
        (r = write_oom_score_adj(pid, o->process->oom_score_adj, err)) < 0)
        return r;
    return 0;
}

/* /proc/PID/ns/NAME unless it is the namespace we are in. Returns the fd,
 * -1 when identical, -errno. */
static int open_target_ns(pid_t pid, const char *name, struct disco_err *err)
{
    char path[64], self[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
    snprintf(self, sizeof self, "/proc/self/ns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "open '%s'", path);
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
        close(fd);
        return -1;
    }
    return fd;
}

int ct_exec_spawn(const struct ct_exec_opts *o, struct ct_child *out, struct disco_err *err)
{
    if (!o || !o->spec || !o->process || !out || o->init_pid <= 0)
        return err_set(err, -EINVAL, "ct_exec_spawn: no spec, process or init pid");
    out->pid = 0;
    out->pidfd = -1;
    out->pty_master = -1;
    int r = check_process(o->process, err);
    if (r < 0)
        return r;
    if (o->preserve_fds < 0 || o->preserve_fds > PRESERVE_FDS_MAX)
        return err_set(err, -EINVAL, "preserve_fds %d (0..%d)", o->preserve_fds,
                       PRESERVE_FDS_MAX);
    const struct ct_spec *s = o->spec;

    struct exec_plan pl;
    memset(&pl, 0, sizeof pl);
    for (int i = 0; i < CT_NS_COUNT; i++)
        pl.ns_fd[i] = -1;
    pl.root_fd = -1;
    pl.cg_enter.v2_fd = -1;
    pl.fp.proc = o->process;
    for (int i = 0; i < 3; i++)
        pl.fp.stdio[i] = o->stdio[i];
    pl.fp.preserve_fds = o->preserve_fds;
    pl.fp.fifo_fd = -1;
    pl.fp.cap_last = ct_cap_last();
    struct ct_bpf bpf = {0};
    pl.fp.bpf = &bpf;
    int sv[2] = {-1, -1};
    struct setup su = {.sock = -1, .pidfd = -1, .pty_master = -1};
    bool setgroups_allowed = true;

    for (int i = 0; i < CT_NS_COUNT; i++) {
        enum ct_ns ns = ns_join_order[i].ns;
        if (!s->ns[ns].enabled)
            continue;
        int fd = open_target_ns(o->init_pid, ns_join_order[i].proc_name, err);
        if (fd < -1) {
            r = fd;
            goto fail;
        }
        pl.ns_fd[ns] = fd;
    }
    if (pl.ns_fd[CT_NS_MOUNT] < 0) {
        /* No mount namespace to join: the init's root (a chroot) unless it
         * is ours. */
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/root", (int)o->init_pid);
        pl.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat a, b;
        if (pl.root_fd < 0) {
            r = err_errno(err, errno, "open '%s'", path);
            goto fail;
        }
        if (fstat(pl.root_fd, &a) == 0 && stat("/", &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            close_fd(&pl.root_fd);
    }
    if (pl.ns_fd[CT_NS_USER] >= 0) {
        pl.in_userns = true;
        char path[64], buf[16] = "";
        snprintf(path, sizeof path, "/proc/%d/setgroups", (int)o->init_pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = '\0';
            close(fd);
        }
        setgroups_allowed = strncmp(buf, "deny", 4) != 0;
    }
    if (s->seccomp && (r = ct_seccomp_compile(s->seccomp, &bpf, err)) < 0)
        goto fail;
    /* v1 only: v2's CLONE_INTO_CGROUP from inside the container's
     * namespaces would be judged by their delegation rules. */
    if (o->cgroup && ct_cgroup_mode(o->cgroup) == CT_CGROUP_V1)
        (void)ct_cgroup_self_enter_prepare(o->cgroup, &pl.cg_enter, NULL);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = err_errno(err, errno, "socketpair");
        goto fail;
    }

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = raw_fork(0, NULL);
    if (pid == 0)
        exec_child(&pl, sv[1], sv[0]);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close_fd(&sv[1]);
    su.sock = sv[0];
    if (pid < 0) {
        r = err_errno(err, clone_errno, "fork of the exec process");
        goto fail;
    }
    for (int i = 0; i < CT_NS_COUNT; i++)
        close_fd(&pl.ns_fd[i]);
    close_fd(&pl.root_fd);
    ct_bpf_free(&bpf);
    memset(&bpf, 0, sizeof bpf);
    su.intermediate = pid;
    struct exec_pid_ctx ctx = {o, pl.cg_enter.n > 0};
    ct_cgroup_self_enter_release(&pl.cg_enter);

    if ((r = setup_wait(&su, "exec", setgroups_allowed, exec_on_pid, &ctx, err)) < 0)
        goto fail;
    close_fd(&su.sock);
    out->pid = su.pid;
    out->pidfd = su.pidfd;
    out->pty_master = su.pty_master;
    return 0;

fail:
    for (int i = 0; i < CT_NS_COUNT; i++)
        close_fd(&pl.ns_fd[i]);
    close_fd(&pl.root_fd);
    ct_cgroup_self_enter_release(&pl.cg_enter);
    ct_bpf_free(&bpf);
    close_fd(&sv[0]);
    close_fd(&sv[1]);
    su.sock = -1;
    setup_abort(&su);
    return r;
}

/* ------------------------------------------------------------------ */
/* add_device_node                                                     */

static int check_dev_path(const char *path, struct disco_err *err)
{
    if (!path || strncmp(path, "/dev/", 5) != 0 || !path[5])
        return err_set(err, -EINVAL, "device path '%s' must be under /dev", path ? path : "");
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        if ((end - p == 2 && p[0] == '.' && p[1] == '.') || (end - p == 1 && p[0] == '.'))
            return err_set(err, -EINVAL, "device path '%s' must not contain '.' or '..'", path);
        p = end;
    }
    if (path[strlen(path) - 1] == '/')
        return err_set(err, -EINVAL, "device path '%s' names a directory", path);
    return 0;
}

int ct_add_device_node(pid_t init_pid, const struct ct_device *dev, struct disco_err *err)
{
    if (!dev || init_pid <= 0)
        return err_set(err, -EINVAL, "add device: no device or pid");
    int r = check_dev_path(dev->path, err);
    if (r < 0)
        return r;
    mode_t type;
    switch (dev->type) {
    case 'c':
    case 'u':
        type = S_IFCHR;
        break;
    case 'b':
        type = S_IFBLK;
        break;
    case 'p':
        type = S_IFIFO;
        break;
    default:
        return err_set(err, -EINVAL, "device '%s': type '%c' is not c, b, u or p", dev->path,
                       dev->type ? dev->type : '?');
    }
    mode_t mode = type | ((dev->mode ? dev->mode : 0666) & 07777);
    dev_t rdev = makedev(dev->major, dev->minor);
    const char *rel = dev->path + 5;

    int user_fd = open_target_ns(init_pid, "user", err);
    if (user_fd < -1)
        return user_fd;
    int mnt_fd = open_target_ns(init_pid, "mnt", err);
    if (mnt_fd < -1) {
        if (user_fd >= 0)
            close(user_fd);
        return mnt_fd;
    }
    /* No mount namespace of its own (a chroot): its /dev is under the
     * init's root, not ours. */
    int root_fd = -1;
    if (mnt_fd < 0) {
        char rp[64];
        snprintf(rp, sizeof rp, "/proc/%d/root", (int)init_pid);
        if ((root_fd = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
            r = err_errno(err, errno, "open '%s'", rp);
            goto out;
        }
        struct stat a, b;
        if (fstat(root_fd, &a) == 0 && stat("/", &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            close(root_fd);
            root_fd = -1;
        }
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        r = err_errno(err, errno, "pipe");
        goto out;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = raw_fork(0, NULL);
    if (pid == 0) {
        struct ct_child_err e;
        memset(&e, 0, sizeof e);
        child_reset_signals();
        close(pfd[0]);
        /* Holds the daemon's fds while inside: nothing there may ptrace it. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        int ok = 0;
        if (user_fd >= 0 && setns(user_fd, CLONE_NEWUSER) < 0)
            ct_child_fail(&e, errno, "setns into the container's user namespace", NULL);
        else if (mnt_fd >= 0 && setns(mnt_fd, CLONE_NEWNS) < 0)
            ct_child_fail(&e, errno, "setns into the container's mount namespace", NULL);
        else if (root_fd >= 0 && (fchdir(root_fd) < 0 || chroot(".") < 0))
            ct_child_fail(&e, errno, "chroot into the container's root", NULL);
        else {
            /* After setns our root is the container's: nothing resolves
             * outside it. */
            umask(0);
            int dfd = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (dfd < 0)
                ct_child_fail(&e, errno, "open", "/dev");
            else if (mknodat(dfd, rel, mode, rdev) < 0)
                ct_child_fail(&e, errno, "mknod", dev->path);
            else if (fchownat(dfd, rel, dev->uid, dev->gid, AT_SYMLINK_NOFOLLOW) < 0)
                ct_child_fail(&e, errno, "chown", dev->path);
            else
                ok = 1;
        }
        if (!ok)
            (void)!write(pfd[1], &e, sizeof e);
        _exit(ok ? 0 : 1);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        r = err_errno(err, fork_errno, "fork to add device '%s'", dev->path);
        goto out;
    }
    struct ct_child_err e;
    memset(&e, 0, sizeof e);
    ssize_t n;
    do
        n = read(pfd[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    int st;
    reap(pid, &st);
    if (n == (ssize_t)sizeof e) {
        e.msg[sizeof e.msg - 1] = '\0';
        r = err_errno(err, e.err > 0 ? e.err : EIO, "add device: %s", e.msg);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        r = err_set(err, -EIO, "add device '%s': helper failed (status %d)", dev->path,
                    status_code(st));
    } else {
        r = 0;
    }
out:
    if (user_fd >= 0)
        close(user_fd);
    if (mnt_fd >= 0)
        close(mnt_fd);
    if (root_fd >= 0)
        close(root_fd);
    return r;
}

void ct_child_close(struct ct_child *c)
{
    if (!c)
        return;
    close_fd(&c->pidfd);
    close_fd(&c->pty_master);
}

/* ------------------------------------------------------------------ */
/* CVE-2019-5736                                                        */

#define SEALS_NEEDED (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

bool ct_self_is_sealed(void)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int seals = fcntl(fd, F_GET_SEALS);
    close(fd);
    return seals >= 0 && (seals & SEALS_NEEDED) == SEALS_NEEDED;
}

/* How much of the executable the kernel and ld.so read: up to the end of
 * the last segment (what the program headers describe). The rest is
 * section headers and debug info, 3/4 of a -g build, copied for nothing on
 * every start. Anything unexpected: the whole file. *eh: the ELF header
 * (valid when the result is below size). */
static off_t loaded_size(int fd, off_t size, Elf64_Ehdr *ehp)
{
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
        return size;
    *ehp = eh;
    Elf64_Phdr ph[256];
    size_t len = (size_t)eh.e_phnum * sizeof ph[0];
    if (eh.e_phoff > (uint64_t)size || pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
        return size;
    uint64_t end = eh.e_phoff + len;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_offset > (uint64_t)size || ph[i].p_filesz > (uint64_t)size - ph[i].p_offset)
            return size;
        if (ph[i].p_offset + ph[i].p_filesz > end)
            end = ph[i].p_offset + ph[i].p_filesz;
    }
    return end < sizeof eh ? size : (off_t)end;
}

int ct_exec_from_sealed_copy(char **argv, char **envp, struct disco_err *err)
{
    if (ct_self_is_sealed())
        return 0;
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return err_errno(err, errno, "open /proc/self/exe");
    struct stat st;
    if (fstat(src, &st) < 0) {
        int e = errno;
        close(src);
        return err_errno(err, e, "stat /proc/self/exe");
    }
    int mfd = memfd_create("disco", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) {
        int e = errno;
        close(src);
        return err_errno(err, e, "memfd_create");
    }
    int r = 0;
    Elf64_Ehdr eh;
    off_t left = loaded_size(src, st.st_size, &eh);
    bool trimmed = left < st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? err_errno(err, errno, "copying /proc/self/exe into a memfd")
                      : err_set(err, -EIO, "/proc/self/exe shrank while copying");
            goto out;
        }
        left -= n;
    }
    if (trimmed) {
        /* The section headers were cut off with the debug info: say so. */
        eh.e_shoff = 0;
        eh.e_shnum = 0;
        eh.e_shstrndx = SHN_UNDEF;
        if (pwrite(mfd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh) {
            r = err_errno(err, errno ? errno : EIO, "patching the memfd copy");
            goto out;
        }
    }
    if (fcntl(mfd, F_ADD_SEALS, SEALS_NEEDED) < 0) {
        r = err_errno(err, errno, "sealing the memfd copy");
        goto out;
    }
    close(src);
    src = -1;
    syscall(SYS_execveat, mfd, "", argv, envp ? envp : environ, AT_EMPTY_PATH);
    r = err_errno(err, errno, "execveat of the sealed copy");
out:
    if (src >= 0)
        close(src);
    close(mfd);
    return r;
}

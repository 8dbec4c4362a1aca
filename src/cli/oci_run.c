/* `disco oci` verbs that start processes: create, start, run, exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/oci.h"
#include "ct/cgroup.h"
#include "ct/spawn.h"
#include "ct/spec.h"

extern char **environ;

#define START_TIMEOUT_MS 30000

/* CVE-2019-5736: re-execute from a sealed memfd copy of ourselves before
 * anything runs in a container, under the disco-oci name (main() dispatches
 * on it whatever argv[0] this process was started with). */
static int seal_self(struct oci *o)
{
    if (ct_self_is_sealed())
        return 0;
    char **av = calloc((size_t)o->argc + 1, sizeof *av);
    if (!av)
        return oci_fail(o, "out of memory");
    av[0] = "disco-oci";
    for (int i = 1; i < o->argc; i++)
        av[i] = o->argv[i];
    struct disco_err err;
    err_clear(&err);
    int rc = ct_exec_from_sealed_copy(av, environ, &err);
    free(av);
    if (rc < 0)
        return oci_fail(o, "cannot re-execute from a sealed copy: %s", err.msg);
    return 0;
}

static int write_pid_file(struct oci *o, const char *path, pid_t pid)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    int rc = oci_write_atomic(path, buf, (size_t)n, 0644);
    if (rc < 0)
        return oci_fail(o, "cannot write the pid file %s: %s", path, strerror(-rc));
    return 0;
}

static int wait_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return EXIT_RUNTIME;
}

static int kill_and_reap(pid_t pid, int pidfd)
{
    if (pidfd >= 0)
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    else if (pid > 0)
        kill(pid, SIGKILL);
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* ---- the foreground: signals forwarded, the terminal relayed ---- */

struct relay {
    int master;                 /* pty master, -1: none */
    bool raw;                   /* our terminal was put in raw mode */
    struct termios saved;
};

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        ioctl(to, TIOCSWINSZ, &ws);
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 1000);
            continue;
        }
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Wait for our child pid (pidfd may be -1), forwarding the usual signals
 * to it and relaying the terminal when master >= 0. Returns its exit
 * status (128+signal when killed). */
static int foreground(pid_t pid, int pidfd, int master)
{
    struct relay r = {.master = master};
    sigset_t set, old;
    sigemptyset(&set);
    int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
        sigaddset(&set, fwd[i]);
    sigprocmask(SIG_BLOCK, &set, &old);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int own_pidfd = -1;
    if (pidfd < 0)
        pidfd = own_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (master >= 0) {
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &r.saved) == 0) {
            struct termios t = r.saved;
            cfmakeraw(&t);
            if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
                r.raw = true;
            copy_winsize(STDIN_FILENO, master);
        }
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    }
    bool stdin_open = master >= 0;
    bool master_open = master >= 0;
    bool exited = false;
    int status = 0;
    char buf[8192];
    while (!exited || master_open) {
        if (exited) {
            /* Drain what the container wrote before it went. */
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) == 0)
                continue;
            break;
        }
        struct pollfd p[4] = {
            {.fd = pidfd, .events = POLLIN},
            {.fd = sfd, .events = POLLIN},
            {.fd = master_open ? master : -1, .events = POLLIN},
            {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
        };
        /* Without a pidfd, poll the child every 100 ms. */
        int n = poll(p, 4, pidfd < 0 ? 100 : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (pidfd < 0 || (p[0].revents & POLLIN)) {
            pid_t w = waitpid(pid, &status, pidfd < 0 ? WNOHANG : 0);
            if (w == pid || (w < 0 && errno == ECHILD))
                exited = true;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGWINCH) {
                    if (master >= 0)
                        copy_winsize(STDIN_FILENO, master);
                } else if (pidfd >= 0) {
                    syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
                } else {
                    kill(pid, (int)si.ssi_signo);
                }
            }
        }
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r2 = read(master, buf, sizeof buf);
            if (r2 > 0)
                write_all(STDOUT_FILENO, buf, (size_t)r2);
            else if (r2 == 0 || (errno != EAGAIN && errno != EINTR))
                master_open = false;    /* EIO: every slave closed */
        }
        if (p[3].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r3 = read(STDIN_FILENO, buf, sizeof buf);
            if (r3 > 0) {
                write_all(master, buf, (size_t)r3);
            } else if (r3 == 0 || (errno != EAGAIN && errno != EINTR)) {
                stdin_open = false;
                /* EOF on our input: pass it on as the terminal's EOF char. */
                char eof = 4;
                write_all(master, &eof, 1);
            }
        }
    }
    if (r.raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &r.saved);
    if (own_pidfd >= 0)
        close(own_pidfd);
    if (sfd >= 0)
        close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return wait_status(status);
}

/* ---- create ---- */

struct create_opts {
    const char *bundle, *console_socket, *pid_file, *id;
    int preserve_fds;
    bool run;                   /* `run`: exec at once, no fifo */
    bool detach, keep;          /* run --detach / --keep */
};

/* The container being made, and what to undo if it fails. */
struct making {
    struct oci_state st;
    struct ct_spec *spec;
    struct ct_cgroup *cg;
    struct ct_child child;
    bool dir_made;
};

static void making_undo(struct oci *o, struct making *m)
{
    if (m->child.pid > 0) {
        kill_and_reap(m->child.pid, m->child.pidfd);
        m->child.pid = 0;
    }
    if (m->cg) {
        struct disco_err err;
        ct_cgroup_signal_all(m->cg, SIGKILL, &err);
        if (ct_cgroup_destroy(m->cg, &err) < 0)
            oci_warn(o, "cannot remove the cgroup %s: %s", m->st.cgroup, err.msg);
    }
    if (m->dir_made) {
        char path[PATH_MAX + 32];
        const char *files[] = {OCI_STATE_FILE, OCI_FIFO_FILE, OCI_CONFIG_FILE};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", m->st.dir, files[i]);
            unlink(path);
        }
        rmdir(m->st.dir);
        m->dir_made = false;
    }
}

static void making_free(struct making *m)
{
    ct_child_close(&m->child);
    if (m->cg)
        ct_cgroup_free(m->cg);
    ct_spec_free(m->spec);
    oci_state_clear(&m->st);
}

/* The host uid/gid that is root in the container (the exec fifo is given
 * to it, as runc does, so a user-namespaced init can open it). */
static void container_root_ids(const struct ct_spec *s, uid_t *uid, gid_t *gid)
{
    *uid = 0;
    *gid = 0;
    if (!s->ns[CT_NS_USER].enabled)
        return;
    for (size_t i = 0; i < s->nuid_mappings; i++)
        if (s->uid_mappings[i].container_id == 0)
            *uid = s->uid_mappings[i].host_id;
    for (size_t i = 0; i < s->ngid_mappings; i++)
        if (s->gid_mappings[i].container_id == 0)
            *gid = s->gid_mappings[i].host_id;
}

static int make_container(struct oci *o, const struct create_opts *co, struct making *m)
{
    struct disco_err err;
    err_clear(&err);
    char bundle[PATH_MAX];
    if (!realpath(co->bundle, bundle))
        return oci_fail(o, "bundle %s: %s", co->bundle, strerror(errno));
    char cfg_path[PATH_MAX + 32];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", bundle);
    char *cfg = oci_read_file(cfg_path, 16 << 20);
    if (!cfg)
        return oci_fail(o, "cannot read %s: %s", cfg_path, strerror(errno));
    int rc = ct_spec_parse(cfg, bundle, &m->spec, &err);
    if (rc < 0) {
        free(cfg);
        return oci_fail(o, "%s: %s", cfg_path, err.msg[0] ? err.msg : strerror(-rc));
    }
    struct ct_spec *s = m->spec;
    bool fg_terminal = co->run && !co->detach && !co->console_socket;
    if (s->process.terminal && !co->console_socket && !fg_terminal) {
        free(cfg);
        return oci_fail(o, "process.terminal is set: --console-socket is required");
    }
    if (!s->process.terminal && co->console_socket) {
        free(cfg);
        return oci_fail(o, "--console-socket given but process.terminal is false");
    }

    struct oci_state *st = &m->st;
    snprintf(st->id, sizeof st->id, "%s", co->id);
    snprintf(st->bundle, sizeof st->bundle, "%s", bundle);
    snprintf(st->rootfs, sizeof st->rootfs, "%s", s->root_path ? s->root_path : "");
    snprintf(st->oci_version, sizeof st->oci_version, "%s", s->oci_version ? s->oci_version : OCI_SPEC_VERSION);
    oci_time_now(st->created, sizeof st->created);
    if (s->nannotations) {
        st->annotations = json_object_new_object();
        for (size_t i = 0; i < s->nannotations; i++)
            json_object_object_add(st->annotations, s->annotation_keys[i],
                                   json_object_new_string(s->annotation_values[i]));
    }

    rc = oci_mkdir_p(o->root, 0700);
    if (rc < 0) {
        free(cfg);
        return oci_fail(o, "cannot create the state directory %s: %s", o->root, strerror(-rc));
    }
    if (snprintf(st->dir, sizeof st->dir, "%s/%s", o->root, co->id) >= (int)sizeof st->dir) {
        free(cfg);
        return oci_fail(o, "state path too long");
    }
    if (mkdir(st->dir, 0700) < 0) {
        int e = errno;
        free(cfg);
        if (e == EEXIST)
            return oci_fail(o, "container ID already exists: %s", co->id);
        return oci_fail(o, "cannot create %s: %s", st->dir, strerror(e));
    }
    m->dir_made = true;
    /* exec reads the config of the running container from here, not from
     * a bundle that may have changed since. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" OCI_CONFIG_FILE, st->dir);
    rc = oci_write_atomic(path, cfg, strlen(cfg), 0600);
    free(cfg);
    if (rc < 0)
        return oci_fail(o, "cannot write %s: %s", path, strerror(-rc));

    /* The cgroup: the spec's cgroupsPath or disco-oci/<id>. */
    char cg_default[PATH_MAX];
    snprintf(cg_default, sizeof cg_default, "disco-oci/%s", co->id);
    const char *cg_path = s->cgroups_path && s->cgroups_path[0] ? s->cgroups_path : cg_default;
    rc = ct_cgroup_create(NULL, cg_path, &s->resources, &m->cg, &err);
    if (rc < 0) {
        if (o->rootless && (rc == -EACCES || rc == -EPERM || rc == -EROFS)) {
            oci_warn(o, "rootless: running without a cgroup (%s)", err.msg);
            m->cg = NULL;
        } else {
            return oci_fail(o, "cgroup %s: %s", cg_path, err.msg[0] ? err.msg : strerror(-rc));
        }
    } else {
        snprintf(st->cgroup, sizeof st->cgroup, "%s", cg_path);
    }

    char fifo[PATH_MAX + 32];
    snprintf(fifo, sizeof fifo, "%s/" OCI_FIFO_FILE, st->dir);
    if (!co->run) {
        if (mkfifo(fifo, 0622) < 0)
            return oci_fail(o, "cannot create %s: %s", fifo, strerror(errno));
        chmod(fifo, 0622);      /* whatever the umask */
        uid_t ru;
        gid_t rg;
        container_root_ids(s, &ru, &rg);
        if ((ru || rg) && chown(fifo, ru, rg) < 0)
            oci_warn(o, "cannot give %s to %u:%u: %s", fifo, ru, rg, strerror(errno));
    }

    struct ct_spawn_opts so = {
        .spec = s,
        .cgroup = m->cg,
        .exec_fifo = co->run ? NULL : fifo,
        .stdio = {-1, -1, -1},
        .preserve_fds = co->preserve_fds,
    };
    m->child.pid = 0;
    m->child.pidfd = -1;
    m->child.pty_master = -1;
    rc = ct_spawn(&so, &m->child, &err);
    if (rc < 0) {
        m->child.pid = 0;
        return oci_fail(o, "%s", err.msg[0] ? err.msg : strerror(-rc));
    }
    st->pid = m->child.pid;
    if (oci_proc_stat(st->pid, &st->start_time, NULL) < 0 && co->run)
        st->start_time = 0;     /* already gone: run reaps it below */

    if (m->child.pty_master >= 0 && co->console_socket) {
        char name[64] = "/dev/console", why[512];
        if (ptsname_r(m->child.pty_master, name, sizeof name) != 0)
            snprintf(name, sizeof name, "/dev/console");
        if (oci_send_console(co->console_socket, m->child.pty_master, name, why, sizeof why) < 0)
            return oci_fail(o, "%s", why);
        close(m->child.pty_master);
        m->child.pty_master = -1;
    }
    if (oci_state_save(o, st) < 0)
        return EXIT_RUNTIME;
    if (co->pid_file && write_pid_file(o, co->pid_file, st->pid))
        return EXIT_RUNTIME;
    return 0;
}

enum { C_BUNDLE = 1, C_CONSOLE, C_PID_FILE, C_NO_PIVOT, C_NO_KEYRING, C_PRESERVE, C_DETACH, C_KEEP };

static const struct oci_opt create_opts[] = {
    {"bundle", 'b', true, C_BUNDLE}, {"console-socket", 0, true, C_CONSOLE},
    {"pid-file", 0, true, C_PID_FILE}, {"no-pivot", 0, false, C_NO_PIVOT},
    {"no-new-keyring", 0, false, C_NO_KEYRING}, {"preserve-fds", 0, true, C_PRESERVE},
    {"detach", 'd', false, C_DETACH}, {"keep", 0, false, C_KEEP}, {0},
};

static int parse_create(struct oci *o, int argc, char **argv, bool run, struct create_opts *co)
{
    *co = (struct create_opts){.bundle = ".", .run = run};
    struct oci_args a = {.argc = argc, .argv = argv};
    const char *val;
    int k;
    while ((k = oci_next(o, &a, create_opts, &val)) != -1) {
        switch (k) {
        case -2: return EXIT_USAGE;
        case 0:
            if (co->id)
                return oci_usage(o, "%s: one container ID expected, got '%s' too", o->verb, val);
            co->id = val;
            break;
        case C_BUNDLE: co->bundle = val; break;
        case C_CONSOLE: co->console_socket = val; break;
        case C_PID_FILE: co->pid_file = val; break;
        /* --no-pivot is accepted but disco always pivots (the rootfs is a
         * mount in its own namespace, even on a ramfs root). */
        case C_NO_PIVOT: break;
        case C_NO_KEYRING: break;   /* disco never creates a session keyring */
        case C_PRESERVE:
            co->preserve_fds = oci_parse_count(val, 1 << 16);
            if (co->preserve_fds < 0)
                return oci_usage(o, "%s: bad --preserve-fds '%s'", o->verb, val);
            break;
        case C_DETACH:
        case C_KEEP:
            if (!run)
                return oci_usage(o, "create: unknown option '--%s'", k == C_DETACH ? "detach" : "keep");
            if (k == C_DETACH)
                co->detach = oci_flag(val);
            else
                co->keep = oci_flag(val);
            break;
        }
    }
    if (!co->id)
        return oci_usage(o, "%s: a container ID is required", o->verb);
    if (!oci_id_valid(co->id))
        return oci_fail(o, "invalid container ID '%s' (expected [A-Za-z0-9][A-Za-z0-9_.-]*)", co->id);
    return 0;
}

int oci_create(struct oci *o, int argc, char **argv)
{
    struct create_opts co;
    int rc = parse_create(o, argc, argv, false, &co);
    if (rc)
        return rc;
    if ((rc = seal_self(o)))
        return rc;
    struct making m = {.child = {.pid = 0, .pidfd = -1, .pty_master = -1}};
    rc = make_container(o, &co, &m);
    if (rc)
        making_undo(o, &m);
    /* The init stays, blocked on the fifo: our parent (conmon, a
     * subreaper) or pid 1 inherits it. */
    making_free(&m);
    return rc;
}

int oci_run(struct oci *o, int argc, char **argv)
{
    struct create_opts co;
    int rc = parse_create(o, argc, argv, true, &co);
    if (rc)
        return rc;
    if ((rc = seal_self(o)))
        return rc;
    struct making m = {.child = {.pid = 0, .pidfd = -1, .pty_master = -1}};
    rc = make_container(o, &co, &m);
    if (rc) {
        making_undo(o, &m);
        making_free(&m);
        return rc;
    }
    if (co.detach) {
        making_free(&m);
        return 0;
    }
    rc = foreground(m.child.pid, m.child.pidfd, m.child.pty_master);
    m.child.pid = 0;    /* reaped */
    if (!co.keep) {
        if (m.cg) {
            /* What outlived the init (no pid namespace) goes with it. */
            struct disco_err err;
            ct_cgroup_signal_all(m.cg, SIGKILL, &err);
        }
        struct oci_state st;
        if (oci_state_load(o, co.id, &st) == 0) {
            if (oci_destroy(o, &st))
                rc = rc ? rc : EXIT_RUNTIME;
            oci_state_clear(&st);
        }
    }
    making_free(&m);
    return rc;
}

/* ---- start ---- */

int oci_start(struct oci *o, int argc, char **argv)
{
    struct oci_args a = {.argc = argc, .argv = argv};
    const char *val, *id = NULL;
    int k;
    while ((k = oci_next(o, &a, NULL, &val)) != -1) {
        if (k == -2)
            return EXIT_USAGE;
        if (id)
            return oci_usage(o, "start: one container ID expected");
        id = val;
    }
    if (!id)
        return oci_usage(o, "start: a container ID is required");
    struct oci_state st;
    if (oci_state_load(o, id, &st) < 0)
        return EXIT_RUNTIME;
    int rc = 0;
    int pidfd = oci_init_pidfd(&st);
    char fifo[PATH_MAX + 32];
    snprintf(fifo, sizeof fifo, "%s/" OCI_FIFO_FILE, st.dir);
    if (pidfd < 0) {
        rc = oci_fail(o, "cannot start a container that has stopped");
        goto out;
    }
    /* Non-blocking: a reader that is there lets the init's blocking open
     * for writing go on; its pidfd tells if it died instead. */
    int ffd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (ffd < 0) {
        if (errno == ENOENT)
            rc = oci_fail(o, "cannot start an already %s container",
                          oci_status(&st) == OCI_PAUSED ? "paused" : "running");
        else
            rc = oci_fail(o, "cannot open %s: %s", fifo, strerror(errno));
        goto out;
    }
    /* Take it away at once: a second start finds no fifo. */
    unlink(fifo);
    bool started = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = ffd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        int n = poll(p, 2, START_TIMEOUT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (p[0].revents & (POLLIN | POLLHUP)) {
            char c;
            ssize_t r = read(ffd, &c, 1);
            /* A byte, or the writer closed it at exec (close-on-exec). */
            if (r == 1 || (r == 0 && oci_init_alive(&st)))
                started = true;
            if (r >= 0 || errno != EAGAIN)
                break;
        }
        if (p[1].revents & POLLIN)
            break;
    }
    close(ffd);
    if (!started)
        rc = oci_fail(o, "the container's init exited before it was started");
out:
    if (pidfd >= 0)
        close(pidfd);
    oci_state_clear(&st);
    return rc;
}

/* ---- exec ---- */

static char **strv_dup(char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i])))
            return NULL;    /* out of memory: the caller fails (the leak is moot) */
    return out;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Set KEY=value in p->env (replacing KEY). */
static int env_set(struct ct_process *p, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < p->nenv; i++) {
        if (!strncmp(p->env[i], kv, klen) && p->env[i][klen] == '=') {
            char *d = strdup(kv);
            if (!d)
                return -1;
            free(p->env[i]);
            p->env[i] = d;
            return 0;
        }
    }
    char **nv = realloc(p->env, (p->nenv + 2) * sizeof *nv);
    if (!nv)
        return -1;
    p->env = nv;
    if (!(nv[p->nenv] = strdup(kv)))
        return -1;
    nv[++p->nenv] = NULL;
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

enum { E_PROCESS = 1, E_TTY, E_CONSOLE, E_DETACH, E_PID_FILE, E_CWD, E_ENV, E_USER, E_GIDS,
       E_CAP, E_NNP, E_PRESERVE, E_LABEL, E_APPARMOR, E_CGROUP, E_IGNORE_PAUSED };

int oci_exec(struct oci *o, int argc, char **argv)
{
    static const struct oci_opt opts[] = {
        {"process", 'p', true, E_PROCESS}, {"tty", 't', false, E_TTY},
        {"console-socket", 0, true, E_CONSOLE}, {"detach", 'd', false, E_DETACH},
        {"pid-file", 0, true, E_PID_FILE}, {"cwd", 0, true, E_CWD}, {"env", 'e', true, E_ENV},
        {"user", 'u', true, E_USER}, {"additional-gids", 'g', true, E_GIDS},
        {"cap", 'c', true, E_CAP}, {"no-new-privs", 0, false, E_NNP},
        {"preserve-fds", 0, true, E_PRESERVE}, {"process-label", 0, true, E_LABEL},
        {"apparmor", 0, true, E_APPARMOR}, {"cgroup", 0, true, E_CGROUP},
        {"ignore-paused", 0, false, E_IGNORE_PAUSED}, {0},
    };
    const char *process_file = NULL, *console = NULL, *pid_file = NULL, *cwd = NULL, *user = NULL;
    const char *id = NULL;
    bool tty = false, tty_given = false, detach = false, nnp = false, ignore_paused = false;
    int preserve = 0;
    /* Bounded by argc: every list option takes one argument. */
    const char **envs = calloc((size_t)argc + 1, sizeof *envs);
    const char **caps = calloc((size_t)argc + 1, sizeof *caps);
    const char **gids = calloc((size_t)argc + 1, sizeof *gids);
    size_t nenvs = 0, ncaps = 0, ngids = 0;
    char **cmd = NULL;
    int ncmd = 0;
    int rc = 0;
    struct ct_spec *spec = NULL;
    struct ct_cgroup *cg = NULL;
    struct oci_state st = {0};
    bool st_loaded = false;
    struct ct_child child = {.pid = 0, .pidfd = -1, .pty_master = -1};
    if (!envs || !caps || !gids) {
        rc = oci_fail(o, "out of memory");
        goto out;
    }
    struct oci_args a = {.argc = argc, .argv = argv, .stop_at_positional = true};
    const char *val;
    int k;
    while ((k = oci_next(o, &a, opts, &val)) != -1) {
        switch (k) {
        case -2: rc = EXIT_USAGE; goto out;
        case 0:
            id = val;
            cmd = argv + a.i;
            ncmd = argc - a.i;
            a.i = argc;
            break;
        case E_PROCESS: process_file = val; break;
        case E_TTY: tty = oci_flag(val); tty_given = true; break;
        case E_CONSOLE: console = val; break;
        case E_DETACH: detach = oci_flag(val); break;
        case E_PID_FILE: pid_file = val; break;
        case E_CWD: cwd = val; break;
        case E_ENV:
            if (!strchr(val, '=') || val[0] == '=') {
                rc = oci_usage(o, "exec: --env wants KEY=VALUE, not '%s'", val);
                goto out;
            }
            envs[nenvs++] = val;
            break;
        case E_USER: user = val; break;
        case E_GIDS: gids[ngids++] = val; break;
        case E_CAP: caps[ncaps++] = val; break;
        case E_NNP: nnp = oci_flag(val); break;
        case E_PRESERVE:
            preserve = oci_parse_count(val, 1 << 16);
            if (preserve < 0) {
                rc = oci_usage(o, "exec: bad --preserve-fds '%s'", val);
                goto out;
            }
            break;
        case E_LABEL: case E_APPARMOR: case E_CGROUP: break;   /* accepted, not applied */
        case E_IGNORE_PAUSED: ignore_paused = oci_flag(val); break;
        }
    }
    if (!id) {
        rc = oci_usage(o, "exec: a container ID is required");
        goto out;
    }
    if (!process_file && ncmd == 0) {
        rc = oci_usage(o, "exec: a command (or --process FILE) is required");
        goto out;
    }
    if ((rc = seal_self(o)))
        goto out;
    if (oci_state_load(o, id, &st) < 0) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    st_loaded = true;
    enum oci_status status = oci_status(&st);
    if (status == OCI_STOPPED) {
        rc = oci_fail(o, "cannot exec in a stopped container");
        goto out;
    }
    if (status == OCI_PAUSED && !ignore_paused) {
        rc = oci_fail(o, "cannot exec in a paused container (use --ignore-paused)");
        goto out;
    }

    struct disco_err err;
    err_clear(&err);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" OCI_CONFIG_FILE, st.dir);
    char *cfg = oci_read_file(path, 16 << 20);
    if (!cfg) {
        rc = oci_fail(o, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    int prc = ct_spec_parse(cfg, st.bundle, &spec, &err);
    free(cfg);
    if (prc < 0) {
        rc = oci_fail(o, "%s: %s", path, err.msg);
        goto out;
    }
    struct ct_process *p = &spec->process;
    if (process_file) {
        char *text = oci_read_file(process_file, 4 << 20);
        if (!text) {
            rc = oci_fail(o, "cannot read %s: %s", process_file, strerror(errno));
            goto out;
        }
        ct_process_clear(p);
        memset(p, 0, sizeof *p);
        prc = ct_process_parse(text, p, &err);
        free(text);
        if (prc < 0) {
            rc = oci_fail(o, "%s: %s", process_file, err.msg);
            goto out;
        }
        if (tty_given)
            p->terminal = tty;
    } else {
        /* runc's exec: the container's process is the template. */
        char **args = strv_dup(cmd, (size_t)ncmd);
        if (!args) {
            rc = oci_fail(o, "out of memory");
            goto out;
        }
        strv_free(p->args);
        p->args = args;
        p->nargs = (size_t)ncmd;
        p->terminal = tty;
        if (cwd) {
            if (cwd[0] != '/') {
                rc = oci_usage(o, "exec: --cwd must be absolute, not '%s'", cwd);
                goto out;
            }
            char *d = strdup(cwd);
            if (!d) {
                rc = oci_fail(o, "out of memory");
                goto out;
            }
            free(p->cwd);
            p->cwd = d;
        }
        for (size_t i = 0; i < nenvs; i++)
            if (env_set(p, envs[i]) < 0) {
                rc = oci_fail(o, "out of memory");
                goto out;
            }
    }
    if (user) {
        char ubuf[64];
        snprintf(ubuf, sizeof ubuf, "%s", user);
        char *colon = strchr(ubuf, ':');
        if (colon)
            *colon++ = '\0';
        if (parse_u32(ubuf, &p->uid) < 0 || (colon && parse_u32(colon, &p->gid) < 0)) {
            rc = oci_usage(o, "exec: --user wants UID[:GID] (numbers), not '%s'", user);
            goto out;
        }
    }
    if (ngids) {
        uint32_t *g = calloc(ngids, sizeof *g);
        if (!g) {
            rc = oci_fail(o, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < ngids; i++)
            if (parse_u32(gids[i], &g[i]) < 0) {
                free(g);
                rc = oci_usage(o, "exec: bad --additional-gids '%s'", gids[i]);
                goto out;
            }
        free(p->additional_gids);
        p->additional_gids = g;
        p->ngids = ngids;
    }
    for (size_t i = 0; i < ncaps; i++) {
        int c = ct_cap_from_name(caps[i]);
        if (c < 0 || c >= 64) {
            rc = oci_usage(o, "exec: unknown capability '%s'", caps[i]);
            goto out;
        }
        uint64_t bit = 1ull << c;
        p->caps.bounding |= bit;
        p->caps.effective |= bit;
        p->caps.permitted |= bit;
    }
    if (nnp)
        p->no_new_privileges = true;
    if (p->terminal && detach && !console) {
        rc = oci_fail(o, "exec: --tty with --detach needs --console-socket");
        goto out;
    }
    if (!p->terminal && console) {
        rc = oci_fail(o, "exec: --console-socket given without a terminal");
        goto out;
    }
    if (st.cgroup[0] && ct_cgroup_open(NULL, st.cgroup, &cg, &err) < 0) {
        rc = oci_fail(o, "cgroup %s: %s", st.cgroup, err.msg);
        goto out;
    }
    /* The exec'd process is our child (ct_exec_spawn); should it not be,
     * being a subreaper still lets us wait for it. */
    if (!detach)
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct ct_exec_opts eo = {
        .init_pid = st.pid,
        .spec = spec,
        .process = p,
        .cgroup = cg,
        .stdio = {-1, -1, -1},
        .preserve_fds = preserve,
    };
    prc = ct_exec_spawn(&eo, &child, &err);
    if (prc < 0) {
        child.pid = 0;
        rc = oci_fail(o, "exec: %s", err.msg[0] ? err.msg : strerror(-prc));
        goto out;
    }
    if (child.pty_master >= 0 && console) {
        char name[64], why[512];
        if (ptsname_r(child.pty_master, name, sizeof name) != 0)
            snprintf(name, sizeof name, "/dev/console");
        if (oci_send_console(console, child.pty_master, name, why, sizeof why) < 0) {
            kill_and_reap(child.pid, child.pidfd);
            child.pid = 0;
            rc = oci_fail(o, "%s", why);
            goto out;
        }
        close(child.pty_master);
        child.pty_master = -1;
    }
    if (pid_file && write_pid_file(o, pid_file, child.pid)) {
        /* The caller cannot find it without the pid file: it must not stay. */
        kill_and_reap(child.pid, child.pidfd);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (!detach)
        rc = foreground(child.pid, child.pidfd, child.pty_master);
out:
    ct_child_close(&child);
    if (cg)
        ct_cgroup_free(cg);
    ct_spec_free(spec);
    if (st_loaded)
        oci_state_clear(&st);
    free(envs);
    free(caps);
    free(gids);
    return rc;
}

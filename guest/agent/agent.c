/* disco-agent: the guest side of the disco guest agent. Serves the host's
 * requests over the VM's virtio-console port; the protocol is described in
 * src/vmm/agent.h. Built static for the default guest (guest/build.sh) and
 * natively for the host's tests (guest/agent/agent.mk).
 *
 *   disco-agent [--port PATH | --port-fd N] [--poweroff-cmd CMD] [--reboot-cmd CMD]
 *
 * Without --port the agent uses the first /dev/hvcN (N = 1..7) that opens:
 * the guest kernel's SBI console (HVC_RISCV_SBI) always takes hvc0, so a
 * virtio-console shows up as hvc1 or later. It never exits on a bad request;
 * when the port goes away (EOF, EIO) it reopens it after a short wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION "disco-agent 1"
#define MAX_FRAME (1u << 20)   /* == AGENT_MAX_FRAME */
#define MAX_ARGV_BYTES (64u << 10)
#define MAX_ARGS 4096
#define MAX_HDR 64
#define MAX_JOBS 64
#define OUT_CHUNK 4096
#define MEMINFO_MAX (64u << 10)

struct job {
    bool used;
    uint32_t id;
    pid_t pid;
    int fd[2];                  /* stdout, stderr read ends; -1 when closed */
};

enum rx_state { RX_HEADER, RX_PAYLOAD, RX_DISCARD, RX_RESYNC };

struct agentd {
    const char *port_path;      /* NULL: scan /dev/hvc1..7 */
    int port_fd;
    bool fixed_fd;              /* --port-fd: cannot be reopened */
    const char *poweroff_cmd, *reboot_cmd;
    int sigfd;
    struct job jobs[MAX_JOBS];

    enum rx_state st;
    char hdr[MAX_HDR];
    size_t hdr_len;
    char type[16];
    uint32_t id;
    size_t len, got;            /* payload length, bytes received */
    uint8_t *payload;           /* MAX_ARGV_BYTES */
};

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "disco-agent: %s\n", buf);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ---- port ------------------------------------------------------------- */

static void port_close(struct agentd *d)
{
    if (d->port_fd >= 0 && !d->fixed_fd)
        close(d->port_fd);
    d->port_fd = -1;
}

static int port_open_path(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Raw mode: no echo, no line editing, no CR/LF mangling; a tty in
     * cooked mode would echo the host's requests back at it. A socket or
     * pipe (native tests) is not a tty, which is fine. */
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tcsetattr(fd, TCSANOW, &t);
        tcflush(fd, TCIFLUSH);
    }
    return fd;
}

static void rx_reset(struct agentd *d)
{
    d->st = RX_HEADER;
    d->hdr_len = 0;
}

static int port_write(struct agentd *d, const void *buf, size_t len);

static void send_frame(struct agentd *d, const char *type, uint32_t id, const void *p, size_t len)
{
    char hdr[MAX_HDR];
    int n = snprintf(hdr, sizeof hdr, "%s %u %zu\n", type, id, len);
    if (port_write(d, hdr, (size_t)n) == 0 && len)
        port_write(d, p, len);
}

static void send_str(struct agentd *d, const char *type, uint32_t id, const char *s)
{
    send_frame(d, type, id, s, strlen(s));
}

/* Open the port, retrying forever: the device may not exist yet (or at all,
 * in a VM without a virtio-console); a respawning init must not spin. */
static void port_open(struct agentd *d)
{
    bool warned = false;
    while (d->port_fd < 0) {
        if (d->port_path) {
            d->port_fd = port_open_path(d->port_path);
        } else {
            for (int i = 1; i < 8 && d->port_fd < 0; i++) {
                char p[32];
                snprintf(p, sizeof p, "/dev/hvc%d", i);
                d->port_fd = port_open_path(p);
            }
        }
        if (d->port_fd >= 0)
            break;
        /* No such device is the normal case of a VM without a
         * virtio-console: say nothing on the console then. */
        if (!warned && errno != ENOENT && errno != ENODEV && errno != ENXIO)
            logmsg("cannot open %s (%s); retrying", d->port_path ? d->port_path : "/dev/hvc1..7",
                   strerror(errno));
        warned = true;
        sleep_ms(1000);
    }
    rx_reset(d);
    send_str(d, "hello", 0, AGENT_VERSION);
}

/* Called when a read or write on the port says it is gone. */
static void port_lost(struct agentd *d)
{
    if (d->fixed_fd) {
        /* The host closed our end of a socketpair/pipe: nothing to reopen. */
        exit(0);
    }
    port_close(d);
}

static int port_write(struct agentd *d, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len && d->port_fd >= 0) {
        ssize_t n = write(d->port_fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { d->port_fd, POLLOUT, 0 };
            poll(&pfd, 1, 100);
            continue;
        }
        if (n <= 0) {
            port_lost(d);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return d->port_fd >= 0 ? 0 : -1;
}

/* ---- jobs ------------------------------------------------------------- */

static struct job *job_find(struct agentd *d, uint32_t id)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (d->jobs[i].used && d->jobs[i].id == id)
            return &d->jobs[i];
    return NULL;
}

/* Forward what is readable on one output pipe, at most `max` chunks (so a
 * command that writes without end cannot starve the port and the other
 * commands); closes the pipe at EOF. */
static void job_pump(struct agentd *d, struct job *j, int which, unsigned max)
{
    uint8_t buf[OUT_CHUNK];
    while (max--) {
        ssize_t n = read(j->fd[which], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            send_frame(d, which ? "err" : "out", j->id, buf, (size_t)n);
            continue;
        }
        if (n == 0 || errno != EAGAIN) {
            close(j->fd[which]);
            j->fd[which] = -1;
        }
        return;
    }
}

static void job_reaped(struct agentd *d, struct job *j, int wstatus)
{
    /* The process is gone, so all it wrote is already in the pipes: send
     * that, then the status. Output of background grandchildren that still
     * hold the pipes is dropped (we don't wait for them). */
    for (int w = 0; w < 2; w++) {
        if (j->fd[w] >= 0) {
            /* What is in the pipe now (a pipe holds at most 1 MiB); more
             * can only come from a background grandchild, which then gets
             * EPIPE when we close. */
            job_pump(d, j, w, (1u << 20) / OUT_CHUNK);
            if (j->fd[w] >= 0) {
                close(j->fd[w]);
                j->fd[w] = -1;
            }
        }
    }
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
             : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : 255;
    char s[16];
    snprintf(s, sizeof s, "%d", code);
    send_str(d, "exit", j->id, s);
    j->used = false;
}

static void reap_children(struct agentd *d)
{
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof si) > 0) {
    }
    for (;;) {
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        if (pid <= 0)
            return;
        for (int i = 0; i < MAX_JOBS; i++)
            if (d->jobs[i].used && d->jobs[i].pid == pid)
                job_reaped(d, &d->jobs[i], ws);
        /* Other children (power commands) are just reaped. */
    }
}

static void child_setup(sigset_t *oldmask)
{
    setsid();
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    /* Started as a background job of /init, we inherit these ignored. */
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    sigprocmask(SIG_SETMASK, oldmask, NULL);
}

static void do_exec(struct agentd *d, uint32_t id, const uint8_t *p, size_t len, sigset_t *oldmask)
{
    char *argv[MAX_ARGS + 1];
    size_t argc = 0;
    if (len == 0 || p[len - 1] != '\0') {
        send_str(d, "fail", id, "exec: argv must be NUL-terminated strings");
        return;
    }
    for (size_t off = 0; off < len; off += strlen((const char *)p + off) + 1) {
        if (argc == MAX_ARGS) {
            send_str(d, "fail", id, "exec: too many arguments");
            return;
        }
        argv[argc++] = (char *)p + off;
    }
    argv[argc] = NULL;
    if (argv[0][0] == '\0') {
        send_str(d, "fail", id, "exec: empty command");
        return;
    }
    if (job_find(d, id)) {
        send_str(d, "fail", id, "exec: id already running");
        return;
    }
    struct job *j = NULL;
    for (int i = 0; i < MAX_JOBS && !j; i++)
        if (!d->jobs[i].used)
            j = &d->jobs[i];
    if (!j) {
        send_str(d, "fail", id, "exec: too many running processes");
        return;
    }
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0) {
        send_str(d, "fail", id, "exec: pipe failed");
        return;
    }
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]);
        close(po[1]);
        send_str(d, "fail", id, "exec: pipe failed");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(oldmask);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0 && nul != 0) {
            dup2(nul, 0);
            close(nul);
        }
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execvp(argv[0], argv);
        dprintf(2, "disco-agent: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        send_str(d, "fail", id, "exec: fork failed");
        return;
    }
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    *j = (struct job){ .used = true, .id = id, .pid = pid, .fd = { po[0], pe[0] } };
}

static void do_power(struct agentd *d, uint32_t id, bool reboot, sigset_t *oldmask)
{
    const char *cmd = reboot ? d->reboot_cmd : d->poweroff_cmd;
    send_str(d, "ok", id, "");
    /* Make sure the host has the reply before init starts killing us. */
    if (d->port_fd >= 0)
        tcdrain(d->port_fd);
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(oldmask);
        /* Without -f: init runs its shutdown actions and unmounts cleanly. */
        execlp(cmd, cmd, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        logmsg("fork for %s failed: %s", cmd, strerror(errno));
}

static void do_meminfo(struct agentd *d, uint32_t id)
{
    static const char path[] = "/proc/meminfo";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        send_str(d, "fail", id, "meminfo: cannot open /proc/meminfo");
        return;
    }
    char *buf = malloc(MEMINFO_MAX);
    size_t n = 0;
    while (buf && n < MEMINFO_MAX) {
        ssize_t r = read(fd, buf + n, MEMINFO_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (buf)
        send_frame(d, "meminfo", id, buf, n);
    else
        send_str(d, "fail", id, "meminfo: out of memory");
    free(buf);
}

static void dispatch(struct agentd *d, sigset_t *oldmask)
{
    const char *t = d->type;
    uint32_t id = d->id;
    if (!strcmp(t, "exec"))
        do_exec(d, id, d->payload, d->len, oldmask);
    else if (!strcmp(t, "kill")) {
        struct job *j = job_find(d, id);
        if (j) {
            /* The group, for what it started; the pid too, in case the
             * child has not reached setsid() yet. The exit frame follows. */
            kill(-j->pid, SIGKILL);
            kill(j->pid, SIGKILL);
        }
    } else if (!strcmp(t, "shutdown") || !strcmp(t, "reboot"))
        do_power(d, id, t[0] == 'r', oldmask);
    else if (!strcmp(t, "meminfo"))
        do_meminfo(d, id);
    else if (!strcmp(t, "ping"))
        send_str(d, "ok", id, "");
    else {
        char m[64];
        snprintf(m, sizeof m, "unknown request '%s'", t);
        send_str(d, "fail", id, m);
    }
}

/* "<type> <id> <len>" with single spaces, a lowercase type, decimal
 * numbers. */
static bool parse_header(struct agentd *d)
{
    char *s = d->hdr, *sp = strchr(s, ' ');
    if (!sp || sp == s || (size_t)(sp - s) >= sizeof d->type)
        return false;
    for (char *c = s; c < sp; c++)
        if (*c < 'a' || *c > 'z')
            return false;
    memcpy(d->type, s, (size_t)(sp - s));
    d->type[sp - s] = '\0';
    unsigned long long v[2];
    char *c = sp + 1;
    for (int k = 0; k < 2; k++) {
        if (*c < '0' || *c > '9')
            return false;
        v[k] = 0;
        while (*c >= '0' && *c <= '9') {
            v[k] = v[k] * 10 + (unsigned)(*c++ - '0');
            if (v[k] > 0xffffffffull)
                return false;
        }
        if (*c != (k ? '\0' : ' '))
            return false;
        c++;
    }
    if (v[1] > MAX_FRAME)
        return false;
    d->id = (uint32_t)v[0];
    d->len = (size_t)v[1];
    d->got = 0;
    return true;
}

static void rx_bytes(struct agentd *d, const uint8_t *buf, size_t n, sigset_t *oldmask)
{
    size_t i = 0;
    while (i < n && d->port_fd >= 0) {
        switch (d->st) {
        case RX_RESYNC:
            while (i < n && buf[i] != '\n')
                i++;
            if (i < n) {
                i++;
                rx_reset(d);
            }
            break;
        case RX_HEADER: {
            uint8_t c = buf[i++];
            if (c != '\n') {
                if (d->hdr_len + 1 >= MAX_HDR) {
                    send_str(d, "fail", 0, "bad frame: header too long");
                    d->st = RX_RESYNC;
                } else {
                    d->hdr[d->hdr_len++] = (char)c;
                }
                break;
            }
            d->hdr[d->hdr_len] = '\0';
            d->hdr_len = 0;
            if (!parse_header(d)) {
                send_str(d, "fail", 0, "bad frame header");
                break;      /* the newline was consumed: resynchronised */
            }
            bool is_exec = !strcmp(d->type, "exec");
            if (is_exec && d->len > MAX_ARGV_BYTES) {
                send_str(d, "fail", d->id, "exec: argv too long");
                d->st = d->len ? RX_DISCARD : RX_HEADER;
            } else if (!is_exec) {
                /* Other requests carry no payload; ignore any. */
                d->st = d->len ? RX_DISCARD : RX_HEADER;
                dispatch(d, oldmask);
            } else if (d->len == 0) {
                dispatch(d, oldmask);
            } else {
                d->st = RX_PAYLOAD;
            }
            break;
        }
        case RX_PAYLOAD: {
            size_t k = d->len - d->got;
            if (k > n - i)
                k = n - i;
            memcpy(d->payload + d->got, buf + i, k);
            d->got += k;
            i += k;
            if (d->got == d->len) {
                d->st = RX_HEADER;
                dispatch(d, oldmask);
            }
            break;
        }
        case RX_DISCARD: {
            size_t k = d->len - d->got;
            if (k > n - i)
                k = n - i;
            d->got += k;
            i += k;
            if (d->got == d->len)
                d->st = RX_HEADER;
            break;
        }
        }
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: disco-agent [--port PATH | --port-fd N] [--poweroff-cmd CMD] "
                    "[--reboot-cmd CMD]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct agentd d = { .port_fd = -1 };
    d.poweroff_cmd = "poweroff";
    d.reboot_cmd = "reboot";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        if (!strcmp(a, "--port"))
            d.port_path = argv[++i];
        else if (!strcmp(a, "--port-fd")) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0)
                usage();
            d.port_fd = (int)v;
            d.fixed_fd = true;
            fcntl(d.port_fd, F_SETFD, FD_CLOEXEC);
        } else if (!strcmp(a, "--poweroff-cmd"))
            d.poweroff_cmd = argv[++i];
        else if (!strcmp(a, "--reboot-cmd"))
            d.reboot_cmd = argv[++i];
        else
            usage();
    }
    d.payload = malloc(MAX_ARGV_BYTES);
    if (!d.payload)
        return 1;
    if (!getenv("PATH"))
        setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
    signal(SIGPIPE, SIG_IGN);   /* a dead port is an EPIPE, not our death */
    signal(SIGHUP, SIG_IGN);    /* tty hangups too */

    sigset_t chld, oldmask;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &oldmask);
    d.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d.sigfd < 0) {
        logmsg("signalfd: %s", strerror(errno));
        return 1;
    }

    if (d.fixed_fd) {
        rx_reset(&d);
        send_str(&d, "hello", 0, AGENT_VERSION);
    }
    uint8_t buf[4096];
    for (;;) {
        if (d.port_fd < 0) {
            if (!d.fixed_fd)
                sleep_ms(200);  /* a short pause before reopening */
            port_open(&d);
        }
        struct pollfd pfd[2 + 2 * MAX_JOBS];
        struct job *owner[2 + 2 * MAX_JOBS];
        int which[2 + 2 * MAX_JOBS];
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){ d.port_fd, POLLIN, 0 };
        pfd[n++] = (struct pollfd){ d.sigfd, POLLIN, 0 };
        for (int i = 0; i < MAX_JOBS; i++)
            for (int w = 0; w < 2; w++)
                if (d.jobs[i].used && d.jobs[i].fd[w] >= 0) {
                    owner[n] = &d.jobs[i];
                    which[n] = w;
                    pfd[n++] = (struct pollfd){ d.jobs[i].fd[w], POLLIN, 0 };
                }
        if (poll(pfd, n, -1) < 0) {
            if (errno != EINTR)
                sleep_ms(10);
            continue;
        }
        /* Output first, so it precedes the exit frame of its process. */
        for (nfds_t k = 2; k < n; k++)
            if (pfd[k].revents && owner[k]->used && owner[k]->fd[which[k]] == pfd[k].fd)
                job_pump(&d, owner[k], which[k], 16);
        if (pfd[1].revents)
            reap_children(&d);
        if (d.port_fd >= 0 && pfd[0].fd == d.port_fd && pfd[0].revents) {
            ssize_t r = read(d.port_fd, buf, sizeof buf);
            if (r > 0)
                rx_bytes(&d, buf, (size_t)r, &oldmask);
            else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (!d.fixed_fd)
                    logmsg("port: %s; reopening", r == 0 ? "EOF" : strerror(errno));
                port_lost(&d);
            }
        }
    }
}

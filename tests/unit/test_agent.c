/* The guest agent: (a) the host side (src/vmm/agent.c) against a scripted
 * fake guest that answers whatever the host sent; (b) end to end against
 * the real guest agent (guest/agent/agent.c) built natively, talking over a
 * socketpair. */
#include "t.h"

#include "vmm/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void feed(struct agent *a, const char *type, uint32_t id, const void *p, size_t n)
{
    char h[64];
    int k = snprintf(h, sizeof h, "%s %u %zu\n", type, id, n);
    agent_input(a, (const uint8_t *)h, (size_t)k);
    if (n)
        agent_input(a, p, n);
}

static void feeds(struct agent *a, const char *s)
{
    agent_input(a, (const uint8_t *)s, strlen(s));
}

/* ---- (a) fake guest -------------------------------------------------------- */

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *q;                 /* bytes the host sent, not yet handled */
    size_t qlen, qcap;
    struct agent *a;
    pthread_t th;
    bool stop;
    int send_rc;                /* < 0: send() fails with it */
    unsigned execs, kills;
    uint32_t last_kill;
};

static int fake_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (f->send_rc < 0) {
        pthread_mutex_unlock(&f->mu);
        return f->send_rc;
    }
    if (f->qlen + len > f->qcap) {
        f->qcap = (f->qlen + len) * 2;
        f->q = realloc(f->q, f->qcap);
    }
    memcpy(f->q + f->qlen, buf, len);
    f->qlen += len;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return (int)len;
}

/* One request from the host: answer like a (scripted) guest would. argv[0]
 * of an exec selects the behaviour. */
static void fake_handle(struct fake *f, const char *type, uint32_t id, uint8_t *p, size_t n)
{
    struct agent *a = f->a;
    if (!strcmp(type, "ping") || !strcmp(type, "shutdown") || !strcmp(type, "reboot")) {
        feed(a, "ok", id, NULL, 0);
    } else if (!strcmp(type, "meminfo")) {
        const char *m = "MemTotal:         251196 kB\nMemFree:          231092 kB\n"
                        "MemAvailable:     228232 kB\nBuffers:               4 kB\n"
                        "Cached:             2172 kB\nSwapCached:          99 kB\n"
                        "Shmem:              2000 kB\n";
        feed(a, "meminfo", id, m, strlen(m));
    } else if (!strcmp(type, "kill")) {
        pthread_mutex_lock(&f->mu);
        f->kills++;
        f->last_kill = id;
        pthread_mutex_unlock(&f->mu);
        feed(a, "exit", id, "137", 3);  /* late: the host already gave up */
    } else if (!strcmp(type, "exec")) {
        pthread_mutex_lock(&f->mu);
        f->execs++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        const char *cmd = (const char *)p;
        const char *arg1 = strlen(cmd) + 1 < n ? cmd + strlen(cmd) + 1 : "";
        if (!strcmp(cmd, "echo")) {
            /* in two pieces, with noise for other ids in between */
            size_t l = strlen(arg1);
            feed(a, "out", id, arg1, l / 2);
            feed(a, "out", id + 1000, "x", 1);
            feed(a, "out", id, arg1 + l / 2, l - l / 2);
            feed(a, "out", id, "\n", 1);
            feed(a, "exit", id, "0", 1);
        } else if (!strcmp(cmd, "fail3")) {
            feed(a, "err", id, "e\n", 2);
            feed(a, "exit", id, "3", 1);
        } else if (!strcmp(cmd, "refuse")) {
            feed(a, "fail", id, "no\x01pe", 5);
        } else if (!strcmp(cmd, "badexit")) {
            feed(a, "exit", id, "abc", 3);
        } else if (!strcmp(cmd, "big")) {
            /* AGENT_MAX_OUTPUT + 2 MiB of stdout in max-size frames */
            size_t chunk = AGENT_MAX_FRAME;
            uint8_t *b = malloc(chunk);
            memset(b, 'z', chunk);
            for (size_t sent = 0; sent < AGENT_MAX_OUTPUT + (2u << 20); sent += chunk)
                feed(a, "out", id, b, chunk);
            free(b);
            feed(a, "err", id, "tail", 4);
            feed(a, "exit", id, "0", 1);
        } else if (!strcmp(cmd, "hello")) {
            feed(a, "hello", 0, "disco-agent 1", 13);  /* agent restarted */
        }
        /* "hang": no answer */
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        uint8_t *nl = f->qlen ? memchr(f->q, '\n', f->qlen) : NULL;
        char type[16];
        unsigned id;
        size_t n, hl = nl ? (size_t)(nl - f->q) + 1 : 0;
        if (nl && sscanf((char *)f->q, "%15s %u %zu", type, &id, &n) == 3 && f->qlen >= hl + n) {
            uint8_t *p = malloc(n + 1);
            memcpy(p, f->q + hl, n);
            p[n] = 0;
            memmove(f->q, f->q + hl + n, f->qlen - hl - n);
            f->qlen -= hl + n;
            pthread_mutex_unlock(&f->mu);
            fake_handle(f, type, id, p, n);
            free(p);
            pthread_mutex_lock(&f->mu);
            continue;
        }
        if (f->stop)
            break;
        pthread_cond_wait(&f->cv, &f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static struct fake *fake_start(bool hello)
{
    struct fake *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    struct disco_err err = { 0 };
    f->a = agent_new(fake_send, f, &err);
    pthread_create(&f->th, NULL, fake_main, f);
    if (hello)
        feed(f->a, "hello", 0, "disco-agent 1", 13);
    return f;
}

static void fake_stop(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    agent_free(f->a);
    free(f->q);
    free(f);
}

static int run1(struct agent *a, const char *cmd, const char *arg, uint64_t tmo,
                struct agent_exec_result *r, struct disco_err *err)
{
    const char *argv[] = { cmd, arg, NULL };
    return agent_exec(a, argv, tmo, r, err);
}

static void fake_exec_basic(void)
{
    struct fake *f = fake_start(true);
    struct disco_err err = { 0 };
    struct agent_exec_result r;
    CHECK(agent_ready(f->a));
    CHECK_EQ(agent_wait_ready(f->a, 0, &err), 0);
    CHECK_EQ(run1(f->a, "echo", "hello world", 5000, &r, &err), 0);
    CHECK_EQ(r.status, 0);
    CHECK(r.out && !strcmp((char *)r.out, "hello world\n"));
    CHECK_EQ(r.out_len, 12);
    CHECK(r.errout && r.err_len == 0 && r.errout[0] == 0);
    CHECK(!r.truncated);
    agent_exec_result_free(&r);

    CHECK_EQ(run1(f->a, "fail3", NULL, 5000, &r, &err), 0);
    CHECK_EQ(r.status, 3);
    CHECK(r.out_len == 0 && !strcmp((char *)r.errout, "e\n"));
    agent_exec_result_free(&r);

    CHECK_EQ(run1(f->a, "refuse", NULL, 5000, &r, &err), -EPROTO);
    CHECK(strstr(err.msg, "no?pe") != NULL);        /* control bytes sanitised */
    CHECK(r.out == NULL);
    CHECK_EQ(run1(f->a, "badexit", NULL, 5000, &r, &err), -EPROTO);

    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);
    CHECK_EQ(agent_power(f->a, false, 5000, &err), 0);
    CHECK_EQ(agent_power(f->a, true, 5000, &err), 0);
    struct agent_meminfo mi;
    CHECK_EQ(agent_meminfo(f->a, &mi, 5000, &err), 0);
    CHECK_EQ(mi.total, 251196ull * 1024);
    CHECK_EQ(mi.free, 231092ull * 1024);
    CHECK_EQ(mi.available, 228232ull * 1024);
    CHECK_EQ(mi.buffers, 4ull * 1024);
    CHECK_EQ(mi.cached, 2172ull * 1024);        /* not SwapCached */
    CHECK_EQ(mi.shmem, 2000ull * 1024);

    const char *empty[] = { NULL };
    CHECK_EQ(agent_exec(f->a, empty, 100, &r, &err), -EINVAL);
    fake_stop(f);
}

struct conc {
    struct agent *a;
    int idx;
    int ok;
};

static void *conc_main(void *arg)
{
    struct conc *c = arg;
    char s[32];
    snprintf(s, sizeof s, "thread-%d-payload", c->idx);
    struct disco_err err = { 0 };
    for (int i = 0; i < 50; i++) {
        struct agent_exec_result r;
        char want[40];
        snprintf(want, sizeof want, "%s\n", s);
        if (run1(c->a, "echo", s, 10000, &r, &err) == 0 && r.status == 0 &&
            !strcmp((char *)r.out, want))
            c->ok++;
        agent_exec_result_free(&r);
    }
    return NULL;
}

static void fake_concurrent(void)
{
    struct fake *f = fake_start(true);
    pthread_t th[8];
    struct conc c[8];
    for (int i = 0; i < 8; i++) {
        c[i] = (struct conc){ f->a, i, 0 };
        pthread_create(&th[i], NULL, conc_main, &c[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(c[i].ok, 50);
    }
    fake_stop(f);
}

static void fake_timeout_kills(void)
{
    struct fake *f = fake_start(true);
    struct disco_err err = { 0 };
    struct agent_exec_result r;
    CHECK_EQ(run1(f->a, "hang", NULL, 100, &r, &err), -ETIMEDOUT);
    CHECK(strstr(err.msg, "timed out") != NULL);
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);      /* after the kill went out */
    pthread_mutex_lock(&f->mu);
    CHECK_EQ(f->kills, 1);
    pthread_mutex_unlock(&f->mu);
    /* the late `exit 137` for the abandoned id was dropped; all still works */
    CHECK_EQ(run1(f->a, "echo", "x", 5000, &r, &err), 0);
    CHECK_EQ(r.status, 0);
    agent_exec_result_free(&r);
    fake_stop(f);
}

static void fake_not_ready(void)
{
    struct fake *f = fake_start(false);
    struct disco_err err = { 0 };
    struct agent_exec_result r;
    CHECK(!agent_ready(f->a));
    CHECK_EQ(agent_wait_ready(f->a, 0, &err), -ETIMEDOUT);
    CHECK_EQ(agent_wait_ready(f->a, 50, &err), -ETIMEDOUT);
    CHECK_EQ(run1(f->a, "echo", "x", 100, &r, &err), -ENOTCONN);
    CHECK_EQ(agent_ping(f->a, 100, &err), -ENOTCONN);
    feed(f->a, "hello", 0, "disco-agent 1", 13);
    CHECK_EQ(agent_wait_ready(f->a, 1000, &err), 0);
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);
    fake_stop(f);
}

struct hang_call {
    struct agent *a;
    int rc;
};

static void *hang_main(void *arg)
{
    struct hang_call *h = arg;
    struct agent_exec_result r;
    struct disco_err err = { 0 };
    h->rc = run1(h->a, "hang", NULL, AGENT_FOREVER, &r, &err);
    return NULL;
}

static void wait_execs(struct fake *f, unsigned n)
{
    pthread_mutex_lock(&f->mu);
    while (f->execs < n)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void fake_disconnect(void)
{
    struct fake *f = fake_start(true);
    struct disco_err err = { 0 };
    struct hang_call h[3] = { { f->a, 1 }, { f->a, 1 }, { f->a, 1 } };
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, hang_main, &h[i]);
    wait_execs(f, 3);
    agent_disconnect(f->a);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(h[i].rc, -ECONNRESET);
    }
    CHECK(!agent_ready(f->a));
    CHECK_EQ(agent_ping(f->a, 100, &err), -ENOTCONN);

    /* A restarted agent (a second hello) also ends what was pending. */
    feed(f->a, "hello", 0, "disco-agent 1", 13);
    struct hang_call h2 = { f->a, 1 };
    pthread_t t2;
    pthread_create(&t2, NULL, hang_main, &h2);
    wait_execs(f, 4);
    struct agent_exec_result r;
    CHECK_EQ(run1(f->a, "hello", NULL, 2000, &r, &err), -ECONNRESET);
    pthread_join(t2, NULL);
    CHECK_EQ(h2.rc, -ECONNRESET);
    CHECK(agent_ready(f->a));
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);
    fake_stop(f);
}

static void fake_send_fails(void)
{
    struct fake *f = fake_start(true);
    struct disco_err err = { 0 };
    struct agent_exec_result r;
    f->send_rc = -ENOBUFS;
    CHECK_EQ(run1(f->a, "echo", "x", 1000, &r, &err), -ENOBUFS);
    CHECK_EQ(err.code, -ENOBUFS);
    f->send_rc = 0;
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);
    /* argv too large for one frame */
    size_t big = AGENT_MAX_ARGV_BYTES + 10;
    char *s = malloc(big);
    memset(s, 'a', big - 1);
    s[big - 1] = 0;
    CHECK_EQ(run1(f->a, "echo", s, 1000, &r, &err), -E2BIG);
    free(s);
    fake_stop(f);
}

static void fake_truncation(void)
{
    struct fake *f = fake_start(true);
    struct disco_err err = { 0 };
    struct agent_exec_result r;
    CHECK_EQ(run1(f->a, "big", NULL, 60000, &r, &err), 0);
    CHECK(r.truncated);
    CHECK_EQ(r.out_len, AGENT_MAX_OUTPUT);
    CHECK(r.out && r.out[0] == 'z' && r.out[AGENT_MAX_OUTPUT - 1] == 'z' &&
          r.out[AGENT_MAX_OUTPUT] == 0);
    CHECK(r.errout && !strcmp((char *)r.errout, "tail"));
    agent_exec_result_free(&r);
    fake_stop(f);
}

/* Garbage and hostile frames straight into agent_input: nothing crashes,
 * nothing is kept, and the protocol recovers at the next newline. */
static void fake_hostile_input(void)
{
    struct fake *f = fake_start(true);
    struct agent *a = f->a;
    struct disco_err err = { 0 };
    uint32_t x = 12345;
    uint8_t junk[4096];
    for (int round = 0; round < 256; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        agent_input(a, junk, sizeof junk);
    }
    feeds(a, "\n");
    /* Random bytes can (rarely) form a valid header whose payload swallows
     * what follows; a reconnect puts the parser back at a frame start. */
    agent_disconnect(a);
    feed(a, "hello", 0, "disco-agent 1", 13);
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);

    static const char *const bad[] = {
        "out 1 99999999999\n",          /* length over AGENT_MAX_FRAME */
        "out 1 1048577\n",
        "exit 4294967296 1\n",          /* id over 32 bits */
        "exit -1 1\n", "OUT 1 2\n", "out  1 2\n", "out 1 2 3\n", "out 1\n", "out\n",
        "\n", " \n", "out 1 2x\n", "ok 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        feeds(a, bad[i]);
    char longhdr[300];
    memset(longhdr, 'a', sizeof longhdr);
    agent_input(a, (uint8_t *)longhdr, sizeof longhdr);     /* header too long */
    feeds(a, " 1 5\n");         /* the rest of that line: still skipped */
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);

    /* Well-formed frames for ids nobody waits for, and unknown types with
     * payloads: all dropped, the stream stays in sync. */
    uint8_t *mb = calloc(1, AGENT_MAX_FRAME);
    for (int i = 0; i < 20; i++) {
        feed(a, "out", 777, mb, AGENT_MAX_FRAME);
        feed(a, "weird", 1, mb, 1000);
        feed(a, "meminfo", 3, mb, AGENT_MAX_FRAME);
        feed(a, "fail", 0, mb, AGENT_MAX_FRAME);
        feed(a, "exit", 0, "x", 1);
        feed(a, "ok", 4, NULL, 0);
    }
    free(mb);
    struct agent_exec_result r;
    CHECK_EQ(run1(a, "echo", "after", 5000, &r, &err), 0);
    CHECK(r.out && !strcmp((char *)r.out, "after\n"));
    agent_exec_result_free(&r);
    /* A frame split across many calls, byte by byte. */
    const char *h = "out 5 3\nabc";
    for (size_t i = 0; h[i]; i++)
        agent_input(a, (const uint8_t *)h + i, 1);
    CHECK_EQ(agent_ping(f->a, 5000, &err), 0);
    fake_stop(f);
}

/* ---- (b) the real agent, natively ----------------------------------------- */

struct native {
    int sock;
    pid_t pid;
    struct agent *a;
    pthread_t rx;
};

static int native_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct native *n = ctx;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(n->sock, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -EPIPE;
        off += (size_t)w;
    }
    return (int)len;
}

static void *native_rx(void *arg)
{
    struct native *n = arg;
    uint8_t buf[65536];
    for (;;) {
        ssize_t r = read(n->sock, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        agent_input(n->a, buf, (size_t)r);
    }
    agent_disconnect(n->a);
    return NULL;
}

/* $DISCO_AGENT_NATIVE, else ../disco-agent-native next to this binary
 * (make puts it in $(BUILD)/tests/). */
static bool find_native(char *path, size_t len)
{
    const char *env = getenv("DISCO_AGENT_NATIVE");
    if (env && *env) {
        snprintf(path, len, "%s", env);
        return access(path, X_OK) == 0;
    }
    char self[PATH_MAX - 64];   /* room for the suffix */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = 0;
    snprintf(path, len, "%s/../disco-agent-native", self);
    return access(path, X_OK) == 0;
}

static bool native_start(struct native *n, const char *path)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = dup(sv[1]);        /* without CLOEXEC */
        char fds[16];
        snprintf(fds, sizeof fds, "%d", fd);
        execl(path, path, "--port-fd", fds, "--poweroff-cmd", "true", "--reboot-cmd", "true",
              (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    n->sock = sv[0];
    n->pid = pid;
    struct disco_err err = { 0 };
    n->a = agent_new(native_send, n, &err);
    pthread_create(&n->rx, NULL, native_rx, n);
    return pid > 0;
}

static int native_stop(struct native *n)
{
    shutdown(n->sock, SHUT_RDWR);       /* the agent sees EOF and exits */
    pthread_join(n->rx, NULL);
    close(n->sock);
    int st = -1;
    waitpid(n->pid, &st, 0);
    agent_free(n->a);
    return st;
}

struct nj {
    struct agent *a;
    int i, rc, status;
    char out[32];
};

static void *nj_main(void *arg)
{
    struct nj *j = arg;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "sleep 0.3; echo job%d", j->i);
    const char *argv[] = { "sh", "-c", cmd, NULL };
    struct agent_exec_result r;
    struct disco_err err = { 0 };
    j->rc = agent_exec(j->a, argv, 10000, &r, &err);
    if (j->rc == 0) {
        j->status = r.status;
        snprintf(j->out, sizeof j->out, "%s", (char *)r.out);
    }
    agent_exec_result_free(&r);
    return NULL;
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static char native_path[PATH_MAX];

static void native_agent_end_to_end(void)
{
    struct native n;
    CHECK(native_start(&n, native_path));
    struct disco_err err = { 0 };
    struct agent_exec_result r;
    CHECK_EQ(agent_wait_ready(n.a, 10000, &err), 0);

    const char *echo[] = { "echo", "hi", NULL };
    CHECK_EQ(agent_exec(n.a, echo, 10000, &r, &err), 0);
    CHECK_EQ(r.status, 0);
    CHECK(r.out && !strcmp((char *)r.out, "hi\n"));
    CHECK_EQ(r.err_len, 0);
    agent_exec_result_free(&r);

    const char *sh3[] = { "sh", "-c", "echo e >&2; exit 3", NULL };
    CHECK_EQ(agent_exec(n.a, sh3, 10000, &r, &err), 0);
    CHECK_EQ(r.status, 3);
    CHECK_EQ(r.out_len, 0);
    CHECK(r.errout && !strcmp((char *)r.errout, "e\n"));
    agent_exec_result_free(&r);

    const char *sig[] = { "sh", "-c", "kill -9 $$", NULL };
    CHECK_EQ(agent_exec(n.a, sig, 10000, &r, &err), 0);
    CHECK_EQ(r.status, 128 + 9);
    agent_exec_result_free(&r);

    const char *stdin_null[] = { "cat", NULL };     /* stdin is /dev/null: returns at once */
    CHECK_EQ(agent_exec(n.a, stdin_null, 10000, &r, &err), 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(r.out_len, 0);
    agent_exec_result_free(&r);

    const char *missing[] = { "/nonexistent/disco-cmd", NULL };
    CHECK_EQ(agent_exec(n.a, missing, 10000, &r, &err), 0);
    CHECK_EQ(r.status, 127);
    CHECK(r.errout && strstr((char *)r.errout, "/nonexistent/disco-cmd") != NULL);
    agent_exec_result_free(&r);

    /* 200000 lines, ~1.2 MB: many out frames, all in order. */
    const char *seq[] = { "seq", "1", "200000", NULL };
    CHECK_EQ(agent_exec(n.a, seq, 30000, &r, &err), 0);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(r.out_len, 1288895);
    CHECK(r.out && !memcmp(r.out, "1\n2\n3\n", 6) &&
          !strcmp((char *)r.out + r.out_len - 7, "200000\n"));
    agent_exec_result_free(&r);

    struct agent_meminfo mi;
    CHECK_EQ(agent_meminfo(n.a, &mi, 10000, &err), 0);
    CHECK(mi.total > 0 && mi.free > 0 && mi.free <= mi.total);
    CHECK_EQ(agent_ping(n.a, 10000, &err), 0);

    /* Concurrent execs overlap in the agent. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[4];
    struct nj j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (struct nj){ .a = n.a, .i = i };
        pthread_create(&th[i], NULL, nj_main, &j[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        char want[16];
        snprintf(want, sizeof want, "job%d\n", i);
        CHECK_EQ(j[i].rc, 0);
        CHECK_EQ(j[i].status, 0);
        CHECK(!strcmp(j[i].out, want));
    }
    CHECK(since(&t0) < 1.1);    /* 4 x 0.3 s in sequence would be 1.2 s */

    /* Timeout: the host kills the process group (the background sleep too). */
    const char *hang[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(agent_exec(n.a, hang, 300, &r, &err), -ETIMEDOUT);
    CHECK(since(&t0) < 2.0);
    CHECK_EQ(agent_ping(n.a, 10000, &err), 0);

    /* Endless output neither starves the port (the kill gets through) nor
     * keeps an exited command from finishing (its background writer is cut
     * off). */
    const char *yes[] = { "yes", NULL };
    CHECK_EQ(agent_exec(n.a, yes, 300, &r, &err), -ETIMEDOUT);
    CHECK_EQ(agent_ping(n.a, 10000, &err), 0);
    const char *bg[] = { "sh", "-c", "yes & sleep 0.2; echo done", NULL };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(agent_exec(n.a, bg, 10000, &r, &err), 0);
    CHECK_EQ(r.status, 0);
    CHECK(r.out_len > 0 && r.out[0] == 'y');
    CHECK(since(&t0) < 5.0);
    agent_exec_result_free(&r);
    CHECK_EQ(agent_ping(n.a, 10000, &err), 0);

    CHECK_EQ(agent_power(n.a, false, 10000, &err), 0);  /* --poweroff-cmd true */
    CHECK_EQ(agent_power(n.a, true, 10000, &err), 0);
    CHECK_EQ(agent_ping(n.a, 10000, &err), 0);

    int st = native_stop(&n);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The real agent must survive garbage on its port and resynchronise. */
static void native_agent_bad_frames(void)
{
    struct native n;
    CHECK(native_start(&n, native_path));
    struct disco_err err = { 0 };
    CHECK_EQ(agent_wait_ready(n.a, 10000, &err), 0);
    static const char *const bad[] = {
        /* ids far from the host's own (which start at 1): the replies
         * (`fail`) must not answer the host's later requests */
        "garbage\n", "exec 901 99999999\n", "exec x 0\n", "EXEC 901 0\n", "exec 901 3\nabc",
        "exec 902 0\n", "nosuch 903 0\n", "kill 99 0\n", "exec 904 2\n\0\0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        native_send(&n, (const uint8_t *)bad[i], strlen(bad[i]) + (i == 8 ? 2 : 0));
    char longline[500];
    memset(longline, 'q', sizeof longline);
    native_send(&n, (const uint8_t *)longline, sizeof longline);
    native_send(&n, (const uint8_t *)"\n", 1);
    /* an oversize exec is skipped whole, without killing the agent */
    size_t big = AGENT_MAX_ARGV_BYTES + 100;
    char hdr[64];
    int hl = snprintf(hdr, sizeof hdr, "exec 905 %zu\n", big);
    native_send(&n, (const uint8_t *)hdr, (size_t)hl);
    uint8_t *zeros = calloc(1, big);
    native_send(&n, zeros, big);
    free(zeros);
    CHECK_EQ(agent_ping(n.a, 10000, &err), 0);
    const char *echo[] = { "echo", "still", "here", NULL };
    struct agent_exec_result r;
    CHECK_EQ(agent_exec(n.a, echo, 10000, &r, &err), 0);
    CHECK(r.out && !strcmp((char *)r.out, "still here\n"));
    agent_exec_result_free(&r);
    int st = native_stop(&n);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(fake_exec_basic);
    RUN(fake_concurrent);
    RUN(fake_timeout_kills);
    RUN(fake_not_ready);
    RUN(fake_disconnect);
    RUN(fake_send_fails);
    RUN(fake_truncation);
    RUN(fake_hostile_input);
    if (find_native(native_path, sizeof native_path)) {
        RUN(native_agent_end_to_end);
        RUN(native_agent_bad_frames);
    } else {
        printf("NOTE: native guest agent not found at %s (build it: make "
               "build/tests/disco-agent-native, or set DISCO_AGENT_NATIVE)\n",
               native_path[0] ? native_path : "$DISCO_AGENT_NATIVE");
        SKIP(native_agent_end_to_end, "the native guest agent (disco-agent-native) was not built");
        SKIP(native_agent_bad_frames, "the native guest agent (disco-agent-native) was not built");
    }
    T_EXIT();
}

/* The VMM core: several VMs on ONE shared scheduler and ONE event-loop
 * thread, running small bare-metal programs (tests/unit/vm_progs, built into
 * $(BUILD)/vm_progs): every VM's end arrives through `exited` with the right
 * reason and status; pause freezes instret and resume continues; vm_stop
 * ends a spinning VM; resets (guest and vm_request_reset) rebuild in place;
 * console input queued with vm_console_input reaches the UART; agent bytes
 * go both ways over the virtio-console (with more than the guest's
 * buffers hold at once); vm_run still works alone. The SAN build runs this
 * under ASan/LSan, so vm_free from inside `exited` is checked too. Every
 * wait is bounded. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "vmm/evloop.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

static char progdir[PATH_MAX];

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const char *prog(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s.elf", progdir, name);
    return path;
}

static bool have_progs(void)
{
    return access(prog("agent_echo"), R_OK) == 0;
}

/* One VM under test and what came back through its events. */
struct tvm {
    struct vm *vm;
    pthread_mutex_t lock;
    int exited;
    struct vm_exit ex;
    int rc;
    char errmsg[600];
    bool free_in_exited;
    _Atomic int resets;
    unsigned reset_sleep_ms;   /* t_reset: dawdle, then note agent_len */
    size_t agent_at_reset;
    uint8_t out[4096];   /* console output */
    size_t out_len;
    uint8_t agent[8192]; /* agent port output */
    size_t agent_len;
    char elf[PATH_MAX + 64];   /* the config points here for the VM's life (resets reload it) */
};

static void t_exited(void *ctx, struct vm *vm, const struct vm_exit *ex, int rc,
                     const struct disco_err *err)
{
    struct tvm *t = ctx;
    CHECK(vm == t->vm);
    pthread_mutex_lock(&t->lock);
    t->exited++;
    t->ex = *ex;
    t->rc = rc;
    if (err)
        snprintf(t->errmsg, sizeof t->errmsg, "%s", err->msg);
    if (t->free_in_exited) {
        vm_free(vm);
        t->vm = NULL;
    }
    pthread_mutex_unlock(&t->lock);
}

static void t_reset(void *ctx, struct vm *vm)
{
    struct tvm *t = ctx;
    CHECK(vm == t->vm);
    if (t->reset_sleep_ms) {
        /* The rebuilt machine must not run yet: nothing new may arrive
         * meanwhile. Bytes queued now belong to the old guest: dropped. */
        sleep_ms(t->reset_sleep_ms);
        pthread_mutex_lock(&t->lock);
        t->agent_at_reset = t->agent_len;
        pthread_mutex_unlock(&t->lock);
        CHECK_EQ(vm_agent_send(vm, (const uint8_t *)"stale", 5), 5);
    }
    atomic_fetch_add(&t->resets, 1);
}

static void t_console(void *ctx, const uint8_t *buf, size_t len)
{
    struct tvm *t = ctx;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < len && t->out_len < sizeof t->out; i++)
        t->out[t->out_len++] = buf[i];
    pthread_mutex_unlock(&t->lock);
}

/* Worker thread, device lock held: copy and return. */
static void t_agent(void *ctx, const uint8_t *buf, size_t len)
{
    struct tvm *t = ctx;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < len && t->agent_len < sizeof t->agent; i++)
        t->agent[t->agent_len++] = buf[i];
    pthread_mutex_unlock(&t->lock);
}

static bool tvm_init(struct tvm *t, const char *name, unsigned cpus, bool agent)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    snprintf(t->elf, sizeof t->elf, "%s", prog(name));
    struct vm_config cfg = {
        .cpus = cpus,
        .mem = VM_MIN_MEM,
        .elf = t->elf,
        .console = {.write = t_console, .in_fd = -1, .ctx = t},
        .agent_rx = agent ? t_agent : NULL,
        .agent_ctx = t,
    };
    struct disco_err err = {0};
    t->vm = vm_new(&cfg, &err);
    if (!t->vm)
        printf("vm_new(%s): %s\n", name, err.msg);
    return t->vm != NULL;
}

static int tvm_start(struct tvm *t, struct sched *s, struct evloop *ev)
{
    struct vm_events events = {.exited = t_exited, .reset = t_reset, .ctx = t};
    struct disco_err err = {0};
    int rc = vm_start(t->vm, s, ev, NULL, &events, &err);
    if (rc < 0)
        printf("vm_start: %s\n", err.msg);
    return rc;
}

static int tvm_exited(struct tvm *t)
{
    pthread_mutex_lock(&t->lock);
    int n = t->exited;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* Wait (bounded, 10 s) for the VM's exited. */
static bool tvm_wait(struct tvm *t)
{
    for (int i = 0; i < 10000 && !tvm_exited(t); i++)
        sleep_ms(1);
    return tvm_exited(t) == 1;
}

static void tvm_done(struct tvm *t)
{
    vm_free(t->vm);
    t->vm = NULL;
    pthread_mutex_destroy(&t->lock);
}

static uint64_t instret(struct vm *vm)
{
    struct vm_stats st;
    vm_stats(vm, &st);
    return st.instret;
}

/* The shared host: one scheduler, one loop thread. */
struct host {
    struct sched *s;
    struct evloop *ev;
};

static bool host_new(struct host *h)
{
    struct sched_config sc = {.workers = 2};
    h->s = sched_new(&sc, NULL);
    h->ev = evloop_new(NULL);
    return h->s && h->ev && evloop_start_thread(h->ev, NULL) == 0;
}

static void host_free(struct host *h)
{
    evloop_free(h->ev);
    sched_free(h->s);
}

/* ---- cases ------------------------------------------------------------------- */

static void test_many_vms_exit(void)
{
    struct host h;
    CHECK(host_new(&h));
    static const struct {
        const char *prog;
        unsigned cpus;
        enum vm_exit_reason reason;
        unsigned code;
        int rc;
    } want[] = {
        {"exit0", 1, VM_EXIT_HTIF, 0, 0},     {"exit5", 2, VM_EXIT_HTIF, 5, 5},
        {"poweroff", 1, VM_EXIT_POWEROFF, 0, 0}, {"fail7", 3, VM_EXIT_FAIL, 7, 7},
        {"exit0", 2, VM_EXIT_HTIF, 0, 0},     {"exit5", 1, VM_EXIT_HTIF, 5, 5},
    };
    enum { N = sizeof want / sizeof want[0] };
    struct tvm t[N];
    for (int i = 0; i < N; i++) {
        CHECK(tvm_init(&t[i], want[i].prog, want[i].cpus, false));
        t[i].free_in_exited = i & 1;   /* half are freed from inside exited */
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ(tvm_start(&t[i], h.s, h.ev), 0);
    for (int i = 0; i < N; i++) {
        CHECK(tvm_wait(&t[i]));
        CHECK_EQ(t[i].ex.reason, want[i].reason);
        CHECK_EQ(t[i].ex.code, want[i].code);
        CHECK_EQ(t[i].rc, want[i].rc);
        if (!t[i].free_in_exited) {
            CHECK_EQ(vm_agent_send(t[i].vm, (const uint8_t *)"x", 1), -EPIPE);
            CHECK_EQ(vm_pause(t[i].vm), -EINVAL);
            struct disco_err err = {0};
            CHECK_EQ(vm_start(t[i].vm, h.s, h.ev, NULL, NULL, &err), -EBUSY);
        } else {
            CHECK(t[i].vm == NULL);
        }
    }
    sleep_ms(20);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(tvm_exited(&t[i]), 1);   /* exactly once */
        tvm_done(&t[i]);
    }
    host_free(&h);
}

static void test_pause_resume(void)
{
    struct host h;
    CHECK(host_new(&h));
    struct tvm a, b;
    CHECK(tvm_init(&a, "spin", 2, false));
    CHECK(tvm_init(&b, "spin", 1, false));
    CHECK_EQ(vm_pause(a.vm), -EINVAL);   /* not started */
    CHECK_EQ(tvm_start(&a, h.s, h.ev), 0);
    CHECK_EQ(tvm_start(&b, h.s, h.ev), 0);
    sleep_ms(50);
    CHECK(instret(a.vm) > 0);
    CHECK_EQ(vm_pause(a.vm), 0);
    struct vm_stats st;
    vm_stats(a.vm, &st);
    CHECK(st.paused);
    CHECK_EQ(st.cpus, 2);
    CHECK(st.uptime_ns > 0);
    uint64_t i0 = instret(a.vm), j0 = instret(b.vm);
    sleep_ms(60);
    CHECK_EQ(instret(a.vm), i0);          /* frozen */
    CHECK(instret(b.vm) > j0);            /* the other VM runs on */
    CHECK_EQ(vm_resume(a.vm), 0);
    sleep_ms(60);
    CHECK(instret(a.vm) > i0);
    vm_stats(a.vm, &st);
    CHECK(!st.paused);
    /* A paused VM can still be stopped. */
    CHECK_EQ(vm_pause(b.vm), 0);
    vm_stop(a.vm);
    vm_stop(b.vm);
    CHECK(tvm_wait(&a) && tvm_wait(&b));
    CHECK_EQ(a.ex.reason, VM_EXIT_STOPPED);
    CHECK_EQ(b.ex.reason, VM_EXIT_STOPPED);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(vm_resume(a.vm), -EINVAL);
    tvm_done(&a);
    tvm_done(&b);
    host_free(&h);
}

static void test_stop_spinning(void)
{
    struct host h;
    CHECK(host_new(&h));
    struct tvm t;
    CHECK(tvm_init(&t, "spin", 4, false));
    vm_stop(t.vm);   /* before the start: served as soon as it runs */
    CHECK_EQ(tvm_start(&t, h.s, h.ev), 0);
    CHECK(tvm_wait(&t));
    CHECK_EQ(t.ex.reason, VM_EXIT_STOPPED);
    tvm_done(&t);

    CHECK(tvm_init(&t, "spin", 2, false));
    t.free_in_exited = true;
    CHECK_EQ(tvm_start(&t, h.s, h.ev), 0);
    sleep_ms(30);
    vm_stop(t.vm);
    CHECK(tvm_wait(&t));
    CHECK_EQ(t.ex.reason, VM_EXIT_STOPPED);
    CHECK_EQ(t.rc, 0);
    tvm_done(&t);
    host_free(&h);
}

static void test_resets(void)
{
    struct host h;
    CHECK(host_new(&h));
    struct tvm r, s;
    CHECK(tvm_init(&r, "reboot", 1, false));   /* reboots forever */
    CHECK(tvm_init(&s, "spin", 1, false));
    CHECK_EQ(tvm_start(&r, h.s, h.ev), 0);
    CHECK_EQ(tvm_start(&s, h.s, h.ev), 0);
    for (int i = 0; i < 5000 && atomic_load(&r.resets) < 3; i++)
        sleep_ms(1);
    CHECK(atomic_load(&r.resets) >= 3);
    vm_request_reset(s.vm);
    for (int i = 0; i < 5000 && atomic_load(&s.resets) < 1; i++)
        sleep_ms(1);
    CHECK_EQ(atomic_load(&s.resets), 1);
    struct vm_stats st;
    vm_stats(s.vm, &st);
    CHECK_EQ(st.resets, 1);
    CHECK(st.mem_touched >= 4096);
    sleep_ms(20);
    CHECK(instret(s.vm) > 0);   /* the rebuilt machine runs */
    vm_stop(r.vm);
    vm_stop(s.vm);
    CHECK(tvm_wait(&r) && tvm_wait(&s));
    CHECK_EQ(r.ex.reason, VM_EXIT_STOPPED);
    CHECK(r.ex.resets >= 3);
    CHECK_EQ(s.ex.resets, 1);
    tvm_done(&r);
    tvm_done(&s);
    host_free(&h);
}

static void test_console_input(void)
{
    struct host h;
    CHECK(host_new(&h));
    struct tvm t;
    CHECK(tvm_init(&t, "uart_echo", 1, false));
    /* Queued before the start and before the guest listens: held back. */
    CHECK_EQ(vm_console_input(t.vm, (const uint8_t *)"hello ", 6), 6);
    CHECK_EQ(tvm_start(&t, h.s, h.ev), 0);
    sleep_ms(20);
    static uint8_t big[3000];
    memset(big, 'z', sizeof big);   /* more than the UART FIFO holds */
    CHECK_EQ(vm_console_input(t.vm, big, sizeof big), sizeof big);
    CHECK_EQ(vm_console_input(t.vm, (const uint8_t *)"q", 1), 1);
    CHECK(tvm_wait(&t));
    CHECK_EQ(t.ex.reason, VM_EXIT_HTIF);
    CHECK_EQ(t.ex.code, 0);
    CHECK_EQ(t.out_len, 6 + sizeof big + 1);
    CHECK(memcmp(t.out, "hello zzz", 9) == 0);
    CHECK_EQ(t.out[t.out_len - 1], 'q');
    tvm_done(&t);
    host_free(&h);
}

static bool agent_has(struct tvm *t, size_t n)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&t->lock);
        size_t k = t->agent_len;
        pthread_mutex_unlock(&t->lock);
        if (k >= n)
            return true;
        sleep_ms(1);
    }
    return false;
}

static void test_agent_echo(void)
{
    struct host h;
    CHECK(host_new(&h));
    struct tvm t;
    CHECK(tvm_init(&t, "agent_echo", 1, true));
    CHECK_EQ(vm_agent_send(t.vm, (const uint8_t *)"x", 1), -EPIPE);   /* not started */
    CHECK_EQ(tvm_start(&t, h.s, h.ev), 0);
    CHECK(agent_has(&t, 6));
    CHECK(memcmp(t.agent, "hello\n", 6) == 0);
    /* 1000 bytes: the guest holds 4 x 64 bytes of buffers at a time, so
     * most of it waits for reposted buffers. */
    static uint8_t msg[1000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)('a' + i % 26);
    CHECK_EQ(vm_agent_send(t.vm, msg, 500), 500);
    CHECK_EQ(vm_agent_send(t.vm, msg + 500, 500), 500);
    CHECK_EQ(vm_agent_send(t.vm, msg, VM_AGENT_QUEUE + 1), -ENOBUFS);
    CHECK(agent_has(&t, 6 + sizeof msg));
    CHECK_EQ(t.agent_len, 6 + sizeof msg);
    CHECK(memcmp(t.agent + 6, msg, sizeof msg) == 0);
    CHECK_EQ(t.out_len, 0);   /* nothing leaked to the console */
    vm_stop(t.vm);
    CHECK(tvm_wait(&t));
    CHECK_EQ(t.ex.reason, VM_EXIT_STOPPED);
    CHECK_EQ(vm_agent_send(t.vm, msg, 1), -EPIPE);   /* exited */
    tvm_done(&t);
    host_free(&h);
}

/* A reset is reported before the rebuilt machine runs: the agent_echo
 * guest says hello at once after boot, and that hello must come after the
 * reset callback (where libdisco drops the old agent connection), else the
 * new connection would be torn down right after it said hello. Agent bytes
 * queued for the old guest never reach the new one. */
static void test_reset_before_run(void)
{
    struct host h;
    CHECK(host_new(&h));
    struct tvm t;
    CHECK(tvm_init(&t, "agent_echo", 1, true));
    t.reset_sleep_ms = 100;
    CHECK_EQ(tvm_start(&t, h.s, h.ev), 0);
    CHECK(agent_has(&t, 6));
    vm_request_reset(t.vm);
    for (int i = 0; i < 5000 && atomic_load(&t.resets) < 1; i++)
        sleep_ms(1);
    CHECK_EQ(atomic_load(&t.resets), 1);
    pthread_mutex_lock(&t.lock);
    CHECK_EQ(t.agent_at_reset, 6);   /* no new hello during the callback */
    pthread_mutex_unlock(&t.lock);
    CHECK(agent_has(&t, 12));
    CHECK_EQ(vm_agent_send(t.vm, (const uint8_t *)"z", 1), 1);
    CHECK(agent_has(&t, 13));
    sleep_ms(20);
    pthread_mutex_lock(&t.lock);
    CHECK_EQ(t.agent_len, 13);
    CHECK(memcmp(t.agent, "hello\nhello\nz", 13) == 0);   /* no "stale" */
    pthread_mutex_unlock(&t.lock);
    vm_stop(t.vm);
    CHECK(tvm_wait(&t));
    tvm_done(&t);
    host_free(&h);
}

/* vm_run: a private scheduler and loop on the calling thread. */
struct stopper {
    struct vm *vm;
    unsigned ms;
};
static void *stop_later(void *arg)
{
    struct stopper *s = arg;
    sleep_ms(s->ms);
    vm_request_stop(s->vm);
    return NULL;
}

static void test_vm_run(void)
{
    struct tvm t;
    CHECK(tvm_init(&t, "exit5", 2, false));
    struct vm_exit ex;
    struct disco_err err = {0};
    CHECK_EQ(vm_run(t.vm, &ex, &err), 5);
    CHECK_EQ(ex.reason, VM_EXIT_HTIF);
    CHECK_EQ(ex.code, 5);
    tvm_done(&t);

    CHECK(tvm_init(&t, "spin", 2, false));
    struct stopper st = {t.vm, 50};
    pthread_t th;
    pthread_create(&th, NULL, stop_later, &st);
    CHECK_EQ(vm_run(t.vm, &ex, &err), 0);
    CHECK_EQ(ex.reason, VM_EXIT_STOPPED);
    pthread_join(th, NULL);
    tvm_done(&t);
}

int main(int argc, char **argv)
{
    (void)argc;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(exe, sizeof exe, "%s", argv[0]);
    } else {
        exe[n] = 0;
    }
    /* BUILD/tests/unit/test_vm -> BUILD/vm_progs */
    char *d = dirname(dirname(dirname(exe)));
    snprintf(progdir, sizeof progdir, "%s/vm_progs", d);
    if (!have_progs()) {
        SKIP(test_vm, "no vm_progs ELFs (riscv64-unknown-elf-gcc; make vm-progs)");
        return 0;
    }
    RUN(test_many_vms_exit);
    RUN(test_pause_resume);
    RUN(test_stop_spinning);
    RUN(test_resets);
    RUN(test_console_input);
    RUN(test_agent_echo);
    RUN(test_reset_before_run);
    RUN(test_vm_run);
    T_EXIT();
}

/* libdisco's containers (include/disco.h, src/api/ct.c): the lifecycle in
 * every state, console, persistence, limits, snapshots, devices, network
 * and checkpoint, through the library itself with a temp state directory.
 * The root file system is $DISCO_ROOTFS, else a busybox tree built here.
 * Needs root (namespaces, cgroups, veth): otherwise every case SKIPs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "disco.h"
#include "t.h"

static char rootfs[700];         /* the read-only busybox root every test uses */
static char own_rootfs[700];     /* a copy we may write into, "" if none */
static char tmpdir[256];         /* everything of this run */
static char prefix[16];          /* names: "c<pid>" so parallel runs do not collide */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *nm(const char *suffix)
{
    static __thread char buf[8][64];
    static __thread int k;
    char *b = buf[k++ % 8];
    snprintf(b, 64, "%s%s", prefix, suffix);
    return b;
}

static int rm_cb(const char *p, const struct stat *st, int fl, struct FTW *f)
{
    (void)st, (void)f;
    if (fl == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

static void rm_rf(const char *p)
{
    nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
    char p[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    struct stat st;
    return lstat(p, &st) == 0;
}

/* A busybox root: the applets these tests run, and the directories the
 * runtime mounts on. */
static bool build_rootfs(const char *dir)
{
    static const char *const applets[] = {
        "sh", "true", "echo", "cat", "ls", "ps", "sleep", "id", "hostname", "mount", "ip",
        "ifconfig", "touch", "test", "tty", "grep", "stat", "mknod", "env", "pwd", "seq",
        "head", "wc", NULL};
    if (sh("mkdir -p %s/bin %s/proc %s/dev %s/sys %s/tmp %s/etc %s/root && cp /bin/busybox "
           "%s/bin/", dir, dir, dir, dir, dir, dir, dir, dir))
        return false;
    for (int i = 0; applets[i]; i++) {
        char l[800];
        snprintf(l, sizeof l, "%s/bin/%s", dir, applets[i]);
        if (symlink("busybox", l) < 0 && errno != EEXIST)
            return false;
    }
    return true;
}

/* ---- host and containers ------------------------------------------------------------ */

static struct disco_host *host_at(const char *dir)
{
    struct disco_host_config hc = {.state_dir = dir, .workers = 1};
    struct disco_err e = {0};
    struct disco_host *h = disco_host_new(&hc, &e);
    if (!h)
        printf("  disco_host_new: %s\n", e.msg);
    return h;
}

static char *state_dir(void)
{
    char *d;
    if (asprintf(&d, "%s/state.XXXXXX", tmpdir) < 0)
        return NULL;
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

/* Loop forever, exit 0 on SIGPWR (a clean shutdown). */
static const char *const init_trap[] = {
    "/bin/sh", "-c", "trap 'echo got-pwr; exit 0' PWR; echo hello-console; "
    "while :; do sleep 1; done", NULL};
/* Ignores SIGPWR (init has no handler for it). */
static const char *const init_deaf[] = {"/bin/sh", "-c", "while :; do sleep 1; done", NULL};

static int mkct(struct disco_host *h, struct disco_ct_config *c, const char *name,
                const char *const *argv)
{
    c->name = name;
    if (!c->rootfs)
        c->rootfs = rootfs;
    for (int i = 0; argv && argv[i]; i++)
        c->argv[i] = argv[i];
    struct disco_err e = {0};
    int rc = disco_ct_create(h, c, &e);
    if (rc < 0)
        printf("  disco_ct_create %s: %s\n", name, e.msg);
    return rc;
}

static int start(struct disco_host *h, const char *name)
{
    struct disco_err e = {0};
    int rc = disco_start(h, name, &e);
    if (rc < 0)
        printf("  disco_start %s: %s\n", name, e.msg);
    return rc;
}

static enum disco_state state_of(struct disco_host *h, const char *name)
{
    struct disco_info i;
    if (disco_info(h, name, &i, NULL) < 0)
        return (enum disco_state)-1;
    return i.state;
}

/* Run argv in the container: its stdout (malloc'd, "" on failure), *status. */
static char *ex(struct disco_host *h, const char *name, const char *const *argv, int *status)
{
    struct disco_exec_result r;
    struct disco_err e = {0};
    int rc = disco_exec(h, name, argv, 10000, &r, &e);
    if (rc < 0) {
        printf("  exec %s in %s: %s\n", argv[0], name, e.msg);
        *status = -1;
        return strdup("");
    }
    *status = r.status;
    char *out = (char *)r.out;
    r.out = NULL;
    disco_exec_result_free(&r);
    return out;
}

/* Did argv exit 0 with needle in its stdout (which may hold NULs)? */
static bool ex_has(struct disco_host *h, const char *name, const char *const *argv,
                   const char *needle)
{
    struct disco_exec_result r;
    struct disco_err e = {0};
    int rc = disco_exec(h, name, argv, 10000, &r, &e);
    if (rc < 0) {
        printf("  exec %s in %s: %s\n", argv[0], name, e.msg);
        return false;
    }
    bool ok = r.status == 0 && memmem(r.out, r.out_len, needle, strlen(needle));
    if (!ok)
        printf("  %s: status %d, output '%.300s' (wanted '%s')\n", argv[0], r.status,
               (char *)r.out, needle);
    disco_exec_result_free(&r);
    return ok;
}

struct watch {
    pthread_mutex_t lock;
    char buf[65536];
    size_t len;
    int closed;
};

static void w_output(void *ctx, const uint8_t *b, size_t n)
{
    struct watch *w = ctx;
    pthread_mutex_lock(&w->lock);
    if (n > sizeof w->buf - 1 - w->len)
        n = sizeof w->buf - 1 - w->len;
    memcpy(w->buf + w->len, b, n);
    w->len += n;
    w->buf[w->len] = '\0';
    pthread_mutex_unlock(&w->lock);
}

static void w_closed(void *ctx)
{
    struct watch *w = ctx;
    pthread_mutex_lock(&w->lock);
    w->closed++;
    pthread_mutex_unlock(&w->lock);
}

static const struct disco_console_ops w_ops = {.output = w_output, .closed = w_closed};

/* Poll the watcher until text shows up (bounded). */
static bool watch_has(struct watch *w, const char *text, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        bool ok = strstr(w->buf, text) != NULL;
        pthread_mutex_unlock(&w->lock);
        if (ok || now_ms() >= end)
            return ok;
        sleep_ms(5);
    }
}

static bool wait_state(struct disco_host *h, const char *name, enum disco_state st,
                       unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (state_of(h, name) != st) {
        if (now_ms() >= end)
            return false;
        sleep_ms(10);
    }
    return true;
}

static bool cgroup_gone(const char *name)
{
    return !exists("/sys/fs/cgroup/memory/disco/%s", name) &&
           !exists("/sys/fs/cgroup/pids/disco/%s", name) &&
           !exists("/sys/fs/cgroup/unified/disco/%s", name) &&
           !exists("/sys/fs/cgroup/disco/%s/cgroup.procs", name);
}

/* ---- cases ---------------------------------------------------------------------------- */

static void ct_config_roundtrip(void)
{
    const char *js = "{\"kind\": \"container\", \"name\": \"web\", \"rootfs\": \"/srv/web\", "
                     "\"argv\": [\"/bin/sh\", \"-c\", \"echo hi\"], \"env\": [\"A=1\"], "
                     "\"mem_limit\": \"64M\", \"cpu_weight\": 200, \"cpu_cap\": 50, "
                     "\"pids_max\": 100, \"io_weight\": 500, \"bridge\": \"br0\", "
                     "\"address\": \"10.88.0.2/16\", \"gateway\": \"10.88.0.1\", "
                     "\"terminal\": true, \"readonly_root\": true, \"userns\": true}";
    struct disco_ct_config c, c2;
    void *st = NULL, *st2 = NULL;
    struct disco_err e = {0};
    CHECK_EQ(disco_ct_config_parse(js, &c, &st, &e), 0);
    CHECK(c.name && !strcmp(c.name, "web"));
    CHECK_EQ(c.mem_limit, 64ull << 20);
    CHECK(c.argv[2] && !strcmp(c.argv[2], "echo hi") && !c.argv[3]);
    CHECK(c.terminal && c.readonly_root && c.userns);
    char *out = disco_ct_config_to_json(&c);
    CHECK(out && strstr(out, "\"kind\": \"container\""));
    CHECK_EQ(disco_ct_config_parse(out, &c2, &st2, &e), 0);
    CHECK(c2.address && !strcmp(c2.address, "10.88.0.2/16"));
    CHECK_EQ(c2.pids_max, 100);
    CHECK_EQ(c2.cpu_weight, 200);
    free(out);
    free(st);
    free(st2);
    /* A VM parser refuses a container config, and the other way round. */
    struct disco_vm_config vc;
    CHECK_EQ(disco_vm_config_parse(js, &vc, &st, &e), -EINVAL);
    CHECK(strstr(e.msg, "container"));
    free(st);
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"rootfs\": \"/x\", \"memory\": 5}", "unknown key 'memory'"},
        {"{\"kind\": \"vm\"}", "kind"},
        {"{\"rootfs\": \"rel\"}", "absolute"},
        {"{\"address\": \"10.0.0.2/8\"}", "needs a 'bridge'"},
        {"{\"bridge\": \"br0\", \"address\": \"10.0.0.2\"}", "address"},
        {"{\"mem_limit\": \"1K\"}", "mem_limit"},
        {"{\"cpu_weight\": 20000}", "cpu_weight"},
        {"{\"io_weight\": 5}", "io_weight"},
        {"{\"env\": [\"NOEQUALS\"]}", "env"},
        {"{\"bridge\": \"a-very-long-bridge-name\"}", "bridge"},
        {"{\"argv\": \"sh\"}", "argv"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        int rc = disco_ct_config_parse(bad[i].json, &c, &st, &e);
        if (rc != -EINVAL || !strstr(e.msg, bad[i].needle))
            printf("  %s: rc %d, '%s'\n", bad[i].json, rc, e.msg);
        CHECK_EQ(rc, -EINVAL);
        CHECK(strstr(e.msg, bad[i].needle) != NULL);
        free(st);
    }
}

/* Every verb a STOPPED / PAUSED container refuses: -EBUSY and nothing
 * changes. */
static void refuses(struct disco_host *h, const char *name, enum disco_state st)
{
    struct disco_err e = {0};
    const char *const av[] = {"true", NULL};
    struct disco_exec_result r;
    bool forced;
    if (st == DISCO_STOPPED) {
        CHECK_EQ(disco_stop(h, name, &e), -EBUSY);
        CHECK_EQ(disco_shutdown(h, name, 100, &forced, &e), -EBUSY);
        CHECK_EQ(disco_reboot(h, name, false, 100, &e), -EBUSY);
        CHECK_EQ(disco_pause(h, name, &e), -EBUSY);
        CHECK_EQ(disco_resume(h, name, &e), -EBUSY);
        CHECK_EQ(disco_exec(h, name, av, 1000, &r, &e), -EBUSY);
        CHECK_EQ(disco_add_device_node(h, name, "/dev/x", 'c', 1, 3, 0666, &e), -EBUSY);
        CHECK_EQ(disco_attach_interface(h, name, "lo", NULL, &e), -EBUSY);
        CHECK_EQ(disco_ct_checkpoint(h, name, "/tmp/x", false, &e), -EBUSY);
        CHECK(disco_console_attach(h, name, &w_ops, NULL, false, NULL, &e) == NULL);
        CHECK_EQ(e.code, -EBUSY);
    } else {
        CHECK_EQ(disco_start(h, name, &e), -EBUSY);
        CHECK_EQ(disco_pause(h, name, &e), -EBUSY);
        CHECK_EQ(disco_exec(h, name, av, 1000, &r, &e), -EBUSY);
        CHECK_EQ(disco_shutdown(h, name, 100, &forced, &e), -EBUSY);
        CHECK_EQ(disco_reboot(h, name, false, 100, &e), -EBUSY);
        CHECK_EQ(disco_destroy(h, name, &e), -EBUSY);
        CHECK_EQ(disco_ct_restore(h, name, "/tmp/x", &e), -EBUSY);
        CHECK_EQ(disco_add_device_node(h, name, "/dev/x", 'c', 1, 3, 0666, &e), -EBUSY);
    }
    CHECK_EQ(state_of(h, name), st);
}

static void lifecycle(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    const char *name = nm("-life");
    struct disco_ct_config c = {0};
    struct disco_err e = {0};
    CHECK_EQ(mkct(h, &c, name, init_trap), 0);
    refuses(h, name, DISCO_STOPPED);
    CHECK_EQ(start(h, name), 0);
    struct disco_info info;
    CHECK_EQ(disco_info(h, name, &info, &e), 0);
    CHECK_EQ(info.state, DISCO_RUNNING);
    CHECK_EQ(info.kind, DISCO_KIND_CONTAINER);
    CHECK(info.pid > 1);
    CHECK(!info.agent);
    CHECK_EQ(disco_start(h, name, &e), -EBUSY);
    CHECK_EQ(disco_destroy(h, name, &e), -EBUSY);

    /* Console: the replay has what init printed before we attached. */
    struct watch *w = calloc(1, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    struct disco_console *con = disco_console_attach(h, name, &w_ops, w, false, NULL, &e);
    CHECK(con != NULL);
    CHECK(watch_has(w, "hello-console", 5000));

    const char *const hn[] = {"hostname", NULL};
    CHECK(ex_has(h, name, hn, name));
    const char *const cmdline[] = {"cat", "/proc/1/cmdline", NULL};
    CHECK(ex_has(h, name, cmdline, "trap"));
    const char *const ids[] = {"id", "-u", NULL};
    CHECK(ex_has(h, name, ids, "0"));
    int st;
    const char *const seven[] = {"sh", "-c", "echo out; echo err >&2; exit 7", NULL};
    struct disco_exec_result r;
    CHECK_EQ(disco_exec(h, name, seven, 5000, &r, &e), 0);
    CHECK_EQ(r.status, 7);
    CHECK(r.out && !strcmp((char *)r.out, "out\n"));
    CHECK(r.errout && !strcmp((char *)r.errout, "err\n"));
    disco_exec_result_free(&r);
    const char *const nosuch[] = {"/no/such/program", NULL};
    CHECK(disco_exec(h, name, nosuch, 5000, &r, &e) < 0);
    const char *const slow[] = {"sleep", "30", NULL};
    uint64_t t0 = now_ms();
    CHECK_EQ(disco_exec(h, name, slow, 300, &r, &e), -ETIMEDOUT);
    CHECK(now_ms() - t0 < 5000);
    /* The private pid namespace: init is 1, and only ours are there. */
    const char *const ps[] = {"sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'", NULL};
    char *o = ex(h, name, ps, &st);
    CHECK_EQ(st, 0);
    CHECK(atoi(o) > 1 && atoi(o) < 100);
    free(o);

    CHECK_EQ(disco_pause(h, name, &e), 0);
    CHECK_EQ(state_of(h, name), DISCO_PAUSED);
    refuses(h, name, DISCO_PAUSED);
    struct disco_stats sts;
    CHECK_EQ(disco_stats(h, name, &sts, &e), 0);
    CHECK_EQ(sts.state, DISCO_PAUSED);
    CHECK_EQ(disco_resume(h, name, &e), 0);
    CHECK_EQ(state_of(h, name), DISCO_RUNNING);
    CHECK(ex_has(h, name, hn, name));

    CHECK_EQ(disco_stats(h, name, &sts, &e), 0);
    CHECK_EQ(sts.kind, DISCO_KIND_CONTAINER);
    CHECK(sts.ct_pids >= 1);
    CHECK(sts.mem_resident > 0);
    CHECK(sts.uptime_ns > 0);
    CHECK_EQ(sts.ct_pids_max, UINT64_MAX);

    bool forced = true;
    CHECK_EQ(disco_shutdown(h, name, 10000, &forced, &e), 0);
    CHECK(!forced);
    CHECK(watch_has(w, "got-pwr", 2000));
    CHECK_EQ(disco_info(h, name, &info, &e), 0);
    CHECK_EQ(info.state, DISCO_STOPPED);
    CHECK_EQ(info.pid, 0);
    CHECK(!strcmp(info.last_exit, "exited with status 0"));
    pthread_mutex_lock(&w->lock);
    CHECK_EQ(w->closed, 1);
    pthread_mutex_unlock(&w->lock);
    disco_console_detach(con);
    pthread_mutex_destroy(&w->lock);
    free(w);
    refuses(h, name, DISCO_STOPPED);
    CHECK(cgroup_gone(name));
    char *log = disco_console_log_path(h, name);
    CHECK(log && sh("grep -q hello-console %s", log) == 0);
    free(log);

    /* A stop (SIGKILL to all) and an init that ends by itself. */
    CHECK_EQ(start(h, name), 0);
    CHECK_EQ(disco_stop(h, name, &e), 0);
    CHECK_EQ(disco_info(h, name, &info, &e), 0);
    CHECK(!strcmp(info.last_exit, "stopped"));
    CHECK_EQ(disco_destroy(h, name, &e), 0);
    CHECK_EQ(disco_info(h, name, &info, &e), -ENOENT);
    CHECK(!exists("%s/vms/%s", dir, name));

    const char *quick = nm("-quick");
    const char *const q[] = {"/bin/sh", "-c", "exit 3", NULL};
    struct disco_ct_config qc = {0};
    CHECK_EQ(mkct(h, &qc, quick, q), 0);
    CHECK_EQ(start(h, quick), 0);
    CHECK(wait_state(h, quick, DISCO_STOPPED, 5000));
    CHECK_EQ(disco_info(h, quick, &info, &e), 0);
    CHECK(!strcmp(info.last_exit, "exited with status 3"));
    /* A program that does not exist fails start itself. */
    const char *bad = nm("-bad");
    const char *const nb[] = {"/no/such/init", NULL};
    struct disco_ct_config bc = {0};
    CHECK_EQ(mkct(h, &bc, bad, nb), 0);
    CHECK(disco_start(h, bad, &e) < 0);
    CHECK(e.msg[0] != '\0');
    CHECK_EQ(state_of(h, bad), DISCO_STOPPED);
    CHECK(cgroup_gone(bad));
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

static void shutdown_reboot(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *deaf = nm("-deaf");
    struct disco_ct_config c = {0};
    CHECK_EQ(mkct(h, &c, deaf, init_deaf), 0);
    CHECK_EQ(start(h, deaf), 0);
    bool forced = false;
    uint64_t t0 = now_ms();
    CHECK_EQ(disco_shutdown(h, deaf, 300, &forced, &e), 0);
    CHECK(forced);
    CHECK(now_ms() - t0 >= 300);
    struct disco_info info;
    CHECK_EQ(disco_info(h, deaf, &info, &e), 0);
    CHECK_EQ(info.state, DISCO_STOPPED);
    CHECK(!strcmp(info.last_exit, "stopped (shutdown timed out)"));

    const char *rb = nm("-rb");
    struct disco_ct_config c2 = {0};
    CHECK_EQ(mkct(h, &c2, rb, init_trap), 0);
    CHECK_EQ(start(h, rb), 0);
    CHECK_EQ(disco_info(h, rb, &info, &e), 0);
    int pid1 = info.pid;
    CHECK_EQ(disco_reboot(h, rb, false, 5000, &e), 0);
    CHECK_EQ(disco_info(h, rb, &info, &e), 0);
    CHECK_EQ(info.state, DISCO_RUNNING);
    CHECK(info.pid > 0 && info.pid != pid1);
    int pid2 = info.pid;
    CHECK_EQ(disco_reboot(h, rb, true, 0, &e), 0);
    CHECK_EQ(disco_info(h, rb, &info, &e), 0);
    CHECK_EQ(info.state, DISCO_RUNNING);
    CHECK(info.pid > 0 && info.pid != pid2);
    const char *const hn[] = {"hostname", NULL};
    CHECK(ex_has(h, rb, hn, rb));
    /* The host stops what runs when it is freed. */
    disco_host_free(h);
    CHECK(kill(info.pid, 0) < 0);
    CHECK(cgroup_gone(rb));
    rm_rf(dir);
    free(dir);
}

static void persistence_and_kinds(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *name = nm("-keep");
    struct disco_ct_config c = {.mem_limit = 48u << 20, .pids_max = 77, .terminal = true,
                                .hostname = "keeper", .autostart = false};
    CHECK_EQ(mkct(h, &c, name, init_deaf), 0);
    CHECK_EQ(disco_ct_create(h, &c, &e), -EEXIST);
    /* One namespace for both kinds. */
    const char *vm = nm("-vm");
    struct disco_vm_config vc = {.name = vm, .kernel = "/nonexistent/Image"};
    CHECK_EQ(disco_create(h, &vc, &e), 0);
    struct disco_ct_config clash = {.name = vm, .rootfs = rootfs};
    CHECK_EQ(disco_ct_create(h, &clash, &e), -EEXIST);
    struct disco_vm_config vclash = {.name = name, .kernel = "/nonexistent/Image"};
    CHECK_EQ(disco_create(h, &vclash, &e), -EEXIST);
    disco_host_free(h);

    h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    CHECK(disco_host_warnings(h) == NULL);
    enum disco_kind k = DISCO_KIND_VM;
    CHECK_EQ(disco_kind(h, name, &k, &e), 0);
    CHECK_EQ(k, DISCO_KIND_CONTAINER);
    CHECK_EQ(disco_kind(h, vm, &k, &e), 0);
    CHECK_EQ(k, DISCO_KIND_VM);
    struct disco_ct_config g;
    CHECK_EQ(disco_ct_get_config(h, name, &g, &e), 0);
    CHECK(!strcmp(g.rootfs, rootfs));
    CHECK_EQ(g.mem_limit, 48u << 20);
    CHECK_EQ(g.pids_max, 77);
    CHECK(g.terminal);
    CHECK(!strcmp(g.hostname, "keeper"));
    CHECK(g.argv[1] && !strcmp(g.argv[1], "-c"));
    struct disco_vm_config gv;
    CHECK_EQ(disco_get_config(h, name, &gv, &e), -EINVAL);
    CHECK_EQ(disco_ct_get_config(h, vm, &g, &e), -EINVAL);
    struct disco_info *all = NULL;
    size_t n = 0;
    CHECK_EQ(disco_list(h, &all, &n, &e), 0);
    CHECK_EQ(n, 2);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(all[i].kind, strcmp(all[i].name, vm) ? DISCO_KIND_CONTAINER : DISCO_KIND_VM);
    free(all);

    /* VM-only verbs on a container, container-only verbs on a VM. */
    CHECK_EQ(disco_balloon(h, name, 64u << 20, &e), -EINVAL);
    CHECK(strstr(e.msg, "container"));
    CHECK_EQ(disco_wait_agent(h, name, 0, &e), -EINVAL);
    CHECK_EQ(disco_add_device_node(h, vm, "/dev/x", 'c', 1, 3, 0, &e), -EINVAL);
    CHECK_EQ(disco_attach_interface(h, vm, "lo", NULL, &e), -EINVAL);
    CHECK_EQ(disco_ct_snapshot(h, vm, nm("-s"), false, &e), -EINVAL);
    CHECK_EQ(disco_ct_checkpoint(h, vm, "/tmp/x", false, &e), -EINVAL);
    CHECK_EQ(disco_ct_restore(h, vm, "/tmp/x", &e), -EINVAL);
    /* set_sched on a container: its cgroup CPU weight and cap, saved. */
    CHECK_EQ(disco_set_sched(h, name, 300, 25, &e), 0);
    CHECK_EQ(disco_ct_get_config(h, name, &g, &e), 0);
    CHECK_EQ(g.cpu_weight, 300);
    CHECK_EQ(g.cpu_cap, 25);
    CHECK_EQ(disco_set_sched(h, name, 20000, DISCO_SCHED_KEEP, &e), -EINVAL);

    /* A terminal: init's console is its pty. */
    CHECK_EQ(start(h, name), 0);
    const char *const tty[] = {"sh", "-c", "ls -l /proc/1/fd/0", NULL};
    CHECK(ex_has(h, name, tty, "/dev/pts/"));
    CHECK_EQ(disco_destroy(h, vm, &e), 0);
    CHECK_EQ(disco_stop(h, name, &e), 0);
    CHECK_EQ(disco_destroy(h, name, &e), 0);
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

/* Console input: to init's stdin (a shell reading commands), and to a pty. */
static void console_input(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    for (int tty = 0; tty < 2; tty++) {
        const char *name = nm(tty ? "-ctty" : "-cpipe");
        struct disco_ct_config c = {.terminal = tty};
        const char *const shell[] = {"/bin/sh", tty ? "-i" : NULL, NULL};
        CHECK_EQ(mkct(h, &c, name, shell), 0);
        CHECK_EQ(start(h, name), 0);
        struct watch *w = calloc(1, sizeof *w);
        pthread_mutex_init(&w->lock, NULL);
        bool writer = false;
        struct disco_console *con = disco_console_attach(h, name, &w_ops, w, true, &writer, &e);
        CHECK(con && writer);
        const char *cmd = "echo in-$((40+2))\n";
        CHECK_EQ(disco_console_write(con, (const uint8_t *)cmd, strlen(cmd)), (int)strlen(cmd));
        CHECK(watch_has(w, "in-42", 5000));
        const char *bye = "exit 5\n";
        CHECK(disco_console_write(con, (const uint8_t *)bye, strlen(bye)) > 0);
        CHECK(wait_state(h, name, DISCO_STOPPED, 5000));
        CHECK_EQ(disco_console_write(con, (const uint8_t *)bye, strlen(bye)), -EPIPE);
        disco_console_detach(con);
        pthread_mutex_destroy(&w->lock);
        free(w);
        struct disco_info info;
        CHECK_EQ(disco_info(h, name, &info, &e), 0);
        CHECK(!strcmp(info.last_exit, "exited with status 5"));
    }
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

static void limits_and_oom(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *name = nm("-lim");
    struct disco_ct_config c = {.mem_limit = 32u << 20, .pids_max = 64, .cpu_cap = 50,
                                .cpu_weight = 100, .io_weight = 200};
    CHECK_EQ(mkct(h, &c, name, init_deaf), 0);
    CHECK_EQ(start(h, name), 0);
    struct disco_stats st;
    CHECK_EQ(disco_stats(h, name, &st, &e), 0);
    CHECK_EQ(st.ct_mem_max, 32u << 20);
    CHECK_EQ(st.ct_pids_max, 64);
    CHECK_EQ(st.cap, 50);
    /* The cgroup files themselves (v1 here; v2 where that is what runs). */
    if (exists("/sys/fs/cgroup/cpu/disco/%s", name)) {
        CHECK_EQ(sh("grep -qx 50000 /sys/fs/cgroup/cpu/disco/%s/cpu.cfs_quota_us", name), 0);
        /* weight 100 -> shares 2 + 99 * 262142 / 9999 = 2597 */
        CHECK_EQ(sh("grep -qx 2597 /sys/fs/cgroup/cpu/disco/%s/cpu.shares", name), 0);
        CHECK_EQ(sh("grep -qx 33554432 /sys/fs/cgroup/memory/disco/%s/memory.limit_in_bytes",
                    name), 0);
    }
    /* A memory hog is OOM-killed inside; init and the host go on. */
    const char *const hog[] = {"sh", "-c", "x=a; while :; do x=$x$x; done", NULL};
    struct disco_exec_result r;
    CHECK_EQ(disco_exec(h, name, hog, 30000, &r, &e), 0);
    CHECK_EQ(r.status, 128 + 9);
    disco_exec_result_free(&r);
    CHECK_EQ(disco_stats(h, name, &st, &e), 0);
    CHECK(st.ct_oom_kills >= 1);
    CHECK(st.ct_mem_peak <= (32u << 20) + (1u << 20));
    CHECK_EQ(st.state, DISCO_RUNNING);
    /* A fork bomb stops at pids_max. */
    const char *const bomb[] = {"sh", "-c", "for i in $(seq 100); do sleep 60 >/dev/null 2>&1 & "
                                "done 2>/dev/null; echo launched", NULL};
    int bst;
    free(ex(h, name, bomb, &bst));   /* its shell may die of a failed fork: either way */
    CHECK_EQ(disco_stats(h, name, &st, &e), 0);
    if (st.ct_pids < 50 || st.ct_pids > 64)
        printf("  ct_pids %llu\n", (unsigned long long)st.ct_pids);
    CHECK(st.ct_pids >= 50 && st.ct_pids <= 64);
    CHECK_EQ(disco_stop(h, name, &e), 0);
    CHECK(cgroup_gone(name));
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

static void snapshots(void)
{
    if (!own_rootfs[0]) {
        SKIP_CASE("no writable copy of the root file system");
        return;
    }
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *src = nm("-src"), *cp = nm("-copy"), *ov = nm("-ovl"), *ov2 = nm("-ovl2");
    struct disco_ct_config c = {.rootfs = own_rootfs};
    CHECK_EQ(mkct(h, &c, src, init_deaf), 0);
    CHECK_EQ(start(h, src), 0);
    /* RUNNING: refused; PAUSED or STOPPED: fine. */
    CHECK_EQ(disco_ct_snapshot(h, src, cp, false, &e), -EBUSY);
    CHECK_EQ(disco_pause(h, src, &e), 0);
    CHECK_EQ(disco_ct_snapshot(h, src, cp, false, &e), 0);
    CHECK_EQ(disco_ct_snapshot(h, src, cp, false, &e), -EEXIST);
    CHECK_EQ(disco_ct_snapshot(h, src, "bad/name", false, &e), -EINVAL);
    CHECK_EQ(disco_stop(h, src, &e), 0);
    CHECK_EQ(disco_ct_snapshot(h, src, ov, true, &e), 0);
    struct disco_ct_config g;
    CHECK_EQ(disco_ct_get_config(h, cp, &g, &e), 0);
    CHECK(strstr(g.rootfs, dir) == g.rootfs);
    CHECK(!g.rootfs_lower);
    CHECK(!strcmp(g.hostname, cp));
    CHECK(exists("%s/bin/busybox", g.rootfs));

    /* The copy runs, and what it writes stays its own. */
    CHECK_EQ(start(h, cp), 0);
    const char *const hn[] = {"hostname", NULL};
    CHECK(ex_has(h, cp, hn, cp));
    const char *const mark[] = {"touch", "/copy-mark", NULL};
    CHECK(ex_has(h, cp, mark, ""));
    CHECK(exists("%s/copy-mark", g.rootfs));
    CHECK(!exists("%s/copy-mark", own_rootfs));

    /* The overlay: writes land in its upper layer. */
    CHECK_EQ(disco_ct_get_config(h, ov, &g, &e), 0);
    CHECK(g.rootfs_lower && !strcmp(g.rootfs_lower, own_rootfs));
    CHECK_EQ(start(h, ov), 0);
    const char *const mark2[] = {"touch", "/ovl-mark", NULL};
    CHECK(ex_has(h, ov, mark2, ""));
    CHECK(exists("%s/vms/%s/upper/ovl-mark", dir, ov));
    CHECK(!exists("%s/ovl-mark", own_rootfs));
    CHECK_EQ(disco_stop(h, ov, &e), 0);
    /* A copy of an overlay snapshot has its files. */
    CHECK_EQ(disco_ct_snapshot(h, ov, ov2, false, &e), 0);
    CHECK(exists("%s/vms/%s/rootfs/ovl-mark", dir, ov2));
    CHECK(exists("%s/vms/%s/rootfs/bin/busybox", dir, ov2));

    CHECK_EQ(disco_stop(h, cp, &e), 0);
    CHECK_EQ(disco_destroy(h, cp, &e), 0);
    CHECK_EQ(disco_destroy(h, ov, &e), 0);
    CHECK_EQ(disco_destroy(h, ov2, &e), 0);
    CHECK_EQ(disco_destroy(h, src, &e), 0);
    CHECK(!exists("%s/vms/%s", dir, cp));
    CHECK(!exists("%s/vms/%s", dir, ov));
    CHECK(exists("%s/bin/busybox", own_rootfs));   /* a given root is never removed */
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

static void devices_and_interfaces(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *name = nm("-dev");
    struct disco_ct_config c = {0};
    CHECK_EQ(mkct(h, &c, name, init_deaf), 0);
    CHECK_EQ(start(h, name), 0);
    /* The standard nodes work (the devices cgroup allows them). */
    const char *const null[] = {"sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c",
                                NULL};
    int st;
    char *o = ex(h, name, null, &st);
    CHECK_EQ(st, 0);
    free(o);
    CHECK_EQ(disco_add_device_node(h, name, "/dev/mynull", 'c', 1, 3, 0660, &e), 0);
    const char *const use[] = {"sh", "-c", "echo hi > /dev/mynull && stat -c '%a %t:%T' "
                               "/dev/mynull", NULL};
    CHECK(ex_has(h, name, use, "660 1:3"));
    CHECK_EQ(disco_add_device_node(h, name, "/etc/passwd", 'c', 1, 3, 0, &e), -EINVAL);
    CHECK_EQ(disco_add_device_node(h, name, "/dev/../etc/x", 'c', 1, 3, 0, &e), -EINVAL);
    CHECK_EQ(disco_add_device_node(h, name, "/dev/y", 'x', 1, 3, 0, &e), -EINVAL);

    /* A host link moved in: one end of a veth pair (no dummy module here). */
    char dummy[16], peer[16];
    snprintf(dummy, sizeof dummy, "dm%d", (int)(getpid() % 100000));
    snprintf(peer, sizeof peer, "dp%d", (int)(getpid() % 100000));
    if (sh("ip link add %s type veth peer name %s 2>/dev/null", dummy, peer) != 0) {
        SKIP(attach_interface, "cannot create a veth pair");
    } else {
        CHECK_EQ(disco_attach_interface(h, name, dummy, "eth7", &e), 0);
        if (e.msg[0])
            printf("  attach: %s\n", e.msg);
        const char *const links[] = {"ip", "link", NULL};
        CHECK(ex_has(h, name, links, "eth7"));
        CHECK(sh("ip link show %s >/dev/null 2>&1", dummy) != 0);   /* gone from the host */
        CHECK_EQ(disco_attach_interface(h, name, "no-such-if0", NULL, &e) < 0, 1);
    }
    CHECK_EQ(disco_stop(h, name, &e), 0);
    sh("ip link del %s 2>/dev/null", peer);   /* the pair dies with its namespace; in case */

    /* Only lo without a bridge; with one, an address inside. */
    const char *const addrs[] = {"ip", "-o", "addr", NULL};
    CHECK_EQ(start(h, name), 0);
    o = ex(h, name, addrs, &st);
    CHECK(strstr(o, "lo") && strstr(o, "127.0.0.1") && !strstr(o, "eth0"));
    free(o);
    CHECK_EQ(disco_stop(h, name, &e), 0);

    char br[16], addr[32], gw[32];
    int net = (int)(getpid() % 200) + 20;
    snprintf(br, sizeof br, "dbr%d", (int)(getpid() % 100000));
    snprintf(addr, sizeof addr, "10.%d.7.2/24", net);
    snprintf(gw, sizeof gw, "10.%d.7.1", net);
    const char *bn = nm("-net");
    struct disco_ct_config nc = {.bridge = br, .address = addr, .gateway = gw};
    CHECK_EQ(mkct(h, &nc, bn, init_deaf), 0);
    CHECK_EQ(start(h, bn), 0);
    char want[40];
    snprintf(want, sizeof want, "10.%d.7.2/24", net);
    CHECK(ex_has(h, bn, addrs, want));
    const char *const route[] = {"ip", "route", NULL};
    CHECK(ex_has(h, bn, route, gw));
    char veth[32];
    snprintf(veth, sizeof veth, "vd-%s", bn);
    if (strlen(veth) <= 15)
        CHECK_EQ(sh("ip link show %s >/dev/null 2>&1", veth), 0);
    /* The host reaches it over the bridge (which got the gateway address). */
    CHECK_EQ(sh("ping -c 1 -W 2 10.%d.7.2 >/dev/null 2>&1 || ip addr show %s | grep -q 10.%d.7.1",
                net, br, net), 0);
    CHECK_EQ(disco_stop(h, bn, &e), 0);
    if (strlen(veth) <= 15)
        CHECK(sh("ip link show %s >/dev/null 2>&1", veth) != 0);
    sh("ip link del %s 2>/dev/null", br);
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

static void readonly_and_checkpoint(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *name = nm("-ro");
    struct disco_ct_config c = {.readonly_root = true};
    CHECK_EQ(mkct(h, &c, name, init_deaf), 0);
    CHECK_EQ(start(h, name), 0);
    const char *const w[] = {"touch", "/ro-mark", NULL};
    int st;
    free(ex(h, name, w, &st));
    CHECK(st != 0);
    CHECK(!exists("%s/ro-mark", rootfs));
    const char *const tmpw[] = {"sh", "-c", "cat /proc/self/status | grep -q NoNewPrivs:.*1 && "
                                "grep -q 'Seccomp:.*2' /proc/self/status && echo hardened", NULL};
    CHECK(ex_has(h, name, tmpw, "hardened"));

    char img[800];
    snprintf(img, sizeof img, "%s/ckpt", tmpdir);
    int rc = disco_ct_checkpoint(h, name, img, true, &e);
    if (rc == -ENOTSUP || rc == -ENOENT) {
        /* CRIU cannot run on this kernel: the reason is passed on. */
        CHECK(e.msg[0] != '\0');
        CHECK_EQ(state_of(h, name), DISCO_RUNNING);
        printf("SKIP: checkpoint_round_trip: %s\n", e.msg);
        CHECK_EQ(disco_ct_restore(h, name, img, &e), -EBUSY);
        CHECK_EQ(disco_stop(h, name, &e), 0);
        rc = disco_ct_restore(h, name, img, &e);
        CHECK(rc == -ENOTSUP || rc == -ENOENT);
        CHECK_EQ(state_of(h, name), DISCO_STOPPED);
    } else {
        if (rc != 0)
            printf("  checkpoint: %s\n", e.msg);
        CHECK_EQ(rc, 0);
        CHECK_EQ(state_of(h, name), DISCO_STOPPED);
        CHECK_EQ(disco_ct_restore(h, name, img, &e), 0);
        CHECK_EQ(state_of(h, name), DISCO_RUNNING);
        CHECK_EQ(disco_stop(h, name, &e), 0);
    }
    CHECK(cgroup_gone(name));
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

static long long read_count(const char *path)
{
    char buf[64] = {0};
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n ? atoll(buf) : -1;
}

/* Poll (bounded) until the counter file passes `above`; its value, or -1. */
static long long count_above(const char *path, long long above, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    long long v;
    while ((v = read_count(path)) <= above && now_ms() < end)
        sleep_ms(5);
    return v > above ? v : -1;
}

/* Checkpoint (stopping it) and restore of a container whose init keeps a
 * counter and answers on its console: the count goes on from where it
 * was, and the console works again (new pipes in place of the old). */
static void checkpoint_restore_counter(void)
{
    if (!own_rootfs[0]) {
        SKIP_CASE("no writable copy of the root file system");
        return;
    }
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *name = nm("-ckpt");
    char count[800];
    snprintf(count, sizeof count, "%s/ckpt-count", own_rootfs);
    unlink(count);
    const char *const init[] = {
        "/bin/sh", "-c",
        "(i=0; while :; do i=$((i+1)); echo $i > /ckpt-count.new; mv /ckpt-count.new /ckpt-count; "
        "usleep 2000; done) & while read -r line; do eval \"$line\"; done", NULL};
    struct disco_ct_config c = {.rootfs = own_rootfs};
    CHECK_EQ(mkct(h, &c, name, init), 0);
    CHECK_EQ(start(h, name), 0);
    CHECK(count_above(count, 20, 10000) > 20);

    char img[800];
    snprintf(img, sizeof img, "%s/ckpt-counter", tmpdir);
    int rc = disco_ct_checkpoint(h, name, img, true, &e);
    if (rc == -ENOTSUP || rc == -ENOENT) {
        SKIP_CASE(e.msg);
        disco_stop(h, name, &e);
    } else {
        if (rc != 0)
            printf("  checkpoint: %s\n", e.msg);
        CHECK_EQ(rc, 0);
        CHECK_EQ(state_of(h, name), DISCO_STOPPED);
        long long at_dump = read_count(count);
        CHECK(at_dump > 20);
        CHECK(count_above(count, at_dump, 300) < 0);    /* frozen: nothing runs it */

        rc = disco_ct_restore(h, name, img, &e);
        if (rc != 0)
            printf("  restore: %s\n", e.msg);
        CHECK_EQ(rc, 0);
        CHECK_EQ(state_of(h, name), DISCO_RUNNING);
        /* From its own count on, not from 1. */
        long long after = count_above(count, at_dump, 10000);
        CHECK(after > at_dump);
        if (after <= at_dump)
            printf("  count at dump %lld, after restore %lld\n", at_dump, after);
        /* Its console: input reaches the restored shell, its output us. */
        struct watch *w = calloc(1, sizeof *w);
        pthread_mutex_init(&w->lock, NULL);
        bool writer = false;
        struct disco_console *con = disco_console_attach(h, name, &w_ops, w, true, &writer, &e);
        CHECK(con && writer);
        const char *cmd = "echo restored-$((40+2))\n";
        if (con)
            CHECK_EQ(disco_console_write(con, (const uint8_t *)cmd, strlen(cmd)), (int)strlen(cmd));
        CHECK(watch_has(w, "restored-42", 5000));
        if (con)
            disco_console_detach(con);
        pthread_mutex_destroy(&w->lock);
        free(w);
        const char *const echo[] = {"cat", "/ckpt-count", NULL};
        CHECK(ex_has(h, name, echo, ""));                /* exec into a restored container */
        CHECK_EQ(disco_stop(h, name, &e), 0);
        CHECK_EQ(state_of(h, name), DISCO_STOPPED);

        /* The same image restored as another container: in that one's
         * cgroup, none made under the first's name. */
        const char *other = nm("-ckpt2");
        struct disco_ct_config c2 = {.rootfs = own_rootfs};
        CHECK_EQ(mkct(h, &c2, other, init), 0);
        rc = disco_ct_restore(h, other, img, &e);
        if (rc != 0)
            printf("  restore as %s: %s\n", other, e.msg);
        CHECK_EQ(rc, 0);
        char procs[300];
        snprintf(procs, sizeof procs, "/sys/fs/cgroup/pids/disco/%s/cgroup.procs", other);
        if (!exists("%s", procs))
            snprintf(procs, sizeof procs, "/sys/fs/cgroup/disco/%s/cgroup.procs", other);
        CHECK(read_count(procs) > 0);                   /* its first pid */
        CHECK(cgroup_gone(name));
        CHECK_EQ(disco_stop(h, other, &e), 0);
        CHECK(cgroup_gone(other));
        CHECK_EQ(disco_destroy(h, other, &e), 0);
    }
    CHECK(cgroup_gone(name));
    CHECK_EQ(disco_destroy(h, name, &e), 0);
    unlink(count);
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

/* Several containers started and stopped from several threads at once. */
struct par_arg {
    struct disco_host *h;
    const char *name;
    int failures;
};

static void *par_fn(void *p)
{
    struct par_arg *a = p;
    for (int i = 0; i < 4; i++) {
        struct disco_err e = {0};
        const char *const av[] = {"true", NULL};
        struct disco_exec_result r;
        if (disco_start(a->h, a->name, &e) < 0 || disco_exec(a->h, a->name, av, 5000, &r, &e) < 0)
            a->failures++;
        else
            disco_exec_result_free(&r);
        if (disco_stop(a->h, a->name, &e) < 0)
            a->failures++;
    }
    return NULL;
}

static void parallel_cycles(void)
{
    char *dir = state_dir();
    struct disco_host *h = host_at(dir);
    CHECK(h != NULL);
    if (!h)
        return;
    enum { N = 3 };
    struct par_arg args[N];
    pthread_t t[N];
    const char *sfx[N] = {"-p0", "-p1", "-p2"};
    for (int i = 0; i < N; i++) {
        struct disco_ct_config c = {0};
        args[i] = (struct par_arg){.h = h, .name = nm(sfx[i])};
        CHECK_EQ(mkct(h, &c, args[i].name, init_deaf), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, par_fn, &args[i]);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(args[i].failures, 0);
        CHECK(cgroup_gone(args[i].name));
    }
    disco_host_free(h);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(prefix, sizeof prefix, "c%d", (int)(getpid() % 1000000));
    RUN(ct_config_roundtrip);
    if (geteuid() != 0) {
        SKIP(container_lifecycle, "needs root (namespaces, cgroups, veth)");
        T_EXIT();
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/disco-apict.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL: setup: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    const char *env = getenv("DISCO_ROOTFS");
    snprintf(own_rootfs, sizeof own_rootfs, "%s/rootfs", tmpdir);
    if (env && *env && access(env, F_OK) == 0) {
        snprintf(rootfs, sizeof rootfs, "%s", env);
        if (sh("cp -a %s %s", env, own_rootfs))
            own_rootfs[0] = '\0';
    } else if (build_rootfs(own_rootfs)) {
        snprintf(rootfs, sizeof rootfs, "%s", own_rootfs);
        char copy[300];
        snprintf(copy, sizeof copy, "%s/rootfs2", tmpdir);
        if (sh("cp -a %s %s", own_rootfs, copy) == 0)
            snprintf(own_rootfs, sizeof own_rootfs, "%s", copy);
        else
            own_rootfs[0] = '\0';
    } else {
        printf("FAIL: setup: cannot build a busybox root in %s\n", own_rootfs);
        rm_rf(tmpdir);
        return 1;
    }
    RUN(lifecycle);
    RUN(shutdown_reboot);
    RUN(persistence_and_kinds);
    RUN(console_input);
    RUN(limits_and_oom);
    RUN(snapshots);
    RUN(devices_and_interfaces);
    RUN(readonly_and_checkpoint);
    RUN(checkpoint_restore_counter);
    RUN(parallel_cycles);
    rm_rf(tmpdir);
    T_EXIT();
}

/* libdisco (include/disco.h): configs, the lifecycle in every state,
 * persistence, consoles, and leaks over many cycles, with the bare-metal
 * test guests of tests/guests/ (built into <build>/guests/). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_priv.h"
#include "disco.h"
#include "t.h"

static char guest_dir[PATH_MAX];   /* <build>/guests, "" if missing */

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

static const char *guest_elf(const char *name)
{
    static __thread char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, "%s/%s.elf", guest_dir, name);
    return buf;
}

static bool find_guests(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    /* <build>/tests/unit/test_api -> <build>/guests */
    char *d = dirname(exe);
    snprintf(guest_dir, sizeof guest_dir, "%s/../../guests", d);
    char probe[PATH_MAX + 64];
    const char *names[] = {"idle", "spin", "spin_irqoff", "poweroff", "fail", "echo"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(probe, sizeof probe, "%s/%s.elf", guest_dir, names[i]);
        if (access(probe, R_OK) < 0) {
            printf("SKIP-NOTE: test guest %s is missing (build it with `make guests`)\n", probe);
            guest_dir[0] = '\0';
            return false;
        }
    }
    char *real = realpath(guest_dir, NULL);
    if (real) {
        snprintf(guest_dir, sizeof guest_dir, "%s", real);
        free(real);
    }
    return true;
}

/* ---- temp state dirs ---------------------------------------------------------- */

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                rm_rf(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static char *tmp_state(void)
{
    char *t = strdup("/tmp/disco-test-api-XXXXXX");
    if (!mkdtemp(t)) {
        free(t);
        return NULL;
    }
    return t;
}

static void tmp_done(char *t)
{
    if (t)
        rm_rf(t);
    free(t);
}

static struct disco_host *host_open(const char *dir, unsigned workers)
{
    struct disco_host_config hc = {.state_dir = dir, .workers = workers};
    struct disco_err e = {0};
    struct disco_host *h = disco_host_new(&hc, &e);
    if (!h)
        printf("  disco_host_new: %s\n", e.msg);
    return h;
}

/* A test's fixture: a temp state dir and a host on it. fx_open returns the
 * host, or NULL (a failed CHECK) with the dir already removed; fx_host opens
 * a host again on the same dir (after disco_host_free(f->h)); fx_close frees
 * the host and removes the dir. */
struct fx {
    char *dir;
    struct disco_host *h;
};

static struct disco_host *fx_host(struct fx *f, unsigned workers)
{
    f->h = host_open(f->dir, workers);
    CHECK(f->h != NULL);
    if (!f->h) {
        tmp_done(f->dir);
        f->dir = NULL;
    }
    return f->h;
}

static struct disco_host *fx_open(struct fx *f, unsigned workers)
{
    f->dir = tmp_state();
    return fx_host(f, workers);
}

static void fx_close(struct fx *f)
{
    disco_host_free(f->h);
    tmp_done(f->dir);
}

static int create(struct disco_host *h, const char *name, const char *kernel, bool autostart)
{
    struct disco_vm_config c = {.name = name, .kernel = kernel, .mem = 32u << 20,
                                .autostart = autostart};
    struct disco_err e = {0};
    int rc = disco_create(h, &c, &e);
    if (rc < 0)
        printf("  disco_create %s: %s\n", name, e.msg);
    return rc;
}

/* create (the test guest ELF, no autostart) and start NAME: 0, or the
 * first failing call's error. */
static int create_start(struct disco_host *h, const char *name, const char *elf)
{
    int rc = create(h, name, guest_elf(elf), false);
    if (rc < 0)
        return rc;
    struct disco_err e = {0};
    rc = disco_start(h, name, &e);
    if (rc < 0)
        printf("  disco_start %s: %s\n", name, e.msg);
    return rc;
}

static enum disco_state state_of(struct disco_host *h, const char *name)
{
    struct disco_info in;
    if (disco_info(h, name, &in, NULL) < 0)
        return (enum disco_state)-1;
    return in.state;
}

static bool wait_state(struct disco_host *h, const char *name, enum disco_state st,
                       unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (state_of(h, name) == st)
            return true;
        sleep_ms(5);
    }
    return state_of(h, name) == st;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + len, 1, 4096, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static bool log_has(struct disco_host *h, const char *name, const char *text, unsigned timeout_ms)
{
    char *path = disco_console_log_path(h, name);
    if (!path)
        return false;
    uint64_t end = now_ms() + timeout_ms;
    bool ok = false;
    do {
        char *s = read_file(path);
        ok = s && strstr(s, text);
        free(s);
        if (!ok)
            sleep_ms(5);
    } while (!ok && now_ms() < end);
    free(path);
    return ok;
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* ---- a console watcher ---------------------------------------------------------- */

struct watch {
    pthread_mutex_t lock;
    char buf[256 << 10];
    size_t len;
    int closed;
    int after_detach;   /* output seen after detach returned */
    bool detached;
};

static void w_output(void *ctx, const uint8_t *b, size_t n)
{
    struct watch *w = ctx;
    pthread_mutex_lock(&w->lock);
    if (w->detached)
        w->after_detach++;
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

static struct watch *watch_new(void)
{
    struct watch *w = calloc(1, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

static void watch_free(struct watch *w)
{
    pthread_mutex_destroy(&w->lock);
    free(w);
}

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

/* ---- config --------------------------------------------------------------------- */

static void expect_parse_error(const char *json, const char *needle)
{
    struct disco_vm_config c;
    void *st = (void *)1;
    struct disco_err e = {0};
    int rc = disco_vm_config_parse(json, &c, &st, &e);
    if (rc != -EINVAL)
        printf("  %s: parsed (rc %d)\n", json, rc);
    CHECK_EQ(rc, -EINVAL);
    CHECK(st == NULL);
    if (!strstr(e.msg, needle))
        printf("  message '%s' does not name '%s'\n", e.msg, needle);
    CHECK(strstr(e.msg, needle) != NULL);
}

static void config_parse_errors(void)
{
    expect_parse_error("{\"name\": \"a\", ", "malformed JSON");
    expect_parse_error("{\"name\": \"a\"} x", "malformed JSON");
    expect_parse_error("[1, 2]", "object");
    expect_parse_error("{\"name\": \"a\", \"colour\": 3}", "'colour'");
    expect_parse_error("{\"name\": 3}", "'name'");
    expect_parse_error("{\"cpus\": \"2\"}", "'cpus'");
    expect_parse_error("{\"cpus\": 0}", "'cpus'");
    expect_parse_error("{\"cpus\": 1000}", "'cpus'");
    expect_parse_error("{\"autostart\": 1}", "'autostart'");
    expect_parse_error("{\"disks\": \"/a\"}", "'disks'");
    expect_parse_error("{\"disks\": [\"/a\", 3]}", "'disks'");
    expect_parse_error("{\"name\": \"-bad\"}", "'name'");
    expect_parse_error("{\"name\": \"a/b\"}", "'name'");
    expect_parse_error("{\"name\": \"\"}", "'name'");
    expect_parse_error("{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                       "'name'");
    expect_parse_error("{\"memory\": \"lots\"}", "'memory'");
    expect_parse_error("{\"memory\": \"1M\"}", "'memory'");
    expect_parse_error("{\"memory\": 1.5}", "'memory'");
    expect_parse_error("{\"memory\": -4}", "'memory'");
    expect_parse_error("{\"kernel\": \"Image\"}", "'kernel'");
    expect_parse_error("{\"weight\": 0}", "'weight'");
    expect_parse_error("{\"cap\": -1}", "'cap'");
}

static void config_roundtrip(void)
{
    const char *json =
        "{ \"name\": \"web1\", \"cpus\": 2, \"memory\": \"512M\", \"kernel\": \"/k/Image\",\n"
        "  \"initrd\": \"/k/initrd\", \"append\": \"console=ttyS0 quiet\",\n"
        "  \"disks\": [\"/srv/a.img\", \"/srv/b.img\"], \"bios\": null, \"weight\": 512,\n"
        "  \"cap\": 50, \"autostart\": true }";
    struct disco_vm_config c;
    void *st = NULL;
    struct disco_err e = {0};
    CHECK_EQ(disco_vm_config_parse(json, &c, &st, &e), 0);
    CHECK(!strcmp(c.name, "web1"));
    CHECK_EQ(c.cpus, 2);
    CHECK_EQ(c.mem, 512ull << 20);
    CHECK(!strcmp(c.kernel, "/k/Image"));
    CHECK(!strcmp(c.initrd, "/k/initrd"));
    CHECK(!strcmp(c.append, "console=ttyS0 quiet"));
    CHECK_EQ(c.ndisks, 2);
    CHECK(!strcmp(c.disks[1], "/srv/b.img"));
    CHECK(c.bios == NULL);
    CHECK_EQ(c.weight, 512);
    CHECK_EQ(c.cap, 50);
    CHECK(c.autostart);
    char *out = disco_vm_config_to_json(&c);
    CHECK(out != NULL);
    struct disco_vm_config c2;
    void *st2 = NULL;
    CHECK_EQ(disco_vm_config_parse(out, &c2, &st2, &e), 0);
    CHECK(!strcmp(c2.name, "web1") && c2.cpus == 2 && c2.mem == (512ull << 20));
    CHECK(c2.ndisks == 2 && !strcmp(c2.disks[0], "/srv/a.img") && c2.autostart);
    CHECK(strstr(out, "\\/") == NULL);   /* paths are written plainly */
    free(out);
    free(st);
    free(st2);

    /* Memory as an integer of MiB; a partial config (no name / kernel) parses. */
    CHECK_EQ(disco_vm_config_parse("{\"memory\": 64}", &c, &st, &e), 0);
    CHECK_EQ(c.mem, 64ull << 20);
    CHECK(c.name == NULL && c.kernel == NULL);
    free(st);

    /* load: names the file. */
    char *dir = tmp_state();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"name\": \"x\", \"bogus\": 1}", f);
    fclose(f);
    CHECK_EQ(disco_vm_config_load(path, &c, &st, &e), -EINVAL);
    CHECK(strstr(e.msg, path) && strstr(e.msg, "'bogus'"));
    snprintf(path, sizeof path, "%s/none.json", dir);
    CHECK_EQ(disco_vm_config_load(path, &c, &st, &e), -ENOENT);
    tmp_done(dir);
}

/* The memory keys: both size forms, 0 as "none", the defaults create
 * fills in, and the JSON round trip. */
static void config_mem_roundtrip(void)
{
    const char *json =
        "{ \"name\": \"m1\", \"memory\": \"1G\", \"kernel\": \"/k/Image\",\n"
        "  \"mem_reservation\": \"128M\", \"mem_limit\": 768, \"mem_shares\": 5000,\n"
        "  \"share_domain\": \"web.tier-1_a\" }";
    struct disco_vm_config c;
    void *st = NULL;
    struct disco_err e = {0};
    CHECK_EQ(disco_vm_config_parse(json, &c, &st, &e), 0);
    CHECK_EQ(c.mem_reservation, 128ull << 20);
    CHECK_EQ(c.mem_limit, 768ull << 20);
    CHECK_EQ(c.mem_shares, 5000);
    CHECK(c.share_domain && !strcmp(c.share_domain, "web.tier-1_a"));
    char *out = disco_vm_config_to_json(&c);
    CHECK(out != NULL);
    struct disco_vm_config c2;
    void *st2 = NULL;
    CHECK_EQ(disco_vm_config_parse(out, &c2, &st2, &e), 0);
    CHECK_EQ(c2.mem, 1ull << 30);
    CHECK_EQ(c2.mem_reservation, 128ull << 20);
    CHECK_EQ(c2.mem_limit, 768ull << 20);
    CHECK_EQ(c2.mem_shares, 5000);
    CHECK(c2.share_domain && !strcmp(c2.share_domain, "web.tier-1_a"));
    CHECK(out && strstr(out, "\"mem_limit\": \"768M\"") != NULL);   /* written like 'memory' */
    free(out);
    free(st);
    free(st2);

    /* 0 and null mean "none": parsed, and left out (domain: null) when written. */
    CHECK_EQ(disco_vm_config_parse("{\"mem_reservation\": 0, \"mem_limit\": \"0\", "
                                   "\"share_domain\": null}", &c, &st, &e), 0);
    CHECK(c.mem_reservation == 0 && c.mem_limit == 0 && c.share_domain == NULL);
    out = disco_vm_config_to_json(&c);
    CHECK(out && !strstr(out, "mem_reservation") && !strstr(out, "mem_limit") &&
          strstr(out, "\"share_domain\": null"));
    free(out);
    free(st);

    /* create fills in the default shares (10 per MiB) and keeps the rest. */
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_vm_config in = {.name = "m1", .kernel = "/k/Image", .mem = 64u << 20,
                                 .mem_reservation = 16u << 20, .share_domain = "d"};
    CHECK_EQ(disco_create(h, &in, &e), 0);
    CHECK_EQ(disco_get_config(h, "m1", &c, &e), 0);
    CHECK_EQ(c.mem_shares, 640);
    CHECK_EQ(c.mem_reservation, 16u << 20);
    CHECK_EQ(c.mem_limit, 0);
    CHECK(c.share_domain && !strcmp(c.share_domain, "d"));
    struct disco_stats sst;
    CHECK_EQ(disco_stats(h, "m1", &sst, &e), 0);   /* stopped: the configured values */
    CHECK(sst.mem_reservation == (16u << 20) && sst.mem_limit == (64u << 20) &&
          sst.mem_shares == 640);
    /* ... and they survive a reopen of the host. */
    disco_host_free(h);
    if (!(h = fx_host(&fx, 1)))
        return;
    CHECK_EQ(disco_get_config(h, "m1", &c, &e), 0);
    CHECK(c.mem_shares == 640 && c.mem_reservation == (16u << 20) && c.share_domain &&
          !strcmp(c.share_domain, "d"));
    fx_close(&fx);
}

/* Each bad memory value is refused by parse (and by create, for a config
 * built in C) with a message naming the key. */
static void config_mem_errors(void)
{
    expect_parse_error("{\"memory\": \"64M\", \"mem_reservation\": \"128M\"}",
                       "'mem_reservation'");
    expect_parse_error("{\"mem_reservation\": \"512M\"}", "'mem_reservation'");   /* > 256M */
    expect_parse_error("{\"memory\": \"64M\", \"mem_limit\": \"128M\"}", "'mem_limit'");
    expect_parse_error("{\"mem_limit\": \"8M\"}", "'mem_limit'");
    expect_parse_error("{\"mem_limit\": \"4K\"}", "'mem_limit'");
    expect_parse_error("{\"mem_reservation\": \"48M\", \"mem_limit\": \"32M\"}",
                       "'mem_reservation'");
    expect_parse_error("{\"mem_reservation\": \"6K\"}", "'mem_reservation'");
    expect_parse_error("{\"mem_reservation\": \"lots\"}", "'mem_reservation'");
    expect_parse_error("{\"mem_reservation\": true}", "'mem_reservation'");
    expect_parse_error("{\"mem_limit\": -16}", "'mem_limit'");
    expect_parse_error("{\"mem_limit\": [64]}", "'mem_limit'");
    expect_parse_error("{\"mem_shares\": 0}", "'mem_shares'");
    expect_parse_error("{\"mem_shares\": -5}", "'mem_shares'");
    expect_parse_error("{\"mem_shares\": \"many\"}", "'mem_shares'");
    expect_parse_error("{\"mem_shares\": 99999999999}", "'mem_shares'");
    expect_parse_error("{\"share_domain\": \"a b\"}", "'share_domain'");
    expect_parse_error("{\"share_domain\": \"a/b\"}", "'share_domain'");
    expect_parse_error("{\"share_domain\": \"\"}", "'share_domain'");
    expect_parse_error("{\"share_domain\": 7}", "'share_domain'");
    expect_parse_error("{\"share_domain\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaa\"}", "'share_domain'");   /* 65 */

    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct {
        struct disco_vm_config c;
        const char *key;
    } bad[] = {
        {{.mem = 32u << 20, .mem_reservation = 64u << 20}, "'mem_reservation'"},
        {{.mem = 32u << 20, .mem_limit = 64u << 20}, "'mem_limit'"},
        {{.mem = 32u << 20, .mem_limit = 1u << 20}, "'mem_limit'"},
        {{.mem = 32u << 20, .mem_reservation = 24u << 20, .mem_limit = 20u << 20},
         "'mem_reservation'"},
        {{.mem = 32u << 20, .share_domain = "x y"}, "'share_domain'"},
        {{.mem = 32u << 20, .mem_shares = 2000000000u}, "'mem_shares'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct disco_err e = {0};
        bad[i].c.name = "m";
        bad[i].c.kernel = "/k/Image";
        CHECK_EQ(disco_create(h, &bad[i].c, &e), -EINVAL);
        if (!strstr(e.msg, bad[i].key))
            printf("  case %zu: '%s' does not name %s\n", i, e.msg, bad[i].key);
        CHECK(strstr(e.msg, bad[i].key) != NULL);
    }
    struct disco_info *all;
    size_t n = 99;
    CHECK_EQ(disco_list(h, &all, &n, NULL), 0);
    CHECK_EQ(n, 0);   /* nothing was created */
    free(all);
    fx_close(&fx);
}

static struct disco_host *host_budget(const char *dir, uint64_t budget, struct disco_err *e)
{
    struct disco_host_config hc = {.state_dir = dir, .workers = 1, .mem_budget = budget};
    return disco_host_new(&hc, e);
}

/* An impossible budget fails the host with the controller's error, and
 * leaves the state directory usable. */
static void host_bad_budget(void)
{
    char *dir = tmp_state();
    CHECK(dir != NULL);
    if (!dir)
        return;
    const uint64_t bad[] = {1024, 63ull << 20, UINT64_MAX / 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct disco_err e = {0};
        struct disco_host *h = host_budget(dir, bad[i], &e);
        if (h)
            printf("  budget %llu accepted\n", (unsigned long long)bad[i]);
        CHECK(h == NULL);
        disco_host_free(h);
        CHECK_EQ(e.code, -EINVAL);
        CHECK(strstr(e.msg, "budget") != NULL);
    }
    struct disco_err e = {0};
    struct disco_host *h = host_budget(dir, 64ull << 20, &e);   /* the minimum: fine */
    if (!h)
        printf("  64 MiB budget: %s\n", e.msg);
    CHECK(h != NULL);
    if (h) {
        struct disco_host_mem_stats ms;
        disco_host_mem_stats(h, &ms);
        CHECK_EQ(ms.budget, 64ull << 20);
        CHECK_EQ(ms.used, 0);
    }
    disco_host_free(h);
    tmp_done(dir);
}

/* ---- create / list / destroy ---------------------------------------------------- */

static void create_list_destroy(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_err e = {0};
    CHECK_EQ(create(h, "charlie", "/nonexistent/k", false), 0);
    CHECK_EQ(create(h, "alpha", "/nonexistent/k", false), 0);
    CHECK_EQ(create(h, "bravo.2", "/nonexistent/k", false), 0);

    struct disco_vm_config c = {.name = "alpha", .kernel = "/k"};
    CHECK_EQ(disco_create(h, &c, &e), -EEXIST);
    c.name = "bad name";
    CHECK_EQ(disco_create(h, &c, &e), -EINVAL);
    CHECK(strstr(e.msg, "'name'"));
    c.name = "delta";
    c.kernel = "relative/k";
    CHECK_EQ(disco_create(h, &c, &e), -EINVAL);
    CHECK(strstr(e.msg, "'kernel'"));
    c.kernel = NULL;
    CHECK_EQ(disco_create(h, &c, &e), -EINVAL);
    CHECK(strstr(e.msg, "'kernel'"));
    c.kernel = "/k";
    c.mem = 12345;
    CHECK_EQ(disco_create(h, &c, &e), -EINVAL);
    CHECK(strstr(e.msg, "'memory'"));

    struct disco_info *list;
    size_t n;
    CHECK_EQ(disco_list(h, &list, &n, &e), 0);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK(!strcmp(list[0].name, "alpha"));
        CHECK(!strcmp(list[1].name, "bravo.2"));
        CHECK(!strcmp(list[2].name, "charlie"));
        CHECK_EQ(list[0].state, DISCO_STOPPED);
        CHECK(!list[0].agent && list[0].last_exit[0] == '\0');
    }
    free(list);

    struct disco_vm_config g;
    CHECK_EQ(disco_get_config(h, "alpha", &g, &e), 0);
    CHECK(!strcmp(g.name, "alpha") && !strcmp(g.kernel, "/nonexistent/k"));
    CHECK_EQ(g.cpus, 1);           /* defaults filled in */
    CHECK_EQ(g.mem, 32u << 20);
    CHECK_EQ(g.weight, 256);
    CHECK(!strcmp(g.append, "console=ttyS0"));
    CHECK_EQ(disco_get_config(h, "nope", &g, &e), -ENOENT);
    CHECK(strstr(e.msg, "nope"));

    /* The config is on disk and parses back. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/vms/alpha/config.json", fx.dir);
    void *st = NULL;
    CHECK_EQ(disco_vm_config_load(path, &c, &st, &e), 0);
    CHECK(c.name && !strcmp(c.name, "alpha"));
    free(st);

    /* Starting a guest whose kernel is missing fails, names it, and leaves
     * it STOPPED. */
    CHECK(disco_start(h, "alpha", &e) < 0);
    CHECK(strstr(e.msg, "/nonexistent/k"));
    CHECK_EQ(state_of(h, "alpha"), DISCO_STOPPED);

    CHECK_EQ(disco_set_sched(h, "bravo.2", 100, 30, &e), 0);
    CHECK_EQ(disco_get_config(h, "bravo.2", &g, &e), 0);
    CHECK(g.weight == 100 && g.cap == 30);
    CHECK_EQ(disco_set_sched(h, "bravo.2", DISCO_SCHED_KEEP, 0, &e), 0);
    CHECK_EQ(disco_get_config(h, "bravo.2", &g, &e), 0);
    CHECK(g.weight == 100 && g.cap == 0);
    CHECK_EQ(disco_set_sched(h, "bravo.2", 70000, 0, &e), -EINVAL);

    CHECK_EQ(disco_destroy(h, "alpha", &e), 0);
    CHECK_EQ(disco_destroy(h, "alpha", &e), -ENOENT);
    CHECK_EQ(disco_info(h, "alpha", &(struct disco_info){0}, &e), -ENOENT);
    snprintf(path, sizeof path, "%s/vms/alpha", fx.dir);
    CHECK(access(path, F_OK) < 0);
    snprintf(path, sizeof path, "%s/vms", fx.dir);
    CHECK_EQ(count_dir(path), 2);
    /* The name is free again. */
    CHECK_EQ(create(h, "alpha", "/k", false), 0);
    fx_close(&fx);
}

/* ---- persistence ----------------------------------------------------------------- */

static void persistence(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    struct disco_err e = {0};
    CHECK_EQ(create(h, "plain", guest_elf("idle"), false), 0);
    CHECK_EQ(create(h, "auto", guest_elf("idle"), true), 0);
    CHECK_EQ(create(h, "broken", guest_elf("idle"), false), 0);
    CHECK_EQ(create(h, "nokernel", "/nonexistent/kernel", true), 0);
    CHECK_EQ(disco_start(h, "plain", &e), 0);
    CHECK(disco_host_warnings(h) == NULL);

    /* A second host on the same directory is refused. */
    struct disco_host_config hc = {.state_dir = fx.dir, .workers = 1};
    CHECK(disco_host_new(&hc, &e) == NULL);
    CHECK_EQ(e.code, -EBUSY);
    disco_host_free(h);

    /* Corrupt one config. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/vms/broken/config.json", fx.dir);
    FILE *f = fopen(path, "w");
    fputs("{\"name\": \"broken\", \"cpus\": ", f);
    fclose(f);

    h = fx_host(&fx, 2);
    if (!h)
        return;
    struct disco_info *list;
    size_t n;
    CHECK_EQ(disco_list(h, &list, &n, &e), 0);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK(!strcmp(list[0].name, "auto") && list[0].state == DISCO_RUNNING);
        CHECK(!strcmp(list[1].name, "nokernel") && list[1].state == DISCO_STOPPED);
        CHECK(!strcmp(list[2].name, "plain") && list[2].state == DISCO_STOPPED);
    }
    free(list);
    /* Both problems are reported; neither stopped the host. */
    const char *w = disco_host_warnings(h);
    CHECK(w && strstr(w, "broken") && strstr(w, "malformed JSON"));
    CHECK(w && strstr(w, "autostart of 'nokernel' failed") && strstr(w, "/nonexistent/kernel"));
    /* Its name stays taken while its directory is there. */
    struct disco_vm_config bc = {.name = "broken", .kernel = "/k"};
    CHECK_EQ(disco_create(h, &bc, &e), -EEXIST);
    CHECK(strstr(e.msg, "not loaded"));
    CHECK(log_has(h, "auto", "idle: up", 5000));
    fx_close(&fx);
}

/* ---- states ---------------------------------------------------------------------- */

struct bg_shutdown {
    struct disco_host *h;
    const char *name;
    uint64_t timeout_ms;
    int rc;
    bool forced;
};

static void *bg_shutdown_fn(void *arg)
{
    struct bg_shutdown *b = arg;
    b->rc = disco_shutdown(b->h, b->name, b->timeout_ms, &b->forced, NULL);
    return NULL;
}

#define BUSY(call, st)                                   \
    do {                                                 \
        struct disco_err be_ = {0};                      \
        CHECK_EQ((call), -EBUSY);                        \
        CHECK(strstr(be_.msg, "vm1") != NULL);           \
        CHECK_EQ(state_of(h, "vm1"), st);                \
    } while (0)

static void every_state(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    struct disco_err e = {0};
    bool forced;
    struct disco_stats st;
    struct disco_exec_result res;
    const char *argv[] = {"true", NULL};
    struct watch *w = watch_new();
    CHECK_EQ(create(h, "vm1", guest_elf("idle"), false), 0);

    /* STOPPED */
    BUSY(disco_stop(h, "vm1", &be_), DISCO_STOPPED);
    BUSY(disco_shutdown(h, "vm1", 100, &forced, &be_), DISCO_STOPPED);
    BUSY(disco_reboot(h, "vm1", true, 0, &be_), DISCO_STOPPED);
    BUSY(disco_pause(h, "vm1", &be_), DISCO_STOPPED);
    BUSY(disco_resume(h, "vm1", &be_), DISCO_STOPPED);
    BUSY(disco_exec(h, "vm1", argv, 100, &res, &be_), DISCO_STOPPED);
    BUSY(disco_wait_agent(h, "vm1", 10, &be_), DISCO_STOPPED);
    BUSY(disco_balloon(h, "vm1", 20u << 20, &be_), DISCO_STOPPED);
    CHECK(disco_console_attach(h, "vm1", &w_ops, w, false, NULL, &e) == NULL);
    CHECK_EQ(e.code, -EBUSY);
    CHECK_EQ(disco_stats(h, "vm1", &st, &e), 0);
    CHECK(st.state == DISCO_STOPPED && st.cpu_ns == 0 && st.mem == (32u << 20));

    /* RUNNING */
    CHECK_EQ(disco_start(h, "vm1", &e), 0);
    CHECK_EQ(state_of(h, "vm1"), DISCO_RUNNING);
    BUSY(disco_start(h, "vm1", &be_), DISCO_RUNNING);
    BUSY(disco_destroy(h, "vm1", &be_), DISCO_RUNNING);
    BUSY(disco_resume(h, "vm1", &be_), DISCO_RUNNING);
    CHECK_EQ(disco_exec(h, "vm1", argv, 100, &res, &e), -ENOTCONN);
    CHECK_EQ(disco_wait_agent(h, "vm1", 50, &e), -ETIMEDOUT);
    CHECK_EQ(disco_stats(h, "vm1", &st, &e), 0);
    CHECK(st.state == DISCO_RUNNING && !st.guest_mem_valid);
    struct disco_info info;
    CHECK_EQ(disco_info(h, "vm1", &info, &e), 0);
    CHECK(!info.agent);

    /* PAUSED */
    CHECK_EQ(disco_pause(h, "vm1", &e), 0);
    CHECK_EQ(state_of(h, "vm1"), DISCO_PAUSED);
    BUSY(disco_start(h, "vm1", &be_), DISCO_PAUSED);
    BUSY(disco_pause(h, "vm1", &be_), DISCO_PAUSED);
    BUSY(disco_shutdown(h, "vm1", 100, &forced, &be_), DISCO_PAUSED);
    BUSY(disco_reboot(h, "vm1", true, 0, &be_), DISCO_PAUSED);
    BUSY(disco_exec(h, "vm1", argv, 100, &res, &be_), DISCO_PAUSED);
    BUSY(disco_destroy(h, "vm1", &be_), DISCO_PAUSED);
    BUSY(disco_wait_agent(h, "vm1", 10, &be_), DISCO_PAUSED);
    BUSY(disco_balloon(h, "vm1", 20u << 20, &be_), DISCO_PAUSED);
    CHECK_EQ(disco_stats(h, "vm1", &st, &e), 0);
    CHECK_EQ(st.state, DISCO_PAUSED);
    struct disco_console *con = disco_console_attach(h, "vm1", &w_ops, w, false, NULL, &e);
    CHECK(con != NULL);
    disco_console_detach(con);
    CHECK_EQ(disco_resume(h, "vm1", &e), 0);
    CHECK_EQ(state_of(h, "vm1"), DISCO_RUNNING);

    /* PAUSED -> stop */
    CHECK_EQ(disco_pause(h, "vm1", &e), 0);
    CHECK_EQ(disco_stop(h, "vm1", &e), 0);
    CHECK_EQ(state_of(h, "vm1"), DISCO_STOPPED);
    CHECK_EQ(disco_info(h, "vm1", &info, &e), 0);
    CHECK(!strcmp(info.last_exit, "stopped"));

    /* STOPPING: a shutdown (no agent: it waits for its timeout) in the
     * background; a hard stop ends it early. */
    CHECK_EQ(disco_start(h, "vm1", &e), 0);
    struct bg_shutdown b = {.h = h, .name = "vm1", .timeout_ms = 20000};
    pthread_t t;
    pthread_create(&t, NULL, bg_shutdown_fn, &b);
    CHECK(wait_state(h, "vm1", DISCO_STOPPING, 2000));
    BUSY(disco_start(h, "vm1", &be_), DISCO_STOPPING);
    BUSY(disco_pause(h, "vm1", &be_), DISCO_STOPPING);
    BUSY(disco_resume(h, "vm1", &be_), DISCO_STOPPING);
    BUSY(disco_shutdown(h, "vm1", 100, &forced, &be_), DISCO_STOPPING);
    BUSY(disco_reboot(h, "vm1", true, 0, &be_), DISCO_STOPPING);
    BUSY(disco_exec(h, "vm1", argv, 100, &res, &be_), DISCO_STOPPING);
    BUSY(disco_destroy(h, "vm1", &be_), DISCO_STOPPING);
    BUSY(disco_balloon(h, "vm1", 20u << 20, &be_), DISCO_STOPPING);
    CHECK_EQ(disco_stats(h, "vm1", &st, &e), 0);
    CHECK_EQ(st.state, DISCO_STOPPING);
    con = disco_console_attach(h, "vm1", &w_ops, w, false, NULL, &e);
    CHECK(con != NULL);
    uint64_t t0 = now_ms();
    CHECK_EQ(disco_stop(h, "vm1", &e), 0);
    pthread_join(t, NULL);
    CHECK(now_ms() - t0 < 5000);
    CHECK_EQ(b.rc, 0);
    CHECK(!b.forced);   /* it did not get to force it: the stop did */
    CHECK_EQ(state_of(h, "vm1"), DISCO_STOPPED);
    CHECK_EQ(w->closed, 1);
    disco_console_detach(con);

    /* Unknown names. */
    CHECK_EQ(disco_start(h, "nope", &e), -ENOENT);
    CHECK_EQ(disco_stop(h, "nope", &e), -ENOENT);
    CHECK_EQ(disco_pause(h, "nope", &e), -ENOENT);
    CHECK_EQ(disco_balloon(h, "nope", 20u << 20, &e), -ENOENT);
    CHECK_EQ(disco_destroy(h, "../etc", &e), -ENOENT);

    CHECK_EQ(disco_destroy(h, "vm1", &e), 0);
    watch_free(w);
    fx_close(&fx);
}

/* ---- guests stopping by themselves ---------------------------------------------- */

static void self_stop(const char *elf, const char *line, const char *last_exit)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_err e = {0};
    CHECK_EQ(create(h, "g", guest_elf(elf), false), 0);
    for (int run = 0; run < 2; run++) {   /* and it can be started again */
        CHECK_EQ(disco_start(h, "g", &e), 0);
        CHECK(wait_state(h, "g", DISCO_STOPPED, 5000));
        struct disco_info info;
        CHECK_EQ(disco_info(h, "g", &info, &e), 0);
        if (strcmp(info.last_exit, last_exit))
            printf("  last_exit '%s', want '%s'\n", info.last_exit, last_exit);
        CHECK(!strcmp(info.last_exit, last_exit));
        CHECK(log_has(h, "g", line, 1000));
    }
    /* The log was appended to, not truncated, by the second run. */
    char *path = disco_console_log_path(h, "g");
    char *s = read_file(path);
    CHECK(s && strstr(s, line) && strstr(strstr(s, line) + 1, line));
    free(s);
    free(path);
    fx_close(&fx);
}

static void poweroff_by_itself(void)
{
    self_stop("poweroff", "poweroff: bye", "powered off");
}

static void fail_by_itself(void)
{
    self_stop("fail", "fail: bye", "guest reported failure 1");
}

/* ---- pause / resume --------------------------------------------------------------- */

static void pause_resume_spin(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    struct disco_err e = {0};
    struct disco_stats a, b, c;
    CHECK_EQ(create_start(h, "s", "spin"), 0);
    sleep_ms(200);
    CHECK_EQ(disco_pause(h, "s", &e), 0);
    CHECK_EQ(disco_stats(h, "s", &a, &e), 0);
    CHECK(a.cpu_ns > 0 && a.instret > 0);
    /* Per-vCPU accounting adds up to the VM's (one vCPU here). */
    CHECK_EQ(a.vcpu[0].cpu_ns, a.cpu_ns);
    CHECK_EQ(a.vcpu[0].instret, a.instret);
    CHECK(a.vcpu[0].slices > 0 && !a.vcpu[0].idle);
    sleep_ms(200);
    CHECK_EQ(disco_stats(h, "s", &b, &e), 0);
    CHECK_EQ(b.cpu_ns, a.cpu_ns);
    CHECK_EQ(b.instret, a.instret);
    CHECK_EQ(disco_resume(h, "s", &e), 0);
    sleep_ms(200);
    CHECK_EQ(disco_stats(h, "s", &c, &e), 0);
    CHECK(c.cpu_ns > b.cpu_ns && c.instret > b.instret);
    CHECK(c.uptime_ns >= 500000000ull);
    CHECK_EQ(disco_stop(h, "s", &e), 0);
    fx_close(&fx);
}

/* ---- balloon ---------------------------------------------------------------------- */

/* A guest without a balloon driver (idle.elf): the target is recorded and
 * shown, nothing inflates; a fresh start has an empty balloon. */
static void balloon_no_driver(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_err e = {0};
    struct disco_stats st;
    CHECK_EQ(create_start(h, "b", "idle"), 0);   /* 32 MiB */
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 0);
    CHECK_EQ(st.balloon_actual, 0);

    /* Too small: refused, naming the value; nothing changes. */
    CHECK_EQ(disco_balloon(h, "b", (16u << 20) - 4096, &e), -EINVAL);
    CHECK(strstr(e.msg, "16773120") != NULL);
    CHECK_EQ(disco_balloon(h, "b", 0, &e), -EINVAL);
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 0);

    CHECK_EQ(disco_balloon(h, "b", 20u << 20, &e), 0);
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 12u << 20);
    CHECK_EQ(st.balloon_actual, 0);   /* nobody inflates it */
    CHECK_EQ(disco_balloon(h, "b", 16u << 20, &e), 0);   /* the floor is allowed */
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 16u << 20);

    /* Back up: the configured size or more deflates fully. */
    CHECK_EQ(disco_balloon(h, "b", 32u << 20, &e), 0);
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 0);
    CHECK_EQ(disco_balloon(h, "b", 24u << 20, &e), 0);
    CHECK_EQ(disco_balloon(h, "b", 1ull << 40, &e), 0);
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 0);

    /* Not kept across a stop / start. */
    CHECK_EQ(disco_balloon(h, "b", 20u << 20, &e), 0);
    CHECK_EQ(disco_stop(h, "b", &e), 0);
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 0);
    CHECK_EQ(disco_start(h, "b", &e), 0);
    CHECK_EQ(disco_stats(h, "b", &st, &e), 0);
    CHECK_EQ(st.balloon_target, 0);
    CHECK(st.mem_resident <= st.mem);
    CHECK_EQ(disco_stop(h, "b", &e), 0);
    fx_close(&fx);
}

/* ---- consoles --------------------------------------------------------------------- */

static void console_replay_watch(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_err e = {0};
    CHECK_EQ(create_start(h, "i", "idle"), 0);
    struct watch *w1 = watch_new(), *w2 = watch_new();
    bool wr = true;
    /* Attached at once: sees the line live or in the replay. */
    struct disco_console *c1 = disco_console_attach(h, "i", &w_ops, w1, true, &wr, &e);
    CHECK(c1 != NULL && wr);
    CHECK(watch_has(w1, "idle: up\n", 5000));
    CHECK(log_has(h, "i", "idle: up", 1000));
    /* Attached later: replay only; a second writer is refused. */
    struct disco_console *c2 = disco_console_attach(h, "i", &w_ops, w2, true, &wr, &e);
    CHECK(c2 != NULL && !wr);
    CHECK(watch_has(w2, "idle: up\n", 0));
    CHECK_EQ(disco_console_write(c2, (const uint8_t *)"x", 1), -EPERM);
    CHECK_EQ(disco_console_write(c1, (const uint8_t *)"x", 1), 1);
    disco_console_detach(c2);
    pthread_mutex_lock(&w2->lock);
    w2->detached = true;
    pthread_mutex_unlock(&w2->lock);

    /* Reboot without an agent = hard reset: the line comes again. */
    CHECK_EQ(disco_reboot(h, "i", false, 100, &e), 0);
    uint64_t end = now_ms() + 5000;
    bool twice = false;
    while (!twice && now_ms() < end) {
        pthread_mutex_lock(&w1->lock);
        char *p = strstr(w1->buf, "idle: up");
        twice = p && strstr(p + 1, "idle: up");
        pthread_mutex_unlock(&w1->lock);
        sleep_ms(5);
    }
    CHECK(twice);
    struct disco_stats st;
    CHECK_EQ(disco_stats(h, "i", &st, &e), 0);
    CHECK_EQ(st.resets, 1);
    CHECK_EQ(state_of(h, "i"), DISCO_RUNNING);

    CHECK_EQ(disco_stop(h, "i", &e), 0);
    CHECK_EQ(w1->closed, 1);
    CHECK_EQ(w2->closed, 0);        /* detached before: not called */
    CHECK_EQ(w2->after_detach, 0);
    CHECK_EQ(disco_console_write(c1, (const uint8_t *)"x", 1), -EPIPE);
    /* A watcher may outlive its guest's run and even its destruction. */
    CHECK_EQ(disco_destroy(h, "i", &e), 0);
    disco_console_detach(c1);
    watch_free(w1);
    watch_free(w2);
    fx_close(&fx);
}

static void console_echo(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_err e = {0};
    CHECK_EQ(create_start(h, "e", "echo"), 0);
    struct watch *w = watch_new();
    bool wr = false;
    struct disco_console *c = disco_console_attach(h, "e", &w_ops, w, true, &wr, &e);
    CHECK(c != NULL && wr);
    CHECK(watch_has(w, "echo: up\n", 5000));
    const char *msg = "ping 123\n";
    CHECK_EQ(disco_console_write(c, (const uint8_t *)msg, strlen(msg)), (int)strlen(msg));
    CHECK(watch_has(w, "echo: up\nping 123\n", 5000));
    CHECK(log_has(h, "e", "ping 123", 1000));
    disco_console_detach(c);
    CHECK_EQ(disco_stop(h, "e", &e), 0);
    watch_free(w);
    fx_close(&fx);
}

/* The log rotates at 1 MiB (driven through the hub directly: a guest
 * printing a megabyte takes a while). */
static void console_log_rotation(void)
{
    char *dir = tmp_state();
    struct guest *g = calloc(1, sizeof *g);
    struct disco_err e = {0};
    CHECK_EQ(hub_init(&g->hub, dir, &e), 0);
    CHECK_EQ(hub_run_begin(&g->hub, &e), 0);
    static uint8_t chunk[4096];
    memset(chunk, 'a', sizeof chunk);
    for (unsigned i = 0; i < (CONSOLE_LOG_MAX / sizeof chunk) + 10; i++)
        hub_output(g, chunk, sizeof chunk);
    hub_output(g, (const uint8_t *)"END", 3);
    hub_run_end(&g->hub);
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof p, "%s/console.log.1", dir);
    CHECK(stat(p, &st) == 0 && st.st_size == CONSOLE_LOG_MAX);
    snprintf(p, sizeof p, "%s/console.log", dir);
    CHECK(stat(p, &st) == 0 && st.st_size == 10 * sizeof chunk + 3);
    /* The replay ring holds the last DISCO_CONSOLE_REPLAY bytes. */
    CHECK_EQ(g->hub.ring_len, DISCO_CONSOLE_REPLAY);
    hub_destroy(&g->hub);
    free(g);
    tmp_done(dir);
}

/* ---- shutdown without an agent ---------------------------------------------------- */

static void shutdown_no_agent(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    struct disco_err e = {0};
    CHECK_EQ(create_start(h, "i", "idle"), 0);
    bool forced = false;
    uint64_t t0 = now_ms();
    CHECK_EQ(disco_shutdown(h, "i", 200, &forced, &e), 0);
    uint64_t dt = now_ms() - t0;
    CHECK(forced);
    CHECK(dt >= 200 && dt < 3000);
    struct disco_info info;
    CHECK_EQ(disco_info(h, "i", &info, &e), 0);
    CHECK_EQ(info.state, DISCO_STOPPED);
    CHECK(!strcmp(info.last_exit, "stopped (shutdown timed out)"));

    /* A guest that powers off by itself during the wait is not forced. */
    CHECK_EQ(create_start(h, "p", "poweroff"), 0);
    int rc = disco_shutdown(h, "p", 3000, &forced, &e);
    /* It may already be gone before shutdown looks (-EBUSY: stopped). */
    CHECK(rc == 0 || rc == -EBUSY);
    CHECK(!forced);
    CHECK(wait_state(h, "p", DISCO_STOPPED, 3000));
    fx_close(&fx);
}

/* A huge timeout means "a very long time", not a wrapped-around deadline
 * that is already past (2^64 / 10^6 + 1 ms would wrap to under 1 ms). */
struct bg_wait {
    struct disco_host *h;
    uint64_t timeout_ms;
    _Atomic int done;
    int rc;
};

static void *bg_wait_fn(void *arg)
{
    struct bg_wait *b = arg;
    b->rc = disco_wait_agent(b->h, "i", b->timeout_ms, NULL);
    atomic_store(&b->done, 1);
    return NULL;
}

static void huge_timeouts(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 1);
    if (!h)
        return;
    const uint64_t huge = UINT64_MAX / 1000000u + 1;
    struct disco_err e = {0};
    CHECK_EQ(create_start(h, "i", "idle"), 0);   /* no agent */
    struct bg_wait w = {.h = h, .timeout_ms = huge};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, bg_wait_fn, &w), 0);
    sleep_ms(300);
    CHECK(!atomic_load(&w.done));   /* still waiting for the agent */
    CHECK_EQ(disco_stop(h, "i", &e), 0);
    pthread_join(t, NULL);
    CHECK_EQ(w.rc, -EBUSY);          /* ended by the stop, not timed out */

    CHECK_EQ(disco_start(h, "i", &e), 0);
    struct bg_shutdown b = {.h = h, .name = "i", .timeout_ms = huge, .forced = true};
    CHECK_EQ(pthread_create(&t, NULL, bg_shutdown_fn, &b), 0);
    sleep_ms(300);
    CHECK_EQ(state_of(h, "i"), DISCO_STOPPING);   /* not hard-stopped at once */
    CHECK_EQ(disco_stop(h, "i", &e), 0);
    pthread_join(t, NULL);
    CHECK_EQ(b.rc, 0);
    CHECK(!b.forced);
    CHECK_EQ(state_of(h, "i"), DISCO_STOPPED);
    fx_close(&fx);
}

/* ---- memory: reservations against the budget, host pool stats ---------------------- */

static int create_mem(struct disco_host *h, const char *name, uint64_t mem, uint64_t res)
{
    struct disco_vm_config c = {.name = name, .kernel = guest_elf("idle"), .mem = mem,
                                .mem_reservation = res};
    struct disco_err e = {0};
    int rc = disco_create(h, &c, &e);
    if (rc < 0)
        printf("  disco_create %s: %s\n", name, e.msg);
    return rc;
}

static void mem_reservations(void)
{
    struct fx fx = {.dir = tmp_state()};
    struct disco_err e = {0};
    fx.h = host_budget(fx.dir, 64ull << 20, &e);   /* the smallest budget there is */
    CHECK(fx.h != NULL);
    if (!fx.h) {
        printf("  disco_host_new: %s\n", e.msg);
        tmp_done(fx.dir);
        return;
    }
    struct disco_host *h = fx.h;
    /* Never fits: refused at create, naming the key. */
    struct disco_vm_config big = {.name = "big", .kernel = guest_elf("idle"), .mem = 128u << 20,
                                  .mem_reservation = 100u << 20};
    CHECK_EQ(disco_create(h, &big, &e), -ENOMEM);
    CHECK(strstr(e.msg, "'mem_reservation'") != NULL);
    CHECK_EQ(state_of(h, "big"), (enum disco_state)-1);
    /* Each fits alone, not both at once: the second start is refused and
     * it stays stopped; once the first stops it starts. */
    CHECK_EQ(create_mem(h, "a", 48u << 20, 40u << 20), 0);
    CHECK_EQ(create_mem(h, "b", 48u << 20, 40u << 20), 0);
    CHECK_EQ(create_mem(h, "c", 48u << 20, 0), 0);
    CHECK_EQ(disco_start(h, "a", &e), 0);
    memset(&e, 0, sizeof e);
    int rc = disco_start(h, "b", &e);
    if (rc != -ENOMEM)
        printf("  second start: rc %d (%s)\n", rc, e.msg);
    CHECK_EQ(rc, -ENOMEM);
    CHECK(strstr(e.msg, "'b'") != NULL);
    CHECK_EQ(state_of(h, "b"), DISCO_STOPPED);
    CHECK_EQ(disco_start(h, "c", &e), 0);   /* no reservation: always starts */
    CHECK_EQ(disco_stop(h, "a", &e), 0);
    CHECK_EQ(disco_start(h, "b", &e), 0);
    CHECK_EQ(state_of(h, "b"), DISCO_RUNNING);
    fx_close(&fx);
}

static void host_mem_stats(void)
{
    struct fx fx = {.dir = tmp_state()};
    struct disco_err e = {0};
    fx.h = host_budget(fx.dir, 256ull << 20, &e);
    CHECK(fx.h != NULL);
    if (!fx.h) {
        printf("  disco_host_new: %s\n", e.msg);
        tmp_done(fx.dir);
        return;
    }
    struct disco_host *h = fx.h;
    struct disco_host_mem_stats ms;
    disco_host_mem_stats(h, &ms);
    CHECK_EQ(ms.budget, 256ull << 20);
    CHECK_EQ(ms.used, 0);
    CHECK_EQ(create_mem(h, "vm1", 32u << 20, 8u << 20), 0);
    CHECK_EQ(disco_start(h, "vm1", &e), 0);
    /* The guest touches its pages as it boots: wait (bounded) until the
     * pool has charged some. */
    uint64_t end = now_ms() + 10000;
    do {
        disco_host_mem_stats(h, &ms);
        if (ms.used)
            break;
        sleep_ms(5);
    } while (now_ms() < end);
    CHECK(ms.used > 0);
    CHECK_EQ(ms.budget, 256ull << 20);
    CHECK(ms.used <= (32u << 20));   /* one 32 MiB guest */
    CHECK_EQ(ms.used, ms.private_bytes + ms.shared_frames_bytes);
    CHECK_EQ(ms.saved, ms.shared_refs_bytes - ms.shared_frames_bytes);
    CHECK(ms.used % 4096 == 0 && ms.private_bytes % 4096 == 0);   /* pages -> bytes */
    struct disco_stats st;
    CHECK_EQ(disco_stats(h, "vm1", &st, &e), 0);
    CHECK_EQ(st.mem_reservation, 8u << 20);
    CHECK_EQ(st.mem_limit, 32u << 20);   /* none set: the configured memory */
    CHECK_EQ(st.mem_shares, 320);
    CHECK(st.mem_private > 0);
    CHECK(st.mem_private + st.mem_shared + st.mem_swapped <= st.mem);
    CHECK(st.mem_private <= ms.private_bytes + 4096 * 64);   /* allow for pages touched since */
    /* Stopped: the pool is empty again. */
    CHECK_EQ(disco_stop(h, "vm1", &e), 0);
    disco_host_mem_stats(h, &ms);
    CHECK_EQ(ms.used, 0);
    CHECK_EQ(ms.private_bytes, 0);
    fx_close(&fx);
}

/* ---- several guests, and cycles without leaks --------------------------------------- */

static void several_guests(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    struct disco_err e = {0};
    const char *kinds[] = {"spin", "spin", "spin_irqoff", "idle", "echo", "idle"};
    char names[6][16];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "g%d", i);
        CHECK_EQ(create_start(h, names[i], kinds[i]), 0);
    }
    CHECK(log_has(h, "g3", "idle: up", 5000));
    CHECK(log_has(h, "g4", "echo: up", 5000));
    sleep_ms(300);
    for (int i = 0; i < 6; i++) {
        struct disco_stats st;
        CHECK_EQ(disco_stats(h, names[i], &st, &e), 0);
        CHECK_EQ(st.state, DISCO_RUNNING);
        if (i < 3)
            CHECK(st.cpu_ns > 0 && st.instret > 0);
        if (i == 3 && st.cpu_ns > 50000000ull)   /* idle: WFI costs no host CPU */
            printf("  idle guest used %llu ns of CPU\n", (unsigned long long)st.cpu_ns);
        if (i == 3)
            CHECK(st.cpu_ns < 50000000ull);
    }
    /* An idle guest next to spinners still answers its console. */
    struct watch *w = watch_new();
    struct disco_console *c = disco_console_attach(h, "g4", &w_ops, w, true, NULL, &e);
    CHECK(c != NULL);
    CHECK_EQ(disco_console_write(c, (const uint8_t *)"zz\n", 3), 3);
    CHECK(watch_has(w, "zz\n", 5000));
    disco_console_detach(c);
    watch_free(w);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(disco_stop(h, names[i], &e), 0);
    fx_close(&fx);   /* stops the other three */
}

static void cycles_no_leaks(void)
{
    int tasks0 = count_dir("/proc/self/task"), fds0 = count_dir("/proc/self/fd");
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    int tasks1 = count_dir("/proc/self/task"), fds1 = count_dir("/proc/self/fd");
    struct disco_err e = {0};
    const char *kinds[] = {"idle", "spin", "poweroff", "echo"};
    for (int i = 0; i < 100; i++) {
        const char *k = kinds[i % 4];
        if (create(h, "cyc", guest_elf(k), false) < 0) {
            CHECK(0);
            break;
        }
        CHECK_EQ(disco_start(h, "cyc", &e), 0);
        if (i % 4 == 2) {
            CHECK(wait_state(h, "cyc", DISCO_STOPPED, 5000));
        } else {
            if (i % 8 == 1)
                CHECK_EQ(disco_pause(h, "cyc", &e), 0);
            CHECK_EQ(disco_stop(h, "cyc", &e), 0);
        }
        CHECK_EQ(disco_destroy(h, "cyc", &e), 0);
        if (t_st.case_failed)
            break;
    }
    CHECK_EQ(count_dir("/proc/self/task"), tasks1);
    CHECK_EQ(count_dir("/proc/self/fd"), fds1);
    fx_close(&fx);
    CHECK_EQ(count_dir("/proc/self/task"), tasks0);
    CHECK_EQ(count_dir("/proc/self/fd"), fds0);
}

/* Many threads doing everything to two names at once: no deadlock, no
 * crash (ASan), every answer one of the documented ones. */
struct chaos {
    struct disco_host *h;
    unsigned seed;
    int bad;
};

static void *chaos_fn(void *arg)
{
    struct chaos *c = arg;
    struct watch *w = watch_new();
    uint64_t end = now_ms() + 1500;
    while (now_ms() < end) {
        const char *name = rand_r(&c->seed) % 2 ? "x" : "y";
        struct disco_err e = {0};
        struct disco_info info;
        bool forced;
        int rc = 0;
        switch (rand_r(&c->seed) % 11) {
        case 0: {
            struct disco_vm_config vc = {.name = name, .kernel = guest_elf("idle"),
                                         .mem = 32u << 20};
            rc = disco_create(c->h, &vc, &e);
            break;
        }
        case 1: rc = disco_destroy(c->h, name, &e); break;
        case 2: rc = disco_start(c->h, name, &e); break;
        case 3: rc = disco_stop(c->h, name, &e); break;
        case 4: rc = disco_pause(c->h, name, &e); break;
        case 5: rc = disco_resume(c->h, name, &e); break;
        case 6: rc = disco_shutdown(c->h, name, 20, &forced, &e); break;
        case 7: rc = disco_reboot(c->h, name, true, 0, &e); break;
        case 8: rc = disco_info(c->h, name, &info, &e); break;
        case 9: {
            struct disco_stats st;
            rc = disco_stats(c->h, name, &st, &e);
            break;
        }
        case 10: {
            struct disco_console *con = disco_console_attach(c->h, name, &w_ops, w, true, NULL, &e);
            rc = con ? 0 : e.code;
            if (con) {
                disco_console_write(con, (const uint8_t *)"a", 1);
                disco_console_detach(con);
            }
            break;
        }
        }
        if (rc != 0 && rc != -EBUSY && rc != -ENOENT && rc != -EEXIST) {
            printf("  unexpected %d: %s\n", rc, e.msg);
            c->bad++;
        }
    }
    watch_free(w);
    return NULL;
}

static void concurrent_ops(void)
{
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    struct chaos cs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        cs[i] = (struct chaos){.h = h, .seed = 1234u + (unsigned)i};
        pthread_create(&t[i], NULL, chaos_fn, &cs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(cs[i].bad, 0);
    }
    fx_close(&fx);   /* whatever is still running */
}

/* ---- with the default guest and its agent (optional) -------------------------------- */

static bool default_guest(char *kernel, char *initrd, size_t n)
{
    const char *cache = getenv("DISCO_CACHE");
    snprintf(kernel, n, "%s/guest/default/Image", cache && cache[0] ? cache : "/var/cache/disco");
    snprintf(initrd, n, "%s/guest/default/initramfs.cpio.gz",
             cache && cache[0] ? cache : "/var/cache/disco");
    return access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0;
}

static void agent_guest(void)
{
    char kernel[PATH_MAX], initrd[PATH_MAX];
    default_guest(kernel, initrd, sizeof kernel);
    struct fx fx;
    struct disco_host *h = fx_open(&fx, 2);
    if (!h)
        return;
    struct disco_err e = {0};
    struct disco_vm_config c = {.name = "linux", .kernel = kernel, .initrd = initrd,
                                .mem = 128u << 20};
    CHECK_EQ(disco_create(h, &c, &e), 0);
    CHECK_EQ(disco_start(h, "linux", &e), 0);
    uint64_t t0 = now_ms();
    int rc = disco_wait_agent(h, "linux", 120000, &e);
    if (rc < 0)
        printf("  wait_agent: %s\n", e.msg);
    CHECK_EQ(rc, 0);
    printf("  agent up after %llu ms\n", (unsigned long long)(now_ms() - t0));
    struct disco_info info;
    CHECK_EQ(disco_info(h, "linux", &info, &e), 0);
    CHECK(info.agent);

    struct disco_exec_result r;
    const char *echo[] = {"echo", "hi", NULL};
    rc = disco_exec(h, "linux", echo, 20000, &r, &e);
    if (rc < 0)
        printf("  exec: %s\n", e.msg);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK_EQ(r.status, 0);
        CHECK(r.out && !strcmp((char *)r.out, "hi\n"));
        disco_exec_result_free(&r);
    }
    const char *ex3[] = {"sh", "-c", "echo oops >&2; exit 3", NULL};
    CHECK_EQ(disco_exec(h, "linux", ex3, 20000, &r, &e), 0);
    CHECK_EQ(r.status, 3);
    CHECK(r.errout && !strcmp((char *)r.errout, "oops\n"));
    disco_exec_result_free(&r);

    struct disco_stats st;
    CHECK_EQ(disco_stats(h, "linux", &st, &e), 0);
    CHECK(st.guest_mem_valid && st.guest_mem_total > (64u << 20) &&
          st.guest_mem_total <= (128u << 20));

    /* A clean reboot: the agent comes back. */
    t0 = now_ms();
    CHECK_EQ(disco_reboot(h, "linux", false, 10000, &e), 0);
    uint64_t end = now_ms() + 120000;
    while (now_ms() < end) {   /* it goes away first, then says hello again */
        CHECK_EQ(disco_stats(h, "linux", &st, &e), 0);
        if (st.resets >= 1)
            break;
        sleep_ms(20);
    }
    CHECK_EQ(st.resets, 1);
    CHECK_EQ(disco_wait_agent(h, "linux", 120000, &e), 0);
    printf("  clean reboot: agent back after %llu ms\n", (unsigned long long)(now_ms() - t0));
    CHECK_EQ(disco_exec(h, "linux", echo, 20000, &r, &e), 0);
    disco_exec_result_free(&r);

    /* A clean shutdown, not forced. */
    bool forced = true;
    t0 = now_ms();
    CHECK_EQ(disco_shutdown(h, "linux", 60000, &forced, &e), 0);
    printf("  clean shutdown took %llu ms\n", (unsigned long long)(now_ms() - t0));
    CHECK(!forced);
    CHECK_EQ(disco_info(h, "linux", &info, &e), 0);
    CHECK_EQ(info.state, DISCO_STOPPED);
    CHECK(!strcmp(info.last_exit, "powered off"));
    fx_close(&fx);
}

int main(void)
{
    RUN(config_parse_errors);
    RUN(config_roundtrip);
    RUN(config_mem_roundtrip);
    RUN(config_mem_errors);
    RUN(host_bad_budget);
    RUN(create_list_destroy);
    RUN(console_log_rotation);
    if (!find_guests()) {
        const char *why = "test guests not built (tests/guests, `make guests`)";
        SKIP(persistence, why);
        SKIP(every_state, why);
        SKIP(poweroff_by_itself, why);
        SKIP(fail_by_itself, why);
        SKIP(pause_resume_spin, why);
        SKIP(balloon_no_driver, why);
        SKIP(console_replay_watch, why);
        SKIP(console_echo, why);
        SKIP(shutdown_no_agent, why);
        SKIP(huge_timeouts, why);
        SKIP(mem_reservations, why);
        SKIP(host_mem_stats, why);
        SKIP(several_guests, why);
        SKIP(cycles_no_leaks, why);
        SKIP(concurrent_ops, why);
        T_EXIT();
    }
    RUN(persistence);
    RUN(every_state);
    RUN(poweroff_by_itself);
    RUN(fail_by_itself);
    RUN(pause_resume_spin);
    RUN(balloon_no_driver);
    RUN(console_replay_watch);
    RUN(console_echo);
    RUN(shutdown_no_agent);
    RUN(huge_timeouts);
    RUN(mem_reservations);
    RUN(host_mem_stats);
    RUN(several_guests);
    RUN(cycles_no_leaks);
    RUN(concurrent_ops);
    char k[PATH_MAX], i[PATH_MAX];
    if (default_guest(k, i, sizeof k))
        RUN(agent_guest);
    else
        SKIP(agent_guest, "no default guest (scripts/boot.sh builds it; $DISCO_CACHE)");
    T_EXIT();
}

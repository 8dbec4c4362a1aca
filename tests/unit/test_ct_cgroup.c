/* ct/cgroup: layouts (the host's real one, fake v1 / v2 trees), limits
 * written and read back, joining, pids limits, freezing, signalling,
 * statistics, removal, path checks. The real-hierarchy cases need root and
 * a v1 (hybrid) host, and work below /sys/fs/cgroup/<ctrl>/disco-test-PID,
 * which is swept at the end whatever happened. */
#define _GNU_SOURCE
#include "ct/cgroup.h"
#include "t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROOT "/sys/fs/cgroup"

static char test_name[64];      /* disco-test-PID */

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* The file's content with trailing whitespace cut; "" if unreadable. */
static const char *slurp(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return buf;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (size_t l = strlen(buf); l && (buf[l - 1] == '\n' || buf[l - 1] == ' '); l--)
        buf[l - 1] = '\0';
    return buf;
}

static const char *slurp2(const char *dir, const char *file, char *buf, size_t size)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir ? dir : "/nonexistent", file);
    return slurp(p, buf, size);
}

static int put(const char *dir, const char *file, const char *content)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, content, strlen(content));
    close(fd);
    return n == (ssize_t)strlen(content) ? 0 : -EIO;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

static void rm_rf(const char *p)
{
    nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *mk_tmp(void)
{
    char *t = strdup("/tmp/disco-test-cg-XXXXXX");
    if (t && !mkdtemp(t)) {
        free(t);
        return NULL;
    }
    return t;
}

/* Does the pid list text (cgroup.procs) hold pid? */
static bool procs_has(const char *text, pid_t pid)
{
    for (const char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v == pid)
            return true;
        p = end;
    }
    return false;
}

/* waitpid bounded by ms; on timeout the child is killed (and the case
 * fails through the returned -1). */
static int reap(pid_t pid, unsigned ms, int *status)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0)
            return -1;
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        pause_ms(1);
    }
}

/* We are a child subreaper: collect every exited descendant, bounded. */
static void reap_all(unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r < 0 && errno == ECHILD)
            return;
        if (r <= 0)
            pause_ms(1);
    }
}

/* A child that blocks until the write end of its pipe closes. */
static pid_t fork_blocked(int *release_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    close(p[0]);
    *release_fd = p[1];
    return pid;
}

static bool read_bounded(int fd, void *buf, size_t len, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, ms) == 1 && read(fd, buf, len) == (ssize_t)len;
}

static uint64_t cpu_ns_of(pid_t pid)
{
    char p[64], buf[128];
    snprintf(p, sizeof p, "/proc/%d/schedstat", (int)pid);
    return strtoull(slurp(p, buf, sizeof buf), NULL, 10);
}

/* Remove this run's cgroups from every real hierarchy whatever state they
 * were left in: thaw, kill, reap, rmdir children first. Independent of
 * the code under test. */
static void sweep_dir(const char *dir)
{
    char buf[4096], p[PATH_MAX];
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_type != DT_DIR || de->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            sweep_dir(p);
        }
        closedir(d);
    }
    snprintf(p, sizeof p, "%s/freezer.state", dir);
    if (access(p, F_OK) == 0)
        put(dir, "freezer.state", "THAWED");
    uint64_t end = now_ms() + 2000;
    while (rmdir(dir) && errno == EBUSY && now_ms() < end) {
        slurp2(dir, "cgroup.procs", buf, sizeof buf);
        for (char *q = buf; *q;) {
            char *e;
            long v = strtol(q, &e, 10);
            if (e == q)
                break;
            if (v > 0)
                kill((pid_t)v, SIGKILL);
            q = e;
        }
        reap_all(5);
        pause_ms(2);
    }
}

static void sweep_real(void)
{
    DIR *d = opendir(ROOT);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s/%s", ROOT, de->d_name, test_name);
        if (de->d_name[0] != '.' && de->d_type == DT_DIR && is_dir(p))
            sweep_dir(p);
    }
    closedir(d);
}

static const char *const all_ctrls[] = { "cpu", "cpuacct", "cpuset", "memory", "pids",
                                          "blkio", "devices", "freezer", "systemd" };
#define NCTRLS (sizeof all_ctrls / sizeof all_ctrls[0])

static bool real_v1(void)
{
    return geteuid() == 0 && ct_cgroup_detect(NULL) == CT_CGROUP_V1;
}

static void rel(char *buf, size_t size, const char *leaf)
{
    snprintf(buf, size, "%s/%s", test_name, leaf);
}

/* ---- detection and paths ---- */

static void detect_layouts(void)
{
    struct statfs sf;
    CHECK(statfs(ROOT, &sf) == 0);
    enum ct_cgroup_mode want = (unsigned long)sf.f_type == 0x63677270 ? CT_CGROUP_V2 : CT_CGROUP_V1;
    CHECK_EQ(ct_cgroup_detect(NULL), want);
    CHECK_EQ(ct_cgroup_detect(ROOT), want);
    CHECK_EQ(ct_cgroup_detect("/nonexistent/cgroup"), CT_CGROUP_NONE);
    /* One v1 hierarchy is not a root. */
    if (want == CT_CGROUP_V1 && is_dir(ROOT "/memory"))
        CHECK_EQ(ct_cgroup_detect(ROOT "/memory"), CT_CGROUP_NONE);

    char *t = mk_tmp();
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_EQ(ct_cgroup_detect(t), CT_CGROUP_NONE);     /* empty */
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/memory", t);
    mkdir(p, 0755);
    CHECK_EQ(ct_cgroup_detect(t), CT_CGROUP_NONE);     /* no cgroup.procs */
    put(p, "cgroup.procs", "");
    CHECK_EQ(ct_cgroup_detect(t), CT_CGROUP_V1);
    put(t, "cgroup.controllers", "memory");
    CHECK_EQ(ct_cgroup_detect(t), CT_CGROUP_V2);
    rm_rf(t);
    free(t);
}

static void bad_paths_refused(void)
{
    char *t = mk_tmp();
    CHECK(t != NULL);
    if (!t)
        return;
    put(t, "cgroup.controllers", "memory pids");
    put(t, "cgroup.procs", "");
    static const char *const bad[] = { "", "/", "//", "..", "a/../b", "a/..", "./a/.", "system.slice:libpod:",
                                       "bad:libpod:x", "a--b.slice:p:x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct disco_err err = { 0, "" };
        struct ct_cgroup *cg = (struct ct_cgroup *)1;
        int rc = ct_cgroup_create(t, bad[i], NULL, &cg, &err);
        CHECK_EQ(rc, -EINVAL);
        CHECK(cg == NULL);
        CHECK(err.msg[0] != '\0');
        if (bad[i][0])
            CHECK(strstr(err.msg, bad[i]) != NULL);
    }
    struct disco_err err;
    struct ct_cgroup *cg = NULL;
    CHECK_EQ(ct_cgroup_create(t, NULL, NULL, &cg, &err), -EINVAL);
    /* Nothing was created for any of them. */
    DIR *d = opendir(t);
    int entries = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        entries += de->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK_EQ(entries, 2);
    rm_rf(t);
    free(t);

    if (real_v1()) {
        char r[128];
        rel(r, sizeof r, "../../x");
        CHECK_EQ(ct_cgroup_create(NULL, r, NULL, &cg, &err), -EINVAL);
        CHECK(strstr(err.msg, r) != NULL);
    }
}

static void systemd_paths(void)
{
    char *t = mk_tmp();
    CHECK(t != NULL);
    if (!t)
        return;
    put(t, "cgroup.controllers", "");
    put(t, "cgroup.procs", "");
    struct disco_err err;
    struct ct_cgroup *cg = NULL;
    char want[PATH_MAX];
    static const char *const cases[][2] = {
        { "system.slice:libpod:abc", "system.slice/libpod-abc.scope" },
        { ":libpod:abc", "system.slice/libpod-abc.scope" },
        { "machine-x.slice:libpod:abc", "machine.slice/machine-x.slice/libpod-abc.scope" },
        { "user.slice::job", "user.slice/job.scope" },
        { "/machine.slice//x/", "machine.slice/x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(ct_cgroup_create(t, cases[i][0], NULL, &cg, &err), 0);
        if (!cg)
            continue;
        snprintf(want, sizeof want, "%s/%s", t, cases[i][1]);
        CHECK(ct_cgroup_dir(cg, "memory") && !strcmp(ct_cgroup_dir(cg, "memory"), want));
        CHECK(is_dir(want));
        ct_cgroup_free(cg);
        cg = NULL;
    }
    rm_rf(t);
    free(t);
}

static void open_missing(void)
{
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = (struct ct_cgroup *)1;
    char r[128];
    rel(r, sizeof r, "nope");
    int rc = ct_cgroup_open(NULL, r, &cg, &err);
    if (ct_cgroup_detect(NULL) == CT_CGROUP_NONE) {
        CHECK(rc < 0);
        return;
    }
    CHECK_EQ(rc, -ENOENT);
    CHECK(cg == NULL);
    CHECK(strstr(err.msg, r) != NULL);
}

/* ---- fake trees ---- */

static void fake_v2_strings(void)
{
    char *t = mk_tmp();
    CHECK(t != NULL);
    if (!t)
        return;
    char buf[512], sub[PATH_MAX];
    put(t, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc");
    put(t, "cgroup.subtree_control", "");
    put(t, "cgroup.procs", "");
    /* The kernel has these in children only; fake children copy the root's. */
    static const char *const files[] = {
        "memory.max", "memory.low", "memory.swap.max", "memory.current", "memory.events", "cpu.max",
        "cpu.weight", "cpu.stat", "cpuset.cpus", "cpuset.mems", "pids.max", "pids.current",
        "io.weight", "io.max", "io.stat", "cgroup.freeze", "cgroup.events",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        put(t, files[i], "");

    struct ct_resources r;
    ct_resources_init(&r);
    struct ct_throttle rbps = { 8, 0, 1048576 }, wiops = { 8, 16, 100 };
    r.memory_limit = 64 << 20;
    r.memory_swap = 128 << 20;
    r.memory_reservation = 32 << 20;
    r.cpu_quota = 50000;
    r.cpu_period = 100000;
    r.cpu_shares = 512;
    r.cpuset_cpus = "0";
    r.cpuset_mems = "0";
    r.pids_limit = 32;
    r.blkio_weight = 500;
    r.read_bps = &rbps;
    r.nread_bps = 1;
    r.write_iops = &wiops;
    r.nwrite_iops = 1;
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(t, "disco/x", &r, &cg, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  (%s)\n", err.msg);
        rm_rf(t);
        free(t);
        return;
    }
    CHECK_EQ(ct_cgroup_mode(cg), CT_CGROUP_V2);
    const char *dir = ct_cgroup_dir(cg, "anything");
    snprintf(sub, sizeof sub, "%s/disco/x", t);
    CHECK(dir && !strcmp(dir, sub));
    CHECK(!strcmp(slurp2(t, "cgroup.subtree_control", buf, sizeof buf), "+memory +cpu +pids +io +cpuset"));
    snprintf(sub, sizeof sub, "%s/disco", t);
    CHECK(!strcmp(slurp2(sub, "cgroup.subtree_control", buf, sizeof buf), "+memory +cpu +pids +io +cpuset"));
    CHECK(!strcmp(slurp2(dir, "cgroup.subtree_control", buf, sizeof buf), ""));   /* leaf: none */
    CHECK(!strcmp(slurp2(dir, "memory.max", buf, sizeof buf), "67108864"));
    CHECK(!strcmp(slurp2(dir, "memory.low", buf, sizeof buf), "33554432"));
    CHECK(!strcmp(slurp2(dir, "memory.swap.max", buf, sizeof buf), "67108864"));
    CHECK(!strcmp(slurp2(dir, "cpu.max", buf, sizeof buf), "50000 100000"));
    CHECK(!strcmp(slurp2(dir, "cpu.weight", buf, sizeof buf), "20"));  /* 1 + 510 * 9999 / 262142 */
    CHECK(!strcmp(slurp2(dir, "pids.max", buf, sizeof buf), "32"));
    CHECK(!strcmp(slurp2(dir, "io.weight", buf, sizeof buf), "default 4950"));
    CHECK(!strcmp(slurp2(dir, "io.max", buf, sizeof buf), "8:16 wiops=100"));  /* last of the writes */
    CHECK(!strcmp(slurp2(dir, "cpuset.cpus", buf, sizeof buf), "0"));

    /* Unset fields stay; cpu.max keeps the quota it has. */
    ct_resources_init(&r);
    r.cpu_period = 200000;
    r.memory_limit = -1;
    r.pids_limit = 0;
    r.cpu_shares = 2;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), 0);
    CHECK(!strcmp(slurp2(dir, "cpu.max", buf, sizeof buf), "50000 200000"));
    CHECK(!strcmp(slurp2(dir, "memory.max", buf, sizeof buf), "max"));
    CHECK(!strcmp(slurp2(dir, "memory.swap.max", buf, sizeof buf), "max"));
    CHECK(!strcmp(slurp2(dir, "memory.low", buf, sizeof buf), "33554432"));
    CHECK(!strcmp(slurp2(dir, "pids.max", buf, sizeof buf), "max"));
    CHECK(!strcmp(slurp2(dir, "cpu.weight", buf, sizeof buf), "1"));
    ct_resources_init(&r);
    r.cpu_quota = -1;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), 0);
    CHECK(!strcmp(slurp2(dir, "cpu.max", buf, sizeof buf), "max 200000"));
    /* A swap limit below the memory limit is refused before writing. */
    ct_resources_init(&r);
    r.memory_limit = 64 << 20;
    r.memory_swap = 32 << 20;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), -EINVAL);
    CHECK(!strcmp(slurp2(dir, "memory.max", buf, sizeof buf), "max"));
    /* Zero is "unset" (OCI): nothing written. */
    ct_resources_init(&r);
    r.memory_limit = 0;
    r.cpu_quota = 0;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), 0);
    CHECK(!strcmp(slurp2(dir, "memory.max", buf, sizeof buf), "max"));
    CHECK(!strcmp(slurp2(dir, "cpu.max", buf, sizeof buf), "max 200000"));

    /* Stats parsing. */
    put(dir, "memory.current", "4096\n");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n");
    put(dir, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 5\n"
                         "nr_throttled 2\nthrottled_usec 300\n");
    put(dir, "pids.current", "3\n");
    put(dir, "pids.max", "32\n");
    put(dir, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
                        "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
    struct ct_cgroup_stats st;
    CHECK_EQ(ct_cgroup_stats(cg, &st, &err), 0);
    CHECK_EQ(st.memory_current, 4096);
    CHECK_EQ(st.memory_max, UINT64_MAX);
    CHECK_EQ(st.memory_peak, 0);                /* no memory.peak */
    CHECK_EQ(st.memory_failcnt, 3);
    CHECK_EQ(st.memory_oom_kills, 2);
    CHECK_EQ(st.cpu_usage_ns, 1500000);
    CHECK_EQ(st.cpu_user_ns, 1000000);
    CHECK_EQ(st.cpu_system_ns, 500000);
    CHECK_EQ(st.cpu_nr_throttled, 2);
    CHECK_EQ(st.cpu_throttled_ns, 300000);
    CHECK_EQ(st.pids_current, 3);
    CHECK_EQ(st.pids_max, 32);
    CHECK_EQ(st.io_read_bytes, 101);
    CHECK_EQ(st.io_write_bytes, 202);

    /* Freeze: written to cgroup.freeze, confirmed by cgroup.events. */
    put(dir, "cgroup.events", "populated 1\nfrozen 1\n");
    CHECK_EQ(ct_cgroup_freeze(cg, true, &err), 0);
    CHECK(!strcmp(slurp2(dir, "cgroup.freeze", buf, sizeof buf), "1"));
    CHECK(ct_cgroup_frozen(cg));
    put(dir, "cgroup.events", "populated 1\nfrozen 0\n");
    CHECK(!ct_cgroup_frozen(cg));
    CHECK_EQ(ct_cgroup_freeze(cg, false, &err), 0);
    CHECK(!strcmp(slurp2(dir, "cgroup.freeze", buf, sizeof buf), "0"));

    /* Reuse of an existing empty cgroup; refusal of a populated one. */
    struct ct_cgroup *again = NULL;
    CHECK_EQ(ct_cgroup_create(t, "/disco/x", NULL, &again, &err), 0);
    ct_cgroup_free(again);
    put(dir, "cgroup.procs", "4242\n");
    again = NULL;
    CHECK_EQ(ct_cgroup_create(t, "disco/x", NULL, &again, &err), -EBUSY);
    CHECK(strstr(err.msg, "in use") && strstr(err.msg, dir));
    pid_t *pids = NULL;
    size_t n = 0;
    CHECK_EQ(ct_cgroup_pids(cg, &pids, &n, &err), 0);
    CHECK(n == 1 && pids && pids[0] == 4242);
    free(pids);
    put(dir, "cgroup.procs", "");

    struct ct_cgroup *op = NULL;
    CHECK_EQ(ct_cgroup_open(t, "disco/x", &op, &err), 0);
    CHECK(op && !strcmp(ct_cgroup_dir(op, "pids"), dir));
    CHECK_EQ(ct_cgroup_destroy(op, &err), 0);
    ct_cgroup_free(op);
    CHECK(!is_dir(dir));
    CHECK(is_dir(sub));             /* parents stay */
    CHECK_EQ(ct_cgroup_open(t, "disco/x", &op, &err), -ENOENT);
    ct_cgroup_free(cg);

    /* Only the missing controllers that are available get enabled. */
    put(t, "cgroup.controllers", "memory pids");
    put(t, "cgroup.subtree_control", "memory");
    put(sub, "cgroup.subtree_control", "");
    CHECK_EQ(ct_cgroup_create(t, "disco/y", NULL, &cg, &err), 0);
    CHECK(!strcmp(slurp2(t, "cgroup.subtree_control", buf, sizeof buf), "+pids"));
    CHECK(!strcmp(slurp2(sub, "cgroup.subtree_control", buf, sizeof buf), "+memory +pids"));
    /* A controller that is not there: the error names the file. */
    ct_resources_init(&r);
    r.blkio_weight = 100;
    snprintf(sub, sizeof sub, "%s/disco/y/io.weight", t);
    unlink(sub);
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), -ENOENT);
    CHECK(strstr(err.msg, sub) != NULL);
    ct_cgroup_free(cg);
    rm_rf(t);
    free(t);
}

/* v1 with cpu and cpuacct co-mounted ("cpu,cpuacct" plus symlinks), a
 * name=systemd hierarchy, and a cgroup2 "unified" that must be ignored. */
static void fake_v1_comounted(void)
{
    char *t = mk_tmp();
    CHECK(t != NULL);
    if (!t)
        return;
    char p[PATH_MAX], buf[256];
    static const char *const dirs[] = { "cpu,cpuacct", "memory", "cpuset", "systemd", "unified", "pids" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", t, dirs[i]);
        mkdir(p, 0755);
        put(p, "cgroup.procs", "");
    }
    snprintf(p, sizeof p, "%s/unified", t);
    put(p, "cgroup.controllers", "");
    snprintf(p, sizeof p, "%s/cpu", t);
    CHECK(symlink("cpu,cpuacct", p) == 0);
    snprintf(p, sizeof p, "%s/cpuacct", t);
    CHECK(symlink("cpu,cpuacct", p) == 0);
    snprintf(p, sizeof p, "%s/cpu,cpuacct", t);
    put(p, "cpu.shares", "1024");
    put(p, "cpu.cfs_quota_us", "-1");
    put(p, "cpu.cfs_period_us", "100000");
    put(p, "cpuacct.usage", "123456789");
    put(p, "cpuacct.stat", "user 7\nsystem 3\n");
    snprintf(p, sizeof p, "%s/memory", t);
    put(p, "memory.limit_in_bytes", "9223372036854771712");
    put(p, "memory.soft_limit_in_bytes", "9223372036854771712");
    snprintf(p, sizeof p, "%s/cpuset", t);
    put(p, "cpuset.cpus", "0-1");
    put(p, "cpuset.mems", "0");
    snprintf(p, sizeof p, "%s/pids", t);
    put(p, "pids.max", "max");

    CHECK_EQ(ct_cgroup_detect(t), CT_CGROUP_V1);
    struct ct_resources r;
    ct_resources_init(&r);
    r.memory_limit = 64 << 20;
    r.memory_swap = 128 << 20;     /* no memsw file: ignored */
    r.cpu_shares = 512;
    r.cpu_quota = 50000;
    r.pids_limit = -1;
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(t, "a/b", &r, &cg, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  (%s)\n", err.msg);
        rm_rf(t);
        free(t);
        return;
    }
    CHECK_EQ(ct_cgroup_mode(cg), CT_CGROUP_V1);
    const char *cpu = ct_cgroup_dir(cg, "cpu"), *acct = ct_cgroup_dir(cg, "cpuacct");
    snprintf(p, sizeof p, "%s/cpu,cpuacct/a/b", t);
    CHECK(cpu && acct && !strcmp(cpu, p) && !strcmp(acct, p));
    CHECK(ct_cgroup_dir(cg, "unified") == NULL);
    CHECK(ct_cgroup_dir(cg, "blkio") == NULL);
    CHECK(ct_cgroup_dir(cg, "bogus") == NULL);
    snprintf(p, sizeof p, "%s/unified/a", t);
    CHECK(!is_dir(p));
    snprintf(p, sizeof p, "%s/systemd/a/b", t);
    CHECK(ct_cgroup_dir(cg, "name=systemd") && !strcmp(ct_cgroup_dir(cg, "systemd"), p) && is_dir(p));
    CHECK(!strcmp(slurp2(cpu, "cpu.shares", buf, sizeof buf), "512"));
    CHECK(!strcmp(slurp2(cpu, "cpu.cfs_quota_us", buf, sizeof buf), "50000"));
    CHECK(!strcmp(slurp2(cpu, "cpu.cfs_period_us", buf, sizeof buf), ""));   /* unset: untouched */
    const char *mem = ct_cgroup_dir(cg, "memory");
    CHECK(!strcmp(slurp2(mem, "memory.limit_in_bytes", buf, sizeof buf), "67108864"));
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "pids"), "pids.max", buf, sizeof buf), "max"));
    /* cpuset.cpus / mems copied into every new level. */
    snprintf(p, sizeof p, "%s/cpuset/a", t);
    CHECK(!strcmp(slurp2(p, "cpuset.cpus", buf, sizeof buf), "0-1"));
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "cpuset"), "cpuset.cpus", buf, sizeof buf), "0-1"));
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "cpuset"), "cpuset.mems", buf, sizeof buf), "0"));

    /* A limit on a controller the host lacks names the file. */
    ct_resources_init(&r);
    r.blkio_weight = 100;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), -ENOTSUP);
    CHECK(strstr(err.msg, "blkio") != NULL);
    ct_resources_init(&r);
    r.cpu_shares = 1000;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), 0);

    /* Stats from the co-mounted cpuacct files. */
    put(cpu, "cpuacct.usage", "123456789");
    put(cpu, "cpuacct.stat", "user 7\nsystem 3\n");
    put(mem, "memory.limit_in_bytes", "9223372036854771712");
    struct ct_cgroup_stats st;
    CHECK_EQ(ct_cgroup_stats(cg, &st, &err), 0);
    long hz = sysconf(_SC_CLK_TCK);
    CHECK_EQ(st.cpu_usage_ns, 123456789);
    CHECK_EQ(st.cpu_user_ns, 7ull * (1000000000ull / (uint64_t)hz));
    CHECK_EQ(st.cpu_system_ns, 3ull * (1000000000ull / (uint64_t)hz));
    CHECK_EQ(st.memory_max, UINT64_MAX);
    CHECK_EQ(st.pids_max, UINT64_MAX);

    CHECK_EQ(ct_cgroup_destroy(cg, &err), 0);
    ct_cgroup_free(cg);
    snprintf(p, sizeof p, "%s/cpu,cpuacct/a/b", t);
    CHECK(!is_dir(p));
    snprintf(p, sizeof p, "%s/memory/a/b", t);
    CHECK(!is_dir(p));
    snprintf(p, sizeof p, "%s/memory/a", t);
    CHECK(is_dir(p));
    rm_rf(t);
    free(t);
}

/* ---- the real v1 hierarchies ---- */

static void real_limits(void)
{
    char r_[128], buf[512];
    rel(r_, sizeof r_, "limits");
    struct ct_resources r;
    ct_resources_init(&r);
    r.memory_limit = 64 << 20;
    r.memory_swap = 128 << 20;
    r.memory_reservation = 32 << 20;
    r.cpu_quota = 50000;
    r.cpu_period = 100000;
    r.cpu_shares = 512;
    r.pids_limit = 32;
    struct ct_device_rule rules[] = {
        { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
        { .allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m" },
    };
    r.devices = rules;
    r.ndevices = 2;
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(NULL, r_, &r, &cg, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  (%s)\n", err.msg);
        return;
    }
    CHECK_EQ(ct_cgroup_mode(cg), CT_CGROUP_V1);
    for (size_t i = 0; i < NCTRLS; i++) {
        char want[PATH_MAX];
        snprintf(want, sizeof want, "%s/%s/%s", ROOT, all_ctrls[i], r_);
        if (is_dir(ROOT "/cpu") && !strcmp(all_ctrls[i], "cpuacct") && is_dir(ROOT "/cpuacct"))
            CHECK(strcmp(ct_cgroup_dir(cg, "cpu"), ct_cgroup_dir(cg, "cpuacct")));   /* separate here */
        char h[PATH_MAX];
        snprintf(h, sizeof h, "%s/%s", ROOT, all_ctrls[i]);
        struct stat st;
        if (lstat(h, &st) == 0 && S_ISDIR(st.st_mode))
            CHECK(ct_cgroup_dir(cg, all_ctrls[i]) && !strcmp(ct_cgroup_dir(cg, all_ctrls[i]), want) &&
                  is_dir(want));
    }
    CHECK(ct_cgroup_dir(cg, "unified") == NULL);
    const char *mem = ct_cgroup_dir(cg, "memory"), *cpu = ct_cgroup_dir(cg, "cpu");
    CHECK(!strcmp(slurp2(mem, "memory.limit_in_bytes", buf, sizeof buf), "67108864"));
    CHECK(!strcmp(slurp2(mem, "memory.soft_limit_in_bytes", buf, sizeof buf), "33554432"));
    bool memsw = access(ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
    if (memsw)
        CHECK(!strcmp(slurp2(mem, "memory.memsw.limit_in_bytes", buf, sizeof buf), "134217728"));
    CHECK(!strcmp(slurp2(cpu, "cpu.cfs_quota_us", buf, sizeof buf), "50000"));
    CHECK(!strcmp(slurp2(cpu, "cpu.cfs_period_us", buf, sizeof buf), "100000"));
    CHECK(!strcmp(slurp2(cpu, "cpu.shares", buf, sizeof buf), "512"));
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "pids"), "pids.max", buf, sizeof buf), "32"));
    /* The rules, then runc's standard allow list (the kernel drops repeats). */
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "devices"), "devices.list", buf, sizeof buf),
                  "c 1:3 rwm\nc *:* m\nb *:* m\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n"
                  "c 5:0 rwm\nc 5:2 rwm\nc 136:* rwm\nc 10:200 rwm"));
    /* The new cpuset got its parent's cpus and mems. */
    char pcpus[64];
    slurp(ROOT "/cpuset/cpuset.cpus", pcpus, sizeof pcpus);
    CHECK(pcpus[0] && !strcmp(slurp2(ct_cgroup_dir(cg, "cpuset"), "cpuset.cpus", buf, sizeof buf), pcpus));
    CHECK(slurp2(ct_cgroup_dir(cg, "cpuset"), "cpuset.mems", buf, sizeof buf)[0] != '\0');

    /* Lowering both, then raising both: each needs its own order. */
    ct_resources_init(&r);
    r.memory_limit = 32 << 20;
    r.memory_swap = 32 << 20;
    rc = ct_cgroup_update(cg, &r, &err);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  (%s)\n", err.msg);
    CHECK(!strcmp(slurp2(mem, "memory.limit_in_bytes", buf, sizeof buf), "33554432"));
    if (memsw)
        CHECK(!strcmp(slurp2(mem, "memory.memsw.limit_in_bytes", buf, sizeof buf), "33554432"));
    r.memory_limit = 256 << 20;
    r.memory_swap = 512 << 20;
    rc = ct_cgroup_update(cg, &r, &err);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  (%s)\n", err.msg);
    CHECK(!strcmp(slurp2(mem, "memory.limit_in_bytes", buf, sizeof buf), "268435456"));
    if (memsw)
        CHECK(!strcmp(slurp2(mem, "memory.memsw.limit_in_bytes", buf, sizeof buf), "536870912"));
    /* Unlimited memory with swap unset lifts both. */
    ct_resources_init(&r);
    r.memory_limit = -1;
    r.cpu_quota = -1;
    r.pids_limit = -1;
    CHECK_EQ(ct_cgroup_update(cg, &r, &err), 0);
    uint64_t lim = strtoull(slurp2(mem, "memory.limit_in_bytes", buf, sizeof buf), NULL, 10);
    CHECK(lim >= (1ull << 62));
    CHECK(!strcmp(slurp2(cpu, "cpu.cfs_quota_us", buf, sizeof buf), "-1"));
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "pids"), "pids.max", buf, sizeof buf), "max"));

    /* blkio weight: blkio.weight (CFQ) or blkio.bfq.weight. */
    const char *blk = ct_cgroup_dir(cg, "blkio");
    bool has_w = blk && access(strcat(strcpy(buf, blk), "/blkio.weight"), F_OK) == 0;
    bool has_bfq = blk && access(strcat(strcpy(buf, blk), "/blkio.bfq.weight"), F_OK) == 0;
    ct_resources_init(&r);
    r.blkio_weight = 500;
    if (has_w || has_bfq) {
        CHECK_EQ(ct_cgroup_update(cg, &r, &err), 0);
        CHECK(!strcmp(slurp2(blk, has_w ? "blkio.weight" : "blkio.bfq.weight", buf, sizeof buf), "500"));
    } else {
        printf("SKIP: real_limits_blkio_weight: no blkio.weight or blkio.bfq.weight on this kernel\n");
    }

    /* A value the kernel refuses: the message names value and file. */
    ct_resources_init(&r);
    r.cpuset_cpus = "999";
    CHECK(ct_cgroup_update(cg, &r, &err) < 0);     /* ERANGE on 6.x, EINVAL before */
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "cannot write 999 to %s/cpuset.cpus: ", ct_cgroup_dir(cg, "cpuset"));
    CHECK(!strncmp(err.msg, want, strlen(want)));

    CHECK_EQ(ct_cgroup_destroy(cg, &err), 0);
    for (size_t i = 0; i < NCTRLS; i++)
        CHECK(!is_dir(ct_cgroup_dir(cg, all_ctrls[i])));
    ct_cgroup_free(cg);
}

static void real_enter_and_kill(void)
{
    char r_[128], buf[4096];
    rel(r_, sizeof r_, "enter/nested");
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(NULL, r_, NULL, &cg, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  (%s)\n", err.msg);
        return;
    }
    int release;
    pid_t pid = fork_blocked(&release);
    CHECK(pid > 0);
    if (pid <= 0) {
        ct_cgroup_free(cg);
        return;
    }
    CHECK_EQ(ct_cgroup_enter(cg, pid, &err), 0);
    int seen = 0;
    for (size_t i = 0; i < NCTRLS; i++) {
        const char *d = ct_cgroup_dir(cg, all_ctrls[i]);
        if (!d)
            continue;
        CHECK(procs_has(slurp2(d, "cgroup.procs", buf, sizeof buf), pid));
        seen++;
    }
    CHECK(seen >= 8);
    snprintf(buf, sizeof buf, "/proc/%d/cgroup", (int)pid);
    char pc[4096];
    slurp(buf, pc, sizeof pc);
    snprintf(buf, sizeof buf, ":memory:/%s\n", r_);
    CHECK(strstr(pc, buf) != NULL);

    /* In use: not created again. */
    struct ct_cgroup *again = NULL;
    CHECK_EQ(ct_cgroup_create(NULL, r_, NULL, &again, &err), -EBUSY);
    CHECK(strstr(err.msg, "in use") != NULL && strstr(err.msg, r_) != NULL);
    /* Neither the parent: it holds a populated child. */
    rel(buf, sizeof buf, "enter");
    CHECK_EQ(ct_cgroup_create(NULL, buf, NULL, &again, &err), -EBUSY);

    /* Another handle, as `disco oci kill` in another process would have. */
    struct ct_cgroup *op = NULL;
    CHECK_EQ(ct_cgroup_open(NULL, r_, &op, &err), 0);
    pid_t *pids = NULL;
    size_t n = 0;
    CHECK_EQ(ct_cgroup_pids(op, &pids, &n, &err), 0);
    CHECK(n == 1 && pids[0] == pid);
    free(pids);
    /* Populated: destroy gives up (after its bounded retry) naming the dir. */
    rc = ct_cgroup_destroy(op, &err);
    CHECK_EQ(rc, -EBUSY);
    CHECK(strstr(err.msg, r_) != NULL);

    CHECK_EQ(ct_cgroup_signal_all(op, SIGKILL, &err), 0);
    int status = 0;
    CHECK_EQ(reap(pid, 5000, &status), 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(release);
    CHECK_EQ(ct_cgroup_destroy(op, &err), 0);
    for (size_t i = 0; i < NCTRLS; i++)
        CHECK(!is_dir(ct_cgroup_dir(op, all_ctrls[i])));
    ct_cgroup_free(op);
    ct_cgroup_free(cg);
}

/* The child joins, then forks 10 children holding a pipe: with pids.max 4
 * at most 3 of them can exist. */
static void real_pids_limit(void)
{
    char r_[128];
    rel(r_, sizeof r_, "pids");
    struct ct_resources r;
    ct_resources_init(&r);
    r.pids_limit = 4;
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(NULL, r_, &r, &cg, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  (%s)\n", err.msg);
        return;
    }
    int go[2], res[2];
    CHECK(pipe2(go, O_CLOEXEC) == 0 && pipe2(res, O_CLOEXEC) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(go[1]);
        close(res[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        int hold[2];
        if (pipe(hold))
            _exit(1);
        int counts[3] = { 0, 0, 0 };    /* forked, EAGAIN, other errors */
        pid_t kids[10];
        for (int i = 0; i < 10; i++) {
            pid_t k = fork();
            if (k == 0) {
                close(hold[1]);
                while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
                }
                _exit(0);
            }
            if (k > 0)
                kids[counts[0]++] = k;
            else
                counts[errno == EAGAIN ? 1 : 2]++;
        }
        close(hold[1]);
        for (int i = 0; i < counts[0]; i++)
            waitpid(kids[i], NULL, 0);
        _exit(write(res[1], counts, sizeof counts) == sizeof counts ? 0 : 1);
    }
    close(go[0]);
    close(res[1]);
    CHECK(pid > 0);
    if (pid > 0) {
        CHECK_EQ(ct_cgroup_enter(cg, pid, &err), 0);
        CHECK(write(go[1], "g", 1) == 1);
        int counts[3] = { -1, -1, -1 };
        CHECK(read_bounded(res[0], counts, sizeof counts, 10000));
        CHECK(counts[0] >= 1 && counts[0] <= 3);
        CHECK(counts[1] >= 7);
        CHECK_EQ(counts[2], 0);
        int status;
        CHECK_EQ(reap(pid, 5000, &status), 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    close(go[1]);
    close(res[0]);
    CHECK_EQ(ct_cgroup_destroy(cg, &err), 0);
    ct_cgroup_free(cg);
}

static bool cpu_advances(pid_t pid, uint64_t by_ns, unsigned within_ms)
{
    uint64_t start = cpu_ns_of(pid), end = now_ms() + within_ms;
    while (now_ms() < end) {
        if (cpu_ns_of(pid) >= start + by_ns)
            return true;
        pause_ms(2);
    }
    return false;
}

static void real_freeze_stats_signal(void)
{
    char r_[128], buf[256];
    rel(r_, sizeof r_, "freeze");
    struct disco_err err = { 0, "" };
    struct ct_cgroup *cg = NULL;
    int rc = ct_cgroup_create(NULL, r_, NULL, &cg, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  (%s)\n", err.msg);
        return;
    }
    int go[2], ready[2];
    CHECK(pipe2(go, O_CLOEXEC) == 0 && pipe2(ready, O_CLOEXEC) == 0);
    pid_t pids_[4] = { 0 };
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(go[1]);
        close(ready[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        /* Two children (in the cgroup too), then everyone spins. */
        pid_t k[2];
        for (int i = 0; i < 2; i++) {
            k[i] = fork();
            if (k[i] == 0)
                for (;;)
                    __asm__ volatile("" ::: "memory");
        }
        if (write(ready[1], k, sizeof k) != sizeof k)
            _exit(1);
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    close(go[0]);
    close(ready[1]);
    CHECK(pid > 0);
    if (pid <= 0)
        goto out;
    pids_[0] = pid;
    CHECK_EQ(ct_cgroup_enter(cg, pid, &err), 0);
    CHECK(write(go[1], "g", 1) == 1);
    CHECK(read_bounded(ready[0], &pids_[1], 2 * sizeof(pid_t), 10000));
    CHECK(cpu_advances(pid, 50000000, 5000));       /* it runs: 50 ms of CPU */

    size_t n = 0;
    pid_t *list = NULL;
    CHECK_EQ(ct_cgroup_pids(cg, &list, &n, &err), 0);
    CHECK_EQ(n, 3);
    free(list);

    rc = ct_cgroup_freeze(cg, true, &err);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  (%s)\n", err.msg);
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "freezer"), "freezer.state", buf, sizeof buf), "FROZEN"));
    CHECK(ct_cgroup_frozen(cg));
    /* Its CPU time stands still over a few polls (10 ms apart). */
    uint64_t t0 = cpu_ns_of(pid);
    for (int i = 0; i < 5; i++) {
        pause_ms(10);
        CHECK_EQ(cpu_ns_of(pid), t0);
    }
    CHECK_EQ(ct_cgroup_freeze(cg, false, &err), 0);
    CHECK(!ct_cgroup_frozen(cg));
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "freezer"), "freezer.state", buf, sizeof buf), "THAWED"));
    CHECK(cpu_advances(pid, 5000000, 5000));

    struct ct_cgroup_stats st;
    CHECK_EQ(ct_cgroup_stats(cg, &st, &err), 0);
    CHECK(st.cpu_usage_ns >= 50000000);
    CHECK(st.cpu_user_ns + st.cpu_system_ns > 0);
    CHECK(st.cpu_user_ns <= st.cpu_usage_ns + 1000000000ull);
    CHECK_EQ(st.pids_current, 3);
    CHECK_EQ(st.pids_max, UINT64_MAX);
    CHECK(st.memory_current > 0);
    CHECK_EQ(st.memory_max, UINT64_MAX);
    CHECK(st.memory_peak >= st.memory_current);
    CHECK_EQ(st.memory_oom_kills, 0);

    /* SIGKILL into a frozen cgroup: signalled, then thawed, so it lands. */
    CHECK_EQ(ct_cgroup_freeze(cg, true, &err), 0);
    CHECK_EQ(ct_cgroup_signal_all(cg, SIGKILL, &err), 0);
    int status = 0;
    CHECK_EQ(reap(pid, 5000, &status), 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pids_[0] = 0;
    reap_all(200);              /* the grandchildren, reparented to us */
    CHECK(!strcmp(slurp2(ct_cgroup_dir(cg, "freezer"), "freezer.state", buf, sizeof buf), "THAWED"));
    for (int i = 1; i < 3; i++)
        CHECK(pids_[i] <= 0 || kill(pids_[i], 0) != 0);
    rc = ct_cgroup_destroy(cg, &err);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  (%s)\n", err.msg);
    CHECK(!is_dir(ct_cgroup_dir(cg, "memory")));
out:
    for (int i = 0; i < 3; i++)
        if (pids_[i] > 0)
            kill(pids_[i], SIGKILL);
    close(go[1]);
    close(ready[0]);
    reap_all(500);
    ct_cgroup_free(cg);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(test_name, sizeof test_name, "disco-test-%d", (int)getpid());
    /* Orphaned grandchildren come back to us to be reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    RUN(detect_layouts);
    RUN(bad_paths_refused);
    RUN(systemd_paths);
    RUN(open_missing);
    RUN(fake_v2_strings);
    RUN(fake_v1_comounted);
    if (real_v1()) {
        RUN(real_limits);
        RUN(real_enter_and_kill);
        RUN(real_pids_limit);
        RUN(real_freeze_stats_signal);
        sweep_real();
        /* Nothing of this run is left in any hierarchy. */
        t_st.case_name = "no_leftovers";
        t_st.case_failed = 0;
        DIR *d = opendir(ROOT);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s/%s", ROOT, de->d_name, test_name);
            CHECK(!is_dir(p));
        }
        if (d)
            closedir(d);
        if (t_st.case_failed)
            t_st.failed_cases++;
        else
            printf("PASS: no_leftovers\n");
    } else {
        const char *why = geteuid() ? "needs root" : "host cgroups are not v1 / hybrid";
        SKIP(real_limits, why);
        SKIP(real_enter_and_kill, why);
        SKIP(real_pids_limit, why);
        SKIP(real_freeze_stats_signal, why);
    }
    T_EXIT();
}

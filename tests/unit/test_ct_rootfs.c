/* ct/rootfs: each case forks a child that unshares a mount namespace (and a
 * pid namespace, the grandchild being its pid 1, when /proc is mounted),
 * enters a temporary rootfs and checks the result with system calls,
 * reporting one line over a socket. Needs root. */
#define _GNU_SOURCE
#include "ct/rootfs.h"
#include "t.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the temporary tree: base/root is the rootfs, base/host-marker is
 * something only the host can see ---- */

struct tree {
    char base[64];
    char root[PATH_MAX];
    char host_marker[PATH_MAX];
    char src_dir[PATH_MAX];     /* bind sources */
    char src_file[PATH_MAX];
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* "" on error or when missing. */
static void read_file(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t r = read(fd, buf, n - 1);
    buf[r > 0 ? r : 0] = '\0';
    close(fd);
}

static void pathf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

static bool tree_make(struct tree *t)
{
    snprintf(t->base, sizeof t->base, "/tmp/ct-rootfs-test-XXXXXX");
    if (!mkdtemp(t->base))
        return false;
    pathf(t->root, sizeof t->root, "%s/root", t->base);
    pathf(t->host_marker, sizeof t->host_marker, "%s/host-marker", t->base);
    pathf(t->src_dir, sizeof t->src_dir, "%s/src", t->base);
    pathf(t->src_file, sizeof t->src_file, "%s/src-file", t->base);
    static const char *const dirs[] = {"", "/proc", "/dev", "/sys", "/etc", "/tmp", "/mnt"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        pathf(p, sizeof p, "%s%s", t->root, dirs[i]);
        if (mkdir(p, 0755) < 0)
            return false;
    }
    if (mkdir(t->src_dir, 0755) < 0)
        return false;
    pathf(p, sizeof p, "%s/ct-marker", t->root);
    write_file(p, "rootfs\n");
    pathf(p, sizeof p, "%s/src-marker", t->src_dir);
    write_file(p, "src\n");
    write_file(t->host_marker, "host\n");
    write_file(t->src_file, "bound\n");
    return true;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void tree_remove(struct tree *t)
{
    if (t->base[0])
        nftw(t->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- specs by hand ---- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static struct ct_spec *spec_new(const char *root)
{
    struct ct_spec *s = calloc(1, sizeof *s);
    s->root_path = xstrdup(root);
    return s;
}

static void spec_mount(struct ct_spec *s, const char *dest, const char *type, const char *source,
                       unsigned long flags, const char *data, bool bind, bool rec)
{
    s->mounts = realloc(s->mounts, (s->nmounts + 1) * sizeof *s->mounts);
    s->mounts[s->nmounts++] = (struct ct_mount){
        .destination = xstrdup(dest), .type = xstrdup(type), .source = xstrdup(source),
        .flags = flags, .data = xstrdup(data), .bind = bind, .recursive = rec,
    };
}

static void spec_strs(char ***v, size_t *n, const char *s)
{
    *v = realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
}

static void spec_sysctl(struct ct_spec *s, const char *k, const char *v)
{
    size_t n = s->nsysctl;
    spec_strs(&s->sysctl_keys, &n, k);
    n = s->nsysctl;
    spec_strs(&s->sysctl_values, &n, v);
    s->nsysctl = n;
}

/* The usual OCI mounts: /proc, /dev tmpfs, /dev/pts. */
static void spec_std_mounts(struct ct_spec *s, const char *pts_data)
{
    spec_mount(s, "/proc", "proc", "proc", 0, NULL, false, false);
    spec_mount(s, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
               false, false);
    spec_mount(s, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, pts_data, false, false);
}

static void spec_free_hand(struct ct_spec *s)
{
    for (size_t i = 0; i < s->nmounts; i++) {
        free(s->mounts[i].destination);
        free(s->mounts[i].type);
        free(s->mounts[i].source);
        free(s->mounts[i].data);
    }
    free(s->mounts);
    for (size_t i = 0; i < s->nmasked; i++)
        free(s->masked_paths[i]);
    free(s->masked_paths);
    for (size_t i = 0; i < s->nreadonly; i++)
        free(s->readonly_paths[i]);
    free(s->readonly_paths);
    for (size_t i = 0; i < s->nsysctl; i++) {
        free(s->sysctl_keys[i]);
        free(s->sysctl_values[i]);
    }
    free(s->sysctl_keys);
    free(s->sysctl_values);
    for (size_t i = 0; i < s->ndevices; i++)
        free(s->devices[i].path);
    free(s->devices);
    free(s->root_path);
    free(s);
}

/* ---- running a case in a child ---- */

struct res {
    char why[512];
};

#define EXPECT(r, cond)                                                                   \
    do {                                                                                  \
        errno = 0;                                                                        \
        bool expect_ok_ = (cond);                                                         \
        int expect_errno_ = errno;                                                        \
        if (!expect_ok_ && !(r)->why[0])                                                  \
            snprintf((r)->why, sizeof (r)->why, "line %d: %s (errno %d)", __LINE__, #cond, \
                     expect_errno_);                                                      \
    } while (0)

struct ccase {
    const struct ct_rootfs *plan;       /* NULL: the body does it all */
    bool newpid, userns;
    int unshare_extra;
    void (*pre)(void *arg);
    /* run as real root in a mount namespace of its own, before the user
     * namespace: what it mounts is locked in the container's namespace */
    void (*pre_userns)(void *arg);
    void (*post)(void *arg, int enter_rc, const struct ct_child_err *e, struct res *r);
    void *arg;
};

static void write_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

static bool wait_byte(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, timeout_ms) == 1 && read(fd, &c, 1) == 1;
}

static void child_main(const struct ccase *c, int sock)
{
    struct res r = {{0}};
    if (c->pre_userns) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
            snprintf(r.why, sizeof r.why, "pre-userns namespace: %s", strerror(errno));
            goto out;
        }
        c->pre_userns(c->arg);
    }
    if (c->userns) {
        if (unshare(CLONE_NEWUSER) < 0) {
            snprintf(r.why, sizeof r.why, "unshare(CLONE_NEWUSER): %s", strerror(errno));
            goto out;
        }
        write_all(sock, "u", 1);
        if (!wait_byte(sock, 10000)) {
            snprintf(r.why, sizeof r.why, "no uid map");
            goto out;
        }
    }
    if (unshare(CLONE_NEWNS | (c->newpid ? CLONE_NEWPID : 0) | c->unshare_extra) < 0) {
        snprintf(r.why, sizeof r.why, "unshare: %s", strerror(errno));
        goto out;
    }
    if (c->newpid) {
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(r.why, sizeof r.why, "fork: %s", strerror(errno));
            goto out;
        }
        if (pid > 0) {
            /* The grandchild (pid 1) reports; just wait for it. */
            int st;
            close(sock);
            waitpid(pid, &st, 0);
            _exit(0);
        }
    }
    if (c->pre)
        c->pre(c->arg);
    struct ct_child_err e = {0};
    int rc = 0;
    if (c->plan)
        rc = ct_rootfs_enter(c->plan, &e);
    c->post(c->arg, rc, &e, &r);
out:
    write_all(sock, r.why, strlen(r.why) + 1);
    _exit(0);
}

/* true when the child reported success; why: its message otherwise. */
static bool run_in_child(const struct ccase *c, char *why, size_t n)
{
    int sv[2];
    why[0] = '\0';
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(why, n, "socketpair: %s", strerror(errno));
        return false;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, n, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return false;
    }
    if (pid == 0) {
        close(sv[0]);
        child_main(c, sv[1]);
    }
    close(sv[1]);
    if (c->userns) {
        if (!wait_byte(sv[0], 10000)) {
            snprintf(why, n, "child did not unshare its user namespace");
            goto done;
        }
        /* 0..65535 -> themselves: root in the namespace owns the test's files,
         * but has no capability in the initial namespace (no mknod). */
        char p[64];
        static const char map[] = "0 0 65536\n";
        const char *files[] = {"uid_map", "gid_map"};
        for (int i = 0; i < 2; i++) {
            snprintf(p, sizeof p, "/proc/%d/%s", (int)pid, files[i]);
            int fd = open(p, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write(fd, map, sizeof map - 1) != (ssize_t)(sizeof map - 1))
                snprintf(why, n, "write %s: %s", p, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        write_all(sv[0], "g", 1);
    }
    {
        size_t got = 0;
        bool closed = false;
        while (!closed && got + 1 < n) {
            struct pollfd pf = {.fd = sv[0], .events = POLLIN};
            if (poll(&pf, 1, 20000) != 1) {
                snprintf(why, n, "child timed out");
                kill(pid, SIGKILL);
                got = strlen(why);
                break;
            }
            ssize_t r = read(sv[0], why + got, n - 1 - got);
            if (r <= 0)
                closed = true;
            else
                got += (size_t)r;
        }
        why[got] = '\0';
        if (got == 0 && closed)
            snprintf(why, n, "child died without a report");
    }
done:
    close(sv[0]);
    int st;
    waitpid(pid, &st, 0);
    return why[0] == '\0';
}

/* ---- checks shared by the cases ---- */

struct ctx {
    struct tree *t;
    char host_root_dev[32];     /* "maj:min" of the host's / */
    char victim[PATH_MAX];      /* host file a symlink in the rootfs points at */
    char planted[PATH_MAX];     /* host path a mount target must not be created at */
    int outside_mounts_before;  /* mount points outside the root, before entering */
    bool has_proc;              /* the container mounts /proc (mountinfo checks) */
    bool host_cgroup_v1;        /* /sys/fs/cgroup/memory is a v1 hierarchy */
    bool host_kcore, host_sysrq;    /* this kernel has /proc/kcore, /proc/sysrq-trigger */
};

static void host_root_dev(struct ctx *x)
{
    struct stat st;
    stat("/", &st);
    snprintf(x->host_root_dev, sizeof x->host_root_dev, "%u:%u", major(st.st_dev),
             minor(st.st_dev));
}

/* mountinfo lines: calls fn(root, mount point) for each; stops when it returns false. */
static void each_mount(bool (*fn)(void *arg, const char *dev, const char *root, const char *mp),
                       void *arg)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char dev[64], root[PATH_MAX], mp[PATH_MAX];
        if (sscanf(line, "%*s %*s %63s %4095s %4095s", dev, root, mp) == 3 && !fn(arg, dev, root, mp))
            break;
    }
    fclose(f);
}

struct host_root_scan {
    const char *dev;
    bool found;
    int roots;
};

static bool scan_host_root(void *arg, const char *dev, const char *root, const char *mp)
{
    struct host_root_scan *s = arg;
    if (strcmp(dev, s->dev) == 0 && strcmp(root, "/") == 0)
        s->found = true;
    if (strcmp(mp, "/") == 0)
        s->roots++;
    return true;
}

static bool stat_missing(const char *p)
{
    struct stat st;
    return stat(p, &st) < 0 && errno == ENOENT;
}

static bool is_chr(const char *p, unsigned maj, unsigned min)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(maj, min);
}

static bool link_is(const char *p, const char *want)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return strcmp(buf, want) == 0;
}

static long fs_magic(const char *p)
{
    struct statfs s;
    return statfs(p, &s) == 0 ? (long)s.f_type : -1;
}

static bool fs_ro(const char *p)
{
    struct statvfs s;
    return statvfs(p, &s) == 0 && (s.f_flag & ST_RDONLY);
}

static bool create_fails_erofs(const char *p)
{
    int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(p);
        return false;
    }
    return errno == EROFS;
}

/* A masked file: /dev/null over it, reading gives nothing. */
static bool reads_empty(const char *p)
{
    char buf[64];
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n == 0;
}

/* The classic escape: keep a directory fd, chroot deeper, fchdir back to the
 * kept fd (now outside the root) and climb. true if the host marker became
 * reachable. */
static bool chroot_escape(const char *host_marker)
{
    int saved = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (saved < 0)
        return false;
    mkdir("/escape-x", 0755);
    if (chroot("/escape-x") < 0 || fchdir(saved) < 0) {
        close(saved);
        return false;
    }
    close(saved);
    for (int i = 0; i < 20; i++)
        if (chdir("..") < 0)
            break;
    if (chroot(".") < 0)
        return false;
    struct stat st;
    return stat(host_marker, &st) == 0;
}

/* Common post-enter checks: the root is the rootfs, the host is gone. */
static void check_pivoted(struct ctx *x, struct res *r)
{
    char cwd[PATH_MAX];
    EXPECT(r, getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
    struct stat st;
    EXPECT(r, stat("/ct-marker", &st) == 0);
    EXPECT(r, stat_missing("/etc/os-release"));
    EXPECT(r, stat_missing(x->t->host_marker));
    EXPECT(r, stat_missing("/work"));
    if (x->has_proc) {
        struct host_root_scan s = {.dev = x->host_root_dev};
        each_mount(scan_host_root, &s);
        EXPECT(r, !s.found);            /* the host's root mount is not in the namespace */
        EXPECT(r, s.roots == 1);
    }
    for (int i = 0; i < 5; i++)
        EXPECT(r, chdir("..") == 0);
    EXPECT(r, getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
    EXPECT(r, stat("ct-marker", &st) == 0);
}

/* ---- cases ---- */

static void post_control_chroot(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    (void)e;
    (void)rc;
    struct ctx *x = arg;
    EXPECT(r, chroot(x->t->root) == 0 && chdir("/") == 0);
    struct stat st;
    EXPECT(r, stat("/ct-marker", &st) == 0 && stat_missing(x->t->host_marker));
    EXPECT(r, chroot_escape(x->t->host_marker));   /* a bare chroot IS escapable */
}

/* Control: proves the escape used below works, so its failure after
 * ct_rootfs_enter means something. */
static void rootfs_control_chroot_escapes(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct ctx x = {.t = &t};
    struct ccase c = {.post = post_control_chroot, .arg = &x};
    char why[600];
    bool ok = run_in_child(&c, why, sizeof why);
    if (!ok)
        printf("  child: %s\n", why);
    CHECK(ok);
    tree_remove(&t);
}

static void post_full(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct ctx *x = arg;
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "enter: %s (errno %d)", e->msg, e->err);
        return;
    }
    check_pivoted(x, r);

    /* masked and read-only paths */
    char buf[64];
    EXPECT(r, reads_empty("/proc/timer_list"));
    EXPECT(r, x->host_kcore ? reads_empty("/proc/kcore") : stat_missing("/proc/kcore"));
    EXPECT(r, is_chr("/proc/keys", 1, 3));
    EXPECT(r, x->host_sysrq ? is_chr("/proc/sysrq-trigger", 1, 3)
                            : stat_missing("/proc/sysrq-trigger"));
    EXPECT(r, fs_magic("/proc/bus") == TMPFS_MAGIC && fs_ro("/proc/bus"));
    EXPECT(r, mkdir("/proc/bus/x", 0755) < 0 && errno == EROFS);
    EXPECT(r, open("/proc/sys/kernel/domainname", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
    EXPECT(r, fs_magic("/proc") == PROC_SUPER_MAGIC && !fs_ro("/proc"));

    /* sysctl written through the container's /proc (own UTS namespace) */
    struct utsname u;
    EXPECT(r, uname(&u) == 0 && strcmp(u.domainname, "ct-domain") == 0);

    /* /dev */
    EXPECT(r, fs_magic("/dev") == TMPFS_MAGIC);
    EXPECT(r, is_chr("/dev/null", 1, 3) && is_chr("/dev/zero", 1, 5) && is_chr("/dev/full", 1, 7));
    EXPECT(r, is_chr("/dev/random", 1, 8) && is_chr("/dev/urandom", 1, 9) && is_chr("/dev/tty", 5, 0));
    struct stat st;
    EXPECT(r, stat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666);
    EXPECT(r, link_is("/dev/fd", "/proc/self/fd") && link_is("/dev/stdin", "/proc/self/fd/0"));
    EXPECT(r, link_is("/dev/stdout", "/proc/self/fd/1") && link_is("/dev/stderr", "/proc/self/fd/2"));
    EXPECT(r, link_is("/dev/ptmx", "pts/ptmx") && link_is("/dev/core", "/proc/kcore"));
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    EXPECT(r, fd >= 0 && write(fd, "x", 1) == 1);
    if (fd >= 0)
        close(fd);
    EXPECT(r, fs_magic("/dev/pts") == DEVPTS_SUPER_MAGIC);

    /* a pty of the container's own devpts instance */
    int m = -1, s = -1;
    struct ct_child_err pe = {0};
    EXPECT(r, ct_child_open_pty(&m, &s, &pe) == 0);
    if (m >= 0 && s >= 0) {
        EXPECT(r, write(m, "ab\n", 3) == 3);
        struct pollfd pf = {.fd = s, .events = POLLIN};
        EXPECT(r, poll(&pf, 1, 5000) == 1);
        char got[8] = {0};
        EXPECT(r, read(s, got, sizeof got - 1) == 3 && memcmp(got, "ab\n", 3) == 0);
        EXPECT(r, fstat(s, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136);
        close(m);
        close(s);
    }

    /* sysfs and the host's cgroup layout, read-only */
    EXPECT(r, fs_magic("/sys") == SYSFS_MAGIC && fs_ro("/sys"));
    EXPECT(r, fs_magic("/sys/fs/cgroup") == TMPFS_MAGIC && fs_ro("/sys/fs/cgroup"));

    /* binds: a read-only directory and a file */
    EXPECT(r, create_fails_erofs("/mnt/ro/newfile"));
    read_file("/mnt/ro/src-marker", buf, sizeof buf);
    EXPECT(r, strcmp(buf, "src\n") == 0);
    read_file("/etc/bound-file", buf, sizeof buf);
    EXPECT(r, strcmp(buf, "bound\n") == 0);
    EXPECT(r, !fs_ro("/"));

    /* last: the kept-fd chroot escape no longer reaches the host */
    EXPECT(r, !chroot_escape(x->t->host_marker));
    EXPECT(r, stat("/ct-marker", &st) == 0);
}

struct cg_expect {
    bool v1;
};

static void post_cgroup(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct cg_expect *c = arg;
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "enter: %s (errno %d)", e->msg, e->err);
        return;
    }
    if (c->v1) {
        EXPECT(r, fs_magic("/sys/fs/cgroup") == TMPFS_MAGIC && fs_ro("/sys/fs/cgroup"));
        EXPECT(r, fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC);
        EXPECT(r, fs_ro("/sys/fs/cgroup/memory"));
        struct stat st;
        EXPECT(r, stat("/sys/fs/cgroup/memory/memory.limit_in_bytes", &st) == 0);
        EXPECT(r, fs_magic("/sys/fs/cgroup/systemd") == CGROUP_SUPER_MAGIC);
        if (stat("/sys/fs/cgroup/unified", &st) == 0)
            EXPECT(r, fs_magic("/sys/fs/cgroup/unified") == CGROUP2_SUPER_MAGIC);
    } else {
        EXPECT(r, fs_magic("/sys/fs/cgroup") == CGROUP2_SUPER_MAGIC && fs_ro("/sys/fs/cgroup"));
    }
}

static void rootfs_full_container(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct ctx x = {.t = &t, .has_proc = true};
    host_root_dev(&x);
    x.host_kcore = !stat_missing("/proc/kcore");
    x.host_sysrq = !stat_missing("/proc/sysrq-trigger");
    x.host_cgroup_v1 = fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC;
    struct ct_spec *s = spec_new(t.root);
    spec_std_mounts(s, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    spec_mount(s, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL,
               false, false);
    spec_mount(s, "/sys/fs/cgroup", "cgroup", "cgroup",
               MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY, NULL, false, false);
    spec_mount(s, "/mnt/ro", NULL, t.src_dir, MS_RDONLY, NULL, true, true);
    spec_mount(s, "/etc/bound-file", "bind", t.src_file, MS_NOSUID, NULL, true, false);
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/kcore");
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/timer_list");
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/sysrq-trigger");
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/keys");
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/bus");
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/no-such-thing");
    spec_strs(&s->readonly_paths, &s->nreadonly, "/proc/sys");
    spec_strs(&s->readonly_paths, &s->nreadonly, "/proc/irq");
    spec_strs(&s->readonly_paths, &s->nreadonly, "/proc/no-such-dir");
    spec_sysctl(s, "kernel.domainname", "ct-domain");

    struct ct_rootfs *plan = NULL;
    struct disco_err err = {0};
    int rc = ct_rootfs_prepare(s, false, NULL, &plan, &err);
    CHECK_EQ(rc, 0);
    if (rc)
        printf("  prepare: %s\n", err.msg);
    if (plan) {
        struct ccase c = {.plan = plan, .newpid = true,
                          .unshare_extra = CLONE_NEWUTS | CLONE_NEWCGROUP,
                          .post = post_full, .arg = &x};
        char why[600];
        bool ok = run_in_child(&c, why, sizeof why);
        if (!ok)
            printf("  child: %s\n", why);
        CHECK(ok);
    }
    /* Nothing leaked to the host: the escape's directory was made inside. */
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s/escape-x", t.root);
    CHECK(!stat_missing(p));
    CHECK(stat_missing("/escape-x"));
    ct_rootfs_free(plan);
    spec_free_hand(s);
    tree_remove(&t);
}

static void rootfs_cgroup_layout(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct ct_spec *s = spec_new(t.root);
    spec_mount(s, "/sys/fs/cgroup", "cgroup", "cgroup",
               MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL, false, false);
    struct cg_expect ce = {.v1 = fs_magic("/sys/fs/cgroup") != CGROUP2_SUPER_MAGIC};
    struct ct_rootfs *plan = NULL;
    struct disco_err err = {0};
    CHECK_EQ(ct_rootfs_prepare(s, false, NULL, &plan, &err), 0);
    if (plan) {
        struct ccase c = {.plan = plan, .unshare_extra = CLONE_NEWCGROUP,
                          .post = post_cgroup, .arg = &ce};
        char why[600];
        bool ok = run_in_child(&c, why, sizeof why);
        if (!ok)
            printf("  child: %s\n", why);
        CHECK(ok);
    }
    ct_rootfs_free(plan);
    spec_free_hand(s);
    tree_remove(&t);
}

static void post_readonly_root(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct ctx *x = arg;
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "enter: %s (errno %d)", e->msg, e->err);
        return;
    }
    check_pivoted(x, r);
    EXPECT(r, fs_ro("/"));
    EXPECT(r, create_fails_erofs("/newfile"));
    EXPECT(r, mkdir("/newdir", 0755) < 0 && errno == EROFS);
    /* a read-only path without a /proc in the container */
    EXPECT(r, fs_ro("/mnt/rw") == false);
    int fd = open("/mnt/rw/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    EXPECT(r, fd >= 0);
    if (fd >= 0)
        close(fd);
}

static void rootfs_readonly_root(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct ctx x = {.t = &t};
    host_root_dev(&x);
    x.host_kcore = !stat_missing("/proc/kcore");
    x.host_sysrq = !stat_missing("/proc/sysrq-trigger");
    x.host_cgroup_v1 = fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC;
    struct ct_spec *s = spec_new(t.root);
    s->root_readonly = true;
    spec_mount(s, "/mnt/rw", "tmpfs", "tmpfs", 0, NULL, false, false);
    struct ct_rootfs *plan = NULL;
    struct disco_err err = {0};
    CHECK_EQ(ct_rootfs_prepare(s, false, NULL, &plan, &err), 0);
    if (plan) {
        struct ccase c = {.plan = plan, .post = post_readonly_root, .arg = &x};
        char why[600];
        bool ok = run_in_child(&c, why, sizeof why);
        if (!ok)
            printf("  child: %s\n", why);
        CHECK(ok);
    }
    ct_rootfs_free(plan);
    spec_free_hand(s);
    tree_remove(&t);
}

/* Symlink swaps: rootfs/dev/console -> the host's /tmp/victim-PID and
 * rootfs/mnt2 -> /tmp, with binds onto /dev/console and /mnt2/planted. */
struct count_outside {
    const char *root;
    int n;
    const char *victim, *planted;
    bool hit;
};

static bool count_outside_fn(void *arg, const char *dev, const char *root, const char *mp)
{
    (void)dev;
    (void)root;
    struct count_outside *c = arg;
    size_t n = strlen(c->root);
    if (!(strncmp(mp, c->root, n) == 0 && (mp[n] == '\0' || mp[n] == '/')))
        c->n++;
    if (strcmp(mp, c->victim) == 0 || strcmp(mp, c->planted) == 0)
        c->hit = true;
    return true;
}

static int outside_mounts(struct ctx *x, bool *hit)
{
    struct count_outside c = {.root = x->t->root, .victim = x->victim, .planted = x->planted};
    each_mount(count_outside_fn, &c);
    if (hit)
        *hit = c.hit;
    return c.n;
}

static void pre_symlink(void *arg)
{
    struct ctx *x = arg;
    x->outside_mounts_before = outside_mounts(x, NULL);
}

/* enter stopped (on purpose) before pivot_root: the host's tree is still
 * visible here, so a mount that escaped would show. */
static void post_symlink_failed(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct ctx *x = arg;
    EXPECT(r, rc == -1 && e->err == ENODEV);
    char buf[64], p[PATH_MAX];
    read_file(x->victim, buf, sizeof buf);
    EXPECT(r, strcmp(buf, "victim\n") == 0);
    EXPECT(r, stat_missing(x->planted));
    /* the mounts landed inside the root, where the symlinks resolve to */
    pathf(p, sizeof p, "%s%s", x->t->root, x->victim);
    read_file(p, buf, sizeof buf);
    EXPECT(r, strcmp(buf, "bound\n") == 0);
    pathf(p, sizeof p, "%s%s", x->t->root, x->planted);
    read_file(p, buf, sizeof buf);
    EXPECT(r, strcmp(buf, "bound\n") == 0);
    bool hit = true;
    int n = outside_mounts(x, &hit);
    EXPECT(r, !hit);
    EXPECT(r, n == x->outside_mounts_before);
}

static void post_symlink_ok(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct ctx *x = arg;
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "enter: %s (errno %d)", e->msg, e->err);
        return;
    }
    check_pivoted(x, r);
    char buf[64];
    read_file("/dev/console", buf, sizeof buf);
    EXPECT(r, strcmp(buf, "bound\n") == 0);
    read_file(x->planted, buf, sizeof buf);     /* /tmp/planted inside */
    EXPECT(r, strcmp(buf, "bound\n") == 0);
}

static bool host_has_mount_at(const char *path)
{
    struct count_outside c = {.root = "/nonexistent-root", .victim = path, .planted = path};
    each_mount(count_outside_fn, &c);
    return c.hit;
}

static void rootfs_symlink_swap(void)
{
    for (int fail_late = 1; fail_late >= 0; fail_late--) {
        struct tree t = {0};
        CHECK(tree_make(&t));
        struct ctx x = {.t = &t};
        host_root_dev(&x);
    x.host_kcore = !stat_missing("/proc/kcore");
    x.host_sysrq = !stat_missing("/proc/sysrq-trigger");
    x.host_cgroup_v1 = fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC;
        pathf(x.victim, sizeof x.victim, "/tmp/ct-victim-%d", (int)getpid());
        pathf(x.planted, sizeof x.planted, "/tmp/ct-planted-%d", (int)getpid());
        write_file(x.victim, "victim\n");
        unlink(x.planted);
        char p[PATH_MAX];
        pathf(p, sizeof p, "%s/dev/console", t.root);
        CHECK(symlink(x.victim, p) == 0);
        pathf(p, sizeof p, "%s/mnt2", t.root);
        CHECK(symlink("/tmp", p) == 0);
        pathf(p, sizeof p, "%s%s", t.root, x.victim);   /* rootfs/tmp/ct-victim-PID */
        write_file(p, "inside\n");

        struct ct_spec *s = spec_new(t.root);
        spec_mount(s, "/dev/console", NULL, t.src_file, 0, NULL, true, false);
        char dest[PATH_MAX];
        pathf(dest, sizeof dest, "/mnt2/%s", x.planted + strlen("/tmp/"));
        spec_mount(s, dest, NULL, t.src_file, MS_RDONLY, NULL, true, false);
        if (fail_late)
            spec_mount(s, "/mnt/late", "no-such-fs-type", "none", 0, NULL, false, false);

        struct ct_rootfs *plan = NULL;
        struct disco_err err = {0};
        CHECK_EQ(ct_rootfs_prepare(s, false, NULL, &plan, &err), 0);
        if (plan) {
            struct ccase c = {.plan = plan, .pre = pre_symlink,
                              .post = fail_late ? post_symlink_failed : post_symlink_ok,
                              .arg = &x};
            char why[600];
            bool ok = run_in_child(&c, why, sizeof why);
            if (!ok)
                printf("  child (%s): %s\n", fail_late ? "failing late" : "complete", why);
            CHECK(ok);
        }
        /* From the host: the victim is untouched and no mount point, nothing planted. */
        char buf[64];
        read_file(x.victim, buf, sizeof buf);
        CHECK(strcmp(buf, "victim\n") == 0);
        CHECK(!host_has_mount_at(x.victim));
        CHECK(stat_missing(x.planted));
        unlink(x.victim);
        unlink(x.planted);
        ct_rootfs_free(plan);
        spec_free_hand(s);
        tree_remove(&t);
    }
}

static bool has_mount_point(const char *mp)
{
    struct count_outside c = {.root = "/nonexistent-root", .victim = mp, .planted = mp};
    each_mount(count_outside_fn, &c);
    return c.hit;
}

static void post_userns(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct ctx *x = arg;
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "enter: %s (errno %d)", e->msg, e->err);
        return;
    }
    check_pivoted(x, r);
    /* no mknod in a user namespace: the host's nodes, bind-mounted */
    EXPECT(r, is_chr("/dev/null", 1, 3) && is_chr("/dev/zero", 1, 5) && is_chr("/dev/tty", 5, 0));
    EXPECT(r, has_mount_point("/dev/null") && has_mount_point("/dev/urandom"));
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    EXPECT(r, fd >= 0 && write(fd, "x", 1) == 1);
    if (fd >= 0)
        close(fd);
    char z[16];
    memset(z, 0xff, sizeof z);
    fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    EXPECT(r, fd >= 0 && read(fd, z, sizeof z) == (ssize_t)sizeof z && z[0] == 0 && z[15] == 0);
    if (fd >= 0)
        close(fd);
    EXPECT(r, link_is("/dev/ptmx", "pts/ptmx"));
    /* sysfs without a network namespace of its own: the host's, read-only */
    struct stat st;
    EXPECT(r, fs_magic("/sys") == SYSFS_MAGIC && fs_ro("/sys") && stat("/sys/kernel", &st) == 0);
    EXPECT(r, reads_empty("/proc/timer_list"));
    EXPECT(r, x->host_kcore ? reads_empty("/proc/kcore") : stat_missing("/proc/kcore"));
    EXPECT(r, open("/proc/sys/kernel/domainname", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
    EXPECT(r, create_fails_erofs("/mnt/ro/newfile"));
    if (x->host_cgroup_v1) {
        EXPECT(r, fs_magic("/sys/fs/cgroup") == TMPFS_MAGIC && fs_ro("/sys/fs/cgroup"));
        EXPECT(r, fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC);
        EXPECT(r, fs_ro("/sys/fs/cgroup/memory"));
    }
    EXPECT(r, fs_magic("/mnt/locked") == TMPFS_MAGIC && create_fails_erofs("/mnt/locked/f"));
    struct statvfs sv;
    EXPECT(r, statvfs("/mnt/locked", &sv) == 0 &&
                  (sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC)) == (ST_NOSUID | ST_NODEV | ST_NOEXEC));
    int m = -1, s = -1;
    struct ct_child_err pe = {0};
    EXPECT(r, ct_child_open_pty(&m, &s, &pe) == 0);
    if (m >= 0)
        close(m);
    if (s >= 0)
        close(s);
    EXPECT(r, !chroot_escape(x->t->host_marker));
}

static void pre_userns_locked(void *arg)
{
    struct ctx *x = arg;
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s/locked", x->t->base);
    mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k");
}

static void rootfs_user_namespace(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct ctx x = {.t = &t, .has_proc = true};
    host_root_dev(&x);
    x.host_kcore = !stat_missing("/proc/kcore");
    x.host_sysrq = !stat_missing("/proc/sysrq-trigger");
    x.host_cgroup_v1 = fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC;
    struct ct_spec *s = spec_new(t.root);
    spec_std_mounts(s, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    spec_mount(s, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL,
               false, false);
    spec_mount(s, "/mnt/ro", NULL, t.src_dir, MS_RDONLY | MS_NOSUID, NULL, true, true);
    /* no cgroup namespace of its own: cgroup mounts fall back to binds of the host's */
    spec_mount(s, "/sys/fs/cgroup", "cgroup", "cgroup",
               MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL, false, false);
    /* a source whose nosuid,nodev,noexec are locked: the "ro" remount must keep them */
    char locked[PATH_MAX];
    pathf(locked, sizeof locked, "%s/locked", t.base);
    CHECK(mkdir(locked, 0755) == 0);
    spec_mount(s, "/mnt/locked", NULL, locked, MS_RDONLY, NULL, true, false);
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/kcore");
    spec_strs(&s->masked_paths, &s->nmasked, "/proc/timer_list");
    spec_strs(&s->readonly_paths, &s->nreadonly, "/proc/sys");
    struct ct_rootfs *plan = NULL;
    struct disco_err err = {0};
    CHECK_EQ(ct_rootfs_prepare(s, true, NULL, &plan, &err), 0);
    if (plan) {
        struct ccase c = {.plan = plan, .userns = true, .newpid = true, .post = post_userns,
                          .pre_userns = pre_userns_locked, .arg = &x};
        char why[600];
        bool ok = run_in_child(&c, why, sizeof why);
        if (!ok)
            printf("  child: %s\n", why);
        CHECK(ok);
    }
    ct_rootfs_free(plan);
    spec_free_hand(s);
    tree_remove(&t);
}

/* Our own peer groups only: with the copies of the host's mounts private,
 * "shared" below cannot reach the host whatever the host's propagation. */
static void pre_private(void *arg)
{
    (void)arg;
    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* Is the mount at mp shared (a "shared:N" optional field in mountinfo)? */
static bool mount_is_shared(const char *mp)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    bool shared = false;
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        char point[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strcmp(point, mp) == 0) {
            char *dash = strstr(line, " - ");
            char *tag = strstr(line, " shared:");
            shared = tag && dash && tag < dash;
        }
    }
    if (f)
        fclose(f);
    return shared;
}

static void post_shared(void *arg, int rc, const struct ct_child_err *e, struct res *r)
{
    struct ctx *x = arg;
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "enter: %s (errno %d)", e->msg, e->err);
        return;
    }
    check_pivoted(x, r);
    EXPECT(r, mount_is_shared("/"));
    EXPECT(r, mount_is_shared("/mnt/shared"));
    EXPECT(r, !mount_is_shared("/mnt/plain"));
}

/* rootfsPropagation "rshared" (pivot_root refuses a shared parent: the
 * plan makes it private) and a per-mount propagation option. */
static void rootfs_shared_propagation(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct ctx x = {.t = &t, .has_proc = true};
    host_root_dev(&x);
    struct ct_spec *s = spec_new(t.root);
    s->rootfs_propagation = MS_SHARED | MS_REC;
    spec_mount(s, "/proc", "proc", "proc", 0, NULL, false, false);
    spec_mount(s, "/mnt/shared", "tmpfs", "tmpfs", 0, NULL, false, false);
    s->mounts[s->nmounts - 1].propagation = MS_SHARED;
    spec_mount(s, "/mnt/plain", "tmpfs", "tmpfs", 0, NULL, false, false);
    s->mounts[s->nmounts - 1].propagation = MS_PRIVATE;
    struct ct_rootfs *plan = NULL;
    struct disco_err err = {0};
    CHECK_EQ(ct_rootfs_prepare(s, false, NULL, &plan, &err), 0);
    if (plan) {
        struct ccase c = {.plan = plan, .newpid = true, .pre = pre_private, .post = post_shared,
                          .arg = &x};
        char why[600];
        bool ok = run_in_child(&c, why, sizeof why);
        if (!ok)
            printf("  child: %s\n", why);
        CHECK(ok);
    }
    ct_rootfs_free(plan);
    spec_free_hand(s);
    tree_remove(&t);
}

static void rootfs_prepare_rejects_bad_input(void)
{
    struct tree t = {0};
    CHECK(tree_make(&t));
    struct disco_err err = {0};
    struct ct_rootfs *plan = (struct ct_rootfs *)1;

    struct ct_spec *s = spec_new("/nonexistent/ct-rootfs");
    CHECK(ct_rootfs_prepare(s, false, NULL, &plan, &err) == -ENOENT);
    CHECK(plan == NULL && strstr(err.msg, "root.path") != NULL);
    spec_free_hand(s);

    s = spec_new(t.root);
    spec_mount(s, "relative/dest", "tmpfs", "tmpfs", 0, NULL, false, false);
    CHECK(ct_rootfs_prepare(s, false, NULL, &plan, &err) == -EINVAL);
    spec_free_hand(s);

    s = spec_new(t.root);
    spec_mount(s, "/mnt/x", NULL, "/nonexistent/source", 0, NULL, true, false);
    CHECK(ct_rootfs_prepare(s, false, NULL, &plan, &err) == -ENOENT);
    CHECK(strstr(err.msg, "/nonexistent/source") != NULL);
    spec_free_hand(s);

    s = spec_new(t.root);
    s->devices = calloc(1, sizeof *s->devices);
    s->ndevices = 1;
    s->devices[0] = (struct ct_device){.path = strdup("/etc/evil"), .type = 'c', .major = 1, .minor = 3};
    CHECK(ct_rootfs_prepare(s, false, NULL, &plan, &err) == -EINVAL);
    spec_free_hand(s);

    s = spec_new(t.root);
    spec_sysctl(s, "../../etc/passwd", "x");
    CHECK(ct_rootfs_prepare(s, false, NULL, &plan, &err) == -EINVAL);
    spec_free_hand(s);

    /* a good one, with a path needing cleaning */
    s = spec_new(t.root);
    spec_mount(s, "//dev/../dev/./shm/", "tmpfs", "shm", 0, NULL, false, false);
    CHECK_EQ(ct_rootfs_prepare(s, false, NULL, &plan, &err), 0);
    ct_rootfs_free(plan);
    spec_free_hand(s);
    tree_remove(&t);
}

int main(void)
{
    if (geteuid() != 0) {
        SKIP(rootfs_all, "needs root");
        return 0;
    }
    RUN(rootfs_prepare_rejects_bad_input);
    RUN(rootfs_control_chroot_escapes);
    RUN(rootfs_full_container);
    RUN(rootfs_cgroup_layout);
    RUN(rootfs_readonly_root);
    RUN(rootfs_symlink_swap);
    RUN(rootfs_user_namespace);
    RUN(rootfs_shared_propagation);
    T_EXIT();
}

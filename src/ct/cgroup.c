/* Container cgroups on v1 (legacy/hybrid) and v2 (unified) hosts; see
 * cgroup.h. Besides the kernel's cgroupfs, a plain directory tree is
 * accepted as a "fake" hierarchy (tests): a top-level cgroup.controllers
 * file makes it v2, subdirectories named after controllers holding a
 * cgroup.procs make it v1. In a fake tree a new directory gets empty copies
 * of its parent's files, the way the kernel populates a new cgroup, and
 * destroy unlinks them before rmdir. */
#define _GNU_SOURCE            /* asprintf */
#include "ct/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_DEFAULT_ROOT "/sys/fs/cgroup"
#define CG_FREEZE_TIMEOUT_NS (5ull * 1000000000ull)
#define CG_RMDIR_TIMEOUT_NS (1000ull * 1000000ull)
#define CG_MAX_DEPTH 64         /* nesting followed when listing / removing */

/* The v1 hierarchies disco uses. */
enum cg_ctrl {
    CG_CPU, CG_CPUACCT, CG_CPUSET, CG_MEMORY, CG_PIDS, CG_BLKIO, CG_DEVICES, CG_FREEZER,
    CG_SYSTEMD,                 /* the named hierarchy name=systemd: joined, no limits */
    CG_NCTRL
};
static const char *const cg_ctrl_names[CG_NCTRL] = {
    "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "name=systemd",
};

/* The v2 controllers enabled for containers, in the order they are
 * written to cgroup.subtree_control. */
static const char *const cg_v2_ctrls[] = { "memory", "cpu", "pids", "io", "cpuset" };
#define CG_V2_NCTRL (sizeof cg_v2_ctrls / sizeof cg_v2_ctrls[0])

struct cg_hier {
    char *mount;                /* root of the hierarchy */
    char *dir;                  /* mount/rel; NULL: the cgroup is not in it (open) */
    unsigned ctrls;             /* bits of enum cg_ctrl (v2: unused) */
    bool fake;                  /* a plain directory tree, not cgroupfs */
    int created_from;           /* ct_cgroup_create: first path component it made, -1: none */
};

struct ct_cgroup {
    enum ct_cgroup_mode mode;
    char *root;                 /* the mount root (for messages) */
    char *rel;                  /* normalised relative path, no leading '/' */
    struct cg_hier h[CG_NCTRL]; /* v2: h[0] only */
    size_t nh;
};

/* ---- small file helpers ---- */

static int path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool file_exists(const char *dir, const char *file)
{
    char p[PATH_MAX];
    return path_join(p, sizeof p, dir, file) == 0 && access(p, F_OK) == 0;
}

static int file_write(const char *dir, const char *file, const char *val, struct disco_err *err)
{
    char p[PATH_MAX];
    if (path_join(p, sizeof p, dir, file))
        return err_set(err, -ENAMETOOLONG, "cgroup file path too long: %s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "cannot write %s to %s", val, p);
    size_t len = strlen(val);
    ssize_t n;
    do
        n = write(fd, val, len);
    while (n < 0 && errno == EINTR);
    int e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
    close(fd);
    if (e)
        return err_errno(err, e, "cannot write %s to %s", val, p);
    return 0;
}

/* The whole file, NUL-terminated, malloc'd. -ENOENT is reported too (the
 * callers that tolerate it test the code). */
static int file_read(const char *dir, const char *file, char **text, struct disco_err *err)
{
    char p[PATH_MAX];
    *text = NULL;
    if (path_join(p, sizeof p, dir, file))
        return err_set(err, -ENAMETOOLONG, "cgroup file path too long: %s/%s", dir, file);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "cannot read %s", p);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return err_set(err, -ENOMEM, "out of memory reading %s", p);
    }
    for (;;) {
        if (cap - len < 2) {
            char *nb = cap > (64u << 20) ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return err_set(err, -ENOMEM, "out of memory reading %s", p);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return err_errno(err, e, "cannot read %s", p);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *text = buf;
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* A number, or "max" (UINT64_MAX). */
static bool parse_u64(const char *s, uint64_t *v)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!strncmp(s, "max", 3) && (s[3] == '\0' || isspace((unsigned char)s[3]))) {
        *v = UINT64_MAX;
        return true;
    }
    if (!isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || (*end && !isspace((unsigned char)*end)))
        return false;
    *v = x;
    return true;
}

/* The value after `key` on the line starting "key " in a flat keyed file
 * (cpu.stat, memory.events, memory.oom_control, cgroup.events...). */
static bool kv_get(const char *text, const char *key, uint64_t *v)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line;) {
        if (!strncmp(line, key, kl) && line[kl] == ' ')
            return parse_u64(line + kl + 1, v);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

/* Read one number file; -ENOENT quietly (optional files). */
static int read_u64(const char *dir, const char *file, uint64_t *v, struct disco_err *err)
{
    char *t;
    int rc = file_read(dir, file, &t, err);
    if (rc)
        return rc;
    bool ok = parse_u64(t, v);
    free(t);
    if (!ok)
        return err_set(err, -EINVAL, "unexpected content in %s/%s", dir, file);
    return 0;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* Short, growing pauses between polls of a kernel state file: a few ms at
 * most, so a state change is seen promptly. */
static void poll_pause(unsigned iteration)
{
    sleep_ns(iteration < 10 ? 200000u : iteration < 50 ? 1000000u : 4000000u);
}

/* ---- relative paths ---- */

/* "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice" (systemd nests slices by
 * their dash-separated prefixes); "-.slice" is the root slice. */
static int expand_slice(const char *slice, const char *orig, char *out, size_t size,
                        struct disco_err *err)
{
    size_t sl = strlen(slice);
    if (sl < 6 || strcmp(slice + sl - 6, ".slice"))
        return err_set(err, -EINVAL, "cgroup path '%s': slice '%s' does not end in .slice", orig, slice);
    out[0] = '\0';
    if (!strcmp(slice, "-.slice"))
        return 0;
    size_t base = sl - 6, used = 0;
    if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--") || memchr(slice, '/', sl))
        return err_set(err, -EINVAL, "cgroup path '%s': bad slice name '%s'", orig, slice);
    for (size_t i = 0; i <= base; i++) {
        if (i != base && slice[i] != '-')
            continue;
        int n = snprintf(out + used, size - used, "%s%.*s.slice", used ? "/" : "", (int)i, slice);
        if (n < 0 || (size_t)n >= size - used)
            return err_set(err, -ENAMETOOLONG, "cgroup path '%s' too long", orig);
        used += (size_t)n;
    }
    return 0;
}

/* The relative path below each hierarchy root, normalised: no leading or
 * doubled '/', no "." or ".." components, not empty. */
static int rel_path_normalise(const char *in, char **out, struct disco_err *err)
{
    char buf[PATH_MAX];
    *out = NULL;
    if (!in || !*in)
        return err_set(err, -EINVAL, "empty cgroup path");
    if (strlen(in) >= sizeof buf)
        return err_set(err, -ENAMETOOLONG, "cgroup path '%.64s...' too long", in);

    const char *c1 = strchr(in, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 && !strchr(c2 + 1, ':') && !strchr(in, '/')) {
        /* systemd form "slice:prefix:name" -> "<slice>/<prefix>-<name>.scope" */
        char slice[PATH_MAX], expanded[PATH_MAX];
        snprintf(slice, sizeof slice, "%.*s", (int)(c1 - in), in);
        const char *prefix = c1 + 1, *name = c2 + 1;
        int plen = (int)(c2 - prefix);
        if (!*name)
            return err_set(err, -EINVAL, "cgroup path '%s': empty name", in);
        int rc = expand_slice(*slice ? slice : "system.slice", in, expanded, sizeof expanded, err);
        if (rc)
            return rc;
        int n = snprintf(buf, sizeof buf, "%s/%.*s%s%s.scope", expanded, plen, prefix,
                         plen ? "-" : "", name);
        if (n < 0 || (size_t)n >= sizeof buf)
            return err_set(err, -ENAMETOOLONG, "cgroup path '%s' too long", in);
    } else {
        snprintf(buf, sizeof buf, "%s", in);
    }

    char norm[PATH_MAX];
    size_t used = 0;
    char *save = NULL;
    for (char *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        if (!strcmp(comp, ".") || !strcmp(comp, ".."))
            return err_set(err, -EINVAL, "cgroup path '%s': '%s' components are not allowed", in, comp);
        int n = snprintf(norm + used, sizeof norm - used, "%s%s", used ? "/" : "", comp);
        if (n < 0 || (size_t)n >= sizeof norm - used)
            return err_set(err, -ENAMETOOLONG, "cgroup path '%s' too long", in);
        used += (size_t)n;
    }
    if (!used)
        return err_set(err, -EINVAL, "cgroup path '%s' names no cgroup", in);
    *out = strdup(norm);
    return *out ? 0 : err_set(err, -ENOMEM, "out of memory");
}

/* ---- layout discovery ---- */

static unsigned ctrl_bit_of(const char *name, size_t len)
{
    if ((len == 7 && !strncmp(name, "systemd", 7)) || (len == 12 && !strncmp(name, "name=systemd", 12)))
        return 1u << CG_SYSTEMD;
    for (int c = 0; c < CG_SYSTEMD; c++)
        if (strlen(cg_ctrl_names[c]) == len && !strncmp(cg_ctrl_names[c], name, len))
            return 1u << c;
    return 0;
}

/* "cpu,cpuacct" -> the bits of both. */
static unsigned ctrls_of_list(const char *list)
{
    unsigned bits = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        bits |= ctrl_bit_of(p, len);
        p += len;
        if (*p == ',')
            p++;
    }
    return bits;
}

/* mountinfo escapes spaces etc. as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* The controllers of the v1 mount at `path`, from its super options in
 * /proc/self/mountinfo (the directory name may be a symlink target or an
 * unusual name); 0 if it is not found there. */
static unsigned mountinfo_ctrls(const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return 0;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return 0;
    unsigned bits = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        *sep = '\0';
        char *save = NULL, *mnt = NULL, *tok = strtok_r(line, " ", &save);
        for (int i = 0; tok && i < 4; i++)
            tok = strtok_r(NULL, " ", &save);
        mnt = tok;
        char *fstype = strtok_r(sep + 3, " ", &save);
        strtok_r(NULL, " ", &save);     /* source */
        char *opts = strtok_r(NULL, " \n", &save);
        if (!mnt || !fstype || !opts || strcmp(fstype, "cgroup"))
            continue;
        unescape_octal(mnt);
        if (!strcmp(mnt, real))
            bits = ctrls_of_list(opts);         /* the last mount on top wins */
    }
    free(line);
    fclose(f);
    return bits;
}

static void cg_clear(struct ct_cgroup *cg)
{
    for (size_t i = 0; i < cg->nh; i++) {
        free(cg->h[i].mount);
        free(cg->h[i].dir);
    }
    free(cg->root);
    free(cg->rel);
    memset(cg, 0, sizeof *cg);
}

static int lowest_bit(unsigned x)
{
    return x ? __builtin_ctz(x) : 32;
}

/* The v1 hierarchies below root: real cgroup mounts (controllers from
 * mountinfo), or for fake trees directories named after controllers. The
 * cgroup2 mount of a hybrid host ("unified") and symlinks ("cpu" ->
 * "cpu,cpuacct") are skipped. */
static int scan_v1(struct ct_cgroup *cg, struct disco_err *err)
{
    DIR *d = opendir(cg->root);
    if (!d)
        return err_errno(err, errno, "cannot list %s", cg->root);
    unsigned claimed = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && cg->nh < CG_NCTRL) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        struct stat st;
        struct statfs sf;
        if (path_join(p, sizeof p, cg->root, de->d_name) || lstat(p, &st) || !S_ISDIR(st.st_mode) ||
            statfs(p, &sf))
            continue;
        unsigned bits;
        bool fake = false;
        if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
            continue;
        } else if ((unsigned long)sf.f_type == CGROUP_SUPER_MAGIC) {
            bits = mountinfo_ctrls(p);
            if (!bits)
                bits = ctrls_of_list(de->d_name);
        } else {
            if (!file_exists(p, "cgroup.procs"))
                continue;
            bits = ctrls_of_list(de->d_name);
            fake = true;
        }
        bits &= ~claimed;
        if (!bits)
            continue;
        struct cg_hier *h = &cg->h[cg->nh];
        memset(h, 0, sizeof *h);
        h->mount = strdup(p);
        if (!h->mount) {
            rc = err_set(err, -ENOMEM, "out of memory");
            break;
        }
        h->ctrls = bits;
        h->fake = fake;
        h->created_from = -1;
        claimed |= bits;
        cg->nh++;
    }
    closedir(d);
    if (rc)
        return rc;
    /* A stable order (by controller) whatever readdir returned. */
    for (size_t i = 1; i < cg->nh; i++)
        for (size_t j = i; j > 0 && lowest_bit(cg->h[j].ctrls) < lowest_bit(cg->h[j - 1].ctrls); j--) {
            struct cg_hier t = cg->h[j];
            cg->h[j] = cg->h[j - 1];
            cg->h[j - 1] = t;
        }
    return 0;
}

/* Fill cg->mode, root and hierarchies (mounts only) for mount_root. */
static int cg_layout(struct ct_cgroup *cg, const char *mount_root, struct disco_err *err)
{
    memset(cg, 0, sizeof *cg);
    cg->root = strdup(mount_root ? mount_root : CG_DEFAULT_ROOT);
    if (!cg->root)
        return err_set(err, -ENOMEM, "out of memory");
    struct statfs sf;
    if (statfs(cg->root, &sf))
        return err_errno(err, errno, "no cgroup hierarchy at %s", cg->root);
    bool v2_real = (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
    /* One v1 hierarchy is not a layout root: its subdirectories are cgroups. */
    if ((unsigned long)sf.f_type == CGROUP_SUPER_MAGIC)
        return err_set(err, -ENOTSUP, "%s is a single cgroup v1 hierarchy, not the cgroup root", cg->root);
    if (v2_real || file_exists(cg->root, "cgroup.controllers")) {
        cg->mode = CT_CGROUP_V2;
        cg->h[0].mount = strdup(cg->root);
        if (!cg->h[0].mount)
            return err_set(err, -ENOMEM, "out of memory");
        cg->h[0].fake = !v2_real;
        cg->h[0].created_from = -1;
        cg->nh = 1;
        return 0;
    }
    int rc = scan_v1(cg, err);
    if (rc)
        return rc;
    if (!cg->nh)
        return err_set(err, -ENOTSUP, "no usable cgroup hierarchy under %s", cg->root);
    cg->mode = CT_CGROUP_V1;
    return 0;
}

enum ct_cgroup_mode ct_cgroup_detect(const char *mount_root)
{
    struct ct_cgroup cg;
    enum ct_cgroup_mode mode = cg_layout(&cg, mount_root, NULL) ? CT_CGROUP_NONE : cg.mode;
    cg_clear(&cg);
    return mode;
}

static int cg_set_dirs(struct ct_cgroup *cg)
{
    for (size_t i = 0; i < cg->nh; i++) {
        if (asprintf(&cg->h[i].dir, "%s/%s", cg->h[i].mount, cg->rel) < 0) {
            cg->h[i].dir = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

static struct cg_hier *hier_of(const struct ct_cgroup *cg, enum cg_ctrl c)
{
    if (cg->mode == CT_CGROUP_V2)
        return cg->nh && cg->h[0].dir ? (struct cg_hier *)&cg->h[0] : NULL;
    for (size_t i = 0; i < cg->nh; i++)
        if ((cg->h[i].ctrls & (1u << c)) && cg->h[i].dir)
            return (struct cg_hier *)&cg->h[i];
    return NULL;
}

static const char *dir_of(const struct ct_cgroup *cg, enum cg_ctrl c)
{
    struct cg_hier *h = hier_of(cg, c);
    return h ? h->dir : NULL;
}

enum ct_cgroup_mode ct_cgroup_mode(const struct ct_cgroup *cg)
{
    return cg ? cg->mode : CT_CGROUP_NONE;
}

const char *ct_cgroup_dir(const struct ct_cgroup *cg, const char *controller)
{
    if (!cg)
        return NULL;
    if (cg->mode == CT_CGROUP_V2)
        return cg->nh ? cg->h[0].dir : NULL;
    if (!controller)
        return NULL;
    unsigned bit = ctrl_bit_of(controller, strlen(controller));
    return bit ? dir_of(cg, (enum cg_ctrl)lowest_bit(bit)) : NULL;
}

bool ct_cgroup_v1_uses(const char *controllers)
{
    return controllers && ctrls_of_list(controllers) != 0;
}

const char *ct_cgroup_dir_at(const struct ct_cgroup *cg, const char *mount_point)
{
    if (!cg || !mount_point)
        return NULL;
    for (size_t i = 0; i < cg->nh; i++)
        if (cg->h[i].mount && cg->h[i].dir && strcmp(cg->h[i].mount, mount_point) == 0)
            return cg->h[i].dir;
    return NULL;
}

/* ---- processes ---- */

static int pids_push(pid_t **pids, size_t *n, size_t *cap, pid_t pid)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        pid_t *np = realloc(*pids, nc * sizeof *np);
        if (!np)
            return -ENOMEM;
        *pids = np;
        *cap = nc;
    }
    (*pids)[(*n)++] = pid;
    return 0;
}

/* cgroup.procs of dir and of every cgroup below it. */
static int procs_collect(const char *dir, int depth, pid_t **pids, size_t *n, size_t *cap,
                         struct disco_err *err)
{
    char *t;
    int rc = file_read(dir, "cgroup.procs", &t, err);
    if (rc == -ENOENT && depth > 0)
        return 0;               /* a child removed meanwhile */
    if (rc)
        return rc;
    for (char *p = t; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (v > 0 && pids_push(pids, n, cap, (pid_t)v)) {
            free(t);
            return err_set(err, -ENOMEM, "out of memory");
        }
        p = end;
    }
    free(t);
    if (depth >= CG_MAX_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT && depth > 0 ? 0 : err_errno(err, errno, "cannot list %s", dir);
    struct dirent *de;
    rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        char p[PATH_MAX];
        struct stat st;
        if (path_join(p, sizeof p, dir, de->d_name) || lstat(p, &st) || !S_ISDIR(st.st_mode))
            continue;
        rc = procs_collect(p, depth + 1, pids, n, cap, err);
    }
    closedir(d);
    return rc;
}

/* The hierarchy whose cgroup.procs lists the container's processes. */
static const char *procs_dir(const struct ct_cgroup *cg)
{
    static const enum cg_ctrl pref[] = { CG_PIDS, CG_FREEZER, CG_MEMORY, CG_CPU, CG_CPUACCT,
                                         CG_CPUSET, CG_BLKIO, CG_DEVICES, CG_SYSTEMD };
    for (size_t i = 0; i < sizeof pref / sizeof pref[0]; i++) {
        const char *d = dir_of(cg, pref[i]);
        if (d)
            return d;
    }
    return NULL;
}

int ct_cgroup_pids(struct ct_cgroup *cg, pid_t **pids, size_t *n, struct disco_err *err)
{
    *pids = NULL;
    *n = 0;
    const char *dir = cg ? procs_dir(cg) : NULL;
    if (!dir)
        return err_set(err, -EINVAL, "no cgroup to list");
    size_t cap = 0;
    int rc = procs_collect(dir, 0, pids, n, &cap, err);
    if (rc) {
        free(*pids);
        *pids = NULL;
        *n = 0;
    }
    return rc;
}

static int populated(const char *dir, bool *yes, struct disco_err *err)
{
    pid_t *pids = NULL;
    size_t n = 0, cap = 0;
    int rc = procs_collect(dir, 0, &pids, &n, &cap, err);
    free(pids);
    *yes = n > 0;
    return rc;
}

/* ---- create / remove directories ---- */

/* Give a fake cgroup the (empty) files of its parent, as the kernel would. */
static int fake_populate(const char *parent, const char *dir, struct disco_err *err)
{
    DIR *d = opendir(parent);
    if (!d)
        return err_errno(err, errno, "cannot list %s", parent);
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        char p[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' || path_join(p, sizeof p, parent, de->d_name) || lstat(p, &st) ||
            !S_ISREG(st.st_mode) || path_join(p, sizeof p, dir, de->d_name))
            continue;
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = err_errno(err, errno, "cannot create %s", p);
        else
            close(fd);
    }
    closedir(d);
    return rc;
}

/* A new v1 cpuset cgroup has empty cpus and mems, and no task can join it
 * until they are set: copy the parent's. */
static int cpuset_inherit(const char *parent, const char *dir, struct disco_err *err)
{
    static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
    for (size_t i = 0; i < 2; i++) {
        char *v;
        int rc = file_read(parent, files[i], &v, err);
        if (rc)
            return rc;
        trim(v);
        rc = *v ? file_write(dir, files[i], v, err) : 0;
        free(v);
        if (rc)
            return rc;
    }
    return 0;
}

/* Remove a cgroup directory and those below it, children first. Kernel
 * cgroups refuse rmdir (EBUSY) while tasks are still attached, which
 * lasts until exited ones are reaped: retried until the deadline. */
static int remove_tree(const char *dir, bool fake, int depth, uint64_t deadline, struct disco_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : err_errno(err, errno, "cannot list %s", dir);
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        char p[PATH_MAX];
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            path_join(p, sizeof p, dir, de->d_name) || lstat(p, &st))
            continue;
        if (S_ISDIR(st.st_mode) && depth < CG_MAX_DEPTH) {
            int r = remove_tree(p, fake, depth + 1, deadline, err);
            if (r && !rc)
                rc = r;
        } else if (fake && unlink(p) && errno != ENOENT && !rc) {
            rc = err_errno(err, errno, "cannot remove %s", p);
        }
    }
    closedir(d);
    if (rc)
        return rc;
    for (unsigned i = 0;; i++) {
        if (!rmdir(dir) || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return err_errno(err, errno, "cannot remove cgroup %s", dir);
        if (mono_ns() >= deadline)
            return err_set(err, -EBUSY, "cannot remove cgroup %s: still populated", dir);
        poll_pause(i);
    }
}

/* Undo ct_cgroup_create's mkdirs (deepest first). */
static void rollback_created(struct ct_cgroup *cg)
{
    size_t depth = 1;
    for (const char *p = cg->rel; *p; p++)
        depth += *p == '/';
    for (size_t i = 0; i < cg->nh; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->created_from < 0 || !h->dir)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s", h->dir);
        for (size_t lvl = depth; lvl > (size_t)h->created_from; lvl--) {
            remove_tree(p, h->fake, 0, mono_ns(), NULL);
            char *slash = strrchr(p, '/');
            if (!slash)
                break;
            *slash = '\0';
        }
        h->created_from = -1;
    }
}

/* mkdir -p of rel in one hierarchy; *leaf_existed says whether the last
 * component was already there. */
static int hier_mkdir(struct ct_cgroup *cg, struct cg_hier *h, bool *leaf_existed, struct disco_err *err)
{
    char cur[PATH_MAX], parent[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", h->mount);
    const char *p = cg->rel;
    for (int lvl = 0; *p; lvl++) {
        size_t len = strcspn(p, "/");
        snprintf(parent, sizeof parent, "%s", cur);
        size_t used = strlen(cur);
        int n = snprintf(cur + used, sizeof cur - used, "/%.*s", (int)len, p);
        if (n < 0 || (size_t)n >= sizeof cur - used)
            return err_set(err, -ENAMETOOLONG, "cgroup path too long: %s/%s", h->mount, cg->rel);
        p += len;
        while (*p == '/')
            p++;
        if (mkdir(cur, 0755) == 0) {
            if (h->created_from < 0)
                h->created_from = lvl;
            int rc = h->fake ? fake_populate(parent, cur, err) : 0;
            if (!rc && cg->mode == CT_CGROUP_V1 && (h->ctrls & (1u << CG_CPUSET)))
                rc = cpuset_inherit(parent, cur, err);
            if (rc)
                return rc;
            *leaf_existed = false;
        } else if (errno == EEXIST) {
            struct stat st;
            if (stat(cur, &st) || !S_ISDIR(st.st_mode))
                return err_set(err, -ENOTDIR, "cannot create cgroup %s: not a directory", cur);
            *leaf_existed = true;
        } else {
            return err_errno(err, errno, "cannot create cgroup %s", cur);
        }
    }
    return 0;
}

static unsigned v2_tokens(const char *text)
{
    unsigned bits = 0;
    for (const char *p = text; *p;) {
        p += strspn(p, " \t\n+");
        size_t len = strcspn(p, " \t\n");
        for (size_t i = 0; i < CG_V2_NCTRL; i++)
            if (strlen(cg_v2_ctrls[i]) == len && !strncmp(cg_v2_ctrls[i], p, len))
                bits |= 1u << i;
        p += len;
    }
    return bits;
}

/* v2: each cgroup's controllers are those its parent enables in
 * cgroup.subtree_control; enable the ones containers use from the root
 * down to the leaf's parent. Only the missing ones are written: enabling
 * in a (non-root) cgroup that has processes is refused with EBUSY, even
 * for controllers already on. */
static int v2_enable(struct ct_cgroup *cg, struct disco_err *err)
{
    char *t;
    int rc = file_read(cg->h[0].mount, "cgroup.controllers", &t, err);
    if (rc)
        return rc;
    unsigned avail = v2_tokens(t);
    free(t);

    char cur[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", cg->h[0].mount);
    for (const char *p = cg->rel; *p && avail;) {
        unsigned have = 0;
        rc = file_read(cur, "cgroup.subtree_control", &t, err);
        if (rc && rc != -ENOENT)
            return rc;
        if (!rc) {
            have = v2_tokens(t);
            free(t);
        }
        unsigned missing = avail & ~have;
        if (missing) {
            char line[128] = "";
            for (size_t i = 0; i < CG_V2_NCTRL; i++)
                if (missing & (1u << i)) {
                    size_t u = strlen(line);
                    snprintf(line + u, sizeof line - u, "%s+%s", u ? " " : "", cg_v2_ctrls[i]);
                }
            rc = file_write(cur, "cgroup.subtree_control", line, err);
            if (rc)
                return rc;
        }
        avail &= have | missing;
        size_t len = strcspn(p, "/");
        if (!p[len])
            break;              /* the leaf itself enables nothing */
        size_t used = strlen(cur);
        snprintf(cur + used, sizeof cur - used, "/%.*s", (int)len, p);
        p += len + 1;
    }
    return 0;
}

static int cg_new(const char *mount_root, const char *rel_path, struct ct_cgroup **out,
                  struct disco_err *err)
{
    *out = NULL;
    struct ct_cgroup *cg = calloc(1, sizeof *cg);
    if (!cg)
        return err_set(err, -ENOMEM, "out of memory");
    int rc = cg_layout(cg, mount_root, err);
    if (!rc)
        rc = rel_path_normalise(rel_path, &cg->rel, err);
    if (!rc && cg_set_dirs(cg))
        rc = err_set(err, -ENOMEM, "out of memory");
    if (rc) {
        cg_clear(cg);
        free(cg);
        return rc;
    }
    *out = cg;
    return 0;
}

int ct_cgroup_create(const char *mount_root, const char *rel_path, const struct ct_resources *res,
                     struct ct_cgroup **out, struct disco_err *err)
{
    struct ct_cgroup *cg;
    *out = NULL;
    int rc = cg_new(mount_root, rel_path, &cg, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < cg->nh && !rc; i++) {
        bool existed = false;
        rc = hier_mkdir(cg, &cg->h[i], &existed, err);
        bool busy = false;
        if (!rc && existed)
            rc = populated(cg->h[i].dir, &busy, err);
        if (!rc && busy)
            rc = err_set(err, -EBUSY, "cgroup %s is in use", cg->h[i].dir);
    }
    if (!rc && cg->mode == CT_CGROUP_V2)
        rc = v2_enable(cg, err);
    if (!rc && res)
        rc = ct_cgroup_update(cg, res, err);
    if (rc) {
        rollback_created(cg);
        ct_cgroup_free(cg);
        return rc;
    }
    *out = cg;
    return 0;
}

int ct_cgroup_open(const char *mount_root, const char *rel_path, struct ct_cgroup **out,
                   struct disco_err *err)
{
    struct ct_cgroup *cg;
    *out = NULL;
    int rc = cg_new(mount_root, rel_path, &cg, err);
    if (rc)
        return rc;
    /* Hierarchies mounted after the container was made do not hold it. */
    size_t found = 0;
    for (size_t i = 0; i < cg->nh; i++) {
        struct stat st;
        if (!stat(cg->h[i].dir, &st) && S_ISDIR(st.st_mode)) {
            found++;
        } else {
            free(cg->h[i].dir);
            cg->h[i].dir = NULL;
        }
    }
    if (!found) {
        rc = err_set(err, -ENOENT, "no cgroup %s under %s", cg->rel, cg->root);
        ct_cgroup_free(cg);
        return rc;
    }
    *out = cg;
    return 0;
}

void ct_cgroup_free(struct ct_cgroup *cg)
{
    if (!cg)
        return;
    cg_clear(cg);
    free(cg);
}

int ct_cgroup_enter(struct ct_cgroup *cg, pid_t pid, struct disco_err *err)
{
    if (!cg || pid <= 0)
        return err_set(err, -EINVAL, "bad cgroup enter of pid %d", (int)pid);
    char v[32];
    snprintf(v, sizeof v, "%d", (int)pid);
    for (size_t i = 0; i < cg->nh; i++) {
        if (!cg->h[i].dir)
            continue;
        int rc = file_write(cg->h[i].dir, "cgroup.procs", v, err);
        if (rc)
            return rc;
    }
    return 0;
}

int ct_cgroup_self_enter_prepare(struct ct_cgroup *cg, struct ct_cgroup_self_enter *se,
                                 struct disco_err *err)
{
    se->v2_fd = -1;
    se->n = 0;
    if (!cg)
        return err_set(err, -EINVAL, "no cgroup to enter");
    for (size_t i = 0; i < cg->nh; i++)
        if (cg->h[i].dir && cg->h[i].fake)
            return err_set(err, -ENOTSUP, "%s is not cgroupfs", cg->h[i].dir);
    if (cg->mode == CT_CGROUP_V2) {
        se->v2_fd = cg->h[0].dir ? open(cg->h[0].dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        if (se->v2_fd < 0)
            return err_errno(err, cg->h[0].dir ? errno : ENOENT, "cannot open cgroup %s",
                             cg->h[0].dir ? cg->h[0].dir : cg->rel);
        return 0;
    }
    for (size_t i = 0; i < cg->nh; i++) {
        if (!cg->h[i].dir)
            continue;
        char p[PATH_MAX];
        int fd = -1;
        if (se->n == CT_CGROUP_SELF_ENTER_MAX || path_join(p, sizeof p, cg->h[i].dir, "tasks") ||
            (fd = open(p, O_WRONLY | O_CLOEXEC)) < 0) {
            int e = se->n == CT_CGROUP_SELF_ENTER_MAX ? E2BIG : fd < 0 ? errno : ENAMETOOLONG;
            ct_cgroup_self_enter_release(se);
            return err_errno(err, e, "cannot open the tasks file of %s", cg->h[i].dir);
        }
        se->tasks_fd[se->n++] = fd;
    }
    return 0;
}

int ct_cgroup_self_enter(const struct ct_cgroup_self_enter *se)
{
    for (size_t i = 0; i < se->n; i++) {
        ssize_t n;
        do
            n = write(se->tasks_fd[i], "0", 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            return n < 0 ? -errno : -EIO;
    }
    return 0;
}

void ct_cgroup_self_enter_release(struct ct_cgroup_self_enter *se)
{
    if (se->v2_fd >= 0)
        close(se->v2_fd);
    se->v2_fd = -1;
    for (size_t i = 0; i < se->n; i++)
        close(se->tasks_fd[i]);
    se->n = 0;
}

/* ---- limits ---- */

static int ctrl_write(struct ct_cgroup *cg, enum cg_ctrl c, const char *file, const char *val,
                      struct disco_err *err)
{
    const char *dir = dir_of(cg, c);
    if (!dir)
        return err_set(err, -ENOTSUP, "cannot set %s: no %s cgroup hierarchy under %s", file,
                       cg_ctrl_names[c], cg->root);
    return file_write(dir, file, val, err);
}

static void fmt_i64(char *buf, size_t size, int64_t v)
{
    snprintf(buf, size, "%" PRId64, v);
}

/* v2 "max" for unlimited (-1), else the number. */
static void fmt_max(char *buf, size_t size, int64_t v)
{
    if (v < 0)
        snprintf(buf, size, "max");
    else
        fmt_i64(buf, size, v);
}

static int v1_memory(struct ct_cgroup *cg, const struct ct_resources *r, struct disco_err *err)
{
    int64_t limit = r->memory_limit, swap = r->memory_swap;
    char v[32];
    int rc;
    if (limit == CT_UNSET && swap == CT_UNSET && r->memory_reservation == CT_UNSET)
        return 0;
    const char *dir = dir_of(cg, CG_MEMORY);
    if (!dir)
        return ctrl_write(cg, CG_MEMORY, limit != CT_UNSET ? "memory.limit_in_bytes"
                                         : "memory.soft_limit_in_bytes", "", err);
    if (swap != CT_UNSET && swap >= 0 && limit != CT_UNSET && limit >= 0 && swap < limit)
        return err_set(err, -EINVAL, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64
                       " (%s)", swap, limit, dir);
    /* Without swap accounting (no memsw file) a swap limit is ignored, as
     * runc does. */
    bool memsw = file_exists(dir, "memory.memsw.limit_in_bytes");
    if (!memsw)
        swap = CT_UNSET;
    /* "unlimited memory" with swap unset means unlimited memory+swap too:
     * the kernel refuses a memory limit above the memsw one. */
    if (memsw && limit == -1 && swap == CT_UNSET)
        swap = -1;
    /* The kernel keeps memsw >= limit at every step: raise memsw before the
     * limit, lower it after. */
    bool swap_first = false;
    if (swap != CT_UNSET) {
        uint64_t cur = 0;
        rc = read_u64(dir, "memory.memsw.limit_in_bytes", &cur, err);
        if (rc)
            return rc;
        swap_first = swap == -1 || (uint64_t)swap > cur;
    }
    for (int step = 0; step < 2; step++) {
        bool do_swap = (step == 0) == swap_first;
        if (do_swap && swap != CT_UNSET) {
            fmt_i64(v, sizeof v, swap);
            rc = file_write(dir, "memory.memsw.limit_in_bytes", v, err);
        } else if (!do_swap && limit != CT_UNSET) {
            fmt_i64(v, sizeof v, limit);
            rc = file_write(dir, "memory.limit_in_bytes", v, err);
        } else {
            rc = 0;
        }
        if (rc)
            return rc;
    }
    if (r->memory_reservation != CT_UNSET) {
        fmt_i64(v, sizeof v, r->memory_reservation);
        rc = file_write(dir, "memory.soft_limit_in_bytes", v, err);
    }
    return rc;
}

static int v1_cpu(struct ct_cgroup *cg, const struct ct_resources *r, struct disco_err *err)
{
    char v[32];
    int rc = 0;
    if (r->cpu_shares) {
        snprintf(v, sizeof v, "%" PRIu64, r->cpu_shares);
        if ((rc = ctrl_write(cg, CG_CPU, "cpu.shares", v, err)))
            return rc;
    }
    char q[32], per[32];
    fmt_i64(q, sizeof q, r->cpu_quota);
    snprintf(per, sizeof per, "%" PRIu64, r->cpu_period);
    if (r->cpu_period) {
        rc = ctrl_write(cg, CG_CPU, "cpu.cfs_period_us", per, err);
        /* A new period can make the current quota invalid for the parent's
         * bandwidth: then the quota goes first. */
        if (rc == -EINVAL && r->cpu_quota != CT_UNSET) {
            if ((rc = ctrl_write(cg, CG_CPU, "cpu.cfs_quota_us", q, err)))
                return rc;
            return ctrl_write(cg, CG_CPU, "cpu.cfs_period_us", per, err);
        }
        if (rc)
            return rc;
    }
    if (r->cpu_quota != CT_UNSET)
        rc = ctrl_write(cg, CG_CPU, "cpu.cfs_quota_us", q, err);
    return rc;
}

static int v1_blkio(struct ct_cgroup *cg, const struct ct_resources *r, struct disco_err *err)
{
    char v[64];
    int rc;
    if (r->blkio_weight) {
        const char *dir = dir_of(cg, CG_BLKIO);
        if (!dir)
            return ctrl_write(cg, CG_BLKIO, "blkio.weight", "", err);
        /* CFQ's blkio.weight is gone from current kernels; BFQ has its own. */
        const char *file = file_exists(dir, "blkio.weight") ? "blkio.weight"
                           : file_exists(dir, "blkio.bfq.weight") ? "blkio.bfq.weight" : NULL;
        if (!file)
            return err_set(err, -ENOTSUP, "cannot set blkio weight %u: neither blkio.weight nor "
                           "blkio.bfq.weight in %s", r->blkio_weight, dir);
        snprintf(v, sizeof v, "%u", r->blkio_weight);
        if ((rc = file_write(dir, file, v, err)))
            return rc;
    }
    const struct { const char *file; const struct ct_throttle *t; size_t n; } th[] = {
        { "blkio.throttle.read_bps_device", r->read_bps, r->nread_bps },
        { "blkio.throttle.write_bps_device", r->write_bps, r->nwrite_bps },
        { "blkio.throttle.read_iops_device", r->read_iops, r->nread_iops },
        { "blkio.throttle.write_iops_device", r->write_iops, r->nwrite_iops },
    };
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < th[i].n; j++) {
            snprintf(v, sizeof v, "%u:%u %" PRIu64, th[i].t[j].major, th[i].t[j].minor, th[i].t[j].rate);
            if ((rc = ctrl_write(cg, CG_BLKIO, th[i].file, v, err)))
                return rc;
        }
    return 0;
}

static void fmt_devnum(char *buf, size_t size, int64_t v)
{
    if (v < 0)
        snprintf(buf, size, "*");
    else
        fmt_i64(buf, size, v);
}

/* runc's AllowedDevices: configs (runc spec, podman, libdisco's) deny
 * everything and count on the runtime to allow the standard nodes, the
 * ptys, tun and mknod; they are allowed after the config's own rules. */
static const struct ct_device_rule default_device_rules[] = {
    {true, 'c', -1, -1, "m"},     /* mknod of anything; using it is what counts */
    {true, 'b', -1, -1, "m"},
    {true, 'c', 1, 3, "rwm"},     /* null */
    {true, 'c', 1, 5, "rwm"},     /* zero */
    {true, 'c', 1, 7, "rwm"},     /* full */
    {true, 'c', 1, 8, "rwm"},     /* random */
    {true, 'c', 1, 9, "rwm"},     /* urandom */
    {true, 'c', 5, 0, "rwm"},     /* tty */
    {true, 'c', 5, 2, "rwm"},     /* ptmx */
    {true, 'c', 136, -1, "rwm"},  /* pts */
    {true, 'c', 10, 200, "rwm"},  /* net/tun */
};

static int v1_device_rule(struct ct_cgroup *cg, const struct ct_device_rule *d,
                          struct disco_err *err)
{
    if (d->type != 'a' && d->type != 'c' && d->type != 'b')
        return err_set(err, -EINVAL, "bad device rule type '%c'", d->type);
    char maj[24], min[24], line[80];
    fmt_devnum(maj, sizeof maj, d->major);
    fmt_devnum(min, sizeof min, d->minor);
    const char *access = d->access[0] ? d->access : "rwm";
    snprintf(line, sizeof line, "%c %s:%s %.3s", d->type, maj, min, access);
    return ctrl_write(cg, CG_DEVICES, d->allow ? "devices.allow" : "devices.deny", line, err);
}

static int v1_devices(struct ct_cgroup *cg, const struct ct_resources *r, struct disco_err *err)
{
    if (!r->ndevices)
        return 0;
    /* Start from nothing allowed, then apply the rules in order, then the
     * nodes every container gets. */
    int rc = ctrl_write(cg, CG_DEVICES, "devices.deny", "a", err);
    for (size_t i = 0; i < r->ndevices && !rc; i++)
        rc = v1_device_rule(cg, &r->devices[i], err);
    size_t nd = sizeof default_device_rules / sizeof default_device_rules[0];
    for (size_t i = 0; i < nd && !rc; i++)
        rc = v1_device_rule(cg, &default_device_rules[i], err);
    return rc;
}

static int v1_apply(struct ct_cgroup *cg, const struct ct_resources *r, struct disco_err *err)
{
    char v[32];
    int rc = v1_memory(cg, r, err);
    if (!rc)
        rc = v1_cpu(cg, r, err);
    if (!rc && r->cpuset_cpus)
        rc = ctrl_write(cg, CG_CPUSET, "cpuset.cpus", r->cpuset_cpus, err);
    if (!rc && r->cpuset_mems)
        rc = ctrl_write(cg, CG_CPUSET, "cpuset.mems", r->cpuset_mems, err);
    if (!rc && r->pids_limit != CT_UNSET) {
        fmt_max(v, sizeof v, r->pids_limit <= 0 ? -1 : r->pids_limit);
        rc = ctrl_write(cg, CG_PIDS, "pids.max", v, err);
    }
    if (!rc)
        rc = v1_blkio(cg, r, err);
    if (!rc)
        rc = v1_devices(cg, r, err);
    return rc;
}

/* runc's conversion of the v1 memory+swap value to v2's swap-only one. */
static int v2_swap_value(const struct ct_resources *r, int64_t *out, struct disco_err *err)
{
    int64_t mem = r->memory_limit, swap = r->memory_swap;
    if (mem == -1 && swap == CT_UNSET) {
        *out = -1;              /* unlimited memory: unlimited swap too */
        return 0;
    }
    if (swap == CT_UNSET || swap == -1) {
        *out = swap;
        return 0;
    }
    if (mem == CT_UNSET || mem < 0)
        return err_set(err, -EINVAL, "cannot set a swap limit (%" PRId64 ") without a memory limit", swap);
    if (swap < mem)
        return err_set(err, -EINVAL, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64,
                       swap, mem);
    *out = swap - mem;
    return 0;
}

static int v2_apply(struct ct_cgroup *cg, const struct ct_resources *r, struct disco_err *err)
{
    const char *dir = cg->h[0].dir;
    char v[128];
    int64_t swap = CT_UNSET;
    int rc = v2_swap_value(r, &swap, err);     /* checked before anything is written */
    if (rc)
        return rc;
    if (r->memory_limit != CT_UNSET) {
        fmt_max(v, sizeof v, r->memory_limit);
        if ((rc = file_write(dir, "memory.max", v, err)))
            return rc;
    }
    if (r->memory_reservation != CT_UNSET) {
        fmt_max(v, sizeof v, r->memory_reservation);
        if ((rc = file_write(dir, "memory.low", v, err)))
            return rc;
    }
    /* Without swap accounting there is no memory.swap.max: ignored. */
    if (swap != CT_UNSET && file_exists(dir, "memory.swap.max")) {
        fmt_max(v, sizeof v, swap);
        if ((rc = file_write(dir, "memory.swap.max", v, err)))
            return rc;
    }
    if (r->cpu_shares) {
        uint64_t s = r->cpu_shares < 2 ? 2 : r->cpu_shares > 262144 ? 262144 : r->cpu_shares;
        snprintf(v, sizeof v, "%" PRIu64, 1 + ((s - 2) * 9999) / 262142);
        if ((rc = file_write(dir, "cpu.weight", v, err)))
            return rc;
    }
    if (r->cpu_quota != CT_UNSET || r->cpu_period) {
        /* cpu.max holds both: the one not given keeps its current value. */
        char *cur = NULL;
        char quota[32] = "max";
        uint64_t period = 100000;
        if (file_read(dir, "cpu.max", &cur, NULL) == 0) {
            char cq[32];
            uint64_t cp;
            if (sscanf(cur, "%31s %" SCNu64, cq, &cp) == 2) {
                snprintf(quota, sizeof quota, "%s", cq);
                period = cp;
            }
            free(cur);
        }
        if (r->cpu_quota != CT_UNSET)
            fmt_max(quota, sizeof quota, r->cpu_quota);
        if (r->cpu_period)
            period = r->cpu_period;
        snprintf(v, sizeof v, "%s %" PRIu64, quota, period);
        if ((rc = file_write(dir, "cpu.max", v, err)))
            return rc;
    }
    if (r->cpuset_cpus && (rc = file_write(dir, "cpuset.cpus", r->cpuset_cpus, err)))
        return rc;
    if (r->cpuset_mems && (rc = file_write(dir, "cpuset.mems", r->cpuset_mems, err)))
        return rc;
    if (r->pids_limit != CT_UNSET) {
        fmt_max(v, sizeof v, r->pids_limit <= 0 ? -1 : r->pids_limit);
        if ((rc = file_write(dir, "pids.max", v, err)))
            return rc;
    }
    if (r->blkio_weight) {
        uint64_t w = r->blkio_weight < 10 ? 10 : r->blkio_weight > 1000 ? 1000 : r->blkio_weight;
        if (file_exists(dir, "io.weight") || !file_exists(dir, "io.bfq.weight")) {
            snprintf(v, sizeof v, "default %" PRIu64, 1 + (w - 10) * 9999 / 990);
            rc = file_write(dir, "io.weight", v, err);
        } else {
            /* BFQ's weight keeps the v1 range. */
            snprintf(v, sizeof v, "%" PRIu64, w);
            rc = file_write(dir, "io.bfq.weight", v, err);
        }
        if (rc)
            return rc;
    }
    const struct { const char *key; const struct ct_throttle *t; size_t n; } th[] = {
        { "rbps", r->read_bps, r->nread_bps },
        { "wbps", r->write_bps, r->nwrite_bps },
        { "riops", r->read_iops, r->nread_iops },
        { "wiops", r->write_iops, r->nwrite_iops },
    };
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < th[i].n; j++) {
            snprintf(v, sizeof v, "%u:%u %s=%" PRIu64, th[i].t[j].major, th[i].t[j].minor, th[i].key,
                     th[i].t[j].rate);
            if ((rc = file_write(dir, "io.max", v, err)))
                return rc;
        }
    /* linux.resources.devices is not applied on v2: it would need an eBPF
     * program attached to the cgroup (BPF_CGROUP_DEVICE); the container only
     * gets the device nodes disco creates in its /dev. */
    return 0;
}

int ct_cgroup_update(struct ct_cgroup *cg, const struct ct_resources *res, struct disco_err *err)
{
    if (!cg)
        return err_set(err, -EINVAL, "no cgroup to update");
    if (!res)
        return 0;
    /* Zero means unset for these, as in the OCI spec (runc alike). */
    struct ct_resources r = *res;
    int64_t *unset_if_zero[] = { &r.memory_limit, &r.memory_reservation, &r.memory_swap, &r.cpu_quota };
    for (size_t i = 0; i < sizeof unset_if_zero / sizeof unset_if_zero[0]; i++)
        if (*unset_if_zero[i] == 0)
            *unset_if_zero[i] = CT_UNSET;
    return cg->mode == CT_CGROUP_V2 ? v2_apply(cg, &r, err) : v1_apply(cg, &r, err);
}

/* ---- freezer ---- */

/* v1: freezer.state reads FROZEN / FREEZING / THAWED; v2: cgroup.events
 * has "frozen 0|1". *state: 1 frozen, 0 thawed, -1 in between. */
static int freezer_state(struct ct_cgroup *cg, int *state, struct disco_err *err)
{
    char *t;
    int rc;
    if (cg->mode == CT_CGROUP_V2) {
        if ((rc = file_read(cg->h[0].dir, "cgroup.events", &t, err)))
            return rc;
        uint64_t f = 0;
        bool ok = kv_get(t, "frozen", &f);
        free(t);
        if (!ok)
            return err_set(err, -EINVAL, "no frozen line in %s/cgroup.events", cg->h[0].dir);
        *state = f ? 1 : 0;
        return 0;
    }
    const char *dir = dir_of(cg, CG_FREEZER);
    if (!dir)
        return err_set(err, -ENOTSUP, "no freezer cgroup hierarchy under %s", cg->root);
    if ((rc = file_read(dir, "freezer.state", &t, err)))
        return rc;
    trim(t);
    *state = !strcmp(t, "FROZEN") ? 1 : !strcmp(t, "THAWED") ? 0 : -1;
    free(t);
    return 0;
}

static int freezer_request(struct ct_cgroup *cg, bool frozen, struct disco_err *err)
{
    if (cg->mode == CT_CGROUP_V2)
        return file_write(cg->h[0].dir, "cgroup.freeze", frozen ? "1" : "0", err);
    return ctrl_write(cg, CG_FREEZER, "freezer.state", frozen ? "FROZEN" : "THAWED", err);
}

int ct_cgroup_freeze(struct ct_cgroup *cg, bool frozen, struct disco_err *err)
{
    if (!cg)
        return err_set(err, -EINVAL, "no cgroup to freeze");
    int rc = freezer_request(cg, frozen, err);
    if (rc)
        return rc;
    uint64_t deadline = mono_ns() + CG_FREEZE_TIMEOUT_NS;
    for (unsigned i = 0;; i++) {
        int state;
        if ((rc = freezer_state(cg, &state, err)))
            return rc;
        if (state == (frozen ? 1 : 0))
            return 0;
        if (mono_ns() >= deadline)
            return err_set(err, -ETIMEDOUT, "cgroup %s did not become %s within 5 s",
                           cg->rel, frozen ? "frozen" : "thawed");
        /* v1 freezing can stall on a task that forks or sleeps
         * uninterruptibly; asking again retries the stragglers. */
        if (cg->mode == CT_CGROUP_V1 && i % 50 == 49 && (rc = freezer_request(cg, frozen, err)))
            return rc;
        poll_pause(i);
    }
}

bool ct_cgroup_frozen(struct ct_cgroup *cg)
{
    int state = 0;
    return cg && freezer_state(cg, &state, NULL) == 0 && state == 1;
}

/* What was asked (not what is reached yet): v1 anything but THAWED, v2
 * cgroup.freeze 1. */
static bool freeze_requested(struct ct_cgroup *cg)
{
    if (cg->mode == CT_CGROUP_V2) {
        uint64_t v = 0;
        return read_u64(cg->h[0].dir, "cgroup.freeze", &v, NULL) == 0 && v == 1;
    }
    int state = 0;
    return freezer_state(cg, &state, NULL) == 0 && state != 0;
}

static bool has_freezer(struct ct_cgroup *cg)
{
    if (cg->mode == CT_CGROUP_V2)
        return file_exists(cg->h[0].dir, "cgroup.freeze");
    return dir_of(cg, CG_FREEZER) != NULL;
}

int ct_cgroup_signal_all(struct ct_cgroup *cg, int sig, struct disco_err *err)
{
    if (!cg)
        return err_set(err, -EINVAL, "no cgroup to signal");
    /* Frozen while listing and signalling, so nothing forks past the list
     * (runc does the same). A cgroup the user paused stays paused unless
     * the signal is SIGKILL, which only lands once thawed. */
    bool freezer = has_freezer(cg);
    bool was_frozen = freezer && freeze_requested(cg);
    bool attempt = freezer && !was_frozen;
    int frc = attempt ? ct_cgroup_freeze(cg, true, NULL) : 0;
    pid_t *pids;
    size_t n;
    int rc = ct_cgroup_pids(cg, &pids, &n, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (kill(pids[i], sig) && errno != ESRCH)
            rc = err_errno(err, errno, "cannot send signal %d to pid %d of cgroup %s", sig, (int)pids[i],
                           cg->rel);
    free(pids);
    if (attempt || (was_frozen && sig == SIGKILL)) {
        /* A thaw after a freeze that failed (a stuck task) is best effort. */
        bool report = !rc && frc == 0;
        int trc = ct_cgroup_freeze(cg, false, report ? err : NULL);
        if (report)
            rc = trc;
    }
    return rc;
}

/* ---- statistics ---- */

/* Missing files (a controller not enabled, an older kernel) leave the
 * fields at their defaults. */
static int stat_u64(const char *dir, const char *file, uint64_t *v, struct disco_err *err)
{
    if (!dir)
        return 0;
    int rc = read_u64(dir, file, v, err);
    if (rc == -ENOENT) {
        err_clear(err);
        return 0;
    }
    return rc;
}

static int stat_text(const char *dir, const char *file, char **t, struct disco_err *err)
{
    *t = NULL;
    if (!dir)
        return 0;
    int rc = file_read(dir, file, t, err);
    if (rc == -ENOENT) {
        err_clear(err);
        return 0;
    }
    return rc;
}

static int v1_stats(struct ct_cgroup *cg, struct ct_cgroup_stats *st, struct disco_err *err)
{
    const char *mem = dir_of(cg, CG_MEMORY), *acct = dir_of(cg, CG_CPUACCT), *cpu = dir_of(cg, CG_CPU);
    const char *pids = dir_of(cg, CG_PIDS), *blk = dir_of(cg, CG_BLKIO);
    char *t;
    int rc;
    if ((rc = stat_u64(mem, "memory.usage_in_bytes", &st->memory_current, err)) ||
        (rc = stat_u64(mem, "memory.limit_in_bytes", &st->memory_max, err)) ||
        (rc = stat_u64(mem, "memory.max_usage_in_bytes", &st->memory_peak, err)) ||
        (rc = stat_u64(mem, "memory.failcnt", &st->memory_failcnt, err)))
        return rc;
    /* The "unlimited" page counter is just below 2^63. */
    if (st->memory_max >= (1ull << 62))
        st->memory_max = UINT64_MAX;
    if ((rc = stat_text(mem, "memory.oom_control", &t, err)))
        return rc;
    if (t)
        kv_get(t, "oom_kill", &st->memory_oom_kills);
    free(t);

    if ((rc = stat_u64(acct, "cpuacct.usage", &st->cpu_usage_ns, err)) ||
        (rc = stat_text(acct, "cpuacct.stat", &t, err)))
        return rc;
    if (t) {
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ticks;
        if (hz <= 0)
            hz = 100;
        if (kv_get(t, "user", &ticks))
            st->cpu_user_ns = ticks * (1000000000u / (uint64_t)hz);
        if (kv_get(t, "system", &ticks))
            st->cpu_system_ns = ticks * (1000000000u / (uint64_t)hz);
        free(t);
    }
    if ((rc = stat_text(cpu, "cpu.stat", &t, err)))
        return rc;
    if (t) {
        kv_get(t, "nr_throttled", &st->cpu_nr_throttled);
        kv_get(t, "throttled_time", &st->cpu_throttled_ns);
        free(t);
    }
    if ((rc = stat_u64(pids, "pids.current", &st->pids_current, err)) ||
        (rc = stat_u64(pids, "pids.max", &st->pids_max, err)))
        return rc;

    /* "MAJ:MIN Read N" lines per device (and a "Total" line). */
    const char *f = blk && file_exists(blk, "blkio.throttle.io_service_bytes_recursive")
                        ? "blkio.throttle.io_service_bytes_recursive" : "blkio.throttle.io_service_bytes";
    if ((rc = stat_text(blk, f, &t, err)))
        return rc;
    for (char *line = t; line && *line;) {
        char dev[64], op[16];
        uint64_t val;
        if (sscanf(line, "%63s %15s %" SCNu64, dev, op, &val) == 3) {
            if (!strcmp(op, "Read"))
                st->io_read_bytes += val;
            else if (!strcmp(op, "Write"))
                st->io_write_bytes += val;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    free(t);
    return 0;
}

static int v2_stats(struct ct_cgroup *cg, struct ct_cgroup_stats *st, struct disco_err *err)
{
    const char *dir = cg->h[0].dir;
    char *t;
    int rc;
    if ((rc = stat_u64(dir, "memory.current", &st->memory_current, err)) ||
        (rc = stat_u64(dir, "memory.max", &st->memory_max, err)) ||
        (rc = stat_u64(dir, "memory.peak", &st->memory_peak, err)) ||
        (rc = stat_text(dir, "memory.events", &t, err)))
        return rc;
    if (t) {
        kv_get(t, "oom_kill", &st->memory_oom_kills);
        kv_get(t, "max", &st->memory_failcnt);
        free(t);
    }
    if ((rc = stat_text(dir, "cpu.stat", &t, err)))
        return rc;
    if (t) {
        uint64_t us;
        if (kv_get(t, "usage_usec", &us))
            st->cpu_usage_ns = us * 1000;
        if (kv_get(t, "user_usec", &us))
            st->cpu_user_ns = us * 1000;
        if (kv_get(t, "system_usec", &us))
            st->cpu_system_ns = us * 1000;
        kv_get(t, "nr_throttled", &st->cpu_nr_throttled);
        if (kv_get(t, "throttled_usec", &us))
            st->cpu_throttled_ns = us * 1000;
        free(t);
    }
    if ((rc = stat_u64(dir, "pids.current", &st->pids_current, err)) ||
        (rc = stat_u64(dir, "pids.max", &st->pids_max, err)) ||
        (rc = stat_text(dir, "io.stat", &t, err)))
        return rc;
    /* "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device. */
    for (char *p = t; p && *p;) {
        size_t len = strcspn(p, " \n");
        uint64_t v;
        if (len > 7 && !strncmp(p, "rbytes=", 7) && parse_u64(p + 7, &v))
            st->io_read_bytes += v;
        else if (len > 7 && !strncmp(p, "wbytes=", 7) && parse_u64(p + 7, &v))
            st->io_write_bytes += v;
        p += len;
        p += strspn(p, " \n");
    }
    free(t);
    return 0;
}

int ct_cgroup_stats(struct ct_cgroup *cg, struct ct_cgroup_stats *st, struct disco_err *err)
{
    memset(st, 0, sizeof *st);
    st->memory_max = UINT64_MAX;
    st->pids_max = UINT64_MAX;
    if (!cg)
        return err_set(err, -EINVAL, "no cgroup for stats");
    return cg->mode == CT_CGROUP_V2 ? v2_stats(cg, st, err) : v1_stats(cg, st, err);
}

int ct_cgroup_destroy(struct ct_cgroup *cg, struct disco_err *err)
{
    if (!cg)
        return 0;
    uint64_t deadline = mono_ns() + CG_RMDIR_TIMEOUT_NS;
    int rc = 0;
    for (size_t i = 0; i < cg->nh; i++) {
        if (!cg->h[i].dir)
            continue;
        int r = remove_tree(cg->h[i].dir, cg->h[i].fake, 0, deadline, rc ? NULL : err);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

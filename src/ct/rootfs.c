/* The container's root file system: a plan prepared by the parent (every
 * path joined, every bind source stat'ed, the host's cgroup layout read) and
 * entered by the child with system calls only (ct/child.h).
 *
 * Mount targets are resolved with openat2(rootfd, ..., RESOLVE_IN_ROOT) and
 * mounted onto /proc/self/fd/N: a symlink anywhere on the way to a target
 * (rootfs/dev/console -> /etc/shadow of the host, or rootfs/mnt -> /) is
 * resolved as if the rootfs were "/", so no mount can land outside it. */
#define _GNU_SOURCE
#include "ct/rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum rf_kind {
    RF_MOUNT,           /* mount(source, target, type, flags, data) */
    RF_BIND,            /* bind source onto target, remount with flags */
    RF_SYMLINK,         /* target -> link (comounted v1 cgroup controllers) */
};

struct rf_mount {
    enum rf_kind kind;
    const char *dest;           /* absolute, cleaned: "/dev/pts" */
    const char *source;         /* mount(2) source; RF_BIND: host path */
    const char *type;           /* RF_MOUNT only */
    const char *data;
    const char *link;           /* RF_SYMLINK: the link's contents */
    unsigned long flags;        /* RF_BIND: applied by the remount */
    unsigned long propagation;  /* 0: none */
    bool recursive;             /* RF_BIND: rbind */
    bool target_is_file;        /* bind of a non-directory: an empty file as target */
    bool defer_ro;              /* tmpfs asked ro: mounted rw, remounted ro once filled */
    const char *fallback_bind;  /* in a userns, EPERM: rbind this host path read-only */
};

struct rf_dev {
    const char *path;           /* absolute, cleaned: "/dev/null" (also the host node) */
    const char *dir, *name;     /* "/dev", "null" */
    mode_t mode;                /* S_IFCHR|0666, ... */
    dev_t rdev;
    uid_t uid;
    gid_t gid;
};

struct rf_sysctl {
    const char *path;           /* "/proc/sys/net/ipv4/ip_forward" */
    const char *value;
    size_t len;
};

struct ct_rootfs {
    const char *root;           /* realpath of root.path */
    const char *root_parent_mnt;    /* mount point holding the root: made private for pivot_root */
    unsigned long root_propagation; /* applied to "/" first (rslave by default) */
    unsigned long final_propagation;/* the spec's rootfsPropagation, set again on "/" after pivot */
    bool in_userns, readonly_root, setup_dev, has_proc;
    struct rf_mount *mounts;
    size_t nmounts, cap_mounts;
    struct rf_dev *devs;
    size_t ndevs;
    struct rf_sysctl *sysctls;
    size_t nsysctls;
    const char **masked, **readonly;
    size_t nmasked, nreadonly;
    char **owned;               /* every string the plan allocated */
    size_t nowned, cap_owned;
};

/* ---- parent: building the plan ---- */

static char *own(struct ct_rootfs *r, char *s)
{
    if (!s)
        return NULL;
    if (r->nowned == r->cap_owned) {
        size_t cap = r->cap_owned ? r->cap_owned * 2 : 32;
        char **v = realloc(r->owned, cap * sizeof *v);
        if (!v) {
            free(s);
            return NULL;
        }
        r->owned = v;
        r->cap_owned = cap;
    }
    r->owned[r->nowned++] = s;
    return s;
}

/* "/a//b/./c/../d" -> "/a/b/d"; ".." stops at "/" (as filepath.Clean does
 * for runc). NULL: not absolute or no memory. */
static char *clean_abs(struct ct_rootfs *r, const char *p)
{
    if (!p || p[0] != '/')
        return NULL;
    size_t n = strlen(p);
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *c = s;
        while (*s && *s != '/')
            s++;
        size_t len = (size_t)(s - c);
        if (len == 0 || (len == 1 && c[0] == '.'))
            continue;
        if (len == 2 && c[0] == '.' && c[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, c, len);
        o += len;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return own(r, out);
}

static char *join(struct ct_rootfs *r, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    size_t o = na;
    if (o == 0 || s[o - 1] != '/')
        s[o++] = '/';
    memcpy(s + o, b, nb + 1);
    return own(r, s);
}

static struct rf_mount *add_mount(struct ct_rootfs *r)
{
    if (r->nmounts == r->cap_mounts) {
        size_t cap = r->cap_mounts ? r->cap_mounts * 2 : 16;
        struct rf_mount *v = realloc(r->mounts, cap * sizeof *v);
        if (!v)
            return NULL;
        r->mounts = v;
        r->cap_mounts = cap;
    }
    struct rf_mount *m = &r->mounts[r->nmounts++];
    memset(m, 0, sizeof *m);
    return m;
}

/* mountinfo escapes ' ', '\t', '\n', '\\' as \ooo. In place. */
static void unescape_octal(char *s)
{
    char *o = s;
    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
}

struct mountinfo_line {
    char *mount_point, *mount_opts, *fstype, *super_opts;
};

/* Split one line of /proc/self/mountinfo in place. */
static bool parse_mountinfo_line(char *line, struct mountinfo_line *mi)
{
    char *save = NULL, *f[6] = {0};
    char *tok = strtok_r(line, " \n", &save);
    for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " \n", &save))
        f[i] = tok;
    if (!f[5])
        return false;
    /* optional fields until "-" */
    while (tok && strcmp(tok, "-") != 0)
        tok = strtok_r(NULL, " \n", &save);
    if (!tok)
        return false;
    char *fstype = strtok_r(NULL, " \n", &save);
    char *source = strtok_r(NULL, " \n", &save);
    char *super = strtok_r(NULL, " \n", &save);
    if (!fstype || !source)
        return false;
    mi->mount_point = f[4];
    mi->mount_opts = f[5];
    mi->fstype = fstype;
    mi->super_opts = super ? super : "";
    unescape_octal(mi->mount_point);
    return true;
}

static bool has_opt(const char *opts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = opts; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

/* super options minus rw/ro: what mount(2) takes as data ("memory", "name=systemd"). */
static char *cgroup_data(struct ct_rootfs *r, const char *super)
{
    char *d = malloc(strlen(super) + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    for (const char *p = super; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len && !(len == 2 && (memcmp(p, "rw", 2) == 0 || memcmp(p, "ro", 2) == 0))) {
            if (o)
                d[o++] = ',';
            memcpy(d + o, p, len);
            o += len;
        }
        p = c ? c + 1 : p + len;
    }
    d[o] = '\0';
    return own(r, d);
}

static bool path_has_prefix(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strcmp(dir, "/") == 0)
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The host's cgroup mounts under /sys/fs/cgroup, one entry each, in the
 * order mountinfo lists them. v2 host: a single cgroup2 mount. */
static int plan_cgroup(struct ct_rootfs *r, const struct ct_mount *sm, const char *dest,
                       const struct ct_cgroup *mine, struct disco_err *err)
{
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        struct rf_mount *m = add_mount(r);
        if (!m)
            return err_set(err, -ENOMEM, "out of memory");
        const char *own_dir = ct_cgroup_dir_at(mine, "/sys/fs/cgroup");
        if (own_dir) {
            m->kind = RF_BIND;
            m->dest = dest;
            m->source = own_dir;
            m->flags = sm->flags;
            m->propagation = sm->propagation;
            return 0;
        }
        m->kind = RF_MOUNT;
        m->dest = dest;
        m->source = "cgroup";
        m->type = "cgroup2";
        m->flags = sm->flags;
        m->propagation = sm->propagation;
        m->fallback_bind = "/sys/fs/cgroup";
        return 0;
    }

    /* v1 / hybrid: a tmpfs holding one mount per hierarchy. */
    struct rf_mount *m = add_mount(r);
    if (!m)
        return err_set(err, -ENOMEM, "out of memory");
    m->kind = RF_MOUNT;
    m->dest = dest;
    m->source = "tmpfs";
    m->type = "tmpfs";
    m->data = "mode=755";
    m->flags = sm->flags;
    m->defer_ro = (sm->flags & MS_RDONLY) != 0;
    m->propagation = sm->propagation;

    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return err_errno(err, errno, "open /proc/self/mountinfo");
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    size_t first = r->nmounts;
    while (rc == 0 && getline(&line, &cap, f) > 0) {
        struct mountinfo_line mi;
        if (!parse_mountinfo_line(line, &mi))
            continue;
        bool v1 = strcmp(mi.fstype, "cgroup") == 0;
        if (!v1 && strcmp(mi.fstype, "cgroup2") != 0)
            continue;
        if (!path_has_prefix(mi.mount_point, "/sys/fs/cgroup") ||
            strcmp(mi.mount_point, "/sys/fs/cgroup") == 0)
            continue;
        const char *base = mi.mount_point + strlen("/sys/fs/cgroup/");
        if (strchr(base, '/'))
            continue;
        bool dup = false;
        for (size_t i = first; i < r->nmounts; i++)
            if (strcmp(r->mounts[i].dest + strlen(dest) + (strcmp(dest, "/") != 0), base) == 0)
                dup = true;
        if (dup)
            continue;
        /* Without a cgroup namespace: only the container's own directory
         * (hierarchies it is not in, like a hybrid host's empty unified
         * one, stay out, as in runc). */
        const char *own_dir = mine ? ct_cgroup_dir_at(mine, mi.mount_point) : NULL;
        if (mine && !own_dir)
            continue;
        char *sub = join(r, dest, base);
        char *host = own(r, strdup(own_dir ? own_dir : mi.mount_point));
        char *data = v1 && !own_dir ? cgroup_data(r, mi.super_opts) : NULL;
        struct rf_mount *c = add_mount(r);
        if (!sub || !host || (v1 && !own_dir && !data) || !c) {
            rc = err_set(err, -ENOMEM, "out of memory");
            break;
        }
        c->dest = sub;
        c->flags = sm->flags | (has_opt(mi.mount_opts, "ro") ? MS_RDONLY : 0);
        if (own_dir) {
            c->kind = RF_BIND;
            c->source = host;
        } else {
            c->kind = RF_MOUNT;
            c->source = "cgroup";
            c->type = v1 ? "cgroup" : "cgroup2";
            c->data = data && *data ? data : NULL;
            c->fallback_bind = host;
        }
        /* "cpu,cpuacct": also "cpu" and "cpuacct" as symlinks, as runc does. */
        if (v1 && strchr(base, ',')) {
            char *names = own(r, strdup(base)), *save = NULL;
            if (!names) {
                rc = err_set(err, -ENOMEM, "out of memory");
                break;
            }
            for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *ld = join(r, dest, t);
                char *lt = own(r, strdup(base));
                struct rf_mount *s = add_mount(r);
                if (!ld || !lt || !s) {
                    rc = err_set(err, -ENOMEM, "out of memory");
                    break;
                }
                s->kind = RF_SYMLINK;
                s->dest = ld;
                s->link = lt;
            }
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* The mount point of the file system holding path (the longest prefix in
 * mountinfo). */
static const char *parent_mount_of(struct ct_rootfs *r, const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return "/";
    char *line = NULL, *best = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        struct mountinfo_line mi;
        if (!parse_mountinfo_line(line, &mi) || !path_has_prefix(path, mi.mount_point))
            continue;
        if (!best || strlen(mi.mount_point) > strlen(best)) {
            free(best);
            best = strdup(mi.mount_point);
        }
    }
    free(line);
    fclose(f);
    return best ? own(r, best) : "/";
}

static const struct {
    const char *path;
    unsigned major, minor;
} std_devs[] = {
    {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static int add_dev(struct ct_rootfs *r, const char *path, char type, unsigned major,
                   unsigned minor, uint32_t mode, uid_t uid, gid_t gid, struct disco_err *err)
{
    char *p = clean_abs(r, path);
    if (!p || strncmp(p, "/dev/", 5) != 0)
        return err_set(err, -EINVAL, "linux.devices: path '%s' is not under /dev", path);
    mode_t fmt;
    switch (type) {
    case 'c': case 'u': fmt = S_IFCHR; break;
    case 'b': fmt = S_IFBLK; break;
    case 'p': fmt = S_IFIFO; break;
    default: return err_set(err, -EINVAL, "linux.devices: '%s': bad type '%c'", path, type);
    }
    char *slash = strrchr(p, '/');
    char *dir = own(r, strndup(p, (size_t)(slash - p)));
    if (!dir)
        return err_set(err, -ENOMEM, "out of memory");
    struct rf_dev *d = &r->devs[r->ndevs++];
    d->path = p;
    d->dir = dir;
    d->name = slash + 1;
    d->mode = fmt | ((mode ? mode : 0666) & 07777);
    d->rdev = makedev(major, minor);
    d->uid = uid;
    d->gid = gid;
    return 0;
}

static int plan_mounts(struct ct_rootfs *r, const struct ct_spec *spec, const struct ct_cgroup *cg,
                       struct disco_err *err)
{
    for (size_t i = 0; i < spec->nmounts; i++) {
        const struct ct_mount *sm = &spec->mounts[i];
        const char *dest = clean_abs(r, sm->destination);
        if (!dest)
            return err_set(err, -EINVAL, "mounts[%zu]: destination '%s' is not absolute", i,
                           sm->destination ? sm->destination : "");
        const char *type = sm->type && sm->type[0] ? sm->type : NULL;
        bool bind = sm->bind || (type && strcmp(type, "bind") == 0);
        if (!bind && type && strcmp(type, "cgroup") == 0) {
            /* A joined or new cgroup namespace: fresh mounts show its root. */
            const struct ct_cgroup *mine = spec->ns[CT_NS_CGROUP].enabled ? NULL : cg;
            int rc = plan_cgroup(r, sm, dest, mine, err);
            if (rc)
                return rc;
            continue;
        }
        struct rf_mount *m = add_mount(r);
        if (!m)
            return err_set(err, -ENOMEM, "out of memory");
        m->dest = dest;
        m->flags = sm->flags;
        m->propagation = sm->propagation;
        m->data = sm->data;
        if (bind) {
            if (!sm->source || !sm->source[0])
                return err_set(err, -EINVAL, "mounts[%zu] ('%s'): bind without a source", i, dest);
            struct stat st;
            if (stat(sm->source, &st) < 0)
                return err_errno(err, errno, "mounts[%zu] ('%s'): bind source '%s'", i, dest,
                                 sm->source);
            m->kind = RF_BIND;
            m->source = sm->source;
            m->recursive = sm->recursive;
            m->target_is_file = !S_ISDIR(st.st_mode);
        } else {
            if (!type)
                return err_set(err, -EINVAL, "mounts[%zu] ('%s'): no type", i, dest);
            m->kind = RF_MOUNT;
            m->type = type;
            m->source = sm->source && sm->source[0] ? sm->source : type;
            if (strcmp(type, "tmpfs") == 0 && (sm->flags & MS_RDONLY))
                m->defer_ro = true;
            if (strcmp(type, "sysfs") == 0)
                m->fallback_bind = "/sys";
            if (strcmp(type, "tmpfs") == 0 && strcmp(dest, "/dev") == 0)
                r->setup_dev = true;
            if (strcmp(type, "proc") == 0 && strcmp(dest, "/proc") == 0)
                r->has_proc = true;
        }
    }
    return 0;
}

static int plan_devices(struct ct_rootfs *r, const struct ct_spec *spec, struct disco_err *err)
{
    size_t nstd = sizeof std_devs / sizeof std_devs[0];
    r->devs = calloc(nstd + spec->ndevices, sizeof *r->devs);
    if (!r->devs)
        return err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < nstd; i++) {
        bool overridden = false;
        for (size_t j = 0; j < spec->ndevices; j++)
            if (spec->devices[j].path && strcmp(spec->devices[j].path, std_devs[i].path) == 0)
                overridden = true;
        /* A mount over a standard node replaces it, as in runc and crun. */
        for (size_t j = 0; j < spec->nmounts; j++)
            if (spec->mounts[j].destination &&
                strcmp(spec->mounts[j].destination, std_devs[i].path) == 0)
                overridden = true;
        if (overridden)
            continue;
        int rc = add_dev(r, std_devs[i].path, 'c', std_devs[i].major, std_devs[i].minor, 0666,
                         0, 0, err);
        if (rc)
            return rc;
    }
    for (size_t j = 0; j < spec->ndevices; j++) {
        const struct ct_device *d = &spec->devices[j];
        int rc = add_dev(r, d->path, d->type, d->major, d->minor, d->mode, d->uid, d->gid, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int plan_paths(struct ct_rootfs *r, char *const *in, size_t n, const char ***out,
                      const char *what, struct disco_err *err)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        (*out)[i] = clean_abs(r, in[i]);
        if (!(*out)[i])
            return err_set(err, -EINVAL, "%s: '%s' is not absolute", what, in[i] ? in[i] : "");
    }
    return 0;
}

static int plan_sysctls(struct ct_rootfs *r, const struct ct_spec *spec, struct disco_err *err)
{
    r->sysctls = calloc(spec->nsysctl ? spec->nsysctl : 1, sizeof *r->sysctls);
    if (!r->sysctls)
        return err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < spec->nsysctl; i++) {
        const char *k = spec->sysctl_keys[i], *v = spec->sysctl_values[i];
        if (!k || !k[0] || !v || strstr(k, "..") || k[0] == '.' || strchr(k, '/'))
            return err_set(err, -EINVAL, "linux.sysctl: bad key '%s'", k ? k : "");
        char *p = join(r, "/proc/sys", k);
        if (!p)
            return err_set(err, -ENOMEM, "out of memory");
        for (char *c = p + strlen("/proc/sys/"); *c; c++)
            if (*c == '.')
                *c = '/';
        r->sysctls[r->nsysctls++] = (struct rf_sysctl){.path = p, .value = v, .len = strlen(v)};
    }
    return 0;
}

int ct_rootfs_prepare(const struct ct_spec *spec, bool in_userns, const struct ct_cgroup *cg,
                      struct ct_rootfs **out, struct disco_err *err)
{
    *out = NULL;
    if (!spec || !spec->root_path)
        return err_set(err, -EINVAL, "root.path is not set");
    struct ct_rootfs *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    char *root = realpath(spec->root_path, NULL);
    if (!root) {
        rc = err_errno(err, errno, "root.path '%s'", spec->root_path);
        goto fail;
    }
    if (!own(r, root)) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    struct stat st;
    if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = err_set(err, -ENOTDIR, "root.path '%s' is not a directory", root);
        goto fail;
    }
    r->root = root;
    r->root_parent_mnt = parent_mount_of(r, root);
    r->in_userns = in_userns;
    r->readonly_root = spec->root_readonly;
    r->final_propagation = spec->rootfs_propagation;
    r->root_propagation = spec->rootfs_propagation ? spec->rootfs_propagation : MS_SLAVE | MS_REC;
    if ((rc = plan_mounts(r, spec, cg, err)) || (rc = plan_devices(r, spec, err)) ||
        (rc = plan_sysctls(r, spec, err)) ||
        (rc = plan_paths(r, spec->masked_paths, spec->nmasked, &r->masked, "linux.maskedPaths",
                         err)) ||
        (rc = plan_paths(r, spec->readonly_paths, spec->nreadonly, &r->readonly,
                         "linux.readonlyPaths", err)))
        goto fail;
    r->nmasked = spec->nmasked;
    r->nreadonly = spec->nreadonly;
    *out = r;
    return 0;
fail:
    ct_rootfs_free(r);
    return rc;
}

void ct_rootfs_free(struct ct_rootfs *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
    free(r->owned);
    free(r->mounts);
    free(r->devs);
    free(r->sysctls);
    free(r->masked);
    free(r->readonly);
    free(r);
}

/* ---- child: system calls only ---- */

struct fdpath {
    char s[32];
};

/* "/proc/self/fd/<fd>" without snprintf. */
static const char *fd_path(struct fdpath *b, int fd)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    unsigned v = (unsigned)fd;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof digits);
    memcpy(b->s, prefix, sizeof prefix - 1);
    size_t o = sizeof prefix - 1;
    while (n)
        b->s[o++] = digits[--n];
    b->s[o] = '\0';
    return b->s;
}

static int openat2_in_root(int rootfd, const char *abs, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    const char *rel = abs;
    while (*rel == '/')
        rel++;
    return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
}

enum create_kind { CREATE_NONE, CREATE_DIR, CREATE_FILE };

/* An O_PATH fd of abs (cleaned, absolute) resolved inside rootfd; missing
 * components are created as directories, the last one as `create` says.
 * Every step resolves from rootfd with RESOLVE_IN_ROOT, so a symlink on the
 * way is followed as if rootfd were "/" and never leaves it. */
static int open_in_root(int rootfd, const char *abs, enum create_kind create,
                        struct ct_child_err *e)
{
    int fd = openat2_in_root(rootfd, abs, O_PATH);
    if (fd >= 0)
        return fd;
    if (errno != ENOENT || create == CREATE_NONE)
        return ct_child_fail(e, errno, "cannot open in the root", abs);

    char buf[PATH_MAX];
    size_t n = strnlen(abs, sizeof buf);
    if (n >= sizeof buf)
        return ct_child_fail(e, ENAMETOOLONG, "path too long", abs);
    memcpy(buf, abs, n + 1);
    int parent = -1;
    size_t i = 0;
    while (i < n) {
        while (i < n && buf[i] == '/')
            i++;
        if (i >= n)
            break;
        size_t start = i;
        while (i < n && buf[i] != '/')
            i++;
        bool last = i >= n;
        char saved = buf[i];
        buf[i] = '\0';
        fd = openat2_in_root(rootfd, buf, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            int pfd = parent >= 0 ? parent : rootfd;
            const char *name = buf + start;
            int rc;
            if (last && create == CREATE_FILE) {
                rc = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (rc >= 0)
                    close(rc);
            } else {
                rc = mkdirat(pfd, name, 0755);
            }
            if (rc < 0 && errno != EEXIST) {
                int er = errno;
                if (parent >= 0)
                    close(parent);
                return ct_child_fail(e, er, "cannot create", abs);
            }
            /* EEXIST with ENOENT before: a dangling symlink; refused below. */
            fd = openat2_in_root(rootfd, buf, O_PATH);
        }
        int er = errno;
        buf[i] = saved;
        if (parent >= 0)
            close(parent);
        if (fd < 0)
            return ct_child_fail(e, er, "cannot create (dangling symlink?)", abs);
        parent = fd;
    }
    return parent;
}

/* statfs flags (ST_*) -> MS_* for the ones a remount must keep. */
static unsigned long locked_flags(int fd, bool with_ro_and_atime)
{
    struct statfs s;
    if (fstatfs(fd, &s) < 0)
        return 0;
    unsigned long f = 0;
    if (s.f_flags & ST_NOSUID)
        f |= MS_NOSUID;
    if (s.f_flags & ST_NODEV)
        f |= MS_NODEV;
    if (s.f_flags & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (with_ro_and_atime) {
        if (s.f_flags & ST_RDONLY)
            f |= MS_RDONLY;
        if (s.f_flags & ST_NOATIME)
            f |= MS_NOATIME;
        if (s.f_flags & ST_NODIRATIME)
            f |= MS_NODIRATIME;
        if (s.f_flags & ST_RELATIME)
            f |= MS_RELATIME;
    }
    return f;
}

/* Remount the bind mount at target (fd: its top) with flags. In a user
 * namespace the flags inherited from a more privileged namespace are
 * locked: a remount dropping one fails with EPERM, so they are kept (as
 * runc does); on EPERM, retry keeping all of them. */
static int remount_bind(int fd, const char *target, unsigned long flags, bool keep,
                        const char *what, struct ct_child_err *e)
{
    if (keep)
        flags |= locked_flags(fd, false);
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
        return 0;
    int er = errno;
    if (er == EPERM &&
        mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags | locked_flags(fd, true), NULL) == 0)
        return 0;
    return ct_child_fail(e, er, "remount", what);
}

static int do_symlink(int rootfd, const char *abs, const char *link, struct ct_child_err *e)
{
    /* abs is cleaned: its directory is everything before the last '/'. */
    char dir[PATH_MAX];
    const char *slash = strrchr(abs, '/');
    size_t n = (size_t)(slash - abs);
    if (n >= sizeof dir)
        return ct_child_fail(e, ENAMETOOLONG, "path too long", abs);
    memcpy(dir, abs, n);
    dir[n] = '\0';
    int pfd = open_in_root(rootfd, n ? dir : "/", CREATE_DIR, e);
    if (pfd < 0)
        return -1;
    int rc = symlinkat(link, pfd, slash + 1);
    int er = errno;
    close(pfd);
    if (rc < 0 && er != EEXIST)
        return ct_child_fail(e, er, "symlink", abs);
    return 0;
}

static int do_mount(const struct ct_rootfs *r, int rootfd, const struct rf_mount *m,
                    struct ct_child_err *e)
{
    if (m->kind == RF_SYMLINK)
        return do_symlink(rootfd, m->dest, m->link, e);

    int fd = open_in_root(rootfd, m->dest, m->target_is_file ? CREATE_FILE : CREATE_DIR, e);
    if (fd < 0)
        return -1;
    struct fdpath fp;
    const char *target = fd_path(&fp, fd);
    bool remount = false;
    unsigned long remount_flags = m->flags;
    if (m->kind == RF_BIND) {
        if (mount(m->source, target, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0) {
            int er = errno;
            close(fd);
            return ct_child_fail(e, er, "bind mount onto", m->dest);
        }
        remount = m->flags != 0;
    } else {
        unsigned long flags = m->flags & ~(m->defer_ro ? MS_RDONLY : 0UL);
        if (mount(m->source, target, m->type, flags, m->data) < 0) {
            int er = errno;
            /* sysfs needs a network namespace owned by the user namespace,
             * cgroup v1 a cgroup namespace: otherwise the host's, read-only. */
            if (!(er == EPERM && r->in_userns && m->fallback_bind) ||
                mount(m->fallback_bind, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
                close(fd);
                return ct_child_fail(e, er, "mount onto", m->dest);
            }
            remount = true;
            remount_flags |= MS_RDONLY;
        }
    }
    close(fd);
    if (!remount && !m->propagation)
        return 0;

    /* The fd above is the directory under the new mount: reopen for its top. */
    fd = open_in_root(rootfd, m->dest, CREATE_NONE, e);
    if (fd < 0)
        return -1;
    target = fd_path(&fp, fd);
    int rc = 0;
    if (remount)
        rc = remount_bind(fd, target, remount_flags, r->in_userns, m->dest, e);
    if (rc == 0 && m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
        rc = ct_child_fail(e, errno, "set propagation of", m->dest);
    close(fd);
    return rc;
}

static int make_dev(int rootfd, const struct rf_dev *d, struct ct_child_err *e)
{
    int pfd = open_in_root(rootfd, d->dir, CREATE_DIR, e);
    if (pfd < 0)
        return -1;
    if (mknodat(pfd, d->name, d->mode, d->rdev) == 0) {
        /* mknod obeys the umask; the spec's mode and owner are exact. */
        if (fchownat(pfd, d->name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(pfd, d->name, d->mode & 07777, 0) < 0) {
            int er = errno;
            close(pfd);
            return ct_child_fail(e, er, "chown/chmod device", d->path);
        }
        close(pfd);
        return 0;
    }
    int er = errno;
    if (er != EPERM || S_ISFIFO(d->mode)) {
        close(pfd);
        return ct_child_fail(e, er, "mknod", d->path);
    }
    /* No CAP_MKNOD (user namespace): bind the host's node onto an empty
     * file. Its mode and owner are the host's: never chmod it. */
    int f = openat(pfd, d->name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    er = errno;
    close(pfd);
    if (f < 0)
        return ct_child_fail(e, er, "create device target", d->path);
    close(f);
    int fd = open_in_root(rootfd, d->path, CREATE_NONE, e);
    if (fd < 0)
        return -1;
    struct fdpath fp;
    int rc = 0;
    if (mount(d->path, fd_path(&fp, fd), NULL, MS_BIND, NULL) < 0)
        rc = ct_child_fail(e, errno, "bind the host's device", d->path);
    close(fd);
    return rc;
}

static const struct {
    const char *path, *link;
} dev_links[] = {
    {"/dev/fd", "/proc/self/fd"},
    {"/dev/stdin", "/proc/self/fd/0"},
    {"/dev/stdout", "/proc/self/fd/1"},
    {"/dev/stderr", "/proc/self/fd/2"},
    {"/dev/ptmx", "pts/ptmx"},
};

static int populate_dev(const struct ct_rootfs *r, int rootfd, struct ct_child_err *e)
{
    for (size_t i = 0; i < r->ndevs; i++)
        if (make_dev(rootfd, &r->devs[i], e) < 0)
            return -1;
    for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
        if (do_symlink(rootfd, dev_links[i].path, dev_links[i].link, e) < 0)
            return -1;
    if (r->has_proc && do_symlink(rootfd, "/dev/core", "/proc/kcore", e) < 0)
        return -1;
    return 0;
}

static int write_sysctls(const struct ct_rootfs *r, int rootfd, struct ct_child_err *e)
{
    for (size_t i = 0; i < r->nsysctls; i++) {
        const struct rf_sysctl *s = &r->sysctls[i];
        int fd = openat2_in_root(rootfd, s->path, O_WRONLY);
        if (fd < 0)
            return ct_child_fail(e, errno, "open sysctl", s->path);
        ssize_t n = write(fd, s->value, s->len);
        int er = errno;
        close(fd);
        if (n < 0 || (size_t)n != s->len)
            return ct_child_fail(e, n < 0 ? er : EIO, "write sysctl", s->path);
    }
    return 0;
}

/* After pivot_root: a mount target as /proc/self/fd/N when the container
 * has its /proc, else the path itself (nothing outside the root is left to
 * escape to by then). */
static const char *target_after_pivot(const struct ct_rootfs *r, struct fdpath *fp, int fd,
                                      const char *abs)
{
    return r->has_proc ? fd_path(fp, fd) : abs;
}

static int mask_paths(const struct ct_rootfs *r, int rootfd, struct ct_child_err *e)
{
    for (size_t i = 0; i < r->nmasked; i++) {
        const char *p = r->masked[i];
        int fd = openat2_in_root(rootfd, p, O_PATH);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return ct_child_fail(e, errno, "masked path", p);
        }
        struct stat st;
        struct fdpath fp;
        const char *target = target_after_pivot(r, &fp, fd, p);
        int rc = fstat(fd, &st);
        if (rc == 0 && S_ISDIR(st.st_mode))
            rc = mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL);
        else if (rc == 0)
            rc = mount("/dev/null", target, NULL, MS_BIND, NULL);
        int er = errno;
        close(fd);
        if (rc < 0)
            return ct_child_fail(e, er, "mask", p);
    }
    return 0;
}

static int readonly_paths(const struct ct_rootfs *r, int rootfd, struct ct_child_err *e)
{
    for (size_t i = 0; i < r->nreadonly; i++) {
        const char *p = r->readonly[i];
        int fd = openat2_in_root(rootfd, p, O_PATH);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return ct_child_fail(e, errno, "read-only path", p);
        }
        struct fdpath fp;
        const char *target = target_after_pivot(r, &fp, fd, p);
        int rc = mount(target, target, NULL, MS_BIND | MS_REC, NULL);
        int er = errno;
        close(fd);
        if (rc < 0)
            return ct_child_fail(e, er, "bind read-only path", p);
        fd = openat2_in_root(rootfd, p, O_PATH);
        if (fd < 0)
            return ct_child_fail(e, errno, "read-only path", p);
        target = target_after_pivot(r, &fp, fd, p);
        rc = remount_bind(fd, target, MS_RDONLY, true, p, e);
        close(fd);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Why pivot_root and not chroot: chroot only changes the process's root
 * directory; the host's tree stays in the mount namespace, so a process
 * holding a directory fd from before (or one allowed to chroot again) can
 * fchdir + chdir("..") back out. pivot_root moves the host's root onto a
 * directory of the new root and the lazy unmount then removes it from the
 * namespace: there is nothing left above "/" to walk to. */
static int pivot(const struct ct_rootfs *r, int rootfd, struct ct_child_err *e)
{
    int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0)
        return ct_child_fail(e, errno, "open the old root", "/");
    int rc = -1;
    if (fchdir(rootfd) < 0)
        ct_child_fail(e, errno, "chdir to the root", r->root);
    else if (syscall(SYS_pivot_root, ".", ".") < 0)
        ct_child_fail(e, errno, "pivot_root to", r->root);
    else if (fchdir(oldroot) < 0)
        ct_child_fail(e, errno, "chdir to the old root", NULL);
    /* Make sure the unmount below does not propagate to the host. */
    else if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        ct_child_fail(e, errno, "make the old root a slave", NULL);
    else if (umount2(".", MNT_DETACH) < 0)
        ct_child_fail(e, errno, "detach the old root", NULL);
    else if (chdir("/") < 0)
        ct_child_fail(e, errno, "chdir", "/");
    /* The detach above may have changed "/" (its old peer is gone): set
     * rootfsPropagation on it again, not recursively, so the mounts'
     * own propagation options stay. */
    else if (r->final_propagation &&
             mount(NULL, "/", NULL, r->final_propagation & ~(unsigned long)MS_REC, NULL) < 0)
        ct_child_fail(e, errno, "set rootfsPropagation of", "/");
    else
        rc = 0;
    close(oldroot);
    return rc;
}

int ct_rootfs_enter(const struct ct_rootfs *r, struct ct_child_err *e)
{
    /* 1. Nothing mounted from here on reaches the host. */
    if (mount(NULL, "/", NULL, r->root_propagation, NULL) < 0)
        return ct_child_fail(e, errno, "set propagation of", "/");
    /* pivot_root refuses a shared parent mount (rootfsPropagation shared). */
    if (mount(NULL, r->root_parent_mnt, NULL, MS_PRIVATE, NULL) < 0)
        return ct_child_fail(e, errno, "make private", r->root_parent_mnt);

    /* 2. The root as a mount point of its own (pivot_root needs one). */
    if (mount(r->root, r->root, NULL, MS_BIND | MS_REC, NULL) < 0)
        return ct_child_fail(e, errno, "bind the root onto itself", r->root);
    int rootfd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return ct_child_fail(e, errno, "open the root", r->root);

    int rc = 0;
    /* 3. mounts, in order. */
    for (size_t i = 0; rc == 0 && i < r->nmounts; i++)
        rc = do_mount(r, rootfd, &r->mounts[i], e);
    /* 4. /dev. */
    if (rc == 0 && r->setup_dev)
        rc = populate_dev(r, rootfd, e);
    /* read-only tmpfs mounts were mounted rw to be filled. */
    for (size_t i = 0; rc == 0 && i < r->nmounts; i++) {
        const struct rf_mount *m = &r->mounts[i];
        if (!m->defer_ro)
            continue;
        int fd = open_in_root(rootfd, m->dest, CREATE_NONE, e);
        if (fd < 0) {
            rc = -1;
            break;
        }
        struct fdpath fp;
        if (mount(NULL, fd_path(&fp, fd), NULL, MS_REMOUNT | m->flags, NULL) < 0)
            rc = ct_child_fail(e, errno, "remount read-only", m->dest);
        close(fd);
    }
    /* 5. sysctls, through the container's /proc. */
    if (rc == 0)
        rc = write_sysctls(r, rootfd, e);
    /* 6. */
    if (rc == 0)
        rc = pivot(r, rootfd, e);
    /* 7. rootfd is "/" now. */
    if (rc == 0)
        rc = mask_paths(r, rootfd, e);
    if (rc == 0)
        rc = readonly_paths(r, rootfd, e);
    /* 8. */
    if (rc == 0 && r->readonly_root &&
        mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(rootfd, false),
              NULL) < 0 &&
        mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(rootfd, true),
              NULL) < 0)
        rc = ct_child_fail(e, errno, "remount read-only", "/");
    close(rootfd);
    return rc;
}

int ct_child_open_pty(int *master, int *slave, struct ct_child_err *e)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return ct_child_fail(e, errno, "open", "/dev/ptmx");
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
        int er = errno;
        close(m);
        return ct_child_fail(e, er, "unlockpt", "/dev/ptmx");
    }
    /* The peer through the master: no ptsname (not async-signal-safe) and
     * no path lookup that a container could redirect. */
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int er = errno;
        close(m);
        return ct_child_fail(e, er, "open the pty slave (TIOCGPTPEER)", NULL);
    }
    *master = m;
    *slave = s;
    return 0;
}

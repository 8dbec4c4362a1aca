/* OCI runtime-spec config.json -> struct ct_spec, with json-c; and the
 * default config.json of `disco oci spec`.
 *
 * The parser is strict about what it understands and silent about what it
 * does not: a known key with the wrong JSON type, an out-of-range number, a
 * relative path where the spec wants an absolute one, an unknown capability,
 * namespace, rlimit, seccomp action or operator is an error naming the key
 * ("config.json: linux.namespaces[2].type: unknown namespace 'foo'");
 * unknown keys are ignored, as runc does. JSON null counts as absent (Go's
 * decoder, which runc uses, does the same). */
#define _GNU_SOURCE
#include "ct/spec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct/security.h"

/* ---------------------------------------------------------------- names */

static const struct {
    const char *name;
    int flag;
} ns_table[CT_NS_COUNT] = {
    [CT_NS_MOUNT] = {"mount", CLONE_NEWNS},   [CT_NS_PID] = {"pid", CLONE_NEWPID},
    [CT_NS_UTS] = {"uts", CLONE_NEWUTS},      [CT_NS_IPC] = {"ipc", CLONE_NEWIPC},
    [CT_NS_NET] = {"network", CLONE_NEWNET},  [CT_NS_USER] = {"user", CLONE_NEWUSER},
    [CT_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP},
};

const char *ct_ns_name(enum ct_ns ns)
{
    return (unsigned)ns < CT_NS_COUNT ? ns_table[ns].name : NULL;
}

int ct_ns_clone_flag(enum ct_ns ns)
{
    return (unsigned)ns < CT_NS_COUNT ? ns_table[ns].flag : 0;
}

int ct_cap_from_name(const char *name)
{
    /* libcap also takes numbers and lower case; the spec names are "CAP_X". */
    if (!name || strncmp(name, "CAP_", 4) != 0 || !name[4])
        return -1;
    for (const char *c = name + 4; *c; c++)
        if (!(isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
            return -1;
    cap_value_t v;
    if (cap_from_name(name, &v) != 0 || v < 0 || v > 63)
        return -1;
    return (int)v;
}

static const struct {
    const char *name;
    int sig;
} sig_table[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},      {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH},   {"IO", SIGIO},         {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* Decimal 0..max, nothing else; -1 otherwise. */
static int small_number(const char *s, int max)
{
    if (!*s || strlen(s) > 3)
        return -1;
    int v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= max ? v : -1;
}

int ct_signal_from_name(const char *name)
{
    if (!name || !*name || strlen(name) > 16)
        return -1;
    int n = small_number(name, _NSIG - 1);
    if (isdigit((unsigned char)name[0]))
        return n >= 1 ? n : -1;
    /* Case-insensitive, "SIG" optional: runc upper-cases and strips it too. */
    char up[20];
    size_t i = 0;
    for (; name[i]; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    up[i] = '\0';
    const char *s = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
    for (size_t k = 0; k < sizeof sig_table / sizeof sig_table[0]; k++)
        if (strcmp(s, sig_table[k].name) == 0)
            return sig_table[k].sig;
    int sig = -1;
    if (strcmp(s, "RTMIN") == 0)
        sig = SIGRTMIN;
    else if (strcmp(s, "RTMAX") == 0)
        sig = SIGRTMAX;
    else if (strncmp(s, "RTMIN+", 6) == 0 && (n = small_number(s + 6, 64)) >= 0)
        sig = SIGRTMIN + n;
    else if (strncmp(s, "RTMAX-", 6) == 0 && (n = small_number(s + 6, 64)) >= 0)
        sig = SIGRTMAX - n;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
}

static const struct {
    const char *name;
    int resource;
} rlimit_table[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static const struct {
    const char *name;
    uint32_t action;            /* SCMP_ACT_ERRNO/TRACE: the errno is or'ed in later */
} scmp_action_table[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

static const struct {
    const char *name;
    int op;
} scmp_op_table[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct {
    const char *name;
    unsigned long flags;
} propagation_table[] = {
    {"private", MS_PRIVATE},    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},      {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},        {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* runc's parseMountOptions table: clear=true means the option turns the flag off. */
static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} mount_flag_table[] = {
    {"async", true, MS_SYNCHRONOUS},    {"atime", true, MS_NOATIME},
    {"defaults", false, 0},             {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},  {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},          {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},   {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},       {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},         {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},       {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},  {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},  {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},       {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},     {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},            {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --------------------------------------------------------- parse context */

struct jp {
    struct disco_err *err;
    const char *file;           /* "config.json", or NULL */
    const char *bundle;         /* absolute, or NULL */
};

enum { KEY_MAX = 192 };

__attribute__((format(printf, 3, 4)))
static int jp_fail(struct jp *p, const char *path, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(p->err, -EINVAL, "%s%s%s%s%s", p->file ? p->file : "", p->file ? ": " : "",
                   path, *path ? ": " : "", msg);
}

static void key_join(char *out, const char *parent, const char *key)
{
    /* A key longer than KEY_MAX (a very long sysctl name) is cut: it only names. */
    if (snprintf(out, KEY_MAX, "%s%s%s", parent, *parent ? "." : "", key) >= KEY_MAX)
        memcpy(out + KEY_MAX - 4, "...", 4);
}

static void key_index(char *out, const char *parent, size_t i)
{
    if (snprintf(out, KEY_MAX, "%s[%zu]", parent, i) >= KEY_MAX)
        memcpy(out + KEY_MAX - 4, "...", 4);
}

static const char *type_name(json_type t)
{
    switch (t) {
    case json_type_boolean: return "a boolean";
    case json_type_double: return "a number";
    case json_type_int: return "an integer";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    default: return "null";
    }
}

/* The member `key` of obj, which must be of type `want` when present.
 * *out NULL: absent (or null). path: the member's full key, filled. */
static int member(struct jp *p, json_object *obj, const char *parent, const char *key,
                  json_type want, json_object **out, char *path)
{
    key_join(path, parent, key);
    *out = NULL;
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, want))
        return jp_fail(p, path, "must be %s, not %s", type_name(want),
                       type_name(json_object_get_type(v)));
    *out = v;
    return 0;
}

static int check_type(struct jp *p, json_object *v, json_type want, const char *path)
{
    if (!v || !json_object_is_type(v, want))
        return jp_fail(p, path, "must be %s, not %s", type_name(want),
                       type_name(v ? json_object_get_type(v) : json_type_null));
    return 0;
}

/* A JSON string as a C string (no embedded NUL). */
static int string_value(struct jp *p, json_object *v, const char *path, const char **out)
{
    int rc = check_type(p, v, json_type_string, path);
    if (rc)
        return rc;
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return jp_fail(p, path, "contains a NUL character");
    *out = s;
    return 0;
}

static int dup_string(struct jp *p, const char *s, char **out)
{
    *out = strdup(s);
    return *out ? 0 : err_set(p->err, -ENOMEM, "out of memory");
}

/* Optional string member: *out untouched when absent. */
static int get_string(struct jp *p, json_object *obj, const char *parent, const char *key,
                      char **out)
{
    char path[KEY_MAX];
    json_object *v;
    const char *s;
    int rc = member(p, obj, parent, key, json_type_string, &v, path);
    if (rc || !v)
        return rc;
    if ((rc = string_value(p, v, path, &s)))
        return rc;
    free(*out);
    *out = NULL;
    return dup_string(p, s, out);
}

static int get_abs_path(struct jp *p, json_object *obj, const char *parent, const char *key,
                        char **out)
{
    int rc = get_string(p, obj, parent, key, out);
    if (rc || !*out || (*out)[0] == '/')
        return rc;
    char path[KEY_MAX];
    key_join(path, parent, key);
    return jp_fail(p, path, "'%s' is not an absolute path", *out);
}

static int get_bool(struct jp *p, json_object *obj, const char *parent, const char *key,
                    bool *out)
{
    char path[KEY_MAX];
    json_object *v;
    int rc = member(p, obj, parent, key, json_type_boolean, &v, path);
    if (!rc && v)
        *out = json_object_get_boolean(v);
    return rc;
}

/* An integer in [min, max]. json-c keeps integers above INT64_MAX as uint64. */
static int int_value(struct jp *p, json_object *v, const char *path, int64_t min, int64_t max,
                     int64_t *out)
{
    int rc = check_type(p, v, json_type_int, path);
    if (rc)
        return rc;
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return jp_fail(p, path, "%" PRIu64 " is out of range", json_object_get_uint64(v));
    if (x < min || x > max)
        return jp_fail(p, path, "%" PRId64 " is out of range", x);
    *out = x;
    return 0;
}

static int uint_value(struct jp *p, json_object *v, const char *path, uint64_t *out)
{
    int rc = check_type(p, v, json_type_int, path);
    if (rc)
        return rc;
    if (json_object_get_int64(v) < 0)
        return jp_fail(p, path, "%" PRId64 " is negative", json_object_get_int64(v));
    *out = json_object_get_uint64(v);
    return 0;
}

static int get_int(struct jp *p, json_object *obj, const char *parent, const char *key,
                   int64_t min, int64_t max, int64_t *out)
{
    char path[KEY_MAX];
    json_object *v;
    int rc = member(p, obj, parent, key, json_type_int, &v, path);
    if (rc || !v)
        return rc;
    return int_value(p, v, path, min, max, out);
}

static int get_u64(struct jp *p, json_object *obj, const char *parent, const char *key,
                   uint64_t *out)
{
    char path[KEY_MAX];
    json_object *v;
    int rc = member(p, obj, parent, key, json_type_int, &v, path);
    if (rc || !v)
        return rc;
    return uint_value(p, v, path, out);
}

static int get_u32(struct jp *p, json_object *obj, const char *parent, const char *key,
                   uint32_t *out)
{
    int64_t x = *out;
    int rc = get_int(p, obj, parent, key, 0, UINT32_MAX, &x);
    if (!rc)
        *out = (uint32_t)x;
    return rc;
}

/* An array member: *arr NULL and *n 0 when absent. */
static int get_array(struct jp *p, json_object *obj, const char *parent, const char *key,
                     json_object **arr, size_t *n, char *path)
{
    int rc = member(p, obj, parent, key, json_type_array, arr, path);
    *n = (!rc && *arr) ? json_object_array_length(*arr) : 0;
    return rc;
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Array of strings -> NULL-terminated vector (always allocated when the
 * member is present; absent: *out stays NULL). abs: each must be absolute. */
static int get_strv(struct jp *p, json_object *obj, const char *parent, const char *key,
                    bool abs, char ***out, size_t *nout)
{
    char path[KEY_MAX], ipath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, obj, parent, key, &arr, &n, path);
    if (rc || !arr)
        return rc;
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return err_set(p->err, -ENOMEM, "out of memory");
    free_strv(*out, *nout);
    *out = v;
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        key_index(ipath, path, i);
        if ((rc = string_value(p, json_object_array_get_idx(arr, i), ipath, &s)))
            return rc;
        if (abs && s[0] != '/')
            return jp_fail(p, ipath, "'%s' is not an absolute path", s);
        if ((rc = dup_string(p, s, &v[i])))
            return rc;
    }
    return 0;
}

/* An object of string values (sysctl, annotations) -> two vectors. */
static int get_string_map(struct jp *p, json_object *obj, const char *parent, const char *key,
                          char ***keys, char ***values, size_t *nout)
{
    char path[KEY_MAX], kpath[KEY_MAX];
    json_object *map;
    int rc = member(p, obj, parent, key, json_type_object, &map, path);
    if (rc || !map)
        return rc;
    size_t n = (size_t)json_object_object_length(map);
    *keys = calloc(n + 1, sizeof **keys);
    *values = calloc(n + 1, sizeof **values);
    if (!*keys || !*values)
        return err_set(p->err, -ENOMEM, "out of memory");
    *nout = n;
    size_t i = 0;
    json_object_object_foreach(map, k, v) {
        const char *s;
        key_join(kpath, path, k);
        if (i >= n)
            break;
        if ((rc = string_value(p, v, kpath, &s)))
            return rc;
        if ((rc = dup_string(p, k, &(*keys)[i])) || (rc = dup_string(p, s, &(*values)[i])))
            return rc;
        i++;
    }
    return 0;
}

/* Allocate n zeroed elements of size sz for an array member; the caller
 * records the count at once so a failure halfway frees what exists. */
static int alloc_array(struct jp *p, size_t n, size_t sz, void **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = calloc(n, sz);
    return *out ? 0 : err_set(p->err, -ENOMEM, "out of memory");
}

/* bundle + "/" + rel, or a copy of abs. */
static int resolve_path(struct jp *p, const char *s, char **out)
{
    if (s[0] == '/' || !p->bundle)
        return dup_string(p, s, out);
    if (asprintf(out, "%s/%s", p->bundle, s) < 0) {
        *out = NULL;
        return err_set(p->err, -ENOMEM, "out of memory");
    }
    return 0;
}

/* --------------------------------------------------------------- process */

static int parse_caps_set(struct jp *p, json_object *caps, const char *parent, const char *key,
                          uint64_t *mask)
{
    char path[KEY_MAX], ipath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, caps, parent, key, &arr, &n, path);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *s;
        key_index(ipath, path, i);
        if ((rc = string_value(p, json_object_array_get_idx(arr, i), ipath, &s)))
            break;
        int c = ct_cap_from_name(s);
        if (c < 0)
            return jp_fail(p, ipath, "unknown capability '%s'", s);
        *mask |= 1ull << c;
    }
    return rc;
}

static int parse_rlimits(struct jp *p, json_object *proc, const char *parent,
                         struct ct_process *out)
{
    char path[KEY_MAX], ipath[KEY_MAX], tpath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, proc, parent, "rlimits", &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof *out->rlimits, (void **)&out->rlimits)))
        return rc;
    out->nrlimits = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *t;
        struct ct_rlimit *r = &out->rlimits[i];
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = member(p, o, ipath, "type", json_type_string, &t, tpath)))
            return rc;
        if (!t)
            return jp_fail(p, tpath, "required");
        const char *name = json_object_get_string(t);
        r->resource = -1;
        for (size_t k = 0; k < ARRAY_LEN(rlimit_table); k++)
            if (strcmp(name, rlimit_table[k].name) == 0)
                r->resource = rlimit_table[k].resource;
        if (r->resource < 0)
            return jp_fail(p, tpath, "unknown rlimit '%s'", name);
        if ((rc = get_u64(p, o, ipath, "hard", &r->hard)) ||
            (rc = get_u64(p, o, ipath, "soft", &r->soft)))
            return rc;
        if (r->soft > r->hard)
            return jp_fail(p, ipath, "soft limit %" PRIu64 " is above the hard limit %" PRIu64,
                           r->soft, r->hard);
    }
    return 0;
}

static int parse_process(struct jp *p, json_object *proc, const char *pp, struct ct_process *out)
{
    char path[KEY_MAX], upath[KEY_MAX], cpath[KEY_MAX], ipath[KEY_MAX];
    json_object *user, *caps, *console, *arr;
    size_t n;
    int rc;

    if ((rc = get_bool(p, proc, pp, "terminal", &out->terminal)) ||
        (rc = member(p, proc, pp, "consoleSize", json_type_object, &console, cpath)))
        return rc;
    if (console) {
        uint32_t h = 0, w = 0;
        if ((rc = get_u32(p, console, cpath, "height", &h)) ||
            (rc = get_u32(p, console, cpath, "width", &w)))
            return rc;
        if (h > 65535 || w > 65535)
            return jp_fail(p, cpath, "%ux%u is too large", w, h);
        out->console_rows = h;
        out->console_cols = w;
    }

    if ((rc = member(p, proc, pp, "user", json_type_object, &user, upath)) ||
        (rc = get_u32(p, user, upath, "uid", &out->uid)) ||
        (rc = get_u32(p, user, upath, "gid", &out->gid)) ||
        (rc = get_array(p, user, upath, "additionalGids", &arr, &n, path)))
        return rc;
    if (arr) {
        if ((rc = alloc_array(p, n, sizeof *out->additional_gids,
                              (void **)&out->additional_gids)))
            return rc;
        out->ngids = n;
        for (size_t i = 0; i < n; i++) {
            int64_t g;
            key_index(ipath, path, i);
            if ((rc = int_value(p, json_object_array_get_idx(arr, i), ipath, 0, UINT32_MAX, &g)))
                return rc;
            out->additional_gids[i] = (uint32_t)g;
        }
    }

    if ((rc = get_strv(p, proc, pp, "args", false, &out->args, &out->nargs)))
        return rc;
    key_join(path, pp, "args");
    if (out->nargs == 0)
        return jp_fail(p, path, "at least one argument is required");
    if (!out->args[0][0])
        return jp_fail(p, path, "the program name is empty");
    if ((rc = get_strv(p, proc, pp, "env", false, &out->env, &out->nenv)))
        return rc;
    if (!out->env && !(out->env = calloc(1, sizeof *out->env)))
        return err_set(p->err, -ENOMEM, "out of memory");
    if ((rc = get_abs_path(p, proc, pp, "cwd", &out->cwd)))
        return rc;
    if (!out->cwd && (rc = dup_string(p, "/", &out->cwd)))
        return rc;

    if ((rc = member(p, proc, pp, "capabilities", json_type_object, &caps, cpath)) ||
        (rc = parse_caps_set(p, caps, cpath, "bounding", &out->caps.bounding)) ||
        (rc = parse_caps_set(p, caps, cpath, "effective", &out->caps.effective)) ||
        (rc = parse_caps_set(p, caps, cpath, "inheritable", &out->caps.inheritable)) ||
        (rc = parse_caps_set(p, caps, cpath, "permitted", &out->caps.permitted)) ||
        (rc = parse_caps_set(p, caps, cpath, "ambient", &out->caps.ambient)))
        return rc;

    if ((rc = parse_rlimits(p, proc, pp, out)) ||
        (rc = get_bool(p, proc, pp, "noNewPrivileges", &out->no_new_privileges)))
        return rc;
    int64_t adj = 0;
    key_join(path, pp, "oomScoreAdj");
    json_object *v;
    if ((rc = member(p, proc, pp, "oomScoreAdj", json_type_int, &v, path)))
        return rc;
    if (v) {
        if ((rc = int_value(p, v, path, -1000, 1000, &adj)))
            return rc;
        out->oom_score_adj_set = true;
        out->oom_score_adj = (int)adj;
    }
    return 0;
}

void ct_process_clear(struct ct_process *pr)
{
    if (!pr)
        return;
    free_strv(pr->args, pr->nargs);
    free_strv(pr->env, pr->nenv);
    free(pr->cwd);
    free(pr->additional_gids);
    free(pr->rlimits);
    memset(pr, 0, sizeof *pr);
}

/* ---------------------------------------------------------------- mounts */

static int split_mount_options(struct jp *p, json_object *arr, const char *path,
                               struct ct_mount *m)
{
    char ipath[KEY_MAX];
    size_t n = json_object_array_length(arr), len = 0, cap = 0;
    char *data = NULL;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *o;
        key_index(ipath, path, i);
        if ((rc = string_value(p, json_object_array_get_idx(arr, i), ipath, &o)))
            break;
        bool known = false;
        for (size_t k = 0; k < ARRAY_LEN(mount_flag_table) && !known; k++) {
            if (strcmp(o, mount_flag_table[k].name) != 0)
                continue;
            known = true;
            if (mount_flag_table[k].clear) {
                m->flags &= ~mount_flag_table[k].flag;
                m->clear_flags |= mount_flag_table[k].flag;
            } else {
                m->flags |= mount_flag_table[k].flag;
                m->clear_flags &= ~mount_flag_table[k].flag;
            }
        }
        for (size_t k = 0; k < ARRAY_LEN(propagation_table) && !known; k++)
            if (strcmp(o, propagation_table[k].name) == 0) {
                known = true;
                m->propagation = propagation_table[k].flags;
            }
        if (known)
            continue;
        if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
            m->bind = true;
            m->recursive = m->recursive || o[0] == 'r';
            continue;
        }
        /* runc's extensions for tmpfs copy-up: not mount(2) data (the
         * kernel would refuse it), and disco does not copy up. */
        if (strcmp(o, "tmpcopyup") == 0 || strcmp(o, "notmpcopyup") == 0 || !*o)
            continue;
        size_t ol = strlen(o);
        if (len + ol + 2 > cap) {
            size_t ncap = (len + ol + 2) * 2;
            char *nd = realloc(data, ncap);
            if (!nd) {
                rc = err_set(p->err, -ENOMEM, "out of memory");
                break;
            }
            data = nd;
            cap = ncap;
        }
        if (len)
            data[len++] = ',';
        memcpy(data + len, o, ol + 1);
        len += ol;
    }
    m->data = data;
    return rc;
}

static int parse_mounts(struct jp *p, json_object *root, struct ct_spec *s)
{
    char path[KEY_MAX], ipath[KEY_MAX], opath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, root, "", "mounts", &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof *s->mounts, (void **)&s->mounts)))
        return rc;
    s->nmounts = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *opts;
        struct ct_mount *m = &s->mounts[i];
        char *source = NULL;
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_abs_path(p, o, ipath, "destination", &m->destination)) ||
            (rc = get_string(p, o, ipath, "type", &m->type)) ||
            (rc = get_string(p, o, ipath, "source", &source)) ||
            (rc = member(p, o, ipath, "options", json_type_array, &opts, opath))) {
            free(source);
            return rc;
        }
        if (opts && (rc = split_mount_options(p, opts, opath, m))) {
            free(source);
            return rc;
        }
        if (m->type && strcmp(m->type, "bind") == 0)
            m->bind = true;
        if (source && m->bind) {
            rc = resolve_path(p, source, &m->source);
            free(source);
            if (rc)
                return rc;
        } else {
            m->source = source;
        }
        key_join(opath, ipath, "destination");
        if (!m->destination)
            return jp_fail(p, opath, "required");
        key_join(opath, ipath, "source");
        if (m->bind && (!m->source || !*m->source))
            return jp_fail(p, opath, "required for a bind mount");
    }
    return 0;
}

/* ----------------------------------------------------------------- linux */

static int parse_namespaces(struct jp *p, json_object *lx, const char *lp, struct ct_spec *s)
{
    char path[KEY_MAX], ipath[KEY_MAX], tpath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, lx, lp, "namespaces", &arr, &n, path);
    for (size_t i = 0; !rc && i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *t;
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = member(p, o, ipath, "type", json_type_string, &t, tpath)))
            return rc;
        if (!t)
            return jp_fail(p, tpath, "required");
        const char *name = json_object_get_string(t);
        int ns = -1;
        for (int k = 0; k < CT_NS_COUNT; k++)
            if (strcmp(name, ns_table[k].name) == 0)
                ns = k;
        if (ns < 0)
            return jp_fail(p, tpath, "unknown namespace '%s'", name);
        if (s->ns[ns].enabled)
            return jp_fail(p, tpath, "namespace '%s' listed twice", name);
        s->ns[ns].enabled = true;
        rc = get_abs_path(p, o, ipath, "path", &s->ns[ns].path);
    }
    return rc;
}

static int parse_idmaps(struct jp *p, json_object *lx, const char *lp, const char *key,
                        struct ct_idmap **out, size_t *nout)
{
    char path[KEY_MAX], ipath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, lx, lp, key, &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof **out, (void **)out)))
        return rc;
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        struct ct_idmap *m = &(*out)[i];
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_u32(p, o, ipath, "containerID", &m->container_id)) ||
            (rc = get_u32(p, o, ipath, "hostID", &m->host_id)) ||
            (rc = get_u32(p, o, ipath, "size", &m->size)))
            return rc;
        if (m->size == 0)
            return jp_fail(p, ipath, "size must be at least 1");
    }
    return 0;
}

static int device_type(struct jp *p, json_object *o, const char *parent, const char *allowed,
                       char dflt, char *out)
{
    char path[KEY_MAX];
    json_object *t;
    int rc = member(p, o, parent, "type", json_type_string, &t, path);
    if (rc)
        return rc;
    if (!t) {
        if (!dflt)
            return jp_fail(p, path, "required");
        *out = dflt;
        return 0;
    }
    const char *s = json_object_get_string(t);
    if (strlen(s) != 1 || !strchr(allowed, s[0]))
        return jp_fail(p, path, "unknown device type '%s'", s);
    *out = s[0];
    return 0;
}

static int parse_devices(struct jp *p, json_object *lx, const char *lp, struct ct_spec *s)
{
    char path[KEY_MAX], ipath[KEY_MAX], kpath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, lx, lp, "devices", &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof *s->devices, (void **)&s->devices)))
        return rc;
    s->ndevices = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *v;
        struct ct_device *d = &s->devices[i];
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_abs_path(p, o, ipath, "path", &d->path)) ||
            (rc = device_type(p, o, ipath, "cbup", 0, &d->type)) ||
            (rc = get_u32(p, o, ipath, "fileMode", &d->mode)) ||
            (rc = get_u32(p, o, ipath, "uid", &d->uid)) ||
            (rc = get_u32(p, o, ipath, "gid", &d->gid)))
            return rc;
        key_join(kpath, ipath, "path");
        if (!d->path)
            return jp_fail(p, kpath, "required");
        d->mode &= 07777;
        if (d->type == 'p')
            continue;
        const char *nums[] = {"major", "minor"};
        for (int k = 0; k < 2; k++) {
            if ((rc = member(p, o, ipath, nums[k], json_type_int, &v, kpath)))
                return rc;
            if (!v)
                return jp_fail(p, kpath, "required for a '%c' device", d->type);
        }
        if ((rc = get_u32(p, o, ipath, "major", &d->major)) ||
            (rc = get_u32(p, o, ipath, "minor", &d->minor)))
            return rc;
    }
    return 0;
}

static int parse_throttle(struct jp *p, json_object *bio, const char *bp, const char *key,
                          struct ct_throttle **out, size_t *nout)
{
    char path[KEY_MAX], ipath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, bio, bp, key, &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof **out, (void **)out)))
        return rc;
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        struct ct_throttle *t = &(*out)[i];
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_u32(p, o, ipath, "major", &t->major)) ||
            (rc = get_u32(p, o, ipath, "minor", &t->minor)) ||
            (rc = get_u64(p, o, ipath, "rate", &t->rate)))
            return rc;
    }
    return 0;
}

static int parse_device_rules(struct jp *p, json_object *res, const char *rp,
                              struct ct_resources *r)
{
    char path[KEY_MAX], ipath[KEY_MAX], apath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, res, rp, "devices", &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof *r->devices, (void **)&r->devices)))
        return rc;
    r->ndevices = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *a;
        struct ct_device_rule *d = &r->devices[i];
        d->major = d->minor = -1;
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_bool(p, o, ipath, "allow", &d->allow)) ||
            (rc = device_type(p, o, ipath, "acb", 'a', &d->type)) ||
            (rc = get_int(p, o, ipath, "major", -1, UINT32_MAX, &d->major)) ||
            (rc = get_int(p, o, ipath, "minor", -1, UINT32_MAX, &d->minor)) ||
            (rc = member(p, o, ipath, "access", json_type_string, &a, apath)))
            return rc;
        const char *acc = a ? json_object_get_string(a) : "rwm";
        if (!*acc)
            acc = "rwm";        /* runc: empty means everything */
        size_t k = 0;
        for (; acc[k]; k++)
            if (k >= 3 || !strchr("rwm", acc[k]) || strchr(acc + k + 1, acc[k]))
                return jp_fail(p, apath, "bad access '%s' (a subset of \"rwm\")", acc);
        memcpy(d->access, acc, k + 1);
    }
    return 0;
}

void ct_resources_init(struct ct_resources *r)
{
    memset(r, 0, sizeof *r);
    r->memory_limit = r->memory_reservation = r->memory_swap = CT_UNSET;
    r->cpu_quota = CT_UNSET;
    r->pids_limit = CT_UNSET;
}

static int parse_resources(struct jp *p, json_object *lx, const char *lp, struct ct_resources *r)
{
    char rp[KEY_MAX], sp[KEY_MAX];
    json_object *res, *sub;
    int rc = member(p, lx, lp, "resources", json_type_object, &res, rp);
    if (rc || !res)
        return rc;
    if ((rc = member(p, res, rp, "memory", json_type_object, &sub, sp)) ||
        (rc = get_int(p, sub, sp, "limit", -1, INT64_MAX, &r->memory_limit)) ||
        (rc = get_int(p, sub, sp, "reservation", -1, INT64_MAX, &r->memory_reservation)) ||
        (rc = get_int(p, sub, sp, "swap", -1, INT64_MAX, &r->memory_swap)))
        return rc;
    if ((rc = member(p, res, rp, "cpu", json_type_object, &sub, sp)) ||
        (rc = get_u64(p, sub, sp, "shares", &r->cpu_shares)) ||
        (rc = get_int(p, sub, sp, "quota", -1, INT64_MAX, &r->cpu_quota)) ||
        (rc = get_u64(p, sub, sp, "period", &r->cpu_period)) ||
        (rc = get_string(p, sub, sp, "cpus", &r->cpuset_cpus)) ||
        (rc = get_string(p, sub, sp, "mems", &r->cpuset_mems)))
        return rc;
    if ((rc = member(p, res, rp, "pids", json_type_object, &sub, sp)) ||
        (rc = get_int(p, sub, sp, "limit", INT64_MIN + 1, INT64_MAX, &r->pids_limit)))
        return rc;
    if ((rc = member(p, res, rp, "blockIO", json_type_object, &sub, sp)))
        return rc;
    if (sub) {
        uint32_t w = 0;
        char wp[KEY_MAX];
        if ((rc = get_u32(p, sub, sp, "weight", &w)))
            return rc;
        key_join(wp, sp, "weight");
        if (w && (w < 10 || w > 1000))
            return jp_fail(p, wp, "%u is not in 10..1000", w);
        r->blkio_weight = (uint16_t)w;
        if ((rc = parse_throttle(p, sub, sp, "throttleReadBpsDevice", &r->read_bps,
                                 &r->nread_bps)) ||
            (rc = parse_throttle(p, sub, sp, "throttleWriteBpsDevice", &r->write_bps,
                                 &r->nwrite_bps)) ||
            (rc = parse_throttle(p, sub, sp, "throttleReadIOPSDevice", &r->read_iops,
                                 &r->nread_iops)) ||
            (rc = parse_throttle(p, sub, sp, "throttleWriteIOPSDevice", &r->write_iops,
                                 &r->nwrite_iops)))
            return rc;
    }
    return parse_device_rules(p, res, rp, r);
}

static int lookup_action(struct jp *p, json_object *o, const char *parent, const char *key,
                         const char *errno_key, uint16_t dflt_errno, uint32_t *out)
{
    char path[KEY_MAX], epath[KEY_MAX];
    json_object *a;
    int rc = member(p, o, parent, key, json_type_string, &a, path);
    if (rc)
        return rc;
    if (!a)
        return jp_fail(p, path, "required");
    const char *name = json_object_get_string(a);
    if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return jp_fail(p, path, "SCMP_ACT_NOTIFY is not supported");
    size_t k = 0;
    while (k < ARRAY_LEN(scmp_action_table) && strcmp(name, scmp_action_table[k].name) != 0)
        k++;
    if (k == ARRAY_LEN(scmp_action_table))
        return jp_fail(p, path, "unknown seccomp action '%s'", name);
    *out = scmp_action_table[k].action;
    if (*out == SCMP_ACT_ERRNO(0) || *out == SCMP_ACT_TRACE(0)) {
        int64_t e = dflt_errno;
        json_object *ev;
        if ((rc = member(p, o, parent, errno_key, json_type_int, &ev, epath)))
            return rc;
        if (ev && (rc = int_value(p, ev, epath, 0, 0xffff, &e)))
            return rc;
        *out |= (uint32_t)e;
    }
    return 0;
}

static int parse_seccomp_args(struct jp *p, json_object *sc, const char *sp,
                              struct ct_seccomp_rule *r)
{
    char path[KEY_MAX], ipath[KEY_MAX], opath[KEY_MAX];
    json_object *arr;
    size_t n;
    int rc = get_array(p, sc, sp, "args", &arr, &n, path);
    if (rc || !arr)
        return rc;
    if ((rc = alloc_array(p, n, sizeof *r->args, (void **)&r->args)))
        return rc;
    r->nargs = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *op;
        struct ct_seccomp_arg *a = &r->args[i];
        int64_t idx = 0;
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_int(p, o, ipath, "index", 0, 5, &idx)) ||
            (rc = get_u64(p, o, ipath, "value", &a->value)) ||
            (rc = get_u64(p, o, ipath, "valueTwo", &a->value_two)) ||
            (rc = member(p, o, ipath, "op", json_type_string, &op, opath)))
            return rc;
        a->index = (unsigned)idx;
        if (!op)
            return jp_fail(p, opath, "required");
        const char *name = json_object_get_string(op);
        size_t k = 0;
        while (k < ARRAY_LEN(scmp_op_table) && strcmp(name, scmp_op_table[k].name) != 0)
            k++;
        if (k == ARRAY_LEN(scmp_op_table))
            return jp_fail(p, opath, "unknown seccomp operator '%s'", name);
        a->op = scmp_op_table[k].op;
    }
    return 0;
}

static int parse_seccomp(struct jp *p, json_object *lx, const char *lp, struct ct_spec *s)
{
    char sp[KEY_MAX], path[KEY_MAX], ipath[KEY_MAX];
    json_object *sc, *arr;
    size_t n;
    int rc = member(p, lx, lp, "seccomp", json_type_object, &sc, sp);
    if (rc || !sc)
        return rc;
    struct ct_seccomp *out = calloc(1, sizeof *out);
    if (!out)
        return err_set(p->err, -ENOMEM, "out of memory");
    s->seccomp = out;
    int64_t dflt_errno = EPERM;
    if ((rc = get_int(p, sc, sp, "defaultErrnoRet", 0, 0xffff, &dflt_errno)) ||
        (rc = lookup_action(p, sc, sp, "defaultAction", "defaultErrnoRet", (uint16_t)dflt_errno,
                            &out->default_action)))
        return rc;

    if ((rc = get_array(p, sc, sp, "architectures", &arr, &n, path)))
        return rc;
    if ((rc = alloc_array(p, n, sizeof *out->arches, (void **)&out->arches)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        key_index(ipath, path, i);
        if ((rc = string_value(p, json_object_array_get_idx(arr, i), ipath, &name)))
            return rc;
        if (strncmp(name, "SCMP_ARCH_", 10) != 0)
            return jp_fail(p, ipath, "unknown architecture '%s'", name);
        char lower[32];
        size_t k = 0;
        for (const char *c = name + 10; *c && k + 1 < sizeof lower; c++)
            lower[k++] = (char)tolower((unsigned char)*c);
        lower[k] = '\0';
        /* An architecture this libseccomp does not know cannot be running
         * here: skip it, as runc does. */
        uint32_t arch = seccomp_arch_resolve_name(lower);
        if (arch)
            out->arches[out->narches++] = arch;
    }

    if ((rc = get_array(p, sc, sp, "syscalls", &arr, &n, path)))
        return rc;
    if ((rc = alloc_array(p, n, sizeof *out->rules, (void **)&out->rules)))
        return rc;
    out->nrules = n;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        struct ct_seccomp_rule *r = &out->rules[i];
        key_index(ipath, path, i);
        if ((rc = check_type(p, o, json_type_object, ipath)) ||
            (rc = get_strv(p, o, ipath, "names", false, &r->names, &r->nnames)) ||
            (rc = lookup_action(p, o, ipath, "action", "errnoRet", EPERM, &r->action)) ||
            (rc = parse_seccomp_args(p, o, ipath, r)))
            return rc;
        if (r->nnames == 0) {
            char np[KEY_MAX];
            key_join(np, ipath, "names");
            return jp_fail(p, np, "at least one name is required");
        }
    }
    return 0;
}

static int parse_linux(struct jp *p, json_object *root, struct ct_spec *s)
{
    char lp[KEY_MAX], path[KEY_MAX];
    json_object *lx, *v;
    int rc = member(p, root, "", "linux", json_type_object, &lx, lp);
    if (rc || !lx)
        return rc;
    if ((rc = parse_namespaces(p, lx, lp, s)) ||
        (rc = parse_idmaps(p, lx, lp, "uidMappings", &s->uid_mappings, &s->nuid_mappings)) ||
        (rc = parse_idmaps(p, lx, lp, "gidMappings", &s->gid_mappings, &s->ngid_mappings)) ||
        (rc = parse_devices(p, lx, lp, s)) ||
        (rc = parse_resources(p, lx, lp, &s->resources)) ||
        (rc = get_string(p, lx, lp, "cgroupsPath", &s->cgroups_path)) ||
        (rc = get_strv(p, lx, lp, "maskedPaths", true, &s->masked_paths, &s->nmasked)) ||
        (rc = get_strv(p, lx, lp, "readonlyPaths", true, &s->readonly_paths, &s->nreadonly)) ||
        (rc = member(p, lx, lp, "rootfsPropagation", json_type_string, &v, path)))
        return rc;
    if (v && *json_object_get_string(v)) {
        const char *name = json_object_get_string(v);
        size_t k = 0;
        while (k < ARRAY_LEN(propagation_table) && strcmp(name, propagation_table[k].name) != 0)
            k++;
        if (k == ARRAY_LEN(propagation_table))
            return jp_fail(p, path, "unknown propagation '%s'", name);
        s->rootfs_propagation = propagation_table[k].flags;
    }
    if ((rc = parse_seccomp(p, lx, lp, s)) ||
        (rc = get_string_map(p, lx, lp, "sysctl", &s->sysctl_keys, &s->sysctl_values,
                             &s->nsysctl)))
        return rc;
    if (s->cgroups_path && !*s->cgroups_path) {
        free(s->cgroups_path);
        s->cgroups_path = NULL;
    }
    return 0;
}

/* ------------------------------------------------------------ top level */

/* Strict JSON, the whole text (trailing white space only), an object. */
static int parse_json(struct jp *p, const char *text, json_object **out)
{
    *out = NULL;
    if (!text)
        return jp_fail(p, "", "no text");
    size_t len = strlen(text);
    if (len > INT_MAX)
        return jp_fail(p, "", "too large");
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return err_set(p->err, -ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!obj || jerr != json_tokener_success) {
        json_object_put(obj);
        if (jerr == json_tokener_continue)
            return jp_fail(p, "", "truncated JSON");
        return jp_fail(p, "", "bad JSON at offset %zu: %s", used,
                       json_tokener_error_desc(jerr));
    }
    for (size_t i = used; i < len; i++)
        if (!isspace((unsigned char)text[i])) {
            json_object_put(obj);
            return jp_fail(p, "", "trailing data at offset %zu", i);
        }
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return jp_fail(p, "", "must be a JSON object");
    }
    *out = obj;
    return 0;
}

int ct_spec_parse(const char *json, const char *bundle, struct ct_spec **out,
                  struct disco_err *err)
{
    struct jp p = {.err = err, .file = "config.json", .bundle = bundle};
    char path[KEY_MAX];
    json_object *root, *o;
    *out = NULL;
    int rc = parse_json(&p, json, &root);
    if (rc)
        return rc;
    struct ct_spec *s = calloc(1, sizeof *s);
    if (!s) {
        json_object_put(root);
        return err_set(err, -ENOMEM, "out of memory");
    }
    ct_resources_init(&s->resources);
    char *root_path = NULL;
    if ((rc = get_string(&p, root, "", "ociVersion", &s->oci_version)) ||
        (rc = member(&p, root, "", "root", json_type_object, &o, path)))
        goto fail;
    if (!o) {
        rc = jp_fail(&p, path, "required");
        goto fail;
    }
    if ((rc = get_string(&p, o, path, "path", &root_path)) ||
        (rc = get_bool(&p, o, path, "readonly", &s->root_readonly)))
        goto fail;
    key_join(path, "root", "path");
    if (!root_path || !*root_path) {
        rc = jp_fail(&p, path, "required");
        goto fail;
    }
    if ((rc = resolve_path(&p, root_path, &s->root_path)))
        goto fail;
    if ((rc = get_string(&p, root, "", "hostname", &s->hostname)) ||
        (rc = member(&p, root, "", "process", json_type_object, &o, path)))
        goto fail;
    if (!o) {
        rc = jp_fail(&p, path, "required");
        goto fail;
    }
    if ((rc = parse_process(&p, o, "process", &s->process)) ||
        (rc = parse_mounts(&p, root, s)) ||
        (rc = parse_linux(&p, root, s)) ||
        (rc = get_string_map(&p, root, "", "annotations", &s->annotation_keys,
                             &s->annotation_values, &s->nannotations)))
        goto fail;
    /* "" means "not set" for both, as in runc. */
    if (s->hostname && !*s->hostname) {
        free(s->hostname);
        s->hostname = NULL;
    }
    free(root_path);
    json_object_put(root);
    *out = s;
    return 0;
fail:
    free(root_path);
    json_object_put(root);
    ct_spec_free(s);
    return rc;
}

int ct_spec_load(const char *bundle, struct ct_spec **out, struct disco_err *err)
{
    *out = NULL;
    char *abs = realpath(bundle, NULL);
    if (!abs)
        return err_errno(err, errno, "bundle '%s'", bundle);
    char *file = NULL;
    if (asprintf(&file, "%s/config.json", abs) < 0) {
        free(abs);
        return err_set(err, -ENOMEM, "out of memory");
    }
    int rc = 0;
    char *text = NULL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = err_errno(err, errno, "%s", file);
        goto out;
    }
    /* config.json is a few KiB; a large one is a mistake, not a spec. */
    if (!S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
        rc = err_set(err, -EINVAL, "%s: not a regular file under 16 MiB", file);
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(text = malloc(size + 1))) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    while (got < size) {
        ssize_t r = read(fd, text + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err_errno(err, errno, "read %s", file);
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    text[got] = '\0';
    if (strlen(text) != got) {
        rc = err_set(err, -EINVAL, "%s: contains a NUL byte", file);
        goto out;
    }
    rc = ct_spec_parse(text, abs, out, err);
out:
    if (fd >= 0)
        close(fd);
    free(text);
    free(file);
    free(abs);
    return rc;
}

int ct_process_parse(const char *json, struct ct_process *out, struct disco_err *err)
{
    struct jp p = {.err = err, .file = NULL};
    json_object *root;
    memset(out, 0, sizeof *out);
    int rc = parse_json(&p, json, &root);
    if (rc)
        return rc;
    rc = parse_process(&p, root, "process", out);
    json_object_put(root);
    if (rc)
        ct_process_clear(out);
    return rc;
}

void ct_spec_free(struct ct_spec *s)
{
    if (!s)
        return;
    free(s->oci_version);
    free(s->root_path);
    free(s->hostname);
    ct_process_clear(&s->process);
    for (size_t i = 0; i < s->nmounts; i++) {
        struct ct_mount *m = &s->mounts[i];
        free(m->destination);
        free(m->type);
        free(m->source);
        free(m->data);
    }
    free(s->mounts);
    for (int i = 0; i < CT_NS_COUNT; i++)
        free(s->ns[i].path);
    free(s->uid_mappings);
    free(s->gid_mappings);
    for (size_t i = 0; i < s->ndevices; i++)
        free(s->devices[i].path);
    free(s->devices);
    struct ct_resources *r = &s->resources;
    free(r->cpuset_cpus);
    free(r->cpuset_mems);
    free(r->read_bps);
    free(r->write_bps);
    free(r->read_iops);
    free(r->write_iops);
    free(r->devices);
    free(s->cgroups_path);
    free_strv(s->masked_paths, s->nmasked);
    free_strv(s->readonly_paths, s->nreadonly);
    ct_seccomp_free(s->seccomp);
    free_strv(s->sysctl_keys, s->nsysctl);
    free_strv(s->sysctl_values, s->nsysctl);
    free_strv(s->annotation_keys, s->nannotations);
    free_strv(s->annotation_values, s->nannotations);
    free(s);
}

/* -------------------------------------------------------------- defaults */

/* runc's bounding (and effective, permitted, ambient) set of `runc spec`. */
uint64_t ct_caps_default(void)
{
    return 1ull << CAP_AUDIT_WRITE | 1ull << CAP_KILL | 1ull << CAP_NET_BIND_SERVICE;
}

/* What Docker and Podman give a container's root, less CAP_MKNOD: device
 * nodes come from add_device_node, and on cgroup v2 disco writes no device
 * rules that would stop a node made for the host's disk. */
uint64_t ct_caps_container(void)
{
    static const int caps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,   CAP_FOWNER,
                               CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,   CAP_SETFCAP,
                               CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
                               CAP_AUDIT_WRITE};
    uint64_t m = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        m |= 1ull << caps[i];
    return m;
}

/* runc's lists (libcontainer/specconv Example()). */
const char *const ct_default_masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi", NULL,
};
const char *const ct_default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* json-c building: each value is attached to its parent as soon as it is
 * made, so on any failure freeing the root frees everything. jset / jpush
 * return the value attached (NULL, having freed it, on failure). */
static json_object *jset(json_object *o, const char *key, json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return NULL;
    }
    return v;
}

static json_object *jpush(json_object *a, json_object *v)
{
    if (!a || !v || json_object_array_add(a, v) != 0) {
        json_object_put(v);
        return NULL;
    }
    return v;
}

static json_object *jstrs(const char *const *v)
{
    json_object *a = json_object_new_array();
    for (; a && *v; v++)
        if (!jpush(a, json_object_new_string(*v))) {
            json_object_put(a);
            return NULL;
        }
    return a;
}

static bool jmount(json_object *mounts, const char *dest, const char *type, const char *source,
                   const char *const *options)
{
    json_object *m = jpush(mounts, json_object_new_object());
    return jset(m, "destination", json_object_new_string(dest)) &&
           jset(m, "type", json_object_new_string(type)) &&
           jset(m, "source", json_object_new_string(source)) &&
           (!options || jset(m, "options", jstrs(options)));
}

static bool jidmap(json_object *lx, const char *key, uint32_t host)
{
    json_object *m = jpush(jset(lx, key, json_object_new_array()), json_object_new_object());
    return jset(m, "containerID", json_object_new_int(0)) &&
           jset(m, "hostID", json_object_new_int64(host)) &&
           jset(m, "size", json_object_new_int(1));
}

/* What `runc spec` (1.1) prints, hostname "disco", a cgroup namespace and
 * disco's default seccomp profile; rootless: what `runc spec --rootless`
 * changes. */
static json_object *default_spec_object(bool rootless, uid_t uid, gid_t gid)
{
    static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                       NULL};
    static const char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};
    static const char *const args[] = {"sh", NULL};
    static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
                                           NULL};
    static const char *const pts_opts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                           "mode=0620", "gid=5", NULL};
    /* Rootless: gid 5 (tty) is not mapped, devpts would refuse it. */
    static const char *const pts_opts_rootless[] = {"nosuid", "noexec", "newinstance",
                                                    "ptmxmode=0666", "mode=0620", NULL};
    static const char *const shm_opts[] = {"nosuid", "noexec", "nodev", "mode=1777",
                                           "size=65536k", NULL};
    static const char *const mq_opts[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sys_opts[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    /* Rootless: sysfs cannot be mounted without owning the network
     * namespace's user namespace; bind the host's. */
    static const char *const sys_opts_rootless[] = {"rbind", "nosuid", "noexec", "nodev", "ro",
                                                    NULL};
    static const char *const cg_opts[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

    json_object *spec = json_object_new_object();
    bool ok = jset(spec, "ociVersion", json_object_new_string("1.0.2-dev"));
    json_object *proc = jset(spec, "process", json_object_new_object());
    ok = ok && jset(proc, "terminal", json_object_new_boolean(1));
    json_object *user = jset(proc, "user", json_object_new_object());
    ok = ok && jset(user, "uid", json_object_new_int(0)) &&
         jset(user, "gid", json_object_new_int(0)) && jset(proc, "args", jstrs(args)) &&
         jset(proc, "env", jstrs(env)) && jset(proc, "cwd", json_object_new_string("/"));
    json_object *capo = jset(proc, "capabilities", json_object_new_object());
    ok = ok && jset(capo, "bounding", jstrs(caps)) && jset(capo, "effective", jstrs(caps)) &&
         jset(capo, "permitted", jstrs(caps)) && jset(capo, "ambient", jstrs(caps));
    json_object *rl = jpush(jset(proc, "rlimits", json_object_new_array()),
                            json_object_new_object());
    ok = ok && jset(rl, "type", json_object_new_string("RLIMIT_NOFILE")) &&
         jset(rl, "hard", json_object_new_int(1024)) &&
         jset(rl, "soft", json_object_new_int(1024)) &&
         jset(proc, "noNewPrivileges", json_object_new_boolean(1));
    json_object *root = jset(spec, "root", json_object_new_object());
    ok = ok && jset(root, "path", json_object_new_string("rootfs")) &&
         jset(root, "readonly", json_object_new_boolean(1)) &&
         jset(spec, "hostname", json_object_new_string("disco"));
    json_object *mounts = jset(spec, "mounts", json_object_new_array());
    ok = ok && jmount(mounts, "/proc", "proc", "proc", NULL) &&
         jmount(mounts, "/dev", "tmpfs", "tmpfs", dev_opts) &&
         jmount(mounts, "/dev/pts", "devpts", "devpts", rootless ? pts_opts_rootless : pts_opts) &&
         jmount(mounts, "/dev/shm", "tmpfs", "shm", shm_opts) &&
         jmount(mounts, "/dev/mqueue", "mqueue", "mqueue", mq_opts) &&
         (rootless ? jmount(mounts, "/sys", "none", "/sys", sys_opts_rootless)
                   : jmount(mounts, "/sys", "sysfs", "sysfs", sys_opts)) &&
         jmount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup", cg_opts);
    json_object *lx = jset(spec, "linux", json_object_new_object());
    if (rootless) {
        ok = ok && jidmap(lx, "uidMappings", uid) && jidmap(lx, "gidMappings", gid);
    } else {
        json_object *res = jset(lx, "resources", json_object_new_object());
        json_object *deny = jpush(jset(res, "devices", json_object_new_array()),
                                  json_object_new_object());
        ok = ok && jset(deny, "allow", json_object_new_boolean(0)) &&
             jset(deny, "access", json_object_new_string("rwm"));
    }
    const char *ns_names[] = {"pid", rootless ? NULL : "network", "ipc", "uts", "mount",
                              "cgroup", rootless ? "user" : NULL};
    json_object *nss = jset(lx, "namespaces", json_object_new_array());
    for (size_t i = 0; ok && i < ARRAY_LEN(ns_names); i++)
        if (ns_names[i])
            ok = jset(jpush(nss, json_object_new_object()), "type",
                      json_object_new_string(ns_names[i]));
    ok = ok && jset(lx, "maskedPaths", jstrs(ct_default_masked_paths)) &&
         jset(lx, "readonlyPaths", jstrs(ct_default_readonly_paths));
    if (ok) {
        char *sc_text = ct_seccomp_default_json();
        ok = jset(lx, "seccomp", sc_text ? json_tokener_parse(sc_text) : NULL);
        free(sc_text);
    }
    if (!ok) {
        json_object_put(spec);
        return NULL;
    }
    return spec;
}

char *ct_spec_default_json(bool rootless, uid_t uid, gid_t gid)
{
    json_object *spec = default_spec_object(rootless, uid, gid);
    if (!spec)
        return NULL;
    const char *text = json_object_to_json_string_ext(
        spec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_SPACED |
            JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = text ? strdup(text) : NULL;
    json_object_put(spec);
    return out;
}

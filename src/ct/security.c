/* Privileges of a container's processes: the seccomp filter compiled with
 * libseccomp (parent side), and the child-side steps that apply rlimits,
 * uid/gid, capabilities, no_new_privs and the filter.
 *
 * Child side rule (ct/child.h): only system calls, no malloc, no stdio, and
 * raw syscalls for set*id: glibc's setresuid/setgroups broadcast the change
 * to every thread it knows of, and in a clone of the multi-threaded daemon
 * its thread list still names the parent's threads. */
#define _GNU_SOURCE
#include "ct/security.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- compiling */

/* runc's rule for arguments: comparisons on distinct arguments are one rule
 * (all must match); when an argument index repeats, each comparison is its
 * own rule (any may match), which is how profiles express "arg0 is A or B". */
static bool args_index_repeats(const struct ct_seccomp_rule *r)
{
    for (size_t i = 0; i < r->nargs; i++)
        for (size_t j = i + 1; j < r->nargs; j++)
            if (r->args[i].index == r->args[j].index)
                return true;
    return false;
}

static int add_rule(scmp_filter_ctx ctx, const struct ct_seccomp_rule *r, const char *name,
                    struct disco_err *err)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;               /* unknown to this libseccomp: skipped, as runc does */
    struct scmp_arg_cmp cmp[6];
    int rc = 0;
    if (r->nargs == 0) {
        rc = seccomp_rule_add_array(ctx, r->action, nr, 0, NULL);
    } else if (r->nargs <= 6 && !args_index_repeats(r)) {
        for (size_t i = 0; i < r->nargs; i++)
            cmp[i] = (struct scmp_arg_cmp){r->args[i].index, (enum scmp_compare)r->args[i].op,
                                           r->args[i].value, r->args[i].value_two};
        rc = seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->nargs, cmp);
    } else {
        for (size_t i = 0; i < r->nargs && rc == 0; i++) {
            cmp[0] = (struct scmp_arg_cmp){r->args[i].index, (enum scmp_compare)r->args[i].op,
                                           r->args[i].value, r->args[i].value_two};
            rc = seccomp_rule_add_array(ctx, r->action, nr, 1, cmp);
        }
    }
    if (rc < 0)
        return err_errno(err, -rc, "seccomp: rule for '%s'", name);
    return 0;
}

int ct_seccomp_compile(const struct ct_seccomp *sc, struct ct_bpf *out, struct disco_err *err)
{
    out->filter = NULL;
    out->len = 0;
    scmp_filter_ctx ctx = seccomp_init(sc->default_action);
    if (!ctx)
        return err_set(err, -EINVAL, "seccomp: bad default action 0x%x", sc->default_action);
    int rc = 0, fd = -1;
    for (size_t i = 0; i < sc->narches && rc == 0; i++) {
        rc = seccomp_arch_add(ctx, sc->arches[i]);
        if (rc == -EEXIST)
            rc = 0;             /* the native one, already there */
        if (rc < 0)
            rc = err_errno(err, -rc, "seccomp: architecture 0x%x", sc->arches[i]);
    }
    for (size_t i = 0; i < sc->nrules && rc == 0; i++) {
        const struct ct_seccomp_rule *r = &sc->rules[i];
        /* libseccomp refuses a rule whose action is the default (-EACCES);
         * it would change nothing anyway. */
        if (r->action == sc->default_action)
            continue;
        for (size_t k = 0; k < r->nnames && rc == 0; k++)
            rc = add_rule(ctx, r, r->names[k], err);
    }
    if (rc)
        goto out;
    fd = memfd_create("disco-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        rc = err_errno(err, errno, "seccomp: memfd_create");
        goto out;
    }
    if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
        rc = err_errno(err, -rc, "seccomp: export");
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = err_errno(err, errno, "seccomp: fstat");
        goto out;
    }
    size_t size = (size_t)st.st_size, n = size / sizeof(struct sock_filter);
    if (size == 0 || size % sizeof(struct sock_filter) || n > BPF_MAXINSNS) {
        rc = err_set(err, -E2BIG, "seccomp: filter of %zu bytes (the kernel takes %d instructions)",
                     size, BPF_MAXINSNS);
        goto out;
    }
    out->filter = malloc(size);
    if (!out->filter) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t got = 0; got < size;) {
        ssize_t r = pread(fd, (char *)out->filter + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = err_errno(err, r < 0 ? errno : EIO, "seccomp: read back the filter");
            goto out;
        }
        got += (size_t)r;
    }
    out->len = (unsigned short)n;
out:
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    if (rc)
        ct_bpf_free(out);
    return rc;
}

void ct_bpf_free(struct ct_bpf *b)
{
    if (!b)
        return;
    free(b->filter);
    b->filter = NULL;
    b->len = 0;
}

/* ------------------------------------------------------ default profile */

/* Denied with EPERM; everything else is allowed, and what needs privilege
 * is left to the capability sets. Names this libseccomp does not know (or
 * that do not exist on an architecture) are skipped when compiling. */
static const char *const default_deny[] = {
    "acct",                 /* process accounting: a host-wide file */
    "add_key",              /* kernel keyrings are not namespaced */
    "bpf",                  /* eBPF programs: kernel attack surface, host-wide maps */
    "clock_adjtime",        /* the clocks are host-wide */
    "clock_adjtime64",
    "clock_settime",
    "clock_settime64",
    "create_module",        /* kernel modules */
    "delete_module",
    "finit_module",
    "get_kernel_syms",
    "init_module",
    "query_module",
    "ioperm",               /* raw I/O port access */
    "iopl",
    "kcmp",                 /* compares kernel pointers of other processes' objects */
    "kexec_file_load",      /* loading a new kernel */
    "kexec_load",
    "keyctl",               /* keyrings again */
    "request_key",
    "lookup_dcookie",       /* profiling interface, host paths */
    "name_to_handle_at",    /* file handles: the way into... */
    "open_by_handle_at",    /* ...files outside the root ("shocker") */
    "nfsservctl",           /* the host's NFS server */
    "perf_event_open",      /* kernel profiling: leaks and attack surface */
    "process_vm_readv",     /* other processes' memory, beside ptrace's checks */
    "process_vm_writev",
    "quotactl",             /* host file system quotas */
    "quotactl_fd",
    "reboot",               /* the host (the pid namespace turns it into exit, but no need) */
    "settimeofday",         /* the clock again */
    "stime",
    "swapon",               /* the host's swap */
    "swapoff",
    "sysfs",                /* obsolete file system type queries */
    "_sysctl",              /* obsolete binary sysctl */
    "uselib",               /* obsolete a.out loader */
    "userfaultfd",          /* makes kernel races easy to win */
    "ustat",                /* obsolete */
    "vm86",                 /* 32-bit x86 virtual 8086 mode */
    "vm86old",
    /* Allowed on purpose: mount/umount/pivot_root/setns and unshare/clone
     * of namespaces other than the user one (container tools nest, and each
     * needs CAP_SYS_ADMIN, which the default capability set does not have);
     * ptrace (bounded by the pid namespace). */
};

/* A new user namespace needs no capability at all, and hands its creator
 * every capability inside it: the kernel's namespaced code (netfilter,
 * mounts of some file systems...) becomes reachable, the root of many
 * container escapes. Docker's profile denies it the same way. clone3's
 * flags are in memory seccomp cannot read: ENOSYS, which C libraries take
 * as "use clone". */
static const struct ct_seccomp_arg newuser_arg0 = {
    .index = 0, .value = CLONE_NEWUSER, .value_two = CLONE_NEWUSER, .op = SCMP_CMP_MASKED_EQ};

/* The architectures a process here can run: the native one and the 32-bit
 * ABIs the kernel also accepts, so `int 0x80` cannot go around the filter. */
static size_t default_arches(uint32_t *out)
{
    size_t n = 0;
    out[n++] = seccomp_arch_native();
#if defined(__x86_64__)
    out[n++] = SCMP_ARCH_X86;
    out[n++] = SCMP_ARCH_X32;
#elif defined(__aarch64__)
    out[n++] = SCMP_ARCH_ARM;
#endif
    return n;
}

void ct_seccomp_free(struct ct_seccomp *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->nrules; i++) {
        struct ct_seccomp_rule *r = &sc->rules[i];
        if (r->names)
            for (size_t k = 0; k < r->nnames; k++)
                free(r->names[k]);
        free(r->names);
        free(r->args);
    }
    free(sc->rules);
    free(sc->arches);
    free(sc);
}

struct ct_seccomp *ct_seccomp_default(void)
{
    struct ct_seccomp *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->default_action = SCMP_ACT_ALLOW;
    sc->arches = calloc(4, sizeof *sc->arches);
    sc->rules = calloc(4, sizeof *sc->rules);
    if (!sc->arches || !sc->rules)
        goto fail;
    sc->narches = default_arches(sc->arches);
    static const struct {
        const char *name;
        int errno_ret;
        bool newuser;
    } extra[] = {{"unshare", EPERM, true}, {"clone", EPERM, true}, {"clone3", ENOSYS, false}};
    for (size_t i = 0; i < ARRAY_LEN(extra); i++) {
        struct ct_seccomp_rule *x = &sc->rules[1 + i];
        sc->nrules = 2 + i;
        x->action = SCMP_ACT_ERRNO((uint32_t)extra[i].errno_ret);
        x->names = calloc(1, sizeof *x->names);
        if (!x->names || !(x->names[0] = strdup(extra[i].name)))
            goto fail;
        x->nnames = 1;
        if (extra[i].newuser) {
            if (!(x->args = malloc(sizeof *x->args)))
                goto fail;
            x->args[0] = newuser_arg0;
            x->nargs = 1;
        }
    }
    struct ct_seccomp_rule *r = &sc->rules[0];
    r->action = SCMP_ACT_ERRNO(EPERM);
    r->names = calloc(ARRAY_LEN(default_deny) + 1, sizeof *r->names);
    if (!r->names)
        goto fail;
    for (size_t i = 0; i < ARRAY_LEN(default_deny); i++) {
        if (!(r->names[i] = strdup(default_deny[i])))
            goto fail;
        r->nnames++;
    }
    return sc;
fail:
    ct_seccomp_free(sc);
    return NULL;
}

static const struct {
    uint32_t arch;
    const char *name;
} arch_names[] = {
    {SCMP_ARCH_X86, "SCMP_ARCH_X86"},         {SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64"},
    {SCMP_ARCH_X32, "SCMP_ARCH_X32"},         {SCMP_ARCH_ARM, "SCMP_ARCH_ARM"},
    {SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64"}, {SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64"},
    {SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE"}, {SCMP_ARCH_S390X, "SCMP_ARCH_S390X"},
    {SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64"},   {SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64"},
};

static const char *action_name(uint32_t action, bool *has_errno)
{
    *has_errno = false;
    /* The errno and trace actions carry their value in the low 16 bits. */
    if ((action & 0xffff0000u) == SCMP_ACT_ERRNO(0) || (action & 0xffff0000u) == SCMP_ACT_TRACE(0)) {
        *has_errno = true;
        return (action & 0xffff0000u) == SCMP_ACT_ERRNO(0) ? "SCMP_ACT_ERRNO" : "SCMP_ACT_TRACE";
    }
    switch (action) {
    case SCMP_ACT_KILL_PROCESS: return "SCMP_ACT_KILL_PROCESS";
    case SCMP_ACT_KILL_THREAD: return "SCMP_ACT_KILL";
    case SCMP_ACT_TRAP: return "SCMP_ACT_TRAP";
    case SCMP_ACT_LOG: return "SCMP_ACT_LOG";
    case SCMP_ACT_ALLOW: return "SCMP_ACT_ALLOW";
    }
    return NULL;
}

static const char *op_name(int op)
{
    static const char *const names[] = {
        [SCMP_CMP_NE] = "SCMP_CMP_NE", [SCMP_CMP_LT] = "SCMP_CMP_LT",
        [SCMP_CMP_LE] = "SCMP_CMP_LE", [SCMP_CMP_EQ] = "SCMP_CMP_EQ",
        [SCMP_CMP_GE] = "SCMP_CMP_GE", [SCMP_CMP_GT] = "SCMP_CMP_GT",
        [SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
    };
    return op > 0 && (size_t)op < ARRAY_LEN(names) ? names[op] : NULL;
}

/* Attach v to object o under key (or to array o when key is NULL);
 * returns v, or NULL having freed it. */
static json_object *jput(json_object *o, const char *key, json_object *v)
{
    int rc = -1;
    if (o && v)
        rc = key ? json_object_object_add(o, key, v) : json_object_array_add(o, v);
    if (rc != 0) {
        json_object_put(v);
        return NULL;
    }
    return v;
}

static bool put_action(json_object *o, const char *key, const char *errno_key, uint32_t action)
{
    bool has_errno;
    const char *name = action_name(action, &has_errno);
    return name && jput(o, key, json_object_new_string(name)) &&
           (!has_errno || jput(o, errno_key, json_object_new_int((int)(action & 0xffff))));
}

/* The "seccomp" object of config.json for a profile. */
static json_object *seccomp_to_json(const struct ct_seccomp *sc)
{
    json_object *o = json_object_new_object();
    bool ok = put_action(o, "defaultAction", "defaultErrnoRet", sc->default_action);
    json_object *arches = jput(o, "architectures", json_object_new_array());
    for (size_t i = 0; ok && i < sc->narches; i++) {
        size_t k = 0;
        while (k < ARRAY_LEN(arch_names) && arch_names[k].arch != sc->arches[i])
            k++;
        ok = k < ARRAY_LEN(arch_names) &&
             jput(arches, NULL, json_object_new_string(arch_names[k].name));
    }
    json_object *calls = jput(o, "syscalls", json_object_new_array());
    for (size_t i = 0; ok && i < sc->nrules; i++) {
        const struct ct_seccomp_rule *r = &sc->rules[i];
        json_object *call = jput(calls, NULL, json_object_new_object());
        json_object *names = jput(call, "names", json_object_new_array());
        for (size_t k = 0; ok && k < r->nnames; k++)
            ok = jput(names, NULL, json_object_new_string(r->names[k])) != NULL;
        ok = ok && put_action(call, "action", "errnoRet", r->action);
        json_object *args = r->nargs ? jput(call, "args", json_object_new_array()) : NULL;
        for (size_t k = 0; ok && k < r->nargs; k++) {
            const struct ct_seccomp_arg *a = &r->args[k];
            json_object *arg = jput(args, NULL, json_object_new_object());
            const char *op = op_name(a->op);
            ok = op && jput(arg, "index", json_object_new_int((int)a->index)) &&
                 jput(arg, "value", json_object_new_uint64(a->value)) &&
                 jput(arg, "valueTwo", json_object_new_uint64(a->value_two)) &&
                 jput(arg, "op", json_object_new_string(op));
        }
    }
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

char *ct_seccomp_default_json(void)
{
    struct ct_seccomp *sc = ct_seccomp_default();
    if (!sc)
        return NULL;
    json_object *o = seccomp_to_json(sc);
    ct_seccomp_free(sc);
    if (!o)
        return NULL;
    const char *text = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_SPACED |
            JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = text ? strdup(text) : NULL;
    json_object_put(o);
    return out;
}

int ct_cap_last(void)
{
    int last = CAP_LAST_CAP;
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = '\0';
            char *end;
            long v = strtol(buf, &end, 10);
            if (end != buf && v >= 0 && v < 64)
                last = (int)v;
        }
    }
    return last;
}

/* ------------------------------------------------------------ child side */

#ifdef SYS_setresuid32          /* 32-bit ABIs: the 16-bit-id calls have the plain names */
#define SYS_SETRESUID SYS_setresuid32
#define SYS_SETRESGID SYS_setresgid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETRESUID SYS_setresuid
#define SYS_SETRESGID SYS_setresgid
#define SYS_SETGROUPS SYS_setgroups
#endif

static const char *const rlimit_names[] = {
    [RLIMIT_CPU] = "setrlimit RLIMIT_CPU",         [RLIMIT_FSIZE] = "setrlimit RLIMIT_FSIZE",
    [RLIMIT_DATA] = "setrlimit RLIMIT_DATA",       [RLIMIT_STACK] = "setrlimit RLIMIT_STACK",
    [RLIMIT_CORE] = "setrlimit RLIMIT_CORE",       [RLIMIT_RSS] = "setrlimit RLIMIT_RSS",
    [RLIMIT_NPROC] = "setrlimit RLIMIT_NPROC",     [RLIMIT_NOFILE] = "setrlimit RLIMIT_NOFILE",
    [RLIMIT_MEMLOCK] = "setrlimit RLIMIT_MEMLOCK", [RLIMIT_AS] = "setrlimit RLIMIT_AS",
    [RLIMIT_LOCKS] = "setrlimit RLIMIT_LOCKS",
    [RLIMIT_SIGPENDING] = "setrlimit RLIMIT_SIGPENDING",
    [RLIMIT_MSGQUEUE] = "setrlimit RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "setrlimit RLIMIT_NICE",
    [RLIMIT_RTPRIO] = "setrlimit RLIMIT_RTPRIO",   [RLIMIT_RTTIME] = "setrlimit RLIMIT_RTTIME",
};

int ct_child_rlimits(const struct ct_process *p, struct ct_child_err *e)
{
    for (size_t i = 0; i < p->nrlimits; i++) {
        const struct ct_rlimit *r = &p->rlimits[i];
        struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};
        if (setrlimit(r->resource, &rl) < 0) {
            const char *what = (unsigned)r->resource < ARRAY_LEN(rlimit_names) &&
                                       rlimit_names[r->resource]
                                   ? rlimit_names[r->resource]
                                   : "setrlimit";
            return ct_child_fail(e, errno, what, NULL);
        }
    }
    return 0;
}

int ct_child_set_user_and_caps(const struct ct_process *p, int cap_last, bool setgroups_allowed,
                               struct ct_child_err *e)
{
    const struct ct_caps *c = &p->caps;
    if (cap_last < 0 || cap_last > 63)
        cap_last = CAP_LAST_CAP;

    /* The bounding set first: dropping from it needs CAP_SETPCAP in the
     * effective set, which the switch to a non-root uid empties. EINVAL: a
     * capability this kernel does not have. */
    for (int cap = 0; cap <= cap_last; cap++)
        if (!(c->bounding & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
            errno != EINVAL)
            return ct_child_fail(e, errno, "prctl(PR_CAPBSET_DROP)", NULL);

    /* Keep the permitted set across the uid change; the sets are then
     * narrowed to what the spec says by capset. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return ct_child_fail(e, errno, "prctl(PR_SET_KEEPCAPS)", NULL);
    if (setgroups_allowed &&
        syscall(SYS_SETGROUPS, p->ngids, p->ngids ? p->additional_gids : NULL) < 0)
        return ct_child_fail(e, errno, "setgroups", NULL);
    if (syscall(SYS_SETRESGID, p->gid, p->gid, p->gid) < 0)
        return ct_child_fail(e, errno, "setresgid", NULL);
    if (syscall(SYS_SETRESUID, p->uid, p->uid, p->uid) < 0)
        return ct_child_fail(e, errno, "setresuid", NULL);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return ct_child_fail(e, errno, "prctl(PR_SET_KEEPCAPS)", NULL);

    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
        {(uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable},
        {(uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32),
         (uint32_t)(c->inheritable >> 32)},
    };
    if (syscall(SYS_capset, &hdr, data) < 0)
        return ct_child_fail(e, errno, "capset", NULL);

    /* The kernel only raises an ambient capability that is permitted and
     * inheritable; runc ignores the others (its own `runc spec` lists
     * ambient capabilities without inheritable ones), and so do we. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
        if (errno == EINVAL && !c->ambient)
            return 0;           /* a kernel without ambient capabilities */
        return ct_child_fail(e, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", NULL);
    }
    uint64_t raise = c->ambient & c->permitted & c->inheritable;
    for (int cap = 0; cap <= cap_last; cap++)
        if ((raise & (1ull << cap)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            return ct_child_fail(e, errno, "prctl(PR_CAP_AMBIENT_RAISE)", NULL);
    return 0;
}

int ct_child_no_new_privs(struct ct_child_err *e)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return ct_child_fail(e, errno, "prctl(PR_SET_NO_NEW_PRIVS)", NULL);
    return 0;
}

int ct_child_seccomp(const struct ct_bpf *b, struct ct_child_err *e)
{
    if (!b || b->len == 0)
        return 0;
    struct sock_fprog prog = {.len = b->len, .filter = b->filter};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
        return ct_child_fail(e, errno, "prctl(PR_SET_SECCOMP)", NULL);
    return 0;
}

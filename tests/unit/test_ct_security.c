/* Privileges (ct/security.c): the default seccomp profile compiled and
 * applied in a forked child, custom filters from config.json (arguments,
 * errnoRet, repeated argument indexes), capability sets and the uid switch
 * checked in /proc/self/status, rlimits. Each privilege change happens in a
 * child process, so the test process itself stays as it was. */
#define _GNU_SOURCE
#include "ct/security.h"
#include "ct/spec.h"
#include "t.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Run fn in a forked child with fd (a pipe) for its report; collect the
 * report into out and return the child's exit status (0..255), or -1 when
 * it died by a signal or did not finish within 20 s. */
static int in_child(int (*fn)(const void *arg, int fd), const void *arg, char *out, size_t outsz)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        _exit(fn(arg, pfd[1]) & 0xff);
    }
    close(pfd[1]);
    size_t got = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms = 20000 - ((now.tv_sec - start.tv_sec) * 1000 +
                                (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        if (left_ms <= 0 || poll(&p, 1, (int)left_ms) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        ssize_t r = read(pfd[0], out + got, outsz - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == outsz - 1)
            break;
    }
    out[got] = '\0';
    close(pfd[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void report(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* The value of a "Name:\t..." line of /proc/<pid>/status text. */
static bool status_field(const char *text, const char *name, char *val, size_t valsz)
{
    size_t nl = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            v += strspn(v, " \t");
            size_t n = strcspn(v, "\n");
            if (n >= valsz)
                n = valsz - 1;
            memcpy(val, v, n);
            val[n] = '\0';
            return true;
        }
    }
    return false;
}

static uint64_t status_hex(const char *text, const char *name)
{
    char v[64];
    if (!status_field(text, name, v, sizeof v))
        return ~0ull;
    return strtoull(v, NULL, 16);
}

/* Copy /proc/self/status into the report pipe. */
static int report_status(int fd)
{
    char buf[8192];
    int sfd = open("/proc/self/status", O_RDONLY);
    if (sfd < 0)
        return 90;
    ssize_t n = read(sfd, buf, sizeof buf - 1);
    close(sfd);
    if (n <= 0)
        return 91;
    buf[n] = '\0';
    report(fd, buf);
    return 0;
}

/* ------------------------------------------------------------- seccomp */

static int apply_filter_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    if (ct_child_no_new_privs(&e) < 0 || ct_child_seccomp(arg, &e) < 0) {
        report(fd, e.msg);
        return 99;
    }
    /* Each line: the call, what it returned, errno. */
    char line[128];
    errno = 0;
    long r = syscall(SYS_acct, NULL);
    snprintf(line, sizeof line, "acct %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
    snprintf(line, sizeof line, "kexec_load %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY);
    snprintf(line, sizeof line, "open_by_handle_at %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_bpf, 0, NULL, 0);
    snprintf(line, sizeof line, "bpf %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_unshare, CLONE_NEWUSER);
    snprintf(line, sizeof line, "unshare_user %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
    if (r == 0)
        _exit(0);
    snprintf(line, sizeof line, "clone_user %ld %d\n", r > 0 ? 0L : r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_clone3, NULL, 0);
    snprintf(line, sizeof line, "clone3 %ld %d\n", r, errno);
    report(fd, line);
    /* Other namespaces are left to the capabilities (root here: allowed). */
    errno = 0;
    r = syscall(SYS_unshare, CLONE_NEWUTS);
    snprintf(line, sizeof line, "unshare_uts %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_getpid);
    snprintf(line, sizeof line, "getpid %d %d\n", r == getpid(), errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_getppid);
    snprintf(line, sizeof line, "getppid %d %d\n", r > 0, errno);
    report(fd, line);
    errno = 0;
    r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    snprintf(line, sizeof line, "nnp %ld %d\n", r, errno);
    report(fd, line);
    return 0;
}

static void seccomp_default_profile_denies(void)
{
    struct ct_seccomp *sc = ct_seccomp_default();
    CHECK(sc != NULL);
    if (!sc)
        return;
    CHECK_EQ(sc->default_action, SCMP_ACT_ALLOW);
    CHECK(sc->narches >= 1 && sc->arches[0] == seccomp_arch_native());
    struct disco_err err = {0};
    struct ct_bpf bpf = {0};
    int rc = ct_seccomp_compile(sc, &bpf, &err);
    ct_seccomp_free(sc);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    CHECK(bpf.filter && bpf.len > 20);
    char out[1024];
    int st = in_child(apply_filter_child, &bpf, out, sizeof out);
    ct_bpf_free(&bpf);
    CHECK(bpf.filter == NULL && bpf.len == 0);
    CHECK_EQ(st, 0);
    char want[64];
    static const char *const denied[] = {"acct", "kexec_load", "open_by_handle_at", "bpf"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "%s -1 %d\n", denied[i], EPERM);
        if (!strstr(out, want)) {
            printf("  child said:\n%s", out);
            CHECK(!"a denied call gives EPERM");
        }
    }
    snprintf(want, sizeof want, "unshare_user -1 %d\n", EPERM);
    CHECK(strstr(out, want) != NULL);
    snprintf(want, sizeof want, "clone_user -1 %d\n", EPERM);
    CHECK(strstr(out, want) != NULL);
    snprintf(want, sizeof want, "clone3 -1 %d\n", ENOSYS);
    CHECK(strstr(out, want) != NULL);
    if (geteuid() == 0)
        CHECK(strstr(out, "unshare_uts 0 0\n") != NULL);
    if (t_st.case_failed)
        printf("  child said:\n%s", out);
    CHECK(strstr(out, "getpid 1 0\n") != NULL);
    CHECK(strstr(out, "getppid 1 0\n") != NULL);
    CHECK(strstr(out, "nnp 1 0\n") != NULL);
}

#if defined(__x86_64__)
/* A 32-bit system call through int 0x80 (ia32 emulation). */
static long int80(long nr, long a1)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1) : "memory", "r8", "r9", "r10",
                     "r11");
    return ret;
}

static int int80_probe_child(const void *arg, int fd)
{
    (void)arg;
    (void)fd;
    return int80(20 /* i386 getpid */, 0) == getpid() ? 0 : 1;
}

static int int80_filtered_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    if (ct_child_no_new_privs(&e) < 0 || ct_child_seccomp(arg, &e) < 0)
        return 99;
    char line[64];
    snprintf(line, sizeof line, "acct32 %ld getpid32 %d\n", int80(51 /* i386 acct */, 0),
             int80(20, 0) == getpid());
    report(fd, line);
    return 0;
}
#endif

/* The profile covers the 32-bit ABI: `int 0x80` acct is denied too. */
static void seccomp_default_profile_covers_x86(void)
{
#if defined(__x86_64__)
    char out[256];
    struct ct_seccomp *sc = ct_seccomp_default();
    struct disco_err err = {0};
    struct ct_bpf bpf = {0};
    CHECK(sc && ct_seccomp_compile(sc, &bpf, &err) == 0);
    ct_seccomp_free(sc);
    CHECK_EQ(in_child(int80_filtered_child, &bpf, out, sizeof out), 0);
    char want[64];
    snprintf(want, sizeof want, "acct32 %d getpid32 1\n", -EPERM);
    CHECK(strcmp(out, want) == 0);
    ct_bpf_free(&bpf);
#endif
}

static bool ia32_available(void)
{
#if defined(__x86_64__)
    char out[16];
    return in_child(int80_probe_child, NULL, out, sizeof out) == 0;
#else
    return false;
#endif
}

/* umask(2) never fails by itself: any error is the filter's. */
static int umask_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    if (ct_child_no_new_privs(&e) < 0 || ct_child_seccomp(arg, &e) < 0)
        return 99;
    char line[160];
    long masks[] = {0777, 0700, 022, 0};
    for (int i = 0; i < 4; i++) {
        errno = 0;
        long r = syscall(SYS_umask, masks[i]);
        snprintf(line, sizeof line, "umask %lo %ld %d\n", masks[i], r < 0 ? -1L : 0L, errno);
        report(fd, line);
    }
    errno = 0;
    long r = syscall(SYS_getppid);
    snprintf(line, sizeof line, "getppid %ld %d\n", r < 0 ? -1L : 0L, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_setpriority, PRIO_PROCESS, 0, 5);
    snprintf(line, sizeof line, "setpriority5 %ld %d\n", r, errno);
    report(fd, line);
    errno = 0;
    r = syscall(SYS_setpriority, PRIO_PROCESS, 0, 6);
    snprintf(line, sizeof line, "setpriority6 %ld %d\n", r, errno);
    report(fd, line);
    return 0;
}

/* A config.json profile through the whole path: parse, compile, apply. */
static void seccomp_custom_filter_from_spec(void)
{
    static const char spec_json[] =
        "{\"root\": {\"path\": \"/r\"}, \"process\": {\"args\": [\"sh\"]}, \"linux\": {\"seccomp\": {"
        " \"defaultAction\": \"SCMP_ACT_ALLOW\","
        " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_RISCV64\"],"
        " \"syscalls\": ["
        /* Repeated index: either comparison matches (runc's rule). */
        "  {\"names\": [\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 33, \"args\": ["
        "    {\"index\": 0, \"value\": 511, \"op\": \"SCMP_CMP_EQ\"},"
        "    {\"index\": 0, \"value\": 448, \"op\": \"SCMP_CMP_EQ\"}]},"
        "  {\"names\": [\"getppid\", \"no_such_call_anywhere\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42},"
        /* Distinct indexes: all must match; arg 2 odd ((arg & value) == valueTwo). */
        "  {\"names\": [\"setpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7, \"args\": ["
        "    {\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},"
        "    {\"index\": 2, \"value\": 1, \"valueTwo\": 1, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
        /* Same as the default action: skipped, not an error. */
        "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}"
        " ]}}}";
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    int rc = ct_spec_parse(spec_json, "/b", &s, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    struct ct_bpf bpf = {0};
    rc = ct_seccomp_compile(s->seccomp, &bpf, &err);
    ct_spec_free(s);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    char out[1024];
    CHECK_EQ(in_child(umask_child, &bpf, out, sizeof out), 0);
    ct_bpf_free(&bpf);
    const char *want[] = {"umask 777 -1 33\n", "umask 700 -1 33\n", "umask 22 0 0\n",
                          "umask 0 0 0\n", "getppid -1 42\n", "setpriority5 -1 7\n",
                          "setpriority6 0 0\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i])) {
            printf("  missing \"%.*s\" in:\n%s", (int)strlen(want[i]) - 1, want[i], out);
            CHECK(!"the filter does what the profile says");
        }
}

static void seccomp_compile_errors(void)
{
    struct disco_err err = {0};
    struct ct_bpf bpf = {(struct sock_filter *)1, 5};
    struct ct_seccomp bad_default = {.default_action = 0x12345678};
    CHECK(ct_seccomp_compile(&bad_default, &bpf, &err) < 0);
    CHECK(strstr(err.msg, "seccomp") != NULL);
    CHECK(bpf.filter == NULL && bpf.len == 0);

    char *names[] = {"read", NULL};
    struct ct_seccomp_arg args[] = {{.index = 0, .value = 1, .op = 99}};
    struct ct_seccomp_rule rule = {.names = names, .nnames = 1, .action = SCMP_ACT_ERRNO(1),
                                   .args = args, .nargs = 1};
    struct ct_seccomp bad_op = {.default_action = SCMP_ACT_ALLOW, .rules = &rule, .nrules = 1};
    CHECK(ct_seccomp_compile(&bad_op, &bpf, &err) < 0);
    CHECK(strstr(err.msg, "'read'") != NULL);
    CHECK(bpf.filter == NULL);

    uint32_t arch = 0xdeadbeef;
    struct ct_seccomp bad_arch = {.default_action = SCMP_ACT_ALLOW, .arches = &arch, .narches = 1};
    CHECK(ct_seccomp_compile(&bad_arch, &bpf, &err) < 0);
    CHECK(strstr(err.msg, "architecture") != NULL);

    /* Nothing to apply is fine. */
    struct ct_child_err e = {0};
    struct ct_bpf empty = {0};
    CHECK_EQ(ct_child_seccomp(&empty, &e), 0);
    CHECK_EQ(ct_child_seccomp(NULL, &e), 0);
    ct_bpf_free(NULL);
}

static void seccomp_default_json_is_the_profile(void)
{
    char *text = ct_seccomp_default_json();
    CHECK(text != NULL);
    if (!text)
        return;
    json_object *o = json_tokener_parse(text), *v, *calls, *call;
    free(text);
    CHECK(o != NULL);
    CHECK(json_object_object_get_ex(o, "defaultAction", &v) &&
          strcmp(json_object_get_string(v), "SCMP_ACT_ALLOW") == 0);
    CHECK(json_object_object_get_ex(o, "architectures", &v) &&
          strcmp(json_object_get_string(json_object_array_get_idx(v, 0)),
#if defined(__x86_64__)
                 "SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
                 "SCMP_ARCH_AARCH64"
#else
                 json_object_get_string(json_object_array_get_idx(v, 0))
#endif
                 ) == 0);
    CHECK(json_object_object_get_ex(o, "syscalls", &calls) &&
          json_object_array_length(calls) == 4);
    call = json_object_array_get_idx(calls, 0);
    CHECK(json_object_object_get_ex(call, "errnoRet", &v) && json_object_get_int(v) == EPERM);
    CHECK(json_object_object_get_ex(call, "action", &v) &&
          strcmp(json_object_get_string(v), "SCMP_ACT_ERRNO") == 0);
    struct ct_seccomp *sc = ct_seccomp_default();
    CHECK(json_object_object_get_ex(call, "names", &v) && sc &&
          json_object_array_length(v) == sc->rules[0].nnames);
    ct_seccomp_free(sc);
    json_object_put(o);
}

/* -------------------------------------------------------- capabilities */

static int caps_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    if (ct_child_set_user_and_caps(arg, ct_cap_last(), true, &e) < 0) {
        report(fd, "error: ");
        report(fd, e.msg);
        return 99;
    }
    return report_status(fd);
}

static void caps_drop_to_kill(void)
{
    struct ct_process p = {0};
    uint64_t kill_only = 1ull << CAP_KILL;
    p.caps = (struct ct_caps){kill_only, kill_only, kill_only, 0, 0};
    char out[8192];
    int st = in_child(caps_child, &p, out, sizeof out);
    CHECK_EQ(st, 0);
    if (st) {
        printf("  %s\n", out);
        return;
    }
    CHECK_EQ(status_hex(out, "CapEff"), kill_only);
    CHECK_EQ(status_hex(out, "CapPrm"), kill_only);
    CHECK_EQ(status_hex(out, "CapBnd"), kill_only);
    CHECK_EQ(status_hex(out, "CapInh"), 0);
    CHECK_EQ(status_hex(out, "CapAmb"), 0);
    char v[64];
    CHECK(status_field(out, "Uid", v, sizeof v) && strcmp(v, "0\t0\t0\t0") == 0);
}

/* setresuid to nobody keeping CAP_NET_BIND_SERVICE in the ambient set:
 * the capability survives an exec of a non-setuid program (cat). */
static int uid_switch_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    if (ct_child_set_user_and_caps(arg, ct_cap_last(), true, &e) < 0) {
        report(fd, "error: ");
        report(fd, e.msg);
        return 99;
    }
    if (dup2(fd, 1) < 0)
        return 98;
    execl("/bin/cat", "cat", "/proc/self/status", (char *)NULL);
    return 97;
}

static void caps_uid_switch_keeps_ambient(void)
{
    struct ct_process p = {0};
    uint32_t gids[] = {100, 65534};
    uint64_t nbs = 1ull << CAP_NET_BIND_SERVICE;
    p.uid = p.gid = 65534;
    p.additional_gids = gids;
    p.ngids = 2;
    p.caps = (struct ct_caps){.bounding = nbs, .effective = nbs, .permitted = nbs,
                              .inheritable = nbs, .ambient = nbs};
    char out[8192];
    int st = in_child(uid_switch_child, &p, out, sizeof out);
    CHECK_EQ(st, 0);
    if (st) {
        printf("  %s\n", out);
        return;
    }
    char v[64];
    CHECK(status_field(out, "Name", v, sizeof v) && strcmp(v, "cat") == 0);
    CHECK(status_field(out, "Uid", v, sizeof v) && strcmp(v, "65534\t65534\t65534\t65534") == 0);
    CHECK(status_field(out, "Gid", v, sizeof v) && strcmp(v, "65534\t65534\t65534\t65534") == 0);
    CHECK(status_field(out, "Groups", v, sizeof v) && strncmp(v, "100 65534", 9) == 0);
    CHECK_EQ(status_hex(out, "CapEff"), nbs);
    CHECK_EQ(status_hex(out, "CapPrm"), nbs);
    CHECK_EQ(status_hex(out, "CapAmb"), nbs);
    CHECK_EQ(status_hex(out, "CapBnd"), nbs);
}

/* runc's own default lists ambient capabilities without inheritable ones:
 * the kernel cannot raise those, and that is not an error. Without
 * setgroups (a user namespace with setgroups "deny") the groups stay. */
static void caps_ambient_needs_inheritable(void)
{
    struct ct_process p = {0};
    uint64_t dflt = ct_caps_default();
    p.uid = p.gid = 65534;
    p.caps = (struct ct_caps){.bounding = dflt, .effective = dflt, .permitted = dflt,
                              .ambient = dflt};
    char out[8192];
    CHECK_EQ(in_child(uid_switch_child, &p, out, sizeof out), 0);
    CHECK_EQ(status_hex(out, "CapAmb"), 0);
    CHECK_EQ(status_hex(out, "CapEff"), 0);     /* lost across exec, as with runc */
    CHECK_EQ(status_hex(out, "CapBnd"), dflt);

    /* Effective beyond permitted: capset refuses, and the error says so. */
    p.uid = p.gid = 0;
    p.caps = (struct ct_caps){.bounding = dflt, .effective = 1ull << CAP_SYS_ADMIN,
                              .permitted = 1ull << CAP_KILL};
    CHECK_EQ(in_child(caps_child, &p, out, sizeof out), 99);
    CHECK(strstr(out, "capset") != NULL);
}

static int no_groups_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    gid_t g = 4242;
    if (setgroups(1, &g) < 0)
        return 96;
    if (ct_child_set_user_and_caps(arg, ct_cap_last(), false, &e) < 0) {
        report(fd, e.msg);
        return 99;
    }
    return report_status(fd);
}

static void caps_setgroups_not_allowed(void)
{
    struct ct_process p = {0};
    uint32_t gids[] = {100};
    p.uid = p.gid = 1000;
    p.additional_gids = gids;
    p.ngids = 1;
    char out[8192], v[64];
    CHECK_EQ(in_child(no_groups_child, &p, out, sizeof out), 0);
    CHECK(status_field(out, "Groups", v, sizeof v) && strncmp(v, "4242", 4) == 0);
    CHECK(status_field(out, "Uid", v, sizeof v) && strcmp(v, "1000\t1000\t1000\t1000") == 0);
    CHECK_EQ(status_hex(out, "CapEff"), 0);
    CHECK_EQ(status_hex(out, "CapBnd"), 0);
}

static void cap_last_is_the_kernels(void)
{
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(read(fd, buf, sizeof buf - 1) > 0);
        close(fd);
    }
    CHECK_EQ(ct_cap_last(), atoi(buf));
    CHECK(ct_cap_last() >= CAP_AUDIT_READ && ct_cap_last() < 64);
}

/* ------------------------------------------------------------- rlimits */

static int rlimits_child(const void *arg, int fd)
{
    struct ct_child_err e = {0};
    if (ct_child_rlimits(arg, &e) < 0) {
        char line[480];
        snprintf(line, sizeof line, "error %d %s\n", e.err, e.msg);
        report(fd, line);
        return 0;
    }
    struct rlimit nofile, core;
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_CORE, &core);
    char line[128];
    snprintf(line, sizeof line, "nofile %llu %llu core %llu %llu\n",
             (unsigned long long)nofile.rlim_cur, (unsigned long long)nofile.rlim_max,
             (unsigned long long)core.rlim_cur, (unsigned long long)core.rlim_max);
    report(fd, line);
    return 0;
}

static void rlimits_applied(void)
{
    struct ct_rlimit rl[] = {{RLIMIT_NOFILE, 64, 128}, {RLIMIT_CORE, 0, 0}};
    struct ct_process p = {.rlimits = rl, .nrlimits = 2};
    char out[512];
    CHECK_EQ(in_child(rlimits_child, &p, out, sizeof out), 0);
    CHECK(strcmp(out, "nofile 64 128 core 0 0\n") == 0);

    /* A soft limit above the hard one: the kernel's EINVAL, naming the limit. */
    struct ct_rlimit bad[] = {{RLIMIT_NOFILE, 256, 128}};
    p.rlimits = bad;
    p.nrlimits = 1;
    CHECK_EQ(in_child(rlimits_child, &p, out, sizeof out), 0);
    char want[128];
    snprintf(want, sizeof want, "error %d setrlimit RLIMIT_NOFILE\n", EINVAL);
    CHECK(strcmp(out, want) == 0);
}

int main(void)
{
    RUN(seccomp_default_profile_denies);
    if (ia32_available())
        RUN(seccomp_default_profile_covers_x86);
    else
        SKIP(seccomp_default_profile_covers_x86, "not x86_64, or no ia32 emulation");
    RUN(seccomp_custom_filter_from_spec);
    RUN(seccomp_compile_errors);
    RUN(seccomp_default_json_is_the_profile);
    RUN(cap_last_is_the_kernels);
    RUN(rlimits_applied);
    if (geteuid() == 0) {
        RUN(caps_drop_to_kill);
        RUN(caps_uid_switch_keeps_ambient);
        RUN(caps_ambient_needs_inheritable);
        RUN(caps_setgroups_not_allowed);
    } else {
        SKIP(caps_drop_to_kill, "needs root");
        SKIP(caps_uid_switch_keeps_ambient, "needs root");
        SKIP(caps_ambient_needs_inheritable, "needs root");
        SKIP(caps_setgroups_not_allowed, "needs root");
    }
    T_EXIT();
}

/* config.json parsing (ct/spec.c): runc's own `runc spec` output, our
 * default spec, a podman-like config, bad input naming the key, and
 * truncated / mangled JSON that must fail cleanly. */
#define _GNU_SOURCE
#include "ct/security.h"
#include "ct/spec.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *runc_binary(void)
{
    static const char *const paths[] = {"/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc",
                                        "/usr/local/sbin/runc"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* `runc spec [--rootless]` in dir; 0: config.json is there. */
static int run_runc_spec(const char *runc, const char *dir, bool rootless)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        if (chdir(dir) < 0)
            _exit(126);
        if (rootless)
            execl(runc, "runc", "spec", "--rootless", (char *)NULL);
        else
            execl(runc, "runc", "spec", (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

static void remove_bundle(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const struct ct_mount *find_mount(const struct ct_spec *s, const char *dest)
{
    for (size_t i = 0; i < s->nmounts; i++)
        if (streq(s->mounts[i].destination, dest))
            return &s->mounts[i];
    return NULL;
}

static bool strv_eq(char *const *v, size_t n, const char *const *want)
{
    size_t i = 0;
    for (; want[i]; i++)
        if (i >= n || !streq(v[i], want[i]))
            return false;
    return i == n && v[n] == NULL;
}

/* The mounts every default (runc's and ours) has, checked field by field. */
static void check_default_mounts(const struct ct_spec *s, bool rootless)
{
    CHECK_EQ(s->nmounts, 7);
    const struct ct_mount *m = find_mount(s, "/proc");
    CHECK(m && streq(m->type, "proc") && streq(m->source, "proc") && m->flags == 0 && !m->data);
    m = find_mount(s, "/dev");
    CHECK(m && streq(m->type, "tmpfs") && !m->bind);
    if (m) {
        CHECK_EQ(m->flags, MS_NOSUID | MS_STRICTATIME);
        CHECK(streq(m->data, "mode=755,size=65536k"));
    }
    m = find_mount(s, "/dev/pts");
    CHECK(m && streq(m->type, "devpts"));
    if (m) {
        CHECK_EQ(m->flags, MS_NOSUID | MS_NOEXEC);
        CHECK(streq(m->data, rootless ? "newinstance,ptmxmode=0666,mode=0620"
                                      : "newinstance,ptmxmode=0666,mode=0620,gid=5"));
    }
    m = find_mount(s, "/dev/shm");
    CHECK(m && streq(m->source, "shm"));
    if (m) {
        CHECK_EQ(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
        CHECK(streq(m->data, "mode=1777,size=65536k"));
    }
    m = find_mount(s, "/dev/mqueue");
    CHECK(m && streq(m->type, "mqueue") && !m->data);
    m = find_mount(s, "/sys");
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        if (rootless)
            CHECK(m->bind && m->recursive && streq(m->source, "/sys") && streq(m->type, "none"));
        else
            CHECK(!m->bind && streq(m->type, "sysfs"));
    }
    m = find_mount(s, "/sys/fs/cgroup");
    CHECK(m && streq(m->type, "cgroup") && !m->data && m->clear_flags == 0);
    if (m)
        CHECK_EQ(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
}

static void check_default_process(const struct ct_spec *s)
{
    const struct ct_process *p = &s->process;
    static const char *const args[] = {"sh", NULL};
    static const char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};
    CHECK(streq(s->oci_version, "1.0.2-dev"));
    CHECK(p->terminal);
    CHECK(strv_eq(p->args, p->nargs, args));
    CHECK(strv_eq(p->env, p->nenv, env));
    CHECK(streq(p->cwd, "/"));
    CHECK_EQ(p->uid, 0);
    CHECK_EQ(p->gid, 0);
    CHECK_EQ(p->caps.bounding, ct_caps_default());
    CHECK_EQ(p->caps.effective, ct_caps_default());
    CHECK_EQ(p->caps.permitted, ct_caps_default());
    CHECK_EQ(p->caps.ambient, ct_caps_default());
    CHECK_EQ(p->caps.inheritable, 0);
    CHECK_EQ(p->nrlimits, 1);
    if (p->nrlimits == 1) {
        CHECK_EQ(p->rlimits[0].resource, RLIMIT_NOFILE);
        CHECK_EQ(p->rlimits[0].soft, 1024);
        CHECK_EQ(p->rlimits[0].hard, 1024);
    }
    CHECK(p->no_new_privileges);
    CHECK(!p->oom_score_adj_set);
    CHECK(s->root_readonly);
    CHECK(strv_eq(s->masked_paths, s->nmasked, ct_default_masked_paths));
    CHECK(strv_eq(s->readonly_paths, s->nreadonly, ct_default_readonly_paths));
}

static void spec_runc_default(void)
{
    const char *runc = runc_binary();
    char dir[] = "/tmp/disco-test-spec-XXXXXX";
    CHECK(runc && mkdtemp(dir));
    CHECK_EQ(run_runc_spec(runc, dir, false), 0);
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    int rc = ct_spec_load(dir, &s, &err);
    remove_bundle(dir);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    char root[300];
    snprintf(root, sizeof root, "%s/rootfs", dir);
    CHECK(streq(s->root_path, root));
    CHECK(streq(s->hostname, "runc"));
    check_default_process(s);
    check_default_mounts(s, false);
    CHECK(s->ns[CT_NS_PID].enabled && s->ns[CT_NS_NET].enabled && s->ns[CT_NS_IPC].enabled &&
          s->ns[CT_NS_UTS].enabled && s->ns[CT_NS_MOUNT].enabled);
    CHECK(!s->ns[CT_NS_USER].enabled && !s->ns[CT_NS_CGROUP].enabled);
    CHECK(!s->ns[CT_NS_PID].path);
    CHECK_EQ(s->resources.ndevices, 1);
    if (s->resources.ndevices == 1) {
        const struct ct_device_rule *d = &s->resources.devices[0];
        CHECK(!d->allow && d->type == 'a' && d->major == -1 && d->minor == -1);
        CHECK(streq(d->access, "rwm"));
    }
    CHECK(s->resources.memory_limit == CT_UNSET && s->resources.pids_limit == CT_UNSET);
    CHECK(s->seccomp == NULL);
    CHECK_EQ(s->nuid_mappings, 0);
    CHECK_EQ(s->rootfs_propagation, 0);
    ct_spec_free(s);
}

static void spec_runc_rootless(void)
{
    const char *runc = runc_binary();
    char dir[] = "/tmp/disco-test-spec-XXXXXX";
    CHECK(runc && mkdtemp(dir));
    CHECK_EQ(run_runc_spec(runc, dir, true), 0);
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    int rc = ct_spec_load(dir, &s, &err);
    remove_bundle(dir);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    check_default_process(s);
    check_default_mounts(s, true);
    CHECK(s->ns[CT_NS_USER].enabled && !s->ns[CT_NS_NET].enabled);
    CHECK(s->nuid_mappings == 1 && s->ngid_mappings == 1);
    if (s->nuid_mappings == 1 && s->ngid_mappings == 1) {
        CHECK_EQ(s->uid_mappings[0].container_id, 0);
        CHECK_EQ(s->uid_mappings[0].host_id, geteuid());
        CHECK_EQ(s->uid_mappings[0].size, 1);
        CHECK_EQ(s->gid_mappings[0].host_id, getegid());
    }
    CHECK_EQ(s->resources.ndevices, 0);
    ct_spec_free(s);
}

static bool names_contain(const struct ct_seccomp_rule *r, const char *name)
{
    for (size_t i = 0; i < r->nnames; i++)
        if (streq(r->names[i], name))
            return true;
    return false;
}

static void spec_default_round_trip(void)
{
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    char *text = ct_spec_default_json(false, 0, 0);
    CHECK(text != NULL);
    if (!text)
        return;
    int rc = ct_spec_parse(text, "/bundles/b1", &s, &err);
    free(text);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    CHECK(streq(s->root_path, "/bundles/b1/rootfs"));
    CHECK(streq(s->hostname, "disco"));
    check_default_process(s);
    check_default_mounts(s, false);
    for (int ns = 0; ns < CT_NS_COUNT; ns++)
        CHECK(s->ns[ns].enabled == (ns != CT_NS_USER));
    CHECK_EQ(s->resources.ndevices, 1);
    /* The seccomp object is the default profile, unchanged by the trip. */
    struct ct_seccomp *want = ct_seccomp_default();
    CHECK(want && s->seccomp);
    if (want && s->seccomp) {
        CHECK_EQ(s->seccomp->default_action, want->default_action);
        CHECK_EQ(s->seccomp->narches, want->narches);
        for (size_t i = 0; i < want->narches && i < s->seccomp->narches; i++)
            CHECK_EQ(s->seccomp->arches[i], want->arches[i]);
        CHECK_EQ(s->seccomp->nrules, want->nrules);
        if (s->seccomp->nrules == 1 && want->nrules == 1) {
            const struct ct_seccomp_rule *a = &s->seccomp->rules[0], *b = &want->rules[0];
            CHECK_EQ(a->action, SCMP_ACT_ERRNO(EPERM));
            CHECK_EQ(a->action, b->action);
            CHECK_EQ(a->nnames, b->nnames);
            for (size_t i = 0; i < a->nnames && i < b->nnames; i++)
                CHECK(streq(a->names[i], b->names[i]));
            CHECK(names_contain(a, "kexec_load") && names_contain(a, "open_by_handle_at"));
        }
    }
    ct_seccomp_free(want);
    ct_spec_free(s);

    text = ct_spec_default_json(true, 1000, 1001);
    CHECK(text != NULL);
    rc = text ? ct_spec_parse(text, "/b", &s, &err) : -1;
    free(text);
    CHECK_EQ(rc, 0);
    if (rc)
        return;
    check_default_process(s);
    check_default_mounts(s, true);
    CHECK(s->ns[CT_NS_USER].enabled && !s->ns[CT_NS_NET].enabled && s->ns[CT_NS_CGROUP].enabled);
    CHECK(s->nuid_mappings == 1 && s->ngid_mappings == 1);
    if (s->nuid_mappings == 1 && s->ngid_mappings == 1) {
        CHECK_EQ(s->uid_mappings[0].host_id, 1000);
        CHECK_EQ(s->gid_mappings[0].host_id, 1001);
        CHECK_EQ(s->gid_mappings[0].container_id, 0);
    }
    CHECK_EQ(s->resources.ndevices, 0);
    CHECK(s->seccomp != NULL);
    ct_spec_free(s);
}

/* What podman (4.x) writes, trimmed: bind mounts with propagation, tmpfs
 * with runc's copy-up extension, an allow-list seccomp profile with
 * arguments and errnoRet, resources, devices, sysctls, annotations. */
static const char podman_like[] =
    "{\n"
    "  \"ociVersion\": \"1.0.2-dev\",\n"
    "  \"process\": {\n"
    "    \"user\": {\"uid\": 1000, \"gid\": 1000, \"umask\": 18, \"additionalGids\": [10, 4294967295]},\n"
    "    \"args\": [\"/bin/sh\", \"-c\", \"echo hi\"],\n"
    "    \"env\": [\"PATH=/bin\", \"container=podman\"],\n"
    "    \"cwd\": \"/work\",\n"
    "    \"consoleSize\": {\"height\": 24, \"width\": 80},\n"
    "    \"capabilities\": {\n"
    "      \"bounding\": [\"CAP_CHOWN\", \"CAP_SYS_CHROOT\", \"CAP_SETPCAP\"],\n"
    "      \"effective\": [\"CAP_CHOWN\"],\n"
    "      \"inheritable\": [],\n"
    "      \"permitted\": [\"CAP_CHOWN\", \"CAP_SYS_CHROOT\"]\n"
    "    },\n"
    "    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1048576, \"soft\": 1048576},\n"
    "                  {\"type\": \"RLIMIT_NPROC\", \"hard\": 4194304, \"soft\": 100}],\n"
    "    \"oomScoreAdj\": -500,\n"
    "    \"selinuxLabel\": \"\", \"apparmorProfile\": \"\"\n"
    "  },\n"
    "  \"root\": {\"path\": \"/var/lib/containers/storage/overlay/abc/merged\"},\n"
    "  \"hostname\": \"7e2a\",\n"
    "  \"mounts\": [\n"
    "    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\", \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
    "    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
    "    {\"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\": \"userdata/hosts\", \"options\": [\"bind\", \"rprivate\", \"nosuid\", \"rw\"]},\n"
    "    {\"destination\": \"/data\", \"type\": \"none\", \"source\": \"/srv/data\", \"options\": [\"rbind\", \"ro\", \"rw\", \"nodev\", \"dev\", \"rslave\", \"noatime\"]},\n"
    "    {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"rw\", \"rprivate\", \"nosuid\", \"nodev\", \"tmpcopyup\", \"size=1g\"]},\n"
    "    {\"destination\": \"/run/secrets\", \"type\": \"bind\", \"source\": \"/abs/secrets\"}\n"
    "  ],\n"
    "  \"annotations\": {\"io.container.manager\": \"libpod\", \"org.opencontainers.image.stopSignal\": \"15\"},\n"
    "  \"linux\": {\n"
    "    \"sysctl\": {\"net.ipv4.ping_group_range\": \"0 0\"},\n"
    "    \"resources\": {\n"
    "      \"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 229, \"access\": \"rw\"}],\n"
    "      \"memory\": {\"limit\": 536870912, \"reservation\": 268435456, \"swap\": 1073741824},\n"
    "      \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0-1\", \"mems\": \"0\"},\n"
    "      \"pids\": {\"limit\": 2048},\n"
    "      \"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}],\n"
    "                   \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 16, \"rate\": 100}]}\n"
    "    },\n"
    "    \"cgroupsPath\": \"machine.slice:libpod:7e2a\",\n"
    "    \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/run/netns/cni-1\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
    "    \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229, \"fileMode\": 438, \"uid\": 0, \"gid\": 0},\n"
    "                 {\"path\": \"/dev/myfifo\", \"type\": \"p\"}],\n"
    "    \"seccomp\": {\n"
    "      \"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,\n"
    "      \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\", \"SCMP_ARCH_NOSUCHTHING\"],\n"
    "      \"flags\": [\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],\n"
    "      \"syscalls\": [\n"
    "        {\"names\": [\"read\", \"write\", \"exit_group\", \"not_a_syscall\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
    "        {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 8, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}]},\n"
    "        {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},\n"
    "        {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22, \"args\": [{\"index\": 0, \"value\": 16, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 2, \"value\": 9, \"op\": \"SCMP_CMP_EQ\"}]},\n"
    "        {\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 1, \"value\": 18446744073709551615, \"valueTwo\": 3, \"op\": \"SCMP_CMP_NE\"}]},\n"
    "        {\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ERRNO\"},\n"
    "        {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}\n"
    "      ]\n"
    "    },\n"
    "    \"maskedPaths\": [\"/proc/acpi\", \"/proc/kcore\"],\n"
    "    \"readonlyPaths\": [\"/proc/sys\"],\n"
    "    \"rootfsPropagation\": \"rslave\"\n"
    "  }\n"
    "}\n";

static void spec_podman_like(void)
{
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    int rc = ct_spec_parse(podman_like, "/run/b", &s, &err);
    CHECK_EQ(rc, 0);
    if (rc) {
        printf("  %s\n", err.msg);
        return;
    }
    const struct ct_process *p = &s->process;
    CHECK(streq(s->root_path, "/var/lib/containers/storage/overlay/abc/merged"));
    CHECK(!s->root_readonly);
    CHECK(streq(s->hostname, "7e2a"));
    CHECK(p->uid == 1000 && p->gid == 1000 && p->ngids == 2);
    if (p->ngids == 2)
        CHECK(p->additional_gids[0] == 10 && p->additional_gids[1] == 4294967295u);
    CHECK(p->nargs == 3 && streq(p->args[2], "echo hi") && p->args[3] == NULL);
    CHECK(p->nenv == 2 && streq(p->env[1], "container=podman"));
    CHECK(streq(p->cwd, "/work"));
    CHECK(!p->terminal && p->console_rows == 24 && p->console_cols == 80);
    CHECK_EQ(p->caps.bounding, 1ull << CAP_CHOWN | 1ull << CAP_SYS_CHROOT | 1ull << CAP_SETPCAP);
    CHECK_EQ(p->caps.effective, 1ull << CAP_CHOWN);
    CHECK_EQ(p->caps.permitted, 1ull << CAP_CHOWN | 1ull << CAP_SYS_CHROOT);
    CHECK_EQ(p->caps.inheritable | p->caps.ambient, 0);
    CHECK_EQ(p->nrlimits, 2);
    if (p->nrlimits == 2)
        CHECK(p->rlimits[1].resource == RLIMIT_NPROC && p->rlimits[1].soft == 100 &&
              p->rlimits[1].hard == 4194304);
    CHECK(p->oom_score_adj_set && p->oom_score_adj == -500);
    CHECK(!p->no_new_privileges);

    CHECK_EQ(s->nmounts, 6);
    const struct ct_mount *m = find_mount(s, "/etc/hosts");
    CHECK(m && m->bind && !m->recursive && streq(m->source, "/run/b/userdata/hosts"));
    if (m) {
        CHECK_EQ(m->flags, MS_NOSUID);
        CHECK_EQ(m->clear_flags, MS_RDONLY);
        CHECK_EQ(m->propagation, MS_PRIVATE | MS_REC);
        CHECK(m->data == NULL);
    }
    m = find_mount(s, "/data");
    CHECK(m && m->bind && m->recursive && streq(m->source, "/srv/data"));
    if (m) {
        /* "ro" then "rw": rw wins; "nodev" then "dev": dev wins. */
        CHECK_EQ(m->flags, MS_NOATIME);
        CHECK_EQ(m->clear_flags, MS_RDONLY | MS_NODEV);
        CHECK_EQ(m->propagation, MS_SLAVE | MS_REC);
    }
    m = find_mount(s, "/tmp");
    CHECK(m && !m->bind && streq(m->data, "size=1g"));
    if (m)
        CHECK_EQ(m->flags, MS_NOSUID | MS_NODEV);
    m = find_mount(s, "/run/secrets");
    CHECK(m && m->bind && !m->recursive && !m->data && streq(m->source, "/abs/secrets"));

    CHECK(s->nannotations == 2 && streq(s->annotation_keys[0], "io.container.manager") &&
          streq(s->annotation_values[0], "libpod"));
    CHECK(s->nsysctl == 1 && streq(s->sysctl_keys[0], "net.ipv4.ping_group_range") &&
          streq(s->sysctl_values[0], "0 0"));

    const struct ct_resources *r = &s->resources;
    CHECK_EQ(r->ndevices, 2);
    if (r->ndevices == 2) {
        CHECK(!r->devices[0].allow && r->devices[0].type == 'a');
        CHECK(r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].major == 10 &&
              r->devices[1].minor == 229 && streq(r->devices[1].access, "rw"));
    }
    CHECK(r->memory_limit == 536870912 && r->memory_reservation == 268435456 &&
          r->memory_swap == 1073741824);
    CHECK(r->cpu_shares == 512 && r->cpu_quota == 50000 && r->cpu_period == 100000);
    CHECK(streq(r->cpuset_cpus, "0-1") && streq(r->cpuset_mems, "0"));
    CHECK(r->pids_limit == 2048 && r->blkio_weight == 500);
    CHECK(r->nread_bps == 1 && r->read_bps && r->read_bps[0].major == 8 &&
          r->read_bps[0].rate == 1048576);
    CHECK(r->nwrite_iops == 1 && r->write_iops && r->write_iops[0].minor == 16);
    CHECK(r->nwrite_bps == 0 && r->nread_iops == 0);

    CHECK(streq(s->cgroups_path, "machine.slice:libpod:7e2a"));
    CHECK(s->ns[CT_NS_NET].enabled && streq(s->ns[CT_NS_NET].path, "/run/netns/cni-1"));
    CHECK(s->ns[CT_NS_CGROUP].enabled && !s->ns[CT_NS_USER].enabled);
    CHECK_EQ(s->ndevices, 2);
    if (s->ndevices == 2) {
        CHECK(streq(s->devices[0].path, "/dev/fuse") && s->devices[0].type == 'c');
        CHECK(s->devices[0].major == 10 && s->devices[0].minor == 229 &&
              s->devices[0].mode == 0666);
        CHECK(s->devices[1].type == 'p');
    }
    CHECK_EQ(s->rootfs_propagation, MS_SLAVE | MS_REC);
    CHECK_EQ(s->nmasked, 2);

    const struct ct_seccomp *sc = s->seccomp;
    CHECK(sc != NULL);
    if (!sc) {
        ct_spec_free(s);
        return;
    }
    CHECK_EQ(sc->default_action, SCMP_ACT_ERRNO(38));
    CHECK_EQ(sc->narches, 3);       /* the unknown one skipped */
    if (sc->narches == 3)
        CHECK(sc->arches[0] == SCMP_ARCH_X86_64 && sc->arches[1] == SCMP_ARCH_X86 &&
              sc->arches[2] == SCMP_ARCH_X32);
    CHECK_EQ(sc->nrules, 7);
    if (sc->nrules == 7) {
        CHECK(sc->rules[0].nnames == 4 && sc->rules[0].action == SCMP_ACT_ALLOW);
        CHECK(sc->rules[2].nargs == 1 && sc->rules[2].args[0].op == SCMP_CMP_MASKED_EQ &&
              sc->rules[2].args[0].value == 2114060288);
        CHECK_EQ(sc->rules[3].action, SCMP_ACT_ERRNO(22));
        CHECK(sc->rules[3].nargs == 2 && sc->rules[3].args[1].index == 2 &&
              sc->rules[3].args[1].value == 9);
        CHECK(sc->rules[4].args && sc->rules[4].args[0].value == UINT64_MAX &&
              sc->rules[4].args[0].value_two == 3 && sc->rules[4].args[0].op == SCMP_CMP_NE);
        CHECK_EQ(sc->rules[5].action, SCMP_ACT_ERRNO(EPERM));   /* errnoRet defaults to EPERM */
        CHECK_EQ(sc->rules[6].action, SCMP_ACT_KILL_PROCESS);
    }
    /* And libseccomp takes all of it. */
    struct ct_bpf bpf = {0};
    CHECK_EQ(ct_seccomp_compile(sc, &bpf, &err), 0);
    CHECK(bpf.len > 10 && bpf.filter);
    ct_bpf_free(&bpf);
    ct_spec_free(s);
}

/* A minimal valid spec with one member replaced: "%s" is spliced in as the
 * last top-level members. */
#define MINIMAL_HEAD "{\"root\": {\"path\": \"rootfs\"}, "
#define MINIMAL_PROC "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}"

static void spec_bad_inputs(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, "
                                   "{\"type\": \"ipc\"}, {\"type\": \"foo\"}]}}",
         "config.json: linux.namespaces[2].type: unknown namespace 'foo'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, "
                                   "{\"type\": \"pid\"}]}}",
         "linux.namespaces[1].type: namespace 'pid' listed twice"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"net\", "
                                   "\"path\": \"proc/1/ns/net\"}]}}",
         "linux.namespaces[0].type: unknown namespace 'net'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"network\", "
                                   "\"path\": \"proc/1/ns/net\"}]}}",
         "linux.namespaces[0].path: 'proc/1/ns/net' is not an absolute path"},
        {"{\"root\": {\"path\": 5}, " MINIMAL_PROC "}", "config.json: root.path: must be a string"},
        {"{" MINIMAL_PROC "}", "config.json: root: required"},
        {"{\"root\": {\"path\": \"\"}, " MINIMAL_PROC "}", "root.path: required"},
        {MINIMAL_HEAD "\"hostname\": \"x\"}", "config.json: process: required"},
        {MINIMAL_HEAD "\"process\": {\"args\": [], \"cwd\": \"/\"}}",
         "process.args: at least one argument is required"},
        {MINIMAL_HEAD "\"process\": {\"cwd\": \"/\"}}", "process.args: at least one"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\", 3]}}", "process.args[1]: must be a string"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"cwd\": \"tmp\"}}",
         "process.cwd: 'tmp' is not an absolute path"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"capabilities\": {\"effective\": "
                      "[\"CAP_KILL\", \"CAP_FOO\"]}}}",
         "process.capabilities.effective[1]: unknown capability 'CAP_FOO'"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"capabilities\": {\"bounding\": "
                      "[\"kill\"]}}}",
         "process.capabilities.bounding[0]: unknown capability 'kill'"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"user\": {\"uid\": -1}}}",
         "process.user.uid: -1 is out of range"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"user\": {\"uid\": 4294967296}}}",
         "process.user.uid: 4294967296 is out of range"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"user\": {\"gid\": \"0\"}}}",
         "process.user.gid: must be an integer, not a string"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"user\": {\"gid\": 1.5}}}",
         "process.user.gid: must be an integer, not a number"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"terminal\": \"yes\"}}",
         "process.terminal: must be a boolean"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"rlimits\": [{\"type\": "
                      "\"RLIMIT_FOO\", \"hard\": 1, \"soft\": 1}]}}",
         "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"rlimits\": [{\"type\": "
                      "\"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": 2}]}}",
         "process.rlimits[0]: soft limit 2 is above the hard limit 1"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"sh\"], \"oomScoreAdj\": 1001}}",
         "process.oomScoreAdj: 1001 is out of range"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"mounts\": [{\"destination\": \"/a\"}, "
                                   "{\"destination\": \"b\", \"type\": \"tmpfs\"}]}",
         "config.json: mounts[1].destination: 'b' is not an absolute path"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"mounts\": [{\"type\": \"tmpfs\"}]}",
         "mounts[0].destination: required"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"mounts\": [{\"destination\": \"/a\", "
                                   "\"options\": [\"rbind\"]}]}",
         "mounts[0].source: required for a bind mount"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"mounts\": [{\"destination\": \"/a\", "
                                   "\"options\": \"ro\"}]}",
         "mounts[0].options: must be an array, not a string"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"mounts\": {}}", "mounts: must be an array, not an object"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_BLOCK\"}}}",
         "linux.seccomp.defaultAction: unknown seccomp action 'SCMP_ACT_BLOCK'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                                   "\"action\": \"SCMP_ACT_NOTIFY\"}]}}}",
         "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                                   "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
                                   "\"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}}}",
         "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator 'SCMP_CMP_ABOUT'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                                   "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, "
                                   "\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}}}",
         "linux.seccomp.syscalls[0].args[0].index: 6 is out of range"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], "
                                   "\"action\": \"SCMP_ACT_ERRNO\"}]}}}",
         "linux.seccomp.syscalls[0].names: at least one name is required"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 70000}}}",
         "linux.seccomp.defaultErrnoRet: 70000 is out of range"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"syscalls\": []}}}",
         "linux.seccomp.defaultAction: required"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
                                   "\"SCMP_ACT_ALLOW\", \"architectures\": [\"x86_64\"]}}}",
         "linux.seccomp.architectures[0]: unknown architecture 'x86_64'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"maskedPaths\": [\"/proc/kcore\", \"proc\"]}}",
         "linux.maskedPaths[1]: 'proc' is not an absolute path"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"rootfsPropagation\": \"sideways\"}}",
         "linux.rootfsPropagation: unknown propagation 'sideways'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"uidMappings\": [{\"containerID\": 0, "
                                   "\"hostID\": 1000, \"size\": 0}]}}",
         "linux.uidMappings[0]: size must be at least 1"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"devices\": [{\"path\": \"/dev/x\", "
                                   "\"type\": \"q\"}]}}",
         "linux.devices[0].type: unknown device type 'q'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"devices\": [{\"path\": \"/dev/x\", "
                                   "\"type\": \"c\", \"major\": 1}]}}",
         "linux.devices[0].minor: required for a 'c' device"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"resources\": {\"devices\": [{\"allow\": "
                                   "true, \"access\": \"rwx\"}]}}}",
         "linux.resources.devices[0].access: bad access 'rwx'"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"resources\": {\"memory\": {\"limit\": "
                                   "-2}}}}",
         "linux.resources.memory.limit: -2 is out of range"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"resources\": {\"blockIO\": {\"weight\": "
                                   "5}}}}",
         "linux.resources.blockIO.weight: 5 is not in 10..1000"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": {\"sysctl\": {\"kernel.shmmax\": 5}}}",
         "linux.sysctl.kernel.shmmax: must be a string"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"annotations\": []}", "annotations: must be an object"},
        {MINIMAL_HEAD MINIMAL_PROC ", \"linux\": []}", "linux: must be an object, not an array"},
        {MINIMAL_HEAD "\"process\": {\"args\": [\"a\\u0000b\"]}}", "process.args[0]: contains a NUL"},
        {"[1, 2]", "config.json: must be a JSON object"},
        {"{\"root\": {\"path\": \"r\"}} x", "config.json: bad JSON at offset 24"},
        {"{\"root\": }", "config.json: bad JSON at offset 9"},
        {"{\"root\": {\"path\": \"r\"}}  \n\t ", "config.json: process: required"},
        {"", "config.json: truncated JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct disco_err err = {0};
        struct ct_spec *s = (struct ct_spec *)1;
        int rc = ct_spec_parse(cases[i].json, "/b", &s, &err);
        CHECK_EQ(rc, -EINVAL);
        CHECK(s == NULL);
        CHECK_EQ(err.code, -EINVAL);
        if (!strstr(err.msg, cases[i].want)) {
            printf("  case %zu: got \"%s\", want \"%s\"\n", i, err.msg, cases[i].want);
            CHECK(!"the message names the key");
        }
        if (rc == 0)
            ct_spec_free(s);
    }
    /* Unknown keys are ignored, null is "absent". */
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    CHECK_EQ(ct_spec_parse(MINIMAL_HEAD MINIMAL_PROC ", \"hostname\": \"\", \"vm\": {\"x\": 1}, "
                           "\"linux\": {\"intelRdt\": {}, \"resources\": null}}",
                           "/b", &s, &err),
             0);
    CHECK(s && !s->hostname && streq(s->root_path, "/b/rootfs") && s->process.env &&
          s->process.nenv == 0 && s->process.env[0] == NULL);
    ct_spec_free(s);
    /* ct_spec_load names the file. */
    CHECK(ct_spec_load("/nonexistent-disco-bundle", &s, &err) < 0 && s == NULL);
    CHECK(strstr(err.msg, "/nonexistent-disco-bundle") != NULL);
}

static void spec_truncated_every_length(void)
{
    size_t n = strlen(podman_like);
    char *buf = malloc(n + 1);
    CHECK(buf != NULL);
    if (!buf)
        return;
    int failures = 0, bad_messages = 0;
    for (size_t len = 0; len < n; len++) {
        memcpy(buf, podman_like, len);
        buf[len] = '\0';
        struct disco_err err = {0};
        struct ct_spec *s = NULL;
        int rc = ct_spec_parse(buf, "/b", &s, &err);
        /* Only the final newline is optional. */
        bool complete = strspn(podman_like + len, " \n") == n - len;
        if (complete) {
            CHECK_EQ(rc, 0);
        } else {
            failures += rc < 0;
            bad_messages += rc < 0 && strncmp(err.msg, "config.json: ", 13) != 0;
            CHECK(rc < 0 || !"a prefix parsed");
        }
        ct_spec_free(s);
    }
    CHECK(failures > 0 && (size_t)failures >= n - 2);
    CHECK_EQ(bad_messages, 0);
    free(buf);
}

/* Mangled bytes (deterministic): anything may fail, nothing may crash or
 * leak (ASan). Also the shapes that break naive parsers. */
static void spec_garbage_never_crashes(void)
{
    size_t n = strlen(podman_like);
    char *buf = malloc(n + 1);
    CHECK(buf != NULL);
    if (!buf)
        return;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const char alphabet[] = "{}[]\",:0123456789-.eE truefalsnul\\/aX\x01\xff";
    int parsed = 0, failed = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, podman_like, n + 1);
        int edits = 1 + iter % 4;
        for (int k = 0; k < edits; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % n] = alphabet[(x >> 32) % (sizeof alphabet - 1)];
        }
        struct disco_err err = {0};
        struct ct_spec *s = NULL;
        int rc = ct_spec_parse(buf, "/b", &s, &err);
        if (rc == 0) {
            parsed++;
            CHECK(s != NULL);
        } else {
            failed++;
            CHECK(s == NULL && err.msg[0] != '\0');
        }
        ct_spec_free(s);
    }
    CHECK(failed > 0 && parsed > 0);
    free(buf);

    /* Deep nesting: json-c's depth limit, an error, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    CHECK(deep != NULL);
    if (deep) {
        size_t k = 0;
        k += (size_t)sprintf(deep, "{\"root\": ");
        for (size_t i = 0; i < depth; i++)
            deep[k++] = '[';
        for (size_t i = 0; i < depth; i++)
            deep[k++] = ']';
        strcpy(deep + k, "}");
        struct disco_err err = {0};
        struct ct_spec *s = NULL;
        CHECK(ct_spec_parse(deep, "/b", &s, &err) < 0 && s == NULL);
        free(deep);
    }
    struct disco_err err = {0};
    struct ct_spec *s = NULL;
    CHECK(ct_spec_parse(NULL, "/b", &s, &err) < 0);
    CHECK(ct_spec_parse("null", "/b", &s, &err) < 0);
    CHECK(ct_spec_parse("{\"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"]}, "
                        "\"root\": {\"path\": \"/x\"}}", "/b", &s, &err) == 0);
    CHECK(s && streq(s->root_path, "/x"));     /* the last duplicate wins, as in Go */
    ct_spec_free(s);
}

static void process_parse_alone(void)
{
    struct disco_err err = {0};
    struct ct_process p;
    CHECK_EQ(ct_process_parse("{\"args\": [\"ls\", \"-l\"], \"cwd\": \"/tmp\", \"env\": "
                              "[\"A=b\"], \"user\": {\"uid\": 5, \"gid\": 6}, \"terminal\": true, "
                              "\"noNewPrivileges\": true, \"capabilities\": {\"ambient\": "
                              "[\"CAP_NET_RAW\"]}}",
                              &p, &err),
             0);
    CHECK(p.nargs == 2 && streq(p.args[1], "-l") && streq(p.cwd, "/tmp"));
    CHECK(p.uid == 5 && p.gid == 6 && p.terminal && p.no_new_privileges);
    CHECK_EQ(p.caps.ambient, 1ull << CAP_NET_RAW);
    ct_process_clear(&p);
    CHECK(p.args == NULL && p.nargs == 0);
    CHECK_EQ(ct_process_parse("{\"cwd\": \"/\"}", &p, &err), -EINVAL);
    CHECK(strstr(err.msg, "process.args: at least one argument") != NULL);
    CHECK(p.args == NULL && p.cwd == NULL);
    CHECK_EQ(ct_process_parse("{\"args\": [\"x\"], \"env\": [\"A\", {}]}", &p, &err), -EINVAL);
    CHECK(strstr(err.msg, "process.env[1]: must be a string") != NULL);
}

static void names_and_signals(void)
{
    CHECK(streq(ct_ns_name(CT_NS_NET), "network") && streq(ct_ns_name(CT_NS_MOUNT), "mount"));
    CHECK(ct_ns_name(CT_NS_COUNT) == NULL && ct_ns_name((enum ct_ns)-1) == NULL);
    CHECK_EQ(ct_ns_clone_flag(CT_NS_USER), CLONE_NEWUSER);
    CHECK_EQ(ct_ns_clone_flag(CT_NS_CGROUP), CLONE_NEWCGROUP);
    CHECK_EQ(ct_ns_clone_flag(CT_NS_MOUNT), CLONE_NEWNS);
    int all = 0;
    for (int i = 0; i < CT_NS_COUNT; i++)
        all |= ct_ns_clone_flag((enum ct_ns)i);
    CHECK_EQ(all, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                      CLONE_NEWUSER | CLONE_NEWCGROUP);

    CHECK_EQ(ct_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    CHECK_EQ(ct_cap_from_name("CAP_CHOWN"), 0);
    CHECK_EQ(ct_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
    CHECK_EQ(ct_cap_from_name("cap_sys_admin"), -1);
    CHECK_EQ(ct_cap_from_name("SYS_ADMIN"), -1);
    CHECK_EQ(ct_cap_from_name("CAP_"), -1);
    CHECK_EQ(ct_cap_from_name("CAP_NOPE"), -1);
    CHECK_EQ(ct_cap_from_name("5"), -1);
    CHECK_EQ(ct_cap_from_name(NULL), -1);
    CHECK_EQ(ct_caps_default(), 1ull << CAP_AUDIT_WRITE | 1ull << CAP_KILL |
                                    1ull << CAP_NET_BIND_SERVICE);

    CHECK_EQ(ct_signal_from_name("KILL"), SIGKILL);
    CHECK_EQ(ct_signal_from_name("SIGKILL"), SIGKILL);
    CHECK_EQ(ct_signal_from_name("sigterm"), SIGTERM);
    CHECK_EQ(ct_signal_from_name("Hup"), SIGHUP);
    CHECK_EQ(ct_signal_from_name("9"), 9);
    CHECK_EQ(ct_signal_from_name("64"), 64);
    CHECK_EQ(ct_signal_from_name("WINCH"), SIGWINCH);
    CHECK_EQ(ct_signal_from_name("RTMIN"), SIGRTMIN);
    CHECK_EQ(ct_signal_from_name("SIGRTMIN+3"), SIGRTMIN + 3);
    CHECK_EQ(ct_signal_from_name("RTMAX-1"), SIGRTMAX - 1);
    CHECK_EQ(ct_signal_from_name("RTMIN+99"), -1);
    CHECK_EQ(ct_signal_from_name("0"), -1);
    CHECK_EQ(ct_signal_from_name("65"), -1);
    CHECK_EQ(ct_signal_from_name("-9"), -1);
    CHECK_EQ(ct_signal_from_name("9x"), -1);
    CHECK_EQ(ct_signal_from_name("SIG"), -1);
    CHECK_EQ(ct_signal_from_name("FOO"), -1);
    CHECK_EQ(ct_signal_from_name(""), -1);
    CHECK_EQ(ct_signal_from_name(NULL), -1);
    CHECK_EQ(ct_signal_from_name("SIGKILLSIGKILLSIGKILL"), -1);
}

static void resources_init_unsets(void)
{
    struct ct_resources r;
    memset(&r, 0x5a, sizeof r);
    ct_resources_init(&r);
    CHECK(r.memory_limit == CT_UNSET && r.memory_reservation == CT_UNSET &&
          r.memory_swap == CT_UNSET && r.cpu_quota == CT_UNSET && r.pids_limit == CT_UNSET);
    CHECK(r.cpu_shares == 0 && r.cpu_period == 0 && r.blkio_weight == 0 && !r.cpuset_cpus &&
          !r.devices && r.ndevices == 0 && !r.read_bps);
    CHECK(ct_default_masked_paths[0] && streq(ct_default_masked_paths[9], "/proc/scsi") &&
          ct_default_masked_paths[10] == NULL);
    CHECK(streq(ct_default_readonly_paths[4], "/proc/sysrq-trigger") &&
          ct_default_readonly_paths[5] == NULL);
}

int main(void)
{
    if (runc_binary()) {
        RUN(spec_runc_default);
        RUN(spec_runc_rootless);
    } else {
        SKIP(spec_runc_default, "no runc");
        SKIP(spec_runc_rootless, "no runc");
    }
    RUN(spec_default_round_trip);
    RUN(spec_podman_like);
    RUN(spec_bad_inputs);
    RUN(spec_truncated_every_length);
    RUN(spec_garbage_never_crashes);
    RUN(process_parse_alone);
    RUN(names_and_signals);
    RUN(resources_init_unsets);
    T_EXIT();
}

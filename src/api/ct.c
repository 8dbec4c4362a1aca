/* libdisco's containers: a container guest behind the verbs of disco.h,
 * run by the container runtime of src/ct/ (docs/CONTAINERS.md).
 *
 * A run: ctg_start builds a struct ct_spec from the guest's config (the
 * defaults of `runc spec`, then our namespaces, root, process, limits),
 * creates the cgroup "disco/<name>", mounts an overlay root if the
 * container is an overlay snapshot, and ct_spawn()s its init (network set
 * up by before_run while the child waits). The init's stdio is its pty
 * (terminal) or a socket for stdin and one pipe for stdout+stderr; the
 * output goes to the guest's console hub, so console.log, replay and
 * watchers work exactly as for a VM.
 *
 * One monitor thread per running container (not the host's event loop:
 * the end of a run kills the cgroup, waits for it to empty and talks
 * netlink, which must not stall the VMs' device work on the loop) polls the
 * console fd and the init's pidfd. When init exits it reaps it, marks the
 * run STOPPING, cleans up unlocked (SIGKILL to what is left in the cgroup,
 * remove the cgroup, drain the console, delete the veth, unmount the
 * overlay), then ends the run under guest->lock: last_exit, STOPPED,
 * run_gen + 1 (what stop / shutdown wait for), hub_run_end.
 *
 * Locking: as host.c (api_priv.h). Short runtime calls that need the run
 * (exec's spawn, stats, freeze, mknod, moving a link, CRIU) are made with
 * guest->lock held: the run cannot end under them, and the init, reaped
 * only under that lock, cannot be recycled into another pid meanwhile. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api_priv.h"
#include "ct/cgroup.h"
#include "ct/criu.h"
#include "ct/net.h"
#include "ct/security.h"
#include "ct/spawn.h"
#include "ct/spec.h"
#include "util/clock.h"
#include "vmm/agent.h"   /* AGENT_MAX_OUTPUT, AGENT_MAX_ARGV_BYTES: exec limits as for VMs */

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define CGROUP_PARENT "disco"
#define CONSOLE_DRAIN_MS 2000u     /* console output left when init is gone */
#define EXEC_DRAIN_MS 1000u        /* exec output after the command exited or was killed */
#define REBOOT_DEFAULT_MS 10000u   /* disco_reboot: timeout 0 */
#define USERNS_SIZE 65536u
#define MAX_CPU_CAP (100u * 1024u)
#define CP_PROGRAM "/bin/cp"

extern char **environ;

struct ctg_run {
    struct guest *g;
    struct ct_spec *spec;
    struct ct_cgroup *cg;       /* NULL: none (rootless without a writable cgroup) */
    pid_t pid;                  /* init, in our pid namespace */
    int pidfd;
    bool our_child;             /* reaped with waitid (CRIU's restored init is not ours) */
    int con_fd;                 /* output: pty master or the stdout/stderr pipe; -1 none */
    int in_fd;                  /* input end, handed to guest->ct_in_fd */
    char veth[16];              /* host end of the veth pair, "" none */
    char *overlay;              /* the overlay root we mounted, NULL none */
    uint64_t start_ns;
    bool exited;                /* init is gone: the monitor is ending the run */
    bool stop_requested;        /* ctg_hard_stop: last_exit says "stopped" */
    char exit_note[200];        /* replaces last_exit (checkpoint --stop) */
    char exit_text[120];        /* how init ended */
};

static int sys_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* ---- names ------------------------------------------------------------------------ */

/* The host end of the veth: "vd-<name>", or when that is over 15 bytes
 * "vd-" + 6 bytes of the name + "-" + 5 hex digits of its hash, so two
 * long names with one prefix still get two interfaces. */
static void veth_name(const char *name, char out[16])
{
    size_t n = strlen(name);
    if (n + 3 <= 15) {
        memcpy(out, "vd-", 3);
        memcpy(out + 3, name, n + 1);
        return;
    }
    uint32_t hsh = 2166136261u;   /* FNV-1a */
    for (const char *p = name; *p; p++)
        hsh = (hsh ^ (uint8_t)*p) * 16777619u;
    snprintf(out, 16, "vd-%.6s-%05x", name, hsh & 0xfffffu);
}

/* cgroup v2 weight (1..10000) -> v1 shares (2..262144), the conversion
 * runc and crun use the other way round. */
static uint64_t weight_to_shares(unsigned weight)
{
    return 2 + ((uint64_t)(weight - 1) * 262142u) / 9999u;
}

/* ---- the spec ---------------------------------------------------------------------- */

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(const char *const *src, size_t *n)
{
    size_t k = 0;
    while (src[k])
        k++;
    char **v = calloc(k + 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < k; i++)
        if (!(v[i] = strdup(src[i]))) {
            strv_free(v, i);
            return NULL;
        }
    *n = k;
    return v;
}

static int set_str(char **field, const char *val)
{
    char *s = val ? strdup(val) : NULL;
    if (val && !s)
        return -ENOMEM;
    free(*field);
    *field = s;
    return 0;
}

static void fill_resources(const struct disco_ct_config *c, struct ct_resources *r)
{
    r->memory_limit = c->mem_limit ? (int64_t)c->mem_limit : CT_UNSET;
    r->cpu_shares = c->cpu_weight ? weight_to_shares(c->cpu_weight) : 0;
    r->cpu_quota = c->cpu_cap ? (int64_t)c->cpu_cap * 1000 : CT_UNSET;
    r->cpu_period = c->cpu_cap ? 100000 : 0;
    r->pids_limit = c->pids_max ? (int64_t)c->pids_max : CT_UNSET;
    r->blkio_weight = (uint16_t)c->io_weight;
}

/* Deny every device; ct/cgroup adds the nodes every container gets. */
static const struct ct_device_rule deny_all_devices = {false, 'a', -1, -1, "rwm"};

/* The spec of a run: `runc spec`'s defaults (mounts, masked and read-only
 * paths, capabilities, the default seccomp profile, rlimits), adjusted to
 * the config. */
static int build_spec(struct guest *g, struct ct_spec **out, struct disco_err *err)
{
    const struct disco_ct_config *c = &g->ct_cfg;
    bool rootless = geteuid() != 0;
    bool userns = c->userns || rootless;
    *out = NULL;
    char *json = ct_spec_default_json(rootless, geteuid(), getegid());
    if (!json)
        return err_set(err, -ENOMEM, "out of memory for a container spec");
    struct ct_spec *sp = NULL;
    struct disco_err perr;
    err_clear(&perr);
    int rc = ct_spec_parse(json, g->dir, &sp, &perr);
    free(json);
    if (rc < 0)
        return err_set(err, rc, "guest '%s': the default spec: %s", g->name, perr.msg);
    rc = -ENOMEM;
    char cgpath[DISCO_NAME_MAX + 16];
    snprintf(cgpath, sizeof cgpath, CGROUP_PARENT "/%s", g->name);
    if (set_str(&sp->root_path, c->rootfs) < 0 || set_str(&sp->hostname, c->hostname) < 0 ||
        set_str(&sp->process.cwd, c->cwd) < 0 || set_str(&sp->cgroups_path, cgpath) < 0)
        goto fail;
    sp->root_readonly = c->readonly_root;

    struct ct_process *p = &sp->process;
    strv_free(p->args, p->nargs);
    p->args = strv_dup(c->argv, &p->nargs);
    strv_free(p->env, p->nenv);
    p->env = strv_dup(c->env, &p->nenv);
    if (!p->args || !p->env)
        goto fail;
    p->terminal = c->terminal;
    p->uid = p->gid = 0;
    free(p->additional_gids);
    p->additional_gids = NULL;
    p->ngids = 0;
    p->no_new_privileges = true;
    uint64_t caps = ct_caps_container();
    p->caps = (struct ct_caps){.bounding = caps, .effective = caps, .permitted = caps};

    static const enum ct_ns always[] = {CT_NS_MOUNT, CT_NS_PID, CT_NS_UTS,
                                        CT_NS_IPC,   CT_NS_NET, CT_NS_CGROUP};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++) {
        sp->ns[always[i]].enabled = true;
        set_str(&sp->ns[always[i]].path, NULL);
    }
    sp->ns[CT_NS_USER].enabled = userns;
    set_str(&sp->ns[CT_NS_USER].path, NULL);
    free(sp->uid_mappings);
    free(sp->gid_mappings);
    sp->uid_mappings = sp->gid_mappings = NULL;
    sp->nuid_mappings = sp->ngid_mappings = 0;
    if (userns) {
        sp->uid_mappings = calloc(1, sizeof *sp->uid_mappings);
        sp->gid_mappings = calloc(1, sizeof *sp->gid_mappings);
        if (!sp->uid_mappings || !sp->gid_mappings)
            goto fail;
        /* Rootless: only our own ids exist to map (to root inside). */
        if (rootless) {
            sp->uid_mappings[0] = (struct ct_idmap){0, (uint32_t)geteuid(), 1};
            sp->gid_mappings[0] = (struct ct_idmap){0, (uint32_t)getegid(), 1};
        } else {
            sp->uid_mappings[0] = (struct ct_idmap){0, c->userns_base, USERNS_SIZE};
            sp->gid_mappings[0] = (struct ct_idmap){0, c->userns_base, USERNS_SIZE};
        }
        sp->nuid_mappings = sp->ngid_mappings = 1;
    }

    /* Limits: ours replace the default spec's. Devices (enforced on
     * cgroup v1): deny all; ct/cgroup allows the standard nodes after it,
     * as runc does on top of any spec. */
    struct ct_resources *r = &sp->resources;
    struct ct_device_rule *devs = malloc(sizeof *devs);
    if (!devs)
        goto fail;
    *devs = deny_all_devices;
    free(r->devices);
    r->devices = NULL;
    r->ndevices = 0;
    free(r->cpuset_cpus);
    free(r->cpuset_mems);
    free(r->read_bps);
    free(r->write_bps);
    free(r->read_iops);
    free(r->write_iops);
    ct_resources_init(r);
    r->devices = devs;
    r->ndevices = 1;
    fill_resources(c, r);

    if (!sp->seccomp && !(sp->seccomp = ct_seccomp_default()))
        goto fail;
    *out = sp;
    return 0;
fail:
    ct_spec_free(sp);
    return err_set(err, rc, "guest '%s': out of memory for its spec", g->name);
}

/* ---- runs -------------------------------------------------------------------------- */

static void run_free(struct ctg_run *r)
{
    if (!r)
        return;
    if (r->cg)
        ct_cgroup_free(r->cg);
    ct_spec_free(r->spec);
    if (r->pidfd >= 0)
        close(r->pidfd);
    if (r->con_fd >= 0)
        close(r->con_fd);
    if (r->in_fd >= 0)
        close(r->in_fd);
    free(r->overlay);
    free(r);
}

/* mkdir that accepts an existing directory. */
static int mkdir_ok(const char *path, struct disco_err *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return err_errno(err, errno, "mkdir %s", path);
    return 0;
}

/* An overlay snapshot's root: lower layers from the config, upper and
 * work beside the mount point in the guest's directory. */
static int mount_overlay(struct guest *g, struct ctg_run *r, struct disco_err *err)
{
    const struct disco_ct_config *c = &g->ct_cfg;
    char *upper = NULL, *work = NULL, *data = NULL;
    int rc = 0;
    if (asprintf(&upper, "%s/upper", g->dir) < 0 || asprintf(&work, "%s/work", g->dir) < 0 ||
        asprintf(&data, "lowerdir=%s,upperdir=%s,workdir=%s", c->rootfs_lower, upper, work) < 0) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mkdir_ok(upper, err)) < 0 || (rc = mkdir_ok(work, err)) < 0 ||
        (rc = mkdir_ok(c->rootfs, err)) < 0)
        goto out;
    umount2(c->rootfs, MNT_DETACH);   /* a mount left by a crashed daemon */
    if (mount("overlay", c->rootfs, "overlay", MS_NOSUID, data) < 0) {
        rc = err_errno(err, errno, "guest '%s': mounting its overlay root at %s", g->name,
                       c->rootfs);
        goto out;
    }
    if (!(r->overlay = strdup(c->rootfs))) {
        umount2(c->rootfs, MNT_DETACH);
        rc = err_set(err, -ENOMEM, "out of memory");
    }
out:
    free(upper);
    free(work);
    free(data);
    return rc;
}

/* Everything of a run before its init exists: spec, cgroup, overlay root,
 * console log. guest->lock held. */
static int run_begin(struct guest *g, struct ctg_run **out, struct disco_err *err)
{
    const struct disco_ct_config *c = &g->ct_cfg;
    struct stat st;
    *out = NULL;
    if (!c->rootfs_lower && (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode)))
        return err_set(err, -ENOENT, "guest '%s': its root file system %s is not a directory",
                       g->name, c->rootfs);
    struct ctg_run *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, -ENOMEM, "out of memory");
    r->g = g;
    r->pidfd = r->con_fd = r->in_fd = -1;
    r->our_child = true;
    int rc = build_spec(g, &r->spec, err);
    if (rc < 0)
        goto fail;
    struct disco_err cerr;
    err_clear(&cerr);
    rc = ct_cgroup_create(NULL, r->spec->cgroups_path, &r->spec->resources, &r->cg, &cerr);
    if (rc < 0) {
        /* Rootless without a delegated cgroup: run without one (no
         * limits, no freeze), and say so. */
        if (geteuid() != 0 && (rc == -EACCES || rc == -EPERM || rc == -EROFS)) {
            host_add_warning(g->h, "container '%s' runs without a cgroup (no limits, no pause): "
                             "%s", g->name, cerr.msg);
            r->cg = NULL;
        } else {
            rc = err_set(err, rc, "guest '%s': %s", g->name, cerr.msg);
            goto fail;
        }
    }
    if (c->rootfs_lower && (rc = mount_overlay(g, r, err)) < 0)
        goto fail;
    if ((rc = hub_run_begin(&g->hub, err)) < 0)
        goto fail;
    *out = r;
    return 0;
fail:
    if (r->overlay)
        umount2(r->overlay, MNT_DETACH);
    if (r->cg)
        ct_cgroup_destroy(r->cg, NULL);
    run_free(r);
    return rc;
}

/* Undo run_begin after a failed spawn / restore (the init is gone). */
static void run_abort(struct ctg_run *r)
{
    if (r->veth[0])
        ct_net_veth_teardown(r->veth, NULL);
    if (r->cg) {
        ct_cgroup_signal_all(r->cg, SIGKILL, NULL);
        ct_cgroup_destroy(r->cg, NULL);
    }
    if (r->overlay)
        umount2(r->overlay, MNT_DETACH);
    hub_run_end(&r->g->hub);
    run_free(r);
}

/* Read what the console has now into the hub. false: it is closed (EOF,
 * or EIO from a pty master whose slaves are all closed). */
static bool console_pump(struct ctg_run *r)
{
    uint8_t buf[16384];
    for (int i = 0; i < 64; i++) {
        ssize_t n = read(r->con_fd, buf, sizeof buf);
        if (n > 0) {
            hub_output(r->g, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN;
    }
    return true;
}

/* The rest of the console after init exited: until EOF, bounded. */
static void console_drain(struct ctg_run *r)
{
    if (r->con_fd < 0)
        return;
    uint64_t deadline = mono_ns() + CONSOLE_DRAIN_MS * 1000000ull;
    for (;;) {
        if (!console_pump(r))
            return;
        uint64_t now = mono_ns();
        if (now >= deadline)
            return;
        struct pollfd p = {.fd = r->con_fd, .events = POLLIN};
        poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
    }
}

static void *monitor_main(void *arg)
{
    struct ctg_run *r = arg;
    struct guest *g = r->g;
    struct disco_host *h = g->h;
    bool con_open = r->con_fd >= 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = r->pidfd, .events = POLLIN},
                              {.fd = con_open ? r->con_fd : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno != EINTR)
                nanosleep(&(struct timespec){0, 10000000}, NULL);   /* ENOMEM: try again */
            continue;
        }
        if (p[1].revents)
            con_open = console_pump(r);
        if (p[0].revents)
            break;
    }

    /* Reap under the lock: until then the init's pid cannot be reused by
     * another process, which keeps the locked runtime calls safe. */
    pthread_mutex_lock(&g->lock);
    if (r->our_child) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int w;
        do
            w = waitid((idtype_t)P_PIDFD, (id_t)r->pidfd, &si, WEXITED);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            snprintf(r->exit_text, sizeof r->exit_text, "exited");
        else if (si.si_code == CLD_EXITED)
            snprintf(r->exit_text, sizeof r->exit_text, "exited with status %d", si.si_status);
        else
            snprintf(r->exit_text, sizeof r->exit_text, "killed by signal %d", si.si_status);
    } else {
        snprintf(r->exit_text, sizeof r->exit_text, "exited");
    }
    r->exited = true;
    g->state = DISCO_STOPPING;
    pthread_mutex_unlock(&g->lock);

    /* Unlocked: what is left of the container. In its pid namespace the
     * kernel kills everything when init dies; the cgroup also holds
     * processes that disco_exec started. */
    if (r->cg) {
        ct_cgroup_signal_all(r->cg, SIGKILL, NULL);
        struct disco_err e;
        err_clear(&e);
        if (ct_cgroup_destroy(r->cg, &e) < 0)
            host_add_warning(h, "container '%s': its cgroup was not removed: %s", g->name,
                             e.msg);
    }
    console_drain(r);
    if (r->veth[0])
        ct_net_veth_teardown(r->veth, NULL);
    if (r->overlay)
        umount2(r->overlay, MNT_DETACH);

    pthread_mutex_lock(&g->lock);
    if (r->exit_note[0])
        snprintf(g->last_exit, sizeof g->last_exit, "%s", r->exit_note);
    else if (r->stop_requested)
        snprintf(g->last_exit, sizeof g->last_exit, "%s",
                 g->forced_stop ? "stopped (shutdown timed out)" : "stopped");
    else
        snprintf(g->last_exit, sizeof g->last_exit, "%s", r->exit_text);
    pthread_mutex_lock(&g->vm_lock);
    g->ct_in_fd = -1;   /* r->in_fd, closed by run_free */
    pthread_mutex_unlock(&g->vm_lock);
    g->run = NULL;
    hub_run_end(&g->hub);
    g->state = DISCO_STOPPED;
    g->forced_stop = false;
    g->run_gen++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    run_free(r);
    guest_unref(g);          /* the run's reference */
    host_monitor_end(h);     /* last: disco_host_free waits for it */
    return NULL;
}

/* The init exists (r->pid, r->pidfd): publish the run and start its
 * monitor. guest->lock held. On failure the caller kills the init. */
static int run_launch(struct guest *g, struct ctg_run *r, struct disco_err *err)
{
    if (r->pidfd < 0 && (r->pidfd = sys_pidfd_open(r->pid)) < 0)
        return err_errno(err, errno, "guest '%s': pidfd_open of its init", g->name);
    atomic_fetch_add(&g->refs, 1);   /* the run's, dropped by the monitor */
    host_monitor_begin(g->h);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u << 10);
    pthread_t t;
    int e = pthread_create(&t, &attr, monitor_main, r);
    pthread_attr_destroy(&attr);
    if (e) {
        host_monitor_end(g->h);
        atomic_fetch_sub(&g->refs, 1);
        return err_set(err, -e, "guest '%s': cannot start its monitor thread", g->name);
    }
    r->start_ns = mono_ns();
    g->run = r;
    pthread_mutex_lock(&g->vm_lock);
    g->ct_in_fd = r->in_fd;
    pthread_mutex_unlock(&g->vm_lock);
    g->state = DISCO_RUNNING;
    g->forced_stop = false;
    return 0;
}

static int before_run(void *ctx, pid_t pid, struct disco_err *err)
{
    struct ctg_run *r = ctx;
    const struct disco_ct_config *c = &r->g->ct_cfg;
    if (c->bridge) {
        /* A bridge we create gets the gateway's address, so the route
         * inside leads somewhere. */
        char braddr[96] = "";
        const char *slash = c->address ? strchr(c->address, '/') : NULL;
        if (c->gateway && slash)
            snprintf(braddr, sizeof braddr, "%s%s", c->gateway, slash);
        veth_name(r->g->name, r->veth);
        struct ct_veth_opts o = {
            .bridge = c->bridge,
            .bridge_addr = braddr[0] ? braddr : NULL,
            .host_ifname = r->veth,
            .addr = c->address,
            .gateway = c->gateway,
        };
        int rc = ct_net_veth_setup(pid, &o, err);
        if (rc < 0)
            r->veth[0] = '\0';   /* "on failure nothing is left" */
        return rc;
    }
    int rc = ct_net_lo_up(pid, err);
    if (rc < 0 && geteuid() != 0) {
        err_clear(err);   /* rootless: we may not enter its namespace; lo stays down */
        return 0;
    }
    return rc;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A container's console without a terminal: stdin one pipe, stdout and
 * stderr another, in order. Pipes, not a socket pair: CRIU looks a unix
 * socket up in the container's network namespace, where ours is not, and
 * refuses the dump. */
struct console_pipes {
    int in[2], out[2];
};
#define CONSOLE_PIPES_NONE {{-1, -1}, {-1, -1}}

static void console_pipes_close(struct console_pipes *cp)
{
    for (int i = 0; i < 2; i++) {
        if (cp->in[i] >= 0)
            close(cp->in[i]);
        if (cp->out[i] >= 0)
            close(cp->out[i]);
        cp->in[i] = cp->out[i] = -1;
    }
}

/* stdio: the container's ends, for ct_spawn or ct_criu_restore. */
static int console_pipes_open(struct guest *g, struct console_pipes *cp, int stdio[3],
                              struct disco_err *err)
{
    if (pipe2(cp->in, O_CLOEXEC) < 0 || pipe2(cp->out, O_CLOEXEC) < 0) {
        int rc = err_errno(err, errno, "guest '%s': console pipes", g->name);
        console_pipes_close(cp);
        return rc;
    }
    stdio[0] = cp->in[0];
    stdio[1] = stdio[2] = cp->out[1];
    return 0;
}

/* The container has its ends: ours become the run's console (non-blocking). */
static void console_pipes_give(struct console_pipes *cp, struct ctg_run *r)
{
    close(cp->in[0]);
    close(cp->out[1]);
    r->con_fd = cp->out[0];
    r->in_fd = cp->in[1];
    set_nonblock(r->con_fd);
    set_nonblock(r->in_fd);
    *cp = (struct console_pipes)CONSOLE_PIPES_NONE;
}

int ctg_start(struct guest *g, struct disco_err *err)
{
    struct ctg_run *r;
    int rc = run_begin(g, &r, err);
    if (rc < 0)
        return rc;
    struct console_pipes cp = CONSOLE_PIPES_NONE;
    struct ct_spawn_opts o = {.spec = r->spec, .cgroup = r->cg, .stdio = {-1, -1, -1},
                              .before_run = before_run, .ctx = r};
    if (!g->ct_cfg.terminal && (rc = console_pipes_open(g, &cp, o.stdio, err)) < 0)
        goto fail;
    struct ct_child ch = {.pid = -1, .pidfd = -1, .pty_master = -1};
    struct disco_err serr;
    err_clear(&serr);
    rc = ct_spawn(&o, &ch, &serr);
    if (rc < 0) {
        rc = err_set(err, rc, "guest '%s': %s", g->name, serr.msg);
        goto fail;
    }
    r->pid = ch.pid;
    r->pidfd = ch.pidfd;
    if (g->ct_cfg.terminal) {
        r->con_fd = ch.pty_master;
        r->in_fd = ch.pty_master >= 0 ? fcntl(ch.pty_master, F_DUPFD_CLOEXEC, 0) : -1;
        if (r->con_fd >= 0)
            set_nonblock(r->con_fd);   /* also the dup's: one file description */
    } else {
        console_pipes_give(&cp, r);
    }
    if ((rc = run_launch(g, r, err)) < 0) {
        if (r->pidfd >= 0)
            sys_pidfd_signal(r->pidfd, SIGKILL);
        else
            kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        run_abort(r);
    }
    return rc;
fail:
    console_pipes_close(&cp);
    run_abort(r);
    return rc;
}

void ctg_hard_stop(struct guest *g)
{
    struct ctg_run *r = g->run;
    if (!r)
        return;
    uint64_t gen = g->run_gen;
    if (!r->exited) {
        r->stop_requested = true;
        /* The cgroup first: a frozen one is thawed after the signal, so
         * SIGKILL lands; then init, whose death ends its pid namespace. */
        if (r->cg)
            ct_cgroup_signal_all(r->cg, SIGKILL, NULL);
        sys_pidfd_signal(r->pidfd, SIGKILL);
    }
    while (g->run_gen == gen)
        pthread_cond_wait(&g->cond, &g->lock);
}

int ctg_shutdown(struct guest *g, uint64_t timeout_ms, bool *forced)
{
    struct ctg_run *r = g->run;
    uint64_t gen = g->run_gen;
    g->state = DISCO_STOPPING;
    /* SIGPWR, as LXC: an init in a pid namespace only gets signals it has
     * a handler for, so one that ignores it runs on until the timeout. */
    if (r && !r->exited)
        sys_pidfd_signal(r->pidfd, SIGPWR);
    uint64_t deadline = deadline_after_ms(timeout_ms);
    while (g->run_gen == gen && mono_ns() < deadline)
        guest_cond_wait_until(g, deadline);
    if (g->run_gen == gen) {
        if (forced)
            *forced = true;
        g->forced_stop = true;
        ctg_hard_stop(g);
    }
    return 0;
}

int ctg_reboot(struct guest *g, bool force, uint64_t timeout_ms, struct disco_err *err)
{
    if (force)
        ctg_hard_stop(g);
    else
        ctg_shutdown(g, timeout_ms ? timeout_ms : REBOOT_DEFAULT_MS, NULL);
    /* The lock was released while waiting: someone may have acted. */
    if (g->removed)
        return err_set(err, -ENOENT, "no guest named '%s'", g->name);
    int rc = guest_check(g, "reboot", DISCO_STOPPED, err);
    return rc < 0 ? rc : ctg_start(g, err);
}

/* The run if it is live (init not gone), else -EBUSY in err. */
static struct ctg_run *live_run(struct guest *g, const char *op, struct disco_err *err)
{
    if (!g->run || g->run->exited) {
        err_set(err, -EBUSY, "cannot %s guest '%s': it is stopping", op, g->name);
        return NULL;
    }
    return g->run;
}

int ctg_pause(struct guest *g, bool frozen, struct disco_err *err)
{
    const char *op = frozen ? "pause" : "resume";
    struct ctg_run *r = live_run(g, op, err);
    if (!r)
        return -EBUSY;
    if (!r->cg)
        return err_set(err, -EOPNOTSUPP, "cannot %s guest '%s': it runs without a cgroup "
                       "(rootless), which is what freezes it", op, g->name);
    struct disco_err e;
    err_clear(&e);
    int rc = ct_cgroup_freeze(r->cg, frozen, &e);
    if (rc < 0)
        return err_set(err, rc, "cannot %s guest '%s': %s", op, g->name, e.msg);
    g->state = frozen ? DISCO_PAUSED : DISCO_RUNNING;
    return 0;
}

int ctg_pid(struct guest *g)
{
    return g->run && !g->run->exited ? (int)g->run->pid : 0;
}

void ctg_stats(struct guest *g, struct disco_stats *st)
{
    const struct disco_ct_config *c = &g->ct_cfg;
    st->kind = DISCO_KIND_CONTAINER;
    st->weight = c->cpu_weight;
    st->cap = c->cpu_cap;
    st->mem = c->mem_limit;
    st->mem_limit = c->mem_limit;
    st->ct_mem_max = c->mem_limit ? c->mem_limit : UINT64_MAX;
    st->ct_pids_max = c->pids_max ? c->pids_max : UINT64_MAX;
    struct ctg_run *r = g->run;
    if (!r)
        return;
    st->uptime_ns = mono_ns() - r->start_ns;
    struct ct_cgroup_stats cs;
    memset(&cs, 0, sizeof cs);
    if (!r->cg || r->exited || ct_cgroup_stats(r->cg, &cs, NULL) < 0)
        return;
    st->cpu_ns = cs.cpu_usage_ns;
    st->mem_resident = cs.memory_current;
    st->ct_mem_max = cs.memory_max;
    st->ct_mem_peak = cs.memory_peak;
    st->ct_oom_kills = cs.memory_oom_kills;
    st->ct_mem_failcnt = cs.memory_failcnt;
    st->ct_pids = cs.pids_current;
    st->ct_pids_max = cs.pids_max;
    st->ct_cpu_throttled_ns = cs.cpu_throttled_ns;
    st->ct_nr_throttled = cs.cpu_nr_throttled;
    st->ct_io_read_bytes = cs.io_read_bytes;
    st->ct_io_write_bytes = cs.io_write_bytes;
}

int ctg_set_cpu(struct guest *g, unsigned weight, unsigned cap, struct disco_err *err)
{
    struct disco_ct_config c = g->ct_cfg;
    if (weight != DISCO_SCHED_KEEP)
        c.cpu_weight = weight;
    if (cap != DISCO_SCHED_KEEP)
        c.cpu_cap = cap;
    if (c.cpu_weight > 10000)
        return err_set(err, -EINVAL, "bad weight %u for a container (1..10000, cgroup v2 "
                       "cpu.weight; 0: the default)", c.cpu_weight);
    if (c.cpu_cap > MAX_CPU_CAP)
        return err_set(err, -EINVAL, "bad cap %u (0..%u percent of one host CPU)", c.cpu_cap,
                       MAX_CPU_CAP);
    struct ctg_run *r = g->run;
    if (r && r->cg && !r->exited) {
        /* At once on a running container; the defaults spelled out, since
         * "unset" would leave the old values. */
        struct ct_resources res;
        ct_resources_init(&res);
        res.cpu_shares = c.cpu_weight ? weight_to_shares(c.cpu_weight) : 1024;
        res.cpu_quota = c.cpu_cap ? (int64_t)c.cpu_cap * 1000 : -1;
        res.cpu_period = 100000;
        struct disco_err e;
        err_clear(&e);
        int rc = ct_cgroup_update(r->cg, &res, &e);
        if (rc < 0)
            return err_set(err, rc, "guest '%s': %s", g->name, e.msg);
    }
    int rc = ct_config_save(g->dir, &c, err);
    if (rc == 0) {
        g->ct_cfg.cpu_weight = c.cpu_weight;   /* strings unchanged */
        g->ct_cfg.cpu_cap = c.cpu_cap;
    }
    return rc;
}

int ctg_console_write(struct guest *g, const uint8_t *buf, size_t len)
{
    int n = -EPIPE;
    pthread_mutex_lock(&g->vm_lock);
    if (g->ct_in_fd >= 0) {
        if (len > INT32_MAX)
            len = INT32_MAX;
        /* A container that closed its stdin must not SIGPIPE the host
         * process: blocked on this thread, and taken back if it came. */
        sigset_t pipe_set, old, pending;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
        sigpending(&pending);
        bool was_pending = sigismember(&pending, SIGPIPE) == 1;
        ssize_t w = write(g->ct_in_fd, buf, len);   /* pipe or pty master, non-blocking */
        int e = errno;
        if (w < 0 && e == EPIPE && !was_pending) {
            struct timespec zero = {0, 0};
            sigtimedwait(&pipe_set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = e;
        if (w >= 0)
            n = (int)w;
        else if (errno == EAGAIN || errno == EINTR)
            n = 0;
    }
    pthread_mutex_unlock(&g->vm_lock);
    return n;
}

/* ---- exec --------------------------------------------------------------------------- */

struct outbuf {
    uint8_t *p;
    size_t len, cap;
    bool truncated;
    bool open;
};

/* Read what fd has; false at EOF. Output beyond AGENT_MAX_OUTPUT is read
 * and dropped (the VM path's limit). */
static bool outbuf_read(struct outbuf *b, int fd)
{
    uint8_t tmp[16384];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN;
        if (n == 0)
            return false;
        size_t take = (size_t)n;
        if (b->len + take > AGENT_MAX_OUTPUT) {
            take = AGENT_MAX_OUTPUT - b->len;
            b->truncated = true;
        }
        if (b->len + take + 1 > b->cap) {
            size_t nc = b->cap ? b->cap : 4096;
            while (nc < b->len + take + 1)
                nc *= 2;
            uint8_t *np = realloc(b->p, nc);
            if (!np) {
                b->truncated = true;
                continue;
            }
            b->p = np;
            b->cap = nc;
        }
        memcpy(b->p + b->len, tmp, take);
        b->len += take;
    }
}

static uint8_t *outbuf_take(struct outbuf *b, size_t *len)
{
    uint8_t *p = b->p ? b->p : malloc(1);
    if (p)
        p[b->len] = '\0';
    *len = p ? b->len : 0;
    b->p = NULL;
    return p;
}

int ctg_exec(struct guest *g, const char *const *argv, uint64_t timeout_ms,
             struct disco_exec_result *res, struct disco_err *err)
{
    size_t n = 0, bytes = 0;
    while (argv[n])
        bytes += strlen(argv[n++]) + 1;
    struct ctg_run *r = live_run(g, "run a command in", err);
    int rc = 0;
    if (!r) {
        guest_close(g);
        return -EBUSY;
    }
    if (bytes > AGENT_MAX_ARGV_BYTES) {
        rc = err_set(err, -E2BIG, "exec: the command line is longer than %u bytes",
                     AGENT_MAX_ARGV_BYTES);
        guest_close(g);
        return rc;
    }
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        rc = err_errno(err, errno, "exec: pipes");
        if (devnull >= 0)
            close(devnull);
        for (int i = 0; i < 2; i++) {
            if (outp[i] >= 0)
                close(outp[i]);
            if (errp[i] >= 0)
                close(errp[i]);
        }
        guest_close(g);
        return rc;
    }
    /* The init's process settings (user, capabilities, env, cwd, rlimits,
     * no_new_privs) with our command; nothing here is freed by us. */
    struct ct_process p = r->spec->process;
    p.args = (char **)argv;
    p.nargs = n;
    p.terminal = false;
    p.console_rows = p.console_cols = 0;
    struct ct_exec_opts o = {
        .init_pid = r->pid,
        .spec = r->spec,
        .process = &p,
        .cgroup = r->cg,
        .stdio = {devnull, outp[1], errp[1]},
    };
    struct ct_child ch = {.pid = -1, .pidfd = -1, .pty_master = -1};
    struct disco_err e;
    err_clear(&e);
    rc = ct_exec_spawn(&o, &ch, &e);
    close(devnull);
    close(outp[1]);
    close(errp[1]);
    if (rc < 0) {
        rc = err_set(err, rc, "guest '%s': exec %.100s: %s", g->name, argv[0], e.msg);
        close(outp[0]);
        close(errp[0]);
        guest_close(g);
        return rc;
    }
    /* The command may run long: unlocked from here (it is our child; the
     * run may end meanwhile, which kills it). */
    pthread_mutex_unlock(&g->lock);
    if (ch.pidfd < 0)
        ch.pidfd = sys_pidfd_open(ch.pid);
    set_nonblock(outp[0]);
    set_nonblock(errp[0]);
    struct outbuf ob = {.open = true}, eb = {.open = true};
    uint64_t deadline = timeout_ms ? deadline_after_ms(timeout_ms) : UINT64_MAX;
    uint64_t drain_until = UINT64_MAX;
    bool exited = false, timed_out = false;
    while (ob.open || eb.open || !exited) {
        uint64_t now = mono_ns();
        if (!timed_out && now >= deadline) {
            timed_out = true;
            sys_pidfd_signal(ch.pidfd, SIGKILL);
        }
        /* A background process may keep the pipes open after the command
         * is gone: give its output a moment, then stop reading. */
        if ((exited || timed_out) && drain_until == UINT64_MAX)
            drain_until = now + EXEC_DRAIN_MS * 1000000ull;
        if (now >= drain_until && exited)
            break;
        uint64_t until = deadline < drain_until ? deadline : drain_until;
        int wait_ms = until == UINT64_MAX ? -1
                      : until <= now     ? 0
                                         : (int)((until - now) / 1000000u) + 1;
        if (ch.pidfd < 0 && (wait_ms < 0 || wait_ms > 50))
            wait_ms = 50;   /* no pidfd: poll the child with waitpid */
        struct pollfd pf[3] = {{.fd = ob.open ? outp[0] : -1, .events = POLLIN},
                               {.fd = eb.open ? errp[0] : -1, .events = POLLIN},
                               {.fd = exited ? -1 : ch.pidfd, .events = POLLIN}};
        if (poll(pf, 3, wait_ms) < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            ob.open = outbuf_read(&ob, outp[0]);
        if (pf[1].revents)
            eb.open = outbuf_read(&eb, errp[0]);
        if (!exited && (pf[2].revents || ch.pidfd < 0)) {
            int wst;
            pid_t w = waitpid(ch.pid, &wst, WNOHANG);
            if (w == ch.pid) {
                exited = true;
                res->status = WIFEXITED(wst)     ? WEXITSTATUS(wst)
                              : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst)
                                                 : 255;
            } else if (w < 0 && errno != EINTR) {
                exited = true;
                res->status = 255;
            }
        }
    }
    close(outp[0]);
    close(errp[0]);
    ct_child_close(&ch);
    if (timed_out) {
        free(ob.p);
        free(eb.p);
        rc = err_set(err, -ETIMEDOUT, "guest '%s': the command did not finish within %llu ms "
                     "(killed)", g->name, (unsigned long long)timeout_ms);
    } else {
        res->out = outbuf_take(&ob, &res->out_len);
        res->errout = outbuf_take(&eb, &res->err_len);
        res->truncated = ob.truncated || eb.truncated;
        if (!res->out || !res->errout) {
            disco_exec_result_free(res);
            rc = err_set(err, -ENOMEM, "exec: out of memory for the output");
        }
    }
    guest_unref(g);
    return rc;
}

/* ---- files ------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;   /* best effort: go on */
}

/* rm -rf that stays on the file system of `path` (FTW_MOUNT) and never
 * follows symlinks (FTW_PHYS). */
static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* rm_tree of <dir>/<leaf>, only if it is a directory on dir's own file
 * system (an overlay still mounted there would lead into its layers). */
static void rm_owned(const char *dir, const char *leaf)
{
    char *p;
    if (asprintf(&p, "%s/%s", dir, leaf) < 0)
        return;
    struct stat sd, sp;
    umount2(p, MNT_DETACH);
    if (stat(dir, &sd) == 0 && lstat(p, &sp) == 0 && S_ISDIR(sp.st_mode) && sd.st_dev == sp.st_dev)
        rm_tree(p);
    free(p);
}

int ctg_remove_files(struct guest *g, struct disco_err *err)
{
    (void)err;
    char *own_root;
    if (asprintf(&own_root, "%s/rootfs", g->dir) < 0)
        return -ENOMEM;
    /* Only what disco made: a snapshot's root lives in the guest's own
     * directory; a root the user gave is never touched. */
    if (!strcmp(g->ct_cfg.rootfs, own_root))
        rm_owned(g->dir, "rootfs");
    free(own_root);
    rm_owned(g->dir, "upper");
    rm_owned(g->dir, "work");
    return 0;
}

/* Run `cp -a SRC/. DST`; its stderr (the first bytes) into the error. */
static int copy_tree(const char *src, const char *dst, struct disco_err *err)
{
    char *from;
    if (asprintf(&from, "%s/.", src) < 0)
        return err_set(err, -ENOMEM, "out of memory");
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        free(from);
        return err_errno(err, errno, "pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, ep[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    char *const args[] = {"cp", "-a", "--", from, (char *)dst, NULL};
    pid_t pid;
    int e = posix_spawn(&pid, CP_PROGRAM, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(ep[1]);
    free(from);
    if (e) {
        close(ep[0]);
        return err_errno(err, e, "cannot run %s", CP_PROGRAM);
    }
    char msg[300];
    size_t got = 0;
    for (;;) {
        char tmp[512];
        ssize_t n = read(ep[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n < sizeof msg - 1 - got ? (size_t)n : sizeof msg - 1 - got;
        memcpy(msg + got, tmp, take);
        got += take;
    }
    msg[got] = '\0';
    close(ep[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return err_errno(err, errno, "waiting for cp");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *nl = strchr(msg, '\n');
        if (nl)
            *nl = '\0';
        return err_set(err, -EIO, "copying %s to %s failed: %s", src, dst,
                       got ? msg : "cp did not succeed");
    }
    return 0;
}

/* ---- container-only verbs ------------------------------------------------------------ */

/* guest_open that also wants a container. */
static int ct_open(struct disco_host *h, const char *name, const char *op, struct guest **out,
                   struct disco_err *err)
{
    int rc = guest_open(h, name, out, err);
    if (rc < 0)
        return rc;
    if ((*out)->kind != DISCO_KIND_CONTAINER) {
        rc = err_set(err, -EINVAL, "cannot %s guest '%s': it is a VM, not a container", op,
                     name);
        guest_close(*out);
        return rc;
    }
    return 0;
}

int disco_add_device_node(struct disco_host *h, const char *name, const char *path, char type,
                          unsigned major, unsigned minor, unsigned mode, struct disco_err *err)
{
    err_clear(err);
    if (!path || strncmp(path, "/dev/", 5) || !path[5] || strlen(path) >= 4096 ||
        strstr(path, "/../") || strstr(path, "/./") || strstr(path, "//") ||
        (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
        return err_set(err, -EINVAL, "add_device_node: bad path '%.200s' (an absolute path "
                       "under /dev, without . or .. components)", path ? path : "(null)");
    if (type != 'c' && type != 'b')
        return err_set(err, -EINVAL, "add_device_node: bad type '%c' (c or b)", type);
    if (major > 4095 || minor > 0xfffff)
        return err_set(err, -EINVAL, "add_device_node: bad device number %u:%u", major, minor);
    if (mode > 0777)
        return err_set(err, -EINVAL, "add_device_node: bad mode 0%o (permission bits, at most "
                       "0777)", mode);
    struct guest *g;
    int rc = ct_open(h, name, "add a device node to", &g, err);
    if (rc < 0)
        return rc;
    struct ctg_run *r = NULL;
    if (g->state != DISCO_RUNNING)
        rc = guest_busy(g, "add a device node to", err);
    else if (!(r = live_run(g, "add a device node to", err)))
        rc = -EBUSY;
    struct disco_err e;
    err_clear(&e);
    const char *devdir = rc == 0 && r->cg && ct_cgroup_mode(r->cg) == CT_CGROUP_V1
                             ? ct_cgroup_dir(r->cg, "devices")
                             : NULL;
    if (devdir) {
        /* Allowed first, so the node works as soon as it exists. One line
         * to devices.allow: ct_cgroup_update would start its rule list
         * from "deny all" and drop the standard nodes. */
        char path_allow[4200], line[64];
        snprintf(path_allow, sizeof path_allow, "%s/devices.allow", devdir);
        snprintf(line, sizeof line, "%c %u:%u rwm", type, major, minor);
        int fd = open(path_allow, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
            rc = err_errno(err, errno, "guest '%s': allowing %s in %s", g->name, line,
                           path_allow);
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0) {
        /* Owned by the container's root. */
        uint32_t owner_uid = 0, owner_gid = 0;
        if (r->spec->nuid_mappings && r->spec->uid_mappings[0].container_id == 0)
            owner_uid = r->spec->uid_mappings[0].host_id;
        if (r->spec->ngid_mappings && r->spec->gid_mappings[0].container_id == 0)
            owner_gid = r->spec->gid_mappings[0].host_id;
        struct ct_device d = {.path = (char *)path, .type = type, .major = major,
                              .minor = minor, .mode = mode ? mode : 0666,
                              .uid = owner_uid, .gid = owner_gid};
        if ((rc = ct_add_device_node(r->pid, &d, &e)) < 0)
            rc = err_set(err, rc, "guest '%s': %s", g->name, e.msg);
    }
    guest_close(g);
    return rc;
}

int disco_attach_interface(struct disco_host *h, const char *name, const char *ifname,
                           const char *ct_ifname, struct disco_err *err)
{
    err_clear(err);
    if (!config_ifname_ok(ifname))
        return err_set(err, -EINVAL, "attach_interface: bad interface name '%.40s'",
                       ifname ? ifname : "(null)");
    if (ct_ifname && !config_ifname_ok(ct_ifname))
        return err_set(err, -EINVAL, "attach_interface: bad interface name '%.40s' for inside",
                       ct_ifname);
    struct guest *g;
    int rc = ct_open(h, name, "attach an interface to", &g, err);
    if (rc < 0)
        return rc;
    struct ctg_run *r = NULL;
    if (g->state != DISCO_RUNNING)
        rc = guest_busy(g, "attach an interface to", err);
    else if (!(r = live_run(g, "attach an interface to", err)))
        rc = -EBUSY;
    if (rc == 0) {
        struct disco_err e;
        err_clear(&e);
        if ((rc = ct_net_move_link(r->pid, ifname, ct_ifname, &e)) < 0)
            rc = err_set(err, rc, "guest '%s': %s", g->name, e.msg);
    }
    guest_close(g);
    return rc;
}

int disco_ct_snapshot(struct disco_host *h, const char *name, const char *new_name, bool overlay,
                      struct disco_err *err)
{
    err_clear(err);
    if (!new_name || !config_name_ok(new_name))
        return err_set(err, -EINVAL, "snapshot: bad name '%.80s' (1..%u characters of A-Z a-z "
                       "0-9 _ . -, starting with a letter or digit)",
                       new_name ? new_name : "(null)", DISCO_NAME_MAX);
    struct guest *g;
    int rc = ct_open(h, name, "snapshot", &g, err);
    if (rc < 0)
        return rc;
    if (g->state != DISCO_STOPPED && g->state != DISCO_PAUSED) {
        rc = err_set(err, -EBUSY, "cannot snapshot guest '%s': it is %s (stop or pause it "
                     "first)", g->name, disco_state_name(g->state));
        guest_close(g);
        return rc;
    }
    if ((rc = guest_busy_op(g, "snapshot", err)) < 0) {
        guest_close(g);
        return rc;
    }
    /* The copy runs unlocked; meanwhile the guest stays as it is: start,
     * resume, restore and destroy are refused (busy_op). Its config's
     * strings do not change while it exists. */
    g->busy_op = "a snapshot of it is being taken";
    struct disco_ct_config src = g->ct_cfg;
    pthread_mutex_unlock(&g->lock);

    char *tmp = NULL, *tmp_root = NULL, *final_root = NULL, *lower = NULL, *merged = NULL;
    void *storage = NULL;
    bool made_tmp = false;
    if (asprintf(&tmp, "%s/.snap-%s-XXXXXX", host_vms_dir(h), new_name) < 0) {
        tmp = NULL;
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (!mkdtemp(tmp)) {
        rc = err_errno(err, errno, "snapshot: creating %s", tmp);
        goto out;
    }
    made_tmp = true;
    chmod(tmp, 0750);
    if (asprintf(&tmp_root, "%s/rootfs", tmp) < 0 ||
        asprintf(&final_root, "%s/%s/rootfs", host_vms_dir(h), new_name) < 0) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (overlay) {
        /* New layer over the source's root; over an overlay snapshot, over
         * its upper layer and its lower ones. */
        if (src.rootfs_lower ? asprintf(&lower, "%s/upper:%s", g->dir, src.rootfs_lower) < 0
                             : !(lower = strdup(src.rootfs))) {
            lower = NULL;
            rc = err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        char *up = NULL, *wk = NULL;
        if (asprintf(&up, "%s/upper", tmp) < 0 || asprintf(&wk, "%s/work", tmp) < 0) {
            free(up);
            rc = err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        rc = mkdir_ok(up, err);
        if (rc == 0)
            rc = mkdir_ok(wk, err);
        if (rc == 0)
            rc = mkdir_ok(tmp_root, err);
        free(up);
        free(wk);
        if (rc < 0)
            goto out;
    } else {
        const char *from = src.rootfs;
        if (src.rootfs_lower) {
            /* The source is an overlay: copy its merged view, mounted
             * read-only (lower layers only) for the copy. */
            char *data = NULL;
            if (asprintf(&merged, "%s/.merged", tmp) < 0 ||
                asprintf(&data, "lowerdir=%s/upper:%s", g->dir, src.rootfs_lower) < 0) {
                free(data);
                rc = err_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            if ((rc = mkdir_ok(merged, err)) == 0 &&
                mount("overlay", merged, "overlay", MS_RDONLY, data) < 0)
                rc = err_errno(err, errno, "snapshot: mounting the layers of '%s'", g->name);
            free(data);
            if (rc < 0) {
                rmdir(merged);
                free(merged);
                merged = NULL;
                goto out;
            }
            from = merged;
        }
        if ((rc = mkdir_ok(tmp_root, err)) == 0) {
            chmod(tmp_root, 0755);
            rc = copy_tree(from, tmp_root, err);
        }
        if (merged) {
            umount2(merged, MNT_DETACH);
            rmdir(merged);
        }
        if (rc < 0)
            goto out;
    }
    struct disco_ct_config nc = src, norm;
    nc.name = new_name;
    nc.rootfs = final_root;
    nc.rootfs_lower = overlay ? lower : NULL;
    if (!strcmp(src.hostname, src.name))
        nc.hostname = NULL;   /* it was the default: the new name */
    if ((rc = ct_config_normalise(&nc, &norm, &storage, err)) < 0)
        goto out;
    if ((rc = host_add_ct(h, &norm, storage, tmp, err)) < 0)
        goto out;
    storage = NULL;
    made_tmp = false;   /* it became the new guest's directory */
out:
    if (made_tmp)
        rm_tree(tmp);
    free(storage);
    free(tmp);
    free(tmp_root);
    free(final_root);
    free(lower);
    free(merged);
    pthread_mutex_lock(&g->lock);
    g->busy_op = NULL;
    guest_close(g);
    return rc;
}

int disco_ct_checkpoint(struct disco_host *h, const char *name, const char *dir, bool stop,
                        struct disco_err *err)
{
    err_clear(err);
    if (!dir || dir[0] != '/')
        return err_set(err, -EINVAL, "checkpoint: the image directory must be an absolute path");
    struct guest *g;
    int rc = ct_open(h, name, "checkpoint", &g, err);
    if (rc < 0)
        return rc;
    struct ctg_run *r = NULL;
    if (g->state != DISCO_RUNNING)
        rc = guest_busy(g, "checkpoint", err);
    else if (!(r = live_run(g, "checkpoint", err)))
        rc = -EBUSY;
    else if ((rc = not_on_loop(h, "checkpoint", err)) == 0) {
        struct disco_err e;
        err_clear(&e);
        rc = ct_criu_checkpoint(r->pid, r->spec, dir, !stop, &e);
        if (rc < 0) {
            rc = err_set(err, rc, "guest '%s': checkpoint: %s", g->name, e.msg);
        } else if (stop) {
            /* CRIU killed the tree after the dump: end the run. */
            snprintf(r->exit_note, sizeof r->exit_note, "checkpointed to %.160s", dir);
            ctg_hard_stop(g);
        }
    }
    guest_close(g);
    return rc;
}

int disco_ct_restore(struct disco_host *h, const char *name, const char *dir,
                     struct disco_err *err)
{
    err_clear(err);
    if (!dir || dir[0] != '/')
        return err_set(err, -EINVAL, "restore: the image directory must be an absolute path");
    struct guest *g;
    int rc = ct_open(h, name, "restore", &g, err);
    if (rc < 0)
        return rc;
    if ((rc = guest_check(g, "restore", DISCO_STOPPED, err)) < 0) {
        guest_close(g);
        return rc;
    }
    struct ctg_run *r;
    if ((rc = run_begin(g, &r, err)) < 0) {
        guest_close(g);
        return rc;
    }
    /* With new console pipes in place of the ones the checkpoint recorded. A
     * container with a terminal gets none: its pty is not restored. */
    struct disco_err e;
    err_clear(&e);
    pid_t pid = -1;
    struct console_pipes cp = CONSOLE_PIPES_NONE;
    int stdio[3];
    if (!g->ct_cfg.terminal && (rc = console_pipes_open(g, &cp, stdio, err)) < 0) {
        run_abort(r);
        guest_close(g);
        return rc;
    }
    /* Its own cgroup, also when the image is another container's. */
    const char *cgdir = r->cg ? ct_cgroup_dir(r->cg, "memory") : NULL;
    rc = ct_criu_restore(r->spec, dir, cgdir, g->ct_cfg.terminal ? NULL : stdio, &pid, &e);
    if (rc < 0) {
        rc = err_set(err, rc, "guest '%s': restore: %s", g->name, e.msg);
        console_pipes_close(&cp);
        run_abort(r);
        guest_close(g);
        return rc;
    }
    r->pid = pid;
    r->our_child = false;
    if (!g->ct_cfg.terminal)
        console_pipes_give(&cp, r);
    if ((rc = run_launch(g, r, err)) < 0) {
        kill(pid, SIGKILL);
        run_abort(r);
    }
    guest_close(g);
    return rc;
}

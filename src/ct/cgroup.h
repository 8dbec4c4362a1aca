/* A container's cgroup, on either cgroup layout:
 *  - v2 (unified): one directory under /sys/fs/cgroup (the controllers it
 *    needs enabled in the parents' cgroup.subtree_control);
 *  - v1 / hybrid (this machine: one hierarchy per controller under
 *    /sys/fs/cgroup/<controller>, plus /sys/fs/cgroup/unified): one
 *    directory of the same relative path in each v1 hierarchy disco uses
 *    (cpu, cpuacct, cpuset, memory, pids, blkio, devices, freezer, and
 *    name=systemd when mounted). The v2 hierarchy of a hybrid host has no
 *    controllers and is left alone.
 * The mode is detected from what is mounted at /sys/fs/cgroup (statfs), or
 * the root given (tests point it at a fake tree).
 *
 * Relative paths ("disco/NAME", an OCI cgroupsPath such as
 * "/machine.slice/x" or "system.slice:libpod:ID" in systemd form, which is
 * turned into "system.slice/libpod-ID.scope") are taken below the root of
 * each hierarchy. Limits are written in the file names of the mode (v1:
 * memory.limit_in_bytes, cpu.cfs_quota_us, pids.max, blkio.weight...; v2:
 * memory.max, cpu.max, cpu.weight, pids.max, io.weight...). A limit the host
 * cannot set (controller missing) is an error naming the file, unless the
 * limit is unset. On v1 a non-empty device rule list starts from "deny all"
 * and is followed by runc's standard allow list (null, zero, full, random,
 * urandom, tty, ptmx, pts, tun, mknod), so specs need not repeat it. */
#ifndef DISCO_CT_CGROUP_H
#define DISCO_CT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ct/spec.h"
#include "util/err.h"

enum ct_cgroup_mode {
    CT_CGROUP_NONE,             /* nothing usable mounted */
    CT_CGROUP_V1,               /* legacy or hybrid */
    CT_CGROUP_V2,               /* unified */
};

struct ct_cgroup;

/* mount_root NULL: /sys/fs/cgroup. */
enum ct_cgroup_mode ct_cgroup_detect(const char *mount_root);

/* Create (or reuse, if empty and already there) the cgroup at rel_path and
 * apply res (may be NULL). Creates missing parents. */
int ct_cgroup_create(const char *mount_root, const char *rel_path, const struct ct_resources *res,
                     struct ct_cgroup **out, struct disco_err *err);
/* Open an existing one (state, kill, delete in another process).
 * -ENOENT if it is not there. */
int ct_cgroup_open(const char *mount_root, const char *rel_path, struct ct_cgroup **out,
                   struct disco_err *err);
void ct_cgroup_free(struct ct_cgroup *cg);      /* closes, leaves the cgroup */

enum ct_cgroup_mode ct_cgroup_mode(const struct ct_cgroup *cg);
/* The path of the cgroup in the hierarchy of `controller` ("memory", "pids",
 * ...; on v2 any name gives the one directory); NULL if not used. */
const char *ct_cgroup_dir(const struct ct_cgroup *cg, const char *controller);
/* Whether containers are put in the v1 hierarchy of these controllers
 * (as /proc/PID/cgroup names them: "cpu,cpuacct", "memory",
 * "name=systemd"); net_cls, perf_event, hugetlb... are left alone. */
bool ct_cgroup_v1_uses(const char *controllers);
/* Its path in the hierarchy mounted at mount_point ("/sys/fs/cgroup/memory";
 * v2: the mount root); NULL if not in that one. */
const char *ct_cgroup_dir_at(const struct ct_cgroup *cg, const char *mount_point);

/* Move a process (all its threads) into the cgroup in every hierarchy. */
int ct_cgroup_enter(struct ct_cgroup *cg, pid_t pid, struct disco_err *err);
/* Entering a new process without its parent writing cgroup.procs. That
 * write takes the kernel's cgroup_threadgroup_rwsem for writing, and the
 * first writer after a quiet spell waits an RCU grace period (15-20 ms on
 * this host, the largest single cost of starting a container; runc pays it
 * too). Two ways round it:
 *  - v2: clone3(CLONE_INTO_CGROUP) with the cgroup's directory fd (v2_fd);
 *  - v1: the new process, still single-threaded, writes "0" to the "tasks"
 *    file of every hierarchy (fds opened here, by the parent, so the
 *    permission check is the parent's): moving one thread by itself needs
 *    only cgroup_mutex (kernels since 6.x; older ones just wait as before).
 * Fake trees (tests) are not cgroupfs: -ENOTSUP, use ct_cgroup_enter. On
 * any failure *se holds nothing (v2_fd -1, n 0). */
#define CT_CGROUP_SELF_ENTER_MAX 16
struct ct_cgroup_self_enter {
    int v2_fd;                              /* -1 on v1 */
    int tasks_fd[CT_CGROUP_SELF_ENTER_MAX]; /* v1 */
    size_t n;
};
int ct_cgroup_self_enter_prepare(struct ct_cgroup *cg, struct ct_cgroup_self_enter *se,
                                 struct disco_err *err);
/* In the new process (async-signal-safe): 0 or -errno. Does nothing on v2. */
int ct_cgroup_self_enter(const struct ct_cgroup_self_enter *se);
void ct_cgroup_self_enter_release(struct ct_cgroup_self_enter *se);

/* Change limits of a live cgroup (unset fields are left alone). */
int ct_cgroup_update(struct ct_cgroup *cg, const struct ct_resources *res, struct disco_err *err);
/* Freeze / thaw every process in it; returns once the kernel says FROZEN
 * (v1 freezer.state, v2 cgroup.events "frozen 1"), bounded by 5 s
 * (-ETIMEDOUT). */
int ct_cgroup_freeze(struct ct_cgroup *cg, bool frozen, struct disco_err *err);
bool ct_cgroup_frozen(struct ct_cgroup *cg);

/* Every pid in the cgroup (and below): *pids malloc'd. */
int ct_cgroup_pids(struct ct_cgroup *cg, pid_t **pids, size_t *n, struct disco_err *err);
/* Signal every process in it (kill --all; delete --force). A frozen cgroup
 * is thawed after signalling so SIGKILL lands. */
int ct_cgroup_signal_all(struct ct_cgroup *cg, int sig, struct disco_err *err);

struct ct_cgroup_stats {
    uint64_t memory_current, memory_max, memory_peak;  /* bytes; max UINT64_MAX: none */
    uint64_t memory_oom_kills;      /* OOM kills inside it (v1: oom_control, v2: memory.events) */
    uint64_t memory_failcnt;        /* hits of the limit (v1 failcnt, v2 events max) */
    uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
    uint64_t cpu_nr_throttled, cpu_throttled_ns;
    uint64_t pids_current, pids_max;    /* max UINT64_MAX: none */
    uint64_t io_read_bytes, io_write_bytes;
};
int ct_cgroup_stats(struct ct_cgroup *cg, struct ct_cgroup_stats *st, struct disco_err *err);

/* Remove the cgroup directories (they must be empty: kill first; retried
 * briefly while the kernel reaps). Parents created by ct_cgroup_create are
 * left (other containers share them). */
int ct_cgroup_destroy(struct ct_cgroup *cg, struct disco_err *err);

#endif

/* Starting a container's first process, and more processes inside a
 * running one: the namespaces, user-namespace mappings, cgroup, rootfs and
 * privileges, in the order runc and crun use.
 *
 * ct_spawn (parent side):
 *   1. prepares everything (rootfs plan, seccomp BPF, paths);
 *   2. clone3 with the spec's new namespaces but the cgroup one (and a
 *      pidfd), the child waiting on a sync socket;
 *   3. writes uid_map / gid_map (setgroups "deny" first when not root);
 *   4. moves the child into the cgroup, writes oom_score_adj, calls
 *      before_run (network setup in the child's namespace);
 *   5. lets the child go, which: joins the namespaces that have a path,
 *      unshares the cgroup namespace (so its cgroup is its root), sets the
 *      hostname, ct_rootfs_enter, opens its pty (sending the master back over
 *      the socket with SCM_RIGHTS), rlimits, user/groups/capabilities,
 *      no_new_privs, chdir, seccomp, closes every fd above the preserved
 *      ones, finds the program on the spec's PATH, then reports "ready";
 *   6. waits for ready (or the child's error, turned into *err), and:
 *      without an exec fifo, for the exec itself (a close-on-exec socket
 *      reaching EOF), so a failed execve is an error of ct_spawn too.
 * With an exec fifo (OCI create), the child opens it for writing after
 * "ready", which blocks until `start` opens it for reading; then it execs.
 *
 * Nothing is left behind on failure: the child is killed and reaped. */
#ifndef DISCO_CT_SPAWN_H
#define DISCO_CT_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "ct/cgroup.h"
#include "ct/spec.h"
#include "util/err.h"

struct ct_spawn_opts {
    const struct ct_spec *spec;
    struct ct_cgroup *cgroup;   /* NULL: none (rootless without a delegated cgroup) */
    const char *exec_fifo;      /* OCI create: a fifo created by the caller; NULL: exec at once */
    int stdio[3];               /* fds for the process's 0,1,2 when it has no terminal; -1: ours */
    int preserve_fds;           /* fds 3 .. 3+n-1 are passed on (OCI --preserve-fds) */
    /* Called once the child's namespaces exist and it is in the cgroup,
     * before it goes on (NULL: none). An error fails the spawn. */
    int (*before_run)(void *ctx, pid_t pid, struct disco_err *err);
    void *ctx;
};

struct ct_child {
    pid_t pid;                  /* in the caller's pid namespace */
    int pidfd;                  /* -1 when the kernel gave none */
    int pty_master;             /* process.terminal: the console; else -1 */
};

int ct_spawn(const struct ct_spawn_opts *o, struct ct_child *out, struct disco_err *err);

/* Another process inside a running container (exec / attach): joins the
 * namespaces of init_pid (user first), the cgroup, and applies the
 * process's user, capabilities, no_new_privs, rlimits, the spec's seccomp
 * filter and cwd; a second fork makes it a member of the pid namespace.
 * The returned pid is that process's (it is our child: the intermediate
 * one is reaped). Returns after the exec happened, or with its error. */
struct ct_exec_opts {
    pid_t init_pid;
    const struct ct_spec *spec;         /* which namespaces, seccomp */
    const struct ct_process *process;
    struct ct_cgroup *cgroup;           /* NULL: none */
    int stdio[3];
    int preserve_fds;
};
int ct_exec_spawn(const struct ct_exec_opts *o, struct ct_child *out, struct disco_err *err);

/* Create a device node inside the running container of init_pid (joins
 * its mount namespace in a child process): add_device_node. */
int ct_add_device_node(pid_t init_pid, const struct ct_device *dev, struct disco_err *err);

/* Close the fds of a ct_child (not the process). */
void ct_child_close(struct ct_child *c);

/* CVE-2019-5736: a process in the container must never be able to write
 * the runtime's binary through /proc/<pid>/exe. Programs that start
 * containers call this first: unless /proc/self/exe already is a sealed
 * memfd, it copies the binary into one (sealed against writes, growth and
 * shrinking) and re-executes itself from it with the same argv and envp.
 * Returns only on failure (or 0 when already sealed). */
int ct_exec_from_sealed_copy(char **argv, char **envp, struct disco_err *err);
bool ct_self_is_sealed(void);

#endif

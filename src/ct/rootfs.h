/* The container's file system view, built inside its new mount namespace
 * by the child and ending in pivot_root:
 *   - / made rslave (or the spec's rootfsPropagation), the root bind-mounted
 *     on itself so it is a mount point;
 *   - every entry of "mounts", in order, onto targets resolved INSIDE the
 *     root without following symlinks out of it (openat2 RESOLVE_IN_ROOT,
 *     then mount onto /proc/self/fd/N), so a symlink swapped under a target
 *     such as /dev/null or /dev/console cannot redirect a mount to the host;
 *   - /dev: when "mounts" has a tmpfs /dev, the standard nodes (null, zero,
 *     full, random, urandom, tty; mknod, or bind mounts of the host's nodes
 *     in a user namespace), the symlinks fd, stdin, stdout, stderr, ptmx ->
 *     pts/ptmx, plus the spec's linux.devices;
 *   - sysctls written under the new /proc;
 *   - pivot_root(".", ".") and a lazy unmount of the old root (no chroot,
 *     which a process holding a directory fd can walk out of);
 *   - masked paths (/dev/null bound over files, an empty read-only tmpfs
 *     over directories), read-only paths (bind remounted read-only), and a
 *     read-only root if asked.
 * The plan is prepared by the parent (allocations, joined paths); entering
 * it is async-signal-safe (ct/child.h). */
#ifndef DISCO_CT_ROOTFS_H
#define DISCO_CT_ROOTFS_H

#include <stdbool.h>

#include "ct/cgroup.h"
#include "ct/child.h"
#include "ct/spec.h"
#include "util/err.h"

struct ct_rootfs;

/* in_userns: the child will be in a new user namespace (no mknod: bind the
 * host's device nodes instead; sysfs only with a new network namespace).
 * cg: the container's cgroup (NULL: none). A "cgroup" mount is, as runc
 * does it: with a cgroup namespace, fresh cgroup mounts (they show the
 * container's cgroup as their root); without one, bind mounts of the
 * container's own directory in each host hierarchy (a fresh mount in the
 * host's cgroup namespace would show the host's whole tree, and a cgroup2
 * one costs an RCU grace period); with neither, the host's hierarchies.
 * The spec must outlive the plan. */
int ct_rootfs_prepare(const struct ct_spec *spec, bool in_userns, const struct ct_cgroup *cg,
                      struct ct_rootfs **out, struct disco_err *err);
void ct_rootfs_free(struct ct_rootfs *r);

/* Child: from the host's view of the file system (in the new mount
 * namespace) to the container's root, everything listed above. On return
 * the cwd is the new "/". */
int ct_rootfs_enter(const struct ct_rootfs *r, struct ct_child_err *e);

/* Child, after ct_rootfs_enter, when the process has a terminal: open the
 * container's /dev/ptmx (its own devpts instance), unlock it and open the
 * slave. *master, *slave: the fds. */
int ct_child_open_pty(int *master, int *slave, struct ct_child_err *e);

#endif

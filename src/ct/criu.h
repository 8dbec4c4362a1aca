/* Checkpoint and restore of a container through CRIU (Debian's `criu`
 * command, run as a child process): the container's process tree, its
 * namespaces and mounts, into an image directory, and back.
 * `criu check` failing (kernel features CRIU needs, or a kernel newer than
 * the CRIU build understands) makes both return -ENOTSUP with CRIU's own
 * message. */
#ifndef DISCO_CT_CRIU_H
#define DISCO_CT_CRIU_H

#include <stdbool.h>
#include <sys/types.h>

#include "ct/spec.h"
#include "util/err.h"

/* 0 if `criu check` passes; else -ENOTSUP (or -ENOENT without criu) with
 * the reason. */
int ct_criu_available(struct disco_err *err);

/* Dump the tree rooted at init_pid into image_dir (created). leave_running:
 * keep it running after the dump (else it is killed by CRIU). */
int ct_criu_checkpoint(pid_t init_pid, const struct ct_spec *spec, const char *image_dir,
                       bool leave_running, struct disco_err *err);
/* Restore from image_dir with the same root file system; *pid: the new
 * init (CRIU runs detached, so it is not our child: use a pidfd).
 * cgroup_dir: the cgroup to restore into (its directory, or its path
 * below the hierarchy roots; NULL: the dumped paths), given to criu as
 * --cgroup-root per v1 hierarchy containers use, or once on v2.
 * stdio (NULL: none): fds that take the place of the init's stdio pipes,
 * as the checkpoint recorded them in descriptors.json (runc's format):
 * the restored container's console. */
int ct_criu_restore(const struct ct_spec *spec, const char *image_dir, const char *cgroup_dir,
                    const int stdio[3], pid_t *pid, struct disco_err *err);

#endif

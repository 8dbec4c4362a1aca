/* Privileges of a container's processes: capability sets, the seccomp
 * filter, uid/gid switching, no_new_privs and rlimits.
 *
 * Parent side (may allocate): compile a struct ct_seccomp into BPF with
 * libseccomp, and the default profile. Child side (async-signal-safe, see
 * ct/child.h): apply what was prepared. */
#ifndef DISCO_CT_SECURITY_H
#define DISCO_CT_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/child.h"
#include "ct/spec.h"
#include "util/err.h"

struct sock_filter;

/* A compiled filter, ready for prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER). */
struct ct_bpf {
    struct sock_filter *filter;
    unsigned short len;
};

/* Compile with libseccomp (seccomp_export_bpf into a memfd, read back).
 * Syscall names this libseccomp does not know are skipped, as runc does. */
int ct_seccomp_compile(const struct ct_seccomp *sc, struct ct_bpf *out, struct disco_err *err);
void ct_bpf_free(struct ct_bpf *b);

/* disco's default profile: allow everything but a deny list (EPERM) of the
 * system calls that reach the host kernel's global state or are classic
 * escape tools: kexec, modules, reboot, swapon/off, clock setting, acct,
 * keyctl/add_key/request_key, bpf, perf_event_open, userfaultfd,
 * open_by_handle_at (the "shocker" escape), name_to_handle_at, ptrace of
 * outsiders is left to capabilities... (the list is in security.c and
 * docs/CONTAINERS.md). malloc'd; ct_seccomp_free. */
struct ct_seccomp *ct_seccomp_default(void);
void ct_seccomp_free(struct ct_seccomp *sc);
/* The same profile as the "seccomp" object of config.json (malloc'd text),
 * for `disco oci spec`. */
char *ct_seccomp_default_json(void);

/* The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
int ct_cap_last(void);

/* ---- child side: async-signal-safe ---- */

/* setrlimit each. */
int ct_child_rlimits(const struct ct_process *p, struct ct_child_err *e);
/* Switch to p->uid/gid/additional_gids keeping the permitted capabilities
 * (PR_SET_KEEPCAPS), then set the five capability sets of p->caps (bounding
 * by PR_CAPBSET_DROP up to cap_last, ambient by PR_CAP_AMBIENT_RAISE).
 * setgroups_allowed: false in a user namespace whose setgroups is "deny". */
int ct_child_set_user_and_caps(const struct ct_process *p, int cap_last, bool setgroups_allowed,
                               struct ct_child_err *e);
int ct_child_no_new_privs(struct ct_child_err *e);
/* prctl(PR_SET_SECCOMP); b->len 0: nothing. */
int ct_child_seccomp(const struct ct_bpf *b, struct ct_child_err *e);

#endif

/* The host side of the guest agent: a small static program in the default
 * guest (guest/agent/agent.c) that serves requests over the VM's agent port
 * (a virtio-console; /dev/hvc1 in the default guest, see below).
 *
 * Wire protocol, both directions: frames of
 *     "<type> <id> <len>\n" followed by <len> bytes of payload
 * type is a lowercase word, id and len are decimal (id < 2^32, len <=
 * AGENT_MAX_FRAME). Ids are chosen by the host, per request; 0 is unsolicited.
 *
 *   host -> guest                          guest -> host
 *   exec ID N   argv, each NUL-terminated   out ID N    stdout bytes of ID
 *               (stdin is /dev/null)        err ID N    stderr bytes of ID
 *   kill ID 0   SIGKILL the process group   exit ID N   decimal wait status summary:
 *                                                       exit code, or 128+signal
 *   shutdown ID 0 / reboot ID 0             ok ID 0     accepted (then the guest
 *                                                       powers off / reboots cleanly)
 *   meminfo ID 0                            meminfo ID N  /proc/meminfo verbatim
 *   ping ID 0                               ok ID 0
 *                                           fail ID N   the request was refused:
 *                                                       message (bad frame, exec failed)
 *                                           hello 0 N   "disco-agent <version>": sent
 *                                                       when the agent starts
 *
 * A frame the receiver does not understand is answered with `fail` (guest)
 * or ignored (host); a malformed header makes the receiver resynchronise at
 * the next newline. The host never trusts the guest: lengths are bounded,
 * unknown ids are dropped, output beyond AGENT_MAX_OUTPUT is cut.
 *
 * A `hello` means a (re)started agent: requests still pending fail with
 * -ECONNRESET. The guest sends an exec's out/err frames before its exit
 * frame; output that background grandchildren write after the command
 * itself exited is dropped. In the default guest the agent's port is the
 * first virtio-console, which is /dev/hvc1 there: the kernel's SBI console
 * (HVC_RISCV_SBI) always registers hvc0 first. */
#ifndef DISCO_VMM_AGENT_H
#define DISCO_VMM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define AGENT_MAX_FRAME (1u << 20)        /* payload bytes per frame */
#define AGENT_MAX_OUTPUT (16u << 20)      /* stdout / stderr kept per exec */
#define AGENT_MAX_ARGV_BYTES (64u << 10)
/* Timeouts are in milliseconds from the call; 0 means "only if it is
 * already so" (no waiting), AGENT_FOREVER waits without limit (until the
 * reply or agent_disconnect). */
#define AGENT_FOREVER UINT64_MAX

struct agent;

/* Send bytes to the guest (e.g. vm_agent_send). 0 or a negative errno. */
typedef int (*agent_send_fn)(void *ctx, const uint8_t *buf, size_t len);

struct agent *agent_new(agent_send_fn send, void *ctx, struct disco_err *err);
/* No thread may still be inside an agent_* call. */
void agent_free(struct agent *a);

/* Bytes from the guest. Any thread; quick; never calls send (it may run
 * with the virtio-console's lock held). */
void agent_input(struct agent *a, const uint8_t *buf, size_t len);
/* The connection is gone (guest reset, VM stopped): calls waiting for a
 * reply fail with -ECONNRESET; not ready until the next hello. */
void agent_disconnect(struct agent *a);

bool agent_ready(struct agent *a);
/* Wait until the agent said hello: 0, or -ETIMEDOUT. */
int agent_wait_ready(struct agent *a, uint64_t timeout_ms, struct disco_err *err);

struct agent_exec_result {
    int status;                 /* exit code, or 128 + signal */
    uint8_t *out, *errout;      /* malloc'd, NUL-terminated for convenience */
    size_t out_len, err_len;
    bool truncated;             /* output beyond AGENT_MAX_OUTPUT was dropped */
};
void agent_exec_result_free(struct agent_exec_result *r);

/* Run argv in the guest and wait for it: 0 with *res filled, or <0:
 * -ENOTCONN (agent not ready), -ETIMEDOUT (the process is killed),
 * -ECONNRESET (guest went away), -EPROTO (the guest refused: err says why). */
int agent_exec(struct agent *a, const char *const *argv, uint64_t timeout_ms,
               struct agent_exec_result *res, struct disco_err *err);
/* Ask for a clean power-off (reboot = false) or reboot; returns once the
 * agent accepted (the guest then shuts down on its own). */
int agent_power(struct agent *a, bool reboot, uint64_t timeout_ms, struct disco_err *err);
/* Round trip without side effects. */
int agent_ping(struct agent *a, uint64_t timeout_ms, struct disco_err *err);

/* Guest memory statistics (from /proc/meminfo), bytes. */
struct agent_meminfo {
    uint64_t total, free, available, buffers, cached, shmem;
};
int agent_meminfo(struct agent *a, struct agent_meminfo *mi, uint64_t timeout_ms,
                  struct disco_err *err);

#endif

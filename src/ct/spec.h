/* A container's specification: the part of the OCI runtime specification
 * (config.json, runtime-spec 1.0) that disco runs, parsed with json-c into
 * plain structs the rest of ct/ reads. libdisco builds the same struct from
 * its own container config, so both front ends share one runtime.
 *
 * Everything a struct ct_spec points to is owned by it (ct_spec_free).
 * Parsing never fails silently: an unknown *type* for a known key, a
 * relative path where an absolute one is required, a capability or signal
 * name that does not exist, is an error naming the key. Unknown keys are
 * ignored (the spec allows extensions), as runc does. */
#ifndef DISCO_CT_SPEC_H
#define DISCO_CT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

enum ct_ns {
    CT_NS_MOUNT, CT_NS_PID, CT_NS_UTS, CT_NS_IPC, CT_NS_NET, CT_NS_USER, CT_NS_CGROUP,
    CT_NS_COUNT
};
/* "mount", "pid", ... and the CLONE_NEW* flag of each. */
const char *ct_ns_name(enum ct_ns ns);
int ct_ns_clone_flag(enum ct_ns ns);

struct ct_namespace {
    bool enabled;               /* in linux.namespaces */
    char *path;                 /* join this one (e.g. /proc/PID/ns/net), NULL: new */
};

struct ct_idmap {
    uint32_t container_id, host_id, size;
};

struct ct_rlimit {
    int resource;               /* RLIMIT_* */
    uint64_t soft, hard;
};

/* Capability sets as bit masks over CAP_* numbers (bit n = capability n). */
struct ct_caps {
    uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct ct_process {
    char **args;                /* NULL-terminated, nargs >= 1 */
    size_t nargs;
    char **env;                 /* NULL-terminated ("KEY=value") */
    size_t nenv;
    char *cwd;                  /* absolute, inside the container */
    uint32_t uid, gid;
    uint32_t *additional_gids;
    size_t ngids;
    bool terminal;              /* allocate a pty (console) */
    unsigned console_rows, console_cols;    /* 0: leave */
    bool no_new_privileges;
    struct ct_caps caps;
    struct ct_rlimit *rlimits;
    size_t nrlimits;
    bool oom_score_adj_set;
    int oom_score_adj;
};

/* One entry of "mounts". options are split the way runc splits them: the
 * ones mount(2) knows become flags (or propagation), bind/rbind become
 * bind/recursive, everything else is joined into data. */
struct ct_mount {
    char *destination;          /* absolute, inside the container */
    char *type;                 /* NULL or "" for bind mounts */
    char *source;               /* bind sources: absolute, or relative to the bundle */
    unsigned long flags;        /* MS_RDONLY, MS_NOSUID, ... (not MS_BIND/MS_REC) */
    unsigned long clear_flags;  /* flags the options turned off ("rw", "suid", "dev", "exec") */
    unsigned long propagation;  /* MS_PRIVATE|MS_SHARED|MS_SLAVE|MS_UNBINDABLE (|MS_REC), 0: none */
    bool bind;                  /* "bind" or "rbind" */
    bool recursive;             /* "rbind" */
    char *data;                 /* comma-joined remaining options, NULL: none */
};

/* A device node to create in the container's /dev (linux.devices). */
struct ct_device {
    char *path;                 /* absolute, under /dev */
    char type;                  /* 'c', 'b', 'u' (= 'c'), 'p' */
    uint32_t major, minor;
    uint32_t mode;              /* permission bits (fileMode), 0: 0666 */
    uint32_t uid, gid;
};

/* linux.resources.devices: the v1 devices cgroup / v2 eBPF allow list.
 * disco enforces it on cgroup v1 (devices.allow/deny); on v2 it relies on
 * the nodes it creates (documented). */
struct ct_device_rule {
    bool allow;
    char type;                  /* 'a', 'c', 'b' */
    int64_t major, minor;       /* -1: any */
    char access[4];             /* subset of "rwm" */
};

struct ct_throttle {
    uint32_t major, minor;
    uint64_t rate;              /* bytes/s or ops/s */
};

/* Zero / CT_UNSET means "not set: leave the cgroup's default". */
#define CT_UNSET INT64_MIN
struct ct_resources {
    int64_t memory_limit;       /* bytes; CT_UNSET; -1: unlimited */
    int64_t memory_reservation; /* soft limit */
    int64_t memory_swap;        /* memory + swap (v1 semantics, converted on v2) */
    uint64_t cpu_shares;        /* v1 shares (2..262144; v2 weight = converted); 0: unset */
    int64_t cpu_quota;          /* µs per period; CT_UNSET; -1: none */
    uint64_t cpu_period;        /* µs; 0: 100000 */
    char *cpuset_cpus, *cpuset_mems;
    int64_t pids_limit;         /* CT_UNSET; -1 or 0: unlimited */
    uint16_t blkio_weight;      /* 10..1000 (v2 io.weight 1..10000 converted); 0: unset */
    struct ct_throttle *read_bps, *write_bps, *read_iops, *write_iops;
    size_t nread_bps, nwrite_bps, nread_iops, nwrite_iops;
    struct ct_device_rule *devices;
    size_t ndevices;
};

/* linux.seccomp. Actions are SCMP_ACT_* values from <seccomp.h> (errno
 * actions carry their errno, SCMP_ACT_ERRNO(n)). */
struct ct_seccomp_arg {
    unsigned index;
    uint64_t value, value_two;
    int op;                     /* enum scmp_compare */
};
struct ct_seccomp_rule {
    char **names;               /* syscall names; unknown to this libseccomp: skipped */
    size_t nnames;
    uint32_t action;
    struct ct_seccomp_arg *args;
    size_t nargs;
};
struct ct_seccomp {
    uint32_t default_action;
    uint32_t *arches;           /* SCMP_ARCH_*; none: the native one */
    size_t narches;
    struct ct_seccomp_rule *rules;
    size_t nrules;
};

struct ct_spec {
    char *oci_version;
    char *root_path;            /* absolute (resolved against the bundle) */
    bool root_readonly;
    char *hostname;             /* NULL: leave */
    struct ct_process process;
    struct ct_mount *mounts;
    size_t nmounts;
    struct ct_namespace ns[CT_NS_COUNT];
    struct ct_idmap *uid_mappings, *gid_mappings;
    size_t nuid_mappings, ngid_mappings;
    struct ct_device *devices;
    size_t ndevices;
    struct ct_resources resources;
    char *cgroups_path;         /* linux.cgroupsPath, NULL: the runtime picks */
    char **masked_paths, **readonly_paths;
    size_t nmasked, nreadonly;
    unsigned long rootfs_propagation;   /* MS_* or 0: rslave (runc's default) */
    struct ct_seccomp *seccomp; /* NULL: none */
    char **sysctl_keys, **sysctl_values;
    size_t nsysctl;
    char **annotation_keys, **annotation_values;
    size_t nannotations;
};

/* Parse config.json text. bundle (absolute) resolves a relative root.path
 * and relative bind sources. */
int ct_spec_parse(const char *json, const char *bundle, struct ct_spec **out,
                  struct disco_err *err);
/* Parse <bundle>/config.json. */
int ct_spec_load(const char *bundle, struct ct_spec **out, struct disco_err *err);
/* Parse a "process" object alone (`disco oci exec --process FILE`). */
int ct_process_parse(const char *json, struct ct_process *out, struct disco_err *err);
void ct_process_clear(struct ct_process *p);
void ct_spec_free(struct ct_spec *s);

/* The defaults runc and crun use, filled into a spec being built by hand
 * (libdisco containers): all namespaces but user/cgroup... see spec.c. */
void ct_resources_init(struct ct_resources *r);         /* everything unset */
uint64_t ct_caps_default(void);         /* runc's default set as a mask */
/* libdisco containers: Docker's and Podman's set without CAP_MKNOD. */
uint64_t ct_caps_container(void);
extern const char *const ct_default_masked_paths[];     /* NULL-terminated */
extern const char *const ct_default_readonly_paths[];   /* NULL-terminated */

/* A default config.json for `disco oci spec` (malloc'd text): runs "sh"
 * from ./rootfs, with the default mounts, masks, capabilities and the
 * default seccomp profile; rootless: adds a user namespace mapping the
 * caller's uid/gid to 0, drops the network namespace and the cgroup
 * resources, as `runc spec --rootless` does. */
char *ct_spec_default_json(bool rootless, uid_t uid, gid_t gid);

/* Capability names: "CAP_SYS_ADMIN" <-> CAP_SYS_ADMIN (libcap). -1: unknown. */
int ct_cap_from_name(const char *name);
/* Signal names for `kill`: "KILL", "SIGKILL", "9" -> 9; -1: unknown. */
int ct_signal_from_name(const char *name);

#endif

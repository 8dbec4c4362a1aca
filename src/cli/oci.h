/* `disco oci`: what the parts of the OCI runtime command line share (the
 * global options, error reporting to stderr and the --log file, the state
 * directory of a container, option parsing). docs/OCI.md describes the
 * command line; oci.c holds the global options and the state, oci_run.c the
 * verbs that start processes (create, start, run, exec), oci_verbs.c the
 * others. */
#ifndef DISCO_CLI_OCI_H
#define DISCO_CLI_OCI_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <json-c/json.h>

#define OCI_SPEC_VERSION "1.0.2"
#define OCI_STATE_FILE "state.json"
#define OCI_FIFO_FILE "exec.fifo"
#define OCI_CONFIG_FILE "config.json"   /* the copy taken at create (exec reads it) */

/* One invocation: the global options. */
struct oci {
    int argc;                   /* the whole command line, for the sealed re-exec */
    char **argv;
    char root[PATH_MAX];        /* --root: the state directory */
    const char *log_path;       /* --log, NULL: stderr only */
    bool log_json;              /* --log-format json */
    bool debug;
    bool systemd_cgroup;
    bool rootless;              /* --rootless true, or not root */
    FILE *log;                  /* opened at the first line */
    const char *verb;
};

/* Print "disco-oci: error: MSG" on stderr and write it to the log (a JSON
 * line with --log-format json); returns EXIT_RUNTIME (1). */
int oci_fail(struct oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for usage errors; returns EXIT_USAGE (2). */
int oci_usage(struct oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning / debug line (stderr only with --debug; the log always). */
void oci_warn(struct oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oci_debug(struct oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option parsing the way runc's (urfave/cli) accepts it: --name, -name,
 * --name=value, --name value, and -x for the short forms. */
struct oci_opt {
    const char *name;
    char short_name;            /* 0: none */
    bool has_arg;
    int key;
};
struct oci_args {
    int argc;
    char **argv;
    int i;                      /* next argument */
    bool stop_at_positional;    /* exec/run: the command follows the ID */
    bool only_positional;       /* after "--" */
};
/* Returns the key of the next option (*val its argument), 0 for a
 * positional argument (*val), -1 at the end, -2 on a usage error (already
 * reported through oci_usage; the caller returns EXIT_USAGE). */
int oci_next(struct oci *o, struct oci_args *a, const struct oci_opt *opts, const char **val);
/* A flag's value: on unless given as --flag=false. */
static inline bool oci_flag(const char *val)
{
    return val && strcmp(val, "false") != 0 && strcmp(val, "0") != 0;
}
/* A non-negative count (--preserve-fds): -1 if not a number. */
int oci_parse_count(const char *s, int max);

/* A container's recorded state (<root>/<id>/state.json). */
enum oci_status { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_PAUSED, OCI_STOPPED };
const char *oci_status_name(enum oci_status s);

struct oci_state {
    char id[256];
    char dir[PATH_MAX];         /* <root>/<id> */
    pid_t pid;
    unsigned long long start_time;  /* /proc/PID/stat field 22 */
    char bundle[PATH_MAX];
    char rootfs[PATH_MAX];
    char created[64];
    char cgroup[PATH_MAX];      /* "" when the container has none (rootless) */
    char oci_version[32];
    json_object *annotations;   /* owned; NULL: none */
};

bool oci_id_valid(const char *id);
/* Load <root>/<id>/state.json: 0, -ENOENT ("container does not exist",
 * reported), other -errno (reported). */
int oci_state_load(struct oci *o, const char *id, struct oci_state *st);
void oci_state_clear(struct oci_state *st);
/* Write it atomically (tmp + rename). */
int oci_state_save(struct oci *o, const struct oci_state *st);
/* The status from the process, the exec fifo and the freezer. */
enum oci_status oci_status(const struct oci_state *st);
/* The runtime-spec state object (what `state` prints and `list --format json` lists). */
json_object *oci_state_json(const struct oci_state *st, enum oci_status status);
/* Remove the cgroup and the state directory. 0, or EXIT_RUNTIME reported. */
int oci_destroy(struct oci *o, struct oci_state *st);

/* The process's start time (field 22 of /proc/PID/stat) and its state
 * letter; -1 if it is gone. */
int oci_proc_stat(pid_t pid, unsigned long long *start_time, char *state);
/* The init of st still exists (not a zombie) and is the one we started. */
bool oci_init_alive(const struct oci_state *st);
/* A pidfd for the init, -1 if it is gone or is another process now. */
int oci_init_pidfd(const struct oci_state *st);

/* Helpers. */
int oci_mkdir_p(const char *path, mode_t mode);
/* Write a file atomically (PATH.tmp + rename). */
int oci_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Read a whole small file (NUL-terminated, malloc'd); NULL with errno. */
char *oci_read_file(const char *path, size_t max);
/* Now as runc prints times: "2006-01-02T15:04:05.999999999Z". */
void oci_time_now(char *buf, size_t size);
/* Send fd over the unix socket at path (runc's --console-socket protocol). */
int oci_send_console(const char *socket_path, int fd, const char *name, char *why, size_t why_size);
/* Print a JSON object (pretty, no escaped slashes) and a newline. */
void oci_print_json(json_object *j, bool pretty);

/* The verbs: argc/argv start after the verb; return the exit status. */
int oci_create(struct oci *o, int argc, char **argv);
int oci_start(struct oci *o, int argc, char **argv);
int oci_run(struct oci *o, int argc, char **argv);
int oci_exec(struct oci *o, int argc, char **argv);
int oci_state_verb(struct oci *o, int argc, char **argv);
int oci_kill(struct oci *o, int argc, char **argv);
int oci_delete(struct oci *o, int argc, char **argv);
int oci_list(struct oci *o, int argc, char **argv);
int oci_spec(struct oci *o, int argc, char **argv);
int oci_pause(struct oci *o, int argc, char **argv);
int oci_resume(struct oci *o, int argc, char **argv);
int oci_ps(struct oci *o, int argc, char **argv);
int oci_features(struct oci *o, int argc, char **argv);

#endif

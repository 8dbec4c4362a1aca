/* `disco oci` verbs that look at or end containers: state, kill, delete,
 * list, ps, pause, resume, spec, features. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/oci.h"
#include "ct/cgroup.h"
#include "ct/spec.h"

#define DELETE_WAIT_MS 10000

/* Parse "[--flags] ID" (plus up to max_extra more positionals into extra). */
static int parse_id(struct oci *o, int argc, char **argv, const struct oci_opt *opts,
                    int (*on_opt)(struct oci *o, int key, const char *val, void *ctx), void *ctx,
                    const char **id, const char **extra, int max_extra, int *nextra)
{
    struct oci_args a = {.argc = argc, .argv = argv};
    const char *val;
    int k, n = 0;
    *id = NULL;
    while ((k = oci_next(o, &a, opts, &val)) != -1) {
        if (k == -2)
            return EXIT_USAGE;
        if (k > 0) {
            int rc = on_opt ? on_opt(o, k, val, ctx) : 0;
            if (rc)
                return rc;
            continue;
        }
        if (!*id) {
            *id = val;
        } else if (n < max_extra) {
            extra[n++] = val;
        } else {
            return oci_usage(o, "%s: unexpected argument '%s'", o->verb, val);
        }
    }
    if (nextra)
        *nextra = n;
    if (!*id)
        return oci_usage(o, "%s: a container ID is required", o->verb);
    return 0;
}

static int open_cgroup(struct oci *o, const struct oci_state *st, struct ct_cgroup **cg)
{
    *cg = NULL;
    if (!st->cgroup[0])
        return oci_fail(o, "container %s has no cgroup (rootless)", st->id);
    struct disco_err err;
    err_clear(&err);
    if (ct_cgroup_open(NULL, st->cgroup, cg, &err) < 0)
        return oci_fail(o, "cgroup %s: %s", st->cgroup, err.msg);
    return 0;
}

/* ---- state ---- */

int oci_state_verb(struct oci *o, int argc, char **argv)
{
    const char *id;
    int rc = parse_id(o, argc, argv, NULL, NULL, NULL, &id, NULL, 0, NULL);
    if (rc)
        return rc;
    struct oci_state st;
    if (oci_state_load(o, id, &st) < 0)
        return EXIT_RUNTIME;
    json_object *j = oci_state_json(&st, oci_status(&st));
    oci_print_json(j, true);
    json_object_put(j);
    oci_state_clear(&st);
    return 0;
}

/* ---- kill ---- */

static int kill_opt(struct oci *o, int key, const char *val, void *ctx)
{
    (void)o;
    (void)key;
    *(bool *)ctx = oci_flag(val);
    return 0;
}

int oci_kill(struct oci *o, int argc, char **argv)
{
    static const struct oci_opt opts[] = {{"all", 'a', false, 1}, {0}};
    bool all = false;
    const char *id, *sigs[1];
    int nsig;
    int rc = parse_id(o, argc, argv, opts, kill_opt, &all, &id, sigs, 1, &nsig);
    if (rc)
        return rc;
    int sig = SIGTERM;
    if (nsig) {
        sig = ct_signal_from_name(sigs[0]);
        if (sig <= 0)
            return oci_fail(o, "invalid signal '%s'", sigs[0]);
    }
    struct oci_state st;
    if (oci_state_load(o, id, &st) < 0)
        return EXIT_RUNTIME;
    struct disco_err err;
    err_clear(&err);
    if (all) {
        struct ct_cgroup *cg;
        if (!st.cgroup[0]) {
            rc = oci_fail(o, "kill --all: container %s has no cgroup (rootless)", id);
        } else if (ct_cgroup_open(NULL, st.cgroup, &cg, &err) == 0) {
            if (ct_cgroup_signal_all(cg, sig, &err) < 0)
                rc = oci_fail(o, "kill --all: %s", err.msg);
            ct_cgroup_free(cg);
        } else if (oci_init_alive(&st)) {
            rc = oci_fail(o, "cgroup %s: %s", st.cgroup, err.msg);
        }
    } else {
        int pidfd = oci_init_pidfd(&st);
        if (pidfd < 0) {
            rc = oci_fail(o, "container not running");
        } else {
            if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                rc = oci_fail(o, "kill %d: %s", (int)st.pid, strerror(errno));
            close(pidfd);
        }
    }
    oci_state_clear(&st);
    return rc;
}

/* ---- delete ---- */

static int delete_opt(struct oci *o, int key, const char *val, void *ctx)
{
    (void)o;
    (void)key;
    *(bool *)ctx = oci_flag(val);
    return 0;
}

int oci_delete(struct oci *o, int argc, char **argv)
{
    static const struct oci_opt opts[] = {{"force", 'f', false, 1}, {0}};
    bool force = false;
    const char *id;
    int rc = parse_id(o, argc, argv, opts, delete_opt, &force, &id, NULL, 0, NULL);
    if (rc)
        return rc;
    struct oci_state st;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s/" OCI_STATE_FILE, o->root, id);
    if (force && oci_id_valid(id) && access(path, F_OK) < 0 && errno == ENOENT) {
        /* runc: deleting a missing container with --force succeeds; drop
         * a half-made directory (a create killed midway) if there is one. */
        struct oci_state half = {0};
        struct stat sb;
        if (snprintf(half.dir, sizeof half.dir, "%s/%s", o->root, id) < (int)sizeof half.dir &&
            stat(half.dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            oci_destroy(o, &half);
        return 0;
    }
    if (oci_state_load(o, id, &st) < 0)
        return EXIT_RUNTIME;
    enum oci_status status = oci_status(&st);
    if (status != OCI_STOPPED) {
        if (!force) {
            rc = oci_fail(o, "cannot delete container %s that is not stopped: %s", id,
                          oci_status_name(status));
            goto out;
        }
        int pidfd = oci_init_pidfd(&st);
        if (st.cgroup[0]) {
            struct ct_cgroup *cg;
            struct disco_err err;
            if (ct_cgroup_open(NULL, st.cgroup, &cg, &err) == 0) {
                ct_cgroup_signal_all(cg, SIGKILL, &err);
                ct_cgroup_free(cg);
            }
        }
        if (pidfd >= 0) {
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
            /* Gone (a zombie at most: its parent reaps it) within a bound. */
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            int n;
            do
                n = poll(&p, 1, DELETE_WAIT_MS);
            while (n < 0 && errno == EINTR);
            close(pidfd);
            if (n == 0) {
                rc = oci_fail(o, "container %s: the init (pid %d) did not die within %d s", id,
                              (int)st.pid, DELETE_WAIT_MS / 1000);
                goto out;
            }
        }
    }
    rc = oci_destroy(o, &st);
out:
    oci_state_clear(&st);
    return rc;
}

/* ---- pause / resume ---- */

static int freeze(struct oci *o, int argc, char **argv, bool frozen)
{
    const char *id;
    int rc = parse_id(o, argc, argv, NULL, NULL, NULL, &id, NULL, 0, NULL);
    if (rc)
        return rc;
    struct oci_state st;
    if (oci_state_load(o, id, &st) < 0)
        return EXIT_RUNTIME;
    enum oci_status status = oci_status(&st);
    struct ct_cgroup *cg = NULL;
    if (frozen && status != OCI_RUNNING && status != OCI_CREATED)
        rc = oci_fail(o, "container not running");
    else if (!frozen && status != OCI_PAUSED)
        rc = oci_fail(o, "container not paused");
    else if (!(rc = open_cgroup(o, &st, &cg))) {
        struct disco_err err;
        err_clear(&err);
        if (ct_cgroup_freeze(cg, frozen, &err) < 0)
            rc = oci_fail(o, "%s: %s", frozen ? "pause" : "resume", err.msg);
        ct_cgroup_free(cg);
    }
    oci_state_clear(&st);
    return rc;
}

int oci_pause(struct oci *o, int argc, char **argv)
{
    return freeze(o, argc, argv, true);
}

int oci_resume(struct oci *o, int argc, char **argv)
{
    return freeze(o, argc, argv, false);
}

/* ---- ps ---- */

static int format_opt(struct oci *o, int key, const char *val, void *ctx)
{
    (void)key;
    if (strcmp(val, "table") && strcmp(val, "json"))
        return oci_usage(o, "%s: --format must be table or json, not '%s'", o->verb, val);
    *(bool *)ctx = !strcmp(val, "json");
    return 0;
}

static bool pid_in(pid_t pid, const pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

int oci_ps(struct oci *o, int argc, char **argv)
{
    static const struct oci_opt opts[] = {{"format", 'f', true, 1}, {0}};
    bool json = false;
    /* Everything after the ID goes to ps(1), as with runc. */
    int split = argc;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-') {
            split = i + 1;
            break;
        }
        if ((!strcmp(argv[i], "--format") || !strcmp(argv[i], "-f") || !strcmp(argv[i], "-format")) && i + 1 < argc)
            i++;
    }
    const char *id;
    int rc = parse_id(o, split, argv, opts, format_opt, &json, &id, NULL, 0, NULL);
    if (rc)
        return rc;
    struct oci_state st;
    if (oci_state_load(o, id, &st) < 0)
        return EXIT_RUNTIME;
    struct ct_cgroup *cg = NULL;
    pid_t *pids = NULL;
    size_t n = 0;
    if (oci_status(&st) == OCI_STOPPED && !st.cgroup[0]) {
        /* nothing runs */
    } else if ((rc = open_cgroup(o, &st, &cg))) {
        goto out;
    } else {
        struct disco_err err;
        err_clear(&err);
        if (ct_cgroup_pids(cg, &pids, &n, &err) < 0) {
            rc = oci_fail(o, "ps: %s", err.msg);
            goto out;
        }
    }
    if (json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(arr, json_object_new_int(pids[i]));
        oci_print_json(arr, false);
        json_object_put(arr);
        goto out;
    }
    /* Table: ps(1)'s output (default -ef) filtered to the cgroup's pids. */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rc = oci_fail(o, "pipe: %s", strerror(errno));
        goto out;
    }
    int nps = argc - split;
    char **av = calloc((size_t)nps + 3, sizeof *av);
    if (!av) {
        close(pfd[0]);
        close(pfd[1]);
        rc = oci_fail(o, "out of memory");
        goto out;
    }
    av[0] = "ps";
    if (nps == 0)
        av[1] = "-ef";
    for (int i = 0; i < nps; i++)
        av[1 + i] = argv[split + i];
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        execvp("ps", av);
        _exit(127);
    }
    free(av);
    close(pfd[1]);
    FILE *f = child > 0 ? fdopen(pfd[0], "r") : NULL;
    if (!f) {
        close(pfd[0]);
        rc = oci_fail(o, "cannot run ps: %s", strerror(errno));
        goto out;
    }
    char line[4096];
    int pid_col = -1;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", line);
        char *save, *tok = strtok_r(copy, " \t\n", &save);
        if (header) {
            for (int c = 0; tok; c++, tok = strtok_r(NULL, " \t\n", &save))
                if (!strcmp(tok, "PID"))
                    pid_col = c;
            fputs(line, stdout);
            header = false;
            continue;
        }
        for (int c = 0; tok && c < pid_col; c++)
            tok = strtok_r(NULL, " \t\n", &save);
        if (tok && pid_in((pid_t)atoi(tok), pids, n))
            fputs(line, stdout);
    }
    fclose(f);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid_col < 0)
        rc = oci_fail(o, "ps: no PID column in ps's output");
out:
    free(pids);
    if (cg)
        ct_cgroup_free(cg);
    oci_state_clear(&st);
    return rc;
}

/* ---- list ---- */

struct list_opts {
    bool json, quiet;
};

static int list_opt(struct oci *o, int key, const char *val, void *ctx)
{
    struct list_opts *l = ctx;
    if (key == 1)
        return format_opt(o, key, val, &l->json);
    l->quiet = oci_flag(val);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int oci_list(struct oci *o, int argc, char **argv)
{
    static const struct oci_opt opts[] = {{"format", 'f', true, 1}, {"quiet", 'q', false, 2}, {0}};
    struct list_opts l = {0};
    struct oci_args a = {.argc = argc, .argv = argv};
    const char *val;
    int k;
    while ((k = oci_next(o, &a, opts, &val)) != -1) {
        if (k == -2)
            return EXIT_USAGE;
        if (k == 0)
            return oci_usage(o, "list: unexpected argument '%s'", val);
        int rc = list_opt(o, k, val, &l);
        if (rc)
            return rc;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(o->root);
    if (!d && errno != ENOENT)
        return oci_fail(o, "cannot read %s: %s", o->root, strerror(errno));
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!oci_id_valid(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    json_object *arr = l.json ? json_object_new_array() : NULL;
    if (!l.json && !l.quiet)
        printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (size_t i = 0; i < n; i++) {
        struct oci_state st;
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s/" OCI_STATE_FILE, o->root, names[i]);
        if (access(path, F_OK) < 0 || oci_state_load(o, names[i], &st) < 0)
            continue;   /* being created or deleted */
        enum oci_status s = oci_status(&st);
        if (l.json) {
            json_object_array_add(arr, oci_state_json(&st, s));
        } else if (l.quiet) {
            puts(st.id);
        } else {
            struct stat sb;
            char owner[32] = "root";
            if (stat(path, &sb) == 0 && sb.st_uid)
                snprintf(owner, sizeof owner, "#%u", (unsigned)sb.st_uid);
            printf("%-12s %-8d %-10s %-40s %-30s %s\n", st.id, s == OCI_STOPPED ? 0 : (int)st.pid,
                   oci_status_name(s), st.bundle, st.created, owner);
        }
        oci_state_clear(&st);
    }
    if (arr) {
        oci_print_json(arr, false);
        json_object_put(arr);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return 0;
}

/* ---- spec ---- */

struct spec_opts {
    const char *bundle;
    bool rootless;
};

static int spec_opt(struct oci *o, int key, const char *val, void *ctx)
{
    (void)o;
    struct spec_opts *s = ctx;
    if (key == 1)
        s->bundle = val;
    else
        s->rootless = oci_flag(val);
    return 0;
}

int oci_spec(struct oci *o, int argc, char **argv)
{
    static const struct oci_opt opts[] = {{"bundle", 'b', true, 1}, {"rootless", 0, false, 2}, {0}};
    struct spec_opts so = {.bundle = "."};
    struct oci_args a = {.argc = argc, .argv = argv};
    const char *val;
    int k;
    while ((k = oci_next(o, &a, opts, &val)) != -1) {
        if (k == -2)
            return EXIT_USAGE;
        if (k == 0)
            return oci_usage(o, "spec: unexpected argument '%s'", val);
        spec_opt(o, k, val, &so);
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/config.json", so.bundle) >= (int)sizeof path)
        return oci_usage(o, "spec: --bundle too long");
    struct stat sb;
    if (stat(so.bundle, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return oci_fail(o, "spec: %s is not a directory", so.bundle);
    char *text = ct_spec_default_json(so.rootless, getuid(), getgid());
    if (!text)
        return oci_fail(o, "spec: cannot build the default configuration");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        free(text);
        if (e == EEXIST)
            return oci_fail(o, "File %s exists. Remove it first", path);
        return oci_fail(o, "cannot create %s: %s", path, strerror(e));
    }
    size_t len = strlen(text), off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = oci_fail(o, "cannot write %s: %s", path, strerror(errno));
            unlink(path);
            break;
        }
        off += (size_t)w;
    }
    close(fd);
    free(text);
    return rc;
}

/* ---- features ---- */

int oci_features(struct oci *o, int argc, char **argv)
{
    if (argc > 0)
        return oci_usage(o, "features: unexpected argument '%s'", argv[0]);
    fputs("{\n"
          "  \"ociVersionMin\": \"1.0.0\",\n"
          "  \"ociVersionMax\": \"" OCI_SPEC_VERSION "\",\n"
          "  \"hooks\": [],\n"
          "  \"mountOptions\": [\"async\", \"atime\", \"bind\", \"defaults\", \"dev\", \"diratime\",\n"
          "    \"dirsync\", \"exec\", \"mand\", \"noatime\", \"nodev\", \"nodiratime\", \"noexec\",\n"
          "    \"nomand\", \"norelatime\", \"nostrictatime\", \"nosuid\", \"private\", \"rbind\",\n"
          "    \"relatime\", \"remount\", \"ro\", \"rprivate\", \"rshared\", \"rslave\",\n"
          "    \"runbindable\", \"rw\", \"shared\", \"slave\", \"strictatime\", \"suid\", \"sync\",\n"
          "    \"unbindable\"],\n"
          "  \"linux\": {\n"
          "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"user\", \"uts\"],\n"
          "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false, \"systemdUser\": false},\n"
          "    \"seccomp\": {\"enabled\": true},\n"
          "    \"apparmor\": {\"enabled\": false},\n"
          "    \"selinux\": {\"enabled\": false}\n"
          "  },\n"
          "  \"annotations\": {\"org.opencontainers.runc.checkpoint.enabled\": \"false\"}\n"
          "}\n", stdout);
    return 0;
}

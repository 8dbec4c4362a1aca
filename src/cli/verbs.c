/* The lifecycle verbs: each turns its arguments into requests to the disco
 * daemon (docs/FLEET.md) and its replies into output and an exit status:
 * 0 success, 1 the daemon refused or is unreachable, 2 usage errors;
 * `disco exec` exits with the command's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/console.h"

#define DEFAULT_WAIT_S 120
#define DEFAULT_SHUTDOWN_S 30

const char verbs_usage[] =
    "  daemon    run the daemon that owns the host's guests (see 'disco daemon --help')\n"
    "  create    define a VM: create NAME [--config FILE] [run's options] [--weight N]\n"
    "            [--cap PCT] [--autostart] (run's options include --mem-reservation,\n"
    "            --mem-limit, --mem-shares, --share-domain)\n"
    "            or a container: create NAME --rootfs DIR [--tty] [--hostname H] [--cwd D]\n"
    "            [--env K=V]... [--mem-limit SIZE] [--cpu-weight N] [--cap PCT]\n"
    "            [--pids-max N] [--io-weight N] [--bridge BR --address A/N [--gateway G]]\n"
    "            [--userns] [--readonly] [--autostart] [-- CMD [ARG]...]\n"
    "  start     start VMs: start NAME... [--wait] [--timeout SECS]\n"
    "  stop      hard stop: stop NAME\n"
    "  shutdown  clean shutdown through the agent: shutdown NAME [--timeout SECS]\n"
    "  reboot    reboot NAME [--force]\n"
    "  pause     pause NAME\n"
    "  resume    resume NAME\n"
    "  console   attach to the serial console: console NAME [--read-only]\n"
    "  exec      run a command in the guest: exec NAME [--timeout SECS] -- CMD [ARG]...\n"
    "  state     print the state: state NAME\n"
    "  stats     statistics: stats NAME [--json]; the host's memory pool: stats --host\n"
    "            [--json]\n"
    "  list      list the VMs: list [--json]\n"
    "  set       scheduling: set NAME [--weight N] [--cap PCT]\n"
    "  balloon   resize a running guest's memory: balloon NAME SIZE (e.g. 128M, 1G)\n"
    "  destroy   remove a stopped VM: destroy NAME [--force]\n"
    "Containers only (docs/CONTAINERS.md):\n"
    "  add-device        add-device NAME PATH c|b MAJOR MINOR [--mode 0666]\n"
    "  attach-interface  attach-interface NAME IFNAME [--as NAME]\n"
    "  snapshot          snapshot NAME NEW [--overlay]\n"
    "  checkpoint        checkpoint NAME DIR [--stop]\n"
    "  restore           restore NAME DIR\n"
    "\n"
    "The VM commands talk to the daemon at --socket PATH (default $DISCO_SOCKET, else\n"
    DISCO_DEFAULT_SOCKET ").\n";

static const struct {
    const char *verb, *synopsis;
} synopses[] = {
    {"create", "create NAME [--config FILE] [--cpus N] [--mem SIZE] [--kernel FILE] [--initrd FILE]\n"
               "                    [--append STR] [--disk FILE]... [--bios FILE] [--weight N] [--cap PCT]\n"
               "                    [--mem-reservation SIZE] [--mem-limit SIZE] [--mem-shares N]\n"
               "                    [--share-domain NAME] [--autostart]"},
    {"start", "start NAME... [--wait] [--timeout SECS]"},
    {"stop", "stop NAME"},
    {"shutdown", "shutdown NAME [--timeout SECS]"},
    {"reboot", "reboot NAME [--force]"},
    {"pause", "pause NAME"},
    {"resume", "resume NAME"},
    {"console", "console NAME [--read-only]"},
    {"exec", "exec NAME [--timeout SECS] -- CMD [ARG]..."},
    {"state", "state NAME"},
    {"stats", "stats NAME|--host [--json]"},
    {"list", "list [--json]"},
    {"set", "set NAME [--weight N] [--cap PCT]"},
    {"balloon", "balloon NAME SIZE"},
    {"destroy", "destroy NAME [--force]"},
    {"create", "create NAME --rootfs DIR [--config FILE] [--tty] [--hostname H] [--cwd DIR]\n"
               "                    [--env K=V]... [--mem-limit SIZE] [--cpu-weight N] [--cap PCT]\n"
               "                    [--pids-max N] [--io-weight N] [--bridge BR --address A/N\n"
               "                    [--gateway G]] [--userns] [--readonly] [--autostart]\n"
               "                    [-- CMD [ARG]...]   (a container)"},
    {"add-device", "add-device NAME PATH c|b MAJOR MINOR [--mode 0666]"},
    {"attach-interface", "attach-interface NAME IFNAME [--as NAME]"},
    {"snapshot", "snapshot NAME NEW [--overlay]"},
    {"checkpoint", "checkpoint NAME DIR [--stop]"},
    {"restore", "restore NAME DIR"},
};

static const char *cur_verb;

/* ---- arguments ---- */

struct args {
    const char *socket;
    const char *pos[64];
    int npos;
    char **cmd;         /* exec: the command, NULL-terminated */
};

/* If argv[*i] is OPT (or OPT=VAL), take it: *val gets the value (for
 * options that take one). */
static bool take(int argc, char **argv, int *i, const char *opt, bool has_val, const char **val)
{
    const char *a = argv[*i];
    size_t l = strlen(opt);
    if (strncmp(a, opt, l) || (a[l] != '\0' && a[l] != '='))
        return false;
    if (!has_val) {
        if (a[l] == '=')
            cli_die_usage(cur_verb, "%s takes no value", opt);
        return true;
    }
    if (a[l] == '=') {
        *val = a + l + 1;
    } else {
        if (*i + 1 >= argc)
            cli_die_usage(cur_verb, "%s needs a value", opt);
        *val = argv[++*i];
    }
    return true;
}

static unsigned long num(const char *opt, const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || errno || *end || v > max)
        cli_die_usage(cur_verb, "%s: '%s' is not a number between 0 and %lu", opt, s, max);
    return v;
}

static void print_help(void)
{
    for (size_t i = 0; i < sizeof synopses / sizeof synopses[0]; i++)
        if (!strcmp(synopses[i].verb, cur_verb))
            printf("usage: disco %s [--socket PATH]\n", synopses[i].synopsis);
    exit(0);
}

/* The common part of every verb's loop: --socket, --help, positionals.
 * Returns true if it took argv[*i]. */
static bool common_arg(struct args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
        print_help();
    if (take(argc, argv, i, "--socket", true, &a->socket)) {
        if (!*a->socket)
            cli_die_usage(cur_verb, "--socket needs a path");
        return true;
    }
    if (arg[0] == '-' && arg[1])
        cli_die_usage(cur_verb, "unknown option '%s'", arg);
    if (a->npos == (int)(sizeof a->pos / sizeof a->pos[0]))
        cli_die_usage(cur_verb, "too many arguments");
    a->pos[a->npos++] = arg;
    return true;
}

/* Exactly one NAME. */
static const char *one_name(struct args *a)
{
    if (a->npos == 0)
        cli_die_usage(cur_verb, "missing the VM name");
    if (a->npos > 1)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a->pos[1]);
    return a->pos[0];
}

static void connect_to(struct client_conn *c, struct args *a)
{
    client_connect(c, client_socket_path(a->socket));
}

static struct json_object *request(const char *op, const char *name)
{
    struct json_object *r = json_object_new_object();
    json_object_object_add(r, "op", json_object_new_string(op));
    if (name)
        json_object_object_add(r, "name", json_object_new_string(name));
    return r;
}

/* Send one request; 0 if ok, else 1 with the error printed. */
static int simple_call(struct args *a, struct json_object *req)
{
    struct client_conn c;
    connect_to(&c, a);
    struct json_object *r = client_call(&c, req);
    int rc = client_reply_ok(r, NULL) ? 0 : EXIT_RUNTIME;
    json_object_put(r);
    client_close(&c);
    return rc;
}

static void print_json(struct json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- create ---- */

static void set_str(struct json_object *cfg, const char *key, const char *val)
{
    json_object_object_add(cfg, key, json_object_new_string(val));
}

/* Make the string at cfg[key] (or the array element) an absolute path of an
 * existing file; leave wrong types for the daemon to report. */
static void absolutize(struct json_object *v, const char *what)
{
    if (!json_object_is_type(v, json_type_string))
        return;
    char real[PATH_MAX];
    const char *p = json_object_get_string(v);
    if (!*p)
        client_die("%s: empty file name", what);
    if (!realpath(p, real))
        client_die("%s: %s: %s", what, p, strerror(errno));
    json_object_set_string(v, real);
}

/* A container config's rootfs (from a --config file) made absolute. */
static void absolutize_dir(struct json_object *cfg)
{
    struct json_object *v;
    if (json_object_object_get_ex(cfg, "rootfs", &v))
        absolutize(v, "rootfs");
}

/* The --config file as JSON, or exit 1 saying why not. */
static struct json_object *read_config(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        client_die("--config: %s: %s", path, strerror(errno));
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text, f);
    bool err = ferror(f), big = n == sizeof text;
    fclose(f);
    if (err)
        client_die("--config: %s: cannot read it", path);
    if (big)
        client_die("--config: %s: too large for a config (1 MiB at most)", path);
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        client_die("out of memory");
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)n);
    enum json_tokener_error je = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!o || je != json_tokener_success) {
        json_object_put(o);
        client_die("--config: %s: not valid JSON (%s)", path,
                   je == json_tokener_continue ? "it ends too early"
                                               : json_tokener_error_desc(je));
    }
    return o;
}

/* A number in [min, max] for option opt, or exit 2. */
static unsigned long num_range(const char *opt, const char *s, unsigned long min,
                               unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < min || v > max)
        cli_die_usage(cur_verb, "%s: '%s' is not a number between %lu and %lu", opt, s, min,
                      max);
    return v;
}

/* The options of a container (create --rootfs ...). */
struct ct_opts {
    const char *rootfs, *hostname, *cwd, *cpu_weight, *pids_max, *io_weight, *bridge, *address,
        *gateway;
    const char *env[64];
    unsigned nenv;
    bool tty, userns, readonly;
    char **cmd;         /* after --: the init command */
    int ncmd;
};

/* Is argv[*i] a container option? Takes it (and its value). */
static bool take_ct_opt(struct ct_opts *o, int argc, char **argv, int *i)
{
    const char *v;
    if (take(argc, argv, i, "--rootfs", true, &o->rootfs) ||
        take(argc, argv, i, "--hostname", true, &o->hostname) ||
        take(argc, argv, i, "--cwd", true, &o->cwd) ||
        take(argc, argv, i, "--cpu-weight", true, &o->cpu_weight) ||
        take(argc, argv, i, "--pids-max", true, &o->pids_max) ||
        take(argc, argv, i, "--io-weight", true, &o->io_weight) ||
        take(argc, argv, i, "--bridge", true, &o->bridge) ||
        take(argc, argv, i, "--address", true, &o->address) ||
        take(argc, argv, i, "--gateway", true, &o->gateway))
        return true;
    if (take(argc, argv, i, "--tty", false, NULL))
        return o->tty = true;
    if (take(argc, argv, i, "--userns", false, NULL))
        return o->userns = true;
    if (take(argc, argv, i, "--readonly", false, NULL))
        return o->readonly = true;
    if (take(argc, argv, i, "--env", true, &v)) {
        if (o->nenv == sizeof o->env / sizeof o->env[0])
            cli_die_usage(cur_verb, "too many --env options (at most 64)");
        const char *eq = strchr(v, '=');
        if (!eq || eq == v)
            cli_die_usage(cur_verb, "--env: '%s' is not KEY=VALUE", v);
        o->env[o->nenv++] = v;
        return true;
    }
    return false;
}

/* The first container-only option given, or NULL. */
static const char *ct_only_opt(const struct ct_opts *o)
{
    return o->hostname ? "--hostname" : o->cwd ? "--cwd" : o->cpu_weight ? "--cpu-weight"
         : o->pids_max ? "--pids-max" : o->io_weight ? "--io-weight" : o->bridge ? "--bridge"
         : o->address ? "--address" : o->gateway ? "--gateway" : o->nenv ? "--env"
         : o->tty ? "--tty" : o->userns ? "--userns" : o->readonly ? "--readonly"
         : o->cmd ? "-- CMD" : NULL;
}

static void ct_fill(struct json_object *cfg, const struct ct_opts *o, const char *mem_limit,
                    const char *cap)
{
    if (o->rootfs) {
        char real[PATH_MAX];
        if (!*o->rootfs)
            cli_die_usage(cur_verb, "--rootfs needs a directory");
        if (!realpath(o->rootfs, real))
            client_die("--rootfs: %s: %s", o->rootfs, strerror(errno));
        set_str(cfg, "rootfs", real);
    }
    if (o->hostname) {
        size_t n = strlen(o->hostname);
        if (!n || n > 64 || strspn(o->hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789-._") != n)
            cli_die_usage(cur_verb, "--hostname: '%s' is not a host name (1..64 of A-Z a-z 0-9 "
                          "- . _)", o->hostname);
        set_str(cfg, "hostname", o->hostname);
    }
    if (o->cwd) {
        if (o->cwd[0] != '/')
            cli_die_usage(cur_verb, "--cwd: '%s' is not an absolute path (inside the container)",
                          o->cwd);
        set_str(cfg, "cwd", o->cwd);
    }
    if (mem_limit) {
        uint64_t v;
        if (vm_parse_size(mem_limit, &v) < 0 || (v & 0xfff))
            cli_die_usage(cur_verb, "--mem-limit: '%s' is not a size in whole 4 KiB pages "
                          "(examples: 64M, 1G)", mem_limit);
        if (v && v < (4u << 20))
            cli_die_usage(cur_verb, "--mem-limit: %s is too small for a container (at least 4M)",
                          mem_limit);
        set_str(cfg, "mem_limit", mem_limit);
    }
    if (cap)
        json_object_object_add(cfg, "cpu_cap",
                               json_object_new_int64((int64_t)num_range("--cap", cap, 0, 102400)));
    if (o->cpu_weight)
        json_object_object_add(cfg, "cpu_weight", json_object_new_int64((int64_t)num_range(
                                                      "--cpu-weight", o->cpu_weight, 1, 10000)));
    if (o->pids_max)
        json_object_object_add(cfg, "pids_max", json_object_new_int64((int64_t)num_range(
                                                    "--pids-max", o->pids_max, 1, 4194304)));
    if (o->io_weight)
        json_object_object_add(cfg, "io_weight", json_object_new_int64((int64_t)num_range(
                                                     "--io-weight", o->io_weight, 10, 1000)));
    if (o->bridge) {
        size_t n = strlen(o->bridge);
        if (!n || n > 15 || strpbrk(o->bridge, "/: \t"))
            cli_die_usage(cur_verb, "--bridge: '%s' is not an interface name (1..15 characters)",
                          o->bridge);
        set_str(cfg, "bridge", o->bridge);
    }
    if ((o->address || o->gateway) && !o->bridge)
        cli_die_usage(cur_verb, "%s needs --bridge", o->address ? "--address" : "--gateway");
    if (o->gateway && !o->address)
        cli_die_usage(cur_verb, "--gateway needs --address");
    if (o->address) {
        const char *slash = strchr(o->address, '/');
        if (!slash || slash == o->address || !slash[1] ||
            strspn(slash + 1, "0123456789") != strlen(slash + 1))
            cli_die_usage(cur_verb, "--address: '%s' is not ADDRESS/PREFIX (e.g. 10.88.0.2/16)",
                          o->address);
        set_str(cfg, "address", o->address);
    }
    if (o->gateway) {
        if (strchr(o->gateway, '/') || !*o->gateway)
            cli_die_usage(cur_verb, "--gateway: '%s' is not an address (e.g. 10.88.0.1)",
                          o->gateway);
        set_str(cfg, "gateway", o->gateway);
    }
    if (o->tty)
        json_object_object_add(cfg, "terminal", json_object_new_boolean(1));
    if (o->userns)
        json_object_object_add(cfg, "userns", json_object_new_boolean(1));
    if (o->readonly)
        json_object_object_add(cfg, "readonly_root", json_object_new_boolean(1));
    if (o->nenv) {
        struct json_object *arr = json_object_new_array();
        for (unsigned k = 0; k < o->nenv; k++)
            json_object_array_add(arr, json_object_new_string(o->env[k]));
        json_object_object_add(cfg, "env", arr);
    }
    if (o->cmd) {
        if (o->ncmd == 0)
            cli_die_usage(cur_verb, "'--' must be followed by the command to run");
        if (o->ncmd > 64)
            cli_die_usage(cur_verb, "the command has more than 64 words");
        struct json_object *arr = json_object_new_array();
        for (int k = 0; k < o->ncmd; k++)
            json_object_array_add(arr, json_object_new_string(o->cmd[k]));
        json_object_object_add(cfg, "argv", arr);
    }
}

static int verb_create(int argc, char **argv)
{
    struct args a = {0};
    const char *config = NULL, *cpus = NULL, *mem = NULL, *kernel = NULL, *initrd = NULL,
               *append = NULL, *bios = NULL, *weight = NULL, *cap = NULL, *v;
    const char *mem_res = NULL, *mem_limit = NULL, *mem_shares = NULL, *domain = NULL;
    const char *disks[64];
    unsigned ndisks = 0;
    bool autostart = false;
    struct ct_opts co = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            co.cmd = argv + i + 1;
            co.ncmd = argc - i - 1;
            break;
        }
        if (take(argc, argv, &i, "--config", true, &config) ||
            take(argc, argv, &i, "--cpus", true, &cpus) ||
            take(argc, argv, &i, "--mem", true, &mem) ||
            take(argc, argv, &i, "--kernel", true, &kernel) ||
            take(argc, argv, &i, "--initrd", true, &initrd) ||
            take(argc, argv, &i, "--append", true, &append) ||
            take(argc, argv, &i, "--bios", true, &bios) ||
            take(argc, argv, &i, "--weight", true, &weight) ||
            take(argc, argv, &i, "--cap", true, &cap) ||
            take(argc, argv, &i, "--mem-reservation", true, &mem_res) ||
            take(argc, argv, &i, "--mem-limit", true, &mem_limit) ||
            take(argc, argv, &i, "--mem-shares", true, &mem_shares) ||
            take(argc, argv, &i, "--share-domain", true, &domain) ||
            take_ct_opt(&co, argc, argv, &i))
            continue;
        if (take(argc, argv, &i, "--autostart", false, NULL)) {
            autostart = true;
        } else if (take(argc, argv, &i, "--disk", true, &v)) {
            if (ndisks == sizeof disks / sizeof disks[0])
                cli_die_usage(cur_verb, "too many --disk options");
            disks[ndisks++] = v;
        } else {
            common_arg(&a, argc, argv, &i);
        }
    }
    if (a.npos > 1)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[1]);

    struct json_object *cfg, *kv;
    if (config) {
        cfg = read_config(config);
        if (!json_object_is_type(cfg, json_type_object))
            client_die("--config: %s: not a JSON object", config);
    } else {
        cfg = json_object_new_object();
    }
    if (a.npos == 1)
        set_str(cfg, "name", a.pos[0]);
    else if (!json_object_object_get_ex(cfg, "name", NULL))
        cli_die_usage(cur_verb, "missing the guest name");

    /* A container: --rootfs, or a config file of that kind. */
    bool container = co.rootfs != NULL;
    if (json_object_object_get_ex(cfg, "kind", &kv) && json_object_is_type(kv, json_type_string) &&
        !strcmp(json_object_get_string(kv), "container"))
        container = true;
    if (container) {
        static const char *const vm_only[] = {"--cpus", "--mem", "--kernel", "--initrd",
                                              "--append", "--bios", "--weight",
                                              "--mem-reservation", "--mem-shares",
                                              "--share-domain", "--disk"};
        const char *vals[] = {cpus, mem, kernel, initrd, append, bios, weight,
                              mem_res, mem_shares, domain, ndisks ? "x" : NULL};
        for (size_t k = 0; k < sizeof vm_only / sizeof vm_only[0]; k++)
            if (vals[k])
                cli_die_usage(cur_verb, "%s is for VMs, not containers (--rootfs)", vm_only[k]);
        set_str(cfg, "kind", "container");
        ct_fill(cfg, &co, mem_limit, cap);
        if (autostart)
            json_object_object_add(cfg, "autostart", json_object_new_boolean(1));
        if (!json_object_object_get_ex(cfg, "rootfs", &kv))
            cli_die_usage(cur_verb, "a container needs --rootfs DIR");
        absolutize_dir(cfg);
        struct json_object *req = request("create", NULL);
        json_object_object_add(req, "config", cfg);
        return simple_call(&a, req);
    }
    const char *ct_opt = ct_only_opt(&co);
    if (ct_opt)
        cli_die_usage(cur_verb, "%s is for containers: it needs --rootfs DIR", ct_opt);

    /* The same checks as `disco run`; the daemon checks again. */
    if (cpus)
        json_object_object_add(cfg, "cpus", json_object_new_int((int)cli_parse_cpus(cpus)));
    if (mem) {
        cli_parse_mem(mem);
        set_str(cfg, "memory", mem);
    }
    if (append)
        set_str(cfg, "append", append);
    static const struct {
        const char *key, *opt;
    } files[] = {{"kernel", "--kernel"}, {"initrd", "--initrd"}, {"bios", "--bios"}};
    const char *fvals[] = {kernel, initrd, bios};
    for (int k = 0; k < 3; k++) {
        if (fvals[k] && !*fvals[k])
            cli_die_usage(cur_verb, "%s needs a file name", files[k].opt);
        if (fvals[k])
            set_str(cfg, files[k].key, fvals[k]);
    }
    if (ndisks) {
        struct json_object *arr = json_object_new_array();
        for (unsigned k = 0; k < ndisks; k++) {
            if (!*disks[k])
                cli_die_usage(cur_verb, "--disk needs a file name");
            json_object_array_add(arr, json_object_new_string(disks[k]));
        }
        json_object_object_add(cfg, "disks", arr);
    }
    if (weight)
        json_object_object_add(cfg, "weight", json_object_new_int64(num("--weight", weight,
                                                                        UINT_MAX)));
    if (cap)
        json_object_object_add(cfg, "cap", json_object_new_int64(num("--cap", cap, UINT_MAX)));
    if (autostart)
        json_object_object_add(cfg, "autostart", json_object_new_boolean(1));
    /* Each on its own here; against each other and --mem (which may come
     * from the file) the daemon checks them. */
    if (mem_res) {
        cli_parse_mem_size(cur_verb, "--mem-reservation", mem_res);
        set_str(cfg, "mem_reservation", mem_res);
    }
    if (mem_limit) {
        cli_parse_mem_size(cur_verb, "--mem-limit", mem_limit);
        set_str(cfg, "mem_limit", mem_limit);
    }
    if (mem_shares)
        json_object_object_add(cfg, "mem_shares",
                               json_object_new_int64(cli_parse_shares(cur_verb, mem_shares)));
    if (domain)
        set_str(cfg, "share_domain", cli_check_share_domain(cur_verb, domain));

    /* The default guest, found the way `disco run` finds it. */
    if (!json_object_object_get_ex(cfg, "kernel", &kv) || json_object_is_type(kv, json_type_null)) {
        char kpath[PATH_MAX], ipath[PATH_MAX], why[PATH_MAX + 128];
        if (cli_default_guest(kpath, ipath, sizeof kpath, why, sizeof why) < 0)
            client_die("%s", why);
        set_str(cfg, "kernel", kpath);
        struct json_object *iv;
        if (ipath[0] && (!json_object_object_get_ex(cfg, "initrd", &iv) ||
                         json_object_is_type(iv, json_type_null)))
            set_str(cfg, "initrd", ipath);
    }
    /* The daemon has its own working directory. */
    for (int k = 0; k < 3; k++)
        if (json_object_object_get_ex(cfg, files[k].key, &kv))
            absolutize(kv, files[k].key);
    if (json_object_object_get_ex(cfg, "disks", &kv) && json_object_is_type(kv, json_type_array))
        for (size_t k = 0; k < json_object_array_length(kv); k++)
            absolutize(json_object_array_get_idx(kv, k), "disk");

    struct json_object *req = request("create", NULL);
    json_object_object_add(req, "config", cfg);
    return simple_call(&a, req);
}

/* ---- the simple verbs ---- */

static int verb_name_only(const char *op, int argc, char **argv)
{
    struct args a = {0};
    for (int i = 0; i < argc; i++)
        common_arg(&a, argc, argv, &i);
    return simple_call(&a, request(op, one_name(&a)));
}

static int verb_start(int argc, char **argv)
{
    struct args a = {0};
    bool wait = false;
    const char *t = NULL;
    for (int i = 0; i < argc; i++) {
        if (take(argc, argv, &i, "--wait", false, NULL))
            wait = true;
        else if (!take(argc, argv, &i, "--timeout", true, &t))
            common_arg(&a, argc, argv, &i);
    }
    if (!a.npos)
        cli_die_usage(cur_verb, "missing the VM name");
    uint64_t timeout_ms = (t ? num("--timeout", t, 1u << 30) : DEFAULT_WAIT_S) * 1000ull;
    struct client_conn c;
    connect_to(&c, &a);
    int rc = 0;
    bool started[64] = {0};
    /* Start them all first, so they boot side by side, then wait. */
    for (int k = 0; k < a.npos; k++) {
        struct json_object *r = client_call(&c, request("start", a.pos[k]));
        started[k] = client_reply_ok(r, a.npos > 1 ? a.pos[k] : NULL);
        if (!started[k])
            rc = EXIT_RUNTIME;
        json_object_put(r);
    }
    for (int k = 0; wait && k < a.npos; k++) {
        if (!started[k])
            continue;
        struct json_object *req = request("wait_agent", a.pos[k]);
        json_object_object_add(req, "timeout_ms", json_object_new_int64((int64_t)timeout_ms));
        struct json_object *r = client_call(&c, req);
        if (!client_reply_ok(r, a.npos > 1 ? a.pos[k] : NULL))
            rc = EXIT_RUNTIME;
        json_object_put(r);
    }
    client_close(&c);
    return rc;
}

static int verb_shutdown(int argc, char **argv)
{
    struct args a = {0};
    const char *t = NULL;
    for (int i = 0; i < argc; i++)
        if (!take(argc, argv, &i, "--timeout", true, &t))
            common_arg(&a, argc, argv, &i);
    const char *name = one_name(&a);
    uint64_t timeout_ms = (t ? num("--timeout", t, 1u << 30) : DEFAULT_SHUTDOWN_S) * 1000ull;
    struct json_object *req = request("shutdown", name);
    /* 0 would mean libdisco's default; --timeout 0 means "at once". */
    json_object_object_add(req, "timeout_ms", json_object_new_int64(timeout_ms ? (int64_t)timeout_ms : 1));
    struct client_conn c;
    connect_to(&c, &a);
    struct json_object *r = client_call(&c, req);
    int rc = client_reply_ok(r, NULL) ? 0 : EXIT_RUNTIME;
    if (!rc && reply_bool(r, "forced", false))
        fprintf(stderr, "disco: %s did not shut down in time; stopped it\n", name);
    json_object_put(r);
    client_close(&c);
    return rc;
}

static int verb_flagged(const char *op, const char *flag, const char *field, int argc,
                        char **argv)
{
    struct args a = {0};
    bool f = false;
    for (int i = 0; i < argc; i++) {
        if (take(argc, argv, &i, flag, false, NULL))
            f = true;
        else
            common_arg(&a, argc, argv, &i);
    }
    struct json_object *req = request(op, one_name(&a));
    json_object_object_add(req, field, json_object_new_boolean(f));
    return simple_call(&a, req);
}

static int verb_set(int argc, char **argv)
{
    struct args a = {0};
    const char *w = NULL, *cap = NULL;
    for (int i = 0; i < argc; i++)
        if (!take(argc, argv, &i, "--weight", true, &w) &&
            !take(argc, argv, &i, "--cap", true, &cap))
            common_arg(&a, argc, argv, &i);
    const char *name = one_name(&a);
    if (!w && !cap)
        cli_die_usage(cur_verb, "nothing to set: give --weight and/or --cap");
    struct json_object *req = request("set", name);
    if (w)
        json_object_object_add(req, "weight", json_object_new_int64(num("--weight", w, UINT_MAX)));
    if (cap)
        json_object_object_add(req, "cap", json_object_new_int64(num("--cap", cap, UINT_MAX)));
    return simple_call(&a, req);
}

/* balloon NAME SIZE: the size is checked here (like --mem) so a typo is a
 * usage error; the daemon gets bytes. */
static int verb_balloon(int argc, char **argv)
{
    struct args a = {0};
    for (int i = 0; i < argc; i++)
        common_arg(&a, argc, argv, &i);
    if (a.npos == 0)
        cli_die_usage(cur_verb, "missing the VM name");
    if (a.npos == 1)
        cli_die_usage(cur_verb, "missing the size (e.g. 128M, 1G)");
    if (a.npos > 2)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[2]);
    uint64_t mem;
    if (vm_parse_size(a.pos[1], &mem) < 0)
        cli_die_usage(cur_verb, "'%s' is not a size (examples: 128M, 1G, 512)", a.pos[1]);
    if (mem < VM_MIN_MEM)
        cli_die_usage(cur_verb, "%s is too small (at least %llu MiB)", a.pos[1],
                      (unsigned long long)(VM_MIN_MEM >> 20));
    if (mem > (uint64_t)INT64_MAX)
        cli_die_usage(cur_verb, "%s is too large", a.pos[1]);
    struct json_object *req = request("balloon", a.pos[0]);
    json_object_object_add(req, "memory", json_object_new_int64((int64_t)mem));
    return simple_call(&a, req);
}

static int verb_state(int argc, char **argv)
{
    struct args a = {0};
    for (int i = 0; i < argc; i++)
        common_arg(&a, argc, argv, &i);
    struct json_object *req = request("state", one_name(&a));
    struct client_conn c;
    connect_to(&c, &a);
    struct json_object *r = client_call(&c, req);
    int rc = client_reply_ok(r, NULL) ? 0 : EXIT_RUNTIME;
    if (!rc)
        puts(reply_str(r, "state", "unknown"));
    json_object_put(r);
    client_close(&c);
    return rc;
}

/* One stats field for people: times in seconds, memory in MiB, with the
 * derived figures (CPU share, MIPS) next to the raw ones. */
static void print_stats(struct json_object *s)
{
    json_object_object_foreach(s, key, val)
    {
        size_t kl = strlen(key);
        bool is_int = json_object_is_type(val, json_type_int);
        double v = is_int ? (double)json_object_get_int64(val) : 0;
        if (is_int && kl > 3 && !strcmp(key + kl - 3, "_ns"))
            printf("%-20.*s %.2f s\n", (int)(kl - 3), key, v / 1e9);   /* "cpu", not "cpu_ns" */
        else if (!strcmp(key, "vcpus") && json_object_is_type(val, json_type_array))
            for (size_t i = 0; i < json_object_array_length(val); i++) {
                struct json_object *c = json_object_array_get_idx(val, i), *f;
                double cpu = json_object_object_get_ex(c, "cpu_ns", &f) ? (double)json_object_get_int64(f) : 0;
                double ins = json_object_object_get_ex(c, "instret", &f) ? (double)json_object_get_int64(f) : 0;
                bool idle = json_object_object_get_ex(c, "idle", &f) && json_object_get_boolean(f);
                printf("vcpu%-16zu %.2f s, %.0f instructions, %s\n", i, cpu / 1e9, ins,
                       idle ? "idle" : "runnable");
            }
        else if (is_int && strcmp(key, "mem_shares") &&
                 (!strncmp(key, "mem", 3) || !strncmp(key, "guest_mem", 9) ||
                  !strncmp(key, "balloon_", 8) || !strncmp(key, "ct_mem_max", 10) ||
                  !strcmp(key, "ct_mem_peak") || (!strncmp(key, "ct_io_", 6) &&
                                                  kl > 6 && !strcmp(key + kl - 6, "_bytes"))))
            printf("%-20s %.1f MiB\n", key, v / 1048576.0);
        else
            printf("%-20s %s\n", key, json_object_is_type(val, json_type_string)
                                          ? json_object_get_string(val)
                                          : json_object_to_json_string(val));
    }
    struct json_object *up, *cpu, *ins;
    if (json_object_object_get_ex(s, "uptime_ns", &up) &&
        json_object_object_get_ex(s, "cpu_ns", &cpu)) {
        double u = (double)json_object_get_int64(up), c = (double)json_object_get_int64(cpu);
        if (u > 0)
            printf("%-20s %.1f%% of one host CPU since start\n", "cpu_share", 100.0 * c / u);
        /* VMs only: containers run host instructions. */
        if (c > 0 && json_object_object_get_ex(s, "instret", &ins))
            printf("%-20s %.0f (guest instructions per us of host CPU)\n", "mips",
                   (double)json_object_get_int64(ins) / c * 1e3);
    }
}

/* `stats --host`: the pool, in MiB (pressure_events is a count), then how
 * full it is. */
static void print_host_stats(struct json_object *s)
{
    json_object_object_foreach(s, key, val)
    {
        if (!json_object_is_type(val, json_type_int))
            printf("%-20s %s\n", key, json_object_to_json_string(val));
        else if (!strcmp(key, "pressure_events"))
            printf("%-20s %lld\n", key, (long long)json_object_get_int64(val));
        else
            printf("%-20s %.1f MiB\n", key, (double)json_object_get_int64(val) / 1048576.0);
    }
    struct json_object *b, *u;
    if (json_object_object_get_ex(s, "budget", &b) && json_object_object_get_ex(s, "used", &u) &&
        json_object_get_int64(b) > 0)
        printf("%-20s %.1f%% of the budget\n", "used_share",
               100.0 * (double)json_object_get_int64(u) / (double)json_object_get_int64(b));
}

/* stats and list: --json prints the reply. */
static int verb_report(bool is_list, int argc, char **argv)
{
    struct args a = {0};
    bool js = false, host = false;
    for (int i = 0; i < argc; i++) {
        if (take(argc, argv, &i, "--json", false, NULL))
            js = true;
        else if (!is_list && take(argc, argv, &i, "--host", false, NULL))
            host = true;
        else
            common_arg(&a, argc, argv, &i);
    }
    struct json_object *req;
    if (is_list) {
        if (a.npos)
            cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[0]);
        req = request("list", NULL);
    } else if (host) {
        if (a.npos)
            cli_die_usage(cur_verb, "--host takes no VM name ('%s')", a.pos[0]);
        req = request("host_stats", NULL);
    } else {
        req = request("stats", one_name(&a));
    }
    struct client_conn c;
    connect_to(&c, &a);
    struct json_object *r = client_call(&c, req);
    int rc = client_reply_ok(r, NULL) ? 0 : EXIT_RUNTIME;
    if (!rc && js) {
        print_json(r);
    } else if (!rc && is_list) {
        struct json_object *g;
        size_t n = 0, w = 4;
        if (json_object_object_get_ex(r, "guests", &g) && json_object_is_type(g, json_type_array))
            n = json_object_array_length(g);
        for (size_t k = 0; k < n; k++) {
            size_t l = strlen(reply_str(json_object_array_get_idx(g, k), "name", ""));
            w = l > w ? l : w;
        }
        printf("%-*s  %-9s  %-8s  %-5s  %s\n", (int)w, "NAME", "KIND", "STATE", "AGENT", "PID");
        for (size_t k = 0; k < n; k++) {
            struct json_object *e = json_object_array_get_idx(g, k);
            const char *kind = reply_str(e, "kind", "vm");
            bool ct = !strcmp(kind, "container");
            long long pid = reply_int(e, "pid", 0);
            char pids[24] = "-";
            if (ct && pid > 0)
                snprintf(pids, sizeof pids, "%lld", pid);
            printf("%-*s  %-9s  %-8s  %-5s  %s\n", (int)w, reply_str(e, "name", "?"), kind,
                   reply_str(e, "state", "?"),
                   ct ? "-" : reply_bool(e, "agent", false) ? "yes" : "no", pids);
        }
    } else if (!rc && host) {
        struct json_object *s;
        if (json_object_object_get_ex(r, "host", &s) && json_object_is_type(s, json_type_object))
            print_host_stats(s);
    } else if (!rc) {
        struct json_object *s;
        if (json_object_object_get_ex(r, "stats", &s) && json_object_is_type(s, json_type_object))
            print_stats(s);
    }
    json_object_put(r);
    client_close(&c);
    return rc;
}

/* ---- exec ---- */

static void write_out(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static int verb_exec(int argc, char **argv)
{
    struct args a = {0};
    const char *t = NULL;
    int i;
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        /* After NAME, the first word that is not an option starts the
         * command (so `disco exec vm ls -l` works without --). */
        if (a.npos == 1 && argv[i][0] != '-')
            break;
        if (!take(argc, argv, &i, "--timeout", true, &t))
            common_arg(&a, argc, argv, &i);
    }
    const char *name = one_name(&a);
    if (i >= argc)
        cli_die_usage(cur_verb, "missing the command to run (disco exec NAME -- CMD [ARG]...)");
    struct json_object *req = request("exec", name);
    struct json_object *av = json_object_new_array();
    for (; i < argc; i++)
        json_object_array_add(av, json_object_new_string(argv[i]));
    json_object_object_add(req, "argv", av);
    if (t)
        json_object_object_add(req, "timeout_ms",
                               json_object_new_int64((int64_t)num("--timeout", t, 1u << 30) * 1000));
    struct client_conn c;
    connect_to(&c, &a);
    struct json_object *r = client_call(&c, req);
    int rc = EXIT_RUNTIME;
    if (client_reply_ok(r, NULL)) {
        struct json_object *v;
        fflush(stdout);
        if (json_object_object_get_ex(r, "stdout", &v) && json_object_is_type(v, json_type_string))
            write_out(STDOUT_FILENO, json_object_get_string(v),
                      (size_t)json_object_get_string_len(v));
        if (json_object_object_get_ex(r, "stderr", &v) && json_object_is_type(v, json_type_string))
            write_out(STDERR_FILENO, json_object_get_string(v),
                      (size_t)json_object_get_string_len(v));
        if (reply_bool(r, "truncated", false))
            fprintf(stderr, "disco: the command's output was truncated\n");
        long long st = reply_int(r, "status", 255);
        rc = st < 0 ? 255 : st > 255 ? 255 : (int)st;
    }
    json_object_put(r);
    client_close(&c);
    return rc;
}

/* ---- console ---- */

#define ESC_CHAR 0x01   /* Ctrl-A */

static volatile sig_atomic_t con_interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    con_interrupted = 1;
}

/* Terminal input: Ctrl-A d detaches (returns true), Ctrl-A Ctrl-A is a
 * Ctrl-A, other escapes are ignored. */
static bool con_filter(const uint8_t *in, size_t n, uint8_t *out, size_t *m, bool *esc)
{
    *m = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t ch = in[k];
        if (*esc) {
            *esc = false;
            if (ch == ESC_CHAR)
                out[(*m)++] = ch;
            else if (ch == 'd' || ch == 'D')
                return true;
            else if (ch == 'h' || ch == 'H' || ch == '?')
                fputs("\r\nC-a d    detach\r\nC-a C-a  send C-a to the guest\r\n", stderr);
        } else if (ch == ESC_CHAR) {
            *esc = true;
        } else {
            out[(*m)++] = ch;
        }
    }
    return false;
}

static int verb_console(int argc, char **argv)
{
    struct args a = {0};
    bool ro = false;
    for (int i = 0; i < argc; i++) {
        if (take(argc, argv, &i, "--read-only", false, NULL))
            ro = true;
        else
            common_arg(&a, argc, argv, &i);
    }
    const char *name = one_name(&a);
    struct json_object *req = request("console", name);
    json_object_object_add(req, "write", json_object_new_boolean(!ro));
    struct client_conn c;
    connect_to(&c, &a);
    struct json_object *r = client_call(&c, req);
    if (!client_reply_ok(r, NULL)) {
        json_object_put(r);
        client_close(&c);
        return EXIT_RUNTIME;
    }
    bool writer = reply_bool(r, "writer", false);
    json_object_put(r);

    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    bool read_stdin = !ro;
    bool tty = read_stdin && console_raw_stdin();
    if (!writer && !ro)
        fprintf(stderr, "disco: another client has the console of %s: read-only\n", name);
    if (tty)
        fprintf(stderr, "disco: attached to %s; Ctrl-A d detaches\r\n", name);
    /* Output that came with the reply. */
    write_out(STDOUT_FILENO, c.buf, c.len);
    c.len = 0;

    bool esc = false;
    int rc = 0;
    uint8_t buf[4096], out[4096];
    while (!con_interrupted) {
        struct pollfd p[2] = {{.fd = c.fd, .events = POLLIN},
                              {.fd = STDIN_FILENO, .events = POLLIN}};
        if (poll(p, read_stdin ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(c.fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;   /* the daemon closed: the guest stopped or went away */
            write_out(STDOUT_FILENO, (const char *)buf, (size_t)n);
        }
        if (read_stdin && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                /* End of input: let the daemon finish and close. */
                read_stdin = false;
                shutdown(c.fd, SHUT_WR);
                continue;
            }
            size_t m = (size_t)n;
            const uint8_t *send_buf = buf;
            if (tty) {
                if (con_filter(buf, (size_t)n, out, &m, &esc)) {
                    fputs("\r\ndisco: detached\r\n", stderr);
                    break;
                }
                send_buf = out;
            }
            if (writer && m && send(c.fd, send_buf, m, MSG_NOSIGNAL) < 0)
                break;
        }
    }
    console_restore();
    client_close(&c);
    return rc;
}

/* ---- container-only verbs ---- */

/* add-device NAME PATH c|b MAJOR MINOR [--mode 0666] */
static int verb_add_device(int argc, char **argv)
{
    struct args a = {0};
    const char *mode = NULL;
    for (int i = 0; i < argc; i++)
        if (!take(argc, argv, &i, "--mode", true, &mode))
            common_arg(&a, argc, argv, &i);
    static const char *const what[] = {"the container name", "the device path (/dev/...)",
                                       "the type (c or b)", "the major number",
                                       "the minor number"};
    if (a.npos < 5)
        cli_die_usage(cur_verb, "missing %s", what[a.npos]);
    if (a.npos > 5)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[5]);
    const char *path = a.pos[1], *type = a.pos[2];
    if (strncmp(path, "/dev/", 5) || !path[5])
        cli_die_usage(cur_verb, "'%s' is not a path under /dev", path);
    if (strcmp(type, "c") && strcmp(type, "b"))
        cli_die_usage(cur_verb, "'%s' is not a device type (c or b)", type);
    unsigned long major = num_range("MAJOR", a.pos[3], 0, 4095);
    unsigned long minor = num_range("MINOR", a.pos[4], 0, 0xfffff);
    unsigned long m = 0666;
    if (mode) {
        char *end;
        errno = 0;
        m = strtoul(mode, &end, 8);
        if (!*mode || *end || errno || m > 0777 || mode[0] == '-')
            cli_die_usage(cur_verb, "--mode: '%s' is not an octal mode up to 0777", mode);
    }
    struct json_object *req = request("add_device", a.pos[0]);
    set_str(req, "path", path);
    set_str(req, "type", type);
    json_object_object_add(req, "major", json_object_new_int64((int64_t)major));
    json_object_object_add(req, "minor", json_object_new_int64((int64_t)minor));
    json_object_object_add(req, "mode", json_object_new_int64((int64_t)m));
    return simple_call(&a, req);
}

/* attach-interface NAME IFNAME [--as NAME] */
static int verb_attach_interface(int argc, char **argv)
{
    struct args a = {0};
    const char *as = NULL;
    for (int i = 0; i < argc; i++)
        if (!take(argc, argv, &i, "--as", true, &as))
            common_arg(&a, argc, argv, &i);
    if (a.npos < 2)
        cli_die_usage(cur_verb, a.npos ? "missing the interface name" : "missing the container name");
    if (a.npos > 2)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[2]);
    const char *names[2] = {a.pos[1], as};
    for (int k = 0; k < 2; k++) {
        size_t n = names[k] ? strlen(names[k]) : 1;
        if (!n || n > 15 || (names[k] && strpbrk(names[k], "/: \t")))
            cli_die_usage(cur_verb, "%s'%s' is not an interface name (1..15 characters)",
                          k ? "--as: " : "", names[k]);
    }
    struct json_object *req = request("attach_interface", a.pos[0]);
    set_str(req, "ifname", a.pos[1]);
    if (as)
        set_str(req, "as", as);
    return simple_call(&a, req);
}

/* snapshot NAME NEW [--overlay] */
static int verb_snapshot(int argc, char **argv)
{
    struct args a = {0};
    bool overlay = false;
    for (int i = 0; i < argc; i++) {
        if (take(argc, argv, &i, "--overlay", false, NULL))
            overlay = true;
        else
            common_arg(&a, argc, argv, &i);
    }
    if (a.npos < 2)
        cli_die_usage(cur_verb, a.npos ? "missing the new container's name"
                                       : "missing the container name");
    if (a.npos > 2)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[2]);
    struct json_object *req = request("snapshot", a.pos[0]);
    set_str(req, "new_name", a.pos[1]);
    json_object_object_add(req, "overlay", json_object_new_boolean(overlay));
    return simple_call(&a, req);
}

/* checkpoint NAME DIR [--stop] / restore NAME DIR: DIR made absolute (the
 * daemon has its own working directory; it need not exist yet). */
static int verb_criu(bool checkpoint, int argc, char **argv)
{
    struct args a = {0};
    bool stop = false;
    for (int i = 0; i < argc; i++) {
        if (checkpoint && take(argc, argv, &i, "--stop", false, NULL))
            stop = true;
        else
            common_arg(&a, argc, argv, &i);
    }
    if (a.npos < 2)
        cli_die_usage(cur_verb, a.npos ? "missing the image directory"
                                       : "missing the container name");
    if (a.npos > 2)
        cli_die_usage(cur_verb, "unexpected argument '%s'", a.pos[2]);
    const char *dir = a.pos[1];
    if (!*dir)
        cli_die_usage(cur_verb, "the image directory is empty");
    char abs[PATH_MAX];
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) ||
            snprintf(abs, sizeof abs, "%s/%s", cwd, dir) >= (int)sizeof abs)
            client_die("cannot make '%s' an absolute path", dir);
        dir = abs;
    }
    struct json_object *req = request(checkpoint ? "checkpoint" : "restore", a.pos[0]);
    set_str(req, "dir", dir);
    if (checkpoint)
        json_object_object_add(req, "stop", json_object_new_boolean(stop));
    return simple_call(&a, req);
}

/* ---- dispatch ---- */

int verbs_main(const char *verb, int argc, char **argv)
{
    cur_verb = verb;
    if (!strcmp(verb, "create"))
        return verb_create(argc, argv);
    if (!strcmp(verb, "start"))
        return verb_start(argc, argv);
    if (!strcmp(verb, "stop") || !strcmp(verb, "pause") || !strcmp(verb, "resume"))
        return verb_name_only(verb, argc, argv);
    if (!strcmp(verb, "shutdown"))
        return verb_shutdown(argc, argv);
    if (!strcmp(verb, "reboot"))
        return verb_flagged("reboot", "--force", "force", argc, argv);
    if (!strcmp(verb, "destroy"))
        return verb_flagged("destroy", "--force", "force", argc, argv);
    if (!strcmp(verb, "console"))
        return verb_console(argc, argv);
    if (!strcmp(verb, "exec"))
        return verb_exec(argc, argv);
    if (!strcmp(verb, "state"))
        return verb_state(argc, argv);
    if (!strcmp(verb, "stats"))
        return verb_report(false, argc, argv);
    if (!strcmp(verb, "list"))
        return verb_report(true, argc, argv);
    if (!strcmp(verb, "set"))
        return verb_set(argc, argv);
    if (!strcmp(verb, "balloon"))
        return verb_balloon(argc, argv);
    if (!strcmp(verb, "add-device"))
        return verb_add_device(argc, argv);
    if (!strcmp(verb, "attach-interface"))
        return verb_attach_interface(argc, argv);
    if (!strcmp(verb, "snapshot"))
        return verb_snapshot(argc, argv);
    if (!strcmp(verb, "checkpoint"))
        return verb_criu(true, argc, argv);
    if (!strcmp(verb, "restore"))
        return verb_criu(false, argc, argv);
    return -1;
}

/* The `disco` command.
 *
 *   disco run [options]     boot a VM on the console
 *   disco daemon [options]  the daemon that owns the host's VMs (daemon/)
 *   disco create|start|...  its clients (verbs.c; docs/FLEET.md)
 *   disco version
 *   disco --help
 *
 * What follows is about `disco run`.
 * Exit status: 0 clean power-off, HTIF pass, or Ctrl-A x; the guest's code
 * for a syscon/HTIF failure (clamped to 1..255); 1 on runtime errors
 * (missing or corrupt kernel, ELF, disk; fatal emulation errors); 2 on
 * usage errors; 128+N when stopped by signal N. Only guest console output
 * goes to stdout; disco's own messages go to stderr. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/console.h"
#include "daemon/daemon.h"
#include "mem/mpool.h"
#include "vmm/vm.h"

/* The command whose usage errors we report (run, create, ...). */
static const char *cli_cmd = "run";

static void die_runtime(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_runtime(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_restore();
    fputs("disco: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void cli_die_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("disco: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'disco %s --help')\n", cmd);
    va_end(ap);
    exit(EXIT_USAGE);
}

static const char main_usage[] =
    "usage: disco <command> [options]\n"
    "\n"
    "commands:\n"
    "  run       boot a virtual machine on this terminal (see 'disco run --help')\n"
    "  version   print the version\n"
    "%s"
    "\n"
    "disco emulates a RISC-V RV64GC machine laid out like QEMU's 'virt' board.\n";

static const char run_usage[] =
    "usage: disco run [options]\n"
    "\n"
    "  --cpus N        harts, 1..32 (default 1)\n"
    "  --mem SIZE      guest RAM, e.g. 512M or 1G; a bare number means MiB (default 256M,\n"
    "                  at least 16M)\n"
    "  --kernel FILE   Linux RISC-V Image (or vmlinux ELF), booted in S-mode with the\n"
    "                  built-in SBI, or by --bios firmware\n"
    "  --initrd FILE   initramfs / initrd\n"
    "  --append STR    kernel command line (default \"" VM_DEFAULT_APPEND "\")\n"
    "  --disk FILE     raw disk image as virtio-blk (repeatable, up to 5; first is /dev/vda)\n"
    "  --bios FILE     M-mode firmware at 0x80000000 (e.g. OpenSBI fw_dynamic.bin); it\n"
    "                  gets a fw_dynamic_info naming the kernel (or --elf) as S-mode payload\n"
    "  --elf FILE      bare-metal RISC-V ELF, run in M-mode (in S-mode under --bios);\n"
    "                  exits through HTIF tohost\n"
    "\n"
    "Memory (docs/MEMORY.md; the run has its own pool, 3/4 of the host's RAM):\n"
    "  --mem-reservation SIZE  host memory never reclaimed from the guest (default 0)\n"
    "  --mem-limit SIZE        most host memory the guest may hold (default: --mem)\n"
    "  --mem-shares N          its claim on memory under pressure (default 10 per MiB)\n"
    "  --share-domain NAME     share identical pages with VMs naming the same domain\n"
    "                          (default: only within the VM itself)\n"
    "\n"
    "Without --kernel/--elf, the default guest is booted: $DISCO_GUEST_DIR if set, else\n"
    "${DISCO_CACHE:-/var/cache/disco}/guest/default (Image, initramfs.cpio.gz), which\n"
    "scripts/boot.sh builds.\n"
    "\n"
    "The harts run on disco's own scheduler: $DISCO_WORKERS host worker threads\n"
    "(default: one per host CPU, at most one per hart).\n"
    "\n"
    "Console: guest output on stdout. On a terminal, input is raw; Ctrl-A x quits\n"
    "(exit status 0), Ctrl-A h shows help, Ctrl-A Ctrl-A sends Ctrl-A.\n"
    "Exit status: 0 on guest power-off or HTIF pass, the guest's failure code for a\n"
    "syscon/HTIF failure, 1 on errors, 2 on usage errors.\n";

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

unsigned cli_parse_cpus(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < 1 || v > VM_MAX_CPUS)
        cli_die_usage("run", "--cpus: '%s' is not a number between 1 and %u", s, VM_MAX_CPUS);
    return (unsigned)v;
}

uint64_t cli_parse_mem(const char *s)
{
    uint64_t v;
    if (vm_parse_size(s, &v) < 0)
        cli_die_usage("run", "--mem: '%s' is not a size (examples: 256M, 1G, 512)", s);
    if (v < VM_MIN_MEM)
        cli_die_usage("run", "--mem: %s is too small (at least %llu MiB)", s,
                  (unsigned long long)(VM_MIN_MEM >> 20));
    if (v > VM_MAX_MEM)
        cli_die_usage("run", "--mem: %s is too large (at most %llu GiB)", s,
                  (unsigned long long)(VM_MAX_MEM >> 30));
    if (v & 0xfff)
        cli_die_usage("run", "--mem: %s is not a whole number of 4 KiB pages", s);
    return v;
}

uint64_t cli_parse_mem_size(const char *cmd, const char *opt, const char *s)
{
    uint64_t v;
    if (vm_parse_size(s, &v) < 0)
        cli_die_usage(cmd, "%s: '%s' is not a size (examples: 64M, 1G, 512)", opt, s);
    if (v > VM_MAX_MEM)
        cli_die_usage(cmd, "%s: %s is too large (at most %llu GiB)", opt, s,
                      (unsigned long long)(VM_MAX_MEM >> 30));
    if (v & 0xfff)
        cli_die_usage(cmd, "%s: %s is not a whole number of 4 KiB pages", opt, s);
    return v;
}

unsigned cli_parse_shares(const char *cmd, const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = (s[0] >= '0' && s[0] <= '9') ? strtoul(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < 1 || v > CLI_MAX_MEM_SHARES)
        cli_die_usage(cmd, "--mem-shares: '%s' is not a number between 1 and %u", s,
                      CLI_MAX_MEM_SHARES);
    return (unsigned)v;
}

const char *cli_check_share_domain(const char *cmd, const char *s)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= MPOOL_DOMAIN_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        cli_die_usage(cmd, "--share-domain: '%.80s' is not a domain name (1..%u characters of "
                      "A-Z a-z 0-9 _ . -)", s, MPOOL_DOMAIN_NAME_MAX);
    return s;
}

int cli_default_guest(char *kernel, char *initrd, size_t size, char *why, size_t why_size)
{
    const char *dir = getenv("DISCO_GUEST_DIR");
    char dbuf[PATH_MAX];
    if (!dir || !*dir) {
        const char *cache = getenv("DISCO_CACHE");
        if (snprintf(dbuf, sizeof dbuf, "%s/guest/default",
                     cache && *cache ? cache : "/var/cache/disco") >= (int)sizeof dbuf) {
            snprintf(why, why_size, "$DISCO_CACHE is too long");
            return -1;
        }
        dir = dbuf;
    }
    if (snprintf(kernel, size, "%s/Image", dir) >= (int)size ||
        snprintf(initrd, size, "%s/initramfs.cpio.gz", dir) >= (int)size) {
        snprintf(why, why_size, "guest directory name too long: %s", dir);
        return -1;
    }
    if (!file_exists(kernel)) {
        snprintf(why, why_size,
                 "no --kernel given and no default guest in %s (run scripts/boot.sh to "
                 "build it, or pass --kernel)", dir);
        return -1;
    }
    if (!file_exists(initrd))
        initrd[0] = '\0';
    return 0;
}

static void drop_agent_bytes(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
}

/* The memory options against each other (they may come in any order). */
static void check_run_mem(const struct vm_config *c)
{
    unsigned long long mem = c->mem >> 20, res = c->mem_reservation >> 20,
                       lim = c->mem_limit >> 20;
    if (c->mem_reservation > c->mem)
        cli_die_usage("run", "--mem-reservation (%llu MiB) is larger than --mem (%llu MiB)", res,
                      mem);
    if (c->mem_limit > c->mem)
        cli_die_usage("run", "--mem-limit (%llu MiB) is larger than --mem (%llu MiB)", lim, mem);
    if (c->mem_limit && c->mem_limit < VM_MIN_MEM)
        cli_die_usage("run", "--mem-limit is below %llu MiB",
                      (unsigned long long)(VM_MIN_MEM >> 20));
    if (c->mem_limit && c->mem_reservation > c->mem_limit)
        cli_die_usage("run", "--mem-reservation (%llu MiB) is larger than --mem-limit (%llu MiB)",
                      res, lim);
}

static int cmd_run(int argc, char **argv)
{
    struct vm_config cfg = {.cpus = 1, .mem = VM_DEFAULT_MEM, .append = NULL};
    static const char *disks[VM_MAX_DISKS];
    bool append_set = false;
    unsigned ndisks = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(run_usage, stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            cli_die_usage("run", "unexpected argument '%s'", a);
        static const char *const opts[] = {
            "--cpus",   "--mem",  "--kernel", "--initrd",          "--append",
            "--disk",   "--bios", "--elf",    "--mem-reservation", "--mem-limit",
            "--mem-shares", "--share-domain",
        };
        const char *val = NULL;
        const char *opt = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            size_t l = strlen(opts[k]);
            if (!strncmp(a, opts[k], l) && (a[l] == '\0' || a[l] == '=')) {
                opt = opts[k];
                if (a[l] == '=') {
                    val = a + l + 1;
                } else {
                    if (i + 1 >= argc)
                        cli_die_usage("run", "%s needs a value", opt);
                    val = argv[++i];
                }
                break;
            }
        }
        if (!opt)
            cli_die_usage("run", "unknown option '%s'", a);
        if (!strcmp(opt, "--cpus")) {
            cfg.cpus = cli_parse_cpus(val);
        } else if (!strcmp(opt, "--mem")) {
            cfg.mem = cli_parse_mem(val);
        } else if (!strcmp(opt, "--mem-reservation")) {
            cfg.mem_reservation = cli_parse_mem_size("run", opt, val);
        } else if (!strcmp(opt, "--mem-limit")) {
            cfg.mem_limit = cli_parse_mem_size("run", opt, val);
        } else if (!strcmp(opt, "--mem-shares")) {
            cfg.mem_shares = cli_parse_shares("run", val);
        } else if (!strcmp(opt, "--share-domain")) {
            cfg.share_domain = cli_check_share_domain("run", val);
        } else if (!strcmp(opt, "--append")) {
            cfg.append = val;
            append_set = true;
        } else if (!*val) {
            cli_die_usage("run", "%s needs a file name", opt);
        } else if (!strcmp(opt, "--kernel")) {
            cfg.kernel = val;
        } else if (!strcmp(opt, "--initrd")) {
            cfg.initrd = val;
        } else if (!strcmp(opt, "--bios")) {
            cfg.bios = val;
        } else if (!strcmp(opt, "--elf")) {
            cfg.elf = val;
        } else if (!strcmp(opt, "--disk")) {
            if (ndisks == VM_MAX_DISKS)
                cli_die_usage("run", "too many --disk options (at most %u)", VM_MAX_DISKS);
            disks[ndisks++] = val;
        }
    }
    if (cfg.elf && (cfg.kernel || cfg.initrd))
        cli_die_usage("run", "--elf cannot be combined with --kernel or --initrd");
    check_run_mem(&cfg);
    if (!append_set && !cfg.elf)
        cfg.append = VM_DEFAULT_APPEND;
    cfg.disks = disks;
    cfg.ndisks = ndisks;

    /* The default guest. */
    static char kpath[PATH_MAX], ipath[PATH_MAX];
    if (!cfg.kernel && !cfg.elf) {
        char why[PATH_MAX + 128];
        if (cli_default_guest(kpath, ipath, sizeof kpath, why, sizeof why) < 0)
            die_runtime("%s", why);
        cfg.kernel = kpath;
        if (!cfg.initrd && ipath[0])
            cfg.initrd = ipath;
    }

    console_signals(NULL);   /* until the VM exists: just leave */
    console_setup(&cfg.console);
    /* The agent port (virtio-console) has nobody to talk to in the
     * foreground mode: drop the agent's greetings instead of mixing them
     * into the serial console. */
    cfg.agent_rx = drop_agent_bytes;
    struct disco_err err;
    err_clear(&err);
    struct vm *vm = vm_new(&cfg, &err);
    if (!vm)
        die_runtime("%s", err.msg[0] ? err.msg : "cannot create the VM");
    console_signals(vm);
    struct vm_exit ex;
    int rc = vm_run(vm, &ex, &err);
    console_signals(NULL);
    vm_free(vm);
    console_restore();
    if (rc < 0)
        die_runtime("%s", err.msg[0] ? err.msg : "the VM stopped with an error");
    if (ex.reason == VM_EXIT_STOPPED && console_stop_signal()) {
        fprintf(stderr, "disco: stopped by signal %d\n", console_stop_signal());
        return 128 + console_stop_signal();
    }
    if (rc != 0) {
        fprintf(stderr, "disco: guest %s with code %d\n",
                ex.reason == VM_EXIT_HTIF ? "test failed (HTIF)" : "reported failure", rc);
        return rc > 255 ? 255 : rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* The OCI runtime: `disco oci VERB` or the disco-oci link (podman
     * --runtime takes one path). */
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argc > 0 ? argv[0] : "");
    if (!strcmp(base, "disco-oci"))
        return oci_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "oci"))
        return oci_main(argc - 1, argv + 1);
    if (argc < 2) {
        fprintf(stderr, main_usage, verbs_usage);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        printf(main_usage, verbs_usage);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("disco %s\n", DISCO_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "daemon"))
        return daemon_main(argc - 2, argv + 2);
    cli_cmd = cmd;
    int rc = verbs_main(cmd, argc - 2, argv + 2);
    if (rc >= 0)
        return rc;
    fprintf(stderr, "disco: error: unknown command '%s' (see 'disco --help')\n", cmd);
    return EXIT_USAGE;
}

/* What the `disco` command's parts share: the version, exit statuses, the
 * option parsers of `disco run` (also used by `disco create`), the default
 * socket path and the client verbs. */
#ifndef DISCO_CLI_H
#define DISCO_CLI_H

#include <stdint.h>

#define DISCO_VERSION "0.1.0"
#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

#define DISCO_DEFAULT_SOCKET "/run/disco/disco.sock"

/* Print "disco: error: <message> (see 'disco CMD --help')" and exit 2. */
void cli_die_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* `disco run`'s --cpus / --mem parsers: exit 2 with a message on bad input. */
unsigned cli_parse_cpus(const char *s);
uint64_t cli_parse_mem(const char *s);
/* The memory controller options of `disco run` and `disco create` (cmd
 * names the command in usage errors, which exit 2):
 * --mem-limit / --mem-reservation take a size like --mem (whole 4 KiB
 * pages; 0 means none), --mem-shares N (1..CLI_MAX_MEM_SHARES),
 * --share-domain NAME (1..64 of A-Z a-z 0-9 _ . -, the rule of sharing
 * domains in mem/mpool.h). */
#define CLI_MAX_MEM_SHARES (1u << 30)
uint64_t cli_parse_mem_size(const char *cmd, const char *opt, const char *s);
unsigned cli_parse_shares(const char *cmd, const char *s);
const char *cli_check_share_domain(const char *cmd, const char *s);

/* The default guest's kernel (and initrd, "" when it has none) as
 * `disco run` finds it: $DISCO_GUEST_DIR, else
 * ${DISCO_CACHE:-/var/cache/disco}/guest/default. 0, or -1 with *why set. */
int cli_default_guest(char *kernel, char *initrd, size_t size, char *why, size_t why_size);

/* The verbs that talk to the daemon (verbs.c): `disco VERB args...`.
 * Returns the exit status, or -1 if VERB is not a client verb. */
int verbs_main(const char *verb, int argc, char **argv);
/* The OCI runtime command line (oci.c): argv[0] is the program name
 * ("disco-oci" or "oci"), then runc-style global options and a verb.
 * Returns the exit status. */
int oci_main(int argc, char **argv);

/* Help text lines for the client verbs. */
extern const char verbs_usage[];

#endif

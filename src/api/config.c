/* Guest configs: JSON <-> struct disco_vm_config, checks, and saving.
 *
 * Parsing is strict (unknown keys and wrong types are errors naming the
 * key) but partial: name and kernel may be missing, because the CLI fills
 * them from its options. disco_create (config_normalise) is where they
 * become required and where defaults are filled in, so a saved config and
 * disco_get_config always show the effective values. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_priv.h"
#include "mem/mpool.h"
#include "vmm/memctl.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

#define APPEND_MAX 4096u
#define PATH_MAX_LEN 4096u
#define CONFIG_FILE_MAX (1u << 20)
#define MAX_CAP (100u * SCHED_MAX_WORKERS)   /* what vm_new accepts */
/* Far above any sensible share count (ESX "high" is 20 per MiB: 1.3 M for
 * a 64 GiB guest), low enough that the controller's arithmetic on it can
 * never overflow. */
#define MAX_MEM_SHARES (1u << 30)

bool config_name_ok(const char *name)
{
    if (!name || !name[0] || strlen(name) > DISCO_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (p == name || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

/* The rule of mpool_domain (mem/mpool.h): 1..64 of [A-Za-z0-9_.-]. */
bool config_share_domain_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 1 || len > MPOOL_DOMAIN_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

static unsigned long long mib(uint64_t bytes)
{
    return (unsigned long long)(bytes >> 20);
}

/* reservation <= limit <= memory, limit >= VM_MIN_MEM (0: none / no
 * limit), whole pages; a valid domain. mem 0 means the default. */
static int check_mem_values(const struct disco_vm_config *c, struct disco_err *err)
{
    uint64_t mem = c->mem ? c->mem : VM_DEFAULT_MEM;
    if (c->mem_reservation & 0xfff)
        return err_set(err, -EINVAL, "config: bad 'mem_reservation' %llu bytes (whole 4 KiB "
                       "pages)", (unsigned long long)c->mem_reservation);
    if (c->mem_limit & 0xfff)
        return err_set(err, -EINVAL, "config: bad 'mem_limit' %llu bytes (whole 4 KiB pages)",
                       (unsigned long long)c->mem_limit);
    if (c->mem_reservation > mem)
        return err_set(err, -EINVAL, "config: 'mem_reservation' (%llu MiB) is larger than "
                       "'memory' (%llu MiB)", mib(c->mem_reservation), mib(mem));
    if (c->mem_limit > mem)
        return err_set(err, -EINVAL, "config: 'mem_limit' (%llu MiB) is larger than 'memory' "
                       "(%llu MiB)", mib(c->mem_limit), mib(mem));
    if (c->mem_limit && c->mem_limit < VM_MIN_MEM)
        return err_set(err, -EINVAL, "config: 'mem_limit' (%llu KiB) is below %llu MiB",
                       (unsigned long long)(c->mem_limit >> 10), mib(VM_MIN_MEM));
    if (c->mem_limit && c->mem_reservation > c->mem_limit)
        return err_set(err, -EINVAL, "config: 'mem_reservation' (%llu MiB) is larger than "
                       "'mem_limit' (%llu MiB)", mib(c->mem_reservation), mib(c->mem_limit));
    if (c->mem_shares > MAX_MEM_SHARES)
        return err_set(err, -EINVAL, "config: bad 'mem_shares' %u (1..%u)", c->mem_shares,
                       MAX_MEM_SHARES);
    if (c->share_domain && !config_share_domain_ok(c->share_domain))
        return err_set(err, -EINVAL, "config: bad 'share_domain' '%.80s' (1..%u characters of "
                       "A-Z a-z 0-9 _ . -)", c->share_domain, MPOOL_DOMAIN_NAME_MAX);
    return 0;
}

static int check_path(const char *key, const char *p, struct disco_err *err)
{
    if (!p)
        return 0;
    if (p[0] != '/')
        return err_set(err, -EINVAL, "config: '%s' must be an absolute path, not '%s'", key, p);
    if (strlen(p) >= PATH_MAX_LEN)
        return err_set(err, -EINVAL, "config: '%s' is too long", key);
    return 0;
}

/* The value checks shared by parse (fields present) and normalise (all);
 * zero / NULL means "default" everywhere. */
static int check_values(const struct disco_vm_config *c, struct disco_err *err)
{
    int rc;
    if (c->name && !config_name_ok(c->name))
        return err_set(err, -EINVAL,
                       "config: bad 'name' '%s' (1..%u characters of A-Z a-z 0-9 _ . -, "
                       "starting with a letter or digit)", c->name, DISCO_NAME_MAX);
    if (c->cpus > VM_MAX_CPUS)
        return err_set(err, -EINVAL, "config: bad 'cpus' %u (1..%u)", c->cpus, VM_MAX_CPUS);
    if (c->mem && (c->mem < VM_MIN_MEM || c->mem > VM_MAX_MEM || (c->mem & 0xfff)))
        return err_set(err, -EINVAL,
                       "config: bad 'memory' %llu bytes (%llu MiB..%llu GiB, whole 4 KiB pages)",
                       (unsigned long long)c->mem, (unsigned long long)(VM_MIN_MEM >> 20),
                       (unsigned long long)(VM_MAX_MEM >> 30));
    if ((rc = check_path("kernel", c->kernel, err)) < 0 ||
        (rc = check_path("initrd", c->initrd, err)) < 0 ||
        (rc = check_path("bios", c->bios, err)) < 0)
        return rc;
    if (c->append && strlen(c->append) > APPEND_MAX)
        return err_set(err, -EINVAL, "config: 'append' is longer than %u bytes", APPEND_MAX);
    if (c->ndisks > DISCO_MAX_DISKS)
        return err_set(err, -EINVAL, "config: too many 'disks' (%u, at most %u)", c->ndisks,
                       DISCO_MAX_DISKS);
    for (unsigned i = 0; i < c->ndisks; i++) {
        if (!c->disks[i])
            return err_set(err, -EINVAL, "config: 'disks'[%u] is missing", i);
        if ((rc = check_path("disks", c->disks[i], err)) < 0)
            return rc;
    }
    if (c->weight > SCHED_MAX_WEIGHT)
        return err_set(err, -EINVAL, "config: bad 'weight' %u (1..%u)", c->weight,
                       SCHED_MAX_WEIGHT);
    if (c->cap > MAX_CAP)
        return err_set(err, -EINVAL, "config: bad 'cap' %u (0..%u percent of one host CPU)",
                       c->cap, MAX_CAP);
    return check_mem_values(c, err);
}

/* Copy n strings (NULL ones stay NULL) into one malloc'd block, pointing
 * *dst[i] at each copy, so a config's owner frees one pointer. */
static int pack_strings(size_t n, const char *const src[], const char **const dst[],
                        void **storage, struct disco_err *err)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += src[i] ? strlen(src[i]) + 1 : 0;
    char *blk = malloc(total), *p = blk;
    if (!blk)
        return err_set(err, -ENOMEM, "out of memory for a config");
    for (size_t i = 0; i < n; i++) {
        *dst[i] = NULL;
        if (src[i]) {
            size_t l = strlen(src[i]) + 1;
            memcpy(p, src[i], l);
            *dst[i] = p;
            p += l;
        }
    }
    *storage = blk;
    return 0;
}

/* Deep copy with every string in one malloc'd block (so the caller frees
 * one pointer, as disco_vm_config_parse promises). */
static int config_pack(const struct disco_vm_config *in, struct disco_vm_config *out,
                       void **storage, struct disco_err *err)
{
    enum { NSTR = 6 };
    const char *src[NSTR + DISCO_MAX_DISKS] = {in->name, in->kernel, in->initrd,
                                               in->append, in->bios, in->share_domain};
    const char **dst[NSTR + DISCO_MAX_DISKS] = {&out->name,   &out->kernel, &out->initrd,
                                                &out->append, &out->bios,   &out->share_domain};
    *out = *in;
    for (unsigned i = 0; i < DISCO_MAX_DISKS; i++) {
        src[NSTR + i] = i < in->ndisks ? in->disks[i] : NULL;
        dst[NSTR + i] = &out->disks[i];
    }
    return pack_strings(NSTR + DISCO_MAX_DISKS, src, dst, storage, err);
}

int config_normalise(const struct disco_vm_config *in, struct disco_vm_config *out,
                     void **storage, struct disco_err *err)
{
    int rc;
    if (!in->name)
        return err_set(err, -EINVAL, "config: 'name' is missing");
    if (!in->kernel)
        return err_set(err, -EINVAL, "config: 'kernel' is missing");
    if ((rc = check_values(in, err)) < 0)
        return rc;
    struct disco_vm_config c = *in;
    if (!c.cpus)
        c.cpus = 1;
    if (!c.mem)
        c.mem = VM_DEFAULT_MEM;
    if (!c.append)
        c.append = VM_DEFAULT_APPEND;
    if (!c.weight)
        c.weight = SCHED_DEFAULT_WEIGHT;
    /* Shares like weight: the effective number is saved (ESX "normal").
     * The limit stays 0 = none: it then follows 'memory'. */
    if (!c.mem_shares)
        c.mem_shares = (unsigned)(MEMCTL_SHARES_PER_MIB * (c.mem >> 20));
    return config_pack(&c, out, storage, err);
}

/* ---- JSON -> config ------------------------------------------------------------- */

static const char *jtype(struct json_object *v)
{
    return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

static int want_uint(const char *key, struct json_object *v, uint64_t max, uint64_t *out,
                     struct disco_err *err)
{
    if (!json_object_is_type(v, json_type_int))
        return err_set(err, -EINVAL, "config: '%s' must be an integer, not %s", key, jtype(v));
    int64_t x = json_object_get_int64(v);
    /* json-c saturates at INT64_MAX; past that it is out of range anyway. */
    if (x < 0 || (uint64_t)x > max)
        return err_set(err, -EINVAL, "config: '%s' is out of range (0..%llu)", key,
                       (unsigned long long)max);
    *out = (uint64_t)x;
    return 0;
}

/* nullable: JSON null means "not set" (the default). */
static int want_str(const char *key, struct json_object *v, bool nullable, const char **out,
                    struct disco_err *err)
{
    if (!v && nullable) {
        *out = NULL;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return err_set(err, -EINVAL, "config: '%s' must be a string%s, not %s", key,
                       nullable ? " or null" : "", jtype(v));
    const char *s = json_object_get_string(v);
    if (strlen(s) != (size_t)json_object_get_string_len(v))
        return err_set(err, -EINVAL, "config: '%s' contains a NUL byte", key);
    if (!s[0] && strcmp(key, "append") != 0)
        return err_set(err, -EINVAL, "config: '%s' is empty", key);
    *out = s;
    return 0;
}

/* A size: a string like --mem ("512M", "1G"; a bare number is MiB) or an
 * integer number of MiB. 'memory' must not be 0; the others may (0: none). */
static int parse_size(const char *key, struct json_object *v, bool zero_ok, uint64_t *out,
                      struct disco_err *err)
{
    if (json_object_is_type(v, json_type_int)) {
        uint64_t mib;
        int rc = want_uint(key, v, VM_MAX_MEM >> 20, &mib, err);
        if (rc < 0)
            return rc;
        *out = mib << 20;
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (vm_parse_size(s, out) < 0)
            return err_set(err, -EINVAL,
                           "config: bad '%s' '%.64s' (a size like \"512M\", \"1G\"; a bare "
                           "number is MiB)", key, s);
    } else {
        return err_set(err, -EINVAL, "config: '%s' must be a size string or an integer "
                       "number of MiB, not %s", key, jtype(v));
    }
    if (!*out && !zero_ok)
        return err_set(err, -EINVAL, "config: '%s' must not be 0", key);
    return 0;
}

static int parse_disks(struct json_object *v, struct disco_vm_config *c, struct disco_err *err)
{
    if (!json_object_is_type(v, json_type_array))
        return err_set(err, -EINVAL, "config: 'disks' must be an array of paths, not %s",
                       jtype(v));
    size_t n = json_object_array_length(v);
    if (n > DISCO_MAX_DISKS)
        return err_set(err, -EINVAL, "config: too many 'disks' (%zu, at most %u)", n,
                       DISCO_MAX_DISKS);
    for (size_t i = 0; i < n; i++) {
        int rc = want_str("disks", json_object_array_get_idx(v, i), false, &c->disks[i], err);
        if (rc < 0)
            return rc;
    }
    c->ndisks = (unsigned)n;
    return 0;
}

static int parse_obj(struct json_object *root, struct disco_vm_config *c, struct disco_err *err)
{
    int rc = 0;
    uint64_t u;
    memset(c, 0, sizeof *c);
    if (!json_object_is_type(root, json_type_object))
        return err_set(err, -EINVAL, "config: expected a JSON object, not %s", jtype(root));
    json_object_object_foreach(root, key, v) {
        if (!strcmp(key, "name")) {
            rc = want_str(key, v, false, &c->name, err);
        } else if (!strcmp(key, "cpus")) {
            if ((rc = want_uint(key, v, VM_MAX_CPUS, &u, err)) == 0 && u == 0)
                rc = err_set(err, -EINVAL, "config: bad 'cpus' 0 (1..%u)", VM_MAX_CPUS);
            c->cpus = (unsigned)u;
        } else if (!strcmp(key, "memory")) {
            rc = parse_size(key, v, false, &c->mem, err);
        } else if (!strcmp(key, "mem_reservation")) {
            rc = parse_size(key, v, true, &c->mem_reservation, err);
        } else if (!strcmp(key, "mem_limit")) {
            rc = parse_size(key, v, true, &c->mem_limit, err);
        } else if (!strcmp(key, "mem_shares")) {
            if ((rc = want_uint(key, v, MAX_MEM_SHARES, &u, err)) == 0 && u == 0)
                rc = err_set(err, -EINVAL, "config: bad 'mem_shares' 0 (1..%u)", MAX_MEM_SHARES);
            c->mem_shares = (unsigned)u;
        } else if (!strcmp(key, "share_domain")) {
            rc = want_str(key, v, true, &c->share_domain, err);
        } else if (!strcmp(key, "kernel")) {
            rc = want_str(key, v, false, &c->kernel, err);
        } else if (!strcmp(key, "initrd")) {
            rc = want_str(key, v, true, &c->initrd, err);
        } else if (!strcmp(key, "append")) {
            rc = want_str(key, v, true, &c->append, err);
        } else if (!strcmp(key, "bios")) {
            rc = want_str(key, v, true, &c->bios, err);
        } else if (!strcmp(key, "disks")) {
            rc = parse_disks(v, c, err);
        } else if (!strcmp(key, "weight")) {
            if ((rc = want_uint(key, v, SCHED_MAX_WEIGHT, &u, err)) == 0 && u == 0)
                rc = err_set(err, -EINVAL, "config: bad 'weight' 0 (1..%u)", SCHED_MAX_WEIGHT);
            c->weight = (unsigned)u;
        } else if (!strcmp(key, "cap")) {
            rc = want_uint(key, v, MAX_CAP, &u, err);
            c->cap = (unsigned)u;
        } else if (!strcmp(key, "autostart")) {
            if (!json_object_is_type(v, json_type_boolean))
                rc = err_set(err, -EINVAL, "config: 'autostart' must be true or false, not %s",
                             jtype(v));
            else
                c->autostart = json_object_get_boolean(v);
        } else if (!strcmp(key, "kind")) {
            /* Optional: configs without it are VMs (they predate containers). */
            if (!json_object_is_type(v, json_type_string))
                rc = err_set(err, -EINVAL, "config: 'kind' must be \"vm\" or \"container\", "
                             "not %s", jtype(v));
            else if (!strcmp(json_object_get_string(v), "container"))
                rc = err_set(err, -EINVAL, "config: this is a container config (\"kind\": "
                             "\"container\"), not a VM's");
            else if (strcmp(json_object_get_string(v), "vm"))
                rc = err_set(err, -EINVAL, "config: bad 'kind' '%.32s' (\"vm\" or "
                             "\"container\")", json_object_get_string(v));
        } else {
            rc = err_set(err, -EINVAL, "config: unknown key '%s'", key);
        }
        if (rc < 0)
            return rc;
    }
    return check_values(c, err);
}

/* Strict JSON text -> object: malformed text and trailing garbage are
 * errors with the offset. *root: the object (json_object_put it). */
static int parse_json_text(const char *json, struct json_object **out, struct disco_err *err)
{
    *out = NULL;
    if (!json)
        return err_set(err, -EINVAL, "config: no JSON text");
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return err_set(err, -ENOMEM, "out of memory for the JSON parser");
    size_t len = strlen(json);
    struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    int rc = 0;
    if (jerr == json_tokener_continue) {
        rc = err_set(err, -EINVAL, "config: malformed JSON: unexpected end of input");
    } else if (jerr != json_tokener_success) {
        rc = err_set(err, -EINVAL, "config: malformed JSON at offset %zu: %s",
                     json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
    } else {
        /* Only whitespace may follow the object. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len && rc == 0; i++)
            if (!strchr(" \t\r\n", json[i]))
                rc = err_set(err, -EINVAL, "config: malformed JSON: trailing text at offset %zu",
                             i);
    }
    json_tokener_free(tok);
    if (rc < 0)
        json_object_put(root);
    else
        *out = root;
    return rc;
}

int disco_vm_config_parse(const char *json, struct disco_vm_config *cfg, void **storage,
                          struct disco_err *err)
{
    err_clear(err);
    *storage = NULL;
    memset(cfg, 0, sizeof *cfg);
    struct json_object *root;
    int rc = parse_json_text(json, &root, err);
    struct disco_vm_config c;
    if (rc == 0 && (rc = parse_obj(root, &c, err)) == 0)
        rc = config_pack(&c, cfg, storage, err);
    json_object_put(root);
    if (rc < 0)
        memset(cfg, 0, sizeof *cfg);
    return rc;
}

/* The text of a config file (at most CONFIG_FILE_MAX bytes): *text
 * malloc'd and NUL-terminated. */
static int read_config_file(const char *path, char **text, struct disco_err *err)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return err_errno(err, e, "%s", path);
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
        close(fd);
        return err_set(err, -EINVAL, "%s: not a regular file of at most %u bytes", path,
                       CONFIG_FILE_MAX);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return err_set(err, -ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *text = buf;
    return 0;
}

/* Prefix an error with the file it came from. */
static int in_file(const char *path, int rc, struct disco_err *err)
{
    if (rc < 0 && err) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        err_set(err, rc, "%s: %.*s", path, (int)(sizeof msg - 1), msg);
    }
    return rc;
}

int disco_vm_config_load(const char *path, struct disco_vm_config *cfg, void **storage,
                         struct disco_err *err)
{
    err_clear(err);
    *storage = NULL;
    memset(cfg, 0, sizeof *cfg);
    char *buf;
    int rc = read_config_file(path, &buf, err);
    if (rc < 0)
        return rc;
    rc = disco_vm_config_parse(buf, cfg, storage, err);
    free(buf);
    return in_file(path, rc, err);
}

int config_kind(const char *json, enum disco_kind *kind, struct disco_err *err)
{
    struct json_object *root, *v;
    int rc = parse_json_text(json, &root, err);
    if (rc < 0)
        return rc;
    *kind = DISCO_KIND_VM;
    if (json_object_is_type(root, json_type_object) &&
        json_object_object_get_ex(root, "kind", &v) && json_object_is_type(v, json_type_string) &&
        !strcmp(json_object_get_string(v), "container"))
        *kind = DISCO_KIND_CONTAINER;
    json_object_put(root);
    return 0;
}

int config_load_any(const char *path, enum disco_kind *kind, struct disco_vm_config *vm,
                    struct disco_ct_config *ct, void **storage, struct disco_err *err)
{
    *storage = NULL;
    memset(vm, 0, sizeof *vm);
    memset(ct, 0, sizeof *ct);
    char *buf;
    int rc = read_config_file(path, &buf, err);
    if (rc < 0)
        return rc;
    if ((rc = config_kind(buf, kind, err)) == 0) {
        if (*kind == DISCO_KIND_CONTAINER)
            rc = disco_ct_config_parse(buf, ct, storage, err);
        else
            rc = disco_vm_config_parse(buf, vm, storage, err);
    }
    free(buf);
    return in_file(path, rc, err);
}

/* ---- config -> JSON ------------------------------------------------------------- */

static struct json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;   /* NULL is JSON null */
}

/* A size in the syntax --mem takes, in the largest unit that is exact. */
static struct json_object *jsize(uint64_t bytes)
{
    char m[32];
    if (!(bytes & ((1ull << 30) - 1)) && bytes)
        snprintf(m, sizeof m, "%lluG", (unsigned long long)(bytes >> 30));
    else if (!(bytes & ((1ull << 20) - 1)))
        snprintf(m, sizeof m, "%lluM", (unsigned long long)(bytes >> 20));
    else
        snprintf(m, sizeof m, "%lluK", (unsigned long long)(bytes >> 10));
    return json_object_new_string(m);
}

static struct json_object *config_obj(const struct disco_vm_config *c)
{
    struct json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (c->name)
        json_object_object_add(o, "name", jstr(c->name));
    if (c->cpus)
        json_object_object_add(o, "cpus", json_object_new_int64(c->cpus));
    if (c->mem)
        json_object_object_add(o, "memory", jsize(c->mem));
    if (c->kernel)
        json_object_object_add(o, "kernel", jstr(c->kernel));
    json_object_object_add(o, "initrd", jstr(c->initrd));
    json_object_object_add(o, "append", jstr(c->append));
    struct json_object *d = json_object_new_array();
    for (unsigned i = 0; d && i < c->ndisks && i < DISCO_MAX_DISKS; i++)
        json_object_array_add(d, jstr(c->disks[i]));
    json_object_object_add(o, "disks", d);
    json_object_object_add(o, "bios", jstr(c->bios));
    if (c->weight)
        json_object_object_add(o, "weight", json_object_new_int64(c->weight));
    json_object_object_add(o, "cap", json_object_new_int64(c->cap));
    json_object_object_add(o, "autostart", json_object_new_boolean(c->autostart));
    /* 0 is "none" / "the default" for these: left out rather than written
     * as a size of 0. */
    if (c->mem_reservation)
        json_object_object_add(o, "mem_reservation", jsize(c->mem_reservation));
    if (c->mem_limit)
        json_object_object_add(o, "mem_limit", jsize(c->mem_limit));
    if (c->mem_shares)
        json_object_object_add(o, "mem_shares", json_object_new_int64(c->mem_shares));
    json_object_object_add(o, "share_domain", jstr(c->share_domain));
    return o;
}

char *disco_vm_config_to_json(const struct disco_vm_config *cfg)
{
    struct json_object *o = config_obj(cfg);
    if (!o)
        return NULL;
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *r = s ? strdup(s) : NULL;
    json_object_put(o);
    return r;
}

static int save_text(const char *dir, char *text, struct disco_err *err);

int config_save(const char *dir, const struct disco_vm_config *cfg, struct disco_err *err)
{
    char *text = disco_vm_config_to_json(cfg);
    if (!text)
        return err_set(err, -ENOMEM, "out of memory for a config");
    return save_text(dir, text, err);
}

int ct_config_save(const char *dir, const struct disco_ct_config *cfg, struct disco_err *err)
{
    char *text = disco_ct_config_to_json(cfg);
    if (!text)
        return err_set(err, -ENOMEM, "out of memory for a config");
    return save_text(dir, text, err);
}

/* Write text (consumed) to <dir>/config.json atomically. */
static int save_text(const char *dir, char *text, struct disco_err *err)
{
    char path[PATH_MAX_LEN + 32], tmp[PATH_MAX_LEN + 32];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(tmp, sizeof tmp, "%s/config.json.tmp", dir);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(text);
        return err_errno(err, errno, "%s", tmp);
    }
    size_t len = strlen(text), done = 0;
    while (done < len && rc == 0) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = err_errno(err, errno, "writing %s", tmp);
        else
            done += (size_t)w;
    }
    if (rc == 0 && write(fd, "\n", 1) != 1)
        rc = err_errno(err, errno, "writing %s", tmp);
    /* fsync before rename: after a crash the file is the old or the new
     * config, never a truncated one. */
    if (rc == 0 && fsync(fd) < 0)
        rc = err_errno(err, errno, "fsync %s", tmp);
    close(fd);
    free(text);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_errno(err, errno, "rename %s to %s", tmp, path);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* ---- container configs ------------------------------------------------------------ */

#define CT_ENV_MAX 32768u          /* one argv / env string */
#define CT_MAX_CPU_CAP (100u * 1024u)
#define CT_MAX_PIDS 4194304u      /* the kernel's pid_max limit */
#define CT_MIN_MEM_LIMIT (4ull << 20)
#define CT_USERNS_SIZE 65536u
#define CT_DEFAULT_USERNS_BASE 100000u

static const char *const ct_default_argv[] = {"/bin/sh", NULL};
static const char *const ct_default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "TERM=xterm",
    NULL,
};

/* A network interface name as the kernel takes it: 1..15 bytes, no '/',
 * no whitespace, not "." or "..". */
bool config_ifname_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

static bool hostname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.' && c != '_')
            return false;
    }
    return true;
}

/* "A.B.C.D" or an IPv6 address; with_prefix: "/N" required. */
static bool addr_ok(const char *s, bool with_prefix)
{
    char a[INET6_ADDRSTRLEN + 8];
    if (strlen(s) >= sizeof a)
        return false;
    snprintf(a, sizeof a, "%s", s);
    char *slash = strchr(a, '/');
    if (with_prefix != (slash != NULL))
        return false;
    unsigned max = 32;
    if (slash)
        *slash = '\0';
    unsigned char buf[16];
    if (inet_pton(AF_INET, a, buf) != 1) {
        if (inet_pton(AF_INET6, a, buf) != 1)
            return false;
        max = 128;
    }
    if (slash) {
        const char *p = slash + 1;
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        unsigned long n = strtoul(p, &end, 10);
        if (*end || n > max)
            return false;
    }
    return true;
}

/* The checks of a (possibly partial) container config; normalise adds
 * the required fields. */
static int ct_check_values(const struct disco_ct_config *c, struct disco_err *err)
{
    int rc;
    if (c->name && !config_name_ok(c->name))
        return err_set(err, -EINVAL,
                       "config: bad 'name' '%s' (1..%u characters of A-Z a-z 0-9 _ . -, "
                       "starting with a letter or digit)", c->name, DISCO_NAME_MAX);
    if ((rc = check_path("rootfs", c->rootfs, err)) < 0 || (rc = check_path("cwd", c->cwd, err)) < 0)
        return rc;
    if (c->rootfs_lower) {
        /* A colon-separated list of absolute directories: overlayfs's
         * lowerdir syntax, so none may hold ':' or ','. */
        if (strlen(c->rootfs_lower) >= PATH_MAX_LEN)
            return err_set(err, -EINVAL, "config: 'rootfs_lower' is too long");
        const char *p = c->rootfs_lower;
        for (;;) {
            if (*p != '/')
                return err_set(err, -EINVAL, "config: 'rootfs_lower' must be absolute "
                               "directories separated by ':', not '%.200s'", c->rootfs_lower);
            p += strcspn(p, ":,");
            if (*p == ',')
                return err_set(err, -EINVAL, "config: 'rootfs_lower' must not contain ','");
            if (!*p)
                break;
            p++;
        }
    }
    for (unsigned i = 0; i < DISCO_CT_MAX_ARGS && c->argv[i]; i++)
        if (strlen(c->argv[i]) > CT_ENV_MAX)
            return err_set(err, -EINVAL, "config: 'argv'[%u] is longer than %u bytes", i,
                           CT_ENV_MAX);
    if (c->argv[DISCO_CT_MAX_ARGS] || c->env[DISCO_CT_MAX_ARGS])
        return err_set(err, -EINVAL, "config: 'argv' and 'env' take at most %u strings",
                       DISCO_CT_MAX_ARGS);
    for (unsigned i = 0; i < DISCO_CT_MAX_ARGS && c->env[i]; i++) {
        const char *eq = strchr(c->env[i], '=');
        if (!eq || eq == c->env[i] || strlen(c->env[i]) > CT_ENV_MAX)
            return err_set(err, -EINVAL, "config: bad 'env' entry '%.80s' (KEY=value)",
                           c->env[i]);
    }
    if (c->hostname && !hostname_ok(c->hostname))
        return err_set(err, -EINVAL, "config: bad 'hostname' '%.80s' (1..64 characters of "
                       "A-Z a-z 0-9 - . _)", c->hostname);
    if (c->mem_limit && (c->mem_limit < CT_MIN_MEM_LIMIT || (c->mem_limit & 0xfff)))
        return err_set(err, -EINVAL, "config: bad 'mem_limit' %llu bytes (0: none, else at "
                       "least %llu MiB in whole 4 KiB pages)", (unsigned long long)c->mem_limit,
                       (unsigned long long)(CT_MIN_MEM_LIMIT >> 20));
    if (c->cpu_weight > 10000)
        return err_set(err, -EINVAL, "config: bad 'cpu_weight' %u (1..10000)", c->cpu_weight);
    if (c->cpu_cap > CT_MAX_CPU_CAP)
        return err_set(err, -EINVAL, "config: bad 'cpu_cap' %u (0..%u percent of one host CPU)",
                       c->cpu_cap, CT_MAX_CPU_CAP);
    if (c->pids_max > CT_MAX_PIDS)
        return err_set(err, -EINVAL, "config: bad 'pids_max' %u (0..%u)", c->pids_max,
                       CT_MAX_PIDS);
    if (c->io_weight && (c->io_weight < 10 || c->io_weight > 1000))
        return err_set(err, -EINVAL, "config: bad 'io_weight' %u (10..1000)", c->io_weight);
    if (c->bridge && !config_ifname_ok(c->bridge))
        return err_set(err, -EINVAL, "config: bad 'bridge' '%.80s' (an interface name of 1..15 "
                       "characters)", c->bridge);
    if (c->address && !addr_ok(c->address, true))
        return err_set(err, -EINVAL, "config: bad 'address' '%.80s' (an address with a prefix "
                       "length, e.g. 10.88.0.2/16)", c->address);
    if (c->gateway && !addr_ok(c->gateway, false))
        return err_set(err, -EINVAL, "config: bad 'gateway' '%.80s' (an address, e.g. "
                       "10.88.0.1)", c->gateway);
    if ((c->address || c->gateway) && !c->bridge)
        return err_set(err, -EINVAL, "config: '%s' needs a 'bridge'",
                       c->address ? "address" : "gateway");
    if (c->gateway && !c->address)
        return err_set(err, -EINVAL, "config: 'gateway' needs an 'address'");
    if (c->userns_base > UINT32_MAX - CT_USERNS_SIZE)
        return err_set(err, -EINVAL, "config: bad 'userns_base' %u (0..%u)", c->userns_base,
                       UINT32_MAX - CT_USERNS_SIZE);
    return 0;
}

/* Deep copy with every string in one malloc'd block. */
static int ct_config_pack(const struct disco_ct_config *in, struct disco_ct_config *out,
                          void **storage, struct disco_err *err)
{
    enum { NSTR = 8, NV = DISCO_CT_MAX_ARGS + 1, N = NSTR + 2 * NV };
    const char *src[N] = {in->name,     in->rootfs, in->rootfs_lower, in->cwd,
                          in->hostname, in->bridge, in->address,      in->gateway};
    const char **dst[N] = {&out->name,     &out->rootfs, &out->rootfs_lower, &out->cwd,
                           &out->hostname, &out->bridge, &out->address,      &out->gateway};
    *out = *in;
    /* argv and env end at their first NULL, and always by the last slot. */
    bool end_argv = false, end_env = false;
    for (unsigned i = 0; i < NV; i++) {
        end_argv = end_argv || i == DISCO_CT_MAX_ARGS || !in->argv[i];
        end_env = end_env || i == DISCO_CT_MAX_ARGS || !in->env[i];
        src[NSTR + i] = end_argv ? NULL : in->argv[i];
        dst[NSTR + i] = &out->argv[i];
        src[NSTR + NV + i] = end_env ? NULL : in->env[i];
        dst[NSTR + NV + i] = &out->env[i];
    }
    return pack_strings(N, src, dst, storage, err);
}

int ct_config_normalise(const struct disco_ct_config *in, struct disco_ct_config *out,
                        void **storage, struct disco_err *err)
{
    int rc;
    if (!in->name)
        return err_set(err, -EINVAL, "config: 'name' is missing");
    if (!in->rootfs)
        return err_set(err, -EINVAL, "config: 'rootfs' is missing");
    if ((rc = ct_check_values(in, err)) < 0)
        return rc;
    struct disco_ct_config c = *in;
    if (!c.argv[0])
        for (unsigned i = 0; i <= DISCO_CT_MAX_ARGS; i++)
            c.argv[i] = i < sizeof ct_default_argv / sizeof *ct_default_argv ? ct_default_argv[i]
                                                                              : NULL;
    if (!c.env[0])
        for (unsigned i = 0; i <= DISCO_CT_MAX_ARGS; i++)
            c.env[i] = i < sizeof ct_default_env / sizeof *ct_default_env ? ct_default_env[i]
                                                                           : NULL;
    if (!c.cwd)
        c.cwd = "/";
    if (!c.hostname)
        c.hostname = hostname_ok(c.name) ? c.name : "container";
    if (c.userns && !c.userns_base)
        c.userns_base = CT_DEFAULT_USERNS_BASE;
    return ct_config_pack(&c, out, storage, err);
}

static int want_bool(const char *key, struct json_object *v, bool *out, struct disco_err *err)
{
    if (!json_object_is_type(v, json_type_boolean))
        return err_set(err, -EINVAL, "config: '%s' must be true or false, not %s", key, jtype(v));
    *out = json_object_get_boolean(v);
    return 0;
}

static int want_str_array(const char *key, struct json_object *v, const char **out,
                          struct disco_err *err)
{
    if (!json_object_is_type(v, json_type_array))
        return err_set(err, -EINVAL, "config: '%s' must be an array of strings, not %s", key,
                       jtype(v));
    size_t n = json_object_array_length(v);
    if (n > DISCO_CT_MAX_ARGS)
        return err_set(err, -EINVAL, "config: too many '%s' (%zu, at most %u)", key, n,
                       DISCO_CT_MAX_ARGS);
    for (size_t i = 0; i < n; i++) {
        int rc = want_str(key, json_object_array_get_idx(v, i), false, &out[i], err);
        if (rc < 0)
            return rc;
    }
    out[n] = NULL;
    return 0;
}

static int ct_parse_obj(struct json_object *root, struct disco_ct_config *c,
                        struct disco_err *err)
{
    int rc = 0;
    uint64_t u;
    memset(c, 0, sizeof *c);
    if (!json_object_is_type(root, json_type_object))
        return err_set(err, -EINVAL, "config: expected a JSON object, not %s", jtype(root));
    json_object_object_foreach(root, key, v) {
        if (!strcmp(key, "kind")) {
            if (!json_object_is_type(v, json_type_string) ||
                strcmp(json_object_get_string(v), "container"))
                rc = err_set(err, -EINVAL, "config: 'kind' of a container config must be "
                             "\"container\"");
        } else if (!strcmp(key, "name")) {
            rc = want_str(key, v, false, &c->name, err);
        } else if (!strcmp(key, "rootfs")) {
            rc = want_str(key, v, false, &c->rootfs, err);
        } else if (!strcmp(key, "rootfs_lower")) {
            rc = want_str(key, v, true, &c->rootfs_lower, err);
        } else if (!strcmp(key, "argv")) {
            rc = want_str_array(key, v, c->argv, err);
        } else if (!strcmp(key, "env")) {
            rc = want_str_array(key, v, c->env, err);
        } else if (!strcmp(key, "cwd")) {
            rc = want_str(key, v, true, &c->cwd, err);
        } else if (!strcmp(key, "hostname")) {
            rc = want_str(key, v, true, &c->hostname, err);
        } else if (!strcmp(key, "terminal")) {
            rc = want_bool(key, v, &c->terminal, err);
        } else if (!strcmp(key, "mem_limit")) {
            rc = parse_size(key, v, true, &c->mem_limit, err);
        } else if (!strcmp(key, "cpu_weight")) {
            rc = want_uint(key, v, 10000, &u, err);
            c->cpu_weight = (unsigned)u;
        } else if (!strcmp(key, "cpu_cap")) {
            rc = want_uint(key, v, CT_MAX_CPU_CAP, &u, err);
            c->cpu_cap = (unsigned)u;
        } else if (!strcmp(key, "pids_max")) {
            rc = want_uint(key, v, CT_MAX_PIDS, &u, err);
            c->pids_max = (unsigned)u;
        } else if (!strcmp(key, "io_weight")) {
            rc = want_uint(key, v, 1000, &u, err);
            c->io_weight = (unsigned)u;
        } else if (!strcmp(key, "bridge")) {
            rc = want_str(key, v, true, &c->bridge, err);
        } else if (!strcmp(key, "address")) {
            rc = want_str(key, v, true, &c->address, err);
        } else if (!strcmp(key, "gateway")) {
            rc = want_str(key, v, true, &c->gateway, err);
        } else if (!strcmp(key, "userns")) {
            rc = want_bool(key, v, &c->userns, err);
        } else if (!strcmp(key, "userns_base")) {
            rc = want_uint(key, v, UINT32_MAX - CT_USERNS_SIZE, &u, err);
            c->userns_base = (uint32_t)u;
        } else if (!strcmp(key, "readonly_root")) {
            rc = want_bool(key, v, &c->readonly_root, err);
        } else if (!strcmp(key, "autostart")) {
            rc = want_bool(key, v, &c->autostart, err);
        } else {
            rc = err_set(err, -EINVAL, "config: unknown key '%s'", key);
        }
        if (rc < 0)
            return rc;
    }
    return ct_check_values(c, err);
}

int disco_ct_config_parse(const char *json, struct disco_ct_config *cfg, void **storage,
                          struct disco_err *err)
{
    err_clear(err);
    *storage = NULL;
    memset(cfg, 0, sizeof *cfg);
    struct json_object *root;
    int rc = parse_json_text(json, &root, err);
    struct disco_ct_config c;
    if (rc == 0 && (rc = ct_parse_obj(root, &c, err)) == 0)
        rc = ct_config_pack(&c, cfg, storage, err);
    json_object_put(root);
    if (rc < 0)
        memset(cfg, 0, sizeof *cfg);
    return rc;
}

static struct json_object *jstr_array(const char *const *v)
{
    struct json_object *a = json_object_new_array();
    for (unsigned i = 0; a && i < DISCO_CT_MAX_ARGS && v[i]; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

char *disco_ct_config_to_json(const struct disco_ct_config *c)
{
    struct json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "kind", json_object_new_string("container"));
    if (c->name)
        json_object_object_add(o, "name", jstr(c->name));
    if (c->rootfs)
        json_object_object_add(o, "rootfs", jstr(c->rootfs));
    if (c->rootfs_lower)
        json_object_object_add(o, "rootfs_lower", jstr(c->rootfs_lower));
    if (c->argv[0])
        json_object_object_add(o, "argv", jstr_array(c->argv));
    if (c->env[0])
        json_object_object_add(o, "env", jstr_array(c->env));
    json_object_object_add(o, "cwd", jstr(c->cwd));
    json_object_object_add(o, "hostname", jstr(c->hostname));
    json_object_object_add(o, "terminal", json_object_new_boolean(c->terminal));
    if (c->mem_limit)
        json_object_object_add(o, "mem_limit", jsize(c->mem_limit));
    json_object_object_add(o, "cpu_weight", json_object_new_int64(c->cpu_weight));
    json_object_object_add(o, "cpu_cap", json_object_new_int64(c->cpu_cap));
    json_object_object_add(o, "pids_max", json_object_new_int64(c->pids_max));
    json_object_object_add(o, "io_weight", json_object_new_int64(c->io_weight));
    json_object_object_add(o, "bridge", jstr(c->bridge));
    json_object_object_add(o, "address", jstr(c->address));
    json_object_object_add(o, "gateway", jstr(c->gateway));
    json_object_object_add(o, "userns", json_object_new_boolean(c->userns));
    if (c->userns_base)
        json_object_object_add(o, "userns_base", json_object_new_int64(c->userns_base));
    json_object_object_add(o, "readonly_root", json_object_new_boolean(c->readonly_root));
    json_object_object_add(o, "autostart", json_object_new_boolean(c->autostart));
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *r = s ? strdup(s) : NULL;
    json_object_put(o);
    return r;
}

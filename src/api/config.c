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

/* Deep copy with every string in one malloc'd block (so the caller frees
 * one pointer, as disco_vm_config_parse promises). */
static int config_pack(const struct disco_vm_config *in, struct disco_vm_config *out,
                       void **storage, struct disco_err *err)
{
    const char *const *strs[] = {&in->name,   &in->kernel, &in->initrd,
                                 &in->append, &in->bios,   &in->share_domain};
    const char **dst[] = {&out->name,   &out->kernel, &out->initrd,
                          &out->append, &out->bios,   &out->share_domain};
    const unsigned n = sizeof strs / sizeof strs[0];
    *out = *in;
    size_t total = 1;
    for (unsigned i = 0; i < n; i++)
        total += *strs[i] ? strlen(*strs[i]) + 1 : 0;
    for (unsigned i = 0; i < in->ndisks && i < DISCO_MAX_DISKS; i++)
        total += in->disks[i] ? strlen(in->disks[i]) + 1 : 0;
    char *blk = malloc(total), *p = blk;
    if (!blk)
        return err_set(err, -ENOMEM, "out of memory for a config");
#define PACK(srcp, dstp)                        \
    do {                                        \
        if (srcp) {                             \
            size_t l_ = strlen(srcp) + 1;       \
            memcpy(p, srcp, l_);                \
            dstp = p;                           \
            p += l_;                            \
        } else {                                \
            dstp = NULL;                        \
        }                                       \
    } while (0)
    for (unsigned i = 0; i < n; i++)
        PACK(*strs[i], *dst[i]);
    for (unsigned i = 0; i < DISCO_MAX_DISKS; i++) {
        if (i < in->ndisks)
            PACK(in->disks[i], out->disks[i]);
        else
            out->disks[i] = NULL;
    }
#undef PACK
    *storage = blk;
    return 0;
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
        } else {
            rc = err_set(err, -EINVAL, "config: unknown key '%s'", key);
        }
        if (rc < 0)
            return rc;
    }
    return check_values(c, err);
}

int disco_vm_config_parse(const char *json, struct disco_vm_config *cfg, void **storage,
                          struct disco_err *err)
{
    err_clear(err);
    *storage = NULL;
    memset(cfg, 0, sizeof *cfg);
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
    struct disco_vm_config c;
    if (rc == 0 && (rc = parse_obj(root, &c, err)) == 0)
        rc = config_pack(&c, cfg, storage, err);
    json_object_put(root);
    if (rc < 0)
        memset(cfg, 0, sizeof *cfg);
    return rc;
}

int disco_vm_config_load(const char *path, struct disco_vm_config *cfg, void **storage,
                         struct disco_err *err)
{
    err_clear(err);
    *storage = NULL;
    memset(cfg, 0, sizeof *cfg);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
        int e = errno;
        close(fd);
        if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX)
            return err_set(err, -EINVAL, "%s: not a regular file of at most %u bytes", path,
                           CONFIG_FILE_MAX);
        return err_errno(err, e, "%s", path);
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
    int rc = disco_vm_config_parse(buf, cfg, storage, err);
    free(buf);
    if (rc < 0 && err) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        err_set(err, rc, "%s: %.*s", path, (int)(sizeof msg - 1), msg);
    }
    return rc;
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

int config_save(const char *dir, const struct disco_vm_config *cfg, struct disco_err *err)
{
    char *text = disco_vm_config_to_json(cfg);
    if (!text)
        return err_set(err, -ENOMEM, "out of memory for a config");
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

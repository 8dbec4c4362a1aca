/* The host side of the guest agent protocol (see agent.h).
 *
 * One mutex guards everything; one condition variable (CLOCK_MONOTONIC) is
 * broadcast whenever a request completes or the connection changes. The
 * parser is a byte-at-a-time state machine that never buffers more than a
 * header or a small payload itself: out/err/meminfo bytes go straight into
 * the request they belong to (looked up by id on every chunk, because the
 * waiter may give up and free its request between two agent_input calls),
 * capped per request. So a hostile guest can make the host hold at most
 * 2 * AGENT_MAX_OUTPUT per pending exec, and nothing for unknown ids. */
#include "vmm/agent.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HDR_MAX 64
#define SMALL_MAX 256             /* exit status, fail message, hello */
#define MEMINFO_MAX (64u << 10)

enum req_kind { REQ_EXEC, REQ_OK, REQ_MEMINFO };

struct buf {
    uint8_t *p;
    size_t len, cap;
};

struct agent_req {
    struct agent_req *next;
    uint32_t id;
    enum req_kind kind;
    bool done;
    int rc;                     /* 0, -EPROTO (fail), -ECONNRESET */
    char msg[SMALL_MAX];        /* the guest's fail message */
    int status;
    bool truncated;
    struct buf out, err;        /* exec output; meminfo text goes to out */
};

enum frame { F_UNKNOWN, F_OUT, F_ERR, F_EXIT, F_OK, F_MEMINFO, F_FAIL, F_HELLO };
enum pstate { P_HEADER, P_PAYLOAD, P_RESYNC };

struct agent {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t send_mu;    /* one frame at a time into send() */
    agent_send_fn send;
    void *ctx;

    bool ready;
    uint32_t next_id;
    struct agent_req *reqs;

    /* parser */
    enum pstate st;
    char hdr[HDR_MAX];
    size_t hdr_len;
    enum frame ftype;
    uint32_t fid;
    size_t flen, fgot;
    char small[SMALL_MAX];
    size_t small_len;
};

/* ---- helpers ------------------------------------------------------------- */

static void buf_free(struct buf *b)
{
    free(b->p);
    *b = (struct buf){ 0 };
}

/* Append up to `limit` bytes in total; what does not fit is dropped and
 * reported. Allocation failure counts as truncation too. */
static bool buf_append(struct buf *b, const uint8_t *p, size_t n, size_t limit)
{
    bool cut = false;
    if (b->len + n > limit) {
        n = limit - b->len;
        cut = true;
    }
    if (n == 0)
        return cut;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > limit + 1)
            cap = limit + 1;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return true;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return cut;
}

/* Hand the buffer over as a NUL-terminated malloc'd string. */
static uint8_t *buf_take(struct buf *b, size_t *len)
{
    uint8_t *p = b->p;
    if (!p || b->cap < b->len + 1)
        p = realloc(p, b->len + 1);
    if (!p) {
        buf_free(b);
        *len = 0;
        return NULL;
    }
    p[b->len] = '\0';
    *len = b->len;
    *b = (struct buf){ 0 };
    return p;
}

static struct agent_req *req_find(struct agent *a, uint32_t id)
{
    for (struct agent_req *r = a->reqs; r; r = r->next)
        if (r->id == id && !r->done)
            return r;
    return NULL;
}

static void req_unlink(struct agent *a, struct agent_req *r)
{
    for (struct agent_req **pp = &a->reqs; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            return;
        }
}

static void req_free(struct agent_req *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
    free(r);
}

static void fail_all(struct agent *a, int rc)
{
    for (struct agent_req *r = a->reqs; r; r = r->next)
        if (!r->done) {
            r->done = true;
            r->rc = rc;
        }
}

/* ---- lifecycle ----------------------------------------------------------- */

struct agent *agent_new(agent_send_fn send, void *ctx, struct disco_err *err)
{
    struct agent *a = calloc(1, sizeof *a);
    if (!a) {
        err_set(err, -ENOMEM, "agent: out of memory");
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        free(a);
        err_set(err, -rc, "agent: pthread_cond_init failed");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->send_mu, NULL);
    a->send = send;
    a->ctx = ctx;
    a->next_id = 1;
    return a;
}

void agent_free(struct agent *a)
{
    if (!a)
        return;
    while (a->reqs) {
        struct agent_req *r = a->reqs;
        a->reqs = r->next;
        req_free(r);
    }
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->send_mu);
    free(a);
}

void agent_disconnect(struct agent *a)
{
    pthread_mutex_lock(&a->mu);
    a->ready = false;
    a->st = P_HEADER;
    a->hdr_len = 0;
    fail_all(a, -ECONNRESET);
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

bool agent_ready(struct agent *a)
{
    pthread_mutex_lock(&a->mu);
    bool r = a->ready;
    pthread_mutex_unlock(&a->mu);
    return r;
}

/* ---- parser (agent_input) ------------------------------------------------ */

static enum frame frame_type(const char *s, size_t n)
{
    static const struct { const char *name; enum frame f; } t[] = {
        { "out", F_OUT }, { "err", F_ERR }, { "exit", F_EXIT }, { "ok", F_OK },
        { "meminfo", F_MEMINFO }, { "fail", F_FAIL }, { "hello", F_HELLO },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].name) == n && !memcmp(t[i].name, s, n))
            return t[i].f;
    return F_UNKNOWN;
}

/* "<type> <id> <len>": a lowercase word, then decimal numbers separated by
 * single spaces. */
static bool parse_header(struct agent *a)
{
    const char *s = a->hdr, *end = a->hdr + a->hdr_len, *c = s;
    while (c < end && *c >= 'a' && *c <= 'z')
        c++;
    if (c == s || c == end || *c != ' ')
        return false;
    enum frame f = frame_type(s, (size_t)(c - s));
    uint64_t v[2];
    for (int k = 0; k < 2; k++) {
        c++;        /* the space */
        if (c >= end || *c < '0' || *c > '9')
            return false;
        v[k] = 0;
        while (c < end && *c >= '0' && *c <= '9') {
            v[k] = v[k] * 10 + (uint64_t)(*c++ - '0');
            if (v[k] > UINT32_MAX)
                return false;
        }
        if (k == 0 && (c >= end || *c != ' '))
            return false;
    }
    if (c != end || v[1] > AGENT_MAX_FRAME)
        return false;
    a->ftype = f;
    a->fid = (uint32_t)v[0];
    a->flen = (size_t)v[1];
    a->fgot = 0;
    a->small_len = 0;
    return true;
}

/* Payload bytes of the current frame. */
static void frame_data(struct agent *a, const uint8_t *p, size_t n)
{
    struct agent_req *r;
    switch (a->ftype) {
    case F_OUT:
    case F_ERR:
        r = req_find(a, a->fid);
        if (r && r->kind == REQ_EXEC &&
            buf_append(a->ftype == F_OUT ? &r->out : &r->err, p, n, AGENT_MAX_OUTPUT))
            r->truncated = true;
        break;
    case F_MEMINFO:
        r = req_find(a, a->fid);
        if (r && r->kind == REQ_MEMINFO)
            buf_append(&r->out, p, n, MEMINFO_MAX);
        break;
    case F_EXIT:
    case F_FAIL:
    case F_HELLO: {
        size_t k = SMALL_MAX - 1 - a->small_len;
        if (k > n)
            k = n;
        memcpy(a->small + a->small_len, p, k);
        a->small_len += k;
        break;
    }
    case F_OK:
    case F_UNKNOWN:
        break;
    }
}

/* The current frame is complete. */
static void frame_end(struct agent *a)
{
    a->small[a->small_len] = '\0';
    if (a->ftype == F_HELLO) {
        /* A (re)started agent: whatever the old one was doing is lost. */
        fail_all(a, -ECONNRESET);
        a->ready = true;
        pthread_cond_broadcast(&a->cv);
        return;
    }
    struct agent_req *r = req_find(a, a->fid);
    if (!r)
        return;     /* unknown, finished or abandoned id: drop */
    switch (a->ftype) {
    case F_EXIT: {
        char *end;
        long v = strtol(a->small, &end, 10);
        if (r->kind != REQ_EXEC)
            return;
        if (end == a->small || *end || v < 0 || v > 255) {
            r->rc = -EPROTO;
            snprintf(r->msg, sizeof r->msg, "bad exit status from the guest agent");
        } else {
            r->status = (int)v;
        }
        break;
    }
    case F_OK:
        if (r->kind != REQ_OK)
            return;
        break;
    case F_MEMINFO:
        if (r->kind != REQ_MEMINFO)
            return;
        break;
    case F_FAIL: {
        r->rc = -EPROTO;
        /* Keep the message printable: it ends up in error strings. */
        size_t i = 0;
        for (; i < a->small_len && i < sizeof r->msg - 1; i++) {
            char c = a->small[i];
            r->msg[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
        }
        r->msg[i] = '\0';
        break;
    }
    default:
        return;
    }
    r->done = true;
    pthread_cond_broadcast(&a->cv);
}

void agent_input(struct agent *a, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&a->mu);
    size_t i = 0;
    while (i < len) {
        switch (a->st) {
        case P_RESYNC: {
            const uint8_t *nl = memchr(buf + i, '\n', len - i);
            if (!nl) {
                i = len;
                break;
            }
            i = (size_t)(nl - buf) + 1;
            a->st = P_HEADER;
            a->hdr_len = 0;
            break;
        }
        case P_HEADER: {
            uint8_t c = buf[i++];
            if (c != '\n') {
                if (a->hdr_len == HDR_MAX)
                    a->st = P_RESYNC;
                else
                    a->hdr[a->hdr_len++] = (char)c;
                break;
            }
            bool ok = parse_header(a);
            a->hdr_len = 0;
            if (!ok)
                break;      /* garbage line: skipped, resynchronised */
            if (a->flen == 0)
                frame_end(a);
            else
                a->st = P_PAYLOAD;
            break;
        }
        case P_PAYLOAD: {
            size_t k = a->flen - a->fgot;
            if (k > len - i)
                k = len - i;
            frame_data(a, buf + i, k);
            a->fgot += k;
            i += k;
            if (a->fgot == a->flen) {
                a->st = P_HEADER;
                frame_end(a);
            }
            break;
        }
        }
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- requests ------------------------------------------------------------ */

static int send_frame(struct agent *a, const char *type, uint32_t id, const uint8_t *p,
                      size_t n)
{
    char hdr[HDR_MAX];
    int h = snprintf(hdr, sizeof hdr, "%s %u %zu\n", type, id, n);
    /* One send per frame, so a queue that refuses (-ENOBUFS) never leaves
     * half a frame behind. */
    uint8_t *f = malloc((size_t)h + n);
    if (!f)
        return -ENOMEM;
    memcpy(f, hdr, (size_t)h);
    if (n)
        memcpy(f + h, p, n);
    pthread_mutex_lock(&a->send_mu);
    int rc = a->send(a->ctx, f, (size_t)h + n);
    pthread_mutex_unlock(&a->send_mu);
    free(f);
    return rc < 0 ? rc : 0;
}

/* Absolute CLOCK_MONOTONIC deadline; false when there is none. */
static bool deadline_of(uint64_t timeout_ms, struct timespec *ts)
{
    if (timeout_ms == AGENT_FOREVER)
        return false;
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t s = timeout_ms / 1000, ns = (timeout_ms % 1000) * 1000000ull + (uint64_t)ts->tv_nsec;
    ts->tv_sec += (time_t)(s + ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
    return true;
}

/* Wait on the cv (mu held) until *cond or the deadline: 0 or -ETIMEDOUT. */
#define WAIT_UNTIL(a, cond, has_dl, dl)                                                   \
    ({                                                                                    \
        int wrc_ = 0;                                                                     \
        while (!(cond)) {                                                                 \
            if (!(has_dl)) {                                                              \
                pthread_cond_wait(&(a)->cv, &(a)->mu);                                    \
            } else if (pthread_cond_timedwait(&(a)->cv, &(a)->mu, &(dl)) == ETIMEDOUT) {  \
                if (!(cond))                                                              \
                    wrc_ = -ETIMEDOUT;                                                    \
                break;                                                                    \
            }                                                                             \
        }                                                                                 \
        wrc_;                                                                             \
    })

int agent_wait_ready(struct agent *a, uint64_t timeout_ms, struct disco_err *err)
{
    struct timespec dl;
    bool has_dl = deadline_of(timeout_ms, &dl);
    pthread_mutex_lock(&a->mu);
    int rc = WAIT_UNTIL(a, a->ready, has_dl, dl);
    pthread_mutex_unlock(&a->mu);
    if (rc)
        return err_set(err, rc, "guest agent did not come up within %llu ms",
                       (unsigned long long)timeout_ms);
    return 0;
}

/* Register a request, send its frame and wait for the reply. On success
 * (0) the caller owns *out and must req_free it. On -ETIMEDOUT the request
 * is already abandoned (its late replies are dropped). */
static int request(struct agent *a, enum req_kind kind, const char *type, const uint8_t *p,
                   size_t n, uint64_t timeout_ms, struct agent_req **out, struct disco_err *err)
{
    struct timespec dl;
    bool has_dl = deadline_of(timeout_ms, &dl);
    struct agent_req *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, -ENOMEM, "agent: out of memory");
    r->kind = kind;
    pthread_mutex_lock(&a->mu);
    if (!a->ready) {
        pthread_mutex_unlock(&a->mu);
        free(r);
        return err_set(err, -ENOTCONN, "guest agent is not connected");
    }
    /* Ids skip 0 (unsolicited) and any still in use after a wrap. */
    do {
        r->id = a->next_id++;
    } while (r->id == 0 || req_find(a, r->id));
    r->next = a->reqs;
    a->reqs = r;
    pthread_mutex_unlock(&a->mu);

    int rc = send_frame(a, type, r->id, p, n);

    pthread_mutex_lock(&a->mu);
    if (rc == 0)
        rc = WAIT_UNTIL(a, r->done, has_dl, dl);
    req_unlink(a, r);
    pthread_mutex_unlock(&a->mu);

    if (rc == 0)
        rc = r->rc;
    if (rc == 0) {
        *out = r;
        return 0;
    }
    const char *what = type;
    if (rc == -ETIMEDOUT) {
        err_set(err, rc, "guest agent: %s timed out after %llu ms", what,
                (unsigned long long)timeout_ms);
        if (kind == REQ_EXEC)
            send_frame(a, "kill", r->id, NULL, 0);  /* best effort */
    } else if (rc == -EPROTO) {
        err_set(err, rc, "guest agent refused %s: %s", what, r->msg);
    } else if (rc == -ECONNRESET) {
        err_set(err, rc, "guest agent: connection lost during %s", what);
    } else {
        err_set(err, rc, "guest agent: sending %s failed: %s", what, strerror(-rc));
    }
    req_free(r);
    return rc;
}

void agent_exec_result_free(struct agent_exec_result *r)
{
    if (!r)
        return;
    free(r->out);
    free(r->errout);
    *r = (struct agent_exec_result){ 0 };
}

int agent_exec(struct agent *a, const char *const *argv, uint64_t timeout_ms,
               struct agent_exec_result *res, struct disco_err *err)
{
    *res = (struct agent_exec_result){ 0 };
    if (!argv || !argv[0] || !argv[0][0])
        return err_set(err, -EINVAL, "agent exec: empty command");
    size_t n = 0;
    for (size_t i = 0; argv[i]; i++) {
        n += strlen(argv[i]) + 1;
        if (n > AGENT_MAX_ARGV_BYTES)
            return err_set(err, -E2BIG, "agent exec: arguments longer than %u bytes",
                           AGENT_MAX_ARGV_BYTES);
    }
    uint8_t *p = malloc(n);
    if (!p)
        return err_set(err, -ENOMEM, "agent: out of memory");
    size_t off = 0;
    for (size_t i = 0; argv[i]; i++) {
        size_t l = strlen(argv[i]) + 1;
        memcpy(p + off, argv[i], l);
        off += l;
    }
    struct agent_req *r;
    int rc = request(a, REQ_EXEC, "exec", p, n, timeout_ms, &r, err);
    free(p);
    if (rc)
        return rc;
    res->status = r->status;
    res->truncated = r->truncated;
    res->out = buf_take(&r->out, &res->out_len);
    res->errout = buf_take(&r->err, &res->err_len);
    req_free(r);
    if (!res->out || !res->errout) {
        agent_exec_result_free(res);
        return err_set(err, -ENOMEM, "agent: out of memory");
    }
    return 0;
}

int agent_power(struct agent *a, bool reboot, uint64_t timeout_ms, struct disco_err *err)
{
    struct agent_req *r;
    int rc = request(a, REQ_OK, reboot ? "reboot" : "shutdown", NULL, 0, timeout_ms, &r, err);
    if (rc == 0)
        req_free(r);
    return rc;
}

int agent_ping(struct agent *a, uint64_t timeout_ms, struct disco_err *err)
{
    struct agent_req *r;
    int rc = request(a, REQ_OK, "ping", NULL, 0, timeout_ms, &r, err);
    if (rc == 0)
        req_free(r);
    return rc;
}

/* "Key:   1234 kB" lines; values in kB (or bare numbers) become bytes. */
static bool meminfo_field(const char *text, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, key, kl) || l[kl] != ':')
            continue;
        const char *c = l + kl + 1;
        while (*c == ' ' || *c == '\t')
            c++;
        if (*c < '0' || *c > '9')
            return false;
        uint64_t v = 0;
        while (*c >= '0' && *c <= '9') {
            if (v > (UINT64_MAX - 9) / 10 / 1024)
                return false;
            v = v * 10 + (uint64_t)(*c++ - '0');
        }
        *out = strncmp(c, " kB", 3) ? v : v * 1024;
        return true;
    }
    return false;
}

int agent_meminfo(struct agent *a, struct agent_meminfo *mi, uint64_t timeout_ms,
                  struct disco_err *err)
{
    *mi = (struct agent_meminfo){ 0 };
    struct agent_req *r;
    int rc = request(a, REQ_MEMINFO, "meminfo", NULL, 0, timeout_ms, &r, err);
    if (rc)
        return rc;
    size_t n;
    char *text = (char *)buf_take(&r->out, &n);
    req_free(r);
    if (!text)
        return err_set(err, -ENOMEM, "agent: out of memory");
    if (!meminfo_field(text, "MemTotal", &mi->total)) {
        free(text);
        return err_set(err, -EPROTO, "guest agent: meminfo has no MemTotal");
    }
    meminfo_field(text, "MemFree", &mi->free);
    meminfo_field(text, "MemAvailable", &mi->available);
    meminfo_field(text, "Buffers", &mi->buffers);
    meminfo_field(text, "Cached", &mi->cached);
    meminfo_field(text, "Shmem", &mi->shmem);
    free(text);
    return 0;
}

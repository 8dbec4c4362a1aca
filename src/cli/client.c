#include "cli/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"

/* Replies carry exec output; anything bigger than this is not a reply. */
#define MAX_REPLY (256u << 20)

void client_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("disco: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

const char *client_socket_path(const char *opt)
{
    if (opt && *opt)
        return opt;
    const char *env = getenv("DISCO_SOCKET");
    return env && *env ? env : DISCO_DEFAULT_SOCKET;
}

void client_connect(struct client_conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = -1;
    if (strlen(path) < sizeof a.sun_path) {
        memcpy(a.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        client_die("cannot connect to the disco daemon at %s (is `disco daemon` running?)",
                   path);
    c->fd = fd;
}

void client_close(struct client_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

static void send_all(struct client_conn *c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            client_die("lost the connection to the disco daemon at %s: %s", c->path,
                       strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

struct json_object *client_call(struct client_conn *c, struct json_object *req)
{
    size_t n;
    const char *s = json_object_to_json_string_length(
        req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    send_all(c, s, n);
    send_all(c, "\n", 1);
    json_object_put(req);

    char *nl;
    while (!(c->buf && (nl = memchr(c->buf, '\n', c->len)))) {
        if (c->len == c->cap) {
            if (c->cap >= MAX_REPLY)
                client_die("the reply of the disco daemon is too long");
            size_t ncap = c->cap ? c->cap * 2 : 65536;
            char *nb = realloc(c->buf, ncap);
            if (!nb)
                client_die("out of memory");
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            client_die("the disco daemon at %s closed the connection", c->path);
        c->len += (size_t)r;
    }
    size_t ln = (size_t)(nl - c->buf);
    struct json_tokener *tok = json_tokener_new();
    struct json_object *reply = tok ? json_tokener_parse_ex(tok, c->buf, (int)ln) : NULL;
    if (tok)
        json_tokener_free(tok);
    /* Keep what follows the reply: after `console` it is guest output. */
    memmove(c->buf, nl + 1, c->len - ln - 1);
    c->len -= ln + 1;
    if (!reply || !json_object_is_type(reply, json_type_object)) {
        json_object_put(reply);
        client_die("malformed reply from the disco daemon at %s", c->path);
    }
    return reply;
}

const char *reply_str(struct json_object *r, const char *key, const char *def)
{
    struct json_object *v;
    if (json_object_object_get_ex(r, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return def;
}

long long reply_int(struct json_object *r, const char *key, long long def)
{
    struct json_object *v;
    if (json_object_object_get_ex(r, key, &v) && json_object_is_type(v, json_type_int))
        return (long long)json_object_get_int64(v);
    return def;
}

bool reply_bool(struct json_object *r, const char *key, bool def)
{
    struct json_object *v;
    if (json_object_object_get_ex(r, key, &v) && json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    return def;
}

bool client_reply_ok(struct json_object *reply, const char *what)
{
    if (reply_bool(reply, "ok", false))
        return true;
    const char *msg = reply_str(reply, "error", "the daemon refused (no reason given)");
    if (what)
        fprintf(stderr, "disco: error: %s: %s\n", what, msg);
    else
        fprintf(stderr, "disco: error: %s\n", msg);
    return false;
}

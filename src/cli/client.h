/* A connection to the disco daemon's control socket: one JSON request line,
 * one JSON reply line (docs/FLEET.md). */
#ifndef DISCO_CLI_CLIENT_H
#define DISCO_CLI_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct client_conn {
    int fd;
    const char *path;
    char *buf;          /* received, not yet consumed */
    size_t len, cap;
};

/* The socket to use: --socket, else $DISCO_SOCKET, else the default. */
const char *client_socket_path(const char *opt);
/* Connect, or print "cannot connect to the disco daemon at PATH ..." and
 * exit 1. */
void client_connect(struct client_conn *c, const char *path);
void client_close(struct client_conn *c);
/* Send req (consumed) and return the reply (caller puts it); a broken
 * connection or a malformed reply prints an error and exits 1. */
struct json_object *client_call(struct client_conn *c, struct json_object *req);
/* True if the reply says ok; otherwise print "disco: error: <error>"
 * (prefixed with what, if not NULL). */
bool client_reply_ok(struct json_object *reply, const char *what);
/* Print "disco: error: ..." and exit 1. */
void client_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Reply field accessors: the default if absent or mistyped. */
const char *reply_str(struct json_object *r, const char *key, const char *def);
long long reply_int(struct json_object *r, const char *key, long long def);
bool reply_bool(struct json_object *r, const char *key, bool def);

#endif

/* What the container's first process (a clone of a possibly multi-threaded
 * disco: the daemon) may do before it execs: only system calls and these
 * helpers, never malloc or stdio, because another thread may have held a
 * lock at the moment of the clone. Everything it needs is prepared by the
 * parent beforehand (paths joined, BPF compiled, masks computed).
 *
 * A step that fails records errno and a message built from constant parts;
 * the parent reads the record through the sync socket and turns it into a
 * disco_err. */
#ifndef DISCO_CT_CHILD_H
#define DISCO_CT_CHILD_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct ct_child_err {
    int err;                    /* positive errno, 0: no error */
    char msg[384];
};

static inline void ct_child_msg_cat(struct ct_child_err *e, const char *s)
{
    size_t n = strnlen(e->msg, sizeof e->msg);
    while (s && *s && n + 1 < sizeof e->msg)
        e->msg[n++] = *s++;
    e->msg[n] = '\0';
}

/* "what 'path'" with errno; returns -1 so callers can `return ct_child_fail(...)`. */
static inline int ct_child_fail(struct ct_child_err *e, int errnum, const char *what,
                                const char *path)
{
    e->err = errnum ? errnum : EIO;
    e->msg[0] = '\0';
    ct_child_msg_cat(e, what);
    if (path) {
        ct_child_msg_cat(e, " '");
        ct_child_msg_cat(e, path);
        ct_child_msg_cat(e, "'");
    }
    return -1;
}

#endif

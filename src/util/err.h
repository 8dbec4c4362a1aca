/* Error objects: functions return 0 or a negative errno-style code and fill
 * a struct disco_err with a message naming what failed (a file, an address,
 * an option). Nothing below the CLI prints or exits. */
#ifndef DISCO_UTIL_ERR_H
#define DISCO_UTIL_ERR_H

#include <errno.h>

#include "disco_err.h"

/* Record an error and return `code` (negative) so callers can write
 * `return err_set(err, -EINVAL, "bad --mem '%s'", s);`. err may be NULL. */
int err_set(struct disco_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like err_set but appends ": strerror(errno_value)". */
int err_errno(struct disco_err *err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void err_clear(struct disco_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

#endif

/* Shared bits of the attack programs: report lines on stdout (unbuffered,
 * so a SIGKILL loses nothing) and optionally into a result file the test
 * reads from the host. Each program prints "TRY: ..." for what it
 * attempts, "SAFE: ..." when the attack failed and "ESCAPED: ..." when it
 * worked. */
#ifndef CT_PROG_H
#define CT_PROG_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void ct_vsay(int result_fd, const char *fmt, va_list ap)
{
    char line[1024];
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(1, line, (size_t)n);
    if (result_fd >= 0)
        w = write(result_fd, line, (size_t)n);
    (void)w;
}

/* result_fd < 0: stdout only. */
__attribute__((format(printf, 2, 3)))
static inline void ct_say(int result_fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ct_vsay(result_fd, fmt, ap);
    va_end(ap);
}

#define say(...) ct_say(-1, __VA_ARGS__)

#endif

#include "cli/console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ESC_CHAR 0x01   /* Ctrl-A */

static struct termios saved_tio;
static volatile sig_atomic_t raw_active;
static volatile sig_atomic_t stop_signal;
static struct vm *volatile signal_vm;
static bool esc_pending;
static bool out_broken;

void console_restore(void)
{
    if (raw_active) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        raw_active = 0;
    }
}

bool console_is_raw(void) { return raw_active != 0; }
int console_stop_signal(void) { return stop_signal; }

static void write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {   /* non-blocking stdout full: wait for the reader */
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, -1);
                continue;
            }
            out_broken = true;  /* EPIPE etc.: the reader is gone; drop output */
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void console_write(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    if (!out_broken)
        write_all(STDOUT_FILENO, buf, len);
}

static void msg(const char *s)
{
    write_all(STDERR_FILENO, (const uint8_t *)s, strlen(s));
}

static size_t console_filter(void *ctx, const uint8_t *in, size_t n, uint8_t *out, bool *quit)
{
    (void)ctx;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (esc_pending) {
            esc_pending = false;
            switch (c) {
            case ESC_CHAR: out[m++] = c; break;
            case 'x':
            case 'X':
                msg("\r\ndisco: quit (Ctrl-A x)\r\n");
                *quit = true;
                return m;
            case 'h':
            case 'H':
            case '?':
                msg("\r\n"
                    "C-a h    print this help\r\n"
                    "C-a x    exit disco (exit status 0)\r\n"
                    "C-a C-a  send C-a to the guest\r\n");
                break;
            default: break;   /* unknown escapes are ignored, like QEMU */
            }
        } else if (c == ESC_CHAR) {
            esc_pending = true;
        } else {
            out[m++] = c;
        }
    }
    return m;
}

bool console_raw_stdin(void)
{
    if (raw_active)
        return true;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return false;
    struct termios t = saved_tio;
    /* What QEMU's stdio does: raw input, output post-processing kept. */
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag |= OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0)
        return false;
    raw_active = 1;
    atexit(console_restore);
    return true;
}

void console_setup(struct vm_console *c)
{
    memset(c, 0, sizeof *c);
    c->write = console_write;
    c->in_fd = STDIN_FILENO;
    signal(SIGPIPE, SIG_IGN);
    if (console_raw_stdin())
        c->filter = console_filter;
}

static void on_signal(int sig)
{
    if (stop_signal || !signal_vm) {
        /* Second signal (or nothing to stop): restore and leave now. */
        console_restore();
        _exit(128 + sig);
    }
    stop_signal = sig;
    vm_request_stop(signal_vm);
}

void console_signals(struct vm *vm)
{
    signal_vm = vm;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

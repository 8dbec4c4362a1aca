/* The terminal side of `disco run`: guest output to stdout, raw mode for
 * an interactive stdin (restored on every exit path), QEMU-style escape
 * keys (Ctrl-A x quits, Ctrl-A h helps, Ctrl-A Ctrl-A sends Ctrl-A), and
 * SIGINT/SIGTERM/SIGHUP handling. */
#ifndef DISCO_CLI_CONSOLE_H
#define DISCO_CLI_CONSOLE_H

#include <stdbool.h>

#include "vmm/vm.h"

/* Fill a vm_console for stdin/stdout; puts a tty stdin in raw mode. */
void console_setup(struct vm_console *c);
/* Route SIGINT/SIGTERM/SIGHUP to vm_request_stop(vm) (a second signal
 * restores the terminal and exits at once). vm may be NULL to only
 * restore and exit. */
void console_signals(struct vm *vm);
/* Restore the terminal (idempotent, async-signal-safe). */
void console_restore(void);
/* The signal that stopped the VM, or 0. */
int console_stop_signal(void);
/* Put a terminal stdin in raw mode (restored at exit and by
 * console_restore); false if stdin is not a terminal. */
bool console_raw_stdin(void);
/* True if stdin is a terminal in raw mode. */
bool console_is_raw(void);

#endif

/* The VMM's event loop: one thread sleeping in epoll_wait on many file
 * descriptors (each VM's eventfd, console input, sockets) plus one-shot
 * timers, calling a callback for each ready one. Device and control work
 * of every VM in a host (the daemon) runs on one loop; `disco run` runs one
 * loop on its calling thread.
 *
 * Threading: evloop_add / evloop_del / evloop_timer_* / evloop_quit may be
 * called from any thread, including from inside callbacks. Once
 * evloop_del(fd) (or evloop_timer_cancel) has returned on a thread other
 * than the loop's, the callback is not running and will not run again; on
 * the loop thread the same holds after the current callback returns. */
#ifndef DISCO_VMM_EVLOOP_H
#define DISCO_VMM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct evloop;
struct evloop_timer;

/* events: EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits as returned by epoll. */
typedef void (*evloop_fd_fn)(void *ctx, int fd, uint32_t events);
typedef void (*evloop_timer_fn)(void *ctx);

struct evloop *evloop_new(struct disco_err *err);
/* Every fd must have been removed; pending timers are dropped. If the loop
 * runs on its own thread (evloop_start_thread), stops and joins it first. */
void evloop_free(struct evloop *ev);

/* Watch fd (level-triggered) for `events` (EPOLLIN, EPOLLOUT). One
 * registration per fd. */
int evloop_add(struct evloop *ev, int fd, uint32_t events, evloop_fd_fn fn, void *ctx,
               struct disco_err *err);
int evloop_mod(struct evloop *ev, int fd, uint32_t events);
int evloop_del(struct evloop *ev, int fd);

/* Call fn(ctx) on the loop thread once CLOCK_MONOTONIC reaches deadline_ns
 * (evloop_now_ns() + delay). Returns a handle valid until fn has started or
 * the timer is cancelled; NULL on allocation failure. */
struct evloop_timer *evloop_timer_add(struct evloop *ev, uint64_t deadline_ns,
                                      evloop_timer_fn fn, void *ctx);
/* Cancel a timer that has not fired yet (no-op for NULL). Must not be
 * called for a timer whose callback already started. */
void evloop_timer_cancel(struct evloop *ev, struct evloop_timer *t);
uint64_t evloop_now_ns(void);

/* Run callbacks until evloop_quit; on the calling thread. Returns 0, or a
 * negative errno if epoll itself failed. */
int evloop_run(struct evloop *ev);
/* Make evloop_run return after the current callback. Thread-safe. */
void evloop_quit(struct evloop *ev);

/* Run the loop on a thread of its own (the daemon). */
int evloop_start_thread(struct evloop *ev, struct disco_err *err);
/* True when called from inside the loop (its callbacks). */
bool evloop_on_loop_thread(const struct evloop *ev);

#endif

/* The VMM's event loop (see evloop.h).
 *
 * Registrations live in a table indexed by fd; epoll carries (seq << 32 |
 * fd) so an event still in the current epoll_wait batch for an fd that was
 * removed (and maybe re-added) meanwhile is recognised as stale and dropped.
 * Timers are a sorted doubly-linked list (few per loop: input retries).
 *
 * "Not running and will not run again" after evloop_del on another thread:
 * the loop marks what it is calling (cur_fd / cur_timer) under the lock and
 * evloop_del waits on `done` until the call returned. A registration deleted
 * from inside its own callback is only marked dead; the dispatcher frees it
 * when the callback returns. */
#define _GNU_SOURCE
#include "vmm/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

#define MAX_EVENTS 64
#define WAKE_DATA UINT64_MAX   /* epoll data of the internal eventfd */

struct ev_fd {
    int fd;
    uint32_t seq;
    uint32_t events;
    evloop_fd_fn fn;
    void *ctx;
    bool dead;   /* deleted while its callback runs: freed after it returns */
};

struct evloop_timer {
    uint64_t deadline;
    evloop_timer_fn fn;
    void *ctx;
    struct evloop_timer *prev, *next;
};

struct evloop {
    int epfd, wakefd;
    pthread_mutex_t lock;
    pthread_cond_t done;             /* a callback returned */
    struct ev_fd **fds;              /* indexed by fd */
    size_t nfds_cap;
    uint32_t seq;
    struct evloop_timer *timers;     /* sorted by deadline */
    struct ev_fd *cur_fd;            /* callback running now, or NULL */
    struct evloop_timer *cur_timer;
    bool quit;
    bool running;
    pthread_t loop_tid;              /* valid while running */
    bool has_thread;
    pthread_t thread;
};

uint64_t evloop_now_ns(void)
{
    return mono_ns();
}

static void wake(struct evloop *ev)
{
    uint64_t one = 1;
    ssize_t r = write(ev->wakefd, &one, sizeof one);
    (void)r;
}

struct evloop *evloop_new(struct disco_err *err)
{
    struct evloop *ev = calloc(1, sizeof *ev);
    if (!ev) {
        err_set(err, -ENOMEM, "out of memory for the event loop");
        return NULL;
    }
    ev->epfd = epoll_create1(EPOLL_CLOEXEC);
    ev->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ev->epfd < 0 || ev->wakefd < 0) {
        err_errno(err, errno, "event loop: epoll/eventfd");
        goto fail;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = WAKE_DATA};
    if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->wakefd, &e) < 0) {
        err_errno(err, errno, "event loop: epoll_ctl");
        goto fail;
    }
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->done, NULL);
    return ev;
fail:
    if (ev->epfd >= 0)
        close(ev->epfd);
    if (ev->wakefd >= 0)
        close(ev->wakefd);
    free(ev);
    return NULL;
}

void evloop_free(struct evloop *ev)
{
    if (!ev)
        return;
    if (ev->has_thread) {
        evloop_quit(ev);
        pthread_join(ev->thread, NULL);
        ev->has_thread = false;
    }
    for (size_t i = 0; i < ev->nfds_cap; i++)
        free(ev->fds[i]);   /* leftovers: a caller bug, but do not leak */
    free(ev->fds);
    for (struct evloop_timer *t = ev->timers, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    close(ev->epfd);
    close(ev->wakefd);
    pthread_cond_destroy(&ev->done);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

static bool on_loop_locked(const struct evloop *ev)
{
    return ev->running && pthread_equal(ev->loop_tid, pthread_self());
}

bool evloop_on_loop_thread(const struct evloop *ev)
{
    struct evloop *m = (struct evloop *)ev;   /* the lock is not part of the value */
    pthread_mutex_lock(&m->lock);
    bool r = on_loop_locked(m);
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* ---- fds -------------------------------------------------------------------- */

int evloop_add(struct evloop *ev, int fd, uint32_t events, evloop_fd_fn fn, void *ctx,
               struct disco_err *err)
{
    if (fd < 0 || !fn)
        return err_set(err, -EINVAL, "event loop: bad registration (fd %d)", fd);
    struct ev_fd *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, -ENOMEM, "event loop: out of memory");
    pthread_mutex_lock(&ev->lock);
    int rc = 0;
    if ((size_t)fd >= ev->nfds_cap) {
        size_t cap = ev->nfds_cap ? ev->nfds_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct ev_fd **n = realloc(ev->fds, cap * sizeof *n);
        if (!n) {
            rc = err_set(err, -ENOMEM, "event loop: out of memory");
            goto out;
        }
        memset(n + ev->nfds_cap, 0, (cap - ev->nfds_cap) * sizeof *n);
        ev->fds = n;
        ev->nfds_cap = cap;
    }
    if (ev->fds[fd]) {
        rc = err_set(err, -EEXIST, "event loop: fd %d is already registered", fd);
        goto out;
    }
    r->fd = fd;
    r->seq = ++ev->seq;
    r->events = events;
    r->fn = fn;
    r->ctx = ctx;
    struct epoll_event e = {.events = events, .data.u64 = (uint64_t)r->seq << 32 | (uint32_t)fd};
    if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        rc = err_errno(err, errno, "event loop: cannot watch fd %d", fd);
        goto out;
    }
    ev->fds[fd] = r;
    r = NULL;
out:
    pthread_mutex_unlock(&ev->lock);
    free(r);
    return rc;
}

int evloop_mod(struct evloop *ev, int fd, uint32_t events)
{
    pthread_mutex_lock(&ev->lock);
    int rc = -ENOENT;
    if (fd >= 0 && (size_t)fd < ev->nfds_cap && ev->fds[fd]) {
        struct ev_fd *r = ev->fds[fd];
        struct epoll_event e = {.events = events,
                                .data.u64 = (uint64_t)r->seq << 32 | (uint32_t)fd};
        rc = epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
        if (rc == 0)
            r->events = events;
    }
    pthread_mutex_unlock(&ev->lock);
    return rc;
}

int evloop_del(struct evloop *ev, int fd)
{
    pthread_mutex_lock(&ev->lock);
    if (fd < 0 || (size_t)fd >= ev->nfds_cap || !ev->fds[fd]) {
        pthread_mutex_unlock(&ev->lock);
        return -ENOENT;
    }
    struct ev_fd *r = ev->fds[fd];
    ev->fds[fd] = NULL;
    epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (ev->cur_fd == r) {
        if (on_loop_locked(ev)) {
            r->dead = true;   /* inside its own callback (or one of the loop's) */
            r = NULL;
        } else {
            while (ev->cur_fd == r)
                pthread_cond_wait(&ev->done, &ev->lock);
        }
    }
    pthread_mutex_unlock(&ev->lock);
    free(r);
    return 0;
}

/* ---- timers ----------------------------------------------------------------- */

struct evloop_timer *evloop_timer_add(struct evloop *ev, uint64_t deadline_ns,
                                      evloop_timer_fn fn, void *ctx)
{
    struct evloop_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->deadline = deadline_ns;
    t->fn = fn;
    t->ctx = ctx;
    pthread_mutex_lock(&ev->lock);
    struct evloop_timer **pp = &ev->timers, *prev = NULL;
    while (*pp && (*pp)->deadline <= deadline_ns) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    t->next = *pp;
    t->prev = prev;
    if (*pp)
        (*pp)->prev = t;
    *pp = t;
    /* A new earliest deadline shortens the loop's sleep. */
    bool kick = ev->timers == t && !on_loop_locked(ev);
    pthread_mutex_unlock(&ev->lock);
    if (kick)
        wake(ev);
    return t;
}

static void timer_unlink(struct evloop *ev, struct evloop_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        ev->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

void evloop_timer_cancel(struct evloop *ev, struct evloop_timer *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&ev->lock);
    if (ev->cur_timer == t) {
        /* Popped but still running: the contract says this does not
         * happen, but a racing canceller on another thread can only wait. */
        if (!on_loop_locked(ev))
            while (ev->cur_timer == t)
                pthread_cond_wait(&ev->done, &ev->lock);
        pthread_mutex_unlock(&ev->lock);
        return;
    }
    timer_unlink(ev, t);
    pthread_mutex_unlock(&ev->lock);
    free(t);
}

/* ---- running ---------------------------------------------------------------- */

void evloop_quit(struct evloop *ev)
{
    pthread_mutex_lock(&ev->lock);
    ev->quit = true;
    pthread_mutex_unlock(&ev->lock);
    wake(ev);
}

/* epoll_wait timeout (ms, rounded up) for the nearest timer. Lock held. */
static int next_timeout(struct evloop *ev)
{
    if (!ev->timers)
        return -1;
    uint64_t now = evloop_now_ns(), d = ev->timers->deadline;
    if (d <= now)
        return 0;
    uint64_t ms = (d - now + 999999) / 1000000;
    return ms > 1000000 ? 1000000 : (int)ms;
}

static void dispatch_fd(struct evloop *ev, uint64_t data, uint32_t events)
{
    int fd = (int)(uint32_t)data;
    uint32_t seq = (uint32_t)(data >> 32);
    if ((size_t)fd >= ev->nfds_cap || !ev->fds[fd] || ev->fds[fd]->seq != seq)
        return;   /* removed since epoll_wait returned */
    struct ev_fd *r = ev->fds[fd];
    ev->cur_fd = r;
    pthread_mutex_unlock(&ev->lock);
    r->fn(r->ctx, fd, events);
    pthread_mutex_lock(&ev->lock);
    ev->cur_fd = NULL;
    pthread_cond_broadcast(&ev->done);
    if (r->dead)
        free(r);
}

static void run_timers(struct evloop *ev)
{
    uint64_t now = evloop_now_ns();
    while (!ev->quit && ev->timers && ev->timers->deadline <= now) {
        struct evloop_timer *t = ev->timers;
        timer_unlink(ev, t);
        ev->cur_timer = t;
        pthread_mutex_unlock(&ev->lock);
        t->fn(t->ctx);
        pthread_mutex_lock(&ev->lock);
        ev->cur_timer = NULL;
        pthread_cond_broadcast(&ev->done);
        free(t);
    }
}

int evloop_run(struct evloop *ev)
{
    struct epoll_event evs[MAX_EVENTS];
    int rc = 0;
    pthread_mutex_lock(&ev->lock);
    if (ev->running) {
        pthread_mutex_unlock(&ev->lock);
        return -EBUSY;
    }
    ev->running = true;
    ev->loop_tid = pthread_self();
    while (!ev->quit) {
        int timeout = next_timeout(ev);
        pthread_mutex_unlock(&ev->lock);
        int n = epoll_wait(ev->epfd, evs, MAX_EVENTS, timeout);
        int e = errno;
        pthread_mutex_lock(&ev->lock);
        if (n < 0) {
            if (e == EINTR)
                continue;
            rc = -e;
            break;
        }
        for (int i = 0; i < n && !ev->quit; i++) {
            if (evs[i].data.u64 == WAKE_DATA) {
                uint64_t v;
                while (read(ev->wakefd, &v, sizeof v) > 0)
                    ;
                continue;
            }
            dispatch_fd(ev, evs[i].data.u64, evs[i].events);
        }
        run_timers(ev);
    }
    ev->quit = false;   /* consumed: the loop may be run again */
    ev->running = false;
    pthread_mutex_unlock(&ev->lock);
    return rc;
}

static void *loop_thread(void *arg)
{
    evloop_run(arg);
    return NULL;
}

int evloop_start_thread(struct evloop *ev, struct disco_err *err)
{
    if (ev->has_thread)
        return err_set(err, -EBUSY, "event loop: already has a thread");
    int rc = pthread_create(&ev->thread, NULL, loop_thread, ev);
    if (rc)
        return err_errno(err, rc, "event loop: cannot start its thread");
    ev->has_thread = true;
    return 0;
}

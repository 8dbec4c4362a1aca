/* The event loop: fd callbacks, timers in deadline order, evloop_del from
 * another thread while the loop runs (the callback is over once it returns),
 * evloop_del from inside a callback, quit, and a loop on its own thread.
 * Every wait is bounded. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "vmm/evloop.h"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void kick(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

static void drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

/* Wait (bounded) until *p reaches at least want. */
static bool wait_for(_Atomic int *p, int want)
{
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(p) >= want)
            return true;
        sleep_ms(1);
    }
    return false;
}

/* ---- fds and quit --------------------------------------------------------------- */

struct fdctx {
    struct evloop *ev;
    _Atomic int calls;
    int quit_after;
};

static void fd_cb(void *ctx, int fd, uint32_t events)
{
    struct fdctx *c = ctx;
    CHECK(events & EPOLLIN);
    drain(fd);
    if (atomic_fetch_add(&c->calls, 1) + 1 == c->quit_after)
        evloop_quit(c->ev);
}

static void test_fd_and_quit(void)
{
    struct evloop *ev = evloop_new(NULL);
    CHECK(ev);
    int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
    struct fdctx ca = {.ev = ev, .quit_after = 2}, cb = {.ev = ev, .quit_after = 100};
    CHECK_EQ(evloop_add(ev, a, EPOLLIN, fd_cb, &ca, NULL), 0);
    CHECK_EQ(evloop_add(ev, b, EPOLLIN, fd_cb, &cb, NULL), 0);
    CHECK_EQ(evloop_add(ev, a, EPOLLIN, fd_cb, &ca, NULL), -EEXIST);
    CHECK(!evloop_on_loop_thread(ev));
    kick(a);
    kick(b);
    /* a's second call ends the run. */
    CHECK_EQ(evloop_start_thread(ev, NULL), 0);
    CHECK(wait_for(&ca.calls, 1) && wait_for(&cb.calls, 1));
    kick(a);
    CHECK(wait_for(&ca.calls, 2));
    sleep_ms(20);
    /* The loop quit after a's second call: b is no longer served. */
    kick(b);
    sleep_ms(20);
    CHECK_EQ(atomic_load(&cb.calls), 1);
    CHECK_EQ(evloop_del(ev, a), 0);
    CHECK_EQ(evloop_del(ev, b), 0);
    CHECK_EQ(evloop_del(ev, b), -ENOENT);
    evloop_free(ev);
    close(a);
    close(b);
}

/* ---- timers ----------------------------------------------------------------- */

struct tctx {
    struct evloop *ev;
    int order[8];
    int n;
    bool on_loop;
};
struct tone {
    struct tctx *c;
    int id;
};

static void timer_cb(void *ctx)
{
    struct tone *o = ctx;
    o->c->on_loop = evloop_on_loop_thread(o->c->ev);
    o->c->order[o->c->n++] = o->id;
    if (o->id == 99)
        evloop_quit(o->c->ev);
}

static void test_timers_in_order(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct tctx c = {.ev = ev};
    uint64_t now = evloop_now_ns();
    struct tone t[5] = {{&c, 3}, {&c, 1}, {&c, 2}, {&c, 99}, {&c, 42}};
    CHECK(evloop_timer_add(ev, now + 30000000, timer_cb, &t[0]));
    CHECK(evloop_timer_add(ev, now + 10000000, timer_cb, &t[1]));
    CHECK(evloop_timer_add(ev, now + 20000000, timer_cb, &t[2]));
    CHECK(evloop_timer_add(ev, now + 40000000, timer_cb, &t[3]));
    struct evloop_timer *x = evloop_timer_add(ev, now + 15000000, timer_cb, &t[4]);
    evloop_timer_cancel(ev, x);
    CHECK_EQ(evloop_run(ev), 0);
    CHECK(evloop_now_ns() - now >= 40000000);
    CHECK_EQ(c.n, 4);
    CHECK_EQ(c.order[0], 1);
    CHECK_EQ(c.order[1], 2);
    CHECK_EQ(c.order[2], 3);
    CHECK_EQ(c.order[3], 99);
    CHECK(c.on_loop);
    /* A pending timer is dropped by evloop_free. */
    CHECK(evloop_timer_add(ev, now + 60000000000ull, timer_cb, &t[0]));
    evloop_free(ev);
}

/* A timer added from another thread shortens a loop sleeping without one. */
static void test_timer_from_other_thread(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct tctx c = {.ev = ev};
    struct tone q = {&c, 99};
    CHECK_EQ(evloop_start_thread(ev, NULL), 0);
    sleep_ms(10);
    uint64_t t0 = evloop_now_ns();
    CHECK(evloop_timer_add(ev, t0 + 5000000, timer_cb, &q));
    for (int i = 0; i < 2000 && !__atomic_load_n(&c.n, __ATOMIC_ACQUIRE); i++)
        sleep_ms(1);
    CHECK_EQ(__atomic_load_n(&c.n, __ATOMIC_ACQUIRE), 1);
    CHECK(evloop_now_ns() - t0 < 1000000000ull);
    evloop_free(ev);
}

/* ---- del from another thread while the callback runs ------------------------- */

struct slow {
    _Atomic int entered;
    _Atomic int running;
    _Atomic int calls_after_del;
    _Atomic int deleted;
};

static void slow_cb(void *ctx, int fd, uint32_t events)
{
    (void)events;
    struct slow *s = ctx;
    if (atomic_load(&s->deleted))
        atomic_fetch_add(&s->calls_after_del, 1);
    atomic_store(&s->running, 1);
    atomic_fetch_add(&s->entered, 1);
    sleep_ms(30);   /* level-triggered: not drained, so it keeps firing */
    (void)fd;
    atomic_store(&s->running, 0);
}

static void test_del_from_other_thread(void)
{
    struct evloop *ev = evloop_new(NULL);
    int fd = eventfd(0, EFD_NONBLOCK);
    struct slow s = {0};
    CHECK_EQ(evloop_add(ev, fd, EPOLLIN, slow_cb, &s, NULL), 0);
    CHECK_EQ(evloop_start_thread(ev, NULL), 0);
    kick(fd);
    CHECK(wait_for(&s.entered, 1));
    /* The callback is (very likely) inside its sleep now. */
    CHECK_EQ(evloop_del(ev, fd), 0);
    CHECK_EQ(atomic_load(&s.running), 0);
    atomic_store(&s.deleted, 1);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&s.calls_after_del), 0);
    evloop_free(ev);
    close(fd);
}

/* ---- del from inside a callback (its own fd and another) ------------------------ */

struct pair {
    struct evloop *ev;
    int self, other;
    _Atomic int self_calls, other_calls;
};

static void other_cb(void *ctx, int fd, uint32_t events)
{
    (void)events;
    struct pair *p = ctx;
    drain(fd);
    atomic_fetch_add(&p->other_calls, 1);
}

static void self_cb(void *ctx, int fd, uint32_t events)
{
    (void)events;
    struct pair *p = ctx;
    atomic_fetch_add(&p->self_calls, 1);
    /* Not drained: a live registration would fire again at once. */
    CHECK_EQ(evloop_del(p->ev, p->other), 0);
    CHECK_EQ(evloop_del(p->ev, fd), 0);
}

static void quit_cb(void *ctx)
{
    evloop_quit(ctx);
}

static void test_del_inside_callback(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct pair p = {.ev = ev, .self = eventfd(0, EFD_NONBLOCK), .other = eventfd(0, EFD_NONBLOCK)};
    CHECK_EQ(evloop_add(ev, p.self, EPOLLIN, self_cb, &p, NULL), 0);
    CHECK_EQ(evloop_add(ev, p.other, EPOLLIN, other_cb, &p, NULL), 0);
    /* Both ready in the same epoll batch: whichever runs first, self's
     * delete of other must stop other's pending event if self ran first. */
    kick(p.self);
    CHECK(evloop_timer_add(ev, evloop_now_ns() + 30000000, quit_cb, ev));
    CHECK_EQ(evloop_run(ev), 0);
    CHECK_EQ(atomic_load(&p.self_calls), 1);
    /* other was never kicked; kick it now: nothing is registered. */
    kick(p.other);
    CHECK(evloop_timer_add(ev, evloop_now_ns() + 10000000, quit_cb, ev));
    CHECK_EQ(evloop_run(ev), 0);
    CHECK_EQ(atomic_load(&p.other_calls), 0);
    /* The fd can be registered again after its delete. */
    CHECK_EQ(evloop_add(ev, p.other, EPOLLIN, other_cb, &p, NULL), 0);
    CHECK(evloop_timer_add(ev, evloop_now_ns() + 10000000, quit_cb, ev));
    CHECK_EQ(evloop_run(ev), 0);
    CHECK_EQ(atomic_load(&p.other_calls), 1);
    CHECK_EQ(evloop_del(ev, p.other), 0);
    evloop_free(ev);
    close(p.self);
    close(p.other);
}

/* A timer callback cancelling another timer and adding a new one. */
struct chain {
    struct evloop *ev;
    struct evloop_timer *victim;
    int fired[3];
};
static void victim_cb(void *ctx) { ((struct chain *)ctx)->fired[1]++; }
static void late_cb(void *ctx)
{
    struct chain *c = ctx;
    c->fired[2]++;
    evloop_quit(c->ev);
}
static void first_cb(void *ctx)
{
    struct chain *c = ctx;
    c->fired[0]++;
    evloop_timer_cancel(c->ev, c->victim);
    CHECK(evloop_timer_add(c->ev, evloop_now_ns() + 5000000, late_cb, c));
}

static void test_timer_cancel_in_callback(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct chain c = {.ev = ev};
    uint64_t now = evloop_now_ns();
    CHECK(evloop_timer_add(ev, now + 1000000, first_cb, &c));
    c.victim = evloop_timer_add(ev, now + 2000000, victim_cb, &c);
    CHECK_EQ(evloop_run(ev), 0);
    CHECK_EQ(c.fired[0], 1);
    CHECK_EQ(c.fired[1], 0);
    CHECK_EQ(c.fired[2], 1);
    evloop_free(ev);
}

/* Many threads adding and deleting registrations while the loop runs. */
struct churn {
    struct evloop *ev;
    _Atomic int calls;
};
static void churn_cb(void *ctx, int fd, uint32_t events)
{
    (void)events;
    drain(fd);
    atomic_fetch_add(&((struct churn *)ctx)->calls, 1);
}
static void *churn_thread(void *arg)
{
    struct churn *c = arg;
    for (int i = 0; i < 200; i++) {
        int fd = eventfd(0, EFD_NONBLOCK);
        if (evloop_add(c->ev, fd, EPOLLIN, churn_cb, c, NULL) == 0) {
            kick(fd);
            if (i & 1)
                sleep_ms(0);
            evloop_del(c->ev, fd);
        }
        close(fd);
    }
    return NULL;
}

static void test_churn(void)
{
    struct evloop *ev = evloop_new(NULL);
    struct churn c = {.ev = ev};
    CHECK_EQ(evloop_start_thread(ev, NULL), 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, churn_thread, &c);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(atomic_load(&c.calls) <= 800);
    evloop_free(ev);
}

int main(void)
{
    RUN(test_fd_and_quit);
    RUN(test_timers_in_order);
    RUN(test_timer_from_other_thread);
    RUN(test_del_from_other_thread);
    RUN(test_del_inside_callback);
    RUN(test_timer_cancel_in_callback);
    RUN(test_churn);
    T_EXIT();
}

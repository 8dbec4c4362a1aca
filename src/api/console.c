/* A guest's console: its output goes to console.log (rotated at 1 MiB), to
 * a replay ring of the last DISCO_CONSOLE_REPLAY bytes, and to every
 * attached watcher; one watcher at a time may write input.
 *
 * Watchers are called with the hub lock held, which is what makes "no
 * output after disco_console_detach returns" true (detach takes the lock)
 * and keeps replay and live output in order. The price: ops must not call
 * back into libdisco. The ring is cleared when a run starts, so a watcher
 * replays the current run only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_priv.h"
#include "vmm/vm.h"

int hub_init(struct console_hub *hub, const char *dir, struct disco_err *err)
{
    memset(hub, 0, sizeof *hub);
    hub->log_fd = -1;
    if (asprintf(&hub->log_path, "%s/console.log", dir) < 0) {
        hub->log_path = NULL;
        return err_set(err, -ENOMEM, "out of memory");
    }
    if (asprintf(&hub->log_old_path, "%s/console.log.1", dir) < 0) {
        hub->log_old_path = NULL;
        free(hub->log_path);
        return err_set(err, -ENOMEM, "out of memory");
    }
    hub->ring = malloc(DISCO_CONSOLE_REPLAY);
    if (!hub->ring) {
        free(hub->log_path);
        free(hub->log_old_path);
        return err_set(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&hub->lock, NULL);
    return 0;
}

void hub_destroy(struct console_hub *hub)
{
    if (hub->log_fd >= 0)
        close(hub->log_fd);
    free(hub->ring);
    free(hub->log_path);
    free(hub->log_old_path);
    pthread_mutex_destroy(&hub->lock);
}

static int open_log(struct console_hub *hub)
{
    hub->log_fd = open(hub->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (hub->log_fd < 0)
        return -errno;
    struct stat st;
    hub->log_size = fstat(hub->log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

int hub_run_begin(struct console_hub *hub, struct disco_err *err)
{
    pthread_mutex_lock(&hub->lock);
    if (hub->log_fd >= 0)
        close(hub->log_fd);
    int rc = open_log(hub);
    hub->ring_head = hub->ring_len = 0;
    pthread_mutex_unlock(&hub->lock);
    return rc < 0 ? err_errno(err, -rc, "%s", hub->log_path) : 0;
}

void hub_run_end(struct console_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    if (hub->log_fd >= 0)
        close(hub->log_fd);
    hub->log_fd = -1;
    for (struct disco_console *c = hub->watchers; c; c = c->next) {
        if (c->closed)
            continue;
        c->closed = true;
        if (c->ops.closed)
            c->ops.closed(c->ctx);
    }
    pthread_mutex_unlock(&hub->lock);
}

static void log_append(struct console_hub *hub, const uint8_t *buf, size_t len)
{
    if (hub->log_fd < 0)
        return;
    if (hub->log_size && hub->log_size + len > CONSOLE_LOG_MAX) {
        /* Rotate: one old generation is kept. If reopening fails the log
         * just stops; the guest must not notice. */
        close(hub->log_fd);
        hub->log_fd = -1;
        if (rename(hub->log_path, hub->log_old_path) < 0 || open_log(hub) < 0)
            return;
    }
    while (len) {
        ssize_t w = write(hub->log_fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;   /* disk full etc.: drop, never block the vCPU */
        hub->log_size += (uint64_t)w;
        buf += w;
        len -= (size_t)w;
    }
}

static void ring_append(struct console_hub *hub, const uint8_t *buf, size_t len)
{
    if (len > DISCO_CONSOLE_REPLAY) {
        buf += len - DISCO_CONSOLE_REPLAY;
        len = DISCO_CONSOLE_REPLAY;
    }
    while (len) {
        size_t k = DISCO_CONSOLE_REPLAY - hub->ring_head;
        if (k > len)
            k = len;
        memcpy(hub->ring + hub->ring_head, buf, k);
        hub->ring_head = (hub->ring_head + k) % DISCO_CONSOLE_REPLAY;
        hub->ring_len = hub->ring_len + k > DISCO_CONSOLE_REPLAY ? DISCO_CONSOLE_REPLAY
                                                                 : hub->ring_len + k;
        buf += k;
        len -= k;
    }
}

void hub_output(void *ctx, const uint8_t *buf, size_t len)
{
    struct guest *g = ctx;
    struct console_hub *hub = &g->hub;
    if (!len)
        return;
    pthread_mutex_lock(&hub->lock);
    log_append(hub, buf, len);
    ring_append(hub, buf, len);
    for (struct disco_console *c = hub->watchers; c; c = c->next)
        if (!c->closed)
            c->ops.output(c->ctx, buf, len);
    pthread_mutex_unlock(&hub->lock);
}

/* ---- public API ------------------------------------------------------------------ */

struct disco_console *disco_console_attach(struct disco_host *h, const char *name,
                                           const struct disco_console_ops *ops, void *ctx,
                                           bool want_write, bool *is_writer,
                                           struct disco_err *err)
{
    err_clear(err);
    if (is_writer)
        *is_writer = false;
    if (!ops || !ops->output) {
        err_set(err, -EINVAL, "console: no output callback");
        return NULL;
    }
    struct guest *g = host_get(h, name, err);
    if (!g)
        return NULL;
    struct disco_console *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(err, -ENOMEM, "out of memory");
        guest_unref(g);
        return NULL;
    }
    c->g = g;
    c->ops = *ops;
    c->ctx = ctx;
    /* The guest lock orders us against the exited callback: either we see
     * it running and are on the list before hub_run_end, or we see it
     * stopped. */
    pthread_mutex_lock(&g->lock);
    if (g->removed || g->state == DISCO_STOPPED) {
        if (g->removed)
            err_set(err, -ENOENT, "no guest named '%s'", g->name);
        else
            guest_busy(g, "attach to the console of", err);
        pthread_mutex_unlock(&g->lock);
        free(c);
        guest_unref(g);
        return NULL;
    }
    struct console_hub *hub = &g->hub;
    pthread_mutex_lock(&hub->lock);
    if (hub->ring_len) {
        size_t start = (hub->ring_head + DISCO_CONSOLE_REPLAY - hub->ring_len) %
                       DISCO_CONSOLE_REPLAY;
        size_t first = DISCO_CONSOLE_REPLAY - start;
        if (first > hub->ring_len)
            first = hub->ring_len;
        c->ops.output(c->ctx, hub->ring + start, first);
        if (first < hub->ring_len)
            c->ops.output(c->ctx, hub->ring, hub->ring_len - first);
    }
    if (want_write && !hub->writer) {
        hub->writer = c;
        c->writer = true;
    }
    c->next = hub->watchers;
    hub->watchers = c;
    pthread_mutex_unlock(&hub->lock);
    pthread_mutex_unlock(&g->lock);
    if (is_writer)
        *is_writer = c->writer;
    return c;
}

int disco_console_write(struct disco_console *c, const uint8_t *buf, size_t len)
{
    if (!c)
        return -EINVAL;
    struct guest *g = c->g;
    pthread_mutex_lock(&g->hub.lock);
    bool closed = c->closed, writer = c->writer;
    pthread_mutex_unlock(&g->hub.lock);
    if (!writer)
        return -EPERM;
    if (closed)
        return -EPIPE;
    if (g->kind == DISCO_KIND_CONTAINER)
        return ctg_console_write(g, buf, len);
    int n = -EPIPE;
    pthread_mutex_lock(&g->vm_lock);
    if (g->vm) {
        size_t k = vm_console_input(g->vm, buf, len);
        n = k > (size_t)INT32_MAX ? INT32_MAX : (int)k;
    }
    pthread_mutex_unlock(&g->vm_lock);
    return n;
}

void disco_console_detach(struct disco_console *c)
{
    if (!c)
        return;
    struct guest *g = c->g;
    struct console_hub *hub = &g->hub;
    pthread_mutex_lock(&hub->lock);
    for (struct disco_console **pp = &hub->watchers; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (hub->writer == c)
        hub->writer = NULL;
    pthread_mutex_unlock(&hub->lock);
    free(c);
    guest_unref(g);
}

char *disco_console_log_path(struct disco_host *h, const char *name)
{
    struct guest *g = host_get(h, name, NULL);
    if (!g)
        return NULL;
    char *p = strdup(g->hub.log_path);
    guest_unref(g);
    return p;
}

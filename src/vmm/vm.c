#define _GNU_SOURCE
#include "vmm/vm.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "machine/board.h"
#include "machine/uart.h"
#include "mem/pmap.h"
#include "riscv/hart.h"
#include "virtio/virtio_mmio.h"
#include "vmm/evloop.h"
#include "vmm/memctl.h"
#include "vmm/sched.h"
#include "util/clock.h"

#define ELF_CHUNK 10000u        /* --elf: tohost is polled at least every 10k instructions */
#define POLL_INTERVAL_NS 1000000ull   /* board_poll (RTC alarm) from running harts: every 1 ms */
#define INPUT_RETRY_NS 10000000ull /* input waiting for FIFO room / a listener: retry every 10 ms */
#define OUTBUF_SIZE 8192
#define INBUF_SIZE 4096
#define CONSOLE_QUEUE (64u << 10)  /* vm_console_input bytes held for the UART */
#define WORKERS_ENV "DISCO_WORKERS"

/* HTIF (tohost/fromhost) commands. */
#define HTIF_DEV(v) ((unsigned)((v) >> 56))
#define HTIF_CMD(v) ((unsigned)(((v) >> 48) & 0xff))
#define HTIF_PAYLOAD(v) ((v) & ((1ull << 48) - 1))
#define HTIF_SYS_WRITE 64
#define HTIF_SYS_EXIT 93

enum vm_state {
    VM_NEW = 0,     /* built, never started */
    VM_STARTING,    /* vm_start is registering it */
    VM_RUNNING,     /* on a scheduler and a loop (maybe paused) */
    VM_EXITED,      /* the run ended; exited was (or is being) called */
};

/* How console input is watched: epoll on in_fd, or (regular files and
 * /dev/null, which epoll refuses) read whenever the buffer is empty. */
enum in_mode { IN_NONE, IN_EPOLL, IN_ALWAYS };

/* A byte queue: data[head, head + len). */
struct bq {
    uint8_t *data;
    size_t head, len, cap, max;
};

/* Threads: the event loop's thread is the VM's control thread (console
 * input, stop requests, board events, resets, agent traffic); the
 * scheduler's workers run the harts and call the hooks below. Ownership:
 *   - board, vdev, vcons, sv, state: changed only on the loop thread with
 *     ctl held while the VM is paused (no worker inside it); read by
 *     workers while it runs; API threads (vm_pause, vm_stats) take ctl;
 *   - console output: out_lock; console input: in_lock (harts read it via
 *     SBI getchar and HTIF); HTIF state: htif_lock; agent queue: agent_lock;
 *   - halt / fatal / HTIF result: set by a worker (ev_lock), read by the
 *     loop thread after pausing the VM;
 *   - loop-thread only: in_eof, quit, in_watched, in_timer. */
struct vm {
    struct vm_config cfg;
    struct board *board;
    struct virtio_mmio *vdev[VIRT_VIRTIO_SLOTS];
    struct virtio_mmio *vcons;
    struct virtio_mmio *vballoon;
    /* The balloon target (pages) the host last asked for (ctl). It outlives
     * a guest reboot: the rebuilt balloon gets it again, because how much
     * memory the VM may hold is the host's decision, not the guest's; the
     * rebooted guest inflates back to it once its driver is up. */
    uint64_t balloon_target;
    /* The memory controller's balloon target (pages, ctl): the guest is
     * asked for the larger of the two balloons, i.e. keeps the smaller
     * memory. Cleared on reset: the controller forgets the VM then. */
    uint64_t mc_balloon_target;
    uint64_t balloon_reported_before;         /* reported pages of devices a reset dropped */
    int efd;                                  /* eventfd: wakes the loop for this VM */
    _Atomic int stop;                         /* vm_request_stop */
    _Atomic bool kicked;                      /* efd written, loop not run yet (notify) */
    _Atomic int reset_req;                    /* vm_request_reset */

    pthread_mutex_t ctl;                      /* see above */
    enum vm_state state;
    bool user_paused;                         /* vm_pause */
    /* Memory controller (vm_start's mc): mv is this machine's entry (ctl;
     * re-added on reset). quiesce_depth counts controller quiesces in
     * progress (ctl): while nonzero nothing else resumes the vCPUs, and the
     * last unquiesce resumes them only if nobody else wants them paused. */
    struct memctl *mc;
    struct memctl_vm *mv;
    unsigned quiesce_depth;
    struct sched_vm *sv;                      /* while started */
    struct evloop *ev;
    struct vm_events events;
    uint64_t start_ns, end_ns;

    _Atomic int halt;                         /* a hart ended the run: no more slices */
    pthread_mutex_t ev_lock;
    bool htif_done, fatal;
    unsigned htif_code;
    char fatal_msg[256];
    _Atomic uint64_t last_poll_ns;

    /* console */
    pthread_mutex_t out_lock;
    _Atomic bool out_pending;
    uint8_t outbuf[OUTBUF_SIZE];
    size_t out_len;
    pthread_mutex_t in_lock;
    uint8_t inbuf[INBUF_SIZE];
    size_t in_pos, in_len;
    struct bq cq;                             /* vm_console_input (in_lock) */
    bool in_eof;
    bool quit;
    enum in_mode in_mode;
    bool in_watched;                          /* in_fd registered with the loop */
    struct evloop_timer *in_timer;            /* input retry / read-again */
    uint64_t in_timer_deadline;

    /* agent port (virtio-console receive) */
    pthread_mutex_t agent_lock;
    bool agent_open;                          /* started and not exited */
    struct bq aq;
    /* aq is not empty: only then does the guest posting receive buffers
     * need the loop (read without agent_lock: rx_posted runs under the
     * console's lock, which nests inside agent_lock). */
    _Atomic bool agent_waiting;

    pthread_mutex_t htif_lock;
    bool htif_getc_waiting;

    unsigned resets;
};

/* ---- byte queues ------------------------------------------------------------------ */

static size_t bq_room(const struct bq *q) { return q->max - q->len; }

/* Append up to n bytes (what fits under max); returns how many. */
static size_t bq_push(struct bq *q, const uint8_t *buf, size_t n)
{
    if (n > bq_room(q))
        n = bq_room(q);
    if (!n)
        return 0;
    if (q->head && q->head + q->len + n > q->cap) {
        memmove(q->data, q->data + q->head, q->len);
        q->head = 0;
    }
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        while (cap < q->len + n)
            cap *= 2;
        if (cap > q->max)
            cap = q->max;
        uint8_t *d = realloc(q->data, cap);
        if (!d)
            return 0;
        q->data = d;
        q->cap = cap;
    }
    memcpy(q->data + q->head + q->len, buf, n);
    q->len += n;
    return n;
}

static void bq_pop(struct bq *q, size_t n)
{
    q->head += n;
    q->len -= n;
    if (!q->len)
        q->head = 0;
}

static void bq_clear(struct bq *q)
{
    free(q->data);
    q->data = NULL;
    q->head = q->len = q->cap = 0;
}

/* Wake the loop for this VM. A storm of kicks (a guest hammering a
 * doorbell) costs one eventfd write until the loop has run: `kicked` is
 * cleared by vm_service after draining the eventfd and before it looks at
 * anything, so a kick that finds it set is seen by that look.
 * Async-signal-safe. */
static void notify(struct vm *vm)
{
    if (atomic_exchange(&vm->kicked, true))
        return;
    uint64_t one = 1;
    ssize_t r = write(vm->efd, &one, sizeof one);
    (void)r;
}

/* Pages the guest is asked to hold in its balloon: the user's target or
 * the controller's, whichever leaves the guest less memory. */
static uint64_t balloon_pages(const struct vm *vm)
{
    return vm->balloon_target > vm->mc_balloon_target ? vm->balloon_target
                                                      : vm->mc_balloon_target;
}

/* ctl held. */
static void balloon_apply(struct vm *vm)
{
    if (vm->vballoon)
        virtio_balloon_set_target(vm->vballoon, balloon_pages(vm));
}

/* ---- console -------------------------------------------------------------- */

static void out_flush_locked(struct vm *vm)
{
    if (vm->out_len && vm->cfg.console.write)
        vm->cfg.console.write(vm->cfg.console.ctx, vm->outbuf, vm->out_len);
    vm->out_len = 0;
    atomic_store(&vm->out_pending, false);
}

static void out_flush(struct vm *vm)
{
    if (!atomic_load(&vm->out_pending))
        return;
    pthread_mutex_lock(&vm->out_lock);
    out_flush_locked(vm);
    pthread_mutex_unlock(&vm->out_lock);
}

static void console_out(void *ctx, const uint8_t *buf, size_t len)
{
    struct vm *vm = ctx;
    pthread_mutex_lock(&vm->out_lock);
    while (len) {
        if (vm->out_len == OUTBUF_SIZE)
            out_flush_locked(vm);
        size_t k = OUTBUF_SIZE - vm->out_len;
        if (k > len)
            k = len;
        memcpy(vm->outbuf + vm->out_len, buf, k);
        vm->out_len += k;
        buf += k;
        len -= k;
    }
    if (vm->out_len)
        atomic_store(&vm->out_pending, true);
    pthread_mutex_unlock(&vm->out_lock);
}

static int console_getc(void *ctx)
{
    struct vm *vm = ctx;
    int c = -1;
    pthread_mutex_lock(&vm->in_lock);
    if (vm->in_pos < vm->in_len)
        c = vm->inbuf[vm->in_pos++];
    pthread_mutex_unlock(&vm->in_lock);
    return c;
}

/* Refill the input buffer once it is empty: queued vm_console_input bytes
 * first, else console.in_fd if input is waiting (never blocks). in_lock
 * held. */
static void input_read(struct vm *vm)
{
    if (vm->in_pos < vm->in_len)
        return;
    if (vm->cq.len) {
        size_t k = vm->cq.len < INBUF_SIZE ? vm->cq.len : INBUF_SIZE;
        memcpy(vm->inbuf, vm->cq.data + vm->cq.head, k);
        bq_pop(&vm->cq, k);
        vm->in_pos = 0;
        vm->in_len = k;
        return;
    }
    int fd = vm->cfg.console.in_fd;
    if (fd < 0 || vm->in_eof)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    uint8_t raw[INBUF_SIZE];
    ssize_t n = read(fd, raw, sizeof raw);
    if (n < 0) {
        if (errno != EINTR && errno != EAGAIN)
            vm->in_eof = true;
        return;
    }
    if (n == 0) {
        vm->in_eof = true;   /* no more input; keep running */
        return;
    }
    size_t m = (size_t)n;
    if (vm->cfg.console.filter) {
        bool quit = false;
        m = vm->cfg.console.filter(vm->cfg.console.ctx, raw, (size_t)n, vm->inbuf, &quit);
        if (m > (size_t)n)
            m = (size_t)n;
        if (quit)
            vm->quit = true;
    } else {
        memcpy(vm->inbuf, raw, m);
    }
    vm->in_pos = 0;
    vm->in_len = m;
}

/* Push waiting input into the UART's receive FIFO (what fits). in_lock held. */
static void input_deliver(struct vm *vm)
{
    if (vm->in_pos >= vm->in_len || !vm->board || !board_console_ready(vm->board))
        return;
    size_t k = uart_input(board_uart(vm->board), vm->inbuf + vm->in_pos, vm->in_len - vm->in_pos);
    vm->in_pos += k;
}

/* Move input along; returns true while some is held back (the guest is not
 * listening or its FIFO is full). Loop thread. */
static bool input_pump(struct vm *vm)
{
    pthread_mutex_lock(&vm->in_lock);
    input_deliver(vm);
    input_read(vm);
    input_deliver(vm);
    /* Fill the FIFO from the queue too while the guest takes it. */
    while (vm->in_pos >= vm->in_len && vm->cq.len && vm->board &&
           board_console_ready(vm->board)) {
        input_read(vm);
        input_deliver(vm);
    }
    bool waiting = vm->in_pos < vm->in_len || vm->cq.len;
    pthread_mutex_unlock(&vm->in_lock);
    return waiting;
}

size_t vm_console_input(struct vm *vm, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&vm->in_lock);
    size_t k = bq_push(&vm->cq, buf, len);
    pthread_mutex_unlock(&vm->in_lock);
    if (k)
        notify(vm);
    return k;
}

/* ---- board hooks ------------------------------------------------------------ */

/* A hart may have become runnable (IPI, interrupt, hart_start), or a board
 * event was requested (board_request wakes hart 0 after storing it). */
static void vm_wake(void *ctx, unsigned hart)
{
    struct vm *vm = ctx;
    if (vm->sv)
        sched_wake(vm->sv, hart);
    if (vm->board && board_event_pending(vm->board))
        notify(vm);
}

static void vm_fence_wait(void *ctx, unsigned self, uint64_t mask, int bits)
{
    struct vm *vm = ctx;
    if (vm->sv)
        sched_fence_wait(vm->sv, self, mask, bits);
}

/* The pmap's TLB shootdown (copy-on-write break, discard): any thread.
 * Not started: no hart runs, nothing to flush. */
static bool vm_shootdown(void *ctx, uint64_t gpa, bool wait)
{
    (void)gpa;
    struct vm *vm = ctx;
    struct sched_vm *sv = vm->sv;
    return !sv || sched_vm_shootdown(sv, 1 /* FLUSH_TLB */, wait);
}

void vm_request_stop(struct vm *vm)
{
    atomic_store(&vm->stop, 1);
    notify(vm);
}

/* ---- building -------------------------------------------------------------- */

static void vm_teardown(struct vm *vm)
{
    /* The board first: nothing may call into a device while it goes. */
    struct board *b = vm->board;
    vm->board = NULL;
    board_free(b);
    for (unsigned s = 0; s < VIRT_VIRTIO_SLOTS; s++) {
        if (vm->vdev[s])
            virtio_mmio_free(vm->vdev[s]);
        vm->vdev[s] = NULL;
    }
    vm->vcons = NULL;
    vm->vballoon = NULL;
}

static void rx_posted(void *ctx)
{
    struct vm *vm = ctx;
    if (atomic_load(&vm->agent_waiting))
        notify(vm);
}

/* A disk request was queued: the loop serves it (vm_service). */
static void blk_kick(void *ctx)
{
    notify(ctx);
}

static int attach(struct vm *vm, unsigned slot, struct virtio_mmio *dev, struct disco_err *err)
{
    vm->vdev[slot] = dev;
    return board_attach_mmio(vm->board, slot, &virtio_mmio_ops, dev, err);
}

static int vm_build(struct vm *vm, struct disco_err *err)
{
    const struct vm_config *c = &vm->cfg;
    struct board_config bc = {
        .nharts = c->cpus,
        .ram_size = c->mem,
        .console_out = console_out,
        .console_getc = console_getc,
        .console_ctx = vm,
        .wake = vm_wake,
        .wake_ctx = vm,
        .fence_wait = vm_fence_wait,
    };
    vm->board = board_new(&bc, err);
    if (!vm->board)
        return err ? err->code : -ENOMEM;
    pmap_set_shootdown_hook(board_pmap(vm->board), vm_shootdown, vm);
    int rc = 0;
    /* Fill slots from the top, like QEMU's virtio-mmio bus: the device
     * tree lists slot 7 first, so the first --disk is /dev/vda. */
    unsigned slot = VIRT_VIRTIO_SLOTS;
    for (unsigned i = 0; i < c->ndisks; i++) {
        slot--;
        struct virtio_host host = {board_pmap(vm->board), board_slot_irq(vm->board, slot)};
        struct virtio_mmio *d = virtio_blk_new(&host, c->disks[i], false, err);
        if (!d || (rc = attach(vm, slot, d, err)) < 0)
            goto fail;
        /* Disk I/O runs on the loop, not on the hart that notified. */
        virtio_mmio_set_kick(d, blk_kick, vm);
    }
    slot--;
    struct virtio_host hc = {board_pmap(vm->board), board_slot_irq(vm->board, slot)};
    if (c->agent_rx)
        vm->vcons = virtio_console_new(&hc, c->agent_rx, c->agent_ctx, err);
    else
        vm->vcons = virtio_console_new(&hc, console_out, vm, err);
    if (!vm->vcons || (rc = attach(vm, slot, vm->vcons, err)) < 0)
        goto fail;
    /* Agent bytes refused for want of receive buffers are retried by the
     * loop when the guest posts some. */
    virtio_console_set_rx_notify(vm->vcons, rx_posted, vm);
    slot--;
    struct virtio_host hr = {board_pmap(vm->board), board_slot_irq(vm->board, slot)};
    struct virtio_mmio *rng = virtio_rng_new(&hr, err);
    if (!rng || (rc = attach(vm, slot, rng, err)) < 0)
        goto fail;
    slot--;
    struct virtio_host hb = {board_pmap(vm->board), board_slot_irq(vm->board, slot)};
    vm->vballoon = virtio_balloon_new(&hb, err);
    if (!vm->vballoon || (rc = attach(vm, slot, vm->vballoon, err)) < 0)
        goto fail;
    if (vm->balloon_target || vm->mc_balloon_target)
        balloon_apply(vm);

    struct board_boot boot = {
        .kernel = c->kernel,
        .initrd = c->initrd,
        .cmdline = c->append,
        .bios = c->bios,
        .elf = c->elf,
    };
    if ((rc = board_boot(vm->board, &boot, err)) < 0)
        goto fail;
    vm->htif_getc_waiting = false;
    return 0;
fail:
    if (rc == 0)
        rc = err && err->code ? err->code : -EINVAL;
    vm_teardown(vm);
    return rc;
}

/* Free what vm_new set up before building the machine: the locks, the
 * eventfd, the struct. Shared by vm_new's failure path and vm_free. */
static void vm_release(struct vm *vm)
{
    if (vm->efd >= 0)
        close(vm->efd);
    pthread_mutex_destroy(&vm->htif_lock);
    pthread_mutex_destroy(&vm->agent_lock);
    pthread_mutex_destroy(&vm->ctl);
    pthread_mutex_destroy(&vm->ev_lock);
    pthread_mutex_destroy(&vm->in_lock);
    pthread_mutex_destroy(&vm->out_lock);
    bq_clear(&vm->cq);
    bq_clear(&vm->aq);
    free(vm);
}

struct vm *vm_new(const struct vm_config *cfg, struct disco_err *err)
{
    if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS) {
        err_set(err, -EINVAL, "bad number of CPUs %u (1..%u)", cfg->cpus, VM_MAX_CPUS);
        return NULL;
    }
    if (cfg->mem < VM_MIN_MEM || cfg->mem > VM_MAX_MEM || (cfg->mem & 0xfff)) {
        err_set(err, -EINVAL, "bad memory size %llu bytes (%llu MiB..%llu GiB, whole 4 KiB pages)",
                (unsigned long long)cfg->mem, (unsigned long long)(VM_MIN_MEM >> 20),
                (unsigned long long)(VM_MAX_MEM >> 30));
        return NULL;
    }
    if (cfg->ndisks > VM_MAX_DISKS) {
        err_set(err, -EINVAL, "too many disks (%u, at most %u)", cfg->ndisks, VM_MAX_DISKS);
        return NULL;
    }
    if (cfg->elf && (cfg->kernel || cfg->initrd)) {
        err_set(err, -EINVAL, "--elf cannot be combined with --kernel or --initrd");
        return NULL;
    }
    if (!cfg->elf && !cfg->kernel) {
        err_set(err, -EINVAL, "nothing to boot: give a kernel or an ELF");
        return NULL;
    }
    if (cfg->workers > SCHED_MAX_WORKERS || cfg->weight > SCHED_MAX_WEIGHT ||
        cfg->cap > 100u * SCHED_MAX_WORKERS) {
        err_set(err, -EINVAL, "bad scheduling parameters (workers %u, at most %u; weight %u, at "
                "most %u; cap %u%%)", cfg->workers, SCHED_MAX_WORKERS, cfg->weight,
                SCHED_MAX_WEIGHT, cfg->cap);
        return NULL;
    }
    struct vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        err_set(err, -ENOMEM, "out of memory for the VM");
        return NULL;
    }
    vm->cfg = *cfg;
    pthread_mutex_init(&vm->out_lock, NULL);
    pthread_mutex_init(&vm->in_lock, NULL);
    pthread_mutex_init(&vm->ev_lock, NULL);
    pthread_mutex_init(&vm->htif_lock, NULL);
    pthread_mutex_init(&vm->ctl, NULL);
    pthread_mutex_init(&vm->agent_lock, NULL);
    vm->cq.max = CONSOLE_QUEUE;
    vm->aq.max = VM_AGENT_QUEUE;
    vm->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->efd < 0) {
        err_errno(err, errno, "eventfd");
        goto fail;
    }
    if (vm_build(vm, err) < 0)
        goto fail;
    return vm;
fail:
    vm_release(vm);
    return NULL;
}

void vm_free(struct vm *vm)
{
    if (!vm)
        return;
    out_flush(vm);
    vm_teardown(vm);
    vm_release(vm);
}

/* ---- HTIF (--elf) ----------------------------------------------------------- */

/* Returns 1 and sets *code when the program asked to exit. htif_lock held. */
static int htif_poll(struct vm *vm, unsigned *code)
{
    const struct board_layout *L = board_layout(vm->board);
    struct pmap *pm = board_pmap(vm->board);
    if (!L->has_tohost)
        return 0;
    /* A pending console read (dev 1 cmd 0) is answered when input comes. */
    if (vm->htif_getc_waiting && L->has_fromhost) {
        uint64_t fh = 1;
        pmap_read(pm, L->fromhost, &fh, 8);
        if (fh == 0) {
            int c = console_getc(vm);
            if (c >= 0) {
                uint64_t v = (1ull << 56) | (uint64_t)(uint8_t)c;
                pmap_write(pm, L->fromhost, &v, 8);
                vm->htif_getc_waiting = false;
            }
        }
    }
    uint64_t v = 0;
    if (pmap_read(pm, L->tohost, &v, 8) < 0 || v == 0)
        return 0;
    unsigned dev = HTIF_DEV(v), cmd = HTIF_CMD(v);
    uint64_t payload = HTIF_PAYLOAD(v);
    uint64_t zero = 0, resp = 0;
    bool respond = false;
    if (dev == 0 && cmd == 0) {
        if (payload & 1) {
            *code = (unsigned)((payload >> 1) > 0xffffffffu ? 0xffffffffu : payload >> 1);
            pmap_write(pm, L->tohost, &zero, 8);
            return 1;
        }
        /* spike's syscall proxy: payload points at magic_mem[8]. */
        uint64_t mm[8];
        if (pmap_read(pm, payload, mm, sizeof mm) == 0) {
            int64_t ret = -38;   /* -ENOSYS */
            if (mm[0] == HTIF_SYS_WRITE && (mm[1] == 1 || mm[1] == 2)) {
                uint8_t buf[256];
                uint64_t done = 0, len = mm[3];
                while (done < len) {
                    size_t k = len - done < sizeof buf ? (size_t)(len - done) : sizeof buf;
                    if (pmap_read(pm, mm[2] + done, buf, k) < 0)
                        break;
                    console_out(vm, buf, k);
                    done += k;
                }
                ret = done == len ? (int64_t)len : -14;   /* -EFAULT */
            } else if (mm[0] == HTIF_SYS_EXIT) {
                *code = (unsigned)mm[1];
                pmap_write(pm, L->tohost, &zero, 8);
                return 1;
            }
            mm[0] = (uint64_t)ret;
            pmap_write(pm, payload, &mm[0], 8);
            resp = 1;
            respond = true;
        }
    } else if (dev == 1 && cmd == 1) {
        uint8_t c = (uint8_t)payload;
        console_out(vm, &c, 1);
        resp = (1ull << 56) | (1ull << 48) | 0x100 | c;
        respond = true;
    } else if (dev == 1 && cmd == 0) {
        vm->htif_getc_waiting = true;
    }
    pmap_write(pm, L->tohost, &zero, 8);
    if (respond && L->has_fromhost)
        pmap_write(pm, L->fromhost, &resp, 8);
    return 0;
}

/* ---- scheduler hooks (worker threads) ------------------------------------------- */

/* Stop every hart of this VM and tell the loop. */
static void halt_run(struct vm *vm)
{
    atomic_store(&vm->halt, 1);
    notify(vm);
}

static enum sched_verdict vm_enter(void *ctx, unsigned i)
{
    struct vm *vm = ctx;
    struct board *b = vm->board;
    if (atomic_load(&vm->halt) || board_event_pending(b))
        return SCHED_BLOCK;   /* the loop pauses the VM next */
    switch (board_hart_state(b, i)) {
    case BOARD_HART_STARTED: return SCHED_RUN;
    case BOARD_HART_SUSPENDED:
        /* Retentive suspend: the scheduler runs a suspended hart again only
         * after a wake-up, its timer, or with an interrupt pending. */
        board_hart_state_cas(b, i, BOARD_HART_SUSPENDED, BOARD_HART_STARTED);
        return SCHED_RUN;
    case BOARD_HART_STOP_PENDING:
        board_hart_state_cas(b, i, BOARD_HART_STOP_PENDING, BOARD_HART_STOPPED);
        return SCHED_BLOCK;
    default: return SCHED_BLOCK;   /* STOPPED / START_PENDING: hart_start wakes it */
    }
}

static enum sched_verdict vm_exit(void *ctx, unsigned i, int r)
{
    struct vm *vm = ctx;
    struct board *b = vm->board;
    out_flush(vm);
    if (vm->cfg.elf && pthread_mutex_trylock(&vm->htif_lock) == 0) {
        unsigned code = 0;
        int done = htif_poll(vm, &code);
        pthread_mutex_unlock(&vm->htif_lock);
        if (done) {
            out_flush(vm);
            pthread_mutex_lock(&vm->ev_lock);
            if (!vm->htif_done && !vm->fatal) {
                vm->htif_done = true;
                vm->htif_code = code;
            }
            pthread_mutex_unlock(&vm->ev_lock);
            halt_run(vm);
            return SCHED_BLOCK;
        }
    }
    uint64_t now = mono_ns(), last = atomic_load(&vm->last_poll_ns);
    if (now - last >= POLL_INTERVAL_NS &&
        atomic_compare_exchange_strong(&vm->last_poll_ns, &last, now))
        board_poll(b);
    if (r == RV_EXIT_FATAL) {
        struct rv_hart *h = board_hart(b, i);
        pthread_mutex_lock(&vm->ev_lock);
        if (!vm->fatal && !vm->htif_done) {
            vm->fatal = true;
            snprintf(vm->fatal_msg, sizeof vm->fatal_msg, "hart %u stopped at pc 0x%llx: %s", i,
                     (unsigned long long)h->pc, h->fatal_msg[0] ? h->fatal_msg : "fatal error");
        }
        pthread_mutex_unlock(&vm->ev_lock);
        halt_run(vm);
        return SCHED_BLOCK;
    }
    if (atomic_load(&vm->halt) || board_event_pending(b))
        return SCHED_BLOCK;
    switch (board_hart_state(b, i)) {
    case BOARD_HART_STOP_PENDING:   /* hart_stop: it has left rv_hart_run now */
        board_hart_state_cas(b, i, BOARD_HART_STOP_PENDING, BOARD_HART_STOPPED);
        return SCHED_BLOCK;
    case BOARD_HART_STOPPED:
    case BOARD_HART_START_PENDING: return SCHED_BLOCK;
    case BOARD_HART_SUSPENDED: return SCHED_SLEEP;
    default: break;
    }
    return r == RV_EXIT_WFI ? SCHED_SLEEP : SCHED_RUN;
}

static const struct sched_vm_ops vm_sched_ops = {
    .enter = vm_enter,
    .exit = vm_exit,
};

/* ---- memory controller hooks (its ticks: the loop thread) ------------------------- */

/* Nesting: vm_pause (user_paused), the loop's own pauses (stop, reset:
 * serialised with the controller on the loop thread) and controller
 * quiesces all pause the scheduler VM; it is resumed only when none of
 * them holds it: here, in vm_resume, in vm_start and after a reset. */
static void mc_quiesce(void *ctx)
{
    struct vm *vm = ctx;
    pthread_mutex_lock(&vm->ctl);
    vm->quiesce_depth++;
    if (vm->sv)
        sched_vm_pause(vm->sv);
    pthread_mutex_unlock(&vm->ctl);
}

static void mc_unquiesce(void *ctx)
{
    struct vm *vm = ctx;
    pthread_mutex_lock(&vm->ctl);
    if (vm->quiesce_depth && --vm->quiesce_depth == 0 && vm->sv && vm->state == VM_RUNNING &&
        !vm->user_paused)
        sched_vm_resume(vm->sv);
    pthread_mutex_unlock(&vm->ctl);
}

static void mc_flush_tlbs(void *ctx)
{
    struct vm *vm = ctx;
    pthread_mutex_lock(&vm->ctl);
    if (vm->board)
        for (unsigned i = 0; i < board_nharts(vm->board); i++)
            rv_hart_flush_tlb(board_hart(vm->board, i));
    pthread_mutex_unlock(&vm->ctl);
}

static int mc_balloon(void *ctx, uint64_t guest_mem)
{
    struct vm *vm = ctx;
    pthread_mutex_lock(&vm->ctl);
    int rc = -ENODEV;
    if (vm->state == VM_RUNNING && vm->vballoon) {
        vm->mc_balloon_target = guest_mem >= vm->cfg.mem ? 0 : (vm->cfg.mem - guest_mem) >> 12;
        balloon_apply(vm);
        rc = 0;
    }
    pthread_mutex_unlock(&vm->ctl);
    return rc;
}

static uint64_t mc_ballooned(void *ctx)
{
    struct vm *vm = ctx;
    pthread_mutex_lock(&vm->ctl);
    uint64_t bytes = 0;
    if (vm->vballoon) {
        struct virtio_balloon_info bi;
        virtio_balloon_info(vm->vballoon, &bi);
        bytes = bi.inflated_pages * 4096u;
    }
    pthread_mutex_unlock(&vm->ctl);
    return bytes;
}

static const struct memctl_vm_ops vm_mem_ops = {
    .quiesce = mc_quiesce,
    .unquiesce = mc_unquiesce,
    .flush_tlbs = mc_flush_tlbs,
    .balloon = mc_balloon,
    .ballooned = mc_ballooned,
};

/* Hand the current machine's pmap to the controller (ctl may be held:
 * memctl_vm_add takes only the controller's lock). */
static int mem_attach(struct vm *vm, struct disco_err *err)
{
    if (!vm->mc)
        return 0;
    struct memctl_vm_params p = {
        .pm = board_pmap(vm->board),
        .reservation = vm->cfg.mem_reservation,
        .limit = vm->cfg.mem_limit,
        .shares = vm->cfg.mem_shares,
        .share_domain = vm->cfg.share_domain,
        .ops = &vm_mem_ops,
        .ctx = vm,
    };
    vm->mv = memctl_vm_add(vm->mc, &p, err);
    if (!vm->mv)
        return err && err->code ? err->code : -ENOMEM;
    return 0;
}

/* ---- the run (the event loop's thread) ---------------------------------------------- */

static int harts_of(struct vm *vm, struct rv_hart **harts)
{
    unsigned n = board_nharts(vm->board);
    for (unsigned i = 0; i < n; i++)
        harts[i] = board_hart(vm->board, i);
    return (int)n;
}

/* Worker threads: cfg.workers, else $DISCO_WORKERS, else one per host CPU
 * but no more than the VM has harts. */
static int pick_workers(const struct vm *vm, unsigned *out, struct disco_err *err)
{
    if (vm->cfg.workers) {
        *out = vm->cfg.workers;
        return 0;
    }
    const char *e = getenv(WORKERS_ENV);
    if (e && *e) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(e, &end, 10);
        if (!isdigit((unsigned char)*e) || errno || *end || v < 1 || v > SCHED_MAX_WORKERS)
            return err_set(err, -EINVAL, "$" WORKERS_ENV "='%s' is not a number of worker "
                           "threads (1..%u)", e, SCHED_MAX_WORKERS);
        *out = (unsigned)v;
        return 0;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned w = n < 1 ? 1 : (unsigned)n;
    *out = w < vm->cfg.cpus ? w : vm->cfg.cpus;
    return 0;
}

/* Serve a reset (VM paused, ctl held): rebuild the machine from the config.
 * The agent's queue belongs to the old guest: drop it. */
static int vm_reset(struct vm *vm, struct disco_err *err)
{
    out_flush(vm);
    pthread_mutex_lock(&vm->agent_lock);
    bq_clear(&vm->aq);
    pthread_mutex_unlock(&vm->agent_lock);
    if (vm->vballoon) {
        struct virtio_balloon_info bi;
        virtio_balloon_info(vm->vballoon, &bi);
        vm->balloon_reported_before += bi.reported_pages;
    }
    /* The controller lets go of the old pmap before it is freed. ctl is
     * held, but the controller's ticks run on this (the loop's) thread, so
     * none is in progress and the removal does not wait. */
    memctl_vm_remove(vm->mv);
    vm->mv = NULL;
    vm->mc_balloon_target = 0;
    vm_teardown(vm);
    vm->resets++;
    int rc = vm_build(vm, err);
    if (rc < 0)
        return rc;
    if ((rc = mem_attach(vm, err)) < 0)
        return rc;
    struct rv_hart *harts[BOARD_MAX_HARTS];
    int n = harts_of(vm, harts);
    if ((rc = sched_vm_set_harts(vm->sv, harts, (unsigned)n)) < 0)
        return err_set(err, rc, "cannot hand the rebuilt harts to the scheduler");
    return 0;
}

/* Push queued agent bytes into the buffers the guest posted. Loop thread. */
static void agent_pump(struct vm *vm)
{
    pthread_mutex_lock(&vm->agent_lock);
    if (vm->aq.len && vm->vcons)
        bq_pop(&vm->aq, virtio_console_input(vm->vcons, vm->aq.data + vm->aq.head, vm->aq.len));
    atomic_store(&vm->agent_waiting, vm->aq.len != 0);
    pthread_mutex_unlock(&vm->agent_lock);
}

static void in_fd_fn(void *ctx, int fd, uint32_t events);
static void in_timer_fn(void *ctx);

/* Arm the input timer for `deadline` unless it fires sooner already. */
static void in_timer_arm(struct vm *vm, uint64_t deadline)
{
    if (vm->in_timer) {
        if (vm->in_timer_deadline <= deadline)
            return;
        evloop_timer_cancel(vm->ev, vm->in_timer);
    }
    vm->in_timer = evloop_timer_add(vm->ev, deadline, in_timer_fn, vm);
    vm->in_timer_deadline = deadline;
}

/* Watch console.in_fd only while nothing is held back (as ppoll did): a
 * full FIFO pushes back on the input instead of waking the loop; input
 * held back is retried every INPUT_RETRY_NS. Loop thread, ctl held. */
static void input_arm(struct vm *vm, bool waiting)
{
    bool want = vm->in_mode != IN_NONE && !vm->in_eof && !waiting;
    if (vm->in_mode == IN_EPOLL && want != vm->in_watched) {
        if (!want)
            evloop_del(vm->ev, vm->cfg.console.in_fd);
        vm->in_watched = want &&
            evloop_add(vm->ev, vm->cfg.console.in_fd, EPOLLIN, in_fd_fn, vm, NULL) == 0;
    }
    if (waiting)
        in_timer_arm(vm, evloop_now_ns() + INPUT_RETRY_NS);
    else if (want && vm->in_mode == IN_ALWAYS)
        in_timer_arm(vm, 0);   /* a file: read on as the guest takes it */
}

/* The run is over (ctl held, VM paused): leave the scheduler and the loop,
 * then report. The VM may be freed by exited: nothing touches it after. */
static void vm_finish(struct vm *vm, struct vm_exit *ex, int rc, const struct disco_err *err)
{
    ex->resets = vm->resets;
    sched_vm_remove(vm->sv);
    vm->sv = NULL;
    vm->state = VM_EXITED;
    vm->end_ns = evloop_now_ns();
    pthread_mutex_lock(&vm->agent_lock);
    vm->agent_open = false;
    bq_clear(&vm->aq);
    pthread_mutex_unlock(&vm->agent_lock);
    evloop_del(vm->ev, vm->efd);
    if (vm->in_watched)
        evloop_del(vm->ev, vm->cfg.console.in_fd);
    vm->in_watched = false;
    evloop_timer_cancel(vm->ev, vm->in_timer);
    vm->in_timer = NULL;
    out_flush(vm);
    struct vm_events evs = vm->events;
    struct memctl_vm *mv = vm->mv;
    vm->mv = NULL;
    pthread_mutex_unlock(&vm->ctl);
    /* Before exited (which may free the VM and its pmap). */
    memctl_vm_remove(mv);
    if (evs.exited)
        evs.exited(evs.ctx, vm, ex, rc, rc < 0 ? err : NULL);
}

/* Everything the loop does for one VM, whatever woke it: drain the
 * eventfd, move console input and agent bytes, and serve what ends or
 * restarts the run (the body of the old vm_run loop). */
static void vm_service(struct vm *vm)
{
    uint64_t drain;
    while (read(vm->efd, &drain, sizeof drain) > 0)
        ;
    /* After the drain: a kick whose write we just consumed has its work
     * visible below; one that finds `kicked` clear from here on writes
     * again. (Clearing first would let a drained kick leave it set with
     * nothing pending, and later kicks would be lost.) */
    atomic_store(&vm->kicked, false);
    pthread_mutex_lock(&vm->ctl);
    if (vm->state != VM_RUNNING) {
        pthread_mutex_unlock(&vm->ctl);   /* vm_start re-notifies once it is */
        return;
    }
    /* Pending disk requests first (a waiting hart's latency), whatever woke
     * the loop; also while the user has the VM paused (the guest cannot
     * tell), and before a reset or stop below drops them with the devices. */
    for (unsigned s = 0; s < VIRT_VIRTIO_SLOTS; s++)
        virtio_mmio_serve(vm->vdev[s]);
    input_pump(vm);
    board_poll(vm->board);
    agent_pump(vm);
    bool did_reset = false;
    struct vm_exit ex = {0};
    struct disco_err err = {0};
    while (atomic_load(&vm->stop) || vm->quit || atomic_load(&vm->halt) ||
           board_event_pending(vm->board) || atomic_load(&vm->reset_req)) {
        /* Something ends or restarts the run: take every hart off the
         * workers first. */
        sched_vm_pause(vm->sv);
        out_flush(vm);
        int rc = 0;
        if (vm->fatal) {
            rc = err_set(&err, -EFAULT, "%s", vm->fatal_msg);
            vm_finish(vm, &ex, rc, &err);
            return;
        }
        if (vm->htif_done) {
            ex.reason = VM_EXIT_HTIF;
            ex.code = vm->htif_code;
            vm_finish(vm, &ex, (int)(vm->htif_code & 0x7fffffff), NULL);
            return;
        }
        unsigned code = 0;
        enum board_event bev = board_take_event(vm->board, &code);
        if (bev == BOARD_EV_POWEROFF) {
            ex.reason = VM_EXIT_POWEROFF;
            vm_finish(vm, &ex, 0, NULL);
            return;
        }
        if (bev == BOARD_EV_FAIL) {
            ex.reason = VM_EXIT_FAIL;
            ex.code = code;
            vm_finish(vm, &ex, code ? (int)(code & 0x7fffffff) : 1, NULL);
            return;
        }
        if (bev != BOARD_EV_RESET && (atomic_load(&vm->stop) || vm->quit)) {
            ex.reason = vm->quit ? VM_EXIT_QUIT : VM_EXIT_STOPPED;
            vm_finish(vm, &ex, 0, NULL);
            return;
        }
        if (bev == BOARD_EV_RESET || atomic_load(&vm->reset_req)) {
            atomic_store(&vm->reset_req, 0);   /* any reset serves the request */
            if ((rc = vm_reset(vm, &err)) < 0) {
                vm_finish(vm, &ex, rc, &err);
                return;
            }
            did_reset = true;
            /* Tell the owner before the rebuilt machine runs: a fast guest
             * agent's hello must come after the old connection was torn
             * down (else it is lost, and the agent never reads as ready).
             * Bytes queued for the old guest until then are dropped. */
            if (vm->events.reset)
                vm->events.reset(vm->events.ctx, vm);
            pthread_mutex_lock(&vm->agent_lock);
            bq_clear(&vm->aq);
            pthread_mutex_unlock(&vm->agent_lock);
        }
        if (!vm->user_paused && !vm->quiesce_depth)
            sched_vm_resume(vm->sv);
        if (did_reset) {
            /* One reset per call: a guest rebooting in a tight loop must
             * not keep the shared loop to itself. Look again soon. */
            notify(vm);
            break;
        }
    }
    input_arm(vm, input_pump(vm));
    pthread_mutex_unlock(&vm->ctl);
}

static void efd_fn(void *ctx, int fd, uint32_t events)
{
    (void)fd;
    (void)events;
    vm_service(ctx);
}

static void in_fd_fn(void *ctx, int fd, uint32_t events)
{
    (void)fd;
    (void)events;
    vm_service(ctx);
}

static void in_timer_fn(void *ctx)
{
    struct vm *vm = ctx;
    vm->in_timer = NULL;   /* fired: no longer ours to cancel */
    vm_service(vm);
}

int vm_start(struct vm *vm, struct sched *s, struct evloop *ev, struct memctl *mc,
             const struct vm_events *events, struct disco_err *err)
{
    pthread_mutex_lock(&vm->ctl);
    if (vm->state != VM_NEW) {
        pthread_mutex_unlock(&vm->ctl);
        return err_set(err, -EBUSY, "the VM was started already");
    }
    if (!vm->board) {
        pthread_mutex_unlock(&vm->ctl);
        return err_set(err, -EINVAL, "the VM has no machine (a previous reset failed)");
    }
    /* The controller first: its checks (reservations against the budget)
     * are the likeliest reason to refuse the start. From here on it may
     * quiesce the VM; nothing resumes it while it does. */
    vm->mc = mc;
    int mrc = mem_attach(vm, err);
    if (mrc < 0) {
        vm->mc = NULL;
        pthread_mutex_unlock(&vm->ctl);
        return mrc;
    }
    struct rv_hart *harts[BOARD_MAX_HARTS];
    struct sched_vm_params p = {
        .harts = harts,
        .nharts = (unsigned)harts_of(vm, harts),
        .weight = vm->cfg.weight,
        .cap = vm->cfg.cap,
        .max_chunk = vm->cfg.elf ? ELF_CHUNK : 0,
        .ops = &vm_sched_ops,
        .ctx = vm,
    };
    vm->sv = sched_vm_add(s, &p, err);
    if (!vm->sv) {
        struct memctl_vm *mv = vm->mv;
        vm->mv = NULL;
        vm->mc = NULL;
        pthread_mutex_unlock(&vm->ctl);
        memctl_vm_remove(mv);   /* without ctl: a tick may be quiescing the VM */
        return err && err->code ? err->code : -ENOMEM;
    }
    vm->ev = ev;
    if (events)
        vm->events = *events;
    vm->state = VM_STARTING;
    atomic_store(&vm->halt, 0);
    vm->htif_done = vm->fatal = false;
    pthread_mutex_unlock(&vm->ctl);

    /* Registered without ctl held: a callback that runs meanwhile sees
     * VM_STARTING and returns, so nothing here waits on it. */
    pthread_mutex_lock(&vm->agent_lock);
    vm->agent_open = true;
    pthread_mutex_unlock(&vm->agent_lock);
    enum in_mode mode = IN_NONE;
    int rc = evloop_add(ev, vm->efd, EPOLLIN, efd_fn, vm, err);
    int in_fd = vm->cfg.console.in_fd;
    if (rc == 0 && in_fd >= 0) {
        rc = evloop_add(ev, in_fd, EPOLLIN, in_fd_fn, vm, NULL);
        if (rc == -EPERM) {
            mode = IN_ALWAYS;   /* a regular file or /dev/null: always readable */
            rc = 0;
        } else if (rc == 0) {
            mode = IN_EPOLL;
        } else {
            err_set(err, rc, "cannot watch console input (fd %d)", in_fd);
            evloop_del(ev, vm->efd);
        }
    }
    pthread_mutex_lock(&vm->ctl);
    if (rc < 0) {
        struct memctl_vm *mv = vm->mv;
        vm->mv = NULL;
        vm->mc = NULL;
        vm->state = VM_NEW;
        pthread_mutex_unlock(&vm->ctl);
        /* Controller first, without ctl: a tick may be quiescing the VM,
         * which takes ctl and pauses vm->sv. */
        memctl_vm_remove(mv);
        pthread_mutex_lock(&vm->ctl);
        sched_vm_remove(vm->sv);
        vm->sv = NULL;
        pthread_mutex_unlock(&vm->ctl);
        pthread_mutex_lock(&vm->agent_lock);
        vm->agent_open = false;
        pthread_mutex_unlock(&vm->agent_lock);
        return rc;
    }
    vm->in_mode = mode;
    vm->in_watched = mode == IN_EPOLL;
    vm->state = VM_RUNNING;
    vm->start_ns = evloop_now_ns();
    if (!vm->quiesce_depth)   /* else the controller's unquiesce resumes it */
        sched_vm_resume(vm->sv);
    pthread_mutex_unlock(&vm->ctl);
    notify(vm);   /* serve what came while starting (a stop, input) */
    return 0;
}

void vm_stop(struct vm *vm)
{
    vm_request_stop(vm);
}

void vm_request_reset(struct vm *vm)
{
    atomic_store(&vm->reset_req, 1);
    notify(vm);
}

int vm_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->ctl);
    int rc = -EINVAL;
    if (vm->state == VM_RUNNING) {
        sched_vm_pause(vm->sv);
        vm->user_paused = true;
        rc = 0;
    }
    pthread_mutex_unlock(&vm->ctl);
    return rc;
}

int vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->ctl);
    int rc = -EINVAL;
    if (vm->state == VM_RUNNING) {
        if (vm->user_paused && !vm->quiesce_depth)   /* else the controller resumes it */
            sched_vm_resume(vm->sv);
        vm->user_paused = false;
        rc = 0;
    }
    pthread_mutex_unlock(&vm->ctl);
    return rc;
}

int vm_agent_send(struct vm *vm, const uint8_t *buf, size_t len)
{
    if (len > VM_AGENT_QUEUE)
        return -ENOBUFS;
    pthread_mutex_lock(&vm->agent_lock);
    int rc = (int)len;
    if (!vm->agent_open)
        rc = -EPIPE;
    else if (len > bq_room(&vm->aq) || bq_push(&vm->aq, buf, len) != len)
        rc = -ENOBUFS;
    else
        atomic_store(&vm->agent_waiting, true);
    pthread_mutex_unlock(&vm->agent_lock);
    if (rc > 0)
        notify(vm);
    return rc;
}

int vm_set_sched(struct vm *vm, unsigned weight, unsigned cap)
{
    if (weight > SCHED_MAX_WEIGHT || cap > 100u * SCHED_MAX_WORKERS)
        return -EINVAL;
    pthread_mutex_lock(&vm->ctl);
    vm->cfg.weight = weight;
    vm->cfg.cap = cap;
    if (vm->sv) {
        sched_vm_set_weight(vm->sv, weight);
        sched_vm_set_cap(vm->sv, cap);
    }
    pthread_mutex_unlock(&vm->ctl);
    return 0;
}

void vm_stats(struct vm *vm, struct vm_stats *st)
{
    memset(st, 0, sizeof *st);
    st->cpus = vm->cfg.cpus;
    st->mem = vm->cfg.mem;
    st->weight = vm->cfg.weight ? vm->cfg.weight : SCHED_DEFAULT_WEIGHT;
    st->cap = vm->cfg.cap;
    pthread_mutex_lock(&vm->ctl);
    if (vm->board) {
        struct pmap *pm = board_pmap(vm->board);
        st->mem_touched = pmap_touched_pages(pm) * 4096u;
        st->mem_resident = pmap_resident_pages(pm) * 4096u;
        struct pmap_stats ps;
        pmap_stats(pm, &ps);
        st->mem_private = ps.private_pages * PMAP_PAGE_SIZE;
        st->mem_shared = ps.shared_pages * PMAP_PAGE_SIZE;
        st->mem_swapped = ps.swapped_pages * PMAP_PAGE_SIZE;
        st->cow_breaks = ps.cow_breaks;
        st->merges = ps.merges;
        st->swap_ins = ps.swap_ins;
        st->swap_outs = ps.swap_outs;
    }
    if (vm->mv) {
        struct memctl_vm_stats ms;
        memctl_vm_stats(vm->mv, &ms);
        st->mem_working_set = ms.working_set;
        st->mem_target = ms.target;
        st->mem_reservation = ms.reservation;
        st->mem_limit = ms.limit;
        st->mem_shares = ms.shares;
    }
    st->balloon_target = balloon_pages(vm) * 4096u;
    st->balloon_reported = vm->balloon_reported_before * 4096u;
    if (vm->vballoon) {
        struct virtio_balloon_info bi;
        virtio_balloon_info(vm->vballoon, &bi);
        st->balloon_actual = bi.actual_pages * 4096u;
        st->balloon_reported += bi.reported_pages * 4096u;
    }
    st->resets = vm->resets;
    if (vm->start_ns)
        st->uptime_ns = (vm->end_ns ? vm->end_ns : evloop_now_ns()) - vm->start_ns;
    if (vm->sv) {
        struct sched_vm_stats s;
        sched_vm_stats(vm->sv, &s);
        st->cpu_ns = s.cpu_ns;
        st->run_ns = s.run_ns;
        st->instret = s.instret;
        st->slices = s.slices;
        st->wakeups = s.wakeups;
        st->preemptions = s.preemptions;
        st->parks = s.parks;
        st->weight = s.weight;
        st->cap = s.cap;
        for (unsigned i = 0; i < s.nvcpus && i < VM_MAX_CPUS; i++) {
            struct sched_vcpu_stats c;
            sched_vcpu_stats(vm->sv, i, &c);
            st->vcpu[i] = (struct vm_vcpu_stats){
                .cpu_ns = c.cpu_ns,
                .instret = c.instret,
                .slices = c.slices,
                .wakeups = c.wakeups,
                .sleeping = c.state == SCHED_VCPU_SLEEPING || c.state == SCHED_VCPU_BLOCKED,
            };
        }
    }
    st->paused = vm->user_paused && vm->state == VM_RUNNING;
    pthread_mutex_unlock(&vm->ctl);
}

int vm_balloon(struct vm *vm, uint64_t guest_mem)
{
    if (guest_mem < VM_MIN_MEM)
        return -EINVAL;
    uint64_t pages = guest_mem >= vm->cfg.mem ? 0 : (vm->cfg.mem - guest_mem) >> 12;
    pthread_mutex_lock(&vm->ctl);
    int rc = -EPIPE;
    if (vm->state == VM_RUNNING && vm->vballoon) {
        vm->balloon_target = pages;
        balloon_apply(vm);
        rc = 0;
    }
    pthread_mutex_unlock(&vm->ctl);
    return rc;
}

/* vm_run: the foreground run of `disco run` on a private scheduler and
 * loop; the calling thread runs the loop. */
struct run_result {
    struct evloop *ev;
    struct vm_exit *ex;
    struct disco_err *err;
    int rc;
    bool done;
};

static void run_exited(void *ctx, struct vm *vm, const struct vm_exit *ex, int rc,
                       const struct disco_err *err)
{
    (void)vm;
    struct run_result *r = ctx;
    *r->ex = *ex;
    r->rc = rc;
    if (rc < 0 && err && r->err)
        *r->err = *err;
    r->done = true;
    evloop_quit(r->ev);
}

int vm_run(struct vm *vm, struct vm_exit *ex, struct disco_err *err)
{
    struct vm_exit dummy;
    if (!ex)
        ex = &dummy;
    memset(ex, 0, sizeof *ex);
    if (!vm->board)
        return err_set(err, -EINVAL, "the VM has no machine (a previous reset failed)");

    unsigned workers = 0;
    int rc = pick_workers(vm, &workers, err);
    if (rc < 0)
        return rc;
    struct sched_config sc = {.workers = workers};
    struct sched *s = sched_new(&sc, err);
    if (!s)
        return err && err->code ? err->code : -ENOMEM;
    struct evloop *ev = evloop_new(err);
    if (!ev) {
        sched_free(s);
        return err && err->code ? err->code : -ENOMEM;
    }
    /* Its own memory controller (default pool: 3/4 of the host's memory),
     * so the VM's limit, reservation and sharing apply here too. */
    struct memctl *mc = memctl_new(NULL, ev, err);
    if (!mc) {
        evloop_free(ev);
        sched_free(s);
        return err && err->code ? err->code : -ENOMEM;
    }
    struct run_result r = {.ev = ev, .ex = ex, .err = err};
    struct vm_events events = {.exited = run_exited, .ctx = &r};
    if ((rc = vm_start(vm, s, ev, mc, &events, err)) == 0) {
        while (!r.done) {
            int lrc = evloop_run(ev);
            if (lrc < 0 && !r.done) {
                /* epoll itself failed: the loop cannot serve the stop, so
                 * end the run here, the way the loop would have. */
                pthread_mutex_lock(&vm->ctl);
                sched_vm_pause(vm->sv);
                ex->reason = VM_EXIT_STOPPED;
                struct disco_err e = {0};
                err_errno(&e, -lrc, "event loop");
                vm_finish(vm, ex, lrc, &e);
            }
        }
        rc = r.rc;
    }
    /* The pool goes with the run, and it must outlive every pmap attached
     * to it: the machine goes first (the run is over; vm_free follows). */
    out_flush(vm);
    pthread_mutex_lock(&vm->ctl);
    vm_teardown(vm);
    vm->mc = NULL;
    pthread_mutex_unlock(&vm->ctl);
    memctl_free(mc);
    evloop_free(ev);
    sched_free(s);
    return rc;
}

struct pmap *vm_pmap(struct vm *vm)
{
    return vm->board ? board_pmap(vm->board) : NULL;
}

/* ---- config helpers ---------------------------------------------------------------- */

int vm_parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -ERANGE;
    unsigned shift = 20;   /* no suffix: MiB, like QEMU -m */
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        default: return -EINVAL;
        }
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
        if (*end)
            return -EINVAL;
    }
    if (v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

#define _GNU_SOURCE /* ppoll */
#include "vmm/vm.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "machine/board.h"
#include "machine/uart.h"
#include "riscv/hart.h"
#include "virtio/virtio_mmio.h"

#define SLICE_LINUX 100000u     /* instructions per slice */
#define SLICE_ELF 10000u        /* --elf: short slices, tohost is polled between */
#define INPUT_CHECK_NS 1000000  /* look at console input at most every 1 ms while busy */
#define INPUT_RETRY_NS 10000000 /* idle but input waiting for FIFO room: retry every 10 ms */
#define OUTBUF_SIZE 8192
#define INBUF_SIZE 4096

/* HTIF (tohost/fromhost) commands. */
#define HTIF_DEV(v) ((unsigned)((v) >> 56))
#define HTIF_CMD(v) ((unsigned)(((v) >> 48) & 0xff))
#define HTIF_PAYLOAD(v) ((v) & ((1ull << 48) - 1))
#define HTIF_SYS_WRITE 64
#define HTIF_SYS_EXIT 93

struct vm {
    struct vm_config cfg;
    struct board *board;
    struct virtio_mmio *vdev[VIRT_VIRTIO_SLOTS];
    struct virtio_mmio *vcons;
    unsigned slice;

    /* idle bookkeeping, per hart */
    bool idle[BOARD_MAX_HARTS];
    uint64_t idle_since[BOARD_MAX_HARTS];     /* rv_clock time when it went idle */
    _Atomic int woken[BOARD_MAX_HARTS];       /* someone made it runnable */
    _Atomic int sleeping;                     /* the loop is (about to be) in ppoll */
    int efd;                                  /* eventfd for wake-ups from other threads */
    _Atomic int stop;                         /* vm_request_stop */

    /* console */
    pthread_mutex_t out_lock;
    uint8_t outbuf[OUTBUF_SIZE];
    size_t out_len;
    uint8_t inbuf[INBUF_SIZE];
    size_t in_pos, in_len;
    bool in_eof;
    bool quit;
    uint64_t last_input_check_ns;
    bool htif_getc_waiting;

    unsigned resets;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- console -------------------------------------------------------------- */

static void out_flush_locked(struct vm *vm)
{
    if (vm->out_len && vm->cfg.console.write)
        vm->cfg.console.write(vm->cfg.console.ctx, vm->outbuf, vm->out_len);
    vm->out_len = 0;
}

static void out_flush(struct vm *vm)
{
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
    pthread_mutex_unlock(&vm->out_lock);
}

static int console_getc(void *ctx)
{
    struct vm *vm = ctx;
    if (vm->in_pos < vm->in_len)
        return vm->inbuf[vm->in_pos++];
    return -1;
}

/* Read console input if any is waiting (never blocks). */
static void input_read(struct vm *vm)
{
    int fd = vm->cfg.console.in_fd;
    if (fd < 0 || vm->in_eof || vm->in_pos < vm->in_len)
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

/* Push waiting input into the UART's receive FIFO (what fits). */
static void input_deliver(struct vm *vm)
{
    if (vm->in_pos >= vm->in_len || !vm->board || !board_console_ready(vm->board))
        return;
    size_t k = uart_input(board_uart(vm->board), vm->inbuf + vm->in_pos, vm->in_len - vm->in_pos);
    vm->in_pos += k;
}

static void input_pump(struct vm *vm)
{
    input_deliver(vm);
    input_read(vm);
    input_deliver(vm);
}

/* ---- wake-ups -------------------------------------------------------------- */

static void vm_wake(void *ctx, unsigned hart)
{
    struct vm *vm = ctx;
    if (hart < BOARD_MAX_HARTS)
        atomic_store(&vm->woken[hart], 1);
    if (atomic_load(&vm->sleeping)) {
        uint64_t one = 1;
        ssize_t r = write(vm->efd, &one, sizeof one);
        (void)r;
    }
}

void vm_request_stop(struct vm *vm)
{
    atomic_store(&vm->stop, 1);
    uint64_t one = 1;
    ssize_t r = write(vm->efd, &one, sizeof one);
    (void)r;
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
    };
    vm->board = board_new(&bc, err);
    if (!vm->board)
        return err ? err->code : -ENOMEM;
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
    }
    slot--;
    struct virtio_host hc = {board_pmap(vm->board), board_slot_irq(vm->board, slot)};
    vm->vcons = virtio_console_new(&hc, console_out, vm, err);
    if (!vm->vcons || (rc = attach(vm, slot, vm->vcons, err)) < 0)
        goto fail;
    slot--;
    struct virtio_host hr = {board_pmap(vm->board), board_slot_irq(vm->board, slot)};
    struct virtio_mmio *rng = virtio_rng_new(&hr, err);
    if (!rng || (rc = attach(vm, slot, rng, err)) < 0)
        goto fail;

    struct board_boot boot = {
        .kernel = c->kernel,
        .initrd = c->initrd,
        .cmdline = c->append,
        .bios = c->bios,
        .elf = c->elf,
    };
    if ((rc = board_boot(vm->board, &boot, err)) < 0)
        goto fail;
    for (unsigned i = 0; i < BOARD_MAX_HARTS; i++) {
        vm->idle[i] = false;
        atomic_store(&vm->woken[i], 0);
    }
    vm->htif_getc_waiting = false;
    return 0;
fail:
    if (rc == 0)
        rc = err && err->code ? err->code : -EINVAL;
    vm_teardown(vm);
    return rc;
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
    struct vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        err_set(err, -ENOMEM, "out of memory for the VM");
        return NULL;
    }
    vm->cfg = *cfg;
    vm->slice = cfg->elf ? SLICE_ELF : SLICE_LINUX;
    pthread_mutex_init(&vm->out_lock, NULL);
    vm->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->efd < 0) {
        err_errno(err, errno, "eventfd");
        pthread_mutex_destroy(&vm->out_lock);
        free(vm);
        return NULL;
    }
    if (vm_build(vm, err) < 0) {
        close(vm->efd);
        pthread_mutex_destroy(&vm->out_lock);
        free(vm);
        return NULL;
    }
    return vm;
}

void vm_free(struct vm *vm)
{
    if (!vm)
        return;
    out_flush(vm);
    vm_teardown(vm);
    close(vm->efd);
    pthread_mutex_destroy(&vm->out_lock);
    free(vm);
}

/* ---- HTIF (--elf) ----------------------------------------------------------- */

/* Returns 1 and sets *code when the program asked to exit. */
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
        int c = console_getc(vm);
        if (fh == 0 && c >= 0) {
            uint64_t v = (1ull << 56) | (uint64_t)(uint8_t)c;
            pmap_write(pm, L->fromhost, &v, 8);
            vm->htif_getc_waiting = false;
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

/* ---- the run loop -------------------------------------------------------------- */

/* An idle hart becomes runnable when someone woke it, an enabled interrupt
 * is pending, or its timer came due after it went idle (a timer that was
 * already due then is masked: it does not count, or we would spin). */
static bool idle_hart_due(struct vm *vm, unsigned i, struct rv_hart *h, uint64_t now)
{
    if (atomic_exchange(&vm->woken[i], 0))
        return true;
    if (rv_hart_wakeup_pending(h))
        return true;
    uint64_t t = rv_hart_next_timer(h);
    return t != UINT64_MAX && t <= now && t > vm->idle_since[i];
}

/* Sleep until a timer deadline, console input, or a wake-up. */
static void idle_wait(struct vm *vm)
{
    struct board *b = vm->board;
    struct rv_clock *clk = board_clock(b);
    uint64_t now = rv_clock_now(clk);
    uint64_t deadline = UINT64_MAX;
    for (unsigned i = 0; i < board_nharts(b); i++) {
        enum board_hart_state st = board_hart_state(b, i);
        if (st != BOARD_HART_STARTED && st != BOARD_HART_SUSPENDED)
            continue;
        uint64_t t = rv_hart_next_timer(board_hart(b, i));
        if (t != UINT64_MAX && t > vm->idle_since[i] && t < deadline)
            deadline = t;
    }
    int64_t timeout_ns = -1;
    if (deadline != UINT64_MAX) {
        uint64_t ticks = deadline > now ? deadline - now : 0;
        uint64_t hz = clk->freq_hz;
        uint64_t ns = ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz;
        timeout_ns = ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ns;
    }
    bool input_waiting = vm->in_pos < vm->in_len;
    /* Input held back for a full FIFO: retry now and then. (Input held
     * back because the guest is not listening yet needs no timer: that
     * only changes when a hart runs.) */
    if (input_waiting && board_console_ready(b) &&
        (timeout_ns < 0 || timeout_ns > INPUT_RETRY_NS))
        timeout_ns = INPUT_RETRY_NS;

    struct pollfd fds[2];
    nfds_t nfds = 0;
    fds[nfds++] = (struct pollfd){.fd = vm->efd, .events = POLLIN};
    int in_fd = vm->cfg.console.in_fd;
    if (in_fd >= 0 && !vm->in_eof && !input_waiting)
        fds[nfds++] = (struct pollfd){.fd = in_fd, .events = POLLIN};

    atomic_store(&vm->sleeping, 1);
    /* Re-check after announcing we sleep: a wake-up that came in between
     * either set woken[] (seen here) or will write the eventfd. */
    bool any_woken = false;
    for (unsigned i = 0; i < board_nharts(b); i++)
        if (atomic_load(&vm->woken[i]))
            any_woken = true;
    if (!any_woken && !atomic_load(&vm->stop)) {
        struct timespec ts, *tsp = NULL;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            tsp = &ts;
        }
        ppoll(fds, nfds, tsp, NULL);
    }
    atomic_store(&vm->sleeping, 0);
    uint64_t drain;
    while (read(vm->efd, &drain, sizeof drain) > 0)
        ;
    board_poll(b);
    input_pump(vm);
    vm->last_input_check_ns = mono_ns();
}

/* Serve a reset: rebuild the machine from the config. */
static int vm_reset(struct vm *vm, struct disco_err *err)
{
    out_flush(vm);
    vm_teardown(vm);
    vm->resets++;
    return vm_build(vm, err);
}

int vm_run(struct vm *vm, struct vm_exit *ex, struct disco_err *err)
{
    struct vm_exit dummy;
    if (!ex)
        ex = &dummy;
    memset(ex, 0, sizeof *ex);
    if (!vm->board)
        return err_set(err, -EINVAL, "the VM has no machine (a previous reset failed)");

    for (;;) {
        struct board *b = vm->board;
        unsigned code = 0;
        switch (board_take_event(b, &code)) {
        case BOARD_EV_NONE: break;
        case BOARD_EV_POWEROFF:
            out_flush(vm);
            ex->reason = VM_EXIT_POWEROFF;
            ex->resets = vm->resets;
            return 0;
        case BOARD_EV_FAIL:
            out_flush(vm);
            ex->reason = VM_EXIT_FAIL;
            ex->code = code;
            ex->resets = vm->resets;
            return code ? (int)(code & 0x7fffffff) : 1;
        case BOARD_EV_RESET: {
            int rc = vm_reset(vm, err);
            if (rc < 0)
                return rc;
            continue;
        }
        }
        if (atomic_load(&vm->stop) || vm->quit) {
            out_flush(vm);
            ex->reason = vm->quit ? VM_EXIT_QUIT : VM_EXIT_STOPPED;
            ex->resets = vm->resets;
            return 0;
        }

        uint64_t now_ns = mono_ns();
        if (now_ns - vm->last_input_check_ns >= INPUT_CHECK_NS) {
            vm->last_input_check_ns = now_ns;
            input_pump(vm);
            board_poll(b);
        }

        bool ran = false;
        uint64_t now = rv_clock_now(board_clock(b));
        for (unsigned i = 0; i < board_nharts(b); i++) {
            struct rv_hart *h = board_hart(b, i);
            enum board_hart_state st = board_hart_state(b, i);
            if (st == BOARD_HART_SUSPENDED) {
                if (!idle_hart_due(vm, i, h, now))
                    continue;
                board_hart_state_cas(b, i, BOARD_HART_SUSPENDED, BOARD_HART_STARTED);
                vm->idle[i] = false;
            } else if (st != BOARD_HART_STARTED) {
                atomic_store(&vm->woken[i], 0);
                continue;
            }
            if (vm->idle[i]) {
                if (!idle_hart_due(vm, i, h, now))
                    continue;
                vm->idle[i] = false;
            }
            int r = rv_hart_run(h, vm->slice);
            ran = true;
            switch (r) {
            case RV_EXIT_WFI:
                vm->idle[i] = true;
                vm->idle_since[i] = rv_clock_now(board_clock(b));
                break;
            case RV_EXIT_REQUEST:
                atomic_store(&h->exit_request, 0);
                if (board_hart_state(b, i) == BOARD_HART_SUSPENDED)
                    vm->idle_since[i] = rv_clock_now(board_clock(b));
                break;
            case RV_EXIT_FATAL:
                out_flush(vm);
                return err_set(err, -EFAULT, "hart %u stopped at pc 0x%llx: %s", i,
                               (unsigned long long)h->pc,
                               h->fatal_msg[0] ? h->fatal_msg : "fatal error");
            default:
                break;
            }
            if (vm->cfg.elf && htif_poll(vm, &code)) {
                out_flush(vm);
                ex->reason = VM_EXIT_HTIF;
                ex->code = code;
                ex->resets = vm->resets;
                return (int)(code & 0x7fffffff);
            }
        }
        out_flush(vm);
        if (!ran)
            idle_wait(vm);
    }
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

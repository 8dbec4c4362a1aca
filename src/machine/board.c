#include "machine/board.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machine/clint.h"
#include "machine/fdt.h"
#include "machine/loader.h"
#include "machine/plic.h"
#include "machine/rtc.h"
#include "machine/sbi.h"
#include "machine/syscon.h"
#include "machine/uart.h"

#define MIB(x) ((unsigned long long)(x) >> 20)
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a) (((x) + (uint64_t)(a)-1) & ~((uint64_t)(a)-1))
#define FDT_ALIGN (2ull << 20)
#define FDT_EXTRA_SPACE 0x4000u   /* room for OpenSBI's fix-ups */
/* QEMU keeps the device tree below 3 GiB physical. */
#define FDT_TOP_LIMIT 0xC0000000ull

/* OpenSBI fw_dynamic_info (include/sbi/fw_dynamic.h). */
#define FW_DYNAMIC_INFO_MAGIC 0x4942534full
#define FW_DYNAMIC_INFO_VERSION 2
#define FW_DYNAMIC_NEXT_MODE_S 1

struct region {
    const struct mmio_ops *ops;
    void *dev;
};

struct board {
    struct board_config cfg;
    unsigned n;
    struct pmap *pm;
    struct rv_codemap *cm;
    struct rv_clock clock;
    struct rv_hart *harts[BOARD_MAX_HARTS];
    _Atomic int hart_state[BOARD_MAX_HARTS];

    struct clint *clint;
    struct plic *plic;
    struct uart *uart;
    struct syscon *syscon;
    struct rtc *rtc;
    struct region slot[VIRT_VIRTIO_SLOTS];

    /* Snooped from guest writes to UART0 (see board_console_ready). */
    _Atomic bool uart_dlab;
    _Atomic bool uart_rx_on;

    _Atomic uint64_t event;   /* enum board_event << 32 | code; 0 = none */
    struct board_layout layout;
};

/* ---- empty virtio-mmio slot: a "no device" transport ---------------------- */

static int empty_slot_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    (void)dev;
    (void)len;
    switch (off) {
    case 0x000: *val = 0x74726976; break;   /* "virt" */
    case 0x004: *val = 2; break;            /* version 2 (modern) */
    case 0x008: *val = 0; break;            /* device id 0: nothing here */
    case 0x00c: *val = 0x554d4551; break;   /* vendor "QEMU", as QEMU answers */
    default: *val = 0; break;
    }
    return 0;
}

static int empty_slot_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    (void)dev;
    (void)off;
    (void)len;
    (void)val;
    return 0;
}

static const struct mmio_ops empty_slot_ops = {empty_slot_read, empty_slot_write};

/* ---- bus ---------------------------------------------------------------- */

/* Find the device window holding [pa, pa+len). Fails (access fault) for
 * holes, misaligned accesses and accesses straddling a window's end. */
static int route(struct board *b, uint64_t pa, unsigned len, const struct mmio_ops **ops,
                 void **dev, uint64_t *off)
{
    if ((len != 1 && len != 2 && len != 4 && len != 8) || (pa & (len - 1)))
        return -1;
    uint64_t base, size;
    if (pa >= VIRT_VIRTIO_BASE && pa - VIRT_VIRTIO_BASE < VIRT_VIRTIO_SLOTS * VIRT_VIRTIO_SIZE) {
        unsigned s = (unsigned)((pa - VIRT_VIRTIO_BASE) / VIRT_VIRTIO_SIZE);
        base = VIRT_VIRTIO_BASE + s * VIRT_VIRTIO_SIZE;
        size = VIRT_VIRTIO_SIZE;
        *ops = b->slot[s].ops;
        *dev = b->slot[s].dev;
    } else {
        /* The board's fixed device windows (QEMU virt layout). */
        const struct {
            uint64_t base, size;
            const struct mmio_ops *ops;
            void *dev;
        } fixed[] = {
            { VIRT_UART0_BASE, VIRT_UART0_SIZE, &uart_mmio_ops, b->uart },
            { VIRT_PLIC_BASE, VIRT_PLIC_SIZE, &plic_mmio_ops, b->plic },
            { VIRT_CLINT_BASE, VIRT_CLINT_SIZE, &clint_mmio_ops, b->clint },
            { VIRT_TEST_BASE, VIRT_TEST_SIZE, &syscon_mmio_ops, b->syscon },
            { VIRT_RTC_BASE, VIRT_RTC_SIZE, &rtc_mmio_ops, b->rtc },
        };
        unsigned i = 0;
        while (i < sizeof fixed / sizeof fixed[0] &&
               !(pa >= fixed[i].base && pa - fixed[i].base < fixed[i].size))
            i++;
        if (i == sizeof fixed / sizeof fixed[0])
            return -1;
        base = fixed[i].base;
        size = fixed[i].size;
        *ops = fixed[i].ops;
        *dev = fixed[i].dev;
    }
    if (pa - base + len > size)
        return -1;
    *off = pa - base;
    return 0;
}

static uint8_t *bus_ram_page(void *ctx, uint64_t pa, bool for_write)
{
    struct board *b = ctx;
    return pmap_page(b->pm, pa, for_write);
}

static int bus_mmio_read(void *ctx, uint64_t pa, unsigned len, uint64_t *val)
{
    struct board *b = ctx;
    const struct mmio_ops *ops;
    void *dev;
    uint64_t off;
    if (route(b, pa, len, &ops, &dev, &off) < 0)
        return -1;
    uint64_t v = 0;
    int rc = ops->read(dev, off, len, &v);
    if (rc < 0)
        return rc;
    if (len < 8)
        v &= (1ull << (8 * len)) - 1;
    *val = v;
    return 0;
}

static int bus_mmio_write(void *ctx, uint64_t pa, unsigned len, uint64_t val)
{
    struct board *b = ctx;
    const struct mmio_ops *ops;
    void *dev;
    uint64_t off;
    if (route(b, pa, len, &ops, &dev, &off) < 0)
        return -1;
    if (len < 8)
        val &= (1ull << (8 * len)) - 1;
    if (dev == b->clint && dev) {
        /* A sleeping hart's run loop waits for the timer deadline it saw
         * when it went idle: wake it when a write (by another hart) brings
         * its mtimecmp earlier, or moves mtime (every deadline moves). A
         * deadline already due is woken by the CLINT itself. */
        if (off >= 0x4000 && off < 0xbff8) {
            unsigned i = (unsigned)((off - 0x4000) / 8);
            if (i < b->n) {
                uint64_t old = atomic_load(&b->harts[i]->mtimecmp);
                int rc = ops->write(dev, off, len, val);
                if (atomic_load(&b->harts[i]->mtimecmp) < old)
                    board_wake(b, i);
                return rc;
            }
        } else if (off >= 0xbff8 && off < 0xc000) {
            int rc = ops->write(dev, off, len, val);
            for (unsigned i = 0; i < b->n; i++)
                board_wake(b, i);
            return rc;
        }
    }
    if (dev == b->uart && dev) {
        /* Track LCR.DLAB and IER.RDI (byte lanes of wider writes too). */
        for (unsigned i = 0; i < len; i++) {
            uint64_t reg = off + i;
            uint8_t byte = (uint8_t)(val >> (8 * i));
            if (reg == 3)
                b->uart_dlab = byte & 0x80;
            else if (reg == 1 && !b->uart_dlab)
                atomic_store(&b->uart_rx_on, byte & 1);
        }
    }
    return ops->write(dev, off, len, val);
}

static bool bus_sbi_call(void *ctx, struct rv_hart *h)
{
    return sbi_handle(ctx, h);
}

int board_phys_read(struct board *b, uint64_t pa, unsigned len, uint64_t *val)
{
    if (pmap_contains(b->pm, pa, len)) {
        uint64_t v = 0;
        if (len > 8 || pmap_read(b->pm, pa, &v, len) < 0)
            return -1;
        *val = v;   /* little-endian host */
        return 0;
    }
    return bus_mmio_read(b, pa, len, val);
}

int board_phys_write(struct board *b, uint64_t pa, unsigned len, uint64_t val)
{
    if (pmap_contains(b->pm, pa, len))
        return len > 8 ? -1 : pmap_write(b->pm, pa, &val, len);
    return bus_mmio_write(b, pa, len, val);
}

/* ---- hooks ---------------------------------------------------------------- */

static void pmap_written(void *ctx, uint64_t gpa, uint64_t len)
{
    struct board *b = ctx;
    rv_codemap_written(b->cm, gpa, len);
}

static void syscon_event(void *ctx, enum syscon_event ev, unsigned code)
{
    struct board *b = ctx;
    switch (ev) {
    case SYSCON_POWEROFF: board_request(b, BOARD_EV_POWEROFF, 0); break;
    case SYSCON_RESET: board_request(b, BOARD_EV_RESET, 0); break;
    case SYSCON_FAIL: board_request(b, BOARD_EV_FAIL, code); break;
    }
}

static void board_wake_cb(void *ctx, unsigned hart)
{
    board_wake(ctx, hart);
}

static void uart_out(void *ctx, const uint8_t *buf, size_t len)
{
    board_console_write(ctx, buf, len);
}

/* ---- lifecycle ------------------------------------------------------------- */

struct board *board_new(const struct board_config *cfg, struct disco_err *err)
{
    if (cfg->nharts < 1 || cfg->nharts > BOARD_MAX_HARTS) {
        err_set(err, -EINVAL, "bad number of harts %u (1..%u)", cfg->nharts, BOARD_MAX_HARTS);
        return NULL;
    }
    if (cfg->ram_size < BOARD_MIN_RAM || (cfg->ram_size & (PMAP_PAGE_SIZE - 1)) ||
        cfg->ram_size > UINT64_MAX - VIRT_DRAM_BASE) {
        err_set(err, -EINVAL, "bad guest RAM size %llu bytes (at least %llu MiB, whole pages)",
                (unsigned long long)cfg->ram_size, MIB(BOARD_MIN_RAM));
        return NULL;
    }
    struct board *b = calloc(1, sizeof *b);
    if (!b) {
        err_set(err, -ENOMEM, "out of memory for the board");
        return NULL;
    }
    b->cfg = *cfg;
    b->n = cfg->nharts;
    b->pm = pmap_new(VIRT_DRAM_BASE, cfg->ram_size, err);
    if (!b->pm)
        goto fail;
    b->cm = rv_codemap_new(VIRT_DRAM_BASE, cfg->ram_size);
    if (!b->cm) {
        err_set(err, -ENOMEM, "out of memory for the code map");
        goto fail;
    }
    pmap_set_write_hook(b->pm, pmap_written, b);

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    atomic_store(&b->clock.offset_ns, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    b->clock.freq_hz = BOARD_TIMEBASE_HZ;

    struct rv_bus bus = {
        .ctx = b,
        .ram_page = bus_ram_page,
        .mmio_read = bus_mmio_read,
        .mmio_write = bus_mmio_write,
        .sbi_call = bus_sbi_call,
    };
    for (unsigned i = 0; i < b->n; i++) {
        b->harts[i] = rv_hart_new(i, &bus, &b->clock, b->cm);
        if (!b->harts[i]) {
            err_set(err, -ENOMEM, "cannot create hart %u", i);
            goto fail;
        }
        atomic_store(&b->hart_state[i], BOARD_HART_STOPPED);
    }

    b->clint = clint_new(b->harts, b->n, &b->clock);
    b->plic = plic_new(b->harts, b->n);
    if (!b->clint || !b->plic) {
        err_set(err, -ENOMEM, "cannot create the interrupt controllers");
        goto fail;
    }
    clint_set_wake(b->clint, board_wake_cb, b);
    plic_set_wake(b->plic, board_wake_cb, b);
    b->uart = uart_new((struct irq_line){plic_set_irq, b->plic, VIRT_UART0_IRQ}, uart_out, b);
    b->rtc = rtc_new((struct irq_line){plic_set_irq, b->plic, VIRT_RTC_IRQ});
    b->syscon = syscon_new(syscon_event, b);
    if (!b->uart || !b->rtc || !b->syscon) {
        err_set(err, -ENOMEM, "cannot create the board devices");
        goto fail;
    }
    for (unsigned s = 0; s < VIRT_VIRTIO_SLOTS; s++)
        b->slot[s] = (struct region){&empty_slot_ops, NULL};
    return b;
fail:
    board_free(b);
    return NULL;
}

void board_free(struct board *b)
{
    if (!b)
        return;
    /* Devices first (they may reference harts), then harts, then memory. */
    if (b->syscon)
        syscon_free(b->syscon);
    if (b->rtc)
        rtc_free(b->rtc);
    if (b->uart)
        uart_free(b->uart);
    if (b->plic)
        plic_free(b->plic);
    if (b->clint)
        clint_free(b->clint);
    for (unsigned i = 0; i < b->n; i++)
        if (b->harts[i])
            rv_hart_free(b->harts[i]);
    if (b->pm)
        pmap_set_write_hook(b->pm, NULL, NULL);
    if (b->cm)
        rv_codemap_free(b->cm);
    if (b->pm)
        pmap_free(b->pm);
    free(b);
}

/* ---- accessors --------------------------------------------------------------- */

struct pmap *board_pmap(struct board *b) { return b->pm; }
unsigned board_nharts(const struct board *b) { return b->n; }
struct rv_hart *board_hart(struct board *b, unsigned i) { return i < b->n ? b->harts[i] : NULL; }
struct rv_clock *board_clock(struct board *b) { return &b->clock; }
struct uart *board_uart(struct board *b) { return b->uart; }
const struct board_layout *board_layout(const struct board *b) { return &b->layout; }

int board_attach_mmio(struct board *b, unsigned slot, const struct mmio_ops *ops, void *dev,
                      struct disco_err *err)
{
    if (slot >= VIRT_VIRTIO_SLOTS)
        return err_set(err, -EINVAL, "virtio slot %u does not exist (0..%u)", slot,
                       VIRT_VIRTIO_SLOTS - 1);
    if (b->slot[slot].ops != &empty_slot_ops)
        return err_set(err, -EBUSY, "virtio slot %u (0x%llx) is already in use", slot,
                       (unsigned long long)(VIRT_VIRTIO_BASE + slot * VIRT_VIRTIO_SIZE));
    if (!ops || !ops->read || !ops->write)
        return err_set(err, -EINVAL, "virtio slot %u: device has no MMIO handlers", slot);
    b->slot[slot] = (struct region){ops, dev};
    return 0;
}

struct irq_line board_slot_irq(struct board *b, unsigned slot)
{
    if (slot >= VIRT_VIRTIO_SLOTS)
        return (struct irq_line){NULL, NULL, 0};
    return (struct irq_line){plic_set_irq, b->plic, VIRT_VIRTIO_IRQ + slot};
}

void board_request(struct board *b, enum board_event ev, unsigned code)
{
    uint64_t none = 0;
    if (ev == BOARD_EV_NONE ||
        !atomic_compare_exchange_strong(&b->event, &none, (uint64_t)ev << 32 | code))
        return;   /* an earlier request wins */
    for (unsigned i = 0; i < b->n; i++)
        atomic_store(&b->harts[i]->exit_request, 1);
    board_wake(b, 0);
}

bool board_event_pending(struct board *b)
{
    return atomic_load(&b->event) != 0;
}

enum board_event board_take_event(struct board *b, unsigned *code)
{
    uint64_t v = atomic_exchange(&b->event, 0);
    if (code)
        *code = (unsigned)v;
    return (enum board_event)(v >> 32);
}

enum board_hart_state board_hart_state(struct board *b, unsigned i)
{
    return i < b->n ? (enum board_hart_state)atomic_load(&b->hart_state[i]) : BOARD_HART_STOPPED;
}

void board_set_hart_state(struct board *b, unsigned i, enum board_hart_state st)
{
    if (i < b->n)
        atomic_store(&b->hart_state[i], (int)st);
}

bool board_hart_state_cas(struct board *b, unsigned i, enum board_hart_state from,
                          enum board_hart_state to)
{
    int f = (int)from;
    return i < b->n && atomic_compare_exchange_strong(&b->hart_state[i], &f, (int)to);
}

void board_wake(struct board *b, unsigned i)
{
    if (b->cfg.wake)
        b->cfg.wake(b->cfg.wake_ctx, i);
}

void board_fence_wait(struct board *b, unsigned self, uint64_t mask, int bits)
{
    if (b->cfg.fence_wait && mask)
        b->cfg.fence_wait(b->cfg.wake_ctx, self, mask, bits);
}

void board_console_write(struct board *b, const uint8_t *buf, size_t len)
{
    if (b->cfg.console_out && len)
        b->cfg.console_out(b->cfg.console_ctx, buf, len);
}

bool board_console_ready(struct board *b)
{
    return atomic_load(&b->uart_rx_on);
}

void board_poll(struct board *b)
{
    rtc_poll(b->rtc);
}

int board_console_getc(struct board *b)
{
    return b->cfg.console_getc ? b->cfg.console_getc(b->cfg.console_ctx) : -1;
}

/* ---- boot ---------------------------------------------------------------------- */

/* Build the FDT, place it 2 MiB-aligned near the top of RAM (below 3 GiB,
 * like QEMU) with room above it for firmware fix-ups, and return its
 * address; `floor` is the lowest address it may occupy. */
static int place_fdt(struct board *b, const struct board_fdt_params *fp, uint64_t floor,
                     uint64_t *addr, void **blob, size_t *size, struct disco_err *err)
{
    int rc = board_fdt_build(fp, blob, size, err);
    if (rc < 0)
        return rc;
    uint64_t ram_end = VIRT_DRAM_BASE + b->cfg.ram_size;
    uint64_t top = ram_end < FDT_TOP_LIMIT ? ram_end : FDT_TOP_LIMIT;
    uint64_t room = ALIGN_UP(*size, PMAP_PAGE_SIZE) + FDT_EXTRA_SPACE;
    if (top < VIRT_DRAM_BASE + room || ALIGN_DOWN(top - room, FDT_ALIGN) < floor) {
        free(*blob);
        *blob = NULL;
        return err_set(err, -ENOMEM, "guest RAM (%llu MiB) is too small for the device tree",
                       MIB(b->cfg.ram_size));
    }
    *addr = ALIGN_DOWN(top - room, FDT_ALIGN);
    return 0;
}

/* Load --bios firmware: an ELF at its addresses, or a raw image at the
 * start of RAM. Reports its entry and the range it occupies. */
static int load_firmware(struct board *b, const char *path, uint64_t *entry, uint64_t *lo,
                         uint64_t *hi, struct disco_err *err)
{
    int rc;
    if (loader_is_elf(path)) {
        struct loaded_elf fe;
        if ((rc = loader_load_elf(b->pm, path, &fe, err)) < 0)
            return rc;
        *entry = fe.entry;
        *lo = fe.lo;
        *hi = fe.hi;
        return 0;
    }
    uint64_t sz = 0;
    rc = loader_load_raw(b->pm, path, "firmware", VIRT_DRAM_BASE, BOARD_FIRMWARE_MAX, &sz, err);
    if (rc < 0)
        return rc;
    *entry = VIRT_DRAM_BASE;
    *lo = VIRT_DRAM_BASE;
    *hi = VIRT_DRAM_BASE + sz;
    return 0;
}

static int check_overlap(const char *what1, const char *path1, uint64_t lo1, uint64_t hi1,
                         const char *what2, const char *path2, uint64_t lo2, uint64_t hi2,
                         struct disco_err *err)
{
    if (lo1 < hi2 && lo2 < hi1)
        return err_set(err, -ERANGE, "%s '%s' [0x%llx, 0x%llx) overlaps the %s '%s' [0x%llx, 0x%llx)",
                       what1, path1, (unsigned long long)lo1, (unsigned long long)hi1, what2,
                       path2, (unsigned long long)lo2, (unsigned long long)hi2);
    return 0;
}

/* Every hart starts the firmware in M-mode the way QEMU's reset vector
 * does: a0 = hartid, a1 = device tree, a2 = fw_dynamic_info (written at
 * info_addr, naming the S-mode payload at next_addr). */
static int start_firmware(struct board *b, uint64_t fw_entry, uint64_t info_addr,
                          uint64_t next_addr, struct disco_err *err)
{
    uint64_t info[6] = {FW_DYNAMIC_INFO_MAGIC, FW_DYNAMIC_INFO_VERSION, next_addr,
                        FW_DYNAMIC_NEXT_MODE_S, 0 /* options */, 0 /* boot_hart */};
    if (pmap_write(b->pm, info_addr, info, sizeof info) < 0)
        return err_set(err, -EFAULT, "cannot write fw_dynamic_info at 0x%llx",
                       (unsigned long long)info_addr);
    b->layout.fw_info_addr = info_addr;
    b->layout.entry = fw_entry;
    for (unsigned i = 0; i < b->n; i++) {
        struct rv_hart *h = b->harts[i];
        rv_hart_reset(h, fw_entry);
        h->builtin_sbi = false;
        h->x[10] = i;
        h->x[11] = b->layout.fdt_addr;
        h->x[12] = info_addr;
        board_set_hart_state(b, i, BOARD_HART_STARTED);
    }
    return 0;
}

static int boot_elf(struct board *b, const struct board_boot *boot, struct disco_err *err)
{
    int rc;
    uint64_t fw_entry = 0, fw_lo = 0, fw_hi = 0;
    if (boot->bios && (rc = load_firmware(b, boot->bios, &fw_entry, &fw_lo, &fw_hi, err)) < 0)
        return rc;
    struct loaded_elf le;
    if ((rc = loader_load_elf(b->pm, boot->elf, &le, err)) < 0)
        return rc;
    if (boot->bios && (rc = check_overlap("ELF", boot->elf, le.lo, le.hi, "firmware", boot->bios,
                                          fw_lo, fw_hi, err)) < 0)
        return rc;
    struct board_layout *L = &b->layout;
    L->entry = le.entry;
    L->kernel_addr = le.lo;
    L->kernel_size = le.hi - le.lo;
    L->has_tohost = le.has_tohost;
    L->tohost = le.tohost;
    L->has_fromhost = le.has_fromhost;
    L->fromhost = le.fromhost;

    /* A device tree in a1, like spike, unless the program sits there
     * (firmware needs one: then that is an error). */
    struct board_fdt_params fp = {
        .nharts = b->n, .ram_base = VIRT_DRAM_BASE, .ram_size = b->cfg.ram_size,
        .bootargs = boot->cmdline, .extra_space = FDT_EXTRA_SPACE,
    };
    void *blob = NULL;
    size_t size = 0;
    uint64_t fdt = 0;
    struct disco_err ignore;
    if (place_fdt(b, &fp, VIRT_DRAM_BASE + PMAP_PAGE_SIZE, &fdt, &blob, &size, &ignore) == 0) {
        /* the page below it holds fw_dynamic_info */
        bool overlap = (fdt - PMAP_PAGE_SIZE < le.hi && le.lo < fdt + size) ||
                       (boot->bios && fdt - PMAP_PAGE_SIZE < fw_hi && fw_lo < fdt + size);
        if (!overlap && pmap_write(b->pm, fdt, blob, size) == 0) {
            L->fdt_addr = fdt;
            L->fdt_size = size;
        }
        free(blob);
    }
    if (boot->bios) {
        if (!L->fdt_addr)
            return err_set(err, -ENOMEM,
                           "no room for the device tree next to ELF '%s' (use a larger --mem)",
                           boot->elf);
        return start_firmware(b, fw_entry, L->fdt_addr - PMAP_PAGE_SIZE, le.entry, err);
    }
    for (unsigned i = 0; i < b->n; i++) {
        struct rv_hart *h = b->harts[i];
        rv_hart_reset(h, le.entry);
        h->builtin_sbi = false;
        h->x[10] = i;
        h->x[11] = L->fdt_addr;
        board_set_hart_state(b, i, BOARD_HART_STARTED);
    }
    return 0;
}

static int boot_linux(struct board *b, const struct board_boot *boot, struct disco_err *err)
{
    struct board_layout *L = &b->layout;
    struct pmap *pm = b->pm;
    int rc;
    uint64_t fw_entry = VIRT_DRAM_BASE, fw_lo = 0, fw_hi = 0;

    if (boot->bios && (rc = load_firmware(b, boot->bios, &fw_entry, &fw_lo, &fw_hi, err)) < 0)
        return rc;

    struct loaded_kernel k;
    if ((rc = loader_load_kernel(pm, boot->kernel, BOARD_KERNEL_ADDR, &k, err)) < 0)
        return rc;
    L->kernel_addr = k.addr;
    L->kernel_size = k.size;
    uint64_t kernel_end = ALIGN_UP(k.addr + k.size, PMAP_PAGE_SIZE);
    if (boot->bios && (rc = check_overlap("firmware", boot->bios, fw_lo, fw_hi, "kernel",
                                          boot->kernel, k.addr, kernel_end, err)) < 0)
        return rc;

    uint64_t initrd_size = 0;
    if (boot->initrd && (rc = loader_file_size(boot->initrd, "initrd", &initrd_size, err)) < 0)
        return rc;

    /* Build once to learn the size (initrd values are fixed-size), place,
     * then build again with the final initrd addresses. */
    struct board_fdt_params fp = {
        .nharts = b->n, .ram_base = VIRT_DRAM_BASE, .ram_size = b->cfg.ram_size,
        .bootargs = boot->cmdline, .extra_space = FDT_EXTRA_SPACE,
        .initrd_start = boot->initrd ? 1 : 0, .initrd_end = boot->initrd ? 2 : 0,
    };
    void *blob = NULL;
    size_t fdt_size = 0;
    uint64_t fdt_addr = 0;
    if ((rc = place_fdt(b, &fp, kernel_end + PMAP_PAGE_SIZE, &fdt_addr, &blob, &fdt_size,
                        err)) < 0) {
        return err_set(err, rc,
                       "guest RAM (%llu MiB) is too small: kernel '%s' needs %llu MiB at 0x%llx "
                       "plus the device tree (use a larger --mem)",
                       MIB(b->cfg.ram_size), boot->kernel, MIB(k.size + (1 << 20) - 1),
                       (unsigned long long)k.addr);
    }
    free(blob);
    blob = NULL;

    /* One page below the device tree: fw_dynamic_info; below it, the initrd. */
    uint64_t info_addr = fdt_addr - PMAP_PAGE_SIZE;
    if (boot->initrd) {
        uint64_t limit = info_addr;
        if (limit < kernel_end || initrd_size > limit - kernel_end)
            return err_set(err, -ENOMEM,
                           "guest RAM (%llu MiB) is too small: kernel '%s' (%llu MiB) + initrd "
                           "'%s' (%llu MiB) + device tree do not fit (use a larger --mem)",
                           MIB(b->cfg.ram_size), boot->kernel, MIB(k.size + (1 << 20) - 1),
                           boot->initrd, MIB(initrd_size + (1 << 20) - 1));
        L->initrd_start = ALIGN_DOWN(limit - initrd_size, PMAP_PAGE_SIZE);
        L->initrd_end = L->initrd_start + initrd_size;
        if ((rc = loader_load_raw(pm, boot->initrd, "initrd", L->initrd_start, initrd_size,
                                  NULL, err)) < 0)
            return rc;
        fp.initrd_start = L->initrd_start;
        fp.initrd_end = L->initrd_end;
    }
    if ((rc = board_fdt_build(&fp, &blob, &fdt_size, err)) < 0)
        return rc;
    rc = pmap_write(pm, fdt_addr, blob, fdt_size);
    free(blob);
    if (rc < 0)
        return err_set(err, -EFAULT, "cannot write the device tree at 0x%llx",
                       (unsigned long long)fdt_addr);
    L->fdt_addr = fdt_addr;
    L->fdt_size = fdt_size;

    if (boot->bios)
        return start_firmware(b, fw_entry, info_addr, k.entry, err);
    /* Built-in SBI: hart 0 enters the kernel in S-mode, the others wait
     * STOPPED for an HSM hart_start. */
    L->entry = k.entry;
    for (unsigned i = 0; i < b->n; i++) {
        struct rv_hart *h = b->harts[i];
        rv_hart_reset(h, k.entry);
        if (i == 0) {
            rv_hart_boot_supervisor(h, k.entry, fdt_addr);
            board_set_hart_state(b, i, BOARD_HART_STARTED);
        } else {
            board_set_hart_state(b, i, BOARD_HART_STOPPED);
        }
    }
    return 0;
}

int board_boot(struct board *b, const struct board_boot *boot, struct disco_err *err)
{
    memset(&b->layout, 0, sizeof b->layout);
    if (boot->elf) {
        if (boot->kernel || boot->initrd)
            return err_set(err, -EINVAL, "--elf cannot be combined with --kernel or --initrd");
        return boot_elf(b, boot, err);
    }
    if (!boot->kernel)
        return err_set(err, -EINVAL, "nothing to boot: no kernel and no ELF");
    return boot_linux(b, boot, err);
}

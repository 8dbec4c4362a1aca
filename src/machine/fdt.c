#include "machine/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "machine/board.h"
#include "machine/plic.h"

/* phandles: cpu i's interrupt controller = 1 + i, cpu i = 1 + n + i, then
 * the PLIC and the test device. */
#define PH_INTC(i) (1u + (i))
#define PH_CPU(n, i) (1u + (n) + (i))
#define PH_PLIC(n) (1u + 2u * (n))
#define PH_TEST(n) (2u + 2u * (n))

/* Sequential-write helpers: stop at the first error (kept in *rc). */
struct fw {
    void *buf;
    int rc;
};

static void chk(struct fw *w, int r)
{
    if (w->rc == 0 && r < 0)
        w->rc = r;
}

static void begin(struct fw *w, const char *name) { chk(w, fdt_begin_node(w->buf, name)); }
static void end(struct fw *w) { chk(w, fdt_end_node(w->buf)); }
static void prop_u32(struct fw *w, const char *n, uint32_t v) { chk(w, fdt_property_u32(w->buf, n, v)); }
static void prop_u64(struct fw *w, const char *n, uint64_t v) { chk(w, fdt_property_u64(w->buf, n, v)); }
static void prop_str(struct fw *w, const char *n, const char *s) { chk(w, fdt_property_string(w->buf, n, s)); }
static void prop_empty(struct fw *w, const char *n) { chk(w, fdt_property(w->buf, n, NULL, 0)); }

static void prop_cells(struct fw *w, const char *n, const uint32_t *cells, unsigned count)
{
    fdt32_t *be = malloc(count * sizeof *be + 1);
    if (!be) {
        chk(w, -FDT_ERR_NOSPACE);
        return;
    }
    for (unsigned i = 0; i < count; i++)
        be[i] = cpu_to_fdt32(cells[i]);
    chk(w, fdt_property(w->buf, n, be, (int)(count * sizeof *be)));
    free(be);
}

/* "a\0b\0" string lists. */
static void prop_strs(struct fw *w, const char *n, const char *const *strs, unsigned count)
{
    char buf[256];
    size_t len = 0;
    for (unsigned i = 0; i < count; i++) {
        size_t l = strlen(strs[i]) + 1;
        if (len + l > sizeof buf) {
            chk(w, -FDT_ERR_NOSPACE);
            return;
        }
        memcpy(buf + len, strs[i], l);
        len += l;
    }
    chk(w, fdt_property(w->buf, n, buf, (int)len));
}

static void prop_reg(struct fw *w, uint64_t base, uint64_t size)
{
    uint32_t c[4] = {(uint32_t)(base >> 32), (uint32_t)base, (uint32_t)(size >> 32), (uint32_t)size};
    prop_cells(w, "reg", c, 4);
}

static void node_name(char *buf, size_t sz, const char *name, uint64_t addr)
{
    snprintf(buf, sz, "%s@%llx", name, (unsigned long long)addr);
}

static void build(struct fw *w, const struct board_fdt_params *p)
{
    unsigned n = p->nharts;
    char name[64];
    void *fdt = w->buf;

    chk(w, fdt_finish_reservemap(fdt));
    begin(w, "");
    prop_u32(w, "#address-cells", 2);
    prop_u32(w, "#size-cells", 2);
    prop_str(w, "compatible", "riscv-virtio");
    prop_str(w, "model", "riscv-virtio,qemu");

    /* /chosen */
    begin(w, "chosen");
    if (p->bootargs)
        prop_str(w, "bootargs", p->bootargs);
    node_name(name, sizeof name, "/soc/serial", VIRT_UART0_BASE);
    prop_str(w, "stdout-path", name);
    if (p->initrd_end > p->initrd_start) {
        prop_u64(w, "linux,initrd-start", p->initrd_start);
        prop_u64(w, "linux,initrd-end", p->initrd_end);
    }
    uint8_t seed[32];
    if (getrandom(seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
        chk(w, fdt_property(fdt, "rng-seed", seed, sizeof seed));
    end(w);

    /* /poweroff, /reboot (syscon on the test device, like QEMU) */
    begin(w, "poweroff");
    prop_u32(w, "value", 0x5555);
    prop_u32(w, "offset", 0);
    prop_u32(w, "regmap", PH_TEST(n));
    prop_str(w, "compatible", "syscon-poweroff");
    end(w);
    begin(w, "reboot");
    prop_u32(w, "value", 0x7777);
    prop_u32(w, "offset", 0);
    prop_u32(w, "regmap", PH_TEST(n));
    prop_str(w, "compatible", "syscon-reboot");
    end(w);

    /* /memory */
    node_name(name, sizeof name, "memory", p->ram_base);
    begin(w, name);
    prop_str(w, "device_type", "memory");
    prop_reg(w, p->ram_base, p->ram_size);
    end(w);

    /* /cpus */
    begin(w, "cpus");
    prop_u32(w, "#address-cells", 1);
    prop_u32(w, "#size-cells", 0);
    prop_u32(w, "timebase-frequency", (uint32_t)BOARD_TIMEBASE_HZ);
    for (unsigned i = 0; i < n; i++) {
        node_name(name, sizeof name, "cpu", i);
        begin(w, name);
        prop_u32(w, "phandle", PH_CPU(n, i));
        prop_str(w, "device_type", "cpu");
        prop_u32(w, "reg", i);
        prop_str(w, "status", "okay");
        prop_str(w, "compatible", "riscv");
        prop_str(w, "riscv,isa", p->isa ? p->isa : BOARD_FDT_ISA);
        prop_str(w, "mmu-type", p->mmu_type ? p->mmu_type : BOARD_FDT_MMU);
        begin(w, "interrupt-controller");
        prop_u32(w, "#interrupt-cells", 1);
        prop_empty(w, "interrupt-controller");
        prop_str(w, "compatible", "riscv,cpu-intc");
        prop_u32(w, "phandle", PH_INTC(i));
        end(w);
        end(w);
    }
    begin(w, "cpu-map");
    begin(w, "cluster0");
    for (unsigned i = 0; i < n; i++) {
        snprintf(name, sizeof name, "core%u", i);
        begin(w, name);
        prop_u32(w, "cpu", PH_CPU(n, i));
        end(w);
    }
    end(w);
    end(w);
    end(w); /* cpus */

    /* /soc */
    begin(w, "soc");
    prop_u32(w, "#address-cells", 2);
    prop_u32(w, "#size-cells", 2);
    prop_str(w, "compatible", "simple-bus");
    prop_empty(w, "ranges");

    node_name(name, sizeof name, "rtc", VIRT_RTC_BASE);
    begin(w, name);
    prop_u32(w, "interrupts", VIRT_RTC_IRQ);
    prop_u32(w, "interrupt-parent", PH_PLIC(n));
    prop_reg(w, VIRT_RTC_BASE, VIRT_RTC_SIZE);
    prop_str(w, "compatible", "google,goldfish-rtc");
    end(w);

    node_name(name, sizeof name, "serial", VIRT_UART0_BASE);
    begin(w, name);
    prop_u32(w, "interrupts", VIRT_UART0_IRQ);
    prop_u32(w, "interrupt-parent", PH_PLIC(n));
    prop_u32(w, "clock-frequency", 3686400);
    prop_reg(w, VIRT_UART0_BASE, VIRT_UART0_SIZE);
    prop_str(w, "compatible", "ns16550a");
    end(w);

    node_name(name, sizeof name, "test", VIRT_TEST_BASE);
    begin(w, name);
    prop_u32(w, "phandle", PH_TEST(n));
    prop_reg(w, VIRT_TEST_BASE, VIRT_TEST_SIZE);
    static const char *const test_compat[] = {"sifive,test1", "sifive,test0", "syscon"};
    prop_strs(w, "compatible", test_compat, 3);
    end(w);

    /* Highest slot first, like QEMU: Linux probes in this order, and the
     * VMM fills slots from the top, so the first --disk is /dev/vda. */
    for (int s = VIRT_VIRTIO_SLOTS - 1; s >= 0; s--) {
        uint64_t base = VIRT_VIRTIO_BASE + (uint64_t)s * VIRT_VIRTIO_SIZE;
        node_name(name, sizeof name, "virtio_mmio", base);
        begin(w, name);
        prop_u32(w, "interrupts", VIRT_VIRTIO_IRQ + (unsigned)s);
        prop_u32(w, "interrupt-parent", PH_PLIC(n));
        prop_reg(w, base, VIRT_VIRTIO_SIZE);
        prop_str(w, "compatible", "virtio,mmio");
        end(w);
    }

    uint32_t *ie = malloc(4 * n * sizeof *ie);
    if (!ie) {
        chk(w, -FDT_ERR_NOSPACE);
        return;
    }
    node_name(name, sizeof name, "plic", VIRT_PLIC_BASE);
    begin(w, name);
    prop_u32(w, "phandle", PH_PLIC(n));
    prop_u32(w, "riscv,ndev", PLIC_NUM_SOURCES - 1);
    prop_reg(w, VIRT_PLIC_BASE, VIRT_PLIC_SIZE);
    for (unsigned i = 0; i < n; i++) {   /* context 2i: M (11), 2i+1: S (9) */
        ie[4 * i + 0] = PH_INTC(i);
        ie[4 * i + 1] = 11;
        ie[4 * i + 2] = PH_INTC(i);
        ie[4 * i + 3] = 9;
    }
    prop_cells(w, "interrupts-extended", ie, 4 * n);
    prop_empty(w, "interrupt-controller");
    static const char *const plic_compat[] = {"sifive,plic-1.0.0", "riscv,plic0"};
    prop_strs(w, "compatible", plic_compat, 2);
    prop_u32(w, "#address-cells", 0);
    prop_u32(w, "#interrupt-cells", 1);
    end(w);

    node_name(name, sizeof name, "clint", VIRT_CLINT_BASE);
    begin(w, name);
    for (unsigned i = 0; i < n; i++) {   /* M software (3), M timer (7) */
        ie[4 * i + 0] = PH_INTC(i);
        ie[4 * i + 1] = 3;
        ie[4 * i + 2] = PH_INTC(i);
        ie[4 * i + 3] = 7;
    }
    prop_cells(w, "interrupts-extended", ie, 4 * n);
    prop_reg(w, VIRT_CLINT_BASE, VIRT_CLINT_SIZE);
    static const char *const clint_compat[] = {"sifive,clint0", "riscv,clint0"};
    prop_strs(w, "compatible", clint_compat, 2);
    end(w);
    free(ie);

    end(w); /* soc */
    end(w); /* root */
    chk(w, fdt_finish(fdt));
}

int board_fdt_build(const struct board_fdt_params *p, void **out, size_t *out_size,
                    struct disco_err *err)
{
    *out = NULL;
    *out_size = 0;
    if (p->nharts == 0 || p->nharts > BOARD_MAX_HARTS)
        return err_set(err, -EINVAL, "device tree: bad hart count %u", p->nharts);
    size_t cap = 16384 + 1024u * p->nharts + (p->bootargs ? strlen(p->bootargs) : 0);
    for (int tries = 0; tries < 8; tries++, cap *= 2) {
        struct fw w = {.buf = calloc(1, cap), .rc = 0};
        if (!w.buf)
            return err_set(err, -ENOMEM, "out of memory building the device tree");
        chk(&w, fdt_create(w.buf, (int)cap));
        if (w.rc == 0)
            build(&w, p);
        if (w.rc == -FDT_ERR_NOSPACE) {
            free(w.buf);
            continue;
        }
        if (w.rc < 0) {
            free(w.buf);
            return err_set(err, -EINVAL, "building the device tree: %s", fdt_strerror(w.rc));
        }
        /* Repack with free space for firmware fix-ups. */
        size_t total = fdt_totalsize(w.buf) + p->extra_space;
        total = (total + 7) & ~(size_t)7;
        void *fin = calloc(1, total);
        if (!fin) {
            free(w.buf);
            return err_set(err, -ENOMEM, "out of memory building the device tree");
        }
        int rc = fdt_open_into(w.buf, fin, (int)total);
        free(w.buf);
        if (rc < 0) {
            free(fin);
            return err_set(err, -EINVAL, "packing the device tree: %s", fdt_strerror(rc));
        }
        *out = fin;
        *out_size = total;
        return 0;
    }
    return err_set(err, -E2BIG, "device tree too large");
}

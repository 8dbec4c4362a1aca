/* The board's device tree, checked with libfdt. */
#include <libfdt.h>
#include <stdint.h>

#include "machine/board.h"
#include "machine/fdt.h"
#include "t.h"

static const void *build(unsigned n, uint64_t istart, uint64_t iend, size_t *size)
{
    struct board_fdt_params p = {
        .nharts = n,
        .ram_base = 0x80000000ull,
        .ram_size = 256ull << 20,
        .bootargs = "console=ttyS0 quiet",
        .initrd_start = istart,
        .initrd_end = iend,
        .extra_space = 4096,
    };
    void *blob = NULL;
    struct disco_err err;
    err_clear(&err);
    CHECK_EQ(board_fdt_build(&p, &blob, size, &err), 0);
    if (blob) {
        CHECK_EQ(fdt_check_header(blob), 0);
        CHECK_EQ(fdt_totalsize(blob), *size);
    }
    return blob;
}

static uint64_t be64_at(const void *p)
{
    fdt64_t v;
    memcpy(&v, p, sizeof v);
    return fdt64_to_cpu(v);
}

static uint32_t be32_at(const void *p, unsigned i)
{
    return fdt32_to_cpu(((const fdt32_t *)p)[i]);
}

static int count_cpus(const void *fdt)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    int n = 0, node;
    fdt_for_each_subnode(node, fdt, cpus) {
        const char *dt = fdt_getprop(fdt, node, "device_type", NULL);
        if (dt && !strcmp(dt, "cpu"))
            n++;
    }
    return n;
}

static void check_common(const void *fdt, unsigned n)
{
    int len;
    /* root */
    CHECK_EQ(be32_at(fdt_getprop(fdt, 0, "#address-cells", NULL), 0), 2);
    CHECK_EQ(be32_at(fdt_getprop(fdt, 0, "#size-cells", NULL), 0), 2);
    CHECK(!strcmp(fdt_getprop(fdt, 0, "compatible", NULL), "riscv-virtio"));

    /* memory */
    int mem = fdt_path_offset(fdt, "/memory@80000000");
    CHECK(mem >= 0);
    const void *reg = fdt_getprop(fdt, mem, "reg", &len);
    CHECK_EQ(len, 16);
    if (reg && len == 16) {
        CHECK_EQ(be64_at(reg), 0x80000000ull);
        CHECK_EQ(be64_at((const char *)reg + 8), 256ull << 20);
    }
    CHECK(!strcmp(fdt_getprop(fdt, mem, "device_type", NULL), "memory"));

    /* chosen */
    int ch = fdt_path_offset(fdt, "/chosen");
    CHECK(ch >= 0);
    CHECK(!strcmp(fdt_getprop(fdt, ch, "bootargs", NULL), "console=ttyS0 quiet"));
    CHECK(!strcmp(fdt_getprop(fdt, ch, "stdout-path", NULL), "/soc/serial@10000000"));
    CHECK(fdt_path_offset(fdt, "/soc/serial@10000000") >= 0);

    /* cpus */
    int cpus = fdt_path_offset(fdt, "/cpus");
    CHECK(cpus >= 0);
    CHECK_EQ(be32_at(fdt_getprop(fdt, cpus, "timebase-frequency", NULL), 0), 10000000);
    CHECK_EQ(count_cpus(fdt), n);
    for (unsigned i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/cpus/cpu@%u", i);
        int c = fdt_path_offset(fdt, path);
        CHECK(c >= 0);
        CHECK_EQ(be32_at(fdt_getprop(fdt, c, "reg", NULL), 0), i);
        CHECK(!strcmp(fdt_getprop(fdt, c, "status", NULL), "okay"));
        CHECK(!strncmp(fdt_getprop(fdt, c, "riscv,isa", NULL), "rv64imafdc", 10));
        CHECK(!strcmp(fdt_getprop(fdt, c, "mmu-type", NULL), "riscv,sv48"));
        int ic = fdt_subnode_offset(fdt, c, "interrupt-controller");
        CHECK(ic >= 0);
        CHECK(fdt_node_check_compatible(fdt, ic, "riscv,cpu-intc") == 0);
        CHECK(fdt_get_phandle(fdt, ic) != 0);
    }

    /* PLIC: 2 contexts per hart, M (11) then S (9), pointing at each intc */
    int plic = fdt_path_offset(fdt, "/soc/plic@c000000");
    CHECK(plic >= 0);
    const void *ie = fdt_getprop(fdt, plic, "interrupts-extended", &len);
    CHECK_EQ(len, (int)(16 * n));
    if (ie && len == (int)(16 * n)) {
        for (unsigned i = 0; i < n; i++) {
            char path[80];
            snprintf(path, sizeof path, "/cpus/cpu@%u/interrupt-controller", i);
            uint32_t ph = fdt_get_phandle(fdt, fdt_path_offset(fdt, path));
            CHECK_EQ(be32_at(ie, 4 * i + 0), ph);
            CHECK_EQ(be32_at(ie, 4 * i + 1), 11);
            CHECK_EQ(be32_at(ie, 4 * i + 2), ph);
            CHECK_EQ(be32_at(ie, 4 * i + 3), 9);
        }
    }
    CHECK_EQ(be32_at(fdt_getprop(fdt, plic, "riscv,ndev", NULL), 0), 95);
    CHECK(fdt_getprop(fdt, plic, "interrupt-controller", NULL) != NULL);
    CHECK(fdt_node_check_compatible(fdt, plic, "riscv,plic0") == 0);
    uint32_t plic_ph = fdt_get_phandle(fdt, plic);
    CHECK(plic_ph != 0);

    int clint = fdt_path_offset(fdt, "/soc/clint@2000000");
    CHECK(clint >= 0);
    ie = fdt_getprop(fdt, clint, "interrupts-extended", &len);
    CHECK_EQ(len, (int)(16 * n));
    if (ie && len >= 16) {
        CHECK_EQ(be32_at(ie, 1), 3);
        CHECK_EQ(be32_at(ie, 3), 7);
    }

    /* UART, RTC, virtio slots wired to the PLIC */
    int uart = fdt_path_offset(fdt, "/soc/serial@10000000");
    CHECK_EQ(be32_at(fdt_getprop(fdt, uart, "interrupts", NULL), 0), 10);
    CHECK_EQ(be32_at(fdt_getprop(fdt, uart, "interrupt-parent", NULL), 0), plic_ph);
    CHECK_EQ(be32_at(fdt_getprop(fdt, uart, "clock-frequency", NULL), 0), 3686400);
    int rtc = fdt_path_offset(fdt, "/soc/rtc@101000");
    CHECK(rtc >= 0);
    CHECK_EQ(be32_at(fdt_getprop(fdt, rtc, "interrupts", NULL), 0), 11);
    int nvirtio = 0;
    for (unsigned s = 0; s < 8; s++) {
        char path[64];
        snprintf(path, sizeof path, "/soc/virtio_mmio@%x", 0x10001000 + 0x1000 * s);
        int v = fdt_path_offset(fdt, path);
        if (v >= 0 && fdt_node_check_compatible(fdt, v, "virtio,mmio") == 0 &&
            be32_at(fdt_getprop(fdt, v, "interrupts", NULL), 0) == 1 + s)
            nvirtio++;
    }
    CHECK_EQ(nvirtio, 8);

    /* power-off / reboot through the test device */
    int test = fdt_path_offset(fdt, "/soc/test@100000");
    CHECK(test >= 0);
    CHECK(fdt_node_check_compatible(fdt, test, "syscon") == 0);
    uint32_t test_ph = fdt_get_phandle(fdt, test);
    int po = fdt_path_offset(fdt, "/poweroff");
    int rb = fdt_path_offset(fdt, "/reboot");
    CHECK(po >= 0 && rb >= 0);
    CHECK_EQ(be32_at(fdt_getprop(fdt, po, "regmap", NULL), 0), test_ph);
    CHECK_EQ(be32_at(fdt_getprop(fdt, po, "value", NULL), 0), 0x5555);
    CHECK_EQ(be32_at(fdt_getprop(fdt, rb, "value", NULL), 0), 0x7777);
}

static void fdt_one_hart(void)
{
    size_t size;
    void *fdt = (void *)build(1, 0x88000000ull, 0x88123456ull, &size);
    if (!fdt)
        return;
    check_common(fdt, 1);
    int ch = fdt_path_offset(fdt, "/chosen");
    int len;
    const void *p = fdt_getprop(fdt, ch, "linux,initrd-start", &len);
    CHECK_EQ(len, 8);
    if (p && len == 8)
        CHECK_EQ(be64_at(p), 0x88000000ull);
    p = fdt_getprop(fdt, ch, "linux,initrd-end", &len);
    CHECK_EQ(len, 8);
    if (p && len == 8)
        CHECK_EQ(be64_at(p), 0x88123456ull);
    /* room left for firmware fix-ups */
    CHECK(fdt_totalsize(fdt) - fdt_off_dt_strings(fdt) - fdt_size_dt_strings(fdt) >= 4096);
    free(fdt);
}

static void fdt_four_harts(void)
{
    size_t size;
    void *fdt = (void *)build(4, 0, 0, &size);
    if (!fdt)
        return;
    check_common(fdt, 4);
    int ch = fdt_path_offset(fdt, "/chosen");
    CHECK(fdt_getprop(fdt, ch, "linux,initrd-start", NULL) == NULL);
    CHECK(fdt_getprop(fdt, ch, "linux,initrd-end", NULL) == NULL);
    /* distinct intc phandles per hart */
    uint32_t ph[4];
    for (unsigned i = 0; i < 4; i++) {
        char path[80];
        snprintf(path, sizeof path, "/cpus/cpu@%u/interrupt-controller", i);
        ph[i] = fdt_get_phandle(fdt, fdt_path_offset(fdt, path));
        for (unsigned j = 0; j < i; j++)
            CHECK(ph[i] != ph[j]);
    }
    free(fdt);
}

static void fdt_32_harts_and_bad_counts(void)
{
    size_t size;
    void *fdt = (void *)build(32, 0, 0, &size);
    if (fdt) {
        CHECK_EQ(count_cpus(fdt), 32);
        free(fdt);
    }
    struct board_fdt_params p = {.nharts = 0, .ram_base = 0x80000000ull, .ram_size = 1 << 24};
    void *blob = NULL;
    struct disco_err err;
    err_clear(&err);
    CHECK(board_fdt_build(&p, &blob, &size, &err) < 0);
    CHECK(blob == NULL);
    CHECK(err.msg[0] != '\0');
    p.nharts = 33;
    CHECK(board_fdt_build(&p, &blob, &size, &err) < 0);
}

int main(void)
{
    RUN(fdt_one_hart);
    RUN(fdt_four_harts);
    RUN(fdt_32_harts_and_bad_counts);
    T_EXIT();
}

/* The built-in SBI, called directly with a0..a7 set, on a 2-hart board. */
#include <stdint.h>
#include <unistd.h>

#include "machine/board.h"
#include "machine/sbi.h"
#include "t.h"

static uint8_t out[256];
static size_t out_len;

static void sink(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len && out_len < sizeof out; i++)
        out[out_len++] = buf[i];
}

static int next_in = -1;
static int getc_cb(void *ctx)
{
    (void)ctx;
    int c = next_in;
    next_in = -1;
    return c;
}

static unsigned woken_mask;
static void wake_cb(void *ctx, unsigned hart)
{
    (void)ctx;
    woken_mask |= 1u << hart;
}

static struct board *mkboard(void)
{
    struct board_config cfg = {
        .nharts = 2,
        .ram_size = 32ull << 20,
        .console_out = sink,
        .console_getc = getc_cb,
        .wake = wake_cb,
    };
    struct disco_err err;
    err_clear(&err);
    struct board *b = board_new(&cfg, &err);
    if (!b) {
        printf("board_new: %s\n", err.msg);
        return NULL;
    }
    /* What board_boot does for a kernel: hart 0 runs in S, hart 1 waits. */
    for (unsigned i = 0; i < 2; i++)
        rv_hart_reset(board_hart(b, i), 0x80200000);
    rv_hart_boot_supervisor(board_hart(b, 0), 0x80200000, 0x81000000);
    board_set_hart_state(b, 0, BOARD_HART_STARTED);
    board_set_hart_state(b, 1, BOARD_HART_STOPPED);
    out_len = 0;
    woken_mask = 0;
    return b;
}

/* ecall(ext, fid, a0..a5) on hart `hart`; returns a0 (error), *val = a1. */
static long call(struct board *b, unsigned hart, uint64_t ext, uint64_t fid, uint64_t a0,
                 uint64_t a1, uint64_t a2, uint64_t *val)
{
    struct rv_hart *h = board_hart(b, hart);
    h->x[17] = ext;
    h->x[16] = fid;
    h->x[10] = a0;
    h->x[11] = a1;
    h->x[12] = a2;
    h->x[13] = h->x[14] = h->x[15] = 0;
    bool handled = h->bus.sbi_call(h->bus.ctx, h);
    CHECK(handled);
    if (val)
        *val = h->x[11];
    return (long)h->x[10];
}

static void sbi_base(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    uint64_t v = 0;
    CHECK_EQ(call(b, 0, SBI_EXT_BASE, 0, 0, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 0x01000000);   /* v1.0 */
    CHECK_EQ(call(b, 0, SBI_EXT_BASE, 1, 0, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, BOARD_SBI_IMPL_ID);
    CHECK_EQ(call(b, 0, SBI_EXT_BASE, 2, 0, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, BOARD_SBI_IMPL_VERSION);
    for (uint64_t fid = 4; fid <= 6; fid++) {
        v = 99;
        CHECK_EQ(call(b, 0, SBI_EXT_BASE, fid, 0, 0, 0, &v), SBI_SUCCESS);
        CHECK_EQ(v, 0);
    }
    static const uint64_t exts[] = {SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE,
                                    SBI_EXT_HSM, SBI_EXT_SRST, SBI_EXT_DBCN, 0x01};
    for (unsigned i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        v = 0;
        CHECK_EQ(call(b, 0, SBI_EXT_BASE, 3, exts[i], 0, 0, &v), SBI_SUCCESS);
        CHECK_EQ(v, 1);
    }
    v = 7;
    CHECK_EQ(call(b, 0, SBI_EXT_BASE, 3, 0x504D55 /* PMU */, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 0);
    CHECK_EQ(call(b, 0, SBI_EXT_BASE, 99, 0, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED);
    board_free(b);
}

static void sbi_unknown_extension(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    CHECK_EQ(call(b, 0, 0x0abcdef, 0, 0, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED);
    CHECK_EQ(call(b, 0, 0x504D55, 0, 0, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED);
    CHECK_EQ(call(b, 0, SBI_EXT_TIME, 1, 0, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED);
    CHECK_EQ(call(b, 0, SBI_EXT_RFENCE, 3, 0, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED); /* hfence */
    board_free(b);
}

static void sbi_hsm(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    uint64_t v = 99;
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 2, 0, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 0);   /* STARTED */
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 2, 1, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 1);   /* STOPPED */
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 2, 2, 0, 0, &v), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 2, UINT64_MAX, 0, 0, &v), SBI_ERR_INVALID_PARAM);

    /* hart_start: started hart, bad hart, bad address */
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 0, 0, 0x80200000, 0, NULL), SBI_ERR_ALREADY_AVAILABLE);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 0, 5, 0x80200000, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 0, 1, 0x1000, 0, NULL), SBI_ERR_INVALID_ADDRESS);
    CHECK_EQ(board_hart_state(b, 1), BOARD_HART_STOPPED);

    /* a good start: hart 1 in S-mode at the address, a0 = hartid, a1 = opaque */
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 0, 1, 0x80400000, 0x1234, NULL), SBI_SUCCESS);
    CHECK_EQ(board_hart_state(b, 1), BOARD_HART_STARTED);
    struct rv_hart *h1 = board_hart(b, 1);
    CHECK_EQ(h1->pc, 0x80400000);
    CHECK_EQ(h1->priv, RV_PRIV_S);
    CHECK_EQ(h1->x[10], 1);
    CHECK_EQ(h1->x[11], 0x1234);
    CHECK(h1->builtin_sbi);
    CHECK(woken_mask & 2);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 2, 1, 0, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 0);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 0, 1, 0x80400000, 0, NULL), SBI_ERR_ALREADY_AVAILABLE);

    /* hart_stop on hart 1 */
    atomic_store(&h1->exit_request, 0);
    call(b, 1, SBI_EXT_HSM, 1, 0, 0, 0, NULL);
    /* STOP_PENDING until the run loop takes the hart off its thread; a
     * hart_start cannot reset it meanwhile. */
    CHECK_EQ(board_hart_state(b, 1), BOARD_HART_STOP_PENDING);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 0, 1, 0x80400000, 0, NULL), SBI_ERR_ALREADY_AVAILABLE);
    board_set_hart_state(b, 1, BOARD_HART_STOPPED);   /* what the run loop does */
    CHECK(atomic_load(&h1->exit_request));

    /* suspend: retentive ok, non-retentive not supported, reserved invalid */
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 3, 0x80000000ull, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 3, 0x5, 0, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_HSM, 3, 0, 0, 0, NULL), SBI_SUCCESS);
    CHECK_EQ(board_hart_state(b, 0), BOARD_HART_SUSPENDED);
    board_free(b);
}

static void sbi_set_timer(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    struct rv_hart *h = board_hart(b, 0);
    CHECK_EQ(call(b, 0, SBI_EXT_TIME, 0, UINT64_MAX - 1, 0, 0, NULL), SBI_SUCCESS);
    CHECK(!(atomic_load(&h->mip) & RV_MIP_STIP));
    CHECK_EQ(rv_hart_next_timer(h), UINT64_MAX - 1);
    CHECK_EQ(call(b, 0, SBI_EXT_TIME, 0, 0, 0, 0, NULL), SBI_SUCCESS);   /* due now */
    CHECK(atomic_load(&h->mip) & RV_MIP_STIP);
    /* a new deadline in the future clears STIP */
    CHECK_EQ(call(b, 0, SBI_EXT_TIME, 0, UINT64_MAX - 1, 0, 0, NULL), SBI_SUCCESS);
    CHECK(!(atomic_load(&h->mip) & RV_MIP_STIP));
    /* legacy set_timer (result in a0 only) */
    CHECK_EQ(call(b, 0, 0x00, 0, 0, 0, 0, NULL), 0);
    CHECK(atomic_load(&h->mip) & RV_MIP_STIP);
    board_free(b);
}

static void sbi_send_ipi(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    struct rv_hart *h0 = board_hart(b, 0), *h1 = board_hart(b, 1);
    rv_hart_set_irq(h0, RV_MIP_SSIP, false);
    rv_hart_set_irq(h1, RV_MIP_SSIP, false);
    /* mask bit 1, base 0 -> hart 1 only */
    CHECK_EQ(call(b, 0, SBI_EXT_IPI, 0, 0x2, 0, 0, NULL), SBI_SUCCESS);
    CHECK(atomic_load(&h1->mip) & RV_MIP_SSIP);
    CHECK(!(atomic_load(&h0->mip) & RV_MIP_SSIP));
    CHECK(woken_mask & 2);
    rv_hart_set_irq(h1, RV_MIP_SSIP, false);
    /* mask bit 0, base 1 -> hart 1 */
    CHECK_EQ(call(b, 0, SBI_EXT_IPI, 0, 0x1, 1, 0, NULL), SBI_SUCCESS);
    CHECK(atomic_load(&h1->mip) & RV_MIP_SSIP);
    CHECK(!(atomic_load(&h0->mip) & RV_MIP_SSIP));
    rv_hart_set_irq(h1, RV_MIP_SSIP, false);
    /* invalid harts: nothing happens */
    CHECK_EQ(call(b, 0, SBI_EXT_IPI, 0, 0x1, 2, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_IPI, 0, 0x5, 0, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK(!(atomic_load(&h0->mip) & RV_MIP_SSIP));
    CHECK(!(atomic_load(&h1->mip) & RV_MIP_SSIP));
    /* base -1: all harts */
    CHECK_EQ(call(b, 0, SBI_EXT_IPI, 0, 0, UINT64_MAX, 0, NULL), SBI_SUCCESS);
    CHECK(atomic_load(&h0->mip) & RV_MIP_SSIP);
    CHECK(atomic_load(&h1->mip) & RV_MIP_SSIP);
    /* legacy clear_ipi clears the caller's SSIP */
    CHECK_EQ(call(b, 0, 0x03, 0, 0, 0, 0, NULL), 0);
    CHECK(!(atomic_load(&h0->mip) & RV_MIP_SSIP));
    /* legacy send_ipi with a NULL mask pointer: all harts */
    CHECK_EQ(call(b, 1, 0x04, 0, 0, 0, 0, NULL), 0);
    CHECK(atomic_load(&h0->mip) & RV_MIP_SSIP);
    board_free(b);
}

static unsigned fw_calls, fw_self;
static uint64_t fw_mask;
static int fw_bits;
static void fence_wait_cb(void *ctx, unsigned self, uint64_t mask, int bits)
{
    (void)ctx;
    fw_calls++;
    fw_self = self;
    fw_mask = mask;
    fw_bits = bits;
}

/* Remote fences wait for their targets through the board's fence_wait
 * hook, naming the harts flagged and the flush_request bits. */
static void sbi_rfence_waits(void)
{
    struct board_config cfg = {
        .nharts = 3,
        .ram_size = 32ull << 20,
        .console_out = sink,
        .fence_wait = fence_wait_cb,
    };
    struct disco_err err;
    err_clear(&err);
    struct board *b = board_new(&cfg, &err);
    CHECK(b != NULL);
    if (!b)
        return;
    for (unsigned i = 0; i < 3; i++) {
        rv_hart_reset(board_hart(b, i), 0x80200000);
        rv_hart_boot_supervisor(board_hart(b, i), 0x80200000, 0);
    }
    fw_calls = 0;
    CHECK_EQ(call(b, 0, SBI_EXT_RFENCE, 1, 0x6, 0, 0, NULL), SBI_SUCCESS);   /* sfence.vma */
    CHECK_EQ(fw_calls, 1);
    CHECK_EQ(fw_self, 0);
    CHECK_EQ(fw_mask, 0x6);
    CHECK_EQ(fw_bits, 1);
    CHECK_EQ(call(b, 2, SBI_EXT_RFENCE, 0, 0x1, 1, 0, NULL), SBI_SUCCESS);   /* fence.i, base 1 */
    CHECK_EQ(fw_calls, 2);
    CHECK_EQ(fw_self, 2);
    CHECK_EQ(fw_mask, 0x2);
    CHECK_EQ(fw_bits, 2);
    CHECK_EQ(call(b, 1, SBI_EXT_RFENCE, 2, 0, UINT64_MAX, 0, NULL), SBI_SUCCESS);   /* all */
    CHECK_EQ(fw_mask, 0x7);
    CHECK_EQ(fw_self, 1);
    /* invalid: nothing flagged, nothing waited for */
    CHECK_EQ(call(b, 0, SBI_EXT_RFENCE, 1, 0x1, 7, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(fw_calls, 3);
    /* legacy remote_fence_i (0x05) / remote_sfence_vma (0x06) with a mask
     * in guest memory */
    uint64_t mask = 0x5;
    pmap_write(board_pmap(b), 0x80100000, &mask, 8);
    CHECK_EQ(call(b, 1, 0x05, 0, 0x80100000, 0, 0, NULL), 0);
    CHECK_EQ(fw_mask, 0x5);
    CHECK_EQ(fw_bits, 2);
    CHECK_EQ(call(b, 1, 0x06, 0, 0x80100000, 0, 0, NULL), 0);
    CHECK_EQ(fw_mask, 0x5);
    CHECK_EQ(fw_bits, 1);
    CHECK_EQ(fw_calls, 5);
    /* IPIs do not wait */
    CHECK_EQ(call(b, 0, SBI_EXT_IPI, 0, 0x6, 0, 0, NULL), SBI_SUCCESS);
    CHECK_EQ(fw_calls, 5);
    board_free(b);
}

static void sbi_rfence(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    struct rv_hart *h1 = board_hart(b, 1);
    atomic_store(&h1->flush_request, 0);
    CHECK_EQ(call(b, 0, SBI_EXT_RFENCE, 0, 0x2, 0, 0, NULL), SBI_SUCCESS);
    CHECK(atomic_load(&h1->flush_request) != 0);
    atomic_store(&h1->flush_request, 0);
    CHECK_EQ(call(b, 0, SBI_EXT_RFENCE, 1, 0x2, 0, 0, NULL), SBI_SUCCESS);
    CHECK(atomic_load(&h1->flush_request) != 0);
    CHECK_EQ(call(b, 0, SBI_EXT_RFENCE, 2, 0x1, 7, 0, NULL), SBI_ERR_INVALID_PARAM);
    board_free(b);
}

static void sbi_srst(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    unsigned code;
    CHECK_EQ(call(b, 0, SBI_EXT_SRST, 0, 5, 0, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_SRST, 0, 0, 7, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_SRST, 0, 0xF0000000u, 0, 0, NULL), SBI_ERR_NOT_SUPPORTED);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_NONE);
    call(b, 0, SBI_EXT_SRST, 0, 0 /* shutdown */, 0, 0, NULL);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_POWEROFF);
    CHECK(atomic_load(&board_hart(b, 1)->exit_request));
    call(b, 0, SBI_EXT_SRST, 0, 1 /* cold reboot */, 0, 0, NULL);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_RESET);
    call(b, 0, SBI_EXT_SRST, 0, 2 /* warm reboot */, 0, 0, NULL);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_RESET);
    call(b, 0, SBI_EXT_SRST, 0, 0, 1 /* system failure */, 0, NULL);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_FAIL);
    CHECK_EQ(code, 1);
    call(b, 0, 0x08, 0, 0, 0, 0, NULL);   /* legacy shutdown */
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_POWEROFF);
    board_free(b);
}

static void sbi_console(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    CHECK_EQ(call(b, 0, 0x01, 0, 'A', 0, 0, NULL), 0);   /* legacy putchar */
    next_in = 'z';
    CHECK_EQ(call(b, 0, 0x02, 0, 0, 0, 0, NULL), 'z');   /* legacy getchar */
    CHECK_EQ(call(b, 0, 0x02, 0, 0, 0, 0, NULL), -1);
    /* DBCN write from guest memory, write_byte */
    pmap_write(board_pmap(b), 0x80300000, "hi!", 3);
    uint64_t v = 0;
    CHECK_EQ(call(b, 0, SBI_EXT_DBCN, 0, 3, 0x80300000, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 3);
    CHECK_EQ(call(b, 0, SBI_EXT_DBCN, 2, '\n', 0, 0, NULL), SBI_SUCCESS);
    CHECK_EQ(call(b, 0, SBI_EXT_DBCN, 0, 3, 0x1000, 0, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(call(b, 0, SBI_EXT_DBCN, 0, 3, 0x80300000, 1, NULL), SBI_ERR_INVALID_PARAM);
    CHECK_EQ(out_len, 5);
    CHECK(memcmp(out, "Ahi!\n", 5) == 0);
    /* DBCN read */
    next_in = 'q';
    CHECK_EQ(call(b, 0, SBI_EXT_DBCN, 1, 4, 0x80300000, 0, &v), SBI_SUCCESS);
    CHECK_EQ(v, 1);
    uint8_t c = 0;
    pmap_read(board_pmap(b), 0x80300000, &c, 1);
    CHECK_EQ(c, 'q');
    board_free(b);
}

static int dummy_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    (void)dev;
    (void)len;
    *val = 0xabcd0000 | off;
    return 0;
}

static int dummy_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    (void)dev;
    (void)off;
    (void)len;
    (void)val;
    return 0;
}

static const struct mmio_ops dummy_ops = {dummy_read, dummy_write};

static void board_bus(void)
{
    struct board *b = mkboard();
    if (!b)
        return;
    uint64_t v = 0;
    /* empty virtio slots answer like QEMU's */
    for (unsigned s = 0; s < VIRT_VIRTIO_SLOTS; s++) {
        uint64_t base = VIRT_VIRTIO_BASE + s * VIRT_VIRTIO_SIZE;
        CHECK_EQ(board_phys_read(b, base, 4, &v), 0);
        CHECK_EQ(v, 0x74726976);
        CHECK_EQ(board_phys_read(b, base + 4, 4, &v), 0);
        CHECK_EQ(v, 2);
        CHECK_EQ(board_phys_read(b, base + 8, 4, &v), 0);
        CHECK_EQ(v, 0);
    }
    /* holes and misaligned device accesses fault */
    CHECK(board_phys_read(b, 0x0, 4, &v) < 0);
    CHECK(board_phys_read(b, 0x20000000, 4, &v) < 0);
    CHECK(board_phys_read(b, VIRT_VIRTIO_BASE + 2, 4, &v) < 0);
    CHECK(board_phys_read(b, VIRT_UART0_BASE + 0x100, 1, &v) < 0);
    CHECK(board_phys_write(b, VIRT_CLINT_BASE + 0x10000, 4, 0) < 0);
    CHECK(board_phys_read(b, VIRT_DRAM_BASE + (32ull << 20), 4, &v) < 0);
    /* RAM */
    CHECK_EQ(board_phys_write(b, 0x80001000, 8, 0x1122334455667788ull), 0);
    CHECK_EQ(board_phys_read(b, 0x80001000, 8, &v), 0);
    CHECK_EQ(v, 0x1122334455667788ull);
    /* UART output reaches the console sink */
    out_len = 0;
    CHECK_EQ(board_phys_write(b, VIRT_UART0_BASE, 1, 'U'), 0);
    CHECK_EQ(out_len, 1);
    /* syscon events */
    unsigned code;
    CHECK_EQ(board_phys_write(b, VIRT_TEST_BASE, 4, 0x5555), 0);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_POWEROFF);
    CHECK_EQ(board_phys_write(b, VIRT_TEST_BASE, 4, 0x3333 | (42 << 16)), 0);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_FAIL);
    CHECK_EQ(code, 42);
    CHECK_EQ(board_phys_write(b, VIRT_TEST_BASE, 4, 0x7777), 0);
    CHECK_EQ(board_take_event(b, &code), BOARD_EV_RESET);
    /* slot attach: out of range and double use refused */
    struct disco_err err;
    static int dev_tag;
    CHECK(board_attach_mmio(b, 8, &dummy_ops, &dev_tag, &err) < 0);
    CHECK_EQ(board_attach_mmio(b, 3, &dummy_ops, &dev_tag, &err), 0);
    CHECK(board_attach_mmio(b, 3, &dummy_ops, &dev_tag, &err) < 0);
    CHECK_EQ(board_phys_read(b, VIRT_VIRTIO_BASE + 3 * VIRT_VIRTIO_SIZE + 0x10, 4, &v), 0);
    CHECK_EQ(v, 0xabcd0010);
    struct irq_line l = board_slot_irq(b, 3);
    CHECK_EQ(l.num, 4);
    CHECK(l.set != NULL);
    board_free(b);
}

static const char *tmpfile_with(const void *buf, size_t len, char *path)
{
    strcpy(path, "/tmp/disco-test-sbi.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    CHECK_EQ(write(fd, buf, len), (ssize_t)len);
    close(fd);
    return path;
}

static void board_boot_layout(void)
{
    /* A fake Image (header + a few bytes, 1 MiB image_size) and initrd. */
    static uint8_t img[4096], rd[10000];
    memset(img, 0, sizeof img);
    memcpy(img + 0x38, "RSC\x05", 4);
    uint64_t isz = 1 << 20;
    memcpy(img + 0x10, &isz, 8);
    memset(rd, 0x5a, sizeof rd);
    char kpath[64], ipath[64], bpath[64];
    tmpfile_with(img, sizeof img, kpath);
    tmpfile_with(rd, sizeof rd, ipath);
    tmpfile_with(rd, 100, bpath);   /* "firmware" */

    struct board *b = mkboard();
    if (!b)
        return;
    struct disco_err err;
    err_clear(&err);
    struct board_boot boot = {.kernel = kpath, .initrd = ipath, .cmdline = "console=ttyS0"};
    CHECK_EQ(board_boot(b, &boot, &err), 0);
    const struct board_layout *L = board_layout(b);
    CHECK_EQ(L->entry, 0x80200000);
    CHECK_EQ(L->kernel_size, 1 << 20);
    CHECK_EQ(L->fdt_addr & ((2 << 20) - 1), 0);
    CHECK(L->fdt_addr + L->fdt_size <= 0x80000000ull + (32 << 20));
    CHECK(L->initrd_end <= L->fdt_addr);
    CHECK(L->initrd_start >= 0x80200000 + (1 << 20));
    CHECK_EQ(L->initrd_end - L->initrd_start, sizeof rd);
    uint8_t c = 0;
    pmap_read(board_pmap(b), L->initrd_start + 5, &c, 1);
    CHECK_EQ(c, 0x5a);
    struct rv_hart *h0 = board_hart(b, 0);
    CHECK_EQ(h0->pc, 0x80200000);
    CHECK_EQ(h0->priv, RV_PRIV_S);
    CHECK_EQ(h0->x[11], L->fdt_addr);
    CHECK_EQ(board_hart_state(b, 0), BOARD_HART_STARTED);
    CHECK_EQ(board_hart_state(b, 1), BOARD_HART_STOPPED);
    board_free(b);

    /* firmware: every hart in M at 0x80000000, a2 -> fw_dynamic_info */
    b = mkboard();
    if (!b)
        return;
    boot.bios = bpath;
    CHECK_EQ(board_boot(b, &boot, &err), 0);
    L = board_layout(b);
    for (unsigned i = 0; i < 2; i++) {
        struct rv_hart *h = board_hart(b, i);
        CHECK_EQ(h->pc, 0x80000000);
        CHECK_EQ(h->priv, RV_PRIV_M);
        CHECK(!h->builtin_sbi);
        CHECK_EQ(h->x[10], i);
        CHECK_EQ(h->x[11], L->fdt_addr);
        CHECK_EQ(h->x[12], L->fw_info_addr);
        CHECK_EQ(board_hart_state(b, i), BOARD_HART_STARTED);
    }
    uint64_t info[6];
    CHECK_EQ(pmap_read(board_pmap(b), L->fw_info_addr, info, sizeof info), 0);
    CHECK_EQ(info[0], 0x4942534f);
    CHECK_EQ(info[1], 2);
    CHECK_EQ(info[2], 0x80200000);
    CHECK_EQ(info[3], 1);
    CHECK_EQ(info[5], 0);
    CHECK(L->fw_info_addr < L->fdt_addr && L->fw_info_addr >= L->initrd_end);
    board_free(b);

    /* an initrd that cannot fit: a clear error naming --mem */
    static uint8_t big[31 << 20];
    char gpath[64];
    tmpfile_with(big, sizeof big, gpath);
    b = mkboard();
    if (b) {
        struct board_boot bb = {.kernel = kpath, .initrd = gpath};
        err_clear(&err);
        CHECK(board_boot(b, &bb, &err) < 0);
        CHECK(strstr(err.msg, "--mem") != NULL);
        board_free(b);
    }
    unlink(gpath);
    unlink(kpath);
    unlink(ipath);
    unlink(bpath);
}

int main(void)
{
    RUN(sbi_base);
    RUN(sbi_unknown_extension);
    RUN(sbi_hsm);
    RUN(sbi_set_timer);
    RUN(sbi_send_ipi);
    RUN(sbi_rfence);
    RUN(sbi_rfence_waits);
    RUN(sbi_srst);
    RUN(sbi_console);
    RUN(board_bus);
    RUN(board_boot_layout);
    T_EXIT();
}

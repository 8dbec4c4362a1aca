/* virtio_blk_wild: a virtio-blk driver that lies in its descriptors.
 *
 * Finds the virtio-blk device, brings it up (virtio 1.x), checks good
 * reads, then runs one attack at a time (wild DMA addresses, chains that
 * loop or point past the table, rings outside RAM, a far-ahead avail idx,
 * bad indirect tables, huge lengths, malformed requests, DMA aimed at the
 * device's own registers). For each attack it accepts, as correct:
 *   - the device sets DEVICE_NEEDS_RESET, or
 *   - it completes the request with a non-zero status byte, or
 *   - it ignores the request (no completion within 200 ms),
 * and (only where the attack's flags say so) a successful completion.
 * With QEMU quirks (see lib.h), a successful completion is also accepted
 * for buffers outside RAM: QEMU 7.2 drops such DMA (reads give zeros), so
 * a sector an OUT attack targeted may then hold zeros.
 * In every case: nothing in the DMA arena outside the buffers the device
 * may write changes, the program's code is intact, disk sectors the
 * attack tried to fill from outside RAM are unchanged, a good request on
 * the same queue works if the device did not ask for a reset, and after a
 * reset the device is brought up again and a good read returns the right
 * data. Failure code = 10 + the attack's index (printed on the UART). */
#include "virtio.h"

#ifndef SELFTEST_FLIP
#define SELFTEST_FLIP 0     /* -DSELFTEST_FLIP=1: demand success from attack c1 */
#endif

/* Attack flags. */
#define F_OK_ALLOWED 1u     /* a successful completion is acceptable */
#define F_DATA 2u           /* the device may write A_DATA..A_DATA+8K */
#define F_OWN_SETUP 4u      /* build() brings the device up itself */
#define F_MULTI 8u          /* several chains published: skip the same-queue check */
#define F_NEED_INDIRECT 16u /* skipped unless VIRTIO_F_INDIRECT_DESC was negotiated */
#define F_VERIFY_OK 32u     /* if it succeeds, the data must be right */
#define F_NONRAM 64u        /* DMA aimed at non-RAM: success tolerated with QEMU quirks */

static struct vdev dev;
static struct vq q;
static uint64_t re;             /* end of RAM */
static uint64_t text_sum;
extern char _start[], _ro_end[];

#define QNUM 8
#define CAPACITY_SECTORS 2048   /* run.sh makes a 1 MiB disk */

static uint64_t checksum_image(void)
{
    /* Code and read-only data. */
    uint64_t s = 0;
    for (const volatile uint64_t *p = (const uint64_t *)_start; p < (const uint64_t *)_ro_end;
         p++)
        s = (s ^ *p) * 0x100000001b3ull;
    return s;
}

/* hdr (R) -> data -> status (W), head 0, published. */
static void std_req(uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
    blk_hdr(A_HDR, type, sector);
    uint16_t dflags = D_NEXT | (type == BLK_T_IN ? D_WRITE : 0);
    desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT, 1);
    desc_set(q.desc, 1, data, len, dflags, 2);
    desc_set(q.desc, 2, AR(A_STATUS), 1, D_WRITE, 0);
    vq_publish(&q, 0);
}

static int own_setup(uint64_t desc, uint64_t avail, uint64_t used)
{
    if (vdev_negotiate(&dev, F_INDIRECT))
        return -1;
    vq_bind(&q, QNUM);
    (void)vq_setup_raw(&dev, 0, QNUM, desc, avail, used);
    vdev_driver_ok(&dev);
    return 0;
}

/* ---- (a) data buffers outside RAM ---- */
static void a_rom(void) { std_req(BLK_T_IN, 0, 0x1000, 512); }
static void a_hole(void) { std_req(BLK_T_IN, 0, 0x200000, 512); }
static void a_ramend(void) { std_req(BLK_T_IN, 0, re, 512); }
static void a_straddle(void) { std_req(BLK_T_IN, 0, re - 256, 512); }
static void a_above4g(void) { std_req(BLK_T_IN, 0, 0x100000000ull + 0x1000, 512); }
static void a_out_hole(void) { std_req(BLK_T_OUT, 100, 0x200000, 512); }
static void a_out_straddle(void)
{
    for (unsigned i = 0; i < 256; i++)
        *(volatile uint8_t *)(uintptr_t)(re - 256 + i) = (uint8_t)(0x5a ^ i);
    std_req(BLK_T_OUT, 101, re - 256, 512);
}
/* ---- (b) addresses that wrap around 2^64 ---- */
static void b_wrap(void) { std_req(BLK_T_IN, 0, 0xfffffffffffff000ull, 0x2000); }
static void b_wrap_out(void) { std_req(BLK_T_OUT, 102, 0xfffffffffffff000ull, 0x2000); }
static void b_wrap_into_ram(void)
{
    /* [2^64 - 256, 2^64) then, wrapped, [0, 0x80001000): onto our code. */
    std_req(BLK_T_IN, 0, 0xffffffffffffff00ull, 0x80001100u);
}
/* ---- (c) loops ---- */
static void c_loop(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 2, AR(A_STATUS), 1, D_WRITE | D_NEXT, 1);    /* 1 -> 2 -> 1 */
}
static void c_self(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT, 0);                /* 0 -> 0 */
}
static void c_full_ring(void)
{
    blk_hdr(A_HDR, BLK_T_IN, 0);
    desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT, 1);
    for (unsigned i = 1; i < QNUM - 1; i++)
        desc_set(q.desc, i, AR(A_DATA) + 512 * (i - 1), 512, D_WRITE | D_NEXT, (uint16_t)(i + 1));
    desc_set(q.desc, QNUM - 1, AR(A_STATUS), 1, D_WRITE | D_NEXT, 0);  /* 7 -> 0 */
    vq_publish(&q, 0);
}
/* ---- (d) indices out of range ---- */
static void d_next_num(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 2, AR(A_STATUS), 1, D_WRITE | D_NEXT, QNUM);
}
static void d_next_ffff(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 1, AR(A_DATA), 512, D_WRITE | D_NEXT, 0xffff);
}
static void d_head_num(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    ((volatile uint16_t *)(uintptr_t)q.avail)[2] = QNUM;
}
static void d_head_ffff(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    ((volatile uint16_t *)(uintptr_t)q.avail)[2] = 0xffff;
}
/* ---- (e) rings outside RAM / in MMIO ---- */
static void e_desc_rom(void)
{
    own_setup(0x2000, AR(A_AVAIL), AR(A_USED));
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
}
static void e_desc_hole(void)
{
    own_setup(0x200000, AR(A_AVAIL), AR(A_USED));
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
}
static void e_desc_wrap(void)
{
    own_setup(0xfffffffffffffff0ull, AR(A_AVAIL), AR(A_USED));
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
}
static void e_desc_self_mmio(void)
{
    own_setup(dev.base, AR(A_AVAIL), AR(A_USED));
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
}
static void e_used_self_notify(void)
{
    /* Used element 0 lands on our own QueueNotify register. */
    own_setup(AR(A_DESC), AR(A_AVAIL), dev.base + R_QNOTIFY - 4);
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
}
/* ---- (f) avail idx far ahead ---- */
static void f_idx_1000(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    vq_set_avail_idx(&q, (uint16_t)(q.avail_idx + 1000));
}
static void f_idx_num1(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    vq_set_avail_idx(&q, QNUM + 1);
}
static void f_idx_ffff(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    vq_set_avail_idx(&q, 0xffff);
}
/* ---- (g) indirect tables ---- */
static void ind_std(uint64_t table, unsigned first)
{
    blk_hdr(A_HDR, BLK_T_IN, 0);
    desc_set(table, first, AR(A_HDR), 16, D_NEXT, (uint16_t)(first + 1));
    desc_set(table, first + 1, AR(A_DATA), 512, D_WRITE | D_NEXT, (uint16_t)(first + 2));
    desc_set(table, first + 2, AR(A_STATUS), 1, D_WRITE, 0);
}
static void ind_head(uint64_t addr, uint32_t len, uint16_t flags)
{
    desc_set(q.desc, 0, addr, len, D_INDIRECT | flags, 1);
    vq_publish(&q, 0);
}
static void g_main_table(void)
{
    /* desc 0 is INDIRECT and points at the main table: nested indirect. */
    ind_std(q.desc, 1);
    ind_head(q.desc, 16 * QNUM, 0);
}
static void g_hole(void) { ind_head(0x200000, 48, 0); }
static void g_straddle(void) { ind_head(re - 16, 48, 0); }
static void g_wrap(void) { ind_head(0xfffffffffffffff0ull, 48, 0); }
static void g_self(void)
{
    desc_set(AR(A_IND), 0, AR(A_IND), 48, D_INDIRECT, 0);        /* points at itself */
    desc_set(AR(A_IND), 1, AR(A_IND), 48, D_INDIRECT, 0);
    desc_set(AR(A_IND), 2, AR(A_IND), 48, D_INDIRECT, 0);
    ind_head(AR(A_IND), 48, 0);
}
static void g_inner_loop(void)
{
    ind_std(AR(A_IND), 0);
    desc_set(AR(A_IND), 2, AR(A_STATUS), 1, D_WRITE | D_NEXT, 0);   /* 2 -> 0 */
    ind_head(AR(A_IND), 48, 0);
}
static void g_inner_next_oob(void)
{
    ind_std(AR(A_IND), 0);
    desc_set(AR(A_IND), 2, AR(A_STATUS), 1, D_WRITE | D_NEXT, 3);   /* table has 3 */
    ind_head(AR(A_IND), 48, 0);
}
static void g_len_odd(void)
{
    ind_std(AR(A_IND), 0);
    ind_head(AR(A_IND), 40, 0);
}
static void g_len_zero(void)
{
    ind_std(AR(A_IND), 0);
    ind_head(AR(A_IND), 0, 0);
}
static void g_len_huge(void)
{
    ind_std(AR(A_IND), 0);
    ind_head(AR(A_IND), 0xfffffff0u, 0);
}
static void g_with_next(void)
{
    /* INDIRECT together with NEXT (forbidden for the driver); the table
     * itself is a good request. */
    ind_std(AR(A_IND), 0);
    desc_set(q.desc, 1, AR(A_STATUS), 1, D_WRITE, 0);
    ind_head(AR(A_IND), 48, D_NEXT);
}
static void g_long_table(void)
{
    /* 66 descriptors (longer than the queue): header, 64 x 8 data bytes,
     * status. */
    uint64_t t = AR(A_IND);
    blk_hdr(A_HDR, BLK_T_IN, 0);
    desc_set(t, 0, AR(A_HDR), 16, D_NEXT, 1);
    for (unsigned i = 1; i <= 64; i++)
        desc_set(t, i, AR(A_DATA) + 8 * (i - 1), 8, D_WRITE | D_NEXT, (uint16_t)(i + 1));
    desc_set(t, 65, AR(A_STATUS), 1, D_WRITE, 0);
    ind_head(t, 66 * 16, 0);
}
/* ---- (h) huge lengths ---- */
static void h_huge(void) { std_req(BLK_T_IN, 0, AR(A_DATA), 0xffffffffu); }
static void h_huge_ramend(void) { std_req(BLK_T_IN, 0, re - 512, 0xffffffffu); }
static void h_huge_out(void) { std_req(BLK_T_OUT, 120, AR(A_DATA), 0xffffffffu); }
static void h_sum_wraps(void)
{
    /* 0xfffffe00 + 0x400 = 2^32 + 0x200: a 32-bit sum says 512. */
    blk_hdr(A_HDR, BLK_T_IN, 0);
    desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT, 1);
    desc_set(q.desc, 1, AR(A_DATA), 0xfffffe00u, D_WRITE | D_NEXT, 2);
    desc_set(q.desc, 2, AR(A_DATA) + 0x1000, 0x400, D_WRITE | D_NEXT, 3);
    desc_set(q.desc, 3, AR(A_STATUS), 1, D_WRITE, 0);
    vq_publish(&q, 0);
}
/* ---- (i) malformed requests ---- */
static void i_hdr_writable(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT | D_WRITE, 1);
}
static void i_status_readonly(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 2, AR(A_STATUS), 1, 0, 0);
}
static void i_read_after_write(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 2, AR(A_HDR2), 16, D_NEXT, 3);                /* readable after writable */
    desc_set(q.desc, 3, AR(A_STATUS), 1, D_WRITE, 0);
}
static void i_zero_len_hdr(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 0, AR(A_HDR), 0, D_NEXT, 1);
}
static void i_short_hdr(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 0, AR(A_HDR), 8, D_NEXT, 1);
}
static void i_sector_cap(void) { std_req(BLK_T_IN, CAPACITY_SECTORS, AR(A_DATA), 512); }
static void i_sector_last_plus(void) { std_req(BLK_T_IN, CAPACITY_SECTORS - 1, AR(A_DATA), 1024); }
static void i_sector_max(void) { std_req(BLK_T_IN, ~0ull, AR(A_DATA), 512); }
static void i_sector_wrap(void) { std_req(BLK_T_IN, 1ull << 55, AR(A_DATA), 512); }
static void i_out_sector_wrap(void) { std_req(BLK_T_OUT, 1ull << 55, AR(A_DATA), 512); }
static void i_type_bad(void) { std_req(0x12345678u, 0, AR(A_DATA), 512); }
static void i_data_odd(void) { std_req(BLK_T_IN, 0, AR(A_DATA), 100); }
static void i_out_across_end(void) { std_req(BLK_T_OUT, CAPACITY_SECTORS - 1, AR(A_DATA), 1024); }
static void i_out_at_cap(void) { std_req(BLK_T_OUT, CAPACITY_SECTORS, AR(A_DATA), 512); }
static void i_get_id_small(void) { std_req(8 /* GET_ID */, 0, AR(A_DATA), 4); }
/* ---- (j) many chains ---- */
static void j_same_head(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    for (unsigned i = 1; i < QNUM; i++)
        vq_publish(&q, 0);
}
/* ---- (k) DMA into the device's own registers ---- */
static void k_data_notify(void)
{
    /* The last 4 data bytes (zeros on the disk) go to our QueueNotify: a
     * re-entrant "notify queue 0" if the device follows the address. */
    blk_hdr(A_HDR, BLK_T_IN, 0);
    desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT, 1);
    desc_set(q.desc, 1, AR(A_DATA), 508, D_WRITE | D_NEXT, 2);
    desc_set(q.desc, 2, dev.base + R_QNOTIFY, 4, D_WRITE | D_NEXT, 3);
    desc_set(q.desc, 3, AR(A_STATUS), 1, D_WRITE, 0);
    vq_publish(&q, 0);
}
static void k_hdr_mmio(void)
{
    /* The request header is read from the device's own registers. */
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 0, dev.base, 16, D_NEXT, 1);
}
static void k_status_mmio(void)
{
    std_req(BLK_T_IN, 0, AR(A_DATA), 512);
    desc_set(q.desc, 2, dev.base + R_STATUS, 1, D_WRITE, 0);
}

struct attack {
    const char *name;
    void (*build)(void);
    unsigned flags;
    uint64_t out_sector;        /* OUT attacks: first sector that must stay unchanged */
    unsigned out_sectors;
};

static const struct attack attacks[] = {
    {"a1 data at 0x1000 (not RAM)", a_rom, F_NONRAM, 0, 0},
    {"a2 data in an unmapped hole", a_hole, F_NONRAM, 0, 0},
    {"a3 data at RAM end", a_ramend, F_NONRAM, 0, 0},
    {"a4 data straddling RAM end", a_straddle, F_NONRAM, 0, 0},
    {"a5 data above 4 GiB", a_above4g, F_NONRAM, 0, 0},
    {"a6 OUT from an unmapped hole", a_out_hole, F_NONRAM, 100, 1},
    {"a7 OUT straddling RAM end", a_out_straddle, F_NONRAM, 101, 1},
    {"b1 data wraps 2^64", b_wrap, 0, 0, 0},
    {"b2 OUT from data wrapping 2^64", b_wrap_out, 0, 102, 16},
    {"b3 data wraps 2^64 into RAM", b_wrap_into_ram, 0, 0, 0},
    {"c1 chain loop 1->2->1", c_loop, F_DATA, 0, 0},
    {"c2 chain self-loop 0->0", c_self, 0, 0, 0},
    {"c3 chain through all descriptors back to 0", c_full_ring, F_DATA, 0, 0},
    {"d1 next == queue size", d_next_num, F_DATA, 0, 0},
    {"d2 next = 0xffff", d_next_ffff, F_DATA, 0, 0},
    {"d3 avail head == queue size", d_head_num, 0, 0, 0},
    {"d4 avail head = 0xffff", d_head_ffff, 0, 0, 0},
    {"e1 descriptor table at 0x2000 (not RAM)", e_desc_rom, F_OWN_SETUP, 0, 0},
    {"e2 descriptor table in an unmapped hole", e_desc_hole, F_OWN_SETUP, 0, 0},
    {"e3 descriptor table wraps 2^64", e_desc_wrap, F_OWN_SETUP, 0, 0},
    {"e4 descriptor table = device registers", e_desc_self_mmio, F_OWN_SETUP, 0, 0},
    {"e5 used ring on our QueueNotify", e_used_self_notify, F_OWN_SETUP | F_DATA, 0, 0},
    {"f1 avail idx += 1000", f_idx_1000, F_DATA, 0, 0},
    {"f2 avail idx = queue size + 1", f_idx_num1, F_DATA, 0, 0},
    {"f3 avail idx = 0xffff", f_idx_ffff, F_DATA, 0, 0},
    {"g1 indirect -> the main table (nested)", g_main_table, F_NEED_INDIRECT | F_DATA, 0, 0},
    {"g2 indirect table in a hole", g_hole, F_NEED_INDIRECT, 0, 0},
    {"g3 indirect table straddling RAM end", g_straddle, F_NEED_INDIRECT, 0, 0},
    {"g4 indirect table wraps 2^64", g_wrap, F_NEED_INDIRECT, 0, 0},
    {"g5 indirect entries pointing at their table", g_self, F_NEED_INDIRECT, 0, 0},
    {"g6 loop inside an indirect table", g_inner_loop, F_NEED_INDIRECT | F_DATA, 0, 0},
    {"g7 next past an indirect table", g_inner_next_oob, F_NEED_INDIRECT | F_DATA, 0, 0},
    {"g8 indirect len not a multiple of 16", g_len_odd, F_NEED_INDIRECT | F_DATA, 0, 0},
    {"g9 indirect len 0", g_len_zero, F_NEED_INDIRECT, 0, 0},
    {"g10 indirect len 0xfffffff0", g_len_huge, F_NEED_INDIRECT | F_DATA, 0, 0},
    {"g11 INDIRECT with NEXT", g_with_next, F_NEED_INDIRECT | F_DATA | F_OK_ALLOWED | F_VERIFY_OK, 0, 0},
    {"g12 indirect chain longer than the queue", g_long_table,
     F_NEED_INDIRECT | F_DATA | F_OK_ALLOWED | F_VERIFY_OK, 0, 0},
    {"h1 data len 0xffffffff", h_huge, F_DATA, 0, 0},
    {"h2 data len 0xffffffff near RAM end", h_huge_ramend, 0, 0, 0},
    {"h3 OUT with data len 0xffffffff", h_huge_out, 0, 120, 8},
    {"h4 data lengths summing past 2^32", h_sum_wraps, F_DATA, 0, 0},
    {"i1 header device-writable", i_hdr_writable, F_DATA, 0, 0},
    {"i2 status byte read-only", i_status_readonly, F_DATA, 0, 0},
    {"i3 readable after writable", i_read_after_write, F_DATA, 0, 0},
    {"i4 header len 0", i_zero_len_hdr, F_DATA, 0, 0},
    {"i5 header len 8", i_short_hdr, F_DATA, 0, 0},
    {"i6 sector = capacity", i_sector_cap, F_DATA, 0, 0},
    {"i7 read across the disk end", i_sector_last_plus, F_DATA, 0, 0},
    {"i8 sector 2^64-1", i_sector_max, F_DATA, 0, 0},
    {"i9 sector 2^55 (byte offset wraps to 0)", i_sector_wrap, F_DATA, 0, 0},
    {"i10 OUT sector 2^55 (byte offset wraps to 0)", i_out_sector_wrap, 0, 0, 0},
    {"i11 unknown request type", i_type_bad, F_DATA, 0, 0},
    {"i12 IN of 100 bytes", i_data_odd, F_DATA | F_OK_ALLOWED, 0, 0},
    {"i13 OUT across the disk end", i_out_across_end, 0, CAPACITY_SECTORS - 1, 1},
    {"i14 OUT at sector = capacity", i_out_at_cap, 0, 0, 0},
    {"i15 GET_ID into 4 bytes", i_get_id_small, F_DATA | F_OK_ALLOWED, 0, 0},
    {"j1 same chain published 8 times", j_same_head, F_DATA | F_OK_ALLOWED | F_VERIFY_OK | F_MULTI, 0, 0},
    {"k1 data partly on our QueueNotify", k_data_notify, F_DATA | F_OK_ALLOWED | F_NONRAM, 0, 0},
    {"k2 header read from device registers", k_hdr_mmio, F_DATA | F_OK_ALLOWED | F_NONRAM, 0, 0},
    {"k3 status byte on our Status register", k_status_mmio, F_DATA, 0, 0},
};

static int sector_unchanged(uint64_t sector, unsigned n, int code)
{
    if (vdev_bringup(&dev, &q, F_INDIRECT, QNUM))
        mal_fail(code, "bring-up failed before the sector check");
    /* Read the sectors back (up to 16 at a time into the 8 KiB buffer). */
    if (blk_good_read(&dev, &q, sector, n) == 0)
        return 0;
    if (arena[A_STATUS] != 0)
        return -1;
    /* a7 may have written its 256 in-RAM bytes; QEMU (quirks) writes zeros
     * for what it "read" outside RAM. Never any other bytes: those would
     * be host memory. */
    for (unsigned i = 0; i < 512 * n; i++) {
        uint8_t g = arena[A_DATA + i];
        uint64_t s = sector + i / 512;
        if (g == disk_byte(s, i % 512))
            continue;
        if (sector == 101 && n == 1 && i < 256 && g == (uint8_t)(0x5a ^ i))
            continue;
        if (g == 0 && (qemu_quirks() || (sector == 101 && i >= 256)))
            continue;
        return -1;
    }
    put_s("  (sector holds only old data, the attack's in-RAM bytes or zeros: accepted)\n");
    return 0;
    return -1;
}

static int run_attack(unsigned k, const struct attack *a)
{
    int code = 10 + (int)k;
    put_s("attack ");
    put_s(a->name);
    put_s(": ");
    if ((a->flags & F_NEED_INDIRECT) && !(dev.features & F_INDIRECT)) {
        put_s("skipped (no VIRTIO_F_INDIRECT_DESC)\n");
        return 0;
    }
    arena_prepare();
    if (!(a->flags & F_OWN_SETUP) && vdev_bringup(&dev, &q, F_INDIRECT, QNUM))
        mal_fail(code, "bring-up before the attack failed");
    a->build();
    arena_snapshot();
    arena_allow(A_USED, 0x3000);
    arena_allow(A_STATUS, 1);
    if (a->flags & F_DATA)
        arena_allow(A_DATA, 0x2000);

    vq_notify(&dev, 0);
    uint32_t id = 0, len = 0;
    enum wait_result w = vq_wait(&dev, &q, 200, &id, &len);
    uint32_t st = vr(&dev, R_STATUS);
    uint8_t bstat = arena[A_STATUS];
    if (w == W_DONE && (st & S_NEEDS_RESET))
        w = W_NEEDS_RESET;          /* completed something, then gave up */
    switch (w) {
    case W_NEEDS_RESET:
        put_s("DEVICE_NEEDS_RESET");
        break;
    case W_TIMEOUT:
        put_s("ignored (no completion)");
        break;
    case W_DONE:
        put_s("completed, status byte ");
        put_hex(bstat);
        break;
    }
    put_s("\n");
    int bad = 0;
    int ok_allowed = (a->flags & F_OK_ALLOWED) || ((a->flags & F_NONRAM) && qemu_quirks());
#if SELFTEST_FLIP
    if (k == 10 && !(w == W_DONE && bstat == 0)) {
        put_s("  FAIL (selftest): demanded that the looping chain succeed\n");
        bad = 1;
    }
#endif
    if (w == W_DONE && bstat == 0 && !ok_allowed) {
        put_s("  FAIL: the device reported success for a bad request\n");
        bad = 1;
    }
    if (w == W_DONE && bstat == 0 && (a->flags & F_VERIFY_OK) && blk_data_ok(0, 1)) {
        put_s("  FAIL: reported success with wrong data\n");
        bad = 1;
    }
    if (arena_check()) {
        put_s("  FAIL: memory outside the request's buffers changed\n");
        bad = 1;
    }
    if (checksum_image() != text_sum) {
        put_s("  FAIL: the program image changed\n");
        bad = 1;
    }
    /* Completed without asking for a reset: the queue must still work. */
    if (!bad && w == W_DONE && !(a->flags & F_MULTI) && blk_good_read(&dev, &q, 3, 1)) {
        put_s("  FAIL: good request on the same queue after the attack failed\n");
        bad = 1;
    }
    /* Reset, bring up again, good reads. */
    if (!bad && (vdev_bringup(&dev, &q, F_INDIRECT, QNUM) || blk_good_read(&dev, &q, 0, 1) ||
                 blk_good_read(&dev, &q, 9, 2))) {
        put_s("  FAIL: the device does not work after a reset\n");
        bad = 1;
    }
    if (!bad && a->out_sectors && sector_unchanged(a->out_sector, a->out_sectors, code)) {
        put_s("  FAIL: the OUT attack changed the disk\n");
        bad = 1;
    }
    if (bad)
        mal_failed_check(a->name);
    return bad ? code : 0;
}

int main(void)
{
    put_s("virtio_blk_wild: start\n");
    re = ram_end();
    put_kv("RAM end ", re);
    (void)qemu_quirks();
    text_sum = checksum_image();
    if (vdev_find(&dev, 2))
        mal_fail(1, "no modern virtio-blk device found");
    put_kv("virtio-blk at ", dev.base);
    arena_prepare();
    if (vdev_bringup(&dev, &q, F_INDIRECT, QNUM))
        mal_fail(2, "bring-up failed");
    put_kv("features ", dev.features);
    if (blk_good_read(&dev, &q, 0, 1))
        mal_fail(3, "first good read (sector 0) failed");
    put_s("good read: sector 0 starts with \"");
    for (unsigned i = 0; i < 20; i++)
        put_c((char)arena[A_DATA + i]);
    put_s("\"\n");
    if (blk_good_read(&dev, &q, 5, 4))
        mal_fail(4, "good read of sectors 5..8 failed");
    if (blk_good_read(&dev, &q, CAPACITY_SECTORS - 1, 1))
        mal_fail(5, "good read of the last sector failed (is the disk 1 MiB?)");

    /* A legitimately big request: the whole 1 MiB disk in one descriptor,
     * into RAM above this program (the device must chunk it, not
     * allocate it). */
    {
        uint64_t big = RAM_BASE + 0x100000;
        memset((void *)(uintptr_t)big, 0xee, 0x100000);
        blk_hdr(A_HDR, BLK_T_IN, 0);
        arena[A_STATUS] = 0xff;
        desc_set(q.desc, 0, AR(A_HDR), 16, D_NEXT, 1);
        desc_set(q.desc, 1, big, 0x100000, D_NEXT | D_WRITE, 2);
        desc_set(q.desc, 2, AR(A_STATUS), 1, D_WRITE, 0);
        vq_publish(&q, 0);
        vq_notify(&dev, 0);
        uint32_t id, len;
        if (vq_wait(&dev, &q, 5000, &id, &len) != W_DONE || arena[A_STATUS] != 0)
            mal_fail(6, "good 1 MiB read failed");
        for (uint64_t s = 0; s < CAPACITY_SECTORS; s++)
            for (unsigned i = 0; i < 512; i++)
                if (((volatile uint8_t *)(uintptr_t)big)[512 * s + i] != disk_byte(s, i))
                    mal_fail(6, "good 1 MiB read returned wrong data");
        put_s("good read: whole disk in one 1 MiB descriptor\n");
    }

    int first = 0, nfail = 0;
    unsigned n = sizeof attacks / sizeof attacks[0];
    for (unsigned k = 0; k < n; k++) {
        int rc = run_attack(k, &attacks[k]);
        if (rc) {
            nfail++;
            if (!first)
                first = rc;
            /* Get a working device back for the next attack, if we can. */
            if (vdev_bringup(&dev, &q, F_INDIRECT, QNUM))
                break;
        }
    }
    if (nfail) {
        put_s("virtio_blk_wild: ");
        put_dec((uint64_t)nfail);
        put_s(" attack(s) mishandled\n");
        return first;
    }
    put_s("virtio_blk_wild: all attacks handled\n");
    return 0;
}

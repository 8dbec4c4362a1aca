#include "machine/sbi.h"

#include <stdint.h>
#include <string.h>

#include "machine/board.h"

/* a0..a7 */
#define A(h, i) ((h)->x[10 + (i)])

static void ret2(struct rv_hart *h, long err, uint64_t val)
{
    A(h, 0) = (uint64_t)(int64_t)err;
    A(h, 1) = val;
}

/* ---- hart masks ----------------------------------------------------------- */

typedef void (*hart_fn)(struct board *b, struct rv_hart *target);

/* Apply fn to the harts named by (mask, base); base == -1 means all harts.
 * Validates every named hart first (nothing happens on INVALID_PARAM).
 * *done (optional) gets the set of harts fn was applied to. */
static long for_harts(struct board *b, uint64_t mask, uint64_t base, hart_fn fn, uint64_t *done)
{
    unsigned n = board_nharts(b);
    uint64_t set = 0;
    if (done)
        *done = 0;
    if (base == UINT64_MAX) {
        for (unsigned i = 0; i < n; i++) {
            fn(b, board_hart(b, i));
            set |= 1ull << i;
        }
        if (done)
            *done = set;
        return SBI_SUCCESS;
    }
    if (mask == 0)
        return SBI_SUCCESS;
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(mask & (1ull << bit)))
            continue;
        uint64_t id = base + bit;
        if (id < base || id >= n)
            return SBI_ERR_INVALID_PARAM;
    }
    for (unsigned bit = 0; bit < 64; bit++) {
        if (mask & (1ull << bit)) {
            fn(b, board_hart(b, (unsigned)(base + bit)));
            set |= 1ull << (base + bit);
        }
    }
    if (done)
        *done = set;
    return SBI_SUCCESS;
}

/* Remote fences are synchronous, as the SBI spec has them: the call
 * returns once every target has flushed. Targets running on other host
 * threads serve flush_request at their next block boundary; the VMM's
 * fence_wait hook waits for that (a target that is not running serves it
 * before it next runs, so it is not waited for). */
static long remote_fence(struct board *b, struct rv_hart *h, uint64_t mask, uint64_t base,
                         hart_fn fn, int bits)
{
    uint64_t done = 0;
    long r = for_harts(b, mask, base, fn, &done);
    if (r == SBI_SUCCESS)
        board_fence_wait(b, (unsigned)h->mhartid, done, bits);
    return r;
}

static void do_ipi(struct board *b, struct rv_hart *t)
{
    rv_hart_set_irq(t, RV_MIP_SSIP, true);
    board_wake(b, (unsigned)t->mhartid);
}

/* flush_request bits (riscv/hart.h) set by rv_hart_flush_tlb / _icache. */
#define FENCE_BIT_TLB 1
#define FENCE_BIT_ICACHE 2

static void do_fence_i(struct board *b, struct rv_hart *t)
{
    (void)b;
    rv_hart_flush_icache(t);
}

static void do_sfence_vma(struct board *b, struct rv_hart *t)
{
    (void)b;
    rv_hart_flush_tlb(t);
}

/* Legacy calls pass a pointer to the hart mask (0 = all harts). We read it
 * as a guest-physical address: the legacy ABI is only used by early boot
 * code (before paging) in practice; Linux >= 5.x uses the v0.2+ IPI and
 * RFENCE extensions. */
static long legacy_mask(struct board *b, uint64_t ptr, uint64_t *mask, uint64_t *base)
{
    if (ptr == 0) {
        *mask = 0;
        *base = UINT64_MAX;
        return SBI_SUCCESS;
    }
    if ((ptr & 7) || pmap_read(board_pmap(b), ptr, mask, 8) < 0)
        return SBI_ERR_INVALID_ADDRESS;
    *base = 0;
    return SBI_SUCCESS;
}

/* ---- extensions ------------------------------------------------------------ */

static bool ext_available(uint64_t ext)
{
    switch (ext) {
    case SBI_EXT_BASE:
    case SBI_EXT_TIME:
    case SBI_EXT_IPI:
    case SBI_EXT_RFENCE:
    case SBI_EXT_HSM:
    case SBI_EXT_SRST:
    case SBI_EXT_DBCN:
        return true;
    default:
        return ext <= SBI_EXT_LEGACY_LAST;
    }
}

static void sbi_base(struct rv_hart *h, uint64_t fid)
{
    switch (fid) {
    case 0: ret2(h, SBI_SUCCESS, SBI_SPEC_VERSION); break;
    case 1: ret2(h, SBI_SUCCESS, BOARD_SBI_IMPL_ID); break;
    case 2: ret2(h, SBI_SUCCESS, BOARD_SBI_IMPL_VERSION); break;
    case 3: ret2(h, SBI_SUCCESS, ext_available(A(h, 0)) ? 1 : 0); break;
    case 4: /* mvendorid */
    case 5: /* marchid */
    case 6: /* mimpid */
        ret2(h, SBI_SUCCESS, 0);
        break;
    default: ret2(h, SBI_ERR_NOT_SUPPORTED, 0); break;
    }
}

static void sbi_rfence(struct board *b, struct rv_hart *h, uint64_t fid)
{
    long r;
    switch (fid) {
    case 0: r = remote_fence(b, h, A(h, 0), A(h, 1), do_fence_i, FENCE_BIT_ICACHE); break;
    case 1: /* remote_sfence_vma(mask, base, start, size): we flush it all */
    case 2: /* ... _asid(mask, base, start, size, asid) */
        r = remote_fence(b, h, A(h, 0), A(h, 1), do_sfence_vma, FENCE_BIT_TLB);
        break;
    default: r = SBI_ERR_NOT_SUPPORTED; break;   /* hfence.*: no H extension */
    }
    ret2(h, r, 0);
}

static void sbi_hsm(struct board *b, struct rv_hart *h, uint64_t fid)
{
    unsigned n = board_nharts(b);
    uint64_t hartid = A(h, 0);
    switch (fid) {
    case 0: { /* hart_start(hartid, start_addr, opaque) */
        uint64_t start = A(h, 1), opaque = A(h, 2);
        if (hartid >= n) {
            ret2(h, SBI_ERR_INVALID_PARAM, 0);
            return;
        }
        if (!pmap_contains(board_pmap(b), start, 2) || (start & 1)) {
            ret2(h, SBI_ERR_INVALID_ADDRESS, 0);
            return;
        }
        if (!board_hart_state_cas(b, (unsigned)hartid, BOARD_HART_STOPPED,
                                  BOARD_HART_START_PENDING)) {
            ret2(h, SBI_ERR_ALREADY_AVAILABLE, 0);
            return;
        }
        struct rv_hart *t = board_hart(b, (unsigned)hartid);
        rv_hart_reset(t, start);
        rv_hart_boot_supervisor(t, start, opaque);   /* a0 = hartid, a1 = opaque */
        board_set_hart_state(b, (unsigned)hartid, BOARD_HART_STARTED);
        board_wake(b, (unsigned)hartid);
        ret2(h, SBI_SUCCESS, 0);
        return;
    }
    case 1: /* hart_stop(): does not return on success. STOP_PENDING until
             * the run loop has taken the hart off its thread (board.h). */
        board_set_hart_state(b, (unsigned)h->mhartid, BOARD_HART_STOP_PENDING);
        atomic_store(&h->exit_request, 1);
        ret2(h, SBI_SUCCESS, 0);
        return;
    case 2: /* hart_get_status(hartid) */
        if (hartid >= n)
            ret2(h, SBI_ERR_INVALID_PARAM, 0);
        else
            ret2(h, SBI_SUCCESS, (uint64_t)board_hart_state(b, (unsigned)hartid));
        return;
    case 3: { /* hart_suspend(type, resume_addr, opaque) */
        uint64_t type = A(h, 0);
        if (type == 0) {
            /* Default retentive suspend: behaves like WFI; the run loop
             * resumes the hart (after this ecall) when an interrupt is
             * pending and enabled. */
            board_set_hart_state(b, (unsigned)h->mhartid, BOARD_HART_SUSPENDED);
            atomic_store(&h->exit_request, 1);
            ret2(h, SBI_SUCCESS, 0);
        } else if (type == 0x80000000ull || (type >= 0x10000000ull && type <= 0x7fffffffull) ||
                   (type >= 0x90000000ull && type <= 0xffffffffull)) {
            ret2(h, SBI_ERR_NOT_SUPPORTED, 0);   /* valid but not implemented */
        } else {
            ret2(h, SBI_ERR_INVALID_PARAM, 0);   /* reserved */
        }
        return;
    }
    default: ret2(h, SBI_ERR_NOT_SUPPORTED, 0); return;
    }
}

static void sbi_srst(struct board *b, struct rv_hart *h, uint64_t fid)
{
    if (fid != 0) {
        ret2(h, SBI_ERR_NOT_SUPPORTED, 0);
        return;
    }
    uint64_t type = A(h, 0), reason = A(h, 1);
    if (type > 0xffffffffull || reason > 0xffffffffull ||
        (reason >= 2 && reason <= 0xdfffffffull)) {
        ret2(h, SBI_ERR_INVALID_PARAM, 0);
        return;
    }
    switch (type) {
    case 0: /* shutdown; reason 1 = system failure -> failure exit code 1 */
        if (reason == 1)
            board_request(b, BOARD_EV_FAIL, 1);
        else
            board_request(b, BOARD_EV_POWEROFF, 0);
        break;
    case 1: /* cold reboot */
    case 2: /* warm reboot */
        board_request(b, BOARD_EV_RESET, 0);
        break;
    default:
        ret2(h, type >= 0xf0000000ull ? SBI_ERR_NOT_SUPPORTED : SBI_ERR_INVALID_PARAM, 0);
        return;
    }
    ret2(h, SBI_SUCCESS, 0);   /* not seen by the guest: the run loop stops */
}

static void sbi_dbcn(struct board *b, struct rv_hart *h, uint64_t fid)
{
    struct pmap *pm = board_pmap(b);
    uint64_t num = A(h, 0), lo = A(h, 1), hi = A(h, 2);
    /* On RV64 the physical address is hi:lo (128 bits): hi must be 0. */
    uint64_t addr = hi ? UINT64_MAX : lo;
    switch (fid) {
    case 0: { /* console_write(num_bytes, base_lo, base_hi) */
        if (num && !pmap_contains(pm, addr, num)) {
            ret2(h, SBI_ERR_INVALID_PARAM, 0);
            return;
        }
        uint8_t buf[256];
        uint64_t done = 0;
        while (done < num) {
            size_t k = num - done < sizeof buf ? (size_t)(num - done) : sizeof buf;
            pmap_read(pm, addr + done, buf, k);
            board_console_write(b, buf, k);
            done += k;
        }
        ret2(h, SBI_SUCCESS, num);
        return;
    }
    case 1: { /* console_read(num_bytes, base_lo, base_hi) */
        if (num && !pmap_contains(pm, addr, num)) {
            ret2(h, SBI_ERR_INVALID_PARAM, 0);
            return;
        }
        uint64_t got = 0;
        while (got < num) {
            int c = board_console_getc(b);
            if (c < 0)
                break;
            uint8_t byte = (uint8_t)c;
            pmap_write(pm, addr + got, &byte, 1);
            got++;
        }
        ret2(h, SBI_SUCCESS, got);
        return;
    }
    case 2: { /* console_write_byte(byte) */
        uint8_t byte = (uint8_t)A(h, 0);
        board_console_write(b, &byte, 1);
        ret2(h, SBI_SUCCESS, 0);
        return;
    }
    default: ret2(h, SBI_ERR_NOT_SUPPORTED, 0); return;
    }
}

/* Legacy extensions (v0.1): the result is in a0 only. */
static void sbi_legacy(struct board *b, struct rv_hart *h, uint64_t ext)
{
    uint64_t mask, base;
    long r = SBI_SUCCESS;
    switch (ext) {
    case 0x00: rv_hart_set_timer(h, A(h, 0)); break;
    case 0x01: {
        uint8_t c = (uint8_t)A(h, 0);
        board_console_write(b, &c, 1);
        break;
    }
    case 0x02: r = board_console_getc(b); break;   /* byte or -1 */
    case 0x03: rv_hart_set_irq(h, RV_MIP_SSIP, false); break;
    case 0x04:
        r = legacy_mask(b, A(h, 0), &mask, &base);
        if (r == SBI_SUCCESS)
            r = for_harts(b, mask, base, do_ipi, NULL);
        break;
    case 0x05:
        r = legacy_mask(b, A(h, 0), &mask, &base);
        if (r == SBI_SUCCESS)
            r = remote_fence(b, h, mask, base, do_fence_i, FENCE_BIT_ICACHE);
        break;
    case 0x06:
    case 0x07:
        r = legacy_mask(b, A(h, 0), &mask, &base);
        if (r == SBI_SUCCESS)
            r = remote_fence(b, h, mask, base, do_sfence_vma, FENCE_BIT_TLB);
        break;
    case 0x08: board_request(b, BOARD_EV_POWEROFF, 0); break;
    default: r = SBI_ERR_NOT_SUPPORTED; break;
    }
    A(h, 0) = (uint64_t)(int64_t)r;
}

bool sbi_handle(struct board *b, struct rv_hart *h)
{
    uint64_t ext = A(h, 7), fid = A(h, 6);
    switch (ext) {
    case SBI_EXT_BASE: sbi_base(h, fid); break;
    case SBI_EXT_TIME:
        if (fid == 0) {
            rv_hart_set_timer(h, A(h, 0));
            ret2(h, SBI_SUCCESS, 0);
        } else {
            ret2(h, SBI_ERR_NOT_SUPPORTED, 0);
        }
        break;
    case SBI_EXT_IPI:
        if (fid == 0)
            ret2(h, for_harts(b, A(h, 0), A(h, 1), do_ipi, NULL), 0);
        else
            ret2(h, SBI_ERR_NOT_SUPPORTED, 0);
        break;
    case SBI_EXT_RFENCE: sbi_rfence(b, h, fid); break;
    case SBI_EXT_HSM: sbi_hsm(b, h, fid); break;
    case SBI_EXT_SRST: sbi_srst(b, h, fid); break;
    case SBI_EXT_DBCN: sbi_dbcn(b, h, fid); break;
    default:
        if (ext <= SBI_EXT_LEGACY_LAST)
            sbi_legacy(b, h, ext);
        else
            ret2(h, SBI_ERR_NOT_SUPPORTED, 0);
        break;
    }
    return true;
}

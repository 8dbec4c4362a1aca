/* sifive,test0 "finisher" / syscon power control (QEMU virt 0x100000).
 *
 * A write at offset 0 is decoded like QEMU's sifive_test: status = low 16
 * bits, code = bits 31:16.
 *   status 0x5555 -> handler(SYSCON_POWEROFF, 0)
 *   status 0x7777 -> handler(SYSCON_RESET, 0)
 *   status 0x3333 -> handler(SYSCON_FAIL, code)
 * Any other value is ignored (as are the upper 16 bits for 0x5555 / 0x7777,
 * which QEMU also ignores). Accepted lengths: 2, 4 and 8 bytes at offset 0
 * (only the low 32 bits of an 8-byte write count); a 1-byte write, and
 * writes at any other offset, are ignored. Reads always return 0.
 *
 * The handler runs synchronously on the thread of the writing hart; the
 * device has no mutable state, so it needs no lock. */
#include "machine/syscon.h"

#include <stdlib.h>

struct syscon {
    syscon_handler fn;
    void *ctx;
};

struct syscon *syscon_new(syscon_handler fn, void *ctx)
{
    struct syscon *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fn = fn;
    s->ctx = ctx;
    return s;
}

void syscon_free(struct syscon *s)
{
    free(s);
}

static int syscon_read(void *dev, uint64_t off, unsigned len, uint64_t *val)
{
    (void)dev;
    (void)off;
    (void)len;
    *val = 0;
    return 0;
}

static int syscon_write(void *dev, uint64_t off, unsigned len, uint64_t val)
{
    struct syscon *s = dev;
    if (off != 0 || len < 2)
        return 0;
    uint32_t v = (uint32_t)(len == 2 ? (val & 0xffff) : val);
    unsigned status = v & 0xffff, code = v >> 16;
    if (!s->fn)
        return 0;
    switch (status) {
    case 0x5555:
        s->fn(s->ctx, SYSCON_POWEROFF, 0);
        break;
    case 0x7777:
        s->fn(s->ctx, SYSCON_RESET, 0);
        break;
    case 0x3333:
        s->fn(s->ctx, SYSCON_FAIL, code);
        break;
    default:
        break;
    }
    return 0;
}

const struct mmio_ops syscon_mmio_ops = {
    .read = syscon_read,
    .write = syscon_write,
};

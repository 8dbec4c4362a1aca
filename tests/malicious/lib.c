#include "lib.h"

uint64_t mal_fdt_addr __attribute__((section(".data"))) = 0;
volatile int trap_armed;
volatile struct trap_record trap_last;

void *memset(void *d, int c, size_t n)
{
    volatile uint8_t *p = d;    /* volatile: keep gcc from calling memset */
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *p = a, *q = b;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i])
            return p[i] < q[i] ? -1 : 1;
    return 0;
}

void put_c(char c)
{
    /* Wait (bounded) for THR empty, then write. */
    for (int i = 0; i < 100000 && !(rd8(UART_BASE + 5) & 0x20); i++)
        ;
    wr8(UART_BASE, (uint8_t)c);
}

void put_s(const char *s)
{
    while (*s)
        put_c(*s++);
}

void put_hex(uint64_t v)
{
    put_s("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        unsigned d = (v >> i) & 15;
        if (d || started || i == 0) {
            put_c("0123456789abcdef"[d]);
            started = 1;
        }
    }
}

void put_dec(uint64_t v)
{
    char b[24];
    int n = 0;
    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        put_c(b[--n]);
}

void put_kv(const char *a, uint64_t v)
{
    put_s(a);
    put_hex(v);
    put_s("\n");
}

static const char *first_failure;

void mal_failed_check(const char *what)
{
    if (!first_failure)
        first_failure = what;
}

void mal_exit(int code)
{
    fence();
    if (code == 0) {
        put_s("malicious: PASS\n");
        wr32(SYSCON_BASE, 0x5555);
    } else {
        if (code < 0 || code > 126)
            code = 126;
        put_s("malicious: FAIL code ");
        put_dec((uint64_t)code);
        if (first_failure) {
            put_s(": ");
            put_s(first_failure);
        }
        put_s("\n");
        wr32(SYSCON_BASE, 0x3333u | ((uint32_t)code << 16));
    }
    for (;;)
        __asm__ volatile("wfi");
}

void mal_fail(int code, const char *why)
{
    put_s("FAILED: ");
    put_s(why);
    put_s("\n");
    mal_failed_check(why);
    mal_exit(code);
}

uint64_t now_ticks(void)
{
    return *(volatile uint64_t *)CLINT_MTIME;
}

/* ---- device tree: /memory reg ---- */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int prefix(const char *s, const char *p)
{
    while (*p)
        if (*s++ != *p++)
            return 0;
    return 1;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Find property `prop` of the first top-level node whose name starts with
 * `node`; returns its data (and *len) or NULL. */
static const uint8_t *fdt_prop(const char *node, const char *prop, uint32_t *plen)
{
    const uint8_t *f = (const uint8_t *)mal_fdt_addr;
    if (!f || be32(f) != 0xd00dfeed)
        return NULL;
    uint32_t total = be32(f + 4), off_struct = be32(f + 8), off_strings = be32(f + 12);
    const uint8_t *p = f + off_struct, *end = f + total;
    const char *strings = (const char *)f + off_strings;
    int depth = 0, in_node = 0;
    while (p + 4 <= end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == 1) {             /* FDT_BEGIN_NODE */
            const char *name = (const char *)p;
            size_t n = 0;
            while (p + n < end && p[n])
                n++;
            p += (n + 4) & ~(size_t)3;
            depth++;
            if (depth == 2 && prefix(name, node))
                in_node = 1;
        } else if (tok == 2) {      /* FDT_END_NODE */
            if (depth == 2)
                in_node = 0;
            depth--;
        } else if (tok == 3) {      /* FDT_PROP */
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t *data = p + 8;
            p = data + ((len + 3) & ~3u);
            if (depth == 2 && in_node && streq(strings + nameoff, prop)) {
                *plen = len;
                return data;
            }
        } else if (tok == 4) {      /* FDT_NOP */
        } else {
            break;                  /* FDT_END or garbage */
        }
    }
    return NULL;
}

uint64_t ram_end(void)
{
    static uint64_t cached;
    if (cached)
        return cached;
    if (!mal_fdt_addr || be32((const uint8_t *)mal_fdt_addr) != 0xd00dfeed)
        mal_fail(CODE_NO_FDT, "no device tree in a1");
    uint32_t len = 0;
    const uint8_t *reg = fdt_prop("memory", "reg", &len);
    if (!reg || len < 16 || be64(reg) != RAM_BASE || !be64(reg + 8))
        mal_fail(CODE_NO_FDT, "no /memory node at 0x80000000 in the device tree");
    cached = be64(reg) + be64(reg + 8);
    return cached;
}

int qemu_quirks(void)
{
    static int cached = -1;
    if (cached >= 0)
        return cached;
    cached = 0;
    uint32_t len = 0;
    const char *args = (const char *)fdt_prop("chosen", "bootargs", &len);
    static const char key[] = "malicious.qemu-quirks";
    for (uint32_t i = 0; args && i + sizeof key - 1 <= len; i++)
        if (prefix(args + i, key)) {
            cached = 1;
            put_s("(QEMU 7.2 quirks accepted: malicious.qemu-quirks on the command line)\n");
            break;
        }
    return cached;
}

/* ---- traps ---- */
void trap_clear(void)
{
    trap_last.cause = trap_last.tval = trap_last.epc = ~0ull;
    trap_last.count = 0;
}

void mal_trap(struct trap_frame *f)
{
    uint64_t cause = csr_read(mcause), tval = csr_read(mtval), epc = csr_read(mepc);
    if (!trap_armed) {
        mal_failed_check("unexpected trap");
        put_s("unexpected trap: mcause ");
        put_hex(cause);
        put_s(" mepc ");
        put_hex(epc);
        put_s(" mtval ");
        put_hex(tval);
        put_s("\n");
        mal_exit(CODE_UNEXPECTED_TRAP);
    }
    trap_last.cause = cause;
    trap_last.tval = tval;
    trap_last.epc = epc;
    trap_last.count++;
    if (cause == 1) {
        csr_write(mepc, f->x[1]);   /* fetch fault: return to the caller */
    } else {
        uint16_t lo = *(volatile uint16_t *)epc;
        csr_write(mepc, epc + ((lo & 3) == 3 ? 4 : 2));
    }
}

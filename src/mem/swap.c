/* The hypervisor swap store (see swap.h).
 *
 * Layout. The file is an array of 4096-byte blocks, each split into eight
 * 512-byte units. A stored page takes 1..8 contiguous units of one block
 * (never straddling two), so a block's occupancy is one byte, `used`, one
 * bit per unit. A raw page takes a whole block.
 *
 * Allocator. Every block with free space sits on the list of its longest
 * free run (bucket 1..8; full blocks are on no list). A request for k units
 * takes the head of the first non-empty bucket k, k+1, ..., 8 (best fit, so
 * empty blocks are kept for raw pages), else appends a block. Every step is
 * O(1) and metadata costs 13 bytes per block. Since a block on the file
 * holds at least one live page unless it is empty, and empty blocks are
 * reused before the file grows, the file never spans more blocks than the
 * peak number of pages stored. Empty blocks at the tail are cut off
 * (ftruncate) once there are SWAP_SHRINK_BLOCKS of them, or all are empty.
 *
 * Slots. A slot id is 1 + an index into a growable array of struct
 * swap_slot (block, first unit, unit count, compressed length or 0 for
 * raw, state). Free indices are kept on a list threaded through the array
 * and reused. Ids stay below 2^32 so callers may pack them.
 *
 * Locking. One mutex guards the allocator, the slot array, the stats and a
 * small pool of zstd contexts; it is never held across pread/pwrite or
 * (de)compression. A put marks its slot PENDING while it writes (its id is
 * not yet known to anyone; a guessed id gets -EINVAL). A get pins its slot
 * (readers count) while it reads; a drop of a pinned slot only marks it
 * DROPPED and the last reader frees the space, so a buggy concurrent
 * drop can never make a reader see another page's bytes. The only I/O
 * under the lock is the occasional ftruncate when the tail shrinks: it
 * must not race with an allocation of the blocks it cuts off. */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "mem/swap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#define SWAP_UNIT 512u
#define SWAP_UNITS_PER_BLOCK (SWAP_PAGE_SIZE / SWAP_UNIT) /* 8: fits `used` */
/* Compressed pages must come out below this, else they are stored raw. */
#define SWAP_COMPRESSED_MAX (SWAP_PAGE_SIZE * 3 / 4)
#define SWAP_ZSTD_LEVEL 1
#define SWAP_NONE UINT32_MAX
/* Trailing empty blocks tolerated before the file is truncated: avoids one
 * ftruncate per drop when puts and drops churn at the tail. */
#define SWAP_SHRINK_BLOCKS 16u
/* zstd context pairs kept for reuse; more concurrent callers than this
 * make their own and free them afterwards. */
#define SWAP_CTX_POOL_MAX 8u

enum swap_slot_state {
    SLOT_FREE = 0,
    SLOT_PENDING,  /* space allocated, put still writing */
    SLOT_USED,
    SLOT_DROPPED,  /* dropped while a get was reading it */
};

struct swap_slot {
    uint32_t block;     /* SLOT_FREE: next free slot index (or SWAP_NONE) */
    uint32_t readers;   /* gets in progress */
    uint16_t clen;      /* compressed length; 0: stored raw */
    uint8_t unit;       /* first unit in the block, 0..7 */
    uint8_t nunits;     /* 1..8 */
    uint8_t state;
};

struct swap_block {
    uint32_t prev, next; /* bucket list links */
    uint8_t used;        /* one bit per unit */
    uint8_t bucket;      /* list it is on: longest free run; 0: none */
};

/* A compressor/decompressor pair, each made on first use. */
struct swap_ctx {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    struct swap_ctx *next;
};

struct swap {
    pthread_mutex_t lock;
    int fd;

    struct swap_block *blocks;
    uint32_t nblocks, blocks_cap;
    uint32_t bucket_head[SWAP_UNITS_PER_BLOCK + 1];

    struct swap_slot *slots;
    uint32_t nslots, slots_cap;
    uint32_t free_slot;

    struct swap_ctx *ctx_pool;
    unsigned ctx_pooled;

    uint64_t pages, bytes, puts, gets;
};

/* ---- block allocator ---- */

static unsigned longest_free_run(uint8_t used)
{
    unsigned best = 0, run = 0;
    for (unsigned i = 0; i < SWAP_UNITS_PER_BLOCK; i++) {
        if (used & (1u << i)) {
            run = 0;
        } else if (++run > best) {
            best = run;
        }
    }
    return best;
}

static uint8_t units_mask(unsigned first, unsigned n)
{
    return (uint8_t)(((1u << n) - 1) << first);
}

/* First unit of a run of n free units, or -1. */
static int first_fit(uint8_t used, unsigned n)
{
    for (unsigned pos = 0; pos + n <= SWAP_UNITS_PER_BLOCK; pos++)
        if (!(used & units_mask(pos, n)))
            return (int)pos;
    return -1;
}

static void bucket_unlink(struct swap *sw, uint32_t b)
{
    struct swap_block *blk = &sw->blocks[b];
    if (!blk->bucket)
        return;
    if (blk->prev != SWAP_NONE)
        sw->blocks[blk->prev].next = blk->next;
    else
        sw->bucket_head[blk->bucket] = blk->next;
    if (blk->next != SWAP_NONE)
        sw->blocks[blk->next].prev = blk->prev;
    blk->prev = blk->next = SWAP_NONE;
    blk->bucket = 0;
}

static void bucket_link(struct swap *sw, uint32_t b)
{
    struct swap_block *blk = &sw->blocks[b];
    unsigned bucket = longest_free_run(blk->used);
    blk->bucket = (uint8_t)bucket;
    blk->prev = SWAP_NONE;
    blk->next = SWAP_NONE;
    if (!bucket)
        return;
    blk->next = sw->bucket_head[bucket];
    if (blk->next != SWAP_NONE)
        sw->blocks[blk->next].prev = b;
    sw->bucket_head[bucket] = b;
}

static int alloc_units(struct swap *sw, unsigned n, uint32_t *block, unsigned *unit)
{
    for (unsigned bucket = n; bucket <= SWAP_UNITS_PER_BLOCK; bucket++) {
        uint32_t b = sw->bucket_head[bucket];
        if (b == SWAP_NONE)
            continue;
        int pos = first_fit(sw->blocks[b].used, n);
        if (pos < 0)
            return -EIO; /* the bucket lied: cannot happen */
        bucket_unlink(sw, b);
        sw->blocks[b].used |= units_mask((unsigned)pos, n);
        bucket_link(sw, b);
        *block = b;
        *unit = (unsigned)pos;
        return 0;
    }
    if (sw->nblocks == SWAP_NONE)
        return -ENOSPC;
    if (sw->nblocks == sw->blocks_cap) {
        uint32_t cap = sw->blocks_cap ? sw->blocks_cap : 64;
        cap = cap > SWAP_NONE / 2 ? SWAP_NONE : cap * 2;
        struct swap_block *nb = realloc(sw->blocks, (size_t)cap * sizeof *nb);
        if (!nb)
            return -ENOMEM;
        sw->blocks = nb;
        sw->blocks_cap = cap;
    }
    uint32_t b = sw->nblocks++;
    sw->blocks[b].used = units_mask(0, n);
    sw->blocks[b].bucket = 0;
    bucket_link(sw, b);
    *block = b;
    *unit = 0;
    return 0;
}

/* Cut off empty blocks at the end of the file, if there are enough. */
static void maybe_shrink(struct swap *sw)
{
    uint32_t empty = 0;
    while (empty < sw->nblocks && empty < SWAP_SHRINK_BLOCKS &&
           sw->blocks[sw->nblocks - 1 - empty].used == 0)
        empty++;
    if (empty < SWAP_SHRINK_BLOCKS && empty < sw->nblocks)
        return;
    /* Enough (or everything is empty): take the whole empty tail. */
    while (empty < sw->nblocks && sw->blocks[sw->nblocks - 1 - empty].used == 0)
        empty++;
    uint32_t keep = sw->nblocks - empty;
    for (uint32_t b = keep; b < sw->nblocks; b++)
        bucket_unlink(sw, b);
    sw->nblocks = keep;
    /* A failure only leaves the file longer than needed: later writes
     * reuse that space, so it is not worth reporting. */
    if (ftruncate(sw->fd, (off_t)keep * SWAP_PAGE_SIZE) != 0)
        return;
}

static void free_units(struct swap *sw, uint32_t b, unsigned first, unsigned n)
{
    bucket_unlink(sw, b);
    sw->blocks[b].used &= (uint8_t)~units_mask(first, n);
    bucket_link(sw, b);
    if (sw->blocks[b].used == 0 && sw->nblocks - b <= SWAP_SHRINK_BLOCKS)
        maybe_shrink(sw);
}

/* ---- slots ---- */

static int alloc_slot(struct swap *sw, uint32_t *idx)
{
    if (sw->free_slot != SWAP_NONE) {
        *idx = sw->free_slot;
        sw->free_slot = sw->slots[*idx].block;
        return 0;
    }
    /* Ids are index + 1 and must stay below 2^32. */
    if (sw->nslots >= SWAP_NONE - 1)
        return -ENOSPC;
    if (sw->nslots == sw->slots_cap) {
        uint32_t cap = sw->slots_cap ? sw->slots_cap : 256;
        cap = cap > (SWAP_NONE - 1) / 2 ? SWAP_NONE - 1 : cap * 2;
        struct swap_slot *ns = realloc(sw->slots, (size_t)cap * sizeof *ns);
        if (!ns)
            return -ENOMEM;
        sw->slots = ns;
        sw->slots_cap = cap;
    }
    *idx = sw->nslots++;
    return 0;
}

static void free_slot(struct swap *sw, uint32_t idx)
{
    struct swap_slot *s = &sw->slots[idx];
    s->state = SLOT_FREE;
    s->readers = 0;
    s->block = sw->free_slot;
    sw->free_slot = idx;
}

/* Give back a stored page's space and its id. */
static void release_slot(struct swap *sw, uint32_t idx)
{
    struct swap_slot *s = &sw->slots[idx];
    sw->pages--;
    sw->bytes -= (uint64_t)s->nunits * SWAP_UNIT;
    free_units(sw, s->block, s->unit, s->nunits);
    free_slot(sw, idx);
}

/* The slot an id names if it holds a page a get may read, else NULL. */
static struct swap_slot *slot_in_use(struct swap *sw, uint64_t id, uint32_t *idx)
{
    if (id == 0 || id > sw->nslots)
        return NULL;
    *idx = (uint32_t)(id - 1);
    struct swap_slot *s = &sw->slots[*idx];
    return s->state == SLOT_USED ? s : NULL;
}

/* ---- zstd contexts ---- */

/* Called with the lock held; NULL: the caller makes its own, unlocked. */
static struct swap_ctx *ctx_take_locked(struct swap *sw)
{
    struct swap_ctx *c = sw->ctx_pool;
    if (c) {
        sw->ctx_pool = c->next;
        sw->ctx_pooled--;
    }
    return c;
}

static void ctx_free(struct swap_ctx *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c);
}

/* Called with the lock held; returns what the caller must free unlocked. */
static struct swap_ctx *ctx_give_locked(struct swap *sw, struct swap_ctx *c)
{
    if (!c || sw->ctx_pooled >= SWAP_CTX_POOL_MAX)
        return c;
    c->next = sw->ctx_pool;
    sw->ctx_pool = c;
    sw->ctx_pooled++;
    return NULL;
}

static struct swap_ctx *ctx_take(struct swap *sw)
{
    pthread_mutex_lock(&sw->lock);
    struct swap_ctx *c = ctx_take_locked(sw);
    pthread_mutex_unlock(&sw->lock);
    return c ? c : calloc(1, sizeof *c);
}

/* ---- I/O ---- */

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO; /* the file is shorter than the slot says */
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static uint64_t slot_offset(const struct swap_slot *s)
{
    return (uint64_t)s->block * SWAP_PAGE_SIZE + (uint64_t)s->unit * SWAP_UNIT;
}

/* ---- API ---- */

static int open_unlinked(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    /* EISDIR: kernel without O_TMPFILE; EOPNOTSUPP: file system without. */
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
        return fd;
    size_t len = strlen(dir) + sizeof "/disco-swap-XXXXXX";
    char *path = malloc(len);
    if (!path) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(path, len, "%s/disco-swap-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0 && unlink(path) != 0) {
        int e = errno;
        close(fd);
        fd = -1;
        errno = e;
    }
    free(path);
    return fd;
}

struct swap *swap_open(const char *dir, struct disco_err *err)
{
    if (!dir) {
        dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/var/tmp";
    }
    struct swap *sw = calloc(1, sizeof *sw);
    if (!sw) {
        err_set(err, -ENOMEM, "swap: out of memory");
        return NULL;
    }
    sw->fd = open_unlinked(dir);
    if (sw->fd < 0) {
        err_errno(err, errno, "swap: cannot create the swap file in '%s'", dir);
        free(sw);
        return NULL;
    }
    int rc = pthread_mutex_init(&sw->lock, NULL);
    if (rc) {
        err_errno(err, rc, "swap: mutex");
        close(sw->fd);
        free(sw);
        return NULL;
    }
    for (unsigned i = 0; i <= SWAP_UNITS_PER_BLOCK; i++)
        sw->bucket_head[i] = SWAP_NONE;
    sw->free_slot = SWAP_NONE;
    return sw;
}

void swap_close(struct swap *sw)
{
    if (!sw)
        return;
    while (sw->ctx_pool) {
        struct swap_ctx *c = sw->ctx_pool;
        sw->ctx_pool = c->next;
        ctx_free(c);
    }
    close(sw->fd);
    pthread_mutex_destroy(&sw->lock);
    free(sw->blocks);
    free(sw->slots);
    free(sw);
}

int swap_put(struct swap *sw, const uint8_t *page, uint64_t *slot)
{
    if (!sw || !page || !slot)
        return -EINVAL;

    /* Compress into a buffer just short of the limit: zstd gives up
     * (dstSize_tooSmall) as soon as the page cannot make it, and the page
     * is stored raw. No context (out of memory) also means raw. */
    uint8_t cbuf[SWAP_COMPRESSED_MAX - 1];
    size_t clen = 0;
    struct swap_ctx *ctx = ctx_take(sw);
    if (ctx && !ctx->cctx)
        ctx->cctx = ZSTD_createCCtx();
    if (ctx && ctx->cctx) {
        size_t r = ZSTD_compressCCtx(ctx->cctx, cbuf, sizeof cbuf, page, SWAP_PAGE_SIZE,
                                     SWAP_ZSTD_LEVEL);
        if (!ZSTD_isError(r))
            clen = r;
    }
    const uint8_t *data = clen ? cbuf : page;
    size_t len = clen ? clen : SWAP_PAGE_SIZE;
    unsigned nunits = (unsigned)((len + SWAP_UNIT - 1) / SWAP_UNIT);

    pthread_mutex_lock(&sw->lock);
    struct swap_ctx *unpooled = ctx_give_locked(sw, ctx);
    uint32_t idx = 0, block = 0;
    unsigned unit = 0;
    int rc = alloc_slot(sw, &idx);
    if (rc == 0) {
        rc = alloc_units(sw, nunits, &block, &unit);
        if (rc)
            free_slot(sw, idx);
    }
    struct swap_slot s = {
        .block = block, .clen = (uint16_t)clen, .unit = (uint8_t)unit,
        .nunits = (uint8_t)nunits, .state = SLOT_PENDING,
    };
    if (rc == 0) {
        sw->slots[idx] = s;
        /* Counted now so release_slot can undo it on a failed write. */
        sw->pages++;
        sw->bytes += (uint64_t)nunits * SWAP_UNIT;
    }
    pthread_mutex_unlock(&sw->lock);
    ctx_free(unpooled);
    if (rc)
        return rc;

    rc = pwrite_full(sw->fd, data, len, slot_offset(&s));

    pthread_mutex_lock(&sw->lock);
    if (rc) {
        release_slot(sw, idx);
    } else {
        sw->slots[idx].state = SLOT_USED;
        sw->puts++;
    }
    pthread_mutex_unlock(&sw->lock);
    if (rc == 0)
        *slot = (uint64_t)idx + 1;
    return rc;
}

int swap_get(struct swap *sw, uint64_t slot, uint8_t *page)
{
    if (!sw || !page)
        return -EINVAL;

    pthread_mutex_lock(&sw->lock);
    uint32_t idx;
    struct swap_slot *sp = slot_in_use(sw, slot, &idx);
    if (!sp || sp->readers == UINT32_MAX) {
        pthread_mutex_unlock(&sw->lock);
        return -EINVAL;
    }
    sp->readers++;
    struct swap_slot s = *sp; /* the array may move once unlocked */
    struct swap_ctx *ctx = s.clen ? ctx_take_locked(sw) : NULL;
    pthread_mutex_unlock(&sw->lock);

    int rc;
    if (!s.clen) {
        rc = pread_full(sw->fd, page, SWAP_PAGE_SIZE, slot_offset(&s));
    } else {
        uint8_t cbuf[SWAP_COMPRESSED_MAX];
        if (!ctx)
            ctx = calloc(1, sizeof *ctx);
        if (ctx && !ctx->dctx)
            ctx->dctx = ZSTD_createDCtx();
        if (!ctx || !ctx->dctx) {
            rc = -ENOMEM;
        } else if (s.clen > sizeof cbuf) {
            rc = -EIO; /* cannot happen: put never stores more */
        } else {
            rc = pread_full(sw->fd, cbuf, s.clen, slot_offset(&s));
            if (rc == 0) {
                /* A frame that decodes to anything but exactly one page
                 * (too long fails with dstSize_tooSmall) is corrupt. */
                size_t r = ZSTD_decompressDCtx(ctx->dctx, page, SWAP_PAGE_SIZE, cbuf, s.clen);
                if (ZSTD_isError(r) || r != SWAP_PAGE_SIZE)
                    rc = -EIO;
            }
        }
    }

    pthread_mutex_lock(&sw->lock);
    struct swap_ctx *unpooled = ctx_give_locked(sw, ctx);
    sp = &sw->slots[idx];
    if (--sp->readers == 0 && sp->state == SLOT_DROPPED)
        release_slot(sw, idx);
    if (rc == 0)
        sw->gets++;
    pthread_mutex_unlock(&sw->lock);
    ctx_free(unpooled);
    return rc;
}

void swap_drop(struct swap *sw, uint64_t slot)
{
    if (!sw)
        return;
    pthread_mutex_lock(&sw->lock);
    uint32_t idx;
    struct swap_slot *s = slot_in_use(sw, slot, &idx);
    if (s) {
        if (s->readers)
            s->state = SLOT_DROPPED; /* the last reader releases it */
        else
            release_slot(sw, idx);
    }
    pthread_mutex_unlock(&sw->lock);
}

void swap_stats(struct swap *sw, struct swap_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!sw)
        return;
    pthread_mutex_lock(&sw->lock);
    st->pages = sw->pages;
    st->bytes = sw->bytes;
    st->file_size = (uint64_t)sw->nblocks * SWAP_PAGE_SIZE;
    st->puts = sw->puts;
    st->gets = sw->gets;
    pthread_mutex_unlock(&sw->lock);
}

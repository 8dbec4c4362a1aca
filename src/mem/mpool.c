/* The machine memory pool: budget accounting, the share table and the
 * (lazily opened) swap store. See mpool.h.
 *
 * Share table: a chained hash map keyed by (domain, xxh3 of the page). A
 * node either records a first sighting (frame == NULL, a "hint": no memory
 * but the node) or owns a frame with a reference count. Frames come from
 * mmap'd chunks; each chunk keeps, per frame, the node that owns it, which
 * is how mpool_unshare finds a frame's node. Freed frames are
 * MADV_DONTNEED'd (the memory goes back to the host) and kept on a free
 * list for reuse. One mutex covers the table, chunks and free list: none of
 * it is on a hart's fast path (pmap_scan runs it with the VM quiesced; a
 * COW break calls mpool_unshare once). */
#include "mem/mpool.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/swap.h"

#define FRAME_SIZE 4096u
#define CHUNK_FRAMES 512u /* 2 MiB of frames per mmap */
#define MIN_BUCKETS 1024u
/* Hints (first sightings) cost a node each. They are capped at one per
 * page of budget (about what the attached pmaps can hold privately), and at
 * least MIN_HINTS, the oldest forgotten first: so a hint lives about as
 * long as it takes the scanners to go once over all private memory, which
 * is what pages of other VMs of a domain need to meet it, whatever the
 * sizes and round lengths of the VMs. */
#define MIN_HINTS 65536u

struct share_node {
    struct share_node *next;    /* hash chain */
    uint64_t hash;
    uint32_t domain;
    uint32_t refs;      /* guest pages mapping frame; 0 for a hint */
    uint8_t *frame;     /* NULL: hint */
    /* Hints only: where the page was seen (a pmap slot: the same page
     * offered again in a later round is not a second sighting), and the
     * age list, oldest first. */
    const uint8_t *where;
    struct share_node *older, *newer;
};

struct frame_chunk {
    uint8_t *base;                              /* CHUNK_FRAMES frames */
    struct share_node *owner[CHUNK_FRAMES];     /* NULL: frame free */
};

struct named_domain {
    char name[MPOOL_DOMAIN_NAME_MAX + 1];
    uint32_t id;
};

struct mpool {
    uint64_t mem_total;             /* host MemTotal, bytes; 0 if unknown */
    _Atomic uint64_t budget;        /* bytes */

    /* Accounting, in pages. used = private + shared frames. */
    _Atomic int64_t used_pages;
    _Atomic int64_t private_pages;
    _Atomic uint64_t pressure_events;
    atomic_bool pressure_armed;     /* false once fired, until usage goes under the mark */
    void (*pressure_fn)(void *ctx);
    void *pressure_ctx;
    pthread_mutex_t hook_lock;      /* pressure_fn/ctx changes vs. calls */

    pthread_mutex_t lock;           /* everything below */
    uint32_t next_domain;
    struct named_domain *named;
    size_t n_named, cap_named;

    struct share_node **buckets;
    size_t n_buckets;               /* power of two */
    size_t n_nodes;
    size_t n_hints;
    struct share_node *oldest_hint, *newest_hint;
    _Atomic uint64_t shared_frames;
    _Atomic uint64_t shared_refs;

    struct frame_chunk **chunks;    /* sorted by base address */
    size_t n_chunks, cap_chunks;
    uint8_t **free_frames;          /* stack */
    size_t n_free, cap_free;

    char *swap_dir;
    pthread_mutex_t swap_lock;
    _Atomic(struct swap *) swap;
};

/* ---- budget and pressure ---- */

/* MemTotal in bytes, 0 if /proc/meminfo cannot be read. */
static uint64_t host_mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kib) == 1)
            break;
    fclose(f);
    return kib * 1024;
}

static uint64_t soft_mark(uint64_t budget) { return budget - budget / 16; }

static int check_budget(const struct mpool *mp, uint64_t budget, struct disco_err *err)
{
    if (budget < MPOOL_MIN_BUDGET)
        return err_set(err, -EINVAL,
                       "memory budget %" PRIu64 " bytes (%" PRIu64 " MiB) is below the minimum "
                       "of %" PRIu64 " bytes (%" PRIu64 " MiB)",
                       budget, budget >> 20, (uint64_t)MPOOL_MIN_BUDGET,
                       (uint64_t)MPOOL_MIN_BUDGET >> 20);
    if (mp->mem_total && budget > mp->mem_total)
        return err_set(err, -EINVAL,
                       "memory budget %" PRIu64 " bytes (%" PRIu64 " MiB) is above the host's "
                       "physical memory, %" PRIu64 " bytes (%" PRIu64 " MiB)",
                       budget, budget >> 20, mp->mem_total, mp->mem_total >> 20);
    return 0;
}

/* Edge-triggered pressure: fire once when usage goes above the soft mark,
 * re-arm once it is back at or under it. Called after every change of
 * used_pages, with no pool lock held. */
static void pressure_check(struct mpool *mp)
{
    int64_t used = atomic_load(&mp->used_pages);
    uint64_t bytes = used > 0 ? (uint64_t)used * FRAME_SIZE : 0;
    if (bytes <= soft_mark(atomic_load(&mp->budget))) {
        if (atomic_load_explicit(&mp->pressure_armed, memory_order_relaxed))
            return;
        atomic_store(&mp->pressure_armed, true);
        /* A charge that crossed the mark meanwhile saw the hook disarmed
         * and returned: look again, or its wake-up is lost. */
        used = atomic_load(&mp->used_pages);
        bytes = used > 0 ? (uint64_t)used * FRAME_SIZE : 0;
        if (bytes <= soft_mark(atomic_load(&mp->budget)))
            return;
    }
    if (!atomic_load_explicit(&mp->pressure_armed, memory_order_relaxed) ||
        !atomic_exchange(&mp->pressure_armed, false))
        return;
    atomic_fetch_add(&mp->pressure_events, 1);
    /* Called with hook_lock held so that once mpool_set_pressure_hook
     * returns, the old hook is not running (its ctx may go away). */
    pthread_mutex_lock(&mp->hook_lock);
    if (mp->pressure_fn)
        mp->pressure_fn(mp->pressure_ctx);
    pthread_mutex_unlock(&mp->hook_lock);
}

struct mpool *mpool_new(const struct mpool_config *cfg, struct disco_err *err)
{
    struct mpool *mp = calloc(1, sizeof *mp);
    if (!mp) {
        err_set(err, -ENOMEM, "out of memory for the memory pool");
        return NULL;
    }
    mp->mem_total = host_mem_total();
    uint64_t budget = cfg ? cfg->budget : 0;
    if (budget == 0) {
        if (!mp->mem_total) {
            err_set(err, -EINVAL, "cannot read MemTotal from /proc/meminfo for the default "
                                  "memory budget: give one");
            free(mp);
            return NULL;
        }
        budget = mp->mem_total / 4 * 3;
        /* A small host still gets a working default if it can hold one. */
        if (budget < MPOOL_MIN_BUDGET && mp->mem_total >= MPOOL_MIN_BUDGET)
            budget = MPOOL_MIN_BUDGET;
    }
    if (check_budget(mp, budget, err) < 0) {
        free(mp);
        return NULL;
    }
    if (cfg && cfg->swap_dir && !(mp->swap_dir = strdup(cfg->swap_dir))) {
        err_set(err, -ENOMEM, "out of memory for the memory pool");
        free(mp);
        return NULL;
    }
    mp->n_buckets = MIN_BUCKETS;
    mp->buckets = calloc(mp->n_buckets, sizeof *mp->buckets);
    if (!mp->buckets) {
        err_set(err, -ENOMEM, "out of memory for the memory pool");
        free(mp->swap_dir);
        free(mp);
        return NULL;
    }
    atomic_init(&mp->budget, budget);
    atomic_init(&mp->pressure_armed, true);
    mp->next_domain = 1;
    pthread_mutex_init(&mp->lock, NULL);
    pthread_mutex_init(&mp->hook_lock, NULL);
    pthread_mutex_init(&mp->swap_lock, NULL);
    return mp;
}

void mpool_free(struct mpool *mp)
{
    if (!mp)
        return;
    for (size_t b = 0; b < mp->n_buckets; b++)
        for (struct share_node *n = mp->buckets[b], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    free(mp->buckets);
    for (size_t c = 0; c < mp->n_chunks; c++) {
        munmap(mp->chunks[c]->base, (size_t)CHUNK_FRAMES * FRAME_SIZE);
        free(mp->chunks[c]);
    }
    free(mp->chunks);
    free(mp->free_frames);
    free(mp->named);
    swap_close(atomic_load(&mp->swap));
    free(mp->swap_dir);
    pthread_mutex_destroy(&mp->lock);
    pthread_mutex_destroy(&mp->hook_lock);
    pthread_mutex_destroy(&mp->swap_lock);
    free(mp);
}

uint64_t mpool_budget(const struct mpool *mp)
{
    return atomic_load(&((struct mpool *)mp)->budget);
}

int mpool_set_budget(struct mpool *mp, uint64_t budget, struct disco_err *err)
{
    int rc = check_budget(mp, budget, err);
    if (rc < 0)
        return rc;
    atomic_store(&mp->budget, budget);
    /* A lower budget may put usage over the mark right away. */
    pressure_check(mp);
    return 0;
}

void mpool_set_pressure_hook(struct mpool *mp, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&mp->hook_lock);
    mp->pressure_fn = fn;
    mp->pressure_ctx = ctx;
    pthread_mutex_unlock(&mp->hook_lock);
}

void mpool_charge(struct mpool *mp, int64_t private_pages)
{
    if (!mp || private_pages == 0)
        return;
    atomic_fetch_add(&mp->private_pages, private_pages);
    atomic_fetch_add(&mp->used_pages, private_pages);
    pressure_check(mp);
}

static uint64_t over(struct mpool *mp, uint64_t mark)
{
    int64_t used = atomic_load(&mp->used_pages);
    uint64_t bytes = used > 0 ? (uint64_t)used * FRAME_SIZE : 0;
    return bytes > mark ? bytes - mark : 0;
}

uint64_t mpool_over_soft(struct mpool *mp) { return over(mp, soft_mark(atomic_load(&mp->budget))); }
uint64_t mpool_over_budget(struct mpool *mp) { return over(mp, atomic_load(&mp->budget)); }

/* ---- domains ---- */

static bool domain_name_ok(const char *name)
{
    if (!name)
        return false;
    size_t len = 0;
    for (const char *p = name; *p; p++, len++) {
        if (len >= MPOOL_DOMAIN_NAME_MAX)
            return false;
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return len > 0;
}

/* Under mp->lock. 0 once the 32-bit id space is used up. */
static uint32_t fresh_domain(struct mpool *mp)
{
    if (mp->next_domain == 0)
        return 0;
    return mp->next_domain++;
}

uint32_t mpool_domain(struct mpool *mp, const char *name)
{
    if (!domain_name_ok(name))
        return 0;
    uint32_t id = 0;
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < mp->n_named; i++)
        if (strcmp(mp->named[i].name, name) == 0) {
            id = mp->named[i].id;
            goto out;
        }
    if (mp->n_named == mp->cap_named) {
        size_t cap = mp->cap_named ? mp->cap_named * 2 : 8;
        struct named_domain *n = realloc(mp->named, cap * sizeof *n);
        if (!n)
            goto out;
        mp->named = n;
        mp->cap_named = cap;
    }
    id = fresh_domain(mp);
    if (id) {
        strcpy(mp->named[mp->n_named].name, name);
        mp->named[mp->n_named++].id = id;
    }
out:
    pthread_mutex_unlock(&mp->lock);
    return id;
}

uint32_t mpool_private_domain(struct mpool *mp)
{
    pthread_mutex_lock(&mp->lock);
    uint32_t id = fresh_domain(mp);
    pthread_mutex_unlock(&mp->lock);
    return id;
}

/* ---- share table ---- */

static size_t bucket_of(const struct mpool *mp, uint32_t domain, uint64_t hash)
{
    uint64_t k = hash ^ ((uint64_t)domain * 0x9e3779b97f4a7c15ull);
    k ^= k >> 29;
    return (size_t)(k & (mp->n_buckets - 1));
}

static struct share_node **find_slot(struct mpool *mp, uint32_t domain, uint64_t hash)
{
    struct share_node **pp = &mp->buckets[bucket_of(mp, domain, hash)];
    while (*pp && !((*pp)->hash == hash && (*pp)->domain == domain))
        pp = &(*pp)->next;
    return pp;
}

/* Double the buckets when the table gets dense; on allocation failure the
 * chains just get longer. */
static void maybe_grow(struct mpool *mp)
{
    if (mp->n_nodes < mp->n_buckets)
        return;
    size_t n = mp->n_buckets * 2;
    struct share_node **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    struct share_node **old = mp->buckets;
    size_t old_n = mp->n_buckets;
    mp->buckets = nb;
    mp->n_buckets = n;
    for (size_t b = 0; b < old_n; b++)
        for (struct share_node *x = old[b], *next; x; x = next) {
            next = x->next;
            size_t i = bucket_of(mp, x->domain, x->hash);
            x->next = nb[i];
            nb[i] = x;
        }
    free(old);
}

/* The chunk holding frame, or NULL if frame is not one of ours. */
static struct frame_chunk *chunk_of(struct mpool *mp, const uint8_t *frame, size_t *index)
{
    size_t lo = 0, hi = mp->n_chunks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        struct frame_chunk *c = mp->chunks[mid];
        if ((uintptr_t)frame < (uintptr_t)c->base)
            hi = mid;
        else if ((uintptr_t)frame >= (uintptr_t)c->base + (size_t)CHUNK_FRAMES * FRAME_SIZE)
            lo = mid + 1;
        else {
            uintptr_t off = (uintptr_t)frame - (uintptr_t)c->base;
            if (off % FRAME_SIZE)
                return NULL;
            *index = off / FRAME_SIZE;
            return c;
        }
    }
    return NULL;
}

static bool add_chunk(struct mpool *mp)
{
    if (mp->n_chunks == mp->cap_chunks) {
        size_t cap = mp->cap_chunks ? mp->cap_chunks * 2 : 8;
        struct frame_chunk **cs = realloc(mp->chunks, cap * sizeof *cs);
        if (!cs)
            return false;
        mp->chunks = cs;
        mp->cap_chunks = cap;
    }
    /* The free stack can hold every frame of every chunk, so pushing a
     * freed frame never needs memory. */
    size_t frames = (mp->n_chunks + 1) * CHUNK_FRAMES;
    if (mp->cap_free < frames) {
        size_t cap = mp->cap_free ? mp->cap_free * 2 : CHUNK_FRAMES;
        while (cap < frames)
            cap *= 2;
        uint8_t **ff = realloc(mp->free_frames, cap * sizeof *ff);
        if (!ff)
            return false;
        mp->free_frames = ff;
        mp->cap_free = cap;
    }
    struct frame_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return false;
    void *base = mmap(NULL, (size_t)CHUNK_FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(c);
        return false;
    }
    c->base = base;
    size_t at = mp->n_chunks;
    while (at > 0 && (uintptr_t)mp->chunks[at - 1]->base > (uintptr_t)c->base) {
        mp->chunks[at] = mp->chunks[at - 1];
        at--;
    }
    mp->chunks[at] = c;
    mp->n_chunks++;
    /* Pushed high to low so frames are handed out in address order. */
    for (size_t i = CHUNK_FRAMES; i-- > 0;)
        mp->free_frames[mp->n_free++] = c->base + i * FRAME_SIZE;
    return true;
}

static uint8_t *alloc_frame(struct mpool *mp, struct share_node *owner)
{
    if (mp->n_free == 0 && !add_chunk(mp))
        return NULL;
    uint8_t *frame = mp->free_frames[--mp->n_free];
    size_t i = 0;
    struct frame_chunk *c = chunk_of(mp, frame, &i);
    c->owner[i] = owner;
    return frame;
}

static void hint_unlink(struct mpool *mp, struct share_node *n)
{
    if (n->older)
        n->older->newer = n->newer;
    else
        mp->oldest_hint = n->newer;
    if (n->newer)
        n->newer->older = n->older;
    else
        mp->newest_hint = n->older;
    n->older = n->newer = NULL;
    mp->n_hints--;
}

static void hint_append(struct mpool *mp, struct share_node *n)
{
    n->older = mp->newest_hint;
    n->newer = NULL;
    if (mp->newest_hint)
        mp->newest_hint->newer = n;
    else
        mp->oldest_hint = n;
    mp->newest_hint = n;
    mp->n_hints++;
}

/* Take a hint out of the table and free it. */
static void hint_remove(struct mpool *mp, struct share_node *n)
{
    struct share_node **pp = find_slot(mp, n->domain, n->hash);
    if (*pp == n)
        *pp = n->next;
    hint_unlink(mp, n);
    mp->n_nodes--;
    free(n);
}

static size_t hint_cap(const struct mpool *mp)
{
    uint64_t pages = atomic_load(&((struct mpool *)mp)->budget) / FRAME_SIZE;
    return pages > MIN_HINTS ? (size_t)pages : MIN_HINTS;
}

const uint8_t *mpool_share(struct mpool *mp, uint32_t domain, uint64_t hash, const uint8_t *page)
{
    if (!mp || domain == 0 || !page)
        return NULL;
    const uint8_t *ret = NULL;
    bool grew = false;
    pthread_mutex_lock(&mp->lock);
    struct share_node **pp = find_slot(mp, domain, hash);
    struct share_node *n = *pp;
    if (!n) {
        /* First sighting: remember the hash only. Evicting changes the
         * chains, so look the slot up again after. */
        if (mp->n_hints >= hint_cap(mp)) {
            while (mp->n_hints >= hint_cap(mp) && mp->oldest_hint)
                hint_remove(mp, mp->oldest_hint);
            pp = find_slot(mp, domain, hash);
        }
        if ((n = calloc(1, sizeof *n))) {
            n->hash = hash;
            n->domain = domain;
            n->where = page;
            *pp = n;
            mp->n_nodes++;
            hint_append(mp, n);
            maybe_grow(mp);
        }
    } else if (!n->frame && n->where == page) {
        /* The same page again, unchanged: still one sighting. Keep the
         * hint young, it is the most likely to be met. */
        hint_unlink(mp, n);
        hint_append(mp, n);
    } else if (!n->frame) {
        /* Second sighting: the frame is made from this page. */
        uint8_t *frame = alloc_frame(mp, n);
        if (frame) {
            memcpy(frame, page, FRAME_SIZE);
            n->frame = frame;
            n->refs = 1;
            hint_unlink(mp, n);
            n->where = NULL;
            atomic_fetch_add(&mp->shared_frames, 1);
            atomic_fetch_add(&mp->shared_refs, 1);
            atomic_fetch_add(&mp->used_pages, 1);
            grew = true;
            ret = frame;
        }
    } else if (n->refs < UINT32_MAX && memcmp(n->frame, page, FRAME_SIZE) == 0) {
        n->refs++;
        atomic_fetch_add(&mp->shared_refs, 1);
        ret = n->frame;
    }
    /* else: same hash, different bytes (a collision): not shared. */
    pthread_mutex_unlock(&mp->lock);
    if (grew)
        pressure_check(mp);
    return ret;
}

void mpool_unshare(struct mpool *mp, const uint8_t *frame)
{
    if (!mp || !frame)
        return;
    bool freed = false;
    pthread_mutex_lock(&mp->lock);
    size_t i = 0;
    struct frame_chunk *c = chunk_of(mp, frame, &i);
    struct share_node *n = c ? c->owner[i] : NULL;
    if (n) {   /* else not a frame of ours in use: ignore */
        atomic_fetch_sub(&mp->shared_refs, 1);
        if (--n->refs == 0) {
            struct share_node **pp = find_slot(mp, n->domain, n->hash);
            if (*pp == n)
                *pp = n->next;
            mp->n_nodes--;
            free(n);
            c->owner[i] = NULL;
            /* Give the memory back to the host; the frame reads zero. */
            (void)madvise(c->base + i * FRAME_SIZE, FRAME_SIZE, MADV_DONTNEED);
            /* Room for every frame of every chunk was made in add_chunk. */
            mp->free_frames[mp->n_free++] = c->base + i * FRAME_SIZE;
            atomic_fetch_sub(&mp->shared_frames, 1);
            atomic_fetch_sub(&mp->used_pages, 1);
            freed = true;
        }
    }
    pthread_mutex_unlock(&mp->lock);
    if (freed)
        pressure_check(mp);
}

void mpool_forget_hints(struct mpool *mp, uint32_t domain)
{
    if (!mp)
        return;
    pthread_mutex_lock(&mp->lock);
    for (struct share_node *n = mp->oldest_hint, *newer; n; n = newer) {
        newer = n->newer;
        if (n->domain == domain)
            hint_remove(mp, n);
    }
    pthread_mutex_unlock(&mp->lock);
}

/* ---- swap and stats ---- */

struct swap *mpool_swap(struct mpool *mp, struct disco_err *err)
{
    struct swap *sw = atomic_load_explicit(&mp->swap, memory_order_acquire);
    if (sw)
        return sw;
    pthread_mutex_lock(&mp->swap_lock);
    sw = atomic_load(&mp->swap);
    if (!sw) {
        sw = swap_open(mp->swap_dir, err);
        if (sw)
            atomic_store_explicit(&mp->swap, sw, memory_order_release);
    }
    pthread_mutex_unlock(&mp->swap_lock);
    return sw;
}

void mpool_stats(struct mpool *mp, struct mpool_stats *st)
{
    memset(st, 0, sizeof *st);
    st->budget = atomic_load(&mp->budget);
    int64_t used = atomic_load(&mp->used_pages), priv = atomic_load(&mp->private_pages);
    st->used_pages = used > 0 ? (uint64_t)used : 0;
    st->private_pages = priv > 0 ? (uint64_t)priv : 0;
    pthread_mutex_lock(&mp->lock);   /* frames and refs as one picture */
    st->shared_frames = atomic_load(&mp->shared_frames);
    st->shared_refs = atomic_load(&mp->shared_refs);
    pthread_mutex_unlock(&mp->lock);
    st->saved_pages = st->shared_refs - st->shared_frames;
    st->pressure_events = atomic_load(&mp->pressure_events);
    struct swap *sw = atomic_load(&mp->swap);
    if (sw) {
        struct swap_stats ss;
        swap_stats(sw, &ss);
        st->swapped_pages = ss.pages;
        st->swap_bytes = ss.bytes;
    }
}

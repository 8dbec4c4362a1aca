#include <stdbool.h>
#include "mem/swap.h"
#include "t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#define PAGE SWAP_PAGE_SIZE

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

enum page_kind { KIND_RANDOM, KIND_TEXT, KIND_ZERO, KIND_HALF, KIND_SPARSE, KIND_COUNT };

/* Deterministic page contents from (kind, seed), so a reader can rebuild
 * what a writer stored. */
static void make_page(uint8_t *p, unsigned kind, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + kind + 1;
    switch (kind) {
    case KIND_RANDOM: /* incompressible: stored raw */
        for (unsigned i = 0; i < PAGE; i += 8) {
            uint64_t v = xorshift(&s);
            memcpy(p + i, &v, 8);
        }
        break;
    case KIND_TEXT: { /* compressible, like code or text */
        static const char *words[] = {"the ", "swap ", "page ", "guest ", "zstd ",
                                      "memory ", "slot ", "disco "};
        unsigned i = 0;
        while (i < PAGE) {
            const char *w = words[xorshift(&s) % 8];
            for (; *w && i < PAGE; w++)
                p[i++] = (uint8_t)*w;
        }
        break;
    }
    case KIND_ZERO:
        memset(p, 0, PAGE);
        break;
    case KIND_HALF: /* half random: compresses to about half, ~2 KiB */
        for (unsigned i = 0; i < PAGE; i += 8) {
            uint64_t v = i < PAGE / 2 ? xorshift(&s) : 0;
            memcpy(p + i, &v, 8);
        }
        break;
    default: /* a few words set in a zero page */
        memset(p, 0, PAGE);
        for (unsigned k = 0; k < 8; k++) {
            uint64_t v = xorshift(&s);
            memcpy(p + (v % (PAGE / 8)) * 8, &v, 8);
        }
        break;
    }
}

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(PATH_MAX);
    snprintf(path, PATH_MAX, "%s/disco-test-swap-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void swap_round_trip_many(void)
{
    struct disco_err err;
    char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir)
        return;
    struct swap *sw = swap_open(dir, &err);
    CHECK(sw != NULL);
    if (!sw) {
        rmdir(dir);
        free(dir);
        return;
    }
    enum { N = 2000 };
    static uint64_t slots[N];
    uint8_t page[PAGE], back[PAGE];
    uint64_t raw_bytes[KIND_COUNT] = {0}, all = 0;
    for (unsigned i = 0; i < N; i++) {
        make_page(page, i % KIND_COUNT, i);
        struct swap_stats before;
        swap_stats(sw, &before);
        CHECK_EQ(swap_put(sw, page, &slots[i]), 0);
        CHECK(slots[i] != 0 && slots[i] < (1ull << 32));
        struct swap_stats after;
        swap_stats(sw, &after);
        raw_bytes[i % KIND_COUNT] += after.bytes - before.bytes;
        all += after.bytes - before.bytes;
    }
    /* Random pages are stored raw, the others compressed. */
    CHECK_EQ(raw_bytes[KIND_RANDOM], (uint64_t)N / KIND_COUNT * PAGE);
    CHECK_EQ(raw_bytes[KIND_ZERO], (uint64_t)N / KIND_COUNT * 512);
    CHECK(raw_bytes[KIND_TEXT] <= (uint64_t)N / KIND_COUNT * 3 * 512);
    CHECK(raw_bytes[KIND_HALF] < (uint64_t)N / KIND_COUNT * 3072);
    CHECK_EQ(raw_bytes[KIND_SPARSE], (uint64_t)N / KIND_COUNT * 512);
    struct swap_stats st;
    swap_stats(sw, &st);
    CHECK_EQ(st.pages, N);
    CHECK_EQ(st.puts, N);
    CHECK_EQ(st.bytes, all);
    CHECK(st.file_size >= st.bytes);
    /* Small pages pack into shared blocks: the file is well below N pages. */
    CHECK(st.file_size < (uint64_t)N * PAGE * 6 / 10);
    for (unsigned i = 0; i < N; i++) {
        make_page(page, i % KIND_COUNT, i);
        memset(back, 0xa5, PAGE);
        CHECK_EQ(swap_get(sw, slots[i], back), 0);
        CHECK(memcmp(page, back, PAGE) == 0);
    }
    /* A get does not drop: read again. */
    make_page(page, 1, 1);
    CHECK_EQ(swap_get(sw, slots[1], back), 0);
    CHECK(memcmp(page, back, PAGE) == 0);
    swap_stats(sw, &st);
    CHECK_EQ(st.gets, N + 1);
    for (unsigned i = 0; i < N; i++)
        swap_drop(sw, slots[i]);
    swap_stats(sw, &st);
    CHECK_EQ(st.pages, 0);
    CHECK_EQ(st.bytes, 0);
    CHECK_EQ(st.file_size, 0); /* an empty store truncates its file */
    swap_close(sw);
    CHECK_EQ(rmdir(dir), 0);
    free(dir);
}

static void swap_reuses_dropped_space(void)
{
    struct disco_err err;
    struct swap *sw = swap_open("/tmp", &err);
    CHECK(sw != NULL);
    if (!sw)
        return;
    /* Keep a working set of W pages and replace random ones, with random
     * kinds (so sizes vary from 1 unit to a whole block). The file must
     * never span more blocks than pages ever stored at once. */
    enum { W = 300, OPS = 30000 };
    static uint64_t slots[W];
    static unsigned kinds[W];
    static uint64_t seeds[W];
    uint8_t page[PAGE], back[PAGE];
    uint64_t rng = 12345;
    for (unsigned i = 0; i < W; i++) {
        kinds[i] = (unsigned)(xorshift(&rng) % KIND_COUNT);
        seeds[i] = xorshift(&rng);
        make_page(page, kinds[i], seeds[i]);
        CHECK_EQ(swap_put(sw, page, &slots[i]), 0);
    }
    uint64_t max_file = 0;
    uint64_t max_id = 0;
    for (unsigned op = 0; op < OPS; op++) {
        unsigned i = (unsigned)(xorshift(&rng) % W);
        swap_drop(sw, slots[i]);
        kinds[i] = (unsigned)(xorshift(&rng) % KIND_COUNT);
        seeds[i] = xorshift(&rng);
        make_page(page, kinds[i], seeds[i]);
        CHECK_EQ(swap_put(sw, page, &slots[i]), 0);
        if (slots[i] > max_id)
            max_id = slots[i];
        struct swap_stats st;
        swap_stats(sw, &st);
        if (st.file_size > max_file)
            max_file = st.file_size;
    }
    CHECK(max_file <= (uint64_t)W * PAGE);
    CHECK(max_id <= W); /* ids are reused too: the slot array stays small */
    for (unsigned i = 0; i < W; i++) {
        make_page(page, kinds[i], seeds[i]);
        CHECK_EQ(swap_get(sw, slots[i], back), 0);
        CHECK(memcmp(page, back, PAGE) == 0);
    }
    /* Full put/drop cycles come back to the same footprint. */
    for (unsigned cycle = 0; cycle < 20; cycle++) {
        for (unsigned i = 0; i < W; i++)
            swap_drop(sw, slots[i]);
        for (unsigned i = 0; i < W; i++) {
            make_page(page, KIND_RANDOM, cycle * W + i);
            CHECK_EQ(swap_put(sw, page, &slots[i]), 0);
        }
        struct swap_stats st;
        swap_stats(sw, &st);
        CHECK_EQ(st.file_size, (uint64_t)W * PAGE);
        CHECK_EQ(st.bytes, (uint64_t)W * PAGE);
    }
    swap_close(sw);
}

static void swap_rejects_bad_slots(void)
{
    struct disco_err err;
    struct swap *sw = swap_open(NULL, &err);
    CHECK(sw != NULL);
    if (!sw)
        return;
    uint8_t page[PAGE], back[PAGE];
    /* Nothing allocated yet. */
    CHECK_EQ(swap_get(sw, 0, back), -EINVAL);
    CHECK_EQ(swap_get(sw, 1, back), -EINVAL);
    CHECK_EQ(swap_get(sw, UINT64_MAX, back), -EINVAL);
    swap_drop(sw, 0);
    swap_drop(sw, 1);
    swap_drop(sw, UINT64_MAX);

    uint64_t a, b;
    make_page(page, KIND_TEXT, 1);
    CHECK_EQ(swap_put(sw, page, &a), 0);
    make_page(page, KIND_RANDOM, 2);
    CHECK_EQ(swap_put(sw, page, &b), 0);
    CHECK(a != b);
    CHECK_EQ(swap_get(sw, 0, back), -EINVAL);
    CHECK_EQ(swap_get(sw, b + 1, back), -EINVAL);
    CHECK_EQ(swap_get(sw, b + (1ull << 32), back), -EINVAL);
    CHECK_EQ(swap_get(sw, (1ull << 32) + a, back), -EINVAL);
    CHECK_EQ(swap_get(sw, a, NULL), -EINVAL);
    CHECK_EQ(swap_put(sw, NULL, &a), -EINVAL);
    swap_drop(sw, a);
    CHECK_EQ(swap_get(sw, a, back), -EINVAL); /* dropped */
    swap_drop(sw, a);                          /* double drop: ignored */
    swap_drop(sw, b + 7);
    struct swap_stats st;
    swap_stats(sw, &st);
    CHECK_EQ(st.pages, 1);
    CHECK_EQ(st.bytes, PAGE);
    CHECK_EQ(swap_get(sw, b, back), 0);
    make_page(page, KIND_RANDOM, 2);
    CHECK(memcmp(page, back, PAGE) == 0);
    swap_close(sw);

    /* NULL store: no crash. */
    CHECK_EQ(swap_get(NULL, 1, back), -EINVAL);
    swap_drop(NULL, 1);
    swap_stats(NULL, &st);
    CHECK_EQ(st.pages, 0);
    swap_close(NULL);
}

static void swap_bad_dir_names_it(void)
{
    struct disco_err err;
    err_clear(&err);
    CHECK(swap_open("/nonexistent/disco-swap-dir", &err) == NULL);
    CHECK(err.code < 0);
    CHECK(strstr(err.msg, "/nonexistent/disco-swap-dir") != NULL);

    /* A regular file is not a directory. */
    char path[] = "/tmp/disco-test-swap-file-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) {
        close(fd);
        err_clear(&err);
        CHECK(swap_open(path, &err) == NULL);
        CHECK(err.code < 0);
        CHECK(strstr(err.msg, path) != NULL);
        unlink(path);
    }

    /* The default comes from $TMPDIR: a bad one is named in the error. */
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", "/nonexistent/tmpdir-for-swap", 1);
    err_clear(&err);
    CHECK(swap_open(NULL, &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent/tmpdir-for-swap") != NULL);
    if (old) {
        setenv("TMPDIR", old, 1);
        free(old);
    } else {
        unsetenv("TMPDIR");
    }
}

static void swap_leaves_nothing_in_dir(void)
{
    struct disco_err err;
    char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir)
        return;
    /* Through $TMPDIR, to cover the default path too. */
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", dir, 1);
    struct swap *sw = swap_open(NULL, &err);
    if (old) {
        setenv("TMPDIR", old, 1);
        free(old);
    } else {
        unsetenv("TMPDIR");
    }
    CHECK(sw != NULL);
    if (sw) {
        uint8_t page[PAGE];
        uint64_t slot;
        for (unsigned i = 0; i < 64; i++) {
            make_page(page, i % KIND_COUNT, i);
            CHECK_EQ(swap_put(sw, page, &slot), 0);
        }
        CHECK_EQ(dir_entries(dir), 0);
        swap_close(sw);
    }
    CHECK_EQ(dir_entries(dir), 0);
    CHECK_EQ(rmdir(dir), 0);
    free(dir);
}

/* The swap file's descriptor, found through /proc (the store does not
 * expose it): the one whose link names a file in `dir`. */
static int find_swap_fd(const char *dir)
{
    size_t dlen = strlen(dir);
    for (int fd = 0; fd < 1024; fd++) {
        char proc[64], target[PATH_MAX];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (!strncmp(target, dir, dlen) && target[dlen] == '/')
            return fd;
    }
    return -1;
}

static void swap_detects_corruption(void)
{
    struct disco_err err;
    char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir)
        return;
    struct swap *sw = swap_open(dir, &err);
    CHECK(sw != NULL);
    int fd = sw ? find_swap_fd(dir) : -1;
    CHECK(fd >= 0);
    if (fd >= 0) {
        /* A compressible page: its frame is what ZSTD_compress at level 1
         * makes (the store keeps default parameters), at offset 0 (the
         * first put in an empty store). */
        uint8_t page[PAGE], back[PAGE], frame[PAGE];
        for (unsigned i = 0; i < PAGE; i++)
            page[i] = (uint8_t)((i % 256) * 7 + (i % 256) / 13);
        uint64_t seed = 99;
        for (unsigned i = 0; i < 256; i++)
            page[i] = (uint8_t)xorshift(&seed);
        for (unsigned i = 256; i < PAGE; i++)
            page[i] = page[i % 256];
        size_t flen = ZSTD_compress(frame, sizeof frame, page, PAGE, 1);
        CHECK(!ZSTD_isError(flen) && flen > 64 && flen < 1024);
        uint64_t slot;
        CHECK_EQ(swap_put(sw, page, &slot), 0);
        CHECK_EQ(swap_get(sw, slot, back), 0);
        CHECK(memcmp(page, back, PAGE) == 0);

        /* A valid frame of 4000 bytes, padded to the stored length with a
         * skippable frame: decodes cleanly but to the wrong size. */
        uint8_t zeros[8192] = {0}, fake[PAGE];
        size_t zlen = ZSTD_compress(fake, sizeof fake, zeros, 4000, 1);
        CHECK(!ZSTD_isError(zlen) && zlen + 8 <= flen);
        uint32_t magic = 0x184D2A50u, skip = (uint32_t)(flen - zlen - 8);
        memcpy(fake + zlen, &magic, 4);
        memcpy(fake + zlen + 4, &skip, 4);
        memset(fake + zlen + 8, 0, skip);
        CHECK_EQ(pwrite(fd, fake, flen, 0), (ssize_t)flen);
        CHECK_EQ(swap_get(sw, slot, back), -EIO);

        /* One that decodes to more than a page. */
        zlen = ZSTD_compress(fake, sizeof fake, zeros, sizeof zeros, 1);
        CHECK(!ZSTD_isError(zlen) && zlen + 8 <= flen);
        skip = (uint32_t)(flen - zlen - 8);
        memcpy(fake + zlen, &magic, 4);
        memcpy(fake + zlen + 4, &skip, 4);
        memset(fake + zlen + 8, 0, skip);
        CHECK_EQ(pwrite(fd, fake, flen, 0), (ssize_t)flen);
        CHECK_EQ(swap_get(sw, slot, back), -EIO);

        /* Garbage. */
        memset(fake, 0x5a, flen);
        CHECK_EQ(pwrite(fd, fake, flen, 0), (ssize_t)flen);
        CHECK_EQ(swap_get(sw, slot, back), -EIO);

        /* A raw page cut short by a truncated file. */
        uint64_t raw;
        make_page(page, KIND_RANDOM, 5);
        CHECK_EQ(swap_put(sw, page, &raw), 0);
        CHECK_EQ(ftruncate(fd, PAGE + 100), 0);
        CHECK_EQ(swap_get(sw, raw, back), -EIO);

        /* Failed gets are not counted and do not drop. */
        struct swap_stats st;
        swap_stats(sw, &st);
        CHECK_EQ(st.gets, 1);
        CHECK_EQ(st.pages, 2);
    }
    swap_close(sw);
    rmdir(dir);
    free(dir);
}

struct worker {
    struct swap *sw;
    unsigned id;
    const uint64_t *shared;  /* pages every thread reads */
    unsigned nshared;
    int failures;
    int done;
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
};

enum { THREADS = 4, LIVE = 64, THREAD_OPS = 4000, SHARED = 32 };

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t slots[LIVE] = {0}, seeds[LIVE];
    unsigned kinds[LIVE];
    uint64_t rng = 0x1234567ull * (w->id + 1);
    uint8_t page[PAGE], back[PAGE];
    for (unsigned op = 0; op < THREAD_OPS; op++) {
        unsigned i = (unsigned)(xorshift(&rng) % LIVE);
        unsigned action = (unsigned)(xorshift(&rng) % 4);
        if (slots[i] && action == 0) {
            swap_drop(w->sw, slots[i]);
            slots[i] = 0;
        } else if (slots[i] && action <= 2) {
            make_page(page, kinds[i], seeds[i]);
            if (swap_get(w->sw, slots[i], back) != 0 || memcmp(page, back, PAGE) != 0)
                w->failures++;
        } else if (!slots[i]) {
            kinds[i] = (unsigned)(xorshift(&rng) % KIND_COUNT);
            seeds[i] = xorshift(&rng);
            make_page(page, kinds[i], seeds[i]);
            if (swap_put(w->sw, page, &slots[i]) != 0) {
                w->failures++;
                slots[i] = 0;
            }
        } else {
            unsigned k = (unsigned)(xorshift(&rng) % w->nshared);
            make_page(page, k % KIND_COUNT, 1000000 + k);
            if (swap_get(w->sw, w->shared[k], back) != 0 || memcmp(page, back, PAGE) != 0)
                w->failures++;
        }
    }
    for (unsigned i = 0; i < LIVE; i++) {
        if (!slots[i])
            continue;
        make_page(page, kinds[i], seeds[i]);
        if (swap_get(w->sw, slots[i], back) != 0 || memcmp(page, back, PAGE) != 0)
            w->failures++;
        swap_drop(w->sw, slots[i]);
    }
    pthread_mutex_lock(w->lock);
    w->done = 1;
    pthread_cond_broadcast(w->cond);
    pthread_mutex_unlock(w->lock);
    return NULL;
}

static void swap_concurrent_threads(void)
{
    struct disco_err err;
    struct swap *sw = swap_open(NULL, &err);
    CHECK(sw != NULL);
    if (!sw)
        return;
    uint64_t shared[SHARED];
    uint8_t page[PAGE];
    for (unsigned k = 0; k < SHARED; k++) {
        make_page(page, k % KIND_COUNT, 1000000 + k);
        CHECK_EQ(swap_put(sw, page, &shared[k]), 0);
    }
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    struct worker w[THREADS];
    pthread_t th[THREADS];
    unsigned started = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        w[t] = (struct worker){.sw = sw, .id = t, .shared = shared, .nshared = SHARED,
                               .lock = &lock, .cond = &cond};
        if (pthread_create(&th[t], NULL, worker_main, &w[t]) == 0)
            started++;
        else
            break;
    }
    CHECK_EQ(started, THREADS);
    /* Bounded wait: a deadlock fails the case instead of hanging. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 50;
    bool all_done = true;
    pthread_mutex_lock(&lock);
    for (unsigned t = 0; t < started; t++)
        while (!w[t].done)
            if (pthread_cond_timedwait(&cond, &lock, &deadline) == ETIMEDOUT) {
                all_done = false;
                break;
            }
    pthread_mutex_unlock(&lock);
    CHECK(all_done);
    if (!all_done) {
        printf("FAIL: swap_concurrent_threads: workers did not finish in 50 s\n");
        fflush(stdout);
        _exit(1);
    }
    for (unsigned t = 0; t < started; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ(w[t].failures, 0);
    }
    struct swap_stats st;
    swap_stats(sw, &st);
    CHECK_EQ(st.pages, SHARED);
    uint8_t back[PAGE];
    for (unsigned k = 0; k < SHARED; k++) {
        make_page(page, k % KIND_COUNT, 1000000 + k);
        CHECK_EQ(swap_get(sw, shared[k], back), 0);
        CHECK(memcmp(page, back, PAGE) == 0);
        swap_drop(sw, shared[k]);
    }
    swap_stats(sw, &st);
    CHECK_EQ(st.pages, 0);
    CHECK_EQ(st.bytes, 0);
    CHECK_EQ(st.file_size, 0);
    swap_close(sw);
}

/* A page that carries its own check: a seed, then bytes derived from it,
 * so a reader can tell a whole page from a torn or foreign one. */
static void make_tagged(uint8_t *p, uint64_t seed)
{
    memcpy(p, &seed, 8);
    uint64_t s = seed | 1;
    for (unsigned i = 8; i < PAGE; i += 8) {
        uint64_t v = xorshift(&s);
        memcpy(p + i, &v, 8);
    }
}

static bool tagged_ok(const uint8_t *p)
{
    uint8_t want[PAGE];
    uint64_t seed;
    memcpy(&seed, p, 8);
    make_tagged(want, seed);
    return memcmp(want, p, PAGE) == 0;
}

struct racer {
    struct swap *sw;
    _Atomic uint64_t target;  /* the id the reader hammers */
    _Atomic int stop;
    int torn, errors, reads;
};

static void *race_reader(void *arg)
{
    struct racer *r = arg;
    uint8_t back[PAGE];
    while (!r->stop) {
        int rc = swap_get(r->sw, r->target, back);
        if (rc == 0) {
            r->reads++;
            if (!tagged_ok(back))
                r->torn++;
        } else if (rc != -EINVAL) {
            r->errors++;
        }
    }
    return NULL;
}

/* A caller bug the store must survive: dropping a slot while another
 * thread reads it, and reusing its space at once. A reader must get the
 * whole page or -EINVAL, never bytes of a page written after the drop. */
static void swap_drop_while_reading(void)
{
    struct disco_err err;
    struct swap *sw = swap_open(NULL, &err);
    CHECK(sw != NULL);
    if (!sw)
        return;
    struct racer r = {.sw = sw};
    uint8_t page[PAGE];
    uint64_t slot = 0, spare = 0;
    make_tagged(page, 1);
    CHECK_EQ(swap_put(sw, page, &slot), 0);
    r.target = slot;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, race_reader, &r), 0);
    for (uint64_t seq = 2; seq < 100000; seq++) {
        /* Drop the target and put a new page: with ids and space reused
         * LIFO it lands in the same slot and the same block. */
        swap_drop(sw, slot);
        make_tagged(page, seq);
        if (swap_put(sw, page, &slot) != 0)
            break;
        r.target = slot;
        if (seq % 64 == 0) { /* vary the slot ids too */
            swap_drop(sw, spare);
            make_tagged(page, seq + 1000000);
            CHECK_EQ(swap_put(sw, page, &spare), 0);
        }
    }
    r.stop = 1;
    pthread_join(th, NULL);
    CHECK_EQ(r.torn, 0);
    CHECK_EQ(r.errors, 0);
    CHECK(r.reads > 0);
    swap_drop(sw, slot);
    swap_drop(sw, spare);
    struct swap_stats st;
    swap_stats(sw, &st);
    CHECK_EQ(st.pages, 0);
    CHECK_EQ(st.bytes, 0);
    CHECK_EQ(st.file_size, 0);
    swap_close(sw);
}

int main(void)
{
    RUN(swap_round_trip_many);
    RUN(swap_reuses_dropped_space);
    RUN(swap_rejects_bad_slots);
    RUN(swap_bad_dir_names_it);
    RUN(swap_leaves_nothing_in_dir);
    RUN(swap_detects_corruption);
    RUN(swap_concurrent_threads);
    RUN(swap_drop_while_reading);
    T_EXIT();
}

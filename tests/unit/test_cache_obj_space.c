/* Unit tests for the content store on a full disk: eviction on ENOSPC, the
 * free-space reserve, cobj_make_room for the record log and the snapshot.
 * Each case mounts a small tmpfs of its own. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache/cache_obj.h"
#include "cache/cache_rlog.h"
#include "cache/cache_snap.h"
#include "tests/unit/check.h"
#include "tests/unit/cobj_test.h"
#include "tests/unit/tmpdir.h"

#define KIB  1024UL
#define MIB  (1024UL * 1024)
#define PAGE 4096 /* tmpfs allocates in pages */

/* An object that takes exactly 15 pages on tmpfs (content + trailer). */
#define OBJ_SIZE (15 * PAGE - TRAILER)

/* "<mnt>/<rel>" in one of 4 rotating buffers. */
static char *under(const char *mnt, const char *rel)
{
    static char buf[4][600];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", mnt, rel);
    return b;
}

/*
 * Fill the file system of the store at dir with objects 0, 1, ... (oldest
 * first, OBJ_SIZE bytes, then one that takes what is left) until nothing is
 * free.  The store must have no reserve.  Returns how many were written.
 */
static int fill_disk(struct cobj_store *s, const char *dir)
{
    int n = 0;
    int64_t avail;
    while ((avail = fs_avail(dir)) > 0) {
        size_t size = avail >= 2 * (OBJ_SIZE + TRAILER) ? OBJ_SIZE : (size_t)avail - TRAILER;
        struct cobj_key k = key_n((uint64_t)n);
        if (put(s, &k, size, (uint32_t)n) != 0)
            break;
        n++;
    }
    CHECK_INT(fs_avail(dir), 0);
    return n;
}

/* Pin object k (an open cobj handle, closed by unpin). */
static int pin(struct cobj_store *s, const struct cobj_key *k)
{
    int fd = -1;
    uint64_t size;
    CHECK_INT(cobj_open(s, k, &fd, &size), 0);
    return fd;
}

static void unpin(struct cobj_store *s, const struct cobj_key *k, int fd)
{
    close(fd);
    cobj_release(s, k);
}

/* The default reserve: a 2 MiB file system keeps an eighth free; a big one
 * follows min(max(64 MiB, 2%), 1 GiB, 1/8). */
static void test_default_reserve(void)
{
    char *mnt = tmp_tmpfs("reserve-default", 2 * MIB);
    if (!mnt)
        return;
    struct cobj_store *s = NULL;
    CHECK_INT(cobj_store_open(under(mnt, "objects"), 0, &s), 0);
    CHECK_INT(cobj_reserve(s), 2 * MIB / 8);
    cobj_set_reserve(s, 12345);
    CHECK_INT(cobj_reserve(s), 12345);
    cobj_store_close(s);
    tmp_umount(mnt);

    struct statvfs sv;
    CHECK_INT(statvfs(base, &sv), 0);
    uint64_t fs = (uint64_t)sv.f_blocks * sv.f_frsize;
    uint64_t want = fs / 50 > 64 * MIB ? fs / 50 : 64 * MIB;
    want = want > 1024 * MIB ? 1024 * MIB : want;
    want = want > fs / 8 ? fs / 8 : want;
    CHECK_INT(cobj_store_open(tmp_path("objects"), 0, &s), 0);
    CHECK_INT(cobj_reserve(s), want);
    cobj_store_close(s);
}

/* An object larger than the whole disk still fails with ENOSPC, leaves no
 * temporary, and never costs a pinned object; the store stays consistent. */
static void test_too_big_for_the_disk(void)
{
    char *mnt = tmp_tmpfs("too-big", 256 * KIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key a = key_n(1), b = key_n(2), c = key_n(3);
    CHECK_INT(put(s, &a, 10000, 1), 0);
    int fa = pin(s, &a);

    CHECK_INT(put(s, &b, 512 * KIB, 2), -ENOSPC);
    CHECK_INT(count_tmp(dir), 0);
    CHECK(!exists(s, &b));
    CHECK_INT(get(s, &a, 10000, 1), 0); /* pinned: kept */
    unpin(s, &a, fa);

    CHECK_INT(put(s, &c, 20000, 4), 0);
    CHECK_INT(get(s, &c, 20000, 4), 0);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    cobj_store_close(s);
    CHECK_INT(store_open(dir, 0, &s), 0);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    CHECK(exists(s, &c));
    cobj_store_close(s);
    tmp_umount(mnt);
}

/* A full disk: writing a new object evicts the least recently used ones
 * (not a pinned one) instead of failing. */
static void test_full_disk_evicts(void)
{
    char *mnt = tmp_tmpfs("full", 2 * MIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    cobj_set_reserve(s, 0);
    int n = fill_disk(s, dir);
    CHECK(n > 20);
    struct cobj_key first = key_n(0), second = key_n(1), last = key_n((uint64_t)n - 1);
    int fd = pin(s, &first);

    struct cobj_key big = key_n(1000);
    CHECK_INT(put(s, &big, 300 * KIB, 9), 0);
    CHECK_INT(get(s, &big, 300 * KIB, 9), 0);
    CHECK(exists(s, &first)); /* pinned */
    CHECK(!exists(s, &second));
    CHECK(!file_exists(path_of(dir, &second)));
    CHECK(exists(s, &last));      /* only what was needed went */
    for (int i = 2; i < n; i++) { /* oldest first: what is left is the newest */
        struct cobj_key k = key_n((uint64_t)i), older = key_n((uint64_t)i - 1);
        if (exists(s, &older))
            CHECK(exists(s, &k));
    }
    CHECK_INT(count_tmp(dir), 0);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    unpin(s, &first, fd);
    CHECK_INT(get(s, &first, OBJ_SIZE, 0), 0);
    cobj_store_close(s);
    tmp_umount(mnt);
}

/* The content fits, the trailer does not: the commit evicts and succeeds. */
static void test_trailer_evicts(void)
{
    char *mnt = tmp_tmpfs("trailer", 2 * MIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    cobj_set_reserve(s, 0);
    int n = fill_disk(s, dir);
    struct cobj_key freed = key_n(5), oldest = key_n(0);
    CHECK_INT(cobj_remove(s, &freed), 0);
    int64_t room = fs_avail(dir);
    CHECK_INT(room, 15 * PAGE);

    uint8_t *data = malloc((size_t)room);
    fill(data, (size_t)room, 42);
    struct cobj_key k = key_n(2000);
    struct cobj_writer *w = NULL;
    CHECK_INT(cobj_begin(s, &k, &w), 0);
    CHECK_INT(cobj_write(w, data, (size_t)room), 0); /* exactly the free space */
    CHECK_INT(fs_avail(dir), 0);
    CHECK_INT(cobj_commit(w, room), 0);
    free(data);
    CHECK_INT(get(s, &k, (size_t)room, 42), 0);
    CHECK(!exists(s, &oldest)); /* made room for the trailer */
    struct cobj_key newest = key_n((uint64_t)n - 1), next = key_n(1);
    CHECK(exists(s, &newest) && exists(s, &next)); /* and no more */
    CHECK_INT(count_tmp(dir), 0);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    cobj_store_close(s);
    tmp_umount(mnt);
}

/* Commits keep the reserve free, evicting oldest first; pins can hold the
 * store short of it, and their release makes up for it. */
static void test_reserve(void)
{
    char *mnt = tmp_tmpfs("reserve", 2 * MIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects");
    const int64_t reserve = 2 * MIB / 8;
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    CHECK_INT(cobj_reserve(s), reserve);
    struct cobj_key k0 = key_n(0);
    CHECK_INT(put(s, &k0, OBJ_SIZE, 0), 0);
    int f0 = pin(s, &k0);
    const int n = 40; /* 2.3 MiB of objects through a 2 MiB disk */
    for (int i = 1; i < n; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        CHECK_INT(put(s, &k, OBJ_SIZE, (uint32_t)i), 0);
        CHECK(fs_avail(dir) >= reserve);
    }
    struct cobj_key k1 = key_n(1), last = key_n(n - 1);
    CHECK(exists(s, &k0) && !exists(s, &k1) && exists(s, &last));
    CHECK(fs_avail(dir) < reserve + 15 * PAGE); /* no more evicted than needed */

    cobj_set_reserve(s, 1 * MIB); /* takes effect at once */
    CHECK(fs_avail(dir) >= (int64_t)(1 * MIB));
    CHECK(exists(s, &k0) && exists(s, &last));

    /* Pin the two newest as well, then ask for more than the pins leave. */
    struct cobj_key k38 = key_n(n - 2);
    int f39 = pin(s, &last), f38 = pin(s, &k38);
    cobj_set_reserve(s, 2 * MIB - 2 * 15 * PAGE);
    CHECK_INT(fs_avail(dir), 2 * MIB - 3 * 15 * PAGE); /* all but the pinned three */
    CHECK_INT(cobj_bytes(s), 3 * 15 * PAGE);
    unpin(s, &k38, f38); /* evictable now, and the store is short: it goes */
    CHECK(!exists(s, &k38));
    CHECK_INT(fs_avail(dir), 2 * MIB - 2 * 15 * PAGE);
    unpin(s, &last, f39);
    unpin(s, &k0, f0);
    cobj_store_close(s);
    tmp_umount(mnt);
}

/* The record log and the snapshot on a full disk: they fail with ENOSPC,
 * cobj_make_room evicts for them (never a pinned object), and the retry
 * succeeds. */
static void test_make_room(void)
{
    char *mnt = tmp_tmpfs("room", 2 * MIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects"), *state = under(mnt, "state");
    CHECK_INT(mkdir(state, 0700), 0);
    struct rlog *l = NULL;
    CHECK_INT(rlog_open(state, 1, 1, UINT64_MAX, &l), 0);
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    cobj_set_reserve(s, 0);
    int n = fill_disk(s, dir);
    struct cobj_key k0 = key_n(0), k1 = key_n(1);
    int f0 = pin(s, &k0);

    char rec[3000];
    memset(rec, 'r', sizeof rec);
    struct rlog_ref ref;
    CHECK_INT(rlog_append(l, 77, rec, sizeof rec, &ref), -ENOSPC);
    CHECK_INT(rlog_size(l), 0);
    CHECK_INT(cobj_make_room(s, sizeof rec + 64 * KIB), 0);
    CHECK(fs_avail(dir) >= (int64_t)(sizeof rec + 64 * KIB));
    CHECK(exists(s, &k0) && !exists(s, &k1));
    CHECK_INT(rlog_append(l, 77, rec, sizeof rec, &ref), 0);
    char back[sizeof rec];
    CHECK_INT(rlog_read(l, 77, ref, back), 0);
    CHECK(memcmp(back, rec, sizeof rec) == 0);

    /* A snapshot bigger than what is free. */
    size_t big = 200 * KIB;
    uint8_t *img = calloc(1, big);
    const struct snap_section sec[] = {{1, img, big}};
    const char *snap = under(mnt, "state/index.snap");
    CHECK_INT(snap_save(snap, 1, sec, 1), -ENOSPC);
    CHECK_INT(count_tmp(mnt), 0);
    CHECK_INT(cobj_make_room(s, big + 64 * KIB), 0);
    CHECK_INT(snap_save(snap, 1, sec, 1), 0);
    struct snap loaded;
    CHECK_INT(snap_load(snap, 1, &loaded), 0);
    CHECK(loaded.n == 1 && loaded.sec[0].len == big);
    snap_free(&loaded);
    free(img);

    /* More than the disk: everything unpinned goes, and it says it failed. */
    CHECK_INT(cobj_make_room(s, 4 * MIB), -ENOSPC);
    CHECK_INT(cobj_bytes(s), OBJ_SIZE + TRAILER);
    CHECK(exists(s, &k0));
    struct cobj_key last = key_n((uint64_t)n - 1);
    CHECK(!exists(s, &last));
    CHECK_INT(cobj_make_room(s, 4096), 0); /* already free: nothing to do */
    unpin(s, &k0, f0);
    cobj_store_close(s);
    rlog_close(l);
    tmp_umount(mnt);
}

/* ---- pins the layers above can give up ------------------------------------ */

/* What the hook may release: open objects, as a file table above would keep. */
struct held {
    struct cobj_store *s;  /* the store */
    struct cobj_key k[64]; /* pinned objects */
    int fd[64];            /* their fds */
    int n;                 /* how many are held */
    int calls;             /* times the hook ran */
};

static int give_up_pins(void *arg)
{
    struct held *h = arg;
    h->calls++;
    int n = h->n;
    for (int i = 0; i < n; i++)
        unpin(h->s, &h->k[i], h->fd[i]); /* takes the store's lock: must be free */
    h->n = 0;
    return n;
}

/* Everything cached is pinned by an idle table above: a full disk asks it
 * to give up its pins, then evicts and succeeds; without a hook it fails. */
static void test_pressure_hook(void)
{
    char *mnt = tmp_tmpfs("pressure", 2 * MIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    cobj_set_reserve(s, 0);
    int n = fill_disk(s, dir);
    struct held h = {.s = s};
    for (int i = 0; i < n && i < 64; i++) {
        h.k[i] = key_n((uint64_t)i);
        h.fd[i] = pin(s, &h.k[i]);
        h.n++;
    }
    CHECK_INT(h.n, n);
    struct cobj_key k = key_n(3000);
    CHECK_INT(put(s, &k, 100 * KIB, 5), -ENOSPC); /* no hook yet */
    CHECK_INT(cobj_make_room(s, 64 * KIB), -ENOSPC);

    cobj_set_pressure_hook(s, give_up_pins, &h);
    CHECK_INT(put(s, &k, 100 * KIB, 5), 0);
    CHECK_INT(h.calls, 1);
    CHECK_INT(h.n, 0);
    CHECK_INT(get(s, &k, 100 * KIB, 5), 0);
    struct cobj_key newest = key_n((uint64_t)n - 1);
    CHECK(exists(s, &newest)); /* only what was needed was evicted */
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));

    /* make_room asks too. */
    h.n = 0;
    for (int i = n - 3; i < n; i++) {
        h.k[h.n] = key_n((uint64_t)i);
        if (exists(s, &h.k[h.n])) {
            h.fd[h.n] = pin(s, &h.k[h.n]);
            h.n++;
        }
    }
    const int64_t want = 2 * MIB - 100 * KIB;
    CHECK_INT(cobj_make_room(s, (uint64_t)want), 0);
    CHECK_INT(h.calls, 2);
    CHECK(fs_avail(dir) >= want);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    cobj_set_pressure_hook(s, NULL, NULL);
    cobj_store_close(s);
    tmp_umount(mnt);
}

/* ---- threads on a full disk ---------------------------------------------- */

#define FT_THREADS 6
#define FT_ITERS   300
#define FT_KEYS    40

static struct cobj_store *ft_store;
static atomic_int ft_bad, ft_nospc, ft_ok;

static size_t ft_size(int i)
{
    return 20000 + (size_t)i * 1500; /* 20 to 80 KB: the disk holds about 40 */
}

static void *ft_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int it = 0; it < FT_ITERS; it++) {
        int i = (int)(rand_r(&seed) % FT_KEYS), op = (int)(rand_r(&seed) % 10), rc;
        struct cobj_key k = key_n((uint64_t)i);
        if (op < 5) {
            /* ENOSPC is allowed: the other writers' temporaries and the
             * readers' pins may hold every byte at that moment. */
            rc = put(ft_store, &k, ft_size(i), (uint32_t)i);
            if (rc == -ENOSPC)
                ft_nospc++;
            else if (rc != 0)
                ft_bad++;
            else
                ft_ok++;
        } else if (op < 9) {
            rc = get(ft_store, &k, ft_size(i), (uint32_t)i);
            if (rc != 0 && rc != -ENOENT)
                ft_bad++;
        } else {
            rc = cobj_make_room(ft_store, 100 * KIB);
            if (rc != 0 && rc != -ENOSPC)
                ft_bad++;
        }
    }
    return NULL;
}

/* Writers, readers and make_room at once on a disk far smaller than what
 * they write: nothing but ENOSPC fails, most writes succeed, and the store
 * ends consistent with the folder. */
static void test_full_disk_threads(void)
{
    char *mnt = tmp_tmpfs("threads", 2 * MIB);
    if (!mnt)
        return;
    const char *dir = under(mnt, "objects");
    CHECK_INT(store_open(dir, 0, &ft_store), 0);
    cobj_set_reserve(ft_store, 128 * KIB);
    pthread_t t[FT_THREADS];
    for (uintptr_t i = 0; i < FT_THREADS; i++)
        pthread_create(&t[i], NULL, ft_worker, (void *)(i + 1));
    for (int i = 0; i < FT_THREADS; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr, "  %d writes stored, %d refused for a full disk\n", (int)ft_ok, (int)ft_nospc);
    CHECK_INT(ft_bad, 0);
    CHECK(ft_ok > ft_nospc);
    CHECK_INT(count_tmp(dir), 0);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(ft_store));
    for (int i = 0; i < FT_KEYS; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        if (exists(ft_store, &k))
            CHECK_INT(get(ft_store, &k, ft_size(i), (uint32_t)i), 0);
    }
    cobj_store_close(ft_store);
    tmp_umount(mnt);
}

int main(void)
{
    umask(022);
    if (tmp_init() < 0)
        return 1;
    RUN(test_default_reserve);
    RUN(test_too_big_for_the_disk);
    RUN(test_full_disk_evicts);
    RUN(test_trailer_evicts);
    RUN(test_reserve);
    RUN(test_make_room);
    RUN(test_pressure_hook);
    RUN(test_full_disk_threads);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

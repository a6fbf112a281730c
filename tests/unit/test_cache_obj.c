/* Unit tests for cache/cache_obj: keys, round trips, verification, LRU, limits, threads. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_obj.h"
#include "tests/unit/check.h"
#include "tests/unit/cobj_test.h"
#include "tests/unit/tmpdir.h"

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    if (fd < 0 || pread(fd, &b, 1, at) != 1)
        perror("flip_byte");
    b ^= 0x20;
    if (pwrite(fd, &b, 1, at) != 1)
        perror("flip_byte");
    close(fd);
}

/* ---- keys ---------------------------------------------------------------- */

static void test_keys(void)
{
    struct cobj_key a = cobj_key_make("https://s", "acct", 1, 2, 3);
    struct cobj_key b = cobj_key_make("https://s", "acct", 1, 2, 3);
    CHECK(memcmp(a.b, b.b, 16) == 0);

    /* Changing any one field changes the key. */
    struct cobj_key other[] = {
        cobj_key_make("https://t", "acct", 1, 2, 3),
        cobj_key_make("https://s", "acc", 1, 2, 3),
        cobj_key_make("https://s", "acct", 9, 2, 3),
        cobj_key_make("https://s", "acct", 1, 9, 3),
        cobj_key_make("https://s", "acct", 1, 2, 9),
        cobj_key_make("https://s", "acct", 2, 1, 3),
        cobj_key_make("", "", 0, 0, 0),
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        CHECK(memcmp(a.b, other[i].b, 16) != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(memcmp(other[j].b, other[i].b, 16) != 0);
    }
    /* Length prefixes: moving a character across the server/account boundary
     * must give another key. */
    struct cobj_key x = cobj_key_make("ab", "c", 1, 2, 3), y = cobj_key_make("a", "bc", 1, 2, 3);
    CHECK(memcmp(x.b, y.b, 16) != 0);

    /* Stable across builds and versions: these values name files on disk. */
    char hex[33];
    cobj_key_hex(&a, hex);
    CHECK_INT(strlen(hex), 32);
    CHECK_STR(hex, "c54a699b520b009f02714fb0419db986");
    struct cobj_key z = cobj_key_make("", "", 0, 0, 0);
    cobj_key_hex(&z, hex);
    CHECK_STR(hex, "0a190edca830025567614ce4850d2571");
}

/* ---- round trip ---------------------------------------------------------- */

static void test_round_trip(void)
{
    const char *dir = tmp_path("rt");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    CHECK_INT(cobj_bytes(s), 0);
    struct cobj_key k = key_n(1), e = key_n(2);
    CHECK(!exists(s, &k));
    int fd;
    uint64_t size;
    CHECK_INT(cobj_open(s, &k, &fd, &size), -ENOENT);

    CHECK_INT(put(s, &k, 100000, 1), 0);
    uint64_t sz = 0;
    CHECK(cobj_exists(s, &k, &sz));
    CHECK_INT(sz, 100000);
    CHECK_INT(get(s, &k, 100000, 1), 0);
    CHECK_INT(cobj_bytes(s), 100000 + TRAILER);

    /* The file: mode 0600, content then the trailer. */
    struct stat st;
    CHECK_INT(stat(path_of(dir, &k), &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(st.st_size, 100000 + TRAILER);
    uint8_t *data = malloc(100000 + TRAILER);
    int f = open(path_of(dir, &k), O_RDONLY);
    CHECK_INT(pread(f, data, 100000 + TRAILER, 0), 100000 + TRAILER);
    close(f);
    const uint8_t *t = data + 100000;
    CHECK(memcmp(t, "RCOB", 4) == 0);
    CHECK(t[4] == 1 && t[5] == 0 && t[6] == 0 && t[7] == 0);
    CHECK(t[8] == 0xa0 && t[9] == 0x86 && t[10] == 0x01 && t[11] == 0); /* 100000 LE */
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(data, 100000));
    CHECK(memcmp(t + 16, c.digest, 16) == 0);
    free(data);

    /* Empty content is an object too. */
    CHECK_INT(put(s, &e, 0, 0), 0);
    CHECK_INT(get(s, &e, 0, 0), 0);
    CHECK_INT(cobj_bytes(s), 100000 + 2 * TRAILER);

    /* Replacing: the new copy wins and the accounting follows. */
    CHECK_INT(put(s, &k, 5000, 9), 0);
    CHECK_INT(get(s, &k, 5000, 9), 0);
    CHECK_INT(cobj_bytes(s), 5000 + 2 * TRAILER);

    /* A reader that has the old copy open keeps reading it. */
    CHECK_INT(cobj_open(s, &k, &fd, &size), 0);
    CHECK_INT(put(s, &k, 6000, 10), 0);
    uint8_t buf[5000], want[5000];
    fill(want, 5000, 9);
    CHECK_INT(pread(fd, buf, sizeof buf, 0), 5000);
    CHECK(memcmp(buf, want, 5000) == 0);
    close(fd);
    cobj_release(s, &k);
    CHECK_INT(get(s, &k, 6000, 10), 0);

    /* Expect-size -1: no check.  Abort leaves nothing. */
    struct cobj_writer *w = NULL;
    struct cobj_key k3 = key_n(3);
    CHECK_INT(cobj_begin(s, &k3, &w), 0);
    CHECK_INT(cobj_write(w, "abc", 3), 0);
    CHECK_INT(cobj_commit(w, -1), 0);
    CHECK(exists(s, &k3));
    CHECK_INT(cobj_begin(s, &k3, &w), 0);
    CHECK_INT(cobj_write(w, "abcd", 4), 0);
    CHECK_INT(count_tmp(dir), 1);
    cobj_abort(w);
    cobj_abort(NULL);
    CHECK_INT(count_tmp(dir), 0);
    CHECK(exists(s, &k3));

    /* Remove. */
    CHECK_INT(cobj_remove(s, &k3), 0);
    CHECK_INT(cobj_remove(s, &k3), -ENOENT);
    CHECK(!exists(s, &k3));
    CHECK(!file_exists(path_of(dir, &k3)));
    CHECK_INT(cobj_bytes(s), 6000 + 2 * TRAILER);

    /* Reopening indexes what is there, without reading it. */
    cobj_store_close(s);
    CHECK_INT(store_open(dir, 0, &s), 0);
    CHECK_INT(cobj_bytes(s), 6000 + 2 * TRAILER);
    CHECK(cobj_exists(s, &k, &sz));
    CHECK_INT(sz, 6000);
    CHECK_INT(get(s, &k, 6000, 10), 0);
    CHECK_INT(get(s, &e, 0, 0), 0);
    cobj_store_close(s);
    cobj_store_close(NULL);
}

static void test_size_mismatch(void)
{
    const char *dir = tmp_path("mismatch");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key k = key_n(1);
    struct cobj_writer *w = NULL;
    CHECK_INT(cobj_begin(s, &k, &w), 0);
    CHECK_INT(cobj_write(w, "hello", 5), 0);
    CHECK_INT(cobj_commit(w, 6), -EIO);
    CHECK_INT(cobj_begin(s, &k, &w), 0);
    CHECK_INT(cobj_write(w, "hello", 5), 0);
    CHECK_INT(cobj_commit(w, 4), -EIO);
    CHECK(!exists(s, &k));
    CHECK(!file_exists(path_of(dir, &k)));
    CHECK_INT(count_tmp(dir), 0);
    CHECK_INT(cobj_bytes(s), 0);

    /* A good copy is not disturbed by a failed replacement. */
    CHECK_INT(put(s, &k, 5, 1), 0);
    CHECK_INT(cobj_begin(s, &k, &w), 0);
    CHECK_INT(cobj_write(w, "xx", 2), 0);
    CHECK_INT(cobj_commit(w, 3), -EIO);
    CHECK_INT(get(s, &k, 5, 1), 0);
    CHECK_INT(count_tmp(dir), 0);
    cobj_store_close(s);
}

/* ---- damage -------------------------------------------------------------- */

static void test_corruption(void)
{
    const char *dir = tmp_path("corrupt");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key k = key_n(1);
    const size_t n = 10000;
    off_t where[3 + TRAILER] = {0, 5000, (off_t)n - 1};
    for (int i = 0; i < TRAILER; i++)
        where[3 + i] = (off_t)n + i; /* every trailer byte: magic, version, size, hash */
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        CHECK_INT(put(s, &k, n, (uint32_t)i), 0);
        flip_byte(path_of(dir, &k), where[i]);
        int fd;
        uint64_t size;
        int rc = cobj_open(s, &k, &fd, &size);
        if (rc != -ENOENT)
            fprintf(stderr, "damage at byte %lld not detected\n", (long long)where[i]);
        CHECK_INT(rc, -ENOENT);
        CHECK(!file_exists(path_of(dir, &k)));
        CHECK(!exists(s, &k));
        CHECK_INT(cobj_bytes(s), 0);
    }
    /* And it can be fetched again. */
    CHECK_INT(put(s, &k, n, 77), 0);
    CHECK_INT(get(s, &k, n, 77), 0);
    cobj_store_close(s);
}

static void test_truncated(void)
{
    const char *dir = tmp_path("trunc");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key k = key_n(1), k2 = key_n(2);
    const char *p = path_of(dir, &k);
    int fd;
    uint64_t size;

    CHECK_INT(put(s, &k, 10000, 1), 0);
    CHECK_INT(truncate(p, 10000 + TRAILER - 1), 0);
    CHECK_INT(cobj_open(s, &k, &fd, &size), -ENOENT);
    CHECK(!file_exists(p));

    CHECK_INT(put(s, &k, 10000, 1), 0);
    CHECK_INT(truncate(p, 10), 0); /* shorter than a trailer */
    CHECK_INT(cobj_open(s, &k, &fd, &size), -ENOENT);
    CHECK(!file_exists(p));

    CHECK_INT(put(s, &k, 10000, 1), 0);
    CHECK_INT(truncate(p, 10000 + TRAILER + 1), 0); /* grown */
    CHECK_INT(cobj_open(s, &k, &fd, &size), -ENOENT);
    CHECK(!file_exists(p));

    /* Vanished behind our back. */
    CHECK_INT(put(s, &k, 100, 1), 0);
    CHECK_INT(unlink(p), 0);
    CHECK_INT(cobj_open(s, &k, &fd, &size), -ENOENT);
    CHECK(!exists(s, &k));
    CHECK_INT(cobj_bytes(s), 0);

    /* Too short for a trailer when the store opens: deleted unread. */
    CHECK_INT(put(s, &k, 100, 1), 0);
    CHECK_INT(put(s, &k2, 100, 2), 0);
    cobj_store_close(s);
    CHECK_INT(truncate(p, 31), 0);
    CHECK_INT(store_open(dir, 0, &s), 0);
    CHECK(!file_exists(p));
    CHECK(!exists(s, &k));
    CHECK(exists(s, &k2));
    CHECK_INT(cobj_bytes(s), 100 + TRAILER);

    /* Damage found while another reader has the object open: it goes away
     * for everyone new; the first reader keeps its (damaged) inode. */
    CHECK_INT(put(s, &k, 1000, 3), 0);
    int fd1;
    CHECK_INT(cobj_open(s, &k, &fd1, &size), 0);
    flip_byte(p, 10);
    CHECK_INT(cobj_open(s, &k, &fd, &size), -ENOENT);
    CHECK(!exists(s, &k));
    CHECK_INT(cobj_remove(s, &k), -ENOENT);
    CHECK_INT(cobj_bytes(s), 100 + TRAILER);
    CHECK_INT(put(s, &k, 1000, 4), 0); /* refetched while still pinned */
    CHECK_INT(cobj_bytes(s), 1100 + 2 * TRAILER);
    close(fd1);
    cobj_release(s, &k);
    CHECK_INT(get(s, &k, 1000, 4), 0);
    CHECK_INT(cobj_remove(s, &k), 0);
    cobj_store_close(s);
}

static void test_leftovers(void)
{
    const char *dir = tmp_path("leftovers");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key k = key_n(1);
    CHECK_INT(put(s, &k, 500, 1), 0);
    cobj_store_close(s);

    char hex[33], p[700];
    cobj_key_hex(&k, hex);
    const char *junk_kept[] = {"README", "00/notes.txt", "zz/0123456789abcdef0123456789abcdef"};
    const char *tmps[] = {".tmp.999.1", ".tmp.1.2", "anything.tmp.x"};
    CHECK_INT(mkdir(strcat(strcpy(p, dir), "/zz"), 0700), 0);
    CHECK_INT(mkdir(strcat(strcpy(p, dir), "/00"), 0700), 0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, junk_kept[i]);
        FILE *f = fopen(p, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("x", f);
            fclose(f);
        }
        /* "<hex>.tmp.<pid>.<n>" as cobj_begin names them, and any other *.tmp.* */
        snprintf(p, sizeof p, "%s/%.2s/%s%s", dir, hex, i < 2 ? hex : "", tmps[i]);
        f = fopen(p, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("partial", f);
            fclose(f);
        }
    }
    /* An object in the wrong fan-out folder is not ours to index. */
    snprintf(p, sizeof p, "%s/00/%s", dir, hex[0] == '0' && hex[1] == '0' ? "ff" : hex);
    if (hex[0] != '0' || hex[1] != '0') {
        char src[700];
        snprintf(src, sizeof src, "%s", path_of(dir, &k));
        FILE *in = fopen(src, "r"), *out = fopen(p, "w");
        int c;
        while (in && out && (c = fgetc(in)) != EOF)
            fputc(c, out);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
    }
    CHECK_INT(count_tmp(dir), 3);

    CHECK_INT(store_open(dir, 0, &s), 0);
    CHECK_INT(count_tmp(dir), 0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, junk_kept[i]);
        CHECK(file_exists(p));
    }
    CHECK_INT(cobj_bytes(s), 500 + TRAILER);
    CHECK_INT(get(s, &k, 500, 1), 0);
    cobj_store_close(s);
}

/* ---- LRU and the cap ----------------------------------------------------- */

static void test_lru(void)
{
    const char *dir = tmp_path("lru");
    const uint64_t one = 100 + TRAILER, cap = 3 * one;
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, cap, &s), 0);
    struct cobj_key k[9];
    for (int i = 0; i < 9; i++)
        k[i] = key_n(100 + (uint64_t)i);
    enum { A, B, C, D, E, F, G, H, I };

    CHECK_INT(put(s, &k[A], 100, A), 0);
    CHECK_INT(put(s, &k[B], 100, B), 0);
    CHECK_INT(put(s, &k[C], 100, C), 0);
    CHECK_INT(cobj_bytes(s), cap);
    CHECK_INT(get(s, &k[A], 100, A), 0); /* A is now the most recent */
    CHECK_INT(put(s, &k[D], 100, D), 0); /* evicts B */
    CHECK(exists(s, &k[A]) && !exists(s, &k[B]) && exists(s, &k[C]) && exists(s, &k[D]));
    CHECK(!file_exists(path_of(dir, &k[B])));
    CHECK_INT(put(s, &k[E], 100, E), 0); /* evicts C */
    CHECK(exists(s, &k[A]) && !exists(s, &k[C]) && exists(s, &k[D]) && exists(s, &k[E]));
    CHECK_INT(cobj_bytes(s), cap);
    cobj_store_close(s);

    /* Across a remount the mtimes give the order: A oldest, then E, then D. */
    set_mtime_ago(path_of(dir, &k[A]), 300);
    set_mtime_ago(path_of(dir, &k[E]), 200);
    set_mtime_ago(path_of(dir, &k[D]), 100);
    CHECK_INT(store_open(dir, cap, &s), 0);
    CHECK_INT(cobj_bytes(s), cap);
    CHECK_INT(put(s, &k[F], 100, F), 0); /* evicts A */
    CHECK(!exists(s, &k[A]) && exists(s, &k[D]) && exists(s, &k[E]));
    CHECK_INT(put(s, &k[G], 100, G), 0); /* evicts E */
    CHECK(!exists(s, &k[E]) && exists(s, &k[D]) && exists(s, &k[F]) && exists(s, &k[G]));
    cobj_store_close(s);

    /* An open refreshes an old mtime, so recency survives a remount. */
    set_mtime_ago(path_of(dir, &k[D]), 1000);
    set_mtime_ago(path_of(dir, &k[F]), 900);
    set_mtime_ago(path_of(dir, &k[G]), 800);
    CHECK_INT(store_open(dir, cap, &s), 0);
    CHECK_INT(get(s, &k[D], 100, D), 0);
    struct stat st;
    CHECK_INT(stat(path_of(dir, &k[D]), &st), 0);
    CHECK(st.st_mtime >= time(NULL) - 5);
    cobj_store_close(s);
    CHECK_INT(store_open(dir, cap, &s), 0);
    CHECK_INT(put(s, &k[H], 100, H), 0); /* evicts F, not D */
    CHECK(exists(s, &k[D]) && !exists(s, &k[F]) && exists(s, &k[G]) && exists(s, &k[H]));

    /* ...but at most once a minute: H was just written. */
    set_mtime_ago(path_of(dir, &k[H]), 30);
    time_t before = time(NULL) - 30;
    CHECK_INT(get(s, &k[H], 100, H), 0);
    CHECK_INT(stat(path_of(dir, &k[H]), &st), 0);
    CHECK(st.st_mtime <= before + 1);
    cobj_store_close(s);

    /* A lower cap at the next open evicts at once, oldest first. */
    set_mtime_ago(path_of(dir, &k[D]), 30);
    set_mtime_ago(path_of(dir, &k[G]), 20);
    set_mtime_ago(path_of(dir, &k[H]), 10);
    CHECK_INT(store_open(dir, one, &s), 0);
    CHECK_INT(cobj_bytes(s), one);
    CHECK(!exists(s, &k[D]) && !exists(s, &k[G]) && exists(s, &k[H]));
    CHECK_INT(disk_bytes(dir), one);
    cobj_store_close(s);
}

static void test_pinned(void)
{
    const char *dir = tmp_path("pinned");
    const uint64_t one = 100 + TRAILER, cap = 2 * one;
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, cap, &s), 0);
    struct cobj_key a = key_n(1), b = key_n(2), c = key_n(3), d = key_n(4), e = key_n(5);
    int fa, fc;
    uint64_t size;

    CHECK_INT(put(s, &a, 100, 1), 0);
    CHECK_INT(put(s, &b, 100, 2), 0);
    CHECK_INT(cobj_open(s, &a, &fa, &size), 0); /* pinned */
    CHECK_INT(get(s, &b, 100, 2), 0);           /* B is now more recent than A */
    CHECK_INT(put(s, &c, 100, 3), 0);           /* A is least recent but pinned: B goes */
    CHECK(exists(s, &a) && !exists(s, &b) && exists(s, &c));
    CHECK_INT(cobj_remove(s, &a), -EBUSY);

    /* Everything pinned: the store goes over its cap for a while. */
    CHECK_INT(cobj_open(s, &c, &fc, &size), 0);
    CHECK_INT(put(s, &d, 100, 4), 0);
    CHECK(exists(s, &a) && exists(s, &c) && exists(s, &d));
    CHECK_INT(cobj_bytes(s), 3 * one);
    CHECK_INT(put(s, &e, 100, 5), 0); /* D is evictable now, E is not (just committed) */
    CHECK(!exists(s, &d) && exists(s, &e));
    CHECK_INT(cobj_bytes(s), 3 * one);

    /* The pinned reader still reads, and releasing shrinks the store. */
    uint8_t buf[100], want[100];
    fill(want, 100, 1);
    CHECK_INT(pread(fa, buf, 100, 0), 100);
    CHECK(memcmp(buf, want, 100) == 0);
    close(fa);
    cobj_release(s, &a);
    CHECK_INT(cobj_bytes(s), cap);
    CHECK(!exists(s, &a) && exists(s, &c) && exists(s, &e));
    close(fc);
    cobj_release(s, &c);
    CHECK_INT(cobj_bytes(s), cap);
    cobj_release(s, &c); /* a stray release is harmless */
    CHECK_INT(disk_bytes(dir), (int64_t)cap);
    cobj_store_close(s);
}

static void test_too_big(void)
{
    const char *dir = tmp_path("big");
    const uint64_t cap = 1000;
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, cap, &s), 0);
    struct cobj_key a = key_n(1), b = key_n(2);
    CHECK_INT(put(s, &a, cap - TRAILER, 1), 0); /* exactly the cap */
    CHECK_INT(cobj_bytes(s), cap);
    CHECK_INT(put(s, &b, cap - TRAILER + 1, 2), -EFBIG);
    CHECK(!exists(s, &b));
    CHECK(exists(s, &a)); /* nothing was evicted for it */

    /* Fails as soon as the content passes the cap, and stays failed. */
    struct cobj_writer *w = NULL;
    uint8_t chunk[600] = {0};
    CHECK_INT(cobj_begin(s, &b, &w), 0);
    CHECK_INT(cobj_write(w, chunk, sizeof chunk), 0);
    CHECK_INT(cobj_write(w, chunk, sizeof chunk), -EFBIG);
    CHECK_INT(count_tmp(dir), 0);
    CHECK_INT(cobj_write(w, chunk, 1), -EFBIG);
    CHECK_INT(cobj_commit(w, -1), -EFBIG);
    CHECK_INT(count_tmp(dir), 0);
    CHECK(!file_exists(path_of(dir, &b)));
    CHECK_INT(cobj_bytes(s), cap);
    CHECK_INT(get(s, &a, cap - TRAILER, 1), 0);
    cobj_store_close(s);
}

/* ---- threads ------------------------------------------------------------- */

#define POOL    24
#define THREADS 8
#define ITERS   1000

static struct cobj_store *mt_store;
static atomic_int mt_bad;

static size_t pool_size(int i)
{
    return 512 + (size_t)i * 211;
}

static void *mt_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int it = 0; it < ITERS; it++) {
        /* Half the time a shared key (contention), else one of our own. */
        int i = (int)(rand_r(&seed) % POOL);
        uint64_t id =
            rand_r(&seed) % 2 ? (uint64_t)i : 1000 * (uint64_t)(uintptr_t)arg + (uint64_t)i;
        struct cobj_key k = key_n(id);
        size_t n = pool_size(i);
        int op = (int)(rand_r(&seed) % 10), rc;
        if (op < 4) {
            rc = put(mt_store, &k, n, (uint32_t)i);
            if (rc != 0) {
                fprintf(stderr, "thread put: %d\n", rc);
                mt_bad++;
            }
        } else if (op < 8) {
            rc = get(mt_store, &k, n, (uint32_t)i);
            if (rc != 0 && rc != -ENOENT) {
                fprintf(stderr, "thread get: %d\n", rc);
                mt_bad++;
            }
        } else if (op < 9) {
            rc = cobj_remove(mt_store, &k);
            if (rc != 0 && rc != -ENOENT && rc != -EBUSY)
                mt_bad++;
        } else {
            struct cobj_writer *w = NULL;
            if (cobj_begin(mt_store, &k, &w) != 0 || cobj_write(w, "x", 1) != 0)
                mt_bad++;
            cobj_abort(w);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    const char *dir = tmp_path("threads");
    const uint64_t cap = 60000; /* far less than the keys in play: constant eviction */
    CHECK_INT(store_open(dir, cap, &mt_store), 0);
    pthread_t t[THREADS];
    double t0 = now_s();
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, mt_worker, (void *)(i + 1));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr, "  %d threads x %d operations: %.2f s\n", THREADS, ITERS, now_s() - t0);
    CHECK_INT(mt_bad, 0);
    CHECK_INT(count_tmp(dir), 0);
    CHECK(cobj_bytes(mt_store) <= cap);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(mt_store));
    uint64_t bytes = cobj_bytes(mt_store);
    cobj_store_close(mt_store);
    CHECK_INT(store_open(dir, cap, &mt_store), 0);
    CHECK_INT(cobj_bytes(mt_store), bytes);
    /* Everything left verifies. */
    for (int i = 0; i < POOL; i++) {
        for (uint64_t owner = 0; owner <= THREADS; owner++) {
            struct cobj_key k = key_n(owner ? 1000 * owner + (uint64_t)i : (uint64_t)i);
            if (exists(mt_store, &k))
                CHECK_INT(get(mt_store, &k, pool_size(i), (uint32_t)i), 0);
        }
    }
    cobj_store_close(mt_store);
}

/* ---- figures ------------------------------------------------------------- */

static void test_verify_cost(void)
{
    const char *dir = tmp_path("cost");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key k = key_n(1), k2 = key_n(2);
    const size_t mb = 1 << 20;
    CHECK_INT(put(s, &k, 16 * mb, 1), 0);
    CHECK_INT(put(s, &k2, mb, 2), 0);
    int fd;
    uint64_t size;
    const int rounds = 40;
    double t0 = now_s();
    for (int i = 0; i < rounds; i++) {
        CHECK_INT(cobj_open(s, &k, &fd, &size), 0);
        close(fd);
        cobj_release(s, &k);
    }
    double per16 = (now_s() - t0) / rounds;
    t0 = now_s();
    for (int i = 0; i < rounds * 4; i++) {
        CHECK_INT(cobj_open(s, &k2, &fd, &size), 0);
        close(fd);
        cobj_release(s, &k2);
    }
    double per1 = (now_s() - t0) / (rounds * 4);
    fprintf(stderr,
            "  verify on open (page cache): 1 MB object %.3f ms, 16 MB object %.3f ms "
            "(%.3f ms/MB)\n",
            per1 * 1e3, per16 * 1e3, per16 * 1e3 / 16);
    cobj_store_close(s);
}

static void test_index_scale(void)
{
    /* On a tmpfs when we can: the figure is about the index, not the disk. */
    char *mnt = tmp_path("scale");
    mkdir(mnt, 0700);
    bool mounted = mount("tmpfs", mnt, "tmpfs", 0, "size=64m,nr_inodes=200000") == 0;
    char dir[520];
    snprintf(dir, sizeof dir, "%s/objects", mnt);
    const int n = 100000;
    double t0 = now_s();
    fake_objects(dir, n);
    double made = now_s() - t0;
    struct cobj_store *s = NULL;
    struct mallinfo2 m0 = mallinfo2();
    t0 = now_s();
    CHECK_INT(store_open(dir, 0, &s), 0);
    double opened = now_s() - t0;
    struct mallinfo2 m1 = mallinfo2();
    CHECK_INT(cobj_bytes(s), (uint64_t)n * TRAILER);
    t0 = now_s();
    int found = 0;
    for (int i = 0; i < n; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        found += exists(s, &k);
    }
    double looked = now_s() - t0;
    CHECK_INT(found, n);
    struct cobj_key absent = key_n((uint64_t)n + 1);
    CHECK(!exists(s, &absent));
    double per = ((double)m1.uordblks - (double)m0.uordblks) / n;
    fprintf(stderr,
            "  %d objects: made in %.2f s, store opened (scan + index) in %.3f s, "
            "%d lookups in %.3f s, index memory %.1f bytes/object\n",
            n, made, opened, n, looked, per);
    if (m1.uordblks > m0.uordblks) /* mallinfo2 reads 0 under some sanitizers */
        CHECK(per < 100);
    cobj_store_close(s);
    if (!mounted || umount(mnt) != 0)
        tmp_rm_rf(mnt);
}

int main(void)
{
    umask(022);
    if (tmp_init() < 0)
        return 1;
    RUN(test_keys);
    RUN(test_round_trip);
    RUN(test_size_mismatch);
    RUN(test_corruption);
    RUN(test_truncated);
    RUN(test_leftovers);
    RUN(test_lru);
    RUN(test_pinned);
    RUN(test_too_big);
    RUN(test_threads);
    RUN(test_verify_cost);
    RUN(test_index_scale);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

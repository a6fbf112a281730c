/* Unit tests for cache/cache_rlog: append, read, damage, torn appends, compaction. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_rlog.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define HDR 32 /* the entry header size the module defines */

static char *log_path(const char *dir, unsigned gen, const char *suffix)
{
    static char buf[4][600];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/records-%u.log%s", dir, gen, suffix);
    return b;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static off_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    if (fd < 0 || pread(fd, &b, 1, at) != 1)
        perror("flip_byte");
    b ^= 0x01;
    if (pwrite(fd, &b, 1, at) != 1)
        perror("flip_byte");
    close(fd);
}

/* A payload that names its id and version, of a length that varies. */
static uint32_t payload(char *buf, size_t cap, uint64_t id, int version)
{
    int n = snprintf(buf, cap, "{\"id\":%llu,\"version\":%d,\"pad\":\"", (unsigned long long)id,
                     version);
    size_t pad = (id * 37 + (uint64_t)version) % 900;
    for (size_t i = 0; i < pad && (size_t)n + 3 < cap; i++)
        buf[n++] = (char)('a' + (id + i) % 26);
    n += snprintf(buf + n, cap - (size_t)n, "\"}");
    return (uint32_t)n;
}

static int read_is(struct rlog *l, uint64_t id, struct rlog_ref ref, int version)
{
    char want[1100], *got = malloc(ref.len + 1);
    uint32_t n = payload(want, sizeof want, id, version);
    int rc = rlog_read(l, id, ref, got);
    if (rc == 0 && (ref.len != n || memcmp(want, got, n) != 0))
        rc = -EILSEQ;
    free(got);
    return rc;
}

static void test_append_read(void)
{
    const char *dir = tmp_dir("basic");
    struct rlog *l = NULL;
    CHECK_INT(rlog_open(dir, 1, 0, UINT64_MAX, &l), -ENOENT);
    CHECK_INT(rlog_open(dir, 1, 1, UINT64_MAX, &l), 0);
    CHECK_INT(rlog_gen(l), 1);
    CHECK_INT(rlog_size(l), 0);
    CHECK_INT(file_size(log_path(dir, 1, "")), 0);
    struct stat st;
    CHECK_INT(stat(log_path(dir, 1, ""), &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);

    struct rlog_ref ref[3];
    char buf[1100];
    uint64_t end = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t n = payload(buf, sizeof buf, 10 + (uint64_t)i, 1);
        CHECK_INT(rlog_append(l, 10 + (uint64_t)i, buf, n, &ref[i]), 0);
        CHECK_INT(ref[i].off, end + HDR);
        CHECK_INT(ref[i].len, n);
        end += HDR + n;
        CHECK_INT(rlog_size(l), end);
    }
    CHECK_INT(rlog_sync(l), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(read_is(l, 10 + (uint64_t)i, ref[i], 1), 0);

    /* An empty payload is an entry too. */
    struct rlog_ref empty;
    CHECK_INT(rlog_append(l, 99, "", 0, &empty), 0);
    char one;
    CHECK_INT(rlog_read(l, 99, empty, &one), 0);
    end += HDR;

    /* Another id's entry, or a wrong place, is not served. */
    CHECK_INT(rlog_read(l, 11, ref[0], buf), -EIO);
    struct rlog_ref bad = ref[1];
    bad.off -= 1;
    CHECK_INT(rlog_read(l, 11, bad, buf), -EIO);
    bad = ref[1];
    bad.len -= 1;
    CHECK_INT(rlog_read(l, 11, bad, buf), -EIO);
    bad = (struct rlog_ref){0, 10};
    CHECK_INT(rlog_read(l, 11, bad, buf), -EIO);
    bad = (struct rlog_ref){end + HDR, 10}; /* past the end */
    CHECK_INT(rlog_read(l, 11, bad, buf), -EIO);
    bad = (struct rlog_ref){UINT64_MAX - 5, 10};
    CHECK_INT(rlog_read(l, 11, bad, buf), -EIO);
    rlog_close(l);
    rlog_close(NULL);

    /* Reopened as it is: everything reads, appends continue at the end. */
    CHECK_INT(rlog_open(dir, 1, 0, UINT64_MAX, &l), 0);
    CHECK_INT(rlog_size(l), end);
    for (int i = 0; i < 3; i++)
        CHECK_INT(read_is(l, 10 + (uint64_t)i, ref[i], 1), 0);
    struct rlog_ref r4;
    uint32_t n = payload(buf, sizeof buf, 20, 1);
    CHECK_INT(rlog_append(l, 20, buf, n, &r4), 0);
    CHECK_INT(r4.off, end + HDR);
    CHECK_INT(read_is(l, 20, r4, 1), 0);
    rlog_close(l);
}

static void test_damage(void)
{
    const char *dir = tmp_dir("damage");
    const char *p = log_path(dir, 1, "");
    struct rlog *l = NULL;
    CHECK_INT(rlog_open(dir, 1, 1, UINT64_MAX, &l), 0);
    char buf[1100];
    struct rlog_ref ref[4];
    for (int i = 0; i < 4; i++) {
        uint32_t n = payload(buf, sizeof buf, (uint64_t)i, 1);
        CHECK_INT(rlog_append(l, (uint64_t)i, buf, n, &ref[i]), 0);
    }
    /* Damage to every part of entry 1's header and payload is detected, and
     * only entry 1 is affected. */
    off_t start = (off_t)(ref[1].off - HDR);
    off_t where[] = {0, 3, 4, 7, 8, 15, 16, 31, HDR, HDR + (off_t)ref[1].len - 1};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        flip_byte(p, start + where[i]);
        CHECK_INT(read_is(l, 1, ref[1], 1), -EIO);
        CHECK_INT(read_is(l, 0, ref[0], 1), 0);
        CHECK_INT(read_is(l, 2, ref[2], 1), 0);
        flip_byte(p, start + where[i]);
        CHECK_INT(read_is(l, 1, ref[1], 1), 0);
    }
    rlog_close(l);
}

static void test_torn_append(void)
{
    const char *dir = tmp_dir("torn");
    const char *p = log_path(dir, 1, "");
    struct rlog *l = NULL;
    CHECK_INT(rlog_open(dir, 1, 1, UINT64_MAX, &l), 0);
    char buf[1100];
    struct rlog_ref ref[3];
    for (int i = 0; i < 3; i++) {
        uint32_t n = payload(buf, sizeof buf, (uint64_t)i, 1);
        CHECK_INT(rlog_append(l, (uint64_t)i, buf, n, &ref[i]), 0);
    }
    uint64_t valid = rlog_size(l); /* what a snapshot would record */
    rlog_close(l);

    /* A crash in the middle of an append leaves half an entry. */
    int fd = open(p, O_WRONLY | O_APPEND);
    CHECK_INT(write(fd, "\x52\x43\x52\x4c\x10\x00\x00\x00half", 12), 12);
    close(fd);
    CHECK_INT(file_size(p), (off_t)valid + 12);

    CHECK_INT(rlog_open(dir, 1, 0, valid, &l), 0);
    CHECK_INT(file_size(p), (off_t)valid);
    CHECK_INT(rlog_size(l), valid);
    for (int i = 0; i < 3; i++)
        CHECK_INT(read_is(l, (uint64_t)i, ref[i], 1), 0);
    struct rlog_ref r;
    uint32_t n = payload(buf, sizeof buf, 7, 2);
    CHECK_INT(rlog_append(l, 7, buf, n, &r), 0);
    CHECK_INT(r.off, valid + HDR);
    CHECK_INT(read_is(l, 7, r, 2), 0);
    rlog_close(l);

    /* A snapshot that expects more than the log holds: the log opens, the
     * missing entries read as damaged, the rest is fine. */
    uint64_t size = (uint64_t)file_size(p);
    CHECK_INT(rlog_open(dir, 1, 0, size + 1000, &l), 0);
    CHECK_INT(rlog_size(l), size);
    CHECK_INT(read_is(l, 0, ref[0], 1), 0);
    struct rlog_ref lost = {size + 500, 100};
    CHECK_INT(rlog_read(l, 5, lost, buf), -EIO);
    rlog_close(l);

    /* valid_len 0 empties it. */
    CHECK_INT(rlog_open(dir, 1, 0, 0, &l), 0);
    CHECK_INT(rlog_size(l), 0);
    CHECK_INT(file_size(p), 0);
    rlog_close(l);
}

static void test_failed_append(void)
{
    char *mnt = tmp_dir("tiny");
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0) {
        fprintf(stderr, "note: cannot mount a tmpfs (%s); skipping the full-disk case\n",
                strerror(errno));
        return;
    }
    const char *p = log_path(mnt, 1, "");
    struct rlog *l = NULL;
    CHECK_INT(rlog_open(mnt, 1, 1, UINT64_MAX, &l), 0);
    char buf[1100];
    struct rlog_ref r0, r1;
    uint32_t n = payload(buf, sizeof buf, 1, 1);
    CHECK_INT(rlog_append(l, 1, buf, n, &r0), 0);
    uint64_t before = rlog_size(l);

    /* Bigger than the file system: fails, and the log is as it was. */
    size_t big_len = 512 * 1024;
    char *big = calloc(1, big_len);
    CHECK_INT(rlog_append(l, 2, big, (uint32_t)big_len, &r1), -ENOSPC);
    free(big);
    CHECK_INT(rlog_size(l), before);
    CHECK_INT(file_size(p), (off_t)before);
    CHECK_INT(read_is(l, 1, r0, 1), 0);

    /* And usable: the space came back. */
    n = payload(buf, sizeof buf, 3, 1);
    CHECK_INT(rlog_append(l, 3, buf, n, &r1), 0);
    CHECK_INT(r1.off, before + HDR);
    CHECK_INT(read_is(l, 3, r1, 1), 0);
    rlog_close(l);
    if (umount(mnt) != 0)
        perror("umount");
}

static void test_compact(void)
{
    const char *dir = tmp_dir("compact");
    struct rlog *l = NULL, *l2 = NULL;
    CHECK_INT(rlog_open(dir, 1, 1, UINT64_MAX, &l), 0);
    enum { N = 200 };
    struct rlog_ref live[N];
    char buf[1100];
    /* Three versions of each record; only the last is live. */
    for (int v = 1; v <= 3; v++) {
        for (int i = 0; i < N; i++) {
            uint32_t n = payload(buf, sizeof buf, (uint64_t)i, v);
            CHECK_INT(rlog_append(l, (uint64_t)i, buf, n, &live[i]), 0);
        }
    }
    uint64_t old_size = rlog_size(l);
    /* Keep the even ones, and damage one of them first. */
    uint64_t ids[N / 2];
    struct rlog_ref refs[N / 2], new_refs[N / 2];
    for (int i = 0; i < N / 2; i++) {
        ids[i] = (uint64_t)(2 * i);
        refs[i] = live[2 * i];
    }
    flip_byte(log_path(dir, 1, ""), (off_t)refs[7].off + 3);
    CHECK_INT(rlog_compact(l, N / 2, ids, refs, new_refs, &l2), 0);
    CHECK(l2 != NULL);
    if (!l2)
        return;
    CHECK_INT(rlog_gen(l2), 2);
    CHECK_INT(file_size(log_path(dir, 2, ".tmp")), -1);
    CHECK(rlog_size(l2) < old_size / 3 + 1);
    CHECK_INT(new_refs[7].off, 0);
    CHECK_INT(new_refs[7].len, 0);
    for (int i = 0; i < N / 2; i++)
        if (i != 7)
            CHECK_INT(read_is(l2, ids[i], new_refs[i], 3), 0);
    /* The old generation is untouched until the caller drops it. */
    CHECK_INT(rlog_size(l), old_size);
    CHECK_INT(read_is(l, 2, live[2], 3), 0);
    CHECK_INT(read_is(l, 1, live[1], 3), 0);

    /* New appends go to the new generation after the copies. */
    struct rlog_ref r;
    uint32_t n = payload(buf, sizeof buf, 1000, 1);
    uint64_t end = rlog_size(l2);
    CHECK_INT(rlog_append(l2, 1000, buf, n, &r), 0);
    CHECK_INT(r.off, end + HDR);
    rlog_close(l);
    CHECK_INT(rlog_unlink_gen(dir, 1), 0);
    CHECK_INT(file_size(log_path(dir, 1, "")), -1);
    CHECK_INT(rlog_unlink_gen(dir, 1), -ENOENT);

    /* Compacting nothing gives an empty generation 3. */
    struct rlog *l3 = NULL;
    CHECK_INT(rlog_compact(l2, 0, NULL, NULL, NULL, &l3), 0);
    CHECK_INT(rlog_gen(l3), 3);
    CHECK_INT(rlog_size(l3), 0);
    rlog_close(l3);

    /* A failure removes the new file and leaves the old log as it was: here
     * generation 3's name is taken by a folder, so the rename fails. */
    CHECK_INT(rlog_unlink_gen(dir, 3), 0);
    CHECK_INT(mkdir(log_path(dir, 3, ""), 0700), 0);
    CHECK_INT(mkdir(log_path(dir, 3, "/x"), 0700), 0);
    uint64_t one = 1000;
    struct rlog_ref one_ref = r, one_new;
    CHECK(rlog_compact(l2, 1, &one, &one_ref, &one_new, &l3) < 0);
    CHECK_INT(file_size(log_path(dir, 3, ".tmp")), -1);
    CHECK_INT(read_is(l2, 1000, r, 1), 0);
    rlog_close(l2);
}

/* ---- threads ------------------------------------------------------------- */

static struct rlog *mt_log;
static atomic_int mt_bad;

static void *mt_worker(void *arg)
{
    uint64_t base_id = 100000 * (uint64_t)(uintptr_t)arg;
    struct rlog_ref refs[500];
    char buf[1100];
    for (int i = 0; i < 500; i++) {
        uint32_t n = payload(buf, sizeof buf, base_id + (uint64_t)i, 1);
        if (rlog_append(mt_log, base_id + (uint64_t)i, buf, n, &refs[i]) != 0)
            mt_bad++;
        /* Read back something of ours while others append. */
        int j = i / 2;
        if (read_is(mt_log, base_id + (uint64_t)j, refs[j], 1) != 0)
            mt_bad++;
    }
    for (int i = 0; i < 500; i++)
        if (read_is(mt_log, base_id + (uint64_t)i, refs[i], 1) != 0)
            mt_bad++;
    return NULL;
}

static void test_threads(void)
{
    const char *dir = tmp_dir("threads");
    CHECK_INT(rlog_open(dir, 1, 1, UINT64_MAX, &mt_log), 0);
    pthread_t t[6];
    for (uintptr_t i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, mt_worker, (void *)(i + 1));
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(mt_bad, 0);
    CHECK_INT(file_size(log_path(dir, 1, "")), (off_t)rlog_size(mt_log));
    rlog_close(mt_log);
}

/* ---- figures ------------------------------------------------------------- */

static void test_rates(void)
{
    const char *dir = tmp_dir("rates");
    struct rlog *l = NULL, *l2 = NULL;
    CHECK_INT(rlog_open(dir, 1, 1, UINT64_MAX, &l), 0);
    enum { N = 100000 };
    struct rlog_ref *refs = malloc(N * sizeof *refs), *new_refs = malloc(N * sizeof *refs);
    uint64_t *ids = malloc(N * sizeof *ids);
    char buf[1100];
    uint64_t bytes = 0;
    int bad = 0;
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        ids[i] = (uint64_t)i * 7919;
        /* ~1 KB, like a meta.json with a few attachments. */
        uint32_t n =
            (uint32_t)snprintf(buf, sizeof buf, "{\"id\":%llu,", (unsigned long long)ids[i]);
        memset(buf + n, 'a' + i % 26, sizeof buf - n);
        n = 960 + (uint32_t)(i % 128);
        bad += rlog_append(l, ids[i], buf, n, &refs[i]) != 0;
        bytes += n;
    }
    double append = now_s() - t0;
    t0 = now_s();
    CHECK_INT(rlog_sync(l), 0);
    double sync = now_s() - t0;
    /* Read in a scattered order, as a directory listing would. */
    t0 = now_s();
    for (int k = 0; k < N; k++) {
        int i = (int)(((uint64_t)k * 48271) % N);
        bad += rlog_read(l, ids[i], refs[i], buf) != 0;
    }
    double read = now_s() - t0;
    t0 = now_s();
    CHECK_INT(rlog_compact(l, N, ids, refs, new_refs, &l2), 0);
    double compact = now_s() - t0;
    CHECK_INT(bad, 0);
    fprintf(stderr,
            "  %d entries (%.0f bytes average payload): append %.0f/s (%.2f s), fdatasync "
            "%.3f s, read+verify %.0f/s (%.2f s), compaction of all %.2f s\n",
            N, (double)bytes / N, N / append, append, sync, N / read, read, compact);
    CHECK(append < 5 && read < 5);
    rlog_close(l);
    rlog_close(l2);
    free(refs);
    free(new_refs);
    free(ids);
}

int main(void)
{
    umask(022);
    if (tmp_init() < 0)
        return 1;
    RUN(test_append_read);
    RUN(test_damage);
    RUN(test_torn_append);
    RUN(test_failed_append);
    RUN(test_compact);
    RUN(test_threads);
    RUN(test_rates);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

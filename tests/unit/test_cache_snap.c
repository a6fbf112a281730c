/* Unit tests for cache/cache_snap: round trip, every kind of damage, failed saves. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif

#include "cache/cache_snap.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define SCHEMA 7

/* Time limits mean nothing under a sanitizer or valgrind. */
static int timing_meaningful(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 0;
#endif
#ifdef RUNNING_ON_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return 0;
#endif
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Names in dir containing ".tmp". */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strstr(de->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

static uint8_t *read_file(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != *len)
        *len = 0;
    fclose(f);
    return b;
}

static void write_file(const char *p, const uint8_t *b, size_t len)
{
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(b, 1, len, f) != len)
        perror(p);
    if (f)
        fclose(f);
}

/* Three sections of awkward lengths, one empty. */
static const char sec_a[] = "the message index";
static const uint8_t sec_c[13] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const struct snap_section sample[] = {
    {1, sec_a, sizeof sec_a - 1},
    {2, "", 0},
    {0xfeedbeef, sec_c, sizeof sec_c},
};

static int sample_ok(const struct snap *s)
{
    if (s->n != 3)
        return 0;
    for (size_t i = 0; i < 3; i++) {
        const struct snap_section *f = snap_find(s, sample[i].tag);
        if (!f || f->len != sample[i].len || memcmp(f->data, sample[i].data, f->len) != 0)
            return 0;
        if ((uintptr_t)f->data % 8 != 0)
            return 0;
    }
    return 1;
}

static void test_round_trip(void)
{
    const char *p = tmp_path("rt.snap");
    struct snap s;
    CHECK_INT(snap_load(p, SCHEMA, &s), -ENOENT);
    CHECK_INT(snap_save(p, SCHEMA, sample, 3), 0);
    CHECK_INT(count_tmp(base), 0);
    struct stat st;
    CHECK_INT(stat(p, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(st.st_size % 8, 0);
    CHECK_INT(snap_load(p, SCHEMA, &s), 0);
    CHECK(sample_ok(&s));
    CHECK(snap_find(&s, 3) == NULL);
    snap_free(&s);
    CHECK(s.image == NULL && s.sec == NULL && s.n == 0);
    snap_free(&s);
    snap_free(NULL);

    /* Replacing: the new one is what loads. */
    const struct snap_section v2[] = {{5, "second", 6}};
    CHECK_INT(snap_save(p, SCHEMA, v2, 1), 0);
    CHECK_INT(snap_load(p, SCHEMA, &s), 0);
    CHECK_INT(s.n, 1);
    const struct snap_section *f = snap_find(&s, 5);
    CHECK(f && f->len == 6 && memcmp(f->data, "second", 6) == 0);
    CHECK(snap_find(&s, 1) == NULL);
    snap_free(&s);

    /* No sections at all. */
    CHECK_INT(snap_save(p, SCHEMA, NULL, 0), 0);
    CHECK_INT(snap_load(p, SCHEMA, &s), 0);
    CHECK_INT(s.n, 0);
    CHECK(snap_find(&s, 1) == NULL);
    snap_free(&s);

    /* Two sections with one tag is a caller bug, refused. */
    const struct snap_section dup[] = {{5, "a", 1}, {5, "b", 1}};
    CHECK_INT(snap_save(p, SCHEMA, dup, 2), -EINVAL);
    CHECK_INT(snap_load(p, SCHEMA, &s), 0); /* the previous file is intact */
    snap_free(&s);
}

static void test_schema(void)
{
    const char *p = tmp_path("schema.snap");
    struct snap s;
    CHECK_INT(snap_save(p, SCHEMA, sample, 3), 0);
    CHECK_INT(snap_load(p, SCHEMA + 1, &s), -EINVAL);
    CHECK(s.image == NULL && s.n == 0);
    CHECK_INT(snap_load(p, 0, &s), -EINVAL);
    CHECK_INT(snap_load(p, SCHEMA, &s), 0);
    snap_free(&s);
}

/* Every single-byte change, every truncation and any extra byte is refused. */
static void test_damage_everywhere(void)
{
    const char *p = tmp_path("damage.snap");
    CHECK_INT(snap_save(p, SCHEMA, sample, 3), 0);
    size_t len = 0;
    uint8_t *good = read_file(p, &len);
    CHECK(good != NULL && len > 24);
    if (!good || len <= 24) {
        free(good);
        return;
    }
    uint8_t bad[512];
    CHECK(len < sizeof bad);
    if (len >= sizeof bad) {
        free(good);
        return;
    }
    struct snap s;
    int missed = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, good, len);
            bad[i] ^= (uint8_t)(1u << bit);
            write_file(p, bad, len);
            int rc = snap_load(p, SCHEMA, &s);
            if (rc != -EINVAL) {
                fprintf(stderr, "byte %zu bit %d: snap_load = %d\n", i, bit, rc);
                missed++;
                if (rc == 0)
                    snap_free(&s);
            }
        }
    }
    CHECK_INT(missed, 0);
    for (size_t cut = 0; cut < len; cut++) {
        write_file(p, good, cut);
        int rc = snap_load(p, SCHEMA, &s);
        CHECK_INT(rc, -EINVAL);
        if (rc == 0)
            snap_free(&s);
    }
    memcpy(bad, good, len);
    bad[len] = 0;
    write_file(p, bad, len + 1);
    CHECK_INT(snap_load(p, SCHEMA, &s), -EINVAL);
    /* Absurd counts and lengths are caught before anything is trusted. */
    memcpy(bad, good, len);
    memset(bad + 16, 0xff, 4); /* section count */
    write_file(p, bad, len);
    CHECK_INT(snap_load(p, SCHEMA, &s), -EINVAL);
    memcpy(bad, good, len);
    memset(bad + 24 + 8, 0xff, 8); /* first section's length */
    write_file(p, bad, len);
    CHECK_INT(snap_load(p, SCHEMA, &s), -EINVAL);

    write_file(p, good, len);
    CHECK_INT(snap_load(p, SCHEMA, &s), 0);
    CHECK(sample_ok(&s));
    snap_free(&s);

    free(good);

    /* Not a file at all. */
    CHECK_INT(snap_load(base, SCHEMA, &s), -EINVAL);
}

static void test_failed_save(void)
{
    struct snap s;
    /* The name is taken by a folder: everything but the rename works. */
    const char *p = tmp_path("isdir.snap");
    CHECK_INT(mkdir(p, 0700), 0);
    CHECK(snap_save(p, SCHEMA, sample, 3) < 0);
    CHECK_INT(count_tmp(base), 0);

    /* A folder we may not write to (as an unprivileged user, since root
     * may write anywhere): refused, the old file intact, no temporary. */
    const char *ro = tmp_path("readonly");
    CHECK_INT(mkdir(ro, 0755), 0);
    char old[600];
    snprintf(old, sizeof old, "%s/index.snap", ro);
    CHECK_INT(snap_save(old, SCHEMA, sample, 3), 0);
    CHECK_INT(chmod(old, 0644), 0);
    CHECK_INT(chmod(base, 0711), 0); /* let the other user reach ro, not write in it */
    pid_t pid = fork();
    if (pid == 0) {
        if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        if (access(ro, W_OK) == 0)
            _exit(4); /* still allowed to write: the case cannot be made */
        const struct snap_section v2[] = {{5, "second", 6}};
        int rc = snap_save(old, SCHEMA, v2, 1);
        _exit(rc == -EACCES ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK_INT(chmod(base, 0700), 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 3)
        fprintf(stderr, "note: cannot drop privileges; skipping the read-only folder case\n");
    else
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(count_tmp(ro), 0);
    CHECK_INT(snap_load(old, SCHEMA, &s), 0);
    CHECK(sample_ok(&s));
    snap_free(&s);

    /* A missing folder. */
    CHECK_INT(snap_save(tmp_path("nowhere/x.snap"), SCHEMA, sample, 3), -ENOENT);

    /* A full disk: the old snapshot survives and no temporary is left. */
    char *mnt = tmp_path("tiny");
    CHECK_INT(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0) {
        fprintf(stderr, "note: cannot mount a tmpfs (%s); skipping the full-disk case\n",
                strerror(errno));
        return;
    }
    char full[600];
    snprintf(full, sizeof full, "%s/index.snap", mnt);
    CHECK_INT(snap_save(full, SCHEMA, sample, 3), 0);
    size_t big_len = 200 * 1024; /* fits once, not beside the old one */
    uint8_t *big = calloc(1, big_len);
    const struct snap_section bs[] = {{1, big, big_len}};
    CHECK_INT(snap_save(full, SCHEMA, bs, 1), 0);
    CHECK_INT(snap_save(full, SCHEMA, bs, 1), -ENOSPC);
    CHECK_INT(count_tmp(mnt), 0);
    CHECK_INT(snap_load(full, SCHEMA, &s), 0);
    CHECK(s.n == 1 && s.sec[0].len == big_len);
    snap_free(&s);
    CHECK_INT(snap_save(full, SCHEMA, sample, 3), 0); /* and usable */
    free(big);
    if (umount(mnt) != 0)
        perror("umount");
}

/* ---- threads ------------------------------------------------------------- */

static atomic_int mt_bad;
static char mt_shared[600];

static void *mt_worker(void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    char own[64];
    snprintf(own, sizeof own, "%s/own-%u.snap", base, (unsigned)me);
    for (int i = 0; i < 30; i++) {
        uint64_t v[2] = {me, (uint64_t)i};
        const struct snap_section sec[] = {{1, v, sizeof v}, {2, sec_a, sizeof sec_a}};
        if (snap_save(own, SCHEMA, sec, 2) != 0 || snap_save(mt_shared, SCHEMA, sec, 2) != 0)
            mt_bad++;
        struct snap s;
        if (snap_load(mt_shared, SCHEMA, &s) != 0 || s.n != 2)
            mt_bad++;
        snap_free(&s);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    snprintf(mt_shared, sizeof mt_shared, "%s/shared.snap", base);
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, mt_worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(mt_bad, 0);
    CHECK_INT(count_tmp(base), 0);
}

/* ---- figures ------------------------------------------------------------- */

static void test_load_time(void)
{
    const char *p = tmp_path("big.snap");
    const size_t mb = 1 << 20;
    uint8_t *a = malloc(16 * mb), *b = malloc(4 * mb);
    for (size_t i = 0; i < 16 * mb; i++)
        a[i] = (uint8_t)(i * 31);
    for (size_t i = 0; i < 4 * mb; i++)
        b[i] = (uint8_t)(i * 17);
    const struct snap_section sec[] = {{1, a, 16 * mb}, {2, b, 4 * mb}, {3, "tok", 3}};
    double t0 = now_s();
    CHECK_INT(snap_save(p, SCHEMA, sec, 3), 0);
    double save = now_s() - t0;
    const int rounds = 10;
    double worst = 0, total = 0;
    for (int i = 0; i < rounds; i++) {
        struct snap s;
        t0 = now_s();
        int rc = snap_load(p, SCHEMA, &s);
        double t = now_s() - t0;
        total += t;
        worst = t > worst ? t : worst;
        CHECK_INT(rc, 0);
        if (i == 0) {
            const struct snap_section *f = snap_find(&s, 1);
            CHECK(f && f->len == 16 * mb && memcmp(f->data, a, 16 * mb) == 0);
        }
        snap_free(&s);
    }
    fprintf(stderr,
            "  20 MB snapshot: save (with fsync) %.1f ms, load+verify %.1f ms average, "
            "%.1f ms worst%s\n",
            save * 1e3, total / rounds * 1e3, worst * 1e3,
            getenv("MALLOC_PERTURB_") ? " (MALLOC_PERTURB_ set: malloc fills every buffer)" : "");
    /* The average: the first load may pay for faulting in fresh memory. */
    if (timing_meaningful())
        CHECK(total / rounds < 0.1);
    free(a);
    free(b);
}

int main(void)
{
    umask(022);
    if (tmp_init() < 0)
        return 1;
    RUN(test_round_trip);
    RUN(test_schema);
    RUN(test_damage_everywhere);
    RUN(test_failed_save);
    RUN(test_threads);
    RUN(test_load_time);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

/*
 * cobj_test — helpers the content-store unit tests share (test_cache_obj*.c):
 * opening a started store, keys, writing and checking patterned content,
 * counting what is on disk.
 */
#ifndef RCFS_TESTS_COBJ_TEST_H
#define RCFS_TESTS_COBJ_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_obj.h"

#define TRAILER 32 /* the on-disk trailer size the module defines */

/* ---- helpers ------------------------------------------------------------ */

/* Open a store, start its startup scan and wait for it, so tests see the
 * full index. */
static inline int store_open(const char *dir, uint64_t max, struct cobj_store **s)
{
    int rc = cobj_store_open(dir, max, s);
    if (rc == 0)
        rc = cobj_store_start(*s);
    if (rc == 0)
        cobj_store_wait(*s);
    return rc;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

static inline struct cobj_key key_n(uint64_t n)
{
    return cobj_key_make("https://platform.example.com", "account-1", 7, n, 1);
}

/* Path of a key's file under dir. */
static inline char *path_of(const char *dir, const struct cobj_key *k)
{
    static char buf[4][600];
    static int next;
    char *b = buf[next++ % 4];
    char hex[33];
    if (strlen(dir) > 520)
        abort();
    cobj_key_hex(k, hex);
    snprintf(b, sizeof buf[0], "%s/%.2s/%s", dir, hex, hex);
    return b;
}

/* Write and commit n bytes of content seed (in odd-sized chunks). */
static inline int put(struct cobj_store *s, const struct cobj_key *k, size_t n, uint32_t seed)
{
    uint8_t *data = malloc(n ? n : 1);
    fill(data, n, seed);
    struct cobj_writer *w = NULL;
    int rc = cobj_begin(s, k, &w);
    if (rc == 0) {
        for (size_t off = 0; off < n && rc == 0; off += 7919)
            rc = cobj_write(w, data + off, n - off < 7919 ? n - off : 7919);
        if (rc == 0)
            rc = cobj_commit(w, (int64_t)n);
        else
            cobj_abort(w);
    }
    free(data);
    return rc;
}

/* Open, compare with content (n, seed), release.  Returns cobj_open's rc, or
 * -EILSEQ when the content differs. */
static inline int get(struct cobj_store *s, const struct cobj_key *k, size_t n, uint32_t seed)
{
    int fd = -1;
    uint64_t size = 0;
    int rc = cobj_open(s, k, &fd, &size);
    if (rc)
        return rc;
    uint8_t *want = malloc(n ? n : 1), *got = malloc(n ? n : 1);
    fill(want, n, seed);
    ssize_t r = pread(fd, got, n, 0);
    if (size != n || r != (ssize_t)n || memcmp(want, got, n) != 0)
        rc = -EILSEQ;
    free(want);
    free(got);
    close(fd);
    cobj_release(s, k);
    return rc;
}

static inline int exists(struct cobj_store *s, const struct cobj_key *k)
{
    return cobj_exists(s, k, NULL);
}

static inline int file_exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static int tmp_count;
static int64_t disk_total;

static inline int count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *name = path + ftw->base;
    if (flag == FTW_F && strstr(name, ".tmp."))
        tmp_count++;
    if (flag == FTW_F && strlen(name) == 32)
        disk_total += st->st_size;
    return 0;
}

/* Temporaries under dir. */
static inline int count_tmp(const char *dir)
{
    tmp_count = 0;
    nftw(dir, count_one, 16, FTW_PHYS);
    return tmp_count;
}

/* Bytes of object files under dir. */
static inline int64_t disk_bytes(const char *dir)
{
    disk_total = 0;
    nftw(dir, count_one, 16, FTW_PHYS);
    return disk_total;
}

/* Make n object files (32 bytes each: empty content) without the store. */
static inline void fake_objects(const char *dir, int n)
{
    mkdir(dir, 0700);
    for (int i = 0; i < 256; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%02x", dir, i);
        mkdir(p, 0700);
    }
    for (int i = 0; i < n; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        int fd = open(path_of(dir, &k), O_WRONLY | O_CREAT, 0600);
        if (fd < 0 || ftruncate(fd, TRAILER) != 0)
            perror("fake_objects");
        close(fd);
    }
}

/* Set path's mtime (its last use, to the store) secs seconds back. */
static inline void set_mtime_ago(const char *path, int secs)
{
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) - secs}};
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
        perror(path);
}

/* Free bytes (f_bavail) of the file system holding path, or -1. */
static inline int64_t fs_avail(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return -1;
    return (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}

#endif

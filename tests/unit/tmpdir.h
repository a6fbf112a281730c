/*
 * tmpdir — a private scratch folder for a C unit test, and its removal.
 *
 * Call tmp_init() once at the start of main() and tmp_rm_rf(base) at the
 * end; tmp_path()/tmp_dir() name things inside it.
 */
#ifndef RCFS_TESTS_TMPDIR_H
#define RCFS_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The test's folder: a template until tmp_init made it. */
static char base[] = "/tmp/rcfs-test-XXXXXX";

static inline int tmp_init(void)
{
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

static inline int tmp_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Remove path and everything below it (symlinks are not followed). */
static inline void tmp_rm_rf(const char *path)
{
    nftw(path, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<base>/<rel>" in one of 8 rotating buffers. */
static inline char *tmp_path(const char *rel)
{
    static char buf[8][512];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", base, rel);
    return b;
}

/* tmp_path, created as a folder (0700) if missing. */
static inline char *tmp_dir(const char *rel)
{
    char *b = tmp_path(rel);
    mkdir(b, 0700);
    return b;
}

#endif

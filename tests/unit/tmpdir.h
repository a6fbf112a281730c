/*
 * tmpdir — a private scratch folder for a C unit test, and its removal.
 *
 * Call tmp_init() once at the start of main() and tmp_rm_rf(base) at the
 * end; tmp_path()/tmp_dir() name things inside it; tmp_tmpfs() mounts a
 * small file system there for full-disk cases.
 */
#ifndef RCFS_TESTS_TMPDIR_H
#define RCFS_TESTS_TMPDIR_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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

/* "<base>/<rel>" in one of 8 rotating buffers of the calling thread. */
static inline char *tmp_path(const char *rel)
{
    static _Thread_local char buf[8][512];
    static _Thread_local int next;
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

/*
 * A tmpfs of size bytes mounted on "<base>/<rel>" (created), for a test case
 * that needs a full disk.  Returns its path (a tmp_path buffer: copy it), or
 * NULL after printing why the case is skipped: mounting needs root (or
 * CAP_SYS_ADMIN), which every run of the suite has, but a developer's
 * unprivileged run should still run the rest.  Unmount with tmp_umount.
 */
static inline char *tmp_tmpfs(const char *rel, unsigned long size)
{
    char *dir = tmp_dir(rel);
    char opts[64];
    snprintf(opts, sizeof opts, "size=%lu,mode=0700", size);
    if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        fprintf(stderr, "note: cannot mount a tmpfs on %s (%s): full-disk case skipped\n", dir,
                strerror(errno));
        return NULL;
    }
    return dir;
}

/* Unmount a tmp_tmpfs file system (its contents go with it). */
static inline void tmp_umount(const char *dir)
{
    if (umount(dir) != 0)
        perror("umount");
}

#endif

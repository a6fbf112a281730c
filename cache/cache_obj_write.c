/* cache_obj_write — writing an object: temporary, trailer, rename (see cache_obj.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_io.h"
#include "cache/cache_obj.h"
#include "cache/cache_obj_impl.h"
#include "cache/cache_obj_index.h"
#include "cache/cache_obj_space.h"
#include "util/log.h"
#include "util/mem.h"

struct cobj_writer {
    struct cobj_store *s;   /* the store it commits into */
    struct cobj_key key;    /* the object being written */
    int fd;                 /* the temporary, or -1 once closed */
    bool tmp_exists;        /* the temporary has not been renamed or removed */
    int err;                /* first error (-errno); the writer is then dead */
    uint64_t size;          /* bytes written so far (the temporary's length) */
    XXH3_state_t *hash;     /* running xxh3-128 of those bytes */
    char tmp[OBJ_NAME_MAX]; /* "hh/<hex>.tmp.<pid>.<n>" */
};

/* Close and delete the temporary (the writer then only reports w->err). */
static void write_discard(struct cobj_writer *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->tmp_exists) {
        if (unlinkat(w->s->dfd, w->tmp, 0) != 0 && errno != ENOENT)
            log_warn("cache: cannot remove temporary %s: %s", w->tmp, strerror(errno));
        w->tmp_exists = false;
    }
}

static void write_free(struct cobj_writer *w)
{
    write_discard(w);
    XXH3_freeState(w->hash);
    free(w);
}

/* ENOSPC from an operation needing about need bytes: evict and say whether
 * retrying (once) is worth it. */
static bool write_relieve(struct cobj_store *s, uint64_t need)
{
    pthread_mutex_lock(&s->mu);
    bool retry = ospace_relieve(s, need);
    pthread_mutex_unlock(&s->mu);
    return retry;
}

/* Create the fan-out folder and an unused temporary in it.  Returns the fd
 * (w->tmp named) or -errno. */
static int write_create(struct cobj_writer *w, const char *hex)
{
    char hh[3] = {hex[0], hex[1], '\0'};
    if (mkdirat(w->s->dfd, hh, 0700) != 0 && errno != EEXIST)
        return obj_io_err(-errno);
    /* O_EXCL: never write into a file someone else holds open.  A name can
     * only collide with a leftover of a dead process that had our pid. */
    int fd = -EEXIST;
    for (int tries = 0; fd == -EEXIST && tries < 8; tries++) {
        unsigned long long n = atomic_fetch_add(&w->s->seq, 1);
        snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp.%ld.%llu", hh, hex, (long)getpid(), n);
        fd = openat(w->s->dfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            fd = obj_io_err(-errno);
    }
    return fd;
}

int cobj_begin(struct cobj_store *s, const struct cobj_key *k, struct cobj_writer **out)
{
    char hex[33];
    cobj_key_hex(k, hex);
    struct cobj_writer *w = mem_calloc(1, sizeof *w);
    w->s = s;
    w->key = *k;
    /* A full file system may refuse the folder or the inode: evicting
     * frees both. */
    w->fd = write_create(w, hex);
    if (w->fd == -ENOSPC && write_relieve(s, 0))
        w->fd = write_create(w, hex);
    if (w->fd < 0) {
        int rc = w->fd;
        free(w);
        return rc;
    }
    w->tmp_exists = true;
    w->hash = obj_hash_new();
    *out = w;
    return 0;
}

/*
 * Write n bytes at the end of the temporary.  On ENOSPC, cut the temporary
 * back (giving back what part of them went out), evict and retry once.
 * Returns 0 or -errno.
 */
static int write_at_end(struct cobj_writer *w, const void *p, size_t n)
{
    struct iovec iov = {(void *)p, n};
    int rc = obj_io_err(cio_pwritev_all(w->fd, &iov, 1, (off_t)w->size));
    if (rc != -ENOSPC)
        return rc;
    if (ftruncate(w->fd, (off_t)w->size) != 0)
        return rc;
    if (!write_relieve(w->s, n))
        return rc;
    return obj_io_err(cio_pwritev_all(w->fd, &iov, 1, (off_t)w->size));
}

int cobj_write(struct cobj_writer *w, const void *p, size_t n)
{
    if (w->err)
        return w->err;
    uint64_t max = w->s->max_bytes;
    if (max && (n > max || w->size + OBJ_TRAILER > max - n)) {
        /* Fail now rather than after downloading the rest of it. */
        w->err = -EFBIG;
    } else {
        w->err = write_at_end(w, p, n);
        if (w->err == 0) {
            XXH3_128bits_update(w->hash, p, n);
            w->size += n;
            return 0;
        }
    }
    /* Give the space back at once: the disk may be full. */
    write_discard(w);
    return w->err;
}

/* Append the trailer and close the temporary.  Returns 0 or -errno. */
static int write_trailer(struct cobj_writer *w)
{
    uint8_t t[OBJ_TRAILER];
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(w->hash));
    cio_put_le32(t, OBJ_MAGIC);
    cio_put_le32(t + 4, OBJ_VERSION);
    cio_put_le64(t + 8, w->size);
    memcpy(t + 16, c.digest, sizeof c.digest);
    int rc = write_at_end(w, t, sizeof t);
    /* No fsync: every open verifies the size and hash in the trailer, so an
     * object torn by a power cut is found, deleted and fetched again, never
     * served.  An fsync per object was a third of a cached download's cost. */
    int f = w->fd;
    w->fd = -1;
    if (close(f) != 0 && rc == 0)
        rc = obj_io_err(-errno);
    return rc;
}

/* Rename the temporary over the object's name and account for it (mu held).
 * Returns 0 or -errno. */
static int write_place(struct cobj_writer *w)
{
    struct cobj_store *s = w->s;
    char name[OBJ_NAME_MAX];
    obj_name(&w->key, name);
    int rc = renameat(s->dfd, w->tmp, s->dfd, name) == 0 ? 0 : obj_io_err(-errno);
    /* A folder that must grow to take the name can hit a full disk. */
    if (rc == -ENOSPC && ospace_relieve(s, 0))
        rc = renameat(s->dfd, w->tmp, s->dfd, name) == 0 ? 0 : obj_io_err(-errno);
    if (rc < 0)
        return rc;
    w->tmp_exists = false;
    uint32_t i = oidx_find(s, &w->key);
    if (i == NIL)
        i = oidx_insert(s, &w->key, w->size, obj_now());
    else
        oidx_replace(s, i, w->size);
    ospace_enforce_cap(s, i);
    ospace_enforce_reserve(s, i);
    return 0;
}

int cobj_commit(struct cobj_writer *w, int64_t expect_size)
{
    struct cobj_store *s = w->s;
    int rc = w->err;
    if (rc == 0 && expect_size >= 0 && w->size != (uint64_t)expect_size) {
        log_warn("cache: object of %lld bytes expected, %llu received", (long long)expect_size,
                 (unsigned long long)w->size);
        rc = -EIO;
    }
    if (rc == 0 && s->max_bytes && w->size + OBJ_TRAILER > s->max_bytes)
        rc = -EFBIG;
    if (rc == 0)
        rc = write_trailer(w);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        rc = write_place(w);
        pthread_mutex_unlock(&s->mu);
    }
    write_free(w);
    return rc;
}

void cobj_abort(struct cobj_writer *w)
{
    if (w)
        write_free(w);
}

/* cache_rlog — the append-only, verified record log (see cache_rlog.h). */
#include "cache/cache_rlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_io.h"
#include "util/log.h"
#include "util/mem.h"

/*
 * Entry header (little-endian), immediately before the payload:
 *    0  magic u32  RLOG_MAGIC ("RCRL" on disk)
 *    4  len   u32  payload bytes
 *    8  id    u64  message id
 *   16  hash  16   xxh3-128 of the payload, canonical (big-endian) form
 * No padding between entries: a ref's offset is where its payload starts.
 */
#define RLOG_HDR   32
#define RLOG_MAGIC 0x4c524352u

/* Compaction writes through a buffer this large, then flushes. */
#define RLOG_COPY_BUF (1024 * 1024)

struct rlog {
    char *dir;          /* the folder holding the generations */
    uint64_t gen;       /* this file's generation */
    int fd;             /* records-<gen>.log, read-write */
    pthread_mutex_t mu; /* serialises appends and guards end */
    uint64_t end;       /* where the next entry goes (= bytes known in the file) */
};

static char *rlog_path(const char *dir, uint64_t gen, const char *suffix)
{
    return mem_printf("%s/records-%" PRIu64 ".log%s", dir, gen, suffix);
}

static void rlog_header(uint8_t *h, uint64_t msg_id, const void *payload, uint32_t len)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(payload, len));
    cio_put_le32(h, RLOG_MAGIC);
    cio_put_le32(h + 4, len);
    cio_put_le64(h + 8, msg_id);
    memcpy(h + 16, c.digest, sizeof c.digest);
}

int rlog_open(const char *dir, uint64_t gen, int create, uint64_t valid_len, struct rlog **out)
{
    char *path = rlog_path(dir, gen, "");
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out_fd;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (valid_len != UINT64_MAX && size > valid_len) {
        log_info("cache: cutting %" PRIu64 " bytes of torn appends off %s", size - valid_len, path);
        if (ftruncate(fd, (off_t)valid_len) != 0) {
            rc = -errno;
            goto out_fd;
        }
        size = valid_len;
    } else if (valid_len != UINT64_MAX && size < valid_len) {
        /* Entries the snapshot refers to are lost (the log was not synced
         * before the snapshot was).  Reading them reports -EIO one by one;
         * the rest of the log is still good. */
        log_warn("cache: %s is %" PRIu64 " bytes short of what its snapshot expects", path,
                 valid_len - size);
    }
    struct rlog *l = mem_calloc(1, sizeof *l);
    l->dir = mem_strdup(dir);
    l->gen = gen;
    l->fd = fd;
    l->end = size;
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    goto out;
out_fd:
    close(fd);
out:
    free(path);
    return rc;
}

void rlog_close(struct rlog *l)
{
    if (!l)
        return;
    close(l->fd);
    pthread_mutex_destroy(&l->mu);
    free(l->dir);
    free(l);
}

uint64_t rlog_gen(const struct rlog *l)
{
    return l->gen;
}

uint64_t rlog_size(struct rlog *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t end = l->end;
    pthread_mutex_unlock(&l->mu);
    return end;
}

int rlog_append(struct rlog *l, uint64_t msg_id, const void *payload, uint32_t len,
                struct rlog_ref *ref)
{
    uint8_t h[RLOG_HDR];
    rlog_header(h, msg_id, payload, len); /* hashing outside the lock */
    struct iovec iov[2] = {{h, sizeof h}, {(void *)payload, len}};
    pthread_mutex_lock(&l->mu);
    uint64_t at = l->end;
    /* pwrite at the tracked end rather than O_APPEND: after a failure we know
     * exactly where to cut back to, and a reader never sees a half entry
     * counted in rlog_size. */
    int rc = cio_pwritev_all(l->fd, iov, 2, (off_t)at);
    if (rc == 0) {
        l->end = at + RLOG_HDR + len;
        ref->off = at + RLOG_HDR;
        ref->len = len;
    } else if (ftruncate(l->fd, (off_t)at) != 0) {
        /* The tail stays torn on disk, but end did not move: the next append
         * overwrites it and the snapshot's valid_len excludes it. */
        log_warn("cache: cannot cut back a failed append to record log %" PRIu64 ": %s", l->gen,
                 strerror(errno));
    }
    pthread_mutex_unlock(&l->mu);
    return rc == -EDQUOT ? -ENOSPC : rc;
}

int rlog_sync(struct rlog *l)
{
    int rc = fdatasync(l->fd) != 0 ? -errno : 0;
    return rc == -EDQUOT ? -ENOSPC : rc;
}

int rlog_read(struct rlog *l, uint64_t msg_id, struct rlog_ref ref, void *buf)
{
    if (ref.off < RLOG_HDR || ref.off > (uint64_t)INT64_MAX)
        return -EIO;
    uint8_t h[RLOG_HDR];
    struct iovec iov[2] = {{h, sizeof h}, {buf, ref.len}};
    /* One preadv for header and payload: a read is one system call. */
    ssize_t r = cio_preadv_full(l->fd, iov, 2, (off_t)(ref.off - RLOG_HDR));
    if (r < 0)
        return (int)r;
    if ((size_t)r != RLOG_HDR + (size_t)ref.len)
        return -EIO; /* runs past the end: not an entry */
    if (cio_get_le32(h) != RLOG_MAGIC || cio_get_le32(h + 4) != ref.len ||
        cio_get_le64(h + 8) != msg_id)
        return -EIO;
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(buf, ref.len));
    if (memcmp(c.digest, h + 16, sizeof c.digest) != 0)
        return -EIO;
    return 0;
}

/* A buffered writer for compaction: entries go out in large writes. */
struct rlog_out {
    int fd;        /* the new generation's temporary */
    uint8_t *buf;  /* pending bytes */
    size_t used;   /* bytes in buf */
    uint64_t size; /* bytes written or pending: the next entry's offset */
};

static int rlog_out_flush(struct rlog_out *o)
{
    int rc = cio_write_all(o->fd, o->buf, o->used);
    o->used = 0;
    return rc;
}

static int rlog_out_put(struct rlog_out *o, const void *p, size_t n)
{
    if (o->used + n > RLOG_COPY_BUF) {
        int rc = rlog_out_flush(o);
        if (rc)
            return rc;
        if (n > RLOG_COPY_BUF) {
            o->size += n;
            return cio_write_all(o->fd, p, n);
        }
    }
    memcpy(o->buf + o->used, p, n);
    o->used += n;
    o->size += n;
    return 0;
}

int rlog_compact(struct rlog *l, size_t n, const uint64_t *ids, const struct rlog_ref *refs,
                 struct rlog_ref *new_refs, struct rlog **out)
{
    char *tmp = rlog_path(l->dir, l->gen + 1, ".tmp");
    char *path = rlog_path(l->dir, l->gen + 1, "");
    /* O_TRUNC, not O_EXCL: a leftover from a compaction killed midway is
     * ours to overwrite (one rcfs per cache folder). */
    struct rlog_out o = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    int rc = 0;
    if (o.fd < 0) {
        rc = -errno;
        goto out;
    }
    o.buf = mem_alloc(RLOG_COPY_BUF);
    size_t cap = 4096;
    uint8_t *payload = mem_alloc(cap);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (refs[i].len > cap) {
            cap = refs[i].len;
            payload = mem_realloc(payload, cap);
        }
        int r = rlog_read(l, ids[i], refs[i], payload);
        if (r == -EIO) {
            /* Copying it would only carry the damage forward; the caller
             * learns from {0, 0} to fetch the record again. */
            log_warn("cache: record %" PRIu64 " in record log %" PRIu64
                     " is damaged; not carried over",
                     ids[i], l->gen);
            new_refs[i] = (struct rlog_ref){0, 0};
            continue;
        }
        if (r < 0) {
            rc = r;
            break;
        }
        uint8_t h[RLOG_HDR];
        rlog_header(h, ids[i], payload, refs[i].len);
        uint64_t at = o.size;
        rc = rlog_out_put(&o, h, sizeof h);
        if (rc == 0)
            rc = rlog_out_put(&o, payload, refs[i].len);
        new_refs[i] = (struct rlog_ref){at + RLOG_HDR, refs[i].len};
    }
    free(payload);
    if (rc == 0)
        rc = rlog_out_flush(&o);
    free(o.buf);
    /* Durable before the rename, and the rename durable before the caller
     * writes a snapshot that names the new generation. */
    if (rc == 0 && fsync(o.fd) != 0)
        rc = -errno;
    if (close(o.fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc == 0) {
        rc = cio_fsync_parent(path);
        if (rc == 0)
            rc = rlog_open(l->dir, l->gen + 1, 0, UINT64_MAX, out);
        if (rc < 0)
            unlink(path);
    } else {
        unlink(tmp);
    }
out:
    free(tmp);
    free(path);
    return rc == -EDQUOT ? -ENOSPC : rc;
}

int rlog_unlink_gen(const char *dir, uint64_t gen)
{
    char *path = rlog_path(dir, gen, "");
    int rc = unlink(path) != 0 ? -errno : 0;
    free(path);
    return rc;
}

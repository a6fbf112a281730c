/* cache_snap — atomic, checksummed snapshot files (see cache_snap.h). */
#include "cache/cache_snap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_io.h"
#include "util/log.h"
#include "util/mem.h"

/*
 * File layout (little-endian):
 *   header, 24 bytes:
 *      0  magic    "RCFSSNAP"
 *      8  version  u32  SNAP_VERSION
 *     12  schema   u32  the caller's
 *     16  count    u32  sections that follow
 *     20  zero     u32  (keeps what follows 8-aligned)
 *   then count times:
 *      0  tag      u32
 *      4  zero     u32
 *      8  length   u64
 *     16  hash     u64  xxh3-64 of the bytes, seeded with the tag
 *     24  the bytes, then zeros up to a multiple of 8
 *   and nothing after the last section.
 * Every byte is checked on load: constants and zeros by value, the tag
 * through the hash seed, lengths by the sections exactly filling the file,
 * the bytes by the hash.  The 8-byte alignment means a section's data, which
 * points into a malloc'd image, is aligned for any scalar type.
 */
#define SNAP_MAGIC   "RCFSSNAP"
#define SNAP_VERSION 1u
#define SNAP_HDR     24
#define SNAP_SEC_HDR 24

static const uint8_t snap_zeros[8];

/* One rcfs saves each path from one place, but the temporary name has only
 * the pid in it: serialise all saves of the process so two threads can never
 * share a temporary.  Saves are rare and small. */
static pthread_mutex_t snap_save_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t snap_pad(uint64_t len)
{
    return (8 - (len & 7)) & 7;
}

static uint64_t snap_hash(uint32_t tag, const void *data, uint64_t len)
{
    return XXH3_64bits_withSeed(data, (size_t)len, tag);
}

int snap_save(const char *path, uint32_t schema, const struct snap_section *sec, size_t n)
{
    if (n > UINT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (sec[i].tag == sec[j].tag)
                return -EINVAL; /* snap_find could only ever see the first */

    uint8_t hdr[SNAP_HDR];
    memcpy(hdr, SNAP_MAGIC, 8);
    cio_put_le32(hdr + 8, SNAP_VERSION);
    cio_put_le32(hdr + 12, schema);
    cio_put_le32(hdr + 16, (uint32_t)n);
    cio_put_le32(hdr + 20, 0);
    uint8_t(*shdr)[SNAP_SEC_HDR] = mem_calloc(n, SNAP_SEC_HDR);
    struct iovec *iov = mem_calloc(1 + 3 * n, sizeof *iov);
    int cnt = 0;
    iov[cnt++] = (struct iovec){hdr, sizeof hdr};
    for (size_t i = 0; i < n; i++) {
        cio_put_le32(shdr[i], sec[i].tag);
        cio_put_le64(shdr[i] + 8, sec[i].len);
        cio_put_le64(shdr[i] + 16, snap_hash(sec[i].tag, sec[i].data, sec[i].len));
        iov[cnt++] = (struct iovec){shdr[i], SNAP_SEC_HDR};
        iov[cnt++] = (struct iovec){(void *)sec[i].data, (size_t)sec[i].len};
        iov[cnt++] = (struct iovec){(void *)snap_zeros, (size_t)snap_pad(sec[i].len)};
    }

    pthread_mutex_lock(&snap_save_mu);
    char *tmp = mem_printf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    /* O_TRUNC, not O_EXCL: a leftover with our pid is from a dead process
     * (pids are reused, e.g. in containers) and must not block saving. */
    rc = cio_replace(path, tmp, iov, cnt);
    if (rc < 0)
        goto out;
    /* After the rename the new file is in place whatever happens here; this
     * only makes the rename itself survive a crash. */
    rc = cio_fsync_parent(path);
    if (rc < 0)
        log_warn("cache: cannot sync the folder of %s: %s", path, strerror(-rc));
out:
    pthread_mutex_unlock(&snap_save_mu);
    free(tmp);
    free(iov);
    free(shdr);
    return rc == -EDQUOT ? -ENOSPC : rc;
}

/* Check the image and point s->sec into it.  Returns 0 or -EINVAL. */
static int snap_parse(struct snap *s, uint32_t schema, const char *path)
{
    const uint8_t *p = s->image;
    uint64_t size = s->image_len;
    if (size < SNAP_HDR || memcmp(p, SNAP_MAGIC, 8) != 0) {
        log_warn("cache: %s is not a snapshot", path);
        return -EINVAL;
    }
    uint32_t version = cio_get_le32(p + 8), file_schema = cio_get_le32(p + 12);
    uint32_t n = cio_get_le32(p + 16);
    if (version != SNAP_VERSION || file_schema != schema) {
        log_info("cache: %s has format %u schema %u, not %u/%u; discarding", path, version,
                 file_schema, SNAP_VERSION, schema);
        return -EINVAL;
    }
    if (cio_get_le32(p + 20) != 0 || n > (size - SNAP_HDR) / SNAP_SEC_HDR)
        goto bad;
    s->sec = mem_calloc(n ? n : 1, sizeof *s->sec);
    s->n = n;
    uint64_t off = SNAP_HDR;
    for (uint32_t i = 0; i < n; i++) {
        if (size - off < SNAP_SEC_HDR)
            goto bad;
        const uint8_t *h = p + off;
        uint32_t tag = cio_get_le32(h);
        uint64_t len = cio_get_le64(h + 8);
        off += SNAP_SEC_HDR;
        if (cio_get_le32(h + 4) != 0 || len > size - off || snap_pad(len) > size - off - len)
            goto bad;
        if (snap_hash(tag, p + off, len) != cio_get_le64(h + 16))
            goto bad;
        if (memcmp(p + off + len, snap_zeros, (size_t)snap_pad(len)) != 0)
            goto bad;
        for (uint32_t j = 0; j < i; j++)
            if (s->sec[j].tag == tag)
                goto bad;
        s->sec[i] = (struct snap_section){tag, p + off, len};
        off += len + snap_pad(len);
    }
    if (off != size)
        goto bad;
    return 0;
bad:
    log_warn("cache: snapshot %s is damaged; discarding", path);
    return -EINVAL;
}

/*
 * Fault in a fresh buffer in one call before read() fills it.  Taking the
 * faults one page at a time inside read() costs ~10 us a page on VMs whose
 * memory is backed lazily (measured: 60 ms for 20 MB, against 4 ms for one
 * populate call).  Only a hint: older kernels refuse it, harmlessly.
 */
static void snap_prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)len;
#endif
}

int snap_load(const char *path, uint32_t schema, struct snap *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > SIZE_MAX / 2) {
        rc = -EINVAL; /* no snapshot we write is this big */
        goto out;
    }
    struct snap s = {.image = mem_alloc((size_t)st.st_size), .image_len = (size_t)st.st_size};
    snap_prefault(s.image, s.image_len);
    ssize_t r = cio_pread_full(fd, s.image, s.image_len, 0);
    if (r < 0)
        rc = (int)r;
    else if ((size_t)r != s.image_len)
        rc = -EINVAL; /* shrank while we read: rewritten in place, not by us */
    else
        rc = snap_parse(&s, schema, path);
    if (rc < 0)
        snap_free(&s);
    else
        *out = s;
out:
    close(fd);
    return rc;
}

const struct snap_section *snap_find(const struct snap *s, uint32_t tag)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->sec[i].tag == tag)
            return &s->sec[i];
    return NULL;
}

void snap_free(struct snap *s)
{
    if (!s)
        return;
    free(s->image);
    free(s->sec);
    memset(s, 0, sizeof *s);
}

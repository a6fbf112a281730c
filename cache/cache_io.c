/* cache_io — shared file-I/O helpers of the cache layer (see cache_io.h). */
#include "cache/cache_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/mem.h"

int cio_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * preadv/pwritev until every iovec is done, EOF (reads) or an error.
 * Returns the byte count or -errno; a write that makes no progress is -EIO.
 */
static ssize_t cio_rwv_all(int fd, const struct iovec *iov, int cnt, off_t off, bool wr)
{
    /* Work on a copy: a short transfer means advancing into an iovec. */
    struct iovec local[8];
    struct iovec *v = cnt <= 8 ? local : mem_calloc((size_t)cnt, sizeof *v);
    memcpy(v, iov, (size_t)cnt * sizeof *v);
    struct iovec *cur = v;
    int left = cnt;
    ssize_t total = 0;
    while (left > 0) {
        if (cur->iov_len == 0) {
            cur++;
            left--;
            continue;
        }
        int batch = left > IOV_MAX ? IOV_MAX : left;
        ssize_t r = wr ? pwritev(fd, cur, batch, off) : preadv(fd, cur, batch, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            total = -errno;
            break;
        }
        if (r == 0) {
            if (wr)
                total = -EIO;
            break;
        }
        off += r;
        total += r;
        size_t done = (size_t)r;
        while (left > 0 && done >= cur->iov_len) {
            done -= cur->iov_len;
            cur++;
            left--;
        }
        if (left > 0) {
            cur->iov_base = (uint8_t *)cur->iov_base + done;
            cur->iov_len -= done;
        }
    }
    if (v != local)
        free(v);
    return total;
}

int cio_pwritev_all(int fd, const struct iovec *iov, int cnt, off_t off)
{
    ssize_t r = cio_rwv_all(fd, iov, cnt, off, true);
    return r < 0 ? (int)r : 0;
}

ssize_t cio_preadv_full(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return cio_rwv_all(fd, iov, cnt, off, false);
}

ssize_t cio_pread_full(int fd, void *p, size_t n, off_t off)
{
    uint8_t *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, c + got, n - got, off + (off_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int cio_replace(const char *path, const char *tmp, const struct iovec *iov, int cnt)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = cio_pwritev_all(fd, iov, cnt, 0);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int cio_fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        !slash ? mem_strdup(".") : mem_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
    } else {
        if (fsync(fd) != 0)
            rc = -errno;
        close(fd);
    }
    free(dir);
    return rc;
}

void cio_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/*
 * cache_io — the few file-I/O helpers the cache modules share (internal to
 * cache/, not for other layers).
 *
 * Owns nothing: complete reads and writes that survive EINTR and short
 * transfers, syncing a folder after a rename, hex, and the little-endian
 * encoding every on-disk cache format uses (so a cache folder copied between
 * machines of different byte order still reads).
 */
#ifndef RCFS_CACHE_IO_H
#define RCFS_CACHE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Write all n bytes at the file position.  Returns 0 or -errno (a short
 * write that makes no progress is -EIO). */
int cio_write_all(int fd, const void *p, size_t n);

/* Write all iovecs at offset off (iov is not modified).  Returns 0 or -errno. */
int cio_pwritev_all(int fd, const struct iovec *iov, int cnt, off_t off);

/* Read into all iovecs at off, stopping early only at end of file.
 * Returns the byte count (< the total at EOF) or -errno. */
ssize_t cio_preadv_full(int fd, const struct iovec *iov, int cnt, off_t off);

/* Read up to n bytes at off, stopping early only at end of file.
 * Returns the byte count (< n at EOF) or -errno. */
ssize_t cio_pread_full(int fd, void *p, size_t n, off_t off);

/* fsync the folder holding path, so a rename into it is durable.
 * Returns 0 or -errno. */
int cio_fsync_parent(const char *path);

/* Replace path with the bytes of iov: write them to tmp (mode 0600, created
 * or truncated, never through a symlink), fsync, close, rename onto path.
 * On failure tmp is removed and path is unchanged.  The rename's own
 * durability is the caller's (cio_fsync_parent).  Returns 0 or -errno. */
int cio_replace(const char *path, const char *tmp, const struct iovec *iov, int cnt);

/* Lower-case hex of n bytes into out (2n chars + NUL). */
void cio_hex(const uint8_t *b, size_t n, char *out);

static inline void cio_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cio_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t cio_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t cio_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#endif

/*
 * fs_scratch — small files that programs write in a view where nothing is
 * stored: the `.trashinfo` files a desktop writes into the Trash's info/
 * before it moves a message there.  They live in memory, for a limited
 * time (a program that never finishes leaves nothing behind for long) and
 * in limited number and size (no one can fill the daemon's memory).
 * Thread-safe.  Times are monotonic milliseconds supplied by the caller.
 */
#ifndef RCFS_FS_SCRATCH_H
#define RCFS_FS_SCRATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fs_scratch;

/* A store of at most max_files files of at most max_bytes each, each
 * forgotten ttl_ms after it was created.  Never fails. */
struct fs_scratch *fs_scratch_new(uint32_t max_files, size_t max_bytes, int64_t ttl_ms);

/* Free the store and its files.  NULL-safe. */
void fs_scratch_free(struct fs_scratch *s);

/* Create an empty file `name` (1..255 bytes, no '/').  Returns 0 and its id
 * (never 0, never reused), -EEXIST, -ENOSPC (too many files), or -EINVAL /
 * -ENAMETOOLONG for a bad name. */
int fs_scratch_create(struct fs_scratch *s, const char *name, int64_t now_ms, uint32_t *id);

/* Find file `name`: 0 and *id, or -ENOENT. */
int fs_scratch_find(struct fs_scratch *s, const char *name, int64_t now_ms, uint32_t *id);

/* Size and creation time of file id: 0, or -ENOENT. */
int fs_scratch_stat(struct fs_scratch *s, uint32_t id, int64_t now_ms, size_t *size,
                    int64_t *born_ms);

/* Write len bytes at off (the gap, if any, reads as zeros).  Returns the
 * bytes written, -EFBIG past max_bytes (nothing written), -EINVAL for a
 * negative offset, or -ENOENT. */
ssize_t fs_scratch_write(struct fs_scratch *s, uint32_t id, const void *buf, size_t len, off_t off,
                         int64_t now_ms);

/* Read at most len bytes at off into buf.  Returns the bytes read (0 at
 * the end), -EINVAL for a negative offset, or -ENOENT. */
ssize_t fs_scratch_read(struct fs_scratch *s, uint32_t id, void *buf, size_t len, off_t off,
                        int64_t now_ms);

/* Set the size of file id (zeros when it grows).  0, -EFBIG or -ENOENT. */
int fs_scratch_truncate(struct fs_scratch *s, uint32_t id, size_t size, int64_t now_ms);

/* Rename file `from` to `to`, replacing a file of that name.  0, -ENOENT
 * (no `from`), or -EINVAL / -ENAMETOOLONG for a bad `to` (nothing changed). */
int fs_scratch_rename(struct fs_scratch *s, const char *from, const char *to, int64_t now_ms);

/* Remove file `name`: 0 or -ENOENT. */
int fs_scratch_remove(struct fs_scratch *s, const char *name, int64_t now_ms);

/* Call fn for each file (in creation order), with the store locked: fn
 * must not call back into s.  name is valid during the call only. */
void fs_scratch_each(struct fs_scratch *s, int64_t now_ms,
                     void (*fn)(void *ctx, const char *name, uint32_t id), void *ctx);

#endif

/*
 * fs_notify — telling the kernel what changed, without deadlocking it.
 *
 * rcfs answers lookups and attributes with long timeouts and keeps readdir
 * results and file pages in the kernel, so every change must be announced:
 *   - inode invalidations (attributes, page cache, readdir cache) take no
 *     directory lock in the kernel and are sent at once, from any thread,
 *     so a change is visible before the system call that made it returns;
 *   - dentry invalidations take the parent directory's lock, which the
 *     kernel may hold while it waits for one of our handlers (rmdir, rename,
 *     unlink), so they go through a queue served by one thread of their own.
 * Until fs_notify_start is called (no session yet) everything is dropped.
 */
#ifndef RCFS_FS_NOTIFY_H
#define RCFS_FS_NOTIFY_H

#include <stdint.h>

struct fuse_session;
struct fs_notify;

/* Create the notifier (no thread yet). */
struct fs_notify *fs_notify_new(void);

/* Start serving notifications for session se.  Returns 0 or -errno. */
int fs_notify_start(struct fs_notify *n, struct fuse_session *se);

/* Drop the inode's cached attributes and data (or readdir results). */
void fs_notify_inode(struct fs_notify *n, uint64_t ino);

/* Queue the removal of entry `name` from directory `parent`. */
void fs_notify_entry(struct fs_notify *n, uint64_t parent, const char *name);

/* Wait until every queued entry invalidation was sent (tests, unmount). */
void fs_notify_flush(struct fs_notify *n);

/* Stop the thread (pending items are dropped) and free.  NULL-safe. */
void fs_notify_free(struct fs_notify *n);

#endif

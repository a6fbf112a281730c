/*
 * fs_notify — telling the kernel what changed, without deadlocking it.
 *
 * rcfs answers lookups and attributes with long timeouts and keeps readdir
 * results and file pages in the kernel, so every change must be announced:
 *   - dentry invalidations take the parent directory's lock, which the
 *     kernel may hold while it waits for one of our handlers (rmdir, rename,
 *     unlink), so they always go through a queue served by a thread of their
 *     own;
 *   - inode invalidations drop page-cache pages, which the kernel keeps
 *     locked while it waits for a READ of that inode: from a read handler
 *     (e.g. one that fetched a damaged record again) they would deadlock, so
 *     they are queued too, except where the caller knows it holds no such
 *     page (the handlers that change things: the change must be visible when
 *     the system call returns) and sends them at once.
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

/* Drop the inode's cached attributes and data (or readdir results), now. */
void fs_notify_inode(struct fs_notify *n, uint64_t ino);

/* The same, from the notifier's thread (safe in any context). */
void fs_notify_inode_async(struct fs_notify *n, uint64_t ino);

/* Queue the removal of entry `name` from directory `parent`. */
void fs_notify_entry(struct fs_notify *n, uint64_t parent, const char *name);

/* Wait until every queued entry invalidation was sent, or until deadline_ms
 * (isotime_mono_ms): a caller that holds a directory's lock (a setattr of the
 * mount's root holds the root's) must bound its wait, since an invalidation
 * in that directory waits for the lock.  Returns 0 or -ETIMEDOUT. */
int fs_notify_flush(struct fs_notify *n, int64_t deadline_ms);

/* Stop the thread (pending items are dropped) and free.  NULL-safe. */
void fs_notify_free(struct fs_notify *n);

#endif

/*
 * fs_live — folders that update themselves in file managers.
 *
 * FUSE gives inotify watchers no events for changes that come from the
 * server: the kernel raises them only for operations that pass through it.
 * So rcfs performs those operations on its own mount, from a thread of its
 * own, and its handlers recognise that thread (the request's pid is the
 * calling thread's id) and answer from the index without the server:
 *   - a new entry (message folder, conversation folder): mkdir -> IN_CREATE;
 *   - a new link (conversation member, Unread/ entry): symlink -> IN_CREATE;
 *   - a changed message (read status elsewhere): setxattr of a private
 *     name -> IN_ATTRIB;
 *   - an entry gone (deleted elsewhere, moved to Deleted/, read): rmdir or
 *     unlink -> IN_DELETE (the kernel's own delete notification drops the
 *     entry but tells only watchers of the entry itself).
 * Before creating, the thread drops the kernel's cached entry and marks the
 * name pending, so the kernel's lookup finds it missing and sends the
 * mkdir or symlink; before removing, it marks the name pending with the
 * inode it was, so the lookup finds it there and the rmdir or unlink
 * reaches us (and is answered without touching the mailbox).  Requests are queued (bounded: past
 * LIVE_QUEUE_MAX the oldest are dropped; listings stay right, only an event
 * is lost) and served in order; nothing here ever runs in a FUSE worker,
 * and nothing here talks to the server.
 */
#ifndef RCFS_FS_LIVE_H
#define RCFS_FS_LIVE_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

/* Most operations waiting. */
#define LIVE_QUEUE_MAX 4096

/* The private attribute name the IN_ATTRIB trick sets (accepted from the
 * live thread only). */
#define LIVE_XATTR "user.rc.live"

struct fs_live;

/* A live notifier (no thread yet).  Never fails. */
struct fs_live *fs_live_new(void);

/* Start the thread for session se mounted on mountpoint.  Returns 0 or -errno. */
int fs_live_start(struct fs_live *l, struct fuse_session *se, const char *mountpoint);

/* Stop the thread (pending operations are dropped).  Idempotent. */
void fs_live_stop(struct fs_live *l);

/* Free (stopping first).  NULL-safe. */
void fs_live_free(struct fs_live *l);

/* Queue: create directory `path` (relative to the mount root) whose last
 * component `name` lives in the directory of inode parent. */
void fs_live_mkdir(struct fs_live *l, uint64_t parent, const char *path, const char *name);

/* Queue: create link `path` (-> target), name in directory parent. */
void fs_live_symlink(struct fs_live *l, uint64_t parent, const char *path, const char *name,
                     const char *target);

/* Queue: remove entry `path` (name in directory parent), which was inode
 * child: a directory (dir true, rmdir) or a link (unlink). */
void fs_live_remove(struct fs_live *l, uint64_t parent, const char *path, const char *name,
                    uint64_t child, bool dir);

/* Queue: touch the attributes of `path` (a directory) so watchers see IN_ATTRIB. */
void fs_live_attrib(struct fs_live *l, const char *path);

/* True when req comes from the live thread (NULL l: false). */
bool fs_live_own(const struct fs_live *l, fuse_req_t req);

/* True when req comes from the live thread and (parent, name) is the entry
 * it is creating (*child = 0: the lookup must find nothing) or removing
 * (*child = the inode the entry was: the lookup must find it). */
bool fs_live_pending(struct fs_live *l, fuse_req_t req, uint64_t parent, const char *name,
                     uint64_t *child);

#endif

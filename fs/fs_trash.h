/*
 * fs_trash — the desktop's Trash (freedesktop Trash specification 1.0, as
 * GLib/gvfs, KIO and the file managers use it) as a view of Deleted/.
 *
 * MOUNT/.Trash-UID (UID: the owner the mount shows, so only that user's
 * desktop finds it) answers lookups but is not listed in the root, so
 * `grep -r`, `find` and `rsync` still see each deleted message once:
 *   files/NAME            every message of Deleted/ of every shown extension
 *                         (the same message folder, seen from here)
 *   info/NAME.trashinfo   generated from the record: Path=EXT/TYPE/NAME (where
 *                         a restore puts it back), DeletionDate= its
 *                         lastModifiedTime
 *   expunged/             always empty (gvfs empties the Trash through it)
 * What the desktop does, and what it means here:
 *   create/write/rename in info/  kept in memory (fs_scratch) for the move
 *                                 into files/ that follows, which replaces it
 *                                 with the generated file
 *   rename X -> files/NAME        X to the server's trash, as `rm` does (one
 *                                 DELETE): X a message folder, a file in one,
 *                                 a link in Unread/ or in a conversation, or a
 *                                 whole conversation folder (one request)
 *   rename files/NAME -> Path     restore (one request)
 *   rename files/NAME -> expunged/N, rm -r files/NAME
 *                                 purge, under the rules of removing inside
 *                                 Deleted/ (EPERM without -o purge)
 * The handlers in fs_*.c call in here for every FS_TRASH node and for the
 * renames that touch one.
 */
#ifndef RCFS_FS_TRASH_H
#define RCFS_FS_TRASH_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct fs;
struct fs_node;
struct fs_trash;

/* The Trash of a mount whose files belong to uid.  Never fails. */
struct fs_trash *fs_trash_new(uid_t uid);

/* Free (pending scratch files are dropped).  NULL-safe. */
void fs_trash_free(struct fs_trash *t);

/* True when `name` in the mount's root is the Trash folder (.Trash-UID). */
bool fs_trash_is_top(struct fs_trash *t, const char *name);

/*
 * Resolve `name` inside Trash folder p (p->kind == FS_TRASH) into c: a
 * Trash node, or for files/NAME the message folder (FS_MSG, MB_VIEW_TRASH).
 * Returns 0, -ENOENT, -ENOTDIR, or -EIO when Deleted/ cannot be listed.
 */
int fs_trash_resolve(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                     struct fs_node *c);

/* The attributes of Trash node n.  Returns 0 or -ENOENT (gone). */
int fs_trash_attr(struct fs *fs, const struct fs_node *n, struct stat *st);

/* How long the kernel may keep the entry of Trash node n (seconds): what
 * rcfs invalidates itself keeps fs->timeout, scratch files none. */
double fs_trash_entry_timeout(struct fs *fs, const struct fs_node *n);

/* The entries of a Trash folder, sorted by name. */
struct fs_trash_listing {
    uint32_t n;
    char **names;          /* owned */
    struct fs_node *nodes; /* owned */
};

/* List Trash folder n.  Returns 0 and *out (free with
 * fs_trash_listing_free), -ENOTDIR, or -EIO when Deleted/ cannot be listed. */
int fs_trash_list(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                  struct fs_trash_listing *out);

/* Free a listing.  NULL-safe, idempotent. */
void fs_trash_listing_free(struct fs_trash_listing *l);

/* Opening Trash file n with flags: 0 (info files read-only, scratch files
 * any way; O_TRUNC empties a scratch file), -EACCES, -EISDIR, -ENOENT. */
int fs_trash_open(struct fs *fs, const struct fs_node *n, int flags);

/* Reply to a read of Trash file n. */
void fs_trash_read(struct fs *fs, fuse_req_t req, const struct fs_node *n, size_t size, off_t off);

/* Write to Trash file n: bytes written, or -EACCES (not a scratch file),
 * -EFBIG, -ENOENT. */
ssize_t fs_trash_write(struct fs *fs, const struct fs_node *n, const char *buf, size_t size,
                       off_t off);

/* setattr of Trash node n: a scratch file takes a size (its mode and times
 * are accepted and ignored); anything else -EACCES.  Fills *st after. */
int fs_trash_setattr(struct fs *fs, const struct fs_node *n, const struct stat *attr, int to_set,
                     struct stat *st);

/* Create file `name` in Trash folder p (info/ only: a scratch file).
 * Returns 0 and *e, -EEXIST, -EACCES elsewhere, -ENOSPC, -ENAMETOOLONG. */
int fs_trash_create(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                    struct fuse_entry_param *e);

/* unlink `name` in Trash folder p: a scratch file goes; a generated info
 * file is -EPERM (it goes when its message leaves the Trash). */
int fs_trash_unlink(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name);

/* rmdir of files/NAME: purge the message under the purge rules (-EPERM
 * without -o purge, -EBUSY within MB_PURGE_HOLD_MS of this mount trashing
 * it); anything else in the Trash -EACCES. */
int fs_trash_rmdir(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name);

/* A rename where p (source folder) or q (target folder) is a Trash node; see
 * the header comment.  Returns 0 or -errno (nothing changed on error). */
int fs_trash_rename(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                    const struct fs_node *q, const char *newname);

/* ---- mailbox changes (fs_events.c) ---------------------------------------- */

/* Deleted/ of some extension changed: drop the listings of files/ and info/. */
void fs_trash_folder_changed(struct fs *fs, bool in_change);

/* Message `name` (slot) entered (gone false) or left Deleted/: the kernel
 * forgets files/NAME and info/NAME.trashinfo, and watchers of files/ see
 * IN_CREATE / IN_DELETE unless a Trash operation of this request did it. */
void fs_trash_entry(struct fs *fs, const char *name, uint32_t slot, bool gone);

/* Message slot changed: drop what the kernel keeps of it in the Trash. */
void fs_trash_message_changed(struct fs *fs, uint32_t slot, bool in_change);

#endif

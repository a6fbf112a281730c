/*
 * fs_outbox — the Outbox's side of the FUSE handlers: the nodes of
 * EXT/Outbox/ (fs_ino kind FS_OUTBOX) and every operation on them.  The
 * shared handlers (lookup, readdir, getattr, open, read, write, flush,
 * setattr, mkdir, create, unlink, rmdir, rename, xattrs) hand an Outbox
 * node over here and nothing else; what the Outbox means is the mailbox's
 * (mailbox/mb_outbox.h).
 *
 * Files are opened for real (create, and open where the kernel still sends
 * it), but no per-open state is kept: everything is per file (its inode),
 * because once a message file answered open with ENOSYS the kernel sends no
 * open or release again, and writes and flushes then come without a handle.
 * A close is a FUSE flush: a file is committed there, unless the closing
 * process is exiting (killed, or ended without closing: PF_EXITING in
 * /proc/PID/stat), which never sends.  Included by fs_internal.h.
 */
#ifndef RCFS_FS_OUTBOX_H
#define RCFS_FS_OUTBOX_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs/fs_ino.h"
#include "mailbox/mb.h"

struct fs;

/* The node of extension ext's Outbox/ into *out: true when ext has one. */
bool fs_outbox_at_ext(struct fs *fs, uint32_t ext, struct fs_node *out);

/* The node of a listing entry. */
struct fs_node fs_outbox_node(const struct mb_obx_entry *e);

/* True for an Outbox node that is a file (not a folder). */
bool fs_outbox_is_file(const struct fs_node *n);

/* Find name in Outbox folder p: 0 and *c, or -ENOENT / -ENOTDIR. */
int fs_outbox_resolve(struct fs *fs, const struct fs_node *p, const char *name, struct fs_node *c);

/* Attributes of Outbox node n: 0, -ENOENT, or -EAGAIN when the size of
 * cover-pages.txt is not known yet (fs_outbox_attr_learning learns it). */
int fs_outbox_attr(struct fs *fs, const struct fs_node *n, struct stat *st);

/* The same, fetching cover-pages.txt first when needed (one request). */
int fs_outbox_attr_learning(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                            struct stat *st);

/* The handlers, for an Outbox node n (the parent for the name-based ones);
 * each replies. */
void fs_outbox_mkdir(fuse_req_t req, const struct fs_node *p, const char *name);
void fs_outbox_create(fuse_req_t req, const struct fs_node *p, const char *name,
                      struct fuse_file_info *fi);
void fs_outbox_open(fuse_req_t req, const struct fs_node *n, struct fuse_file_info *fi);
void fs_outbox_read(fuse_req_t req, const struct fs_node *n, size_t size, off_t off);
void fs_outbox_write(fuse_req_t req, const struct fs_node *n, const char *buf, size_t size,
                     off_t off);
void fs_outbox_flush(fuse_req_t req, const struct fs_node *n);
void fs_outbox_setattr(fuse_req_t req, const struct fs_node *n, struct stat *attr, int to_set);
void fs_outbox_unlink(fuse_req_t req, const struct fs_node *p, const char *name);
void fs_outbox_rmdir(fuse_req_t req, const struct fs_node *p, const char *name);
void fs_outbox_rename(fuse_req_t req, const struct fs_node *p, const char *name,
                      const struct fs_node *q, const char *newname, unsigned int flags);
void fs_outbox_getxattr(fuse_req_t req, const struct fs_node *n, const char *name, size_t size);
void fs_outbox_listxattr(fuse_req_t req, const struct fs_node *n, size_t size);
void fs_outbox_setxattr(fuse_req_t req, const struct fs_node *n, const char *name,
                        const char *value, size_t size);
void fs_outbox_removexattr(fuse_req_t req, const struct fs_node *n, const char *name);

/* The mailbox's outbox_gone event: a sent file left folder rcpt. */
void fs_outbox_gone(void *ctx, uint32_t rcpt, const char *name);

#endif

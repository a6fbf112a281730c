/*
 * fs_internal — state shared by the FUSE handlers in fs/fs_*.c.
 *
 * One struct fs per mount, given to libfuse as userdata.  The handlers
 * translate inode numbers (fs_ino) into mailbox calls (mb) and mailbox
 * results into replies; they talk to mailbox/ only (never to api/ or
 * cache/), and never speak HTTP or parse JSON.
 *
 * Files:
 *   fs_ops.c     the handler table, init, getattr, readlink, statfs, access
 *   fs_lookup.c  lookup and the negative-entry rules
 *   fs_attr.c    attributes (modes, owners, sizes, times)
 *   fs_who.c     who is asking: the call context, thumbnailer recognition
 *   fs_dir.c     directory listings       fs_file.c  file content
 *   fs_write.c   changes (unlink, rmdir, rename, setattr)
 *   fs_xattr.c   extended attributes      fs_events.c mailbox changes -> kernel
 *   fs_notify.c  the kernel invalidation queue    fs_lru.c  handle-less caches
 *   fs_trash.c   the desktop Trash (.Trash-UID) as a view of Deleted/
 *   fs_outbox.c  everything under EXT/Outbox/ (fs_outbox.h)
 */
#ifndef RCFS_FS_INTERNAL_H
#define RCFS_FS_INTERNAL_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fs/fs_desknote.h"
#include "fs/fs_ino.h"
#include "fs/fs_live.h"
#include "fs/fs_lru.h"
#include "fs/fs_notify.h"
#include "fs/fs_trash.h"
#include "mailbox/mb.h"
#include "fs/fs_outbox.h"

struct fs {
    struct mb *mb;                /* the mailbox */
    struct fs_notify *notify;     /* kernel invalidations */
    struct fs_live *live;         /* inotify events for changes from the server */
    struct fs_desknote *desknote; /* desktop notifications (-o notify), or NULL */
    struct fs_trash *trash;       /* the desktop Trash's view of Deleted/ */
    uid_t uid;                    /* owner shown for every file */
    gid_t gid;                    /* group shown for every file */
    mode_t file_mode;             /* permission bits of files (0600 unless widened) */
    mode_t dir_mode;              /* permission bits of folders (0700 unless widened) */
    int64_t base_ms;              /* mtime of folders that are not messages */
    double timeout;               /* entry/attr timeout for what rcfs invalidates itself */
    bool no_thumbnails;           /* refuse downloads for known thumbnailers */
    int call_timeout_s;           /* bound of one system call's server work */
    bool no_open;                 /* the kernel does zero-message opens (set at init) */
    bool no_opendir;              /* and zero-message opendirs */
    struct fs_lru *files;         /* open attachments for handle-less reads (fs_file.c) */
    struct fs_lru *dirs;          /* listings for handle-less readdir (fs_dir.c) */
};

/* The handler table (fs_ops.c). */
extern const struct fuse_lowlevel_ops fs_ops;

/* ---- fs_attr.c ---------------------------------------------------------- */

/* Fill st for node n (message info already fetched when n is a message
 * node; info may be NULL otherwise).  Returns 0, -ENOENT, or -EAGAIN when
 * the size of an attachment is not known yet. */
int fs_fill_attr(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                 struct stat *st);

/* fs_fill_attr, learning an unknown attachment size first (one request;
 * refused with -EACCES for a thumbnailer when thumbnails are off), and for
 * meta.json, refreshing a record this mount's DELETE made stale. */
int fs_attr_learning(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                     struct mb_msg_info *info, struct stat *st);

/* The target of a link: "../../<Type>/<message folder>" in a conversation
 * folder, "../<Type>/<message folder>" in Unread/. */
size_t fs_link_target(const struct fs_node *node, const struct mb_msg_info *info, char *buf,
                      size_t cap);

/* True for the nodes that stand for a message (their state is mb_msg_info). */
static inline bool fs_is_msg_node(const struct fs_node *n)
{
    return n->kind == FS_MSG || n->kind == FS_LINK || n->kind == FS_ULINK;
}

/* The file type (S_IFDIR, S_IFREG, S_IFLNK) of node n. */
mode_t fs_node_type(const struct fs_node *n);

/* The folder a message node's view stands for (its type folder, or Deleted/
 * for the views from Deleted/ and from the desktop Trash). */
int fs_view_folder(const struct mb_msg_info *info, int view);

/* ---- fs_who.c ----------------------------------------------------------- */

/* The mailbox call context of a request: deadline from now, priority from
 * the requesting process (thumbnailers run in the background), who asked. */
struct mb_call fs_call(struct fs *fs, fuse_req_t req);

/* The same with USER priority: a person waits for every change. */
struct mb_call fs_user_call(struct fs *fs, fuse_req_t req);

/* True when the requesting process is a known thumbnailer. */
bool fs_req_is_thumbnailer(fuse_req_t req);

/* Reply with -rc mapped onto the errno values rcfs promises (EIO otherwise). */
void fs_reply_err(fuse_req_t req, int rc);

/* ---- handlers in other files ----------------------------------------------- */

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);

/* The entry for name in parent, as a lookup answers it (the live thread's
 * mkdir and symlink reply with it).  Returns 0 and *e, -ENOENT or -errno. */
int fs_lookup_entry(struct fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name,
                    struct fuse_entry_param *e);

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                 int flags);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* Directories (fs_dir.c). */
struct fs_lru *fs_dirs_new(void);
void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* Files (fs_file.c).  fs_files_new: the open-attachment table of fs. */
struct fs_lru *fs_files_new(struct fs *fs);
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* Changing handlers (fs_write.c). */
void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                struct fuse_file_info *fi);

/* ---- fs_text.c: fax.txt ------------------------------------------------------ */

/* The OCR helper rcfs runs: $RCFS_OCR_HELPER when set, else the installed one. */
const char *fs_text_helper(void);

/* Attributes of fax.txt (node n of a message with info): -ENOENT when it
 * is not shown there, -EAGAIN while its size is not known (no I/O). */
int fs_text_attr(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                 struct stat *st);

/* Open fax.txt of slot for reading, making the text if needed (refused
 * with -EACCES for a thumbnailer when thumbnails are off and it is not
 * made yet).  Returns 0 and *out (release with mb_att_close) or -errno. */
int fs_text_open(struct fs *fs, fuse_req_t req, uint32_t slot, struct mb_open_att *out);

/* ---- fs_events.c ----------------------------------------------------------- */

/* Bracket a handler that changes the mailbox: its kernel invalidations are
 * sent before it replies. */
void fs_change_begin(void);
void fs_change_end(void);

/* Mailbox change hooks that notify the kernel. */
struct mb_events fs_events(struct fs *fs);

/* `touch MOUNT` / user.rc.refresh: sync now and wait (bounded by the call
 * timeout), then let the sync's invalidations land.  Returns 0 or -EIO. */
int fs_refresh(struct fs *fs);

#endif

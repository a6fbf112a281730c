/*
 * fs_internal — state shared by the FUSE handlers in fs/fs_*.c.
 *
 * One struct fs per mount, given to libfuse as userdata.  The handlers
 * translate inode numbers (fs_ino) into mailbox calls (mb) and mailbox
 * results into replies; they never speak HTTP or parse JSON.
 */
#ifndef RCFS_FS_INTERNAL_H
#define RCFS_FS_INTERNAL_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fs/fs_ino.h"
#include "fs/fs_notify.h"
#include "mailbox/mb.h"

struct fs {
    struct mb *mb;            /* the mailbox */
    struct fs_notify *notify; /* kernel invalidations */
    uid_t uid;                /* owner shown for every file */
    gid_t gid;
    int64_t base_ms;          /* mtime of folders that are not messages */
    double timeout;           /* entry/attr timeout for what rcfs invalidates itself */
    bool no_thumbnails;       /* refuse downloads for known thumbnailers */
    int call_timeout_s;       /* bound of one system call's server work */
    bool no_open;             /* the kernel does zero-message opens (set at init) */
    bool no_opendir;          /* and zero-message opendirs */
    struct fs_fcache *fcache; /* open attachments for handle-less reads (fs_file.c) */
    struct fs_dcache *dcache; /* listings for handle-less readdir (fs_dir.c) */
};

/* The handler table (fs_ops.c). */
extern const struct fuse_lowlevel_ops fs_ops;

/* Fill st for node n (message info already fetched when n is a message
 * node; info may be NULL otherwise).  Returns 0, or -errno when the size of
 * an attachment is not known and cannot be learned now. */
int fs_fill_attr(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                 struct stat *st);

/* The api call context for a request: deadline from now, priority from the
 * requesting process (thumbnailers run in the background). */
struct api_call fs_call(struct fs *fs, fuse_req_t req);

/* True when the requesting process is a known thumbnailer. */
bool fs_req_is_thumbnailer(fuse_req_t req);

/* Reply with -rc mapped onto the errno values rcfs promises (EIO otherwise). */
void fs_reply_err(fuse_req_t req, int rc);

/* The folder a message node's view stands for (its type folder or Deleted). */
int fs_view_folder(const struct mb_msg_info *info, int view);

/* xattr handlers (fs_xattr.c). */
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                 int flags);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* Directories (fs_dir.c). */
struct fs_dcache *fs_dcache_new(void);
void fs_dcache_free(struct fs_dcache *c);
void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* Files (fs_file.c). */
struct fs_fcache *fs_fcache_new(void);
void fs_fcache_free(struct fs *fs);
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* Changing handlers (fs_write.c). */
void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                struct fuse_file_info *fi);

/* Bracket a handler that changes the mailbox: its kernel invalidations are
 * sent before it replies (fs_ops.c). */
void fs_change_begin(void);
void fs_change_end(void);

/* Mailbox change hooks that notify the kernel (fs_ops.c). */
struct mb_events fs_events(struct fs *fs);

#endif

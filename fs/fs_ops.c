/*
 * fs_ops — the handler table and the small handlers: init, getattr,
 * readlink, statfs, access, forget, and the refusals (mkdir, mknod, create,
 * symlink, link; new files only in the desktop Trash's info/ and, with
 * mkdir, in the Outbox (fs_outbox.c)).  Lookup, listings, content, changes
 * and xattrs have files of their own (see fs_internal.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/fs_internal.h"

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    /* Inode numbers are computed, not allocated: nothing to release. */
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    struct stat st;
    int rc = 0;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (fs_is_msg_node(&n))
        rc = mb_msg_info(fs->mb, n.slot, &info);
    if (rc == 0)
        rc = fs_attr_learning(fs, req, &n, &info, &st);
    if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_attr(req, &st, fs->timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    char target[2 * MBNAME_MAX + 16];
    if (!fs_ino_parse(ino, &n) || (n.kind != FS_LINK && n.kind != FS_ULINK)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    int rc = mb_msg_info(fs->mb, n.slot, &info);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    fs_link_target(&n, &info, target, sizeof target);
    fuse_reply_readlink(req, target);
}

/* The cache folder's file system: what a copy into the mount could use,
 * so df and file managers never see the mount as full. */
static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct statvfs v;
    struct mb_stats s;
    if (mb_cache_statfs(fs->mb, &v) < 0)
        memset(&v, 0, sizeof v);
    mb_get_stats(fs->mb, &s);
    v.f_files = (fsfilcnt_t)s.messages + v.f_ffree;
    v.f_namemax = 255;
    v.f_flag = 0;
    v.f_fsid = 0;
    fuse_reply_statfs(req, &v);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct fs_node n;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    bool is_file = (n.kind == FS_MSG && n.sub != FS_SUB_DIR) || fs_outbox_is_file(&n);
    /* Writing content is refused at write; answering W_OK keeps `rm` from
     * asking about "write-protected" files one by one. */
    fuse_reply_err(req, (mask & X_OK) && is_file ? EACCES : 0);
}

static void op_refuse(fuse_req_t req)
{
    fuse_reply_err(req, EACCES);
}

/* The live thread's mkdir or symlink (fs_live.c): the entry exists in the
 * index already; answering it makes the kernel raise IN_CREATE. */
static void live_create(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_entry_param e;
    int rc = fs_lookup_entry(fs_of(req), req, parent, name, &e);
    if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_entry(req, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct fs_node p;
    if (fs_live_own(fs_of(req)->live, req))
        live_create(req, parent, name);
    else if (fs_ino_parse(parent, &p) && p.kind == FS_OUTBOX)
        fs_outbox_mkdir(req, &p, name);
    else
        op_refuse(req);
}

/* A new file: only the desktop Trash's info/ takes one here (fs_trash.c). */
static int trash_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                        struct fuse_entry_param *e)
{
    struct fs_node p;
    if (!fs_ino_parse(parent, &p))
        return -ENOENT;
    if (p.kind != FS_TRASH)
        return -EACCES;
    return fs_trash_create(fs_of(req), req, &p, name, e);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    struct fuse_entry_param e;
    int rc = S_ISREG(mode) ? trash_create(req, parent, name, &e) : -EACCES;
    if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_entry(req, &e);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    struct fs_node p;
    if (fs_ino_parse(parent, &p) && p.kind == FS_OUTBOX) {
        fs_outbox_create(req, &p, name, fi);
        return;
    }
    struct fuse_entry_param e;
    int rc = trash_create(req, parent, name, &e);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    fi->fh = 0;
    fi->direct_io = 1;
    fuse_reply_create(req, &e, fi);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    if (fs_live_own(fs_of(req)->live, req))
        live_create(req, parent, name);
    else
        op_refuse(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    op_refuse(req);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    struct fs *fs = userdata;
    /* Zero-message open and opendir: the kernel keeps pages and readdir
     * results by default and stops asking; rcfs invalidates them itself. */
    fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
    fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
    /* No POSIX ACLs: getxattr answers ENOTSUP for them (fs_xattr.c). */
    conn->want &= ~FUSE_CAP_POSIX_ACL;
    /* readdirplus everywhere: listings carry attributes, saving lookups. */
    if (conn->capable & FUSE_CAP_READDIRPLUS) {
        conn->want |= FUSE_CAP_READDIRPLUS;
        conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    }
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
        conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    /* Page cache is dropped only when rcfs says so (meta.json changes). */
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
        conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    /* O_TRUNC as a setattr of the size, always: with zero-message open the
     * kernel would otherwise drop an atomic O_TRUNC of an Outbox file. */
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    conn->max_readahead = 1 << 20;
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = fs_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = fs_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = op_symlink,
    .rename = fs_rename,
    .link = op_link,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .release = fs_release,
    .flush = fs_flush,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .releasedir = fs_releasedir,
    .statfs = op_statfs,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .access = op_access,
    .create = op_create,
};

/* fs_outbox — the Outbox's FUSE handlers (see fs_outbox.h). */
#include "fs/fs_outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/fs_internal.h"
#include "util/log.h"
#include "util/mem.h"

/* The kernel's PF_EXITING task flag (include/linux/sched.h): set from the
 * start of a process's exit, so a close it makes then is not its own. */
#define PF_EXITING_FLAG 0x4u

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

bool fs_outbox_at_ext(struct fs *fs, uint32_t ext, struct fs_node *out)
{
    uint32_t own;
    if (!mb_outbox_ext(fs->mb, &own) || own != ext)
        return false;
    *out = (struct fs_node){.kind = FS_OUTBOX, .obx = MB_OBX_ROOT};
    return true;
}

struct fs_node fs_outbox_node(const struct mb_obx_entry *e)
{
    return (struct fs_node){.kind = FS_OUTBOX, .obx = e->kind, .obx_id = e->id};
}

bool fs_outbox_is_file(const struct fs_node *n)
{
    return n->kind == FS_OUTBOX && (n->obx == MB_OBX_ITEM || n->obx == MB_OBX_COVERS);
}

int fs_outbox_resolve(struct fs *fs, const struct fs_node *p, const char *name, struct fs_node *c)
{
    int kind;
    uint32_t id;
    int rc = mb_outbox_lookup(fs->mb, p->obx, p->obx_id, name, &kind, &id);
    if (rc == 0)
        *c = (struct fs_node){.kind = FS_OUTBOX, .obx = kind, .obx_id = id};
    return rc;
}

int fs_outbox_attr(struct fs *fs, const struct fs_node *n, struct stat *st)
{
    struct mb_obx_info info;
    int rc = mb_outbox_info(fs->mb, n->obx, n->obx_id, &info);
    if (rc < 0)
        return rc;
    int64_t ms = info.mtime_ms ? info.mtime_ms : fs->base_ms;
    memset(st, 0, sizeof *st);
    st->st_ino = fs_ino_make(n);
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_blksize = 4096;
    st->st_mtim.tv_sec = ms / 1000;
    st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
    if (info.is_dir) {
        st->st_mode = S_IFDIR | fs->dir_mode;
        st->st_nlink = 1; /* as other folders: find never skips by link count */
        return 0;
    }
    if (info.size < 0)
        return -EAGAIN;
    st->st_mode = S_IFREG | fs->file_mode;
    st->st_nlink = 1;
    st->st_size = info.size;
    st->st_blocks = (info.size + 511) / 512;
    return 0;
}

int fs_outbox_attr_learning(struct fs *fs, fuse_req_t req, const struct fs_node *n, struct stat *st)
{
    int rc = fs_outbox_attr(fs, n, st);
    if (rc != -EAGAIN)
        return rc;
    struct mb_call c = fs_user_call(fs, req);
    char *text;
    size_t len;
    rc = mb_outbox_covers(fs->mb, &c, &text, &len);
    if (rc < 0)
        return rc;
    free(text);
    return fs_outbox_attr(fs, n, st);
}

/* Reply with the entry of node c (just made or found). */
static void reply_entry(fuse_req_t req, const struct fs_node *c, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fuse_entry_param e = {0};
    int rc = fs_outbox_attr(fs, c, &e.attr);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    e.ino = fs_ino_make(c);
    e.attr_timeout = fs->timeout;
    e.entry_timeout = fs->timeout;
    if (fi)
        fuse_reply_create(req, &e, fi);
    else
        fuse_reply_entry(req, &e);
}

void fs_outbox_mkdir(fuse_req_t req, const struct fs_node *p, const char *name)
{
    struct fs *fs = fs_of(req);
    uint32_t id;
    if (p->obx != MB_OBX_TYPE) {
        fuse_reply_err(req, EACCES);
        return;
    }
    int rc = mb_outbox_mkdir(fs->mb, p->obx_id, name, &id);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    struct fs_node c = {.kind = FS_OUTBOX, .obx = MB_OBX_RCPT, .obx_id = id};
    reply_entry(req, &c, NULL);
}

void fs_outbox_create(fuse_req_t req, const struct fs_node *p, const char *name,
                      struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    uint32_t id;
    if (p->obx != MB_OBX_RCPT) {
        fuse_reply_err(req, EACCES);
        return;
    }
    int rc = mb_outbox_create(fs->mb, p->obx_id, name, &id);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    struct fs_node c = {.kind = FS_OUTBOX, .obx = MB_OBX_ITEM, .obx_id = id};
    fi->fh = 0; /* no per-open state: see fs_outbox.h */
    fi->keep_cache = 0;
    fi->direct_io = 0;
    reply_entry(req, &c, fi);
}

void fs_outbox_open(fuse_req_t req, const struct fs_node *n, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    bool write = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
    int rc;
    if (!fs_outbox_is_file(n))
        rc = -EISDIR;
    else if (n->obx == MB_OBX_COVERS)
        rc = write ? -EACCES : 0;
    else
        rc = mb_outbox_open(fs->mb, n->obx_id, write);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    fi->fh = 0;
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
}

void fs_outbox_read(fuse_req_t req, const struct fs_node *n, size_t size, off_t off)
{
    struct fs *fs = fs_of(req);
    if (off < 0 || !fs_outbox_is_file(n)) {
        fuse_reply_err(req, off < 0 ? EINVAL : EISDIR);
        return;
    }
    if (n->obx == MB_OBX_COVERS) {
        struct mb_call c = fs_user_call(fs, req);
        char *text;
        size_t len;
        int rc = mb_outbox_covers(fs->mb, &c, &text, &len);
        if (rc < 0) {
            fs_reply_err(req, rc);
            return;
        }
        size_t from = (uint64_t)off < len ? (size_t)off : len;
        fuse_reply_buf(req, text + from, size < len - from ? size : len - from);
        free(text);
        return;
    }
    char *buf = mem_alloc(size ? size : 1);
    ssize_t got = mb_outbox_read(fs->mb, n->obx_id, buf, size, off);
    if (got < 0)
        fs_reply_err(req, (int)got);
    else
        fuse_reply_buf(req, buf, (size_t)got);
    free(buf);
}

/* The process (thread group) of the thread that asked: the kernel names
 * the thread, and a program may write from one thread and close from
 * another.  Its own id when /proc does not say (another pid namespace). */
static pid_t caller_process(fuse_req_t req)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    char path[64], line[128];
    pid_t tgid = ctx ? ctx->pid : 0;
    if (tgid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)tgid);
    FILE *f = fopen(path, "re");
    if (!f)
        return tgid;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Tgid: %d", &tgid) == 1)
            break;
    fclose(f);
    return tgid;
}

void fs_outbox_write(fuse_req_t req, const struct fs_node *n, const char *buf, size_t size,
                     off_t off)
{
    struct fs *fs = fs_of(req);
    if (n->obx != MB_OBX_ITEM) {
        fuse_reply_err(req, n->obx == MB_OBX_COVERS ? EACCES : EISDIR);
        return;
    }
    ssize_t rc = mb_outbox_write(fs->mb, n->obx_id, buf, size, off, caller_process(req));
    if (rc < 0)
        fs_reply_err(req, (int)rc);
    else
        fuse_reply_write(req, (size_t)rc);
}

/* Is the process that asked exiting (its close is the kernel's cleanup,
 * not a close of its own)?  Reads /proc/PID/stat: field 9 is the task's
 * flags, counted after the ')' that ends the command name. */
static bool caller_exiting(fuse_req_t req)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    char path[64], buf[1024];
    if (!ctx || ctx->pid <= 0)
        return false;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)ctx->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long flags = 0;
    /* state ppid pgrp session tty_nr tpgid flags */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
        return false;
    return (flags & PF_EXITING_FLAG) != 0;
}

void fs_outbox_flush(fuse_req_t req, const struct fs_node *n)
{
    struct fs *fs = fs_of(req);
    if (n->obx != MB_OBX_ITEM) {
        fuse_reply_err(req, 0);
        return;
    }
    bool exiting = caller_exiting(req);
    fs_reply_err(req, mb_outbox_flush(fs->mb, n->obx_id, caller_process(req), exiting));
}

void fs_outbox_setattr(fuse_req_t req, const struct fs_node *n, struct stat *attr, int to_set)
{
    struct fs *fs = fs_of(req);
    int rc = 0;
    if (to_set & FUSE_SET_ATTR_SIZE)
        rc = n->obx == MB_OBX_ITEM ? mb_outbox_truncate(fs->mb, n->obx_id, (uint64_t)attr->st_size,
                                                        caller_process(req))
                                   : -EACCES;
    /* Modes, owners and times are the mount's: a copy that sets them
     * (cp -p, a file manager) is not refused for it. */
    struct stat st;
    if (rc == 0)
        rc = fs_outbox_attr(fs, n, &st);
    if (rc < 0)
        fs_reply_err(req, rc == -EAGAIN ? -EACCES : rc);
    else
        fuse_reply_attr(req, &st, fs->timeout);
}

void fs_outbox_unlink(fuse_req_t req, const struct fs_node *p, const char *name)
{
    struct fs *fs = fs_of(req);
    if (p->obx != MB_OBX_RCPT) {
        fuse_reply_err(req, EACCES);
        return;
    }
    fs_reply_err(req, mb_outbox_unlink(fs->mb, p->obx_id, name));
}

void fs_outbox_rmdir(fuse_req_t req, const struct fs_node *p, const char *name)
{
    struct fs *fs = fs_of(req);
    if (p->obx != MB_OBX_TYPE) {
        fuse_reply_err(req, p->obx == MB_OBX_RCPT ? ENOTDIR : EACCES);
        return;
    }
    fs_reply_err(req, mb_outbox_rmdir(fs->mb, p->obx_id, name));
}

void fs_outbox_rename(fuse_req_t req, const struct fs_node *p, const char *name,
                      const struct fs_node *q, const char *newname, unsigned int flags)
{
    struct fs *fs = fs_of(req);
    int rc;
    if (p->kind != FS_OUTBOX || q->kind != FS_OUTBOX)
        rc = -EXDEV;
    else if (flags & ~(unsigned)RENAME_NOREPLACE)
        rc = -EINVAL;
    else if (p->obx != MB_OBX_RCPT || q->obx != MB_OBX_RCPT)
        rc = -EACCES;
    else
        rc = mb_outbox_rename(fs->mb, p->obx_id, name, q->obx_id, newname,
                              (flags & RENAME_NOREPLACE) != 0);
    fs_reply_err(req, rc);
}

void fs_outbox_getxattr(fuse_req_t req, const struct fs_node *n, const char *name, size_t size)
{
    struct fs *fs = fs_of(req);
    char *val;
    int rc = mb_outbox_getxattr(fs->mb, n->obx, n->obx_id, name, &val);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    size_t len = strlen(val);
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, val, len);
    free(val);
}

void fs_outbox_listxattr(fuse_req_t req, const struct fs_node *n, size_t size)
{
    struct fs *fs = fs_of(req);
    char buf[256];
    size_t len = mb_outbox_listxattr(fs->mb, n->obx, n->obx_id, buf, sizeof buf);
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len || len > sizeof buf)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, buf, len);
}

void fs_outbox_setxattr(fuse_req_t req, const struct fs_node *n, const char *name,
                        const char *value, size_t size)
{
    struct fs *fs = fs_of(req);
    struct mb_call c = fs_user_call(fs, req);
    fs_reply_err(req, mb_outbox_setxattr(fs->mb, &c, n->obx, n->obx_id, name, value, size));
}

void fs_outbox_removexattr(fuse_req_t req, const struct fs_node *n, const char *name)
{
    struct fs *fs = fs_of(req);
    fs_reply_err(req, mb_outbox_removexattr(fs->mb, n->obx, n->obx_id, name));
}

void fs_outbox_gone(void *ctx, uint32_t rcpt, const char *name)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_OUTBOX, .obx = MB_OBX_RCPT, .obx_id = rcpt};
    fs_notify_inode_async(fs->notify, fs_ino_make(&n));
    fs_notify_entry(fs->notify, fs_ino_make(&n), name);
}

/*
 * fs_file — file content: open, read, release.
 *
 * Where the kernel supports it, open answers ENOSYS: the kernel then stops
 * sending open/release and keeps file pages by default (FOPEN_KEEP_CACHE),
 * so a warm `grep -r` costs no request at all.  Reads then arrive without a
 * handle and find their content by inode: meta.json from the record log,
 * attachments through a small table of open, verified cache files (or
 * in-memory text), filled on the first read of each (which downloads it if
 * needed).  Attachment content never changes for an attachment id, so the
 * table is keyed by it; meta.json pages are dropped by rcfs when the record
 * changes (fs_events).  Writing is refused: EACCES from open when the kernel
 * asks, else from write and truncate; only the desktop Trash's scratch
 * files (fs_trash.c) and the Outbox's (fs_outbox.c) take writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "util/log.h"
#include "util/mem.h"

/* Open attachments kept for handle-less reads.  Each pins its cache object. */
#define FCACHE_SLOTS 64

struct fent {
    struct fs_lru_ent lru;  /* key: (slot, attachment id), or (slot | 1 << 32,
                               generation) for fax.txt; must be first.  Content never
                               changes for an attachment id (nor its text for a
                               document). */
    struct mb_open_att att; /* fd or memory */
};

static void fent_destroy(void *ctx, struct fs_lru_ent *e)
{
    struct fs *fs = ctx;
    struct fent *f = (struct fent *)e;
    mb_att_close(fs->mb, &f->att);
    free(f);
}

struct fs_lru *fs_files_new(struct fs *fs)
{
    return fs_lru_new(FCACHE_SLOTS, fent_destroy, fs);
}

/* Open file sub of slot (attachment or fax.txt) for f (downloading it if
 * needed, except for a refused thumbnailer).  Returns 0 or -errno. */
static int open_att(struct fs *fs, fuse_req_t req, uint32_t slot, int sub, struct fent *f)
{
    if (sub == FS_SUB_TEXT)
        return fs_text_open(fs, req, slot, &f->att);
    uint32_t k = (uint32_t)(sub - FS_SUB_ATT0);
    struct mb_call call = fs_call(fs, req);
    if (fs->no_thumbnails && call.prio == MB_PRIO_BACKGROUND) {
        /* Serve thumbnailers only what is cached: they record a failed
         * thumbnail and stop asking, instead of draining the rate limit. */
        int rc = mb_att_open_cached(fs->mb, slot, k, &f->att);
        return rc == -ENOENT ? -EACCES : rc;
    }
    return mb_att_open(fs->mb, &call, slot, k, &f->att);
}

/* The open file behind (slot, sub): from the table, or opened now.
 * Returns a reference (release with fs_lru_release), or -errno. */
static int fcache_get(struct fs *fs, fuse_req_t req, uint32_t slot, int sub, struct fent **out)
{
    struct mb_msg_info info;
    int rc = mb_msg_info(fs->mb, slot, &info);
    if (rc < 0)
        return rc;
    uint32_t k = (uint32_t)(sub - FS_SUB_ATT0);
    bool text = sub == FS_SUB_TEXT;
    if (text ? !mb_text_shown(fs->mb, &info) : k >= info.n_att)
        return -ENOENT;
    /* fax.txt: keyed apart from every attachment (slots are 32-bit), and
     * by generation, which changes with the message's attachments. */
    uint64_t k1 = text ? (uint64_t)slot | (UINT64_C(1) << 32) : slot;
    uint64_t k2 = text ? info.gen : mb_att_id(fs->mb, slot, k);
    struct fs_lru_ent *e = fs_lru_get(fs->files, k1, k2);
    if (e) {
        *out = (struct fent *)e;
        return 0;
    }
    struct fent *f = mem_calloc(1, sizeof *f);
    f->lru.k1 = k1;
    f->lru.k2 = k2;
    f->lru.refs = 1;
    rc = open_att(fs, req, slot, sub, f);
    if (rc < 0) {
        free(f);
        return rc;
    }
    fs_lru_put(fs->files, &f->lru);
    *out = f;
    return 0;
}

/* A per-open handle (kernels without zero-message open). */
struct fileh {
    struct fent *att; /* attachment */
    char *meta;       /* meta.json bytes */
    size_t meta_len;
};

/* Open a file of the desktop Trash: no handle (reads and writes find it by
 * inode); scratch files are read and written directly. */
static void trash_open(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                       struct fuse_file_info *fi)
{
    int rc = fs_trash_open(fs, n, fi->flags);
    if (rc < 0) {
        fs_reply_err(req, rc);
    } else if (fs->no_open) {
        fuse_reply_err(req, ENOSYS);
    } else {
        fi->fh = 0;
        fi->direct_io = n->part == FS_TRASH_SCRATCH;
        fuse_reply_open(req, fi);
    }
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fs_node n;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (n.kind == FS_TRASH) {
        trash_open(fs, req, &n, fi);
        return;
    }
    if (n.kind == FS_OUTBOX) {
        fs_outbox_open(req, &n, fi);
        return;
    }
    if (n.kind != FS_MSG || n.sub == FS_SUB_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (fs->no_open) {
        /* Zero-message open: the kernel keeps pages by default from now on. */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    struct fileh *h = mem_calloc(1, sizeof *h);
    int rc;
    if (n.sub == FS_SUB_META) {
        struct mb_call c = fs_call(fs, req);
        rc = mb_meta_read(fs->mb, &c, n.slot, &h->meta, &h->meta_len);
    } else {
        rc = fcache_get(fs, req, n.slot, n.sub, &h->att);
    }
    if (rc < 0) {
        free(h);
        fs_reply_err(req, rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
}

static void reply_range(fuse_req_t req, const struct mb_open_att *a, const char *mem, uint64_t len,
                        size_t size, off_t off)
{
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if ((uint64_t)off >= len) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if (size > len - (uint64_t)off)
        size = (size_t)(len - (uint64_t)off);
    if (mem) {
        fuse_reply_buf(req, mem + off, size);
        return;
    }
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = a->fd;
    bv.buf[0].pos = off;
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
    if (h) {
        if (h->meta)
            reply_range(req, NULL, h->meta, h->meta_len, size, off);
        else
            reply_range(req, &h->att->att, h->att->att.mem, h->att->att.size, size, off);
        return;
    }
    struct fs_node n;
    if (fs_ino_parse(ino, &n) && n.kind == FS_TRASH) {
        fs_trash_read(fs, req, &n, size, off);
        return;
    }
    if (fs_ino_parse(ino, &n) && n.kind == FS_OUTBOX) {
        fs_outbox_read(req, &n, size, off);
        return;
    }
    if (!fs_ino_parse(ino, &n) || n.kind != FS_MSG || n.sub == FS_SUB_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    int rc;
    if (n.sub == FS_SUB_META) {
        char *meta;
        size_t len;
        struct mb_call c = fs_call(fs, req);
        rc = mb_meta_read(fs->mb, &c, n.slot, &meta, &len);
        if (rc < 0) {
            fs_reply_err(req, rc);
            return;
        }
        reply_range(req, NULL, meta, len, size, off);
        free(meta);
        return;
    }
    struct fent *f;
    rc = fcache_get(fs, req, n.slot, n.sub, &f);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    reply_range(req, &f->att, f->att.mem, f->att.size, size, off);
    fs_lru_release(fs->files, &f->lru);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
    if (h) {
        if (h->att)
            fs_lru_release(fs->files, &h->att->lru);
        free(h->meta);
        free(h);
    }
    fuse_reply_err(req, 0);
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fs_node n;
    if (!fs_ino_parse(ino, &n) || (n.kind != FS_TRASH && n.kind != FS_OUTBOX)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (n.kind == FS_OUTBOX) {
        fs_outbox_write(req, &n, buf, size, off);
        return;
    }
    ssize_t rc = fs_trash_write(fs, &n, buf, size, off);
    if (rc < 0)
        fs_reply_err(req, (int)rc);
    else
        fuse_reply_write(req, (size_t)rc);
}

/* Every close: an Outbox file may be sent now; nothing else has work here.
 * A mount without an Outbox answers ENOSYS, and the kernel stops sending
 * flushes (one round trip per close saved). */
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fs_node n;
    uint32_t ext;
    if (fs_ino_parse(ino, &n) && n.kind == FS_OUTBOX)
        fs_outbox_flush(req, &n);
    else
        fuse_reply_err(req, mb_outbox_ext(fs->mb, &ext) ? 0 : ENOSYS);
}

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
 * asks, else from write and truncate.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "util/log.h"
#include "util/mem.h"

/* Open attachments kept for handle-less reads.  Each pins its cache object. */
#define FCACHE_SLOTS 64

struct fent {
    uint32_t slot;          /* message */
    uint64_t att_id;        /* attachment id: content never changes for it */
    struct mb_open_att att; /* fd or memory */
    int refs;               /* readers using it (the table holds one) */
    uint64_t used;          /* LRU stamp */
};

struct fs_fcache {
    pthread_mutex_t lock;
    struct fent *slot[FCACHE_SLOTS];
    uint64_t clock;
};

struct fs_fcache *fs_fcache_new(void)
{
    struct fs_fcache *c = mem_calloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void fent_free(struct fs *fs, struct fent *f)
{
    mb_att_close(fs->mb, &f->att);
    free(f);
}

static void fent_put(struct fs *fs, struct fent *f)
{
    pthread_mutex_lock(&fs->fcache->lock);
    bool last = --f->refs == 0;
    pthread_mutex_unlock(&fs->fcache->lock);
    if (last)
        fent_free(fs, f);
}

void fs_fcache_free(struct fs *fs)
{
    struct fs_fcache *c = fs->fcache;
    if (!c)
        return;
    for (int i = 0; i < FCACHE_SLOTS; i++)
        if (c->slot[i])
            fent_free(fs, c->slot[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
    fs->fcache = NULL;
}

/* The open attachment behind (slot, k): from the table, or opened now
 * (downloading it if needed).  Returns a reference, or -errno. */
static int fcache_get(struct fs *fs, fuse_req_t req, uint32_t slot, uint32_t k, struct fent **out)
{
    struct mb_msg_info info;
    int rc = mb_msg_info(fs->mb, slot, &info);
    if (rc < 0)
        return rc;
    if (k >= info.n_att)
        return -ENOENT;
    uint64_t att_id = mb_att_id(fs->mb, slot, k);
    struct fs_fcache *c = fs->fcache;

    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < FCACHE_SLOTS; i++) {
        struct fent *f = c->slot[i];
        if (f && f->slot == slot && f->att_id == att_id) {
            f->refs++;
            f->used = ++c->clock;
            pthread_mutex_unlock(&c->lock);
            *out = f;
            return 0;
        }
    }
    pthread_mutex_unlock(&c->lock);

    struct fent *f = mem_calloc(1, sizeof *f);
    f->slot = slot;
    f->att_id = att_id;
    f->refs = 1;
    struct api_call call = fs_call(fs, req);
    if (fs->no_thumbnails && call.prio == API_PRIO_BACKGROUND) {
        /* Serve thumbnailers only what is cached: they record a failed
         * thumbnail and stop asking, instead of draining the rate limit. */
        rc = mb_att_open_cached(fs->mb, slot, k, &f->att);
        if (rc == -ENOENT)
            rc = -EACCES;
    } else {
        rc = mb_att_open(fs->mb, &call, slot, k, &f->att);
    }
    if (rc < 0) {
        free(f);
        return rc;
    }
    struct fent *old;
    pthread_mutex_lock(&c->lock);
    int victim = 0;
    for (int i = 0; i < FCACHE_SLOTS; i++) {
        if (!c->slot[i]) {
            victim = i;
            break;
        }
        if (c->slot[i]->used < c->slot[victim]->used)
            victim = i;
    }
    old = c->slot[victim];
    c->slot[victim] = f;
    f->refs++;
    f->used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
    if (old)
        fent_put(fs, old);
    *out = f;
    return 0;
}

/* A per-open handle (kernels without zero-message open). */
struct fileh {
    struct fent *att; /* attachment */
    char *meta;       /* meta.json bytes */
    size_t meta_len;
};

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fs_node n;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
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
        struct api_call c = fs_call(fs, req);
        rc = mb_meta_read(fs->mb, &c, n.slot, &h->meta, &h->meta_len);
    } else {
        rc = fcache_get(fs, req, n.slot, (uint32_t)(n.sub - FS_SUB_ATT0), &h->att);
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
    if (!fs_ino_parse(ino, &n) || n.kind != FS_MSG || n.sub == FS_SUB_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    int rc;
    if (n.sub == FS_SUB_META) {
        char *meta;
        size_t len;
        struct api_call c = fs_call(fs, req);
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
    rc = fcache_get(fs, req, n.slot, (uint32_t)(n.sub - FS_SUB_ATT0), &f);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    reply_range(req, &f->att, f->att.mem, f->att.size, size, off);
    fent_put(fs, f);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
    if (h) {
        if (h->att)
            fent_put(fs, h->att);
        free(h->meta);
        free(h);
    }
    fuse_reply_err(req, 0);
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
              struct fuse_file_info *fi)
{
    fuse_reply_err(req, EACCES);
}

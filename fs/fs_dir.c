/*
 * fs_dir — directory listings: opendir, readdir(plus), releasedir.
 *
 * Where the kernel supports it, opendir answers ENOSYS: the kernel then
 * stops sending opendir/releasedir and caches readdir results by default
 * (FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE), so a warm `find` or `ls -R` costs
 * no request at all.  readdir then arrives without a handle; the listing is
 * snapshotted per directory inode when a read starts at offset 0 and kept
 * in a small table for the reads that continue it.  rcfs invalidates the
 * kernel's copy itself whenever a folder changes (fs_events).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "util/log.h"
#include "util/mem.h"

/* Directory snapshots kept for handle-less readdir. */
#define DCACHE_SLOTS 64

struct dent {
    const char *name;    /* valid for the mailbox's life */
    struct fs_node node; /* what the entry is */
};

struct dirh {
    struct fs_lru_ent lru; /* key: (directory inode, 0); must be first */
    uint32_t n;            /* entries, "." and ".." included */
    struct dent *e;
    struct mb_listing listing;     /* keeps the listing arrays alive */
    struct fs_trash_listing trash; /* or the Trash's (it owns its names) */
};

static void dirh_free(struct dirh *d)
{
    mb_listing_free(&d->listing);
    fs_trash_listing_free(&d->trash);
    free(d->e);
    free(d);
}

static void dirh_destroy(void *ctx, struct fs_lru_ent *e)
{
    dirh_free((struct dirh *)e);
}

struct fs_lru *fs_dirs_new(void)
{
    return fs_lru_new(DCACHE_SLOTS, dirh_destroy, NULL);
}

static void dir_add(struct dirh *d, uint32_t *cap, const char *name, struct fs_node node)
{
    if (d->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        d->e = mem_reallocarray(d->e, *cap, sizeof *d->e);
    }
    d->e[d->n++] = (struct dent){.name = name, .node = node};
}

/* A type folder, Deleted/, conversations/ or Unread/ of n into d. */
static int dir_fill_folder(struct fs *fs, fuse_req_t req, const struct fs_node *n, struct dirh *d,
                           uint32_t *cap)
{
    struct mb_call c = fs_call(fs, req);
    int rc = mb_folder_list(fs->mb, &c, n->ext, n->folder, &d->listing);
    for (uint32_t i = 0; rc == 0 && i < d->listing.n; i++) {
        struct fs_node x;
        if (n->folder == MB_FOLDER_CONVERSATIONS)
            x = (struct fs_node){.kind = FS_CONV, .conv = d->listing.ids[i]};
        else if (n->folder == MB_FOLDER_UNREAD)
            x = (struct fs_node){.kind = FS_ULINK, .slot = d->listing.ids[i]};
        else
            x = (struct fs_node){.kind = FS_MSG,
                                 .slot = d->listing.ids[i],
                                 .view = n->folder == MB_FOLDER_DELETED,
                                 .sub = FS_SUB_DIR};
        dir_add(d, cap, d->listing.names[i], x);
    }
    return rc;
}

/* The files of message folder n into d: meta.json, attachments, fax.txt. */
static int dir_fill_message(struct fs *fs, const struct fs_node *n, struct dirh *d, uint32_t *cap)
{
    struct mb_msg_info info;
    int rc = mb_msg_info(fs->mb, n->slot, &info);
    if (rc < 0)
        return rc;
    struct fs_node x = {.kind = FS_MSG, .slot = n->slot, .view = n->view, .sub = FS_SUB_META};
    dir_add(d, cap, MBNAME_META, x);
    for (uint32_t k = 0; k < info.n_att; k++) {
        x.sub = FS_SUB_ATT0 + (int)k;
        dir_add(d, cap, info.att[k].name, x);
    }
    x.sub = FS_SUB_TEXT; /* after the fax: grep -r downloads it once, for both */
    if (mb_text_shown(fs->mb, &info))
        dir_add(d, cap, MB_TEXT_NAME, x);
    return 0;
}

/* Build the listing of directory ino.  Returns 0 and *out, or -errno. */
static int dirh_build(struct fs *fs, fuse_req_t req, uint64_t ino, struct dirh **out)
{
    struct fs_node n;
    struct dirh *d;
    uint32_t cap = 0;
    int rc = 0;

    if (!fs_ino_parse(ino, &n))
        return -ENOENT;
    d = mem_calloc(1, sizeof *d);
    d->lru.k1 = ino;
    d->lru.refs = 1;
    dir_add(d, &cap, ".", n);
    dir_add(d, &cap, "..", (struct fs_node){.kind = FS_ROOT}); /* its ino is not used */
    switch (n.kind) {
    case FS_ROOT:
        for (uint32_t i = 0; i < mb_ext_count(fs->mb); i++)
            dir_add(d, &cap, mb_ext_name(fs->mb, i), (struct fs_node){.kind = FS_EXT, .ext = i});
        break;
    case FS_EXT:
        for (int f = 0; f < MB_FOLDER_COUNT; f++)
            dir_add(d, &cap, mb_folder_name(f),
                    (struct fs_node){.kind = FS_FOLDER, .ext = n.ext, .folder = f});
        struct fs_node obx;
        if (fs_outbox_at_ext(fs, n.ext, &obx))
            dir_add(d, &cap, MB_OBX_NAME, obx);
        break;
    case FS_FOLDER:
        rc = dir_fill_folder(fs, req, &n, d, &cap);
        break;
    case FS_TRASH:
        rc = fs_trash_list(fs, req, &n, &d->trash);
        for (uint32_t i = 0; rc == 0 && i < d->trash.n; i++)
            dir_add(d, &cap, d->trash.names[i], d->trash.nodes[i]);
        break;
    case FS_CONV:
        rc = mb_conv_list(fs->mb, n.conv, &d->listing);
        for (uint32_t i = 0; rc == 0 && i < d->listing.n; i++)
            dir_add(d, &cap, d->listing.names[i],
                    (struct fs_node){.kind = FS_LINK, .slot = d->listing.ids[i]});
        break;
    case FS_MSG:
        rc = n.sub == FS_SUB_DIR ? dir_fill_message(fs, &n, d, &cap) : -ENOTDIR;
        break;
    case FS_OUTBOX: {
        struct mb_obx_listing l;
        rc = mb_outbox_list(fs->mb, n.obx, n.obx_id, &l);
        for (uint32_t i = 0; rc == 0 && i < l.n; i++)
            dir_add(d, &cap, l.e[i].name, fs_outbox_node(&l.e[i]));
        mb_outbox_listing_free(&l);
        break;
    }
    default:
        rc = -ENOTDIR;
    }
    if (rc < 0) {
        dirh_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* The snapshot for a handle-less readdir of ino at offset off: a new one at
 * offset 0, else the one that read began with.  Returns a reference. */
static int dcache_get(struct fs *fs, fuse_req_t req, uint64_t ino, off_t off, struct dirh **out)
{
    if (off > 0) {
        struct fs_lru_ent *e = fs_lru_get(fs->dirs, ino, 0);
        if (e) {
            *out = (struct dirh *)e;
            return 0;
        }
    }
    struct dirh *d;
    int rc = dirh_build(fs, req, ino, &d);
    if (rc < 0)
        return rc;
    fs_lru_put(fs->dirs, &d->lru);
    *out = d;
    return 0;
}

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fuse_req_userdata(req);
    if (fs->no_opendir) {
        /* Zero-message opendir: the kernel keeps readdir results by default. */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    struct dirh *d;
    int rc = dirh_build(fs, req, ino, &d);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)d;
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi, bool plus)
{
    struct fs *fs = fuse_req_userdata(req);
    struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
    bool cached = d == NULL;
    if (cached) {
        int rc = dcache_get(fs, req, ino, off, &d);
        if (rc < 0) {
            fs_reply_err(req, rc);
            return;
        }
    }
    char *buf = mem_alloc(size);
    size_t used = 0;

    for (uint32_t i = off < 0 ? 0 : (uint32_t)off; i < d->n; i++) {
        struct dent *de = &d->e[i];
        size_t need;
        if (!plus || i < 2) {
            struct stat st = {0};
            st.st_ino = i < 2 ? ino : fs_ino_make(&de->node);
            st.st_mode = i < 2 ? S_IFDIR : fs_node_type(&de->node);
            if (plus) {
                struct fuse_entry_param e = {.attr = st};
                need = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e,
                                              (off_t)i + 1);
            } else {
                need = fuse_add_direntry(req, buf + used, size - used, de->name, &st, (off_t)i + 1);
            }
        } else {
            struct fuse_entry_param e = {0};
            struct mb_msg_info info;
            int rc = 0;
            if (fs_is_msg_node(&de->node))
                rc = mb_msg_info(fs->mb, de->node.slot, &info);
            if (rc == 0)
                rc = fs_fill_attr(fs, &de->node, &info, &e.attr);
            if (rc == 0) {
                e.ino = fs_ino_make(&de->node);
                e.generation = fs_is_msg_node(&de->node) ? info.gen : 0;
                /* As a lookup answers: the Trash's scratch files are not kept. */
                e.attr_timeout = e.entry_timeout =
                    de->node.kind == FS_TRASH ? fs_trash_entry_timeout(fs, &de->node) : fs->timeout;
            } else {
                /* Size not known yet (or gone): the name only; a lookup learns it. */
                e.attr.st_ino = fs_ino_make(&de->node);
                e.attr.st_mode = fs_node_type(&de->node);
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e, (off_t)i + 1);
        }
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
    if (cached)
        fs_lru_release(fs->dirs, &d->lru);
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    readdir_common(req, ino, size, off, fi, false);
}

void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    readdir_common(req, ino, size, off, fi, true);
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
    if (d)
        dirh_free(d);
    fuse_reply_err(req, 0);
}

/*
 * fs_ops — the FUSE low-level handlers that read: lookup, getattr, readdir
 * (plus), open, read, readlink, statfs, access; and the handler table.
 *
 * Timeouts: everything rcfs shows is cached by the kernel for fs->timeout
 * (long), because rcfs tells the kernel itself when something changes
 * (fs_events below).  Negative lookups of names rcfs can never produce
 * (leading '.', names in fixed folders) are cached as long; other missing
 * names not at all, since a sync or a restore may bring them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

void fs_reply_err(fuse_req_t req, int rc)
{
    int e = rc < 0 ? -rc : rc;
    switch (e) {
    case 0:
    case ENOENT: case EIO: case EACCES: case EINVAL: case ENOSPC: case EPERM:
    case ENOTEMPTY: case EXDEV: case ENODATA: case ENOTSUP: case EEXIST:
    case ERANGE: case EFBIG: case ENOTDIR: case EISDIR: case EROFS:
        break;
    default:
        e = EIO;
    }
    fuse_reply_err(req, e);
}

/* ---- request context ------------------------------------------------------- */

bool fs_req_is_thumbnailer(fuse_req_t req)
{
    static const char *const names[] = {
        "tumbler", "tumblerd", "gnome-desktop-t", "gnome-thumbnail", "totem-video-thu",
        "evince-thumbnai", "ffmpegthumbnail", "gdk-pixbuf-thum", "gsf-office-thum",
        "atril-thumbnail", "xreader-thumbna", "thumbnail.so", "kdeinit5: thumbn",
        "thumbnailer", "glycin-image-rs", "glycin-loader",
    };
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)ctx->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(comm, names[i], strlen(names[i])) == 0)
            return true;
    return strstr(comm, "thumbnail") != NULL;
}

struct api_call fs_call(struct fs *fs, fuse_req_t req)
{
    struct api_call c = {
        .deadline_ms = isotime_mono_ms() + (int64_t)fs->call_timeout_s * 1000,
        .prio = fs_req_is_thumbnailer(req) ? API_PRIO_BACKGROUND : API_PRIO_USER,
    };
    return c;
}

/* ---- attributes --------------------------------------------------------------- */

int fs_view_folder(const struct mb_msg_info *info, int view)
{
    return view == MB_VIEW_DELETED ? MB_FOLDER_DELETED : (int)info->type;
}

static void set_times(struct stat *st, int64_t ms)
{
    st->st_mtim.tv_sec = ms / 1000;
    st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
}

static size_t link_target(const struct mb_msg_info *info, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "../../%s/%s", mb_folder_name(info->type), info->name);
    return n < 0 ? 0 : (size_t)n;
}

int fs_fill_attr(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                 struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = fs_ino_make(n);
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_blksize = 4096;
    set_times(st, fs->base_ms);
    switch (n->kind) {
    case FS_ROOT:
    case FS_EXT:
    case FS_FOLDER:
        /* nlink 1: "unknown", so find never skips subfolders by link count. */
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 1;
        return 0;
    case FS_CONV:
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    case FS_LINK: {
        char target[2 * MBNAME_MAX + 16];
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)link_target(info, target, sizeof target);
        set_times(st, info->creation_ms);
        return 0;
    }
    case FS_MSG:
        break;
    default:
        return -ENOENT;
    }
    if (n->sub == FS_SUB_DIR) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        set_times(st, info->creation_ms);
        return 0;
    }
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
    if (n->sub == FS_SUB_META) {
        st->st_size = info->meta_len;
        set_times(st, info->modified_ms);
    } else {
        uint32_t k = (uint32_t)(n->sub - FS_SUB_ATT0);
        if (k >= info->n_att)
            return -ENOENT;
        if (info->att[k].size < 0)
            return -EAGAIN; /* the caller learns it (a request) and asks again */
        st->st_size = info->att[k].size;
        set_times(st, info->creation_ms);
    }
    st->st_blocks = (st->st_size + 511) / 512;
    return 0;
}

/* fs_fill_attr, learning an unknown attachment size first (one request). */
static int attr_learning(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                         struct mb_msg_info *info, struct stat *st)
{
    int rc = fs_fill_attr(fs, n, info, st);
    if (rc != -EAGAIN)
        return rc;
    struct api_call c = fs_call(fs, req);
    int64_t size;
    rc = mb_att_size(fs->mb, &c, n->slot, (uint32_t)(n->sub - FS_SUB_ATT0), &size);
    if (rc < 0)
        return rc;
    rc = mb_msg_info(fs->mb, n->slot, info);
    return rc < 0 ? rc : fs_fill_attr(fs, n, info, st);
}

/* ---- lookup ---------------------------------------------------------------------- */

/* Names that can never exist here: desktop probes (.hidden, .directory,
 * .Trash-1000, desktop.ini, autorun.inf, ...) are answered from the kernel's
 * negative cache after the first time. */
static bool never_exists(const char *name)
{
    static const char *const junk[] = {"desktop.ini", "autorun.inf", "Thumbs.db",
                                       "AutoRun.inf", "Desktop.ini", "folder.jpg"};
    if (name[0] == '.')
        return true;
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        if (strcmp(name, junk[i]) == 0)
            return true;
    return false;
}

static int folder_by_name(const char *name)
{
    for (int f = 0; f < MB_FOLDER_COUNT; f++)
        if (strcmp(mb_folder_name(f), name) == 0)
            return f;
    return -1;
}

static void reply_negative(fuse_req_t req, struct fs *fs, const struct fs_node *parent,
                           const char *name)
{
    struct fuse_entry_param e = {0};
    bool fixed = parent->kind == FS_ROOT || parent->kind == FS_EXT;
    if (never_exists(name) || fixed)
        e.entry_timeout = fs->timeout;
    fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node p, c = {0};
    struct mb_msg_info info;
    bool have_info = false;
    int rc = -ENOENT;

    if (!fs_ino_parse(parent, &p)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (never_exists(name) && (p.kind != FS_MSG || p.sub != FS_SUB_DIR)) {
        reply_negative(req, fs, &p, name);
        return;
    }
    switch (p.kind) {
    case FS_ROOT:
        c.kind = FS_EXT;
        rc = mb_ext_find(fs->mb, name, &c.ext);
        break;
    case FS_EXT: {
        int f = folder_by_name(name);
        if (f >= 0) {
            c = (struct fs_node){.kind = FS_FOLDER, .ext = p.ext, .folder = f};
            rc = 0;
        }
        break;
    }
    case FS_FOLDER: {
        struct api_call call = fs_call(fs, req);
        if (p.folder == MB_FOLDER_CONVERSATIONS) {
            c.kind = FS_CONV;
            rc = mb_conv_lookup(fs->mb, &call, p.ext, name, &c.conv);
        } else {
            c.kind = FS_MSG;
            c.view = p.folder == MB_FOLDER_DELETED ? MB_VIEW_DELETED : MB_VIEW_TYPE;
            c.sub = FS_SUB_DIR;
            rc = mb_folder_lookup(fs->mb, &call, p.ext, p.folder, name, &c.slot);
        }
        break;
    }
    case FS_CONV:
        c.kind = FS_LINK;
        rc = mb_conv_member(fs->mb, p.conv, name, &c.slot);
        break;
    case FS_MSG:
        if (p.sub != FS_SUB_DIR) {
            rc = -ENOTDIR;
            break;
        }
        rc = mb_msg_info(fs->mb, p.slot, &info);
        if (rc < 0)
            break;
        have_info = true;
        c = (struct fs_node){.kind = FS_MSG, .slot = p.slot, .view = p.view};
        rc = -ENOENT;
        if (strcmp(name, MBNAME_META) == 0) {
            c.sub = FS_SUB_META;
            rc = 0;
        } else {
            for (uint32_t k = 0; k < info.n_att; k++) {
                if (strcmp(info.att[k].name, name) == 0) {
                    c.sub = FS_SUB_ATT0 + (int)k;
                    rc = 0;
                    break;
                }
            }
        }
        break;
    default:
        rc = -ENOTDIR;
    }
    if (rc == -ENOENT) {
        reply_negative(req, fs, &p, name);
        return;
    }
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }

    struct fuse_entry_param e = {0};
    if ((c.kind == FS_MSG || c.kind == FS_LINK) && !have_info) {
        rc = mb_msg_info(fs->mb, c.slot, &info);
        if (rc < 0) {
            fs_reply_err(req, rc);
            return;
        }
    }
    rc = attr_learning(fs, req, &c, &info, &e.attr);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    e.ino = fs_ino_make(&c);
    e.generation = (c.kind == FS_MSG || c.kind == FS_LINK) ? info.gen : 0;
    e.attr_timeout = fs->timeout;
    e.entry_timeout = fs->timeout;
    fuse_reply_entry(req, &e);
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
    if (n.kind == FS_MSG || n.kind == FS_LINK)
        rc = mb_msg_info(fs->mb, n.slot, &info);
    if (rc == 0)
        rc = attr_learning(fs, req, &n, &info, &st);
    if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_attr(req, &st, fs->timeout);
}

/* ---- directories -------------------------------------------------------------------- */

struct dent {
    const char *name;
    struct fs_node node;
};

struct dirh {
    uint32_t n;
    struct dent *e;
    struct mb_listing listing; /* owns the name pointers' array when used */
};

static void dir_add(struct dirh *d, uint32_t *cap, const char *name, struct fs_node node)
{
    if (d->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        d->e = mem_reallocarray(d->e, *cap, sizeof *d->e);
    }
    d->e[d->n++] = (struct dent){.name = name, .node = node};
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct dirh *d = mem_calloc(1, sizeof *d);
    uint32_t cap = 0;
    int rc = 0;

    if (!fs_ino_parse(ino, &n)) {
        free(d);
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct fs_node self = n;
    dir_add(d, &cap, ".", self);
    dir_add(d, &cap, "..", (struct fs_node){.kind = FS_ROOT}); /* ino of ".." is not used */
    switch (n.kind) {
    case FS_ROOT:
        for (uint32_t i = 0; i < mb_ext_count(fs->mb); i++)
            dir_add(d, &cap, mb_ext_name(fs->mb, i), (struct fs_node){.kind = FS_EXT, .ext = i});
        break;
    case FS_EXT:
        for (int f = 0; f < MB_FOLDER_COUNT; f++)
            dir_add(d, &cap, mb_folder_name(f),
                    (struct fs_node){.kind = FS_FOLDER, .ext = n.ext, .folder = f});
        break;
    case FS_FOLDER: {
        struct api_call c = fs_call(fs, req);
        rc = mb_folder_list(fs->mb, &c, n.ext, n.folder, &d->listing);
        if (rc < 0)
            break;
        for (uint32_t i = 0; i < d->listing.n; i++) {
            struct fs_node x;
            if (n.folder == MB_FOLDER_CONVERSATIONS)
                x = (struct fs_node){.kind = FS_CONV, .conv = d->listing.ids[i]};
            else
                x = (struct fs_node){.kind = FS_MSG, .slot = d->listing.ids[i],
                                     .view = n.folder == MB_FOLDER_DELETED, .sub = FS_SUB_DIR};
            dir_add(d, &cap, d->listing.names[i], x);
        }
        break;
    }
    case FS_CONV:
        rc = mb_conv_list(fs->mb, n.conv, &d->listing);
        for (uint32_t i = 0; rc == 0 && i < d->listing.n; i++)
            dir_add(d, &cap, d->listing.names[i],
                    (struct fs_node){.kind = FS_LINK, .slot = d->listing.ids[i]});
        break;
    case FS_MSG: {
        struct mb_msg_info info;
        if (n.sub != FS_SUB_DIR) {
            rc = -ENOTDIR;
            break;
        }
        rc = mb_msg_info(fs->mb, n.slot, &info);
        if (rc < 0)
            break;
        struct fs_node x = {.kind = FS_MSG, .slot = n.slot, .view = n.view, .sub = FS_SUB_META};
        dir_add(d, &cap, MBNAME_META, x);
        for (uint32_t k = 0; k < info.n_att; k++) {
            x.sub = FS_SUB_ATT0 + (int)k;
            dir_add(d, &cap, info.att[k].name, x);
        }
        break;
    }
    default:
        rc = -ENOTDIR;
    }
    if (rc < 0) {
        mb_listing_free(&d->listing);
        free(d->e);
        free(d);
        fs_reply_err(req, rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)d;
    /* Keep readdir results in the kernel; rcfs invalidates them on change. */
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi, bool plus)
{
    struct fs *fs = fs_of(req);
    struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
    char *buf = mem_alloc(size);
    size_t used = 0;

    for (uint32_t i = (uint32_t)off; i < d->n; i++) {
        struct dent *de = &d->e[i];
        size_t need;
        if (!plus || i < 2) {
            struct stat st = {0};
            st.st_ino = i < 2 ? ino : fs_ino_make(&de->node);
            st.st_mode = de->node.kind == FS_LINK ? S_IFLNK
                         : (de->node.kind == FS_MSG && de->node.sub != FS_SUB_DIR) ? S_IFREG
                                                                                   : S_IFDIR;
            if (plus) {
                struct fuse_entry_param e = {.attr = st};
                need = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e,
                                              (off_t)i + 1);
            } else {
                need = fuse_add_direntry(req, buf + used, size - used, de->name, &st,
                                         (off_t)i + 1);
            }
        } else {
            struct fuse_entry_param e = {0};
            struct mb_msg_info info;
            int rc = 0;
            if (de->node.kind == FS_MSG || de->node.kind == FS_LINK)
                rc = mb_msg_info(fs->mb, de->node.slot, &info);
            if (rc == 0)
                rc = fs_fill_attr(fs, &de->node, &info, &e.attr);
            if (rc == 0) {
                e.ino = fs_ino_make(&de->node);
                e.generation =
                    (de->node.kind == FS_MSG || de->node.kind == FS_LINK) ? info.gen : 0;
                e.attr_timeout = fs->timeout;
                e.entry_timeout = fs->timeout;
            } else {
                /* Size not known yet (or gone): name only; a lookup will learn it. */
                e.attr.st_ino = fs_ino_make(&de->node);
                e.attr.st_mode = S_IFREG;
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e,
                                          (off_t)i + 1);
        }
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    readdir_common(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    readdir_common(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
    if (d) {
        mb_listing_free(&d->listing);
        free(d->e);
        free(d);
    }
    fuse_reply_err(req, 0);
}

/* ---- files ---------------------------------------------------------------------------- */

struct fileh {
    struct mb_open_att att; /* attachment: fd or memory */
    char *meta;             /* meta.json bytes */
    size_t meta_len;
};

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    if (!fs_ino_parse(ino, &n) || n.kind != FS_MSG) {
        fuse_reply_err(req, fs_ino_parse(ino, &n) ? EISDIR : ENOENT);
        return;
    }
    if (n.sub == FS_SUB_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    struct fileh *h = mem_calloc(1, sizeof *h);
    h->att.fd = -1;
    struct api_call c = fs_call(fs, req);
    int rc;
    if (n.sub == FS_SUB_META) {
        rc = mb_meta_read(fs->mb, &c, n.slot, &h->meta, &h->meta_len);
    } else {
        if (fs->no_thumbnails && c.prio == API_PRIO_BACKGROUND) {
            /* Serve thumbnailers only what is cached: they record a failed
             * thumbnail and stop asking, instead of draining the rate limit. */
            rc = mb_att_open_cached(fs->mb, n.slot, (uint32_t)(n.sub - FS_SUB_ATT0), &h->att);
            if (rc == -ENOENT)
                rc = -EACCES;
        } else {
            rc = mb_att_open(fs->mb, &c, n.slot, (uint32_t)(n.sub - FS_SUB_ATT0), &h->att);
        }
    }
    if (rc < 0) {
        free(h);
        fs_reply_err(req, rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    /* Attachments never change for an inode; meta.json is invalidated
     * explicitly when its record changes. */
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
    const char *mem = h->meta ? h->meta : h->att.mem;
    uint64_t len = h->meta ? h->meta_len : h->att.size;
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
    bv.buf[0].fd = h->att.fd;
    bv.buf[0].pos = off;
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
    if (h) {
        if (h->meta)
            free(h->meta);
        else
            mb_att_close(fs->mb, &h->att);
        free(h);
    }
    fuse_reply_err(req, 0);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    char target[2 * MBNAME_MAX + 16];
    if (!fs_ino_parse(ino, &n) || n.kind != FS_LINK) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    int rc = mb_msg_info(fs->mb, n.slot, &info);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    link_target(&info, target, sizeof target);
    fuse_reply_readlink(req, target);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct mb_stats s;
    struct statvfs v = {0};
    mb_get_stats(fs->mb, &s);
    v.f_bsize = 4096;
    v.f_frsize = 4096;
    v.f_blocks = (fsblkcnt_t)((s.cache_bytes + 4095) / 4096);
    v.f_files = (fsfilcnt_t)s.messages;
    v.f_namemax = 255;
    fuse_reply_statfs(req, &v);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct fs_node n;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    bool is_file = n.kind == FS_MSG && n.sub != FS_SUB_DIR;
    /* Writing content is refused at open; answering W_OK keeps `rm` from
     * asking about "write-protected" files one by one. */
    fuse_reply_err(req, (mask & X_OK) && is_file ? EACCES : 0);
}

static void op_refuse(fuse_req_t req)
{
    fuse_reply_err(req, EACCES);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    op_refuse(req);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev)
{
    op_refuse(req);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    op_refuse(req);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    op_refuse(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    op_refuse(req);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
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
    conn->max_readahead = 1 << 20;
}

/* ---- kernel notifications for mailbox changes ------------------------------------------ */

static void ev_folder_changed(void *ctx, uint32_t ext, int folder)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_FOLDER, .ext = ext, .folder = folder};
    fs_notify_inode(fs->notify, fs_ino_make(&n));
}

static void ev_entry_gone(void *ctx, uint32_t ext, int folder, const char *name)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_FOLDER, .ext = ext, .folder = folder};
    fs_notify_entry(fs->notify, fs_ino_make(&n), name);
}

static void ev_message_changed(void *ctx, uint32_t slot)
{
    struct fs *fs = ctx;
    struct mb_msg_info info;
    if (mb_msg_info(fs->mb, slot, &info) < 0)
        return;
    for (int view = 0; view < 2; view++) {
        struct fs_node n = {.kind = FS_MSG, .slot = slot, .view = view, .sub = FS_SUB_DIR};
        fs_notify_inode(fs->notify, fs_ino_make(&n)); /* attributes and listing */
        n.sub = FS_SUB_META;
        fs_notify_inode(fs->notify, fs_ino_make(&n)); /* size, mtime and pages */
    }
}

static void ev_conversation_changed(void *ctx, uint32_t conv, const char *name_gone)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_CONV, .conv = conv};
    fs_notify_inode(fs->notify, fs_ino_make(&n));
    if (name_gone)
        fs_notify_entry(fs->notify, fs_ino_make(&n), name_gone);
}

static void ev_conversation_gone(void *ctx, uint32_t ext, const char *name)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_FOLDER, .ext = ext, .folder = MB_FOLDER_CONVERSATIONS};
    fs_notify_entry(fs->notify, fs_ino_make(&n), name);
}

struct mb_events fs_events(struct fs *fs)
{
    return (struct mb_events){
        .ctx = fs,
        .folder_changed = ev_folder_changed,
        .entry_gone = ev_entry_gone,
        .message_changed = ev_message_changed,
        .conversation_changed = ev_conversation_changed,
        .conversation_gone = ev_conversation_gone,
    };
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
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
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .access = op_access,
    .create = op_create,
};

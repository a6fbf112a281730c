/* fs_trash — the desktop's Trash as a view of Deleted/ (see fs_trash.h). */
#include "fs/fs_trash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_scratch.h"
#include "fs/fs_trash_int.h"
#include "fs/fs_trashinfo.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* Scratch files in info/: a desktop writes one per item it trashes and
 * moves the item right after; 64 at once is plenty, 10 minutes is long. */
#define SCRATCH_FILES  64
#define SCRATCH_BYTES  (64 * 1024)
#define SCRATCH_TTL_MS (10 * 60 * 1000)

/* Room for an info file: three escaped names (at most 3 * 255 bytes each) and the rest. */
#define INFO_MAX 2560

_Thread_local bool trash_own_op;

struct fs_trash *fs_trash_new(uid_t uid)
{
    struct fs_trash *t = mem_calloc(1, sizeof *t);
    snprintf(t->top, sizeof t->top, ".Trash-%lu", (unsigned long)uid);
    t->scratch = fs_scratch_new(SCRATCH_FILES, SCRATCH_BYTES, SCRATCH_TTL_MS);
    return t;
}

void fs_trash_free(struct fs_trash *t)
{
    if (!t)
        return;
    fs_scratch_free(t->scratch);
    free(t);
}

bool fs_trash_is_top(struct fs_trash *t, const char *name)
{
    if (strcmp(name, t->top) != 0)
        return false;
    t->seen = true;
    return true;
}

uint64_t trash_part_ino(int part, uint32_t id)
{
    struct fs_node n = {.kind = FS_TRASH, .part = part, .id = id};
    return fs_ino_make(&n);
}

struct fs_node trash_msg_node(uint32_t slot)
{
    return (struct fs_node){.kind = FS_MSG, .slot = slot, .view = MB_VIEW_TRASH, .sub = FS_SUB_DIR};
}

/* ---- finding messages ---------------------------------------------------- */

/* The Deleted message called `name`, in any shown extension.  Returns 0 and
 * *slot, -ENOENT, or -EIO. */
int trash_find_deleted(struct fs *fs, fuse_req_t req, const char *name, uint32_t *slot)
{
    struct mb_call c = fs_call(fs, req);
    return mb_trash_lookup(fs->mb, &c, name, slot);
}

/* The generated info file of slot: its text in buf (INFO_MAX bytes) and
 * *len, its mtime in *mtime_ms.  -ENOENT when slot is not in the Trash. */
static int info_text(struct fs *fs, uint32_t slot, char *buf, size_t *len, int64_t *mtime_ms)
{
    struct mb_msg_info info;
    int rc = mb_msg_info(fs->mb, slot, &info);
    if (rc < 0)
        return rc;
    const char *ext = mb_ext_name(fs->mb, info.ext);
    if (info.availability != REC_DELETED || !ext)
        return -ENOENT;
    size_t n = fs_trashinfo_format(buf, INFO_MAX, ext, mb_folder_name((int)info.type), info.name,
                                   info.modified_ms);
    if (n >= INFO_MAX)
        return -EIO;
    *len = n;
    if (mtime_ms)
        *mtime_ms = info.modified_ms;
    return 0;
}

/* info/NAME: a scratch file first (what a program just wrote is what it
 * reads back), else the generated file of a Deleted message. */
int trash_resolve_info(struct fs *fs, fuse_req_t req, const char *name, struct fs_node *c)
{
    uint32_t id;
    char base[MBNAME_MAX + 1];
    if (fs_scratch_find(fs->trash->scratch, name, isotime_mono_ms(), &id) == 0) {
        *c = (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_SCRATCH, .id = id};
        return 0;
    }
    if (!fs_trashinfo_base(name, base, sizeof base))
        return -ENOENT;
    uint32_t slot;
    int rc = trash_find_deleted(fs, req, base, &slot);
    if (rc == 0)
        *c = (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_INFOFILE, .id = slot};
    return rc;
}

int fs_trash_resolve(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                     struct fs_node *c)
{
    static const char *const parts[] = {
        [FS_TRASH_FILES] = "files", [FS_TRASH_INFO] = "info", [FS_TRASH_EXPUNGED] = "expunged"};
    uint32_t slot;
    int rc;
    switch (p->part) {
    case FS_TRASH_TOP:
        for (int i = FS_TRASH_FILES; i <= FS_TRASH_EXPUNGED; i++) {
            if (strcmp(name, parts[i]) == 0) {
                *c = (struct fs_node){.kind = FS_TRASH, .part = i};
                return 0;
            }
        }
        return -ENOENT;
    case FS_TRASH_FILES:
        rc = trash_find_deleted(fs, req, name, &slot);
        if (rc == 0)
            *c = trash_msg_node(slot);
        return rc;
    case FS_TRASH_INFO:
        return trash_resolve_info(fs, req, name, c);
    case FS_TRASH_EXPUNGED:
        return -ENOENT;
    default:
        return -ENOTDIR;
    }
}

/* ---- attributes ------------------------------------------------------------ */

int fs_trash_attr(struct fs *fs, const struct fs_node *n, struct stat *st)
{
    char buf[INFO_MAX];
    size_t len;
    int64_t mtime_ms = fs->base_ms, now = isotime_mono_ms();
    int rc = 0;
    st->st_mode = S_IFDIR | fs->dir_mode;
    st->st_nlink = 2;
    if (n->part == FS_TRASH_INFOFILE) {
        rc = info_text(fs, n->id, buf, &len, &mtime_ms);
    } else if (n->part == FS_TRASH_SCRATCH) {
        int64_t born;
        rc = fs_scratch_stat(fs->trash->scratch, n->id, now, &len, &born);
        mtime_ms = isotime_now_ms() - (now - born);
    } else if (n->part > FS_TRASH_SCRATCH) {
        rc = -ENOENT;
    }
    if (rc < 0)
        return rc;
    if (n->part == FS_TRASH_INFOFILE || n->part == FS_TRASH_SCRATCH) {
        st->st_mode = S_IFREG | fs->file_mode;
        st->st_nlink = 1;
        st->st_size = (off_t)len;
        st->st_blocks = (st->st_size + 511) / 512;
    }
    st->st_mtim.tv_sec = mtime_ms / 1000;
    st->st_mtim.tv_nsec = (mtime_ms % 1000) * 1000000;
    st->st_atim = st->st_ctim = st->st_mtim;
    return 0;
}

double fs_trash_entry_timeout(struct fs *fs, const struct fs_node *n)
{
    return n->kind == FS_TRASH && n->part == FS_TRASH_SCRATCH ? 0.0 : fs->timeout;
}

/* ---- listings -------------------------------------------------------------- */

static void list_add(struct fs_trash_listing *l, uint32_t *cap, char *name, struct fs_node node)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        l->names = mem_reallocarray(l->names, *cap, sizeof *l->names);
        l->nodes = mem_reallocarray(l->nodes, *cap, sizeof *l->nodes);
    }
    l->names[l->n] = name;
    l->nodes[l->n++] = node;
}

struct scratch_fill {
    struct fs_trash_listing *l;
    uint32_t *cap;
};

static void add_scratch(void *ctx, const char *name, uint32_t id)
{
    struct scratch_fill *f = ctx;
    list_add(f->l, f->cap, mem_strdup(name),
             (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_SCRATCH, .id = id});
}

/* Every Deleted message of every shown extension: as files/NAME (info
 * false) or info/NAME.trashinfo. */
static int list_deleted(struct fs *fs, fuse_req_t req, bool info, struct fs_trash_listing *l,
                        uint32_t *cap)
{
    struct mb_call c = fs_call(fs, req);
    for (uint32_t e = 0; e < mb_ext_count(fs->mb); e++) {
        struct mb_listing one = {0};
        if (!mb_ext_name(fs->mb, e))
            continue;
        int rc = mb_folder_list(fs->mb, &c, e, MB_FOLDER_DELETED, &one);
        if (rc == -ENOENT)
            continue; /* hidden meanwhile */
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < one.n; i++) {
            uint32_t slot = one.ids[i];
            if (info)
                list_add(l, cap, mem_printf("%s%s", one.names[i], FS_TRASHINFO_SUFFIX),
                         (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_INFOFILE, .id = slot});
            else
                list_add(l, cap, mem_strdup(one.names[i]), trash_msg_node(slot));
        }
        mb_listing_free(&one);
    }
    return 0;
}

static int by_name(const void *a, const void *b, void *names)
{
    char **n = names;
    return strcmp(n[*(const uint32_t *)a], n[*(const uint32_t *)b]);
}

/* Sort l by name (the order readdir promises). */
static void sort_listing(struct fs_trash_listing *l)
{
    uint32_t *order = mem_reallocarray(NULL, l->n ? l->n : 1, sizeof *order);
    for (uint32_t i = 0; i < l->n; i++)
        order[i] = i;
    qsort_r(order, l->n, sizeof *order, by_name, l->names);
    char **names = mem_reallocarray(NULL, l->n ? l->n : 1, sizeof *names);
    struct fs_node *nodes = mem_reallocarray(NULL, l->n ? l->n : 1, sizeof *nodes);
    for (uint32_t i = 0; i < l->n; i++) {
        names[i] = l->names[order[i]];
        nodes[i] = l->nodes[order[i]];
    }
    free(l->names);
    free(l->nodes);
    free(order);
    l->names = names;
    l->nodes = nodes;
}

int fs_trash_list(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                  struct fs_trash_listing *out)
{
    uint32_t cap = 0;
    int rc = 0;
    memset(out, 0, sizeof *out);
    switch (n->part) {
    case FS_TRASH_TOP:
        list_add(out, &cap, mem_strdup("expunged"),
                 (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_EXPUNGED});
        list_add(out, &cap, mem_strdup("files"),
                 (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_FILES});
        list_add(out, &cap, mem_strdup("info"),
                 (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_INFO});
        return 0;
    case FS_TRASH_FILES:
    case FS_TRASH_INFO:
        rc = list_deleted(fs, req, n->part == FS_TRASH_INFO, out, &cap);
        if (rc == 0 && n->part == FS_TRASH_INFO) {
            struct scratch_fill f = {out, &cap};
            fs_scratch_each(fs->trash->scratch, isotime_mono_ms(), add_scratch, &f);
        }
        break;
    case FS_TRASH_EXPUNGED:
        return 0;
    default:
        return -ENOTDIR;
    }
    if (rc < 0)
        fs_trash_listing_free(out);
    else
        sort_listing(out);
    return rc;
}

void fs_trash_listing_free(struct fs_trash_listing *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->nodes);
    memset(l, 0, sizeof *l);
}

/* ---- files ------------------------------------------------------------------ */

int fs_trash_open(struct fs *fs, const struct fs_node *n, int flags)
{
    if (n->part == FS_TRASH_SCRATCH) {
        if (flags & O_TRUNC)
            return fs_scratch_truncate(fs->trash->scratch, n->id, 0, isotime_mono_ms());
        size_t len;
        int64_t born;
        return fs_scratch_stat(fs->trash->scratch, n->id, isotime_mono_ms(), &len, &born);
    }
    if (n->part != FS_TRASH_INFOFILE)
        return -EISDIR;
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ? -EACCES : 0;
}

void fs_trash_read(struct fs *fs, fuse_req_t req, const struct fs_node *n, size_t size, off_t off)
{
    char buf[INFO_MAX];
    size_t len;
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (n->part == FS_TRASH_SCRATCH) {
        char *tmp = mem_alloc(size ? size : 1);
        ssize_t got = fs_scratch_read(fs->trash->scratch, n->id, tmp, size, off, isotime_mono_ms());
        if (got < 0)
            fs_reply_err(req, (int)got);
        else
            fuse_reply_buf(req, tmp, (size_t)got);
        free(tmp);
        return;
    }
    int rc = n->part == FS_TRASH_INFOFILE ? info_text(fs, n->id, buf, &len, NULL) : -EISDIR;
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    if ((uint64_t)off >= len)
        fuse_reply_buf(req, NULL, 0);
    else
        fuse_reply_buf(req, buf + off, size < len - (size_t)off ? size : len - (size_t)off);
}

ssize_t fs_trash_write(struct fs *fs, const struct fs_node *n, const char *buf, size_t size,
                       off_t off)
{
    if (n->part != FS_TRASH_SCRATCH)
        return -EACCES;
    return fs_scratch_write(fs->trash->scratch, n->id, buf, size, off, isotime_mono_ms());
}

int fs_trash_setattr(struct fs *fs, const struct fs_node *n, const struct stat *attr, int to_set,
                     struct stat *st)
{
    const int allowed = FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_ATIME |
                        FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
                        FUSE_SET_ATTR_CTIME;
    if (n->part != FS_TRASH_SCRATCH || (to_set & ~allowed))
        return -EACCES;
    int rc = 0;
    if (to_set & FUSE_SET_ATTR_SIZE)
        rc = attr->st_size < 0 ? -EINVAL
                               : fs_scratch_truncate(fs->trash->scratch, n->id,
                                                     (size_t)attr->st_size, isotime_mono_ms());
    if (rc == 0) {
        memset(st, 0, sizeof *st);
        rc = fs_fill_attr(fs, n, NULL, st);
    }
    return rc;
}

int fs_trash_create(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                    struct fuse_entry_param *e)
{
    struct fs_node c;
    if (p->kind != FS_TRASH || p->part != FS_TRASH_INFO)
        return -EACCES;
    int rc = trash_resolve_info(fs, req, name, &c);
    if (rc == 0)
        return -EEXIST;
    if (rc != -ENOENT)
        return rc;
    uint32_t id;
    rc = fs_scratch_create(fs->trash->scratch, name, isotime_mono_ms(), &id);
    if (rc < 0)
        return rc;
    c = (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_SCRATCH, .id = id};
    memset(e, 0, sizeof *e);
    rc = fs_fill_attr(fs, &c, NULL, &e->attr);
    if (rc < 0)
        return rc;
    e->ino = fs_ino_make(&c);
    return 0;
}

int fs_trash_unlink(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name)
{
    if (p->part != FS_TRASH_INFO)
        return -EACCES;
    if (fs_scratch_remove(fs->trash->scratch, name, isotime_mono_ms()) == 0)
        return 0;
    struct fs_node c;
    int rc = trash_resolve_info(fs, req, name, &c);
    /* A generated file goes when its message leaves the Trash. */
    return rc == 0 ? -EPERM : rc;
}

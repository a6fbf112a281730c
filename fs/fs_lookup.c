/*
 * fs_lookup — finding a name in a folder.
 *
 * Positive answers are cached by the kernel for fs->timeout (long): rcfs
 * invalidates what changes itself (fs_events.c).  Negative answers for
 * names rcfs can never produce (leading '.', names in fixed folders) are
 * cached as long; other missing names not at all, since a sync or a restore
 * may bring them.  A lookup never downloads: a file whose size is not known
 * yet is answered with attributes that expire at once, so the stat that
 * follows (getattr) learns the exact size, while `rm`, which only looks
 * names up, costs nothing.
 */
#include <errno.h>
#include <string.h>

#include "fs/fs_internal.h"

/* Names that can never exist here: desktop probes (.hidden, .directory,
 * .Trash, desktop.ini, autorun.inf, ...) are answered from the kernel's
 * negative cache after the first time.  (The mount's own .Trash-UID is
 * found before this is asked.) */
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
    bool fixed = parent->kind == FS_ROOT || parent->kind == FS_EXT ||
                 (parent->kind == FS_TRASH && parent->part == FS_TRASH_TOP);
    if (never_exists(name) || fixed)
        e.entry_timeout = fs->timeout;
    fuse_reply_entry(req, &e);
}

/* A name inside a message folder: meta.json or an attachment. */
static int child_of_message(struct fs *fs, const struct fs_node *p, const char *name,
                            struct fs_node *c, struct mb_msg_info *info)
{
    if (p->sub != FS_SUB_DIR)
        return -ENOTDIR;
    int rc = mb_msg_info(fs->mb, p->slot, info);
    if (rc < 0)
        return rc;
    *c = (struct fs_node){.kind = FS_MSG, .slot = p->slot, .view = p->view};
    if (strcmp(name, MBNAME_META) == 0) {
        c->sub = FS_SUB_META;
        return 0;
    }
    if (strcmp(name, MB_TEXT_NAME) == 0 && mb_text_shown(fs->mb, info)) {
        c->sub = FS_SUB_TEXT;
        return 0;
    }
    for (uint32_t k = 0; k < info->n_att; k++) {
        if (strcmp(info->att[k].name, name) == 0) {
            c->sub = FS_SUB_ATT0 + (int)k;
            return 0;
        }
    }
    return -ENOENT;
}

/* A name inside a type folder, Deleted/ or conversations/. */
static int child_of_folder(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                           struct fs_node *c)
{
    struct mb_call call = fs_call(fs, req);
    if (p->folder == MB_FOLDER_CONVERSATIONS) {
        c->kind = FS_CONV;
        return mb_conv_lookup(fs->mb, &call, p->ext, name, &c->conv);
    }
    if (p->folder == MB_FOLDER_UNREAD) {
        c->kind = FS_ULINK;
        return mb_unread_lookup(fs->mb, &call, p->ext, name, &c->slot);
    }
    c->kind = FS_MSG;
    c->view = p->folder == MB_FOLDER_DELETED ? MB_VIEW_DELETED : MB_VIEW_TYPE;
    c->sub = FS_SUB_DIR;
    return mb_folder_lookup(fs->mb, &call, p->ext, p->folder, name, &c->slot);
}

/* Resolve name in parent p into c.  *have_info: info was filled. */
static int resolve(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                   struct fs_node *c, struct mb_msg_info *info, bool *have_info)
{
    int f;
    *have_info = false;
    switch (p->kind) {
    case FS_ROOT:
        c->kind = FS_EXT;
        return mb_ext_find(fs->mb, name, &c->ext);
    case FS_EXT:
        if (strcmp(name, MB_OBX_NAME) == 0)
            return fs_outbox_at_ext(fs, p->ext, c) ? 0 : -ENOENT;
        f = folder_by_name(name);
        if (f < 0)
            return -ENOENT;
        *c = (struct fs_node){.kind = FS_FOLDER, .ext = p->ext, .folder = f};
        return 0;
    case FS_FOLDER:
        return child_of_folder(fs, req, p, name, c);
    case FS_CONV:
        c->kind = FS_LINK;
        return mb_conv_member(fs->mb, p->conv, name, &c->slot);
    case FS_MSG:
        *have_info = true;
        return child_of_message(fs, p, name, c, info);
    case FS_TRASH:
        return fs_trash_resolve(fs, req, p, name, c);
    case FS_OUTBOX:
        return fs_outbox_resolve(fs, p, name, c);
    default:
        return -ENOTDIR;
    }
}

/* The entry of node c (its attributes, inode number, generation). */
static int entry_of(struct fs *fs, fuse_req_t req, const struct fs_node *c,
                    struct mb_msg_info *info, bool have_info, struct fuse_entry_param *e)
{
    bool is_msg = fs_is_msg_node(c);
    int rc = 0;
    memset(e, 0, sizeof *e);
    if (is_msg && !have_info)
        rc = mb_msg_info(fs->mb, c->slot, info);
    bool stale_record_shows = (c->kind == FS_MSG && c->sub == FS_SUB_META) ||
                              (c->kind == FS_TRASH && c->part == FS_TRASH_INFOFILE);
    if (rc == 0 && stale_record_shows)
        rc = fs_attr_learning(fs, req, c, info, &e->attr); /* a stale record is refreshed */
    else if (rc == 0)
        rc = fs_fill_attr(fs, c, info, &e->attr);
    e->attr_timeout = fs->timeout;
    if (rc == -EAGAIN) {
        /* Size unknown: nothing is cached, so getattr asks (and learns). */
        rc = 0;
        e->attr.st_mode = S_IFREG | fs->file_mode;
        e->attr.st_nlink = 1;
        e->attr.st_uid = fs->uid;
        e->attr.st_gid = fs->gid;
        e->attr.st_ino = fs_ino_make(c);
        e->attr_timeout = 0;
    }
    if (rc < 0)
        return rc;
    e->ino = fs_ino_make(c);
    e->generation = is_msg ? info->gen : 0;
    e->entry_timeout = fs->timeout;
    if (c->kind == FS_TRASH)
        e->entry_timeout = e->attr_timeout = fs_trash_entry_timeout(fs, c);
    return 0;
}

int fs_lookup_entry(struct fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name,
                    struct fuse_entry_param *e)
{
    struct fs_node p, c = {0};
    struct mb_msg_info info;
    bool have_info;
    if (!fs_ino_parse(parent, &p))
        return -ENOENT;
    if (p.kind == FS_ROOT && fs_trash_is_top(fs->trash, name)) {
        c = (struct fs_node){.kind = FS_TRASH, .part = FS_TRASH_TOP};
        return entry_of(fs, req, &c, &info, false, e);
    }
    /* The Outbox takes any name (editors' and copiers' temporaries too). */
    if (never_exists(name) && (p.kind != FS_MSG || p.sub != FS_SUB_DIR) && p.kind != FS_OUTBOX)
        return -ENOENT;
    int rc = resolve(fs, req, &p, name, &c, &info, &have_info);
    return rc < 0 ? rc : entry_of(fs, req, &c, &info, have_info, e);
}

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fuse_req_userdata(req);
    struct fs_node p;
    struct fuse_entry_param e;
    if (!fs_ino_parse(parent, &p)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    /* The live thread is creating this entry (fs_live.c): the kernel must
     * find it missing, so the mkdir or symlink reaches us; or removing it:
     * the kernel must find it as it was, so the rmdir or unlink does. */
    uint64_t was;
    if (fs_live_pending(fs->live, req, parent, name, &was)) {
        struct fs_node c;
        struct mb_msg_info info;
        if (!was || !fs_ino_parse(was, &c) || entry_of(fs, req, &c, &info, false, &e) < 0)
            fuse_reply_entry(req, &(struct fuse_entry_param){0});
        else
            fuse_reply_entry(req, &e);
        return;
    }
    int rc = fs_lookup_entry(fs, req, parent, name, &e);
    if (rc == -ENOENT)
        reply_negative(req, fs, &p, name);
    else if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_entry(req, &e);
}

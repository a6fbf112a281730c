/* fs_trash_move — the desktop Trash's changes: moves into and out of it,
 * purges, and what mailbox changes mean for it (see fs_trash.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_scratch.h"
#include "fs/fs_trash.h"
#include "fs/fs_trash_int.h"
#include "fs/fs_trashinfo.h"
#include "util/isotime.h"
#include "util/mem.h"

/* Purge files/NAME (slot) as a removal inside Deleted/ does. */
static int purge(struct fs *fs, fuse_req_t req, uint32_t slot)
{
    struct mb_call c = fs_user_call(fs, req);
    int rc = mb_remove(fs->mb, &c, slot, MB_FOLDER_DELETED);
    if (rc == 0)
        mb_remove_done(fs->mb, slot, MB_FOLDER_DELETED);
    return rc;
}

int fs_trash_rmdir(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name)
{
    if (p->part != FS_TRASH_FILES)
        return p->part == FS_TRASH_INFO ? -ENOTDIR : -EACCES;
    uint32_t slot;
    int rc = trash_find_deleted(fs, req, name, &slot);
    if (rc == 0) {
        trash_own_op = true;
        rc = purge(fs, req, slot);
        trash_own_op = false;
    }
    return rc;
}

/* ---- renames ------------------------------------------------------------------- */

/* What a rename into files/ moves: a message (*slot) or a conversation
 * (*conv).  Returns 0, or -errno. */
static int trash_source(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                        uint32_t *slot, uint32_t *conv)
{
    struct mb_call c = fs_call(fs, req);
    *conv = UINT32_MAX;
    switch (p->kind) {
    case FS_FOLDER:
        if (p->folder == MB_FOLDER_CONVERSATIONS)
            return mb_conv_lookup(fs->mb, &c, p->ext, name, conv);
        if (p->folder == MB_FOLDER_UNREAD)
            return mb_unread_lookup(fs->mb, &c, p->ext, name, slot);
        return mb_folder_lookup(fs->mb, &c, p->ext, p->folder, name, slot);
    case FS_CONV:
        return mb_conv_member(fs->mb, p->conv, name, slot);
    case FS_MSG:
        /* A file of a message folder: `rm` of it deletes the message too. */
        *slot = p->slot;
        return p->sub == FS_SUB_DIR ? 0 : -ENOTDIR;
    default:
        return -EINVAL;
    }
}

/* rename p/name -> files/newname: to the server's trash. */
static int move_in(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                   const char *newname)
{
    uint32_t slot, conv;
    struct mb_msg_info info;
    struct mb_call c = fs_user_call(fs, req);
    int rc = trash_source(fs, req, p, name, &slot, &conv);
    if (rc == 0 && conv != UINT32_MAX)
        rc = mb_trash_conv(fs->mb, &c, conv);
    else if (rc == 0)
        rc = mb_msg_info(fs->mb, slot, &info);
    if (rc == 0 && conv == UINT32_MAX && info.availability != REC_DELETED)
        rc = mb_trash(fs->mb, &c, slot);
    if (rc < 0)
        return rc;
    /* The kernel moved the entry it had (another view, a file, a link or a
     * conversation) to files/newname: it must ask again.  The desktop's
     * scratch info file gives way to the generated one. */
    char *info_name = mem_printf("%s%s", newname, FS_TRASHINFO_SUFFIX);
    fs_scratch_remove(fs->trash->scratch, info_name, isotime_mono_ms());
    fs_notify_entry(fs->notify, trash_part_ino(FS_TRASH_FILES, 0), newname);
    fs_notify_entry(fs->notify, trash_part_ino(FS_TRASH_INFO, 0), info_name);
    fs_notify_inode(fs->notify, trash_part_ino(FS_TRASH_INFO, 0));
    free(info_name);
    return 0;
}

/* rename files/name -> q/newname: restore (q its type folder), nothing (q
 * its Deleted/) or purge (q expunged/). */
static int move_out(struct fs *fs, fuse_req_t req, const char *name, const struct fs_node *q,
                    const char *newname)
{
    uint32_t slot;
    struct mb_msg_info info;
    struct mb_call c = fs_user_call(fs, req);
    int rc = trash_find_deleted(fs, req, name, &slot);
    if (rc == 0)
        rc = mb_msg_info(fs->mb, slot, &info);
    if (rc < 0)
        return rc;
    if (q->kind == FS_TRASH && q->part == FS_TRASH_EXPUNGED) {
        rc = purge(fs, req, slot);
        if (rc == 0)
            fs_notify_entry(fs->notify, trash_part_ino(FS_TRASH_EXPUNGED, 0), newname);
        return rc;
    }
    if (q->kind != FS_FOLDER)
        return -EINVAL;
    if (q->ext != info.ext)
        return -EXDEV;
    /* Back where Path= says it was, under its own name. */
    if (strcmp(name, newname) != 0 ||
        (q->folder != (int)info.type && q->folder != MB_FOLDER_DELETED))
        return -EINVAL;
    rc = q->folder == MB_FOLDER_DELETED ? 0 : mb_restore(fs->mb, &c, slot);
    if (rc == 0) /* the kernel moved the Trash's view of it there */
        fs_notify_entry(fs->notify, fs_ino_make(q), newname);
    return rc;
}

/* rename within info/: the desktop's write-then-rename of its info file.
 * Onto a generated file it is discarded (the generated one stays). */
static int move_info(struct fs *fs, fuse_req_t req, const char *name, const char *newname)
{
    struct fs_node c;
    int64_t now = isotime_mono_ms();
    uint32_t id;
    if (fs_scratch_find(fs->trash->scratch, name, now, &id) < 0)
        return trash_resolve_info(fs, req, name, &c) == 0 ? -EPERM : -ENOENT;
    if (trash_resolve_info(fs, req, newname, &c) == 0 && c.part == FS_TRASH_INFOFILE) {
        fs_scratch_remove(fs->trash->scratch, name, now);
        fs_notify_entry(fs->notify, trash_part_ino(FS_TRASH_INFO, 0), newname);
        return 0;
    }
    return fs_scratch_rename(fs->trash->scratch, name, newname, now);
}

int fs_trash_rename(struct fs *fs, fuse_req_t req, const struct fs_node *p, const char *name,
                    const struct fs_node *q, const char *newname)
{
    bool p_trash = p->kind == FS_TRASH, q_trash = q->kind == FS_TRASH;
    int rc;
    trash_own_op = true;
    if (q_trash && q->part == FS_TRASH_FILES && !p_trash)
        rc = move_in(fs, req, p, name, newname);
    else if (p_trash && p->part == FS_TRASH_FILES && !(q_trash && q->part != FS_TRASH_EXPUNGED))
        rc = move_out(fs, req, name, q, newname);
    else if (p_trash && q_trash && p->part == FS_TRASH_INFO && q->part == FS_TRASH_INFO)
        rc = move_info(fs, req, name, newname);
    else
        rc = p_trash && q_trash ? -EINVAL : -EXDEV;
    trash_own_op = false;
    return rc;
}

/* ---- mailbox changes ------------------------------------------------------------- */

void fs_trash_folder_changed(struct fs *fs, bool in_change)
{
    if (!fs->trash->seen)
        return;
    for (int part = FS_TRASH_FILES; part <= FS_TRASH_INFO; part++) {
        if (in_change)
            fs_notify_inode(fs->notify, trash_part_ino(part, 0));
        else
            fs_notify_inode_async(fs->notify, trash_part_ino(part, 0));
    }
}

void fs_trash_entry(struct fs *fs, const char *name, uint32_t slot, bool gone)
{
    struct fs_trash *t = fs->trash;
    if (!t->seen)
        return;
    uint64_t files = trash_part_ino(FS_TRASH_FILES, 0);
    char *info_name = mem_printf("%s%s", name, FS_TRASHINFO_SUFFIX);
    fs_notify_entry(fs->notify, files, name);
    fs_notify_entry(fs->notify, trash_part_ino(FS_TRASH_INFO, 0), info_name);
    free(info_name);
    if (trash_own_op)
        return; /* this request's own rename or rmdir raises the events */
    char *path = mem_printf("%s/files/%s", t->top, name);
    struct fs_node n = trash_msg_node(slot);
    if (gone)
        fs_live_remove(fs->live, files, path, name, fs_ino_make(&n), true);
    else
        fs_live_mkdir(fs->live, files, path, name);
    free(path);
}

void fs_trash_message_changed(struct fs *fs, uint32_t slot, bool in_change)
{
    if (!fs->trash->seen)
        return;
    /* The folder's attributes and listing, meta.json, and the info file
     * (its DeletionDate). */
    struct fs_node n = trash_msg_node(slot);
    uint64_t inos[3] = {fs_ino_make(&n), 0, trash_part_ino(FS_TRASH_INFOFILE, slot)};
    n.sub = FS_SUB_META;
    inos[1] = fs_ino_make(&n);
    for (size_t i = 0; i < 3; i++) {
        if (in_change)
            fs_notify_inode(fs->notify, inos[i]);
        else
            fs_notify_inode_async(fs->notify, inos[i]);
    }
}

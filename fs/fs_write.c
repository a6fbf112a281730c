/*
 * fs_write — the handlers that change the mailbox: unlink, rmdir, rename,
 * setattr.  (readStatus is in fs_xattr.c.)
 *
 *   unlink of any file in a message folder, rmdir of a message folder
 *       -> delete the message (to the server's trash; purge when in Deleted/)
 *   unlink of an entry in conversations/X/ -> delete that message
 *   unlink of an entry in Unread/          -> mark that message read
 *   rmdir of an emptied conversations/X    -> succeeds
 *   rename Deleted/MSG -> <its type folder>/MSG -> restore
 *   rename <type>/MSG  -> Deleted/MSG           -> delete (to the trash)
 *   rename conversations/X -> Deleted/X        -> the conversation to the trash
 *   anything in or into the desktop Trash      -> fs_trash.c
 *   setattr (touch) of the root              -> sync with the server now
 *   anything under EXT/Outbox/               -> fs_outbox.c
 * Anything else that would change the tree is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"
#include "util/log.h"

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static void do_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node p;
    struct mb_msg_info info;
    int rc;
    if (!fs_ino_parse(parent, &p)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (p.kind == FS_OUTBOX) {
        fs_outbox_unlink(req, &p, name);
        return;
    }
    struct mb_call c = fs_user_call(fs, req);
    if (p.kind == FS_TRASH) {
        fs_reply_err(req, fs_trash_unlink(fs, req, &p, name));
        return;
    }
    if (p.kind == FS_MSG && p.sub == FS_SUB_DIR) {
        rc = mb_msg_info(fs->mb, p.slot, &info);
        if (rc < 0) {
            fs_reply_err(req, rc);
            return;
        }
        bool found = strcmp(name, MBNAME_META) == 0;
        for (uint32_t k = 0; !found && k < info.n_att; k++)
            found = strcmp(info.att[k].name, name) == 0;
        found = found || (strcmp(name, MB_TEXT_NAME) == 0 && mb_text_shown(fs->mb, &info));
        if (!found) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        rc = mb_remove(fs->mb, &c, p.slot, fs_view_folder(&info, p.view));
        fs_reply_err(req, rc);
        return;
    }
    if (p.kind == FS_CONV) {
        uint32_t slot;
        rc = mb_conv_member(fs->mb, p.conv, name, &slot);
        if (rc == 0)
            rc = mb_remove(fs->mb, &c, slot, MB_FOLDER_CONVERSATIONS);
        fs_reply_err(req, rc);
        return;
    }
    if (p.kind == FS_FOLDER && p.folder == MB_FOLDER_UNREAD) {
        /* rm Unread/X marks X read: it leaves Unread/. */
        uint32_t slot;
        rc = mb_unread_lookup(fs->mb, &c, p.ext, name, &slot);
        if (rc == 0)
            rc = mb_set_read(fs->mb, &c, slot, REC_READ);
        fs_reply_err(req, rc);
        return;
    }
    fuse_reply_err(req, EACCES);
}

static void do_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node p;
    int rc;
    if (!fs_ino_parse(parent, &p)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (p.kind == FS_TRASH) {
        fs_reply_err(req, fs_trash_rmdir(fs, req, &p, name));
        return;
    }
    if (p.kind == FS_OUTBOX) {
        fs_outbox_rmdir(req, &p, name);
        return;
    }
    if (p.kind != FS_FOLDER) {
        fuse_reply_err(req, p.kind == FS_MSG ? ENOTDIR : EACCES);
        return;
    }
    struct mb_call c = fs_user_call(fs, req);
    if (p.folder == MB_FOLDER_CONVERSATIONS) {
        rc = mb_conv_remove(fs->mb, p.ext, name);
        fs_reply_err(req, rc);
        return;
    }
    uint32_t slot;
    rc = mb_folder_lookup(fs->mb, &c, p.ext, p.folder, name, &slot);
    if (rc == 0)
        rc = mb_remove(fs->mb, &c, slot, p.folder);
    if (rc == 0)
        mb_remove_done(fs->mb, slot, p.folder);
    fs_reply_err(req, rc);
}

/* mv EXT/conversations/X EXT/Deleted/: the whole conversation to the trash
 * (one request).  The folder X then disappears from conversations/ and
 * never shows in Deleted/ (its messages do, each as itself). */
static int trash_conversation(struct fs *fs, fuse_req_t req, const struct fs_node *p,
                              const struct fs_node *q, const char *name, const char *newname)
{
    if (p->ext != q->ext)
        return -EXDEV;
    if (strcmp(name, newname) != 0)
        return -EINVAL;
    struct mb_call c = fs_user_call(fs, req);
    uint32_t conv;
    int rc = mb_conv_lookup(fs->mb, &c, p->ext, name, &conv);
    if (rc == 0)
        rc = mb_trash_conv(fs->mb, &c, conv);
    if (rc == 0) /* the kernel moved its dentry there: it is not a real entry */
        fs_notify_entry(fs->notify, fs_ino_make(q), newname);
    return rc;
}

static void do_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    struct fs *fs = fs_of(req);
    struct fs_node p, q;
    if (!fs_ino_parse(parent, &p) || !fs_ino_parse(newparent, &q)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (p.kind == FS_OUTBOX || q.kind == FS_OUTBOX) {
        fs_outbox_rename(req, &p, name, &q, newname, flags);
        return;
    }
    if (flags & ~(unsigned)RENAME_NOREPLACE) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (p.kind == FS_TRASH || q.kind == FS_TRASH) {
        fs_reply_err(req, fs_trash_rename(fs, req, &p, name, &q, newname));
        return;
    }
    if (p.kind == FS_FOLDER && q.kind == FS_FOLDER && p.folder == MB_FOLDER_CONVERSATIONS &&
        q.folder == MB_FOLDER_DELETED) {
        fs_reply_err(req, trash_conversation(fs, req, &p, &q, name, newname));
        return;
    }
    if (p.kind != FS_FOLDER || q.kind != FS_FOLDER || p.folder > MB_FOLDER_DELETED ||
        q.folder > MB_FOLDER_DELETED) {
        fuse_reply_err(req, p.kind == FS_FOLDER && q.kind == FS_FOLDER ? EINVAL : EXDEV);
        return;
    }
    if (p.ext != q.ext) {
        fuse_reply_err(req, EXDEV);
        return;
    }
    /* Folder names never change, and only moves in or out of Deleted/ mean anything. */
    if (strcmp(name, newname) != 0 || p.folder == q.folder ||
        (p.folder != MB_FOLDER_DELETED && q.folder != MB_FOLDER_DELETED)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    struct mb_call c = fs_user_call(fs, req);
    uint32_t slot;
    int rc = mb_folder_lookup(fs->mb, &c, p.ext, p.folder, name, &slot);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    struct mb_msg_info info;
    rc = mb_msg_info(fs->mb, slot, &info);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    if (p.folder == MB_FOLDER_DELETED) {
        /* Restore: only into its own type folder. */
        if (q.folder != (int)info.type) {
            fuse_reply_err(req, EINVAL);
            return;
        }
        rc = mb_restore(fs->mb, &c, slot);
    } else {
        rc = mb_trash(fs->mb, &c, slot);
    }
    fs_reply_err(req, rc);
}

/* The handlers change the mailbox: invalidations go out before the reply. */
void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (fs_live_own(fs_of(req)->live, req)) {
        fuse_reply_err(req, 0); /* the live thread's: the kernel raises IN_DELETE */
        return;
    }
    fs_change_begin();
    do_unlink(req, parent, name);
    fs_change_end();
}

void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (fs_live_own(fs_of(req)->live, req)) {
        fuse_reply_err(req, 0); /* the live thread's: the kernel raises IN_DELETE */
        return;
    }
    fs_change_begin();
    do_rmdir(req, parent, name);
    fs_change_end();
}

void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags)
{
    fs_change_begin();
    do_rename(req, parent, name, newparent, newname, flags);
    fs_change_end();
}

void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (n.kind == FS_OUTBOX) {
        fs_outbox_setattr(req, &n, attr, to_set);
        return;
    }
    const int times = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                      FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;
    if (n.kind == FS_TRASH) {
        struct stat st;
        int rc = fs_trash_setattr(fs, &n, attr, to_set, &st);
        if (rc < 0)
            fs_reply_err(req, rc);
        else
            fuse_reply_attr(req, &st, 0);
        return;
    }
    if (n.kind == FS_ROOT && !(to_set & ~times)) {
        /* `touch MOUNT`: ask the server what changed, now. */
        fs_refresh(fs);
        struct stat st;
        fs_fill_attr(fs, &n, NULL, &st);
        fuse_reply_attr(req, &st, fs->timeout);
        return;
    }
    fuse_reply_err(req, EACCES);
}

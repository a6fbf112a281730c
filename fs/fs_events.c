/*
 * fs_events — mailbox changes told to the kernel.
 *
 * rcfs answers lookups and attributes with long timeouts and keeps readdir
 * results and file pages in the kernel, so every change the mailbox
 * reports becomes an invalidation (through fs_notify, which knows which
 * ones may be sent from where).
 */
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* Set while this thread runs a handler that changes the mailbox (unlink,
 * rmdir, rename, setxattr, the refresh): there, inode invalidations are sent
 * at once, so the change shows when the system call returns; anywhere else
 * (reads, listings, the sync thread) they are queued (see fs_notify.h). */
static __thread bool in_change;

void fs_change_begin(void)
{
    in_change = true;
}

void fs_change_end(void)
{
    in_change = false;
}

static void inval_inode(struct fs *fs, uint64_t ino)
{
    if (in_change)
        fs_notify_inode(fs->notify, ino);
    else
        fs_notify_inode_async(fs->notify, ino);
}

static uint64_t folder_ino(uint32_t ext, int folder)
{
    struct fs_node n = {.kind = FS_FOLDER, .ext = ext, .folder = folder};
    return fs_ino_make(&n);
}

/* The node of an entry of folder `folder` (id: slot or conversation). */
static struct fs_node entry_node(int folder, uint32_t id)
{
    if (folder == MB_FOLDER_CONVERSATIONS)
        return (struct fs_node){.kind = FS_CONV, .conv = id};
    if (folder == MB_FOLDER_UNREAD)
        return (struct fs_node){.kind = FS_ULINK, .slot = id};
    return (struct fs_node){.kind = FS_MSG,
                            .slot = id,
                            .view = folder == MB_FOLDER_DELETED ? MB_VIEW_DELETED : MB_VIEW_TYPE,
                            .sub = FS_SUB_DIR};
}

static void ev_folder_changed(void *ctx, uint32_t ext, int folder)
{
    struct fs *fs = ctx;
    inval_inode(fs, folder_ino(ext, folder));
    if (folder == MB_FOLDER_DELETED)
        fs_trash_folder_changed(fs, in_change);
}

/* An entry left folder `folder` of ext: the kernel forgets it, and, when
 * the change came from elsewhere, the live thread's rmdir or unlink makes
 * watchers of the folder see IN_DELETE.  Not during a handler's own change:
 * its system call removes what it removes (and an `rm -r` still inside the
 * message folder must be able to finish, see MB_REMOVAL_GRACE_MS). */
static void ev_entry_gone(void *ctx, uint32_t ext, int folder, const char *name, uint32_t id)
{
    struct fs *fs = ctx;
    struct fs_node child = entry_node(folder, id);
    uint64_t parent = folder_ino(ext, folder), ino = fs_ino_make(&child);
    fs_notify_entry(fs->notify, parent, name);
    if (folder == MB_FOLDER_DELETED)
        fs_trash_entry(fs, name, id, true);
    const char *ext_name = mb_ext_name(fs->mb, ext);
    if (!ext_name || in_change)
        return; /* the handler's own system call removes it, events included */
    char *path = mem_printf("%s/%s/%s", ext_name, mb_folder_name(folder), name);
    fs_live_remove(fs->live, parent, path, name, ino, folder != MB_FOLDER_UNREAD);
    free(path);
}

static void ev_entry_new(void *ctx, uint32_t ext, int folder, const char *name, uint32_t id)
{
    struct fs *fs = ctx;
    const char *ext_name = mb_ext_name(fs->mb, ext);
    struct mb_msg_info info;
    if (!ext_name)
        return;
    if (folder == MB_FOLDER_DELETED)
        fs_trash_entry(fs, name, id, false);
    char *path = mem_printf("%s/%s/%s", ext_name, mb_folder_name(folder), name);
    if (folder != MB_FOLDER_UNREAD) {
        fs_live_mkdir(fs->live, folder_ino(ext, folder), path, name);
    } else if (mb_msg_info(fs->mb, id, &info) == 0) {
        char target[2 * MBNAME_MAX + 16];
        struct fs_node link = entry_node(folder, id);
        fs_link_target(&link, &info, target, sizeof target);
        fs_live_symlink(fs->live, folder_ino(ext, folder), path, name, target);
    }
    free(path);
}

static void ev_member_new(void *ctx, uint32_t conv, const char *name, uint32_t slot)
{
    struct fs *fs = ctx;
    uint32_t ext;
    const char *conv_name, *ext_name;
    struct mb_msg_info info;
    if (mb_conv_where(fs->mb, conv, &ext, &conv_name) < 0 ||
        !(ext_name = mb_ext_name(fs->mb, ext)) || mb_msg_info(fs->mb, slot, &info) < 0)
        return;
    char target[2 * MBNAME_MAX + 16];
    struct fs_node link = {.kind = FS_LINK, .slot = slot}, cv = {.kind = FS_CONV, .conv = conv};
    fs_link_target(&link, &info, target, sizeof target);
    char *path = mem_printf("%s/%s/%s/%s", ext_name, mb_folder_name(MB_FOLDER_CONVERSATIONS),
                            conv_name, name);
    fs_live_symlink(fs->live, fs_ino_make(&cv), path, name, target);
    free(path);
}

static void ev_message_changed(void *ctx, uint32_t slot)
{
    struct fs *fs = ctx;
    for (int view = 0; view < 2; view++) {
        struct fs_node n = {.kind = FS_MSG, .slot = slot, .view = view, .sub = FS_SUB_DIR};
        inval_inode(fs, fs_ino_make(&n)); /* attributes and listing */
        n.sub = FS_SUB_META;
        inval_inode(fs, fs_ino_make(&n)); /* size, mtime and pages */
    }
    fs_trash_message_changed(fs, slot, in_change);
    /* Watchers of its folder see IN_ATTRIB, as for a local chmod (twice
     * when a handler's own setxattr also raised one: harmless). */
    struct mb_msg_info info;
    if (mb_msg_info(fs->mb, slot, &info) < 0 || info.availability == REC_PURGED)
        return;
    int folder = info.availability == REC_DELETED ? MB_FOLDER_DELETED : (int)info.type;
    const char *ext_name = mb_ext_name(fs->mb, info.ext);
    if (!ext_name || !mb_folder_listed(fs->mb, info.ext, folder))
        return;
    char *path = mem_printf("%s/%s/%s", ext_name, mb_folder_name(folder), info.name);
    fs_live_attrib(fs->live, path);
    free(path);
}

static void ev_conversation_changed(void *ctx, uint32_t conv, const char *name_gone,
                                    uint32_t slot_gone)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_CONV, .conv = conv};
    inval_inode(fs, fs_ino_make(&n));
    if (!name_gone)
        return;
    struct fs_node link = {.kind = FS_LINK, .slot = slot_gone};
    fs_notify_entry(fs->notify, fs_ino_make(&n), name_gone);
    uint32_t ext;
    const char *conv_name, *ext_name;
    if (in_change || mb_conv_where(fs->mb, conv, &ext, &conv_name) < 0 ||
        !(ext_name = mb_ext_name(fs->mb, ext)))
        return;
    char *path = mem_printf("%s/%s/%s/%s", ext_name, mb_folder_name(MB_FOLDER_CONVERSATIONS),
                            conv_name, name_gone);
    fs_live_remove(fs->live, fs_ino_make(&n), path, name_gone, fs_ino_make(&link), false);
    free(path);
}

static void ev_conversation_gone(void *ctx, uint32_t ext, const char *name, uint32_t conv)
{
    struct fs *fs = ctx;
    struct fs_node cv = {.kind = FS_CONV, .conv = conv};
    uint64_t parent = folder_ino(ext, MB_FOLDER_CONVERSATIONS);
    fs_notify_entry(fs->notify, parent, name);
    const char *ext_name = mb_ext_name(fs->mb, ext);
    if (in_change || !ext_name)
        return;
    char *path = mem_printf("%s/%s/%s", ext_name, mb_folder_name(MB_FOLDER_CONVERSATIONS), name);
    fs_live_remove(fs->live, parent, path, name, fs_ino_make(&cv), true);
    free(path);
}

static void ev_extension_gone(void *ctx, uint32_t ext, const char *name)
{
    struct fs *fs = ctx;
    inval_inode(fs, FUSE_ROOT_ID);
    fs_notify_entry(fs->notify, FUSE_ROOT_ID, name);
}

static void ev_message_arrived(void *ctx, uint32_t slot)
{
    struct fs *fs = ctx;
    desknote_add(fs->desknote, slot);
}

/* A full cache disk: idle open attachments give up their pins. */
static int ev_release_idle(void *ctx)
{
    struct fs *fs = ctx;
    return fs_lru_drop_idle(fs->files);
}

struct mb_events fs_events(struct fs *fs)
{
    return (struct mb_events){
        .ctx = fs,
        .folder_changed = ev_folder_changed,
        .entry_gone = ev_entry_gone,
        .entry_new = ev_entry_new,
        .member_new = ev_member_new,
        .message_changed = ev_message_changed,
        .conversation_changed = ev_conversation_changed,
        .conversation_gone = ev_conversation_gone,
        .extension_gone = ev_extension_gone,
        .release_idle = ev_release_idle,
        .message_arrived = ev_message_arrived,
        .outbox_gone = fs_outbox_gone,
    };
}

int fs_refresh(struct fs *fs)
{
    int rc = mb_refresh_wait(fs->mb, isotime_mono_ms() + (int64_t)fs->call_timeout_s * 1000);
    if (rc < 0)
        log_warn("refresh: %s", strerror(-rc));
    /* The sync thread queued its invalidations: let them land first, so the
     * next ls sees the new state.  Bounded: this handler holds the root's
     * lock (touch and setxattr of MOUNT), which an invalidation in the root
     * needs.  The live thread's events are not waited for at all: its path
     * walks go through the root, so they wait for this call to return. */
    fs_notify_flush(fs->notify, isotime_mono_ms() + 2000);
    return rc;
}

/*
 * fs_events — mailbox changes told to the kernel.
 *
 * rcfs answers lookups and attributes with long timeouts and keeps readdir
 * results and file pages in the kernel, so every change the mailbox
 * reports becomes an invalidation (through fs_notify, which knows which
 * ones may be sent from where).
 */
#include <string.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"
#include "util/log.h"

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

static void ev_folder_changed(void *ctx, uint32_t ext, int folder)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_FOLDER, .ext = ext, .folder = folder};
    inval_inode(fs, fs_ino_make(&n));
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
    for (int view = 0; view < 2; view++) {
        struct fs_node n = {.kind = FS_MSG, .slot = slot, .view = view, .sub = FS_SUB_DIR};
        inval_inode(fs, fs_ino_make(&n)); /* attributes and listing */
        n.sub = FS_SUB_META;
        inval_inode(fs, fs_ino_make(&n)); /* size, mtime and pages */
    }
}

static void ev_conversation_changed(void *ctx, uint32_t conv, const char *name_gone)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_CONV, .conv = conv};
    inval_inode(fs, fs_ino_make(&n));
    if (name_gone)
        fs_notify_entry(fs->notify, fs_ino_make(&n), name_gone);
}

static void ev_conversation_gone(void *ctx, uint32_t ext, const char *name)
{
    struct fs *fs = ctx;
    struct fs_node n = {.kind = FS_FOLDER, .ext = ext, .folder = MB_FOLDER_CONVERSATIONS};
    fs_notify_entry(fs->notify, fs_ino_make(&n), name);
}

static void ev_extension_gone(void *ctx, uint32_t ext, const char *name)
{
    struct fs *fs = ctx;
    inval_inode(fs, FUSE_ROOT_ID);
    fs_notify_entry(fs->notify, FUSE_ROOT_ID, name);
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
        .message_changed = ev_message_changed,
        .conversation_changed = ev_conversation_changed,
        .conversation_gone = ev_conversation_gone,
        .extension_gone = ev_extension_gone,
        .release_idle = ev_release_idle,
        .outbox_gone = fs_outbox_gone,
    };
}

int fs_refresh(struct fs *fs)
{
    int rc = mb_refresh_wait(fs->mb, isotime_mono_ms() + (int64_t)fs->call_timeout_s * 1000);
    if (rc < 0)
        log_warn("refresh: %s", strerror(-rc));
    /* The sync thread queued its invalidations: let them land first. */
    fs_notify_flush(fs->notify);
    return rc;
}

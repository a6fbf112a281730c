/*
 * fs_attr — the attributes rcfs shows: kinds, permission bits and owners
 * (private to the mounting user unless uid=, gid=, umask= widen them),
 * exact sizes (st_blocks to match, so du tells the truth) and times
 * (folders and attachments: the message's creationTime; meta.json: its
 * lastModifiedTime; other folders: when the mailbox was first built).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/fs_internal.h"

int fs_view_folder(const struct mb_msg_info *info, int view)
{
    return view == MB_VIEW_TYPE ? (int)info->type : MB_FOLDER_DELETED;
}

size_t fs_link_target(const struct fs_node *node, const struct mb_msg_info *info, char *buf,
                      size_t cap)
{
    /* conversations/X/NAME is two levels below the extension, Unread/NAME one. */
    const char *up = node->kind == FS_ULINK ? "../" : "../../";
    int n = snprintf(buf, cap, "%s%s/%s", up, mb_folder_name(info->type), info->name);
    return n < 0 ? 0 : (size_t)n;
}

mode_t fs_node_type(const struct fs_node *n)
{
    switch (n->kind) {
    case FS_LINK:
    case FS_ULINK:
        return S_IFLNK;
    case FS_MSG:
        return n->sub == FS_SUB_DIR ? S_IFDIR : S_IFREG;
    case FS_TRASH:
        return n->part == FS_TRASH_INFOFILE || n->part == FS_TRASH_SCRATCH ? S_IFREG : S_IFDIR;
    case FS_OUTBOX:
        return fs_outbox_is_file(n) ? S_IFREG : S_IFDIR;
    default:
        return S_IFDIR;
    }
}

static void set_times(struct stat *st, int64_t ms)
{
    st->st_mtim.tv_sec = ms / 1000;
    st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
}

static void set_dir(struct fs *fs, struct stat *st, nlink_t nlink)
{
    st->st_mode = S_IFDIR | fs->dir_mode;
    st->st_nlink = nlink;
}

/* A message node: its folder, meta.json or an attachment. */
static int fill_message(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                        struct stat *st)
{
    if (n->sub == FS_SUB_DIR) {
        set_dir(fs, st, 2);
        set_times(st, info->creation_ms);
        return 0;
    }
    st->st_mode = S_IFREG | fs->file_mode;
    st->st_nlink = 1;
    if (n->sub == FS_SUB_META) {
        st->st_size = info->meta_len;
        set_times(st, info->modified_ms);
    } else if (n->sub == FS_SUB_TEXT) {
        int rc = fs_text_attr(fs, n, info, st);
        if (rc < 0)
            return rc;
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
        set_dir(fs, st, 1);
        return 0;
    case FS_CONV:
        set_dir(fs, st, 2);
        return 0;
    case FS_LINK:
    case FS_ULINK: {
        char target[2 * MBNAME_MAX + 16];
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)fs_link_target(n, info, target, sizeof target);
        set_times(st, info->creation_ms);
        return 0;
    }
    case FS_MSG:
        return fill_message(fs, n, info, st);
    case FS_TRASH:
        return fs_trash_attr(fs, n, st);
    case FS_OUTBOX:
        return fs_outbox_attr(fs, n, st);
    default:
        return -ENOENT;
    }
}

int fs_attr_learning(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                     struct mb_msg_info *info, struct stat *st)
{
    if (n->kind == FS_TRASH && n->part == FS_TRASH_INFOFILE) {
        /* DeletionDate: the record as the server has it after this mount's DELETE. */
        struct mb_call c = fs_call(fs, req);
        mb_meta_refresh(fs->mb, &c, n->id);
    }
    if (n->kind == FS_OUTBOX)
        return fs_outbox_attr_learning(fs, req, n, st);
    if (n->kind == FS_MSG && n->sub == FS_SUB_META) {
        /* Its size must be the record it will show. */
        struct mb_call c = fs_call(fs, req);
        mb_meta_refresh(fs->mb, &c, n->slot);
        int rc = mb_msg_info(fs->mb, n->slot, info);
        if (rc < 0)
            return rc;
    }
    int rc = fs_fill_attr(fs, n, info, st);
    if (rc != -EAGAIN)
        return rc;
    struct mb_call c = fs_call(fs, req);
    /* Learning a size may download the file: not for a refused thumbnailer. */
    if (fs->no_thumbnails && c.prio == MB_PRIO_BACKGROUND)
        return -EACCES;
    int64_t size;
    if (n->sub == FS_SUB_TEXT) /* the fax downloaded if needed, and read */
        rc = mb_text_size(fs->mb, &c, n->slot, &size);
    else
        rc = mb_att_size(fs->mb, &c, n->slot, (uint32_t)(n->sub - FS_SUB_ATT0), &size);
    if (rc < 0)
        return rc;
    rc = mb_msg_info(fs->mb, n->slot, info);
    return rc < 0 ? rc : fs_fill_attr(fs, n, info, st);
}

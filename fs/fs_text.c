/*
 * fs_text — fax.txt, the text of a fax, as the filesystem shows it.
 *
 * Every fax message folder (when OCR is on) lists fax.txt after the fax's
 * own files, so `grep -r` reads the fax (one download) before its text,
 * which then costs no second download.  Its size is unknown until the text
 * exists, as for attachments the server gives no size for: a lookup answers
 * attributes that expire at once, getattr makes the text (mb_text_size:
 * download if needed, OCR; bounded by the call's deadline), and readdirplus
 * gives the name alone.  Its mtime is the message's creationTime, like the
 * fax itself.  The content comes from the content cache, through the same
 * handle-less open-file table as attachments (fs_file.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "fs/fs_internal.h"

const char *fs_text_helper(void)
{
    const char *env = getenv("RCFS_OCR_HELPER");
    return env && env[0] ? env : RCFS_OCR_HELPER;
}

int fs_text_attr(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                 struct stat *st)
{
    if (!mb_text_shown(fs->mb, info))
        return -ENOENT;
    int64_t size = mb_text_known_size(fs->mb, n->slot);
    if (size < 0)
        return -EAGAIN; /* the caller learns it (mb_text_size) and asks again */
    st->st_size = size;
    st->st_mtim.tv_sec = info->creation_ms / 1000;
    st->st_mtim.tv_nsec = (info->creation_ms % 1000) * 1000000;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
    return 0;
}

int fs_text_open(struct fs *fs, fuse_req_t req, uint32_t slot, struct mb_open_att *out)
{
    struct mb_call call = fs_call(fs, req);
    /* As for attachments: a refused thumbnailer gets only what is made. */
    if (fs->no_thumbnails && call.prio == MB_PRIO_BACKGROUND &&
        mb_text_known_size(fs->mb, slot) < 0)
        return -EACCES;
    return mb_text_open(fs->mb, &call, slot, out);
}

/*
 * fs_xattr — extended attributes.
 *
 * A message folder lists its full set: user.rc.readStatus (writable: Read |
 * Unread, set on the server before returning), and the read-only
 * user.rc.id, user.rc.type, user.rc.direction, user.rc.availability,
 * user.rc.messageStatus, and user.xdg.comment (the subject, when there is
 * one).  Files list only what a copy of them needs: attachments
 * user.mime_type and user.xdg.origin.url, meta.json nothing.  Every
 * user.rc.* name can still be read, and user.rc.readStatus set, by name on
 * every file of the message (the contract); they are just not listed there,
 * so `cp -a` and `rsync -aX` copy them once per message instead of once per
 * file (each listed name costs a copy two round trips the kernel never
 * caches).
 *
 * Setting user.rc.readStatus on a type folder, Deleted/ or a conversation
 * folder changes every message in it with bulk requests.  The root accepts
 * user.rc.refresh (write any value: sync with the server now).  Other
 * namespaces are not supported (ENOTSUP).  Reading never costs a request:
 * everything comes from the index or the stored record, and what a copy
 * reads of every file (user.xdg.origin.url, the size of user.xdg.comment)
 * from memory, without a disk read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/fs_internal.h"
#include "util/mem.h"

#define X_READ    "user.rc.readStatus"
#define X_REFRESH "user.rc.refresh"
#define X_COMMENT "user.xdg.comment"
#define X_MIME    "user.mime_type"
#define X_ORIGIN  "user.xdg.origin.url"

static const char *const rc_names[] = {
    X_READ,
    "user.rc.id",
    "user.rc.type",
    "user.rc.direction",
    "user.rc.availability",
    "user.rc.messageStatus",
};
#define N_RC (sizeof rc_names / sizeof rc_names[0])

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static bool is_att(const struct fs_node *n)
{
    return n->sub >= FS_SUB_ATT0 && n->sub != FS_SUB_TEXT;
}

/* Is `name` one of ours on this message node?  (Whether it has a value is
 * separate.) */
static bool known_name(const struct fs_node *n, const char *name)
{
    for (size_t i = 0; i < N_RC; i++)
        if (strcmp(name, rc_names[i]) == 0)
            return true;
    if (n->sub == FS_SUB_DIR)
        return strcmp(name, X_COMMENT) == 0;
    return is_att(n) && (strcmp(name, X_MIME) == 0 || strcmp(name, X_ORIGIN) == 0);
}

/* user.rc.* values from the index. */
static int rc_value(const struct mb_msg_info *info, const char *name, char **val)
{
    if (strcmp(name, X_READ) == 0)
        *val = mem_strdup(mb_read_name(info->read_status));
    else if (strcmp(name, "user.rc.id") == 0)
        *val = mem_printf("%" PRIu64, info->id);
    else if (strcmp(name, "user.rc.type") == 0)
        *val = mem_strdup(mb_type_name(info->type));
    else if (strcmp(name, "user.rc.direction") == 0)
        *val = mem_strdup(mb_dir_name(info->direction));
    else if (strcmp(name, "user.rc.availability") == 0)
        *val = mem_strdup(mb_avail_name(info->availability));
    else if (strcmp(name, "user.rc.messageStatus") == 0 && info->message_status[0])
        *val = mem_strdup(info->message_status);
    else
        return -ENODATA;
    return 0;
}

/* user.mime_type of attachment k: the record's content type, else from its name. */
static char *mime_of(const struct mb_msg_info *info, uint32_t k)
{
    const char *ct = info->att[k].content_type;
    if (!ct[0]) {
        const char *dot = strrchr(info->att[k].name, '.');
        ct = mbname_mime_for_ext(dot ? dot + 1 : "");
    }
    return mem_strdup(ct);
}

/* The value of xattr `name` of message node n, malloc'd in *val.
 * Returns 0, -ENODATA (no such attribute here), or -errno. */
static int xattr_value(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                       const char *name, char **val)
{
    *val = NULL;
    if (strncmp(name, "user.rc.", 8) == 0)
        return rc_value(info, name, val);
    if (n->sub == FS_SUB_DIR && strcmp(name, X_COMMENT) == 0) {
        if (!info->has_subject)
            return -ENODATA;
        int rc = mb_msg_subject(fs->mb, n->slot, val);
        if (rc == 0 && (!*val || !**val)) {
            free(*val);
            *val = NULL;
            rc = -ENODATA;
        }
        return rc;
    }
    uint32_t k = (uint32_t)(n->sub - FS_SUB_ATT0);
    if (!is_att(n) || k >= info->n_att)
        return -ENODATA;
    if (strcmp(name, X_MIME) == 0) {
        *val = mime_of(info, k);
        return 0;
    }
    if (strcmp(name, X_ORIGIN) == 0) {
        int rc = mb_att_uri(fs->mb, n->slot, k, val);
        return rc == -ENOENT ? -ENODATA : rc;
    }
    return -ENODATA;
}

/* Parse ino into a message node with fresh info; false for other nodes. */
static bool message_node(struct fs *fs, fuse_ino_t ino, struct fs_node *n, struct mb_msg_info *info,
                         int *rc)
{
    *rc = 0;
    if (!fs_ino_parse(ino, n)) {
        *rc = -ENOENT;
        return false;
    }
    if (n->kind != FS_MSG)
        return false;
    *rc = mb_msg_info(fs->mb, n->slot, info);
    return *rc == 0;
}

/* `cp -a` and `rsync -aX` ask every value's size first (size 0), then the
 * value: the subject's size comes from memory once known, so only the
 * second call reads the stored record.  True when this answered req. */
static bool comment_size(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                         const char *name, fuse_req_t req)
{
    size_t len;
    if (n->sub != FS_SUB_DIR || !info->has_subject || strcmp(name, X_COMMENT) != 0)
        return false;
    int rc = mb_msg_subject_len(fs->mb, n->slot, &len);
    if (rc == 0 && len == 0)
        rc = -ENODATA;
    if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_xattr(req, len);
    return true;
}

static void reply_value(fuse_req_t req, const char *val, size_t len, size_t size)
{
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, val, len);
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    char *val;
    /* rcfs keeps only user.* attributes.  ENOTSUP for any other namespace
     * (security.selinux, system.posix_acl_*) is the truth, and it is what
     * makes `ls -l` remember, per file system, not to ask again: otherwise
     * every entry costs a round trip the kernel never caches. */
    if (strncmp(name, "user.", 5) != 0) {
        fuse_reply_err(req, ENOTSUP);
        return;
    }
    if (fs_ino_parse(ino, &n) && n.kind == FS_OUTBOX) {
        fs_outbox_getxattr(req, &n, name, size);
        return;
    }
    if (!message_node(fs, ino, &n, &info, &rc)) {
        fs_reply_err(req, rc ? rc : -ENODATA);
        return;
    }
    if (size == 0 && comment_size(fs, &n, &info, name, req))
        return;
    rc = xattr_value(fs, &n, &info, name, &val);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    reply_value(req, val, strlen(val), size);
    free(val);
}

/* The names a message node lists (NUL-separated into list). */
static size_t list_names(const struct fs_node *n, const struct mb_msg_info *info, char *list)
{
    const char *all[N_RC + 2];
    size_t na = 0, len = 0;
    if (n->sub == FS_SUB_DIR) {
        for (size_t i = 0; i < N_RC; i++)
            if (strcmp(rc_names[i], "user.rc.messageStatus") != 0 || info->message_status[0])
                all[na++] = rc_names[i];
        if (info->has_subject)
            all[na++] = X_COMMENT;
    } else if (is_att(n)) {
        all[na++] = X_MIME;
        all[na++] = X_ORIGIN;
    }
    for (size_t i = 0; i < na; i++) {
        size_t l = strlen(all[i]) + 1;
        memcpy(list + len, all[i], l);
        len += l;
    }
    return len;
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    char list[512];
    size_t len = 0;
    if (fs_ino_parse(ino, &n) && n.kind == FS_OUTBOX) {
        fs_outbox_listxattr(req, &n, size);
        return;
    }
    /* Decided from the index: listing never reads a record. */
    if (message_node(fs, ino, &n, &info, &rc))
        len = list_names(&n, &info, list);
    else if (rc) {
        fs_reply_err(req, rc);
        return;
    }
    reply_value(req, list, len, size);
}

static int parse_read_status(const char *value, size_t size, enum rec_read *rs)
{
    if (size == 4 && memcmp(value, "Read", 4) == 0)
        *rs = REC_READ;
    else if (size == 6 && memcmp(value, "Unread", 6) == 0)
        *rs = REC_UNREAD;
    else
        return -EINVAL;
    return 0;
}

/* setxattr on a node that is not a message: the refresh on the root, the
 * read status of every message in a folder or a conversation. */
static int set_on_folder(struct fs *fs, fuse_req_t req, const struct fs_node *n, const char *name,
                         const char *value, size_t size)
{
    enum rec_read rs;
    if (n->kind == FS_ROOT && strcmp(name, X_REFRESH) == 0)
        return fs_refresh(fs);
    bool bulk = (n->kind == FS_FOLDER && n->folder <= MB_FOLDER_DELETED) || n->kind == FS_CONV;
    if (!bulk || strcmp(name, X_READ) != 0)
        return -ENOTSUP;
    if (parse_read_status(value, size, &rs) < 0)
        return -EINVAL;
    struct mb_call c = fs_user_call(fs, req);
    if (n->kind == FS_CONV)
        return mb_set_read_conv(fs->mb, &c, n->conv, rs);
    return mb_set_read_folder(fs->mb, &c, n->ext, n->folder, rs);
}

/* setxattr on a message node: only user.rc.readStatus may change. */
static int set_on_message(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                          const struct mb_msg_info *info, const char *name, const char *value,
                          size_t size, int flags)
{
    enum rec_read rs;
    if (!known_name(n, name))
        return -ENOTSUP;
    if (strcmp(name, X_READ) != 0)
        return -EPERM;
    if (flags & XATTR_CREATE)
        return -EEXIST; /* it always exists */
    if (parse_read_status(value, size, &rs) < 0)
        return -EINVAL;
    if (info->read_status == rs)
        return 0; /* already so: no request */
    struct mb_call c = fs_user_call(fs, req);
    return mb_set_read(fs->mb, &c, n->slot, rs);
}

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                 int flags)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    if (strcmp(name, LIVE_XATTR) == 0 && fs_live_own(fs->live, req)) {
        fuse_reply_err(req, 0); /* the kernel raises IN_ATTRIB: that is all it is for */
        return;
    }
    if (fs_ino_parse(ino, &n) && n.kind == FS_OUTBOX) {
        fs_outbox_setxattr(req, &n, name, value, size);
        return;
    }
    fs_change_begin();
    if (message_node(fs, ino, &n, &info, &rc))
        rc = set_on_message(fs, req, &n, &info, name, value, size, flags);
    else if (rc == 0)
        rc = set_on_folder(fs, req, &n, name, value, size);
    fs_change_end();
    fs_reply_err(req, rc);
}

void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    if (fs_ino_parse(ino, &n) && n.kind == FS_OUTBOX) {
        fs_outbox_removexattr(req, &n, name);
        return;
    }
    if (!message_node(fs, ino, &n, &info, &rc)) {
        fs_reply_err(req, rc ? rc : -ENODATA);
        return;
    }
    fuse_reply_err(req, known_name(&n, name) ? EPERM : ENODATA);
}

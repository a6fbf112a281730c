/*
 * fs_xattr — extended attributes of message folders and their files.
 *
 * On a message folder and every file in it: user.rc.readStatus (writable:
 * Read | Unread, set on the server before returning), and the read-only
 * user.rc.id, user.rc.type, user.rc.direction, user.rc.availability,
 * user.rc.messageStatus.  The folder also has user.xdg.comment (the
 * subject, when there is one); attachments have user.mime_type and
 * user.xdg.origin.url.  Other namespaces are not supported (ENOTSUP).  The root accepts
 * user.rc.refresh (write any value: sync with the server now).  Reading never costs a request:
 * everything comes from the index or the stored record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define X_READ    "user.rc.readStatus"
#define X_REFRESH "user.rc.refresh"

static const char *const rc_names[] = {
    X_READ,
    "user.rc.id",
    "user.rc.type",
    "user.rc.direction",
    "user.rc.availability",
    "user.rc.messageStatus",
};
#define N_RC (sizeof rc_names / sizeof rc_names[0])

static const char *const folder_names[] = {"user.xdg.comment"};
static const char *const att_names[] = {"user.mime_type", "user.xdg.origin.url"};

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* Is `name` one of ours on this node?  (Whether it has a value is separate.) */
static bool known_name(const struct fs_node *n, const char *name)
{
    for (size_t i = 0; i < N_RC; i++)
        if (strcmp(name, rc_names[i]) == 0)
            return true;
    if (n->sub == FS_SUB_DIR && strcmp(name, folder_names[0]) == 0)
        return true;
    if (n->sub >= FS_SUB_ATT0)
        for (size_t i = 0; i < 2; i++)
            if (strcmp(name, att_names[i]) == 0)
                return true;
    return false;
}

/* The value of xattr `name` of message node n, malloc'd in *val.
 * Returns 0, -ENODATA (no such attribute here), or -errno. */
static int xattr_value(struct fs *fs, const struct fs_node *n, const struct mb_msg_info *info,
                       const char *name, char **val)
{
    *val = NULL;
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
    else if (strcmp(name, "user.rc.messageStatus") == 0) {
        if (!info->message_status[0])
            return -ENODATA;
        *val = mem_strdup(info->message_status);
    } else if (n->sub == FS_SUB_DIR && strcmp(name, "user.xdg.comment") == 0) {
        int rc = mb_msg_subject(fs->mb, n->slot, val);
        if (rc < 0)
            return rc;
        if (!*val || !**val) {
            free(*val);
            *val = NULL;
            return -ENODATA;
        }
    } else if (n->sub >= FS_SUB_ATT0 && strcmp(name, "user.mime_type") == 0) {
        uint32_t k = (uint32_t)(n->sub - FS_SUB_ATT0);
        if (k >= info->n_att)
            return -ENODATA;
        const char *ct = info->att[k].content_type;
        if (!ct[0]) {
            const char *dot = strrchr(info->att[k].name, '.');
            ct = mbname_mime_for_ext(dot ? dot + 1 : "");
        }
        *val = mem_strdup(ct);
    } else if (n->sub >= FS_SUB_ATT0 && strcmp(name, "user.xdg.origin.url") == 0) {
        int rc = mb_att_uri(fs->mb, n->slot, (uint32_t)(n->sub - FS_SUB_ATT0), val);
        if (rc < 0)
            return rc == -ENOENT ? -ENODATA : rc;
    } else {
        return -ENODATA;
    }
    return 0;
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

static void reply_value(fuse_req_t req, const char *val, size_t size)
{
    size_t len = strlen(val);
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
    if (!message_node(fs, ino, &n, &info, &rc)) {
        fs_reply_err(req, rc ? rc : -ENODATA);
        return;
    }
    rc = xattr_value(fs, &n, &info, name, &val);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    reply_value(req, val, size);
    free(val);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    char list[512];
    size_t len = 0;
    if (!message_node(fs, ino, &n, &info, &rc)) {
        if (rc) {
            fs_reply_err(req, rc);
            return;
        }
    } else {
        const char *all[N_RC + 3];
        size_t na = 0;
        for (size_t i = 0; i < N_RC; i++)
            all[na++] = rc_names[i];
        if (n.sub == FS_SUB_DIR)
            all[na++] = folder_names[0];
        if (n.sub >= FS_SUB_ATT0) {
            all[na++] = att_names[0];
            all[na++] = att_names[1];
        }
        for (size_t i = 0; i < na; i++) {
            /* List only names that have a value (getfattr -d reads them all),
             * decided from the index: listing never reads a record. */
            if ((strcmp(all[i], "user.rc.messageStatus") == 0 && !info.message_status[0]) ||
                (strcmp(all[i], "user.xdg.comment") == 0 && !info.has_subject))
                continue;
            size_t l = strlen(all[i]) + 1;
            memcpy(list + len, all[i], l);
            len += l;
        }
    }
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, list, len);
}

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                 int flags)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    if (!message_node(fs, ino, &n, &info, &rc)) {
        if (rc == 0 && n.kind == FS_ROOT && strcmp(name, X_REFRESH) == 0) {
            fs_reply_err(req, fs_refresh(fs));
            return;
        }
        fs_reply_err(req, rc ? rc : -ENOTSUP);
        return;
    }
    if (!known_name(&n, name)) {
        fuse_reply_err(req, ENOTSUP);
        return;
    }
    if (strcmp(name, X_READ) != 0) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (flags & XATTR_CREATE) {
        fuse_reply_err(req, EEXIST); /* it always exists */
        return;
    }
    enum rec_read rs;
    if (size == 4 && memcmp(value, "Read", 4) == 0)
        rs = REC_READ;
    else if (size == 6 && memcmp(value, "Unread", 6) == 0)
        rs = REC_UNREAD;
    else {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (info.read_status == rs) {
        fuse_reply_err(req, 0); /* already so: no request */
        return;
    }
    struct mb_call c = fs_user_call(fs, req);
    fs_change_begin();
    rc = mb_set_read(fs->mb, &c, n.slot, rs);
    fs_change_end();
    fs_reply_err(req, rc);
}

void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    int rc;
    if (!message_node(fs, ino, &n, &info, &rc)) {
        fs_reply_err(req, rc ? rc : -ENODATA);
        return;
    }
    fuse_reply_err(req, known_name(&n, name) ? EPERM : ENODATA);
}

/*
 * fs_ops — the FUSE low-level handlers that read: lookup, getattr, readdir
 * (plus), open, read, readlink, statfs, access; and the handler table.
 *
 * Timeouts: everything rcfs shows is cached by the kernel for fs->timeout
 * (long), because rcfs tells the kernel itself when something changes
 * (fs_events below).  Negative lookups of names rcfs can never produce
 * (leading '.', names in fixed folders) are cached as long; other missing
 * names not at all, since a sync or a restore may bring them.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

static struct fs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

void fs_reply_err(fuse_req_t req, int rc)
{
    int e = rc < 0 ? -rc : rc;
    switch (e) {
    case 0:
    case ENOENT:
    case EIO:
    case EACCES:
    case EINVAL:
    case ENOSPC:
    case EPERM:
    case ENOTEMPTY:
    case EXDEV:
    case ENODATA:
    case ENOTSUP:
    case EEXIST:
    case ERANGE:
    case EFBIG:
    case ENOTDIR:
    case EISDIR:
    case EROFS:
        break;
    default:
        e = EIO;
    }
    fuse_reply_err(req, e);
}

/* ---- request context ------------------------------------------------------- */

/* Is process (or thread) pid a thumbnailer?  Reads /proc. */
static bool classify(pid_t pid)
{
    static const char *const names[] = {
        "tumbler",         "tumblerd",        "gnome-desktop-t", "gnome-thumbnail",
        "totem-video-thu", "evince-thumbnai", "ffmpegthumbnail", "gdk-pixbuf-thum",
        "gsf-office-thum", "atril-thumbnail", "xreader-thumbna", "glycin-image-rs",
        "glycin-loader",
    };
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(comm, names[i], strlen(names[i])) == 0)
            return true;
    if (strstr(comm, "thumbnail"))
        return true;
    /* KDE thumbnails in a generic KIO worker ("kioworker", "kioslave5")
     * that loads thumbnail.so: only its command line says so. */
    if (strncmp(comm, "kioworker", 9) == 0 || strncmp(comm, "kioslave", 8) == 0) {
        char cmd[1024];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        f = fopen(path, "re");
        if (!f)
            return false;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        return strstr(cmd, "thumbnail") != NULL;
    }
    return false;
}

/* Verdicts per requesting thread, kept briefly: a lookup or readdir asks on
 * every call (for its priority) and must not read /proc each time. */
#define WHO_SLOTS  64
#define WHO_TTL_MS 2000
static struct {
    pid_t pid;
    bool thumbnailer;
    int64_t at;
} who[WHO_SLOTS];
static pthread_mutex_t who_lock = PTHREAD_MUTEX_INITIALIZER;

bool fs_req_is_thumbnailer(fuse_req_t req)
{
    pid_t pid = fuse_req_ctx(req)->pid;
    int64_t now = isotime_mono_ms();
    unsigned h = (unsigned)pid % WHO_SLOTS;
    pthread_mutex_lock(&who_lock);
    if (who[h].pid == pid && pid && now - who[h].at < WHO_TTL_MS) {
        bool r = who[h].thumbnailer;
        pthread_mutex_unlock(&who_lock);
        return r;
    }
    pthread_mutex_unlock(&who_lock);
    bool r = classify(pid);
    pthread_mutex_lock(&who_lock);
    who[h].pid = pid;
    who[h].thumbnailer = r;
    who[h].at = now;
    pthread_mutex_unlock(&who_lock);
    return r;
}

struct api_call fs_call(struct fs *fs, fuse_req_t req)
{
    struct api_call c = {
        .deadline_ms = isotime_mono_ms() + (int64_t)fs->call_timeout_s * 1000,
        .prio = fs_req_is_thumbnailer(req) ? API_PRIO_BACKGROUND : API_PRIO_USER,
    };
    return c;
}

/* ---- attributes --------------------------------------------------------------- */

int fs_view_folder(const struct mb_msg_info *info, int view)
{
    return view == MB_VIEW_DELETED ? MB_FOLDER_DELETED : (int)info->type;
}

static void set_times(struct stat *st, int64_t ms)
{
    st->st_mtim.tv_sec = ms / 1000;
    st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
}

static size_t link_target(const struct mb_msg_info *info, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "../../%s/%s", mb_folder_name(info->type), info->name);
    return n < 0 ? 0 : (size_t)n;
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
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 1;
        return 0;
    case FS_CONV:
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    case FS_LINK: {
        char target[2 * MBNAME_MAX + 16];
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)link_target(info, target, sizeof target);
        set_times(st, info->creation_ms);
        return 0;
    }
    case FS_MSG:
        break;
    default:
        return -ENOENT;
    }
    if (n->sub == FS_SUB_DIR) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        set_times(st, info->creation_ms);
        return 0;
    }
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
    if (n->sub == FS_SUB_META) {
        st->st_size = info->meta_len;
        set_times(st, info->modified_ms);
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

/* fs_fill_attr, learning an unknown attachment size first (one request). */
static int attr_learning(struct fs *fs, fuse_req_t req, const struct fs_node *n,
                         struct mb_msg_info *info, struct stat *st)
{
    int rc = fs_fill_attr(fs, n, info, st);
    if (rc != -EAGAIN)
        return rc;
    struct api_call c = fs_call(fs, req);
    /* Learning a size may download the file: not for a refused thumbnailer. */
    if (fs->no_thumbnails && c.prio == API_PRIO_BACKGROUND)
        return -EACCES;
    int64_t size;
    rc = mb_att_size(fs->mb, &c, n->slot, (uint32_t)(n->sub - FS_SUB_ATT0), &size);
    if (rc < 0)
        return rc;
    rc = mb_msg_info(fs->mb, n->slot, info);
    return rc < 0 ? rc : fs_fill_attr(fs, n, info, st);
}

/* ---- lookup ---------------------------------------------------------------------- */

/* Names that can never exist here: desktop probes (.hidden, .directory,
 * .Trash-1000, desktop.ini, autorun.inf, ...) are answered from the kernel's
 * negative cache after the first time. */
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
    bool fixed = parent->kind == FS_ROOT || parent->kind == FS_EXT;
    if (never_exists(name) || fixed)
        e.entry_timeout = fs->timeout;
    fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs *fs = fs_of(req);
    struct fs_node p, c = {0};
    struct mb_msg_info info;
    bool have_info = false;
    int rc = -ENOENT;

    if (!fs_ino_parse(parent, &p)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (never_exists(name) && (p.kind != FS_MSG || p.sub != FS_SUB_DIR)) {
        reply_negative(req, fs, &p, name);
        return;
    }
    switch (p.kind) {
    case FS_ROOT:
        c.kind = FS_EXT;
        rc = mb_ext_find(fs->mb, name, &c.ext);
        break;
    case FS_EXT: {
        int f = folder_by_name(name);
        if (f >= 0) {
            c = (struct fs_node){.kind = FS_FOLDER, .ext = p.ext, .folder = f};
            rc = 0;
        }
        break;
    }
    case FS_FOLDER: {
        struct api_call call = fs_call(fs, req);
        if (p.folder == MB_FOLDER_CONVERSATIONS) {
            c.kind = FS_CONV;
            rc = mb_conv_lookup(fs->mb, &call, p.ext, name, &c.conv);
        } else {
            c.kind = FS_MSG;
            c.view = p.folder == MB_FOLDER_DELETED ? MB_VIEW_DELETED : MB_VIEW_TYPE;
            c.sub = FS_SUB_DIR;
            rc = mb_folder_lookup(fs->mb, &call, p.ext, p.folder, name, &c.slot);
        }
        break;
    }
    case FS_CONV:
        c.kind = FS_LINK;
        rc = mb_conv_member(fs->mb, p.conv, name, &c.slot);
        break;
    case FS_MSG:
        if (p.sub != FS_SUB_DIR) {
            rc = -ENOTDIR;
            break;
        }
        rc = mb_msg_info(fs->mb, p.slot, &info);
        if (rc < 0)
            break;
        have_info = true;
        c = (struct fs_node){.kind = FS_MSG, .slot = p.slot, .view = p.view};
        rc = -ENOENT;
        if (strcmp(name, MBNAME_META) == 0) {
            c.sub = FS_SUB_META;
            rc = 0;
        } else {
            for (uint32_t k = 0; k < info.n_att; k++) {
                if (strcmp(info.att[k].name, name) == 0) {
                    c.sub = FS_SUB_ATT0 + (int)k;
                    rc = 0;
                    break;
                }
            }
        }
        break;
    default:
        rc = -ENOTDIR;
    }
    if (rc == -ENOENT) {
        reply_negative(req, fs, &p, name);
        return;
    }
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }

    struct fuse_entry_param e = {0};
    if ((c.kind == FS_MSG || c.kind == FS_LINK) && !have_info) {
        rc = mb_msg_info(fs->mb, c.slot, &info);
        if (rc < 0) {
            fs_reply_err(req, rc);
            return;
        }
    }
    rc = attr_learning(fs, req, &c, &info, &e.attr);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    e.ino = fs_ino_make(&c);
    e.generation = (c.kind == FS_MSG || c.kind == FS_LINK) ? info.gen : 0;
    e.attr_timeout = fs->timeout;
    e.entry_timeout = fs->timeout;
    fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    /* Inode numbers are computed, not allocated: nothing to release. */
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    struct stat st;
    int rc = 0;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (n.kind == FS_MSG || n.kind == FS_LINK)
        rc = mb_msg_info(fs->mb, n.slot, &info);
    if (rc == 0)
        rc = attr_learning(fs, req, &n, &info, &st);
    if (rc < 0)
        fs_reply_err(req, rc);
    else
        fuse_reply_attr(req, &st, fs->timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct fs_node n;
    struct mb_msg_info info;
    char target[2 * MBNAME_MAX + 16];
    if (!fs_ino_parse(ino, &n) || n.kind != FS_LINK) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    int rc = mb_msg_info(fs->mb, n.slot, &info);
    if (rc < 0) {
        fs_reply_err(req, rc);
        return;
    }
    link_target(&info, target, sizeof target);
    fuse_reply_readlink(req, target);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct fs *fs = fs_of(req);
    struct mb_stats s;
    struct statvfs v = {0};
    mb_get_stats(fs->mb, &s);
    v.f_bsize = 4096;
    v.f_frsize = 4096;
    v.f_blocks = (fsblkcnt_t)((s.cache_bytes + 4095) / 4096);
    v.f_files = (fsfilcnt_t)s.messages;
    v.f_namemax = 255;
    fuse_reply_statfs(req, &v);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct fs_node n;
    if (!fs_ino_parse(ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    bool is_file = n.kind == FS_MSG && n.sub != FS_SUB_DIR;
    /* Writing content is refused at open; answering W_OK keeps `rm` from
     * asking about "write-protected" files one by one. */
    fuse_reply_err(req, (mask & X_OK) && is_file ? EACCES : 0);
}

static void op_refuse(fuse_req_t req)
{
    fuse_reply_err(req, EACCES);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    op_refuse(req);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    op_refuse(req);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    op_refuse(req);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    op_refuse(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    op_refuse(req);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    struct fs *fs = userdata;
    /* Zero-message open and opendir: the kernel keeps pages and readdir
     * results by default and stops asking; rcfs invalidates them itself. */
    fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
    fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
    /* No POSIX ACLs: getxattr answers ENOTSUP for them (fs_xattr.c). */
    conn->want &= ~FUSE_CAP_POSIX_ACL;
    /* readdirplus everywhere: listings carry attributes, saving lookups. */
    if (conn->capable & FUSE_CAP_READDIRPLUS) {
        conn->want |= FUSE_CAP_READDIRPLUS;
        conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    }
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
        conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    /* Page cache is dropped only when rcfs says so (meta.json changes). */
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
        conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    conn->max_readahead = 1 << 20;
}

/* ---- kernel notifications for mailbox changes ------------------------------------------ */

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
    struct mb_msg_info info;
    if (mb_msg_info(fs->mb, slot, &info) < 0)
        return;
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

struct mb_events fs_events(struct fs *fs)
{
    return (struct mb_events){
        .ctx = fs,
        .folder_changed = ev_folder_changed,
        .entry_gone = ev_entry_gone,
        .message_changed = ev_message_changed,
        .conversation_changed = ev_conversation_changed,
        .conversation_gone = ev_conversation_gone,
    };
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = fs_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = op_symlink,
    .rename = fs_rename,
    .link = op_link,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .release = fs_release,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .releasedir = fs_releasedir,
    .statfs = op_statfs,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .access = op_access,
    .create = op_create,
};

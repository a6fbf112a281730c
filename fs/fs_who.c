/*
 * fs_who — who is asking: the mailbox call context of a FUSE request and
 * the recognition of thumbnailers (desktops thumbnail every fax they show;
 * those requests yield to a person's own), and the one errno mapping of
 * replies.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fs/fs_internal.h"
#include "util/isotime.h"

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
    case EBUSY:
    case ENAMETOOLONG:
        break;
    default:
        e = EIO;
    }
    fuse_reply_err(req, e);
}

/* The command line of pid (NULs as spaces) into buf; false if unreadable. */
static bool read_cmdline(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return true;
}

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
        return read_cmdline(pid, cmd, sizeof cmd) && strstr(cmd, "thumbnail") != NULL;
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

struct mb_call fs_user_call(struct fs *fs, fuse_req_t req)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    return (struct mb_call){
        .deadline_ms = isotime_mono_ms() + (int64_t)fs->call_timeout_s * 1000,
        .prio = MB_PRIO_USER,
        .pid = ctx->pid,
        .uid = ctx->uid,
        .local_only = fs_live_own(fs->live, req), /* rcfs's own live thread */
    };
}

struct mb_call fs_call(struct fs *fs, fuse_req_t req)
{
    struct mb_call c = fs_user_call(fs, req);
    if (fs_req_is_thumbnailer(req))
        c.prio = MB_PRIO_BACKGROUND;
    return c;
}

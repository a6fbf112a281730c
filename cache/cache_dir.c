/* cache_dir — the cache folder: creation, permissions, the lock (see cache_dir.h). */
#include "cache/cache_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_io.h"
#include "util/log.h"
#include "util/mem.h"

struct cdir {
    char *path;    /* the cache folder as given */
    char *objects; /* <path>/objects */
    char *state;   /* <path>/state */
    int lock_fd;   /* <path>/lock, flock()ed exclusively while d lives */
};

static void dir_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dir_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * mkdir -p, except that every folder we create is 0700: the cache usually
 * lives under ~/.cache, which the XDG spec wants private too, and a folder we
 * create for the cache has no business being readable by others.  Folders
 * that already exist are left as they are (only the cache folder itself is
 * tightened, by the caller).  Returns 0 or -errno.
 */
static int dir_mkdir_p(const char *path)
{
    char *buf = mem_strdup(path);
    int rc = 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        *p = '/';
    }
    if (rc == 0 && mkdir(buf, 0700) != 0 && errno != EEXIST)
        rc = -errno;
    free(buf);
    return rc;
}

/* Create folder name under dfd (0700) unless it exists; it must be a folder. */
static int dir_subdir(int dfd, const char *name)
{
    if (mkdirat(dfd, name, 0700) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Replace the lock file's contents with our pid.  Returns 0 or -errno. */
static int dir_write_pid(int fd)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0)
        return -errno;
    ssize_t w = pwrite(fd, pid, (size_t)len, 0);
    return w == len ? 0 : w < 0 ? -errno : -EIO;
}

/* Take the lock on <dir>/lock and write our pid into it, or say who holds it. */
static int dir_lock(int dfd, const char *path, int *lock_fd, char *err, size_t errlen)
{
    int fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int rc = -errno;
        dir_err(err, errlen, "cannot open %s/lock: %s", path, strerror(-rc));
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = -errno;
        if (rc == -EWOULDBLOCK) {
            char pid[32];
            ssize_t n = cio_pread_full(fd, pid, sizeof pid - 1, 0);
            long other = 0;
            if (n > 0) {
                pid[n] = '\0';
                other = strtol(pid, NULL, 10);
            }
            if (other > 0)
                dir_err(err, errlen, "cache folder %s is in use by another rcfs (pid %ld)", path,
                        other);
            else
                dir_err(err, errlen, "cache folder %s is in use by another rcfs", path);
            rc = -EBUSY;
        } else {
            dir_err(err, errlen, "cannot lock %s/lock: %s", path, strerror(-rc));
        }
        close(fd);
        return rc;
    }
    /* The pid is only for the message above: failing to write it is no reason
     * to refuse the mount. */
    int rc = dir_write_pid(fd);
    if (rc < 0)
        log_warn("cannot record our pid in %s/lock: %s", path, strerror(-rc));
    *lock_fd = fd;
    return 0;
}

int cdir_open(const char *path, struct cdir **out, char *err, size_t errlen)
{
    int rc = dir_mkdir_p(path);
    if (rc < 0) {
        dir_err(err, errlen, "cannot create cache folder %s: %s", path, strerror(-rc));
        return rc;
    }
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = -errno;
        dir_err(err, errlen, "cannot open cache folder %s: %s", path, strerror(-rc));
        return rc;
    }
    /* Checks go through dfd, not the path, so they apply to the folder we
     * actually use even if the path is swapped underneath us. */
    struct stat st;
    if (fstat(dfd, &st) != 0) {
        rc = -errno;
        dir_err(err, errlen, "cannot stat cache folder %s: %s", path, strerror(-rc));
        goto out_dfd;
    }
    if (st.st_uid != geteuid()) {
        rc = -EPERM;
        dir_err(err, errlen, "cache folder %s belongs to uid %u, not to us (uid %u)", path,
                (unsigned)st.st_uid, (unsigned)geteuid());
        goto out_dfd;
    }
    if (st.st_mode & 077) {
        if (fchmod(dfd, 0700) != 0) {
            rc = -errno;
            dir_err(err, errlen, "cannot make cache folder %s private (mode 0700): %s", path,
                    strerror(-rc));
            goto out_dfd;
        }
        log_info("cache folder %s was mode %04o; made it 0700", path,
                 (unsigned)(st.st_mode & 07777));
    }
    int lock_fd = -1;
    rc = dir_lock(dfd, path, &lock_fd, err, errlen);
    if (rc < 0)
        goto out_dfd;
    static const char *const subdirs[] = {"objects", "state"};
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        rc = dir_subdir(dfd, subdirs[i]);
        if (rc < 0) {
            dir_err(err, errlen, "cannot create %s/%s: %s", path, subdirs[i], strerror(-rc));
            close(lock_fd);
            goto out_dfd;
        }
    }
    struct cdir *d = mem_calloc(1, sizeof *d);
    d->path = mem_strdup(path);
    d->objects = mem_printf("%s/objects", path);
    d->state = mem_printf("%s/state", path);
    d->lock_fd = lock_fd;
    *out = d;
    rc = 0;
out_dfd:
    close(dfd);
    return rc;
}

int cdir_note_pid(struct cdir *d)
{
    return dir_write_pid(d->lock_fd);
}

const char *cdir_objects(const struct cdir *d)
{
    return d->objects;
}

char *cdir_state_path(const struct cdir *d, const char *scope_key)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(scope_key, strlen(scope_key)));
    char hex[33];
    cio_hex(c.digest, sizeof c.digest, hex);
    char *p = mem_printf("%s/%s", d->state, hex);
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        free(p);
        errno = e;
        return NULL;
    }
    struct stat st;
    int e = stat(p, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
    if (e) {
        free(p);
        errno = e;
        return NULL;
    }
    return p;
}

void cdir_close(struct cdir *d)
{
    if (!d)
        return;
    /* Clear the pid but keep the file: unlinking a lock file while others may
     * be opening it lets two processes each lock a different inode. */
    if (ftruncate(d->lock_fd, 0) != 0)
        log_debug("cannot clear %s/lock: %s", d->path, strerror(errno));
    close(d->lock_fd); /* releases the flock */
    free(d->path);
    free(d->objects);
    free(d->state);
    free(d);
}

/* cache_obj_read — opening, verifying, pinning and removing objects (see cache_obj.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_io.h"
#include "cache/cache_obj.h"
#include "cache/cache_obj_impl.h"
#include "cache/cache_obj_index.h"
#include "cache/cache_obj_scan.h"
#include "cache/cache_obj_space.h"
#include "util/log.h"

/* The file mtime is what orders the LRU across a remount; refreshing it on
 * every open would be a metadata write per read, so at most once a minute. */
#define OBJ_TOUCH_SECS 60

/* Verification reads in chunks of this size (on the stack of the caller). */
#define OBJ_CHUNK (64 * 1024)

/* Hash len bytes of fd from offset 0 into digest.  Returns 0, -EBADMSG when
 * the file is shorter than len, other -errno when it cannot be read. */
static int read_hash(int fd, uint64_t len, XXH128_canonical_t *digest)
{
    XXH3_state_t *h = obj_hash_new();
    uint8_t chunk[OBJ_CHUNK];
    int rc = 0;
    for (uint64_t off = 0; off < len;) {
        size_t want = len - off < sizeof chunk ? (size_t)(len - off) : sizeof chunk;
        ssize_t r = cio_pread_full(fd, chunk, want, (off_t)off);
        if (r < 0) {
            rc = (int)r;
            break;
        }
        if ((size_t)r != want) {
            rc = -EBADMSG; /* shrank under us */
            break;
        }
        XXH3_128bits_update(h, chunk, want);
        off += want;
    }
    if (rc == 0)
        XXH128_canonicalFromHash(digest, XXH3_128bits_digest(h));
    XXH3_freeState(h);
    return rc;
}

/* Check fd's trailer and content hash.  Returns 0 and *size, -EBADMSG when
 * the file is damaged, other -errno when it cannot be read. */
static int read_verify(int fd, const struct stat *st, uint64_t *size)
{
    if (st->st_size < OBJ_TRAILER)
        return -EBADMSG;
    uint64_t len = (uint64_t)st->st_size - OBJ_TRAILER;
    uint8_t t[OBJ_TRAILER];
    ssize_t r = cio_pread_full(fd, t, sizeof t, (off_t)len);
    if (r < 0)
        return (int)r;
    if (r != OBJ_TRAILER || cio_get_le32(t) != OBJ_MAGIC || cio_get_le32(t + 4) != OBJ_VERSION ||
        cio_get_le64(t + 8) != len)
        return -EBADMSG;
    XXH128_canonical_t c;
    int rc = read_hash(fd, len, &c);
    if (rc == 0 && memcmp(c.digest, t + 16, sizeof c.digest) != 0)
        rc = -EBADMSG;
    if (rc == 0)
        *size = len;
    return rc;
}

/* Drop one pin of entry i (mu held); an object that becomes evictable may be
 * all that kept the store over its cap or short of its reserve. */
static void read_unpin(struct cobj_store *s, uint32_t i)
{
    if (!oidx_unpin(s, i))
        return;
    ospace_enforce_cap(s, NIL);
    if (s->space_short)
        ospace_enforce_reserve(s, NIL);
}

/*
 * The file of a pinned object was found damaged (st: the inode we read) or
 * missing (st NULL).  Delete it if the name still holds that inode (a commit
 * may have put a good copy there meanwhile), forget it, and drop our pin.
 */
static void read_lost(struct cobj_store *s, const struct cobj_key *k, const struct stat *st)
{
    char name[OBJ_NAME_MAX];
    obj_name(k, name);
    pthread_mutex_lock(&s->mu);
    bool removed = false;
    struct stat cur;
    if (fstatat(s->dfd, name, &cur, AT_SYMLINK_NOFOLLOW) != 0) {
        removed = errno == ENOENT;
    } else if (st && cur.st_ino == st->st_ino && cur.st_dev == st->st_dev) {
        if (unlinkat(s->dfd, name, 0) == 0 || errno == ENOENT)
            removed = true;
        else
            log_warn("cache: cannot remove damaged object %s: %s", name, strerror(errno));
    }
    uint32_t i = oidx_find(s, k);
    if (i != NIL) {
        if (removed)
            oidx_forget(s, i); /* kept while we hold our pin */
        read_unpin(s, i);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Pin k and mark it used (mu taken here).  Returns 0 and whether its file's
 * mtime is due a refresh, or -ENOENT. */
static int read_pin(struct cobj_store *s, const struct cobj_key *k, bool *touch)
{
    pthread_mutex_lock(&s->mu);
    uint32_t i = oidx_find(s, k);
    if (i == NIL)
        i = oscan_adopt(s, k);
    if (i == NIL || s->ents[i].gone) {
        pthread_mutex_unlock(&s->mu);
        return -ENOENT;
    }
    struct obj_ent *e = &s->ents[i];
    e->pins++;
    oidx_make_newest(s, i);
    uint32_t now = obj_now();
    *touch = now - e->touched >= OBJ_TOUCH_SECS || e->touched > now;
    if (*touch)
        e->touched = now;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int cobj_open(struct cobj_store *s, const struct cobj_key *k, int *fd, uint64_t *size)
{
    bool touch;
    int rc = read_pin(s, k, &touch);
    if (rc < 0)
        return rc;
    /* The pin keeps eviction and cobj_remove away; a concurrent commit may
     * still rename a new copy over the name, and either copy is whole. */
    char name[OBJ_NAME_MAX];
    obj_name(k, name);
    int f = openat(s->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) {
        rc = -errno;
        if (rc == -ENOENT) {
            log_warn("cache: object %s vanished", name);
            read_lost(s, k, NULL);
        } else {
            cobj_release(s, k);
        }
        return rc;
    }
    struct stat st;
    rc = fstat(f, &st) != 0 ? -errno : read_verify(f, &st, size);
    if (rc == -EBADMSG) {
        log_warn("cache: object %s is damaged; removed", name);
        close(f);
        read_lost(s, k, &st);
        return -ENOENT;
    }
    if (rc < 0) {
        close(f);
        cobj_release(s, k);
        return rc;
    }
    /* Only the mtime carries recency across a remount.  Failing to set it
     * costs LRU precision, nothing else. */
    if (touch && futimens(f, NULL) != 0)
        log_debug("cache: cannot touch %s: %s", name, strerror(errno));
    *fd = f;
    return 0;
}

int cobj_content_hash(int fd, uint64_t size, uint8_t out[16])
{
    uint8_t t[OBJ_TRAILER];
    ssize_t r = cio_pread_full(fd, t, sizeof t, (off_t)size);
    if (r < 0)
        return (int)r;
    if (r != OBJ_TRAILER || cio_get_le32(t) != OBJ_MAGIC || cio_get_le32(t + 4) != OBJ_VERSION ||
        cio_get_le64(t + 8) != size)
        return -EBADMSG;
    memcpy(out, t + 16, 16);
    return 0;
}

void cobj_release(struct cobj_store *s, const struct cobj_key *k)
{
    pthread_mutex_lock(&s->mu);
    uint32_t i = oidx_find(s, k);
    if (i != NIL)
        read_unpin(s, i);
    pthread_mutex_unlock(&s->mu);
}

int cobj_exists(struct cobj_store *s, const struct cobj_key *k, uint64_t *size)
{
    pthread_mutex_lock(&s->mu);
    uint32_t i = oidx_find(s, k);
    if (i == NIL)
        i = oscan_adopt(s, k);
    int present = i != NIL && !s->ents[i].gone;
    if (present && size)
        *size = s->ents[i].size;
    pthread_mutex_unlock(&s->mu);
    return present;
}

int cobj_remove(struct cobj_store *s, const struct cobj_key *k)
{
    char name[OBJ_NAME_MAX];
    obj_name(k, name);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    uint32_t i = oidx_find(s, k);
    if (i == NIL)
        i = oscan_adopt(s, k);
    if (i == NIL || s->ents[i].gone)
        rc = -ENOENT;
    else if (s->ents[i].pins)
        rc = -EBUSY;
    else if (unlinkat(s->dfd, name, 0) != 0 && errno != ENOENT)
        rc = -errno;
    else
        oidx_forget(s, i);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

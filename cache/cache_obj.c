/* cache_obj — verified content objects with an LRU cap (see cache_obj.h). */
#include "cache/cache_obj.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_io.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/*
 * The trailer, after the content (little-endian, fixed size):
 *    0  magic   u32  OBJ_MAGIC ("RCOB" on disk)
 *    4  version u32  OBJ_VERSION
 *    8  size    u64  content bytes (the file is size + OBJ_TRAILER bytes)
 *   16  hash    16   xxh3-128 of the content, canonical (big-endian) form
 * A trailer rather than a header: the writer streams content it has not seen
 * yet and learns size and hash only at the end, and pread(0..size) serves the
 * content without an offset.  Every byte of it is checked on open: magic and
 * version by value, size against the file size, hash against the content.
 */
#define OBJ_TRAILER 32
#define OBJ_MAGIC   0x424f4352u
#define OBJ_VERSION 1u

/* The file mtime is what orders the LRU across a remount; refreshing it on
 * every open would be a metadata write per read, so at most once a minute. */
#define OBJ_TOUCH_SECS 60

/* Verification reads in chunks of this size (on the stack of the caller). */
#define OBJ_CHUNK (64 * 1024)

#define NIL UINT32_MAX

/* Room for "hh/<32 hex>.tmp.<pid>.<counter>" relative to the objects folder. */
#define OBJ_NAME_MAX 96

/*
 * One indexed object.  Entries live in one array (the slab) and link to each
 * other by index, not pointer: 48 bytes each, and growing the slab does not
 * invalidate links.
 */
struct obj_ent {
    struct cobj_key key; /* which object */
    uint64_t size;       /* content bytes (the file is size + OBJ_TRAILER) */
    uint32_t prev;       /* LRU neighbour towards the head (least recently used) */
    uint32_t next;       /* LRU neighbour towards the tail (most recently used) */
    uint32_t hnext;      /* next in the hash bucket chain; free-list link when unused */
    uint32_t pins;       /* cobj_open calls not yet released */
    uint32_t touched;    /* when the file mtime was last set (s since the epoch) */
    uint8_t used;        /* slot holds an entry */
    uint8_t gone;        /* file deleted (found damaged) while pinned: absent to
                            lookups, dropped at the last release, counts no bytes */
};

struct cobj_store {
    int dfd;                  /* the objects folder; all names are relative to it */
    uint64_t max_bytes;       /* cap (0 = none) */
    atomic_uint_fast64_t seq; /* temporary-name counter */

    pthread_mutex_t mu;     /* guards everything below, and every rename into or
                               unlink of a final object name, so the index and
                               the folder never disagree */
    struct obj_ent *ents;   /* the slab */
    uint32_t nslab;         /* slots ever used (high-water mark) */
    uint32_t ncap;          /* slots allocated */
    uint32_t free_head;     /* free slots below nslab, linked through hnext */
    uint32_t count;         /* entries in use */
    uint32_t *buckets;      /* hash heads (slot indices) */
    uint32_t nbuckets;      /* a power of two >= count */
    uint32_t lru_head;      /* least recently used */
    uint32_t lru_tail;      /* most recently used */
    uint64_t bytes;         /* content + trailers of present (not gone) entries */
    bool scanning;          /* the startup scan runs: the index may lack objects that
                               are on disk (lookups check the disk), and the byte
                               count is partial (nothing is evicted) */
    pthread_cond_t scanned; /* broadcast when the scan ends */
    pthread_t scanner;      /* the scan's thread */
    bool scanner_started;   /* join it at close */
};

struct cobj_writer {
    struct cobj_store *s;   /* the store it commits into */
    struct cobj_key key;    /* the object being written */
    int fd;                 /* the temporary, or -1 once closed */
    bool tmp_exists;        /* the temporary has not been renamed or removed */
    int err;                /* first error (-errno); the writer is then dead */
    uint64_t size;          /* bytes written so far */
    XXH3_state_t *hash;     /* running xxh3-128 of those bytes */
    char tmp[OBJ_NAME_MAX]; /* "hh/<hex>.tmp.<pid>.<n>" */
};

/* ---- keys and names ---------------------------------------------------- */

static size_t obj_put_field(uint8_t *p, const void *data, size_t len)
{
    cio_put_le64(p, len);
    memcpy(p + 8, data, len);
    return 8 + len;
}

struct cobj_key cobj_key_make(const char *server, const char *account, uint64_t ext_id,
                              uint64_t msg_id, uint64_t att_id)
{
    /* The serialisation names files that outlive the program: never change it.
     * Every string is length-prefixed, so ("ab","c") and ("a","bc") differ;
     * the leading tag keeps these keys apart from any other use of xxh3. */
    static const char tag[] = "rcfs cache object key v1";
    size_t ls = strlen(server), la = strlen(account);
    size_t n = 3 * 8 + sizeof tag - 1 + ls + la + 3 * 8;
    uint8_t *buf = mem_alloc(n), *p = buf;
    p += obj_put_field(p, tag, sizeof tag - 1);
    p += obj_put_field(p, server, ls);
    p += obj_put_field(p, account, la);
    cio_put_le64(p, ext_id);
    cio_put_le64(p + 8, msg_id);
    cio_put_le64(p + 16, att_id);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(buf, n));
    free(buf);
    struct cobj_key k;
    memcpy(k.b, c.digest, sizeof k.b);
    return k;
}

void cobj_key_hex(const struct cobj_key *k, char out[33])
{
    cio_hex(k->b, sizeof k->b, out);
}

/* "hh/<32 hex>" into name (OBJ_NAME_MAX). */
static void obj_name(const struct cobj_key *k, char *name)
{
    char hex[33];
    cobj_key_hex(k, hex);
    snprintf(name, OBJ_NAME_MAX, "%.2s/%s", hex, hex);
}

static int obj_unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is not a name we write */
}

/* Parse a 32-hex object name; false for anything else. */
static bool obj_parse_name(const char *name, struct cobj_key *k)
{
    if (strlen(name) != 32)
        return false;
    for (int i = 0; i < 16; i++) {
        int hi = obj_unhex(name[2 * i]), lo = obj_unhex(name[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        k->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static XXH3_state_t *obj_hash_new(void)
{
    XXH3_state_t *h = XXH3_createState();
    if (!h) {
        /* The project's OOM policy (util/mem.h): no limping on. */
        log_err("out of memory");
        abort();
    }
    XXH3_128bits_reset(h);
    return h;
}

static uint32_t obj_now(void)
{
    time_t t = time(NULL);
    return t < 0 ? 0 : t > (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* ---- the index (all under s->mu) ---------------------------------------- */

static uint32_t obj_bucket(const struct cobj_store *s, const struct cobj_key *k)
{
    /* The key is already a uniform hash: any 4 of its bytes will do. */
    return cio_get_le32(k->b + 12) & (s->nbuckets - 1);
}

static uint32_t obj_find(const struct cobj_store *s, const struct cobj_key *k)
{
    for (uint32_t i = s->buckets[obj_bucket(s, k)]; i != NIL; i = s->ents[i].hnext)
        if (memcmp(s->ents[i].key.b, k->b, sizeof k->b) == 0)
            return i;
    return NIL;
}

static void obj_lru_unlink(struct cobj_store *s, uint32_t i)
{
    struct obj_ent *e = &s->ents[i];
    if (e->prev != NIL)
        s->ents[e->prev].next = e->next;
    else
        s->lru_head = e->next;
    if (e->next != NIL)
        s->ents[e->next].prev = e->prev;
    else
        s->lru_tail = e->prev;
    e->prev = e->next = NIL;
}

static void obj_lru_push_tail(struct cobj_store *s, uint32_t i)
{
    struct obj_ent *e = &s->ents[i];
    e->next = NIL;
    e->prev = s->lru_tail;
    if (s->lru_tail != NIL)
        s->ents[s->lru_tail].next = i;
    else
        s->lru_head = i;
    s->lru_tail = i;
}

static void obj_lru_push_head(struct cobj_store *s, uint32_t i)
{
    struct obj_ent *e = &s->ents[i];
    e->prev = NIL;
    e->next = s->lru_head;
    if (s->lru_head != NIL)
        s->ents[s->lru_head].prev = i;
    else
        s->lru_tail = i;
    s->lru_head = i;
}

static void obj_rehash(struct cobj_store *s, uint32_t nbuckets)
{
    free(s->buckets);
    s->nbuckets = nbuckets;
    s->buckets = mem_reallocarray(NULL, nbuckets, sizeof *s->buckets);
    memset(s->buckets, 0xff, (size_t)nbuckets * sizeof *s->buckets); /* all NIL */
    for (uint32_t i = 0; i < s->nslab; i++) {
        if (!s->ents[i].used)
            continue;
        uint32_t b = obj_bucket(s, &s->ents[i].key);
        s->ents[i].hnext = s->buckets[b];
        s->buckets[b] = i;
    }
}

/* Size the slab and the buckets for n entries in one go (the store opening
 * knows how many it will index): no growth slack, no repeated rehashing. */
static void obj_reserve(struct cobj_store *s, size_t n)
{
    if (n >= NIL / 2) {
        log_err("cache index full");
        abort();
    }
    if (n > s->ncap) {
        s->ncap = (uint32_t)n;
        s->ents = mem_reallocarray(s->ents, s->ncap, sizeof *s->ents);
    }
    uint32_t nb = s->nbuckets;
    while (nb < n)
        nb *= 2;
    if (nb != s->nbuckets)
        obj_rehash(s, nb);
}

/* Add an entry for k (not present) at the most-recently-used end. */
static uint32_t obj_insert(struct cobj_store *s, const struct cobj_key *k, uint64_t size,
                           uint32_t touched)
{
    uint32_t i;
    if (s->free_head != NIL) {
        i = s->free_head;
        s->free_head = s->ents[i].hnext;
    } else {
        if (s->nslab == s->ncap) {
            if (s->ncap >= NIL - 1 - s->ncap / 2) {
                log_err("cache index full");
                abort();
            }
            /* x1.5 rather than x2 keeps the slack, and so bytes per object, low. */
            s->ncap = s->ncap < 64 ? 64 : s->ncap + s->ncap / 2;
            s->ents = mem_reallocarray(s->ents, s->ncap, sizeof *s->ents);
        }
        i = s->nslab++;
    }
    struct obj_ent *e = &s->ents[i];
    memset(e, 0, sizeof *e);
    e->key = *k;
    e->size = size;
    e->touched = touched;
    e->used = 1;
    s->count++;
    if (s->count > s->nbuckets) {
        obj_rehash(s, s->nbuckets * 2); /* also links e */
    } else {
        uint32_t b = obj_bucket(s, k);
        e->hnext = s->buckets[b];
        s->buckets[b] = i;
    }
    obj_lru_push_tail(s, i);
    return i;
}

/* Forget entry i (its bytes must already be discounted). */
static void obj_drop(struct cobj_store *s, uint32_t i)
{
    uint32_t *link = &s->buckets[obj_bucket(s, &s->ents[i].key)];
    while (*link != i)
        link = &s->ents[*link].hnext;
    *link = s->ents[i].hnext;
    obj_lru_unlink(s, i);
    s->ents[i].used = 0;
    s->ents[i].hnext = s->free_head;
    s->free_head = i;
    s->count--;
}

/*
 * Delete least recently used objects until the store fits its cap, skipping
 * pinned ones and keep (an object just committed: evicting it would make the
 * commit pointless).  So when everything else is pinned the store stays over
 * its cap until releases let it shrink.
 */
static void obj_evict(struct cobj_store *s, uint32_t keep)
{
    if (s->max_bytes == 0 || s->scanning)
        return; /* during the startup scan the byte count is partial */
    uint32_t i = s->lru_head;
    while (s->bytes > s->max_bytes && i != NIL) {
        uint32_t next = s->ents[i].next;
        if (s->ents[i].pins == 0 && i != keep) {
            char name[OBJ_NAME_MAX];
            obj_name(&s->ents[i].key, name);
            /* A file we fail to delete is forgotten anyway: the next open of
             * the store indexes (and if need be evicts) it again. */
            if (unlinkat(s->dfd, name, 0) != 0 && errno != ENOENT)
                log_warn("cache: cannot evict %s: %s", name, strerror(errno));
            s->bytes -= s->ents[i].size + OBJ_TRAILER;
            obj_drop(s, i);
        }
        i = next;
    }
}

/* ---- opening the store -------------------------------------------------- */

struct obj_found {
    struct cobj_key key; /* from the file name */
    uint64_t size;       /* content bytes */
    int64_t mtime_ns;    /* last use */
};

static int obj_found_cmp(const void *a, const void *b)
{
    const struct obj_found *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return memcmp(x->key.b, y->key.b, sizeof x->key.b); /* a stable order for ties */
}

/* A temporary of this process ("<hex>.tmp.<pid>.<n>"): a live writer's. */
static bool own_temporary(const char *name)
{
    const char *p = strstr(name, ".tmp.");
    if (!p)
        return false;
    char *end;
    long pid = strtol(p + 5, &end, 10);
    return end != p + 5 && *end == '.' && pid == (long)getpid();
}

/* Index one fan-out folder (fd consumed); temporaries are deleted. */
static int obj_scan_fanout(int fd, const char *hh, struct obj_found **found, size_t *n, size_t *cap)
{
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        struct cobj_key k;
        if (obj_parse_name(de->d_name, &k)) {
            if (memcmp(de->d_name, hh, 2) != 0)
                continue; /* not where we would look for it */
            struct stat st;
            if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode))
                continue;
            if (st.st_size < OBJ_TRAILER) {
                /* Cannot hold a trailer: damaged for certain, and free to tell. */
                log_warn("cache: removing damaged object %s/%s", hh, de->d_name);
                unlinkat(dirfd(dir), de->d_name, 0);
                continue;
            }
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 1024;
                *found = mem_reallocarray(*found, *cap, sizeof **found);
            }
            (*found)[*n].key = k;
            (*found)[*n].size = (uint64_t)st.st_size - OBJ_TRAILER;
            (*found)[*n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            (*n)++;
        } else if (strstr(de->d_name, ".tmp.") && !own_temporary(de->d_name)) {
            /* A writer killed mid-object; one rcfs per cache folder (the
             * cache_dir lock) means no other live writer owns it, and ours
             * (the scan runs beside them) are skipped. */
            if (unlinkat(dirfd(dir), de->d_name, 0) != 0 && errno != ENOENT)
                log_warn("cache: cannot remove temporary %s/%s: %s", hh, de->d_name,
                         strerror(errno));
        }
        errno = 0;
    }
    int rc = errno ? -errno : 0;
    closedir(dir);
    return rc;
}

/* Walk the folder (no lock held): every object found, with size and mtime. */
static int obj_scan(struct cobj_store *s, struct obj_found **found_out, size_t *n_out)
{
    int fd = dup(s->dfd);
    if (fd < 0)
        return -errno;
    DIR *top = fdopendir(fd);
    if (!top) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    struct obj_found *found = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(top)) != NULL) {
        const char *hh = de->d_name;
        if (strlen(hh) != 2 || obj_unhex(hh[0]) < 0 || obj_unhex(hh[1]) < 0) {
            errno = 0;
            continue;
        }
        int sub = openat(s->dfd, hh, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            rc = obj_scan_fanout(sub, hh, &found, &n, &cap);
        else if (errno != ENOTDIR && errno != ELOOP)
            rc = -errno;
        if (rc < 0)
            break;
        errno = 0;
    }
    if (rc == 0 && errno)
        rc = -errno;
    closedir(top);
    *found_out = found;
    *n_out = n;
    return rc;
}

static uint32_t secs_of(int64_t mtime_ns)
{
    int64_t sec = mtime_ns / 1000000000;
    return sec < 0 ? 0 : sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
}

/*
 * Add what the scan found to the index (mu held).  Objects the index got
 * meanwhile (committed, or looked up on disk) stay as they are; the others
 * go to the least recently used end, oldest first.
 */
static void obj_merge(struct cobj_store *s, struct obj_found *found, size_t n)
{
    if (n > 0) /* found is NULL when the store is empty */
        qsort(found, n, sizeof *found, obj_found_cmp);
    obj_reserve(s, s->count + n);
    for (size_t j = n; j-- > 0;) {
        if (obj_find(s, &found[j].key) != NIL)
            continue;
        uint32_t i = obj_insert(s, &found[j].key, found[j].size, secs_of(found[j].mtime_ns));
        obj_lru_unlink(s, i);
        obj_lru_push_head(s, i);
        s->bytes += found[j].size + OBJ_TRAILER;
    }
}

/*
 * During the startup scan, an object not yet indexed may be on disk: look
 * (mu held) and index it.  Returns its entry or NIL.
 */
static uint32_t obj_adopt(struct cobj_store *s, const struct cobj_key *k)
{
    if (!s->scanning)
        return NIL;
    char name[OBJ_NAME_MAX];
    struct stat st;
    obj_name(k, name);
    if (fstatat(s->dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size < OBJ_TRAILER)
        return NIL;
    int64_t ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    uint32_t i = obj_insert(s, k, (uint64_t)st.st_size - OBJ_TRAILER, secs_of(ns));
    s->bytes += (uint64_t)st.st_size;
    return i;
}

/* The startup scan, in a thread of its own so a big cache does not delay the mount. */
static void *obj_scan_main(void *arg)
{
    struct cobj_store *s = arg;
    struct obj_found *found = NULL;
    size_t n = 0;
    int64_t t0 = isotime_mono_ms();
    int rc = obj_scan(s, &found, &n);
    pthread_mutex_lock(&s->mu);
    if (rc < 0)
        log_warn("cache: scanning the objects failed (%s); unindexed objects are found "
                 "when asked for and never evicted",
                 strerror(-rc));
    obj_merge(s, found, n);
    s->scanning = false;
    /* The cap may have been lowered since the last mount. */
    obj_evict(s, NIL);
    log_debug("cache: %u objects, %llu bytes (scan %lld ms)", (unsigned)s->count,
              (unsigned long long)s->bytes, (long long)(isotime_mono_ms() - t0));
    pthread_cond_broadcast(&s->scanned);
    pthread_mutex_unlock(&s->mu);
    free(found);
    return NULL;
}

void cobj_store_wait(struct cobj_store *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->scanning && s->scanner_started)
        pthread_cond_wait(&s->scanned, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

int cobj_store_open(const char *dir, uint64_t max_bytes, struct cobj_store **out)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    struct cobj_store *s = mem_calloc(1, sizeof *s);
    s->dfd = dfd;
    s->max_bytes = max_bytes;
    atomic_init(&s->seq, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->scanned, NULL);
    s->free_head = s->lru_head = s->lru_tail = NIL;
    obj_rehash(s, 1024);
    s->scanning = true;
    *out = s;
    return 0;
}

int cobj_store_start(struct cobj_store *s)
{
    int rc = pthread_create(&s->scanner, NULL, obj_scan_main, s);
    if (rc != 0)
        return -rc;
    s->scanner_started = true;
    return 0;
}

void cobj_store_close(struct cobj_store *s)
{
    if (!s)
        return;
    if (s->scanner_started)
        pthread_join(s->scanner, NULL);
    pthread_cond_destroy(&s->scanned);
    pthread_mutex_destroy(&s->mu);
    close(s->dfd);
    free(s->ents);
    free(s->buckets);
    free(s);
}

/* ---- reading ------------------------------------------------------------ */

/*
 * Check fd's trailer and content hash.  Returns 0 and *size, -EBADMSG when
 * the file is damaged, other -errno when it cannot be read.
 */
static int obj_verify(int fd, const struct stat *st, uint64_t *size)
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
    XXH3_state_t *h = obj_hash_new();
    uint8_t chunk[OBJ_CHUNK];
    int rc = 0;
    for (uint64_t off = 0; off < len;) {
        size_t want = len - off < sizeof chunk ? (size_t)(len - off) : sizeof chunk;
        r = cio_pread_full(fd, chunk, want, (off_t)off);
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
    if (rc == 0) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
        if (memcmp(c.digest, t + 16, sizeof c.digest) != 0)
            rc = -EBADMSG;
    }
    XXH3_freeState(h);
    if (rc == 0)
        *size = len;
    return rc;
}

/*
 * The file of a pinned object was found damaged (st: the inode we read) or
 * missing (st NULL).  Delete it if the name still holds that inode (a commit
 * may have put a good copy there meanwhile), mark the entry gone, and drop
 * our pin.
 */
static void obj_lost(struct cobj_store *s, const struct cobj_key *k, const struct stat *st)
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
    uint32_t i = obj_find(s, k);
    if (i != NIL) {
        struct obj_ent *e = &s->ents[i];
        if (removed && !e->gone) {
            e->gone = 1;
            s->bytes -= e->size + OBJ_TRAILER;
        }
        if (e->pins > 0)
            e->pins--;
        if (e->gone && e->pins == 0)
            obj_drop(s, i);
    }
    pthread_mutex_unlock(&s->mu);
}

int cobj_open(struct cobj_store *s, const struct cobj_key *k, int *fd, uint64_t *size)
{
    pthread_mutex_lock(&s->mu);
    uint32_t i = obj_find(s, k);
    if (i == NIL)
        i = obj_adopt(s, k);
    if (i == NIL || s->ents[i].gone) {
        pthread_mutex_unlock(&s->mu);
        return -ENOENT;
    }
    struct obj_ent *e = &s->ents[i];
    e->pins++;
    obj_lru_unlink(s, i);
    obj_lru_push_tail(s, i);
    uint32_t now = obj_now();
    bool touch = now - e->touched >= OBJ_TOUCH_SECS || e->touched > now;
    if (touch)
        e->touched = now;
    pthread_mutex_unlock(&s->mu);

    /* The pin keeps eviction and cobj_remove away; a concurrent commit may
     * still rename a new copy over the name, and either copy is whole. */
    char name[OBJ_NAME_MAX];
    obj_name(k, name);
    int f = openat(s->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) {
        int rc = -errno;
        if (rc == -ENOENT) {
            log_warn("cache: object %s vanished", name);
            obj_lost(s, k, NULL);
        } else {
            cobj_release(s, k);
        }
        return rc;
    }
    struct stat st;
    int rc = fstat(f, &st) != 0 ? -errno : obj_verify(f, &st, size);
    if (rc == -EBADMSG) {
        log_warn("cache: object %s is damaged; removed", name);
        close(f);
        obj_lost(s, k, &st);
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

void cobj_release(struct cobj_store *s, const struct cobj_key *k)
{
    pthread_mutex_lock(&s->mu);
    uint32_t i = obj_find(s, k);
    if (i != NIL && s->ents[i].pins > 0) {
        struct obj_ent *e = &s->ents[i];
        e->pins--;
        if (e->gone && e->pins == 0)
            obj_drop(s, i);
        else if (e->pins == 0)
            obj_evict(s, NIL); /* it may have been all that kept us over the cap */
    }
    pthread_mutex_unlock(&s->mu);
}

int cobj_exists(struct cobj_store *s, const struct cobj_key *k, uint64_t *size)
{
    pthread_mutex_lock(&s->mu);
    uint32_t i = obj_find(s, k);
    if (i == NIL)
        i = obj_adopt(s, k);
    int present = i != NIL && !s->ents[i].gone;
    if (present && size)
        *size = s->ents[i].size;
    pthread_mutex_unlock(&s->mu);
    return present;
}

/* ---- writing ------------------------------------------------------------ */

/* Close and delete the temporary (the writer then only reports w->err). */
static void obj_discard(struct cobj_writer *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->tmp_exists) {
        if (unlinkat(w->s->dfd, w->tmp, 0) != 0 && errno != ENOENT)
            log_warn("cache: cannot remove temporary %s: %s", w->tmp, strerror(errno));
        w->tmp_exists = false;
    }
}

/* Full disk and full quota are the same to the caller: evict or give up. */
static int obj_io_err(int rc)
{
    return rc == -EDQUOT ? -ENOSPC : rc;
}

static void obj_writer_free(struct cobj_writer *w)
{
    obj_discard(w);
    XXH3_freeState(w->hash);
    free(w);
}

int cobj_begin(struct cobj_store *s, const struct cobj_key *k, struct cobj_writer **out)
{
    char hex[33];
    cobj_key_hex(k, hex);
    char hh[3] = {hex[0], hex[1], '\0'};
    if (mkdirat(s->dfd, hh, 0700) != 0 && errno != EEXIST)
        return obj_io_err(-errno);
    struct cobj_writer *w = mem_calloc(1, sizeof *w);
    w->s = s;
    w->key = *k;
    w->fd = -1;
    /* O_EXCL: never write into a file someone else holds open.  A name can
     * only collide with a leftover of a dead process that had our pid. */
    for (int tries = 0; w->fd < 0 && tries < 8; tries++) {
        unsigned long long n = atomic_fetch_add(&s->seq, 1);
        snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp.%ld.%llu", hh, hex, (long)getpid(), n);
        w->fd = openat(s->dfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0 && errno != EEXIST)
            break;
    }
    if (w->fd < 0) {
        int rc = obj_io_err(-errno);
        free(w);
        return rc;
    }
    w->tmp_exists = true;
    w->hash = obj_hash_new();
    *out = w;
    return 0;
}

int cobj_write(struct cobj_writer *w, const void *p, size_t n)
{
    if (w->err)
        return w->err;
    uint64_t max = w->s->max_bytes;
    if (max && (n > max || w->size + OBJ_TRAILER > max - n)) {
        /* Fail now rather than after downloading the rest of it. */
        w->err = -EFBIG;
    } else {
        w->err = obj_io_err(cio_write_all(w->fd, p, n));
        if (w->err == 0) {
            XXH3_128bits_update(w->hash, p, n);
            w->size += n;
            return 0;
        }
    }
    /* Give the space back at once: the disk may be full. */
    obj_discard(w);
    return w->err;
}

int cobj_commit(struct cobj_writer *w, int64_t expect_size)
{
    struct cobj_store *s = w->s;
    int rc = w->err;
    if (rc)
        goto fail;
    if (expect_size >= 0 && w->size != (uint64_t)expect_size) {
        log_warn("cache: object of %lld bytes expected, %llu received", (long long)expect_size,
                 (unsigned long long)w->size);
        rc = -EIO;
        goto fail;
    }
    if (s->max_bytes && w->size + OBJ_TRAILER > s->max_bytes) {
        rc = -EFBIG;
        goto fail;
    }
    uint8_t t[OBJ_TRAILER];
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(w->hash));
    cio_put_le32(t, OBJ_MAGIC);
    cio_put_le32(t + 4, OBJ_VERSION);
    cio_put_le64(t + 8, w->size);
    memcpy(t + 16, c.digest, sizeof c.digest);
    rc = cio_write_all(w->fd, t, sizeof t);
    /* No fsync: every open verifies the size and hash in the trailer, so an
     * object torn by a power cut is found, deleted and fetched again, never
     * served.  An fsync per object was a third of a cached download's cost. */
    if (rc == 0) {
        int f = w->fd;
        w->fd = -1;
        if (close(f) != 0)
            rc = -errno;
    }
    rc = obj_io_err(rc);
    if (rc)
        goto fail;

    char name[OBJ_NAME_MAX];
    obj_name(&w->key, name);
    pthread_mutex_lock(&s->mu);
    if (renameat(s->dfd, w->tmp, s->dfd, name) != 0) {
        rc = obj_io_err(-errno);
        pthread_mutex_unlock(&s->mu);
        goto fail;
    }
    w->tmp_exists = false;
    uint32_t i = obj_find(s, &w->key);
    if (i == NIL) {
        i = obj_insert(s, &w->key, w->size, obj_now());
    } else {
        struct obj_ent *e = &s->ents[i];
        if (!e->gone)
            s->bytes -= e->size + OBJ_TRAILER;
        e->gone = 0;
        e->size = w->size;
        e->touched = obj_now();
        obj_lru_unlink(s, i);
        obj_lru_push_tail(s, i);
    }
    s->bytes += w->size + OBJ_TRAILER;
    obj_evict(s, i);
    pthread_mutex_unlock(&s->mu);
    obj_writer_free(w);
    return 0;

fail:
    obj_writer_free(w);
    return rc;
}

void cobj_abort(struct cobj_writer *w)
{
    if (w)
        obj_writer_free(w);
}

int cobj_remove(struct cobj_store *s, const struct cobj_key *k)
{
    char name[OBJ_NAME_MAX];
    obj_name(k, name);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    uint32_t i = obj_find(s, k);
    if (i == NIL)
        i = obj_adopt(s, k);
    if (i == NIL || s->ents[i].gone) {
        rc = -ENOENT;
    } else if (s->ents[i].pins) {
        rc = -EBUSY;
    } else if (unlinkat(s->dfd, name, 0) != 0 && errno != ENOENT) {
        rc = -errno;
    } else {
        s->bytes -= s->ents[i].size + OBJ_TRAILER;
        obj_drop(s, i);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

uint64_t cobj_bytes(struct cobj_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t b = s->bytes;
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* cache_obj_scan — the startup scan and lookups on disk (see cache_obj_scan.h). */
#include "cache/cache_obj_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_obj_index.h"
#include "cache/cache_obj_space.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

struct scan_found {
    struct cobj_key key; /* from the file name */
    uint64_t size;       /* content bytes */
    int64_t mtime_ns;    /* last use */
};

/* What the walk collects (no lock held). */
struct scan_list {
    struct scan_found *v; /* found objects */
    size_t n;             /* in use */
    size_t cap;           /* allocated */
};

static int scan_unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is not a name we write */
}

/* Parse a 32-hex object name; false for anything else. */
static bool scan_parse_name(const char *name, struct cobj_key *k)
{
    if (strlen(name) != 32)
        return false;
    for (int i = 0; i < 16; i++) {
        int hi = scan_unhex(name[2 * i]), lo = scan_unhex(name[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        k->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int scan_found_cmp(const void *a, const void *b)
{
    const struct scan_found *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return memcmp(x->key.b, y->key.b, sizeof x->key.b); /* a stable order for ties */
}

static int64_t scan_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static uint32_t scan_secs(int64_t mtime_ns)
{
    int64_t sec = mtime_ns / 1000000000;
    return sec < 0 ? 0 : sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
}

/* A temporary of this process ("<hex>.tmp.<pid>.<n>"): a live writer's. */
static bool scan_own_temporary(const char *name)
{
    const char *p = strstr(name, ".tmp.");
    if (!p)
        return false;
    char *end;
    long pid = strtol(p + 5, &end, 10);
    return end != p + 5 && *end == '.' && pid == (long)getpid();
}

/* One entry of fan-out folder hh (open as dir): collect an object, delete a
 * dead writer's temporary, leave anything else alone. */
static void scan_entry(DIR *dir, const char *hh, const char *name, struct scan_list *l)
{
    struct cobj_key k;
    if (!scan_parse_name(name, &k)) {
        /* A writer killed mid-object; one rcfs per cache folder (the
         * cache_dir lock) means no other live writer owns it, and ours
         * (the scan runs beside them) are skipped. */
        if (strstr(name, ".tmp.") && !scan_own_temporary(name) &&
            unlinkat(dirfd(dir), name, 0) != 0 && errno != ENOENT)
            log_warn("cache: cannot remove temporary %s/%s: %s", hh, name, strerror(errno));
        return;
    }
    if (memcmp(name, hh, 2) != 0)
        return; /* not where we would look for it */
    struct stat st;
    if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return;
    if (st.st_size < OBJ_TRAILER) {
        /* Cannot hold a trailer: damaged for certain, and free to tell. */
        log_warn("cache: removing damaged object %s/%s", hh, name);
        unlinkat(dirfd(dir), name, 0);
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = mem_reallocarray(l->v, l->cap, sizeof *l->v);
    }
    l->v[l->n++] = (struct scan_found){k, (uint64_t)st.st_size - OBJ_TRAILER, scan_mtime_ns(&st)};
}

/* Index one fan-out folder (fd consumed). */
static int scan_fanout(int fd, const char *hh, struct scan_list *l)
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
        scan_entry(dir, hh, de->d_name, l);
        errno = 0;
    }
    int rc = errno ? -errno : 0;
    closedir(dir);
    return rc;
}

/* Walk the folder (no lock held): every object found, with size and mtime. */
static int scan_walk(struct cobj_store *s, struct scan_list *l)
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
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(top)) != NULL) {
        const char *hh = de->d_name;
        if (strlen(hh) != 2 || scan_unhex(hh[0]) < 0 || scan_unhex(hh[1]) < 0) {
            errno = 0;
            continue;
        }
        int sub = openat(s->dfd, hh, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            rc = scan_fanout(sub, hh, l);
        else if (errno != ENOTDIR && errno != ELOOP)
            rc = -errno;
        if (rc < 0)
            break;
        errno = 0;
    }
    if (rc == 0 && errno)
        rc = -errno;
    closedir(top);
    return rc;
}

/* Add what the walk found to the index (mu held).  Entries the index got
 * meanwhile (committed, adopted, or tombstones of deleted files) stay as they
 * are; the others go to the least recently used end, oldest first. */
static void scan_merge(struct cobj_store *s, struct scan_list *l)
{
    if (l->n > 0) /* v is NULL when the store is empty */
        qsort(l->v, l->n, sizeof *l->v, scan_found_cmp);
    oidx_reserve(s, s->count + l->n);
    for (size_t j = l->n; j-- > 0;) {
        if (oidx_find(s, &l->v[j].key) != NIL)
            continue;
        uint32_t i = oidx_insert(s, &l->v[j].key, l->v[j].size, scan_secs(l->v[j].mtime_ns));
        oidx_make_oldest(s, i);
    }
}

void *oscan_main(void *arg)
{
    struct cobj_store *s = arg;
    struct scan_list l = {0};
    int64_t t0 = isotime_mono_ms();
    int rc = scan_walk(s, &l);
    pthread_mutex_lock(&s->mu);
    if (rc < 0)
        log_warn("cache: scanning the objects failed (%s); objects not indexed are looked "
                 "up when asked for, and the cap counts only indexed ones",
                 strerror(-rc));
    scan_merge(s, &l);
    s->scanning = false;
    s->adopt = rc < 0;
    oidx_sweep(s);
    /* The cap and the reserve may have been lowered since the last mount. */
    ospace_enforce_cap(s, NIL);
    ospace_enforce_reserve(s, NIL);
    log_debug("cache: %u objects, %llu bytes (scan %lld ms)", (unsigned)s->count,
              (unsigned long long)s->bytes, (long long)(isotime_mono_ms() - t0));
    pthread_cond_broadcast(&s->scanned);
    pthread_mutex_unlock(&s->mu);
    free(l.v);
    return NULL;
}

uint32_t oscan_adopt(struct cobj_store *s, const struct cobj_key *k)
{
    if (!s->adopt)
        return NIL;
    char name[OBJ_NAME_MAX];
    struct stat st;
    obj_name(k, name);
    if (fstatat(s->dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size < OBJ_TRAILER)
        return NIL;
    return oidx_insert(s, k, (uint64_t)st.st_size - OBJ_TRAILER, scan_secs(scan_mtime_ns(&st)));
}

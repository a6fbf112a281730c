/* cache_spool — the Outbox's files on disk (see cache_spool.h). */
#include "cache/cache_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_io.h"
#include "util/log.h"
#include "util/mem.h"

/* A record is small; anything bigger is not one of ours. */
#define REC_MAX  (64 * 1024)
#define META_MAX (1024 * 1024)

struct spool {
    char *dir;     /* the spool folder */
    char *drafts;  /* dir/drafts */
    char *queue;   /* dir/queue */
    char *damaged; /* dir/damaged */
};

static int mkdir_0700(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

/* A new file id; a collision is caught by O_EXCL or RENAME_NOREPLACE. */
static uint64_t random_id(void)
{
    static _Atomic uint64_t fallback;
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = ((uint64_t)time(NULL) << 24) ^ ((uint64_t)getpid() << 8) ^
            atomic_fetch_add(&fallback, 1);
    return v ? v : 1;
}

static char *draft_path(const struct spool *s, uint64_t draft)
{
    return mem_printf("%s/%016" PRIx64, s->drafts, draft);
}

static char *queue_path(const struct spool *s, uint64_t jid, const char *ext)
{
    return mem_printf("%s/%016" PRIx64 ".%s", s->queue, jid, ext);
}

/* Read a whole small file (at most max bytes). */
static int read_small(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0 && (st.st_size < 0 || (uint64_t)st.st_size > max))
        rc = -EFBIG;
    char *p = NULL;
    if (rc == 0) {
        p = mem_alloc((size_t)st.st_size + 1);
        ssize_t n = cio_pread_full(fd, p, (size_t)st.st_size, 0);
        rc = n < 0 ? (int)n : n != st.st_size ? -EIO : 0;
    }
    close(fd);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p[st.st_size] = '\0';
    *out = p;
    *len = (size_t)st.st_size;
    return 0;
}

/* Write path atomically and durably through tmp (same folder). */
static int write_atomic(const char *path, const char *tmp, const char *text, size_t len)
{
    struct iovec iov = {(void *)text, len};
    int rc = cio_replace(path, tmp, &iov, 1);
    return rc < 0 ? rc : cio_fsync_parent(path);
}

/* Move queue/<name> (and its data when it is a record) to damaged/. */
static void set_aside(struct spool *s, const char *name, const char *why)
{
    char *from = mem_printf("%s/%s", s->queue, name);
    char *to = mem_printf("%s/%s", s->damaged, name);
    log_err("outbox: %s/%s %s; moved to %s (it will not be sent)", s->queue, name, why, s->damaged);
    if (rename(from, to) != 0)
        log_err("outbox: cannot move %s aside: %s", from, strerror(errno));
    free(from);
    free(to);
}

/* Empty drafts/, and remove temporaries and unfinished commits in queue/. */
static int clean(struct spool *s)
{
    DIR *d = opendir(s->drafts);
    if (!d)
        return -errno;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    d = opendir(s->queue);
    if (!d)
        return -errno;
    for (struct dirent *e; (e = readdir(d));) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        if (strncmp(n, ".tmp-", 5) == 0) {
            unlinkat(dirfd(d), n, 0);
        } else if (l == 21 && strcmp(n + 16, ".data") == 0) {
            char rec[32];
            snprintf(rec, sizeof rec, "%.16s.rec", n);
            if (faccessat(dirfd(d), rec, F_OK, 0) != 0)
                unlinkat(dirfd(d), n, 0); /* its commit never finished */
        } else if (l == 20 && strcmp(n + 16, ".rec") == 0) {
            char data[32];
            snprintf(data, sizeof data, "%.16s.data", n);
            if (faccessat(dirfd(d), data, F_OK, 0) != 0)
                set_aside(s, n, "has no data");
        }
    }
    closedir(d);
    return 0;
}

bool spool_has_sends(const char *dir)
{
    char *queue = mem_printf("%s/queue", dir);
    DIR *d = opendir(queue);
    free(queue);
    bool any = false;
    for (struct dirent *e; d && !any && (e = readdir(d));) {
        const char *dot = strrchr(e->d_name, '.');
        any = e->d_name[0] != '.' && dot && strcmp(dot, ".rec") == 0;
    }
    if (d)
        closedir(d);
    return any;
}

int spool_open(const char *dir, struct spool **out)
{
    struct spool *s = mem_calloc(1, sizeof *s);
    s->dir = mem_strdup(dir);
    s->drafts = mem_printf("%s/drafts", dir);
    s->queue = mem_printf("%s/queue", dir);
    s->damaged = mem_printf("%s/damaged", dir);
    int rc = mkdir_0700(s->dir);
    if (rc == 0)
        rc = mkdir_0700(s->drafts);
    if (rc == 0)
        rc = mkdir_0700(s->queue);
    if (rc == 0)
        rc = mkdir_0700(s->damaged);
    if (rc == 0)
        rc = clean(s);
    if (rc < 0) {
        spool_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    free(s->dir);
    free(s->drafts);
    free(s->queue);
    free(s->damaged);
    free(s);
}

int spool_draft_new(struct spool *s, uint64_t *draft, int *fd)
{
    for (int tries = 0; tries < 8; tries++) {
        uint64_t id = random_id();
        char *p = draft_path(s, id);
        int f = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int e = errno;
        free(p);
        if (f >= 0) {
            *draft = id;
            *fd = f;
            return 0;
        }
        if (e != EEXIST)
            return -e;
    }
    return -EEXIST;
}

int spool_draft_remove(struct spool *s, uint64_t draft)
{
    char *p = draft_path(s, draft);
    int rc = unlink(p) == 0 || errno == ENOENT ? 0 : -errno;
    free(p);
    return rc;
}

/* Size and xxh3-128 of the whole file fd. */
static int hash_file(int fd, uint64_t *size, uint8_t hash[16])
{
    XXH3_state_t *h = XXH3_createState();
    char *chunk = mem_alloc(1 << 16);
    uint64_t off = 0;
    int rc = 0;
    if (!h)
        abort(); /* the out-of-memory policy (util/mem.h) */
    XXH3_128bits_reset(h);
    for (;;) {
        ssize_t n = cio_pread_full(fd, chunk, 1 << 16, (off_t)off);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        XXH3_128bits_update(h, chunk, (size_t)n);
        off += (uint64_t)n;
        if (n < (1 << 16))
            break;
    }
    if (rc == 0) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
        memcpy(hash, c.digest, 16);
        *size = off;
    }
    XXH3_freeState(h);
    free(chunk);
    return rc;
}

int spool_save(struct spool *s, const struct spool_rec *r)
{
    size_t len;
    char *text = spool_rec_encode(r, &len);
    char *path = queue_path(s, r->jid, "rec");
    char *tmp = mem_printf("%s/.tmp-%016" PRIx64 ".rec", s->queue, r->jid);
    int rc = write_atomic(path, tmp, text, len);
    free(tmp);
    free(path);
    free(text);
    return rc;
}

int spool_commit(struct spool *s, uint64_t draft, int fd, struct spool_rec *r)
{
    int rc = fsync(fd) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = hash_file(fd, &r->size, r->hash);
    if (rc < 0)
        return rc;
    char *from = draft_path(s, draft), *to = NULL;
    for (int tries = 0; tries < 8; tries++) {
        r->jid = random_id();
        free(to);
        to = queue_path(s, r->jid, "data");
        rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0 ? 0 : -errno;
        if (rc != -EEXIST)
            break;
    }
    if (rc == 0) {
        rc = spool_save(s, r);
        if (rc < 0 && rename(to, from) != 0) /* not committed: the draft stays a draft */
            log_err("outbox: cannot move %s back to %s: %s", to, from, strerror(errno));
    }
    free(from);
    free(to);
    return rc;
}

int spool_remove(struct spool *s, uint64_t jid)
{
    char *rec = queue_path(s, jid, "rec"), *data = queue_path(s, jid, "data");
    int rc = unlink(rec) == 0 || errno == ENOENT ? 0 : -errno;
    if (rc == 0)
        rc = cio_fsync_parent(rec);
    if (rc == 0 && unlink(data) != 0 && errno != ENOENT)
        rc = -errno;
    free(rec);
    free(data);
    return rc;
}

int spool_reopen(struct spool *s, uint64_t jid, uint64_t *draft, int *fd)
{
    char *rec = queue_path(s, jid, "rec"), *data = queue_path(s, jid, "data");
    int rc = unlink(rec) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = cio_fsync_parent(rec);
    uint64_t id = random_id();
    char *to = draft_path(s, id);
    if (rc == 0)
        rc = renameat2(AT_FDCWD, data, AT_FDCWD, to, RENAME_NOREPLACE) == 0 ? 0 : -errno;
    if (rc == 0) {
        int f = open(to, O_RDWR | O_CLOEXEC);
        if (f < 0) {
            rc = -errno;
            unlink(to);
        } else {
            *draft = id;
            *fd = f;
        }
    }
    free(to);
    free(rec);
    free(data);
    return rc;
}

int spool_data_open(struct spool *s, uint64_t jid)
{
    char *p = queue_path(s, jid, "data");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 ? fd : -errno;
    free(p);
    return rc;
}

static int cmp_jid(const void *a, const void *b)
{
    uint64_t x = ((const struct spool_rec *)a)->jid, y = ((const struct spool_rec *)b)->jid;
    return x < y ? -1 : x > y;
}

/* Read and check record file `name` of queue/.  Returns true when *r holds it. */
static bool load_one(struct spool *s, const char *name, struct spool_rec *r)
{
    char *path = mem_printf("%s/%s", s->queue, name), *text = NULL;
    size_t len = 0;
    uint64_t jid = 0;
    int rc = read_small(path, REC_MAX, &text, &len);
    free(path);
    if (rc == 0)
        rc = spool_rec_decode(text, len, r);
    free(text);
    if (rc == 0) {
        char want[32];
        jid = r->jid;
        snprintf(want, sizeof want, "%016" PRIx64 ".rec", jid);
        if (strcmp(want, name) != 0) {
            spool_rec_free(r);
            rc = -EINVAL;
        }
    }
    if (rc == 0)
        return true;
    set_aside(s, name, "failed its check");
    char data[32];
    snprintf(data, sizeof data, "%.16s.data", name);
    set_aside(s, data, "belongs to a damaged record");
    return false;
}

int spool_load(struct spool *s, struct spool_rec **out, size_t *n)
{
    DIR *d = opendir(s->queue);
    if (!d)
        return -errno;
    struct spool_rec *v = NULL;
    size_t cnt = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".rec") != 0)
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            v = mem_reallocarray(v, cap, sizeof *v);
        }
        if (load_one(s, e->d_name, &v[cnt]))
            cnt++;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_jid);
    *out = v ? v : mem_calloc(1, sizeof *v);
    *n = cnt;
    return 0;
}

int spool_meta_put(struct spool *s, const char *text, size_t len)
{
    char *path = mem_printf("%s/meta", s->dir), *tmp = mem_printf("%s/.meta.tmp", s->dir);
    int rc = write_atomic(path, tmp, text, len);
    free(path);
    free(tmp);
    return rc;
}

int spool_meta_get(struct spool *s, char **text, size_t *len)
{
    char *path = mem_printf("%s/meta", s->dir);
    int rc = read_small(path, META_MAX, text, len);
    free(path);
    return rc;
}

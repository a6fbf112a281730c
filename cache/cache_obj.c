/* cache_obj — keys, names and the life of the content store (see cache_obj.h). */
#include "cache/cache_obj.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_io.h"
#include "cache/cache_obj_impl.h"
#include "cache/cache_obj_index.h"
#include "cache/cache_obj_scan.h"
#include "cache/cache_obj_space.h"
#include "util/log.h"
#include "util/mem.h"

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

struct cobj_key cobj_key_of(const void *p, size_t n)
{
    /* Fixed forever, like cobj_key_make's: the tag, then the caller's bytes
     * length-prefixed, so no input can produce a cobj_key_make key. */
    static const char tag[] = "rcfs cache derived key v1";
    XXH3_state_t *h = obj_hash_new();
    uint8_t len[8];
    cio_put_le64(len, sizeof tag - 1);
    XXH3_128bits_update(h, len, sizeof len);
    XXH3_128bits_update(h, tag, sizeof tag - 1);
    cio_put_le64(len, n);
    XXH3_128bits_update(h, len, sizeof len);
    XXH3_128bits_update(h, p, n);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
    XXH3_freeState(h);
    struct cobj_key k;
    memcpy(k.b, c.digest, sizeof k.b);
    return k;
}

void cobj_key_hex(const struct cobj_key *k, char out[33])
{
    cio_hex(k->b, sizeof k->b, out);
}

void obj_name(const struct cobj_key *k, char name[OBJ_NAME_MAX])
{
    char hex[33];
    cobj_key_hex(k, hex);
    snprintf(name, OBJ_NAME_MAX, "%.2s/%s", hex, hex);
}

uint32_t obj_now(void)
{
    time_t t = time(NULL);
    return t < 0 ? 0 : t > (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

XXH3_state_t *obj_hash_new(void)
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

int obj_io_err(int rc)
{
    return rc == -EDQUOT ? -ENOSPC : rc;
}

/* ---- the store's life ---------------------------------------------------- */

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
    oidx_init(s);
    s->scanning = s->adopt = true;
    struct statvfs sv;
    if (fstatvfs(dfd, &sv) == 0)
        s->reserve = ospace_default_reserve((uint64_t)sv.f_blocks * sv.f_frsize);
    else
        log_warn("cache: cannot measure the file system of %s (%s); no free-space reserve", dir,
                 strerror(errno));
    *out = s;
    return 0;
}

int cobj_store_start(struct cobj_store *s)
{
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (!s->started && s->scanning) {
        /* Created under mu so close, which joins, sees started set only
         * for a thread that exists. */
        rc = -pthread_create(&s->scanner, NULL, oscan_main, s);
        s->started = rc == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void cobj_store_wait(struct cobj_store *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->started && s->scanning)
        pthread_cond_wait(&s->scanned, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void cobj_store_close(struct cobj_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    bool join = s->started;
    pthread_mutex_unlock(&s->mu);
    if (join)
        pthread_join(s->scanner, NULL);
    pthread_cond_destroy(&s->scanned);
    pthread_mutex_destroy(&s->mu);
    close(s->dfd);
    oidx_free(s);
    free(s);
}

uint64_t cobj_bytes(struct cobj_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t b = s->bytes;
    pthread_mutex_unlock(&s->mu);
    return b;
}

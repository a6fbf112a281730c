/* cache_obj_space — the cap, the free-space reserve, ENOSPC relief (see cache_obj_space.h). */
#include "cache/cache_obj_space.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache/cache_obj_index.h"
#include "util/log.h"

#define MIB (UINT64_C(1) << 20)

/* How many times eviction measures the free space again. */
#define SPACE_ROUNDS 3

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t ospace_default_reserve(uint64_t fs_bytes)
{
    uint64_t r = fs_bytes / 50 > 64 * MIB ? fs_bytes / 50 : 64 * MIB;
    if (r > 1024 * MIB)
        r = 1024 * MIB;
    if (r > fs_bytes / 8)
        r = fs_bytes / 8;
    return r;
}

/* Free bytes for us on the store's file system, and its block size.  When it
 * cannot be measured: UINT64_MAX (nothing is evicted for a figure we lack). */
static uint64_t space_avail(const struct cobj_store *s, uint64_t *block)
{
    struct statvfs sv;
    *block = 4096;
    if (fstatvfs(s->dfd, &sv) != 0)
        return UINT64_MAX;
    if (sv.f_frsize > 0)
        *block = sv.f_frsize;
    return (uint64_t)sv.f_bavail * *block;
}

static bool space_evictable(const struct cobj_store *s, uint32_t i, uint32_t keep)
{
    const struct obj_ent *e = &s->ents[i];
    return e->pins == 0 && !e->gone && i != keep;
}

/* Delete entry i's file and forget it.  Returns the bytes of blocks it held.
 * A file we fail to delete is forgotten anyway: the next open of the store
 * indexes (and if need be evicts) it again. */
static uint64_t space_evict_one(struct cobj_store *s, uint32_t i, uint64_t block)
{
    char name[OBJ_NAME_MAX];
    obj_name(&s->ents[i].key, name);
    if (unlinkat(s->dfd, name, 0) != 0 && errno != ENOENT)
        log_warn("cache: cannot evict %s: %s", name, strerror(errno));
    uint64_t file = s->ents[i].size + OBJ_TRAILER;
    oidx_forget(s, i);
    return (file + block - 1) / block * block;
}

void ospace_enforce_cap(struct cobj_store *s, uint32_t keep)
{
    if (s->max_bytes == 0 || s->scanning)
        return; /* during the startup scan the byte count is partial */
    uint32_t i = s->lru_head;
    while (s->bytes > s->max_bytes && i != NIL) {
        uint32_t next = s->ents[i].next;
        if (space_evictable(s, i, keep))
            space_evict_one(s, i, 1);
        i = next;
    }
}

/*
 * Evict LRU objects (not pinned, not keep) until the free space is estimated
 * to reach target; with at_least_one, one even when it already seems to (an
 * ENOSPC says otherwise: inodes, or space the estimate misses).  Returns the
 * free space last measured; *evicted counts the deletions.
 */
static uint64_t space_evict_to(struct cobj_store *s, uint64_t target, uint32_t keep,
                               bool at_least_one, unsigned *evicted)
{
    uint64_t block, avail = space_avail(s, &block);
    *evicted = 0;
    for (int round = 0; round < SPACE_ROUNDS; round++) {
        if (avail >= target && !(at_least_one && *evicted == 0))
            break;
        unsigned before = *evicted;
        uint64_t est = avail;
        for (uint32_t i = s->lru_head; i != NIL;) {
            if (est >= target && !(at_least_one && *evicted == 0))
                break;
            uint32_t next = s->ents[i].next;
            if (space_evictable(s, i, keep)) {
                est = sat_add(est, space_evict_one(s, i, block));
                (*evicted)++;
            }
            i = next;
        }
        if (*evicted == before)
            break; /* nothing left to evict */
        avail = space_avail(s, &block);
    }
    return avail;
}

void ospace_enforce_reserve(struct cobj_store *s, uint32_t keep)
{
    if (s->scanning)
        return;
    if (s->reserve == 0) {
        s->space_short = false;
        return;
    }
    unsigned n;
    uint64_t avail = space_evict_to(s, s->reserve, keep, false, &n);
    if (n > 0)
        log_debug("cache: evicted %u objects to keep %llu bytes free", n,
                  (unsigned long long)s->reserve);
    s->space_short = avail < s->reserve;
}

/* Let a running scan finish (mu released meanwhile): evicting while it runs
 * would let its merge index a deleted file again. */
static void space_wait_scan(struct cobj_store *s)
{
    while (s->started && s->scanning)
        pthread_cond_wait(&s->scanned, &s->mu);
}

/* Ask the layers above to give up pins they can spare (mu released while
 * they do, so their cobj_release calls can take it).  Returns how many they
 * released; 0 without a hook. */
static int space_ask_pins(struct cobj_store *s)
{
    int (*fn)(void *) = s->pressure;
    void *arg = s->pressure_arg;
    if (!fn)
        return 0;
    pthread_mutex_unlock(&s->mu);
    int released = fn(arg);
    pthread_mutex_lock(&s->mu);
    if (released > 0)
        log_info("cache: disk full; %d idle open objects given up", released);
    space_wait_scan(s); /* cannot have restarted, but mu was let go */
    return released;
}

bool ospace_relieve(struct cobj_store *s, uint64_t need)
{
    space_wait_scan(s);
    unsigned n;
    uint64_t target = sat_add(need, s->reserve);
    space_evict_to(s, target, NIL, true, &n);
    if (n == 0 && space_ask_pins(s) > 0) {
        space_evict_to(s, target, NIL, false, &n);
        return true; /* their releases may have evicted already */
    }
    if (n > 0)
        log_info("cache: disk full; evicted %u objects", n);
    return n > 0;
}

int cobj_make_room(struct cobj_store *s, uint64_t bytes)
{
    pthread_mutex_lock(&s->mu);
    space_wait_scan(s);
    unsigned n;
    uint64_t avail = space_evict_to(s, bytes, NIL, false, &n);
    if (avail < bytes && space_ask_pins(s) > 0) {
        unsigned more;
        avail = space_evict_to(s, bytes, NIL, false, &more);
        n += more;
    }
    if (n > 0)
        log_info("cache: evicted %u objects to make room for %llu bytes", n,
                 (unsigned long long)bytes);
    pthread_mutex_unlock(&s->mu);
    return avail >= bytes ? 0 : -ENOSPC;
}

void cobj_set_pressure_hook(struct cobj_store *s, int (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->pressure = fn;
    s->pressure_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

void cobj_set_reserve(struct cobj_store *s, uint64_t bytes)
{
    pthread_mutex_lock(&s->mu);
    s->reserve = bytes;
    ospace_enforce_reserve(s, NIL);
    pthread_mutex_unlock(&s->mu);
}

uint64_t cobj_reserve(struct cobj_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t r = s->reserve;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* cache_obj_index — slab, hash, LRU and byte count of the store (see cache_obj_index.h). */
#include "cache/cache_obj_index.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache_io.h"
#include "util/log.h"
#include "util/mem.h"

static uint32_t oidx_bucket(const struct cobj_store *s, const struct cobj_key *k)
{
    /* The key is already a uniform hash: any 4 of its bytes will do. */
    return cio_get_le32(k->b + 12) & (s->nbuckets - 1);
}

static void oidx_rehash(struct cobj_store *s, uint32_t nbuckets)
{
    free(s->buckets);
    s->nbuckets = nbuckets;
    s->buckets = mem_reallocarray(NULL, nbuckets, sizeof *s->buckets);
    memset(s->buckets, 0xff, (size_t)nbuckets * sizeof *s->buckets); /* all NIL */
    for (uint32_t i = 0; i < s->nslab; i++) {
        if (!s->ents[i].used)
            continue;
        uint32_t b = oidx_bucket(s, &s->ents[i].key);
        s->ents[i].hnext = s->buckets[b];
        s->buckets[b] = i;
    }
}

void oidx_init(struct cobj_store *s)
{
    s->free_head = s->lru_head = s->lru_tail = NIL;
    oidx_rehash(s, 1024);
}

void oidx_free(struct cobj_store *s)
{
    free(s->ents);
    free(s->buckets);
    s->ents = NULL;
    s->buckets = NULL;
}

uint32_t oidx_find(const struct cobj_store *s, const struct cobj_key *k)
{
    for (uint32_t i = s->buckets[oidx_bucket(s, k)]; i != NIL; i = s->ents[i].hnext)
        if (memcmp(s->ents[i].key.b, k->b, sizeof k->b) == 0)
            return i;
    return NIL;
}

static void oidx_lru_unlink(struct cobj_store *s, uint32_t i)
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

static void oidx_lru_push_tail(struct cobj_store *s, uint32_t i)
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

static void oidx_lru_push_head(struct cobj_store *s, uint32_t i)
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

void oidx_reserve(struct cobj_store *s, size_t n)
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
        oidx_rehash(s, nb);
}

/* A free slot (from the free list, else past the high-water mark). */
static uint32_t oidx_slot(struct cobj_store *s)
{
    if (s->free_head != NIL) {
        uint32_t i = s->free_head;
        s->free_head = s->ents[i].hnext;
        return i;
    }
    if (s->nslab == s->ncap) {
        if (s->ncap >= NIL - 1 - s->ncap / 2) {
            log_err("cache index full");
            abort();
        }
        /* x1.5 rather than x2 keeps the slack, and so bytes per object, low. */
        s->ncap = s->ncap < 64 ? 64 : s->ncap + s->ncap / 2;
        s->ents = mem_reallocarray(s->ents, s->ncap, sizeof *s->ents);
    }
    return s->nslab++;
}

uint32_t oidx_insert(struct cobj_store *s, const struct cobj_key *k, uint64_t size,
                     uint32_t touched)
{
    uint32_t i = oidx_slot(s);
    struct obj_ent *e = &s->ents[i];
    memset(e, 0, sizeof *e);
    e->key = *k;
    e->size = size;
    e->touched = touched;
    e->used = 1;
    s->count++;
    if (s->count > s->nbuckets) {
        oidx_rehash(s, s->nbuckets * 2); /* also links e */
    } else {
        uint32_t b = oidx_bucket(s, k);
        e->hnext = s->buckets[b];
        s->buckets[b] = i;
    }
    oidx_lru_push_tail(s, i);
    s->bytes += size + OBJ_TRAILER;
    return i;
}

void oidx_make_oldest(struct cobj_store *s, uint32_t i)
{
    oidx_lru_unlink(s, i);
    oidx_lru_push_head(s, i);
}

void oidx_make_newest(struct cobj_store *s, uint32_t i)
{
    oidx_lru_unlink(s, i);
    oidx_lru_push_tail(s, i);
}

void oidx_replace(struct cobj_store *s, uint32_t i, uint64_t size)
{
    struct obj_ent *e = &s->ents[i];
    if (!e->gone)
        s->bytes -= e->size + OBJ_TRAILER;
    e->gone = 0;
    e->size = size;
    e->touched = obj_now();
    s->bytes += size + OBJ_TRAILER;
    oidx_make_newest(s, i);
}

/* Remove entry i (already gone: its bytes are discounted) from the index. */
static void oidx_drop(struct cobj_store *s, uint32_t i)
{
    uint32_t *link = &s->buckets[oidx_bucket(s, &s->ents[i].key)];
    while (*link != i)
        link = &s->ents[*link].hnext;
    *link = s->ents[i].hnext;
    oidx_lru_unlink(s, i);
    s->ents[i].used = 0;
    s->ents[i].hnext = s->free_head;
    s->free_head = i;
    s->count--;
}

void oidx_forget(struct cobj_store *s, uint32_t i)
{
    struct obj_ent *e = &s->ents[i];
    if (!e->gone) {
        e->gone = 1;
        s->bytes -= e->size + OBJ_TRAILER;
    }
    if (e->pins == 0 && !s->scanning)
        oidx_drop(s, i);
}

bool oidx_unpin(struct cobj_store *s, uint32_t i)
{
    struct obj_ent *e = &s->ents[i];
    if (e->pins == 0)
        return false;
    if (--e->pins > 0)
        return false;
    if (!e->gone)
        return true;
    if (!s->scanning)
        oidx_drop(s, i);
    return false;
}

void oidx_sweep(struct cobj_store *s)
{
    for (uint32_t i = 0; i < s->nslab; i++)
        if (s->ents[i].used && s->ents[i].gone && s->ents[i].pins == 0)
            oidx_drop(s, i);
}

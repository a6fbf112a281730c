/* fs_lru — reference-counted LRU table (see fs_lru.h). */
#include "fs/fs_lru.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/mem.h"

struct fs_lru {
    pthread_mutex_t lock;
    unsigned n;               /* slots */
    struct fs_lru_ent **slot; /* entries held (NULL = free) */
    uint64_t clock;           /* LRU stamps */
    void (*destroy)(void *ctx, struct fs_lru_ent *e);
    void *ctx;
};

struct fs_lru *fs_lru_new(unsigned slots, void (*destroy)(void *ctx, struct fs_lru_ent *e),
                          void *ctx)
{
    struct fs_lru *t = mem_calloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    t->n = slots;
    t->slot = mem_calloc(slots, sizeof *t->slot);
    t->destroy = destroy;
    t->ctx = ctx;
    return t;
}

void fs_lru_free(struct fs_lru *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->n; i++)
        if (t->slot[i])
            t->destroy(t->ctx, t->slot[i]);
    pthread_mutex_destroy(&t->lock);
    free(t->slot);
    free(t);
}

struct fs_lru_ent *fs_lru_get(struct fs_lru *t, uint64_t k1, uint64_t k2)
{
    struct fs_lru_ent *found = NULL;
    pthread_mutex_lock(&t->lock);
    for (unsigned i = 0; i < t->n && !found; i++) {
        struct fs_lru_ent *e = t->slot[i];
        if (e && e->k1 == k1 && e->k2 == k2) {
            e->refs++;
            e->used = ++t->clock;
            found = e;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

/* The slot for a new entry keyed (k1, k2): its namesake's, a free one, or
 * the least recently used.  Lock held. */
static unsigned victim_of(struct fs_lru *t, uint64_t k1, uint64_t k2)
{
    unsigned free_slot = t->n, lru = 0;
    for (unsigned i = 0; i < t->n; i++) {
        struct fs_lru_ent *e = t->slot[i];
        if (!e) {
            if (free_slot == t->n)
                free_slot = i;
            continue;
        }
        if (e->k1 == k1 && e->k2 == k2)
            return i;
        if (!t->slot[lru] || e->used < t->slot[lru]->used)
            lru = i;
    }
    return free_slot < t->n ? free_slot : lru;
}

void fs_lru_put(struct fs_lru *t, struct fs_lru_ent *e)
{
    pthread_mutex_lock(&t->lock);
    unsigned v = victim_of(t, e->k1, e->k2);
    struct fs_lru_ent *old = t->slot[v];
    t->slot[v] = e;
    e->refs++; /* the table's */
    e->used = ++t->clock;
    pthread_mutex_unlock(&t->lock);
    if (old)
        fs_lru_release(t, old);
}

int fs_lru_drop_idle(struct fs_lru *t)
{
    struct fs_lru_ent **idle = mem_calloc(t->n ? t->n : 1, sizeof *idle);
    int n = 0;
    pthread_mutex_lock(&t->lock);
    for (unsigned i = 0; i < t->n; i++) {
        if (t->slot[i] && t->slot[i]->refs == 1) {
            idle[n++] = t->slot[i];
            t->slot[i] = NULL;
        }
    }
    pthread_mutex_unlock(&t->lock);
    for (int i = 0; i < n; i++)
        t->destroy(t->ctx, idle[i]);
    free(idle);
    return n;
}

void fs_lru_release(struct fs_lru *t, struct fs_lru_ent *e)
{
    pthread_mutex_lock(&t->lock);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (last)
        t->destroy(t->ctx, e);
}

/* ohash — open-addressing hash of uint32 values (see ohash.h). */
#include "util/ohash.h"

#include <stdlib.h>

#include "util/mem.h"

void ohash_init(struct ohash *h, uint64_t (*hash_of)(void *ctx, uint32_t value), void *ctx)
{
    *h = (struct ohash){.hash_of = hash_of, .ctx = ctx};
}

void ohash_free(struct ohash *h)
{
    free(h->bucket);
    h->bucket = NULL;
    h->cap = h->n = 0;
}

uint64_t ohash_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t ohash_str(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return ohash_mix(h);
}

bool ohash_find(const struct ohash *h, uint64_t hash, bool (*match)(const void *arg, uint32_t v),
                const void *arg, uint32_t *out)
{
    if (!h->cap)
        return false;
    uint32_t mask = h->cap - 1;
    for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t b = h->bucket[i];
        if (!b)
            return false;
        if (match(arg, b - 1)) {
            *out = b - 1;
            return true;
        }
    }
}

static void put(struct ohash *h, uint64_t hash, uint32_t value)
{
    uint32_t mask = h->cap - 1;
    uint32_t i = (uint32_t)hash & mask;
    while (h->bucket[i])
        i = (i + 1) & mask;
    h->bucket[i] = value + 1;
}

static void grow(struct ohash *h)
{
    uint32_t old_cap = h->cap;
    uint32_t *old = h->bucket;
    h->cap = old_cap ? old_cap * 2 : 256;
    h->bucket = mem_calloc(h->cap, sizeof *h->bucket);
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i])
            put(h, h->hash_of(h->ctx, old[i] - 1), old[i] - 1);
    free(old);
}

void ohash_insert(struct ohash *h, uint64_t hash, uint32_t value)
{
    if ((uint64_t)(h->n + 1) * 10 >= (uint64_t)h->cap * 7)
        grow(h);
    put(h, hash, value);
    h->n++;
}

/*
 * ohash — an open-addressing hash table of uint32 values (e.g. slot numbers).
 *
 * The table stores only values; the caller keeps the objects and says how to
 * hash and compare them.  Lookups probe linearly from the key's hash and call
 * the caller's `match` on each candidate; insertions never replace.  Nothing
 * is ever removed (rcfs's index entries live as long as the index), which
 * keeps probing simple: an empty bucket ends every search.  The table grows
 * (doubling) before it is 70% full; growing rehashes through the caller's
 * `hash_of` callback.  Not thread-safe: the caller's lock covers it.
 */
#ifndef RCFS_UTIL_OHASH_H
#define RCFS_UTIL_OHASH_H

#include <stdbool.h>
#include <stdint.h>

struct ohash {
    uint32_t *bucket; /* value + 1 per bucket, 0 = empty */
    uint32_t cap;     /* power of two, or 0 before the first insert */
    uint32_t n;       /* values held */
    /* The hash of a stored value (for rehashing when the table grows). */
    uint64_t (*hash_of)(void *ctx, uint32_t value);
    void *ctx; /* passed to hash_of */
};

/* An empty table; hash_of(ctx, value) rehashes values when it grows. */
void ohash_init(struct ohash *h, uint64_t (*hash_of)(void *ctx, uint32_t value), void *ctx);

/* Free the buckets; the table is empty (and reusable) after. */
void ohash_free(struct ohash *h);

/* Find the value whose key hashes to `hash` and for which match(arg, value)
 * is true.  Returns true and *out, or false when there is none. */
bool ohash_find(const struct ohash *h, uint64_t hash, bool (*match)(const void *arg, uint32_t v),
                const void *arg, uint32_t *out);

/* Insert value (whose key hashes to `hash`); the caller ensures it is not
 * already there.  value must be < UINT32_MAX.  Never fails (aborts on OOM). */
void ohash_insert(struct ohash *h, uint64_t hash, uint32_t value);

/* A 64-bit mix (murmur3 finaliser) for building keys. */
uint64_t ohash_mix(uint64_t x);

/* FNV-1a of a NUL-terminated string, mixed with seed. */
uint64_t ohash_str(const char *s, uint64_t seed);

#endif

/*
 * cache_obj_index — the content store's in-memory index (internal to cache_obj*).
 *
 * Owns the slab of entries, the hash from key to entry, the LRU list (least
 * recently used at the head) and the byte count of the entries present.
 * The invariant every function keeps: s->bytes is the sum of size +
 * OBJ_TRAILER over entries that are not gone.  No I/O here.  Every function
 * is called with s->mu held.
 */
#ifndef RCFS_CACHE_OBJ_INDEX_H
#define RCFS_CACHE_OBJ_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "cache/cache_obj_impl.h"

/* An empty index (1024 buckets). */
void oidx_init(struct cobj_store *s);

/* Free the index's memory (not s). */
void oidx_free(struct cobj_store *s);

/* The entry of k (tombstones included), or NIL. */
uint32_t oidx_find(const struct cobj_store *s, const struct cobj_key *k);

/* Size the slab and the buckets for n entries in one go (no growth slack, no
 * repeated rehashing).  Aborts past 2^31 entries. */
void oidx_reserve(struct cobj_store *s, size_t n);

/* Add an entry for k (not in the index) at the most recently used end and
 * count its bytes.  Returns its slot.  Aborts past 2^32 - 2 entries. */
uint32_t oidx_insert(struct cobj_store *s, const struct cobj_key *k, uint64_t size,
                     uint32_t touched);

/* Move entry i to the least recently used end (objects older than any in use). */
void oidx_make_oldest(struct cobj_store *s, uint32_t i);

/* Move entry i to the most recently used end. */
void oidx_make_newest(struct cobj_store *s, uint32_t i);

/* A new copy of entry i's object is in place (size bytes of content): it is
 * present again if it was gone, counted with its new size, and newest. */
void oidx_replace(struct cobj_store *s, uint32_t i, uint64_t size);

/* Entry i's file is deleted: discount it and drop it, unless it is pinned
 * (dropped at its last unpin) or the scan runs (kept as a tombstone). */
void oidx_forget(struct cobj_store *s, uint32_t i);

/* Drop one pin of entry i (no-op when unpinned).  A gone entry whose last
 * pin this was is dropped, unless the scan runs.  Returns true when the
 * entry is present and now unpinned (it has become evictable). */
bool oidx_unpin(struct cobj_store *s, uint32_t i);

/* Drop every unpinned tombstone (the scan has ended). */
void oidx_sweep(struct cobj_store *s);

#endif

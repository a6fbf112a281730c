/*
 * cache_obj_space — what the content store may keep (internal to cache_obj*).
 *
 * Two limits decide which objects stay: the cap (the store's own bytes, at
 * most max_bytes) and the reserve (free space to leave on the file system
 * holding the cache, so the record log and the state snapshot, small and
 * essential, always find room).  Both are met by deleting least recently
 * used objects, never a pinned one.  This module also relieves a full disk
 * (ENOSPC) and implements cobj_make_room, cobj_set_reserve, cobj_reserve and
 * cobj_set_pressure_hook.
 *
 * Free space is f_bavail of the objects folder's file system.  Evicting
 * estimates what each deletion frees (its size rounded up to whole blocks)
 * and measures again after each round, at most three rounds: a file system
 * that frees space lazily (btrfs) may see more evicted than needed, never
 * an endless loop.  Every function here is called with s->mu held, and
 * unlinks under it (the folder and the index never disagree).
 */
#ifndef RCFS_CACHE_OBJ_SPACE_H
#define RCFS_CACHE_OBJ_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/cache_obj_impl.h"

/*
 * The reserve a store gets on a file system of fs_bytes:
 * min(max(64 MiB, 2% of it), 1 GiB, 1/8 of it).  64 MiB holds a large
 * mailbox's snapshot and a burst of record appends; 2% keeps pace with
 * larger disks; 1 GiB is plenty for any mailbox; and 1/8 leaves a small
 * file system (a 3 MB test tmpfs) mostly to the cache.
 */
uint64_t ospace_default_reserve(uint64_t fs_bytes);

/* Evict LRU objects while the store exceeds its cap, skipping pinned ones and
 * keep (NIL for none).  Does nothing without a cap or while scanning. */
void ospace_enforce_cap(struct cobj_store *s, uint32_t keep);

/* Evict LRU objects while the file system has less free space than the
 * reserve, skipping pinned ones and keep; sets s->space_short when pins (or
 * other files) keep it short.  Does nothing while scanning. */
void ospace_enforce_reserve(struct cobj_store *s, uint32_t keep);

/*
 * Something failed with ENOSPC: evict at least one unpinned object and go on
 * until the free space is estimated to be need + the reserve (waiting first
 * for a running scan to end, so the merge cannot bring an evicted object
 * back).  When nothing unpinned is left, ask the pressure hook to give up
 * pins and evict again.  mu is released while waiting and while the hook
 * runs.  Returns true when anything was evicted or given up, i.e. a retry
 * may succeed.
 */
bool ospace_relieve(struct cobj_store *s, uint64_t need);

#endif

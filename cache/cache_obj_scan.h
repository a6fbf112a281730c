/*
 * cache_obj_scan — indexing what the objects folder holds (internal to cache_obj*).
 *
 * The startup scan walks the fan-out folders without the lock, collecting
 * each object's size and mtime (its last use), deletes temporaries of dead
 * writers and files too short to hold a trailer, then takes s->mu once to
 * merge: objects the index got meanwhile stay as they are, the others go to
 * the least recently used end, oldest first.  It then ends the scanning
 * state (sweeping tombstones) and enforces the cap and the reserve, which may
 * have been lowered since the last run.  Until then, oscan_adopt finds an
 * object on disk when it is asked for.
 */
#ifndef RCFS_CACHE_OBJ_SCAN_H
#define RCFS_CACHE_OBJ_SCAN_H

#include <stdint.h>

#include "cache/cache_obj_impl.h"

/* The scan, as a thread's body (arg: the store).  Broadcasts s->scanned when
 * done.  Returns NULL. */
void *oscan_main(void *arg);

/* The entry of k found on disk and indexed (mu held; only while s->adopt),
 * or NIL when absent, not a regular file or too short for a trailer. */
uint32_t oscan_adopt(struct cobj_store *s, const struct cobj_key *k);

#endif

/*
 * fs_lru — a small table of reference-counted entries, least recently used
 * out first.
 *
 * Holds what handle-less FUSE requests need between calls: directory
 * snapshots for readdir (fs_dir.c) and open attachments for read
 * (fs_file.c).  An entry is found by a 64-bit key pair; the table keeps one
 * reference to each entry it holds, every lookup gives the caller another,
 * and an entry is destroyed (by the table's destructor, outside the table's
 * lock) when its last reference is dropped.  Thread-safe.
 */
#ifndef RCFS_FS_LRU_H
#define RCFS_FS_LRU_H

#include <stdint.h>

struct fs_lru;

/* The entry header; embed it first in the caller's entry struct. */
struct fs_lru_ent {
    uint64_t k1, k2; /* key */
    int refs;        /* references (the table's included) */
    uint64_t used;   /* LRU stamp */
};

/* A table of `slots` entries; destroy(ctx, e) frees an entry. */
struct fs_lru *fs_lru_new(unsigned slots, void (*destroy)(void *ctx, struct fs_lru_ent *e),
                          void *ctx);

/* Destroy every entry still held and free the table.  No entry may be in
 * use.  NULL-safe. */
void fs_lru_free(struct fs_lru *t);

/* The entry with key (k1, k2), with a new reference, or NULL. */
struct fs_lru_ent *fs_lru_get(struct fs_lru *t, uint64_t k1, uint64_t k2);

/* Put e (refs = 1, the caller's; key set) in the table, replacing an entry
 * with the same key or the least recently used one.  The table takes a
 * reference of its own; the caller keeps its one. */
void fs_lru_put(struct fs_lru *t, struct fs_lru_ent *e);

/* Drop the table's reference to every entry nobody else uses (destroying
 * them).  Returns how many were dropped. */
int fs_lru_drop_idle(struct fs_lru *t);

/* Drop a reference; the last one destroys the entry. */
void fs_lru_release(struct fs_lru *t, struct fs_lru_ent *e);

#endif

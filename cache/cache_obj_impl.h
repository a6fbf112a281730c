/*
 * cache_obj_impl — what the cache_obj*.c files share (internal to them).
 *
 * The content store (cache_obj.h) is one module in six files, one concern
 * each: cache_obj.c (keys, names, the store's life), cache_obj_index.c (the
 * in-memory index: slab, hash, LRU, byte count), cache_obj_scan.c (indexing
 * what is on disk), cache_obj_space.c (what may stay: the cap and the
 * free-space reserve), cache_obj_read.c (open, verify, pin, remove) and
 * cache_obj_write.c (the writer).  This header owns the store's struct, the
 * on-disk constants and the helpers more than one of them needs.
 *
 * Threads and the lock.  s->mu guards every field below it in struct
 * cobj_store, and every rename into or unlink of a final object name, so the
 * index and the folder never disagree.  It is held across metadata system
 * calls only (renameat, unlinkat, fstatat, fstatvfs), never across reading or
 * writing content.  It is the only lock of the module and no other lock is
 * taken while it is held (log lines aside).  The only thread the module
 * starts is the scanner (cobj_store_start); it takes mu to merge what it
 * found, and is joined by cobj_store_close.  Before cobj_store_start no
 * thread exists and mu is unlocked between calls, so a process may fork
 * (daemonise) between cobj_store_open and cobj_store_start.
 *
 * States.  Opened (not started) and scanning: the index may lack objects that
 * are on disk, so lookups of unknown keys look on disk (oscan_adopt), the
 * byte count is partial, and neither the cap nor the reserve evicts; an entry
 * forgotten meanwhile stays as a tombstone (gone, unpinned) so the scan's
 * merge cannot bring it back.  Ready: the scan merged and swept the
 * tombstones; if it failed, lookups keep looking on disk (s->adopt).
 */
#ifndef RCFS_CACHE_OBJ_IMPL_H
#define RCFS_CACHE_OBJ_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <xxhash.h>

#include "cache/cache_obj.h"

/*
 * The trailer, after the content (little-endian, fixed size):
 *    0  magic   u32  OBJ_MAGIC ("RCOB" on disk)
 *    4  version u32  OBJ_VERSION
 *    8  size    u64  content bytes (the file is size + OBJ_TRAILER bytes)
 *   16  hash    16   xxh3-128 of the content, canonical (big-endian) form
 * A trailer rather than a header: the writer streams content it has not seen
 * yet and learns size and hash only at the end, and pread(0..size) serves the
 * content without an offset.  Every byte of it is checked on open: magic and
 * version by value, size against the file size, hash against the content.
 */
#define OBJ_TRAILER 32
#define OBJ_MAGIC   0x424f4352u
#define OBJ_VERSION 1u

/* No entry (slot indices are uint32_t). */
#define NIL UINT32_MAX

/* Room for "hh/<32 hex>.tmp.<pid>.<counter>" relative to the objects folder. */
#define OBJ_NAME_MAX 96

/*
 * One indexed object.  Entries live in one array (the slab) and link to each
 * other by index, not pointer: 48 bytes each, and growing the slab does not
 * invalidate links.
 */
struct obj_ent {
    struct cobj_key key; /* which object */
    uint64_t size;       /* content bytes (the file is size + OBJ_TRAILER) */
    uint32_t prev;       /* LRU neighbour towards the head (least recently used) */
    uint32_t next;       /* LRU neighbour towards the tail (most recently used) */
    uint32_t hnext;      /* next in the hash bucket chain; free-list link when unused */
    uint32_t pins;       /* cobj_open calls not yet released */
    uint32_t touched;    /* when the file mtime was last set (s since the epoch) */
    uint8_t used;        /* slot holds an entry */
    uint8_t gone;        /* file deleted: absent to lookups, counts no bytes; kept
                            while pinned, and during the scan as a tombstone */
};

struct cobj_store {
    int dfd;                  /* the objects folder; all names are relative to it */
    uint64_t max_bytes;       /* cap (0 = none); fixed at open */
    atomic_uint_fast64_t seq; /* temporary-name counter */

    pthread_mutex_t mu;      /* guards everything below (see the top of this file) */
    struct obj_ent *ents;    /* the slab */
    uint32_t nslab;          /* slots ever used (high-water mark) */
    uint32_t ncap;           /* slots allocated */
    uint32_t free_head;      /* free slots below nslab, linked through hnext */
    uint32_t count;          /* entries in use (tombstones included) */
    uint32_t *buckets;       /* hash heads (slot indices) */
    uint32_t nbuckets;       /* a power of two >= count */
    uint32_t lru_head;       /* least recently used */
    uint32_t lru_tail;       /* most recently used */
    uint64_t bytes;          /* content + trailers of present (not gone) entries */
    uint64_t reserve;        /* free space to keep on the file system (bytes) */
    bool space_short;        /* the last reserve check could not reach the reserve
                                for pins: a release checks again */
    int (*pressure)(void *); /* cobj_set_pressure_hook's function, or NULL */
    void *pressure_arg;      /* and its argument */
    bool scanning;           /* opened or scanning: the index may lack objects on
                                disk, the byte count is partial, nothing is evicted
                                for the cap or the reserve, forgotten entries stay
                                as tombstones */
    bool adopt;              /* lookups of unknown keys look on disk (scanning, or
                                the scan failed) */
    bool started;            /* cobj_store_start created the scanner: join it */
    pthread_cond_t scanned;  /* broadcast when the scan ends */
    pthread_t scanner;       /* the scan's thread (when started) */
};

/* "hh/<32 hex>" into name. */
void obj_name(const struct cobj_key *k, char name[OBJ_NAME_MAX]);

/* Now, in whole seconds since the epoch, clamped to uint32_t. */
uint32_t obj_now(void);

/* A fresh xxh3-128 state (aborts when out of memory: util/mem.h's policy). */
XXH3_state_t *obj_hash_new(void);

/* A full disk and a full quota are the same to the caller: -EDQUOT -> -ENOSPC. */
int obj_io_err(int rc);

#endif

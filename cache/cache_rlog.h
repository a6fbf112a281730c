/*
 * cache_rlog — the record log: meta.json texts on disk, append-only, verified.
 *
 * Every record rcfs shows as meta.json lives here, so the in-memory index
 * keeps only offsets (a 100,000-message mailbox must fit in ~1 KiB per
 * message).  A log file is a sequence of entries:
 *   header { magic u32, payload length u32, message id u64, xxh3-128 of payload }
 *   payload (the meta.json bytes)
 * Appends go to the end; an entry is addressed by the offset of its payload.
 * Reads check the header (magic, length, id) and the payload hash, so a
 * damaged entry is reported, never served.  Superseded entries are garbage
 * until rlog_compact writes a new generation with only live entries.
 * Thread-safe (appends are serialised by a lock of the log's own, held only
 * while one append writes; reads are pread).  Starts no thread.  A full disk
 * or quota is always reported as -ENOSPC, so the caller can make room
 * (cobj_make_room) and retry.
 */
#ifndef RCFS_CACHE_RLOG_H
#define RCFS_CACHE_RLOG_H

#include <stddef.h>
#include <stdint.h>

struct rlog;

/* Where an entry's payload is. */
struct rlog_ref {
    uint64_t off; /* payload offset in the log file */
    uint32_t len; /* payload length */
};

/*
 * Open generation gen of the log in folder dir ("records-<gen>.log"),
 * creating it when create is non-zero.  valid_len: bytes known good (from the
 * snapshot that refers to this log); anything beyond is a torn append and is
 * cut off.  Pass UINT64_MAX to keep the file as it is.  A file shorter than
 * valid_len still opens (with a warning): entries past its end read as -EIO.
 * Returns 0 and *out, or -errno (-ENOENT when absent and !create).
 */
int rlog_open(const char *dir, uint64_t gen, int create, uint64_t valid_len, struct rlog **out);

/* Close; NULL-safe. */
void rlog_close(struct rlog *l);

/* Generation number of this log. */
uint64_t rlog_gen(const struct rlog *l);

/* Bytes in the log (the end offset). */
uint64_t rlog_size(struct rlog *l);

/* Append one entry (32-byte header + payload; header and payload in one
 * pwritev at the tracked end).  Returns 0 and *ref, or -errno (-ENOSPC for a
 * full disk or quota, ...); on error rlog_size does not move and the file
 * is truncated back to it (should that truncate fail too, the torn tail
 * stays past rlog_size, where the next append overwrites it and no
 * snapshot's valid_len reaches). */
int rlog_append(struct rlog *l, uint64_t msg_id, const void *payload, uint32_t len,
                struct rlog_ref *ref);

/* Make appended entries durable (fdatasync).  Returns 0 or -errno (-ENOSPC
 * for a full disk or quota: a file system may allocate only now). */
int rlog_sync(struct rlog *l);

/*
 * Read an entry's payload into buf (at least ref.len bytes) and verify it
 * belongs to msg_id and matches its hash.  Returns 0, -EIO when damaged or
 * mismatched, other -errno on read errors.
 */
int rlog_read(struct rlog *l, uint64_t msg_id, struct rlog_ref ref, void *buf);

/*
 * Write generation rlog_gen(l)+1 in the same folder holding only the entries
 * the caller lists, then return it in *out (l stays open and unchanged; the
 * caller switches over, persists a snapshot naming the new generation, and
 * then calls rlog_unlink_gen for the old one).
 * n entries: ids[i] and refs[i] in l; new_refs[i] receives the new location.
 * Every entry is verified while copied; one that is damaged is not carried
 * over and gets new_refs[i] = {0, 0} (0 is never a payload offset), so the
 * caller forgets it and fetches the record again.  The new file is written
 * as "records-<gen+1>.log.tmp", fsynced, and renamed into place (folder
 * fsynced too), replacing any leftover of that generation.  Entries
 * appended to l while this runs are not in the new generation: the caller
 * holds its appends (or appends them again) until it has switched.
 * Returns 0 or -errno (-ENOSPC for a full disk or quota; the new file is
 * removed on error).
 */
int rlog_compact(struct rlog *l, size_t n, const uint64_t *ids, const struct rlog_ref *refs,
                 struct rlog_ref *new_refs, struct rlog **out);

/* Remove generation gen's file from dir (after a switch).  Returns 0 or -errno. */
int rlog_unlink_gen(const char *dir, uint64_t gen);

#endif

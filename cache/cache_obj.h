/*
 * cache_obj — attachment content kept on disk, verified, bounded by LRU.
 *
 * An object is the full content of one attachment.  Its file name is the hex
 * xxh3-128 of a stable key (server, account, extension, message id,
 * attachment id), under a two-character fan-out folder:
 *   <objects>/<first 2 hex>/<32 hex>
 * The file holds the content followed by a fixed trailer (magic, version,
 * content size, xxh3-128 of the content).  Objects are written to a
 * temporary name in the same folder and renamed into place only when
 * complete and checked; leftover temporaries (a killed daemon) are removed
 * when the store opens.  A file whose trailer or hash does not match is
 * deleted and reported missing: it is never served.
 *
 * The store holds at most max_bytes of objects (content + trailer); when a
 * commit would exceed it, least recently used objects are evicted first,
 * never one that is open (pinned) and never the object being committed.  So
 * while everything else is pinned the store may exceed its cap; it shrinks
 * back as objects are released.  Recency is kept in memory and written to
 * the files' mtimes (at most once a minute per object), which order the LRU
 * when the store is opened again.  An object that alone exceeds the cap is
 * refused (-EFBIG).  Thread-safe; a single writer is used by one thread at a
 * time.
 */
#ifndef RCFS_CACHE_OBJ_H
#define RCFS_CACHE_OBJ_H

#include <stddef.h>
#include <stdint.h>

struct cobj_store;
struct cobj_writer;

struct cobj_key {
    uint8_t b[16]; /* xxh3-128 of the stable key string, big-endian canonical form */
};

/* The key of an attachment.  server and account are strings as the mount
 * knows them; ids are the server's.  The hashed serialisation is
 * length-prefixed (no two argument lists give the same bytes) and fixed
 * forever: keys name files that outlive the program. */
struct cobj_key cobj_key_make(const char *server, const char *account, uint64_t ext_id,
                              uint64_t msg_id, uint64_t att_id);

/* Hex form (32 chars + NUL) of a key, e.g. for logs. */
void cobj_key_hex(const struct cobj_key *k, char out[33]);

/*
 * Open the store rooted at dir (the cache_dir "objects" folder, created if
 * missing).  No thread is started (a daemon forks after this): call
 * cobj_store_start to index what is there (sizes and last use, from the
 * files' mtimes; leftover temporaries of dead writers removed; files too
 * short to hold a trailer deleted) in a thread of its own, so a big cache
 * does not delay the caller.  Until that scan has started and ended, an object not yet
 * indexed is looked up on disk when asked for, and nothing is evicted (the
 * byte count is partial); the scan then evicts down to the cap (which may
 * have been lowered since the last time).  Other damage is found by
 * cobj_open.  max_bytes: the cap (0 = unlimited).  Returns 0 and *out, or
 * -errno.
 */
int cobj_store_open(const char *dir, uint64_t max_bytes, struct cobj_store **out);

/* Start the startup scan's thread (once, after any fork).  Returns 0 or -errno. */
int cobj_store_start(struct cobj_store *s);

/* Wait until the startup scan has indexed everything (tests; full
 * accounting).  Returns at once when the scan was never started. */
void cobj_store_wait(struct cobj_store *s);

/* Close the store (no object may be open, no writer unfinished); waits for
 * the startup scan.  NULL-safe. */
void cobj_store_close(struct cobj_store *s);

/*
 * Open an object for reading and pin it (it will not be evicted until
 * cobj_release).  The content is verified against its trailer on every open.
 * Returns 0 with *fd (read-only, positioned anywhere: use pread on
 * [0, *size)) and *size; -ENOENT when absent or found damaged (a damaged
 * file is deleted); other -errno on I/O errors.  Marks the object used.
 * Verifying reads the whole file: about 0.15 ms per MB when it is in the page
 * cache.  On success the caller closes *fd and calls cobj_release exactly
 * once; on failure nothing is pinned.
 */
int cobj_open(struct cobj_store *s, const struct cobj_key *k, int *fd, uint64_t *size);

/* Unpin an object opened with cobj_open. */
void cobj_release(struct cobj_store *s, const struct cobj_key *k);

/* True when a complete object is present (no verification, no pin). */
int cobj_exists(struct cobj_store *s, const struct cobj_key *k, uint64_t *size);

/*
 * Start writing an object (to a temporary "<hash>.tmp.<pid>.<n>" beside
 * its final name).  Returns 0 and *w, or -errno.  Content is appended with
 * cobj_write; nothing is visible to readers until cobj_commit succeeds.
 * Several writers of one key may run at once: the last commit wins.
 */
int cobj_begin(struct cobj_store *s, const struct cobj_key *k, struct cobj_writer **w);

/* Append n bytes.  Returns 0, or -errno: -ENOSPC when the disk or quota is
 * full, -EFBIG when the object would exceed the store's cap.  On error the
 * temporary is removed at once (giving the space back) and the writer is
 * dead: every later call returns the same error; finish it with cobj_abort
 * (or cobj_commit, which returns the error). */
int cobj_write(struct cobj_writer *w, const void *p, size_t n);

/*
 * Finish: check that exactly expect_size bytes were written (expect_size < 0:
 * no check), append the trailer, fsync, rename into place (replacing any old
 * copy), account for it and evict LRU objects beyond the cap.
 * Returns 0, or -errno (-EIO for a size mismatch, -EFBIG when the object
 * alone exceeds the cap, -ENOSPC, ...); on any error the temporary is
 * removed and nothing changed.  w is freed either way.
 */
int cobj_commit(struct cobj_writer *w, int64_t expect_size);

/* Abandon a writer: remove the temporary, free w.  NULL-safe. */
void cobj_abort(struct cobj_writer *w);

/* Remove an object if present and not pinned.  Returns 0, -ENOENT, -EBUSY. */
int cobj_remove(struct cobj_store *s, const struct cobj_key *k);

/* Bytes currently held (content + trailers). */
uint64_t cobj_bytes(struct cobj_store *s);

#endif

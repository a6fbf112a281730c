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
 * by the startup scan.  Objects are not fsynced: every open verifies size
 * and hash, so a file torn by a crash or power cut is deleted and reported
 * missing, never served.
 *
 * What stays.  The store holds at most max_bytes of objects (content +
 * trailer), and leaves a reserve of free space on the file system holding it
 * (so the record log and the state snapshot, small and essential, find
 * room).  When a commit would exceed the cap, or leaves less free space than
 * the reserve, least recently used objects are evicted first, never one that
 * is open (pinned) and never the object being committed.  So while
 * everything else is pinned the store may exceed its cap or eat into the
 * reserve; it shrinks back as objects are released.  When the disk is full
 * anyway (ENOSPC: other writers, downloads in flight), the write that hit it
 * evicts (asking the layers above to give up idle pins if nothing else is
 * left: cobj_set_pressure_hook) and retries once.  Recency is kept in memory and written to the
 * files' mtimes (at most once a minute per object), which order the LRU when
 * the store is opened again.  An object that alone exceeds the cap is
 * refused (-EFBIG).
 *
 * Threads and fork.  Thread-safe; a single writer is used by one thread at a
 * time.  cobj_store_open starts no thread: the startup scan's thread is
 * started by cobj_store_start, so a process may open the store and then fork
 * (daemonise) before starting it.  One lock (internal) guards the index; it is
 * held across metadata system calls (rename, unlink, stat, statvfs), never
 * across content I/O.
 *
 * Implemented in cache_obj.c (keys, the store's life), cache_obj_read.c,
 * cache_obj_write.c and cache_obj_space.c, with cache_obj_index.c and
 * cache_obj_scan.c behind them (cache_obj_impl.h says who owns what).
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

/* The key of an object derived from other content (e.g. the text of a
 * fax document): the xxh3-128 of the n bytes at p, which the caller makes
 * a stable, unambiguous serialisation of everything the object depends on.
 * A tag of its own keeps these keys apart from cobj_key_make's. */
struct cobj_key cobj_key_of(const void *p, size_t n);

/* Hex form (32 chars + NUL) of a key, e.g. for logs. */
void cobj_key_hex(const struct cobj_key *k, char out[33]);

/*
 * Open the store rooted at dir (the cache_dir "objects" folder, created if
 * missing) without starting any thread, and set its reserve to the default
 * for the file system holding dir: min(max(64 MiB, 2% of it), 1 GiB, 1/8 of
 * it), 0 when it cannot be measured.  Until cobj_store_start has run the
 * startup scan, every call works: an object not yet indexed is looked up on
 * disk when asked for, and nothing is evicted for the cap or the reserve
 * (the byte count is partial); only a full disk evicts (see cobj_write).
 * max_bytes: the cap (0 = unlimited).  Returns 0 and *out, or -errno (from
 * mkdir or open of dir); nothing is left open on failure.
 */
int cobj_store_open(const char *dir, uint64_t max_bytes, struct cobj_store **out);

/*
 * Start the startup scan in a thread of its own, so a big cache does not
 * delay the caller: it indexes what is on disk (sizes and last use, from the
 * files' mtimes; leftover temporaries of dead writers removed; files too
 * short to hold a trailer deleted), then evicts down to the cap and the
 * reserve (either may have been lowered since the last run).  Other damage
 * is found by cobj_open.  Call it once the process is what it will stay
 * (after daemonising: a thread does not survive a fork).  Returns 0 (also
 * when already started), or -errno from pthread_create (e.g. -EAGAIN); on
 * failure the store stays as opened and the call may be repeated.
 */
int cobj_store_start(struct cobj_store *s);

/* Wait until the startup scan has indexed everything (tests; full
 * accounting).  Returns at once when cobj_store_start was not called. */
void cobj_store_wait(struct cobj_store *s);

/* Close the store (no object may be open, no writer unfinished), started or
 * not; waits for the startup scan.  NULL-safe. */
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

/*
 * The xxh3-128 of an object's content (canonical, big-endian form) as its
 * trailer records it, from fd and size as cobj_open gave them (that open
 * verified the trailer against the content; fd still reads that inode).
 * Reads 32 bytes.  Returns 0 and out, -EBADMSG when no trailer is there
 * (not an fd of cobj_open), other -errno when it cannot be read.
 */
int cobj_content_hash(int fd, uint64_t size, uint8_t out[16]);

/* Unpin an object opened with cobj_open (a stray call is harmless).  An
 * object no longer pinned by anyone may be evicted at once if the store is
 * over its cap or short of its reserve. */
void cobj_release(struct cobj_store *s, const struct cobj_key *k);

/* True when a complete object is present (no verification, no pin). */
int cobj_exists(struct cobj_store *s, const struct cobj_key *k, uint64_t *size);

/*
 * Start writing an object (to a temporary "<hash>.tmp.<pid>.<n>" beside
 * its final name).  Returns 0 and *w, or -errno (-ENOSPC when the disk is
 * full even after evicting and retrying once).  Content is appended with
 * cobj_write; nothing is visible to readers until cobj_commit succeeds.
 * Several writers of one key may run at once: the last commit wins.
 */
int cobj_begin(struct cobj_store *s, const struct cobj_key *k, struct cobj_writer **w);

/* Append n bytes.  Returns 0, or -errno: -ENOSPC when the disk or quota is
 * full even after evicting least recently used objects (unpinned) and
 * retrying once, -EFBIG when the object would exceed the store's cap.  On
 * error the temporary is removed at once (giving the space back) and the
 * writer is dead: every later call returns the same error; finish it with
 * cobj_abort (or cobj_commit, which returns the error). */
int cobj_write(struct cobj_writer *w, const void *p, size_t n);

/*
 * Finish: check that exactly expect_size bytes were written (expect_size < 0:
 * no check), append the trailer (no fsync: see the top of this file), rename
 * into place (replacing any old copy), account for it and evict least
 * recently used objects beyond the cap and until the reserve is free.  A
 * full disk while appending the trailer or renaming evicts and retries once.
 * Returns 0, or -errno (-EIO for a size mismatch, -EFBIG when the object
 * alone exceeds the cap, -ENOSPC, ...); on any error the temporary is
 * removed and the object is as it was (objects evicted to make room stay
 * evicted).  w is freed either way.
 */
int cobj_commit(struct cobj_writer *w, int64_t expect_size);

/* Abandon a writer: remove the temporary, free w.  NULL-safe. */
void cobj_abort(struct cobj_writer *w);

/* Remove an object if present and not pinned.  Returns 0, -ENOENT when
 * absent, -EBUSY when pinned, other -errno when the file cannot be unlinked
 * (then nothing changed). */
int cobj_remove(struct cobj_store *s, const struct cobj_key *k);

/* Bytes currently held (content + trailers). */
uint64_t cobj_bytes(struct cobj_store *s);

/*
 * Make room on the file system holding the store: evict least recently used
 * objects (never pinned ones) until at least bytes are free for us
 * (statvfs f_bavail), or nothing unpinned is left (then the pressure hook,
 * if any, is asked to give up pins, and eviction goes on).  For the layers above
 * when a write of their own (a record log append, a snapshot) fails with
 * -ENOSPC: pass what that write needs plus some slack for metadata (64 KiB),
 * then retry the write once.  Waits for a running startup scan first.
 * Returns 0 when that much is free (at once if it already was; also when
 * the free space cannot be measured), else -ENOSPC (what could be evicted
 * was).
 */
int cobj_make_room(struct cobj_store *s, uint64_t bytes);

/* Set the free-space reserve (bytes; 0 = none) and evict at once if the file
 * system is short of it (not before the startup scan has ended). */
void cobj_set_reserve(struct cobj_store *s, uint64_t bytes);

/* The free-space reserve in bytes. */
uint64_t cobj_reserve(struct cobj_store *s);

/*
 * Register fn(arg), called when the disk is full (a write of this store, or
 * cobj_make_room) and nothing unpinned is left to evict: the layers above
 * may hold pins they can give up, e.g. idle open files kept for reads to
 * come (open objects' space cannot be freed).  fn releases what it can
 * (cobj_release) and returns how many objects it released; the store then
 * evicts again and retries once.  fn is called from the thread whose write
 * failed, possibly from several at once, with no lock of the store held; it
 * must not write to this store, nor wait for anything that a thread writing
 * to it may hold.  fn NULL: no hook (the default).
 */
void cobj_set_pressure_hook(struct cobj_store *s, int (*fn)(void *arg), void *arg);

#endif

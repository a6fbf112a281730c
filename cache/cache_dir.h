/*
 * cache_dir — the cache folder itself: creation, permissions, exclusivity.
 *
 * Layout under cache_dir (created 0700; an existing folder that is group- or
 * world-accessible is tightened to 0700, one not owned by us is refused):
 *   lock                    flock()ed for the life of the mount: one rcfs per folder
 *   objects/<hh>/<hash>     content objects (cache_obj)
 *   state/<scope>/          persisted records and index for one mailbox scope
 *                           (cache_rlog, cache_snap), and its Outbox's spool
 *                           (state/<scope>/outbox/, cache_spool); <scope> is a hex hash of
 *                           server URL + account id, so accounts never mix
 */
#ifndef RCFS_CACHE_DIR_H
#define RCFS_CACHE_DIR_H

#include <stddef.h>

struct cdir;

/*
 * Open (creating as needed) the cache folder at path and take its lock.
 * Missing parent folders are created 0700 too (mkdir -p); existing parents
 * are left alone.  The lock file holds our pid while we hold it, so a
 * second rcfs can say who is in its way (after a fork, see cdir_note_pid).
 * The lock is an flock on an open file description (O_CLOEXEC): a child of
 * fork shares it, which is how it survives daemonising; exec does not
 * inherit it; it dies with the last process holding the description.
 * Returns 0 and *out, or -errno: -EBUSY when another process holds the lock,
 * -EPERM when the folder belongs to another user, other -errno from the
 * file system.  On failure err (may be NULL) holds one line for the user,
 * e.g. "cache folder X is in use by another rcfs (pid N)".
 */
int cdir_open(const char *path, struct cdir **out, char *err, size_t errlen);

/*
 * Write the calling process's pid into the lock file, replacing the pid
 * cdir_open wrote.  Call it in the child after a fork that carries the lock
 * on (daemonising: the parent that opened the folder exits), so a second
 * rcfs names the process really in its way.  Returns 0 or -errno; on failure
 * the lock is still held, only the message would name the wrong pid.
 */
int cdir_note_pid(struct cdir *d);

/* Path of the objects folder (owned by d, valid until cdir_close). */
const char *cdir_objects(const struct cdir *d);

/*
 * Path of the state folder for a scope key (any string, e.g.
 * "https://platform.ringcentral.com|account 123"), created 0700.
 * Returns a malloc'd path, or NULL with errno set.
 */
char *cdir_state_path(const struct cdir *d, const char *scope_key);

/* Release the lock and free d.  NULL-safe.  The lock file stays (emptied):
 * unlinking it could let two processes lock two different inodes. */
void cdir_close(struct cdir *d);

#endif

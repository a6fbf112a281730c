/*
 * cache_dir — the cache folder itself: creation, permissions, exclusivity.
 *
 * Layout under cache_dir (created 0700; an existing folder that is group- or
 * world-accessible is tightened to 0700, one not owned by us is refused):
 *   lock                    flock()ed for the life of the mount: one rcfs per folder
 *   objects/<hh>/<hash>     content objects (cache_obj)
 *   state/<scope>/          persisted records and index for one mailbox scope
 *                           (cache_rlog, cache_snap); <scope> is a hex hash of
 *                           server URL + account id, so accounts never mix
 */
#ifndef RCFS_CACHE_DIR_H
#define RCFS_CACHE_DIR_H

struct cdir;

/*
 * Open (creating as needed) the cache folder at path and take its lock.
 * Returns 0 and *out, or -errno: -EBUSY when another process holds the lock,
 * -EPERM when the folder belongs to another user, other -errno from the
 * file system.  On failure err holds one line for the user.
 */
int cdir_open(const char *path, struct cdir **out, char *err, size_t errlen);

/* Path of the objects folder (owned by d, valid until cdir_close). */
const char *cdir_objects(const struct cdir *d);

/*
 * Path of the state folder for a scope key (any string, e.g.
 * "https://platform.ringcentral.com|account 123"), created 0700.
 * Returns a malloc'd path, or NULL with errno set.
 */
char *cdir_state_path(const struct cdir *d, const char *scope_key);

/* Release the lock and free d.  NULL-safe. */
void cdir_close(struct cdir *d);

#endif

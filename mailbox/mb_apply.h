/*
 * mb_apply — bringing what the server says into the index: full records,
 * sync tombstones, and entries rebuilt from the persisted state.
 *
 * A record is applied only when it is newer than what the index has
 * (lastModifiedTime), or differs in what the index shows, or when the
 * caller forces it (a damaged stored copy; the server's answer to our own
 * change).  Its JSON goes to the record log first, outside the index lock
 * (on a full disk, cached content is evicted to make room, once);
 * then the entry is created or updated under the write lock, and moved
 * between folders as its availability says.
 */
#ifndef RCFS_MAILBOX_MB_APPLY_H
#define RCFS_MAILBOX_MB_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "mailbox/mb_chg.h"
#include "mailbox/mb_internal.h"

/* apply_record flags. */
#define APPLY_FORCE 1u /* store the record even if it is not newer */

/* What apply_record did. */
enum apply_result {
    APPLY_SKIPPED = 0, /* older or the same: nothing changed */
    APPLY_NEW,         /* a new message */
    APPLY_CHANGED,     /* an existing message was updated */
};

/*
 * Apply full record r of extension ext.  epoch != 0: mark the message as
 * seen by the listing of that epoch (whatever else happens).  Takes the
 * index lock itself (the caller must hold none of the mailbox's locks
 * except ls.lock).  Returns an enum apply_result, or -errno when the record
 * could not be stored (e.g. -ENOSPC): then nothing changed in the index.
 */
int apply_record(struct mb *m, uint32_t ext, const struct rec *r, unsigned flags, uint32_t epoch,
                 struct chg_batch *chg);

/* Apply a sync tombstone (id, availability) of ext.  Takes the lock.
 * Returns true when the message existed and moved. */
bool apply_tombstone(struct mb *m, uint32_t ext, uint64_t id, enum rec_avail a,
                     struct chg_batch *chg);

/*
 * Recreate a message from the persisted state: r holds only what the index
 * keeps (no JSON); name and att_names are the persisted names; ref is where
 * its record is in the log.  No locking: only while loading (no threads).
 * Returns the message.
 */
struct mb_msg *apply_restore_entry(struct mb *m, uint32_t ext, const struct rec *r,
                                   const char *name, const char *const *att_names,
                                   struct rlog_ref ref);

/* What mb_msg.subject_len keeps for a non-empty subject: its length, or 0
 * (not known) when it does not fit.  No lock. */
uint16_t apply_subject_len(const char *subject);

#endif

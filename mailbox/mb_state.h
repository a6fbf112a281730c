/*
 * mb_state — the mailbox persisted: index snapshot + record log.
 *
 * state/<scope>/index.snap is a cache_snap file (atomic, checksummed) with
 * five sections: META (counts, account, record-log generation and valid
 * length), EXTS (extensions, listed folders, sync tokens), MSGS (one fixed
 * 64-byte entry per message), ATTS (32 bytes per attachment, learned sizes
 * included) and STRS (a pool of NUL-terminated names).  The meta.json texts
 * stay in the record log, which the snapshot names by generation and length.
 *
 * A snapshot that fails any check (format, schema, checksums, bounds, names)
 * is discarded and rebuilt from the server: it is never trusted.  Purged
 * messages are not saved.  The record log is compacted at load time when
 * more than half of it is superseded records.
 */
#ifndef RCFS_MAILBOX_MB_STATE_H
#define RCFS_MAILBOX_MB_STATE_H

#include "mailbox/mb_internal.h"

/*
 * Load the persisted state into an empty mailbox: extensions, messages,
 * sizes, tokens, and the record log it refers to.  expect_account: the
 * session's account id, or NULL offline (then any state of this scope is
 * used).  No thread may run.  Returns 0 when loaded; -ENOENT when there is
 * none usable (a damaged, old-format or other-account state is discarded:
 * the mailbox is left empty and a full sync rebuilds it).
 */
int state_load(struct mb *m, const char *expect_account);

/* Forget everything loaded (extensions, messages) and start an empty
 * record log.  No thread may run. */
void state_discard(struct mb *m);

/*
 * Save atomically when something changed since the last save (record log
 * made durable first; on a full disk, cached content is evicted to make
 * room, once).  Takes ps.lock, then the index read lock while the
 * index is serialised (never the write lock: lookups go on), then writes
 * with only ps.lock held.  Returns 0 (also when there was nothing to save)
 * or -errno (the previous state stays in place and the next call tries
 * again).
 */
int state_save(struct mb *m);

#endif

/*
 * mb_sync — message-sync with the server, one extension at a time.
 *
 * First mount of a mailbox: FSync (only to obtain a token; the records
 * come from the listings).  Later: ISync with the stored token, which
 * returns what changed since; the server repeats ~5 s before each token and
 * records are applied only when newer, so the overlap is harmless.  The
 * token is stored only after every record of the answer was stored: a
 * record that cannot be (a full disk) fails the sync and the same changes
 * are asked for again next time.  An invalid token falls back to FSync plus
 * a full relisting that reconciles the index (whatever the relisting no
 * longer has was purged).  Tombstones of deleted messages carry only id and
 * availability; their full records are fetched again in batches so that
 * meta.json stays the server's record.
 */
#ifndef RCFS_MAILBOX_MB_SYNC_H
#define RCFS_MAILBOX_MB_SYNC_H

#include <stdint.h>

#include "mailbox/mb_internal.h"

/* How long one background server call may take. */
#define SYNC_CALL_MS (120 * 1000)

/* One FSync or ISync of extension ext (and a relisting when the token was
 * refused).  Takes the locks it needs.  Returns how many changes it applied
 * (>= 0), or -errno. */
int sync_ext(struct mb *m, uint32_t ext);

#endif

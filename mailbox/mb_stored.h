/*
 * mb_stored — the stored record of each message (meta.json) and what is
 * read from it without a request: sender, subject, attachment URIs.  It
 * implements mb_meta_refresh, mb_meta_read, mb_msg_sender, mb_msg_subject,
 * mb_msg_subject_len and mb_att_uri of mb.h; this header has what the rest
 * of the mailbox needs besides.
 *
 * Locks: the index lock is taken to find a record and to remember what was
 * learned from it, never across the disk read (mb_internal.h's I/O rule).
 */
#ifndef RCFS_MAILBOX_MB_STORED_H
#define RCFS_MAILBOX_MB_STORED_H

#include <stdint.h>

#include "mailbox/mb_internal.h"

/*
 * The URI of slot's attachment whose id is att_id (wherever it is in the
 * record now), read from the stored record: malloc'd in *uri.  Returns 0,
 * -ENOENT (no such message, attachment or URI) or -EIO (damaged record).
 * Takes the index lock itself; the caller must hold none.
 */
int stored_att_uri(struct mb *m, uint32_t slot, uint64_t att_id, char **uri);

#endif

/*
 * mb_batch — concurrent changes of one extension coalesced into bulk
 * requests.
 *
 * When several messages of one extension get the same change at once (a
 * file manager deleting a selection with several threads, xargs -P), each
 * caller submits its message here; the first of a group waits
 * BATCH_GATHER_MS for others to join, and longer while the previous request
 * of the same change is still on its way (whatever arrives meanwhile goes
 * in the next one), unless API_BULK_MAX have joined; then it sends one bulk
 * request for all of them and hands every caller its own outcome.  A lone
 * request is delayed by at most BATCH_GATHER_MS.  Callers
 * are flight owners (mb_flight.c): a message is in at most one batch.
 */
#ifndef RCFS_MAILBOX_MB_BATCH_H
#define RCFS_MAILBOX_MB_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "mailbox/mb_internal.h"

/* How long the first change of a group waits for others to join. */
#define BATCH_GATHER_MS 3

/* The change a batch makes (one per batch). */
enum batch_op {
    BATCH_TRASH,  /* DELETE of Alive messages (to the trash) */
    BATCH_PURGE,  /* DELETE of Deleted messages */
    BATCH_READ,   /* readStatus Read */
    BATCH_UNREAD, /* readStatus Unread */
};

/*
 * Make change op to message id of extension ext, together with whatever
 * else is submitted for (ext, op) at the same time.  c bounds the wait and
 * the request.  Returns 0 or the message's own -errno; for read status,
 * *rec gets the server's updated record (caller rec_free()s it, *has_rec
 * says whether there is one).
 */
int batch_submit(struct mb *m, const struct api_call *c, uint32_t ext, enum batch_op op,
                 uint64_t id, struct rec *rec, bool *has_rec);

#endif

/*
 * api_bulk — changes to many messages in one request: read status and
 * deletion by ids (at most API_BULK_MAX ids per request, as the API
 * allows), and deletion of a whole conversation.
 *
 * The server handles each id on its own (a 207 answer says what happened to
 * each); the per-id outcome is reported in the items, so the caller applies
 * exactly what the server did.  Deletions are never repeated blindly: when a
 * request's outcome is unknown (reset after sending, timeout, 5xx), the
 * messages' states are read first and only those the server did not act on
 * are sent again.
 */
#ifndef RCFS_API_BULK_H
#define RCFS_API_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

/* Most ids in one PUT or DELETE path (more is 400 CMN-106). */
#define API_BULK_MAX 50

/* One message of a bulk change. */
struct api_bulk_item {
    uint64_t id;    /* in: the message id */
    int rc;         /* out: 0 when it reached the asked state, -ENOENT when the server
                       no longer has it, other -errno for its own error */
    bool has_rec;   /* out: rec holds the server's updated record (read status) */
    struct rec rec; /* out: see has_rec; freed by api_bulk_free */
};

/*
 * Set readStatus rs on items[0..n) (n <= API_BULK_MAX) with one PUT (the
 * single-id form when n == 1).  Returns 0 when the server answered (each
 * item's rc and record say what happened to it), or -errno when the request
 * failed as a whole (PUT is idempotent and was retried until the deadline;
 * nothing is known to have changed).
 */
int api_set_read_bulk(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_read rs,
                      struct api_bulk_item *items, size_t n);

/*
 * DELETE items[0..n) (n <= API_BULK_MAX), which the caller believes all have
 * availability `from` (ALIVE: to the trash; DELETED: purge).  Returns 0 when
 * every item's outcome is known (items[i].rc), or -errno when none could be
 * learnt.  A purge of an id the server no longer has counts as done.
 */
int api_delete_bulk(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_avail from,
                    struct api_bulk_item *items, size_t n);

/*
 * Move every message of conversation conv_id (decimal) to the trash with
 * one DELETE .../message-store?conversationId=, however many there are.
 * items[0..n): the conversation's messages the caller knows as Alive (any
 * number; used to learn the outcome when it is unknown, and to finish with
 * bulk deletes of those the server did not act on).  On a clean answer
 * (204) every item is done.  Returns 0 with items[i].rc set, or -errno.
 * The caller must not use it when the conversation has Deleted messages:
 * the server purges those.
 */
int api_delete_conversation(struct api *a, const struct api_call *c, uint64_t ext_id,
                            const char *conv_id, struct api_bulk_item *items, size_t n);

/* Free the records the items hold.  NULL-safe. */
void api_bulk_free(struct api_bulk_item *items, size_t n);

#endif

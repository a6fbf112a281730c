/*
 * mb_flight — single-flight: one operation per object however many callers.
 *
 * A flight is keyed by (slot, kind).  Content downloads (FLIGHT_CONTENT)
 * are keyed by attachment id too: two readers of one attachment share
 * one transfer.  Changes (FLIGHT_CHANGE) are one per message whatever the
 * change: a caller asking for the same change (same op) as the flight in
 * progress waits and takes its result; a caller asking for another change
 * waits until the flight ends and then starts its own, on the new state.
 * Waits are bounded by the caller's deadline.
 */
#ifndef RCFS_MAILBOX_MB_FLIGHT_H
#define RCFS_MAILBOX_MB_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>

struct mb;
struct mb_flight;

enum flight_kind {
    FLIGHT_CONTENT, /* op = attachment id */
    FLIGHT_CHANGE,  /* op = the change (FLIGHT_OP_*) */
};

/* Changes, as flight ops. */
enum {
    FLIGHT_OP_TRASH = 1, /* DELETE an Alive message (to the trash) */
    FLIGHT_OP_PURGE,     /* DELETE a Deleted message (for good) */
    FLIGHT_OP_RESTORE,   /* PATCH availability Alive */
    FLIGHT_OP_READ,      /* PUT readStatus Read */
    FLIGHT_OP_UNREAD,    /* PUT readStatus Unread */
};

/*
 * Enter the flight (slot, kind, op).
 * Returns 1 when the caller owns a new flight (*f): it performs the
 * operation and must call flight_end(m, *f, rc).  Returns 0 when it joined
 * a flight of the same op that has now ended: *rc is that flight's result.
 * Returns -EIO when the deadline passed while waiting.
 */
int flight_enter(struct mb *m, uint32_t slot, enum flight_kind kind, uint64_t op,
                 int64_t deadline_ms, struct mb_flight **f, int *rc);

/* The owner reports the result and wakes the waiters; f is gone after. */
void flight_end(struct mb *m, struct mb_flight *f, int rc);

#endif

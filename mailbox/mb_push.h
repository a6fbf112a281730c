/*
 * mb_push — push notifications: the server says what changed, at once.
 *
 * With push on, the mailbox subscribes (api_ws) to the message-store events
 * of every shown extension and to instant SMS.  Events carry ids only: each
 * burst (PUSH_BURST_MS) becomes one ISync per extension it touched, run by
 * the background loop.  The server shows a change to message-sync a moment
 * after it announces it, so when the ISync after an event brought nothing,
 * or did not bring a new message the event named, it is asked again
 * (PUSH_LAG_MS later, at most PUSH_LAG_TRIES times).  A fresh subscription (first connect, or a
 * session that could not be recovered) catches up with one ISync per extension.  While push is up,
 * polling is only a safety net (every PUSH_SAFETY_S, or -o poll when
 * longer); while it is down or not offered, polling works as without push.
 * New inbound faxes and voicemails an event brought are downloaded ahead of
 * time (mb_prefetch.c) unless prefetching is off.
 */
#ifndef RCFS_MAILBOX_MB_PUSH_H
#define RCFS_MAILBOX_MB_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "mailbox/mb_internal.h"

#define PUSH_BURST_MS  500 /* events this close together make one ISync */
#define PUSH_LAG_MS    400 /* ask again this much later for what an ISync did not bring */
#define PUSH_LAG_TRIES 5   /* and at most this many times */
#define PUSH_SAFETY_S  900 /* polling while push is up (unless -o poll is longer; 0: none) */

/* Set up (no thread).  Call once, before push_start. */
void push_init(struct mb *m);

/* Subscribe (starts the WebSocket thread) when push is on.  Returns 0 or -errno. */
int push_start(struct mb *m);

/* Stop the WebSocket thread (idempotent). */
void push_stop(struct mb *m);

/* Free what push_init set up. */
void push_free(struct mb *m);

/* lp.lock held: when the next push ISyncs are due (mono ms), 0 for none. */
int64_t push_due(struct mb *m);

/* The loop's turn (no lock held): the ISyncs of the burst, then the
 * follow-ups for what they did not bring, and prefetches for what they did. */
void push_run(struct mb *m);

#endif

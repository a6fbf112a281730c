/*
 * mb_loop — the background thread: first listings, message-sync rounds,
 * reconnecting, saving the state.
 *
 * A round syncs every extension, lists the type folders never listed, then
 * saves the state if it changed.  Rounds run every poll_s seconds (none
 * when 0; at least PUSH_SAFETY_S while push notifications are up), at once
 * when asked (mb_refresh_now, mb_refresh_wait), and every NET_RETRY_MS
 * while the server is unreachable, counted from the end of the last
 * attempt, polling or not.  Between rounds the loop also runs the ISyncs
 * push notifications ask for (mb_push.c).
 */
#ifndef RCFS_MAILBOX_MB_LOOP_H
#define RCFS_MAILBOX_MB_LOOP_H

#include "mailbox/mb_internal.h"

/* Start the thread.  Returns 0 or -errno. */
int loop_start(struct mb *m);

/* Stop and join the thread (idempotent; ends calls in progress through
 * api_shutdown). */
void loop_stop(struct mb *m);

#endif

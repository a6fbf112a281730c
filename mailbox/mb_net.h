/*
 * mb_net — the mailbox's side of talking to the server: deadlines, the
 * filesystem's call context turned into the client's, and whether the
 * server is reachable.
 *
 * Offline: the last request found the server unreachable.  Foreground
 * changes and downloads then fail at once with -EIO instead of waiting for
 * their deadline; the background thread tries again every NET_RETRY_MS
 * (mb_life.c) and any success ends it.
 */
#ifndef RCFS_MAILBOX_MB_NET_H
#define RCFS_MAILBOX_MB_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "mailbox/mb.h"

/* How often the background thread tries the server again while offline. */
#define NET_RETRY_MS 5000

/* The deadline of a call: c's, or now + the mount's timeout when c is NULL
 * or has none. */
int64_t net_deadline(const struct mb *m, const struct mb_call *c);

/* The client's call context for c (deadline resolved; NULL c = a USER call
 * with the default deadline). */
struct api_call net_api_call(const struct mb *m, const struct mb_call *c);

/* A background call bounded by bg_ms from now. */
struct api_call net_bg_call(int64_t bg_ms);

/*
 * Note the outcome of a server call: -EHOSTUNREACH makes the mailbox
 * offline (and wakes the background loop, whose retries start), success
 * makes it online again (each change is logged once).  Any thread, any
 * mailbox lock held or not.
 * Returns rc with -EHOSTUNREACH turned into -EIO (the errno callers promise).
 */
int net_note(struct mb *m, int rc);

#endif

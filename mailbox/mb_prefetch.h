/*
 * mb_prefetch — new faxes and voicemails downloaded before anyone asks.
 *
 * When push brings a new inbound fax or voicemail, its attachments are
 * downloaded at background priority (after any person's requests, within
 * the rate budget the pacer keeps), so the first double-click opens it from
 * the cache.  One thread, a bounded queue (PREFETCH_MAX; beyond it, new
 * arrivals are not prefetched).  Off with -o prefetch=off.
 */
#ifndef RCFS_MAILBOX_MB_PREFETCH_H
#define RCFS_MAILBOX_MB_PREFETCH_H

#include <stdint.h>

#include "mailbox/mb_internal.h"

#define PREFETCH_MAX 256

/* Start the thread when prefetching is on.  Returns 0 or -errno. */
int prefetch_start(struct mb *m);

/* Stop and join it, dropping what is queued (idempotent). */
void prefetch_stop(struct mb *m);

/* Queue message slot's attachments.  Any thread holding no mailbox lock. */
void prefetch_add(struct mb *m, uint32_t slot);

#endif

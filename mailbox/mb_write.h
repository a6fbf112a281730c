/*
 * mb_write — changes made through the filesystem (the mb_set_read,
 * mb_remove, mb_restore, mb_trash of mb.h); this header shares what the
 * bulk changes (mb_bulk.c) need of it.
 */
#ifndef RCFS_MAILBOX_MB_WRITE_H
#define RCFS_MAILBOX_MB_WRITE_H

#include "mailbox/mb_internal.h"

/*
 * After a DELETE of slot that the server accepted: show its new
 * availability `now` at once and remember the removal (via: the folder it
 * came through, or -1).  The stored record still says what the message was:
 * it is marked stale and fetched again only when someone looks at it
 * (mb_meta_refresh: meta.json, the Trash's info file), 30 at a time, so a
 * removal costs the DELETE alone.  Takes the index lock.
 */
void write_after_delete(struct mb *m, uint32_t slot, enum rec_avail now, int via);

#endif

/*
 * mb_fetch — records from the server: listing type folders and fetching
 * records again by id.
 *
 * A type folder is listed once per mailbox (all pages of 1000, Alive and
 * Deleted, explicit dateFrom: see api_list); afterwards message-sync keeps it
 * current.  One listing per folder runs at a time; other callers wait for it
 * until their deadline.  Persisted state marks folders listed on an earlier
 * mount, so a remount lists nothing.  An extension whose message store
 * answers 403 is hidden from then on (logged once).
 */
#ifndef RCFS_MAILBOX_MB_FETCH_H
#define RCFS_MAILBOX_MB_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "mailbox/mb_internal.h"

/* List type folder `type` of ext from the server unless already listed;
 * waits for a listing in progress until c's deadline.  Takes ls.lock (the
 * caller holds no mailbox lock).  Returns 0 or -errno (-EIO offline). */
int fetch_ensure_listed(struct mb *m, const struct api_call *c, uint32_t ext, int type);

/* List one type folder from the server now (no listing state involved),
 * marking every message it has with `epoch`.  Returns 0 or -errno; a record
 * that cannot be stored stops the listing with that error. */
int fetch_list_type(struct mb *m, const struct api_call *c, uint32_t ext, int type, uint32_t epoch);

/* Fetch records of ext again by id and apply them even if not newer
 * (damaged copies, refresh after a change); an id the server no longer has
 * becomes Purged.  Returns 0 or -errno. */
int fetch_again(struct mb *m, const struct api_call *c, uint32_t ext, const uint64_t *ids,
                size_t n);

/* A request for ext's message store answered rc: on -EACCES hide the
 * extension (once, logged) and report it.  Returns rc. */
int fetch_note_access(struct mb *m, uint32_t ext, int rc);

#endif

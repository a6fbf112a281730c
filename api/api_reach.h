/*
 * api_reach — what the server last said about reading each extension's
 * messages.
 *
 * Owns a small table, extension id -> reach, fed by every answered GET on
 * an extension's messages (.../extension/<id>/message-store...,
 * .../message-sync, and content, whose path has the same form): a 403 means
 * these credentials may not read that extension (a non-admin's token gets
 * 403 CMN-419 on every extension but its own); any other answer about the
 * request itself (2xx, 400, 404, 416) means they may.  Answers that say
 * nothing about permission (401, 429, 5xx, no answer) and changes (PUT,
 * PATCH, DELETE, whose 403 may be a missing EditMessages permission only)
 * leave the entry as it was.  The table grows with the extensions seen (a
 * few bytes each).  Thread-safe.
 */
#ifndef RCFS_API_REACH_H
#define RCFS_API_REACH_H

#include <stdint.h>

#include "api/api.h"

struct reach;

/* An empty table. */
struct reach *reach_new(void);

/* Free.  NULL-safe. */
void reach_free(struct reach *r);

/* Note the answer `status` (0 = none) to `method` on `url` (any URL: those
 * not about an extension's messages are ignored). */
void reach_note(struct reach *r, const char *method, const char *url, long status);

/* What the last telling answer said about ext_id (API_REACH_UNKNOWN before any). */
enum api_reach reach_get(struct reach *r, uint64_t ext_id);

#endif

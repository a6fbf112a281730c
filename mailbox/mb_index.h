/*
 * mb_index — the storage of the index: message entries and their slots,
 * the (extension, id) hash, attachment blocks, interned strings.
 *
 * Nothing here knows folders or conversations (mb_place.c, mb_conv.c) or
 * records on disk (mb_apply.c).  Every function needs ix.lock: written
 * for the ones that change something, read (at least) for the others;
 * idx_init and idx_clear run with no other thread about.
 */
#ifndef RCFS_MAILBOX_MB_INDEX_H
#define RCFS_MAILBOX_MB_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "mailbox/mb_internal.h"

/* Prepare an empty index (no extensions yet). */
void idx_init(struct mb *m);

/* Free every extension, message, conversation and string; the index is
 * empty and usable again after. */
void idx_clear(struct mb *m);

/* The message in slot, or NULL when slot is out of range. */
struct mb_msg *idx_msg(struct mb *m, uint32_t slot);

/* The message (ext, id), or NULL. */
struct mb_msg *idx_find(struct mb *m, uint32_t ext, uint64_t id);

/*
 * Create and publish a message entry from r (not yet placed in a folder,
 * not yet in a conversation).  name / att_names: as persisted, or NULL to
 * build them from the record.  Write lock.  Never fails.
 */
struct mb_msg *idx_create(struct mb *m, uint32_t ext, const struct rec *r, const char *name,
                          const char *const *att_names);

/* Replace msg's attachments with r's (new names; the old block is kept
 * until idx_clear since readers may hold its names).  Write lock. */
void idx_replace_atts(struct mb *m, struct mb_msg *msg, const struct rec *r);

/* Has folder `folder` of ext been listed (a type folder: its type; Deleted/,
 * conversations/, Unread/: every type)?  Entries that appear in a listed
 * folder are news (mb_events.entry_new); during a first listing they are
 * not.  Any lock or none (reads atomics). */
bool idx_folder_listed(struct mb *m, uint32_t ext, int folder);

/* Intern a short string: the same pointer for equal strings, valid until
 * idx_clear.  Past 512 distinct values a catch-all is returned (a hostile
 * server could send a new content type per attachment).  Write lock. */
const char *idx_intern(struct mb *m, const char *s);

#endif

/*
 * mb_uri — attachment URIs kept in memory, so that user.xdg.origin.url
 * (which `cp -a` and `rsync -aX` read twice per attachment) costs no disk
 * read and no JSON parse.
 *
 * Nearly every URI the server sends is BASE "/message-store/" MSG
 * "/content/" ATT, where MSG and ATT are the message's and the
 * attachment's ids in decimal and BASE (scheme, host, account and
 * extension) is shared by every message of an extension.  An attachment
 * whose stored record has exactly that form keeps only a small number,
 * its form: which of its extension's bases to put in front.  Rebuilding
 * gives the record's bytes back by construction.  Any other URI (a query
 * string, another message's id, a non-canonical number, or a base past
 * URI_BASES_MAX for its extension) is read from the stored record as
 * before.  Attachments restored from the snapshot start URI_UNKNOWN (the
 * snapshot does not keep URIs) and learn their form the first time their
 * URI is read.
 *
 * The bases live in mb_ext.uri_bases (ix.lock): interned once, never
 * changed or freed before idx_clear, so a pointer taken under the read
 * lock stays valid after it is released.
 */
#ifndef RCFS_MAILBOX_MB_URI_H
#define RCFS_MAILBOX_MB_URI_H

#include <stddef.h>
#include <stdint.h>

#include "mailbox/mb_internal.h"

/* Values of mb_att.uri_form other than a base number (1..URI_BASES_MAX). */
enum {
    URI_UNKNOWN = 0,   /* not learned yet: read the stored record */
    URI_RECORD = 254,  /* not of the usual form: always read the stored record */
    URI_NONE = 255,    /* the stored record gives this attachment no URI */
    URI_BASES_MAX = 32 /* distinct bases kept per extension */
};

/*
 * The length of BASE when uri is BASE "/message-store/<msg_id>/content/<att_id>"
 * exactly (ids in canonical decimal, nothing after them) and BASE is not
 * empty; 0 otherwise.  Pure: no lock.
 */
size_t uri_base_len(const char *uri, uint64_t msg_id, uint64_t att_id);

/*
 * The form to keep for an attachment of extension ext whose stored record
 * says uri (NULL: no URI): URI_NONE, a base number (the base interned in
 * the extension when new), or URI_RECORD.  Never URI_UNKNOWN.  Write lock.
 */
uint8_t uri_form_of(struct mb *m, uint32_t ext, const char *uri, uint64_t msg_id, uint64_t att_id);

/* The base of form (1..URI_BASES_MAX) in extension ext, or NULL when form
 * is not a base number.  Read lock; the string outlives the lock. */
const char *uri_base(struct mb *m, uint32_t ext, uint8_t form);

/* The URI base + "/message-store/<msg_id>/content/<att_id>", malloc'd.
 * No lock. */
char *uri_build(const char *base, uint64_t msg_id, uint64_t att_id);

#endif

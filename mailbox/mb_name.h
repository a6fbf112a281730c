/*
 * mb_name — every name rcfs shows, built from untrusted server data.
 *
 * The contract (docs/design.md, "Layout"): message folders are
 * "<creationTime as YYYY-MM-DDTHHMMSSZ>_<peer>_<id>"; attachments are named by
 * type (message.txt, fax.pdf, voicemail.wav, transcription.txt, the MMS
 * fileName when safe, source-<n>.<ext>, attachment-<id>.<ext>), with -2, -3,
 * ... before the extension for repeats; conversations "<peer>_<convid>";
 * extensions by number, else id.
 *
 * Every function here is pure and total: whatever bytes come in, what comes
 * out is a single path component of 1..255 bytes with no '/', no NUL, no
 * control character (< 0x20 or 0x7f), never "." or "..", never starting
 * with '.', and valid UTF-8.
 */
#ifndef RCFS_MAILBOX_MB_NAME_H
#define RCFS_MAILBOX_MB_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_record.h"

/* Buffer size for any name built here (255 bytes + NUL). */
#define MBNAME_MAX 256
/* The longest peer part of a message folder name, in bytes. */
#define MBNAME_PEER_MAX 64

/* Name of the per-message metadata file; no attachment may take it. */
#define MBNAME_META "meta.json"

/*
 * The peer part: characters other than ASCII letters, digits, '+', '.', '-'
 * become '-' (one '-' per UTF-8 sequence, not per byte; an invalid byte is a
 * sequence of its own), cut to 64 bytes; a NULL or empty peer, or one that
 * reduces to nothing but '.' and '-', gives "unknown"; a leading '.' becomes
 * '-' (the conversation name starts with the peer).
 */
void mbname_peer(const char *peer, char out[MBNAME_MAX]);

/* Message folder name "<YYYY-MM-DDTHHMMSSZ>_<peer>_<id>" from a record.
 * creation_ms is clamped to 1970..9999 (what isotime_parse can give). */
void mbname_message(int64_t creation_ms, const char *peer, uint64_t id, char out[MBNAME_MAX]);

/* Conversation folder name "<peer>_<conversation id>".  conv_id is decimal
 * (as rec_from_json gives it); anything else is reduced like a peer. */
void mbname_conversation(const char *peer, const char *conv_id, char out[MBNAME_MAX]);

/* Extension folder: the extension number if it is a safe name of letters,
 * digits, '+', '.', '-' and at most 64 bytes, else the decimal id. */
void mbname_extension(const char *number, uint64_t id, char out[MBNAME_MAX]);

/* File extension for a content type ("application/pdf" -> "pdf", ...,
 * "bin" when unknown).  Never NULL; a static string. */
const char *mbname_ext_for_type(const char *content_type);

/* The freedesktop MIME type to show for a file name's extension
 * (e.g. "pdf" -> "application/pdf"), "application/octet-stream" if unknown.
 * Case-insensitive; ".pdf" and a whole name ("fax.pdf") work too, and
 * "json" gives "application/json" for meta.json.  Never NULL; static. */
const char *mbname_mime_for_ext(const char *ext);

/* True when s is a safe single name as it stands: 1..255 bytes of valid
 * UTF-8, no '/', no control characters (C0, DEL, and also C1 and the bidi
 * overrides U+202A..U+202E, U+2066..U+2069 that disguise names), does not
 * start with '.', and is not MBNAME_META.  NULL is not safe. */
bool mbname_is_safe(const char *s);

/*
 * Names of all attachments of one message, in server order.
 * out: an array of n buffers of MBNAME_MAX bytes, filled in.
 * Names are unique within the message and never equal MBNAME_META.
 * The n-th SourceDocument is source-<n>.<ext> counting from 1.
 * The first attachment to claim a name keeps it; each later one gets the
 * smallest -k (k >= 2) giving a name not already taken, inserted
 * before the extension (appended when there is none), the stem cut on a
 * UTF-8 boundary if the result would exceed 255 bytes.  No-op when att or
 * out is NULL or n is 0.
 */
void mbname_attachments(const struct rec_attachment *att, size_t n, char (*out)[MBNAME_MAX]);

#endif

/*
 * api_record — one message record from the server, parsed and validated.
 *
 * Everything the server sends is untrusted.  rec_from_json() checks every
 * field rcfs relies on (types, ranges, enum values, lengths, nesting) and
 * turns the JSON object into a plain C struct that the mailbox can use
 * without ever touching JSON again.  It also renders meta.json: the record
 * exactly as the server sent it, pretty-printed with two-space indentation
 * and a final newline.
 *
 * Ids are 64-bit and never pass through a double: `id` and attachment ids
 * must be JSON integers or decimal strings within uint64; the conversation id
 * is taken from `conversation.id` (a string) when present, else from
 * `conversationId` read as an integer token.
 */
#ifndef RCFS_API_RECORD_H
#define RCFS_API_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum rec_type { REC_FAX, REC_SMS, REC_VOICEMAIL, REC_PAGER, REC_TEXT, REC_TYPE_COUNT };
enum rec_dir { REC_INBOUND, REC_OUTBOUND };
enum rec_avail { REC_ALIVE, REC_DELETED, REC_PURGED };
enum rec_read { REC_READ, REC_UNREAD };

enum rec_att_type {
    REC_ATT_AUDIO_RECORDING,
    REC_ATT_AUDIO_TRANSCRIPTION,
    REC_ATT_TEXT,
    REC_ATT_SOURCE_DOCUMENT,
    REC_ATT_RENDERED_DOCUMENT,
    REC_ATT_MMS,
    REC_ATT_OTHER, /* a type this version does not know; still shown */
};

/* Limits a valid record must respect (larger input is rejected). */
#define REC_MAX_ATTACHMENTS 64
#define REC_MAX_STRING      65536 /* subject, fileName, names, ... in bytes */
#define REC_MAX_URI         4096
#define REC_MAX_DEPTH       16 /* nesting of the record object */

struct rec_attachment {
    uint64_t id;            /* attachment id */
    int64_t size;           /* bytes, or -1 when the server gave no size */
    enum rec_att_type type; /* kind, decides the file name */
    char *content_type;     /* lower-case "type/subtype", parameters dropped; "" if absent */
    char *file_name;        /* as sent (may be hostile), or NULL when absent */
    char *uri;              /* absolute http(s) URL as sent, or NULL when absent */
};

struct rec {
    uint64_t id;                 /* message id */
    char conversation_id[21];    /* decimal conversation id, "" when none */
    int64_t creation_ms;         /* creationTime, ms since the epoch (UTC) */
    int64_t modified_ms;         /* lastModifiedTime, ms; = creation_ms if absent */
    enum rec_type type;          /* message type */
    enum rec_dir direction;      /* Inbound / Outbound */
    enum rec_avail availability; /* Alive / Deleted / Purged */
    enum rec_read read_status;   /* Read / Unread */
    char message_status[24];     /* messageStatus as sent if a known value, else "" */
    char *peer;                  /* the other party (see rec_from_json), or NULL */
    char *subject;               /* subject as sent, or NULL */
    size_t n_att;                /* number of attachments */
    struct rec_attachment *att;  /* n_att attachments, in server order */
    bool partial;                /* sync tombstone: only id and availability are valid */
    char *json;                  /* meta.json bytes (NUL-terminated), NULL when partial */
    size_t json_len;             /* strlen(json) */
};

/*
 * Parse one record.
 *
 * obj: a JSON object from a list, batch, sync or single-GET response.  It is
 *   only read (json-c may cache the text of its numbers inside it), so one
 *   object must not be parsed from two threads at once.
 * allow_partial: accept a sync tombstone ({"id", "availability"} with
 *   availability Deleted or Purged and nothing else required); it comes back
 *   with partial = true and json = NULL.  An object is taken as a tombstone
 *   when availability is Deleted or Purged and any of type, creationTime,
 *   direction, readStatus is absent; a Deleted record that has them all is
 *   parsed in full.
 * Required for a full record: id, type, creationTime, availability (default
 * Alive if absent), direction, readStatus, attachments (absent = none).
 * A member that is JSON null counts as absent.
 * peer: for Inbound, from.phoneNumber, else from.extensionNumber, else
 *   from.name; for Outbound the same fields of to[0]; NULL if none (an empty
 *   string counts as none).
 * Ids (id, attachments[].id): a JSON integer >= 0 or a string of decimal
 *   digits; UINT64_MAX is refused in both forms, because json-c silently
 *   clamps any larger integer token to it.
 * conversation_id: conversation.id when it is 1..20 digits within uint64,
 *   else conversationId as an integer or digit string; anything else
 *   (a double, a negative, 0) leaves "" rather than refusing the record:
 *   such a message is shown, only without its conversation link.
 * Also refused: a string anywhere in the record longer than REC_MAX_STRING
 *   or not valid UTF-8; nesting deeper than REC_MAX_DEPTH (the record
 *   object is level 1); a non-finite number or one json-c kept in a form
 *   JSON does not allow ("1.", NaN); a meta.json over 1 MiB; an attachment
 *   uri that is not an absolute http(s) URL of printable ASCII.
 *   attachments[].size must be an integer >= 0; an unknown attachment type
 *   gives REC_ATT_OTHER; an unknown messageStatus gives "".
 * meta.json (json): every member in the server's order, "key": value with
 *   two-space indentation, "[]" and "{}" for empty containers, integers
 *   exact, other numbers as the server wrote them, strings escaped as json-c
 *   does (no "\/") plus DEL, and a final newline.  Parsing it again gives
 *   the same record and the same text.
 * Returns 0 and fills *out (which the caller releases with rec_free), or
 * -EINVAL with a one-line reason in err (never containing more than 80 bytes
 * of server text, all of it escaped to printable ASCII) and *out zeroed.
 * err may be NULL when errlen is 0.
 */
int rec_from_json(struct json_object *obj, bool allow_partial, struct rec *out, char *err,
                  size_t errlen);

/*
 * Parse a record from its text (e.g. meta.json read back from disk).
 * Same contract as rec_from_json; len bytes of text, no NUL needed.
 * The text must be exactly one JSON object (json-c's strict mode, UTF-8
 * checked), optionally surrounded by whitespace; a NUL byte, trailing text,
 * truncation or more than 4 MiB give -EINVAL.
 */
int rec_from_text(const char *text, size_t len, bool allow_partial, struct rec *out, char *err,
                  size_t errlen);

/* Release what a successful parse allocated; *r is zeroed.  NULL-safe. */
void rec_free(struct rec *r);

/* Move: *dst = *src and *src zeroed (dst must be free/zeroed). */
void rec_move(struct rec *dst, struct rec *src);

/* Names as the API spells them ("Fax", "VoiceMail", ...); REC_ATT_OTHER is
 * "Other", and a value outside the enum gives "Unknown".  Never NULL. */
const char *rec_type_name(enum rec_type t);
const char *rec_dir_name(enum rec_dir d);
const char *rec_avail_name(enum rec_avail a);
const char *rec_read_name(enum rec_read r);
const char *rec_att_type_name(enum rec_att_type t);

/* Parse an API spelling (exact, case-sensitive); returns 0 and sets *out,
 * or -EINVAL (also for NULL) leaving *out untouched. */
int rec_type_parse(const char *s, enum rec_type *out);

#endif

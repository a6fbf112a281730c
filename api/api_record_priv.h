/*
 * api_record_priv — what the record parser's files share, and nothing else
 * may use: api_record.c (the fields and the struct rec), api_record_meta.c
 * (checking the whole tree and writing meta.json), api_record_names.c (the
 * API's spellings of the enums) and api_record_err.c (refusal messages).
 * Internal names carry the recx_ prefix; api_record.h's are rec_.
 */
#ifndef RCFS_API_RECORD_PRIV_H
#define RCFS_API_RECORD_PRIV_H

#include <stddef.h>

#include "api/api_record.h"

struct buf;
struct json_object;

#define RECX_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The most bytes of server text a refusal quotes, and the buffer recx_quote needs. */
#define RECX_QUOTE_MAX   80
#define RECX_QUOTE_BUFSZ (RECX_QUOTE_MAX + 4)

/* meta.json larger than this is refused: a real record is a few KiB, and 64
 * attachments with 4 KiB URIs and a 64 KiB subject stay far below it. */
#define RECX_META_MAX (1024 * 1024)

/* Where a refusal is explained: the caller's buffer (buf may be NULL when
 * len is 0). */
struct recx_err {
    char *buf;  /* the caller's buffer, or NULL */
    size_t len; /* its size */
};

/* Write the printf-formatted reason into e (when it has a buffer).
 * Returns -EINVAL, so callers can `return recx_fail(...)`. */
int recx_fail(struct recx_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Server text for a refusal: at most RECX_QUOTE_MAX bytes of printable ASCII
 * (\" \\ and \xNN escapes, "..." when cut), so nothing the server sends can
 * forge log lines or drive a terminal.  Returns out. */
const char *recx_quote(const char *s, size_t n, char out[RECX_QUOTE_BUFSZ]);

/* The API's spellings, indexed by the enums of api_record.h. */
extern const char *const recx_type_names[REC_TYPE_COUNT];
extern const char *const recx_dir_names[2];
extern const char *const recx_avail_names[3];
extern const char *const recx_read_names[2];
extern const char *const recx_att_type_names[REC_ATT_OTHER + 1];
/* messageStatus values rcfs keeps (any other becomes ""). */
extern const char *const recx_message_statuses[6];

/* Index of s in names[0..n) (exact, case-sensitive), or -1. */
int recx_lookup(const char *s, const char *const *names, size_t n);

/*
 * Check the whole tree of the record object obj and write it as meta.json
 * into out (an empty buf whose max is RECX_META_MAX): every member in the
 * server's order, two-space indentation, a final newline (see
 * rec_from_json in api_record.h for the exact form and what is refused).
 * Returns 0, or -EINVAL with the reason in e; out then holds a partial text
 * the caller frees.
 */
int recx_meta_write(struct json_object *obj, struct buf *out, struct recx_err *e);

#endif

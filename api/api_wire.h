/*
 * api_wire — what an HTTP answer's header values and JSON bodies say.
 *
 * Owns the parsing of the text the server sends around a body: media types
 * (compared without parameters), Content-Range, Retry-After, the errorCode
 * of a JSON error body, and the one strict way to read a whole JSON body.
 * Pure functions on strings (no libcurl handle, no I/O); everything the
 * server sends is untrusted, so each value is checked and an odd one is
 * "absent", never guessed.  Thread-safe.
 */
#ifndef RCFS_API_WIRE_H
#define RCFS_API_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Media types equal: case-insensitive, parameters and spaces ignored; false
 * when either is NULL or empty. */
bool wire_media_type_eq(const char *a, const char *b);

/* True for application/json and any "+json" media type. */
bool wire_media_type_is_json(const char *t);

/*
 * A Content-Range value ("bytes a-b/total", "bytes a-b/" then an asterisk,
 * or "bytes " then an asterisk and "/total"):
 * *start and *end (a <= b) or both -1, *total or -1.  Anything else leaves
 * all three at -1.
 */
void wire_content_range(const char *v, int64_t *start, int64_t *end, int64_t *total);

/* A Retry-After value (seconds, or an HTTP date: the seconds until then, 0
 * when past) in seconds; -1 when v is NULL or neither. */
int64_t wire_retry_after(const char *v);

/* Parse a whole buffer as one JSON value (depth at most 64, nothing but
 * white space after it); NULL when it is not one.  The caller puts the
 * result. */
struct json_object *wire_parse_json(const char *p, size_t len);

/* The errorCode of a JSON error body (content type ct) into out (size
 * outlen), kept only if it looks like one ("CMN-301": letters, digits, - _
 * . and shorter than outlen); otherwise out is left as it was. */
void wire_error_code(const char *ct, const char *body, size_t len, char *out, size_t outlen);

#endif

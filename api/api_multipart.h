/*
 * api_multipart — the two shapes of an HTTP 207 (batch) answer.
 *
 * With Accept: application/vnd.ringcentral.multipart+json the body is a JSON
 * array of {resourceId (string), status, body}.  Otherwise it is
 * multipart/mixed: a first part {"response":[{href, status,
 * responseDescription}]} then one JSON part per entry, in the same order.
 * Both become one list of items.  Input is untrusted: every part must parse,
 * the counts must agree, at most MP_MAX_ITEMS items.  Pure, thread-safe.
 */
#ifndef RCFS_API_MULTIPART_H
#define RCFS_API_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define MP_MAX_ITEMS 1000

struct mp_item {
    char resource_id[24]; /* decimal id from resourceId or the href's last segment, "" unknown */
    int status;           /* the item's HTTP status */
    struct json_object *body; /* its body (record or error), NULL when none; the list owns it */
};

struct mp_list {
    struct mp_item *items; /* n items in answer order */
    size_t n;
};

/*
 * Parse a 207 body of the given Content-Type.  Returns 0 and *out (free with
 * mp_list_free), or -EIO (malformed, unknown type) with *out empty.
 */
int mp_parse(const char *content_type, const char *body, size_t len, struct mp_list *out);

/* Release the items.  NULL-safe; *l is empty again. */
void mp_list_free(struct mp_list *l);

#endif

/*
 * api_secret — secrets in memory: copies that leave nothing behind.
 *
 * A secret (client secret, JWT, access or refresh token, and every string
 * built from one: a grant form, a "Bearer ..." or "Basic ..." value, a token
 * answer) must be overwritten before its memory goes back to the allocator,
 * or a later heap dump, core file or read of freed memory finds it.  Two
 * habits of ordinary code leave copies behind and are avoided here: growing
 * a buffer with realloc (the old block is freed as it was; vasprintf does it
 * too), and freeing a parser's structures without wiping them.  So these
 * functions allocate secrets at their exact size, grow buffers by copying
 * and wiping, and wipe what json-c held before handing it back.
 *
 * What stays out of reach: libcurl's own buffers (the request it writes and
 * the answer it reads pass through memory libcurl frees without wiping), and
 * the kernel's socket buffers.  Thread-safe (no shared state).
 */
#ifndef RCFS_API_SECRET_H
#define RCFS_API_SECRET_H

#include <stddef.h>

struct buf;
struct json_object;

/* The concatenation of the NULL-terminated list of strings, in one
 * allocation of exactly the size needed.  Never NULL (OOM aborts). */
char *secret_join(const char *first, ...) __attribute__((sentinel));

/* Wipe a NUL-terminated secret and free it.  NULL-safe. */
void secret_free(char *s);

/*
 * Like buf_append (same cap, same result), but when the buffer must grow
 * the bytes move to a new block and the old block is wiped before it is
 * freed.  Use it for every append to a buffer that may hold a secret.
 */
int secret_buf_append(struct buf *b, const void *p, size_t n);

/* Wipe the whole allocation of b and free it (b is empty, max kept). */
void secret_buf_free(struct buf *b);

/*
 * Parse p[0..len) as exactly one JSON value (nesting at most 64, only white
 * space after it), as wire_parse_json does, but with json-c's scratch
 * buffer sized once for the whole text (so it never reallocs a piece of a
 * secret away) and wiped before it is freed.  NULL when it is not one JSON
 * value.  Release the result with secret_json_put.
 */
struct json_object *secret_json_parse(const char *p, size_t len);

/* Wipe every string inside o (values, at any depth), then drop the
 * reference.  NULL-safe. */
void secret_json_put(struct json_object *o);

#endif

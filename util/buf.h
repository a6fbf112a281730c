/*
 * buf — a growable byte buffer with a mandatory size cap.
 *
 * Everything rcfs reads from the network lands in a buf, and every buf has a
 * cap, so a hostile or broken server cannot make rcfs allocate without bound.
 * States: empty (data == NULL, len == 0) or holding len bytes followed by a
 * NUL that is not counted in len (so text can be used as a C string).  A
 * failed append leaves the buffer exactly as it was.
 */
#ifndef RCFS_UTIL_BUF_H
#define RCFS_UTIL_BUF_H

#include <stddef.h>

struct buf {
    char *data; /* NULL or len bytes + NUL terminator */
    size_t len; /* bytes held, not counting the terminator */
    size_t cap; /* bytes allocated */
    size_t max; /* the most len may ever be; appends beyond fail */
};

/* Initialise an empty buffer that will hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Append n bytes.  Returns 0, or -EFBIG (buffer unchanged) when len + n
 * would exceed max. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append a NUL-terminated string; same contract as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* Append printf-formatted text; same contract as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forget the contents but keep the allocation and max. */
void buf_reset(struct buf *b);

/* Free the contents; the buffer is empty again (max is kept). */
void buf_free(struct buf *b);

/* Hand the contents to the caller (who frees them) and leave b empty.
 * Returns a NUL-terminated string ("" when empty, never NULL). */
char *buf_steal(struct buf *b);

#endif

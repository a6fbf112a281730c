/*
 * api_sendbody — a multipart/form-data request body streamed from memory
 * and from files (the fax endpoint's body).
 *
 * Owns the body's parts and their framing (RFC 7578): text fields, and
 * documents read with pread from an open file descriptor, each part behind
 * its delimiter and headers, then the closing delimiter.  The boundary is 32
 * random hex digits, so it occurs in no document in practice (documents are
 * never scanned: they are read once per attempt, straight into libcurl's
 * buffer, and never held in memory).  The whole length is known before the
 * first byte is read (Content-Length), and the body can start again from
 * its first byte (a request sent again after a 429).
 *
 * States: building (sendbody_add_*), then reading (sendbody_read /
 * sendbody_rewind); adding after the first read is refused.  One thread at a
 * time.  The file descriptors stay the caller's (never closed here) and must
 * stay open, and their first `size` bytes unchanged, while the body is read:
 * a document that became shorter fails the read with -EIO.
 */
#ifndef RCFS_API_SENDBODY_H
#define RCFS_API_SENDBODY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sendbody;

/* A new empty body with a fresh random boundary (aborts when out of memory,
 * the OOM policy). */
struct sendbody *sendbody_new(void);

/* Free the body (not the files).  NULL-safe. */
void sendbody_free(struct sendbody *b);

/*
 * Add a text field: Content-Disposition form-data with name, Content-Type
 * text/plain; charset=UTF-8, then value as is.  name must be a plain token
 * ([A-Za-z0-9_.-]).  Returns 0, or -EINVAL (body unchanged) for a bad name
 * or after reading started.
 */
int sendbody_add_field(struct sendbody *b, const char *name, const char *value);

/*
 * Add a document: Content-Disposition form-data with name and filename,
 * Content-Type content_type, then size bytes of fd from offset 0.  The file
 * name is sent with every byte outside printable ASCII, '"' and '\\'
 * replaced by '_'.  Returns 0, or -EINVAL (body unchanged) for a bad name or
 * content type, a negative fd, or after reading started.
 */
int sendbody_add_file(struct sendbody *b, const char *name, const char *file_name,
                      const char *content_type, int fd, uint64_t size);

/* "multipart/form-data; boundary=..." (valid until sendbody_free). */
const char *sendbody_content_type(const struct sendbody *b);

/* The body's whole length in bytes, closing delimiter included. */
uint64_t sendbody_length(const struct sendbody *b);

/*
 * Copy up to n next bytes of the body into dst.  Returns how many (0 at the
 * end), or -errno when a document cannot be read or ended early (-EIO).
 * The signature of http_req.body_read (b is a struct sendbody *).
 */
ssize_t sendbody_read(void *b, char *dst, size_t n);

/* Start again from the first byte.  Returns 0.  The signature of
 * http_req.body_rewind. */
int sendbody_rewind(void *b);

#endif

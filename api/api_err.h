/*
 * api_err — the one place where HTTP statuses, API error codes and libcurl
 * errors become errno values.
 *
 *   could not resolve or connect                       -EHOSTUNREACH
 *   any other libcurl error (reset, timeout, TLS, ...) -EIO
 *   2xx                                                0
 *   400 MSG-333 (bad sync token)                       -ESTALE
 *   400 CMN-101 on a request carrying a sync token     -ESTALE
 *   400/401 from the token endpoint (refused login)    -EACCES
 *   401, 403                                           -EACCES
 *   404                                                -ENOENT
 *   400, 416                                           -EINVAL
 *   anything else (429 at the deadline, 5xx, ...)      -EIO
 */
#ifndef RCFS_API_ERR_H
#define RCFS_API_ERR_H

#include <curl/curl.h>

/* Context flags for errmap_errno. */
#define ERRMAP_AUTH 0x1u /* a token request: 400 and 401 mean the credentials were refused */
#define ERRMAP_SYNC 0x2u /* the request carried a sync token: CMN-101 means it is stale */

/*
 * cc: the libcurl result of the attempt (CURLE_OK when an answer came);
 * status: its HTTP status (ignored unless cc is CURLE_OK); error_code: the
 * errorCode of the JSON error body, or NULL/"".  Returns 0 or -errno.
 */
int errmap_errno(CURLcode cc, long status, const char *error_code, unsigned flags);

/* The errno's name ("EIO") for logs and tools; "E?" when unknown. */
const char *errmap_name(int err);

#endif

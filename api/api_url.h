/*
 * api_url — which URLs the client may talk to, and how it builds them.
 *
 * Owns the URL rules of the REST client: a base URL (server_url, media_url)
 * must be https://, or http:// to a loopback host (127.0.0.0/8, ::1,
 * localhost), with no user info, query or fragment; two URLs are the same
 * origin when scheme, host and port are equal (so a server cannot make rcfs
 * send its bearer token to another host through a nextPage link); the media
 * rewrite replaces scheme+host+port of an attachment uri.  Parsing is done by
 * libcurl's own URL parser, so the host checked is the host curl connects to.
 * Pure functions, thread-safe.
 */
#ifndef RCFS_API_URL_H
#define RCFS_API_URL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Check a base URL and normalise it: "scheme://host[:port][/path]" with the
 * host lower-cased and no trailing slash.  origin_only: refuse a path other
 * than "/" (media_url replaces only scheme, host and port).
 * Returns 0 and a malloc'd *norm, or -EINVAL with one line in err.
 */
int url_check_base(const char *url, bool origin_only, char **norm, char *err, size_t errlen);

/* True for "localhost", 127.0.0.0/8 and ::1 (host as curl reports it, IPv6 in brackets). */
bool url_host_is_loopback(const char *host);

/*
 * True when url parses, its scheme is https, or http with a loopback host,
 * and it carries no user info.  Used before sending a token anywhere.
 */
bool url_is_allowed(const char *url);

/*
 * "scheme://host:port" of url (host lower-case, default port explicit), in
 * out.  Returns 0 or -EINVAL (unparsable, or out too small).
 */
int url_origin(const char *url, char *out, size_t outlen);

/* True when both parse and have the same scheme, host and port. */
bool url_same_origin(const char *a, const char *b);

/* Host of url, lower-case, malloc'd; NULL when unparsable. */
char *url_host(const char *url);

/*
 * Replace scheme, host and port of uri by those of base (path, query kept).
 * Returns 0 and a malloc'd *out, or -EINVAL when either does not parse.
 */
int url_rewrite_origin(const char *uri, const char *base, char **out);

/* Percent-encode s for a query value or form field (RFC 3986 unreserved
 * kept), malloc'd in one allocation of its final size (so a secret's
 * encoding leaves no copy behind: free it with secret_free). */
char *url_escape(const char *s);

/*
 * A copy of url fit for a debug log: path and query, with the value of any
 * query parameter whose name ends in "token" (syncToken, ...) replaced by "…".
 */
char *url_for_log(const char *url);

#endif

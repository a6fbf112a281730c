/*
 * api_scope — where the session's bearer token may be sent.
 *
 * Owns the rule (see api_fetch in api.h): the server's own origin; the
 * media_url origin when one is configured; over https, any host whose
 * registrable domain is the server host's (platform.ringcentral.com ->
 * media.ringcentral.com; x.example.co.uk -> y.example.co.uk, never
 * z.co.uk); and, when the server is on a loopback host, loopback hosts.
 * The registrable domain comes from the public suffix list as built into
 * libpsl (the Debian package tracks the list), so a server under co.uk,
 * com.au or a private suffix such as github.io does not open the whole
 * suffix.  A server given by IP address, or whose host is itself a public
 * suffix, has no registrable domain: then only the exact origins count.
 * Every URL must also pass url_is_allowed (https, or http to loopback; no
 * user info).  Immutable after scope_init: thread-safe.
 */
#ifndef RCFS_API_SCOPE_H
#define RCFS_API_SCOPE_H

#include <stdbool.h>

struct scope {
    char *server;  /* normalised server base URL (url_check_base) */
    char *media;   /* normalised media_url origin, or NULL */
    char *domain;  /* registrable domain of the server host, or NULL when it has none */
    bool loopback; /* the server is on a loopback host */
};

/*
 * Set s up for a server base URL and an optional media origin (both already
 * normalised by url_check_base; media may be NULL).  Copies both.  Cannot
 * fail (out of memory aborts).
 */
void scope_init(struct scope *s, const char *server, const char *media);

/* Free what scope_init allocated; s is zeroed.  NULL-safe. */
void scope_free(struct scope *s);

/* True when the bearer token may go to url (the rule above). */
bool scope_allows(const struct scope *s, const char *url);

/*
 * The registrable domain of a lower-case host name by the public suffix
 * list ("media.example.co.uk" -> "example.co.uk"), malloc'd; NULL for an IP
 * address, a single label, or a host that is itself a public suffix.
 */
char *scope_registrable_domain(const char *host);

#endif

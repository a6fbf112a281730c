/*
 * api_auth — the OAuth session of one client.
 *
 * Owns the client credentials, the JWT, and the session's access and refresh
 * tokens (all secrets: wiped when replaced or freed, never logged).  One
 * session per client: the JWT grant is made once, and again only when the
 * session cannot be refreshed.  The access token is refreshed shortly before
 * it expires (the last fifth of its life, at most the last minute) and after a
 * 401.  Refresh tokens are single use, so exactly one thread talks to the
 * token endpoint at a time; the others wait for its result (bounded by their
 * deadline).  A refresh the server refuses falls back to a new JWT grant; a
 * proactive refresh that fails for another reason keeps the current token
 * while it is still valid.  Token requests use the Auth rate group and
 * HTTP Basic client authentication.  Thread-safe.
 */
#ifndef RCFS_API_AUTH_H
#define RCFS_API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_exec.h"

struct auth;

/* A session for these credentials (copied); server is the base URL. */
/* Wake threads waiting for a token refresh (they re-check the transport's
 * stop flag: used by api_shutdown). */
void auth_wake(struct auth *a);

struct auth *auth_new(struct exec *e, const char *server, const char *client_id,
                      const char *client_secret, const char *jwt);

/* Wipe every secret and free.  NULL-safe. */
void auth_free(struct auth *a);

/*
 * Make sure a session exists (JWT grant when there is none yet; nothing
 * when a valid token is held).  Returns 0, -EACCES (credentials refused),
 * -EHOSTUNREACH or -EIO, with one line in err that holds no secret.
 */
int auth_login(struct auth *a, int64_t deadline_ms, enum api_prio prio, char *err, size_t errlen);

/*
 * A valid access token as an Authorization value ("Bearer ..."), logging in
 * or refreshing first when needed.  *value is malloc'd: release it with
 * auth_value_free (which wipes it).  *gen identifies the token for
 * auth_rejected.  Returns 0 or -errno.
 */
int auth_bearer(struct auth *a, int64_t deadline_ms, enum api_prio prio, char **value,
                uint64_t *gen);

/* Wipe and free a value from auth_bearer.  NULL-safe. */
void auth_value_free(char *value);

/*
 * The server answered 401 to the token of generation gen: get a new one
 * (refresh, else JWT grant) unless another thread already did.
 * Returns 0 when a newer token is now held, else -errno.
 */
int auth_rejected(struct auth *a, int64_t deadline_ms, enum api_prio prio, uint64_t gen);

/* Token refreshes (and JWT grants after the first) so far. */
uint64_t auth_refreshes(struct auth *a);

#endif

/*
 * api_auth — the OAuth session of one client.
 *
 * Owns the client credentials, the JWT, and the session's access and refresh
 * tokens (all secrets: every copy is wiped when replaced or freed, see
 * api_secret; never logged).  One session per client: the JWT grant is
 * made once, and again only when the session cannot be refreshed.  The
 * access token is refreshed shortly before it expires (in the last fifth of
 * its life, at most the last minute) and after a 401.  Token requests use
 * the Auth rate group and HTTP Basic client authentication.
 *
 * Token requests and who waits for them (so that one stalled token request
 * cannot stall every call):
 *  - A token request runs for at most its own bound, AUTH_BOUND_MS =
 *    min(the client's default call timeout, 20 s), whatever its caller's
 *    deadline (the mailbox's background calls have 120 s); then it is
 *    abandoned.  A proactive refresh, sent while the current token is still
 *    valid, takes at most half of its caller's time left, so the caller can
 *    still use the current token when the refresh fails.
 *  - A caller that holds a valid token never waits for anyone's request.
 *  - A caller without one waits for the token request in flight, never past
 *    its own deadline and never long behind a stalled one: once the request
 *    in flight has run for AUTH_STALL_MS (2 s), the caller sends a JWT grant
 *    of its own beside it.  Refresh tokens are single use (a second refresh
 *    with the same one fails) while JWT grants are not, so at most two token
 *    requests are in flight and the second is always a JWT grant.  The first
 *    answer with a token wins: the other request is aborted (within about a
 *    second) and its answer, if one still comes, wiped unused.
 *  - A refresh the server refuses falls back to a JWT grant at once.  A
 *    request that ran into its own bound is followed by another while the
 *    caller's deadline allows.  A failure no other request can cure
 *    (credentials refused: -EACCES; server unreachable: -EHOSTUNREACH) is
 *    the answer of every caller that was waiting for that request.
 * Thread-safe.  Lock: auth's own mutex, never held across I/O, taken after
 * no other lock of the client.
 */
#ifndef RCFS_API_AUTH_H
#define RCFS_API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_exec.h"

/* A token request's own limit is min(the client's call timeout, this). */
#define AUTH_BOUND_CAP_MS 20000
/* A token request in flight this long no longer holds others back. */
#define AUTH_STALL_MS 2000

struct auth;

/*
 * A session for these credentials (copied) on the server base URL server,
 * sending through e.  timeout_ms is the client's default call timeout (> 0):
 * token requests are bounded by min(timeout_ms, AUTH_BOUND_CAP_MS).
 */
struct auth *auth_new(struct exec *e, const char *server, const char *client_id,
                      const char *client_secret, const char *jwt, int64_t timeout_ms);

/* Wipe every secret and free.  No call may be in progress.  NULL-safe. */
void auth_free(struct auth *a);

/* Wake threads waiting for a token (they re-check the transport's stop
 * flag and fail with -EIO: used by api_shutdown). */
void auth_wake(struct auth *a);

/*
 * Make sure a session exists (a JWT grant when there is none yet; nothing
 * when a valid token is held).  Returns 0, -EACCES (credentials refused),
 * -EHOSTUNREACH or -EIO, with one line in err that holds no secret.
 */
int auth_login(struct auth *a, int64_t deadline_ms, enum api_prio prio, char *err, size_t errlen);

/*
 * A valid access token as an Authorization value ("Bearer ..."), logging in
 * or refreshing first when needed (the rules above).  *value is malloc'd:
 * release it with auth_value_free (which wipes it).  *gen identifies the
 * token for auth_rejected.  Returns 0, or -EACCES, -EHOSTUNREACH, -EIO
 * (deadline passed, shutdown, or the token requests failed); *value is then
 * NULL.
 */
int auth_bearer(struct auth *a, int64_t deadline_ms, enum api_prio prio, char **value,
                uint64_t *gen);

/* Wipe and free a value from auth_bearer.  NULL-safe. */
void auth_value_free(char *value);

/*
 * The server answered 401 to the token of generation gen: drop it (unless a
 * newer one is already held) and get a new one (refresh, else JWT grant) by
 * the rules above.  Returns 0 when a newer token is now held, else -errno as
 * auth_bearer.
 */
int auth_rejected(struct auth *a, int64_t deadline_ms, enum api_prio prio, uint64_t gen);

/* Token refreshes (and JWT grants after the first) so far. */
uint64_t auth_refreshes(struct auth *a);

#endif

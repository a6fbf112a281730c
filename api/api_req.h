/*
 * api_req — the authenticated request every endpoint of api.h goes through.
 *
 * Owns the step between an endpoint (api_store, api_page, api_fetch,
 * api_ext, api.c's login) and the retrying executor (api_exec): it puts the
 * session's bearer token on the request, and when the server answers 401 it
 * gets a new token once (auth_rejected) and runs the request again.  Also
 * the small helpers every endpoint shares: the call's deadline and priority,
 * URLs under /restapi/v1.0/account/~/, one JSON object GET, and ids read
 * from JSON.  Depends on api_auth and api_exec only; nothing here calls an
 * endpoint, so endpoint files depend on this one and never the other way.
 * Thread-safe.
 */
#ifndef RCFS_API_REQ_H
#define RCFS_API_REQ_H

#include <stdint.h>

#include "api/api_priv.h"

struct json_object;

/* Cap of a JSON answer (a page of 1000 records is a few MB). */
#define REQ_JSON_MAX (64u * 1024 * 1024)

/* The call's deadline: c->deadline_ms, or now + the client's timeout when c
 * is NULL or its deadline_ms is 0. */
int64_t req_deadline(const struct api *a, const struct api_call *c);

/* The call's priority (USER when c is NULL). */
enum api_prio req_prio(const struct api_call *c);

/*
 * Run rq with the session's bearer token (rq->http.authorization is set for
 * the exchange and cleared again); on a 401 get a new token once
 * (auth_rejected) and run it again; every answer is noted in a->reach.
 * Same contract as exec_run; a failure to
 * get a token is returned as is (-EACCES, -EHOSTUNREACH, -EIO), and res then
 * holds the answer before it (the 401), if there was one.
 */
int req_run(struct api *a, int64_t deadline, enum api_prio prio, struct exec_req *rq,
            struct exec_res *res);

/*
 * GET url (idempotent, JSON, at most REQ_JSON_MAX) in rate group `group`.
 * Returns 0 with res->json a JSON object, -EIO when the answer is JSON but
 * not an object, or req_run's -errno.  The caller frees res.
 */
int req_get_object(struct api *a, int64_t deadline, enum api_prio prio, const char *url,
                   enum pace_group group, struct exec_res *res);

/* "<server>/restapi/v1.0/account/~/<path>" (path printf-formatted), malloc'd. */
char *req_url(const struct api *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A uint64 from a JSON integer >= 0 or a string of at most 20 decimal
 * digits: 0 and *out, or -EINVAL (*out untouched) for anything else. */
int req_json_u64(struct json_object *o, uint64_t *out);

#endif

/*
 * api_exec — one API request carried to its end: pacing, retries, counters.
 *
 * Owns the retry policy and the request counters.  Each attempt first gets a
 * slot from the pacer (api_pace) for the request's rate group, then goes out
 * through api_http, then tells the pacer what the answer taught it.
 *  - 429 (or a 200 JSON CMN-301 content answer): the group is penalised and
 *    the request waits for the penalty to end, if that is before the deadline
 *    (any method: the server did not act);
 *  - idempotent requests are retried on 5xx, resets, cut or unframed bodies
 *    and malformed JSON, with exponential backoff and full jitter, until the
 *    deadline; a timeout is not retried (the attempt had all the time left);
 *  - a non-idempotent request (DELETE) is retried only when it surely never
 *    left (connection refused, name not resolved);
 *  - a refused or unresolvable connection is given up after 3 attempts in a
 *    row (about a second) with -EHOSTUNREACH, so the caller can work offline;
 *  - what another attempt cannot cure is not retried: a refused libcurl
 *    option, TLS verification, a sink's error, a body over its cap, an abort;
 *  - 401 is returned at once: authentication is the caller's (api_req);
 *  - a request whose http.cancel flag turns non-zero ends within about 200 ms
 *    (pacing wait, backoff or transfer) as if its deadline had passed.
 * Thread-safe; the counters are atomics.
 */
#ifndef RCFS_API_EXEC_H
#define RCFS_API_EXEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_http.h"
#include "api/api_pace.h"

struct json_object;

struct exec {
    struct http *http;             /* the transport */
    struct pace *pace;             /* the pacer */
    bool verbose;                  /* log each exchange at debug level */
    _Atomic uint64_t requests;     /* attempts that may have reached the server */
    _Atomic uint64_t retries;      /* attempts after the first of a request */
    _Atomic uint64_t rate_limited; /* 429 (and CMN-301 content) answers */
    _Atomic uint64_t rng;          /* jitter state (splitmix64 counter) */
};

struct exec_req {
    struct http_req http;  /* the exchange */
    enum pace_group group; /* its rate-limit group */
    bool idempotent;       /* may be repeated when its outcome is unknown */
    bool want_json;        /* a 2xx body must be JSON (malformed = retryable failure),
                              unless it is multipart/... (api_multipart checks those) */
    unsigned errmap_flags; /* ERRMAP_* context for the errno mapping */
};

struct exec_res {
    struct http_resp http;    /* the last attempt's answer */
    struct json_object *json; /* parsed 2xx body when want_json, else NULL */
    int attempts;             /* attempts made */
};

/* Set up e over a transport and a pacer (both outlive e). */
void exec_init(struct exec *e, struct http *h, struct pace *p, bool verbose);

void exec_res_init(struct exec_res *r);
/* Free the body and the JSON; r is empty again. */
void exec_res_free(struct exec_res *r);

/*
 * Run rq until it succeeds, fails for good, or deadline_ms passes.
 * Returns 0 for a 2xx answer (res->json set when want_json), else -errno
 * (errmap_errno of the last attempt; -EIO when the deadline passed first or
 * the answer was not the content asked for).  res holds the last attempt.
 */
int exec_run(struct exec *e, int64_t deadline_ms, enum api_prio prio, const struct exec_req *rq,
             struct exec_res *res);

/* True when the last attempt may or may not have been acted on by the server
 * (sent and then reset, timed out or cut short, or a 5xx answer). */
bool exec_outcome_unknown(const struct exec_res *res);

#endif

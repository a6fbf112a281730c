/* api_exec — pacing, retries and counters around one request (see api_exec.h). */
#include "api/api_exec.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_err.h"
#include "api/api_url.h"
#include "api/api_wire.h"
#include "util/isotime.h"
#include "util/log.h"

#define BACKOFF_BASE_MS 200
#define BACKOFF_CAP_MS  5000

void exec_init(struct exec *e, struct http *h, struct pace *p, bool verbose)
{
    e->http = h;
    e->pace = p;
    e->verbose = verbose;
    atomic_init(&e->requests, 0);
    atomic_init(&e->retries, 0);
    atomic_init(&e->rate_limited, 0);
    atomic_init(&e->rng, (uint64_t)isotime_now_ms() ^ (uint64_t)(uintptr_t)e);
}

void exec_res_init(struct exec_res *r)
{
    http_resp_init(&r->http);
    r->json = NULL;
    r->attempts = 0;
}

void exec_res_free(struct exec_res *r)
{
    http_resp_free(&r->http);
    json_object_put(r->json);
    r->json = NULL;
}

/* A random number in [0, n] (splitmix64 over an atomic counter). */
static int64_t jitter(struct exec *e, int64_t n)
{
    uint64_t z = atomic_fetch_add(&e->rng, 0x9e3779b97f4a7c15ULL) + 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return n > 0 ? (int64_t)(z % (uint64_t)(n + 1)) : 0;
}

/* Attempts before a refused or unresolvable connection counts as "unreachable"
 * (with the backoff below, about one second). */
#define UNREACHABLE_TRIES 3

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

/* libcurl failures that another attempt cannot cure. */
static bool cc_permanent(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT: /* a refused setopt: the request was never sent */
    case CURLE_UNKNOWN_OPTION:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_WRITE_ERROR:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_OPERATION_TIMEDOUT: /* each attempt may use all the time left */
        return true;
    default:
        return false;
    }
}

bool exec_outcome_unknown(const struct exec_res *res)
{
    const struct http_resp *h = &res->http;

    if (h->cc != CURLE_OK)
        return h->sent;
    return h->status >= 500 || h->status == 0;
}

static void log_attempt(const struct exec *e, const struct exec_req *rq, const struct exec_res *r)
{
    char *u;

    if (!e->verbose || !log_debug_enabled())
        return;
    u = url_for_log(rq->http.url);
    if (r->http.cc != CURLE_OK)
        log_debug("%s %s -> %s (%lld ms)", rq->http.method, u, r->http.cc_msg,
                  (long long)r->http.elapsed_ms);
    else
        log_debug("%s %s -> %ld%s%s (%lld ms, %lld bytes)", rq->http.method, u, r->http.status,
                  r->http.error_code[0] ? " " : "", r->http.error_code,
                  (long long)r->http.elapsed_ms, (long long)r->http.received);
    free(u);
}

static bool cancelled(const struct exec *e, const struct exec_req *rq)
{
    return http_stopping(e->http) || (rq->http.cancel && atomic_load(rq->http.cancel));
}

/* A pacing slot; with a cancel flag, in slices so that a cancel is seen within 200 ms. */
static int acquire(struct exec *e, const struct exec_req *rq, enum api_prio prio,
                   int64_t deadline_ms)
{
    if (!rq->http.cancel)
        return pace_acquire(e->pace, rq->group, prio, deadline_ms);
    for (;;) {
        int64_t now = isotime_mono_ms(), slice = now + 200 < deadline_ms ? now + 200 : deadline_ms;

        if (cancelled(e, rq))
            return -ETIMEDOUT;
        if (pace_acquire(e->pace, rq->group, prio, slice) == 0)
            return 0;
        if (slice >= deadline_ms)
            return -ETIMEDOUT;
        now = isotime_mono_ms();
        if (now < slice) /* refused at once (a penalty beyond the slice): wait it out */
            sleep_ms(slice - now);
    }
}

static bool is_rate_limited(const struct http_resp *h)
{
    return h->cc == CURLE_OK &&
           (h->status == 429 || (h->type_mismatch && strcmp(h->error_code, "CMN-301") == 0));
}

/*
 * One exchange once admitted by the pacer: perform it, tell the pacer what
 * the answer taught, count it.  Returns http_perform's result; *limited is
 * set when the answer was a rate-limit refusal.
 */
static int exchange(struct exec *e, int64_t deadline_ms, const struct exec_req *rq,
                    struct exec_res *res, bool *limited)
{
    struct http_resp *h = &res->http;
    struct pace_report rep;
    int rc;

    json_object_put(res->json);
    res->json = NULL;
    rc = http_perform(e->http, &rq->http, deadline_ms, h);
    res->attempts++;
    rep = (struct pace_report){
        .sent = h->sent,
        .answered = h->status > 0,
        .rate_limited = is_rate_limited(h),
        .retry_after_s = h->retry_after_s,
        .group = h->rl_group[0] ? h->rl_group : NULL,
        .limit = h->rl_limit,
        .remaining = h->rl_remaining,
        .window_s = h->rl_window_s,
    };
    pace_release(e->pace, rq->group, &rep);
    if (h->sent)
        atomic_fetch_add(&e->requests, 1);
    log_attempt(e, rq, res);
    *limited = rep.rate_limited;
    if (rep.rate_limited) {
        atomic_fetch_add(&e->rate_limited, 1);
        log_debug("%s: rate limited (retry after %lld s)", rq->http.method,
                  (long long)h->retry_after_s);
    }
    return rc;
}

/*
 * What a finished exchange (not rate limited) means: 0 for the answer asked
 * for (res->json parsed when want_json), else -errno with *retryable saying
 * whether another attempt may cure it.
 */
static int verdict(const struct exec_req *rq, struct exec_res *res, int rc, bool *retryable)
{
    const struct http_resp *h = &res->http;

    *retryable = false;
    if (rc != 0) {
        /* no complete answer: a transport failure, a sink error or a body over its cap */
        *retryable =
            !h->sink_rc && !h->too_big && !cc_permanent(h->cc) && (rq->idempotent || !h->sent);
        return rc;
    }
    if (h->type_mismatch) {
        log_debug("%s: answer is %s, not the content asked for", rq->http.method,
                  h->content_type[0] ? h->content_type : "untyped");
        return -EIO;
    }
    if (h->status >= 200 && h->status <= 299) {
        if (!rq->want_json || strncasecmp(h->content_type, "multipart/", 10) == 0)
            return 0; /* multipart bodies are checked by api_multipart */
        res->json = wire_parse_json(h->body.data, h->body.len);
        if (res->json)
            return 0;
        log_debug("%s: malformed JSON answer (%zu bytes)", rq->http.method, h->body.len);
        *retryable = rq->idempotent;
        return -EIO;
    }
    *retryable = h->status >= 500 && rq->idempotent;
    return errmap_errno(CURLE_OK, h->status, h->error_code, rq->errmap_flags);
}

/*
 * Wait before attempt number `attempt` + 1: exponential backoff with full
 * jitter, in slices so a shutdown is not kept waiting.  Returns false (and
 * does not wait) when the wait would reach the deadline or the client is
 * shutting down.
 */
static bool backoff(struct exec *e, const struct exec_req *rq, int attempt, int64_t deadline_ms)
{
    int64_t wait = attempt >= 10 ? BACKOFF_CAP_MS : (int64_t)BACKOFF_BASE_MS << attempt;

    wait = jitter(e, wait > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : wait);
    if (isotime_mono_ms() + wait >= deadline_ms || cancelled(e, rq))
        return false;
    /* In slices, so a shutdown or a cancel is not kept waiting by a long backoff. */
    for (int64_t slept = 0; slept < wait && !cancelled(e, rq); slept += 100)
        sleep_ms(wait - slept < 100 ? wait - slept : 100);
    return !cancelled(e, rq);
}

int exec_run(struct exec *e, int64_t deadline_ms, enum api_prio prio, const struct exec_req *rq,
             struct exec_res *res)
{
    int rc = -EIO;

    for (int attempt = 0;; attempt++) {
        bool limited, retryable;

        if (acquire(e, rq, prio, deadline_ms) != 0) {
            log_debug("%s: no rate-limit slot before the deadline", rq->http.method);
            return attempt ? rc : -EIO;
        }
        if (attempt)
            atomic_fetch_add(&e->retries, 1);
        rc = exchange(e, deadline_ms, rq, res, &limited);
        if (limited) {
            rc = -EIO;
            continue; /* the pacer holds the next attempt until the penalty ends */
        }
        if (rc == -EHOSTUNREACH && attempt + 1 >= UNREACHABLE_TRIES) {
            /* Refused or unresolvable a few times in a row: the server is down
             * or we are offline.  Say so now rather than at the deadline, so
             * the caller can work offline (or tell the user) at once. */
            return rc;
        }
        rc = verdict(rq, res, rc, &retryable);
        if (rc == 0 || !retryable)
            return rc;
        log_debug("%s: attempt %d failed (%s), retrying", rq->http.method, attempt + 1,
                  res->http.cc != CURLE_OK ? res->http.cc_msg : "bad answer");
        if (!backoff(e, rq, attempt, deadline_ms))
            return rc;
    }
}

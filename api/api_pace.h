/*
 * api_pace — rate-limit pacing per API group (Light, Medium, Heavy, Auth).
 *
 * Owns, per group: the limit and window (learned from X-Rate-Limit-Limit and
 * -Window; until the first answer only one request is in flight; before that
 * the documented defaults Light 50, Medium 40, Heavy 10, Auth 5 per 60 s), a log of
 * the requests inside the sliding window, the penalty end after a 429, and
 * the queue of waiting callers.
 *
 * Rules:
 *  - at most `limit` requests in any window: a request counts from when it
 *    is admitted, and once answered it stays counted until `window` after its
 *    answer arrived (the server saw it before that, so it has surely left the
 *    server's window too);
 *  - X-Rate-Limit-Remaining lower than our own count means someone else uses
 *    the same quota: the difference is added as requests made now;
 *  - a 429 (or a 200 JSON CMN-301 content answer) blocks the whole group
 *    until Retry-After (30 s when absent) has passed; nothing is sent in the
 *    group meanwhile, because every request during a penalty restarts it;
 *    afterwards the window log and the Remaining headers pace as before;
 *  - callers are admitted in order, USER before BACKGROUND; BACKGROUND may
 *    not take the last tenth of the limit, so a person finds a free slot;
 *  - memory does not depend on what a server announces: the window log
 *    counts requests answered at the same instant in one entry and keeps at
 *    most 1024 entries per group (beyond that a request is counted with the
 *    newest entry, i.e. a little longer than needed: slower, never faster).
 *
 * The algorithm is separate from the blocking: pace_enqueue/pace_try/
 * pace_dequeue never sleep and take the time from the injected clock, so unit
 * tests drive them with a fake clock; pace_acquire is the blocking wrapper
 * used by the client.  All functions are thread-safe.
 */
#ifndef RCFS_API_PACE_H
#define RCFS_API_PACE_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"

enum pace_group { PACE_LIGHT, PACE_MEDIUM, PACE_HEAVY, PACE_AUTH, PACE_NGROUPS };

/* Retry-After assumed when a 429 carries none (api-notes: "30 s or more"). */
#define PACE_DEFAULT_PENALTY_MS 30000
/* pace_try's answer when only another caller's progress can help. */
#define PACE_WAIT_EVENT INT64_MAX

/* What one answered (or failed) request tells the pacer. */
struct pace_report {
    bool sent;             /* the request may have reached the server */
    bool answered;         /* an HTTP answer came back (the group's headers are its facts) */
    bool rate_limited;     /* 429, or a content answer that is a CMN-301 error */
    int64_t retry_after_s; /* Retry-After in seconds, -1 when absent */
    const char *group;     /* X-Rate-Limit-Group, NULL when absent */
    long limit;            /* X-Rate-Limit-Limit, -1 when absent */
    long remaining;        /* X-Rate-Limit-Remaining, -1 when absent */
    long window_s;         /* X-Rate-Limit-Window in seconds, -1 when absent */
};

/* A caller's place in a group's queue (caller-owned, valid while queued). */
struct pace_ticket {
    enum pace_group group;    /* the group it waits for */
    enum api_prio prio;       /* USER goes first */
    uint64_t seq;             /* arrival order */
    struct pace_ticket *next; /* queue link (sorted by prio, then seq) */
};

typedef int64_t (*pace_clock_fn)(void *ctx);

/* A logged request leaves the window this much after it would by our own
 * clock: the server counts from when it received the request, and with an
 * answer in under a millisecond the two instants fall in the same
 * millisecond, where the server still counts it (seen on loopback: one 429
 * a few runs in three, each costing a whole penalty). */
#define PACE_SLOT_MARGIN_MS 25

struct pace;

/* A pacer with the given monotonic clock in ms (NULL = isotime_mono_ms). */
struct pace *pace_new(pace_clock_fn clock, void *clock_ctx);

/* Free; no caller may be queued.  NULL-safe. */
void pace_free(struct pace *p);

/* Queue t for group g with priority prio. */
void pace_enqueue(struct pace *p, struct pace_ticket *t, enum pace_group g, enum api_prio prio);

/*
 * Try to admit t now.  Returns 0 when admitted (t is dequeued and one request
 * is counted in flight: the caller must pace_release it), else the ms until
 * admission may become possible, or PACE_WAIT_EVENT when it waits for
 * another caller (ahead in the queue, or in flight).
 */
int64_t pace_try(struct pace *p, struct pace_ticket *t);

/* Leave the queue without being admitted (e.g. the deadline passed). */
void pace_dequeue(struct pace *p, struct pace_ticket *t);

/*
 * Wait until admitted to group g, at most until deadline_ms (monotonic ms).
 * Fails at once when the group is penalised beyond the deadline.
 * Returns 0 (the caller must pace_release) or -ETIMEDOUT.
 */
int pace_acquire(struct pace *p, enum pace_group g, enum api_prio prio, int64_t deadline_ms);

/* Wake every waiter and make pace_acquire fail at once from now on (the
 * client is shutting down). */
void pace_shutdown(struct pace *p);

/* An admitted request of group g ended; r says what its answer taught. */
void pace_release(struct pace *p, enum pace_group g, const struct pace_report *r);

/* The group named by an X-Rate-Limit-Group value; -1 when unknown. */
int pace_group_parse(const char *name);

/* Inspection for tests and logs. */
struct pace_state {
    long limit;        /* current limit */
    int64_t window_ms; /* current window */
    bool learned;      /* an answer came (limits are the server's, or defaults if it sent none) */
    long in_window;    /* requests counted in the window now (incl. in flight) */
    long in_flight;    /* admitted, not yet released */
    int64_t blocked_until; /* penalty end (clock ms), 0 when none */
    size_t log_entries;    /* entries in the window log (at most PACE_LOG_MAX = 1024,
                              whatever the limit: its memory is bounded) */
};
void pace_get_state(struct pace *p, enum pace_group g, struct pace_state *out);

#endif

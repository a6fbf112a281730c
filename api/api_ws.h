/*
 * api_ws — push notifications of message-store changes over RingCentral's
 * WebSocket gateway (docs/api-notes.md "Push notifications over WebSocket").
 *
 * Owns one WebSocket session and the thread that keeps it: for each connection
 * a fresh WS token (POST /restapi/oauth/wstoken through the client's own
 * authenticated session, Auth rate group, background priority), the
 * connection (libwebsockets; wss:// with the peer always verified, ws:// only
 * to a loopback host), the subscription (one ClientRequest with the
 * message-store filter of every given extension, plus the instant SMS filter
 * when asked), the wsc token (kept with the highest sequence; used to recover
 * the session after a drop within recoveryTimeout), Heartbeats (every third of
 * idleTimeout, and after 60 s without a message; no answer within 10 s means
 * the connection is dead), pongs (by the library), and reconnection with
 * exponential backoff and full jitter.  When recovery fails it subscribes
 * again and says so (API_WS_SUBSCRIBED: the caller must catch up).
 *
 * No secret (access token, WS token, wsc) ever reaches a log: the library's
 * own log lines are filtered and go to the debug log only.
 *
 * Threads: api_ws_new starts nothing; api_ws_start starts the one WS thread
 * (call it after daemonising: no thread may exist before a fork).  Every
 * callback runs on the WS thread, one at a time, and must return quickly
 * (queue work elsewhere; never call api_ws_stop/api_ws_free from one).
 * api_ws_stop and api_ws_free may be called from any other thread.
 */
#ifndef RCFS_API_WS_H
#define RCFS_API_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

struct api_ws;

/* What push can do for the caller now (reported on every change, from the WS thread). */
enum api_ws_state {
    API_WS_SUBSCRIBED,  /* a fresh subscription is live: events before it may have been
                           missed, so catch up now (one ISync per extension); events follow */
    API_WS_RECOVERED,   /* the session was recovered after a drop: the server replays what
                           it kept (at most 100 notifications), nothing to catch up */
    API_WS_DOWN,        /* no live subscription (dropped, refused, unreachable, server
                           error): poll until SUBSCRIBED or RECOVERED; retrying with backoff */
    API_WS_UNAVAILABLE, /* push not offered to this app (wstoken 403: no WebSocket
                           permission) or the subscription refused (4xx): poll; retried
                           only every unavailable_retry_s */
};

/* One notification.  Pointers are valid during the callback only. */
struct api_ws_event {
    uint64_t ext_id;         /* the extension whose store changed (0: unknown, catch up all) */
    const uint64_t *new_ids; /* ids of new messages (at most 1000 kept per event) */
    size_t n_new;            /* how many in new_ids */
    size_t n_updated;        /* messages changed (not new): their ids are not given */
    bool instant;            /* from the instant SMS filter: new_ids[0] is that SMS */
};

typedef void (*api_ws_event_fn)(void *ctx, const struct api_ws_event *ev);
typedef void (*api_ws_state_fn)(void *ctx, enum api_ws_state st);

struct api_ws_opts {
    const uint64_t *ext_ids;  /* extensions to watch (copied; 1..500 of them) */
    size_t n_ext;             /* how many */
    bool instant_sms;         /* also subscribe to .../message-store/instant?type=SMS */
    api_ws_event_fn on_event; /* required */
    api_ws_state_fn on_state; /* required */
    void *ctx;                /* passed to both */
    int backoff_min_ms;       /* first reconnect delay cap (0 = 1000) */
    int backoff_max_ms;       /* largest delay cap (0 = 60000); delays are uniform in [0, cap] */
    int unavailable_retry_s;  /* after UNAVAILABLE, try again this much later
                                 (0 = 3600; < 0 = never) */
};

/*
 * Create the notifier for client a (which must outlive it).  Copies o; no
 * thread, no network.  Returns 0 and *out, or -EINVAL (no extension, more
 * than 500, or a callback missing).
 */
int api_ws_new(struct api *a, const struct api_ws_opts *o, struct api_ws **out);

/*
 * Start the WS thread: it connects at once and keeps trying until
 * api_ws_stop.  Returns 0, -EALREADY when started before, or -errno from
 * creating the thread or the libwebsockets context (nothing is running then).
 */
int api_ws_start(struct api_ws *w);

/*
 * Stop the thread and close the connection (no callback runs after it
 * returns).  Prompt in every phase: waiting for a WS token (its request is
 * cancelled within about a second), connecting, subscribed, or backing off.
 * Idempotent; NULL-safe; a no-op when never started.
 */
void api_ws_stop(struct api_ws *w);

/* api_ws_stop, then wipe the wsc and free.  NULL-safe. */
void api_ws_free(struct api_ws *w);

/* Counters for logs and tests. */
struct api_ws_stats {
    uint64_t wstokens;   /* WS tokens obtained */
    uint64_t connects;   /* connections that reached ConnectionDetails */
    uint64_t recovered;  /* recoveries that succeeded */
    uint64_t subscribed; /* subscriptions created */
    uint64_t heartbeats; /* Heartbeats sent */
    uint64_t events;     /* notifications delivered to on_event */
};

/* A snapshot of the counters; safe from any thread. */
void api_ws_get_stats(struct api_ws *w, struct api_ws_stats *out);

/* The state's name ("SUBSCRIBED", ...) for logs and tools. */
const char *api_ws_state_name(enum api_ws_state st);

#endif

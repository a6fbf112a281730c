/*
 * api_ws_priv — the notifier object shared by api_ws.c (thread, attempts,
 * backoff) and api_ws_conn.c (libwebsockets, the protocol on a connection).
 * Not for use outside api/.
 *
 * Every field below ctx_lock belongs to the WS thread alone (after
 * api_ws_start), except ctx, which api_ws_stop reads under ctx_lock; `stop`
 * is the only field other threads write.
 */
#ifndef RCFS_API_WS_PRIV_H
#define RCFS_API_WS_PRIV_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_ws.h"
#include "api/api_wsmsg.h"
#include "util/buf.h"

/* Where the wstoken answer says to connect. */
struct ws_target {
    bool tls;       /* wss:// */
    int port;       /* TCP port */
    char host[256]; /* host name or address (no brackets) */
    char path[512]; /* path without query */
};

/* One queued outgoing text message. */
struct ws_out {
    struct ws_out *next; /* queue link */
    size_t len;          /* bytes of text */
    char text[];         /* LWS_PRE bytes of room, then the text */
};

enum ws_phase {
    WS_IDLE,      /* no connection: waiting for next_attempt_ms */
    WS_OPENING,   /* upgrade sent, waiting for ConnectionDetails */
    WS_SUBSCRIBE, /* subscription request sent, waiting for its answer */
    WS_UP,        /* subscribed (or recovered): events flow */
};

struct api_ws {
    struct api *api;            /* the REST client (tokens, pacing) */
    struct api_ws_opts o;       /* options (ext_ids points at our copy) */
    uint64_t *ext_ids;          /* our copy of the extension ids */
    int min_ms, max_ms;         /* backoff caps */
    int64_t unavailable_ms;     /* retry after UNAVAILABLE (-1 never) */
    pthread_t thread;           /* the WS thread */
    bool started, joined;       /* api_ws_start ran / the thread was joined */
    _Atomic int stop;           /* api_ws_stop: everything ends (also cancels the token call) */
    pthread_mutex_t stats_lock; /* guards stats */
    struct api_ws_stats stats;  /* counters */
    pthread_mutex_t ctx_lock;   /* guards ctx against api_ws_stop's cancel while the thread
                                   destroys it; never held while calling back */

    struct lws_context *ctx;            /* libwebsockets context */
    struct lws *wsi;                    /* the connection, or NULL */
    lws_sorted_usec_list_t tick;        /* periodic timer that drives deadlines */
    enum ws_phase phase;                /* where the connection is */
    int64_t phase_deadline_ms;          /* OPENING/SUBSCRIBE must advance by then */
    int64_t next_attempt_ms;            /* when to connect next (IDLE) */
    int attempt;                        /* failed attempts in a row (backoff exponent) */
    uint64_t rng;                       /* jitter and message ids (splitmix64 state) */
    bool recovering;                    /* this connection presented the wsc */
    bool refused;                       /* the server refused the subscription (4xx) */
    char *wsc;                          /* wsc token (secret), or NULL */
    int64_t wsc_seq;                    /* its sequence */
    bool have_session;                  /* the wsc's session holds our subscription */
    int64_t down_since_ms;              /* when the last live session lost its connection */
    int recovery_timeout_s;             /* from ConnectionDetails (180 until told) */
    int idle_timeout_s;                 /* from ConnectionDetails (0 until told) */
    char sub_msgid[40];                 /* messageId of the subscription request */
    char sub_id[64];                    /* the live subscription's id */
    struct buf rx;                      /* a message being reassembled from fragments */
    bool rx_overflow;                   /* the current message exceeded WSMSG_MAX: dropped */
    struct ws_out *out_head, *out_tail; /* messages waiting for WRITEABLE */
    int64_t last_sent_ms;               /* last text message sent */
    int64_t last_recv_ms;               /* last message received */
    int64_t hb_deadline_ms;             /* a Heartbeat awaits an answer until then (0 none) */
    enum api_ws_state reported;         /* last state told */
    bool reported_any;                  /* a state was told */
};

/* api_ws.c */
uint64_t ws_random(struct api_ws *w);
/* Tell the caller st (DOWN and UNAVAILABLE only when they are news). */
void ws_report(struct api_ws *w, enum api_ws_state st);
/* No connection now: DOWN (backoff with full jitter) or UNAVAILABLE (the long wait). */
void ws_schedule_retry(struct api_ws *w, bool unavailable);
/* Count one event in a stats field. */
void ws_stat(struct api_ws *w, uint64_t *counter);

/* api_ws_conn.c */
/* Create the libwebsockets context and the tick timer.  0 or -errno. */
int ws_conn_context(struct api_ws *w);
/* Destroy the context (after the thread ended).  Idempotent. */
void ws_conn_context_free(struct api_ws *w);
/* Start the upgrade to t with path (holding the WS token).  0, or -EIO at once. */
int ws_conn_open(struct api_ws *w, const struct ws_target *t, const char *path);
/* Close the connection without telling anyone (the thread is ending). */
void ws_conn_close_now(struct api_ws *w);
/* Free queued messages. */
void ws_outq_clear(struct api_ws *w);

#endif

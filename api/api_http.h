/*
 * api_http — one HTTP exchange over libcurl.
 *
 * Owns libcurl: the process-wide curl_global_init (once, thread-safe), a
 * share handle (connection cache, DNS cache, TLS sessions) and a pool of
 * easy handles, so connections are kept alive (HTTP/1.1) and reused by any
 * thread.  Every exchange: only http and https, never a redirect, TLS peer
 * and host always verified, timeout = time left until the deadline, every
 * libcurl option checked (a refused one stops the exchange before anything
 * is sent), a capped response body that counts only when framed (a
 * Content-Length or chunked encoding), secrets' buffers wiped, an abort on
 * shutdown or on the request's cancel flag, and the answer's facts captured
 * (status, Content-Type, Content-Length, Content-Range, Retry-After,
 * X-Rate-Limit-*, and the errorCode of a JSON error body, read by api_wire).
 * One attempt only: pacing, retries and authentication are api_exec's,
 * api_req's and api_auth's.  Thread-safe.
 */
#ifndef RCFS_API_HTTP_H
#define RCFS_API_HTTP_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/api.h"
#include "util/buf.h"

struct json_object;

/* Cap of an error body buffered instead of streamed content. */
#define HTTP_ERR_BODY_MAX (64 * 1024)

struct http;

struct http_req {
    const char *method;        /* "GET", "PUT", "PATCH", "DELETE", "POST" */
    const char *url;           /* absolute URL, already checked with url_is_allowed */
    const char *authorization; /* Authorization header value (a secret), or NULL */
    const char *accept;        /* Accept header, NULL = application/json */
    const char *content_type;  /* type of body, NULL when no body */
    const char *body;          /* request body (may be a secret: never logged), or NULL */
    size_t body_len;           /* its length */
    const char *range;         /* Range header value ("bytes=0-99"), or NULL */
    bool fresh_connect;        /* use a new connection: libcurl then never resends the
                                  request by itself after a dead reused connection */
    bool compress;             /* offer gzip/deflate (never for content) */
    size_t max_body;           /* cap of a buffered body (bytes) */
    /* Content streaming: when sink is set, sink(ctx, NULL, 0) ("start
     * again") is called before the exchange; then an answer with status 200
     * (or 206 when range is set) whose media type matches expect_type goes
     * to sink; any other answer is buffered (at most HTTP_ERR_BODY_MAX). */
    api_sink_fn sink;          /* receives content, or NULL to buffer everything */
    void *sink_ctx;            /* its argument */
    const char *expect_type;   /* expected media type; NULL/"" = anything but JSON */
    bool secret;               /* the answer holds a secret (a token answer): its buffered
                                  body grows without leaving copies and is wiped when freed */
    const _Atomic int *cancel; /* NULL, or set non-zero to abort the exchange (within about
                                   a second; the result is then CURLE_ABORTED_BY_CALLBACK) */
    /* Streamed request body, instead of body (e.g. a fax document read from
     * its file; body_len is its length): body_rewind(ctx) is called before
     * each exchange (0 or -errno), then body_read(ctx, dst, n) copies up to n
     * bytes and returns how many, 0 at the end, or -errno; it must produce
     * exactly body_len bytes.  A reader's -errno ends the exchange (sink_rc):
     * the server got an incomplete body, so it cannot have acted on it. */
    ssize_t (*body_read)(void *ctx, char *dst, size_t n);
    int (*body_rewind)(void *ctx);
    void *body_ctx;
};

struct http_resp {
    CURLcode cc;            /* CURLE_OK when a complete answer came */
    char cc_msg[160];       /* libcurl's words for cc (no secrets), "" when OK */
    bool sent;              /* false only when the request surely never left */
    long status;            /* HTTP status, 0 when none */
    char content_type[128]; /* Content-Type as sent, "" when none */
    int64_t content_length; /* Content-Length, -1 when none */
    int64_t range_start;    /* Content-Range first byte, -1 when none */
    int64_t range_end;      /* Content-Range last byte, -1 when none */
    int64_t range_total;    /* Content-Range total, -1 when none or "*" */
    int64_t retry_after_s;  /* Retry-After in seconds, -1 when none */
    char rl_group[24];      /* X-Rate-Limit-Group, "" when none */
    long rl_limit;          /* X-Rate-Limit-Limit, -1 when none */
    long rl_remaining;      /* X-Rate-Limit-Remaining, -1 when none */
    long rl_window_s;       /* X-Rate-Limit-Window (seconds), -1 when none */
    char error_code[32];    /* errorCode of a JSON error body, "" when none */
    bool streamed;          /* the body went to the sink */
    bool type_mismatch;     /* a sink was given but the answer was not the content asked for */
    bool too_big;           /* a buffered body exceeded its cap */
    int sink_rc;            /* the sink's (or body reader's) -errno when it stopped it, else 0 */
    int64_t received;       /* body bytes received (streamed or buffered) */
    struct buf body;        /* the buffered body (NUL-terminated) */
    bool secret;            /* body holds a secret: http_resp_free wipes it */
    int64_t elapsed_ms;     /* time the exchange took */
};

/* Create the transport (initialises libcurl once per process).  Returns
 * NULL with one line in err when libcurl cannot be initialised or refuses
 * an option of the shared connection cache. */
struct http *http_new(char *err, size_t errlen);

/* Abort every transfer in progress and refuse new ones (-EIO): the client
 * is shutting down.  Irreversible; safe from any thread. */
void http_shutdown(struct http *h);

/* True once http_shutdown was called. */
bool http_stopping(struct http *h);

/* Close every connection and free.  NULL-safe. */
void http_free(struct http *h);

/* Empty response, ready for http_perform. */
void http_resp_init(struct http_resp *rs);

/* Free the body (wiped first when rs->secret); the response is empty again. */
void http_resp_free(struct http_resp *rs);

/*
 * One exchange, bounded by deadline_ms (monotonic).  rs is reset first.
 * Returns 0 when a complete answer arrived (whatever its status), else the
 * errno of the libcurl failure (errmap_errno), or the sink's -errno, or -EIO
 * for a body over its cap; rs says what is known.
 * A 2xx answer (but 204) must be framed: without a Content-Length or chunked
 * encoding its end is only the connection closing, which a cut looks the
 * same as, so it fails: -EIO, rs->cc CURLE_PARTIAL_FILE, sent, status kept
 * (retryable like any cut transfer).
 * When libcurl refuses any option of the exchange (curl_easy_setopt
 * fails), nothing is sent: -EIO, rs->sent false, rs->cc the refusal and
 * rs->cc_msg "libcurl refused CURLOPT_...: ..." (also logged).
 */
int http_perform(struct http *h, const struct http_req *rq, int64_t deadline_ms,
                 struct http_resp *rs);

#endif

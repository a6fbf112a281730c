/*
 * api — the RingCentral REST client: one authenticated session per mount.
 *
 * Owns the OAuth session (JWT grant, refresh before expiry and on 401, one
 * session reused; a stalled token request holds nobody for long, see
 * api_auth.h; secrets wiped from memory), the HTTP transport (libcurl,
 * connection reuse, TLS always verified, http:// only to loopback, the
 * bearer token only where api_fetch below says), rate-limit pacing per group from the
 * X-Rate-Limit-* headers (429 + Retry-After honoured, nothing sent in a
 * penalised group), retries with exponential backoff and jitter for
 * idempotent requests, and the single place where HTTP statuses and libcurl
 * errors become errno values:
 *   401 (after one refresh) and 403 -EACCES, 404 -ENOENT, 400 and 416 -EINVAL,
 *   429 still penalised at the deadline, 5xx, resets, timeouts, truncated or
 *   malformed bodies -EIO, could not connect or resolve -EHOSTUNREACH.
 * Knows nothing of FUSE or the cache.  Thread-safe: any number of threads may
 * call in at once.
 *
 * Every call takes a struct api_call: its deadline bounds the whole call
 * (pacing waits, retries, transfers), after which it fails with -EIO;
 * nothing waits forever.
 */
#ifndef RCFS_API_H
#define RCFS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_record.h"

struct api;

enum api_prio {
    API_PRIO_USER,       /* a person is waiting (a foreground read, a listing) */
    API_PRIO_BACKGROUND, /* prefetch, thumbnailers, polling: yields to USER */
};

/* Per-call context. */
struct api_call {
    int64_t deadline_ms; /* isotime_mono_ms() value after which the call fails; 0 = now + timeout */
    enum api_prio prio;  /* scheduling class for pacing and download slots */
};

struct api_opts {
    const char *server_url;    /* platform base URL (https://, or http:// to loopback) */
    const char *client_id;     /* OAuth client id */
    const char *client_secret; /* OAuth client secret */
    const char *jwt;           /* JWT credential */
    const char *media_url;     /* NULL, or a base URL replacing scheme+host+port of content URIs */
    int timeout_s;             /* default per-call bound in seconds (> 0) */
    int max_downloads;         /* content transfers at once (> 0) */
    bool verbose_http;         /* log each request line (method, path, status) at debug level */
};

/*
 * Create a client.  Copies everything it needs from o; contacts nobody.
 * Returns 0 and *out, or -EINVAL with a line in err (a refused URL, e.g.
 * "http:// is only allowed to loopback hosts"), or -EIO with a line in err
 * when libcurl cannot be set up.  *out is NULL on failure.
 */
int api_new(const struct api_opts *o, struct api **out, char *err, size_t errlen);

/* Revoke nothing, close connections, wipe secrets, free.  NULL-safe. */
void api_free(struct api *a);

/*
 * Make every call in progress return -EIO at once (transfers are aborted,
 * waits for pacing, download slots, backoff or a token end) and every later
 * call fail the same way.  For unmounting: background work must not hold the
 * daemon (and its cache lock) until its deadline.  Irreversible; safe from
 * any thread; NULL-safe.
 */
void api_shutdown(struct api *a);

/*
 * Log in with the JWT grant, then read GET .../extension/~ (the account id,
 * the own extension and whether the user is an admin, kept for
 * api_account_id and api_extensions).  Returns 0; -EACCES when the server
 * refuses the credentials (or extension/~); -EHOSTUNREACH when it cannot be
 * reached; -EIO otherwise (also for an extension/~ answer without a valid
 * account.id or id).  err gets one line for the user (never a secret).
 * Later calls refresh or log in again by themselves; calling this first is
 * only to fail early.
 */
int api_login(struct api *a, const struct api_call *c, char *err, size_t errlen);

/*
 * The account id of the session ("~" resolved), known after api_login: the
 * token answer names only the extension (owner_id), so api_login reads it
 * from GET .../account/~/extension/~ (its account.id).  Before a successful
 * api_login it is "~".  Set once; do not call concurrently with api_login.
 */
const char *api_account_id(const struct api *a);

/*
 * The credentials' own extension id (the "~" of extension/~, the only one
 * that may send), read by api_login from the same answer as the account
 * id.  0 before a successful api_login.  Thread-safe.
 */
uint64_t api_owner_id(struct api *a);

struct api_ext {
    uint64_t id;     /* extension id */
    char number[32]; /* extensionNumber as sent ("" if none or invalid) */
    char name[128];  /* name as sent, truncated ("" if none) */
    bool own;        /* the credentials' own extension (extension/~) */
};

/*
 * The extensions whose messages these credentials can read, judged by GET
 * .../extension/~ (read by api_login, else here; Light group), whose
 * permissions.admin.enabled says whether the user is an admin:
 *  - an admin: the account's extension list (all pages, only those with
 *    status Enabled; Medium group), or, when that is forbidden (403, the
 *    app lacks ReadAccounts), just the own extension;
 *  - not an admin, or the answer does not say: just the own extension, since
 *    a non-admin's token gets 403 (CMN-419) on every other extension's
 *    messages (which is what made `rsync -a MOUNT/` fail).
 * `own` marks the own extension (at most one entry has it; an admin's list
 * may lack it if it is not Enabled).  An extension returned can still be
 * refused later (permissions change): api_ext_reach then says so.
 * Returns 0 with a malloc'd array in *out (caller frees; never NULL on
 * success, possibly empty) and *n, or -errno (*out NULL, *n 0).
 */
int api_extensions(struct api *a, const struct api_call *c, struct api_ext **out, size_t *n);

enum api_reach {
    API_REACH_UNKNOWN,   /* not asked about yet (or only with answers that do not tell) */
    API_REACH_OK,        /* the last read of its messages was answered (2xx, 400, 404, 416) */
    API_REACH_FORBIDDEN, /* the last read of its messages was answered 403 */
};

/*
 * What the server last said about reading extension ext_id's messages: any
 * GET on its message store, message sync or content counts (api_list,
 * api_get, api_sync, api_fetch, a DELETE's state check); 401, 429, 5xx and
 * transport failures tell nothing and leave it as it was, and so do changes
 * (PUT, PATCH, DELETE), whose 403 may only mean EditMessages is missing.
 * So a caller that got -EACCES from such a call on ext_id can tell "these
 * credentials may not read this extension" (API_REACH_FORBIDDEN) from a
 * session that could not be renewed.  Costs no request; thread-safe.
 */
enum api_reach api_ext_reach(struct api *a, uint64_t ext_id);

/*
 * Called once per record parsed from a response, in server order.  The
 * callee may take ownership of any pointer in *r (set it to NULL); the rest
 * is freed by the caller after the callback returns.  Return 0 to go on, or
 * a -errno to stop (that value is then returned by the api call).
 */
typedef int (*api_rec_cb)(void *ctx, struct rec *r);

/*
 * Every message of one type in an extension, Alive and Deleted, of any age:
 * GET message-store?messageType=T&availability=Alive&availability=Deleted
 * &dateFrom=1970-01-01T00:00:00.000Z&perPage=1000, following navigation.nextPage.
 * An invalid record is logged and skipped (it does not fail the listing).
 * Returns 0 when every page was read, or -errno.
 */
int api_list(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_type type,
             api_rec_cb cb, void *ctx);

/* The most ids one batch GET carries (api_get splits longer lists). */
#define API_GET_MAX_IDS 30

/*
 * Fetch records by id (batch GET, at most API_GET_MAX_IDS ids per request).  Records come
 * through cb; an id the server does not have (404 in the 207, or the plain
 * 404 that answers a single id) is reported as a partial record with
 * availability REC_PURGED.  Both 207 forms are understood.  An id the answer
 * does not mention at all, or another per-id error, fails the call (-EIO, or
 * that item's errno) after the records that did come were delivered.
 */
int api_get(struct api *a, const struct api_call *c, uint64_t ext_id, const uint64_t *ids, size_t n,
            api_rec_cb cb, void *ctx);

/*
 * Set readStatus (PUT) and return the server's updated record in *out
 * (caller rec_free()s it).  Returns 0 or -errno; nothing changed on failure
 * as far as rcfs can know (PUT is idempotent and is retried).
 */
int api_set_read(struct api *a, const struct api_call *c, uint64_t ext_id, uint64_t msg_id,
                 enum rec_read rs, struct rec *out);

/* Restore a Deleted message (PATCH availability Alive); updated record in *out.
 * Retried like api_set_read (restoring twice is restoring once). */
int api_restore(struct api *a, const struct api_call *c, uint64_t ext_id, uint64_t msg_id,
                struct rec *out);

/*
 * DELETE one message.  purge: add purge=true.  from: the availability the
 * caller believes the message has now (ALIVE: one DELETE moves it to
 * Deleted; DELETED: one DELETE purges it).  A DELETE is never repeated
 * blindly: when its outcome is unknown (reset after sending, timeout, 5xx),
 * the message's state is read first and the DELETE is retried only if the
 * server did not act.  Returns 0 when the message reached the intended
 * state, or -errno.  A purge (purge, or from DELETED) of a message the server
 * no longer has (404) succeeds; moving to Deleted one that is gone is
 * -ENOENT.  Each DELETE goes on a new connection, so libcurl never resends
 * it by itself after finding a kept-alive connection dead.
 */
int api_delete(struct api *a, const struct api_call *c, uint64_t ext_id, uint64_t msg_id,
               bool purge, enum rec_avail from);

struct api_sync_result {
    char *token;              /* new syncToken (malloc'd; caller frees) */
    bool older_records_exist; /* syncInfo.olderRecordsExist */
    int64_t sync_time_ms;     /* syncInfo.syncTime (ms), 0 when absent or unparsable */
};

/*
 * Message sync.  token == NULL: FSync over the whole history
 * (dateFrom=1970-01-01T00:00:00.000Z, recordCount=record_count when > 0);
 * else ISync with that token.  Records (full, or partial tombstones for
 * Deleted/Purged) come through cb.  Returns 0 and fills *res; -ESTALE when
 * the token is invalid or expired (400 MSG-333 or CMN-101): the caller falls
 * back to FSync; other -errno.  The records are delivered only after the
 * answer's syncInfo was found valid; an invalid record is logged and skipped.
 */
int api_sync(struct api *a, const struct api_call *c, uint64_t ext_id, const char *token,
             int record_count, api_rec_cb cb, void *ctx, struct api_sync_result *res);

/* Where content goes, chunk by chunk (e.g. cobj_write).  Return 0 or -errno to abort. */
typedef int (*api_sink_fn)(void *ctx, const void *p, size_t n);

struct api_content {
    const char *uri;         /* the attachment's uri as the server sent it */
    const char *expect_type; /* the attachment's contentType; a response of another
                                type (e.g. a 200 JSON error body) is an error */
    int64_t expect_size;     /* known size, or -1 */
    int64_t range_len;       /* > 0: ask only for the first range_len bytes */
    api_sink_fn sink;        /* receives the body */
    void *sink_ctx;
};

struct api_content_info {
    int64_t total_size; /* full content size (from Content-Length or Content-Range), -1 unknown */
    int64_t received;   /* bytes passed to the sink */
    bool complete;      /* received == total_size: the sink holds the whole content */
};

/*
 * Download an attachment (GET on its uri, rewritten with media_url when
 * configured), at most max_downloads at once across the client.  The body is
 * checked before it counts: status 200 (or 206 for a range), Content-Type
 * matching expect_type, a framed body (a Content-Length, or chunked encoding
 * that ended cleanly: a body that ends only where the connection closed
 * could be cut short, and is retried like a cut), length equal to
 * Content-Length and to expect_size when known.  On a retryable failure the sink has already seen
 * bytes: the retry starts over, so sinks must be resettable: the first call of each attempt is
 * preceded by sink(ctx, NULL, 0) meaning "start again". The bearer token is sent only to the
 * server's own origin, the media_url origin, over https a host with the server host's registrable
 * domain by the public suffix list (platform.ringcentral.com -> media.ringcentral.com;
 * x.example.co.uk -> y.example.co.uk but never other.co.uk; a server given
 * by IP address: its origin only), or, with a loopback server, a loopback
 * host; any other uri is refused (-EIO) before anything is sent.
 * A 200 JSON answer carrying CMN-301 counts as a 429 for pacing (30 s
 * penalty when no Retry-After).  On failure info->received says how many
 * bytes the sink saw in the last attempt.
 * Returns 0 and fills *info, or -errno (-EIO for a failed check).
 */
int api_fetch(struct api *a, const struct api_call *c, const struct api_content *req,
              struct api_content_info *info);

/* Counters for logs and the benchmark. */
struct api_stats {
    uint64_t requests;     /* HTTP requests sent (attempts that may have reached the server) */
    uint64_t retries;      /* of which retries */
    uint64_t rate_limited; /* 429 answers */
    uint64_t refreshes;    /* token refreshes (and JWT grants after the first) */
};
void api_get_stats(struct api *a, struct api_stats *out);

#endif

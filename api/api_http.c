/* api_http — one HTTP exchange over libcurl (see api_http.h). */
#include "api/api_http.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_err.h"
#include "api/api_secret.h"
#include "api/api_url.h"
#include "api/api_wire.h"
#include "config.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define HTTP_POOL_MAX 16

struct http {
    CURLSH *share;                                    /* connections, DNS, TLS sessions */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST]; /* one per shared kind */
    pthread_mutex_t pool_lock;                        /* guards pool and npool */
    CURL *pool[HTTP_POOL_MAX];                        /* idle easy handles */
    int npool;                                        /* how many */
    _Atomic int stopping;                             /* http_shutdown was called */
};

/* State of one transfer, seen by the callbacks. */
struct xfer {
    struct http *h;            /* the transport (its stop flag) */
    const struct http_req *rq; /* the request */
    struct http_resp *rs;      /* its answer */
    CURL *e;                   /* the easy handle */
    int mode;                  /* 0 undecided, 1 to the sink, 2 buffered */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc; /* curl_global_init's result, set once */

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *e, curl_lock_data d, curl_lock_access a, void *ctx)
{
    struct http *h = ctx;
    (void)e;
    (void)a;
    if ((unsigned)d < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&h->share_locks[d]);
}

static void share_unlock(CURL *e, curl_lock_data d, void *ctx)
{
    struct http *h = ctx;
    (void)e;
    if ((unsigned)d < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&h->share_locks[d]);
}

/* curl_share_setopt with its result checked: the first refusal is kept. */
#define SHARE_SETOPT(rc, name, sh, opt, val)                                                       \
    do {                                                                                           \
        CURLSHcode c_ = curl_share_setopt((sh), opt, (val));                                       \
        if (c_ != CURLSHE_OK && (rc) == CURLSHE_OK) {                                              \
            (rc) = c_;                                                                             \
            (name) = #opt " " #val;                                                                \
        }                                                                                          \
    } while (0)

/* Set up the share handle: connections, DNS and TLS sessions, with locks. */
static CURLSHcode share_setup(struct http *h, const char **name)
{
    CURLSHcode rc = CURLSHE_OK;

    SHARE_SETOPT(rc, *name, h->share, CURLSHOPT_LOCKFUNC, share_lock);
    SHARE_SETOPT(rc, *name, h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    SHARE_SETOPT(rc, *name, h->share, CURLSHOPT_USERDATA, h);
    SHARE_SETOPT(rc, *name, h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    SHARE_SETOPT(rc, *name, h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    SHARE_SETOPT(rc, *name, h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return rc;
}

struct http *http_new(char *err, size_t errlen)
{
    struct http *h;
    const char *name = "";
    CURLSHcode rc;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl failed to initialise: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    h = mem_calloc(1, sizeof(*h));
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->share_locks[i], NULL);
    pthread_mutex_init(&h->pool_lock, NULL);
    h->share = curl_share_init();
    if (!h->share)
        abort(); /* only fails when out of memory: the OOM policy */
    rc = share_setup(h, &name);
    if (rc != CURLSHE_OK) {
        snprintf(err, errlen, "libcurl refused %s: %s", name, curl_share_strerror(rc));
        http_free(h);
        return NULL;
    }
    return h;
}

void http_free(struct http *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->npool; i++)
        curl_easy_cleanup(h->pool[i]);
    curl_share_cleanup(h->share);
    pthread_mutex_destroy(&h->pool_lock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->share_locks[i]);
    free(h);
}

static CURL *easy_take(struct http *h)
{
    CURL *e = NULL;

    pthread_mutex_lock(&h->pool_lock);
    if (h->npool > 0)
        e = h->pool[--h->npool];
    pthread_mutex_unlock(&h->pool_lock);
    if (!e)
        e = curl_easy_init();
    if (!e)
        abort(); /* only fails when out of memory: the OOM policy */
    return e;
}

static void easy_give(struct http *h, CURL *e)
{
    curl_easy_reset(e);
    pthread_mutex_lock(&h->pool_lock);
    if (h->npool < HTTP_POOL_MAX) {
        h->pool[h->npool++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&h->pool_lock);
    if (e)
        curl_easy_cleanup(e);
}

void http_resp_init(struct http_resp *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->content_length = rs->range_start = rs->range_end = rs->range_total = -1;
    rs->retry_after_s = -1;
    rs->rl_limit = rs->rl_remaining = rs->rl_window_s = -1;
    buf_init(&rs->body, 0);
}

void http_resp_free(struct http_resp *rs)
{
    if (rs->secret)
        secret_buf_free(&rs->body);
    else
        buf_free(&rs->body);
}

static bool content_acceptable(const struct http_req *rq, long status, const char *ct)
{
    if (!(status == 200 || (rq->range && status == 206)))
        return false;
    if (rq->expect_type && *rq->expect_type)
        return wire_media_type_eq(ct, rq->expect_type);
    return ct && !wire_media_type_is_json(ct);
}

/* Decide, once the headers are in, where the body goes. */
static void decide(struct xfer *x)
{
    long status = 0;
    char *ct = NULL;

    if (x->mode)
        return;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->e, CURLINFO_CONTENT_TYPE, &ct);
    if (x->rq->sink && content_acceptable(x->rq, status, ct)) {
        x->mode = 1;
        x->rs->streamed = true;
        return;
    }
    x->mode = 2;
    if (x->rq->sink) {
        x->rs->body.max = HTTP_ERR_BODY_MAX;
        x->rs->type_mismatch = status >= 200 && status <= 299;
    } else {
        x->rs->body.max = x->rq->max_body ? x->rq->max_body : HTTP_ERR_BODY_MAX;
    }
}

/* The request body, from a streamed reader (http_req.body_read). */
static size_t on_read(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct xfer *x = ctx;
    ssize_t n = x->rq->body_read(x->rq->body_ctx, p, size * nmemb);

    if (n < 0) {
        x->rs->sink_rc = (int)n;
        return CURL_READFUNC_ABORT;
    }
    return (size_t)n;
}

/* libcurl wants the body again from its start (only offset 0 is offered). */
static int on_seek(void *ctx, curl_off_t offset, int origin)
{
    struct xfer *x = ctx;

    if (offset != 0 || origin != SEEK_SET || x->rq->body_rewind(x->rq->body_ctx) != 0)
        return CURL_SEEKFUNC_CANTSEEK;
    return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct xfer *x = ctx;
    size_t n = size * nmemb;

    decide(x);
    if (x->mode == 1) {
        int rc = x->rq->sink(x->rq->sink_ctx, p, n);
        if (rc != 0) {
            x->rs->sink_rc = rc < 0 ? rc : -EIO;
            return 0;
        }
    } else if ((x->rq->secret ? secret_buf_append(&x->rs->body, p, n)
                              : buf_append(&x->rs->body, p, n)) != 0) {
        x->rs->too_big = true;
        return 0;
    }
    x->rs->received += (int64_t)n;
    return n;
}

/* Value of a response header of the last request, or NULL. */
static const char *header(CURL *e, const char *name)
{
    struct curl_header *hd = NULL;

    if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd)
        return NULL;
    return hd->value;
}

static long header_long(CURL *e, const char *name)
{
    const char *v = header(e, name);
    char *end;
    long n;

    if (!v)
        return -1;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || n < 0)
        return -1;
    return n;
}

static void collect(CURL *e, struct http_resp *rs)
{
    char *ct = NULL;
    const char *v;
    curl_off_t cl = -1;

    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rs->status);
    curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(rs->content_type, sizeof(rs->content_type), "%s", ct);
    if (curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
        rs->content_length = cl;
    if (rs->status == 0)
        return;
    wire_content_range(header(e, "Content-Range"), &rs->range_start, &rs->range_end,
                       &rs->range_total);
    rs->retry_after_s = wire_retry_after(header(e, "Retry-After"));
    v = header(e, "X-Rate-Limit-Group");
    if (v)
        snprintf(rs->rl_group, sizeof(rs->rl_group), "%s", v);
    rs->rl_limit = header_long(e, "X-Rate-Limit-Limit");
    rs->rl_remaining = header_long(e, "X-Rate-Limit-Remaining");
    rs->rl_window_s = header_long(e, "X-Rate-Limit-Window");
}

/* True unless a 2xx answer that should have a body ended only because the
 * connection closed: without a Content-Length or chunked encoding, a body
 * cut short looks complete (HTTP/1.1 allows such answers; the API never
 * sends them).  A chunked body ended cleanly, or libcurl would have failed. */
static bool framed(CURL *e, const struct http_resp *rs)
{
    const char *te;

    if (rs->status < 200 || rs->status > 299 || rs->status == 204 || rs->content_length >= 0)
        return true;
    te = header(e, "Transfer-Encoding");
    return te && strcasestr(te, "chunked") != NULL;
}

/* Free a header list whose strings may hold a secret, wiping them first. */
static void slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *i = l; i; i = i->next)
        explicit_bzero(i->data, strlen(i->data));
    curl_slist_free_all(l);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
    char *line = secret_join(name, ": ", value, (char *)NULL); /* value may be a secret */
    struct curl_slist *n = curl_slist_append(l, line);

    secret_free(line);
    if (!n)
        abort(); /* only fails when out of memory: the OOM policy */
    return n;
}

void http_shutdown(struct http *h)
{
    atomic_store(&h->stopping, 1);
}

bool http_stopping(struct http *h)
{
    return atomic_load(&h->stopping) != 0;
}

/* True when this exchange must end now (client shutdown, or its caller's cancel flag). */
static bool cancelled(struct http *h, const struct http_req *rq)
{
    return http_stopping(h) || (rq->cancel && atomic_load(rq->cancel));
}

/* libcurl asks this during transfers (at least about once a second): a
 * non-zero answer aborts the transfer. */
static int xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
    struct xfer *x = p;

    return cancelled(x->h, x->rq) ? 1 : 0;
}

/* The first setopt that libcurl refused: nothing is sent after one. */
struct setopt_res {
    CURLcode cc;      /* CURLE_OK, or the first refusal */
    const char *name; /* the option refused ("CURLOPT_URL"), NULL when none */
};

static void setopt_check(struct setopt_res *st, const char *name, CURLcode cc)
{
    if (cc != CURLE_OK && st->cc == CURLE_OK) {
        st->cc = cc;
        st->name = name;
    }
}

/* curl_easy_setopt with its result recorded in st. */
#define SETOPT(st, e, opt, val) setopt_check((st), #opt, curl_easy_setopt((e), opt, (val)))

/* A body streamed from rq->body_read (e.g. a fax document). */
static void setup_reader(struct setopt_res *st, CURL *e, const struct http_req *rq, struct xfer *x)
{
    SETOPT(st, e, CURLOPT_POST, 1L);
    SETOPT(st, e, CURLOPT_READFUNCTION, on_read);
    SETOPT(st, e, CURLOPT_READDATA, x);
    SETOPT(st, e, CURLOPT_SEEKFUNCTION, on_seek);
    SETOPT(st, e, CURLOPT_SEEKDATA, x);
    SETOPT(st, e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
}

/* The method and body of rq. */
static void setup_method(struct setopt_res *st, CURL *e, const struct http_req *rq, struct xfer *x)
{
    if (strcmp(rq->method, "GET") == 0) {
        SETOPT(st, e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (rq->body_read) {
        setup_reader(st, e, rq, x);
    } else if (rq->body) {
        SETOPT(st, e, CURLOPT_POSTFIELDS, rq->body);
        SETOPT(st, e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(rq->method, "POST") != 0)
        SETOPT(st, e, CURLOPT_CUSTOMREQUEST, rq->method);
    else if (!rq->body && !rq->body_read) /* an empty POST (POSTFIELDSIZE alone leaves a GET) */
        SETOPT(st, e, CURLOPT_POSTFIELDS, "");
}

/* Every option of one exchange.  Returns CURLE_OK, or the first refusal
 * (then *name says which option). */
static CURLcode setup(struct http *h, CURL *e, const struct http_req *rq, struct xfer *x,
                      struct curl_slist *hdrs, int64_t left_ms, char *errbuf, const char **name)
{
    struct setopt_res st = {CURLE_OK, NULL};
    char *host = url_host(rq->url);

    SETOPT(&st, e, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(&st, e, CURLOPT_SHARE, h->share);
    SETOPT(&st, e, CURLOPT_URL, rq->url);
    SETOPT(&st, e, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(&st, e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(&st, e, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(&st, e, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(&st, e, CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(&st, e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(&st, e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(&st, e, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(&st, e, CURLOPT_TIMEOUT_MS, (long)left_ms);
    SETOPT(&st, e, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
    SETOPT(&st, e, CURLOPT_USERAGENT, "rcfs/" RCFS_VERSION);
    SETOPT(&st, e, CURLOPT_NOPROGRESS, 0L);
    SETOPT(&st, e, CURLOPT_XFERINFOFUNCTION, xferinfo);
    SETOPT(&st, e, CURLOPT_XFERINFODATA, x);
    SETOPT(&st, e, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(&st, e, CURLOPT_WRITEDATA, x);
    SETOPT(&st, e, CURLOPT_HTTPHEADER, hdrs);
    if (rq->fresh_connect)
        SETOPT(&st, e, CURLOPT_FRESH_CONNECT, 1L);
    if (rq->compress)
        SETOPT(&st, e, CURLOPT_ACCEPT_ENCODING, "");
    if (host && url_host_is_loopback(host))
        SETOPT(&st, e, CURLOPT_PROXY, ""); /* never send loopback traffic to a proxy */
    free(host);
    setup_method(&st, e, rq, x);
    *name = st.name;
    return st.cc;
}

/* The request's header lines (values may be secrets: slist_wipe_free them). */
static struct curl_slist *request_headers(const struct http_req *rq)
{
    struct curl_slist *hdrs = NULL;

    hdrs = add_header(hdrs, "Accept", rq->accept ? rq->accept : "application/json");
    if (rq->authorization)
        hdrs = add_header(hdrs, "Authorization", rq->authorization);
    if ((rq->body || rq->body_read) && rq->content_type)
        hdrs = add_header(hdrs, "Content-Type", rq->content_type);
    if (rq->range)
        hdrs = add_header(hdrs, "Range", rq->range);
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (!hdrs)
        abort(); /* only fails when out of memory: the OOM policy */
    return hdrs;
}

/* After curl_easy_perform: what the answer says, and whether it counts. */
static void finish(CURL *e, struct xfer *x, const char *errbuf)
{
    struct http_resp *rs = x->rs;
    curl_off_t pre = 0;

    decide(x); /* a body-less answer still needs its verdict */
    if (rs->cc != CURLE_OK)
        snprintf(rs->cc_msg, sizeof(rs->cc_msg), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rs->cc));
    collect(e, rs);
    if (rs->cc == CURLE_OK && !framed(e, rs)) {
        /* ended by the connection closing: a cut would look the same */
        rs->cc = CURLE_PARTIAL_FILE;
        snprintf(rs->cc_msg, sizeof(rs->cc_msg),
                 "a %ld answer without Content-Length or chunked encoding (its end cannot be "
                 "told from a cut)",
                 rs->status);
    }
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
    rs->sent = rs->cc == CURLE_OK || (errmap_errno(rs->cc, 0, NULL, 0) != -EHOSTUNREACH && pre > 0);
    if (rs->body.len && (rs->status >= 300 || rs->type_mismatch))
        wire_error_code(rs->content_type, rs->body.data, rs->body.len, rs->error_code,
                        sizeof(rs->error_code));
}

/* Before anything is sent: the deadline, a shutdown or cancel, the sink's
 * and the body reader's restart. */
static int precheck(struct http *h, const struct http_req *rq, int64_t left, struct http_resp *rs)
{
    int rc;

    if (left <= 0 || cancelled(h, rq)) {
        rs->cc = cancelled(h, rq) ? CURLE_ABORTED_BY_CALLBACK : CURLE_OPERATION_TIMEDOUT;
        return -EIO;
    }
    if (rq->body_read) {
        rc = rq->body_rewind(rq->body_ctx);
        if (rc != 0) {
            rs->sink_rc = rc < 0 ? rc : -EIO;
            rs->cc = CURLE_READ_ERROR;
            return rs->sink_rc;
        }
    }
    if (rq->sink) {
        rc = rq->sink(rq->sink_ctx, NULL, 0);
        if (rc != 0) {
            rs->sink_rc = rc < 0 ? rc : -EIO;
            rs->cc = CURLE_WRITE_ERROR;
            return rs->sink_rc;
        }
    }
    return 0;
}

int http_perform(struct http *h, const struct http_req *rq, int64_t deadline_ms,
                 struct http_resp *rs)
{
    struct xfer x = {.h = h, .rq = rq, .rs = rs};
    char errbuf[CURL_ERROR_SIZE] = "";
    int64_t start = isotime_mono_ms(), left = deadline_ms - start;
    struct curl_slist *hdrs;
    const char *refused = NULL;
    int rc;

    http_resp_free(rs);
    http_resp_init(rs);
    rs->secret = rq->secret;
    rs->body.max = rq->max_body ? rq->max_body : HTTP_ERR_BODY_MAX;
    rc = precheck(h, rq, left, rs);
    if (rc != 0)
        return rc;
    x.e = easy_take(h);
    hdrs = request_headers(rq);
    rs->cc = setup(h, x.e, rq, &x, hdrs, left, errbuf, &refused);
    if (rs->cc == CURLE_OK) {
        rs->cc = curl_easy_perform(x.e);
        finish(x.e, &x, errbuf);
    } else {
        /* never send a request set up only in part (a TLS or protocol
         * restriction may be the part missing) */
        snprintf(rs->cc_msg, sizeof(rs->cc_msg), "libcurl refused %s: %s", refused,
                 curl_easy_strerror(rs->cc));
        log_warn("request not sent: %s", rs->cc_msg);
    }
    rs->elapsed_ms = isotime_mono_ms() - start;
    slist_wipe_free(hdrs);
    easy_give(h, x.e);
    if (rs->sink_rc)
        return rs->sink_rc;
    if (rs->too_big)
        return -EIO;
    return errmap_errno(rs->cc, 200, NULL, 0);
}

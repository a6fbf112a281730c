/*
 * api_ws — the WebSocket notifier: thread, connection attempts, WS token,
 * backoff (see api_ws.h).  The protocol on a live connection (messages,
 * subscription, heartbeats) is api_ws_conn.c; the shared state api_ws_priv.h.
 */
#include "api/api_ws.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_err.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_url.h"
#include "api/api_ws_priv.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define TOKEN_CALL_MS  30000 /* bound of one wstoken request */
#define MAX_EXTENSIONS 500
#define DEFAULT_MIN_MS 1000
#define DEFAULT_MAX_MS 60000
#define DEFAULT_UNAV_S 3600

const char *api_ws_state_name(enum api_ws_state st)
{
    switch (st) {
    case API_WS_SUBSCRIBED:
        return "SUBSCRIBED";
    case API_WS_RECOVERED:
        return "RECOVERED";
    case API_WS_DOWN:
        return "DOWN";
    case API_WS_UNAVAILABLE:
        return "UNAVAILABLE";
    }
    return "?";
}

int api_ws_new(struct api *a, const struct api_ws_opts *o, struct api_ws **out)
{
    struct api_ws *w;

    *out = NULL;
    if (!o->n_ext || o->n_ext > MAX_EXTENSIONS || !o->ext_ids || !o->on_event || !o->on_state)
        return -EINVAL;
    w = mem_calloc(1, sizeof(*w));
    w->api = a;
    w->o = *o;
    w->ext_ids = mem_reallocarray(NULL, o->n_ext, sizeof(*w->ext_ids));
    memcpy(w->ext_ids, o->ext_ids, o->n_ext * sizeof(*w->ext_ids));
    w->o.ext_ids = w->ext_ids;
    w->min_ms = o->backoff_min_ms > 0 ? o->backoff_min_ms : DEFAULT_MIN_MS;
    w->max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : DEFAULT_MAX_MS;
    if (w->max_ms < w->min_ms)
        w->max_ms = w->min_ms;
    w->unavailable_ms = o->unavailable_retry_s == 0  ? (int64_t)DEFAULT_UNAV_S * 1000
                        : o->unavailable_retry_s < 0 ? -1
                                                     : (int64_t)o->unavailable_retry_s * 1000;
    w->rng = (uint64_t)isotime_now_ms() ^ (uint64_t)(uintptr_t)w;
    w->recovery_timeout_s = 180;
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->stats_lock, NULL);
    pthread_mutex_init(&w->ctx_lock, NULL);
    buf_init(&w->rx, WSMSG_MAX);
    *out = w;
    return 0;
}

uint64_t ws_random(struct api_ws *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ws_report(struct api_ws *w, enum api_ws_state st)
{
    bool repeat = w->reported_any && w->reported == st;

    /* SUBSCRIBED and RECOVERED are events (each asks something of the caller); DOWN and
     * UNAVAILABLE are levels, told once. */
    if (repeat && (st == API_WS_DOWN || st == API_WS_UNAVAILABLE))
        return;
    w->reported = st;
    w->reported_any = true;
    log_info("push notifications: %s", api_ws_state_name(st));
    w->o.on_state(w->o.ctx, st);
}

void ws_schedule_retry(struct api_ws *w, bool unavailable)
{
    int64_t cap, delay;

    if (unavailable) {
        ws_report(w, API_WS_UNAVAILABLE);
        w->next_attempt_ms =
            w->unavailable_ms < 0 ? INT64_MAX : isotime_mono_ms() + w->unavailable_ms;
        w->attempt = 0;
        return;
    }
    ws_report(w, API_WS_DOWN);
    cap = w->attempt >= 30 ? w->max_ms : (int64_t)w->min_ms << w->attempt;
    if (cap > w->max_ms)
        cap = w->max_ms;
    delay = (int64_t)(ws_random(w) % (uint64_t)(cap + 1)); /* full jitter */
    if (w->attempt < 30)
        w->attempt++;
    w->next_attempt_ms = isotime_mono_ms() + delay;
    log_debug("push notifications: next attempt in %lld ms", (long long)delay);
}

/* The wstoken answer's uri, checked: wss://, or ws:// to a loopback host. */
static int parse_ws_uri(const char *uri, struct ws_target *t)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int rc = -EINVAL;

    if (!u || curl_url_set(u, CURLUPART_URL, uri, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto out;
    t->tls = strcmp(scheme, "wss") == 0;
    if (!t->tls && (strcmp(scheme, "ws") != 0 || !url_host_is_loopback(host)))
        goto out;
    t->port = t->tls ? 443 : 80;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        t->port = atoi(port);
    if (t->port <= 0 || t->port > 65535 || strlen(host) >= sizeof(t->host) ||
        strlen(path) >= sizeof(t->path))
        goto out;
    /* lws wants the bare address; an IPv6 host comes in brackets */
    snprintf(t->host, sizeof(t->host), "%.*s", (int)strlen(host) - (host[0] == '[' ? 2 : 0),
             host + (host[0] == '['));
    snprintf(t->path, sizeof(t->path), "%s", path);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/*
 * POST /restapi/oauth/wstoken.  Returns 0 with *token (a malloc'd secret) and
 * the checked target, -EPERM when push is not offered (403), else -errno.
 */
static int get_ws_token(struct api_ws *w, struct ws_target *t, char **token)
{
    char *url = mem_printf("%s/restapi/oauth/wstoken", w->api->server);
    struct exec_req rq = {
        .http = {.method = "POST", .url = url, .max_body = 64 * 1024, .cancel = &w->stop},
        .group = PACE_AUTH,
        .idempotent = true, /* a token nobody used is harmless */
        .want_json = true,
    };
    struct exec_res res;
    struct json_object *uri, *tok;
    int rc;

    exec_res_init(&res);
    rc = req_run(w->api, isotime_mono_ms() + TOKEN_CALL_MS, API_PRIO_BACKGROUND, &rq, &res);
    free(url);
    if (rc != 0) {
        if (res.http.status == 403)
            rc = -EPERM;
        if (atomic_load(&w->stop))
            ; /* stopping: the request was cancelled on purpose */
        else if (res.http.status)
            log_warn("push notifications: no WebSocket token (HTTP %ld %s)", res.http.status,
                     res.http.error_code);
        else
            log_warn("push notifications: no WebSocket token (%s)", errmap_name(rc));
    } else if (!json_object_object_get_ex(res.json, "uri", &uri) ||
               !json_object_object_get_ex(res.json, "ws_access_token", &tok) ||
               !json_object_is_type(uri, json_type_string) ||
               !json_object_is_type(tok, json_type_string) ||
               json_object_get_string_len(tok) == 0 ||
               parse_ws_uri(json_object_get_string(uri), t) != 0) {
        log_warn("push notifications: the WebSocket token answer is unusable "
                 "(no token, or a uri that is not wss://, or ws:// to another host)");
        rc = -EIO;
    } else {
        *token = mem_strdup(json_object_get_string(tok));
        ws_stat(w, &w->stats.wstokens);
    }
    if (res.json && json_object_object_get_ex(res.json, "ws_access_token", &tok) &&
        json_object_is_type(tok, json_type_string))
        explicit_bzero((char *)json_object_get_string(tok), json_object_get_string_len(tok));
    if (res.http.body.data) /* the answer holds the WS token: wipe it */
        explicit_bzero(res.http.body.data, res.http.body.len);
    exec_res_free(&res);
    return rc;
}

/* One connection attempt: token, then the upgrade (its result comes by callback). */
static void attempt(struct api_ws *w)
{
    struct ws_target t;
    char *token = NULL, *etok, *ewsc = NULL, *path;
    bool recover;
    int rc = get_ws_token(w, &t, &token);

    if (atomic_load(&w->stop)) {
        wipe_free(token);
        return;
    }
    if (rc != 0) {
        ws_schedule_retry(w, rc == -EPERM);
        return;
    }
    recover = w->wsc && w->have_session &&
              isotime_mono_ms() - w->down_since_ms < (int64_t)w->recovery_timeout_s * 1000;
    etok = url_escape(token);
    wipe_free(token);
    if (recover)
        ewsc = url_escape(w->wsc);
    path = mem_printf("%s?access_token=%s%s%s", t.path[0] ? t.path : "/", etok,
                      recover ? "&wsc=" : "", recover ? ewsc : "");
    wipe_free(etok);
    wipe_free(ewsc);
    w->recovering = recover;
    rc = ws_conn_open(w, &t, path);
    wipe_free(path);
    if (rc != 0)
        ws_schedule_retry(w, false);
}

static void *ws_main(void *arg)
{
    struct api_ws *w = arg;

    while (!atomic_load(&w->stop)) {
        if (!w->wsi && isotime_mono_ms() >= w->next_attempt_ms)
            attempt(w);
        if (atomic_load(&w->stop))
            break;
        lws_service(w->ctx, 0); /* returns at least every tick (ws_conn.c) */
    }
    ws_conn_close_now(w);
    return NULL;
}

int api_ws_start(struct api_ws *w)
{
    int rc;

    if (w->started)
        return -EALREADY;
    rc = ws_conn_context(w);
    if (rc != 0)
        return rc;
    rc = -pthread_create(&w->thread, NULL, ws_main, w);
    if (rc != 0) {
        ws_conn_context_free(w);
        return rc;
    }
    w->started = true;
    return 0;
}

void api_ws_stop(struct api_ws *w)
{
    if (!w || !w->started || w->joined)
        return;
    atomic_store(&w->stop, true);
    pthread_mutex_lock(&w->ctx_lock);
    if (w->ctx)
        lws_cancel_service(w->ctx);
    pthread_mutex_unlock(&w->ctx_lock);
    pthread_join(w->thread, NULL);
    w->joined = true;
    ws_conn_context_free(w);
}

void api_ws_free(struct api_ws *w)
{
    if (!w)
        return;
    api_ws_stop(w);
    wipe_free(w->wsc);
    buf_free(&w->rx);
    ws_outq_clear(w);
    pthread_mutex_destroy(&w->stats_lock);
    pthread_mutex_destroy(&w->ctx_lock);
    free(w->ext_ids);
    free(w);
}

void ws_stat(struct api_ws *w, uint64_t *counter)
{
    pthread_mutex_lock(&w->stats_lock);
    (*counter)++;
    pthread_mutex_unlock(&w->stats_lock);
}

void api_ws_get_stats(struct api_ws *w, struct api_ws_stats *out)
{
    pthread_mutex_lock(&w->stats_lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->stats_lock);
}

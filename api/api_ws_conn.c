/*
 * api_ws_conn — one WebSocket connection of the notifier, on libwebsockets:
 * the context and its tick, the upgrade, message reassembly, the protocol
 * (ConnectionDetails, subscription, notifications, Heartbeats, Errors) and
 * the deadlines of each phase (see api_ws.h, api_ws_priv.h).  Runs on the WS
 * thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_ws_priv.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define TICK_US     (200 * LWS_US_PER_MS)
#define PHASE_MS    30000  /* upgrade + ConnectionDetails, or the subscription answer */
#define HB_REPLY_MS 10000  /* a Heartbeat unanswered this long: the connection is dead */
#define HB_QUIET_MS 60000  /* nothing received this long: send a Heartbeat */
#define HB_MAX_MS   600000 /* at least one Heartbeat every 10 minutes */
#define HB_MIN_MS   200

/* Close the connection soon (from outside a callback of it); `lost` follows. */
static void kill_conn(struct api_ws *w, const char *why)
{
    if (!w->wsi)
        return;
    log_info("push notifications: closing the connection: %s", why);
    lws_set_timeout(w->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void enqueue(struct api_ws *w, char *text)
{
    size_t n = strlen(text);
    struct ws_out *o = mem_alloc(sizeof(*o) + LWS_PRE + n + 1);

    o->next = NULL;
    o->len = n;
    memcpy(o->text + LWS_PRE, text, n + 1);
    free(text);
    if (w->out_tail)
        w->out_tail->next = o;
    else
        w->out_head = o;
    w->out_tail = o;
    w->last_sent_ms = isotime_mono_ms();
    if (w->wsi)
        lws_callback_on_writable(w->wsi);
}

void ws_outq_clear(struct api_ws *w)
{
    while (w->out_head) {
        struct ws_out *o = w->out_head;
        w->out_head = o->next;
        free(o);
    }
    w->out_tail = NULL;
}

static int write_one(struct api_ws *w, struct lws *wsi)
{
    struct ws_out *o = w->out_head;
    int n;

    if (!o)
        return 0;
    n = lws_write(wsi, (unsigned char *)o->text + LWS_PRE, o->len, LWS_WRITE_TEXT);
    w->out_head = o->next;
    if (!w->out_head)
        w->out_tail = NULL;
    free(o);
    if (n < 0)
        return -1;
    if (w->out_head)
        lws_callback_on_writable(wsi);
    return 0;
}

static void new_message_id(struct api_ws *w, char *out, size_t n)
{
    uint64_t a = ws_random(w), b = ws_random(w);

    snprintf(out, n, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffULL));
}

/* Keep the newest wsc: always the one of a ConnectionDetails, else a higher sequence. */
static void take_wsc(struct api_ws *w, struct wsmsg *m, bool details)
{
    if (!m->wsc_token || (!details && w->wsc && m->wsc_sequence <= w->wsc_seq))
        return;
    if (w->wsc) {
        explicit_bzero(w->wsc, strlen(w->wsc));
        free(w->wsc);
    }
    w->wsc = m->wsc_token;
    m->wsc_token = NULL;
    w->wsc_seq = m->wsc_sequence;
}

static void went_up(struct api_ws *w, enum api_ws_state st)
{
    w->phase = WS_UP;
    w->have_session = true;
    w->attempt = 0;
    w->down_since_ms = 0;
    ws_report(w, st);
}

static void on_details(struct api_ws *w, struct wsmsg *m)
{
    take_wsc(w, m, true);
    if (m->recovery_timeout_s > 0)
        w->recovery_timeout_s = m->recovery_timeout_s;
    w->idle_timeout_s = m->idle_timeout_s;
    ws_stat(w, &w->stats.connects);
    if (w->recovering && m->recovery == WSMSG_RECOVERY_OK) {
        ws_stat(w, &w->stats.recovered);
        went_up(w, API_WS_RECOVERED);
        return;
    }
    if (w->recovering)
        log_info("push notifications: session recovery failed (%s): subscribing again",
                 m->recovery_error[0] ? m->recovery_error : "no code");
    w->have_session = false;
    w->sub_id[0] = '\0';
    new_message_id(w, w->sub_msgid, sizeof(w->sub_msgid));
    enqueue(w, wsmsg_subscribe(w->sub_msgid, w->o.ext_ids, w->o.n_ext, w->o.instant_sms));
    w->phase = WS_SUBSCRIBE;
    w->phase_deadline_ms = isotime_mono_ms() + PHASE_MS;
}

static void on_answer(struct api_ws *w, struct wsmsg *m)
{
    if (w->phase != WS_SUBSCRIBE || strcmp(m->message_id, w->sub_msgid) != 0)
        return;
    if (m->status >= 200 && m->status <= 299 && m->subscription_id[0]) {
        snprintf(w->sub_id, sizeof(w->sub_id), "%s", m->subscription_id);
        ws_stat(w, &w->stats.subscribed);
        went_up(w, API_WS_SUBSCRIBED);
        return;
    }
    log_warn("push notifications: subscription refused (HTTP %d %s)", m->status, m->error_code);
    w->refused = m->status >= 400 && m->status <= 499;
    kill_conn(w, "no subscription");
}

static void on_note(struct api_ws *w, struct wsmsg *m)
{
    struct api_ws_event ev;

    take_wsc(w, m, false);
    if (w->phase != WS_UP || strcmp(m->note_subscription, w->sub_id) != 0)
        return; /* another subscription's (e.g. one we replaced) */
    ev = (struct api_ws_event){.ext_id = m->ext_id,
                               .new_ids = m->ids,
                               .n_new = m->n_ids,
                               .n_updated = m->n_updated,
                               .instant = m->instant};
    ws_stat(w, &w->stats.events);
    w->o.on_event(w->o.ctx, &ev);
}

static void on_text(struct api_ws *w, const char *text, size_t len)
{
    struct wsmsg m;

    if (wsmsg_parse(text, len, &m) != 0) {
        log_warn("push notifications: a message that is not [meta, body] JSON (%zu bytes)", len);
        return;
    }
    w->hb_deadline_ms = 0; /* any message shows the connection is alive */
    switch (m.type) {
    case WSMSG_CONNECTION_DETAILS:
        if (w->phase == WS_OPENING)
            on_details(w, &m);
        break;
    case WSMSG_CLIENT_REQUEST:
        on_answer(w, &m);
        break;
    case WSMSG_NOTIFICATION:
        on_note(w, &m);
        break;
    case WSMSG_ERROR:
        log_info("push notifications: server error %s", m.error_code[0] ? m.error_code : "?");
        break;
    default:
        break;
    }
    wsmsg_free(&m);
}

static void on_receive(struct api_ws *w, struct lws *wsi, const void *in, size_t len)
{
    w->last_recv_ms = isotime_mono_ms();
    if (!w->rx_overflow && buf_append(&w->rx, in, len) != 0) {
        w->rx_overflow = true;
        buf_reset(&w->rx);
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return;
    if (w->rx_overflow)
        log_warn("push notifications: a message over %d bytes dropped", WSMSG_MAX);
    else
        on_text(w, w->rx.data ? w->rx.data : "", w->rx.len);
    w->rx_overflow = false;
    buf_reset(&w->rx);
}

/* The connection ended or never came: tidy up and plan the next attempt. */
static void lost(struct api_ws *w, struct lws *wsi, const char *why)
{
    bool refused = w->refused;

    if ((w->wsi && wsi != w->wsi) || (!w->wsi && w->phase == WS_IDLE))
        return; /* a stale connection's, or told twice */
    if (w->phase == WS_UP)
        w->down_since_ms = isotime_mono_ms();
    w->wsi = NULL;
    w->phase = WS_IDLE;
    w->hb_deadline_ms = 0;
    w->refused = false;
    ws_outq_clear(w);
    buf_reset(&w->rx);
    if (atomic_load(&w->stop))
        return;
    log_info("push notifications: connection lost (%s)", why);
    ws_schedule_retry(w, refused);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct api_ws *w = lws_context_user(lws_get_context(wsi));

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        lost(w, wsi, in ? (const char *)in : "connection failed");
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        w->last_recv_ms = w->last_sent_ms = isotime_mono_ms();
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        on_receive(w, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        w->last_recv_ms = isotime_mono_ms();
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return write_one(w, wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
        lost(w, wsi, "closed");
        break;
    default:
        break;
    }
    return 0;
}

static void heartbeat(struct api_ws *w, int64_t now)
{
    int64_t every = w->idle_timeout_s > 0 ? (int64_t)w->idle_timeout_s * 1000 / 3 : HB_MAX_MS;
    char id[40];

    if (every > HB_MAX_MS)
        every = HB_MAX_MS;
    if (every < HB_MIN_MS)
        every = HB_MIN_MS;
    if (w->hb_deadline_ms || (now - w->last_sent_ms < every && now - w->last_recv_ms < HB_QUIET_MS))
        return;
    new_message_id(w, id, sizeof(id));
    enqueue(w, wsmsg_heartbeat(id));
    w->hb_deadline_ms = now + HB_REPLY_MS;
    ws_stat(w, &w->stats.heartbeats);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    struct api_ws *w = lws_container_of(sul, struct api_ws, tick);
    int64_t now = isotime_mono_ms();

    if (w->wsi && !atomic_load(&w->stop)) {
        if ((w->phase == WS_OPENING || w->phase == WS_SUBSCRIBE) && now > w->phase_deadline_ms)
            kill_conn(w, w->phase == WS_OPENING ? "no ConnectionDetails in time"
                                                : "no answer to the subscription request");
        else if (w->hb_deadline_ms && now > w->hb_deadline_ms)
            kill_conn(w, "no answer to a Heartbeat");
        else if (w->phase == WS_UP)
            heartbeat(w, now);
    }
    lws_sul_schedule(w->ctx, 0, &w->tick, on_tick, TICK_US);
}

static const struct lws_protocols protocols[] = {
    {"rcfs-push", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* libwebsockets' own log lines: debug only, with any token value cut out. */
static void lws_log(int level, const char *line)
{
    char copy[512], *p;

    snprintf(copy, sizeof(copy), "%s", line);
    for (const char *key = "access_token="; key; key = key[0] == 'a' ? "wsc=" : NULL)
        for (p = strstr(copy, key); p; p = strstr(p, key)) {
            p += strlen(key);
            for (char *q = p; *q && *q != '&' && *q != ' ' && *q != '\n'; q++)
                *q = '*';
        }
    copy[strcspn(copy, "\n")] = '\0';
    log_debug("libwebsockets: %s", copy);
}

int ws_conn_context(struct api_ws *w)
{
    struct lws_context_creation_info info;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.gid = -1;
    info.uid = -1;
    info.user = w;
    w->ctx = lws_create_context(&info);
    if (!w->ctx)
        return -ENOMEM;
    lws_sul_schedule(w->ctx, 0, &w->tick, on_tick, TICK_US);
    return 0;
}

void ws_conn_context_free(struct api_ws *w)
{
    pthread_mutex_lock(&w->ctx_lock);
    if (w->ctx)
        lws_context_destroy(w->ctx);
    w->ctx = NULL;
    pthread_mutex_unlock(&w->ctx_lock);
}

int ws_conn_open(struct api_ws *w, const struct ws_target *t, const char *path)
{
    struct lws_client_connect_info ci;
    char host_hdr[300];
    struct lws *wsi;

    memset(&ci, 0, sizeof(ci));
    snprintf(host_hdr, sizeof(host_hdr), strchr(t->host, ':') ? "[%s]:%d" : "%s:%d", t->host,
             t->port);
    ci.context = w->ctx;
    ci.address = t->host;
    ci.port = t->port;
    ci.path = path;
    ci.host = host_hdr;
    ci.origin = t->host;
    ci.ssl_connection = t->tls ? LCCSCF_USE_SSL : 0; /* never ALLOW_SELFSIGNED or SKIP_* */
    ci.local_protocol_name = protocols[0].name;
    w->phase = WS_OPENING;
    w->phase_deadline_ms = isotime_mono_ms() + PHASE_MS;
    w->wsi = NULL;
    wsi = lws_client_connect_via_info(&ci);
    if (w->phase == WS_IDLE)
        return 0; /* failed already, and `lost` planned the next attempt */
    if (!wsi) {
        w->phase = WS_IDLE;
        return -EIO;
    }
    w->wsi = wsi;
    return 0;
}

void ws_conn_close_now(struct api_ws *w)
{
    ws_conn_context_free(w); /* closes the connection; `lost` sees stop and stays quiet */
    w->wsi = NULL;
}

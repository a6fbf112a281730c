/* api_wsmsg — WebSocket gateway messages to and from JSON (see api_wsmsg.h). */
#include "api/api_wsmsg.h"
#include "api/api_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_http.h"
#include "util/mem.h"

/* A uint64 from a JSON integer or a decimal string (never through a double). */
static int get_u64(struct json_object *o, uint64_t *out)
{
    const char *s;
    char *end;

    if (json_object_is_type(o, json_type_int)) {
        int64_t v = json_object_get_int64(o);
        if (v > 0) {
            *out = (uint64_t)v;
            return 0;
        }
        *out = json_object_get_uint64(o);
        return *out > (uint64_t)INT64_MAX ? 0 : -EINVAL;
    }
    if (!json_object_is_type(o, json_type_string))
        return -EINVAL;
    s = json_object_get_string(o);
    if (*s < '0' || *s > '9' || strlen(s) > 20)
        return -EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno || *end) ? -EINVAL : 0;
}

static struct json_object *field(struct json_object *o, const char *name)
{
    struct json_object *v = NULL;

    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, name, &v))
        return NULL;
    return v;
}

/* Copy a string field into buf; "" when absent, not a string or too long. */
static void copy_str(struct json_object *o, const char *name, char *buf, size_t n)
{
    struct json_object *v = field(o, name);
    const char *s;

    buf[0] = '\0';
    if (!v || !json_object_is_type(v, json_type_string))
        return;
    s = json_object_get_string(v);
    if (strlen(s) < n)
        memcpy(buf, s, strlen(s) + 1);
}

static int get_int(struct json_object *o, const char *name)
{
    struct json_object *v = field(o, name);
    int64_t x;

    if (!v || !json_object_is_type(v, json_type_int))
        return 0;
    x = json_object_get_int64(v);
    return x < 0 ? 0 : x > 100000000 ? 100000000 : (int)x;
}

static enum wsmsg_type type_of(const char *t)
{
    static const struct {
        const char *name;
        enum wsmsg_type type;
    } map[] = {{"ConnectionDetails", WSMSG_CONNECTION_DETAILS},
               {"ClientRequest", WSMSG_CLIENT_REQUEST},
               {"ServerNotification", WSMSG_NOTIFICATION},
               {"Heartbeat", WSMSG_HEARTBEAT},
               {"Error", WSMSG_ERROR}};

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(t, map[i].name) == 0)
            return map[i].type;
    return WSMSG_OTHER;
}

static void push_id(struct wsmsg *m, uint64_t id, size_t *cap)
{
    if (m->n_ids >= WSMSG_MAX_IDS)
        return;
    if (m->n_ids == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        m->ids = mem_reallocarray(m->ids, *cap, sizeof(*m->ids));
    }
    m->ids[m->n_ids++] = id;
}

/* "/restapi/v1.0/account/A/extension/E/message-store..." -> E. */
static uint64_t ext_of_event(const char *event)
{
    const char *p = strstr(event, "/extension/");
    char *end;
    uint64_t v;

    if (!p)
        return 0;
    p += strlen("/extension/");
    if (*p < '0' || *p > '9')
        return 0;
    errno = 0;
    v = strtoull(p, &end, 10);
    return (errno || (*end != '/' && *end != '\0' && *end != '?')) ? 0 : v;
}

static void parse_notification(struct json_object *body, struct wsmsg *m)
{
    struct json_object *ev = field(body, "event"), *inner = field(body, "body"), *v;
    size_t cap = 0;
    uint64_t id;

    copy_str(body, "subscriptionId", m->note_subscription, sizeof(m->note_subscription));
    if (ev && json_object_is_type(ev, json_type_string)) {
        m->ext_id = ext_of_event(json_object_get_string(ev));
        m->instant = strstr(json_object_get_string(ev), "/message-store/instant") != NULL;
    }
    if (m->instant) {
        if ((v = field(inner, "id")) && get_u64(v, &id) == 0)
            push_id(m, id, &cap);
        return;
    }
    if ((v = field(inner, "extensionId")) && get_u64(v, &id) == 0)
        m->ext_id = id;
    v = field(inner, "changes");
    if (!v || !json_object_is_type(v, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        struct json_object *ch = json_object_array_get_idx(v, i), *ids = field(ch, "newMessageIds");

        m->n_updated += (size_t)get_int(ch, "updatedCount");
        if (!ids || !json_object_is_type(ids, json_type_array))
            continue;
        for (size_t k = 0; k < json_object_array_length(ids); k++)
            if (get_u64(json_object_array_get_idx(ids, k), &id) == 0)
                push_id(m, id, &cap);
    }
}

static void parse_meta(struct json_object *meta, struct wsmsg *m)
{
    struct json_object *t = field(meta, "type"), *wsc = field(meta, "wsc"), *v;

    m->type = t && json_object_is_type(t, json_type_string) ? type_of(json_object_get_string(t))
                                                            : WSMSG_OTHER;
    copy_str(meta, "messageId", m->message_id, sizeof(m->message_id));
    m->status = get_int(meta, "status");
    v = field(wsc, "token");
    if (v && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
        json_object_get_string_len(v) < 4096) {
        m->wsc_token = mem_strdup(json_object_get_string(v));
        v = field(wsc, "sequence");
        m->wsc_sequence = v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
    }
}

int wsmsg_parse(const char *text, size_t len, struct wsmsg *m)
{
    struct json_object *root, *meta, *body = NULL, *v;
    char state[16];

    memset(m, 0, sizeof(*m));
    m->wsc_sequence = -1;
    root = wire_parse_json(text, len);
    if (!root || !json_object_is_type(root, json_type_array) ||
        json_object_array_length(root) < 1 ||
        !json_object_is_type((meta = json_object_array_get_idx(root, 0)), json_type_object)) {
        json_object_put(root);
        return -EINVAL;
    }
    if (json_object_array_length(root) > 1)
        body = json_object_array_get_idx(root, 1);
    parse_meta(meta, m);
    switch (m->type) {
    case WSMSG_CONNECTION_DETAILS:
        copy_str(body, "recoveryState", state, sizeof(state));
        m->recovery = !field(body, "recoveryState")      ? WSMSG_RECOVERY_NONE
                      : strcmp(state, "Successful") == 0 ? WSMSG_RECOVERY_OK
                                                         : WSMSG_RECOVERY_FAILED;
        copy_str(body, "recoveryErrorCode", m->recovery_error, sizeof(m->recovery_error));
        m->idle_timeout_s = get_int(body, "idleTimeout");
        m->recovery_timeout_s = get_int(body, "recoveryTimeout");
        break;
    case WSMSG_CLIENT_REQUEST:
        if (m->status >= 200 && m->status <= 299)
            copy_str(body, "id", m->subscription_id, sizeof(m->subscription_id));
        else
            copy_str(body, "errorCode", m->error_code, sizeof(m->error_code));
        break;
    case WSMSG_ERROR:
        copy_str(body, "errorCode", m->error_code, sizeof(m->error_code));
        break;
    case WSMSG_NOTIFICATION:
        if ((v = body) && json_object_is_type(v, json_type_object))
            parse_notification(v, m);
        break;
    default:
        break;
    }
    json_object_put(root);
    return 0;
}

void wsmsg_free(struct wsmsg *m)
{
    if (m->wsc_token) {
        explicit_bzero(m->wsc_token, strlen(m->wsc_token));
        free(m->wsc_token);
    }
    free(m->ids);
    memset(m, 0, sizeof(*m));
    m->wsc_sequence = -1;
}

char *wsmsg_subscribe(const char *message_id, const uint64_t *ext_ids, size_t n, bool instant_sms)
{
    struct json_object *arr = json_object_new_array(), *meta = json_object_new_object();
    struct json_object *body = json_object_new_object(), *filters = json_object_new_array();
    struct json_object *mode = json_object_new_object();
    char buf[128];
    char *out;

    json_object_object_add(meta, "type", json_object_new_string("ClientRequest"));
    json_object_object_add(meta, "messageId", json_object_new_string(message_id));
    json_object_object_add(meta, "method", json_object_new_string("POST"));
    json_object_object_add(meta, "path", json_object_new_string("/restapi/v1.0/subscription/"));
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "/restapi/v1.0/account/~/extension/%" PRIu64 "/message-store",
                 ext_ids[i]);
        json_object_array_add(filters, json_object_new_string(buf));
        if (instant_sms) {
            snprintf(buf, sizeof(buf),
                     "/restapi/v1.0/account/~/extension/%" PRIu64 "/message-store/instant?type=SMS",
                     ext_ids[i]);
            json_object_array_add(filters, json_object_new_string(buf));
        }
    }
    json_object_object_add(body, "eventFilters", filters);
    json_object_object_add(mode, "transportType", json_object_new_string("WebSocket"));
    json_object_object_add(body, "deliveryMode", mode);
    json_object_array_add(arr, meta);
    json_object_array_add(arr, body);
    out = mem_strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
    return out;
}

char *wsmsg_heartbeat(const char *message_id)
{
    struct json_object *arr = json_object_new_array(), *meta = json_object_new_object();
    char *out;

    json_object_object_add(meta, "type", json_object_new_string("Heartbeat"));
    json_object_object_add(meta, "messageId", json_object_new_string(message_id));
    json_object_array_add(arr, meta);
    out = mem_strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
    json_object_put(arr);
    return out;
}

/*
 * api_send_status — what became of sent messages (see api_send.h): why one
 * failed, from its record, and the list of those sent since a time.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_page.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_send.h"
#include "api/api_wire.h"
#include "util/isotime.h"
#include "util/log.h"

/* A JSON string member of o made safe for a line: printable ASCII, at most
 * n-1 bytes; "" when absent. */
static void member(struct json_object *o, const char *key, char *d, size_t n)
{
    struct json_object *v;
    size_t k = 0;

    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        for (const char *s = json_object_get_string(v); *s && k + 1 < n; s++)
            d[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    d[k] = '\0';
}

void api_send_failure(const struct rec *r, char *why, size_t whylen)
{
    struct json_object *o = r->json ? wire_parse_json(r->json, r->json_len) : NULL;
    struct json_object *to;
    char code[48];
    size_t len, shown = 0;

    if (whylen == 0)
        return;
    snprintf(why, whylen, "the server reports %s",
             r->message_status[0] ? r->message_status : "a failure");
    len = strlen(why);
    member(o, "deliveryErrorCode", code, sizeof code);
    if (code[0] && len < whylen) {
        len += (size_t)snprintf(why + len, whylen - len, ": %s", code);
        shown++;
    }
    if (o && json_object_object_get_ex(o, "to", &to) && json_object_is_type(to, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(to) && len < whylen; i++) {
            struct json_object *t = json_object_array_get_idx(to, i);
            char number[24];
            member(t, "faxErrorCode", code, sizeof code);
            if (!code[0])
                continue;
            member(t, "phoneNumber", number, sizeof number);
            len += (size_t)snprintf(why + len, whylen - len, "%s%s%s%s", shown++ ? ", " : ": ",
                                    number, number[0] ? " " : "", code);
        }
    }
    json_object_put(o);
}

struct sent_ctx {
    api_rec_cb cb; /* the caller's callback */
    void *ctx;     /* its argument */
};

static int sent_record(void *c, struct json_object *o)
{
    struct sent_ctx *sc = c;
    struct rec r;
    char err[160];
    if (rec_from_json(o, false, &r, err, sizeof err) != 0) {
        log_warn("skipping an invalid record: %s", err);
        return 0;
    }
    int rc = sc->cb(sc->ctx, &r);
    rec_free(&r);
    return rc;
}

int api_send_list_sent(struct api *a, const struct api_call *c, enum rec_type type,
                       int64_t since_ms, api_rec_cb cb, void *ctx)
{
    struct sent_ctx sc = {cb, ctx};
    char from[ISOTIME_BUFSZ];

    if ((unsigned)type >= REC_TYPE_COUNT)
        return -EINVAL;
    isotime_format(since_ms > 0 ? since_ms : 0, from);
    char *url = req_url(a,
                        "extension/~/message-store?messageType=%s&direction=Outbound"
                        "&availability=Alive&availability=Deleted&dateFrom=%s&perPage=1000",
                        rec_type_name(type), from);
    int rc = page_walk(a, req_deadline(a, c), req_prio(c), url, PACE_LIGHT, sent_record, &sc);
    free(url);
    return rc;
}

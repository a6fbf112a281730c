/*
 * api_store — the message-store endpoints of api.h: list, batch get, read
 * status, restore, delete (never blindly repeated) and message sync.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_err.h"
#include "api/api_multipart.h"
#include "api/api_page.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_url.h"
#include "util/buf.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define SYNC_TOKEN_MAX 4096
#define MULTIPART_JSON "application/vnd.ringcentral.multipart+json"

/* ---- records ------------------------------------------------------------ */

/* Parse o and hand it to cb; an invalid record is logged and skipped (0). */
static int deliver(struct json_object *o, bool allow_partial, api_rec_cb cb, void *ctx,
                   uint64_t *id_out)
{
    struct rec r;
    char err[160];
    int rc;

    if (rec_from_json(o, allow_partial, &r, err, sizeof(err)) != 0) {
        log_warn("skipping an invalid record: %s", err);
        return 0;
    }
    if (id_out)
        *id_out = r.id;
    rc = cb(ctx, &r);
    rec_free(&r);
    return rc;
}

/* A partial record saying the server no longer has id. */
static int deliver_purged(uint64_t id, api_rec_cb cb, void *ctx)
{
    struct rec r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.id = id;
    r.availability = REC_PURGED;
    r.partial = true;
    rc = cb(ctx, &r);
    rec_free(&r);
    return rc;
}

/* ---- list ------------------------------------------------------------------ */

struct list_ctx {
    api_rec_cb cb; /* the caller's callback */
    void *ctx;     /* its argument */
};

static int list_record(void *c, struct json_object *o)
{
    struct list_ctx *lc = c;
    return deliver(o, false, lc->cb, lc->ctx, NULL);
}

int api_list(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_type type,
             api_rec_cb cb, void *ctx)
{
    struct list_ctx lc = {cb, ctx};
    char *url;
    int rc;

    if ((unsigned)type >= REC_TYPE_COUNT)
        return -EINVAL;
    url = req_url(a,
                  "extension/%llu/message-store?messageType=%s&availability=Alive"
                  "&availability=Deleted&dateFrom=1970-01-01T00:00:00.000Z&perPage=1000",
                  (unsigned long long)ext_id, rec_type_name(type));
    rc = page_walk(a, req_deadline(a, c), req_prio(c), url, PACE_LIGHT, list_record, &lc);
    free(url);
    return rc;
}

/* ---- get ------------------------------------------------------------------- */

static int find_id(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return (int)i;
    return -1;
}

/* Deliver a 207 answer for ids[0..n). */
static int get_batch_answer(struct exec_res *res, const uint64_t *ids, size_t n, api_rec_cb cb,
                            void *ctx)
{
    struct mp_list l;
    bool seen[API_GET_MAX_IDS] = {false};
    int rc = 0, item_err = 0;

    if (mp_parse(res->http.content_type, res->http.body.data, res->http.body.len, &l) != 0) {
        log_warn("batch GET: malformed 207 answer (%s)", res->http.content_type);
        return -EIO;
    }
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        struct mp_item *it = &l.items[i];
        uint64_t id = 0;
        int k = -1;
        if (it->resource_id[0])
            id = strtoull(it->resource_id, NULL, 10);
        if (it->status == 200 && it->body) {
            struct json_object *idv;
            /* the record's own id decides (multipart/mixed summaries have been seen to differ) */
            if (json_object_object_get_ex(it->body, "id", &idv))
                req_json_u64(idv, &id);
            k = find_id(ids, n, id);
            if (k < 0 || seen[k]) {
                log_warn("batch GET: unexpected record %llu ignored", (unsigned long long)id);
                continue;
            }
            seen[k] = true;
            rc = deliver(it->body, false, cb, ctx, NULL);
        } else if (it->status == 404 && (k = find_id(ids, n, id)) >= 0 && !seen[k]) {
            seen[k] = true;
            rc = deliver_purged(id, cb, ctx);
        } else {
            struct json_object *code = NULL;
            if (it->body)
                json_object_object_get_ex(it->body, "errorCode", &code);
            if (!item_err)
                item_err = errmap_errno(CURLE_OK, it->status,
                                        code ? json_object_get_string(code) : NULL, 0);
            if (!item_err)
                item_err = -EIO;
        }
    }
    mp_list_free(&l);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!seen[i] && !item_err) {
            log_warn("batch GET: no answer for message %llu", (unsigned long long)ids[i]);
            item_err = -EIO;
        }
    return rc ? rc : item_err;
}

static int get_chunk(struct api *a, int64_t deadline, enum api_prio prio, uint64_t ext_id,
                     const uint64_t *ids, size_t n, api_rec_cb cb, void *ctx)
{
    struct buf path;
    struct exec_req rq = {
        .http = {.method = "GET",
                 .accept = MULTIPART_JSON,
                 .compress = true,
                 .max_body = REQ_JSON_MAX},
        .group = PACE_LIGHT,
        .idempotent = true,
        .want_json = true,
    };
    struct exec_res res;
    char *url;
    int rc;

    buf_init(&path, 1024);
    for (size_t i = 0; i < n; i++)
        (void)buf_printf(&path, "%s%llu", i ? "," : "", (unsigned long long)ids[i]);
    url = req_url(a, "extension/%llu/message-store/%s", (unsigned long long)ext_id, path.data);
    buf_free(&path);
    rq.http.url = url;
    exec_res_init(&res);
    rc = req_run(a, deadline, prio, &rq, &res);
    if (rc == -ENOENT && n == 1) {
        rc = deliver_purged(ids[0], cb, ctx); /* a single id answers a plain 404 */
    } else if (rc == 0 && res.http.status == 207) {
        rc = get_batch_answer(&res, ids, n, cb, ctx);
    } else if (rc == 0) {
        uint64_t got = 0;
        if (n != 1 || !json_object_is_type(res.json, json_type_object))
            rc = -EIO;
        else
            rc = deliver(res.json, false, cb, ctx, &got);
        if (rc == 0 && got != ids[0])
            log_warn("GET message %llu answered %llu", (unsigned long long)ids[0],
                     (unsigned long long)got);
    }
    exec_res_free(&res);
    free(url);
    return rc;
}

int api_get(struct api *a, const struct api_call *c, uint64_t ext_id, const uint64_t *ids, size_t n,
            api_rec_cb cb, void *ctx)
{
    int64_t deadline = req_deadline(a, c);

    for (size_t i = 0; i < n; i += API_GET_MAX_IDS) {
        size_t k = n - i < API_GET_MAX_IDS ? n - i : API_GET_MAX_IDS;
        int rc = get_chunk(a, deadline, req_prio(c), ext_id, ids + i, k, cb, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- read status, restore --------------------------------------------------- */

static int update(struct api *a, const struct api_call *c, const char *method, uint64_t ext_id,
                  uint64_t msg_id, const char *body, struct rec *out)
{
    char *url = req_url(a, "extension/%llu/message-store/%llu", (unsigned long long)ext_id,
                        (unsigned long long)msg_id);
    struct exec_req rq = {
        .http = {.method = method,
                 .url = url,
                 .content_type = "application/json",
                 .body = body,
                 .body_len = strlen(body),
                 .max_body = REQ_JSON_MAX},
        .group = PACE_MEDIUM,
        .idempotent = true, /* setting a value twice is setting it once */
        .want_json = true,
    };
    struct exec_res res;
    char err[160];
    int rc;

    memset(out, 0, sizeof(*out));
    exec_res_init(&res);
    rc = req_run(a, req_deadline(a, c), req_prio(c), &rq, &res);
    if (rc == 0 && rec_from_json(res.json, false, out, err, sizeof(err)) != 0) {
        log_warn("%s message %llu: the answer is not a valid record: %s", method,
                 (unsigned long long)msg_id, err);
        rc = -EIO;
    }
    exec_res_free(&res);
    free(url);
    return rc;
}

int api_set_read(struct api *a, const struct api_call *c, uint64_t ext_id, uint64_t msg_id,
                 enum rec_read rs, struct rec *out)
{
    char body[48];

    snprintf(body, sizeof(body), "{\"readStatus\":\"%s\"}", rs == REC_READ ? "Read" : "Unread");
    return update(a, c, "PUT", ext_id, msg_id, body, out);
}

int api_restore(struct api *a, const struct api_call *c, uint64_t ext_id, uint64_t msg_id,
                struct rec *out)
{
    return update(a, c, "PATCH", ext_id, msg_id, "{\"availability\":\"Alive\"}", out);
}

/* ---- delete ----------------------------------------------------------------- */

/* The message's availability now (404 = Purged). */
static int read_state(struct api *a, int64_t deadline, enum api_prio prio, uint64_t ext_id,
                      uint64_t msg_id, enum rec_avail *av)
{
    char *url = req_url(a, "extension/%llu/message-store/%llu", (unsigned long long)ext_id,
                        (unsigned long long)msg_id);
    struct exec_req rq = {
        .http = {.method = "GET", .url = url, .max_body = REQ_JSON_MAX},
        .group = PACE_LIGHT,
        .idempotent = true,
        .want_json = true,
    };
    struct exec_res res;
    struct rec r;
    char err[160];
    int rc;

    exec_res_init(&res);
    rc = req_run(a, deadline, prio, &rq, &res);
    if (rc == -ENOENT) {
        *av = REC_PURGED;
        rc = 0;
    } else if (rc == 0) {
        rc = rec_from_json(res.json, true, &r, err, sizeof(err)) == 0 ? 0 : -EIO;
        if (rc == 0)
            *av = r.availability;
        rec_free(&r);
    }
    exec_res_free(&res);
    free(url);
    return rc;
}

int api_delete(struct api *a, const struct api_call *c, uint64_t ext_id, uint64_t msg_id,
               bool purge, enum rec_avail from)
{
    int64_t deadline = req_deadline(a, c);
    enum api_prio prio = req_prio(c);
    enum rec_avail target = purge || from != REC_ALIVE ? REC_PURGED : REC_DELETED;
    char *url = req_url(a, "extension/%llu/message-store/%llu%s", (unsigned long long)ext_id,
                        (unsigned long long)msg_id, purge ? "?purge=true" : "");
    int rc;

    for (int round = 0;; round++) {
        struct exec_req rq = {
            .http = {.method = "DELETE", .url = url, .fresh_connect = true},
            .group = PACE_MEDIUM,
            .idempotent = false,
        };
        struct exec_res res;
        enum rec_avail now;
        bool unknown;

        exec_res_init(&res);
        rc = req_run(a, deadline, prio, &rq, &res);
        unknown = rc != 0 && exec_outcome_unknown(&res);
        if (rc == -ENOENT && target == REC_PURGED)
            rc = 0; /* already gone: that is what a purge wants */
        exec_res_free(&res);
        if (!unknown)
            break;
        log_info("DELETE of message %llu: outcome unknown; reading its state",
                 (unsigned long long)msg_id);
        if (read_state(a, deadline, prio, ext_id, msg_id, &now) != 0) {
            rc = -EIO;
            break;
        }
        if (now == target) {
            rc = 0;
            break;
        }
        if (now != from) {
            log_warn("DELETE of message %llu: it is now %s, not %s", (unsigned long long)msg_id,
                     rec_avail_name(now), rec_avail_name(target));
            rc = now == REC_PURGED ? -ENOENT : -EIO;
            break;
        }
        /* the server did not act: a new DELETE is safe; back off a little first */
        int64_t pause = (int64_t)100 << (round < 5 ? round : 5);
        if (isotime_mono_ms() + pause >= deadline) {
            rc = -EIO;
            break;
        }
        struct timespec ts = {.tv_sec = pause / 1000, .tv_nsec = (long)(pause % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        atomic_fetch_add(&a->exec.retries, 1);
    }
    free(url);
    return rc;
}

/* ---- sync ------------------------------------------------------------------- */

int api_sync(struct api *a, const struct api_call *c, uint64_t ext_id, const char *token,
             int record_count, api_rec_cb cb, void *ctx, struct api_sync_result *res)
{
    struct json_object *recs, *info, *v;
    struct exec_res er;
    char *url, *esc;
    int rc;

    memset(res, 0, sizeof(*res));
    if (token) {
        esc = url_escape(token);
        url = req_url(a, "extension/%llu/message-sync?syncType=ISync&syncToken=%s",
                      (unsigned long long)ext_id, esc);
        free(esc);
    } else if (record_count > 0) {
        url = req_url(a,
                      "extension/%llu/message-sync?syncType=FSync"
                      "&dateFrom=1970-01-01T00:00:00.000Z&recordCount=%d",
                      (unsigned long long)ext_id, record_count);
    } else {
        url = req_url(a,
                      "extension/%llu/message-sync?syncType=FSync"
                      "&dateFrom=1970-01-01T00:00:00.000Z",
                      (unsigned long long)ext_id);
    }
    struct exec_req rq = {
        .http = {.method = "GET", .url = url, .compress = true, .max_body = REQ_JSON_MAX},
        .group = PACE_LIGHT,
        .idempotent = true,
        .want_json = true,
        .errmap_flags = token ? ERRMAP_SYNC : 0,
    };
    exec_res_init(&er);
    rc = req_run(a, req_deadline(a, c), req_prio(c), &rq, &er);
    free(url);
    if (rc != 0)
        goto out;
    rc = -EIO;
    if (!json_object_is_type(er.json, json_type_object) ||
        !json_object_object_get_ex(er.json, "records", &recs) ||
        !json_object_is_type(recs, json_type_array) ||
        !json_object_object_get_ex(er.json, "syncInfo", &info) ||
        !json_object_object_get_ex(info, "syncToken", &v) ||
        !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
        json_object_get_string_len(v) > SYNC_TOKEN_MAX) {
        log_warn("message sync: the answer lacks records or syncInfo.syncToken");
        goto out;
    }
    res->token = mem_strdup(json_object_get_string(v));
    if (json_object_object_get_ex(info, "olderRecordsExist", &v) &&
        json_object_is_type(v, json_type_boolean))
        res->older_records_exist = json_object_get_boolean(v);
    if (!json_object_object_get_ex(info, "syncTime", &v) ||
        !json_object_is_type(v, json_type_string) ||
        isotime_parse(json_object_get_string(v), &res->sync_time_ms) != 0)
        res->sync_time_ms = 0;
    rc = 0;
    for (size_t i = 0; rc == 0 && i < json_object_array_length(recs); i++)
        rc = deliver(json_object_array_get_idx(recs, i), true, cb, ctx, NULL);
    if (rc != 0) {
        free(res->token);
        res->token = NULL;
    }
out:
    exec_res_free(&er);
    return rc;
}

/* api_bulk — changes to many messages in one request (see api_bulk.h). */
#include "api/api_bulk.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_err.h"
#include "api/api_multipart.h"
#include "api/api_priv.h"
#include "util/buf.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define MULTIPART_JSON "application/vnd.ringcentral.multipart+json"

void api_bulk_free(struct api_bulk_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        if (items[i].has_rec)
            rec_free(&items[i].rec);
        items[i].has_rec = false;
    }
}

/* "id1,id2,..." of the items still marked (rc == -EINPROGRESS). */
static char *id_path(const struct api_bulk_item *items, size_t n)
{
    struct buf b;
    buf_init(&b, 64 * 24);
    for (size_t i = 0; i < n; i++)
        if (items[i].rc == -EINPROGRESS)
            (void)buf_printf(&b, "%s%llu", b.len ? "," : "", (unsigned long long)items[i].id);
    return buf_steal(&b);
}

static struct api_bulk_item *item_of(struct api_bulk_item *items, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].id == id && items[i].rc == -EINPROGRESS)
            return &items[i];
    return NULL;
}

/* The errno of one failed part of a 207. */
static int part_errno(const struct mp_item *it)
{
    struct json_object *code = NULL;
    if (it->body)
        json_object_object_get_ex(it->body, "errorCode", &code);
    int rc = errmap_errno(CURLE_OK, it->status, code ? json_object_get_string(code) : NULL, 0);
    return rc ? rc : -EIO;
}

/* Record one part of a 207 in its item.  want_rec: a 200 part must carry
 * the message's record. */
static void take_part(struct api_bulk_item *items, size_t n, const struct mp_item *it,
                      bool want_rec)
{
    uint64_t id = it->resource_id[0] ? strtoull(it->resource_id, NULL, 10) : 0;
    struct json_object *idv;
    if (it->status == 200 && it->body && json_object_object_get_ex(it->body, "id", &idv))
        api_json_u64(idv, &id); /* the record's own id decides */
    struct api_bulk_item *item = item_of(items, n, id);
    if (!item) {
        log_warn("bulk change: an answer for message %llu, which was not asked about",
                 (unsigned long long)id);
        return;
    }
    if (it->status / 100 != 2) {
        item->rc = part_errno(it);
        return;
    }
    item->rc = 0;
    if (want_rec && it->body) {
        char err[160];
        if (rec_from_json(it->body, false, &item->rec, err, sizeof err) == 0)
            item->has_rec = true;
        else
            log_warn("bulk change of %llu: the answer is not a valid record: %s",
                     (unsigned long long)id, err);
    }
}

/* Apply a 207 answer to the items still pending.  Returns 0 or -EIO. */
static int take_207(const struct exec_res *res, struct api_bulk_item *items, size_t n,
                    bool want_rec)
{
    struct mp_list l;
    if (mp_parse(res->http.content_type, res->http.body.data, res->http.body.len, &l) != 0) {
        log_warn("bulk change: malformed 207 answer (%s)", res->http.content_type);
        return -EIO;
    }
    for (size_t i = 0; i < l.n; i++)
        take_part(items, n, &l.items[i], want_rec);
    mp_list_free(&l);
    return 0;
}

/* ---- read status ------------------------------------------------------------ */

/* The JSON array body of a batch PUT: one {"resourceId", "body"} per id. */
static char *read_body(const struct api_bulk_item *items, size_t n, enum rec_read rs)
{
    struct buf b;
    buf_init(&b, 128 * (n + 1));
    (void)buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++)
        (void)buf_printf(&b, "%s{\"resourceId\":\"%llu\",\"body\":{\"readStatus\":\"%s\"}}",
                         i ? "," : "", (unsigned long long)items[i].id,
                         rs == REC_READ ? "Read" : "Unread");
    (void)buf_puts(&b, "]");
    return buf_steal(&b);
}

/* One id: the plain PUT, answered by the record. */
static int set_read_one(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_read rs,
                        struct api_bulk_item *item)
{
    int rc = api_set_read(a, c, ext_id, item->id, rs, &item->rec);
    if (rc == 0) {
        item->has_rec = true;
        item->rc = 0;
        return 0;
    }
    if (rc == -ENOENT || rc == -EACCES || rc == -EINVAL) {
        item->rc = rc; /* the server answered about this id */
        return 0;
    }
    return rc;
}

int api_set_read_bulk(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_read rs,
                      struct api_bulk_item *items, size_t n)
{
    if (n == 0 || n > API_BULK_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        items[i] = (struct api_bulk_item){.id = items[i].id, .rc = -EINPROGRESS};
    if (n == 1)
        return set_read_one(a, c, ext_id, rs, &items[0]);
    char *path = id_path(items, n);
    char *body = read_body(items, n, rs);
    char *url = api_url_for(a, "extension/%llu/message-store/%s", (unsigned long long)ext_id, path);
    struct exec_req rq = {
        .http = {.method = "PUT",
                 .url = url,
                 .accept = MULTIPART_JSON,
                 .content_type = MULTIPART_JSON,
                 .body = body,
                 .body_len = strlen(body),
                 .max_body = API_JSON_MAX},
        .group = PACE_MEDIUM,
        .idempotent = true, /* setting a value twice is setting it once */
        .want_json = true,
    };
    struct exec_res res;
    exec_res_init(&res);
    int rc = api_request(a, api_deadline(a, c), api_prio_of(c), &rq, &res);
    if (rc == 0)
        rc = res.http.status == 207 ? take_207(&res, items, n, true) : -EIO;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (items[i].rc == -EINPROGRESS)
            items[i].rc = -EIO; /* the answer said nothing about it */
    exec_res_free(&res);
    free(url);
    free(body);
    free(path);
    return rc;
}

/* ---- delete ----------------------------------------------------------------- */

struct states {
    struct api_bulk_item *items;
    size_t n;
    enum rec_avail from, target;
};

/* After an unknown outcome: an item whose message reached the target is
 * done; one still at `from` stays pending (sent again); else it failed. */
static int state_cb(void *ctx, struct rec *r)
{
    struct states *st = ctx;
    struct api_bulk_item *item = item_of(st->items, st->n, r->id);
    if (!item)
        return 0;
    if (r->availability == st->target)
        item->rc = 0;
    else if (r->availability != st->from)
        item->rc = r->availability == REC_PURGED ? -ENOENT : -EIO;
    return 0;
}

/* Learn what an unknown-outcome DELETE did, from the messages' states.
 * Returns 0 or -errno (nothing learnt). */
static int learn_states(struct api *a, const struct api_call *c, uint64_t ext_id,
                        struct states *st)
{
    uint64_t *ids = mem_calloc(st->n ? st->n : 1, sizeof *ids);
    size_t k = 0;
    for (size_t i = 0; i < st->n; i++)
        if (st->items[i].rc == -EINPROGRESS)
            ids[k++] = st->items[i].id;
    log_info("bulk DELETE of %zu messages: outcome unknown; reading their states", k);
    int rc = k ? api_get(a, c, ext_id, ids, k, state_cb, st) : 0;
    free(ids);
    return rc;
}

/* One DELETE of the pending items (path form, or the conversation form when
 * conv_id is set).  *unknown: the outcome is not known. */
static int delete_once(struct api *a, const struct api_call *c, uint64_t ext_id,
                       const char *conv_id, struct states *st, bool *unknown)
{
    char *path = conv_id ? NULL : id_path(st->items, st->n);
    char *url = conv_id ? api_url_for(a, "extension/%llu/message-store?conversationId=%s",
                                      (unsigned long long)ext_id, conv_id)
                        : api_url_for(a, "extension/%llu/message-store/%s",
                                      (unsigned long long)ext_id, path);
    struct exec_req rq = {
        .http = {.method = "DELETE", .url = url, .accept = MULTIPART_JSON, .fresh_connect = true},
        .group = PACE_MEDIUM,
        .idempotent = false,
    };
    struct exec_res res;
    exec_res_init(&res);
    int rc = api_request(a, api_deadline(a, c), api_prio_of(c), &rq, &res);
    *unknown = rc != 0 && exec_outcome_unknown(&res);
    if (rc == 0 && res.http.status == 207)
        rc = take_207(&res, st->items, st->n, false);
    else if (rc == 0 || (rc == -ENOENT && !conv_id && st->target == REC_PURGED))
        for (size_t i = 0; i < st->n; i++) /* 204: every id; a purge of a gone one is done */
            if (st->items[i].rc == -EINPROGRESS)
                st->items[i].rc = 0;
    if (rc == -ENOENT && !conv_id && st->target == REC_PURGED)
        rc = 0;
    exec_res_free(&res);
    free(url);
    free(path);
    return rc;
}

/* Pause before sending again, within the deadline.  False when no time is left. */
static bool pause_before_retry(struct api *a, const struct api_call *c, int round)
{
    int64_t pause = (int64_t)100 << (round < 5 ? round : 5);
    if (isotime_mono_ms() + pause >= api_deadline(a, c))
        return false;
    struct timespec ts = {.tv_sec = pause / 1000, .tv_nsec = (long)(pause % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&a->exec.retries, 1);
    return true;
}

/* DELETE until every item's outcome is known: a request with an unknown
 * outcome is followed by reading the states, and only the messages the
 * server did not act on are sent again (by id). */
static int delete_loop(struct api *a, const struct api_call *c, uint64_t ext_id,
                       struct states *st)
{
    for (int round = 0;; round++) {
        bool unknown = false, pending = false;
        int rc = delete_once(a, c, ext_id, NULL, st, &unknown);
        if (!unknown)
            return rc;
        rc = learn_states(a, c, ext_id, st);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < st->n; i++)
            pending = pending || st->items[i].rc == -EINPROGRESS;
        if (!pending)
            return 0;
        if (!pause_before_retry(a, c, round))
            return -EIO;
    }
}

int api_delete_bulk(struct api *a, const struct api_call *c, uint64_t ext_id, enum rec_avail from,
                    struct api_bulk_item *items, size_t n)
{
    if (n == 0 || n > API_BULK_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        items[i] = (struct api_bulk_item){.id = items[i].id, .rc = -EINPROGRESS};
    if (n == 1) {
        int rc = api_delete(a, c, ext_id, items[0].id, false, from);
        if (rc == 0 || rc == -ENOENT || rc == -EACCES || rc == -EINVAL) {
            items[0].rc = rc;
            return 0;
        }
        return rc;
    }
    struct states st = {items, n, from, from == REC_ALIVE ? REC_DELETED : REC_PURGED};
    int rc = delete_loop(a, c, ext_id, &st);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (items[i].rc == -EINPROGRESS)
            items[i].rc = -EIO;
    return rc;
}

/* Items still pending after a conversation DELETE whose outcome was unknown:
 * by id, API_BULK_MAX at a time. */
static int finish_by_ids(struct api *a, const struct api_call *c, uint64_t ext_id,
                         struct api_bulk_item *items, size_t n)
{
    struct api_bulk_item chunk[API_BULK_MAX];
    size_t where[API_BULK_MAX];
    size_t i = 0;
    while (i < n) {
        size_t k = 0;
        for (; i < n && k < API_BULK_MAX; i++) {
            if (items[i].rc != -EINPROGRESS)
                continue;
            where[k] = i;
            chunk[k++] = (struct api_bulk_item){.id = items[i].id};
        }
        if (k == 0)
            break;
        int rc = api_delete_bulk(a, c, ext_id, REC_ALIVE, chunk, k);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < k; j++)
            items[where[j]].rc = chunk[j].rc;
    }
    return 0;
}

int api_delete_conversation(struct api *a, const struct api_call *c, uint64_t ext_id,
                            const char *conv_id, struct api_bulk_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        items[i] = (struct api_bulk_item){.id = items[i].id, .rc = -EINPROGRESS};
    struct states st = {items, n, REC_ALIVE, REC_DELETED};
    bool unknown = false;
    int rc = delete_once(a, c, ext_id, conv_id, &st, &unknown);
    if (unknown) {
        rc = learn_states(a, c, ext_id, &st);
        if (rc == 0)
            rc = finish_by_ids(a, c, ext_id, items, n);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (items[i].rc == -EINPROGRESS)
            items[i].rc = -EIO;
    return rc;
}

/*
 * api_fetch — attachment content: download slots (at most max_downloads
 * transfers, USER before BACKGROUND), the media rewrite and origin check, and
 * the checks a body passes before it counts (see api_fetch in api.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_url.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

/* Take a download slot, waiting at most until deadline.  0 or -EIO. */
static int slot_acquire(struct api *a, enum api_prio prio, int64_t deadline)
{
    int rc = 0;

    pthread_mutex_lock(&a->dl_lock);
    if (prio == API_PRIO_USER)
        a->dl_user_waiting++;
    while (a->dl_active >= a->max_downloads ||
           (prio == API_PRIO_BACKGROUND && a->dl_user_waiting > 0)) {
        if (deadline <= isotime_mono_ms() || http_stopping(a->http)) {
            rc = -EIO;
            break;
        }
        cond_wait_until(&a->dl_cond, &a->dl_lock, deadline);
    }
    if (prio == API_PRIO_USER)
        a->dl_user_waiting--;
    if (rc == 0)
        a->dl_active++;
    pthread_cond_broadcast(&a->dl_cond); /* a BACKGROUND waiter may go now */
    pthread_mutex_unlock(&a->dl_lock);
    return rc;
}

static void slot_release(struct api *a)
{
    pthread_mutex_lock(&a->dl_lock);
    a->dl_active--;
    pthread_cond_broadcast(&a->dl_cond);
    pthread_mutex_unlock(&a->dl_lock);
}

/* Check a successful answer against the request; fill info.  0 or -EIO. */
static int check_body(const struct api_content *req, const struct http_resp *h,
                      struct api_content_info *info)
{
    info->received = h->received;
    if (h->content_length >= 0 && h->received != h->content_length) {
        log_warn("content: %lld bytes received, Content-Length %lld", (long long)h->received,
                 (long long)h->content_length);
        return -EIO;
    }
    if (h->status == 200) {
        info->total_size = h->received;
        info->complete = true;
    } else {
        /* 206: must be the first bytes, as many as the range said */
        if (h->range_start != 0 || h->range_end != h->received - 1 ||
            h->range_end >= req->range_len ||
            (h->range_total >= 0 && h->range_end >= h->range_total)) {
            log_warn("content: a 206 answer with a Content-Range that does not fit the request");
            return -EIO;
        }
        info->total_size = h->range_total;
        info->complete = h->range_total >= 0 && h->received == h->range_total;
    }
    if (req->expect_size >= 0 && info->total_size >= 0 && info->total_size != req->expect_size) {
        log_warn("content: %lld bytes, the record says %lld", (long long)info->total_size,
                 (long long)req->expect_size);
        return -EIO;
    }
    return 0;
}

int api_fetch(struct api *a, const struct api_call *c, const struct api_content *req,
              struct api_content_info *info)
{
    int64_t deadline = req_deadline(a, c);
    enum api_prio prio = req_prio(c);
    char *url = NULL, range[64];
    struct exec_res res;
    int rc;

    info->total_size = -1;
    info->received = 0;
    info->complete = false;
    if (!req->uri || !req->sink)
        return -EINVAL;
    if (a->media) {
        if (url_rewrite_origin(req->uri, a->media, &url) != 0)
            return -EIO;
    } else {
        url = mem_strdup(req->uri);
    }
    if (!scope_allows(&a->scope, url)) {
        char *u = url_for_log(url);
        log_warn("refusing to fetch content from another site (%s)", u);
        free(u);
        free(url);
        return -EIO;
    }
    if (req->range_len > 0)
        snprintf(range, sizeof(range), "bytes=0-%lld", (long long)(req->range_len - 1));
    struct exec_req rq = {
        .http = {.method = "GET",
                 .url = url,
                 .accept = "*/*",
                 .range = req->range_len > 0 ? range : NULL,
                 .sink = req->sink,
                 .sink_ctx = req->sink_ctx,
                 .expect_type = req->expect_type},
        .group = PACE_MEDIUM,
        .idempotent = true,
    };
    rc = slot_acquire(a, prio, deadline);
    if (rc != 0) {
        free(url);
        return rc;
    }
    exec_res_init(&res);
    rc = req_run(a, deadline, prio, &rq, &res);
    slot_release(a);
    if (rc == 0 && !res.http.streamed)
        rc = -EIO;
    if (rc == 0)
        rc = check_body(req, &res.http, info);
    else
        info->received = res.http.streamed ? res.http.received : 0;
    exec_res_free(&res);
    free(url);
    return rc;
}

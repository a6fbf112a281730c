/* api_page — paged listings (see api_page.h). */
#include "api/api_page.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_url.h"
#include "util/log.h"
#include "util/mem.h"

/* navigation.nextPage.uri, or NULL. */
static const char *next_link(struct json_object *page)
{
    struct json_object *nav, *next, *uri;

    if (json_object_object_get_ex(page, "navigation", &nav) &&
        json_object_object_get_ex(nav, "nextPage", &next) &&
        json_object_object_get_ex(next, "uri", &uri) && json_object_is_type(uri, json_type_string))
        return json_object_get_string(uri);
    return NULL;
}

static int64_t total_pages(struct json_object *page)
{
    struct json_object *paging, *tp;

    if (json_object_object_get_ex(page, "paging", &paging) &&
        json_object_object_get_ex(paging, "totalPages", &tp) &&
        json_object_is_type(tp, json_type_int))
        return json_object_get_int64(tp);
    return -1;
}

int page_walk(struct api *a, int64_t deadline, enum api_prio prio, const char *first_url,
              enum pace_group group, page_fn fn, void *ctx)
{
    char *url = mem_strdup(first_url);
    int rc = 0;

    for (int64_t n = 1;; n++) {
        struct exec_req rq = {
            .http = {.method = "GET", .url = url, .compress = true, .max_body = REQ_JSON_MAX},
            .group = group,
            .idempotent = true,
            .want_json = true,
        };
        struct exec_res res;
        const char *next;
        char *nurl;
        int64_t total;

        exec_res_init(&res);
        rc = req_run(a, deadline, prio, &rq, &res);
        if (rc == 0 && !json_object_is_type(res.json, json_type_object))
            rc = -EIO;
        struct json_object *recs;
        if (rc == 0 && (!json_object_object_get_ex(res.json, "records", &recs) ||
                        !json_object_is_type(recs, json_type_array)))
            rc = -EIO;
        for (size_t i = 0; rc == 0 && i < json_object_array_length(recs); i++)
            rc = fn(ctx, json_object_array_get_idx(recs, i));
        if (rc != 0) {
            exec_res_free(&res);
            break;
        }
        next = next_link(res.json);
        total = total_pages(res.json);
        if (!next || (total > 0 && n >= total)) {
            exec_res_free(&res);
            break;
        }
        if (n >= PAGE_MAX) {
            log_warn("listing has more than %d pages; giving up", PAGE_MAX);
            exec_res_free(&res);
            rc = -EIO;
            break;
        }
        if (url_same_origin(next, a->server) && url_is_allowed(next)) {
            nurl = mem_strdup(next);
        } else {
            log_warn("nextPage link leaves %s; asking for page %lld directly", a->server,
                     (long long)(n + 1));
            nurl = mem_printf("%s&page=%lld", first_url, (long long)(n + 1));
        }
        exec_res_free(&res);
        if (strcmp(nurl, url) == 0) {
            log_warn("listing links page %lld to itself; giving up", (long long)n);
            free(nurl);
            rc = -EIO;
            break;
        }
        free(url);
        url = nurl;
    }
    free(url);
    return rc;
}

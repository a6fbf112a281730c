/* api_req — the authenticated request and the endpoints' helpers (see api_req.h). */
#include "api/api_req.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

int64_t req_deadline(const struct api *a, const struct api_call *c)
{
    if (c && c->deadline_ms > 0)
        return c->deadline_ms;
    return isotime_mono_ms() + a->timeout_ms;
}

enum api_prio req_prio(const struct api_call *c)
{
    return c ? c->prio : API_PRIO_USER;
}

char *req_url(const struct api *a, const char *fmt, ...)
{
    va_list ap;
    char *path, *url;

    va_start(ap, fmt);
    if (vasprintf(&path, fmt, ap) < 0)
        abort(); /* out of memory: the OOM policy */
    va_end(ap);
    url = mem_printf("%s/restapi/v1.0/account/~/%s", a->server, path);
    free(path);
    return url;
}

int req_json_u64(struct json_object *o, uint64_t *out)
{
    const char *s;
    char *end;
    unsigned long long v;

    if (json_object_is_type(o, json_type_int)) {
        if (json_object_get_int64(o) < 0)
            return -EINVAL;
        /* json-c keeps values above INT64_MAX as unsigned: get_uint64 reads both */
        *out = json_object_get_uint64(o);
        return 0;
    }
    if (!json_object_is_type(o, json_type_string))
        return -EINVAL;
    s = json_object_get_string(o);
    if (*s < '0' || *s > '9' || strlen(s) > 20)
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

int req_run(struct api *a, int64_t deadline, enum api_prio prio, struct exec_req *rq,
            struct exec_res *res)
{
    for (int tries = 0;; tries++) {
        char *bearer = NULL;
        uint64_t gen = 0;
        int rc = auth_bearer(a->auth, deadline, prio, &bearer, &gen);

        if (rc != 0)
            return rc;
        rq->http.authorization = bearer;
        rc = exec_run(&a->exec, deadline, prio, rq, res);
        rq->http.authorization = NULL;
        auth_value_free(bearer);
        reach_note(a->reach, rq->http.method, rq->http.url, res->http.status);
        if (rc == -EACCES && res->http.status == 401 && tries == 0) {
            log_debug("%s: access token refused (%s); getting a new one", rq->http.method,
                      res->http.error_code);
            rc = auth_rejected(a->auth, deadline, prio, gen);
            if (rc != 0)
                return rc;
            continue;
        }
        return rc;
    }
}

int req_get_object(struct api *a, int64_t deadline, enum api_prio prio, const char *url,
                   enum pace_group group, struct exec_res *res)
{
    struct exec_req rq = {
        .http = {.method = "GET", .url = url, .max_body = REQ_JSON_MAX},
        .group = group,
        .idempotent = true,
        .want_json = true,
    };
    int rc = req_run(a, deadline, prio, &rq, res);

    if (rc == 0 && !json_object_is_type(res->json, json_type_object))
        rc = -EIO;
    return rc;
}

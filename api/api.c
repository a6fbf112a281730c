/*
 * api — the client object: creation, shutdown, login, the account id and the
 * counters (see api.h).  The endpoints live in api_ext.c, api_store.c and
 * api_fetch.c, the authenticated request in api_req.c.
 */
#include "api/api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_scope.h"
#include "api/api_url.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

int api_new(const struct api_opts *o, struct api **out, char *err, size_t errlen)
{
    struct api *a;
    char *server = NULL, *media = NULL;
    struct http *http;

    *out = NULL;
    if (!o->client_id || !*o->client_id || !o->client_secret || !*o->client_secret || !o->jwt ||
        !*o->jwt) {
        snprintf(err, errlen, "client id, client secret and JWT are all required");
        return -EINVAL;
    }
    if (o->timeout_s <= 0 || o->max_downloads <= 0) {
        snprintf(err, errlen, "timeout and max_downloads must be positive");
        return -EINVAL;
    }
    if (url_check_base(o->server_url, false, &server, err, errlen) != 0)
        return -EINVAL;
    if (o->media_url && *o->media_url &&
        url_check_base(o->media_url, true, &media, err, errlen) != 0) {
        free(server);
        return -EINVAL;
    }
    http = http_new(err, errlen);
    if (!http) {
        free(server);
        free(media);
        return -EIO;
    }
    a = mem_calloc(1, sizeof(*a));
    a->server = server;
    a->media = media;
    scope_init(&a->scope, server, media);
    a->timeout_ms = (int64_t)o->timeout_s * 1000;
    a->max_downloads = o->max_downloads;
    a->http = http;
    a->pace = pace_new(NULL, NULL);
    exec_init(&a->exec, a->http, a->pace, o->verbose_http);
    a->auth = auth_new(&a->exec, server, o->client_id, o->client_secret, o->jwt, a->timeout_ms);
    a->reach = reach_new();
    pthread_mutex_init(&a->lock, NULL);
    strcpy(a->account_id, "~");
    pthread_mutex_init(&a->dl_lock, NULL);
    cond_init_mono(&a->dl_cond);
    *out = a;
    return 0;
}

void api_shutdown(struct api *a)
{
    if (!a)
        return;
    http_shutdown(a->http);
    pace_shutdown(a->pace);
    pthread_mutex_lock(&a->dl_lock);
    pthread_cond_broadcast(&a->dl_cond);
    pthread_mutex_unlock(&a->dl_lock);
    auth_wake(a->auth);
}

void api_free(struct api *a)
{
    if (!a)
        return;
    auth_free(a->auth);
    reach_free(a->reach);
    pace_free(a->pace);
    http_free(a->http);
    pthread_cond_destroy(&a->dl_cond);
    pthread_mutex_destroy(&a->dl_lock);
    pthread_mutex_destroy(&a->lock);
    free(a->server);
    scope_free(&a->scope);
    free(a->media);
    free(a);
}

int api_login(struct api *a, const struct api_call *c, char *err, size_t errlen)
{
    int64_t deadline = req_deadline(a, c);
    struct json_object *acc, *id;
    struct exec_res res;
    char *url;
    uint64_t v;
    int rc = auth_login(a->auth, deadline, req_prio(c), err, errlen);

    if (rc != 0)
        return rc;
    /* The token names only the extension; the account id comes from extension/~. */
    url = req_url(a, "extension/~");
    exec_res_init(&res);
    rc = req_get_object(a, deadline, req_prio(c), url, PACE_LIGHT, &res);
    free(url);
    if (rc == 0 && json_object_object_get_ex(res.json, "account", &acc) &&
        json_object_object_get_ex(acc, "id", &id) && req_json_u64(id, &v) == 0 &&
        ext_note_self(a, res.json) == 0) {
        pthread_mutex_lock(&a->lock);
        snprintf(a->account_id, sizeof(a->account_id), "%llu", (unsigned long long)v);
        pthread_mutex_unlock(&a->lock);
    } else if (rc == 0) {
        rc = -EIO;
    }
    if (rc != 0)
        snprintf(err, errlen, "logged in, but reading extension/~ from %s failed: %s", a->server,
                 rc == -EACCES ? "permission denied" : "bad or no answer");
    exec_res_free(&res);
    return rc;
}

enum api_reach api_ext_reach(struct api *a, uint64_t ext_id)
{
    return reach_get(a->reach, ext_id);
}

const char *api_account_id(const struct api *a)
{
    return a->account_id;
}

uint64_t api_owner_id(struct api *a)
{
    pthread_mutex_lock(&a->lock);
    uint64_t v = a->self_known ? a->self.id : 0;
    pthread_mutex_unlock(&a->lock);
    return v;
}

void api_get_stats(struct api *a, struct api_stats *out)
{
    out->requests = atomic_load(&a->exec.requests);
    out->retries = atomic_load(&a->exec.retries);
    out->rate_limited = atomic_load(&a->exec.rate_limited);
    out->refreshes = auth_refreshes(a->auth);
}

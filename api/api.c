/*
 * api — the client object: creation, login, extensions, counters, and the
 * authenticated request every endpoint goes through (see api.h, api_priv.h).
 */
#include "api/api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_page.h"
#include "api/api_priv.h"
#include "api/api_url.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

int64_t api_deadline(const struct api *a, const struct api_call *c)
{
    if (c && c->deadline_ms > 0)
        return c->deadline_ms;
    return isotime_mono_ms() + a->timeout_ms;
}

enum api_prio api_prio_of(const struct api_call *c)
{
    return c ? c->prio : API_PRIO_USER;
}

char *api_url_for(const struct api *a, const char *fmt, ...)
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

int api_json_u64(struct json_object *o, uint64_t *out)
{
    const char *s;
    char *end;
    unsigned long long v;

    if (json_object_is_type(o, json_type_int)) {
        if (json_object_get_int64(o) >= 0) {
            *out = (uint64_t)json_object_get_int64(o);
            return 0;
        }
        /* json-c keeps values above INT64_MAX as unsigned */
        *out = json_object_get_uint64(o);
        return *out > (uint64_t)INT64_MAX ? 0 : -EINVAL;
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

/* The parent domain of a host name: "platform.ringcentral.com" -> "ringcentral.com". */
static char *parent_domain(const char *host)
{
    const char *dot = strchr(host, '.');

    if (!dot || host[0] == '[' || strspn(host, "0123456789.") == strlen(host))
        return NULL; /* single label or an address: only that host itself */
    return mem_strdup(strchr(dot + 1, '.') ? dot + 1 : host);
}

int api_new(const struct api_opts *o, struct api **out, char *err, size_t errlen)
{
    struct api *a;
    char *server = NULL, *media = NULL, *host;

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
    a = mem_calloc(1, sizeof(*a));
    a->server = server;
    a->media = media;
    host = url_host(server);
    a->server_loopback = url_host_is_loopback(host);
    a->server_domain = a->server_loopback ? NULL : parent_domain(host);
    free(host);
    a->timeout_ms = (int64_t)o->timeout_s * 1000;
    a->max_downloads = o->max_downloads;
    a->http = http_new();
    a->pace = pace_new(NULL, NULL);
    exec_init(&a->exec, a->http, a->pace, o->verbose_http);
    a->auth = auth_new(&a->exec, server, o->client_id, o->client_secret, o->jwt);
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
    pace_free(a->pace);
    http_free(a->http);
    pthread_cond_destroy(&a->dl_cond);
    pthread_mutex_destroy(&a->dl_lock);
    pthread_mutex_destroy(&a->lock);
    free(a->server);
    free(a->server_domain);
    free(a->media);
    free(a);
}

int api_request(struct api *a, int64_t deadline, enum api_prio prio, struct exec_req *rq,
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

/* GET one JSON object (Light group). */
static int get_object(struct api *a, int64_t deadline, enum api_prio prio, const char *url,
                      enum pace_group group, struct exec_res *res)
{
    struct exec_req rq = {
        .http = {.method = "GET", .url = url, .max_body = API_JSON_MAX},
        .group = group,
        .idempotent = true,
        .want_json = true,
    };
    int rc = api_request(a, deadline, prio, &rq, res);

    if (rc == 0 && !json_object_is_type(res->json, json_type_object))
        rc = -EIO;
    return rc;
}

int api_login(struct api *a, const struct api_call *c, char *err, size_t errlen)
{
    int64_t deadline = api_deadline(a, c);
    struct json_object *acc, *id, *own;
    struct exec_res res;
    char *url;
    uint64_t v, owner = 0;
    int rc = auth_login(a->auth, deadline, api_prio_of(c), err, errlen);

    if (rc != 0)
        return rc;
    /* The token names only the extension (owner_id); the account id comes from extension/~. */
    url = api_url_for(a, "extension/~");
    exec_res_init(&res);
    rc = get_object(a, deadline, api_prio_of(c), url, PACE_LIGHT, &res);
    free(url);
    if (rc == 0 && json_object_object_get_ex(res.json, "account", &acc) &&
        json_object_object_get_ex(acc, "id", &id) && api_json_u64(id, &v) == 0) {
        if (json_object_object_get_ex(res.json, "id", &own))
            api_json_u64(own, &owner);
        pthread_mutex_lock(&a->lock);
        snprintf(a->account_id, sizeof(a->account_id), "%llu", (unsigned long long)v);
        a->owner_id = owner;
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

const char *api_account_id(const struct api *a)
{
    return a->account_id;
}

uint64_t api_owner_id(struct api *a)
{
    pthread_mutex_lock(&a->lock);
    uint64_t v = a->owner_id;
    pthread_mutex_unlock(&a->lock);
    return v;
}

/* Copy at most n-1 bytes of s into d without cutting a UTF-8 sequence. */
static void copy_utf8(char *d, size_t n, const char *s)
{
    size_t l = strlen(s);

    if (l >= n) {
        l = n - 1;
        while (l > 0 && ((unsigned char)s[l] & 0xc0) == 0x80)
            l--;
    }
    memcpy(d, s, l);
    d[l] = '\0';
}

/* One extension object into e; -EINVAL when it has no usable id. */
static int ext_from_json(struct json_object *o, struct api_ext *e)
{
    struct json_object *v;

    memset(e, 0, sizeof(*e));
    if (!json_object_object_get_ex(o, "id", &v) || api_json_u64(v, &e->id) != 0)
        return -EINVAL;
    if (json_object_object_get_ex(o, "extensionNumber", &v) &&
        json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t n = strlen(s);
        if (n > 0 && n < sizeof(e->number) &&
            strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*#+-") == n)
            memcpy(e->number, s, n + 1);
    }
    if (json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string))
        copy_utf8(e->name, sizeof(e->name), json_object_get_string(v));
    return 0;
}

struct ext_acc {
    struct api_ext *v; /* the array */
    size_t n, cap;     /* used, allocated */
};

/* One entry of the extension list: kept when Enabled with a valid id. */
static int ext_record(void *ctx, struct json_object *o)
{
    struct ext_acc *acc = ctx;
    struct json_object *st;
    struct api_ext e;
    if (!json_object_object_get_ex(o, "status", &st) ||
        !json_object_is_type(st, json_type_string) ||
        strcmp(json_object_get_string(st), "Enabled") != 0)
        return 0;
    if (ext_from_json(o, &e) != 0) {
        log_warn("extension list: an entry without a valid id skipped");
        return 0;
    }
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->v = mem_reallocarray(acc->v, acc->cap, sizeof(*acc->v));
    }
    acc->v[acc->n++] = e;
    return 0;
}

int api_extensions(struct api *a, const struct api_call *c, struct api_ext **out, size_t *n)
{
    int64_t deadline = api_deadline(a, c);
    struct ext_acc acc = {0};
    struct exec_res res;
    char *url = api_url_for(a, "extension?perPage=1000");
    int rc = page_walk(a, deadline, api_prio_of(c), url, PACE_MEDIUM, ext_record, &acc);

    free(url);
    *out = NULL;
    *n = 0;
    if (rc == 0) {
        *out = acc.v ? acc.v : mem_calloc(1, sizeof(**out));
        *n = acc.n;
        return 0;
    }
    free(acc.v);
    if (rc != -EACCES)
        return rc;
    log_info("the extension list is forbidden (the app lacks ReadAccounts); using extension/~");
    url = api_url_for(a, "extension/~");
    exec_res_init(&res);
    rc = get_object(a, deadline, api_prio_of(c), url, PACE_LIGHT, &res);
    free(url);
    if (rc == 0) {
        *out = mem_calloc(1, sizeof(**out));
        if (ext_from_json(res.json, *out) == 0) {
            *n = 1;
        } else {
            free(*out);
            *out = NULL;
            rc = -EIO;
        }
    }
    exec_res_free(&res);
    return rc;
}

void api_get_stats(struct api *a, struct api_stats *out)
{
    out->requests = atomic_load(&a->exec.requests);
    out->retries = atomic_load(&a->exec.retries);
    out->rate_limited = atomic_load(&a->exec.rate_limited);
    out->refreshes = auth_refreshes(a->auth);
}

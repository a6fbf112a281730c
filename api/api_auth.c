/* api_auth — JWT grant, refresh, one session (see api_auth.h). */
#include "api/api_auth.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_err.h"
#include "api/api_url.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

#define TOKEN_BODY_MAX  (64 * 1024)
#define TOKEN_MAX_LEN   8192
#define SOFT_MARGIN_MAX 60000 /* refresh at most this long before expiry */

struct auth {
    struct exec *exec;          /* requests go through it */
    char *token_url;            /* <server>/restapi/oauth/token */
    char *server;               /* base URL, for messages */
    char *basic;                /* "Basic base64(id:secret)" (secret) */
    char *jwt;                  /* JWT credential (secret) */
    pthread_mutex_t lock;       /* guards the fields below */
    pthread_cond_t cond;        /* signalled when busy clears */
    bool busy;                  /* one thread is at the token endpoint */
    char *access;               /* access token (secret), NULL when none */
    char *refresh;              /* refresh token (secret), NULL when none */
    int64_t access_exp;         /* monotonic ms when the access token expires */
    int64_t access_soft;        /* monotonic ms from which to refresh it */
    int64_t refresh_exp;        /* monotonic ms when the refresh token expires */
    uint64_t gen;               /* bumped with each new access token */
    bool had_session;           /* a grant has succeeded before */
    long last_status;           /* last failed grant: HTTP status (0 none) */
    char last_code[32];         /* its errorCode */
    char last_msg[160];         /* its transport error */
    _Atomic uint64_t refreshes; /* counter for api_get_stats */
};

/* A token answer. */
struct token {
    char *access, *refresh; /* secrets */
    int64_t expires_ms, refresh_expires_ms;
};

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void auth_value_free(char *value)
{
    wipe_free(value);
}

static char *base64(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), i;
    char *out = mem_alloc((n + 2) / 3 * 4 + 1), *o = out;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v =
            (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

void auth_wake(struct auth *a)
{
    pthread_mutex_lock(&a->lock);
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

struct auth *auth_new(struct exec *e, const char *server, const char *client_id,
                      const char *client_secret, const char *jwt)
{
    struct auth *a = mem_calloc(1, sizeof(*a));
    char *pair = mem_printf("%s:%s", client_id, client_secret), *b64 = base64(pair);

    a->exec = e;
    a->server = mem_strdup(server);
    a->token_url = mem_printf("%s/restapi/oauth/token", server);
    a->basic = mem_printf("Basic %s", b64);
    a->jwt = mem_strdup(jwt);
    wipe_free(pair);
    wipe_free(b64);
    pthread_mutex_init(&a->lock, NULL);
    cond_init_mono(&a->cond);
    atomic_init(&a->refreshes, 0);
    return a;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    wipe_free(a->basic);
    wipe_free(a->jwt);
    wipe_free(a->access);
    wipe_free(a->refresh);
    free(a->token_url);
    free(a->server);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

uint64_t auth_refreshes(struct auth *a)
{
    return atomic_load(&a->refreshes);
}

/* A token must be printable ASCII without spaces: it goes into a header line. */
static bool token_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TOKEN_MAX_LEN)
        return false;
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return false;
    return true;
}

static int64_t get_seconds(struct json_object *o, const char *key, int64_t dflt)
{
    struct json_object *v;
    int64_t n;

    if (!json_object_object_get_ex(o, key, &v))
        return dflt;
    if (json_object_is_type(v, json_type_int))
        n = json_object_get_int64(v);
    else if (json_object_is_type(v, json_type_string))
        n = strtoll(json_object_get_string(v), NULL, 10);
    else
        return dflt;
    return n > 0 && n < 10L * 365 * 86400 ? n : dflt;
}

static int parse_token(struct json_object *o, struct token *t)
{
    struct json_object *v;

    memset(t, 0, sizeof(*t));
    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "access_token", &v) ||
        !json_object_is_type(v, json_type_string) || !token_ok(json_object_get_string(v)))
        return -EIO;
    if (json_object_object_get_ex(o, "token_type", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         strcasecmp(json_object_get_string(v), "bearer") != 0))
        return -EIO;
    t->access = mem_strdup(json_object_get_string(json_object_object_get(o, "access_token")));
    t->expires_ms = get_seconds(o, "expires_in", 3600) * 1000;
    if (json_object_object_get_ex(o, "refresh_token", &v) &&
        json_object_is_type(v, json_type_string) && token_ok(json_object_get_string(v))) {
        t->refresh = mem_strdup(json_object_get_string(v));
        t->refresh_expires_ms = get_seconds(o, "refresh_token_expires_in", 604800) * 1000;
    }
    return 0;
}

/* POST one grant; form is a secret.  Returns 0 and *t, or -errno. */
static int grant(struct auth *a, int64_t deadline, enum api_prio prio, const char *form,
                 struct token *t)
{
    struct exec_req rq = {
        .http = {.method = "POST",
                 .url = a->token_url,
                 .authorization = a->basic,
                 .content_type = "application/x-www-form-urlencoded",
                 .body = form,
                 .body_len = strlen(form),
                 .max_body = TOKEN_BODY_MAX},
        .group = PACE_AUTH,
        .idempotent = true, /* a lost answer costs at most one spare session */
        .want_json = true,
        .errmap_flags = ERRMAP_AUTH,
    };
    struct exec_res res;
    int rc;

    exec_res_init(&res);
    rc = exec_run(a->exec, deadline, prio, &rq, &res);
    if (rc == 0 && parse_token(res.json, t) != 0) {
        log_warn("token endpoint answered without a usable access token");
        rc = -EIO;
    }
    pthread_mutex_lock(&a->lock);
    a->last_status = rc ? res.http.status : 0;
    snprintf(a->last_code, sizeof(a->last_code), "%s", rc ? res.http.error_code : "");
    snprintf(a->last_msg, sizeof(a->last_msg), "%s", rc ? res.http.cc_msg : "");
    pthread_mutex_unlock(&a->lock);
    /* the answer holds the tokens: wipe it */
    if (res.http.body.data)
        explicit_bzero(res.http.body.data, res.http.body.len);
    exec_res_free(&res);
    return rc;
}

static void store(struct auth *a, struct token *t, int64_t started)
{
    int64_t life = t->expires_ms, margin = life / 5;

    if (margin > SOFT_MARGIN_MAX)
        margin = SOFT_MARGIN_MAX;
    pthread_mutex_lock(&a->lock);
    wipe_free(a->access);
    a->access = t->access;
    a->access_exp = started + life;
    a->access_soft = started + life - margin;
    if (t->refresh) {
        wipe_free(a->refresh);
        a->refresh = t->refresh;
        a->refresh_exp = started + t->refresh_expires_ms;
    }
    a->gen++;
    if (a->had_session)
        atomic_fetch_add(&a->refreshes, 1);
    a->had_session = true;
    pthread_mutex_unlock(&a->lock);
    t->access = t->refresh = NULL;
}

/* Get a new access token: refresh when possible, else the JWT grant.  Called busy. */
static int obtain(struct auth *a, int64_t deadline, enum api_prio prio)
{
    int64_t now = isotime_mono_ms();
    struct token t;
    char *form = NULL, *esc;
    int rc = -EACCES;

    pthread_mutex_lock(&a->lock);
    if (a->refresh && now < a->refresh_exp) {
        esc = url_escape(a->refresh);
        form = mem_printf("grant_type=refresh_token&refresh_token=%s", esc);
        wipe_free(esc);
    }
    pthread_mutex_unlock(&a->lock);
    if (form) {
        rc = grant(a, deadline, prio, form, &t);
        wipe_free(form);
        if (rc == 0) {
            store(a, &t, now);
            log_debug("access token refreshed");
            return 0;
        }
        if (rc != -EACCES && rc != -EINVAL)
            return rc; /* kept: if it was spent after all, the next refresh is refused */
        pthread_mutex_lock(&a->lock);
        wipe_free(a->refresh);
        a->refresh = NULL;
        pthread_mutex_unlock(&a->lock);
        log_debug("refresh refused; logging in again with the JWT");
    }
    esc = url_escape(a->jwt);
    form = mem_printf("grant_type=%s&assertion=%s",
                      "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", esc);
    wipe_free(esc);
    now = isotime_mono_ms();
    rc = grant(a, deadline, prio, form, &t);
    wipe_free(form);
    if (rc == 0) {
        store(a, &t, now);
        log_debug("logged in (JWT grant)");
    }
    return rc;
}

/* Wait (lock held) while another thread is at the token endpoint. */
static int wait_idle(struct auth *a, int64_t deadline)
{
    while (a->busy) {
        if (deadline <= isotime_mono_ms() || http_stopping(a->exec->http))
            return -EIO;
        cond_wait_until(&a->cond, &a->lock, deadline);
    }
    return 0;
}

/* Run obtain() as the one busy thread (lock held on entry and exit). */
static int obtain_locked(struct auth *a, int64_t deadline, enum api_prio prio)
{
    int rc;

    a->busy = true;
    pthread_mutex_unlock(&a->lock);
    rc = obtain(a, deadline, prio);
    pthread_mutex_lock(&a->lock);
    a->busy = false;
    pthread_cond_broadcast(&a->cond);
    return rc;
}

int auth_bearer(struct auth *a, int64_t deadline, enum api_prio prio, char **value, uint64_t *gen)
{
    int rc = 0;

    *value = NULL;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        int64_t now;
        bool still_valid;

        if ((rc = wait_idle(a, deadline)) != 0)
            break;
        now = isotime_mono_ms();
        if (a->access && now < a->access_soft) {
            *value = mem_printf("Bearer %s", a->access);
            *gen = a->gen;
            break;
        }
        still_valid = a->access && now < a->access_exp;
        rc = obtain_locked(a, deadline, prio);
        if (rc == 0)
            continue;
        if (still_valid && a->access && isotime_mono_ms() < a->access_exp) {
            /* keep using it; try refreshing again a little later */
            a->access_soft =
                isotime_mono_ms() + 5000 < a->access_exp ? isotime_mono_ms() + 5000 : a->access_exp;
            *value = mem_printf("Bearer %s", a->access);
            *gen = a->gen;
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int auth_rejected(struct auth *a, int64_t deadline, enum api_prio prio, uint64_t gen)
{
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = wait_idle(a, deadline);
    if (rc == 0 && a->gen == gen) {
        wipe_free(a->access);
        a->access = NULL;
        rc = obtain_locked(a, deadline, prio);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int auth_login(struct auth *a, int64_t deadline, enum api_prio prio, char *err, size_t errlen)
{
    char *v = NULL;
    uint64_t gen;
    int rc = auth_bearer(a, deadline, prio, &v, &gen);

    auth_value_free(v);
    if (rc == 0)
        return 0;
    pthread_mutex_lock(&a->lock);
    if (rc == -EACCES)
        snprintf(err, errlen, "%s refused the credentials (HTTP %ld%s%s)", a->server,
                 a->last_status, a->last_code[0] ? " " : "", a->last_code);
    else if (rc == -EHOSTUNREACH)
        snprintf(err, errlen, "cannot reach %s: %s", a->server, a->last_msg);
    else if (a->last_msg[0])
        snprintf(err, errlen, "login to %s failed: %s", a->server, a->last_msg);
    else if (a->last_status)
        snprintf(err, errlen, "login to %s failed (HTTP %ld%s%s)", a->server, a->last_status,
                 a->last_code[0] ? " " : "", a->last_code);
    else
        snprintf(err, errlen, "login to %s failed: %s", a->server, errmap_name(rc));
    pthread_mutex_unlock(&a->lock);
    return rc;
}

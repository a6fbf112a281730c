/* api_auth — JWT grant, refresh, one session, bounded token requests (see api_auth.h). */
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

#include "api/api_err.h"
#include "api/api_secret.h"
#include "api/api_url.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define TOKEN_BODY_MAX  (64 * 1024)
#define TOKEN_MAX_LEN   8192
#define SOFT_MARGIN_MAX 60000 /* refresh at most this long before expiry */
#define RETRY_SOFT_MS   5000  /* after a failed proactive refresh, try again this much later */
#define AUTH_SLOTS      2     /* token requests in flight at most */
#define JWT_GRANT_TYPE  "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

/* One token request in flight. */
struct slot {
    bool busy;          /* a thread is at the token endpoint with it */
    bool refresh;       /* it is a refresh (at most one slot is) */
    int64_t started;    /* monotonic ms it began */
    _Atomic int cancel; /* set when another request brought a token: abort it */
};

struct auth {
    struct exec *exec;    /* requests go through it */
    char *token_url;      /* <server>/restapi/oauth/token */
    char *server;         /* base URL, for messages */
    char *basic;          /* "Basic base64(id:secret)" (secret) */
    char *jwt;            /* JWT credential (secret) */
    int64_t bound_ms;     /* a token request's own limit */
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t cond;  /* broadcast when a slot ends or a token is stored */
    struct slot slots[AUTH_SLOTS];
    char *access;               /* access token (secret), NULL when none */
    char *refresh;              /* refresh token (secret), NULL when none */
    int64_t access_exp;         /* monotonic ms when the access token expires */
    int64_t access_soft;        /* monotonic ms from which to refresh it */
    int64_t refresh_exp;        /* monotonic ms when the refresh token expires */
    uint64_t gen;               /* bumped with each new access token */
    uint64_t failures;          /* bumped with each failed token request */
    int fail_rc;                /* the last failed request's -errno */
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

static void token_wipe(struct token *t)
{
    secret_free(t->access);
    secret_free(t->refresh);
    t->access = t->refresh = NULL;
}

void auth_value_free(char *value)
{
    secret_free(value);
}

/* Standard base64 of s, allocated at its exact size (s is a secret). */
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
                      const char *client_secret, const char *jwt, int64_t timeout_ms)
{
    struct auth *a = mem_calloc(1, sizeof(*a));
    char *pair = secret_join(client_id, ":", client_secret, (char *)NULL), *b64 = base64(pair);

    a->exec = e;
    a->server = mem_strdup(server);
    a->token_url = mem_printf("%s/restapi/oauth/token", server);
    a->basic = secret_join("Basic ", b64, (char *)NULL);
    a->jwt = secret_join(jwt, (char *)NULL);
    a->bound_ms = timeout_ms < AUTH_BOUND_CAP_MS ? timeout_ms : AUTH_BOUND_CAP_MS;
    secret_free(pair);
    secret_free(b64);
    pthread_mutex_init(&a->lock, NULL);
    cond_init_mono(&a->cond);
    for (int i = 0; i < AUTH_SLOTS; i++)
        atomic_init(&a->slots[i].cancel, 0);
    atomic_init(&a->refreshes, 0);
    return a;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    secret_free(a->basic);
    secret_free(a->jwt);
    secret_free(a->access);
    secret_free(a->refresh);
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

/* The string member key of o when it is a usable token, else NULL. */
static const char *token_member(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
        !token_ok(json_object_get_string(v)))
        return NULL;
    return json_object_get_string(v);
}

/* Read a token answer (a secret, wiped by the caller); -EIO when unusable. */
static int parse_token(const char *body, size_t len, struct token *t)
{
    struct json_object *o = secret_json_parse(body, len), *v;
    const char *access, *refresh;
    int rc = -EIO;

    memset(t, 0, sizeof(*t));
    access = o && json_object_is_type(o, json_type_object) ? token_member(o, "access_token") : NULL;
    if (access && (!json_object_object_get_ex(o, "token_type", &v) ||
                   (json_object_is_type(v, json_type_string) &&
                    strcasecmp(json_object_get_string(v), "bearer") == 0))) {
        t->access = secret_join(access, (char *)NULL);
        t->expires_ms = get_seconds(o, "expires_in", 3600) * 1000;
        refresh = token_member(o, "refresh_token");
        if (refresh) {
            t->refresh = secret_join(refresh, (char *)NULL);
            t->refresh_expires_ms = get_seconds(o, "refresh_token_expires_in", 604800) * 1000;
        }
        rc = 0;
    }
    secret_json_put(o);
    return rc;
}

/* POST one grant (form is a secret) until rdeadline; cancel aborts it.
 * Returns 0 and *t, or -errno. */
static int grant(struct auth *a, int64_t rdeadline, enum api_prio prio, const char *form,
                 const _Atomic int *cancel, struct token *t)
{
    struct exec_req rq = {
        .http = {.method = "POST",
                 .url = a->token_url,
                 .authorization = a->basic,
                 .content_type = "application/x-www-form-urlencoded",
                 .body = form,
                 .body_len = strlen(form),
                 .max_body = TOKEN_BODY_MAX,
                 .secret = true,
                 .cancel = cancel},
        .group = PACE_AUTH,
        .idempotent = true, /* a lost answer costs at most one spare session */
        .errmap_flags = ERRMAP_AUTH,
    };
    struct exec_res res;
    int rc;

    memset(t, 0, sizeof(*t));
    exec_res_init(&res);
    rc = exec_run(a->exec, rdeadline, prio, &rq, &res);
    if (rc == 0 && parse_token(res.http.body.data, res.http.body.len, t) != 0) {
        log_warn("token endpoint answered without a usable access token");
        rc = -EIO;
    }
    pthread_mutex_lock(&a->lock);
    a->last_status = rc ? res.http.status : 0;
    snprintf(a->last_code, sizeof(a->last_code), "%s", rc ? res.http.error_code : "");
    snprintf(a->last_msg, sizeof(a->last_msg), "%s", rc ? res.http.cc_msg : "");
    pthread_mutex_unlock(&a->lock);
    exec_res_free(&res); /* the body was marked secret: wiped */
    return rc;
}

/* Keep t as the session's tokens (lock held); t is emptied. */
static void store(struct auth *a, struct token *t, int64_t started)
{
    int64_t life = t->expires_ms, margin = life / 5;

    if (margin > SOFT_MARGIN_MAX)
        margin = SOFT_MARGIN_MAX;
    secret_free(a->access);
    a->access = t->access;
    a->access_exp = started + life;
    a->access_soft = started + life - margin;
    if (t->refresh) {
        secret_free(a->refresh);
        a->refresh = t->refresh;
        a->refresh_exp = started + t->refresh_expires_ms;
    }
    a->gen++;
    if (a->had_session)
        atomic_fetch_add(&a->refreshes, 1);
    a->had_session = true;
    t->access = t->refresh = NULL;
    for (int i = 0; i < AUTH_SLOTS; i++)
        if (a->slots[i].busy)
            atomic_store(&a->slots[i].cancel, 1); /* their answers are not needed now */
}

/* The grant form for a refresh with the current refresh token, or NULL when
 * there is none still valid (lock held). */
static char *refresh_form(struct auth *a, int64_t now)
{
    char *esc, *form;

    if (!a->refresh || now >= a->refresh_exp)
        return NULL;
    esc = url_escape(a->refresh);
    form = secret_join("grant_type=refresh_token&refresh_token=", esc, (char *)NULL);
    secret_free(esc);
    return form;
}

static char *jwt_form(struct auth *a)
{
    char *esc = url_escape(a->jwt);
    char *form = secret_join("grant_type=", JWT_GRANT_TYPE, "&assertion=", esc, (char *)NULL);

    secret_free(esc);
    return form;
}

/*
 * One grant from slot s (lock held on entry and exit, released for the
 * request).  Stores its token unless a newer one arrived meanwhile (then the
 * answer is wiped unused).  *refused: it was a refresh the server refused
 * (the refresh token is then dropped).  Returns 0 or -errno.
 */
static int grant_from_slot(struct auth *a, struct slot *s, char *form, int64_t rdeadline,
                           enum api_prio prio, bool *refused)
{
    uint64_t gen0 = a->gen;
    int64_t started = isotime_mono_ms();
    struct token t;
    int rc;

    *refused = false;
    pthread_mutex_unlock(&a->lock);
    rc = grant(a, rdeadline, prio, form, &s->cancel, &t);
    secret_free(form);
    pthread_mutex_lock(&a->lock);
    if (rc == 0 && a->gen == gen0) {
        store(a, &t, started);
        log_debug(s->refresh ? "access token refreshed" : "logged in (JWT grant)");
    } else if (rc == 0) {
        token_wipe(&t); /* another request brought a token first */
    } else if (s->refresh && (rc == -EACCES || rc == -EINVAL) && a->gen == gen0) {
        secret_free(a->refresh); /* spent or revoked: only a JWT grant helps now */
        a->refresh = NULL;
        *refused = true;
        log_debug("refresh refused; logging in again with the JWT");
    }
    return rc;
}

/*
 * Run one token request in a free slot (lock held on entry and exit):
 * refresh when allowed and possible, else (or after a refused refresh) a JWT
 * grant, each bounded by rdeadline.  Returns 0 or -errno; *bounded says the
 * request ran into rdeadline.
 */
static int run_slot(struct auth *a, bool may_refresh, int64_t rdeadline, enum api_prio prio,
                    bool *bounded)
{
    struct slot *s = !a->slots[0].busy ? &a->slots[0] : &a->slots[1];
    char *form = may_refresh ? refresh_form(a, isotime_mono_ms()) : NULL;
    bool refused = false;
    int rc;

    s->busy = true;
    s->started = isotime_mono_ms();
    atomic_store(&s->cancel, 0);
    s->refresh = form != NULL;
    rc = form ? grant_from_slot(a, s, form, rdeadline, prio, &refused) : -EACCES;
    if (!form || refused) {
        s->refresh = false;
        rc = grant_from_slot(a, s, jwt_form(a), rdeadline, prio, &refused);
    }
    *bounded = rc != 0 && isotime_mono_ms() >= rdeadline;
    if (rc != 0) {
        a->failures++;
        a->fail_rc = rc;
    }
    s->busy = false;
    pthread_cond_broadcast(&a->cond);
    return rc;
}

/* Slots busy now, and when the one in flight (if only one) stops holding
 * others back. */
static int busy_slots(const struct auth *a, int64_t *stall_at)
{
    int n = 0;

    *stall_at = INT64_MAX;
    for (int i = 0; i < AUTH_SLOTS; i++)
        if (a->slots[i].busy) {
            n++;
            *stall_at = a->slots[i].started + AUTH_STALL_MS;
        }
    return n;
}

static bool final_failure(int rc)
{
    return rc == -EACCES || rc == -EHOSTUNREACH;
}

/*
 * Make sure a usable access token is held (lock held on entry and exit),
 * by the rules of api_auth.h.  Returns 0, or -errno at the deadline, at
 * shutdown, or for a failure no other request can cure.
 */
static int get_token(struct auth *a, int64_t deadline, enum api_prio prio)
{
    uint64_t failures = a->failures;
    int rc = -EIO;

    for (;;) {
        int64_t now = isotime_mono_ms(), stall_at;
        int busy = busy_slots(a, &stall_at);
        bool bounded;

        if (a->access && now < a->access_exp)
            return 0;
        if (now >= deadline || http_stopping(a->exec->http))
            return rc;
        if (a->failures != failures && final_failure(a->fail_rc))
            return a->fail_rc; /* what the request we waited for learned */
        if (busy == 0 || (busy == 1 && now >= stall_at)) {
            int64_t rdeadline = now + a->bound_ms < deadline ? now + a->bound_ms : deadline;
            if (busy == 1)
                log_debug("a token request in flight for %d ms: sending a JWT grant beside it",
                          AUTH_STALL_MS);
            rc = run_slot(a, busy == 0, rdeadline, prio, &bounded);
            failures = a->failures;
            if (rc != 0 && !bounded && !(a->access && isotime_mono_ms() < a->access_exp))
                return rc;
            continue;
        }
        cond_wait_until(&a->cond, &a->lock, busy == 1 && stall_at < deadline ? stall_at : deadline);
    }
}

/*
 * The current token is in its refresh window and nobody is at the token
 * endpoint: refresh it, within half of the caller's time left (lock held).
 * On failure the current token stays in use and the next try is
 * RETRY_SOFT_MS later.
 */
static void refresh_early(struct auth *a, int64_t deadline, enum api_prio prio)
{
    int64_t now = isotime_mono_ms(), rdeadline = now + (deadline - now) / 2;
    bool bounded;

    if (rdeadline > now + a->bound_ms)
        rdeadline = now + a->bound_ms;
    if (run_slot(a, true, rdeadline, prio, &bounded) != 0 && a->access) {
        now = isotime_mono_ms();
        a->access_soft = now + RETRY_SOFT_MS < a->access_exp ? now + RETRY_SOFT_MS : a->access_exp;
    }
}

int auth_bearer(struct auth *a, int64_t deadline, enum api_prio prio, char **value, uint64_t *gen)
{
    int64_t now, stall_at;
    int rc = 0;

    *value = NULL;
    pthread_mutex_lock(&a->lock);
    now = isotime_mono_ms();
    if (a->access && now >= a->access_soft && now < a->access_exp && deadline > now &&
        busy_slots(a, &stall_at) == 0)
        refresh_early(a, deadline, prio);
    rc = get_token(a, deadline, prio);
    if (rc == 0) {
        *value = secret_join("Bearer ", a->access, (char *)NULL);
        *gen = a->gen;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int auth_rejected(struct auth *a, int64_t deadline, enum api_prio prio, uint64_t gen)
{
    int rc;

    pthread_mutex_lock(&a->lock);
    if (a->gen == gen && a->access) {
        secret_free(a->access);
        a->access = NULL;
    }
    rc = get_token(a, deadline, prio);
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

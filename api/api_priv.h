/*
 * api_priv — the client object shared by the api_*.c files that implement
 * api.h (api.c: session and extensions; api_store.c: message-store calls;
 * api_fetch.c: content; api_page.c: paged listings).  Not for use outside api/.
 */
#ifndef RCFS_API_PRIV_H
#define RCFS_API_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_auth.h"
#include "api/api_exec.h"
#include "api/api_http.h"
#include "api/api_pace.h"

/* Cap of a JSON answer (a page of 1000 records is a few MB). */
#define API_JSON_MAX (64u * 1024 * 1024)

struct api {
    char *server;            /* normalised base URL, no trailing slash */
    char *server_domain;     /* parent domain of the server host ("ringcentral.com"), or NULL */
    bool server_loopback;    /* the server is on a loopback host */
    char *media;             /* normalised media origin, or NULL */
    int64_t timeout_ms;      /* default call bound */
    int max_downloads;       /* content transfers at once */
    struct http *http;       /* transport */
    struct pace *pace;       /* rate-limit pacing */
    struct exec exec;        /* retries and counters */
    struct auth *auth;       /* OAuth session */
    pthread_mutex_t lock;    /* guards account_id and owner_id */
    char account_id[24];     /* "~" until api_login resolved it */
    uint64_t owner_id;       /* the credentials' own extension id, 0 until api_login */
    pthread_mutex_t dl_lock; /* download slots: guards the three below */
    pthread_cond_t dl_cond;  /* signalled when a slot frees */
    int dl_active;           /* transfers running */
    int dl_user_waiting;     /* USER callers waiting for a slot */
};

/* The call's deadline (deadline_ms, or now + timeout when 0). */
int64_t api_deadline(const struct api *a, const struct api_call *c);

/* The call's priority (USER when c is NULL). */
enum api_prio api_prio_of(const struct api_call *c);

/*
 * Run rq with the session's bearer token; on 401 get a new token once
 * (auth_rejected) and run it again.  Same contract as exec_run.
 */
int api_request(struct api *a, int64_t deadline, enum api_prio prio, struct exec_req *rq,
                struct exec_res *res);

/* "<server>/restapi/v1.0/account/~/<path>" (path printf-formatted), malloc'd. */
char *api_url_for(const struct api *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A uint64 from a JSON integer or decimal string; -EINVAL otherwise. */
int api_json_u64(struct json_object *o, uint64_t *out);

#endif

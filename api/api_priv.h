/*
 * api_priv — the client object shared by the api_*.c files that implement
 * api.h (api.c: the client and its session; api_ext.c: extensions;
 * api_store.c: message-store calls; api_fetch.c: content), and by the layers
 * below them (api_req.c: the authenticated request; api_page.c: paged
 * listings).  Not for use outside api/.
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
#include "api/api_reach.h"
#include "api/api_scope.h"

struct api {
    char *server;            /* normalised base URL, no trailing slash */
    char *media;             /* normalised media origin, or NULL */
    struct scope scope;      /* where the bearer token may go */
    int64_t timeout_ms;      /* default call bound */
    int max_downloads;       /* content transfers at once */
    struct http *http;       /* transport */
    struct pace *pace;       /* rate-limit pacing */
    struct exec exec;        /* retries and counters */
    struct auth *auth;       /* OAuth session */
    struct reach *reach;     /* per extension: may its messages be read */
    pthread_mutex_t lock;    /* guards account_id and the three self fields */
    char account_id[24];     /* "~" until api_login resolved it */
    struct api_ext self;     /* the credentials' own extension (extension/~) */
    bool self_admin;         /* its permissions.admin.enabled was true */
    bool self_known;         /* self and self_admin are set */
    pthread_mutex_t dl_lock; /* download slots: guards the three below */
    pthread_cond_t dl_cond;  /* signalled when a slot frees */
    int dl_active;           /* transfers running */
    int dl_user_waiting;     /* USER callers waiting for a slot */
};

struct json_object;

/*
 * api_ext.c: remember an extension/~ answer (me) as the credentials' own
 * extension and admin flag, for api_extensions.  Returns 0, or -EIO when me
 * has no valid id (nothing is remembered then).
 */
int ext_note_self(struct api *a, struct json_object *me);

#endif

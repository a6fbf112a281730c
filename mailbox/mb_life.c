/*
 * mb_life — a mailbox's life: opening it (credentials, client, cache folder,
 * login, extensions, persisted state), starting its threads after the
 * daemon forked, and freeing it (implements those parts of mb.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_cred.h"
#include "mailbox/mb_conv.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_internal.h"
#include "mailbox/mb_loop.h"
#include "mailbox/mb_prefetch.h"
#include "mailbox/mb_push.h"
#include "mailbox/mb_obx.h"
#include "mailbox/mb_state.h"
#include "mailbox/mb_text.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

static struct mb *alloc_mb(const struct mb_config *cfg)
{
    struct mb *m = mem_calloc(1, sizeof *m);
    m->o = (struct mb_opts){
        .cache_max = cfg->cache_max,
        .poll_s = cfg->poll_s,
        .probe_bytes = cfg->probe_bytes,
        .timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 60,
        .purge = cfg->purge,
        .push = !cfg->no_push,
        .prefetch = !cfg->no_prefetch,
        .events = cfg->events,
    };
    pthread_rwlock_init(&m->ix.lock, NULL);
    pthread_mutex_init(&m->ls.lock, NULL);
    cond_init_mono(&m->ls.cond);
    pthread_mutex_init(&m->fl.lock, NULL);
    cond_init_mono(&m->fl.cond);
    pthread_mutex_init(&m->bt.lock, NULL);
    cond_init_mono(&m->bt.cond);
    pthread_mutex_init(&m->lp.lock, NULL);
    cond_init_mono(&m->lp.cond);
    pthread_mutex_init(&m->ps.lock, NULL);
    idx_init(m);
    conv_init(m);
    return m;
}

/* The REST client from the credentials (which are wiped right after). */
static int open_client(struct mb *m, const struct mb_config *cfg, char *err, size_t errlen)
{
    struct cred cred = {0};
    int rc = cred_load(&cred, cfg->credentials, err, errlen);
    if (rc < 0)
        return rc;
    struct api_opts ao = {
        .server_url = cred.server_url,
        .client_id = cred.client_id,
        .client_secret = cred.client_secret,
        .jwt = cred.jwt,
        .media_url = cfg->media_url,
        .timeout_s = m->o.timeout_s,
        .max_downloads = cfg->max_downloads > 0 ? cfg->max_downloads : 4,
        .verbose_http = cfg->verbose_http,
    };
    rc = api_new(&ao, &m->o.api, err, errlen);
    if (rc == 0) {
        m->server_url = mem_strdup(cred.server_url);
        m->client_id = mem_strdup(cred.client_id ? cred.client_id : "");
    }
    cred_free(&cred);
    return rc;
}

/* The cache folder, its content store (no thread yet) and the state folder. */
static int open_cache(struct mb *m, const struct mb_config *cfg, char *err, size_t errlen)
{
    int rc = cdir_open(cfg->cache_dir, &m->o.cache, err, errlen);
    if (rc < 0)
        return rc;
    rc = cobj_store_open(cdir_objects(m->o.cache), cfg->cache_max, &m->ps.objects);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open the content cache: %s", strerror(-rc));
        return rc;
    }
    char *scope = mem_printf("%s\n%s", m->server_url, m->client_id);
    m->ps.state_dir = cdir_state_path(m->o.cache, scope);
    free(scope);
    if (!m->ps.state_dir) {
        rc = -errno;
        snprintf(err, errlen, "cannot create the state folder: %s", strerror(errno));
        return rc;
    }
    return 0;
}

/* Extensions from the server's list (the persisted ones were not usable). */
static void set_extensions(struct mb *m, const struct api_ext *exts, size_t n)
{
    m->ix.exts = mem_calloc(n ? n : 1, sizeof *m->ix.exts);
    m->ix.n_ext = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        struct mb_ext *e = &m->ix.exts[i];
        e->id = exts[i].id;
        snprintf(e->number, sizeof e->number, "%s", exts[i].number);
        mbname_extension(exts[i].number, exts[i].id, e->name);
    }
}

/* Online: the extensions, then the persisted state if it is this account's
 * and lists the same extensions (else it is rebuilt from the server). */
static int load_online(struct mb *m, char *err, size_t errlen)
{
    struct api_call c = {.deadline_ms = isotime_mono_ms() + (int64_t)m->o.timeout_s * 1000,
                         .prio = API_PRIO_USER};
    struct api_ext *exts = NULL;
    size_t n = 0;
    int rc = api_extensions(m->o.api, &c, &exts, &n);
    if (rc < 0) {
        snprintf(err, errlen, "cannot list the extensions: %s", strerror(-rc));
        return rc;
    }
    const char *acc = api_account_id(m->o.api);
    m->account_id = mem_strdup(acc ? acc : "~");
    rc = state_load(m, m->account_id);
    bool same = rc == 0 && m->ix.n_ext == n;
    for (size_t i = 0; same && i < n; i++)
        same = m->ix.exts[i].id == exts[i].id;
    if (rc == 0 && !same) {
        log_info("persisted state does not match the account's extensions; rebuilding");
        state_discard(m);
    }
    if (rc != 0 || !same)
        set_extensions(m, exts, n);
    free(exts);
    return 0;
}

/* Two extensions with the same folder name: suffix the later ones with their id. */
static void unique_ext_names(struct mb *m)
{
    for (uint32_t i = 0; i < m->ix.n_ext; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(m->ix.exts[i].name, m->ix.exts[j].name) == 0)
                snprintf(m->ix.exts[i].name, MBNAME_MAX, "%" PRIu64, m->ix.exts[i].id);
}

/* Log in, then the index: online from the server (and the state), offline
 * from the state alone. */
static int load_index(struct mb *m, char *err, size_t errlen)
{
    struct api_call c = {.deadline_ms = isotime_mono_ms() + (int64_t)m->o.timeout_s * 1000,
                         .prio = API_PRIO_USER};
    char login_err[256] = "";
    int rc = api_login(m->o.api, &c, login_err, sizeof login_err);
    if (rc == -EACCES || rc == -EINVAL) {
        snprintf(err, errlen, "%s",
                 login_err[0] ? login_err : "the server refused the credentials");
        return rc;
    }
    if (rc == 0)
        return load_online(m, err, errlen);
    atomic_store(&m->net.offline, true);
    if (state_load(m, NULL) < 0) {
        snprintf(err, errlen, "%s, and nothing is cached for it",
                 login_err[0] ? login_err : "the server cannot be reached");
        return -EHOSTUNREACH;
    }
    log_info("server unreachable: serving the persisted state read-only");
    return 0;
}

int mb_open(const struct mb_config *cfg, struct mb **out, char *err, size_t errlen)
{
    struct mb *m = alloc_mb(cfg);
    *out = NULL;
    int rc = text_open(m, cfg, err, errlen);
    if (rc == 0)
        rc = open_client(m, cfg, err, errlen);
    if (rc == 0)
        rc = open_cache(m, cfg, err, errlen);
    if (rc == 0)
        rc = load_index(m, err, errlen);
    if (rc == 0 && !m->ps.rlog) {
        rc = rlog_open(m->ps.state_dir, 1, 1, 0, &m->ps.rlog);
        if (rc < 0)
            snprintf(err, errlen, "cannot open the record log: %s", strerror(-rc));
    }
    if (rc == 0)
        rc = outbox_open(m, cfg, err, errlen);
    if (rc < 0) {
        mb_free(m);
        return rc;
    }
    if (!m->created_ms)
        m->created_ms = isotime_now_ms();
    unique_ext_names(m);
    push_init(m);
    *out = m;
    return 0;
}

/* The content store's pressure hook: the filesystem gives up idle pins. */
static int release_idle(void *arg)
{
    struct mb *m = arg;
    return m->o.events.release_idle ? m->o.events.release_idle(m->o.events.ctx) : 0;
}

int mb_start(struct mb *m)
{
    if (cdir_note_pid(m->o.cache) < 0)
        log_warn("cannot record the daemon's pid in the cache folder's lock file");
    cobj_set_pressure_hook(m->ps.objects, release_idle, m);
    int rc = cobj_store_start(m->ps.objects);
    if (rc == 0)
        rc = text_start(m);
    if (rc == 0)
        rc = loop_start(m);
    if (rc == 0)
        rc = prefetch_start(m);
    if (rc == 0)
        rc = push_start(m);
    if (rc == 0)
        rc = outbox_start(m);
    return rc;
}

void mb_stop(struct mb *m)
{
    push_stop(m); /* no more events */
    text_stop(m); /* OCR helpers end; later landings queue nothing */
    loop_stop(m); /* ends the client's calls in progress too */
    prefetch_stop(m);
    outbox_stop(m);
    if (m->ps.objects)
        cobj_set_pressure_hook(m->ps.objects, NULL, NULL);
}

void mb_free(struct mb *m)
{
    if (!m)
        return;
    mb_stop(m);
    outbox_free(m);
    if (m->ps.rlog) {
        int rc = state_save(m);
        if (rc < 0)
            log_err("could not save the state: %s", strerror(-rc));
    }
    push_free(m);
    text_free(m); /* releases pinned documents before the store closes */
    idx_clear(m);
    rlog_close(m->ps.rlog);
    cobj_store_close(m->ps.objects);
    cdir_close(m->o.cache);
    api_free(m->o.api);
    free(m->ps.state_dir);
    free(m->server_url);
    free(m->client_id);
    free(m->account_id);
    pthread_rwlock_destroy(&m->ix.lock);
    pthread_mutex_destroy(&m->ls.lock);
    pthread_cond_destroy(&m->ls.cond);
    pthread_mutex_destroy(&m->fl.lock);
    pthread_cond_destroy(&m->fl.cond);
    pthread_mutex_destroy(&m->bt.lock);
    pthread_cond_destroy(&m->bt.cond);
    pthread_mutex_destroy(&m->lp.lock);
    pthread_cond_destroy(&m->lp.cond);
    pthread_mutex_destroy(&m->ps.lock);
    free(m);
}

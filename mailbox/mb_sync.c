/*
 * mb_sync — the background thread: first listing, message-sync, polling,
 * reconnecting, saving the state.
 *
 * First mount of a mailbox: FSync per extension (only to obtain a token; the
 * records come from the listings, which follow), then every type folder is
 * listed in the background.  Later mounts start from the persisted state and
 * ask only what changed: one ISync per extension.  Then an ISync every
 * poll_s seconds, or when asked (mb_refresh_now).  The server repeats ~5 s
 * before each token; records are applied only when newer, so the overlap is
 * harmless.  An invalid token falls back to FSync plus a full relisting that
 * reconciles the index (whatever the relisting no longer has was purged), so
 * nothing is lost.  Tombstones of deleted messages carry only id and
 * availability; their full records are fetched again in batches so that
 * meta.json stays the server's record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

/* How long background calls may take, and how often to retry when offline. */
#define BG_DEADLINE_MS   (120 * 1000)
#define OFFLINE_RETRY_MS (5 * 1000)

struct sync_ctx {
    struct mb *m;
    uint32_t ext;
    struct mb_changes chg;
    uint64_t *refresh; /* ids of tombstoned Deleted messages to fetch again */
    size_t n_refresh, cap_refresh;
    uint32_t epoch;
    uint64_t applied;
};

static int sync_cb(void *ctx, struct rec *r)
{
    struct sync_ctx *sc = ctx;
    struct mb *m = sc->m;
    pthread_rwlock_wrlock(&m->lock);
    if (r->partial) {
        struct mb_msg *msg = mb_find_id(m, sc->ext, r->id);
        if (msg && msg->availability != r->availability) {
            mb_set_avail(m, msg, r->availability, &sc->chg);
            sc->applied++;
            if (r->availability == REC_DELETED) {
                if (sc->n_refresh == sc->cap_refresh) {
                    sc->cap_refresh = sc->cap_refresh ? sc->cap_refresh * 2 : 64;
                    sc->refresh = mem_reallocarray(sc->refresh, sc->cap_refresh, sizeof(uint64_t));
                }
                sc->refresh[sc->n_refresh++] = r->id;
            }
        }
    } else {
        struct mb_msg *before = mb_find_id(m, sc->ext, r->id);
        int64_t old_mod = before ? before->modified_ms : -1;
        mb_apply_record(m, sc->ext, r, &sc->chg);
        struct mb_msg *msg = mb_find_id(m, sc->ext, r->id);
        if (msg && msg->modified_ms != old_mod)
            sc->applied++;
    }
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

static void set_token(struct mb *m, uint32_t ext, char *token)
{
    pthread_rwlock_wrlock(&m->lock);
    free(m->exts[ext].sync_token);
    m->exts[ext].sync_token = token;
    m->exts[ext].synced = true;
    m->dirty = true;
    pthread_rwlock_unlock(&m->lock);
}

/* Relist every type folder of ext and mark what the server no longer has as purged. */
static int relist(struct mb *m, uint32_t ext)
{
    struct api_call c = {.deadline_ms = isotime_mono_ms() + BG_DEADLINE_MS,
                         .prio = API_PRIO_BACKGROUND};
    pthread_rwlock_wrlock(&m->lock);
    uint32_t epoch = ++m->epoch;
    pthread_rwlock_unlock(&m->lock);
    for (int t = 0; t < REC_TYPE_COUNT; t++) {
        int rc = mb_list_type(m, &c, ext, t, epoch);
        if (rc < 0)
            return rc;
    }
    struct mb_changes chg = {0};
    uint64_t gone = 0;
    pthread_rwlock_wrlock(&m->lock);
    for (uint32_t s = 0; s < m->n_msgs; s++) {
        struct mb_msg *msg = m->msgs[s];
        if (msg->ext == ext && msg->seen != epoch && msg->availability != REC_PURGED) {
            mb_set_avail(m, msg, REC_PURGED, &chg);
            gone++;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    mb_changes_deliver(m, &chg);
    pthread_mutex_lock(&m->list_lock);
    for (int t = 0; t < REC_TYPE_COUNT; t++)
        m->exts[ext].list_state[t] = MB_LIST_DONE;
    pthread_mutex_unlock(&m->list_lock);
    log_info("relisted %s: %" PRIu64 " messages no longer on the server", m->exts[ext].name, gone);
    return 0;
}

/* One FSync or ISync for ext.  Returns 0 or -errno. */
static int sync_ext(struct mb *m, uint32_t ext)
{
    struct api_call c = {.deadline_ms = isotime_mono_ms() + BG_DEADLINE_MS,
                         .prio = API_PRIO_BACKGROUND};
    struct sync_ctx sc = {.m = m, .ext = ext};
    struct api_sync_result res = {0};
    char *token = NULL;

    pthread_rwlock_rdlock(&m->lock);
    if (m->exts[ext].sync_token)
        token = mem_strdup(m->exts[ext].sync_token);
    bool had_token = token != NULL;
    pthread_rwlock_unlock(&m->lock);

    /* An FSync is only for the token: the listings bring the records. */
    int rc = api_sync(m->o.api, &c, m->exts[ext].id, token, token ? 0 : 1, sync_cb, &sc, &res);
    free(token);
    if (rc == -ESTALE) {
        log_warn("sync token of %s was refused; full sync", m->exts[ext].name);
        mb_changes_deliver(m, &sc.chg);
        free(sc.refresh);
        memset(&sc, 0, sizeof sc);
        sc.m = m;
        sc.ext = ext;
        rc = api_sync(m->o.api, &c, m->exts[ext].id, NULL, 1, sync_cb, &sc, &res);
        if (rc == 0) {
            set_token(m, ext, res.token);
            res.token = NULL;
            rc = relist(m, ext);
        }
    } else if (rc == 0) {
        set_token(m, ext, res.token);
        res.token = NULL;
        if (had_token && sc.applied)
            log_info("sync %s: %" PRIu64 " changes", m->exts[ext].name, sc.applied);
    }
    free(res.token);
    rc = mb_note_net(m, rc);
    mb_changes_deliver(m, &sc.chg);
    if (rc == 0 && sc.n_refresh) {
        /* Bounded so a mass deletion elsewhere does not eat the whole budget. */
        size_t n = sc.n_refresh < 300 ? sc.n_refresh : 300;
        int r2 = mb_refetch(m, &c, ext, sc.refresh, n);
        if (r2 < 0)
            log_debug("refreshing deleted records: %s", strerror(-r2));
    }
    free(sc.refresh);
    if (rc < 0)
        log_warn("sync of %s failed: %s", m->exts[ext].name, strerror(-rc));
    return rc;
}

static bool should_stop(struct mb *m)
{
    pthread_mutex_lock(&m->wake_lock);
    bool s = m->stop;
    pthread_mutex_unlock(&m->wake_lock);
    return s;
}

static void save_if_dirty(struct mb *m)
{
    pthread_rwlock_rdlock(&m->lock);
    bool dirty = m->dirty;
    pthread_rwlock_unlock(&m->lock);
    if (!dirty)
        return;
    int rc = mb_state_save(m);
    if (rc < 0)
        log_warn("could not save the state: %s", strerror(-rc));
}

/* One round: sync every extension, list what was never listed, save. */
static void round_all(struct mb *m)
{
    for (uint32_t e = 0; e < m->n_ext && !should_stop(m); e++)
        sync_ext(m, e);
    for (uint32_t e = 0; e < m->n_ext && !should_stop(m); e++) {
        for (int t = 0; t < REC_TYPE_COUNT && !should_stop(m); t++) {
            struct api_call c = {.deadline_ms = isotime_mono_ms() + BG_DEADLINE_MS,
                                 .prio = API_PRIO_BACKGROUND};
            if (mb_offline(m))
                break;
            mb_ensure_listed(m, &c, e, t);
        }
    }
    save_if_dirty(m);
}

void *mb_thread_main(void *arg)
{
    struct mb *m = arg;
    int64_t next = isotime_mono_ms(); /* the first round at once; 0 = only when asked */

    for (;;) {
        pthread_mutex_lock(&m->wake_lock);
        for (;;) {
            if (m->stop || m->refresh)
                break;
            int64_t now = isotime_mono_ms();
            int64_t until = next;
            /* Offline: try again every OFFLINE_RETRY_MS, polling or not. */
            if (m->offline && (!until || until > now + OFFLINE_RETRY_MS))
                until = now + OFFLINE_RETRY_MS;
            if (until && now >= until)
                break;
            if (until)
                cond_wait_until(&m->wake_cond, &m->wake_lock, until);
            else
                pthread_cond_wait(&m->wake_cond, &m->wake_lock);
        }
        bool stop = m->stop;
        m->refresh = false;
        m->rounds_started++;
        pthread_mutex_unlock(&m->wake_lock);
        if (stop)
            break;
        round_all(m);
        pthread_mutex_lock(&m->wake_lock);
        m->rounds_done++;
        pthread_cond_broadcast(&m->wake_cond);
        pthread_mutex_unlock(&m->wake_lock);
        next = m->o.poll_s > 0 ? isotime_mono_ms() + (int64_t)m->o.poll_s * 1000 : 0;
    }
    return NULL;
}

int mb_start(struct mb *m)
{
    int rc = pthread_create(&m->thread, NULL, mb_thread_main, m);
    if (rc != 0)
        return -rc;
    m->thread_started = true;
    return 0;
}

void mb_refresh_now(struct mb *m)
{
    pthread_mutex_lock(&m->wake_lock);
    m->refresh = true;
    pthread_cond_broadcast(&m->wake_cond);
    pthread_mutex_unlock(&m->wake_lock);
}

int mb_refresh_wait(struct mb *m, int64_t deadline_ms)
{
    int rc = 0;
    pthread_mutex_lock(&m->wake_lock);
    uint64_t target = m->rounds_started + 1;
    m->refresh = true;
    pthread_cond_broadcast(&m->wake_cond);
    while (m->rounds_done < target && !m->stop && m->thread_started) {
        if (cond_wait_until(&m->wake_cond, &m->wake_lock, deadline_ms) == ETIMEDOUT) {
            rc = -EIO;
            break;
        }
    }
    if (rc == 0 && m->offline)
        rc = -EIO;
    pthread_mutex_unlock(&m->wake_lock);
    return rc;
}

void mb_stop_threads(struct mb *m)
{
    if (!m->thread_started)
        return;
    pthread_mutex_lock(&m->wake_lock);
    m->stop = true;
    pthread_cond_broadcast(&m->wake_cond);
    pthread_mutex_unlock(&m->wake_lock);
    /* A listing or sync in progress may be waiting on the server: end it now. */
    api_shutdown(m->o.api);
    pthread_join(m->thread, NULL);
    m->thread_started = false;
}

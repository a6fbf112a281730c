/* mb_sync — message-sync per extension (see mb_sync.h). */
#include "mailbox/mb_sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_apply.h"
#include "mailbox/mb_fetch.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_place.h"
#include "util/log.h"
#include "util/mem.h"

/* At most this many deleted records are fetched again after one sync, so a
 * mass deletion elsewhere does not eat the whole rate budget. */
#define REFRESH_MAX 300

struct sync_ctx {
    struct mb *m;
    uint32_t ext;
    struct chg_batch chg;
    uint64_t *refresh; /* ids of tombstoned Deleted messages to fetch again */
    size_t n_refresh, cap_refresh;
    uint64_t applied;
};

static void want_refresh(struct sync_ctx *sc, uint64_t id)
{
    if (sc->n_refresh == sc->cap_refresh) {
        sc->cap_refresh = sc->cap_refresh ? sc->cap_refresh * 2 : 64;
        sc->refresh = mem_reallocarray(sc->refresh, sc->cap_refresh, sizeof *sc->refresh);
    }
    sc->refresh[sc->n_refresh++] = id;
}

/* A new inbound message reached a folder listed before: news. */
static void note_arrival(struct sync_ctx *sc, uint64_t id)
{
    ix_rdlock(sc->m);
    struct mb_msg *msg = idx_find(sc->m, sc->ext, id);
    if (msg)
        chg_add(&sc->chg, CHG_ARRIVED, msg->slot, 0, NULL);
    ix_unlock(sc->m);
}

static int sync_cb(void *ctx, struct rec *r)
{
    struct sync_ctx *sc = ctx;
    if (r->partial) {
        if (apply_tombstone(sc->m, sc->ext, r->id, r->availability, &sc->chg)) {
            sc->applied++;
            if (r->availability == REC_DELETED)
                want_refresh(sc, r->id);
        }
        return 0;
    }
    int rc = apply_record(sc->m, sc->ext, r, 0, 0, &sc->chg);
    if (rc < 0)
        return rc; /* the token must not move past a record that was not stored */
    if (rc != APPLY_SKIPPED)
        sc->applied++;
    if (rc == APPLY_NEW && r->direction == REC_INBOUND &&
        idx_folder_listed(sc->m, sc->ext, r->type))
        note_arrival(sc, r->id);
    return 0;
}

static void set_token(struct mb *m, uint32_t ext, char *token)
{
    ix_wrlock(m);
    free(m->ix.exts[ext].sync_token);
    m->ix.exts[ext].sync_token = token;
    ix_unlock(m);
    mb_touch(m);
}

/* Mark what the relisting of epoch did not see as purged.  Returns how many. */
static uint64_t purge_unseen(struct mb *m, uint32_t ext, uint32_t epoch)
{
    struct chg_batch chg = {0};
    uint64_t gone = 0;
    ix_wrlock(m);
    for (uint32_t s = 0; s < m->ix.n_msgs; s++) {
        struct mb_msg *msg = m->ix.msgs[s];
        if (msg->ext == ext && msg->seen != epoch && msg->availability != REC_PURGED) {
            place_set_avail(m, msg, REC_PURGED, &chg);
            gone++;
        }
    }
    ix_unlock(m);
    chg_deliver(m, &chg);
    return gone;
}

/* Relist every type folder of ext and mark what the server no longer has as purged. */
static int relist(struct mb *m, uint32_t ext)
{
    struct api_call c = net_bg_call(SYNC_CALL_MS);
    ix_wrlock(m);
    uint32_t epoch = ++m->ix.epoch;
    ix_unlock(m);
    for (int t = 0; t < REC_TYPE_COUNT; t++) {
        int rc = fetch_list_type(m, &c, ext, t, epoch);
        if (rc < 0)
            return rc;
    }
    uint64_t gone = purge_unseen(m, ext, epoch);
    mu_lock(&m->ls.lock, RANK_LS, "listings");
    for (int t = 0; t < REC_TYPE_COUNT; t++)
        m->ix.exts[ext].list_state[t] = MB_LIST_DONE;
    mu_unlock(&m->ls.lock, RANK_LS);
    log_info("relisted %s: %" PRIu64 " messages no longer on the server", m->ix.exts[ext].name,
             gone);
    return 0;
}

/* A refused token: FSync for a new one, then relist to reconcile. */
static int resync(struct mb *m, uint32_t ext, struct sync_ctx *sc)
{
    struct api_call c = net_bg_call(SYNC_CALL_MS);
    struct api_sync_result res = {0};
    log_warn("sync token of %s was refused; full sync", m->ix.exts[ext].name);
    int rc = api_sync(m->o.api, &c, m->ix.exts[ext].id, NULL, 1, sync_cb, sc, &res);
    if (rc == 0) {
        set_token(m, ext, res.token);
        res.token = NULL;
        rc = relist(m, ext);
    }
    free(res.token);
    return rc;
}

int sync_ext(struct mb *m, uint32_t ext)
{
    struct api_call c = net_bg_call(SYNC_CALL_MS);
    struct sync_ctx sc = {.m = m, .ext = ext};
    struct api_sync_result res = {0};
    const char *name = m->ix.exts[ext].name;

    ix_rdlock(m);
    char *token = m->ix.exts[ext].sync_token ? mem_strdup(m->ix.exts[ext].sync_token) : NULL;
    ix_unlock(m);
    bool had_token = token != NULL;
    /* An FSync is only for the token: the listings bring the records. */
    int rc = api_sync(m->o.api, &c, m->ix.exts[ext].id, token, token ? 0 : 1, sync_cb, &sc, &res);
    free(token);
    if (rc == -ESTALE) {
        rc = resync(m, ext, &sc);
    } else if (rc == 0) {
        set_token(m, ext, res.token);
        res.token = NULL;
        if (had_token && sc.applied)
            log_info("sync %s: %" PRIu64 " changes", name, sc.applied);
    }
    free(res.token);
    rc = fetch_note_access(m, ext, net_note(m, rc));
    chg_deliver(m, &sc.chg);
    if (rc == 0 && sc.n_refresh) {
        size_t n = sc.n_refresh < REFRESH_MAX ? sc.n_refresh : REFRESH_MAX;
        int r2 = fetch_again(m, &c, ext, sc.refresh, n);
        if (r2 < 0)
            log_debug("refreshing deleted records: %s", strerror(-r2));
    }
    free(sc.refresh);
    if (rc < 0)
        log_warn("sync of %s failed: %s", name, strerror(-rc));
    return rc < 0 ? rc : (int)(sc.applied > INT32_MAX ? INT32_MAX : sc.applied);
}

/* mb_fetch — listings and refetches (see mb_fetch.h). */
#include "mailbox/mb_fetch.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mailbox/mb_apply.h"
#include "mailbox/mb_net.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"

int fetch_note_access(struct mb *m, uint32_t ext, int rc)
{
    struct mb_ext *e = &m->ix.exts[ext];
    /* -EACCES is also a session that cannot be renewed: only a 403 for this
     * extension's messages hides it. */
    if (rc != -EACCES || api_ext_reach(m->o.api, e->id) != API_REACH_FORBIDDEN)
        return rc;
    if (!atomic_exchange(&e->hidden, true)) {
        log_warn("extension %s: the server refuses its message store to these credentials; "
                 "hiding it",
                 e->name);
        struct chg_batch chg = {0};
        chg_add(&chg, CHG_EXT_GONE, ext, 0, e->name);
        chg_deliver(m, &chg);
    }
    return rc;
}

struct list_ctx {
    struct mb *m;
    uint32_t ext;
    struct chg_batch chg;
    uint32_t epoch;
};

static int list_cb(void *ctx, struct rec *r)
{
    struct list_ctx *lc = ctx;
    if (r->partial)
        return 0; /* a listing never carries tombstones; ignore a stray one */
    int rc = apply_record(lc->m, lc->ext, r, 0, lc->epoch, &lc->chg);
    /* A record that cannot be stored (full disk) stops the listing: the
     * folder must not look complete when it is not. */
    return rc < 0 ? rc : 0;
}

int fetch_list_type(struct mb *m, const struct api_call *c, uint32_t ext, int type, uint32_t epoch)
{
    struct list_ctx lc = {.m = m, .ext = ext, .epoch = epoch};
    int64_t t0 = isotime_mono_ms();
    struct mb_ext *e = &m->ix.exts[ext];
    int rc = api_list(m->o.api, c, e->id, (enum rec_type)type, list_cb, &lc);
    rc = fetch_note_access(m, ext, net_note(m, rc));
    chg_deliver(m, &lc.chg);
    if (rc == 0)
        log_debug("listed %s/%s in %" PRId64 " ms", e->name, mb_folder_name(type),
                  isotime_mono_ms() - t0);
    else
        log_warn("listing %s/%s failed: %s", e->name, mb_folder_name(type), strerror(-rc));
    return rc;
}

/* Run the listing of (ext, type) as its owner (ls.lock not held). */
static int list_as_owner(struct mb *m, const struct api_call *c, uint32_t ext, int type)
{
    ix_rdlock(m);
    uint32_t epoch = m->ix.epoch;
    ix_unlock(m);
    int rc = fetch_list_type(m, c, ext, type, epoch);
    if (rc == 0)
        mb_touch(m); /* the listed flag is persisted */
    return rc;
}

int fetch_ensure_listed(struct mb *m, const struct api_call *c, uint32_t ext, int type)
{
    struct mb_ext *e = &m->ix.exts[ext];
    int rc = 0;
    mu_lock(&m->ls.lock, RANK_LS, "listings");
    for (;;) {
        if (atomic_load(&e->hidden)) {
            rc = -ENOENT;
            break;
        }
        if (e->list_state[type] == MB_LIST_DONE)
            break;
        if (e->list_state[type] == MB_LIST_NONE) {
            if (mb_offline(m)) {
                rc = -EIO;
                break;
            }
            e->list_state[type] = MB_LIST_RUNNING;
            mu_unlock(&m->ls.lock, RANK_LS);
            rc = list_as_owner(m, c, ext, type);
            mu_lock(&m->ls.lock, RANK_LS, "listings");
            e->list_state[type] = rc == 0 ? MB_LIST_DONE : MB_LIST_NONE;
            pthread_cond_broadcast(&m->ls.cond);
            break;
        }
        /* Someone else is listing it: wait for them, not forever. */
        if (cond_wait_until(&m->ls.cond, &m->ls.lock, c->deadline_ms) == ETIMEDOUT) {
            rc = -EIO;
            break;
        }
    }
    mu_unlock(&m->ls.lock, RANK_LS);
    return rc;
}

struct again_ctx {
    struct mb *m;
    uint32_t ext;
    struct chg_batch chg;
    int rc;
};

static int again_cb(void *ctx, struct rec *r)
{
    struct again_ctx *ac = ctx;
    if (r->partial) {
        apply_tombstone(ac->m, ac->ext, r->id, r->availability, &ac->chg);
        return 0;
    }
    int rc = apply_record(ac->m, ac->ext, r, APPLY_FORCE, 0, &ac->chg);
    if (rc < 0)
        ac->rc = rc;
    return 0;
}

int fetch_again(struct mb *m, const struct api_call *c, uint32_t ext, const uint64_t *ids, size_t n)
{
    struct again_ctx ac = {.m = m, .ext = ext};
    int rc = api_get(m->o.api, c, m->ix.exts[ext].id, ids, n, again_cb, &ac);
    rc = fetch_note_access(m, ext, net_note(m, rc));
    chg_deliver(m, &ac.chg);
    return rc < 0 ? rc : ac.rc;
}

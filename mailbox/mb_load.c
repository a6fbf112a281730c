/*
 * mb_load — listing type folders from the server into the index.
 *
 * A type folder is listed once per mailbox (all pages of 1000, Alive and
 * Deleted, explicit dateFrom: see api_list); afterwards message-sync keeps it
 * current.  One listing per folder runs at a time; other callers wait for it
 * until their deadline.  Persisted state marks folders listed on an earlier
 * mount, so a remount lists nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mailbox/mb_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/cond.h"

int64_t mb_deadline(const struct mb *m, const struct api_call *c)
{
    if (c && c->deadline_ms)
        return c->deadline_ms;
    return isotime_mono_ms() + (int64_t)(m->o.timeout_s > 0 ? m->o.timeout_s : 60) * 1000;
}

int mb_note_net(struct mb *m, int rc)
{
    bool was, now;
    pthread_mutex_lock(&m->wake_lock);
    was = m->offline;
    if (rc == -EHOSTUNREACH)
        m->offline = true;
    else if (rc == 0)
        m->offline = false;
    now = m->offline;
    pthread_mutex_unlock(&m->wake_lock);
    if (was != now)
        log_info(now ? "server unreachable: working offline (cached content only, read-only)"
                     : "server reachable again");
    /* Callers see -EIO for an unreachable server, as the contract says. */
    return rc == -EHOSTUNREACH ? -EIO : rc;
}

struct list_ctx {
    struct mb *m;
    uint32_t ext;
    struct mb_changes chg;
    uint32_t epoch;
    uint64_t bad;
};

static int list_cb(void *ctx, struct rec *r)
{
    struct list_ctx *lc = ctx;
    struct mb *m = lc->m;
    if (r->partial) {
        lc->bad++;
        return 0;
    }
    pthread_rwlock_wrlock(&m->lock);
    int rc = mb_apply_record(m, lc->ext, r, &lc->chg);
    struct mb_msg *msg = mb_find_id(m, lc->ext, r->id);
    if (msg)
        msg->seen = lc->epoch;
    pthread_rwlock_unlock(&m->lock);
    /* A record that cannot be stored (full disk) stops the listing: the
     * folder must not look complete when it is not. */
    return rc;
}

int mb_list_type(struct mb *m, const struct api_call *c, uint32_t ext, int type, uint32_t epoch)
{
    struct list_ctx lc = {.m = m, .ext = ext, .epoch = epoch};
    int64_t t0 = isotime_mono_ms();
    int rc = api_list(m->o.api, c, m->exts[ext].id, (enum rec_type)type, list_cb, &lc);
    rc = mb_note_net(m, rc);
    mb_changes_deliver(m, &lc.chg);
    if (rc == 0)
        log_debug("listed %s/%s in %" PRId64 " ms", m->exts[ext].name, mb_folder_name(type),
                  isotime_mono_ms() - t0);
    else
        log_warn("listing %s/%s failed: %s", m->exts[ext].name, mb_folder_name(type),
                 strerror(-rc));
    return rc;
}

int mb_ensure_listed(struct mb *m, const struct api_call *c, uint32_t ext, int type)
{
    struct mb_ext *e = &m->exts[ext];
    int64_t deadline = mb_deadline(m, c);
    struct api_call call = {.deadline_ms = deadline, .prio = c ? c->prio : API_PRIO_USER};
    int rc = 0;

    pthread_mutex_lock(&m->list_lock);
    for (;;) {
        if (e->list_state[type] == MB_LIST_DONE)
            break;
        if (e->list_state[type] == MB_LIST_NONE) {
            if (mb_offline(m)) {
                rc = -EIO;
                break;
            }
            e->list_state[type] = MB_LIST_RUNNING;
            pthread_mutex_unlock(&m->list_lock);
            pthread_rwlock_rdlock(&m->lock);
            uint32_t epoch = m->epoch;
            pthread_rwlock_unlock(&m->lock);
            rc = mb_list_type(m, &call, ext, type, epoch);
            pthread_mutex_lock(&m->list_lock);
            e->list_state[type] = rc == 0 ? MB_LIST_DONE : MB_LIST_NONE;
            if (rc < 0)
                e->list_failed_at[type] = isotime_mono_ms();
            pthread_cond_broadcast(&m->list_cond);
            if (rc == 0) {
                pthread_rwlock_wrlock(&m->lock);
                m->dirty = true;
                pthread_rwlock_unlock(&m->lock);
            }
            break;
        }
        /* Someone else is listing it: wait for them, not forever. */
        if (cond_wait_until(&m->list_cond, &m->list_lock, deadline) == ETIMEDOUT) {
            rc = -EIO;
            break;
        }
    }
    pthread_mutex_unlock(&m->list_lock);
    return rc;
}

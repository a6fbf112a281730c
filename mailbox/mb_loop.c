/* mb_loop — the background thread (see mb_loop.h). */
#include "mailbox/mb_loop.h"

#include <errno.h>
#include <string.h>

#include "mailbox/mb_fetch.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_push.h"
#include "mailbox/mb_state.h"
#include "mailbox/mb_sync.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"

static bool should_stop(struct mb *m)
{
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    bool s = m->lp.stop;
    mu_unlock(&m->lp.lock, RANK_LP);
    return s;
}

/* List the type folders never listed (first mount), in the background. */
static void list_missing(struct mb *m)
{
    for (uint32_t e = 0; e < m->ix.n_ext && !should_stop(m); e++) {
        for (int t = 0; t < REC_TYPE_COUNT && !should_stop(m); t++) {
            if (mb_offline(m) || atomic_load(&m->ix.exts[e].hidden))
                break;
            struct api_call c = net_bg_call(SYNC_CALL_MS);
            fetch_ensure_listed(m, &c, e, t);
        }
    }
}

/* One round: sync every extension, list what was never listed, save. */
static void round_all(struct mb *m)
{
    for (uint32_t e = 0; e < m->ix.n_ext && !should_stop(m); e++)
        if (!atomic_load(&m->ix.exts[e].hidden))
            sync_ext(m, e);
    list_missing(m);
    int rc = state_save(m);
    if (rc < 0)
        log_warn("could not save the state: %s", strerror(-rc));
}

/* When the next round is due after one that ended at last_end (mono ms;
 * 0 = only when asked).  Offline, the server is tried again NET_RETRY_MS
 * after the last attempt, polling or not. */
static int64_t next_round(struct mb *m, int64_t last_end)
{
    int64_t poll_s = m->o.poll_s;
    if (poll_s > 0 && atomic_load(&m->push.up) && poll_s < PUSH_SAFETY_S)
        poll_s = PUSH_SAFETY_S; /* push says what changed: polling is a safety net */
    int64_t next = poll_s > 0 ? last_end + poll_s * 1000 : 0;
    if (mb_offline(m)) {
        int64_t retry = last_end + NET_RETRY_MS;
        if (!next || retry < next)
            next = retry;
    }
    return next;
}

/* What the loop does next. */
enum loop_work { WORK_STOP, WORK_ROUND, WORK_PUSH };

/* Wait (lp.lock held) until a round or a push's ISync is due, a round is
 * asked for, or stop.  The due times are computed again on every wake-up:
 * going offline (net_note) wakes the loop so that the retries start. */
static enum loop_work wait_work(struct mb *m, int64_t last_end)
{
    for (;;) {
        if (m->lp.stop)
            return WORK_STOP;
        int64_t now = isotime_mono_ms();
        int64_t due = last_end ? next_round(m, last_end) : now;
        if (m->lp.refresh || (due && now >= due))
            return WORK_ROUND;
        int64_t pushed = push_due(m);
        if (pushed && now >= pushed)
            return WORK_PUSH;
        if (pushed && (!due || pushed < due))
            due = pushed;
        if (due)
            cond_wait_until(&m->lp.cond, &m->lp.lock, due);
        else
            pthread_cond_wait(&m->lp.cond, &m->lp.lock);
    }
}

static void *loop_main(void *arg)
{
    struct mb *m = arg;
    int64_t last_end = 0; /* no round yet: the first one at once */
    for (;;) {
        mu_lock(&m->lp.lock, RANK_LP, "loop");
        enum loop_work w = wait_work(m, last_end);
        if (w == WORK_ROUND) {
            m->lp.refresh = false;
            m->lp.rounds_started++;
        }
        mu_unlock(&m->lp.lock, RANK_LP);
        if (w == WORK_STOP)
            break;
        if (w == WORK_PUSH) {
            push_run(m);
            continue;
        }
        round_all(m);
        last_end = isotime_mono_ms();
        mu_lock(&m->lp.lock, RANK_LP, "loop");
        m->lp.rounds_done++;
        pthread_cond_broadcast(&m->lp.cond);
        mu_unlock(&m->lp.lock, RANK_LP);
    }
    return NULL;
}

int loop_start(struct mb *m)
{
    int rc = pthread_create(&m->lp.thread, NULL, loop_main, m);
    if (rc != 0)
        return -rc;
    m->lp.started = true;
    return 0;
}

void loop_stop(struct mb *m)
{
    if (!m->lp.started)
        return;
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    m->lp.stop = true;
    pthread_cond_broadcast(&m->lp.cond);
    mu_unlock(&m->lp.lock, RANK_LP);
    /* A listing or sync in progress may be waiting on the server: end it now. */
    api_shutdown(m->o.api);
    pthread_join(m->lp.thread, NULL);
    m->lp.started = false;
}

void mb_refresh_now(struct mb *m)
{
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    m->lp.refresh = true;
    pthread_cond_broadcast(&m->lp.cond);
    mu_unlock(&m->lp.lock, RANK_LP);
}

int mb_refresh_wait(struct mb *m, int64_t deadline_ms)
{
    int rc = 0;
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    uint64_t target = m->lp.rounds_started + 1;
    m->lp.refresh = true;
    pthread_cond_broadcast(&m->lp.cond);
    while (m->lp.rounds_done < target && !m->lp.stop && m->lp.started) {
        if (cond_wait_until(&m->lp.cond, &m->lp.lock, deadline_ms) == ETIMEDOUT) {
            rc = -EIO;
            break;
        }
    }
    mu_unlock(&m->lp.lock, RANK_LP);
    if (rc == 0 && mb_offline(m))
        rc = -EIO;
    return rc;
}

/* mb_push — push notifications into ISyncs (see mb_push.h). */
#include "mailbox/mb_push.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_ws.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_prefetch.h"
#include "mailbox/mb_sync.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

void push_init(struct mb *m)
{
    m->push.want = mem_calloc(m->ix.n_ext ? m->ix.n_ext : 1, sizeof *m->push.want);
    m->push.tries = mem_calloc(m->ix.n_ext ? m->ix.n_ext : 1, sizeof *m->push.tries);
}

void push_free(struct mb *m)
{
    push_stop(m);
    api_ws_free(m->push.ws);
    m->push.ws = NULL;
    free(m->push.want);
    free(m->push.tries);
    free(m->push.expect);
}

/* The extension number of server id ext_id, or MB_NONE. */
static uint32_t ext_of(struct mb *m, uint64_t ext_id)
{
    for (uint32_t e = 0; e < m->ix.n_ext; e++)
        if (m->ix.exts[e].id == ext_id)
            return e;
    return MB_NONE;
}

/* lp.lock held: an ISync of ext (all when MB_NONE) is due soon. */
static void want(struct mb *m, uint32_t ext, int64_t when)
{
    for (uint32_t e = 0; e < m->ix.n_ext; e++)
        if (ext == MB_NONE || e == ext)
            m->push.want[e] = true;
    if (!m->push.due || when < m->push.due)
        m->push.due = when;
    pthread_cond_broadcast(&m->lp.cond);
}

/* lp.lock held: remember a new message an event announced. */
static void expect(struct mb *m, uint32_t ext, uint64_t id, int tries)
{
    if (m->push.n_expect >= 4096)
        return; /* a flood: the ISyncs bring them anyway */
    if (m->push.n_expect == m->push.cap_expect) {
        m->push.cap_expect = m->push.cap_expect ? m->push.cap_expect * 2 : 64;
        m->push.expect =
            mem_reallocarray(m->push.expect, m->push.cap_expect, sizeof *m->push.expect);
    }
    m->push.expect[m->push.n_expect++] = (struct push_expect){ext, id, tries};
}

static void on_event(void *ctx, const struct api_ws_event *ev)
{
    struct mb *m = ctx;
    uint32_t ext = ev->ext_id ? ext_of(m, ev->ext_id) : MB_NONE;
    if (ev->ext_id && ext == MB_NONE)
        return; /* not one of ours */
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    for (size_t i = 0; ext != MB_NONE && i < ev->n_new; i++)
        expect(m, ext, ev->new_ids[i], 0);
    for (uint32_t e = 0; e < m->ix.n_ext; e++)
        if (ext == MB_NONE || e == ext)
            m->push.tries[e] = 1; /* something changed: an ISync that brings nothing is early */
    want(m, ext, isotime_mono_ms() + PUSH_BURST_MS);
    mu_unlock(&m->lp.lock, RANK_LP);
}

static void on_state(void *ctx, enum api_ws_state st)
{
    struct mb *m = ctx;
    /* (api_ws logs every state.) */
    atomic_store(&m->push.up, st == API_WS_SUBSCRIBED || st == API_WS_RECOVERED);
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    if (st == API_WS_SUBSCRIBED) /* events before it may be lost: catch up */
        want(m, MB_NONE, isotime_mono_ms());
    else
        pthread_cond_broadcast(&m->lp.cond); /* the polling interval changed */
    mu_unlock(&m->lp.lock, RANK_LP);
}

int push_start(struct mb *m)
{
    if (!m->o.push || !m->ix.n_ext)
        return 0;
    uint64_t *ids = mem_calloc(m->ix.n_ext, sizeof *ids);
    size_t n = 0;
    for (uint32_t e = 0; e < m->ix.n_ext && n < 500; e++)
        if (!atomic_load(&m->ix.exts[e].hidden))
            ids[n++] = m->ix.exts[e].id;
    struct api_ws_opts o = {.ext_ids = ids,
                            .n_ext = n,
                            .instant_sms = true,
                            .on_event = on_event,
                            .on_state = on_state,
                            .ctx = m};
    int rc = n ? api_ws_new(m->o.api, &o, &m->push.ws) : 0;
    free(ids);
    if (rc == 0 && m->push.ws)
        rc = api_ws_start(m->push.ws);
    if (rc < 0)
        log_warn("push notifications are off (%s): polling", strerror(-rc));
    return 0; /* polling works without push */
}

void push_stop(struct mb *m)
{
    api_ws_stop(m->push.ws);
}

int64_t push_due(struct mb *m)
{
    return m->push.due;
}

/* Take the burst's work (lp.lock held): which extensions, which ids. */
static void take(struct mb *m, bool *exts, struct push_expect **ex, size_t *n_ex)
{
    memcpy(exts, m->push.want, m->ix.n_ext * sizeof *exts);
    memset(m->push.want, 0, m->ix.n_ext * sizeof *m->push.want);
    m->push.due = 0;
    *ex = m->push.expect;
    *n_ex = m->push.n_expect;
    m->push.expect = NULL;
    m->push.n_expect = m->push.cap_expect = 0;
}

/* After the ISyncs: prefetch what came, ask again for what did not. */
static void follow_up(struct mb *m, const struct push_expect *ex, size_t n)
{
    uint32_t *fetch = mem_calloc(n ? n : 1, sizeof *fetch);
    bool *got = mem_calloc(n ? n : 1, sizeof *got);
    size_t n_fetch = 0;
    ix_rdlock(m);
    for (size_t i = 0; i < n; i++) {
        struct mb_msg *msg = idx_find(m, ex[i].ext, ex[i].id);
        got[i] = msg != NULL;
        if (msg && msg->direction == REC_INBOUND &&
            (msg->type == REC_FAX || msg->type == REC_VOICEMAIL))
            fetch[n_fetch++] = msg->slot;
    }
    ix_unlock(m);
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    for (size_t i = 0; i < n; i++) {
        if (!got[i] && ex[i].tries + 1 < PUSH_LAG_TRIES) {
            expect(m, ex[i].ext, ex[i].id, ex[i].tries + 1);
            want(m, ex[i].ext, isotime_mono_ms() + PUSH_LAG_MS);
        }
    }
    mu_unlock(&m->lp.lock, RANK_LP);
    free(got);
    for (size_t i = 0; i < n_fetch; i++)
        prefetch_add(m, fetch[i]);
    free(fetch);
}

void push_run(struct mb *m)
{
    bool *exts = mem_calloc(m->ix.n_ext ? m->ix.n_ext : 1, sizeof *exts);
    struct push_expect *ex;
    size_t n_ex;
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    take(m, exts, &ex, &n_ex);
    mu_unlock(&m->lp.lock, RANK_LP);
    for (uint32_t e = 0; e < m->ix.n_ext; e++) {
        if (!exts[e] || atomic_load(&m->ix.exts[e].hidden))
            continue;
        int applied = sync_ext(m, e);
        mu_lock(&m->lp.lock, RANK_LP, "loop");
        if (applied == 0 && m->push.tries[e] && m->push.tries[e] < PUSH_LAG_TRIES) {
            m->push.tries[e]++; /* announced, not visible yet: ask again a little later */
            want(m, e, isotime_mono_ms() + PUSH_LAG_MS);
        } else {
            m->push.tries[e] = 0;
        }
        mu_unlock(&m->lp.lock, RANK_LP);
    }
    follow_up(m, ex, n_ex);
    free(ex);
    free(exts);
}

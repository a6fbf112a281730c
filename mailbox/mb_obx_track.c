/*
 * mb_obx_track — exactly once: reconciling attempts whose outcome is not
 * known, and following accepted messages to their end.
 *
 * Reconciling (an attempt journaled as SENDING: the answer was lost, or
 * rcfs died during it): first the message store is asked for every
 * Outbound message of the file's type since the attempt began (less
 * OBX_SKEW_MS), and each answer goes into the index; only a listing read
 * to its end, every record stored, allows a decision.  Then the index is
 * searched for an Outbound message of the file's type to its
 * recipient, created from OBX_SKEW_MS before the attempt began until its
 * deadline (plus the skew), carrying its text (SMS, pager), that is not one
 * of the ids the journal recorded as already there when the attempt began
 * and not claimed by another file.  Found: the attempt reached the server
 * (ACCEPTED, never sent again).  Not found: it did not, and the file is
 * QUEUED again.  Nothing is decided while the server cannot be reached, or
 * while unmounting.
 *
 * Following: an accepted file's message is checked in the index (where a
 * sync may have brought it) and, when not final there, fetched by id (one
 * Light request per 30), at OBX_POLL_FIRST_MS then doubling to
 * OBX_POLL_MAX_MS.  Sent (or Delivered): the file leaves the Outbox and its
 * journal entry is removed.  SendingFailed: it stays, FAILED, with the
 * server's reason.  A message the server no longer has: it leaves.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_apply.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_obx.h"
#include "mailbox/mb_obx_rules.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* How long reconciling waits for the message store's answer. */
#define RECONCILE_WAIT_MS (2 * 60 * 1000)
/* And how soon it tries again when it could not decide. */
#define RECONCILE_RETRY_MS 10000
/* Candidates looked at per reconcile. */
#define CANDIDATES_MAX 64

/* The stored record of slot (no request).  0 or -errno. */
static int stored(struct mb *m, uint32_t slot, struct rec *r)
{
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    uint64_t id = msg ? msg->id : 0;
    struct rlog_ref ref = msg ? msg->rec : (struct rlog_ref){0};
    ix_unlock(m);
    if (!msg || !ref.len)
        return -ENOENT;
    char *text = mem_alloc((size_t)ref.len + 1);
    int rc = rlog_read(m->ps.rlog, id, ref, text);
    if (rc == 0)
        rc = rec_from_text(text, ref.len, false, r, NULL, 0);
    free(text);
    return rc < 0 ? -EIO : 0;
}

/* Is peer (as a record names its other party) the recipient `to`? */
static bool same_party(enum rec_type type, const char *peer, const char *to)
{
    char number[24];
    if (!peer)
        return false;
    if (type == REC_PAGER)
        return strcmp(peer, to) == 0;
    return api_send_number(peer, number, sizeof number) == 0 && strcmp(number, to) == 0;
}

struct cand {
    uint32_t slot;
    int64_t t;
    uint64_t id;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

uint32_t obx_candidates(struct mb *m, enum rec_type type, const char *to, const char *text,
                        int64_t since_ms, int64_t until_ms, uint64_t *ids, uint32_t max)
{
    uint32_t ext = m->obx->ext, n = 0, k = 0;
    struct cand *c = mem_calloc(CANDIDATES_MAX, sizeof *c);
    ix_rdlock(m);
    for (uint32_t s = 0; s < m->ix.n_msgs && n < CANDIDATES_MAX; s++) {
        const struct mb_msg *msg = m->ix.msgs[s];
        if (msg->ext == ext && msg->type == type && msg->direction == REC_OUTBOUND &&
            msg->availability != REC_PURGED && msg->creation_ms >= since_ms &&
            msg->creation_ms <= until_ms)
            c[n++] = (struct cand){.slot = s, .t = msg->creation_ms, .id = msg->id};
    }
    ix_unlock(m);
    qsort(c, n, sizeof *c, cmp_cand);
    for (uint32_t i = 0; i < n && k < max; i++) {
        struct rec r;
        if (stored(m, c[i].slot, &r) < 0)
            continue;
        if (same_party(type, r.peer, to) && (!text || (r.subject && strcmp(r.subject, text) == 0)))
            ids[k++] = r.id;
        rec_free(&r);
    }
    free(c);
    return k;
}

void obx_apply(struct mb *m, const struct rec *r)
{
    struct chg_batch chg = {0};
    int rc = apply_record(m, m->obx->ext, r, 0, 0, &chg);
    chg_deliver(m, &chg);
    if (rc < 0)
        log_warn("outbox: message %" PRIu64 " could not be stored: %s", r->id, strerror(-rc));
}

/* What reconciling one file needs, copied under the lock. */
struct recon {
    enum rec_type type;
    char to[24];
    char *name;
    uint64_t jid;
    int64_t attempt_ms;
    uint32_t n_skip;
    uint64_t skip[SPOOL_SKIP_MAX];
    uint64_t *claimed; /* message ids other files have */
    uint32_t n_claimed;
};

static void recon_fill(struct mb_outbox *o, struct obx_item *it, struct recon *x)
{
    obx_lock(o);
    struct obx_rcpt *r = it->r;
    x->type = (enum rec_type)r->type;
    snprintf(x->to, sizeof x->to, "%s", r->to);
    x->name = mem_printf("%s/%s", r->name, it->name);
    x->jid = it->rec.jid;
    x->attempt_ms = it->rec.attempt_ms;
    x->n_skip = it->rec.n_skip;
    memcpy(x->skip, it->rec.skip, sizeof x->skip);
    x->claimed = mem_calloc(o->n_items + 1, sizeof *x->claimed);
    for (uint32_t i = 0; i < o->n_items; i++)
        if (o->items[i] != it && o->items[i]->rec.msg_id && o->items[i]->state != OBX_GONE)
            x->claimed[x->n_claimed++] = o->items[i]->rec.msg_id;
    obx_unlock(o);
}

static bool listed(const uint64_t *v, uint32_t n, uint64_t id)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

struct list_ctx {
    struct mb *m;
    struct chg_batch chg;
};

static int list_cb(void *ctx, struct rec *r)
{
    struct list_ctx *lc = ctx;
    int rc = apply_record(lc->m, lc->m->obx->ext, r, 0, 0, &lc->chg);
    return rc < 0 ? rc : 0; /* a record not stored: no decision on a partial view */
}

/* The message the attempt of x made, or 0.  -1: could not decide now. */
static int64_t find_sent(struct mb *m, struct recon *x, const char *text)
{
    struct api_call c = net_bg_call(RECONCILE_WAIT_MS);
    struct list_ctx lc = {.m = m};
    if (mb_offline(m))
        return -1;
    int rc = api_send_list_sent(m->o.api, &c, x->type, x->attempt_ms - OBX_SKEW_MS, list_cb, &lc);
    chg_deliver(m, &lc.chg);
    if (net_note(m, rc) < 0) {
        log_info("outbox: %s: the message store could not be read (%s); trying again later",
                 x->name, strerror(-rc));
        return -1;
    }
    uint64_t ids[CANDIDATES_MAX];
    uint32_t n = obx_candidates(m, x->type, x->to, text, x->attempt_ms - OBX_SKEW_MS,
                                x->attempt_ms + OBX_SEND_MS + OBX_SKEW_MS, ids, CANDIDATES_MAX);
    for (uint32_t i = 0; i < n; i++)
        if (!listed(x->skip, x->n_skip, ids[i]) && !listed(x->claimed, x->n_claimed, ids[i]))
            return (int64_t)ids[i];
    return 0;
}

void obx_reconcile(struct mb *m, struct obx_item *it)
{
    struct mb_outbox *o = m->obx;
    struct recon x = {0};
    char why[256];
    recon_fill(o, it, &x);
    char *text = x.type == REC_FAX ? NULL : obx_text_of(o, x.jid, x.type, why, sizeof why);
    int64_t found = x.type != REC_FAX && !text ? -1 : find_sent(m, &x, text);
    obx_io_lock(it);
    obx_lock(o);
    bool save = false;
    if (it->state != OBX_SENDING) {
        /* removed meanwhile: nothing to decide */
    } else if (found < 0) {
        it->due_ms = isotime_mono_ms() + RECONCILE_RETRY_MS;
    } else if (found > 0) {
        it->state = OBX_ACCEPTED;
        it->rec.msg_id = (uint64_t)found;
        it->poll_ms = OBX_POLL_FIRST_MS;
        it->due_ms = isotime_mono_ms();
        save = true;
    } else {
        it->state = OBX_QUEUED;
        it->due_ms = isotime_mono_ms();
        save = true;
    }
    it->rec.state = it->state;
    obx_unlock(o);
    if (save)
        obx_save(m, it);
    obx_io_unlock(it);
    if (found > 0)
        log_info("outbox: %s: the attempt whose outcome was unknown reached the server "
                 "(message %" PRId64 "); not sending it again",
                 x.name, found);
    else if (found == 0)
        log_info("outbox: %s: the earlier attempt did not reach the server; sending it again",
                 x.name);
    free(text);
    free(x.name);
    free(x.claimed);
}

/* ---- following accepted messages -------------------------------------------- */

/* What is known of one accepted file's message. */
struct watch {
    struct obx_item *it;
    uint64_t id;
    bool known; /* a status was found */
    bool gone;  /* the server no longer has it */
    char status[24];
    char why[256]; /* the failure's reason */
};

/* Its status from the index (no request). */
static void from_index(struct mb *m, struct watch *w)
{
    ix_rdlock(m);
    struct mb_msg *msg = idx_find(m, m->obx->ext, w->id);
    uint32_t slot = msg ? msg->slot : 0;
    if (msg) {
        w->known = true;
        w->gone = msg->availability == REC_PURGED;
        snprintf(w->status, sizeof w->status, "%s", msg->msg_status ? msg->msg_status : "");
    }
    ix_unlock(m);
    struct rec r;
    if (w->known && obxr_status_final(w->status) < 0 && stored(m, slot, &r) == 0) {
        api_send_failure(&r, w->why, sizeof w->why);
        rec_free(&r);
    }
}

struct poll_ctx {
    struct mb *m;
    struct watch *w;
    uint32_t n;
    struct chg_batch chg;
};

static int poll_cb(void *ctx, struct rec *r)
{
    struct poll_ctx *p = ctx;
    for (uint32_t i = 0; i < p->n; i++) {
        struct watch *w = &p->w[i];
        if (w->id != r->id)
            continue;
        w->known = true;
        w->gone = r->availability == REC_PURGED;
        snprintf(w->status, sizeof w->status, "%s", r->message_status);
        if (!r->partial && obxr_status_final(r->message_status) < 0)
            api_send_failure(r, w->why, sizeof w->why);
    }
    if (!r->partial && apply_record(p->m, p->m->obx->ext, r, 0, 0, &p->chg) < 0)
        log_warn("outbox: message %" PRIu64 " could not be stored", r->id);
    return 0;
}

/* Act on what w says. */
static void settle(struct mb *m, struct watch *w, int64_t now)
{
    struct mb_outbox *o = m->obx;
    struct obx_item *it = w->it;
    int final = w->known ? obxr_status_final(w->status) : 0;
    obx_io_lock(it);
    obx_lock(o);
    if (it->state != OBX_ACCEPTED || it->rec.msg_id != w->id) {
        obx_unlock(o);
        obx_io_unlock(it);
        return;
    }
    uint32_t rcpt = it->rcpt;
    uint64_t jid = it->rec.jid;
    char *name = mem_strdup(it->name);
    if (w->known && w->status[0])
        snprintf(it->status, sizeof it->status, "%s", w->status);
    if (final == 0 && !w->gone) {
        int64_t step = it->poll_ms > 0 ? it->poll_ms : OBX_POLL_FIRST_MS;
        it->due_ms = now + step;
        it->poll_ms = step * 2 < OBX_POLL_MAX_MS ? step * 2 : OBX_POLL_MAX_MS;
        obx_unlock(o);
    } else if (final < 0) {
        it->state = OBX_FAILED;
        it->rec.state = OBX_FAILED;
        obx_set_error(it, w->why[0] ? w->why : "the server reports SendingFailed");
        obx_unlock(o);
        obx_save(m, it);
        log_info("outbox: %s failed: %s", name, w->why);
    } else {
        it->state = OBX_GONE;
        it->sent = final > 0;
        obx_unlock(o);
        int rc = spool_remove(o->spool, jid);
        if (rc < 0)
            log_err("outbox: cannot remove %s from the journal: %s", name, strerror(-rc));
        log_info("outbox: %s %s (message %" PRIu64 ")", name,
                 final > 0 ? "sent" : "is gone from the server", w->id);
    }
    obx_io_unlock(it);
    if (final > 0 || (final == 0 && w->gone))
        obx_report_gone(m, rcpt, name);
    free(name);
}

void obx_poll_accepted(struct mb *m, int64_t now)
{
    struct mb_outbox *o = m->obx;
    struct watch w[30];
    uint32_t n = 0;
    obx_lock(o);
    for (uint32_t i = 0; i < o->n_items && n < 30; i++) {
        struct obx_item *it = o->items[i];
        if (it->state == OBX_ACCEPTED && it->due_ms <= now)
            w[n++] = (struct watch){.it = it, .id = it->rec.msg_id};
    }
    obx_unlock(o);
    uint64_t ask[30];
    uint32_t n_ask = 0;
    for (uint32_t i = 0; i < n; i++) {
        from_index(m, &w[i]);
        if (!w[i].gone && obxr_status_final(w[i].status) == 0) {
            w[i].known = false;
            ask[n_ask++] = w[i].id;
        }
    }
    if (n_ask && !mb_offline(m)) {
        struct api_call c = net_bg_call(RECONCILE_WAIT_MS);
        struct poll_ctx p = {.m = m, .w = w, .n = n};
        int rc = net_note(m, api_get(m->o.api, &c, m->ix.exts[o->ext].id, ask, n_ask, poll_cb, &p));
        chg_deliver(m, &p.chg);
        if (rc < 0)
            log_debug("outbox: checking %u sent messages: %s", n_ask, strerror(-rc));
    }
    for (uint32_t i = 0; i < n; i++)
        settle(m, &w[i], now);
}

/*
 * mb_bulk — changes to every message of a folder or a conversation at once
 * (implements mb_set_read_folder, mb_set_read_conv and mb_trash_conv of
 * mb.h), at the API's minimum: read status API_BULK_MAX messages per
 * request, a conversation to the trash with one request.
 *
 * Each message still changes single-flight: the group enters every
 * message's change flight, in slot order (so two groups never wait for each
 * other in a circle); a message whose same change is already in progress is
 * left to it.  Whatever the server answered for each message is applied to
 * it, so local state equals the server's even when part of a request failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_bulk.h"
#include "mailbox/mb_apply.h"
#include "mailbox/mb_flight.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_internal.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_write.h"
#include "util/log.h"
#include "util/mem.h"

/* The messages a group changes, and their flights. */
struct group {
    uint32_t ext;
    uint32_t *slots;       /* sorted */
    uint64_t *ids;         /* ids[i] of slots[i] */
    struct mb_flight **fl; /* fl[i]: our flight, or NULL when another caller did it */
    size_t n;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Enter the change flight of every slot.  Returns 0, or -EIO when the
 * deadline passed (flights already entered are ended with -EIO). */
static int group_enter(struct mb *m, struct group *g, uint64_t op, int64_t deadline)
{
    qsort(g->slots, g->n, sizeof *g->slots, cmp_u32);
    g->fl = mem_calloc(g->n ? g->n : 1, sizeof *g->fl);
    g->ids = mem_calloc(g->n ? g->n : 1, sizeof *g->ids);
    for (size_t i = 0; i < g->n; i++) {
        int rc;
        int mine = flight_enter(m, g->slots[i], FLIGHT_CHANGE, op, deadline, &g->fl[i], &rc);
        if (mine < 0) {
            for (size_t j = 0; j < i; j++)
                if (g->fl[j])
                    flight_end(m, g->fl[j], -EIO);
            return -EIO;
        }
        if (!mine)
            g->fl[i] = NULL; /* someone made this very change */
    }
    ix_rdlock(m);
    for (size_t i = 0; i < g->n; i++)
        g->ids[i] = idx_msg(m, g->slots[i])->id;
    ix_unlock(m);
    return 0;
}

static void group_free(struct group *g)
{
    free(g->slots);
    free(g->ids);
    free(g->fl);
}

/* Does this message need the group's change? */
typedef bool (*need_fn)(const struct mb_msg *msg, const void *arg);

/* The slots of v (a folder or a conversation) that need the change (index
 * lock held). */
static void group_collect(struct mb *m, struct group *g, const struct vec32 *v, need_fn need,
                          const void *arg)
{
    g->slots = mem_calloc(v->n ? v->n : 1, sizeof *g->slots);
    for (uint32_t i = 0; i < v->n; i++) {
        const struct mb_msg *msg = m->ix.msgs[v->v[i]];
        if (need(msg, arg))
            g->slots[g->n++] = msg->slot;
    }
}

static bool need_read(const struct mb_msg *msg, const void *arg)
{
    return msg->read_status != *(const enum rec_read *)arg && msg->availability != REC_PURGED;
}

static bool need_trash(const struct mb_msg *msg, const void *arg)
{
    return msg->availability == REC_ALIVE;
}

/* ---- read status ------------------------------------------------------------- */

/* One request for items [from, from + k) of the group (those we own). */
static int read_chunk(struct mb *m, const struct api_call *c, struct group *g, size_t *idx,
                      size_t k, enum rec_read rs)
{
    struct api_bulk_item items[API_BULK_MAX];
    for (size_t j = 0; j < k; j++)
        items[j] = (struct api_bulk_item){.id = g->ids[idx[j]]};
    int rc = net_note(m, api_set_read_bulk(m->o.api, c, m->ix.exts[g->ext].id, rs, items, k));
    struct chg_batch chg = {0};
    int first_err = rc;
    for (size_t j = 0; j < k; j++) {
        int r = rc < 0 ? rc : items[j].rc;
        if (r == 0 && items[j].has_rec &&
            apply_record(m, g->ext, &items[j].rec, APPLY_FORCE, 0, &chg) < 0)
            log_warn("could not store the updated record of %" PRIu64, items[j].id);
        if (r < 0 && !first_err)
            first_err = r;
        flight_end(m, g->fl[idx[j]], r);
        g->fl[idx[j]] = NULL;
    }
    chg_deliver(m, &chg);
    api_bulk_free(items, k);
    return first_err;
}

static int group_set_read(struct mb *m, const struct mb_call *mc, struct group *g, enum rec_read rs)
{
    struct api_call c = net_api_call(m, mc);
    uint64_t op = rs == REC_READ ? FLIGHT_OP_READ : FLIGHT_OP_UNREAD;
    if (group_enter(m, g, op, c.deadline_ms) < 0)
        return -EIO;
    int rc = mb_offline(m) ? -EIO : 0;
    size_t idx[API_BULK_MAX];
    size_t k = 0;
    for (size_t i = 0; i <= g->n; i++) {
        if (i < g->n && g->fl[i])
            idx[k++] = i;
        if (k && (k == API_BULK_MAX || i == g->n)) {
            int r = rc < 0 ? rc : read_chunk(m, &c, g, idx, k, rs);
            for (size_t j = 0; rc < 0 && j < k; j++) { /* offline: end what we hold */
                flight_end(m, g->fl[idx[j]], rc);
                g->fl[idx[j]] = NULL;
            }
            if (r < 0 && rc == 0)
                rc = r;
            k = 0;
        }
    }
    return rc;
}

int mb_set_read_folder(struct mb *m, const struct mb_call *c, uint32_t ext, int folder,
                       enum rec_read rs)
{
    if (ext >= m->ix.n_ext || folder < 0 || folder > MB_FOLDER_DELETED)
        return -ENOENT;
    struct group g = {.ext = ext};
    ix_rdlock(m);
    group_collect(m, &g, &m->ix.exts[ext].folder[folder], need_read, &rs);
    ix_unlock(m);
    int rc = group_set_read(m, c, &g, rs);
    group_free(&g);
    return rc;
}

int mb_set_read_conv(struct mb *m, const struct mb_call *c, uint32_t conv, enum rec_read rs)
{
    struct group g = {0};
    ix_rdlock(m);
    if (conv < m->ix.n_convs) {
        g.ext = m->ix.convs[conv]->ext;
        group_collect(m, &g, &m->ix.convs[conv]->members, need_read, &rs);
    }
    ix_unlock(m);
    int rc = conv < m->ix.n_convs ? group_set_read(m, c, &g, rs) : -ENOENT;
    group_free(&g);
    return rc;
}

/* ---- a conversation to the trash ------------------------------------------------ */

/* True when conversation conv has a message in Deleted/ (index lock held):
 * the conversation DELETE would purge it. */
static bool conv_has_deleted(struct mb *m, const struct mb_conv *cv)
{
    for (uint32_t s = 0; s < m->ix.n_msgs; s++) {
        const struct mb_msg *msg = m->ix.msgs[s];
        if (msg->conv == cv->num && msg->availability == REC_DELETED)
            return true;
    }
    return false;
}

/* Delete the owned members: one conversation DELETE when it is safe, else
 * by id, API_BULK_MAX at a time.  Results in items. */
static int trash_members(struct mb *m, const struct api_call *c, struct group *g,
                         const char *conv_id, bool whole, struct api_bulk_item *items, size_t k)
{
    uint64_t ext_id = m->ix.exts[g->ext].id;
    if (whole)
        return api_delete_conversation(m->o.api, c, ext_id, conv_id, items, k);
    for (size_t i = 0; i < k; i += API_BULK_MAX) {
        size_t n = k - i < API_BULK_MAX ? k - i : API_BULK_MAX;
        int rc = api_delete_bulk(m->o.api, c, ext_id, REC_ALIVE, items + i, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int mb_trash_conv(struct mb *m, const struct mb_call *mc, uint32_t conv)
{
    struct group g = {0};
    char conv_id[21] = "";
    bool whole = false;
    ix_rdlock(m);
    if (conv < m->ix.n_convs) {
        struct mb_conv *cv = m->ix.convs[conv];
        g.ext = cv->ext;
        snprintf(conv_id, sizeof conv_id, "%s", cv->id);
        group_collect(m, &g, &cv->members, need_trash, NULL);
        whole = !conv_has_deleted(m, cv);
    }
    ix_unlock(m);
    if (conv >= m->ix.n_convs || g.n == 0) {
        group_free(&g);
        return conv >= m->ix.n_convs ? -ENOENT : 0;
    }
    struct api_call c = net_api_call(m, mc);
    int rc = group_enter(m, &g, FLIGHT_OP_TRASH, c.deadline_ms);
    struct api_bulk_item *items = mem_calloc(g.n, sizeof *items);
    size_t *idx = mem_calloc(g.n, sizeof *idx), k = 0;
    for (size_t i = 0; rc == 0 && i < g.n; i++) {
        if (g.fl[i]) {
            idx[k] = i;
            items[k++] = (struct api_bulk_item){.id = g.ids[i]};
        }
    }
    if (rc == 0 && k)
        rc = mb_offline(m) ? -EIO : net_note(m, trash_members(m, &c, &g, conv_id, whole, items, k));
    for (size_t j = 0; j < k; j++) {
        int r = rc < 0 ? rc : items[j].rc;
        if (r == 0)
            write_after_delete(m, g.slots[idx[j]], REC_DELETED, -1);
        if (r < 0 && rc == 0)
            rc = r;
        flight_end(m, g.fl[idx[j]], r);
    }
    if (rc == 0)
        log_info("moved conversation %s (%zu messages) to the server's trash", conv_id, k);
    free(items);
    free(idx);
    group_free(&g);
    return rc;
}

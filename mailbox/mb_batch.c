/* mb_batch — coalescing concurrent changes into bulk requests (see mb_batch.h). */
#include "mailbox/mb_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_bulk.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/mem.h"

/* One submitted change. */
struct batch_req {
    uint64_t id;            /* message */
    struct api_call call;   /* its caller's deadline and priority */
    int rc;                 /* its outcome, once done */
    bool done;              /* [BT] the leader filled rc (and rec) */
    bool has_rec;           /* rec holds the server's record */
    struct rec rec;         /* for read status */
    struct batch_req *next; /* [BT] in its group */
};

/* A group still gathering members, or being sent. */
struct batch_group {
    uint32_t ext;
    enum batch_op op;
    bool sending;           /* [BT] its request is on its way (sealed) */
    struct batch_req *head; /* [BT] members, the leader first */
    size_t n;               /* [BT] members */
    bool sealed;            /* [BT] the leader took it: no one joins any more */
    struct batch_group *next;
};

/* The group of (ext, op) still open to members, or NULL. */
static struct batch_group *find_open(struct mb *m, uint32_t ext, enum batch_op op)
{
    for (struct batch_group *g = m->bt.open; g; g = g->next)
        if (g->ext == ext && g->op == op && !g->sealed)
            return g;
    return NULL;
}

/* True while a request of (ext, op) is on its way. */
static bool sending(struct mb *m, uint32_t ext, enum batch_op op)
{
    for (struct batch_group *g = m->bt.open; g; g = g->next)
        if (g->ext == ext && g->op == op && g->sending)
            return true;
    return false;
}

static void unlink_group(struct mb *m, struct batch_group *g)
{
    for (struct batch_group **p = &m->bt.open; *p; p = &(*p)->next) {
        if (*p == g) {
            *p = g->next;
            return;
        }
    }
}

/* Send one bulk request for the n members of g (no lock held). */
static void send_group(struct mb *m, const struct api_call *c, struct batch_group *g)
{
    struct api_bulk_item items[API_BULK_MAX];
    struct batch_req *r = g->head;
    for (size_t i = 0; i < g->n; i++, r = r->next)
        items[i] = (struct api_bulk_item){.id = r->id};
    uint64_t ext_id = m->ix.exts[g->ext].id;
    int rc;
    if (g->op == BATCH_READ || g->op == BATCH_UNREAD)
        rc = api_set_read_bulk(m->o.api, c, ext_id, g->op == BATCH_READ ? REC_READ : REC_UNREAD,
                               items, g->n);
    else
        rc = api_delete_bulk(m->o.api, c, ext_id, g->op == BATCH_TRASH ? REC_ALIVE : REC_DELETED,
                             items, g->n);
    r = g->head;
    for (size_t i = 0; i < g->n; i++, r = r->next) {
        r->rc = rc < 0 ? rc : items[i].rc;
        r->has_rec = rc == 0 && items[i].has_rec;
        if (r->has_rec) {
            r->rec = items[i].rec;
            items[i].has_rec = false; /* moved */
        }
    }
    api_bulk_free(items, g->n);
}

/* The call for the whole group: the earliest deadline of its members (no
 * one waits longer than its own bound), USER when any member is. */
static struct api_call group_call(const struct batch_group *g)
{
    struct api_call c = g->head->call;
    for (const struct batch_req *r = g->head->next; r; r = r->next) {
        if (r->call.deadline_ms < c.deadline_ms)
            c.deadline_ms = r->call.deadline_ms;
        if (r->call.prio == API_PRIO_USER)
            c.prio = API_PRIO_USER;
    }
    return c;
}

/* The leader: gather (for BATCH_GATHER_MS, and while the previous request
 * of the same change is on its way: everything that arrives meanwhile goes
 * in one request), seal, send, hand out the outcomes. */
static int lead(struct mb *m, struct batch_group *g, struct batch_req *me)
{
    int64_t until = isotime_mono_ms() + BATCH_GATHER_MS;
    while (g->n < API_BULK_MAX) {
        int64_t now = isotime_mono_ms();
        if (now >= until && !sending(m, g->ext, g->op))
            break;
        if (now < until)
            cond_wait_until(&m->bt.cond, &m->bt.lock, until);
        else
            pthread_cond_wait(&m->bt.cond, &m->bt.lock);
    }
    g->sealed = true;
    g->sending = true;
    struct api_call c = group_call(g);
    mu_unlock(&m->bt.lock, RANK_BT);
    send_group(m, &c, g);
    mu_lock(&m->bt.lock, RANK_BT, "batches");
    unlink_group(m, g);
    for (struct batch_req *r = g->head; r; r = r->next)
        r->done = true;
    pthread_cond_broadcast(&m->bt.cond);
    free(g);
    return me->rc;
}

int batch_submit(struct mb *m, const struct api_call *c, uint32_t ext, enum batch_op op,
                 uint64_t id, struct rec *rec, bool *has_rec)
{
    struct batch_req me = {.id = id, .call = *c, .rc = -EIO};
    int rc;
    mu_lock(&m->bt.lock, RANK_BT, "batches");
    struct batch_group *g = find_open(m, ext, op);
    if (!g) {
        g = mem_calloc(1, sizeof *g);
        *g = (struct batch_group){.ext = ext, .op = op, .head = &me, .n = 1, .next = m->bt.open};
        m->bt.open = g;
        rc = lead(m, g, &me);
    } else {
        /* Join at the end (the leader stays first). */
        struct batch_req **p = &g->head;
        while (*p)
            p = &(*p)->next;
        *p = &me;
        if (++g->n == API_BULK_MAX)
            pthread_cond_broadcast(&m->bt.cond); /* full: the leader goes now */
        /* The group's request is bounded by the earliest deadline, ours included. */
        while (!me.done)
            pthread_cond_wait(&m->bt.cond, &m->bt.lock);
        rc = me.rc;
    }
    mu_unlock(&m->bt.lock, RANK_BT);
    *has_rec = me.has_rec;
    if (me.has_rec)
        *rec = me.rec;
    return rc;
}

/* mb_flight — single-flight operations per message (see mb_flight.h). */
#include "mailbox/mb_flight.h"

#include <errno.h>
#include <stdlib.h>

#include "mailbox/mb_internal.h"
#include "util/cond.h"
#include "util/mem.h"

/* Content flights match on the attachment; change flights on the message. */
static bool same_object(const struct mb_flight *f, uint32_t slot, enum flight_kind kind,
                        uint64_t op)
{
    return f->slot == slot && f->kind == kind && (kind == FLIGHT_CHANGE || f->op == op);
}

static struct mb_flight *find(struct mb *m, uint32_t slot, enum flight_kind kind, uint64_t op)
{
    for (struct mb_flight *f = m->fl.list; f; f = f->next)
        if (same_object(f, slot, kind, op))
            return f;
    return NULL;
}

static void unlink_flight(struct mb *m, struct mb_flight *f)
{
    for (struct mb_flight **p = &m->fl.list; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            return;
        }
    }
}

/* Wait (fl.lock held) until f ends or the deadline passes; drops our
 * reference.  Returns true when it ended (its rc in *rc). */
static bool wait_end(struct mb *m, struct mb_flight *f, int64_t deadline, int *rc)
{
    f->waiters++;
    while (!f->done)
        if (cond_wait_until(&m->fl.cond, &m->fl.lock, deadline) == ETIMEDOUT && !f->done)
            break;
    bool ended = f->done;
    *rc = ended ? f->rc : -EIO;
    if (--f->waiters == 0 && f->done)
        free(f);
    return ended;
}

int flight_enter(struct mb *m, uint32_t slot, enum flight_kind kind, uint64_t op,
                 int64_t deadline_ms, struct mb_flight **out, int *rc)
{
    mu_lock(&m->fl.lock, RANK_FL, "flights");
    for (;;) {
        struct mb_flight *f = find(m, slot, kind, op);
        if (!f)
            break;
        bool same_op = f->op == op;
        if (!wait_end(m, f, deadline_ms, rc)) {
            mu_unlock(&m->fl.lock, RANK_FL);
            return -EIO;
        }
        if (same_op) {
            mu_unlock(&m->fl.lock, RANK_FL);
            return 0;
        }
        /* Another change ended: ours runs on the state it left. */
    }
    struct mb_flight *f = mem_calloc(1, sizeof *f);
    f->slot = slot;
    f->kind = (uint8_t)kind;
    f->op = op;
    f->next = m->fl.list;
    m->fl.list = f;
    mu_unlock(&m->fl.lock, RANK_FL);
    *out = f;
    return 1;
}

void flight_end(struct mb *m, struct mb_flight *f, int rc)
{
    mu_lock(&m->fl.lock, RANK_FL, "flights");
    f->done = true;
    f->rc = rc;
    unlink_flight(m, f);
    bool free_now = f->waiters == 0;
    pthread_cond_broadcast(&m->fl.cond);
    mu_unlock(&m->fl.lock, RANK_FL);
    if (free_now)
        free(f);
}

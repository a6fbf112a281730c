/* mb_prefetch — background downloads of new messages (see mb_prefetch.h). */
#include "mailbox/mb_prefetch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* How long one prefetch download may take. */
#define PREFETCH_CALL_MS (300 * 1000)

void prefetch_add(struct mb *m, uint32_t slot)
{
    if (!m->pf.started)
        return;
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    if (m->pf.n < PREFETCH_MAX && !m->pf.stop) {
        if (m->pf.n == m->pf.cap) {
            m->pf.cap = m->pf.cap ? m->pf.cap * 2 : 16;
            m->pf.queue = mem_reallocarray(m->pf.queue, m->pf.cap, sizeof *m->pf.queue);
        }
        m->pf.queue[m->pf.n++] = slot;
        pthread_cond_broadcast(&m->lp.cond);
    }
    mu_unlock(&m->lp.lock, RANK_LP);
}

/* Download every attachment of slot (opening it is downloading it). */
static void fetch_all(struct mb *m, uint32_t slot)
{
    struct mb_msg_info info;
    if (mb_msg_info(m, slot, &info) < 0)
        return;
    for (uint32_t k = 0; k < info.n_att; k++) {
        struct mb_call c = {.deadline_ms = isotime_mono_ms() + PREFETCH_CALL_MS,
                            .prio = MB_PRIO_BACKGROUND};
        struct mb_open_att a;
        int rc = mb_att_open(m, &c, slot, k, &a);
        if (rc == 0)
            mb_att_close(m, &a);
        else
            log_debug("prefetch of message %" PRIu64 ": %s", info.id, strerror(-rc));
    }
}

static void *prefetch_main(void *arg)
{
    struct mb *m = arg;
    for (;;) {
        mu_lock(&m->lp.lock, RANK_LP, "loop");
        while (!m->pf.n && !m->pf.stop)
            pthread_cond_wait(&m->lp.cond, &m->lp.lock);
        bool stop = m->pf.stop;
        uint32_t slot = 0;
        if (!stop) {
            slot = m->pf.queue[0];
            memmove(m->pf.queue, m->pf.queue + 1, --m->pf.n * sizeof *m->pf.queue);
        }
        mu_unlock(&m->lp.lock, RANK_LP);
        if (stop)
            break;
        fetch_all(m, slot);
    }
    return NULL;
}

int prefetch_start(struct mb *m)
{
    if (!m->o.prefetch)
        return 0;
    int rc = pthread_create(&m->pf.thread, NULL, prefetch_main, m);
    if (rc != 0)
        return -rc;
    m->pf.started = true;
    return 0;
}

void prefetch_stop(struct mb *m)
{
    if (!m->pf.started)
        return;
    mu_lock(&m->lp.lock, RANK_LP, "loop");
    m->pf.stop = true;
    pthread_cond_broadcast(&m->lp.cond);
    mu_unlock(&m->lp.lock, RANK_LP);
    pthread_join(m->pf.thread, NULL);
    m->pf.started = false;
    free(m->pf.queue);
    m->pf.queue = NULL;
    m->pf.n = m->pf.cap = 0;
}

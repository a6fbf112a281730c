/* mb_net — deadlines, call contexts and reachability (see mb_net.h). */
#include "mailbox/mb_net.h"

#include <errno.h>

#include "mailbox/mb_internal.h"
#include "util/isotime.h"
#include "util/log.h"

int64_t net_deadline(const struct mb *m, const struct mb_call *c)
{
    if (c && c->deadline_ms)
        return c->deadline_ms;
    return isotime_mono_ms() + (int64_t)(m->o.timeout_s > 0 ? m->o.timeout_s : 60) * 1000;
}

struct api_call net_api_call(const struct mb *m, const struct mb_call *c)
{
    return (struct api_call){
        .deadline_ms = net_deadline(m, c),
        .prio = c && c->prio == MB_PRIO_BACKGROUND ? API_PRIO_BACKGROUND : API_PRIO_USER,
    };
}

struct api_call net_bg_call(int64_t bg_ms)
{
    return (struct api_call){.deadline_ms = isotime_mono_ms() + bg_ms, .prio = API_PRIO_BACKGROUND};
}

int net_note(struct mb *m, int rc)
{
    if (rc == -EHOSTUNREACH || rc == 0) {
        bool now = rc == -EHOSTUNREACH;
        bool was = atomic_exchange(&m->net.offline, now);
        if (was != now)
            log_info(now ? "server unreachable: working offline (cached content only, read-only)"
                         : "server reachable again");
        if (now && !was) {
            /* The background loop recomputes its schedule: retries start. */
            mu_lock(&m->lp.lock, RANK_LP, "loop");
            pthread_cond_broadcast(&m->lp.cond);
            mu_unlock(&m->lp.lock, RANK_LP);
        }
    }
    return rc == -EHOSTUNREACH ? -EIO : rc;
}

bool mb_offline(struct mb *m)
{
    return atomic_load(&m->net.offline);
}

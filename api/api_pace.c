/* api_pace — rate-limit pacing per group (see api_pace.h). */
#include "api/api_pace.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/isotime.h"
#include "util/mem.h"
#include "util/cond.h"

/* Added to a penalty: the server's clock started it a little before our answer arrived. */
#define PACE_MARGIN_MS    250
#define PACE_MAX_LIMIT    10000000L
#define PACE_MAX_WINDOW_S 86400L
/* Most entries in a group's window log: beyond it a new entry joins the
 * newest one (which then counts a little longer than it needs to). */
#define PACE_LOG_MAX 1024

static const char *const group_names[PACE_NGROUPS] = {"Light", "Medium", "Heavy", "Auth"};
static const long group_default_limit[PACE_NGROUPS] = {50, 40, 10, 5};

/* Requests logged at one instant (the window log is run-length coded, so
 * its memory does not grow with the limit a server announces). */
struct pace_stamp {
    int64_t at; /* when they were answered (clock ms) */
    long n;     /* how many */
};

/* One rate-limit group. */
struct pace_grp {
    long limit;                /* requests per window */
    int64_t window_ms;         /* window length */
    bool learned;              /* an answer has come */
    struct pace_stamp *log;    /* counted requests, ascending `at`, live in log[lo..n) */
    size_t lo, n, cap;         /* live range and allocation (cap <= PACE_LOG_MAX) */
    long logged;               /* sum of the live entries' n */
    long in_flight;            /* admitted, not released */
    int64_t blocked_until;     /* penalty end, 0 = none */
    struct pace_ticket *queue; /* waiters, USER first, then by arrival */
};

struct pace {
    pthread_mutex_t lock;            /* guards everything below */
    pthread_cond_t cond;             /* broadcast on any change */
    pace_clock_fn clock;             /* monotonic ms */
    void *clock_ctx;                 /* its argument */
    uint64_t seq;                    /* next ticket number */
    struct pace_grp g[PACE_NGROUPS]; /* the groups */
    bool stopping;                   /* pace_shutdown: every wait fails at once */
};

static int64_t default_clock(void *ctx)
{
    (void)ctx;
    return isotime_mono_ms();
}

struct pace *pace_new(pace_clock_fn clock, void *clock_ctx)
{
    struct pace *p = mem_calloc(1, sizeof(*p));

    pthread_mutex_init(&p->lock, NULL);
    cond_init_mono(&p->cond);
    p->clock = clock ? clock : default_clock;
    p->clock_ctx = clock_ctx;
    for (int i = 0; i < PACE_NGROUPS; i++) {
        p->g[i].limit = group_default_limit[i];
        p->g[i].window_ms = 60000;
    }
    return p;
}

void pace_free(struct pace *p)
{
    if (!p)
        return;
    for (int i = 0; i < PACE_NGROUPS; i++)
        free(p->g[i].log);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int pace_group_parse(const char *name)
{
    for (int i = 0; name && i < PACE_NGROUPS; i++)
        if (strcasecmp(name, group_names[i]) == 0)
            return i;
    return -1;
}

/* Forget requests whose window has passed. */
static void prune(struct pace_grp *g, int64_t now)
{
    while (g->lo < g->n && g->log[g->lo].at <= now - g->window_ms - PACE_SLOT_MARGIN_MS) {
        g->logged -= g->log[g->lo].n;
        g->lo++;
    }
    if (g->lo == g->n)
        g->lo = g->n = 0;
}

/* Log `count` requests answered at `when`.  The log stays ascending (an
 * answer can never be older than the last one logged) and at most
 * PACE_LOG_MAX entries long, whatever count is. */
static void push_stamps(struct pace_grp *g, int64_t when, long count)
{
    struct pace_stamp *last = g->n > g->lo ? &g->log[g->n - 1] : NULL;

    if (count <= 0)
        return;
    if (last && last->at > when)
        when = last->at;
    if (last && (last->at == when || g->n - g->lo >= PACE_LOG_MAX)) {
        last->at = when;
        last->n += count;
        g->logged += count;
        return;
    }
    if (g->n == g->cap && g->lo > 0) {
        memmove(g->log, g->log + g->lo, (g->n - g->lo) * sizeof(*g->log));
        g->n -= g->lo;
        g->lo = 0;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        if (g->cap > PACE_LOG_MAX)
            g->cap = PACE_LOG_MAX;
        g->log = mem_reallocarray(g->log, g->cap, sizeof(*g->log));
    }
    g->log[g->n++] = (struct pace_stamp){.at = when, .n = count};
    g->logged += count;
}

static long used(const struct pace_grp *g)
{
    return g->logged + g->in_flight;
}

static void unlink_ticket(struct pace_grp *g, struct pace_ticket *t)
{
    for (struct pace_ticket **pp = &g->queue; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            t->next = NULL;
            return;
        }
}

static void enqueue_locked(struct pace *p, struct pace_ticket *t, enum pace_group grp,
                           enum api_prio prio)
{
    struct pace_ticket **pp = &p->g[grp].queue;

    t->group = grp;
    t->prio = prio;
    t->seq = p->seq++;
    t->next = NULL;
    /* USER (0) before BACKGROUND (1); FIFO within a class */
    while (*pp && (*pp)->prio <= prio)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
}

static int64_t try_locked(struct pace *p, struct pace_ticket *t)
{
    struct pace_grp *g = &p->g[t->group];
    int64_t now = p->clock(p->clock_ctx);
    long cap, reserve, over;

    prune(g, now);
    if (now < g->blocked_until)
        return g->blocked_until - now;
    if (g->queue != t)
        return PACE_WAIT_EVENT;
    if (!g->learned && g->in_flight > 0)
        return PACE_WAIT_EVENT;
    reserve = g->limit >= 10 ? g->limit / 10 : 0;
    cap = g->limit - (t->prio == API_PRIO_BACKGROUND ? reserve : 0);
    if (cap < 1)
        cap = 1;
    if (used(g) < cap) {
        unlink_ticket(g, t);
        g->in_flight++;
        return 0;
    }
    /* the (over+1)-th oldest logged answer must leave the window first */
    over = used(g) - cap;
    for (size_t i = g->lo; i < g->n; i++) {
        over -= g->log[i].n;
        if (over < 0)
            return g->log[i].at + g->window_ms + PACE_SLOT_MARGIN_MS - now;
    }
    return PACE_WAIT_EVENT; /* only in-flight requests fill the window */
}

void pace_enqueue(struct pace *p, struct pace_ticket *t, enum pace_group g, enum api_prio prio)
{
    pthread_mutex_lock(&p->lock);
    enqueue_locked(p, t, g, prio);
    pthread_mutex_unlock(&p->lock);
}

int64_t pace_try(struct pace *p, struct pace_ticket *t)
{
    int64_t w;

    pthread_mutex_lock(&p->lock);
    w = try_locked(p, t);
    if (w == 0)
        pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return w;
}

void pace_dequeue(struct pace *p, struct pace_ticket *t)
{
    pthread_mutex_lock(&p->lock);
    unlink_ticket(&p->g[t->group], t);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* Sleep on the condition until clock time `until` (clock may be any ms clock). */
static void wait_until(struct pace *p, int64_t until)
{
    cond_wait_ms(&p->cond, &p->lock, until - p->clock(p->clock_ctx));
}

void pace_shutdown(struct pace *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int pace_acquire(struct pace *p, enum pace_group grp, enum api_prio prio, int64_t deadline_ms)
{
    struct pace_ticket t;
    int rc = 0;

    pthread_mutex_lock(&p->lock);
    enqueue_locked(p, &t, grp, prio);
    for (;;) {
        int64_t w = try_locked(p, &t), now;
        if (w == 0)
            break;
        now = p->clock(p->clock_ctx);
        if (now >= deadline_ms || p->g[grp].blocked_until > deadline_ms || p->stopping) {
            unlink_ticket(&p->g[grp], &t);
            rc = -ETIMEDOUT;
            break;
        }
        wait_until(p, w == PACE_WAIT_EVENT || now + w > deadline_ms ? deadline_ms : now + w);
    }
    pthread_cond_broadcast(&p->cond); /* the next in line may go (or is head now) */
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void pace_release(struct pace *p, enum pace_group grp, const struct pace_report *r)
{
    struct pace_grp *g = &p->g[grp], *tg;
    int named;
    int64_t now;

    pthread_mutex_lock(&p->lock);
    now = p->clock(p->clock_ctx);
    if (g->in_flight > 0)
        g->in_flight--;
    if (r->sent)
        push_stamps(g, now, 1);
    named = pace_group_parse(r->group);
    tg = named >= 0 ? &p->g[named] : g;
    if (r->answered) {
        if (r->limit > 0 && r->limit <= PACE_MAX_LIMIT)
            tg->limit = r->limit;
        if (r->window_s > 0 && r->window_s <= PACE_MAX_WINDOW_S)
            tg->window_ms = r->window_s * 1000;
        tg->learned = true;
        g->learned = true;
    }
    prune(tg, now);
    if (r->rate_limited) {
        int64_t pen = r->retry_after_s >= 0 && r->retry_after_s <= PACE_MAX_WINDOW_S
                          ? r->retry_after_s * 1000
                          : PACE_DEFAULT_PENALTY_MS;
        if (now + pen + PACE_MARGIN_MS > tg->blocked_until)
            tg->blocked_until = now + pen + PACE_MARGIN_MS;
        /* Retry-After is the whole answer: the window is not also counted full, or
         * a penalty shorter than the window would cost a full window */
    } else if (r->answered && r->remaining >= 0 && r->remaining <= tg->limit) {
        long server_used = tg->limit - r->remaining;
        if (server_used > used(tg))
            push_stamps(tg, now, server_used - used(tg));
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void pace_get_state(struct pace *p, enum pace_group grp, struct pace_state *out)
{
    struct pace_grp *g = &p->g[grp];

    pthread_mutex_lock(&p->lock);
    prune(g, p->clock(p->clock_ctx));
    out->limit = g->limit;
    out->window_ms = g->window_ms;
    out->learned = g->learned;
    out->in_window = used(g);
    out->in_flight = g->in_flight;
    out->blocked_until = g->blocked_until;
    out->log_entries = g->n - g->lo;
    pthread_mutex_unlock(&p->lock);
}

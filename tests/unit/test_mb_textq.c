/*
 * Unit tests for mailbox/mb_textq: the fax-text entries and the OCR job
 * queues, driven as the workers and the filesystem drive them, on a bare
 * mailbox whose index holds a few faxes and one SMS (no server, no cache,
 * no helper: the tests play the worker).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/mb_internal.h"
#include "mailbox/mb_textq.h"
#include "tests/unit/check.h"
#include "util/isotime.h"

#define N_MSGS 400
#define SMS    (N_MSGS - 1) /* the one slot that is not a fax */

static struct mb *new_mb(void)
{
    struct mb *m = calloc(1, sizeof *m);
    pthread_rwlock_init(&m->ix.lock, NULL);
    m->ix.msgs = calloc(N_MSGS, sizeof *m->ix.msgs);
    m->ix.n_msgs = N_MSGS;
    for (uint32_t s = 0; s < N_MSGS; s++) {
        m->ix.msgs[s] = calloc(1, sizeof **m->ix.msgs);
        m->ix.msgs[s]->slot = s;
        m->ix.msgs[s]->type = s == SMS ? REC_SMS : REC_FAX;
    }
    m->tx = tq_new(1);
    m->tx->usable = true;
    return m;
}

static void free_mb(struct mb *m)
{
    tq_free(m, m->tx);
    for (uint32_t s = 0; s < N_MSGS; s++)
        free(m->ix.msgs[s]);
    free(m->ix.msgs);
    pthread_rwlock_destroy(&m->ix.lock);
    free(m);
}

static struct cobj_key key_of(uint8_t b)
{
    struct cobj_key k;
    memset(k.b, b, sizeof k.b);
    return k;
}

/* The worker's side: take the next job (it must be there). */
static uint32_t take(struct mb *m, struct tq_ent **x)
{
    struct mb_open_att doc;
    uint32_t e = tq_next(m, 0, x, &doc);
    CHECK(doc.fd == -1);
    return e;
}

static void finish(struct mb *m, uint32_t e, int rc, int64_t size)
{
    struct cobj_key k = key_of((uint8_t)size);
    struct mb_open_att doc = {.fd = -1};
    tq_finish(m, 0, e, rc, size, &k, &doc);
}

static void test_landing_queues_background_work(void)
{
    struct mb *m = new_mb();
    tq_landed(m, SMS, 5); /* not a fax: nothing */
    CHECK_INT(m->tx->bg.n, 0);
    tq_landed(m, 1, 11);
    tq_landed(m, 1, 11); /* already queued: once */
    CHECK_INT(m->tx->bg.n, 1);
    struct tq_ent *x;
    uint32_t e = take(m, &x);
    CHECK(x->slot == 1 && x->att_id == 11 && x->state == TQ_RUNNING);
    tq_landed(m, 1, 11); /* running: not again */
    CHECK_INT(m->tx->bg.n, 0);
    finish(m, e, 0, 42);
    bool failed;
    CHECK_INT(tq_size(m, e, &failed), 42);
    struct cobj_key k;
    CHECK_INT(tq_key(m, e, &k), 0);
    CHECK(k.b[0] == 42);
    tq_landed(m, 1, 11); /* known: nothing to do */
    CHECK_INT(m->tx->bg.n, 0);
    /* A new document of the same message is another entry. */
    CHECK(tq_find(m, 1, 12) == MB_NONE);
    CHECK(tq_get(m, 1, 12) != e);
    /* A vanished text is unknown again, unless it was replaced meanwhile. */
    struct cobj_key other = key_of(7);
    tq_forget(m, e, &other);
    CHECK_INT(tq_size(m, e, &failed), 42);
    tq_forget(m, e, &k);
    CHECK_INT(tq_size(m, e, &failed), -1);
    free_mb(m);
}

static void test_background_queue_is_bounded(void)
{
    struct mb *m = new_mb();
    for (uint32_t s = 0; s < TQ_BACKGROUND_MAX + 50; s++)
        tq_landed(m, s, 1000 + s);
    CHECK_INT(m->tx->bg.n, TQ_BACKGROUND_MAX);
    struct tq_ent *x;
    CHECK_INT(take(m, &x), 0); /* first in, first out */
    free_mb(m);
}

static void test_failures_are_held(void)
{
    struct mb *m = new_mb();
    tq_landed(m, 2, 20);
    struct tq_ent *x;
    uint32_t e = take(m, &x);
    finish(m, e, -EIO, 0);
    bool failed;
    CHECK_INT(tq_size(m, e, &failed), -1);
    CHECK(failed);
    tq_landed(m, 2, 20); /* held: not queued again */
    CHECK_INT(m->tx->bg.n, 0);
    int64_t t0 = isotime_mono_ms();
    CHECK_INT(tq_wait(m, e, true, NULL, t0 + 10000), -EIO);
    CHECK(isotime_mono_ms() - t0 < 5000); /* at once, not at the deadline */
    /* A document that was not cached is dropped, not held. */
    tq_landed(m, 3, 30);
    e = take(m, &x);
    finish(m, e, -ENOENT, 0);
    CHECK_INT(tq_size(m, e, &failed), -1);
    CHECK(!failed);
    tq_landed(m, 3, 30);
    CHECK_INT(m->tx->bg.n, 1);
    free_mb(m);
}

struct waiter {
    struct mb *m;
    uint32_t e;
    int rc;
};

static void *wait_user(void *arg)
{
    struct waiter *w = arg;
    w->rc = tq_wait(w->m, w->e, true, NULL, isotime_mono_ms() + 30000);
    return NULL;
}

/* Wait (a bounded while) until entry e is in state. */
static bool reaches(struct mb *m, uint32_t e, uint8_t state)
{
    for (int i = 0; i < 3000; i++) {
        pthread_mutex_lock(&m->tx->lock);
        bool yes = m->tx->ents[e]->state == state;
        pthread_mutex_unlock(&m->tx->lock);
        if (yes)
            return true;
        usleep(10000);
    }
    return false;
}

static uint32_t user_queued(struct mb *m)
{
    pthread_mutex_lock(&m->tx->lock);
    uint32_t n = m->tx->user.n;
    pthread_mutex_unlock(&m->tx->lock);
    return n;
}

static void test_a_person_goes_first_and_preempts(void)
{
    struct mb *m = new_mb();
    tq_landed(m, 4, 40);
    tq_landed(m, 5, 50);
    struct tq_ent *a, *x;
    uint32_t ea = take(m, &a); /* background job A runs on the one worker */
    /* A person waits for C (not landed): queued as USER; A is told to stop. */
    struct waiter w = {.m = m, .e = tq_get(m, 6, 60)};
    pthread_t t;
    pthread_create(&t, NULL, wait_user, &w);
    CHECK(reaches(m, w.e, TQ_QUEUED));
    for (int i = 0; i < 3000 && !atomic_load(&a->cancel); i++)
        usleep(10000);
    CHECK(atomic_load(&a->cancel));
    finish(m, ea, -ECANCELED, 0); /* preempted: back in its queue, not ended */
    CHECK(reaches(m, ea, TQ_QUEUED));
    /* C first, then A (at the head of the background queue), then B. */
    uint32_t e = take(m, &x);
    CHECK(e == w.e && x->user);
    finish(m, e, 0, 9);
    pthread_join(t, NULL);
    CHECK_INT(w.rc, 0);
    CHECK_INT(take(m, &x), ea);
    CHECK(!atomic_load(&x->cancel));
    finish(m, ea, 0, 1);
    e = take(m, &x);
    CHECK(x->slot == 5);
    /* A person joining a background job lifts it to USER. */
    finish(m, e, 0, 2);
    tq_landed(m, 7, 70);
    tq_landed(m, 8, 80);
    struct waiter w2 = {.m = m, .e = tq_get(m, 8, 80)};
    pthread_create(&t, NULL, wait_user, &w2);
    for (int i = 0; i < 3000 && user_queued(m) == 0; i++)
        usleep(10000);
    e = take(m, &x);
    CHECK(x->slot == 8);
    finish(m, e, 0, 3);
    pthread_join(t, NULL);
    CHECK_INT(w2.rc, 0);
    free_mb(m);
}

static void test_deadline_and_stop(void)
{
    struct mb *m = new_mb();
    uint32_t e = tq_get(m, 9, 90);
    /* Nobody works: the wait ends at its deadline; the job stays queued. */
    CHECK_INT(tq_wait(m, e, true, NULL, isotime_mono_ms() + 100), -EIO);
    CHECK_INT(m->tx->user.n, 1);
    struct waiter w = {.m = m, .e = e};
    pthread_t t;
    pthread_create(&t, NULL, wait_user, &w);
    usleep(50000);
    tq_stop(m);
    pthread_join(t, NULL);
    CHECK_INT(w.rc, -EIO);
    struct tq_ent *x;
    CHECK(take(m, &x) == MB_NONE);
    free_mb(m);
}

int main(void)
{
    RUN(test_landing_queues_background_work);
    RUN(test_background_queue_is_bounded);
    RUN(test_failures_are_held);
    RUN(test_a_person_goes_first_and_preempts);
    RUN(test_deadline_and_stop);
    return CHECK_DONE();
}

/* mb_textq — fax text entries and the OCR job queue (see mb_textq.h). */
#include "mailbox/mb_textq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/mb_index.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

static void tx_lock(struct mb_text *t)
{
    mu_lock(&t->lock, RANK_TX, "text");
}

static void tx_unlock(struct mb_text *t)
{
    mu_unlock(&t->lock, RANK_TX);
}

static uint64_t ent_hash(uint32_t slot, uint64_t att_id)
{
    return ohash_mix(((uint64_t)slot << 32) ^ ohash_mix(att_id));
}

static uint64_t hash_of(void *ctx, uint32_t v)
{
    struct mb_text *t = ctx;
    return ent_hash(t->ents[v]->slot, t->ents[v]->att_id);
}

struct match_arg {
    const struct mb_text *t;
    uint32_t slot;
    uint64_t att_id;
};

static bool match(const void *arg, uint32_t v)
{
    const struct match_arg *a = arg;
    return a->t->ents[v]->slot == a->slot && a->t->ents[v]->att_id == a->att_id;
}

static void doc_none(struct mb_open_att *d)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
}

static bool doc_held(const struct mb_open_att *d)
{
    return d->fd >= 0 || d->mem;
}

struct mb_text *tq_new(int jobs)
{
    struct mb_text *t = mem_calloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    cond_init_mono(&t->ended);
    cond_init_mono(&t->work);
    ohash_init(&t->ids, hash_of, t);
    t->user = t->bg = (struct tq_list){MB_NONE, MB_NONE, 0};
    t->jobs = jobs;
    t->running = mem_calloc((size_t)jobs, sizeof *t->running);
    for (int i = 0; i < jobs; i++)
        t->running[i] = MB_NONE;
    return t;
}

void tq_free(struct mb *m, struct mb_text *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n_ents; i++) {
        if (doc_held(&t->ents[i]->doc))
            mb_att_close(m, &t->ents[i]->doc);
        free(t->ents[i]);
    }
    free(t->ents);
    ohash_free(&t->ids);
    free(t->running);
    free(t->threads);
    free(t->helper);
    free(t->off_why);
    free(t->lang);
    pthread_cond_destroy(&t->ended);
    pthread_cond_destroy(&t->work);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

uint32_t tq_find(struct mb *m, uint32_t slot, uint64_t att_id)
{
    struct mb_text *t = m->tx;
    struct match_arg a = {t, slot, att_id};
    uint32_t e;
    tx_lock(t);
    if (!ohash_find(&t->ids, ent_hash(slot, att_id), match, &a, &e))
        e = MB_NONE;
    tx_unlock(t);
    return e;
}

uint32_t tq_get(struct mb *m, uint32_t slot, uint64_t att_id)
{
    struct mb_text *t = m->tx;
    struct match_arg a = {t, slot, att_id};
    uint64_t h = ent_hash(slot, att_id);
    uint32_t e;
    tx_lock(t);
    if (!ohash_find(&t->ids, h, match, &a, &e)) {
        if (t->n_ents == t->cap_ents) {
            t->cap_ents = t->cap_ents ? 2 * t->cap_ents : 64;
            t->ents = mem_reallocarray(t->ents, t->cap_ents, sizeof *t->ents);
        }
        struct tq_ent *x = mem_calloc(1, sizeof *x);
        x->slot = slot;
        x->att_id = att_id;
        x->size = -1;
        x->next = MB_NONE;
        doc_none(&x->doc);
        atomic_init(&x->cancel, false);
        e = t->n_ents++;
        t->ents[e] = x;
        ohash_insert(&t->ids, h, e);
    }
    tx_unlock(t);
    return e;
}

int64_t tq_size(struct mb *m, uint32_t e, bool *failed)
{
    struct mb_text *t = m->tx;
    tx_lock(t);
    struct tq_ent *x = t->ents[e];
    int64_t size = x->size;
    *failed = size < 0 && x->failed_until > isotime_mono_ms();
    tx_unlock(t);
    return size;
}

int tq_key(struct mb *m, uint32_t e, struct cobj_key *key)
{
    struct mb_text *t = m->tx;
    tx_lock(t);
    struct tq_ent *x = t->ents[e];
    int rc = x->size >= 0 ? 0 : -ENOENT;
    if (rc == 0)
        *key = x->key;
    tx_unlock(t);
    return rc;
}

void tq_found(struct mb *m, uint32_t e, int64_t size, const struct cobj_key *key)
{
    struct mb_text *t = m->tx;
    tx_lock(t);
    t->ents[e]->size = size;
    t->ents[e]->key = *key;
    t->ents[e]->failed_until = 0;
    tx_unlock(t);
}

void tq_forget(struct mb *m, uint32_t e, const struct cobj_key *was)
{
    struct mb_text *t = m->tx;
    tx_lock(t);
    struct tq_ent *x = t->ents[e];
    if (x->size >= 0 && memcmp(x->key.b, was->b, sizeof was->b) == 0)
        x->size = -1;
    tx_unlock(t);
}

/* ---- the queues (tx->lock held) ----------------------------------------- */

static void list_push(struct mb_text *t, struct tq_list *l, uint32_t e, bool front)
{
    struct tq_ent *x = t->ents[e];
    x->next = MB_NONE;
    if (l->head == MB_NONE) {
        l->head = l->tail = e;
    } else if (front) {
        x->next = l->head;
        l->head = e;
    } else {
        t->ents[l->tail]->next = e;
        l->tail = e;
    }
    l->n++;
}

static uint32_t list_pop(struct mb_text *t, struct tq_list *l)
{
    uint32_t e = l->head;
    if (e == MB_NONE)
        return e;
    l->head = t->ents[e]->next;
    if (l->head == MB_NONE)
        l->tail = MB_NONE;
    t->ents[e]->next = MB_NONE;
    l->n--;
    return e;
}

/* Take e out of l (it is there). */
static void list_remove(struct mb_text *t, struct tq_list *l, uint32_t e)
{
    uint32_t prev = MB_NONE;
    for (uint32_t i = l->head; i != MB_NONE; prev = i, i = t->ents[i]->next) {
        if (i != e)
            continue;
        if (prev == MB_NONE)
            l->head = t->ents[e]->next;
        else
            t->ents[prev]->next = t->ents[e]->next;
        if (l->tail == e)
            l->tail = prev;
        t->ents[e]->next = MB_NONE;
        l->n--;
        return;
    }
}

/* Queue e's job (IDLE) in its queue, waking a worker. */
static void enqueue(struct mb_text *t, uint32_t e, bool front)
{
    struct tq_ent *x = t->ents[e];
    x->state = TQ_QUEUED;
    list_push(t, x->user ? &t->user : &t->bg, e, front);
    pthread_cond_signal(&t->work);
}

/* A USER job waits and no worker is free: stop one BACKGROUND job. */
static void preempt(struct mb_text *t)
{
    if (t->idle > 0)
        return;
    for (int w = 0; w < t->jobs; w++) {
        uint32_t e = t->running[w];
        if (e != MB_NONE && !t->ents[e]->user && !atomic_load(&t->ents[e]->cancel)) {
            atomic_store(&t->ents[e]->cancel, true);
            return;
        }
    }
}

void tq_landed(struct mb *m, uint32_t slot, uint64_t att_id)
{
    struct mb_text *t = m->tx;
    if (!t || !t->usable)
        return;
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    bool fax = msg && msg->type == REC_FAX;
    ix_unlock(m);
    if (!fax)
        return;
    uint32_t e = tq_get(m, slot, att_id);
    tx_lock(t);
    struct tq_ent *x = t->ents[e];
    if (!t->stop && x->size < 0 && x->state == TQ_IDLE && x->failed_until <= isotime_mono_ms()) {
        if (t->bg.n < TQ_BACKGROUND_MAX)
            enqueue(t, e, false);
        else
            log_debug("fax text queue full: message slot %u waits until asked for", slot);
    }
    tx_unlock(t);
}

int tq_wait(struct mb *m, uint32_t e, bool user, struct mb_open_att *doc, int64_t deadline_ms)
{
    struct mb_text *t = m->tx;
    tx_lock(t);
    struct tq_ent *x = t->ents[e];
    int rc = -EIO;
    if (x->size >= 0) {
        rc = 0;
        goto out;
    }
    if (t->stop || x->failed_until > isotime_mono_ms())
        goto out;
    if (doc && doc_held(doc) && !doc_held(&x->doc) && x->state != TQ_RUNNING) {
        x->doc = *doc;
        doc_none(doc);
    }
    if (x->state == TQ_IDLE) {
        x->user = user;
        enqueue(t, e, false);
    } else if (user && !x->user) {
        x->user = true;
        if (x->state == TQ_QUEUED) {
            list_remove(t, &t->bg, e);
            list_push(t, &t->user, e, false);
            pthread_cond_signal(&t->work);
        }
    }
    if (user && x->state == TQ_QUEUED)
        preempt(t);
    uint64_t seen = x->ends;
    x->waiters++;
    while (x->ends == seen && !t->stop)
        if (cond_wait_until(&t->ended, &t->lock, deadline_ms) == ETIMEDOUT && x->ends == seen)
            break;
    x->waiters--;
    if (x->size >= 0)
        rc = 0;
    else if (x->ends != seen)
        rc = x->rc < 0 ? x->rc : -EIO;
out:
    tx_unlock(t);
    return rc;
}

uint32_t tq_next(struct mb *m, int w, struct tq_ent **out, struct mb_open_att *doc)
{
    struct mb_text *t = m->tx;
    uint32_t e = MB_NONE;
    doc_none(doc);
    tx_lock(t);
    while (!t->stop) {
        e = list_pop(t, &t->user);
        if (e == MB_NONE)
            e = list_pop(t, &t->bg);
        if (e != MB_NONE)
            break;
        t->idle++;
        pthread_cond_wait(&t->work, &t->lock);
        t->idle--;
    }
    if (e != MB_NONE && !t->stop) {
        struct tq_ent *x = t->ents[e];
        x->state = TQ_RUNNING;
        atomic_store(&x->cancel, false);
        *doc = x->doc;
        doc_none(&x->doc);
        t->running[w] = e;
        *out = x;
    } else if (e != MB_NONE) {
        /* Stopping: the job is dropped (its document is released at free). */
        t->ents[e]->state = TQ_IDLE;
        e = MB_NONE;
    }
    tx_unlock(t);
    return e;
}

void tq_finish(struct mb *m, int w, uint32_t e, int rc, int64_t size, const struct cobj_key *key,
               struct mb_open_att *doc)
{
    struct mb_text *t = m->tx;
    tx_lock(t);
    struct tq_ent *x = t->ents[e];
    t->running[w] = MB_NONE;
    if (rc == -ECANCELED && !t->stop) {
        if (!doc_held(&x->doc)) {
            x->doc = *doc;
            doc_none(doc);
        }
        enqueue(t, e, true); /* it had waited its turn already */
        tx_unlock(t);
        return;
    }
    x->state = TQ_IDLE;
    x->user = false;
    x->rc = rc;
    x->ends++;
    if (rc == 0) {
        x->size = size;
        x->key = *key;
        x->failed_until = 0;
    } else if (rc != -ENOENT && rc != -ECANCELED) {
        x->failed_until = isotime_mono_ms() + TEXT_FAIL_HOLD_MS;
    }
    pthread_cond_broadcast(&t->ended);
    tx_unlock(t);
}

void tq_stop(struct mb *m)
{
    struct mb_text *t = m->tx;
    if (!t)
        return;
    tx_lock(t);
    t->stop = true;
    for (int w = 0; w < t->jobs; w++)
        if (t->running[w] != MB_NONE)
            atomic_store(&t->ents[t->running[w]]->cancel, true);
    pthread_cond_broadcast(&t->work);
    pthread_cond_broadcast(&t->ended);
    tx_unlock(t);
}

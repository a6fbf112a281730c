/*
 * mb_content — the bytes behind the files: meta.json, attachment sizes and
 * attachment content.
 *
 * meta.json comes from the record log (verified on every read; a damaged
 * copy is fetched again).  Attachment content comes from the content cache,
 * or is downloaded into it: one transfer per object however many readers
 * wait ("flights"), each bounded by the caller's deadline.  A size the
 * record does not give is learned by a ranged request for the first
 * probe_bytes, which caches the whole file when it is that small.  An SMS
 * or Pager text whose recorded size equals the subject's length is the
 * subject (the API repeats the text there), served without any request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/mb_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

/* ---- records ------------------------------------------------------------------ */

/* Read the stored record of slot into *buf.  Returns 0, -EIO when damaged. */
static int read_stored(struct mb *m, uint32_t slot, char **buf, size_t *len)
{
    int rc;
    pthread_rwlock_rdlock(&m->lock);
    if (slot >= m->n_msgs) {
        pthread_rwlock_unlock(&m->lock);
        return -ENOENT;
    }
    struct mb_msg *msg = m->msgs[slot];
    struct rlog_ref ref = msg->rec;
    char *b = mem_alloc((size_t)ref.len + 1);
    /* pread of a few KB from the page cache; the log cannot be swapped
     * while the read lock is held. */
    rc = ref.len ? rlog_read(m->rlog, msg->id, ref, b) : -EIO;
    pthread_rwlock_unlock(&m->lock);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b[ref.len] = '\0';
    *buf = b;
    *len = ref.len;
    return 0;
}

struct refetch_ctx {
    struct mb *m;
    uint32_t ext;
    struct mb_changes chg;
    int rc;
};

static int refetch_cb(void *ctx, struct rec *r)
{
    struct refetch_ctx *rc = ctx;
    pthread_rwlock_wrlock(&rc->m->lock);
    struct mb_msg *msg = mb_find_id(rc->m, rc->ext, r->id);
    if (r->partial) {
        if (msg)
            mb_set_avail(rc->m, msg, r->availability, &rc->chg);
    } else {
        if (msg)
            msg->meta_bad = true; /* make apply store it even if not newer */
        rc->rc = mb_apply_record(rc->m, rc->ext, r, &rc->chg);
    }
    pthread_rwlock_unlock(&rc->m->lock);
    return 0;
}

/* Fetch records again by id (after damage, or to refresh after a change). */
int mb_refetch(struct mb *m, const struct api_call *c, uint32_t ext, const uint64_t *ids, size_t n)
{
    struct refetch_ctx rc = {.m = m, .ext = ext};
    int r = api_get(m->o.api, c, m->exts[ext].id, ids, n, refetch_cb, &rc);
    r = mb_note_net(m, r);
    mb_changes_deliver(m, &rc.chg);
    return r < 0 ? r : rc.rc;
}

int mb_meta_read(struct mb *m, const struct api_call *c, uint32_t slot, char **buf, size_t *len)
{
    int rc = read_stored(m, slot, buf, len);
    if (rc != -EIO)
        return rc;
    /* Never serve a damaged record: fetch it again. */
    pthread_rwlock_wrlock(&m->lock);
    struct mb_msg *msg = m->msgs[slot];
    msg->meta_bad = true;
    uint64_t id = msg->id;
    uint32_t ext = msg->ext;
    pthread_rwlock_unlock(&m->lock);
    log_warn("stored record of message %" PRIu64 " is damaged; fetching it again", id);
    if (mb_offline(m))
        return -EIO;
    rc = mb_refetch(m, c, ext, &id, 1);
    if (rc < 0)
        return -EIO;
    return read_stored(m, slot, buf, len);
}

/* Parse the stored record of slot into *r (caller rec_free()s it): no request. */
static int parse_stored(struct mb *m, uint32_t slot, struct rec *r)
{
    char *text, err[128];
    size_t len;
    int rc = read_stored(m, slot, &text, &len);
    if (rc < 0)
        return rc;
    rc = rec_from_text(text, len, false, r, err, sizeof err);
    free(text);
    return rc < 0 ? -EIO : 0;
}

int mb_msg_subject(struct mb *m, uint32_t slot, char **subject)
{
    struct rec r;
    *subject = NULL;
    int rc = parse_stored(m, slot, &r);
    if (rc < 0)
        return rc;
    *subject = r.subject; /* taken: rec_free skips it */
    r.subject = NULL;
    rec_free(&r);
    return 0;
}

int mb_att_uri(struct mb *m, uint32_t slot, uint32_t k, char **uri)
{
    struct rec r;
    *uri = NULL;
    int rc = parse_stored(m, slot, &r);
    if (rc < 0)
        return rc;
    rc = -ENOENT;
    if (k < r.n_att && r.att[k].uri) {
        *uri = r.att[k].uri;
        r.att[k].uri = NULL;
        rc = 0;
    }
    rec_free(&r);
    return rc;
}

/* ---- attachment identity ------------------------------------------------------- */

struct att_ref {
    uint64_t msg_id, att_id, ext_id;
    uint32_t ext;
    int64_t size;
    uint8_t type;
    const char *content_type;
    struct cobj_key key;
};

static int att_ref(struct mb *m, uint32_t slot, uint32_t k, struct att_ref *a)
{
    int rc = 0;
    pthread_rwlock_rdlock(&m->lock);
    if (slot >= m->n_msgs || k >= m->msgs[slot]->n_att) {
        rc = -ENOENT;
    } else {
        struct mb_msg *msg = m->msgs[slot];
        a->msg_id = msg->id;
        a->att_id = msg->att[k].id;
        a->ext = msg->ext;
        a->ext_id = m->exts[msg->ext].id;
        a->size = msg->att[k].size;
        a->type = msg->att[k].type;
        a->content_type = msg->att[k].content_type;
    }
    pthread_rwlock_unlock(&m->lock);
    if (rc == 0)
        a->key = cobj_key_make(m->server_url, m->account_id, a->ext_id, a->msg_id, a->att_id);
    return rc;
}

/* Remember a learned size (the message's files change attributes). */
/* Sizes only go from unknown to known, and nothing was shown before they
 * were known, so the kernel needs no notification. */
static void learn_size(struct mb *m, uint32_t slot, uint64_t att_id, int64_t size)
{
    pthread_rwlock_wrlock(&m->lock);
    struct mb_msg *msg = m->msgs[slot];
    for (uint32_t k = 0; k < msg->n_att; k++) {
        if (msg->att[k].id == att_id && msg->att[k].size != size) {
            msg->att[k].size = size;
            m->dirty = true;
        }
    }
    pthread_rwlock_unlock(&m->lock);
}

/* ---- flights: one transfer per object ------------------------------------------- */

/* Join the flight for (slot, k) or start one.  Returns the flight; *mine is
 * true when the caller must perform the transfer and call flight_end. */
static struct mb_flight *flight_join(struct mb *m, uint32_t slot, uint32_t k, bool *mine)
{
    pthread_mutex_lock(&m->flight_lock);
    for (struct mb_flight *f = m->flights; f; f = f->next) {
        if (f->slot == slot && f->k == k && !f->done) {
            f->waiters++;
            *mine = false;
            pthread_mutex_unlock(&m->flight_lock);
            return f;
        }
    }
    struct mb_flight *f = mem_calloc(1, sizeof *f);
    f->slot = slot;
    f->k = k;
    f->next = m->flights;
    m->flights = f;
    *mine = true;
    pthread_mutex_unlock(&m->flight_lock);
    return f;
}

static void flight_unlink(struct mb *m, struct mb_flight *f)
{
    for (struct mb_flight **p = &m->flights; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            return;
        }
    }
}

/* The fetcher reports its result and wakes the waiters. */
static void flight_end(struct mb *m, struct mb_flight *f, int rc)
{
    pthread_mutex_lock(&m->flight_lock);
    f->done = true;
    f->rc = rc;
    flight_unlink(m, f);
    bool free_now = f->waiters == 0;
    pthread_cond_broadcast(&m->flight_cond);
    pthread_mutex_unlock(&m->flight_lock);
    if (free_now)
        free(f);
}

/* A waiter waits for the result until its deadline.  Returns the fetcher's
 * rc, or -EIO when the deadline passed first. */
static int flight_wait(struct mb *m, struct mb_flight *f, int64_t deadline)
{
    int rc;
    pthread_mutex_lock(&m->flight_lock);
    while (!f->done) {
        if (cond_wait_until(&m->flight_cond, &m->flight_lock, deadline) == ETIMEDOUT && !f->done)
            break;
    }
    rc = f->done ? f->rc : -EIO;
    bool free_now = --f->waiters == 0 && f->done;
    pthread_mutex_unlock(&m->flight_lock);
    if (free_now)
        free(f);
    return rc;
}

/* ---- transfers -------------------------------------------------------------------- */

struct sink {
    struct cobj_store *store;
    const struct cobj_key *key;
    struct cobj_writer *w;
    int rc;
};

static int sink_fn(void *ctx, const void *p, size_t n)
{
    struct sink *s = ctx;
    if (!p) {
        /* A retry starts over. */
        cobj_abort(s->w);
        s->w = NULL;
        int rc = cobj_begin(s->store, s->key, &s->w);
        return rc;
    }
    if (!s->w) {
        int rc = cobj_begin(s->store, s->key, &s->w);
        if (rc < 0)
            return rc;
    }
    return cobj_write(s->w, p, n);
}

/*
 * Fetch attachment k of slot into the cache.  range_len > 0: only the
 * first range_len bytes are asked for; the object is cached only if that was
 * all of it.  Learns the size either way.  Returns 0 or -errno.
 */
static int transfer(struct mb *m, const struct api_call *c, uint32_t slot, uint32_t k,
                    const struct att_ref *a, int64_t range_len)
{
    char *uri = NULL;
    int rc = mb_att_uri(m, slot, k, &uri);
    if (rc < 0)
        return rc == -ENOENT ? -EIO : rc;
    struct sink s = {.store = m->objects, .key = &a->key};
    struct api_content req = {
        .uri = uri,
        .expect_type = a->content_type[0] ? a->content_type : NULL,
        .expect_size = a->size,
        .range_len = a->size >= 0 ? 0 : range_len,
        .sink = sink_fn,
        .sink_ctx = &s,
    };
    struct api_content_info info = {0};
    int64_t t0 = isotime_mono_ms();
    rc = api_fetch(m->o.api, c, &req, &info);
    rc = mb_note_net(m, rc);
    free(uri);
    if (rc == 0 && info.total_size >= 0)
        learn_size(m, slot, a->att_id, info.total_size);
    if (rc == 0 && info.complete) {
        if (!s.w) /* an empty attachment: nothing reached the sink */
            rc = cobj_begin(m->objects, &a->key, &s.w);
        if (rc == 0) {
            rc = cobj_commit(s.w, info.total_size);
            s.w = NULL;
        }
        if (rc < 0)
            log_warn("cannot cache attachment %" PRIu64 "/%" PRIu64 ": %s", a->msg_id, a->att_id,
                     strerror(-rc));
    }
    cobj_abort(s.w);
    log_debug("%s %" PRIu64 "/%" PRIu64 ": %s, %" PRId64 " of %" PRId64 " bytes in %" PRId64 " ms",
              range_len > 0 && a->size < 0 ? "probe" : "download", a->msg_id, a->att_id,
              rc == 0 ? "ok" : strerror(-rc), info.received, info.total_size,
              isotime_mono_ms() - t0);
    return rc;
}

/* Run or join the transfer for (slot, k). */
static int fetch_once(struct mb *m, const struct api_call *c, uint32_t slot, uint32_t k,
                      int64_t range_len)
{
    bool mine;
    struct att_ref a;
    int rc = att_ref(m, slot, k, &a);
    if (rc < 0)
        return rc;
    struct mb_flight *f = flight_join(m, slot, k, &mine);
    if (!mine)
        return flight_wait(m, f, mb_deadline(m, c));
    rc = transfer(m, c, slot, k, &a, range_len);
    flight_end(m, f, rc);
    return rc;
}

int mb_att_size(struct mb *m, const struct api_call *c, uint32_t slot, uint32_t k, int64_t *size)
{
    struct att_ref a;
    int rc = att_ref(m, slot, k, &a);
    if (rc < 0)
        return rc;
    if (a.size >= 0) {
        *size = a.size;
        return 0;
    }
    /* A cached copy (e.g. from an earlier mount) knows its size. */
    uint64_t have;
    if (cobj_exists(m->objects, &a.key, &have)) {
        learn_size(m, slot, a.att_id, (int64_t)have);
        *size = (int64_t)have;
        return 0;
    }
    if (mb_offline(m))
        return -EIO;
    struct api_call call = {.deadline_ms = mb_deadline(m, c), .prio = c ? c->prio : API_PRIO_USER};
    rc = fetch_once(m, &call, slot, k, m->o.probe_bytes > 0 ? m->o.probe_bytes : 65536);
    if (rc < 0)
        return rc;
    rc = att_ref(m, slot, k, &a);
    if (rc == 0 && a.size < 0)
        rc = -EIO;
    if (rc == 0)
        *size = a.size;
    return rc;
}

/* The text of an SMS/Pager Text attachment, when the subject provably is it. */
static char *text_from_subject(struct mb *m, uint32_t slot, const struct att_ref *a)
{
    char *subject = NULL;
    if (a->type != REC_ATT_TEXT || a->size < 0)
        return NULL;
    if (mb_msg_subject(m, slot, &subject) < 0 || !subject)
        return NULL;
    if ((int64_t)strlen(subject) != a->size) {
        free(subject);
        return NULL;
    }
    return subject;
}

/*
 * Open attachment a of slot from what is here, without any request: the
 * subject (for a Text that provably is it) or the cache.  Returns 0 and
 * fills *out, -ENOENT when it must be downloaded (a cached copy whose size
 * is not the record's is deleted: never served), or -errno.
 */
static int open_local(struct mb *m, uint32_t slot, const struct att_ref *a, struct mb_open_att *out)
{
    char *text = text_from_subject(m, slot, a);
    if (text) {
        out->mem = text;
        out->size = (uint64_t)a->size;
        return 0;
    }
    uint64_t size;
    int fd;
    int rc = cobj_open(m->objects, &a->key, &fd, &size);
    if (rc < 0)
        return rc;
    if (a->size >= 0 && (int64_t)size != a->size) {
        close(fd);
        cobj_release(m->objects, &a->key);
        cobj_remove(m->objects, &a->key);
        log_warn("cached attachment %" PRIu64 "/%" PRIu64 " has the wrong size; "
                 "fetching it again",
                 a->msg_id, a->att_id);
        return -ENOENT;
    }
    if (a->size < 0)
        learn_size(m, slot, a->att_id, (int64_t)size);
    out->fd = fd;
    out->size = size;
    out->pin = mem_alloc(sizeof a->key);
    memcpy(out->pin, &a->key, sizeof a->key);
    return 0;
}

int mb_att_open(struct mb *m, const struct api_call *c, uint32_t slot, uint32_t k,
                struct mb_open_att *out)
{
    struct att_ref a;
    int rc = att_ref(m, slot, k, &a);
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (rc < 0)
        return rc;
    struct api_call call = {.deadline_ms = mb_deadline(m, c), .prio = c ? c->prio : API_PRIO_USER};
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = open_local(m, slot, &a, out);
        if (rc != -ENOENT)
            return rc;
        if (mb_offline(m))
            return -EIO;
        rc = fetch_once(m, &call, slot, k, 0);
        if (rc < 0)
            return rc;
        rc = att_ref(m, slot, k, &a);
        if (rc < 0)
            return rc;
    }
    /* Downloaded but evicted at once (a cache smaller than the file). */
    return -ENOSPC;
}

int mb_att_open_cached(struct mb *m, uint32_t slot, uint32_t k, struct mb_open_att *out)
{
    struct att_ref a;
    int rc = att_ref(m, slot, k, &a);
    memset(out, 0, sizeof *out);
    out->fd = -1;
    return rc < 0 ? rc : open_local(m, slot, &a, out);
}

void mb_att_close(struct mb *m, struct mb_open_att *o)
{
    if (o->fd >= 0) {
        close(o->fd);
        cobj_release(m->objects, (const struct cobj_key *)o->pin);
    }
    free(o->pin);
    free(o->mem);
    memset(o, 0, sizeof *o);
    o->fd = -1;
}

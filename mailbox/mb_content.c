/*
 * mb_content — the bytes behind the files: attachment sizes and attachment
 * content (implements those parts of mb.h; meta.json is mb_stored.c's).
 *
 * Attachment content comes from the content cache, or is downloaded into
 * it: one transfer per object however many readers wait (mb_flight.c),
 * each bounded by the caller's deadline.  A size the
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

#include "mailbox/mb_flight.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_internal.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_stored.h"
#include "mailbox/mb_textq.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- attachment identity ------------------------------------------------------- */

/* A copy of what identifies attachment k of a message, taken under one lock. */
struct att_ref {
    uint64_t msg_id, att_id, ext_id;
    int64_t size;
    uint8_t type;
    const char *content_type;
    struct cobj_key key;
};

static int att_ref(struct mb *m, uint32_t slot, uint32_t k, struct att_ref *a)
{
    int rc = 0;
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (!msg || k >= msg->n_att) {
        rc = -ENOENT;
    } else {
        a->msg_id = msg->id;
        a->att_id = msg->att[k].id;
        a->ext_id = m->ix.exts[msg->ext].id;
        a->size = msg->att[k].size;
        a->type = msg->att[k].type;
        a->content_type = msg->att[k].content_type;
    }
    ix_unlock(m);
    if (rc == 0)
        a->key = cobj_key_make(m->server_url, m->account_id, a->ext_id, a->msg_id, a->att_id);
    return rc;
}

/* Remember a learned size.  Sizes only go from unknown to known, and nothing
 * was shown before they were known, so the kernel needs no notification. */
static void learn_size(struct mb *m, uint32_t slot, uint64_t att_id, int64_t size)
{
    bool changed = false;
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    for (uint32_t k = 0; msg && k < msg->n_att; k++) {
        if (msg->att[k].id == att_id && msg->att[k].size != size) {
            msg->att[k].size = size;
            changed = true;
        }
    }
    ix_unlock(m);
    if (changed)
        mb_touch(m);
}

/* ---- transfers -------------------------------------------------------------------- */

struct sink {
    struct cobj_store *store;
    const struct cobj_key *key;
    struct cobj_writer *w;
};

static int sink_fn(void *ctx, const void *p, size_t n)
{
    struct sink *s = ctx;
    if (!p) { /* a retry starts over */
        cobj_abort(s->w);
        s->w = NULL;
        return cobj_begin(s->store, s->key, &s->w);
    }
    if (!s->w) {
        int rc = cobj_begin(s->store, s->key, &s->w);
        if (rc < 0)
            return rc;
    }
    return cobj_write(s->w, p, n);
}

/* Commit what the sink holds when the transfer brought the whole content. */
static int keep_complete(struct mb *m, struct sink *s, const struct att_ref *a,
                         const struct api_content_info *info)
{
    int rc = 0;
    if (!s->w) /* an empty attachment: nothing reached the sink */
        rc = cobj_begin(m->ps.objects, &a->key, &s->w);
    if (rc == 0) {
        rc = cobj_commit(s->w, info->total_size);
        s->w = NULL;
    }
    if (rc < 0)
        log_warn("cannot cache attachment %" PRIu64 "/%" PRIu64 ": %s", a->msg_id, a->att_id,
                 strerror(-rc));
    return rc;
}

/*
 * Fetch attachment a of slot into the cache.  range_len > 0: only the first
 * range_len bytes are asked for; the object is cached only if that was all
 * of it.  Learns the size either way.  The URI is the one of attachment
 * a->att_id in the stored record (whatever its position now).
 */
static int transfer(struct mb *m, const struct api_call *c, uint32_t slot, const struct att_ref *a,
                    int64_t range_len)
{
    char *uri = NULL;
    int rc = stored_att_uri(m, slot, a->att_id, &uri);
    if (rc < 0)
        return rc == -ENOENT ? -EIO : rc;
    struct sink s = {.store = m->ps.objects, .key = &a->key};
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
    rc = net_note(m, api_fetch(m->o.api, c, &req, &info));
    free(uri);
    if (rc == 0 && info.total_size >= 0)
        learn_size(m, slot, a->att_id, info.total_size);
    if (rc == 0 && info.complete)
        rc = keep_complete(m, &s, a, &info);
    if (rc == 0 && info.complete && a->type == REC_ATT_RENDERED_DOCUMENT)
        tq_landed(m, slot, a->att_id); /* its text is made ahead of time */
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
    struct att_ref a;
    int rc = att_ref(m, slot, k, &a);
    if (rc < 0)
        return rc;
    struct mb_flight *f;
    int mine = flight_enter(m, slot, FLIGHT_CONTENT, a.att_id, c->deadline_ms, &f, &rc);
    if (mine <= 0)
        return mine < 0 ? mine : rc;
    rc = transfer(m, c, slot, &a, range_len);
    flight_end(m, f, rc);
    return rc;
}

int mb_att_size(struct mb *m, const struct mb_call *c, uint32_t slot, uint32_t k, int64_t *size)
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
    if (cobj_exists(m->ps.objects, &a.key, &have)) {
        learn_size(m, slot, a.att_id, (int64_t)have);
        *size = (int64_t)have;
        return 0;
    }
    if (mb_offline(m))
        return -EIO;
    struct api_call call = net_api_call(m, c);
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
    int rc = cobj_open(m->ps.objects, &a->key, &fd, &size);
    if (rc < 0)
        return rc;
    if (a->size >= 0 && (int64_t)size != a->size) {
        close(fd);
        cobj_release(m->ps.objects, &a->key);
        cobj_remove(m->ps.objects, &a->key);
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

int mb_att_open(struct mb *m, const struct mb_call *c, uint32_t slot, uint32_t k,
                struct mb_open_att *out)
{
    struct att_ref a;
    int rc = att_ref(m, slot, k, &a);
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (rc < 0)
        return rc;
    struct api_call call = net_api_call(m, c);
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
        cobj_release(m->ps.objects, (const struct cobj_key *)o->pin);
    }
    free(o->pin);
    free(o->mem);
    memset(o, 0, sizeof *o);
    o->fd = -1;
}

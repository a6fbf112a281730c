/*
 * mb_stored — the stored record of each message and what is read from it
 * without a request (implements those parts of mb.h).
 *
 * meta.json comes from the record log (verified on every read; a damaged
 * copy is fetched again, a copy our own DELETE made stale is refreshed).
 * The sender, the subject and the attachment URIs are read from the same
 * record, except what a copy reads for every file: attachment URIs of the
 * usual form are rebuilt from memory (mb_uri.h), and the subject's length
 * is kept once known (mb_msg.subject_len), so `cp -a` and `rsync -aX`
 * read the record once per message folder, not once per value.
 */
#include "mailbox/mb_stored.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_apply.h"
#include "mailbox/mb_fetch.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_uri.h"
#include "util/log.h"
#include "util/mem.h"

/* Read record ref of message id into *buf (the log is append-only while
 * threads run, so an older ref stays readable).  Returns 0 or -EIO. */
static int read_ref(struct mb *m, uint64_t id, struct rlog_ref ref, char **buf, size_t *len)
{
    if (!ref.len)
        return -EIO;
    char *b = mem_alloc((size_t)ref.len + 1);
    int rc = rlog_read(m->ps.rlog, id, ref, b);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b[ref.len] = '\0';
    *buf = b;
    *len = ref.len;
    return 0;
}

/* Read the stored record of slot into *buf (and where it was into *where,
 * when not NULL).  The location is taken under the index lock; the disk
 * read happens after it is released.  Returns 0, -ENOENT, or -EIO when
 * damaged. */
static int read_stored(struct mb *m, uint32_t slot, char **buf, size_t *len, struct rlog_ref *where)
{
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    uint64_t id = msg ? msg->id : 0;
    struct rlog_ref ref = msg ? msg->rec : (struct rlog_ref){0};
    ix_unlock(m);
    if (!msg)
        return -ENOENT;
    if (where)
        *where = ref;
    return read_ref(m, id, ref, buf, len);
}

void mb_meta_refresh(struct mb *m, const struct mb_call *c, uint32_t slot)
{
    uint64_t ids[API_GET_MAX_IDS];
    size_t n = 0;
    uint32_t ext = 0;
    if (mb_offline(m))
        return; /* nothing to ask: do not gather */
    ix_rdlock(m);
    const struct mb_msg *msg = idx_msg(m, slot);
    if (msg && msg->meta_stale) {
        ext = msg->ext;
        ids[n++] = msg->id;
        /* Its fellows of the same extension: what an rm -r left stale is
         * usually looked at together (ls -l, grep -r, the Trash window). */
        for (uint32_t s = 0; s < m->ix.n_msgs && n < API_GET_MAX_IDS; s++) {
            const struct mb_msg *o = m->ix.msgs[s];
            if (o != msg && o->ext == ext && o->meta_stale)
                ids[n++] = o->id;
        }
    }
    ix_unlock(m);
    if (!n)
        return;
    struct api_call call = net_api_call(m, c);
    int rc = fetch_again(m, &call, ext, ids, n);
    if (rc < 0)
        log_debug("refreshing %zu records from %" PRIu64 ": %s", n, ids[0], strerror(-rc));
}

int mb_meta_read(struct mb *m, const struct mb_call *c, uint32_t slot, char **buf, size_t *len)
{
    mb_meta_refresh(m, c, slot);
    int rc = read_stored(m, slot, buf, len, NULL);
    if (rc != -EIO)
        return rc;
    /* Never serve a damaged record: fetch it again. */
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    msg->meta_bad = true;
    uint64_t id = msg->id;
    uint32_t ext = msg->ext;
    ix_unlock(m);
    log_warn("stored record of message %" PRIu64 " is damaged; fetching it again", id);
    if (mb_offline(m))
        return -EIO;
    struct api_call call = net_api_call(m, c);
    rc = fetch_again(m, &call, ext, &id, 1);
    if (rc < 0)
        return -EIO;
    return read_stored(m, slot, buf, len, NULL);
}

/* Parse the stored record of slot into *r (caller rec_free()s it): no
 * request.  where: as read_stored. */
static int parse_stored(struct mb *m, uint32_t slot, struct rec *r, struct rlog_ref *where)
{
    char *text, err[128];
    size_t len;
    int rc = read_stored(m, slot, &text, &len, where);
    if (rc < 0)
        return rc;
    rc = rec_from_text(text, len, false, r, err, sizeof err);
    free(text);
    return rc < 0 ? -EIO : 0;
}

int mb_msg_sender(struct mb *m, uint32_t slot, char **peer)
{
    struct rec r;
    *peer = NULL;
    int rc = parse_stored(m, slot, &r, NULL);
    if (rc < 0)
        return rc;
    *peer = r.peer; /* taken: rec_free skips it */
    r.peer = NULL;
    rec_free(&r);
    return 0;
}

/* Remember the length of slot's subject, read from stored record `where`,
 * unless a newer record came meanwhile. */
static void subject_learn(struct mb *m, uint32_t slot, struct rlog_ref where, const char *subject)
{
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (msg && msg->has_subject && !msg->subject_len && subject && subject[0] &&
        msg->rec.off == where.off && msg->rec.len == where.len)
        msg->subject_len = apply_subject_len(subject);
    ix_unlock(m);
}

/* The subject of slot (as mb_msg_subject), and where it was read. */
static int stored_subject(struct mb *m, uint32_t slot, char **subject, struct rlog_ref *where)
{
    struct rec r;
    *subject = NULL;
    int rc = parse_stored(m, slot, &r, where);
    if (rc < 0)
        return rc;
    *subject = r.subject; /* taken: rec_free skips it */
    r.subject = NULL;
    rec_free(&r);
    return 0;
}

int mb_msg_subject(struct mb *m, uint32_t slot, char **subject)
{
    return stored_subject(m, slot, subject, NULL);
}

int mb_msg_subject_len(struct mb *m, uint32_t slot, size_t *len)
{
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    bool known = msg && (!msg->has_subject || msg->subject_len);
    *len = known && msg->has_subject ? msg->subject_len : 0;
    ix_unlock(m);
    if (known)
        return 0;
    char *subject;
    struct rlog_ref where;
    int rc = stored_subject(m, slot, &subject, &where);
    if (rc == 0 && subject) {
        *len = strlen(subject);
        subject_learn(m, slot, where, subject);
    }
    free(subject);
    return rc;
}

int stored_att_uri(struct mb *m, uint32_t slot, uint64_t att_id, char **uri)
{
    struct rec r;
    *uri = NULL;
    int rc = parse_stored(m, slot, &r, NULL);
    if (rc < 0)
        return rc;
    rc = -ENOENT;
    for (size_t i = 0; i < r.n_att; i++) {
        if (r.att[i].id == att_id && r.att[i].uri) {
            *uri = r.att[i].uri;
            r.att[i].uri = NULL;
            rc = 0;
            break;
        }
    }
    rec_free(&r);
    return rc;
}

/* What mb_att_uri needs of attachment k, copied under one read lock. */
struct uri_src {
    uint64_t msg_id, att_id;
    uint32_t ext;
    uint8_t form;        /* mb_att.uri_form */
    const char *base;    /* the base when form is a base number, else NULL */
    struct rlog_ref rec; /* the stored record the form belongs to */
};

static int uri_src(struct mb *m, uint32_t slot, uint32_t k, struct uri_src *u)
{
    int rc = 0;
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (!msg || k >= msg->n_att) {
        rc = -ENOENT;
    } else {
        *u = (struct uri_src){.msg_id = msg->id,
                              .att_id = msg->att[k].id,
                              .ext = msg->ext,
                              .form = msg->att[k].uri_form,
                              .rec = msg->rec};
        u->base = uri_base(m, msg->ext, u->form);
    }
    ix_unlock(m);
    return rc;
}

/* The URI of attachment k in the stored record u->rec (as stored_uri by
 * index).  *learnable: that record's attachment k is u's, so what it says
 * may be remembered as u's form. */
static int record_uri(struct mb *m, const struct uri_src *u, uint32_t k, char **uri,
                      bool *learnable)
{
    char *text, err[128];
    size_t len;
    struct rec r;
    *learnable = false;
    int rc = read_ref(m, u->msg_id, u->rec, &text, &len);
    if (rc < 0)
        return rc;
    rc = rec_from_text(text, len, false, &r, err, sizeof err);
    free(text);
    if (rc < 0)
        return -EIO;
    rc = -ENOENT;
    if (k < r.n_att && r.att[k].uri) {
        *uri = r.att[k].uri;
        r.att[k].uri = NULL; /* taken: rec_free skips it */
        rc = 0;
    }
    *learnable = r.id == u->msg_id && k < r.n_att && r.att[k].id == u->att_id;
    rec_free(&r);
    return rc;
}

/* Remember the form of attachment k of slot as the stored record u->rec
 * says it (uri, NULL for none), unless the entry changed meanwhile. */
static void uri_learn(struct mb *m, uint32_t slot, uint32_t k, const struct uri_src *u,
                      const char *uri)
{
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (msg && k < msg->n_att && msg->att[k].id == u->att_id &&
        msg->att[k].uri_form == URI_UNKNOWN && msg->rec.off == u->rec.off &&
        msg->rec.len == u->rec.len)
        msg->att[k].uri_form = uri_form_of(m, u->ext, uri, u->msg_id, u->att_id);
    ix_unlock(m);
}

int mb_att_uri(struct mb *m, uint32_t slot, uint32_t k, char **uri)
{
    struct uri_src u;
    bool learnable;
    *uri = NULL;
    int rc = uri_src(m, slot, k, &u);
    if (rc < 0)
        return rc;
    if (u.base) { /* the usual form: no disk read, no parse */
        *uri = uri_build(u.base, u.msg_id, u.att_id);
        return 0;
    }
    if (u.form == URI_NONE)
        return -ENOENT;
    rc = record_uri(m, &u, k, uri, &learnable);
    if (u.form == URI_UNKNOWN && learnable)
        uri_learn(m, slot, k, &u, *uri);
    return rc;
}

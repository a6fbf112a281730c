/* mb_apply — records, tombstones and restored entries into the index (see mb_apply.h). */
#include "mailbox/mb_apply.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mailbox/mb_conv.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_place.h"
#include "mailbox/mb_uri.h"
#include "util/log.h"

/* Is r worth storing over what msg has?  (Index lock held.) */
static bool wanted(const struct mb_msg *msg, const struct rec *r, unsigned flags)
{
    if (!msg || (flags & APPLY_FORCE) || msg->meta_bad)
        return true;
    if (r->modified_ms < msg->modified_ms)
        return false; /* an older copy (sync overlap, a slow listing): keep ours */
    return !(r->modified_ms == msg->modified_ms && r->availability == msg->availability &&
             r->read_status == msg->read_status && msg->rec.len == r->json_len);
}

static bool same_attachments(const struct mb_msg *msg, const struct rec *r)
{
    if (msg->n_att != r->n_att)
        return false;
    for (size_t k = 0; k < r->n_att; k++)
        if (msg->att[k].id != r->att[k].id || msg->att[k].type != r->att[k].type)
            return false;
    return true;
}

uint16_t apply_subject_len(const char *subject)
{
    size_t len = strlen(subject);
    return len < UINT16_MAX ? (uint16_t)len : 0;
}

/* The fields a record sets; read status through place_set_read (Unread/
 * follows) for a message already placed, directly for a new one. */
static void set_fields(struct mb *m, struct mb_msg *msg, const struct rec *r, struct chg_batch *chg)
{
    msg->modified_ms = r->modified_ms;
    if (msg->in_folder)
        place_set_read(m, msg, r->read_status, chg);
    else
        msg->read_status = (uint8_t)r->read_status;
    msg->msg_status = idx_intern(m, r->message_status);
    msg->has_subject = r->subject && r->subject[0];
    msg->subject_len = msg->has_subject ? apply_subject_len(r->subject) : 0;
}

static void install_new(struct mb *m, uint32_t ext, const struct rec *r, struct rlog_ref ref,
                        uint32_t epoch, struct chg_batch *chg)
{
    struct mb_msg *msg = idx_create(m, ext, r, NULL, NULL);
    if (r->conversation_id[0])
        conv_attach(m, msg, r->conversation_id);
    msg->rec = ref;
    msg->seen = epoch;
    set_fields(m, msg, r, chg);
    msg->availability = (uint8_t)r->availability;
    place_new(m, msg, chg);
}

static void install_update(struct mb *m, struct mb_msg *msg, const struct rec *r,
                           struct rlog_ref ref, struct chg_batch *chg)
{
    if (msg->rec.len)
        atomic_fetch_add(&m->ps.garbage, msg->rec.len);
    msg->rec = ref;
    msg->meta_bad = false;
    msg->meta_stale = false;
    set_fields(m, msg, r, chg);
    if (!same_attachments(msg, r)) {
        /* e.g. a transcription arrived: new names and indexes, new generation. */
        idx_replace_atts(m, msg, r);
        msg->gen++;
    } else {
        /* Keep learned sizes; take the server's when it now gives one.  The
         * URIs are this record's (the server may have changed them). */
        for (size_t k = 0; k < r->n_att; k++) {
            if (r->att[k].size >= 0)
                msg->att[k].size = r->att[k].size;
            msg->att[k].uri_form = uri_form_of(m, msg->ext, r->att[k].uri, r->id, r->att[k].id);
        }
    }
    place_set_avail(m, msg, r->availability, chg);
    chg_add(chg, CHG_MESSAGE, msg->slot, 0, NULL);
}

/* First look: is the record wanted at all?  Marks the listing epoch. */
static bool precheck(struct mb *m, uint32_t ext, const struct rec *r, unsigned flags,
                     uint32_t epoch)
{
    bool want;
    if (epoch) {
        ix_wrlock(m);
        struct mb_msg *msg = idx_find(m, ext, r->id);
        if (msg)
            msg->seen = epoch;
        want = wanted(msg, r, flags);
    } else {
        ix_rdlock(m);
        want = wanted(idx_find(m, ext, r->id), r, flags);
    }
    ix_unlock(m);
    return want;
}

int apply_record(struct mb *m, uint32_t ext, const struct rec *r, unsigned flags, uint32_t epoch,
                 struct chg_batch *chg)
{
    if (!precheck(m, ext, r, flags, epoch))
        return APPLY_SKIPPED;
    if (r->json_len > UINT32_MAX)
        return -EFBIG;
    /* The disk write happens before the index lock is taken. */
    struct rlog_ref ref;
    int rc = rlog_append(m->ps.rlog, r->id, r->json, (uint32_t)r->json_len, &ref);
    if (rc == -ENOSPC && cobj_make_room(m->ps.objects, r->json_len + 65536) == 0)
        rc = rlog_append(m->ps.rlog, r->id, r->json, (uint32_t)r->json_len, &ref);
    if (rc < 0) {
        log_err("cannot store record %" PRIu64 ": %s", r->id, strerror(-rc));
        return rc;
    }
    ix_wrlock(m);
    struct mb_msg *msg = idx_find(m, ext, r->id);
    int result = APPLY_SKIPPED;
    if (!msg) {
        install_new(m, ext, r, ref, epoch, chg);
        result = APPLY_NEW;
    } else if (wanted(msg, r, flags)) {
        install_update(m, msg, r, ref, chg);
        result = APPLY_CHANGED;
    }
    ix_unlock(m);
    if (result == APPLY_SKIPPED) /* someone stored a newer copy meanwhile */
        atomic_fetch_add(&m->ps.garbage, ref.len);
    else
        mb_touch(m);
    return result;
}

bool apply_tombstone(struct mb *m, uint32_t ext, uint64_t id, enum rec_avail a,
                     struct chg_batch *chg)
{
    bool moved = false;
    ix_wrlock(m);
    struct mb_msg *msg = idx_find(m, ext, id);
    if (msg && msg->availability != a) {
        place_set_avail(m, msg, a, chg);
        moved = true;
    }
    ix_unlock(m);
    return moved;
}

struct mb_msg *apply_restore_entry(struct mb *m, uint32_t ext, const struct rec *r,
                                   const char *name, const char *const *att_names,
                                   struct rlog_ref ref)
{
    struct mb_msg *msg = idx_create(m, ext, r, name, att_names);
    if (r->conversation_id[0])
        conv_attach(m, msg, r->conversation_id);
    msg->rec = ref;
    set_fields(m, msg, r, NULL);
    msg->has_subject = r->subject != NULL; /* only presence is persisted */
    msg->subject_len = 0;                  /* learned when the subject is read */
    msg->availability = (uint8_t)r->availability;
    place_new(m, msg, NULL);
    return msg;
}

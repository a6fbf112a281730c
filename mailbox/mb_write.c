/*
 * mb_write — changes made through the filesystem: read status, delete,
 * purge, restore (implements those parts of mb.h).
 *
 * Each change is single-flight per message (mb_flight.c), is made on the
 * server first and is applied to the index only when the server accepted
 * it, so a failure changes nothing locally.  A removal through the
 * filesystem (rm -r, a file manager's Delete, rmdir, unlink of any file in
 * the message folder) sends exactly one DELETE; the message then stays
 * reachable in the folder it was removed from for MB_REMOVAL_GRACE_MS, so
 * the rest of the same recursive removal succeeds without another request
 * (a second DELETE would purge it).  Purging needs the mount's permission
 * (mb_opts.purge) and is held back for MB_PURGE_HOLD_MS after this mount
 * moved the message to the trash, so no recursive command over a whole
 * extension can purge what it has just deleted.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mailbox/mb_apply.h"
#include "mailbox/mb_batch.h"
#include "mailbox/mb_flight.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_internal.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_place.h"
#include "mailbox/mb_write.h"
#include "util/isotime.h"
#include "util/log.h"

/* A copy of what a change needs to know about its message. */
struct target {
    uint64_t id, ext_id;
    uint32_t ext;
    enum rec_avail avail;
    enum rec_read read_status;
    int type;
    int64_t trashed_at;
};

static int target_of(struct mb *m, uint32_t slot, struct target *t)
{
    int rc = 0;
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (!msg) {
        rc = -ENOENT;
    } else {
        *t = (struct target){
            .id = msg->id,
            .ext = msg->ext,
            .ext_id = m->ix.exts[msg->ext].id,
            .avail = msg->availability,
            .read_status = msg->read_status,
            .type = msg->type,
            .trashed_at = msg->trashed_at,
        };
    }
    ix_unlock(m);
    return rc;
}

/* ---- the changes themselves (run as a flight's owner) ---------------------- */

static int do_read(struct mb *m, const struct api_call *c, const struct target *t, enum rec_read rs)
{
    if (t->avail == REC_PURGED)
        return -ENOENT;
    if (t->read_status == rs)
        return 0; /* already so: no request */
    if (mb_offline(m))
        return -EIO;
    struct rec r;
    bool has_rec = false;
    int rc = net_note(m, batch_submit(m, c, t->ext, rs == REC_READ ? BATCH_READ : BATCH_UNREAD,
                                      t->id, &r, &has_rec));
    if (rc < 0)
        return rc;
    if (!has_rec) {
        log_warn("server accepted readStatus %s for %" PRIu64 " but sent no record",
                 rec_read_name(rs), t->id);
        return 0;
    }
    if (r.read_status != rs)
        log_warn("server answered readStatus %s for %" PRIu64 " after setting %s",
                 rec_read_name(r.read_status), t->id, rec_read_name(rs));
    struct chg_batch chg = {0};
    rc = apply_record(m, t->ext, &r, APPLY_FORCE, 0, &chg);
    chg_deliver(m, &chg);
    rec_free(&r);
    if (rc < 0)
        log_warn("could not store the updated record of %" PRIu64 ": %s", t->id, strerror(-rc));
    return 0;
}

void write_after_delete(struct mb *m, uint32_t slot, enum rec_avail now, int via)
{
    struct chg_batch chg = {0};
    int64_t at = isotime_mono_ms();
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    place_set_avail(m, msg, now, &chg);
    if (via >= 0) {
        msg->removed_via = (uint8_t)(via + 1);
        msg->removed_at = at;
    }
    if (now == REC_DELETED) {
        msg->trashed_at = at;
        msg->meta_stale = true;
    }
    ix_unlock(m);
    chg_deliver(m, &chg);
}

/* May this mount purge t now?  0, -EPERM (purging is off) or -EBUSY. */
static int purge_allowed(struct mb *m, const struct target *t)
{
    if (!m->o.purge) {
        if (!atomic_exchange(&m->net.purge_warned, true))
            log_warn("refused to purge a message in Deleted/: purging is off (mount with "
                     "-o purge to allow removing messages from the server's trash)");
        return -EPERM;
    }
    if (t->trashed_at && isotime_mono_ms() - t->trashed_at < MB_PURGE_HOLD_MS)
        return -EBUSY;
    return 0;
}

/* One DELETE: op TRASH needs an Alive message, op PURGE a Deleted one. */
static int do_delete(struct mb *m, const struct api_call *c, uint32_t slot, const struct target *t,
                     int op, int via)
{
    bool purge = op == FLIGHT_OP_PURGE;
    if (t->avail != (purge ? REC_DELETED : REC_ALIVE))
        return -ENOENT; /* it is no longer where the caller saw it */
    if (purge) {
        int rc = purge_allowed(m, t);
        if (rc < 0)
            return rc;
    }
    if (mb_offline(m))
        return -EIO;
    struct rec unused;
    bool has_rec = false;
    int rc =
        batch_submit(m, c, t->ext, purge ? BATCH_PURGE : BATCH_TRASH, t->id, &unused, &has_rec);
    if (has_rec)
        rec_free(&unused);
    rc = net_note(m, rc);
    if (rc < 0)
        return rc;
    if (purge)
        log_info("purged message %" PRIu64, t->id);
    else
        log_info("deleted message %" PRIu64 " (moved to the server's trash)", t->id);
    write_after_delete(m, slot, purge ? REC_PURGED : REC_DELETED, via);
    return 0;
}

static int do_restore(struct mb *m, const struct api_call *c, uint32_t slot, const struct target *t)
{
    if (t->avail != REC_DELETED)
        return -ENOENT;
    if (mb_offline(m))
        return -EIO;
    struct rec r;
    int rc = net_note(m, api_restore(m->o.api, c, t->ext_id, t->id, &r));
    if (rc < 0)
        return rc;
    /* Show what the server says the message now is, even if not restored. */
    enum rec_avail now = r.availability;
    struct chg_batch chg = {0};
    apply_record(m, t->ext, &r, APPLY_FORCE, 0, &chg);
    chg_deliver(m, &chg);
    rec_free(&r);
    if (now != REC_ALIVE) {
        log_warn("server answered availability %s for %" PRIu64 " after a restore",
                 rec_avail_name(now), t->id);
        return -EIO;
    }
    log_info("restored message %" PRIu64, t->id);
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    msg->removed_via = 0;
    msg->trashed_at = 0;
    ix_unlock(m);
    return 0;
}

/* Perform op on slot as the flight's owner, on the message's state now. */
static int perform(struct mb *m, const struct api_call *c, uint32_t slot, int op, int via)
{
    struct target t;
    int rc = target_of(m, slot, &t);
    if (rc < 0)
        return rc;
    switch (op) {
    case FLIGHT_OP_TRASH:
    case FLIGHT_OP_PURGE:
        return do_delete(m, c, slot, &t, op, via);
    case FLIGHT_OP_RESTORE:
        return do_restore(m, c, slot, &t);
    case FLIGHT_OP_READ:
        return do_read(m, c, &t, REC_READ);
    case FLIGHT_OP_UNREAD:
        return do_read(m, c, &t, REC_UNREAD);
    default:
        return -EINVAL;
    }
}

/* Run change op on slot single-flight: join an equal change in progress,
 * or wait for another one to end and then make ours. */
static int change(struct mb *m, const struct mb_call *mc, uint32_t slot, int op, int via)
{
    struct api_call c = net_api_call(m, mc);
    struct mb_flight *f;
    int rc;
    int mine = flight_enter(m, slot, FLIGHT_CHANGE, (uint64_t)op, c.deadline_ms, &f, &rc);
    if (mine <= 0)
        return mine < 0 ? mine : rc;
    rc = perform(m, &c, slot, op, via);
    flight_end(m, f, rc);
    return rc;
}

/* ---- the public changes ------------------------------------------------------ */

int mb_set_read(struct mb *m, const struct mb_call *c, uint32_t slot, enum rec_read rs)
{
    return change(m, c, slot, rs == REC_READ ? FLIGHT_OP_READ : FLIGHT_OP_UNREAD, -1);
}

/* The rest of a removal this mount already made through `from`: keeps the
 * message reachable there a little longer.  True when that is the case. */
static bool removal_in_grace(struct mb *m, uint32_t slot, int from)
{
    bool in = false;
    int64_t now = isotime_mono_ms();
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (msg && msg->removed_via == from + 1 && now - msg->removed_at < MB_REMOVAL_GRACE_MS) {
        msg->removed_at = now; /* a long rm -r keeps it reachable */
        in = true;
    }
    ix_unlock(m);
    return in;
}

int mb_remove(struct mb *m, const struct mb_call *c, uint32_t slot, int from)
{
    if (removal_in_grace(m, slot, from))
        return 0;
    struct target t;
    int rc = target_of(m, slot, &t);
    if (rc < 0)
        return rc;
    if (from == MB_FOLDER_DELETED) {
        if (t.avail != REC_DELETED)
            return -ENOENT;
        rc = purge_allowed(m, &t);
        return rc < 0 ? rc : change(m, c, slot, FLIGHT_OP_PURGE, from);
    }
    if (from != t.type && from != MB_FOLDER_CONVERSATIONS)
        return -ENOENT;
    if (t.avail != REC_ALIVE)
        return -ENOENT; /* it left this folder (e.g. another removal just ended) */
    return change(m, c, slot, FLIGHT_OP_TRASH, from);
}

void mb_remove_done(struct mb *m, uint32_t slot, int from)
{
    ix_wrlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    if (msg && msg->removed_via == from + 1)
        msg->removed_via = 0;
    ix_unlock(m);
}

int mb_restore(struct mb *m, const struct mb_call *c, uint32_t slot)
{
    return change(m, c, slot, FLIGHT_OP_RESTORE, -1);
}

int mb_trash(struct mb *m, const struct mb_call *c, uint32_t slot)
{
    return change(m, c, slot, FLIGHT_OP_TRASH, -1);
}

/*
 * mb_write — changes made through the filesystem: read status, delete,
 * purge, restore.
 *
 * Each change is made on the server first and applied to the index only
 * when the server accepted it, so a failure changes nothing locally.  A
 * removal through the filesystem (rm -r, a file manager's Delete, rmdir,
 * unlink of any file in the message folder) sends exactly one DELETE; the
 * message then stays reachable in the folder it was removed from for
 * MB_REMOVAL_GRACE_MS, so the rest of the same recursive removal succeeds
 * without another request (a second DELETE would purge it).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mailbox/mb_internal.h"
#include "util/isotime.h"
#include "util/log.h"

struct target {
    uint64_t id, ext_id;
    uint32_t ext;
    enum rec_avail avail;
    int type;
};

static int target_of(struct mb *m, uint32_t slot, struct target *t)
{
    int rc = 0;
    pthread_rwlock_rdlock(&m->lock);
    if (slot >= m->n_msgs) {
        rc = -ENOENT;
    } else {
        struct mb_msg *msg = m->msgs[slot];
        t->id = msg->id;
        t->ext = msg->ext;
        t->ext_id = m->exts[msg->ext].id;
        t->avail = msg->availability;
        t->type = msg->type;
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

/* Apply the record a PUT/PATCH answered with (it is the newest there is). */
static void apply_answer(struct mb *m, uint32_t ext, struct rec *r)
{
    struct mb_changes chg = {0};
    pthread_rwlock_wrlock(&m->lock);
    struct mb_msg *msg = mb_find_id(m, ext, r->id);
    if (msg)
        msg->meta_bad = true; /* store it even if its lastModifiedTime did not move */
    int rc = mb_apply_record(m, ext, r, &chg);
    pthread_rwlock_unlock(&m->lock);
    if (rc < 0)
        log_warn("could not store the updated record of %" PRIu64 ": %s", r->id, strerror(-rc));
    mb_changes_deliver(m, &chg);
}

int mb_set_read(struct mb *m, const struct api_call *c, uint32_t slot, enum rec_read rs)
{
    struct target t;
    int rc = target_of(m, slot, &t);
    if (rc < 0)
        return rc;
    if (t.avail == REC_PURGED)
        return -ENOENT;
    if (mb_offline(m))
        return -EIO;
    struct rec r;
    rc = api_set_read(m->o.api, c, t.ext_id, t.id, rs, &r);
    rc = mb_note_net(m, rc);
    if (rc < 0)
        return rc;
    if (r.read_status != rs)
        log_warn("server answered readStatus %s for %" PRIu64 " after setting %s",
                 rec_read_name(r.read_status), t.id, rec_read_name(rs));
    apply_answer(m, t.ext, &r);
    rec_free(&r);
    return 0;
}

/* After a DELETE: show the new availability at once, then refresh the record
 * (meta.json must be what the server says; one light GET, failure harmless). */
static void after_delete(struct mb *m, const struct api_call *c, uint32_t slot,
                         const struct target *t, enum rec_avail now, int via)
{
    struct mb_changes chg = {0};
    pthread_rwlock_wrlock(&m->lock);
    struct mb_msg *msg = m->msgs[slot];
    mb_set_avail(m, msg, now, &chg);
    if (via >= 0) {
        msg->removed_via = (uint8_t)(via + 1);
        msg->removed_at = isotime_mono_ms();
    }
    pthread_rwlock_unlock(&m->lock);
    mb_changes_deliver(m, &chg);
    if (now == REC_DELETED) {
        int rc = mb_refetch(m, c, t->ext, &t->id, 1);
        if (rc < 0)
            log_debug("refreshing %" PRIu64 " after delete: %s", t->id, strerror(-rc));
    }
}

/* One DELETE of t (from its current availability) and its local effects.
 * via: the folder the removal came through, or -1. */
static int delete_once(struct mb *m, const struct api_call *c, uint32_t slot,
                       const struct target *t, int via)
{
    if (mb_offline(m))
        return -EIO;
    int rc = mb_note_net(m, api_delete(m->o.api, c, t->ext_id, t->id, false, t->avail));
    if (rc < 0)
        return rc;
    bool purge = t->avail == REC_DELETED;
    log_info(purge ? "purged message %" PRIu64
                   : "deleted message %" PRIu64 " (moved to the server's trash)",
             t->id);
    after_delete(m, c, slot, t, purge ? REC_PURGED : REC_DELETED, via);
    return 0;
}

int mb_remove(struct mb *m, const struct api_call *c, uint32_t slot, int from)
{
    struct target t;
    int rc = target_of(m, slot, &t);
    if (rc < 0)
        return rc;

    /* The rest of a removal this mount already made through this folder. */
    pthread_rwlock_wrlock(&m->lock);
    struct mb_msg *msg = m->msgs[slot];
    if (msg->removed_via == from + 1 && isotime_mono_ms() - msg->removed_at < MB_REMOVAL_GRACE_MS) {
        msg->removed_at = isotime_mono_ms(); /* a long rm -r keeps it reachable */
        pthread_rwlock_unlock(&m->lock);
        return 0;
    }
    pthread_rwlock_unlock(&m->lock);

    bool from_alive_view = from == t.type || from == MB_FOLDER_CONVERSATIONS;
    if ((t.avail == REC_ALIVE && from_alive_view) ||
        (t.avail == REC_DELETED && from == MB_FOLDER_DELETED))
        return delete_once(m, c, slot, &t, from);
    /* It is no longer where the caller saw it (changed elsewhere). */
    return -ENOENT;
}

void mb_remove_done(struct mb *m, uint32_t slot, int from)
{
    pthread_rwlock_wrlock(&m->lock);
    if (slot < m->n_msgs && m->msgs[slot]->removed_via == from + 1)
        m->msgs[slot]->removed_via = 0;
    pthread_rwlock_unlock(&m->lock);
}

int mb_restore(struct mb *m, const struct api_call *c, uint32_t slot)
{
    struct target t;
    int rc = target_of(m, slot, &t);
    if (rc < 0)
        return rc;
    if (t.avail != REC_DELETED)
        return -ENOENT;
    if (mb_offline(m))
        return -EIO;
    struct rec r;
    rc = mb_note_net(m, api_restore(m->o.api, c, t.ext_id, t.id, &r));
    if (rc < 0)
        return rc;
    /* Show what the server says the message now is, even if not restored. */
    enum rec_avail now = r.availability;
    apply_answer(m, t.ext, &r);
    rec_free(&r);
    if (now != REC_ALIVE) {
        log_warn("server answered availability %s for %" PRIu64 " after a restore",
                 rec_avail_name(now), t.id);
        return -EIO;
    }
    log_info("restored message %" PRIu64, t.id);
    pthread_rwlock_wrlock(&m->lock);
    m->msgs[slot]->removed_via = 0;
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

int mb_trash(struct mb *m, const struct api_call *c, uint32_t slot)
{
    struct target t;
    int rc = target_of(m, slot, &t);
    if (rc < 0)
        return rc;
    if (t.avail != REC_ALIVE)
        return -ENOENT;
    return delete_once(m, c, slot, &t, -1);
}

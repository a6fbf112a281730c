/*
 * mb_obx_draft — writing Outbox files and committing them (implements the
 * file parts of mb_outbox.h: create, open, write, truncate, read, flush,
 * unlink, rename).
 *
 * A draft's bytes live in a spool draft file; the item's io lock is held
 * for every disk operation on it, so its descriptor is never closed under
 * a write.  Committing checks the bytes (the document type for a fax, the
 * text for SMS and pager), then spool_commit makes them a durable journal
 * entry before the close returns; the sending thread is then woken, after
 * a short hold (OBX_HOLD_MS) in which removing the file still cancels it
 * (a desktop's cancelled copy closes, then deletes, what it wrote).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_faxdoc.h"
#include "mailbox/mb_obx.h"
#include "mailbox/mb_obx_rules.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* Between a commit and the first attempt. */
#define OBX_HOLD_MS 2000

/* The recipient folder's type of item (they never change). */
static enum rec_type type_of(struct mb_outbox *o, const struct obx_item *it)
{
    return (enum rec_type)it->r->type;
}

void obx_draft_drop(struct mb_outbox *o, struct obx_item *it)
{
    if (it->fd < 0)
        return;
    close(it->fd);
    it->fd = -1;
    int rc = spool_draft_remove(o->spool, it->draft);
    if (rc < 0)
        log_warn("outbox: cannot remove a draft: %s", strerror(-rc));
}

/* Make item's disk state a draft it can write (io lock held, o->lock not):
 * a failed file is reopened (a new send), a refused one cleared.  Returns
 * 0 or -errno (-EBUSY while it is being sent, -ENOENT once gone). */
static int make_writable(struct mb *m, struct obx_item *it)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    int state = it->state;
    uint64_t jid = it->rec.jid;
    if (state == OBX_REFUSED) {
        it->state = OBX_DRAFT;
        obx_set_error(it, NULL);
    }
    obx_unlock(o);
    if (state == OBX_DRAFT || state == OBX_REFUSED)
        return it->fd >= 0 ? 0 : -EIO;
    if (state == OBX_GONE)
        return -ENOENT;
    if (state != OBX_FAILED)
        return -EBUSY;
    uint64_t draft;
    int fd;
    int rc = spool_reopen(o->spool, jid, &draft, &fd);
    if (rc < 0) {
        log_err("outbox: cannot reopen %s to write it again: %s", it->name, strerror(-rc));
        return -EIO;
    }
    obx_lock(o);
    it->fd = fd;
    it->draft = draft;
    it->state = OBX_DRAFT;
    obx_set_error(it, NULL);
    spool_rec_free(&it->rec);
    it->status[0] = '\0';
    obx_unlock(o);
    return 0;
}

/* Remember writer among the processes that wrote it (o->lock held). */
static void note_writer(struct obx_item *it, pid_t writer)
{
    for (uint8_t i = 0; i < it->n_writers; i++)
        if (it->writers[i] == writer)
            return;
    if (it->n_writers < OBX_WRITERS)
        it->writers[it->n_writers++] = writer;
    else
        it->many_writers = true;
}

/* Did closer write it since its last close?  (o->lock held) */
static bool wrote(const struct obx_item *it, pid_t closer)
{
    for (uint8_t i = 0; i < it->n_writers; i++)
        if (it->writers[i] == closer)
            return true;
    return it->many_writers;
}

/* After a write or truncation by writer to size end (io lock held). */
static void written(struct mb_outbox *o, struct obx_item *it, int64_t size, bool grow_only,
                    pid_t writer)
{
    obx_lock(o);
    note_writer(it, writer);
    if (!grow_only || size > it->size)
        it->size = size;
    it->dirty = true;
    it->written = true;
    it->interrupted = false;
    it->mtime_ms = isotime_now_ms();
    obx_unlock(o);
}

/* The text an SMS or pager file would hold after writing n bytes at off:
 * -EFBIG when it can only be too long (io lock held). */
static int check_text_write(struct mb_outbox *o, struct obx_item *it, const void *buf, size_t n,
                            uint64_t off)
{
    enum rec_type t = type_of(o, it);
    size_t max = obxr_text_max_bytes(t);
    if (t == REC_FAX)
        return 0;
    if (off > max || n > max - off)
        return -EFBIG;
    char *text = mem_calloc(1, max + 1);
    ssize_t got = pread(it->fd, text, max, 0);
    size_t len = got > 0 ? (size_t)got : 0;
    memcpy(text + off, buf, n);
    if (off + n > len)
        len = off + n;
    int rc = obxr_text_growing(t, text, len);
    free(text);
    return rc;
}

/* Item id with its io lock taken, or NULL when there is none.  Items are
 * never freed while the mount lives (a removed one is OBX_GONE), so the
 * pointer stays good once the table lock is dropped. */
static struct obx_item *item_io_locked(struct mb_outbox *o, uint32_t id)
{
    obx_lock(o);
    struct obx_item *it = obx_item_at(o, id);
    obx_unlock(o);
    if (it)
        obx_io_lock(it);
    return it;
}

ssize_t mb_outbox_write(struct mb *m, uint32_t id, const void *buf, size_t n, off_t off,
                        pid_t writer)
{
    struct mb_outbox *o = m->obx;
    struct obx_item *it = off < 0 ? NULL : item_io_locked(o, id);
    if (!it)
        return -ENOENT;
    int rc = make_writable(m, it);
    if (rc == 0)
        rc = check_text_write(o, it, buf, n, (uint64_t)off);
    for (size_t done = 0; rc == 0 && done < n;) {
        ssize_t w = pwrite(it->fd, (const char *)buf + done, n - done, off + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = w < 0 ? -errno : -EIO;
        else
            done += (size_t)w;
    }
    if (rc == 0)
        written(o, it, (int64_t)off + (int64_t)n, true, writer);
    obx_io_unlock(it);
    return rc < 0 ? rc : (ssize_t)n;
}

int mb_outbox_truncate(struct mb *m, uint32_t id, uint64_t size, pid_t writer)
{
    struct mb_outbox *o = m->obx;
    struct obx_item *it = item_io_locked(o, id);
    if (!it)
        return -ENOENT;
    int rc = make_writable(m, it);
    if (rc == 0 && type_of(o, it) != REC_FAX && size > obxr_text_max_bytes(type_of(o, it)))
        rc = -EFBIG;
    if (rc == 0 && size > FAXDOC_MAX_BYTES)
        rc = -EFBIG;
    if (rc == 0 && ftruncate(it->fd, (off_t)size) != 0)
        rc = -errno;
    if (rc == 0)
        written(o, it, (int64_t)size, false, writer);
    obx_io_unlock(it);
    return rc;
}

ssize_t mb_outbox_read(struct mb *m, uint32_t id, void *buf, size_t n, off_t off)
{
    struct mb_outbox *o = m->obx;
    struct obx_item *it = item_io_locked(o, id);
    if (!it)
        return -ENOENT;
    obx_lock(o);
    uint64_t jid = it->fd < 0 && it->state != OBX_GONE ? it->rec.jid : 0;
    obx_unlock(o);
    int fd = it->fd >= 0 ? it->fd : jid ? spool_data_open(o->spool, jid) : -ENOENT;
    ssize_t got = fd < 0 ? fd : pread(fd, buf, n, off);
    if (got < 0 && fd >= 0)
        got = -errno;
    if (fd >= 0 && fd != it->fd)
        close(fd);
    obx_io_unlock(it);
    return got;
}

int mb_outbox_open(struct mb *m, uint32_t id, bool write)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    struct obx_item *it = obx_item_at(o, id);
    int rc = !it || it->state == OBX_GONE ? -ENOENT : 0;
    if (rc == 0 && write &&
        (it->state == OBX_QUEUED || it->state == OBX_SENDING || it->state == OBX_ACCEPTED))
        rc = -EBUSY;
    obx_unlock(o);
    return rc;
}

int mb_outbox_create(struct mb *m, uint32_t rcpt, const char *name, uint32_t *id)
{
    struct mb_outbox *o = m->obx;
    uint64_t draft;
    int fd;
    if (!name[0] || strchr(name, '/'))
        return -EINVAL;
    int rc = spool_draft_new(o->spool, &draft, &fd);
    if (rc < 0)
        return rc == -ENOSPC ? rc : -EIO;
    obx_lock(o);
    if (!obx_rcpt_at(o, rcpt))
        rc = -ENOENT;
    else if (obx_item_named(o, rcpt, name))
        rc = -EEXIST;
    if (rc == 0) {
        struct obx_item *it = obx_item_new(o, rcpt, name);
        it->fd = fd;
        it->draft = draft;
        *id = it->id;
    }
    obx_unlock(o);
    if (rc < 0) {
        close(fd);
        spool_draft_remove(o->spool, draft);
    }
    return rc;
}

/* ---- committing ------------------------------------------------------------ */

/* Can the draft be sent?  Reads it (io lock held).  0, or -EINVAL / -EFBIG
 * with why. */
static int check(struct mb_outbox *o, struct obx_item *it, char *why, size_t whylen)
{
    enum rec_type t = type_of(o, it);
    struct stat st;
    if (fstat(it->fd, &st) != 0) {
        snprintf(why, whylen, "the file could not be read: %s", strerror(errno));
        return -EIO;
    }
    size_t want = t == REC_FAX ? FAXDOC_HEAD : obxr_text_max_bytes(t) + 1;
    char *head = mem_alloc(want);
    ssize_t n = pread(it->fd, head, want, 0);
    int rc;
    if (n < 0) {
        snprintf(why, whylen, "the file could not be read: %s", strerror(errno));
        rc = -EIO;
    } else if (t == REC_FAX) {
        const char *type;
        rc = faxdoc_type((const unsigned char *)head, (size_t)n, it->name, (uint64_t)st.st_size,
                         &type, why, whylen);
    } else {
        size_t len;
        rc = obxr_text_final(t, head, (size_t)n, &len, why, whylen);
    }
    free(head);
    return rc;
}

/* Check and commit the draft of it (io lock held, state DRAFT or REFUSED).
 * Returns 0 (queued) or -errno (refused: state REFUSED with the reason;
 * the disk: stays a draft). */
static int commit(struct mb *m, struct obx_item *it)
{
    struct mb_outbox *o = m->obx;
    char why[256] = "";
    int rc = check(o, it, why, sizeof why);
    if (rc == -EINVAL || rc == -EFBIG) {
        obx_lock(o);
        it->state = OBX_REFUSED;
        obx_set_error(it, why);
        obx_unlock(o);
        log_info("outbox: %s/%s not sent: %s", it->r->name, it->name, why);
        return rc;
    }
    if (rc < 0)
        return rc;
    struct obx_rcpt *r = it->r;
    struct spool_rec rec = {.kind = r->type, .state = OBX_QUEUED, .created_ms = isotime_now_ms()};
    obx_lock(o);
    rec.folder = mem_strdup(r->name);
    rec.name = mem_strdup(it->name);
    rec.cover = r->type == REC_FAX ? (r->cover >= 0 ? r->cover : o->fax_cover) : 0;
    obx_unlock(o);
    rc = spool_commit(o->spool, it->draft, it->fd, &rec);
    if (rc < 0) {
        log_err("outbox: cannot queue %s/%s: %s", r->name, it->name, strerror(-rc));
        spool_rec_free(&rec);
        return rc == -ENOSPC ? rc : -EIO;
    }
    close(it->fd);
    obx_lock(o);
    it->fd = -1;
    it->state = OBX_QUEUED;
    it->rec = rec;
    it->size = (int64_t)rec.size;
    it->mtime_ms = rec.created_ms;
    it->due_ms = isotime_mono_ms() + OBX_HOLD_MS;
    obx_set_error(it, NULL);
    obx_unlock(o);
    log_info("outbox: %s/%s/%s queued (%" PRIu64 " bytes)", mb_folder_name(r->type), r->name,
             it->name, rec.size);
    obx_wake(o);
    return 0;
}

int mb_outbox_flush(struct mb *m, uint32_t id, pid_t closer, bool exiting)
{
    struct mb_outbox *o = m->obx;
    struct obx_item *it = item_io_locked(o, id);
    if (!it)
        return 0;
    obx_lock(o);
    bool go = it->state == OBX_DRAFT && it->dirty && it->fd >= 0 && wrote(it, closer);
    if (go) {
        it->dirty = false;
        it->n_writers = 0;
        it->many_writers = false;
        if (exiting) {
            it->interrupted = true;
            obx_set_error(it, "not sent: the program writing it ended before closing it");
            go = false;
        } else if (obxr_temp_name(it->name) && !it->final) {
            go = false;
        }
        it->final = false;
    }
    obx_unlock(o);
    int rc = go ? commit(m, it) : 0;
    obx_io_unlock(it);
    return rc;
}

/* ---- removing and renaming ---------------------------------------------------- */

/* Remove item (called name) for good, when its state allows: not while an
 * attempt is in progress (-EBUSY).  Takes its io lock. */
static int remove_item(struct mb *m, struct obx_item *it, const char *name)
{
    struct mb_outbox *o = m->obx;
    obx_io_lock(it);
    obx_lock(o);
    int rc = 0, state = it->state;
    uint64_t jid = it->rec.jid;
    if (state == OBX_GONE || strcmp(it->name, name) != 0)
        rc = -ENOENT;
    else if (state == OBX_SENDING || it->busy)
        rc = -EBUSY;
    else
        it->state = OBX_GONE;
    obx_unlock(o);
    if (rc == 0 && (state == OBX_DRAFT || state == OBX_REFUSED))
        obx_draft_drop(o, it);
    else if (rc == 0 && (rc = spool_remove(o->spool, jid)) < 0)
        log_err("outbox: cannot remove %s from the journal: %s", name, strerror(-rc));
    if (rc == 0 && state == OBX_QUEUED)
        log_info("outbox: %s cancelled before it was sent", name);
    obx_io_unlock(it);
    return rc < 0 && rc != -ENOENT && rc != -EBUSY ? -EIO : rc;
}

int mb_outbox_unlink(struct mb *m, uint32_t rcpt, const char *name)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    struct obx_item *it = obx_item_named(o, rcpt, name);
    obx_unlock(o);
    return it ? remove_item(m, it, name) : -ENOENT;
}

/* May a draft of this state be renamed (or replaced)? */
static bool is_draft(int state)
{
    return state == OBX_DRAFT || state == OBX_REFUSED;
}

int mb_outbox_rename(struct mb *m, uint32_t rcpt, const char *name, uint32_t newrcpt,
                     const char *newname, bool noreplace)
{
    struct mb_outbox *o = m->obx;
    char why[256];
    if (rcpt != newrcpt)
        return -EXDEV;
    if (!newname[0] || strchr(newname, '/'))
        return -EINVAL;
    obx_lock(o);
    struct obx_item *it = obx_item_named(o, rcpt, name);
    struct obx_item *dst = strcmp(name, newname) ? obx_item_named(o, rcpt, newname) : NULL;
    int rc = !it ? -ENOENT : !is_draft(it->state) ? -EBUSY : 0;
    if (rc == 0 && dst)
        rc = noreplace ? -EEXIST : (is_draft(dst->state) || dst->state == OBX_FAILED) ? 0 : -EBUSY;
    bool send_now =
        rc == 0 && !obxr_temp_name(newname) && it->written && !it->dirty && !it->interrupted;
    obx_unlock(o);
    if (rc < 0 || it == dst || strcmp(name, newname) == 0)
        return rc;
    if (send_now) { /* refuse before anything changes */
        obx_io_lock(it);
        rc = it->fd >= 0 ? check(o, it, why, sizeof why) : -ENOENT;
        obx_io_unlock(it);
        if (rc < 0)
            return rc;
    }
    if (dst && (rc = remove_item(m, dst, newname)) < 0)
        return rc;
    obx_io_lock(it);
    obx_lock(o);
    if (it->state == OBX_GONE || strcmp(it->name, name) != 0 || !is_draft(it->state))
        rc = -ENOENT;
    else if (obx_item_named(o, rcpt, newname))
        rc = -EEXIST;
    else {
        obx_item_rename(o, it, newname);
        /* Still being written: it is sent when that ends (mb_outbox_flush). */
        it->final = it->dirty && !obxr_temp_name(newname);
        send_now = send_now && !it->dirty && !it->interrupted; /* as it is now */
    }
    obx_unlock(o);
    if (rc == 0 && send_now && (rc = commit(m, it)) < 0) {
        obx_lock(o); /* not sent: the rename is not done either */
        obx_item_rename(o, it, name);
        obx_unlock(o);
    }
    obx_io_unlock(it);
    return rc;
}

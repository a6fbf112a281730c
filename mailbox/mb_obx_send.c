/*
 * mb_obx_send — the Outbox's thread: it sends queued files one at a time,
 * reconciles attempts whose outcome is unknown, and follows accepted
 * messages until the server reports them Sent or failed (mb_obx_track.c).
 *
 * An attempt is journaled before the request leaves (state SENDING, the
 * time, and the ids of the matching messages the index already has), so a
 * crash at any point after it is resolved by reconciling, never by sending
 * blindly.  Its end:
 *   accepted           -> ACCEPTED (the record goes into the index at once)
 *   outcome unknown    -> stays SENDING: reconciled against the store
 *   surely not sent    -> QUEUED again, retried with backoff (a 429 that
 *                         outlasts the call, the server unreachable...)
 *   refused            -> FAILED with the reason (user.rc.error)
 * Requests run at USER priority (a person asked for the send) with a
 * generous deadline (OBX_SEND_MS): the pacing of the fax (Heavy) and text
 * (Medium) groups is api_send's.  No lock is held across a request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/mb_net.h"
#include "mailbox/mb_obx.h"
#include "mailbox/mb_obx_rules.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

void obx_wake(struct mb_outbox *o)
{
    pthread_cond_broadcast(&o->cond);
}

int obx_save(struct mb *m, struct obx_item *it)
{
    struct mb_outbox *o = m->obx;
    struct spool_rec copy;
    obx_lock(o);
    spool_rec_copy(&copy, &it->rec);
    free(copy.error);
    copy.error = it->error ? mem_strdup(it->error) : NULL;
    copy.state = it->state;
    obx_unlock(o);
    int rc = spool_save(o->spool, &copy);
    if (rc < 0)
        log_err("outbox: cannot save the journal entry of %s: %s", copy.name, strerror(-rc));
    spool_rec_free(&copy);
    return rc;
}

/* What one attempt needs, copied under the lock. */
struct job {
    enum rec_type type;
    char to[24];
    char *name;
    char *folder;
    uint64_t jid;
    int cover;
    uint32_t attempts;
};

/* The text of an SMS or pager file (malloc'd, NUL-terminated), or NULL
 * with why. */
char *obx_text_of(struct mb_outbox *o, uint64_t jid, enum rec_type t, char *why, size_t whylen)
{
    size_t max = obxr_text_max_bytes(t), len;
    int fd = spool_data_open(o->spool, jid);
    if (fd < 0) {
        snprintf(why, whylen, "its bytes are gone from the cache folder: %s", strerror(-fd));
        return NULL;
    }
    char *text = mem_calloc(1, max + 2);
    ssize_t n = pread(fd, text, max + 1, 0);
    close(fd);
    if (n < 0 || obxr_text_final(t, text, (size_t)n, &len, why, whylen) < 0) {
        if (n < 0)
            snprintf(why, whylen, "its bytes could not be read: %s", strerror(errno));
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

/* The number SMS go from: -o sms_from, else the first SmsSender number
 * (looked up once). */
static int sms_sender(struct mb *m, const struct api_call *c, char *out, size_t outlen, char *why,
                      size_t whylen)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    snprintf(out, outlen, "%s", o->sms_from_opt ? o->sms_from_opt : o->sms_from);
    obx_unlock(o);
    if (out[0])
        return 0;
    int rc = net_note(m, api_send_sms_sender(m->o.api, c, out, outlen));
    if (rc == -EACCES)
        snprintf(why, whylen,
                 "no number of this extension may send SMS (none has SmsSender); "
                 "name one with -o sms_from=");
    else if (rc < 0)
        snprintf(why, whylen, "not sent: the extension's phone numbers could not be read (%s)",
                 strerror(-rc));
    if (rc == 0) {
        obx_lock(o);
        snprintf(o->sms_from, sizeof o->sms_from, "%s", out);
        obx_unlock(o);
    }
    return rc;
}

/* Send j now.  Returns api_send's result (out filled on 0). */
static int send_job(struct mb *m, const struct job *j, const char *text, struct rec *out, char *why,
                    size_t whylen)
{
    struct mb_outbox *o = m->obx;
    struct api_call c = {.deadline_ms = isotime_mono_ms() + OBX_SEND_MS, .prio = API_PRIO_USER};
    char from[32];
    memset(out, 0, sizeof *out);
    if (j->type == REC_SMS) {
        int rc = sms_sender(m, &c, from, sizeof from, why, whylen);
        return rc < 0 ? rc : api_send_sms(m->o.api, &c, from, j->to, text, out, why, whylen);
    }
    if (j->type == REC_PAGER)
        return api_send_pager(m->o.api, &c, j->to, text, out, why, whylen);
    int fd = spool_data_open(o->spool, j->jid);
    if (fd < 0) {
        snprintf(why, whylen, "its bytes are gone from the cache folder: %s", strerror(-fd));
        return -ENOENT;
    }
    const char *to[1] = {j->to};
    struct api_fax_doc doc = {.fd = fd, .file_name = j->name};
    struct api_fax f = {.to = to,
                        .n_to = 1,
                        .docs = &doc,
                        .n_docs = 1,
                        .resolution = API_FAX_HIGH,
                        .cover_index = j->cover};
    int rc = api_send_fax(m->o.api, &c, &f, out, why, whylen);
    close(fd);
    return rc;
}

enum outcome { OUT_ACCEPTED, OUT_UNKNOWN, OUT_NOT_SENT, OUT_REFUSED };

/* api_send.h: -EINPROGRESS is unknown; -EIO (and an unreachable server)
 * surely did not send, unless the server answered with a refusal. */
static enum outcome classify(int rc, const char *why)
{
    if (rc == 0)
        return OUT_ACCEPTED;
    if (rc == -EINPROGRESS)
        return OUT_UNKNOWN;
    if ((rc == -EIO || rc == -EHOSTUNREACH || rc == -ETIMEDOUT || rc == -ECONNREFUSED) &&
        strncmp(why, "the server refused", 18) != 0)
        return OUT_NOT_SENT;
    return OUT_REFUSED;
}

/* Backoff of a send that surely did not leave: 5 s doubling to 5 min. */
static int64_t retry_ms(uint32_t attempts)
{
    int64_t ms = 5000;
    for (uint32_t i = 1; i < attempts && ms < OBX_RETRY_MAX_MS; i++)
        ms *= 2;
    return ms < OBX_RETRY_MAX_MS ? ms : OBX_RETRY_MAX_MS;
}

/* Record the end of an attempt on it. */
static void finish(struct mb *m, struct obx_item *it, const struct job *j, int rc,
                   const struct rec *out, const char *why)
{
    struct mb_outbox *o = m->obx;
    enum outcome oc = classify(rc, why);
    int64_t now = isotime_mono_ms();
    if (oc == OUT_ACCEPTED)
        obx_apply(m, out);
    obx_io_lock(it);
    obx_lock(o);
    bool save = true;
    switch (oc) {
    case OUT_ACCEPTED:
        it->state = OBX_ACCEPTED;
        it->rec.msg_id = out->id;
        snprintf(it->status, sizeof it->status, "%s", out->message_status);
        it->poll_ms = OBX_POLL_FIRST_MS;
        it->due_ms = now + OBX_POLL_FIRST_MS;
        obx_set_error(it, NULL);
        break;
    case OUT_UNKNOWN:
        it->due_ms = now; /* reconcile: it is SENDING already, and journaled so */
        save = false;
        break;
    case OUT_NOT_SENT:
        it->state = OBX_QUEUED;
        it->due_ms = now + retry_ms(j->attempts);
        obx_set_error(it, why);
        break;
    case OUT_REFUSED:
        it->state = OBX_FAILED;
        obx_set_error(it, why);
        break;
    }
    it->rec.state = it->state;
    obx_unlock(o);
    if (save)
        obx_save(m, it);
    obx_io_unlock(it);
    if (oc == OUT_ACCEPTED)
        log_info("outbox: %s/%s accepted by the server (message %" PRIu64 ")", j->folder, j->name,
                 out->id);
    else if (oc == OUT_UNKNOWN)
        log_warn("outbox: %s/%s: %s; checking the message store before sending again", j->folder,
                 j->name, why);
    else
        log_info("outbox: %s/%s %s: %s", j->folder, j->name,
                 oc == OUT_NOT_SENT ? "not sent yet" : "failed", why);
}

/* Journal the attempt on it (QUEUED -> SENDING).  False when it must not
 * be sent now (it changed meanwhile, or the journal cannot be written). */
static bool begin(struct mb *m, struct obx_item *it, struct job *j, const uint64_t *skip,
                  uint32_t n_skip)
{
    struct mb_outbox *o = m->obx;
    obx_io_lock(it);
    obx_lock(o);
    if (it->state != OBX_QUEUED) {
        obx_unlock(o);
        obx_io_unlock(it);
        return false;
    }
    it->state = OBX_SENDING;
    it->rec.state = OBX_SENDING;
    it->rec.attempt_ms = isotime_now_ms();
    j->attempts = ++it->rec.attempts;
    it->rec.n_skip = n_skip;
    memcpy(it->rec.skip, skip, n_skip * sizeof *skip);
    obx_unlock(o);
    int rc = obx_save(m, it);
    if (rc < 0) { /* never send what is not journaled */
        obx_lock(o);
        it->state = OBX_QUEUED;
        it->rec.state = OBX_QUEUED;
        it->due_ms = isotime_mono_ms() + retry_ms(j->attempts);
        obx_unlock(o);
    }
    obx_io_unlock(it);
    return rc == 0;
}

/* One attempt at a QUEUED file. */
static void attempt(struct mb *m, struct obx_item *it)
{
    struct mb_outbox *o = m->obx;
    struct job j = {0};
    char why[256] = "";
    obx_lock(o);
    struct obx_rcpt *r = it->r;
    j.type = (enum rec_type)r->type;
    snprintf(j.to, sizeof j.to, "%s", r->to);
    j.folder = mem_printf("%s/%s", mb_folder_name(r->type), r->name);
    j.name = mem_strdup(it->name);
    j.jid = it->rec.jid;
    j.cover = it->rec.cover;
    obx_unlock(o);
    char *text = NULL;
    if (j.type != REC_FAX && !(text = obx_text_of(o, j.jid, j.type, why, sizeof why))) {
        finish(m, it, &j, -EINVAL, NULL, why);
        goto out;
    }
    uint64_t skip[SPOOL_SKIP_MAX];
    uint32_t n_skip = obx_candidates(m, j.type, j.to, text, isotime_now_ms() - OBX_SKEW_MS,
                                     INT64_MAX, skip, SPOOL_SKIP_MAX);
    if (!begin(m, it, &j, skip, n_skip))
        goto out;
    struct rec out;
    int rc = send_job(m, &j, text, &out, why, sizeof why);
    net_note(m, rc); /* an unreachable server makes the mailbox offline */
    finish(m, it, &j, rc, &out, why);
    rec_free(&out);
out:
    free(text);
    free(j.name);
    free(j.folder);
}

/* When it is due, in the light of the server being reachable or not. */
static int64_t due_of(const struct obx_item *it, bool offline, int64_t now)
{
    if (offline && it->due_ms < now + NET_RETRY_MS)
        return now + NET_RETRY_MS;
    return it->due_ms;
}

static void *obx_main(void *arg)
{
    struct mb *m = arg;
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    while (!o->stop) {
        int64_t now = isotime_mono_ms(), wake = now + 60000;
        bool offline = mb_offline(m), poll = false;
        struct obx_item *pick = NULL;
        for (uint32_t i = 0; i < o->n_items; i++) {
            struct obx_item *it = o->items[i];
            if (it->busy || it->state < OBX_QUEUED || it->state > OBX_ACCEPTED)
                continue;
            int64_t due = due_of(it, offline, now);
            if (due > now)
                wake = due < wake ? due : wake;
            else if (it->state == OBX_ACCEPTED)
                poll = true;
            else if (!pick || it->due_ms < pick->due_ms)
                pick = it;
        }
        if (pick) {
            pick->busy = true;
            int state = pick->state;
            obx_unlock(o);
            if (state == OBX_QUEUED)
                attempt(m, pick);
            else
                obx_reconcile(m, pick);
            obx_lock(o);
            pick->busy = false;
        } else if (poll) {
            obx_unlock(o);
            obx_poll_accepted(m, now);
            obx_lock(o);
        } else {
            cond_wait_until(&o->cond, &o->lock, wake);
        }
    }
    obx_unlock(o);
    return NULL;
}

int outbox_start(struct mb *m)
{
    struct mb_outbox *o = m->obx;
    if (o->ext == MB_NONE)
        return 0; /* no Outbox: nothing to send */
    int rc = pthread_create(&o->thread, NULL, obx_main, m);
    if (rc != 0)
        return -rc;
    o->started = true;
    return 0;
}

void outbox_stop(struct mb *m)
{
    struct mb_outbox *o = m->obx;
    if (!o || !o->started)
        return;
    obx_lock(o);
    o->stop = true;
    obx_wake(o);
    obx_unlock(o);
    api_shutdown(m->o.api); /* a send in progress ends now (loop_stop did it already) */
    pthread_join(o->thread, NULL);
    o->started = false;
}

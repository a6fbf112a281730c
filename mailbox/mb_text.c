/* mb_text — fax.txt: setup, workers, the public calls (see mb_text.h). */
#include "mailbox/mb_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/mb_index.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_textq.h"
#include "ocr/ocr_key.h"
#include "ocr/ocr_run.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

/* How long a worker waits for the setup another thread runs. */
#define TEXT_SETUP_WAIT_MS 60000

/* ---- which document ------------------------------------------------------ */

/* The attachment whose text fax.txt is: the first RenderedDocument, unless
 * an attachment already has the name.  Returns its index, or -1. */
static int rendered_of(const struct mb_att_info *att, uint32_t n)
{
    int k = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(att[i].name, MB_TEXT_NAME) == 0)
            return -1;
        if (k < 0 && att[i].type == REC_ATT_RENDERED_DOCUMENT)
            k = (int)i;
    }
    return k;
}

bool mb_text_shown(struct mb *m, const struct mb_msg_info *info)
{
    return m->tx && m->tx->usable && info->type == REC_FAX &&
           rendered_of(info->att, info->n_att) >= 0;
}

/* What identifies a fax's document, copied under one index lock. */
struct text_doc {
    uint32_t k;      /* attachment index */
    uint64_t att_id; /* its id */
    uint64_t msg_id; /* the message's id (for the log) */
    uint64_t ext_id; /* its extension's id */
};

static int text_doc(struct mb *m, uint32_t slot, struct text_doc *d)
{
    struct mb_msg_info info;
    int rc = mb_msg_info(m, slot, &info);
    if (rc < 0)
        return rc;
    int k = mb_text_shown(m, &info) ? rendered_of(info.att, info.n_att) : -1;
    if (k < 0)
        return -ENOENT;
    ix_rdlock(m);
    struct mb_msg *msg = idx_msg(m, slot);
    bool same = msg && (uint32_t)k < msg->n_att && msg->att[k].type == REC_ATT_RENDERED_DOCUMENT;
    if (same) {
        d->att_id = msg->att[k].id;
        d->msg_id = msg->id;
        d->ext_id = m->ix.exts[msg->ext].id;
    }
    ix_unlock(m);
    if (!same) /* the attachments changed between the two looks */
        return -EIO;
    d->k = (uint32_t)k;
    return 0;
}

/* The key of the link object of d's document: it records the document's
 * hash, under a key made from the attachment's own cache key. */
static struct cobj_key link_key(struct mb *m, const struct text_doc *d)
{
    struct cobj_key a =
        cobj_key_make(m->server_url, m->account_id, d->ext_id, d->msg_id, d->att_id);
    char hex[33], s[96];
    cobj_key_hex(&a, hex);
    int n = snprintf(s, sizeof s, "rcfs fax text link 1\n%s\n", hex);
    return cobj_key_of(s, (size_t)n);
}

/* The text object's key for a document whose content hash is hash. */
static int text_key(struct mb *m, const uint8_t hash[16], struct cobj_key *key)
{
    struct ocr_job job = {.lang = m->tx->lang};
    char s[OCR_KEY_MAX];
    int n = ocr_text_key(hash, &job, m->tx->version, s, sizeof s);
    if (n < 0)
        return n;
    *key = cobj_key_of(s, (size_t)n);
    return 0;
}

/* ---- small objects -------------------------------------------------------- */

static int put_object(struct mb *m, const struct cobj_key *key, const void *p, size_t n)
{
    struct cobj_writer *w;
    int rc = cobj_begin(m->ps.objects, key, &w);
    if (rc < 0)
        return rc;
    rc = n ? cobj_write(w, p, n) : 0;
    if (rc < 0) {
        cobj_abort(w);
        return rc;
    }
    return cobj_commit(w, (int64_t)n);
}

/* The document hash the link object records.  Returns 0, -ENOENT. */
static int link_read(struct mb *m, const struct cobj_key *link, uint8_t hash[16])
{
    int fd;
    uint64_t size;
    int rc = cobj_open(m->ps.objects, link, &fd, &size);
    if (rc < 0)
        return -ENOENT;
    if (size != 16 || pread(fd, hash, 16, 0) != 16)
        rc = -ENOENT;
    close(fd);
    cobj_release(m->ps.objects, link);
    return rc;
}

static void link_write(struct mb *m, const struct cobj_key *link, const uint8_t hash[16])
{
    if (cobj_exists(m->ps.objects, link, NULL))
        return;
    int rc = put_object(m, link, hash, 16);
    if (rc < 0)
        log_debug("cannot cache a fax text link: %s", strerror(-rc));
}

/* ---- setup ---------------------------------------------------------------- */

/* Read the helper's version (and check the default language) once.  Called
 * without tx->lock; returns 0 or -EIO. */
static int setup(struct mb_text *t, char *version, size_t cap)
{
    char why[512];
    int rc = ocr_helper_version(t->helper, version, cap);
    if (rc < 0) {
        log_warn("fax.txt is unavailable: %s", version);
        return -EIO;
    }
    if (!t->lang_checked) {
        struct ocr_job job = {.helper = t->helper, .input_fd = -1, .lang = t->lang};
        if (ocr_check_lang(&job, why, sizeof why) < 0) {
            log_warn("fax.txt is unavailable: language %s: %s", t->lang, why);
            return -EIO;
        }
    }
    return 0;
}

/* Make sure the setup has run (running it here if nobody has), waiting at
 * most until deadline_ms.  Returns 0, or -EIO (failed recently, deadline). */
static int text_ready(struct mb *m, int64_t deadline_ms)
{
    struct mb_text *t = m->tx;
    int rc = 0;
    mu_lock(&t->lock, RANK_TX, "text");
    for (;;) {
        if (t->init == TEXT_INIT_OK)
            break;
        if (t->stop || (t->init == TEXT_INIT_FAILED && isotime_mono_ms() < t->init_failed_until)) {
            rc = -EIO;
            break;
        }
        if (t->init == TEXT_INIT_RUNNING) {
            if (cond_wait_until(&t->ended, &t->lock, deadline_ms) == ETIMEDOUT &&
                t->init == TEXT_INIT_RUNNING) {
                rc = -EIO;
                break;
            }
            continue;
        }
        t->init = TEXT_INIT_RUNNING;
        mu_unlock(&t->lock, RANK_TX);
        char version[sizeof t->version];
        int got = setup(t, version, sizeof version);
        mu_lock(&t->lock, RANK_TX, "text");
        if (got == 0)
            memcpy(t->version, version, sizeof version);
        t->init = got == 0 ? TEXT_INIT_OK : TEXT_INIT_FAILED;
        t->init_failed_until = isotime_mono_ms() + TEXT_FAIL_HOLD_MS;
        pthread_cond_broadcast(&t->ended);
    }
    mu_unlock(&t->lock, RANK_TX);
    return rc;
}

/* Entry e's text is in the cache already (the link gives the document's
 * hash; no document needed): record it.  Returns 0 or -ENOENT. */
static int find_cached(struct mb *m, uint32_t e, const struct text_doc *d)
{
    uint8_t hash[16];
    struct cobj_key key, link = link_key(m, d);
    uint64_t size;
    if (link_read(m, &link, hash) < 0 || text_key(m, hash, &key) < 0 ||
        !cobj_exists(m->ps.objects, &key, &size))
        return -ENOENT;
    tq_found(m, e, (int64_t)size, &key);
    return 0;
}

/* ---- the workers ------------------------------------------------------------ */

/* Run the helper on doc; store the text under key.  Returns 0 and *size,
 * -ECANCELED, or -errno after one log line. */
static int ocr_into(struct mb *m, struct tq_ent *x, const struct text_doc *d,
                    const struct mb_open_att *doc, const struct cobj_key *key, int64_t *size)
{
    struct ocr_job job = {
        .helper = m->tx->helper,
        .input_fd = doc->fd,
        .input_size = doc->size,
        .lang = m->tx->lang,
        .timeout_ms = TEXT_OCR_TIMEOUT_MS,
        .cancel = &x->cancel,
    };
    char why[512], *text;
    size_t len;
    int64_t t0 = isotime_mono_ms();
    int rc = ocr_run(&job, &text, &len, why, sizeof why);
    if (rc == -ECANCELED)
        return rc;
    if (rc < 0) {
        log_warn("fax.txt of message %" PRIu64 ": %s", d->msg_id, why);
        return -EIO;
    }
    rc = put_object(m, key, text, len);
    free(text);
    if (rc < 0) {
        log_warn("fax.txt of message %" PRIu64 ": cannot cache it: %s", d->msg_id, strerror(-rc));
        return rc;
    }
    atomic_fetch_add(&m->tx->ocr_runs, 1);
    log_debug("fax.txt of message %" PRIu64 ": %zu bytes made by rcfs-ocr in %" PRId64 " ms",
              d->msg_id, len, isotime_mono_ms() - t0);
    *size = (int64_t)len;
    return 0;
}

/* Entry x's job with the document (opened here from the cache when the job
 * brought none).  Returns 0 with *size and *key, or -errno. */
static int make_text(struct mb *m, struct tq_ent *x, struct mb_open_att *doc, int64_t *size,
                     struct cobj_key *key)
{
    struct text_doc d;
    int rc = text_doc(m, x->slot, &d);
    if (rc < 0 || d.att_id != x->att_id)
        return -ENOENT; /* the message or its document is gone */
    if (text_ready(m, isotime_mono_ms() + TEXT_SETUP_WAIT_MS) < 0)
        return -EIO;
    if (doc->fd < 0 && (rc = mb_att_open_cached(m, x->slot, d.k, doc)) < 0)
        return rc == -ENOENT ? -ENOENT : -EIO;
    uint8_t hash[16];
    if (doc->fd < 0 || cobj_content_hash(doc->fd, doc->size, hash) < 0 || text_key(m, hash, key))
        return -EIO;
    uint64_t have;
    if (cobj_exists(m->ps.objects, key, &have)) {
        *size = (int64_t)have;
        rc = 0;
    } else {
        rc = ocr_into(m, x, &d, doc, key, size);
    }
    if (rc == 0) {
        struct cobj_key link = link_key(m, &d);
        link_write(m, &link, hash);
    }
    return rc;
}

struct worker_arg {
    struct mb *m;
    int w;
};

static void *worker_main(void *arg)
{
    struct worker_arg a = *(struct worker_arg *)arg;
    free(arg);
    for (;;) {
        struct tq_ent *x;
        struct mb_open_att doc;
        uint32_t e = tq_next(a.m, a.w, &x, &doc);
        if (e == MB_NONE)
            break;
        int64_t size = -1;
        struct cobj_key key = {{0}};
        int rc = make_text(a.m, x, &doc, &size, &key);
        tq_finish(a.m, a.w, e, rc, size, &key, &doc);
        if (doc.fd >= 0 || doc.mem)
            mb_att_close(a.m, &doc);
    }
    return NULL;
}

/* ---- life ---------------------------------------------------------------------- */

static int default_jobs(void)
{
    long half = sysconf(_SC_NPROCESSORS_ONLN) / 2;
    return half > 1 ? (int)(half < 64 ? half : 64) : 1;
}

int text_open(struct mb *m, const struct mb_config *cfg, char *err, size_t errlen)
{
    if (!cfg->ocr)
        return 0;
    const char *helper = cfg->ocr_helper;
    const char *lang = cfg->ocr_lang ? cfg->ocr_lang : "eng";
    if (!helper || helper[0] != '/') {
        snprintf(err, errlen, "the OCR helper must be given as an absolute path (not %s)",
                 helper ? helper : "none");
        return -EINVAL;
    }
    if (!ocr_lang_ok(lang)) {
        snprintf(err, errlen, "ocr_lang=%s is not a list of Tesseract languages (e.g. eng+deu)",
                 lang);
        return -EINVAL;
    }
    if (cfg->ocr_lang) {
        struct ocr_job job = {.helper = helper, .input_fd = -1, .lang = lang};
        char why[512];
        if (ocr_check_lang(&job, why, sizeof why) < 0) {
            snprintf(err, errlen, "ocr_lang=%s cannot be used: %s", lang, why);
            return -EINVAL;
        }
    }
    int jobs = cfg->ocr_jobs > 0 ? cfg->ocr_jobs : default_jobs();
    m->tx = tq_new(jobs);
    /* Not fatal with the defaults; said once mounted (text_start), so a
     * failing start still prints its one line. */
    m->tx->usable = access(helper, X_OK) == 0;
    if (!m->tx->usable)
        m->tx->off_why = mem_printf("fax.txt is off: the OCR helper %s cannot be run (%s)", helper,
                                    strerror(errno));
    m->tx->helper = mem_strdup(helper);
    m->tx->lang = mem_strdup(lang);
    m->tx->lang_checked = cfg->ocr_lang != NULL;
    return 0;
}

int text_start(struct mb *m)
{
    struct mb_text *t = m->tx;
    if (t && !t->usable && t->off_why) {
        log_warn("%s", t->off_why);
        free(t->off_why);
        t->off_why = NULL;
    }
    if (!t || !t->usable || t->threads)
        return 0;
    t->threads = mem_calloc((size_t)t->jobs, sizeof *t->threads);
    for (int w = 0; w < t->jobs; w++) {
        struct worker_arg *a = mem_alloc(sizeof *a);
        *a = (struct worker_arg){m, w};
        int rc = pthread_create(&t->threads[w], NULL, worker_main, a);
        if (rc != 0) {
            free(a);
            text_stop(m);
            return -rc;
        }
        t->n_threads = w + 1;
    }
    return 0;
}

void text_stop(struct mb *m)
{
    struct mb_text *t = m->tx;
    if (!t)
        return;
    tq_stop(m);
    for (int w = 0; w < t->n_threads; w++)
        pthread_join(t->threads[w], NULL);
    t->n_threads = 0;
}

void text_free(struct mb *m)
{
    tq_free(m, m->tx);
    m->tx = NULL;
}

/* ---- what the filesystem calls ----------------------------------------------------- */

int64_t mb_text_known_size(struct mb *m, uint32_t slot)
{
    struct text_doc d;
    bool failed;
    if (text_doc(m, slot, &d) < 0)
        return -1;
    uint32_t e = tq_find(m, slot, d.att_id); /* a listing makes no entries */
    return e == MB_NONE ? -1 : tq_size(m, e, &failed);
}

int mb_text_size(struct mb *m, const struct mb_call *c, uint32_t slot, int64_t *size)
{
    struct text_doc d;
    int rc = text_doc(m, slot, &d);
    if (rc < 0)
        return rc;
    uint32_t e = tq_get(m, slot, d.att_id);
    bool failed;
    if ((*size = tq_size(m, e, &failed)) >= 0)
        return 0;
    if (failed || (c && c->local_only))
        return -EIO;
    int64_t deadline = net_deadline(m, c);
    if ((rc = text_ready(m, deadline)) < 0)
        return rc;
    if (find_cached(m, e, &d) == 0)
        return (*size = tq_size(m, e, &failed)) >= 0 ? 0 : -EIO;
    struct mb_open_att doc;
    rc = mb_att_open(m, c, slot, d.k, &doc);
    if (rc < 0)
        return rc;
    rc = tq_wait(m, e, !c || c->prio == MB_PRIO_USER, &doc, deadline);
    if (rc == -ENOENT) /* a job that ran without a document found it evicted: ours has it */
        rc = tq_wait(m, e, !c || c->prio == MB_PRIO_USER, &doc, deadline);
    if (rc == -ENOENT)
        rc = -EIO;
    if (doc.fd >= 0 || doc.mem)
        mb_att_close(m, &doc);
    if (rc == 0 && (*size = tq_size(m, e, &failed)) < 0)
        rc = -EIO;
    return rc;
}

int mb_text_open(struct mb *m, const struct mb_call *c, uint32_t slot, struct mb_open_att *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t size;
        struct text_doc d;
        struct cobj_key key;
        int rc = mb_text_size(m, c, slot, &size);
        if (rc < 0)
            return rc;
        if ((rc = text_doc(m, slot, &d)) < 0)
            return rc;
        uint32_t e = tq_get(m, slot, d.att_id);
        if (tq_key(m, e, &key) < 0)
            continue;
        int fd;
        uint64_t have;
        rc = cobj_open(m->ps.objects, &key, &fd, &have);
        if (rc == -ENOENT) { /* evicted since: made again */
            tq_forget(m, e, &key);
            continue;
        }
        if (rc < 0)
            return -EIO;
        if ((int64_t)have != size)
            log_warn("fax.txt of message %" PRIu64 " came out at %" PRIu64 " bytes, not %" PRId64,
                     d.msg_id, have, size);
        out->fd = fd;
        out->size = have;
        out->pin = mem_alloc(sizeof key);
        memcpy(out->pin, &key, sizeof key);
        return 0;
    }
    return -EIO;
}

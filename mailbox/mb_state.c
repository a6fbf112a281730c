/* mb_state — the persisted mailbox (see mb_state.h). */
#include "mailbox/mb_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache_snap.h"
#include "mailbox/mb_apply.h"
#include "mailbox/mb_index.h"
#include "util/buf.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define STATE_SCHEMA 2
#define STATE_FILE   "index.snap"

enum { TAG_META = 1, TAG_EXTS, TAG_MSGS, TAG_ATTS, TAG_STRS };

/* On-disk entries (little-endian hosts only; the schema is per machine). */
struct disk_msg {
    uint64_t id, rec_off;
    int64_t ctime, mtime;
    uint32_t rec_len, ext, name_off, status_off, conv_off, first_att;
    uint8_t type, direction, avail, read, n_att, flags, pad[2];
};
#define DISK_HAS_SUBJECT 1
#define DISK_META_STALE  2 /* the record is fetched again when looked at */
struct disk_att {
    uint64_t id;
    int64_t size;
    uint32_t name_off, ct_off;
    uint8_t type, pad[7];
};
_Static_assert(sizeof(struct disk_msg) == 64, "disk_msg layout");
_Static_assert(sizeof(struct disk_att) == 32, "disk_att layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "state format is little-endian");

#define NO_STR UINT32_MAX

static char *state_file(struct mb *m)
{
    return mem_printf("%s/%s", m->ps.state_dir, STATE_FILE);
}

/* ---- writing ------------------------------------------------------------------ */

/* The sections of a snapshot being built. */
struct image {
    struct buf meta, exts, msgs, atts, pool;
    uint32_t n_saved, n_att;
};

static uint32_t pool_add(struct buf *pool, const char *s)
{
    if (!s)
        return NO_STR;
    uint32_t off = (uint32_t)pool->len;
    buf_append(pool, s, strlen(s) + 1);
    return off;
}

static void put_u32(struct buf *b, uint32_t v)
{
    buf_append(b, &v, sizeof v);
}

static void put_u64(struct buf *b, uint64_t v)
{
    buf_append(b, &v, sizeof v);
}

static void put_str(struct buf *b, const char *s)
{
    if (!s) {
        put_u32(b, NO_STR);
        return;
    }
    put_u32(b, (uint32_t)strlen(s));
    buf_append(b, s, strlen(s));
}

static void image_init(struct image *im)
{
    const size_t cap = (size_t)1 << 34; /* generous: this is our own data */
    memset(im, 0, sizeof *im);
    buf_init(&im->meta, cap);
    buf_init(&im->exts, cap);
    buf_init(&im->msgs, cap);
    buf_init(&im->atts, cap);
    buf_init(&im->pool, cap);
    buf_append(&im->pool, "", 1); /* offset 0 = "" */
}

static void image_free(struct image *im)
{
    buf_free(&im->meta);
    buf_free(&im->exts);
    buf_free(&im->msgs);
    buf_free(&im->atts);
    buf_free(&im->pool);
}

/* One message and its attachments (index read lock held). */
static void image_msg(struct mb *m, struct image *im, const struct mb_msg *msg)
{
    struct disk_msg d = {
        .id = msg->id,
        .rec_off = msg->rec.off,
        .ctime = msg->creation_ms,
        .mtime = msg->modified_ms,
        .rec_len = msg->rec.len,
        .ext = msg->ext,
        .name_off = pool_add(&im->pool, msg->name),
        .status_off = pool_add(&im->pool, msg->msg_status ? msg->msg_status : ""),
        .conv_off = msg->conv == MB_NONE ? NO_STR : pool_add(&im->pool, m->ix.convs[msg->conv]->id),
        .first_att = im->n_att,
        .type = msg->type,
        .direction = msg->direction,
        .avail = msg->availability,
        .read = msg->read_status,
        .n_att = msg->n_att,
        .flags =
            (msg->has_subject ? DISK_HAS_SUBJECT : 0) | (msg->meta_stale ? DISK_META_STALE : 0),
    };
    buf_append(&im->msgs, &d, sizeof d);
    for (uint32_t k = 0; k < msg->n_att; k++) {
        struct disk_att a = {
            .id = msg->att[k].id,
            .size = msg->att[k].size,
            .name_off = pool_add(&im->pool, msg->att[k].name),
            .ct_off = pool_add(&im->pool, msg->att[k].content_type),
            .type = msg->att[k].type,
        };
        buf_append(&im->atts, &a, sizeof a);
        im->n_att++;
    }
    im->n_saved++;
}

/* Serialise the index (read lock held).  listed: per-extension bit sets. */
static void image_index(struct mb *m, struct image *im, const uint8_t *listed)
{
    for (uint32_t s = 0; s < m->ix.n_msgs; s++) {
        const struct mb_msg *msg = m->ix.msgs[s];
        if (msg->availability != REC_PURGED && msg->rec.len && !msg->meta_bad)
            image_msg(m, im, msg);
    }
    for (uint32_t e = 0; e < m->ix.n_ext; e++) {
        const struct mb_ext *x = &m->ix.exts[e];
        put_u64(&im->exts, x->id);
        put_u32(&im->exts, listed[e]);
        put_str(&im->exts, x->number);
        put_str(&im->exts, x->name);
        put_str(&im->exts, x->sync_token);
    }
    put_u32(&im->meta, m->ix.n_ext);
    put_u32(&im->meta, im->n_saved);
    put_u32(&im->meta, im->n_att);
    put_u64(&im->meta, rlog_gen(m->ps.rlog));
    put_u64(&im->meta, rlog_size(m->ps.rlog));
    put_u64(&im->meta, (uint64_t)m->created_ms);
    put_str(&im->meta, m->account_id);
}

/* Which type folders of each extension are listed (one bit per type). */
static uint8_t *listed_bits(struct mb *m)
{
    uint8_t *listed = mem_calloc(m->ix.n_ext ? m->ix.n_ext : 1, 1);
    mu_lock(&m->ls.lock, RANK_LS, "listings");
    for (uint32_t e = 0; e < m->ix.n_ext; e++)
        for (int t = 0; t < REC_TYPE_COUNT; t++)
            if (m->ix.exts[e].list_state[t] == MB_LIST_DONE)
                listed[e] |= (uint8_t)(1u << t);
    mu_unlock(&m->ls.lock, RANK_LS);
    return listed;
}

static int image_write(struct mb *m, struct image *im)
{
    /* The records the snapshot points at must be on disk before it is. */
    int rc = rlog_sync(m->ps.rlog);
    if (rc < 0)
        return rc;
    struct snap_section sec[] = {
        {TAG_META, im->meta.data, im->meta.len}, {TAG_EXTS, im->exts.data, im->exts.len},
        {TAG_MSGS, im->msgs.data, im->msgs.len}, {TAG_ATTS, im->atts.data, im->atts.len},
        {TAG_STRS, im->pool.data, im->pool.len},
    };
    char *path = state_file(m);
    rc = snap_save(path, STATE_SCHEMA, sec, sizeof sec / sizeof sec[0]);
    if (rc == -ENOSPC) {
        /* The state matters more than cached content: make room, once. */
        uint64_t need =
            im->meta.len + im->exts.len + im->msgs.len + im->atts.len + im->pool.len + 65536;
        if (cobj_make_room(m->ps.objects, need) == 0)
            rc = snap_save(path, STATE_SCHEMA, sec, sizeof sec / sizeof sec[0]);
    }
    free(path);
    return rc;
}

int state_save(struct mb *m)
{
    mu_lock(&m->ps.lock, RANK_PS, "persistence");
    uint64_t changes = atomic_load(&m->ps.changes);
    if (changes == m->ps.saved) {
        mu_unlock(&m->ps.lock, RANK_PS);
        return 0;
    }
    int64_t t0 = isotime_mono_ms();
    struct image im;
    image_init(&im);
    uint8_t *listed = listed_bits(m);
    ix_rdlock(m);
    image_index(m, &im, listed);
    ix_unlock(m);
    free(listed);
    int rc = image_write(m, &im);
    if (rc == 0) {
        m->ps.saved = changes; /* later changes make it dirty again */
        log_debug("state saved: %u messages in %" PRId64 " ms", im.n_saved, isotime_mono_ms() - t0);
    }
    mu_unlock(&m->ps.lock, RANK_PS);
    image_free(&im);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

struct reader {
    const uint8_t *p, *end;
    bool bad;
};

static struct reader reader_of(const struct snap_section *s)
{
    return (struct reader){s->data, (const uint8_t *)s->data + s->len, false};
}

static uint32_t get_u32(struct reader *r)
{
    uint32_t v = 0;
    if (r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    memcpy(&v, r->p, 4);
    r->p += 4;
    return v;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t v = 0;
    if (r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    memcpy(&v, r->p, 8);
    r->p += 8;
    return v;
}

/* A length-prefixed string, copied into out (cap bytes) or malloc'd when out is NULL. */
static char *get_str(struct reader *r, char *out, size_t cap)
{
    uint32_t len = get_u32(r);
    if (r->bad || len == NO_STR)
        return NULL;
    if ((size_t)(r->end - r->p) < len || memchr(r->p, 0, len) || (out && len >= cap)) {
        r->bad = true;
        return NULL;
    }
    char *s = out ? out : mem_alloc((size_t)len + 1);
    memcpy(s, r->p, len);
    s[len] = '\0';
    r->p += len;
    return s;
}

/* A pool string at off, or NULL when off is out of bounds or unterminated. */
static const char *pool_str(const struct snap_section *strs, uint32_t off)
{
    if (off >= strs->len)
        return NULL;
    const char *s = (const char *)strs->data + off;
    if (!memchr(s, 0, strs->len - off))
        return NULL;
    return s;
}

void state_discard(struct mb *m)
{
    idx_clear(m);
    m->created_ms = 0;
    if (m->ps.rlog) {
        uint64_t gen = rlog_gen(m->ps.rlog);
        rlog_close(m->ps.rlog);
        m->ps.rlog = NULL;
        rlog_unlink_gen(m->ps.state_dir, gen);
    }
    char *path = state_file(m);
    unlink(path);
    free(path);
    mb_touch(m);
}

/* The sections of a loaded snapshot and what META says. */
struct loaded {
    const struct snap_section *meta, *exts, *msgs, *atts, *strs;
    uint32_t n_ext, n_msgs, n_atts;
    uint64_t gen, rlog_len;
    int64_t created;
    char *account;
};

static bool entry_ok(struct mb *m, const struct loaded *l, const struct disk_msg *d)
{
    return d->ext < m->ix.n_ext && d->type < REC_TYPE_COUNT && d->direction <= REC_OUTBOUND &&
           d->avail <= REC_DELETED && d->read <= REC_UNREAD && d->n_att <= REC_MAX_ATTACHMENTS &&
           d->first_att <= l->n_atts && d->n_att <= l->n_atts - d->first_att && d->rec_len &&
           d->rec_off <= l->rlog_len && d->rec_len <= l->rlog_len - d->rec_off &&
           !idx_find(m, d->ext, d->id);
}

/* The attachments of d into ra/names.  False when any is invalid. */
static bool load_atts(const struct loaded *l, const struct disk_msg *d, struct rec_attachment *ra,
                      const char **names)
{
    const struct disk_att *atts = l->atts->data;
    for (uint32_t k = 0; k < d->n_att; k++) {
        const struct disk_att *a = &atts[d->first_att + k];
        const char *an = pool_str(l->strs, a->name_off);
        const char *ct = pool_str(l->strs, a->ct_off);
        if (!an || !ct || !mbname_is_safe(an) || a->type > REC_ATT_OTHER || a->size < -1)
            return false;
        names[k] = an;
        ra[k] = (struct rec_attachment){
            .id = a->id, .size = a->size, .type = a->type, .content_type = (char *)ct};
    }
    return true;
}

/* Build one message from its disk entry.  Returns false when invalid. */
static bool load_msg(struct mb *m, const struct loaded *l, const struct disk_msg *d)
{
    const char *name = pool_str(l->strs, d->name_off);
    const char *status = pool_str(l->strs, d->status_off);
    const char *conv = NULL;
    if (!name || !status || !mbname_is_safe(name) || !entry_ok(m, l, d))
        return false;
    if (d->conv_off != NO_STR && !(conv = pool_str(l->strs, d->conv_off)))
        return false;
    /* A struct rec with only what the index keeps. */
    struct rec r = {
        .id = d->id,
        .creation_ms = d->ctime,
        .modified_ms = d->mtime,
        .type = d->type,
        .direction = d->direction,
        .availability = d->avail,
        .read_status = d->read,
        .n_att = d->n_att,
        .subject = d->flags & DISK_HAS_SUBJECT ? "" : NULL, /* only presence is kept */
    };
    snprintf(r.message_status, sizeof r.message_status, "%s", status);
    if (conv && strlen(conv) >= sizeof r.conversation_id)
        return false;
    if (conv)
        snprintf(r.conversation_id, sizeof r.conversation_id, "%s", conv);
    struct rec_attachment ra[REC_MAX_ATTACHMENTS];
    const char *att_names[REC_MAX_ATTACHMENTS];
    if (!load_atts(l, d, ra, att_names))
        return false;
    r.att = ra;
    struct mb_msg *msg = apply_restore_entry(
        m, d->ext, &r, name, att_names, (struct rlog_ref){.off = d->rec_off, .len = d->rec_len});
    msg->meta_stale = (d->flags & DISK_META_STALE) != 0;
    return true;
}

/* Read META.  False when absent or inconsistent. */
static bool load_meta(struct loaded *l)
{
    if (!l->meta || !l->exts || !l->msgs || !l->atts || !l->strs)
        return false;
    struct reader r = reader_of(l->meta);
    l->n_ext = get_u32(&r);
    l->n_msgs = get_u32(&r);
    l->n_atts = get_u32(&r);
    l->gen = get_u64(&r);
    l->rlog_len = get_u64(&r);
    l->created = (int64_t)get_u64(&r);
    l->account = get_str(&r, NULL, 0);
    return !r.bad && l->account && l->n_ext > 0 && l->n_ext <= 4096 &&
           l->msgs->len == (uint64_t)l->n_msgs * sizeof(struct disk_msg) &&
           l->atts->len == (uint64_t)l->n_atts * sizeof(struct disk_att);
}

/* Read EXTS into a new extension array.  False when invalid. */
static bool load_exts(struct mb *m, const struct loaded *l)
{
    m->ix.exts = mem_calloc(l->n_ext, sizeof *m->ix.exts);
    m->ix.n_ext = l->n_ext;
    struct reader r = reader_of(l->exts);
    for (uint32_t e = 0; e < l->n_ext && !r.bad; e++) {
        struct mb_ext *x = &m->ix.exts[e];
        x->id = get_u64(&r);
        uint32_t listed = get_u32(&r);
        get_str(&r, x->number, sizeof x->number);
        if (!get_str(&r, x->name, sizeof x->name) || !mbname_is_safe(x->name))
            r.bad = true;
        x->sync_token = get_str(&r, NULL, 0);
        for (int t = 0; t < REC_TYPE_COUNT; t++)
            x->list_state[t] = listed & (1u << t) ? MB_LIST_DONE : MB_LIST_NONE;
    }
    return !r.bad && r.p == r.end;
}

/* Open the record log the snapshot names; messages from MSGS.  Sets *live
 * to the bytes of live records. */
static bool load_messages(struct mb *m, const struct loaded *l, uint64_t *live)
{
    int rc = rlog_open(m->ps.state_dir, l->gen, 0, l->rlog_len, &m->ps.rlog);
    if (rc < 0 || rlog_size(m->ps.rlog) < l->rlog_len) {
        log_warn("record log of the persisted state is missing or short; rebuilding");
        return false;
    }
    const struct disk_msg *dm = l->msgs->data;
    *live = 0;
    for (uint32_t i = 0; i < l->n_msgs; i++) {
        if (!load_msg(m, l, &dm[i]))
            return false;
        *live += dm[i].rec_len;
    }
    return true;
}

static void state_compact(struct mb *m);

/* After a successful load: what is garbage, and compact when it is most. */
static void account_garbage(struct mb *m, const struct loaded *l, uint64_t live)
{
    /* Entry headers are 32 bytes; anything beyond live records is garbage. */
    uint64_t used = live + (uint64_t)l->n_msgs * 32;
    uint64_t garbage = l->rlog_len > used ? l->rlog_len - used : 0;
    atomic_store(&m->ps.garbage, garbage);
    if (garbage > l->rlog_len / 2 && l->rlog_len > ((uint64_t)4 << 20))
        state_compact(m);
}

int state_load(struct mb *m, const char *expect_account)
{
    struct snap s;
    struct loaded l = {0};
    uint64_t live = 0;
    int64_t t0 = isotime_mono_ms();
    char *path = state_file(m);
    int rc = snap_load(path, STATE_SCHEMA, &s);
    free(path);
    if (rc == -ENOENT)
        return -ENOENT;
    if (rc < 0) {
        log_warn("persisted state is damaged or of another version (%s); rebuilding it",
                 strerror(-rc));
        state_discard(m);
        return -ENOENT;
    }
    l.meta = snap_find(&s, TAG_META);
    l.exts = snap_find(&s, TAG_EXTS);
    l.msgs = snap_find(&s, TAG_MSGS);
    l.atts = snap_find(&s, TAG_ATTS);
    l.strs = snap_find(&s, TAG_STRS);
    bool ok = load_meta(&l);
    if (ok && expect_account && strcmp(l.account, expect_account) != 0) {
        log_info("persisted state belongs to another account; rebuilding it");
        ok = false;
    }
    ok = ok && load_exts(m, &l) && load_messages(m, &l, &live);
    snap_free(&s);
    if (!ok) {
        free(l.account);
        state_discard(m);
        return -ENOENT;
    }
    if (!m->account_id)
        m->account_id = l.account;
    else
        free(l.account);
    m->created_ms = l.created;
    log_info("loaded %u messages from the persisted state in %" PRId64 " ms", l.n_msgs,
             isotime_mono_ms() - t0);
    m->ps.saved = atomic_load(&m->ps.changes); /* what is on disk is what we have */
    account_garbage(m, &l, live);
    return 0;
}

/* Rewrite the record log with live records only (at load: no threads). */
static void state_compact(struct mb *m)
{
    uint32_t n = m->ix.n_msgs;
    uint64_t *ids = mem_calloc(n ? n : 1, sizeof *ids);
    struct rlog_ref *refs = mem_calloc(n ? n : 1, sizeof *refs);
    struct rlog_ref *out = mem_calloc(n ? n : 1, sizeof *out);
    for (uint32_t s = 0; s < n; s++) {
        ids[s] = m->ix.msgs[s]->id;
        refs[s] = m->ix.msgs[s]->rec;
    }
    struct rlog *nl;
    struct rlog *old = m->ps.rlog;
    uint64_t old_gen = rlog_gen(old);
    if (rlog_compact(old, n, ids, refs, out, &nl) == 0) {
        for (uint32_t s = 0; s < n; s++)
            m->ix.msgs[s]->rec = out[s];
        m->ps.rlog = nl;
        mb_touch(m);
        if (state_save(m) == 0) {
            rlog_close(old);
            rlog_unlink_gen(m->ps.state_dir, old_gen);
            atomic_store(&m->ps.garbage, 0);
            log_info("compacted the record log");
        } else {
            /* Keep using the old log: the saved snapshot still names it. */
            m->ps.rlog = old;
            for (uint32_t s = 0; s < n; s++)
                m->ix.msgs[s]->rec = refs[s];
            rlog_close(nl);
            rlog_unlink_gen(m->ps.state_dir, old_gen + 1);
        }
    }
    free(ids);
    free(refs);
    free(out);
}

/*
 * mb_state — the mailbox persisted: index snapshot + record log.
 *
 * state/<scope>/index.snap is a cache_snap file (atomic, checksummed) with
 * five sections: META (counts, account, record-log generation and valid
 * length), EXTS (extensions, listed folders, sync tokens), MSGS (one fixed
 * 64-byte entry per message), ATTS (32 bytes per attachment, learned sizes
 * included) and STRS (a pool of NUL-terminated names).  The meta.json texts
 * stay in the record log, which the snapshot names by generation and length.
 *
 * A snapshot that fails any check (format, schema, checksums, bounds, names)
 * is discarded and rebuilt from the server: it is never trusted.  Purged
 * messages are not saved.  The record log is compacted at load time when
 * more than half of it is superseded records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache_snap.h"
#include "mailbox/mb_internal.h"
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
    return mem_printf("%s/%s", m->state_dir, STATE_FILE);
}

/* ---- writing ------------------------------------------------------------------ */

struct strpool {
    struct buf b;
};

static uint32_t pool_add(struct strpool *p, const char *s)
{
    if (!s)
        return NO_STR;
    uint32_t off = (uint32_t)p->b.len;
    buf_append(&p->b, s, strlen(s) + 1);
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

int mb_state_save(struct mb *m)
{
    struct buf meta, exts, msgs, atts;
    struct strpool pool;
    const size_t cap = (size_t)1 << 34; /* generous: this is our own data */
    buf_init(&meta, cap);
    buf_init(&exts, cap);
    buf_init(&msgs, cap);
    buf_init(&atts, cap);
    buf_init(&pool.b, cap);
    buf_append(&pool.b, "", 1); /* offset 0 = "" */

    uint8_t listed[256] = {0};
    pthread_mutex_lock(&m->list_lock);
    for (uint32_t e = 0; e < m->n_ext && e < 256; e++)
        for (int t = 0; t < REC_TYPE_COUNT; t++)
            if (m->exts[e].list_state[t] == MB_LIST_DONE)
                listed[e] |= (uint8_t)(1u << t);
    pthread_mutex_unlock(&m->list_lock);

    pthread_rwlock_wrlock(&m->lock);
    uint32_t n_saved = 0, n_att = 0;
    for (uint32_t s = 0; s < m->n_msgs; s++) {
        const struct mb_msg *msg = m->msgs[s];
        if (msg->availability == REC_PURGED || !msg->rec.len || msg->meta_bad)
            continue;
        struct disk_msg d = {
            .id = msg->id,
            .rec_off = msg->rec.off,
            .ctime = msg->creation_ms,
            .mtime = msg->modified_ms,
            .rec_len = msg->rec.len,
            .ext = msg->ext,
            .name_off = pool_add(&pool, msg->name),
            .status_off = pool_add(&pool, msg->msg_status ? msg->msg_status : ""),
            .conv_off = msg->conv == MB_NONE ? NO_STR : pool_add(&pool, m->convs[msg->conv]->id),
            .first_att = n_att,
            .type = msg->type,
            .direction = msg->direction,
            .avail = msg->availability,
            .read = msg->read_status,
            .n_att = msg->n_att,
            .flags = msg->has_subject ? DISK_HAS_SUBJECT : 0,
        };
        buf_append(&msgs, &d, sizeof d);
        for (uint32_t k = 0; k < msg->n_att; k++) {
            struct disk_att a = {
                .id = msg->att[k].id,
                .size = msg->att[k].size,
                .name_off = pool_add(&pool, msg->att[k].name),
                .ct_off = pool_add(&pool, msg->att[k].content_type),
                .type = msg->att[k].type,
            };
            buf_append(&atts, &a, sizeof a);
            n_att++;
        }
        n_saved++;
    }
    for (uint32_t e = 0; e < m->n_ext; e++) {
        const struct mb_ext *x = &m->exts[e];
        put_u64(&exts, x->id);
        put_u32(&exts, e < 256 ? listed[e] : 0);
        put_str(&exts, x->number);
        put_str(&exts, x->name);
        put_str(&exts, x->sync_token);
    }
    put_u32(&meta, m->n_ext);
    put_u32(&meta, n_saved);
    put_u32(&meta, n_att);
    put_u64(&meta, rlog_gen(m->rlog));
    put_u64(&meta, rlog_size(m->rlog));
    put_u64(&meta, (uint64_t)m->created_ms);
    put_str(&meta, m->account_id);
    m->dirty = false;
    struct rlog *log = m->rlog;
    pthread_rwlock_unlock(&m->lock);

    /* The records the snapshot points at must be on disk before it is. */
    int rc = rlog_sync(log);
    if (rc == 0) {
        struct snap_section sec[] = {
            {TAG_META, meta.data, meta.len},     {TAG_EXTS, exts.data, exts.len},
            {TAG_MSGS, msgs.data, msgs.len},     {TAG_ATTS, atts.data, atts.len},
            {TAG_STRS, pool.b.data, pool.b.len},
        };
        char *path = state_file(m);
        int64_t t0 = isotime_mono_ms();
        rc = snap_save(path, STATE_SCHEMA, sec, sizeof sec / sizeof sec[0]);
        free(path);
        if (rc == 0)
            log_debug("state saved: %u messages in %" PRId64 " ms", n_saved,
                      isotime_mono_ms() - t0);
    }
    if (rc < 0) {
        pthread_rwlock_wrlock(&m->lock);
        m->dirty = true;
        pthread_rwlock_unlock(&m->lock);
    }
    buf_free(&meta);
    buf_free(&exts);
    buf_free(&msgs);
    buf_free(&atts);
    buf_free(&pool.b);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

struct reader {
    const uint8_t *p, *end;
    bool bad;
};

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

void mb_state_discard(struct mb *m)
{
    mb_index_clear(m);
    m->created_ms = 0;
    if (m->rlog) {
        uint64_t gen = rlog_gen(m->rlog);
        rlog_close(m->rlog);
        m->rlog = NULL;
        rlog_unlink_gen(m->state_dir, gen);
    }
    char *path = state_file(m);
    unlink(path);
    free(path);
    m->dirty = true;
}

/* Build one message from its disk entry.  Returns false when invalid. */
static bool load_msg(struct mb *m, const struct disk_msg *d, const struct disk_att *atts,
                     uint32_t n_atts, const struct snap_section *strs, uint64_t rlog_len)
{
    const char *name = pool_str(strs, d->name_off);
    const char *status = pool_str(strs, d->status_off);
    if (!name || !status || !mbname_is_safe(name) || d->ext >= m->n_ext ||
        d->type >= REC_TYPE_COUNT || d->direction > REC_OUTBOUND || d->avail > REC_DELETED ||
        d->read > REC_UNREAD || d->n_att > REC_MAX_ATTACHMENTS || d->first_att > n_atts ||
        d->n_att > n_atts - d->first_att || d->rec_len == 0 || d->rec_off > rlog_len ||
        d->rec_len > rlog_len - d->rec_off || mb_find_id(m, d->ext, d->id))
        return false;
    const char *conv = NULL;
    if (d->conv_off != NO_STR && !(conv = pool_str(strs, d->conv_off)))
        return false;

    /* Reuse the record-building path: a struct rec with only what the index keeps. */
    struct rec r = {0};
    struct rec_attachment ra[REC_MAX_ATTACHMENTS];
    r.id = d->id;
    r.creation_ms = d->ctime;
    r.modified_ms = d->mtime;
    r.type = d->type;
    r.direction = d->direction;
    r.availability = d->avail;
    r.read_status = d->read;
    snprintf(r.message_status, sizeof r.message_status, "%s", status);
    if (conv) {
        if (strlen(conv) >= sizeof r.conversation_id)
            return false;
        snprintf(r.conversation_id, sizeof r.conversation_id, "%s", conv);
    }
    const char *att_names[REC_MAX_ATTACHMENTS];
    for (uint32_t k = 0; k < d->n_att; k++) {
        const struct disk_att *a = &atts[d->first_att + k];
        const char *an = pool_str(strs, a->name_off);
        const char *ct = pool_str(strs, a->ct_off);
        if (!an || !ct || !mbname_is_safe(an) || a->type > REC_ATT_OTHER || a->size < -1)
            return false;
        att_names[k] = an;
        ra[k] = (struct rec_attachment){
            .id = a->id, .size = a->size, .type = a->type, .content_type = (char *)ct};
    }
    r.n_att = d->n_att;
    r.att = ra;
    r.subject = d->flags & DISK_HAS_SUBJECT ? "" : NULL; /* only presence is kept */
    struct mb_msg *msg = mb_restore_entry(m, d->ext, &r, name, att_names);
    msg->rec.off = d->rec_off;
    msg->rec.len = d->rec_len;
    return true;
}

int mb_state_load(struct mb *m, const char *expect_account)
{
    struct snap s;
    char *path = state_file(m);
    int64_t t0 = isotime_mono_ms();
    int rc = snap_load(path, STATE_SCHEMA, &s);
    free(path);
    if (rc == -ENOENT)
        return -ENOENT;
    if (rc < 0) {
        log_warn("persisted state is damaged or of another version (%s); rebuilding it",
                 strerror(-rc));
        mb_state_discard(m);
        return -ENOENT;
    }
    const struct snap_section *meta = snap_find(&s, TAG_META), *exts = snap_find(&s, TAG_EXTS),
                              *msgs = snap_find(&s, TAG_MSGS), *atts = snap_find(&s, TAG_ATTS),
                              *strs = snap_find(&s, TAG_STRS);
    bool ok = meta && exts && msgs && atts && strs;
    struct reader r = {0};
    uint32_t n_ext = 0, n_msgs = 0, n_atts = 0;
    uint64_t gen = 0, rlog_len = 0;
    int64_t created = 0;
    char *account = NULL;
    if (ok) {
        r = (struct reader){meta->data, (const uint8_t *)meta->data + meta->len, false};
        n_ext = get_u32(&r);
        n_msgs = get_u32(&r);
        n_atts = get_u32(&r);
        gen = get_u64(&r);
        rlog_len = get_u64(&r);
        created = (int64_t)get_u64(&r);
        account = get_str(&r, NULL, 0);
        ok = !r.bad && account && n_ext > 0 && n_ext <= 4096 &&
             msgs->len == (uint64_t)n_msgs * sizeof(struct disk_msg) &&
             atts->len == (uint64_t)n_atts * sizeof(struct disk_att);
    }
    if (ok && expect_account && strcmp(account, expect_account) != 0) {
        log_info("persisted state belongs to another account; rebuilding it");
        ok = false;
    }
    if (ok) {
        m->exts = mem_calloc(n_ext, sizeof *m->exts);
        m->n_ext = n_ext;
        r = (struct reader){exts->data, (const uint8_t *)exts->data + exts->len, false};
        for (uint32_t e = 0; e < n_ext && !r.bad; e++) {
            struct mb_ext *x = &m->exts[e];
            x->id = get_u64(&r);
            uint32_t listed = get_u32(&r);
            get_str(&r, x->number, sizeof x->number);
            if (!get_str(&r, x->name, sizeof x->name) || !mbname_is_safe(x->name))
                r.bad = true;
            x->sync_token = get_str(&r, NULL, 0);
            for (int t = 0; t < REC_TYPE_COUNT; t++)
                x->list_state[t] = listed & (1u << t) ? MB_LIST_DONE : MB_LIST_NONE;
        }
        ok = !r.bad && r.p == r.end;
    }
    if (ok) {
        rc = rlog_open(m->state_dir, gen, 0, rlog_len, &m->rlog);
        if (rc < 0 || rlog_size(m->rlog) < rlog_len) {
            log_warn("record log of the persisted state is missing or short; rebuilding");
            ok = false;
        }
    }
    const struct disk_msg *dm = ok ? msgs->data : NULL;
    const struct disk_att *da = ok ? atts->data : NULL;
    uint64_t live = 0;
    for (uint32_t i = 0; ok && i < n_msgs; i++) {
        ok = load_msg(m, &dm[i], da, n_atts, strs, rlog_len);
        live += dm[i].rec_len;
    }
    snap_free(&s);
    if (!ok) {
        free(account);
        mb_state_discard(m);
        return -ENOENT;
    }
    if (!m->account_id)
        m->account_id = account;
    else
        free(account);
    m->created_ms = created;
    log_info("loaded %u messages from the persisted state in %" PRId64 " ms", n_msgs,
             isotime_mono_ms() - t0);
    m->dirty = false;
    /* Entry headers are 32 bytes; anything beyond live records is garbage. */
    uint64_t used = live + (uint64_t)n_msgs * 32;
    m->garbage = rlog_len > used ? rlog_len - used : 0;
    if (m->garbage > rlog_len / 2 && rlog_len > ((uint64_t)4 << 20))
        mb_state_compact(m);
    return 0;
}

void mb_state_compact(struct mb *m)
{
    uint32_t n = m->n_msgs;
    uint64_t *ids = mem_calloc(n ? n : 1, sizeof *ids);
    struct rlog_ref *refs = mem_calloc(n ? n : 1, sizeof *refs);
    struct rlog_ref *out = mem_calloc(n ? n : 1, sizeof *out);
    for (uint32_t s = 0; s < n; s++) {
        ids[s] = m->msgs[s]->id;
        refs[s] = m->msgs[s]->rec;
    }
    struct rlog *nl;
    uint64_t old_gen = rlog_gen(m->rlog);
    int rc = rlog_compact(m->rlog, n, ids, refs, out, &nl);
    if (rc == 0) {
        struct rlog *old = m->rlog;
        for (uint32_t s = 0; s < n; s++)
            m->msgs[s]->rec = out[s];
        m->rlog = nl;
        m->garbage = 0;
        rc = mb_state_save(m);
        if (rc == 0) {
            rlog_close(old);
            rlog_unlink_gen(m->state_dir, old_gen);
            log_info("compacted the record log");
        } else {
            /* Keep using the old log: the saved snapshot still names it. */
            m->rlog = old;
            for (uint32_t s = 0; s < n; s++)
                m->msgs[s]->rec = refs[s];
            rlog_close(nl);
            rlog_unlink_gen(m->state_dir, old_gen + 1);
        }
    }
    free(ids);
    free(refs);
    free(out);
}

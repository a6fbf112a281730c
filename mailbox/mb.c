/*
 * mb — the mailbox index: extensions, messages, folders, conversations.
 *
 * This file owns the data structures and the rules that move a message
 * between folders.  Listing and syncing (mb_load.c, mb_sync.c), content
 * (mb_content.c), changes made through the filesystem (mb_write.c) and
 * persistence (mb_state.c) build on it.  See mb.h for the contract and
 * mb_internal.h for the locking rules.
 */
#include "mailbox/mb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_dir.h"
#include "cache/cache_rlog.h"
#include "mailbox/mb_internal.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/cond.h"

static const char *const folder_names[MB_FOLDER_COUNT] = {
    "Fax", "SMS", "VoiceMail", "Pager", "Text", "Deleted", "conversations",
};

const char *mb_folder_name(int folder)
{
    return folder >= 0 && folder < MB_FOLDER_COUNT ? folder_names[folder] : NULL;
}

/* ---- small containers ---------------------------------------------------- */

void mb_vec_push(struct mb_vec *v, uint32_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = mem_reallocarray(v->v, v->cap, sizeof *v->v);
    }
    v->v[v->n++] = x;
}

/* Remove one occurrence of x (order is not kept).  Returns true if found. */
static bool vec_remove(struct mb_vec *v, uint32_t x)
{
    for (uint32_t i = v->n; i-- > 0;) {
        if (v->v[i] == x) {
            v->v[i] = v->v[--v->n];
            return true;
        }
    }
    return false;
}

void mb_vec_free(struct mb_vec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* Interned strings: content types and message statuses repeat endlessly. */
struct mb_intern {
    char **v;
    uint32_t n, cap;
};

const char *mb_intern(struct mb *m, const char *s)
{
    if (!m->strings)
        m->strings = mem_calloc(1, sizeof *m->strings);
    struct mb_intern *t = m->strings;
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i], s) == 0)
            return t->v[i];
    /* A hostile server could send a new content type per attachment; past a
     * few hundred distinct values, stop interning and keep one catch-all. */
    if (t->n >= 512)
        return "application/octet-stream";
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->v = mem_reallocarray(t->v, t->cap, sizeof *t->v);
    }
    t->v[t->n] = mem_strdup(s);
    return t->v[t->n++];
}

static void intern_free(struct mb_intern *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    free(t);
}

/* ---- change reports -------------------------------------------------------- */

void mb_changes_add(struct mb_changes *c, uint8_t kind, uint32_t a, uint32_t b, const char *name)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->n; i++) {
        struct mb_change *x = &c->v[i];
        if (x->kind == kind && x->a == a && x->b == b && x->name == name)
            return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = mem_reallocarray(c->v, c->cap, sizeof *c->v);
    }
    c->v[c->n++] = (struct mb_change){.kind = kind, .a = a, .b = b, .name = name};
}

void mb_changes_deliver(struct mb *m, struct mb_changes *c)
{
    const struct mb_events *e = &m->o.events;
    for (uint32_t i = 0; i < c->n; i++) {
        struct mb_change *x = &c->v[i];
        switch (x->kind) {
        case MB_CHG_FOLDER:
            if (e->folder_changed)
                e->folder_changed(e->ctx, x->a, (int)x->b);
            break;
        case MB_CHG_ENTRY_GONE:
            if (e->entry_gone)
                e->entry_gone(e->ctx, x->a, (int)x->b, x->name);
            break;
        case MB_CHG_MESSAGE:
            if (e->message_changed)
                e->message_changed(e->ctx, x->a);
            break;
        case MB_CHG_CONV:
            if (e->conversation_changed)
                e->conversation_changed(e->ctx, x->a, x->name);
            break;
        case MB_CHG_CONV_GONE:
            if (e->conversation_gone)
                e->conversation_gone(e->ctx, x->a, x->name);
            break;
        }
    }
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

/* ---- the id hash ------------------------------------------------------------ */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t id_key(uint32_t ext, uint64_t id)
{
    return mix(id ^ ((uint64_t)ext << 56) ^ ext);
}

struct mb_msg *mb_find_id(struct mb *m, uint32_t ext, uint64_t id)
{
    if (!m->id_hash_cap)
        return NULL;
    uint32_t mask = m->id_hash_cap - 1;
    for (uint32_t i = (uint32_t)id_key(ext, id) & mask;; i = (i + 1) & mask) {
        uint32_t s = m->id_hash[i];
        if (!s)
            return NULL;
        struct mb_msg *msg = m->msgs[s - 1];
        if (msg->id == id && msg->ext == ext)
            return msg;
    }
}

static void id_hash_put(struct mb *m, struct mb_msg *msg)
{
    uint32_t mask = m->id_hash_cap - 1;
    uint32_t i = (uint32_t)id_key(msg->ext, msg->id) & mask;
    while (m->id_hash[i])
        i = (i + 1) & mask;
    m->id_hash[i] = msg->slot + 1;
}

static void id_hash_grow(struct mb *m)
{
    uint32_t cap = m->id_hash_cap ? m->id_hash_cap * 2 : 1024;
    free(m->id_hash);
    m->id_hash = mem_calloc(cap, sizeof *m->id_hash);
    m->id_hash_cap = cap;
    for (uint32_t s = 0; s < m->n_msgs; s++)
        id_hash_put(m, m->msgs[s]);
}

/* ---- conversations ------------------------------------------------------------ */

static uint64_t conv_key(uint32_t ext, const char *id)
{
    uint64_t h = 1469598103934665603ULL ^ ext;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ULL;
    return mix(h);
}

static struct mb_conv *conv_find(struct mb *m, uint32_t ext, const char *id)
{
    if (!m->conv_hash_cap)
        return NULL;
    uint32_t mask = m->conv_hash_cap - 1;
    for (uint32_t i = (uint32_t)conv_key(ext, id) & mask;; i = (i + 1) & mask) {
        uint32_t c = m->conv_hash[i];
        if (!c)
            return NULL;
        struct mb_conv *cv = m->convs[c - 1];
        if (cv->ext == ext && strcmp(cv->id, id) == 0)
            return cv;
    }
}

static void conv_hash_put(struct mb *m, struct mb_conv *cv)
{
    uint32_t mask = m->conv_hash_cap - 1;
    uint32_t i = (uint32_t)conv_key(cv->ext, cv->id) & mask;
    while (m->conv_hash[i])
        i = (i + 1) & mask;
    m->conv_hash[i] = cv->num + 1;
}

/* The peer part of a message folder name: between the first '_' (after the
 * timestamp) and the last '_' (before the id). */
static void peer_of_name(const char *name, char out[MBNAME_MAX])
{
    const char *a = strchr(name, '_');
    const char *b = strrchr(name, '_');
    if (!a || b <= a) {
        snprintf(out, MBNAME_MAX, "unknown");
        return;
    }
    snprintf(out, MBNAME_MAX, "%.*s", (int)(b - a - 1), a + 1);
}

/* Find or create conversation `id` of ext; its folder is named after the
 * peer of the first message that brings it (names never change after). */
static struct mb_conv *conv_get(struct mb *m, uint32_t ext, const char *id, const char *msg_name)
{
    struct mb_conv *cv = conv_find(m, ext, id);
    if (cv)
        return cv;
    if ((m->n_convs + 1) * 10 >= m->conv_hash_cap * 7) {
        uint32_t cap = m->conv_hash_cap ? m->conv_hash_cap * 2 : 256;
        free(m->conv_hash);
        m->conv_hash = mem_calloc(cap, sizeof *m->conv_hash);
        m->conv_hash_cap = cap;
        for (uint32_t i = 0; i < m->n_convs; i++)
            conv_hash_put(m, m->convs[i]);
    }
    if (m->n_convs == m->cap_convs) {
        m->cap_convs = m->cap_convs ? m->cap_convs * 2 : 64;
        m->convs = mem_reallocarray(m->convs, m->cap_convs, sizeof *m->convs);
    }
    char peer[MBNAME_MAX], name[MBNAME_MAX];
    peer_of_name(msg_name, peer);
    mbname_conversation(peer, id, name);
    cv = mem_calloc(1, sizeof *cv);
    cv->num = m->n_convs;
    cv->ext = ext;
    snprintf(cv->id, sizeof cv->id, "%s", id);
    cv->name = mem_strdup(name);
    m->convs[m->n_convs++] = cv;
    conv_hash_put(m, cv);
    return cv;
}

/* Add or remove msg from its conversation's Alive members. */
static void conv_update(struct mb *m, struct mb_msg *msg, bool alive, struct mb_changes *chg)
{
    if (msg->conv == MB_NONE)
        return;
    struct mb_conv *cv = m->convs[msg->conv];
    struct mb_ext *e = &m->exts[cv->ext];
    if (alive) {
        for (uint32_t i = 0; i < cv->members.n; i++)
            if (cv->members.v[i] == msg->slot)
                return;
        mb_vec_push(&cv->members, msg->slot);
        mb_changes_add(chg, MB_CHG_CONV, cv->num, 0, NULL);
        if (!cv->listed) {
            cv->listed = true;
            mb_vec_push(&e->convs, cv->num);
            mb_changes_add(chg, MB_CHG_FOLDER, cv->ext, MB_FOLDER_CONVERSATIONS, NULL);
        }
    } else if (vec_remove(&cv->members, msg->slot)) {
        mb_changes_add(chg, MB_CHG_CONV, cv->num, 0, msg->name);
        if (cv->members.n == 0 && cv->listed) {
            cv->listed = false;
            cv->emptied_at = isotime_mono_ms();
            vec_remove(&e->convs, cv->num);
            mb_changes_add(chg, MB_CHG_FOLDER, cv->ext, MB_FOLDER_CONVERSATIONS, NULL);
            mb_changes_add(chg, MB_CHG_CONV_GONE, cv->ext, 0, cv->name);
        }
    }
}

/* ---- folder membership ---------------------------------------------------------- */

/* The folder an availability puts a message in, or -1 (Purged: nowhere). */
static int folder_for(const struct mb_msg *msg, enum rec_avail a)
{
    switch (a) {
    case REC_ALIVE:
        return msg->type;
    case REC_DELETED:
        return MB_FOLDER_DELETED;
    default:
        return -1;
    }
}

static void place(struct mb *m, struct mb_msg *msg, struct mb_changes *chg)
{
    int f = folder_for(msg, msg->availability);
    if (f < 0)
        return;
    mb_vec_push(&m->exts[msg->ext].folder[f], msg->slot);
    msg->in_folder = true;
    mb_changes_add(chg, MB_CHG_FOLDER, msg->ext, (uint32_t)f, NULL);
    conv_update(m, msg, msg->availability == REC_ALIVE, chg);
}

static void unplace(struct mb *m, struct mb_msg *msg, struct mb_changes *chg)
{
    int f = folder_for(msg, msg->availability);
    if (f >= 0 && msg->in_folder) {
        vec_remove(&m->exts[msg->ext].folder[f], msg->slot);
        mb_changes_add(chg, MB_CHG_FOLDER, msg->ext, (uint32_t)f, NULL);
        mb_changes_add(chg, MB_CHG_ENTRY_GONE, msg->ext, (uint32_t)f, msg->name);
    }
    msg->in_folder = false;
    conv_update(m, msg, false, chg);
}

void mb_set_avail(struct mb *m, struct mb_msg *msg, enum rec_avail a, struct mb_changes *chg)
{
    if (msg->availability == a)
        return;
    unplace(m, msg, chg);
    msg->availability = (uint8_t)a;
    msg->gen++;
    place(m, msg, chg);
    mb_changes_add(chg, MB_CHG_MESSAGE, msg->slot, 0, NULL);
    m->dirty = true;
}

/* ---- applying records --------------------------------------------------------------- */

/* Build the attachment block of a message: entries and names in one
 * allocation.  names: precomputed names (from the persisted state) or NULL
 * to build them from the record. */
static struct mb_att *atts_build(struct mb *m, const struct rec *r, const char *const *names)
{
    if (!r->n_att)
        return NULL;
    char(*built)[MBNAME_MAX] = NULL;
    if (!names) {
        built = mem_calloc(r->n_att, MBNAME_MAX);
        mbname_attachments(r->att, r->n_att, built);
    }
    size_t strbytes = 0;
    for (size_t k = 0; k < r->n_att; k++)
        strbytes += strlen(names ? names[k] : built[k]) + 1;
    struct mb_att *att = mem_alloc(r->n_att * sizeof *att + strbytes);
    char *p = (char *)(att + r->n_att);
    for (size_t k = 0; k < r->n_att; k++) {
        const char *nm = names ? names[k] : built[k];
        size_t l = strlen(nm) + 1;
        memcpy(p, nm, l);
        att[k] = (struct mb_att){
            .id = r->att[k].id,
            .size = r->att[k].size,
            .name = p,
            .content_type = mb_intern(m, r->att[k].content_type ? r->att[k].content_type : ""),
            .type = (uint8_t)r->att[k].type,
        };
        p += l;
    }
    free(built);
    return att;
}

/* Keep replaced attachments until mb_free: readers may hold their names.
 * Caller holds the write lock. */
static void retire(struct mb *m, struct mb_att *att)
{
    struct mb_retired *r = mem_alloc(sizeof *r);
    r->att = att;
    r->next = m->retired;
    m->retired = r;
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

static int store_record(struct mb *m, struct mb_msg *msg, const struct rec *r)
{
    struct rlog_ref ref;
    if (r->json_len > UINT32_MAX)
        return -EFBIG;
    int rc = rlog_append(m->rlog, r->id, r->json, (uint32_t)r->json_len, &ref);
    if (rc < 0) {
        log_err("cannot store record %" PRIu64 ": %s", r->id, strerror(-rc));
        return rc;
    }
    if (msg->rec.len)
        m->garbage += msg->rec.len;
    msg->rec = ref;
    msg->meta_bad = false;
    m->dirty = true;
    return 0;
}

/* Create and publish a message entry (not yet placed in a folder).
 * name/att_names: as persisted, or NULL to build them from the record. */
static struct mb_msg *msg_create(struct mb *m, uint32_t ext, const struct rec *r,
                                 const char *given_name, const char *const *att_names)
{
    char built[MBNAME_MAX];
    const char *name = given_name;
    if (!name) {
        mbname_message(r->creation_ms, r->peer, r->id, built);
        name = built;
    }
    size_t nl = strlen(name) + 1;
    struct mb_msg *msg = mem_calloc(1, sizeof *msg + nl);
    memcpy((char *)(msg + 1), name, nl);
    msg->name = (const char *)(msg + 1);
    msg->id = r->id;
    msg->ext = ext;
    msg->creation_ms = r->creation_ms;
    msg->type = (uint8_t)r->type;
    msg->direction = (uint8_t)r->direction;
    msg->conv = MB_NONE;
    msg->att = atts_build(m, r, att_names);
    msg->n_att = (uint8_t)r->n_att;

    if (m->n_msgs == m->cap_msgs) {
        m->cap_msgs = m->cap_msgs ? m->cap_msgs * 2 : 1024;
        m->msgs = mem_reallocarray(m->msgs, m->cap_msgs, sizeof *m->msgs);
    }
    if ((m->n_msgs + 1) * 10 >= m->id_hash_cap * 7)
        id_hash_grow(m);
    msg->slot = m->n_msgs;
    m->msgs[m->n_msgs++] = msg;
    id_hash_put(m, msg);
    if (r->conversation_id[0]) {
        struct mb_conv *cv = conv_get(m, ext, r->conversation_id, msg->name);
        msg->conv = cv->num;
    }
    return msg;
}

int mb_apply_record(struct mb *m, uint32_t ext, struct rec *r, struct mb_changes *chg)
{
    struct mb_msg *msg = mb_find_id(m, ext, r->id);
    if (msg && r->modified_ms < msg->modified_ms)
        return 0; /* an older copy (sync overlap, a slow listing): keep ours */
    if (msg && r->modified_ms == msg->modified_ms && r->availability == msg->availability &&
        r->read_status == msg->read_status && !msg->meta_bad && msg->rec.len == r->json_len)
        return 0; /* the same record again */

    bool created = false;
    if (!msg) {
        msg = msg_create(m, ext, r, NULL, NULL);
        created = true;
    }
    int rc = store_record(m, msg, r);
    if (rc < 0 && created) {
        /* Keep the entry (it is published in the hash) but show it nowhere. */
        msg->availability = REC_PURGED;
        return rc;
    }
    if (rc < 0)
        return rc;

    msg->modified_ms = r->modified_ms;
    msg->read_status = (uint8_t)r->read_status;
    msg->msg_status = mb_intern(m, r->message_status);
    msg->has_subject = r->subject && r->subject[0];
    if (created) {
        msg->availability = (uint8_t)r->availability;
        place(m, msg, chg);
        return 0;
    }
    if (!same_attachments(msg, r)) {
        /* e.g. a transcription arrived: new names and indexes, new generation. */
        struct mb_att *old = msg->att;
        msg->att = atts_build(m, r, NULL);
        msg->n_att = (uint8_t)r->n_att;
        if (old)
            retire(m, old);
        msg->gen++;
    } else {
        /* Keep learned sizes; take the server's when it now gives one. */
        for (size_t k = 0; k < r->n_att; k++)
            if (r->att[k].size >= 0)
                msg->att[k].size = r->att[k].size;
    }
    if (msg->availability != r->availability)
        mb_set_avail(m, msg, r->availability, chg);
    mb_changes_add(chg, MB_CHG_MESSAGE, msg->slot, 0, NULL);
    return 0;
}

struct mb_msg *mb_restore_entry(struct mb *m, uint32_t ext, const struct rec *r, const char *name,
                                const char *const *att_names)
{
    struct mb_msg *msg = msg_create(m, ext, r, name, att_names);
    msg->modified_ms = r->modified_ms;
    msg->read_status = (uint8_t)r->read_status;
    msg->msg_status = mb_intern(m, r->message_status);
    msg->has_subject = r->subject != NULL;
    msg->availability = (uint8_t)r->availability;
    place(m, msg, NULL);
    return msg;
}

void mb_apply_tombstone(struct mb *m, uint32_t ext, uint64_t id, enum rec_avail a,
                        struct mb_changes *chg)
{
    struct mb_msg *msg = mb_find_id(m, ext, id);
    if (!msg || msg->availability == a)
        return;
    mb_set_avail(m, msg, a, chg);
}

/* ---- lifecycle --------------------------------------------------------------------- */

static int open_rlog(struct mb *m)
{
    /* mb_state_load may already have opened the generation it names. */
    if (m->rlog)
        return 0;
    return rlog_open(m->state_dir, 1, 1, 0, &m->rlog);
}

int mb_new(const struct mb_opts *o, bool online, struct mb **out, char *err, size_t errlen)
{
    struct mb *m = mem_calloc(1, sizeof *m);
    int rc;
    char *scope = NULL;

    *out = NULL;
    m->o = *o;
    m->server_url = mem_strdup(o->server_url);
    m->client_id = mem_strdup(o->client_id ? o->client_id : "");
    pthread_rwlock_init(&m->lock, NULL);
    pthread_mutex_init(&m->flight_lock, NULL);
    cond_init_mono(&m->flight_cond);
    pthread_mutex_init(&m->list_lock, NULL);
    cond_init_mono(&m->list_cond);
    pthread_mutex_init(&m->wake_lock, NULL);
    cond_init_mono(&m->wake_cond);
    m->offline = !online;

    rc = cobj_store_open(cdir_objects(o->cache), o->cache_max, &m->objects);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open the content cache: %s", strerror(-rc));
        goto fail;
    }
    scope = mem_printf("%s\n%s", m->server_url, m->client_id);
    m->state_dir = cdir_state_path(o->cache, scope);
    free(scope);
    if (!m->state_dir) {
        rc = -errno;
        snprintf(err, errlen, "cannot create the state folder: %s", strerror(errno));
        goto fail;
    }

    if (online) {
        struct api_call c = {.deadline_ms = 0, .prio = API_PRIO_USER};
        struct api_ext *exts = NULL;
        size_t n = 0;
        rc = api_extensions(o->api, &c, &exts, &n);
        if (rc < 0) {
            snprintf(err, errlen, "cannot list the extensions: %s", strerror(-rc));
            goto fail;
        }
        m->account_id = mem_strdup(api_account_id(o->api) ? api_account_id(o->api) : "~");
        /* The persisted state is used only if it is this account's and lists
         * the same extensions (else it is rebuilt from the server). */
        rc = mb_state_load(m, m->account_id);
        bool same = rc == 0 && m->n_ext == n;
        for (size_t i = 0; same && i < n; i++)
            same = m->exts[i].id == exts[i].id;
        if (rc == 0 && !same) {
            log_info("persisted state does not match the account's extensions; rebuilding");
            mb_state_discard(m);
        }
        if (rc != 0 || !same) {
            m->exts = mem_calloc(n ? n : 1, sizeof *m->exts);
            m->n_ext = (uint32_t)n;
            for (size_t i = 0; i < n; i++) {
                struct mb_ext *e = &m->exts[i];
                e->id = exts[i].id;
                snprintf(e->number, sizeof e->number, "%s", exts[i].number);
                mbname_extension(exts[i].number, exts[i].id, e->name);
            }
        }
        free(exts);
    } else {
        rc = mb_state_load(m, NULL);
        if (rc < 0) {
            rc = -EHOSTUNREACH;
            snprintf(err, errlen, "the server cannot be reached and nothing is cached for it");
            goto fail;
        }
        log_info("server unreachable: serving the persisted state read-only");
    }
    if (!m->created_ms)
        m->created_ms = isotime_now_ms();
    /* Two extensions with the same folder name: suffix the later ones with their id. */
    for (uint32_t i = 0; i < m->n_ext; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(m->exts[i].name, m->exts[j].name) == 0)
                snprintf(m->exts[i].name, MBNAME_MAX, "%" PRIu64, m->exts[i].id);

    rc = open_rlog(m);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open the record log: %s", strerror(-rc));
        goto fail;
    }
    *out = m;
    return 0;
fail:
    mb_free(m);
    return rc < 0 ? rc : -EIO;
}

void mb_index_clear(struct mb *m)
{
    for (uint32_t s = 0; s < m->n_msgs; s++) {
        free(m->msgs[s]->att);
        free(m->msgs[s]);
    }
    free(m->msgs);
    m->msgs = NULL;
    m->n_msgs = m->cap_msgs = 0;
    free(m->id_hash);
    m->id_hash = NULL;
    m->id_hash_cap = 0;
    for (uint32_t i = 0; i < m->n_convs; i++) {
        mb_vec_free(&m->convs[i]->members);
        free((char *)m->convs[i]->name);
        free(m->convs[i]);
    }
    free(m->convs);
    m->convs = NULL;
    m->n_convs = m->cap_convs = 0;
    free(m->conv_hash);
    m->conv_hash = NULL;
    m->conv_hash_cap = 0;
    for (uint32_t i = 0; i < m->n_ext; i++) {
        for (int f = 0; f <= REC_TYPE_COUNT; f++)
            mb_vec_free(&m->exts[i].folder[f]);
        mb_vec_free(&m->exts[i].convs);
        free(m->exts[i].sync_token);
    }
    free(m->exts);
    m->exts = NULL;
    m->n_ext = 0;
}

void mb_free(struct mb *m)
{
    if (!m)
        return;
    mb_stop_threads(m);
    if (m->rlog && m->dirty) {
        int rc = mb_state_save(m);
        if (rc < 0)
            log_err("could not save the state: %s", strerror(-rc));
    }
    mb_index_clear(m);
    intern_free(m->strings);
    while (m->retired) {
        struct mb_retired *r = m->retired;
        m->retired = r->next;
        free(r->att);
        free(r);
    }
    rlog_close(m->rlog);
    cobj_store_close(m->objects);
    free(m->state_dir);
    free(m->server_url);
    free(m->client_id);
    free(m->account_id);
    pthread_rwlock_destroy(&m->lock);
    pthread_mutex_destroy(&m->flight_lock);
    pthread_cond_destroy(&m->flight_cond);
    pthread_mutex_destroy(&m->list_lock);
    pthread_cond_destroy(&m->list_cond);
    pthread_mutex_destroy(&m->wake_lock);
    pthread_cond_destroy(&m->wake_cond);
    free(m);
}

/* ---- extensions ------------------------------------------------------------------------ */

uint32_t mb_ext_count(struct mb *m)
{
    return m->n_ext;
}

const char *mb_ext_name(struct mb *m, uint32_t ext)
{
    return ext < m->n_ext ? m->exts[ext].name : NULL;
}

int mb_ext_find(struct mb *m, const char *name, uint32_t *ext)
{
    for (uint32_t i = 0; i < m->n_ext; i++) {
        if (strcmp(m->exts[i].name, name) == 0) {
            *ext = i;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- listings ---------------------------------------------------------------------------- */

static int cmp_msg_name(const void *a, const void *b, void *ctx)
{
    struct mb *m = ctx;
    return strcmp(m->msgs[*(const uint32_t *)a]->name, m->msgs[*(const uint32_t *)b]->name);
}

static int cmp_conv_name(const void *a, const void *b, void *ctx)
{
    struct mb *m = ctx;
    return strcmp(m->convs[*(const uint32_t *)a]->name, m->convs[*(const uint32_t *)b]->name);
}

/* Copy v into out sorted by name.  Caller holds the read lock (the msgs
 * array may be reallocated by a writer); names themselves never change. */
static void snapshot(struct mb *m, const struct mb_vec *v, bool convs, struct mb_listing *out)
{
    out->n = v->n;
    out->ids = mem_alloc((v->n ? v->n : 1) * sizeof *out->ids);
    if (v->n)
        memcpy(out->ids, v->v, v->n * sizeof *out->ids);
    qsort_r(out->ids, out->n, sizeof *out->ids, convs ? cmp_conv_name : cmp_msg_name, m);
    out->names = mem_alloc((v->n ? v->n : 1) * sizeof *out->names);
    for (uint32_t i = 0; i < out->n; i++)
        out->names[i] = convs ? m->convs[out->ids[i]]->name : m->msgs[out->ids[i]]->name;
}

int mb_folder_list(struct mb *m, const struct api_call *c, uint32_t ext, int folder,
                   struct mb_listing *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (ext >= m->n_ext || folder < 0 || folder >= MB_FOLDER_COUNT)
        return -ENOENT;
    if (folder < REC_TYPE_COUNT) {
        rc = mb_ensure_listed(m, c, ext, folder);
    } else {
        rc = 0;
        for (int t = 0; t < REC_TYPE_COUNT && rc == 0; t++)
            rc = mb_ensure_listed(m, c, ext, t);
    }
    if (rc < 0)
        return rc;
    pthread_rwlock_rdlock(&m->lock);
    if (folder == MB_FOLDER_CONVERSATIONS)
        snapshot(m, &m->exts[ext].convs, true, out);
    else
        snapshot(m, &m->exts[ext].folder[folder], false, out);
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

int mb_conv_list(struct mb *m, uint32_t conv, struct mb_listing *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&m->lock);
    if (conv >= m->n_convs) {
        pthread_rwlock_unlock(&m->lock);
        return -ENOENT;
    }
    snapshot(m, &m->convs[conv]->members, false, out);
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

void mb_listing_free(struct mb_listing *l)
{
    free(l->ids);
    free(l->names);
    l->ids = NULL;
    l->names = NULL;
    l->n = 0;
}

/* The id at the end of a message folder name, or 0. */
static uint64_t id_of_name(const char *name)
{
    const char *p = strrchr(name, '_');
    if (!p || !p[1] || strlen(p + 1) > 20)
        return 0;
    uint64_t v = 0;
    for (p++; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return v;
}

int mb_folder_lookup(struct mb *m, const struct api_call *c, uint32_t ext, int folder,
                     const char *name, uint32_t *slot)
{
    uint64_t id = id_of_name(name);
    if (!id || ext >= m->n_ext || folder < 0 || folder > MB_FOLDER_DELETED)
        return -ENOENT;
    /* A name whose id we already know needs no listing; otherwise list the
     * folder(s) first (a lookup may come before any readdir). */
    pthread_rwlock_rdlock(&m->lock);
    struct mb_msg *msg = mb_find_id(m, ext, id);
    pthread_rwlock_unlock(&m->lock);
    if (!msg) {
        struct mb_listing l;
        int rc = mb_folder_list(m, c, ext, folder, &l);
        if (rc < 0)
            return rc;
        mb_listing_free(&l);
        pthread_rwlock_rdlock(&m->lock);
        msg = mb_find_id(m, ext, id);
        pthread_rwlock_unlock(&m->lock);
        if (!msg)
            return -ENOENT;
    }
    int rc = -ENOENT;
    pthread_rwlock_rdlock(&m->lock);
    if (strcmp(msg->name, name) == 0) {
        if (msg->in_folder && folder_for(msg, msg->availability) == folder)
            rc = 0;
        else if (msg->removed_via == folder + 1 &&
                 isotime_mono_ms() - msg->removed_at < MB_REMOVAL_GRACE_MS)
            rc = 0;
    }
    pthread_rwlock_unlock(&m->lock);
    if (rc == 0)
        *slot = msg->slot;
    return rc;
}

int mb_conv_lookup(struct mb *m, const struct api_call *c, uint32_t ext, const char *name,
                   uint32_t *conv)
{
    struct mb_listing l;
    int rc = mb_folder_list(m, c, ext, MB_FOLDER_CONVERSATIONS, &l);
    if (rc < 0)
        return rc;
    mb_listing_free(&l);
    const char *p = strrchr(name, '_');
    if (!p)
        return -ENOENT;
    rc = -ENOENT;
    pthread_rwlock_rdlock(&m->lock);
    struct mb_conv *cv = conv_find(m, ext, p + 1);
    if (cv && strcmp(cv->name, name) == 0 &&
        (cv->listed || isotime_mono_ms() - cv->emptied_at < MB_REMOVAL_GRACE_MS)) {
        *conv = cv->num;
        rc = 0;
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

int mb_conv_remove(struct mb *m, uint32_t ext, const char *name)
{
    const char *p = strrchr(name, '_');
    if (!p || ext >= m->n_ext)
        return -ENOENT;
    int rc = -ENOENT;
    pthread_rwlock_wrlock(&m->lock);
    struct mb_conv *cv = conv_find(m, ext, p + 1);
    if (cv && strcmp(cv->name, name) == 0) {
        if (cv->members.n)
            rc = -ENOTEMPTY;
        else if (cv->listed || isotime_mono_ms() - cv->emptied_at < MB_REMOVAL_GRACE_MS) {
            cv->emptied_at = 0; /* gone for good */
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

int mb_conv_member(struct mb *m, uint32_t conv, const char *name, uint32_t *slot)
{
    int rc = -ENOENT;
    uint64_t id = id_of_name(name);
    pthread_rwlock_rdlock(&m->lock);
    if (conv < m->n_convs && id) {
        struct mb_conv *cv = m->convs[conv];
        struct mb_msg *msg = mb_find_id(m, cv->ext, id);
        if (msg && msg->conv == conv && strcmp(msg->name, name) == 0) {
            for (uint32_t i = 0; i < cv->members.n; i++) {
                if (cv->members.v[i] == msg->slot) {
                    *slot = msg->slot;
                    rc = 0;
                    break;
                }
            }
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

/* ---- messages ------------------------------------------------------------------------------ */

int mb_msg_info(struct mb *m, uint32_t slot, struct mb_msg_info *out)
{
    pthread_rwlock_rdlock(&m->lock);
    if (slot >= m->n_msgs) {
        pthread_rwlock_unlock(&m->lock);
        return -ENOENT;
    }
    const struct mb_msg *msg = m->msgs[slot];
    out->id = msg->id;
    out->ext = msg->ext;
    out->name = msg->name;
    out->type = msg->type;
    out->direction = msg->direction;
    out->availability = msg->availability;
    out->read_status = msg->read_status;
    out->message_status = msg->msg_status ? msg->msg_status : "";
    out->creation_ms = msg->creation_ms;
    out->modified_ms = msg->modified_ms;
    out->meta_len = msg->rec.len;
    out->gen = msg->gen;
    out->conv = msg->conv;
    out->has_subject = msg->has_subject;
    out->n_att = msg->n_att;
    for (uint32_t k = 0; k < msg->n_att; k++) {
        out->att[k] = (struct mb_att_info){
            .name = msg->att[k].name,
            .size = msg->att[k].size,
            .type = msg->att[k].type,
            .content_type = msg->att[k].content_type,
        };
    }
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

int64_t mb_created_ms(struct mb *m)
{
    return m->created_ms;
}

uint64_t mb_att_id(struct mb *m, uint32_t slot, uint32_t k)
{
    uint64_t id = 0;
    pthread_rwlock_rdlock(&m->lock);
    if (slot < m->n_msgs && k < m->msgs[slot]->n_att)
        id = m->msgs[slot]->att[k].id;
    pthread_rwlock_unlock(&m->lock);
    return id;
}

bool mb_offline(struct mb *m)
{
    pthread_mutex_lock(&m->wake_lock);
    bool r = m->offline;
    pthread_mutex_unlock(&m->wake_lock);
    return r;
}

void mb_get_stats(struct mb *m, struct mb_stats *out)
{
    pthread_rwlock_rdlock(&m->lock);
    out->messages = m->n_msgs;
    pthread_rwlock_unlock(&m->lock);
    out->cache_bytes = cobj_bytes(m->objects);
}

/*
 * mb_outbox — the Outbox's life (open, start, stop, free), its tables, and
 * the tree the filesystem shows: lookups, listings, attributes, recipient
 * folders (implements those parts of mb_outbox.h).
 *
 * The recipient folders and the owner's extension id are persisted in the
 * spool's meta file ("rcfs-outbox 1", "owner <id>", "rcpt <type> <cover>
 * <name>" lines), so an offline mount still shows the Outbox and its
 * pending files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox/mb_obx.h"
#include "mailbox/mb_obx_rules.h"
#include "util/cond.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

#define META_MAGIC "rcfs-outbox 1\n"

/* The type folders, in name order. */
static const enum rec_type TYPES[] = {REC_FAX, REC_PAGER, REC_SMS};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

static bool is_outbox_type(uint32_t t)
{
    return t == REC_FAX || t == REC_SMS || t == REC_PAGER;
}

/* ---- tables ------------------------------------------------------------------- */

struct obx_item *obx_item_at(struct mb_outbox *o, uint32_t id)
{
    return id < o->n_items ? o->items[id] : NULL;
}

struct obx_rcpt *obx_rcpt_at(struct mb_outbox *o, uint32_t id)
{
    return id < o->n_rcpts && !o->rcpts[id]->gone ? o->rcpts[id] : NULL;
}

struct obx_item *obx_item_named(struct mb_outbox *o, uint32_t rcpt, const char *name)
{
    for (uint32_t i = 0; i < o->n_items; i++) {
        struct obx_item *it = o->items[i];
        if (it->rcpt == rcpt && it->state != OBX_GONE && strcmp(it->name, name) == 0)
            return it;
    }
    return NULL;
}

struct obx_item *obx_item_new(struct mb_outbox *o, uint32_t rcpt, const char *name)
{
    if (o->n_items == o->cap_items) {
        o->cap_items = o->cap_items ? o->cap_items * 2 : 16;
        o->items = mem_reallocarray(o->items, o->cap_items, sizeof *o->items);
    }
    struct obx_item *it = mem_calloc(1, sizeof *it);
    it->id = o->n_items;
    it->rcpt = rcpt;
    it->r = o->rcpts[rcpt];
    it->name = mem_strdup(name);
    it->fd = -1;
    it->mtime_ms = isotime_now_ms();
    pthread_mutex_init(&it->io, NULL);
    o->items[o->n_items++] = it;
    return it;
}

static void retire(struct mb_outbox *o, const char *s)
{
    if (o->n_retired == o->cap_retired) {
        o->cap_retired = o->cap_retired ? o->cap_retired * 2 : 8;
        o->retired = mem_reallocarray(o->retired, o->cap_retired, sizeof *o->retired);
    }
    o->retired[o->n_retired++] = (char *)s;
}

void obx_item_rename(struct mb_outbox *o, struct obx_item *it, const char *name)
{
    retire(o, it->name);
    it->name = mem_strdup(name);
}

void obx_set_error(struct obx_item *it, const char *error)
{
    free(it->error);
    it->error = error ? mem_strdup(error) : NULL;
}

void obx_report_gone(struct mb *m, uint32_t rcpt, const char *name)
{
    if (m->o.events.outbox_gone)
        m->o.events.outbox_gone(m->o.events.ctx, rcpt, name);
}

static struct obx_rcpt *rcpt_new(struct mb_outbox *o, enum rec_type t, const char *name,
                                 const char *to, int cover)
{
    if (o->n_rcpts == o->cap_rcpts) {
        o->cap_rcpts = o->cap_rcpts ? o->cap_rcpts * 2 : 8;
        o->rcpts = mem_reallocarray(o->rcpts, o->cap_rcpts, sizeof *o->rcpts);
    }
    struct obx_rcpt *r = mem_calloc(1, sizeof *r);
    r->id = o->n_rcpts;
    r->type = (uint8_t)t;
    r->name = mem_strdup(name);
    snprintf(r->to, sizeof r->to, "%s", to);
    r->cover = cover;
    o->rcpts[o->n_rcpts++] = r;
    return r;
}

/* The recipient folder of type t called name (not removed), or NULL. */
static struct obx_rcpt *rcpt_named(struct mb_outbox *o, uint32_t t, const char *name)
{
    for (uint32_t i = 0; i < o->n_rcpts; i++)
        if (!o->rcpts[i]->gone && o->rcpts[i]->type == t && strcmp(o->rcpts[i]->name, name) == 0)
            return o->rcpts[i];
    return NULL;
}

/* ---- the meta file ------------------------------------------------------------ */

/* Persist the owner and the recipient folders (meta_lock serialises). */
int obx_save_meta(struct mb *m)
{
    struct mb_outbox *o = m->obx;
    mu_lock(&o->meta_lock, RANK_OBX_IO, "outbox meta");
    obx_lock(o);
    char *text = mem_printf("%sowner %" PRIu64 "\n", META_MAGIC, o->owner_id);
    for (uint32_t i = 0; i < o->n_rcpts; i++) {
        struct obx_rcpt *r = o->rcpts[i];
        if (r->gone)
            continue;
        char *more = mem_printf("%srcpt %d %d %s\n", text, r->type, r->cover, r->name);
        free(text);
        text = more;
    }
    obx_unlock(o);
    int rc = spool_meta_put(o->spool, text, strlen(text));
    mu_unlock(&o->meta_lock, RANK_OBX_IO);
    if (rc < 0)
        log_err("outbox: cannot save its folders: %s", strerror(-rc));
    free(text);
    return rc;
}

/* Read the meta file: the owner it names (0 if none) and its recipients. */
static uint64_t load_meta(struct mb_outbox *o)
{
    char *text;
    size_t len;
    uint64_t owner = 0;
    if (spool_meta_get(o->spool, &text, &len) < 0)
        return 0;
    if (strncmp(text, META_MAGIC, strlen(META_MAGIC)) != 0) {
        log_warn("outbox: its folder list is not one of ours; starting an empty one");
        free(text);
        return 0;
    }
    char *save = NULL;
    for (char *line = strtok_r(text + strlen(META_MAGIC), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int type, cover, used = 0;
        char to[24];
        if (sscanf(line, "owner %" SCNu64, &owner) == 1)
            continue;
        if (sscanf(line, "rcpt %d %d %n", &type, &cover, &used) == 2 && used > 0 &&
            is_outbox_type((uint32_t)type) && cover >= -1 &&
            obxr_recipient((enum rec_type)type, line + used, to, sizeof to) == 0 &&
            !rcpt_named(o, (uint32_t)type, line + used))
            rcpt_new(o, (enum rec_type)type, line + used, to, cover);
        else
            log_warn("outbox: a line of its folder list is not understood; skipped");
    }
    free(text);
    return owner;
}

/* The items of the journal's records (recipient folders made as needed). */
static void load_items(struct mb_outbox *o)
{
    struct spool_rec *v;
    size_t n;
    if (spool_load(o->spool, &v, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct spool_rec *r = &v[i];
        char to[24];
        bool ok = is_outbox_type((uint32_t)r->kind) && r->state >= OBX_QUEUED &&
                  r->state <= OBX_FAILED && r->folder && r->name && r->name[0] &&
                  !strchr(r->name, '/') &&
                  obxr_recipient((enum rec_type)r->kind, r->folder, to, sizeof to) == 0;
        struct obx_rcpt *rc = ok ? rcpt_named(o, (uint32_t)r->kind, r->folder) : NULL;
        if (ok && !rc)
            rc = rcpt_new(o, (enum rec_type)r->kind, r->folder, to, -1);
        if (!ok) {
            log_err("outbox: journal entry %016" PRIx64 " is not usable; left alone", r->jid);
            spool_rec_free(r);
            continue;
        }
        char *name = obx_item_named(o, rc->id, r->name)
                         ? mem_printf("%s (%016" PRIx64 ")", r->name, r->jid)
                         : mem_strdup(r->name);
        struct obx_item *it = obx_item_new(o, rc->id, name);
        free(name);
        it->rec = *r; /* taken */
        it->state = (uint8_t)r->state;
        it->size = (int64_t)r->size;
        it->mtime_ms = r->created_ms;
        it->poll_ms = OBX_POLL_FIRST_MS;
        it->error = r->error ? mem_strdup(r->error) : NULL;
        log_info("outbox: %s/%s is %s", rc->name, it->name,
                 it->state == OBX_SENDING ? "being reconciled (its outcome is not known)"
                                          : "pending");
    }
    free(v);
}

/* ---- life --------------------------------------------------------------------- */

int outbox_open(struct mb *m, const struct mb_config *cfg, char *err, size_t errlen)
{
    struct mb_outbox *o = mem_calloc(1, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_mutex_init(&o->meta_lock, NULL);
    cond_init_mono(&o->cond);
    o->ext = MB_NONE;
    o->fax_cover = cfg->fax_cover;
    o->sms_from_opt = cfg->sms_from && cfg->sms_from[0] ? mem_strdup(cfg->sms_from) : NULL;
    m->obx = o;
    char *dir = mem_printf("%s/outbox", m->ps.state_dir);
    if (!cfg->outbox) {
        if (spool_has_sends(dir))
            log_info("outbox: off in this mount (outbox=off); the sends pending in it wait for "
                     "a mount with outbox=on");
        free(dir);
        return 0;
    }
    int rc = spool_open(dir, &o->spool);
    free(dir);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open the Outbox's folder: %s", strerror(-rc));
        return rc;
    }
    uint64_t saved = load_meta(o);
    uint64_t owner = api_owner_id(m->o.api);
    o->owner_id = owner ? owner : saved;
    for (uint32_t e = 0; e < m->ix.n_ext; e++)
        if (o->owner_id && m->ix.exts[e].id == o->owner_id)
            o->ext = e;
    load_items(o);
    if (owner && owner != saved)
        obx_save_meta(m);
    if (o->ext == MB_NONE && o->n_items)
        log_warn("outbox: its extension is not known: %u pending files wait", o->n_items);
    return 0;
}

bool mb_outbox_ext(struct mb *m, uint32_t *ext)
{
    struct mb_outbox *o = m->obx;
    if (!o || o->ext == MB_NONE || atomic_load(&m->ix.exts[o->ext].hidden))
        return false;
    *ext = o->ext;
    return true;
}

void outbox_free(struct mb *m)
{
    struct mb_outbox *o = m->obx;
    if (!o)
        return;
    outbox_stop(m);
    for (uint32_t i = 0; i < o->n_items; i++) {
        struct obx_item *it = o->items[i];
        if (it->fd >= 0)
            close(it->fd);
        pthread_mutex_destroy(&it->io);
        free((char *)it->name);
        free(it->error);
        spool_rec_free(&it->rec);
        free(it);
    }
    for (uint32_t i = 0; i < o->n_rcpts; i++) {
        free((char *)o->rcpts[i]->name);
        free(o->rcpts[i]);
    }
    for (uint32_t i = 0; i < o->n_retired; i++)
        free(o->retired[i]);
    free(o->items);
    free(o->rcpts);
    free(o->retired);
    free(o->covers);
    free(o->cover_ids);
    free(o->sms_from_opt);
    spool_close(o->spool);
    pthread_mutex_destroy(&o->lock);
    pthread_mutex_destroy(&o->meta_lock);
    pthread_cond_destroy(&o->cond);
    free(o);
    m->obx = NULL;
}

/* ---- the tree ------------------------------------------------------------------ */

static void add(struct mb_obx_listing *l, uint32_t *cap, const char *name, int kind, uint32_t id)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        l->e = mem_reallocarray(l->e, *cap, sizeof *l->e);
    }
    l->e[l->n++] = (struct mb_obx_entry){.name = name, .kind = kind, .id = id};
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct mb_obx_entry *)a)->name, ((const struct mb_obx_entry *)b)->name);
}

int mb_outbox_list(struct mb *m, int kind, uint32_t id, struct mb_obx_listing *out)
{
    struct mb_outbox *o = m->obx;
    uint32_t cap = 0;
    int rc = 0;
    memset(out, 0, sizeof *out);
    obx_lock(o);
    if (kind == MB_OBX_ROOT) {
        for (size_t i = 0; i < N_TYPES; i++)
            add(out, &cap, mb_folder_name(TYPES[i]), MB_OBX_TYPE, TYPES[i]);
    } else if (kind == MB_OBX_TYPE && is_outbox_type(id)) {
        if (id == REC_FAX)
            add(out, &cap, MB_OBX_COVERS_NAME, MB_OBX_COVERS, 0);
        for (uint32_t i = 0; i < o->n_rcpts; i++)
            if (!o->rcpts[i]->gone && o->rcpts[i]->type == id)
                add(out, &cap, o->rcpts[i]->name, MB_OBX_RCPT, i);
    } else if (kind == MB_OBX_RCPT && obx_rcpt_at(o, id)) {
        for (uint32_t i = 0; i < o->n_items; i++)
            if (o->items[i]->rcpt == id && o->items[i]->state != OBX_GONE)
                add(out, &cap, o->items[i]->name, MB_OBX_ITEM, i);
    } else {
        rc = kind == MB_OBX_RCPT ? -ENOENT : -ENOTDIR;
    }
    obx_unlock(o);
    if (rc < 0) {
        mb_outbox_listing_free(out);
        return rc;
    }
    if (out->n > 1)
        qsort(out->e, out->n, sizeof *out->e, cmp_entry);
    return 0;
}

void mb_outbox_listing_free(struct mb_obx_listing *l)
{
    free(l->e);
    memset(l, 0, sizeof *l);
}

int mb_outbox_lookup(struct mb *m, int kind, uint32_t id, const char *name, int *ckind,
                     uint32_t *cid)
{
    struct mb_outbox *o = m->obx;
    int rc = -ENOENT;
    obx_lock(o);
    if (kind == MB_OBX_ROOT) {
        for (size_t i = 0; i < N_TYPES; i++)
            if (strcmp(name, mb_folder_name(TYPES[i])) == 0) {
                *ckind = MB_OBX_TYPE;
                *cid = TYPES[i];
                rc = 0;
            }
    } else if (kind == MB_OBX_TYPE && is_outbox_type(id)) {
        struct obx_rcpt *r = rcpt_named(o, id, name);
        if (id == REC_FAX && strcmp(name, MB_OBX_COVERS_NAME) == 0) {
            *ckind = MB_OBX_COVERS;
            *cid = 0;
            rc = 0;
        } else if (r) {
            *ckind = MB_OBX_RCPT;
            *cid = r->id;
            rc = 0;
        }
    } else if (kind == MB_OBX_RCPT && obx_rcpt_at(o, id)) {
        struct obx_item *it = obx_item_named(o, id, name);
        if (it) {
            *ckind = MB_OBX_ITEM;
            *cid = it->id;
            rc = 0;
        }
    } else if (kind != MB_OBX_RCPT) {
        rc = -ENOTDIR;
    }
    obx_unlock(o);
    return rc;
}

int mb_outbox_info(struct mb *m, int kind, uint32_t id, struct mb_obx_info *out)
{
    struct mb_outbox *o = m->obx;
    int rc = 0;
    memset(out, 0, sizeof *out);
    obx_lock(o);
    switch (kind) {
    case MB_OBX_ROOT:
        out->is_dir = true;
        break;
    case MB_OBX_TYPE:
        out->is_dir = true;
        rc = is_outbox_type(id) ? 0 : -ENOENT;
        break;
    case MB_OBX_RCPT:
        out->is_dir = true;
        rc = obx_rcpt_at(o, id) ? 0 : -ENOENT;
        break;
    case MB_OBX_COVERS:
        out->size = o->covers ? (int64_t)o->covers_len : -1;
        break;
    case MB_OBX_ITEM: {
        struct obx_item *it = obx_item_at(o, id);
        if (!it || it->state == OBX_GONE) {
            rc = -ENOENT;
            break;
        }
        out->size = it->size;
        out->mtime_ms = it->mtime_ms;
        break;
    }
    default:
        rc = -ENOENT;
    }
    obx_unlock(o);
    return rc;
}

int mb_outbox_mkdir(struct mb *m, uint32_t type, const char *name, uint32_t *id)
{
    struct mb_outbox *o = m->obx;
    char to[24];
    if (!is_outbox_type(type))
        return -EACCES;
    if (obxr_recipient((enum rec_type)type, name, to, sizeof to) < 0)
        return -EINVAL;
    obx_lock(o);
    if (rcpt_named(o, type, name)) {
        obx_unlock(o);
        return -EEXIST;
    }
    struct obx_rcpt *r = rcpt_new(o, (enum rec_type)type, name, to, -1);
    *id = r->id;
    obx_unlock(o);
    int rc = obx_save_meta(m);
    if (rc < 0) {
        obx_lock(o);
        r->gone = true;
        obx_unlock(o);
        return rc == -ENOSPC ? rc : -EIO;
    }
    log_info("outbox: %s/%s made", mb_folder_name(type), name);
    return 0;
}

int mb_outbox_rmdir(struct mb *m, uint32_t type, const char *name)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    struct obx_rcpt *r = is_outbox_type(type) ? rcpt_named(o, type, name) : NULL;
    int rc = r ? 0 : -ENOENT;
    for (uint32_t i = 0; r && i < o->n_items; i++)
        if (o->items[i]->rcpt == r->id && o->items[i]->state != OBX_GONE)
            rc = -ENOTEMPTY;
    if (rc == 0)
        r->gone = true;
    obx_unlock(o);
    if (rc == 0 && obx_save_meta(m) < 0)
        log_warn("outbox: %s/%s removed, but it may come back at the next mount",
                 mb_folder_name(type), name);
    return rc;
}

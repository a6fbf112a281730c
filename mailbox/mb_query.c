/*
 * mb_query — what the filesystem reads from the index: extensions, folder
 * listings, lookups by name, message state (implements those parts of mb.h).
 *
 * Only folder listings and lookups may talk to the server, to list a
 * folder that was never listed; everything else answers from memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "mailbox/mb_conv.h"
#include "mailbox/mb_fetch.h"
#include "mailbox/mb_index.h"
#include "mailbox/mb_internal.h"
#include "mailbox/mb_net.h"
#include "mailbox/mb_place.h"
#include "util/isotime.h"
#include "util/mem.h"

/* ---- extensions ------------------------------------------------------------------ */

uint32_t mb_ext_count(struct mb *m)
{
    return m->ix.n_ext;
}

static bool ext_shown(struct mb *m, uint32_t ext)
{
    return ext < m->ix.n_ext && !atomic_load(&m->ix.exts[ext].hidden);
}

const char *mb_ext_name(struct mb *m, uint32_t ext)
{
    return ext_shown(m, ext) ? m->ix.exts[ext].name : NULL;
}

int mb_ext_find(struct mb *m, const char *name, uint32_t *ext)
{
    for (uint32_t i = 0; i < m->ix.n_ext; i++) {
        if (ext_shown(m, i) && strcmp(m->ix.exts[i].name, name) == 0) {
            *ext = i;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- listings ---------------------------------------------------------------------- */

static int cmp_msg_name(const void *a, const void *b, void *ctx)
{
    struct mb *m = ctx;
    return strcmp(m->ix.msgs[*(const uint32_t *)a]->name, m->ix.msgs[*(const uint32_t *)b]->name);
}

static int cmp_conv_name(const void *a, const void *b, void *ctx)
{
    struct mb *m = ctx;
    return strcmp(m->ix.convs[*(const uint32_t *)a]->name, m->ix.convs[*(const uint32_t *)b]->name);
}

/* Copy v into out sorted by name.  Index read lock held (the arrays may be
 * reallocated by a writer); the names themselves never change. */
static void snapshot(struct mb *m, const struct vec32 *v, bool convs, struct mb_listing *out)
{
    out->n = v->n;
    out->ids = mem_alloc((v->n ? v->n : 1) * sizeof *out->ids);
    if (v->n)
        memcpy(out->ids, v->v, v->n * sizeof *out->ids);
    qsort_r(out->ids, out->n, sizeof *out->ids, convs ? cmp_conv_name : cmp_msg_name, m);
    out->names = mem_alloc((v->n ? v->n : 1) * sizeof *out->names);
    for (uint32_t i = 0; i < out->n; i++)
        out->names[i] = convs ? m->ix.convs[out->ids[i]]->name : m->ix.msgs[out->ids[i]]->name;
}

bool mb_folder_listed(struct mb *m, uint32_t ext, int folder)
{
    return ext < m->ix.n_ext && idx_folder_listed(m, ext, folder);
}

/* List what folder needs: its type, or every type for Deleted/ and conversations/. */
static int ensure_folder(struct mb *m, const struct mb_call *c, uint32_t ext, int folder)
{
    if (c && c->local_only)
        return 0;
    struct api_call call = net_api_call(m, c);
    if (folder < REC_TYPE_COUNT)
        return fetch_ensure_listed(m, &call, ext, folder);
    int rc = 0;
    for (int t = 0; t < REC_TYPE_COUNT && rc == 0; t++)
        rc = fetch_ensure_listed(m, &call, ext, t);
    return rc;
}

int mb_folder_list(struct mb *m, const struct mb_call *c, uint32_t ext, int folder,
                   struct mb_listing *out)
{
    memset(out, 0, sizeof *out);
    if (!ext_shown(m, ext) || folder < 0 || folder >= MB_FOLDER_COUNT)
        return -ENOENT;
    int rc = ensure_folder(m, c, ext, folder);
    if (rc < 0)
        return rc;
    ix_rdlock(m);
    if (folder == MB_FOLDER_CONVERSATIONS)
        snapshot(m, &m->ix.exts[ext].convs, true, out);
    else if (folder == MB_FOLDER_UNREAD)
        snapshot(m, &m->ix.exts[ext].unread, false, out);
    else
        snapshot(m, &m->ix.exts[ext].folder[folder], false, out);
    ix_unlock(m);
    return 0;
}

int mb_conv_list(struct mb *m, uint32_t conv, struct mb_listing *out)
{
    memset(out, 0, sizeof *out);
    ix_rdlock(m);
    int rc = conv < m->ix.n_convs ? 0 : -ENOENT;
    if (rc == 0)
        snapshot(m, &m->ix.convs[conv]->members, false, out);
    ix_unlock(m);
    return rc;
}

void mb_listing_free(struct mb_listing *l)
{
    free(l->ids);
    free(l->names);
    l->ids = NULL;
    l->names = NULL;
    l->n = 0;
}

/* ---- lookups ------------------------------------------------------------------------ */

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

/* Is msg reachable as `name` in `folder`?  (Index lock held.) */
static bool reachable(const struct mb_msg *msg, int folder, const char *name, int64_t now)
{
    if (strcmp(msg->name, name) != 0)
        return false;
    if (msg->in_folder && place_folder_for(msg, msg->availability) == folder)
        return true;
    return msg->removed_via == folder + 1 && now - msg->removed_at < MB_REMOVAL_GRACE_MS;
}

int mb_folder_lookup(struct mb *m, const struct mb_call *c, uint32_t ext, int folder,
                     const char *name, uint32_t *slot)
{
    uint64_t id = id_of_name(name);
    if (!id || !ext_shown(m, ext) || folder < 0 || folder > MB_FOLDER_DELETED)
        return -ENOENT;
    /* A name whose id is known needs no listing; otherwise list the folder
     * first (a lookup may come before any readdir). */
    ix_rdlock(m);
    bool known = idx_find(m, ext, id) != NULL;
    ix_unlock(m);
    if (!known) {
        int rc = ensure_folder(m, c, ext, folder);
        if (rc < 0)
            return rc;
    }
    int rc = -ENOENT;
    ix_rdlock(m);
    struct mb_msg *msg = idx_find(m, ext, id);
    if (msg && reachable(msg, folder, name, isotime_mono_ms())) {
        *slot = msg->slot;
        rc = 0;
    }
    ix_unlock(m);
    return rc;
}

/* Find id in Deleted/ of any shown extension: 0 (found), -ENOENT (known
 * elsewhere: no need to list), or 1 (not known at all). */
static int find_deleted(struct mb *m, uint64_t id, const char *name, uint32_t *slot)
{
    int rc = 1;
    int64_t now = isotime_mono_ms();
    ix_rdlock(m);
    for (uint32_t e = 0; e < m->ix.n_ext && rc != 0; e++) {
        struct mb_msg *msg = ext_shown(m, e) ? idx_find(m, e, id) : NULL;
        if (msg && reachable(msg, MB_FOLDER_DELETED, name, now)) {
            *slot = msg->slot;
            rc = 0;
        } else if (msg) {
            rc = -ENOENT;
        }
    }
    ix_unlock(m);
    return rc;
}

int mb_trash_lookup(struct mb *m, const struct mb_call *c, const char *name, uint32_t *slot)
{
    uint64_t id = id_of_name(name);
    if (!id)
        return -ENOENT;
    int rc = find_deleted(m, id, name, slot);
    if (rc <= 0)
        return rc;
    /* Never seen: it may be in a Deleted/ not listed yet. */
    for (uint32_t e = 0; e < m->ix.n_ext; e++) {
        int r = ext_shown(m, e) ? ensure_folder(m, c, e, MB_FOLDER_DELETED) : 0;
        if (r < 0 && r != -ENOENT)
            return r;
    }
    rc = find_deleted(m, id, name, slot);
    return rc == 1 ? -ENOENT : rc;
}

int mb_unread_lookup(struct mb *m, const struct mb_call *c, uint32_t ext, const char *name,
                     uint32_t *slot)
{
    uint64_t id = id_of_name(name);
    if (!id || !ext_shown(m, ext))
        return -ENOENT;
    int rc = ensure_folder(m, c, ext, MB_FOLDER_UNREAD);
    if (rc < 0)
        return rc;
    rc = -ENOENT;
    ix_rdlock(m);
    struct mb_msg *msg = idx_find(m, ext, id);
    if (msg && msg->in_unread && strcmp(msg->name, name) == 0) {
        *slot = msg->slot;
        rc = 0;
    }
    ix_unlock(m);
    return rc;
}

/* The conversation named `name` of ext (index lock held), or NULL. */
static struct mb_conv *conv_by_name(struct mb *m, uint32_t ext, const char *name)
{
    const char *p = strrchr(name, '_');
    if (!p)
        return NULL;
    struct mb_conv *cv = conv_find(m, ext, p + 1);
    return cv && strcmp(cv->name, name) == 0 ? cv : NULL;
}

static bool conv_in_grace(const struct mb_conv *cv)
{
    return cv->emptied_at && isotime_mono_ms() - cv->emptied_at < MB_REMOVAL_GRACE_MS;
}

int mb_conv_lookup(struct mb *m, const struct mb_call *c, uint32_t ext, const char *name,
                   uint32_t *conv)
{
    if (!ext_shown(m, ext))
        return -ENOENT;
    int rc = ensure_folder(m, c, ext, MB_FOLDER_CONVERSATIONS);
    if (rc < 0)
        return rc;
    rc = -ENOENT;
    ix_rdlock(m);
    struct mb_conv *cv = conv_by_name(m, ext, name);
    if (cv && (cv->listed || conv_in_grace(cv))) {
        *conv = cv->num;
        rc = 0;
    }
    ix_unlock(m);
    return rc;
}

int mb_conv_remove(struct mb *m, uint32_t ext, const char *name)
{
    if (!ext_shown(m, ext))
        return -ENOENT;
    int rc = -ENOENT;
    ix_wrlock(m);
    struct mb_conv *cv = conv_by_name(m, ext, name);
    if (cv && cv->members.n) {
        rc = -ENOTEMPTY;
    } else if (cv && (cv->listed || conv_in_grace(cv))) {
        cv->emptied_at = 0; /* gone for good */
        rc = 0;
    }
    ix_unlock(m);
    return rc;
}

int mb_conv_where(struct mb *m, uint32_t conv, uint32_t *ext, const char **name)
{
    int rc = -ENOENT;
    ix_rdlock(m);
    if (conv < m->ix.n_convs) {
        *ext = m->ix.convs[conv]->ext;
        *name = m->ix.convs[conv]->name;
        rc = 0;
    }
    ix_unlock(m);
    return rc;
}

int mb_conv_member(struct mb *m, uint32_t conv, const char *name, uint32_t *slot)
{
    int rc = -ENOENT;
    uint64_t id = id_of_name(name);
    ix_rdlock(m);
    if (conv < m->ix.n_convs && id) {
        struct mb_conv *cv = m->ix.convs[conv];
        struct mb_msg *msg = idx_find(m, cv->ext, id);
        if (msg && msg->conv == conv && strcmp(msg->name, name) == 0 &&
            vec32_has(&cv->members, msg->slot)) {
            *slot = msg->slot;
            rc = 0;
        }
    }
    ix_unlock(m);
    return rc;
}

/* ---- messages ------------------------------------------------------------------------ */

static void copy_info(const struct mb_msg *msg, struct mb_msg_info *out)
{
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
}

int mb_msg_info(struct mb *m, uint32_t slot, struct mb_msg_info *out)
{
    int rc = 0;
    ix_rdlock(m);
    const struct mb_msg *msg = idx_msg(m, slot);
    if (!msg)
        rc = -ENOENT;
    else if (msg->availability == REC_PURGED &&
             !(msg->removed_via && isotime_mono_ms() - msg->removed_at < MB_REMOVAL_GRACE_MS))
        rc = -ENOENT;
    else
        copy_info(msg, out);
    ix_unlock(m);
    return rc;
}

uint64_t mb_att_id(struct mb *m, uint32_t slot, uint32_t k)
{
    uint64_t id = 0;
    ix_rdlock(m);
    const struct mb_msg *msg = idx_msg(m, slot);
    if (msg && k < msg->n_att)
        id = msg->att[k].id;
    ix_unlock(m);
    return id;
}

int64_t mb_created_ms(struct mb *m)
{
    return m->created_ms;
}

int mb_cache_statfs(struct mb *m, struct statvfs *out)
{
    return statvfs(cdir_objects(m->o.cache), out) == 0 ? 0 : -errno;
}

void mb_get_stats(struct mb *m, struct mb_stats *out)
{
    ix_rdlock(m);
    out->messages = m->ix.n_msgs;
    ix_unlock(m);
    out->cache_bytes = cobj_bytes(m->ps.objects);
}

/* mb_index — message storage, the id hash, attachment blocks (see mb_index.h). */
#include "mailbox/mb_index.h"

#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_uri.h"
#include "util/mem.h"

static uint64_t id_hash(uint32_t ext, uint64_t id)
{
    return ohash_mix(id ^ ((uint64_t)ext << 56) ^ ext);
}

static uint64_t slot_hash(void *ctx, uint32_t slot)
{
    struct mb *m = ctx;
    return id_hash(m->ix.msgs[slot]->ext, m->ix.msgs[slot]->id);
}

void idx_init(struct mb *m)
{
    ohash_init(&m->ix.ids, slot_hash, m);
}

struct mb_msg *idx_msg(struct mb *m, uint32_t slot)
{
    return slot < m->ix.n_msgs ? m->ix.msgs[slot] : NULL;
}

struct id_probe {
    struct mb *m;
    uint32_t ext;
    uint64_t id;
};

static bool id_match(const void *arg, uint32_t slot)
{
    const struct id_probe *p = arg;
    const struct mb_msg *msg = p->m->ix.msgs[slot];
    return msg->id == p->id && msg->ext == p->ext;
}

struct mb_msg *idx_find(struct mb *m, uint32_t ext, uint64_t id)
{
    struct id_probe p = {m, ext, id};
    uint32_t slot;
    return ohash_find(&m->ix.ids, id_hash(ext, id), id_match, &p, &slot) ? m->ix.msgs[slot] : NULL;
}

bool idx_folder_listed(struct mb *m, uint32_t ext, int folder)
{
    const struct mb_ext *e = &m->ix.exts[ext];
    if (folder < REC_TYPE_COUNT)
        return atomic_load(&e->list_state[folder]) == MB_LIST_DONE;
    for (int t = 0; t < REC_TYPE_COUNT; t++)
        if (atomic_load(&e->list_state[t]) != MB_LIST_DONE)
            return false;
    return true;
}

const char *idx_intern(struct mb *m, const char *s)
{
    struct mb_intern *t = &m->ix.strings;
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i], s) == 0)
            return t->v[i];
    if (t->n >= 512)
        return "application/octet-stream";
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->v = mem_reallocarray(t->v, t->cap, sizeof *t->v);
    }
    t->v[t->n] = mem_strdup(s);
    return t->v[t->n++];
}

/* The attachment block of a record of extension ext: entries and names in
 * one allocation.  names: precomputed (persisted) names, or NULL to build
 * them.  A full record (json set) gives the URI forms; one restored from
 * the snapshot has no URIs, and its attachments learn them when read. */
static struct mb_att *atts_build(struct mb *m, uint32_t ext, const struct rec *r,
                                 const char *const *names)
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
        const char *ct = r->att[k].content_type ? r->att[k].content_type : "";
        att[k] = (struct mb_att){
            .id = r->att[k].id,
            .size = r->att[k].size,
            .name = p,
            .content_type = idx_intern(m, ct),
            .type = (uint8_t)r->att[k].type,
            .uri_form =
                r->json ? uri_form_of(m, ext, r->att[k].uri, r->id, r->att[k].id) : URI_UNKNOWN,
        };
        p += l;
    }
    free(built);
    return att;
}

void idx_replace_atts(struct mb *m, struct mb_msg *msg, const struct rec *r)
{
    struct mb_att *old = msg->att;
    msg->att = atts_build(m, msg->ext, r, NULL);
    msg->n_att = (uint8_t)r->n_att;
    if (old) {
        struct mb_retired *ret = mem_alloc(sizeof *ret);
        ret->att = old;
        ret->next = m->ix.retired;
        m->ix.retired = ret;
    }
}

struct mb_msg *idx_create(struct mb *m, uint32_t ext, const struct rec *r, const char *name,
                          const char *const *att_names)
{
    char built[MBNAME_MAX];
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
    msg->att = atts_build(m, ext, r, att_names);
    msg->n_att = (uint8_t)r->n_att;

    struct mb_index *ix = &m->ix;
    if (ix->n_msgs == ix->cap_msgs) {
        ix->cap_msgs = ix->cap_msgs ? ix->cap_msgs * 2 : 1024;
        ix->msgs = mem_reallocarray(ix->msgs, ix->cap_msgs, sizeof *ix->msgs);
    }
    msg->slot = ix->n_msgs;
    ix->msgs[ix->n_msgs++] = msg;
    ohash_insert(&ix->ids, id_hash(ext, r->id), msg->slot);
    return msg;
}

static void clear_messages(struct mb_index *ix)
{
    for (uint32_t s = 0; s < ix->n_msgs; s++) {
        free(ix->msgs[s]->att);
        free(ix->msgs[s]);
    }
    free(ix->msgs);
    ix->msgs = NULL;
    ix->n_msgs = ix->cap_msgs = 0;
    ohash_free(&ix->ids);
    while (ix->retired) {
        struct mb_retired *r = ix->retired;
        ix->retired = r->next;
        free(r->att);
        free(r);
    }
}

static void clear_conversations(struct mb_index *ix)
{
    for (uint32_t i = 0; i < ix->n_convs; i++) {
        vec32_free(&ix->convs[i]->members);
        free((char *)ix->convs[i]->name);
        free(ix->convs[i]);
    }
    free(ix->convs);
    ix->convs = NULL;
    ix->n_convs = ix->cap_convs = 0;
    ohash_free(&ix->conv_ids);
}

void idx_clear(struct mb *m)
{
    struct mb_index *ix = &m->ix;
    clear_messages(ix);
    clear_conversations(ix);
    for (uint32_t i = 0; i < ix->n_ext; i++) {
        for (int f = 0; f <= REC_TYPE_COUNT; f++)
            vec32_free(&ix->exts[i].folder[f]);
        vec32_free(&ix->exts[i].convs);
        vec32_free(&ix->exts[i].unread);
        free(ix->exts[i].sync_token);
        for (uint32_t b = 0; b < ix->exts[i].n_uri_bases; b++)
            free(ix->exts[i].uri_bases[b]);
        free(ix->exts[i].uri_bases);
    }
    free(ix->exts);
    ix->exts = NULL;
    ix->n_ext = 0;
    for (uint32_t i = 0; i < ix->strings.n; i++)
        free(ix->strings.v[i]);
    free(ix->strings.v);
    ix->strings = (struct mb_intern){0};
}

/* mb_conv — the conversation registry (see mb_conv.h). */
#include "mailbox/mb_conv.h"

#include <stdio.h>
#include <string.h>

#include "mailbox/mb_index.h"
#include "util/isotime.h"
#include "util/mem.h"

static uint64_t conv_hash(uint32_t ext, const char *id)
{
    return ohash_str(id, ext);
}

static uint64_t num_hash(void *ctx, uint32_t num)
{
    struct mb *m = ctx;
    return conv_hash(m->ix.convs[num]->ext, m->ix.convs[num]->id);
}

void conv_init(struct mb *m)
{
    ohash_init(&m->ix.conv_ids, num_hash, m);
}

struct conv_probe {
    struct mb *m;
    uint32_t ext;
    const char *id;
};

static bool conv_match(const void *arg, uint32_t num)
{
    const struct conv_probe *p = arg;
    const struct mb_conv *cv = p->m->ix.convs[num];
    return cv->ext == p->ext && strcmp(cv->id, p->id) == 0;
}

struct mb_conv *conv_find(struct mb *m, uint32_t ext, const char *id)
{
    struct conv_probe p = {m, ext, id};
    uint32_t num;
    return ohash_find(&m->ix.conv_ids, conv_hash(ext, id), conv_match, &p, &num) ? m->ix.convs[num]
                                                                                 : NULL;
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

static struct mb_conv *conv_create(struct mb *m, uint32_t ext, const char *id, const char *msg_name)
{
    struct mb_index *ix = &m->ix;
    if (ix->n_convs == ix->cap_convs) {
        ix->cap_convs = ix->cap_convs ? ix->cap_convs * 2 : 64;
        ix->convs = mem_reallocarray(ix->convs, ix->cap_convs, sizeof *ix->convs);
    }
    char peer[MBNAME_MAX], name[MBNAME_MAX];
    peer_of_name(msg_name, peer);
    mbname_conversation(peer, id, name);
    struct mb_conv *cv = mem_calloc(1, sizeof *cv);
    cv->num = ix->n_convs;
    cv->ext = ext;
    snprintf(cv->id, sizeof cv->id, "%s", id);
    cv->name = mem_strdup(name);
    ix->convs[ix->n_convs++] = cv;
    ohash_insert(&ix->conv_ids, conv_hash(ext, cv->id), cv->num);
    return cv;
}

void conv_attach(struct mb *m, struct mb_msg *msg, const char *id)
{
    struct mb_conv *cv = conv_find(m, msg->ext, id);
    if (!cv)
        cv = conv_create(m, msg->ext, id, msg->name);
    msg->conv = cv->num;
}

void conv_update(struct mb *m, struct mb_msg *msg, bool alive, struct chg_batch *chg)
{
    if (msg->conv == MB_NONE)
        return;
    struct mb_conv *cv = m->ix.convs[msg->conv];
    struct mb_ext *e = &m->ix.exts[cv->ext];
    if (alive) {
        if (vec32_has(&cv->members, msg->slot))
            return;
        vec32_push(&cv->members, msg->slot);
        chg_add(chg, CHG_CONV, cv->num, 0, NULL);
        bool news = idx_folder_listed(m, cv->ext, MB_FOLDER_CONVERSATIONS);
        if (!cv->listed) {
            cv->listed = true;
            vec32_push(&e->convs, cv->num);
            chg_add(chg, CHG_FOLDER, cv->ext, MB_FOLDER_CONVERSATIONS, NULL);
            if (news)
                chg_add3(chg, CHG_ENTRY_NEW, cv->ext, MB_FOLDER_CONVERSATIONS, cv->num, cv->name);
        } else if (news) {
            chg_add3(chg, CHG_MEMBER_NEW, cv->num, 0, msg->slot, msg->name);
        }
    } else if (vec32_remove(&cv->members, msg->slot)) {
        chg_add3(chg, CHG_CONV, cv->num, 0, msg->slot, msg->name);
        if (cv->members.n == 0 && cv->listed) {
            cv->listed = false;
            cv->emptied_at = isotime_mono_ms();
            vec32_remove(&e->convs, cv->num);
            chg_add(chg, CHG_FOLDER, cv->ext, MB_FOLDER_CONVERSATIONS, NULL);
            chg_add3(chg, CHG_CONV_GONE, cv->ext, 0, cv->num, cv->name);
        }
    }
}

/* mb_place — folder membership (see mb_place.h). */
#include "mailbox/mb_place.h"

#include "mailbox/mb_conv.h"
#include "mailbox/mb_index.h"

int place_folder_for(const struct mb_msg *msg, enum rec_avail a)
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

/* Unread/ holds the Alive Unread messages: bring msg's membership in line. */
static void unread_sync(struct mb *m, struct mb_msg *msg, struct chg_batch *chg)
{
    bool want = msg->availability == REC_ALIVE && msg->read_status == REC_UNREAD;
    if (want == msg->in_unread)
        return;
    struct mb_ext *e = &m->ix.exts[msg->ext];
    msg->in_unread = want;
    chg_add(chg, CHG_FOLDER, msg->ext, MB_FOLDER_UNREAD, NULL);
    if (want) {
        vec32_push(&e->unread, msg->slot);
        if (idx_folder_listed(m, msg->ext, MB_FOLDER_UNREAD))
            chg_add3(chg, CHG_ENTRY_NEW, msg->ext, MB_FOLDER_UNREAD, msg->slot, msg->name);
    } else {
        vec32_remove(&e->unread, msg->slot);
        chg_add3(chg, CHG_ENTRY_GONE, msg->ext, MB_FOLDER_UNREAD, msg->slot, msg->name);
    }
}

void place_new(struct mb *m, struct mb_msg *msg, struct chg_batch *chg)
{
    int f = place_folder_for(msg, msg->availability);
    if (f < 0)
        return;
    vec32_push(&m->ix.exts[msg->ext].folder[f], msg->slot);
    msg->in_folder = true;
    chg_add(chg, CHG_FOLDER, msg->ext, (uint32_t)f, NULL);
    if (idx_folder_listed(m, msg->ext, f))
        chg_add3(chg, CHG_ENTRY_NEW, msg->ext, (uint32_t)f, msg->slot, msg->name);
    conv_update(m, msg, msg->availability == REC_ALIVE, chg);
    unread_sync(m, msg, chg);
}

static void unplace(struct mb *m, struct mb_msg *msg, struct chg_batch *chg)
{
    int f = place_folder_for(msg, msg->availability);
    if (f >= 0 && msg->in_folder) {
        vec32_remove(&m->ix.exts[msg->ext].folder[f], msg->slot);
        chg_add(chg, CHG_FOLDER, msg->ext, (uint32_t)f, NULL);
        chg_add3(chg, CHG_ENTRY_GONE, msg->ext, (uint32_t)f, msg->slot, msg->name);
    }
    msg->in_folder = false;
    conv_update(m, msg, false, chg);
}

void place_set_avail(struct mb *m, struct mb_msg *msg, enum rec_avail a, struct chg_batch *chg)
{
    if (msg->availability == a)
        return;
    unplace(m, msg, chg);
    msg->availability = (uint8_t)a;
    msg->gen++;
    place_new(m, msg, chg);
    unread_sync(m, msg, chg); /* Purged: place_new placed it nowhere */
    chg_add(chg, CHG_MESSAGE, msg->slot, 0, NULL);
    mb_touch(m);
}

void place_set_read(struct mb *m, struct mb_msg *msg, enum rec_read rs, struct chg_batch *chg)
{
    if (msg->read_status == rs)
        return;
    msg->read_status = (uint8_t)rs;
    if (msg->in_folder)
        unread_sync(m, msg, chg);
    chg_add(chg, CHG_MESSAGE, msg->slot, 0, NULL);
    mb_touch(m);
}

/* mb_place — folder membership (see mb_place.h). */
#include "mailbox/mb_place.h"

#include "mailbox/mb_conv.h"

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

void place_new(struct mb *m, struct mb_msg *msg, struct chg_batch *chg)
{
    int f = place_folder_for(msg, msg->availability);
    if (f < 0)
        return;
    vec32_push(&m->ix.exts[msg->ext].folder[f], msg->slot);
    msg->in_folder = true;
    chg_add(chg, CHG_FOLDER, msg->ext, (uint32_t)f, NULL);
    conv_update(m, msg, msg->availability == REC_ALIVE, chg);
}

static void unplace(struct mb *m, struct mb_msg *msg, struct chg_batch *chg)
{
    int f = place_folder_for(msg, msg->availability);
    if (f >= 0 && msg->in_folder) {
        vec32_remove(&m->ix.exts[msg->ext].folder[f], msg->slot);
        chg_add(chg, CHG_FOLDER, msg->ext, (uint32_t)f, NULL);
        chg_add(chg, CHG_ENTRY_GONE, msg->ext, (uint32_t)f, msg->name);
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
    chg_add(chg, CHG_MESSAGE, msg->slot, 0, NULL);
    mb_touch(m);
}

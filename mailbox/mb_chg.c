/* mb_chg — change reports (see mb_chg.h). */
#include "mailbox/mb_chg.h"

#include <stdlib.h>

#include "mailbox/mb_internal.h"
#include "util/mem.h"

void chg_add(struct chg_batch *b, enum chg_kind kind, uint32_t x, uint32_t y, const char *name)
{
    chg_add3(b, kind, x, y, 0, name);
}

void chg_add3(struct chg_batch *b, enum chg_kind kind, uint32_t x, uint32_t y, uint32_t z,
              const char *name)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->n; i++) {
        const struct chg *c = &b->v[i];
        if (c->kind == kind && c->a == x && c->b == y && c->c == z && c->name == name)
            return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->v = mem_reallocarray(b->v, b->cap, sizeof *b->v);
    }
    b->v[b->n++] = (struct chg){.kind = (uint8_t)kind, .a = x, .b = y, .c = z, .name = name};
}

static void deliver_one(const struct mb_events *e, const struct chg *c)
{
    switch (c->kind) {
    case CHG_FOLDER:
        if (e->folder_changed)
            e->folder_changed(e->ctx, c->a, (int)c->b);
        break;
    case CHG_ENTRY_GONE:
        if (e->entry_gone)
            e->entry_gone(e->ctx, c->a, (int)c->b, c->name, c->c);
        break;
    case CHG_MESSAGE:
        if (e->message_changed)
            e->message_changed(e->ctx, c->a);
        break;
    case CHG_CONV:
        if (e->conversation_changed)
            e->conversation_changed(e->ctx, c->a, c->name, c->c);
        break;
    case CHG_CONV_GONE:
        if (e->conversation_gone)
            e->conversation_gone(e->ctx, c->a, c->name, c->c);
        break;
    case CHG_EXT_GONE:
        if (e->extension_gone)
            e->extension_gone(e->ctx, c->a, c->name);
        break;
    case CHG_ENTRY_NEW:
        if (e->entry_new)
            e->entry_new(e->ctx, c->a, (int)c->b, c->name, c->c);
        break;
    case CHG_ARRIVED:
        if (e->message_arrived)
            e->message_arrived(e->ctx, c->a);
        break;
    case CHG_MEMBER_NEW:
        if (e->member_new)
            e->member_new(e->ctx, c->a, c->name, c->c);
        break;
    }
}

void chg_deliver(struct mb *m, struct chg_batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        deliver_one(&m->o.events, &b->v[i]);
    free(b->v);
    *b = (struct chg_batch){0};
}

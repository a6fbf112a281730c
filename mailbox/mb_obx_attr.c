/*
 * mb_obx_attr — what the Outbox tells and takes through attributes: the
 * status of files, the cover page of fax recipients, and cover-pages.txt
 * (implements those parts of mb_outbox.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_net.h"
#include "mailbox/mb_obx.h"
#include "util/log.h"
#include "util/mem.h"

#define X_STATUS "user.rc.status"
#define X_ERROR  "user.rc.error"
#define X_ID     "user.rc.id"
#define X_COVER  "user.rc.coverIndex"

/* The status a user sees (o->lock held). */
static const char *status_of(const struct obx_item *it)
{
    switch (it->state) {
    case OBX_DRAFT:
        return "Draft";
    case OBX_QUEUED:
        return "Queued";
    case OBX_SENDING:
        return "Sending";
    case OBX_ACCEPTED:
        return it->status[0] ? it->status : "Queued";
    case OBX_GONE:
        return it->sent ? "Sent" : NULL;
    default: /* FAILED, REFUSED */
        return "SendingFailed";
    }
}

/* The cover page a fax to r gets (o->lock held). */
static int cover_of(const struct mb_outbox *o, const struct obx_rcpt *r)
{
    return r->cover >= 0 ? r->cover : o->fax_cover;
}

int mb_outbox_getxattr(struct mb *m, int kind, uint32_t id, const char *name, char **val)
{
    struct mb_outbox *o = m->obx;
    int rc = -ENODATA;
    *val = NULL;
    obx_lock(o);
    if (kind == MB_OBX_ITEM && obx_item_at(o, id)) {
        struct obx_item *it = obx_item_at(o, id);
        if (strcmp(name, X_STATUS) == 0 && status_of(it))
            *val = mem_strdup(status_of(it));
        else if (strcmp(name, X_ERROR) == 0 && it->error)
            *val = mem_strdup(it->error);
        else if (strcmp(name, X_ID) == 0 && it->rec.msg_id && it->state != OBX_GONE)
            *val = mem_printf("%" PRIu64, it->rec.msg_id);
    } else if (kind == MB_OBX_RCPT && obx_rcpt_at(o, id)) {
        struct obx_rcpt *r = obx_rcpt_at(o, id);
        if (r->type == REC_FAX && strcmp(name, X_COVER) == 0)
            *val = mem_printf("%d", cover_of(o, r));
    }
    obx_unlock(o);
    if (*val)
        rc = 0;
    return rc;
}

static size_t put(char *buf, size_t cap, size_t len, const char *name)
{
    size_t l = strlen(name) + 1;
    if (len + l <= cap)
        memcpy(buf + len, name, l);
    return len + l;
}

size_t mb_outbox_listxattr(struct mb *m, int kind, uint32_t id, char *buf, size_t cap)
{
    struct mb_outbox *o = m->obx;
    size_t len = 0;
    obx_lock(o);
    struct obx_item *it = kind == MB_OBX_ITEM ? obx_item_at(o, id) : NULL;
    struct obx_rcpt *r = kind == MB_OBX_RCPT ? obx_rcpt_at(o, id) : NULL;
    if (it && status_of(it))
        len = put(buf, cap, len, X_STATUS);
    if (it && it->error)
        len = put(buf, cap, len, X_ERROR);
    if (it && it->rec.msg_id && it->state != OBX_GONE)
        len = put(buf, cap, len, X_ID);
    if (r && r->type == REC_FAX)
        len = put(buf, cap, len, X_COVER);
    obx_unlock(o);
    return len;
}

/* A cover page index as written: decimal digits, 0..1000000. */
static int parse_cover(const char *value, size_t size, int *out)
{
    int v = 0;
    while (size > 0 && (value[size - 1] == '\n' || value[size - 1] == '\0'))
        size--;
    if (size == 0 || size > 7)
        return -EINVAL;
    for (size_t i = 0; i < size; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -EINVAL;
        v = v * 10 + (value[i] - '0');
    }
    *out = v;
    return 0;
}

/* Is index one the server lists?  Fetches the list once. */
static int cover_exists(struct mb *m, const struct mb_call *c, int index)
{
    struct mb_outbox *o = m->obx;
    char *text;
    size_t len;
    if (index == 0)
        return 0; /* no cover page: always possible */
    int rc = mb_outbox_covers(m, c, &text, &len);
    if (rc < 0)
        return rc;
    free(text);
    rc = -EINVAL;
    obx_lock(o);
    for (size_t i = 0; i < o->n_cover_ids; i++)
        if (o->cover_ids[i] == index)
            rc = 0;
    obx_unlock(o);
    return rc;
}

static bool ours(const char *name)
{
    return strcmp(name, X_STATUS) == 0 || strcmp(name, X_ERROR) == 0 || strcmp(name, X_ID) == 0 ||
           strcmp(name, X_COVER) == 0;
}

/* Set the cover page of fax recipient id (-1: the mount's default). */
static int set_cover(struct mb *m, uint32_t id, int cover)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    struct obx_rcpt *r = obx_rcpt_at(o, id);
    int old = r ? r->cover : -1;
    if (r)
        r->cover = cover;
    obx_unlock(o);
    if (!r)
        return -ENOENT;
    int rc = obx_save_meta(m);
    if (rc < 0) {
        obx_lock(o);
        r->cover = old;
        obx_unlock(o);
        return -EIO;
    }
    return 0;
}

int mb_outbox_setxattr(struct mb *m, const struct mb_call *c, int kind, uint32_t id,
                       const char *name, const char *value, size_t size)
{
    struct mb_outbox *o = m->obx;
    int cover;
    obx_lock(o);
    struct obx_rcpt *r = kind == MB_OBX_RCPT ? obx_rcpt_at(o, id) : NULL;
    bool fax = r && r->type == REC_FAX;
    obx_unlock(o);
    if (!fax || strcmp(name, X_COVER) != 0)
        return ours(name) ? -EPERM : -ENOTSUP;
    if (parse_cover(value, size, &cover) < 0)
        return -EINVAL;
    int rc = cover_exists(m, c, cover);
    return rc < 0 ? rc : set_cover(m, id, cover);
}

int mb_outbox_removexattr(struct mb *m, int kind, uint32_t id, const char *name)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    struct obx_rcpt *r = kind == MB_OBX_RCPT ? obx_rcpt_at(o, id) : NULL;
    bool fax = r && r->type == REC_FAX;
    obx_unlock(o);
    if (fax && strcmp(name, X_COVER) == 0)
        return set_cover(m, id, -1);
    return ours(name) ? -EPERM : -ENODATA;
}

int mb_outbox_covers(struct mb *m, const struct mb_call *c, char **text, size_t *len)
{
    struct mb_outbox *o = m->obx;
    obx_lock(o);
    char *have = o->covers ? mem_strdup(o->covers) : NULL;
    *len = o->covers_len;
    obx_unlock(o);
    if (have) {
        *text = have;
        return 0;
    }
    if (mb_offline(m))
        return -EIO;
    struct api_call ac = net_api_call(m, c);
    struct api_cover_page *pages;
    size_t n;
    int rc = net_note(m, api_send_cover_pages(m->o.api, &ac, &pages, &n));
    if (rc < 0) {
        log_warn("outbox: the fax cover pages could not be read: %s", strerror(-rc));
        return rc == -ENOENT || rc == -EACCES ? rc : -EIO;
    }
    char *out = mem_strdup("");
    int *ids = mem_calloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        for (char *p = pages[i].name; *p; p++) /* one line each, whatever the server says */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        char *more = mem_printf("%s%d %s\n", out, pages[i].index, pages[i].name);
        free(out);
        out = more;
        ids[i] = pages[i].index;
    }
    free(pages);
    obx_lock(o);
    if (!o->covers) {
        o->covers = out;
        o->covers_len = strlen(out);
        o->cover_ids = ids;
        o->n_cover_ids = n;
        out = NULL;
        ids = NULL;
    }
    *text = mem_strdup(o->covers);
    *len = o->covers_len;
    obx_unlock(o);
    free(out);
    free(ids);
    return 0;
}

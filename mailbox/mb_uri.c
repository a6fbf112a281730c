/* mb_uri — attachment URIs kept in memory (see mb_uri.h). */
#include "mailbox/mb_uri.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/mem.h"

#define TAIL_FMT "/message-store/%" PRIu64 "/content/%" PRIu64

size_t uri_base_len(const char *uri, uint64_t msg_id, uint64_t att_id)
{
    char tail[80]; /* "/message-store/" 20 digits "/content/" 20 digits */
    int tl = snprintf(tail, sizeof tail, TAIL_FMT, msg_id, att_id);
    size_t ul = strlen(uri);
    if (tl <= 0 || (size_t)tl >= sizeof tail || ul <= (size_t)tl)
        return 0;
    return memcmp(uri + ul - (size_t)tl, tail, (size_t)tl) == 0 ? ul - (size_t)tl : 0;
}

uint8_t uri_form_of(struct mb *m, uint32_t ext, const char *uri, uint64_t msg_id, uint64_t att_id)
{
    if (!uri)
        return URI_NONE;
    size_t bl = uri_base_len(uri, msg_id, att_id);
    if (!bl)
        return URI_RECORD;
    struct mb_ext *e = &m->ix.exts[ext];
    for (uint32_t i = 0; i < e->n_uri_bases; i++)
        if (strncmp(e->uri_bases[i], uri, bl) == 0 && e->uri_bases[i][bl] == '\0')
            return (uint8_t)(i + 1);
    if (e->n_uri_bases >= URI_BASES_MAX)
        return URI_RECORD;
    e->uri_bases = mem_reallocarray(e->uri_bases, e->n_uri_bases + 1, sizeof *e->uri_bases);
    e->uri_bases[e->n_uri_bases++] = mem_strndup(uri, bl);
    return (uint8_t)e->n_uri_bases;
}

const char *uri_base(struct mb *m, uint32_t ext, uint8_t form)
{
    const struct mb_ext *e = &m->ix.exts[ext];
    return form >= 1 && form <= e->n_uri_bases ? e->uri_bases[form - 1] : NULL;
}

char *uri_build(const char *base, uint64_t msg_id, uint64_t att_id)
{
    return mem_printf("%s" TAIL_FMT, base, msg_id, att_id);
}

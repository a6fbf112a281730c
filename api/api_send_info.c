/*
 * api_send_info — the lookups of api_send.h: fax cover pages, the
 * extension's phone numbers, and the default SMS sender.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_page.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_send.h"
#include "util/log.h"
#include "util/mem.h"

/* A growing array of n elements of size sz. */
struct vec {
    void *v;
    size_t n, cap, sz;
};

static void *vec_push(struct vec *a)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->v = mem_reallocarray(a->v, a->cap, a->sz);
    }
    return (char *)a->v + a->sz * a->n++;
}

/* Copy a JSON string member into d (at most n-1 bytes); "" when absent. */
static void copy_str(struct json_object *o, const char *key, char *d, size_t n)
{
    struct json_object *v;

    d[0] = '\0';
    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        snprintf(d, n, "%s", json_object_get_string(v));
}

static int finish(int rc, struct vec *acc, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (rc != 0) {
        free(acc->v);
        return rc;
    }
    *out = acc->v ? acc->v : mem_calloc(1, acc->sz);
    *n = acc->n;
    return 0;
}

/* ---- cover pages ---------------------------------------------------------------- */

static int cover_record(void *ctx, struct json_object *o)
{
    struct api_cover_page *p, tmp;
    struct json_object *id;
    uint64_t v;

    if (!json_object_object_get_ex(o, "id", &id) || req_json_u64(id, &v) != 0 || v > 1000000) {
        log_warn("fax cover pages: an entry without a numeric id skipped");
        return 0;
    }
    tmp.index = (int)v;
    copy_str(o, "name", tmp.name, sizeof(tmp.name));
    p = vec_push(ctx);
    *p = tmp;
    return 0;
}

int api_send_cover_pages(struct api *a, const struct api_call *c, struct api_cover_page **out,
                         size_t *n)
{
    struct vec acc = {.sz = sizeof(struct api_cover_page)};
    char *url = mem_printf("%s/restapi/v1.0/dictionary/fax-cover-page?perPage=1000", a->server);
    int rc = page_walk(a, req_deadline(a, c), req_prio(c), url, PACE_LIGHT, cover_record, &acc);

    free(url);
    return finish(rc, &acc, (void **)out, n);
}

/* ---- phone numbers ---------------------------------------------------------------- */

static unsigned feature_bits(struct json_object *o)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"CallerId", API_PHONE_CALLER_ID},
                 {"SmsSender", API_PHONE_SMS},
                 {"A2PSmsSender", API_PHONE_A2P_SMS},
                 {"MmsSender", API_PHONE_MMS},
                 {"InternationalSmsSender", API_PHONE_INTL_SMS},
                 {"Delegated", API_PHONE_DELEGATED}};
    struct json_object *f;
    unsigned bits = 0;

    if (!json_object_object_get_ex(o, "features", &f) || !json_object_is_type(f, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(f); i++) {
        struct json_object *v = json_object_array_get_idx(f, i);
        if (!json_object_is_type(v, json_type_string))
            continue;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (strcmp(json_object_get_string(v), names[k].name) == 0)
                bits |= names[k].bit;
    }
    return bits;
}

static int number_record(void *ctx, struct json_object *o)
{
    struct api_phone_number e, *p;
    struct json_object *id;

    memset(&e, 0, sizeof(e));
    copy_str(o, "phoneNumber", e.number, sizeof(e.number));
    if (!e.number[0] || strspn(e.number, "+0123456789") != strlen(e.number)) {
        log_warn("phone numbers: an entry without a usable phoneNumber skipped");
        return 0;
    }
    if (json_object_object_get_ex(o, "id", &id))
        req_json_u64(id, &e.id);
    copy_str(o, "type", e.type, sizeof(e.type));
    copy_str(o, "usageType", e.usage_type, sizeof(e.usage_type));
    e.features = feature_bits(o);
    p = vec_push(ctx);
    *p = e;
    return 0;
}

int api_send_numbers(struct api *a, const struct api_call *c, struct api_phone_number **out,
                     size_t *n)
{
    struct vec acc = {.sz = sizeof(struct api_phone_number)};
    char *url = req_url(a, "extension/~/phone-number?perPage=1000");
    int rc = page_walk(a, req_deadline(a, c), req_prio(c), url, PACE_LIGHT, number_record, &acc);

    free(url);
    return finish(rc, &acc, (void **)out, n);
}

int api_send_sms_sender(struct api *a, const struct api_call *c, char *out, size_t outlen)
{
    struct api_phone_number *v;
    size_t n, i;
    int rc = api_send_numbers(a, c, &v, &n);

    if (rc != 0)
        return rc;
    for (i = 0; i < n && !(v[i].features & API_PHONE_SMS); i++)
        ;
    if (i == n)
        rc = -EACCES;
    else if (strlen(v[i].number) >= outlen)
        rc = -ENAMETOOLONG;
    else
        memcpy(out, v[i].number, strlen(v[i].number) + 1);
    free(v);
    return rc;
}

/*
 * api_ext — api_extensions: the extensions these credentials can read (see
 * api.h).
 */
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_page.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "util/log.h"
#include "util/mem.h"

/* Copy at most n-1 bytes of s into d without cutting a UTF-8 sequence. */
static void copy_utf8(char *d, size_t n, const char *s)
{
    size_t l = strlen(s);

    if (l >= n) {
        l = n - 1;
        while (l > 0 && ((unsigned char)s[l] & 0xc0) == 0x80)
            l--;
    }
    memcpy(d, s, l);
    d[l] = '\0';
}

/* One extension object into e; -EINVAL when it has no usable id. */
static int ext_from_json(struct json_object *o, struct api_ext *e)
{
    struct json_object *v;

    memset(e, 0, sizeof(*e));
    if (!json_object_object_get_ex(o, "id", &v) || req_json_u64(v, &e->id) != 0)
        return -EINVAL;
    if (json_object_object_get_ex(o, "extensionNumber", &v) &&
        json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t n = strlen(s);
        if (n > 0 && n < sizeof(e->number) &&
            strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*#+-") == n)
            memcpy(e->number, s, n + 1);
    }
    if (json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string))
        copy_utf8(e->name, sizeof(e->name), json_object_get_string(v));
    return 0;
}

struct ext_acc {
    struct api_ext *v; /* the array */
    size_t n, cap;     /* used, allocated */
};

/* One entry of the extension list: kept when Enabled with a valid id. */
static int ext_record(void *ctx, struct json_object *o)
{
    struct ext_acc *acc = ctx;
    struct json_object *st;
    struct api_ext e;

    if (!json_object_object_get_ex(o, "status", &st) ||
        !json_object_is_type(st, json_type_string) ||
        strcmp(json_object_get_string(st), "Enabled") != 0)
        return 0;
    if (ext_from_json(o, &e) != 0) {
        log_warn("extension list: an entry without a valid id skipped");
        return 0;
    }
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->v = mem_reallocarray(acc->v, acc->cap, sizeof(*acc->v));
    }
    acc->v[acc->n++] = e;
    return 0;
}

/* permissions.admin.enabled of an extension/~ answer; false when absent. */
static bool is_admin(struct json_object *me)
{
    struct json_object *perm, *admin, *enabled;

    return json_object_object_get_ex(me, "permissions", &perm) &&
           json_object_object_get_ex(perm, "admin", &admin) &&
           json_object_object_get_ex(admin, "enabled", &enabled) &&
           json_object_is_type(enabled, json_type_boolean) && json_object_get_boolean(enabled);
}

int ext_note_self(struct api *a, struct json_object *me)
{
    struct api_ext e;

    if (ext_from_json(me, &e) != 0)
        return -EIO;
    e.own = true;
    pthread_mutex_lock(&a->lock);
    a->self = e;
    a->self_admin = is_admin(me);
    a->self_known = true;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

/* The own extension and admin flag: remembered from api_login, else read now. */
static int self_get(struct api *a, int64_t deadline, enum api_prio prio, struct api_ext *self,
                    bool *admin)
{
    struct exec_res res;
    char *url;
    int rc = 0;

    pthread_mutex_lock(&a->lock);
    bool known = a->self_known;
    pthread_mutex_unlock(&a->lock);
    if (!known) {
        url = req_url(a, "extension/~");
        exec_res_init(&res);
        rc = req_get_object(a, deadline, prio, url, PACE_LIGHT, &res);
        free(url);
        if (rc == 0)
            rc = ext_note_self(a, res.json);
        exec_res_free(&res);
        if (rc != 0)
            return rc;
    }
    pthread_mutex_lock(&a->lock);
    *self = a->self;
    *admin = a->self_admin;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int api_extensions(struct api *a, const struct api_call *c, struct api_ext **out, size_t *n)
{
    int64_t deadline = req_deadline(a, c);
    struct ext_acc acc = {0};
    struct api_ext self;
    bool admin;
    char *url;
    int rc;

    *out = NULL;
    *n = 0;
    rc = self_get(a, deadline, req_prio(c), &self, &admin);
    if (rc != 0)
        return rc;
    if (admin) {
        url = req_url(a, "extension?perPage=1000");
        rc = page_walk(a, deadline, req_prio(c), url, PACE_MEDIUM, ext_record, &acc);
        free(url);
        if (rc == 0) {
            for (size_t i = 0; i < acc.n; i++)
                acc.v[i].own = acc.v[i].id == self.id;
            *out = acc.v ? acc.v : mem_calloc(1, sizeof(**out));
            *n = acc.n;
            return 0;
        }
        free(acc.v);
        if (rc != -EACCES)
            return rc;
        log_info("the extension list is forbidden (the app lacks ReadAccounts); "
                 "showing the own extension");
    } else {
        log_info("not an admin: only the own extension's messages can be read");
    }
    *out = mem_calloc(1, sizeof(**out));
    (*out)[0] = self;
    *n = 1;
    return 0;
}

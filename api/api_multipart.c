/* api_multipart — 207 answers, JSON array or multipart/mixed (see api_multipart.h). */
#include "api/api_multipart.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_wire.h"
#include "util/mem.h"

#define MP_BOUNDARY_MAX 200

void mp_list_free(struct mp_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        json_object_put(l->items[i].body);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Copy s (len bytes) into an item id if it is 1..20 decimal digits. */
static void set_id(struct mp_item *it, const char *s, size_t len)
{
    if (len == 0 || len > 20)
        return;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]))
            return;
    memcpy(it->resource_id, s, len);
    it->resource_id[len] = '\0';
}

static int get_status(struct json_object *o)
{
    struct json_object *v;
    int64_t s;

    if (!json_object_object_get_ex(o, "status", &v) || !json_object_is_type(v, json_type_int))
        return -1;
    s = json_object_get_int64(v);
    return s >= 100 && s <= 599 ? (int)s : -1;
}

static int parse_json_form(const char *body, size_t len, struct mp_list *out)
{
    struct json_object *root = wire_parse_json(body, len), *v;
    size_t n;

    if (!root || !json_object_is_type(root, json_type_array))
        goto bad;
    n = json_object_array_length(root);
    if (n > MP_MAX_ITEMS)
        goto bad;
    out->items = mem_calloc(n ? n : 1, sizeof(*out->items));
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(root, i);
        struct mp_item *it = &out->items[i];
        out->n++;
        if (!json_object_is_type(o, json_type_object) || (it->status = get_status(o)) < 0)
            goto bad;
        if (json_object_object_get_ex(o, "resourceId", &v) &&
            json_object_is_type(v, json_type_string))
            set_id(it, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        if (json_object_object_get_ex(o, "body", &v) && v)
            it->body = json_object_get(v);
    }
    json_object_put(root);
    return 0;
bad:
    json_object_put(root);
    mp_list_free(out);
    return -EIO;
}

/* The boundary parameter of a multipart Content-Type, into b. */
static int boundary_of(const char *ct, char *b, size_t blen)
{
    const char *p = ct;
    size_t n = 0;

    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        if (*p == '"') {
            const char *q = strchr(++p, '"');
            if (!q)
                return -EIO;
            n = (size_t)(q - p);
        } else {
            n = strcspn(p, "; \t");
        }
        if (n == 0 || n >= blen)
            return -EIO;
        memcpy(b, p, n);
        b[n] = '\0';
        return 0;
    }
    return -EIO;
}

/* Next line starting with delim at or after p; NULL when none. */
static const char *find_delim(const char *p, const char *end, const char *delim, size_t dlen)
{
    for (const char *s = p; s + dlen <= end; s++) {
        if ((s == p || s[-1] == '\n') && memcmp(s, delim, dlen) == 0 &&
            (s + dlen == end || strchr("\r\n- \t", s[dlen])))
            return s;
        s = memchr(s, '\n', (size_t)(end - s));
        if (!s)
            return NULL;
    }
    return NULL;
}

/* The JSON body of one part (text between its delimiter lines). */
static struct json_object *part_body(const char *p, const char *end)
{
    const char *s = p;

    /* headers end at the first empty line; a part may have none */
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t l;
        if (!nl)
            return NULL;
        l = (size_t)(nl - s);
        if (l == 0 || (l == 1 && s[0] == '\r')) {
            s = nl + 1;
            break;
        }
        if (s == p && (*s == '{' || *s == '['))
            break; /* no headers at all */
        s = nl + 1;
    }
    return wire_parse_json(s, (size_t)(end - s));
}

static int parse_mixed(const char *ct, const char *body, size_t len, struct mp_list *out)
{
    char b[MP_BOUNDARY_MAX + 3] = "--";
    const char *end = body + len, *d, *next;
    struct json_object **parts = NULL, *resp;
    size_t np = 0, dlen;
    int rc = -EIO;

    if (boundary_of(ct, b + 2, sizeof(b) - 2) != 0)
        return -EIO;
    dlen = strlen(b);
    d = find_delim(body, end, b, dlen);
    while (d) {
        const char *start = memchr(d, '\n', (size_t)(end - d)), *stop;
        if (d + dlen + 2 <= end && d[dlen] == '-' && d[dlen + 1] == '-')
            break; /* close delimiter */
        if (!start || np >= MP_MAX_ITEMS + 1)
            goto out;
        start++;
        next = find_delim(start, end, b, dlen);
        if (!next)
            goto out; /* a part must be closed */
        stop = next;
        if (stop > start && stop[-1] == '\n')
            stop--;
        if (stop > start && stop[-1] == '\r')
            stop--;
        parts = mem_reallocarray(parts, np + 1, sizeof(*parts));
        parts[np] = part_body(start, stop);
        if (!parts[np++])
            goto out;
        d = next;
    }
    if (!d || np < 1)
        goto out;
    if (!json_object_object_get_ex(parts[0], "response", &resp) ||
        !json_object_is_type(resp, json_type_array) || json_object_array_length(resp) != np - 1)
        goto out;
    out->items = mem_calloc(np, sizeof(*out->items));
    for (size_t i = 0; i + 1 < np; i++) {
        struct json_object *s = json_object_array_get_idx(resp, i), *href;
        struct mp_item *it = &out->items[i];
        out->n++;
        if (!json_object_is_type(s, json_type_object) || (it->status = get_status(s)) < 0)
            goto out;
        if (json_object_object_get_ex(s, "href", &href) &&
            json_object_is_type(href, json_type_string)) {
            const char *h = json_object_get_string(href), *q = strchr(h, '?');
            size_t hl = q ? (size_t)(q - h) : strlen(h);
            const char *slash = h + hl;
            while (slash > h && slash[-1] != '/')
                slash--;
            set_id(it, slash, (size_t)(h + hl - slash));
        }
        it->body = parts[i + 1];
        parts[i + 1] = NULL;
    }
    rc = 0;
out:
    for (size_t i = 0; i < np; i++)
        json_object_put(parts[i]);
    free(parts);
    if (rc)
        mp_list_free(out);
    return rc;
}

int mp_parse(const char *content_type, const char *body, size_t len, struct mp_list *out)
{
    out->items = NULL;
    out->n = 0;
    if (!content_type || !body)
        return -EIO;
    if (wire_media_type_eq(content_type, "application/vnd.ringcentral.multipart+json") ||
        wire_media_type_eq(content_type, "application/json"))
        return parse_json_form(body, len, out);
    if (wire_media_type_eq(content_type, "multipart/mixed"))
        return parse_mixed(content_type, body, len, out);
    return -EIO;
}

/* api_secret — secrets that leave nothing behind (see api_secret.h). */
#include "api/api_secret.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

#define SECRET_JSON_DEPTH 64

char *secret_join(const char *first, ...)
{
    va_list ap;
    size_t n = 0;
    char *out, *o;

    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        n += strlen(s);
    va_end(ap);
    out = o = mem_alloc(n + 1);
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        size_t l = strlen(s);
        memcpy(o, s, l);
        o += l;
    }
    va_end(ap);
    *o = '\0';
    return out;
}

void secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

int secret_buf_append(struct buf *b, const void *p, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return -EFBIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *data;

        while (cap < b->len + n + 1)
            cap *= 2;
        data = mem_alloc(cap);
        if (b->data) {
            memcpy(data, b->data, b->len);
            explicit_bzero(b->data, b->cap);
            free(b->data);
        }
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void secret_buf_free(struct buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    buf_free(b);
}

struct json_object *secret_json_parse(const char *p, size_t len)
{
    struct json_tokener *tok;
    struct json_object *o;

    if (!p || len == 0 || len > INT32_MAX - 1)
        return NULL;
    tok = json_tokener_new_ex(SECRET_JSON_DEPTH);
    if (!tok)
        abort(); /* only fails when out of memory: the OOM policy */
    /* One allocation big enough for any string of the text: the tokener
     * then never grows (reallocs) its scratch buffer while it reads one. */
    if (printbuf_memset(tok->pb, 0, 0, (int)len + 1) < 0)
        abort();
    printbuf_reset(tok->pb);
    o = json_tokener_parse_ex(tok, p, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        secret_json_put(o);
        o = NULL;
    } else {
        for (size_t end = json_tokener_get_parse_end(tok); o && end < len; end++)
            if (p[end] != ' ' && p[end] != '\n' && p[end] != '\r' && p[end] != '\t') {
                secret_json_put(o);
                o = NULL;
            }
    }
    explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
    json_tokener_free(tok);
    return o;
}

/* Wipe the strings inside o (lock-free: o is private to the caller). */
static void wipe_strings(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_string:
        explicit_bzero((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
        break;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            wipe_strings(json_object_array_get_idx(o, i));
        break;
    case json_type_object: {
        struct json_object_iterator it = json_object_iter_begin(o);
        struct json_object_iterator end = json_object_iter_end(o);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
            wipe_strings(json_object_iter_peek_value(&it));
        break;
    }
    default:
        break;
    }
}

void secret_json_put(struct json_object *o)
{
    if (!o)
        return;
    wipe_strings(o);
    json_object_put(o);
}

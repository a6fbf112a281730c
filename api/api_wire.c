/* api_wire — header values and JSON bodies (see api_wire.h). */
#include "api/api_wire.h"

#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define JSON_MAX_DEPTH 64

/* The media type of t ("type/subtype", no parameters) as a length. */
static size_t media_len(const char **t)
{
    const char *s = *t, *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s;
    while (*e && *e != ';' && *e != ' ' && *e != '\t')
        e++;
    *t = s;
    return (size_t)(e - s);
}

bool wire_media_type_eq(const char *a, const char *b)
{
    size_t la, lb;

    if (!a || !b)
        return false;
    la = media_len(&a);
    lb = media_len(&b);
    return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

bool wire_media_type_is_json(const char *t)
{
    size_t n;

    if (!t)
        return false;
    n = media_len(&t);
    return (n == 16 && strncasecmp(t, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(t + n - 5, "+json", 5) == 0);
}

void wire_content_range(const char *v, int64_t *start, int64_t *end, int64_t *total)
{
    long long a, b;
    int used = 0;

    *start = *end = *total = -1;
    if (!v || strncasecmp(v, "bytes ", 6) != 0)
        return;
    v += 6;
    if (sscanf(v, "%lld-%lld/%n", &a, &b, &used) == 2 && used > 0 && a >= 0 && b >= a) {
        *start = a;
        *end = b;
        v += used;
    } else if (*v == '*' && v[1] == '/') {
        v += 2;
    } else {
        return;
    }
    if (isdigit((unsigned char)*v)) {
        char *e;
        long long t = strtoll(v, &e, 10);
        if (*e == '\0' && t >= 0)
            *total = t;
    }
}

int64_t wire_retry_after(const char *v)
{
    char *end;
    long long n;
    time_t t;

    if (!v)
        return -1;
    n = strtoll(v, &end, 10);
    if (end != v && *end == '\0' && n >= 0)
        return n;
    t = curl_getdate(v, NULL);
    if (t >= 0) {
        time_t now = time(NULL);
        return t > now ? (int64_t)(t - now) : 0;
    }
    return -1;
}

struct json_object *wire_parse_json(const char *p, size_t len)
{
    struct json_tokener *tok;
    struct json_object *o;
    size_t end;

    if (!p || len == 0 || len > INT32_MAX)
        return NULL;
    tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok)
        abort(); /* only fails when out of memory: the OOM policy */
    o = json_tokener_parse_ex(tok, p, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    } else {
        for (end = json_tokener_get_parse_end(tok); o && end < len; end++)
            if (p[end] != ' ' && p[end] != '\n' && p[end] != '\r' && p[end] != '\t') {
                json_object_put(o);
                o = NULL;
            }
    }
    json_tokener_free(tok);
    return o;
}

void wire_error_code(const char *ct, const char *body, size_t len, char *out, size_t outlen)
{
    struct json_object *o, *code;

    if (len == 0 || !wire_media_type_is_json(ct))
        return;
    o = wire_parse_json(body, len);
    if (o && json_object_object_get_ex(o, "errorCode", &code) &&
        json_object_is_type(code, json_type_string)) {
        const char *s = json_object_get_string(code);
        size_t n = strlen(s);
        bool ok = n > 0 && n < outlen;
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.';
        if (ok)
            memcpy(out, s, n + 1);
    }
    json_object_put(o);
}

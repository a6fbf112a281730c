/*
 * api_record_meta — check a record's whole tree and write meta.json, in one
 * walk (see recx_meta_write in api_record_priv.h).
 *
 * Doing both in one walk means a record that would give an invalid
 * meta.json is refused before anything else looks at it.  meta.json is
 * written here rather than by json-c's pretty printer because json-c 0.16
 * prints empty containers as "[\n  ]", and nothing promises its layout stays
 * the same from one release to the next; the text in the cache must not
 * change when the library does, or rsync would copy every meta.json again
 * after an upgrade.
 *
 * No static mutable state; json-c caches number text inside the object, so
 * one object must not be written from two threads at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/api_record_priv.h"
#include "util/buf.h"
#include "util/utf8.h"

/* True when s is a JSON number as RFC 8259 spells it.  json-c keeps the text
 * of a floating-point number as it was parsed and prints it back verbatim,
 * and its lenient tokener accepts "1." or "NaN", which must not reach
 * meta.json. */
static bool json_number_text(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

struct emit {
    struct buf *out;    /* meta.json so far, capped at RECX_META_MAX */
    struct recx_err *e; /* where a refusal is explained */
};

static int put(struct emit *x, const char *s, size_t n)
{
    if (buf_append(x->out, s, n) < 0)
        return recx_fail(x->e, "record: meta.json would exceed %d bytes", RECX_META_MAX);
    return 0;
}

static int puts_(struct emit *x, const char *s)
{
    return put(x, s, strlen(s));
}

static int indent(struct emit *x, int level)
{
    static const char spaces[] = "                                "; /* 32 = 2 * REC_MAX_DEPTH */
    _Static_assert(sizeof(spaces) - 1 >= 2 * REC_MAX_DEPTH, "indent table too short");
    return put(x, spaces, (size_t)level * 2);
}

/* Escape as JSON, the way json-c does (no "\/"), plus DEL so that
 * `cat meta.json` puts no raw control byte on a terminal. */
static int put_string(struct emit *x, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    int rc = put(x, "\"", 1);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *rep = NULL;

        if (c == '"')
            rep = "\\\"";
        else if (c == '\\')
            rep = "\\\\";
        else if (c == '\n')
            rep = "\\n";
        else if (c == '\r')
            rep = "\\r";
        else if (c == '\t')
            rep = "\\t";
        else if (c == '\b')
            rep = "\\b";
        else if (c == '\f')
            rep = "\\f";
        else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc[6] = '\0';
            rep = esc;
        }
        if (!rep) {
            run++;
            continue;
        }
        rc = put(x, s + i - run, run);
        run = 0;
        if (rc == 0)
            rc = puts_(x, rep);
    }
    if (rc == 0)
        rc = put(x, s + n - run, run);
    if (rc == 0)
        rc = put(x, "\"", 1);
    return rc;
}

static int check_string(struct emit *x, const char *s, size_t n, const char *what)
{
    char q[RECX_QUOTE_BUFSZ];
    if (n > REC_MAX_STRING)
        return recx_fail(x->e, "%s: longer than %d bytes", what, REC_MAX_STRING);
    if (!utf8_valid(s, n))
        return recx_fail(x->e, "%s: invalid UTF-8 in \"%s\"", what, recx_quote(s, n, q));
    return 0;
}

static int emit_value(struct emit *x, struct json_object *v, int level);

/* A number json-c parsed as an integer: printed from the value, not from
 * json-c's text, so it is exact for the whole int64 and uint64 ranges. */
static int emit_int(struct emit *x, struct json_object *v)
{
    char num[32];
    int64_t i = json_object_get_int64(v);

    if (i < 0)
        snprintf(num, sizeof(num), "%" PRId64, i);
    else
        snprintf(num, sizeof(num), "%" PRIu64, json_object_get_uint64(v));
    return puts_(x, num);
}

/* Any other number: as the server wrote it, when that is a finite JSON number. */
static int emit_double(struct emit *x, struct json_object *v)
{
    char q[RECX_QUOTE_BUFSZ];
    const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

    if (!t || !isfinite(json_object_get_double(v)) || !json_number_text(t))
        return recx_fail(x->e, "record: number \"%s\" is not a finite JSON number",
                         t ? recx_quote(t, strlen(t), q) : "?");
    return puts_(x, t);
}

static int emit_string(struct emit *x, struct json_object *v)
{
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    int rc = check_string(x, s, n, "record: string");

    return rc ? rc : put_string(x, s, n);
}

/* An array at nesting level `level`: "[]", or one element per line. */
static int emit_array(struct emit *x, struct json_object *v, int level)
{
    size_t n = json_object_array_length(v);
    int rc;

    if (n == 0)
        return puts_(x, "[]");
    rc = puts_(x, "[\n");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = indent(x, level + 1);
        if (rc == 0)
            rc = emit_value(x, json_object_array_get_idx(v, i), level + 1);
        if (rc == 0)
            rc = puts_(x, i + 1 < n ? ",\n" : "\n");
    }
    if (rc == 0)
        rc = indent(x, level);
    return rc ? rc : puts_(x, "]");
}

/* One "key": value line of an object (without its separator). */
static int emit_member(struct emit *x, const char *key, struct json_object *v, int level)
{
    int rc = indent(x, level + 1);

    if (rc == 0)
        rc = check_string(x, key, strlen(key), "record: key");
    if (rc == 0)
        rc = put_string(x, key, strlen(key));
    if (rc == 0)
        rc = puts_(x, ": ");
    return rc ? rc : emit_value(x, v, level + 1);
}

/* An object at nesting level `level`: "{}", or one member per line in the
 * server's order.  (The iterator API rather than json_object_object_foreach,
 * a GNU statement expression that clang -Wpedantic rejects.) */
static int emit_object(struct emit *x, struct json_object *v, int level)
{
    struct json_object_iterator it = json_object_iter_begin(v);
    struct json_object_iterator end = json_object_iter_end(v);
    int rc;

    if (json_object_object_length(v) == 0)
        return puts_(x, "{}");
    rc = puts_(x, "{\n");
    for (bool first = true; rc == 0 && !json_object_iter_equal(&it, &end); first = false) {
        if (!first)
            rc = puts_(x, ",\n");
        if (rc == 0)
            rc = emit_member(x, json_object_iter_peek_name(&it), json_object_iter_peek_value(&it),
                             level);
        json_object_iter_next(&it);
    }
    if (rc == 0)
        rc = puts_(x, "\n");
    if (rc == 0)
        rc = indent(x, level);
    return rc ? rc : puts_(x, "}");
}

/* Write v at nesting level `level` (the record object is level 0, so a
 * container at level L is nested L + 1 deep). */
static int emit_value(struct emit *x, struct json_object *v, int level)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return puts_(x, "null");
    case json_type_boolean:
        return puts_(x, json_object_get_boolean(v) ? "true" : "false");
    case json_type_int:
        return emit_int(x, v);
    case json_type_double:
        return emit_double(x, v);
    case json_type_string:
        return emit_string(x, v);
    case json_type_array:
    case json_type_object:
        if (level + 1 > REC_MAX_DEPTH)
            return recx_fail(x->e, "record: nested deeper than %d levels", REC_MAX_DEPTH);
        return json_object_is_type(v, json_type_array) ? emit_array(x, v, level)
                                                       : emit_object(x, v, level);
    default:
        return recx_fail(x->e, "record: unexpected JSON value");
    }
}

int recx_meta_write(struct json_object *obj, struct buf *out, struct recx_err *e)
{
    struct emit x = {.out = out, .e = e};
    int rc = emit_value(&x, obj, 0);

    return rc ? rc : put(&x, "\n", 1);
}

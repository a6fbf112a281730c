/*
 * api_record — parse and validate one message record (see api_record.h).
 *
 * The record object is first checked as a whole and written as meta.json
 * (api_record_meta.c); then the fields rcfs uses are read one by one, each
 * with its type checked.
 *
 * No static mutable state: every function is safe to call from any thread
 * (on distinct json objects; json-c caches number text inside the object).
 */
#include "api/api_record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "api/api_record_priv.h"
#include "util/buf.h"
#include "util/isotime.h"
#include "util/mem.h"

/* Record text larger than this is refused before parsing (json-c takes an
 * int length, and no honest record comes near it). */
#define TEXT_MAX (4 * 1024 * 1024)
/* Longest time string accepted ("2018-12-24T10:39:24.000+05:30" is 29). */
#define TIME_MAX 64

/* ---- field readers ---- */

/* The member `key` of o, or NULL when absent or JSON null (the API uses
 * both for "not given"). */
static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

/*
 * A string field: *out is the string (owned by the json object) or NULL when
 * absent.  Refuses another JSON type, embedded NUL, and more than max bytes.
 */
static int get_string(struct json_object *o, const char *key, size_t max, const char **out,
                      struct recx_err *e, const char *where)
{
    struct json_object *v = member(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return recx_fail(e, "%s%s: not a string", where, key);
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n > max)
        return recx_fail(e, "%s%s: longer than %zu bytes", where, key, max);
    if (strlen(s) != n)
        return recx_fail(e, "%s%s: contains a NUL character", where, key);
    *out = s;
    return 0;
}

/* Decimal digits only, within uint64.  Parsed by hand: strtoull accepts
 * signs, spaces and "0x", none of which is an id. */
static bool parse_decimal(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/*
 * An id: a JSON integer >= 0 or a string of decimal digits, within uint64.
 * json-c clamps an integer token beyond uint64 to UINT64_MAX without saying
 * so, so UINT64_MAX itself is refused in either form: it could be a clamp.
 * Doubles are refused, never rounded.
 */
static int get_id_value(struct json_object *v, uint64_t *out, struct recx_err *e, const char *what)
{
    char q[RECX_QUOTE_BUFSZ];
    uint64_t id;

    if (json_object_is_type(v, json_type_int)) {
        if (json_object_get_int64(v) < 0)
            return recx_fail(e, "%s: negative", what);
        id = json_object_get_uint64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        if (!parse_decimal(s, n, &id))
            return recx_fail(e, "%s: \"%s\" is not a decimal id", what, recx_quote(s, n, q));
    } else if (json_object_is_type(v, json_type_double)) {
        return recx_fail(e, "%s: a floating-point number, not an integer", what);
    } else {
        return recx_fail(e, "%s: not an integer or a decimal string", what);
    }
    if (id == UINT64_MAX)
        return recx_fail(e, "%s: out of range", what);
    *out = id;
    return 0;
}

/* A string field that must be one of names[]; *out untouched when absent
 * (so the caller's default stays). */
static int get_enum(struct json_object *o, const char *key, const char *const *names, size_t n,
                    bool required, int *out, struct recx_err *e, const char *where)
{
    char q[RECX_QUOTE_BUFSZ];
    const char *s;
    int rc = get_string(o, key, REC_MAX_STRING, &s, e, where);
    if (rc)
        return rc;
    if (!s)
        return required ? recx_fail(e, "%s%s: missing", where, key) : 0;
    int i = recx_lookup(s, names, n);
    if (i < 0)
        return recx_fail(e, "%s%s: unknown value \"%s\"", where, key, recx_quote(s, strlen(s), q));
    *out = i;
    return 0;
}

static int get_time(struct json_object *o, const char *key, bool required, int64_t *out,
                    struct recx_err *e)
{
    char q[RECX_QUOTE_BUFSZ];
    const char *s;
    int rc = get_string(o, key, TIME_MAX, &s, e, "");
    if (rc)
        return rc;
    if (!s)
        return required ? recx_fail(e, "%s: missing", key) : 0;
    if (isotime_parse(s, out) < 0)
        return recx_fail(e, "%s: \"%s\" is not an ISO 8601 UTC time", key,
                         recx_quote(s, strlen(s), q));
    return 0;
}

/* "type/subtype" lower-cased, parameters and blanks dropped; "" unless both
 * halves are RFC 7230 tokens of at most 127 bytes (RFC 6838's limit). */
static char *norm_content_type(const char *s)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    size_t n = strcspn(s, ";");
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    size_t slash = n, type_len = 0, sub_len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '/' && slash == n) {
            slash = i;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != '\0' && strchr(tchar, c));
        if (!ok)
            return mem_strdup("");
        if (slash == n)
            type_len++;
        else
            sub_len++;
    }
    if (type_len == 0 || sub_len == 0 || type_len > 127 || sub_len > 127)
        return mem_strdup("");
    char *out = mem_strndup(s, n);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

/* An absolute http(s) URL with a host, printable ASCII and no blanks: it is
 * handed to libcurl as is, so no CR/LF or space may ride along. */
static bool valid_uri(const char *s)
{
    size_t skip;
    if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (s[skip] == '\0' || s[skip] == '/')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

static int parse_attachment(struct json_object *a, size_t idx, struct rec_attachment *out,
                            struct recx_err *e)
{
    char where[48], what[64];
    const char *s;
    int rc;

    snprintf(where, sizeof(where), "attachments[%zu].", idx);
    if (!json_object_is_type(a, json_type_object))
        return recx_fail(e, "attachments[%zu]: not an object", idx);

    struct json_object *v = member(a, "id");
    if (!v)
        return recx_fail(e, "%sid: missing", where);
    snprintf(what, sizeof(what), "%sid", where);
    rc = get_id_value(v, &out->id, e, what);
    if (rc)
        return rc;

    rc = get_string(a, "type", REC_MAX_STRING, &s, e, where);
    if (rc)
        return rc;
    int t = s ? recx_lookup(s, recx_att_type_names, REC_ATT_OTHER) : -1;
    out->type = t < 0 ? REC_ATT_OTHER : (enum rec_att_type)t;

    out->size = -1;
    v = member(a, "size");
    if (v) {
        if (!json_object_is_type(v, json_type_int))
            return recx_fail(e, "%ssize: not an integer", where);
        int64_t size = json_object_get_int64(v);
        if (size < 0)
            return recx_fail(e, "%ssize: negative", where);
        out->size = size;
    }

    rc = get_string(a, "contentType", REC_MAX_STRING, &s, e, where);
    if (rc)
        return rc;
    out->content_type = norm_content_type(s ? s : "");

    rc = get_string(a, "fileName", REC_MAX_STRING, &s, e, where);
    if (rc)
        return rc;
    if (s)
        out->file_name = mem_strdup(s);

    rc = get_string(a, "uri", REC_MAX_URI, &s, e, where);
    if (rc)
        return rc;
    if (s) {
        char q[RECX_QUOTE_BUFSZ];
        if (!valid_uri(s))
            return recx_fail(e, "%suri: \"%s\" is not an absolute http(s) URL", where,
                             recx_quote(s, strlen(s), q));
        out->uri = mem_strdup(s);
    }
    return 0;
}

/* The first non-empty of phoneNumber, extensionNumber, name in party p;
 * *out NULL when none. */
static int party_peer(struct json_object *p, const char *where, const char **out,
                      struct recx_err *e)
{
    static const char *const keys[] = {"phoneNumber", "extensionNumber", "name"};
    *out = NULL;
    if (!p)
        return 0;
    if (!json_object_is_type(p, json_type_object))
        return recx_fail(e, "%s: not an object", where);
    char w[16];
    snprintf(w, sizeof(w), "%s.", where);
    for (size_t i = 0; i < RECX_COUNT(keys); i++) {
        const char *s;
        int rc = get_string(p, keys[i], REC_MAX_STRING, &s, e, w);
        if (rc)
            return rc;
        if (s && *s && !*out)
            *out = s;
    }
    return 0;
}

static int get_peer(struct json_object *obj, enum rec_dir dir, char **peer, struct recx_err *e)
{
    const char *s = NULL;
    int rc;
    if (dir == REC_INBOUND) {
        rc = party_peer(member(obj, "from"), "from", &s, e);
    } else {
        struct json_object *to = member(obj, "to");
        if (to && !json_object_is_type(to, json_type_array))
            return recx_fail(e, "to: not an array");
        struct json_object *first =
            to && json_object_array_length(to) > 0 ? json_object_array_get_idx(to, 0) : NULL;
        if (first && json_object_is_type(first, json_type_null))
            first = NULL;
        rc = party_peer(first, "to[0]", &s, e);
    }
    if (rc == 0 && s)
        *peer = mem_strdup(s);
    return rc;
}

/*
 * The conversation id, canonical decimal, or "" when there is none usable.
 * Lenient on purpose: a malformed conversation id costs the message its
 * conversation link, not its place in the tree.  conversation.id (a string)
 * wins: conversationId is a JSON number that some servers print after a
 * trip through a double (8234962969801172000 for 8234962969801171948).
 */
static void get_conversation(struct json_object *obj, char out[21])
{
    uint64_t v = 0;
    bool ok = false;
    struct json_object *c = member(obj, "conversation");
    struct json_object *id = c && json_object_is_type(c, json_type_object) ? member(c, "id") : NULL;

    out[0] = '\0';
    if (id && json_object_is_type(id, json_type_string)) {
        size_t n = (size_t)json_object_get_string_len(id);
        ok = n <= 20 && parse_decimal(json_object_get_string(id), n, &v);
    }
    if (!ok) {
        id = member(obj, "conversationId");
        if (id && json_object_is_type(id, json_type_int) && json_object_get_int64(id) >= 0) {
            v = json_object_get_uint64(id);
            ok = true;
        } else if (id && json_object_is_type(id, json_type_string)) {
            size_t n = (size_t)json_object_get_string_len(id);
            ok = n <= 20 && parse_decimal(json_object_get_string(id), n, &v);
        }
    }
    /* 0 means "no conversation"; UINT64_MAX may be a json-c clamp. */
    if (ok && v != 0 && v != UINT64_MAX)
        snprintf(out, 21, "%" PRIu64, v);
}

/* True when a field a full record needs is absent: with availability
 * Deleted or Purged that makes the object a sync tombstone. */
static bool lacks_full_fields(struct json_object *obj)
{
    static const char *const keys[] = {"type", "creationTime", "direction", "readStatus"};
    for (size_t i = 0; i < RECX_COUNT(keys); i++)
        if (!member(obj, keys[i]))
            return true;
    return false;
}

static int parse_full(struct json_object *obj, struct rec *out, struct recx_err *e)
{
    int v, rc;
    const char *s;

    rc = get_enum(obj, "type", recx_type_names, RECX_COUNT(recx_type_names), true, &v, e, "");
    if (rc)
        return rc;
    out->type = (enum rec_type)v;
    rc = get_enum(obj, "direction", recx_dir_names, RECX_COUNT(recx_dir_names), true, &v, e, "");
    if (rc)
        return rc;
    out->direction = (enum rec_dir)v;
    rc = get_enum(obj, "readStatus", recx_read_names, RECX_COUNT(recx_read_names), true, &v, e, "");
    if (rc)
        return rc;
    out->read_status = (enum rec_read)v;

    rc = get_time(obj, "creationTime", true, &out->creation_ms, e);
    if (rc)
        return rc;
    out->modified_ms = out->creation_ms;
    rc = get_time(obj, "lastModifiedTime", false, &out->modified_ms, e);
    if (rc)
        return rc;

    rc = get_string(obj, "messageStatus", REC_MAX_STRING, &s, e, "");
    if (rc)
        return rc;
    if (s && recx_lookup(s, recx_message_statuses, RECX_COUNT(recx_message_statuses)) >= 0)
        snprintf(out->message_status, sizeof(out->message_status), "%s", s);

    rc = get_string(obj, "subject", REC_MAX_STRING, &s, e, "");
    if (rc)
        return rc;
    if (s)
        out->subject = mem_strdup(s);

    rc = get_peer(obj, out->direction, &out->peer, e);
    if (rc)
        return rc;

    get_conversation(obj, out->conversation_id);

    struct json_object *atts = member(obj, "attachments");
    if (atts) {
        if (!json_object_is_type(atts, json_type_array))
            return recx_fail(e, "attachments: not an array");
        size_t n = json_object_array_length(atts);
        if (n > REC_MAX_ATTACHMENTS)
            return recx_fail(e, "attachments: %zu of them, more than %d", n, REC_MAX_ATTACHMENTS);
        out->att = mem_calloc(n ? n : 1, sizeof(*out->att));
        for (size_t i = 0; i < n; i++) {
            /* counted before parsing so rec_free releases a half-filled one */
            out->n_att = i + 1;
            rc = parse_attachment(json_object_array_get_idx(atts, i), i, &out->att[i], e);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int rec_from_json(struct json_object *obj, bool allow_partial, struct rec *out, char *err,
                  size_t errlen)
{
    struct recx_err e = {err, errlen};
    struct buf meta;
    int rc, v;

    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    if (!obj || !json_object_is_type(obj, json_type_object))
        return recx_fail(&e, "record: not a JSON object");

    buf_init(&meta, RECX_META_MAX);
    rc = recx_meta_write(obj, &meta, &e);
    if (rc)
        goto fail;

    struct json_object *id = member(obj, "id");
    if (!id) {
        rc = recx_fail(&e, "id: missing");
        goto fail;
    }
    rc = get_id_value(id, &out->id, &e, "id");
    if (rc)
        goto fail;

    v = REC_ALIVE;
    rc = get_enum(obj, "availability", recx_avail_names, RECX_COUNT(recx_avail_names), false, &v,
                  &e, "");
    if (rc)
        goto fail;
    out->availability = (enum rec_avail)v;

    if (allow_partial && out->availability != REC_ALIVE && lacks_full_fields(obj)) {
        out->partial = true;
        buf_free(&meta);
        return 0;
    }

    rc = parse_full(obj, out, &e);
    if (rc)
        goto fail;
    out->json_len = meta.len;
    out->json = buf_steal(&meta);
    return 0;

fail:
    buf_free(&meta);
    rec_free(out);
    return rc;
}

int rec_from_text(const char *text, size_t len, bool allow_partial, struct rec *out, char *err,
                  size_t errlen)
{
    struct recx_err e = {err, errlen};
    int rc;

    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    if (!text && len)
        return recx_fail(&e, "record: no text");
    if (len > TEXT_MAX)
        return recx_fail(&e, "record: text longer than %d bytes", TEXT_MAX);
    /* json-c would stop at a NUL and call the rest trailing text; say what
     * it is instead.  No valid JSON contains a raw NUL. */
    if (len && memchr(text, '\0', len))
        return recx_fail(&e, "record: NUL byte in the text");

    /* The tokener counts the top level too: depth + 1 allows depth levels. */
    struct json_tokener *tok = json_tokener_new_ex(REC_MAX_DEPTH + 1);
    if (!tok)
        abort(); /* util/mem's policy: no limping on after OOM */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

    struct json_object *obj = json_tokener_parse_ex(tok, text ? text : "", (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);

    if (!obj) {
        if (jerr == json_tokener_continue)
            rc = recx_fail(&e, "record: truncated JSON");
        else if (jerr == json_tokener_error_depth)
            rc = recx_fail(&e, "record: nested deeper than %d levels", REC_MAX_DEPTH);
        else
            rc = recx_fail(&e, "record: invalid JSON at byte %zu: %s", end,
                           json_tokener_error_desc(jerr));
        goto out;
    }
    for (size_t i = end; i < len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            rc = recx_fail(&e, "record: trailing text at byte %zu", i);
            goto out;
        }
    }
    rc = rec_from_json(obj, allow_partial, out, err, errlen);
out:
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

void rec_free(struct rec *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_att && r->att; i++) {
        free(r->att[i].content_type);
        free(r->att[i].file_name);
        free(r->att[i].uri);
    }
    free(r->att);
    free(r->peer);
    free(r->subject);
    free(r->json);
    memset(r, 0, sizeof(*r));
}

void rec_move(struct rec *dst, struct rec *src)
{
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

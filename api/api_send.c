/*
 * api_send — the send calls of api_send.h: fax, SMS, pager, and the one
 * rule for a request that must not be repeated blindly (send_once).
 */
#include "api/api_send.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_err.h"
#include "api/api_priv.h"
#include "api/api_req.h"
#include "api/api_wire.h"
#include "api/api_sendbody.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/utf8.h"

static void say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* Server text made safe for a log line: printable ASCII, at most 80 bytes. */
static void clean(char *dst, size_t dstlen, const char *s)
{
    size_t k = 0;

    for (; s && *s && k + 1 < dstlen && k < 80; s++)
        dst[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    dst[k] = '\0';
}

/* "HTTP 403 MSG-304: Phone number doesn't belong to extension" from an
 * error answer: errors[0] when present (the specific code), else the top. */
static void describe_refusal(const struct exec_res *res, char *why, size_t whylen)
{
    struct json_object *o = wire_parse_json(res->http.body.data, res->http.body.len);
    struct json_object *errs, *e = o, *code = NULL, *msg = NULL;
    char c[48] = "", m[96] = "";

    if (o && json_object_object_get_ex(o, "errors", &errs) &&
        json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0)
        e = json_object_array_get_idx(errs, 0);
    if (e && json_object_is_type(e, json_type_object)) {
        json_object_object_get_ex(e, "errorCode", &code);
        json_object_object_get_ex(e, "message", &msg);
    }
    if (code && json_object_is_type(code, json_type_string))
        clean(c, sizeof(c), json_object_get_string(code));
    if (msg && json_object_is_type(msg, json_type_string))
        clean(m, sizeof(m), json_object_get_string(msg));
    say(why, whylen, "the server refused it: HTTP %ld%s%s%s%s", res->http.status, c[0] ? " " : "",
        c, m[0] ? ": " : "", m);
    json_object_put(o);
}

/*
 * Run a send (never idempotent) and sort its end into the four outcomes of
 * api_send.h: done (0, *out), refused by the server (its errno), surely not
 * sent (-EIO or the reader's errno), or outcome unknown (-EINPROGRESS).
 */
static int send_once(struct api *a, const struct api_call *c, struct exec_req *rq, const char *what,
                     struct rec *out, char *why, size_t whylen)
{
    struct exec_res res;
    char err[160];
    int rc;

    rq->idempotent = false;
    rq->want_json = true;
    rq->http.fresh_connect = true; /* libcurl must never replay it on a dead connection */
    rq->http.max_body = REQ_JSON_MAX;
    exec_res_init(&res);
    rc = req_run(a, req_deadline(a, c), req_prio(c), rq, &res);
    if (rc == 0) {
        if (rec_from_json(res.json, false, out, err, sizeof(err)) == 0)
            goto done;
        log_warn("%s: accepted, but the answer is not a valid record: %s", what, err);
        say(why, whylen, "the server accepted it (HTTP %ld), but its answer is not a valid record",
            res.http.status);
        rc = -EINPROGRESS;
    } else if (res.attempts == 0 || !res.http.sent) {
        say(why, whylen, "not sent: %s",
            res.attempts == 0 ? "no rate-limit slot or access token before the deadline"
                              : (res.http.cc_msg[0] ? res.http.cc_msg : "it never left"));
    } else if (res.http.sink_rc) {
        rc = res.http.sink_rc; /* the body was cut short: the server cannot have acted */
        say(why, whylen, "not sent: reading the document failed (%s)", strerror(-rc));
    } else if (exec_outcome_unknown(&res) || (res.http.status >= 200 && res.http.status <= 299)) {
        if (res.http.cc != CURLE_OK)
            say(why, whylen, "outcome unknown: the request was sent, then %s", res.http.cc_msg);
        else if (res.http.status >= 500)
            say(why, whylen, "outcome unknown: the server answered HTTP %ld", res.http.status);
        else
            say(why, whylen, "the server accepted it (HTTP %ld), but its answer is unreadable",
                res.http.status);
        rc = -EINPROGRESS;
    } else {
        describe_refusal(&res, why, whylen);
    }
    if (rc == -EINPROGRESS)
        log_warn("%s: it may have been sent; not sending it again (%s)", what, whylen ? why : "");
    else
        log_info("%s failed: %s", what, whylen ? why : errmap_name(rc));
done:
    exec_res_free(&res);
    return rc;
}

/* ---- input checks ------------------------------------------------------------- */

/* A phone number as people write it -> "+<7..15 digits>" (see api_send_fax). */
static int norm_number(const char *in, char *out, size_t outlen)
{
    char digits[16];
    size_t nd = 0;
    bool plus = false;

    if (!in)
        return -EINVAL;
    for (const char *p = in; *p; p++) {
        if (*p == '+' && !plus && nd == 0)
            plus = true;
        else if (*p >= '0' && *p <= '9' && nd < 15)
            digits[nd++] = *p;
        else if (!strchr(" ().-", *p))
            return -EINVAL;
    }
    if (nd < 7 || outlen < nd + 3)
        return -EINVAL;
    digits[nd] = '\0';
    snprintf(out, outlen, "+%s%s", !plus && nd == 10 ? "1" : "", digits);
    return 0;
}

int api_send_number(const char *in, char *out, size_t outlen)
{
    return norm_number(in, out, outlen);
}

size_t api_send_text_units(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t units = 0;

    for (size_t i = 0; i < len;) {
        size_t l = utf8_seq(s + i, len - i);
        if (l == 0)
            return SIZE_MAX;
        units += utf8_cp(s + i, l) >= 0x10000 ? 2 : 1;
        i += l;
    }
    return units;
}

static int check_text(const char *text, size_t max, const char *what, bool may_be_empty, char *why,
                      size_t whylen)
{
    size_t units;

    if (!text || (!*text && !may_be_empty)) {
        say(why, whylen, "the %s is empty", what);
        return -EINVAL;
    }
    units = api_send_text_units(text, strlen(text));
    if (units == SIZE_MAX) {
        say(why, whylen, "the %s is not valid UTF-8", what);
        return -EINVAL;
    }
    if (units > max) {
        say(why, whylen, "the %s has %zu UTF-16 units; the API allows at most %zu", what, units,
            max);
        return -EMSGSIZE;
    }
    return 0;
}

/* ---- fax ------------------------------------------------------------------------ */

/* What a document turned out to be. */
struct prepared {
    uint64_t size;    /* bytes, from fstat */
    const char *type; /* its content type (the caller's or faxdoc's) */
    char *name;       /* the file name the server is told (malloc'd) */
};

static int read_head(int fd, unsigned char *head, size_t want, size_t *got)
{
    *got = 0;
    while (*got < want) {
        ssize_t n = pread(fd, head + *got, want - *got, (off_t)*got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

static int prepare_doc(const struct api_fax_doc *d, size_t k, struct prepared *p, char *why,
                       size_t whylen)
{
    unsigned char head[FAXDOC_HEAD];
    char reason[160] = "";
    struct stat st;
    size_t n;
    int rc;

    if (d->fd < 0 || fstat(d->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(why, whylen, "document %zu is not a readable regular file", k);
        return -EINVAL;
    }
    p->size = (uint64_t)st.st_size;
    if (d->content_type) {
        rc = faxdoc_accepted(d->content_type) ? 0 : -EINVAL;
        if (rc == 0 && p->size == 0)
            rc = -EINVAL;
        if (rc == 0 && p->size > FAXDOC_MAX_BYTES)
            rc = -EFBIG;
        p->type = d->content_type;
        snprintf(reason, sizeof(reason), "%s",
                 rc == -EFBIG   ? "it is over 50 MB"
                 : p->size == 0 ? "it is empty"
                                : "a fax cannot carry that type");
    } else if ((rc = read_head(d->fd, head, p->size < FAXDOC_HEAD ? p->size : FAXDOC_HEAD, &n))) {
        snprintf(reason, sizeof(reason), "reading it failed: %s", strerror(-rc));
        rc = -EIO;
    } else {
        rc = faxdoc_type(head, n, d->file_name, p->size, &p->type, reason, sizeof(reason));
    }
    if (rc != 0) {
        say(why, whylen, "document %zu%s%s%s: %s", k, d->file_name ? " (" : "",
            d->file_name ? d->file_name : "", d->file_name ? ")" : "", reason);
        return rc;
    }
    if (d->file_name && *d->file_name)
        p->name =
            mem_strdup(strrchr(d->file_name, '/') ? strrchr(d->file_name, '/') + 1 : d->file_name);
    else
        p->name = mem_printf("document-%zu.%s", k, faxdoc_extension(p->type));
    return 0;
}

/* Check everything about f before a byte leaves; fill the body b. */
static int fax_body(const struct api_fax *f, struct prepared *docs, struct sendbody *b, char *why,
                    size_t whylen)
{
    char number[20], idx[16];
    uint64_t total = 0;
    int rc;

    if (!f->to || f->n_to == 0 || f->n_to > API_SEND_FAX_TO_MAX || !f->docs || f->n_docs == 0 ||
        f->n_docs > API_SEND_FAX_DOCS_MAX) {
        say(why, whylen, "a fax needs 1 to %d recipients and 1 to %d documents",
            API_SEND_FAX_TO_MAX, API_SEND_FAX_DOCS_MAX);
        return -EINVAL;
    }
    if (f->cover_index < 0 || (f->resolution != API_FAX_HIGH && f->resolution != API_FAX_LOW)) {
        say(why, whylen, "bad cover page index or resolution");
        return -EINVAL;
    }
    if (f->cover_text && (rc = check_text(f->cover_text, API_SEND_COVER_TEXT_MAX, "cover page text",
                                          true, why, whylen)))
        return rc;
    for (size_t i = 0; i < f->n_to; i++) {
        if (norm_number(f->to[i], number, sizeof(number)) != 0) {
            say(why, whylen, "recipient %zu is not a phone number", i + 1);
            return -EINVAL;
        }
        sendbody_add_field(b, "to", number);
    }
    sendbody_add_field(b, "faxResolution", f->resolution == API_FAX_HIGH ? "High" : "Low");
    snprintf(idx, sizeof(idx), "%d", f->cover_index);
    sendbody_add_field(b, "coverIndex", idx);
    if (f->cover_text)
        sendbody_add_field(b, "coverPageText", f->cover_text);
    for (size_t i = 0; i < f->n_docs; i++) {
        if ((rc = prepare_doc(&f->docs[i], i + 1, &docs[i], why, whylen)))
            return rc;
        total += docs[i].size;
        if (sendbody_add_file(b, "attachment", docs[i].name, docs[i].type, f->docs[i].fd,
                              docs[i].size) != 0) {
            say(why, whylen, "document %zu: unusable content type", i + 1);
            return -EINVAL;
        }
    }
    if (total > API_SEND_FAX_BYTES_MAX) {
        say(why, whylen, "the documents have %llu bytes together; a fax may carry at most %llu",
            (unsigned long long)total, (unsigned long long)API_SEND_FAX_BYTES_MAX);
        return -EFBIG;
    }
    return 0;
}

int api_send_fax(struct api *a, const struct api_call *c, const struct api_fax *f, struct rec *out,
                 char *why, size_t whylen)
{
    struct prepared *docs;
    struct sendbody *b = sendbody_new();
    size_t n = f->docs && f->n_docs <= API_SEND_FAX_DOCS_MAX ? f->n_docs : 0;
    char *url;
    int rc;

    memset(out, 0, sizeof(*out));
    docs = mem_calloc(n ? n : 1, sizeof(*docs));
    rc = fax_body(f, docs, b, why, whylen);
    if (rc == 0) {
        url = req_url(a, "extension/~/fax");
        struct exec_req rq = {
            .http = {.method = "POST",
                     .url = url,
                     .content_type = sendbody_content_type(b),
                     .body_read = sendbody_read,
                     .body_rewind = sendbody_rewind,
                     .body_ctx = b,
                     .body_len = (size_t)sendbody_length(b)},
            .group = PACE_HEAVY,
        };
        rc = send_once(a, c, &rq, "fax", out, why, whylen);
        free(url);
    }
    for (size_t i = 0; i < n; i++)
        free(docs[i].name);
    free(docs);
    sendbody_free(b);
    return rc;
}

/* ---- SMS and pager ---------------------------------------------------------------- */

static int send_json(struct api *a, const struct api_call *c, const char *path,
                     struct json_object *body, const char *what, struct rec *out, char *why,
                     size_t whylen)
{
    char *url = req_url(a, "%s", path);
    char *text = mem_strdup(json_object_to_json_string_ext(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    struct exec_req rq = {
        .http = {.method = "POST",
                 .url = url,
                 .content_type = "application/json",
                 .body = text,
                 .body_len = strlen(text)},
        .group = PACE_MEDIUM,
    };
    int rc = send_once(a, c, &rq, what, out, why, whylen);

    free(text);
    free(url);
    return rc;
}

/* {"<key>": value} */
static struct json_object *one(const char *key, const char *value)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, key, json_object_new_string(value));
    return o;
}

int api_send_sms(struct api *a, const struct api_call *c, const char *from, const char *to,
                 const char *text, struct rec *out, char *why, size_t whylen)
{
    char sender[32], dest[20];
    struct json_object *body, *list;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = check_text(text, API_SEND_SMS_TEXT_MAX, "SMS text", false, why, whylen)))
        return rc;
    if (norm_number(to, dest, sizeof(dest)) != 0) {
        say(why, whylen, "the recipient is not a phone number");
        return -EINVAL;
    }
    if (from && norm_number(from, sender, sizeof(sender)) != 0) {
        say(why, whylen, "the sender is not a phone number");
        return -EINVAL;
    }
    if (!from && (rc = api_send_sms_sender(a, c, sender, sizeof(sender))) != 0) {
        say(why, whylen, "%s",
            rc == -EACCES ? "no number of this extension may send SMS (none has SmsSender)"
                          : "the extension's phone numbers could not be read");
        return rc;
    }
    body = json_object_new_object();
    json_object_object_add(body, "from", one("phoneNumber", sender));
    list = json_object_new_array();
    json_object_array_add(list, one("phoneNumber", dest));
    json_object_object_add(body, "to", list);
    json_object_object_add(body, "text", json_object_new_string(text));
    rc = send_json(a, c, "extension/~/sms", body, "SMS", out, why, whylen);
    json_object_put(body);
    return rc;
}

int api_send_pager(struct api *a, const struct api_call *c, const char *to_ext, const char *text,
                   struct rec *out, char *why, size_t whylen)
{
    struct json_object *body, *list;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!to_ext || !*to_ext || strlen(to_ext) > 16 ||
        strspn(to_ext, "0123456789") != strlen(to_ext)) {
        say(why, whylen, "the recipient is not an extension number");
        return -EINVAL;
    }
    if ((rc = check_text(text, API_SEND_PAGER_TEXT_MAX, "pager text", false, why, whylen)))
        return rc;
    body = json_object_new_object();
    list = json_object_new_array();
    json_object_array_add(list, one("extensionNumber", to_ext));
    json_object_object_add(body, "to", list);
    json_object_object_add(body, "text", json_object_new_string(text));
    rc = send_json(a, c, "extension/~/company-pager", body, "pager message", out, why, whylen);
    json_object_put(body);
    return rc;
}

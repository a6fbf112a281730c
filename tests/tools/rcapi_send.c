/*
 * rcapi_send — rcapi's send commands (api_send.h): fax, sms, pager, covers,
 * numbers.  See rcapi.c for the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_send.h"
#include "rcapi.h"

/* Every value of a repeatable --flag, in order. */
static int opt_values(const struct cmd *c, const char *name, const char **out, int max)
{
    int n = 0;
    for (int i = 1; i + 1 < c->argc; i++)
        if (strcmp(c->argv[i], name) == 0 && n < max)
            out[n++] = c->argv[++i];
    return n;
}

/* A send's result line: the record on success, the reason otherwise. */
static void send_result(struct tool *t, const char *op, int rc, struct rec *r, const char *why)
{
    struct json_object *o = rc == 0 ? rec_json(op, r) : json_object_new_object();
    rec_free(r);
    result(t, op, rc, rc == 0 ? NULL : why, o);
}

static void run_fax(struct tool *t, const struct api_call *call, const struct cmd *c)
{
    const char *to[API_SEND_FAX_TO_MAX], *files[API_SEND_FAX_DOCS_MAX];
    const char *cover = opt_value(c, "--cover"), *res = opt_value(c, "--resolution");
    struct api_fax_doc docs[API_SEND_FAX_DOCS_MAX];
    struct api_fax f = {.to = to, .docs = docs, .resolution = API_FAX_HIGH};
    struct rec r;
    char why[256] = "";
    int rc = 0;

    to[0] = c->argv[1];
    files[0] = c->argv[2];
    f.n_to = 1 + (size_t)opt_values(c, "--to", to + 1, API_SEND_FAX_TO_MAX - 1);
    f.n_docs = 1 + (size_t)opt_values(c, "--file", files + 1, API_SEND_FAX_DOCS_MAX - 1);
    f.cover_index = cover ? atoi(cover) : 0;
    f.cover_text = opt_value(c, "--cover-text");
    if (res && strcmp(res, "Low") == 0)
        f.resolution = API_FAX_LOW;
    for (size_t i = 0; i < f.n_docs; i++) {
        docs[i] = (struct api_fax_doc){.fd = open(files[i], O_RDONLY | O_CLOEXEC),
                                       .content_type = opt_value(c, "--type"),
                                       .file_name = files[i]};
        if (docs[i].fd < 0 && rc == 0)
            rc = -errno;
    }
    if (rc == 0)
        rc = api_send_fax(t->api, call, &f, &r, why, sizeof(why));
    else
        memset(&r, 0, sizeof(r)), snprintf(why, sizeof(why), "cannot open a FILE");
    for (size_t i = 0; i < f.n_docs; i++)
        if (docs[i].fd >= 0)
            close(docs[i].fd);
    send_result(t, "fax", rc, &r, why);
}

/* covers | numbers: one line per entry, then the result. */
static void run_lookup(struct tool *t, const struct api_call *call, const char *op)
{
    struct json_object *o;
    size_t n = 0;
    int rc;

    if (strcmp(op, "covers") == 0) {
        struct api_cover_page *v = NULL;
        rc = api_send_cover_pages(t->api, call, &v, &n);
        for (size_t i = 0; i < n; i++) {
            o = json_object_new_object();
            json_object_object_add(o, "op", json_object_new_string("cover"));
            json_object_object_add(o, "index", json_object_new_int(v[i].index));
            json_object_object_add(o, "name", json_object_new_string(v[i].name));
            emit(t, o);
        }
        free(v);
    } else {
        struct api_phone_number *v = NULL;
        rc = api_send_numbers(t->api, call, &v, &n);
        for (size_t i = 0; i < n; i++) {
            o = json_object_new_object();
            json_object_object_add(o, "op", json_object_new_string("number"));
            json_object_object_add(o, "number", json_object_new_string(v[i].number));
            json_object_object_add(o, "type", json_object_new_string(v[i].type));
            json_object_object_add(o, "usageType", json_object_new_string(v[i].usage_type));
            json_object_object_add(o, "sms",
                                   json_object_new_boolean(v[i].features & API_PHONE_SMS));
            emit(t, o);
        }
        free(v);
    }
    o = json_object_new_object();
    json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
    result(t, op, rc, NULL, o);
}

bool is_send(const char *op)
{
    return strcmp(op, "fax") == 0 || strcmp(op, "sms") == 0 || strcmp(op, "pager") == 0;
}

bool run_send(struct tool *t, const struct api_call *call, const struct cmd *c)
{
    const char *op = c->argv[0];
    char why[256] = "";
    struct rec r;
    int rc;

    if (strcmp(op, "fax") == 0) {
        run_fax(t, call, c);
    } else if (strcmp(op, "sms") == 0 || strcmp(op, "pager") == 0) {
        rc = op[0] == 's'
                 ? api_send_sms(t->api, call, opt_value(c, "--from"), c->argv[1], c->argv[2], &r,
                                why, sizeof(why))
                 : api_send_pager(t->api, call, c->argv[1], c->argv[2], &r, why, sizeof(why));
        send_result(t, op, rc, &r, why);
    } else if (strcmp(op, "covers") == 0 || strcmp(op, "numbers") == 0) {
        run_lookup(t, call, op);
    } else {
        return false;
    }
    return true;
}

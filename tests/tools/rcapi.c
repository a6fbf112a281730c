/*
 * rcapi — drive the REST client (api.h) from the command line, for tests.
 *
 *   rcapi [-c CREDFILE] [-d] [-t SECONDS] [-D SECONDS] [-m MEDIA_URL] [-j DOWNLOADS]
 *         [-P THREADS] [-b] COMMAND [ARGS] [COMMAND [ARGS] ...]
 *
 * Commands (run in order, or on -P THREADS threads at once; "stats" always
 * runs after the others):
 *   login | extensions | list EXT TYPE | get EXT ID[,ID...] |
 *   read EXT ID Read|Unread | restore EXT ID |
 *   delete EXT ID [--purge] [--from alive|deleted] | sync EXT [TOKEN] |
 *   fetch URI TYPE SIZE [--range N] [--out FILE] | reach EXT | stats | sleep MS |
 *   fax NUMBER FILE [--file FILE]... [--to NUMBER]... [--cover N] [--cover-text TEXT]
 *       [--resolution High|Low] [--type CONTENT_TYPE] |
 *   sms NUMBER TEXT [--from NUMBER] | pager EXTNUMBER TEXT | covers | numbers
 * (sends go from the credentials' own extension; fax: cover 0 and High by default;
 * stats also says peak_rss_kb, the tool's peak resident memory)
 * -t: the client's default call timeout (api_opts.timeout_s, default 30);
 * -D: give each call its own deadline, that many seconds from its start,
 * instead (so a call may outlast the timeout that bounds token requests).
 * Each result is one JSON line ({"op": ..., "rc": 0 or -errno, "errno": ...,
 * "ms": time the call took};
 * records one line each, ids as strings).  Lines go to stdout, or to stderr
 * when a fetch writes its content to stdout.  -d: debug log on stderr.
 * -b: every call at BACKGROUND priority.  Exit status 1 if any command failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_cred.h"
#include "api/api_err.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"
#include "rcapi.h"

void emit(struct tool *t, struct json_object *o)
{
    pthread_mutex_lock(&t->out_lock);
    fprintf(t->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(t->out);
    pthread_mutex_unlock(&t->out_lock);
    json_object_put(o);
}

static struct json_object *u64s(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    return json_object_new_string(b);
}

void result(struct tool *t, const char *op, int rc, const char *msg, struct json_object *o)
{
    if (!o)
        o = json_object_new_object();
    json_object_object_add(o, "op", json_object_new_string(op));
    json_object_object_add(o, "rc", json_object_new_int(rc));
    json_object_object_add(o, "errno", json_object_new_string(errmap_name(rc)));
    if (msg && *msg)
        json_object_object_add(o, "error", json_object_new_string(msg));
    if (rc != 0)
        t->failed = 1;
    emit(t, o);
}

/* The record's fields (ids as strings) into o, which is returned. */
static struct json_object *rec_fill(struct json_object *o, const char *op, const struct rec *r)
{
    struct json_object *atts = json_object_new_array();

    json_object_object_add(o, "op", json_object_new_string(op));
    json_object_object_add(o, "id", u64s(r->id));
    json_object_object_add(o, "availability",
                           json_object_new_string(rec_avail_name(r->availability)));
    json_object_object_add(o, "partial", json_object_new_boolean(r->partial));
    if (!r->partial) {
        json_object_object_add(o, "type", json_object_new_string(rec_type_name(r->type)));
        json_object_object_add(o, "direction", json_object_new_string(rec_dir_name(r->direction)));
        json_object_object_add(o, "readStatus",
                               json_object_new_string(rec_read_name(r->read_status)));
        json_object_object_add(o, "conversationId", json_object_new_string(r->conversation_id));
        json_object_object_add(o, "creation_ms", json_object_new_int64(r->creation_ms));
        json_object_object_add(o, "modified_ms", json_object_new_int64(r->modified_ms));
        json_object_object_add(o, "messageStatus", json_object_new_string(r->message_status));
        json_object_object_add(o, "peer", r->peer ? json_object_new_string(r->peer) : NULL);
        json_object_object_add(o, "subject",
                               r->subject ? json_object_new_string(r->subject) : NULL);
    }
    for (size_t i = 0; i < r->n_att; i++) {
        const struct rec_attachment *a = &r->att[i];
        struct json_object *ao = json_object_new_object();
        json_object_object_add(ao, "id", u64s(a->id));
        json_object_object_add(ao, "type", json_object_new_string(rec_att_type_name(a->type)));
        json_object_object_add(ao, "contentType",
                               json_object_new_string(a->content_type ? a->content_type : ""));
        json_object_object_add(ao, "size", json_object_new_int64(a->size));
        json_object_object_add(ao, "uri", a->uri ? json_object_new_string(a->uri) : NULL);
        json_object_array_add(atts, ao);
    }
    json_object_object_add(o, "attachments", atts);
    return o;
}

struct json_object *rec_json(const char *op, const struct rec *r)
{
    return rec_fill(json_object_new_object(), op, r);
}

/* Record callback: print one line per record. */
struct rec_out {
    struct tool *t;
    const char *op;
    long count;
};

static int on_rec(void *ctx, struct rec *r)
{
    struct rec_out *ro = ctx;
    emit(ro->t, rec_json(ro->op, r));
    ro->count++;
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return (errno || end == s || *end) ? -EINVAL : 0;
}

/* Content sink writing to a file descriptor, able to start again. */
struct fsink {
    int fd;
    int64_t written;
};

static int sink_write(void *ctx, const void *p, size_t n)
{
    struct fsink *s = ctx;

    if (!p) { /* start again */
        if (s->written == 0)
            return 0;
        if (lseek(s->fd, 0, SEEK_SET) != 0 || ftruncate(s->fd, 0) != 0)
            return -EIO;
        s->written = 0;
        return 0;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(s->fd, (const char *)p + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)w;
    }
    s->written += (int64_t)n;
    return 0;
}

const char *opt_value(const struct cmd *c, const char *name)
{
    for (int i = 1; i + 1 < c->argc; i++)
        if (strcmp(c->argv[i], name) == 0)
            return c->argv[i + 1];
    return NULL;
}

static bool opt_flag(const struct cmd *c, const char *name)
{
    for (int i = 1; i < c->argc; i++)
        if (strcmp(c->argv[i], name) == 0)
            return true;
    return false;
}

static int cmd_fetch(struct tool *t, const struct api_call *call, const struct cmd *c,
                     struct json_object *o)
{
    const char *out = opt_value(c, "--out"), *range = opt_value(c, "--range");
    struct fsink s = {.fd = STDOUT_FILENO};
    struct api_content req = {
        .uri = c->argv[1], .expect_type = c->argv[2], .sink = sink_write, .sink_ctx = &s};
    struct api_content_info info = {.total_size = -1};
    int rc;

    req.expect_size = strtoll(c->argv[3], NULL, 10);
    req.range_len = range ? strtoll(range, NULL, 10) : 0;
    json_object_object_add(o, "uri", json_object_new_string(req.uri));
    if (out) {
        s.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s.fd < 0)
            return -errno;
    }
    rc = api_fetch(t->api, call, &req, &info);
    if (out)
        close(s.fd);
    json_object_object_add(o, "total_size", json_object_new_int64(info.total_size));
    json_object_object_add(o, "received", json_object_new_int64(info.received));
    json_object_object_add(o, "complete", json_object_new_boolean(info.complete));
    return rc;
}

static int cmd_login(struct tool *t, const struct api_call *call, const struct cmd *c,
                     struct json_object *o, char *err, size_t errlen)
{
    int rc = api_login(t->api, call, err, errlen);

    json_object_object_add(o, "account_id", json_object_new_string(api_account_id(t->api)));
    return rc;
}

static int cmd_extensions(struct tool *t, const struct api_call *call, struct json_object *o)
{
    struct api_ext *v = NULL;
    size_t n = 0;
    int rc = api_extensions(t->api, call, &v, &n);

    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "op", json_object_new_string("extension"));
        json_object_object_add(e, "id", u64s(v[i].id));
        json_object_object_add(e, "number", json_object_new_string(v[i].number));
        json_object_object_add(e, "name", json_object_new_string(v[i].name));
        json_object_object_add(e, "own", json_object_new_boolean(v[i].own));
        emit(t, e);
    }
    free(v);
    json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
    return rc;
}

static int cmd_list(struct tool *t, const struct api_call *call, const struct cmd *c, uint64_t ext,
                    struct json_object *o)
{
    struct rec_out ro = {t, "record", 0};
    enum rec_type type = REC_FAX;
    int rc = rec_type_parse(c->argv[2], &type);

    if (rc == 0)
        rc = api_list(t->api, call, ext, type, on_rec, &ro);
    json_object_object_add(o, "count", json_object_new_int64(ro.count));
    return rc;
}

static int cmd_get(struct tool *t, const struct api_call *call, const struct cmd *c, uint64_t ext,
                   struct json_object *o)
{
    struct rec_out ro = {t, "record", 0};
    uint64_t *ids = NULL;
    size_t n = 0;
    char *list = mem_strdup(c->argv[2]), *save = NULL;
    int rc = 0;

    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        ids = mem_reallocarray(ids, n + 1, sizeof(*ids));
        if (parse_u64(tok, &ids[n++]) != 0)
            rc = -EINVAL;
    }
    free(list);
    if (rc == 0)
        rc = api_get(t->api, call, ext, ids, n, on_rec, &ro);
    free(ids);
    json_object_object_add(o, "count", json_object_new_int64(ro.count));
    return rc;
}

/* read EXT ID Read|Unread, or restore EXT ID: the updated record's fields go into o. */
static int cmd_update(struct tool *t, const struct api_call *call, const struct cmd *c,
                      uint64_t ext, struct json_object *o)
{
    struct rec r;
    uint64_t id;
    int rc = parse_u64(c->argv[2], &id);

    memset(&r, 0, sizeof(r));
    if (rc == 0 && strcmp(c->argv[0], "read") == 0)
        rc = api_set_read(t->api, call, ext, id,
                          strcmp(c->argv[3], "Read") == 0 ? REC_READ : REC_UNREAD, &r);
    else if (rc == 0)
        rc = api_restore(t->api, call, ext, id, &r);
    if (rc == 0)
        rec_fill(o, c->argv[0], &r);
    rec_free(&r);
    return rc;
}

static int cmd_delete(struct tool *t, const struct api_call *call, const struct cmd *c,
                      uint64_t ext, struct json_object *o)
{
    const char *from = opt_value(c, "--from");
    enum rec_avail av = from && strcmp(from, "deleted") == 0 ? REC_DELETED : REC_ALIVE;
    uint64_t id;

    if (parse_u64(c->argv[2], &id) != 0)
        return -EINVAL;
    json_object_object_add(o, "id", u64s(id));
    return api_delete(t->api, call, ext, id, opt_flag(c, "--purge"), av);
}

static int cmd_sync(struct tool *t, const struct api_call *call, const struct cmd *c, uint64_t ext,
                    struct json_object *o)
{
    struct rec_out ro = {t, "record", 0};
    struct api_sync_result sr;
    const char *token = c->argc > 2 ? c->argv[2] : NULL;
    int rc = api_sync(t->api, call, ext, token, 0, on_rec, &ro, &sr);

    json_object_object_add(o, "count", json_object_new_int64(ro.count));
    if (rc == 0) {
        json_object_object_add(o, "token", json_object_new_string(sr.token));
        json_object_object_add(o, "older_records_exist",
                               json_object_new_boolean(sr.older_records_exist));
        json_object_object_add(o, "sync_time_ms", json_object_new_int64(sr.sync_time_ms));
        free(sr.token);
    }
    return rc;
}

/* This program's own peak resident size (VmHWM: unlike getrusage, it does
 * not include the memory of the process that exec'd us), or -1. */
static int64_t peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int cmd_stats(struct tool *t, struct json_object *o)
{
    struct api_stats st;

    api_get_stats(t->api, &st);
    json_object_object_add(o, "requests", json_object_new_int64((int64_t)st.requests));
    json_object_object_add(o, "retries", json_object_new_int64((int64_t)st.retries));
    json_object_object_add(o, "rate_limited", json_object_new_int64((int64_t)st.rate_limited));
    json_object_object_add(o, "refreshes", json_object_new_int64((int64_t)st.refreshes));
    json_object_object_add(o, "peak_rss_kb", json_object_new_int64(peak_rss_kb()));
    return 0;
}

static int cmd_reach(struct tool *t, uint64_t ext, struct json_object *o)
{
    static const char *const names[] = {"unknown", "ok", "forbidden"};

    json_object_object_add(o, "id", u64s(ext));
    json_object_object_add(o, "reach", json_object_new_string(names[api_ext_reach(t->api, ext)]));
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* One command: its result line carries rc, errno and "ms" (time it took). */
static void run(struct tool *t, const struct cmd *c)
{
    const char *op = c->argv[0];
    struct api_call call = {.deadline_ms = 0, .prio = t->prio};
    struct json_object *o = json_object_new_object();
    int64_t t0 = isotime_mono_ms();
    uint64_t ext = 0;
    char err[256] = "";
    int rc = -EINVAL;

    if (strcmp(op, "sleep") == 0) {
        sleep_ms(strtoll(c->argv[1], NULL, 10));
        json_object_put(o);
        return;
    }
    if (t->deadline_s > 0)
        call.deadline_ms = t0 + (int64_t)t->deadline_s * 1000;
    if (run_send(t, &call, c)) { /* fax, sms, pager, covers, numbers: it printed */
        json_object_put(o);
        return;
    }
    if (c->argc > 1 && strcmp(op, "fetch") != 0 && parse_u64(c->argv[1], &ext) != 0)
        snprintf(err, sizeof(err), "EXT must be a number");
    else if (strcmp(op, "login") == 0)
        rc = cmd_login(t, &call, c, o, err, sizeof(err));
    else if (strcmp(op, "extensions") == 0)
        rc = cmd_extensions(t, &call, o);
    else if (strcmp(op, "list") == 0)
        rc = cmd_list(t, &call, c, ext, o);
    else if (strcmp(op, "get") == 0)
        rc = cmd_get(t, &call, c, ext, o);
    else if (strcmp(op, "read") == 0 || strcmp(op, "restore") == 0)
        rc = cmd_update(t, &call, c, ext, o);
    else if (strcmp(op, "delete") == 0)
        rc = cmd_delete(t, &call, c, ext, o);
    else if (strcmp(op, "sync") == 0)
        rc = cmd_sync(t, &call, c, ext, o);
    else if (strcmp(op, "fetch") == 0)
        rc = cmd_fetch(t, &call, c, o);
    else if (strcmp(op, "reach") == 0)
        rc = cmd_reach(t, ext, o);
    else if (strcmp(op, "stats") == 0)
        rc = cmd_stats(t, o);
    json_object_object_add(o, "ms", json_object_new_int64(isotime_mono_ms() - t0));
    result(t, op, rc, err, o);
}

/* Arguments each command needs after its word (fixed part). */
static int arity(const char *w)
{
    static const struct {
        const char *w;
        int n;
    } tab[] = {{"login", 0},   {"extensions", 0}, {"list", 2}, {"get", 2},   {"read", 3},
               {"restore", 2}, {"delete", 2},     {"sync", 1}, {"fetch", 3}, {"stats", 0},
               {"sleep", 1},   {"reach", 1},      {"fax", 2},  {"sms", 2},   {"pager", 2},
               {"covers", 0},  {"numbers", 0}};
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(tab[i].w, w) == 0)
            return tab[i].n;
    return -1;
}

static void *worker(void *arg)
{
    struct tool *t = arg;
    for (int i; (i = atomic_fetch_add(&t->next, 1)) < t->ncmds;)
        if (strcmp(t->cmds[i].argv[0], "stats") != 0)
            run(t, &t->cmds[i]);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: rcapi [-c CREDFILE] [-d] [-t SECONDS] [-D SECONDS] [-m MEDIA_URL] "
                    "[-j DOWNLOADS] [-P THREADS] [-b] COMMAND [ARGS]...\n");
    exit(2);
}

/* Command-line options. */
struct opts {
    const char *credfile, *media; /* -c, -m */
    int timeout, downloads;       /* -t, -j */
    int threads;                  /* -P */
    bool debug;                   /* -d */
};

static void parse_opts(int argc, char **argv, struct opts *o, struct tool *t)
{
    int opt;

    while ((opt = getopt(argc, argv, "+c:dt:D:m:j:P:bh")) != -1) {
        switch (opt) {
        case 'c':
            o->credfile = optarg;
            break;
        case 'd':
            o->debug = true;
            break;
        case 't':
            o->timeout = atoi(optarg);
            break;
        case 'D':
            t->deadline_s = atoi(optarg);
            break;
        case 'm':
            o->media = optarg;
            break;
        case 'j':
            o->downloads = atoi(optarg);
            break;
        case 'P':
            o->threads = atoi(optarg);
            break;
        case 'b':
            t->prio = API_PRIO_BACKGROUND;
            break;
        default:
            usage();
        }
    }
}

/* Split argv[optind..] into commands.  Returns 0, or 2 for a bad command
 * line.  A fetch without --out sends its content to stdout, and then the
 * JSON lines go to stderr. */
static int split_commands(int argc, char **argv, struct tool *t)
{
    bool to_stderr = false;

    t->cmds = mem_calloc((size_t)argc, sizeof(*t->cmds));
    for (int i = optind; i < argc;) {
        int n = arity(argv[i]), j = i + 1 + n;
        if (n < 0 || j > argc) {
            fprintf(stderr, "rcapi: bad command or missing arguments at '%s'\n", argv[i]);
            return 2;
        }
        /* optional parts: --flags (with values), or sync's token */
        while (j < argc && (strncmp(argv[j], "--", 2) == 0 ||
                            (strcmp(argv[i], "sync") == 0 && j == i + 2 && arity(argv[j]) < 0))) {
            j += (strcmp(argv[j], "--purge") == 0 || strncmp(argv[j], "--", 2) != 0) ? 1 : 2;
        }
        if (strcmp(argv[i], "fetch") == 0) {
            bool has_out = false;
            for (int k = i + 4; k < j; k++)
                has_out |= strcmp(argv[k], "--out") == 0;
            to_stderr |= !has_out;
        }
        t->cmds[t->ncmds++] = (struct cmd){.argv = &argv[i], .argc = j - i};
        i = j;
    }
    if (t->ncmds == 0)
        usage();
    if (to_stderr)
        t->out = stderr;
    return 0;
}

/* Run every command, in order or on `threads` threads ("stats" last). */
static void run_all(struct tool *t, int threads)
{
    if (threads <= 1) {
        for (int i = 0; i < t->ncmds; i++)
            run(t, &t->cmds[i]);
        return;
    }
    pthread_t *tid = mem_calloc((size_t)threads, sizeof(*tid));
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, worker, t);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    for (int i = 0; i < t->ncmds; i++)
        if (strcmp(t->cmds[i].argv[0], "stats") == 0)
            run(t, &t->cmds[i]);
}

int main(int argc, char **argv)
{
    struct opts op = {.timeout = 30, .downloads = 4, .threads = 1};
    struct tool t = {.prio = API_PRIO_USER, .out = stdout};
    struct cred cr;
    char err[512];
    int rc;

    parse_opts(argc, argv, &op, &t);
    log_init(false, op.debug);
    if (split_commands(argc, argv, &t) != 0) {
        free(t.cmds);
        return 2;
    }
    pthread_mutex_init(&t.out_lock, NULL);
    if (cred_load(&cr, op.credfile, err, sizeof(err)) != 0) {
        result(&t, "credentials", -EINVAL, err, NULL);
        free(t.cmds);
        return 1;
    }
    struct api_opts o = {.server_url = cr.server_url,
                         .client_id = cr.client_id,
                         .client_secret = cr.client_secret,
                         .jwt = cr.jwt,
                         .media_url = op.media,
                         .timeout_s = op.timeout,
                         .max_downloads = op.downloads,
                         .verbose_http = op.debug};
    rc = api_new(&o, &t.api, err, sizeof(err));
    cred_free(&cr);
    if (rc != 0) {
        result(&t, "new", rc, err, NULL);
        free(t.cmds);
        return 1;
    }
    run_all(&t, op.threads);
    api_free(t.api);
    free(t.cmds);
    return t.failed ? 1 : 0;
}

/*
 * rcapi — drive the REST client (api.h) from the command line, for tests.
 *
 *   rcapi [-c CREDFILE] [-d] [-t SECONDS] [-m MEDIA_URL] [-j DOWNLOADS] [-P THREADS] [-b]
 *         COMMAND [ARGS] [COMMAND [ARGS] ...]
 *
 * Commands (run in order, or on -P THREADS threads at once; "stats" always
 * runs after the others):
 *   login | extensions | list EXT TYPE | get EXT ID[,ID...] |
 *   read EXT ID Read|Unread | restore EXT ID |
 *   delete EXT ID [--purge] [--from alive|deleted] | sync EXT [TOKEN] |
 *   fetch URI TYPE SIZE [--range N] [--out FILE] | reach EXT | stats | sleep MS
 * Each result is one JSON line ({"op": ..., "rc": 0 or -errno, "errno": ...};
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

struct cmd {
    char **argv; /* the command word and its arguments */
    int argc;    /* how many */
};

struct tool {
    struct api *api;          /* the client */
    enum api_prio prio;       /* priority of every call */
    FILE *out;                /* where JSON lines go */
    pthread_mutex_t out_lock; /* one line at a time */
    struct cmd *cmds;         /* the commands */
    int ncmds;                /* how many */
    _Atomic int next;         /* next command for a worker */
    _Atomic int failed;       /* a command failed */
};

static void emit(struct tool *t, struct json_object *o)
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

static void result(struct tool *t, const char *op, int rc, const char *msg, struct json_object *o)
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

static struct json_object *rec_json(const char *op, const struct rec *r)
{
    struct json_object *o = json_object_new_object(), *atts = json_object_new_array();

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

static const char *opt_value(const struct cmd *c, const char *name)
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

static void run_fetch(struct tool *t, const struct api_call *call, const struct cmd *c)
{
    const char *out = opt_value(c, "--out"), *range = opt_value(c, "--range");
    struct fsink s = {.fd = STDOUT_FILENO};
    struct api_content req = {
        .uri = c->argv[1], .expect_type = c->argv[2], .sink = sink_write, .sink_ctx = &s};
    struct api_content_info info;
    struct json_object *o = json_object_new_object();
    int64_t t0 = isotime_mono_ms();
    int rc;

    req.expect_size = strtoll(c->argv[3], NULL, 10);
    req.range_len = range ? strtoll(range, NULL, 10) : 0;
    if (out) {
        s.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s.fd < 0) {
            result(t, "fetch", -errno, "cannot open --out file", o);
            return;
        }
    }
    rc = api_fetch(t->api, call, &req, &info);
    if (out)
        close(s.fd);
    json_object_object_add(o, "uri", json_object_new_string(req.uri));
    json_object_object_add(o, "total_size", json_object_new_int64(info.total_size));
    json_object_object_add(o, "received", json_object_new_int64(info.received));
    json_object_object_add(o, "complete", json_object_new_boolean(info.complete));
    json_object_object_add(o, "ms", json_object_new_int64(isotime_mono_ms() - t0));
    result(t, "fetch", rc, NULL, o);
}

static void run_delete(struct tool *t, const struct api_call *call, const struct cmd *c,
                       uint64_t ext, uint64_t id)
{
    const char *from = opt_value(c, "--from");
    enum rec_avail av = from && strcmp(from, "deleted") == 0 ? REC_DELETED : REC_ALIVE;
    int rc = api_delete(t->api, call, ext, id, opt_flag(c, "--purge"), av);
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "id", u64s(id));
    result(t, "delete", rc, NULL, o);
}

static void run(struct tool *t, const struct cmd *c)
{
    const char *op = c->argv[0];
    struct api_call call = {.deadline_ms = 0, .prio = t->prio};
    uint64_t ext = 0, id = 0;
    char err[256] = "";
    int rc;

    if (c->argc > 1 && strcmp(op, "fetch") != 0 && strcmp(op, "sleep") != 0 &&
        parse_u64(c->argv[1], &ext) != 0) {
        result(t, op, -EINVAL, "EXT must be a number", NULL);
        return;
    }
    if (strcmp(op, "login") == 0) {
        rc = api_login(t->api, &call, err, sizeof(err));
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "account_id", json_object_new_string(api_account_id(t->api)));
        result(t, op, rc, err, o);
    } else if (strcmp(op, "extensions") == 0) {
        struct api_ext *v = NULL;
        size_t n = 0;
        rc = api_extensions(t->api, &call, &v, &n);
        for (size_t i = 0; i < n; i++) {
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "op", json_object_new_string("extension"));
            json_object_object_add(o, "id", u64s(v[i].id));
            json_object_object_add(o, "number", json_object_new_string(v[i].number));
            json_object_object_add(o, "name", json_object_new_string(v[i].name));
            json_object_object_add(o, "own", json_object_new_boolean(v[i].own));
            emit(t, o);
        }
        free(v);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
        result(t, op, rc, NULL, o);
    } else if (strcmp(op, "list") == 0) {
        struct rec_out ro = {t, "record", 0};
        enum rec_type type = REC_FAX;
        int ty = rec_type_parse(c->argv[2], &type);
        rc = ty ? ty : api_list(t->api, &call, ext, type, on_rec, &ro);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "count", json_object_new_int64(ro.count));
        result(t, op, rc, NULL, o);
    } else if (strcmp(op, "get") == 0) {
        struct rec_out ro = {t, "record", 0};
        uint64_t *ids = NULL;
        size_t n = 0;
        char *list = mem_strdup(c->argv[2]), *save = NULL;
        rc = 0;
        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            ids = mem_reallocarray(ids, n + 1, sizeof(*ids));
            if (parse_u64(tok, &ids[n++]) != 0)
                rc = -EINVAL;
        }
        free(list);
        if (rc == 0)
            rc = api_get(t->api, &call, ext, ids, n, on_rec, &ro);
        free(ids);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "count", json_object_new_int64(ro.count));
        result(t, op, rc, NULL, o);
    } else if (strcmp(op, "read") == 0 || strcmp(op, "restore") == 0) {
        struct rec r;
        memset(&r, 0, sizeof(r));
        rc = parse_u64(c->argv[2], &id);
        if (rc == 0 && op[0] == 'r' && op[1] == 'e' && op[2] == 'a')
            rc = api_set_read(t->api, &call, ext, id,
                              strcmp(c->argv[3], "Read") == 0 ? REC_READ : REC_UNREAD, &r);
        else if (rc == 0)
            rc = api_restore(t->api, &call, ext, id, &r);
        struct json_object *o = rc == 0 ? rec_json(op, &r) : json_object_new_object();
        rec_free(&r);
        result(t, op, rc, NULL, o);
    } else if (strcmp(op, "delete") == 0) {
        if (parse_u64(c->argv[2], &id) != 0)
            result(t, op, -EINVAL, "ID must be a number", NULL);
        else
            run_delete(t, &call, c, ext, id);
    } else if (strcmp(op, "sync") == 0) {
        struct rec_out ro = {t, "record", 0};
        struct api_sync_result sr;
        const char *token = c->argc > 2 ? c->argv[2] : NULL;
        rc = api_sync(t->api, &call, ext, token, 0, on_rec, &ro, &sr);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "count", json_object_new_int64(ro.count));
        if (rc == 0) {
            json_object_object_add(o, "token", json_object_new_string(sr.token));
            json_object_object_add(o, "older_records_exist",
                                   json_object_new_boolean(sr.older_records_exist));
            json_object_object_add(o, "sync_time_ms", json_object_new_int64(sr.sync_time_ms));
            free(sr.token);
        }
        result(t, op, rc, NULL, o);
    } else if (strcmp(op, "reach") == 0) {
        static const char *const names[] = {"unknown", "ok", "forbidden"};
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "id", u64s(ext));
        json_object_object_add(o, "reach",
                               json_object_new_string(names[api_ext_reach(t->api, ext)]));
        result(t, op, 0, NULL, o);
    } else if (strcmp(op, "fetch") == 0) {
        run_fetch(t, &call, c);
    } else if (strcmp(op, "sleep") == 0) {
        int64_t ms = strtoll(c->argv[1], NULL, 10);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    } else if (strcmp(op, "stats") == 0) {
        struct api_stats st;
        struct json_object *o = json_object_new_object();
        api_get_stats(t->api, &st);
        json_object_object_add(o, "requests", json_object_new_int64((int64_t)st.requests));
        json_object_object_add(o, "retries", json_object_new_int64((int64_t)st.retries));
        json_object_object_add(o, "rate_limited", json_object_new_int64((int64_t)st.rate_limited));
        json_object_object_add(o, "refreshes", json_object_new_int64((int64_t)st.refreshes));
        result(t, op, 0, NULL, o);
    }
}

/* Arguments each command needs after its word (fixed part). */
static int arity(const char *w)
{
    static const struct {
        const char *w;
        int n;
    } tab[] = {{"login", 0}, {"extensions", 0}, {"list", 2},   {"get", 2},
               {"read", 3},  {"restore", 2},    {"delete", 2}, {"sync", 1},
               {"fetch", 3}, {"stats", 0},      {"sleep", 1},  {"reach", 1}};
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
    fprintf(stderr, "usage: rcapi [-c CREDFILE] [-d] [-t SECONDS] [-m MEDIA_URL] [-j DOWNLOADS] "
                    "[-P THREADS] [-b] COMMAND [ARGS]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *credfile = NULL, *media = NULL;
    int timeout = 30, downloads = 4, threads = 1, opt;
    bool debug = false, to_stderr = false;
    struct tool t = {.prio = API_PRIO_USER, .out = stdout};
    struct cred cr;
    char err[512];

    while ((opt = getopt(argc, argv, "+c:dt:m:j:P:bh")) != -1) {
        switch (opt) {
        case 'c':
            credfile = optarg;
            break;
        case 'd':
            debug = true;
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        case 'm':
            media = optarg;
            break;
        case 'j':
            downloads = atoi(optarg);
            break;
        case 'P':
            threads = atoi(optarg);
            break;
        case 'b':
            t.prio = API_PRIO_BACKGROUND;
            break;
        default:
            usage();
        }
    }
    log_init(false, debug);
    t.cmds = mem_calloc((size_t)argc, sizeof(*t.cmds));
    for (int i = optind; i < argc;) {
        int n = arity(argv[i]), j = i + 1 + n;
        if (n < 0 || j > argc) {
            fprintf(stderr, "rcapi: bad command or missing arguments at '%s'\n", argv[i]);
            free(t.cmds);
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
        t.cmds[t.ncmds++] = (struct cmd){.argv = &argv[i], .argc = j - i};
        i = j;
    }
    if (t.ncmds == 0)
        usage();
    if (to_stderr)
        t.out = stderr;
    pthread_mutex_init(&t.out_lock, NULL);
    if (cred_load(&cr, credfile, err, sizeof(err)) != 0) {
        result(&t, "credentials", -EINVAL, err, NULL);
        free(t.cmds);
        return 1;
    }
    struct api_opts o = {.server_url = cr.server_url,
                         .client_id = cr.client_id,
                         .client_secret = cr.client_secret,
                         .jwt = cr.jwt,
                         .media_url = media,
                         .timeout_s = timeout,
                         .max_downloads = downloads,
                         .verbose_http = debug};
    int rc = api_new(&o, &t.api, err, sizeof(err));
    cred_free(&cr);
    if (rc != 0) {
        result(&t, "new", rc, err, NULL);
        free(t.cmds);
        return 1;
    }
    if (threads <= 1) {
        for (int i = 0; i < t.ncmds; i++)
            run(&t, &t.cmds[i]);
    } else {
        pthread_t *tid = mem_calloc((size_t)threads, sizeof(*tid));
        for (int i = 0; i < threads; i++)
            pthread_create(&tid[i], NULL, worker, &t);
        for (int i = 0; i < threads; i++)
            pthread_join(tid[i], NULL);
        free(tid);
        for (int i = 0; i < t.ncmds; i++)
            if (strcmp(t.cmds[i].argv[0], "stats") == 0)
                run(&t, &t.cmds[i]);
    }
    api_free(t.api);
    free(t.cmds);
    return t.failed ? 1 : 0;
}

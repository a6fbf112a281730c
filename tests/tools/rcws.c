/*
 * rcws — drive the push notifier (api/api_ws.h) from the command line, for tests.
 *
 *   rcws [-c CREDFILE] [-d] [-n] [-m BACKOFF_MIN_MS] [-M BACKOFF_MAX_MS]
 *        [-u UNAVAILABLE_RETRY_S] [-f SECONDS] EXT_ID [EXT_ID...]
 *
 * Logs in, starts the notifier for the given extension ids (-n: without the
 * instant SMS filter) and prints one JSON line per state change
 * {"op": "state", "state": "SUBSCRIBED"|..., "ms": since start} and per event
 * {"op": "event", "ext": "id", "new": ["id", ...], "updated": n, "instant": b,
 * "ms": ...}.  It stops when its standard input closes, on SIGTERM/SIGINT, or
 * after -f SECONDS; then prints {"op": "stopped", "stop_ms": how long
 * api_ws_stop took} and {"op": "stats", ...} and exits 0 (1 when the login
 * or the start failed).  -d: debug log on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_cred.h"
#include "api/api_err.h"
#include "api/api_ws.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/mem.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t t0;
static volatile sig_atomic_t got_signal;

static void emit(struct json_object *o)
{
    json_object_object_add(o, "ms", json_object_new_int64(isotime_mono_ms() - t0));
    pthread_mutex_lock(&out_lock);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    json_object_put(o);
}

static struct json_object *u64s(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    return json_object_new_string(b);
}

static void on_event(void *ctx, const struct api_ws_event *ev)
{
    struct json_object *o = json_object_new_object(), *ids = json_object_new_array();

    json_object_object_add(o, "op", json_object_new_string("event"));
    json_object_object_add(o, "ext", u64s(ev->ext_id));
    for (size_t i = 0; i < ev->n_new; i++)
        json_object_array_add(ids, u64s(ev->new_ids[i]));
    json_object_object_add(o, "new", ids);
    json_object_object_add(o, "updated", json_object_new_int64((int64_t)ev->n_updated));
    json_object_object_add(o, "instant", json_object_new_boolean(ev->instant));
    emit(o);
}

static void on_state(void *ctx, enum api_ws_state st)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "op", json_object_new_string("state"));
    json_object_object_add(o, "state", json_object_new_string(api_ws_state_name(st)));
    emit(o);
}

static void on_signal(int sig)
{
    got_signal = sig;
}

static void result(const char *op, int rc, const char *msg)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "op", json_object_new_string(op));
    json_object_object_add(o, "rc", json_object_new_int(rc));
    json_object_object_add(o, "errno", json_object_new_string(errmap_name(rc)));
    if (msg && *msg)
        json_object_object_add(o, "error", json_object_new_string(msg));
    emit(o);
}

/* Until stdin closes, a signal, or the deadline (0 = none). */
static void wait_for_end(int64_t deadline)
{
    while (!got_signal && (!deadline || isotime_mono_ms() < deadline)) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        char b[256];

        if (poll(&p, 1, 100) > 0 && (p.revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(STDIN_FILENO, b, sizeof(b));
            if (n <= 0 && !(n < 0 && errno == EINTR))
                return;
        }
    }
}

static void print_stats(struct api_ws *w, int64_t stop_ms)
{
    struct api_ws_stats st;
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "op", json_object_new_string("stopped"));
    json_object_object_add(o, "stop_ms", json_object_new_int64(stop_ms));
    emit(o);
    api_ws_get_stats(w, &st);
    o = json_object_new_object();
    json_object_object_add(o, "op", json_object_new_string("stats"));
    json_object_object_add(o, "wstokens", json_object_new_int64((int64_t)st.wstokens));
    json_object_object_add(o, "connects", json_object_new_int64((int64_t)st.connects));
    json_object_object_add(o, "recovered", json_object_new_int64((int64_t)st.recovered));
    json_object_object_add(o, "subscribed", json_object_new_int64((int64_t)st.subscribed));
    json_object_object_add(o, "heartbeats", json_object_new_int64((int64_t)st.heartbeats));
    json_object_object_add(o, "events", json_object_new_int64((int64_t)st.events));
    emit(o);
}

static int run(const struct api_opts *ao, struct api_ws_opts *wo, int64_t deadline)
{
    struct api *a;
    struct api_ws *w = NULL;
    struct api_call call = {0};
    char err[512] = "";
    int64_t s0;
    int rc = api_new(ao, &a, err, sizeof(err));

    if (rc != 0) {
        result("new", rc, err);
        return 1;
    }
    rc = api_login(a, &call, err, sizeof(err));
    result("login", rc, err);
    if (rc == 0 && (rc = api_ws_new(a, wo, &w)) == 0)
        rc = api_ws_start(w);
    if (rc != 0) {
        result("start", rc, NULL);
    } else {
        wait_for_end(deadline);
        s0 = isotime_mono_ms();
        api_ws_stop(w);
        print_stats(w, isotime_mono_ms() - s0);
    }
    api_ws_free(w);
    api_free(a);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *credfile = NULL;
    struct api_ws_opts wo = {.instant_sms = true, .on_event = on_event, .on_state = on_state};
    int64_t deadline = 0;
    bool debug = false;
    struct cred cr;
    char err[512];
    uint64_t *ids;
    int opt, rc;

    t0 = isotime_mono_ms();
    while ((opt = getopt(argc, argv, "c:dnm:M:u:f:")) != -1) {
        switch (opt) {
        case 'c':
            credfile = optarg;
            break;
        case 'd':
            debug = true;
            break;
        case 'n':
            wo.instant_sms = false;
            break;
        case 'm':
            wo.backoff_min_ms = atoi(optarg);
            break;
        case 'M':
            wo.backoff_max_ms = atoi(optarg);
            break;
        case 'u':
            wo.unavailable_retry_s = atoi(optarg);
            break;
        case 'f':
            deadline = t0 + (int64_t)(atof(optarg) * 1000);
            break;
        default:
            fprintf(stderr, "usage: rcws [-c CREDFILE] [-d] [-n] [-m MS] [-M MS] [-u S] [-f S] "
                            "EXT_ID...\n");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "rcws: give at least one extension id\n");
        return 2;
    }
    ids = mem_calloc((size_t)(argc - optind), sizeof(*ids));
    for (int i = optind; i < argc; i++) {
        char *end;
        errno = 0;
        ids[i - optind] = strtoull(argv[i], &end, 10);
        if (errno || *end || end == argv[i]) {
            fprintf(stderr, "rcws: bad extension id '%s'\n", argv[i]);
            free(ids);
            return 2;
        }
    }
    wo.ext_ids = ids;
    wo.n_ext = (size_t)(argc - optind);
    log_init(false, debug);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (cred_load(&cr, credfile, err, sizeof(err)) != 0) {
        result("credentials", -EINVAL, err);
        free(ids);
        return 1;
    }
    struct api_opts ao = {.server_url = cr.server_url,
                          .client_id = cr.client_id,
                          .client_secret = cr.client_secret,
                          .jwt = cr.jwt,
                          .timeout_s = 30,
                          .max_downloads = 2,
                          .verbose_http = debug};
    rc = run(&ao, &wo, deadline);
    cred_free(&cr);
    free(ids);
    return rc;
}

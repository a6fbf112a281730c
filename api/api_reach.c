/* api_reach — per-extension answers to reading its messages (see api_reach.h). */
#include "api/api_reach.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

struct reach_entry {
    uint64_t ext_id;     /* extension id */
    enum api_reach what; /* the last telling answer */
};

struct reach {
    pthread_mutex_t lock; /* guards the array */
    struct reach_entry *v;
    size_t n, cap;
};

struct reach *reach_new(void)
{
    struct reach *r = mem_calloc(1, sizeof(*r));

    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void reach_free(struct reach *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->v);
    free(r);
}

/* The extension id of a URL whose path has "/extension/<digits>/message-store"
 * or "/extension/<digits>/message-sync"; false for any other URL. */
static bool messages_of(const char *url, uint64_t *ext_id)
{
    const char *p = strstr(url, "/extension/");
    uint64_t v = 0;
    size_t n = 0;

    if (!p)
        return false;
    p += strlen("/extension/");
    for (; p[n] >= '0' && p[n] <= '9' && n < 20; n++)
        v = v * 10 + (uint64_t)(p[n] - '0');
    if (n == 0 || n == 20)
        return false;
    p += n;
    if (strncmp(p, "/message-store", 14) != 0 && strncmp(p, "/message-sync", 13) != 0)
        return false;
    *ext_id = v;
    return true;
}

static enum api_reach verdict(long status)
{
    if (status == 403)
        return API_REACH_FORBIDDEN;
    if ((status >= 200 && status <= 299) || status == 400 || status == 404 || status == 416)
        return API_REACH_OK;
    return API_REACH_UNKNOWN; /* 401, 429, 5xx, no answer: nothing about permission */
}

void reach_note(struct reach *r, const char *method, const char *url, long status)
{
    enum api_reach what = verdict(status);
    uint64_t ext_id;
    size_t i;

    if (what == API_REACH_UNKNOWN || strcmp(method, "GET") != 0 || !messages_of(url, &ext_id))
        return;
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->n && r->v[i].ext_id != ext_id; i++)
        ;
    if (i == r->n) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 8;
            r->v = mem_reallocarray(r->v, r->cap, sizeof(*r->v));
        }
        r->v[r->n++].ext_id = ext_id;
    }
    r->v[i].what = what;
    pthread_mutex_unlock(&r->lock);
}

enum api_reach reach_get(struct reach *r, uint64_t ext_id)
{
    enum api_reach what = API_REACH_UNKNOWN;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].ext_id == ext_id)
            what = r->v[i].what;
    pthread_mutex_unlock(&r->lock);
    return what;
}

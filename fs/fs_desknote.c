/* fs_desknote — desktop notifications of new messages (see fs_desknote.h). */
#include "fs/fs_desknote.h"

#include <errno.h>
#include <libnotify/notify.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb.h"
#include "util/cond.h"
#include "util/log.h"
#include "util/mem.h"

/* How long after a burst's first message the summary of the rest waits. */
#define BURST_MS 3000

struct fs_desknote {
    struct mb *mb;
    pthread_t thread;
    bool started, stop;
    pthread_mutex_t lock; /* guards the queue and stop */
    pthread_cond_t cond;
    uint32_t queue[64]; /* slots to announce (a ring; beyond it, counted only) */
    unsigned head, n;
    unsigned dropped; /* arrivals beyond the queue */
};

struct fs_desknote *desknote_new(void)
{
    struct fs_desknote *d = mem_calloc(1, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    cond_init_mono(&d->cond);
    return d;
}

void desknote_add(struct fs_desknote *d, uint32_t slot)
{
    if (!d || !d->started)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->n < sizeof d->queue / sizeof d->queue[0])
        d->queue[(d->head + d->n++) % (sizeof d->queue / sizeof d->queue[0])] = slot;
    else
        d->dropped++;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

/* One notification; false when the bus refused it. */
static bool show(const char *title, const char *body)
{
    NotifyNotification *n = notify_notification_new(title, body, "mail-message-new");
    GError *err = NULL;
    bool ok = notify_notification_show(n, &err);
    if (!ok) {
        log_debug("desktop notification: %s", err ? err->message : "refused");
        g_clear_error(&err);
    }
    g_object_unref(n);
    return ok;
}

/* The first words of text, at most 120 bytes, on one line. */
static char *first_words(const char *text)
{
    char *s = mem_strndup(text ? text : "", 120);
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return s;
}

/* Title and body for message slot; false when it is not worth one. */
static bool describe(struct mb *mb, uint32_t slot, char **title, char **body)
{
    struct mb_msg_info info;
    if (mb_msg_info(mb, slot, &info) < 0 || info.direction != REC_INBOUND ||
        info.read_status != REC_UNREAD ||
        (info.type != REC_FAX && info.type != REC_VOICEMAIL && info.type != REC_SMS))
        return false;
    char *peer = NULL, *subject = NULL;
    mb_msg_sender(mb, slot, &peer);
    mb_msg_subject(mb, slot, &subject);
    const char *what = info.type == REC_FAX ? "fax" : info.type == REC_SMS ? "text" : "voicemail";
    *title = mem_printf("New %s from %s", what, peer && *peer ? peer : "an unknown sender");
    *body = info.type == REC_SMS ? first_words(subject) : mem_printf("%s", info.name);
    free(peer);
    free(subject);
    return true;
}

/* Take the next slot (lock held); false on stop. */
static bool next(struct fs_desknote *d, uint32_t *slot, unsigned *dropped)
{
    while (!d->n && !d->stop)
        pthread_cond_wait(&d->cond, &d->lock);
    if (d->stop)
        return false;
    *slot = d->queue[d->head];
    d->head = (d->head + 1) % (sizeof d->queue / sizeof d->queue[0]);
    d->n--;
    *dropped = d->dropped;
    d->dropped = 0;
    return true;
}

static void *desknote_main(void *arg)
{
    struct fs_desknote *d = arg;
    unsigned shown = 0, more = 0, dropped;
    uint32_t slot;
    pthread_mutex_lock(&d->lock);
    while (next(d, &slot, &dropped)) {
        bool last = d->n == 0;
        pthread_mutex_unlock(&d->lock);
        char *title, *body;
        more += dropped;
        if (describe(d->mb, slot, &title, &body)) {
            if (shown < DESKNOTE_BURST && show(title, body))
                shown++;
            else
                more++;
            free(title);
            free(body);
        }
        if (last && more) { /* the burst is over: sum the rest up */
            char *t = mem_printf("and %u more new messages", more);
            show(t, "");
            free(t);
        }
        if (last)
            shown = more = 0;
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int desknote_start(struct fs_desknote *d, struct mb *mb)
{
    if (!notify_init("rcfs")) {
        log_warn("desktop notifications are off: no session bus (DBUS_SESSION_BUS_ADDRESS)");
        return -ENOTCONN;
    }
    d->mb = mb;
    int rc = pthread_create(&d->thread, NULL, desknote_main, d);
    if (rc) {
        notify_uninit();
        return -rc;
    }
    d->started = true;
    return 0;
}

void desknote_free(struct fs_desknote *d)
{
    if (!d)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->lock);
        d->stop = true;
        pthread_cond_signal(&d->cond);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->thread, NULL);
        notify_uninit();
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    free(d);
}

/* fs_notify — kernel cache invalidation (see fs_notify.h). */
#include "fs/fs_notify.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/cond.h"
#include "util/log.h"
#include "util/mem.h"

struct item {
    uint64_t parent; /* directory (entry) or inode (inode invalidation) */
    bool inode;      /* an inode invalidation, not an entry */
    struct item *next;
    char name[]; /* NUL-terminated entry name ("" for an inode) */
};

struct fs_notify {
    struct fuse_session *se;
    pthread_t thread;
    bool started, stop;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* work arrived or stop */
    pthread_cond_t idle; /* queue drained */
    struct item *head, *tail;
    bool busy; /* the thread is sending one */
};

struct fs_notify *fs_notify_new(void)
{
    struct fs_notify *n = mem_calloc(1, sizeof *n);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    cond_init_mono(&n->idle);
    return n;
}

static int send_item(struct fuse_session *se, const struct item *it)
{
    if (it->inode)
        return fuse_lowlevel_notify_inval_inode(se, it->parent, 0, 0);
    return fuse_lowlevel_notify_inval_entry(se, it->parent, it->name, strlen(it->name));
}

static void *notify_main(void *arg)
{
    struct fs_notify *n = arg;
    pthread_mutex_lock(&n->lock);
    for (;;) {
        while (!n->head && !n->stop)
            pthread_cond_wait(&n->cond, &n->lock);
        if (n->stop)
            break;
        struct item *it = n->head;
        n->head = it->next;
        if (!n->head)
            n->tail = NULL;
        n->busy = true;
        pthread_mutex_unlock(&n->lock);
        int rc = send_item(n->se, it);
        if (rc < 0 && rc != -ENOENT)
            log_debug("inval_%s %s: %s", it->inode ? "inode" : "entry", it->name, strerror(-rc));
        free(it);
        pthread_mutex_lock(&n->lock);
        n->busy = false;
        if (!n->head)
            pthread_cond_broadcast(&n->idle);
    }
    pthread_mutex_unlock(&n->lock);
    return NULL;
}

int fs_notify_start(struct fs_notify *n, struct fuse_session *se)
{
    n->se = se;
    int rc = pthread_create(&n->thread, NULL, notify_main, n);
    if (rc)
        return -rc;
    n->started = true;
    return 0;
}

void fs_notify_inode(struct fs_notify *n, uint64_t ino)
{
    if (!n || !n->started)
        return;
    int rc = fuse_lowlevel_notify_inval_inode(n->se, ino, 0, 0);
    if (rc < 0 && rc != -ENOENT)
        log_debug("inval_inode %llx: %s", (unsigned long long)ino, strerror(-rc));
}

static void enqueue(struct fs_notify *n, uint64_t parent, bool inode, const char *name)
{
    size_t l = strlen(name) + 1;
    struct item *it = mem_alloc(sizeof *it + l);
    it->parent = parent;
    it->inode = inode;
    it->next = NULL;
    memcpy(it->name, name, l);
    pthread_mutex_lock(&n->lock);
    if (n->tail)
        n->tail->next = it;
    else
        n->head = it;
    n->tail = it;
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
}

void fs_notify_entry(struct fs_notify *n, uint64_t parent, const char *name)
{
    if (!n || !n->started || !name)
        return;
    enqueue(n, parent, false, name);
}

void fs_notify_inode_async(struct fs_notify *n, uint64_t ino)
{
    if (!n || !n->started)
        return;
    enqueue(n, ino, true, "");
}

int fs_notify_flush(struct fs_notify *n, int64_t deadline_ms)
{
    int rc = 0;
    if (!n || !n->started)
        return 0;
    pthread_mutex_lock(&n->lock);
    while ((n->head || n->busy) && !n->stop && rc == 0)
        if (cond_wait_until(&n->idle, &n->lock, deadline_ms) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    pthread_mutex_unlock(&n->lock);
    return rc;
}

void fs_notify_free(struct fs_notify *n)
{
    if (!n)
        return;
    if (n->started) {
        pthread_mutex_lock(&n->lock);
        n->stop = true;
        pthread_cond_broadcast(&n->cond);
        pthread_cond_broadcast(&n->idle);
        pthread_mutex_unlock(&n->lock);
        pthread_join(n->thread, NULL);
    }
    while (n->head) {
        struct item *it = n->head;
        n->head = it->next;
        free(it);
    }
    pthread_mutex_destroy(&n->lock);
    pthread_cond_destroy(&n->cond);
    pthread_cond_destroy(&n->idle);
    free(n);
}

/* fs_live — inotify events for changes from the server (see fs_live.h). */
#include "fs/fs_live.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

enum live_op { LIVE_MKDIR, LIVE_SYMLINK, LIVE_RMDIR, LIVE_UNLINK, LIVE_ATTRIB };

struct live_item {
    enum live_op op;
    uint64_t parent; /* directory of the entry (all but ATTRIB) */
    uint64_t child;  /* the inode a removed entry was (RMDIR, UNLINK) */
    char *path;      /* relative to the mount root */
    char *name;      /* last component (MKDIR, SYMLINK) */
    char *target;    /* SYMLINK */
    struct live_item *next;
};

struct fs_live {
    struct fuse_session *se;
    char *mountpoint;
    dev_t dev; /* the mount's device, once seen (live thread only) */
    pthread_t thread;
    bool started;
    _Atomic int tid;      /* the live thread's id (0 before it runs) */
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* work arrived, stop, or idle */
    bool stop, busy;
    struct live_item *head, *tail;
    unsigned queued;
    uint64_t pending_parent; /* the entry being created or removed ("" = none) */
    uint64_t pending_child;  /* 0: being created; else the inode being removed */
    char pending_name[256];
};

struct fs_live *fs_live_new(void)
{
    struct fs_live *l = mem_calloc(1, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    return l;
}

static void item_free(struct live_item *it)
{
    free(it->path);
    free(it->name);
    free(it->target);
    free(it);
}

static void enqueue(struct fs_live *l, struct live_item *it)
{
    struct live_item *dropped = NULL;
    pthread_mutex_lock(&l->lock);
    if (!l->started || l->stop) {
        pthread_mutex_unlock(&l->lock);
        item_free(it);
        return;
    }
    if (l->queued >= LIVE_QUEUE_MAX) { /* the oldest event is lost, never the listing */
        dropped = l->head;
        l->head = dropped->next;
        if (!l->head)
            l->tail = NULL;
        l->queued--;
    }
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->queued++;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    if (dropped) {
        log_debug("live: queue full, an event for %s is dropped", dropped->path);
        item_free(dropped);
    }
}

void fs_live_mkdir(struct fs_live *l, uint64_t parent, const char *path, const char *name)
{
    if (!l)
        return;
    struct live_item *it = mem_calloc(1, sizeof *it);
    *it = (struct live_item){
        .op = LIVE_MKDIR, .parent = parent, .path = mem_strdup(path), .name = mem_strdup(name)};
    enqueue(l, it);
}

void fs_live_symlink(struct fs_live *l, uint64_t parent, const char *path, const char *name,
                     const char *target)
{
    if (!l)
        return;
    struct live_item *it = mem_calloc(1, sizeof *it);
    *it = (struct live_item){.op = LIVE_SYMLINK,
                             .parent = parent,
                             .path = mem_strdup(path),
                             .name = mem_strdup(name),
                             .target = mem_strdup(target)};
    enqueue(l, it);
}

void fs_live_remove(struct fs_live *l, uint64_t parent, const char *path, const char *name,
                    uint64_t child, bool dir)
{
    if (!l)
        return;
    struct live_item *it = mem_calloc(1, sizeof *it);
    *it = (struct live_item){.op = dir ? LIVE_RMDIR : LIVE_UNLINK,
                             .parent = parent,
                             .child = child,
                             .path = mem_strdup(path),
                             .name = mem_strdup(name)};
    enqueue(l, it);
}

void fs_live_attrib(struct fs_live *l, const char *path)
{
    if (!l)
        return;
    struct live_item *it = mem_calloc(1, sizeof *it);
    *it = (struct live_item){.op = LIVE_ATTRIB, .path = mem_strdup(path)};
    enqueue(l, it);
}

bool fs_live_own(const struct fs_live *l, fuse_req_t req)
{
    return l && atomic_load(&l->tid) != 0 && fuse_req_ctx(req)->pid == atomic_load(&l->tid);
}

bool fs_live_pending(struct fs_live *l, fuse_req_t req, uint64_t parent, const char *name,
                     uint64_t *child)
{
    if (!fs_live_own(l, req))
        return false;
    pthread_mutex_lock(&l->lock);
    bool p = l->pending_parent == parent && strcmp(l->pending_name, name) == 0;
    *child = l->pending_child;
    pthread_mutex_unlock(&l->lock);
    return p;
}

static void set_pending(struct fs_live *l, uint64_t parent, const char *name, uint64_t child)
{
    pthread_mutex_lock(&l->lock);
    l->pending_parent = parent;
    l->pending_child = child;
    snprintf(l->pending_name, sizeof l->pending_name, "%s", name ? name : "");
    pthread_mutex_unlock(&l->lock);
}

/* The system call of one operation (relative to the root fd). */
static int syscall_of(int root, const struct live_item *it)
{
    switch (it->op) {
    case LIVE_MKDIR:
        return mkdirat(root, it->path, 0700);
    case LIVE_SYMLINK:
        return symlinkat(it->target, root, it->path);
    case LIVE_RMDIR:
        return unlinkat(root, it->path, AT_REMOVEDIR);
    case LIVE_UNLINK:
        return unlinkat(root, it->path, 0);
    default:
        return -1;
    }
}

/* The mount's root, opened for one operation (never kept: an open fd would
 * make a plain unmount fail with EBUSY).  -1 when rcfs is not mounted there
 * (any more): then nothing is done, and nothing touches the folder below. */
static int open_root(struct fs_live *l)
{
    int fd = open(l->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 &&
        (fstat(fd, &st) != 0 || st.st_ino != FUSE_ROOT_ID || (l->dev && st.st_dev != l->dev))) {
        close(fd);
        return -1;
    }
    if (fd >= 0 && !l->dev)
        l->dev = st.st_dev;
    return fd;
}

/* Perform one operation on the mount. */
static void perform(struct fs_live *l, const struct live_item *it)
{
    int root = open_root(l);
    if (root < 0)
        return;
    int rc = 0;
    if (it->op == LIVE_ATTRIB) {
        char proc[64 + 1024];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", root, it->path);
        rc = lsetxattr(proc, LIVE_XATTR, "1", 1, 0);
    } else {
        /* Drop a cached entry (negative or stale) so the kernel asks us. */
        fuse_lowlevel_notify_inval_entry(l->se, it->parent, it->name, strlen(it->name));
        set_pending(l, it->parent, it->name, it->child);
        rc = syscall_of(root, it);
        set_pending(l, 0, NULL, 0);
    }
    if (rc < 0 && errno != EEXIST && errno != ENOENT)
        log_debug("live: op %d on %s: %s", (int)it->op, it->path, strerror(errno));
    close(root);
}

static void *live_main(void *arg)
{
    struct fs_live *l = arg;
    atomic_store(&l->tid, (int)gettid());
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (!l->head && !l->stop)
            pthread_cond_wait(&l->cond, &l->lock);
        if (l->stop)
            break;
        struct live_item *it = l->head;
        l->head = it->next;
        if (!l->head)
            l->tail = NULL;
        l->queued--;
        l->busy = true;
        pthread_mutex_unlock(&l->lock);
        perform(l, it);
        item_free(it);
        pthread_mutex_lock(&l->lock);
        l->busy = false;
        pthread_cond_broadcast(&l->cond);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int fs_live_start(struct fs_live *l, struct fuse_session *se, const char *mountpoint)
{
    l->se = se;
    l->mountpoint = mem_strdup(mountpoint);
    int rc = pthread_create(&l->thread, NULL, live_main, l);
    if (rc)
        return -rc;
    pthread_mutex_lock(&l->lock);
    l->started = true;
    pthread_mutex_unlock(&l->lock);
    return 0;
}

void fs_live_stop(struct fs_live *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    bool started = l->started;
    l->stop = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    if (started)
        pthread_join(l->thread, NULL);
    pthread_mutex_lock(&l->lock);
    l->started = false;
    while (l->head) {
        struct live_item *it = l->head;
        l->head = it->next;
        item_free(it);
    }
    l->tail = NULL;
    l->queued = 0;
    pthread_mutex_unlock(&l->lock);
}

void fs_live_free(struct fs_live *l)
{
    if (!l)
        return;
    fs_live_stop(l);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l->mountpoint);
    free(l);
}

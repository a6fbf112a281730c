/* fs_scratch — small short-lived files kept in memory (see fs_scratch.h). */
#include "fs/fs_scratch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define NAME_MAX_BYTES 255

struct file {
    uint32_t id; /* 0: free */
    char name[NAME_MAX_BYTES + 1];
    char *data;
    size_t len;
    int64_t born_ms;
};

struct fs_scratch {
    pthread_mutex_t lock;
    uint32_t max_files;
    size_t max_bytes;
    int64_t ttl_ms;
    uint32_t next_id;
    struct file *f; /* max_files entries */
};

struct fs_scratch *fs_scratch_new(uint32_t max_files, size_t max_bytes, int64_t ttl_ms)
{
    struct fs_scratch *s = mem_calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->max_files = max_files;
    s->max_bytes = max_bytes;
    s->ttl_ms = ttl_ms;
    s->next_id = 1;
    s->f = mem_calloc(max_files ? max_files : 1, sizeof *s->f);
    return s;
}

static void drop(struct file *f)
{
    free(f->data);
    memset(f, 0, sizeof *f);
}

void fs_scratch_free(struct fs_scratch *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->max_files; i++)
        drop(&s->f[i]);
    free(s->f);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    return n > NAME_MAX_BYTES ? -ENAMETOOLONG : 0;
}

/* Lock s and forget what expired. */
static void lock(struct fs_scratch *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < s->max_files; i++)
        if (s->f[i].id && now_ms - s->f[i].born_ms >= s->ttl_ms)
            drop(&s->f[i]);
}

static struct file *by_name(struct fs_scratch *s, const char *name)
{
    for (uint32_t i = 0; i < s->max_files; i++)
        if (s->f[i].id && strcmp(s->f[i].name, name) == 0)
            return &s->f[i];
    return NULL;
}

static struct file *by_id(struct fs_scratch *s, uint32_t id)
{
    for (uint32_t i = 0; id && i < s->max_files; i++)
        if (s->f[i].id == id)
            return &s->f[i];
    return NULL;
}

int fs_scratch_create(struct fs_scratch *s, const char *name, int64_t now_ms, uint32_t *id)
{
    int rc = check_name(name);
    if (rc < 0)
        return rc;
    lock(s, now_ms);
    struct file *f = NULL;
    if (by_name(s, name)) {
        rc = -EEXIST;
    } else {
        for (uint32_t i = 0; !f && i < s->max_files; i++)
            if (!s->f[i].id)
                f = &s->f[i];
        rc = f ? 0 : -ENOSPC;
    }
    if (f) {
        f->id = s->next_id++;
        if (s->next_id == 0)
            s->next_id = 1;
        strcpy(f->name, name);
        f->born_ms = now_ms;
        *id = f->id;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fs_scratch_find(struct fs_scratch *s, const char *name, int64_t now_ms, uint32_t *id)
{
    lock(s, now_ms);
    struct file *f = by_name(s, name);
    if (f)
        *id = f->id;
    pthread_mutex_unlock(&s->lock);
    return f ? 0 : -ENOENT;
}

int fs_scratch_stat(struct fs_scratch *s, uint32_t id, int64_t now_ms, size_t *size,
                    int64_t *born_ms)
{
    lock(s, now_ms);
    struct file *f = by_id(s, id);
    if (f) {
        *size = f->len;
        *born_ms = f->born_ms;
    }
    pthread_mutex_unlock(&s->lock);
    return f ? 0 : -ENOENT;
}

/* Make f exactly size bytes long (new bytes zero).  0 or -EFBIG. */
static int resize(struct fs_scratch *s, struct file *f, size_t size)
{
    if (size > s->max_bytes)
        return -EFBIG;
    if (size > f->len) {
        f->data = mem_realloc(f->data, size);
        memset(f->data + f->len, 0, size - f->len);
    }
    f->len = size;
    return 0;
}

ssize_t fs_scratch_write(struct fs_scratch *s, uint32_t id, const void *buf, size_t len, off_t off,
                         int64_t now_ms)
{
    if (off < 0)
        return -EINVAL;
    lock(s, now_ms);
    struct file *f = by_id(s, id);
    ssize_t rc = -ENOENT;
    if (f) {
        size_t end = (size_t)off + len;
        rc = (size_t)off > s->max_bytes || end < len ? -EFBIG : 0;
        if (rc == 0 && end > f->len)
            rc = resize(s, f, end);
        if (rc == 0 && len) {
            memcpy(f->data + off, buf, len);
            rc = (ssize_t)len;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

ssize_t fs_scratch_read(struct fs_scratch *s, uint32_t id, void *buf, size_t len, off_t off,
                        int64_t now_ms)
{
    if (off < 0)
        return -EINVAL;
    lock(s, now_ms);
    struct file *f = by_id(s, id);
    ssize_t rc = -ENOENT;
    if (f) {
        size_t n = (size_t)off >= f->len ? 0 : f->len - (size_t)off;
        if (n > len)
            n = len;
        if (n)
            memcpy(buf, f->data + off, n);
        rc = (ssize_t)n;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fs_scratch_truncate(struct fs_scratch *s, uint32_t id, size_t size, int64_t now_ms)
{
    lock(s, now_ms);
    struct file *f = by_id(s, id);
    int rc = f ? resize(s, f, size) : -ENOENT;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fs_scratch_rename(struct fs_scratch *s, const char *from, const char *to, int64_t now_ms)
{
    int rc = check_name(to);
    if (rc < 0)
        return rc;
    lock(s, now_ms);
    struct file *f = by_name(s, from), *old = by_name(s, to);
    if (!f) {
        rc = -ENOENT;
    } else if (old != f) {
        if (old)
            drop(old);
        strcpy(f->name, to);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fs_scratch_remove(struct fs_scratch *s, const char *name, int64_t now_ms)
{
    lock(s, now_ms);
    struct file *f = by_name(s, name);
    if (f)
        drop(f);
    pthread_mutex_unlock(&s->lock);
    return f ? 0 : -ENOENT;
}

void fs_scratch_each(struct fs_scratch *s, int64_t now_ms,
                     void (*fn)(void *ctx, const char *name, uint32_t id), void *ctx)
{
    lock(s, now_ms);
    /* Creation order: ids only grow (a wrap after 4 billion files only reorders). */
    uint32_t last = 0;
    for (;;) {
        struct file *next = NULL;
        for (uint32_t i = 0; i < s->max_files; i++)
            if (s->f[i].id > last && (!next || s->f[i].id < next->id))
                next = &s->f[i];
        if (!next)
            break;
        last = next->id;
        fn(ctx, next->name, next->id);
    }
    pthread_mutex_unlock(&s->lock);
}

/* api_sendbody — a streamed multipart/form-data body (see api_sendbody.h). */
#include "api/api_sendbody.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/mem.h"

/* One stretch of the body: bytes held here, or a file's first len bytes. */
struct seg {
    char *mem;    /* owned bytes, or NULL for a file */
    int fd;       /* the file (when mem is NULL) */
    uint64_t len; /* its length */
};

struct sendbody {
    char boundary[33];     /* 32 hex digits */
    char content_type[64]; /* "multipart/form-data; boundary=..." */
    char closing[40];      /* "--<boundary>--\r\n", read after the last segment */
    struct seg *segs;      /* the parts, in order */
    size_t nseg, cap;      /* used, allocated */
    uint64_t total;        /* length of segs plus closing */
    size_t cur;            /* read position: segment (nseg = the closing delimiter) */
    uint64_t off;          /* and offset in it */
    bool reading;          /* a read happened: no more parts */
};

static void random_hex(char *out, size_t ndigits)
{
    unsigned char raw[16];
    size_t want = (ndigits + 1) / 2;

    if (want > sizeof(raw) || getrandom(raw, want, 0) != (ssize_t)want) {
        /* no entropy source: time and address still make a boundary that no
         * document contains by accident */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uintptr_t)out;
        for (size_t i = 0; i < sizeof(raw); i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            raw[i] = (unsigned char)(x >> 56);
        }
    }
    for (size_t i = 0; i < ndigits; i++)
        out[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    out[ndigits] = '\0';
}

struct sendbody *sendbody_new(void)
{
    struct sendbody *b = mem_calloc(1, sizeof(*b));

    random_hex(b->boundary, 32);
    snprintf(b->content_type, sizeof(b->content_type), "multipart/form-data; boundary=%s",
             b->boundary);
    snprintf(b->closing, sizeof(b->closing), "--%s--\r\n", b->boundary);
    b->total = strlen(b->closing);
    return b;
}

void sendbody_free(struct sendbody *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nseg; i++)
        free(b->segs[i].mem);
    free(b->segs);
    free(b);
}

static void push(struct sendbody *b, char *mem, int fd, uint64_t len)
{
    if (b->nseg == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 8;
        b->segs = mem_reallocarray(b->segs, b->cap, sizeof(*b->segs));
    }
    b->segs[b->nseg++] = (struct seg){.mem = mem, .fd = fd, .len = len};
    b->total += len;
}

static bool is_token(const char *s)
{
    return s && *s &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
               strlen(s);
}

/* A media type as a header value may carry it: printable ASCII, no CR/LF. */
static bool is_media_type(const char *s)
{
    if (!s || !*s || !strchr(s, '/'))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

int sendbody_add_field(struct sendbody *b, const char *name, const char *value)
{
    if (b->reading || !is_token(name) || !value)
        return -EINVAL;
    char *part = mem_printf("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
                            "Content-Type: text/plain; charset=UTF-8\r\n\r\n%s\r\n",
                            b->boundary, name, value);
    push(b, part, -1, strlen(part));
    return 0;
}

int sendbody_add_file(struct sendbody *b, const char *name, const char *file_name,
                      const char *content_type, int fd, uint64_t size)
{
    char *safe, *head;

    if (b->reading || !is_token(name) || !is_media_type(content_type) || fd < 0)
        return -EINVAL;
    safe = mem_strdup(file_name ? file_name : "");
    for (char *p = safe; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\')
            *p = '_';
    head = mem_printf("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                      "Content-Type: %s\r\n\r\n",
                      b->boundary, name, safe, content_type);
    free(safe);
    push(b, head, -1, strlen(head));
    push(b, NULL, fd, size);
    push(b, mem_strdup("\r\n"), -1, 2);
    return 0;
}

const char *sendbody_content_type(const struct sendbody *b)
{
    return b->content_type;
}

uint64_t sendbody_length(const struct sendbody *b)
{
    return b->total;
}

int sendbody_rewind(void *ctx)
{
    struct sendbody *b = ctx;

    b->cur = 0;
    b->off = 0;
    return 0;
}

/* Copy up to n bytes of the current segment at the current offset. */
static ssize_t read_seg(struct sendbody *b, char *dst, size_t n)
{
    const char *mem = b->cur < b->nseg ? b->segs[b->cur].mem : b->closing;
    uint64_t len = b->cur < b->nseg ? b->segs[b->cur].len : strlen(b->closing);
    size_t k = len - b->off < n ? (size_t)(len - b->off) : n;
    ssize_t got;

    if (mem) {
        memcpy(dst, mem + b->off, k);
        return (ssize_t)k;
    }
    do
        got = pread(b->segs[b->cur].fd, dst, k, (off_t)b->off);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    if (got == 0)
        return -EIO; /* the document became shorter than announced */
    return got;
}

ssize_t sendbody_read(void *ctx, char *dst, size_t n)
{
    struct sendbody *b = ctx;
    size_t done = 0;

    b->reading = true;
    while (done < n && b->cur <= b->nseg) {
        uint64_t len = b->cur < b->nseg ? b->segs[b->cur].len : strlen(b->closing);
        if (b->off == len) {
            b->cur++;
            b->off = 0;
            continue;
        }
        ssize_t got = read_seg(b, dst + done, n - done);
        if (got < 0)
            return got;
        done += (size_t)got;
        b->off += (uint64_t)got;
    }
    return (ssize_t)done;
}

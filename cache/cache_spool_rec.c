/* cache_spool_rec — the spool's journal record format (see cache_spool.h). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cache/cache_spool.h"
#include "util/buf.h"
#include "util/mem.h"

#define MAGIC     "rcfs-spool 1\n"
#define CHECK_KEY "check="

/* Append s with every byte outside '!'..'~', and '%' '=', as %XX. */
static void put_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '%' && *p != '=') {
            buf_append(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(b, e, 3);
        }
    }
}

static void put_kv(struct buf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put_kv(struct buf *b, const char *key, const char *fmt, ...)
{
    char v[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    buf_printf(b, "%s=%s\n", key, v);
}

char *spool_rec_encode(const struct spool_rec *r, size_t *len)
{
    struct buf b;
    char hash[33];
    buf_init(&b, SIZE_MAX);
    buf_append(&b, MAGIC, strlen(MAGIC));
    put_kv(&b, "jid", "%016" PRIx64, r->jid);
    put_kv(&b, "kind", "%d", r->kind);
    put_kv(&b, "state", "%d", r->state);
    buf_append(&b, "folder=", 7);
    put_escaped(&b, r->folder ? r->folder : "");
    buf_append(&b, "\nname=", 6);
    put_escaped(&b, r->name ? r->name : "");
    buf_append(&b, "\n", 1);
    put_kv(&b, "size", "%" PRIu64, r->size);
    for (int i = 0; i < 16; i++)
        snprintf(hash + 2 * i, 3, "%02x", r->hash[i]);
    put_kv(&b, "hash", "%s", hash);
    put_kv(&b, "created", "%" PRId64, r->created_ms);
    put_kv(&b, "attempt", "%" PRId64, r->attempt_ms);
    put_kv(&b, "attempts", "%" PRIu32, r->attempts);
    put_kv(&b, "msg", "%" PRIu64, r->msg_id);
    put_kv(&b, "cover", "%d", r->cover);
    if (r->error) {
        buf_append(&b, "error=", 6);
        put_escaped(&b, r->error);
        buf_append(&b, "\n", 1);
    }
    buf_append(&b, "skip=", 5);
    for (uint32_t i = 0; i < r->n_skip && i < SPOOL_SKIP_MAX; i++)
        buf_printf(&b, "%s%" PRIu64, i ? "," : "", r->skip[i]);
    buf_append(&b, "\n", 1);
    put_kv(&b, "check", "%016" PRIx64, (uint64_t)XXH3_64bits(b.data, b.len));
    *len = b.len;
    return buf_steal(&b);
}

/* ---- decoding ------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescape n bytes of v: NULL when malformed or when it would hold a NUL. */
static char *unescape(const char *v, size_t n)
{
    char *out = mem_alloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(v[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(v[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto bad;
            out[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c > 0x20 && c < 0x7f && c != '=') {
            out[k++] = (char)c;
        } else {
            goto bad;
        }
    }
    out[k] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

/* A decimal (or, with hex, 16 hex digits) number of n bytes. */
static bool parse_u64(const char *v, size_t n, bool hex, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > (hex ? 16 : 20))
        return false;
    for (size_t i = 0; i < n; i++) {
        int d = hex ? hexval(v[i]) : (v[i] >= '0' && v[i] <= '9' ? v[i] - '0' : -1);
        if (d < 0 || (hex && v[i] >= 'A' && v[i] <= 'F'))
            return false;
        if (!hex && x > (UINT64_MAX - (uint64_t)d) / 10)
            return false;
        x = hex ? x << 4 | (uint64_t)d : x * 10 + (uint64_t)d;
    }
    *out = x;
    return true;
}

static bool parse_i64(const char *v, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    bool neg = n > 0 && v[0] == '-';
    uint64_t x;
    if (!parse_u64(v + neg, n - neg, false, &x) || x > (uint64_t)INT64_MAX)
        return false;
    int64_t s = neg ? -(int64_t)x : (int64_t)x;
    if (s < lo || s > hi)
        return false;
    *out = s;
    return true;
}

static bool parse_skip(const char *v, size_t n, struct spool_rec *r)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        if (r->n_skip == SPOOL_SKIP_MAX || !parse_u64(v + i, j - i, false, &r->skip[r->n_skip]))
            return false;
        r->n_skip++;
        if (j == n)
            break;
        i = j + 1;
        if (i == n)
            return false; /* a trailing comma */
    }
    return true;
}

/* Keys, in the order they are written; each must appear exactly once except
 * error, which may be absent. */
enum key {
    K_JID,
    K_KIND,
    K_STATE,
    K_FOLDER,
    K_NAME,
    K_SIZE,
    K_HASH,
    K_CREATED,
    K_ATTEMPT,
    K_ATTEMPTS,
    K_MSG,
    K_COVER,
    K_ERROR,
    K_SKIP,
    K_COUNT
};
static const char *const KEYS[K_COUNT] = {"jid",  "kind",  "state",   "folder",  "name",
                                          "size", "hash",  "created", "attempt", "attempts",
                                          "msg",  "cover", "error",   "skip"};

static bool parse_hash(const char *v, size_t n, uint8_t *h)
{
    if (n != 32)
        return false;
    for (int i = 0; i < 16; i++) {
        int a = hexval(v[2 * i]), b = hexval(v[2 * i + 1]);
        if (a < 0 || b < 0 || (v[2 * i] >= 'A' && v[2 * i] <= 'F') ||
            (v[2 * i + 1] >= 'A' && v[2 * i + 1] <= 'F'))
            return false;
        h[i] = (uint8_t)(a << 4 | b);
    }
    return true;
}

/* One value into r.  Returns false when it is malformed. */
static bool set_field(struct spool_rec *r, enum key k, const char *v, size_t n)
{
    int64_t x;
    uint64_t u;
    switch (k) {
    case K_JID:
        return n == 16 && parse_u64(v, n, true, &r->jid);
    case K_KIND:
    case K_STATE:
        if (!parse_i64(v, n, 0, 255, &x))
            return false;
        *(k == K_KIND ? &r->kind : &r->state) = (int)x;
        return true;
    case K_FOLDER:
        return (r->folder = unescape(v, n)) != NULL;
    case K_NAME:
        return (r->name = unescape(v, n)) != NULL;
    case K_ERROR:
        return (r->error = unescape(v, n)) != NULL;
    case K_SIZE:
        return parse_u64(v, n, false, &r->size);
    case K_HASH:
        return parse_hash(v, n, r->hash);
    case K_CREATED:
        return parse_i64(v, n, 0, INT64_MAX, &r->created_ms);
    case K_ATTEMPT:
        return parse_i64(v, n, 0, INT64_MAX, &r->attempt_ms);
    case K_ATTEMPTS:
        if (!parse_u64(v, n, false, &u) || u > UINT32_MAX)
            return false;
        r->attempts = (uint32_t)u;
        return true;
    case K_MSG:
        return parse_u64(v, n, false, &r->msg_id);
    case K_COVER:
        if (!parse_i64(v, n, 0, 1000000, &x))
            return false;
        r->cover = (int)x;
        return true;
    case K_SKIP:
        return parse_skip(v, n, r);
    default:
        return false;
    }
}

/* The lines between the magic and the check line, into r. */
static bool parse_lines(const char *p, const char *end, struct spool_rec *r)
{
    bool seen[K_COUNT] = {false};
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eq = nl ? memchr(p, '=', (size_t)(nl - p)) : NULL;
        if (!nl || !eq)
            return false;
        int k = 0;
        while (k < K_COUNT &&
               !(strlen(KEYS[k]) == (size_t)(eq - p) && memcmp(KEYS[k], p, (size_t)(eq - p)) == 0))
            k++;
        if (k == K_COUNT || seen[k] || !set_field(r, (enum key)k, eq + 1, (size_t)(nl - eq - 1)))
            return false;
        seen[k] = true;
        p = nl + 1;
    }
    for (int k = 0; k < K_COUNT; k++)
        if (!seen[k] && k != K_ERROR)
            return false;
    return true;
}

int spool_rec_decode(const char *text, size_t len, struct spool_rec *out)
{
    memset(out, 0, sizeof *out);
    size_t ml = strlen(MAGIC), cl = strlen(CHECK_KEY);
    /* "check=" + 16 hex + "\n" ends the record. */
    if (len < ml + cl + 17 || memcmp(text, MAGIC, ml) != 0 || text[len - 1] != '\n')
        return -EINVAL;
    const char *check = text + len - (cl + 17);
    uint64_t want;
    if (memcmp(check, CHECK_KEY, cl) != 0 || (check > text && check[-1] != '\n') ||
        !parse_u64(check + cl, 16, true, &want) ||
        want != (uint64_t)XXH3_64bits(text, (size_t)(check - text)))
        return -EINVAL;
    if (memchr(text, '\0', len) || !parse_lines(text + ml, check, out)) {
        spool_rec_free(out);
        return -EINVAL;
    }
    return 0;
}

void spool_rec_free(struct spool_rec *r)
{
    if (!r)
        return;
    free(r->folder);
    free(r->name);
    free(r->error);
    memset(r, 0, sizeof *r);
}

void spool_rec_copy(struct spool_rec *dst, const struct spool_rec *src)
{
    *dst = *src;
    dst->folder = src->folder ? mem_strdup(src->folder) : NULL;
    dst->name = src->name ? mem_strdup(src->name) : NULL;
    dst->error = src->error ? mem_strdup(src->error) : NULL;
}

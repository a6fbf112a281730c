/* api_url — URL rules of the REST client (see api_url.h). */
#include "api/api_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/mem.h"

/* The parts of a parsed URL this module looks at (all malloc'd by curl or NULL). */
struct parts {
    CURLU *h;
    char *scheme; /* lower-case */
    char *host;   /* as curl normalised it; IPv6 in brackets */
    char *port;   /* explicit or the scheme's default */
    char *path;   /* at least "/" */
    char *query;  /* NULL when none */
    bool has_user;
    bool has_fragment;
};

static void parts_free(struct parts *p)
{
    curl_free(p->scheme);
    curl_free(p->host);
    curl_free(p->port);
    curl_free(p->path);
    curl_free(p->query);
    if (p->h)
        curl_url_cleanup(p->h);
    memset(p, 0, sizeof(*p));
}

static void lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Parse url with curl's parser; only http and https are accepted. */
static int parts_parse(const char *url, struct parts *p)
{
    char *tmp = NULL;

    memset(p, 0, sizeof(*p));
    if (!url || !*url)
        return -EINVAL;
    p->h = curl_url();
    if (!p->h)
        abort(); /* curl_url() fails only when out of memory: the OOM policy */
    if (curl_url_set(p->h, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto bad;
    if (curl_url_get(p->h, CURLUPART_SCHEME, &p->scheme, 0) != CURLUE_OK)
        goto bad;
    lower(p->scheme);
    if (strcmp(p->scheme, "http") != 0 && strcmp(p->scheme, "https") != 0)
        goto bad;
    if (curl_url_get(p->h, CURLUPART_HOST, &p->host, 0) != CURLUE_OK || !*p->host)
        goto bad;
    lower(p->host);
    if (curl_url_get(p->h, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto bad;
    if (curl_url_get(p->h, CURLUPART_PATH, &p->path, 0) != CURLUE_OK)
        goto bad;
    if (curl_url_get(p->h, CURLUPART_QUERY, &p->query, 0) != CURLUE_OK)
        p->query = NULL;
    if (curl_url_get(p->h, CURLUPART_USER, &tmp, 0) == CURLUE_OK) {
        p->has_user = true;
        curl_free(tmp);
        tmp = NULL;
    }
    if (curl_url_get(p->h, CURLUPART_PASSWORD, &tmp, 0) == CURLUE_OK) {
        p->has_user = true;
        curl_free(tmp);
        tmp = NULL;
    }
    if (curl_url_get(p->h, CURLUPART_FRAGMENT, &tmp, 0) == CURLUE_OK) {
        p->has_fragment = true;
        curl_free(tmp);
    }
    return 0;
bad:
    parts_free(p);
    return -EINVAL;
}

bool url_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char tmp[64];
    size_t n;

    if (!host)
        return false;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    n = strlen(host);
    if (n < 3 || n >= sizeof(tmp) || host[0] != '[' || host[n - 1] != ']')
        return false;
    memcpy(tmp, host + 1, n - 2);
    tmp[n - 2] = '\0';
    return inet_pton(AF_INET6, tmp, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool parts_allowed(const struct parts *p)
{
    if (p->has_user)
        return false;
    if (strcmp(p->scheme, "https") == 0)
        return true;
    return url_host_is_loopback(p->host);
}

int url_check_base(const char *url, bool origin_only, char **norm, char *err, size_t errlen)
{
    struct parts p;
    size_t n;

    *norm = NULL;
    if (parts_parse(url, &p) != 0) {
        snprintf(err, errlen, "not an http:// or https:// URL: %.200s", url ? url : "(none)");
        return -EINVAL;
    }
    if (p.has_user) {
        snprintf(err, errlen, "URLs must not carry user names or passwords");
        goto bad;
    }
    if (p.query || p.has_fragment) {
        snprintf(err, errlen, "base URL %.200s must not have a query or fragment", url);
        goto bad;
    }
    if (!parts_allowed(&p)) {
        snprintf(err, errlen, "http:// is only allowed to loopback hosts (%.200s)", url);
        goto bad;
    }
    n = strlen(p.path);
    while (n > 0 && p.path[n - 1] == '/')
        p.path[--n] = '\0';
    if (origin_only && n > 0) {
        snprintf(err, errlen, "%.200s: only scheme://host[:port] is allowed here", url);
        goto bad;
    }
    *norm = mem_printf("%s://%s:%s%s", p.scheme, p.host, p.port, p.path);
    parts_free(&p);
    return 0;
bad:
    parts_free(&p);
    return -EINVAL;
}

bool url_is_allowed(const char *url)
{
    struct parts p;
    bool ok;

    if (parts_parse(url, &p) != 0)
        return false;
    ok = parts_allowed(&p);
    parts_free(&p);
    return ok;
}

int url_origin(const char *url, char *out, size_t outlen)
{
    struct parts p;
    int n;

    if (parts_parse(url, &p) != 0)
        return -EINVAL;
    n = snprintf(out, outlen, "%s://%s:%s", p.scheme, p.host, p.port);
    parts_free(&p);
    return (n < 0 || (size_t)n >= outlen) ? -EINVAL : 0;
}

bool url_same_origin(const char *a, const char *b)
{
    char oa[512], ob[512];

    if (url_origin(a, oa, sizeof(oa)) != 0 || url_origin(b, ob, sizeof(ob)) != 0)
        return false;
    return strcmp(oa, ob) == 0;
}

char *url_host(const char *url)
{
    struct parts p;
    char *h;

    if (parts_parse(url, &p) != 0)
        return NULL;
    h = mem_strdup(p.host);
    parts_free(&p);
    return h;
}

int url_rewrite_origin(const char *uri, const char *base, char **out)
{
    struct parts u, b;
    int rc = -EINVAL;

    *out = NULL;
    if (parts_parse(uri, &u) != 0)
        return -EINVAL;
    if (parts_parse(base, &b) != 0) {
        parts_free(&u);
        return -EINVAL;
    }
    *out = mem_printf("%s://%s:%s%s%s%s", b.scheme, b.host, b.port, u.path, u.query ? "?" : "",
                      u.query ? u.query : "");
    rc = 0;
    parts_free(&u);
    parts_free(&b);
    return rc;
}

char *url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = mem_alloc(n * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

char *url_for_log(const char *url)
{
    struct parts p;
    struct buf b;
    const char *q;

    if (parts_parse(url, &p) != 0)
        return mem_strdup("(bad url)");
    buf_init(&b, 8192);
    (void)buf_puts(&b, p.path);
    for (q = p.query; q && *q;) {
        const char *amp = strchr(q, '&'), *eq = strchr(q, '=');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        (void)buf_append(&b, q == p.query ? "?" : "&", 1);
        if (eq && eq < q + len && eq - q >= 5 && strncasecmp(eq - 5, "token", 5) == 0) {
            (void)buf_append(&b, q, (size_t)(eq - q) + 1);
            (void)buf_puts(&b, "...");
        } else {
            (void)buf_append(&b, q, len);
        }
        q = amp ? amp + 1 : NULL;
    }
    parts_free(&p);
    return buf_steal(&b);
}

/* api_scope — where the bearer token may go (see api_scope.h). */
#include "api/api_scope.h"

#include <arpa/inet.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_url.h"
#include "util/mem.h"

/* An IPv4 or bracketed IPv6 literal: the suffix list says nothing about those. */
static bool is_address(const char *host)
{
    struct in_addr a4;

    return host[0] == '[' || inet_pton(AF_INET, host, &a4) == 1;
}

char *scope_registrable_domain(const char *host)
{
    const psl_ctx_t *psl = psl_builtin();
    const char *d;

    if (!host || !*host || is_address(host) || !strchr(host, '.') || !psl)
        return NULL;
    d = psl_registrable_domain(psl, host);
    return d ? mem_strdup(d) : NULL;
}

void scope_init(struct scope *s, const char *server, const char *media)
{
    char *host = url_host(server);

    memset(s, 0, sizeof(*s));
    s->server = mem_strdup(server);
    s->media = media ? mem_strdup(media) : NULL;
    s->loopback = url_host_is_loopback(host);
    s->domain = s->loopback ? NULL : scope_registrable_domain(host);
    free(host);
}

void scope_free(struct scope *s)
{
    if (!s)
        return;
    free(s->server);
    free(s->media);
    free(s->domain);
    memset(s, 0, sizeof(*s));
}

/* True for an https URL (the scheme as curl's parser reads it). */
static bool is_https(const char *url)
{
    char origin[512];

    return url_origin(url, origin, sizeof(origin)) == 0 && strncmp(origin, "https://", 8) == 0;
}

bool scope_allows(const struct scope *s, const char *url)
{
    char *host, *dom;
    bool ok = false;

    if (!url_is_allowed(url))
        return false;
    if (url_same_origin(url, s->server) || (s->media && url_same_origin(url, s->media)))
        return true;
    host = url_host(url);
    if (!host)
        return false;
    if (s->loopback) {
        ok = url_host_is_loopback(host);
    } else if (s->domain && is_https(url)) {
        dom = scope_registrable_domain(host);
        ok = dom && strcmp(dom, s->domain) == 0;
        free(dom);
    }
    free(host);
    return ok;
}

/* api_cred — credentials from the environment or a 0600 KEY=VALUE file (see api_cred.h). */
#include "api/api_cred.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

#define CRED_FILE_MAX       (64 * 1024)
#define CRED_DEFAULT_SERVER "https://platform.ringcentral.com"

/* One credential: its field in struct cred and its names, preferred first. */
struct cred_key {
    size_t offset;        /* offsetof(struct cred, field) */
    const char *names[2]; /* the SDK samples' name, then the docs' name */
};

static const struct cred_key cred_keys[] = {
    {offsetof(struct cred, server_url), {"RINGCENTRAL_SERVER_URL", "RC_SERVER_URL"}},
    {offsetof(struct cred, client_id), {"RINGCENTRAL_CLIENT_ID", "RC_APP_CLIENT_ID"}},
    {offsetof(struct cred, client_secret), {"RINGCENTRAL_CLIENT_SECRET", "RC_APP_CLIENT_SECRET"}},
    {offsetof(struct cred, jwt), {"RINGCENTRAL_JWT_TOKEN", "RC_USER_JWT"}},
};
#define CRED_NKEYS (sizeof(cred_keys) / sizeof(cred_keys[0]))

static char **cred_field(struct cred *c, size_t k)
{
    return (char **)((char *)c + cred_keys[k].offset);
}

static void wipe_str(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void cred_free(struct cred *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < CRED_NKEYS; k++)
        wipe_str(*cred_field(c, k));
    memset(c, 0, sizeof(*c));
}

/* Set field k to a copy of v (len bytes); an empty value leaves it unset. */
static void cred_set(struct cred *c, size_t k, const char *v, size_t len)
{
    char **f = cred_field(c, k);
    wipe_str(*f);
    *f = len ? mem_strndup(v, len) : NULL;
}

static int key_index(const char *key, size_t len, size_t *k)
{
    for (size_t i = 0; i < CRED_NKEYS; i++)
        for (size_t j = 0; j < 2; j++)
            if (strlen(cred_keys[i].names[j]) == len &&
                memcmp(cred_keys[i].names[j], key, len) == 0) {
                *k = i;
                return 0;
            }
    return -ENOENT;
}

static void from_env(struct cred *c)
{
    for (size_t k = 0; k < CRED_NKEYS; k++) {
        const char *v = getenv(cred_keys[k].names[0]);
        if (!v || !*v)
            v = getenv(cred_keys[k].names[1]);
        if (v && *v)
            cred_set(c, k, v, strlen(v));
    }
}

/* Read the whole file after checking what it is; *text is NUL-terminated. */
static int read_checked(const char *file, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    char *p;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "credentials file %s: %s", file, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "credentials file %s: %s", file, strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "credentials file %s is not a regular file", file);
        close(fd);
        return -EINVAL;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "credentials file %s is owned by uid %u, not by you (uid %u)", file,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return -EACCES;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "credentials file %s is readable by others (mode %04o); chmod 600 it",
                 file, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -EACCES;
    }
    if (st.st_size > CRED_FILE_MAX) {
        snprintf(err, errlen, "credentials file %s is larger than %d bytes", file, CRED_FILE_MAX);
        close(fd);
        return -EFBIG;
    }
    p = mem_alloc(CRED_FILE_MAX + 1);
    while (got < CRED_FILE_MAX && (n = read(fd, p + got, CRED_FILE_MAX - got)) != 0) {
        if (n < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            snprintf(err, errlen, "credentials file %s: %s", file, strerror(e));
            explicit_bzero(p, got);
            free(p);
            close(fd);
            return -e;
        }
        got += (size_t)n;
    }
    close(fd);
    p[got] = '\0';
    *text = p;
    *len = got;
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Parse KEY=VALUE lines; never quotes a value in an error. */
static int parse_text(struct cred *c, const char *file, const char *s, size_t len, char *err,
                      size_t errlen)
{
    const char *end = s + len;
    int lineno = 0;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end, *eq, *ke, *v, *ve;
        size_t k;

        lineno++;
        while (s < le && is_space(*s))
            s++;
        while (le > s && is_space(le[-1]))
            le--;
        if (s == le || *s == '#')
            goto next;
        eq = memchr(s, '=', (size_t)(le - s));
        if (!eq || eq == s) {
            snprintf(err, errlen, "credentials file %s line %d: expected KEY=VALUE", file, lineno);
            return -EINVAL;
        }
        for (ke = eq; ke > s && is_space(ke[-1]); ke--)
            ;
        for (v = eq + 1; v < le && is_space(*v); v++)
            ;
        ve = le;
        if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
            v++;
            ve--;
        }
        if (key_index(s, (size_t)(ke - s), &k) == 0)
            cred_set(c, k, v, (size_t)(ve - v));
        else
            log_warn("credentials file %s line %d: unknown key %.*s ignored", file, lineno,
                     (int)((ke - s) > 64 ? 64 : (ke - s)), s);
    next:
        s = nl ? nl + 1 : end;
    }
    return 0;
}

int cred_load(struct cred *c, const char *file, char *err, size_t errlen)
{
    int rc = 0;
    size_t n;

    memset(c, 0, sizeof(*c));
    from_env(c);
    if (file) {
        char *text = NULL;
        size_t len = 0;
        rc = read_checked(file, &text, &len, err, errlen);
        if (rc == 0) {
            rc = parse_text(c, file, text, len, err, errlen);
            explicit_bzero(text, len);
            free(text);
        }
        if (rc != 0)
            goto fail;
    }
    if (!c->server_url)
        c->server_url = mem_strdup(CRED_DEFAULT_SERVER);
    n = strlen(c->server_url);
    while (n > 0 && c->server_url[n - 1] == '/')
        c->server_url[--n] = '\0';
    for (size_t k = 1; k < CRED_NKEYS; k++) {
        if (!*cred_field(c, k)) {
            if (file)
                snprintf(err, errlen, "%s is not set (neither in %s nor in the environment)",
                         cred_keys[k].names[0], file);
            else
                snprintf(err, errlen, "%s is not set", cred_keys[k].names[0]);
            rc = -EINVAL;
            goto fail;
        }
    }
    return 0;
fail:
    cred_free(c);
    return rc;
}

/* mem — allocation wrappers that abort on exhaustion (see mem.h). */
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void mem_die(void)
{
    static const char msg[] = "rcfs: out of memory\n";
    /* write(2) rather than stdio: it cannot allocate. */
    ssize_t rc = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)rc;
    abort();
}

void *mem_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        mem_die();
    return p;
}

void *mem_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        mem_die();
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        mem_die();
    return q;
}

void *mem_reallocarray(void *p, size_t nmemb, size_t size)
{
    if (size && nmemb > (size_t)-1 / size)
        mem_die();
    return mem_realloc(p, nmemb * size);
}

char *mem_strdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        mem_die();
    return p;
}

char *mem_strndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        mem_die();
    return p;
}

char *mem_printf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int rc = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (rc < 0)
        mem_die();
    return out;
}

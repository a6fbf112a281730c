/*
 * mem — the one out-of-memory policy of rcfs.
 *
 * rcfs never tries to limp on after malloc fails: a half-built index or a
 * half-written reply is worse than a clean exit, and the kernel tears the
 * mount down cleanly when the daemon dies (nothing on the server or in the
 * cache is left half-changed, because every change there is atomic).  So
 * every allocation goes through these wrappers, which print one line and
 * abort() on failure.  Callers therefore never check for NULL.
 */
#ifndef RCFS_UTIL_MEM_H
#define RCFS_UTIL_MEM_H

#include <stddef.h>

/* malloc(n); never returns NULL (aborts on exhaustion).  n == 0 gives a
 * unique pointer that must still be freed. */
void *mem_alloc(size_t n);

/* calloc(nmemb, size) with overflow check; never returns NULL. */
void *mem_calloc(size_t nmemb, size_t size);

/* realloc(p, n); never returns NULL.  On success the old p is no longer valid. */
void *mem_realloc(void *p, size_t n);

/* realloc for arrays: nmemb * size with overflow check; never returns NULL. */
void *mem_reallocarray(void *p, size_t nmemb, size_t size);

/* strdup(s); s must not be NULL; never returns NULL. */
char *mem_strdup(const char *s);

/* Copy of the first n bytes of s (stops at NUL), always terminated. */
char *mem_strndup(const char *s, size_t n);

/* asprintf that aborts on failure; returns a malloc'd string. */
char *mem_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

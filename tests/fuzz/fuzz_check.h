/*
 * fuzz_check — the invariants both fuzz targets assert, written apart from
 * the code under test so that a bug there cannot hide itself here.
 * Every failed check prints what failed and abort()s, which libFuzzer
 * reports as a crash with the input saved.
 */
#ifndef RCFS_TESTS_FUZZ_CHECK_H
#define RCFS_TESTS_FUZZ_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_name.h"

#define FUZZ_ASSERT(cond, what)                                                                    \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", __FILE__, __LINE__, #cond,       \
                    what);                                                                         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Strict UTF-8 by decoding: no overlongs, surrogates or > U+10FFFF. */
static inline bool fuzz_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], cp, len, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* The promise of mb_name.h: one path component of 1..255 bytes, no '/',
 * no control character, not "." or "..", no leading '.', valid UTF-8. */
static inline void fuzz_check_name(const char *s, const char *what)
{
    size_t n = strnlen(s, MBNAME_MAX);
    FUZZ_ASSERT(n >= 1 && n <= 255, what);
    FUZZ_ASSERT(s[0] != '.', what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        FUZZ_ASSERT(c != '/' && c >= 0x20 && c != 0x7f, what);
    }
    FUZZ_ASSERT(fuzz_utf8((const unsigned char *)s, n), what);
}

/* Attachment names: each a name, all distinct, none meta.json. */
static inline void fuzz_check_attachment_names(char (*names)[MBNAME_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fuzz_check_name(names[i], "attachment name");
        FUZZ_ASSERT(strcmp(names[i], MBNAME_META) != 0, "attachment named meta.json");
        for (size_t j = 0; j < i; j++)
            FUZZ_ASSERT(strcmp(names[i], names[j]) != 0, "two attachments with one name");
    }
}

/* ---- an independent RFC 8259 checker: json-c accepts "1." and NaN even
 * in strict mode, so it cannot be the judge of meta.json ---- */

struct fuzz_json {
    const char *p, *end;
    int depth;
};

static inline void fuzz_json_ws(struct fuzz_json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static inline bool fuzz_json_digits(struct fuzz_json *j)
{
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static inline bool fuzz_json_lit(struct fuzz_json *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

static inline bool fuzz_json_string(struct fuzz_json *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c != '\\')
            continue;
        if (j->p >= j->end)
            return false;
        c = (unsigned char)*j->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, j->p++)
                if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
                    return false;
        } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
            return false;
        }
    }
    return false;
}

static inline bool fuzz_json_value(struct fuzz_json *j)
{
    fuzz_json_ws(j);
    if (j->p >= j->end)
        return false;
    char c = *j->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        if (++j->depth > 64)
            return false;
        j->p++;
        fuzz_json_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return true;
        }
        for (;;) {
            if (c == '{') {
                fuzz_json_ws(j);
                if (!fuzz_json_string(j))
                    return false;
                fuzz_json_ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return false;
            }
            if (!fuzz_json_value(j))
                return false;
            fuzz_json_ws(j);
            if (j->p >= j->end)
                return false;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != close)
                return false;
            j->depth--;
            return true;
        }
    }
    if (c == '"')
        return fuzz_json_string(j);
    if (c == 't')
        return fuzz_json_lit(j, "true");
    if (c == 'f')
        return fuzz_json_lit(j, "false");
    if (c == 'n')
        return fuzz_json_lit(j, "null");
    if (c == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!fuzz_json_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!fuzz_json_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!fuzz_json_digits(j))
            return false;
    }
    return true;
}

/* True when s[0..n) is one JSON value and whitespace, as RFC 8259 says. */
static inline bool fuzz_json_valid(const char *s, size_t n)
{
    struct fuzz_json j = {s, s + n, 0};
    if (!fuzz_json_value(&j))
        return false;
    fuzz_json_ws(&j);
    return j.p == j.end;
}

#endif

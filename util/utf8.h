/*
 * utf8 — strict UTF-8, as everything rcfs shows must be.
 *
 * Strict means: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF, no truncated sequences.  The record parser uses it to
 * refuse text that could not become valid JSON; the name builder to keep
 * every name valid UTF-8.
 */
#ifndef RCFS_UTIL_UTF8_H
#define RCFS_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the valid sequence at s (n > 0 bytes available), or 0
 * when the bytes there are not a valid sequence. */
size_t utf8_seq(const unsigned char *s, size_t n);

/* The code point of a sequence that utf8_seq accepted with length len. */
unsigned utf8_cp(const unsigned char *s, size_t len);

/* True when the n bytes at s are all valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

#endif

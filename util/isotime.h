/*
 * isotime — the two time formats rcfs meets, and its clocks.
 *
 * The API speaks ISO 8601 in UTC with milliseconds ("2018-12-24T10:39:24.000Z");
 * message folder names use the compact "2018-12-24T103924Z".  Times are kept
 * as int64 milliseconds since the Unix epoch everywhere inside rcfs.
 */
#ifndef RCFS_UTIL_ISOTIME_H
#define RCFS_UTIL_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

/* Size of a buffer that holds any string these functions produce. */
#define ISOTIME_BUFSZ 32

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff...]" followed by "Z" or "+HH:MM"/"-HH:MM"
 * (fractions beyond milliseconds are truncated).  Strict: anything else,
 * out-of-range fields, or a year outside 1970..9999 give -EINVAL and leave
 * *ms untouched.  Returns 0 on success. */
int isotime_parse(const char *s, int64_t *ms);

/* Format as the API does: "YYYY-MM-DDTHH:MM:SS.mmmZ".  buf >= ISOTIME_BUFSZ.
 * Times outside 1970..9999 are clamped to those years' ends. */
void isotime_format(int64_t ms, char *buf);

/* Format for folder names: "YYYY-MM-DDTHHMMSSZ".  buf >= ISOTIME_BUFSZ. */
void isotime_format_compact(int64_t ms, char *buf);

/* Wall clock, ms since the epoch. */
int64_t isotime_now_ms(void);

/* Monotonic clock in ms, for deadlines and pacing. */
int64_t isotime_mono_ms(void);

#endif

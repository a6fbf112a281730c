/* isotime — ISO 8601 parsing/formatting and clocks (see isotime.h). */
#include "util/isotime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Read exactly n decimal digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), no libc timezone state. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int isotime_parse(const char *s, int64_t *ms)
{
    const char *p = s;
    int y, mo, d, h, mi, se, frac = 0, tzsign = 0, tzh = 0, tzm = 0;

    if (!s)
        return -EINVAL;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || !expect(&p, 'T') || !digits(&p, 2, &h) || !expect(&p, ':') ||
        !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &se))
        return -EINVAL;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return -EINVAL;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        tzsign = *p == '+' ? 1 : -1;
        p++;
        if (!digits(&p, 2, &tzh) || !expect(&p, ':') || !digits(&p, 2, &tzm) || tzh > 23 ||
            tzm > 59)
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 60)
        return -EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    secs -= (int64_t)tzsign * (tzh * 3600 + tzm * 60);
    *ms = secs * 1000 + frac;
    return 0;
}

/* Fields narrowed so the formatter provably fits ISOTIME_BUFSZ. */
struct isotime_fields {
    unsigned y, mo, d, h, mi, s, ms;
};

/* 9999-12-31T23:59:59.999Z: the last time the formats can show. */
#define ISOTIME_MAX_MS INT64_C(253402300799999)

static void split(int64_t ms, struct isotime_fields *f)
{
    struct tm tmv, *tm = &tmv;
    int msec;
    /* Clamp to what four-digit years can show (1970..9999). */
    if (ms < 0)
        ms = 0;
    if (ms > ISOTIME_MAX_MS)
        ms = ISOTIME_MAX_MS;
    int64_t secs = ms / 1000;
    time_t t = (time_t)secs;
    msec = (int)(ms - secs * 1000);
    /* A time gmtime cannot represent is shown as the epoch, never as
     * whatever an uninitialised struct tm holds. */
    if (!gmtime_r(&t, tm)) {
        t = 0;
        msec = 0;
        gmtime_r(&t, tm);
    }
    f->y = (unsigned)(tm->tm_year + 1900) % 10000u;
    f->mo = (unsigned)(tm->tm_mon + 1) % 100u;
    f->d = (unsigned)tm->tm_mday % 100u;
    f->h = (unsigned)tm->tm_hour % 100u;
    f->mi = (unsigned)tm->tm_min % 100u;
    f->s = (unsigned)tm->tm_sec % 100u;
    f->ms = (unsigned)msec % 1000u;
}

void isotime_format(int64_t ms, char *buf)
{
    struct isotime_fields f;
    split(ms, &f);
    snprintf(buf, ISOTIME_BUFSZ, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", f.y, f.mo, f.d, f.h, f.mi,
             f.s, f.ms);
}

void isotime_format_compact(int64_t ms, char *buf)
{
    struct isotime_fields f;
    split(ms, &f);
    snprintf(buf, ISOTIME_BUFSZ, "%04u-%02u-%02uT%02u%02u%02uZ", f.y, f.mo, f.d, f.h, f.mi, f.s);
}

int64_t isotime_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t isotime_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fs_trashinfo — `.trashinfo` text (see fs_trashinfo.h). */
#include "fs/fs_trashinfo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Append s URI-escaped (RFC 3986: unreserved characters and '/' stay) to
 * buf at *len, counting what does not fit. */
static void put_escaped(char *buf, size_t cap, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char one[4];
        size_t n = 1;
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
        if (plain) {
            one[0] = (char)*p;
        } else {
            one[0] = '%';
            one[1] = hex[*p >> 4];
            one[2] = hex[*p & 15];
            n = 3;
        }
        for (size_t i = 0; i < n; i++, (*len)++)
            if (*len + 1 < cap)
                buf[*len] = one[i];
    }
}

static void put(char *buf, size_t cap, size_t *len, const char *s)
{
    for (; *s; s++, (*len)++)
        if (*len + 1 < cap)
            buf[*len] = *s;
}

size_t fs_trashinfo_format(char *buf, size_t cap, const char *ext, const char *type,
                           const char *name, int64_t deleted_ms)
{
    size_t len = 0;
    char date[32];
    time_t t = (time_t)(deleted_ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm))
        strcpy(date, "1970-01-01T00:00:00");
    put(buf, cap, &len, "[Trash Info]\nPath=");
    put_escaped(buf, cap, &len, ext);
    put(buf, cap, &len, "/");
    put_escaped(buf, cap, &len, type);
    put(buf, cap, &len, "/");
    put_escaped(buf, cap, &len, name);
    put(buf, cap, &len, "\nDeletionDate=");
    put(buf, cap, &len, date);
    put(buf, cap, &len, "\n");
    if (cap)
        buf[len < cap ? len : cap - 1] = '\0';
    return len;
}

bool fs_trashinfo_base(const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name), sn = strlen(FS_TRASHINFO_SUFFIX);
    if (n <= sn || strcmp(name + n - sn, FS_TRASHINFO_SUFFIX) != 0 || n - sn + 1 > cap)
        return false;
    memcpy(buf, name, n - sn);
    buf[n - sn] = '\0';
    return true;
}

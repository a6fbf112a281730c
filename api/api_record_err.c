/* api_record_err — refusal messages of the record parser (see api_record_priv.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api_record_priv.h"

int recx_fail(struct recx_err *e, const char *fmt, ...)
{
    if (e->buf && e->len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->buf, e->len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

const char *recx_quote(const char *s, size_t n, char out[RECX_QUOTE_BUFSZ])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1
                      : (c == '"' || c == '\\')                        ? 2
                                                                       : 4;
        if (o + need > RECX_QUOTE_MAX)
            break;
        if (need == 1) {
            out[o++] = (char)c;
        } else if (need == 2) {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

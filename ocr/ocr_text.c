/* ocr_text — page text shaping (see ocr_text.h). */
#include "ocr/ocr_text.h"

#include <errno.h>

#include "util/utf8.h"

static int is_trailing_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0;
}

int ocr_text_page(struct buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    while (n > 0 && is_trailing_space(u[n - 1]))
        n--;
    size_t start = out->len;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_seq(u + i, n - i);
        int rc;
        if (len == 0) {
            rc = buf_append(out, "\xEF\xBF\xBD", 3);
            len = 1;
        } else if (len == 1 && u[i] < 0x20 && u[i] != '\n' && u[i] != '\t') {
            rc = buf_append(out, " ", 1);
        } else if (len == 1 && u[i] == 0x7f) {
            rc = buf_append(out, " ", 1);
        } else {
            rc = buf_append(out, u + i, len);
        }
        if (rc) {
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
            return rc;
        }
        i += len;
    }
    if (n > 0 && buf_append(out, "\n", 1)) {
        out->len = start;
        out->data[start] = '\0';
        return -EFBIG;
    }
    return 0;
}

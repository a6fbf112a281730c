/* ocr_key — the cache key input of a document's text (see ocr_key.h). */
#include "ocr/ocr_key.h"

#include <errno.h>
#include <stdio.h>

static int clean(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int ocr_text_key(const uint8_t doc_hash[16], const struct ocr_job *job, const char *helper_version,
                 char *out, size_t cap)
{
    const char *lang = job->lang ? job->lang : "eng";
    const char *tessdata = job->tessdata ? job->tessdata : "-";
    if (cap)
        out[0] = '\0';
    if (!helper_version || !clean(lang) || !clean(tessdata) || !clean(helper_version) ||
        (job->tessdata && job->tessdata[0] != '/'))
        return -EINVAL;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", doc_hash[i]);
    int n = snprintf(out, cap, "rcfs-ocr-text 1\ndoc %s\nlang %s\ntessdata %s\nhelper %s\n", hex,
                     lang, tessdata, helper_version);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return -ENAMETOOLONG;
    }
    return n;
}

/* api_faxdoc — fax document types (see api_faxdoc.h). */
#include "api/api_faxdoc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

#define OOXML "application/vnd.openxmlformats-officedocument."

/* An accepted type, its usual extension, and its container (for the office
 * formats told apart by name). */
enum container { C_NONE, C_ZIP, C_OLE };
struct doctype {
    const char *type;
    const char *ext;
    enum container container;
};

static const struct doctype TYPES[] = {
    {"application/pdf", "pdf", C_NONE},
    {"image/tiff", "tiff", C_NONE},
    {"text/plain", "txt", C_NONE},
    {"application/rtf", "rtf", C_NONE},
    {"image/jpeg", "jpg", C_NONE},
    {"image/png", "png", C_NONE},
    {"image/gif", "gif", C_NONE},
    {OOXML "wordprocessingml.document", "docx", C_ZIP},
    {OOXML "spreadsheetml.sheet", "xlsx", C_ZIP},
    {OOXML "presentationml.presentation", "pptx", C_ZIP},
    {"application/vnd.oasis.opendocument.text", "odt", C_ZIP},
    {"application/vnd.oasis.opendocument.spreadsheet", "ods", C_ZIP},
    {"application/msword", "doc", C_OLE},
    {"application/vnd.ms-excel", "xls", C_OLE},
    {"application/vnd.ms-powerpoint", "ppt", C_OLE},
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static void say(char *why, size_t whylen, const char *msg)
{
    if (whylen > 0)
        snprintf(why, whylen, "%s", msg);
}

static bool starts(const unsigned char *h, size_t n, const void *sig, size_t len)
{
    return n >= len && memcmp(h, sig, len) == 0;
}

/* The office type of a container from the file name's extension, or NULL. */
static const char *by_extension(enum container c, const char *file_name)
{
    const char *dot = file_name ? strrchr(file_name, '.') : NULL;

    if (!dot)
        return NULL;
    for (size_t i = 0; i < NTYPES; i++)
        if (TYPES[i].container == c && strcasecmp(dot + 1, TYPES[i].ext) == 0)
            return TYPES[i].type;
    return NULL;
}

/* Plain text: valid UTF-8 (a sequence cut by the end of the head is fine
 * when more follows), no NUL, no control characters but tab, line feed,
 * form feed and carriage return. */
static bool is_text(const unsigned char *h, size_t n, bool more)
{
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(h + i, n - i);
        if (len == 0)
            return more && n - i < 4 && h[i] >= 0xc2;
        if (len == 1 && h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\f' && h[i] != '\r')
            return false;
        if (len == 1 && h[i] == 0x7f)
            return false;
        i += len;
    }
    return true;
}

static const char *sniff(const unsigned char *h, size_t n, const char *file_name, bool more,
                         char *why, size_t whylen)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char ole[] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
    const char *t;

    if (memmem(h, n < 1024 ? n : 1024, "%PDF-", 5))
        return "application/pdf";
    if (starts(h, n, "II*\0", 4) || starts(h, n, "MM\0*", 4))
        return "image/tiff";
    if (starts(h, n, "\xff\xd8\xff", 3))
        return "image/jpeg";
    if (starts(h, n, png, sizeof(png)))
        return "image/png";
    if (starts(h, n, "GIF87a", 6) || starts(h, n, "GIF89a", 6))
        return "image/gif";
    if (starts(h, n, "{\\rtf", 5))
        return "application/rtf";
    if (starts(h, n, "PK\3\4", 4)) {
        if ((t = by_extension(C_ZIP, file_name)))
            return t;
        say(why, whylen,
            "a ZIP file that is not named as a .docx, .xlsx, .pptx, .odt or .ods document");
        return NULL;
    }
    if (starts(h, n, ole, sizeof(ole))) {
        if ((t = by_extension(C_OLE, file_name)))
            return t;
        say(why, whylen, "an Office container that is not named as a .doc, .xls or .ppt document");
        return NULL;
    }
    if (is_text(h, n, more))
        return "text/plain";
    say(why, whylen,
        "not a document a fax can carry (PDF, TIFF, text, RTF, Word, Excel, PowerPoint, "
        "OpenDocument, JPEG, PNG, GIF)");
    return NULL;
}

int faxdoc_type(const unsigned char *head, size_t n, const char *file_name, uint64_t size,
                const char **type, char *why, size_t whylen)
{
    const char *t;

    if (size == 0 || n == 0) {
        say(why, whylen, "the document is empty");
        return -EINVAL;
    }
    if (size > FAXDOC_MAX_BYTES) {
        if (whylen > 0)
            snprintf(why, whylen, "the document has %llu bytes; a fax may carry at most %llu",
                     (unsigned long long)size, (unsigned long long)FAXDOC_MAX_BYTES);
        return -EFBIG;
    }
    t = sniff(head, n, file_name, size > n, why, whylen);
    if (!t)
        return -EINVAL;
    *type = t;
    return 0;
}

/* The accepted type equal to content_type (parameters and case ignored). */
static const struct doctype *find(const char *content_type)
{
    size_t len;

    if (!content_type)
        return NULL;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    len = strcspn(content_type, "; \t");
    for (size_t i = 0; i < NTYPES; i++)
        if (strlen(TYPES[i].type) == len && strncasecmp(TYPES[i].type, content_type, len) == 0)
            return &TYPES[i];
    return NULL;
}

bool faxdoc_accepted(const char *content_type)
{
    return find(content_type) != NULL;
}

const char *faxdoc_extension(const char *content_type)
{
    const struct doctype *d = find(content_type);

    return d ? d->ext : "bin";
}

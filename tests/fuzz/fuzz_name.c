/*
 * fuzz_name — libFuzzer target for mailbox/mb_name.
 *
 * The input is cut into fields at NUL bytes (names are C strings, so a NUL
 * can never be inside one): the first 16 bytes, when present, give a
 * creation time and an id; then peer, conversation id, extension number,
 * content type, and one attachment per remaining field, whose first byte
 * picks its type and id and whose rest is its fileName.  Every function is
 * called and every output checked against the header's promise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_name.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 40

static const char *const content_types[] = {
    "application/pdf", "image/png", "audio/x-wav", "text/plain", "", "image/jpeg", "bogus",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t id = 0;
    int64_t when = 0;
    if (size >= 16) {
        memcpy(&when, data, 8);
        memcpy(&id, data + 8, 8);
        data += 16;
        size -= 16;
    }

    /* a NUL-terminated copy, cut into fields */
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *field[MAX_FIELDS];
    size_t nf = 0;
    for (size_t i = 0; i <= size && nf < MAX_FIELDS;) {
        field[nf++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    const char *peer = nf > 0 ? field[0] : NULL;
    const char *conv = nf > 1 ? field[1] : NULL;
    const char *number = nf > 2 ? field[2] : NULL;
    const char *ctype = nf > 3 ? field[3] : NULL;

    char out[MBNAME_MAX];
    mbname_peer(peer, out);
    fuzz_check_name(out, "peer");
    FUZZ_ASSERT(strlen(out) <= MBNAME_PEER_MAX, "peer length");
    for (const char *p = out; *p; p++)
        FUZZ_ASSERT(strchr("+.-", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                        (*p >= 'A' && *p <= 'Z'),
                    "peer alphabet");

    mbname_message(when, peer, id, out);
    fuzz_check_name(out, "message");
    mbname_conversation(peer, conv, out);
    fuzz_check_name(out, "conversation");
    mbname_extension(number, id, out);
    fuzz_check_name(out, "extension");

    const char *ext = mbname_ext_for_type(ctype);
    FUZZ_ASSERT(ext != NULL, "extension never NULL");
    fuzz_check_name(ext, "file extension");
    const char *mime = mbname_mime_for_ext(ctype);
    FUZZ_ASSERT(mime != NULL && strchr(mime, '/'), "mime type");
    /* every extension we make has a type to show in user.mime_type */
    FUZZ_ASSERT(strcmp(ext, "bin") == 0 ||
                    strcmp(mbname_mime_for_ext(ext), "application/octet-stream") != 0,
                "ext has a mime type");

    for (size_t i = 0; i < nf; i++) {
        if (mbname_is_safe(field[i])) {
            fuzz_check_name(field[i], "a name mbname_is_safe accepted");
            FUZZ_ASSERT(strcmp(field[i], MBNAME_META) != 0, "meta.json is not safe");
        }
    }

    size_t n = nf > 4 ? nf - 4 : 0;
    if (n) {
        struct rec_attachment att[MAX_FIELDS];
        char names[MAX_FIELDS][MBNAME_MAX];
        for (size_t i = 0; i < n; i++) {
            const unsigned char *f = (const unsigned char *)field[4 + i];
            unsigned sel = f[0];
            memset(&att[i], 0, sizeof(att[i]));
            att[i].type = (enum rec_att_type)(sel % (REC_ATT_OTHER + 2));
            att[i].id = sel & 0x80 ? id : sel;
            att[i].size = -1;
            att[i].content_type =
                (char *)(sel & 0x40 ? ctype
                                    : content_types[sel % (sizeof(content_types) /
                                                           sizeof(content_types[0]))]);
            att[i].file_name = (char *)(f[0] ? (const char *)f + 1 : NULL);
        }
        mbname_attachments(att, n, names);
        fuzz_check_attachment_names(names, n);
    }
    free(buf);
    return 0;
}

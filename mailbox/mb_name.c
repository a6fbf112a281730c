/*
 * mb_name — every name rcfs shows, built from untrusted server data
 * (see mb_name.h and docs/design.md, "Layout").
 *
 * Two kinds of input reach a name: text the server chose (peers, extension
 * numbers, MMS file names) and numbers rcfs formats itself.  Server text is
 * either reduced to a small safe alphabet (peers, conversation ids) or taken
 * whole only when mbname_is_safe() accepts it (file names); nothing is ever
 * half-cleaned.  Every function is pure: no state, and the only allocation
 * is mbname_attachments' scratch array, freed before it returns.
 */
#include "mailbox/mb_name.h"

#include "mailbox/mb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/isotime.h"
#include "util/mem.h"
#include "util/utf8.h"

/* Latest creation time a folder name can show (9999-12-31T23:59:59.999Z):
 * isotime_parse never gives more, and clamping keeps gmtime in range for
 * any int64 a caller passes. */
#define LATEST_MS INT64_C(253402300799999)

/* A file name extension longer than this is not treated as one when a
 * "-2" is inserted (the suffix then goes at the end). */
#define EXT_MAX 32

/* Content type -> extension.  Aliases first-class: servers send both. */
static const struct {
    const char *type;
    const char *ext;
} ext_table[] = {
    {"application/pdf", "pdf"},
    {"image/tiff", "tiff"},
    {"audio/mpeg", "mp3"},
    {"audio/mp3", "mp3"},
    {"audio/mpeg3", "mp3"},
    {"audio/x-mpeg", "mp3"},
    {"audio/x-wav", "wav"},
    {"audio/wav", "wav"},
    {"audio/wave", "wav"},
    {"audio/vnd.wave", "wav"},
    {"text/plain", "txt"},
    {"image/jpeg", "jpg"},
    {"image/jpg", "jpg"},
    {"image/pjpeg", "jpg"},
    {"image/png", "png"},
    {"image/gif", "gif"},
    {"image/bmp", "bmp"},
    {"image/heic", "heic"},
    {"image/heif", "heif"},
    {"image/webp", "webp"},
    {"video/mp4", "mp4"},
    {"video/3gpp", "3gp"},
    {"audio/3gpp", "3gp"},
    {"video/quicktime", "mov"},
    {"audio/amr", "amr"},
    {"audio/ogg", "ogg"},
    {"audio/aac", "aac"},
    {"audio/mp4", "m4a"},
    {"audio/x-m4a", "m4a"},
    {"text/vcard", "vcf"},
    {"text/x-vcard", "vcf"},
    {"text/calendar", "ics"},
    {"text/csv", "csv"},
    {"text/html", "html"},
    {"application/msword", "doc"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
    {"application/rtf", "rtf"},
    {"text/rtf", "rtf"},
    {"application/zip", "zip"},
};

/* Extension -> the type freedesktop.org's shared-mime-info names as
 * canonical (so desktops show the right icon from user.mime_type). */
static const struct {
    const char *ext;
    const char *mime;
} mime_table[] = {
    {"pdf", "application/pdf"},
    {"tiff", "image/tiff"},
    {"tif", "image/tiff"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/x-wav"},
    {"txt", "text/plain"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"png", "image/png"},
    {"gif", "image/gif"},
    {"bmp", "image/bmp"},
    {"heic", "image/heif"},
    {"heif", "image/heif"},
    {"webp", "image/webp"},
    {"mp4", "video/mp4"},
    {"3gp", "video/3gpp"},
    {"mov", "video/quicktime"},
    {"amr", "audio/AMR"},
    {"ogg", "audio/ogg"},
    {"aac", "audio/aac"},
    {"m4a", "audio/mp4"},
    {"vcf", "text/vcard"},
    {"ics", "text/calendar"},
    {"csv", "text/csv"},
    {"html", "text/html"},
    {"htm", "text/html"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"rtf", "application/rtf"},
    {"zip", "application/zip"},
    {"json", "application/json"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The alphabet of peers and extension numbers. */
static bool peer_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '.' || c == '-';
}

/* s reduced to the peer alphabet, one '-' per UTF-8 sequence (an invalid
 * byte is a sequence of its own), at most max bytes; "unknown" when nothing
 * but '.' and '-' is left, and a leading '.' turned to '-', so the part is
 * a valid name by itself.  out holds max + 1 >= 8 bytes. */
static void reduce(const char *s, size_t max, char *out)
{
    size_t o = 0;
    bool meaningful = false;

    if (s) {
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s);
        for (size_t i = 0; i < n && o < max;) {
            if (peer_char(p[i])) {
                out[o++] = (char)p[i];
                meaningful |= p[i] != '.' && p[i] != '-';
                i++;
            } else {
                size_t l = utf8_seq(p + i, n - i);
                out[o++] = '-';
                i += l ? l : 1;
            }
        }
    }
    out[o] = '\0';
    if (!meaningful)
        strcpy(out, "unknown");
    else if (out[0] == '.')
        out[0] = '-';
}

void mbname_peer(const char *peer, char out[MBNAME_MAX])
{
    reduce(peer, MBNAME_PEER_MAX, out);
}

void mbname_message(int64_t creation_ms, const char *peer, uint64_t id, char out[MBNAME_MAX])
{
    char when[ISOTIME_BUFSZ];
    char who[MBNAME_MAX];

    if (creation_ms < 0)
        creation_ms = 0;
    if (creation_ms > LATEST_MS)
        creation_ms = LATEST_MS;
    isotime_format_compact(creation_ms, when);
    mbname_peer(peer, who);
    /* 18 + 1 + 64 + 1 + 20 bytes: always fits (the precision tells the
     * compiler so too) */
    snprintf(out, MBNAME_MAX, "%s_%.*s_%" PRIu64, when, MBNAME_PEER_MAX, who, id);
}

void mbname_conversation(const char *peer, const char *conv_id, char out[MBNAME_MAX])
{
    char who[MBNAME_MAX];
    char conv[MBNAME_MAX];
    size_t n = conv_id ? strlen(conv_id) : 0;

    mbname_peer(peer, who);
    /* A decimal id stands as it is; anything else (never sent by an honest
     * server) is reduced like a peer rather than trusted. */
    if (n >= 1 && n <= 20 && strspn(conv_id, "0123456789") == n)
        memcpy(conv, conv_id, n + 1);
    else
        reduce(conv_id, MBNAME_PEER_MAX, conv);
    snprintf(out, MBNAME_MAX, "%.*s_%.*s", MBNAME_PEER_MAX, who, MBNAME_PEER_MAX, conv);
}

void mbname_extension(const char *number, uint64_t id, char out[MBNAME_MAX])
{
    size_t n = number ? strlen(number) : 0;
    bool ok = n >= 1 && n <= MBNAME_PEER_MAX && number[0] != '.';

    for (size_t i = 0; ok && i < n; i++)
        ok = peer_char((unsigned char)number[i]);
    if (ok)
        memcpy(out, number, n + 1);
    else
        snprintf(out, MBNAME_MAX, "%" PRIu64, id);
}

const char *mbname_ext_for_type(const char *content_type)
{
    if (!content_type)
        return "bin";
    /* Tolerate what rec_from_json already normalises away, for callers
     * holding a raw header value: blanks, parameters, upper case. */
    const char *s = content_type + strspn(content_type, " \t");
    size_t n = strcspn(s, "; \t");
    for (size_t i = 0; i < COUNT(ext_table); i++)
        if (strlen(ext_table[i].type) == n && strncasecmp(s, ext_table[i].type, n) == 0)
            return ext_table[i].ext;
    return "bin";
}

const char *mbname_mime_for_ext(const char *ext)
{
    if (!ext)
        return "application/octet-stream";
    const char *dot = strrchr(ext, '.');
    if (dot)
        ext = dot + 1;
    for (size_t i = 0; i < COUNT(mime_table); i++)
        if (strcasecmp(ext, mime_table[i].ext) == 0)
            return mime_table[i].mime;
    return "application/octet-stream";
}

bool mbname_is_safe(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > MBNAME_MAX - 1 || s[0] == '.' || strcmp(s, MBNAME_META) == 0)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (l == 0 || p[i] == '/' || p[i] < 0x20 || p[i] == 0x7f)
            return false;
        unsigned cp = utf8_cp(p + i, l);
        /* C1 controls drive terminals like C0 ones; bidi overrides make
         * "invoice\u202Efdp.exe" look like a PDF in a file manager. */
        if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2066 && cp <= 0x2069))
            return false;
        i += l;
    }
    return true;
}

/* The name an attachment takes before repeats are numbered. */
static void natural_name(const struct rec_attachment *a, unsigned source_n, char out[MBNAME_MAX])
{
    const char *ext = mbname_ext_for_type(a->content_type);

    switch (a->type) {
    case REC_ATT_TEXT:
        snprintf(out, MBNAME_MAX, "message.txt");
        return;
    case REC_ATT_AUDIO_TRANSCRIPTION:
        snprintf(out, MBNAME_MAX, "transcription.txt");
        return;
    case REC_ATT_RENDERED_DOCUMENT:
        snprintf(out, MBNAME_MAX, "fax.%s", ext);
        return;
    case REC_ATT_AUDIO_RECORDING:
        snprintf(out, MBNAME_MAX, "voicemail.%s", ext);
        return;
    case REC_ATT_SOURCE_DOCUMENT:
        snprintf(out, MBNAME_MAX, "source-%u.%s", source_n, ext);
        return;
    case REC_ATT_MMS:
        if (mbname_is_safe(a->file_name)) {
            snprintf(out, MBNAME_MAX, "%s", a->file_name);
            return;
        }
        break;
    default:
        break;
    }
    snprintf(out, MBNAME_MAX, "attachment-%" PRIu64 ".%s", a->id, ext);
}

/* name with "-k" inserted before its extension (appended when it has none,
 * or one too long to be an extension), the stem cut on a UTF-8 boundary so
 * the whole fits 255 bytes.  name is a valid name, so its stem is not
 * empty and stays valid UTF-8. */
static void with_suffix(const char *name, unsigned k, char out[MBNAME_MAX])
{
    char sfx[16];
    size_t n = strlen(name);
    const char *dot = strrchr(name, '.');
    size_t stem =
        dot && dot != name && (size_t)(name + n - dot) <= EXT_MAX + 1 ? (size_t)(dot - name) : n;
    size_t ext = n - stem;
    size_t sl = (size_t)snprintf(sfx, sizeof(sfx), "-%u", k);
    size_t room = MBNAME_MAX - 1 - sl - ext;

    if (stem > room) {
        stem = room;
        while (stem > 0 && ((unsigned char)name[stem] & 0xc0) == 0x80)
            stem--;
    }
    memcpy(out, name, stem);
    memcpy(out + stem, sfx, sl);
    memcpy(out + stem + sl, name + n - ext, ext);
    out[stem + sl + ext] = '\0';
}

void mbname_attachments(const struct rec_attachment *att, size_t n, char (*out)[MBNAME_MAX])
{
    unsigned source_n = 0;

    if (!att || !out || n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (att[i].type == REC_ATT_SOURCE_DOCUMENT)
            source_n++;
        natural_name(&att[i], source_n, out[i]);
    }

    /* The first attachment to claim a name keeps it; every later one with
     * the same name is numbered, avoiding every name in the message (also
     * the ones the sender chose, such as "a-2.png" beside two "a.png"). */
    bool *repeat = mem_calloc(n, sizeof(*repeat));
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i && !repeat[i]; j++)
            repeat[i] = strcmp(out[i], out[j]) == 0;

    for (size_t i = 0; i < n; i++) {
        if (!repeat[i])
            continue;
        char base[MBNAME_MAX];
        memcpy(base, out[i], MBNAME_MAX);
        /* "-k" for distinct k are distinct names, and at most n - 1 are
         * taken, so this ends by k = n + 1. */
        for (unsigned k = 2;; k++) {
            char cand[MBNAME_MAX];
            bool taken = false;
            with_suffix(base, k, cand);
            for (size_t j = 0; j < n && !taken; j++)
                taken = j != i && strcmp(cand, out[j]) == 0;
            if (!taken) {
                memcpy(out[i], cand, MBNAME_MAX);
                break;
            }
        }
    }
    free(repeat);
}

/* ---- names of folders and values (declared in mb.h) ----------------------- */

static const char *const folder_names[MB_FOLDER_COUNT] = {
    "Fax", "SMS", "VoiceMail", "Pager", "Text", "Deleted", "conversations", "Unread",
};

const char *mb_folder_name(int folder)
{
    return folder >= 0 && folder < MB_FOLDER_COUNT ? folder_names[folder] : NULL;
}

const char *mb_type_name(enum rec_type t)
{
    return rec_type_name(t);
}

const char *mb_dir_name(enum rec_dir d)
{
    return rec_dir_name(d);
}

const char *mb_avail_name(enum rec_avail a)
{
    return rec_avail_name(a);
}

const char *mb_read_name(enum rec_read r)
{
    return rec_read_name(r);
}

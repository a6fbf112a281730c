/*
 * Unit tests for mailbox/mb_name: the layout's names, every hostile input we
 * could think of, and a property loop that feeds random bytes to every
 * function and checks what comes out is always one safe path component.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_name.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/check.h"
#include "util/isotime.h"

/* ---- an independent check of the invariants (not mb_name's own code) ---- */

/* Strict UTF-8, decoded independently of util/utf8 (tests/fuzz/fuzz_check.h). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    return fuzz_utf8(s, n);
}

static bool good_name(const char *s)
{
    size_t n = strnlen(s, MBNAME_MAX);
    if (n == 0 || n > 255 || s[0] == '.')
        return false;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c < 0x20 || c == 0x7f)
            return false;
    }
    return valid_utf8((const unsigned char *)s, n);
}

#define CHECK_NAME(s)                                                                              \
    do {                                                                                           \
        if (!good_name(s))                                                                         \
            fprintf(stderr, "  bad name: \"%s\"\n", s);                                            \
        CHECK(good_name(s));                                                                       \
    } while (0)

static int64_t ms(const char *iso)
{
    int64_t v = 0;
    CHECK_INT(isotime_parse(iso, &v), 0);
    return v;
}

static void test_peer(void)
{
    char out[MBNAME_MAX];
    struct {
        const char *in, *want;
    } cases[] = {
        {"+16505551234", "+16505551234"},
        {"102", "102"},
        {"John Smith", "John-Smith"},
        {"a/b", "a-b"},
        {"../../etc", "-.-..-etc"},
        {"x\ny", "x-y"},
        {"caf\xc3\xa9", "caf-"},                   /* one '-' per UTF-8 sequence */
        {"\xf0\x9f\x98\x80 call me", "--call-me"}, /* emoji */
        {"a\xff\xfe"
         "b",
         "a--b"},                                /* invalid bytes: one each */
        {"a\xe2\x82", "a--"},                    /* truncated sequence */
        {"\xe6\x97\xa5\xe6\x9c\xac", "unknown"}, /* reduces to "--" */
        {"", "unknown"},
        {".", "unknown"},
        {"..", "unknown"},
        {"-", "unknown"},
        {"-.-", "unknown"},
        {".hidden", "-hidden"},
        {"+", "+"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mbname_peer(cases[i].in, out);
        CHECK_STR(out, cases[i].want);
        CHECK_NAME(out);
    }
    mbname_peer(NULL, out);
    CHECK_STR(out, "unknown");

    /* a 100-digit number is cut to 64 bytes */
    char hundred[101];
    memset(hundred, '7', 100);
    hundred[100] = '\0';
    mbname_peer(hundred, out);
    CHECK_INT(strlen(out), MBNAME_PEER_MAX);
    CHECK(strspn(out, "7") == MBNAME_PEER_MAX);

    /* 100 emoji: still 64 '-' at most, and "unknown" */
    char emoji[401];
    for (int i = 0; i < 100; i++)
        memcpy(emoji + 4 * i, "\xf0\x9f\x98\x80", 4);
    emoji[400] = '\0';
    mbname_peer(emoji, out);
    CHECK_STR(out, "unknown");
    emoji[0] = 'A';
    emoji[1] = 'B'; /* "AB" then two invalid bytes, then 99 emoji */
    mbname_peer(emoji, out);
    CHECK_INT(strlen(out), MBNAME_PEER_MAX);
    CHECK(strncmp(out, "AB--", 4) == 0);
}

static void test_message(void)
{
    char out[MBNAME_MAX];
    mbname_message(ms("2018-12-24T10:39:24.000Z"), "+16505551234", 972903004, out);
    CHECK_STR(out, "2018-12-24T103924Z_+16505551234_972903004");
    mbname_message(ms("2018-12-24T10:39:24.999Z"), NULL, UINT64_MAX, out);
    CHECK_STR(out, "2018-12-24T103924Z_unknown_18446744073709551615");
    mbname_message(ms("2018-12-24T10:39:24.000+05:00"), "a b/c", 402406984008, out);
    CHECK_STR(out, "2018-12-24T053924Z_a-b-c_402406984008");
    /* out-of-range times are clamped, never garbage */
    mbname_message(-1, "x", 1, out);
    CHECK_STR(out, "1970-01-01T000000Z_x_1");
    mbname_message(INT64_MAX, "x", 1, out);
    CHECK_STR(out, "9999-12-31T235959Z_x_1");
    mbname_message(INT64_MIN, "x", 1, out);
    CHECK_STR(out, "1970-01-01T000000Z_x_1");

    char longest[300];
    memset(longest, '9', 299);
    longest[299] = '\0';
    mbname_message(0, longest, UINT64_MAX, out);
    CHECK_INT(strlen(out), 18 + 1 + 64 + 1 + 20);
    CHECK_NAME(out);
}

static void test_conversation(void)
{
    char out[MBNAME_MAX];
    mbname_conversation("+16505551234", "6951365551500", out);
    CHECK_STR(out, "+16505551234_6951365551500");
    mbname_conversation("103", "8234962969801171948", out);
    CHECK_STR(out, "103_8234962969801171948");
    mbname_conversation(NULL, "1", out);
    CHECK_STR(out, "unknown_1");
    mbname_conversation(".x", "1", out);
    CHECK_STR(out, "-x_1"); /* would be a hidden folder otherwise */
    mbname_conversation("a", "../../x", out);
    CHECK_STR(out, "a_-.-..-x");
    mbname_conversation("a", NULL, out);
    CHECK_STR(out, "a_unknown");
    mbname_conversation("a", "", out);
    CHECK_STR(out, "a_unknown");
    mbname_conversation("a", "123456789012345678901", out); /* 21 digits: not an id */
    CHECK_STR(out, "a_123456789012345678901");
    CHECK_NAME(out);
}

static void test_extension(void)
{
    char out[MBNAME_MAX];
    mbname_extension("102", 306067004, out);
    CHECK_STR(out, "102");
    mbname_extension("+1.2-3", 1, out);
    CHECK_STR(out, "+1.2-3");
    static const char *const bad[] = {NULL,  "",    ".",     "..",         ".102",
                                      "1/2", "1 2", "10\n2", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mbname_extension(bad[i], 306067004, out);
        CHECK_STR(out, "306067004");
    }
    char n65[66];
    memset(n65, '1', 65);
    n65[65] = '\0';
    mbname_extension(n65, 5, out);
    CHECK_STR(out, "5");
    n65[64] = '\0';
    mbname_extension(n65, 5, out);
    CHECK_STR(out, n65);
    mbname_extension(NULL, UINT64_MAX, out);
    CHECK_STR(out, "18446744073709551615");
}

static void test_types(void)
{
    struct {
        const char *type, *ext;
    } cases[] = {
        {"application/pdf", "pdf"},
        {"image/tiff", "tiff"},
        {"audio/mpeg", "mp3"},
        {"audio/mp3", "mp3"},
        {"audio/x-wav", "wav"},
        {"audio/wav", "wav"},
        {"text/plain", "txt"},
        {"image/jpeg", "jpg"},
        {"image/png", "png"},
        {"image/gif", "gif"},
        {"video/mp4", "mp4"},
        {"text/vcard", "vcf"},
        {"text/x-vcard", "vcf"},
        {"video/3gpp", "3gp"},
        {"audio/amr", "amr"},
        {"text/html", "html"},
        {"application/msword", "doc"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
        {"image/bmp", "bmp"},
        {"application/rtf", "rtf"},
        {"Application/PDF", "pdf"},
        {" text/plain; charset=utf-8", "txt"},
        {"application/octet-stream", "bin"},
        {"application/pdfx", "bin"},
        {"application/pd", "bin"},
        {"", "bin"},
        {"/", "bin"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STR(mbname_ext_for_type(cases[i].type), cases[i].ext);
    CHECK_STR(mbname_ext_for_type(NULL), "bin");

    CHECK_STR(mbname_mime_for_ext("pdf"), "application/pdf");
    CHECK_STR(mbname_mime_for_ext("PDF"), "application/pdf");
    CHECK_STR(mbname_mime_for_ext(".pdf"), "application/pdf");
    CHECK_STR(mbname_mime_for_ext("fax.tiff"), "image/tiff");
    CHECK_STR(mbname_mime_for_ext("mp3"), "audio/mpeg");
    CHECK_STR(mbname_mime_for_ext("wav"), "audio/x-wav");
    CHECK_STR(mbname_mime_for_ext("vcf"), "text/vcard");
    CHECK_STR(mbname_mime_for_ext("txt"), "text/plain");
    CHECK_STR(mbname_mime_for_ext("json"), "application/json");
    CHECK_STR(mbname_mime_for_ext("bin"), "application/octet-stream");
    CHECK_STR(mbname_mime_for_ext("exe"), "application/octet-stream");
    CHECK_STR(mbname_mime_for_ext(""), "application/octet-stream");
    CHECK_STR(mbname_mime_for_ext(NULL), "application/octet-stream");

    /* every extension we make maps back to a type that maps to it again */
    static const char *const types[] = {
        "application/pdf", "image/tiff", "audio/mpeg",         "audio/x-wav", "text/plain",
        "image/jpeg",      "image/png",  "image/gif",          "video/mp4",   "text/vcard",
        "video/3gpp",      "text/html",  "application/msword", "image/bmp",   "application/rtf"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *ext = mbname_ext_for_type(types[i]);
        CHECK_STR(mbname_ext_for_type(mbname_mime_for_ext(ext)), ext);
    }
}

static void test_is_safe(void)
{
    static const char *const safe[] = {
        "filename.png",
        "caf\xc3\xa9-\xce\xa9.png",
        "a",
        "a..b",
        "x.",
        "meta.json.png",
        "Meta.json",
        "\xf0\x9f\x98\x80.jpg",
        "with space.png",
        "a\\b.png",
    };
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
        if (!mbname_is_safe(safe[i]))
            fprintf(stderr, "  refused \"%s\"\n", safe[i]);
        CHECK(mbname_is_safe(safe[i]));
    }
    static const char *const unsafe[] = {
        NULL,
        "",
        ".",
        "..",
        ".hidden",
        "../../etc/passwd",
        "a/b.png",
        "/",
        "x\ny.png",
        "x\ty",
        "x\x7fy",
        "x\x1b[31m",
        "meta.json",
        "a\xff.png",
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80.png", /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "a\xe2\x82",        /* truncated */
        "x\xc2\x9b"
        "31m", /* C1 CSI */
        "invoice\xe2\x80\xae"
        "fdp.exe", /* right-to-left override */
    };
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
        if (mbname_is_safe(unsafe[i]))
            fprintf(stderr, "  accepted \"%s\"\n", unsafe[i]);
        CHECK(!mbname_is_safe(unsafe[i]));
    }
    char s[300];
    memset(s, 'a', 299);
    s[299] = '\0';
    CHECK(!mbname_is_safe(s));
    s[256] = '\0';
    CHECK(!mbname_is_safe(s));
    s[255] = '\0'; /* 255 bytes: the most a name may have */
    CHECK(mbname_is_safe(s));
}

static struct rec_attachment att(enum rec_att_type type, uint64_t id, const char *ct,
                                 const char *file_name)
{
    struct rec_attachment a = {.id = id,
                               .size = -1,
                               .type = type,
                               .content_type = (char *)ct,
                               .file_name = (char *)file_name};
    return a;
}

/* Names of n attachments, checked for the invariants and uniqueness. */
static void names(const struct rec_attachment *a, size_t n, char (*out)[MBNAME_MAX])
{
    mbname_attachments(a, n, out);
    for (size_t i = 0; i < n; i++) {
        CHECK_NAME(out[i]);
        CHECK(strcmp(out[i], MBNAME_META) != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(out[i], out[j]) != 0);
    }
}

static void test_attachments_by_type(void)
{
    char out[16][MBNAME_MAX];
    struct rec_attachment a[] = {
        att(REC_ATT_TEXT, 1, "text/plain", NULL),
        att(REC_ATT_RENDERED_DOCUMENT, 2, "application/pdf", NULL),
        att(REC_ATT_AUDIO_RECORDING, 3, "audio/x-wav", NULL),
        att(REC_ATT_AUDIO_TRANSCRIPTION, 4, "text/plain", NULL),
        att(REC_ATT_MMS, 5, "image/png", "filename.png"),
        att(REC_ATT_SOURCE_DOCUMENT, 6, "application/msword", NULL),
        att(REC_ATT_SOURCE_DOCUMENT, 7, "image/tiff", NULL),
        att(REC_ATT_OTHER, 8, "application/x-thing", NULL),
        att(REC_ATT_MMS, 9, "image/jpeg", NULL),
        att(REC_ATT_RENDERED_DOCUMENT, 10, "application/pdf", NULL),
        att(REC_ATT_AUDIO_RECORDING, 11, "audio/mpeg", NULL),
        att(REC_ATT_RENDERED_DOCUMENT, 12, "image/tiff", NULL),
        att(REC_ATT_RENDERED_DOCUMENT, 13, "application/pdf", NULL),
        att(REC_ATT_TEXT, 14, "text/plain", NULL),
        att(REC_ATT_MMS, 15, NULL, NULL),
        att((enum rec_att_type)42, 16, "", NULL),
    };
    names(a, 16, out);
    CHECK_STR(out[0], "message.txt");
    CHECK_STR(out[1], "fax.pdf");
    CHECK_STR(out[2], "voicemail.wav");
    CHECK_STR(out[3], "transcription.txt");
    CHECK_STR(out[4], "filename.png");
    CHECK_STR(out[5], "source-1.doc");
    CHECK_STR(out[6], "source-2.tiff");
    CHECK_STR(out[7], "attachment-8.bin");
    CHECK_STR(out[8], "attachment-9.jpg");
    CHECK_STR(out[9], "fax-2.pdf");
    CHECK_STR(out[10], "voicemail.mp3");
    CHECK_STR(out[11], "fax.tiff");
    CHECK_STR(out[12], "fax-3.pdf");
    CHECK_STR(out[13], "message-2.txt");
    CHECK_STR(out[14], "attachment-15.bin");
    CHECK_STR(out[15], "attachment-16.bin");

    /* n == 0 and NULL are no-ops */
    mbname_attachments(NULL, 3, out);
    mbname_attachments(a, 0, out);
}

static void test_hostile_file_names(void)
{
    char s300[301];
    memset(s300, 'n', 296);
    memcpy(s300 + 296, ".png", 5);
    static const char *const hostile[] = {
        "../../etc/passwd",
        "a/b.png",
        "x\ny.png",
        "..",
        ".",
        "",
        ".hidden",
        "meta.json",
        "a\xff\xfe.png",
        "\xc0\xae\xc0\xae",
        "x\x7f.png",
        "\xe2\x80\xaegnp.exe", /* U+202E then "gnp.exe" */
    };
    char out[2][MBNAME_MAX];
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        struct rec_attachment a = att(REC_ATT_MMS, 400938873008, "image/png", hostile[i]);
        names(&a, 1, out);
        CHECK_STR(out[0], "attachment-400938873008.png");
    }
    struct rec_attachment a = att(REC_ATT_MMS, 7, "image/png", s300);
    names(&a, 1, out);
    CHECK_STR(out[0], "attachment-7.png");

    a = att(REC_ATT_MMS, 7, "image/png", "caf\xc3\xa9-\xce\xa9.png");
    names(&a, 1, out);
    CHECK_STR(out[0], "caf\xc3\xa9-\xce\xa9.png");

    /* a sender's name that looks like one of ours is still unique */
    struct rec_attachment b[] = {att(REC_ATT_TEXT, 1, "text/plain", NULL),
                                 att(REC_ATT_MMS, 2, "text/plain", "message.txt")};
    names(b, 2, out);
    CHECK_STR(out[0], "message.txt");
    CHECK_STR(out[1], "message-2.txt");
}

static void test_duplicates(void)
{
    char out[8][MBNAME_MAX];
    struct rec_attachment a[] = {
        att(REC_ATT_MMS, 1, "image/png", "a.png"),
        att(REC_ATT_MMS, 2, "image/png", "a-2.png"),
        att(REC_ATT_MMS, 3, "image/png", "a.png"),
    };
    names(a, 3, out);
    CHECK_STR(out[0], "a.png");
    CHECK_STR(out[1], "a-2.png");
    CHECK_STR(out[2], "a-3.png");

    /* the sender's own "a-2.png" keeps its name even when it comes last */
    struct rec_attachment b[] = {
        att(REC_ATT_MMS, 1, "image/png", "a.png"),
        att(REC_ATT_MMS, 2, "image/png", "a.png"),
        att(REC_ATT_MMS, 3, "image/png", "a-2.png"),
        att(REC_ATT_MMS, 4, "image/png", "a-2.png"),
    };
    names(b, 4, out);
    CHECK_STR(out[0], "a.png");
    CHECK_STR(out[1], "a-3.png");
    CHECK_STR(out[2], "a-2.png");
    CHECK_STR(out[3], "a-2-2.png");

    /* no extension: the number goes at the end */
    struct rec_attachment c[] = {
        att(REC_ATT_MMS, 1, "text/plain", "README"),
        att(REC_ATT_MMS, 2, "text/plain", "README"),
        att(REC_ATT_MMS, 3, "text/plain", "x.tar.gz"),
        att(REC_ATT_MMS, 4, "text/plain", "x.tar.gz"),
        att(REC_ATT_MMS, 5, "text/plain", "dot."),
        att(REC_ATT_MMS, 6, "text/plain", "dot."),
    };
    names(c, 6, out);
    CHECK_STR(out[1], "README-2");
    CHECK_STR(out[3], "x.tar-2.gz");
    CHECK_STR(out[5], "dot-2.");

    /* 20 identical names */
    char many[20][MBNAME_MAX];
    struct rec_attachment d[20];
    for (int i = 0; i < 20; i++)
        d[i] = att(REC_ATT_MMS, (uint64_t)i, "image/png", "p.png");
    names(d, 20, many);
    CHECK_STR(many[0], "p.png");
    CHECK_STR(many[9], "p-10.png");
    CHECK_STR(many[19], "p-20.png");
}

static void test_long_duplicates(void)
{
    char out[12][MBNAME_MAX];
    /* 255 bytes: the stem is cut so "-k" still fits */
    char name[256];
    memset(name, 'x', 251);
    memcpy(name + 251, ".png", 5);
    CHECK_INT(strlen(name), 255);
    struct rec_attachment a[12];
    for (int i = 0; i < 12; i++)
        a[i] = att(REC_ATT_MMS, (uint64_t)i, "image/png", name);
    names(a, 12, out);
    CHECK_STR(out[0], name);
    CHECK_INT(strlen(out[1]), 255);
    CHECK(strcmp(out[1] + 255 - 6, "-2.png") == 0);
    CHECK(strcmp(out[11] + 255 - 7, "-12.png") == 0);

    /* two-byte characters: the cut lands between them, never inside */
    char wide[256];
    for (int i = 0; i < 125; i++)
        memcpy(wide + 2 * i, "\xc3\xa9", 2);
    memcpy(wide + 250, ".png", 5); /* 254 bytes */
    for (int i = 0; i < 12; i++)
        a[i] = att(REC_ATT_MMS, (uint64_t)i, "image/png", wide);
    names(a, 12, out);
    CHECK_STR(out[0], wide);
    CHECK(strlen(out[1]) <= 255);
    CHECK(strcmp(out[1] + strlen(out[1]) - 6, "-2.png") == 0);

    /* a 250-byte "extension" is no extension */
    char ext[256];
    ext[0] = 'a';
    ext[1] = '.';
    memset(ext + 2, 'e', 253);
    ext[255] = '\0';
    for (int i = 0; i < 3; i++)
        a[i] = att(REC_ATT_MMS, (uint64_t)i, "image/png", ext);
    names(a, 3, out);
    CHECK(strcmp(out[1] + strlen(out[1]) - 2, "-2") == 0);
    CHECK_INT(strlen(out[1]), 255);
}

/* ---- property loop: random bytes in, safe names out ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    /* xorshift64*: fixed seed, so a failure is reproducible */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* A random string biased towards the characters that matter here. */
static void random_string(char *s, size_t cap)
{
    static const char *const pieces[] = {
        ".",
        "..",
        "/",
        "-",
        "-2",
        ".png",
        "meta.json",
        "\xc3\xa9",
        "\xf0\x9f\x98\x80",
        "\xff",
        "\xe2\x80\xae",
        "\xc2\x9b",
        "\xed\xa0\x80",
        "\n",
        "\x7f",
        "a",
        "Z",
        "9",
        "+",
        " ",
        "\xe2\x82",
        "\xc0\xaf",
        "_",
    };
    size_t len = rnd() % (cap - 1);
    size_t n = 0;
    while (n < len) {
        if (rnd() % 3 == 0) {
            const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t l = strlen(p);
            if (n + l > len)
                break;
            memcpy(s + n, p, l);
            n += l;
        } else {
            char c = (char)(rnd() % 255 + 1);
            s[n++] = c;
        }
    }
    s[n] = '\0';
}

static void test_random_property(void)
{
    char a[320], b[320], out[MBNAME_MAX];
    char files[8][320], types[8][64];
    char outs[8][MBNAME_MAX];
    int bad = 0;

    for (int iter = 0; iter < 20000 && bad < 5; iter++) {
        random_string(a, sizeof(a));
        random_string(b, sizeof(b));
        int before = check_failures;

        mbname_peer(a, out);
        CHECK_NAME(out);
        CHECK(strlen(out) <= MBNAME_PEER_MAX);
        mbname_message((int64_t)rnd(), a, rnd(), out);
        CHECK_NAME(out);
        mbname_conversation(a, b, out);
        CHECK_NAME(out);
        mbname_extension(a, rnd(), out);
        CHECK_NAME(out);
        CHECK_NAME(mbname_ext_for_type(a));
        CHECK(mbname_mime_for_ext(a) != NULL);
        if (mbname_is_safe(a))
            CHECK_NAME(a);

        size_t n = 1 + rnd() % 8;
        struct rec_attachment att_[8];
        for (size_t i = 0; i < n; i++) {
            /* often the same name, to exercise numbering */
            if (i > 0 && rnd() % 2)
                strcpy(files[i], files[rnd() % i]);
            else
                random_string(files[i], sizeof(files[i]));
            random_string(types[i], sizeof(types[i]));
            att_[i] = att((enum rec_att_type)(rnd() % (REC_ATT_OTHER + 2)), rnd() % 1000,
                          rnd() % 2 ? "image/png" : types[i], rnd() % 8 ? files[i] : NULL);
        }
        names(att_, n, outs);
        if (check_failures != before) {
            fprintf(stderr, "  property failed at iteration %d\n", iter);
            bad++;
        }
    }
}

int main(void)
{
    RUN(test_peer);
    RUN(test_message);
    RUN(test_conversation);
    RUN(test_extension);
    RUN(test_types);
    RUN(test_is_safe);
    RUN(test_attachments_by_type);
    RUN(test_hostile_file_names);
    RUN(test_duplicates);
    RUN(test_long_duplicates);
    RUN(test_random_property);
    return CHECK_DONE();
}

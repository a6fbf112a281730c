/*
 * Unit tests for api_faxdoc: each accepted type from its signature, the
 * office containers told apart by name, text, and the refusals (empty,
 * unknown binary, unnamed containers, over 50 MB) with their reasons.
 */
#include <errno.h>
#include <string.h>

#include "api/api_faxdoc.h"
#include "check.h"

static int type_of(const void *head, size_t n, const char *name, uint64_t size, const char **t,
                   char *why)
{
    return faxdoc_type(head, n, name, size ? size : n, t, why, 160);
}

static void test_signatures(void)
{
    static const struct {
        const char *head;
        size_t n;
        const char *type;
    } cases[] = {
        {"%PDF-1.4\n", 9, "application/pdf"},
        {"\n\n  %PDF-1.7", 12, "application/pdf"}, /* within the first 1024 bytes */
        {"II*\0\x08\0\0\0", 8, "image/tiff"},
        {"MM\0*\0\0\0\x08", 8, "image/tiff"},
        {"\xff\xd8\xff\xe0", 4, "image/jpeg"},
        {"\x89PNG\r\n\x1a\n", 8, "image/png"},
        {"GIF89a", 6, "image/gif"},
        {"{\\rtf1\\ansi", 11, "application/rtf"},
        {"Hello, World!\nSecond line\tend\r\n", 31, "text/plain"},
        {"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80", 14, "text/plain"},
    };
    char why[160];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = NULL;
        CHECK_INT(type_of(cases[i].head, cases[i].n, "x.bin", 0, &t, why), 0);
        CHECK_STR(t, cases[i].type);
        CHECK(faxdoc_accepted(t));
    }
}

static void test_containers_by_name(void)
{
    const char *t = NULL;
    char why[160] = "";

    CHECK_INT(type_of("PK\3\4....", 8, "Report.DOCX", 0, &t, why), 0);
    CHECK_STR(t, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    CHECK_INT(type_of("PK\3\4....", 8, "sheet.ods", 0, &t, why), 0);
    CHECK_STR(t, "application/vnd.oasis.opendocument.spreadsheet");
    CHECK_INT(type_of("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "old.xls", 0, &t, why), 0);
    CHECK_STR(t, "application/vnd.ms-excel");
    t = "untouched";
    CHECK_INT(type_of("PK\3\4....", 8, "archive.zip", 0, &t, why), -EINVAL);
    CHECK_STR(t, "untouched");
    CHECK(strstr(why, ".docx") != NULL);
    CHECK_INT(type_of("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "mail.msg", 0, &t, why), -EINVAL);
    CHECK_INT(type_of("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, NULL, 0, &t, why), -EINVAL);
    /* a name never overrides the bytes: a PDF named .docx is a PDF */
    CHECK_INT(type_of("%PDF-1.4", 8, "fake.docx", 0, &t, why), 0);
    CHECK_STR(t, "application/pdf");
}

static void test_refusals(void)
{
    const char *t = NULL;
    char why[160] = "";

    CHECK_INT(type_of("", 0, "a.pdf", 0, &t, why), -EINVAL);
    CHECK(strstr(why, "empty") != NULL);
    CHECK_INT(type_of("\x7f"
                      "ELF\2\1\1\0",
                      8, "a.out", 0, &t, why),
              -EINVAL);
    CHECK(strstr(why, "PDF, TIFF") != NULL);
    CHECK_INT(type_of("abc\0def", 7, "a.txt", 0, &t, why), -EINVAL);   /* NUL: not text */
    CHECK_INT(type_of("ab\xc3\x28", 4, "a.txt", 0, &t, why), -EINVAL); /* bad UTF-8 */
    CHECK_INT(type_of("\xff\xfeh\0i\0", 6, "u16.txt", 0, &t, why), -EINVAL);
    CHECK_INT(type_of("%PDF-1.4", 8, "big.pdf", FAXDOC_MAX_BYTES + 1, &t, why), -EFBIG);
    CHECK(strstr(why, "52428800") != NULL);
    CHECK_INT(type_of("%PDF-1.4", 8, "max.pdf", FAXDOC_MAX_BYTES, &t, why), 0);
}

static void test_text_cut_by_the_head(void)
{
    const char *t = NULL;
    char why[160];
    /* the head ends inside a 3-byte sequence: fine when more follows */
    CHECK_INT(faxdoc_type((const unsigned char *)"abc\xe2\x98", 5, "a.txt", 100, &t, why, 160), 0);
    CHECK_STR(t, "text/plain");
    CHECK_INT(faxdoc_type((const unsigned char *)"abc\xe2\x98", 5, "a.txt", 5, &t, why, 160),
              -EINVAL);
}

static void test_accepted_and_extension(void)
{
    CHECK(faxdoc_accepted("application/pdf"));
    CHECK(faxdoc_accepted("Application/PDF; name=x"));
    CHECK(faxdoc_accepted(" text/plain;charset=utf-8"));
    CHECK(!faxdoc_accepted("application/pdfx"));
    CHECK(!faxdoc_accepted("application/zip"));
    CHECK(!faxdoc_accepted(NULL));
    CHECK_STR(faxdoc_extension("image/tiff"), "tiff");
    CHECK_STR(faxdoc_extension("application/msword"), "doc");
    CHECK_STR(faxdoc_extension("application/zip"), "bin");
}

int main(void)
{
    RUN(test_signatures);
    RUN(test_containers_by_name);
    RUN(test_refusals);
    RUN(test_text_cut_by_the_head);
    RUN(test_accepted_and_extension);
    return CHECK_DONE();
}

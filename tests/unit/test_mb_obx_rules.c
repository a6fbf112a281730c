/* Unit tests for mailbox/mb_obx_rules: temporary names, recipient numbers,
 * the text limits while writing and at close, final statuses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_obx_rules.h"
#include "tests/unit/check.h"

static void test_temp_names(void)
{
    static const char *const temp[] = {
        ".goutputstream-ABC123",
        ".doc.pdf.Xy12Zq",
        ".hidden",
        ".~lock.report.odt#",
        "report.pdf~",
        "movie.mp4.part",
        "a.crdownload",
        ".a.swp",
        "b.swp",
        "#notes#",
        "lu12345.tmp",
        "~$report.docx",
        "",
    };
    static const char *const sent[] = {
        "doc.pdf", "report (1).pdf", "a~b.pdf", "part", "x.partial", "#",          "#notes",
        "notes#",  "été.txt",        "a.b.c",   "tmp",  "a.tmpl",    "~report.pdf"};
    for (size_t i = 0; i < sizeof temp / sizeof temp[0]; i++)
        CHECK(obxr_temp_name(temp[i]));
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
        CHECK(!obxr_temp_name(sent[i]));
}

static void test_recipients(void)
{
    char to[24];
    CHECK_INT(obxr_recipient(REC_FAX, "+16505551234", to, sizeof to), 0);
    CHECK_STR(to, "+16505551234");
    CHECK_INT(obxr_recipient(REC_SMS, "6505551234", to, sizeof to), 0);
    CHECK_STR(to, "+16505551234"); /* ten digits: +1 */
    CHECK_INT(obxr_recipient(REC_FAX, "4930123456", to, sizeof to), 0);
    CHECK_STR(to, "+14930123456");
    CHECK_INT(obxr_recipient(REC_FAX, "+4930123456", to, sizeof to), 0);
    CHECK_STR(to, "+4930123456");
    CHECK_INT(obxr_recipient(REC_FAX, "1234567", to, sizeof to), 0);
    CHECK_INT(obxr_recipient(REC_SMS, "+123456789012345", to, sizeof to), 0);
    static const char *const bad[] = {"",
                                      "+",
                                      "123456",
                                      "+123456",
                                      "1234567890123456",
                                      "+1 650 555 1234",
                                      "+1-650-555-1234",
                                      "(650)5551234",
                                      "abc",
                                      "++16505551234",
                                      "+1650555123a",
                                      "16505551234+"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(obxr_recipient(REC_FAX, bad[i], to, sizeof to), -EINVAL);
        CHECK_INT(obxr_recipient(REC_SMS, bad[i], to, sizeof to), -EINVAL);
    }
    CHECK_INT(obxr_recipient(REC_PAGER, "102", to, sizeof to), 0);
    CHECK_STR(to, "102");
    CHECK_INT(obxr_recipient(REC_PAGER, "1", to, sizeof to), 0);
    CHECK_INT(obxr_recipient(REC_PAGER, "1234567890123456", to, sizeof to), 0);
    CHECK_INT(obxr_recipient(REC_PAGER, "12345678901234567", to, sizeof to), -EINVAL);
    CHECK_INT(obxr_recipient(REC_PAGER, "+102", to, sizeof to), -EINVAL);
    CHECK_INT(obxr_recipient(REC_PAGER, "", to, sizeof to), -EINVAL);
    CHECK_INT(obxr_recipient(REC_VOICEMAIL, "102", to, sizeof to), -EINVAL);
    CHECK_INT(obxr_recipient(REC_TEXT, "+16505551234", to, sizeof to), -EINVAL);
}

/* n copies of s. */
static char *rep(const char *s, size_t n)
{
    size_t l = strlen(s);
    char *out = malloc(l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * l, s, l);
    out[l * n] = '\0';
    return out;
}

static void test_text_while_writing(void)
{
    char *a = rep("a", 1000), *b = rep("a", 1001), *e = rep("\xf0\x9f\x98\x80", 500);
    CHECK_INT(obxr_text_growing(REC_SMS, a, 1000), 0);
    CHECK_INT(obxr_text_growing(REC_SMS, b, 1001), -EFBIG);
    CHECK_INT(obxr_text_growing(REC_PAGER, b, 1001), 0);    /* pager allows 1024 */
    CHECK_INT(obxr_text_growing(REC_SMS, e, strlen(e)), 0); /* 1000 units */
    /* A final newline (or CR LF) is not text; one in the middle is. */
    char *a_nl = malloc(1003);
    memcpy(a_nl, a, 1000);
    memcpy(a_nl + 1000, "\r\n", 2);
    CHECK_INT(obxr_text_growing(REC_SMS, a_nl, 1002), 0);
    memcpy(a_nl + 999, "\nx", 2);
    CHECK_INT(obxr_text_growing(REC_SMS, a_nl, 1001), -EFBIG);
    /* A sequence cut by the end of a write counts only once it is whole. */
    char *cut = malloc(1003);
    memcpy(cut, a, 999);
    memcpy(cut + 999, "\xf0\x9f", 2); /* half an emoji: 999 units so far */
    CHECK_INT(obxr_text_growing(REC_SMS, cut, 1001), 0);
    /* More bytes than any text of the limit can have. */
    char *big = rep("\xe2\x82\xac", 1001); /* 1001 euro signs, 3003 bytes */
    CHECK_INT(obxr_text_growing(REC_SMS, big, strlen(big)), -EFBIG);
    CHECK_INT(obxr_text_max_bytes(REC_SMS), 3002);
    free(a);
    free(b);
    free(e);
    free(a_nl);
    free(cut);
    free(big);
}

static void test_text_at_close(void)
{
    char why[200];
    size_t len;
    CHECK_INT(obxr_text_final(REC_SMS, "hello\n", 6, &len, why, sizeof why), 0);
    CHECK_INT(len, 5);
    CHECK_INT(obxr_text_final(REC_SMS, "hello\r\n", 7, &len, why, sizeof why), 0);
    CHECK_INT(len, 5);
    CHECK_INT(obxr_text_final(REC_SMS, "two\n\n", 5, &len, why, sizeof why), 0);
    CHECK_INT(len, 4); /* only one newline is dropped */
    CHECK_INT(obxr_text_final(REC_PAGER, "x", 1, &len, why, sizeof why), 0);
    CHECK_INT(len, 1);
    CHECK_INT(obxr_text_final(REC_SMS, "", 0, &len, why, sizeof why), -EINVAL);
    CHECK(strstr(why, "empty") != NULL);
    CHECK_INT(obxr_text_final(REC_SMS, "\n", 1, &len, why, sizeof why), -EINVAL);
    CHECK_INT(obxr_text_final(REC_SMS, "caf\xe9", 4, &len, why, sizeof why), -EINVAL);
    CHECK(strstr(why, "UTF-8") != NULL);
    CHECK_INT(obxr_text_final(REC_SMS, "a\0b", 3, &len, why, sizeof why), -EINVAL);
    char *b = rep("b", 1025);
    CHECK_INT(obxr_text_final(REC_PAGER, b, 1024, &len, why, sizeof why), 0);
    CHECK_INT(obxr_text_final(REC_PAGER, b, 1025, &len, why, sizeof why), -EFBIG);
    CHECK(strstr(why, "1025") != NULL && strstr(why, "1024") != NULL);
    free(b);
}

static void test_final_status(void)
{
    CHECK_INT(obxr_status_final("Sent"), 1);
    CHECK_INT(obxr_status_final("Delivered"), 1);
    CHECK_INT(obxr_status_final("SendingFailed"), -1);
    CHECK_INT(obxr_status_final("DeliveryFailed"), -1);
    CHECK_INT(obxr_status_final("Queued"), 0);
    CHECK_INT(obxr_status_final(""), 0);
    CHECK_INT(obxr_status_final("Received"), 0);
}

int main(void)
{
    RUN(test_temp_names);
    RUN(test_recipients);
    RUN(test_text_while_writing);
    RUN(test_text_at_close);
    RUN(test_final_status);
    return CHECK_DONE();
}

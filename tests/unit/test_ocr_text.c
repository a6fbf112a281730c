/* Unit tests for ocr/ocr_text: the shape of a page's text. */
#include <errno.h>
#include <string.h>

#include "ocr/ocr_text.h"
#include "tests/unit/check.h"

static const char *page(const char *s, size_t n)
{
    static struct buf b;
    buf_free(&b);
    buf_init(&b, 1024);
    CHECK_INT(ocr_text_page(&b, s, n), 0);
    return b.data ? b.data : "";
}

#define PAGE(s) page(s, sizeof(s) - 1)

static void test_shape(void)
{
    CHECK_STR(PAGE("FAX\nFrom: +1650\n"), "FAX\nFrom: +1650\n"); /* already shaped */
    CHECK_STR(PAGE("a\n\n  \t\n\f"), "a\n");                     /* trailing white space */
    CHECK_STR(PAGE("a"), "a\n");
    CHECK_STR(PAGE(""), "");
    CHECK_STR(PAGE(" \n\n"), "");
    CHECK_STR(PAGE("  indented\n\tkept"), "  indented\n\tkept\n");
}

static void test_controls_and_utf8(void)
{
    CHECK_STR(PAGE("one\ftwo"), "one two\n"); /* a form feed inside a page */
    CHECK_STR(PAGE("a\rb\x01"
                   "c\x7f"
                   "d"),
              "a b c d\n");
    CHECK_STR(PAGE("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac\n");
    CHECK_STR(PAGE("bad \xff here"), "bad \xef\xbf\xbd here\n");
    CHECK_STR(PAGE("cut \xe2\x82"), "cut \xef\xbf\xbd\xef\xbf\xbd\n");
    CHECK_STR(PAGE("nul\0inside"), "nul inside\n");
    CHECK_STR(PAGE("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n"); /* surrogate */
}

static void test_cap_leaves_buffer_unchanged(void)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(ocr_text_page(&b, "abc", 3), 0);
    CHECK_INT(ocr_text_page(&b, "defgh", 5), -EFBIG);
    CHECK_STR(b.data, "abc\n");
    CHECK_INT(b.len, 4);
    CHECK_INT(ocr_text_page(&b, "def", 3), 0);
    CHECK_STR(b.data, "abc\ndef\n");
    buf_free(&b);
}

int main(void)
{
    RUN(test_shape);
    RUN(test_controls_and_utf8);
    RUN(test_cap_leaves_buffer_unchanged);
    page("", 0);
    return CHECK_DONE();
}

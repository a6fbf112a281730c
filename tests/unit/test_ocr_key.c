/* Unit tests for ocr/ocr_key: the cache key input of a document's text. */
#include <errno.h>
#include <string.h>

#include "ocr/ocr_key.h"
#include "tests/unit/check.h"

static const uint8_t H1[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff};
#define V "rcfs-ocr 0.1.0 (text format 1; tesseract 5.3.0)"

static void test_format_is_fixed(void)
{
    struct ocr_job job = {.helper = "/x", .input_fd = -1};
    char out[OCR_KEY_MAX];
    int n = ocr_text_key(H1, &job, V, out, sizeof(out));
    CHECK_STR(out, "rcfs-ocr-text 1\ndoc 000102030405060708090a0b0c0d0eff\nlang eng\n"
                   "tessdata -\nhelper " V "\n");
    CHECK_INT(n, strlen(out));
    job.lang = "eng+deu";
    job.tessdata = "/usr/share/tesseract-ocr/5/tessdata";
    ocr_text_key(H1, &job, V, out, sizeof(out));
    CHECK_STR(out, "rcfs-ocr-text 1\ndoc 000102030405060708090a0b0c0d0eff\nlang eng+deu\n"
                   "tessdata /usr/share/tesseract-ocr/5/tessdata\nhelper " V "\n");
}

static void test_every_input_counts(void)
{
    struct ocr_job job = {.helper = "/x", .input_fd = -1};
    char base[OCR_KEY_MAX], other[OCR_KEY_MAX];
    ocr_text_key(H1, &job, V, base, sizeof(base));
    uint8_t h2[16];
    memcpy(h2, H1, 16);
    h2[15] ^= 1;
    ocr_text_key(h2, &job, V, other, sizeof(other));
    CHECK(strcmp(base, other) != 0);
    ocr_text_key(H1, &job, V "x", other, sizeof(other));
    CHECK(strcmp(base, other) != 0);
    job.lang = "deu+eng"; /* order matters to Tesseract: the first language leads */
    ocr_text_key(H1, &job, V, other, sizeof(other));
    CHECK(strcmp(base, other) != 0);
    job.lang = "eng"; /* explicit default = NULL */
    ocr_text_key(H1, &job, V, other, sizeof(other));
    CHECK_STR(other, base);
}

static void test_refusals(void)
{
    struct ocr_job job = {.helper = "/x", .input_fd = -1};
    char out[OCR_KEY_MAX];
    CHECK_INT(ocr_text_key(H1, &job, "two\nlines", out, sizeof(out)), -EINVAL);
    CHECK_INT(ocr_text_key(H1, &job, "", out, sizeof(out)), -EINVAL);
    CHECK_INT(ocr_text_key(H1, &job, NULL, out, sizeof(out)), -EINVAL);
    job.tessdata = "relative/dir";
    CHECK_INT(ocr_text_key(H1, &job, V, out, sizeof(out)), -EINVAL);
    job.tessdata = NULL;
    job.lang = "eng\n";
    CHECK_INT(ocr_text_key(H1, &job, V, out, sizeof(out)), -EINVAL);
    job.lang = NULL;
    CHECK_INT(ocr_text_key(H1, &job, V, out, 20), -ENAMETOOLONG);
    CHECK_STR(out, "");
}

int main(void)
{
    RUN(test_format_is_fixed);
    RUN(test_every_input_counts);
    RUN(test_refusals);
    return CHECK_DONE();
}

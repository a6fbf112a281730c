/* Unit tests for ocr/ocr_doc: document type by magic, TIFF page headers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ocr/ocr_doc.h"
#include "tests/unit/check.h"

/* A TIFF being built in memory: header, then IFDs appended. */
struct tb {
    uint8_t b[4096];
    size_t n;
    int be; /* big-endian ("MM") */
};

static void put16(struct tb *t, size_t off, uint32_t v)
{
    t->b[off + (t->be ? 0 : 1)] = (uint8_t)(v >> 8);
    t->b[off + (t->be ? 1 : 0)] = (uint8_t)v;
}

static void put32(struct tb *t, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        t->b[off + (size_t)(t->be ? 3 - i : i)] = (uint8_t)(v >> (8 * i));
}

static void tb_init(struct tb *t, int be)
{
    memset(t, 0, sizeof(*t));
    t->be = be;
    memcpy(t->b, be ? "MM\0*" : "II*\0", 4);
    t->n = 8;
}

/* Append an IFD (width, height, resolution 204 x yres per unit) and link it
 * from link_at (the header's first-IFD field or a previous IFD's next
 * field).  Returns the offset of its own next field. */
static size_t tb_page(struct tb *t, size_t link_at, uint32_t w, uint32_t h, uint32_t yres,
                      uint32_t unit)
{
    size_t rat = t->n;
    put32(t, rat, 204);
    put32(t, rat + 4, 1);
    put32(t, rat + 8, yres);
    put32(t, rat + 12, 1);
    size_t ifd = rat + 16;
    const uint32_t e[][4] = {{256, 4, 1, w}, {257, 3, 1, h}, {259, 3, 1, 4},
                             {282, 5, 1, 0}, {283, 5, 1, 0}, {296, 3, 1, unit}};
    put16(t, ifd, 6);
    for (size_t i = 0; i < 6; i++) {
        size_t at = ifd + 2 + 12 * i;
        put16(t, at, e[i][0]);
        put16(t, at + 2, e[i][1]);
        put32(t, at + 4, e[i][2]);
        uint32_t v = e[i][0] == 282 ? (uint32_t)rat : e[i][0] == 283 ? (uint32_t)rat + 8 : e[i][3];
        if (e[i][1] == 3)
            put16(t, at + 8, v);
        else
            put32(t, at + 8, v);
    }
    size_t next = ifd + 2 + 12 * 6;
    put32(t, next, 0);
    put32(t, link_at, (uint32_t)ifd);
    t->n = next + 4;
    return next;
}

static void test_sniff(void)
{
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"%PDF-1.4\n", 9), OCR_DOC_PDF);
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"junk\r\n%PDF-1.7\n", 15), OCR_DOC_PDF);
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"II*\0\x08\0\0\0", 8), OCR_DOC_TIFF);
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"MM\0*\0\0\0\x08", 8), OCR_DOC_TIFF);
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"II+\0\x08\0\0\0", 8), OCR_DOC_UNKNOWN); /* BigTIFF */
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"II*\0", 4), OCR_DOC_UNKNOWN);
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"\x89PNG\r\n\x1a\n", 8), OCR_DOC_UNKNOWN);
    CHECK_INT(ocr_doc_sniff((const uint8_t *)"", 0), OCR_DOC_UNKNOWN);
    /* "%PDF-" past the first 1024 bytes is not a PDF */
    uint8_t late[1100];
    memset(late, ' ', sizeof(late));
    memcpy(late + 1050, "%PDF-", 5);
    CHECK_INT(ocr_doc_sniff(late, sizeof(late)), OCR_DOC_UNKNOWN);
}

static void test_pages_both_byte_orders(void)
{
    for (int be = 0; be < 2; be++) {
        struct tb t;
        struct ocr_tiff_page pg[4];
        tb_init(&t, be);
        size_t next = tb_page(&t, 4, 1728, 2200, 196, 2);
        next = tb_page(&t, next, 1728, 1100, 98, 2);
        tb_page(&t, next, 1000, 500, 77, 3); /* per centimetre */
        CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 4, 60000000), 3);
        CHECK_INT(pg[0].width, 1728);
        CHECK_INT(pg[0].height, 2200);
        CHECK(pg[0].xres == 204 && pg[0].yres == 196);
        CHECK(pg[1].yres == 98 && pg[1].height == 1100);
        CHECK(pg[2].xres > 518.1 && pg[2].xres < 518.2); /* 204 / cm */
    }
}

static void test_bomb_and_page_limits(void)
{
    struct tb t;
    struct ocr_tiff_page pg[4];
    tb_init(&t, 0);
    tb_page(&t, 4, 100000, 100000, 196, 2);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 4, 60000000), -E2BIG);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 4, 10000000000ull), 1);

    tb_init(&t, 0);
    size_t next = 4;
    for (int i = 0; i < 3; i++)
        next = tb_page(&t, next, 10, 10, 196, 2);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 2, 1000), -E2BIG);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 3, 1000), 3);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 3, 99), -E2BIG);
}

static void test_damaged(void)
{
    struct tb t;
    struct ocr_tiff_page pg[8];
    /* a loop: the second IFD points back at the first */
    tb_init(&t, 0);
    size_t next = tb_page(&t, 4, 10, 10, 196, 2);
    size_t first_ifd = t.b[4] | (size_t)t.b[5] << 8;
    size_t next2 = tb_page(&t, next, 10, 10, 196, 2);
    put32(&t, next2, (uint32_t)first_ifd);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 8, 1000), -EINVAL);
    /* a self loop */
    tb_init(&t, 0);
    next = tb_page(&t, 4, 10, 10, 196, 2);
    put32(&t, next, (uint32_t)(t.b[4] | (size_t)t.b[5] << 8));
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 8, 1000), -EINVAL);
    /* every truncation of a good file fails cleanly */
    tb_init(&t, 1);
    tb_page(&t, 4, 10, 10, 196, 2);
    for (size_t n = 0; n < t.n; n++)
        CHECK(ocr_doc_tiff_pages(t.b, n, pg, 8, 1000) < 0);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 8, 1000), 1);
    /* an IFD offset past the end, a zero width, a wrong magic number */
    tb_init(&t, 0);
    put32(&t, 4, 4000000000u);
    CHECK_INT(ocr_doc_tiff_pages(t.b, 64, pg, 8, 1000), -EINVAL);
    tb_init(&t, 0);
    tb_page(&t, 4, 0, 10, 196, 2);
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 8, 1000), -EINVAL);
    tb_init(&t, 0);
    tb_page(&t, 4, 10, 10, 196, 2);
    t.b[2] = 43;
    CHECK_INT(ocr_doc_tiff_pages(t.b, t.n, pg, 8, 1000), -EINVAL);
}

int main(void)
{
    RUN(test_sniff);
    RUN(test_pages_both_byte_orders);
    RUN(test_bomb_and_page_limits);
    RUN(test_damaged);
    return CHECK_DONE();
}

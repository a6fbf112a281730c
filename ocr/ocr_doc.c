/* ocr_doc — document type and TIFF page headers from raw bytes (see ocr_doc.h). */
#include "ocr/ocr_doc.h"

#include <errno.h>
#include <string.h>

enum ocr_doc_type ocr_doc_sniff(const uint8_t *p, size_t n)
{
    if (n >= 8 && (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0))
        return OCR_DOC_TIFF;
    size_t scan = n < 1024 ? n : 1024;
    if (scan >= 5 && memmem(p, scan, "%PDF-", 5))
        return OCR_DOC_PDF;
    return OCR_DOC_UNKNOWN;
}

/* A TIFF in memory with its byte order. */
struct tiff {
    const uint8_t *p;
    size_t n;
    int big_endian;
};

static int rd16(const struct tiff *t, uint64_t off, uint32_t *v)
{
    if (off > t->n || t->n - off < 2)
        return -EINVAL;
    const uint8_t *q = t->p + off;
    *v = t->big_endian ? (uint32_t)q[0] << 8 | q[1] : (uint32_t)q[1] << 8 | q[0];
    return 0;
}

static int rd32(const struct tiff *t, uint64_t off, uint32_t *v)
{
    if (off > t->n || t->n - off < 4)
        return -EINVAL;
    const uint8_t *q = t->p + off;
    if (t->big_endian)
        *v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    else
        *v = (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
    return 0;
}

/* The single SHORT or LONG value of the entry at e. */
static int entry_uint(const struct tiff *t, uint64_t e, uint32_t *v)
{
    uint32_t type, count;
    if (rd16(t, e + 2, &type) || rd32(t, e + 4, &count) || count != 1)
        return -EINVAL;
    if (type == 3)
        return rd16(t, e + 8, v);
    if (type == 4)
        return rd32(t, e + 8, v);
    return -EINVAL;
}

/* The single RATIONAL value of the entry at e (0 when unusable). */
static double entry_rational(const struct tiff *t, uint64_t e)
{
    uint32_t type, count, off, num, den;
    if (rd16(t, e + 2, &type) || rd32(t, e + 4, &count) || type != 5 || count != 1 ||
        rd32(t, e + 8, &off) || rd32(t, off, &num) || rd32(t, (uint64_t)off + 4, &den) || !den)
        return 0;
    return (double)num / den;
}

/* Read the IFD at off into *pg; *next gets the next IFD's offset. */
static int read_ifd(const struct tiff *t, uint32_t off, struct ocr_tiff_page *pg, uint32_t *next)
{
    uint32_t count, unit = 2;
    if (rd16(t, off, &count) || count == 0)
        return -EINVAL;
    uint64_t end = (uint64_t)off + 2 + 12 * (uint64_t)count;
    if (rd32(t, end, next))
        return -EINVAL;
    memset(pg, 0, sizeof(*pg));
    for (uint32_t i = 0; i < count; i++) {
        uint64_t e = (uint64_t)off + 2 + 12 * (uint64_t)i;
        uint32_t tag, v;
        if (rd16(t, e, &tag))
            return -EINVAL;
        if (tag == 256 || tag == 257) {
            if (entry_uint(t, e, &v))
                return -EINVAL;
            *(tag == 256 ? &pg->width : &pg->height) = v;
        } else if (tag == 282) {
            pg->xres = entry_rational(t, e);
        } else if (tag == 283) {
            pg->yres = entry_rational(t, e);
        } else if (tag == 296 && entry_uint(t, e, &v) == 0) {
            unit = v;
        }
    }
    if (!pg->width || !pg->height)
        return -EINVAL;
    double scale = unit == 3 ? 2.54 : unit == 2 ? 1 : 0;
    pg->xres *= scale;
    pg->yres *= scale;
    return 0;
}

/* True when off is one of the first count IFD offsets of the chain. */
static int seen(const struct tiff *t, uint32_t first, int count, uint32_t off)
{
    uint32_t cur = first, n;
    for (int i = 0; i < count; i++) {
        if (cur == off)
            return 1;
        if (rd16(t, cur, &n) || rd32(t, (uint64_t)cur + 2 + 12 * (uint64_t)n, &cur))
            return 0;
    }
    return 0;
}

int ocr_doc_tiff_pages(const uint8_t *p, size_t n, struct ocr_tiff_page *pages, size_t max_pages,
                       uint64_t max_pixels)
{
    struct tiff t = {p, n, 0};
    uint32_t magic, first, off;
    if (ocr_doc_sniff(p, n) != OCR_DOC_TIFF)
        return -EINVAL;
    t.big_endian = p[0] == 'M';
    if (rd16(&t, 2, &magic) || magic != 42 || rd32(&t, 4, &first) || first == 0)
        return -EINVAL;
    int count = 0;
    for (off = first; off != 0; count++) {
        if (count > 0 && seen(&t, first, count, off))
            return -EINVAL;
        if ((size_t)count >= max_pages)
            return -E2BIG;
        struct ocr_tiff_page *pg = &pages[count];
        if (read_ifd(&t, off, pg, &off))
            return -EINVAL;
        if ((uint64_t)pg->width * pg->height > max_pixels)
            return -E2BIG;
    }
    return count;
}

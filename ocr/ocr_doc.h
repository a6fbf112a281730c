/*
 * ocr_doc — what a document is, decided from its bytes alone, before any
 * library parses it.
 *
 * The type comes from magic bytes, never from a name.  For TIFF the page
 * headers (IFDs) are walked here, bounded and loop-safe, so a page that
 * declares more pixels than allowed (a decompression bomb) is refused
 * before Leptonica or libtiff allocate anything for it.  Pure functions on a
 * memory buffer: no I/O, no allocation, safe on hostile input.
 */
#ifndef RCFS_OCR_DOC_H
#define RCFS_OCR_DOC_H

#include <stddef.h>
#include <stdint.h>

enum ocr_doc_type { OCR_DOC_UNKNOWN, OCR_DOC_PDF, OCR_DOC_TIFF };

/* What a document may demand; over any of these it is refused whole. */
struct ocr_doc_limits {
    unsigned max_pages;  /* pages in the document */
    uint64_t max_pixels; /* width * height of one page (declared, or rendered) */
    unsigned render_dpi; /* resolution image-only PDF pages are rendered at */
};

/* The type of the n bytes at p: PDF when "%PDF-" starts within the first
 * 1024 bytes (as readers accept), TIFF for "II*\0" or "MM\0*" (classic TIFF;
 * BigTIFF is UNKNOWN). */
enum ocr_doc_type ocr_doc_sniff(const uint8_t *p, size_t n);

/* One TIFF page as its header declares it. */
struct ocr_tiff_page {
    uint32_t width;  /* ImageWidth, pixels */
    uint32_t height; /* ImageLength, pixels */
    double xres;     /* XResolution in dots per inch, 0 when absent */
    double yres;     /* YResolution in dots per inch, 0 when absent */
};

/*
 * Walk the IFD chain of the classic TIFF in p[0..n) and check each page.
 * pages: room for max_pages entries (may be NULL when max_pages is 0 ...
 * then any page is over the limit).  max_pixels: the most width * height
 * a page may declare.
 * Returns the number of pages (>= 1) with pages[] filled, or
 *   -EINVAL  not a TIFF, or a header that points outside the data, an IFD
 *            without width or height, a zero dimension, an IFD loop;
 *   -E2BIG   more than max_pages pages, or a page over max_pixels.
 * On error pages[] may be partly written.
 */
int ocr_doc_tiff_pages(const uint8_t *p, size_t n, struct ocr_tiff_page *pages, size_t max_pages,
                       uint64_t max_pixels);

#endif

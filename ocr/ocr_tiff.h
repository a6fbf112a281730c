/*
 * ocr_tiff — the text of a TIFF document: every page OCRed.
 *
 * Pages are first checked from their headers alone (ocr_doc_tiff_pages), so
 * a page that declares more pixels than allowed is refused before any
 * decoder allocates for it; then Leptonica (libtiff: G3, G4, LZW, ...)
 * decodes one page at a time and Tesseract reads it at the page's own
 * resolution (a 204 x 98 dpi fax is stretched to square pixels).
 */
#ifndef RCFS_OCR_TIFF_H
#define RCFS_OCR_TIFF_H

#include <stddef.h>
#include <stdint.h>

#include "ocr/ocr_doc.h"
#include "ocr/ocr_tess.h"
#include "util/buf.h"

/*
 * Append the text of the TIFF p[0..n) to out, pages separated by '\f'.
 * Returns 0, or -EINVAL (not a TIFF, or a page that cannot be decoded),
 * -E2BIG (over a limit), -EFBIG (out full), -ENOMEM (memory limit while
 * decoding), -ENOTSUP (engine cannot start), -EIO (Tesseract failed).  On
 * error out holds a partial text.
 */
int ocr_tiff_read(const uint8_t *p, size_t n, const struct ocr_doc_limits *lim, struct ocr_tess *t,
                  struct buf *out);

#endif

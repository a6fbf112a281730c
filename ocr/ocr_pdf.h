/*
 * ocr_pdf — the text of a PDF document, page by page.
 *
 * A page that carries a text layer gives that text (Poppler's reading
 * order), exact and fast.  A page without one (a scanned or faxed page: an
 * image only) is rendered with Poppler and cairo at the limits' render_dpi,
 * refused first if that would exceed max_pixels, and read by Tesseract.
 * rcfs-ocr renders at 204 dpi, the resolution faxes are made at: rendering
 * the G4 image at 300 dpi lost recall on the emulator's corpus (cairo's
 * scaling of a bilevel image) and cost 40% more time; ocr_tess scales the
 * page up smoothly instead.
 */
#ifndef RCFS_OCR_PDF_H
#define RCFS_OCR_PDF_H

#include <stddef.h>
#include <stdint.h>

#include "ocr/ocr_doc.h"
#include "ocr/ocr_tess.h"
#include "util/buf.h"

/*
 * Append the text of the PDF p[0..n) to out, pages separated by '\f'.
 * Returns 0, or -EINVAL (Poppler cannot open it), -E2BIG (over a limit),
 * -EFBIG (out full), -ENOMEM (memory limit while rendering), -ENOTSUP
 * (engine cannot start), -EIO (rendering or Tesseract failed).  On error
 * out holds a partial text.
 */
int ocr_pdf_read(const uint8_t *p, size_t n, const struct ocr_doc_limits *lim, struct ocr_tess *t,
                 struct buf *out);

/* "poppler 22.12.0, cairo 1.16.0". */
const char *ocr_pdf_versions(void);

#endif

/*
 * ocr_tess — Tesseract, as rcfs-ocr uses it: one engine per process, one
 * page image in, its UTF-8 text out.
 *
 * Owns the TessBaseAPI handle, started on the first page that needs it (a
 * PDF whose pages all carry text never loads the language data).  Images
 * are Leptonica Pix of any depth with their resolution passed in.  A page
 * whose pixels are not square (a Low resolution fax: 204 x 98 dpi) is
 * stretched to square pixels, since Tesseract assumes square ones, and a
 * page below OCR_TESS_MIN_DPI is scaled up to it, in grey with linear
 * interpolation: 12 pt type at fax resolution reads better so (measured on
 * the emulator's corpus: recall of its distinctive words 98.0% against
 * 97.4% at 200 dpi, for 35% more CPU).  Not thread-safe (the helper is
 * single-threaded).
 */
#ifndef RCFS_OCR_TESS_H
#define RCFS_OCR_TESS_H

#include <leptonica/allheaders.h>

#include "util/buf.h"

#define OCR_TESS_MIN_DPI 300

struct ocr_tess;

/*
 * An engine for languages lang ("eng", "eng+deu": Tesseract's -l syntax)
 * with data from tessdata folder datadir (NULL: Tesseract's built-in one).
 * Both strings must outlive the engine.  Nothing is loaded yet.
 */
struct ocr_tess *ocr_tess_new(const char *datadir, const char *lang);

/* Load the languages now (they load with the first page otherwise).
 * Returns 0, or -ENOTSUP as ocr_tess_page does. */
int ocr_tess_load(struct ocr_tess *t);

/*
 * Recognise one page image with resolution xres x yres dots per inch (0:
 * unknown, taken as 204 x 196).  Appends the text, trailing white space
 * removed and one '\n' added when not empty, to out.  pix is not changed.
 * Returns 0, -EFBIG when out is full (out unchanged), -ENOTSUP when the
 * engine cannot start (unknown language, data missing: one line saying so
 * went to stderr), -EIO when Tesseract fails on the page.
 */
int ocr_tess_page(struct ocr_tess *t, PIX *pix, double xres, double yres, struct buf *out);

/* Stop and free the engine.  NULL-safe. */
void ocr_tess_close(struct ocr_tess *t);

/* "tesseract 5.3.0, leptonica-1.82.0": what decides how text is read. */
const char *ocr_tess_versions(void);

#endif

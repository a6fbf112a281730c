/*
 * ocr_text — the shape of the text rcfs-ocr writes, whichever engine read it.
 *
 * A document's text is its pages in order, separated by one form feed
 * ("\f"); no form feed before the first page or after the last.  A page's
 * text is valid UTF-8 (an invalid sequence becomes U+FFFD), holds no control
 * characters but '\n' and '\t' (others, the form feed included, become a
 * space, so a page can never look like two), has no white space at its end
 * and, when not empty, ends with exactly one '\n'.  Text that already has
 * this shape passes unchanged: a text layer's lines come out byte for byte.
 * Pure functions.
 */
#ifndef RCFS_OCR_TEXT_H
#define RCFS_OCR_TEXT_H

#include <stddef.h>

#include "util/buf.h"

/* Append the n bytes at s, shaped as a page's text, to out.  Returns 0, or
 * -EFBIG when out would exceed its cap (out is then unchanged). */
int ocr_text_page(struct buf *out, const char *s, size_t n);

#endif

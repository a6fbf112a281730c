/*
 * ocr_key — what names the cached text of a document.
 *
 * The text rcfs-ocr prints is a pure function of the document's bytes, the
 * OCR settings that change text (languages, tessdata folder) and the helper
 * with its engines (ocr_helper_version: a new Tesseract reads differently).
 * ocr_text_key serialises exactly these into one string, fixed forever in
 * its format, for the caller to hash into a content-cache key: the same
 * inputs always give the same string, and different inputs never do (no
 * field can contain the separator).  Pure.
 */
#ifndef RCFS_OCR_KEY_H
#define RCFS_OCR_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "ocr/ocr_run.h"

/* Enough room for any key ocr_text_key accepts. */
#define OCR_KEY_MAX 640

/*
 * Write the key input for the text of a document into out (NUL-terminated):
 *   "rcfs-ocr-text 1\ndoc <32 hex>\nlang <lang>\ntessdata <dir or ->\nhelper <version>\n"
 * doc_hash: the 16-byte content hash of the document (e.g. its xxh3-128);
 * job: its lang (NULL = "eng") and tessdata (NULL = built-in) are used;
 * helper_version: ocr_helper_version's line.
 * Returns the length written (without the NUL), or -EINVAL when a string
 * is empty or holds a control character, or tessdata is not absolute, -ENAMETOOLONG
 * when out (cap bytes) is too small (out is then "").
 */
int ocr_text_key(const uint8_t doc_hash[16], const struct ocr_job *job, const char *helper_version,
                 char *out, size_t cap);

#endif

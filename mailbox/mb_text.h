/*
 * mb_text — the text of fax documents (fax.txt): its life in a mount and
 * its workers (implements the fax-text part of mb.h).
 *
 * The text of a fax is made by the sandboxed helper rcfs-ocr (ocr_run.h)
 * from the fax's document as the content cache holds it: the text layer
 * of PDF pages that have one, Tesseract's OCR of image pages.  It is kept
 * in the content cache as an object of its own, keyed by
 * cobj_key_of(ocr_text_key(document hash, languages, helper version)), so
 * it is verified like any object, evicted with the rest, and found again
 * by any later mount without OCR.  A small "link" object per attachment
 * (keyed by the attachment's own cache key) records the document's hash, so
 * a later mount finds the text even when the document itself was evicted.
 *
 * Workers: `jobs` threads (started by text_start, after the daemon's fork)
 * take jobs from mb_textq's queues; each runs one helper at a time, at nice
 * 10 (ocr_run's default), with a memory limit, a CPU limit and
 * TEXT_OCR_TIMEOUT_MS.  Workers never download: whoever queues a job has
 * the document in the cache (a landed download, or the caller of
 * mb_text_size, which downloads it with its own priority and deadline).
 *
 * Setup: the helper's version line (part of every text key) is read once,
 * at the first need, by whichever thread needs it (TEXT_INIT_*); with no
 * ocr_lang given, the default language is checked then too.  A failure
 * logs one line and is tried again after TEXT_FAIL_HOLD_MS.
 */
#ifndef RCFS_MAILBOX_MB_TEXT_H
#define RCFS_MAILBOX_MB_TEXT_H

#include <stddef.h>

#include "mailbox/mb_internal.h"

/* Wall-clock limit of one helper run (its CPU limit is the same). */
#define TEXT_OCR_TIMEOUT_MS 300000u

/* The setup's states (mb_text.init). */
enum { TEXT_INIT_NONE, TEXT_INIT_RUNNING, TEXT_INIT_OK, TEXT_INIT_FAILED };

/*
 * Set up fax text for a mount being opened (mb_open): nothing when
 * cfg->ocr is off (m->tx stays NULL: fax.txt is not shown).  A given
 * cfg->ocr_lang is checked now with the helper (a missing language fails);
 * with none, a helper that cannot be run turns fax text off (not shown;
 * text_start logs one line).  Starts no thread.  Returns 0, or -errno with
 * one line in err.
 */
int text_open(struct mb *m, const struct mb_config *cfg, char *err, size_t errlen);

/* Start the workers (mb_start), or log why fax text is off.  Returns 0 or
 * -errno (none left running). */
int text_start(struct mb *m);

/* Stop the workers: running helpers are killed, waiters get -EIO.
 * Idempotent; the state stays usable for reading until text_free. */
void text_stop(struct mb *m);

/* Free the fax-text state (after text_stop; before the content store
 * closes: it releases pinned documents).  NULL-safe in m->tx. */
void text_free(struct mb *m);

#endif

/*
 * ocr_exit — the exit statuses of the rcfs-ocr helper, shared by the helper
 * and its parent (ocr_run), which turns each into a reason for its log line.
 *
 * Any status but OCR_EXIT_OK, and any death by a signal (SIGXCPU at the CPU
 * limit, SIGKILL at the deadline, SIGABRT when memory runs out under the
 * address-space limit, SIGSEGV in a parser, SIGSYS from the sandbox...),
 * means "no text": whatever the helper wrote before is discarded.
 */
#ifndef RCFS_OCR_EXIT_H
#define RCFS_OCR_EXIT_H

enum ocr_exit {
    OCR_EXIT_OK = 0,       /* the text was written */
    OCR_EXIT_USAGE = 2,    /* bad command line */
    OCR_EXIT_BADINPUT = 3, /* not a PDF or TIFF, or one too damaged to read */
    OCR_EXIT_LIMIT = 4,    /* over a limit: size, pages, pixels of a page, text, memory */
    OCR_EXIT_ENGINE = 5,   /* Tesseract could not start (e.g. language data missing) */
    OCR_EXIT_SANDBOX = 6,  /* the sandbox could not be set up: nothing was parsed */
    OCR_EXIT_OUTPUT = 7,   /* writing the text failed (reader gone, output limit) */
    OCR_EXIT_INTERNAL = 8, /* anything else (a library call failed unexpectedly) */
};

#endif

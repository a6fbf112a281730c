/*
 * ocr_run — the FUSE process's side of OCR: run the rcfs-ocr helper on one
 * document and collect its text, so that a hostile document or a crashing
 * parser costs one failed read of fax.txt and never the mount.
 *
 * Each call starts one helper (posix_spawn: nothing but exec runs in the
 * child) in a process group of its own, with a clean environment
 * (OMP_THREAD_LIMIT=1, PATH, LC_ALL=C: no token, no secret), no file
 * descriptor but the document (fd 0), the text pipe (fd 1) and the message
 * pipe (fd 2), and all signals at their defaults.  The helper limits itself
 * (memory, CPU, niceness, no network: ocr_sandbox.h) before it parses
 * anything; the parent enforces the wall-clock deadline (SIGKILL to the
 * group) and the size of the text, and always reaps the helper.
 *
 * Thread-safe: no global state, no threads, no signal handlers.  The
 * process must let ocr_run reap its own child: no waitpid(-1) elsewhere and
 * SIGCHLD not ignored.  Blocks the calling thread for up to the deadline.
 */
#ifndef RCFS_OCR_RUN_H
#define RCFS_OCR_RUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCR_DEFAULT_TIMEOUT_MS 120000u
#define OCR_DEFAULT_MEM_MB     1024u
#define OCR_DEFAULT_NICE       10
#define OCR_DEFAULT_MAX_TEXT   (16u << 20)

/* One document to read.  Zeroed fields take the defaults. */
struct ocr_job {
    const char *helper;        /* path of rcfs-ocr (absolute); required */
    const char *input_path;    /* the document; NULL: input_fd */
    int input_fd;              /* the document when input_path is NULL; a regular file is read
                                  by offset from 0 (the caller's offset is neither used nor
                                  moved), anything else as a stream */
    uint64_t input_size;       /* bytes of document at the start of the input (0: all of it);
                                  e.g. a cache object's content size, its trailer excluded */
    const char *lang;          /* Tesseract languages, "eng" or "eng+deu" ...; NULL: "eng" */
    const char *tessdata;      /* tessdata folder (absolute); NULL: Tesseract's built-in one */
    unsigned timeout_ms;       /* wall-clock limit; 0: OCR_DEFAULT_TIMEOUT_MS */
    unsigned mem_mb;           /* helper's address-space limit, MiB (>= 64); 0: default */
    unsigned cpu_s;            /* helper's CPU limit, s; 0: the timeout's, rounded up */
    int nice;                  /* niceness added, 1..19; 0: OCR_DEFAULT_NICE; -1: none */
    size_t max_text;           /* most bytes of text accepted; 0: OCR_DEFAULT_MAX_TEXT */
    const atomic_bool *cancel; /* NULL, or a flag another thread may set to stop the run
                                  (the helper is then killed within OCR_CANCEL_MS) */
};

/* How soon a run notices its cancel flag. */
#define OCR_CANCEL_MS 50

/*
 * Run the helper on job's document.  On success returns 0 with *text (a
 * NUL-terminated, malloc'd UTF-8 string the caller frees; pages separated
 * by '\f', see ocr_text.h) and *len (bytes, the NUL not counted).
 * Returns -EINVAL for a job that cannot be run (no helper, bad language
 * string, no input), and -EIO for every failure of the helper: it could not
 * be started, exited non-zero (bad document, over a limit, engine missing,
 * sandbox), died of a signal (crash, CPU or memory limit), missed the
 * deadline (then killed), wrote more than max_text or invalid UTF-8.
 * Returns -ECANCELED when job->cancel was set before the helper ended (it
 * is killed; whatever it wrote is discarded).
 * On failure *text is NULL, *len 0, nothing is left running or unreaped,
 * and when why is not NULL it holds one line (no newline, at most why_len
 * bytes with the NUL) saying why, fit for a log.
 */
int ocr_run(const struct ocr_job *job, char **text, size_t *len, char *why, size_t why_len);

/*
 * True when lang is a language list the helper accepts: Tesseract names
 * ([A-Za-z0-9_], e.g. "eng", "chi_sim") joined by '+', at most 64 bytes.
 * Says nothing about whether the data is installed (ocr_check_lang does).
 */
bool ocr_lang_ok(const char *lang);

/*
 * Start the helper as job would (its helper, lang, tessdata and limits; no
 * document) and have it load the languages, e.g. to refuse a mount option
 * ocr_lang=xx up front.  Returns 0 when Tesseract starts with them, -EINVAL
 * for a job ocr_run would refuse, -EIO when the helper fails (the data is
 * missing: why says which language; or any failure ocr_run reports),
 * -ECANCELED when job->cancel stopped it.
 */
int ocr_check_lang(const struct ocr_job *job, char *why, size_t why_len);

/*
 * The helper's version line (`rcfs-ocr -V`: its own version, its text
 * format and the versions of Tesseract, Leptonica, Poppler and cairo), for
 * ocr_text_key.  Returns 0 with the line (no newline) in out, or -EIO
 * (helper failed; out holds why) / -EINVAL (no helper, out too small).
 */
int ocr_helper_version(const char *helper, char *out, size_t cap);

#endif

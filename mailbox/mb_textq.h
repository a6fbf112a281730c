/*
 * mb_textq — what the mailbox knows about the text of fax documents
 * (fax.txt), and the queue of OCR jobs waiting for a worker.
 *
 * One entry per fax document met in this mount, keyed by (slot, attachment
 * id of its RenderedDocument); entries are never removed before text_free.
 * An entry knows the text's size and cache key once the text exists (made
 * here, or found in the cache), remembers a failure for TEXT_FAIL_HOLD_MS,
 * and carries at most one job:
 *
 *   IDLE --queue--> QUEUED --worker takes it--> RUNNING --ends--> IDLE
 *                     ^                            |
 *                     +---- cancelled (preempted) -+
 *
 * Two queues, first in first out: USER (a person waits for this fax.txt)
 * before BACKGROUND (a download of the fax landed in the cache: its text
 * is made ahead of time).  The background queue holds at most
 * TQ_BACKGROUND_MAX jobs; past that, a landing is dropped (the text is made
 * when first asked for).  A USER job that finds every worker busy cancels
 * one running BACKGROUND job (its helper is killed, the job goes back to the
 * head of its queue), so a person never waits behind prefetching.
 *
 * A job may carry the document, opened and pinned in the cache by whoever
 * queued it, so it cannot be evicted before the worker reads it; otherwise
 * the worker opens it from the cache (never downloads).
 *
 * Lock: tx->lock (rank RANK_TX, the highest of the mailbox); nothing else is
 * taken while it is held, and no I/O happens under it (documents are closed
 * after it is released).
 */
#ifndef RCFS_MAILBOX_MB_TEXTQ_H
#define RCFS_MAILBOX_MB_TEXTQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mailbox/mb_internal.h"

/* How long a failed job is answered with -EIO at once (no new helper run,
 * no new log line). */
#define TEXT_FAIL_HOLD_MS 30000

/* Background jobs waiting at most. */
#define TQ_BACKGROUND_MAX 256

/* What an entry's job is doing. */
enum tq_state { TQ_IDLE, TQ_QUEUED, TQ_RUNNING };

/* One fax document and its text. */
struct tq_ent {
    uint32_t slot;          /* [I] message */
    uint64_t att_id;        /* [I] its RenderedDocument */
    int64_t size;           /* [TX] bytes of text, -1 while unknown */
    struct cobj_key key;    /* [TX] the text object (valid when size >= 0) */
    int64_t failed_until;   /* [TX] mono ms until which a failure is answered at once */
    uint8_t state;          /* [TX] enum tq_state */
    bool user;              /* [TX] a person waits: the USER queue, may preempt */
    uint32_t next;          /* [TX] next in its queue, or MB_NONE */
    uint32_t waiters;       /* [TX] callers waiting for the job to end */
    uint64_t ends;          /* [TX] jobs ended (waiters watch it change) */
    int rc;                 /* [TX] result of the last job */
    struct mb_open_att doc; /* [TX] the document pinned for the job (fd -1: none) */
    atomic_bool cancel;     /* [A] stop the running job's helper */
};

/* A FIFO of entries (indices into mb_text.ents). */
struct tq_list {
    uint32_t head, tail; /* MB_NONE when empty */
    uint32_t n;
};

/* The fax-text state of a mount (NULL in struct mb when OCR is off). */
struct mb_text {
    pthread_mutex_t lock;      /* rank RANK_TX */
    pthread_cond_t ended;      /* a job ended, or stop (waiters) */
    pthread_cond_t work;       /* a job was queued, or stop (workers) */
    struct tq_ent **ents;      /* [TX] entries (stable addresses) */
    uint32_t n_ents, cap_ents; /* [TX] */
    struct ohash ids;          /* [TX] (slot, attachment id) -> entry */
    struct tq_list user, bg;   /* [TX] the queues */
    uint32_t *running;         /* [TX] per worker: its entry, or MB_NONE */
    int idle;                  /* [TX] workers waiting for a job */
    bool stop;                 /* [TX] workers end, waiters give up */
    /* Set up by mb_text.c (text_open, text_start): */
    bool usable;                   /* [I] the helper can be run: fax.txt is shown */
    char *off_why;                 /* [I] when not: why (logged by text_start) */
    char *helper;                  /* [I] rcfs-ocr */
    char *lang;                    /* [I] Tesseract languages */
    bool lang_checked;             /* [I] the languages were checked at mb_open */
    int jobs;                      /* [I] workers (OCR helpers at once) */
    pthread_t *threads;            /* [I after text_start] */
    int n_threads;                 /* [I after text_start] threads started */
    uint8_t init;                  /* [TX] TEXT_INIT_* (mb_text.c) */
    int64_t init_failed_until;     /* [TX] a failed setup is tried again after this */
    char version[256];             /* [I once init is TEXT_INIT_OK] the helper's version line */
    atomic_uint_fast64_t ocr_runs; /* [A] helper runs that made text (for the log) */
};

/* Create the queue state for `jobs` workers (fields of mb_text.c unset). */
struct mb_text *tq_new(int jobs);

/* Free everything, releasing documents still pinned.  NULL-safe.  No
 * thread may use it any more. */
void tq_free(struct mb *m, struct mb_text *t);

/* The entry of (slot, att_id), created IDLE if new.  Returns its index. */
uint32_t tq_get(struct mb *m, uint32_t slot, uint64_t att_id);

/* The entry of (slot, att_id) if there is one, else MB_NONE (none made). */
uint32_t tq_find(struct mb *m, uint32_t slot, uint64_t att_id);

/* The text's size when known, else -1; *failed: a failure is being held. */
int64_t tq_size(struct mb *m, uint32_t e, bool *failed);

/* The text's key (entry e's size must be known): 0, or -ENOENT. */
int tq_key(struct mb *m, uint32_t e, struct cobj_key *key);

/* The text exists (found in the cache): record its size and key. */
void tq_found(struct mb *m, uint32_t e, int64_t size, const struct cobj_key *key);

/* The text object vanished from the cache (evicted): its size is unknown
 * again, unless it changed meanwhile from `was`. */
void tq_forget(struct mb *m, uint32_t e, const struct cobj_key *was);

/* The document of a fax (slot, att_id) landed in the cache: queue its OCR
 * in the background unless its text is known, failed, already queued or
 * running, or the queue is full.  Any thread, no lock held; cheap. */
void tq_landed(struct mb *m, uint32_t slot, uint64_t att_id);

/*
 * Queue entry e's job (or join the one queued or running), as USER when
 * user, and wait until it ends or deadline_ms.  doc: the document opened by
 * the caller, or NULL; the job takes it (doc->fd becomes -1) when it has
 * none yet, otherwise the caller still owns it.  Returns 0 when the text
 * exists (its size known), -EIO when the deadline passed (the job goes on),
 * on stop, or while a failure is held, or the job's -errno.
 */
int tq_wait(struct mb *m, uint32_t e, bool user, struct mb_open_att *doc, int64_t deadline_ms);

/*
 * Worker w takes the next job, USER first, waiting for one.  Returns the
 * entry's index and *x (its address, stable: the worker may read its [I]
 * fields and its cancel flag without the lock), RUNNING, with its document
 * moved to *doc (fd -1 when it has none); or MB_NONE once stopping.
 */
uint32_t tq_next(struct mb *m, int w, struct tq_ent **x, struct mb_open_att *doc);

/*
 * Worker w reports entry e's job: rc 0 with the text's size and key, or
 * -errno (-ECANCELED: preempted, queued again; -ENOENT: the document was
 * not cached, dropped without holding a failure).  A cancelled job takes
 * back *doc when it has none (doc->fd becomes -1).  Wakes the waiters.
 */
void tq_finish(struct mb *m, int w, uint32_t e, int rc, int64_t size, const struct cobj_key *key,
               struct mb_open_att *doc);

/* Stop: cancel running jobs, wake workers and waiters.  Idempotent. */
void tq_stop(struct mb *m);

#endif

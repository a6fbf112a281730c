/*
 * mb_obx — the Outbox's private structures, shared by mailbox/mb_outbox.c
 * (the tree and attributes), mb_obx_draft.c (writing and committing),
 * mb_obx_send.c (the sending thread) and mb_obx_track.c (exactly once:
 * reconciling unknown outcomes, following accepted messages).
 *
 * Locks (ranks in mb_internal.h, after every other mailbox lock):
 *   item->io  RANK_OBX_IO  one file's disk work: its draft's writes and
 *                          truncations, its commit, every change of its
 *                          journal record (held across that I/O, nothing
 *                          else: never across a request to the server)
 *   o->lock   RANK_OBX     the tables and every field marked [O]; never held
 *                          across I/O, and no other mailbox lock is taken
 *                          under it
 * A thread takes an item's io lock before o->lock, never the reverse, and
 * at most one item's io lock at a time.
 *
 * Recipients and items are never freed before outbox_free, so their
 * pointers (and names) stay valid without a lock; what changes is read
 * under o->lock.
 */
#ifndef RCFS_MAILBOX_MB_OBX_H
#define RCFS_MAILBOX_MB_OBX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api_send.h"
#include "cache/cache_spool.h"
#include "mailbox/mb_internal.h"

/* Timing of the Outbox's thread. */
#define OBX_SEND_MS       (10 * 60 * 1000) /* bound of one send (pacing waits included) */
#define OBX_RETRY_MAX_MS  (5 * 60 * 1000)  /* longest wait before trying a send again */
#define OBX_POLL_FIRST_MS 2000             /* first status check after acceptance */
#define OBX_POLL_MAX_MS   60000            /* then doubling up to this */
#define OBX_SKEW_MS       (2 * 60 * 1000)  /* the server's clock may differ by this */

/* Writing processes a file remembers (more: any close counts). */
#define OBX_WRITERS 4

/* A file's state.  1..4 are the journal's (struct spool_rec.state). */
enum obx_state {
    OBX_DRAFT = 0,    /* being written, or closed under a temporary name */
    OBX_QUEUED = 1,   /* committed; not attempted yet, or surely not sent */
    OBX_SENDING = 2,  /* an attempt began; its outcome is not known yet */
    OBX_ACCEPTED = 3, /* the server has the message (msg_id): waiting for Sent */
    OBX_FAILED = 4,   /* refused, or the server reports SendingFailed (error) */
    OBX_REFUSED = 5,  /* a draft refused at close (error); never journaled */
    OBX_GONE = 6,     /* removed or sent: no longer in its folder */
};

/* A recipient folder. */
struct obx_rcpt {
    uint32_t id;      /* [I] its number */
    uint8_t type;     /* [I] REC_FAX, REC_SMS or REC_PAGER */
    const char *name; /* [I] the folder name as made (owned) */
    char to[24];      /* [I] what the API is given: E.164, or the extension number */
    int cover;        /* [O] user.rc.coverIndex, -1 = the mount's default */
    bool gone;        /* [O] removed (rmdir) */
};

/* A file in a recipient folder. */
struct obx_item {
    uint32_t id;                /* [I] its number */
    uint32_t rcpt;              /* [I] its recipient folder's number */
    struct obx_rcpt *r;         /* [I] that folder (whose type, name and number never change) */
    pthread_mutex_t io;         /* rank RANK_OBX_IO (see above) */
    const char *name;           /* [O] its name (a rename retires the old string) */
    uint8_t state;              /* [O] enum obx_state */
    bool dirty;                 /* [O] written since the last close */
    bool final;                 /* [O] renamed to a sendable name while being written */
    bool written;               /* [O] written (or truncated) since it became a draft */
    bool interrupted;           /* [O] its writer died before closing it: never sent as is */
    bool sent;                  /* [O] gone because the server reports it Sent */
    pid_t writers[OBX_WRITERS]; /* [O] processes that wrote it since its last close */
    uint8_t n_writers;          /* [O] entries in writers */
    bool many_writers;          /* [O] more than OBX_WRITERS: any close counts */
    bool busy;                  /* [O] the sending thread works on it (outside the locks) */
    int64_t size;               /* [O] bytes */
    int64_t mtime_ms;           /* [O] wall clock of the last write, or of the commit */
    char *error;                /* [O] user.rc.error, or NULL */
    int fd;                     /* [io] the draft's descriptor, -1 when not a draft */
    uint64_t draft;             /* [io] the draft's id in the spool */
    struct spool_rec rec;       /* [O] the journal record (states QUEUED..FAILED) */
    char status[24];            /* [O] the server's messageStatus once accepted */
    int64_t due_ms;             /* [O] monotonic time the thread next looks at it */
    int64_t poll_ms;            /* [O] the current interval between status checks */
};

/* The Outbox of a mailbox (m->obx). */
struct mb_outbox {
    pthread_mutex_t lock;      /* rank RANK_OBX: every [O] field */
    pthread_cond_t cond;       /* wakes the thread */
    pthread_mutex_t meta_lock; /* rank RANK_OBX_IO: serialises saves of the meta file */
    struct spool *spool;       /* [I] the files (thread-safe per item) */
    uint64_t owner_id;         /* [I] the owner's extension id, 0 when not known */
    uint32_t ext;              /* [I] the owner's extension index, MB_NONE: no Outbox */
    int fax_cover;             /* [I] -o fax_cover (default cover page index) */
    char *sms_from_opt;        /* [I] -o sms_from, or NULL */
    char sms_from[32];         /* [O] the SMS sender once looked up, "" before */
    struct obx_rcpt **rcpts;   /* [O] recipient folders by number */
    uint32_t n_rcpts, cap_rcpts;
    struct obx_item **items; /* [O] files by number */
    uint32_t n_items, cap_items;
    char **retired; /* [O] names replaced by renames (freed at the end) */
    uint32_t n_retired, cap_retired;
    char *covers;       /* [O] cover-pages.txt, NULL until fetched */
    size_t covers_len;  /* [O] */
    int *cover_ids;     /* [O] the cover indexes the server lists */
    size_t n_cover_ids; /* [O] */
    pthread_t thread;   /* the sending thread */
    bool started;       /* [I after outbox_start] */
    bool stop;          /* [O] stop asked */
};

/* ---- life (mb_outbox.c, mb_obx_send.c), called from mb_life.c ------------------ */

/* Open the spool, read the recipient folders and the journal (no thread).
 * Returns 0, or -errno with one line in err. */
int outbox_open(struct mb *m, const struct mb_config *cfg, char *err, size_t errlen);

/* Start the sending thread (after the daemon forked).  0 or -errno. */
int outbox_start(struct mb *m);

/* Stop and join the thread (idempotent; call after loop_stop, so requests
 * in progress have been ended by api_shutdown). */
void outbox_stop(struct mb *m);

/* Stop, close every draft, free.  NULL-safe (m->obx may be NULL). */
void outbox_free(struct mb *m);

/* Persist the owner and the recipient folders.  0 or -errno (logged). */
int obx_save_meta(struct mb *m);

/* ---- locking ------------------------------------------------------------- */

static inline void obx_lock(struct mb_outbox *o)
{
    mu_lock(&o->lock, RANK_OBX, "outbox");
}

static inline void obx_unlock(struct mb_outbox *o)
{
    mu_unlock(&o->lock, RANK_OBX);
}

static inline void obx_io_lock(struct obx_item *it)
{
    mu_lock(&it->io, RANK_OBX_IO, "outbox file");
}

static inline void obx_io_unlock(struct obx_item *it)
{
    mu_unlock(&it->io, RANK_OBX_IO);
}

/* ---- mb_outbox.c ------------------------------------------------------------ */

/* Item / recipient by number, or NULL (o->lock held). */
struct obx_item *obx_item_at(struct mb_outbox *o, uint32_t id);
struct obx_rcpt *obx_rcpt_at(struct mb_outbox *o, uint32_t id);

/* The file called name in rcpt that is not gone, or NULL (o->lock held). */
struct obx_item *obx_item_named(struct mb_outbox *o, uint32_t rcpt, const char *name);

/* A new item (o->lock held): state DRAFT, no draft file yet, fd -1. */
struct obx_item *obx_item_new(struct mb_outbox *o, uint32_t rcpt, const char *name);

/* Give item a new name (o->lock held); the old string is retired. */
void obx_item_rename(struct mb_outbox *o, struct obx_item *it, const char *name);

/* Set item's error (copied; NULL clears it) (o->lock held). */
void obx_set_error(struct obx_item *it, const char *error);

/* The item left its folder for good (sent, removed): tell the filesystem.
 * Call with no lock held. */
void obx_report_gone(struct mb *m, uint32_t rcpt, const char *name);

/* ---- mb_obx_draft.c ------------------------------------------------------ */

/* Drop what item holds on disk as a draft (its io lock held). */
void obx_draft_drop(struct mb_outbox *o, struct obx_item *it);

/* ---- mb_obx_send.c ----------------------------------------------------------- */

/* Wake the sending thread (o->lock held or not). */
void obx_wake(struct mb_outbox *o);

/* The text of SMS or pager send jid (malloc'd, NUL-terminated, the final
 * newline dropped), or NULL with why. */
char *obx_text_of(struct mb_outbox *o, uint64_t jid, enum rec_type t, char *why, size_t whylen);

/* Save item's journal record (its io lock held, o->lock not): a copy of
 * it->rec taken under o->lock.  Returns 0 or -errno (logged). */
int obx_save(struct mb *m, struct obx_item *it);

/* ---- mb_obx_track.c ---------------------------------------------------------- */

/*
 * Message ids of Outbound messages of the owner of type `type` to `to`
 * created in [since_ms, until_ms] (wall clock), as the index has them now,
 * that carry text (SMS and pager; NULL: any), oldest first, into ids (at
 * most max).  No lock held.  Returns how many.
 */
uint32_t obx_candidates(struct mb *m, enum rec_type type, const char *to, const char *text,
                        int64_t since_ms, int64_t until_ms, uint64_t *ids, uint32_t max);

/* Reconcile item (state SENDING, outcome unknown), on the thread. */
void obx_reconcile(struct mb *m, struct obx_item *it);

/* Check the status of the accepted items that are due (on the thread). */
void obx_poll_accepted(struct mb *m, int64_t now);

/* An answer's record r of the owner: into the index (and its status into
 * the item).  No lock held. */
void obx_apply(struct mb *m, const struct rec *r);

#endif

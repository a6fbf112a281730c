/*
 * mb_internal — the mailbox's private structures, shared by mailbox/mb_*.c.
 *
 * Nothing outside mailbox/ includes this.  struct mb is made of one
 * sub-struct per synchronisation domain; every field says what guards it:
 *   [I]      immutable once published (read without a lock)
 *   [X]      the index lock, ix.lock (read or write as the access needs)
 *   [LS]     the listing lock, ls.lock
 *   [FL]     the flight lock, fl.lock
 *   [BT]     the batch lock, bt.lock
 *   [LP]     the loop lock, lp.lock
 *   [PS]     the persistence lock, ps.lock
 *   [TX]     the fax-text lock, tx->lock (mb_textq.h)
 *   [A]      an atomic
 *
 * Lock order (a thread holding a lock may take only locks of a HIGHER
 * rank; checked with util/lockrank in debug builds):
 *   1  ps.lock   persistence: serialises saves (held across disk I/O)
 *   2  ls.lock   listings: per-folder listing state (not held across I/O)
 *   3  ix.lock   the index (rwlock)
 *   4  fl.lock   flights: downloads and changes in progress
 *   5  bt.lock   batches: changes being gathered into bulk requests
 *   6  lp.lock   the background loop's wake-ups and round counters
 *   7  obx io    the Outbox: one file's disk work (mailbox/mb_obx.h)
 *   8  obx.lock  the Outbox's tables (never across I/O)
 *   9  tx->lock  fax text: entries and the OCR job queue (mb_textq.h)
 * Locks of other layers (the api client, the content store, the record
 * log) are taken below all of these and never call back up.
 *
 * I/O rule: no network request and no disk write is made while holding
 * ix.lock, ls.lock, fl.lock, bt.lock, lp.lock or tx->lock.  A record is
 * appended to the record log before the index lock is taken (mb_apply.c); a stored record is read
 * after it is released (the log is replaced only by compaction, which runs
 * at load time before any thread exists).  ps.lock is held across disk I/O
 * (the snapshot file), and it is never taken by a thread answering the
 * filesystem.  The Outbox's io locks (rank 7) are the only other locks held
 * across disk I/O: the work of one Outbox file, never a request.
 */
#ifndef RCFS_MAILBOX_MB_INTERNAL_H
#define RCFS_MAILBOX_MB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "cache/cache_dir.h"
#include "cache/cache_obj.h"
#include "cache/cache_rlog.h"
#include "mailbox/mb.h"
#include "util/lockrank.h"
#include "util/ohash.h"
#include "util/vec32.h"

#define MB_NONE UINT32_MAX

enum { RANK_PS = 1, RANK_LS = 2, RANK_IX = 3, RANK_FL = 4, RANK_BT = 5, RANK_LP = 6 };
enum { RANK_OBX_IO = 7, RANK_OBX = 8 }; /* the Outbox (mailbox/mb_obx.h) */
enum { RANK_TX = 9 };                   /* fax text (mailbox/mb_textq.h) */

/* One attachment of a message. */
struct mb_att {
    uint64_t id;              /* [I] attachment id */
    int64_t size;             /* [X] bytes or -1 */
    const char *name;         /* [I] file name (owned by the attachment block) */
    const char *content_type; /* [I] interned */
    uint8_t type;             /* [I] enum rec_att_type */
    uint8_t uri_form;         /* [X] where its URI comes from (mb_uri.h) */
};
/* 100,000 messages' attachments are all in memory: uri_form lives in padding. */
_Static_assert(sizeof(struct mb_att) <= 40, "struct mb_att grew");

/* One message. */
struct mb_msg {
    uint64_t id;            /* [I] server id */
    uint32_t slot;          /* [I] index in ix.msgs */
    uint32_t ext;           /* [I] extension index */
    const char *name;       /* [I] folder name */
    int64_t creation_ms;    /* [I] */
    uint8_t type;           /* [I] enum rec_type */
    uint8_t direction;      /* [I] enum rec_dir */
    uint8_t n_att;          /* [X] attachments in att (a newer record may change them) */
    uint8_t availability;   /* [X] enum rec_avail */
    uint8_t read_status;    /* [X] enum rec_read */
    uint8_t removed_via;    /* [X] folder + 1 this mount removed it through, 0 if none */
    bool in_folder;         /* [X] listed in its type folder or Deleted/ */
    bool in_unread;         /* [X] listed in Unread/ (Alive and Unread) */
    bool meta_bad;          /* [X] the stored record failed verification: fetch again */
    bool meta_stale;        /* [X] the server changed it (our DELETE) after the stored record */
    bool has_subject;       /* [X] the record has a non-empty subject */
    uint16_t subject_len;   /* [X] its length in bytes when has_subject, 0 when not known
                               (restored from the snapshot, or 65535 bytes or more) */
    const char *msg_status; /* [X] interned messageStatus */
    int64_t modified_ms;    /* [X] lastModifiedTime */
    int64_t removed_at;     /* [X] mono ms of the removal through removed_via */
    int64_t trashed_at;     /* [X] mono ms when this mount moved it to the trash, 0 never */
    struct rlog_ref rec;    /* [X] meta.json in the record log */
    uint32_t gen;           /* [X] bumped on every move between folders */
    uint32_t conv;          /* [X] conversation number or MB_NONE (set once, at creation) */
    uint32_t seen;          /* [X] epoch of the last listing or sync that had it */
    struct mb_att *att;     /* [X] attachment block (replaced, never freed, when the
                               record's attachments change) */
};

/* A replaced attachment block, kept until mb_free (readers may hold its names). */
struct mb_retired {
    struct mb_att *att;
    struct mb_retired *next;
};

/* One conversation. */
struct mb_conv {
    uint32_t num;         /* [I] index in ix.convs */
    uint32_t ext;         /* [I] extension */
    char id[21];          /* [I] decimal conversation id */
    const char *name;     /* [I] folder name */
    struct vec32 members; /* [X] Alive member slots */
    bool listed;          /* [X] shown in conversations/ (has Alive members) */
    int64_t emptied_at;   /* [X] mono ms when its last Alive member left */
};

/* How far a folder's listing has got. */
enum mb_list_state { MB_LIST_NONE, MB_LIST_RUNNING, MB_LIST_DONE };

/* One extension. */
struct mb_ext {
    uint64_t id;                                /* [I] server id */
    char name[MBNAME_MAX];                      /* [I] folder name */
    char number[32];                            /* [I] extension number as sent */
    _Atomic bool hidden;                        /* [A] its message store answered 403 */
    _Atomic uint8_t list_state[REC_TYPE_COUNT]; /* [LS] to change; [A] to read */
    struct vec32 folder[REC_TYPE_COUNT + 1];    /* [X] slots: type folders, then Deleted */
    struct vec32 convs;                         /* [X] listed conversations */
    struct vec32 unread;                        /* [X] Alive Unread messages (Unread/) */
    char *sync_token;                           /* [X] message-sync token or NULL */
    char **uri_bases;                           /* [X] attachment URI bases (mb_uri.h) */
    uint32_t n_uri_bases;                       /* [X] entries in uri_bases */
};

/* Interned short strings: content types and message statuses repeat endlessly. */
struct mb_intern {
    char **v;
    uint32_t n, cap;
};

/* The index: messages, conversations, extensions.  Guarded by lock. */
struct mb_index {
    pthread_rwlock_t lock;       /* rank RANK_IX */
    struct mb_ext *exts;         /* [I] extensions (fields marked as above) */
    uint32_t n_ext;              /* [I] */
    struct mb_msg **msgs;        /* [X] slot -> message */
    uint32_t n_msgs, cap_msgs;   /* [X] */
    struct ohash ids;            /* [X] (ext, id) -> slot */
    struct mb_conv **convs;      /* [X] conversation number -> conversation */
    uint32_t n_convs, cap_convs; /* [X] */
    struct ohash conv_ids;       /* [X] (ext, conversation id) -> number */
    struct mb_intern strings;    /* [X] */
    struct mb_retired *retired;  /* [X] */
    uint32_t epoch;              /* [X] listing epoch, to find what a full relist no longer has */
};

/* Listing control: which type folders are listed, and waiting for one. */
struct mb_listctl {
    pthread_mutex_t lock; /* rank RANK_LS; guards mb_ext.list_state */
    pthread_cond_t cond;  /* a listing ended */
};

/* An operation in progress that other callers may wait for (mb_flight.c). */
struct mb_flight {
    uint32_t slot;          /* [FL] message */
    uint8_t kind;           /* [FL] FLIGHT_CONTENT or FLIGHT_CHANGE */
    uint64_t op;            /* [FL] attachment id, or the change asked for */
    bool done;              /* [FL] finished: rc is valid */
    int rc;                 /* [FL] result */
    int waiters;            /* [FL] threads waiting besides the owner */
    struct mb_flight *next; /* [FL] list link */
};

struct mb_flights {
    pthread_mutex_t lock;   /* rank RANK_FL */
    pthread_cond_t cond;    /* a flight ended */
    struct mb_flight *list; /* [FL] flights not yet ended */
};

/* Changes being gathered into bulk requests (mb_batch.c). */
struct batch_group;
struct mb_text;
struct mb_batches {
    pthread_mutex_t lock;     /* rank RANK_BT */
    pthread_cond_t cond;      /* a group filled up or was sent */
    struct batch_group *open; /* [BT] groups still gathering */
};

/* The background loop. */
struct mb_loop {
    pthread_mutex_t lock;    /* rank RANK_LP */
    pthread_cond_t cond;     /* wake the loop, or a round ended */
    pthread_t thread;        /* the background thread */
    bool started;            /* [I after mb_start] the thread runs */
    bool stop;               /* [LP] stop asked */
    bool refresh;            /* [LP] a sync was asked for */
    uint64_t rounds_started; /* [LP] sync rounds begun */
    uint64_t rounds_done;    /* [LP] sync rounds finished */
};

/* Push notifications (mb_push.c). */
struct api_ws;
struct push_expect {
    uint32_t ext; /* extension */
    uint64_t id;  /* a message an event announced */
    int tries;    /* ISyncs that did not bring it yet (the server's lag) */
};
struct mb_push {
    struct api_ws *ws;           /* [I after mb_start] the notifier, NULL when push is off */
    _Atomic bool up;             /* [A] a live subscription: polling is only a safety net */
    bool *want;                  /* [LP] per extension: an ISync is due */
    uint8_t *tries;              /* [LP] per extension: ISyncs since an event that brought
                                    nothing yet (the server's lag) */
    int64_t due;                 /* [LP] mono ms when the burst's ISyncs run, 0 none */
    struct push_expect *expect;  /* [LP] new messages announced, not seen yet */
    size_t n_expect, cap_expect; /* [LP] */
};

/* Background downloads of what just arrived (mb_prefetch.c). */
struct mb_prefetch {
    pthread_t thread; /* the downloader */
    bool started;     /* [I after mb_start] */
    bool stop;        /* [LP] */
    uint32_t *queue;  /* [LP] slots to download, oldest first */
    size_t n, cap;    /* [LP] */
};

/* Reachability of the server. */
struct mb_net {
    _Atomic bool offline;      /* [A] the last attempt found the server unreachable */
    _Atomic int64_t last_try;  /* [A] mono ms of the last background attempt while offline */
    _Atomic bool purge_warned; /* [A] the "purging is off" line was logged */
};

/* The persisted state. */
struct mb_persist {
    pthread_mutex_t lock;       /* rank RANK_PS: serialises saves */
    char *state_dir;            /* [I] state/<scope> folder */
    struct rlog *rlog;          /* [I while threads run] the record log (replaced only at load) */
    struct cobj_store *objects; /* [I] content objects (thread-safe) */
    _Atomic uint64_t changes;   /* [A] bumped by every change worth saving */
    uint64_t saved;             /* [PS] value of changes when the last save began */
    _Atomic uint64_t garbage;   /* [A] superseded bytes in the record log */
};

/* What the mailbox was opened with, and what it owns for the session. */
struct mb_opts {
    struct api *api;         /* [I] the REST client (owned) */
    struct cdir *cache;      /* [I] the cache folder and its lock (owned) */
    uint64_t cache_max;      /* [I] content cache cap in bytes (0 = unlimited) */
    int poll_s;              /* [I] seconds between ISyncs; 0 = no polling */
    int probe_bytes;         /* [I] size probes ask for this many bytes */
    int timeout_s;           /* [I] default bound of a call */
    bool purge;              /* [I] purging through Deleted/ is allowed */
    bool push;               /* [I] subscribe to push notifications */
    bool prefetch;           /* [I] download new faxes and voicemails at once */
    struct mb_events events; /* [I] notification hooks */
};

struct mb {
    struct mb_opts o;             /* [I] options and owned session parts */
    char *server_url, *client_id; /* [I] owned copies */
    char *account_id;             /* [I] account id of the session or of the state */
    int64_t created_ms;           /* [I] when the state was first built */
    struct mb_index ix;
    struct mb_listctl ls;
    struct mb_flights fl;
    struct mb_batches bt;
    struct mb_loop lp;
    struct mb_push push;
    struct mb_prefetch pf;
    struct mb_net net;
    struct mb_persist ps;
    struct mb_outbox *obx; /* the Outbox (mailbox/mb_obx.h), NULL until opened */
    struct mb_text *tx;    /* [I] fax text (mb_text.c), NULL when OCR is off */
};

/* ---- locking helpers (rank-checked in debug builds) ---------------------- */

static inline void ix_rdlock(struct mb *m)
{
    lockrank_acquire(RANK_IX, "index");
    pthread_rwlock_rdlock(&m->ix.lock);
}

static inline void ix_wrlock(struct mb *m)
{
    lockrank_acquire(RANK_IX, "index");
    pthread_rwlock_wrlock(&m->ix.lock);
}

static inline void ix_unlock(struct mb *m)
{
    pthread_rwlock_unlock(&m->ix.lock);
    lockrank_release(RANK_IX);
}

static inline void mu_lock(pthread_mutex_t *mu, int rank, const char *name)
{
    lockrank_acquire(rank, name);
    pthread_mutex_lock(mu);
}

static inline void mu_unlock(pthread_mutex_t *mu, int rank)
{
    pthread_mutex_unlock(mu);
    lockrank_release(rank);
}

/* Something worth saving changed (any thread, any lock). */
static inline void mb_touch(struct mb *m)
{
    atomic_fetch_add(&m->ps.changes, 1);
}

#endif

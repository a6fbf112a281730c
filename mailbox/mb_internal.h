/*
 * mb_internal — the mailbox's private structures, shared by mailbox/mb_*.c.
 *
 * Nothing outside mailbox/ includes this.  Locking: `lock` (a rwlock)
 * protects every field marked [L]; fields marked [I] are immutable once the
 * entry is published and may be read without it.  Entries are never freed
 * before mb_free.  No network or disk I/O is done while holding `lock`.
 */
#ifndef RCFS_MAILBOX_MB_INTERNAL_H
#define RCFS_MAILBOX_MB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache/cache_obj.h"
#include "cache/cache_rlog.h"
#include "mailbox/mb.h"

#define MB_NONE UINT32_MAX

/* A growable array of uint32 (slots or conversation numbers). */
struct mb_vec {
    uint32_t *v;
    uint32_t n, cap;
};

/* One attachment of a message. */
struct mb_att {
    uint64_t id;              /* [I] attachment id */
    int64_t size;             /* [L] bytes or -1 */
    const char *name;         /* [I] file name (interned or owned by the message block) */
    const char *content_type; /* [I] interned */
    uint8_t type;             /* [I] enum rec_att_type */
};

/* One message. */
struct mb_msg {
    uint64_t id;            /* [I] server id */
    uint32_t slot;          /* [I] index in mb.msgs */
    uint32_t ext;           /* [I] extension index */
    const char *name;       /* [I] folder name */
    int64_t creation_ms;    /* [I] */
    uint8_t type;           /* [I] enum rec_type */
    uint8_t direction;      /* [I] enum rec_dir */
    uint8_t n_att;          /* [I] attachments (count fixed for the message's life) */
    uint8_t availability;   /* [L] enum rec_avail */
    uint8_t read_status;    /* [L] enum rec_read */
    uint8_t removed_via;    /* [L] folder + 1 this mount removed it through, 0 if none */
    bool in_folder;         /* [L] listed in its type folder or Deleted/ */
    bool meta_bad;          /* [L] the stored record failed verification: fetch again */
    bool has_subject;       /* [L] the record has a non-empty subject */
    const char *msg_status; /* [L] interned messageStatus */
    int64_t modified_ms;    /* [L] lastModifiedTime */
    int64_t removed_at;     /* [L] mono ms of the removal through removed_via */
    struct rlog_ref rec;    /* [L] meta.json in the record log */
    uint32_t gen;           /* [L] bumped on every move between folders */
    uint32_t conv;          /* [L] conversation number or MB_NONE */
    uint32_t seen;          /* [L] epoch of the last listing or sync that had it */
    struct mb_att *att;     /* [L] pointer (replaced when the record's attachments change) */
};

/* A replaced attachment block, kept until mb_free. */
struct mb_retired {
    struct mb_att *att;
    struct mb_retired *next;
};

/* One conversation. */
struct mb_conv {
    uint32_t num;          /* [I] index in mb.convs */
    uint32_t ext;          /* [I] extension */
    char id[21];           /* [I] decimal conversation id */
    const char *name;      /* [I] folder name */
    struct mb_vec members; /* [L] Alive member slots, sorted by message name */
    bool listed;           /* [L] shown in conversations/ (has Alive members) */
    int64_t emptied_at;    /* [L] mono ms when its last Alive member left */
};

/* How far a folder's listing has got. */
enum mb_list_state { MB_LIST_NONE, MB_LIST_RUNNING, MB_LIST_DONE };

/* One extension. */
struct mb_ext {
    uint64_t id;                              /* [I] server id */
    char name[MBNAME_MAX];                    /* [I] folder name */
    char number[32];                          /* [I] extension number as sent */
    uint8_t list_state[REC_TYPE_COUNT];       /* [list_lock] per type folder */
    int64_t list_failed_at[REC_TYPE_COUNT];   /* [list_lock] mono ms of the last failed listing */
    struct mb_vec folder[REC_TYPE_COUNT + 1]; /* [L] sorted slots: type folders, Deleted */
    struct mb_vec convs;                      /* [L] listed conversations, sorted by name */
    char *sync_token;                         /* [L] message-sync token or NULL */
    bool synced;                              /* [L] an FSync or ISync succeeded this mount */
};

/* An in-flight content download that others may wait for. */
struct mb_flight {
    uint32_t slot, k;       /* what is being fetched */
    bool done;              /* finished (rc is valid) */
    int rc;                 /* result */
    int waiters;            /* threads waiting besides the fetcher */
    struct mb_flight *next; /* list link */
};

struct mb {
    struct mb_opts o;             /* options (pointers borrowed) */
    char *server_url, *client_id; /* owned copies */
    char *account_id;             /* account id of the session or of the state */
    int64_t created_ms;           /* [I] when the state was first built */
    pthread_rwlock_t lock;        /* the index lock */

    struct mb_ext *exts; /* [I] extensions */
    uint32_t n_ext;      /* [I] */

    struct mb_msg **msgs;      /* [L] slot -> message */
    uint32_t n_msgs, cap_msgs; /* [L] */
    uint32_t *id_hash;         /* [L] open addressing: slot+1 per bucket, 0 empty */
    uint32_t id_hash_cap;      /* [L] power of two */

    struct mb_conv **convs;      /* [L] conversation number -> conversation */
    uint32_t n_convs, cap_convs; /* [L] */
    uint32_t *conv_hash;         /* [L] open addressing on (ext, id): num+1 */
    uint32_t conv_hash_cap;      /* [L] */

    struct mb_intern *strings;  /* [L] interned short strings (content types, statuses) */
    struct mb_retired *retired; /* [L] attachment blocks replaced by newer records */

    char *state_dir;            /* state/<scope> folder */
    struct rlog *rlog;          /* [L for swap] the record log */
    struct cobj_store *objects; /* content objects */
    bool dirty;                 /* [L] state changed since the last save */
    uint64_t garbage;           /* [L] superseded bytes in the record log */

    /* content downloads */
    pthread_mutex_t flight_lock;
    pthread_cond_t flight_cond;
    struct mb_flight *flights;

    /* listing waits */
    pthread_mutex_t list_lock;
    pthread_cond_t list_cond;

    /* background thread */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond;
    bool stop;               /* [wake_lock] */
    bool refresh;            /* [wake_lock] a sync was asked for */
    bool offline;            /* [wake_lock] server unreachable */
    uint64_t rounds_started; /* [wake_lock] sync rounds begun */
    uint64_t rounds_done;    /* [wake_lock] sync rounds finished */
    uint32_t epoch;          /* [L] listing epoch, to find what a full relist no longer has */
};

/* ---- mb.c: the index ---------------------------------------------------- */

/* Add or update a message from a full record (takes what it needs from r).
 * Appends the record to the log when it is new or newer.  Caller holds the
 * write lock.  Reports what changed through *chg.  Returns 0 or -errno. */
struct mb_changes;
int mb_apply_record(struct mb *m, uint32_t ext, struct rec *r, struct mb_changes *chg);

/* Recreate a message from the persisted state: r holds only what the index
 * keeps (no JSON); name and att_names are the persisted names.  The caller
 * sets msg->rec.  Write lock (or no threads yet). */
struct mb_msg *mb_restore_entry(struct mb *m, uint32_t ext, const struct rec *r, const char *name,
                                const char *const *att_names);

/* Apply a sync tombstone (id + availability).  Caller holds the write lock. */
void mb_apply_tombstone(struct mb *m, uint32_t ext, uint64_t id, enum rec_avail a,
                        struct mb_changes *chg);

/* Message by (ext, id) or NULL.  Caller holds the lock. */
struct mb_msg *mb_find_id(struct mb *m, uint32_t ext, uint64_t id);

/* Move a message to availability a (folder lists, conversations, gen).  Write lock. */
void mb_set_avail(struct mb *m, struct mb_msg *msg, enum rec_avail a, struct mb_changes *chg);

/* Collected change reports, delivered after the lock is dropped. */
struct mb_change {
    uint8_t kind;     /* MB_CHG_* */
    uint32_t a, b;    /* ext/folder, slot, or conv */
    const char *name; /* entry name (immutable string) or NULL */
};
enum { MB_CHG_FOLDER, MB_CHG_ENTRY_GONE, MB_CHG_MESSAGE, MB_CHG_CONV, MB_CHG_CONV_GONE };
struct mb_changes {
    struct mb_change *v;
    uint32_t n, cap;
};
void mb_changes_add(struct mb_changes *c, uint8_t kind, uint32_t a, uint32_t b, const char *name);
/* Deliver and free the reports (no lock held). */
void mb_changes_deliver(struct mb *m, struct mb_changes *c);

/* Free every extension, message and conversation (the mailbox is empty after). */
void mb_index_clear(struct mb *m);

/* Intern a short string (returns a pointer valid for the mailbox's life).  Write lock. */
const char *mb_intern(struct mb *m, const char *s);

/* Vector helpers. */
void mb_vec_push(struct mb_vec *v, uint32_t x);
void mb_vec_free(struct mb_vec *v);

/* ---- mb_state.c: persistence --------------------------------------------- */

/*
 * Load the persisted state into an empty mailbox: extensions, messages,
 * sizes, tokens, and the record log it refers to.  expect_account: the
 * session's account id, or NULL offline (then any state of this scope is
 * used).  Returns 0 when loaded; -ENOENT when there is none usable (a
 * damaged, old-format or other-account state is discarded: the mailbox is
 * left empty and a full sync rebuilds it).
 */
int mb_state_load(struct mb *m, const char *expect_account);

/* Forget everything loaded (extensions, messages) and start an empty record log. */
void mb_state_discard(struct mb *m);

/* Save atomically (record log made durable first).  Returns 0 or -errno
 * (the previous state stays in place). */
int mb_state_save(struct mb *m);

/* Rewrite the record log with live records only (no threads running). */
void mb_state_compact(struct mb *m);

/* ---- mb_load.c: listing ---------------------------------------------------- */

/* List type folder `type` of ext from the server unless already listed;
 * waits for a listing in progress until c's deadline.  Returns 0 or -errno. */
int mb_ensure_listed(struct mb *m, const struct api_call *c, uint32_t ext, int type);

/* List one type folder from the server now (no state checks), marking every
 * message it has with `epoch`.  Returns 0 or -errno. */
int mb_list_type(struct mb *m, const struct api_call *c, uint32_t ext, int type, uint32_t epoch);

/* The effective deadline of a call (0 means now + the default timeout). */
int64_t mb_deadline(const struct mb *m, const struct api_call *c);

/* Note the outcome of a server call: an unreachable server makes the
 * mailbox offline (writes and downloads then fail at once with -EIO). */
int mb_note_net(struct mb *m, int rc);

/* ---- mb_content.c ---------------------------------------------------------------- */

/* Fetch records of ext again by id and apply them even if not newer
 * (damaged copies, refresh after a change).  Returns 0 or -errno. */
int mb_refetch(struct mb *m, const struct api_call *c, uint32_t ext, const uint64_t *ids, size_t n);

/* ---- mb_sync.c: the background thread --------------------------------------- */
void *mb_thread_main(void *arg);
/* Stop and join the background thread (idempotent). */
void mb_stop_threads(struct mb *m);

#endif

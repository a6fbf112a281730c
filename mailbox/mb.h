/*
 * mb — the mailbox: an in-memory index of the message store of one mount.
 *
 * Owns the extensions, the messages (compact entries; each record's JSON
 * lives in the record log on disk, not in memory), the per-folder sorted
 * lists, the conversations, the learned attachment sizes, the sync tokens,
 * the content downloads, the changes made through the filesystem, and the
 * persisted state.  It speaks to the server through api/ and to the disk
 * through cache/; it knows nothing of FUSE.  This header is everything the
 * filesystem layer may use: it never calls api/ or cache/ itself.
 *
 * Identity: every message gets a slot number when first seen; slots are
 * never reused for the life of the mount, and entries are never freed
 * before mb_free, so a slot and the name strings of its entry stay valid
 * without holding a lock.  Everything that can change (availability, read
 * status, sizes, attachments, record location) is read through the
 * functions here, as a copy.
 *
 * Folders: an extension shows five type folders (only Alive messages),
 * Deleted/ (Deleted messages of every type), conversations/ (one folder per
 * conversation that has an Alive message) and Unread/ (every Alive Unread
 * message).  A message is in exactly one of its type folder or Deleted/.
 *
 * Changes: every change to a message on the server (delete, purge,
 * restore, read status) is single-flight per message: a second caller
 * asking for the same change waits for the first and gets its result; a
 * caller asking for a different change waits until the first is over and
 * then acts on the new state.  A change is made on the server first and
 * applied locally only when the server accepted it.  Purging is refused
 * unless the mount allows it (mb_config.purge), and even then a message this
 * mount moved to the trash less than MB_PURGE_HOLD_MS ago is not purged.
 *
 * Change reports: when the index changes (a sync, a write, a listing), the
 * mailbox calls the registered mb_events callbacks after releasing its
 * locks so the filesystem can tell the kernel.
 *
 * Fax text: every fax message folder may show fax.txt, the text of its
 * rendered document (the mb_text_* calls below; mailbox/mb_text.h).
 *
 * Threads: mb_open starts none (rcfs forks to daemonise after it); mb_start
 * starts the background thread, the cache's scan and the OCR workers.
 *
 * Errors are -errno: -ENOENT (no such thing), -EIO (server or disk trouble,
 * including offline), -EACCES (refused by the server), -EINVAL (bad value),
 * -EPERM (purging is off), -EBUSY (purge held back).
 */
#ifndef RCFS_MAILBOX_MB_H
#define RCFS_MAILBOX_MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The record's vocabulary (enum rec_type, rec_avail, ...) is shared with
 * the filesystem as plain data; its functions are not. */
#include "api/api_record.h"
#include "mailbox/mb_name.h"
#include "mailbox/mb_outbox.h"

struct mb;

/* Folders inside an extension: the five types, then these two. */
enum mb_folder {
    MB_FOLDER_DELETED = REC_TYPE_COUNT, /* Deleted/ */
    MB_FOLDER_CONVERSATIONS,            /* conversations/ */
    MB_FOLDER_UNREAD,                   /* Unread/: links to every Alive Unread message */
    MB_FOLDER_COUNT
};

/* Name of a folder inside an extension ("Fax", ..., "Deleted", "conversations"),
 * or NULL for a number that is not a folder. */
const char *mb_folder_name(int folder);

/* Where a message folder is being looked at from. */
enum mb_view {
    MB_VIEW_TYPE = 0,    /* in its type folder (Alive) */
    MB_VIEW_DELETED = 1, /* in Deleted/ */
    MB_VIEW_TRASH = 2,   /* in the desktop Trash's files/ (Deleted, seen from there) */
    MB_VIEW_COUNT
};

/* Who is waiting for a call. */
enum mb_prio {
    MB_PRIO_USER,       /* a person is waiting: goes first */
    MB_PRIO_BACKGROUND, /* thumbnailers, prefetch, polling: yields */
};

/* The context of one call from the filesystem. */
struct mb_call {
    int64_t deadline_ms; /* isotime_mono_ms() after which the call fails (-EIO);
                            0 = now + the mount's timeout */
    enum mb_prio prio;   /* scheduling class */
    pid_t pid;           /* the process that asked (0 = rcfs itself) */
    uid_t uid;           /* its user */
    bool local_only;     /* answer from what is known; never list or fetch */
};

/* Kernel-notification hooks (all optional); called without any mailbox lock. */
struct mb_events {
    void *ctx;
    /* The listing of folder `folder` of extension `ext` changed (entries added or removed). */
    void (*folder_changed)(void *ctx, uint32_t ext, int folder);
    /* Entry `name` disappeared from folder `folder` of extension `ext`: id
     * as in entry_new. */
    void (*entry_gone)(void *ctx, uint32_t ext, int folder, const char *name, uint32_t id);
    /* Entry `name` appeared in folder `folder` of extension `ext`, a folder
     * that was listed before (not during its first listing): id is the
     * message slot (type folders, Deleted/, Unread/) or the conversation
     * number (conversations/). */
    void (*entry_new)(void *ctx, uint32_t ext, int folder, const char *name, uint32_t id);
    /* Message `slot` joined conversation `conv` as entry `name` (the
     * extension's folders were listed before). */
    void (*member_new)(void *ctx, uint32_t conv, const char *name, uint32_t slot);
    /* A new inbound message arrived (brought by a sync or a push, into a
     * folder listed before: never during a first listing). */
    void (*message_arrived)(void *ctx, uint32_t slot);
    /* Message `slot` changed (record, read status, sizes): its files' attributes and meta.json. */
    void (*message_changed)(void *ctx, uint32_t slot);
    /* The listing of conversation `conv` changed; name_gone: an entry that
     * disappeared (message slot_gone) or NULL. */
    void (*conversation_changed)(void *ctx, uint32_t conv, const char *name_gone,
                                 uint32_t slot_gone);
    /* Conversation folder `name` (number conv) disappeared from extension
     * `ext`'s conversations/. */
    void (*conversation_gone)(void *ctx, uint32_t ext, const char *name, uint32_t conv);
    /* Extension folder `name` (number ext) disappeared from the root (hidden). */
    void (*extension_gone)(void *ctx, uint32_t ext, const char *name);
    /* The cache disk is full and nothing unpinned is left: give up idle open
     * attachments (mb_att_close them) and return how many.  Called from the
     * thread whose write failed, with no mailbox lock held; it must not wait
     * for anything a downloading thread may hold. */
    int (*release_idle)(void *ctx);
    /* File `name` left Outbox recipient folder `rcpt` (sent); see mb_outbox.h. */
    void (*outbox_gone)(void *ctx, uint32_t rcpt, const char *name);
};

/* Has folder `folder` of ext been listed (so its entries may be watched)?
 * Reads no lock-protected state; never blocks. */
bool mb_folder_listed(struct mb *m, uint32_t ext, int folder);

/* What a mount is made of (the command line's part of it). */
struct mb_config {
    const char *credentials; /* KEY=VALUE credentials file, or NULL: the environment */
    const char *cache_dir;   /* the cache folder (created 0700) */
    const char *media_url;   /* NULL, or a base URL replacing the attachment URIs' origin */
    uint64_t cache_max;      /* content cache cap in bytes (0 = unlimited) */
    int poll_s;              /* seconds between ISyncs; 0 = no polling */
    int probe_bytes;         /* size probes ask for this many bytes (and cache the file if whole) */
    int timeout_s;           /* bound of a call (mb_call.deadline_ms == 0) and of the login */
    int max_downloads;       /* content transfers at once */
    bool purge;              /* removing a message inside Deleted/ purges it (else -EPERM) */
    bool no_push;            /* do not subscribe to push notifications (poll only) */
    bool no_prefetch;        /* do not download new faxes and voicemails ahead of time */
    bool verbose_http;       /* log each request line at debug level (never a secret) */
    struct mb_events events; /* notification hooks */
    const char *sms_from;    /* Outbox: the number SMS go from, or NULL (the first SmsSender) */
    int fax_cover;           /* Outbox: the default fax cover page index (0 = none) */
    bool outbox;             /* Outbox/ in this mount (-o outbox=on; off: no flush round
                                trips) */
    bool ocr;                /* show fax.txt in fax folders (OCR of image pages) */
    const char *ocr_helper;  /* absolute path of the rcfs-ocr helper */
    const char *ocr_lang;    /* Tesseract languages ("eng+deu"); NULL: "eng", checked when
                                first needed; given: checked by mb_open, which fails on a
                                language whose data is missing */
    int ocr_jobs;            /* OCR helpers at once; 0: half the cores, at least 1 */
};

/* How long after this mount moved a message to the trash it refuses to purge it. */
#define MB_PURGE_HOLD_MS (5 * 60 * 1000)

/*
 * Open the mailbox of a mount: read the credentials, take the cache folder
 * (and its lock), log in (bounded by timeout_s), discover the extensions
 * and load the persisted state when it belongs to the same account.  When
 * the server cannot be reached, the persisted state is used alone (offline,
 * read-only; mb_offline says so); with none, this fails with -EHOSTUNREACH.
 * Refused credentials are -EACCES (or -EINVAL for a malformed setting).
 * Starts no thread; listing, syncing and downloads happen later.
 * Returns 0 and *out, or -errno with one line for the user in err.
 */
int mb_open(const struct mb_config *cfg, struct mb **out, char *err, size_t errlen);

/*
 * Start the threads: the cache's startup scan and the background thread
 * (listing of folders not yet known, then message-sync every poll_s
 * seconds, reconnecting every few seconds while offline).  Call once, after
 * daemonising.  Returns 0 or -errno (nothing started then).
 */
int mb_start(struct mb *m);

/* Ask for a sync now (SIGUSR1).  Returns at once. */
void mb_refresh_now(struct mb *m);

/* Ask for a sync now and wait until a round that started after the call has
 * finished, or until deadline_ms (monotonic).  Returns 0, or -EIO when the
 * deadline passed or the server could not be reached. */
int mb_refresh_wait(struct mb *m, int64_t deadline_ms);

/* Stop the threads (idempotent): after it returns, no event hook is called
 * again.  Call before freeing what the hooks use. */
void mb_stop(struct mb *m);

/* Stop threads, persist the state, free everything.  NULL-safe. */
void mb_free(struct mb *m);

/* When this mailbox's state was first built (ms since the epoch): the
 * stable mtime of folders that are not messages. */
int64_t mb_created_ms(struct mb *m);

/* True while the server is unreachable (writes fail with -EIO). */
bool mb_offline(struct mb *m);

/* ---- extensions ------------------------------------------------------- */

/* Number of extension numbers (fixed for the life of the mailbox); some
 * may be hidden. */
uint32_t mb_ext_count(struct mb *m);

/* Folder name of extension ext, valid for the mailbox's life; NULL when ext
 * is out of range or hidden (its message store answered 403). */
const char *mb_ext_name(struct mb *m, uint32_t ext);

/* Find a shown extension by folder name.  Returns 0 and *ext, or -ENOENT. */
int mb_ext_find(struct mb *m, const char *name, uint32_t *ext);

/* ---- folder listings -------------------------------------------------- */

/* A copy of a folder's entries, sorted by name, for readdir. */
struct mb_listing {
    uint32_t n;         /* number of entries */
    uint32_t *ids;      /* message slots (type folders, Deleted/, Unread/, a
                           conversation) or conversation numbers (conversations/) */
    const char **names; /* entry names (valid for the mailbox's life) */
};

/*
 * Snapshot the entries of folder `folder` of extension `ext`, listing it
 * from the server first if it has never been listed (Deleted/ and
 * conversations/ need every type listed).  Waits at most until c's deadline
 * for a listing in progress.  Returns 0 and fills *out (free with
 * mb_listing_free), or -errno (-EIO when it cannot be listed now, -ENOENT
 * for a hidden extension).
 */
int mb_folder_list(struct mb *m, const struct mb_call *c, uint32_t ext, int folder,
                   struct mb_listing *out);

/* Entries of a conversation folder (message slots of its Alive messages).
 * Returns 0 and *out, or -ENOENT for an unknown conversation. */
int mb_conv_list(struct mb *m, uint32_t conv, struct mb_listing *out);

/* Free a listing's array; NULL-safe, idempotent. */
void mb_listing_free(struct mb_listing *l);

/*
 * Find a message folder by name in folder `folder` (a type folder or
 * Deleted/) of extension ext, listing the folder first if needed.
 * A message that this mount removed within the last MB_REMOVAL_GRACE_MS
 * through that same folder is still found there (so the rest of an
 * `rm -r` or a file manager's removal can finish).
 * Returns 0 and *slot, or -ENOENT / -EIO.
 */
int mb_folder_lookup(struct mb *m, const struct mb_call *c, uint32_t ext, int folder,
                     const char *name, uint32_t *slot);

/* mb_folder_lookup in Deleted/ of every shown extension at once (the
 * desktop Trash): a name whose message is known is answered from memory;
 * only an unknown one makes the Deleted/ folders be listed.
 * Returns 0 and *slot, or -ENOENT / -EIO. */
int mb_trash_lookup(struct mb *m, const struct mb_call *c, const char *name, uint32_t *slot);

/* How long a message stays reachable in the folder it was removed from. */
#define MB_REMOVAL_GRACE_MS 30000

/* Find a conversation of extension ext by folder name: 0 and *conv, or
 * -ENOENT (-EIO when the folders cannot be listed now). */
int mb_conv_lookup(struct mb *m, const struct mb_call *c, uint32_t ext, const char *name,
                   uint32_t *conv);

/*
 * rmdir of a conversation folder: 0 when it has no Alive member left (it
 * disappears), -ENOTEMPTY when it still has, -ENOENT when unknown.  A
 * conversation emptied within MB_REMOVAL_GRACE_MS can still be looked up,
 * so the end of an `rm -r conversations/X` succeeds.
 */
int mb_conv_remove(struct mb *m, uint32_t ext, const char *name);

/* Find a message of Unread/ of ext by name (listing the folders first if
 * needed): 0 and *slot, or -ENOENT / -EIO. */
int mb_unread_lookup(struct mb *m, const struct mb_call *c, uint32_t ext, const char *name,
                     uint32_t *slot);

/* Conversation conv's extension and folder name (valid for the mailbox's
 * life).  Returns 0, or -ENOENT for an unknown number. */
int mb_conv_where(struct mb *m, uint32_t conv, uint32_t *ext, const char **name);

/* Find an Alive member of conversation conv by name: 0 and *slot, or -ENOENT. */
int mb_conv_member(struct mb *m, uint32_t conv, const char *name, uint32_t *slot);

/* ---- messages ---------------------------------------------------------- */

/* What the filesystem needs to show one attachment. */
struct mb_att_info {
    const char *name;         /* file name (valid for the mailbox's life) */
    int64_t size;             /* bytes, or -1 when not yet known */
    enum rec_att_type type;   /* attachment kind */
    const char *content_type; /* as the record says, "" when it gave none (valid for life) */
};

/* A consistent copy of a message's changing state. */
struct mb_msg_info {
    uint64_t id;                 /* server message id */
    uint32_t ext;                /* extension number in this mailbox */
    const char *name;            /* folder name (valid for the mailbox's life) */
    enum rec_type type;          /* message type */
    enum rec_dir direction;      /* Inbound / Outbound */
    enum rec_avail availability; /* Alive / Deleted (Purged only during a removal's grace) */
    enum rec_read read_status;   /* Read / Unread */
    const char *message_status;  /* "" when unknown (valid for the mailbox's life) */
    int64_t creation_ms;         /* folder and attachment mtime */
    int64_t modified_ms;         /* meta.json mtime */
    uint32_t meta_len;           /* size of meta.json */
    uint32_t gen;                /* bumped each time the message moves between folders
                                    or its attachments change */
    uint32_t conv;               /* conversation number, or UINT32_MAX */
    bool has_subject;            /* the record has a non-empty subject (user.xdg.comment) */
    uint32_t n_att;              /* attachments */
    struct mb_att_info att[REC_MAX_ATTACHMENTS];
};

/* Copy a message's state.  Returns 0, or -ENOENT for an unknown slot and
 * for a purged message (except within MB_REMOVAL_GRACE_MS of its removal
 * through this mount, so the rest of that removal finishes). */
int mb_msg_info(struct mb *m, uint32_t slot, struct mb_msg_info *out);

/* The id of attachment k of slot (0 when there is none).  Attachment
 * content never changes for an id. */
uint64_t mb_att_id(struct mb *m, uint32_t slot, uint32_t k);

/* The subject, read from the stored record (no request).
 * Returns 0 with *subject (malloc'd, NULL when none) or -EIO / -ENOENT. */
int mb_msg_subject(struct mb *m, uint32_t slot, char **subject);

/* The length in bytes of the subject mb_msg_subject gives (0 when none or
 * empty), from memory once known (no disk read), else as mb_msg_subject.
 * Returns 0 with *len, or -EIO / -ENOENT. */
int mb_msg_subject_len(struct mb *m, uint32_t slot, size_t *len);

/* The other party as the record names it (phone number, else extension
 * number, else name; malloc'd in *peer, NULL when none), from the stored
 * record (no request).  Untrusted text: for display only.  Returns 0 or
 * -EIO / -ENOENT. */
int mb_msg_sender(struct mb *m, uint32_t slot, char **peer);

/* The URI of attachment k (malloc'd in *uri), exactly as the stored record
 * gives it; rebuilt from memory when it has the usual form (mb_uri.h), so
 * usually without a disk read.  Returns 0, -ENOENT (no such attachment or
 * no URI) or -EIO. */
int mb_att_uri(struct mb *m, uint32_t slot, uint32_t k, char **uri);

/*
 * When this mount's own DELETE made the stored record out of date (the
 * server changed the message; a DELETE answers 204 with no record, and a
 * sync says only that it is Deleted), fetch it again now, together with up
 * to API_GET_MAX_IDS - 1 other such records of its extension: one light
 * batched GET.  Nothing else fetches them, so an rm -r costs its DELETEs
 * and no more until someone looks (meta.json, the Trash's info file); the
 * mark survives a remount.  Offline, or when that fails, nothing happens
 * and the stored record is shown.  Two threads looking at once may fetch a
 * record twice.
 */
void mb_meta_refresh(struct mb *m, const struct mb_call *c, uint32_t slot);

/*
 * The exact meta.json bytes (refreshed first as mb_meta_refresh says): 0 with *buf (malloc'd) and
 * *len, or -EIO when the stored copy is damaged and could not be fetched again.
 */
int mb_meta_read(struct mb *m, const struct mb_call *c, uint32_t slot, char **buf, size_t *len);

/*
 * Make sure attachment k's size is known, learning it with one ranged
 * content request if needed (which also caches small files whole).
 * Returns 0 and *size, or -errno (-EIO offline or on server trouble).
 */
int mb_att_size(struct mb *m, const struct mb_call *c, uint32_t slot, uint32_t k, int64_t *size);

/* An open attachment: either a verified cache file or bytes in memory. */
struct mb_open_att {
    int fd;        /* cache file (pread [0,size)), or -1 */
    char *mem;     /* in-memory content (e.g. text equal to the subject), or NULL */
    uint64_t size; /* content size */
    void *pin;     /* internal: releases the cache pin */
};

/*
 * Open attachment k for reading: from the cache, or downloaded now (one
 * download per object however many callers wait; at most max_downloads at
 * once).  Returns 0 and fills *out (release with mb_att_close), or -errno:
 * -EIO (offline and not cached, server trouble, failed checks), -ENOSPC.
 */
int mb_att_open(struct mb *m, const struct mb_call *c, uint32_t slot, uint32_t k,
                struct mb_open_att *out);

/* Like mb_att_open but never downloads: -ENOENT when not cached. */
int mb_att_open_cached(struct mb *m, uint32_t slot, uint32_t k, struct mb_open_att *out);

/* Release what mb_att_open gave. */
void mb_att_close(struct mb *m, struct mb_open_att *o);

/* ---- fax text (fax.txt) ---------------------------------------------------- */

/* The name of a fax's text file in its message folder. */
#define MB_TEXT_NAME "fax.txt"

/* Is fax.txt shown for this message: OCR is on, it is a fax with a
 * RenderedDocument, and no attachment is called fax.txt.  No lock, no I/O. */
bool mb_text_shown(struct mb *m, const struct mb_msg_info *info);

/* The exact size of slot's fax.txt when this mount knows it (made, or
 * found in the cache by an earlier mb_text_size), else -1.  No I/O. */
int64_t mb_text_known_size(struct mb *m, uint32_t slot);

/*
 * Make sure slot's fax.txt exists and learn its size: found in the cache
 * (no request, no OCR), or made from the fax's document, downloaded first
 * if it is not cached (with c's priority; the one download a reader of the
 * fax shares) and read by the OCR helper at c's priority (USER before
 * background jobs).  Single-flight per document.  Waits until c's deadline:
 * -EIO when it passes (the OCR goes on; a later call finds the text), when
 * the helper failed (logged once; answered at once for a while after), or
 * offline with the document not cached.  -ENOENT when fax.txt is not shown.
 * Returns 0 and *size.
 */
int mb_text_size(struct mb *m, const struct mb_call *c, uint32_t slot, int64_t *size);

/* Open slot's fax.txt for reading (made first as mb_text_size says; the
 * text object is pinned until mb_att_close).  Returns 0 and *out (fd and
 * size), or mb_text_size's -errno. */
int mb_text_open(struct mb *m, const struct mb_call *c, uint32_t slot, struct mb_open_att *out);

/* ---- changes ----------------------------------------------------------- */

/*
 * Set the read status on the server (returns once it accepted) and update
 * the index from the server's answer.  Single-flight per message.  -EIO
 * offline; nothing changes locally on error.
 */
int mb_set_read(struct mb *m, const struct mb_call *c, uint32_t slot, enum rec_read rs);

/*
 * Remove a message through the filesystem, seen from folder `from` (its
 * type folder, Deleted/ or MB_FOLDER_CONVERSATIONS).
 *  - Alive, seen from its type folder or a conversation: one DELETE moves it
 *    to the server's trash (Deleted/).
 *  - Deleted, seen from Deleted/: -EPERM without mb_config.purge (nothing is
 *    sent; one log line says how to allow it); -EBUSY when this mount moved
 *    it to the trash less than MB_PURGE_HOLD_MS ago; else one DELETE purges
 *    it.
 *  - If this mount already removed it through the same folder within
 *    MB_REMOVAL_GRACE_MS (the rest of an rm -r), succeeds with no request.
 * Single-flight: concurrent removals of one message send one request.
 * Returns 0 or -errno (-ENOENT when it is no longer where the caller saw
 * it); on error nothing changed.
 */
int mb_remove(struct mb *m, const struct mb_call *c, uint32_t slot, int from);

/* The recursive removal that began in `from` is over (the folder itself was
 * removed): the message stops being reachable there. */
void mb_remove_done(struct mb *m, uint32_t slot, int from);

/* Restore a Deleted message (PATCH availability Alive); it returns to its
 * type folder.  Single-flight.  Returns 0, -ENOENT when it is not Deleted,
 * or -errno. */
int mb_restore(struct mb *m, const struct mb_call *c, uint32_t slot);

/* Move an Alive message to the server's trash as `mv MSG Deleted/` does (one
 * DELETE; single-flight).  Returns 0, -ENOENT when it is not Alive, or -errno. */
int mb_trash(struct mb *m, const struct mb_call *c, uint32_t slot);

/*
 * Set read status rs on every message of folder `folder` (a type folder or
 * Deleted/) of ext, or of conversation conv, that does not have it: at most
 * ceil(n / 50) requests.  Whatever the server answered for each message is
 * applied (local state equals the server's even when part of it failed).
 * Returns 0, or the first -errno met.
 */
int mb_set_read_folder(struct mb *m, const struct mb_call *c, uint32_t ext, int folder,
                       enum rec_read rs);
int mb_set_read_conv(struct mb *m, const struct mb_call *c, uint32_t conv, enum rec_read rs);

/*
 * Move every Alive message of conversation conv to the server's trash: one
 * request (the conversation DELETE) when none of its messages is already in
 * Deleted/ (that request would purge those), else bulk DELETEs by id (50 a
 * request).  Returns 0, -ENOENT for an unknown conversation, or -errno.
 */
int mb_trash_conv(struct mb *m, const struct mb_call *c, uint32_t conv);

/* ---- names of values (for attributes) ----------------------------------- */

const char *mb_type_name(enum rec_type t);   /* "Fax", "SMS", ... */
const char *mb_dir_name(enum rec_dir d);     /* "Inbound" / "Outbound" */
const char *mb_avail_name(enum rec_avail a); /* "Alive" / "Deleted" / "Purged" */
const char *mb_read_name(enum rec_read r);   /* "Read" / "Unread" */

/* ---- statistics --------------------------------------------------------- */

/* The file system that holds the cache folder (statvfs of it): the space
 * the mount can use.  Returns 0 or -errno. */
struct statvfs;
int mb_cache_statfs(struct mb *m, struct statvfs *out);

struct mb_stats {
    uint64_t messages;    /* slots in use */
    uint64_t cache_bytes; /* content cache bytes */
};
void mb_get_stats(struct mb *m, struct mb_stats *out);

#endif

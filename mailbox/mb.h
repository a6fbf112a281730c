/*
 * mb — the mailbox: an in-memory index of the message store of one mount.
 *
 * Owns the extensions, the messages (compact entries; each record's JSON
 * lives in the record log on disk, not in memory), the per-folder sorted
 * lists, the conversations, the learned attachment sizes, the sync tokens,
 * the content downloads, and the persisted state.  It speaks to the server
 * through api/ and to the disk through cache/; it knows nothing of FUSE.
 *
 * Identity: every message gets a slot number when first seen; slots are
 * never reused for the life of the mount, and entries are never freed
 * before mb_free, so a slot and the name strings of its entry stay valid
 * without holding a lock.  Everything that can change (availability, read
 * status, sizes, record location) is read under the mailbox lock, through
 * the functions here, as a copy.
 *
 * Folders: an extension shows five type folders (only Alive messages),
 * Deleted/ (Deleted messages of every type) and conversations/ (one folder
 * per conversation that has an Alive message).  A message is in exactly one
 * of its type folder or Deleted/.
 *
 * Change reports: when the index changes (a sync, a write, a listing), the
 * mailbox calls the registered mb_events callbacks after releasing its lock
 * so the filesystem can tell the kernel.
 *
 * Errors are -errno: -ENOENT (no such thing), -EIO (server or disk trouble,
 * including offline), -EACCES (refused by the server), -EINVAL (bad value).
 */
#ifndef RCFS_MAILBOX_MB_H
#define RCFS_MAILBOX_MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_record.h"
#include "mailbox/mb_name.h"

struct mb;
struct cdir;

/* Folders inside an extension: the five types, then these two. */
enum mb_folder {
    MB_FOLDER_DELETED = REC_TYPE_COUNT, /* Deleted/ */
    MB_FOLDER_CONVERSATIONS,            /* conversations/ */
    MB_FOLDER_COUNT
};

/* Name of a folder inside an extension ("Fax", ..., "Deleted", "conversations"). */
const char *mb_folder_name(int folder);

/* Where a message folder is being looked at from. */
enum mb_view {
    MB_VIEW_TYPE = 0,    /* in its type folder (Alive) */
    MB_VIEW_DELETED = 1, /* in Deleted/ */
};

/* Kernel-notification hooks (all optional); called without any mailbox lock. */
struct mb_events {
    void *ctx;
    /* The listing of folder `folder` of extension `ext` changed (entries added or removed). */
    void (*folder_changed)(void *ctx, uint32_t ext, int folder);
    /* Entry `name` disappeared from folder `folder` of extension `ext`. */
    void (*entry_gone)(void *ctx, uint32_t ext, int folder, const char *name);
    /* Message `slot` changed (record, read status, sizes): its files' attributes and meta.json. */
    void (*message_changed)(void *ctx, uint32_t slot);
    /* The listing of conversation `conv` changed; name_gone: an entry that disappeared or NULL. */
    void (*conversation_changed)(void *ctx, uint32_t conv, const char *name_gone);
    /* Conversation folder `name` disappeared from extension `ext`'s conversations/. */
    void (*conversation_gone)(void *ctx, uint32_t ext, const char *name);
};

struct mb_opts {
    struct api *api;         /* the REST client (borrowed; outlives the mailbox) */
    struct cdir *cache;      /* the cache folder (borrowed) */
    uint64_t cache_max;      /* content cache cap in bytes (0 = unlimited) */
    const char *server_url;  /* for keys and the state scope */
    const char *client_id;   /* for the state scope */
    int poll_s;              /* seconds between ISyncs; 0 = no polling */
    int probe_bytes;         /* size probes ask for this many bytes (and cache the file if whole) */
    int timeout_s;           /* default bound of a call, as given to the api */
    struct mb_events events; /* notification hooks */
};

/*
 * Create the mailbox.  online: the API session is logged in; the extensions
 * are discovered now (one request, or two with the ~ fallback) and the
 * persisted state, if any and if it belongs to the same account, is loaded.
 * Offline (online = false): only the persisted state is used; with none,
 * this fails with -EHOSTUNREACH.  Contacts nobody else; listing, syncing and
 * downloads happen later.  Returns 0 and *out, or -errno with a line in err.
 */
int mb_new(const struct mb_opts *o, bool online, struct mb **out, char *err, size_t errlen);

/*
 * Start the background threads: listing of folders not yet known (first
 * mount), then message-sync (FSync on a first mount, ISync with the stored
 * token otherwise) every poll_s seconds, and, when offline, reconnecting.
 * Call after daemonising.  Returns 0 or -errno.
 */
int mb_start(struct mb *m);

/* Ask for a sync now (SIGUSR1).  Returns at once. */
void mb_refresh_now(struct mb *m);

/* Ask for a sync now and wait until a round that started after the call has
 * finished, or until deadline_ms (monotonic).  Returns 0, or -EIO when the
 * deadline passed or the server could not be reached. */
int mb_refresh_wait(struct mb *m, int64_t deadline_ms);

/* Stop threads, persist the state, free everything.  NULL-safe. */
void mb_free(struct mb *m);

/* When this mailbox's state was first built (ms since the epoch): the
 * stable mtime of folders that are not messages. */
int64_t mb_created_ms(struct mb *m);

/* True while the server is unreachable (writes fail with -EIO). */
bool mb_offline(struct mb *m);

/* ---- extensions ------------------------------------------------------- */

/* Number of extensions (fixed for the life of the mailbox). */
uint32_t mb_ext_count(struct mb *m);

/* Folder name of extension ext (< mb_ext_count); valid for the mailbox's life. */
const char *mb_ext_name(struct mb *m, uint32_t ext);

/* Find an extension by folder name.  Returns 0 and *ext, or -ENOENT. */
int mb_ext_find(struct mb *m, const char *name, uint32_t *ext);

/* ---- folder listings -------------------------------------------------- */

/* A copy of a folder's entries, sorted by name, for readdir. */
struct mb_listing {
    uint32_t n;         /* number of entries */
    uint32_t *ids;      /* message slots (type folders, Deleted/, a conversation)
                           or conversation numbers (conversations/) */
    const char **names; /* entry names (valid for the mailbox's life) */
};

/*
 * Snapshot the entries of folder `folder` of extension `ext`, listing it
 * from the server first if it has never been listed (Deleted/ and
 * conversations/ need every type listed).  Waits at most until c's deadline
 * for a listing in progress.  Returns 0 and fills *out (free with
 * mb_listing_free), or -errno (-EIO when it cannot be listed now).
 */
int mb_folder_list(struct mb *m, const struct api_call *c, uint32_t ext, int folder,
                   struct mb_listing *out);

/* Entries of a conversation folder (message slots of its Alive messages). */
int mb_conv_list(struct mb *m, uint32_t conv, struct mb_listing *out);

/* Free a listing's array; NULL-safe, idempotent. */
void mb_listing_free(struct mb_listing *l);

/*
 * Find a message folder by name in folder `folder` (a type folder or
 * Deleted/) of extension ext, listing the folder first if needed.
 * A message that this mount deleted within the last MB_REMOVAL_GRACE_MS
 * through that same folder is still found there (so the rest of an
 * `rm -r` or a file manager's removal can finish).
 * Returns 0 and *slot, or -ENOENT / -EIO.
 */
int mb_folder_lookup(struct mb *m, const struct api_call *c, uint32_t ext, int folder,
                     const char *name, uint32_t *slot);

/* How long a message stays reachable in the folder it was removed from. */
#define MB_REMOVAL_GRACE_MS 30000

/* Find a conversation of extension ext by folder name: 0 and *conv, or -ENOENT. */
int mb_conv_lookup(struct mb *m, const struct api_call *c, uint32_t ext, const char *name,
                   uint32_t *conv);

/*
 * rmdir of a conversation folder: 0 when it has no Alive member left (it
 * disappears), -ENOTEMPTY when it still has, -ENOENT when unknown.  A
 * conversation emptied within MB_REMOVAL_GRACE_MS can still be looked up,
 * so the end of an `rm -r conversations/X` succeeds.
 */
int mb_conv_remove(struct mb *m, uint32_t ext, const char *name);

/* Find an Alive member of conversation conv by name: 0 and *slot, or -ENOENT. */
int mb_conv_member(struct mb *m, uint32_t conv, const char *name, uint32_t *slot);

/* ---- messages ---------------------------------------------------------- */

/* What the filesystem needs to show one attachment. */
struct mb_att_info {
    const char *name;         /* file name (valid for the mailbox's life) */
    int64_t size;             /* bytes, or -1 when not yet known */
    enum rec_att_type type;   /* attachment kind */
    const char *content_type; /* as the record says (valid for the mailbox's life) */
};

/* A consistent copy of a message's changing state. */
struct mb_msg_info {
    uint64_t id;      /* server message id */
    uint32_t ext;     /* extension number in this mailbox */
    const char *name; /* folder name (valid for the mailbox's life) */
    enum rec_type type;
    enum rec_dir direction;
    enum rec_avail availability;
    enum rec_read read_status;
    const char *message_status; /* "" when unknown (valid for the mailbox's life) */
    int64_t creation_ms;        /* folder and attachment mtime */
    int64_t modified_ms;        /* meta.json mtime */
    uint32_t meta_len;          /* size of meta.json */
    uint32_t gen;               /* bumped each time the message moves between folders */
    uint32_t conv;              /* conversation number, or UINT32_MAX */
    bool has_subject;           /* the record has a non-empty subject (user.xdg.comment) */
    uint32_t n_att;             /* attachments */
    struct mb_att_info att[REC_MAX_ATTACHMENTS];
};

/* Copy a message's state.  Returns 0, or -ENOENT for a purged/unknown slot. */
int mb_msg_info(struct mb *m, uint32_t slot, struct mb_msg_info *out);

/* The id of attachment k of slot (0 when there is none).  Attachment
 * content never changes for an id. */
uint64_t mb_att_id(struct mb *m, uint32_t slot, uint32_t k);

/* Subject and attachment URIs, read from the stored record (no request).
 * Returns 0 with *subject (malloc'd, NULL when none) or -EIO. */
int mb_msg_subject(struct mb *m, uint32_t slot, char **subject);

/* The URI of attachment k (malloc'd in *uri), from the stored record. */
int mb_att_uri(struct mb *m, uint32_t slot, uint32_t k, char **uri);

/*
 * The exact meta.json bytes: 0 with *buf (malloc'd) and *len, or -EIO when
 * the stored copy is damaged and could not be fetched again.
 */
int mb_meta_read(struct mb *m, const struct api_call *c, uint32_t slot, char **buf, size_t *len);

/*
 * Make sure attachment k's size is known, learning it with one ranged
 * content request if needed (which also caches small files whole).
 * Returns 0 and *size, or -errno (-EIO offline or on server trouble).
 */
int mb_att_size(struct mb *m, const struct api_call *c, uint32_t slot, uint32_t k, int64_t *size);

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
int mb_att_open(struct mb *m, const struct api_call *c, uint32_t slot, uint32_t k,
                struct mb_open_att *out);

/* Like mb_att_open but never downloads: -ENOENT when not cached. */
int mb_att_open_cached(struct mb *m, uint32_t slot, uint32_t k, struct mb_open_att *out);

/* Release what mb_att_open gave. */
void mb_att_close(struct mb *m, struct mb_open_att *o);

/* ---- changes ----------------------------------------------------------- */

/*
 * Set the read status on the server (returns once it accepted) and update
 * the index from the server's answer.  -EIO offline; nothing changes on error.
 */
int mb_set_read(struct mb *m, const struct api_call *c, uint32_t slot, enum rec_read rs);

/*
 * Remove a message through the filesystem, seen from folder `from` (its
 * type folder, Deleted/ or MB_FOLDER_CONVERSATIONS).  Alive: one DELETE
 * (to the server's trash), the message moves to Deleted/.  Deleted and seen
 * from Deleted/: purged.  If this mount already removed it through the same
 * folder within MB_REMOVAL_GRACE_MS (the rest of an rm -r), succeeds without
 * a request.  Returns 0 or -errno; on error nothing changed.
 */
int mb_remove(struct mb *m, const struct api_call *c, uint32_t slot, int from);

/* The recursive removal that began in `from` is over (the folder itself was
 * removed): the message stops being reachable there. */
void mb_remove_done(struct mb *m, uint32_t slot, int from);

/* Restore a Deleted message (PATCH availability Alive); it returns to its type folder. */
int mb_restore(struct mb *m, const struct api_call *c, uint32_t slot);

/* Move an Alive message to the server's trash as `mv MSG Deleted/` does (one DELETE). */
int mb_trash(struct mb *m, const struct api_call *c, uint32_t slot);

/* ---- statistics --------------------------------------------------------- */

struct mb_stats {
    uint64_t messages;    /* slots in use */
    uint64_t cache_bytes; /* content cache bytes */
};
void mb_get_stats(struct mb *m, struct mb_stats *out);

#endif

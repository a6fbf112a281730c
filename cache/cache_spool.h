/*
 * cache_spool — the Outbox's spool on disk: files being written, the bytes
 * of pending sends, and the journal that makes each send happen once.
 *
 * Layout under the spool folder (created 0700, inside the mailbox's state
 * folder, so accounts never mix):
 *   drafts/<16 hex>         a file being written (never sent; all of them are
 *                           removed by spool_open: a draft does not outlive
 *                           the mount that wrote it)
 *   queue/<jid>.data        the bytes of a committed send, exactly as written
 *   queue/<jid>.rec         its journal record (text, checksummed)
 *   queue/.tmp-<jid>.rec    a record being replaced (removed by spool_open)
 *   damaged/                records that failed their check, and their data,
 *                           moved aside (never sent, never deleted)
 *   meta                    one small file of the caller's (atomic)
 * A send is committed when its record exists: spool_commit fsyncs the data,
 * renames it into queue/, then writes the record (temporary, fsync, rename,
 * fsync of the folder).  A .data without a .rec is a commit that never
 * finished (its close failed) and is removed at open.
 *
 * The record's fields are the Outbox's (kinds and states are the caller's
 * small integers); this module only stores them.  The format is text, one
 * "key=value" per line after the line "rcfs-spool 1", bytes outside
 * printable ASCII and '%' '=' escaped as %XX, ending with "check=" and the
 * xxh3-64 of everything before it: a record that fails any check is refused
 * as a whole.  Knows nothing of FUSE, HTTP or JSON.  Starts no thread.
 * Thread-safe as long as no two threads work on the same draft or jid at
 * once, and meta is written by one thread at a time.
 */
#ifndef RCFS_CACHE_SPOOL_H
#define RCFS_CACHE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool;

/* Message ids a record can remember (see spool_rec.skip). */
#define SPOOL_SKIP_MAX 16

/* One journal record. */
struct spool_rec {
    uint64_t jid;                  /* journal id (names the files); set by spool_commit */
    int kind;                      /* the caller's kind (0..255) */
    int state;                     /* the caller's state (0..255) */
    char *folder;                  /* the folder (recipient) it was written in: malloc'd */
    char *name;                    /* the file name the user gave: malloc'd, no NUL inside */
    uint64_t size;                 /* bytes of data; set by spool_commit */
    uint8_t hash[16];              /* xxh3-128 (canonical) of the data; set by spool_commit */
    int64_t created_ms;            /* wall clock of the commit */
    int64_t attempt_ms;            /* wall clock when the last attempt began, 0 none */
    uint32_t attempts;             /* attempts begun */
    uint64_t msg_id;               /* the server's message id once known, 0 none */
    int cover;                     /* fax cover page index (0..1000000) */
    char *error;                   /* the last error, for the user: malloc'd or NULL */
    uint32_t n_skip;               /* entries in skip */
    uint64_t skip[SPOOL_SKIP_MAX]; /* message ids that existed when the attempt began */
};

/*
 * Open (creating as needed, 0700) the spool folder dir: remove every draft,
 * temporary and unfinished commit; move records that fail their check (and
 * records without data) to damaged/ with one log line each.  Returns 0 and
 * *out, or -errno (nothing created beyond the folders).
 */
int spool_open(const char *dir, struct spool **out);

/* Free s (files stay).  NULL-safe. */
void spool_close(struct spool *s);

/* Whether the spool folder dir holds a committed send (a queue/<jid>.rec;
 * temporaries do not count), without opening it or changing anything.
 * False when there is no such folder. */
bool spool_has_sends(const char *dir);

/* A new empty draft file (mode 0600), open read-write.  Returns 0 with
 * its id in *draft and the descriptor in *fd (the caller closes it), or
 * -errno. */
int spool_draft_new(struct spool *s, uint64_t *draft, int *fd);

/* Remove draft `draft` (absent is fine).  Returns 0 or -errno. */
int spool_draft_remove(struct spool *s, uint64_t draft);

/*
 * Commit draft `draft` (fd: its open descriptor, left open) as a pending
 * send described by r: fsync the data, fill r->size and r->hash from it,
 * give it a new r->jid, rename it into queue/ and write its record
 * durably.  Returns 0 (the draft file is gone: it is queue/<jid>.data), or
 * -errno with the draft still in place and nothing committed.
 */
int spool_commit(struct spool *s, uint64_t draft, int fd, struct spool_rec *r);

/* Replace the record of r->jid durably (temporary, fsync, rename, fsync of
 * the folder).  Returns 0 or -errno (the previous record stays). */
int spool_save(struct spool *s, const struct spool_rec *r);

/* Forget a send: its record first (durably), then its data.  Absent files
 * are fine.  Returns 0 or -errno. */
int spool_remove(struct spool *s, uint64_t jid);

/*
 * Turn committed send jid back into a draft (a failed send written again):
 * its record is removed durably, then its data becomes a new draft.
 * Returns 0 with the draft id in *draft and an open read-write descriptor
 * in *fd, or -errno (the send is unchanged when the record could not be
 * removed).
 */
int spool_reopen(struct spool *s, uint64_t jid, uint64_t *draft, int *fd);

/* Open the data of send jid for reading.  Returns the descriptor or -errno. */
int spool_data_open(struct spool *s, uint64_t jid);

/* Every record in queue/, in jid order.  Returns 0 with a malloc'd array
 * in *out (free each with spool_rec_free, then the array) and *n, or
 * -errno. */
int spool_load(struct spool *s, struct spool_rec **out, size_t *n);

/* Replace the caller's meta file durably.  Returns 0 or -errno. */
int spool_meta_put(struct spool *s, const char *text, size_t len);

/* The caller's meta file: 0 with *text (malloc'd, NUL-terminated) and
 * *len, -ENOENT when there is none, or -errno. */
int spool_meta_get(struct spool *s, char **text, size_t *len);

/* ---- the record format (pure) ------------------------------------------ */

/* The text of r (malloc'd, NUL-terminated), its length in *len. */
char *spool_rec_encode(const struct spool_rec *r, size_t *len);

/*
 * Parse len bytes of record text into *out (zeroed first).  Returns 0, or
 * -EINVAL for anything but a complete record of this format whose check
 * matches (then *out holds nothing to free).
 */
int spool_rec_decode(const char *text, size_t len, struct spool_rec *out);

/* Free the strings of r and zero it.  NULL-safe. */
void spool_rec_free(struct spool_rec *r);

/* A deep copy of src into dst. */
void spool_rec_copy(struct spool_rec *dst, const struct spool_rec *src);

#endif

/*
 * mb_outbox — the Outbox: faxes, SMS and pager messages sent by writing
 * files (the filesystem's side of it; included by mb.h).
 *
 * Only the credentials' own extension has an Outbox (the server sends only
 * as that extension).  Its tree:
 *   Outbox/                    MB_OBX_ROOT
 *     Fax/ SMS/ Pager/         MB_OBX_TYPE (id = enum rec_type)
 *       cover-pages.txt        MB_OBX_COVERS (in Fax/ only)
 *       <number>/              MB_OBX_RCPT, a recipient folder made by mkdir
 *         <file>               MB_OBX_ITEM, a file written there
 * Numbers of recipient folders and files are never reused for the life of
 * the mailbox, and their names stay valid until mb_free (a rename retires
 * the old string), like message names.
 *
 * A file's life: written (a draft, bytes kept in a file of the cache folder,
 * never in memory) -> closed after a complete write under a name that is
 * not a temporary one (mb_outbox_flush, or a rename of a closed temporary
 * into place): then its bytes are checked and committed to the journal
 * (durable before the close returns) -> the Outbox's thread sends it once,
 * in the background -> the server accepts it (the message appears in its
 * type folder) -> when the server reports it Sent the file leaves the
 * Outbox; SendingFailed (or a refusal) keeps it with an error until it is
 * removed or written again.  Exactly once: see mailbox/mb_obx_track.c and
 * docs/design-notes.md "Outbox".
 *
 * Errors are -errno: -ENOENT, -EEXIST, -ENOTEMPTY, -EINVAL (a bad number
 * at mkdir, a document or text that cannot be sent at close), -EFBIG (text
 * over the API's limit at write), -EBUSY (a file being sent cannot change),
 * -EACCES (not something the Outbox allows), -EIO / -ENOSPC (the disk).
 */
#ifndef RCFS_MAILBOX_MB_OUTBOX_H
#define RCFS_MAILBOX_MB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mb;
struct mb_call;

/* What an Outbox node is. */
enum mb_obx_kind {
    MB_OBX_ROOT = 0, /* Outbox/ (id 0) */
    MB_OBX_TYPE,     /* Fax/, SMS/, Pager/ (id = REC_FAX, REC_SMS, REC_PAGER) */
    MB_OBX_COVERS,   /* Fax/cover-pages.txt (id 0) */
    MB_OBX_RCPT,     /* a recipient folder (id = its number) */
    MB_OBX_ITEM,     /* a file in a recipient folder (id = its number) */
};

#define MB_OBX_NAME        "Outbox"
#define MB_OBX_COVERS_NAME "cover-pages.txt"

/* The extension that shows Outbox/: true and *ext when there is one. */
bool mb_outbox_ext(struct mb *m, uint32_t *ext);

/* One entry of an Outbox folder. */
struct mb_obx_entry {
    const char *name; /* valid for the mailbox's life */
    int kind;         /* enum mb_obx_kind */
    uint32_t id;      /* its number */
};

struct mb_obx_listing {
    uint32_t n;
    struct mb_obx_entry *e; /* sorted by name */
};

/* The entries of folder (kind, id), or -ENOTDIR / -ENOENT.  Free with
 * mb_outbox_listing_free. */
int mb_outbox_list(struct mb *m, int kind, uint32_t id, struct mb_obx_listing *out);
void mb_outbox_listing_free(struct mb_obx_listing *l);

/* Find name in folder (kind, id): 0 and the child's *ckind, *cid, or
 * -ENOENT / -ENOTDIR. */
int mb_outbox_lookup(struct mb *m, int kind, uint32_t id, const char *name, int *ckind,
                     uint32_t *cid);

/* What the filesystem shows of a node. */
struct mb_obx_info {
    bool is_dir;      /* a folder */
    int64_t size;     /* a file's bytes; -1 when not known yet (cover-pages.txt
                         before its first fetch: mb_outbox_covers learns it) */
    int64_t mtime_ms; /* last write or commit; 0 for folders (the mailbox's time) */
};

/* Fill *out for node (kind, id): 0, or -ENOENT for one that is gone. */
int mb_outbox_info(struct mb *m, int kind, uint32_t id, struct mb_obx_info *out);

/* mkdir in a type folder: a recipient folder.  name: for Fax/ and SMS/ a
 * phone number in E.164 ("+16505551234") or digits only; for Pager/ an
 * extension number (digits).  Returns 0 and *id, -EINVAL for a bad
 * number, -EEXIST, or -EIO when it could not be saved. */
int mb_outbox_mkdir(struct mb *m, uint32_t type, const char *name, uint32_t *id);

/* rmdir of recipient folder `name` of a type folder: 0, -ENOTEMPTY while
 * it holds files, -ENOENT. */
int mb_outbox_rmdir(struct mb *m, uint32_t type, const char *name);

/*
 * Create file `name` in recipient folder rcpt (a new draft, empty).  An
 * existing draft or failed file of that name is replaced (the kernel asks
 * only when O_EXCL was not given); one being sent is -EBUSY.
 * Returns 0 and *id, or -errno.
 */
int mb_outbox_create(struct mb *m, uint32_t rcpt, const char *name, uint32_t *id);

/* May file id be opened (for writing when write)?  0, -EBUSY (writing a
 * file that is queued, being sent or accepted), -ENOENT. */
int mb_outbox_open(struct mb *m, uint32_t id, bool write);

/*
 * Write n bytes at off into file id, for process `writer` (its pid, the
 * thread group's: only a writer's close sends the file).  A failed file
 * becomes a draft again (a new send); one being sent is -EBUSY.  SMS and
 * pager text longer than the API allows is -EFBIG (nothing written).
 * Returns n or -errno.
 */
ssize_t mb_outbox_write(struct mb *m, uint32_t id, const void *buf, size_t n, off_t off,
                        pid_t writer);

/* Truncate (or extend) file id to size, as a write by `writer` does.
 * 0 or -errno. */
int mb_outbox_truncate(struct mb *m, uint32_t id, uint64_t size, pid_t writer);

/* Read up to n bytes at off of file id: the bytes written.  Returns the
 * count or -errno. */
ssize_t mb_outbox_read(struct mb *m, uint32_t id, void *buf, size_t n, off_t off);

/*
 * A close of file id (FUSE flush) by process `closer` (its pid, the thread
 * group's).  Only the close of a process that wrote the file since its
 * last close counts: another's (a thumbnailer that read it meanwhile) is
 * nothing.  exiting: the closing process is dying (killed, or it exited
 * without closing): nothing is sent.  Otherwise, when its name is not a
 * temporary one, the file is checked and committed: 0 when it is queued
 * (the journal is durable), -EINVAL or -EFBIG when it cannot be sent (why
 * is in user.rc.error; nothing is sent), -EIO / -ENOSPC when it could not
 * be saved.  Nothing to do is 0.
 */
int mb_outbox_flush(struct mb *m, uint32_t id, pid_t closer, bool exiting);

/* unlink of file `name` in rcpt: a draft or failed file goes; a queued
 * file not yet attempted is cancelled; one accepted by the server stops
 * being watched; one being sent is -EBUSY. */
int mb_outbox_unlink(struct mb *m, uint32_t rcpt, const char *name);

/*
 * rename within recipient folder rcpt (the only rename the Outbox takes;
 * another folder is -EXDEV).  Only a draft moves; an existing target that
 * is a draft or failed file is replaced unless noreplace (-EEXIST), one
 * being sent is -EBUSY.  A closed draft renamed from a temporary name to a
 * sendable one is committed now (-EINVAL / -EFBIG as at close, the rename
 * then not done); one still being written is committed at its close.
 */
int mb_outbox_rename(struct mb *m, uint32_t rcpt, const char *name, uint32_t newrcpt,
                     const char *newname, bool noreplace);

/* The text of cover-pages.txt ("<index> <name>" lines), fetched once per
 * mount (one request).  0 with *text (malloc'd) and *len, or -errno. */
int mb_outbox_covers(struct mb *m, const struct mb_call *c, char **text, size_t *len);

/*
 * Extended attributes of Outbox nodes.  Files: user.rc.status (Draft,
 * Queued, Sending, the server's status once it accepted the message,
 * SendingFailed), user.rc.error (when there is one), user.rc.id (the
 * message id once accepted); fax recipient folders: user.rc.coverIndex
 * (writable).  get: 0 and *val (malloc'd), -ENODATA.  list: the names,
 * NUL-separated, into buf (at most cap bytes); returns the length.
 * set: -EINVAL for a bad value, -EPERM for a read-only name, -ENOTSUP for
 * another; remove: user.rc.coverIndex goes back to the mount's default.
 */
int mb_outbox_getxattr(struct mb *m, int kind, uint32_t id, const char *name, char **val);
size_t mb_outbox_listxattr(struct mb *m, int kind, uint32_t id, char *buf, size_t cap);
int mb_outbox_setxattr(struct mb *m, const struct mb_call *c, int kind, uint32_t id,
                       const char *name, const char *value, size_t size);
int mb_outbox_removexattr(struct mb *m, int kind, uint32_t id, const char *name);

#endif

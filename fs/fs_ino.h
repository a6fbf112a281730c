/*
 * fs_ino — what an inode number names.
 *
 * rcfs computes inode numbers instead of allocating them, so a number is
 * meaningful without a table and stays the same for the life of the mount:
 *   bits 60..63  kind
 *   EXT          extension index
 *   FOLDER       extension << 4 | folder (type folders, Deleted, conversations)
 *   CONV         conversation number
 *   MSG          slot << 10 | view << 8 | sub  (view: enum mb_view; sub 0: the
 *                folder, 1: meta.json, 2 + k: attachment k,
 *                255: fax.txt)
 *   LINK         slot (the symlink in a conversation folder)
 *   ULINK        slot (the symlink in Unread/)
 *   TRASH        id << 4 | part (enum fs_trash_part: the desktop Trash's
 *                folders, a generated .trashinfo (id: slot), a scratch file)
 *   OUTBOX       number << 4 | Outbox node kind (enum mb_obx_kind; the number
 *                is a type, a recipient folder's or a file's: mb_outbox.h)
 * The root is FUSE_ROOT_ID (1).  A message seen from its type folder and from
 * Deleted/ has two different numbers (view), so an `rm -r` that removes it
 * from one place never leaves a dead directory inode behind in the other.
 * Attachment content never changes for a given number (attachments are
 * immutable on the server; a record whose attachments change bumps the
 * generation), so the kernel may keep it in its page cache.
 */
#ifndef RCFS_FS_INO_H
#define RCFS_FS_INO_H

#include <stdbool.h>
#include <stdint.h>

enum fs_kind {
    FS_BAD = 0,
    FS_ROOT,
    FS_EXT,
    FS_FOLDER,
    FS_CONV,
    FS_MSG,
    FS_LINK,
    FS_ULINK,       /* a link in Unread/ (slot) */
    FS_TRASH,       /* MOUNT/.Trash-UID and what is in it, but its message folders (fs_trash.c) */
    FS_OUTBOX = 15, /* the Outbox's nodes (fs/fs_outbox.c) */
};

/* The parts of the desktop Trash (FS_TRASH). */
enum fs_trash_part {
    FS_TRASH_TOP,      /* .Trash-UID/ */
    FS_TRASH_FILES,    /* files/: its entries are FS_MSG nodes with view MB_VIEW_TRASH */
    FS_TRASH_INFO,     /* info/ */
    FS_TRASH_EXPUNGED, /* expunged/ (always empty) */
    FS_TRASH_INFOFILE, /* info/NAME.trashinfo of message `id` (a slot) */
    FS_TRASH_SCRATCH,  /* a file the desktop wrote in info/ (id: fs_scratch) */
};

/* The largest view (enum mb_view) a message node can have: two bits. */
#define FS_VIEW_MAX 2

/* Message sub-nodes. */
#define FS_SUB_DIR  0
#define FS_SUB_META 1
#define FS_SUB_ATT0 2   /* attachment k is FS_SUB_ATT0 + k */
#define FS_SUB_TEXT 255 /* fax.txt, the text of a fax (above every attachment) */

struct fs_node {
    enum fs_kind kind;
    uint32_t ext;  /* FS_EXT, FS_FOLDER */
    int folder;    /* FS_FOLDER: enum rec_type or MB_FOLDER_* */
    uint32_t conv; /* FS_CONV */
    uint32_t slot; /* FS_MSG, FS_LINK, FS_ULINK */
    int view;      /* FS_MSG: enum mb_view */
    int sub;       /* FS_MSG: FS_SUB_* */
    int part;      /* FS_TRASH: enum fs_trash_part */
    uint32_t id;   /* FS_TRASH: slot (INFOFILE) or scratch id (SCRATCH) */

    int obx;         /* FS_OUTBOX: enum mb_obx_kind */
    uint32_t obx_id; /* FS_OUTBOX: its number */
};

/* The inode number of a node.  Fields not used by its kind are ignored. */
uint64_t fs_ino_make(const struct fs_node *n);

/* Decode an inode number.  Returns false (and kind FS_BAD) for a number
 * rcfs never hands out. */
bool fs_ino_parse(uint64_t ino, struct fs_node *n);

#endif

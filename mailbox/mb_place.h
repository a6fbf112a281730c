/*
 * mb_place — the rules that put a message in a folder.
 *
 * Alive: its type folder and, when it has one, its conversation; Unread/ too
 * while it is Unread.  Deleted: Deleted/.  Purged: nowhere.  An entry that
 * appears in a folder listed before is reported as news (CHG_ENTRY_NEW,
 * CHG_MEMBER_NEW), so the filesystem can make the kernel raise the inotify
 * events a local disk would.  Every move bumps the message's
 * generation (the kernel's view of its inodes starts over) and is reported.
 * Every function needs the index write lock.
 */
#ifndef RCFS_MAILBOX_MB_PLACE_H
#define RCFS_MAILBOX_MB_PLACE_H

#include "mailbox/mb_chg.h"
#include "mailbox/mb_internal.h"

/* The folder availability a puts msg in (its type, MB_FOLDER_DELETED), or
 * -1 for Purged. */
int place_folder_for(const struct mb_msg *msg, enum rec_avail a);

/* Put a new entry into the folders its availability says. */
void place_new(struct mb *m, struct mb_msg *msg, struct chg_batch *chg);

/* Set msg's read status (Unread/ follows). */
void place_set_read(struct mb *m, struct mb_msg *msg, enum rec_read rs, struct chg_batch *chg);

/* Move msg to availability a (no-op when it already has it). */
void place_set_avail(struct mb *m, struct mb_msg *msg, enum rec_avail a, struct chg_batch *chg);

#endif

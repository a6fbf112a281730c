/*
 * fs_trash_int — what the two halves of the desktop Trash share: the view
 * (fs_trash.c: lookups, attributes, listings, the desktop's info files) and
 * the changes (fs_trash_move.c: moves in and out, purges, mailbox events).
 */
#ifndef RCFS_FS_TRASH_INT_H
#define RCFS_FS_TRASH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fs_internal.h"

struct fs_trash {
    char top[32];               /* ".Trash-UID" */
    struct fs_scratch *scratch; /* files the desktop wrote in info/ */
    _Atomic bool seen;          /* looked up once: watchers of files/ may exist */
};

/* The request being served does a Trash operation itself (its system call
 * raises the events of files/, so the live thread must not). */
extern _Thread_local bool trash_own_op;

/* The inode number of a Trash part (id: a slot or scratch id, else 0). */
uint64_t trash_part_ino(int part, uint32_t id);

/* The node of message slot seen from files/. */
struct fs_node trash_msg_node(uint32_t slot);

/* The Deleted message called `name`, in any shown extension: 0 and *slot,
 * -ENOENT, or -EIO. */
int trash_find_deleted(struct fs *fs, fuse_req_t req, const char *name, uint32_t *slot);

/* Resolve info/NAME: a scratch file first, else the generated file of a
 * Deleted message.  0 and *c, -ENOENT, or -EIO. */
int trash_resolve_info(struct fs *fs, fuse_req_t req, const char *name, struct fs_node *c);

#endif

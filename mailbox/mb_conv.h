/*
 * mb_conv — the conversation registry: conversation folders and their
 * Alive members.
 *
 * A conversation is created by the first message that names it, and its
 * folder is named after that message's peer (names never change after).
 * It is listed in conversations/ while it has an Alive member.  Every
 * function needs ix.lock (written for changes).
 */
#ifndef RCFS_MAILBOX_MB_CONV_H
#define RCFS_MAILBOX_MB_CONV_H

#include <stdbool.h>

#include "mailbox/mb_chg.h"
#include "mailbox/mb_internal.h"

/* Prepare the registry (no threads yet). */
void conv_init(struct mb *m);

/* Conversation `id` (decimal) of ext, or NULL. */
struct mb_conv *conv_find(struct mb *m, uint32_t ext, const char *id);

/* Put msg in conversation `id` (created when new, named after msg's peer).
 * Sets msg->conv.  Write lock; msg must not be in a conversation yet. */
void conv_attach(struct mb *m, struct mb_msg *msg, const char *id);

/* msg is Alive (alive = true) or not any more: add it to or remove it from
 * its conversation's members, listing or unlisting the conversation.
 * No-op for a message without a conversation.  Write lock. */
void conv_update(struct mb *m, struct mb_msg *msg, bool alive, struct chg_batch *chg);

#endif

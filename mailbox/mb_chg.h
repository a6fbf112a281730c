/*
 * mb_chg — change reports: what the index changed, delivered later.
 *
 * Code that changes the index under its lock collects reports here and
 * delivers them (through the mount's mb_events) after every mailbox lock
 * is released, so the filesystem may call back into the mailbox.
 * Duplicate reports in one batch are collapsed.  A batch belongs to one
 * thread.
 */
#ifndef RCFS_MAILBOX_MB_CHG_H
#define RCFS_MAILBOX_MB_CHG_H

#include <stdint.h>

struct mb;

enum chg_kind {
    CHG_FOLDER,     /* a = ext, b = folder: the listing changed */
    CHG_ENTRY_GONE, /* a = ext, b = folder, c = slot, name: an entry left it */
    CHG_MESSAGE,    /* a = slot: the message's state or record changed */
    CHG_CONV,       /* a = conversation, name = entry gone (c its slot) or NULL */
    CHG_CONV_GONE,  /* a = ext, c = conversation, name: it left conversations/ */
    CHG_EXT_GONE,   /* a = ext, name: an extension folder left the root */
    CHG_ENTRY_NEW,  /* a = ext, b = folder, c = slot or conversation, name: a new entry */
    CHG_MEMBER_NEW, /* a = conversation, c = slot, name: a new entry in its folder */
    CHG_ARRIVED,    /* a = slot: a new inbound message came from the server */
};

struct chg {
    uint8_t kind;     /* enum chg_kind */
    uint32_t a, b, c; /* see enum chg_kind */
    const char *name; /* entry name (an immutable string) or NULL */
};

/* A batch of reports (zero-initialised = empty). */
struct chg_batch {
    struct chg *v;
    uint32_t n, cap;
};

/* Add a report unless the same one is already in the batch.  b may be NULL
 * (then nothing is recorded: callers that need no reports pass NULL). */
void chg_add(struct chg_batch *b, enum chg_kind kind, uint32_t x, uint32_t y, const char *name);

/* The same with the third number (CHG_ENTRY_NEW, CHG_MEMBER_NEW). */
void chg_add3(struct chg_batch *b, enum chg_kind kind, uint32_t x, uint32_t y, uint32_t z,
              const char *name);

/* Deliver every report to m's event hooks, then empty the batch.  Call with
 * no mailbox lock held. */
void chg_deliver(struct mb *m, struct chg_batch *b);

#endif

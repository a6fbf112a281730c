/*
 * fs_desknote — desktop notifications of new messages (-o notify).
 *
 * A new inbound fax, voicemail or SMS that a sync or push brings raises a
 * freedesktop notification (org.freedesktop.Notifications on the session
 * bus, through libnotify): its type and sender as the title, the first
 * words of its text (an SMS's text, a fax's page count, a voicemail's
 * length) as the body.  A thread of its own sends them (the bus may be
 * slow; nothing waits for it), at most DESKNOTE_BURST in a burst, then one
 * line "and N more".  Without a session bus it logs once and stays quiet.
 */
#ifndef RCFS_FS_DESKNOTE_H
#define RCFS_FS_DESKNOTE_H

#include <stdint.h>

struct mb;
struct fs_desknote;

/* Notifications one burst may raise before they are summed up. */
#define DESKNOTE_BURST 5

/* A notifier (no thread, no bus yet).  Never fails. */
struct fs_desknote *desknote_new(void);

/* Connect (libnotify) and start the thread; mb: whose messages.  Returns 0
 * or -errno (then notifications are off; the mount goes on). */
int desknote_start(struct fs_desknote *d, struct mb *mb);

/* Queue message slot (any thread; never blocks on the bus). */
void desknote_add(struct fs_desknote *d, uint32_t slot);

/* Stop the thread and disconnect; free.  NULL-safe. */
void desknote_free(struct fs_desknote *d);

#endif

/*
 * mb_obx_rules — the Outbox's pure rules: which names are temporary (never
 * sent), which folder names are recipients, what text may be sent, and the
 * status a user sees.  No I/O, no locks: thread-safe, and unit-tested
 * (tests/unit/test_mb_obx_rules.c).
 */
#ifndef RCFS_MAILBOX_MB_OBX_RULES_H
#define RCFS_MAILBOX_MB_OBX_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api_record.h"

/*
 * True for the names editors, file managers and copy tools write to before
 * renaming into place, which are never sent: dotfiles (".goutputstream-*",
 * rsync's ".name.XXXXXX", ".~lock.*#"), "*~" backups, "*.part" and
 * "*.crdownload" partial downloads, "*.swp" and "#*#" editor files, "*.tmp"
 * (office suites' saves, "lu123.tmp") and "~$*" (their lock files).
 */
bool obxr_temp_name(const char *name);

/*
 * Is name a recipient folder of type t?  Fax and SMS: a phone number in
 * E.164 ("+" and 7 to 15 digits) or digits only (7 to 15; ten digits mean
 * +1); Pager: an extension number (1 to 16 digits).  Returns 0 and the
 * number the API is given in `to` (at least 24 bytes), or -EINVAL.
 */
int obxr_recipient(enum rec_type t, const char *name, char *to, size_t tolen);

/* The API's text limit of type t in UTF-16 units (SMS 1000, pager 1024;
 * 0 for a fax). */
size_t obxr_text_limit(enum rec_type t);

/* The most bytes a text of type t can have (the limit in 3-byte
 * characters, plus a final CR LF). */
size_t obxr_text_max_bytes(enum rec_type t);

/*
 * While text of type t is being written: the first len bytes written so
 * far.  -EFBIG when they can only end over the limit (counting the valid
 * UTF-8 they begin with, a final newline not counted), else 0.
 */
int obxr_text_growing(enum rec_type t, const char *data, size_t len);

/*
 * At close: the text to send is data without one final "\n" or "\r\n"
 * (text files end with one).  Returns 0 and its length in *text_len;
 * -EINVAL when it is empty or not valid UTF-8 (or holds a NUL), -EFBIG when
 * over the limit; why gets one line for user.rc.error.
 */
int obxr_text_final(enum rec_type t, const char *data, size_t len, size_t *text_len, char *why,
                    size_t whylen);

/* Final messageStatus values: 1 delivered (the file leaves the Outbox),
 * -1 failed, 0 not final yet (Queued, Sending, unknown). */
int obxr_status_final(const char *message_status);

#endif

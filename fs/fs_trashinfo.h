/*
 * fs_trashinfo — the text of a `.trashinfo` file (freedesktop Trash
 * specification 1.0) for a message in the desktop Trash of a mount.
 */
#ifndef RCFS_FS_TRASHINFO_H
#define RCFS_FS_TRASHINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The suffix of an info file's name: info/NAME.trashinfo describes files/NAME. */
#define FS_TRASHINFO_SUFFIX ".trashinfo"

/*
 * Write into buf (cap bytes, NUL-terminated when cap > 0) the info file of
 * message folder `name` of type folder `type` of extension folder `ext`:
 *   [Trash Info]
 *   Path=<ext>/<type>/<name>          relative to the mount, URI-escaped
 *   DeletionDate=YYYY-MM-DDThh:mm:ss  deleted_ms in local time
 * Returns the length of the whole text (as snprintf: a result >= cap means
 * it was cut).
 */
size_t fs_trashinfo_format(char *buf, size_t cap, const char *ext, const char *type,
                           const char *name, int64_t deleted_ms);

/* When name is "<base>.trashinfo" with a non-empty base that fits in cap
 * bytes with its NUL, copy base into buf and return true. */
bool fs_trashinfo_base(const char *name, char *buf, size_t cap);

#endif

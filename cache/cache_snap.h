/*
 * cache_snap — a small atomic, checksummed snapshot file of byte sections.
 *
 * The mailbox persists its index (message entries, sync tokens, learned
 * sizes) as a few sections of bytes whose meaning only it knows.  This module
 * writes them to "<path>.tmp.<pid>", fsyncs, renames over <path> and fsyncs
 * the folder, so a reader sees the old file or the new one, never a mix.
 * File (little-endian): header { magic "RCFSSNAP", format version u32,
 * caller's schema u32, section count u32, zero u32 } then per section
 * { tag u32, zero u32, length u64, xxh3-64 of the bytes seeded with the tag }
 * and the section bytes, zero-padded to a multiple of 8 (so on load every
 * section's data is 8-byte aligned).  A file with a wrong magic, version,
 * schema, length, padding or checksum, a duplicate tag, or bytes after the
 * last section is rejected as a whole.  Saves within one process are
 * serialised by one process-wide lock (the temporary name has only the pid
 * in it), held only during a save: do not fork while another thread saves.
 * Starts no thread.
 */
#ifndef RCFS_CACHE_SNAP_H
#define RCFS_CACHE_SNAP_H

#include <stddef.h>
#include <stdint.h>

struct snap_section {
    uint32_t tag;     /* caller-defined section id */
    const void *data; /* section bytes (on load: points into the loaded file image) */
    uint64_t len;     /* byte count */
};

/* Write a snapshot atomically.  Returns 0 or -errno (-EINVAL for two
 * sections with one tag, -ENOSPC for a full disk or quota); on error the
 * previous file (if any) is untouched and no temporary is left behind --
 * except that an error syncing the folder after the rename is reported
 * when the new file is already in place. */
int snap_save(const char *path, uint32_t schema, const struct snap_section *sec, size_t n);

/* A loaded snapshot: the sections point into image, freed by snap_free. */
struct snap {
    void *image;              /* whole file contents */
    size_t image_len;         /* its length */
    size_t n;                 /* number of sections */
    struct snap_section *sec; /* n sections */
};

/*
 * Load and verify.  Returns 0 and fills *out; -ENOENT when there is no file;
 * -EINVAL when it is damaged, of another format version or another schema
 * (the caller then discards it and rebuilds); other -errno on I/O errors.
 */
int snap_load(const char *path, uint32_t schema, struct snap *out);

/* Find a section by tag; NULL when absent. */
const struct snap_section *snap_find(const struct snap *s, uint32_t tag);

/* Free a loaded snapshot; NULL-safe. */
void snap_free(struct snap *s);

#endif

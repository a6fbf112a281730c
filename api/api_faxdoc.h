/*
 * api_faxdoc — the documents a fax may carry, and the type of a given one.
 *
 * Owns rcfs's list of fax document types: PDF, TIFF, plain text, RTF, Word,
 * Excel and PowerPoint (binary and OOXML), OpenDocument text and spreadsheet,
 * JPEG, PNG and GIF.  The API accepts "common office formats" beyond these
 * (its own list is longer); this is the subset rcfs sends and the emulator
 * accepts, and anything else is refused before a byte leaves.  A type is
 * decided from the document's first bytes (the signature every one of these
 * formats starts with), with the file name telling the office containers
 * apart (a .docx and an .xlsx are both ZIP files); a name never overrides
 * what the bytes say.  Pure functions, no I/O: thread-safe.
 */
#ifndef RCFS_API_FAXDOC_H
#define RCFS_API_FAXDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The API's limit on one fax document and on all of them together: 50 MB. */
#define FAXDOC_MAX_BYTES (50ull * 1024 * 1024)

/* How many leading bytes faxdoc_type wants to see (fewer is fine for a
 * shorter document). */
#define FAXDOC_HEAD 4096

/*
 * The content type of a document.
 * head: its first n bytes (n = min(size, FAXDOC_HEAD)); file_name: its name
 * (only the extension after the last '.' is used; may be NULL); size: its
 * whole length in bytes.
 * Returns 0 and sets *type to a static string ("application/pdf", ...), or
 * -EINVAL when it is empty or not a type a fax may carry, and -EFBIG when it
 * is over FAXDOC_MAX_BYTES; why (if whylen > 0) then gets one line saying
 * why, for the user.  *type is untouched on failure.
 */
int faxdoc_type(const unsigned char *head, size_t n, const char *file_name, uint64_t size,
                const char **type, char *why, size_t whylen);

/* True when content_type (a media type, parameters ignored, any case) is one
 * of the accepted types. */
bool faxdoc_accepted(const char *content_type);

/* The usual file name extension of an accepted type ("pdf"), else "bin". */
const char *faxdoc_extension(const char *content_type);

#endif

/*
 * api_send — sending faxes, SMS and pager messages, and what a sender looks
 * up first: the extension's phone numbers and the fax cover pages.
 *
 * Owns the send endpoints of the REST client (the Outbox's interface to the
 * server): their request bodies (a fax is multipart/form-data streamed from
 * the documents' files; SMS and pager are JSON), their rate groups (fax
 * Heavy; SMS and pager Medium; phone numbers and cover pages Light, as the
 * spec's x-throttling-group says), the limits the spec states, checked
 * before anything is sent, and the rule for a send whose outcome is unknown.
 *
 * Sends are not idempotent, so no send is ever repeated blindly:
 *  - it goes out on a new connection (libcurl never replays it by itself);
 *  - it is sent again only when the server surely did not act: a refused
 *    connection, a 401 answered before anything happened (after a token
 *    refresh), or a 429 (the pacer waits out Retry-After, if the deadline
 *    allows, then sends once more);
 *  - when it may have reached the server and no answer says what happened
 *    (connection reset or timeout after sending, a 5xx, a 2xx whose body is
 *    not a valid record), the call returns -EINPROGRESS and sends nothing
 *    more.  The caller then looks for the message in the store (message
 *    sync: an Outbound message to that recipient created since the send
 *    began) before it decides to send again.
 * Every other failure means nothing was sent, or the server refused it.
 *
 * Results: 0 and *out, the server's record of the new message (Queued; the
 * caller rec_free()s it).  Failures: -EINVAL bad input (or a 400 refusal),
 * -EMSGSIZE text over the limit, -EFBIG documents over 50 MB, -EACCES
 * refused (401/403, or no number of the extension may send SMS), -EIO
 * anything else that surely did not send (no rate-limit slot, or still 429,
 * before the deadline; a document that could not be read; 415, 5xx before
 * sending...), -EINPROGRESS as above.  On failure *out is zeroed and why (if
 * whylen > 0) gets one line for the user: the client's reason, or the
 * server's status, error code and message (escaped to printable ASCII).
 * Thread-safe like the rest of api.h.
 */
#ifndef RCFS_API_SEND_H
#define RCFS_API_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_faxdoc.h"

/* Limits the spec states, in UTF-16 code units (a character outside the
 * Basic Multilingual Plane, e.g. most emoji, counts 2). */
#define API_SEND_SMS_TEXT_MAX   1000 /* CreateSMSMessage.text */
#define API_SEND_PAGER_TEXT_MAX 1024 /* CreateInternalTextMessageRequest.text */
#define API_SEND_COVER_TEXT_MAX 1024 /* createFaxMessage coverPageText */
/* One fax document, and all of them together, at most this many bytes. */
#define API_SEND_FAX_BYTES_MAX FAXDOC_MAX_BYTES
/* rcfs's own sanity caps on one fax (the spec states none). */
#define API_SEND_FAX_TO_MAX   50
#define API_SEND_FAX_DOCS_MAX 50

enum api_fax_resolution { API_FAX_HIGH, API_FAX_LOW };

struct api_fax_doc {
    int fd;                   /* a regular file open for reading: its whole content (fstat
                                 size at the start of the call) is sent with pread; it is
                                 not closed, and must not change until the call returns */
    const char *content_type; /* NULL: decided by faxdoc_type from the content and
                                 file_name; else one faxdoc_accepted() takes */
    const char *file_name;    /* the name the server is told (NULL: "document-N.<ext>") */
};

struct api_fax {
    const char *const *to;              /* recipients' phone numbers (n_to of them) */
    size_t n_to;                        /* 1..API_SEND_FAX_TO_MAX */
    const struct api_fax_doc *docs;     /* the documents, in the order they are faxed */
    size_t n_docs;                      /* 1..API_SEND_FAX_DOCS_MAX */
    enum api_fax_resolution resolution; /* rcfs's default is API_FAX_HIGH */
    int cover_index;                    /* 0: no cover page; else an index from
                                           api_send_cover_pages (always sent: leaving it
                                           out would attach the account's default) */
    const char *cover_text;             /* NULL or the cover page's text (UTF-8, at most
                                           API_SEND_COVER_TEXT_MAX units) */
};

/*
 * Send a fax: POST .../extension/~/fax, multipart/form-data with the fields
 * to (one per recipient), faxResolution, coverIndex, coverPageText (when
 * given) and one attachment part per document, streamed from its file (a
 * 50 MB document is never held in memory).  Phone numbers are written as
 * people do ("+1 (650) 555-1234", "6505551234"): separators are dropped, 10
 * digits get +1, and 7 to 15 digits remain (-EINVAL otherwise).  Documents
 * are checked first: each non-empty, of an accepted type (-EINVAL, why
 * names the type problem), at most 50 MB alone and together (-EFBIG).
 * Contract and errors: see the top of this file.
 */
int api_send_fax(struct api *a, const struct api_call *c, const struct api_fax *f, struct rec *out,
                 char *why, size_t whylen);

/*
 * Send an SMS: POST .../extension/~/sms {from: {phoneNumber}, to:
 * [{phoneNumber}], text}.  from: one of the extension's numbers with the
 * SmsSender feature, or NULL to use the first such number (one more Light
 * request, api_send_sms_sender; -EACCES when there is none).  to: a phone
 * number as api_send_fax takes them.  text: valid UTF-8, not empty (-EINVAL),
 * at most API_SEND_SMS_TEXT_MAX units (-EMSGSIZE, nothing sent).
 */
int api_send_sms(struct api *a, const struct api_call *c, const char *from, const char *to,
                 const char *text, struct rec *out, char *why, size_t whylen);

/*
 * Send a pager (company internal) message: POST .../extension/~/company-pager
 * {to: [{extensionNumber}], text}; the sender is the credentials' own
 * extension.  to_ext: the recipient's extension number (1 to 16 digits,
 * -EINVAL otherwise).  text as for SMS, at most API_SEND_PAGER_TEXT_MAX
 * units.
 */
int api_send_pager(struct api *a, const struct api_call *c, const char *to_ext, const char *text,
                   struct rec *out, char *why, size_t whylen);

/* A phone number as api_send_fax takes them, written as the API does
 * ("+16505551234") into out.  Returns 0, or -EINVAL when it is not one (or
 * out is too small: 17 bytes always suffice). */
int api_send_number(const char *in, char *out, size_t outlen);

/*
 * Why an Outbound message the server reports SendingFailed (or
 * DeliveryFailed) failed, from its record r (r->json): one line for the
 * user naming the status and the codes the record carries (each
 * recipient's faxErrorCode, or the deliveryErrorCode of a text), e.g.
 * "the server reports SendingFailed: +15550001234 NoFaxMachine".  Never
 * fails: a record without codes gives the status alone.  Server text is
 * escaped to printable ASCII.
 */
void api_send_failure(const struct rec *r, char *why, size_t whylen);

/*
 * The messages of type `type` the credentials' own extension sent from
 * since_ms on: GET .../extension/~/message-store?messageType=T
 * &direction=Outbound&availability=Alive&availability=Deleted
 * &dateFrom=<since_ms>&perPage=1000, every page (Light).  What a sender
 * looks at before it sends again a message whose first attempt's outcome
 * is unknown.  Records come through cb in the server's order (an invalid
 * one is logged and skipped).  Returns 0 when every page was read, the
 * callback's -errno, or the request's -errno.
 */
int api_send_list_sent(struct api *a, const struct api_call *c, enum rec_type type,
                       int64_t since_ms, api_rec_cb cb, void *ctx);

/* The UTF-16 length of len bytes of UTF-8 text as the API counts it, or
 * SIZE_MAX when they are not valid UTF-8. */
size_t api_send_text_units(const char *text, size_t len);

struct api_cover_page {
    int index;     /* the coverIndex value (0 = none) */
    char name[64]; /* its name ("Confidential"), truncated */
};

/*
 * The fax cover pages: GET /restapi/v1.0/dictionary/fax-cover-page, all
 * pages.  Returns 0 with a malloc'd array in *out (caller frees) and *n, or
 * -errno (entries without a numeric id are skipped).
 */
int api_send_cover_pages(struct api *a, const struct api_call *c, struct api_cover_page **out,
                         size_t *n);

/* Features of a phone number (UserPhoneNumberInfo.features). */
#define API_PHONE_CALLER_ID 0x01u
#define API_PHONE_SMS       0x02u /* SmsSender */
#define API_PHONE_A2P_SMS   0x04u /* A2PSmsSender */
#define API_PHONE_MMS       0x08u /* MmsSender */
#define API_PHONE_INTL_SMS  0x10u /* InternationalSmsSender */
#define API_PHONE_DELEGATED 0x20u /* Delegated */

struct api_phone_number {
    uint64_t id;         /* the number's id (0 when the server gave none) */
    char number[32];     /* phoneNumber as sent ("+16505550101") */
    char type[16];       /* VoiceFax, VoiceOnly, FaxOnly, or "" */
    char usage_type[40]; /* DirectNumber, MainCompanyNumber, ..., or "" */
    unsigned features;   /* API_PHONE_* bits */
};

/*
 * The extension's phone numbers: GET .../extension/~/phone-number, all
 * pages, in the server's order.  Returns 0 with a malloc'd array in *out
 * (caller frees) and *n, or -errno (entries without a phoneNumber are
 * skipped).
 */
int api_send_numbers(struct api *a, const struct api_call *c, struct api_phone_number **out,
                     size_t *n);

/*
 * The number an SMS goes from by default: the first of api_send_numbers
 * with the SmsSender feature, copied into out.  Returns 0, -EACCES when no
 * number has it, -ENAMETOOLONG when outlen is too small, or the lookup's
 * -errno.  (For a caller that sends many: ask once, pass it as from.)
 */
int api_send_sms_sender(struct api *a, const struct api_call *c, char *out, size_t outlen);

#endif

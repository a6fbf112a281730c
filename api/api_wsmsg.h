/*
 * api_wsmsg — the messages of RingCentral's WebSocket gateway, as JSON text.
 *
 * Owns the wire format of docs/api-notes.md "Push notifications over
 * WebSocket": every message is a JSON array [meta] or [meta, body].  This
 * module parses what the server sends (ConnectionDetails, ClientRequest
 * answers, ServerNotification, Heartbeat, Error) into plain structs, and
 * builds what the client sends (the subscription ClientRequest, Heartbeat).
 * No I/O, no threads, no secrets logged (the wsc token is only copied out).
 * Pure functions, thread-safe.
 */
#ifndef RCFS_API_WSMSG_H
#define RCFS_API_WSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cap of one message the client accepts (an instant SMS record is a few KB). */
#define WSMSG_MAX (1024 * 1024)
/* Cap of the new message ids kept from one notification (the rest are counted). */
#define WSMSG_MAX_IDS 1000

enum wsmsg_type {
    WSMSG_OTHER,              /* unknown type: ignored */
    WSMSG_CONNECTION_DETAILS, /* first message of every connection */
    WSMSG_CLIENT_REQUEST,     /* the answer to one of our ClientRequests */
    WSMSG_NOTIFICATION,       /* ServerNotification */
    WSMSG_HEARTBEAT,          /* the answer to our Heartbeat */
    WSMSG_ERROR,              /* Error (e.g. WSG-902 before an idle close) */
};

enum wsmsg_recovery {
    WSMSG_RECOVERY_NONE,   /* no recoveryState: a connect without wsc */
    WSMSG_RECOVERY_OK,     /* "Successful" */
    WSMSG_RECOVERY_FAILED, /* "Failed" (or any other value) */
};

struct wsmsg {
    enum wsmsg_type type; /* meta.type */
    char message_id[64];  /* meta.messageId ("" when absent or too long) */
    int status;           /* meta.status, 0 when absent */
    char *wsc_token;      /* meta.wsc.token (malloc'd secret, wipe with wsmsg_free), or NULL */
    int64_t wsc_sequence; /* meta.wsc.sequence, -1 when no wsc */
    /* ConnectionDetails */
    enum wsmsg_recovery recovery;
    char recovery_error[32]; /* recoveryErrorCode, "" when none */
    int idle_timeout_s;      /* idleTimeout, 0 when absent */
    int recovery_timeout_s;  /* recoveryTimeout, 0 when absent */
    /* ClientRequest answer (subscription) and Error */
    char subscription_id[64]; /* body.id of a 2xx subscription answer */
    char error_code[32];      /* body.errorCode of an error answer or Error message */
    /* ServerNotification */
    char note_subscription[64]; /* body.subscriptionId */
    uint64_t ext_id;            /* the extension the event is about (0 when unknown) */
    bool instant;               /* an instant SMS event: ids[0] is the new message */
    uint64_t *ids;              /* new message ids (malloc'd), n_ids of them */
    size_t n_ids;
    size_t n_updated; /* sum of updatedCount */
};

/*
 * Parse one text message.  Returns 0 and fills *m (release with wsmsg_free),
 * or -EINVAL when it is not a JSON array whose first element is an object
 * (m is then empty and needs no free, though wsmsg_free is harmless).
 * A notification whose ids do not parse is still returned (ext_id 0 or no
 * ids): the caller treats it as "something changed".
 */
int wsmsg_parse(const char *text, size_t len, struct wsmsg *m);

/* Wipe the wsc token and free what m holds; m is empty again. */
void wsmsg_free(struct wsmsg *m);

/*
 * The subscription request: ClientRequest POST /restapi/v1.0/subscription/
 * with, per extension id, the message-store filter and (instant_sms) the
 * instant SMS filter, deliveryMode WebSocket.  message_id is copied in.
 * Returns the malloc'd JSON text.
 */
char *wsmsg_subscribe(const char *message_id, const uint64_t *ext_ids, size_t n, bool instant_sms);

/* [{"type":"Heartbeat","messageId":message_id}], malloc'd. */
char *wsmsg_heartbeat(const char *message_id);

#endif

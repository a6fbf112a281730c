/*
 * api_cred — where the credentials come from.
 *
 * Environment (the official SDK samples' names, then the docs' names):
 *   RINGCENTRAL_SERVER_URL | RC_SERVER_URL       (default https://platform.ringcentral.com)
 *   RINGCENTRAL_CLIENT_ID  | RC_APP_CLIENT_ID
 *   RINGCENTRAL_CLIENT_SECRET | RC_APP_CLIENT_SECRET
 *   RINGCENTRAL_JWT_TOKEN  | RC_USER_JWT
 * or a KEY=VALUE file with those keys (-o credentials=FILE), which must be a
 * regular file owned by the user with mode 0600 or stricter.  Values in the
 * file win over the environment.  Lines: blank, "# comment", KEY=VALUE
 * (optional surrounding quotes, no escapes).  Secrets are never logged or
 * echoed in an error message.
 */
#ifndef RCFS_API_CRED_H
#define RCFS_API_CRED_H

#include <stddef.h>

struct cred {
    char *server_url;    /* platform base URL, no trailing slash */
    char *client_id;     /* app client id */
    char *client_secret; /* app client secret (secret) */
    char *jwt;           /* user JWT credential (secret) */
};

/*
 * Fill *c from the environment and, when file is not NULL, from that file.
 * Returns 0, or -errno with one line in err naming the problem (e.g.
 * "credentials file /x is readable by others (mode 0644); chmod 600 it",
 * "RINGCENTRAL_JWT_TOKEN is not set"); *c is then empty.
 */
int cred_load(struct cred *c, const char *file, char *err, size_t errlen);

/* Wipe (overwrite secrets with zeros) and free.  NULL-safe. */
void cred_free(struct cred *c);

#endif

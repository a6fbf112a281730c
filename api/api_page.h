/*
 * api_page — walking a paged listing to its end.
 *
 * Owns the paging rules: each page is a JSON object with records, paging
 * and navigation; the next page is navigation.nextPage.uri when that is on
 * the server's own origin (a link elsewhere would carry the bearer token to
 * another host), else the first URL with page=N+1; the walk ends when
 * nextPage is absent or paging.totalPages pages were read, and fails (-EIO)
 * on a link loop or past PAGE_MAX pages.
 */
#ifndef RCFS_API_PAGE_H
#define RCFS_API_PAGE_H

#include <stdint.h>

#include "api/api_req.h"

#define PAGE_MAX 10000

struct json_object;

/* Called with each element of each page's records array, in order; 0 to go
 * on, or -errno to stop.  (A page without a records array fails the walk.) */
typedef int (*page_fn)(void *ctx, struct json_object *record);

/*
 * GET first_url (which has no page parameter) and every following page.
 * Returns 0 when the last page was read, the callback's -errno, or the
 * request's -errno.
 */
int page_walk(struct api *a, int64_t deadline, enum api_prio prio, const char *first_url,
              enum pace_group group, page_fn fn, void *ctx);

#endif

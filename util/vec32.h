/*
 * vec32 — a growable array of uint32 (slot or conversation numbers).
 *
 * Order is the caller's business: vec32_remove moves the last element into
 * the hole.  Not thread-safe: the caller's lock covers it.
 */
#ifndef RCFS_UTIL_VEC32_H
#define RCFS_UTIL_VEC32_H

#include <stdbool.h>
#include <stdint.h>

struct vec32 {
    uint32_t *v;     /* elements */
    uint32_t n, cap; /* used, allocated */
};

/* Append x (aborts on OOM). */
void vec32_push(struct vec32 *v, uint32_t x);

/* Remove one occurrence of x (order not kept).  Returns true if it was there. */
bool vec32_remove(struct vec32 *v, uint32_t x);

/* True when x is an element. */
bool vec32_has(const struct vec32 *v, uint32_t x);

/* Free the array; v is empty (and reusable) after. */
void vec32_free(struct vec32 *v);

#endif

/* lockrank — debug-build lock-order checks (see lockrank.h). */
#include "util/lockrank.h"

#ifndef NDEBUG
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static __thread uint32_t held;

void lockrank_acquire(int rank, const char *name)
{
    if (rank < 0 || rank > LOCKRANK_MAX || (held >> rank) != 0) {
        fprintf(stderr, "rcfs: lock order violated: taking %s (rank %d) while holding ranks 0x%x\n",
                name, rank, (unsigned)held);
        abort();
    }
    held |= 1u << rank;
}

void lockrank_release(int rank)
{
    held &= ~(1u << rank);
}

int lockrank_held(int rank)
{
    return (held >> rank) & 1u;
}
#else
/* An empty translation unit is not ISO C. */
typedef int lockrank_unused;
#endif

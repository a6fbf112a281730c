/*
 * lockrank — the lock order, checked in debug builds.
 *
 * Every lock that takes part in an ordering gets a rank (a small integer).
 * A thread may take a lock only while every lock it already holds has a
 * lower rank, so no two threads can ever wait for each other in a circle.
 * lockrank_acquire/lockrank_release keep the ranks the calling thread holds
 * in a thread-local bit set and assert() the rule; with NDEBUG they compile
 * to nothing.  Recursion (taking a rank already held, e.g. a read lock
 * twice) is refused too: with a waiting writer it deadlocks.
 */
#ifndef RCFS_UTIL_LOCKRANK_H
#define RCFS_UTIL_LOCKRANK_H

/* Ranks are 0..31. */
#define LOCKRANK_MAX 31

#ifdef NDEBUG
#define lockrank_acquire(rank, name) ((void)0)
#define lockrank_release(rank)       ((void)0)
#define lockrank_held(rank)          (1)
#else
/* Record that the calling thread takes lock `name` of rank `rank`; abort
 * with a message naming it when a lock of equal or higher rank is held. */
void lockrank_acquire(int rank, const char *name);

/* Record that the calling thread released its lock of rank `rank`. */
void lockrank_release(int rank);

/* True when the calling thread holds a lock of rank `rank` (for asserts). */
int lockrank_held(int rank);
#endif

#endif

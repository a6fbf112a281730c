/*
 * cond — condition variables that time out on the monotonic clock.
 *
 * Every deadline in rcfs is an isotime_mono_ms() value, immune to changes
 * of the wall clock; these helpers create condition variables on that
 * clock and wait on them for a relative time or until a deadline.
 */
#ifndef RCFS_UTIL_COND_H
#define RCFS_UTIL_COND_H

#include <pthread.h>
#include <stdint.h>

/* pthread_cond_init on CLOCK_MONOTONIC. */
void cond_init_mono(pthread_cond_t *c);

/* Wait on c (made by cond_init_mono; mu held) for at most ms milliseconds.
 * Returns 0 when woken (possibly spuriously), ETIMEDOUT when the time passed
 * (at once when ms <= 0). */
int cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *mu, int64_t ms);

/* The same until deadline_ms, an isotime_mono_ms() value. */
int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t deadline_ms);

#endif

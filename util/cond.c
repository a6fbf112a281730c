/* cond — monotonic-clock condition variables (see cond.h). */
#include "util/cond.h"

#include <errno.h>
#include <time.h>

#include "util/isotime.h"

void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

int cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;
    if (ms <= 0)
        return ETIMEDOUT;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(c, mu, &ts);
}

int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t deadline_ms)
{
    return cond_wait_ms(c, mu, deadline_ms - isotime_mono_ms());
}

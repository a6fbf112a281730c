/* log — stderr or syslog sink (see log.h). */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool log_to_syslog;
static bool log_debug_on;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(bool use_syslog, bool debug)
{
    log_to_syslog = use_syslog;
    log_debug_on = debug;
    if (use_syslog)
        openlog("rcfs", LOG_PID, LOG_DAEMON);
}

bool log_debug_enabled(void)
{
    return log_debug_on;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    static const char *const tag[] = {"error", "warning", "info", "debug"};
    va_list ap;

    if (lvl == LOG_LVL_DEBUG && !log_debug_on)
        return;
    va_start(ap, fmt);
    if (log_to_syslog) {
        vsyslog(prio[lvl], fmt, ap);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        pthread_mutex_lock(&log_lock);
        fprintf(stderr, "rcfs %02d:%02d:%02d.%03ld %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, tag[lvl]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
    }
    va_end(ap);
}

/* log — a log file, syslog or stderr (see log.h). */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/mem.h"

/* log_open_file runs before any thread starts; log_init also runs once
 * more when a background rcfs detaches (threads are running by then), so
 * the two switches are atomic.  log_fd's number never changes (log_reopen
 * dup3s the new file onto it), so log_msg reads it without the lock.
 * log_path and log_stderr_follows are used under log_lock. */
static atomic_bool log_to_syslog;
static atomic_bool log_debug_on;
static int log_fd = -1;         /* the log file, or -1 */
static char *log_path;          /* its path, for log_reopen */
static bool log_stderr_follows; /* fd 2 is a copy of log_fd (log_redirect_stderr) */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_tag[] = {"error", "warning", "info", "debug"};

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

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    return fd < 0 ? -errno : fd;
}

int log_open_file(const char *path, char *err, size_t errlen)
{
    int fd = open_log(path);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the log file %s: %s", path, strerror(-fd));
        return fd;
    }
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0)
        close(log_fd);
    log_fd = fd;
    free(log_path);
    log_path = mem_strdup(path);
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void log_redirect_stderr(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0 && dup2(log_fd, STDERR_FILENO) == STDERR_FILENO)
        log_stderr_follows = true;
    pthread_mutex_unlock(&log_lock);
}

int log_reopen(void)
{
    int rc = -EBADF;
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0) {
        int fd = open_log(log_path);
        rc = fd < 0 ? fd : 0;
        if (fd >= 0) {
            /* Same numbers: nothing else holds on to the old file. */
            if (dup3(fd, log_fd, O_CLOEXEC) < 0)
                rc = -errno;
            if (rc == 0 && log_stderr_follows)
                dup2(fd, STDERR_FILENO);
            close(fd);
        }
    }
    pthread_mutex_unlock(&log_lock);
    if (rc == 0)
        log_info("log file reopened");
    else
        log_err("cannot reopen the log file: %s", strerror(-rc));
    return rc;
}

/* One line to the log file with one write(2): O_APPEND puts it at the end
 * whole, whoever else appends. */
static void file_line(enum log_level lvl, const char *fmt, va_list ap)
{
    struct timespec ts;
    struct tm tm;
    char head[80], small[512];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int h = snprintf(head, sizeof head,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ rcfs[%d] %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, (int)getpid(), log_tag[lvl]);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0 || h < 0)
        return;
    size_t len = (size_t)h + (size_t)n + 1; /* the NUL's place takes the newline */
    char *buf = mem_alloc(len);
    memcpy(buf, head, (size_t)h);
    if ((size_t)n < sizeof small)
        memcpy(buf + h, small, (size_t)n);
    else
        vsnprintf(buf + h, (size_t)n + 1, fmt, ap);
    buf[len - 1] = '\n';
    pthread_mutex_lock(&log_lock);
    ssize_t w = write(log_fd, buf, len);
    (void)w; /* nowhere left to report a failed log write */
    pthread_mutex_unlock(&log_lock);
    free(buf);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    va_list ap;

    if (lvl == LOG_LVL_DEBUG && !log_debug_on)
        return;
    va_start(ap, fmt);
    if (log_fd >= 0) {
        file_line(lvl, fmt, ap);
    } else if (log_to_syslog) {
        vsyslog(prio[lvl], fmt, ap);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        pthread_mutex_lock(&log_lock);
        fprintf(stderr, "rcfs %02d:%02d:%02d.%03ld %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, log_tag[lvl]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
    }
    va_end(ap);
}

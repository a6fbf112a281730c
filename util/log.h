/*
 * log — where rcfs says what it is doing.
 *
 * One sink at a time, chosen in this order:
 *   1. a log file (-o log=FILE, log_open_file): lines are appended with the
 *      date, the time in UTC and the process id, each with one write(2), so
 *      lines of several threads (or of a rotated-away file) never interleave;
 *   2. syslog (facility LOG_DAEMON, ident "rcfs"), once daemonised;
 *   3. stderr (the foreground, and everything before daemonising).
 * Debug messages appear only with -d.  All functions are thread-safe.
 *
 * Secrets policy: no caller ever passes a token, a JWT, a client secret or
 * an Authorization header to these functions.  URLs logged by the API layer
 * carry no credentials (rcfs never puts one in a URL).  Tests grep debug
 * logs for every secret the emulator issued.
 */
#ifndef RCFS_UTIL_LOG_H
#define RCFS_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Configure the sink.  use_syslog: send to syslog instead of stderr (a log
 * file, when one is open, still wins).  debug: let LOG_LVL_DEBUG through.
 * Safe to call again (e.g. after fork). */
void log_init(bool use_syslog, bool debug);

/*
 * From now on append every message to the file at path (an absolute path,
 * since daemonising changes the working folder), opened with
 * O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, mode 0600 when created.  Returns 0,
 * or -errno with one sentence naming the file in err; then the sink is
 * unchanged.  Open it before daemonising, so a failure is still seen.
 */
int log_open_file(const char *path, char *err, size_t errlen);

/*
 * Open the log file's path again (after logrotate moved it away) and write
 * one line saying so to the new file.  The file descriptor numbers do not
 * change, so fd 2 follows too after log_redirect_stderr.  Returns 0, or
 * -errno when no file is open or the path cannot be opened; then messages
 * keep going to the old file.  Not async-signal-safe: call it from the
 * thread that waits for SIGHUP, not from a signal handler.
 */
int log_reopen(void);

/* Make stderr (fd 2) the log file as well, so what libfuse and the
 * sanitizers print lands there once daemonising has pointed stderr at
 * /dev/null.  No effect when no log file is open. */
void log_redirect_stderr(void);

/* True when debug messages are enabled (to skip building expensive ones). */
bool log_debug_enabled(void);

/* Print one line (a newline is added).  Thread-safe. */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)  log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_debug_enabled())                                                                   \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                                   \
    } while (0)

#endif

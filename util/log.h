/*
 * log — where rcfs says what it is doing.
 *
 * In the foreground (-f) messages go to stderr; once daemonised, to syslog
 * (facility LOG_DAEMON, ident "rcfs").  Debug messages appear only with -d.
 *
 * Secrets policy: no caller ever passes a token, a JWT, a client secret or
 * an Authorization header to these functions.  URLs logged by the API layer
 * carry no credentials (rcfs never puts one in a URL).  Tests grep debug
 * logs for every secret the emulator issued.
 */
#ifndef RCFS_UTIL_LOG_H
#define RCFS_UTIL_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Configure the sink.  use_syslog: send to syslog instead of stderr.
 * debug: let LOG_LVL_DEBUG through.  Safe to call again (e.g. after fork). */
void log_init(bool use_syslog, bool debug);

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

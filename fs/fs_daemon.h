/*
 * fs_daemon — going to the background without losing the exit status.
 *
 * rcfs forks before it does anything else (no thread may exist at a fork:
 * their locks would be copied held), then sets up the mount in the child
 * with stderr still the terminal's, so every failure prints its one line
 * there.  The parent waits until the child says the mount is ready (the
 * kernel's INIT handshake completed) or failed, and exits 0 or 1
 * accordingly: a mount that never became usable is never reported as
 * mounted.
 */
#ifndef RCFS_FS_DAEMON_H
#define RCFS_FS_DAEMON_H

#include <stdbool.h>

/*
 * Fork.  In the parent: wait for the child's verdict (at most timeout_s),
 * print "rcfs: mounted on <where>" on success, and _exit with 0 or 1: this
 * call does not return there.  In the child: start a new session and
 * return 0 (the caller then calls daemon_done exactly once).  Returns
 * -errno when the fork itself failed (still in the only process).
 */
int daemon_begin(const char *where, int timeout_s, bool debug);

/* The child's verdict: ok or not.  On ok, the log goes to syslog (debug
 * lines too when debug was given), stdin, stdout and stderr are redirected
 * to /dev/null, and the working folder becomes /, all before the parent is
 * told: the parent's "mounted" line is the last the terminal sees.  Until
 * then the child logs to the terminal's stderr.  Idempotent; a no-op in
 * the foreground. */
void daemon_done(bool ok);

#endif

/* fs_daemon — background start with an honest exit status (see fs_daemon.h). */
#include "fs/fs_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"

static int verdict_fd = -1;
static bool log_debug_lines;

/* The parent: wait for one byte (0 = ready) or the pipe's end. */
static void parent_wait(pid_t child, int fd, const char *where, int timeout_s)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    unsigned char v = 1;
    int n = poll(&p, 1, timeout_s * 1000);
    if (n == 1 && read(fd, &v, 1) != 1)
        v = 1; /* the child died before saying anything */
    if (n == 0) {
        fprintf(stderr, "rcfs: the mount did not become ready within %d s\n", timeout_s);
        kill(child, SIGTERM);
    }
    if (v == 0)
        fprintf(stderr, "rcfs: mounted on %s\n", where);
    _exit(v == 0 ? 0 : 1);
}

int daemon_begin(const char *where, int timeout_s, bool debug)
{
    log_debug_lines = debug;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(p[0]);
        close(p[1]);
        return rc;
    }
    if (pid > 0) {
        close(p[1]);
        parent_wait(pid, p[0], where, timeout_s);
    }
    close(p[0]);
    verdict_fd = p[1];
    setsid();
    return 0;
}

/* Detach from the terminal: the log to syslog (or the log file), stdio to /dev/null, / as
 * the working folder. */
static void detach(void)
{
    log_init(true, log_debug_lines);
    if (chdir("/") != 0) {
        /* Stay where we are; nothing depends on it. */
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    log_redirect_stderr(); /* with -o log=, what libfuse and sanitizers print lands there */
}

void daemon_done(bool ok)
{
    if (verdict_fd < 0)
        return;
    if (ok)
        detach();
    unsigned char v = ok ? 0 : 1;
    if (write(verdict_fd, &v, 1) != 1) {
        /* The parent is gone: nobody to tell. */
    }
    close(verdict_fd);
    verdict_fd = -1;
}

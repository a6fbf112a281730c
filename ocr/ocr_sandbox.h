/*
 * ocr_sandbox — how rcfs-ocr fences itself in before it parses anything.
 *
 * The helper reads hostile documents (any PDF or TIFF a fax sender likes)
 * with large C/C++ libraries, so it assumes it may be subverted and enters
 * the sandbox first, in this order:
 *   1. resource limits: address space, CPU seconds (SIGXCPU, then SIGKILL a
 *      second later), size of files written, open files, no core dumps;
 *   2. a lower CPU priority (nice);
 *   3. no network: a fresh, empty network namespace when the kernel allows
 *      it (root, or CAP_SYS_ADMIN); without it the seccomp filter alone;
 *   4. when started as root: every group dropped and uid/gid 65534 (nobody);
 *   5. not dumpable, PR_SET_NO_NEW_PRIVS;
 *   6. a seccomp filter that refuses (with EACCES/EPERM, so libraries see an
 *      error rather than die) socket creation of every family, io_uring (it
 *      could open sockets behind the filter's back), execve, fork and
 *      non-thread clone, ptrace and other processes' memory, bpf,
 *      perf_event_open, keyrings, mount and namespace changes.
 * AF_UNIX is refused too: a local socket reaches the user's session bus,
 * through which a subverted helper could start processes outside every
 * limit.  Nothing the helper needs opens a socket.
 */
#ifndef RCFS_OCR_SANDBOX_H
#define RCFS_OCR_SANDBOX_H

#include <stdint.h>

struct ocr_limits {
    uint64_t mem_bytes; /* RLIMIT_AS */
    uint64_t cpu_s;     /* RLIMIT_CPU soft limit (hard = soft + 1) */
    uint64_t fsize;     /* RLIMIT_FSIZE: the most bytes written to a file */
    unsigned nofile;    /* RLIMIT_NOFILE */
    int nice;           /* added to the niceness (0..19) */
};

/*
 * Enter the sandbox described above.  Returns 0, or -errno from the step
 * that failed (the process is then partly fenced in and must exit).  A
 * network namespace that cannot be created is not a failure.
 * *netns (may be NULL) is set to 1 when a new network namespace was entered.
 */
int ocr_sandbox_enter(const struct ocr_limits *lim, int *netns);

/*
 * Try what the sandbox must refuse (sockets of several families, execve,
 * fork) and print one line per attempt to stdout, "<what>: refused" or
 * "<what>: ALLOWED".  Returns the number of attempts that were allowed.
 * Used by tests through `rcfs-ocr --probe-sandbox`.
 */
int ocr_sandbox_probe(void);

#endif

/* ocr_sandbox — limits, no network, seccomp for rcfs-ocr (see ocr_sandbox.h). */
#include "ocr/ocr_sandbox.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

static int limit(int resource, uint64_t soft, uint64_t hard)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
    struct rlimit old;
    if (getrlimit(resource, &old) == 0 && old.rlim_max != RLIM_INFINITY) {
        /* Never ask for more than the hard limit we were given. */
        if (rl.rlim_max > old.rlim_max)
            rl.rlim_max = old.rlim_max;
        if (rl.rlim_cur > rl.rlim_max)
            rl.rlim_cur = rl.rlim_max;
    }
    return setrlimit(resource, &rl) ? -errno : 0;
}

/* AddressSanitizer reserves terabytes of address space before main: an
 * address-space limit would make its every allocation fail.  The sanitizer
 * build of the helper runs without one (tests use the normal helper). */
#if defined(__SANITIZE_ADDRESS__)
#define AS_LIMITED 0
#else
#define AS_LIMITED 1
#endif

static int set_limits(const struct ocr_limits *lim)
{
    int rc;
    if ((AS_LIMITED && (rc = limit(RLIMIT_AS, lim->mem_bytes, lim->mem_bytes))) ||
        (rc = limit(RLIMIT_CPU, lim->cpu_s, lim->cpu_s + 1)) ||
        (rc = limit(RLIMIT_FSIZE, lim->fsize, lim->fsize)) ||
        (rc = limit(RLIMIT_NOFILE, lim->nofile, lim->nofile)) || (rc = limit(RLIMIT_CORE, 0, 0)))
        return rc;
    errno = 0;
    if (lim->nice > 0 && nice(lim->nice) == -1 && errno)
        return -errno;
    return 0;
}

/* When root: leave every group and become nobody (caps go with uid 0). */
static int drop_root(void)
{
    if (geteuid() != 0)
        return 0;
    if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
        setresuid(NOBODY, NOBODY, NOBODY))
        return -errno;
    return 0;
}

static int add(scmp_filter_ctx ctx, int err, int sys)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), sys, 0);
}

static int load_filter(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return -ENOMEM;
    static const int refused[] = {
        SCMP_SYS(socket),
        SCMP_SYS(execve),
        SCMP_SYS(execveat),
        SCMP_SYS(fork),
        SCMP_SYS(vfork),
        SCMP_SYS(ptrace),
        SCMP_SYS(process_vm_readv),
        SCMP_SYS(process_vm_writev),
        SCMP_SYS(bpf),
        SCMP_SYS(perf_event_open),
        SCMP_SYS(keyctl),
        SCMP_SYS(add_key),
        SCMP_SYS(request_key),
        SCMP_SYS(io_uring_setup),
        SCMP_SYS(io_uring_enter),
        SCMP_SYS(io_uring_register),
        SCMP_SYS(userfaultfd),
        SCMP_SYS(mount),
        SCMP_SYS(umount2),
        SCMP_SYS(unshare),
        SCMP_SYS(setns),
        SCMP_SYS(pivot_root),
    };
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof(refused) / sizeof(refused[0]); i++)
        rc = add(ctx, refused[i] == SCMP_SYS(socket) ? EACCES : EPERM, refused[i]);
    /* Threads (CLONE_THREAD) may be made; processes may not.  clone3 hides
     * its flags in memory the filter cannot read: ENOSYS makes glibc fall
     * back to clone. */
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    if (!rc)
        rc = add(ctx, ENOSYS, SCMP_SYS(clone3));
    if (!rc)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

int ocr_sandbox_enter(const struct ocr_limits *lim, int *netns)
{
    int rc;
    if ((rc = set_limits(lim)))
        return rc;
    int in_netns = unshare(CLONE_NEWNET) == 0;
    if (netns)
        *netns = in_netns;
    if ((rc = drop_root()))
        return rc;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        return -errno;
    return load_filter();
}

static int report(const char *what, int allowed)
{
    printf("%s: %s\n", what, allowed ? "ALLOWED" : "refused");
    return allowed;
}

static int try_socket(const char *what, int family, int type)
{
    int fd = socket(family, type, 0);
    if (fd >= 0)
        close(fd);
    return report(what, fd >= 0);
}

int ocr_sandbox_probe(void)
{
    int allowed = 0;
    allowed += try_socket("socket(AF_INET, SOCK_STREAM)", AF_INET, SOCK_STREAM);
    allowed += try_socket("socket(AF_INET, SOCK_DGRAM)", AF_INET, SOCK_DGRAM);
    allowed += try_socket("socket(AF_INET6, SOCK_STREAM)", AF_INET6, SOCK_STREAM);
    allowed += try_socket("socket(AF_UNIX, SOCK_STREAM)", AF_UNIX, SOCK_STREAM);
    allowed += try_socket("socket(AF_NETLINK, SOCK_RAW)", AF_NETLINK, SOCK_RAW);
    allowed += try_socket("socket(AF_PACKET, SOCK_RAW)", AF_PACKET, SOCK_RAW);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    allowed += report("fork", pid >= 0);
    char *argv[] = {"/bin/true", NULL};
    char *envp[] = {NULL};
    execve(argv[0], argv, envp);
    allowed += report("execve", 0); /* still here: refused */
    fflush(stdout);
    return allowed;
}

/* ocr_run — spawn rcfs-ocr, collect its text, enforce the deadline (see ocr_run.h). */
#include "ocr/ocr_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ocr/ocr_exit.h"
#include "util/buf.h"
#include "util/utf8.h"

#define ERR_KEEP 2048 /* bytes of the helper's messages kept (the end) */

/* One helper's run: what it wrote and how it ended. */
struct run {
    struct buf out;         /* stdout, capped */
    char err[ERR_KEEP + 1]; /* the last ERR_KEEP bytes of stderr */
    size_t err_len;
    int status;      /* waitpid status */
    int timed_out;   /* killed at the deadline */
    int overflowed;  /* killed for writing too much */
    int cancelled;   /* killed because the caller's cancel flag was set */
    unsigned waited; /* ms the helper ran */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || !why_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    for (char *p = why; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

static void keep_err(struct run *r, const char *p, size_t n)
{
    if (n >= ERR_KEEP) {
        p += n - ERR_KEEP;
        n = ERR_KEEP;
    }
    if (r->err_len + n > ERR_KEEP) {
        size_t drop = r->err_len + n - ERR_KEEP;
        memmove(r->err, r->err + drop, r->err_len - drop);
        r->err_len -= drop;
    }
    memcpy(r->err + r->err_len, p, n);
    r->err_len += n;
    r->err[r->err_len] = '\0';
}

/* True (and r->cancelled set) once the caller asked the run to stop. */
static bool stop_asked(const atomic_bool *cancel, struct run *r)
{
    if (cancel && atomic_load(cancel))
        r->cancelled = 1;
    return r->cancelled;
}

/* Read both pipes until both close, the deadline passes or the caller
 * cancels; then reap. */
static void collect(pid_t pid, int out_fd, int err_fd, uint64_t deadline, const atomic_bool *cancel,
                    struct run *r)
{
    struct pollfd pf[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    uint64_t start = now_ms();
    uint64_t tick = cancel ? OCR_CANCEL_MS : 1000;
    char chunk[65536];
    while ((pf[0].fd >= 0 || pf[1].fd >= 0) && !r->timed_out && !r->overflowed &&
           !stop_asked(cancel, r)) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            r->timed_out = 1;
            break;
        }
        int n = poll(pf, 2, (int)(deadline - now > tick ? tick : deadline - now));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; n > 0 && i < 2; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            ssize_t got = read(pf[i].fd, chunk, sizeof(chunk));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
            } else if (i == 1) {
                keep_err(r, chunk, (size_t)got);
            } else if (buf_append(&r->out, chunk, (size_t)got)) {
                r->overflowed = 1;
            }
        }
    }
    /* Both pipes are closed when the helper exits; give it until the
     * deadline to do so, then kill the whole group. */
    int reaped = 0;
    while (!r->timed_out && !r->overflowed && !stop_asked(cancel, r)) {
        pid_t w = waitpid(pid, &r->status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) {
            reaped = w == pid;
            break;
        }
        if (now_ms() >= deadline)
            r->timed_out = 1;
        else
            usleep(2000);
    }
    if (!reaped) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
            ;
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    r->waited = (unsigned)(now_ms() - start);
}

/* Spawn argv with the document on fd 0; collect into r.  Returns 0, or
 * -errno when the helper could not be started (r->err says why). */
static int spawn_collect(char *const argv[], const char *in_path, int in_fd, unsigned timeout_ms,
                         const atomic_bool *cancel, struct run *r)
{
    static char *const envp[] = {"OMP_THREAD_LIMIT=1", "PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
    int out[2] = {-1, -1}, err[2] = {-1, -1}, rc;
    uint64_t deadline = now_ms() + timeout_ms;
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
        rc = -errno;
        goto fail_pipes;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    if (in_path)
        posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
    else
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    pid_t pid;
    rc = -posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(out[1]);
    close(err[1]);
    if (rc) {
        close(out[0]);
        close(err[0]);
        return rc;
    }
    collect(pid, out[0], err[0], deadline, cancel, r);
    return 0;
fail_pipes:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    return rc;
}

/* strerror is not thread-safe for every value; this is. */
static const char *errname(int err)
{
    const char *d = strerrordesc_np(err);
    return d ? d : "unknown error";
}

/* The helper's own last "rcfs-ocr: " line, else its last line, or "". */
static const char *last_line(struct run *r)
{
    char *best = NULL;
    for (char *p = r->err; (p = strstr(p, "rcfs-ocr: ")); p++)
        if (p == r->err || p[-1] == '\n')
            best = p;
    if (!best) {
        while (r->err_len && (r->err[r->err_len - 1] == '\n' || r->err[r->err_len - 1] == ' '))
            r->err[--r->err_len] = '\0';
        char *nl = strrchr(r->err, '\n');
        best = nl ? nl + 1 : r->err;
    }
    char *nl = strchr(best, '\n');
    if (nl)
        *nl = '\0';
    return best;
}

static const char *exit_name(int code)
{
    switch (code) {
    case OCR_EXIT_USAGE:
        return "bad command line";
    case OCR_EXIT_BADINPUT:
        return "bad document";
    case OCR_EXIT_LIMIT:
        return "document over a limit";
    case OCR_EXIT_ENGINE:
        return "OCR engine cannot start";
    case OCR_EXIT_SANDBOX:
        return "sandbox failed";
    case OCR_EXIT_OUTPUT:
        return "output failed";
    case OCR_EXIT_INTERNAL:
        return "internal error";
    default:
        return "unknown status";
    }
}

/* 0 when the run produced text; else -EIO (-ECANCELED when the caller
 * stopped it) with why filled. */
static int verdict(struct run *r, unsigned timeout_ms, char *why, size_t why_len)
{
    int st = r->status;
    const char *line = last_line(r);
    if (r->cancelled) {
        say(why, why_len, "rcfs-ocr stopped: the run was cancelled");
        return -ECANCELED;
    }
    if (r->timed_out) {
        say(why, why_len, "rcfs-ocr killed at its deadline (%u ms)", timeout_ms);
    } else if (r->overflowed) {
        say(why, why_len, "rcfs-ocr killed: more than %zu bytes of text", r->out.max);
    } else if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        const char *abbr = sigabbrev_np(sig);
        say(why, why_len, "rcfs-ocr died of SIG%s%s after %u ms%s%s", abbr ? abbr : "?",
            sig == SIGXCPU   ? " (CPU limit)"
            : sig == SIGABRT ? " (out of memory or a failed check)"
                             : "",
            r->waited, *line ? ": " : "", line);
    } else if (!WIFEXITED(st)) {
        say(why, why_len, "rcfs-ocr ended in an unknown way");
    } else if (WEXITSTATUS(st) != OCR_EXIT_OK) {
        say(why, why_len, "rcfs-ocr exit %d (%s)%s%s", WEXITSTATUS(st), exit_name(WEXITSTATUS(st)),
            *line ? ": " : "", line);
    } else if (!utf8_valid(r->out.data ? r->out.data : "", r->out.len)) {
        say(why, why_len, "rcfs-ocr wrote text that is not UTF-8");
    } else {
        return 0;
    }
    return -EIO;
}

bool ocr_lang_ok(const char *lang)
{
    size_t n = strlen(lang);
    if (n == 0 || n > 64 || lang[0] == '+' || lang[n - 1] == '+' || strstr(lang, "++"))
        return false;
    return strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+") == n;
}

/* A job's command line, with room for one more argument. */
struct job_argv {
    char *argv[20];
    char mem[24], cpu[24], nice[16], size[24], maxt[24];
    int argc;
    unsigned timeout_ms; /* the job's, defaults applied */
    size_t max_text;     /* likewise */
};

/* Fill a from job; -EINVAL (why filled) for a job that cannot be run. */
static int job_argv(const struct ocr_job *job, struct job_argv *a, char *why, size_t why_len)
{
    const char *lang = job->lang ? job->lang : "eng";
    if (!job->helper || !ocr_lang_ok(lang) || (!job->input_path && job->input_fd < 0) ||
        (job->tessdata && job->tessdata[0] != '/') || (job->mem_mb && job->mem_mb < 64) ||
        job->nice < -1 || job->nice > 19) {
        say(why, why_len, "rcfs-ocr: bad job (helper, language, input or limits)");
        return -EINVAL;
    }
    a->timeout_ms = job->timeout_ms ? job->timeout_ms : OCR_DEFAULT_TIMEOUT_MS;
    a->max_text = job->max_text ? job->max_text : OCR_DEFAULT_MAX_TEXT;
    snprintf(a->mem, sizeof(a->mem), "%u", job->mem_mb ? job->mem_mb : OCR_DEFAULT_MEM_MB);
    snprintf(a->cpu, sizeof(a->cpu), "%u", job->cpu_s ? job->cpu_s : (a->timeout_ms + 999) / 1000);
    snprintf(a->nice, sizeof(a->nice), "%d",
             job->nice == 0  ? OCR_DEFAULT_NICE
             : job->nice < 0 ? 0
                             : job->nice);
    snprintf(a->size, sizeof(a->size), "%llu", (unsigned long long)job->input_size);
    snprintf(a->maxt, sizeof(a->maxt), "%zu", a->max_text);
    char *fixed[] = {(char *)job->helper,
                     "-l",
                     (char *)lang,
                     "-m",
                     a->mem,
                     "-c",
                     a->cpu,
                     "-n",
                     a->nice,
                     "-t",
                     a->maxt};
    a->argc = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        a->argv[a->argc++] = fixed[i];
    if (job->input_size) {
        a->argv[a->argc++] = "-s";
        a->argv[a->argc++] = a->size;
    }
    if (job->tessdata) {
        a->argv[a->argc++] = "-d";
        a->argv[a->argc++] = (char *)job->tessdata;
    }
    a->argv[a->argc] = NULL;
    return 0;
}

int ocr_run(const struct ocr_job *job, char **text, size_t *len, char *why, size_t why_len)
{
    *text = NULL;
    *len = 0;
    struct job_argv a;
    if (job_argv(job, &a, why, why_len))
        return -EINVAL;
    struct run r = {.err_len = 0};
    buf_init(&r.out, a.max_text);
    int rc = spawn_collect(a.argv, job->input_path, job->input_fd, a.timeout_ms, job->cancel, &r);
    if (rc)
        say(why, why_len, "rcfs-ocr cannot be started (helper %s, document %s): %s", job->helper,
            job->input_path ? job->input_path : "by descriptor", errname(-rc));
    else
        rc = verdict(&r, a.timeout_ms, why, why_len);
    if (rc) {
        buf_free(&r.out);
        return rc == -ECANCELED ? rc : -EIO;
    }
    *len = r.out.len;
    *text = buf_steal(&r.out);
    return 0;
}

int ocr_check_lang(const struct ocr_job *job, char *why, size_t why_len)
{
    struct ocr_job probe = *job;
    probe.input_path = "/dev/null";
    probe.input_size = 0;
    struct job_argv a;
    if (job_argv(&probe, &a, why, why_len))
        return -EINVAL;
    a.argv[a.argc++] = "--check-lang";
    a.argv[a.argc] = NULL;
    struct run r = {.err_len = 0};
    buf_init(&r.out, 4096);
    int rc = spawn_collect(a.argv, probe.input_path, -1, a.timeout_ms, job->cancel, &r);
    if (rc)
        say(why, why_len, "rcfs-ocr cannot be started (%s): %s", job->helper, errname(-rc));
    else
        rc = verdict(&r, a.timeout_ms, why, why_len);
    buf_free(&r.out);
    return rc == -ECANCELED ? rc : rc ? -EIO : 0;
}

int ocr_helper_version(const char *helper, char *out, size_t cap)
{
    if (!helper || cap < 2)
        return -EINVAL;
    char *argv[] = {(char *)helper, "-V", NULL};
    struct run r = {.err_len = 0};
    buf_init(&r.out, 4096);
    int rc = spawn_collect(argv, "/dev/null", -1, 10000, NULL, &r);
    if (rc)
        say(out, cap, "rcfs-ocr cannot be started (%s): %s", helper, errname(-rc));
    else if ((rc = verdict(&r, 10000, out, cap)) == 0) {
        size_t n = strcspn(r.out.data ? r.out.data : "", "\n");
        if (n == 0 || n >= cap) {
            say(out, cap, "rcfs-ocr -V gave no usable line");
            rc = -EIO;
        } else {
            memcpy(out, r.out.data, n);
            out[n] = '\0';
        }
    }
    buf_free(&r.out);
    return rc ? -EIO : 0;
}

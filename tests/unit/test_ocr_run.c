/*
 * Unit tests for ocr/ocr_run: spawning, the deadline, caps, reaping, the
 * clean environment.  Stand-in helpers are small shell scripts, so these
 * tests check the parent side alone (tests/ocr runs the real rcfs-ocr).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ocr/ocr_run.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

/* Write an executable /bin/sh script named name; returns its path. */
static const char *script(const char *name, const char *body)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "w");
    if (!f)
        return path;
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
    return path;
}

static const char *file(const char *name, const char *content)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    return path;
}

static char why[512];

static int run(const char *helper, const char *input, unsigned timeout_ms, char **text, size_t *len)
{
    struct ocr_job job = {.helper = helper, .input_path = input, .timeout_ms = timeout_ms};
    return ocr_run(&job, text, len, why, sizeof(why));
}

static void test_text_and_input(void)
{
    char *text;
    size_t len;
    const char *doc = file("doc", "page one\fpage two\n");
    CHECK_INT(run(script("cat.sh", "exec cat"), doc, 0, &text, &len), 0);
    CHECK_STR(text, "page one\fpage two\n");
    CHECK_INT(len, 18);
    free(text);
    /* by descriptor, only input_size bytes announced */
    struct ocr_job job = {.helper = tmp_path("cat.sh"), .input_fd = open(doc, O_RDONLY)};
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), 0);
    CHECK_STR(text, "page one\fpage two\n");
    free(text);
    close(job.input_fd);
    /* empty text is text */
    CHECK_INT(run(script("empty.sh", "exit 0"), doc, 0, &text, &len), 0);
    CHECK_STR(text, "");
    CHECK_INT(len, 0);
    free(text);
}

/* A caller started with stdin and stdout closed still gets its text (its
 * pipes land on fds 0 and 1, where the child's stdio goes). */
static void test_caller_without_stdio(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        close(0);
        close(1);
        char *text;
        size_t len;
        int rc = run(tmp_path("cat.sh"), tmp_path("doc"), 0, &text, &len);
        _exit(rc == 0 && strcmp(text, "page one\fpage two\n") == 0 ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_arguments(void)
{
    char *text;
    size_t len;
    struct ocr_job job = {.helper = script("args.sh", "echo \"$@\""),
                          .input_path = "/dev/null",
                          .lang = "eng+deu",
                          .mem_mb = 512,
                          .timeout_ms = 2500,
                          .input_size = 1234,
                          .tessdata = "/td"};
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), 0);
    CHECK_STR(text, "-l eng+deu -m 512 -c 3 -n 10 -t 16777216 -s 1234 -d /td\n");
    free(text);
    job.nice = -1;
    job.cpu_s = 7;
    job.lang = NULL;
    job.input_size = 0;
    job.tessdata = NULL;
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), 0);
    CHECK_STR(text, "-l eng -m 512 -c 7 -n 0 -t 16777216\n");
    free(text);
}

static void test_clean_environment_and_fds(void)
{
    char *text;
    size_t len;
    setenv("RCFS_TEST_SECRET", "hunter2", 1);
    int leak = open("/dev/null", O_RDONLY); /* not close-on-exec */
    char body[256];
    snprintf(body, sizeof(body),
             "env | grep -c . ; echo \"omp=$OMP_THREAD_LIMIT secret=$RCFS_TEST_SECRET\"\n"
             "[ -e /proc/$$/fd/%d ] && echo leaked; exit 0",
             leak);
    CHECK_INT(run(script("env.sh", body), "/dev/null", 0, &text, &len), 0);
    /* OMP_THREAD_LIMIT, PATH, LC_ALL, and what sh itself exports (PWD) */
    CHECK(text && atoi(text) <= 4);
    CHECK(text && strstr(text, "omp=1 secret=\n") != NULL);
    CHECK(text && !strstr(text, "leaked"));
    free(text);
    close(leak);
    unsetenv("RCFS_TEST_SECRET");
}

static void test_failures(void)
{
    char *text = (char *)"x";
    size_t len = 9;
    CHECK_INT(run(script("exit4.sh", "echo 'libfoo: noise' >&2; echo 'rcfs-ocr: page 2 of the "
                                     "TIFF is over the limit' >&2; echo 'more noise' >&2; exit 4"),
                  "/dev/null", 0, &text, &len),
              -EIO);
    CHECK(text == NULL && len == 0);
    CHECK_STR(why, "rcfs-ocr exit 4 (document over a limit): rcfs-ocr: page 2 of the TIFF is "
                   "over the limit");
    CHECK_INT(run(script("segv.sh", "echo partial; kill -SEGV $$"), "/dev/null", 0, &text, &len),
              -EIO);
    CHECK(text == NULL && strstr(why, "SIGSEGV"));
    CHECK_INT(run(script("xcpu.sh", "kill -XCPU $$"), "/dev/null", 0, &text, &len), -EIO);
    CHECK(strstr(why, "SIGXCPU (CPU limit)") != NULL);
    CHECK_INT(run(tmp_path("no-such-helper"), "/dev/null", 0, &text, &len), -EIO);
    CHECK(strstr(why, "cannot be started") != NULL);
    CHECK_INT(run(script("utf8.sh", "printf 'ok \\377'"), "/dev/null", 0, &text, &len), -EIO);
    CHECK(strstr(why, "not UTF-8") != NULL);
    /* the input cannot be opened: the spawn fails */
    CHECK_INT(run(tmp_path("cat.sh"), tmp_path("no-such-doc"), 0, &text, &len), -EIO);
    CHECK(strstr(why, "no-such-doc): No such file or directory") != NULL);
    struct ocr_job job = {
        .helper = tmp_path("yes.sh"), .input_path = "/dev/null", .max_text = 1000};
    script("yes.sh", "exec yes");
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -EIO);
    CHECK_STR(why, "rcfs-ocr killed: more than 1000 bytes of text");
}

static int gone(pid_t pid)
{
    for (int i = 0; i < 3000; i++) { /* a generous 30 s */
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_deadline_kills_the_group(void)
{
    char *text;
    size_t len;
    char body[512];
    snprintf(body, sizeof(body), "echo $$ > %s; sleep 60 & echo $! > %s; wait", tmp_path("pid.sh"),
             tmp_path("pid.sleep"));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(run(script("slow.sh", body), "/dev/null", 300, &text, &len), -EIO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_STR(why, "rcfs-ocr killed at its deadline (300 ms)");
    CHECK(t1.tv_sec - t0.tv_sec < 30); /* not the 60 s of the sleep */
    FILE *f = fopen(tmp_path("pid.sh"), "r");
    int sh = 0, sl = 0;
    if (f) {
        CHECK(fscanf(f, "%d", &sh) == 1);
        fclose(f);
    }
    f = fopen(tmp_path("pid.sleep"), "r");
    if (f) {
        CHECK(fscanf(f, "%d", &sl) == 1);
        fclose(f);
    }
    CHECK(sh > 0 && sl > 0);
    CHECK(kill(sh, 0) < 0 && errno == ESRCH); /* reaped by ocr_run */
    CHECK(sl > 0 && gone(sl));                /* its child died with the group */
    /* closing its output does not save a helper from the deadline */
    CHECK_INT(run(script("mute.sh", "exec >&- 2>&-; sleep 60"), "/dev/null", 300, &text, &len),
              -EIO);
    CHECK_STR(why, "rcfs-ocr killed at its deadline (300 ms)");
}

/* A thread that sets a cancel flag after a while. */
struct canceller {
    atomic_bool *flag;
    unsigned after_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    usleep(c->after_ms * 1000);
    atomic_store(c->flag, true);
    return NULL;
}

static void test_cancel(void)
{
    char *text;
    size_t len;
    char body[256];
    atomic_bool flag = false;
    /* text written before the cancel is discarded; the group is killed */
    snprintf(body, sizeof(body), "printf partial; sleep 60 & echo $! > %s; wait",
             tmp_path("cancel.sleep"));
    struct ocr_job job = {.helper = script("cancel.sh", body),
                          .input_path = "/dev/null",
                          .timeout_ms = 60000,
                          .cancel = &flag};
    struct canceller c = {.flag = &flag, .after_ms = 300};
    pthread_t t;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&t, NULL, cancel_later, &c);
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -ECANCELED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    CHECK(text == NULL && len == 0);
    CHECK_STR(why, "rcfs-ocr stopped: the run was cancelled");
    CHECK(t1.tv_sec - t0.tv_sec < 30); /* not the deadline, not the sleep */
    FILE *f = fopen(tmp_path("cancel.sleep"), "r");
    int sl = 0;
    if (f) {
        CHECK(fscanf(f, "%d", &sl) == 1);
        fclose(f);
    }
    CHECK(sl > 0 && gone(sl));
    /* a flag already set stops the run at once; an unset one changes nothing */
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -ECANCELED);
    atomic_store(&flag, false);
    job.helper = tmp_path("cat.sh");
    job.input_path = file("cdoc", "kept\n");
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), 0);
    CHECK_STR(text, "kept\n");
    free(text);
    /* the language check honours it too */
    atomic_store(&flag, true);
    job.helper = tmp_path("cancel.sh");
    CHECK_INT(ocr_check_lang(&job, why, sizeof(why)), -ECANCELED);
}

static void test_bad_jobs(void)
{
    char *text;
    size_t len;
    struct ocr_job job = {.helper = tmp_path("cat.sh"), .input_path = "/dev/null"};
    job.lang = "eng;rm";
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -EINVAL);
    job.lang = "+eng";
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -EINVAL);
    job.lang = "eng";
    job.tessdata = "relative";
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -EINVAL);
    job.tessdata = NULL;
    job.input_path = NULL;
    job.input_fd = -1;
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -EINVAL);
    job.input_path = "/dev/null";
    job.helper = NULL;
    CHECK_INT(ocr_run(&job, &text, &len, why, sizeof(why)), -EINVAL);
    job.helper = tmp_path("cat.sh");
    job.nice = 20;
    CHECK_INT(ocr_run(&job, &text, &len, NULL, 0), -EINVAL);
}

struct par {
    const char *helper; /* the stand-in (tmp_path is not thread-safe: named before) */
    const char *doc;    /* input */
    char want[32];      /* its content */
    int ok;
};

static void *par_run(void *arg)
{
    struct par *p = arg;
    struct ocr_job job = {.helper = p->helper, .input_path = p->doc};
    char *text;
    size_t len;
    char w[256];
    p->ok = ocr_run(&job, &text, &len, w, sizeof(w)) == 0 && strcmp(text, p->want) == 0;
    if (p->ok)
        free(text);
    return NULL;
}

static void test_threads(void)
{
    struct par ps[8];
    pthread_t ids[8];
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof(name), "doc%d", i);
        snprintf(ps[i].want, sizeof(ps[i].want), "document %d\n", i);
        ps[i].doc = strdup(file(name, ps[i].want));
        ps[i].helper = strdup(tmp_path("cat.sh"));
    }
    for (int i = 0; i < 8; i++)
        pthread_create(&ids[i], NULL, par_run, &ps[i]);
    for (int i = 0; i < 8; i++) {
        pthread_join(ids[i], NULL);
        CHECK(ps[i].ok);
        free((char *)ps[i].doc);
        free((char *)ps[i].helper);
    }
}

static void test_lang_check(void)
{
    CHECK(ocr_lang_ok("eng"));
    CHECK(ocr_lang_ok("eng+deu+chi_sim"));
    CHECK(!ocr_lang_ok(""));
    CHECK(!ocr_lang_ok("eng+"));
    CHECK(!ocr_lang_ok("eng++deu"));
    CHECK(!ocr_lang_ok("../eng"));
    CHECK(!ocr_lang_ok("eng deu"));
    struct ocr_job job = {.helper = script("lang.sh", "case \"$*\" in\n"
                                                      "*'-l deu '*'--check-lang') exit 0;;\n"
                                                      "*) echo 'rcfs-ocr: no xx' >&2; exit 5;;\n"
                                                      "esac"),
                          .input_fd = -1,
                          .lang = "deu"};
    CHECK_INT(ocr_check_lang(&job, why, sizeof(why)), 0);
    job.lang = "xx";
    CHECK_INT(ocr_check_lang(&job, why, sizeof(why)), -EIO);
    CHECK_STR(why, "rcfs-ocr exit 5 (OCR engine cannot start): rcfs-ocr: no xx");
    job.lang = "x;y";
    CHECK_INT(ocr_check_lang(&job, why, sizeof(why)), -EINVAL);
}

static void test_helper_version(void)
{
    char out[128];
    CHECK_INT(ocr_helper_version(script("v.sh", "[ \"$1\" = -V ] && echo 'fake 1.0 (x)'"), out,
                                 sizeof(out)),
              0);
    CHECK_STR(out, "fake 1.0 (x)");
    CHECK_INT(ocr_helper_version(script("v2.sh", "exit 8"), out, sizeof(out)), -EIO);
    CHECK(strstr(out, "exit 8") != NULL);
    CHECK_INT(ocr_helper_version(NULL, out, sizeof(out)), -EINVAL);
}

int main(void)
{
    if (tmp_init())
        return 1;
    RUN(test_text_and_input);
    RUN(test_caller_without_stdio);
    RUN(test_arguments);
    RUN(test_clean_environment_and_fds);
    RUN(test_failures);
    RUN(test_deadline_kills_the_group);
    RUN(test_cancel);
    RUN(test_bad_jobs);
    RUN(test_threads);
    RUN(test_lang_check);
    RUN(test_helper_version);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

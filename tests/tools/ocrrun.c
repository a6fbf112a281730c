/*
 * ocrrun — ocr_run (ocr/ocr_run.h) from the command line, for tests/ocr.
 *
 *   ocrrun -H HELPER [-l LANG] [-T TIMEOUT_MS] [-m MEM_MB] [-c CPU_S] [-n NICE]
 *          [-t MAX_TEXT] [-s INPUT_SIZE] [-F] [-j THREADS] FILE
 *   ocrrun -H HELPER -V
 *   ocrrun -H HELPER [-l LANG] -L
 *
 * Reads FILE through ocr_run (-F: as an open file descriptor rather than a
 * path) and writes the text to stdout; exit 0.  On failure it writes
 * "ocrrun: rc=<-errno> <why>" to stderr and exits 1.  -j THREADS runs the
 * same job on that many threads at once and requires every run to give the
 * same text (the text once on stdout).  -V prints ocr_helper_version; -L
 * runs ocr_check_lang (exit 0, or 1 with the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocr/ocr_run.h"

struct thread_run {
    const struct ocr_job *job; /* shared, read-only */
    char *text;                /* result */
    size_t len;
    int rc;
    char why[512];
};

static void *run_one(void *arg)
{
    struct thread_run *t = arg;
    t->rc = ocr_run(t->job, &t->text, &t->len, t->why, sizeof(t->why));
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: ocrrun -H HELPER [-l LANG] [-T MS] [-m MB] [-c S] [-n NICE] "
                    "[-t MAX] [-s SIZE] [-F] [-j N] FILE | -H HELPER -V\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct ocr_job job = {.input_fd = -1};
    int use_fd = 0, version = 0, check = 0, threads = 1, c;
    while ((c = getopt(argc, argv, "H:l:T:m:c:n:t:s:Fj:VL")) != -1) {
        switch (c) {
        case 'H':
            job.helper = optarg;
            break;
        case 'l':
            job.lang = optarg;
            break;
        case 'T':
            job.timeout_ms = (unsigned)atoi(optarg);
            break;
        case 'm':
            job.mem_mb = (unsigned)atoi(optarg);
            break;
        case 'c':
            job.cpu_s = (unsigned)atoi(optarg);
            break;
        case 'n':
            job.nice = atoi(optarg);
            break;
        case 't':
            job.max_text = (size_t)atoll(optarg);
            break;
        case 's':
            job.input_size = (uint64_t)atoll(optarg);
            break;
        case 'F':
            use_fd = 1;
            break;
        case 'j':
            threads = atoi(optarg);
            break;
        case 'V':
            version = 1;
            break;
        case 'L':
            check = 1;
            break;
        default:
            return usage();
        }
    }
    if (version) {
        char line[512];
        int rc = ocr_helper_version(job.helper, line, sizeof(line));
        fprintf(rc ? stderr : stdout, "%s%s\n", rc ? "ocrrun: " : "", line);
        return rc ? 1 : 0;
    }
    if (check) {
        char why[512];
        int rc = ocr_check_lang(&job, why, sizeof(why));
        if (rc)
            fprintf(stderr, "ocrrun: rc=%d %s\n", rc, why);
        return rc ? 1 : 0;
    }
    if (optind + 1 != argc || threads < 1 || threads > 64)
        return usage();
    if (use_fd && (job.input_fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0) {
        perror(argv[optind]);
        return 1;
    }
    if (!use_fd)
        job.input_path = argv[optind];
    struct thread_run *runs = calloc((size_t)threads, sizeof(*runs));
    pthread_t *ids = calloc((size_t)threads, sizeof(*ids));
    for (int i = 0; i < threads; i++) {
        runs[i].job = &job;
        pthread_create(&ids[i], NULL, run_one, &runs[i]);
    }
    int status = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        if (runs[i].rc) {
            fprintf(stderr, "ocrrun: rc=%d %s\n", runs[i].rc, runs[i].why);
            status = 1;
        } else if (i > 0 && (runs[i].len != runs[0].len ||
                             memcmp(runs[i].text, runs[0].text, runs[0].len) != 0)) {
            fprintf(stderr, "ocrrun: thread %d read a different text\n", i);
            status = 1;
        }
    }
    if (!status)
        fwrite(runs[0].text, 1, runs[0].len, stdout);
    for (int i = 0; i < threads; i++)
        free(runs[i].text);
    free(runs);
    free(ids);
    if (job.input_fd >= 0)
        close(job.input_fd);
    return status;
}

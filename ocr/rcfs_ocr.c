/*
 * rcfs-ocr — the text of one fax document, read out of the FUSE process.
 *
 * rcfs runs this helper (through ocr_run) on a cached PDF or TIFF and keeps
 * what it prints as the message's fax.txt.  It reads a document that anyone
 * who knows the fax number could have sent, with big parsers (Poppler,
 * libtiff, Tesseract), so it fences itself in before it reads a byte (see
 * ocr_sandbox.h) and any failure is an exit status (ocr_exit.h), never a
 * partial text its parent would keep.  Output: UTF-8, pages separated by
 * '\f' (ocr_text.h).  Run `rcfs-ocr -h` for the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ocr/ocr_doc.h"
#include "ocr/ocr_exit.h"
#include "ocr/ocr_pdf.h"
#include "ocr/ocr_run.h"
#include "ocr/ocr_sandbox.h"
#include "ocr/ocr_tess.h"
#include "ocr/ocr_tiff.h"
#include "util/mem.h"

/* Bumped whenever the same document would give different text (defaults,
 * preprocessing): it is part of the version cached text is keyed by. */
#define TEXT_FORMAT 1
#define MAX_INPUT   (256ull << 20)

struct opts {
    const char *path;    /* NULL or "-": standard input */
    const char *lang;    /* Tesseract languages */
    const char *datadir; /* tessdata folder or NULL */
    uint64_t size;       /* read at most this many bytes (0: all) */
    uint64_t max_text;   /* most bytes of text */
    struct ocr_limits lim;
    struct ocr_doc_limits doc;
    int probe;      /* --probe-sandbox */
    int check_lang; /* --check-lang */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rcfs-ocr [options] [FILE]\n"
               "Print the text of a PDF or TIFF document (told apart by its bytes), pages\n"
               "separated by form feeds.  FILE absent or \"-\": standard input.\n"
               "  -l LANG     Tesseract languages, e.g. eng+deu (default eng)\n"
               "  -d DIR      tessdata folder (default: Tesseract's own)\n"
               "  -s BYTES    read only the first BYTES bytes of the input\n"
               "  -m MIB      address-space limit (default 1024)\n"
               "  -c SECONDS  CPU-time limit (default 300)\n"
               "  -n NICE     niceness to add (default 10)\n"
               "  -p PAGES    most pages (default 200)\n"
               "  -x PIXELS   most pixels in one page (default 60000000)\n"
               "  -r DPI      resolution image-only PDF pages are rendered at (default 204)\n"
               "  -t BYTES    most bytes of text (default 16 MiB)\n"
               "  -V          print the versions that decide the text, and exit\n"
               "  --check-lang     load the languages (-l, -d) and exit: 0, or 5 when missing\n"
               "  --probe-sandbox  enter the sandbox, try what it must refuse, report\n"
               "Exit: 0 text written, 2 usage, 3 bad document, 4 over a limit, 5 OCR engine\n"
               "cannot start, 6 sandbox failed, 7 output failed, 8 internal error.\n");
}

static int number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {{"probe-sandbox", no_argument, NULL, 'P'},
                                          {"check-lang", no_argument, NULL, 'L'},
                                          {"version", no_argument, NULL, 'V'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    uint64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "l:d:s:m:c:n:p:x:r:t:Vh", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'l':
            o->lang = optarg, bad = !ocr_lang_ok(optarg);
            break;
        case 'd':
            o->datadir = optarg;
            break;
        case 's':
            bad = number(optarg, 1, MAX_INPUT, &o->size);
            break;
        case 'm':
            bad = number(optarg, 64, 1 << 20, &v), o->lim.mem_bytes = v << 20;
            break;
        case 'c':
            bad = number(optarg, 1, 86400, &o->lim.cpu_s);
            break;
        case 'n':
            bad = number(optarg, 0, 19, &v), o->lim.nice = (int)v;
            break;
        case 'p':
            bad = number(optarg, 1, 100000, &v), o->doc.max_pages = (unsigned)v;
            break;
        case 'x':
            bad = number(optarg, 1, 1ull << 34, &o->doc.max_pixels);
            break;
        case 'r':
            bad = number(optarg, 50, 1200, &v), o->doc.render_dpi = (unsigned)v;
            break;
        case 't':
            bad = number(optarg, 1, 1ull << 30, &o->max_text);
            break;
        case 'P':
            o->probe = 1;
            break;
        case 'L':
            o->check_lang = 1;
            break;
        case 'V':
            printf("rcfs-ocr %s (text format %d; %s; %s)\n", RCFS_VERSION, TEXT_FORMAT,
                   ocr_tess_versions(), ocr_pdf_versions());
            exit(OCR_EXIT_OK);
        case 'h':
            usage(stdout);
            exit(OCR_EXIT_OK);
        default:
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "rcfs-ocr: bad option -%c%s%s\n", c, optarg ? " " : "",
                    optarg ? optarg : "");
            return -1;
        }
    }
    if (optind + 1 < argc)
        return -1;
    o->path = optind < argc && strcmp(argv[optind], "-") ? argv[optind] : NULL;
    o->lim.fsize = o->max_text + 4096;
    return 0;
}

/* Read the document from fd: positioned reads from 0 for a regular file
 * (the parent's offset is left alone), else a stream.  Returns 0 or -errno
 * (-E2BIG over the cap). */
static int slurp(int fd, uint64_t want, uint8_t **data, size_t *len)
{
    struct stat st;
    uint64_t cap = want ? want : MAX_INPUT;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (regular && !want && (uint64_t)st.st_size > MAX_INPUT)
        return -E2BIG;
    uint64_t fsize = regular ? (uint64_t)st.st_size : 0;
    size_t n = 0, room = regular ? (size_t)(fsize < cap ? fsize : cap) : 65536;
    uint8_t *p = mem_alloc(room + 1);
    for (;;) {
        if (n == room) {
            if (regular || room >= cap)
                break;
            room = room * 2 < cap ? room * 2 : cap;
            p = mem_realloc(p, room + 1);
        }
        ssize_t r = regular ? pread(fd, p + n, room - n, (off_t)n) : read(fd, p + n, room - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(p);
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (!regular && !want && n == cap) {
        char extra;
        if (read(fd, &extra, 1) == 1) {
            free(p);
            return -E2BIG;
        }
    }
    *data = p;
    *len = n;
    return 0;
}

static int exit_for(int rc)
{
    switch (rc) {
    case 0:
        return OCR_EXIT_OK;
    case -EINVAL:
        return OCR_EXIT_BADINPUT;
    case -E2BIG:
    case -EFBIG:
    case -ENOMEM:
        return OCR_EXIT_LIMIT;
    case -ENOTSUP:
        return OCR_EXIT_ENGINE;
    default:
        return OCR_EXIT_INTERNAL;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int run(const struct opts *o, int fd)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = slurp(fd, o->size, &data, &len);
    if (rc) {
        fprintf(stderr, "rcfs-ocr: cannot read the document: %s\n", strerror(-rc));
        return rc == -E2BIG ? OCR_EXIT_LIMIT : OCR_EXIT_BADINPUT;
    }
    struct buf out;
    buf_init(&out, o->max_text);
    struct ocr_tess *t = ocr_tess_new(o->datadir, o->lang);
    switch (ocr_doc_sniff(data, len)) {
    case OCR_DOC_PDF:
        rc = ocr_pdf_read(data, len, &o->doc, t, &out);
        break;
    case OCR_DOC_TIFF:
        rc = ocr_tiff_read(data, len, &o->doc, t, &out);
        break;
    default:
        fprintf(stderr, "rcfs-ocr: neither a PDF nor a TIFF\n");
        rc = -EINVAL;
    }
    if (rc == -EFBIG)
        fprintf(stderr, "rcfs-ocr: more than %llu bytes of text\n",
                (unsigned long long)o->max_text);
    int status = exit_for(rc);
    if (!rc && write_all(STDOUT_FILENO, out.data ? out.data : "", out.len)) {
        fprintf(stderr, "rcfs-ocr: writing the text failed: %s\n", strerror(errno));
        status = OCR_EXIT_OUTPUT;
    }
    ocr_tess_close(t);
    buf_free(&out);
    free(data);
    return status;
}

/* libgomp reads OMP_THREAD_LIMIT when it is loaded, before main: one
 * thread per helper keeps OCR on one core at its low priority and within
 * its CPU limit.  Re-executes itself once with it set when it is not. */
static void one_thread(char **argv)
{
    const char *v = getenv("OMP_THREAD_LIMIT");
    if (v && strcmp(v, "1") == 0)
        return;
    setenv("OMP_THREAD_LIMIT", "1", 1);
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    struct opts o = {
        .lang = "eng",
        .max_text = 16u << 20,
        .lim = {.mem_bytes = 1024ull << 20, .cpu_s = 300, .nofile = 64, .nice = 10},
        .doc = {.max_pages = 200, .max_pixels = 60000000, .render_dpi = 204},
    };
    if (parse(argc, argv, &o)) {
        usage(stderr);
        return OCR_EXIT_USAGE;
    }
    one_thread(argv);
    signal(SIGPIPE, SIG_IGN);
    int fd = STDIN_FILENO;
    if (o.path && (fd = open(o.path, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "rcfs-ocr: %s: %s\n", o.path, strerror(errno));
        return OCR_EXIT_BADINPUT;
    }
    int netns = 0, rc = ocr_sandbox_enter(&o.lim, &netns);
    if (rc) {
        fprintf(stderr, "rcfs-ocr: cannot enter the sandbox: %s\n", strerror(-rc));
        return OCR_EXIT_SANDBOX;
    }
    if (o.probe) {
        printf("network namespace: %s\nuid: %u\n", netns ? "new" : "shared", (unsigned)getuid());
        return ocr_sandbox_probe() ? 1 : 0;
    }
    if (o.check_lang) {
        struct ocr_tess *t = ocr_tess_new(o.datadir, o.lang);
        rc = ocr_tess_load(t);
        ocr_tess_close(t);
        return rc ? OCR_EXIT_ENGINE : OCR_EXIT_OK;
    }
    return run(&o, fd);
}

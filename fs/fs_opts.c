/* fs_opts — command-line parsing (see fs_opts.h). */
#include "fs/fs_opts.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mem.h"

enum { KEY_HELP, KEY_VERSION, KEY_FG, KEY_DEBUG, KEY_SINGLE, KEY_ALLOW_OTHER };

/* Raw values as parsed by fuse_opt (strings freed after conversion). */
struct raw {
    char *cache_dir, *cache_max, *media_url, *credentials;
    int poll, timeout, max_downloads, probe_kib, no_thumbnails, purge;
    int uid, gid;
    char *umask;
    char *ocr, *ocr_lang; /* fax.txt */
    int ocr_jobs;
    bool allow_other;
    char *pos[3];
    int npos;
    struct fs_opts *o;
};

#define OPT(t, f, v)                                                                               \
    {                                                                                              \
        t, offsetof(struct raw, f), v                                                              \
    }
static const struct fuse_opt specs[] = {
    OPT("cache_dir=%s", cache_dir, 0),
    OPT("cache_max=%s", cache_max, 0),
    OPT("media_url=%s", media_url, 0),
    OPT("credentials=%s", credentials, 0),
    OPT("poll=%d", poll, 0),
    OPT("timeout=%d", timeout, 0),
    OPT("max_downloads=%d", max_downloads, 0),
    OPT("probe_kib=%d", probe_kib, 0),
    OPT("no_thumbnails", no_thumbnails, 1),
    OPT("purge", purge, 1),
    OPT("uid=%d", uid, 0),
    OPT("gid=%d", gid, 0),
    OPT("umask=%s", umask, 0),
    OPT("ocr=%s", ocr, 0),
    OPT("ocr_lang=%s", ocr_lang, 0),
    OPT("ocr_jobs=%d", ocr_jobs, 0),
    FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_KEY("-f", KEY_FG),
    FUSE_OPT_KEY("-d", KEY_DEBUG),
    FUSE_OPT_KEY("debug", KEY_DEBUG),
    FUSE_OPT_KEY("-s", KEY_SINGLE),
    FUSE_OPT_END,
};

static int proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct raw *r = data;
    switch (key) {
    case KEY_HELP:
        r->o->help = true;
        return 0;
    case KEY_VERSION:
        r->o->version = true;
        return 0;
    case KEY_FG:
        r->o->foreground = true;
        return 0;
    case KEY_DEBUG:
        r->o->debug = true;
        return 0;
    case KEY_SINGLE:
        r->o->singlethread = true;
        return 0;
    case KEY_ALLOW_OTHER:
        r->allow_other = true;
        return 1; /* libfuse's too */
    case FUSE_OPT_KEY_NONOPT:
        if (r->npos == 2) {
            fprintf(stderr, "rcfs: too many arguments: %s\n", arg);
            return -1;
        }
        r->pos[r->npos++] = mem_strdup(arg);
        return 0;
    default:
        return 1; /* libfuse's */
    }
}

int fs_opts_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    uint64_t mul = 1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mul = 1ULL << 10;
        end++;
        break;
    case 'm':
    case 'M':
        mul = 1ULL << 20;
        end++;
        break;
    case 'g':
    case 'G':
        mul = 1ULL << 30;
        end++;
        break;
    case 't':
    case 'T':
        mul = 1ULL << 40;
        end++;
        break;
    default:
        return -1;
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* An absolute version of path (relative to the current folder). */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return mem_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return mem_strdup(path);
    return mem_printf("%s/%s", cwd, path);
}

/* An fstab mount with setuid=USER reaches rcfs through mount.fuse3 with
 * HOME empty (and early boot may have none): then the passwd entry says
 * where home is.  /tmp is the last resort only (shared by everyone). */
static char *default_cache_dir(void)
{
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && x[0] == '/')
        return mem_printf("%s/rcfs", x);
    const char *h = getenv("HOME");
    if (!h || h[0] != '/') {
        struct passwd *pw = getpwuid(getuid());
        h = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/tmp";
    }
    return mem_printf("%s/.cache/rcfs", h);
}

/* uid=, gid=, umask= into o.  Returns 0 or -1 after one line. */
static int set_owner(const struct raw *r, struct fs_opts *o)
{
    if (r->uid != -1) {
        if (r->uid < 0) {
            fprintf(stderr, "rcfs: uid=%d is not a user id\n", r->uid);
            return -1;
        }
        o->uid_set = true;
        o->uid = (uid_t)r->uid;
    }
    if (r->gid != -1) {
        if (r->gid < 0) {
            fprintf(stderr, "rcfs: gid=%d is not a group id\n", r->gid);
            return -1;
        }
        o->gid_set = true;
        o->gid = (gid_t)r->gid;
    }
    if (r->umask) {
        char *end;
        unsigned long v = strtoul(r->umask, &end, 8);
        if (!r->umask[0] || *end || v > 0777) {
            fprintf(stderr, "rcfs: umask=%s is not an octal mask (000..777)\n", r->umask);
            return -1;
        }
        o->umask_set = true;
        o->umask = (mode_t)v;
    }
    return 0;
}

/* ocr=, ocr_lang=, ocr_jobs= into o.  Returns 0 or -1 after one line. */
static int set_ocr(const struct raw *r, struct fs_opts *o)
{
    if (r->ocr && strcmp(r->ocr, "on") != 0 && strcmp(r->ocr, "off") != 0) {
        fprintf(stderr, "rcfs: ocr=%s: say ocr=on or ocr=off\n", r->ocr);
        return -1;
    }
    if (r->ocr_jobs != -1 && (r->ocr_jobs < 1 || r->ocr_jobs > 64)) {
        fprintf(stderr, "rcfs: ocr_jobs must be 1..64\n");
        return -1;
    }
    o->ocr_off = r->ocr && strcmp(r->ocr, "off") == 0;
    o->ocr_lang = r->ocr_lang ? mem_strdup(r->ocr_lang) : NULL;
    o->ocr_jobs = r->ocr_jobs > 0 ? r->ocr_jobs : 0;
    return 0;
}

int fs_opts_parse(int argc, char **argv, struct fs_opts *o, struct fuse_args *args)
{
    struct raw r = {.poll = 60,
                    .timeout = 60,
                    .max_downloads = 4,
                    .probe_kib = 4096,
                    .uid = -1,
                    .gid = -1,
                    .ocr_jobs = -1,
                    .o = o};
    int rc = -1;
    memset(o, 0, sizeof *o);
    *args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
    if (fuse_opt_parse(args, &r, specs, proc) == -1)
        goto out;
    if (o->help || o->version) {
        rc = 0;
        goto out;
    }
    if (r.npos == 0) {
        fprintf(stderr, "rcfs: no mount point given (try --help)\n");
        goto out;
    }
    o->source = r.npos == 2 ? mem_strdup(r.pos[0]) : NULL;
    o->mountpoint = absolute(r.pos[r.npos - 1]);
    o->cache_dir = r.cache_dir ? absolute(r.cache_dir) : default_cache_dir();
    o->cache_max = (uint64_t)2 << 30;
    if (r.cache_max && fs_opts_size(r.cache_max, &o->cache_max) < 0) {
        fprintf(stderr, "rcfs: cache_max=%s is not a size (e.g. 500M, 2G)\n", r.cache_max);
        goto out;
    }
    o->media_url = r.media_url ? mem_strdup(r.media_url) : NULL;
    o->credentials = r.credentials ? absolute(r.credentials) : NULL;
    if (r.poll < 0 || r.timeout < 1 || r.max_downloads < 1 || r.max_downloads > 64 ||
        r.probe_kib < 1 || r.probe_kib > 65536) {
        fprintf(stderr, "rcfs: poll must be >= 0, timeout >= 1, max_downloads 1..64, "
                        "probe_kib 1..65536\n");
        goto out;
    }
    o->poll = r.poll;
    o->timeout = r.timeout;
    o->max_downloads = r.max_downloads;
    o->probe_kib = r.probe_kib;
    o->no_thumbnails = r.no_thumbnails;
    o->purge = r.purge;
    if (set_owner(&r, o) < 0 || set_ocr(&r, o) < 0)
        goto out;
    /* Other users may see the mount only through the kernel's own checks
     * of the modes and owners rcfs shows. */
    if (r.allow_other)
        fuse_opt_add_arg(args, "-odefault_permissions");
    rc = 0;
out:
    for (int i = 0; i < r.npos; i++)
        free(r.pos[i]);
    free(r.cache_dir);
    free(r.cache_max);
    free(r.media_url);
    free(r.credentials);
    free(r.umask);
    free(r.ocr);
    free(r.ocr_lang);
    if (rc < 0) /* a bad value after others were kept: nothing leaks */
        fs_opts_free(o);
    return rc;
}

void fs_opts_help(const char *prog)
{
    printf("usage: %s [SOURCE] MOUNTPOINT [options]\n"
           "\n"
           "Mount a RingCentral message store (faxes, voicemails, SMS, pager messages).\n"
           "Credentials come from the environment (RINGCENTRAL_SERVER_URL,\n"
           "RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET, RINGCENTRAL_JWT_TOKEN, or the\n"
           "RC_SERVER_URL, RC_APP_CLIENT_ID, RC_APP_CLIENT_SECRET, RC_USER_JWT aliases) or\n"
           "from -o credentials=FILE (KEY=VALUE lines, mode 0600).\n"
           "\n"
           "general options:\n"
           "    -h, --help               print this help and exit\n"
           "    -V, --version            print the version and exit\n"
           "    -f                       stay in the foreground (log to stderr)\n"
           "    -d                       debug logging (never shows secrets)\n"
           "    -s                       single-threaded\n"
           "\n"
           "rcfs options (-o NAME=VALUE, comma-separated):\n"
           "    credentials=FILE         KEY=VALUE credentials file (mode 0600 or stricter)\n"
           "    cache_dir=DIR            cache folder (default $XDG_CACHE_HOME/rcfs or\n"
           "                             ~/.cache/rcfs), created mode 0700\n"
           "    cache_max=SIZE           content cache cap, e.g. 500M, 2G (default 2G)\n"
           "    media_url=URL            replace scheme and host of attachment URIs\n"
           "    poll=SECONDS             ask the server for changes this often (default 60;\n"
           "                             0 = never; `touch MOUNTPOINT` or SIGUSR1 = now)\n"
           "    timeout=SECONDS          longest a system call waits for the server\n"
           "                             (default 60), then fails with EIO\n"
           "    max_downloads=N          content downloads at once (default 4)\n"
           "    probe_kib=N              a size probe asks for the first N KiB and keeps\n"
           "                             the file when that is all of it (default 4096)\n"
           "    no_thumbnails            refuse downloads for thumbnailer processes\n"
           "    purge                    removing a message inside Deleted/ purges it\n"
           "                             (default: refused with EPERM)\n"
           "    uid=N, gid=N             owner and group shown (default: yours)\n"
           "    umask=M                  permission bits (default: files 0600, folders 0700);\n"
           "                             allow_other always adds default_permissions\n"
           "    ocr=on|off               fax.txt, the text of every fax (default on)\n"
           "    ocr_lang=LANGS           OCR languages, e.g. eng+deu (default eng; checked\n"
           "                             at mount time)\n"
           "    ocr_jobs=N               OCR helpers at once (default: half the cores)\n"
           "                             (the helper: $RCFS_OCR_HELPER, else the installed one)\n"
           "\n"
           "FUSE options:\n",
           prog);
    fuse_lowlevel_help();
}

void fs_opts_free(struct fs_opts *o)
{
    free(o->source);
    free(o->mountpoint);
    free(o->cache_dir);
    free(o->media_url);
    free(o->credentials);
    free(o->ocr_lang);
    memset(o, 0, sizeof *o);
}

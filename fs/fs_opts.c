/* fs_opts — the option table, the parser and --help (see fs_opts.h). */
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

enum kind {
    K_SWITCH, /* a command-line switch: -f, --help */
    K_FLAG,   /* -o NAME */
    K_UINT,   /* -o NAME=N, decimal, in [min, max] */
    K_OCTAL,  /* -o NAME=N, octal, in [min, max] */
    K_SIZE,   /* -o NAME=SIZE (fs_opts_size) */
    K_TEXT,   /* -o NAME=TEXT, not empty */
    K_PATH,   /* -o NAME=PATH, not empty, made absolute */
    K_ONOFF,  /* -o NAME=on|off */
    K_PHONE,  /* -o NAME=+DIGITS or DIGITS (a phone number) */
};

enum section { S_GENERAL, S_RCFS, S_FUSE };

/* The type of the struct fs_opts field an option fills. */
enum ftype { F_NONE, F_BOOL, F_UINT, F_U64, F_STR };
#define FIELD(m)                                                                                   \
    .off = offsetof(struct fs_opts, m),                                                            \
    .ft = _Generic(((struct fs_opts *)0)->m, bool: F_BOOL, unsigned: F_UINT, uint64_t: F_U64,     \
                   char *: F_STR)

struct spec {
    const char *name;            /* as typed: "-f", "poll", "allow_other" */
    const char *alias;           /* a second spelling ("--help", "debug"), or NULL */
    enum kind kind;              /* what the value looks like */
    enum section sec;            /* where --help lists it */
    bool pass;                   /* kept in the args for libfuse as given */
    bool perms;                  /* brings default_permissions into the args */
    size_t off;                  /* the field in struct fs_opts (when ft != F_NONE) */
    enum ftype ft;               /* its type, F_NONE when rcfs only passes it on */
    const char *arg;             /* the value's name in --help ("SECONDS") */
    const char *def;             /* default, read by the same parser as a given value */
    const char *def_doc;         /* or: a default computed at run time, as --help says it */
    unsigned long long min, max; /* range of K_UINT and K_OCTAL */
    const char *help; /* for --help; options sharing one help string are listed together */
};

#define ID_MAX         4294967294ULL /* uid_t and gid_t, without (uid_t)-1 */
#define MOUNT_FLAGS    "generic mount flags (mount(8) and mount.fuse3 add some)"
#define SELINUX_LABELS "SELinux labels of the mount, passed to the kernel"

static const struct spec specs[] = {
    /* general options */
    {"-h", "--help", K_SWITCH, S_GENERAL, .help = "print this help and exit", FIELD(help)},
    {"-V", "--version", K_SWITCH, S_GENERAL, FIELD(version),
     .help = "print the versions of rcfs and libfuse and exit"},
    {"-f", NULL, K_SWITCH, S_GENERAL, FIELD(foreground),
     .help = "stay in the foreground; messages go to stderr (or log=FILE)"},
    {"-d", "debug", K_SWITCH, S_GENERAL, FIELD(debug),
     .help = "debug messages too (never a secret); implies -f"},
    {"-s", NULL, K_SWITCH, S_GENERAL, FIELD(singlethread),
     .help = "serve requests with one thread (for debugging)"},

    /* rcfs options */
    {"credentials", NULL, K_PATH, S_RCFS, FIELD(credentials), .arg = "FILE",
     .help = "KEY=VALUE credentials file, mode 0600 or stricter"},
    {"cache_dir", NULL, K_PATH, S_RCFS, FIELD(cache_dir), .arg = "DIR",
     .def_doc = "$XDG_CACHE_HOME/rcfs, else ~/.cache/rcfs",
     .help = "cache folder, created mode 0700; one rcfs at a time"},
    {"cache_max", NULL, K_SIZE, S_RCFS, FIELD(cache_max), .arg = "SIZE", .def = "2G",
     .help = "most content kept in the cache, e.g. 500M, 2G; 0 = no limit"},
    {"media_url", NULL, K_TEXT, S_RCFS, FIELD(media_url), .arg = "URL",
     .help = "replace the scheme and host of attachment URIs"},
    {"log", NULL, K_PATH, S_RCFS, FIELD(log), .arg = "FILE",
     .help = "append messages to FILE (created mode 0600) instead of stderr or syslog; "
             "SIGHUP reopens it"},
    {"poll", NULL, K_UINT, S_RCFS, FIELD(poll), .arg = "SECONDS", .def = "60", .min = 0,
     .max = 86400,
     .help = "ask the server for changes this often, 0 = never; `touch MOUNTPOINT` or "
             "SIGUSR1 asks now"},
    {"timeout", NULL, K_UINT, S_RCFS, FIELD(timeout), .arg = "SECONDS", .def = "60", .min = 1,
     .max = 3600, .help = "longest a system call waits for the server, then fails with EIO"},
    {"max_downloads", NULL, K_UINT, S_RCFS, FIELD(max_downloads), .arg = "N", .def = "4", .min = 1,
     .max = 64, .help = "attachment downloads at once"},
    {"probe_kib", NULL, K_UINT, S_RCFS, FIELD(probe_kib), .arg = "N", .def = "4096", .min = 1,
     .max = 65536,
     .help = "a size probe fetches the first N KiB of an attachment and keeps the file when "
             "that is all of it"},
    {"no_thumbnails", NULL, K_FLAG, S_RCFS, FIELD(no_thumbnails),
     .help = "refuse thumbnailers anything not already cached"},
    {"purge", NULL, K_FLAG, S_RCFS, FIELD(purge),
     .help = "removing a message inside Deleted/ purges it for good (without purge such a "
             "removal is refused)"},
    {"push", NULL, K_ONOFF, S_RCFS, FIELD(push), .arg = "on|off", .def = "on",
     .help = "hear of new messages at once through the server's push notifications "
             "(off: poll only)"},
    {"prefetch", NULL, K_ONOFF, S_RCFS, FIELD(prefetch), .arg = "on|off", .def = "on",
     .help = "download new faxes and voicemails as they arrive, in the background"},
    {"notify", NULL, K_FLAG, S_RCFS, FIELD(notify),
     .help = "a desktop notification for each new inbound message"},
    {"sms_from", NULL, K_PHONE, S_RCFS, FIELD(sms_from), .arg = "NUMBER",
     .def_doc = "the extension's first number that may send SMS",
     .help = "Outbox: send SMS from this number"},
    {"fax_cover", NULL, K_UINT, S_RCFS, FIELD(fax_cover), .arg = "N", .def = "0", .min = 0,
     .max = 1000000,
     .help = "Outbox: the fax cover page, 0 = none (see Outbox/Fax/cover-pages.txt)"},
    {"outbox", NULL, K_ONOFF, S_RCFS, FIELD(outbox), .arg = "on|off", .def = "off",
     .help = "Outbox/ in your own extension: files copied there are sent; every close of "
             "any file in the mount then costs a round trip to rcfs"},
    {"ocr", NULL, K_ONOFF, S_RCFS, FIELD(ocr), .arg = "on|off", .def = "on",
     .help = "fax.txt beside every fax: its text, with OCR of scanned pages"},
    {"ocr_lang", NULL, K_TEXT, S_RCFS, FIELD(ocr_lang), .arg = "LANGS", .def_doc = "eng",
     .help = "OCR languages, e.g. eng+deu; each must be installed (checked at mount time)"},
    {"ocr_jobs", NULL, K_UINT, S_RCFS, FIELD(ocr_jobs), .arg = "N", .def_doc = "half the cores",
     .min = 1, .max = 64,
     .help = "OCR helpers at once (the helper: $RCFS_OCR_HELPER, else the installed one)"},
    {"uid", NULL, K_UINT, S_RCFS, FIELD(uid), .arg = "N", .def_doc = "your user id", .min = 0,
     .max = ID_MAX, .help = "owner shown for every file and folder"},
    {"gid", NULL, K_UINT, S_RCFS, FIELD(gid), .arg = "N", .def_doc = "your group id", .min = 0,
     .max = ID_MAX, .help = "group shown for every file and folder"},
    {"umask", NULL, K_OCTAL, S_RCFS, FIELD(umask), .arg = "OCTAL", .def = "077", .min = 0,
     .max = 0777, .help = "permission bits cleared from 0666 (files) and 0777 (folders)"},

    /* FUSE options (libfuse 3.14 and the kernel) */
    {"allow_other", NULL, K_FLAG, S_FUSE, .pass = true, .perms = true, FIELD(allow_other),
     .help = "let other users in (users need user_allow_other in /etc/fuse.conf); "
             "implies default_permissions"},
    {"allow_root", NULL, K_FLAG, S_FUSE, .pass = true, .perms = true, FIELD(allow_other),
     .help = "let root in too; implies default_permissions"},
    {"default_permissions", NULL, K_FLAG, S_FUSE, .perms = true,
     .help = "the kernel enforces the owner and permission bits shown"},
    {"auto_unmount", NULL, K_FLAG, S_FUSE, .pass = true, .help = "unmount when rcfs dies"},
    {"fsname", NULL, K_TEXT, S_FUSE, FIELD(fsname), .arg = "NAME", .def_doc = "SOURCE, else rcfs",
     .help = "the mount's source, as df, findmnt and /proc/mounts show it"},
    {"subtype", NULL, K_TEXT, S_FUSE, FIELD(subtype), .arg = "NAME", .def = "rcfs",
     .help = "the mount's type is fuse.NAME"},
    {"max_read", NULL, K_UINT, S_FUSE, .pass = true, FIELD(max_read), .arg = "BYTES", .min = 4096,
     .max = 1048576, .help = "largest read request the kernel sends"},
    {"ro", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"rw", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"suid", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"nosuid", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"dev", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"nodev", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"exec", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"noexec", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"async", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"sync", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"dirsync", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"atime", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"noatime", NULL, K_FLAG, S_FUSE, .pass = true, .help = MOUNT_FLAGS},
    {"context", NULL, K_TEXT, S_FUSE, .pass = true, .arg = "LABEL", .help = SELINUX_LABELS},
    {"fscontext", NULL, K_TEXT, S_FUSE, .pass = true, .arg = "LABEL", .help = SELINUX_LABELS},
    {"defcontext", NULL, K_TEXT, S_FUSE, .pass = true, .arg = "LABEL", .help = SELINUX_LABELS},
    {"rootcontext", NULL, K_TEXT, S_FUSE, .pass = true, .arg = "LABEL", .help = SELINUX_LABELS},
};

#define NSPECS (sizeof specs / sizeof specs[0])

/* The parser's state, for fuse_opt_parse's callback. */
struct parse {
    struct fs_opts *o;
    char *pos[2];             /* SOURCE and MOUNTPOINT, as given */
    int npos;                 /* how many of pos are set */
    bool given[NSPECS];       /* options given on the command line */
    bool default_permissions; /* to be added to the FUSE args */
};

static const struct spec *find_spec(const char *arg, size_t namelen)
{
    for (size_t i = 0; i < NSPECS; i++) {
        const char *a = specs[i].alias;
        if ((strlen(specs[i].name) == namelen && !strncmp(specs[i].name, arg, namelen)) ||
            (a && strlen(a) == namelen && !strncmp(a, arg, namelen)))
            return &specs[i];
    }
    return NULL;
}

/* A whole number in base 8 or 10, no sign, in [min, max].  Returns 0 or -1. */
static int parse_number(const char *s, int base, unsigned long long min, unsigned long long max,
                        unsigned long long *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
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

/* Print why value is not right for s: the option, and what it accepts. */
static void bad_value(const struct spec *s, const char *value)
{
    fprintf(stderr, "rcfs: %s=%s: ", s->name, value);
    switch (s->kind) {
    case K_UINT:
        fprintf(stderr, "must be a whole number from %llu to %llu\n", s->min, s->max);
        break;
    case K_OCTAL:
        fprintf(stderr, "must be an octal number from %03llo to %03llo\n", s->min, s->max);
        break;
    case K_SIZE:
        fprintf(stderr, "must be a size in bytes, such as 500M, 2G or 0\n");
        break;
    case K_ONOFF:
        fprintf(stderr, "must be on or off\n");
        break;
    case K_PHONE:
        fprintf(stderr, "must be a phone number such as +16505550101\n");
        break;
    default:
        fprintf(stderr, "must not be empty\n");
        break;
    }
}

/* Store value (NULL for a flag) for s into o.  Returns 0, or -1 after
 * printing why. */
static int apply(const struct spec *s, const char *value, struct fs_opts *o)
{
    unsigned long long n = 0;
    uint64_t size = 0;
    char *str = NULL;
    bool flag = s->kind == K_SWITCH || s->kind == K_FLAG;
    if (flag && value) {
        fprintf(stderr, "rcfs: %s=%s: %s takes no value\n", s->name, value, s->name);
        return -1;
    }
    if (!flag && !value) {
        fprintf(stderr, "rcfs: %s needs a value: %s=%s\n", s->name, s->name, s->arg);
        return -1;
    }
    int rc = 0;
    switch (s->kind) {
    case K_SWITCH:
    case K_FLAG:
        break;
    case K_UINT:
    case K_OCTAL:
        rc = parse_number(value, s->kind == K_OCTAL ? 8 : 10, s->min, s->max, &n);
        break;
    case K_SIZE:
        rc = fs_opts_size(value, &size);
        break;
    case K_TEXT:
    case K_PATH:
        rc = value[0] ? 0 : -1;
        break;
    case K_ONOFF:
        rc = strcmp(value, "on") == 0 || strcmp(value, "off") == 0 ? 0 : -1;
        break;
    case K_PHONE: {
        const char *d = value + (value[0] == '+');
        size_t len = strlen(d);
        rc = len >= 7 && len <= 15 && strspn(d, "0123456789") == len ? 0 : -1;
        break;
    }
    }
    if (rc < 0) {
        bad_value(s, value);
        return -1;
    }
    void *field = (char *)o + s->off;
    switch (s->ft) {
    case F_NONE:
        break;
    case F_BOOL:
        *(bool *)field = s->kind != K_ONOFF || strcmp(value, "on") == 0;
        break;
    case F_UINT:
        *(unsigned *)field = (unsigned)n;
        break;
    case F_U64:
        *(uint64_t *)field = size;
        break;
    case F_STR:
        str = s->kind == K_PATH ? absolute(value) : mem_strdup(value);
        free(*(char **)field);
        *(char **)field = str;
        break;
    }
    return 0;
}

/* fuse_opt_parse's callback: every argument comes here (the template list
 * is empty).  Returns 1 to keep it for libfuse, 0 when consumed, -1 to
 * stop with an error. */
static int proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct parse *p = data;
    (void)outargs;
    if (key == FUSE_OPT_KEY_NONOPT) {
        if (p->npos == 2) {
            fprintf(stderr, "rcfs: too many arguments: %s (try --help)\n", arg);
            return -1;
        }
        p->pos[p->npos++] = mem_strdup(arg);
        return 0;
    }
    const char *eq = arg[0] == '-' ? NULL : strchr(arg, '=');
    size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct spec *s = find_spec(arg, namelen);
    if (!s) {
        fprintf(stderr, "rcfs: unknown option: %s%s (see rcfs --help)\n",
                arg[0] == '-' ? "" : "-o ", arg);
        return -1;
    }
    if (apply(s, eq ? eq + 1 : NULL, p->o) < 0)
        return -1;
    p->given[s - specs] = true;
    p->default_permissions |= s->perms;
    return s->pass ? 1 : 0;
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

/* Defaults the table cannot state, and the FUSE options rcfs adds. */
static void finish(struct parse *p, struct fuse_args *args)
{
    struct fs_opts *o = p->o;
    o->source = p->npos == 2 ? mem_strdup(p->pos[0]) : NULL;
    o->mountpoint = absolute(p->pos[p->npos - 1]);
    if (!o->cache_dir)
        o->cache_dir = default_cache_dir();
    if (!o->fsname)
        o->fsname = mem_strdup(o->source ? o->source : "rcfs");
    if (!p->given[find_spec("uid", 3) - specs])
        o->uid = getuid();
    if (!p->given[find_spec("gid", 3) - specs])
        o->gid = getgid();
    o->file_mode = 0666 & ~o->umask;
    o->dir_mode = 0777 & ~o->umask;
    if (o->debug)
        o->foreground = true; /* as in sshfs: debug output needs a terminal */

    char *extra = NULL;
    char *fsname = mem_printf("fsname=%s", o->fsname);
    char *subtype = mem_printf("subtype=%s", o->subtype);
    if (fuse_opt_add_opt_escaped(&extra, fsname) < 0 ||
        fuse_opt_add_opt_escaped(&extra, subtype) < 0 ||
        (p->default_permissions && fuse_opt_add_opt(&extra, "default_permissions") < 0) ||
        fuse_opt_add_arg(args, "-o") < 0 || fuse_opt_add_arg(args, extra) < 0) {
        fputs("rcfs: out of memory\n", stderr);
        abort(); /* the policy of util/mem.h */
    }
    free(fsname);
    free(subtype);
    free(extra);
}

int fs_opts_parse(int argc, char **argv, struct fs_opts *o, struct fuse_args *args)
{
    static const struct fuse_opt none[] = {FUSE_OPT_END};
    struct parse p = {.o = o};
    int rc = -1;
    memset(o, 0, sizeof *o);
    *args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
    for (size_t i = 0; i < NSPECS; i++)
        if (specs[i].def && apply(&specs[i], specs[i].def, o) < 0)
            abort(); /* a default the table's own parser refuses: a bug */
    struct fuse_args in = FUSE_ARGS_INIT(argc, argv);
    if (fuse_opt_parse(&in, &p, none, proc) < 0)
        goto out;
    *args = in;
    in = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
    rc = 0;
    if (o->help || o->version)
        goto out;
    if (p.npos == 0) {
        fprintf(stderr, "rcfs: no mount point given (try --help)\n");
        rc = -1;
        goto out;
    }
    finish(&p, args);
out:
    fuse_opt_free_args(&in);
    for (int i = 0; i < p.npos; i++)
        free(p.pos[i]);
    return rc;
}

void fs_opts_conn(const struct fs_opts *o, struct fuse_conn_info *conn)
{
    if (o->max_read)
        conn->max_read = o->max_read;
}

int fs_opts_size(const char *s, uint64_t *out)
{
    static const char units[] = "kmgt";
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t mul = 1;
    const char *u = *end ? strchr(units, *end | 0x20) : NULL;
    if (u) {
        mul = 1ULL << (10 * (u - units + 1));
        end++;
        if (*end == 'i')
            end++;
        if (*end == 'B')
            end++;
    }
    if (*end || v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* --help: "    LEFT" padded to the help column, then text wrapped at 79. */
enum { HELP_INDENT = 4, HELP_COL = 29, HELP_WIDTH = 79 };

/* Print text from column col, indented to indent, wrapped at HELP_WIDTH
 * between words.  Returns the column where it ended. */
static int wrap(const char *text, int col, int indent)
{
    while (*text) {
        int room = HELP_WIDTH - (col > indent ? col : indent);
        int n = (int)strlen(text);
        if (n > room) {
            n = room;
            while (n > 0 && text[n] != ' ')
                n--;
            if (n == 0)
                n = (int)strcspn(text, " ");
        }
        if (col > indent && col + n > HELP_WIDTH) {
            putchar('\n');
            col = 0;
            continue;
        }
        col += printf("%*s%.*s", col < indent ? indent - col : 0, "", n, text);
        text += n;
        while (*text == ' ')
            text++;
        if (*text) {
            putchar('\n');
            col = 0;
        }
    }
    return col;
}

static void help_entry(const char *left, const char *text)
{
    int col = wrap(left, 0, HELP_INDENT);
    if (col > HELP_COL - 2) {
        putchar('\n');
        col = 0;
    }
    wrap(text, col, HELP_COL);
    putchar('\n');
}

/* The help text of specs[i] with its default and range appended. */
static char *help_text(const struct spec *s)
{
    char def[128] = "", range[64] = "";
    if (s->def || s->def_doc)
        snprintf(def, sizeof def, "default %s", s->def ? s->def : s->def_doc);
    if (s->kind == K_UINT)
        snprintf(range, sizeof range, "%llu..%llu", s->min, s->max);
    else if (s->kind == K_OCTAL)
        snprintf(range, sizeof range, "%03llo..%03llo", s->min, s->max);
    if (!def[0] && !range[0])
        return mem_strdup(s->help);
    return mem_printf("%s (%s%s%s)", s->help, def, def[0] && range[0] ? "; " : "", range);
}

/* List the options of one section; consecutive options sharing one help
 * string (the mount flags) share one entry. */
static void help_section(enum section sec)
{
    for (size_t i = 0; i < NSPECS; i++) {
        if (specs[i].sec != sec || (i > 0 && specs[i - 1].help == specs[i].help))
            continue;
        char left[256] = "";
        size_t len = 0;
        for (size_t j = i; j < NSPECS && specs[j].help == specs[i].help; j++) {
            const struct spec *s = &specs[j];
            const char *alias = s->alias ? s->alias : "";
            len += (size_t)snprintf(left + len, sizeof left - len, "%s%s%s%s%s%s%s",
                                    j > i ? ", " : "", s->name, s->arg ? "=" : "",
                                    s->arg ? s->arg : "", alias[0] ? ", " : "",
                                    alias[0] && alias[0] != '-' ? "-o " : "", alias);
        }
        char *text = help_text(&specs[i]);
        help_entry(left, text);
        free(text);
    }
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
           "general options:\n",
           prog);
    help_section(S_GENERAL);
    printf("\nrcfs options (-o NAME=VALUE, several separated by commas):\n");
    help_section(S_RCFS);
    printf("\nFUSE options (-o, passed on to libfuse and the kernel):\n");
    help_section(S_FUSE);
}

void fs_opts_free(struct fs_opts *o)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (specs[i].ft == F_STR) {
            char **field = (char **)((char *)o + specs[i].off);
            free(*field);
            *field = NULL;
        }
    free(o->source);
    free(o->mountpoint);
    memset(o, 0, sizeof *o);
}

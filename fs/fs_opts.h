/*
 * fs_opts — the rcfs command line.
 *
 *   rcfs [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]] | --help | --version
 *
 * Owns the option table (fs_opts.c): every option rcfs accepts is declared
 * there once, with its type, default, range and help line; the parser, the
 * defaults and `rcfs --help` all come from it, and the man page is checked
 * against --help by tests/integration/test_options.py.
 *
 * Options are of three kinds: general switches (-f, -d, ...), rcfs's own -o
 * options (stored in struct fs_opts and consumed), and the FUSE/mount options
 * rcfs knows libfuse 3.14 accepts (passed on in args; the few rcfs must know
 * about are stored too).  Anything else is refused at once, naming it, so an
 * option can never be accepted here and refused by libfuse after the login.
 *
 * SOURCE is what mount(8) and /etc/fstab pass through mount.fuse3; it only
 * names the mount (the default fsname).
 */
#ifndef RCFS_FS_OPTS_H
#define RCFS_FS_OPTS_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fs_opts {
    /* operands */
    char *source;     /* SOURCE, or NULL */
    char *mountpoint; /* absolute path */

    /* rcfs options (-o NAME=VALUE) */
    char *credentials;      /* NULL or absolute path of the KEY=VALUE file */
    char *cache_dir;        /* absolute path ($XDG_CACHE_HOME/rcfs, else ~/.cache/rcfs) */
    uint64_t cache_max;     /* bytes of cached content, 0 = unlimited */
    char *media_url;        /* NULL or URL replacing attachment URIs' scheme and host */
    char *log;              /* NULL, or absolute path: messages are appended there (log=) */
    unsigned poll;          /* seconds between change checks, 0 = never */
    unsigned timeout;       /* seconds a system call waits for the server, >= 1 */
    unsigned max_downloads; /* content transfers at once, 1..64 */
    unsigned probe_kib;     /* size probes fetch the first probe_kib KiB */
    bool no_thumbnails;     /* refuse thumbnailers what is not cached */
    bool purge;             /* -o purge: removing inside Deleted/ purges; without it
                               such a removal is EPERM and sends nothing */
    bool push;              /* push=on (default): push notifications; off: poll only */
    bool prefetch;          /* prefetch=on (default): fetch new faxes and voicemails */
    bool notify;            /* desktop notifications of new inbound messages */
    char *sms_from;         /* Outbox: the SMS sender (+DIGITS or DIGITS), or NULL */
    unsigned fax_cover;     /* Outbox: the default fax cover page (0 = none) */
    bool outbox;            /* outbox=on: Outbox/ (and a flush round trip per close) */
    bool ocr;               /* ocr=on (default): fax.txt in fax folders */
    char *ocr_lang;         /* ocr_lang=LANGS, or NULL (eng) */
    unsigned ocr_jobs;      /* ocr_jobs=N, 1..64, or 0 (half the cores) */
    uid_t uid;              /* owner shown for every file (uid=; default getuid()) */
    gid_t gid;              /* group shown for every file (gid=; default getgid()) */
    mode_t umask;           /* permission bits cleared (umask=; default 077) */
    mode_t file_mode;       /* 0666 & ~umask: permission bits of files (0600 by default) */
    mode_t dir_mode;        /* 0777 & ~umask: permission bits of folders (0700 by default) */

    /* FUSE options rcfs must know about; all of them are also in args */
    bool allow_other;  /* allow_other or allow_root: args carry default_permissions too */
    char *fsname;      /* the mount's source name: fsname=, else SOURCE, else "rcfs" */
    char *subtype;     /* the mount's type is fuse.<subtype>: subtype=, else "rcfs" */
    unsigned max_read; /* max_read= in bytes, 0 = not given.  libfuse 3.14 fails the
                          kernel's INIT unless the init handler sets conn->max_read to
                          exactly this value (see fs_opts_conn). */

    /* general switches */
    bool foreground;   /* -f, or -d */
    bool debug;        /* -d, -o debug */
    bool singlethread; /* -s */
    bool help;         /* -h, --help */
    bool version;      /* -V, --version */
};

/*
 * Parse argv into *o and build in *args the arguments for
 * fuse_session_new(): argv[0] and one -o list with the FUSE options given,
 * plus fsname= and subtype= (the user's when given, else the defaults
 * above) and default_permissions whenever allow_other or allow_root is
 * given.  The caller adds nothing to args.
 *
 * Returns 0 (also for --help and --version, with o->help / o->version set
 * and the rest unchecked), or -1 after printing one line to stderr naming
 * the option and what it accepts.  Either way the caller frees *o with
 * fs_opts_free and *args with fuse_opt_free_args.
 */
int fs_opts_parse(int argc, char **argv, struct fs_opts *o, struct fuse_args *args);

/*
 * Apply the connection settings the options ask for, from the filesystem's
 * init handler: conn->max_read.  Call it after any other change to conn.
 */
void fs_opts_conn(const struct fs_opts *o, struct fuse_conn_info *conn);

/* Print the usage text to stdout: every option of the table, with its
 * default and range. */
void fs_opts_help(const char *prog);

/* Parse "2G", "512M", "100k", "12345" (optionally "KiB", "MB", ...) into
 * bytes.  Returns 0, or -1 (and *out unchanged) when s is not a size. */
int fs_opts_size(const char *s, uint64_t *out);

/* Free the strings in *o and zero it. */
void fs_opts_free(struct fs_opts *o);

#endif

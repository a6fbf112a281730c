/*
 * fs_opts — the rcfs command line.
 *
 *   rcfs [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]] | --help | --version
 *
 * SOURCE is what mount(8) and /etc/fstab pass through mount.fuse3; it only
 * names the mount (fsname).  rcfs's own -o options are consumed here; the
 * rest (allow_other, ro, ...) are left in args for libfuse.
 */
#ifndef RCFS_FS_OPTS_H
#define RCFS_FS_OPTS_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/types.h>

struct fs_opts {
    char *source;                     /* SOURCE, or NULL */
    char *mountpoint;                 /* absolute path */
    char *cache_dir;                  /* absolute path */
    uint64_t cache_max;               /* bytes, 0 = unlimited */
    char *media_url;                  /* NULL or URL */
    char *credentials;                /* NULL or file path */
    int poll;                         /* seconds, 0 = off */
    int timeout;                      /* seconds per system call */
    int max_downloads;                /* concurrent content transfers */
    int probe_kib;                    /* size probe length in KiB */
    bool no_thumbnails;               /* refuse downloads for thumbnailers */
    bool purge;                       /* removing inside Deleted/ purges (default: refused) */
    bool ocr_off;                     /* ocr=off: no fax.txt */
    char *ocr_lang;                   /* ocr_lang=LANGS, or NULL (eng) */
    int ocr_jobs;                     /* ocr_jobs=N, or 0 (half the cores) */
    bool uid_set, gid_set, umask_set; /* uid=, gid=, umask= were given */
    uid_t uid;                        /* owner shown (default: the mounting user) */
    gid_t gid;                        /* group shown (default: the mounting user's) */
    mode_t umask;                     /* bits taken from 0777 (folders) and 0666 (files);
                                         default: folders 0700, files 0600 */
    bool foreground;                  /* -f */
    bool debug;                       /* -d */
    bool singlethread;                /* -s */
    bool help, version;               /* --help, --version */
};

/*
 * Parse argv into *o, leaving libfuse's options in *args (which the caller
 * frees with fuse_opt_free_args).  Returns 0, or -1 after printing one line
 * to stderr (*o then holds nothing to free).
 */
int fs_opts_parse(int argc, char **argv, struct fs_opts *o, struct fuse_args *args);

/* Print the usage text (rcfs's options, then libfuse's). */
void fs_opts_help(const char *prog);

/* Parse "2G", "512M", "100k", "12345" into bytes.  Returns 0 or -1. */
int fs_opts_size(const char *s, uint64_t *out);

/* Free the strings in *o. */
void fs_opts_free(struct fs_opts *o);

#endif

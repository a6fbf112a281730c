/*
 * rcfs — mount a RingCentral message store.
 *
 * The program's order of events:
 *   1. harden (no core dumps: secrets live in memory) and block the signals
 *      that threads must not receive, before any thread exists;
 *   2. parse the command line;
 *   3. in the background, fork now (fs_daemon): nothing has started a
 *      thread yet, and the child keeps the terminal's stderr until the
 *      mount is ready, so every failure is one line there and a non-zero
 *      exit of the command the user ran;
 *   4. open the mailbox (credentials, cache folder and its lock, login or
 *      the persisted state, extensions) and mount;
 *   5. start the threads (mailbox, notifier, signal waiter) and serve;
 *      once the kernel answers on the mount, tell the parent.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fs/fs_daemon.h"
#include "fs/fs_internal.h"
#include "fs/fs_opts.h"
#include "util/isotime.h"
#include "util/log.h"

/* SIGUSR1 asks for a sync; SIG_STOP_WAITER (a real-time signal, sent only
 * by rcfs itself) ends the signal thread before the mailbox is freed. */
#define SIG_STOP_WAITER (SIGRTMIN + 1)

/* The one line a failed start prints. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rcfs: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* No core dumps: the JWT, the client secret and the tokens live in memory
 * (out of memory is an abort()).  As ssh-agent does. */
static void harden(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* With -o log=, SIGHUP reopens the log file (logrotate) instead of unmounting. */
static bool hup_reopens_log;

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIG_STOP_WAITER);
    if (hup_reopens_log)
        sigaddset(set, SIGHUP);
}

/* fs_ops' init, then the connection settings of the options (max_read,
 * which libfuse requires init to repeat). */
static const struct fs_opts *init_opts;
static void init_with_opts(void *userdata, struct fuse_conn_info *conn)
{
    fs_ops.init(userdata, conn);
    fs_opts_conn(init_opts, conn);
}

/* The signal thread: SIGUSR1 = sync now, SIGHUP = reopen the log file,
 * until SIG_STOP_WAITER. */
static void *signal_main(void *arg)
{
    struct mb *mb = arg;
    sigset_t set;
    signal_set(&set);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIG_STOP_WAITER)
            break;
        if (sig == SIGHUP)
            log_reopen();
        else
            mb_refresh_now(mb);
    }
    return NULL;
}

/* The log line of a mount that is up. */
static void say_mounted(const char *mountpoint, struct mb *mb)
{
    log_info("rcfs %s mounted on %s (%s)", RCFS_VERSION, mountpoint,
             mb_offline(mb) ? "offline" : "online");
}

struct ready_arg {
    const char *mountpoint;
    struct mb *mb;
};

/* Readiness: once the kernel answers a stat of the mount point, the INIT
 * handshake is over and the mount is usable: tell the waiting parent. */
static void *ready_main(void *arg)
{
    const struct ready_arg *ra = arg;
    struct stat st;
    bool ok = stat(ra->mountpoint, &st) == 0 && st.st_ino == FUSE_ROOT_ID;
    if (!ok) /* stderr is still the terminal's */
        die("the mount on %s did not become usable", ra->mountpoint);
    daemon_done(ok);
    if (ok) /* now to syslog */
        say_mounted(ra->mountpoint, ra->mb);
    return NULL;
}

/* The mailbox's part of the command line. */
static struct mb_config mailbox_config(const struct fs_opts *o, struct fs *fs)
{
    return (struct mb_config){
        .credentials = o->credentials,
        .cache_dir = o->cache_dir,
        .media_url = o->media_url,
        .cache_max = o->cache_max,
        .poll_s = o->poll,
        .probe_bytes = o->probe_kib * 1024,
        .timeout_s = o->timeout,
        .max_downloads = o->max_downloads,
        .purge = o->purge,
        .no_push = !o->push,
        .no_prefetch = !o->prefetch,
        .verbose_http = o->debug,
        .events = fs_events(fs),
        .sms_from = o->sms_from,
        .fax_cover = o->fax_cover,
        .outbox = o->outbox,
        .ocr = o->ocr,
        .ocr_helper = fs_text_helper(),
        .ocr_lang = o->ocr_lang,
        .ocr_jobs = o->ocr_jobs,
    };
}

/* Fill fs from the options (before the mailbox exists). */
static void fs_setup(struct fs *fs, const struct fs_opts *o)
{
    fs->uid = o->uid;
    fs->gid = o->gid;
    fs->dir_mode = o->dir_mode;
    fs->file_mode = o->file_mode;
    fs->timeout = 3600.0;
    fs->no_thumbnails = o->no_thumbnails;
    fs->call_timeout_s = o->timeout;
    fs->notify = fs_notify_new();
    fs->live = fs_live_new();
    fs->desknote = o->notify ? desknote_new() : NULL;
    fs->dirs = fs_dirs_new();
    fs->files = fs_files_new(fs);
    fs->trash = fs_trash_new(fs->uid);
}

/* Mailbox, FUSE session, mount.  Returns the session or NULL (one line said why). */
static struct fuse_session *mount_all(struct fs *fs, const struct fs_opts *o,
                                      struct fuse_args *args)
{
    char err[512] = "";
    struct mb_config cfg = mailbox_config(o, fs);
    if (mb_open(&cfg, &fs->mb, err, sizeof err) < 0) {
        die("%s", err);
        return NULL;
    }
    fs->base_ms = mb_created_ms(fs->mb);
    /* args carry fsname, subtype and default_permissions (fs_opts_parse). */
    static struct fuse_lowlevel_ops ops;
    ops = fs_ops;
    ops.init = init_with_opts;
    init_opts = o;
    struct fuse_session *se = fuse_session_new(args, &ops, sizeof ops, fs);
    if (!se) {
        die("cannot create the FUSE session (bad FUSE option?)");
        return NULL;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        die("cannot install signal handlers");
        fuse_session_destroy(se);
        return NULL;
    }
    if (fuse_session_mount(se, o->mountpoint) != 0) {
        die("cannot mount on %s", o->mountpoint);
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
        return NULL;
    }
    return se;
}

/* Run the session until unmounted.  Returns libfuse's result. */
static int serve(struct fuse_session *se, bool singlethread)
{
    if (singlethread)
        return fuse_session_loop(se);
    /* Every request that waits for the server holds a worker thread, and
     * the kernel hands out queued requests in arrival order.  With few
     * threads, 200 thumbnailer lookups would occupy them all and a person's
     * `cat` would wait behind them in the kernel, before the USER-first
     * pacing could even see it.  Idle threads are reaped (idle_threads),
     * so the cap costs nothing until it is needed. */
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 256);
    fuse_loop_cfg_set_idle_threads(cfg, 8);
    int rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    return rc;
}

/* Start the threads, serve, stop the threads.  Returns the exit status. */
static int run(struct fs *fs, struct fuse_session *se, const struct fs_opts *o)
{
    pthread_t sig_thread, ready_thread;
    int rc = fs_notify_start(fs->notify, se);
    if (rc == 0)
        rc = fs_live_start(fs->live, se, o->mountpoint);
    if (rc == 0)
        rc = mb_start(fs->mb);
    if (rc == 0 && fs->desknote && desknote_start(fs->desknote, fs->mb) < 0) {
        desknote_free(fs->desknote); /* no bus: the mount goes on without */
        fs->desknote = NULL;
    }
    if (rc == 0)
        rc = -pthread_create(&sig_thread, NULL, signal_main, fs->mb);
    if (rc < 0) {
        die("cannot start: %s", strerror(-rc));
        return 1;
    }
    bool readiness = !o->foreground;
    struct ready_arg ra = {o->mountpoint, fs->mb};
    if (readiness && pthread_create(&ready_thread, NULL, ready_main, &ra) != 0) {
        daemon_done(true); /* cannot check: the mount itself succeeded */
        readiness = false;
    }
    if (!readiness)
        say_mounted(o->mountpoint, fs->mb);
    rc = serve(se, o->singlethread);
    fs_live_stop(fs->live); /* its system calls on the mount end with the session */
    if (readiness)
        pthread_join(ready_thread, NULL);
    pthread_kill(sig_thread, SIG_STOP_WAITER);
    pthread_join(sig_thread, NULL);
    log_info("unmounted; saving state");
    /* libfuse ends the loop with the signal's number after SIGTERM, SIGINT
     * or SIGHUP: a requested, clean stop (systemctl stop, ^C) that a
     * service manager must not record as a failure. */
    return (rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP) ? 0 : 1;
}

static int start(struct fs_opts *o, struct fuse_args *args);

/* The log sink of the options, then start.  Returns the exit status. */
static int start_logging(struct fs_opts *o, struct fuse_args *args)
{
    char err[512];
    log_init(false, o->debug);
    if (o->log && log_open_file(o->log, err, sizeof err) < 0) {
        die("%s", err);
        return 1;
    }
    return start(o, args);
}

/* Everything after the command line: returns the exit status. */
static int start(struct fs_opts *o, struct fuse_args *args)
{
    struct stat st;
    if (stat(o->mountpoint, &st) < 0 || !S_ISDIR(st.st_mode)) {
        die("mount point %s is not a folder", o->mountpoint);
        return 1;
    }
    if (!o->foreground && daemon_begin(o->mountpoint, o->timeout + 60, o->debug) < 0) {
        die("cannot go to the background: %s", strerror(errno));
        return 1;
    }
    struct fs fs = {0};
    fs_setup(&fs, o);
    int ret = 1;
    struct fuse_session *se = mount_all(&fs, o, args);
    if (se)
        ret = run(&fs, se, o);
    daemon_done(false); /* no-op when the mount was reported ready */
    /* Mailbox threads notify the kernel through the session and use the
     * open-file table: stop them first. */
    if (fs.mb)
        mb_stop(fs.mb);
    desknote_free(fs.desknote); /* it reads the mailbox */
    fs_lru_free(fs.files);      /* releases cache pins before the mailbox goes */
    fs_lru_free(fs.dirs);
    mb_free(fs.mb);
    fs_live_free(fs.live);
    fs_notify_free(fs.notify);
    fs_trash_free(fs.trash);
    if (se) {
        fuse_remove_signal_handlers(se);
        fuse_session_unmount(se);
        fuse_session_destroy(se);
    }
    return ret;
}

int main(int argc, char **argv)
{
    struct fs_opts o;
    struct fuse_args args;
    sigset_t set;
    harden();
    log_init(false, false);
    if (fs_opts_parse(argc, argv, &o, &args) < 0) {
        fs_opts_free(&o);
        fuse_opt_free_args(&args);
        return 1;
    }
    hup_reopens_log = o.log != NULL;
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread: every one inherits it */
    int ret = 0;
    if (o.help)
        fs_opts_help(argv[0]);
    else if (o.version)
        printf("rcfs %s (libfuse %s)\n", RCFS_VERSION, fuse_pkgversion());
    else
        ret = start_logging(&o, &args);
    fs_opts_free(&o);
    fuse_opt_free_args(&args);
    return ret;
}

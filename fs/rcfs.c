/*
 * rcfs — mount a RingCentral message store.
 *
 * Startup does everything that can fail before mounting and daemonising,
 * so a failure is one line on stderr and a non-zero exit: options,
 * mount point, credentials, cache folder (and its lock), login (or the
 * persisted state when the server cannot be reached), the extensions.
 * Threads (notifier, signal waiter, mailbox sync) start after the fork.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_cred.h"
#include "cache/cache_dir.h"
#include "config.h"
#include "fs/fs_internal.h"
#include "fs/fs_opts.h"
#include "util/isotime.h"
#include "util/log.h"

static struct mb *sig_mb;

/* SIGUSR1 = sync now; SIGHUP (only with -o log=) = reopen the log file.
 * Waited for in a thread of its own (sigwait), since nothing useful is
 * async-signal-safe. */
static void *sig_main(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGUSR1 && sig_mb)
            mb_refresh_now(sig_mb);
        else if (sig == SIGHUP)
            log_reopen();
    }
    return NULL;
}

/* fs_ops' init, then the connection settings of the options (max_read,
 * which libfuse requires init to repeat). */
static const struct fs_opts *init_opts;
static void init_with_opts(void *userdata, struct fuse_conn_info *conn)
{
    fs_ops.init(userdata, conn);
    fs_opts_conn(init_opts, conn);
}

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

int main(int argc, char **argv)
{
    struct fs_opts o;
    struct fuse_args args;
    struct cred cred = {0};
    struct api *api = NULL;
    struct cdir *cache = NULL;
    struct fuse_session *se = NULL;
    struct fs fs = {0};
    char err[512] = "";
    int ret = 1, rc;
    bool mounted = false, handlers = false;

    log_init(false, false);
    if (fs_opts_parse(argc, argv, &o, &args) < 0) {
        fs_opts_free(&o);
        fuse_opt_free_args(&args);
        return 1;
    }
    if (o.help) {
        fs_opts_help(argv[0]);
        ret = 0;
        goto out;
    }
    if (o.version) {
        printf("rcfs %s (libfuse %s)\n", RCFS_VERSION, fuse_pkgversion());
        ret = 0;
        goto out;
    }
    log_init(false, o.debug);
    if (o.log && log_open_file(o.log, err, sizeof err) < 0) {
        die("%s", err);
        goto out;
    }

    struct stat st;
    if (stat(o.mountpoint, &st) < 0 || !S_ISDIR(st.st_mode)) {
        die("mount point %s is not a folder", o.mountpoint);
        goto out;
    }
    if (cred_load(&cred, o.credentials, err, sizeof err) < 0) {
        die("%s", err);
        goto out;
    }
    struct api_opts ao = {
        .server_url = cred.server_url,
        .client_id = cred.client_id,
        .client_secret = cred.client_secret,
        .jwt = cred.jwt,
        .media_url = o.media_url,
        .timeout_s = o.timeout,
        .max_downloads = o.max_downloads,
        .verbose_http = o.debug,
    };
    if (api_new(&ao, &api, err, sizeof err) < 0) {
        die("%s", err);
        goto out;
    }
    if (cdir_open(o.cache_dir, &cache, err, sizeof err) < 0) {
        die("%s", err);
        goto out;
    }

    /* Log in now so bad credentials fail here, not at the first `ls`. */
    struct api_call c = {.deadline_ms = isotime_mono_ms() + (int64_t)o.timeout * 1000,
                         .prio = API_PRIO_USER};
    rc = api_login(api, &c, err, sizeof err);
    bool online = rc == 0;
    if (rc == -EACCES || rc == -EINVAL) {
        die("%s", err[0] ? err : "the server refused the credentials");
        goto out;
    }
    char login_err[sizeof err];
    snprintf(login_err, sizeof login_err, "%s", err);

    fs.uid = o.uid;
    fs.gid = o.gid;
    fs.base_ms = isotime_now_ms();
    fs.timeout = 3600.0;
    fs.no_thumbnails = o.no_thumbnails;
    fs.call_timeout_s = o.timeout;
    fs.notify = fs_notify_new();
    fs.fcache = fs_fcache_new();
    fs.dcache = fs_dcache_new();
    struct mb_opts mo = {
        .api = api,
        .cache = cache,
        .cache_max = o.cache_max,
        .server_url = cred.server_url,
        .client_id = cred.client_id,
        .poll_s = o.poll,
        .probe_bytes = o.probe_kib * 1024,
        .timeout_s = o.timeout,
        .events = fs_events(&fs),
    };
    rc = mb_new(&mo, online, &fs.mb, err, sizeof err);
    if (rc < 0) {
        /* One line: why the server was not reached, and that nothing is cached. */
        if (!online && rc == -EHOSTUNREACH)
            die("%s, and nothing is cached for it", login_err[0] ? login_err : "no server");
        else
            die("%s", err);
        goto out;
    }
    fs.base_ms = mb_created_ms(fs.mb);

    /* args carry fsname, subtype and default_permissions (fs_opts_parse). */
    struct fuse_lowlevel_ops ops = fs_ops;
    ops.init = init_with_opts;
    init_opts = &o;
    se = fuse_session_new(&args, &ops, sizeof ops, &fs);
    if (!se) {
        die("cannot create the FUSE session (bad FUSE option?)");
        goto out;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        die("cannot install signal handlers");
        goto out;
    }
    handlers = true;
    if (fuse_session_mount(se, o.mountpoint) != 0) {
        die("cannot mount on %s", o.mountpoint);
        goto out;
    }
    mounted = true;
    if (!o.foreground)
        fprintf(stderr, "rcfs: mounted on %s\n", o.mountpoint);
    if (fuse_daemonize(o.foreground) != 0) {
        die("cannot daemonise");
        goto out;
    }
    if (!o.foreground) {
        log_init(true, o.debug);
        log_redirect_stderr(); /* libfuse's messages too, with -o log= */
    }
    log_info("rcfs %s mounted on %s (%s)", RCFS_VERSION, o.mountpoint,
             online ? "online" : "offline");

    /* Block SIGUSR1 (and SIGHUP, to reopen a log file rather than
     * unmount) before any thread exists, so only sig_main sees them. */
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (o.log)
        sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sig_mb = fs.mb;
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, sig_main, &set) == 0)
        pthread_detach(sig_thread);
    fs_notify_start(fs.notify, se);
    mb_start(fs.mb);

    if (o.singlethread) {
        rc = fuse_session_loop(se);
    } else {
        /* Every request that waits for the server holds a worker thread,
         * and the kernel hands out queued requests in arrival order.  With
         * few threads, 200 thumbnailer lookups would occupy them all and a
         * person's `cat` would wait behind them in the kernel, before the
         * USER-first pacing could even see it.  Idle threads are reaped
         * (idle_threads), so the cap costs nothing until it is needed. */
        struct fuse_loop_config *cfg = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(cfg, 256);
        fuse_loop_cfg_set_idle_threads(cfg, 8);
        rc = fuse_session_loop_mt(se, cfg);
        fuse_loop_cfg_destroy(cfg);
    }
    /* libfuse ends the loop with the signal's number after SIGTERM, SIGINT
     * or SIGHUP: that is a requested, clean stop (systemctl stop, ^C), and
     * a service manager must not record it as a failure. */
    ret = (rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP) ? 0 : 1;
    log_info("unmounted; saving state");

out:
    /* Mailbox threads notify the kernel through the session: stop them
     * (and save the state) before the session's fd goes away. */
    sig_mb = NULL;
    fs_fcache_free(&fs); /* releases cache pins before the mailbox goes */
    fs_dcache_free(fs.dcache);
    mb_free(fs.mb);
    fs_notify_free(fs.notify);
    if (handlers)
        fuse_remove_signal_handlers(se);
    if (mounted)
        fuse_session_unmount(se);
    if (se)
        fuse_session_destroy(se);
    api_free(api);
    cdir_close(cache);
    cred_free(&cred);
    fs_opts_free(&o);
    fuse_opt_free_args(&args);
    return ret;
}

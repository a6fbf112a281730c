/* Unit tests for fs/fs_opts: defaults, values and ranges, the FUSE
 * arguments built for libfuse (fsname, subtype, default_permissions), and
 * refusals.  Refusals print one line to stderr, which shows in the log. */
#include "fs/fs_opts.h"
#include "tests/unit/check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* Parse the NULL-terminated arguments after "rcfs". */
static int parse(struct fs_opts *o, struct fuse_args *args, ...)
{
    char *argv[32] = {"rcfs"};
    int argc = 1;
    va_list ap;
    va_start(ap, args);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    return fs_opts_parse(argc, argv, o, args);
}

/* The FUSE arguments as one string, " "-separated. */
static const char *joined(const struct fuse_args *args)
{
    static char buf[1024];
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < args->argc; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", args->argv[i]);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

static void done(struct fs_opts *o, struct fuse_args *args)
{
    fs_opts_free(o);
    fuse_opt_free_args(args);
}

static void test_defaults(void)
{
    struct fs_opts o;
    struct fuse_args args;
    CHECK_INT(parse(&o, &args, "/mnt", NULL), 0);
    CHECK_STR(o.mountpoint, "/mnt");
    CHECK(o.source == NULL);
    CHECK_INT(o.poll, 60);
    CHECK_INT(o.timeout, 60);
    CHECK_INT(o.max_downloads, 4);
    CHECK_INT(o.probe_kib, 4096);
    CHECK_INT(o.cache_max, 2ULL << 30);
    CHECK_INT(o.umask, 077);
    CHECK_INT(o.file_mode, 0600);
    CHECK_INT(o.dir_mode, 0700);
    CHECK_INT(o.uid, getuid());
    CHECK_INT(o.gid, getgid());
    CHECK(!o.purge && !o.no_thumbnails && !o.allow_other && !o.foreground && !o.debug);
    CHECK(o.log == NULL && o.credentials == NULL && o.media_url == NULL);
    CHECK(o.cache_dir && o.cache_dir[0] == '/');
    CHECK_INT(o.max_read, 0);
    CHECK_STR(o.fsname, "rcfs");
    CHECK_STR(o.subtype, "rcfs");
    CHECK_STR(joined(&args), "rcfs -o fsname=rcfs,subtype=rcfs");
    done(&o, &args);
}

static void test_debug_implies_foreground(void)
{
    struct fs_opts o;
    struct fuse_args args;
    CHECK_INT(parse(&o, &args, "-d", "/mnt", NULL), 0);
    CHECK(o.debug && o.foreground);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "-o", "debug", "/mnt", NULL), 0);
    CHECK(o.debug && o.foreground);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "-f", "-s", "/mnt", NULL), 0);
    CHECK(!o.debug && o.foreground && o.singlethread);
    CHECK_INT(count(joined(&args), "-f"), 0); /* rcfs's own, not libfuse's */
    done(&o, &args);
}

static void test_fsname_and_subtype(void)
{
    struct fs_opts o;
    struct fuse_args args;
    CHECK_INT(parse(&o, &args, "ringcentral", "/mnt", NULL), 0);
    CHECK_STR(o.source, "ringcentral");
    CHECK_STR(joined(&args), "rcfs -o fsname=ringcentral,subtype=rcfs");
    done(&o, &args);

    /* The user's win over SOURCE and the default, and appear once. */
    CHECK_INT(parse(&o, &args, "ringcentral", "/mnt", "-o", "fsname=mine,subtype=rc2", NULL), 0);
    CHECK_STR(o.fsname, "mine");
    CHECK_STR(o.subtype, "rc2");
    CHECK_STR(joined(&args), "rcfs -o fsname=mine,subtype=rc2");
    done(&o, &args);

    /* A comma in a value stays one option. */
    CHECK_INT(parse(&o, &args, "/mnt", "-o", "fsname=a\\,b", NULL), 0);
    CHECK_STR(o.fsname, "a,b");
    CHECK_STR(joined(&args), "rcfs -o fsname=a\\,b,subtype=rcfs");
    done(&o, &args);
}

static void test_allow_other_brings_default_permissions(void)
{
    struct fs_opts o;
    struct fuse_args args;
    CHECK_INT(parse(&o, &args, "/mnt", "-o", "allow_other,ro", NULL), 0);
    CHECK(o.allow_other);
    const char *j = joined(&args);
    CHECK_INT(count(j, "allow_other"), 1);
    CHECK_INT(count(j, ",ro") + count(j, " ro"), 1);
    CHECK_INT(count(j, "default_permissions"), 1);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "/mnt", "-o", "allow_root", NULL), 0);
    CHECK_INT(count(joined(&args), "default_permissions"), 1);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "/mnt", "-o", "default_permissions,allow_other", NULL), 0);
    CHECK_INT(count(joined(&args), "default_permissions"), 1);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "/mnt", "-o", "auto_unmount", NULL), 0);
    CHECK_INT(count(joined(&args), "default_permissions"), 0);
    done(&o, &args);
}

static void test_values(void)
{
    struct fs_opts o;
    struct fuse_args args;
    CHECK_INT(parse(&o, &args, "mnt", "-o",
                    "poll=0,timeout=1,max_downloads=64,probe_kib=1,cache_max=500M,umask=022", "-o",
                    "uid=1234,gid=0,purge,no_thumbnails,log=rcfs.log,credentials=c.env", "-o",
                    "cache_dir=c,media_url=http://127.0.0.1:9,max_read=65536", NULL),
              0);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    char want[4200];
    snprintf(want, sizeof want, "%s/mnt", cwd);
    CHECK_STR(o.mountpoint, want);
    snprintf(want, sizeof want, "%s/rcfs.log", cwd);
    CHECK_STR(o.log, want);
    snprintf(want, sizeof want, "%s/c.env", cwd);
    CHECK_STR(o.credentials, want);
    snprintf(want, sizeof want, "%s/c", cwd);
    CHECK_STR(o.cache_dir, want);
    CHECK_STR(o.media_url, "http://127.0.0.1:9");
    CHECK_INT(o.poll, 0);
    CHECK_INT(o.timeout, 1);
    CHECK_INT(o.max_downloads, 64);
    CHECK_INT(o.probe_kib, 1);
    CHECK_INT(o.cache_max, 500ULL << 20);
    CHECK_INT(o.file_mode, 0644);
    CHECK_INT(o.dir_mode, 0755);
    CHECK_INT(o.uid, 1234);
    CHECK_INT(o.gid, 0);
    CHECK(o.purge && o.no_thumbnails);
    CHECK_INT(o.max_read, 65536);
    CHECK_INT(count(joined(&args), "max_read=65536"), 1);
    struct fuse_conn_info conn = {0};
    fs_opts_conn(&o, &conn);
    CHECK_INT(conn.max_read, 65536);
    done(&o, &args);
}

static void test_refusals(void)
{
    static const char *const bad[] = {
        "bogus",
        "poll=-1",
        "poll=86401",
        "poll=1x",
        "timeout=0",
        "max_downloads=0",
        "max_downloads=65",
        "probe_kib=0",
        "probe_kib=65537",
        "umask=778",
        "umask=8",
        "uid=-1",
        "uid=4294967295",
        "cache_max=2X",
        "cache_max=",
        "max_read=4095",
        "max_read=1048577",
        "purge=1",
        "allow_other=1",
        "credentials",
        "log=",
        "fsname=",
        "clone_fd",
        "max_threads=4",
        "nonempty",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fs_opts o;
        struct fuse_args args;
        int rc = parse(&o, &args, "/mnt", "-o", bad[i], NULL);
        if (rc != -1)
            fprintf(stderr, "accepted: -o %s\n", bad[i]);
        CHECK_INT(rc, -1);
        done(&o, &args);
    }
    struct fs_opts o;
    struct fuse_args args;
    CHECK_INT(parse(&o, &args, "-x", "/mnt", NULL), -1);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "a", "b", "c", NULL), -1);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, NULL), -1);
    done(&o, &args);
    CHECK_INT(parse(&o, &args, "--help", NULL), 0);
    CHECK(o.help);
    done(&o, &args);
}

static void test_sizes(void)
{
    uint64_t v = 7;
    CHECK(fs_opts_size("0", &v) == 0 && v == 0);
    CHECK(fs_opts_size("12345", &v) == 0 && v == 12345);
    CHECK(fs_opts_size("100k", &v) == 0 && v == 100 << 10);
    CHECK(fs_opts_size("2G", &v) == 0 && v == 2ULL << 30);
    CHECK(fs_opts_size("3GiB", &v) == 0 && v == 3ULL << 30);
    CHECK(fs_opts_size("1T", &v) == 0 && v == 1ULL << 40);
    CHECK(fs_opts_size("5MB", &v) == 0 && v == 5ULL << 20);
    v = 7;
    CHECK(fs_opts_size("", &v) == -1 && v == 7);
    CHECK(fs_opts_size("-1", &v) == -1);
    CHECK(fs_opts_size("2X", &v) == -1);
    CHECK(fs_opts_size("2B", &v) == -1);
    CHECK(fs_opts_size("2GG", &v) == -1);
    CHECK(fs_opts_size("99999999999T", &v) == -1);
    CHECK(fs_opts_size("18446744073709551616", &v) == -1);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_debug_implies_foreground);
    RUN(test_fsname_and_subtype);
    RUN(test_allow_other_brings_default_permissions);
    RUN(test_values);
    RUN(test_refusals);
    RUN(test_sizes);
    return CHECK_DONE();
}

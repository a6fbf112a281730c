/* Unit tests for cache/cache_dir: creation, permissions, ownership, the lock. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_dir.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

static unsigned mode_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0xffff;
    return st.st_mode & 07777;
}

static void test_create(void)
{
    char err[256] = "";
    struct cdir *d = NULL;
    CHECK_INT(cdir_open(tmp_path("a/b/cache"), &d, err, sizeof err), 0);
    CHECK(d != NULL);
    CHECK_INT(mode_of(tmp_path("a")), 0700);
    CHECK_INT(mode_of(tmp_path("a/b")), 0700);
    CHECK_INT(mode_of(tmp_path("a/b/cache")), 0700);
    CHECK_INT(mode_of(tmp_path("a/b/cache/objects")), 0700);
    CHECK_INT(mode_of(tmp_path("a/b/cache/state")), 0700);
    CHECK_INT(mode_of(tmp_path("a/b/cache/lock")), 0600);
    CHECK_STR(cdir_objects(d), tmp_path("a/b/cache/objects"));

    /* The lock file names us while we hold it. */
    FILE *f = fopen(tmp_path("a/b/cache/lock"), "r");
    long pid = 0;
    CHECK(f && fscanf(f, "%ld", &pid) == 1);
    if (f)
        fclose(f);
    CHECK_INT(pid, getpid());
    cdir_close(d);
    cdir_close(NULL);

    /* Opening again (existing folder) works, and the lock was released. */
    CHECK_INT(cdir_open(tmp_path("a/b/cache"), &d, err, sizeof err), 0);
    cdir_close(d);
}

static void test_tighten(void)
{
    char err[256] = "";
    struct cdir *d = NULL;
    CHECK_INT(mkdir(tmp_path("loose"), 0700), 0);
    CHECK_INT(chmod(tmp_path("loose"), 0755), 0);
    CHECK_INT(cdir_open(tmp_path("loose"), &d, err, sizeof err), 0);
    CHECK_INT(mode_of(tmp_path("loose")), 0700);
    cdir_close(d);

    CHECK_INT(chmod(tmp_path("loose"), 0777), 0);
    CHECK_INT(cdir_open(tmp_path("loose"), &d, NULL, 0), 0);
    CHECK_INT(mode_of(tmp_path("loose")), 0700);
    cdir_close(d);
}

static void test_foreign_owner(void)
{
    char err[256] = "";
    struct cdir *d = NULL;
    CHECK_INT(mkdir(tmp_path("foreign"), 0700), 0);
    if (chown(tmp_path("foreign"), 54321, 54321) != 0) {
        fprintf(stderr, "note: cannot chown (not root?); skipping the foreign-owner case\n");
        return;
    }
    CHECK_INT(cdir_open(tmp_path("foreign"), &d, err, sizeof err), -EPERM);
    CHECK(strstr(err, "belongs to uid 54321") != NULL);
    CHECK(strstr(err, tmp_path("foreign")) != NULL);
    /* Refused before anything was created or changed in it. */
    struct stat st;
    CHECK(stat(tmp_path("foreign/lock"), &st) != 0);
    CHECK_INT(mode_of(tmp_path("foreign")), 0700);
}

static void test_not_a_folder(void)
{
    char err[256] = "";
    struct cdir *d = NULL;
    FILE *f = fopen(tmp_path("plain"), "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_INT(cdir_open(tmp_path("plain"), &d, err, sizeof err), -ENOTDIR);
    CHECK(err[0] != '\0');
    CHECK_INT(cdir_open(tmp_path("plain/below"), &d, err, sizeof err), -ENOTDIR);
}

/* In a child: try to open path, exit 0 when refused with the expected line. */
static int child_open(const char *path, int expect_rc, long holder)
{
    pid_t pid = fork();
    if (pid == 0) {
        char err[256] = "", want[256];
        struct cdir *d = NULL;
        int rc = cdir_open(path, &d, err, sizeof err);
        snprintf(want, sizeof want, "cache folder %s is in use by another rcfs (pid %ld)", path,
                 holder);
        if (rc != expect_rc) {
            fprintf(stderr, "child: cdir_open = %d, expected %d (%s)\n", rc, expect_rc, err);
            _exit(1);
        }
        if (rc == -EBUSY && strcmp(err, want) != 0) {
            fprintf(stderr, "child: message \"%s\"\n", err);
            _exit(2);
        }
        cdir_close(d);
        _exit(0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static void test_lock(void)
{
    char err[256] = "";
    struct cdir *d = NULL, *d2 = NULL;
    CHECK_INT(cdir_open(tmp_path("locked"), &d, err, sizeof err), 0);
    CHECK_INT(child_open(tmp_path("locked"), -EBUSY, (long)getpid()), 0);
    /* A second open in this process is refused too (flock is per open file). */
    CHECK_INT(cdir_open(tmp_path("locked"), &d2, err, sizeof err), -EBUSY);
    CHECK(strstr(err, "in use by another rcfs") != NULL);
    cdir_close(d);
    CHECK_INT(child_open(tmp_path("locked"), 0, 0), 0);
    /* A child holding it keeps us out until it exits. */
    int ready[2];
    CHECK_INT(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct cdir *c = NULL;
        char ok = cdir_open(tmp_path("locked"), &c, NULL, 0) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char ok = 0;
    CHECK_INT(read(ready[0], &ok, 1), 1);
    CHECK_INT(ok, 'y');
    CHECK_INT(cdir_open(tmp_path("locked"), &d, err, sizeof err), -EBUSY);
    char want[256];
    snprintf(want, sizeof want, "cache folder %s is in use by another rcfs (pid %ld)",
             tmp_path("locked"), (long)pid);
    CHECK_STR(err, want);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    /* The dead holder's lock went with it. */
    CHECK_INT(cdir_open(tmp_path("locked"), &d, err, sizeof err), 0);
    cdir_close(d);
}

/* rcfs opens the cache folder, then daemonises: the child carries the lock
 * on and the parent exits.  After cdir_note_pid in the child, a second rcfs
 * is told the child's pid, not the parent's (which no longer exists). */
static void test_lock_after_fork(void)
{
    char err[256] = "";
    struct cdir *d = NULL;
    const char *path = tmp_path("forked");
    CHECK_INT(cdir_open(path, &d, err, sizeof err), 0);
    int ready[2];
    CHECK_INT(pipe(ready), 0);
    pid_t daemon = fork();
    if (daemon == 0) {
        char ok = cdir_note_pid(d) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char ok = 0;
    CHECK_INT(read(ready[0], &ok, 1), 1);
    CHECK_INT(ok, 'y');
    CHECK_INT(child_open(path, -EBUSY, (long)daemon), 0);
    kill(daemon, SIGKILL);
    waitpid(daemon, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    cdir_close(d); /* the parent's copy; the lock goes with it */
    CHECK_INT(child_open(path, 0, 0), 0);
}

static void test_state_path(void)
{
    char err[256] = "";
    struct cdir *d = NULL;
    CHECK_INT(cdir_open(tmp_path("st"), &d, err, sizeof err), 0);
    const char *key = "https://platform.ringcentral.com|account 123";
    char *p1 = cdir_state_path(d, key);
    char *p2 = cdir_state_path(d, key);
    char *p3 = cdir_state_path(d, "https://platform.ringcentral.com|account 124");
    CHECK(p1 && p2 && p3);
    if (p1 && p2 && p3) {
        CHECK_STR(p1, p2);
        CHECK(strcmp(p1, p3) != 0);
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits(key, strlen(key)));
        char want[512];
        int n = snprintf(want, sizeof want, "%s/", tmp_path("st/state"));
        for (int i = 0; i < 16; i++)
            n += snprintf(want + n, sizeof want - (size_t)n, "%02x", c.digest[i]);
        CHECK_STR(p1, want);
        CHECK_INT(mode_of(p1), 0700);
        CHECK_INT(mode_of(p3), 0700);
    }
    free(p1);
    free(p2);
    free(p3);
    cdir_close(d);
}

int main(void)
{
    umask(022);
    if (tmp_init() < 0)
        return 1;
    RUN(test_create);
    RUN(test_tighten);
    RUN(test_foreign_owner);
    RUN(test_not_a_folder);
    RUN(test_lock);
    RUN(test_lock_after_fork);
    RUN(test_state_path);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

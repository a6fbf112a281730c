/* Unit tests for the content store's life: before the startup scan starts, a
 * fork between open and start (daemonising), lookups and removals while the
 * scan runs. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_obj.h"
#include "tests/unit/check.h"
#include "tests/unit/cobj_test.h"
#include "tests/unit/tmpdir.h"

/* n objects of size bytes each (content seed i), committed through a store
 * that is closed again; object i was last used n - i seconds ago (file
 * times are too coarse to order objects written in a burst). */
static void make_objects(const char *dir, int n, size_t size)
{
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    for (int i = 0; i < n; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        CHECK_INT(put(s, &k, size, (uint32_t)i), 0);
    }
    cobj_store_close(s);
    for (int i = 0; i < n; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        set_mtime_ago(path_of(dir, &k), n - i);
    }
}

/* Opened, never started: everything works from disk, nothing is evicted
 * (the byte count is partial), and close does not wait for a scan that never
 * began.  Started later, the store enforces its cap. */
static void test_unstarted(void)
{
    const char *dir = tmp_path("unstarted");
    const uint64_t one = 100 + TRAILER, cap = 5 * one;
    make_objects(dir, 20, 100);

    struct cobj_store *s = NULL;
    CHECK_INT(cobj_store_open(dir, cap, &s), 0);
    for (int i = 0; i < 20; i++) {
        struct cobj_key k = key_n((uint64_t)i);
        uint64_t size = 0;
        CHECK(cobj_exists(s, &k, &size));
        CHECK_INT(size, 100);
        CHECK_INT(get(s, &k, 100, (uint32_t)i), 0);
    }
    CHECK_INT(cobj_bytes(s), 20 * one); /* looked up on disk, counted once */
    struct cobj_key extra = key_n(100);
    CHECK_INT(put(s, &extra, 100, 100), 0);
    CHECK_INT(get(s, &extra, 100, 100), 0);
    CHECK_INT(disk_bytes(dir), (int64_t)(21 * one)); /* over the cap: nothing evicted yet */
    CHECK_INT(cobj_remove(s, &extra), 0);
    cobj_store_wait(s); /* not started: returns at once */
    cobj_store_close(s);

    CHECK_INT(cobj_store_open(dir, cap, &s), 0);
    CHECK_INT(cobj_store_start(s), 0);
    CHECK_INT(cobj_store_start(s), 0); /* a second start is harmless */
    cobj_store_wait(s);
    CHECK_INT(cobj_bytes(s), cap);
    CHECK_INT(disk_bytes(dir), (int64_t)cap);
    for (int i = 15; i < 20; i++) { /* the newest five stay */
        struct cobj_key k = key_n((uint64_t)i);
        CHECK_INT(get(s, &k, 100, (uint32_t)i), 0);
    }
    cobj_store_close(s);
}

/* The child's part of test_fork: start, let the scan finish, check the cap.
 * Exits 0 when every check passed. */
static void fork_child(struct cobj_store *s, const char *dir, uint64_t cap)
{
    int before = check_failures;
    CHECK_INT(cobj_store_start(s), 0);
    cobj_store_wait(s); /* hangs forever if the scan cannot end */
    CHECK(cobj_bytes(s) <= cap);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    struct cobj_key k = key_n(1000);
    CHECK_INT(put(s, &k, 100, 7), 0);
    CHECK(cobj_bytes(s) <= cap);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    CHECK_INT(get(s, &k, 100, 7), 0);
    cobj_store_close(s);
    _exit(check_failures == before ? 0 : 1);
}

/* rcfs opens the store, then daemonises (fork), then starts it: the child's
 * store must scan, finish and enforce the cap.  A scan thread started before
 * the fork would not exist in the child, whose store would wait for it
 * forever (or hang on a lock it held). */
static void test_fork(void)
{
    const char *dir = tmp_path("fork");
    const uint64_t one = 100 + TRAILER, cap = 10 * one;
    make_objects(dir, 300, 100);

    struct cobj_store *s = NULL;
    CHECK_INT(cobj_store_open(dir, cap, &s), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        fork_child(s, dir, cap);
    /* A deadline for a child that hangs: generous, so only a hang fails. */
    int status = -1;
    pid_t done = 0;
    for (int i = 0; i < 300 && done == 0; i++) {
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            usleep(100 * 1000);
    }
    if (done == 0) {
        fprintf(stderr, "the child's store never finished its scan\n");
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    CHECK(done == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cobj_store_close(s); /* the parent's, never started */

    CHECK_INT(store_open(dir, cap, &s), 0);
    CHECK(cobj_bytes(s) <= cap);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    cobj_store_close(s);
}

/* Objects are found while the startup scan still runs (looked up on disk). */
static void test_lookup_during_scan(void)
{
    const char *dir = tmp_path("scan");
    struct cobj_store *s;
    struct cobj_key k[200];
    CHECK_INT(store_open(dir, 0, &s), 0);
    for (int i = 0; i < 200; i++) {
        k[i] = cobj_key_make("srv", "acc", 1, (uint64_t)i, 7);
        CHECK_INT(put(s, &k[i], 100 + i, (uint8_t)i), 0);
    }
    cobj_store_close(s);
    CHECK_INT(cobj_store_open(dir, 0, &s), 0);
    CHECK_INT(cobj_store_start(s), 0); /* no wait: the scan may still run */
    for (int i = 199; i >= 0; i -= 7) {
        uint64_t sz;
        CHECK(cobj_exists(s, &k[i], &sz));
        CHECK_INT(sz, 100 + i);
        CHECK_INT(get(s, &k[i], (uint64_t)(100 + i), (uint8_t)i), 0);
    }
    cobj_store_wait(s);
    uint64_t want = 0;
    for (int i = 0; i < 200; i++)
        want += (uint64_t)(100 + i) + TRAILER;
    CHECK_INT(cobj_bytes(s), want); /* adopted and scanned objects counted once */
    cobj_store_close(s);
}

/* Objects removed while the scan runs stay removed: the scan may have listed
 * a file before it was deleted, and its merge must not index it again (the
 * index would count bytes, and cobj_exists answer yes, for a file that is
 * gone).  20,000 files keep the scan busy while the removals run, so
 * without that guard most runs index some removed files again. */
static void test_remove_during_scan(void)
{
    const char *dir = tmp_path("remove-scan");
    const int n = 20000;
    fake_objects(dir, n);
    struct cobj_store *s = NULL;
    CHECK_INT(cobj_store_open(dir, 0, &s), 0);
    CHECK_INT(cobj_store_start(s), 0);
    int removed = 0;
    for (int i = n - 1; i >= 0; i -= 25) {
        struct cobj_key k = key_n((uint64_t)i);
        CHECK_INT(cobj_remove(s, &k), 0);
        removed++;
    }
    cobj_store_wait(s);
    for (int i = n - 1; i >= 0; i -= 25) {
        struct cobj_key k = key_n((uint64_t)i);
        CHECK(!exists(s, &k));
        CHECK(!file_exists(path_of(dir, &k)));
    }
    CHECK_INT(cobj_bytes(s), (uint64_t)(n - removed) * TRAILER);
    CHECK_INT(disk_bytes(dir), (int64_t)cobj_bytes(s));
    cobj_store_close(s);
}

int main(void)
{
    umask(022);
    if (tmp_init() < 0)
        return 1;
    RUN(test_unstarted);
    RUN(test_fork);
    RUN(test_lookup_during_scan);
    RUN(test_remove_during_scan);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

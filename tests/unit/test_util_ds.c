/* Unit tests for util/ohash, util/vec32 and util/lockrank. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "util/lockrank.h"
#include "util/ohash.h"
#include "util/vec32.h"

/* Objects hashed by a key that collides on purpose (few distinct hashes). */
static uint64_t keys[5000];

static uint64_t weak_hash(uint64_t key)
{
    return key % 7; /* long probe chains */
}

static uint64_t hash_of(void *ctx, uint32_t v)
{
    return weak_hash(keys[v]);
}

static bool match(const void *arg, uint32_t v)
{
    return keys[v] == *(const uint64_t *)arg;
}

static void test_ohash(void)
{
    struct ohash h;
    ohash_init(&h, hash_of, NULL);
    uint32_t out = 123;
    uint64_t k0 = 42;
    CHECK(!ohash_find(&h, weak_hash(k0), match, &k0, &out));
    for (uint32_t i = 0; i < 5000; i++) {
        keys[i] = (uint64_t)i * 1000003u + 17;
        ohash_insert(&h, weak_hash(keys[i]), i);
    }
    CHECK_INT(h.n, 5000);
    CHECK(h.cap >= 5000 * 10 / 7); /* grew, staying under 70% full */
    bool all = true;
    for (uint32_t i = 0; i < 5000; i++) {
        all = all && ohash_find(&h, weak_hash(keys[i]), match, &keys[i], &out) && out == i;
    }
    CHECK(all);
    uint64_t missing = 5;
    CHECK(!ohash_find(&h, weak_hash(missing), match, &missing, &out));
    ohash_free(&h);
    CHECK_INT(h.n, 0);
    CHECK(!ohash_find(&h, weak_hash(keys[0]), match, &keys[0], &out));
    CHECK(ohash_str("abc", 1) != ohash_str("abc", 2));
    CHECK(ohash_str("abc", 1) == ohash_str("abc", 1));
}

static void test_vec32(void)
{
    struct vec32 v = {0};
    for (uint32_t i = 0; i < 100; i++)
        vec32_push(&v, i);
    CHECK_INT(v.n, 100);
    CHECK(vec32_has(&v, 57));
    CHECK(vec32_remove(&v, 57));
    CHECK(!vec32_has(&v, 57));
    CHECK(!vec32_remove(&v, 57));
    CHECK_INT(v.n, 99);
    CHECK(vec32_has(&v, 99) && vec32_has(&v, 0));
    vec32_free(&v);
    CHECK_INT(v.n, 0);
}

/* Run fn in a child; true when it died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void in_order(void)
{
    lockrank_acquire(1, "a");
    lockrank_acquire(3, "b");
    lockrank_release(3);
    lockrank_acquire(2, "c");
    lockrank_release(2);
    lockrank_release(1);
}

static void out_of_order(void)
{
    lockrank_acquire(3, "b");
    lockrank_acquire(2, "c"); /* lower rank while holding a higher one */
}

static void twice(void)
{
    lockrank_acquire(2, "c");
    lockrank_acquire(2, "c");
}

static void test_lockrank(void)
{
#ifndef NDEBUG
    CHECK(!aborts(in_order));
    CHECK(aborts(out_of_order));
    CHECK(aborts(twice));
    lockrank_acquire(4, "x");
    CHECK(lockrank_held(4));
    lockrank_release(4);
    CHECK(!lockrank_held(4));
#endif
}

int main(void)
{
    RUN(test_ohash);
    RUN(test_vec32);
    RUN(test_lockrank);
    return CHECK_DONE();
}

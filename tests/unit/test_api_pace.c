/* Unit tests for api_pace: the pacing algorithm under a fake clock. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "api/api_pace.h"
#include "check.h"
#include "util/isotime.h"

struct fake_clock {
    int64_t now;
};

static int64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static struct pace_report answer(long limit, long window_s, long remaining)
{
    return (struct pace_report){.sent = true,
                                .answered = true,
                                .retry_after_s = -1,
                                .group = "Medium",
                                .limit = limit,
                                .remaining = remaining,
                                .window_s = window_s};
}

/* Admit one request at once or fail the check. */
static void admit_now(struct pace *p, enum pace_group g, enum api_prio prio)
{
    struct pace_ticket t;
    pace_enqueue(p, &t, g, prio);
    int64_t w = pace_try(p, &t);
    CHECK_INT(w, 0);
    if (w != 0)
        pace_dequeue(p, &t);
}

static void test_probe_until_learned(void)
{
    struct fake_clock fc = {1000};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_ticket a, b;
    struct pace_report r = answer(5, 3, 4);

    pace_enqueue(p, &a, PACE_MEDIUM, API_PRIO_USER);
    pace_enqueue(p, &b, PACE_MEDIUM, API_PRIO_USER);
    CHECK_INT(pace_try(p, &a), 0);
    /* nothing learned yet: only one request in flight */
    CHECK(pace_try(p, &b) == PACE_WAIT_EVENT);
    fc.now += 20;
    pace_release(p, PACE_MEDIUM, &r);
    CHECK_INT(pace_try(p, &b), 0);
    struct pace_state st;
    pace_get_state(p, PACE_MEDIUM, &st);
    CHECK(st.learned);
    CHECK_INT(st.limit, 5);
    CHECK_INT(st.window_ms, 3000);
    CHECK_INT(st.in_flight, 1);
    pace_release(p, PACE_MEDIUM, &r);
    pace_free(p);
}

/* Many waiting callers for 60 s of fake time: never more than limit admissions in any window. */
static void test_never_exceeds_limit(void)
{
    enum { LIMIT = 5, WINDOW_MS = 3000, LATENCY = 40, SPAN = 60000, MAXA = 1000 };
    struct fake_clock fc = {0};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_ticket q[3];
    int64_t admitted[MAXA], done_at[MAXA];
    int na = 0, next_done = 0;
    struct pace_report r = answer(LIMIT, WINDOW_MS / 1000, -1);

    /* learn the limits with one request first */
    admit_now(p, PACE_MEDIUM, API_PRIO_BACKGROUND);
    pace_release(p, PACE_MEDIUM, &r);
    for (int i = 0; i < 3; i++)
        pace_enqueue(p, &q[i], PACE_MEDIUM, i == 1 ? API_PRIO_USER : API_PRIO_BACKGROUND);
    for (fc.now = 0; fc.now < SPAN; fc.now += 5) {
        while (next_done < na && done_at[next_done] <= fc.now) {
            pace_release(p, PACE_MEDIUM, &r);
            next_done++;
        }
        for (int i = 0; i < 3 && na < MAXA; i++) {
            if (pace_try(p, &q[i]) == 0) {
                admitted[na] = fc.now;
                done_at[na++] = fc.now + LATENCY;
                pace_enqueue(p, &q[i], PACE_MEDIUM, q[i].prio); /* wants another */
            }
        }
    }
    int worst = 0;
    for (int i = 0; i < na; i++) {
        int in = 0;
        for (int j = 0; j <= i; j++)
            in += admitted[j] > admitted[i] - WINDOW_MS;
        if (in > worst)
            worst = in;
    }
    CHECK(worst <= LIMIT);
    /* and it does not starve: close to LIMIT per (window + latency) */
    CHECK(na >= (SPAN / (WINDOW_MS + LATENCY + 10)) * LIMIT - LIMIT);
    fprintf(stderr, "  %d admitted in %d ms, at most %d per window\n", na, SPAN, worst);
    for (int i = 0; i < 3; i++)
        pace_dequeue(p, &q[i]);
    pace_free(p);
}

static void test_penalty_blocks_group(void)
{
    struct fake_clock fc = {10000};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_report ok = answer(5, 3, 4), limited = answer(5, 3, 0);
    struct pace_ticket t, other;

    admit_now(p, PACE_MEDIUM, API_PRIO_USER);
    pace_release(p, PACE_MEDIUM, &ok);
    admit_now(p, PACE_MEDIUM, API_PRIO_USER);
    limited.rate_limited = true;
    limited.retry_after_s = 5;
    pace_release(p, PACE_MEDIUM, &limited);

    pace_enqueue(p, &t, PACE_MEDIUM, API_PRIO_USER);
    int64_t w = pace_try(p, &t);
    CHECK(w >= 5000 && w <= 5500);
    /* nothing goes during the penalty, whatever the window says */
    for (int step = 0; step < 10; step++) {
        fc.now += 500;
        if (fc.now < 10000 + 5000)
            CHECK(pace_try(p, &t) > 0);
    }
    fc.now = 10000 + 5000 + 300;
    CHECK_INT(pace_try(p, &t), 0);
    pace_release(p, PACE_MEDIUM, &ok);

    /* other groups are not blocked */
    pace_enqueue(p, &other, PACE_LIGHT, API_PRIO_USER);
    CHECK_INT(pace_try(p, &other), 0);
    pace_release(p, PACE_LIGHT, &ok);

    /* no Retry-After: 30 s */
    admit_now(p, PACE_HEAVY, API_PRIO_USER);
    limited.retry_after_s = -1;
    limited.group = "Heavy";
    pace_release(p, PACE_HEAVY, &limited);
    pace_enqueue(p, &t, PACE_HEAVY, API_PRIO_USER);
    w = pace_try(p, &t);
    CHECK(w >= PACE_DEFAULT_PENALTY_MS && w <= PACE_DEFAULT_PENALTY_MS + 500);
    pace_dequeue(p, &t);
    pace_free(p);
}

static void test_user_before_background(void)
{
    struct fake_clock fc = {0};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_report r = answer(2, 1, -1);
    struct pace_ticket bg1, bg2, user;

    admit_now(p, PACE_MEDIUM, API_PRIO_USER);
    pace_release(p, PACE_MEDIUM, &r);
    admit_now(p, PACE_MEDIUM, API_PRIO_USER);
    pace_release(p, PACE_MEDIUM, &r); /* window full until t = 1000 */
    pace_enqueue(p, &bg1, PACE_MEDIUM, API_PRIO_BACKGROUND);
    pace_enqueue(p, &bg2, PACE_MEDIUM, API_PRIO_BACKGROUND);
    CHECK(pace_try(p, &bg1) > 0);
    pace_enqueue(p, &user, PACE_MEDIUM, API_PRIO_USER); /* arrives last */
    fc.now = 1001 + PACE_SLOT_MARGIN_MS;
    CHECK(pace_try(p, &bg1) == PACE_WAIT_EVENT); /* the person goes first */
    CHECK_INT(pace_try(p, &user), 0);
    CHECK_INT(pace_try(p, &bg1), 0); /* then background, in arrival order */
    CHECK(pace_try(p, &bg2) > 0);
    pace_release(p, PACE_MEDIUM, &r);
    pace_release(p, PACE_MEDIUM, &r);
    pace_dequeue(p, &bg2);
    pace_free(p);
}

static void test_background_leaves_a_tenth(void)
{
    struct fake_clock fc = {0};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_report r = answer(20, 60, -1);
    struct pace_ticket t;
    int bg = 0;

    r.group = "Light";
    admit_now(p, PACE_LIGHT, API_PRIO_USER);
    pace_release(p, PACE_LIGHT, &r);
    for (;;) {
        pace_enqueue(p, &t, PACE_LIGHT, API_PRIO_BACKGROUND);
        if (pace_try(p, &t) != 0)
            break;
        bg++;
    }
    pace_dequeue(p, &t);
    CHECK_INT(bg + 1, 18); /* 20 - 20/10 */
    admit_now(p, PACE_LIGHT, API_PRIO_USER);
    admit_now(p, PACE_LIGHT, API_PRIO_USER);
    pace_enqueue(p, &t, PACE_LIGHT, API_PRIO_USER);
    CHECK(pace_try(p, &t) > 0); /* 20 in the window: full for everyone */
    pace_dequeue(p, &t);
    pace_free(p);
}

static void test_remaining_counts_others(void)
{
    struct fake_clock fc = {0};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_report r = answer(10, 60, 2); /* someone else used 7 */
    struct pace_state st;

    r.group = NULL; /* no group header: the request's own group */
    admit_now(p, PACE_LIGHT, API_PRIO_USER);
    pace_release(p, PACE_LIGHT, &r);
    pace_get_state(p, PACE_LIGHT, &st);
    CHECK_INT(st.in_window, 8);
    fc.now = 60001 + PACE_SLOT_MARGIN_MS;
    pace_get_state(p, PACE_LIGHT, &st);
    CHECK_INT(st.in_window, 0);
    pace_free(p);
}

/* Heap bytes in use, mmapped blocks included (glibc's count; a sanitizer's
 * allocator keeps its own, so there only the pacer's own count is checked). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_COUNTED 0
#else
#define HEAP_COUNTED 1
#endif

/* A server announcing 10,000,000 requests per window with none remaining:
 * all of them count (nothing is sent until they leave the window), in a
 * few bytes. */
static void test_huge_limit_bounded_memory(void)
{
    struct fake_clock fc = {1000};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_report r = answer(10000000, 60, 0);
    struct pace_ticket t;
    struct pace_state st;
    size_t before = heap_in_use();

    admit_now(p, PACE_MEDIUM, API_PRIO_USER);
    pace_release(p, PACE_MEDIUM, &r);
    if (HEAP_COUNTED)
        CHECK(heap_in_use() - before < 64 * 1024);
    pace_get_state(p, PACE_MEDIUM, &st);
    CHECK_INT(st.limit, 10000000);
    CHECK_INT(st.in_window, 10000000);
    CHECK(st.log_entries <= 2);
    pace_enqueue(p, &t, PACE_MEDIUM, API_PRIO_USER);
    CHECK_INT(pace_try(p, &t), 60000 + PACE_SLOT_MARGIN_MS);
    fc.now += 60000 + PACE_SLOT_MARGIN_MS;
    CHECK_INT(pace_try(p, &t), 0);
    pace_release(p, PACE_MEDIUM, &r);
    pace_free(p);
}

/* Thousands of answers at distinct instants: the log keeps at most 1024
 * entries, every request still counts, and the surplus only ever leaves the
 * window later, never earlier. */
static void test_log_entries_capped(void)
{
    enum { N = 3000 };
    struct fake_clock fc = {0};
    struct pace *p = pace_new(fake_now, &fc);
    struct pace_report r = answer(100000, 60, -1);
    struct pace_state st;

    for (int i = 0; i < N; i++) {
        admit_now(p, PACE_MEDIUM, API_PRIO_USER);
        fc.now += 1;
        pace_release(p, PACE_MEDIUM, &r);
    }
    pace_get_state(p, PACE_MEDIUM, &st);
    CHECK_INT(st.in_window, N);
    CHECK(st.log_entries <= 1024);
    /* the first answers leave on time, one per ms */
    fc.now = 1 + 60000 + PACE_SLOT_MARGIN_MS;
    pace_get_state(p, PACE_MEDIUM, &st);
    CHECK_INT(st.in_window, N - 1);
    /* the merged surplus is still counted until the last answer leaves */
    fc.now = N + 60000 + PACE_SLOT_MARGIN_MS - 1;
    pace_get_state(p, PACE_MEDIUM, &st);
    CHECK(st.in_window >= 1);
    fc.now = N + 60000 + PACE_SLOT_MARGIN_MS;
    pace_get_state(p, PACE_MEDIUM, &st);
    CHECK_INT(st.in_window, 0);
    pace_free(p);
}

static void test_acquire_fails_fast_when_penalised(void)
{
    struct pace *p = pace_new(NULL, NULL);
    struct pace_report r = answer(5, 60, 0);
    int64_t t0;

    CHECK_INT(pace_acquire(p, PACE_AUTH, API_PRIO_USER, isotime_mono_ms() + 1000), 0);
    r.rate_limited = true;
    r.retry_after_s = 60;
    r.group = "Auth";
    pace_release(p, PACE_AUTH, &r);
    t0 = isotime_mono_ms();
    CHECK_INT(pace_acquire(p, PACE_AUTH, API_PRIO_USER, t0 + 2000), -ETIMEDOUT);
    CHECK(isotime_mono_ms() - t0 < 500);
    pace_free(p);
}

static void test_acquire_real_clock(void)
{
    struct pace *p = pace_new(NULL, NULL);
    struct pace_report r = answer(3, 1, -1);
    int64_t t0 = isotime_mono_ms();

    r.group = "Light";
    for (int i = 0; i < 7; i++) {
        CHECK_INT(pace_acquire(p, PACE_LIGHT, API_PRIO_USER, t0 + 5000), 0);
        pace_release(p, PACE_LIGHT, &r);
    }
    /* 7 requests at 3 per second: the 4th waits a window, the 7th two */
    CHECK(isotime_mono_ms() - t0 >= 2000);
    CHECK(isotime_mono_ms() - t0 < 3500);
    pace_free(p);
}

int main(void)
{
    RUN(test_probe_until_learned);
    RUN(test_never_exceeds_limit);
    RUN(test_penalty_blocks_group);
    RUN(test_user_before_background);
    RUN(test_background_leaves_a_tenth);
    RUN(test_remaining_counts_others);
    RUN(test_huge_limit_bounded_memory);
    RUN(test_log_entries_capped);
    RUN(test_acquire_fails_fast_when_penalised);
    RUN(test_acquire_real_clock);
    return CHECK_DONE();
}

/*
 * Unit tests for mailbox/mb_uri: which attachment URIs are kept as a base
 * number, and that what is rebuilt is the URI, byte for byte.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/mb_internal.h"
#include "mailbox/mb_uri.h"
#include "tests/unit/check.h"

#define MEDIA                                                                                      \
    "https://media.ringcentral.com/restapi/v1.0/account/400371259008/extension/400371259008"

static void test_base_len(void)
{
    const char *u = MEDIA "/message-store/401060268008/content/400938873008";
    CHECK_INT(uri_base_len(u, 401060268008u, 400938873008u), strlen(MEDIA));
    /* the ids must be this message's and this attachment's */
    CHECK_INT(uri_base_len(u, 401060268008u, 400938873009u), 0);
    CHECK_INT(uri_base_len(u, 1060268008u, 400938873008u), 0);
    CHECK_INT(uri_base_len(u, 401060268008u, 8u), 0);
    /* anything after the ids, or a number written otherwise, is not the form */
    CHECK_INT(uri_base_len(MEDIA "/message-store/5/content/6?contentDisposition=Inline", 5, 6), 0);
    CHECK_INT(uri_base_len(MEDIA "/message-store/5/content/6/", 5, 6), 0);
    CHECK_INT(uri_base_len(MEDIA "/message-store/05/content/6", 5, 6), 0);
    CHECK_INT(uri_base_len(MEDIA "/message-store/5/content/+6", 5, 6), 0);
    CHECK_INT(uri_base_len(MEDIA "/message-store/5/attachment/6", 5, 6), 0);
    /* a base is needed; the whole URI being the tail is not the form */
    CHECK_INT(uri_base_len("/message-store/5/content/6", 5, 6), 0);
    CHECK_INT(uri_base_len("x/message-store/5/content/6", 5, 6), 1);
    CHECK_INT(uri_base_len("", 5, 6), 0);
    /* 64-bit ids in full */
    char big[256];
    snprintf(big, sizeof big, "%s/message-store/%" PRIu64 "/content/%" PRIu64, MEDIA, UINT64_MAX,
             UINT64_MAX - 1);
    CHECK_INT(uri_base_len(big, UINT64_MAX, UINT64_MAX - 1), strlen(MEDIA));
    CHECK_INT(uri_base_len(big, UINT64_MAX - 1, UINT64_MAX - 1), 0);
}

/* A mailbox with one extension: all uri_form_of needs. */
static struct mb *one_ext(void)
{
    struct mb *m = calloc(1, sizeof *m);
    m->ix.exts = calloc(1, sizeof *m->ix.exts);
    m->ix.n_ext = 1;
    return m;
}

static void free_ext(struct mb *m)
{
    for (uint32_t i = 0; i < m->ix.exts[0].n_uri_bases; i++)
        free(m->ix.exts[0].uri_bases[i]);
    free(m->ix.exts[0].uri_bases);
    free(m->ix.exts);
    free(m);
}

static void test_forms_rebuild_exactly(void)
{
    struct mb *m = one_ext();
    const char *a = MEDIA "/message-store/7/content/8";
    const char *b = "https://platform.ringcentral.com/restapi/v1.0/account/1/extension/2"
                    "/message-store/9/content/10";
    uint8_t fa = uri_form_of(m, 0, a, 7, 8);
    uint8_t fb = uri_form_of(m, 0, b, 9, 10);
    CHECK_INT(fa, 1);
    CHECK_INT(fb, 2);
    CHECK_INT(uri_form_of(m, 0, MEDIA "/message-store/70/content/80", 70, 80), fa); /* shared */
    CHECK_INT(m->ix.exts[0].n_uri_bases, 2);
    char *ra = uri_build(uri_base(m, 0, fa), 7, 8);
    char *rb = uri_build(uri_base(m, 0, fb), 9, 10);
    CHECK_STR(ra, a);
    CHECK_STR(rb, b);
    free(ra);
    free(rb);
    CHECK_INT(uri_form_of(m, 0, NULL, 7, 8), URI_NONE);
    CHECK_INT(uri_form_of(m, 0, MEDIA "/message-store/7/content/8?x=1", 7, 8), URI_RECORD);
    CHECK(uri_base(m, 0, URI_UNKNOWN) == NULL);
    CHECK(uri_base(m, 0, URI_RECORD) == NULL);
    CHECK(uri_base(m, 0, URI_NONE) == NULL);
    CHECK(uri_base(m, 0, 3) == NULL);
    free_ext(m);
}

static void test_bases_are_capped(void)
{
    struct mb *m = one_ext();
    char u[256];
    for (int i = 0; i < URI_BASES_MAX; i++) {
        snprintf(u, sizeof u, "https://h%d.example/message-store/1/content/2", i);
        CHECK_INT(uri_form_of(m, 0, u, 1, 2), i + 1);
    }
    snprintf(u, sizeof u, "https://one-too-many.example/message-store/1/content/2");
    CHECK_INT(uri_form_of(m, 0, u, 1, 2), URI_RECORD);
    snprintf(u, sizeof u, "https://h5.example/message-store/3/content/4");
    CHECK_INT(uri_form_of(m, 0, u, 3, 4), 6); /* a known base still is */
    CHECK_INT(m->ix.exts[0].n_uri_bases, URI_BASES_MAX);
    free_ext(m);
}

int main(void)
{
    RUN(test_base_len);
    RUN(test_forms_rebuild_exactly);
    RUN(test_bases_are_capped);
    return CHECK_DONE();
}

/*
 * Unit tests for api_sendbody: the exact bytes of a body with fields and a
 * file, its announced length, reading in small and odd-sized pieces,
 * starting again, hostile file names, bad names refused, and a file that
 * shrank while it was sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_sendbody.h"
#include "check.h"
#include "tmpdir.h"
#include "util/mem.h"

/* The whole body read in pieces of `step` bytes (malloc'd), or NULL. */
static char *read_all(struct sendbody *b, size_t step, size_t *len)
{
    size_t cap = (size_t)sendbody_length(b) + 16, n = 0;
    char *out = mem_alloc(cap);

    for (;;) {
        ssize_t got = sendbody_read(b, out + n, cap - n < step ? cap - n : step);
        if (got < 0) {
            free(out);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *len = n;
    return out;
}

static int make_file(const char *name, const char *content)
{
    int fd = open(tmp_path(name), O_RDWR | O_CREAT | O_TRUNC, 0600);

    if (fd >= 0 && write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void test_exact_bytes(void)
{
    struct sendbody *b = sendbody_new();
    int fd = make_file("doc.pdf", "%PDF-1.4 body\r\n--not-the-boundary");
    const char *ct = sendbody_content_type(b);
    const char *bd = strstr(ct, "boundary=") + 9;
    char *want, *got;
    size_t n;

    CHECK(strncmp(ct, "multipart/form-data; boundary=", 30) == 0);
    CHECK_INT(strlen(bd), 32);
    CHECK_INT(sendbody_add_field(b, "to", "+16505551234"), 0);
    CHECK_INT(sendbody_add_field(b, "coverPageText", "Über\r\nurgent"), 0);
    CHECK_INT(sendbody_add_file(b, "attachment", "doc.pdf", "application/pdf", fd, 33), 0);
    want = mem_printf("--%s\r\nContent-Disposition: form-data; name=\"to\"\r\n"
                      "Content-Type: text/plain; charset=UTF-8\r\n\r\n+16505551234\r\n"
                      "--%s\r\nContent-Disposition: form-data; name=\"coverPageText\"\r\n"
                      "Content-Type: text/plain; charset=UTF-8\r\n\r\nÜber\r\nurgent\r\n"
                      "--%s\r\nContent-Disposition: form-data; name=\"attachment\"; "
                      "filename=\"doc.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
                      "%%PDF-1.4 body\r\n--not-the-boundary\r\n--%s--\r\n",
                      bd, bd, bd, bd);
    CHECK_INT(sendbody_length(b), strlen(want));
    for (size_t step = 1; step < 70; step += 13) {
        sendbody_rewind(b);
        got = read_all(b, step, &n);
        CHECK(got != NULL);
        CHECK_INT(n, strlen(want));
        CHECK(got && memcmp(got, want, n) == 0);
        free(got);
    }
    /* adding after reading started is refused */
    CHECK_INT(sendbody_add_field(b, "late", "x"), -EINVAL);
    free(want);
    sendbody_free(b);
    close(fd);
}

static void test_boundaries_differ(void)
{
    struct sendbody *a = sendbody_new(), *b = sendbody_new();
    CHECK(strcmp(sendbody_content_type(a), sendbody_content_type(b)) != 0);
    sendbody_free(a);
    sendbody_free(b);
}

static void test_names(void)
{
    struct sendbody *b = sendbody_new();
    int fd = make_file("n.txt", "x");
    char *got;
    size_t n;

    CHECK_INT(sendbody_add_field(b, "bad name", "x"), -EINVAL);
    CHECK_INT(sendbody_add_field(b, "a\"b", "x"), -EINVAL);
    CHECK_INT(sendbody_add_file(b, "attachment", "x", "text/plain\r\nX-Evil: 1", fd, 1), -EINVAL);
    CHECK_INT(sendbody_add_file(b, "attachment", "x", "plain", fd, 1), -EINVAL);
    CHECK_INT(sendbody_add_file(b, "attachment", "x", "text/plain", -1, 1), -EINVAL);
    CHECK_INT(sendbody_add_file(b, "attachment", "a\"b\\c\r\nd\xc3\xa9.txt", "text/plain", fd, 1),
              0);
    got = read_all(b, 4096, &n);
    CHECK(got && strstr(got, "filename=\"a_b_c__d__.txt\"") != NULL);
    free(got);
    sendbody_free(b);
    close(fd);
}

static void test_file_shrank(void)
{
    struct sendbody *b = sendbody_new();
    int fd = make_file("short.txt", "only ten b");
    char buf[4096];
    ssize_t got;

    CHECK_INT(sendbody_add_file(b, "attachment", "short.txt", "text/plain", fd, 100), 0);
    do
        got = sendbody_read(b, buf, sizeof(buf));
    while (got > 0);
    CHECK_INT(got, -EIO);
    sendbody_free(b);
    close(fd);
}

int main(void)
{
    if (tmp_init() != 0)
        return 1;
    RUN(test_exact_bytes);
    RUN(test_boundaries_differ);
    RUN(test_names);
    RUN(test_file_shrank);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

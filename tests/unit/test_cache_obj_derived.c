/*
 * Unit tests for cache/cache_obj's accessors for derived objects (the text
 * of a fax document): cobj_key_of and cobj_content_hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_obj.h"
#include "tests/unit/check.h"
#include "tests/unit/cobj_test.h"
#include "tests/unit/tmpdir.h"

static void test_key_of(void)
{
    struct cobj_key a = cobj_key_of("doc 1\nlang eng\n", 15);
    struct cobj_key b = cobj_key_of("doc 1\nlang eng\n", 15);
    CHECK(memcmp(a.b, b.b, 16) == 0);
    /* Any change of the bytes, or of their length, changes the key. */
    struct cobj_key others[] = {
        cobj_key_of("doc 1\nlang deu\n", 15),
        cobj_key_of("doc 1\nlang eng", 14),
        cobj_key_of("doc 1\nlang eng\n\0", 16),
        cobj_key_of("", 0),
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CHECK(memcmp(a.b, others[i].b, 16) != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(memcmp(others[j].b, others[i].b, 16) != 0);
    }
    /* Never the plain xxh3 of the bytes, nor an attachment's key. */
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits("doc 1\nlang eng\n", 15));
    CHECK(memcmp(a.b, c.digest, 16) != 0);
    struct cobj_key att = cobj_key_make("", "", 0, 0, 0);
    struct cobj_key empty = cobj_key_of("", 0);
    CHECK(memcmp(att.b, empty.b, 16) != 0);
    /* Stable across builds: these values name files on disk. */
    char hex[33];
    cobj_key_hex(&empty, hex);
    CHECK_STR(hex, "7bd9186bb8233b2b28e176bff7e9a4fb");
}

static void test_content_hash(void)
{
    const char *dir = tmp_path("hash");
    struct cobj_store *s = NULL;
    CHECK_INT(store_open(dir, 0, &s), 0);
    struct cobj_key k = key_n(7), e = key_n(8);
    CHECK_INT(put(s, &k, 70000, 3), 0);
    CHECK_INT(put(s, &e, 0, 0), 0);

    int fd;
    uint64_t size;
    uint8_t got[16];
    CHECK_INT(cobj_open(s, &k, &fd, &size), 0);
    CHECK_INT(cobj_content_hash(fd, size, got), 0);
    uint8_t *data = malloc(70000);
    fill(data, 70000, 3);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(data, 70000));
    CHECK(memcmp(got, c.digest, 16) == 0);
    free(data);
    /* A size that is not the object's finds no trailer there. */
    CHECK_INT(cobj_content_hash(fd, size - 1, got), -EBADMSG);
    CHECK_INT(cobj_content_hash(fd, size + 1, got), -EBADMSG);
    close(fd);
    cobj_release(s, &k);

    /* The empty object has the hash of nothing. */
    CHECK_INT(cobj_open(s, &e, &fd, &size), 0);
    CHECK_INT(size, 0);
    CHECK_INT(cobj_content_hash(fd, size, got), 0);
    XXH128_canonicalFromHash(&c, XXH3_128bits("", 0));
    CHECK(memcmp(got, c.digest, 16) == 0);
    close(fd);
    cobj_release(s, &e);

    /* Not an object: no trailer. */
    int plain = open(tmp_path("plain"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(write(plain, "not an object at all, no trailer in here!", 41) == 41);
    CHECK_INT(cobj_content_hash(plain, 9, got), -EBADMSG);
    close(plain);
    CHECK_INT(cobj_content_hash(-1, 0, got), -EBADF);
    cobj_store_close(s);
}

int main(void)
{
    if (tmp_init())
        return 1;
    RUN(test_key_of);
    RUN(test_content_hash);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

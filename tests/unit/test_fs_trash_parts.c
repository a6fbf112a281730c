/* Unit tests for the pure parts of the desktop Trash: the .trashinfo text
 * (fs_trashinfo) and the store of the desktop's scratch files (fs_scratch). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/fs_scratch.h"
#include "fs/fs_trashinfo.h"
#include "tests/unit/check.h"

static void test_info_text(void)
{
    char buf[512];
    setenv("TZ", "UTC", 1);
    tzset();
    /* 2026-11-30T10:15:00Z */
    size_t n = fs_trashinfo_format(buf, sizeof buf, "101", "Fax",
                                   "2026-11-30T101500Z_+16505551234_972903004", 1796033700000);
    CHECK_STR(buf, "[Trash Info]\n"
                   "Path=101/Fax/2026-11-30T101500Z_%2B16505551234_972903004\n"
                   "DeletionDate=2026-11-30T10:15:00\n");
    CHECK_INT(n, strlen(buf));
    /* Local time, as the specification says. */
    setenv("TZ", "America/Los_Angeles", 1);
    tzset();
    fs_trashinfo_format(buf, sizeof buf, "101", "Fax", "x", 1796033700000);
    CHECK(strstr(buf, "DeletionDate=2026-11-30T02:15:00\n") != NULL);
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_info_escapes(void)
{
    char buf[512];
    fs_trashinfo_format(buf, sizeof buf, "Front desk 1", "SMS", "a b%c~d_e.f-g", 0);
    CHECK(strstr(buf, "Path=Front%20desk%201/SMS/a%20b%25c~d_e.f-g\n") != NULL);
    /* UTF-8 bytes are escaped one by one. */
    fs_trashinfo_format(buf, sizeof buf, "101", "Fax", "\xc3\xa9", 0);
    CHECK(strstr(buf, "Path=101/Fax/%C3%A9\n") != NULL);
}

static void test_info_cut(void)
{
    char small[16], full[256];
    size_t need = fs_trashinfo_format(full, sizeof full, "101", "Fax", "name", 0);
    size_t got = fs_trashinfo_format(small, sizeof small, "101", "Fax", "name", 0);
    CHECK_INT(got, need);
    CHECK_INT(strlen(small), sizeof small - 1);
    CHECK(strncmp(small, full, sizeof small - 1) == 0);
    CHECK_INT(fs_trashinfo_format(NULL, 0, "101", "Fax", "name", 0), need);
}

static void test_info_base(void)
{
    char b[16];
    CHECK(fs_trashinfo_base("abc.trashinfo", b, sizeof b));
    CHECK_STR(b, "abc");
    CHECK(!fs_trashinfo_base(".trashinfo", b, sizeof b));
    CHECK(!fs_trashinfo_base("abc.trashinfo.XY12ZW", b, sizeof b));
    CHECK(!fs_trashinfo_base("abc", b, sizeof b));
    CHECK(!fs_trashinfo_base("0123456789abcdef.trashinfo", b, sizeof b)); /* does not fit */
}

static void test_scratch_write_read(void)
{
    struct fs_scratch *s = fs_scratch_new(4, 100, 1000);
    uint32_t id, id2;
    char buf[200];
    CHECK_INT(fs_scratch_create(s, "a.trashinfo", 0, &id), 0);
    CHECK(id != 0);
    CHECK_INT(fs_scratch_create(s, "a.trashinfo", 0, &id2), -EEXIST);
    CHECK_INT(fs_scratch_write(s, id, "hello", 5, 0, 1), 5);
    CHECK_INT(fs_scratch_write(s, id, "!", 1, 7, 1), 1); /* a gap of zeros */
    size_t size;
    int64_t born;
    CHECK_INT(fs_scratch_stat(s, id, 2, &size, &born), 0);
    CHECK_INT(size, 8);
    CHECK_INT(born, 0);
    CHECK_INT(fs_scratch_read(s, id, buf, sizeof buf, 0, 2), 8);
    CHECK(memcmp(buf, "hello\0\0!", 8) == 0);
    CHECK_INT(fs_scratch_read(s, id, buf, 3, 6, 2), 2);
    CHECK_INT(fs_scratch_read(s, id, buf, 3, 50, 2), 0);
    CHECK_INT(fs_scratch_read(s, id, buf, 3, -1, 2), -EINVAL);
    /* Size limit: nothing written. */
    CHECK_INT(fs_scratch_write(s, id, buf, 95, 6, 3), -EFBIG);
    CHECK_INT(fs_scratch_stat(s, id, 3, &size, &born), 0);
    CHECK_INT(size, 8);
    CHECK_INT(fs_scratch_truncate(s, id, 2, 3), 0);
    CHECK_INT(fs_scratch_read(s, id, buf, sizeof buf, 0, 3), 2);
    CHECK_INT(fs_scratch_truncate(s, id, 101, 3), -EFBIG);
    fs_scratch_free(s);
}

static void test_scratch_names(void)
{
    struct fs_scratch *s = fs_scratch_new(2, 100, 1000);
    uint32_t a, b, c, found;
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_INT(fs_scratch_create(s, longname, 0, &a), -ENAMETOOLONG);
    CHECK_INT(fs_scratch_create(s, "a/b", 0, &a), -EINVAL);
    CHECK_INT(fs_scratch_create(s, "", 0, &a), -EINVAL);
    CHECK_INT(fs_scratch_create(s, "tmp.X1", 0, &a), 0);
    CHECK_INT(fs_scratch_create(s, "final", 0, &b), 0);
    CHECK_INT(fs_scratch_create(s, "third", 0, &c), -ENOSPC);
    /* rename over an existing file replaces it (the write-then-rename idiom) */
    CHECK_INT(fs_scratch_write(s, a, "new", 3, 0, 1), 3);
    CHECK_INT(fs_scratch_rename(s, "tmp.X1", "final", 1), 0);
    CHECK_INT(fs_scratch_find(s, "tmp.X1", 1, &found), -ENOENT);
    CHECK_INT(fs_scratch_find(s, "final", 1, &found), 0);
    CHECK_INT(found, a);
    CHECK_INT(fs_scratch_create(s, "third", 1, &c), 0); /* room again */
    CHECK_INT(fs_scratch_rename(s, "nope", "x", 1), -ENOENT);
    CHECK_INT(fs_scratch_rename(s, "final", "a/b", 1), -EINVAL);
    CHECK_INT(fs_scratch_remove(s, "final", 1), 0);
    CHECK_INT(fs_scratch_remove(s, "final", 1), -ENOENT);
    fs_scratch_free(s);
}

static void test_scratch_expiry(void)
{
    struct fs_scratch *s = fs_scratch_new(2, 100, 1000);
    uint32_t a, found;
    CHECK_INT(fs_scratch_create(s, "a", 0, &a), 0);
    CHECK_INT(fs_scratch_find(s, "a", 999, &found), 0);
    CHECK_INT(fs_scratch_find(s, "a", 1000, &found), -ENOENT);
    size_t size;
    int64_t born;
    CHECK_INT(fs_scratch_stat(s, a, 1000, &size, &born), -ENOENT);
    CHECK_INT(fs_scratch_write(s, a, "x", 1, 0, 1000), -ENOENT);
    /* ids are never reused */
    uint32_t b;
    CHECK_INT(fs_scratch_create(s, "a", 1000, &b), 0);
    CHECK(b != a);
    fs_scratch_free(s);
}

struct seen {
    int n;
    char names[4][16];
};

static void collect(void *ctx, const char *name, uint32_t id)
{
    struct seen *s = ctx;
    if (s->n < 4)
        strcpy(s->names[s->n], name);
    s->n++;
}

static void test_scratch_each(void)
{
    struct fs_scratch *s = fs_scratch_new(3, 100, 1000);
    uint32_t id;
    struct seen seen = {0};
    CHECK_INT(fs_scratch_create(s, "one", 0, &id), 0);
    CHECK_INT(fs_scratch_create(s, "two", 0, &id), 0);
    CHECK_INT(fs_scratch_remove(s, "one", 0), 0);
    CHECK_INT(fs_scratch_create(s, "three", 0, &id), 0); /* takes one's place */
    fs_scratch_each(s, 0, collect, &seen);
    CHECK_INT(seen.n, 2);
    CHECK_STR(seen.names[0], "two");
    CHECK_STR(seen.names[1], "three");
    fs_scratch_free(s);
}

int main(void)
{
    RUN(test_info_text);
    RUN(test_info_escapes);
    RUN(test_info_cut);
    RUN(test_info_base);
    RUN(test_scratch_write_read);
    RUN(test_scratch_names);
    RUN(test_scratch_expiry);
    RUN(test_scratch_each);
    return CHECK_DONE();
}

/* Unit tests for cache/cache_spool: the journal record format (round trip,
 * hostile names, every kind of damage) and the spool's files (commit, save,
 * reopen, remove, and what spool_open cleans up after a crash). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache/cache_spool.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

static struct spool_rec sample(void)
{
    struct spool_rec r = {
        .jid = 0x0123456789abcdefULL,
        .kind = 3,
        .state = 2,
        .folder = strdup("+16505551234"),
        .name = strdup("Q3 report (final) = 100%\n\xc3\xa9t\xc3\xa9.pdf"),
        .size = 52428800,
        .created_ms = 1732270000123,
        .attempt_ms = 1732270005000,
        .attempts = 4,
        .msg_id = UINT64_MAX - 1,
        .cover = 13,
        .error = strdup("the server refused it: HTTP 400 CMN-101: bad \"to\""),
        .n_skip = 2,
        .skip = {400000000004, 18446744073709551614ULL},
    };
    for (int i = 0; i < 16; i++)
        r.hash[i] = (uint8_t)(i * 17);
    return r;
}

static void same(const struct spool_rec *a, const struct spool_rec *b)
{
    CHECK(a->jid == b->jid);
    CHECK_INT(a->kind, b->kind);
    CHECK_INT(a->state, b->state);
    CHECK_STR(a->folder, b->folder);
    CHECK_STR(a->name, b->name);
    CHECK(a->size == b->size);
    CHECK(memcmp(a->hash, b->hash, 16) == 0);
    CHECK_INT(a->created_ms, b->created_ms);
    CHECK_INT(a->attempt_ms, b->attempt_ms);
    CHECK_INT(a->attempts, b->attempts);
    CHECK(a->msg_id == b->msg_id);
    CHECK_INT(a->cover, b->cover);
    CHECK((a->error == NULL) == (b->error == NULL));
    if (a->error && b->error)
        CHECK_STR(a->error, b->error);
    CHECK_INT(a->n_skip, b->n_skip);
    for (uint32_t i = 0; i < a->n_skip && i < b->n_skip; i++)
        CHECK(a->skip[i] == b->skip[i]);
}

static void test_roundtrip(void)
{
    struct spool_rec r = sample(), back;
    size_t len;
    char *text = spool_rec_encode(&r, &len);
    CHECK(strlen(text) == len);
    CHECK(strchr(text, '\0') == text + len);
    /* Escaped: one line per field, only printable ASCII (after the magic line). */
    CHECK(strncmp(text, "rcfs-spool 1\n", 13) == 0);
    for (size_t i = 13; i < len; i++)
        CHECK(text[i] == '\n' || (text[i] > 0x20 && text[i] < 0x7f));
    CHECK_INT(spool_rec_decode(text, len, &back), 0);
    same(&r, &back);
    spool_rec_free(&back);
    free(text);
    /* No error, no skip ids, empty-ish values. */
    free(r.error);
    r.error = NULL;
    r.n_skip = 0;
    r.msg_id = 0;
    text = spool_rec_encode(&r, &len);
    CHECK_INT(spool_rec_decode(text, len, &back), 0);
    same(&r, &back);
    spool_rec_free(&back);
    free(text);
    spool_rec_free(&r);
    CHECK(r.name == NULL);
}

/* Replace the first occurrence of `from` by `to` and fix the check line,
 * so only the content rule is tested. */
static char *edited(const char *text, const char *from, const char *to, size_t *len)
{
    const char *at = strstr(text, from);
    if (!at)
        return NULL;
    size_t head = (size_t)(at - text);
    char *out = malloc(strlen(text) + strlen(to) + 64);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    char *check = strstr(out, "check=");
    snprintf(check, 64, "check=%016" PRIx64 "\n",
             (uint64_t)XXH3_64bits(out, (size_t)(check - out)));
    *len = strlen(out);
    return out;
}

static void test_damage_refused(void)
{
    struct spool_rec r = sample(), back;
    size_t len;
    char *text = spool_rec_encode(&r, &len);
    /* Every truncation and every flipped byte is refused. */
    for (size_t n = 0; n < len; n++)
        CHECK_INT(spool_rec_decode(text, n, &back), -EINVAL);
    for (size_t i = 0; i < len; i++) {
        text[i] ^= 0x01;
        CHECK_INT(spool_rec_decode(text, len, &back), -EINVAL);
        text[i] ^= 0x01;
    }
    CHECK_INT(spool_rec_decode(text, len, &back), 0);
    spool_rec_free(&back);
    /* Well-formed checksums over bad content. */
    static const char *const bad[][2] = {
        {"kind=3", "kind=256"},
        {"kind=3", "kind=-1"},
        {"state=2", "stat=2"},
        {"size=52428800", "size=5242880x"},
        {"cover=13", "cover=1000001"},
        {"jid=0123456789abcdef", "jid=0123456789ABCDEF"},
        {"jid=0123456789abcdef", "jid=123"},
        {"attempts=4", "attempts=4294967296"},
        {"name=", "name=%00"},
        {"name=", "name=%4"},
        {"name=", "name=a b"},
        {"skip=400000000004,", "skip=,"},
        {"msg=", "msg=1\nmsg="},
        {"rcfs-spool 1", "rcfs-spool 2"},
        {"created=", "junk=1\ncreated="},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t l;
        char *t = edited(text, bad[i][0], bad[i][1], &l);
        CHECK(t != NULL);
        if (t && spool_rec_decode(t, l, &back) != -EINVAL) {
            fprintf(stderr, "accepted: %s -> %s\n", bad[i][0], bad[i][1]);
            CHECK(0);
            spool_rec_free(&back);
        }
        free(t);
    }
    /* A missing required field. */
    size_t l;
    char *t = edited(text, "cover=13\n", "", &l);
    CHECK_INT(spool_rec_decode(t, l, &back), -EINVAL);
    free(t);
    free(text);
    spool_rec_free(&r);
}

static int count(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    closedir(d);
    return n;
}

static char *read_all(int fd, size_t *len)
{
    static char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    *len = n < 0 ? 0 : (size_t)n;
    return buf;
}

static void test_commit_save_load(void)
{
    char *dir = strdup(tmp_path("spool1"));
    struct spool *s;
    CHECK_INT(spool_open(dir, &s), 0);
    uint64_t draft;
    int fd;
    CHECK_INT(spool_draft_new(s, &draft, &fd), 0);
    CHECK(write(fd, "hello fax", 9) == 9);
    struct spool_rec r = {.kind = 0,
                          .state = 1,
                          .folder = strdup("+16505551234"),
                          .name = strdup("a.txt"),
                          .created_ms = 5};
    CHECK_INT(spool_commit(s, draft, fd, &r), 0);
    close(fd);
    CHECK(r.jid != 0);
    CHECK(r.size == 9);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits("hello fax", 9));
    CHECK(memcmp(r.hash, c.digest, 16) == 0);
    CHECK_INT(count(tmp_path("spool1/drafts")), 0);
    CHECK_INT(count(tmp_path("spool1/queue")), 2);
    /* A new state, then reload from disk: the last save wins. */
    r.state = 3;
    r.msg_id = 77;
    CHECK_INT(spool_save(s, &r), 0);
    spool_close(s);
    CHECK_INT(spool_open(dir, &s), 0);
    struct spool_rec *v;
    size_t n;
    CHECK_INT(spool_load(s, &v, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        same(&r, &v[0]);
        spool_rec_free(&v[0]);
    }
    free(v);
    int dfd = spool_data_open(s, r.jid);
    CHECK(dfd >= 0);
    size_t len;
    char *got = read_all(dfd, &len);
    CHECK(len == 9 && memcmp(got, "hello fax", 9) == 0);
    close(dfd);
    /* Reopened as a draft: the record is gone, the bytes are kept. */
    CHECK_INT(spool_reopen(s, r.jid, &draft, &fd), 0);
    got = read_all(fd, &len);
    CHECK(len == 9 && memcmp(got, "hello fax", 9) == 0);
    close(fd);
    CHECK_INT(count(tmp_path("spool1/queue")), 0);
    CHECK_INT(count(tmp_path("spool1/drafts")), 1);
    CHECK_INT(spool_draft_remove(s, draft), 0);
    CHECK_INT(spool_draft_remove(s, draft), 0);
    CHECK_INT(count(tmp_path("spool1/drafts")), 0);
    spool_rec_free(&r);
    spool_close(s);
    free(dir);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_open_cleans_up(void)
{
    char *dir = strdup(tmp_path("spool2"));
    struct spool *s;
    CHECK_INT(spool_open(dir, &s), 0);
    uint64_t draft;
    int fd;
    /* A committed send, and one removed. */
    struct spool_rec r = {.folder = strdup("102"), .name = strdup("m"), .created_ms = 1};
    CHECK_INT(spool_draft_new(s, &draft, &fd), 0);
    CHECK(write(fd, "x", 1) == 1);
    CHECK_INT(spool_commit(s, draft, fd, &r), 0);
    close(fd);
    struct spool_rec gone = {.folder = strdup("102"), .name = strdup("n"), .created_ms = 1};
    CHECK_INT(spool_draft_new(s, &draft, &fd), 0);
    CHECK_INT(spool_commit(s, draft, fd, &gone), 0);
    close(fd);
    CHECK_INT(spool_remove(s, gone.jid), 0);
    CHECK_INT(spool_remove(s, gone.jid), 0);
    /* Leftovers of a crash: a draft, a temporary, a commit that never got
     * its record, a damaged record, and a record without data. */
    CHECK_INT(spool_draft_new(s, &draft, &fd), 0);
    close(fd);
    put(tmp_path("spool2/queue/.tmp-00000000000000aa.rec"), "half");
    put(tmp_path("spool2/queue/00000000000000bb.data"), "no record");
    put(tmp_path("spool2/queue/00000000000000cc.rec"), "rcfs-spool 1\njid=00000000000000cc\n");
    put(tmp_path("spool2/queue/00000000000000cc.data"), "data of a damaged record");
    put(tmp_path("spool2/queue/00000000000000dd.rec"), "no data");
    spool_close(s);
    CHECK_INT(spool_open(dir, &s), 0);
    CHECK_INT(count(tmp_path("spool2/drafts")), 0);
    struct spool_rec *v;
    size_t n;
    CHECK_INT(spool_load(s, &v, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK(v[0].jid == r.jid);
        spool_rec_free(&v[0]);
    }
    free(v);
    CHECK_INT(count(tmp_path("spool2/queue")), 2);   /* r's .rec and .data */
    CHECK_INT(count(tmp_path("spool2/damaged")), 3); /* cc.rec, cc.data, dd.rec */
    /* The meta file. */
    char *text;
    size_t len;
    CHECK_INT(spool_meta_get(s, &text, &len), -ENOENT);
    CHECK_INT(spool_meta_put(s, "owner 5\n", 8), 0);
    CHECK_INT(spool_meta_get(s, &text, &len), 0);
    CHECK(len == 8 && strcmp(text, "owner 5\n") == 0);
    free(text);
    spool_rec_free(&r);
    spool_rec_free(&gone);
    spool_close(s);
    free(dir);
}

static void test_has_sends(void)
{
    char *dir = strdup(tmp_path("spool3"));
    CHECK(!spool_has_sends(dir)); /* no folder at all */
    struct spool *s;
    CHECK_INT(spool_open(dir, &s), 0);
    CHECK(!spool_has_sends(dir));
    /* A temporary record is not a send. */
    int t = open(tmp_path("spool3/queue/.tmp-0000000000000001.rec"), O_WRONLY | O_CREAT, 0600);
    CHECK(t >= 0);
    close(t);
    CHECK(!spool_has_sends(dir));
    uint64_t draft;
    int fd;
    CHECK_INT(spool_draft_new(s, &draft, &fd), 0);
    CHECK(!spool_has_sends(dir)); /* a draft is not one either */
    struct spool_rec r = {.folder = strdup("102"), .name = strdup("m"), .created_ms = 1};
    CHECK(write(fd, "x", 1) == 1);
    CHECK_INT(spool_commit(s, draft, fd, &r), 0);
    close(fd);
    CHECK(spool_has_sends(dir));
    CHECK_INT(spool_remove(s, r.jid), 0);
    CHECK(!spool_has_sends(dir));
    spool_rec_free(&r);
    spool_close(s);
    free(dir);
}

int main(void)
{
    if (tmp_init() != 0)
        return 1;
    RUN(test_roundtrip);
    RUN(test_damage_refused);
    RUN(test_commit_save_load);
    RUN(test_open_cleans_up);
    RUN(test_has_sends);
    tmp_rm_rf(base);
    return CHECK_DONE();
}

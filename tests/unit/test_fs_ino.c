/* Unit tests for fs/fs_ino: every kind round-trips and numbers never collide. */
#include "fs/fs_ino.h"
#include "tests/unit/check.h"

static void test_roundtrip(void)
{
    struct fs_node in[] = {
        {.kind = FS_ROOT},
        {.kind = FS_EXT, .ext = 0},
        {.kind = FS_EXT, .ext = 4095},
        {.kind = FS_FOLDER, .ext = 3, .folder = 6},
        {.kind = FS_CONV, .conv = 77},
        {.kind = FS_MSG, .slot = 0, .view = 0, .sub = 0},
        {.kind = FS_MSG, .slot = 99999, .view = 1, .sub = 1},
        {.kind = FS_MSG, .slot = UINT32_MAX, .view = 1, .sub = 65},
        {.kind = FS_LINK, .slot = 12345},
        {.kind = FS_ULINK, .slot = 12345},
        {.kind = FS_MSG, .slot = UINT32_MAX, .view = 2, .sub = 255},
        {.kind = FS_TRASH, .part = FS_TRASH_TOP},
        {.kind = FS_TRASH, .part = FS_TRASH_FILES},
        {.kind = FS_TRASH, .part = FS_TRASH_INFOFILE, .id = UINT32_MAX},
        {.kind = FS_TRASH, .part = FS_TRASH_SCRATCH, .id = 7},
        {.kind = FS_OUTBOX, .obx = 0, .obx_id = 0},
        {.kind = FS_OUTBOX, .obx = 1, .obx_id = 3},
        {.kind = FS_OUTBOX, .obx = 4, .obx_id = 0},
        {.kind = FS_OUTBOX, .obx = 4, .obx_id = UINT32_MAX},
        {.kind = FS_OUTBOX, .obx = 3, .obx_id = 7},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct fs_node out;
        uint64_t ino = fs_ino_make(&in[i]);
        CHECK(ino != 0);
        CHECK(fs_ino_parse(ino, &out));
        CHECK_INT(out.kind, in[i].kind);
        CHECK_INT(fs_ino_make(&out), ino);
        for (size_t j = 0; j < i; j++)
            CHECK(fs_ino_make(&in[j]) != ino);
    }
}

static void test_views_differ(void)
{
    struct fs_node a = {.kind = FS_MSG, .slot = 5, .view = 0, .sub = 2};
    struct fs_node b = a, c = a;
    b.view = 1;
    c.view = 2;
    CHECK(fs_ino_make(&a) != fs_ino_make(&b));
    CHECK(fs_ino_make(&a) != fs_ino_make(&c));
    CHECK(fs_ino_make(&b) != fs_ino_make(&c));
    struct fs_node out;
    CHECK(fs_ino_parse(fs_ino_make(&c), &out));
    CHECK_INT(out.view, 2);
    CHECK_INT(out.slot, 5);
}

static void test_rejects(void)
{
    struct fs_node n;
    CHECK(!fs_ino_parse(0, &n));
    CHECK_INT(n.kind, FS_BAD);
    /* A kind rcfs never hands out. */
    CHECK(!fs_ino_parse(UINT64_C(14) << 60, &n));
    CHECK(!fs_ino_parse(2, &n)); /* kind 0 with a payload */
    /* a message view that does not exist (3) */
    struct fs_node m = {.kind = FS_MSG, .slot = 9, .view = 2, .sub = 1};
    CHECK(!fs_ino_parse(fs_ino_make(&m) | (UINT64_C(3) << 8), &n));
    /* a Trash part that does not exist */
    struct fs_node t = {.kind = FS_TRASH, .part = FS_TRASH_SCRATCH, .id = 1};
    CHECK(!fs_ino_parse(fs_ino_make(&t) + 1, &n));
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_views_differ);
    RUN(test_rejects);
    return CHECK_DONE();
}

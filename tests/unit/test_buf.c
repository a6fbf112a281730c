/* Unit tests for util/buf. */
#include <errno.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "util/buf.h"

static void test_cap(void)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK_INT(buf_puts(&b, "hello"), 0);
    CHECK_INT(buf_puts(&b, "world"), 0);
    CHECK_INT(b.len, 10);
    CHECK_INT(buf_puts(&b, "!"), -EFBIG);
    CHECK_STR(b.data, "helloworld");
    buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_INT(buf_printf(&b, "%d-%s", 42, "x"), 0);
    CHECK_STR(b.data, "42-x");
    char *s = buf_steal(&b);
    CHECK_STR(s, "42-x");
    CHECK(b.data == NULL);
    free(s);
    s = buf_steal(&b);
    CHECK_STR(s, "");
    free(s);
    buf_free(&b);
}

int main(void)
{
    RUN(test_cap);
    return CHECK_DONE();
}

/* Unit tests for util/isotime. */
#include <errno.h>

#include "tests/unit/check.h"
#include "util/isotime.h"

static void test_parse_api_form(void)
{
    int64_t ms = 0;
    CHECK_INT(isotime_parse("2018-12-24T10:39:24.000Z", &ms), 0);
    CHECK_INT(ms, 1545647964000LL);
    CHECK_INT(isotime_parse("2018-12-24T10:39:31.873Z", &ms), 0);
    CHECK_INT(ms, 1545647971873LL);
    CHECK_INT(isotime_parse("1970-01-01T00:00:00Z", &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(isotime_parse("2016-03-10T18:07:52.534123Z", &ms), 0);
    CHECK_INT(ms % 1000, 534);
    CHECK_INT(isotime_parse("2018-12-24T12:39:24.5+02:00", &ms), 0);
    CHECK_INT(ms, 1545647964500LL);
}

static void test_parse_rejects(void)
{
    int64_t ms = 42;
    const char *bad[] = {"",
                         "2018-12-24",
                         "2018-12-24T10:39:24",
                         "2018-13-24T10:39:24Z",
                         "2019-02-29T00:00:00Z",
                         "2018-12-24T24:00:00Z",
                         "2018-12-24T10:39:24.Z",
                         "2018-12-24T10:39:24.000Zjunk",
                         "1969-12-31T23:59:59Z",
                         " 2018-12-24T10:39:24Z",
                         "2018-12-24t10:39:24Z",
                         "+2018-12-24T10:39:24Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(isotime_parse(bad[i], &ms), -EINVAL);
    CHECK_INT(ms, 42);
    CHECK_INT(isotime_parse(NULL, &ms), -EINVAL);
    CHECK_INT(isotime_parse("2020-02-29T00:00:00Z", &ms), 0);
}

static void test_format(void)
{
    char buf[ISOTIME_BUFSZ];
    isotime_format(1545647971873LL, buf);
    CHECK_STR(buf, "2018-12-24T10:39:31.873Z");
    isotime_format_compact(1545647971873LL, buf);
    CHECK_STR(buf, "2018-12-24T103931Z");
    isotime_format(0, buf);
    CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
    /* Beyond four-digit years: clamped, never wrapped. */
    isotime_format(INT64_MAX, buf);
    CHECK_STR(buf, "9999-12-31T23:59:59.999Z");
    isotime_format_compact(INT64_MIN, buf);
    CHECK_STR(buf, "1970-01-01T000000Z");
}

int main(void)
{
    RUN(test_parse_api_form);
    RUN(test_parse_rejects);
    RUN(test_format);
    return CHECK_DONE();
}

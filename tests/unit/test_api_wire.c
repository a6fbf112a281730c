/* Unit tests for api_wire: header values and JSON bodies from the server. */
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "api/api_wire.h"
#include "check.h"

static void test_media_types(void)
{
    CHECK(wire_media_type_eq("application/pdf", "Application/PDF; charset=x"));
    CHECK(wire_media_type_eq(" audio/x-wav ;a=b", "audio/x-wav"));
    CHECK(!wire_media_type_eq("application/pdf", "application/pdfx"));
    CHECK(!wire_media_type_eq("", ""));
    CHECK(!wire_media_type_eq(NULL, "a/b"));
    CHECK(wire_media_type_is_json("application/json;charset=UTF-8"));
    CHECK(wire_media_type_is_json("application/vnd.ringcentral.multipart+json"));
    CHECK(!wire_media_type_is_json("application/jsonx"));
    CHECK(!wire_media_type_is_json(NULL));
}

static void expect_range(const char *v, int64_t s, int64_t e, int64_t t)
{
    int64_t a, b, c;

    wire_content_range(v, &a, &b, &c);
    CHECK_INT(a, s);
    CHECK_INT(b, e);
    CHECK_INT(c, t);
}

static void test_content_range(void)
{
    expect_range("bytes 0-99/1000", 0, 99, 1000);
    expect_range("bytes 5-9/*", 5, 9, -1);
    expect_range("bytes */1234", -1, -1, 1234);
    expect_range("bytes 9-5/100", -1, -1, -1);
    expect_range("bytes -1-5/100", -1, -1, -1);
    expect_range("items 0-1/2", -1, -1, -1);
    expect_range("bytes 0-1/2x", 0, 1, -1);
    expect_range(NULL, -1, -1, -1);
}

static void test_retry_after(void)
{
    char date[64];
    time_t later = time(NULL) + 120;
    struct tm tm;

    CHECK_INT(wire_retry_after("30"), 30);
    CHECK_INT(wire_retry_after("0"), 0);
    CHECK_INT(wire_retry_after("-5"), -1);
    CHECK_INT(wire_retry_after("soon"), -1);
    CHECK_INT(wire_retry_after(NULL), -1);
    gmtime_r(&later, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int64_t s = wire_retry_after(date);
    CHECK(s >= 110 && s <= 120);
    CHECK_INT(wire_retry_after("Thu, 01 Jan 1998 00:00:00 GMT"), 0);
}

static void test_json_and_error_code(void)
{
    char code[32] = "";
    const char *ok = "{\"errorCode\":\"CMN-301\",\"message\":\"x\"}";
    const char *bad = "{\"errorCode\":\"CMN 301\\n\"}";
    struct json_object *o = wire_parse_json(" [1, 2] \n", 9);

    CHECK(o != NULL && json_object_array_length(o) == 2);
    json_object_put(o);
    CHECK(wire_parse_json("[1] x", 5) == NULL);
    CHECK(wire_parse_json("{\"a\":", 5) == NULL);
    CHECK(wire_parse_json("", 0) == NULL);
    wire_error_code("application/json", ok, strlen(ok), code, sizeof(code));
    CHECK_STR(code, "CMN-301");
    strcpy(code, "kept");
    wire_error_code("application/json", bad, strlen(bad), code, sizeof(code));
    CHECK_STR(code, "kept");
    wire_error_code("text/plain", ok, strlen(ok), code, sizeof(code));
    CHECK_STR(code, "kept");
}

int main(void)
{
    RUN(test_media_types);
    RUN(test_content_range);
    RUN(test_retry_after);
    RUN(test_json_and_error_code);
    return CHECK_DONE();
}

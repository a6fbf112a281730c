/* Unit tests for api_url: base URL rules, loopback, origins, rewrite, escaping. */
#include <errno.h>
#include <stdlib.h>

#include "api/api_url.h"
#include "check.h"

static void test_loopback(void)
{
    CHECK(url_host_is_loopback("127.0.0.1"));
    CHECK(url_host_is_loopback("127.1.2.3"));
    CHECK(url_host_is_loopback("localhost"));
    CHECK(url_host_is_loopback("LOCALHOST"));
    CHECK(url_host_is_loopback("[::1]"));
    CHECK(!url_host_is_loopback("128.0.0.1"));
    CHECK(!url_host_is_loopback("10.0.0.1"));
    CHECK(!url_host_is_loopback("example.com"));
    CHECK(!url_host_is_loopback("localhost.example.com"));
    CHECK(!url_host_is_loopback("127.0.0.1.example.com"));
    CHECK(!url_host_is_loopback("[::2]"));
    CHECK(!url_host_is_loopback("::1")); /* curl reports IPv6 hosts in brackets */
    CHECK(!url_host_is_loopback(""));
}

static void expect_base(const char *url, bool origin_only, const char *want)
{
    char err[256] = "", *norm = NULL;
    int rc = url_check_base(url, origin_only, &norm, err, sizeof(err));

    if (want) {
        CHECK_INT(rc, 0);
        CHECK_STR(norm, want);
    } else {
        CHECK_INT(rc, -EINVAL);
        CHECK(norm == NULL);
        CHECK(err[0] != '\0');
    }
    free(norm);
}

static void test_check_base(void)
{
    char err[256], *norm;

    expect_base("https://platform.ringcentral.com", false, "https://platform.ringcentral.com:443");
    expect_base("https://Platform.RingCentral.com/", false, "https://platform.ringcentral.com:443");
    expect_base("http://127.0.0.1:8080", false, "http://127.0.0.1:8080");
    expect_base("http://127.9.9.9:1/", false, "http://127.9.9.9:1");
    expect_base("http://localhost:9/", false, "http://localhost:9");
    expect_base("http://[::1]:9", false, "http://[::1]:9");
    expect_base("https://example.com/base/", false, "https://example.com:443/base");
    expect_base("http://example.com", false, NULL);
    expect_base("http://10.1.2.3", false, NULL);
    expect_base("http://localhost.evil.com", false, NULL);
    expect_base("ftp://127.0.0.1", false, NULL);
    expect_base("https://user:pw@example.com", false, NULL);
    expect_base("https://example.com/?a=b", false, NULL);
    expect_base("not a url", false, NULL);
    expect_base("", false, NULL);
    expect_base("https://media.example.com/", true, "https://media.example.com:443");
    expect_base("https://media.example.com/x", true, NULL);
    CHECK_INT(url_check_base("http://example.com", false, &norm, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "loopback") != NULL);
}

static void test_allowed(void)
{
    CHECK(url_is_allowed("https://media.ringcentral.com/restapi/x"));
    CHECK(url_is_allowed("http://127.0.0.1:5/x?y=1"));
    CHECK(!url_is_allowed("http://media.ringcentral.com/restapi/x"));
    CHECK(!url_is_allowed("https://u:p@media.ringcentral.com/"));
    CHECK(!url_is_allowed("file:///etc/passwd"));
    CHECK(!url_is_allowed("gopher://127.0.0.1/"));
}

static void test_same_origin(void)
{
    CHECK(url_same_origin("https://a.example.com/x", "https://a.example.com:443/y?z"));
    CHECK(url_same_origin("https://A.example.com/x", "https://a.example.com"));
    CHECK(url_same_origin("http://127.0.0.1:80/x", "http://127.0.0.1/"));
    CHECK(!url_same_origin("https://a.example.com/x", "http://a.example.com/x"));
    CHECK(!url_same_origin("https://a.example.com/x", "https://a.example.com:8443/x"));
    CHECK(!url_same_origin("https://a.example.com/x", "https://b.example.com/x"));
    CHECK(!url_same_origin("http://127.0.0.1:1/", "http://127.0.0.1:2/"));
    CHECK(!url_same_origin("https://a.example.com@evil.com/", "https://a.example.com/"));
    CHECK(!url_same_origin("garbage", "garbage"));
    char o[64];
    CHECK_INT(url_origin("https://x.y/z", o, sizeof(o)), 0);
    CHECK_STR(o, "https://x.y:443");
    CHECK_INT(url_origin("https://x.y/z", o, 8), -EINVAL);
}

static void test_rewrite(void)
{
    char *out = NULL;

    CHECK_INT(url_rewrite_origin("https://media.ringcentral.com/restapi/v1.0/account/1/"
                                 "extension/2/message-store/3/content/4?contentDisposition=Inline",
                                 "http://127.0.0.1:8081", &out),
              0);
    CHECK_STR(out, "http://127.0.0.1:8081/restapi/v1.0/account/1/extension/2/message-store/3/"
                   "content/4?contentDisposition=Inline");
    free(out);
    CHECK_INT(url_rewrite_origin("http://127.0.0.1:1/a/b", "https://media.example.com", &out), 0);
    CHECK_STR(out, "https://media.example.com:443/a/b");
    free(out);
    CHECK_INT(url_rewrite_origin("::nonsense", "https://media.example.com", &out), -EINVAL);
    CHECK(out == NULL);
}

static void test_host(void)
{
    char *h = url_host("https://Media.RingCentral.com:443/x");
    CHECK_STR(h, "media.ringcentral.com");
    free(h);
    CHECK(url_host("nonsense") == NULL);
}

static void test_escape_and_log(void)
{
    char *e = url_escape("a b+c/d=e&f~g.h_i-j\xc3\xa9");
    CHECK_STR(e, "a%20b%2Bc%2Fd%3De%26f~g.h_i-j%C3%A9");
    free(e);
    char *l =
        url_for_log("https://x.y/restapi/v1.0/a/message-sync?syncType=ISync&syncToken=SECRET");
    CHECK_STR(l, "/restapi/v1.0/a/message-sync?syncType=ISync&syncToken=...");
    CHECK(strstr(l, "SECRET") == NULL);
    free(l);
    l = url_for_log("https://x.y/p?page=2&perPage=1000");
    CHECK_STR(l, "/p?page=2&perPage=1000");
    free(l);
}

int main(void)
{
    RUN(test_loopback);
    RUN(test_check_base);
    RUN(test_allowed);
    RUN(test_same_origin);
    RUN(test_rewrite);
    RUN(test_host);
    RUN(test_escape_and_log);
    return CHECK_DONE();
}

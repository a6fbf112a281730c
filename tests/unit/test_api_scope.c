/* Unit tests for api_scope: where the bearer token may go. */
#include <stdlib.h>

#include "api/api_scope.h"
#include "check.h"

static void expect_domain(const char *host, const char *want)
{
    char *d = scope_registrable_domain(host);

    if (want)
        CHECK_STR(d, want);
    else
        CHECK(d == NULL);
    free(d);
}

static void test_registrable_domain(void)
{
    expect_domain("platform.ringcentral.com", "ringcentral.com");
    expect_domain("platform.devtest.ringcentral.com", "ringcentral.com");
    expect_domain("x.example.co.uk", "example.co.uk");
    expect_domain("example.co.uk", "example.co.uk");
    expect_domain("a.b.example.com.au", "example.com.au");
    expect_domain("co.uk", NULL);
    expect_domain("com", NULL);
    expect_domain("localhost", NULL);
    expect_domain("192.0.2.1", NULL);
    expect_domain("[2001:db8::1]", NULL);
    /* a private suffix: each name under github.io has its own owner */
    expect_domain("a.b.github.io", "b.github.io");
}

/* The co.uk case.  x.example.co.uk and its neighbours have one registrant
 * (example.co.uk), so they share the token; the old rule (drop the first
 * label) gave the same there, but for a server at example.co.uk itself it
 * gave co.uk, i.e. every host under co.uk. */
static void test_co_uk(void)
{
    struct scope s;

    scope_init(&s, "https://x.example.co.uk:443", NULL);
    CHECK_STR(s.domain, "example.co.uk");
    CHECK(scope_allows(&s, "https://x.example.co.uk/restapi/v1.0/x"));
    CHECK(scope_allows(&s, "https://media.example.co.uk/restapi/v1.0/x"));
    CHECK(scope_allows(&s, "https://example.co.uk/x"));
    CHECK(scope_allows(&s, "https://a.b.example.co.uk/x"));
    CHECK(!scope_allows(&s, "https://evil.co.uk/x"));
    CHECK(!scope_allows(&s, "https://co.uk/x"));
    CHECK(!scope_allows(&s, "https://example.org.uk/x"));
    CHECK(!scope_allows(&s, "https://media.example.co.uk.evil.com/x"));
    CHECK(!scope_allows(&s, "https://evilexample.co.uk/x"));
    CHECK(!scope_allows(&s, "http://media.example.co.uk/x")); /* not https */
    CHECK(!scope_allows(&s, "https://u:p@media.example.co.uk/x"));
    scope_free(&s);

    scope_init(&s, "https://example.co.uk:443", NULL);
    CHECK_STR(s.domain, "example.co.uk");
    CHECK(scope_allows(&s, "https://media.example.co.uk/x"));
    CHECK(!scope_allows(&s, "https://other.co.uk/x"));
    scope_free(&s);

    scope_init(&s, "https://shop.example.com.au:443", NULL);
    CHECK(scope_allows(&s, "https://media.example.com.au/x"));
    CHECK(!scope_allows(&s, "https://attacker.com.au/x"));
    scope_free(&s);
}

static void test_ringcentral(void)
{
    struct scope s;

    scope_init(&s, "https://platform.ringcentral.com:443", NULL);
    CHECK(scope_allows(&s, "https://media.ringcentral.com/restapi/v1.0/account/1/x"));
    CHECK(scope_allows(&s, "https://MEDIA.RingCentral.com:443/x"));
    CHECK(!scope_allows(&s, "https://evilringcentral.com/x"));
    CHECK(!scope_allows(&s, "https://ringcentral.com.evil.org/x"));
    CHECK(!scope_allows(&s, "http://media.ringcentral.com/x"));
    CHECK(!scope_allows(&s, "https://127.0.0.1/x"));
    scope_free(&s);

    scope_init(&s, "https://platform.devtest.ringcentral.com:443", NULL);
    CHECK(scope_allows(&s, "https://media.devtest.ringcentral.com/x"));
    CHECK(scope_allows(&s, "https://media.ringcentral.com/x"));
    scope_free(&s);
}

static void test_private_suffix(void)
{
    struct scope s;

    scope_init(&s, "https://rc.b.github.io:443", NULL);
    CHECK(scope_allows(&s, "https://media.b.github.io/x"));
    CHECK(!scope_allows(&s, "https://c.github.io/x"));
    scope_free(&s);

    /* the old rule gave github.io here: every user's site */
    scope_init(&s, "https://b.github.io:443", NULL);
    CHECK_STR(s.domain, "b.github.io");
    CHECK(scope_allows(&s, "https://media.b.github.io/x"));
    CHECK(!scope_allows(&s, "https://c.github.io/x"));
    scope_free(&s);
}

static void test_media_url_and_addresses(void)
{
    struct scope s;

    /* media_url is allowed exactly, whatever its domain */
    scope_init(&s, "https://platform.ringcentral.com:443", "https://cdn.example.net:8443");
    CHECK(scope_allows(&s, "https://cdn.example.net:8443/restapi/x"));
    CHECK(!scope_allows(&s, "https://cdn.example.net/restapi/x"));
    CHECK(!scope_allows(&s, "https://other.example.net:8443/restapi/x"));
    scope_free(&s);

    /* a server by IP address: its origin only */
    scope_init(&s, "https://192.0.2.10:443", NULL);
    CHECK(s.domain == NULL);
    CHECK(scope_allows(&s, "https://192.0.2.10/x"));
    CHECK(!scope_allows(&s, "https://192.0.2.11/x"));
    CHECK(!scope_allows(&s, "https://0.2.10/x"));
    scope_free(&s);
}

static void test_loopback(void)
{
    struct scope s;

    scope_init(&s, "http://127.0.0.1:8080", NULL);
    CHECK(s.loopback && s.domain == NULL);
    CHECK(scope_allows(&s, "http://127.0.0.1:9090/restapi/x"));
    CHECK(scope_allows(&s, "http://localhost:1/x"));
    CHECK(scope_allows(&s, "http://[::1]:5/x"));
    CHECK(!scope_allows(&s, "https://media.ringcentral.com/x"));
    CHECK(!scope_allows(&s, "http://10.0.0.1/x"));
    scope_free(&s);
    scope_free(NULL);
}

int main(void)
{
    RUN(test_registrable_domain);
    RUN(test_co_uk);
    RUN(test_ringcentral);
    RUN(test_private_suffix);
    RUN(test_media_url_and_addresses);
    RUN(test_loopback);
    return CHECK_DONE();
}

/* Unit tests for api_http: what happens when libcurl refuses an option. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_http.h"
#include "check.h"
#include "util/isotime.h"
#include "util/log.h"

/* libcurl refuses a URL longer than 8,000,000 bytes (CURL_MAX_INPUT_LENGTH):
 * the exchange must stop there with an error naming the option, rather than
 * go on with whatever the handle held. */
static void test_refused_option_is_an_error(void)
{
    enum { LEN = 8000001 + 64 };
    char err[256] = "";
    struct http *h = http_new(err, sizeof(err));
    struct http_resp rs;
    char *url = malloc(LEN + 1);
    int rc;

    CHECK(h != NULL);
    memcpy(url, "http://127.0.0.1:9/", 19);
    memset(url + 19, 'a', LEN - 19);
    url[LEN] = '\0';
    struct http_req rq = {.method = "GET", .url = url, .max_body = 1024};

    http_resp_init(&rs);
    rc = http_perform(h, &rq, isotime_mono_ms() + 5000, &rs);
    CHECK_INT(rc, -EIO);
    CHECK_INT(rs.cc, CURLE_BAD_FUNCTION_ARGUMENT);
    CHECK(!rs.sent);
    CHECK_INT(rs.status, 0);
    CHECK(strstr(rs.cc_msg, "CURLOPT_URL") != NULL);
    http_resp_free(&rs);

    /* the handle goes back to the pool clean: the next exchange is normal
     * (nothing listens on port 9: a refused connection) */
    struct http_req ok = {.method = "GET", .url = "http://127.0.0.1:9/x", .max_body = 1024};
    http_resp_init(&rs);
    rc = http_perform(h, &ok, isotime_mono_ms() + 5000, &rs);
    CHECK_INT(rc, -EHOSTUNREACH);
    CHECK_INT(rs.cc, CURLE_COULDNT_CONNECT);
    http_resp_free(&rs);
    free(url);
    http_free(h);
}

int main(void)
{
    log_init(false, false);
    RUN(test_refused_option_is_an_error);
    return CHECK_DONE();
}

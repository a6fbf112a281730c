/* Unit tests for api_err: the one HTTP/errorCode/libcurl -> errno table. */
#include <errno.h>

#include "api/api_err.h"
#include "check.h"

static const struct {
    CURLcode cc;
    long status;
    const char *code;
    unsigned flags;
    int want;
} table[] = {
    {CURLE_OK, 200, NULL, 0, 0},
    {CURLE_OK, 204, NULL, 0, 0},
    {CURLE_OK, 206, NULL, 0, 0},
    {CURLE_OK, 207, NULL, 0, 0},
    {CURLE_OK, 400, "CMN-101", 0, -EINVAL},
    {CURLE_OK, 400, "CMN-101", ERRMAP_SYNC, -ESTALE},
    {CURLE_OK, 400, "MSG-333", 0, -ESTALE},
    {CURLE_OK, 400, "MSG-333", ERRMAP_SYNC, -ESTALE},
    {CURLE_OK, 400, "CMN-106", 0, -EINVAL},
    {CURLE_OK, 400, "OAU-250", ERRMAP_AUTH, -EACCES},
    {CURLE_OK, 401, "OAU-123", ERRMAP_AUTH, -EACCES},
    {CURLE_OK, 401, "OAU-128", 0, -EACCES},
    {CURLE_OK, 401, "AGW-401", 0, -EACCES},
    {CURLE_OK, 403, "CMN-401", 0, -EACCES},
    {CURLE_OK, 403, "CMN-419", 0, -EACCES},
    {CURLE_OK, 404, "CMN-102", 0, -ENOENT},
    {CURLE_OK, 416, "CMN-107", 0, -EINVAL},
    {CURLE_OK, 429, "CMN-301", 0, -EIO},
    {CURLE_OK, 500, "CMN-201", 0, -EIO},
    {CURLE_OK, 502, NULL, 0, -EIO},
    {CURLE_OK, 503, "CMN-203", 0, -EIO},
    {CURLE_OK, 302, NULL, 0, -EIO},
    {CURLE_OK, 0, NULL, 0, -EIO},
    {CURLE_COULDNT_CONNECT, 0, NULL, 0, -EHOSTUNREACH},
    {CURLE_COULDNT_RESOLVE_HOST, 0, NULL, 0, -EHOSTUNREACH},
    {CURLE_COULDNT_RESOLVE_PROXY, 0, NULL, 0, -EHOSTUNREACH},
    {CURLE_OPERATION_TIMEDOUT, 0, NULL, 0, -EIO},
    {CURLE_RECV_ERROR, 0, NULL, 0, -EIO},
    {CURLE_GOT_NOTHING, 0, NULL, 0, -EIO},
    {CURLE_PARTIAL_FILE, 200, NULL, 0, -EIO}, /* status ignored when curl failed */
    {CURLE_PEER_FAILED_VERIFICATION, 0, NULL, 0, -EIO},
    {CURLE_SEND_ERROR, 0, NULL, ERRMAP_AUTH, -EIO},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int got = errmap_errno(table[i].cc, table[i].status, table[i].code, table[i].flags);
        if (got != table[i].want)
            fprintf(stderr, "  row %zu: cc %d status %ld %s -> %d\n", i, (int)table[i].cc,
                    table[i].status, table[i].code ? table[i].code : "-", got);
        CHECK_INT(got, table[i].want);
    }
}

static void test_names(void)
{
    CHECK_STR(errmap_name(-EACCES), "EACCES");
    CHECK_STR(errmap_name(-ESTALE), "ESTALE");
    CHECK_STR(errmap_name(0), "OK");
    CHECK_STR(errmap_name(-12345), "E?");
}

int main(void)
{
    RUN(test_table);
    RUN(test_names);
    return CHECK_DONE();
}

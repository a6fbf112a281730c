/*
 * Unit tests for api_multipart: both 207 forms, from the reference examples
 * (seed 000_2b9d7352e82cc365.txt and the "Fax" example of
 * message-store-examples.txt, copied verbatim), and broken input.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "api/api_multipart.h"
#include "check.h"

/* seeds/000_2b9d7352e82cc365.txt after its status and header lines */
static const char seed_json[] =
    "[\n"
    "  {\n"
    "    \"resourceId\": \"972903004\",\n"
    "    \"status\": 200,\n"
    "    \"body\": {\n"
    "      \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/306065004/extension/306067004/"
    "message-store/972903004\",\n"
    "      \"id\": 972903004,\n"
    "      \"to\": [\n"
    "        {\n"
    "          \"extensionNumber\": \"103\",\n"
    "          \"extensionId\": \"306068004\"\n"
    "        }\n"
    "      ],\n"
    "      \"from\": {\n"
    "        \"extensionNumber\": \"102\",\n"
    "        \"extensionId\": \"306067004\",\n"
    "        \"name\": \"Generated IM message\"\n"
    "      },\n"
    "      \"type\": \"Pager\",\n"
    "      \"creationTime\": \"2018-12-24T10:39:24.000Z\",\n"
    "      \"readStatus\": \"Read\",\n"
    "      \"priority\": \"Normal\",\n"
    "      \"attachments\": [\n"
    "        {\n"
    "          \"id\": 972903004,\n"
    "          \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/306065004/extension/306067004/"
    "message-store/972903004/content/972903004\",\n"
    "          \"type\": \"Text\",\n"
    "          \"contentType\": \"text/plain\"\n"
    "        }\n"
    "      ],\n"
    "      \"direction\": \"Outbound\",\n"
    "      \"availability\": \"Alive\",\n"
    "      \"subject\": \"IM: direction=Outbox unread=false\",\n"
    "      \"messageStatus\": \"Sent\",\n"
    "      \"conversationId\": 6951365551500,\n"
    "      \"conversation\": {\n"
    "        \"id\": \"6951365551500\",\n"
    "        \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/conversation/6951365551500\"\n"
    "      },\n"
    "      \"lastModifiedTime\": \"2018-12-24T10:39:31.873Z\",\n"
    "      \"pgToDepartment\": false\n"
    "    }\n"
    "  },\n"
    "  {\n"
    "    \"resourceId\": \"972901004\",\n"
    "    \"status\": 200,\n"
    "    \"body\": {\n"
    "      \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/306065004/extension/306067004/"
    "message-store/972901004\",\n"
    "      \"id\": 972901004,\n"
    "      \"to\": [\n"
    "        {\n"
    "          \"extensionNumber\": \"103\",\n"
    "          \"extensionId\": \"306068004\"\n"
    "        }\n"
    "      ],\n"
    "      \"from\": {\n"
    "        \"extensionNumber\": \"102\",\n"
    "        \"extensionId\": \"306067004\",\n"
    "        \"name\": \"Generated IM message\"\n"
    "      },\n"
    "      \"type\": \"Pager\",\n"
    "      \"creationTime\": \"2018-12-24T10:39:24.000Z\",\n"
    "      \"readStatus\": \"Read\",\n"
    "      \"priority\": \"Normal\",\n"
    "      \"attachments\": [\n"
    "        {\n"
    "          \"id\": 972901004,\n"
    "          \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/306065004/extension/306067004/"
    "message-store/972901004/content/972901004\",\n"
    "          \"type\": \"Text\",\n"
    "          \"contentType\": \"text/plain\"\n"
    "        }\n"
    "      ],\n"
    "      \"direction\": \"Outbound\",\n"
    "      \"availability\": \"Alive\",\n"
    "      \"subject\": \"IM: direction=Outbox unread=true\",\n"
    "      \"messageStatus\": \"Sent\",\n"
    "      \"conversationId\": 6951365551500,\n"
    "      \"conversation\": {\n"
    "        \"id\": \"6951365551500\",\n"
    "        \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/conversation/6951365551500\"\n"
    "      },\n"
    "      \"lastModifiedTime\": \"2018-12-24T10:39:31.879Z\",\n"
    "      \"pgToDepartment\": false\n"
    "    }\n"
    "  }\n"
    "]\n";

/* message-store-examples.txt, "EXAMPLE Fax": GET .../message-store/6338256009,5209304004 */
static const char fax_mixed[] =
    "--Boundary_26_60046980_1537367834367\n"
    "Content-Type: application/json\n"
    "\n"
    "{\n"
    "  \"response\" : [ {\n"
    "    \"href\" : "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/"
    "message-store/6338256009\",\n"
    "    \"status\" : 200,\n"
    "    \"responseDescription\" : \"OK\"\n"
    "  }, {\n"
    "    \"href\" : "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/"
    "message-store/6338222009\",\n"
    "    \"status\" : 200,\n"
    "    \"responseDescription\" : \"OK\"\n"
    "  } ]\n"
    "}\n"
    "--Boundary_26_60046980_1537367834367\n"
    "Content-Type: application/json\n"
    "\n"
    "{\n"
    "  \"uri\" : "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/"
    "message-store/6338256009\",\n"
    "  \"id\" : 6338256009,\n"
    "  \"to\" : [ {\n"
    "    \"phoneNumber\" : \"+18882032391\",\n"
    "    \"messageStatus\" : \"Sent\"\n"
    "  } ],\n"
    "  \"type\" : \"Fax\",\n"
    "  \"creationTime\" : \"2018-09-19T14:36:25.000Z\",\n"
    "  \"readStatus\" : \"Unread\",\n"
    "  \"priority\" : \"Normal\",\n"
    "  \"attachments\" : [ {\n"
    "    \"id\" : 6338256009,\n"
    "    \"uri\" : "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/"
    "message-store/6338256009/content/6338256009\",\n"
    "    \"type\" : \"RenderedDocument\",\n"
    "    \"contentType\" : \"application/pdf\"\n"
    "  } ],\n"
    "  \"direction\" : \"Outbound\",\n"
    "  \"availability\" : \"Alive\",\n"
    "  \"messageStatus\" : \"Sent\",\n"
    "  \"faxResolution\" : \"High\",\n"
    "  \"faxPageCount\" : 0,\n"
    "  \"lastModifiedTime\" : \"2018-09-19T14:36:25.990Z\",\n"
    "  \"coverIndex\" : 22\n"
    "}\n"
    "--Boundary_26_60046980_1537367834367\n"
    "Content-Type: application/json\n"
    "\n"
    "{\n"
    "  \"uri\": "
    "\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/"
    "message-store/5209304004\",\n"
    "  \"id\": 5209304004,\n"
    "  \"from\": {\n"
    "    \"phoneNumber\": \"+18885287464\"\n"
    "  },\n"
    "  \"type\": \"Fax\",\n"
    "  \"creationTime\": \"2018-10-08T09:17:27.000Z\",\n"
    "  \"readStatus\": \"Unread\",\n"
    "  \"priority\": \"Normal\",\n"
    "  \"attachments\": [\n"
    "    {\n"
    "      \"id\": 5209304004,\n"
    "      \"uri\": "
    "\"https://media.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/"
    "message-store/5209304004/content/5209304004\",\n"
    "      \"type\": \"RenderedDocument\",\n"
    "      \"contentType\": \"application/pdf\"\n"
    "    }\n"
    "  ],\n"
    "  \"direction\": \"Inbound\",\n"
    "  \"availability\": \"Alive\",\n"
    "  \"subject\": \"+15876009976\",\n"
    "  \"messageStatus\": \"Received\",\n"
    "  \"faxResolution\": \"High\",\n"
    "  \"faxPageCount\": 1,\n"
    "  \"lastModifiedTime\": \"2018-10-08T09:17:27.227Z\"\n"
    "}\n"
    "--Boundary_26_60046980_1537367834367--\n";

static const char *const fax_type = "multipart/mixed; boundary=Boundary_26_60046980_1537367834367";

static int64_t body_id(const struct mp_item *it)
{
    struct json_object *v;
    if (!it->body || !json_object_object_get_ex(it->body, "id", &v))
        return -1;
    return json_object_get_int64(v);
}

static void test_json_form_seed(void)
{
    struct mp_list l;

    CHECK_INT(
        mp_parse("application/vnd.ringcentral.multipart+json", seed_json, strlen(seed_json), &l),
        0);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.items[0].resource_id, "972903004");
        CHECK_INT(l.items[0].status, 200);
        CHECK_INT(body_id(&l.items[0]), 972903004);
        CHECK_STR(l.items[1].resource_id, "972901004");
        CHECK_INT(body_id(&l.items[1]), 972901004);
    }
    mp_list_free(&l);
    CHECK(l.items == NULL && l.n == 0);
}

static void test_json_form_missing_id(void)
{
    static const char body[] =
        "[{\"resourceId\":\"972869004\",\"status\":200,\"body\":{\"id\":972869004}},"
        "{\"resourceId\":\"111\",\"status\":404,\"body\":{\"errorCode\":\"CMN-102\","
        "\"message\":\"Resource for parameter [messageId] is not found\"}},"
        "{\"resourceId\":\"972719004\",\"status\":204}]";
    struct mp_list l;

    CHECK_INT(mp_parse("application/vnd.ringcentral.multipart+json; charset=UTF-8", body,
                       strlen(body), &l),
              0);
    CHECK_INT(l.n, 3);
    if (l.n == 3) {
        CHECK_STR(l.items[1].resource_id, "111");
        CHECK_INT(l.items[1].status, 404);
        CHECK(l.items[1].body != NULL);
        CHECK_INT(l.items[2].status, 204);
        CHECK(l.items[2].body == NULL);
    }
    mp_list_free(&l);
}

static void test_mixed_form_example(void)
{
    struct mp_list l;

    CHECK_INT(mp_parse(fax_type, fax_mixed, strlen(fax_mixed), &l), 0);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.items[0].resource_id, "6338256009");
        CHECK_INT(l.items[0].status, 200);
        CHECK_INT(body_id(&l.items[0]), 6338256009LL);
        /* the example's summary names 6338222009 but the part is 5209304004: kept apart */
        CHECK_STR(l.items[1].resource_id, "6338222009");
        CHECK_INT(body_id(&l.items[1]), 5209304004LL);
    }
    mp_list_free(&l);
}

/* The same answer with CRLF line ends and a quoted boundary. */
static void test_mixed_form_crlf(void)
{
    size_t n = strlen(fax_mixed), k = 0;
    char *crlf = malloc(2 * n + 1);
    struct mp_list l;

    for (size_t i = 0; i < n; i++) {
        if (fax_mixed[i] == '\n')
            crlf[k++] = '\r';
        crlf[k++] = fax_mixed[i];
    }
    crlf[k] = '\0';
    CHECK_INT(
        mp_parse("Multipart/Mixed;boundary=\"Boundary_26_60046980_1537367834367\"", crlf, k, &l),
        0);
    CHECK_INT(l.n, 2);
    if (l.n == 2)
        CHECK_INT(body_id(&l.items[1]), 5209304004LL);
    mp_list_free(&l);
    free(crlf);
}

static void test_broken(void)
{
    struct mp_list l;
    char *cut;
    size_t n = strlen(fax_mixed);

    CHECK_INT(mp_parse("application/vnd.ringcentral.multipart+json", "[{\"status\":200", 14, &l),
              -EIO);
    CHECK_INT(mp_parse("application/vnd.ringcentral.multipart+json", "{}", 2, &l), -EIO);
    CHECK_INT(
        mp_parse("application/vnd.ringcentral.multipart+json", "[{\"status\":\"x\"}]", 16, &l),
        -EIO);
    CHECK_INT(mp_parse("text/html", seed_json, strlen(seed_json), &l), -EIO);
    CHECK_INT(mp_parse("multipart/mixed", fax_mixed, n, &l), -EIO); /* no boundary */
    CHECK_INT(mp_parse("multipart/mixed; boundary=other", fax_mixed, n, &l), -EIO);
    /* cut before the last part is closed */
    cut = strndup(fax_mixed, n - 60);
    CHECK_INT(mp_parse(fax_type, cut, strlen(cut), &l), -EIO);
    free(cut);
    /* one part missing: the summary names two */
    const char *second =
        strstr(fax_mixed + 10, "--Boundary_26_60046980_1537367834367\nContent-Type: "
                               "application/json\n\n{\n  \"uri\": ");
    CHECK(second != NULL);
    if (second) {
        size_t head = (size_t)(second - fax_mixed);
        char *one = malloc(head + 64);
        snprintf(one, head + 64, "%.*s--Boundary_26_60046980_1537367834367--\n", (int)head,
                 fax_mixed);
        CHECK_INT(mp_parse(fax_type, one, strlen(one), &l), -EIO);
        free(one);
    }
    CHECK(l.items == NULL && l.n == 0);
}

int main(void)
{
    RUN(test_json_form_seed);
    RUN(test_json_form_missing_id);
    RUN(test_mixed_form_example);
    RUN(test_mixed_form_crlf);
    RUN(test_broken);
    return CHECK_DONE();
}

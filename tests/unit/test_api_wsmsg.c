/* Unit tests for api_wsmsg: the WebSocket gateway's messages, parsed and built. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_wsmsg.h"
#include "check.h"

static int parse(const char *s, struct wsmsg *m)
{
    return wsmsg_parse(s, strlen(s), m);
}

static void test_connection_details(void)
{
    struct wsmsg m;

    CHECK(parse("[{\"type\":\"ConnectionDetails\",\"messageId\":\"156eec30\",\"status\":200,"
                "\"wsc\":{\"token\":\"RTFhRG5n\",\"sequence\":1},\"headers\":{}},"
                "{\"creationTime\":\"2020-09-07T21:50:02.737+0000\",\"recoveryTimeout\":180,"
                "\"idleTimeout\":1800,\"absoluteTimeout\":86400}]",
                &m) == 0);
    CHECK(m.type == WSMSG_CONNECTION_DETAILS && m.status == 200);
    CHECK(strcmp(m.wsc_token, "RTFhRG5n") == 0 && m.wsc_sequence == 1);
    CHECK(m.recovery == WSMSG_RECOVERY_NONE && m.idle_timeout_s == 1800 &&
          m.recovery_timeout_s == 180);
    wsmsg_free(&m);
    CHECK(parse("[{\"type\":\"ConnectionDetails\",\"messageId\":\"x\"},{\"recoveryState\":"
                "\"Failed\",\"recoveryErrorCode\":\"WSG-1005\"}]",
                &m) == 0);
    CHECK(m.recovery == WSMSG_RECOVERY_FAILED && strcmp(m.recovery_error, "WSG-1005") == 0);
    CHECK(m.wsc_token == NULL && m.wsc_sequence == -1);
    wsmsg_free(&m);
    CHECK(parse("[{\"type\":\"ConnectionDetails\"},{\"recoveryState\":\"Successful\"}]", &m) == 0);
    CHECK(m.recovery == WSMSG_RECOVERY_OK);
    wsmsg_free(&m);
}

static void test_notifications(void)
{
    struct wsmsg m;

    /* the guide's example, with an id above 2^53 */
    CHECK(parse("[{\"type\":\"ServerNotification\",\"messageId\":\"2661\",\"status\":200,"
                "\"wsc\":{\"token\":\"t2\",\"sequence\":7}},"
                "{\"uuid\":\"2661\",\"event\":\"/restapi/v1.0/account/233676004/extension/"
                "233676004/message-store\",\"subscriptionId\":\"2db5\",\"ownerId\":\"1\","
                "\"body\":{\"accountId\":233676004,\"extensionId\":233676004,\"changes\":["
                "{\"type\":\"Pager\",\"newCount\":2,\"updatedCount\":0,\"newMessageIds\":"
                "[12756735005,9007199254740993]},{\"type\":\"Fax\",\"updatedCount\":3}]}}]",
                &m) == 0);
    CHECK(m.type == WSMSG_NOTIFICATION && strcmp(m.note_subscription, "2db5") == 0);
    CHECK(m.ext_id == 233676004 && !m.instant && m.n_ids == 2 && m.n_updated == 3);
    CHECK(m.ids[0] == 12756735005ULL && m.ids[1] == 9007199254740993ULL);
    CHECK(m.wsc_sequence == 7);
    wsmsg_free(&m);
    /* instant SMS: the record's string id; the extension from the event path */
    CHECK(parse("[{\"type\":\"ServerNotification\"},{\"event\":\"/restapi/v1.0/account/1/"
                "extension/5000000004/message-store/instant?type=SMS\",\"subscriptionId\":"
                "\"s\",\"body\":{\"id\":\"400000123004\",\"type\":\"SMS\"}}]",
                &m) == 0);
    CHECK(m.instant && m.ext_id == 5000000004ULL && m.n_ids == 1 && m.ids[0] == 400000123004ULL);
    wsmsg_free(&m);
    /* junk ids are skipped, not fatal */
    CHECK(parse("[{\"type\":\"ServerNotification\"},{\"event\":\"x\",\"body\":{\"changes\":"
                "[{\"newMessageIds\":[-1,\"abc\",1.5,17]}]}}]",
                &m) == 0);
    CHECK(m.ext_id == 0 && m.n_ids == 1 && m.ids[0] == 17);
    wsmsg_free(&m);
}

static void test_answers_and_errors(void)
{
    struct wsmsg m;

    CHECK(parse("[{\"type\":\"ClientRequest\",\"messageId\":\"m1\",\"status\":200},"
                "{\"id\":\"sub-1\",\"status\":\"Active\"}]",
                &m) == 0);
    CHECK(m.type == WSMSG_CLIENT_REQUEST && strcmp(m.message_id, "m1") == 0);
    CHECK(strcmp(m.subscription_id, "sub-1") == 0 && m.error_code[0] == '\0');
    wsmsg_free(&m);
    CHECK(parse("[{\"type\":\"ClientRequest\",\"messageId\":\"m1\",\"status\":400},"
                "{\"errorCode\":\"CMN-101\",\"message\":\"Parameter [eventFilters] value is "
                "invalid\"}]",
                &m) == 0);
    CHECK(m.status == 400 && strcmp(m.error_code, "CMN-101") == 0 && !m.subscription_id[0]);
    wsmsg_free(&m);
    CHECK(parse("[{\"type\":\"Error\",\"messageId\":\"e\"},{\"errorCode\":\"WSG-902\"}]", &m) == 0);
    CHECK(m.type == WSMSG_ERROR && strcmp(m.error_code, "WSG-902") == 0);
    wsmsg_free(&m);
    CHECK(parse("[{\"type\":\"Heartbeat\",\"messageId\":\"h\"}]", &m) == 0);
    CHECK(m.type == WSMSG_HEARTBEAT);
    wsmsg_free(&m);
    CHECK(parse("[{\"type\":\"Surprise\"}]", &m) == 0 && m.type == WSMSG_OTHER);
    wsmsg_free(&m);
    CHECK(parse("{\"type\":\"Heartbeat\"}", &m) == -EINVAL);
    CHECK(parse("[]", &m) == -EINVAL);
    CHECK(parse("[1,2]", &m) == -EINVAL);
    CHECK(parse("[{\"type\":\"Heartbeat\"}] trailing", &m) == -EINVAL);
}

static void test_builders(void)
{
    uint64_t ids[] = {5000000004ULL, 18446744073709551615ULL};
    char *s = wsmsg_subscribe("id-1", ids, 2, true);
    struct json_object *o = json_tokener_parse(s), *meta, *body, *f;

    CHECK(o && json_object_array_length(o) == 2);
    meta = json_object_array_get_idx(o, 0);
    body = json_object_array_get_idx(o, 1);
    CHECK(strcmp(json_object_get_string(json_object_object_get(meta, "type")), "ClientRequest") ==
          0);
    CHECK(strcmp(json_object_get_string(json_object_object_get(meta, "path")),
                 "/restapi/v1.0/subscription/") == 0);
    f = json_object_object_get(body, "eventFilters");
    CHECK(json_object_array_length(f) == 4);
    CHECK(strcmp(json_object_get_string(json_object_array_get_idx(f, 0)),
                 "/restapi/v1.0/account/~/extension/5000000004/message-store") == 0);
    CHECK(strcmp(json_object_get_string(json_object_array_get_idx(f, 3)),
                 "/restapi/v1.0/account/~/extension/18446744073709551615/message-store/"
                 "instant?type=SMS") == 0);
    CHECK(strstr(s, "\"transportType\":\"WebSocket\"") != NULL);
    json_object_put(o);
    free(s);
    s = wsmsg_subscribe("id-2", ids, 1, false);
    CHECK(strstr(s, "instant") == NULL);
    free(s);
    s = wsmsg_heartbeat("hb-9");
    CHECK(strcmp(s, "[{\"type\":\"Heartbeat\",\"messageId\":\"hb-9\"}]") == 0);
    free(s);
}

int main(void)
{
    RUN(test_connection_details);
    RUN(test_notifications);
    RUN(test_answers_and_errors);
    RUN(test_builders);
    return CHECK_DONE();
}

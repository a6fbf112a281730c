/*
 * Unit tests for api/api_record: real records from the API reference and the
 * seeds, 64-bit ids, every refusal, meta.json's exact form, tombstones.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/api_record.h"
#include "tests/unit/check.h"
#include "util/isotime.h"
#include "util/mem.h"

/* Records as the reference and the seeds give them (compacted). */
static const char FAX_OUT[] =
    "{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/"
    "405076340009/message-store/6338256009\",\"id\":6338256009,\"to\":[{\"phoneNumber\":\"+18"
    "882032391\",\"messageStatus\":\"Sent\"}],\"type\":\"Fax\",\"creationTime\":\"2018-09-19T"
    "14:36:25.000Z\",\"readStatus\":\"Unread\",\"priority\":\"Normal\",\"attachments\":[{\"id"
    "\":6338256009,\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/4050763400"
    "09/extension/405076340009/message-store/6338256009/content/6338256009\",\"type\":\"Rende"
    "redDocument\",\"contentType\":\"application/pdf\"}],\"direction\":\"Outbound\",\"availab"
    "ility\":\"Alive\",\"messageStatus\":\"Sent\",\"faxResolution\":\"High\",\"faxPageCount\""
    ":0,\"lastModifiedTime\":\"2018-09-19T14:36:25.990Z\",\"coverIndex\":22}";

static const char FAX_IN[] =
    "{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/405076340009/extension/"
    "405076340009/message-store/5209304004\",\"id\":5209304004,\"from\":{\"phoneNumber\":\"+1"
    "8885287464\"},\"type\":\"Fax\",\"creationTime\":\"2018-10-08T09:17:27.000Z\",\"readStatu"
    "s\":\"Unread\",\"priority\":\"Normal\",\"attachments\":[{\"id\":5209304004,\"uri\":\"htt"
    "ps://media.ringcentral.com/restapi/v1.0/account/405076340009/extension/405076340009/mess"
    "age-store/5209304004/content/5209304004\",\"type\":\"RenderedDocument\",\"contentType\":"
    "\"application/pdf\"}],\"direction\":\"Inbound\",\"availability\":\"Alive\",\"subject\":"
    "\"+15876009976\",\"messageStatus\":\"Received\",\"faxResolution\":\"High\",\"faxPageCoun"
    "t\":1,\"lastModifiedTime\":\"2018-10-08T09:17:27.227Z\"}";

static const char VOICEMAIL[] =
    "{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/401928394008/extension/"
    "401928394008/message-store/402406984008\",\"id\":402406984008,\"to\":[{\"name\":\"Jane S"
    "mith\"}],\"from\":{\"phoneNumber\":\"+18442058517\",\"name\":\"RingCentral\"},\"type\":"
    "\"VoiceMail\",\"creationTime\":\"2018-09-18T09:24:03.000Z\",\"readStatus\":\"Unread\",\""
    "priority\":\"Normal\",\"attachments\":[{\"id\":402406984008,\"uri\":\"https://platform.r"
    "ingcentral.com/restapi/v1.0/account/401928394008/extension/401928394008/message-store/40"
    "2406984008/content/402406984008\",\"type\":\"AudioRecording\",\"contentType\":\"audio/x-"
    "wav\",\"vmDuration\":25}],\"direction\":\"Inbound\",\"availability\":\"Alive\",\"message"
    "Status\":\"Received\",\"lastModifiedTime\":\"2018-09-18T09:24:03.531Z\",\"vmTranscriptio"
    "nStatus\":\"NotAvailable\"}";

static const char SMS_CONV[] =
    "{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/306059004/extension/306"
    "061004/message-store/972869004\",\"id\":972869004,\"to\":[{\"phoneNumber\":\"+1760782222"
    "9\",\"location\":\"Warner Springs, CA\"}],\"from\":{\"phoneNumber\":\"+15013030165\",\"n"
    "ame\":\"Generated sms message\",\"location\":\"Benton, AR\"},\"type\":\"SMS\",\"creation"
    "Time\":\"2018-12-24T07:39:12.000Z\",\"readStatus\":\"Unread\",\"priority\":\"Normal\",\""
    "attachments\":[{\"id\":972869004,\"uri\":\"https://platform.ringcentral.com/restapi/v1.0"
    "/account/306059004/extension/306061004/message-store/972869004/content/972869004\",\"typ"
    "e\":\"Text\",\"contentType\":\"text/plain\"}],\"direction\":\"Outbound\",\"availability"
    "\":\"Alive\",\"subject\":\"SMS: direction=Inbox delivery=DELIVERED unread=true\",\"messa"
    "geStatus\":\"Queued\",\"conversationId\":8234962969801172000,\"conversation\":{\"id\":\""
    "8234962969801171948\",\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/conversati"
    "on/8234962969801171948\"},\"lastModifiedTime\":\"2018-12-24T10:39:11.666Z\"}";

static const char MMS[] =
    "{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/403391985008/extension/"
    "403391985008/message-store/403038404008\",\"id\":403038404008,\"to\":[{\"phoneNumber\":"
    "\"+18772004569\"},{\"phoneNumber\":\"+18772094569\"}],\"from\":{\"phoneNumber\":\"+18882"
    "004237\"},\"type\":\"SMS\",\"creationTime\":\"2017-04-14T13:46:54.000Z\",\"readStatus\":"
    "\"Read\",\"priority\":\"Normal\",\"attachments\":[{\"id\":403038404008,\"uri\":\"https:/"
    "/media.ringcentral.com/restapi/v1.0/account/403391985008/extension/403391985008/message-"
    "store/403038404008/content/403038404008\",\"type\":\"Text\",\"contentType\":\"text/plain"
    "\"},{\"id\":400938873008,\"uri\":\"https://media.ringcentral.com/restapi/v1.0/account/40"
    "3391985008/extension/403391985008/message-store/403038404008/content/400938873008\",\"ty"
    "pe\":\"MmsAttachment\",\"contentType\":\"image/png\",\"size\":13,\"fileName\":\"filename"
    ".png\",\"width\":640,\"height\":480}],\"direction\":\"Outbound\",\"availability\":\"Aliv"
    "e\",\"subject\":\"Flight information\",\"messageStatus\":\"Sent\",\"smsSendingAttemptsCo"
    "unt\":1,\"conversationId\":4671355828682655051,\"lastModifiedTime\":\"2017-04-14T13:46:5"
    "4.838Z\"}";

static const char PAGER_SEED[] =
    "{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/306065004/extension/306"
    "067004/message-store/972903004\",\"id\":972903004,\"to\":[{\"extensionNumber\":\"103\","
    "\"extensionId\":\"306068004\"}],\"from\":{\"extensionNumber\":\"102\",\"extensionId\":\""
    "306067004\",\"name\":\"Generated IM message\"},\"type\":\"Pager\",\"creationTime\":\"201"
    "8-12-24T10:39:24.000Z\",\"readStatus\":\"Read\",\"priority\":\"Normal\",\"attachments\":"
    "[{\"id\":972903004,\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/30606"
    "5004/extension/306067004/message-store/972903004/content/972903004\",\"type\":\"Text\","
    "\"contentType\":\"text/plain\"}],\"direction\":\"Outbound\",\"availability\":\"Alive\","
    "\"subject\":\"IM: direction=Outbox unread=false\",\"messageStatus\":\"Sent\",\"conversat"
    "ionId\":6951365551500,\"conversation\":{\"id\":\"6951365551500\",\"uri\":\"https://platf"
    "orm.ringcentral.com/restapi/v1.0/conversation/6951365551500\"},\"lastModifiedTime\":\"20"
    "18-12-24T10:39:31.873Z\",\"pgToDepartment\":false}";

/* A small valid record that the refusal tests change one field at a time. */
static const char BASE[] =
    "{\"id\":1,\"type\":\"Fax\",\"creationTime\":\"2018-09-19T14:36:25.000Z\","
    "\"direction\":\"Inbound\",\"readStatus\":\"Read\",\"availability\":\"Alive\","
    "\"from\":{\"phoneNumber\":\"+15551234\"},\"to\":[{\"phoneNumber\":\"+15550000\"}],"
    "\"attachments\":[{\"id\":2,\"type\":\"RenderedDocument\","
    "\"contentType\":\"application/pdf\",\"uri\":\"https://media.example.com/c/2\"}]}";

static int64_t ms(const char *iso)
{
    int64_t v = 0;
    CHECK_INT(isotime_parse(iso, &v), 0);
    return v;
}

static bool all_zero(const struct rec *r)
{
    static const struct rec zero;
    return memcmp(r, &zero, sizeof(zero)) == 0;
}

/* An error message is one printable line. */
static bool clean_err(const char *err)
{
    if (!err[0])
        return false;
    for (const char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

static int parse(const char *text, bool partial, struct rec *r, char *err)
{
    return rec_from_text(text, strlen(text), partial, r, err, 256);
}

/* meta.json must parse back to the same object and the same record. */
static void check_roundtrip(const char *text, const struct rec *r)
{
    struct rec again;
    char err[256];
    CHECK(r->json != NULL);
    if (!r->json)
        return;
    CHECK_INT(r->json_len, strlen(r->json));
    CHECK(r->json_len > 0 && r->json[r->json_len - 1] == '\n');
    CHECK_INT(parse(r->json, false, &again, err), 0);
    CHECK_STR(again.json, r->json);
    CHECK(again.id == r->id);
    CHECK_STR(again.conversation_id, r->conversation_id);
    CHECK_INT(again.n_att, r->n_att);
    struct json_object *a = json_tokener_parse(text), *b = json_tokener_parse(r->json);
    CHECK(a && b && json_object_equal(a, b));
    json_object_put(a);
    json_object_put(b);
    rec_free(&again);
}

static void test_fax_without_size(void)
{
    struct rec r;
    char err[256] = "";
    CHECK_INT(parse(FAX_OUT, false, &r, err), 0);
    CHECK(r.id == UINT64_C(6338256009));
    CHECK_INT(r.type, REC_FAX);
    CHECK_INT(r.direction, REC_OUTBOUND);
    CHECK_INT(r.availability, REC_ALIVE);
    CHECK_INT(r.read_status, REC_UNREAD);
    CHECK_STR(r.message_status, "Sent");
    CHECK_STR(r.peer, "+18882032391"); /* to[0]: outbound */
    CHECK(r.subject == NULL);
    CHECK_STR(r.conversation_id, "");
    CHECK_INT(r.creation_ms, ms("2018-09-19T14:36:25.000Z"));
    CHECK_INT(r.modified_ms, ms("2018-09-19T14:36:25.990Z"));
    CHECK(!r.partial);
    CHECK_INT(r.n_att, 1);
    CHECK(r.att[0].id == UINT64_C(6338256009));
    CHECK_INT(r.att[0].size, -1);
    CHECK_INT(r.att[0].type, REC_ATT_RENDERED_DOCUMENT);
    CHECK_STR(r.att[0].content_type, "application/pdf");
    CHECK(r.att[0].file_name == NULL);
    CHECK_STR(r.att[0].uri, "https://platform.ringcentral.com/restapi/v1.0/account/405076340009/"
                            "extension/405076340009/message-store/6338256009/content/6338256009");
    check_roundtrip(FAX_OUT, &r);
    rec_free(&r);
    CHECK(all_zero(&r));

    CHECK_INT(parse(FAX_IN, false, &r, err), 0);
    CHECK_INT(r.direction, REC_INBOUND);
    CHECK_STR(r.peer, "+18885287464"); /* from: inbound */
    CHECK_STR(r.subject, "+15876009976");
    CHECK_STR(r.message_status, "Received");
    check_roundtrip(FAX_IN, &r);
    rec_free(&r);
}

static void test_voicemail(void)
{
    struct rec r;
    char err[256];
    CHECK_INT(parse(VOICEMAIL, false, &r, err), 0);
    CHECK(r.id == UINT64_C(402406984008)); /* above 2^32 */
    CHECK_INT(r.type, REC_VOICEMAIL);
    CHECK_INT(r.direction, REC_INBOUND);
    CHECK_STR(r.peer, "+18442058517");
    CHECK_INT(r.n_att, 1);
    CHECK_INT(r.att[0].type, REC_ATT_AUDIO_RECORDING);
    CHECK_STR(r.att[0].content_type, "audio/x-wav");
    CHECK_INT(r.att[0].size, -1);
    CHECK_INT(r.modified_ms, ms("2018-09-18T09:24:03.531Z"));
    check_roundtrip(VOICEMAIL, &r);
    rec_free(&r);
}

static void test_sms_conversation(void)
{
    struct rec r;
    char err[256];
    CHECK_INT(parse(SMS_CONV, false, &r, err), 0);
    CHECK(r.id == UINT64_C(972869004));
    CHECK_INT(r.type, REC_SMS);
    CHECK_STR(r.peer, "+17607822229");
    /* conversationId is 8234962969801172000 (a double's rounding); the
     * string in conversation.id is the truth. */
    CHECK_STR(r.conversation_id, "8234962969801171948");
    CHECK_STR(r.message_status, "Queued");
    check_roundtrip(SMS_CONV, &r);
    /* meta.json keeps the server's integer as it was, digit for digit. */
    CHECK(strstr(r.json, "\"conversationId\": 8234962969801172000,\n") != NULL);
    rec_free(&r);
}

static void test_mms(void)
{
    struct rec r;
    char err[256];
    CHECK_INT(parse(MMS, false, &r, err), 0);
    CHECK(r.id == UINT64_C(403038404008));
    /* an integer conversationId above 2^53 stays exact */
    CHECK_STR(r.conversation_id, "4671355828682655051");
    CHECK_STR(r.peer, "+18772004569");
    CHECK_INT(r.n_att, 2);
    CHECK_INT(r.att[0].type, REC_ATT_TEXT);
    CHECK_INT(r.att[1].type, REC_ATT_MMS);
    CHECK(r.att[1].id == UINT64_C(400938873008));
    CHECK_INT(r.att[1].size, 13);
    CHECK_STR(r.att[1].file_name, "filename.png");
    CHECK_STR(r.att[1].content_type, "image/png");
    check_roundtrip(MMS, &r);
    CHECK(strstr(r.json, "\"conversationId\": 4671355828682655051,\n") != NULL);
    rec_free(&r);
}

static void test_pager_seed(void)
{
    struct rec r;
    char err[256];
    CHECK_INT(parse(PAGER_SEED, false, &r, err), 0);
    CHECK_INT(r.type, REC_PAGER);
    CHECK_INT(r.direction, REC_OUTBOUND);
    CHECK_STR(r.peer, "103"); /* to[0] has only an extension number */
    CHECK_STR(r.conversation_id, "6951365551500");
    CHECK_STR(r.subject, "IM: direction=Outbox unread=false");
    CHECK_INT(r.read_status, REC_READ);
    CHECK_INT(r.att[0].type, REC_ATT_TEXT);
    check_roundtrip(PAGER_SEED, &r);
    rec_free(&r);

    /* rec_from_json on the object itself, as the batch parser calls it */
    struct json_object *o = json_tokener_parse(PAGER_SEED);
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    CHECK_STR(r.peer, "103");
    struct rec moved;
    rec_move(&moved, &r);
    CHECK(all_zero(&r));
    CHECK_STR(moved.peer, "103");
    rec_free(&moved);
    rec_free(&r);
    rec_free(NULL);
    json_object_put(o);
}

/* Replace (or with val NULL, remove) one member of BASE, or of its first
 * attachment when in_att, and parse the result. */
static int variant(const char *key, const char *val, bool in_att, struct rec *r, char *err)
{
    struct json_object *o = json_tokener_parse(BASE);
    struct json_object *target = o;
    if (in_att)
        target = json_object_array_get_idx(json_object_object_get(o, "attachments"), 0);
    if (val) {
        struct json_object *v = json_tokener_parse(val);
        if (!v && strcmp(val, "null") != 0)
            fprintf(stderr, "bad test JSON: %s\n", val);
        json_object_object_add(target, key, v);
    } else {
        json_object_object_del(target, key);
    }
    int rc = rec_from_json(o, false, r, err, 256);
    json_object_put(o);
    return rc;
}

static void expect_refused(const char *key, const char *val, bool in_att)
{
    struct rec r;
    char err[256] = "";
    int rc = variant(key, val, in_att, &r, err);
    if (rc != -EINVAL)
        fprintf(stderr, "  accepted %s%s = %s\n", in_att ? "attachments[0]." : "", key,
                val ? val : "(removed)");
    CHECK_INT(rc, -EINVAL);
    CHECK(clean_err(err));
    CHECK(all_zero(&r));
    rec_free(&r);
}

static void expect_accepted(const char *key, const char *val, bool in_att, struct rec *r)
{
    char err[256] = "";
    int rc = variant(key, val, in_att, r, err);
    if (rc != 0)
        fprintf(stderr, "  refused %s = %s: %s\n", key, val ? val : "(removed)", err);
    CHECK_INT(rc, 0);
}

static void test_base_valid(void)
{
    struct rec r;
    expect_accepted("x", "1", false, &r);
    CHECK_STR(r.peer, "+15551234");
    CHECK_INT(r.modified_ms, r.creation_ms); /* no lastModifiedTime */
    CHECK_STR(r.message_status, "");
    rec_free(&r);
}

static void test_ids(void)
{
    struct rec r;
    expect_accepted("id", "\"402406984008\"", false, &r);
    CHECK(r.id == UINT64_C(402406984008));
    rec_free(&r);
    expect_accepted("id", "9223372036854775807", false, &r);
    CHECK(r.id == UINT64_C(9223372036854775807));
    rec_free(&r);
    expect_accepted("id", "18446744073709551614", false, &r); /* above int64 */
    CHECK(r.id == UINT64_C(18446744073709551614));
    check_roundtrip(r.json, &r);
    rec_free(&r);
    expect_accepted("id", "\"18446744073709551614\"", false, &r);
    CHECK(r.id == UINT64_C(18446744073709551614));
    rec_free(&r);
    expect_accepted("id", "\"00042\"", false, &r);
    CHECK(r.id == 42);
    rec_free(&r);
    expect_accepted("id", "2", true, &r);
    CHECK(r.att[0].id == 2);
    rec_free(&r);
    expect_accepted("id", "\"5000000000\"", true, &r);
    CHECK(r.att[0].id == UINT64_C(5000000000));
    rec_free(&r);

    static const char *const bad[] = {
        NULL,
        "-1",
        "1.5",
        "4.02406984008e11",
        "1e3",
        "\"\"",
        "\" 1\"",
        "\"+1\"",
        "\"0x10\"",
        "\"12a\"",
        "\"-1\"",
        "true",
        "null",
        "{}",
        "[]",
        "18446744073709551615",
        "\"18446744073709551615\"",
        "\"18446744073709551616\"",
        "99999999999999999999", /* json-c clamps this to UINT64_MAX */
        "\"99999999999999999999999999\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused("id", bad[i], false);
        expect_refused("id", bad[i], true);
    }
}

static void test_conversation_ids(void)
{
    struct rec r;
    /* conversationId alone, as a JSON integer above 2^53 */
    expect_accepted("conversationId", "5578984350117917661", false, &r);
    CHECK_STR(r.conversation_id, "5578984350117917661");
    rec_free(&r);
    /* above int64 still exact */
    expect_accepted("conversationId", "18446744073709551614", false, &r);
    CHECK_STR(r.conversation_id, "18446744073709551614");
    rec_free(&r);
    /* a double is never guessed at: no conversation rather than a wrong one */
    expect_accepted("conversationId", "8.2e18", false, &r);
    CHECK_STR(r.conversation_id, "");
    rec_free(&r);
    expect_accepted("conversationId", "8234962969801171948.0", false, &r);
    CHECK_STR(r.conversation_id, "");
    rec_free(&r);
    expect_accepted("conversationId", "-5", false, &r);
    CHECK_STR(r.conversation_id, "");
    rec_free(&r);
    expect_accepted("conversationId", "0", false, &r);
    CHECK_STR(r.conversation_id, "");
    rec_free(&r);
    expect_accepted("conversationId", "true", false, &r);
    CHECK_STR(r.conversation_id, "");
    rec_free(&r);
    expect_accepted("conversationId", "\"77\"", false, &r);
    CHECK_STR(r.conversation_id, "77");
    rec_free(&r);

    /* conversation.id wins; a bad one falls back to conversationId */
    struct {
        const char *conv, *want;
    } cases[] = {
        {"{\"id\":\"8234962969801171948\"}", "8234962969801171948"},
        {"{\"id\":\"0000000000000000007\"}", "7"},
        {"{\"id\":\"18446744073709551614\"}", "18446744073709551614"},
        {"{\"id\":\"123456789012345678901\"}", "77"}, /* 21 digits */
        {"{\"id\":\"18446744073709551616\"}", "77"},  /* beyond uint64 */
        {"{\"id\":\"12a\"}", "77"},
        {"{\"id\":\"\"}", "77"},
        {"{\"id\":12}", "77"},
        {"{}", "77"},
        {"\"8234962969801171948\"", "77"},
        {"[1]", "77"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_object *o = json_tokener_parse(BASE);
        json_object_object_add(o, "conversationId", json_object_new_int64(77));
        json_object_object_add(o, "conversation", json_tokener_parse(cases[i].conv));
        char err[256];
        CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
        CHECK_STR(r.conversation_id, cases[i].want);
        rec_free(&r);
        json_object_put(o);
    }
}

static void test_enums(void)
{
    struct rec r;
    static const char *const types[] = {"Fax", "SMS", "VoiceMail", "Pager", "Text"};
    for (int i = 0; i < REC_TYPE_COUNT; i++) {
        char v[32];
        snprintf(v, sizeof(v), "\"%s\"", types[i]);
        expect_accepted("type", v, false, &r);
        CHECK_INT(r.type, i);
        rec_free(&r);
        enum rec_type t;
        CHECK_INT(rec_type_parse(types[i], &t), 0);
        CHECK_INT(t, i);
        CHECK_STR(rec_type_name((enum rec_type)i), types[i]);
    }
    enum rec_type t = REC_FAX;
    CHECK_INT(rec_type_parse("fax", &t), -EINVAL);
    CHECK_INT(rec_type_parse("", &t), -EINVAL);
    CHECK_INT(rec_type_parse(NULL, &t), -EINVAL);
    CHECK_STR(rec_dir_name(REC_OUTBOUND), "Outbound");
    CHECK_STR(rec_avail_name(REC_PURGED), "Purged");
    CHECK_STR(rec_read_name(REC_UNREAD), "Unread");
    CHECK_STR(rec_att_type_name(REC_ATT_MMS), "MmsAttachment");
    CHECK_STR(rec_att_type_name(REC_ATT_OTHER), "Other");
    CHECK_STR(rec_type_name((enum rec_type)99), "Unknown");

    expect_accepted("availability", "\"Deleted\"", false, &r);
    CHECK_INT(r.availability, REC_DELETED);
    rec_free(&r);
    expect_accepted("availability", NULL, false, &r); /* default Alive */
    CHECK_INT(r.availability, REC_ALIVE);
    rec_free(&r);
    expect_accepted("readStatus", "\"Unread\"", false, &r);
    CHECK_INT(r.read_status, REC_UNREAD);
    rec_free(&r);
    expect_accepted("messageStatus", "\"DeliveryFailed\"", false, &r);
    CHECK_STR(r.message_status, "DeliveryFailed");
    rec_free(&r);
    expect_accepted("messageStatus", "\"SomethingNew\"", false, &r);
    CHECK_STR(r.message_status, ""); /* unknown: shown as nothing */
    rec_free(&r);

    static const char *const att_types[] = {
        "AudioRecording", "AudioTranscription", "Text",
        "SourceDocument", "RenderedDocument",   "MmsAttachment"};
    for (int i = 0; i < 6; i++) {
        char v[40];
        snprintf(v, sizeof(v), "\"%s\"", att_types[i]);
        expect_accepted("type", v, true, &r);
        CHECK_INT(r.att[0].type, i);
        rec_free(&r);
    }
    expect_accepted("type", "\"Hologram\"", true, &r);
    CHECK_INT(r.att[0].type, REC_ATT_OTHER);
    rec_free(&r);
    expect_accepted("type", NULL, true, &r);
    CHECK_INT(r.att[0].type, REC_ATT_OTHER);
    rec_free(&r);

    expect_refused("type", NULL, false);
    expect_refused("type", "\"Email\"", false);
    expect_refused("type", "\"fax\"", false);
    expect_refused("type", "3", false);
    expect_refused("type", "\"Fax\\u0000\"", false);
    expect_refused("direction", NULL, false);
    expect_refused("direction", "\"Sideways\"", false);
    expect_refused("direction", "[]", false);
    expect_refused("readStatus", NULL, false);
    expect_refused("readStatus", "\"read\"", false);
    expect_refused("availability", "\"Gone\"", false);
    expect_refused("availability", "1", false);
    expect_refused("messageStatus", "5", false);
    expect_refused("type", "5", true);
}

static void test_times(void)
{
    struct rec r;
    expect_accepted("lastModifiedTime", "\"2018-09-20T00:00:00.123Z\"", false, &r);
    CHECK_INT(r.modified_ms, ms("2018-09-20T00:00:00.123Z"));
    rec_free(&r);
    expect_accepted("lastModifiedTime", "null", false, &r);
    CHECK_INT(r.modified_ms, r.creation_ms);
    rec_free(&r);
    expect_refused("creationTime", NULL, false);
    expect_refused("creationTime", "\"yesterday\"", false);
    expect_refused("creationTime", "\"2018-13-01T00:00:00Z\"", false);
    expect_refused("creationTime", "1537367834367", false);
    expect_refused("creationTime",
                   "\"2018-09-19T14:36:25.000Z                                     "
                   "                          \"",
                   false);
    expect_refused("lastModifiedTime", "\"\"", false);
    expect_refused("lastModifiedTime", "{}", false);
}

static void test_peer(void)
{
    struct rec r;
    expect_accepted("from", "{\"extensionNumber\":\"102\",\"name\":\"John\"}", false, &r);
    CHECK_STR(r.peer, "102");
    rec_free(&r);
    expect_accepted("from", "{\"phoneNumber\":\"\",\"name\":\"John Smith\"}", false, &r);
    CHECK_STR(r.peer, "John Smith");
    rec_free(&r);
    expect_accepted("from", "{\"location\":\"Here\"}", false, &r);
    CHECK(r.peer == NULL);
    rec_free(&r);
    expect_accepted("from", NULL, false, &r);
    CHECK(r.peer == NULL);
    rec_free(&r);
    /* outbound: to[0], and only to[0] */
    expect_accepted("direction", "\"Outbound\"", false, &r);
    CHECK_STR(r.peer, "+15550000");
    rec_free(&r);

    struct json_object *o = json_tokener_parse(BASE);
    char err[256];
    json_object_object_add(o, "direction", json_object_new_string("Outbound"));
    json_object_object_add(o, "to", json_tokener_parse("[]"));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    CHECK(r.peer == NULL);
    rec_free(&r);
    json_object_object_add(o, "to", json_tokener_parse("[{\"name\":\"A/B\"},{\"x\":1}]"));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    CHECK_STR(r.peer, "A/B"); /* as sent: mb_name makes names of it */
    rec_free(&r);
    json_object_object_add(o, "to", json_tokener_parse("{\"name\":\"x\"}"));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_object_add(o, "to", json_tokener_parse("[\"+1555\"]"));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_object_add(o, "to", json_tokener_parse("[{\"phoneNumber\":15551234}]"));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_put(o);

    expect_refused("from", "\"+15551234\"", false);
    expect_refused("from", "[{\"phoneNumber\":\"1\"}]", false);
    expect_refused("from", "{\"phoneNumber\":15551234}", false);
    expect_refused("from", "{\"name\":\"a\\u0000b\"}", false);
    expect_refused("from", "{\"extensionNumber\":true}", false);
}

static void test_strings(void)
{
    struct rec r;
    expect_accepted("subject", "\"caf\\u00e9 \\ud83d\\ude00\"", false, &r);
    CHECK_STR(r.subject, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    rec_free(&r);
    expect_refused("subject", "12", false);
    expect_refused("subject", "\"a\\u0000b\"", false);
    expect_refused("subject", "{}", false);

    /* REC_MAX_STRING exactly is fine, one more byte is not */
    char *big = mem_alloc(REC_MAX_STRING + 4);
    big[0] = '"';
    memset(big + 1, 'x', REC_MAX_STRING);
    strcpy(big + 1 + REC_MAX_STRING, "\"");
    expect_accepted("subject", big, false, &r);
    CHECK_INT(strlen(r.subject), REC_MAX_STRING);
    rec_free(&r);
    expect_accepted("fileName", big, true, &r);
    CHECK_INT(strlen(r.att[0].file_name), REC_MAX_STRING);
    rec_free(&r);
    memset(big + 1, 'y', REC_MAX_STRING + 1);
    strcpy(big + 2 + REC_MAX_STRING, "\"");
    expect_refused("subject", big, false);
    expect_refused("fileName", big, true);
    expect_refused("unusedField", big, false); /* anywhere in the record */
    free(big);

    /* invalid UTF-8 can only come from raw bytes; json-c keeps them */
    struct json_object *o = json_tokener_parse(BASE);
    char err[256];
    json_object_object_add(o, "subject", json_object_new_string_len("a\xff", 2));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(clean_err(err));
    json_object_object_add(o, "subject", json_object_new_string_len("\xed\xa0\x80", 3));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_object_add(o, "subject", json_object_new_string_len("\xc0\xaf", 2));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_object_add(o, "subject", json_object_new_string("ok"));
    json_object_object_add(o, "k\xfe", json_object_new_int(1)); /* a bad key */
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_put(o);
}

static void test_attachments(void)
{
    struct rec r;
    expect_accepted("contentType", "\" Image/PNG ; name=\\\"a.png\\\"\"", true, &r);
    CHECK_STR(r.att[0].content_type, "image/png");
    rec_free(&r);
    expect_accepted("contentType",
                    "\"application/vnd.openxmlformats-officedocument."
                    "wordprocessingml.document\"",
                    true, &r);
    CHECK_STR(r.att[0].content_type,
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    rec_free(&r);
    static const char *const junk_types[] = {
        "\"\"",      "\"pdf\"",         "\"/pdf\"",      "\"image/\"", "\"a/b/c\"",
        "\"a b/c\"", "\"image/p\\ng\"", "\"\\u00e9/x\"", "\";/\"",     "\"text/plain\\u0001\""};
    for (size_t i = 0; i < sizeof(junk_types) / sizeof(junk_types[0]); i++) {
        expect_accepted("contentType", junk_types[i], true, &r);
        CHECK_STR(r.att[0].content_type, "");
        rec_free(&r);
    }
    expect_accepted("contentType", NULL, true, &r);
    CHECK_STR(r.att[0].content_type, "");
    rec_free(&r);

    expect_accepted("size", "0", true, &r);
    CHECK_INT(r.att[0].size, 0);
    rec_free(&r);
    expect_accepted("size", "5000000000", true, &r);
    CHECK_INT(r.att[0].size, INT64_C(5000000000));
    rec_free(&r);
    expect_accepted("fileName", "\"../../etc/passwd\"", true, &r);
    CHECK_STR(r.att[0].file_name, "../../etc/passwd"); /* kept as sent, named by mb_name */
    rec_free(&r);
    expect_accepted("uri", NULL, true, &r);
    CHECK(r.att[0].uri == NULL);
    rec_free(&r);
    expect_accepted("uri", "\"http://127.0.0.1:8080/restapi/x?a=b\"", true, &r);
    CHECK_STR(r.att[0].uri, "http://127.0.0.1:8080/restapi/x?a=b");
    rec_free(&r);
    expect_accepted("uri", "\"HTTPS://Media.example.com/x\"", true, &r);
    rec_free(&r);

    expect_refused("size", "-1", true);
    expect_refused("size", "1.5", true);
    expect_refused("size", "\"13\"", true);
    expect_refused("size", "true", true);
    expect_refused("contentType", "7", true);
    expect_refused("fileName", "7", true);
    expect_refused("fileName", "\"a\\u0000.png\"", true);
    expect_refused("uri", "7", true);
    expect_refused("uri", "\"ftp://x/y\"", true);
    expect_refused("uri", "\"/restapi/v1.0/x\"", true);
    expect_refused("uri", "\"https://\"", true);
    expect_refused("uri", "\"https:///x\"", true);
    expect_refused("uri", "\"https://a b/\"", true);
    expect_refused("uri", "\"https://a/\\r\\nX-Evil: 1\"", true);
    expect_refused("uri", "\"https://a/\\u00e9\"", true);
    expect_refused("id", NULL, true);

    /* REC_MAX_URI bytes is the most a URI may have */
    char *long_uri = mem_alloc(REC_MAX_URI + 4);
    long_uri[0] = '"';
    memcpy(long_uri + 1, "https://a/", 10);
    memset(long_uri + 11, 'u', REC_MAX_URI - 10);
    strcpy(long_uri + 1 + REC_MAX_URI, "\"");
    expect_accepted("uri", long_uri, true, &r);
    CHECK_INT(strlen(r.att[0].uri), REC_MAX_URI);
    rec_free(&r);
    long_uri[1 + REC_MAX_URI] = 'u';
    strcpy(long_uri + 2 + REC_MAX_URI, "\"");
    expect_refused("uri", long_uri, true);
    free(long_uri);

    expect_refused("attachments", "{}", false);
    expect_refused("attachments", "\"none\"", false);
    expect_refused("attachments", "[1]", false);
    expect_refused("attachments", "[null]", false);
    expect_refused("attachments", "[[]]", false);
    expect_accepted("attachments", "[]", false, &r);
    CHECK_INT(r.n_att, 0);
    rec_free(&r);
    expect_accepted("attachments", NULL, false, &r);
    CHECK_INT(r.n_att, 0);
    CHECK(r.att == NULL);
    rec_free(&r);

    /* REC_MAX_ATTACHMENTS is the most; a bad last one frees the others */
    struct json_object *o = json_tokener_parse(BASE);
    struct json_object *atts = json_object_new_array();
    for (int i = 0; i < REC_MAX_ATTACHMENTS; i++) {
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "id", json_object_new_int(i + 1));
        json_object_object_add(a, "type", json_object_new_string("MmsAttachment"));
        json_object_object_add(a, "fileName", json_object_new_string("p.png"));
        json_object_array_add(atts, a);
    }
    json_object_object_add(o, "attachments", atts);
    char err[256];
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    CHECK_INT(r.n_att, REC_MAX_ATTACHMENTS);
    CHECK_INT(r.att[63].id, 64);
    rec_free(&r);
    json_object_object_add(json_object_array_get_idx(atts, 63), "size", json_object_new_int(-2));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(all_zero(&r));
    json_object_object_del(json_object_array_get_idx(atts, 63), "size");
    json_object_array_add(atts, json_tokener_parse("{\"id\":99}"));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "attachments") != NULL);
    json_object_put(o);
}

/* Nesting: the record object is level 1; REC_MAX_DEPTH levels are fine. */
static char *nested_record(int depth)
{
    /* BASE with "deep": [[[...]]] so that the record is `depth` deep */
    size_t n = strlen(BASE);
    char *s = mem_alloc(n + 2 * (size_t)depth + 32);
    memcpy(s, BASE, n - 1);
    char *p = s + n - 1;
    p += sprintf(p, ",\"deep\":");
    for (int i = 1; i < depth; i++)
        *p++ = '[';
    for (int i = 1; i < depth; i++)
        *p++ = ']';
    strcpy(p, "}");
    return s;
}

static void test_depth(void)
{
    struct rec r;
    char err[256];
    char *s = nested_record(REC_MAX_DEPTH);
    CHECK_INT(parse(s, false, &r, err), 0);
    rec_free(&r);
    struct json_object *o = json_tokener_parse(s);
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    rec_free(&r);
    json_object_put(o);
    free(s);

    s = nested_record(REC_MAX_DEPTH + 1);
    CHECK_INT(parse(s, false, &r, err), -EINVAL); /* refused by the tokener */
    CHECK(strstr(err, "deeper") != NULL);
    CHECK(all_zero(&r));
    o = json_tokener_parse(s); /* json-c's default depth lets it through */
    CHECK(o != NULL);
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL); /* refused by the walk */
    CHECK(strstr(err, "deeper") != NULL);
    json_object_put(o);
    free(s);

    /* far deeper than anything: no recursion beyond the limit */
    o = json_object_new_object();
    struct json_object *cur = json_object_new_array();
    json_object_object_add(o, "deep", cur);
    for (int i = 0; i < 10000; i++) {
        struct json_object *next = json_object_new_array();
        json_object_array_add(cur, next);
        cur = next;
    }
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_put(o);
}

static void test_numbers_in_meta(void)
{
    struct rec r;
    char err[256];
    /* json-c's lenient tokener would print these back verbatim */
    expect_refused("x", "NaN", false);
    expect_refused("x", "Infinity", false);
    expect_refused("x", "1e400", false);
    expect_refused("x", "1.", false);
    expect_accepted("x", "-0.5e-3", false, &r);
    CHECK(strstr(r.json, "\"x\": -0.5e-3\n") != NULL);
    rec_free(&r);

    struct json_object *o = json_tokener_parse(BASE);
    json_object_object_add(o, "x", json_object_new_double(NAN));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    json_object_object_add(o, "x", json_object_new_double(2.5));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    CHECK(strstr(r.json, "\"x\": 2.5\n") != NULL);
    rec_free(&r);
    json_object_object_add(o, "x", json_object_new_int64(INT64_MIN));
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), 0);
    CHECK(strstr(r.json, "\"x\": -9223372036854775808\n") != NULL);
    rec_free(&r);
    json_object_put(o);
}

static void test_meta_json_form(void)
{
    static const char in[] =
        "{\"id\":1,\"type\":\"Fax\",\"creationTime\":\"2018-09-19T14:36:25.000Z\","
        "\"direction\":\"Inbound\",\"readStatus\":\"Read\",\"from\":{\"phoneNumber\":\"+1\"},"
        "\"to\":[],\"e\":{},\"attachments\":[{\"id\":18446744073709551614,"
        "\"type\":\"RenderedDocument\",\"uri\":\"https://m.example.com/a/b\"}],"
        "\"n\":-3,\"d\":1.50,\"b\":true,\"z\":null,\"nest\":[[1,2],{\"k\":[{}]}],"
        "\"s\":\"q\\\"b\\\\s\\n\\t\\u0001\\u007f\\u00e9/x\"}";
    static const char want[] = "{\n"
                               "  \"id\": 1,\n"
                               "  \"type\": \"Fax\",\n"
                               "  \"creationTime\": \"2018-09-19T14:36:25.000Z\",\n"
                               "  \"direction\": \"Inbound\",\n"
                               "  \"readStatus\": \"Read\",\n"
                               "  \"from\": {\n"
                               "    \"phoneNumber\": \"+1\"\n"
                               "  },\n"
                               "  \"to\": [],\n"
                               "  \"e\": {},\n"
                               "  \"attachments\": [\n"
                               "    {\n"
                               "      \"id\": 18446744073709551614,\n"
                               "      \"type\": \"RenderedDocument\",\n"
                               "      \"uri\": \"https://m.example.com/a/b\"\n"
                               "    }\n"
                               "  ],\n"
                               "  \"n\": -3,\n"
                               "  \"d\": 1.50,\n"
                               "  \"b\": true,\n"
                               "  \"z\": null,\n"
                               "  \"nest\": [\n"
                               "    [\n"
                               "      1,\n"
                               "      2\n"
                               "    ],\n"
                               "    {\n"
                               "      \"k\": [\n"
                               "        {}\n"
                               "      ]\n"
                               "    }\n"
                               "  ],\n"
                               "  \"s\": \"q\\\"b\\\\s\\n\\t\\u0001\\u007f\xc3\xa9/x\"\n"
                               "}\n";
    struct rec r;
    char err[256];
    CHECK_INT(parse(in, false, &r, err), 0);
    CHECK_STR(r.json, want);
    CHECK_INT(r.json_len, sizeof(want) - 1);
    check_roundtrip(in, &r);
    rec_free(&r);

    /* meta.json of meta.json is the same text */
    CHECK_INT(parse(want, false, &r, err), 0);
    CHECK_STR(r.json, want);
    rec_free(&r);

    /* big records are refused rather than written */
    struct json_object *o = json_tokener_parse(BASE);
    char *s = mem_alloc(60001);
    memset(s, 'z', 60000);
    s[60000] = '\0';
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        json_object_object_add(o, key, json_object_new_string(s));
    }
    CHECK_INT(rec_from_json(o, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "meta.json") != NULL);
    json_object_put(o);
    free(s);
}

static void test_tombstones(void)
{
    struct rec r;
    char err[256];
    CHECK_INT(parse("{\"id\": 401060290008, \"availability\": \"Deleted\"}", true, &r, err), 0);
    CHECK(r.partial);
    CHECK(r.id == UINT64_C(401060290008));
    CHECK_INT(r.availability, REC_DELETED);
    CHECK(r.json == NULL);
    CHECK_INT(r.json_len, 0);
    CHECK(r.peer == NULL);
    CHECK_INT(r.n_att, 0);
    rec_free(&r);
    CHECK_INT(parse("{\"id\":\"7\",\"availability\":\"Purged\",\"uri\":\"x\"}", true, &r, err), 0);
    CHECK(r.partial);
    CHECK_INT(r.availability, REC_PURGED);
    rec_free(&r);

    /* only where the caller allows them */
    CHECK_INT(parse("{\"id\":7,\"availability\":\"Deleted\"}", false, &r, err), -EINVAL);
    CHECK(all_zero(&r));
    /* an Alive record with only an id is broken, not a tombstone */
    CHECK_INT(parse("{\"id\":7,\"availability\":\"Alive\"}", true, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":7}", true, &r, err), -EINVAL);
    CHECK_INT(parse("{\"availability\":\"Deleted\"}", true, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":-7,\"availability\":\"Deleted\"}", true, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":7,\"availability\":\"deleted\"}", true, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":7,\"availability\":4}", true, &r, err), -EINVAL);
    CHECK(all_zero(&r));

    /* a whole Deleted record stays a whole record */
    struct json_object *o = json_tokener_parse(BASE);
    json_object_object_add(o, "availability", json_object_new_string("Deleted"));
    CHECK_INT(rec_from_json(o, true, &r, err, sizeof(err)), 0);
    CHECK(!r.partial);
    CHECK(r.json != NULL);
    CHECK_STR(r.peer, "+15551234");
    rec_free(&r);
    json_object_put(o);
}

static void test_text_framing(void)
{
    struct rec r;
    char err[256];
    size_t n = strlen(BASE);
    char *s = mem_alloc(n + 16);

    memcpy(s, BASE, n);
    strcpy(s + n, " \r\n\t\n");
    CHECK_INT(parse(s, false, &r, err), 0);
    rec_free(&r);
    strcpy(s + n, "\n{}");
    CHECK_INT(parse(s, false, &r, err), -EINVAL);
    CHECK(clean_err(err));
    strcpy(s + n, "x");
    CHECK_INT(parse(s, false, &r, err), -EINVAL);
    CHECK_INT(rec_from_text(BASE, n - 1, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "truncated") != NULL);
    memcpy(s, BASE, n);
    s[n] = '\0';
    s[n + 1] = ' ';
    CHECK_INT(rec_from_text(s, n + 2, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "NUL") != NULL);
    free(s);

    CHECK_INT(rec_from_text("", 0, false, &r, err, sizeof(err)), -EINVAL);
    CHECK_INT(rec_from_text(NULL, 0, false, &r, err, sizeof(err)), -EINVAL);
    CHECK_INT(parse("[]", false, &r, err), -EINVAL);
    CHECK_INT(parse("\"x\"", false, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":01}", false, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":1,}", false, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":1 /* c */}", false, &r, err), -EINVAL);
    CHECK_INT(parse("{\"id\":1,\"s\":\"\xff\"}", true, &r, err), -EINVAL);
    CHECK(clean_err(err));
    CHECK(all_zero(&r));
    CHECK_INT(rec_from_json(NULL, false, &r, err, sizeof(err)), -EINVAL);
    /* no error buffer at all is fine too */
    CHECK_INT(rec_from_text("[]", 2, false, &r, NULL, 0), -EINVAL);
    CHECK_INT(rec_from_text("[]", 2, false, &r, err, 1), -EINVAL);
    CHECK_STR(err, "");
}

static void test_text_too_long(void)
{
    /* 5 MiB of blanks around a valid record: refused before json-c sees it */
    size_t n = 5u << 20;
    char *s = mem_alloc(n);
    memset(s, ' ', n);
    memcpy(s, BASE, strlen(BASE));
    struct rec r;
    char err[256];
    CHECK_INT(rec_from_text(s, n, false, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "longer") != NULL);
    CHECK_INT(rec_from_text(s, 1u << 20, false, &r, err, sizeof(err)), 0);
    rec_free(&r);
    free(s);
}

/* Several threads parsing at once agree with one thread (no shared state). */
static const char *const thread_inputs[] = {FAX_OUT, FAX_IN, VOICEMAIL, SMS_CONV, MMS, PAGER_SEED};

static void *parse_many(void *arg)
{
    char **want = arg;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < 6; i++) {
            struct rec r;
            char err[256];
            if (parse(thread_inputs[i], false, &r, err) != 0 || strcmp(r.json, want[i]) != 0)
                return (void *)1;
            rec_free(&r);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    char *want[6];
    for (size_t i = 0; i < 6; i++) {
        struct rec r;
        char err[256];
        CHECK_INT(parse(thread_inputs[i], false, &r, err), 0);
        want[i] = r.json;
        r.json = NULL;
        rec_free(&r);
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, parse_many, want), 0);
    for (int i = 0; i < 4; i++) {
        void *res = (void *)1;
        pthread_join(t[i], &res);
        CHECK(res == NULL);
    }
    for (size_t i = 0; i < 6; i++)
        free(want[i]);
}

/* Server text in an error message is short and cannot forge log lines. */
static void test_error_quoting(void)
{
    char err[512];
    struct rec r;
    char evil[2048];
    int n =
        snprintf(evil, sizeof(evil), "%s", "{\"id\":1,\"type\":\"X\\n\\u001b[31mFAKE LOG LINE ");
    memset(evil + n, 'A', 1000);
    memcpy(evil + n + 1000, "\"}", 3);
    CHECK_INT(rec_from_text(evil, strlen(evil), false, &r, err, sizeof(err)), -EINVAL);
    CHECK(clean_err(err));
    CHECK(strlen(err) < 140);
    CHECK(strstr(err, "\\x0a\\x1b[31mFAKE") != NULL);
    CHECK(strstr(err, "...") != NULL);

    CHECK_INT(parse("{\"id\":\"\xc3\xa9\\\"\\\\\"}", false, &r, err), -EINVAL);
    CHECK(clean_err(err));
    CHECK(strstr(err, "\\xc3\\xa9\\\"\\\\") != NULL);
}

int main(void)
{
    RUN(test_fax_without_size);
    RUN(test_voicemail);
    RUN(test_sms_conversation);
    RUN(test_mms);
    RUN(test_pager_seed);
    RUN(test_base_valid);
    RUN(test_ids);
    RUN(test_conversation_ids);
    RUN(test_enums);
    RUN(test_times);
    RUN(test_peer);
    RUN(test_strings);
    RUN(test_attachments);
    RUN(test_depth);
    RUN(test_numbers_in_meta);
    RUN(test_meta_json_form);
    RUN(test_tombstones);
    RUN(test_text_framing);
    RUN(test_text_too_long);
    RUN(test_threads);
    RUN(test_error_quoting);
    return CHECK_DONE();
}

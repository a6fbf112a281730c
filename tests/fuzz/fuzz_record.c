/*
 * fuzz_record — libFuzzer target for api/api_record (and the names the
 * mailbox makes from what it accepts).
 *
 * Each input is tried three ways: as record text with and without
 * allow_partial, and wrapped as a list response {"records":[INPUT]} parsed
 * by json-c's lenient default tokener, each element then going through
 * rec_from_json, so the parser also meets what a lenient caller hands it
 * (NaN, "1.", single quotes, nesting beyond the limit).
 *
 * Oracles: no sanitizer report; a refusal leaves *out zeroed with a short
 * printable reason; an accepted record keeps the documented field
 * invariants, its meta.json parses back to the same record and the same
 * text, and every name built from it is a safe path component.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "api/api_record.h"
#include "mailbox/mb_name.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool all_zero(const struct rec *r)
{
    static const struct rec zero;
    return memcmp(r, &zero, sizeof(zero)) == 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_refusal(int rc, const struct rec *r, const char *err)
{
    FUZZ_ASSERT(rc == -EINVAL, "refusal is -EINVAL");
    FUZZ_ASSERT(all_zero(r), "refused record is zeroed");
    size_t n = strnlen(err, 256);
    FUZZ_ASSERT(n > 0 && n < 256, "refusal has a reason");
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT((unsigned char)err[i] >= 0x20 && (unsigned char)err[i] < 0x7f,
                    "reason is printable ASCII");
}

static void check_names(const struct rec *r)
{
    char name[MBNAME_MAX];
    mbname_message(r->creation_ms, r->peer, r->id, name);
    fuzz_check_name(name, "message folder");
    if (r->conversation_id[0]) {
        mbname_conversation(r->peer, r->conversation_id, name);
        fuzz_check_name(name, "conversation folder");
    }
    if (r->n_att) {
        char(*names)[MBNAME_MAX] = malloc(r->n_att * MBNAME_MAX);
        if (!names)
            abort();
        mbname_attachments(r->att, r->n_att, names);
        fuzz_check_attachment_names(names, r->n_att);
        free(names);
    }
}

static void check_accepted(const struct rec *r, bool allow_partial)
{
    size_t cl = strnlen(r->conversation_id, sizeof(r->conversation_id));
    FUZZ_ASSERT(cl < sizeof(r->conversation_id), "conversation id terminated");
    FUZZ_ASSERT(strspn(r->conversation_id, "0123456789") == cl, "conversation id is decimal");
    FUZZ_ASSERT(r->id != UINT64_MAX, "id is never the json-c clamp value");

    if (r->partial) {
        FUZZ_ASSERT(allow_partial, "tombstone only when allowed");
        FUZZ_ASSERT(r->json == NULL && r->json_len == 0, "tombstone has no meta.json");
        FUZZ_ASSERT(r->availability == REC_DELETED || r->availability == REC_PURGED,
                    "tombstone is Deleted or Purged");
        return;
    }
    FUZZ_ASSERT((unsigned)r->type < REC_TYPE_COUNT, "type in range");
    FUZZ_ASSERT(r->direction == REC_INBOUND || r->direction == REC_OUTBOUND, "direction");
    FUZZ_ASSERT(r->read_status == REC_READ || r->read_status == REC_UNREAD, "read status");
    FUZZ_ASSERT((unsigned)r->availability <= REC_PURGED, "availability");
    FUZZ_ASSERT(r->n_att <= REC_MAX_ATTACHMENTS, "attachment count");
    FUZZ_ASSERT(r->n_att == 0 || r->att, "attachments present");
    FUZZ_ASSERT(memchr(r->message_status, 0, sizeof(r->message_status)), "status terminated");
    for (size_t i = 0; i < r->n_att; i++) {
        const struct rec_attachment *a = &r->att[i];
        FUZZ_ASSERT(a->size >= -1, "size is -1 or a size");
        FUZZ_ASSERT(a->content_type, "content type never NULL");
        const char *ct = a->content_type;
        if (*ct) {
            const char *slash = strchr(ct, '/');
            FUZZ_ASSERT(slash && slash != ct && slash[1] && !strchr(slash + 1, '/'),
                        "content type is type/subtype");
            for (const char *p = ct; *p; p++)
                FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z') && (unsigned char)*p > 0x20 &&
                                (unsigned char)*p < 0x7f && *p != ';',
                            "content type is lower-case tokens");
        }
        if (a->uri) {
            FUZZ_ASSERT(strncasecmp(a->uri, "http://", 7) == 0 ||
                            strncasecmp(a->uri, "https://", 8) == 0,
                        "uri is http(s)");
            FUZZ_ASSERT(strlen(a->uri) <= REC_MAX_URI, "uri length");
            for (const char *p = a->uri; *p; p++)
                FUZZ_ASSERT((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f,
                            "uri is printable ASCII");
        }
        if (a->file_name)
            FUZZ_ASSERT(strlen(a->file_name) <= REC_MAX_STRING, "file name length");
    }
    if (r->peer)
        FUZZ_ASSERT(*r->peer && strlen(r->peer) <= REC_MAX_STRING, "peer non-empty, bounded");

    /* meta.json: terminated, one final newline, and a fixed point */
    FUZZ_ASSERT(r->json && strlen(r->json) == r->json_len, "json_len is strlen(json)");
    FUZZ_ASSERT(r->json_len >= 3 && r->json[0] == '{' && r->json[r->json_len - 1] == '\n' &&
                    r->json[r->json_len - 2] == '}',
                "meta.json is an object and a newline");
    FUZZ_ASSERT(fuzz_utf8((const unsigned char *)r->json, r->json_len), "meta.json is UTF-8");
    FUZZ_ASSERT(fuzz_json_valid(r->json, r->json_len), "meta.json is RFC 8259 JSON");

    struct rec again;
    char err[256];
    int rc = rec_from_text(r->json, r->json_len, false, &again, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "meta.json refused: %s\n%s", err, r->json);
    FUZZ_ASSERT(rc == 0, "meta.json parses back");
    FUZZ_ASSERT(again.json_len == r->json_len && strcmp(again.json, r->json) == 0,
                "meta.json of meta.json is the same text");
    FUZZ_ASSERT(again.id == r->id && again.type == r->type && again.direction == r->direction &&
                    again.availability == r->availability && again.read_status == r->read_status &&
                    again.creation_ms == r->creation_ms && again.modified_ms == r->modified_ms,
                "fields survive meta.json");
    FUZZ_ASSERT(strcmp(again.conversation_id, r->conversation_id) == 0 &&
                    strcmp(again.message_status, r->message_status) == 0 &&
                    same_str(again.peer, r->peer) && same_str(again.subject, r->subject),
                "strings survive meta.json");
    FUZZ_ASSERT(again.n_att == r->n_att, "attachments survive meta.json");
    for (size_t i = 0; i < r->n_att; i++) {
        const struct rec_attachment *a = &r->att[i], *b = &again.att[i];
        FUZZ_ASSERT(a->id == b->id && a->size == b->size && a->type == b->type &&
                        strcmp(a->content_type, b->content_type) == 0 &&
                        same_str(a->file_name, b->file_name) && same_str(a->uri, b->uri),
                    "attachment survives meta.json");
    }
    rec_free(&again);
    FUZZ_ASSERT(all_zero(&again), "rec_free zeroes");

    check_names(r);
}

static void one(struct json_object *obj, const char *text, size_t len, bool allow_partial)
{
    struct rec r;
    char err[256];
    int rc = obj ? rec_from_json(obj, allow_partial, &r, err, sizeof(err))
                 : rec_from_text(text, len, allow_partial, &r, err, sizeof(err));
    if (rc == 0)
        check_accepted(&r, allow_partial);
    else
        check_refusal(rc, &r, err);

    struct rec moved;
    rec_move(&moved, &r);
    FUZZ_ASSERT(all_zero(&r), "rec_move empties the source");
    rec_free(&moved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    one(NULL, text, size, false);
    one(NULL, text, size, true);

    /* the same bytes as the elements of a list response */
    static const char head[] = "{\"records\":[", tail[] = "]}";
    char *list = malloc(sizeof(head) + size + sizeof(tail));
    if (!list)
        abort();
    memcpy(list, head, sizeof(head) - 1);
    memcpy(list + sizeof(head) - 1, data, size);
    memcpy(list + sizeof(head) - 1 + size, tail, sizeof(tail));
    size_t list_len = sizeof(head) - 1 + size + sizeof(tail) - 1;

    /* deeper than REC_MAX_DEPTH on purpose: rec_from_json must refuse on
     * its own, whatever depth the caller's tokener allowed */
    struct json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        abort();
    struct json_object *resp = json_tokener_parse_ex(tok, list, (int)list_len);
    struct json_object *records;
    if (resp && json_object_object_get_ex(resp, "records", &records) &&
        json_object_is_type(records, json_type_array)) {
        size_t n = json_object_array_length(records);
        for (size_t i = 0; i < n && i < 64; i++) {
            struct json_object *el = json_object_array_get_idx(records, i);
            if (!el || !json_object_is_type(el, json_type_object)) {
                struct rec r;
                char err[256];
                check_refusal(rec_from_json(el, false, &r, err, sizeof(err)), &r, err);
                continue;
            }
            one(el, NULL, 0, false);
            one(el, NULL, 0, true);
        }
    }
    json_object_put(resp);
    json_tokener_free(tok);
    free(list);
    return 0;
}

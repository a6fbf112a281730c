/* api_record_names — the API's spellings of the record enums (see api_record.h). */
#include <errno.h>
#include <string.h>

#include "api/api_record_priv.h"

const char *const recx_type_names[REC_TYPE_COUNT] = {"Fax", "SMS", "VoiceMail", "Pager", "Text"};
const char *const recx_dir_names[2] = {"Inbound", "Outbound"};
const char *const recx_avail_names[3] = {"Alive", "Deleted", "Purged"};
const char *const recx_read_names[2] = {"Read", "Unread"};
const char *const recx_att_type_names[REC_ATT_OTHER + 1] = {
    "AudioRecording",   "AudioTranscription", "Text", "SourceDocument",
    "RenderedDocument", "MmsAttachment",      "Other"};
const char *const recx_message_statuses[6] = {"Queued",         "Sent",          "Delivered",
                                              "DeliveryFailed", "SendingFailed", "Received"};

int recx_lookup(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *rec_type_name(enum rec_type t)
{
    return (unsigned)t < RECX_COUNT(recx_type_names) ? recx_type_names[t] : "Unknown";
}

const char *rec_dir_name(enum rec_dir d)
{
    return (unsigned)d < RECX_COUNT(recx_dir_names) ? recx_dir_names[d] : "Unknown";
}

const char *rec_avail_name(enum rec_avail a)
{
    return (unsigned)a < RECX_COUNT(recx_avail_names) ? recx_avail_names[a] : "Unknown";
}

const char *rec_read_name(enum rec_read r)
{
    return (unsigned)r < RECX_COUNT(recx_read_names) ? recx_read_names[r] : "Unknown";
}

const char *rec_att_type_name(enum rec_att_type t)
{
    return (unsigned)t < RECX_COUNT(recx_att_type_names) ? recx_att_type_names[t] : "Unknown";
}

int rec_type_parse(const char *s, enum rec_type *out)
{
    int i = s ? recx_lookup(s, recx_type_names, RECX_COUNT(recx_type_names)) : -1;
    if (i < 0)
        return -EINVAL;
    *out = (enum rec_type)i;
    return 0;
}

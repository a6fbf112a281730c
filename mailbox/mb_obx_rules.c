/* mb_obx_rules — the Outbox's pure rules (see mb_obx_rules.h). */
#include "mailbox/mb_obx_rules.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_send.h"
#include "util/utf8.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool obxr_temp_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || name[0] == '.' || name[n - 1] == '~')
        return true;
    if ((n >= 2 && name[0] == '#' && name[n - 1] == '#') || strncmp(name, "~$", 2) == 0)
        return true;
    return ends_with(name, ".part") || ends_with(name, ".crdownload") || ends_with(name, ".swp") ||
           ends_with(name, ".tmp");
}

int obxr_recipient(enum rec_type t, const char *name, char *to, size_t tolen)
{
    size_t n = strlen(name);
    const char *digits = name[0] == '+' ? name + 1 : name;
    size_t nd = strlen(digits);
    if (nd == 0 || strspn(digits, "0123456789") != nd)
        return -EINVAL;
    if (t == REC_PAGER) {
        if (digits != name || n > 16 || n + 1 > tolen)
            return -EINVAL;
        memcpy(to, name, n + 1);
        return 0;
    }
    if (t != REC_FAX && t != REC_SMS)
        return -EINVAL;
    if (nd < 7 || nd > 15)
        return -EINVAL;
    return api_send_number(name, to, tolen);
}

size_t obxr_text_limit(enum rec_type t)
{
    return t == REC_SMS ? API_SEND_SMS_TEXT_MAX : t == REC_PAGER ? API_SEND_PAGER_TEXT_MAX : 0;
}

size_t obxr_text_max_bytes(enum rec_type t)
{
    return 3 * obxr_text_limit(t) + 2;
}

/* Length without one final "\n" or "\r\n". */
static size_t strip_newline(const char *data, size_t len)
{
    if (len > 0 && data[len - 1] == '\n')
        len--;
    if (len > 0 && data[len - 1] == '\r')
        len--;
    return len;
}

/* UTF-16 units of the valid UTF-8 that data begins with. */
static size_t valid_units(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t units = 0;
    for (size_t i = 0; i < len;) {
        size_t l = utf8_seq(s + i, len - i);
        if (l == 0)
            break;
        units += utf8_cp(s + i, l) >= 0x10000 ? 2 : 1;
        i += l;
    }
    return units;
}

int obxr_text_growing(enum rec_type t, const char *data, size_t len)
{
    size_t limit = obxr_text_limit(t);
    if (len > obxr_text_max_bytes(t))
        return -EFBIG;
    return valid_units(data, strip_newline(data, len)) > limit ? -EFBIG : 0;
}

int obxr_text_final(enum rec_type t, const char *data, size_t len, size_t *text_len, char *why,
                    size_t whylen)
{
    size_t limit = obxr_text_limit(t), n = strip_newline(data, len);
    const char *what = t == REC_SMS ? "an SMS" : "a pager message";
    if (len > obxr_text_max_bytes(t)) {
        snprintf(why, whylen, "%s may have at most %zu characters; this file has %zu bytes", what,
                 limit, len);
        return -EFBIG;
    }
    if (n == 0) {
        snprintf(why, whylen, "the file is empty: %s needs text", what);
        return -EINVAL;
    }
    if (memchr(data, '\0', n) || !utf8_valid(data, n)) {
        snprintf(why, whylen, "%s must be UTF-8 text; this file is not", what);
        return -EINVAL;
    }
    size_t units = api_send_text_units(data, n);
    if (units > limit) {
        snprintf(why, whylen, "%s may have at most %zu UTF-16 units; this text has %zu", what,
                 limit, units);
        return -EFBIG;
    }
    *text_len = n;
    return 0;
}

int obxr_status_final(const char *s)
{
    if (strcmp(s, "Sent") == 0 || strcmp(s, "Delivered") == 0)
        return 1;
    if (strcmp(s, "SendingFailed") == 0 || strcmp(s, "DeliveryFailed") == 0)
        return -1;
    return 0;
}

/* api_err — HTTP status / errorCode / CURLcode to errno (see api_err.h). */
#include "api/api_err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool code_is(const char *error_code, const char *want)
{
    return error_code && strcmp(error_code, want) == 0;
}

int errmap_errno(CURLcode cc, long status, const char *error_code, unsigned flags)
{
    if (cc != CURLE_OK) {
        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            return -EHOSTUNREACH;
        default:
            return -EIO;
        }
    }
    if (status >= 200 && status <= 299)
        return 0;
    if (status == 400 && code_is(error_code, "MSG-333"))
        return -ESTALE;
    if (status == 400 && (flags & ERRMAP_SYNC) && code_is(error_code, "CMN-101"))
        return -ESTALE;
    if ((flags & ERRMAP_AUTH) && (status == 400 || status == 401))
        return -EACCES;
    switch (status) {
    case 401:
    case 403:
        return -EACCES;
    case 404:
        return -ENOENT;
    case 400:
    case 416:
        return -EINVAL;
    default:
        return -EIO;
    }
}

const char *errmap_name(int err)
{
    switch (err < 0 ? -err : err) {
    case 0:
        return "OK";
    case EACCES:
        return "EACCES";
    case ENOENT:
        return "ENOENT";
    case EINVAL:
        return "EINVAL";
    case EIO:
        return "EIO";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case ESTALE:
        return "ESTALE";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EFBIG:
        return "EFBIG";
    case ENOMEM:
        return "ENOMEM";
    case EPERM:
        return "EPERM";
    case EINPROGRESS:
        return "EINPROGRESS";
    case EMSGSIZE:
        return "EMSGSIZE";
    default:
        return "E?";
    }
}

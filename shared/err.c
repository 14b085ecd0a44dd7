#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static _Thread_local char s_detail[512];
static _Thread_local int s_code;

const char *
err_str(int code)
{
    switch (code) {
    case ERR_OK:
        return "success";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_IO:
        return "input/output error";
    case ERR_FORMAT:
        return "malformed input";
    case ERR_TOOBIG:
        return "too large";
    case ERR_SIGNATURE:
        return "signature does not verify";
    case ERR_CRYPTO:
        return "cryptographic library error";
    case ERR_PASSWORD:
        return "wrong password";
    case ERR_PERM:
        return "permission denied";
    case ERR_NOTFOUND:
        return "not found";
    case ERR_ARG:
        return "invalid argument";
    case ERR_TIMEOUT:
        return "timed out";
    case ERR_PROTO:
        return "protocol error";
    case ERR_REFUSED:
        return "refused";
    case ERR_HOLD:
        return "hold timer running";
    case ERR_NET:
        return "network error";
    case ERR_EXISTS:
        return "already exists";
    case ERR_UNTRUSTED:
        return "not trusted";
    }
    return "unknown error";
}

/*
 * Callers often wrap the last detail in a new one
 * (err_set(rc, "cannot X: %s", err_detail())), so the text is formatted
 * aside first and only then copied over the detail it may have read.
 */
int
err_set(int code, const char *fmt, ...)
{
    char text[sizeof(s_detail)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(s_detail, text, sizeof(s_detail));
    s_code = code;
    return code;
}

int
err_set_ssl(int code, const char *fmt, ...)
{
    va_list ap;
    size_t used;
    unsigned long e;

    char text[sizeof(s_detail)];

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(s_detail, text, sizeof(s_detail));

    /* The last queued error is the most specific one. */
    e = ERR_peek_last_error();
    used = strlen(s_detail);
    if (e != 0 && used + 3 < sizeof(s_detail)) {
        snprintf(s_detail + used, sizeof(s_detail) - used, ": %s",
                 ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                            : "unknown OpenSSL error");
    }
    ERR_clear_error();
    s_code = code;
    return code;
}

const char *
err_detail(void)
{
    if (s_detail[0] == '\0')
        return err_str(s_code);
    return s_detail;
}

int
err_last(void)
{
    return s_code;
}

void
err_clear(void)
{
    s_detail[0] = '\0';
    s_code = ERR_OK;
}

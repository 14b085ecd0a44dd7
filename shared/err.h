/*
 * err: the project's one error enum.
 *
 * Functions that can fail return ERR_OK (0) or one of the negative codes
 * below. The code says what kind of failure it was; the detail (which file,
 * which byte offset, which host) is recorded with err_set() in a
 * thread-local buffer that err_detail() returns until the next err_set().
 */
#ifndef ITL_ERR_H
#define ITL_ERR_H

#include <stddef.h>

#define WUR               __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

enum err_code {
    ERR_OK = 0,
    ERR_NOMEM = -1,     /* out of memory */
    ERR_IO = -2,        /* read, write, rename or fsync failed */
    ERR_FORMAT = -3,    /* malformed file or message */
    ERR_TOOBIG = -4,    /* over a size limit */
    ERR_SIGNATURE = -5, /* a signature does not verify */
    ERR_CRYPTO = -6,    /* OpenSSL failed */
    ERR_PASSWORD = -7,  /* wrong password */
    ERR_PERM = -8,      /* unsafe permissions, or not allowed */
    ERR_NOTFOUND = -9,  /* no such file, record, node or key */
    ERR_ARG = -10,      /* bad argument or configuration value */
    ERR_TIMEOUT = -11,  /* a peer did not answer in time */
    ERR_PROTO = -12,    /* protocol violation by a peer */
    ERR_REFUSED = -13,  /* a peer or a rule refused the operation */
    ERR_HOLD = -14,     /* certificate hold timer still running */
    ERR_NET = -15,      /* connection failed */
    ERR_EXISTS = -16,   /* would overwrite something that exists */
    ERR_UNTRUSTED = -17 /* host key or certificate not trusted */
};

/* Returns a static, human-readable name of the code; never NULL. */
const char *err_str(int code);

/*
 * Records the detail of a failure and returns code, so that a caller can
 * write `return err_set(ERR_FORMAT, "offset %zu: ...", off);`.
 */
int err_set(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);

/*
 * Like err_set, with the text of the current OpenSSL error queue appended
 * (the queue is then cleared).
 */
int err_set_ssl(int code, const char *fmt, ...) PRINTF_LIKE(2, 3);

/*
 * Returns the detail recorded by the last err_set() of this thread, or the
 * code's name when no detail was recorded since err_clear(). Never NULL.
 */
const char *err_detail(void);

/* Returns the code of the last err_set() of this thread (ERR_OK if none). */
int err_last(void);

/* Forgets the last detail. */
void err_clear(void);

#endif

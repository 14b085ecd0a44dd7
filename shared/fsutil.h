/*
 * fsutil: reading files with a size cap, and durable writes.
 */
#ifndef ITL_FSUTIL_H
#define ITL_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/*
 * Reads all of path into a new buffer (with one NUL byte after the data, not
 * counted in *len). Files larger than max bytes are refused with ERR_TOOBIG.
 * Returns ERR_OK, ERR_NOTFOUND, ERR_IO or ERR_TOOBIG; the caller frees *buf.
 */
int fs_read_file(const char *path, size_t max, uint8_t **buf, size_t *len) WUR;

/*
 * Writes buf to path durably: a temp file in the same folder created with
 * mode, written, fsynced, renamed over path, and the folder fsynced. On any
 * failure the temp file is removed and path is left as it was.
 * When keep_previous is non-zero an existing path is first hard-linked to
 * "path.prev" (replacing an older one). Returns ERR_OK or ERR_IO.
 */
int fs_write_durable(const char *path, const void *buf, size_t len, mode_t mode,
                     int keep_previous) WUR;

/*
 * Refuses (ERR_PERM) a file holding a secret that group or others can read
 * or write, with a message that names the file and the chmod that fixes it.
 * Returns ERR_OK, ERR_NOTFOUND or ERR_PERM.
 */
int fs_check_private(const char *path) WUR;

/* Creates path and its parents as needed with mode. ERR_OK or ERR_IO. */
int fs_mkdir_p(const char *path, mode_t mode) WUR;

/* Non-zero when path exists. */
int fs_exists(const char *path);

#endif

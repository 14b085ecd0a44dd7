/*
 * sftpc: a small SFTP client on libssh, for copying ITLRecovery.p12 to and
 * from a backup server.
 *
 * One connection per transfer: connect with a bounded timeout, check the
 * server's host key against a known-hosts file, authenticate with a
 * password (or keyboard-interactive answered with that password), then
 * download or upload one file. Every failure returns an error code with a
 * one-line detail (err_detail) naming the server and what went wrong.
 *
 * The module is called sftpc, not sftp, because libssh owns the sftp_*
 * names.
 */
#ifndef ITL_SFTPC_H
#define ITL_SFTPC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SFTPC_DEFAULT_PORT    22
#define SFTPC_DEFAULT_TIMEOUT 15
#define SFTPC_KEY_FILE        "ITLRecovery.p12"

/*
 * Asked when the server's host key is not in the known-hosts file:
 * target is "HOST:PORT", keytype e.g. "ssh-ed25519", fingerprint
 * "SHA256:<base64>". Returns 1 to trust the key (it is then recorded in
 * the file), 0 to abort.
 */
typedef int(sftpc_confirm_fn)(void *arg, const char *target,
                              const char *keytype, const char *fingerprint);

typedef struct {
    const char *host; /* name or address */
    int port;         /* 0 means SFTPC_DEFAULT_PORT */
    const char *user;
    const char *password;
    const char *known_hosts;   /* path of the known-hosts file */
    int accept_new;            /* trust an unknown key without asking */
    int timeout_s;             /* connect and every wait; 0: default */
    sftpc_confirm_fn *confirm; /* NULL: unknown keys are refused */
    void *confirm_arg;
} sftpc_opts_t;

/*
 * Splits "HOST" or "HOST:PORT" (or "[V6]:PORT") into host and port (22
 * when absent). Returns ERR_OK or ERR_ARG (empty host, bad port, too long).
 */
int sftpc_parse_target(const char *s, char *host, size_t hostlen,
                       int *port) WUR;

/*
 * Downloads path from the server: when path is a folder, the file
 * path/ITLRecovery.p12 in it. Files over max bytes are refused. On
 * success *buf (caller frees) holds *len bytes and remote (may be NULL)
 * the path that was read. Returns ERR_OK, ERR_NET (connection refused,
 * unreachable, dropped), ERR_TIMEOUT (no answer within the timeout),
 * ERR_UNTRUSTED (host key unknown and not accepted, or changed),
 * ERR_PASSWORD (credentials refused), ERR_REFUSED (no usable
 * authentication method), ERR_NOTFOUND (no such remote file), ERR_PERM
 * (permission denied on the server), ERR_TOOBIG, ERR_ARG, ERR_IO (the
 * known-hosts file cannot be read or written) or ERR_PROTO.
 */
int sftpc_download(const sftpc_opts_t *o, const char *path, size_t max,
                   uint8_t **buf, size_t *len, char *remote,
                   size_t remotelen) WUR;

/*
 * Uploads len bytes of buf as dir/name: written to dir/name.part first,
 * then renamed over dir/name, and its size checked. *sent (may be NULL)
 * gets the bytes written; remote (may be NULL) the final path. Returns as
 * sftpc_download (ERR_NOTFOUND: no such folder).
 */
int sftpc_upload(const sftpc_opts_t *o, const char *dir, const char *name,
                 const uint8_t *buf, size_t len, size_t *sent, char *remote,
                 size_t remotelen) WUR;

#endif

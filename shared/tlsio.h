/*
 * tlsio: TLS over a non-blocking TCP socket with deadlines, for the TVS
 * server and its client. Every wait is bounded by a deadline (monotonic
 * milliseconds, as time_mono_ms) and, when stop is not NULL, ends early
 * once *stop is non-zero (checked every 100 ms).
 */
#ifndef ITL_TLSIO_H
#define ITL_TLSIO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "err.h"

/*
 * Runs the TLS handshake of ssl (already bound to its socket fd) as the
 * server (accept non-zero) or the client. Returns ERR_OK, ERR_TIMEOUT,
 * ERR_NET (peer closed, socket error) or ERR_PROTO (TLS refused); the
 * detail names peer and carries the OpenSSL reason.
 */
int tlsio_handshake(SSL *ssl, int fd, int accept, long long deadline,
                    const int *stop, const char *peer) WUR;

/*
 * Reads exactly n bytes. Returns ERR_OK; ERR_NOTFOUND when the peer closed
 * before the first byte (a clean end between messages); ERR_NET when it
 * closed after some bytes or the socket failed; ERR_TIMEOUT at the
 * deadline or on stop. The detail names peer and says how many bytes came.
 */
int tlsio_read(SSL *ssl, int fd, uint8_t *buf, size_t n, long long deadline,
               const int *stop, const char *peer) WUR;

/* Writes all n bytes. Returns ERR_OK, ERR_NET or ERR_TIMEOUT. */
int tlsio_write(SSL *ssl, int fd, const uint8_t *buf, size_t n,
                long long deadline, const int *stop, const char *peer) WUR;

/*
 * Connects a non-blocking TCP socket to host:port (numeric or a name)
 * before the deadline. Returns the socket, or -1 with err_set (ERR_NET,
 * ERR_TIMEOUT, ERR_ARG for an unknown host).
 */
int tlsio_connect(const char *host, int port, long long deadline);

/*
 * Blocks SIGPIPE in the calling thread (old gets the previous mask), so
 * that writing to a closed socket fails with EPIPE instead of killing the
 * process; tlsio_sigpipe_restore drops a SIGPIPE raised meanwhile and
 * restores the mask.
 */
void tlsio_sigpipe_block(sigset_t *old);
void tlsio_sigpipe_restore(const sigset_t *old);

#endif

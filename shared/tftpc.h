/*
 * tftpc: a TFTP client for read requests (RFC 1350, octet mode), with the
 * option extension of RFC 2347: blksize (RFC 2348) and tsize (RFC 2349).
 *
 * A server that ignores the options (answers with DATA block 1) is served
 * with 512-byte blocks; one that refuses them (TFTP error 8) is asked again
 * without options. Replies must come from the server's address; after the
 * first one, only from the same port (the server's transfer id): packets
 * from elsewhere get a TFTP error 5 and are otherwise ignored. The client
 * retransmits its last packet when nothing comes for a while, and gives up
 * at a deadline for the whole transfer, so a silent server ends the call in
 * bounded time. The client does not linger after its last ACK (if that ACK
 * is lost the server times out on its own; the data is complete).
 */
#ifndef ITL_TFTPC_H
#define ITL_TFTPC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Block size asked for by tftpc_get: an Ethernet frame without fragments. */
#define TFTPC_DEFAULT_BLKSIZE 1428

/* Longest server error message quoted in err_detail(). */
#define TFTPC_MAX_QUOTE 100

typedef struct {
    int blksize;  /* asked for with the blksize option (8..65464); 0 asks
                     no blksize option (512-byte blocks) */
    int tsize;    /* non-zero asks the tsize option */
    int retry_ms; /* retransmission interval; 0 derives it from the deadline
                     (a fifth of it, between 100 and 1000 ms) */
} tftpc_opts_t;

/* What a transfer negotiated, for callers that care (tests, logs). */
typedef struct {
    int blksize;     /* block size used */
    int oack;        /* non-zero when the server acknowledged options */
    long long tsize; /* size the server announced, -1 when none */
    int retransmits; /* packets sent again */
    int strays;      /* packets ignored for a wrong source */
} tftpc_info_t;

/*
 * Downloads filename from host (numeric address or name) and port (69 when
 * 0) into a new buffer (with one NUL after the data, not counted in *len),
 * with blksize TFTPC_DEFAULT_BLKSIZE and tsize asked for. Files over max
 * bytes are refused. The whole transfer must end within timeout_ms.
 * Returns ERR_OK (the caller frees *buf) or:
 *   ERR_NOTFOUND  the server's TFTP error 1 (file not found),
 *   ERR_REFUSED   any other TFTP error packet (code and quoted message in
 *                 err_detail()),
 *   ERR_TIMEOUT   "no answer from HOST:PORT after N ms", or a transfer
 *                 that stalled,
 *   ERR_TOOBIG    the file is over max (announced by tsize or received),
 *   ERR_PROTO     a malformed or out-of-place packet from the server,
 *   ERR_NET       name resolution or socket failure,
 *   ERR_ARG       bad arguments, ERR_NOMEM.
 */
int tftpc_get(const char *host, int port, const char *filename, size_t max,
              int timeout_ms, uint8_t **buf, size_t *len) WUR;

/*
 * As tftpc_get with the options in opts (NULL for the defaults above);
 * info (may be NULL) receives what was negotiated.
 */
int tftpc_get_opts(const char *host, int port, const char *filename, size_t max,
                   int timeout_ms, const tftpc_opts_t *opts, uint8_t **buf,
                   size_t *len, tftpc_info_t *info) WUR;

#endif

/*
 * tvs: the Trust Verification Service every node runs (see docs/TVS.md).
 *
 * A TLS server (the node's TVS key and certificate, STATE/keys/tvs.*) that
 * answers verify requests (tvsproto.h): a certificate is valid when it is,
 * byte for byte, one of the cluster's certificate set (STATE/certset.pb,
 * read again whenever it changes) or one of the node's own certificates;
 * the answer carries its roles (CallManager CCM+TFTP, TVS, CAPF, and SAST
 * for the ITLRecovery certificate). Anything else is invalid, without
 * roles.
 *
 * Each client gets its own thread, at most max_clients at once; a client
 * over the cap is closed at once. Every message must arrive within the
 * read deadline; a malformed one closes the connection with the reason
 * logged. Each answer is logged at info level.
 */
#ifndef ITL_TVS_H
#define ITL_TVS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "tvsproto.h"

/* The default TCP port of the service. */
#define TVS_PORT 2445

/* ---- the certificates a TVS vouches for -------------------------------- */

typedef struct tvs_certs tvs_certs_t;

/* An empty set; NULL when out of memory. */
tvs_certs_t *tvs_certs_new(void);

/* Frees *s (NULL allowed) and clears the pointer. */
void tvs_certs_destroy(tvs_certs_t **s);

/*
 * Adds the certificate der (len bytes, copied) with role (enum itl_role);
 * a certificate already in the set gains the role (no duplicate roles).
 * Returns ERR_OK, ERR_ARG (empty) or ERR_NOMEM.
 */
int tvs_certs_add(tvs_certs_t *s, const uint8_t *der, size_t len, int role) WUR;

/* Number of distinct certificates. */
size_t tvs_certs_count(const tvs_certs_t *s);

/*
 * Builds the set of a node's state folder: STATE/certset.pb when present
 * (every NodeCert with its role, recovery_der as SAST) and the node's own
 * callmanager (CCM+TFTP), tvs (TVS) and, when present, capf (CAPF)
 * certificates. On success *out is a new set owned by the caller. Returns
 * ERR_OK, ERR_FORMAT (damaged certset.pb, named), the errors of reading
 * the files, or ERR_NOMEM.
 */
int tvs_certs_load(const char *state, tvs_certs_t **out) WUR;

/*
 * The answer to req from s: status valid and the certificate's roles when
 * req->cert is in s, else invalid and no roles; the session is echoed and
 * the TTL is ttl.
 */
void tvs_answer(const tvs_certs_t *s, const tvsproto_request_t *req,
                uint32_t ttl, tvsproto_response_t *resp);

/* ---- the server -------------------------------------------------------- */

typedef struct {
    const char *state_dir; /* keys/tvs.key, keys/tvs.pem, certset.pb */
    const char *address;   /* numeric address to listen on */
    int port;              /* 0: a free port (tests; see tvs_port) */
    uint32_t ttl;          /* seconds, in every answer */
    int max_clients;       /* concurrent connections */
    int timeout_ms;        /* deadline of the handshake and each message */
} tvs_params_t;

typedef struct tvs tvs_t;

/*
 * Loads the TVS key and certificate and the certificate set, listens and
 * starts the server thread. Returns NULL on failure with err_detail() set
 * (names the address, port or file).
 */
tvs_t *tvs_new(const tvs_params_t *p);

/* The port the server listens on. */
int tvs_port(const tvs_t *t);

/*
 * Stops accepting, ends every client connection (within ~100 ms), joins
 * the threads and frees *t (NULL allowed); clears the pointer.
 */
void tvs_destroy(tvs_t **t);

/*
 * Starts the agent's TVS from its configuration (tvs_port 0: none, and
 * ERR_OK). The address is tvs_address, or tftp_address when empty.
 * Returns ERR_OK or the error of tvs_new (logged by the caller).
 */
int tvs_server_start(const config_t *c) WUR;

/* Stops the agent's TVS (nothing when none runs). */
void tvs_server_stop(void);

#endif

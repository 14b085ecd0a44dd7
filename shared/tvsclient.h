/*
 * tvsclient: asks a TVS (tvs.h) whether it knows a certificate.
 *
 * The client connects with TLS and, when pinning, accepts the server only
 * if the digest of its certificate is one of the allowed pins: what a phone
 * does with the TVS records of the ITL it holds (their CERTHASH, or the
 * digest of their CERTIFICATE). Nothing is sent to a server that fails
 * the pin.
 */
#ifndef ITL_TVSCLIENT_H
#define ITL_TVSCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "itl.h"
#include "tvsproto.h"

/* One allowed server certificate: its SHA-1 (20), SHA-256 (32) or SHA-512
 * (64 bytes) digest. */
typedef struct {
    uint8_t hash[64];
    size_t len;
} tvsclient_pin_t;

typedef struct {
    const char *host;
    int port;       /* TVS_PORT when 0 */
    int timeout_ms; /* bound of the whole exchange; 5000 when 0 */
    int pin;        /* non-zero: check the server against pins */
    const tvsclient_pin_t *pins;
    size_t npins;
} tvsclient_cfg_t;

typedef struct {
    int status; /* enum tvsproto_status */
    uint8_t roles[TVSPROTO_MAX_ROLES];
    size_t nroles;
    int has_ttl;
    uint32_t ttl;
    char server_subject[256]; /* of the server certificate */
    char server_sha1[41];     /* hex SHA-1 of the server certificate */
} tvsclient_result_t;

/*
 * Asks the TVS of cfg about der (len bytes) for device. Returns ERR_OK with
 * res filled (also when the answer is "invalid"); ERR_UNTRUSTED when
 * pinning and the server certificate is not pinned (the detail names the
 * server, its subject and SHA-1); ERR_NET, ERR_TIMEOUT, ERR_PROTO (TLS or a
 * malformed answer, with its offset), ERR_ARG for bad arguments. The
 * detail always names HOST:PORT.
 */
int tvsclient_verify(const tvsclient_cfg_t *cfg, const char *device,
                     const uint8_t *der, size_t len,
                     tvsclient_result_t *res) WUR;

/*
 * The pins of the TVS records (FUNCTION 21) of f: each record's CERTHASH
 * when it has one, else the SHA-1 of its CERTIFICATE. *pins is a new array
 * the caller frees (NULL when *n is 0). Returns ERR_OK or ERR_NOMEM.
 */
int tvsclient_pins_from_itl(const itl_file_t *f, tvsclient_pin_t **pins,
                            size_t *n) WUR;

/* Non-zero when roles hold SAST, CCM, CCM+TFTP or TFTP: a file signer. */
int tvsclient_roles_sign(const uint8_t *roles, size_t n);

#endif

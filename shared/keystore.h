/*
 * keystore: a node's RSA keys and self-signed certificates, as PEM files.
 *
 * A certificate NAME lives in DIR as NAME.key (PEM private key, mode 0600)
 * and NAME.pem (PEM certificate, mode 0644). Writes are durable and keep
 * the files they replace as NAME.key.prev and NAME.pem.prev.
 */
#ifndef ITL_KEYSTORE_H
#define ITL_KEYSTORE_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

#define KEYSTORE_BITS_DEFAULT 2048
#define KEYSTORE_BITS_MIN     1024
#define KEYSTORE_BITS_MAX     4096

/*
 * Organisation fields of a subject; NULL or "" leaves a field out. c, when
 * given, must be two letters.
 */
typedef struct {
    const char *ou, *o, *l, *st, *c;
} keystore_org_t;

/*
 * Makes an RSA key of bits (1024..4096; 0 means 2048) and a self-signed
 * X.509 v3 certificate for it, valid from now for days days, signed with
 * SHA-256, with a random positive 16-byte serial and subject = issuer =
 * CN, OU, O, L, ST, C (printed most specific first, as ITL files do:
 * "CN=..;OU=..;O=..;L=..;ST=..;C=.."). org may be NULL.
 * On success the caller owns *key and *cert. Returns ERR_OK, ERR_ARG (bad
 * bits, days, empty cn, bad country) or ERR_CRYPTO.
 */
int keystore_generate(const char *cn, const keystore_org_t *org, int bits,
                      int days, EVP_PKEY **key, X509 **cert) WUR;

/*
 * Writes dir/name.key (0600) and dir/name.pem (0644) durably, the key
 * first; replaced files are kept as .prev. Returns ERR_OK, ERR_ARG,
 * ERR_CRYPTO or ERR_IO (the detail names the file).
 */
int keystore_save(const char *dir, const char *name, EVP_PKEY *key,
                  X509 *cert) WUR;

/*
 * Reads dir/name.pem into *cert and, when key is not NULL, dir/name.key
 * into *key. A key file that group or others can read is refused (ERR_PERM,
 * the detail says which chmod fixes it). Returns ERR_OK, ERR_NOTFOUND (a
 * file is missing), ERR_FORMAT (not a PEM certificate / key, or the key
 * does not match the certificate; the detail names the file), ERR_PERM or
 * ERR_IO. On success the caller owns what was loaded; on failure nothing
 * is returned.
 */
int keystore_load(const char *dir, const char *name, EVP_PKEY **key,
                  X509 **cert) WUR;

/*
 * Reads one PEM certificate from path into *cert (caller owns).
 * Returns ERR_OK, ERR_NOTFOUND, ERR_IO or ERR_FORMAT (names the file).
 */
int keystore_read_cert(const char *path, X509 **cert) WUR;

/*
 * Writes the CN of cert into buf. Returns ERR_OK, or ERR_NOTFOUND when the
 * subject has no CN or it does not fit.
 */
int keystore_cert_cn(X509 *cert, char *buf, size_t size) WUR;

#endif

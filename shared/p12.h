/*
 * p12: PKCS#12 key files (ITLRecovery.p12).
 *
 * Written as OpenSSL 3 does by default: key and certificate bags encrypted
 * with AES-256-CBC under PBES2/PBKDF2 (HMAC-SHA256), and a SHA-256 MAC.
 * Read: those, and legacy files (RC2-40 / 3DES bags, SHA-1 MAC, as
 * `openssl pkcs12 -export -legacy` writes), for which OpenSSL's "legacy"
 * provider is loaded beside the "default" one in the default library
 * context the first time such a file is met.
 */
#ifndef ITL_P12_H
#define ITL_P12_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

/* Files larger than this are not key files. */
#define P12_MAX_FILE 65536

/*
 * Encodes key and cert as PKCS#12 with friendly name friendly (may be NULL)
 * under password into a new buffer *out of *outlen bytes (caller frees).
 * Returns ERR_OK, ERR_ARG (empty password) or ERR_CRYPTO.
 */
int p12_encode(EVP_PKEY *key, X509 *cert, const char *friendly,
               const char *password, uint8_t **out, size_t *outlen) WUR;

/*
 * Writes key and cert to path as PKCS#12 (mode 0600, durable write; an
 * existing file is kept as path.prev). Returns ERR_OK, ERR_ARG, ERR_CRYPTO
 * or ERR_IO.
 */
int p12_write(const char *path, EVP_PKEY *key, X509 *cert, const char *friendly,
              const char *password) WUR;

/*
 * Decodes len bytes of PKCS#12 from buf with password. what names the
 * source in messages (a path or "buffer"; NULL means "PKCS#12 data").
 * Returns ERR_OK with *key and *cert owned by the caller, or:
 *  ERR_PASSWORD  the MAC does not verify: wrong password (or the contents
 *                were altered after writing, which cannot be told apart);
 *  ERR_FORMAT    not PKCS#12, truncated, or no key / no certificate in it;
 *  ERR_CRYPTO    a legacy file whose algorithms need OpenSSL's legacy
 *                provider, and that provider cannot be loaded.
 */
int p12_read_mem_named(const uint8_t *buf, size_t len, const char *password,
                       const char *what, EVP_PKEY **key, X509 **cert) WUR;

/* p12_read_mem_named(buf, len, password, NULL, key, cert). */
int p12_read_mem(const uint8_t *buf, size_t len, const char *password,
                 EVP_PKEY **key, X509 **cert) WUR;

/*
 * Reads path (refused with ERR_TOOBIG over P12_MAX_FILE) and decodes it as
 * p12_read_mem_named does, messages naming path. Also ERR_NOTFOUND, ERR_IO.
 */
int p12_read_file(const char *path, const char *password, EVP_PKEY **key,
                  X509 **cert) WUR;

#endif

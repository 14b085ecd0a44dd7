/*
 * kdf: secrets derived from the cluster security password, and the salted
 * slow hash that stores the administrator password.
 *
 * Derivations are deterministic on purpose: a publisher rebuilt from scratch
 * with the same cluster security password derives the same PKCS#12 password
 * and can open a saved ITLRecovery.p12; any other password cannot.
 *
 *   p12 password = hex(PBKDF2-HMAC-SHA256(cluster password,
 *                      "itl-recovery/ITLRecovery.p12/v1", 200000, 32 bytes))
 *   enrol key    = PBKDF2-HMAC-SHA256(cluster password,
 *                      "itl-recovery/enrol/v1", 200000, 32 bytes)
 *
 * Salts are fixed strings (documented in docs/NODE-STATE.md); changing
 * either constant makes every saved key file unreadable.
 */
#ifndef ITL_KDF_H
#define ITL_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KDF_P12_SALT   "itl-recovery/ITLRecovery.p12/v1"
#define KDF_ENROL_SALT "itl-recovery/enrol/v1"
#define KDF_ITERATIONS 200000

/* Longest string passwd_hash() writes, NUL included. */
#define PASSWD_HASH_MAX 160

/*
 * Writes into out the 64 lower-case hex digits (and a NUL) of the PKCS#12
 * password derived from cluster_password. An empty cluster password is
 * refused (ERR_ARG). Returns ERR_OK, ERR_ARG or ERR_CRYPTO. The caller
 * wipes out with OPENSSL_cleanse when done.
 */
int kdf_p12_password(const char *cluster_password, char out[65]) WUR;

/*
 * Writes into out the 32-byte enrolment key derived from cluster_password.
 * Returns ERR_OK, ERR_ARG (empty password) or ERR_CRYPTO.
 */
int kdf_enrol_key(const char *cluster_password, uint8_t out[32]) WUR;

/*
 * Hashes password with scrypt and a fresh 16-byte random salt, and writes
 * "scrypt$N=32768,r=8,p=1$<salt base64>$<hash base64>" (32-byte hash) into
 * out. outlen must be at least PASSWD_HASH_MAX. Returns ERR_OK, ERR_ARG
 * (empty password, small buffer) or ERR_CRYPTO.
 */
int passwd_hash(const char *password, char *out, size_t outlen) WUR;

/*
 * Checks password against a string written by passwd_hash(), with the
 * parameters that string records. The comparison is constant-time.
 * Returns ERR_OK, ERR_PASSWORD (no match) or ERR_FORMAT (damaged string, or
 * parameters outside the accepted bounds: N a power of two up to 2^20,
 * r up to 32, p up to 16).
 */
int passwd_verify(const char *password, const char *stored) WUR;

/*
 * For tests only: sets the scrypt cost that passwd_hash() uses from now on
 * (n a power of two >= 2). Passing n = 0 restores the production default
 * N=32768, r=8, p=1. Returns ERR_OK or ERR_ARG.
 */
int passwd_set_cost_for_tests(uint64_t n, uint32_t r, uint32_t p) WUR;

#endif

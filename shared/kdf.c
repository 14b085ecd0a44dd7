#include "kdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define SALT_LEN 16
#define HASH_LEN 32

/* Production cost: 32 MiB and a few tenths of a second per hash. */
#define SCRYPT_N 32768
#define SCRYPT_R 8
#define SCRYPT_P 1

/* Upper bounds accepted when reading a stored string (N=2^20, r=32). */
#define SCRYPT_MAX_N (1ULL << 20)
#define SCRYPT_MAX_R 32
#define SCRYPT_MAX_P 16

static uint64_t s_n = SCRYPT_N;
static uint32_t s_r = SCRYPT_R;
static uint32_t s_p = SCRYPT_P;

static int
s_pbkdf2(const char *password, const char *salt, uint8_t out[32])
{
    if (password == NULL || password[0] == '\0')
        return err_set(ERR_ARG, "the cluster security password is empty");
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
                          (const unsigned char *)salt, (int)strlen(salt),
                          KDF_ITERATIONS, EVP_sha256(), 32, out) != 1)
        return err_set_ssl(ERR_CRYPTO, "PBKDF2 failed");
    return ERR_OK;
}

int
kdf_p12_password(const char *cluster_password, char out[65])
{
    uint8_t key[32];
    int rc;

    out[0] = '\0';
    rc = s_pbkdf2(cluster_password, KDF_P12_SALT, key);
    if (rc != ERR_OK)
        return rc;
    for (size_t i = 0; i < sizeof(key); i++)
        snprintf(out + 2 * i, 3, "%02x", key[i]);
    OPENSSL_cleanse(key, sizeof(key));
    return ERR_OK;
}

int
kdf_enrol_key(const char *cluster_password, uint8_t out[32])
{
    return s_pbkdf2(cluster_password, KDF_ENROL_SALT, out);
}

static int
s_scrypt(const char *password, const uint8_t *salt, size_t saltlen, uint64_t n,
         uint32_t r, uint32_t p, uint8_t *out, size_t outlen)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    /* scrypt needs 128 * r * N bytes; leave room for its other buffers. */
    uint64_t maxmem = 128 * (uint64_t)r * n * 2 + (1 << 20);
    OSSL_PARAM params[7];
    int rc = ERR_CRYPTO;

    params[0] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_PASSWORD, (void *)password, strlen(password));
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *)salt, saltlen);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] =
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();

    kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    if (kdf == NULL) {
        err_set_ssl(ERR_CRYPTO, "scrypt is not available");
        goto out;
    }
    ctx = EVP_KDF_CTX_new(kdf);
    if (ctx == NULL || EVP_KDF_derive(ctx, out, outlen, params) != 1) {
        err_set_ssl(ERR_CRYPTO, "scrypt failed");
        goto out;
    }
    rc = ERR_OK;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int
passwd_hash(const char *password, char *out, size_t outlen)
{
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    char salt64[4 * SALT_LEN / 3 + 4], hash64[4 * HASH_LEN / 3 + 4];
    int rc, n;

    if (password == NULL || password[0] == '\0')
        return err_set(ERR_ARG, "the password is empty");
    if (outlen < PASSWD_HASH_MAX)
        return err_set(ERR_ARG, "password hash buffer too small");
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return err_set_ssl(ERR_CRYPTO, "no random bytes for a salt");
    rc = s_scrypt(password, salt, sizeof(salt), s_n, s_r, s_p, hash,
                  sizeof(hash));
    if (rc != ERR_OK)
        return rc;

    EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
    EVP_EncodeBlock((unsigned char *)hash64, hash, sizeof(hash));
    OPENSSL_cleanse(hash, sizeof(hash));
    n = snprintf(out, outlen, "scrypt$N=%llu,r=%u,p=%u$%s$%s",
                 (unsigned long long)s_n, (unsigned)s_r, (unsigned)s_p, salt64,
                 hash64);
    OPENSSL_cleanse(hash64, sizeof(hash64));
    if (n < 0 || (size_t)n >= outlen)
        return err_set(ERR_ARG, "password hash buffer too small");
    return ERR_OK;
}

/* Decodes exactly want bytes of padded base64 from s (len chars). */
static int
s_b64_decode(const char *s, size_t len, uint8_t *out, size_t want)
{
    uint8_t buf[64];
    size_t pad = 0;
    int n;

    if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=' && i + 2 < len)
            return -1;
        if (s[i] == '=')
            pad++;
    }
    n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
    if (n < 0 || (size_t)n - pad != want)
        return -1;
    memcpy(out, buf, want);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* Reads a decimal number of at most 8 digits at *p and moves *p past it. */
static int
s_number(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    size_t i = 0;

    while (s[i] >= '0' && s[i] <= '9' && i < 8) {
        x = x * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0 || (s[i] >= '0' && s[i] <= '9'))
        return -1;
    *p = s + i;
    *v = x;
    return 0;
}

typedef struct {
    uint64_t n, r, p;
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
} s_stored_t;

static int
s_parse(const char *stored, s_stored_t *st)
{
    const char *p = stored, *salt, *hash;

    if (strncmp(p, "scrypt$N=", 9) != 0)
        return -1;
    p += 9;
    if (s_number(&p, &st->n) < 0 || strncmp(p, ",r=", 3) != 0)
        return -1;
    p += 3;
    if (s_number(&p, &st->r) < 0 || strncmp(p, ",p=", 3) != 0)
        return -1;
    p += 3;
    if (s_number(&p, &st->p) < 0 || *p != '$')
        return -1;
    salt = p + 1;
    hash = strchr(salt, '$');
    if (hash == NULL || strchr(hash + 1, '$') != NULL)
        return -1;
    if (s_b64_decode(salt, (size_t)(hash - salt), st->salt, SALT_LEN) < 0 ||
        s_b64_decode(hash + 1, strlen(hash + 1), st->hash, HASH_LEN) < 0)
        return -1;
    if (st->n < 2 || st->n > SCRYPT_MAX_N || (st->n & (st->n - 1)) != 0 ||
        st->r < 1 || st->r > SCRYPT_MAX_R || st->p < 1 || st->p > SCRYPT_MAX_P)
        return -1;
    return 0;
}

int
passwd_verify(const char *password, const char *stored)
{
    s_stored_t st;
    uint8_t hash[HASH_LEN];
    int rc;

    if (stored == NULL || s_parse(stored, &st) < 0) {
        OPENSSL_cleanse(&st, sizeof(st));
        return err_set(ERR_FORMAT, "the stored password hash is damaged "
                                   "(expected scrypt$N=..,r=..,p=..$salt$"
                                   "hash)");
    }
    if (password == NULL)
        password = "";
    rc = s_scrypt(password, st.salt, SALT_LEN, st.n, (uint32_t)st.r,
                  (uint32_t)st.p, hash, sizeof(hash));
    if (rc == ERR_OK && CRYPTO_memcmp(hash, st.hash, HASH_LEN) != 0)
        rc = err_set(ERR_PASSWORD, "wrong password");
    OPENSSL_cleanse(hash, sizeof(hash));
    OPENSSL_cleanse(&st, sizeof(st));
    return rc;
}

int
passwd_set_cost_for_tests(uint64_t n, uint32_t r, uint32_t p)
{
    if (n == 0) {
        s_n = SCRYPT_N;
        s_r = SCRYPT_R;
        s_p = SCRYPT_P;
        return ERR_OK;
    }
    if (n < 2 || n > SCRYPT_MAX_N || (n & (n - 1)) != 0 || r < 1 ||
        r > SCRYPT_MAX_R || p < 1 || p > SCRYPT_MAX_P)
        return err_set(ERR_ARG, "bad scrypt cost N=%llu r=%u p=%u",
                       (unsigned long long)n, (unsigned)r, (unsigned)p);
    s_n = n;
    s_r = r;
    s_p = p;
    return ERR_OK;
}

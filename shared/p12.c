#include "p12.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include "fsutil.h"

/* Providers loaded for legacy files stay loaded for the process's life. */
static OSSL_PROVIDER *s_legacy;
static OSSL_PROVIDER *s_default;

int
p12_encode(EVP_PKEY *key, X509 *cert, const char *friendly,
           const char *password, uint8_t **out, size_t *outlen)
{
    PKCS12 *p12 = NULL;
    uint8_t *der = NULL, *p;
    int n, rc = ERR_CRYPTO;

    *out = NULL;
    *outlen = 0;
    if (password == NULL || password[0] == '\0')
        return err_set(ERR_ARG, "a PKCS#12 file needs a password");

    /* The MAC is added below so that its digest is SHA-256 for certain. */
    p12 = PKCS12_create_ex(password, friendly, key, cert, NULL, NID_aes_256_cbc,
                           NID_aes_256_cbc, PKCS12_DEFAULT_ITER, -1, 0, NULL,
                           NULL);
    if (p12 == NULL || PKCS12_set_mac(p12, password, -1, NULL, 0,
                                      PKCS12_DEFAULT_ITER, EVP_sha256()) != 1) {
        err_set_ssl(ERR_CRYPTO, "cannot make a PKCS#12 file");
        goto out;
    }
    n = i2d_PKCS12(p12, NULL);
    if (n <= 0 || (der = malloc((size_t)n)) == NULL) {
        err_set_ssl(ERR_CRYPTO, "cannot encode a PKCS#12 file");
        goto out;
    }
    p = der;
    if (i2d_PKCS12(p12, &p) != n) {
        err_set_ssl(ERR_CRYPTO, "cannot encode a PKCS#12 file");
        goto out;
    }
    *out = der;
    *outlen = (size_t)n;
    der = NULL;
    rc = ERR_OK;
out:
    free(der);
    PKCS12_free(p12);
    return rc;
}

int
p12_write(const char *path, EVP_PKEY *key, X509 *cert, const char *friendly,
          const char *password)
{
    uint8_t *der = NULL;
    size_t len = 0;
    int rc;

    rc = p12_encode(key, cert, friendly, password, &der, &len);
    if (rc != ERR_OK)
        return rc;
    rc = fs_write_durable(path, der, len, 0600, 1);
    OPENSSL_cleanse(der, len);
    free(der);
    return rc;
}

static int
s_load_legacy(const char *what)
{
    if (s_legacy != NULL)
        return ERR_OK;
    /*
     * Loading any provider by hand stops the default one from loading by
     * itself, so both are loaded.
     */
    if (s_default == NULL)
        s_default = OSSL_PROVIDER_load(NULL, "default");
    s_legacy = OSSL_PROVIDER_load(NULL, "legacy");
    if (s_default == NULL || s_legacy == NULL)
        return err_set_ssl(ERR_CRYPTO,
                           "%s uses legacy PKCS#12 algorithms (RC2/3DES) "
                           "and OpenSSL's legacy provider cannot be loaded",
                           what);
    return ERR_OK;
}

static int
s_parse(PKCS12 *p12, const char *password, EVP_PKEY **key, X509 **cert)
{
    if (PKCS12_parse(p12, password, key, cert, NULL) != 1)
        return 0;
    if (*key == NULL || *cert == NULL) {
        EVP_PKEY_free(*key);
        X509_free(*cert);
        *key = NULL;
        *cert = NULL;
        return 0;
    }
    return 1;
}

static int
s_check_mac(PKCS12 *p12, const char *password, const char *what)
{
    if (!PKCS12_mac_present(p12))
        return err_set(ERR_FORMAT,
                       "%s has no MAC, so its password cannot "
                       "be checked; refusing it",
                       what);
    ERR_clear_error();
    if (PKCS12_verify_mac(p12, password, -1) == 1)
        return ERR_OK;
    /* A plain mismatch leaves no error queued; anything else is damage. */
    if (ERR_peek_error() != 0)
        return err_set_ssl(ERR_FORMAT, "%s: cannot compute its MAC", what);
    return err_set(ERR_PASSWORD,
                   "wrong password for %s (its integrity check fails)", what);
}

int
p12_read_mem_named(const uint8_t *buf, size_t len, const char *password,
                   const char *what, EVP_PKEY **key, X509 **cert)
{
    const uint8_t *p = buf;
    PKCS12 *p12 = NULL;
    int rc;

    *key = NULL;
    *cert = NULL;
    if (what == NULL)
        what = "PKCS#12 data";
    if (password == NULL)
        password = "";
    if (len > P12_MAX_FILE)
        return err_set(ERR_TOOBIG, "%s is %zu bytes, over the limit of %d",
                       what, len, P12_MAX_FILE);
    p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (p12 == NULL || p != buf + len) {
        ERR_clear_error();
        rc = err_set(ERR_FORMAT,
                     "%s is not a PKCS#12 file (corrupt or "
                     "truncated)",
                     what);
        goto out;
    }
    rc = s_check_mac(p12, password, what);
    if (rc != ERR_OK)
        goto out;

    if (s_parse(p12, password, key, cert))
        goto out;
    if (s_legacy == NULL) {
        rc = s_load_legacy(what);
        if (rc != ERR_OK)
            goto out;
        if (s_parse(p12, password, key, cert))
            goto out;
    }
    rc = err_set_ssl(ERR_FORMAT,
                     "%s: the password is right but the key or the "
                     "certificate cannot be read",
                     what);
out:
    PKCS12_free(p12);
    return rc;
}

int
p12_read_mem(const uint8_t *buf, size_t len, const char *password,
             EVP_PKEY **key, X509 **cert)
{
    return p12_read_mem_named(buf, len, password, NULL, key, cert);
}

int
p12_read_file(const char *path, const char *password, EVP_PKEY **key,
              X509 **cert)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *key = NULL;
    *cert = NULL;
    rc = fs_read_file(path, P12_MAX_FILE, &buf, &len);
    if (rc != ERR_OK)
        return rc;
    rc = p12_read_mem_named(buf, len, password, path, key, cert);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

#include "keystore.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "fsutil.h"

#define SERIAL_LEN 16
#define PEM_MAX    65536

static int
s_check_args(const char *cn, const keystore_org_t *org, int bits, int days)
{
    if (cn == NULL || cn[0] == '\0')
        return err_set(ERR_ARG, "a certificate needs a common name");
    if (bits < KEYSTORE_BITS_MIN || bits > KEYSTORE_BITS_MAX)
        return err_set(ERR_ARG, "key size %d is outside %d..%d bits", bits,
                       KEYSTORE_BITS_MIN, KEYSTORE_BITS_MAX);
    if (days < 1 || days > 36500)
        return err_set(ERR_ARG, "validity of %d days is outside 1..36500",
                       days);
    if (org != NULL && org->c != NULL && org->c[0] != '\0' &&
        strlen(org->c) != 2)
        return err_set(ERR_ARG, "country '%s' is not a two-letter code",
                       org->c);
    return ERR_OK;
}

static int
s_add_entry(X509_NAME *name, const char *field, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 1;
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      (const unsigned char *)value, -1, -1, 0);
}

/* DER order is least specific first; ITL files print it reversed. */
static X509_NAME *
s_make_name(const char *cn, const keystore_org_t *org)
{
    keystore_org_t none = {0};
    X509_NAME *name = X509_NAME_new();

    if (org == NULL)
        org = &none;
    if (name == NULL || !s_add_entry(name, "C", org->c) ||
        !s_add_entry(name, "ST", org->st) || !s_add_entry(name, "L", org->l) ||
        !s_add_entry(name, "O", org->o) || !s_add_entry(name, "OU", org->ou) ||
        !s_add_entry(name, "CN", cn)) {
        X509_NAME_free(name);
        return NULL;
    }
    return name;
}

/* A positive serial of exactly 16 bytes: first byte 0x01..0x7f. */
static int
s_set_serial(X509 *cert)
{
    uint8_t raw[SERIAL_LEN];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return 0;
    raw[0] &= 0x7f;
    if (raw[0] == 0)
        raw[0] = 0x01;
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    return ok;
}

static int
s_add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return 0;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int
s_fill_cert(X509 *cert, X509_NAME *name, EVP_PKEY *key, int days)
{
    return X509_set_version(cert, X509_VERSION_3) && s_set_serial(cert) &&
           X509_set_subject_name(cert, name) &&
           X509_set_issuer_name(cert, name) &&
           X509_gmtime_adj(X509_getm_notBefore(cert), 0) != NULL &&
           X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL) != NULL &&
           X509_set_pubkey(cert, key) &&
           s_add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") &&
           s_add_ext(cert, NID_key_usage,
                     "digitalSignature,keyEncipherment,keyCertSign") &&
           s_add_ext(cert, NID_ext_key_usage, "serverAuth,clientAuth") &&
           s_add_ext(cert, NID_subject_key_identifier, "hash") &&
           X509_sign(cert, key, EVP_sha256()) > 0;
}

int
keystore_generate(const char *cn, const keystore_org_t *org, int bits, int days,
                  EVP_PKEY **key, X509 **cert)
{
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    X509_NAME *name = NULL;
    int rc;

    *key = NULL;
    *cert = NULL;
    if (bits == 0)
        bits = KEYSTORE_BITS_DEFAULT;
    rc = s_check_args(cn, org, bits, days);
    if (rc != ERR_OK)
        return rc;

    rc = ERR_CRYPTO;
    k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (k == NULL) {
        err_set_ssl(ERR_CRYPTO, "cannot make an RSA-%d key for %s", bits, cn);
        goto out;
    }
    name = s_make_name(cn, org);
    c = X509_new();
    if (name == NULL || c == NULL || !s_fill_cert(c, name, k, days)) {
        err_set_ssl(ERR_CRYPTO, "cannot make the certificate of %s", cn);
        goto out;
    }
    *key = k;
    *cert = c;
    k = NULL;
    c = NULL;
    rc = ERR_OK;
out:
    X509_NAME_free(name);
    X509_free(c);
    EVP_PKEY_free(k);
    return rc;
}

static int
s_path(char *buf, size_t size, const char *dir, const char *name,
       const char *ext)
{
    if (snprintf(buf, size, "%s/%s.%s", dir, name, ext) >= (int)size)
        return err_set(ERR_ARG, "path too long: %s/%s.%s", dir, name, ext);
    return ERR_OK;
}

/* Writes what bio holds to path, then wipes the BIO's memory. */
static int
s_write_bio(BIO *bio, const char *path, mode_t mode)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    int rc;

    if (len <= 0)
        return err_set_ssl(ERR_CRYPTO, "cannot encode %s", path);
    rc = fs_write_durable(path, data, (size_t)len, mode, 1);
    OPENSSL_cleanse(data, (size_t)len);
    return rc;
}

int
keystore_save(const char *dir, const char *name, EVP_PKEY *key, X509 *cert)
{
    char kpath[PATH_MAX], cpath[PATH_MAX];
    BIO *kbio = NULL, *cbio = NULL;
    mode_t old = umask(077);
    int rc;

    rc = s_path(kpath, sizeof(kpath), dir, name, "key");
    if (rc == ERR_OK)
        rc = s_path(cpath, sizeof(cpath), dir, name, "pem");
    if (rc != ERR_OK)
        goto out;

    rc = ERR_CRYPTO;
    kbio = BIO_new(BIO_s_mem());
    cbio = BIO_new(BIO_s_mem());
    if (kbio == NULL || cbio == NULL ||
        !PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cbio, cert)) {
        err_set_ssl(ERR_CRYPTO, "cannot encode %s", kpath);
        goto out;
    }
    rc = s_write_bio(kbio, kpath, 0600);
    if (rc == ERR_OK)
        rc = s_write_bio(cbio, cpath, 0644);
out:
    BIO_free(kbio);
    BIO_free(cbio);
    umask(old);
    return rc;
}

int
keystore_read_cert(const char *path, X509 **cert)
{
    uint8_t *buf = NULL;
    size_t len;
    BIO *bio;
    int rc;

    *cert = NULL;
    rc = fs_read_file(path, PEM_MAX, &buf, &len);
    if (rc != ERR_OK)
        return rc;
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio != NULL)
        *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(buf);
    if (*cert == NULL)
        return err_set_ssl(ERR_FORMAT, "%s is not a PEM certificate", path);
    return ERR_OK;
}

static int
s_read_key(const char *path, EVP_PKEY **key)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    BIO *bio;
    int rc;

    *key = NULL;
    rc = fs_check_private(path);
    if (rc != ERR_OK)
        return rc;
    rc = fs_read_file(path, PEM_MAX, &buf, &len);
    if (rc != ERR_OK)
        return rc;
    bio = BIO_new_mem_buf(buf, (int)len);
    /* An empty passphrase callback: an encrypted key is a format error. */
    if (bio != NULL)
        *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (*key == NULL)
        return err_set_ssl(ERR_FORMAT, "%s is not a PEM private key", path);
    return ERR_OK;
}

int
keystore_load(const char *dir, const char *name, EVP_PKEY **key, X509 **cert)
{
    char kpath[PATH_MAX], cpath[PATH_MAX];
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    int rc;

    if (key != NULL)
        *key = NULL;
    *cert = NULL;
    rc = s_path(kpath, sizeof(kpath), dir, name, "key");
    if (rc == ERR_OK)
        rc = s_path(cpath, sizeof(cpath), dir, name, "pem");
    if (rc == ERR_OK)
        rc = keystore_read_cert(cpath, &c);
    if (rc != ERR_OK || key == NULL)
        goto out;

    rc = s_read_key(kpath, &k);
    if (rc != ERR_OK)
        goto out;
    if (X509_check_private_key(c, k) != 1) {
        rc = err_set_ssl(ERR_FORMAT, "%s does not hold the key of %s", kpath,
                         cpath);
        goto out;
    }
    *key = k;
    k = NULL;
out:
    EVP_PKEY_free(k);
    if (rc == ERR_OK)
        *cert = c;
    else
        X509_free(c);
    return rc;
}

int
keystore_cert_cn(X509 *cert, char *buf, size_t size)
{
    X509_NAME *name = X509_get_subject_name(cert);
    int n;

    n = X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)size);
    if (n < 0 || (size_t)n + 1 >= size)
        return err_set(ERR_NOTFOUND, "the certificate has no usable CN");
    return ERR_OK;
}

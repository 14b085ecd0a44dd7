/*
 * phone_mkitl: builds ITL files for test_phone.sh with the project's codec
 * (compiled by that script against build/shared/libitlcore.a).
 *
 *   phone_mkitl build OUT KEY CERT [ROLE:CERT ...]
 *       a file signed by KEY/CERT, holding CERT as SAST and CCM+TFTP and
 *       each further certificate with its role number (0 SAST, 21 TVS...)
 *   phone_mkitl resign IN KEY CERT OUT
 *       the same records, signed by KEY/CERT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "fsutil.h"
#include "itl.h"

#define S_TIMESTAMP 1700000000u

static EVP_PKEY *
s_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

    if (f)
        fclose(f);
    if (k == NULL)
        fprintf(stderr, "phone_mkitl: cannot read key %s\n", path);
    return k;
}

static X509 *
s_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f)
        fclose(f);
    if (c == NULL)
        fprintf(stderr, "phone_mkitl: cannot read certificate %s\n", path);
    return c;
}

static int
s_save(itl_file_t *f, const char *out)
{
    size_t len;
    const uint8_t *b = itl_file_bytes(f, &len);

    if (fs_write_durable(out, b, len, 0644, 0) != ERR_OK) {
        fprintf(stderr, "phone_mkitl: %s\n", err_detail());
        return 1;
    }
    return 0;
}

static int
s_build(int argc, char **argv)
{
    itl_entry_t e[16] = {0};
    size_t n = 0;
    EVP_PKEY *key = s_key(argv[3]);
    X509 *cert = s_cert(argv[4]);
    itl_file_t *f = NULL;
    int rc = 1;

    if (key == NULL || cert == NULL || argc - 5 > 14)
        goto out;
    e[n].cert = cert, e[n++].function = ITL_ROLE_SAST;
    e[n].cert = cert, e[n++].function = ITL_ROLE_CCM_TFTP;
    for (int i = 5; i < argc; i++) {
        char *colon = strchr(argv[i], ':');

        if (colon == NULL)
            goto out;
        e[n].function = atoi(argv[i]);
        e[n].cert = s_cert(colon + 1);
        if (e[n++].cert == NULL)
            goto out;
    }
    if (itl_file_build(e, n, key, cert, ITL_DIGEST_SHA1, "ITLFile.tlv",
                       S_TIMESTAMP, &f) != ERR_OK)
        fprintf(stderr, "phone_mkitl: %s\n", err_detail());
    else
        rc = s_save(f, argv[2]);
out:
    for (size_t i = 2; i < n; i++)
        X509_free(e[i].cert);
    itl_file_destroy(&f);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static int
s_resign(char **argv)
{
    itl_file_t *in = NULL, *out = NULL;
    EVP_PKEY *key = s_key(argv[3]);
    X509 *cert = s_cert(argv[4]);
    int rc = 1;

    if (key == NULL || cert == NULL)
        goto done;
    if (itl_file_load(argv[2], &in) != ERR_OK ||
        itl_file_resign(in, key, cert, ITL_DIGEST_SHA1, S_TIMESTAMP + 1,
                        &out) != ERR_OK)
        fprintf(stderr, "phone_mkitl: %s\n", err_detail());
    else
        rc = s_save(out, argv[5]);
done:
    itl_file_destroy(&in);
    itl_file_destroy(&out);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "build") == 0)
        return s_build(argc, argv);
    if (argc == 6 && strcmp(argv[1], "resign") == 0)
        return s_resign(argv);
    fprintf(stderr, "usage: phone_mkitl build OUT KEY CERT [ROLE:CERT...] |"
                    " resign IN KEY CERT OUT\n");
    return 2;
}

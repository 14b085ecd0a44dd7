/* Unit tests of p12: write/read, wrong password, corrupt and legacy files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pkcs12.h>

#include "fsutil.h"
#include "keystore.h"
#include "p12.h"

#define PASS "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

typedef struct {
    char dir[512];
    EVP_PKEY *key;
    X509 *cert;
} fixture_t;

static int
s_setup(void **state)
{
    static fixture_t f;
    const char *base = getenv("ITL_TMP");
    keystore_org_t org = {"Voice", "Example", "Porto", "Porto", "PT"};

    if (base == NULL)
        base = "/tmp";
    if (fs_mkdir_p(base, 0755) != ERR_OK)
        return -1;
    snprintf(f.dir, sizeof(f.dir), "%s/p12.XXXXXX", base);
    if (mkdtemp(f.dir) == NULL)
        return -1;
    if (keystore_generate("ITLRECOVERY_pub1", &org, 1024, 1826, &f.key,
                          &f.cert) != ERR_OK)
        return -1;
    *state = &f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;

    EVP_PKEY_free(f->key);
    X509_free(f->cert);
    return 0;
}

static void
s_path(const fixture_t *f, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", f->dir, name);
}

static void
test_round_trip(void **state)
{
    fixture_t *f = *state;
    char path[1024], cmd[2048], line[256];
    EVP_PKEY *k;
    X509 *c;
    struct stat st;
    int aes = 0, mac = 0;
    FILE *fp;

    s_path(f, "ITLRecovery.p12", path, sizeof(path));
    assert_int_equal(p12_write(path, f->key, f->cert, "ITLRecovery", PASS),
                     ERR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    assert_int_equal(p12_read_file(path, PASS, &k, &c), ERR_OK);
    assert_int_equal(EVP_PKEY_eq(k, f->key), 1);
    assert_int_equal(X509_cmp(c, f->cert), 0);
    EVP_PKEY_free(k);
    X509_free(c);

    /* The algorithms, as the OpenSSL tool reports them. */
    snprintf(cmd, sizeof(cmd),
             "openssl pkcs12 -info -noout -passin pass:%s -in %s 2>&1", PASS,
             path);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strstr(line, "PBES2, PBKDF2, AES-256-CBC") != NULL)
            aes++;
        if (strncmp(line, "MAC: sha256", 11) == 0)
            mac++;
    }
    assert_int_equal(pclose(fp), 0);
    assert_int_equal(aes, 2); /* the certificate bag and the key bag */
    assert_int_equal(mac, 1);
}

static void
test_wrong_password(void **state)
{
    fixture_t *f = *state;
    char path[1024], want[2048];
    EVP_PKEY *k;
    X509 *c;

    s_path(f, "wrong.p12", path, sizeof(path));
    assert_int_equal(p12_write(path, f->key, f->cert, NULL, PASS), ERR_OK);
    assert_int_equal(p12_read_file(path, "not-it", &k, &c), ERR_PASSWORD);
    snprintf(want, sizeof(want),
             "wrong password for %s (its integrity check fails)", path);
    assert_string_equal(err_detail(), want);
    assert_null(k);
    assert_null(c);
    assert_int_equal(p12_read_file(path, "", &k, &c), ERR_PASSWORD);
}

static void
test_corrupt(void **state)
{
    fixture_t *f = *state;
    char path[1024], want[2048];
    uint8_t *der;
    size_t len;
    EVP_PKEY *k;
    X509 *c;

    assert_int_equal(p12_encode(f->key, f->cert, NULL, PASS, &der, &len),
                     ERR_OK);
    /* truncated */
    s_path(f, "cut.p12", path, sizeof(path));
    assert_int_equal(fs_write_durable(path, der, len - 10, 0600, 0), ERR_OK);
    assert_int_equal(p12_read_file(path, PASS, &k, &c), ERR_FORMAT);
    snprintf(want, sizeof(want),
             "%s is not a PKCS#12 file (corrupt or truncated)", path);
    assert_string_equal(err_detail(), want);
    /* trailing bytes */
    assert_int_equal(p12_read_mem(der, len - 1, PASS, &k, &c), ERR_FORMAT);
    free(der);

    /* a certificate is DER but not PKCS#12 */
    len = (size_t)i2d_X509(f->cert, NULL);
    der = malloc(len);
    uint8_t *p = der;
    assert_int_equal(i2d_X509(f->cert, &p), (int)len);
    assert_int_equal(p12_read_mem(der, len, PASS, &k, &c), ERR_FORMAT);
    assert_string_equal(err_detail(), "PKCS#12 data is not a PKCS#12 file "
                                      "(corrupt or truncated)");
    free(der);

    s_path(f, "text.p12", path, sizeof(path));
    assert_int_equal(fs_write_durable(path, "hello", 5, 0600, 0), ERR_OK);
    assert_int_equal(p12_read_file(path, PASS, &k, &c), ERR_FORMAT);

    s_path(f, "missing.p12", path, sizeof(path));
    assert_int_equal(p12_read_file(path, PASS, &k, &c), ERR_NOTFOUND);
}

static void
test_keeps_previous(void **state)
{
    fixture_t *f = *state;
    char path[1024], prev[1100];
    EVP_PKEY *k2, *k;
    X509 *c2, *c;

    s_path(f, "keep.p12", path, sizeof(path));
    snprintf(prev, sizeof(prev), "%s.prev", path);
    assert_int_equal(p12_write(path, f->key, f->cert, NULL, PASS), ERR_OK);
    assert_int_equal(
        keystore_generate("ITLRECOVERY_pub1", NULL, 1024, 10, &k2, &c2),
        ERR_OK);
    assert_int_equal(p12_write(path, k2, c2, NULL, PASS), ERR_OK);
    assert_int_equal(p12_read_file(prev, PASS, &k, &c), ERR_OK);
    assert_int_equal(X509_cmp(c, f->cert), 0);
    EVP_PKEY_free(k);
    X509_free(c);
    assert_int_equal(p12_read_file(path, PASS, &k, &c), ERR_OK);
    assert_int_equal(X509_cmp(c, c2), 0);
    EVP_PKEY_free(k);
    X509_free(c);
    EVP_PKEY_free(k2);
    X509_free(c2);
    assert_int_equal(
        p12_encode(f->key, f->cert, NULL, "", (uint8_t **)&k, (size_t *)&c),
        ERR_ARG);
}

/* 3DES bags and a SHA-1 MAC, built here. */
static void
test_legacy_3des(void **state)
{
    fixture_t *f = *state;
    PKCS12 *p12;
    uint8_t *der = NULL;
    int n;
    EVP_PKEY *k;
    X509 *c;

    p12 = PKCS12_create("legacy-pass", "old", f->key, f->cert, NULL,
                        NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                        NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 2048, 1, 0);
    assert_non_null(p12);
    n = i2d_PKCS12(p12, &der);
    assert_true(n > 0);
    assert_int_equal(p12_read_mem(der, (size_t)n, "legacy-pass", &k, &c),
                     ERR_OK);
    assert_int_equal(EVP_PKEY_eq(k, f->key), 1);
    assert_int_equal(X509_cmp(c, f->cert), 0);
    EVP_PKEY_free(k);
    X509_free(c);
    assert_int_equal(p12_read_mem(der, (size_t)n, "legacy-pasS", &k, &c),
                     ERR_PASSWORD);
    OPENSSL_free(der);
    PKCS12_free(p12);
}

/* RC2-40 certificate bag, as `openssl pkcs12 -export -legacy` writes. */
static void
test_legacy_rc2_from_tool(void **state)
{
    fixture_t *f = *state;
    char cmd[4096], out[1024], line[256];
    EVP_PKEY *k;
    X509 *c;
    FILE *fp;
    int rc2 = 0;

    assert_int_equal(keystore_save(f->dir, "legacy", f->key, f->cert), ERR_OK);
    s_path(f, "legacy.p12", out, sizeof(out));
    snprintf(cmd, sizeof(cmd),
             "openssl pkcs12 -export -legacy -in %s/legacy.pem -inkey "
             "%s/legacy.key -passout pass:old-secret -out %s",
             f->dir, f->dir, out);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "openssl pkcs12 -legacy -info -noout -passin pass:old-secret "
             "-in %s 2>&1",
             out);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL)
        rc2 += strstr(line, "pbeWithSHA1And40BitRC2-CBC") != NULL;
    assert_int_equal(pclose(fp), 0);
    assert_int_equal(rc2, 1);

    assert_int_equal(p12_read_file(out, "old-secret", &k, &c), ERR_OK);
    assert_int_equal(EVP_PKEY_eq(k, f->key), 1);
    assert_int_equal(X509_cmp(c, f->cert), 0);
    EVP_PKEY_free(k);
    X509_free(c);
}

int
main(void)
{
    /* The RC2 test runs first, before anything loads the legacy provider. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_rc2_from_tool),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_keeps_previous),
        cmocka_unit_test(test_legacy_3des),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

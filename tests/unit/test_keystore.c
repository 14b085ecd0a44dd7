/* Unit tests of keystore: key creation, PEM files, permission refusal. */
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
#include <openssl/x509v3.h>

#include "fsutil.h"
#include "keystore.h"

static const keystore_org_t org = {"Voice", "Example Corp", "Lisbon", "Lisboa",
                                   "PT"};

static char *
s_tmpdir(void)
{
    const char *base = getenv("ITL_TMP");
    char tmpl[512];

    if (base == NULL)
        base = "/tmp";
    assert_int_equal(fs_mkdir_p(base, 0755), ERR_OK);
    snprintf(tmpl, sizeof(tmpl), "%s/keystore.XXXXXX", base);
    assert_non_null(mkdtemp(tmpl));
    return strdup(tmpl);
}

static void
s_name_text(X509_NAME *name, char *buf, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n;

    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    n = BIO_read(bio, buf, (int)size - 1);
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(bio);
}

static mode_t
s_mode(const char *dir, const char *file)
{
    char path[1024];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void
test_generate(void **state)
{
    EVP_PKEY *k1, *k2;
    X509 *c1, *c2;
    char text[256];
    int day, sec;

    (void)state;
    assert_int_equal(
        keystore_generate("pub1.example.com", &org, 1024, 1826, &k1, &c1),
        ERR_OK);
    assert_int_equal(EVP_PKEY_get_bits(k1), 1024);
    assert_int_equal(EVP_PKEY_get_base_id(k1), EVP_PKEY_RSA);
    assert_int_equal(X509_get_version(c1), X509_VERSION_3);
    s_name_text(X509_get_subject_name(c1), text, sizeof(text));
    assert_string_equal(text, "CN=pub1.example.com,OU=Voice,O=Example Corp,"
                              "L=Lisbon,ST=Lisboa,C=PT");
    assert_int_equal(
        X509_NAME_cmp(X509_get_subject_name(c1), X509_get_issuer_name(c1)), 0);
    assert_int_equal(X509_get_signature_nid(c1), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_verify(c1, k1), 1);
    assert_int_equal(X509_check_ca(c1), 1);
    assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(c1),
                                    X509_get0_notAfter(c1)),
                     1);
    assert_int_equal(day, 1826);
    assert_int_equal(sec, 0);

    const ASN1_INTEGER *s1 = X509_get0_serialNumber(c1);
    assert_int_equal(s1->length, 16);
    assert_int_equal(s1->type, V_ASN1_INTEGER); /* positive */
    assert_int_not_equal(s1->data[0], 0);

    assert_int_equal(
        keystore_generate("pub1.example.com", &org, 1024, 30, &k2, &c2),
        ERR_OK);
    const ASN1_INTEGER *s2 = X509_get0_serialNumber(c2);
    assert_int_equal(s2->length, 16);
    assert_int_not_equal(ASN1_INTEGER_cmp(s1, s2), 0);

    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    X509_free(c1);
    X509_free(c2);
}

static void
test_generate_default_and_bounds(void **state)
{
    EVP_PKEY *k;
    X509 *c;
    char text[128];

    (void)state;
    assert_int_equal(keystore_generate("n", NULL, 512, 10, &k, &c), ERR_ARG);
    assert_string_equal(err_detail(),
                        "key size 512 is outside 1024..4096 bits");
    assert_null(k);
    assert_int_equal(keystore_generate("n", NULL, 8192, 10, &k, &c), ERR_ARG);
    assert_int_equal(keystore_generate("", NULL, 1024, 10, &k, &c), ERR_ARG);
    keystore_org_t bad = {NULL, NULL, NULL, NULL, "PRT"};
    assert_int_equal(keystore_generate("n", &bad, 1024, 10, &k, &c), ERR_ARG);
    assert_string_equal(err_detail(), "country 'PRT' is not a two-letter code");

    assert_int_equal(keystore_generate("solo", NULL, 0, 10, &k, &c), ERR_OK);
    assert_int_equal(EVP_PKEY_get_bits(k), 2048);
    s_name_text(X509_get_subject_name(c), text, sizeof(text));
    assert_string_equal(text, "CN=solo");
    EVP_PKEY_free(k);
    X509_free(c);
}

static void
test_save_load(void **state)
{
    char *dir = s_tmpdir();
    EVP_PKEY *k, *k2, *lk;
    X509 *c, *c2, *lc;
    char path[1024];

    (void)state;
    assert_int_equal(keystore_generate("tvs1", &org, 1024, 10, &k, &c), ERR_OK);
    assert_int_equal(keystore_save(dir, "tvs", k, c), ERR_OK);
    assert_int_equal(s_mode(dir, "tvs.key"), 0600);
    assert_int_equal(s_mode(dir, "tvs.pem"), 0644);

    assert_int_equal(keystore_load(dir, "tvs", &lk, &lc), ERR_OK);
    assert_int_equal(X509_cmp(c, lc), 0);
    assert_int_equal(EVP_PKEY_eq(k, lk), 1);
    EVP_PKEY_free(lk);
    X509_free(lc);

    /* Only the certificate. */
    assert_int_equal(keystore_load(dir, "tvs", NULL, &lc), ERR_OK);
    assert_int_equal(X509_cmp(c, lc), 0);
    X509_free(lc);

    /* A second save keeps the first files as .prev. */
    assert_int_equal(keystore_generate("tvs1", &org, 1024, 10, &k2, &c2),
                     ERR_OK);
    assert_int_equal(keystore_save(dir, "tvs", k2, c2), ERR_OK);
    snprintf(path, sizeof(path), "%s/tvs.pem.prev", dir);
    assert_int_equal(keystore_read_cert(path, &lc), ERR_OK);
    assert_int_equal(X509_cmp(c, lc), 0);
    X509_free(lc);
    assert_int_equal(s_mode(dir, "tvs.key.prev"), 0600);
    assert_int_equal(keystore_load(dir, "tvs", NULL, &lc), ERR_OK);
    assert_int_equal(X509_cmp(c2, lc), 0);
    X509_free(lc);

    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    X509_free(c);
    X509_free(c2);
    free(dir);
}

static void
test_key_readable_by_others_refused(void **state)
{
    char *dir = s_tmpdir();
    EVP_PKEY *k, *lk = NULL;
    X509 *c, *lc = NULL;
    char path[1024], want[4096];

    (void)state;
    assert_int_equal(keystore_generate("cm", &org, 1024, 10, &k, &c), ERR_OK);
    assert_int_equal(keystore_save(dir, "callmanager", k, c), ERR_OK);
    snprintf(path, sizeof(path), "%s/callmanager.key", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(keystore_load(dir, "callmanager", &lk, &lc), ERR_PERM);
    snprintf(want, sizeof(want),
             "%s holds a secret but its mode is 0644, readable by others; "
             "run: chmod 600 %s",
             path, path);
    assert_string_equal(err_detail(), want);
    assert_null(lk);
    assert_null(lc);

    /* The certificate alone is still readable. */
    assert_int_equal(keystore_load(dir, "callmanager", NULL, &lc), ERR_OK);
    X509_free(lc);
    EVP_PKEY_free(k);
    X509_free(c);
    free(dir);
}

static void
test_missing_garbage_mismatch(void **state)
{
    char *dir = s_tmpdir();
    EVP_PKEY *k, *k2, *lk;
    X509 *c, *c2, *lc;
    char path[1024], want[4096];

    (void)state;
    assert_int_equal(keystore_load(dir, "none", &lk, &lc), ERR_NOTFOUND);
    snprintf(want, sizeof(want),
             "cannot open %s/none.pem: No such file or directory", dir);
    assert_string_equal(err_detail(), want);

    snprintf(path, sizeof(path), "%s/junk.pem", dir);
    assert_int_equal(fs_write_durable(path, "hello\n", 6, 0644, 0), ERR_OK);
    assert_int_equal(keystore_load(dir, "junk", NULL, &lc), ERR_FORMAT);
    snprintf(want, sizeof(want), "%s is not a PEM certificate", path);
    assert_int_equal(strncmp(err_detail(), want, strlen(want)), 0);

    /* a key that is not the certificate's */
    assert_int_equal(keystore_generate("a", NULL, 1024, 10, &k, &c), ERR_OK);
    assert_int_equal(keystore_generate("b", NULL, 1024, 10, &k2, &c2), ERR_OK);
    assert_int_equal(keystore_save(dir, "a", k, c), ERR_OK);
    assert_int_equal(keystore_save(dir, "b", k2, c2), ERR_OK);
    snprintf(path, sizeof(path), "%s/a.pem", dir);
    char bpath[1024];
    snprintf(bpath, sizeof(bpath), "%s/b.pem", dir);
    assert_int_equal(rename(bpath, path), 0);
    assert_int_equal(keystore_load(dir, "a", &lk, &lc), ERR_FORMAT);
    snprintf(want, sizeof(want), "%s/a.key does not hold the key of %s", dir,
             path);
    assert_int_equal(strncmp(err_detail(), want, strlen(want)), 0);

    /* a key file with garbage */
    snprintf(path, sizeof(path), "%s/b.key", dir);
    assert_int_equal(fs_write_durable(path, "garbage", 7, 0600, 0), ERR_OK);
    snprintf(path, sizeof(path), "%s/b.pem", dir);
    assert_int_equal(keystore_save(dir, "c", k2, c2), ERR_OK);
    snprintf(bpath, sizeof(bpath), "%s/c.pem", dir);
    assert_int_equal(rename(bpath, path), 0);
    assert_int_equal(keystore_load(dir, "b", &lk, &lc), ERR_FORMAT);
    snprintf(want, sizeof(want), "%s/b.key is not a PEM private key", dir);
    assert_int_equal(strncmp(err_detail(), want, strlen(want)), 0);

    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    X509_free(c);
    X509_free(c2);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_generate_default_and_bounds),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_key_readable_by_others_refused),
        cmocka_unit_test(test_missing_garbage_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

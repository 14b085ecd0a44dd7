/*
 * trust: the phone's acceptance rules on files built by the codec with
 * keys made here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "itl.h"
#include "trust.h"

enum { S_A, S_B, S_REC, S_TVS, S_NKEYS };

static EVP_PKEY *s_key[S_NKEYS];
static X509 *s_crt[S_NKEYS];
static const char *const s_cn[S_NKEYS] = {"node-a", "stranger-b", "recovery",
                                          "tvs-a"};

static X509 *
s_make_cert(EVP_PKEY *k, const char *cn, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const uint8_t *)"US", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const uint8_t *)"Test",
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const uint8_t *)cn, -1,
                               -1, 0);
    X509_set_issuer_name(x, n);
    X509_sign(x, k, EVP_sha256());
    return x;
}

static int
s_setup(void **state)
{
    (void)state;
    for (int i = 0; i < S_NKEYS; i++) {
        s_key[i] = EVP_RSA_gen(2048);
        if (s_key[i] == NULL)
            return -1;
        s_crt[i] = s_make_cert(s_key[i], s_cn[i], 10 + i);
    }
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < S_NKEYS; i++) {
        X509_free(s_crt[i]);
        EVP_PKEY_free(s_key[i]);
    }
    return 0;
}

/*
 * A file signed by key `signer`, holding the certificates of `who` with
 * the roles in `roles` (n of them).
 */
static itl_file_t *
s_build(int signer, const int *who, const int *roles, size_t n)
{
    itl_entry_t e[8] = {0};
    itl_file_t *f = NULL;

    for (size_t i = 0; i < n; i++) {
        e[i].cert = s_crt[who[i]];
        e[i].function = roles[i];
    }
    assert_int_equal(itl_file_build(e, n, s_key[signer], s_crt[signer],
                                    ITL_DIGEST_SHA1, "ITLFile.tlv", 1700000000u,
                                    &f),
                     ERR_OK);
    return f;
}

/* The node's usual ITL: A signs; recovery is a SAST too; a TVS. */
static itl_file_t *
s_node_itl(void)
{
    static const int who[] = {S_A, S_A, S_TVS, S_REC};
    static const int roles[] = {ITL_ROLE_SAST, ITL_ROLE_CCM_TFTP, ITL_ROLE_TVS,
                                ITL_ROLE_SAST};

    return s_build(S_A, who, roles, 4);
}

static itl_file_t *
s_signed_by(int signer)
{
    static const int roles[] = {ITL_ROLE_SAST, ITL_ROLE_CCM_TFTP};
    int who[] = {signer, signer};

    return s_build(signer, who, roles, 2);
}

static void
test_first_file_accepted(void **state)
{
    itl_file_t *f = s_signed_by(S_B);
    char why[300] = "x";

    (void)state;
    assert_int_equal(trust_accepts(NULL, f, why, sizeof(why)), ERR_OK);
    assert_string_equal(why, "");
    itl_file_destroy(&f);
}

static void
test_first_file_badly_signed(void **state)
{
    itl_file_t *f = s_signed_by(S_B), *bad = NULL;
    size_t len;
    const uint8_t *b = itl_file_bytes(f, &len);
    uint8_t *copy = malloc(len);
    char why[300];

    (void)state;
    memcpy(copy, b, len);
    copy[len - 1] ^= 0x01; /* a certificate byte: parses, fails to verify */
    assert_int_equal(itl_file_parse(copy, len, &bad), ERR_OK);
    assert_int_equal(trust_accepts(NULL, bad, why, sizeof(why)), ERR_UNTRUSTED);
    assert_true(
        strncmp(why, "the file's own signature does not verify: ", 42) == 0);
    free(copy);
    itl_file_destroy(&bad);
    itl_file_destroy(&f);
}

static void
test_unknown_signer_refused(void **state)
{
    itl_file_t *held = s_node_itl(), *cand = s_signed_by(S_B);
    char why[300], name[100];

    (void)state;
    assert_int_equal(trust_accepts(held, cand, why, sizeof(why)),
                     ERR_UNTRUSTED);
    assert_string_equal(why, "signer CN=stranger-b;O=Test;C=US is not "
                             "trusted (no SAST record of the held ITL has "
                             "serial 0b and that subject)");
    assert_string_equal(trust_signer_name(cand, name, sizeof(name)),
                        "CN=stranger-b;O=Test;C=US");
    itl_file_destroy(&held);
    itl_file_destroy(&cand);
}

static void
test_same_signer_and_recovery_accepted(void **state)
{
    itl_file_t *held = s_node_itl(), *again = s_signed_by(S_A);
    itl_file_t *rec = NULL;
    char why[300];

    (void)state;
    assert_int_equal(trust_accepts(held, again, why, sizeof(why)), ERR_OK);
    assert_int_equal(itl_file_resign(held, s_key[S_REC], s_crt[S_REC],
                                     ITL_DIGEST_SHA1, 1700000001u, &rec),
                     ERR_OK);
    assert_int_equal(trust_accepts(held, rec, why, sizeof(why)), ERR_OK);
    /* Without a why buffer too. */
    assert_int_equal(trust_accepts(held, rec, NULL, 0), ERR_OK);
    itl_file_destroy(&held);
    itl_file_destroy(&again);
    itl_file_destroy(&rec);
}

static void
test_non_sast_role_is_not_enough(void **state)
{
    /* B is in the held file, but only as CCM+TFTP: it may not sign. */
    static const int who[] = {S_A, S_B};
    static const int roles[] = {ITL_ROLE_SAST, ITL_ROLE_CCM_TFTP};
    itl_file_t *held = s_build(S_A, who, roles, 2), *cand = s_signed_by(S_B);
    char why[300];

    (void)state;
    assert_int_equal(trust_accepts(held, cand, why, sizeof(why)),
                     ERR_UNTRUSTED);
    assert_string_equal(why, "signer CN=stranger-b;O=Test;C=US is not "
                             "trusted (no SAST record of the held ITL has "
                             "serial 0b and that subject)");
    itl_file_destroy(&held);
    itl_file_destroy(&cand);
}

static void
test_tampered_file_from_trusted_signer(void **state)
{
    /* Signed by A, then one byte changed: the signer is trusted, the
     * signature no longer verifies. */
    itl_file_t *held = s_node_itl(), *good = s_signed_by(S_A), *forged = NULL;
    size_t len;
    const uint8_t *b = itl_file_bytes(good, &len);
    uint8_t *copy = malloc(len);
    char why[400];

    (void)state;
    memcpy(copy, b, len);
    copy[len - 1] ^= 0x01;
    assert_int_equal(itl_file_parse(copy, len, &forged), ERR_OK);
    assert_int_equal(trust_accepts(held, forged, why, sizeof(why)),
                     ERR_UNTRUSTED);
    assert_true(strncmp(why,
                        "signer CN=node-a;O=Test;C=US is a SAST of the held "
                        "ITL but the signature does not verify with its "
                        "certificate: ",
                        110) == 0);
    free(copy);
    itl_file_destroy(&held);
    itl_file_destroy(&good);
    itl_file_destroy(&forged);
}

struct s_tvs_calls {
    int calls;
    int vouch;
};

static int
s_tvs(const itl_record_t *tvs, const uint8_t *cert, size_t len, void *arg)
{
    struct s_tvs_calls *c = arg;
    unsigned char *der = NULL;
    int n = i2d_X509(s_crt[S_B], &der);

    c->calls++;
    assert_int_equal(tvs->function, ITL_ROLE_TVS);
    assert_int_equal(len, (size_t)n);
    assert_memory_equal(cert, der, len);
    OPENSSL_free(der);
    return c->vouch ? ERR_OK : ERR_UNTRUSTED;
}

static void
test_tvs_hook(void **state)
{
    itl_file_t *held = s_node_itl(), *cand = s_signed_by(S_B);
    struct s_tvs_calls c = {0, 0};
    char why[300];

    (void)state;
    assert_int_equal(trust_accepts_tvs(held, cand, s_tvs, &c, why, sizeof(why)),
                     ERR_UNTRUSTED);
    assert_int_equal(c.calls, 1);
    c.vouch = 1;
    assert_int_equal(trust_accepts_tvs(held, cand, s_tvs, &c, why, sizeof(why)),
                     ERR_OK);
    assert_int_equal(c.calls, 2);
    itl_file_destroy(&held);
    itl_file_destroy(&cand);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_file_accepted),
        cmocka_unit_test(test_first_file_badly_signed),
        cmocka_unit_test(test_unknown_signer_refused),
        cmocka_unit_test(test_same_signer_and_recovery_accepted),
        cmocka_unit_test(test_non_sast_role_is_not_enough),
        cmocka_unit_test(test_tampered_file_from_trusted_signer),
        cmocka_unit_test(test_tvs_hook),
    };

    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

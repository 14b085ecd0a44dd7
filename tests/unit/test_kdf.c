/* Unit tests of kdf: PBKDF2 derivations and the scrypt password hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kdf.h"

/* Known answers computed with Python's hashlib.pbkdf2_hmac / scrypt. */
#define PW "Cluster-Pass1"
#define P12_KAT                                                                \
    "09d8a1f99526ded257500768854676f78e4bc24d08f1b28b25c07ea22f27d816"
#define STORED_KAT                                                             \
    "scrypt$N=1024,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$"                          \
    "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ="

static const uint8_t enrol_kat[32] = {
    0xab, 0xf3, 0x3e, 0xa7, 0x7d, 0xef, 0x80, 0x72, 0x6b, 0x50, 0x7f,
    0x5f, 0x06, 0x8c, 0x6b, 0xca, 0xd8, 0xfb, 0x02, 0x40, 0x93, 0x90,
    0x38, 0xb0, 0xbd, 0x98, 0x23, 0x48, 0x21, 0xbb, 0xf1, 0x30};

static void
test_p12_password_known_answer(void **state)
{
    char a[65], b[65];

    (void)state;
    assert_int_equal(kdf_p12_password(PW, a), ERR_OK);
    assert_string_equal(a, P12_KAT);
    assert_int_equal(kdf_p12_password(PW, b), ERR_OK);
    assert_string_equal(a, b);
    assert_int_equal(kdf_p12_password("Cluster-Pass2", b), ERR_OK);
    assert_int_equal(strlen(b), 64);
    assert_string_not_equal(a, b);
}

static void
test_enrol_key_known_answer(void **state)
{
    uint8_t k[32];

    (void)state;
    assert_int_equal(kdf_enrol_key(PW, k), ERR_OK);
    assert_memory_equal(k, enrol_kat, 32);
}

static void
test_empty_password_refused(void **state)
{
    char a[65];
    uint8_t k[32];

    (void)state;
    assert_int_equal(kdf_p12_password("", a), ERR_ARG);
    assert_string_equal(err_detail(), "the cluster security password is empty");
    assert_int_equal(kdf_enrol_key(NULL, k), ERR_ARG);
}

static void
test_passwd_known_answer(void **state)
{
    (void)state;
    assert_int_equal(passwd_verify("Admin-Pass9", STORED_KAT), ERR_OK);
    assert_int_equal(passwd_verify("Admin-Pass8", STORED_KAT), ERR_PASSWORD);
    assert_string_equal(err_detail(), "wrong password");
}

static void
test_passwd_round_trip(void **state)
{
    char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];

    (void)state;
    assert_int_equal(passwd_set_cost_for_tests(1024, 8, 1), ERR_OK);
    assert_int_equal(passwd_hash("s3cret pass", h1, sizeof(h1)), ERR_OK);
    assert_int_equal(passwd_hash("s3cret pass", h2, sizeof(h2)), ERR_OK);
    assert_int_equal(strncmp(h1, "scrypt$N=1024,r=8,p=1$", 22), 0);
    /* 22 + 24 salt + 1 + 44 hash */
    assert_int_equal(strlen(h1), 91);
    assert_string_not_equal(h1, h2); /* fresh salt each time */
    assert_int_equal(passwd_verify("s3cret pass", h1), ERR_OK);
    assert_int_equal(passwd_verify("s3cret pass", h2), ERR_OK);
    assert_int_equal(passwd_verify("s3cret pasS", h1), ERR_PASSWORD);
    assert_int_equal(passwd_verify("", h1), ERR_PASSWORD);
    assert_int_equal(passwd_set_cost_for_tests(0, 0, 0), ERR_OK);
}

static void
test_passwd_default_cost(void **state)
{
    char h[PASSWD_HASH_MAX];

    (void)state;
    assert_int_equal(passwd_hash("x", h, sizeof(h)), ERR_OK);
    assert_int_equal(strncmp(h, "scrypt$N=32768,r=8,p=1$", 23), 0);
    assert_int_equal(passwd_verify("x", h), ERR_OK);
    assert_int_equal(passwd_hash("x", h, 100), ERR_ARG);
    assert_int_equal(passwd_set_cost_for_tests(1000, 8, 1), ERR_ARG);
}

static void
test_passwd_damaged(void **state)
{
    static const char *bad[] = {
        "",
        "pbkdf2$N=1024,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ=",
        /* N not a power of two */
        "scrypt$N=1000,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ=",
        /* N over the bound */
        "scrypt$N=2097152,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ=",
        /* hash cut short */
        "scrypt$N=1024,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcR",
        /* salt with a bad character */
        "scrypt$N=1024,r=8,p=1$AAECAwQFBgcICQoLDA0OD*==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ=",
        /* extra field */
        "scrypt$N=1024,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ=$",
        "scrypt$N=1024,r=0,p=1$AAECAwQFBgcICQoLDA0ODw==$"
        "cANAfsw6tZUORW6xvtghBKxcZCOk8B2HwJ9/7VcRENQ=",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(passwd_verify("Admin-Pass9", bad[i]), ERR_FORMAT);
        assert_string_equal(err_detail(),
                            "the stored password hash is damaged (expected "
                            "scrypt$N=..,r=..,p=..$salt$hash)");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p12_password_known_answer),
        cmocka_unit_test(test_enrol_key_known_answer),
        cmocka_unit_test(test_empty_password_refused),
        cmocka_unit_test(test_passwd_known_answer),
        cmocka_unit_test(test_passwd_round_trip),
        cmocka_unit_test(test_passwd_default_cost),
        cmocka_unit_test(test_passwd_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of protocheck: well-formed messages with absurd values are
 * refused with a message naming the field; sane ones pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.pb-c.h"
#include "itl.h"
#include "protocheck.h"

static uint8_t s_der[300];

static void
test_hostnames(void **state)
{
    (void)state;
    assert_true(protocheck_hostname("sub1"));
    assert_true(protocheck_hostname("cucm-sub1.example.com"));
    assert_false(protocheck_hostname(""));
    assert_false(protocheck_hostname("../etc"));
    assert_false(protocheck_hostname(".hidden"));
    assert_false(protocheck_hostname("-x"));
    assert_false(protocheck_hostname("a/b"));
    assert_false(protocheck_hostname("a b"));
    assert_false(protocheck_hostname("CN=x;O=y"));
    assert_true(protocheck_hostname(
        "a234567890123456789012345678901234567890123456789012"));
    assert_false(protocheck_hostname(
        "a2345678901234567890123456789012345678901234567890123"));
}

static void
s_register(Itl__Envelope *e, Itl__Register *r)
{
    itl__envelope__init(e);
    itl__register__init(r);
    r->hostname = "sub1";
    r->address = "127.0.0.12:6969";
    r->callmanager_der.data = s_der;
    r->callmanager_der.len = sizeof(s_der);
    r->tvs_der = r->callmanager_der;
    e->body_case = ITL__ENVELOPE__BODY_REGISTER;
    e->register_ = r;
}

static void
test_register(void **state)
{
    Itl__Envelope e;
    Itl__Register r;

    (void)state;
    s_register(&e, &r);
    assert_int_equal(protocheck_envelope(&e), ERR_OK);
    r.hostname = "../../etc/cron.d/x";
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(),
                        "register.hostname "
                        "'../../etc/cron.d/x' is not a host name");
    r.hostname = "sub1";
    r.tvs_der.len = 70000;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "register.tvs_der of 70000 bytes is "
                                      "outside 64..16384");
}

static void
test_order(void **state)
{
    Itl__Envelope e = ITL__ENVELOPE__INIT;
    Itl__ResetOrder o = ITL__RESET_ORDER__INIT;

    (void)state;
    e.body_case = ITL__ENVELOPE__BODY_RESET_ORDER;
    e.reset_order = &o;
    o.job_id = 1;
    o.deadline_ms = 30000;
    o.itl.data = s_der;
    o.itl.len = sizeof(s_der);
    assert_int_equal(protocheck_envelope(&e), ERR_OK);
    o.itl.len = ITL_MAX_FILE + 1;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "reset_order.itl of 65537 bytes is "
                                      "outside 1..65536");
    o.itl.len = sizeof(s_der);
    o.job_id = 0;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "reset_order.job_id is 0");
    o.job_id = 1;
    o.deadline_ms = 0xffffffffu;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "reset_order.deadline_ms 4294967295 "
                                      "is outside 1..3600000");
}

static void
test_certset_and_report(void **state)
{
    Itl__Envelope e = ITL__ENVELOPE__INIT;
    Itl__CertSet cs = ITL__CERT_SET__INIT;
    Itl__ResetReport r = ITL__RESET_REPORT__INIT;

    (void)state;
    e.body_case = ITL__ENVELOPE__BODY_CERT_SET;
    e.cert_set = &cs;
    cs.generation = 5;
    cs.recovery_der.data = s_der;
    cs.recovery_der.len = sizeof(s_der);
    cs.n_certs = 100000;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "cert_set holds 100000 certificates, "
                                      "over the limit of 8192");

    e.body_case = ITL__ENVELOPE__BODY_RESET_REPORT;
    e.reset_report = &r;
    r.job_id = 2;
    r.step = (Itl__ResetStep)9;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "reset_report.step 9 is not a step");
    e.body_case = ITL__ENVELOPE__BODY__NOT_SET;
    assert_int_equal(protocheck_envelope(&e), ERR_PROTO);
    assert_string_equal(err_detail(), "message without a known body (0)");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostnames),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_certset_and_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

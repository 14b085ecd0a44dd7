/*
 * audit: the phones' report parser, driven by the cases in
 * tests/data/audit (NAME.txt parsed, compared with NAME.want: one line per
 * phone "phone LINE NAME SHA1", per bad line "bad LINE WHY", then
 * "skipped N"), plus the limits, the history lines and the classification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "fsutil.h"

static const char *
s_data(void)
{
    const char *d = getenv("ITL_TESTDATA");

    return d != NULL ? d : "tests/data";
}

/* The parse of case name rendered as its .want file is written. */
static char *
s_render(const char *name)
{
    char path[512];
    uint8_t *buf;
    size_t len, cap = 1 << 16, used = 0;
    audit_report_t r;
    char *out = malloc(cap);

    assert_non_null(out);
    snprintf(path, sizeof(path), "%s/audit/%s.txt", s_data(), name);
    assert_int_equal(fs_read_file(path, AUDIT_MAX_BYTES, &buf, &len), ERR_OK);
    assert_int_equal(audit_parse(buf, len, &r), ERR_OK);
    free(buf);
    for (size_t i = 0; i < r.nphones; i++)
        used += (size_t)snprintf(out + used, cap - used, "phone %zu %s %s\n",
                                 r.phones[i].line, r.phones[i].name,
                                 r.phones[i].sha1);
    for (size_t i = 0; i < r.nbad; i++)
        used += (size_t)snprintf(out + used, cap - used, "bad %zu %s\n",
                                 r.bad[i].line, r.bad[i].why);
    snprintf(out + used, cap - used, "skipped %zu\n", r.nskip);
    audit_report_clear(&r);
    return out;
}

static void
s_case(const char *name)
{
    char path[512];
    uint8_t *want;
    size_t len;
    char *got = s_render(name);

    snprintf(path, sizeof(path), "%s/audit/%s.want", s_data(), name);
    assert_int_equal(fs_read_file(path, 1 << 16, &want, &len), ERR_OK);
    if (strcmp(got, (char *)want) != 0)
        fprintf(stderr, "case %s:\n--- got\n%s--- want\n%s", name, got,
                (char *)want);
    assert_string_equal(got, (char *)want);
    free(want);
    free(got);
}

static void
test_good(void **state)
{
    (void)state;
    s_case("good");
}

static void
test_bad_lines(void **state)
{
    (void)state;
    s_case("bad");
}

static void
test_empty(void **state)
{
    (void)state;
    s_case("empty");
    s_case("only-comments");
}

static void
test_too_big(void **state)
{
    audit_report_t r;
    uint8_t *big = calloc(1, AUDIT_MAX_BYTES + 1);

    (void)state;
    assert_non_null(big);
    assert_int_equal(audit_parse(big, AUDIT_MAX_BYTES + 1, &r), ERR_TOOBIG);
    assert_null(r.phones);
    free(big);
}

/* More than AUDIT_MAX_BAD bad lines: the first ones kept, all counted. */
static void
test_many_bad(void **state)
{
    size_t n = AUDIT_MAX_BAD + 500;
    char *buf = malloc(n * 2);
    audit_report_t r;

    (void)state;
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + 2 * i, "x\n", 2);
    assert_int_equal(audit_parse((uint8_t *)buf, n * 2, &r), ERR_OK);
    assert_int_equal(r.nphones, 0);
    assert_int_equal(r.nbad, AUDIT_MAX_BAD);
    assert_int_equal(r.nskip, n);
    assert_int_equal(r.bad[AUDIT_MAX_BAD - 1].line, AUDIT_MAX_BAD);
    assert_string_equal(r.bad[0].why, "'x' has no SHA-1 after it");
    audit_report_clear(&r);
    free(buf);
}

static void
test_history_line(void **state)
{
    audit_itl_t e;
    const char *sha = "0123456789abcdef0123456789abcdef01234567";
    char line[256];

    (void)state;
    snprintf(line, sizeof(line), "%s\tsub1\tyes\t100\t200\tCN=sub1;O=Lab X",
             sha);
    assert_int_equal(audit_itl_parse(line, &e), ERR_OK);
    assert_string_equal(e.sha1, sha);
    assert_string_equal(e.node, "sub1");
    assert_int_equal(e.recovery, AUDIT_REC_YES);
    assert_int_equal(e.first, 100);
    assert_int_equal(e.last, 200);
    assert_string_equal(e.signer, "CN=sub1;O=Lab X");
    snprintf(line, sizeof(line), "%s\tpub\told\t1\t2\t", sha);
    assert_int_equal(audit_itl_parse(line, &e), ERR_OK);
    assert_int_equal(e.recovery, AUDIT_REC_OLD);
    assert_string_equal(e.signer, "");
    snprintf(line, sizeof(line), "%s\tpub\tmaybe\t1\t2\tx", sha);
    assert_int_equal(audit_itl_parse(line, &e), ERR_FORMAT);
    assert_int_equal(audit_itl_parse("0123\tpub\tyes\t1\t2\tx", &e),
                     ERR_FORMAT);
    assert_int_equal(audit_itl_parse("", &e), ERR_FORMAT);
}

static void
test_classify(void **state)
{
    audit_itl_t k[4];
    const audit_itl_t *m;
    const char *a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const char *c = "cccccccccccccccccccccccccccccccccccccccc";

    (void)state;
    memset(k, 0, sizeof(k));
    /* a: served by two nodes; the one with the recovery record decides. */
    snprintf(k[0].sha1, sizeof(k[0].sha1), "%s", a);
    snprintf(k[0].node, sizeof(k[0].node), "sub1");
    k[0].recovery = AUDIT_REC_NO;
    k[1] = k[0];
    snprintf(k[1].node, sizeof(k[1].node), "sub2");
    k[1].recovery = AUDIT_REC_YES;
    snprintf(k[2].sha1, sizeof(k[2].sha1), "%s", b);
    k[2].recovery = AUDIT_REC_OLD;
    snprintf(k[3].sha1, sizeof(k[3].sha1), "%s", c);
    k[3].recovery = AUDIT_REC_NO;
    assert_int_equal(audit_classify(k, 4, a, &m), AUDIT_RECOVERABLE);
    assert_ptr_equal(m, &k[1]);
    assert_int_equal(audit_classify(k, 4, b, &m), AUDIT_NO_RECOVERY);
    assert_ptr_equal(m, &k[2]);
    assert_int_equal(audit_classify(k, 4, c, NULL), AUDIT_NO_RECOVERY);
    assert_int_equal(audit_classify(k, 4, "dddd", &m), AUDIT_UNKNOWN);
    assert_null(m);
    assert_int_equal(audit_classify(NULL, 0, a, &m), AUDIT_UNKNOWN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),     cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_empty),    cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_many_bad), cmocka_unit_test(test_history_line),
        cmocka_unit_test(test_classify),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

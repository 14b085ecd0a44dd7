/*
 * tvsproto: the TVS wire cases of tests/data/tvs/index (requests with the
 * answers a TVS knowing tests/data/tvs/set gives, malformed requests and
 * responses with their exact error text), plus encoder round trips.
 * TVS_DUMP=1 in the environment prints what each case gives instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsutil.h"
#include "tvs.h"
#include "tvsproto.h"

#define S_TTL 3600

/* Reads a hex text file of tests/data/tvs ('#' to end of line ignored). */
static uint8_t *
s_hex(const char *name, size_t *len)
{
    char path[1024];
    uint8_t *text = NULL, *out;
    size_t n, k = 0;
    int hi = -1, comment = 0;

    snprintf(path, sizeof(path), "%s/tvs/%s", getenv("ITL_TESTDATA"), name);
    assert_int_equal(fs_read_file(path, 1 << 20, &text, &n), ERR_OK);
    out = malloc(n / 2 + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        int c = text[i], v;

        if (c == '#')
            comment = 1;
        if (c == '\n')
            comment = 0;
        if (comment || isspace(c))
            continue;
        assert_true(isxdigit(c));
        v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            out[k++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    free(text);
    *len = k;
    return out;
}

static tvs_certs_t *
s_set(void)
{
    char path[1024], line[256];
    tvs_certs_t *s = tvs_certs_new();
    FILE *fp;

    snprintf(path, sizeof(path), "%s/tvs/set", getenv("ITL_TESTDATA"));
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(s);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *role, *file;
        uint8_t *der;
        size_t len;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        role = strtok(line, "\t");
        file = strtok(NULL, "\t");
        assert_non_null(file);
        der = s_hex(file, &len);
        assert_int_equal(tvs_certs_add(s, der, len, atoi(role)), ERR_OK);
        free(der);
    }
    fclose(fp);
    assert_int_equal(tvs_certs_count(s), 2);
    return s;
}

static const char *
s_code_name(int rc)
{
    static const char *const names[] = {
        "ERR_OK",     "ERR_NOMEM",     "ERR_IO",     "ERR_FORMAT",
        "ERR_TOOBIG", "ERR_SIGNATURE", "ERR_CRYPTO", "ERR_PASSWORD",
        "ERR_PERM",   "ERR_NOTFOUND",  "ERR_ARG",    "ERR_TIMEOUT",
        "ERR_PROTO",  "ERR_REFUSED",   "ERR_HOLD",   "ERR_NET",
        "ERR_EXISTS", "ERR_UNTRUSTED"};
    return names[-rc];
}

static int
s_code(const char *name)
{
    for (int c = 0; c >= ERR_UNTRUSTED; c--) {
        if (strcmp(s_code_name(c), name) == 0)
            return c;
    }
    fail_msg("unknown code %s", name);
    return 1;
}

/* "status S, roles A B, ttl T" of a decoded response. */
static void
s_resp_text(const tvsproto_response_t *r, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "session %u, status %d, roles",
                                r->session, r->status);

    for (size_t i = 0; i < r->nroles; i++)
        o += (size_t)snprintf(buf + o, size - o, " %u", r->roles[i]);
    if (r->has_ttl)
        snprintf(buf + o, size - o, ", ttl %u", r->ttl);
}

/* A request case: decodes it and compares the answer or the error. */
static void
s_request_case(const tvs_certs_t *set, const char *file, int want,
               const char *expected, int dump)
{
    tvsproto_request_t req;
    tvsproto_response_t resp;
    uint8_t out[256], *in, *exp;
    size_t len, olen, elen;
    int rc;

    in = s_hex(file, &len);
    err_clear();
    rc = tvsproto_request_decode(in, len, &req);
    if (dump) {
        printf("req\t%s\t%s\t%s\n", file, s_code_name(rc),
               rc == ERR_OK ? "-" : err_detail());
        free(in);
        return;
    }
    if (rc != want || (rc != ERR_OK && strcmp(err_detail(), expected) != 0))
        fail_msg("%s: got %s \"%s\", want %s \"%s\"", file, s_code_name(rc),
                 err_detail(), s_code_name(want), expected);
    if (rc == ERR_OK) {
        tvs_answer(set, &req, S_TTL, &resp);
        assert_int_equal(
            tvsproto_response_encode(&resp, out, sizeof(out), &olen), ERR_OK);
        exp = s_hex(expected, &elen);
        assert_int_equal(olen, elen);
        assert_memory_equal(out, exp, elen);
        free(exp);
    }
    free(in);
}

static void
s_response_case(const char *file, int want, const char *expected, int dump)
{
    tvsproto_response_t resp;
    char text[200];
    uint8_t *in;
    size_t len;
    int rc;

    in = s_hex(file, &len);
    err_clear();
    rc = tvsproto_response_decode(in, len, &resp);
    if (rc == ERR_OK)
        s_resp_text(&resp, text, sizeof(text));
    if (dump) {
        printf("resp\t%s\t%s\t%s\n", file, s_code_name(rc),
               rc == ERR_OK ? text : err_detail());
    } else if (rc != want ||
               strcmp(rc == ERR_OK ? text : err_detail(), expected) != 0) {
        fail_msg("%s: got %s \"%s\", want %s \"%s\"", file, s_code_name(rc),
                 rc == ERR_OK ? text : err_detail(), s_code_name(want),
                 expected);
    }
    free(in);
}

static void
test_index(void **state)
{
    char path[1024], line[600];
    tvs_certs_t *set = s_set();
    int dump = getenv("TVS_DUMP") != NULL, cases = 0;
    FILE *fp;

    (void)state;
    snprintf(path, sizeof(path), "%s/tvs/index", getenv("ITL_TESTDATA"));
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *kind, *file, *code, *expected;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        kind = strtok(line, "\t");
        file = strtok(NULL, "\t");
        code = strtok(NULL, "\t");
        expected = strtok(NULL, "\t");
        assert_non_null(expected);
        if (strcmp(kind, "req") == 0)
            s_request_case(set, file, s_code(code), expected, dump);
        else
            s_response_case(file, s_code(code), expected, dump);
        cases++;
    }
    fclose(fp);
    tvs_certs_destroy(&set);
    assert_true(cases >= 34);
}

/* Requests and responses decode to what was encoded. */
static void
test_roundtrip(void **state)
{
    static const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    tvsproto_request_t req = {.session = 0x01020304,
                              .cert = cert,
                              .cert_len = sizeof(cert)},
                       back;
    tvsproto_response_t resp = {.session = 9,
                                .status = TVSPROTO_VALID,
                                .roles = {2, 21},
                                .nroles = 2,
                                .has_ttl = 1,
                                .ttl = 0xfffffffe},
                        rback;
    static const uint8_t want[] = {0x57, 0x01, 0x01, 0x00, 0x01, 0x02, 0x03,
                                   0x04, 0x00, 0x0f, 0x01, 0x00, 0x04, 0x01,
                                   'S',  'E',  'P',  0x02, 0x00, 0x05, 0x30,
                                   0x03, 0x02, 0x01, 0x05};
    uint8_t buf[128];
    size_t len;

    (void)state;
    snprintf(req.device, sizeof(req.device), "SEP");
    assert_int_equal(tvsproto_request_encode(&req, buf, sizeof(buf), &len),
                     ERR_OK);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(buf, want, len);
    assert_int_equal(tvsproto_request_decode(buf, len, &back), ERR_OK);
    assert_int_equal(back.session, 0x01020304);
    assert_string_equal(back.device, "SEP");
    assert_int_equal(back.cert_len, sizeof(cert));
    assert_memory_equal(back.cert, cert, sizeof(cert));
    /* Too small a buffer is refused, not overrun. */
    assert_int_equal(tvsproto_request_encode(&req, buf, 24, &len), ERR_TOOBIG);

    assert_int_equal(tvsproto_response_encode(&resp, buf, sizeof(buf), &len),
                     ERR_OK);
    assert_int_equal(len, 10 + 4 + 5 + 7);
    assert_int_equal(tvsproto_response_decode(buf, len, &rback), ERR_OK);
    assert_int_equal(rback.session, 9);
    assert_int_equal(rback.nroles, 2);
    assert_int_equal(rback.roles[1], 21);
    assert_int_equal(rback.ttl, 0xfffffffe);
    resp.status = 2;
    assert_int_equal(tvsproto_response_encode(&resp, buf, sizeof(buf), &len),
                     ERR_ARG);
}

static void
test_roles_text(void **state)
{
    static const uint8_t roles[] = {0, 2, 21, 99};
    char buf[64];

    (void)state;
    assert_string_equal(tvsproto_roles_text(roles, 4, buf, sizeof(buf)),
                        "SAST, CCM+TFTP, TVS, role 99");
    assert_string_equal(tvsproto_roles_text(roles, 0, buf, sizeof(buf)),
                        "none");
    assert_string_equal(tvsproto_roles_text(roles, 3, buf, 8), "SAST, C");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roles_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

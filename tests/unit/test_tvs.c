/*
 * tvs and tvsclient over real TLS on 127.0.0.1: answers from the node's
 * own certificates and from certset.pb (reloaded when it changes), server
 * pinning (an unknown TVS certificate is refused), and hostile clients
 * (not TLS, malformed headers, oversized bodies, silent connections over
 * the client cap) that are closed without harming the others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cluster.pb-c.h"
#include "fsutil.h"
#include "itl.h"
#include "log.h"
#include "node.h"
#include "prompt.h"
#include "tlsio.h"
#include "tvs.h"
#include "tvsclient.h"

#define TIMEOUT_MS 800

static const node_params_t s_a = {
    "tvsa", {"Voice", "Example Corp", "Porto", "Porto", "PT"}, 1024, 0};
static const node_params_t s_b = {
    "tvsb", {"Voice", "Example Corp", "Porto", "Porto", "PT"}, 1024, 0};

static char s_state_a[600], s_state_b[600];
static tvs_t *s_tvs;
static int s_port;

static void
s_init(char *state, size_t size, const node_params_t *p)
{
    const char *base = getenv("ITL_TMP");
    char tmpl[512];

    if (base == NULL)
        base = "/tmp";
    assert_int_equal(fs_mkdir_p(base, 0755), ERR_OK);
    snprintf(tmpl, sizeof(tmpl), "%s/tvs-%s.XXXXXX", base, p->hostname);
    assert_non_null(mkdtemp(tmpl));
    snprintf(state, size, "%s/state", tmpl);
    assert_int_equal(node_init(state, p, "Cluster-Pass1", NULL), ERR_OK);
}

/* DER of a node's certificate NAME; the caller frees with OPENSSL_free. */
static size_t
s_der(const char *state, const char *name, uint8_t **der)
{
    X509 *x = NULL;
    int n;

    assert_int_equal(node_cert_load(state, name, NULL, &x), ERR_OK);
    *der = NULL;
    n = i2d_X509(x, der);
    X509_free(x);
    assert_true(n > 0);
    return (size_t)n;
}

static int
s_setup(void **state)
{
    tvs_params_t p = {.address = "127.0.0.1",
                      .port = 0,
                      .ttl = 600,
                      .max_clients = 2,
                      .timeout_ms = TIMEOUT_MS};

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    log_init("test_tvs", 0, LOG_LEVEL_INFO);
    s_init(s_state_a, sizeof(s_state_a), &s_a);
    s_init(s_state_b, sizeof(s_state_b), &s_b);
    p.state_dir = s_state_a;
    s_tvs = tvs_new(&p);
    if (s_tvs == NULL)
        fprintf(stderr, "tvs_new: %s\n", err_detail());
    assert_non_null(s_tvs);
    s_port = tvs_port(s_tvs);
    assert_true(s_port > 0);
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    tvs_destroy(&s_tvs);
    assert_null(s_tvs);
    return 0;
}

/* Asks the test TVS about certificate name of state, unpinned. */
static int
s_ask(const char *st, const char *name, tvsclient_result_t *r)
{
    tvsclient_cfg_t c = {
        .host = "127.0.0.1", .port = s_port, .timeout_ms = 3000};
    uint8_t *der;
    size_t len = s_der(st, name, &der);
    int rc = tvsclient_verify(&c, "SEP001122334455", der, len, r);

    OPENSSL_free(der);
    return rc;
}

static void
test_own_certificates(void **state)
{
    tvsclient_result_t r;

    (void)state;
    assert_int_equal(s_ask(s_state_a, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);
    assert_int_equal(r.nroles, 1);
    assert_int_equal(r.roles[0], 2);
    assert_int_equal(r.ttl, 600);
    assert_string_equal(r.server_subject,
                        "CN=tvsa;OU=Voice;O=Example Corp;L=Porto;ST=Porto;"
                        "C=PT");
    assert_int_equal(strlen(r.server_sha1), 40);

    assert_int_equal(s_ask(s_state_a, "tvs", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);
    assert_int_equal(r.nroles, 1);
    assert_int_equal(r.roles[0], 21);

    /* Another node's certificate, unknown without a certificate set. */
    assert_int_equal(s_ask(s_state_b, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_INVALID);
    assert_int_equal(r.nroles, 0);
    assert_int_equal(r.ttl, 600);
}

/* The pins of a node's own ITL: the hash of its TVS certificate. */
static void
s_pins(const char *st, tvsclient_pin_t **pins, size_t *n)
{
    itl_file_t *f = NULL;

    assert_int_equal(node_build_itl(st, NULL, ITL_DIGEST_SHA1, 1700000000, &f),
                     ERR_OK);
    assert_int_equal(tvsclient_pins_from_itl(f, pins, n), ERR_OK);
    itl_file_destroy(&f);
}

static void
test_pinning(void **state)
{
    tvsclient_pin_t *pins_a, *pins_b;
    size_t na, nb, len;
    tvsclient_result_t r;
    uint8_t *der;
    char want[512];

    (void)state;
    s_pins(s_state_a, &pins_a, &na);
    s_pins(s_state_b, &pins_b, &nb);
    assert_int_equal(na, 1);
    assert_int_equal(nb, 1);
    assert_int_equal(pins_a[0].len, 20);
    len = s_der(s_state_a, "callmanager", &der);

    tvsclient_cfg_t c = {.host = "127.0.0.1",
                         .port = s_port,
                         .timeout_ms = 3000,
                         .pin = 1,
                         .pins = pins_a,
                         .npins = na};
    assert_int_equal(tvsclient_verify(&c, "SEP1", der, len, &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);

    /* B's ITL does not list A's TVS certificate: refused before asking. */
    c.pins = pins_b;
    c.npins = nb;
    assert_int_equal(tvsclient_verify(&c, "SEP1", der, len, &r), ERR_UNTRUSTED);
    snprintf(want, sizeof(want),
             "TVS 127.0.0.1:%d presented certificate CN=tvsa;OU=Voice;"
             "O=Example Corp;L=Porto;ST=Porto;C=PT (SHA-1 %s), which is not "
             "one of the 1 allowed TVS certificates",
             s_port, r.server_sha1);
    assert_string_equal(err_detail(), want);

    /* Pinning to nothing trusts nothing. */
    c.npins = 0;
    assert_int_equal(tvsclient_verify(&c, "SEP1", der, len, &r), ERR_UNTRUSTED);
    OPENSSL_free(der);
    free(pins_a);
    free(pins_b);
}

static void
s_write_certset(const uint8_t *ccm, size_t ccm_len, const uint8_t *rec,
                size_t rec_len)
{
    Itl__CertSet cs = ITL__CERT_SET__INIT;
    Itl__NodeCert nc = ITL__NODE_CERT__INIT, *list[1] = {&nc};
    char path[700];
    uint8_t *buf;
    size_t n;

    nc.hostname = "tvsb";
    nc.role = 2;
    nc.der.data = (uint8_t *)ccm;
    nc.der.len = ccm_len;
    cs.generation = 7;
    cs.certs = list;
    cs.n_certs = 1;
    cs.recovery_der.data = (uint8_t *)rec;
    cs.recovery_der.len = rec_len;
    n = itl__cert_set__get_packed_size(&cs);
    buf = malloc(n);
    assert_non_null(buf);
    itl__cert_set__pack(&cs, buf);
    snprintf(path, sizeof(path), "%s/certset.pb", s_state_a);
    assert_int_equal(fs_write_durable(path, buf, n, 0644, 0), ERR_OK);
    free(buf);
}

static void
test_certset_reload(void **state)
{
    tvsclient_result_t r;
    uint8_t *ccm, *rec;
    size_t ccm_len = s_der(s_state_b, "callmanager", &ccm);
    size_t rec_len = s_der(s_state_b, "tvs", &rec);
    char path[700];

    (void)state;
    s_write_certset(ccm, ccm_len, rec, rec_len);
    assert_int_equal(s_ask(s_state_b, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);
    assert_int_equal(r.nroles, 1);
    assert_int_equal(r.roles[0], 2);
    /* The recovery certificate of the set answers as SAST. */
    assert_int_equal(s_ask(s_state_b, "tvs", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);
    assert_int_equal(r.roles[0], 0);

    /* A damaged set is not taken: the previous one stays. */
    snprintf(path, sizeof(path), "%s/certset.pb", s_state_a);
    assert_int_equal(fs_write_durable(path, "\xff\xff\xff", 3, 0644, 0),
                     ERR_OK);
    assert_int_equal(s_ask(s_state_b, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);

    /* Without the file, only the node's own certificates. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(s_ask(s_state_b, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_INVALID);
    OPENSSL_free(ccm);
    OPENSSL_free(rec);
}

/* A TLS session to the test TVS, for sending raw bytes. */
typedef struct {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} s_raw_t;

static void
s_raw_open(s_raw_t *c)
{
    long long deadline = time_mono_ms() + 3000;

    c->fd = tlsio_connect("127.0.0.1", s_port, deadline);
    assert_true(c->fd >= 0);
    c->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(c->ctx, 1);
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    assert_int_equal(tlsio_handshake(c->ssl, c->fd, 0, deadline, NULL, "t"),
                     ERR_OK);
}

static void
s_raw_close(s_raw_t *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
}

/* Sends bytes and expects the server to close without answering. */
static void
s_expect_close(const uint8_t *msg, size_t len)
{
    s_raw_t c;
    uint8_t b[10];
    long long t0 = time_mono_ms();
    int rc;

    s_raw_open(&c);
    assert_int_equal(tlsio_write(c.ssl, c.fd, msg, len, t0 + 3000, NULL, "t"),
                     ERR_OK);
    rc = tlsio_read(c.ssl, c.fd, b, sizeof(b), t0 + 3000, NULL, "t");
    assert_true(rc == ERR_NOTFOUND || rc == ERR_NET);
    s_raw_close(&c);
}

static void
test_hostile(void **state)
{
    static const uint8_t bad_id[] = {88, 1, 1, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t too_big[] = {87, 1, 1, 0, 0, 0, 0, 1, 0x40, 1};
    static const uint8_t query[] = {87, 1, 3, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t no_cert[] = {87, 1, 1, 0, 0, 0, 0,  1,
                                      0,  5, 1, 0, 2, 1, 'S'};
    tvsclient_result_t r;
    int fd;

    (void)state;
    s_expect_close(bad_id, sizeof(bad_id));
    s_expect_close(too_big, sizeof(too_big));
    s_expect_close(query, sizeof(query));
    s_expect_close(no_cert, sizeof(no_cert));
    /* Half a header, then silence: closed at the read deadline. */
    s_expect_close(no_cert, 4);

    /* Not TLS at all. */
    fd = tlsio_connect("127.0.0.1", s_port, time_mono_ms() + 3000);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
    close(fd);

    /* Still answering. */
    assert_int_equal(s_ask(s_state_a, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);
}

static void
test_client_cap(void **state)
{
    tvsclient_result_t r;
    long long t0;
    int a, b;

    (void)state;
    /* The clients of the tests before may still hold their slots until
     * the server sees them go: let them. */
    usleep((TIMEOUT_MS + 400) * 1000);
    /* Two silent connections fill the cap of 2 ... */
    a = tlsio_connect("127.0.0.1", s_port, time_mono_ms() + 3000);
    b = tlsio_connect("127.0.0.1", s_port, time_mono_ms() + 3000);
    assert_true(a >= 0 && b >= 0);
    usleep(300 * 1000);
    /* ... so a third is closed at once ... */
    t0 = time_mono_ms();
    assert_int_equal(s_ask(s_state_a, "callmanager", &r), ERR_NET);
    assert_true(time_mono_ms() - t0 < TIMEOUT_MS);
    /* ... until the deadline ends the silent ones (on a loaded machine the
     * server may see it a little late: ask again for a while). */
    usleep((TIMEOUT_MS + 400) * 1000);
    t0 = time_mono_ms();
    while (s_ask(s_state_a, "callmanager", &r) != ERR_OK &&
           time_mono_ms() - t0 < 3 * TIMEOUT_MS)
        usleep(200 * 1000);
    assert_int_equal(s_ask(s_state_a, "callmanager", &r), ERR_OK);
    assert_int_equal(r.status, TVSPROTO_VALID);
    close(a);
    close(b);
}

static void
test_connect_refused(void **state)
{
    tvsclient_cfg_t c = {.host = "127.0.0.1", .port = 1, .timeout_ms = 2000};
    tvsclient_result_t r;
    static const uint8_t der[] = {0x30, 0x00};

    (void)state;
    assert_int_equal(tvsclient_verify(&c, "SEP1", der, sizeof(der), &r),
                     ERR_NET);
    assert_string_equal(err_detail(),
                        "127.0.0.1:1: connect: Connection refused");
    c.host = "";
    assert_int_equal(tvsclient_verify(&c, "SEP1", der, sizeof(der), &r),
                     ERR_ARG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_certificates),
        cmocka_unit_test(test_pinning),
        cmocka_unit_test(test_certset_reload),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_client_cap),
        cmocka_unit_test(test_connect_refused),
    };

    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}

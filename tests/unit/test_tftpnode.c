/*
 * Unit tests of tftpnode: what a node does with reset orders. A real
 * publisher state and subscriber state are made with node_init; the TFTP
 * service is in "none" mode (no in.tftpd), so the tests are about the
 * checks and the files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "cluster.pb-c.h"
#include "config.h"
#include "fsutil.h"
#include "itl.h"
#include "kdf.h"
#include "keystore.h"
#include "node.h"
#include "tftpnode.h"

static const node_params_t s_pub = {
    "pub", {"Voice", "Lab", "Lisbon", "Lisboa", "PT"}, 1024, 1};
static const node_params_t s_sub = {
    "sub1", {"Voice", "Lab", "Lisbon", "Lisboa", "PT"}, 1024, 0};

typedef struct {
    char root[200];
    char pub_state[600];
    config_t cfg; /* the subscriber's */
    tftpnode_t *node;
    Itl__CertSet set;
    Itl__NodeCert *certs[1];
    Itl__NodeCert tvs;
    uint8_t *rec_der, *tvs_der;
    EVP_PKEY *rec_key;
    X509 *rec_cert;
    int steps[8];
    char reasons[8][512];
    size_t nsteps;
} fx_t;

static void
s_report(void *arg, int step, const char *sha1, const char *reason)
{
    fx_t *f = arg;

    (void)sha1;
    assert_true(f->nsteps < 8);
    f->steps[f->nsteps] = step;
    snprintf(f->reasons[f->nsteps], sizeof(f->reasons[0]), "%s",
             reason ? reason : "");
    f->nsteps++;
}

static int
s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    const char *base = getenv("ITL_TMP") ? getenv("ITL_TMP") : "/tmp";
    char tmpl[200];
    X509 *tvs = NULL;
    int n;

    assert_int_equal(passwd_set_cost_for_tests(1024, 8, 1), ERR_OK);
    assert_int_equal(fs_mkdir_p(base, 0755), ERR_OK);
    assert_true(strlen(base) < 150);
    snprintf(tmpl, sizeof(tmpl), "%.150s/tftpnode.XXXXXX", base);
    assert_non_null(mkdtemp(tmpl));
    snprintf(f->root, sizeof(f->root), "%s", tmpl);
    snprintf(f->pub_state, sizeof(f->pub_state), "%s/pub", f->root);
    assert_int_equal(node_init(f->pub_state, &s_pub, "cpw", "apw"), ERR_OK);

    config_defaults(&f->cfg, CONFIG_SUBSCRIBER);
    snprintf(f->cfg.hostname, sizeof(f->cfg.hostname), "sub1");
    snprintf(f->cfg.state_dir, sizeof(f->cfg.state_dir), "%s/sub1", f->root);
    snprintf(f->cfg.tftp_folders[0], sizeof(f->cfg.tftp_folders[0]),
             "%s/tftp-a", f->root);
    snprintf(f->cfg.tftp_folders[1], sizeof(f->cfg.tftp_folders[1]),
             "%s/tftp-b", f->root);
    f->cfg.ntftp_folders = 2;
    f->cfg.tftp_restart = CONFIG_RESTART_NONE;
    assert_int_equal(node_init(f->cfg.state_dir, &s_sub, "cpw", NULL), ERR_OK);

    /* The cluster's certificate set: the publisher's TVS and recovery. */
    assert_int_equal(
        node_recovery_load(f->pub_state, &f->rec_key, &f->rec_cert), ERR_OK);
    n = i2d_X509(f->rec_cert, &f->rec_der);
    assert_true(n > 0);
    itl__cert_set__init(&f->set);
    f->set.generation = 7;
    f->set.recovery_der.data = f->rec_der;
    f->set.recovery_der.len = (size_t)n;
    assert_int_equal(node_cert_load(f->pub_state, "tvs", NULL, &tvs), ERR_OK);
    n = i2d_X509(tvs, &f->tvs_der);
    X509_free(tvs);
    itl__node_cert__init(&f->tvs);
    f->tvs.hostname = "pub";
    f->tvs.role = ITL_ROLE_TVS;
    f->tvs.der.data = f->tvs_der;
    f->tvs.der.len = (size_t)n;
    f->certs[0] = &f->tvs;
    f->set.certs = f->certs;
    f->set.n_certs = 1;

    f->node = tftpnode_new(&f->cfg);
    assert_non_null(f->node);
    assert_int_equal(tftpnode_start(f->node), ERR_OK);
    assert_int_equal(tftpnode_set_certset(f->node, &f->set), ERR_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fx_t *f = *state;
    char cmd[700];

    tftpnode_destroy(&f->node);
    OPENSSL_free(f->rec_der);
    OPENSSL_free(f->tvs_der);
    EVP_PKEY_free(f->rec_key);
    X509_free(f->rec_cert);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* The node's current ITL re-signed with key/cert at ts. */
static itl_file_t *
s_resigned(fx_t *f, EVP_PKEY *key, X509 *cert, uint32_t ts)
{
    itl_file_t *cur = NULL, *out = NULL;

    assert_int_equal(itl_file_load(tftpnode_itl_path(f->node), &cur), ERR_OK);
    assert_int_equal(itl_file_resign(cur, key, cert, ITL_DIGEST_SHA1, ts, &out),
                     ERR_OK);
    itl_file_destroy(&cur);
    return out;
}

static void
s_file_sha1(const char *path, char sha1[41])
{
    uint8_t *buf;
    size_t len;
    char md5[33];

    assert_int_equal(fs_read_file(path, ITL_MAX_FILE, &buf, &len), ERR_OK);
    itl_checksums(buf, len, md5, sha1);
    free(buf);
}

static int
s_apply(fx_t *f, itl_file_t *itl, uint64_t job)
{
    size_t len;
    const uint8_t *b = itl_file_bytes(itl, &len);

    tftpnode_order_t o = {job, b, len, itl_file_timestamp(itl), 0, NULL, 0};

    f->nsteps = 0;
    return tftpnode_apply_reset(f->node, &o, s_report, f);
}

static void
test_own_itl_has_recovery_record(void **state)
{
    fx_t *f = *state;
    itl_file_t *itl = NULL;
    size_t n, rec = 0, tvs = 0;

    assert_int_equal(itl_file_load(tftpnode_itl_path(f->node), &itl), ERR_OK);
    n = itl_file_record_count(itl);
    for (size_t i = 0; i < n; i++) {
        const itl_record_t *r = itl_file_record(itl, i);
        if (r->function == ITL_ROLE_TVS)
            tvs++;
        if (r->function == ITL_ROLE_SAST && r->subject &&
            strncmp((const char *)r->subject->value, "CN=ITLRECOVERY_pub;",
                    19) == 0)
            rec++;
    }
    /* Its own TVS and the publisher's, and the publisher's recovery. */
    assert_int_equal(tvs, 2);
    assert_int_equal(rec, 1);
    assert_int_equal(itl_file_verify_self(itl), ERR_OK);
    assert_string_equal(tftpnode_signer(f->node),
                        "CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT");
    itl_file_destroy(&itl);
}

static void
test_reset_installed_everywhere(void **state)
{
    fx_t *f = *state;
    itl_file_t *itl = s_resigned(f, f->rec_key, f->rec_cert, 2000000000);
    char a[41], b[41], md5[33], want[41];
    size_t len;
    const uint8_t *buf = itl_file_bytes(itl, &len);
    char path[700];

    itl_checksums(buf, len, md5, want);
    assert_int_equal(s_apply(f, itl, 1), ERR_OK);
    assert_int_equal(f->nsteps, 2);
    assert_int_equal(f->steps[0], ITL__RESET_STEP__TRANSFERRED);
    assert_int_equal(f->steps[1], ITL__RESET_STEP__RESTARTED);
    snprintf(path, sizeof(path), "%s/tftp-a/ITLFile.tlv", f->root);
    s_file_sha1(path, a);
    snprintf(path, sizeof(path), "%s/tftp-b/ITLFile.tlv", f->root);
    s_file_sha1(path, b);
    assert_string_equal(a, want);
    assert_string_equal(b, want);
    assert_string_equal(tftpnode_sha1(f->node), want);
    assert_true(tftpnode_in_reset(f->node));
    /* The previous file is kept beside it. */
    snprintf(path, sizeof(path), "%s/tftp-a/ITLFile.tlv.prev", f->root);
    assert_true(fs_exists(path));

    /* The same order again is harmless and reports the same file. */
    assert_int_equal(s_apply(f, itl, 2), ERR_OK);
    assert_int_equal(f->nsteps, 2);
    assert_int_equal(f->steps[1], ITL__RESET_STEP__RESTARTED);
    itl_file_destroy(&itl);
}

static void
test_forged_reset_refused(void **state)
{
    fx_t *f = *state;
    keystore_org_t org = {"Voice", "Lab", "Lisbon", "Lisboa", "PT"};
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    itl_file_t *itl;
    char before[41], after[41];

    /* Same subject as the real recovery certificate, another key. */
    assert_int_equal(
        keystore_generate("ITLRECOVERY_pub", &org, 1024, 30, &key, &cert),
        ERR_OK);
    itl = s_resigned(f, key, cert, 2000000000);
    s_file_sha1(tftpnode_itl_path(f->node), before);
    assert_int_equal(s_apply(f, itl, 1), ERR_UNTRUSTED);
    assert_int_equal(f->nsteps, 1);
    assert_int_equal(f->steps[0], ITL__RESET_STEP__FAILED);
    assert_non_null(strstr(f->reasons[0], "the ITL is not signed by the "
                                          "cluster's ITLRecovery key"));
    s_file_sha1(tftpnode_itl_path(f->node), after);
    assert_string_equal(before, after);
    assert_false(tftpnode_in_reset(f->node));
    itl_file_destroy(&itl);
    EVP_PKEY_free(key);
    X509_free(cert);
}

static void
test_replayed_reset_refused(void **state)
{
    fx_t *f = *state;
    itl_file_t *newer = s_resigned(f, f->rec_key, f->rec_cert, 2000000100);
    itl_file_t *older = s_resigned(f, f->rec_key, f->rec_cert, 2000000000);
    char served[41];

    assert_int_equal(s_apply(f, newer, 5), ERR_OK);
    s_file_sha1(tftpnode_itl_path(f->node), served);
    assert_int_equal(s_apply(f, older, 6), ERR_REFUSED);
    assert_int_equal(f->steps[0], ITL__RESET_STEP__FAILED);
    assert_string_equal(f->reasons[0],
                        "replayed reset: the ITL of 2000000000 is not newer "
                        "than the last one accepted (2000000100)");
    assert_string_equal(tftpnode_sha1(f->node), served);
    itl_file_destroy(&newer);
    itl_file_destroy(&older);
}

static void
test_garbage_refused(void **state)
{
    fx_t *f = *state;
    uint8_t junk[64];
    char before[41], after[41];

    memset(junk, 0x41, sizeof(junk));
    s_file_sha1(tftpnode_itl_path(f->node), before);
    f->nsteps = 0;
    tftpnode_order_t o = {1, junk, sizeof(junk), 1, 0, NULL, 0};

    assert_int_not_equal(tftpnode_apply_reset(f->node, &o, s_report, f),
                         ERR_OK);
    assert_int_equal(f->steps[0], ITL__RESET_STEP__FAILED);
    s_file_sha1(tftpnode_itl_path(f->node), after);
    assert_string_equal(before, after);
}

static void
test_normal_restart_rebuilds_own(void **state)
{
    fx_t *f = *state;
    itl_file_t *itl = s_resigned(f, f->rec_key, f->rec_cert, 2000000000);

    assert_int_equal(s_apply(f, itl, 1), ERR_OK);
    assert_true(tftpnode_in_reset(f->node));
    assert_int_equal(tftpnode_restart_normal(f->node), ERR_OK);
    assert_false(tftpnode_in_reset(f->node));
    assert_string_equal(tftpnode_signer(f->node),
                        "CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT");
    itl_file_destroy(&itl);
}

static void
test_reset_survives_agent_restart(void **state)
{
    fx_t *f = *state;
    itl_file_t *itl = s_resigned(f, f->rec_key, f->rec_cert, 2000000000);
    char sha1[41];

    assert_int_equal(s_apply(f, itl, 3), ERR_OK);
    snprintf(sha1, sizeof(sha1), "%s", tftpnode_sha1(f->node));
    tftpnode_destroy(&f->node);
    f->node = tftpnode_new(&f->cfg);
    assert_non_null(f->node);
    assert_int_equal(tftpnode_start(f->node), ERR_OK);
    assert_true(tftpnode_in_reset(f->node));
    assert_string_equal(tftpnode_sha1(f->node), sha1);
    assert_int_equal(tftpnode_last_job(f->node), 3);
    assert_int_equal(tftpnode_last_reset_ts(f->node), 2000000000);
    itl_file_destroy(&itl);
}

static void
test_expired_order_refused(void **state)
{
    fx_t *f = *state;
    itl_file_t *itl = s_resigned(f, f->rec_key, f->rec_cert, 2000000000);
    size_t len;
    const uint8_t *b = itl_file_bytes(itl, &len);
    tftpnode_order_t o = {4,    b, len, 2000000000, (long long)time(NULL) - 60,
                          NULL, 0};
    char before[41], after[41];

    s_file_sha1(tftpnode_itl_path(f->node), before);
    f->nsteps = 0;
    assert_int_equal(tftpnode_apply_reset(f->node, &o, s_report, f),
                     ERR_TIMEOUT);
    assert_int_equal(f->steps[0], ITL__RESET_STEP__FAILED);
    assert_non_null(strstr(f->reasons[0], "the order expired 6"));
    s_file_sha1(tftpnode_itl_path(f->node), after);
    assert_string_equal(before, after);
    itl_file_destroy(&itl);
}

/* remotekey: a restored ITLRecovery key, named by the order, is accepted;
 * a certificate that is not an ITLRecovery one is not. */
static void
test_restored_signer(void **state)
{
    fx_t *f = *state;
    keystore_org_t org = {"Voice", "Lab", "Lisbon", "Lisboa", "PT"};
    EVP_PKEY *key = NULL, *key2 = NULL;
    X509 *cert = NULL, *cert2 = NULL;
    unsigned char *der = NULL, *der2 = NULL;
    itl_file_t *itl, *itl2;
    size_t len, len2;
    const uint8_t *b, *b2;
    int n, n2;

    assert_int_equal(
        keystore_generate("ITLRECOVERY_oldpub", &org, 1024, 30, &key, &cert),
        ERR_OK);
    assert_int_equal(
        keystore_generate("intruder", &org, 1024, 30, &key2, &cert2), ERR_OK);
    n = i2d_X509(cert, &der);
    n2 = i2d_X509(cert2, &der2);
    itl2 = s_resigned(f, key2, cert2, 2000000000);
    b2 = itl_file_bytes(itl2, &len2);
    tftpnode_order_t bad = {1, b2, len2, 2000000000, 0, der2, (size_t)n2};
    f->nsteps = 0;
    assert_int_equal(tftpnode_apply_reset(f->node, &bad, s_report, f),
                     ERR_UNTRUSTED);
    assert_string_equal(f->reasons[0],
                        "the ITL is not signed by the "
                        "cluster's ITLRecovery key (the order's signer "
                        "'intruder' is not an ITLRecovery certificate)");

    itl = s_resigned(f, key, cert, 2000000001);
    b = itl_file_bytes(itl, &len);
    tftpnode_order_t good = {2, b, len, 2000000001, 0, der, (size_t)n};
    f->nsteps = 0;
    assert_int_equal(tftpnode_apply_reset(f->node, &good, s_report, f), ERR_OK);
    assert_int_equal(f->steps[1], ITL__RESET_STEP__RESTARTED);
    itl_file_destroy(&itl);
    itl_file_destroy(&itl2);
    OPENSSL_free(der);
    OPENSSL_free(der2);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);
    X509_free(cert);
    X509_free(cert2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_own_itl_has_recovery_record,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reset_installed_everywhere,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_forged_reset_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_replayed_reset_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_normal_restart_rebuilds_own,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reset_survives_agent_restart,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_expired_order_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_restored_signer, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

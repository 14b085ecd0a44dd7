/* Unit tests of node: state folder layout, regeneration, hold timer, ITL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "fsutil.h"
#include "itl.h"
#include "kdf.h"
#include "keystore.h"
#include "node.h"
#include "p12.h"

#define CLUSTER "Cluster-Pass1"
#define ADMIN   "Admin-Pass9"
/* 2023-11-14 12:00:01 UTC */
#define T0 1699963201LL

static const node_params_t pub = {
    "pub1", {"Voice", "Example Corp", "Lisbon", "Lisboa", "PT"}, 1024, 1};
static const node_params_t sub = {
    "sub1", {"Voice", "Example Corp", "Porto", "Porto", "PT"}, 1024, 0};

static void
s_newstate(char *buf, size_t size, const char *tag)
{
    const char *base = getenv("ITL_TMP");
    char tmpl[512];

    if (base == NULL)
        base = "/tmp";
    assert_int_equal(fs_mkdir_p(base, 0755), ERR_OK);
    snprintf(tmpl, sizeof(tmpl), "%s/node-%s.XXXXXX", base, tag);
    assert_non_null(mkdtemp(tmpl));
    snprintf(buf, size, "%s/state", tmpl);
}

static void
s_init(char *state, size_t size, const node_params_t *p)
{
    s_newstate(state, size, p->hostname);
    assert_int_equal(node_init(state, p, CLUSTER, p->publisher ? ADMIN : NULL),
                     ERR_OK);
}

static mode_t
s_mode(const char *state, const char *rel)
{
    char path[1024];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", state, rel);
    if (stat(path, &st) < 0)
        return (mode_t)-1;
    return st.st_mode & 07777;
}

static char *
s_read(const char *state, const char *rel, size_t *len)
{
    char path[1024];
    uint8_t *buf;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", state, rel);
    assert_int_equal(fs_read_file(path, 1 << 20, &buf, &n), ERR_OK);
    if (len != NULL)
        *len = n;
    return (char *)buf;
}

static X509 *
s_cert(const char *state, const char *name)
{
    X509 *c;

    assert_int_equal(node_cert_load(state, name, NULL, &c), ERR_OK);
    return c;
}

static int
s_setup(void **st)
{
    (void)st;
    setenv("TZ", "UTC", 1);
    tzset();
    return passwd_set_cost_for_tests(1024, 8, 1) == ERR_OK ? 0 : -1;
}

static void
test_init_publisher_layout(void **st)
{
    char state[600], pass[65], cn[128], *text;
    uint8_t enrol[32];
    size_t len;
    EVP_PKEY *k;
    X509 *c;
    int day, sec;

    (void)st;
    s_init(state, sizeof(state), &pub);
    assert_int_equal(s_mode(state, ""), 0700);
    assert_int_equal(s_mode(state, "keys"), 0700);
    assert_int_equal(s_mode(state, "secrets"), 0700);
    static const char *priv[] = {"keys/callmanager.key", "keys/tvs.key",
                                 "keys/capf.key",        "keys/ITLRecovery.p12",
                                 "secrets/p12.pass",     "secrets/enrol.key",
                                 "secrets/admin.hash"};
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
        assert_int_equal(s_mode(state, priv[i]), 0600);
    assert_int_equal(s_mode(state, "keys/callmanager.pem"), 0644);
    assert_int_equal(s_mode(state, "keys/tvs.pem"), 0644);
    assert_int_equal(s_mode(state, "keys/capf.pem"), 0644);
    assert_int_equal(s_mode(state, "regen.state"), (mode_t)-1);

    text = s_read(state, "node.info", NULL);
    const char *want = "hostname=pub1\nrole=publisher\nou=Voice\n"
                       "o=Example Corp\nl=Lisbon\nst=Lisboa\nc=PT\n"
                       "key_bits=1024\ncreated=";
    assert_int_equal(strncmp(text, want, strlen(want)), 0);
    free(text);

    text = s_read(state, "secrets/p12.pass", &len);
    assert_int_equal(len, 64);
    assert_int_equal(kdf_p12_password(CLUSTER, pass), ERR_OK);
    assert_memory_equal(text, pass, 64);
    free(text);
    text = s_read(state, "secrets/enrol.key", &len);
    assert_int_equal(len, 32);
    assert_int_equal(kdf_enrol_key(CLUSTER, enrol), ERR_OK);
    assert_memory_equal(text, enrol, 32);
    free(text);
    text = s_read(state, "secrets/admin.hash", NULL);
    assert_int_equal(passwd_verify(ADMIN, text), ERR_OK);
    assert_int_equal(passwd_verify(CLUSTER, text), ERR_PASSWORD);
    free(text);

    assert_int_equal(node_recovery_load(state, &k, &c), ERR_OK);
    assert_int_equal(keystore_cert_cn(c, cn, sizeof(cn)), ERR_OK);
    assert_string_equal(cn, "ITLRECOVERY_pub1");
    assert_int_equal(EVP_PKEY_get_bits(k), 1024);
    assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(c),
                                    X509_get0_notAfter(c)),
                     1);
    assert_int_equal(day, 1826);
    EVP_PKEY_free(k);
    X509_free(c);

    c = s_cert(state, "capf");
    assert_int_equal(keystore_cert_cn(c, cn, sizeof(cn)), ERR_OK);
    assert_int_equal(strlen(cn), 13);
    assert_int_equal(strncmp(cn, "CAPF-", 5), 0);
    assert_int_equal(strspn(cn + 5, "0123456789abcdef"), 8);
    X509_free(c);
    c = s_cert(state, "callmanager");
    assert_int_equal(keystore_cert_cn(c, cn, sizeof(cn)), ERR_OK);
    assert_string_equal(cn, "pub1");
    X509_free(c);

    int is_pub = 0;
    char host[64];
    assert_int_equal(node_load_role(state, &is_pub, host, sizeof(host)),
                     ERR_OK);
    assert_int_equal(is_pub, 1);
    assert_string_equal(host, "pub1");

    /* A second init changes nothing. */
    assert_int_equal(node_init(state, &pub, "other", ADMIN), ERR_EXISTS);
    char msg[4096];
    snprintf(msg, sizeof(msg),
             "%s is already an initialised node state folder (%s/node.info "
             "exists); refusing to overwrite its keys; to start over, move "
             "the folder away (mv %s %s.old) and run init again",
             state, state, state, state);
    assert_string_equal(err_detail(), msg);
    text = s_read(state, "secrets/p12.pass", &len);
    assert_memory_equal(text, pass, 64);
    free(text);
}

/* SHA-256 of STATE/rel, to show that a refused init changed nothing. */
static void
s_digest(const char *state, const char *rel, uint8_t md[SHA256_DIGEST_LENGTH])
{
    size_t len;
    char *text = s_read(state, rel, &len);

    SHA256((const uint8_t *)text, len, md);
    free(text);
}

static void
test_init_refuses_keys_without_info(void **st)
{
    static const char *kept[] = {"keys/callmanager.key", "keys/tvs.key",
                                 "keys/capf.pem",        "keys/ITLRecovery.p12",
                                 "secrets/p12.pass",     "secrets/enrol.key",
                                 "secrets/admin.hash"};
    uint8_t before[7][SHA256_DIGEST_LENGTH], after[SHA256_DIGEST_LENGTH];
    char state[600], path[1024], want[4096];

    (void)st;
    s_init(state, sizeof(state), &pub);
    for (size_t i = 0; i < 7; i++)
        s_digest(state, kept[i], before[i]);
    snprintf(path, sizeof(path), "%s/node.info", state);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(node_init(state, &pub, "Other-Pass2", ADMIN), ERR_EXISTS);
    snprintf(want, sizeof(want),
             "%s already holds keys or secrets of a node "
             "(%s/keys/callmanager.key exists) though it has no node.info; "
             "refusing to overwrite them; to start over, move the folder "
             "away (mv %s %s.old) and run init again",
             state, state, state, state);
    assert_string_equal(err_detail(), want);
    for (size_t i = 0; i < 7; i++) {
        s_digest(state, kept[i], after);
        assert_memory_equal(after, before[i], sizeof(after));
    }
    assert_int_equal(fs_exists(path), 0);

    /* An init stopped after its first secret: the secret is kept too. */
    s_newstate(state, sizeof(state), "half");
    snprintf(path, sizeof(path), "%s/secrets", state);
    assert_int_equal(fs_mkdir_p(path, 0700), ERR_OK);
    snprintf(path, sizeof(path), "%s/secrets/enrol.key", state);
    assert_int_equal(
        fs_write_durable(path, "0123456789abcdef0123456789abcdef", 32, 0600, 0),
        ERR_OK);
    assert_int_equal(node_init(state, &pub, CLUSTER, ADMIN), ERR_EXISTS);
    snprintf(want, sizeof(want),
             "%s already holds keys or secrets of a node (%s exists) though "
             "it has no node.info; refusing to overwrite them; to start "
             "over, move the folder away (mv %s %s.old) and run init again",
             state, path, state, state);
    assert_string_equal(err_detail(), want);

    /* Any other file in keys/ counts as well, e.g. a kept .prev. */
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/keys", state);
    assert_int_equal(fs_mkdir_p(path, 0700), ERR_OK);
    snprintf(path, sizeof(path), "%s/keys/tvs.key.prev", state);
    assert_int_equal(fs_write_durable(path, "x", 1, 0600, 0), ERR_OK);
    assert_int_equal(node_init(state, &pub, CLUSTER, ADMIN), ERR_EXISTS);
    assert_non_null(strstr(err_detail(), "/keys/tvs.key.prev exists)"));
    assert_int_equal(s_mode(state, "secrets/p12.pass"), (mode_t)-1);
}

/* Loads the private file rel of a publisher's state as its reader does. */
static int
s_load_private(const char *state, const char *rel)
{
    char buf[256], pass[65];
    uint8_t enrol[32];
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    int rc;

    if (strcmp(rel, "secrets/admin.hash") == 0)
        return node_admin_hash_load(state, buf, sizeof(buf));
    if (strcmp(rel, "secrets/enrol.key") == 0)
        return node_enrol_key_load(state, enrol);
    if (strcmp(rel, "secrets/p12.pass") == 0)
        return node_p12_pass_load(state, pass);
    if (strcmp(rel, "keys/ITLRecovery.p12") == 0)
        rc = node_recovery_load(state, &k, &c);
    else {
        snprintf(buf, sizeof(buf), "%.*s", (int)(strlen(rel) - 9), rel + 5);
        rc = node_cert_load(state, buf, &k, &c);
    }
    EVP_PKEY_free(k);
    X509_free(c);
    return rc;
}

static void
test_private_files_refused(void **st)
{
    static const char *priv[] = {"keys/callmanager.key", "keys/tvs.key",
                                 "keys/capf.key",        "keys/ITLRecovery.p12",
                                 "secrets/p12.pass",     "secrets/enrol.key",
                                 "secrets/admin.hash"};
    char state[600], path[1024], want[4096], hash[256], *text;

    (void)st;
    s_init(state, sizeof(state), &pub);
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", state, priv[i]);
        assert_int_equal(s_load_private(state, priv[i]), ERR_OK);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(s_load_private(state, priv[i]), ERR_PERM);
        snprintf(want, sizeof(want),
                 "%s holds a secret but its mode is 0644, readable by "
                 "others; run: chmod 600 %s",
                 path, path);
        assert_string_equal(err_detail(), want);
        assert_int_equal(chmod(path, 0600), 0);
    }

    /* The hash comes back as the file holds it, without a newline. */
    assert_int_equal(node_admin_hash_load(state, hash, sizeof(hash)), ERR_OK);
    text = s_read(state, "secrets/admin.hash", NULL);
    assert_string_equal(hash, text);
    assert_int_equal(strncmp(hash, "scrypt$N=", 9), 0);
    free(text);
    assert_int_equal(node_admin_hash_load(state, hash, 10), ERR_ARG);

    /* A missing secret: init did not finish; say how to start over. */
    snprintf(path, sizeof(path), "%s/secrets/enrol.key", state);
    assert_int_equal(unlink(path), 0);
    uint8_t enrol[32];
    assert_int_equal(node_enrol_key_load(state, enrol), ERR_NOTFOUND);
    snprintf(want, sizeof(want),
             "%s is missing: the node in %s was not initialised completely; "
             "move the folder away (mv %s %s.old) and run init again",
             path, state, state, state);
    assert_string_equal(err_detail(), want);
    assert_int_equal(fs_write_durable(path, "short", 5, 0600, 0), ERR_OK);
    assert_int_equal(node_enrol_key_load(state, enrol), ERR_FORMAT);
    snprintf(want, sizeof(want), "%s is damaged (expected 32 bytes, found 5)",
             path);
    assert_string_equal(err_detail(), want);
}

static void
test_p12_pass_damaged(void **st)
{
    char state[600], path[1024], want[4096], pass[65], wrong[65];
    char zs[70];
    EVP_PKEY *k = NULL;
    X509 *c = NULL;

    (void)st;
    s_init(state, sizeof(state), &sub);
    snprintf(path, sizeof(path), "%s/secrets/p12.pass", state);
    snprintf(want, sizeof(want),
             "%s is damaged (expected 64 hex digits, as init writes them, "
             "and nothing else)",
             path);
    memset(zs, 'z', sizeof(zs));
    /* 64 bytes of garbage, 65 (a newline added), 70: all "damaged". */
    static const size_t lens[] = {64, 65, 70, 0};
    for (size_t i = 0; i < 4; i++) {
        if (i == 1)
            memcpy(zs,
                   "0123456789abcdef0123456789abcdef0123456789abcdef"
                   "0123456789abcdef\n",
                   65);
        assert_int_equal(fs_write_durable(path, zs, lens[i], 0600, 0), ERR_OK);
        assert_int_equal(node_p12_pass_load(state, pass), ERR_FORMAT);
        assert_string_equal(err_detail(), want);
        assert_int_equal(node_recovery_load(state, &k, &c), ERR_FORMAT);
        assert_string_equal(err_detail(), want);
        assert_null(k);
        assert_null(c);
    }

    /* Well formed but not the key file's: the pair does not match. */
    assert_int_equal(kdf_p12_password("Another-Pass3", wrong), ERR_OK);
    assert_int_equal(fs_write_durable(path, wrong, 64, 0600, 0), ERR_OK);
    assert_int_equal(node_recovery_load(state, &k, &c), ERR_PASSWORD);
    snprintf(want, sizeof(want),
             "%s/keys/ITLRecovery.p12 does not open with the password in "
             "%s/secrets/p12.pass (its integrity check fails): one of the "
             "two files was replaced or damaged",
             state, state);
    assert_string_equal(err_detail(), want);
}

static void
test_init_subscriber(void **st)
{
    char state[600];
    int is_pub = 1;
    EVP_PKEY *k;
    X509 *c;

    (void)st;
    s_newstate(state, sizeof(state), "subbad");
    assert_int_equal(node_init(state, &sub, CLUSTER, ADMIN), ERR_ARG);
    assert_string_equal(err_detail(),
                        "a subscriber has no administrator password of its "
                        "own");
    assert_int_equal(fs_exists(state), 0);

    s_init(state, sizeof(state), &sub);
    assert_int_equal(s_mode(state, "keys/capf.pem"), (mode_t)-1);
    assert_int_equal(s_mode(state, "secrets/admin.hash"), (mode_t)-1);
    assert_int_equal(s_mode(state, "keys/ITLRecovery.p12"), 0600);
    assert_int_equal(node_load_role(state, &is_pub, NULL, 0), ERR_OK);
    assert_int_equal(is_pub, 0);

    /* The pass file readable by others is refused. */
    char path[1024], want[4096];
    snprintf(path, sizeof(path), "%s/secrets/p12.pass", state);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(node_recovery_load(state, &k, &c), ERR_PERM);
    snprintf(want, sizeof(want),
             "%s holds a secret but its mode is 0640, readable by others; "
             "run: chmod 600 %s",
             path, path);
    assert_string_equal(err_detail(), want);
}

static void
test_init_bad_params(void **st)
{
    char state[600];
    node_params_t p = pub;

    (void)st;
    s_newstate(state, sizeof(state), "bad");
    p.hostname = "bad host";
    assert_int_equal(node_init(state, &p, CLUSTER, ADMIN), ERR_ARG);
    assert_string_equal(err_detail(), "host name 'bad host' is not valid "
                                      "(letters, digits, '-', '.', '_'; up "
                                      "to 52)");
    p = pub;
    p.org.o = "Semi;colon";
    assert_int_equal(node_init(state, &p, CLUSTER, ADMIN), ERR_ARG);
    assert_string_equal(err_detail(), "organisation 'Semi;colon' holds a "
                                      "control character or ';'");
    p = pub;
    assert_int_equal(node_init(state, &p, CLUSTER, NULL), ERR_ARG);
    assert_int_equal(node_init(state, &p, "", ADMIN), ERR_ARG);
    p.key_bits = 512;
    assert_int_equal(node_init(state, &p, CLUSTER, ADMIN), ERR_ARG);
    assert_int_equal(fs_exists(state), 0);

    int is_pub;
    assert_int_equal(node_load_role(state, &is_pub, NULL, 0), ERR_NOTFOUND);
    char want[1024];
    snprintf(want, sizeof(want),
             "%s is not an initialised node (no node.info); run the init "
             "command first",
             state);
    assert_string_equal(err_detail(), want);
}

static void
test_hold_timer(void **st)
{
    char state[600], msg[1024], *text;
    X509 *cm0, *tvs0, *c;

    (void)st;
    s_init(state, sizeof(state), &pub);
    cm0 = s_cert(state, "callmanager");
    tvs0 = s_cert(state, "tvs");

    assert_int_equal(node_regen(state, "CallManager", T0, msg, sizeof(msg)),
                     ERR_OK);
    text = s_read(state, "regen.state", NULL);
    assert_string_equal(text, "name=CallManager\ntime=1699963201\n");
    free(text);

    /* 4:59 later: refused, nothing changes. */
    assert_int_equal(node_regen(state, "TVS", T0 + 299, msg, sizeof(msg)),
                     ERR_HOLD);
    assert_string_equal(msg, "CallManager certificate was modified in the "
                             "last 5 minutes (at 12:00:01); retry "
                             "regenerating TVS after 12:05:01");
    assert_string_equal(err_detail(), msg);
    c = s_cert(state, "tvs");
    assert_int_equal(X509_cmp(c, tvs0), 0);
    X509_free(c);
    assert_int_equal(s_mode(state, "keys/tvs.pem.prev"), (mode_t)-1);

    /* A clock set back waits too. */
    assert_int_equal(node_regen(state, "tvs", T0 - 60, msg, sizeof(msg)),
                     ERR_HOLD);
    /* Even for the same certificate: an earlier time would be recorded. */
    assert_int_equal(
        node_regen(state, "CallManager", T0 - 1000, msg, sizeof(msg)),
        ERR_HOLD);
    assert_string_equal(msg, "CallManager certificate was modified in the "
                             "last 5 minutes (at 12:00:01); retry "
                             "regenerating CallManager after 12:05:01");
    /* The check alone says the same and changes nothing. */
    assert_int_equal(node_regen_check(state, "TVS", T0 + 299, msg, sizeof(msg)),
                     ERR_HOLD);
    assert_string_equal(msg, "CallManager certificate was modified in the "
                             "last 5 minutes (at 12:00:01); retry "
                             "regenerating TVS after 12:05:01");
    assert_int_equal(node_regen_check(state, "TVS", T0 + 300, msg, sizeof(msg)),
                     ERR_OK);
    assert_string_equal(msg, "");
    assert_int_equal(node_regen_check(NULL, "capf", T0, msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(node_regen_check(NULL, "Bogus", T0, msg, sizeof(msg)),
                     ERR_ARG);
    assert_string_equal(msg, "unknown certificate 'Bogus'; expected "
                             "CallManager, TVS, CAPF or ITLRecovery");
    assert_int_equal(node_regen(state, "TVS", -5, msg, sizeof(msg)), ERR_ARG);
    assert_string_equal(msg, "time -5 is before 1970: not a clock to "
                             "regenerate at");
    text = s_read(state, "regen.state", NULL);
    assert_string_equal(text, "name=CallManager\ntime=1699963201\n");
    free(text);

    /* 5:01 later: done. */
    assert_int_equal(node_regen(state, "tvs", T0 + 301, msg, sizeof(msg)),
                     ERR_OK);
    c = s_cert(state, "tvs");
    assert_int_not_equal(X509_cmp(c, tvs0), 0);
    X509_free(c);
    {
        char prev[1024];
        snprintf(prev, sizeof(prev), "%s/keys/tvs.pem.prev", state);
        assert_int_equal(keystore_read_cert(prev, &c), ERR_OK);
        assert_int_equal(X509_cmp(c, tvs0), 0);
        X509_free(c);
    }
    text = s_read(state, "regen.state", NULL);
    assert_string_equal(text, "name=TVS\ntime=1699963502\n");
    free(text);

    /* The CallManager certificate was replaced, the old one kept. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/keys/callmanager.pem.prev", state);
    assert_int_equal(keystore_read_cert(path, &c), ERR_OK);
    assert_int_equal(X509_cmp(c, cm0), 0);
    X509_free(c);
    assert_int_equal(s_mode(state, "keys/callmanager.key.prev"), 0600);

    /* The same certificate again within 5 minutes is allowed. */
    assert_int_equal(node_regen(state, "TVS", T0 + 310, msg, sizeof(msg)),
                     ERR_OK);
    assert_int_equal(node_regen(state, "CAPF", T0 + 320, msg, sizeof(msg)),
                     ERR_HOLD);
    assert_string_equal(msg, "TVS certificate was modified in the last 5 "
                             "minutes (at 12:05:11); retry regenerating "
                             "CAPF after 12:10:11");
    X509_free(cm0);
    X509_free(tvs0);
}

static void
test_regen_messages(void **st)
{
    char state[600], msg[1024], want[1024], serial[40], cn[64];
    EVP_PKEY *k0, *k;
    X509 *r0, *c;

    (void)st;
    s_init(state, sizeof(state), &pub);
    char cn0[64];
    c = s_cert(state, "capf");
    assert_int_equal(keystore_cert_cn(c, cn0, sizeof(cn0)), ERR_OK);
    X509_free(c);
    assert_int_equal(node_regen(state, "CAPF", T0, msg, sizeof(msg)), ERR_OK);
    c = s_cert(state, "capf");
    const ASN1_INTEGER *s = X509_get0_serialNumber(c);
    for (int i = 0; i < s->length; i++)
        snprintf(serial + 2 * i, 3, "%02x", s->data[i]);
    assert_int_equal(keystore_cert_cn(c, cn, sizeof(cn)), ERR_OK);
    snprintf(want, sizeof(want),
             "Regenerated the CAPF certificate of pub1: CN=%s, serial %s; "
             "the previous files are kept as .prev.\nRestart the TFTP "
             "service of this node for its ITL to pick up the new "
             "certificate.\n",
             cn, serial);
    assert_string_equal(msg, want);
    X509_free(c);
    /* The CAPF name stays. */
    assert_string_equal(cn, cn0);

    assert_int_equal(node_recovery_load(state, &k0, &r0), ERR_OK);
    assert_int_equal(
        node_regen(state, "ITLRECOVERY", T0 + 400, msg, sizeof(msg)), ERR_OK);
    assert_non_null(strstr(msg, "Regenerated the ITLRecovery certificate "
                                "of pub1: CN=ITLRECOVERY_pub1, serial "));
    assert_non_null(strstr(msg, "\nBack up the new key file now: file get "
                                "tftp ITLRecovery.p12\nRestart the TFTP "
                                "service of this node for its ITL to pick "
                                "up the new certificate (phones are not "
                                "reset by this).\n"));
    assert_int_equal(node_recovery_load(state, &k, &c), ERR_OK);
    assert_int_not_equal(X509_cmp(c, r0), 0);
    assert_int_equal(EVP_PKEY_eq(k, k0), 0);
    EVP_PKEY_free(k);
    X509_free(c);
    char path[1024], pass[65];
    snprintf(path, sizeof(path), "%s/keys/ITLRecovery.p12.prev", state);
    assert_int_equal(kdf_p12_password(CLUSTER, pass), ERR_OK);
    assert_int_equal(p12_read_file(path, pass, &k, &c), ERR_OK);
    assert_int_equal(X509_cmp(c, r0), 0);
    EVP_PKEY_free(k);
    X509_free(c);
    EVP_PKEY_free(k0);
    X509_free(r0);

    assert_int_equal(node_regen(state, "Foo", T0, msg, sizeof(msg)), ERR_ARG);
    assert_string_equal(msg, "unknown certificate 'Foo'; expected "
                             "CallManager, TVS, CAPF or ITLRecovery");
}

static void
test_regen_subscriber(void **st)
{
    char state[600], msg[1024];

    (void)st;
    s_init(state, sizeof(state), &sub);
    assert_int_equal(node_regen(state, "capf", T0, msg, sizeof(msg)), ERR_ARG);
    assert_string_equal(msg, "sub1 is a subscriber: CAPF exists only on "
                             "the publisher");
    assert_int_equal(node_regen(state, "ITLRecovery", T0, msg, sizeof(msg)),
                     ERR_OK);
    assert_non_null(strstr(msg, "\nThis is a subscriber: only its own "
                                "ITLRecovery.p12 changed; ITL files carry "
                                "the publisher's ITLRecovery certificate."
                                "\n"));
    assert_null(strstr(msg, "file get tftp"));
}

static void
test_regen_damaged_state(void **st)
{
    char state[600], msg[1024], path[1024], want[4096];

    (void)st;
    s_init(state, sizeof(state), &sub);
    snprintf(path, sizeof(path), "%s/regen.state", state);
    assert_int_equal(
        fs_write_durable(path, "name=Bogus\ntime=5\n", 18, 0644, 0), ERR_OK);
    assert_int_equal(node_regen(state, "TVS", T0, msg, sizeof(msg)),
                     ERR_FORMAT);
    snprintf(want, sizeof(want),
             "%s is damaged (expected name=NAME and time=UNIXTIME lines); "
             "fix or remove it",
             path);
    assert_string_equal(msg, want);
    assert_int_equal(
        fs_write_durable(path, "name=TVS\ntime=12x\n", 18, 0644, 0), ERR_OK);
    assert_int_equal(node_regen(state, "TVS", T0, msg, sizeof(msg)),
                     ERR_FORMAT);
}

/* The record's CERTIFICATE is cert's DER, or its CERTHASH is SHA-1 of it. */
static void
s_check_record(const itl_file_t *f, size_t i, int function, X509 *cert,
               int hash_only, const char *dnsname)
{
    const itl_record_t *r = itl_file_record(f, i);
    uint8_t *der = NULL, sha1[20];
    int len = i2d_X509(cert, &der);
    char subject[512];

    assert_non_null(r);
    assert_int_equal(r->function, function);
    assert_non_null(r->dnsname);
    assert_int_equal(r->dnsname->len, strlen(dnsname) + 1);
    assert_memory_equal(r->dnsname->value, dnsname, strlen(dnsname) + 1);
    assert_true(itl_name_format(X509_get_subject_name(cert), subject,
                                sizeof(subject)) > 0);
    assert_memory_equal(r->subject->value, subject, strlen(subject));
    if (hash_only) {
        assert_null(r->cert);
        assert_non_null(r->certhash);
        SHA1(der, (size_t)len, sha1);
        assert_int_equal(r->certhash->len, 20);
        assert_memory_equal(r->certhash->value, sha1, 20);
        assert_int_equal(r->hashalg->value[0], ITL_DIGEST_SHA1);
    } else {
        assert_null(r->certhash);
        assert_non_null(r->cert);
        assert_int_equal(r->cert->len, len);
        assert_memory_equal(r->cert->value, der, (size_t)len);
    }
    OPENSSL_free(der);
}

static void
test_itl_publisher(void **st)
{
    char state[600], md5[33], sha1[41];
    itl_file_t *f = NULL;
    X509 *cm, *tvs, *capf, *rec;
    EVP_PKEY *rk;
    const uint8_t *bytes;
    size_t len;

    (void)st;
    s_init(state, sizeof(state), &pub);
    cm = s_cert(state, "callmanager");
    tvs = s_cert(state, "tvs");
    capf = s_cert(state, "capf");
    assert_int_equal(node_recovery_load(state, &rk, &rec), ERR_OK);

    assert_int_equal(node_build_itl(state, NULL, 0, 1700000000, &f), ERR_OK);
    assert_int_equal(itl_file_record_count(f), 5);
    s_check_record(f, 0, ITL_ROLE_SAST, cm, 0, "pub1");
    s_check_record(f, 1, ITL_ROLE_CCM_TFTP, cm, 0, "pub1");
    s_check_record(f, 2, ITL_ROLE_CAPF, capf, 1, "");
    s_check_record(f, 3, ITL_ROLE_TVS, tvs, 1, "pub1");
    s_check_record(f, 4, ITL_ROLE_SAST, rec, 0, "");
    assert_int_equal(itl_file_signer_index(f), 0);
    assert_int_equal(itl_file_digest(f), ITL_DIGEST_SHA1);
    assert_int_equal(itl_file_timestamp(f), 1700000000);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    assert_int_equal(itl_file_verify(f, X509_get0_pubkey(cm)), ERR_OK);
    assert_int_equal(itl_file_verify(f, rk), ERR_SIGNATURE);
    const itl_elem_t *fn = itl_file_header_find(f, ITL_H_FILENAME);
    assert_non_null(fn);
    assert_memory_equal(fn->value, "ITLFile.tlv", 12);

    /* Same inputs, same bytes: the file is deterministic. */
    bytes = itl_file_bytes(f, &len);
    itl_checksums(bytes, len, md5, sha1);
    itl_file_destroy(&f);
    assert_int_equal(
        node_build_itl(state, NULL, ITL_DIGEST_SHA1, 1700000000, &f), ERR_OK);
    char md5b[33], sha1b[41];
    bytes = itl_file_bytes(f, &len);
    itl_checksums(bytes, len, md5b, sha1b);
    assert_string_equal(sha1, sha1b);
    itl_file_destroy(&f);

    /* SHA-512 on request. */
    assert_int_equal(
        node_build_itl(state, NULL, ITL_DIGEST_SHA512, 1700000000, &f), ERR_OK);
    assert_int_equal(itl_file_digest(f), ITL_DIGEST_SHA512);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    itl_file_destroy(&f);
    assert_int_equal(node_build_itl(state, NULL, 7, 1700000000, &f), ERR_ARG);
    assert_string_equal(err_detail(), "unknown ITL digest 7");
    assert_null(f);

    EVP_PKEY_free(rk);
    X509_free(cm);
    X509_free(tvs);
    X509_free(capf);
    X509_free(rec);
}

static void
test_itl_subscriber(void **st)
{
    char ps[600], ss[600], md5[2][33], sha1[2][41];
    itl_file_t *pf = NULL, *sf = NULL;
    X509 *ptvs, *pcapf, *prec, *scm, *stvs;
    EVP_PKEY *rk;
    const uint8_t *bytes;
    size_t len;

    (void)st;
    s_init(ps, sizeof(ps), &pub);
    s_init(ss, sizeof(ss), &sub);
    ptvs = s_cert(ps, "tvs");
    pcapf = s_cert(ps, "capf");
    assert_int_equal(node_recovery_load(ps, &rk, &prec), ERR_OK);
    scm = s_cert(ss, "callmanager");
    stvs = s_cert(ss, "tvs");

    /* Before the cluster exists: only itself. */
    assert_int_equal(node_build_itl(ss, NULL, 0, 1700000000, &sf), ERR_OK);
    assert_int_equal(itl_file_record_count(sf), 3);
    s_check_record(sf, 0, ITL_ROLE_SAST, scm, 0, "sub1");
    s_check_record(sf, 1, ITL_ROLE_CCM_TFTP, scm, 0, "sub1");
    s_check_record(sf, 2, ITL_ROLE_TVS, stvs, 1, "sub1");
    itl_file_destroy(&sf);

    /* Its own TVS and a repeated one are not listed twice. */
    X509 *tvs_list[] = {ptvs, stvs, ptvs};
    node_certset_t set = {tvs_list, 3, pcapf, prec};
    assert_int_equal(node_build_itl(ss, &set, 0, 1700000000, &sf), ERR_OK);
    assert_int_equal(itl_file_record_count(sf), 6);
    s_check_record(sf, 0, ITL_ROLE_SAST, scm, 0, "sub1");
    s_check_record(sf, 1, ITL_ROLE_CCM_TFTP, scm, 0, "sub1");
    s_check_record(sf, 2, ITL_ROLE_CAPF, pcapf, 1, "");
    s_check_record(sf, 3, ITL_ROLE_TVS, stvs, 1, "sub1");
    s_check_record(sf, 4, ITL_ROLE_TVS, ptvs, 1, "");
    s_check_record(sf, 5, ITL_ROLE_SAST, prec, 0, "");
    assert_int_equal(itl_file_signer_index(sf), 0);
    assert_int_equal(itl_file_verify_self(sf), ERR_OK);
    assert_int_equal(itl_file_verify(sf, X509_get0_pubkey(scm)), ERR_OK);

    /* The publisher's ITL with the subscriber's TVS: other checksums. */
    X509 *sub_list[] = {stvs};
    node_certset_t pset = {sub_list, 1, NULL, NULL};
    assert_int_equal(node_build_itl(ps, &pset, 0, 1700000000, &pf), ERR_OK);
    assert_int_equal(itl_file_record_count(pf), 6);
    s_check_record(pf, 4, ITL_ROLE_TVS, stvs, 1, "");
    s_check_record(pf, 5, ITL_ROLE_SAST, prec, 0, "");
    bytes = itl_file_bytes(pf, &len);
    itl_checksums(bytes, len, md5[0], sha1[0]);
    bytes = itl_file_bytes(sf, &len);
    itl_checksums(bytes, len, md5[1], sha1[1]);
    assert_string_not_equal(md5[0], md5[1]);
    assert_string_not_equal(sha1[0], sha1[1]);

    itl_file_destroy(&pf);
    itl_file_destroy(&sf);
    EVP_PKEY_free(rk);
    X509_free(ptvs);
    X509_free(pcapf);
    X509_free(prec);
    X509_free(scm);
    X509_free(stvs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_publisher_layout),
        cmocka_unit_test(test_init_refuses_keys_without_info),
        cmocka_unit_test(test_private_files_refused),
        cmocka_unit_test(test_p12_pass_damaged),
        cmocka_unit_test(test_init_subscriber),
        cmocka_unit_test(test_init_bad_params),
        cmocka_unit_test(test_hold_timer),
        cmocka_unit_test(test_regen_messages),
        cmocka_unit_test(test_regen_subscriber),
        cmocka_unit_test(test_regen_damaged_state),
        cmocka_unit_test(test_itl_publisher),
        cmocka_unit_test(test_itl_subscriber),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}

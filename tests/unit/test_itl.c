/*
 * Unit tests of the ITL codec: the real sample files, the length oracles of
 * ITL-FORMAT.md, files built and re-signed with generated certificates, and
 * the malformed-input cases of tests/data/itl-malformed/index.
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

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "fsutil.h"
#include "itl.h"

/* ---- helpers ---- */

static char *
s_path(const char *env, const char *rel)
{
    const char *base = getenv(env);
    char *p;

    assert_non_null(base);
    p = malloc(strlen(base) + strlen(rel) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", base, rel);
    return p;
}

static uint8_t *
s_read(const char *env, const char *rel, size_t *len)
{
    char *path = s_path(env, rel);
    uint8_t *buf = NULL;

    assert_int_equal(fs_read_file(path, 1 << 20, &buf, len), ERR_OK);
    free(path);
    return buf;
}

static itl_file_t *
s_load_sample(const char *rel)
{
    char *path = s_path("ITL_SAMPLES", rel);
    itl_file_t *f = NULL;

    assert_int_equal(itl_file_load(path, &f), ERR_OK);
    free(path);
    return f;
}

static X509 *
s_load_pem(const char *rel)
{
    char *path = s_path("ITL_SAMPLES", rel);
    FILE *fp = fopen(path, "r");
    X509 *x;

    assert_non_null(fp);
    x = PEM_read_X509(fp, NULL, NULL, NULL);
    assert_non_null(x);
    fclose(fp);
    free(path);
    return x;
}

static void
s_hexstr(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void
s_sha(const EVP_MD *md, const uint8_t *p, size_t n, char *out)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;

    assert_int_equal(EVP_Digest(p, n, d, &dl, md, NULL), 1);
    s_hexstr(d, dl, out);
}

/* Asserts serialize(f) equals the bytes f was parsed from. */
static void
s_assert_roundtrip(const itl_file_t *f)
{
    uint8_t *out = NULL;
    size_t outlen = 0, len = 0;
    const uint8_t *in = itl_file_bytes(f, &len);

    assert_int_equal(itl_file_serialize(f, &out, &outlen), ERR_OK);
    assert_int_equal(outlen, len);
    assert_memory_equal(out, in, len);
    free(out);
}

/*
 * A generated certificate. names: "CN=<cn>;OU=tac;O=cisco;L=rtp;ST=nc;C=US"
 * The serial is 16 bytes (0x61 then i), validity fixed, so the DER size is
 * deterministic; der_target > 0 pads a comment extension until the DER is
 * exactly that long.
 */
typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} s_cred_t;

static X509 *
s_cert_with(EVP_PKEY *key, const char *cn, uint8_t sn, size_t pad)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn;
    static const char *keys[] = {"C", "ST", "L", "O", "OU", "CN"};
    const char *vals[] = {"US", "nc", "rtp", "cisco", "tac", cn};

    for (int i = 0; i < 16; i++)
        serial[i] = (uint8_t)(0x61 + i * 7 + sn);
    serial[0] = 0x61;
    bn = BN_bin2bn(serial, 16, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    for (int i = 0; i < 6; i++)
        X509_NAME_add_entry_by_txt(name, keys[i], MBSTRING_ASC,
                                   (const unsigned char *)vals[i], -1, -1, 0);
    X509_set_version(x, 2);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    ASN1_TIME_set(X509_getm_notBefore(x), 1400000000);
    ASN1_TIME_set(X509_getm_notAfter(x), 1900000000);
    X509_set_pubkey(x, key);
    if (pad > 0) {
        char *txt = malloc(pad + 1);
        memset(txt, 'x', pad);
        txt[pad] = '\0';
        X509_EXTENSION *ext =
            X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, txt);
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        free(txt);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return x;
}

static s_cred_t
s_cred(const char *cn, int bits, uint8_t sn, int der_target)
{
    s_cred_t c;
    size_t pad = 0;

    c.key = EVP_RSA_gen((unsigned)bits);
    assert_non_null(c.key);
    c.cert = s_cert_with(c.key, cn, sn, 0);
    if (der_target <= 0)
        return c;
    /* The extension adds some framing around the text; home in on it. */
    for (int tries = 0; tries < 8; tries++) {
        int len = i2d_X509(c.cert, NULL);
        if (len == der_target)
            return c;
        pad = pad == 0 ? (size_t)(der_target - len - 20)
                       : pad + (size_t)(der_target - len);
        X509_free(c.cert);
        c.cert = s_cert_with(c.key, cn, sn, pad);
    }
    assert_int_equal(i2d_X509(c.cert, NULL), der_target);
    return c;
}

static void
s_cred_free(s_cred_t *c)
{
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
}

/* Names of 57 and 66 bytes (NUL included) in the files' form. */
#define CN57 "test10pub.joemar2.lab"
#define CN66 "ITLRECOVERY_test10pub.lab.abcd"
#define CN49 "CAPF-75638ad9"

/* ---- the real CTL sample ---- */

static const size_t scf_offsets[6] = {0x138, 0x5b3,  0xa2e,
                                      0xec1, 0x12fe, 0x1787};
static const size_t scf_lengths[6] = {1147, 1147, 1171, 1085, 1161, 1143};
static const int scf_functions[6] = {0, 2, 2, 4, 0, 2};

static void
test_scf_parse(void **state)
{
    itl_file_t *f = s_load_sample("itl/SCFFile.tlv");
    size_t len;
    const uint8_t *b = itl_file_bytes(f, &len);
    char sha[129];

    (void)state;
    assert_int_equal(len, 7166);
    s_sha(EVP_sha256(), b, len, sha);
    assert_string_equal(
        sha,
        "1e8d2ea5b034b1f1367b0d50f8a16cf70964c21ef06872308a42606cc2450813");
    assert_int_equal(itl_file_version(f), 0x0102);
    assert_int_equal(itl_file_header_length(f), 312);
    assert_int_equal(itl_file_digest(f), ITL_DIGEST_SHA1);
    assert_int_equal(itl_file_timestamp(f), 0x554AD7B7);
    assert_null(itl_file_warning(f));
    /* 14 elements and one padding byte. */
    assert_int_equal(itl_file_header_count(f), 15);
    assert_int_equal(itl_file_header_elem(f, 14)->tag, ITL_H_PADDING);
    assert_int_equal(itl_file_header_elem(f, 14)->offset, 0x137);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNERID)->len, 127);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNERID)->offset, 0x0a);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNATUREINFO)->len, 15);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNATURE)->len, 128);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNATURE)->offset, 0x9e);
    assert_string_equal(
        (const char *)itl_file_header_find(f, ITL_H_FILENAME)->value,
        "CTLFile.tlv");

    assert_int_equal(itl_file_record_count(f), 6);
    for (size_t i = 0; i < 6; i++) {
        const itl_record_t *r = itl_file_record(f, i);
        assert_int_equal(r->offset, scf_offsets[i]);
        assert_int_equal(r->length, scf_lengths[i]);
        assert_int_equal(r->function, scf_functions[i]);
        assert_int_equal(r->nelems, 10);
        assert_non_null(r->cert);
        assert_int_equal(r->pubkey->len, 140);
        assert_int_equal(r->sig->len, 128);
        assert_null(r->certhash);
    }
    assert_null(itl_file_record(f, 6));
    assert_string_equal((const char *)itl_file_record(f, 4)->subject->value,
                        "CN=ITLRECOVERY_gigantic-6.cisco.com;OU=CTG;O=Alpha;"
                        "L=SJ;ST=CA;C=US");
    s_sha(EVP_sha1(), itl_file_record(f, 0)->cert->value,
          itl_file_record(f, 0)->cert->len, sha);
    assert_string_equal(sha, "bd3aafc7f3e21627b52b5bdd7fb4d07c5824a768");
    s_assert_roundtrip(f);
    itl_file_destroy(&f);
    assert_null(f);
}

static void
test_scf_verify(void **state)
{
    itl_file_t *f = s_load_sample("itl/SCFFile.tlv");
    X509 *x = NULL;

    (void)state;
    assert_int_equal(itl_file_signer_index(f), 0);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    /* The recovery record's key did not sign it. */
    assert_int_equal(itl_record_x509(itl_file_record(f, 4), &x), ERR_OK);
    assert_int_equal(itl_file_verify(f, X509_get0_pubkey(x)), ERR_SIGNATURE);
    assert_string_equal(err_detail(),
                        "the 128-byte SHA-1 signature at offset 158 does "
                        "not verify with the key");
    X509_free(x);
    itl_file_destroy(&f);
}

/* The names of the sample's certificates print as the records say. */
static void
test_scf_name_format(void **state)
{
    itl_file_t *f = s_load_sample("itl/SCFFile.tlv");
    char buf[256];

    (void)state;
    for (size_t i = 0; i < itl_file_record_count(f); i++) {
        const itl_record_t *r = itl_file_record(f, i);
        X509 *x = NULL;
        int n;

        assert_int_equal(itl_record_x509(r, &x), ERR_OK);
        n = itl_name_format(X509_get_subject_name(x), buf, sizeof(buf));
        assert_int_equal(n + 1, r->subject->len);
        assert_string_equal(buf, (const char *)r->subject->value);
        n = itl_name_format(X509_get_issuer_name(x), buf, sizeof(buf));
        assert_string_equal(buf, (const char *)r->issuer->value);
        assert_int_equal(itl_name_format(X509_get_subject_name(x), buf, 10),
                         -1);
        X509_free(x);
    }
    itl_file_destroy(&f);
}

static void
test_scf_checksums(void **state)
{
    itl_file_t *f = s_load_sample("itl/SCFFile.tlv");
    size_t len;
    const uint8_t *b = itl_file_bytes(f, &len);
    char md5[33], sha1[41];

    (void)state;
    itl_checksums(b, len, md5, sha1);
    assert_string_equal(md5, "0c43d702a9bc273d1ba7e9512877ab6a");
    assert_string_equal(sha1, "7bc2b30ebc2c52dcb6af9389af7a32e4a65be824");
    itl_file_destroy(&f);
}

/* Truncating the real file anywhere gives an error naming an offset. */
static void
test_scf_truncated(void **state)
{
    size_t len;
    uint8_t *buf = s_read("ITL_SAMPLES", "itl/SCFFile.tlv", &len);
    itl_file_t *f = NULL;

    (void)state;
    assert_int_equal(itl_file_parse(buf, 7000, &f), ERR_FORMAT);
    assert_null(f);
    assert_string_equal(err_detail(),
                        "offset 6023: RECORDLENGTH 1143 runs past the end "
                        "of the file at 7000 (truncated file)");
    for (size_t cut = 1; cut < len; cut += 37) {
        assert_int_equal(itl_file_parse(buf, cut, &f), ERR_FORMAT);
        assert_non_null(strstr(err_detail(), "offset "));
    }
    free(buf);
}

/* ---- the peer-built SHA-512 file ---- */

static void
test_peer_sha512(void **state)
{
    itl_file_t *f = s_load_sample("itl/peer-built/ITLFile-sha512.tlv");
    X509 *sast = s_load_pem("itl/peer-built/sast.crt");
    X509 *rec = s_load_pem("itl/peer-built/rec.crt");
    const itl_elem_t *sv = itl_file_header_elem(f, 2);

    (void)state;
    assert_int_equal(itl_file_header_length(f), 448);
    assert_int_equal(itl_file_digest(f), ITL_DIGEST_SHA512);
    assert_int_equal(sv->tag, ITL_H_SIGNERVERSION);
    assert_int_equal(sv->value[0], 1);
    assert_int_equal(sv->value[1], 0);
    assert_int_equal(itl_file_record_count(f), 6);
    assert_int_equal(itl_file_record(f, 2)->function, ITL_ROLE_TFTP);
    assert_int_equal(itl_file_record(f, 4)->function, ITL_ROLE_TVS);
    assert_int_equal(itl_file_record(f, 0)->pubkey->len, 270);
    assert_null(itl_file_record(f, 0)->dnsname);
    /* Tag order 1, 3, 5, 6, 4: FUNCTION is the fifth element. */
    assert_int_equal(itl_file_record(f, 0)->elems[4].tag, ITL_R_FUNCTION);
    assert_null(itl_file_warning(f));
    assert_int_equal(itl_file_signer_index(f), 0);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    assert_int_equal(itl_file_verify(f, X509_get0_pubkey(sast)), ERR_OK);
    assert_int_equal(itl_file_verify(f, X509_get0_pubkey(rec)), ERR_SIGNATURE);
    s_assert_roundtrip(f);
    X509_free(sast);
    X509_free(rec);
    itl_file_destroy(&f);
}

/* ---- the hex sample, container lengths zeroed ---- */

static void
test_hex_sample(void **state)
{
    size_t tlen, n = 0;
    uint8_t *text = s_read("ITL_SAMPLES", "itl/hex.tlv.txt", &tlen);
    uint8_t *bin = malloc(tlen / 2 + 1);
    itl_file_t *f = NULL;
    int hi = -1;

    (void)state;
    for (size_t i = 0; i < tlen; i++) {
        int c = tolower(text[i]), v;
        if (isdigit(c))
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            bin[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(n, 7166);
    assert_int_equal(itl_file_parse(bin, n, &f), ERR_OK);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNERID)->len, 0);
    assert_int_equal(itl_file_record_count(f), 6);
    assert_string_equal(itl_file_warning(f),
                        "offset 10: SIGNERID length 0 disagrees with the "
                        "127 bytes of elements it holds");
    assert_int_equal(itl_file_signer_index(f), 0);
    assert_int_equal(itl_file_verify_self(f), ERR_SIGNATURE);
    s_assert_roundtrip(f);
    itl_file_destroy(&f);
    free(bin);
    free(text);
}

/* ---- re-signing ---- */

static void
s_check_resign(const char *cn, size_t hlen, unsigned signerid)
{
    itl_file_t *f = s_load_sample("itl/SCFFile.tlv"), *g = NULL;
    s_cred_t c = s_cred(cn, 1024, 1, 0);
    size_t flen, glen;
    const uint8_t *fb = itl_file_bytes(f, &flen);
    const uint8_t *gb;
    const itl_elem_t *e;

    assert_int_equal(
        itl_file_resign(f, c.key, c.cert, ITL_DIGEST_SHA1, 1700000000u, &g),
        ERR_OK);
    gb = itl_file_bytes(g, &glen);
    assert_int_equal(itl_file_header_length(g), hlen);
    assert_int_equal(glen, hlen + (7166 - 312));
    assert_int_equal(hlen % 4, 0);
    assert_memory_equal(gb + hlen, fb + 312, 7166 - 312);
    assert_int_equal(itl_file_header_find(g, ITL_H_SIGNERID)->len, signerid);
    assert_int_equal(itl_file_header_find(g, ITL_H_SERIALNUMBER)->len, 16);
    e = itl_file_header_find(g, ITL_H_SIGNATURE);
    assert_int_equal(e->len, 128);
    e = itl_file_header_find(g, ITL_H_SIGNATUREMODULUS);
    assert_int_equal(e->value[0], 1);
    assert_string_equal(
        (const char *)itl_file_header_find(g, ITL_H_FILENAME)->value,
        "CTLFile.tlv");
    assert_int_equal(itl_file_timestamp(g), 1700000000u);
    assert_null(itl_file_warning(g));
    assert_int_equal(itl_file_verify(g, c.key), ERR_OK);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    /* Not signed by any record of its own, and not by the old signer. */
    assert_int_equal(itl_file_signer_index(g), -1);
    assert_int_equal(itl_file_verify_self(g), ERR_NOTFOUND);
    assert_int_equal(itl_file_record_count(g), 6);
    s_assert_roundtrip(g);
    itl_file_destroy(&g);
    itl_file_destroy(&f);
    s_cred_free(&c);
}

/* ITL-FORMAT.md: 57-byte names give a 324-byte header, SIGNERID 139. */
static void
test_resign_oracle_324(void **state)
{
    (void)state;
    s_check_resign(CN57, 324, 139);
}

/* ... and 66-byte names 344 bytes, SIGNERID 157. */
static void
test_resign_oracle_344(void **state)
{
    (void)state;
    s_check_resign(CN66, 344, 157);
}

static void
test_resign_peer_keeps_signerversion(void **state)
{
    itl_file_t *f = s_load_sample("itl/peer-built/ITLFile-sha512.tlv");
    itl_file_t *g = NULL;
    s_cred_t c = s_cred(CN57, 2048, 2, 0);
    size_t flen, glen;
    const uint8_t *fb = itl_file_bytes(f, &flen);
    const uint8_t *gb;

    (void)state;
    assert_int_equal(
        itl_file_resign(f, c.key, c.cert, ITL_DIGEST_SHA256, 7, &g), ERR_OK);
    gb = itl_file_bytes(g, &glen);
    assert_int_equal(itl_file_header_elem(g, 2)->tag, ITL_H_SIGNERVERSION);
    assert_int_equal(itl_file_digest(g), ITL_DIGEST_SHA256);
    assert_int_equal(itl_file_header_find(g, ITL_H_SIGNATURE)->len, 256);
    assert_int_equal(itl_file_header_find(g, ITL_H_SIGNATUREMODULUS)->value[0],
                     2);
    assert_int_equal(glen - itl_file_header_length(g), flen - 448);
    assert_memory_equal(gb + itl_file_header_length(g), fb + 448, flen - 448);
    assert_int_equal(itl_file_verify(g, c.key), ERR_OK);
    itl_file_destroy(&g);

    /* A key that is not the certificate's is refused. */
    s_cred_t other = s_cred(CN49, 1024, 3, 0);
    assert_int_equal(
        itl_file_resign(f, other.key, c.cert, ITL_DIGEST_SHA1, 7, &g), ERR_ARG);
    assert_null(g);
    assert_string_equal(err_detail(), "the key does not match the certificate");
    s_cred_free(&other);
    s_cred_free(&c);
    itl_file_destroy(&f);
}

/* ---- building: the seed's six-record ITL, length for length ---- */

static void
s_assert_elem_lens(const itl_record_t *r, const unsigned *lens, size_t n)
{
    assert_int_equal(r->nelems, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->elems[i].tag, i + 1 + (i >= 8 && n == 10));
        assert_int_equal(r->elems[i].len, lens[i]);
    }
}

static void
test_build_seed_oracle(void **state)
{
    s_cred_t pub = s_cred(CN57, 1024, 1, 684);
    s_cred_t capf = s_cred(CN49, 1024, 2, 0);
    s_cred_t tvs = s_cred(CN57, 1024, 3, 0);
    s_cred_t rec = s_cred(CN66, 1024, 4, 692);
    s_cred_t sub = s_cred(CN57, 2048, 5, 0);
    itl_entry_t ents[6] = {
        {pub.cert, ITL_ROLE_SAST, 0, "a", 0},
        {pub.cert, ITL_ROLE_CCM_TFTP, 0, "a", 0},
        {capf.cert, ITL_ROLE_CAPF, 1, "a", 0},
        {tvs.cert, ITL_ROLE_TVS, 1, "a", 0},
        {rec.cert, ITL_ROLE_SAST, 0, "a", 0},
        {sub.cert, ITL_ROLE_TVS, 1, "a", 0},
    };
    static const size_t lens[6] = {1115, 1115, 439, 455, 1141, 713};
    static const unsigned cert1115[9] = {2, 2, 57, 2, 57, 16, 140, 128, 684};
    itl_file_t *f = NULL, *g = NULL;
    size_t flen, glen;
    const uint8_t *fb, *gb;
    const itl_record_t *r;
    uint8_t der_sha1[20];
    unsigned char *der = NULL;
    int derlen;

    (void)state;
    assert_int_equal(itl_file_build(ents, 6, pub.key, pub.cert, ITL_DIGEST_SHA1,
                                    "ITLFile.tlv", 1393438467u, &f),
                     ERR_OK);
    fb = itl_file_bytes(f, &flen);
    assert_int_equal(itl_file_header_length(f), 324);
    assert_int_equal(itl_file_header_find(f, ITL_H_SIGNERID)->len, 139);
    assert_int_equal(flen, 5302);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(itl_file_record(f, i)->length, lens[i]);
    s_assert_elem_lens(itl_file_record(f, 0), cert1115, 9);

    /* Hash-only: SHA-1 of the DER certificate, HASH ALGORITHM 1. */
    r = itl_file_record(f, 2);
    assert_null(r->cert);
    assert_int_equal(r->certhash->len, 20);
    assert_int_equal(r->hashalg->len, 1);
    assert_int_equal(r->hashalg->value[0], ITL_DIGEST_SHA1);
    assert_int_equal(r->elems[r->nelems - 1].tag, ITL_R_HASHALGORITHM);
    derlen = i2d_X509(capf.cert, &der);
    EVP_Digest(der, (size_t)derlen, der_sha1, NULL, EVP_sha1(), NULL);
    OPENSSL_free(der);
    assert_memory_equal(r->certhash->value, der_sha1, 20);
    assert_int_equal(itl_file_record(f, 5)->pubkey->len, 270);
    assert_int_equal(itl_file_record(f, 5)->sig->len, 256);

    assert_int_equal(itl_file_signer_index(f), 0);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    s_assert_roundtrip(f);

    /* The recovery re-sign of the seed: header 344, file 5322. */
    assert_int_equal(
        itl_file_resign(f, rec.key, rec.cert, ITL_DIGEST_SHA1, 1393439086u, &g),
        ERR_OK);
    gb = itl_file_bytes(g, &glen);
    assert_int_equal(itl_file_header_length(g), 344);
    assert_int_equal(itl_file_header_find(g, ITL_H_SIGNERID)->len, 157);
    assert_int_equal(glen, 5322);
    assert_memory_equal(gb + 344, fb + 324, 5302 - 324);
    assert_int_equal(itl_file_signer_index(g), 4);
    assert_int_equal(itl_file_verify_self(g), ERR_OK);
    assert_int_equal(itl_file_verify(g, pub.key), ERR_SIGNATURE);

    itl_file_destroy(&g);
    itl_file_destroy(&f);
    s_cred_free(&pub);
    s_cred_free(&capf);
    s_cred_free(&tvs);
    s_cred_free(&rec);
    s_cred_free(&sub);
}

static void
test_build_options(void **state)
{
    s_cred_t a = s_cred("node.example", 1024, 9, 0);
    itl_entry_t ent = {a.cert, ITL_ROLE_SAST, 0, NULL, 0x7f000001u};
    itl_file_t *f = NULL;
    const itl_record_t *r;

    (void)state;
    assert_int_equal(itl_file_build(&ent, 1, a.key, a.cert, ITL_DIGEST_SHA512,
                                    "CTLFile.tlv", 1, &f),
                     ERR_OK);
    r = itl_file_record(f, 0);
    assert_int_equal(r->dnsname->len, 1);
    assert_int_equal(r->dnsname->value[0], 0);
    assert_int_equal(r->ipaddr->len, 4);
    assert_memory_equal(r->ipaddr->value, "\x7f\x00\x00\x01", 4);
    assert_int_equal(r->elems[r->nelems - 1].tag, ITL_R_IPADDRESS);
    assert_int_equal(itl_file_digest(f), ITL_DIGEST_SHA512);
    assert_int_equal(itl_file_verify_self(f), ERR_OK);
    itl_file_destroy(&f);

    assert_int_equal(itl_file_build(&ent, 0, a.key, a.cert, ITL_DIGEST_SHA1,
                                    "ITLFile.tlv", 1, &f),
                     ERR_ARG);
    assert_int_equal(
        itl_file_build(&ent, 1, a.key, a.cert, 9, "ITLFile.tlv", 1, &f),
        ERR_ARG);
    s_cred_free(&a);
}

/* More certificates than 64 KiB holds are refused. */
static void
test_build_too_big(void **state)
{
    s_cred_t a = s_cred("big.example", 1024, 9, 1500);
    itl_entry_t ents[60];
    itl_file_t *f = NULL;

    (void)state;
    for (size_t i = 0; i < 60; i++)
        ents[i] = (itl_entry_t){a.cert, ITL_ROLE_CCM, 0, "x", 0};
    assert_int_equal(itl_file_build(ents, 60, a.key, a.cert, ITL_DIGEST_SHA1,
                                    "ITLFile.tlv", 1, &f),
                     ERR_TOOBIG);
    assert_null(f);
    s_cred_free(&a);
}

/* ---- malformed and hand-made inputs, from the data index ---- */

static int
s_code(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } codes[] = {{"ERR_OK", ERR_OK},
                 {"ERR_FORMAT", ERR_FORMAT},
                 {"ERR_TOOBIG", ERR_TOOBIG}};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(codes[i].name, name) == 0)
            return codes[i].code;
    }
    fail_msg("unknown code %s in the index", name);
    return 1;
}

static void
test_malformed_index(void **state)
{
    char *path = s_path("ITL_TESTDATA", "itl-malformed/index");
    FILE *fp = fopen(path, "r");
    char line[512];
    int cases = 0;

    (void)state;
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *name, *code, *detail, rel[256];
        itl_file_t *f = NULL;
        uint8_t *buf;
        size_t len;
        int rc;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        name = strtok(line, "\t");
        code = strtok(NULL, "\t");
        detail = strtok(NULL, "\t");
        assert_non_null(detail);
        snprintf(rel, sizeof(rel), "itl-malformed/%s", name);
        buf = s_read("ITL_TESTDATA", rel, &len);
        err_clear();
        rc = itl_file_parse(buf, len, &f);
        if (rc != s_code(code) ||
            (rc != ERR_OK && strcmp(err_detail(), detail) != 0))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", name, err_str(rc),
                     err_detail(), code, detail);
        if (rc == ERR_OK) {
            assert_non_null(f);
            s_assert_roundtrip(f);
        } else {
            assert_null(f);
        }
        itl_file_destroy(&f);
        free(buf);
        cases++;
    }
    assert_true(cases >= 20);
    fclose(fp);
    free(path);
}

/* The hand-made valid file with an unknown tag and tags out of order. */
static void
test_unknown_tag_kept(void **state)
{
    size_t len;
    uint8_t *buf =
        s_read("ITL_TESTDATA", "itl-malformed/unknown-tag.tlv", &len);
    itl_file_t *f = NULL;
    const itl_record_t *r;

    (void)state;
    assert_int_equal(itl_file_parse(buf, len, &f), ERR_OK);
    r = itl_file_record(f, 0);
    assert_int_equal(r->length, 23);
    assert_int_equal(r->nelems, 4);
    assert_int_equal(r->elems[2].tag, 0x40);
    assert_int_equal(r->elems[2].offset, 24);
    assert_memory_equal(r->elems[2].value, "\xaa\xbb\xcc", 3);
    assert_int_equal(r->function, ITL_ROLE_SAST);
    assert_ptr_equal(r->ipaddr, &r->elems[1]);
    assert_null(r->subject);
    assert_int_equal(itl_file_verify_self(f), ERR_NOTFOUND);
    assert_int_equal(itl_file_verify(f, NULL), ERR_FORMAT);
    assert_string_equal(err_detail(), "unknown DIGESTALGORITHM -1");
    itl_file_destroy(&f);
    free(buf);
}

static void
test_limits_and_load(void **state)
{
    uint8_t *big = calloc(1, ITL_MAX_FILE + 1);
    itl_file_t *f = NULL;
    char *path = s_path("ITL_TESTDATA", "itl-malformed/no-records.tlv");

    (void)state;
    assert_int_equal(itl_file_parse(big, 0, &f), ERR_FORMAT);
    assert_string_equal(err_detail(), "offset 0: empty file");
    assert_int_equal(itl_file_parse(big, ITL_MAX_FILE + 1, &f), ERR_TOOBIG);
    /* Exactly 64 KiB is not refused for its size. */
    assert_int_equal(itl_file_parse(big, ITL_MAX_FILE, &f), ERR_FORMAT);
    assert_non_null(strstr(err_detail(), "offset 0: expected VERSION"));
    free(big);

    assert_int_equal(itl_file_load(path, &f), ERR_FORMAT);
    assert_non_null(strstr(err_detail(), "no-records.tlv: offset 12: "));
    free(path);
    assert_int_equal(itl_file_load("/nonexistent/x.tlv", &f), ERR_NOTFOUND);
    itl_file_destroy(&f);
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(itl_role_name(0),
                        "System Administrator Security Token");
    assert_string_equal(itl_role_name(2), "CCM+TFTP");
    assert_string_equal(itl_role_name(21), "TVS");
    assert_string_equal(itl_role_name(99), "UNKNOWN");
    assert_string_equal(itl_htag_name(3), "SIGNERID");
    assert_string_equal(itl_htag_name(28), "SIGNERVERSION");
    assert_string_equal(itl_htag_name(0), "UNKNOWN");
    assert_string_equal(itl_rtag_name(12), "HASH ALGORITHM");
    assert_string_equal(itl_rtag_name(13), "UNKNOWN");
    assert_int_equal(itl_digest_parse("sha256"), ITL_DIGEST_SHA256);
    assert_int_equal(itl_digest_parse("md5"), -1);
    assert_string_equal(itl_digest_name(3), "SHA-512");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scf_parse),
        cmocka_unit_test(test_scf_verify),
        cmocka_unit_test(test_scf_name_format),
        cmocka_unit_test(test_scf_checksums),
        cmocka_unit_test(test_scf_truncated),
        cmocka_unit_test(test_peer_sha512),
        cmocka_unit_test(test_hex_sample),
        cmocka_unit_test(test_resign_oracle_324),
        cmocka_unit_test(test_resign_oracle_344),
        cmocka_unit_test(test_resign_peer_keeps_signerversion),
        cmocka_unit_test(test_build_seed_oracle),
        cmocka_unit_test(test_build_options),
        cmocka_unit_test(test_build_too_big),
        cmocka_unit_test(test_malformed_index),
        cmocka_unit_test(test_unknown_tag_kept),
        cmocka_unit_test(test_limits_and_load),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * bench_codec: how fast the ITL codec parses + verifies, and strips +
 * re-signs, realistic files (6 and 39 records, RSA-2048), beside the raw
 * RSA-2048 operations it cannot avoid, measured in the same process.
 *
 *   bench_codec [SECONDS] [JSON]
 *
 * Prints one line per figure and writes them as JSON to JSON when given.
 * A benchmark: it prints figures, it asserts nothing about them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "itl.h"

#define NKEYS 4

typedef struct {
    const char *what;
    size_t records;
    size_t bytes;
    double parse_verify; /* per second */
    double resign;       /* per second */
    double sha1;         /* SHA-1 of the whole file, per second */
} s_result_t;

#define NROUNDS 5

static double
s_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *
s_rsa(int bits)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);

    if (k == NULL) {
        fprintf(stderr, "bench_codec: cannot make an RSA key\n");
        exit(1);
    }
    return k;
}

/* A self-signed certificate with a realistic CUCM subject. */
static X509 *
s_cert(EVP_PKEY *key, const char *cn, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n;

    if (x == NULL)
        exit(1);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 5L * 365 * 86400);
    X509_set_pubkey(x, key);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const uint8_t *)"PT", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(n, "ST", MBSTRING_ASC, (const uint8_t *)"Lisboa",
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "L", MBSTRING_ASC, (const uint8_t *)"Lisbon",
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const uint8_t *)"Lab", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const uint8_t *)"Voice",
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const uint8_t *)cn, -1,
                               -1, 0);
    X509_set_issuer_name(x, n);
    if (X509_sign(x, key, EVP_sha256()) == 0) {
        fprintf(stderr, "bench_codec: cannot sign a certificate\n");
        exit(1);
    }
    return x;
}

/*
 * A file shaped like a cluster's ITL: the signer's SAST and CCM+TFTP
 * records, CAPF, TVS records (hash only, as our nodes write them) and the
 * ITLRecovery SAST record, nrecords in all.
 */
static itl_file_t *
s_make_itl(EVP_PKEY *keys[NKEYS], X509 **certs, size_t nrecords)
{
    itl_entry_t *e = calloc(nrecords, sizeof(*e));
    itl_file_t *f = NULL;
    size_t i = 0;

    if (e == NULL)
        exit(1);
    e[i++] = (itl_entry_t){certs[0], ITL_ROLE_SAST, 0, "pub", 0x7f000001};
    e[i++] = (itl_entry_t){certs[0], ITL_ROLE_CCM_TFTP, 0, "pub", 0x7f000001};
    e[i++] = (itl_entry_t){certs[1], ITL_ROLE_CAPF, 1, NULL, 0};
    while (i < nrecords - 1) {
        e[i] = (itl_entry_t){certs[i], ITL_ROLE_TVS, 1, NULL, 0};
        i++;
    }
    e[i++] = (itl_entry_t){certs[2], ITL_ROLE_SAST, 0, NULL, 0};
    if (itl_file_build(e, nrecords, keys[0], certs[0], ITL_DIGEST_SHA1,
                       "ITLFile.tlv", 1700000000u, &f) != ERR_OK) {
        fprintf(stderr, "bench_codec: cannot build: %s\n", err_detail());
        exit(1);
    }
    free(e);
    return f;
}

static void
s_bench(const char *what, EVP_PKEY *keys[NKEYS], X509 **certs, size_t nrecords,
        double seconds, s_result_t *r)
{
    itl_file_t *f = s_make_itl(keys, certs, nrecords), *g, *out;
    const uint8_t *buf;
    size_t len, n = 0;
    double t0, t;
    EVP_PKEY *pub = X509_get0_pubkey(certs[0]);

    buf = itl_file_bytes(f, &len);
    r->what = what;
    r->records = itl_file_record_count(f);
    r->bytes = len;
    t0 = s_now();
    do {
        for (int k = 0; k < 16; k++, n++) {
            if (itl_file_parse(buf, len, &g) != ERR_OK ||
                itl_file_verify(g, pub) != ERR_OK) {
                fprintf(stderr, "bench_codec: %s\n", err_detail());
                exit(1);
            }
            itl_file_destroy(&g);
        }
    } while ((t = s_now() - t0) < seconds);
    r->parse_verify = (double)n / t;

    /* The reset's own work: strip the signature, sign with ITLRecovery. */
    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 4; k++, n++) {
            if (itl_file_resign(f, keys[2], certs[2], ITL_DIGEST_SHA1,
                                1700000001u + (uint32_t)n, &out) != ERR_OK) {
                fprintf(stderr, "bench_codec: %s\n", err_detail());
                exit(1);
            }
            itl_file_destroy(&out);
        }
    } while ((t = s_now() - t0) < seconds);
    r->resign = (double)n / t;

    /* The digest the signature covers: the whole file but the signature. */
    n = 0;
    t0 = s_now();
    do {
        unsigned char md[20];
        for (int k = 0; k < 64; k++, n++)
            EVP_Digest(buf, len, md, NULL, EVP_sha1(), NULL);
    } while ((t = s_now() - t0) < seconds / 4);
    r->sha1 = (double)n / t;
    itl_file_destroy(&f);
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
s_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Raw RSA-2048 PKCS#1 v1.5 over a SHA-1 digest, as openssl speed does. */
static void
s_raw(EVP_PKEY *key, double seconds, double *sign_rate, double *verify_rate)
{
    unsigned char md[20] = {1, 2, 3}, sig[512];
    size_t siglen = sizeof(sig), n = 0;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    double t0, t;

    EVP_PKEY_sign_init(c);
    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(c, EVP_sha1());
    t0 = s_now();
    do {
        for (int k = 0; k < 4; k++, n++) {
            siglen = sizeof(sig);
            if (EVP_PKEY_sign(c, sig, &siglen, md, sizeof(md)) <= 0)
                exit(1);
        }
    } while ((t = s_now() - t0) < seconds);
    *sign_rate = (double)n / t;
    EVP_PKEY_verify_init(c);
    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(c, EVP_sha1());
    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 64; k++, n++) {
            if (EVP_PKEY_verify(c, sig, siglen, md, sizeof(md)) != 1)
                exit(1);
        }
    } while ((t = s_now() - t0) < seconds);
    *verify_rate = (double)n / t;
    EVP_PKEY_CTX_free(c);
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    EVP_PKEY *keys[NKEYS];
    X509 *certs[39];
    s_result_t r[2];
    double raw_sign, raw_verify;
    char cn[64];
    FILE *out;

    for (int i = 0; i < NKEYS; i++)
        keys[i] = s_rsa(2048);
    certs[0] = s_cert(keys[0], "pub", 1);
    certs[1] = s_cert(keys[1], "CAPF-1a2b3c4d", 2);
    certs[2] = s_cert(keys[2], "ITLRECOVERY_pub", 3);
    for (int i = 3; i < 39; i++) {
        snprintf(cn, sizeof(cn), "sub%d", i - 2);
        certs[i] = s_cert(keys[3], cn, 100 + i);
    }
    /*
     * Rounds that interleave the raw operations with the codec's, so that
     * a neighbour's load on a shared machine hits both alike; medians.
     */
    double v[6][NROUNDS];
    for (int k = 0; k < NROUNDS; k++) {
        s_raw(keys[0], seconds / NROUNDS, &v[0][k], &v[1][k]);
        s_bench("6 records", keys, certs, 6, seconds / NROUNDS, &r[0]);
        s_bench("39 records", keys, certs, 39, seconds / NROUNDS, &r[1]);
        v[2][k] = r[0].parse_verify;
        v[3][k] = r[0].resign;
        v[4][k] = r[1].parse_verify;
        v[5][k] = r[1].resign;
    }
    raw_sign = s_median(v[0], NROUNDS);
    raw_verify = s_median(v[1], NROUNDS);
    r[0].parse_verify = s_median(v[2], NROUNDS);
    r[0].resign = s_median(v[3], NROUNDS);
    r[1].parse_verify = s_median(v[4], NROUNDS);
    r[1].resign = s_median(v[5], NROUNDS);

    printf("raw RSA-2048 (in process): %.0f sign/s, %.0f verify/s\n", raw_sign,
           raw_verify);
    for (int i = 0; i < 2; i++)
        printf("ITL %-10s (%5zu bytes): parse+verify %7.0f/s (%.0f%% of raw "
               "verify), strip+re-sign %5.0f/s (%.0f%% of raw sign)\n",
               r[i].what, r[i].bytes, r[i].parse_verify,
               100 * r[i].parse_verify / raw_verify, r[i].resign,
               100 * r[i].resign / raw_sign);
    for (int i = 0; i < 2; i++)
        printf("ITL %-10s: floor with the file's SHA-1 (%.0f/s) = %.0f "
               "verify/s; parse+verify at %.0f%% of that floor\n",
               r[i].what, r[i].sha1, 1 / (1 / raw_verify + 1 / r[i].sha1),
               100 * r[i].parse_verify * (1 / raw_verify + 1 / r[i].sha1));
    if (argc > 2) {
        out = fopen(argv[2], "w");
        if (out == NULL) {
            perror(argv[2]);
            return 1;
        }
        fprintf(out,
                "{\"seconds\": %.1f, \"raw_sign_per_s\": %.1f, "
                "\"raw_verify_per_s\": %.1f, \"files\": [",
                seconds, raw_sign, raw_verify);
        for (int i = 0; i < 2; i++)
            fprintf(out,
                    "%s{\"records\": %zu, \"bytes\": %zu, "
                    "\"parse_verify_per_s\": %.1f, \"resign_per_s\": %.1f}",
                    i ? ", " : "", r[i].records, r[i].bytes, r[i].parse_verify,
                    r[i].resign);
        fprintf(out, "]}\n");
        fclose(out);
    }
    for (int i = 0; i < 39; i++)
        X509_free(certs[i]);
    for (int i = 0; i < NKEYS; i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}

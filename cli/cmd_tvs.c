/*
 * itl-admin utils tvs verify: asks a node's TVS about a certificate, as a
 * phone would, and prints the verdict and roles.
 */
#include "commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "err.h"
#include "fsutil.h"
#include "itl.h"
#include "tvs.h"
#include "tvsclient.h"

#define S_CERT_MAX (64 * 1024)

typedef struct {
    char host[256];
    int port;
    const char *cert_path, *device, *trust;
    int json, timeout_ms;
} s_opts_t;

/* Splits HOST[:PORT] or [V6]:PORT; port TVS_PORT when absent. */
static int
s_split(const char *spec, s_opts_t *o)
{
    const char *colon = NULL, *h = spec;
    size_t hlen;
    char *end;
    long port = TVS_PORT;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return err_set(ERR_ARG, "bad --host \"%.100s\"", spec);
        h = spec + 1;
        hlen = (size_t)(close - h);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strchr(spec, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            colon = NULL; /* a bare IPv6 address */
        hlen = colon ? (size_t)(colon - spec) : strlen(spec);
    }
    if (colon != NULL) {
        port = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
            return err_set(ERR_ARG, "bad port in --host \"%.100s\"", spec);
    }
    if (hlen == 0 || hlen >= sizeof(o->host))
        return err_set(ERR_ARG, "bad host in --host \"%.100s\"", spec);
    memcpy(o->host, h, hlen);
    o->host[hlen] = '\0';
    o->port = (int)port;
    return ERR_OK;
}

static int
s_args(int argc, char **argv, s_opts_t *o)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"cert", required_argument, NULL, 'c'},
        {"device", required_argument, NULL, 'd'},
        {"trust", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    int c, have_host = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'H') {
            if (s_split(optarg, o) != ERR_OK)
                return ERR_ARG;
            have_host = 1;
        } else if (c == 'c') {
            o->cert_path = optarg;
        } else if (c == 'd') {
            o->device = optarg;
        } else if (c == 't') {
            o->trust = optarg;
        } else if (c == 'T') {
            o->timeout_ms = atoi(optarg);
        } else if (c == 'j') {
            o->json = 1;
        } else {
            return err_set(ERR_ARG, "unknown option");
        }
    }
    if (!have_host || o->cert_path == NULL || o->device == NULL ||
        optind != argc)
        return err_set(ERR_ARG, "--host, --cert and --device are required");
    return ERR_OK;
}

/* Reads a PEM or DER certificate into *der (caller frees with free). */
static int
s_read_cert(const char *path, uint8_t **der, size_t *len, X509 **x)
{
    uint8_t *buf = NULL, *out = NULL;
    const uint8_t *p;
    size_t n;
    int rc = fs_read_file(path, S_CERT_MAX, &buf, &n), k;

    if (rc != ERR_OK)
        return err_set(rc, "cannot read %s: %s", path, err_detail());
    if (n > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
        BIO *b = BIO_new_mem_buf(buf, (int)n);
        *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        p = buf;
        *x = d2i_X509(NULL, &p, (long)n);
        if (*x != NULL && p != buf + n) {
            X509_free(*x);
            *x = NULL;
        }
    }
    free(buf);
    if (*x == NULL)
        return err_set_ssl(ERR_FORMAT,
                           "%s is not a PEM or DER X.509 "
                           "certificate",
                           path);
    k = i2d_X509(*x, &out);
    if (k <= 0)
        return err_set_ssl(ERR_CRYPTO, "cannot encode %s", path);
    *der = malloc((size_t)k);
    if (*der != NULL)
        memcpy(*der, out, (size_t)k);
    OPENSSL_free(out);
    *len = (size_t)k;
    return *der != NULL ? ERR_OK : ERR_NOMEM;
}

static int
s_pins(const char *trust, tvsclient_pin_t **pins, size_t *n)
{
    itl_file_t *f = NULL;
    int rc = itl_file_load(trust, &f);

    if (rc == ERR_OK)
        rc = tvsclient_pins_from_itl(f, pins, n);
    itl_file_destroy(&f);
    if (rc == ERR_OK && *n == 0)
        rc = err_set(ERR_NOTFOUND,
                     "%s lists no TVS record (function 21), "
                     "so no TVS can be trusted",
                     trust);
    return rc;
}

static void
s_json_str(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void
s_print(const s_opts_t *o, const tvsclient_result_t *r, X509 *x)
{
    char subject[300], roles[200];
    const char *verdict = r->status == TVSPROTO_VALID ? "valid" : "invalid";

    if (itl_name_format(X509_get_subject_name(x), subject, sizeof(subject)) < 0)
        snprintf(subject, sizeof(subject), "(subject too long)");
    tvsproto_roles_text(r->roles, r->nroles, roles, sizeof(roles));
    if (!o->json) {
        printf("TVS %s:%d presented %s (SHA-1 %s), %s\n", o->host, o->port,
               r->server_subject, r->server_sha1,
               o->trust ? "pinned to the TVS records of the ITL"
                        : "NOT pinned (no --trust ITL given)");
        printf("%s for device %s: %s, roles %s, TTL %u s\n", subject, o->device,
               verdict, roles, r->ttl);
        return;
    }
    printf("{\"server\": ");
    s_json_str(o->host);
    printf(", \"port\": %d, \"server_subject\": ", o->port);
    s_json_str(r->server_subject);
    printf(", \"server_sha1\": \"%s\", \"pinned\": %s, \"device\": ",
           r->server_sha1, o->trust ? "true" : "false");
    s_json_str(o->device);
    printf(", \"subject\": ");
    s_json_str(subject);
    printf(", \"status\": \"%s\", \"roles\": [", verdict);
    for (size_t i = 0; i < r->nroles; i++)
        printf("%s%u", i ? ", " : "", r->roles[i]);
    printf("], \"ttl\": %u}\n", r->ttl);
}

int
cmd_tvs_verify(int argc, char **argv)
{
    s_opts_t o = {.port = TVS_PORT};
    tvsclient_pin_t *pins = NULL;
    tvsclient_result_t res;
    uint8_t *der = NULL;
    size_t len = 0, npins = 0;
    X509 *x = NULL;
    int rc, status = CMD_EXIT_ERROR;

    if (s_args(argc, argv, &o) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        return cmd_usage("utils tvs verify");
    }
    if ((rc = s_read_cert(o.cert_path, &der, &len, &x)) != ERR_OK ||
        (o.trust != NULL && (rc = s_pins(o.trust, &pins, &npins)) != ERR_OK))
        goto out;
    tvsclient_cfg_t cfg = {.host = o.host,
                           .port = o.port,
                           .timeout_ms = o.timeout_ms,
                           .pin = o.trust != NULL,
                           .pins = pins,
                           .npins = npins};
    rc = tvsclient_verify(&cfg, o.device, der, len, &res);
    if (rc != ERR_OK)
        goto out;
    s_print(&o, &res, x);
    status = res.status == TVSPROTO_VALID ? CMD_EXIT_OK : CMD_EXIT_NO;
out:
    if (status == CMD_EXIT_ERROR)
        fprintf(stderr, "itl-admin: %s\n", err_detail());
    X509_free(x);
    free(der);
    free(pins);
    return status;
}

#include "tvsclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "prompt.h"
#include "tlsio.h"
#include "tvs.h"

#define S_DEFAULT_TIMEOUT_MS 5000

int
tvsclient_roles_sign(const uint8_t *roles, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (roles[i] == ITL_ROLE_SAST || roles[i] == ITL_ROLE_CCM ||
            roles[i] == ITL_ROLE_CCM_TFTP || roles[i] == ITL_ROLE_TFTP)
            return 1;
    }
    return 0;
}

int
tvsclient_pins_from_itl(const itl_file_t *f, tvsclient_pin_t **pins, size_t *n)
{
    size_t count = itl_file_record_count(f), k = 0;
    tvsclient_pin_t *p;

    *pins = NULL;
    *n = 0;
    p = calloc(count ? count : 1, sizeof(*p));
    if (p == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        const itl_record_t *r = itl_file_record(f, i);
        unsigned int len = 0;

        if (r->function != ITL_ROLE_TVS)
            continue;
        if (r->certhash != NULL && r->certhash->len > 0 &&
            r->certhash->len <= sizeof(p[k].hash)) {
            memcpy(p[k].hash, r->certhash->value, r->certhash->len);
            p[k++].len = r->certhash->len;
        } else if (r->cert != NULL &&
                   EVP_Digest(r->cert->value, r->cert->len, p[k].hash, &len,
                              EVP_sha1(), NULL) == 1) {
            p[k++].len = len;
        }
    }
    if (k == 0) {
        free(p);
        return ERR_OK;
    }
    *pins = p;
    *n = k;
    return ERR_OK;
}

/* Digest of der with the algorithm of a pin of len bytes. */
static int
s_digest(const uint8_t *der, size_t n, size_t len, uint8_t out[64])
{
    const EVP_MD *md = len == 20   ? EVP_sha1()
                       : len == 32 ? EVP_sha256()
                       : len == 64 ? EVP_sha512()
                                   : NULL;
    unsigned int olen = 0;

    return md != NULL && EVP_Digest(der, n, out, &olen, md, NULL) == 1 &&
           olen == len;
}

/* Checks the server certificate x against the pins; fills res. */
static int
s_check_server(const tvsclient_cfg_t *cfg, X509 *x, const char *peer,
               tvsclient_result_t *res)
{
    unsigned char *der = NULL;
    uint8_t sha1[64], h[64];
    int n = i2d_X509(x, &der), ok = 0;

    if (n <= 0)
        return err_set_ssl(ERR_PROTO,
                           "%s: cannot encode the server "
                           "certificate",
                           peer);
    s_digest(der, (size_t)n, 20, sha1);
    for (int i = 0; i < 20; i++)
        snprintf(res->server_sha1 + 2 * i, 3, "%02x", sha1[i]);
    if (itl_name_format(X509_get_subject_name(x), res->server_subject,
                        sizeof(res->server_subject)) < 0)
        snprintf(res->server_subject, sizeof(res->server_subject),
                 "(subject too long)");
    for (size_t i = 0; cfg->pin && !ok && i < cfg->npins; i++)
        ok = s_digest(der, (size_t)n, cfg->pins[i].len, h) &&
             memcmp(h, cfg->pins[i].hash, cfg->pins[i].len) == 0;
    OPENSSL_free(der);
    if (cfg->pin && !ok)
        return err_set(ERR_UNTRUSTED,
                       "TVS %s presented certificate %s (SHA-1 %s), which "
                       "is not one of the %zu allowed TVS certificates",
                       peer, res->server_subject, res->server_sha1, cfg->npins);
    return ERR_OK;
}

/* Sends the request and reads the answer over an established session. */
static int
s_exchange(SSL *ssl, int fd, const char *peer, const char *device,
           const uint8_t *der, size_t len, long long deadline,
           tvsclient_result_t *res)
{
    uint8_t out[TVSPROTO_HEADER + TVSPROTO_MAX_BODY];
    uint8_t in[TVSPROTO_HEADER + TVSPROTO_MAX_BODY];
    tvsproto_request_t req = {.cert = der, .cert_len = len};
    tvsproto_header_t h;
    tvsproto_response_t resp;
    size_t olen;
    int rc;

    snprintf(req.device, sizeof(req.device), "%s", device);
    if (RAND_bytes((unsigned char *)&req.session, sizeof(req.session)) != 1)
        req.session = (uint32_t)getpid();
    if ((rc = tvsproto_request_encode(&req, out, sizeof(out), &olen)) !=
            ERR_OK ||
        (rc = tlsio_write(ssl, fd, out, olen, deadline, NULL, peer)) !=
            ERR_OK ||
        (rc = tlsio_read(ssl, fd, in, TVSPROTO_HEADER, deadline, NULL, peer)) !=
            ERR_OK)
        return rc == ERR_NOTFOUND ? err_set(ERR_NET,
                                            "%s: the TVS closed the connection "
                                            "without answering",
                                            peer)
                                  : rc;
    if (tvsproto_header_decode(in, TVSPROTO_HEADER, &h) != ERR_OK)
        return err_set(ERR_PROTO, "%s: malformed answer: %s", peer,
                       err_detail());
    rc = tlsio_read(ssl, fd, in + TVSPROTO_HEADER, h.body_len, deadline, NULL,
                    peer);
    if (rc != ERR_OK)
        return rc == ERR_NOTFOUND ? ERR_NET : rc;
    if (tvsproto_response_decode(in, TVSPROTO_HEADER + h.body_len, &resp) !=
        ERR_OK)
        return err_set(ERR_PROTO, "%s: malformed answer: %s", peer,
                       err_detail());
    if (resp.session != req.session)
        return err_set(ERR_PROTO,
                       "%s: answer for session %u, asked in "
                       "session %u",
                       peer, resp.session, req.session);
    res->status = resp.status;
    memcpy(res->roles, resp.roles, resp.nroles);
    res->nroles = resp.nroles;
    res->has_ttl = resp.has_ttl;
    res->ttl = resp.ttl;
    return ERR_OK;
}

static int
s_args(const tvsclient_cfg_t *cfg, const char *device, size_t len)
{
    if (cfg->host == NULL || cfg->host[0] == '\0')
        return err_set(ERR_ARG, "no TVS host");
    if (device == NULL || device[0] == '\0' ||
        strlen(device) > TVSPROTO_MAX_DEVICE)
        return err_set(ERR_ARG, "device name must be 1 to %d bytes",
                       TVSPROTO_MAX_DEVICE);
    if (len == 0 || len > TVSPROTO_MAX_BODY - 100)
        return err_set(ERR_ARG, "certificate of %zu bytes: 1 to %d allowed",
                       len, TVSPROTO_MAX_BODY - 100);
    return ERR_OK;
}

int
tvsclient_verify(const tvsclient_cfg_t *cfg, const char *device,
                 const uint8_t *der, size_t len, tvsclient_result_t *res)
{
    int port = cfg->port ? cfg->port : TVS_PORT;
    int tmo = cfg->timeout_ms > 0 ? cfg->timeout_ms : S_DEFAULT_TIMEOUT_MS;
    long long deadline = time_mono_ms() + tmo;
    char peer[300];
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    X509 *x = NULL;
    sigset_t old;
    int fd = -1, rc;

    memset(res, 0, sizeof(*res));
    if ((rc = s_args(cfg, device, len)) != ERR_OK)
        return rc;
    snprintf(peer, sizeof(peer),
             strchr(cfg->host, ':') ? "[%.250s]:%d" : "%.250s:%d", cfg->host,
             port);
    tlsio_sigpipe_block(&old);
    fd = tlsio_connect(cfg->host, port, deadline);
    if (fd < 0) {
        rc = err_last();
        goto out;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx != NULL)
        SSL_CTX_set_security_level(ctx, 1); /* 1024-bit node keys */
    ssl = ctx ? SSL_new(ctx) : NULL;
    if (ssl == NULL ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_set_fd(ssl, fd) != 1) {
        rc = err_set_ssl(ERR_CRYPTO, "%s: cannot set up TLS", peer);
        goto out;
    }
    /* No chain to a CA: the pins of the held ITL are the trust. */
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    rc = tlsio_handshake(ssl, fd, 0, deadline, NULL, peer);
    if (rc != ERR_OK)
        goto out;
    x = SSL_get1_peer_certificate(ssl);
    if (x == NULL) {
        rc = err_set(ERR_PROTO, "%s: the server sent no certificate", peer);
        goto out;
    }
    if ((rc = s_check_server(cfg, x, peer, res)) != ERR_OK ||
        (rc = s_exchange(ssl, fd, peer, device, der, len, deadline, res)) !=
            ERR_OK)
        goto out;
    (void)SSL_shutdown(ssl);
out:
    X509_free(x);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    ERR_clear_error();
    tlsio_sigpipe_restore(&old);
    return rc;
}

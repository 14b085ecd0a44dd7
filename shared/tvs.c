#include "tvs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cluster.pb-c.h"
#include "fsutil.h"
#include "itl.h"
#include "log.h"
#include "node.h"
#include "prompt.h"
#include "tlsio.h"

#define S_CERTSET_FILE "certset.pb"
#define S_CERTSET_MAX  (4 * 1024 * 1024)

/* ---- the certificate set ---------------------------------------------- */

typedef struct {
    uint8_t *der;
    size_t len;
    uint8_t roles[TVSPROTO_MAX_ROLES];
    size_t nroles;
} s_cert_t;

struct tvs_certs {
    s_cert_t *certs;
    size_t n, cap;
};

tvs_certs_t *
tvs_certs_new(void)
{
    return calloc(1, sizeof(tvs_certs_t));
}

void
tvs_certs_destroy(tvs_certs_t **s)
{
    if (s == NULL || *s == NULL)
        return;
    for (size_t i = 0; i < (*s)->n; i++)
        free((*s)->certs[i].der);
    free((*s)->certs);
    free(*s);
    *s = NULL;
}

static s_cert_t *
s_find(const tvs_certs_t *s, const uint8_t *der, size_t len)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->certs[i].len == len && memcmp(s->certs[i].der, der, len) == 0)
            return &s->certs[i];
    }
    return NULL;
}

static void
s_add_role(s_cert_t *c, int role)
{
    for (size_t i = 0; i < c->nroles; i++) {
        if (c->roles[i] == role)
            return;
    }
    if (c->nroles < TVSPROTO_MAX_ROLES)
        c->roles[c->nroles++] = (uint8_t)role;
}

int
tvs_certs_add(tvs_certs_t *s, const uint8_t *der, size_t len, int role)
{
    s_cert_t *c = s_find(s, der, len);

    if (len == 0)
        return err_set(ERR_ARG, "an empty certificate");
    if (c == NULL) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            s_cert_t *p = realloc(s->certs, cap * sizeof(*p));
            if (p == NULL)
                return ERR_NOMEM;
            s->certs = p;
            s->cap = cap;
        }
        c = &s->certs[s->n];
        memset(c, 0, sizeof(*c));
        c->der = malloc(len);
        if (c->der == NULL)
            return ERR_NOMEM;
        memcpy(c->der, der, len);
        c->len = len;
        s->n++;
    }
    s_add_role(c, role);
    return ERR_OK;
}

size_t
tvs_certs_count(const tvs_certs_t *s)
{
    return s->n;
}

static int
s_add_certset(tvs_certs_t *s, const char *state)
{
    char path[512];
    uint8_t *buf = NULL;
    size_t len;
    Itl__CertSet *cs;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", state, S_CERTSET_FILE);
    rc = fs_read_file(path, S_CERTSET_MAX, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return ERR_OK; /* no cluster yet: only the node's own */
    if (rc != ERR_OK)
        return rc;
    cs = itl__cert_set__unpack(NULL, len, buf);
    free(buf);
    if (cs == NULL)
        return err_set(ERR_FORMAT, "%s does not decode as a certificate set",
                       path);
    for (size_t i = 0; rc == ERR_OK && i < cs->n_certs; i++)
        rc = tvs_certs_add(s, cs->certs[i]->der.data, cs->certs[i]->der.len,
                           (int)cs->certs[i]->role);
    if (rc == ERR_OK && cs->recovery_der.len > 0)
        rc = tvs_certs_add(s, cs->recovery_der.data, cs->recovery_der.len,
                           ITL_ROLE_SAST);
    itl__cert_set__free_unpacked(cs, NULL);
    return rc;
}

/* Adds the node's own certificate name with role; absent capf is fine. */
static int
s_add_own(tvs_certs_t *s, const char *state, const char *name, int role)
{
    X509 *x = NULL;
    unsigned char *der = NULL;
    int n, rc;

    rc = node_cert_load(state, name, NULL, &x);
    if (rc == ERR_NOTFOUND && strcmp(name, "capf") == 0)
        return ERR_OK;
    if (rc != ERR_OK)
        return rc;
    n = i2d_X509(x, &der);
    X509_free(x);
    if (n <= 0)
        return err_set_ssl(ERR_CRYPTO, "cannot encode %s/keys/%s.pem", state,
                           name);
    rc = tvs_certs_add(s, der, (size_t)n, role);
    OPENSSL_free(der);
    return rc;
}

int
tvs_certs_load(const char *state, tvs_certs_t **out)
{
    tvs_certs_t *s = tvs_certs_new();
    int rc;

    if (s == NULL)
        return ERR_NOMEM;
    if ((rc = s_add_certset(s, state)) != ERR_OK ||
        (rc = s_add_own(s, state, "callmanager", ITL_ROLE_CCM_TFTP)) !=
            ERR_OK ||
        (rc = s_add_own(s, state, "tvs", ITL_ROLE_TVS)) != ERR_OK ||
        (rc = s_add_own(s, state, "capf", ITL_ROLE_CAPF)) != ERR_OK) {
        tvs_certs_destroy(&s);
        return rc;
    }
    *out = s;
    return ERR_OK;
}

void
tvs_answer(const tvs_certs_t *s, const tvsproto_request_t *req, uint32_t ttl,
           tvsproto_response_t *resp)
{
    const s_cert_t *c = s_find(s, req->cert, req->cert_len);

    memset(resp, 0, sizeof(*resp));
    resp->session = req->session;
    resp->has_ttl = 1;
    resp->ttl = ttl;
    resp->status = c != NULL ? TVSPROTO_VALID : TVSPROTO_INVALID;
    if (c != NULL) {
        memcpy(resp->roles, c->roles, c->nroles);
        resp->nroles = c->nroles;
    }
}

/* ---- the server --------------------------------------------------------- */

struct tvs {
    tvs_params_t p;
    char state[256], address[64];
    int fd, port;
    SSL_CTX *ctx;
    pthread_t thread;
    int started;
    int stop; /* read and written atomically */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t idle;
    int clients;
    tvs_certs_t *certs;
    struct stat seen; /* of certset.pb when certs was loaded */
    int seen_ok;
};

typedef struct {
    tvs_t *t;
    int fd;
    char peer[80];
} s_client_t;

/* Stats certset.pb into st; non-zero when it exists. */
static int
s_stat_set(const tvs_t *t, struct stat *st, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", t->state, S_CERTSET_FILE);
    if (stat(path, st) == 0)
        return 1;
    memset(st, 0, sizeof(*st));
    return 0;
}

/* Reloads the set when certset.pb changed; keeps the old one on errors. */
static void
s_refresh(tvs_t *t)
{
    char path[512];
    struct stat st;
    int ok, same;
    tvs_certs_t *fresh = NULL;

    ok = s_stat_set(t, &st, path, sizeof(path));
    pthread_mutex_lock(&t->lock);
    same =
        ok == t->seen_ok &&
        (!ok || (st.st_ino == t->seen.st_ino && st.st_size == t->seen.st_size &&
                 st.st_mtim.tv_sec == t->seen.st_mtim.tv_sec &&
                 st.st_mtim.tv_nsec == t->seen.st_mtim.tv_nsec));
    pthread_mutex_unlock(&t->lock);
    if (same)
        return;
    if (tvs_certs_load(t->state, &fresh) != ERR_OK) {
        log_warning("tvs: keeping the previous certificate set: %s",
                    err_detail());
        return;
    }
    pthread_mutex_lock(&t->lock);
    tvs_certs_destroy(&t->certs);
    t->certs = fresh;
    t->seen = st;
    t->seen_ok = ok;
    pthread_mutex_unlock(&t->lock);
    log_info("tvs: vouching for %zu certificates (%s)", tvs_certs_count(fresh),
             ok ? path : "own certificates only");
}

/* Subject and serial of a requested certificate, for the log. */
static void
s_describe(const tvsproto_request_t *req, char *subject, size_t slen,
           char *serial, size_t serlen)
{
    const unsigned char *p = req->cert;
    X509 *x = d2i_X509(NULL, &p, (long)req->cert_len);
    BIGNUM *bn = NULL;
    char *hex = NULL;

    snprintf(subject, slen, "(not an X.509 certificate)");
    snprintf(serial, serlen, "-");
    if (x == NULL) {
        ERR_clear_error();
        return;
    }
    if (itl_name_format(X509_get_subject_name(x), subject, slen) < 0)
        snprintf(subject, slen, "(subject too long)");
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn != NULL)
        hex = BN_bn2hex(bn);
    if (hex != NULL)
        snprintf(serial, serlen, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
}

static void
s_log_answer(const s_client_t *c, const tvsproto_request_t *req,
             const tvsproto_response_t *resp)
{
    char subject[300], serial[100], roles[200];

    s_describe(req, subject, sizeof(subject), serial, sizeof(serial));
    tvsproto_roles_text(resp->roles, resp->nroles, roles, sizeof(roles));
    log_info("tvs: %s (device %s, session %u) asked about %s serial %s: %s, "
             "roles %s",
             c->peer, req->device, req->session, subject, serial,
             resp->status == TVSPROTO_VALID ? "valid" : "invalid", roles);
}

/*
 * One request of a connection. Returns ERR_OK to read the next one,
 * ERR_NOTFOUND when the client closed cleanly, another code to close
 * (detail says why).
 */
static int
s_serve_one(s_client_t *c, SSL *ssl)
{
    uint8_t in[TVSPROTO_HEADER + TVSPROTO_MAX_BODY], out[128];
    tvsproto_header_t h;
    tvsproto_request_t req;
    tvsproto_response_t resp;
    tvs_t *t = c->t;
    long long deadline = time_mono_ms() + t->p.timeout_ms;
    size_t len;
    int rc;

    rc = tlsio_read(ssl, c->fd, in, TVSPROTO_HEADER, deadline, &t->stop,
                    c->peer);
    if (rc != ERR_OK)
        return rc;
    if ((rc = tvsproto_header_decode(in, TVSPROTO_HEADER, &h)) != ERR_OK)
        return rc;
    if (h.command != TVSPROTO_VERIFY_REQ)
        return err_set(ERR_PROTO,
                       "offset 2: command %u is not a verify request (only "
                       "verify requests are answered)",
                       h.command);
    if ((rc = tlsio_read(ssl, c->fd, in + TVSPROTO_HEADER, h.body_len, deadline,
                         &t->stop, c->peer)) != ERR_OK)
        return rc == ERR_NOTFOUND ? ERR_NET : rc;
    len = TVSPROTO_HEADER + (size_t)h.body_len;
    if ((rc = tvsproto_request_decode(in, len, &req)) != ERR_OK)
        return rc;
    s_refresh(t);
    pthread_mutex_lock(&t->lock);
    tvs_answer(t->certs, &req, t->p.ttl, &resp);
    pthread_mutex_unlock(&t->lock);
    if ((rc = tvsproto_response_encode(&resp, out, sizeof(out), &len)) !=
        ERR_OK)
        return rc;
    rc = tlsio_write(ssl, c->fd, out, len, deadline, &t->stop, c->peer);
    if (rc == ERR_OK)
        s_log_answer(c, &req, &resp);
    return rc;
}

static void
s_serve(s_client_t *c)
{
    tvs_t *t = c->t;
    SSL *ssl = SSL_new(t->ctx);
    int rc, served = 0;

    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        log_err("tvs: %s: cannot set up TLS", c->peer);
        SSL_free(ssl);
        return;
    }
    rc = tlsio_handshake(ssl, c->fd, 1, time_mono_ms() + t->p.timeout_ms,
                         &t->stop, c->peer);
    while (rc == ERR_OK) {
        rc = s_serve_one(c, ssl);
        served += rc == ERR_OK;
    }
    if (rc == ERR_NOTFOUND)
        log_debug("tvs: %s closed after %d answers", c->peer, served);
    else
        log_notice("tvs: closing the connection of %s after %d answers: %s",
                   c->peer, served, err_detail());
    if (rc != ERR_NET)
        (void)SSL_shutdown(ssl); /* close_notify, best effort */
    SSL_free(ssl);
}

static void *
s_client_main(void *arg)
{
    s_client_t *c = arg;
    tvs_t *t = c->t;
    sigset_t old;

    tlsio_sigpipe_block(&old);
    s_serve(c);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&t->lock);
    t->clients--;
    pthread_cond_broadcast(&t->idle);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void
s_peer_name(const struct sockaddr_storage *sa, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(buf, size, "%s:%d", host, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
        port = ntohs(in->sin6_port);
        snprintf(buf, size, "[%s]:%d", host, port);
    } else {
        snprintf(buf, size, "(unknown peer)");
    }
}

/* Hands a new connection to a thread, or closes it over the cap. */
static void
s_admit(tvs_t *t, int fd, const struct sockaddr_storage *sa)
{
    s_client_t *c = calloc(1, sizeof(*c));
    pthread_attr_t attr;
    pthread_t th;
    int full;

    if (c == NULL) {
        close(fd);
        return;
    }
    c->t = t;
    c->fd = fd;
    s_peer_name(sa, c->peer, sizeof(c->peer));
    pthread_mutex_lock(&t->lock);
    full = t->clients >= t->p.max_clients;
    if (!full)
        t->clients++;
    pthread_mutex_unlock(&t->lock);
    if (full) {
        log_notice("tvs: refusing %s: %d clients are connected already",
                   c->peer, t->p.max_clients);
        close(fd);
        free(c);
        return;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, s_client_main, c) != 0) {
        log_err("tvs: cannot start a thread for %s", c->peer);
        close(fd);
        free(c);
        pthread_mutex_lock(&t->lock);
        t->clients--;
        pthread_cond_broadcast(&t->idle);
        pthread_mutex_unlock(&t->lock);
    }
    pthread_attr_destroy(&attr);
}

static void *
s_accept_main(void *arg)
{
    tvs_t *t = arg;
    sigset_t old;

    tlsio_sigpipe_block(&old);
    while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
        struct pollfd p = {.fd = t->fd, .events = POLLIN};
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd;

        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept4(t->fd, (struct sockaddr *)&sa, &salen,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                usleep(100 * 1000); /* let clients finish */
            continue;
        }
        s_admit(t, fd, &sa);
    }
    return NULL;
}

static int
s_tls_context(tvs_t *t)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    rc = node_cert_load(t->state, "tvs", &key, &cert);
    if (rc != ERR_OK)
        return rc;
    t->ctx = SSL_CTX_new(TLS_server_method());
    /* Level 1: nodes may have 1024-bit keys (key_bits), as phones do. */
    if (t->ctx != NULL)
        SSL_CTX_set_security_level(t->ctx, 1);
    if (t->ctx == NULL ||
        SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(t->ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(t->ctx, key) != 1 ||
        SSL_CTX_check_private_key(t->ctx) != 1)
        rc = err_set_ssl(ERR_CRYPTO,
                         "cannot set up TLS with %s/keys/tvs.pem and "
                         "tvs.key",
                         t->state);
    else
        SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

static int
s_listen(tvs_t *t)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST},
                    *ai = NULL;
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    char service[16];
    int one = 1, rc;

    snprintf(service, sizeof(service), "%d", t->p.port);
    rc = getaddrinfo(t->address, service, &hints, &ai);
    if (rc != 0)
        return err_set(ERR_ARG, "tvs: '%s' is not a numeric address: %s",
                       t->address, gai_strerror(rc));
    t->fd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0 ||
        setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(t->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(t->fd, 64) < 0 ||
        getsockname(t->fd, (struct sockaddr *)&sa, &salen) < 0)
        rc = err_set(ERR_NET, "tvs: cannot listen on %s port %d: %s",
                     t->address, t->p.port, strerror(errno));
    else
        rc = ERR_OK;
    freeaddrinfo(ai);
    if (rc == ERR_OK)
        t->port = ntohs(sa.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&sa)->sin6_port
                            : ((struct sockaddr_in *)&sa)->sin_port);
    return rc;
}

tvs_t *
tvs_new(const tvs_params_t *p)
{
    tvs_t *t = calloc(1, sizeof(*t));
    char path[512];

    if (t == NULL)
        return NULL;
    t->p = *p;
    t->fd = -1;
    snprintf(t->state, sizeof(t->state), "%s", p->state_dir);
    snprintf(t->address, sizeof(t->address), "%s", p->address);
    t->p.state_dir = t->state;
    t->p.address = t->address;
    if (t->p.max_clients <= 0)
        t->p.max_clients = 1;
    if (t->p.timeout_ms <= 0)
        t->p.timeout_ms = 5000;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->idle, NULL);
    t->seen_ok = s_stat_set(t, &t->seen, path, sizeof(path));
    if (s_tls_context(t) != ERR_OK ||
        tvs_certs_load(t->state, &t->certs) != ERR_OK || s_listen(t) != ERR_OK)
        goto fail;
    if (pthread_create(&t->thread, NULL, s_accept_main, t) != 0) {
        err_set(ERR_NOMEM, "tvs: cannot start the server thread");
        goto fail;
    }
    t->started = 1;
    log_notice("tvs: listening on %s port %d (TTL %u s, at most %d clients)",
               t->address, t->port, t->p.ttl, t->p.max_clients);
    return t;
fail:
    tvs_destroy(&t);
    return NULL;
}

int
tvs_port(const tvs_t *t)
{
    return t->port;
}

void
tvs_destroy(tvs_t **tp)
{
    tvs_t *t;

    if (tp == NULL || *tp == NULL)
        return;
    t = *tp;
    __atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
    if (t->started)
        pthread_join(t->thread, NULL);
    pthread_mutex_lock(&t->lock);
    while (t->clients > 0)
        pthread_cond_wait(&t->idle, &t->lock);
    pthread_mutex_unlock(&t->lock);
    if (t->fd >= 0)
        close(t->fd);
    SSL_CTX_free(t->ctx);
    tvs_certs_destroy(&t->certs);
    pthread_cond_destroy(&t->idle);
    pthread_mutex_destroy(&t->lock);
    free(t);
    *tp = NULL;
}

/* ---- the agent's one server --------------------------------------------- */

static tvs_t *s_agent_tvs;

int
tvs_server_start(const config_t *c)
{
    tvs_params_t p = {
        .state_dir = c->state_dir,
        .address = c->tvs_address[0] ? c->tvs_address : c->tftp_address,
        .port = c->tvs_port,
        .ttl = (uint32_t)c->tvs_ttl,
        .max_clients = c->tvs_max_clients,
        .timeout_ms = 5000,
    };

    if (c->tvs_port == 0 || s_agent_tvs != NULL)
        return ERR_OK;
    s_agent_tvs = tvs_new(&p);
    if (s_agent_tvs != NULL)
        return ERR_OK;
    return err_last() != ERR_OK ? err_last() : ERR_NOMEM;
}

void
tvs_server_stop(void)
{
    tvs_destroy(&s_agent_tvs);
}

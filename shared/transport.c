#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zmq.h>

#include "fsutil.h"
#include "log.h"
#include "protocheck.h"

#define ZAP_MAX_KEYS 4096

/* ---- key files ---------------------------------------------------- */

static int
s_keys_parse(const char *path, const char *text, curve_keys_t *k)
{
    const char *p = strstr(text, "public = "), *s = strstr(text, "secret = ");
    uint8_t pub[32], sec[32], derived[41];

    if (p == NULL || s == NULL)
        return err_set(ERR_FORMAT,
                       "%s: expected 'public = ' and "
                       "'secret = ' lines",
                       path);
    memcpy(k->pub, p + 9, 40);
    k->pub[40] = '\0';
    memcpy(k->sec, s + 9, 40);
    k->sec[40] = '\0';
    if (zmq_z85_decode(pub, k->pub) == NULL ||
        zmq_z85_decode(sec, k->sec) == NULL)
        return err_set(ERR_FORMAT, "%s: the keys are not 40 Z85 characters",
                       path);
    /* A key file whose halves do not match would fail every handshake. */
    if (zmq_curve_public((char *)derived, k->sec) != 0 ||
        strcmp((char *)derived, k->pub) != 0)
        return err_set(ERR_FORMAT,
                       "%s: public key does not match the "
                       "secret key",
                       path);
    OPENSSL_cleanse(sec, sizeof(sec));
    return ERR_OK;
}

int
curve_keys_load_or_create(const char *path, curve_keys_t *k)
{
    uint8_t *buf = NULL;
    size_t len;
    char text[128];
    int rc;

    rc = fs_read_file(path, 4096, &buf, &len);
    if (rc == ERR_OK) {
        rc = fs_check_private(path);
        if (rc == ERR_OK)
            rc = s_keys_parse(path, (char *)buf, k);
        OPENSSL_cleanse(buf, len);
        free(buf);
        return rc;
    }
    if (rc != ERR_NOTFOUND)
        return rc;

    if (zmq_curve_keypair(k->pub, k->sec) != 0)
        return err_set(ERR_CRYPTO, "cannot make a CURVE key pair: %s",
                       zmq_strerror(errno));
    snprintf(text, sizeof(text), "public = %s\nsecret = %s\n", k->pub, k->sec);
    rc = fs_write_durable(path, text, strlen(text), 0600, 0);
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

/* ---- ZAP handler ------------------------------------------------------ */

struct zap {
    void *ctx;
    pthread_t thread;
    atomic_int stop;
    int started;
    pthread_mutex_t lock;
    size_t nkeys;
    struct {
        char key[41];
        char host[64];
    } keys[ZAP_MAX_KEYS];
    void *ready; /* the REP socket, bound before zap_start returns */
};

static int
s_recv_str(void *sock, char *buf, size_t len, int *more)
{
    int n = zmq_recv(sock, buf, len - 1, 0);
    size_t sz = sizeof(*more);

    if (n < 0)
        return -1;
    if ((size_t)n > len - 1)
        n = (int)len - 1;
    buf[n] = '\0';
    zmq_getsockopt(sock, ZMQ_RCVMORE, more, &sz);
    return n;
}

static void
s_zap_reply(void *sock, const char *reqid, const char *code, const char *text,
            const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, reqid, strlen(reqid), ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static void
s_zap_handle(zap_t *z, void *sock)
{
    char frames[7][256], key[41] = "", host[64] = "";
    int more = 1, n[7] = {0}, i;

    for (i = 0; i < 7 && more; i++) {
        n[i] = s_recv_str(sock, frames[i], sizeof(frames[i]), &more);
        if (n[i] < 0)
            return;
    }
    while (more) { /* drain anything unexpected */
        char junk[64];
        if (s_recv_str(sock, junk, sizeof(junk), &more) < 0)
            return;
    }
    if (i < 6) {
        s_zap_reply(sock, i > 1 ? frames[1] : "", "500", "bad request", "");
        return;
    }
    /* frames: version, request id, domain, address, identity, mechanism,
     * then the 32-byte client key. */
    if (strcmp(frames[5], "CURVE") != 0 || i < 7 || n[6] != 32) {
        log_warning("refused a connection from %s: not CURVE", frames[3]);
        s_zap_reply(sock, frames[1], "400", "CURVE required", "");
        return;
    }
    zmq_z85_encode(key, (uint8_t *)frames[6], 32);
    if (strcmp(frames[2], TRANSPORT_DOMAIN_ENROL) == 0) {
        /* Anyone may try to enrol; the key becomes the user id so that
         * the enrolment binds the proof to the connection's key. */
        s_zap_reply(sock, frames[1], "200", "OK", key);
        return;
    }
    if (zap_lookup(z, key, host, sizeof(host)) < 0) {
        log_warning("refused a connection from %s: CURVE key %s is not "
                    "enrolled in this cluster",
                    frames[3], key);
        s_zap_reply(sock, frames[1], "400", "key not enrolled", "");
        return;
    }
    s_zap_reply(sock, frames[1], "200", "OK", host);
}

static void *
s_zap_main(void *arg)
{
    zap_t *z = arg;
    void *sock = z->ready;

    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) > 0)
            s_zap_handle(z, sock);
    }
    zmq_close(sock);
    return NULL;
}

zap_t *
zap_start(void *ctx)
{
    zap_t *z = calloc(1, sizeof(*z));
    int linger = 0;

    if (z == NULL) {
        err_set(ERR_NOMEM, "out of memory starting the ZAP handler");
        return NULL;
    }
    z->ctx = ctx;
    pthread_mutex_init(&z->lock, NULL);
    z->ready = zmq_socket(ctx, ZMQ_REP);
    if (z->ready == NULL ||
        zmq_setsockopt(z->ready, ZMQ_LINGER, &linger, sizeof(linger)) ||
        zmq_bind(z->ready, "inproc://zeromq.zap.01") != 0) {
        err_set(ERR_NET, "cannot start the ZAP handler: %s",
                zmq_strerror(errno));
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, s_zap_main, z) != 0) {
        err_set(ERR_NOMEM, "cannot start the ZAP handler thread");
        goto fail;
    }
    z->started = 1;
    return z;
fail:
    if (z->ready)
        zmq_close(z->ready);
    pthread_mutex_destroy(&z->lock);
    free(z);
    return NULL;
}

void
zap_allow(zap_t *z, const char *hostname, const char *key)
{
    size_t i;

    pthread_mutex_lock(&z->lock);
    for (i = 0; i < z->nkeys; i++) {
        if (strcmp(z->keys[i].host, hostname) == 0)
            break;
    }
    if (i == z->nkeys && z->nkeys < ZAP_MAX_KEYS)
        z->nkeys++;
    if (i < z->nkeys) {
        snprintf(z->keys[i].key, sizeof(z->keys[i].key), "%s", key);
        snprintf(z->keys[i].host, sizeof(z->keys[i].host), "%s", hostname);
    }
    pthread_mutex_unlock(&z->lock);
}

int
zap_lookup(zap_t *z, const char *key, char *host, size_t len)
{
    int found = -1;

    pthread_mutex_lock(&z->lock);
    for (size_t i = 0; i < z->nkeys; i++) {
        if (strcmp(z->keys[i].key, key) == 0) {
            snprintf(host, len, "%s", z->keys[i].host);
            found = 0;
            break;
        }
    }
    pthread_mutex_unlock(&z->lock);
    return found;
}

void
zap_stop(zap_t **zp)
{
    zap_t *z = *zp;

    if (z == NULL)
        return;
    atomic_store(&z->stop, 1);
    if (z->started)
        pthread_join(z->thread, NULL);
    pthread_mutex_destroy(&z->lock);
    free(z);
    *zp = NULL;
}

/* ---- sockets ---------------------------------------------------------- */

static int
s_common_opts(void *s)
{
    int linger = 0, ivl = 1000, ttl = 5000, tmo = 3000;
    int64_t max = TRANSPORT_MAX_MSG;

    return zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) ||
           zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) ||
           zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) ||
           zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl)) ||
           zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof(tmo));
}

void *
transport_server(void *ctx, int type, const char *endpoint,
                 const curve_keys_t *keys, const char *domain)
{
    void *s = zmq_socket(ctx, type);
    int one = 1;

    if (s == NULL) {
        err_set(ERR_NET, "cannot make a socket: %s", zmq_strerror(errno));
        return NULL;
    }
    if (s_common_opts(s) ||
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->sec, 40) ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain))) {
        err_set(ERR_NET, "cannot set up CURVE on %s: %s", endpoint,
                zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    /* A message for a peer that is gone must fail now, not vanish. */
    if (type == ZMQ_ROUTER &&
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one))) {
        err_set(ERR_NET, "cannot set up %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_bind(s, endpoint) != 0) {
        err_set(ERR_NET, "cannot listen on %s: %s", endpoint,
                zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *
transport_client(void *ctx, int type, const char *endpoint,
                 const curve_keys_t *keys, const char *server_pub)
{
    void *s = zmq_socket(ctx, type);
    int ivl = 200, max_ivl = 5000;

    if (s == NULL) {
        err_set(ERR_NET, "cannot make a socket: %s", zmq_strerror(errno));
        return NULL;
    }
    if (s_common_opts(s) ||
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) ||
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &max_ivl, sizeof(max_ivl)) ||
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub, 40) ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys->pub, 40) ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->sec, 40)) {
        err_set(ERR_NET, "cannot set up CURVE for %s: %s", endpoint,
                zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, endpoint) != 0) {
        err_set(ERR_NET, "cannot connect to %s: %s", endpoint,
                zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

int
transport_send(void *sock, const uint8_t *rid, size_t ridlen,
               const char *cluster_id, Itl__Envelope *env)
{
    size_t len;
    uint8_t *buf;
    int rc = ERR_OK;

    env->version = TRANSPORT_PROTOCOL_VERSION;
    env->cluster_id = (char *)cluster_id;
    len = itl__envelope__get_packed_size(env);
    if (len > TRANSPORT_MAX_MSG)
        return err_set(ERR_TOOBIG,
                       "message of %zu bytes is over the "
                       "limit of %d",
                       len, TRANSPORT_MAX_MSG);
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        return err_set(ERR_NOMEM, "out of memory packing a message");
    itl__envelope__pack(env, buf);
    if (rid != NULL &&
        zmq_send(sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        rc = err_set(ERR_NET, "%s",
                     errno == EHOSTUNREACH
                         ? "the node is not connected (it restarted or "
                           "lost its link)"
                         : zmq_strerror(errno));
    if (rc == ERR_OK && zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        rc = err_set(ERR_NET, "cannot send: %s", zmq_strerror(errno));
    free(buf);
    return rc;
}

static void
s_drain(void *sock)
{
    int more = 0;
    size_t sz = sizeof(more);

    zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, 0);
        zmq_msg_close(&m);
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    }
}

static void
s_meta(zmq_msg_t *msg, const char *prop, char *out, size_t len)
{
    const char *v = zmq_msg_gets(msg, prop);

    snprintf(out, len, "%s", v ? v : "");
}

int
transport_recv(void *sock, int has_rid, const char *cluster_id,
               transport_msg_t *m)
{
    zmq_msg_t msg;
    int rc = ERR_OK;

    memset(m, 0, sizeof(*m));
    zmq_msg_init(&msg);
    if (has_rid) {
        int n = zmq_recv(sock, m->rid, sizeof(m->rid), ZMQ_DONTWAIT);
        if (n < 0) {
            zmq_msg_close(&msg);
            return ERR_NOTFOUND;
        }
        m->ridlen = (size_t)n > sizeof(m->rid) ? sizeof(m->rid) : (size_t)n;
    }
    if (zmq_msg_recv(&msg, sock, has_rid ? 0 : ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return has_rid ? err_set(ERR_PROTO, "message without a body")
                       : ERR_NOTFOUND;
    }
    s_meta(&msg, "User-Id", m->user, sizeof(m->user));
    s_meta(&msg, "Peer-Address", m->peer, sizeof(m->peer));
    s_drain(sock);

    m->env =
        itl__envelope__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    if (m->env == NULL) {
        rc = err_set(ERR_PROTO,
                     "dropped an undecodable message of %zu "
                     "bytes from %s",
                     zmq_msg_size(&msg), m->user[0] ? m->user : m->peer);
    } else if (m->env->version != TRANSPORT_PROTOCOL_VERSION) {
        rc = err_set(ERR_PROTO,
                     "dropped a message of protocol version %u "
                     "from %s (ours is %d)",
                     m->env->version, m->user[0] ? m->user : m->peer,
                     TRANSPORT_PROTOCOL_VERSION);
    } else if (strcmp(m->env->cluster_id, cluster_id) != 0) {
        rc = err_set(ERR_PROTO,
                     "dropped a message for cluster '%.63s' "
                     "from %s (this is cluster '%s')",
                     m->env->cluster_id, m->user[0] ? m->user : m->peer,
                     cluster_id);
    } else if (protocheck_envelope(m->env) != ERR_OK) {
        char why[300];
        snprintf(why, sizeof(why), "%s", err_detail());
        rc = err_set(ERR_PROTO, "dropped a message from %s: %s",
                     m->user[0] ? m->user : m->peer, why);
    }
    zmq_msg_close(&msg);
    if (rc != ERR_OK) {
        log_warning("%s", err_detail());
        transport_msg_clear(m);
    }
    return rc;
}

void
transport_msg_clear(transport_msg_t *m)
{
    if (m->env != NULL)
        itl__envelope__free_unpacked(m->env, NULL);
    m->env = NULL;
}

int
transport_enrol_mac(const uint8_t key[32], const uint8_t nonce[32],
                    const char *z85, const char *host, uint8_t out[32])
{
    uint8_t msg[32 + 40 + 64];
    size_t hlen = strlen(host), len;
    unsigned int outlen = 32;

    if (strlen(z85) != 40 || hlen > 64)
        return err_set(ERR_ARG, "bad enrolment input");
    memcpy(msg, nonce, 32);
    memcpy(msg + 32, z85, 40);
    memcpy(msg + 72, host, hlen);
    len = 72 + hlen;
    if (HMAC(EVP_sha256(), key, 32, msg, len, out, &outlen) == NULL)
        return err_set_ssl(ERR_CRYPTO, "cannot compute the enrolment MAC");
    return ERR_OK;
}

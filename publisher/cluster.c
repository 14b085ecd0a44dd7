/*
 * The publisher's view of the cluster: enrolment of subscriber keys,
 * registration and heartbeats, and the certificate set every node's ITL is
 * built from.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <zmq.h>

#include "fsutil.h"
#include "itl.h"
#include "keystore.h"
#include "log.h"
#include "node.h"
#include "prompt.h"
#include "protocheck.h"
#include "publisher.h"

#define ENROL_TIMEOUT_MS 30000
/* Registrations closer than this share one certificate-set broadcast. */
#define CERTSET_COALESCE_MS 300

/* ---- persisted members ------------------------------------------------- */

static void
s_member_path(const pub_t *p, const char *host, char *buf, size_t len)
{
    snprintf(buf, len, "%s/cluster/members/%s.pb", p->cfg.state_dir, host);
}

static void
s_member_save(const pub_t *p, const member_t *m)
{
    char path[400];
    size_t len = itl__register__get_packed_size(m->reg);
    uint8_t *buf = malloc(len ? len : 1);

    if (buf == NULL)
        return;
    itl__register__pack(m->reg, buf);
    s_member_path(p, m->host, path, sizeof(path));
    if (fs_write_durable(path, buf, len, 0644, 0) != ERR_OK)
        log_warning("cannot save the registration of %s: %s", m->host,
                    err_detail());
    free(buf);
}

member_t *
pub_member_find(pub_t *p, const char *host)
{
    for (size_t i = 0; i < p->nmembers; i++) {
        if (strcmp(p->members[i].host, host) == 0)
            return &p->members[i];
    }
    return NULL;
}

static member_t *
s_member_add(pub_t *p, const char *host)
{
    member_t *m = pub_member_find(p, host);

    if (m != NULL)
        return m;
    if (p->nmembers == PUB_MAX_MEMBERS)
        return NULL;
    m = &p->members[p->nmembers++];
    memset(m, 0, sizeof(*m));
    snprintf(m->host, sizeof(m->host), "%s", host);
    return m;
}

static void
s_member_take_reg(member_t *m, Itl__Register *reg)
{
    if (m->reg != NULL)
        itl__register__free_unpacked(m->reg, NULL);
    m->reg = reg;
    snprintf(m->address, sizeof(m->address), "%s", reg->address);
    m->tftp = reg->tftp;
    snprintf(m->sha1, sizeof(m->sha1), "%s",
             reg->itl_sha1 ? reg->itl_sha1 : "");
    snprintf(m->signer, sizeof(m->signer), "%s",
             reg->itl_signer ? reg->itl_signer : "");
    snprintf(m->recovery, sizeof(m->recovery), "%s",
             reg->itl_recovery_sha1 ? reg->itl_recovery_sha1 : "");
}

static void
s_load_members(pub_t *p)
{
    char dir[300], path[600];
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof(dir), "%s/cluster/members", p->cfg.state_dir);
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        uint8_t *buf;
        size_t len;
        Itl__Register *reg;
        member_t *m;

        if (n < 4 || strcmp(e->d_name + n - 3, ".pb") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (fs_read_file(path, 1024 * 1024, &buf, &len) != ERR_OK)
            continue;
        reg = itl__register__unpack(NULL, len, buf);
        free(buf);
        if (reg == NULL || (m = s_member_add(p, reg->hostname)) == NULL) {
            log_warning("skipping damaged member file %s", path);
            if (reg)
                itl__register__free_unpacked(reg, NULL);
            continue;
        }
        s_member_take_reg(m, reg);
    }
    closedir(d);
}

int
pub_cluster_load(pub_t *p)
{
    char path[300], host[64], key[64];
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/cluster/members", p->cfg.state_dir);
    rc = fs_mkdir_p(path, 0700);
    if (rc != ERR_OK)
        return rc;
    p->members = calloc(PUB_MAX_MEMBERS, sizeof(*p->members));
    if (p->members == NULL)
        return err_set(ERR_NOMEM, "out of memory for the member table");
    snprintf(path, sizeof(path), "%s/cluster/enrolled", p->cfg.state_dir);
    f = fopen(path, "r");
    if (f != NULL) {
        while (fscanf(f, "%63s %63s", host, key) == 2) {
            if (strlen(key) == 40)
                zap_allow(p->zap, host, key);
        }
        fclose(f);
    }
    s_load_members(p);
    return ERR_OK;
}

/* ---- the certificate set ---------------------------------------------- */

static int
s_der(X509 *x, ProtobufCBinaryData *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    if (n <= 0)
        return err_set_ssl(ERR_CRYPTO, "cannot encode a certificate");
    out->data = der;
    out->len = (size_t)n;
    return ERR_OK;
}

static void
s_certset_free(Itl__CertSet *cs)
{
    if (cs == NULL)
        return;
    for (size_t i = 0; i < cs->n_certs; i++) {
        if (cs->certs[i]->der.data && cs->certs[i]->hostname)
            OPENSSL_free(cs->certs[i]->der.data);
        free(cs->certs[i]->hostname);
        free(cs->certs[i]);
    }
    free(cs->certs);
    OPENSSL_free(cs->recovery_der.data);
    free(cs);
}

static int
s_certset_add(Itl__CertSet *cs, const char *host, int role,
              const ProtobufCBinaryData *der)
{
    Itl__NodeCert *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return err_set(ERR_NOMEM, "out of memory for the certificate set");
    itl__node_cert__init(c);
    c->hostname = strdup(host);
    c->role = (uint32_t)role;
    c->der.data = OPENSSL_memdup(der->data, der->len);
    c->der.len = der->len;
    cs->certs[cs->n_certs++] = c;
    if (c->hostname == NULL || c->der.data == NULL)
        return err_set(ERR_NOMEM, "out of memory for the certificate set");
    return ERR_OK;
}

static int
s_own_cert(const pub_t *p, const char *name, ProtobufCBinaryData *der)
{
    char dir[300];
    X509 *x = NULL;
    int rc;

    snprintf(dir, sizeof(dir), "%s/keys", p->cfg.state_dir);
    rc = keystore_load(dir, name, NULL, &x);
    if (rc == ERR_OK)
        rc = s_der(x, der);
    X509_free(x);
    return rc;
}

/* Generation: the first 8 bytes of a SHA-256 over the set's contents. */
static uint64_t
s_generation(const Itl__CertSet *cs)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    uint64_t g = 0;

    if (md == NULL)
        return 1;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < cs->n_certs; i++) {
        EVP_DigestUpdate(md, cs->certs[i]->hostname,
                         strlen(cs->certs[i]->hostname) + 1);
        EVP_DigestUpdate(md, &cs->certs[i]->role, sizeof(uint32_t));
        EVP_DigestUpdate(md, cs->certs[i]->der.data, cs->certs[i]->der.len);
    }
    EVP_DigestUpdate(md, cs->recovery_der.data, cs->recovery_der.len);
    EVP_DigestFinal_ex(md, h, NULL);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 8; i++)
        g = g << 8 | h[i];
    return g ? g : 1;
}

static int
s_certset_build(pub_t *p, Itl__CertSet **out)
{
    Itl__CertSet *cs = calloc(1, sizeof(*cs));
    ProtobufCBinaryData der = {0, NULL};
    EVP_PKEY *rkey = NULL;
    X509 *rcert = NULL;
    int rc;

    if (cs == NULL)
        return err_set(ERR_NOMEM, "out of memory for the certificate set");
    itl__cert_set__init(cs);
    cs->certs = calloc(2 * p->nmembers + 3, sizeof(*cs->certs));
    if (cs->certs == NULL) {
        free(cs);
        return err_set(ERR_NOMEM, "out of memory for the certificate set");
    }
    rc = node_recovery_load(p->cfg.state_dir, &rkey, &rcert);
    if (rc == ERR_OK)
        rc = s_der(rcert, &cs->recovery_der);
    EVP_PKEY_free(rkey);
    X509_free(rcert);
    const char *own[] = {"tvs", "callmanager", "capf"};
    const int roles[] = {ITL_ROLE_TVS, ITL_ROLE_CCM_TFTP, ITL_ROLE_CAPF};
    for (int i = 0; i < 3 && rc == ERR_OK; i++) {
        rc = s_own_cert(p, own[i], &der);
        if (rc == ERR_OK)
            rc = s_certset_add(cs, p->cfg.hostname, roles[i], &der);
        OPENSSL_free(der.data);
        der.data = NULL;
    }
    for (size_t i = 0; i < p->nmembers && rc == ERR_OK; i++) {
        const Itl__Register *r = p->members[i].reg;
        if (r == NULL)
            continue;
        rc = s_certset_add(cs, r->hostname, ITL_ROLE_TVS, &r->tvs_der);
        if (rc == ERR_OK)
            rc = s_certset_add(cs, r->hostname, ITL_ROLE_CCM_TFTP,
                               &r->callmanager_der);
    }
    if (rc != ERR_OK) {
        s_certset_free(cs);
        return rc;
    }
    cs->generation = s_generation(cs);
    *out = cs;
    return ERR_OK;
}

static void
s_send_certset(pub_t *p, member_t *m)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;

    env.body_case = ITL__ENVELOPE__BODY_CERT_SET;
    env.cert_set = p->certset;
    if (transport_send(p->cluster, m->rid, m->ridlen, p->cfg.cluster_id,
                       &env) != ERR_OK)
        log_warning("cannot send the certificate set to %s: %s", m->host,
                    err_detail());
}

int
pub_certset_refresh(pub_t *p)
{
    Itl__CertSet *cs = NULL;
    int rc = s_certset_build(p, &cs);

    if (rc != ERR_OK)
        return rc;
    if (p->certset != NULL && p->certset->generation == cs->generation) {
        s_certset_free(cs);
        return ERR_OK;
    }
    s_certset_free(p->certset);
    p->certset = cs;
    log_info("certificate set %016" PRIx64 ": %zu certificates", cs->generation,
             cs->n_certs);
    rc = tftpnode_set_certset(p->node, cs);
    for (size_t i = 0; i < p->nmembers; i++) {
        if (pub_member_active(p, &p->members[i]))
            s_send_certset(p, &p->members[i]);
    }
    return rc;
}

/* ---- membership -------------------------------------------------------- */

int
pub_member_active(const pub_t *p, const member_t *m)
{
    return m->connected &&
           time_mono_ms() - m->last_seen <= p->cfg.heartbeat_timeout_ms;
}

static void
s_welcome(pub_t *p, const transport_msg_t *msg, int reregister)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__Welcome w = ITL__WELCOME__INIT;

    w.publisher = p->cfg.hostname;
    w.heartbeat_ms = (uint32_t)p->cfg.heartbeat_ms;
    w.has_reregister = 1;
    w.reregister = reregister != 0;
    env.body_case = ITL__ENVELOPE__BODY_WELCOME;
    env.welcome = &w;
    if (transport_send(p->cluster, msg->rid, msg->ridlen, p->cfg.cluster_id,
                       &env) != ERR_OK)
        log_warning("cannot answer %s: %s", msg->user, err_detail());
}

static int
s_valid_cert(const ProtobufCBinaryData *b)
{
    const unsigned char *q = b->data;
    X509 *x = d2i_X509(NULL, &q, (long)b->len);

    X509_free(x);
    return x != NULL && q == b->data + b->len;
}

static void
s_on_register(pub_t *p, transport_msg_t *msg)
{
    Itl__Register *reg = msg->env->register_;
    member_t *m;
    int known;

    if (strcmp(reg->hostname, msg->user) != 0) {
        log_warning("dropped a registration as '%.63s' from %s, whose key "
                    "is enrolled as %s",
                    reg->hostname, msg->peer, msg->user);
        return;
    }
    if (!s_valid_cert(&reg->callmanager_der) || !s_valid_cert(&reg->tvs_der)) {
        log_warning("dropped the registration of %s: its certificates are "
                    "not valid DER X.509",
                    msg->user);
        return;
    }
    known = pub_member_find(p, msg->user) != NULL;
    m = s_member_add(p, msg->user);
    if (m == NULL) {
        log_err("cannot register %s: the cluster has %d members already",
                msg->user, PUB_MAX_MEMBERS);
        return;
    }
    /* The member now owns the registration; the envelope must not. */
    msg->env->register_ = NULL;
    msg->env->body_case = ITL__ENVELOPE__BODY__NOT_SET;
    s_member_take_reg(m, reg);
    memcpy(m->rid, msg->rid, msg->ridlen);
    m->ridlen = msg->ridlen;
    m->last_seen = time_mono_ms();
    m->connected = 1;
    s_member_save(p, m);
    log_notice("%s %s from %s (TFTP %s, serving ITL %s)",
               known ? "re-registered" : "registered", m->host, msg->peer,
               m->tftp ? m->address : "none", m->sha1[0] ? m->sha1 : "none");
    pub_history_seen(p, m->host, m->sha1, m->signer, reg->itl_recovery_sha1);
    s_welcome(p, msg, 0);
    /* The new node gets the current set now; the set with its own TVS
     * goes to everyone at the next tick, once for all the registrations
     * of a burst (a cluster forming, or the publisher restarting). */
    if (p->certset != NULL)
        s_send_certset(p, m);
    p->certset_dirty = 1;
}

static void
s_on_heartbeat(pub_t *p, transport_msg_t *msg)
{
    member_t *m = pub_member_find(p, msg->user);
    Itl__Heartbeat *hb = msg->env->heartbeat;

    if (m == NULL || m->reg == NULL || !m->connected) {
        /* We restarted, or it was forgotten: ask for a registration. */
        s_welcome(p, msg, 1);
        return;
    }
    if (!pub_member_active(p, m))
        log_notice("%s is back (heartbeat from %s)", m->host, msg->peer);
    memcpy(m->rid, msg->rid, msg->ridlen);
    m->ridlen = msg->ridlen;
    m->last_seen = time_mono_ms();
    m->quiet_logged = 0;
    if (hb->itl_sha1 != NULL)
        snprintf(m->sha1, sizeof(m->sha1), "%.40s", hb->itl_sha1);
    if (hb->itl_signer != NULL)
        snprintf(m->signer, sizeof(m->signer), "%.159s", hb->itl_signer);
    if (hb->itl_recovery_sha1 != NULL)
        snprintf(m->recovery, sizeof(m->recovery), "%.40s",
                 hb->itl_recovery_sha1);
    pub_history_seen(p, m->host, m->sha1, m->signer, hb->itl_recovery_sha1);
}

void
pub_cluster_on_message(pub_t *p, transport_msg_t *msg)
{
    if (msg->user[0] == '\0') {
        log_warning("dropped a message from %s without an enrolled key",
                    msg->peer);
        return;
    }
    switch (msg->env->body_case) {
    case ITL__ENVELOPE__BODY_REGISTER:
        s_on_register(p, msg);
        break;
    case ITL__ENVELOPE__BODY_HEARTBEAT:
        s_on_heartbeat(p, msg);
        break;
    case ITL__ENVELOPE__BODY_RESET_REPORT: {
        member_t *m = pub_member_find(p, msg->user);
        if (m != NULL)
            m->last_seen = time_mono_ms();
        pub_reset_on_report(p, msg->user, msg->env->reset_report);
        break;
    }
    default:
        log_warning("dropped an unexpected message (%d) from %s",
                    (int)msg->env->body_case, msg->user);
    }
}

void
pub_cluster_tick(pub_t *p)
{
    long long now = time_mono_ms();

    if (p->certset_dirty && now - p->certset_at >= CERTSET_COALESCE_MS) {
        p->certset_dirty = 0;
        p->certset_at = now;
        if (pub_certset_refresh(p) != ERR_OK)
            log_err("cannot rebuild the certificate set: %s", err_detail());
    }

    pub_history_seen(p, p->cfg.hostname, tftpnode_sha1(p->node),
                     tftpnode_signer(p->node), tftpnode_recovery_sha1(p->node));
    for (size_t i = 0; i < p->nmembers; i++) {
        member_t *m = &p->members[i];
        long long quiet = now - m->last_seen;
        /* Log a node going quiet once; a heartbeat clears the mark. */
        if (m->connected && !m->quiet_logged &&
            quiet > p->cfg.heartbeat_timeout_ms) {
            m->quiet_logged = 1;
            log_warning("%s stopped sending heartbeats %lld ms ago; it is "
                        "no longer an active TFTP node",
                        m->host, quiet);
        }
    }
    for (size_t i = 0; i < PUB_MAX_PENDING; i++) {
        if (p->pending[i].ridlen &&
            now - p->pending[i].started > ENROL_TIMEOUT_MS)
            memset(&p->pending[i], 0, sizeof(p->pending[i]));
    }
}

/* ---- enrolment --------------------------------------------------------- */

static void
s_enrol_answer(pub_t *p, const transport_msg_t *msg, Itl__Envelope *env)
{
    if (transport_send(p->enrol, msg->rid, msg->ridlen, p->cfg.cluster_id,
                       env) != ERR_OK)
        log_warning("cannot answer an enrolment from %s: %s", msg->peer,
                    err_detail());
}

static void
s_enrol_result(pub_t *p, const transport_msg_t *msg, int ok, const char *reason)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__EnrolResult r = ITL__ENROL_RESULT__INIT;
    uint8_t pub[32];

    r.accepted = ok != 0;
    r.reason = (char *)reason;
    if (ok && zmq_z85_decode(pub, p->keys.pub) != NULL) {
        r.has_publisher_public = 1;
        r.publisher_public.data = pub;
        r.publisher_public.len = 32;
    }
    env.body_case = ITL__ENVELOPE__BODY_ENROL_RESULT;
    env.enrol_result = &r;
    s_enrol_answer(p, msg, &env);
}

static pending_t *
s_pending_slot(pub_t *p, const transport_msg_t *msg, int create)
{
    pending_t *free_slot = NULL;

    for (size_t i = 0; i < PUB_MAX_PENDING; i++) {
        pending_t *e = &p->pending[i];
        if (e->ridlen == msg->ridlen &&
            memcmp(e->rid, msg->rid, msg->ridlen) == 0)
            return e;
        if (e->ridlen == 0 && free_slot == NULL)
            free_slot = e;
    }
    return create ? free_slot : NULL;
}

static void
s_on_hello(pub_t *p, transport_msg_t *msg)
{
    Itl__EnrolHello *h = msg->env->enrol_hello;
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__EnrolChallenge ch = ITL__ENROL_CHALLENGE__INIT;
    char key[41];
    pending_t *e;

    if (h->curve_public.len != 32 || !protocheck_hostname(h->hostname)) {
        log_warning("refused an enrolment from %s: malformed hello", msg->peer);
        s_enrol_result(p, msg, 0, "malformed enrolment request");
        return;
    }
    zmq_z85_encode(key, h->curve_public.data, 32);
    /* The key to enrol must be the one this connection proved it holds. */
    if (strcmp(key, msg->user) != 0) {
        log_warning("refused an enrolment of %.63s from %s: the key in the "
                    "request is not the connection's key",
                    h->hostname, msg->peer);
        s_enrol_result(p, msg, 0, "key mismatch");
        return;
    }
    e = s_pending_slot(p, msg, 1);
    if (e == NULL) {
        s_enrol_result(p, msg, 0, ENROL_BUSY);
        return;
    }
    memcpy(e->rid, msg->rid, msg->ridlen);
    e->ridlen = msg->ridlen;
    snprintf(e->host, sizeof(e->host), "%s", h->hostname);
    memcpy(e->key, key, sizeof(e->key));
    RAND_bytes(e->nonce, sizeof(e->nonce));
    e->started = time_mono_ms();
    ch.nonce.data = e->nonce;
    ch.nonce.len = sizeof(e->nonce);
    ch.salt.data = (uint8_t *)"";
    ch.salt.len = 0;
    env.body_case = ITL__ENVELOPE__BODY_ENROL_CHALLENGE;
    env.enrol_challenge = &ch;
    s_enrol_answer(p, msg, &env);
}

static void
s_on_proof(pub_t *p, transport_msg_t *msg)
{
    pending_t *e = s_pending_slot(p, msg, 0);
    Itl__EnrolProof *pr = msg->env->enrol_proof;
    uint8_t want[32];
    char path[300], line[128];
    FILE *f;

    if (e == NULL) {
        s_enrol_result(p, msg, 0, "no enrolment in progress");
        return;
    }
    if (transport_enrol_mac(p->enrol_key, e->nonce, e->key, e->host, want) !=
            ERR_OK ||
        pr->mac.len != sizeof(want) ||
        CRYPTO_memcmp(want, pr->mac.data, sizeof(want)) != 0) {
        log_warning("refused the enrolment of %s from %s: it does not know "
                    "the cluster security password",
                    e->host, msg->peer);
        s_enrol_result(p, msg, 0, "wrong cluster security password");
        memset(e, 0, sizeof(*e));
        return;
    }
    snprintf(path, sizeof(path), "%s/cluster/enrolled", p->cfg.state_dir);
    snprintf(line, sizeof(line), "%s %s\n", e->host, e->key);
    f = fopen(path, "a");
    if (f == NULL || fputs(line, f) < 0 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        log_err("cannot record the enrolment of %s in %s: %s", e->host, path,
                strerror(errno));
        if (f)
            fclose(f);
        s_enrol_result(p, msg, 0, "the publisher cannot record the key");
        memset(e, 0, sizeof(*e));
        return;
    }
    fclose(f);
    if (pub_member_find(p, e->host) != NULL)
        log_warning("%s enrolled again with a new CURVE key; its old key is "
                    "no longer admitted. If %s was not rebuilt, someone else "
                    "knows the cluster security password",
                    e->host, e->host);
    zap_allow(p->zap, e->host, e->key);
    log_notice("enrolled %s (CURVE key %s) from %s", e->host, e->key,
               msg->peer);
    s_enrol_result(p, msg, 1, NULL);
    memset(e, 0, sizeof(*e));
}

void
pub_enrol_on_message(pub_t *p, transport_msg_t *msg)
{
    switch (msg->env->body_case) {
    case ITL__ENVELOPE__BODY_ENROL_HELLO:
        s_on_hello(p, msg);
        break;
    case ITL__ENVELOPE__BODY_ENROL_PROOF:
        s_on_proof(p, msg);
        break;
    default:
        log_warning("dropped a non-enrolment message from %s on the "
                    "enrolment socket",
                    msg->peer);
    }
}

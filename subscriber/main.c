/*
 * itl-subscriber: the agent of every node but the publisher. It enrols once
 * with the publisher, registers and sends heartbeats, builds and serves its
 * own ITL, and carries out the publisher's reset orders.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <zmq.h>

#include "adminsock.h"
#include "agent.h"
#include "agentcmd.h"
#include "fsutil.h"
#include "itl.h"
#include "keystore.h"
#include "log.h"
#include "prompt.h"
#include "tftpnode.h"
#include "tvs.h"

typedef struct {
    config_t cfg;
    void *ctx;
    void *dealer;
    void *admin;
    curve_keys_t keys;
    uint8_t enrol_key[32];
    tftpnode_t *node;
    ProtobufCBinaryData cm_der, tvs_der;
    long long last_hb, last_heard, registered_at;
    uint64_t seq;
    int welcomed;
} sub_t;

/* ---- enrolment ----------------------------------------------------- */

static int
s_enrol_exchange(sub_t *s, void *sock, Itl__Envelope *out, Itl__Envelope **in)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    transport_msg_t m;

    if (transport_send(sock, NULL, 0, s->cfg.cluster_id, out) != ERR_OK)
        return ERR_NET;
    if (zmq_poll(&item, 1, s->cfg.connect_timeout_ms) <= 0)
        return err_set(ERR_TIMEOUT,
                       "the publisher at %s did not answer "
                       "the enrolment within %d ms",
                       s->cfg.publisher, s->cfg.connect_timeout_ms);
    if (transport_recv(sock, 0, s->cfg.cluster_id, &m) != ERR_OK)
        return err_set(ERR_PROTO, "bad enrolment answer from %s",
                       s->cfg.publisher);
    *in = m.env;
    return ERR_OK;
}

static int
s_enrol_once(sub_t *s, void *sock)
{
    Itl__Envelope out = ITL__ENVELOPE__INIT, *in = NULL;
    Itl__EnrolHello hello = ITL__ENROL_HELLO__INIT;
    Itl__EnrolProof proof = ITL__ENROL_PROOF__INIT;
    uint8_t pub[32], mac[32];
    int rc;

    zmq_z85_decode(pub, s->keys.pub);
    hello.hostname = s->cfg.hostname;
    hello.curve_public.data = pub;
    hello.curve_public.len = 32;
    out.body_case = ITL__ENVELOPE__BODY_ENROL_HELLO;
    out.enrol_hello = &hello;
    rc = s_enrol_exchange(s, sock, &out, &in);
    if (rc != ERR_OK)
        return rc;
    if (in->body_case == ITL__ENVELOPE__BODY_ENROL_RESULT &&
        in->enrol_result->reason != NULL &&
        strcmp(in->enrol_result->reason, ENROL_BUSY) == 0) {
        /* Many nodes enrol at once: wait and try again. */
        itl__envelope__free_unpacked(in, NULL);
        return err_set(ERR_TIMEOUT, "the publisher is busy enrolling other "
                                    "nodes");
    }
    if (in->body_case != ITL__ENVELOPE__BODY_ENROL_CHALLENGE ||
        in->enrol_challenge->nonce.len != 32) {
        rc = err_set(ERR_REFUSED, "the publisher refused the enrolment: %s",
                     in->body_case == ITL__ENVELOPE__BODY_ENROL_RESULT &&
                             in->enrol_result->reason
                         ? in->enrol_result->reason
                         : "unexpected answer");
        itl__envelope__free_unpacked(in, NULL);
        return rc;
    }
    rc = transport_enrol_mac(s->enrol_key, in->enrol_challenge->nonce.data,
                             s->keys.pub, s->cfg.hostname, mac);
    itl__envelope__free_unpacked(in, NULL);
    if (rc != ERR_OK)
        return rc;
    proof.mac.data = mac;
    proof.mac.len = 32;
    out.body_case = ITL__ENVELOPE__BODY_ENROL_PROOF;
    out.enrol_proof = &proof;
    rc = s_enrol_exchange(s, sock, &out, &in);
    if (rc != ERR_OK)
        return rc;
    if (in->body_case != ITL__ENVELOPE__BODY_ENROL_RESULT ||
        !in->enrol_result->accepted)
        rc = err_set(ERR_REFUSED, "the publisher refused the enrolment: %s",
                     in->body_case == ITL__ENVELOPE__BODY_ENROL_RESULT &&
                             in->enrol_result->reason
                         ? in->enrol_result->reason
                         : "unexpected answer");
    itl__envelope__free_unpacked(in, NULL);
    return rc;
}

/*
 * Enrols this node's CURVE key with the publisher, once: retries while the
 * publisher does not answer, gives up when it refuses.
 */
static int
s_enrol(sub_t *s)
{
    char flag[300], endpoint[160];
    int rc = ERR_TIMEOUT;

    config_state_path(&s->cfg, "enrolled", flag, sizeof(flag));
    if (fs_exists(flag))
        return ERR_OK;
    if (agent_endpoint(s->cfg.publisher, 1, endpoint, sizeof(endpoint)))
        return ERR_ARG;
    while (!agent_stop && rc == ERR_TIMEOUT) {
        void *sock = transport_client(s->ctx, ZMQ_DEALER, endpoint, &s->keys,
                                      s->cfg.publisher_key);
        if (sock == NULL)
            return ERR_NET;
        log_info("%s: enrolling with the publisher at %s", s->cfg.hostname,
                 endpoint);
        rc = s_enrol_once(s, sock);
        zmq_close(sock);
        if (rc == ERR_TIMEOUT) {
            log_warning("%s: %s; retrying", s->cfg.hostname, err_detail());
            sleep(1);
        }
    }
    if (rc != ERR_OK)
        return rc;
    log_notice("%s: enrolled with the publisher at %s", s->cfg.hostname,
               s->cfg.publisher);
    return fs_write_durable(flag, "yes\n", 4, 0644, 0);
}

/* ---- messages to the publisher ----------------------------------------- */

static void
s_send(sub_t *s, Itl__Envelope *env)
{
    if (transport_send(s->dealer, NULL, 0, s->cfg.cluster_id, env) != ERR_OK)
        log_warning("%s: cannot send to the publisher: %s", s->cfg.hostname,
                    err_detail());
}

static void
s_register(sub_t *s)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__Register r = ITL__REGISTER__INIT;
    char address[128];

    snprintf(address, sizeof(address), "%s:%d", s->cfg.tftp_address,
             s->cfg.tftp_port);
    r.hostname = s->cfg.hostname;
    r.address = address;
    r.tftp = s->cfg.tftp != 0;
    r.callmanager_der = s->cm_der;
    r.tvs_der = s->tvs_der;
    r.itl_sha1 = (char *)tftpnode_sha1(s->node);
    r.itl_signer = (char *)tftpnode_signer(s->node);
    r.itl_recovery_sha1 = (char *)tftpnode_recovery_sha1(s->node);
    r.has_last_job = 1;
    r.last_job = tftpnode_last_job(s->node);
    r.has_last_reset_ts = 1;
    r.last_reset_ts = tftpnode_last_reset_ts(s->node);
    env.body_case = ITL__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    s_send(s, &env);
    s->registered_at = time_mono_ms();
    s->welcomed = 0;
}

static void
s_heartbeat(sub_t *s)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__Heartbeat hb = ITL__HEARTBEAT__INIT;

    hb.seq = ++s->seq;
    hb.itl_sha1 = (char *)tftpnode_sha1(s->node);
    hb.itl_signer = (char *)tftpnode_signer(s->node);
    hb.itl_recovery_sha1 = (char *)tftpnode_recovery_sha1(s->node);
    env.body_case = ITL__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    s_send(s, &env);
    s->last_hb = time_mono_ms();
}

typedef struct {
    sub_t *s;
    uint64_t job;
} report_ctx_t;

static void
s_report(void *arg, int step, const char *sha1, const char *reason)
{
    report_ctx_t *rc = arg;
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__ResetReport r = ITL__RESET_REPORT__INIT;

    r.job_id = rc->job;
    r.step = (Itl__ResetStep)step;
    r.sha1 = (char *)sha1;
    r.reason = (char *)reason;
    env.body_case = ITL__ENVELOPE__BODY_RESET_REPORT;
    env.reset_report = &r;
    s_send(rc->s, &env);
}

static void
s_on_order(sub_t *s, const Itl__ResetOrder *o)
{
    report_ctx_t rc = {s, o->job_id};

    log_notice("%s: reset order %" PRIu64 " from the publisher (%zu bytes)",
               s->cfg.hostname, o->job_id, o->itl.len);
    if (o->itl.len == 0 || o->itl.len > ITL_MAX_FILE) {
        char why[96];
        snprintf(why, sizeof(why), "refused an ITL of %zu bytes (limit %d)",
                 o->itl.len, ITL_MAX_FILE);
        s_report(&rc, ITL__RESET_STEP__FAILED, tftpnode_sha1(s->node), why);
        return;
    }
    tftpnode_order_t to = {o->job_id, o->itl.data, o->itl.len, o->timestamp,
                           0,         NULL,        0};
    if (o->has_sent_at)
        to.expires = (long long)o->sent_at + o->deadline_ms / 1000;
    if (o->has_signer_der) {
        to.signer_der = o->signer_der.data;
        to.signer_len = o->signer_der.len;
    }
    (void)tftpnode_apply_reset(s->node, &to, s_report, &rc);
}

static void
s_on_message(sub_t *s, transport_msg_t *m)
{
    s->last_heard = time_mono_ms();
    switch (m->env->body_case) {
    case ITL__ENVELOPE__BODY_WELCOME:
        if (m->env->welcome->reregister) {
            log_info("%s: the publisher asks for a new registration",
                     s->cfg.hostname);
            s_register(s);
        } else {
            if (!s->welcomed)
                log_notice("%s: registered with publisher %.63s",
                           s->cfg.hostname, m->env->welcome->publisher);
            s->welcomed = 1;
        }
        break;
    case ITL__ENVELOPE__BODY_CERT_SET:
        if (m->env->cert_set->generation == 0 ||
            m->env->cert_set->n_certs > 8192) {
            log_warning("%s: dropped an implausible certificate set",
                        s->cfg.hostname);
            break;
        }
        if (tftpnode_set_certset(s->node, m->env->cert_set) != ERR_OK)
            log_err("%s: cannot take the certificate set: %s", s->cfg.hostname,
                    err_detail());
        break;
    case ITL__ENVELOPE__BODY_RESET_ORDER:
        s_on_order(s, m->env->reset_order);
        break;
    default:
        log_warning("%s: dropped an unexpected message (%d) from the "
                    "publisher",
                    s->cfg.hostname, (int)m->env->body_case);
    }
}

/* ---- admin commands ----------------------------------------------------- */

static int s_load_der(sub_t *s, const char *name, ProtobufCBinaryData *out);

/*
 * set cert regen through the agent. A new CallManager or TVS certificate
 * goes to the publisher at once (a new registration), so that the other
 * nodes' ITLs list it; this node's own ITL takes it at its next normal
 * TFTP restart.
 */
static void
s_regen(sub_t *s, const adminsock_req_t *r)
{
    const char *name;
    int status = agentcmd_regen(s->admin, r, &s->cfg, &name);
    ProtobufCBinaryData *der = NULL;

    if (name != NULL && strcasecmp(name, "CallManager") == 0)
        der = &s->cm_der;
    else if (name != NULL && strcasecmp(name, "TVS") == 0)
        der = &s->tvs_der;
    if (der != NULL) {
        ProtobufCBinaryData fresh = {0, NULL};
        if (s_load_der(s, der == &s->cm_der ? "callmanager" : "tvs", &fresh) !=
            ERR_OK) {
            log_err("%s: cannot load the new certificate: %s", s->cfg.hostname,
                    err_detail());
            adminsock_line(s->admin, r->rid, r->ridlen, 1,
                           "error: cannot load the new certificate: %s",
                           err_detail());
            status = 2;
        } else {
            OPENSSL_free(der->data);
            *der = fresh;
            s_register(s);
            adminsock_line(s->admin, r->rid, r->ridlen, 0,
                           "Sent the new certificate to the publisher; "
                           "the other nodes' ITLs will list it.");
        }
    }
    adminsock_done(s->admin, r->rid, r->ridlen, status);
}

static void
s_on_admin(sub_t *s)
{
    static const char *const reset[] = {"utils", "itl", "reset", NULL};
    static const char *const cluster[] = {"show", "cluster", NULL};
    static const char *const itlcluster[] = {"show", "itl", "cluster", NULL};
    static const char *const history[] = {"itl-history", NULL};
    static const char *const regen[] = {"set", "cert", "regen", NULL};
    static const char *const lastjob[] = {"show", "reset", NULL};
    static const char *const backup[] = {"show", "backup", NULL};
    adminsock_req_t r;

    if (adminsock_recv(s->admin, &r) != ERR_OK)
        return;
    if (agentcmd_common(s->admin, &r, s->node, &s->cfg)) {
        /* answered */
    } else if (agentcmd_is(r.req, regen)) {
        s_regen(s, &r);
    } else if (agentcmd_is(r.req, reset) || agentcmd_is(r.req, cluster) ||
               agentcmd_is(r.req, itlcluster) || agentcmd_is(r.req, history) ||
               agentcmd_is(r.req, lastjob) || agentcmd_is(r.req, backup)) {
        adminsock_line(s->admin, r.rid, r.ridlen, 1,
                       "This is not a publisher node");
        adminsock_done(s->admin, r.rid, r.ridlen, 1);
    } else {
        adminsock_line(s->admin, r.rid, r.ridlen, 1,
                       "The subscriber agent does not know the command "
                       "'%.64s'",
                       r.req->argv[0]);
        adminsock_done(s->admin, r.rid, r.ridlen, 2);
    }
    adminsock_req_clear(&r);
}

/* ---- start and loop ----------------------------------------------------- */

static int
s_load_der(sub_t *s, const char *name, ProtobufCBinaryData *out)
{
    char dir[300];
    X509 *x = NULL;
    unsigned char *der = NULL;
    int rc, n;

    snprintf(dir, sizeof(dir), "%s/keys", s->cfg.state_dir);
    rc = keystore_load(dir, name, NULL, &x);
    if (rc != ERR_OK)
        return rc;
    n = i2d_X509(x, &der);
    X509_free(x);
    if (n <= 0)
        return err_set_ssl(ERR_CRYPTO, "cannot encode %s/%s.pem", dir, name);
    out->data = der;
    out->len = (size_t)n;
    return ERR_OK;
}

static int
s_start(sub_t *s)
{
    char admin[300], endpoint[160], flag[300];
    int rc, created = 0;

    s->ctx = zmq_ctx_new();
    if ((rc = agent_lock_state(&s->cfg)) != ERR_OK)
        return rc;
    if ((rc = agent_curve_keys(&s->cfg, &s->keys, &created)) != ERR_OK ||
        (rc = agent_enrol_key(&s->cfg, s->enrol_key)) != ERR_OK ||
        (rc = s_load_der(s, "callmanager", &s->cm_der)) != ERR_OK ||
        (rc = s_load_der(s, "tvs", &s->tvs_der)) != ERR_OK)
        return err_set(rc,
                       "cannot load the node's keys: %s (did you run "
                       "'itl-subscriber init'?)",
                       err_detail());
    config_state_path(&s->cfg, "enrolled", flag, sizeof(flag));
    if (created && fs_exists(flag)) {
        /* The publisher knows the old key only: enrol the new one. */
        log_warning("%s: made a new CURVE key pair (STATE/curve.key was "
                    "missing); enrolling it with the publisher again",
                    s->cfg.hostname);
        unlink(flag);
    }
    s->node = tftpnode_new(&s->cfg);
    if (s->node == NULL)
        return err_set(ERR_IO, "cannot set up the TFTP node");
    if ((rc = tftpnode_start(s->node)) != ERR_OK)
        return rc;
    if (tvs_server_start(&s->cfg) != ERR_OK)
        log_err("%s: no TVS: %s", s->cfg.hostname, err_detail());
    agent_admin_path(&s->cfg, admin, sizeof(admin));
    s->admin = adminsock_bind(s->ctx, admin, s->cfg.admin_group);
    if (s->admin == NULL)
        return ERR_NET;
    if ((rc = s_enrol(s)) != ERR_OK)
        return rc;
    if ((rc = agent_endpoint(s->cfg.publisher, 0, endpoint,
                             sizeof(endpoint))) != ERR_OK)
        return rc;
    s->dealer = transport_client(s->ctx, ZMQ_DEALER, endpoint, &s->keys,
                                 s->cfg.publisher_key);
    if (s->dealer == NULL)
        return ERR_NET;
    log_notice("subscriber %s connecting to the publisher at %s, serving "
               "ITL %s",
               s->cfg.hostname, endpoint, tftpnode_sha1(s->node));
    s_register(s);
    return ERR_OK;
}

static void
s_tick(sub_t *s)
{
    long long now = time_mono_ms();

    if (now - s->last_hb >= s->cfg.heartbeat_ms)
        s_heartbeat(s);
    /* No welcome: the publisher lost us, or never got the registration. */
    if (!s->welcomed && now - s->registered_at > s->cfg.heartbeat_timeout_ms) {
        log_warning("%s: no answer from the publisher at %s for %d ms; "
                    "registering again",
                    s->cfg.hostname, s->cfg.publisher,
                    s->cfg.heartbeat_timeout_ms);
        s_register(s);
    }
    tftpnode_check(s->node);
}

static void
s_loop(sub_t *s)
{
    while (!agent_stop) {
        zmq_pollitem_t items[] = {{s->dealer, 0, ZMQ_POLLIN, 0},
                                  {s->admin, 0, ZMQ_POLLIN, 0}};
        transport_msg_t m;
        int rc;

        if (zmq_poll(items, 2, 100) < 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN) {
            while ((rc = transport_recv(s->dealer, 0, s->cfg.cluster_id, &m)) !=
                   ERR_NOTFOUND) {
                if (rc == ERR_OK)
                    s_on_message(s, &m);
                transport_msg_clear(&m);
            }
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_on_admin(s);
        s_tick(s);
    }
}

static void
s_cleanup(sub_t *s)
{
    tvs_server_stop();
    tftpnode_destroy(&s->node);
    if (s->dealer)
        zmq_close(s->dealer);
    if (s->admin) {
        char path[300];
        zmq_close(s->admin);
        /* A socket file left behind would look like a live agent. */
        agent_admin_path(&s->cfg, path, sizeof(path));
        unlink(path);
    }
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    OPENSSL_free(s->cm_der.data);
    OPENSSL_free(s->tvs_der.data);
    OPENSSL_cleanse(s->enrol_key, sizeof(s->enrol_key));
    OPENSSL_cleanse(&s->keys, sizeof(s->keys));
}

int
main(int argc, char **argv)
{
    sub_t s;
    agent_opts_t o;
    int rc;

    memset(&s, 0, sizeof(s));
    rc = agent_parse_args("itl-subscriber", argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    if (agent_load_config(&o, CONFIG_SUBSCRIBER, &s.cfg) < 0)
        return 2;
    if (strcmp(o.command, "check-config") == 0) {
        printf("%s: configuration is valid\n", o.config_path);
        return 0;
    }
    log_init("itl-subscriber", !o.foreground, s.cfg.log_level);
    if (strcmp(o.command, "init") == 0)
        return agent_init(&o, &s.cfg);
    if (strcmp(o.command, "show-key") == 0) {
        if (agent_curve_keys(&s.cfg, &s.keys, NULL) != ERR_OK) {
            fprintf(stderr, "%s\n", err_detail());
            return 1;
        }
        printf("%s\n", s.keys.pub);
        return 0;
    }
    agent_signals();
    rc = s_start(&s);
    if (rc == ERR_OK) {
        s_loop(&s);
        log_notice("subscriber %s stopping", s.cfg.hostname);
    } else if (!agent_stop) {
        log_err("%s: cannot start: %s", s.cfg.hostname, err_detail());
    }
    s_cleanup(&s);
    return rc == ERR_OK ? 0 : 1;
}

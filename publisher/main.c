/*
 * itl-publisher: the agent of the node that owns the cluster's ITLRecovery
 * key. It enrols and tracks the subscribers, hands out the certificate set,
 * runs bulk ITL resets and is a TFTP node itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <openssl/crypto.h>
#include <zmq.h>

#include "adminsock.h"
#include "agent.h"
#include "log.h"
#include "prompt.h"
#include "publisher.h"
#include "tvs.h"

static int
s_open_sockets(pub_t *p)
{
    char cluster[160], enrol[160], admin[300];

    if (agent_endpoint(p->cfg.listen, 0, cluster, sizeof(cluster)) ||
        agent_endpoint(p->cfg.listen, 1, enrol, sizeof(enrol)))
        return ERR_ARG;
    p->zap = zap_start(p->ctx);
    if (p->zap == NULL)
        return ERR_NET;
    p->cluster = transport_server(p->ctx, ZMQ_ROUTER, cluster, &p->keys,
                                  TRANSPORT_DOMAIN_CLUSTER);
    if (p->cluster == NULL)
        return ERR_NET;
    p->enrol = transport_server(p->ctx, ZMQ_ROUTER, enrol, &p->keys,
                                TRANSPORT_DOMAIN_ENROL);
    if (p->enrol == NULL)
        return ERR_NET;
    agent_admin_path(&p->cfg, admin, sizeof(admin));
    p->admin = adminsock_bind(p->ctx, admin, p->cfg.admin_group);
    if (p->admin == NULL)
        return ERR_NET;
    log_notice("publisher %s listening on %s (enrolment on %s), admin "
               "socket %s",
               p->cfg.hostname, cluster, enrol, admin);
    return ERR_OK;
}

static void
s_drain(pub_t *p, void *sock, void (*handle)(pub_t *, transport_msg_t *))
{
    transport_msg_t m;
    int rc;

    while ((rc = transport_recv(sock, 1, p->cfg.cluster_id, &m)) !=
           ERR_NOTFOUND) {
        if (rc == ERR_OK)
            handle(p, &m);
        transport_msg_clear(&m);
    }
}

static void
s_loop(pub_t *p)
{
    while (!agent_stop) {
        zmq_pollitem_t items[] = {{p->cluster, 0, ZMQ_POLLIN, 0},
                                  {p->enrol, 0, ZMQ_POLLIN, 0},
                                  {p->admin, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 3, 100) < 0)
            continue; /* EINTR: a signal; the loop test decides */
        if (items[0].revents & ZMQ_POLLIN)
            s_drain(p, p->cluster, pub_cluster_on_message);
        if (items[1].revents & ZMQ_POLLIN)
            s_drain(p, p->enrol, pub_enrol_on_message);
        if (items[2].revents & ZMQ_POLLIN)
            pub_admin_on_request(p);
        pub_cluster_tick(p);
        pub_reset_tick(p);
        pub_key_tick(p, (long long)time(NULL));
        tftpnode_check(p->node);
    }
}

static int
s_run(pub_t *p)
{
    int rc, created = 0;

    agent_signals();
    p->ctx = zmq_ctx_new();
    if ((rc = agent_lock_state(&p->cfg)) != ERR_OK) {
        log_err("%s: %s", p->cfg.hostname, err_detail());
        return 1;
    }
    if ((rc = agent_curve_keys(&p->cfg, &p->keys, &created)) != ERR_OK ||
        (rc = agent_enrol_key(&p->cfg, p->enrol_key)) != ERR_OK) {
        log_err("%s: cannot load the node's keys: %s (did you run "
                "'itl-publisher init'?)",
                p->cfg.hostname, err_detail());
        return 1;
    }
    if (created)
        log_warning("%s: made a new CURVE key pair (STATE/curve.key was "
                    "missing): every subscriber's publisher_key must be "
                    "changed to %s, or they cannot reach this publisher",
                    p->cfg.hostname, p->keys.pub);
    if ((rc = s_open_sockets(p)) != ERR_OK) {
        log_err("%s", err_detail());
        return 1;
    }
    p->node = tftpnode_new(&p->cfg);
    if (p->node == NULL)
        return 1;
    if ((rc = pub_cluster_load(p)) != ERR_OK ||
        (rc = pub_jobs_load(p)) != ERR_OK ||
        (rc = pub_history_load(p)) != ERR_OK ||
        (rc = tftpnode_start(p->node)) != ERR_OK ||
        (rc = pub_certset_refresh(p)) != ERR_OK) {
        log_err("%s: cannot start: %s", p->cfg.hostname, err_detail());
        return 1;
    }
    if (tvs_server_start(&p->cfg) != ERR_OK)
        log_err("%s: no TVS: %s", p->cfg.hostname, err_detail());
    {
        char last[2600];
        if (pub_reset_describe_last(p, last, sizeof(last)) == ERR_REFUSED)
            log_warning("%s. Run 'itl-admin utils itl reset localkey' again "
                        "to finish it; nodes that confirmed it are not "
                        "changed",
                        last);
    }
    log_notice("publisher %s ready: %zu known subscribers, serving ITL %s",
               p->cfg.hostname, p->nmembers, tftpnode_sha1(p->node));
    pub_key_tick(p, (long long)time(NULL));
    s_loop(p);
    log_notice("publisher %s stopping", p->cfg.hostname);
    return 0;
}

static void
s_cleanup(pub_t *p)
{
    tvs_server_stop();
    pub_history_free(p);
    tftpnode_destroy(&p->node);
    if (p->cluster)
        zmq_close(p->cluster);
    if (p->enrol)
        zmq_close(p->enrol);
    if (p->admin) {
        char path[300];
        zmq_close(p->admin);
        /* A socket file left behind would look like a live agent. */
        agent_admin_path(&p->cfg, path, sizeof(path));
        unlink(path);
    }
    zap_stop(&p->zap);
    if (p->ctx)
        zmq_ctx_term(p->ctx);
    for (size_t i = 0; i < p->nmembers; i++) {
        if (p->members[i].reg)
            itl__register__free_unpacked(p->members[i].reg, NULL);
    }
    free(p->members);
    free(p->job.nodes);
    OPENSSL_cleanse(p->enrol_key, sizeof(p->enrol_key));
    OPENSSL_cleanse(&p->keys, sizeof(p->keys));
}

int
main(int argc, char **argv)
{
    static pub_t p; /* large: the member table and pending enrolments */
    agent_opts_t o;
    int rc;

    rc = agent_parse_args("itl-publisher", argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    if (agent_load_config(&o, CONFIG_PUBLISHER, &p.cfg) < 0)
        return 2;
    if (strcmp(o.command, "check-config") == 0) {
        printf("%s: configuration is valid\n", o.config_path);
        return 0;
    }
    log_init("itl-publisher", !o.foreground, p.cfg.log_level);
    if (strcmp(o.command, "init") == 0)
        return agent_init(&o, &p.cfg);
    if (strcmp(o.command, "show-key") == 0) {
        if (agent_curve_keys(&p.cfg, &p.keys, NULL) != ERR_OK) {
            fprintf(stderr, "%s\n", err_detail());
            return 1;
        }
        printf("%s\n", p.keys.pub);
        return 0;
    }
    rc = s_run(&p);
    s_cleanup(&p);
    return rc;
}

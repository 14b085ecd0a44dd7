#include "agentcmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "tvs.h"
#include "node.h"

int
agentcmd_is(const Itl__AdminRequest *req, const char *const *words)
{
    size_t i;

    for (i = 0; words[i] != NULL; i++) {
        if (i >= req->n_argv || strcmp(req->argv[i], words[i]) != 0)
            return 0;
    }
    return 1;
}

/* Copies s into buf as the inside of a JSON string (escaped). */
static const char *
s_json_text(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    for (; *s != '\0' && n + 7 < len; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            n += (size_t)snprintf(buf + n, len - n, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            n += (size_t)snprintf(buf + n, len - n, "\\u%04x", c);
        else
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return buf;
}

static void
s_restart(void *admin, const adminsock_req_t *r, tftpnode_t *node,
          const config_t *cfg)
{
    adminsock_line(admin, r->rid, r->ridlen, 0,
                   "Restarting TFTP service on host %s", cfg->hostname);
    if (tftpnode_restart_normal(node) != ERR_OK) {
        log_err("%s: normal TFTP restart failed: %s", cfg->hostname,
                err_detail());
        adminsock_line(admin, r->rid, r->ridlen, 1,
                       "TFTP restart failed on host %s: %s", cfg->hostname,
                       err_detail());
        adminsock_done(admin, r->rid, r->ridlen, 1);
        return;
    }
    log_notice("%s: TFTP service restarted normally, serving its own ITL "
               "%s",
               cfg->hostname, tftpnode_sha1(node));
    adminsock_line(admin, r->rid, r->ridlen, 0,
                   "TFTP service restarted on host %s; it serves its own "
                   "ITL (SHA1 %s, signed by %s)",
                   cfg->hostname, tftpnode_sha1(node), tftpnode_signer(node));
    adminsock_done(admin, r->rid, r->ridlen, 0);
}

int
agentcmd_common(void *admin, const adminsock_req_t *r, tftpnode_t *node,
                const config_t *cfg)
{
    static const char *const path[] = {"itl-path", NULL};
    static const char *const restart[] = {"utils", "service", "restart", "tftp",
                                          NULL};
    static const char *const status[] = {"status", NULL};
    static const char *const role[] = {"role", NULL};
    static const char *const state[] = {"state-dir", NULL};

    if (agentcmd_is(r->req, path)) {
        adminsock_line(admin, r->rid, r->ridlen, 0, "%s",
                       tftpnode_itl_path(node));
        adminsock_done(admin, r->rid, r->ridlen, 0);
        return 1;
    }
    if (agentcmd_is(r->req, state)) {
        adminsock_line(admin, r->rid, r->ridlen, 0, "%s", cfg->state_dir);
        adminsock_done(admin, r->rid, r->ridlen, 0);
        return 1;
    }
    if (agentcmd_is(r->req, role)) {
        adminsock_line(admin, r->rid, r->ridlen, 0, "%s",
                       cfg->role == CONFIG_PUBLISHER ? "publisher"
                                                     : "subscriber");
        adminsock_done(admin, r->rid, r->ridlen, 0);
        return 1;
    }
    if (agentcmd_is(r->req, restart)) {
        s_restart(admin, r, node, cfg);
        return 1;
    }
    if (agentcmd_is(r->req, status) && r->req->json) {
        char host[512], signer[2048];

        adminsock_line(
            admin, r->rid, r->ridlen, 0,
            "{\"node\":\"%s\",\"role\":\"%s\",\"sha1\":\"%s\","
            "\"signer\":\"%s\",\"reset\":%s,\"tftp_up\":%s}",
            s_json_text(cfg->hostname, host, sizeof(host)),
            cfg->role == CONFIG_PUBLISHER ? "publisher" : "subscriber",
            tftpnode_sha1(node),
            s_json_text(tftpnode_signer(node), signer, sizeof(signer)),
            tftpnode_in_reset(node) ? "true" : "false",
            tftpnode_serving(node) ? "true" : "false");
        adminsock_done(admin, r->rid, r->ridlen, 0);
        return 1;
    }
    if (agentcmd_is(r->req, status)) {
        adminsock_line(
            admin, r->rid, r->ridlen, 0,
            "%s: %s; serving ITL %s signed by %s (%s)", cfg->hostname,
            cfg->role == CONFIG_PUBLISHER ? "publisher" : "subscriber",
            tftpnode_sha1(node), tftpnode_signer(node),
            tftpnode_in_reset(node) ? "reset ITL" : "node's own ITL");
        if (!tftpnode_serving(node))
            adminsock_line(admin, r->rid, r->ridlen, 1,
                           "%s: the TFTP service is DOWN: phones cannot "
                           "download this ITL (see the agent's log)",
                           cfg->hostname);
        adminsock_done(admin, r->rid, r->ridlen,
                       tftpnode_serving(node) ? 0 : 1);
        return 1;
    }
    return 0;
}

/* Sends msg line by line (node_regen's text ends each line with \n). */
static void
s_lines(void *admin, const adminsock_req_t *r, int is_err, const char *prefix,
        const char *msg)
{
    while (*msg != '\0') {
        size_t n = strcspn(msg, "\n");
        adminsock_line(admin, r->rid, r->ridlen, is_err, "%s%.*s", prefix,
                       (int)n, msg);
        msg += n;
        msg += *msg == '\n';
    }
}

int
agentcmd_regen(void *admin, const adminsock_req_t *r, const config_t *cfg,
               const char **name)
{
    const Itl__AdminRequest *q = r->req;
    time_t now = time(NULL);
    char msg[2048], *end = NULL;
    size_t argi;
    int rc, check;

    *name = NULL;
    /* set cert regen NAME [--check-only] [--now UNIXTIME] */
    argi = 4;
    check = argi < q->n_argv && strcmp(q->argv[argi], "--check-only") == 0;
    argi += check;
    if (argi + 2 == q->n_argv && strcmp(q->argv[argi], "--now") == 0) {
        const char *v = q->argv[argi + 1];
        errno = 0;
        now = (time_t)strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0' || v[0] == '\0' || now < 0) {
            adminsock_line(admin, r->rid, r->ridlen, 1,
                           "error: --now '%.40s' is not a unix time", v);
            return 2;
        }
        argi += 2;
        if (!check)
            log_notice("%s: certificate regeneration with the test clock "
                       "at %lld",
                       cfg->hostname, (long long)now);
    }
    if (q->n_argv < 4 || argi != q->n_argv) {
        adminsock_line(admin, r->rid, r->ridlen, 1,
                       "usage: set cert regen "
                       "CallManager|TVS|CAPF|ITLRecovery [--now UNIXTIME]");
        return 2;
    }
    if (check) {
        /* Asked before the operator confirms: check, change nothing. */
        rc =
            node_regen_check(cfg->state_dir, q->argv[3], now, msg, sizeof(msg));
        if (rc != ERR_OK)
            s_lines(admin, r, 1, "error: ", msg);
        return rc == ERR_OK ? 0 : rc == ERR_HOLD ? 1 : 2;
    }
    rc = node_regen(cfg->state_dir, q->argv[3], now, msg, sizeof(msg));
    if (rc != ERR_OK) {
        log_warning("%s: regeneration of %.40s refused: %s", cfg->hostname,
                    q->argv[3], msg);
        s_lines(admin, r, 1, "error: ", msg);
        return rc == ERR_HOLD ? 1 : 2;
    }
    log_notice("%s: regenerated the %.40s certificate on the admin socket",
               cfg->hostname, q->argv[3]);
    s_lines(admin, r, 0, "", msg);
    if (strcasecmp(q->argv[3], "TVS") == 0) {
        /* The TVS restarts at once with its new certificate, as the
         * cluster's TVS service does; the ITL waits for a TFTP restart. */
        tvs_server_stop();
        if (tvs_server_start(cfg) != ERR_OK)
            log_err("%s: the TVS did not restart with its new certificate: "
                    "%s",
                    cfg->hostname, err_detail());
        else
            adminsock_line(admin, r->rid, r->ridlen, 0,
                           "The TVS service restarted with the new "
                           "certificate.");
    }
    *name = q->argv[3];
    return 0;
}

#include "agentcmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

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
               "%s", cfg->hostname, tftpnode_sha1(node));
    adminsock_line(admin, r->rid, r->ridlen, 0,
                   "TFTP service restarted on host %s; it serves its own "
                   "ITL (SHA1 %s, signed by %s)", cfg->hostname,
                   tftpnode_sha1(node), tftpnode_signer(node));
    adminsock_done(admin, r->rid, r->ridlen, 0);
}

int
agentcmd_common(void *admin, const adminsock_req_t *r, tftpnode_t *node,
                const config_t *cfg)
{
    static const char *const path[] = {"itl-path", NULL};
    static const char *const restart[] = {"utils", "service", "restart",
                                          "tftp", NULL};
    static const char *const status[] = {"status", NULL};
    static const char *const role[] = {"role", NULL};

    if (agentcmd_is(r->req, path)) {
        adminsock_line(admin, r->rid, r->ridlen, 0, "%s",
                       tftpnode_itl_path(node));
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
            "\"signer\":\"%s\",\"reset\":%s}",
            s_json_text(cfg->hostname, host, sizeof(host)),
            cfg->role == CONFIG_PUBLISHER ? "publisher" : "subscriber",
            tftpnode_sha1(node),
            s_json_text(tftpnode_signer(node), signer, sizeof(signer)),
            tftpnode_in_reset(node) ? "true" : "false");
        adminsock_done(admin, r->rid, r->ridlen, 0);
        return 1;
    }
    if (agentcmd_is(r->req, status)) {
        adminsock_line(admin, r->rid, r->ridlen, 0,
                       "%s: %s; serving ITL %s signed by %s (%s)",
                       cfg->hostname,
                       cfg->role == CONFIG_PUBLISHER ? "publisher"
                                                     : "subscriber",
                       tftpnode_sha1(node), tftpnode_signer(node),
                       tftpnode_in_reset(node) ? "reset ITL"
                                               : "node's own ITL");
        adminsock_done(admin, r->rid, r->ridlen, 0);
        return 1;
    }
    return 0;
}

#include "agentcmd.h"

#include <inttypes.h>
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

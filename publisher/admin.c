/*
 * The operator's commands on the publisher, received on the admin socket.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adminsock.h"
#include "agentcmd.h"
#include "fsutil.h"
#include "kdf.h"
#include "log.h"
#include "prompt.h"
#include "publisher.h"

#define LOCK_MAX_MS 30000

/*
 * Checks the administrator password. Wrong passwords lock the command out
 * for a time that doubles with each one in a row, so guessing is slow even
 * for a local user; the count goes to the log.
 */
static int
s_check_password(pub_t *p, const adminsock_req_t *r)
{
    char path[300];
    uint8_t *stored = NULL;
    size_t len;
    long long now = time_mono_ms();
    int rc;

    if (now < p->locked_until) {
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "Too many wrong passwords; try again in %lld s",
                       (p->locked_until - now + 999) / 1000);
        return ERR_PASSWORD;
    }
    if (r->req->password == NULL) {
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "This command needs the administrator password");
        return ERR_PASSWORD;
    }
    snprintf(path, sizeof(path), "%s/secrets/admin.hash", p->cfg.state_dir);
    rc = fs_read_file(path, 4096, &stored, &len);
    if (rc == ERR_OK) {
        while (len > 0 && (stored[len - 1] == '\n'))
            stored[--len] = '\0';
        rc = passwd_verify(r->req->password, (char *)stored);
        free(stored);
    }
    if (rc == ERR_OK) {
        p->bad_passwords = 0;
        return ERR_OK;
    }
    if (rc != ERR_PASSWORD) {
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "Cannot check the password: %s", err_detail());
        return rc;
    }
    p->bad_passwords++;
    long long lock = 1000LL << (p->bad_passwords < 5 ? p->bad_passwords : 5);
    p->locked_until = now + (lock < LOCK_MAX_MS ? lock : LOCK_MAX_MS);
    log_warning("wrong administrator password (%d in a row); admin "
                "commands locked for %lld ms", p->bad_passwords,
                p->locked_until - now);
    adminsock_line(p->admin, r->rid, r->ridlen, 1,
                   "Wrong administrator password");
    return ERR_PASSWORD;
}

static void
s_show_cluster(pub_t *p, const adminsock_req_t *r)
{
    const int json = r->req->json;

    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0, "[");
    else
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "%-20s %-10s %-7s %-40s %s", "NODE", "ROLE",
                       "STATE", "ITL SHA1", "SIGNER");
    const char *self_state = p->cfg.tftp ? "active" : "no-tftp";
    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "{\"node\":\"%s\",\"role\":\"publisher\","
                       "\"state\":\"%s\",\"sha1\":\"%s\"}%s",
                       p->cfg.hostname, self_state, tftpnode_sha1(p->node),
                       p->nmembers ? "," : "");
    else
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "%-20s %-10s %-7s %-40s %s", p->cfg.hostname,
                       "publisher", self_state, tftpnode_sha1(p->node),
                       tftpnode_signer(p->node));
    for (size_t i = 0; i < p->nmembers; i++) {
        member_t *m = &p->members[i];
        const char *st = pub_member_active(p, m) ? "active" : "down";
        if (json)
            adminsock_line(p->admin, r->rid, r->ridlen, 0,
                           "{\"node\":\"%s\",\"role\":\"subscriber\","
                           "\"state\":\"%s\",\"sha1\":\"%s\"}%s",
                           m->host, st, m->sha1,
                           i + 1 < p->nmembers ? "," : "");
        else
            adminsock_line(p->admin, r->rid, r->ridlen, 0,
                           "%-20s %-10s %-7s %-40s %s", m->host,
                           "subscriber", st, m->sha1[0] ? m->sha1 : "-",
                           m->signer[0] ? m->signer : "-");
    }
    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0, "]");
    adminsock_done(p->admin, r->rid, r->ridlen, 0);
}

void
pub_admin_on_request(pub_t *p)
{
    static const char *const reset[] = {"utils", "itl", "reset", "localkey",
                                        NULL};
    static const char *const remote[] = {"utils", "itl", "reset",
                                         "remotekey", NULL};
    static const char *const cluster[] = {"show", "cluster", NULL};
    adminsock_req_t r;

    if (adminsock_recv(p->admin, &r) != ERR_OK)
        return;
    if (agentcmd_common(p->admin, &r, p->node, &p->cfg)) {
        /* answered */
    } else if (agentcmd_is(r.req, reset) && r.req->n_argv == 4) {
        log_notice("reset localkey asked on the admin socket");
        if (s_check_password(p, &r) == ERR_OK)
            pub_reset_start(p, r.rid, r.ridlen, NULL);
        else
            adminsock_done(p->admin, r.rid, r.ridlen, 1);
    } else if (agentcmd_is(r.req, remote) && r.req->n_argv == 5) {
        log_notice("reset remotekey asked on the admin socket");
        if (s_check_password(p, &r) == ERR_OK)
            pub_key_remote_reset(p, &r);
        else
            adminsock_done(p->admin, r.rid, r.ridlen, 1);
    } else if (agentcmd_is(r.req, cluster)) {
        s_show_cluster(p, &r);
    } else if (pub_key_on_request(p, &r)) {
        /* answered */
    } else {
        adminsock_line(p->admin, r.rid, r.ridlen, 1,
                       "The publisher agent does not know the command "
                       "'%.64s'", r.req->argv[0]);
        adminsock_done(p->admin, r.rid, r.ridlen, 2);
    }
    adminsock_req_clear(&r);
}

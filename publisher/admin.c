/*
 * The operator's commands on the publisher, received on the admin socket.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <time.h>

#include "adminsock.h"
#include "agentcmd.h"
#include "fsutil.h"
#include "kdf.h"
#include "log.h"
#include "node.h"
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
    char stored[512];
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
    rc = node_admin_hash_load(p->cfg.state_dir, stored, sizeof(stored));
    if (rc == ERR_OK)
        rc = passwd_verify(r->req->password, stored);
    OPENSSL_cleanse(stored, sizeof(stored));
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
                "commands locked for %lld ms",
                p->bad_passwords, p->locked_until - now);
    adminsock_line(p->admin, r->rid, r->ridlen, 1,
                   "Wrong administrator password");
    return ERR_PASSWORD;
}

/* One node as the cluster commands show it (index 0: the publisher). */
typedef struct {
    const char *node, *role, *state, *sha1, *signer, *recovery;
} node_view_t;

static size_t
s_node_count(const pub_t *p)
{
    return p->nmembers + 1;
}

static void
s_node_view(pub_t *p, size_t i, node_view_t *v)
{
    if (i == 0) {
        v->node = p->cfg.hostname;
        v->role = "publisher";
        v->state = p->cfg.tftp ? "active" : "no-tftp";
        v->sha1 = tftpnode_sha1(p->node);
        v->signer = tftpnode_signer(p->node);
        v->recovery = tftpnode_recovery_sha1(p->node);
        return;
    }
    member_t *m = &p->members[i - 1];
    v->node = m->host;
    v->role = "subscriber";
    v->state = pub_member_active(p, m) ? "active" : "down";
    v->sha1 = m->sha1;
    v->signer = m->signer;
    v->recovery = m->recovery;
}

/* s as a JSON string body: quotes, backslashes and controls escaped. */
static const char *
s_json(const char *s, char *buf, size_t size)
{
    size_t o = 0;

    for (; s != NULL && *s != '\0' && o + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    return buf;
}

static const char *
s_or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static void
s_show_cluster(pub_t *p, const adminsock_req_t *r)
{
    const int json = r->req->json;
    const size_t n = s_node_count(p);
    node_view_t v;

    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0, "[");
    else
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "%-20s %-10s %-7s %-40s %s", "NODE", "ROLE", "STATE",
                       "ITL SHA1", "SIGNER");
    for (size_t i = 0; i < n; i++) {
        s_node_view(p, i, &v);
        if (json)
            adminsock_line(p->admin, r->rid, r->ridlen, 0,
                           "{\"node\":\"%s\",\"role\":\"%s\","
                           "\"state\":\"%s\",\"sha1\":\"%s\"}%s",
                           v.node, v.role, v.state, v.sha1,
                           i + 1 < n ? "," : "");
        else
            adminsock_line(p->admin, r->rid, r->ridlen, 0,
                           "%-20s %-10s %-7s %-40s %s", v.node, v.role, v.state,
                           s_or_dash(v.sha1), s_or_dash(v.signer));
    }
    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0, "]");
    adminsock_done(p->admin, r->rid, r->ridlen, 0);
}

/* UTC time as 2024-05-01T12:00:00Z, "-" for 0. */
static const char *
s_when(long long t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "-");
    return buf;
}

/*
 * show itl cluster: per node, the ITL it serves, whether it holds the
 * cluster's ITLRecovery certificate (yes, no, or old: another one), and
 * since when it serves it (from the history).
 */
static void
s_show_itl_cluster(pub_t *p, const adminsock_req_t *r)
{
    const int json = r->req->json;
    const size_t n = s_node_count(p);
    char when[32], esc[400];
    node_view_t v;

    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0, "[");
    else
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "%-20s %-7s %-40s %-8s %-20s %s", "NODE", "STATE",
                       "ITL SHA1", "RECOVERY", "SINCE", "SIGNER");
    for (size_t i = 0; i < n; i++) {
        s_node_view(p, i, &v);
        long long since = pub_history_since(p, v.node);
        const char *rec = pub_recovery_state(p, v.recovery);
        if (json)
            adminsock_line(p->admin, r->rid, r->ridlen, 0,
                           "{\"node\":\"%s\",\"role\":\"%s\","
                           "\"state\":\"%s\",\"sha1\":\"%s\","
                           "\"signer\":\"%s\",\"recovery\":\"%s\","
                           "\"recovery_sha1\":\"%s\",\"since\":%lld}%s",
                           v.node, v.role, v.state, v.sha1,
                           s_json(v.signer, esc, sizeof(esc)), rec, v.recovery,
                           since, i + 1 < n ? "," : "");
        else
            adminsock_line(p->admin, r->rid, r->ridlen, 0,
                           "%-20s %-7s %-40s %-8s %-20s %s", v.node, v.state,
                           s_or_dash(v.sha1), rec,
                           s_when(since, when, sizeof(when)),
                           s_or_dash(v.signer));
    }
    if (json)
        adminsock_line(p->admin, r->rid, r->ridlen, 0, "]");
    adminsock_done(p->admin, r->rid, r->ridlen, 0);
}

/*
 * itl-history, for itl-admin's audit: one line per ITL a node served,
 * tab-separated: SHA1 NODE RECOVERY(yes|no|old) FIRST LAST SIGNER.
 */
static void
s_itl_history(pub_t *p, const adminsock_req_t *r)
{
    for (size_t i = 0; i < pub_history_count(p); i++) {
        const hist_entry_t *e = pub_history_entry(p, i);
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "%s\t%s\t%s\t%lld\t%lld\t%s", e->sha1, e->node,
                       pub_recovery_state(p, e->recovery), e->first, e->last,
                       e->signer);
    }
    adminsock_done(p->admin, r->rid, r->ridlen, 0);
}

/*
 * set cert regen through the agent. The publisher's certificates are in
 * the set it hands out, so the set is rebuilt at once: the other nodes'
 * ITLs list the new certificate; the publisher's own ITL takes a new
 * CallManager or TVS at its next normal TFTP restart.
 */
static void
s_regen(pub_t *p, const adminsock_req_t *r)
{
    const char *name;
    int status = agentcmd_regen(p->admin, r, &p->cfg, &name);

    if (name != NULL && pub_certset_refresh(p) != ERR_OK) {
        log_err("cannot rebuild the certificate set: %s", err_detail());
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "error: cannot hand out the new certificate: %s",
                       err_detail());
        status = 2;
    }
    adminsock_done(p->admin, r->rid, r->ridlen, status);
}

void
pub_admin_on_request(pub_t *p)
{
    static const char *const reset[] = {"utils", "itl", "reset", "localkey",
                                        NULL};
    static const char *const remote[] = {"utils", "itl", "reset", "remotekey",
                                         NULL};
    static const char *const cluster[] = {"show", "cluster", NULL};
    static const char *const itlcluster[] = {"show", "itl", "cluster", NULL};
    static const char *const history[] = {"itl-history", NULL};
    static const char *const regen[] = {"set", "cert", "regen", NULL};
    static const char *const lastjob[] = {"show", "reset", NULL};
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
    } else if (agentcmd_is(r.req, itlcluster)) {
        s_show_itl_cluster(p, &r);
    } else if (agentcmd_is(r.req, history)) {
        s_itl_history(p, &r);
    } else if (agentcmd_is(r.req, regen)) {
        s_regen(p, &r);
    } else if (agentcmd_is(r.req, lastjob)) {
        char line[2600];
        int rc = pub_reset_describe_last(p, line, sizeof(line));
        if (rc == ERR_OK || rc == ERR_REFUSED)
            adminsock_line(p->admin, r.rid, r.ridlen, 0, "%s", line);
        else
            adminsock_line(p->admin, r.rid, r.ridlen, 1, "%s", err_detail());
        adminsock_done(p->admin, r.rid, r.ridlen, rc == ERR_OK ? 0 : 1);
    } else {
        adminsock_line(p->admin, r.rid, r.ridlen, 1,
                       "The publisher agent does not know the command "
                       "'%.64s'",
                       r.req->argv[0]);
        adminsock_done(p->admin, r.rid, r.ridlen, 2);
    }
    adminsock_req_clear(&r);
}

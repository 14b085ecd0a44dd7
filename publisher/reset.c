/*
 * Bulk ITL reset jobs: build the recovery-signed ITL from the publisher's
 * current one, order every active TFTP node (the publisher included, by the
 * same code) to install it, and report each step to the operator as the
 * nodes answer, until all did or the deadline passed.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "adminsock.h"
#include "fsutil.h"
#include "itl.h"
#include "journal.h"
#include "log.h"
#include "node.h"
#include "prompt.h"
#include "publisher.h"

#define JOBS_STATE "jobs.state"

static void s_say(pub_t *p, int is_err, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void
s_say(pub_t *p, int is_err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    adminsock_line(p->admin, p->job.rid, p->job.ridlen, is_err, "%s", line);
}

int
pub_jobs_load(pub_t *p)
{
    char path[300];
    FILE *f;

    config_state_path(&p->cfg, JOBS_STATE, path, sizeof(path));
    f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? ERR_OK
                               : err_set(ERR_IO, "cannot read %s: %s", path,
                                         strerror(errno));
    if (fscanf(f, "last_job = %" SCNu64 " last_ts = %u", &p->last_job,
               &p->last_ts) != 2) {
        /* The numbers only need to grow: go on from the journal's last job
         * and the clock, which is what a new file would hold. */
        journal_job_t jj;
        fclose(f);
        p->last_job = 0;
        p->last_ts = (uint32_t)time(NULL);
        if (journal_last(p->cfg.state_dir, &jj) == ERR_OK)
            p->last_job = jj.id;
        free(jj.nodes);
        log_warning("%s is damaged; going on from job %" PRIu64 " and the "
                    "current time (it is rewritten at the next reset)",
                    path, p->last_job);
        return ERR_OK;
    }
    fclose(f);
    return ERR_OK;
}

static int
s_jobs_save(const pub_t *p)
{
    char path[300], text[128];

    config_state_path(&p->cfg, JOBS_STATE, path, sizeof(path));
    snprintf(text, sizeof(text), "last_job = %" PRIu64 "\nlast_ts = %u\n",
             p->last_job, p->last_ts);
    return fs_write_durable(path, text, strlen(text), 0644, 0);
}

static void
s_job_clear(job_t *j)
{
    free(j->nodes);
    OPENSSL_free(j->signer_der);
    if (j->newkey != NULL) {
        OPENSSL_cleanse(j->newkey, j->newkeylen);
        free(j->newkey);
    }
    memset(j, 0, sizeof(*j));
}

/* remotekey: the fetched key file replaces the local one, on success only. */
static void
s_finish_key(pub_t *p, int complete)
{
    job_t *j = &p->job;

    if (j->newkey == NULL)
        return;
    if (!complete) {
        s_say(p, 1,
              "The local ITLRecovery.p12 was not replaced, because "
              "the reset is incomplete.");
        return;
    }
    if (pub_key_adopt(p, j) != ERR_OK) {
        s_say(p, 1,
              "The reset is done, but the fetched key file could not "
              "replace the local one: %s",
              err_detail());
        log_err("remotekey: cannot install the fetched key file: %s",
                err_detail());
        return;
    }
    s_say(p, 0,
          "The fetched ITLRecovery.p12 replaced the local key file; "
          "the previous one is kept as ITLRecovery.p12.prev.");
}

static void
s_finish(pub_t *p)
{
    job_t *j = &p->job;
    size_t ok = 0;

    for (size_t i = 0; i < j->nnodes; i++) {
        if (j->nodes[i].state == JN_RESTARTED)
            ok++;
    }
    if (ok == j->nnodes) {
        s_say(p, 0,
              "Reset complete: all %zu active TFTP nodes serve the "
              "reset ITL (SHA1 %s). Reset the phones now so that they "
              "download it.",
              j->nnodes, j->sha1);
        log_notice("reset job %" PRIu64 " complete on %zu nodes", j->id,
                   j->nnodes);
    } else {
        s_say(p, 1,
              "Reset incomplete: %zu of %zu active TFTP nodes serve "
              "the reset ITL (SHA1 %s).",
              ok, j->nnodes, j->sha1);
        for (size_t i = 0; i < j->nnodes; i++) {
            if (j->nodes[i].state != JN_RESTARTED)
                s_say(p, 1, "  %s: %s", j->nodes[i].host, j->nodes[i].reason);
        }
        s_say(p, 1,
              "Fix the nodes above and run the reset again; nodes "
              "that are done are not harmed by a rerun.");
        log_warning("reset job %" PRIu64 " incomplete: %zu of %zu nodes", j->id,
                    ok, j->nnodes);
    }
    journal_done(p->cfg.state_dir, ok == j->nnodes);
    s_finish_key(p, ok == j->nnodes);
    adminsock_done(p->admin, j->rid, j->ridlen, ok == j->nnodes ? 0 : 1);
    s_job_clear(j);
}

static job_node_t *
s_job_node(pub_t *p, const char *host)
{
    for (size_t i = 0; i < p->job.nnodes; i++) {
        if (strcmp(p->job.nodes[i].host, host) == 0)
            return &p->job.nodes[i];
    }
    return NULL;
}

static void
s_check_done(pub_t *p)
{
    for (size_t i = 0; i < p->job.nnodes; i++) {
        int s = p->job.nodes[i].state;
        if (s != JN_RESTARTED && s != JN_FAILED)
            return;
    }
    s_finish(p);
}

void
pub_reset_on_report(pub_t *p, const char *host, const Itl__ResetReport *r)
{
    job_node_t *n;

    if (!p->job.running || r->job_id != p->job.id ||
        (n = s_job_node(p, host)) == NULL) {
        log_info("ignored a report of job %" PRIu64 " from %s (late or "
                 "unknown)",
                 r->job_id, host);
        return;
    }
    if (n->state == JN_FAILED || n->state == JN_RESTARTED)
        return; /* a duplicate report changes nothing */
    if (r->sha1 != NULL)
        snprintf(n->sha1, sizeof(n->sha1), "%.40s", r->sha1);
    switch (r->step) {
    case ITL__RESET_STEP__TRANSFERRED:
        n->state = JN_TRANSFERRED;
        s_say(p, 0, "Successfully transferred reset ITL to node %s", host);
        s_say(p, 0, "Restarting TFTP service on host %s", host);
        snprintf(n->reason, sizeof(n->reason),
                 "installed, but the TFTP restart was not confirmed");
        break;
    case ITL__RESET_STEP__RESTARTED:
        if (strcmp(n->sha1, p->job.sha1) != 0) {
            n->state = JN_FAILED;
            snprintf(n->reason, sizeof(n->reason),
                     "serves ITL %s, not the "
                     "reset ITL",
                     n->sha1);
            s_say(p, 1, "Reset failed on node %s: %s", host, n->reason);
            break;
        }
        n->state = JN_RESTARTED;
        journal_step(p->cfg.state_dir, host, 1);
        s_say(p, 0, "TFTP service restarted on host %s", host);
        break;
    default:
        n->state = JN_FAILED;
        snprintf(n->reason, sizeof(n->reason), "%.200s",
                 r->reason ? r->reason : "failed without a reason");
        s_say(p, 1, "Reset failed on node %s: %s", host, n->reason);
        log_warning("reset job %" PRIu64 " failed on %s: %s", p->job.id, host,
                    n->reason);
    }
    s_check_done(p);
}

void
pub_reset_tick(pub_t *p)
{
    job_t *j = &p->job;

    if (!j->running || time_mono_ms() < j->deadline)
        return;
    for (size_t i = 0; i < j->nnodes; i++) {
        job_node_t *n = &j->nodes[i];
        if (n->state == JN_RESTARTED || n->state == JN_FAILED)
            continue;
        if (n->state == JN_SENT)
            snprintf(n->reason, sizeof(n->reason), "no answer within %d ms",
                     p->cfg.reset_timeout_ms);
        else
            snprintf(n->reason, sizeof(n->reason),
                     "installed, but no "
                     "confirmation of the TFTP restart within %d ms",
                     p->cfg.reset_timeout_ms);
        s_say(p, 1, "No answer from node %s: %s", n->host, n->reason);
        n->state = JN_FAILED;
    }
    s_finish(p);
}

/*
 * The file re-signed must be the one this node built or installed, not
 * whatever sits in the folder: a file copied there by hand (another
 * cluster's, a CTL) would be signed with the recovery key and sent to every
 * node.
 */
static int
s_check_source(pub_t *p, const itl_file_t *cur)
{
    const uint8_t *b;
    size_t len;
    char md5[33], sha1[41];

    b = itl_file_bytes(cur, &len);
    itl_checksums(b, len, md5, sha1);
    if (strcmp(sha1, tftpnode_sha1(p->node)) != 0)
        return err_set(ERR_REFUSED,
                       "%s (SHA1 %s) is not the ITL this node "
                       "serves (SHA1 %s): it was changed outside the agent; "
                       "run 'itl-admin utils service restart tftp' on the "
                       "publisher to rebuild it, then reset again",
                       tftpnode_itl_path(p->node), sha1,
                       tftpnode_sha1(p->node));
    return ERR_OK;
}

/*
 * Phones verify the reset ITL with the ITLRecovery record of the ITL they
 * hold, which is the publisher's ITLRecovery certificate of the time: the
 * local key must be the one the publisher's ITL carries.
 */
static int
s_check_holds(const itl_file_t *cur, X509 *rec)
{
    unsigned char *der = NULL;
    int n = i2d_X509(rec, &der), found = 0;
    char serial[80] = "";

    for (size_t i = 0; n > 0 && !found && i < itl_file_record_count(cur); i++) {
        const itl_record_t *r = itl_file_record(cur, i);
        found = r->function == ITL_ROLE_SAST && r->cert != NULL &&
                r->cert->len == (size_t)n &&
                memcmp(r->cert->value, der, (size_t)n) == 0;
    }
    OPENSSL_free(der);
    if (found)
        return ERR_OK;
    {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(rec), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        snprintf(serial, sizeof(serial), "%s", hex ? hex : "?");
        OPENSSL_free(hex);
        BN_free(bn);
    }
    return err_set(ERR_REFUSED,
                   "the publisher's ITL does not carry the "
                   "local ITLRecovery certificate (serial %s), so phones "
                   "could not verify the reset ITL. If ITLRecovery was "
                   "regenerated, restart the TFTP service on every node "
                   "(utils service restart tftp) and let the phones "
                   "download their new ITL first",
                   serial);
}

/* The reset ITL: the publisher's current ITL re-signed by ITLRecovery. */
static int
s_build(pub_t *p, const pub_reset_key_t *with, uint32_t ts, itl_file_t **out)
{
    itl_file_t *cur = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc, digest;

    rc = itl_file_load(tftpnode_itl_path(p->node), &cur);
    if (rc != ERR_OK)
        return err_set(rc, "cannot read the publisher's current ITL: %s",
                       err_detail());
    rc = s_check_source(p, cur);
    if (rc == ERR_OK && with == NULL) {
        rc = node_recovery_load(p->cfg.state_dir, &key, &cert);
        if (rc == ERR_OK)
            rc = s_check_holds(cur, cert);
    }
    if (rc == ERR_OK) {
        digest = itl_file_digest(cur);
        rc = itl_file_resign(cur, with ? with->key : key,
                             with ? with->cert : cert,
                             digest > 0 ? digest : p->cfg.digest, ts, out);
    }
    itl_file_destroy(&cur);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

static void
s_own_report(void *arg, int step, const char *sha1, const char *reason)
{
    pub_t *p = arg;
    Itl__ResetReport r = ITL__RESET_REPORT__INIT;

    r.job_id = p->job.id;
    r.step = (Itl__ResetStep)step;
    r.sha1 = (char *)sha1;
    r.reason = (char *)reason;
    pub_reset_on_report(p, p->cfg.hostname, &r);
}

static void
s_list_nodes(pub_t *p)
{
    char list[4096];
    size_t used = 0;

    list[0] = '\0';
    for (size_t i = 0; i < p->job.nnodes; i++) {
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s'%s'",
                                 i ? ", " : "", p->job.nodes[i].host);
        if (used >= sizeof(list))
            break;
    }
    s_say(p, 0,
          "Following is the list of active TFTP servers in the "
          "cluster");
    s_say(p, 0, "[%s]", list);
    for (size_t i = 0; i < p->nmembers; i++) {
        member_t *m = &p->members[i];
        if (m->tftp && !pub_member_active(p, m))
            s_say(p, 1,
                  "Not active, will not be reset: %s (no heartbeat "
                  "for more than %d ms); run the reset again once it is "
                  "back",
                  m->host, p->cfg.heartbeat_timeout_ms);
    }
}

static int
s_by_host(const void *a, const void *b)
{
    return strcmp(((const job_node_t *)a)->host, ((const job_node_t *)b)->host);
}

/* The nodes of the job: the publisher first, then subscribers by name. */
static int
s_plan(pub_t *p)
{
    job_t *j = &p->job;

    j->nodes = calloc(p->nmembers + 1, sizeof(*j->nodes));
    if (j->nodes == NULL)
        return err_set(ERR_NOMEM, "out of memory planning the reset");
    if (p->cfg.tftp)
        snprintf(j->nodes[j->nnodes++].host, sizeof(j->nodes[0].host), "%s",
                 p->cfg.hostname);
    for (size_t i = 0; i < p->nmembers; i++) {
        if (p->members[i].tftp && pub_member_active(p, &p->members[i]))
            snprintf(j->nodes[j->nnodes++].host, sizeof(j->nodes[0].host), "%s",
                     p->members[i].host);
    }
    if (j->nnodes > 1)
        qsort(j->nodes + (p->cfg.tftp ? 1 : 0),
              j->nnodes - (p->cfg.tftp ? 1 : 0), sizeof(*j->nodes), s_by_host);
    for (size_t i = 0; i < j->nnodes; i++)
        snprintf(j->nodes[i].reason, sizeof(j->nodes[i].reason), "no answer");
    return ERR_OK;
}

static void
s_send_orders(pub_t *p, const uint8_t *buf, size_t len)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__ResetOrder o = ITL__RESET_ORDER__INIT;

    o.job_id = p->job.id;
    o.itl.data = (uint8_t *)buf;
    o.itl.len = len;
    o.timestamp = p->job.timestamp;
    o.deadline_ms = (uint32_t)p->cfg.reset_timeout_ms;
    o.has_sent_at = 1;
    o.sent_at = (uint64_t)p->job.sent_at;
    if (p->job.signer_der != NULL) {
        o.has_signer_der = 1;
        o.signer_der.data = p->job.signer_der;
        o.signer_der.len = p->job.signer_len;
    }
    env.body_case = ITL__ENVELOPE__BODY_RESET_ORDER;
    env.reset_order = &o;
    for (size_t i = 0; i < p->job.nnodes; i++) {
        member_t *m = pub_member_find(p, p->job.nodes[i].host);
        if (m == NULL)
            continue; /* the publisher itself */
        if (transport_send(p->cluster, m->rid, m->ridlen, p->cfg.cluster_id,
                           &env) != ERR_OK) {
            p->job.nodes[i].state = JN_FAILED;
            snprintf(p->job.nodes[i].reason, sizeof(p->job.nodes[i].reason),
                     "cannot send the order: %.200s", err_detail());
            s_say(p, 1, "Reset failed on node %s: %s", m->host,
                  p->job.nodes[i].reason);
        }
    }
}

/* Keeps a copy of the fetched key file for when the reset is done. */
static int
s_keep_key(job_t *j, const pub_reset_key_t *with)
{
    if (with == NULL || with->p12 == NULL)
        return ERR_OK;
    j->newkey = malloc(with->p12len);
    if (j->newkey == NULL)
        return err_set(ERR_NOMEM, "out of memory keeping the key file");
    memcpy(j->newkey, with->p12, with->p12len);
    j->newkeylen = with->p12len;
    snprintf(j->newkey_from, sizeof(j->newkey_from), "%s",
             with->from ? with->from : "");
    return ERR_OK;
}

static int
s_journal_start(pub_t *p, const uint8_t *buf, size_t len)
{
    const char **hosts = calloc(p->job.nnodes + 1, sizeof(*hosts));
    int rc;

    if (hosts == NULL)
        return err_set(ERR_NOMEM, "out of memory writing the job journal");
    for (size_t i = 0; i < p->job.nnodes; i++)
        hosts[i] = p->job.nodes[i].host;
    rc = journal_start(p->cfg.state_dir, p->job.id, p->job.timestamp,
                       p->job.sha1, buf, len, hosts, p->job.nnodes);
    free(hosts);
    return rc;
}

/* Lists the nodes of an interrupted job that confirmed it, or not. */
static void
s_list_confirmed(const journal_job_t *jj, int confirmed, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < jj->nnodes && used < len; i++) {
        if ((jj->nodes[i].state == JN_RESTARTED) != confirmed)
            continue;
        used += (size_t)snprintf(out + used, len - used, "%s%s",
                                 used ? ", " : "", jj->nodes[i].host);
    }
    if (out[0] == '\0')
        snprintf(out, len, "none");
}

int
pub_reset_describe_last(pub_t *p, char *line, size_t len)
{
    journal_job_t jj;
    char yes[1024], no[1024];
    int rc = journal_last(p->cfg.state_dir, &jj);

    if (rc != ERR_OK)
        return rc;
    if (jj.id == 0) {
        snprintf(line, len, "No reset has been run on this cluster.");
    } else {
        s_list_confirmed(&jj, 1, yes, sizeof(yes));
        s_list_confirmed(&jj, 0, no, sizeof(no));
        snprintf(line, len,
                 "Reset job %" PRIu64 " (ITL SHA1 %s) %s; "
                 "confirmed by: %s; not confirmed: %s",
                 jj.id, jj.sha1,
                 !jj.ended     ? "was interrupted when the publisher "
                                 "stopped"
                 : jj.complete ? "completed"
                               : "ended incomplete",
                 yes, no);
    }
    free(jj.nodes);
    return jj.id != 0 && !jj.ended ? ERR_REFUSED : ERR_OK;
}

/*
 * A rerun after the publisher was killed in the middle of a job sends the
 * job's own ITL again, so that nodes which already serve it report success
 * without installing anything. ERR_NOTFOUND when there is nothing to resume.
 */
static int
s_resume(pub_t *p, itl_file_t **out)
{
    journal_job_t jj;
    uint8_t *buf = NULL;
    size_t len;
    char yes[1024];
    int rc = journal_last(p->cfg.state_dir, &jj);

    if (rc != ERR_OK || jj.id == 0 || jj.ended) {
        free(jj.nodes);
        return ERR_NOTFOUND;
    }
    rc = journal_itl(p->cfg.state_dir, jj.id, &buf, &len);
    if (rc == ERR_OK)
        rc = itl_file_parse(buf, len, out);
    free(buf);
    if (rc == ERR_OK) {
        s_list_confirmed(&jj, 1, yes, sizeof(yes));
        s_say(p, 0,
              "Resuming reset job %" PRIu64 ", interrupted when the "
              "publisher stopped (confirmed by: %s); its ITL is sent "
              "again",
              jj.id, yes);
    } else {
        log_warning("cannot resume reset job %" PRIu64 ": %s; building a "
                    "new reset ITL",
                    jj.id, err_detail());
    }
    free(jj.nodes);
    return rc;
}

void
pub_reset_start(pub_t *p, const uint8_t *rid, size_t ridlen,
                const pub_reset_key_t *with)
{
    job_t *j = &p->job;
    itl_file_t *f = NULL;
    const uint8_t *buf;
    size_t len;
    char md5[33];
    uint32_t now = (uint32_t)time(NULL);

    if (j->running) {
        adminsock_line(p->admin, rid, ridlen, 1,
                       "A reset is already "
                       "running (job %" PRIu64 "); wait for it to end",
                       j->id);
        adminsock_done(p->admin, rid, ridlen, 1);
        return;
    }
    memset(j, 0, sizeof(*j));
    memcpy(j->rid, rid, ridlen);
    j->ridlen = ridlen;
    if (s_keep_key(j, with) != ERR_OK)
        goto fail;
    if (with != NULL) {
        int n = i2d_X509(with->cert, &j->signer_der);
        if (n <= 0) {
            err_set_ssl(ERR_CRYPTO, "cannot encode the fetched certificate");
            goto fail;
        }
        j->signer_len = (size_t)n;
    }
    s_say(p, 0, "Locating active TFTP servers in the cluster.....");
    if (s_plan(p) != ERR_OK)
        goto fail;
    s_list_nodes(p);
    if (j->nnodes == 0) {
        err_set(ERR_NOTFOUND, "no active TFTP node in the cluster; nothing "
                              "to reset");
        goto fail;
    }

    if (with == NULL && s_resume(p, &f) == ERR_OK) {
        j->timestamp = itl_file_timestamp(f);
    } else {
        j->timestamp = now > p->last_ts ? now : p->last_ts + 1;
        if (s_build(p, with, j->timestamp, &f) != ERR_OK)
            goto fail;
    }
    buf = itl_file_bytes(f, &len);
    itl_checksums(buf, len, md5, j->sha1);
    j->id = p->last_job + 1;
    p->last_job = j->id;
    if (j->timestamp > p->last_ts)
        p->last_ts = j->timestamp;
    if (s_jobs_save(p) != ERR_OK || s_journal_start(p, buf, len) != ERR_OK)
        goto fail;
    s_say(p, 0,
          "The reset ITL file was generated successfully (%zu bytes, "
          "SHA1 %s)",
          len, j->sha1);
    log_notice("reset job %" PRIu64 ": ITL %s for %zu nodes", j->id, j->sha1,
               j->nnodes);
    s_say(p, 0,
          "Transferring new reset ITL file to the TFTP server nodes "
          "in the cluster.....");
    j->running = 1;
    j->deadline = time_mono_ms() + p->cfg.reset_timeout_ms;
    j->sent_at = (long long)time(NULL);
    s_send_orders(p, buf, len);
    if (p->cfg.tftp) {
        /* The publisher is a TFTP node like the others. */
        tftpnode_order_t o = {j->id, buf,           len,          j->timestamp,
                              0,     j->signer_der, j->signer_len};
        (void)tftpnode_apply_reset(p->node, &o, s_own_report, p);
    }
    itl_file_destroy(&f);
    if (j->running)
        s_check_done(p);
    return;
fail:
    s_say(p, 1, "Reset not started: %s", err_detail());
    log_err("reset not started: %s", err_detail());
    adminsock_done(p->admin, rid, ridlen, 1);
    itl_file_destroy(&f);
    if (with != NULL && with->p12 != NULL)
        s_say(p, 1, "The local ITLRecovery.p12 was not changed.");
    s_job_clear(j);
}

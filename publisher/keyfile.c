/*
 * The recovery key file on the publisher: handing it to itl-admin for a
 * backup, recording the backup, the daily warning until there is one, and
 * the remotekey reset with a key file that itl-admin fetched.
 *
 * itl-admin does the SFTP transfers itself (it can ask the operator about
 * host keys and passwords; the agent must not block on a network peer),
 * and the agent, which owns the state folder, does everything that reads
 * or changes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agentcmd.h"
#include "backup.h"
#include "fsutil.h"
#include "keystore.h"
#include "itl.h"
#include "log.h"
#include "node.h"
#include "p12.h"
#include "publisher.h"

static void
s_fail(pub_t *p, const adminsock_req_t *r, const char *what)
{
    adminsock_line(p->admin, r->rid, r->ridlen, 1, "%s: %s", what,
                   err_detail());
    adminsock_done(p->admin, r->rid, r->ridlen, 1);
}

/* "key export": the key file's bytes, for itl-admin to copy. */
static void
s_export(pub_t *p, const adminsock_req_t *r)
{
    char path[300];
    uint8_t *buf = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/keys/ITLRecovery.p12", p->cfg.state_dir);
    if (fs_read_file(path, P12_MAX_FILE, &buf, &len) != ERR_OK) {
        free(buf);
        s_fail(p, r, "Cannot read the recovery key file");
        return;
    }
    log_info("handing %s (%zu bytes) to itl-admin for a backup", path, len);
    adminsock_data(p->admin, r->rid, r->ridlen, buf, len);
    adminsock_done(p->admin, r->rid, r->ridlen, 0);
    OPENSSL_cleanse(buf, len);
    free(buf);
}

/* "key backed-up SHA256 WHERE": itl-admin copied the file to WHERE. */
static void
s_backed_up(pub_t *p, const adminsock_req_t *r)
{
    const char *sha = r->req->argv[2], *where = r->req->argv[3];
    long long now = (long long)time(NULL);

    if (backup_record(p->cfg.state_dir, sha, where, "upload", now) != ERR_OK) {
        s_fail(p, r, "The backup was not recorded");
        return;
    }
    log_notice("recovery key file backed up to %.300s (SHA-256 %.64s)", where,
               sha);
    p->nag.next_check = 0;
    adminsock_line(p->admin, r->rid, r->ridlen, 0,
                   "Recorded the backup of ITLRecovery.p12 to %.300s.", where);
    adminsock_done(p->admin, r->rid, r->ridlen, 0);
}

static void
s_status(pub_t *p, const adminsock_req_t *r)
{
    backup_status_t st;

    if (backup_status(p->cfg.state_dir, &st) != ERR_OK) {
        s_fail(p, r, "Cannot tell whether the key is backed up");
        return;
    }
    if (st.current)
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "ITLRecovery.p12 is backed up: %s at %lld (%s)",
                       st.where, st.time, st.how);
    else
        adminsock_line(p->admin, r->rid, r->ridlen, 0,
                       "ITLRecovery.p12 is not backed up%s; run: %s",
                       st.recorded ? " (it changed since the last backup)" : "",
                       BACKUP_FIX_COMMAND);
    adminsock_done(p->admin, r->rid, r->ridlen, st.current ? 0 : 1);
}

int
pub_key_on_request(pub_t *p, const adminsock_req_t *r)
{
    static const char *const exp[] = {"key", "export", NULL};
    static const char *const done[] = {"key", "backed-up", NULL};
    static const char *const status[] = {"key", "backup-status", NULL};

    if (agentcmd_is(r->req, exp) && r->req->n_argv == 2)
        s_export(p, r);
    else if (agentcmd_is(r->req, done) && r->req->n_argv == 4)
        s_backed_up(p, r);
    else if (agentcmd_is(r->req, status) && r->req->n_argv == 2)
        s_status(p, r);
    else
        return 0;
    return 1;
}

/* Opens the fetched file with this cluster's p12 password. */
static int
s_open_fetched(pub_t *p, const uint8_t *buf, size_t len, const char *from,
               EVP_PKEY **key, X509 **cert)
{
    char pass[65], what[600];
    int rc;

    snprintf(what, sizeof(what), "the key file fetched from %.500s", from);
    rc = node_p12_pass_load(p->cfg.state_dir, pass);
    if (rc != ERR_OK)
        return rc;
    rc = p12_read_mem_named(buf, len, pass, what, key, cert);
    OPENSSL_cleanse(pass, sizeof(pass));
    if (rc == ERR_PASSWORD)
        return err_set(rc,
                       "%s does not open with this cluster's security "
                       "password: it was saved under another cluster "
                       "security password",
                       what);
    /* ERR_FORMAT: p12's own message says what is wrong with the file. */
    if (rc == ERR_OK && X509_check_private_key(*cert, *key) != 1)
        rc = err_set_ssl(ERR_FORMAT,
                         "%s: its key does not match its "
                         "certificate",
                         what);
    return rc;
}

/*
 * A restored key is worth a reset only when phones hold its certificate:
 * it must be the ITLRecovery certificate of an ITL this cluster has served
 * (the current one, or an older one in the ITL history). Another cluster's
 * key, or a key regenerated and never served, would make every phone
 * refuse the reset ITL.
 */
static int
s_known_recovery(pub_t *p, X509 *cert)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    char md5[33], sha1[41], cur[41];

    if (n <= 0)
        return err_set_ssl(ERR_CRYPTO, "cannot encode the fetched "
                                       "certificate");
    itl_checksums(der, (size_t)n, md5, sha1);
    OPENSSL_free(der);
    pub_recovery_sha1(p, cur);
    if (strcmp(sha1, cur) == 0)
        return ERR_OK;
    for (size_t i = 0; i < pub_history_count(p); i++) {
        if (strcmp(pub_history_entry(p, i)->recovery, sha1) == 0)
            return ERR_OK;
    }
    return err_set(ERR_UNTRUSTED,
                   "the fetched key's certificate (SHA1 %s) "
                   "is in no ITL this cluster has served, so phones would "
                   "refuse an ITL signed with it (a backup of another "
                   "cluster, or of a key never put in service?)",
                   sha1);
}

void
pub_key_remote_reset(pub_t *p, const adminsock_req_t *r)
{
    const char *from = r->req->argv[4];
    pub_reset_key_t with = {0};
    char cn[256] = "?";

    if (!r->req->has_data || r->req->data.len == 0) {
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "No key file came "
                       "with the remotekey command; nothing was changed.");
        adminsock_done(p->admin, r->rid, r->ridlen, 2);
        return;
    }
    if (s_open_fetched(p, r->req->data.data, r->req->data.len, from, &with.key,
                       &with.cert) != ERR_OK) {
        log_warning("reset remotekey refused: %s", err_detail());
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "%s. Nothing was "
                       "changed.",
                       err_detail());
        adminsock_done(p->admin, r->rid, r->ridlen, 1);
        return;
    }
    if (keystore_cert_cn(with.cert, cn, sizeof(cn)) != ERR_OK)
        snprintf(cn, sizeof(cn), "?");
    if (s_known_recovery(p, with.cert) != ERR_OK) {
        log_warning("reset remotekey refused: %s", err_detail());
        adminsock_line(p->admin, r->rid, r->ridlen, 1,
                       "%s. Nothing was "
                       "changed.",
                       err_detail());
        adminsock_done(p->admin, r->rid, r->ridlen, 1);
        EVP_PKEY_free(with.key);
        X509_free(with.cert);
        return;
    }
    adminsock_line(p->admin, r->rid, r->ridlen, 0,
                   "Opened the key file "
                   "fetched from %s (certificate CN=%s).",
                   from, cn);
    log_notice("reset remotekey with the key of CN=%s fetched from %.300s", cn,
               from);
    with.p12 = r->req->data.data;
    with.p12len = r->req->data.len;
    with.from = from;
    pub_reset_start(p, r->rid, r->ridlen, &with);
    EVP_PKEY_free(with.key);
    X509_free(with.cert);
}

int
pub_key_adopt(pub_t *p, const job_t *j)
{
    char path[300], sha[65];
    int rc;

    snprintf(path, sizeof(path), "%s/keys/ITLRecovery.p12", p->cfg.state_dir);
    rc = fs_write_durable(path, j->newkey, j->newkeylen, 0600, 1);
    if (rc != ERR_OK)
        return rc;
    log_notice("%s replaced by the key file fetched from %.300s; the "
               "previous one is %s.prev",
               path, j->newkey_from, path);
    /* It came from a backup, so that backup is of the current key. */
    if (backup_key_sha256(p->cfg.state_dir, sha) != ERR_OK ||
        backup_record(p->cfg.state_dir, sha, j->newkey_from, "fetched",
                      (long long)time(NULL)) != ERR_OK)
        log_warning("cannot record where the key file came from: %s",
                    err_detail());
    p->nag.next_check = 0;
    if (pub_certset_refresh(p) != ERR_OK)
        log_err("cannot rebuild the certificate set with the fetched "
                "ITLRecovery certificate: %s",
                err_detail());
    return ERR_OK;
}

void
pub_key_tick(pub_t *p, long long now)
{
    char msg[1024];

    if (backup_nag_due(p->cfg.state_dir, now, &p->nag, msg, sizeof(msg)))
        log_warning("%s", msg);
}

#include "tftpnode.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fsutil.h"
#include "itl.h"
#include "log.h"
#include "node.h"
#include "prompt.h"
#include "tftpc.h"
#include "tftpd.h"

#define RESET_STATE  "reset.state"
#define CERTSET_FILE "certset.pb"
/* How long a node waits for its own TFTP service to serve the new file. */
#define TFTPNODE_CONFIRM_MS 3000
/* How often a TFTP service that would not start is tried again. */
#define TFTPNODE_RETRY_MS 5000

struct tftpnode {
    const config_t *cfg;
    tftpd_t *tftpd;
    Itl__CertSet *certset; /* as received from the publisher, or NULL */
    uint64_t built_from;   /* s_set_digest of the set the ITL used */
    int in_reset;          /* serving a recovery-signed ITL */
    uint64_t last_job;
    uint32_t last_reset_ts;
    char last_reset_sha1[41];
    char sha1[41];
    char signer[160];
    char recovery_sha1[41]; /* of the served ITL's ITLRecovery record */
    char itl_path[300];
    long long retry_at; /* when to try starting in.tftpd again */
};

/* ---- persisted state ---------------------------------------------- */

static void
s_state_path(const tftpnode_t *n, const char *name, char *buf, size_t len)
{
    config_state_path(n->cfg, name, buf, len);
}

static int
s_save_state(const tftpnode_t *n)
{
    char path[300], text[256];

    s_state_path(n, RESET_STATE, path, sizeof(path));
    snprintf(text, sizeof(text),
             "mode = %s\nlast_job = %" PRIu64 "\nlast_reset_ts = %u\n"
             "last_reset_sha1 = %s\nbuilt_from = %" PRIu64 "\n",
             n->in_reset ? "reset" : "normal", n->last_job, n->last_reset_ts,
             n->last_reset_sha1, n->built_from);
    return fs_write_durable(path, text, strlen(text), 0644, 0);
}

static void
s_load_state(tftpnode_t *n)
{
    char path[300], mode[16] = "normal";
    FILE *f;

    s_state_path(n, RESET_STATE, path, sizeof(path));
    f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fscanf(f,
               "mode = %15s last_job = %" SCNu64 " last_reset_ts = %u "
               "last_reset_sha1 = %40s built_from = %" SCNu64,
               mode, &n->last_job, &n->last_reset_ts, n->last_reset_sha1,
               &n->built_from) < 4)
        log_warning("%s is damaged; starting from a normal ITL", path);
    fclose(f);
    n->in_reset = strcmp(mode, "reset") == 0;
}

static void
s_load_certset(tftpnode_t *n)
{
    char path[300];
    uint8_t *buf;
    size_t len;

    s_state_path(n, CERTSET_FILE, path, sizeof(path));
    if (fs_read_file(path, 4 * 1024 * 1024, &buf, &len) != ERR_OK)
        return;
    n->certset = itl__cert_set__unpack(NULL, len, buf);
    if (n->certset == NULL)
        log_warning("%s is damaged; waiting for the publisher's "
                    "certificate set",
                    path);
    free(buf);
}

/* ---- the served file -------------------------------------------------- */

/*
 * The ITLRecovery record of f: a SAST record whose certificate is the
 * cluster's recovery certificate or, before the node knows that one, whose
 * subject starts with CN=ITLRECOVERY_. Writes the SHA-1 of its DER, or ""
 * when f has none.
 */
static void
s_find_recovery(const tftpnode_t *n, const itl_file_t *f, char out[41])
{
    const ProtobufCBinaryData *want =
        n->certset ? &n->certset->recovery_der : NULL;
    char md5[33];

    out[0] = '\0';
    for (size_t i = 0; i < itl_file_record_count(f); i++) {
        const itl_record_t *r = itl_file_record(f, i);
        const itl_elem_t *c = r->cert;
        if (r->function != ITL_ROLE_SAST || c == NULL || c->len == 0)
            continue;
        if (want != NULL && want->len == c->len &&
            memcmp(want->data, c->value, c->len) == 0) {
            itl_checksums(c->value, c->len, md5, out);
            return;
        }
        if (out[0] == '\0' && r->subject != NULL && r->subject->len >= 15 &&
            memcmp(r->subject->value, "CN=ITLRECOVERY_", 15) == 0)
            itl_checksums(c->value, c->len, md5, out);
    }
}

static void
s_describe(tftpnode_t *n, const uint8_t *buf, size_t len)
{
    char md5[33];
    itl_file_t *f = NULL;
    const itl_elem_t *e;

    itl_checksums(buf, len, md5, n->sha1);
    n->signer[0] = '\0';
    n->recovery_sha1[0] = '\0';
    if (itl_file_parse(buf, len, &f) == ERR_OK) {
        e = itl_file_header_find(f, ITL_H_SIGNERNAME);
        if (e != NULL && e->len > 0)
            snprintf(n->signer, sizeof(n->signer), "%.*s", (int)e->len - 1,
                     (const char *)e->value);
        s_find_recovery(n, f, n->recovery_sha1);
        itl_file_destroy(&f);
    }
}

/*
 * Installs buf as ITLFile.tlv in every folder. On a failure in folder k,
 * the folders before k get their previous file back, so that the node
 * serves one file everywhere.
 */
static int
s_install(tftpnode_t *n, const uint8_t *buf, size_t len)
{
    char path[300], prev[310];
    size_t k;
    int rc = ERR_OK;

    for (k = 0; k < n->cfg->ntftp_folders; k++) {
        snprintf(path, sizeof(path), "%s/ITLFile.tlv", n->cfg->tftp_folders[k]);
        rc = fs_write_durable(path, buf, len, 0644, 1);
        if (rc != ERR_OK)
            break;
    }
    if (rc == ERR_OK) {
        s_describe(n, buf, len);
        return ERR_OK;
    }
    char why[512];
    snprintf(why, sizeof(why), "%s", err_detail());
    while (k-- > 0) {
        snprintf(path, sizeof(path), "%s/ITLFile.tlv", n->cfg->tftp_folders[k]);
        snprintf(prev, sizeof(prev), "%s.prev", path);
        if (rename(prev, path) < 0)
            log_err("cannot put back the previous %s: %s", path,
                    strerror(errno));
    }
    return err_set(rc, "%s; the previous ITL is still served", why);
}

static int
s_restart_service(tftpnode_t *n)
{
    if (n->tftpd == NULL)
        return ERR_OK;
    if (tftpd_running(n->tftpd))
        return tftpd_restart(n->tftpd);
    return tftpd_start(n->tftpd);
}

/* ---- the node's own ITL ------------------------------------------- */

static void
s_free_certs(X509 **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        X509_free(v[i]);
    free(v);
}

static X509 *
s_d2i(const ProtobufCBinaryData *b)
{
    const unsigned char *p = b->data;

    return d2i_X509(NULL, &p, (long)b->len);
}

static int
s_build_own(tftpnode_t *n, itl_file_t **out)
{
    node_certset_t set = {0};
    X509 **tvs = NULL;
    int rc = ERR_OK;

    if (n->certset != NULL) {
        Itl__CertSet *cs = n->certset;
        tvs = calloc(cs->n_certs + 1, sizeof(*tvs));
        if (tvs == NULL)
            return err_set(ERR_NOMEM, "out of memory building the ITL");
        for (size_t i = 0; i < cs->n_certs && rc == ERR_OK; i++) {
            X509 *x = s_d2i(&cs->certs[i]->der);
            if (x == NULL) {
                rc = err_set(ERR_FORMAT,
                             "the certificate set holds a bad "
                             "certificate of %s",
                             cs->certs[i]->hostname);
            } else if (cs->certs[i]->role == ITL_ROLE_CAPF && !set.capf) {
                set.capf = x;
            } else if (cs->certs[i]->role == ITL_ROLE_TVS &&
                       strcmp(cs->certs[i]->hostname, n->cfg->hostname) != 0) {
                tvs[set.ntvs++] = x;
            } else {
                /* Our own TVS comes from our key store; CallManager
                 * certificates of other nodes are for TVS, not the ITL. */
                X509_free(x);
            }
        }
        set.tvs = tvs;
        if (rc == ERR_OK && (set.recovery = s_d2i(&cs->recovery_der)) == NULL)
            rc = err_set(ERR_FORMAT, "the certificate set holds a bad "
                                     "ITLRecovery certificate");
    }
    if (rc == ERR_OK)
        rc = node_build_itl(n->cfg->state_dir, &set, n->cfg->digest,
                            (uint32_t)time(NULL), out);
    s_free_certs(tvs, set.ntvs);
    X509_free(set.capf);
    X509_free(set.recovery);
    return rc;
}

/*
 * What the node's own ITL takes from a certificate set, digested: CAPF,
 * the TVS of the other nodes and the recovery certificate (first 8 bytes
 * of a SHA-256). The node's own certificates come from its key store, so
 * a set that changed only in them (this node regenerated CallManager or
 * TVS and registered again) does not rebuild the ITL: that waits for the
 * next normal TFTP restart, as on a real cluster.
 */
static uint64_t
s_set_digest(const tftpnode_t *n, const Itl__CertSet *cs)
{
    EVP_MD_CTX *md;
    unsigned char h[32];
    uint64_t g = 0;

    if (cs == NULL || (md = EVP_MD_CTX_new()) == NULL)
        return 0;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < cs->n_certs; i++) {
        const Itl__NodeCert *c = cs->certs[i];
        if (c->role != ITL_ROLE_CAPF &&
            (c->role != ITL_ROLE_TVS ||
             strcmp(c->hostname, n->cfg->hostname) == 0))
            continue;
        EVP_DigestUpdate(md, &c->role, sizeof(c->role));
        EVP_DigestUpdate(md, c->der.data, c->der.len);
    }
    EVP_DigestUpdate(md, cs->recovery_der.data, cs->recovery_der.len);
    EVP_DigestFinal_ex(md, h, NULL);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 8; i++)
        g = g << 8 | h[i];
    return g ? g : 1;
}

static int
s_serve_own(tftpnode_t *n)
{
    itl_file_t *f = NULL;
    const uint8_t *buf;
    size_t len;
    int rc;

    rc = s_build_own(n, &f);
    if (rc != ERR_OK)
        return rc;
    buf = itl_file_bytes(f, &len);
    rc = s_install(n, buf, len);
    itl_file_destroy(&f);
    if (rc != ERR_OK)
        return rc;
    n->in_reset = 0;
    n->built_from = s_set_digest(n, n->certset);
    log_notice("%s: built its own ITL (%zu bytes, sha1 %s, signed by %s)",
               n->cfg->hostname, len, n->sha1, n->signer);
    return s_save_state(n);
}

/* ---- public ------------------------------------------------------------ */

static int
s_searchable(const char *folder)
{
    struct stat st;

    if (stat(folder, &st) < 0)
        return err_set(ERR_IO, "cannot stat %s: %s", folder, strerror(errno));
    if ((st.st_mode & 0055) == 0055)
        return ERR_OK;
    if (chmod(folder, (st.st_mode & 07777) | 0055) < 0)
        return err_set(ERR_IO,
                       "%s is not readable by the TFTP server (mode "
                       "%04o) and cannot be changed: %s",
                       folder, (unsigned)(st.st_mode & 07777), strerror(errno));
    log_notice("made %s readable by the TFTP server (it was %04o)", folder,
               (unsigned)(st.st_mode & 07777));
    return ERR_OK;
}

tftpnode_t *
tftpnode_new(const config_t *c)
{
    tftpnode_t *n = calloc(1, sizeof(*n));
    const char *folders[CONFIG_MAX_FOLDERS];

    if (n == NULL)
        return NULL;
    n->cfg = c;
    snprintf(n->itl_path, sizeof(n->itl_path), "%s/ITLFile.tlv",
             c->tftp_folders[0]);
    for (size_t i = 0; i < c->ntftp_folders; i++) {
        folders[i] = c->tftp_folders[i];
        /* in.tftpd serves as another user: it must reach the folder
         * whatever the agent's umask was when the folder was made. */
        if (fs_mkdir_p(c->tftp_folders[i], 0755) != ERR_OK ||
            s_searchable(c->tftp_folders[i]) != ERR_OK) {
            log_err("%s", err_detail());
            free(n);
            return NULL;
        }
    }
    if (c->tftp && c->tftp_restart != CONFIG_RESTART_NONE) {
        n->tftpd =
            tftpd_new(c->tftpd, c->tftp_address, c->tftp_port, folders,
                      c->ntftp_folders, c->tftp_user[0] ? c->tftp_user : NULL);
        if (n->tftpd == NULL) {
            log_err("%s: cannot set up the TFTP service: %s", c->hostname,
                    err_detail());
            free(n);
            return NULL;
        }
        if (c->tftp_restart == CONFIG_RESTART_COMMAND &&
            tftpd_set_restart_command(n->tftpd, c->tftp_restart_command) !=
                ERR_OK) {
            log_err("%s: %s", c->hostname, err_detail());
            tftpd_destroy(&n->tftpd);
            free(n);
            return NULL;
        }
    }
    s_load_state(n);
    s_load_certset(n);
    return n;
}

int
tftpnode_start(tftpnode_t *n)
{
    uint8_t *buf;
    size_t len;
    int rc;

    if (n->in_reset &&
        fs_read_file(n->itl_path, ITL_MAX_FILE, &buf, &len) == ERR_OK) {
        s_describe(n, buf, len);
        free(buf);
        log_notice("%s: still serving the reset ITL %s until the next "
                   "normal TFTP restart",
                   n->cfg->hostname, n->sha1);
    } else {
        rc = s_serve_own(n);
        if (rc != ERR_OK)
            return rc;
    }
    if (n->tftpd == NULL)
        return ERR_OK;
    return tftpd_start(n->tftpd);
}

int
tftpnode_restart_normal(tftpnode_t *n)
{
    int rc = s_serve_own(n);

    if (rc != ERR_OK)
        return rc;
    return s_restart_service(n);
}

int
tftpnode_set_certset(tftpnode_t *n, const Itl__CertSet *set)
{
    char path[300];
    size_t len = itl__cert_set__get_packed_size(set);
    uint8_t *buf = malloc(len ? len : 1);
    int rc;

    if (buf == NULL)
        return err_set(ERR_NOMEM, "out of memory storing the cert set");
    itl__cert_set__pack(set, buf);
    s_state_path(n, CERTSET_FILE, path, sizeof(path));
    rc = fs_write_durable(path, buf, len, 0644, 0);
    if (rc == ERR_OK) {
        if (n->certset)
            itl__cert_set__free_unpacked(n->certset, NULL);
        n->certset = itl__cert_set__unpack(NULL, len, buf);
    }
    free(buf);
    if (rc != ERR_OK)
        return rc;
    if (n->certset == NULL)
        return err_set(ERR_NOMEM, "out of memory storing the cert set");
    if (!n->in_reset && n->built_from != s_set_digest(n, n->certset)) {
        log_notice("%s: the cluster's certificates changed; rebuilding the "
                   "node's ITL",
                   n->cfg->hostname);
        return s_serve_own(n);
    }
    return ERR_OK;
}

uint64_t
tftpnode_certset_generation(const tftpnode_t *n)
{
    return n->certset ? n->certset->generation : 0;
}

/* Verifies f with the certificate of der; ERR_OK or why not. */
static int
s_verify_with(const itl_file_t *f, const ProtobufCBinaryData *der)
{
    X509 *x = s_d2i(der);
    EVP_PKEY *pub;
    int rc;

    if (x == NULL)
        return err_set(ERR_FORMAT, "the ITLRecovery certificate is damaged");
    pub = X509_get0_pubkey(x);
    rc = pub ? itl_file_verify(f, pub)
             : err_set(ERR_CRYPTO, "no public key in the ITLRecovery "
                                   "certificate");
    X509_free(x);
    return rc;
}

/*
 * A restored ITLRecovery key (remotekey) is not the cluster's current one:
 * the publisher names its certificate in the order. It must be an
 * ITLRecovery certificate, and the publisher is the only one who can send
 * orders, as it is the only one who hands out the cluster's certificate.
 */
static int
s_verify_restored(tftpnode_t *n, const itl_file_t *f, const tftpnode_order_t *o)
{
    ProtobufCBinaryData der = {o->signer_len, (uint8_t *)o->signer_der};
    const unsigned char *q = o->signer_der;
    X509 *x = d2i_X509(NULL, &q, (long)o->signer_len);
    char cn[128] = "";
    int rc;

    if (x == NULL)
        return err_set(ERR_FORMAT, "the order's signer certificate is "
                                   "damaged");
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                              sizeof(cn));
    X509_free(x);
    if (strncmp(cn, "ITLRECOVERY_", 12) != 0)
        return err_set(ERR_UNTRUSTED,
                       "the order's signer '%.64s' is not an "
                       "ITLRecovery certificate",
                       cn);
    rc = s_verify_with(f, &der);
    if (rc == ERR_OK)
        log_notice("%s: the reset ITL is signed by the restored ITLRecovery "
                   "key %s",
                   n->cfg->hostname, cn);
    return rc;
}

static int
s_check_reset(tftpnode_t *n, const itl_file_t *f, const tftpnode_order_t *o,
              const char *sha1)
{
    long long now = (long long)time(NULL);
    uint32_t ts = o->timestamp;
    int rc;

    if (o->expires != 0 && now > o->expires + TFTPNODE_CLOCK_SKEW)
        return err_set(ERR_TIMEOUT,
                       "the order expired %lld s before it "
                       "could be carried out (is this node's clock in step "
                       "with the publisher's?)",
                       now - o->expires);
    if (n->certset == NULL)
        return err_set(ERR_UNTRUSTED, "this node has not received the "
                                      "cluster's ITLRecovery certificate yet");
    rc = s_verify_with(f, &n->certset->recovery_der);
    if (rc != ERR_OK && o->signer_der != NULL)
        rc = s_verify_restored(n, f, o);
    if (rc != ERR_OK)
        return err_set(ERR_UNTRUSTED,
                       "the ITL is not signed by the "
                       "cluster's ITLRecovery key (%s)",
                       err_detail());
    if (itl_file_timestamp(f) != ts)
        return err_set(ERR_PROTO,
                       "the order's timestamp %u differs from "
                       "the file's %u",
                       ts, itl_file_timestamp(f));
    if (ts < n->last_reset_ts ||
        (ts == n->last_reset_ts && strcmp(sha1, n->last_reset_sha1) != 0))
        return err_set(ERR_REFUSED,
                       "replayed reset: the ITL of %u is not "
                       "newer than the last one accepted (%u)",
                       ts, n->last_reset_ts);
    return ERR_OK;
}

/*
 * Fetches ITLFile.tlv from the node's own TFTP service, as a phone would,
 * and checks that it is the file just installed. Only for a supervised
 * in.tftpd listening on an address this host can reach.
 */
static int
s_confirm_served(tftpnode_t *n, const char *sha1)
{
    const char *addr = n->cfg->tftp_address;
    uint8_t *buf = NULL;
    size_t len;
    char md5[33], got[41];
    int rc;

    if (n->tftpd == NULL || n->cfg->tftp_restart != CONFIG_RESTART_SUPERVISE)
        return ERR_OK;
    if (addr[0] == '\0' || strcmp(addr, "0.0.0.0") == 0)
        addr = "127.0.0.1";
    else if (strcmp(addr, "::") == 0)
        addr = "::1";
    rc = tftpc_get(addr, n->cfg->tftp_port, "ITLFile.tlv", ITL_MAX_FILE,
                   TFTPNODE_CONFIRM_MS, &buf, &len);
    if (rc != ERR_OK)
        return err_set(rc, "the TFTP service does not serve ITLFile.tlv: %s",
                       err_detail());
    itl_checksums(buf, len, md5, got);
    free(buf);
    if (strcmp(got, sha1) != 0)
        return err_set(ERR_IO,
                       "the TFTP service at %s:%d serves ITL %s, not "
                       "the installed %s",
                       addr, n->cfg->tftp_port, got, sha1);
    return ERR_OK;
}

int
tftpnode_apply_reset(tftpnode_t *n, const tftpnode_order_t *o,
                     tftpnode_report_fn *report, void *arg)
{
    itl_file_t *f = NULL;
    char md5[33], sha1[41];
    int rc;

    itl_checksums(o->itl, o->len, md5, sha1);
    rc = itl_file_parse(o->itl, o->len, &f);
    if (rc == ERR_OK)
        rc = s_check_reset(n, f, o, sha1);
    itl_file_destroy(&f);
    if (rc == ERR_OK && n->in_reset && strcmp(sha1, n->sha1) == 0) {
        /* The same order again: report what is served, change nothing. */
        n->last_job = o->job;
        report(arg, ITL__RESET_STEP__TRANSFERRED, n->sha1, NULL);
        report(arg, ITL__RESET_STEP__RESTARTED, n->sha1, NULL);
        return s_save_state(n);
    }
    if (rc == ERR_OK)
        rc = s_install(n, o->itl, o->len);
    if (rc != ERR_OK) {
        log_warning("%s: refused reset job %" PRIu64 ": %s", n->cfg->hostname,
                    o->job, err_detail());
        report(arg, ITL__RESET_STEP__FAILED, n->sha1, err_detail());
        return rc;
    }
    n->in_reset = 1;
    n->last_job = o->job;
    n->last_reset_ts = o->timestamp;
    snprintf(n->last_reset_sha1, sizeof(n->last_reset_sha1), "%s", sha1);
    rc = s_save_state(n);
    if (rc != ERR_OK)
        log_warning("%s", err_detail());
    log_notice("%s: installed the reset ITL of job %" PRIu64 " (sha1 %s)",
               n->cfg->hostname, o->job, sha1);
    report(arg, ITL__RESET_STEP__TRANSFERRED, sha1, NULL);

    rc = s_restart_service(n);
    if (rc == ERR_OK)
        rc = s_confirm_served(n, sha1);
    if (rc != ERR_OK) {
        log_err("%s: the TFTP service does not serve the reset ITL: %s",
                n->cfg->hostname, err_detail());
        report(arg, ITL__RESET_STEP__FAILED, sha1, err_detail());
        return rc;
    }
    report(arg, ITL__RESET_STEP__RESTARTED, sha1, NULL);
    return ERR_OK;
}

const char *
tftpnode_sha1(const tftpnode_t *n)
{
    return n->sha1;
}

const char *
tftpnode_signer(const tftpnode_t *n)
{
    return n->signer;
}

const char *
tftpnode_recovery_sha1(const tftpnode_t *n)
{
    return n->recovery_sha1;
}

const char *
tftpnode_itl_path(const tftpnode_t *n)
{
    return n->itl_path;
}

uint64_t
tftpnode_last_job(const tftpnode_t *n)
{
    return n->last_job;
}

uint32_t
tftpnode_last_reset_ts(const tftpnode_t *n)
{
    return n->last_reset_ts;
}

int
tftpnode_in_reset(const tftpnode_t *n)
{
    return n->in_reset;
}

void
tftpnode_check(tftpnode_t *n)
{
    long long now;

    if (n->tftpd == NULL)
        return;
    if (tftpd_check(n->tftpd)) {
        log_warning("%s: in.tftpd stopped (%s); starting it again",
                    n->cfg->hostname, err_detail());
        n->retry_at = 0;
    }
    if (tftpd_running(n->tftpd) || tftpd_mode(n->tftpd) != TFTPD_MODE_SUPERVISE)
        return;
    /* Not running: try again now and then, saying so each time. */
    now = time_mono_ms();
    if (now < n->retry_at)
        return;
    n->retry_at = now + TFTPNODE_RETRY_MS;
    if (tftpd_start(n->tftpd) != ERR_OK)
        log_err("%s: the TFTP service is down, phones cannot download "
                "their ITL: %s; retrying every %d s",
                n->cfg->hostname, err_detail(), TFTPNODE_RETRY_MS / 1000);
    else
        log_notice("%s: the TFTP service is up again", n->cfg->hostname);
}

int
tftpnode_serving(tftpnode_t *n)
{
    return n->tftpd == NULL || tftpd_mode(n->tftpd) != TFTPD_MODE_SUPERVISE ||
           tftpd_running(n->tftpd);
}

void
tftpnode_destroy(tftpnode_t **np)
{
    tftpnode_t *n = *np;

    if (n == NULL)
        return;
    if (n->tftpd != NULL) {
        if (tftpd_stop(n->tftpd) != ERR_OK)
            log_warning("%s", err_detail());
        tftpd_destroy(&n->tftpd);
    }
    if (n->certset)
        itl__cert_set__free_unpacked(n->certset, NULL);
    free(n);
    *np = NULL;
}

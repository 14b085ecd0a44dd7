/*
 * The publisher agent's state, shared by its files: main.c (start, init),
 * cluster.c (enrolment, membership, certificate set), reset.c (reset jobs)
 * and admin.c (the operator's commands).
 */
#ifndef ITL_PUBLISHER_H
#define ITL_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "backup.h"
#include "cluster.pb-c.h"
#include "adminsock.h"
#include "config.h"
#include "tftpnode.h"
#include "transport.h"

#define PUB_MAX_MEMBERS 4096
#define PUB_MAX_PENDING 64
#define PUB_HISTORY_MAX 1024

typedef struct {
    char host[64];
    char address[64];
    int tftp;
    uint8_t rid[256];
    size_t ridlen;
    long long last_seen; /* time_mono_ms of the last message */
    int connected;       /* heard from since the publisher started */
    int quiet_logged;    /* its silence was logged */
    Itl__Register *reg;  /* as registered: certificates, ITL state */
    char sha1[41];
    char signer[160];
    char recovery[41]; /* ITLRecovery certificate its ITL holds */
} member_t;

/* One ITL a node served (history.c). Times are unix seconds. */
typedef struct {
    char sha1[41];
    char node[64];
    char recovery[41]; /* SHA-1 of its ITLRecovery certificate; "" none */
    long long first, last;
    char signer[160];
} hist_entry_t;

/* The ITL a node serves now, and since when. */
typedef struct {
    char node[64];
    char sha1[41];
    long long since;
} hist_current_t;

typedef struct pub_history pub_history_t;

/* An enrolment in progress on the enrolment socket. */
typedef struct {
    uint8_t rid[256];
    size_t ridlen;
    char host[64];
    char key[41];
    uint8_t nonce[32];
    long long started;
} pending_t;

enum job_node_state { JN_SENT, JN_TRANSFERRED, JN_RESTARTED, JN_FAILED };

typedef struct {
    char host[64];
    int state;
    char sha1[41];
    char reason[256];
} job_node_t;

typedef struct {
    uint64_t id;
    int running;
    uint8_t rid[256]; /* the admin client that asked */
    size_t ridlen;
    long long deadline;
    uint32_t timestamp;
    char sha1[41];
    size_t nnodes;
    job_node_t *nodes;
    uint8_t *signer_der; /* remotekey: the restored ITLRecovery cert */
    size_t signer_len;
    long long sent_at; /* unix time the orders went out */
    uint8_t *newkey;   /* remotekey: the fetched ITLRecovery.p12 */
    size_t newkeylen;
    char newkey_from[512];
} job_t;

/* A reset with another recovery key than the local one (remotekey). */
typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    const uint8_t *p12; /* the key file, installed when the reset is done */
    size_t p12len;
    const char *from; /* where it came from, sftp://USER@HOST:PORT/PATH */
} pub_reset_key_t;

typedef struct {
    config_t cfg;
    void *ctx;
    zap_t *zap;
    void *cluster; /* ROUTER: enrolled subscribers */
    void *enrol;   /* ROUTER: enrolment, any CURVE key */
    void *admin;   /* ROUTER: itl-admin on ipc */
    curve_keys_t keys;
    uint8_t enrol_key[32];
    tftpnode_t *node;
    member_t *members;
    size_t nmembers;
    pending_t pending[PUB_MAX_PENDING];
    Itl__CertSet *certset;
    int certset_dirty;    /* a registration changed it; send soon */
    long long certset_at; /* time_mono_ms of the last rebuild */
    job_t job;
    uint64_t last_job;
    uint32_t last_ts;
    backup_nag_t nag;       /* daily warning until the key is saved */
    int bad_passwords;      /* in a row */
    long long locked_until; /* wrong-password slow-down */
    pub_history_t *history;
} pub_t;

/* cluster.c */
int pub_cluster_load(pub_t *p) WUR;
void pub_cluster_on_message(pub_t *p, transport_msg_t *m);
void pub_enrol_on_message(pub_t *p, transport_msg_t *m);
void pub_cluster_tick(pub_t *p);
int pub_member_active(const pub_t *p, const member_t *m);
member_t *pub_member_find(pub_t *p, const char *host);
int pub_certset_refresh(pub_t *p) WUR;

/* reset.c: with NULL, the reset is signed with the local key file. */
void pub_reset_start(pub_t *p, const uint8_t *rid, size_t ridlen,
                     const pub_reset_key_t *with);
void pub_reset_on_report(pub_t *p, const char *host, const Itl__ResetReport *r);
void pub_reset_tick(pub_t *p);
int pub_jobs_load(pub_t *p) WUR;
/*
 * One line on the last reset job from the journal. ERR_REFUSED when it was
 * interrupted (the line says which nodes confirmed it), ERR_OK otherwise.
 */
int pub_reset_describe_last(pub_t *p, char *line, size_t len);

/* keyfile.c: the recovery key file's backup and the remotekey reset */
int pub_key_on_request(pub_t *p, const adminsock_req_t *r);
void pub_key_remote_reset(pub_t *p, const adminsock_req_t *r);
int pub_key_adopt(pub_t *p, const job_t *j) WUR;
void pub_key_tick(pub_t *p, long long now);
/* history.c: the ITLs every node served (kept in STATE/history) */
int pub_history_load(pub_t *p) WUR;
/* node serves sha1 now; recovery NULL when the node did not say. */
void pub_history_seen(pub_t *p, const char *node, const char *sha1,
                      const char *signer, const char *recovery);
/* Saves what changed and frees the history. */
void pub_history_free(pub_t *p);
size_t pub_history_count(const pub_t *p);
const hist_entry_t *pub_history_entry(const pub_t *p, size_t i);
const hist_entry_t *pub_history_find(const pub_t *p, const char *sha1,
                                     const char *node);
/* Since when node serves its current ITL (unix time), 0 when unknown. */
long long pub_history_since(const pub_t *p, const char *node);
/* SHA-1 of the cluster's ITLRecovery certificate, "" before the set. */
void pub_recovery_sha1(const pub_t *p, char out[41]);
/* "yes" (the cluster's), "old" (another ITLRecovery) or "no". */
const char *pub_recovery_state(const pub_t *p, const char *recovery);

/* admin.c */
void pub_admin_on_request(pub_t *p);

#endif

/*
 * node: a node's state folder, its keys, and the ITL its TFTP service
 * serves.
 *
 * Layout of a state folder STATE (see docs/NODE-STATE.md); folders 0700:
 *
 *   STATE/node.info              text key=value: hostname, role
 *                                (publisher|subscriber), ou, o, l, st, c,
 *                                key_bits, created (unix time). Written
 *                                last by node_init: its presence means
 *                                "initialised".
 *   STATE/regen.state            last certificate regeneration: name=NAME
 *                                and time=UNIXTIME (absent before the first)
 *   STATE/keys/callmanager.key   0600, and callmanager.pem 0644 (CN=host):
 *                                the node's TFTP signing identity
 *   STATE/keys/tvs.key, tvs.pem  Trust Verification Service (CN=host)
 *   STATE/keys/capf.key, capf.pem   publisher only (CN=CAPF-<8 hex>)
 *   STATE/keys/ITLRecovery.p12   0600, every node (CN=ITLRECOVERY_<host>,
 *                                1826 days); only the publisher's is ever
 *                                put into ITL files
 *   STATE/secrets/p12.pass       0600: kdf_p12_password(cluster password),
 *                                64 hex digits, so that the agent opens the
 *                                p12 without asking anyone
 *   STATE/secrets/enrol.key      0600: kdf_enrol_key(cluster password), 32
 *                                raw bytes
 *   STATE/secrets/admin.hash     0600, publisher only: passwd_hash of the
 *                                administrator password
 *
 * Every replaced key, certificate or p12 file is kept as FILE.prev.
 */
#ifndef ITL_NODE_H
#define ITL_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"
#include "itl.h"
#include "keystore.h"

/* Validity of every certificate a node makes: five years. */
#define NODE_CERT_DAYS 1826

/* Seconds after a regeneration during which another one is refused. */
#define NODE_HOLD_SECONDS 300

/*
 * Longest host name: "ITLRECOVERY_" and the name must fit the 64 characters
 * X.509 allows in a common name.
 */
#define NODE_HOST_MAX 52

/* What node_init needs to know. key_bits 0 means 2048. */
typedef struct {
    const char *hostname;
    keystore_org_t org;
    int key_bits;
    int publisher;
} node_params_t;

/* node.info, as read back. */
typedef struct {
    char hostname[256];
    int publisher;
    char ou[129], o[129], l[129], st[129], c[3];
    int key_bits;
    long long created;
} node_info_t;

/*
 * Certificates of the cluster that a node's ITL holds besides its own:
 * tvs[0..ntvs) the TVS certificates of the other nodes (the node's own is
 * added from its keys; duplicates are dropped), capf the publisher's CAPF
 * certificate, recovery the publisher's ITLRecovery certificate. On the
 * publisher a NULL capf or recovery is taken from its own keys; on a
 * subscriber a NULL one is left out of the file (before the cluster exists
 * a subscriber knows only what it was given at init).
 */
typedef struct {
    X509 **tvs;
    size_t ntvs;
    X509 *capf;
    X509 *recovery;
} node_certset_t;

/*
 * Initialises the state folder: creates the folders, keys, certificates,
 * ITLRecovery.p12, secrets and node.info (see the layout above). The
 * cluster password must be non-empty; admin_password is required on the
 * publisher and must be NULL on a subscriber. Returns ERR_OK, ERR_EXISTS
 * (node.info, or any file in keys/ or secrets/, is there already: nothing
 * is touched, and the detail names the file and says to move the folder
 * away to start over), ERR_ARG (bad host name,
 * organisation field, key size or password), ERR_IO or ERR_CRYPTO.
 */
int node_init(const char *state, const node_params_t *p,
              const char *cluster_password, const char *admin_password) WUR;

/*
 * The check node_init makes before it touches anything, for asking it
 * before the passwords: ERR_OK when STATE has no node.info and nothing in
 * keys/ or secrets/ (curve.key does not count: init keeps it), else
 * ERR_EXISTS with the message node_init would give.
 */
int node_init_check(const char *state) WUR;

/*
 * Reads STATE/node.info. Returns ERR_OK, ERR_NOTFOUND (not initialised:
 * the detail says so and names the folder), ERR_FORMAT (names the file and
 * line) or ERR_IO.
 */
int node_info_load(const char *state, node_info_t *info) WUR;

/*
 * Convenience over node_info_load: the role and the host name (hostname may
 * be NULL when not wanted). Same returns; ERR_ARG if len is too small.
 */
int node_load_role(const char *state, int *is_publisher, char *hostname,
                   size_t len) WUR;

/*
 * Opens STATE/keys/ITLRecovery.p12 with STATE/secrets/p12.pass (each
 * refused when group or others can read it). On success the caller owns
 * *key and *cert. Returns as p12_read_file, and as node_p12_pass_load;
 * ERR_PASSWORD means that the two files do not belong together (the
 * detail says so: no operator typed that password).
 */
int node_recovery_load(const char *state, EVP_PKEY **key, X509 **cert) WUR;

/*
 * Reads STATE/secrets/p12.pass (refused when group or others can read it)
 * into pass: 64 hex digits and a NUL. The caller wipes it after use.
 * Returns ERR_OK, ERR_NOTFOUND, ERR_PERM, ERR_FORMAT (anything but 64
 * lower-case hex digits: "PATH is damaged (expected 64 hex digits...)")
 * or ERR_IO.
 */
int node_p12_pass_load(const char *state, char pass[65]) WUR;

/*
 * Reads STATE/secrets/admin.hash (the publisher's administrator password
 * hash, one "scrypt$..." line) into buf without its newline. Refused with
 * ERR_PERM and fs_check_private's message when group or others can read
 * it. Returns ERR_OK, ERR_NOTFOUND (the detail says init did not finish
 * and how to start over), ERR_PERM, ERR_FORMAT (damaged), ERR_ARG (buf too
 * small) or ERR_IO.
 */
int node_admin_hash_load(const char *state, char *buf, size_t len) WUR;

/*
 * Reads STATE/secrets/enrol.key (32 bytes) into key; the caller wipes it.
 * Same checks and returns as node_admin_hash_load.
 */
int node_enrol_key_load(const char *state, uint8_t key[32]) WUR;

/* Writes a fresh CAPF common name, "CAPF-" and 8 random hex digits. */
void node_capf_cn(char *buf, size_t size);

/*
 * Reads the node's own certificate NAME ("callmanager", "tvs", "capf") and,
 * when key is not NULL, its key. Returns as keystore_load.
 */
int node_cert_load(const char *state, const char *name, EVP_PKEY **key,
                   X509 **cert) WUR;

/*
 * Regenerates the certificate NAME (CallManager, TVS, CAPF on the publisher,
 * or ITLRecovery; any case) at time now: new key, same subject, previous
 * files kept as .prev. Refused with ERR_HOLD when another certificate of
 * this node was regenerated less than NODE_HOLD_SECONDS before now, or
 * when any certificate was regenerated after now (a clock set back waits
 * too, even for the same NAME); msg then says which one, at what
 * time, and when NAME may be retried (local time, HH:MM:SS). On success msg
 * holds the lines to show the operator: what changed and what to do next.
 * Returns ERR_OK, ERR_HOLD, ERR_ARG (unknown NAME, CAPF on a subscriber,
 * now before 1970),
 * ERR_NOTFOUND (not initialised), ERR_FORMAT (damaged node.info or
 * regen.state), ERR_IO or ERR_CRYPTO; msg holds the error text then too.
 */
int node_regen(const char *state, const char *name, time_t now, char *msg,
               size_t msglen) WUR;

/*
 * The checks of node_regen without any change, so that a caller can refuse
 * before it asks the operator to confirm: NAME, now (negative: ERR_ARG),
 * the node's role and the hold timer. With state NULL only NAME and now
 * are checked. Returns ERR_OK when node_regen would go ahead now, or
 * node_regen's error with the same text in msg.
 */
int node_regen_check(const char *state, const char *name, time_t now, char *msg,
                     size_t msglen) WUR;

/*
 * Builds the node's ITLFile.tlv: records, in this order,
 *   own CallManager certificate as SAST (the signer; whole certificate),
 *   own CallManager certificate as CCM+TFTP (whole certificate),
 *   the CAPF certificate (hash-only, role CAPF),
 *   own TVS, then set->tvs without duplicates (hash-only, role TVS),
 *   the recovery certificate as SAST (whole certificate),
 * signed with the CallManager key. digest is ITL_DIGEST_SHA1 (also for 0)
 * or ITL_DIGEST_SHA512. set may be NULL (no other node known). On success
 * *out is a new file owned by the caller. Returns ERR_OK, ERR_ARG (digest),
 * the errors of loading the keys, or those of itl_file_build.
 */
int node_build_itl(const char *state, const node_certset_t *set, int digest,
                   uint32_t timestamp, itl_file_t **out) WUR;

#endif

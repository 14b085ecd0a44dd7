/*
 * tftpnode: the TFTP node that every agent is, publisher included.
 *
 * It owns the node's TFTP folders and its in.tftpd, builds the node's own
 * ITL at a normal start, and carries out reset orders: verify the file
 * against the cluster's ITLRecovery certificate, refuse replays, install it
 * atomically in every folder, restart the TFTP service, report each step.
 * The publisher calls the same code for itself as subscribers do.
 */
#ifndef ITL_TFTPNODE_H
#define ITL_TFTPNODE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "config.h"
#include "err.h"

typedef struct tftpnode tftpnode_t;

/* Steps reported while a reset order is carried out (ResetStep values). */
typedef void(tftpnode_report_fn)(void *arg, int step, const char *sha1,
                                 const char *reason);

/*
 * Makes the node of configuration c (not copied: it must outlive the node).
 * Loads the stored certificate set and reset state. NULL on failure.
 */
tftpnode_t *tftpnode_new(const config_t *c);

/*
 * Starts the TFTP service. A node that last served a reset ITL keeps it;
 * otherwise it builds its own ITL first (a normal start).
 */
int tftpnode_start(tftpnode_t *n) WUR;

/* A normal restart: rebuilds the node's own ITL, installs it, restarts. */
int tftpnode_restart_normal(tftpnode_t *n) WUR;

/*
 * Takes the cluster's certificate set (stored for later starts). When the
 * node serves its own ITL and the set differs in what that ITL holds from
 * it (CAPF, other nodes' TVS, the recovery certificate), it rebuilds it; a
 * change in this node's own certificates waits for a normal restart.
 */
int tftpnode_set_certset(tftpnode_t *n, const Itl__CertSet *set) WUR;

/* Generation of the stored certificate set, 0 when none. */
uint64_t tftpnode_certset_generation(const tftpnode_t *n);

/* Nodes' clocks may differ by this much when an order's age is judged. */
#define TFTPNODE_CLOCK_SKEW 5

/* A reset order as the node receives it. */
typedef struct {
    uint64_t job;
    const uint8_t *itl;
    size_t len;
    uint32_t timestamp;        /* TIMESTAMP of the ITL's header */
    long long expires;         /* unix time after which it is stale; 0 none */
    const uint8_t *signer_der; /* the ITLRecovery certificate that signed,
                                  when not the cluster's one; or NULL */
    size_t signer_len;
} tftpnode_order_t;

/*
 * Carries out a reset order, calling report for each step: checks it (not
 * expired, signed by the cluster's ITLRecovery certificate or by the
 * restored ITLRecovery certificate the publisher named, not older than the
 * last one), installs it in every folder, restarts the TFTP service and
 * checks by TFTP that the service serves it. Returns ERR_OK when the node
 * serves the file, else the failure (already reported).
 */
int tftpnode_apply_reset(tftpnode_t *n, const tftpnode_order_t *o,
                         tftpnode_report_fn *report, void *arg);

/* SHA-1 (hex) and signer name of the ITL served now; "" when none. */
const char *tftpnode_sha1(const tftpnode_t *n);
const char *tftpnode_signer(const tftpnode_t *n);

/*
 * SHA-1 (hex) of the DER of the ITLRecovery certificate that the served
 * ITL holds as a SAST record (the cluster's recovery certificate, or one
 * with a CN=ITLRECOVERY_ subject before the node received the set); ""
 * when it holds none.
 */
const char *tftpnode_recovery_sha1(const tftpnode_t *n);

/* Path of the served ITL (in the first TFTP folder). */
const char *tftpnode_itl_path(const tftpnode_t *n);

/* Last reset job carried out and the timestamp of its ITL. */
uint64_t tftpnode_last_job(const tftpnode_t *n);
uint32_t tftpnode_last_reset_ts(const tftpnode_t *n);

/* Non-zero while the node serves a recovery-signed ITL. */
int tftpnode_in_reset(const tftpnode_t *n);

/*
 * Restarts a supervised in.tftpd that died, and keeps trying (every few
 * seconds, logging each failure) while it will not start. Call from the
 * event loop.
 */
void tftpnode_check(tftpnode_t *n);

/* Non-zero unless the supervised TFTP service is down. */
int tftpnode_serving(tftpnode_t *n);

/* Stops the TFTP service and frees *n; *n set to NULL. */
void tftpnode_destroy(tftpnode_t **n);

#endif

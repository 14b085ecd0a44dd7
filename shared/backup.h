/*
 * backup: whether the recovery key file STATE/keys/ITLRecovery.p12 has been
 * copied off the node, and the daily warning while it has not.
 *
 * STATE/backup.state (0644) records the last backup, one key=value a line:
 *   sha256=<64 hex digits of the key file that was copied>
 *   time=<unix time of the copy>
 *   where=<sftp://USER@HOST:PORT/PATH>
 *   how=upload|fetched   (copied there, or the key was fetched from there)
 * The key counts as backed up while the recorded sha256 is that of the
 * current key file. Whatever changes the file (regenerating ITLRecovery,
 * changing the cluster security password, which re-encrypts it) therefore
 * marks the backup missing again, with no step to forget.
 */
#ifndef ITL_BACKUP_H
#define ITL_BACKUP_H

#include <stddef.h>

#include "err.h"

#define BACKUP_STATE         "backup.state"
#define BACKUP_FIX_COMMAND   "itl-admin file get tftp ITLRecovery.p12"
#define BACKUP_WARN_SECONDS  86400
#define BACKUP_CHECK_SECONDS 60

typedef struct {
    int recorded; /* backup.state exists and reads well */
    int current;  /* ... and is of the current key file */
    long long time;
    char where[512];
    char how[16];
    char sha256[65];     /* of the file recorded */
    char key_sha256[65]; /* of the current key file ("" if none) */
} backup_status_t;

/*
 * Writes the lower-case hex SHA-256 of STATE/keys/ITLRecovery.p12 into
 * out. Returns ERR_OK, ERR_NOTFOUND or ERR_IO.
 */
int backup_key_sha256(const char *state, char out[65]) WUR;

/*
 * Records a backup at time now of the key file whose SHA-256 is sha256,
 * made to (how "upload") or fetched from (how "fetched") where. Refused
 * with ERR_REFUSED when the key file is no longer that one (it changed
 * since it was read), ERR_ARG when where holds a control character or is
 * too long. Returns ERR_OK, ERR_REFUSED, ERR_ARG, ERR_NOTFOUND, ERR_IO.
 */
int backup_record(const char *state, const char *sha256, const char *where,
                  const char *how, long long now) WUR;

/*
 * Fills st: what backup.state says and whether it is of the current key
 * file. A missing backup.state is not an error (recorded = 0); a damaged
 * one gives ERR_FORMAT naming the file. Returns ERR_OK, ERR_FORMAT, ERR_IO.
 */
int backup_status(const char *state, backup_status_t *st) WUR;

/* The daily reminder; start zeroed. */
typedef struct {
    long long next_check; /* the key file is looked at once a minute */
    long long warned_at;  /* time of the last warning */
    int warned;           /* warned since the key was last backed up */
} backup_nag_t;

/*
 * Decides at time now whether the warning is due: at the first check
 * while the key is not backed up, then every BACKUP_WARN_SECONDS (a clock
 * set back re-arms it). The key file is looked at no more than once per
 * BACKUP_CHECK_SECONDS. A damaged backup.state counts as no backup, and
 * the warning then says what is wrong with it. Returns 1 with the warning
 * in msg, else 0.
 */
int backup_nag_due(const char *state, long long now, backup_nag_t *nag,
                   char *msg, size_t msglen);

#endif

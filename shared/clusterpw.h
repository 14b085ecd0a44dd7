/*
 * clusterpw: changing the cluster security password of a node.
 *
 * The password itself is never stored; what derives from it is: the
 * password of STATE/keys/ITLRecovery.p12 (STATE/secrets/p12.pass) and the
 * enrolment key (STATE/secrets/enrol.key), see kdf.h. Changing it
 * re-encrypts the key file and rewrites both secrets. Subscribers that are
 * enrolled already keep their CURVE keys; a new subscriber must be
 * initialised with the new password. Because the key file changes, its
 * backup is missing again (see backup.h).
 */
#ifndef ITL_CLUSTERPW_H
#define ITL_CLUSTERPW_H

#include "err.h"

/*
 * Checks that current derives the stored p12.pass, then re-encrypts
 * STATE/keys/ITLRecovery.p12 under the password derived from next (the
 * old file kept as ITLRecovery.p12.prev, the old pass as p12.pass.prev)
 * and rewrites p12.pass and enrol.key. A key file that already opens with
 * the new password (a change interrupted after its first step) is kept as
 * it is. Returns ERR_OK, ERR_PASSWORD (current is wrong; nothing changed),
 * ERR_ARG (empty password, or next equals current), ERR_NOTFOUND,
 * ERR_PERM, ERR_FORMAT, ERR_CRYPTO or ERR_IO.
 */
int clusterpw_change(const char *state, const char *current,
                     const char *next) WUR;

#endif

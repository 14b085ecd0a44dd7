/*
 * trust: the rules by which a phone accepts a new ITL.
 *
 * A phone that holds no ITL accepts the first file whose own signature
 * verifies (with the certificate of its signer record). A phone that holds
 * an ITL accepts a new file only when the new file's signer (its header's
 * SIGNERNAME and SERIALNUMBER) is a SAST record of the HELD file, and the
 * new file's signature verifies with that held certificate. Phones also
 * accept a signer that a TVS listed in the held ITL vouches for; this
 * module has no TVS client: trust_accepts_tvs takes one as a callback, and
 * trust_accepts calls it with none (so only the SAST rule applies).
 *
 * The FILENAME header element is not checked: a phone applies the same
 * rules to whatever it downloaded as ITLFile.tlv.
 */
#ifndef ITL_TRUST_H
#define ITL_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "itl.h"

/*
 * A TVS client: asks the TVS of the held record tvs whether the
 * certificate cert (DER, len bytes; the signer of the candidate file) is
 * trusted. Returns ERR_OK when it vouches for it, ERR_UNTRUSTED when it
 * does not, another code when it could not be asked (the reason in
 * err_detail()).
 */
typedef int (*trust_tvs_fn)(const itl_record_t *tvs, const uint8_t *cert,
                            size_t len, void *arg);

/*
 * Decides whether a phone holding held (NULL: none) accepts candidate.
 * Returns ERR_OK when it does, ERR_UNTRUSTED when it does not, with the
 * reason (one line, e.g. "signer CN=x;OU=y is not trusted (no SAST record
 * of the held ITL has serial 0a1b and that subject)") written to why
 * (whylen bytes, may be 0); ERR_NOMEM on failure.
 */
int trust_accepts(const itl_file_t *held, const itl_file_t *candidate,
                  char *why, size_t whylen) WUR;

/*
 * As trust_accepts, and when no held SAST record fits, asks tvs (when not
 * NULL) about the candidate's signer certificate for each TVS record of
 * the held file, in file order, until one vouches.
 */
int trust_accepts_tvs(const itl_file_t *held, const itl_file_t *candidate,
                      trust_tvs_fn tvs, void *arg, char *why,
                      size_t whylen) WUR;

/*
 * Writes the candidate's signer name (SIGNERNAME as text) into buf;
 * "(unnamed)" when the header has none. Returns buf.
 */
const char *trust_signer_name(const itl_file_t *f, char *buf, size_t size);

#endif

/*
 * protocheck: the checks every decoded agent message passes before any
 * handler sees it. protobuf-c guarantees the wire format; this refuses
 * values that are well-formed but absurd: host names that are not host
 * names (a path like "../x" would otherwise reach a file name), certificate
 * blobs or ITL files over their size limits, huge counts, a zero job.
 */
#ifndef ITL_PROTOCHECK_H
#define ITL_PROTOCHECK_H

#include "cluster.pb-c.h"
#include "err.h"

/* Longest host name a node may have (ITLRECOVERY_<host> fits a CN). */
#define PROTOCHECK_HOST_MAX 52
/* Most certificates in a certificate set (two per node). */
#define PROTOCHECK_MAX_CERTS 8192

/*
 * Non-zero when s is a host name: 1 to PROTOCHECK_HOST_MAX letters, digits,
 * '-', '_' or '.', not starting with '.' or '-'.
 */
int protocheck_hostname(const char *s);

/*
 * Checks env's body. Returns ERR_OK, or ERR_PROTO with a detail that names
 * the field and the value's problem (peer strings are length-capped).
 */
int protocheck_envelope(const Itl__Envelope *env) WUR;

#endif

/*
 * audit: which phones a bulk ITL reset can recover.
 *
 * Phones report the SHA-1 of the ITL they hold. A report file has one
 * line per phone: its name and that SHA-1, separated by spaces or tabs.
 * '#' starts a comment (to the end of the line); blank lines are skipped.
 * The publisher's ITL history says, for every ITL a node served, whether
 * it holds the cluster's ITLRecovery certificate. A phone is recoverable
 * when its ITL is known and holds it; known without it, or unknown, the
 * phone needs manual work. See docs/AUDIT.md.
 */
#ifndef ITL_AUDIT_H
#define ITL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AUDIT_MAX_BYTES  (16 * 1024 * 1024) /* a report file */
#define AUDIT_MAX_PHONES 200000
#define AUDIT_NAME_MAX   64
#define AUDIT_LINE_MAX   1024
#define AUDIT_MAX_BAD    1000 /* bad lines kept; more are only counted */

typedef struct {
    size_t line; /* 1-based */
    char name[AUDIT_NAME_MAX + 1];
    char sha1[41]; /* lower-case hex */
} audit_phone_t;

typedef struct {
    size_t line;
    char why[160];
} audit_bad_t;

/* A parsed report: phones in file order, bad lines in file order. */
typedef struct {
    audit_phone_t *phones;
    size_t nphones;
    audit_bad_t *bad;
    size_t nbad;  /* kept in bad[] (at most AUDIT_MAX_BAD) */
    size_t nskip; /* all bad lines, kept or not */
} audit_report_t;

/*
 * Parses a report of len bytes. Bad lines (not two fields, a name longer
 * than AUDIT_NAME_MAX or not printable, a SHA-1 that is not 40 hex digits,
 * a line over AUDIT_LINE_MAX bytes, a phone named twice: the later line)
 * are recorded with their line number and skipped. On ERR_OK the caller
 * clears *out with audit_report_clear. Returns ERR_OK, ERR_TOOBIG (over
 * AUDIT_MAX_BYTES or AUDIT_MAX_PHONES; nothing returned) or ERR_NOMEM.
 */
int audit_parse(const uint8_t *buf, size_t len, audit_report_t *out) WUR;

/* Frees what audit_parse gave; r may be zeroed or already cleared. */
void audit_report_clear(audit_report_t *r);

/* Whether a known ITL holds the cluster's ITLRecovery certificate. */
enum audit_recovery {
    AUDIT_REC_NO = 0,  /* no ITLRecovery record */
    AUDIT_REC_YES = 1, /* the cluster's current one */
    AUDIT_REC_OLD = 2  /* an ITLRecovery certificate that is not current */
};

/* One ITL a node served, from the publisher's history. */
typedef struct {
    char sha1[41];
    char node[64];
    int recovery; /* enum audit_recovery */
    long long first, last;
    char signer[160];
} audit_itl_t;

/*
 * Parses one line of the publisher's itl-history answer: SHA1, NODE,
 * yes|no|old, FIRST, LAST and SIGNER separated by tabs. Returns ERR_OK or
 * ERR_FORMAT.
 */
int audit_itl_parse(const char *line, audit_itl_t *out) WUR;

enum audit_class {
    AUDIT_RECOVERABLE = 0, /* known, holds the cluster's ITLRecovery */
    AUDIT_NO_RECOVERY = 1, /* known, without it (or with an old one) */
    AUDIT_UNKNOWN = 2      /* no node of this cluster ever served it */
};

/*
 * Classifies sha1 against the n known ITLs. *match (when not NULL) is set
 * to the entry that decided, preferring one that holds the recovery
 * certificate; NULL for AUDIT_UNKNOWN. Returns an enum audit_class.
 */
int audit_classify(const audit_itl_t *known, size_t n, const char *sha1,
                   const audit_itl_t **match);

#endif

/*
 * phone: one simulated IP phone, booting from a TFTP server.
 *
 * A phone's state folder holds ITLFile.tlv (the ITL it trusts; absent until
 * its first accepted download) and status (its last status line).
 */
#ifndef ITL_PHONE_H
#define ITL_PHONE_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

enum phone_status {
    PHONE_ACCEPTED = 0, /* new ITL stored (exit status 0) */
    PHONE_REFUSED = 1,  /* Trust List Update Failed (exit status 1) */
    PHONE_FAILED = 2    /* no ITL downloaded, or bad setup (exit status 2) */
};

typedef struct {
    const char *name;  /* SEP + 12 hex digits */
    const char *state; /* state folder, created when missing */
    const char *host;  /* TFTP server */
    int port;          /* 69 when 0 */
    int timeout_ms;    /* bound for the whole download */
    /* The TVS asked about unknown signers: NULL means host; port 0 2445. */
    const char *tvs_host;
    int tvs_port;
} phone_cfg_t;

typedef struct {
    int status;         /* enum phone_status */
    char reason[600];   /* why refused or failed; "" when accepted */
    char held_sha1[41]; /* SHA-1 of the ITL held after the boot, "" none */
    char signer[256];   /* signer of the downloaded file, "" unknown */
    char server[300];   /* HOST:PORT */
    char line[1400];    /* the status line */
} phone_result_t;

/* Non-zero when name is "SEP" and 12 hex digits. */
int phone_name_valid(const char *name);

/*
 * Boots the phone: downloads ITLFile.tlv, applies the trust rules
 * (trust.h; a signer the held ITL does not list as SAST is asked about at
 * the TVS, which must present a certificate of a TVS record of the held
 * ITL and answer valid with role SAST, CCM, CCM+TFTP or TFTP), stores an
 * accepted file with a durable write and writes the status file. Fills res in
 * every case; never changes the held ITL unless the new one is accepted.
 * Thread-safe for phones with distinct folders.
 */
void phone_boot(const phone_cfg_t *cfg, phone_result_t *res);

/* Prints res as one JSON object and a newline to f. */
void phone_print_json(const phone_result_t *res, const char *name, FILE *f);

/*
 * Prints "KEY": "V" (JSON-escaped; null when v is NULL or empty) to f,
 * then ", " or, when last, "}" and a newline.
 */
void phone_json_field(FILE *f, const char *key, const char *v, int last);

/*
 * Reads the held ITL of a state folder: its SHA-1 (sha1 "" when none) and
 * signer. Returns ERR_OK (also when none is held) or the error of reading
 * or parsing it (err_detail() names the file).
 */
int phone_held(const char *state, char sha1[41], char *signer, size_t size) WUR;

#endif

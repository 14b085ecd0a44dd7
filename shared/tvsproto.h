/*
 * tvsproto: the wire format of the Trust Verification Service (TVS), the
 * TLS service phones ask about certificates their ITL does not hold.
 *
 * A message is a 10-byte big-endian header and a body:
 *
 *   offset 0  protocol id (87)        offset 4  session id (u32)
 *   offset 1  protocol version (1)    offset 8  body length (u16)
 *   offset 2  command (1..4)
 *   offset 3  reserved (ignored)
 *
 * The body is elements of tag (1 byte), length (u16) and value: 1 device
 * name (0x01 then UTF-8), 2 certificate (DER), 7 status, 8 roles (one ITL
 * role code a byte), 9 TTL (u32 seconds). Decoders never read past the
 * bytes they are given, and every refusal names the byte offset (counted
 * from the first byte of the header) and what was wrong there.
 */
#ifndef ITL_TVSPROTO_H
#define ITL_TVSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TVSPROTO_ID      87
#define TVSPROTO_VERSION 1
#define TVSPROTO_HEADER  10

/* Largest body either side accepts: a certificate of up to ~16 KiB. */
#define TVSPROTO_MAX_BODY 16384

/* Longest device name, in bytes, after its leading 0x01. */
#define TVSPROTO_MAX_DEVICE 64

/* Most roles one answer carries. */
#define TVSPROTO_MAX_ROLES 16

enum tvsproto_cmd {
    TVSPROTO_VERIFY_REQ = 1,
    TVSPROTO_VERIFY_RESP = 2,
    TVSPROTO_QUERY_REQ = 3,
    TVSPROTO_QUERY_RESP = 4
};

enum tvsproto_tag {
    TVSPROTO_T_DEVICE = 1,
    TVSPROTO_T_CERT = 2,
    TVSPROTO_T_STATUS = 7,
    TVSPROTO_T_ROLES = 8,
    TVSPROTO_T_TTL = 9
};

enum tvsproto_status { TVSPROTO_VALID = 0, TVSPROTO_INVALID = 1 };

typedef struct {
    uint8_t command;
    uint8_t reserved;
    uint32_t session;
    uint16_t body_len;
} tvsproto_header_t;

/* A verify request. cert points into the decoded buffer. */
typedef struct {
    uint32_t session;
    char device[TVSPROTO_MAX_DEVICE + 1]; /* NUL-terminated UTF-8 */
    const uint8_t *cert;
    size_t cert_len;
} tvsproto_request_t;

/* A verify response. */
typedef struct {
    uint32_t session;
    int status; /* enum tvsproto_status */
    uint8_t roles[TVSPROTO_MAX_ROLES];
    size_t nroles;
    int has_ttl;
    uint32_t ttl;
} tvsproto_response_t;

/*
 * Decodes the header at the start of buf (len bytes; at least
 * TVSPROTO_HEADER are needed). Checks the protocol id, the version, that
 * the command is one of enum tvsproto_cmd and that the body length is at
 * most TVSPROTO_MAX_BODY. Returns ERR_OK, ERR_FORMAT or ERR_TOOBIG (body
 * length over the limit); the detail names the offset.
 */
int tvsproto_header_decode(const uint8_t *buf, size_t len,
                           tvsproto_header_t *h) WUR;

/*
 * Decodes a whole verify request (header and body, exactly len bytes).
 * Requires one device name and one certificate; skips unknown tags;
 * refuses response elements, duplicates, trailing or missing bytes.
 * Device names may end in NUL bytes (dropped) but hold no other control
 * character and are valid UTF-8. req->cert points into buf. Returns ERR_OK,
 * ERR_FORMAT or ERR_TOOBIG with the offset in the detail.
 */
int tvsproto_request_decode(const uint8_t *buf, size_t len,
                            tvsproto_request_t *req) WUR;

/*
 * Decodes a whole verify response: a status (0 or 1) is required, roles
 * (at most TVSPROTO_MAX_ROLES) and TTL (4 bytes) are optional, unknown tags
 * are skipped. Returns ERR_OK, ERR_FORMAT or ERR_TOOBIG.
 */
int tvsproto_response_decode(const uint8_t *buf, size_t len,
                             tvsproto_response_t *resp) WUR;

/*
 * Encodes a verify request into buf (size bytes); *len gets the length
 * written. Returns ERR_OK, ERR_ARG (empty or over-long device name, empty
 * certificate) or ERR_TOOBIG (body over the limit, or buf too small).
 */
int tvsproto_request_encode(const tvsproto_request_t *req, uint8_t *buf,
                            size_t size, size_t *len) WUR;

/*
 * Encodes a verify response: status, then roles when there are any, then
 * the TTL when has_ttl. Returns ERR_OK, ERR_ARG or ERR_TOOBIG.
 */
int tvsproto_response_encode(const tvsproto_response_t *resp, uint8_t *buf,
                             size_t size, size_t *len) WUR;

/*
 * Writes the role codes as names separated by ", " ("CCM+TFTP, TVS"), or
 * "none", into buf. Returns buf.
 */
const char *tvsproto_roles_text(const uint8_t *roles, size_t n, char *buf,
                                size_t size);

#endif

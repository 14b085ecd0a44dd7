/*
 * itl: the ITL / CTL file codec (see ../shared/ITL-FORMAT.md).
 *
 * A parsed file keeps its own copy of the bytes it was parsed from; every
 * element points into that copy, so serialize(parse(x)) == x byte for byte,
 * unknown tags and record tag order included.
 */
#ifndef ITL_ITL_H
#define ITL_ITL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

/* Phones refuse ITL files over 64 KiB. */
#define ITL_MAX_FILE 65536

/* Header tags. */
enum itl_htag {
    ITL_H_VERSION = 1,
    ITL_H_HEADERLENGTH = 2,
    ITL_H_SIGNERID = 3,
    ITL_H_SIGNERNAME = 4,
    ITL_H_SERIALNUMBER = 5,
    ITL_H_CANAME = 6,
    ITL_H_SIGNATUREINFO = 7,
    ITL_H_DIGESTALGORITHM = 8,
    ITL_H_SIGNATUREALGOINFO = 9,
    ITL_H_SIGNATUREALGORITHM = 10,
    ITL_H_SIGNATUREMODULUS = 11,
    ITL_H_SIGNATURE = 12,
    ITL_H_PADDING = 13,
    ITL_H_FILENAME = 14,
    ITL_H_TIMESTAMP = 15,
    ITL_H_SIGNERVERSION = 28
};

/* Record tags. */
enum itl_rtag {
    ITL_R_RECORDLENGTH = 1,
    ITL_R_DNSNAME = 2,
    ITL_R_SUBJECTNAME = 3,
    ITL_R_FUNCTION = 4,
    ITL_R_ISSUERNAME = 5,
    ITL_R_SERIALNUMBER = 6,
    ITL_R_PUBLICKEY = 7,
    ITL_R_SIGNATURE = 8,
    ITL_R_CERTIFICATE = 9,
    ITL_R_IPADDRESS = 10,
    ITL_R_CERTHASH = 11,
    ITL_R_HASHALGORITHM = 12
};

/* Record roles (FUNCTION). */
enum itl_role {
    ITL_ROLE_SAST = 0,
    ITL_ROLE_CCM = 1,
    ITL_ROLE_CCM_TFTP = 2,
    ITL_ROLE_TFTP = 3,
    ITL_ROLE_CAPF = 4,
    ITL_ROLE_APP_SERVER = 7,
    ITL_ROLE_TVS = 21
};

/* DIGESTALGORITHM values (also HASH ALGORITHM of hash-only records). */
enum itl_digest {
    ITL_DIGEST_SHA1 = 1,
    ITL_DIGEST_SHA256 = 2,
    ITL_DIGEST_SHA512 = 3
};

/*
 * One element as it stands in the file. PADDING has len 0, no value. The
 * header containers (SIGNERID, SIGNATUREINFO, SIGNATUREALGOINFO) have their
 * length field in len and value NULL: their children follow them as
 * elements of their own.
 */
typedef struct {
    size_t offset; /* byte offset of the tag in the file */
    uint8_t tag;
    uint16_t len;         /* length of the value */
    const uint8_t *value; /* into the file's bytes; NULL when len is 0 */
} itl_elem_t;

/* One record. Pointers are NULL when the record lacks that element. */
typedef struct {
    size_t offset; /* byte offset of the record in the file */
    size_t length; /* RECORDLENGTH */
    itl_elem_t *elems;
    size_t nelems;
    int function; /* FUNCTION value, -1 when absent */
    const itl_elem_t *dnsname, *subject, *issuer, *serial, *pubkey, *sig, *cert,
        *ipaddr, *certhash, *hashalg;
} itl_record_t;

typedef struct itl_file itl_file_t;

/*
 * Parses len bytes of buf (copied). On malformed input returns ERR_FORMAT
 * (or ERR_TOOBIG over ITL_MAX_FILE) and err_detail() names the byte offset
 * and what was wrong. On success *out is a new file owned by the caller.
 */
int itl_file_parse(const uint8_t *buf, size_t len, itl_file_t **out) WUR;

/* Reads and parses path; errors name the path. */
int itl_file_load(const char *path, itl_file_t **out) WUR;

/* Frees *f (NULL allowed) and sets *f to NULL. */
void itl_file_destroy(itl_file_t **f);

/* The file's bytes (owned by f) and their length. */
const uint8_t *itl_file_bytes(const itl_file_t *f, size_t *len);

/* VERSION as major * 256 + minor; HEADERLENGTH. */
unsigned itl_file_version(const itl_file_t *f);
size_t itl_file_header_length(const itl_file_t *f);

/* Header elements in file order, padding bytes included one by one. */
size_t itl_file_header_count(const itl_file_t *f);
const itl_elem_t *itl_file_header_elem(const itl_file_t *f, size_t i);

/* The first header element with tag, or NULL. */
const itl_elem_t *itl_file_header_find(const itl_file_t *f, uint8_t tag);

/* Records in file order. */
size_t itl_file_record_count(const itl_file_t *f);
const itl_record_t *itl_file_record(const itl_file_t *f, size_t i);

/* DIGESTALGORITHM of the header (enum itl_digest), -1 when absent. */
int itl_file_digest(const itl_file_t *f);

/* TIMESTAMP of the header, 0 when absent. */
uint32_t itl_file_timestamp(const itl_file_t *f);

/*
 * Index of the record that signed the file: a SAST record whose serial
 * equals the header's SERIALNUMBER and whose subject equals SIGNERNAME.
 * Returns -1 when no record matches.
 */
int itl_file_signer_index(const itl_file_t *f);

/*
 * Verifies the file's signature with key (RSA PKCS#1 v1.5, digest from the
 * header) over the whole file minus the SIGNATURE element. Returns ERR_OK or
 * ERR_SIGNATURE (detail says why), ERR_FORMAT for an unknown digest.
 */
int itl_file_verify(const itl_file_t *f, EVP_PKEY *key) WUR;

/*
 * Verifies with the certificate of the signer record (itl_file_signer_index).
 * ERR_NOTFOUND when the file holds no signer record with a certificate.
 */
int itl_file_verify_self(const itl_file_t *f) WUR;

/*
 * Strips the signature and signs the same records with key and cert:
 * SIGNERNAME, SERIALNUMBER, CANAME, SIGNERID, SIGNATUREMODULUS, SIGNATURE,
 * HEADERLENGTH, padding, DIGESTALGORITHM (digest) and TIMESTAMP are
 * rewritten, every other header element and every record byte is kept.
 * On success *out is a new file owned by the caller.
 */
int itl_file_resign(const itl_file_t *in, EVP_PKEY *key, X509 *cert, int digest,
                    uint32_t timestamp, itl_file_t **out) WUR;

/* One certificate to put in a built file. */
typedef struct {
    X509 *cert;
    int function;        /* enum itl_role */
    int hash_only;       /* CERTHASH + HASH ALGORITHM instead of CERTIFICATE */
    const char *dnsname; /* NULL writes an empty name */
    uint32_t ipv4;       /* host order; 0 writes no IPADDRESS element */
} itl_entry_t;

/*
 * Builds a signed file from entries, tags in ascending order, signed by key
 * whose certificate is signer. filename is "ITLFile.tlv" or "CTLFile.tlv".
 */
int itl_file_build(const itl_entry_t *entries, size_t n, EVP_PKEY *key,
                   X509 *signer, int digest, const char *filename,
                   uint32_t timestamp, itl_file_t **out) WUR;

/*
 * Writes an X.509 name in the files' form, "CN=..;OU=..;O=..;L=..;ST=..;C=.."
 * (most specific first, ";" between), into buf: CN, OU, O, L, ST and C in
 * that order whatever their order in the certificate, then any other
 * attribute in certificate order.
 * Returns the length written (without NUL) or -1 when it does not fit.
 */
int itl_name_format(const X509_NAME *name, char *buf, size_t size);

/* Lower-case hex MD5 and SHA-1 of buf. */
void itl_checksums(const uint8_t *buf, size_t len, char md5[33], char sha1[41]);

/* Name of a role ("System Administrator Security Token", "TFTP", ...). */
const char *itl_role_name(int function);

/* Name of a header or record tag, as show itl prints it. */
const char *itl_htag_name(uint8_t tag);
const char *itl_rtag_name(uint8_t tag);

/* ---- Additions beyond the first contract ---- */

/* Non-zero for the header containers 3, 7 and 9. */
int itl_is_container(uint8_t tag);

/*
 * Re-encodes f from its element list (not a copy of its bytes) into a new
 * buffer the caller frees. For any parsed file the result equals the bytes
 * it was parsed from. Returns ERR_OK or ERR_NOMEM.
 */
int itl_file_serialize(const itl_file_t *f, uint8_t **buf, size_t *len) WUR;

/*
 * A note about a parsed file that is not fatal to parsing, or NULL. Today:
 * the first header container whose length disagrees with the elements it
 * holds (such a file parses, and its signature fails). Owned by f.
 */
const char *itl_file_warning(const itl_file_t *f);

/*
 * Decodes the CERTIFICATE of a record into a new X509 (*out, caller frees).
 * ERR_NOTFOUND when the record holds none, ERR_FORMAT when it does not
 * decode (detail names the offset).
 */
int itl_record_x509(const itl_record_t *r, X509 **out) WUR;

/* OpenSSL digest of an enum itl_digest value, NULL when unknown. */
const EVP_MD *itl_digest_md(int digest);

/* "SHA-1", "SHA-256", "SHA-512" or "unknown". */
const char *itl_digest_name(int digest);

/* Parses "sha1", "sha256", "sha512" (or "SHA-1"...); -1 when unknown. */
int itl_digest_parse(const char *name);

#endif

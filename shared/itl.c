#include "itl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "fsutil.h"

struct itl_file {
    uint8_t *bytes;
    size_t len;
    size_t header_length;
    itl_elem_t *hdr;
    size_t nhdr;
    itl_record_t *recs;
    size_t nrecs;
    char warning[160];
};

/* A growable byte buffer; a failed append sets oom and later ones no-op. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} s_buf_t;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static unsigned
s_be16(const uint8_t *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

static uint32_t
s_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

int
itl_is_container(uint8_t tag)
{
    return tag == ITL_H_SIGNERID || tag == ITL_H_SIGNATUREINFO ||
           tag == ITL_H_SIGNATUREALGOINFO;
}

/* Bytes an element takes in the file. */
static size_t
s_hsize(const itl_elem_t *e)
{
    if (e->tag == ITL_H_PADDING)
        return 1;
    if (itl_is_container(e->tag))
        return 3;
    return 3 + (size_t)e->len;
}

static void
s_buf_put(s_buf_t *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void
s_buf_tl(s_buf_t *b, uint8_t tag, size_t len)
{
    uint8_t h[3] = {tag, (uint8_t)(len >> 8), (uint8_t)len};

    s_buf_put(b, h, 3);
}

static void
s_buf_tlv(s_buf_t *b, uint8_t tag, const void *v, size_t len)
{
    s_buf_tl(b, tag, len);
    s_buf_put(b, v, len);
}

static void
s_buf_u8(s_buf_t *b, uint8_t tag, unsigned v)
{
    uint8_t x = (uint8_t)v;

    s_buf_tlv(b, tag, &x, 1);
}

static void
s_buf_u16(s_buf_t *b, uint8_t tag, unsigned v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    s_buf_tlv(b, tag, x, 2);
}

static void
s_buf_str(s_buf_t *b, uint8_t tag, const char *s)
{
    s_buf_tlv(b, tag, s, strlen(s) + 1);
}

static void
s_buf_free(s_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/*
 * Reads the element at pos. limit is where the enclosing part (header or
 * record) ends; what names it in errors. In the header PADDING is a bare
 * byte and containers own no value.
 */
static int
s_read_elem(const itl_file_t *f, size_t pos, size_t limit, int in_header,
            const char *what, itl_elem_t *e)
{
    const uint8_t *b = f->bytes;
    size_t end;

    e->offset = pos;
    e->tag = b[pos];
    e->len = 0;
    e->value = NULL;
    if (in_header && e->tag == ITL_H_PADDING)
        return ERR_OK;
    if (pos + 3 > f->len)
        return err_set(ERR_FORMAT,
                       "offset %zu: truncated element: tag %u needs a "
                       "2-byte length but the file ends at %zu",
                       pos, e->tag, f->len);
    e->len = (uint16_t)s_be16(b + pos + 1);
    end = pos + 3 + (in_header && itl_is_container(e->tag) ? 0 : e->len);
    if (in_header && itl_is_container(e->tag) && pos + 3 + e->len > limit)
        return err_set(ERR_FORMAT,
                       "offset %zu: container tag %u of %u bytes runs past "
                       "the end of the %s, which ends at offset %zu",
                       pos, e->tag, e->len, what, limit);
    if (end > f->len)
        return err_set(ERR_FORMAT,
                       "offset %zu: truncated element: tag %u needs %u bytes "
                       "but the file ends at %zu",
                       pos, e->tag, e->len, f->len);
    if (end > limit)
        return err_set(ERR_FORMAT,
                       "offset %zu: element tag %u of %u bytes runs past the "
                       "end of the %s, which ends at offset %zu",
                       pos, e->tag, e->len, what, limit);
    if (!(in_header && itl_is_container(e->tag)) && e->len > 0)
        e->value = b + pos + 3;
    return ERR_OK;
}

static int
s_push_elem(itl_elem_t **arr, size_t *n, size_t *cap, const itl_elem_t *e)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        itl_elem_t *p = realloc(*arr, c * sizeof(*p));
        if (p == NULL)
            return err_set(ERR_NOMEM, "out of memory parsing an ITL file");
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = *e;
    return ERR_OK;
}

/* Tags that may appear once in a header; a repeat means a bad length. */
static int
s_htag_unique(uint8_t tag)
{
    return (tag >= ITL_H_VERSION && tag <= ITL_H_TIMESTAMP &&
            tag != ITL_H_PADDING) ||
           tag == ITL_H_SIGNERVERSION;
}

/* Reads VERSION and HEADERLENGTH, which must open every file. */
static int
s_parse_lead(itl_file_t *f, itl_elem_t lead[2])
{
    static const char *names[2] = {"VERSION", "HEADERLENGTH"};
    int rc;

    for (int i = 0; i < 2; i++) {
        size_t pos = (size_t)i * 5;

        if (pos >= f->len)
            return err_set(ERR_FORMAT,
                           "offset %zu: truncated file: %s expected", pos,
                           names[i]);
        rc = s_read_elem(f, pos, f->len, 1, "file", &lead[i]);
        if (rc != ERR_OK)
            return rc;
        if (lead[i].tag != i + 1 || lead[i].len != 2)
            return err_set(ERR_FORMAT,
                           "offset %zu: expected %s (tag %d, length 2), "
                           "found tag %u length %u",
                           pos, names[i], i + 1, lead[i].tag, lead[i].len);
    }
    f->header_length = s_be16(lead[1].value);
    if (f->header_length < 10)
        return err_set(ERR_FORMAT,
                       "offset 5: HEADERLENGTH %zu is shorter than VERSION "
                       "and HEADERLENGTH themselves",
                       f->header_length);
    if (f->header_length > f->len)
        return err_set(ERR_FORMAT,
                       "offset 5: HEADERLENGTH %zu runs past the end of the "
                       "file at %zu (truncated file)",
                       f->header_length, f->len);
    return ERR_OK;
}

static int
s_parse_header(itl_file_t *f)
{
    itl_elem_t lead[2], e;
    size_t cap = 0, pos = 10;
    uint32_t seen = 0;
    int rc;

    rc = s_parse_lead(f, lead);
    if (rc != ERR_OK)
        return rc;
    for (int i = 0; i < 2; i++) {
        rc = s_push_elem(&f->hdr, &f->nhdr, &cap, &lead[i]);
        if (rc != ERR_OK)
            return rc;
    }
    seen = (1u << ITL_H_VERSION) | (1u << ITL_H_HEADERLENGTH);
    while (pos < f->header_length) {
        rc = s_read_elem(f, pos, f->header_length, 1, "header", &e);
        if (rc != ERR_OK)
            return rc;
        if (s_htag_unique(e.tag)) {
            if (seen & (1u << e.tag))
                return err_set(ERR_FORMAT,
                               "offset %zu: HEADERLENGTH %zu disagrees with "
                               "the header: a second %s starts here",
                               pos, f->header_length, itl_htag_name(e.tag));
            seen |= 1u << e.tag;
        }
        rc = s_push_elem(&f->hdr, &f->nhdr, &cap, &e);
        if (rc != ERR_OK)
            return rc;
        pos += s_hsize(&e);
    }
    return ERR_OK;
}

/* Child tags of a header container, or NULL. */
static const char *
s_children(uint8_t tag)
{
    static const char signerid[] = {4, 5, 6, 0};
    static const char siginfo[] = {8, 9, 10, 11, 0};
    static const char algoinfo[] = {10, 11, 0};

    switch (tag) {
    case ITL_H_SIGNERID:
        return signerid;
    case ITL_H_SIGNATUREINFO:
        return siginfo;
    case ITL_H_SIGNATUREALGOINFO:
        return algoinfo;
    }
    return NULL;
}

/*
 * Containers whose length disagrees with the elements that follow them are
 * kept (the signature covers them, so such a file fails verification); the
 * first one is noted for show itl.
 */
static void
s_check_containers(itl_file_t *f)
{
    for (size_t i = 0; i < f->nhdr; i++) {
        const char *kids = s_children(f->hdr[i].tag);
        size_t sum = 0;

        if (kids == NULL)
            continue;
        for (size_t j = i + 1; j < f->nhdr; j++) {
            if (strchr(kids, f->hdr[j].tag) == NULL || f->hdr[j].tag == 0)
                break;
            sum += s_hsize(&f->hdr[j]);
        }
        if (sum != f->hdr[i].len) {
            snprintf(f->warning, sizeof(f->warning),
                     "offset %zu: %s length %u disagrees with the %zu bytes "
                     "of elements it holds",
                     f->hdr[i].offset, itl_htag_name(f->hdr[i].tag),
                     f->hdr[i].len, sum);
            return;
        }
    }
}

static void
s_record_index(itl_record_t *r)
{
    const itl_elem_t **slot[13] = {NULL};

    slot[ITL_R_DNSNAME] = &r->dnsname;
    slot[ITL_R_SUBJECTNAME] = &r->subject;
    slot[ITL_R_ISSUERNAME] = &r->issuer;
    slot[ITL_R_SERIALNUMBER] = &r->serial;
    slot[ITL_R_PUBLICKEY] = &r->pubkey;
    slot[ITL_R_SIGNATURE] = &r->sig;
    slot[ITL_R_CERTIFICATE] = &r->cert;
    slot[ITL_R_IPADDRESS] = &r->ipaddr;
    slot[ITL_R_CERTHASH] = &r->certhash;
    slot[ITL_R_HASHALGORITHM] = &r->hashalg;
    r->function = -1;
    for (size_t i = 0; i < r->nelems; i++) {
        const itl_elem_t *e = &r->elems[i];

        if (e->tag == ITL_R_FUNCTION && r->function < 0 && e->len == 2)
            r->function = (int)s_be16(e->value);
        if (e->tag < 13 && slot[e->tag] != NULL && *slot[e->tag] == NULL)
            *slot[e->tag] = e;
    }
}

/* Parses the record at pos into r; *next is where the next one starts. */
static int
s_parse_record(itl_file_t *f, size_t pos, itl_record_t *r, size_t *next)
{
    itl_elem_t e, *arr = NULL;
    size_t n = 0, cap = 0, end;
    char what[48];
    int rc;

    rc = s_read_elem(f, pos, f->len, 0, "file", &e);
    if (rc != ERR_OK)
        return rc;
    if (e.tag != ITL_R_RECORDLENGTH || e.len != 2)
        return err_set(ERR_FORMAT,
                       "offset %zu: expected a record's RECORDLENGTH (tag 1, "
                       "length 2), found tag %u length %u",
                       pos, e.tag, e.len);
    r->offset = pos;
    r->length = s_be16(e.value);
    end = pos + r->length;
    if (r->length < 5)
        return err_set(ERR_FORMAT,
                       "offset %zu: RECORDLENGTH %zu is shorter than the "
                       "RECORDLENGTH element itself",
                       pos, r->length);
    if (end > f->len)
        return err_set(ERR_FORMAT,
                       "offset %zu: RECORDLENGTH %zu runs past the end of "
                       "the file at %zu (truncated file)",
                       pos, r->length, f->len);
    snprintf(what, sizeof(what), "record at offset %zu", pos);
    rc = s_push_elem(&arr, &n, &cap, &e);
    for (size_t p = pos + 5; rc == ERR_OK && p < end; p += 3 + e.len) {
        rc = s_read_elem(f, p, end, 0, what, &e);
        if (rc == ERR_OK && e.tag == ITL_R_RECORDLENGTH)
            rc = err_set(ERR_FORMAT,
                         "offset %zu: RECORDLENGTH %zu of the record at "
                         "offset %zu disagrees with its elements: a second "
                         "RECORDLENGTH starts here",
                         p, r->length, pos);
        if (rc == ERR_OK)
            rc = s_push_elem(&arr, &n, &cap, &e);
    }
    if (rc != ERR_OK) {
        free(arr);
        return rc;
    }
    r->elems = arr;
    r->nelems = n;
    s_record_index(r);
    *next = end;
    return ERR_OK;
}

static int
s_parse_records(itl_file_t *f)
{
    size_t pos = f->header_length, cap = 0;
    int rc;

    if (pos >= f->len)
        return err_set(ERR_FORMAT,
                       "offset %zu: the file holds no record after its "
                       "header",
                       pos);
    while (pos < f->len) {
        if (f->nrecs == cap) {
            size_t c = cap ? cap * 2 : 8;
            itl_record_t *p = realloc(f->recs, c * sizeof(*p));
            if (p == NULL)
                return err_set(ERR_NOMEM, "out of memory parsing records");
            f->recs = p;
            cap = c;
        }
        memset(&f->recs[f->nrecs], 0, sizeof(f->recs[0]));
        rc = s_parse_record(f, pos, &f->recs[f->nrecs], &pos);
        if (rc != ERR_OK)
            return rc;
        f->nrecs++;
    }
    return ERR_OK;
}

int
itl_file_parse(const uint8_t *buf, size_t len, itl_file_t **out)
{
    itl_file_t *f = NULL;
    int rc;

    *out = NULL;
    if (len == 0)
        return err_set(ERR_FORMAT, "offset 0: empty file");
    if (len > ITL_MAX_FILE)
        return err_set(ERR_TOOBIG,
                       "offset %d: file of %zu bytes is over the %d-byte "
                       "limit phones accept",
                       ITL_MAX_FILE, len, ITL_MAX_FILE);
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->bytes = malloc(len)) == NULL) {
        free(f);
        return err_set(ERR_NOMEM, "out of memory parsing an ITL file");
    }
    memcpy(f->bytes, buf, len);
    f->len = len;
    rc = s_parse_header(f);
    if (rc == ERR_OK)
        rc = s_parse_records(f);
    if (rc != ERR_OK) {
        itl_file_destroy(&f);
        return rc;
    }
    s_check_containers(f);
    *out = f;
    return ERR_OK;
}

int
itl_file_load(const char *path, itl_file_t **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = fs_read_file(path, ITL_MAX_FILE, &buf, &len);
    if (rc == ERR_TOOBIG)
        return err_set(rc, "%s: over the %d-byte limit phones accept", path,
                       ITL_MAX_FILE);
    if (rc != ERR_OK)
        return rc;
    rc = itl_file_parse(buf, len, out);
    free(buf);
    if (rc != ERR_OK) {
        char detail[512];

        snprintf(detail, sizeof(detail), "%s", err_detail());
        return err_set(rc, "%s: %s", path, detail);
    }
    return ERR_OK;
}

void
itl_file_destroy(itl_file_t **f)
{
    if (f == NULL || *f == NULL)
        return;
    for (size_t i = 0; i < (*f)->nrecs; i++)
        free((*f)->recs[i].elems);
    free((*f)->recs);
    free((*f)->hdr);
    free((*f)->bytes);
    free(*f);
    *f = NULL;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

const uint8_t *
itl_file_bytes(const itl_file_t *f, size_t *len)
{
    *len = f->len;
    return f->bytes;
}

unsigned
itl_file_version(const itl_file_t *f)
{
    return s_be16(f->hdr[0].value);
}

size_t
itl_file_header_length(const itl_file_t *f)
{
    return f->header_length;
}

size_t
itl_file_header_count(const itl_file_t *f)
{
    return f->nhdr;
}

const itl_elem_t *
itl_file_header_elem(const itl_file_t *f, size_t i)
{
    return i < f->nhdr ? &f->hdr[i] : NULL;
}

const itl_elem_t *
itl_file_header_find(const itl_file_t *f, uint8_t tag)
{
    for (size_t i = 0; i < f->nhdr; i++) {
        if (f->hdr[i].tag == tag)
            return &f->hdr[i];
    }
    return NULL;
}

size_t
itl_file_record_count(const itl_file_t *f)
{
    return f->nrecs;
}

const itl_record_t *
itl_file_record(const itl_file_t *f, size_t i)
{
    return i < f->nrecs ? &f->recs[i] : NULL;
}

int
itl_file_digest(const itl_file_t *f)
{
    const itl_elem_t *e = itl_file_header_find(f, ITL_H_DIGESTALGORITHM);

    return e != NULL && e->len == 1 ? e->value[0] : -1;
}

uint32_t
itl_file_timestamp(const itl_file_t *f)
{
    const itl_elem_t *e = itl_file_header_find(f, ITL_H_TIMESTAMP);

    return e != NULL && e->len == 4 ? s_be32(e->value) : 0;
}

const char *
itl_file_warning(const itl_file_t *f)
{
    return f->warning[0] != '\0' ? f->warning : NULL;
}

int
itl_file_serialize(const itl_file_t *f, uint8_t **buf, size_t *len)
{
    s_buf_t b = {0};

    *buf = NULL;
    *len = 0;
    for (size_t i = 0; i < f->nhdr; i++) {
        const itl_elem_t *e = &f->hdr[i];

        if (e->tag == ITL_H_PADDING)
            s_buf_put(&b, &e->tag, 1);
        else if (itl_is_container(e->tag))
            s_buf_tl(&b, e->tag, e->len);
        else
            s_buf_tlv(&b, e->tag, e->value, e->len);
    }
    for (size_t r = 0; r < f->nrecs; r++) {
        for (size_t i = 0; i < f->recs[r].nelems; i++) {
            const itl_elem_t *e = &f->recs[r].elems[i];
            s_buf_tlv(&b, e->tag, e->value, e->len);
        }
    }
    if (b.oom) {
        s_buf_free(&b);
        return err_set(ERR_NOMEM, "out of memory serializing an ITL file");
    }
    *buf = b.p;
    *len = b.len;
    return ERR_OK;
}

static int
s_elem_eq(const itl_elem_t *a, const itl_elem_t *b)
{
    return a != NULL && b != NULL && a->len == b->len &&
           (a->len == 0 || memcmp(a->value, b->value, a->len) == 0);
}

int
itl_file_signer_index(const itl_file_t *f)
{
    const itl_elem_t *serial = itl_file_header_find(f, ITL_H_SERIALNUMBER);
    const itl_elem_t *name = itl_file_header_find(f, ITL_H_SIGNERNAME);

    for (size_t i = 0; i < f->nrecs; i++) {
        const itl_record_t *r = &f->recs[i];

        if (r->function == ITL_ROLE_SAST && s_elem_eq(r->serial, serial) &&
            s_elem_eq(r->subject, name))
            return (int)i;
    }
    return -1;
}

int
itl_record_x509(const itl_record_t *r, X509 **out)
{
    const unsigned char *p;

    *out = NULL;
    if (r->cert == NULL)
        return err_set(ERR_NOTFOUND,
                       "offset %zu: the record holds no CERTIFICATE",
                       r->offset);
    p = r->cert->value;
    *out = d2i_X509(NULL, &p, r->cert->len);
    if (*out == NULL)
        return err_set_ssl(ERR_FORMAT,
                           "offset %zu: the CERTIFICATE of the record does "
                           "not decode",
                           r->cert->offset);
    return ERR_OK;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

const EVP_MD *
itl_digest_md(int digest)
{
    switch (digest) {
    case ITL_DIGEST_SHA1:
        return EVP_sha1();
    case ITL_DIGEST_SHA256:
        return EVP_sha256();
    case ITL_DIGEST_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

const char *
itl_digest_name(int digest)
{
    switch (digest) {
    case ITL_DIGEST_SHA1:
        return "SHA-1";
    case ITL_DIGEST_SHA256:
        return "SHA-256";
    case ITL_DIGEST_SHA512:
        return "SHA-512";
    }
    return "unknown";
}

int
itl_digest_parse(const char *name)
{
    if (strcmp(name, "sha1") == 0 || strcmp(name, "SHA-1") == 0)
        return ITL_DIGEST_SHA1;
    if (strcmp(name, "sha256") == 0 || strcmp(name, "SHA-256") == 0)
        return ITL_DIGEST_SHA256;
    if (strcmp(name, "sha512") == 0 || strcmp(name, "SHA-512") == 0)
        return ITL_DIGEST_SHA512;
    return -1;
}

/* Verifies or signs buf minus the SIGNATURE element at [cut, cut+cutlen). */
static int
s_digest_two(EVP_MD_CTX *ctx, int sign, const uint8_t *buf, size_t len,
             size_t cut, size_t cutlen)
{
    int (*upd)(EVP_MD_CTX *, const void *, size_t) =
        sign ? EVP_DigestSignUpdate : EVP_DigestVerifyUpdate;

    if (upd(ctx, buf, cut) != 1 ||
        upd(ctx, buf + cut + cutlen, len - cut - cutlen) != 1)
        return -1;
    return 0;
}

int
itl_file_verify(const itl_file_t *f, EVP_PKEY *key)
{
    const itl_elem_t *sig = itl_file_header_find(f, ITL_H_SIGNATURE);
    int digest = itl_file_digest(f);
    const EVP_MD *md = itl_digest_md(digest);
    EVP_MD_CTX *ctx = NULL;
    int rc;

    if (md == NULL)
        return err_set(ERR_FORMAT, "unknown DIGESTALGORITHM %d", digest);
    if (sig == NULL || sig->len == 0)
        return err_set(ERR_SIGNATURE, "the header holds no SIGNATURE");
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return err_set(ERR_NOMEM, "out of memory verifying a signature");
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1 ||
        s_digest_two(ctx, 0, f->bytes, f->len, sig->offset,
                     3 + (size_t)sig->len) < 0) {
        rc = err_set_ssl(ERR_CRYPTO, "cannot start verifying (%s)",
                         itl_digest_name(digest));
        goto out;
    }
    if (EVP_DigestVerifyFinal(ctx, sig->value, sig->len) != 1) {
        ERR_clear_error();
        rc = err_set(ERR_SIGNATURE,
                     "the %u-byte %s signature at offset %zu does not "
                     "verify with the key",
                     sig->len, itl_digest_name(digest), sig->offset);
        goto out;
    }
    rc = ERR_OK;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int
itl_file_verify_self(const itl_file_t *f)
{
    int idx = itl_file_signer_index(f);
    X509 *cert = NULL;
    EVP_PKEY *key;
    int rc;

    if (idx < 0)
        return err_set(ERR_NOTFOUND,
                       "no SAST record matches the signer named in the "
                       "header");
    if (f->recs[idx].cert == NULL)
        return err_set(ERR_NOTFOUND,
                       "the signer record %d at offset %zu holds no "
                       "certificate",
                       idx, f->recs[idx].offset);
    rc = itl_record_x509(&f->recs[idx], &cert);
    if (rc != ERR_OK)
        return rc;
    key = X509_get0_pubkey(cert);
    if (key == NULL)
        rc = err_set_ssl(ERR_FORMAT,
                         "offset %zu: no usable public key in the signer "
                         "certificate",
                         f->recs[idx].cert->offset);
    else
        rc = itl_file_verify(f, key);
    X509_free(cert);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* The attributes cluster files name first, in the order they use. */
static const int s_name_order[] = {
    NID_commonName,   NID_organizationalUnitName, NID_organizationName,
    NID_localityName, NID_stateOrProvinceName,    NID_countryName};
#define S_NAME_ORDER_N (sizeof(s_name_order) / sizeof(s_name_order[0]))

/* Rank of an attribute in s_name_order; the rest come last. */
static size_t
s_name_rank(int nid)
{
    for (size_t i = 0; i < S_NAME_ORDER_N; i++) {
        if (s_name_order[i] == nid)
            return i;
    }
    return S_NAME_ORDER_N;
}

/* Appends "key=value" of one entry at *used; -1 when it does not fit. */
static int
s_name_put(const X509_NAME_ENTRY *ent, char *buf, size_t size, size_t *used)
{
    const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ent);
    int nid = OBJ_obj2nid(obj);
    char key[80];
    unsigned char *val = NULL;
    int vlen, n;

    if (nid != NID_undef)
        snprintf(key, sizeof(key), "%s", OBJ_nid2sn(nid));
    else if (OBJ_obj2txt(key, sizeof(key), obj, 1) <= 0)
        return -1;
    vlen = ASN1_STRING_to_UTF8(&val, X509_NAME_ENTRY_get_data(ent));
    if (vlen < 0)
        return -1;
    n = snprintf(buf + *used, size - *used, "%s%s=%.*s", *used > 0 ? ";" : "",
                 key, vlen, (char *)val);
    OPENSSL_free(val);
    if (n < 0 || (size_t)n >= size - *used)
        return -1;
    *used += (size_t)n;
    return 0;
}

/*
 * Cluster files list CN, OU, O, L, ST, C in that order whatever the order
 * inside the certificate (the sample's CAPF certificate has C, O, OU, CN,
 * ST, L); other attributes follow in certificate order.
 */
int
itl_name_format(const X509_NAME *name, char *buf, size_t size)
{
    size_t used = 0;
    int n_ent = X509_NAME_entry_count(name);

    if (size == 0)
        return -1;
    buf[0] = '\0';
    for (size_t rank = 0; rank <= S_NAME_ORDER_N; rank++) {
        for (int i = 0; i < n_ent; i++) {
            const X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, i);
            int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent));

            if (s_name_rank(nid) != rank)
                continue;
            if (s_name_put(ent, buf, size, &used) < 0)
                return -1;
        }
    }
    return (int)used;
}

/* The signer fields a certificate gives a header or a record. */
typedef struct {
    char subject[1024];
    char issuer[1024];
    const uint8_t *serial;
    size_t serial_len;
} s_certinfo_t;

static int
s_certinfo(X509 *cert, s_certinfo_t *ci)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);

    if (itl_name_format(X509_get_subject_name(cert), ci->subject,
                        sizeof(ci->subject)) < 0 ||
        itl_name_format(X509_get_issuer_name(cert), ci->issuer,
                        sizeof(ci->issuer)) < 0)
        return err_set(ERR_ARG, "certificate names are too long or invalid");
    ci->serial = ASN1_STRING_get0_data(sn);
    ci->serial_len = (size_t)ASN1_STRING_length(sn);
    if (ci->serial_len == 0)
        return err_set(ERR_ARG, "certificate has an empty serial number");
    return ERR_OK;
}

/* Signature sizes SIGNATUREMODULUS can express. */
static int
s_modulus_code(int siglen)
{
    switch (siglen) {
    case 64:
        return 0;
    case 128:
        return 1;
    case 256:
        return 2;
    case 512:
        return 3;
    }
    return -1;
}

typedef struct {
    const uint8_t *version; /* 2 bytes */
    const itl_elem_t *signerversion;
    const char *filename;
    size_t filename_len; /* with its NUL */
    const itl_elem_t *const *extra;
    size_t nextra;
} s_hdrspec_t;

/*
 * Writes the header to b and returns the offset of the SIGNATURE element
 * (its value left zeroed) in *sigoff.
 */
static int
s_write_header(s_buf_t *b, const s_hdrspec_t *hs, EVP_PKEY *key, X509 *cert,
               int digest, uint32_t timestamp, size_t *sigoff)
{
    s_certinfo_t ci;
    int siglen = EVP_PKEY_get_size(key);
    int mod = s_modulus_code(siglen);
    size_t sname, hlen_at, start = b->len;
    uint8_t ts[4] = {(uint8_t)(timestamp >> 24), (uint8_t)(timestamp >> 16),
                     (uint8_t)(timestamp >> 8), (uint8_t)timestamp};
    static const uint8_t zero[512];
    int rc;

    rc = s_certinfo(cert, &ci);
    if (rc != ERR_OK)
        return rc;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || mod < 0)
        return err_set(ERR_ARG,
                       "the signing key must be RSA with a 512, 1024, 2048 "
                       "or 4096-bit modulus");
    if (itl_digest_md(digest) == NULL)
        return err_set(ERR_ARG, "unknown digest %d", digest);
    sname = strlen(ci.subject);

    s_buf_tlv(b, ITL_H_VERSION, hs->version, 2);
    hlen_at = b->len;
    s_buf_u16(b, ITL_H_HEADERLENGTH, 0);
    if (hs->signerversion != NULL)
        s_buf_tlv(b, ITL_H_SIGNERVERSION, hs->signerversion->value,
                  hs->signerversion->len);
    s_buf_tl(b, ITL_H_SIGNERID,
             (sname + 4) + (ci.serial_len + 3) + (strlen(ci.issuer) + 4));
    s_buf_str(b, ITL_H_SIGNERNAME, ci.subject);
    s_buf_tlv(b, ITL_H_SERIALNUMBER, ci.serial, ci.serial_len);
    s_buf_str(b, ITL_H_CANAME, ci.issuer);
    s_buf_tl(b, ITL_H_SIGNATUREINFO, 15);
    s_buf_u8(b, ITL_H_DIGESTALGORITHM, (unsigned)digest);
    s_buf_tl(b, ITL_H_SIGNATUREALGOINFO, 8);
    s_buf_u8(b, ITL_H_SIGNATUREALGORITHM, 0);
    s_buf_u8(b, ITL_H_SIGNATUREMODULUS, (unsigned)mod);
    *sigoff = b->len;
    s_buf_tlv(b, ITL_H_SIGNATURE, zero, (size_t)siglen);
    s_buf_tlv(b, ITL_H_FILENAME, hs->filename, hs->filename_len);
    s_buf_tlv(b, ITL_H_TIMESTAMP, ts, 4);
    for (size_t i = 0; i < hs->nextra; i++)
        s_buf_tlv(b, hs->extra[i]->tag, hs->extra[i]->value, hs->extra[i]->len);
    while ((b->len - start) % 4 != 0)
        s_buf_put(b, "\x0d", 1);
    if (b->oom)
        return err_set(ERR_NOMEM, "out of memory writing an ITL header");
    if (b->len - start > 0xffff)
        return err_set(ERR_TOOBIG, "the header would be %zu bytes",
                       b->len - start);
    b->p[hlen_at + 3] = (uint8_t)((b->len - start) >> 8);
    b->p[hlen_at + 4] = (uint8_t)(b->len - start);
    return ERR_OK;
}

/* Signs b (a whole file) in place and parses it into *out. */
static int
s_sign_and_parse(s_buf_t *b, size_t sigoff, EVP_PKEY *key, int digest,
                 itl_file_t **out)
{
    EVP_MD_CTX *ctx = NULL;
    size_t siglen = (size_t)EVP_PKEY_get_size(key);
    int rc;

    if (b->len > ITL_MAX_FILE)
        return err_set(ERR_TOOBIG,
                       "the file would be %zu bytes, over the %d-byte limit "
                       "phones accept",
                       b->len, ITL_MAX_FILE);
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return err_set(ERR_NOMEM, "out of memory signing");
    if (EVP_DigestSignInit(ctx, NULL, itl_digest_md(digest), NULL, key) != 1 ||
        s_digest_two(ctx, 1, b->p, b->len, sigoff, 3 + siglen) < 0 ||
        EVP_DigestSignFinal(ctx, b->p + sigoff + 3, &siglen) != 1 ||
        siglen != (size_t)EVP_PKEY_get_size(key)) {
        rc = err_set_ssl(ERR_CRYPTO, "cannot sign the ITL file");
        goto out;
    }
    rc = itl_file_parse(b->p, b->len, out);
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int
s_check_pair(EVP_PKEY *key, X509 *cert)
{
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        return err_set(ERR_ARG, "the key does not match the certificate");
    }
    return ERR_OK;
}

/* Header tags resign rewrites or keeps in place; the rest is carried. */
static int
s_htag_rebuilt(uint8_t tag)
{
    return s_htag_unique(tag) || tag == ITL_H_PADDING;
}

int
itl_file_resign(const itl_file_t *in, EVP_PKEY *key, X509 *cert, int digest,
                uint32_t timestamp, itl_file_t **out)
{
    const itl_elem_t *fn = itl_file_header_find(in, ITL_H_FILENAME);
    const itl_elem_t **extra = NULL;
    s_hdrspec_t hs = {0};
    s_buf_t b = {0};
    size_t sigoff = 0;
    int rc;

    *out = NULL;
    rc = s_check_pair(key, cert);
    if (rc != ERR_OK)
        return rc;
    extra = calloc(in->nhdr, sizeof(*extra));
    if (extra == NULL)
        return err_set(ERR_NOMEM, "out of memory re-signing");
    for (size_t i = 0; i < in->nhdr; i++) {
        if (!s_htag_rebuilt(in->hdr[i].tag))
            extra[hs.nextra++] = &in->hdr[i];
    }
    hs.extra = extra;
    hs.version = in->hdr[0].value;
    hs.signerversion = itl_file_header_find(in, ITL_H_SIGNERVERSION);
    hs.filename =
        fn != NULL && fn->len > 0 ? (const char *)fn->value : "ITLFile.tlv";
    hs.filename_len = fn != NULL && fn->len > 0 ? fn->len : 12;

    rc = s_write_header(&b, &hs, key, cert, digest, timestamp, &sigoff);
    if (rc != ERR_OK)
        goto out;
    s_buf_put(&b, in->bytes + in->header_length, in->len - in->header_length);
    if (b.oom) {
        rc = err_set(ERR_NOMEM, "out of memory re-signing");
        goto out;
    }
    rc = s_sign_and_parse(&b, sigoff, key, digest, out);
out:
    free(extra);
    s_buf_free(&b);
    return rc;
}

/* Appends one record for entry e. */
static int
s_write_record(s_buf_t *b, const itl_entry_t *e)
{
    s_certinfo_t ci;
    const ASN1_BIT_STRING *sig = NULL;
    unsigned char *der = NULL, *pk = NULL;
    int derlen, pklen, rc;
    size_t start = b->len;
    uint8_t hash[20], ip[4];

    rc = s_certinfo(e->cert, &ci);
    if (rc != ERR_OK)
        return rc;
    derlen = i2d_X509(e->cert, &der);
    pklen = i2d_PublicKey(X509_get0_pubkey(e->cert), &pk);
    if (derlen <= 0 || pklen <= 0) {
        rc = err_set_ssl(ERR_CRYPTO, "cannot encode a certificate");
        goto out;
    }
    X509_get0_signature(&sig, NULL, e->cert);

    s_buf_u16(b, ITL_R_RECORDLENGTH, 0);
    s_buf_str(b, ITL_R_DNSNAME, e->dnsname != NULL ? e->dnsname : "");
    s_buf_str(b, ITL_R_SUBJECTNAME, ci.subject);
    s_buf_u16(b, ITL_R_FUNCTION, (unsigned)e->function);
    s_buf_str(b, ITL_R_ISSUERNAME, ci.issuer);
    s_buf_tlv(b, ITL_R_SERIALNUMBER, ci.serial, ci.serial_len);
    s_buf_tlv(b, ITL_R_PUBLICKEY, pk, (size_t)pklen);
    s_buf_tlv(b, ITL_R_SIGNATURE, ASN1_STRING_get0_data(sig),
              (size_t)ASN1_STRING_length(sig));
    if (!e->hash_only)
        s_buf_tlv(b, ITL_R_CERTIFICATE, der, (size_t)derlen);
    if (e->ipv4 != 0) {
        ip[0] = (uint8_t)(e->ipv4 >> 24);
        ip[1] = (uint8_t)(e->ipv4 >> 16);
        ip[2] = (uint8_t)(e->ipv4 >> 8);
        ip[3] = (uint8_t)e->ipv4;
        s_buf_tlv(b, ITL_R_IPADDRESS, ip, 4);
    }
    if (e->hash_only) {
        EVP_Digest(der, (size_t)derlen, hash, NULL, EVP_sha1(), NULL);
        s_buf_tlv(b, ITL_R_CERTHASH, hash, sizeof(hash));
        s_buf_u8(b, ITL_R_HASHALGORITHM, ITL_DIGEST_SHA1);
    }
    if (b->oom) {
        rc = err_set(ERR_NOMEM, "out of memory building a record");
        goto out;
    }
    if (b->len - start > 0xffff) {
        rc = err_set(ERR_TOOBIG, "a record would be %zu bytes", b->len - start);
        goto out;
    }
    b->p[start + 3] = (uint8_t)((b->len - start) >> 8);
    b->p[start + 4] = (uint8_t)(b->len - start);
    rc = ERR_OK;
out:
    OPENSSL_free(der);
    OPENSSL_free(pk);
    return rc;
}

int
itl_file_build(const itl_entry_t *entries, size_t n, EVP_PKEY *key,
               X509 *signer, int digest, const char *filename,
               uint32_t timestamp, itl_file_t **out)
{
    static const uint8_t version[2] = {1, 2};
    s_hdrspec_t hs = {0};
    s_buf_t b = {0};
    size_t sigoff = 0;
    int rc;

    *out = NULL;
    if (n == 0)
        return err_set(ERR_ARG, "an ITL file needs at least one record");
    rc = s_check_pair(key, signer);
    if (rc != ERR_OK)
        return rc;
    hs.version = version;
    hs.filename = filename;
    hs.filename_len = strlen(filename) + 1;
    rc = s_write_header(&b, &hs, key, signer, digest, timestamp, &sigoff);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        rc = s_write_record(&b, &entries[i]);
        if (rc == ERR_OK && b.len > ITL_MAX_FILE)
            rc = err_set(ERR_TOOBIG,
                         "record %zu takes the file past the %d-byte limit "
                         "phones accept",
                         i, ITL_MAX_FILE);
    }
    if (rc == ERR_OK)
        rc = s_sign_and_parse(&b, sigoff, key, digest, out);
    s_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Names and checksums                                                 */
/* ------------------------------------------------------------------ */

static void
s_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
itl_checksums(const uint8_t *buf, size_t len, char md5[33], char sha1[41])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;

    EVP_Digest(buf, len, d, &dl, EVP_md5(), NULL);
    s_hex(d, 16, md5);
    EVP_Digest(buf, len, d, &dl, EVP_sha1(), NULL);
    s_hex(d, 20, sha1);
}

const char *
itl_role_name(int function)
{
    switch (function) {
    case ITL_ROLE_SAST:
        return "System Administrator Security Token";
    case ITL_ROLE_CCM:
        return "CCM";
    case ITL_ROLE_CCM_TFTP:
        return "CCM+TFTP";
    case ITL_ROLE_TFTP:
        return "TFTP";
    case ITL_ROLE_CAPF:
        return "CAPF";
    case ITL_ROLE_APP_SERVER:
        return "APP-SERVER";
    case ITL_ROLE_TVS:
        return "TVS";
    }
    return "UNKNOWN";
}

const char *
itl_htag_name(uint8_t tag)
{
    static const char *names[] = {NULL,
                                  "VERSION",
                                  "HEADERLENGTH",
                                  "SIGNERID",
                                  "SIGNERNAME",
                                  "SERIALNUMBER",
                                  "CANAME",
                                  "SIGNATUREINFO",
                                  "DIGESTALGORITHM",
                                  "SIGNATUREALGOINFO",
                                  "SIGNATUREALGORITHM",
                                  "SIGNATUREMODULUS",
                                  "SIGNATURE",
                                  "PADDING",
                                  "FILENAME",
                                  "TIMESTAMP"};

    if (tag == ITL_H_SIGNERVERSION)
        return "SIGNERVERSION";
    if (tag >= 1 && tag <= 15)
        return names[tag];
    return "UNKNOWN";
}

const char *
itl_rtag_name(uint8_t tag)
{
    static const char *names[] = {NULL,
                                  "RECORDLENGTH",
                                  "DNSNAME",
                                  "SUBJECTNAME",
                                  "FUNCTION",
                                  "ISSUERNAME",
                                  "SERIALNUMBER",
                                  "PUBLICKEY",
                                  "SIGNATURE",
                                  "CERTIFICATE",
                                  "IPADDRESS",
                                  "CERTHASH",
                                  "HASH ALGORITHM"};

    if (tag >= 1 && tag <= 12)
        return names[tag];
    return "UNKNOWN";
}

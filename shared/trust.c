#include "trust.h"

#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

/* A text element without its trailing NULs. */
static size_t
s_text_len(const itl_elem_t *e)
{
    size_t n;

    if (e == NULL || e->value == NULL)
        return 0;
    n = e->len;
    while (n > 0 && e->value[n - 1] == '\0')
        n--;
    return n;
}

/* Copies a name from a file as printable text, capped. */
static void
s_text(const itl_elem_t *e, char *buf, size_t size)
{
    size_t n = s_text_len(e), o = 0;

    if (size == 0)
        return;
    for (size_t i = 0; i < n && o + 1 < size && i < 200; i++)
        buf[o++] = (e->value[i] >= 0x20 && e->value[i] < 0x7f)
                       ? (char)e->value[i]
                       : '?';
    buf[o] = '\0';
}

static void
s_hex(const itl_elem_t *e, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; e != NULL && i < e->len && o + 3 <= size && i < 32; i++)
        o += (size_t)snprintf(buf + o, size - o, "%02x", e->value[i]);
}

const char *
trust_signer_name(const itl_file_t *f, char *buf, size_t size)
{
    const itl_elem_t *e = itl_file_header_find(f, ITL_H_SIGNERNAME);

    if (s_text_len(e) == 0)
        snprintf(buf, size, "(unnamed)");
    else
        s_text(e, buf, size);
    return buf;
}

/*
 * Subjects are compared as text; ',' and ';' count as the same separator
 * because one tool writes "CN=..,OU=.." where clusters write "CN=..;OU=..".
 */
static int
s_same_name(const itl_elem_t *a, const itl_elem_t *b)
{
    size_t n = s_text_len(a);

    if (n == 0 || n != s_text_len(b))
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a->value[i] == ',' ? ';' : a->value[i];
        uint8_t y = b->value[i] == ',' ? ';' : b->value[i];

        if (x != y)
            return 0;
    }
    return 1;
}

static int
s_same_bytes(const itl_elem_t *a, const itl_elem_t *b)
{
    return a != NULL && b != NULL && a->len == b->len && a->len > 0 &&
           memcmp(a->value, b->value, a->len) == 0;
}

/* Verifies candidate with the certificate of a held record. */
static int
s_verify_with(const itl_record_t *r, const itl_file_t *candidate)
{
    const uint8_t *p;
    X509 *cert = NULL;
    EVP_PKEY *key;
    int rc;

    if (r->cert == NULL)
        return err_set(ERR_NOTFOUND,
                       "the held SAST record at offset %zu "
                       "carries no certificate",
                       r->offset);
    p = r->cert->value;
    cert = d2i_X509(NULL, &p, r->cert->len);
    if (cert == NULL)
        return err_set_ssl(ERR_FORMAT,
                           "the certificate of the held SAST "
                           "record at offset %zu does not parse",
                           r->offset);
    key = X509_get0_pubkey(cert);
    if (key == NULL)
        rc = err_set_ssl(ERR_FORMAT,
                         "the certificate of the held SAST "
                         "record at offset %zu has no key",
                         r->offset);
    else
        rc = itl_file_verify(candidate, key);
    X509_free(cert);
    return rc;
}

static int
s_first_itl(const itl_file_t *candidate, char *why, size_t whylen)
{
    int rc = itl_file_verify_self(candidate);

    if (rc == ERR_OK)
        return ERR_OK;
    if (rc == ERR_NOMEM)
        return rc;
    snprintf(why, whylen, "the file's own signature does not verify: %s",
             err_detail());
    return ERR_UNTRUSTED;
}

/* Asks the TVS of every held TVS record about the candidate's signer. */
static int
s_ask_tvs(const itl_file_t *held, const itl_file_t *candidate, trust_tvs_fn tvs,
          void *arg)
{
    int idx = itl_file_signer_index(candidate);
    const itl_record_t *signer, *r;

    if (idx < 0)
        return ERR_UNTRUSTED;
    signer = itl_file_record(candidate, (size_t)idx);
    if (signer->cert == NULL)
        return ERR_UNTRUSTED;
    for (size_t i = 0; i < itl_file_record_count(held); i++) {
        r = itl_file_record(held, i);
        if (r->function != ITL_ROLE_TVS)
            continue;
        if (tvs(r, signer->cert->value, signer->cert->len, arg) == ERR_OK &&
            itl_file_verify_self(candidate) == ERR_OK)
            return ERR_OK;
    }
    return ERR_UNTRUSTED;
}

int
trust_accepts_tvs(const itl_file_t *held, const itl_file_t *candidate,
                  trust_tvs_fn tvs, void *arg, char *why, size_t whylen)
{
    const itl_elem_t *name, *serial;
    const itl_record_t *r;
    char signer[256], hex[80], last[300] = "";
    char dummy[1];
    int rc, matched = 0;

    if (why == NULL || whylen == 0) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = '\0';
    if (held == NULL)
        return s_first_itl(candidate, why, whylen);

    name = itl_file_header_find(candidate, ITL_H_SIGNERNAME);
    serial = itl_file_header_find(candidate, ITL_H_SERIALNUMBER);
    trust_signer_name(candidate, signer, sizeof(signer));
    s_hex(serial, hex, sizeof(hex));
    for (size_t i = 0; i < itl_file_record_count(held); i++) {
        r = itl_file_record(held, i);
        if (r->function != ITL_ROLE_SAST || !s_same_bytes(r->serial, serial) ||
            !s_same_name(r->subject, name))
            continue;
        matched = 1;
        rc = s_verify_with(r, candidate);
        if (rc == ERR_OK || rc == ERR_NOMEM)
            return rc;
        snprintf(last, sizeof(last), "%s", err_detail());
    }
    if (tvs != NULL && s_ask_tvs(held, candidate, tvs, arg) == ERR_OK)
        return ERR_OK;
    if (matched)
        snprintf(why, whylen,
                 "signer %s is a SAST of the held ITL but the "
                 "signature does not verify with its "
                 "certificate: %s",
                 signer, last);
    else
        snprintf(why, whylen,
                 "signer %s is not trusted (no SAST record of "
                 "the held ITL has serial %s and that subject)",
                 signer, hex[0] ? hex : "(none)");
    return ERR_UNTRUSTED;
}

int
trust_accepts(const itl_file_t *held, const itl_file_t *candidate, char *why,
              size_t whylen)
{
    return trust_accepts_tvs(held, candidate, NULL, NULL, why, whylen);
}

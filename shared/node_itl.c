/* node_itl: the ITL a node's TFTP service serves (see node.h). */
#include "node.h"

#include <stdlib.h>
#include <string.h>

/* Certificates that node_build_itl owns while it builds. */
typedef struct {
    EVP_PKEY *cm_key;
    X509 *cm, *tvs, *capf, *recovery;
    itl_entry_t *entries;
    size_t n;
} s_build_t;

static void
s_build_free(s_build_t *b)
{
    EVP_PKEY_free(b->cm_key);
    X509_free(b->cm);
    X509_free(b->tvs);
    X509_free(b->capf);
    X509_free(b->recovery);
    free(b->entries);
}

static void
s_add(s_build_t *b, X509 *cert, int function, int hash_only,
      const char *dnsname)
{
    b->entries[b->n++] = (itl_entry_t){cert, function, hash_only, dnsname, 0};
}

static int
s_has_tvs(const s_build_t *b, X509 *cert)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->entries[i].function == ITL_ROLE_TVS &&
            X509_cmp(b->entries[i].cert, cert) == 0)
            return 1;
    }
    return 0;
}

/* Own keys, and on the publisher its CAPF and recovery certificates. */
static int
s_load_own(const char *state, const node_info_t *info,
           const node_certset_t *set, s_build_t *b)
{
    EVP_PKEY *rkey = NULL;
    int rc;

    rc = node_cert_load(state, "callmanager", &b->cm_key, &b->cm);
    if (rc == ERR_OK)
        rc = node_cert_load(state, "tvs", NULL, &b->tvs);
    if (rc != ERR_OK || !info->publisher)
        return rc;
    if (set == NULL || set->capf == NULL)
        rc = node_cert_load(state, "capf", NULL, &b->capf);
    if (rc == ERR_OK && (set == NULL || set->recovery == NULL)) {
        rc = node_recovery_load(state, &rkey, &b->recovery);
        EVP_PKEY_free(rkey);
    }
    return rc;
}

int
node_build_itl(const char *state, const node_certset_t *set, int digest,
               uint32_t timestamp, itl_file_t **out)
{
    s_build_t b = {0};
    node_info_t info;
    X509 *capf, *recovery;
    size_t ntvs = set != NULL ? set->ntvs : 0;
    int rc;

    *out = NULL;
    if (digest == 0)
        digest = ITL_DIGEST_SHA1;
    if (digest != ITL_DIGEST_SHA1 && digest != ITL_DIGEST_SHA256 &&
        digest != ITL_DIGEST_SHA512)
        return err_set(ERR_ARG, "unknown ITL digest %d", digest);
    rc = node_info_load(state, &info);
    if (rc == ERR_OK)
        rc = s_load_own(state, &info, set, &b);
    if (rc != ERR_OK)
        goto out;
    b.entries = calloc(ntvs + 5, sizeof(*b.entries));
    if (b.entries == NULL) {
        rc = err_set(ERR_NOMEM, "out of memory building the ITL");
        goto out;
    }

    capf = set != NULL && set->capf != NULL ? set->capf : b.capf;
    recovery =
        set != NULL && set->recovery != NULL ? set->recovery : b.recovery;
    s_add(&b, b.cm, ITL_ROLE_SAST, 0, info.hostname);
    s_add(&b, b.cm, ITL_ROLE_CCM_TFTP, 0, info.hostname);
    if (capf != NULL)
        s_add(&b, capf, ITL_ROLE_CAPF, 1, NULL);
    s_add(&b, b.tvs, ITL_ROLE_TVS, 1, info.hostname);
    for (size_t i = 0; i < ntvs; i++) {
        if (set->tvs[i] != NULL && !s_has_tvs(&b, set->tvs[i]))
            s_add(&b, set->tvs[i], ITL_ROLE_TVS, 1, NULL);
    }
    if (recovery != NULL)
        s_add(&b, recovery, ITL_ROLE_SAST, 0, NULL);
    rc = itl_file_build(b.entries, b.n, b.cm_key, b.cm, digest, "ITLFile.tlv",
                        timestamp, out);
out:
    s_build_free(&b);
    return rc;
}

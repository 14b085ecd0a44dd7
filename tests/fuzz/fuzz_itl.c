/*
 * libFuzzer target of the ITL codec: whatever the bytes, parsing either
 * fails cleanly or gives a file whose serialization is the input, and
 * every read-only operation on it returns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "itl.h"

static void
s_walk(const itl_file_t *f)
{
    size_t sum = 0;

    for (size_t i = 0; i < itl_file_header_count(f); i++) {
        const itl_elem_t *e = itl_file_header_elem(f, i);
        for (size_t k = 0; e->value != NULL && k < e->len; k++)
            sum += e->value[k];
        (void)itl_htag_name(e->tag);
    }
    for (size_t r = 0; r < itl_file_record_count(f); r++) {
        const itl_record_t *rec = itl_file_record(f, r);
        X509 *x = NULL;

        for (size_t i = 0; i < rec->nelems; i++) {
            const itl_elem_t *e = &rec->elems[i];
            for (size_t k = 0; e->value != NULL && k < e->len; k++)
                sum += e->value[k];
            (void)itl_rtag_name(e->tag);
        }
        (void)itl_role_name(rec->function);
        if (rec->cert != NULL && itl_record_x509(rec, &x) == ERR_OK) {
            char name[512];
            (void)itl_name_format(X509_get_subject_name(x), name, sizeof(name));
            X509_free(x);
        }
    }
    /* Keeps the reads from being optimized away. */
    if (sum == 0xdeadbeefdeadbeefull)
        fprintf(stderr, "improbable\n");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    itl_file_t *f = NULL;
    uint8_t *out = NULL;
    size_t outlen = 0, len = 0;
    const uint8_t *b;
    char md5[33], sha1[41];

    if (itl_file_parse(data, size, &f) != ERR_OK) {
        ERR_clear_error();
        return 0;
    }
    b = itl_file_bytes(f, &len);
    if (len != size || memcmp(b, data, size) != 0)
        abort();
    if (itl_file_serialize(f, &out, &outlen) == ERR_OK &&
        (outlen != size || memcmp(out, data, size) != 0))
        abort();
    free(out);
    (void)itl_file_version(f);
    (void)itl_file_header_length(f);
    (void)itl_file_digest(f);
    (void)itl_file_timestamp(f);
    (void)itl_file_warning(f);
    (void)itl_file_header_find(f, ITL_H_SIGNATURE);
    (void)itl_file_signer_index(f);
    (void)itl_file_verify_self(f);
    itl_checksums(b, len, md5, sha1);
    s_walk(f);
    itl_file_destroy(&f);
    ERR_clear_error();
    return 0;
}

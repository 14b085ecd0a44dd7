/*
 * libFuzzer target of the TVS request and response decoders: whatever the
 * bytes, decoding fails with an error detail or gives a message whose
 * re-encoding decodes to the same fields; the header decoder agrees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tvsproto.h"

static void
s_request(const uint8_t *data, size_t size)
{
    tvsproto_request_t req, back;
    uint8_t buf[TVSPROTO_HEADER + TVSPROTO_MAX_BODY];
    size_t len;

    if (tvsproto_request_decode(data, size, &req) != ERR_OK) {
        if (err_detail()[0] == '\0')
            abort();
        return;
    }
    if (req.cert_len == 0 || req.device[0] == '\0')
        abort();
    /* Re-encoding drops skipped elements and NULs: it never grows. */
    if (tvsproto_request_encode(&req, buf, sizeof(buf), &len) != ERR_OK ||
        len > size || tvsproto_request_decode(buf, len, &back) != ERR_OK ||
        back.session != req.session || strcmp(back.device, req.device) != 0 ||
        back.cert_len != req.cert_len ||
        memcmp(back.cert, req.cert, req.cert_len) != 0)
        abort();
}

static void
s_response(const uint8_t *data, size_t size)
{
    tvsproto_response_t resp, back;
    uint8_t buf[128];
    size_t len;

    if (tvsproto_response_decode(data, size, &resp) != ERR_OK)
        return;
    if (tvsproto_response_encode(&resp, buf, sizeof(buf), &len) != ERR_OK ||
        tvsproto_response_decode(buf, len, &back) != ERR_OK ||
        back.status != resp.status || back.nroles != resp.nroles ||
        memcmp(back.roles, resp.roles, resp.nroles) != 0 ||
        back.has_ttl != resp.has_ttl || back.ttl != resp.ttl)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tvsproto_header_t h;
    int rc = tvsproto_header_decode(data, size, &h);

    if (rc == ERR_OK && h.body_len > TVSPROTO_MAX_BODY)
        abort();
    s_request(data, size);
    s_response(data, size);
    return 0;
}

#include "tvsproto.h"

#include <stdio.h>
#include <string.h>

/* One element as found in a body; off is its offset in the message. */
typedef struct {
    size_t off;
    uint8_t tag;
    uint16_t len;
    const uint8_t *value;
} s_elem_t;

static uint16_t
s_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void
s_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int
tvsproto_header_decode(const uint8_t *buf, size_t len, tvsproto_header_t *h)
{
    if (len < TVSPROTO_HEADER)
        return err_set(ERR_FORMAT,
                       "offset %zu: truncated header: %zu of %d bytes", len,
                       len, TVSPROTO_HEADER);
    if (buf[0] != TVSPROTO_ID)
        return err_set(ERR_FORMAT, "offset 0: protocol id %u, expected %d",
                       buf[0], TVSPROTO_ID);
    if (buf[1] != TVSPROTO_VERSION)
        return err_set(ERR_FORMAT, "offset 1: protocol version %u, expected %d",
                       buf[1], TVSPROTO_VERSION);
    if (buf[2] < TVSPROTO_VERIFY_REQ || buf[2] > TVSPROTO_QUERY_RESP)
        return err_set(ERR_FORMAT, "offset 2: unknown command %u", buf[2]);
    h->command = buf[2];
    h->reserved = buf[3];
    h->session = s_get32(buf + 4);
    h->body_len = s_get16(buf + 8);
    if (h->body_len > TVSPROTO_MAX_BODY)
        return err_set(ERR_TOOBIG,
                       "offset 8: body length %u is over the %d-byte limit",
                       h->body_len, TVSPROTO_MAX_BODY);
    return ERR_OK;
}

/*
 * Decodes the header of a whole message of len bytes, checks its command
 * and that the body is exactly as long as announced.
 */
static int
s_message(const uint8_t *buf, size_t len, int command, tvsproto_header_t *h)
{
    int rc = tvsproto_header_decode(buf, len, h);

    if (rc != ERR_OK)
        return rc;
    if (h->command != command)
        return err_set(ERR_FORMAT, "offset 2: command %u, expected %d",
                       h->command, command);
    if (len < TVSPROTO_HEADER + (size_t)h->body_len)
        return err_set(ERR_FORMAT,
                       "offset %zu: truncated body: the header announces %u "
                       "bytes, %zu arrived",
                       len, h->body_len, len - TVSPROTO_HEADER);
    if (len > TVSPROTO_HEADER + (size_t)h->body_len)
        return err_set(ERR_FORMAT,
                       "offset %zu: %zu bytes follow the %u-byte body",
                       TVSPROTO_HEADER + (size_t)h->body_len,
                       len - TVSPROTO_HEADER - h->body_len, h->body_len);
    return ERR_OK;
}

/* Reads the element at *pos of buf (message of end bytes). */
static int
s_next(const uint8_t *buf, size_t end, size_t *pos, s_elem_t *e)
{
    size_t o = *pos;

    if (end - o < 3)
        return err_set(ERR_FORMAT,
                       "offset %zu: truncated element: %zu bytes left, an "
                       "element needs 3 before its value",
                       o, end - o);
    e->off = o;
    e->tag = buf[o];
    e->len = s_get16(buf + o + 1);
    if (end - o - 3 < e->len)
        return err_set(ERR_FORMAT,
                       "offset %zu: element tag %u of %u bytes runs past "
                       "the end of the body at offset %zu",
                       o, e->tag, e->len, end);
    e->value = buf + o + 3;
    *pos = o + 3 + e->len;
    return ERR_OK;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
s_utf8_seq(const uint8_t *p, size_t n)
{
    size_t need;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        need = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        need = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        need = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* Over-long forms, surrogates and values past U+10FFFF. */
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return need;
}

static int
s_device(const s_elem_t *e, tvsproto_request_t *req)
{
    size_t n = e->len, v = e->off + 3;

    if (n == 0)
        return err_set(ERR_FORMAT, "offset %zu: empty device name element",
                       e->off);
    if (e->value[0] != 0x01)
        return err_set(ERR_FORMAT,
                       "offset %zu: device name starts with byte 0x%02x, "
                       "expected 0x01",
                       v, e->value[0]);
    while (n > 1 && e->value[n - 1] == '\0')
        n--;
    if (n == 1)
        return err_set(ERR_FORMAT, "offset %zu: the device name is empty",
                       v + 1);
    if (n - 1 > TVSPROTO_MAX_DEVICE)
        return err_set(ERR_TOOBIG,
                       "offset %zu: device name of %zu bytes is over the "
                       "%d-byte limit",
                       v + 1, n - 1, TVSPROTO_MAX_DEVICE);
    for (size_t i = 1, k; i < n; i += k) {
        k = e->value[i] < 0x20 || e->value[i] == 0x7f
                ? 0
                : s_utf8_seq(e->value + i, n - i);
        if (k == 0)
            return err_set(ERR_FORMAT,
                           "offset %zu: byte 0x%02x of the device name is "
                           "not printable UTF-8",
                           v + i, e->value[i]);
    }
    memcpy(req->device, e->value + 1, n - 1);
    req->device[n - 1] = '\0';
    return ERR_OK;
}

static int
s_request_elem(const s_elem_t *e, tvsproto_request_t *req)
{
    switch (e->tag) {
    case TVSPROTO_T_DEVICE:
        if (req->device[0] != '\0')
            return err_set(ERR_FORMAT,
                           "offset %zu: a second device name element", e->off);
        return s_device(e, req);
    case TVSPROTO_T_CERT:
        if (req->cert != NULL)
            return err_set(ERR_FORMAT,
                           "offset %zu: a second certificate element", e->off);
        if (e->len == 0)
            return err_set(ERR_FORMAT, "offset %zu: empty certificate element",
                           e->off);
        req->cert = e->value;
        req->cert_len = e->len;
        return ERR_OK;
    case TVSPROTO_T_STATUS:
    case TVSPROTO_T_ROLES:
    case TVSPROTO_T_TTL:
        return err_set(ERR_FORMAT,
                       "offset %zu: element tag %u belongs in responses, "
                       "not in a request",
                       e->off, e->tag);
    default:
        return ERR_OK; /* unknown tags are skipped */
    }
}

int
tvsproto_request_decode(const uint8_t *buf, size_t len, tvsproto_request_t *req)
{
    tvsproto_header_t h;
    s_elem_t e = {0};
    size_t pos = TVSPROTO_HEADER;
    int rc;

    memset(req, 0, sizeof(*req));
    rc = s_message(buf, len, TVSPROTO_VERIFY_REQ, &h);
    if (rc != ERR_OK)
        return rc;
    req->session = h.session;
    while (pos < len) {
        if ((rc = s_next(buf, len, &pos, &e)) != ERR_OK ||
            (rc = s_request_elem(&e, req)) != ERR_OK)
            return rc;
    }
    if (req->device[0] == '\0')
        return err_set(ERR_FORMAT,
                       "offset %zu: the request has no device name "
                       "(tag 1)",
                       len);
    if (req->cert == NULL)
        return err_set(ERR_FORMAT,
                       "offset %zu: the request has no certificate (tag 2)",
                       len);
    return ERR_OK;
}

static int
s_response_elem(const s_elem_t *e, tvsproto_response_t *resp, unsigned *seen)
{
    unsigned bit = 1u << (e->tag & 31);

    if (e->tag != TVSPROTO_T_STATUS && e->tag != TVSPROTO_T_ROLES &&
        e->tag != TVSPROTO_T_TTL)
        return ERR_OK; /* unknown (or request) tags are skipped */
    if (*seen & bit)
        return err_set(ERR_FORMAT, "offset %zu: a second element tag %u",
                       e->off, e->tag);
    *seen |= bit;
    if (e->tag == TVSPROTO_T_STATUS) {
        if (e->len != 1 || e->value[0] > TVSPROTO_INVALID)
            return err_set(ERR_FORMAT,
                           "offset %zu: status must be one byte, 0 or 1",
                           e->off);
        resp->status = e->value[0];
    } else if (e->tag == TVSPROTO_T_ROLES) {
        if (e->len > TVSPROTO_MAX_ROLES)
            return err_set(ERR_TOOBIG,
                           "offset %zu: %u roles, at most %d accepted", e->off,
                           e->len, TVSPROTO_MAX_ROLES);
        memcpy(resp->roles, e->value, e->len);
        resp->nroles = e->len;
    } else {
        if (e->len != 4)
            return err_set(ERR_FORMAT,
                           "offset %zu: TTL of %u bytes, expected 4", e->off,
                           e->len);
        resp->has_ttl = 1;
        resp->ttl = s_get32(e->value);
    }
    return ERR_OK;
}

int
tvsproto_response_decode(const uint8_t *buf, size_t len,
                         tvsproto_response_t *resp)
{
    tvsproto_header_t h;
    s_elem_t e = {0};
    size_t pos = TVSPROTO_HEADER;
    unsigned seen = 0;
    int rc;

    memset(resp, 0, sizeof(*resp));
    rc = s_message(buf, len, TVSPROTO_VERIFY_RESP, &h);
    if (rc != ERR_OK)
        return rc;
    resp->session = h.session;
    while (pos < len) {
        if ((rc = s_next(buf, len, &pos, &e)) != ERR_OK ||
            (rc = s_response_elem(&e, resp, &seen)) != ERR_OK)
            return rc;
    }
    if (!(seen & (1u << TVSPROTO_T_STATUS)))
        return err_set(ERR_FORMAT,
                       "offset %zu: the response has no status (tag 7)", len);
    return ERR_OK;
}

/* Appends an element; the caller checked the room. */
static size_t
s_put_elem(uint8_t *p, uint8_t tag, const uint8_t *v, size_t n)
{
    p[0] = tag;
    s_put16(p + 1, (uint16_t)n);
    if (n > 0)
        memcpy(p + 3, v, n);
    return 3 + n;
}

static void
s_put_header(uint8_t *buf, int command, uint32_t session, size_t body)
{
    buf[0] = TVSPROTO_ID;
    buf[1] = TVSPROTO_VERSION;
    buf[2] = (uint8_t)command;
    buf[3] = 0;
    s_put32(buf + 4, session);
    s_put16(buf + 8, (uint16_t)body);
}

int
tvsproto_request_encode(const tvsproto_request_t *req, uint8_t *buf,
                        size_t size, size_t *len)
{
    size_t dev = strlen(req->device), body, o;
    uint8_t name[TVSPROTO_MAX_DEVICE + 1];

    if (dev == 0 || dev > TVSPROTO_MAX_DEVICE)
        return err_set(ERR_ARG, "device name of %zu bytes: 1 to %d allowed",
                       dev, TVSPROTO_MAX_DEVICE);
    if (req->cert == NULL || req->cert_len == 0)
        return err_set(ERR_ARG, "no certificate to verify");
    if (req->cert_len > TVSPROTO_MAX_BODY)
        return err_set(ERR_TOOBIG,
                       "certificate of %zu bytes is over the "
                       "%d-byte body limit",
                       req->cert_len, TVSPROTO_MAX_BODY);
    body = 3 + 1 + dev + 3 + req->cert_len;
    if (body > TVSPROTO_MAX_BODY || TVSPROTO_HEADER + body > size)
        return err_set(ERR_TOOBIG, "request of %zu bytes does not fit",
                       TVSPROTO_HEADER + body);
    s_put_header(buf, TVSPROTO_VERIFY_REQ, req->session, body);
    name[0] = 0x01;
    memcpy(name + 1, req->device, dev);
    o = TVSPROTO_HEADER;
    o += s_put_elem(buf + o, TVSPROTO_T_DEVICE, name, dev + 1);
    o += s_put_elem(buf + o, TVSPROTO_T_CERT, req->cert, req->cert_len);
    *len = o;
    return ERR_OK;
}

int
tvsproto_response_encode(const tvsproto_response_t *resp, uint8_t *buf,
                         size_t size, size_t *len)
{
    size_t body = 4, o = TVSPROTO_HEADER;
    uint8_t st, ttl[4];

    if (resp->status != TVSPROTO_VALID && resp->status != TVSPROTO_INVALID)
        return err_set(ERR_ARG, "status %d is neither valid nor invalid",
                       resp->status);
    if (resp->nroles > TVSPROTO_MAX_ROLES)
        return err_set(ERR_ARG, "%zu roles, at most %d", resp->nroles,
                       TVSPROTO_MAX_ROLES);
    body += resp->nroles > 0 ? 3 + resp->nroles : 0;
    body += resp->has_ttl ? 7 : 0;
    if (TVSPROTO_HEADER + body > size)
        return err_set(ERR_TOOBIG, "response of %zu bytes does not fit",
                       TVSPROTO_HEADER + body);
    s_put_header(buf, TVSPROTO_VERIFY_RESP, resp->session, body);
    st = (uint8_t)resp->status;
    o += s_put_elem(buf + o, TVSPROTO_T_STATUS, &st, 1);
    if (resp->nroles > 0)
        o += s_put_elem(buf + o, TVSPROTO_T_ROLES, resp->roles, resp->nroles);
    if (resp->has_ttl) {
        s_put32(ttl, resp->ttl);
        o += s_put_elem(buf + o, TVSPROTO_T_TTL, ttl, 4);
    }
    *len = o;
    return ERR_OK;
}

static const char *
s_role(uint8_t r)
{
    switch (r) {
    case 0:
        return "SAST";
    case 1:
        return "CCM";
    case 2:
        return "CCM+TFTP";
    case 3:
        return "TFTP";
    case 4:
        return "CAPF";
    case 7:
        return "APP-SERVER";
    case 21:
        return "TVS";
    default:
        return NULL;
    }
}

const char *
tvsproto_roles_text(const uint8_t *roles, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (n == 0)
        snprintf(buf, size, "none");
    for (size_t i = 0; i < n && o < size; i++) {
        const char *name = s_role(roles[i]);
        int w = name ? snprintf(buf + o, size - o, "%s%s", i ? ", " : "", name)
                     : snprintf(buf + o, size - o, "%srole %u", i ? ", " : "",
                                roles[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}

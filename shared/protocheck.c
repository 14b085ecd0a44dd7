#include "protocheck.h"

#include <string.h>

#include "itl.h"

#define DER_MAX    (16 * 1024)
#define SHORT_TEXT 256

int
protocheck_hostname(const char *s)
{
    size_t n;

    if (s == NULL || s[0] == '.' || s[0] == '-')
        return 0;
    n = strlen(s);
    if (n == 0 || n > PROTOCHECK_HOST_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static int
s_host(const char *field, const char *v)
{
    if (!protocheck_hostname(v))
        return err_set(ERR_PROTO, "%s '%.64s' is not a host name", field,
                       v ? v : "");
    return ERR_OK;
}

static int
s_text(const char *field, const char *v, size_t max)
{
    if (v != NULL && strlen(v) > max)
        return err_set(ERR_PROTO,
                       "%s of %zu characters is over the limit "
                       "of %zu",
                       field, strlen(v), max);
    return ERR_OK;
}

static int
s_blob(const char *field, const ProtobufCBinaryData *b, size_t min, size_t max)
{
    if (b->len < min || b->len > max)
        return err_set(ERR_PROTO, "%s of %zu bytes is outside %zu..%zu", field,
                       b->len, min, max);
    return ERR_OK;
}

static int
s_register(const Itl__Register *r)
{
    int rc = s_host("register.hostname", r->hostname);

    if (rc == ERR_OK)
        rc = s_text("register.address", r->address, 128);
    if (rc == ERR_OK)
        rc = s_blob("register.callmanager_der", &r->callmanager_der, 64,
                    DER_MAX);
    if (rc == ERR_OK)
        rc = s_blob("register.tvs_der", &r->tvs_der, 64, DER_MAX);
    if (rc == ERR_OK)
        rc = s_text("register.itl_sha1", r->itl_sha1, 40);
    if (rc == ERR_OK)
        rc = s_text("register.itl_signer", r->itl_signer, SHORT_TEXT);
    return rc;
}

static int
s_certset(const Itl__CertSet *cs)
{
    int rc;

    if (cs->generation == 0)
        return err_set(ERR_PROTO, "cert_set.generation is 0");
    if (cs->n_certs > PROTOCHECK_MAX_CERTS)
        return err_set(ERR_PROTO,
                       "cert_set holds %zu certificates, over "
                       "the limit of %d",
                       cs->n_certs, PROTOCHECK_MAX_CERTS);
    rc = s_blob("cert_set.recovery_der", &cs->recovery_der, 64, DER_MAX);
    for (size_t i = 0; rc == ERR_OK && i < cs->n_certs; i++) {
        rc = s_host("cert_set.certs.hostname", cs->certs[i]->hostname);
        if (rc == ERR_OK)
            rc = s_blob("cert_set.certs.der", &cs->certs[i]->der, 64, DER_MAX);
        if (rc == ERR_OK && cs->certs[i]->role > 255)
            rc = err_set(ERR_PROTO, "cert_set.certs.role %u is not a role",
                         cs->certs[i]->role);
    }
    return rc;
}

static int
s_order(const Itl__ResetOrder *o)
{
    if (o->job_id == 0)
        return err_set(ERR_PROTO, "reset_order.job_id is 0");
    if (o->deadline_ms == 0 || o->deadline_ms > 3600 * 1000)
        return err_set(ERR_PROTO,
                       "reset_order.deadline_ms %u is outside "
                       "1..3600000",
                       o->deadline_ms);
    return s_blob("reset_order.itl", &o->itl, 1, ITL_MAX_FILE);
}

static int
s_report(const Itl__ResetReport *r)
{
    int rc = s_text("reset_report.sha1", r->sha1, 40);

    if (rc == ERR_OK)
        rc = s_text("reset_report.reason", r->reason, 1024);
    if (rc == ERR_OK && (r->step < ITL__RESET_STEP__TRANSFERRED ||
                         r->step > ITL__RESET_STEP__FAILED))
        rc = err_set(ERR_PROTO, "reset_report.step %d is not a step",
                     (int)r->step);
    return rc;
}

int
protocheck_envelope(const Itl__Envelope *env)
{
    switch (env->body_case) {
    case ITL__ENVELOPE__BODY_REGISTER:
        return s_register(env->register_);
    case ITL__ENVELOPE__BODY_WELCOME:
        return s_host("welcome.publisher", env->welcome->publisher);
    case ITL__ENVELOPE__BODY_HEARTBEAT: {
        int rc = s_text("heartbeat.itl_sha1", env->heartbeat->itl_sha1, 40);
        if (rc == ERR_OK)
            rc = s_text("heartbeat.itl_signer", env->heartbeat->itl_signer,
                        SHORT_TEXT);
        return rc;
    }
    case ITL__ENVELOPE__BODY_CERT_SET:
        return s_certset(env->cert_set);
    case ITL__ENVELOPE__BODY_RESET_ORDER:
        return s_order(env->reset_order);
    case ITL__ENVELOPE__BODY_RESET_REPORT:
        return s_report(env->reset_report);
    case ITL__ENVELOPE__BODY_SERVICE_ORDER:
        return s_text("service_order.service", env->service_order->service, 16);
    case ITL__ENVELOPE__BODY_ENROL_HELLO:
        if (s_host("enrol_hello.hostname", env->enrol_hello->hostname))
            return ERR_PROTO;
        return s_blob("enrol_hello.curve_public",
                      &env->enrol_hello->curve_public, 32, 32);
    case ITL__ENVELOPE__BODY_ENROL_CHALLENGE:
        return s_blob("enrol_challenge.nonce", &env->enrol_challenge->nonce, 32,
                      32);
    case ITL__ENVELOPE__BODY_ENROL_PROOF:
        return s_blob("enrol_proof.mac", &env->enrol_proof->mac, 32, 32);
    case ITL__ENVELOPE__BODY_ENROL_RESULT:
        return s_text("enrol_result.reason", env->enrol_result->reason,
                      SHORT_TEXT);
    default:
        return err_set(ERR_PROTO, "message without a known body (%d)",
                       (int)env->body_case);
    }
}

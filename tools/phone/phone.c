#include "phone.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "itl.h"
#include "tftpc.h"
#include "trust.h"
#include "tvs.h"
#include "tvsclient.h"

#define S_ITL_NAME "ITLFile.tlv"

int
phone_name_valid(const char *name)
{
    if (name == NULL || strlen(name) != 15 || strncmp(name, "SEP", 3) != 0)
        return 0;
    for (int i = 3; i < 15; i++) {
        if (!isxdigit((unsigned char)name[i]))
            return 0;
    }
    return 1;
}

static int
s_path(char *buf, size_t size, const char *state, const char *file)
{
    if ((size_t)snprintf(buf, size, "%s/%s", state, file) >= size)
        return err_set(ERR_ARG, "state folder path too long: %.200s", state);
    return ERR_OK;
}

int
phone_held(const char *state, char sha1[41], char *signer, size_t size)
{
    char path[4096], md5[33];
    uint8_t *buf = NULL;
    size_t len;
    itl_file_t *f = NULL;
    int rc;

    sha1[0] = '\0';
    if (size > 0)
        signer[0] = '\0';
    rc = s_path(path, sizeof(path), state, S_ITL_NAME);
    if (rc != ERR_OK)
        return rc;
    rc = fs_read_file(path, ITL_MAX_FILE, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc != ERR_OK)
        return rc;
    itl_checksums(buf, len, md5, sha1);
    rc = itl_file_parse(buf, len, &f);
    if (rc != ERR_OK) {
        rc = err_set(rc, "held ITL %s: %s", path, err_detail());
    } else {
        trust_signer_name(f, signer, size);
    }
    itl_file_destroy(&f);
    free(buf);
    return rc;
}

/* Fills the result and its status line. */
static void s_finish(const phone_cfg_t *cfg, phone_result_t *res, int status,
                     const char *fmt, ...) PRINTF_LIKE(4, 5);

static void
s_finish(const phone_cfg_t *cfg, phone_result_t *res, int status,
         const char *fmt, ...)
{
    va_list ap;
    const char *holds = res->held_sha1[0] ? res->held_sha1 : "none";

    res->status = status;
    res->reason[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
        va_end(ap);
    }
    if (status == PHONE_ACCEPTED)
        snprintf(res->line, sizeof(res->line),
                 "%s: accepted ITL from %s signed by %s; holds %s", cfg->name,
                 res->server, res->signer, holds);
    else if (status == PHONE_REFUSED)
        snprintf(res->line, sizeof(res->line),
                 "%s: Trust List Update Failed: %s; holds %s", cfg->name,
                 res->reason, holds);
    else
        snprintf(res->line, sizeof(res->line),
                 "%s: ITL download failed: %s; holds %s", cfg->name,
                 res->reason, holds);
}

/* Loads the held ITL; *held stays NULL when the phone holds none. */
static int
s_load_held(const phone_cfg_t *cfg, itl_file_t **held, char sha1[41])
{
    char path[4096], md5[33];
    uint8_t *buf = NULL;
    size_t len;
    int rc;

    rc = s_path(path, sizeof(path), cfg->state, S_ITL_NAME);
    if (rc != ERR_OK)
        return rc;
    rc = fs_read_file(path, ITL_MAX_FILE, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc != ERR_OK)
        return rc;
    itl_checksums(buf, len, md5, sha1);
    rc = itl_file_parse(buf, len, held);
    if (rc != ERR_OK)
        rc = err_set(rc, "held ITL %s: %s", path, err_detail());
    free(buf);
    return rc;
}

/* Downloads the candidate; on failure fills res and returns non-zero. */
static int
s_download(const phone_cfg_t *cfg, phone_result_t *res, uint8_t **buf,
           size_t *len)
{
    int rc = tftpc_get(cfg->host, cfg->port, S_ITL_NAME, ITL_MAX_FILE,
                       cfg->timeout_ms, buf, len);

    if (rc == ERR_OK)
        return 0;
    /* A file over the limit arrived (or was announced): the phone refuses
     * it, as it would a malformed one. */
    if (rc == ERR_TOOBIG)
        s_finish(cfg, res, PHONE_REFUSED, "the ITL from %s is over %d bytes",
                 res->server, ITL_MAX_FILE);
    else
        s_finish(cfg, res, PHONE_FAILED, "%s", err_detail());
    return 1;
}

/* What the phone learnt from its TVS during one decision. */
typedef struct {
    const phone_cfg_t *cfg;
    const itl_file_t *held;
    int asked, rc;
    char why[500];
} s_tvs_t;

/* Judges a TVS answer about the candidate's signer. */
static int
s_tvs_verdict(s_tvs_t *t, const char *peer, const tvsclient_result_t *r)
{
    char roles[200];

    tvsproto_roles_text(r->roles, r->nroles, roles, sizeof(roles));
    if (r->status != TVSPROTO_VALID)
        snprintf(t->why, sizeof(t->why),
                 "TVS %.200s says the signer certificate is not valid", peer);
    else if (!tvsclient_roles_sign(r->roles, r->nroles))
        snprintf(t->why, sizeof(t->why),
                 "TVS %.200s says the signer certificate is valid with roles "
                 "%.120s, none of which signs ITL files",
                 peer, roles);
    else
        return ERR_OK;
    return ERR_UNTRUSTED;
}

/*
 * trust_tvs_fn: asks the phone's one TVS (once per decision, whatever the
 * number of TVS records), pinned to every TVS record of the held ITL.
 */
static int
s_ask_tvs(const itl_record_t *rec, const uint8_t *cert, size_t len, void *arg)
{
    s_tvs_t *t = arg;
    tvsclient_pin_t *pins = NULL;
    tvsclient_result_t r;
    tvsclient_cfg_t c = {.host =
                             t->cfg->tvs_host ? t->cfg->tvs_host : t->cfg->host,
                         .port = t->cfg->tvs_port ? t->cfg->tvs_port : TVS_PORT,
                         .timeout_ms = t->cfg->timeout_ms,
                         .pin = 1};
    char peer[300];

    (void)rec;
    if (t->asked)
        return t->rc;
    t->asked = 1;
    snprintf(peer, sizeof(peer),
             strchr(c.host, ':') ? "[%.250s]:%d" : "%.250s:%d", c.host, c.port);
    t->rc = tvsclient_pins_from_itl(t->held, &pins, &c.npins);
    c.pins = pins;
    if (t->rc == ERR_OK)
        t->rc = tvsclient_verify(&c, t->cfg->name, cert, len, &r);
    if (t->rc == ERR_OK)
        t->rc = s_tvs_verdict(t, peer, &r);
    else
        snprintf(t->why, sizeof(t->why), "%s", err_detail());
    free(pins);
    return t->rc;
}

static void
s_decide(const phone_cfg_t *cfg, phone_result_t *res, const itl_file_t *held,
         const uint8_t *buf, size_t len)
{
    itl_file_t *cand = NULL;
    char why[600], path[4096], md5[33];
    s_tvs_t tvs = {.cfg = cfg, .held = held};
    int rc;

    rc = itl_file_parse(buf, len, &cand);
    if (rc != ERR_OK) {
        s_finish(cfg, res, PHONE_REFUSED, "malformed ITL from %s: %s",
                 res->server, err_detail());
        return;
    }
    trust_signer_name(cand, res->signer, sizeof(res->signer));
    rc = trust_accepts_tvs(held, cand, s_ask_tvs, &tvs, why, sizeof(why));
    itl_file_destroy(&cand);
    if (rc == ERR_UNTRUSTED && tvs.asked) {
        s_finish(cfg, res, PHONE_REFUSED, "%s; nor does the TVS vouch: %s", why,
                 tvs.why);
        return;
    }
    if (rc == ERR_UNTRUSTED) {
        s_finish(cfg, res, PHONE_REFUSED, "%s", why);
        return;
    }
    if (rc != ERR_OK) {
        s_finish(cfg, res, PHONE_FAILED, "%s", err_detail());
        return;
    }
    rc = s_path(path, sizeof(path), cfg->state, S_ITL_NAME);
    if (rc == ERR_OK)
        rc = fs_write_durable(path, buf, len, 0644, 0);
    if (rc != ERR_OK) {
        s_finish(cfg, res, PHONE_FAILED, "cannot store the ITL: %s",
                 err_detail());
        return;
    }
    itl_checksums(buf, len, md5, res->held_sha1);
    s_finish(cfg, res, PHONE_ACCEPTED, NULL);
}

static void
s_write_status(const phone_cfg_t *cfg, phone_result_t *res)
{
    char path[4096], line[sizeof(res->line) + 1];
    size_t n;

    if (s_path(path, sizeof(path), cfg->state, "status") != ERR_OK)
        return;
    n = (size_t)snprintf(line, sizeof(line), "%s\n", res->line);
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    if (fs_write_durable(path, line, n, 0644, 0) != ERR_OK &&
        res->status == PHONE_ACCEPTED)
        s_finish(cfg, res, PHONE_FAILED, "cannot write the status: %s",
                 err_detail());
}

void
phone_boot(const phone_cfg_t *cfg, phone_result_t *res)
{
    itl_file_t *held = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int port = cfg->port ? cfg->port : 69;

    memset(res, 0, sizeof(*res));
    snprintf(res->server, sizeof(res->server),
             strchr(cfg->host, ':') ? "[%.250s]:%d" : "%.250s:%d", cfg->host,
             port);
    if (fs_mkdir_p(cfg->state, 0755) != ERR_OK) {
        s_finish(cfg, res, PHONE_FAILED, "%s", err_detail());
        return;
    }
    if (s_load_held(cfg, &held, res->held_sha1) != ERR_OK) {
        s_finish(cfg, res, PHONE_FAILED, "%s", err_detail());
        goto out;
    }
    if (s_download(cfg, res, &buf, &len) == 0)
        s_decide(cfg, res, held, buf, len);
    s_write_status(cfg, res);
out:
    itl_file_destroy(&held);
    free(buf);
}

void
phone_json_field(FILE *f, const char *key, const char *v, int last)
{
    fprintf(f, "\"%s\": ", key);
    if (v == NULL || v[0] == '\0') {
        fputs("null", f);
    } else {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
            if (*p == '"' || *p == '\\')
                fprintf(f, "\\%c", *p);
            else if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
        fputc('"', f);
    }
    fputs(last ? "}\n" : ", ", f);
}

void
phone_print_json(const phone_result_t *res, const char *name, FILE *f)
{
    static const char *const names[] = {"accepted", "refused", "failed"};

    fputc('{', f);
    phone_json_field(f, "name", name, 0);
    phone_json_field(f, "status", names[res->status], 0);
    phone_json_field(f, "reason", res->reason, 0);
    phone_json_field(f, "held_sha1", res->held_sha1, 0);
    phone_json_field(f, "signer", res->signer, 0);
    phone_json_field(f, "server", res->server, 1);
}

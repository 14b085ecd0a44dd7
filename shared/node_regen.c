/* node_regen: certificate regeneration with the hold timer (see node.h). */
#include "node.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "fsutil.h"
#include "p12.h"

typedef struct {
    const char *name; /* as the operator knows it */
    const char *file; /* keys/FILE.{key,pem}; NULL for the p12 */
    int publisher_only;
} s_certdef_t;

static const s_certdef_t s_certs[] = {
    {"CallManager", "callmanager", 0},
    {"TVS", "tvs", 0},
    {"CAPF", "capf", 1},
    {"ITLRecovery", NULL, 0},
};

typedef struct {
    char name[32];
    long long time;
} s_last_t;

static const s_certdef_t *
s_find(const char *name)
{
    for (size_t i = 0; i < sizeof(s_certs) / sizeof(s_certs[0]); i++) {
        if (name != NULL && strcasecmp(name, s_certs[i].name) == 0)
            return &s_certs[i];
    }
    return NULL;
}

/* Reads STATE/regen.state; last->name stays empty when there is none. */
static int
s_last_load(const char *path, s_last_t *last)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char *end;
    int rc, n = 0;

    memset(last, 0, sizeof(*last));
    rc = fs_read_file(path, 256, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc != ERR_OK)
        return rc;
    if (sscanf((char *)buf, "name=%31[A-Za-z]\ntime=%n", last->name, &n) != 1 ||
        n == 0 || s_find(last->name) == NULL) {
        rc = err_set(ERR_FORMAT,
                     "%s is damaged (expected name=NAME and "
                     "time=UNIXTIME lines); fix or remove it",
                     path);
        goto out;
    }
    errno = 0;
    last->time = strtoll((char *)buf + n, &end, 10);
    if (errno != 0 || end == (char *)buf + n || (*end != '\n' && *end))
        rc = err_set(ERR_FORMAT, "%s is damaged (bad time); fix or remove it",
                     path);
out:
    free(buf);
    return rc;
}

static void
s_clock(time_t t, char buf[16])
{
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL || strftime(buf, 16, "%H:%M:%S", &tm) == 0)
        snprintf(buf, 16, "%lld", (long long)t);
}

static int
s_hold_check(const s_last_t *last, const s_certdef_t *def, time_t now,
             char *msg, size_t msglen)
{
    char at[16], until[16];

    if (last->name[0] == '\0')
        return ERR_OK;
    /* The same certificate again is not held, unless the clock went back:
     * recording the earlier time would shorten the next hold. */
    if (strcasecmp(last->name, def->name) == 0 && (long long)now >= last->time)
        return ERR_OK;
    if ((long long)now >= last->time + NODE_HOLD_SECONDS)
        return ERR_OK;
    s_clock((time_t)last->time, at);
    s_clock((time_t)(last->time + NODE_HOLD_SECONDS), until);
    snprintf(msg, msglen,
             "%s certificate was modified in the last 5 minutes (at %s); "
             "retry regenerating %s after %s",
             s_find(last->name)->name, at, def->name, until);
    return err_set(ERR_HOLD, "%s", msg);
}

static int
s_last_save(const char *path, const s_certdef_t *def, time_t now)
{
    char buf[128];
    int n;

    n = snprintf(buf, sizeof(buf), "name=%s\ntime=%lld\n", def->name,
                 (long long)now);
    return fs_write_durable(path, buf, (size_t)n, 0644, 0);
}

/* The CN of the current certificate, or the one node_init would choose. */
static void
s_pick_cn(const char *state, const s_certdef_t *def, const node_info_t *info,
          char *cn, size_t size)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    if (def->file != NULL)
        rc = node_cert_load(state, def->file, NULL, &cert);
    else
        rc = node_recovery_load(state, &key, &cert);
    if (rc != ERR_OK || keystore_cert_cn(cert, cn, size) != ERR_OK) {
        if (def->file == NULL)
            snprintf(cn, size, "ITLRECOVERY_%s", info->hostname);
        else if (strcmp(def->file, "capf") == 0)
            node_capf_cn(cn, size);
        else
            snprintf(cn, size, "%s", info->hostname);
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    err_clear();
}

static int
s_save(const char *state, const s_certdef_t *def, EVP_PKEY *key, X509 *cert)
{
    char path[PATH_MAX], pass[65];
    int rc;

    if (def->file != NULL) {
        snprintf(path, sizeof(path), "%s/keys", state);
        return keystore_save(path, def->file, key, cert);
    }
    rc = node_p12_pass_load(state, pass);
    if (rc == ERR_OK) {
        snprintf(path, sizeof(path), "%s/keys/ITLRecovery.p12", state);
        rc = p12_write(path, key, cert, "ITLRecovery", pass);
    }
    OPENSSL_cleanse(pass, sizeof(pass));
    return rc;
}

static void
s_serial_hex(X509 *cert, char *buf, size_t size)
{
    const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < s->length && used + 3 <= size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%02x", s->data[i]);
}

static void
s_done_msg(const s_certdef_t *def, const node_info_t *info, const char *cn,
           X509 *cert, char *msg, size_t msglen)
{
    char serial[40];
    const char *next;

    s_serial_hex(cert, serial, sizeof(serial));
    if (def->file == NULL && !info->publisher)
        next = "This is a subscriber: only its own ITLRecovery.p12 "
               "changed; ITL files carry the publisher's ITLRecovery "
               "certificate.\n";
    else if (def->file == NULL)
        next = "Back up the new key file now: file get tftp "
               "ITLRecovery.p12\nRestart the TFTP service of this node "
               "for its ITL to pick up the new certificate (phones are not "
               "reset by this).\n";
    else
        next = "Restart the TFTP service of this node for its ITL to pick "
               "up the new certificate.\n";
    snprintf(msg, msglen,
             "Regenerated the %s certificate of %s: CN=%s, serial %s; the "
             "previous files are kept as .prev.\n%s",
             def->name, info->hostname, cn, serial, next);
}

/*
 * Everything node_regen checks before it changes anything; with state
 * NULL only the name. Fills *def, and info and last when state is given.
 */
static int
s_check(const char *state, const char *name, time_t now,
        const s_certdef_t **def, node_info_t *info, s_last_t *last, char *path,
        size_t pathlen, char *msg, size_t msglen)
{
    int rc;

    *def = s_find(name);
    if (*def == NULL)
        return err_set(ERR_ARG,
                       "unknown certificate '%s'; expected CallManager, "
                       "TVS, CAPF or ITLRecovery",
                       name != NULL ? name : "");
    if ((long long)now < 0)
        return err_set(ERR_ARG,
                       "time %lld is before 1970: not a clock to "
                       "regenerate at",
                       (long long)now);
    if (state == NULL)
        return ERR_OK;
    rc = node_info_load(state, info);
    if (rc != ERR_OK)
        return rc;
    if ((*def)->publisher_only && !info->publisher)
        return err_set(ERR_ARG,
                       "%s is a subscriber: CAPF exists only on "
                       "the publisher",
                       info->hostname);
    if (snprintf(path, pathlen, "%s/regen.state", state) >= (int)pathlen)
        return err_set(ERR_ARG, "path too long: %s", state);
    rc = s_last_load(path, last);
    if (rc == ERR_OK)
        rc = s_hold_check(last, *def, now, msg, msglen);
    return rc;
}

static int
s_regen(const char *state, const char *name, time_t now, char *msg,
        size_t msglen)
{
    const s_certdef_t *def;
    node_info_t info;
    s_last_t last;
    char path[PATH_MAX], cn[320];
    keystore_org_t org;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    rc = s_check(state, name, now, &def, &info, &last, path, sizeof(path), msg,
                 msglen);
    if (rc != ERR_OK)
        return rc;

    s_pick_cn(state, def, &info, cn, sizeof(cn));
    org = (keystore_org_t){info.ou, info.o, info.l, info.st, info.c};
    rc =
        keystore_generate(cn, &org, info.key_bits, NODE_CERT_DAYS, &key, &cert);
    /* The timer is armed before any file changes: a failure errs safe. */
    if (rc == ERR_OK)
        rc = s_last_save(path, def, now);
    if (rc == ERR_OK)
        rc = s_save(state, def, key, cert);
    if (rc == ERR_OK)
        s_done_msg(def, &info, cn, cert, msg, msglen);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

int
node_regen_check(const char *state, const char *name, time_t now, char *msg,
                 size_t msglen)
{
    const s_certdef_t *def;
    node_info_t info;
    s_last_t last;
    char path[PATH_MAX];
    int rc;

    if (msglen > 0)
        msg[0] = '\0';
    rc = s_check(state, name, now, &def, &info, &last, path, sizeof(path), msg,
                 msglen);
    if (rc != ERR_OK && rc != ERR_HOLD)
        snprintf(msg, msglen, "%s", err_detail());
    return rc;
}

int
node_regen(const char *state, const char *name, time_t now, char *msg,
           size_t msglen)
{
    int rc;

    if (msglen > 0)
        msg[0] = '\0';
    rc = s_regen(state, name, now, msg, msglen);
    if (rc != ERR_OK && rc != ERR_HOLD)
        snprintf(msg, msglen, "%s", err_detail());
    return rc;
}

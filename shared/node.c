#include "node.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "fsutil.h"
#include "kdf.h"
#include "p12.h"

#define INFO_MAX 4096

/* Builds STATE/rel into buf. */
static int
s_join(char *buf, size_t size, const char *state, const char *rel)
{
    if (snprintf(buf, size, "%s/%s", state, rel) >= (int)size)
        return err_set(ERR_ARG, "path too long: %s/%s", state, rel);
    return ERR_OK;
}

static int
s_valid_host(const char *h)
{
    size_t n = h != NULL ? strlen(h) : 0;

    if (n == 0 || n > NODE_HOST_MAX || h[0] == '-' || h[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' &&
            h[i] != '_')
            return 0;
    }
    return 1;
}

/* Organisation fields end up in node.info lines and ';'-joined names. */
static int
s_valid_field(const char *what, const char *v, size_t max)
{
    if (v == NULL)
        return ERR_OK;
    if (strlen(v) > max)
        return err_set(ERR_ARG, "%s '%s' is longer than %zu characters", what,
                       v, max);
    for (const char *p = v; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == ';' || *p == 0x7f)
            return err_set(ERR_ARG, "%s '%s' holds a control character or ';'",
                           what, v);
    }
    return ERR_OK;
}

static int
s_check_params(const node_params_t *p, const char *cluster_password,
               const char *admin_password)
{
    const keystore_org_t *o = &p->org;
    int rc = ERR_OK;

    if (!s_valid_host(p->hostname))
        return err_set(ERR_ARG,
                       "host name '%s' is not valid (letters, digits, '-', "
                       "'.', '_'; up to 52)",
                       p->hostname != NULL ? p->hostname : "");
    if (p->key_bits != 0 &&
        (p->key_bits < KEYSTORE_BITS_MIN || p->key_bits > KEYSTORE_BITS_MAX))
        return err_set(ERR_ARG, "key size %d is outside %d..%d bits",
                       p->key_bits, KEYSTORE_BITS_MIN, KEYSTORE_BITS_MAX);
    if (rc == ERR_OK)
        rc = s_valid_field("organisational unit", o->ou, 64);
    if (rc == ERR_OK)
        rc = s_valid_field("organisation", o->o, 64);
    if (rc == ERR_OK)
        rc = s_valid_field("locality", o->l, 128);
    if (rc == ERR_OK)
        rc = s_valid_field("state", o->st, 128);
    if (rc != ERR_OK)
        return rc;
    if (o->c != NULL && o->c[0] != '\0' &&
        (strlen(o->c) != 2 || !isalpha((unsigned char)o->c[0]) ||
         !isalpha((unsigned char)o->c[1])))
        return err_set(ERR_ARG, "country '%s' is not a two-letter code", o->c);
    if (cluster_password == NULL || cluster_password[0] == '\0')
        return err_set(ERR_ARG, "the cluster security password is empty");
    if (p->publisher && (admin_password == NULL || admin_password[0] == 0))
        return err_set(ERR_ARG, "the publisher needs an administrator "
                                "password");
    if (!p->publisher && admin_password != NULL)
        return err_set(ERR_ARG, "a subscriber has no administrator password "
                                "of its own");
    return ERR_OK;
}

static int
s_write_info(const char *state, const node_params_t *p, time_t now)
{
    const keystore_org_t *o = &p->org;
    char path[PATH_MAX], buf[INFO_MAX];
    int n;

    n = snprintf(buf, sizeof(buf),
                 "hostname=%s\nrole=%s\nou=%s\no=%s\nl=%s\nst=%s\nc=%s\n"
                 "key_bits=%d\ncreated=%lld\n",
                 p->hostname, p->publisher ? "publisher" : "subscriber",
                 o->ou ? o->ou : "", o->o ? o->o : "", o->l ? o->l : "",
                 o->st ? o->st : "", o->c ? o->c : "",
                 p->key_bits ? p->key_bits : KEYSTORE_BITS_DEFAULT,
                 (long long)now);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return err_set(ERR_ARG, "node.info would be too long");
    if (s_join(path, sizeof(path), state, "node.info") != ERR_OK)
        return err_last();
    return fs_write_durable(path, buf, (size_t)n, 0644, 0);
}

/* Makes a key and certificate and saves them as STATE/keys/NAME.{key,pem}. */
static int
s_make_pem(const char *state, const char *name, const char *cn,
           const keystore_org_t *org, int bits)
{
    char dir[PATH_MAX];
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    rc = s_join(dir, sizeof(dir), state, "keys");
    if (rc == ERR_OK)
        rc = keystore_generate(cn, org, bits, NODE_CERT_DAYS, &key, &cert);
    if (rc == ERR_OK)
        rc = keystore_save(dir, name, key, cert);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

int
node_p12_pass_load(const char *state, char pass[65])
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    rc = s_join(path, sizeof(path), state, "secrets/p12.pass");
    if (rc == ERR_OK)
        rc = fs_check_private(path);
    if (rc == ERR_OK)
        rc = fs_read_file(path, 64, &buf, &len);
    if (rc == ERR_TOOBIG)
        len = 65;
    else if (rc != ERR_OK)
        return rc;
    /* node_init writes exactly kdf_p12_password's 64 lower-case digits. */
    if (len != 64 || strspn((char *)buf, "0123456789abcdef") != 64) {
        rc = err_set(ERR_FORMAT,
                     "%s is damaged (expected 64 hex digits, as init "
                     "writes them, and nothing else)",
                     path);
    } else {
        memcpy(pass, buf, 65);
    }
    if (buf != NULL)
        OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

void
node_capf_cn(char *buf, size_t size)
{
    uint8_t rnd[4] = {0};

    /* On the odd RAND failure the name is still unique enough per node. */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        memcpy(rnd, &(uint32_t){(uint32_t)time(NULL)}, sizeof(rnd));
    snprintf(buf, size, "CAPF-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3]);
}

static int
s_make_recovery(const char *state, const char *cn, const keystore_org_t *org,
                int bits)
{
    char path[PATH_MAX], pass[65];
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    rc = node_p12_pass_load(state, pass);
    if (rc == ERR_OK)
        rc = s_join(path, sizeof(path), state, "keys/ITLRecovery.p12");
    if (rc == ERR_OK)
        rc = keystore_generate(cn, org, bits, NODE_CERT_DAYS, &key, &cert);
    if (rc == ERR_OK)
        rc = p12_write(path, key, cert, "ITLRecovery", pass);
    OPENSSL_cleanse(pass, sizeof(pass));
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

static int
s_write_secret(const char *state, const char *rel, const void *buf, size_t len)
{
    char path[PATH_MAX];
    int rc = s_join(path, sizeof(path), state, rel);

    return rc == ERR_OK ? fs_write_durable(path, buf, len, 0600, 0) : rc;
}

static int
s_write_secrets(const char *state, const char *cluster_password,
                const char *admin_password)
{
    char pass[65], hash[PASSWD_HASH_MAX];
    uint8_t enrol[32];
    int rc;

    rc = kdf_p12_password(cluster_password, pass);
    if (rc == ERR_OK)
        rc = s_write_secret(state, "secrets/p12.pass", pass, 64);
    if (rc == ERR_OK)
        rc = kdf_enrol_key(cluster_password, enrol);
    if (rc == ERR_OK)
        rc = s_write_secret(state, "secrets/enrol.key", enrol, 32);
    if (rc == ERR_OK && admin_password != NULL) {
        rc = passwd_hash(admin_password, hash, sizeof(hash));
        if (rc == ERR_OK)
            rc =
                s_write_secret(state, "secrets/admin.hash", hash, strlen(hash));
    }
    OPENSSL_cleanse(pass, sizeof(pass));
    OPENSSL_cleanse(enrol, sizeof(enrol));
    return rc;
}

static int
s_make_folders(const char *state)
{
    char path[PATH_MAX];
    int rc;

    rc = fs_mkdir_p(state, 0700);
    if (rc == ERR_OK)
        rc = s_join(path, sizeof(path), state, "keys");
    if (rc == ERR_OK)
        rc = fs_mkdir_p(path, 0700);
    if (rc == ERR_OK)
        rc = s_join(path, sizeof(path), state, "secrets");
    if (rc == ERR_OK)
        rc = fs_mkdir_p(path, 0700);
    return rc;
}

static int
s_make_keys(const char *state, const node_params_t *p)
{
    char cn[300];
    int rc;

    rc = s_make_pem(state, "callmanager", p->hostname, &p->org, p->key_bits);
    if (rc == ERR_OK)
        rc = s_make_pem(state, "tvs", p->hostname, &p->org, p->key_bits);
    if (rc == ERR_OK && p->publisher) {
        node_capf_cn(cn, sizeof(cn));
        rc = s_make_pem(state, "capf", cn, &p->org, p->key_bits);
    }
    if (rc == ERR_OK) {
        snprintf(cn, sizeof(cn), "ITLRECOVERY_%s", p->hostname);
        rc = s_make_recovery(state, cn, &p->org, p->key_bits);
    }
    return rc;
}

/* The files node_init writes, in the order a check reports them. */
static const char *const s_init_files[] = {
    "keys/callmanager.key", "keys/callmanager.pem", "keys/tvs.key",
    "keys/tvs.pem",         "keys/capf.key",        "keys/capf.pem",
    "keys/ITLRecovery.p12", "secrets/p12.pass",     "secrets/enrol.key",
    "secrets/admin.hash",
};

/* Puts into found the first entry of STATE/sub, if any; 1 when found. */
static int
s_first_entry(const char *state, const char *sub, char *found, size_t size)
{
    char dir[PATH_MAX];
    struct dirent *e;
    DIR *d;
    int hit = 0;

    if (s_join(dir, sizeof(dir), state, sub) != ERR_OK)
        return 0;
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while (!hit && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        hit = snprintf(found, size, "%s/%s", dir, e->d_name) < (int)size;
    }
    closedir(d);
    return hit;
}

/*
 * ERR_EXISTS when STATE holds anything node_init would overwrite: node.info
 * or any file in keys/ or secrets/ (a folder whose init stopped halfway,
 * or whose node.info was removed, still holds keys that matter).
 * curve.key is left alone: init keeps it, and show-key may make it first.
 */
int
node_init_check(const char *state)
{
    char path[PATH_MAX];
    const char *how = "to start over, move the folder away (mv";

    if (s_join(path, sizeof(path), state, "node.info") != ERR_OK)
        return err_last();
    if (fs_exists(path))
        return err_set(ERR_EXISTS,
                       "%s is already an initialised node state folder "
                       "(%s exists); refusing to overwrite its keys; %s %s "
                       "%s.old) and run init again",
                       state, path, how, state, state);
    for (size_t i = 0; i < sizeof(s_init_files) / sizeof(s_init_files[0]);
         i++) {
        if (s_join(path, sizeof(path), state, s_init_files[i]) != ERR_OK)
            return err_last();
        if (fs_exists(path))
            goto found;
    }
    if (s_first_entry(state, "keys", path, sizeof(path)) ||
        s_first_entry(state, "secrets", path, sizeof(path)))
        goto found;
    return ERR_OK;
found:
    return err_set(ERR_EXISTS,
                   "%s already holds keys or secrets of a node (%s exists) "
                   "though it has no node.info; refusing to overwrite them; "
                   "%s %s %s.old) and run init again",
                   state, path, how, state, state);
}

int
node_init(const char *state, const node_params_t *p,
          const char *cluster_password, const char *admin_password)
{
    mode_t old;
    int rc;

    rc = s_check_params(p, cluster_password, admin_password);
    if (rc == ERR_OK)
        rc = node_init_check(state);
    if (rc != ERR_OK)
        return rc;

    old = umask(077);
    rc = s_make_folders(state);
    if (rc == ERR_OK)
        rc = s_write_secrets(state, cluster_password, admin_password);
    if (rc == ERR_OK)
        rc = s_make_keys(state, p);
    /* node.info last: it marks the folder as complete. */
    if (rc == ERR_OK)
        rc = s_write_info(state, p, time(NULL));
    umask(old);
    return rc;
}

static int
s_info_set(node_info_t *info, const char *key, const char *val)
{
    struct {
        const char *key;
        char *dst;
        size_t size;
    } text[] = {
        {"hostname", info->hostname, sizeof(info->hostname)},
        {"ou", info->ou, sizeof(info->ou)},
        {"o", info->o, sizeof(info->o)},
        {"l", info->l, sizeof(info->l)},
        {"st", info->st, sizeof(info->st)},
        {"c", info->c, sizeof(info->c)},
    };
    char *end;

    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        if (strcmp(key, text[i].key) != 0)
            continue;
        if (strlen(val) >= text[i].size)
            return -1;
        strcpy(text[i].dst, val);
        return 0;
    }
    if (strcmp(key, "role") == 0) {
        if (strcmp(val, "publisher") != 0 && strcmp(val, "subscriber") != 0)
            return -1;
        info->publisher = strcmp(val, "publisher") == 0;
        return 0;
    }
    errno = 0;
    if (strcmp(key, "key_bits") == 0) {
        long v = strtol(val, &end, 10);
        if (errno || *end || v < KEYSTORE_BITS_MIN || v > KEYSTORE_BITS_MAX)
            return -1;
        info->key_bits = (int)v;
        return 0;
    }
    if (strcmp(key, "created") == 0) {
        info->created = strtoll(val, &end, 10);
        return errno || *end || val[0] == '\0' ? -1 : 0;
    }
    return 0; /* unknown keys are kept for later versions */
}

static int
s_info_parse(char *text, const char *path, node_info_t *info)
{
    char *line, *save = NULL, *eq;
    int lineno = 0, have_host = 0, have_role = 0;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        eq = strchr(line, '=');
        if (eq == NULL)
            return err_set(ERR_FORMAT, "%s line %d: no '=' in '%.40s'", path,
                           lineno, line);
        *eq = '\0';
        if (s_info_set(info, line, eq + 1) < 0)
            return err_set(ERR_FORMAT, "%s line %d: bad value for %s", path,
                           lineno, line);
        have_host |= strcmp(line, "hostname") == 0;
        have_role |= strcmp(line, "role") == 0;
    }
    if (!have_host || !have_role || !s_valid_host(info->hostname))
        return err_set(ERR_FORMAT, "%s lacks a valid hostname or role", path);
    return ERR_OK;
}

int
node_info_load(const char *state, node_info_t *info)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    memset(info, 0, sizeof(*info));
    info->key_bits = KEYSTORE_BITS_DEFAULT;
    rc = s_join(path, sizeof(path), state, "node.info");
    if (rc != ERR_OK)
        return rc;
    rc = fs_read_file(path, INFO_MAX, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return err_set(ERR_NOTFOUND,
                       "%s is not an initialised node (no node.info); run "
                       "the init command first",
                       state);
    if (rc != ERR_OK)
        return rc;
    if (memchr(buf, '\0', len) != NULL)
        rc = err_set(ERR_FORMAT, "%s holds a NUL byte", path);
    else
        rc = s_info_parse((char *)buf, path, info);
    free(buf);
    return rc;
}

int
node_load_role(const char *state, int *is_publisher, char *hostname, size_t len)
{
    node_info_t info;
    int rc = node_info_load(state, &info);

    if (rc != ERR_OK)
        return rc;
    *is_publisher = info.publisher;
    if (hostname == NULL)
        return ERR_OK;
    if (strlen(info.hostname) >= len)
        return err_set(ERR_ARG, "host name buffer too small");
    strcpy(hostname, info.hostname);
    return ERR_OK;
}

int
node_recovery_load(const char *state, EVP_PKEY **key, X509 **cert)
{
    char path[PATH_MAX], pass[65];
    int rc;

    *key = NULL;
    *cert = NULL;
    rc = s_join(path, sizeof(path), state, "keys/ITLRecovery.p12");
    if (rc == ERR_OK)
        rc = fs_check_private(path);
    if (rc == ERR_OK)
        rc = node_p12_pass_load(state, pass);
    if (rc != ERR_OK)
        return rc;
    rc = p12_read_file(path, pass, key, cert);
    /* The password is no operator's: the pair of files does not match. */
    if (rc == ERR_PASSWORD)
        rc = err_set(ERR_PASSWORD,
                     "%s does not open with the password in "
                     "%s/secrets/p12.pass (its integrity check fails): one "
                     "of the two files was replaced or damaged",
                     path, state);
    OPENSSL_cleanse(pass, sizeof(pass));
    return rc;
}

/* Reads a private file of STATE of at most max bytes into a new buffer. */
static int
s_read_private(const char *state, const char *rel, size_t max, uint8_t **buf,
               size_t *len, char *path, size_t pathlen)
{
    int rc = s_join(path, pathlen, state, rel);

    if (rc == ERR_OK)
        rc = fs_check_private(path);
    if (rc == ERR_NOTFOUND)
        return err_set(ERR_NOTFOUND,
                       "%s is missing: the node in %s was not initialised "
                       "completely; move the folder away (mv %s %s.old) and "
                       "run init again",
                       path, state, state, state);
    if (rc == ERR_OK)
        rc = fs_read_file(path, max, buf, len);
    if (rc == ERR_TOOBIG)
        rc = err_set(ERR_FORMAT, "%s is damaged (over %zu bytes)", path, max);
    return rc;
}

int
node_admin_hash_load(const char *state, char *buf, size_t len)
{
    char path[PATH_MAX];
    uint8_t *text = NULL;
    size_t n = 0;
    int rc;

    rc = s_read_private(state, "secrets/admin.hash", 4096, &text, &n, path,
                        sizeof(path));
    if (rc != ERR_OK)
        return rc;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (n == 0 || memchr(text, '\0', n) != NULL ||
        strncmp((char *)text, "scrypt$", 7) != 0)
        rc = err_set(ERR_FORMAT, "%s is damaged (expected one line scrypt$...)",
                     path);
    else if (n >= len)
        rc = err_set(ERR_ARG, "%s: %zu bytes do not fit the buffer", path, n);
    else
        memcpy(buf, text, n + 1);
    OPENSSL_cleanse(text, n);
    free(text);
    return rc;
}

int
node_enrol_key_load(const char *state, uint8_t key[32])
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    rc = s_read_private(state, "secrets/enrol.key", 64, &buf, &len, path,
                        sizeof(path));
    if (rc == ERR_OK && len != 32)
        rc = err_set(ERR_FORMAT, "%s is damaged (expected 32 bytes, found %zu)",
                     path, len);
    if (rc == ERR_OK)
        memcpy(key, buf, 32);
    if (buf != NULL)
        OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
}

int
node_cert_load(const char *state, const char *name, EVP_PKEY **key, X509 **cert)
{
    char dir[PATH_MAX];
    int rc = s_join(dir, sizeof(dir), state, "keys");

    if (rc != ERR_OK)
        return rc;
    return keystore_load(dir, name, key, cert);
}

#include "clusterpw.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fsutil.h"
#include "kdf.h"
#include "node.h"
#include "p12.h"

/* The key file, re-encrypted under newpass unless it is already. */
static int
s_reencrypt(const char *path, const char *oldpass, const char *newpass)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    rc = fs_check_private(path);
    if (rc != ERR_OK)
        return rc;
    rc = p12_read_file(path, oldpass, &key, &cert);
    if (rc == ERR_PASSWORD) {
        rc = p12_read_file(path, newpass, &key, &cert);
        if (rc == ERR_OK)
            goto out; /* done by an earlier, interrupted change */
        rc = err_set(ERR_PASSWORD,
                     "%s opens neither with the current nor "
                     "with the new cluster security password",
                     path);
        goto out;
    }
    if (rc == ERR_OK)
        rc = p12_write(path, key, cert, "ITLRecovery", newpass);
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

static int
s_secrets(const char *state, const char *newpass, const char *next)
{
    char path[PATH_MAX];
    uint8_t enrol[32];
    int rc;

    snprintf(path, sizeof(path), "%s/secrets/p12.pass", state);
    rc = fs_write_durable(path, newpass, 64, 0600, 1);
    if (rc != ERR_OK)
        return rc;
    rc = kdf_enrol_key(next, enrol);
    if (rc == ERR_OK) {
        snprintf(path, sizeof(path), "%s/secrets/enrol.key", state);
        rc = fs_write_durable(path, enrol, sizeof(enrol), 0600, 0);
    }
    OPENSSL_cleanse(enrol, sizeof(enrol));
    return rc;
}

/*
 * The files were written by whoever ran the command (often root); the
 * agent that reads them runs as the owner of the state folder.
 */
static int
s_keep_owner(const char *state)
{
    static const char *const files[] = {
        "keys/ITLRecovery.p12", "keys/ITLRecovery.p12.prev",
        "secrets/p12.pass",     "secrets/p12.pass.prev",
        "secrets/enrol.key",    NULL};
    char path[PATH_MAX];
    struct stat st;

    if (stat(state, &st) < 0)
        return err_set(ERR_IO, "cannot stat %s: %s", state, strerror(errno));
    for (int i = 0; files[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", state, files[i]);
        if (chown(path, st.st_uid, st.st_gid) < 0 && errno != ENOENT)
            return err_set(ERR_IO, "cannot give %s to the owner of %s: %s",
                           path, state, strerror(errno));
    }
    return ERR_OK;
}

int
clusterpw_change(const char *state, const char *current, const char *next)
{
    char stored[65], oldpass[65], newpass[65], path[PATH_MAX];
    int rc;

    if (current == NULL || next == NULL || !*current || !*next)
        return err_set(ERR_ARG, "empty cluster security password");
    if (strcmp(current, next) == 0)
        return err_set(ERR_ARG, "the new cluster security password is the "
                                "same as the current one");
    rc = node_p12_pass_load(state, stored);
    if (rc == ERR_OK)
        rc = kdf_p12_password(current, oldpass);
    if (rc == ERR_OK && CRYPTO_memcmp(stored, oldpass, 64) != 0)
        rc = err_set(ERR_PASSWORD,
                     "wrong current cluster security "
                     "password for the node in %s; nothing was changed",
                     state);
    if (rc == ERR_OK)
        rc = kdf_p12_password(next, newpass);
    snprintf(path, sizeof(path), "%s/keys/ITLRecovery.p12", state);
    if (rc == ERR_OK)
        rc = s_reencrypt(path, oldpass, newpass);
    if (rc == ERR_OK)
        rc = s_secrets(state, newpass, next);
    if (rc == ERR_OK)
        rc = s_keep_owner(state);
    OPENSSL_cleanse(stored, sizeof(stored));
    OPENSSL_cleanse(oldpass, sizeof(oldpass));
    OPENSSL_cleanse(newpass, sizeof(newpass));
    return rc;
}

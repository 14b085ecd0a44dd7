#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "fsutil.h"
#include "p12.h"

static void
s_key_path(const char *state, char *buf, size_t len)
{
    snprintf(buf, len, "%s/keys/ITLRecovery.p12", state);
}

int
backup_key_sha256(const char *state, char out[65])
{
    char path[600];
    uint8_t *buf = NULL, md[32];
    size_t len = 0;
    unsigned int mdlen = 0;
    int rc;

    out[0] = '\0';
    s_key_path(state, path, sizeof(path));
    rc = fs_read_file(path, P12_MAX_FILE, &buf, &len);
    if (rc != ERR_OK)
        return rc;
    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        rc = err_set_ssl(ERR_CRYPTO, "cannot hash %s", path);
    free(buf);
    for (unsigned int i = 0; rc == ERR_OK && i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return rc;
}

static int
s_clean(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
            return 0;
    }
    return n > 0 && n < max;
}

int
backup_record(const char *state, const char *sha256, const char *where,
              const char *how, long long now)
{
    char cur[65], path[600], text[1024];
    int rc, n;

    if (!s_clean(where, sizeof(((backup_status_t *)0)->where)) ||
        (strcmp(how, "upload") != 0 && strcmp(how, "fetched") != 0))
        return err_set(ERR_ARG, "bad backup location or kind");
    rc = backup_key_sha256(state, cur);
    if (rc != ERR_OK)
        return rc;
    if (strcmp(cur, sha256) != 0)
        return err_set(ERR_REFUSED,
                       "the key file changed while it was copied (SHA-256 "
                       "%.64s, copied %.64s); copy it again",
                       cur, sha256);
    n = snprintf(text, sizeof(text),
                 "sha256=%s\ntime=%lld\nwhere=%s\n"
                 "how=%s\n",
                 cur, now, where, how);
    snprintf(path, sizeof(path), "%s/%s", state, BACKUP_STATE);
    return fs_write_durable(path, text, (size_t)n, 0644, 0);
}

/* Parses one "key=value" line of backup.state into st. */
static int
s_parse_line(char *line, backup_status_t *st, int *seen)
{
    char *eq = strchr(line, '=');
    char *end;

    if (eq == NULL)
        return -1;
    *eq++ = '\0';
    if (strcmp(line, "sha256") == 0 && strlen(eq) == 64) {
        snprintf(st->sha256, sizeof(st->sha256), "%s", eq);
        *seen |= 1;
    } else if (strcmp(line, "time") == 0) {
        st->time = strtoll(eq, &end, 10);
        if (end == eq || *end != '\0')
            return -1;
        *seen |= 2;
    } else if (strcmp(line, "where") == 0) {
        snprintf(st->where, sizeof(st->where), "%s", eq);
        *seen |= 4;
    } else if (strcmp(line, "how") == 0) {
        snprintf(st->how, sizeof(st->how), "%s", eq);
    } else {
        return -1;
    }
    return 0;
}

int
backup_status(const char *state, backup_status_t *st)
{
    char path[600];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc, seen = 0;

    memset(st, 0, sizeof(*st));
    if (backup_key_sha256(state, st->key_sha256) != ERR_OK)
        st->key_sha256[0] = '\0';
    snprintf(path, sizeof(path), "%s/%s", state, BACKUP_STATE);
    rc = fs_read_file(path, 4096, &buf, &len);
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc != ERR_OK)
        return rc;
    for (char *save = NULL, *l = strtok_r((char *)buf, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        if (s_parse_line(l, st, &seen) < 0) {
            free(buf);
            memset(st->sha256, 0, sizeof(st->sha256));
            return err_set(ERR_FORMAT,
                           "%s is damaged (expected sha256, "
                           "time, where and how lines); remove it and "
                           "back the key up again",
                           path);
        }
    }
    free(buf);
    if (seen != 7)
        return err_set(ERR_FORMAT,
                       "%s is incomplete; remove it and back "
                       "the key up again",
                       path);
    st->recorded = 1;
    st->current =
        st->key_sha256[0] != '\0' && strcmp(st->sha256, st->key_sha256) == 0;
    return ERR_OK;
}

static void
s_warning(const char *state, int rc, const backup_status_t *st, char *msg,
          size_t msglen)
{
    char when[32] = "?";
    time_t t = (time_t)st->time;
    struct tm tm;

    if (rc != ERR_OK) {
        snprintf(msg, msglen,
                 "the recovery key %s/keys/ITLRecovery.p12 "
                 "has no usable backup record (%s); back it up with: %s",
                 state, err_detail(), BACKUP_FIX_COMMAND);
        return;
    }
    if (!st->recorded) {
        snprintf(msg, msglen,
                 "the recovery key %s/keys/ITLRecovery.p12 "
                 "has never been backed up; without a copy a rebuilt "
                 "publisher cannot reset the phones. Back it up with: %s",
                 state, BACKUP_FIX_COMMAND);
        return;
    }
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(msg, msglen,
             "the recovery key %s/keys/ITLRecovery.p12 changed "
             "since its last backup (%s to %s); back it up again with: %s",
             state, when, st->where, BACKUP_FIX_COMMAND);
}

int
backup_nag_due(const char *state, long long now, backup_nag_t *nag, char *msg,
               size_t msglen)
{
    backup_status_t st;
    int rc;

    if (nag->next_check != 0 && now < nag->next_check &&
        now >= nag->next_check - BACKUP_CHECK_SECONDS)
        return 0;
    nag->next_check = now + BACKUP_CHECK_SECONDS;
    rc = backup_status(state, &st);
    if (rc == ERR_OK && st.current) {
        nag->warned = 0;
        return 0;
    }
    if (nag->warned && now >= nag->warned_at &&
        now < nag->warned_at + BACKUP_WARN_SECONDS)
        return 0;
    nag->warned = 1;
    nag->warned_at = now;
    s_warning(state, rc, &st, msg, msglen);
    return 1;
}

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itl.h"
#include "log.h"
#include "protocheck.h"

enum kind { K_STR, K_INT, K_BOOL, K_ROLE, K_FOLDER, K_RESTART, K_DIGEST,
            K_LEVEL, K_GROUP };

typedef struct {
    const char *key;
    int kind;
    size_t offset;
    size_t size; /* string capacity, or int bounds below */
    long min, max;
} key_t_;

#define STR(k, f) {k, K_STR, offsetof(config_t, f), \
                   sizeof(((config_t *)0)->f), 0, 0}
#define INT(k, f, lo, hi) {k, K_INT, offsetof(config_t, f), 0, lo, hi}
#define SPECIAL(k, kind, f) {k, kind, offsetof(config_t, f), 0, 0, 0}

static const key_t_ s_keys[] = {
    SPECIAL("role", K_ROLE, role),
    STR("hostname", hostname),
    STR("state_dir", state_dir),
    STR("cluster_id", cluster_id),
    STR("listen", listen),
    STR("publisher", publisher),
    STR("publisher_key", publisher_key),
    STR("admin_socket", admin_socket),
    SPECIAL("admin_group", K_GROUP, admin_group),
    SPECIAL("tftp", K_BOOL, tftp),
    STR("tftp_address", tftp_address),
    INT("tftp_port", tftp_port, 1, 65535),
    SPECIAL("tftp_folder", K_FOLDER, tftp_folders),
    STR("tftpd", tftpd),
    STR("tftp_user", tftp_user),
    SPECIAL("tftp_restart", K_RESTART, tftp_restart),
    STR("tftp_restart_command", tftp_restart_command),
    INT("tvs_port", tvs_port, 0, 65535),
    STR("tvs_address", tvs_address),
    INT("tvs_ttl", tvs_ttl, 0, 604800),
    INT("tvs_max_clients", tvs_max_clients, 1, 10000),
    STR("org_unit", org_ou),
    STR("organisation", org_o),
    STR("locality", org_l),
    STR("state", org_st),
    STR("country", org_c),
    INT("key_bits", key_bits, 1024, 4096),
    SPECIAL("digest", K_DIGEST, digest),
    INT("heartbeat_ms", heartbeat_ms, 50, 600000),
    INT("heartbeat_timeout_ms", heartbeat_timeout_ms, 100, 3600000),
    INT("reset_timeout_ms", reset_timeout_ms, 100, 3600000),
    INT("connect_timeout_ms", connect_timeout_ms, 100, 600000),
    SPECIAL("log_level", K_LEVEL, log_level),
};

void
config_defaults(config_t *c, int role)
{
    memset(c, 0, sizeof(*c));
    c->role = role;
    if (gethostname(c->hostname, sizeof(c->hostname)) < 0)
        snprintf(c->hostname, sizeof(c->hostname), "localhost");
    c->hostname[sizeof(c->hostname) - 1] = '\0';
    snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/itl-recovery");
    snprintf(c->cluster_id, sizeof(c->cluster_id), "cluster");
    snprintf(c->listen, sizeof(c->listen), "0.0.0.0:7400");
    c->admin_group = -1;
    c->tftp = 1;
    snprintf(c->tftp_address, sizeof(c->tftp_address), "0.0.0.0");
    c->tftp_port = 69;
    snprintf(c->tftpd, sizeof(c->tftpd), "/usr/sbin/in.tftpd");
    c->tftp_restart = CONFIG_RESTART_SUPERVISE;
    c->tvs_port = 2445;
    c->tvs_ttl = 3600;
    c->tvs_max_clients = 64;
    snprintf(c->org_ou, sizeof(c->org_ou), "Voice");
    snprintf(c->org_o, sizeof(c->org_o), "Example");
    snprintf(c->org_l, sizeof(c->org_l), "City");
    snprintf(c->org_st, sizeof(c->org_st), "State");
    snprintf(c->org_c, sizeof(c->org_c), "US");
    c->key_bits = 2048;
    c->digest = ITL_DIGEST_SHA1;
    c->heartbeat_ms = 1000;
    c->heartbeat_timeout_ms = 3500;
    c->reset_timeout_ms = 30000;
    c->connect_timeout_ms = 5000;
    c->log_level = LOG_LEVEL_INFO;
}

static char *
s_trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int
s_parse_int(const char *v, long min, long max, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int
s_parse_bool(const char *v)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
        return 1;
    if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
        return 0;
    return -1;
}

static int
s_set_special(const key_t_ *k, config_t *c, const char *v, const char *where)
{
    int *ip = (int *)((char *)c + k->offset);
    int n = -1;

    switch (k->kind) {
    case K_BOOL:
        n = s_parse_bool(v);
        if (n < 0)
            return err_set(ERR_ARG, "%s: %s: expected yes or no, not '%s'",
                           where, k->key, v);
        break;
    case K_ROLE:
        n = !strcmp(v, "publisher")    ? CONFIG_PUBLISHER
            : !strcmp(v, "subscriber") ? CONFIG_SUBSCRIBER
                                       : -1;
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: role: expected publisher or subscriber, "
                           "not '%s'", where, v);
        break;
    case K_RESTART:
        n = !strcmp(v, "supervise") ? CONFIG_RESTART_SUPERVISE
            : !strcmp(v, "command") ? CONFIG_RESTART_COMMAND
            : !strcmp(v, "none")    ? CONFIG_RESTART_NONE
                                    : -1;
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: tftp_restart: expected supervise, command "
                           "or none, not '%s'", where, v);
        break;
    case K_DIGEST:
        n = !strcmp(v, "sha1")     ? ITL_DIGEST_SHA1
            : !strcmp(v, "sha256") ? ITL_DIGEST_SHA256
            : !strcmp(v, "sha512") ? ITL_DIGEST_SHA512
                                   : -1;
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: digest: expected sha1, sha256 or sha512, "
                           "not '%s'", where, v);
        break;
    case K_LEVEL:
        n = log_level_parse(v);
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: log_level: expected err, warning, notice, "
                           "info or debug, not '%s'", where, v);
        break;
    case K_GROUP: {
        struct group *g = getgrnam(v);
        if (g == NULL)
            return err_set(ERR_ARG, "%s: admin_group: no group '%s'", where,
                           v);
        n = (int)g->gr_gid;
        break;
    }
    }
    *ip = n;
    return ERR_OK;
}

static int
s_set(config_t *c, const char *key, const char *v, const char *where)
{
    for (size_t i = 0; i < sizeof(s_keys) / sizeof(s_keys[0]); i++) {
        const key_t_ *k = &s_keys[i];
        char *field = (char *)c + k->offset;
        long n;

        if (strcmp(k->key, key) != 0)
            continue;
        if (k->kind == K_STR) {
            if (strlen(v) >= k->size)
                return err_set(ERR_ARG, "%s: %s: value longer than %zu "
                               "characters", where, key, k->size - 1);
            memcpy(field, v, strlen(v) + 1);
            return ERR_OK;
        }
        if (k->kind == K_INT) {
            if (s_parse_int(v, k->min, k->max, &n) < 0)
                return err_set(ERR_ARG, "%s: %s: expected a whole number "
                               "from %ld to %ld, not '%s'", where, key,
                               k->min, k->max, v);
            *(int *)field = (int)n;
            return ERR_OK;
        }
        if (k->kind == K_FOLDER) {
            if (c->ntftp_folders == CONFIG_MAX_FOLDERS)
                return err_set(ERR_ARG, "%s: tftp_folder: at most %d "
                               "folders", where, CONFIG_MAX_FOLDERS);
            if (v[0] != '/' || strlen(v) >= sizeof(c->tftp_folders[0]))
                return err_set(ERR_ARG, "%s: tftp_folder: expected an "
                               "absolute path, not '%s'", where, v);
            memcpy(c->tftp_folders[c->ntftp_folders++], v, strlen(v) + 1);
            return ERR_OK;
        }
        return s_set_special(k, c, v, where);
    }
    return err_set(ERR_ARG, "%s: unknown key '%s'", where, key);
}

static int
s_role_of(FILE *f)
{
    char line[1024];
    int role = 0;

    while (fgets(line, sizeof(line), f)) {
        char *s = s_trim(line), *eq = strchr(s, '=');
        if (eq == NULL || s[0] == '#')
            continue;
        *eq = '\0';
        if (strcmp(s_trim(s), "role") == 0) {
            char *v = s_trim(eq + 1);
            role = !strcmp(v, "publisher")    ? CONFIG_PUBLISHER
                   : !strcmp(v, "subscriber") ? CONFIG_SUBSCRIBER
                                              : 0;
        }
    }
    rewind(f);
    return role;
}

int
config_load(const char *path, int role, config_t *c)
{
    FILE *f;
    char line[1024], where[300];
    int lineno = 0, rc = ERR_OK, file_role;

    f = fopen(path, "r");
    if (f == NULL)
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "cannot read configuration %s: %s", path,
                       strerror(errno));
    file_role = s_role_of(f);
    config_defaults(c, file_role ? file_role : role);
    while (rc == ERR_OK && fgets(line, sizeof(line), f)) {
        char *s, *eq, *key, *v;

        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = err_set(ERR_ARG, "%s: line longer than %zu characters",
                         where, sizeof(line) - 2);
            break;
        }
        s = s_trim(line);
        if (s[0] == '\0' || s[0] == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            rc = err_set(ERR_ARG, "%s: expected 'key = value', got '%.40s'",
                         where, s);
            break;
        }
        *eq = '\0';
        key = s_trim(s);
        v = s_trim(eq + 1);
        rc = s_set(c, key, v, where);
    }
    fclose(f);
    if (rc == ERR_OK && c->ntftp_folders == 0 && c->tftp) {
        if (strlen(c->state_dir) + 6 > sizeof(c->tftp_folders[0]))
            rc = err_set(ERR_ARG, "%s: state_dir: path too long", path);
        else
            sprintf(c->tftp_folders[c->ntftp_folders++], "%s/tftp",
                    c->state_dir);
    }
    if (rc == ERR_OK)
        rc = config_validate(c, path);
    return rc;
}

int
config_split_endpoint(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':');
    long n;

    if (colon == NULL || colon == s || (size_t)(colon - s) >= hostlen ||
        s_parse_int(colon + 1, 1, 65535, &n) < 0)
        return err_set(ERR_ARG, "'%s' is not host:port", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)n;
    return ERR_OK;
}

int
config_validate(const config_t *c, const char *path)
{
    char host[128];
    int port;

    if (c->role != CONFIG_PUBLISHER && c->role != CONFIG_SUBSCRIBER)
        return err_set(ERR_ARG, "%s: role: must be publisher or subscriber",
                       path);
    if (!protocheck_hostname(c->hostname))
        return err_set(ERR_ARG, "%s: hostname: '%s' is not a host name "
                       "(1 to %d letters, digits, '-', '_' or '.')", path,
                       c->hostname, PROTOCHECK_HOST_MAX);
    if (c->state_dir[0] != '/')
        return err_set(ERR_ARG, "%s: state_dir: expected an absolute path",
                       path);
    if (c->role == CONFIG_PUBLISHER &&
        config_split_endpoint(c->listen, host, sizeof(host), &port) < 0)
        return err_set(ERR_ARG, "%s: listen: '%s' is not host:port", path,
                       c->listen);
    if (c->role == CONFIG_SUBSCRIBER) {
        if (config_split_endpoint(c->publisher, host, sizeof(host),
                                  &port) < 0)
            return err_set(ERR_ARG, "%s: publisher: '%s' is not host:port",
                           path, c->publisher);
        if (strlen(c->publisher_key) != 40)
            return err_set(ERR_ARG, "%s: publisher_key: expected the "
                           "publisher's 40-character CURVE key (run "
                           "'itl-publisher show-key' on the publisher)",
                           path);
    }
    if (c->tftp_restart == CONFIG_RESTART_COMMAND &&
        c->tftp_restart_command[0] == '\0')
        return err_set(ERR_ARG, "%s: tftp_restart_command: required when "
                       "tftp_restart = command", path);
    if (c->heartbeat_timeout_ms <= c->heartbeat_ms)
        return err_set(ERR_ARG, "%s: heartbeat_timeout_ms: must be longer "
                       "than heartbeat_ms (%d)", path, c->heartbeat_ms);
    return ERR_OK;
}

void
config_state_path(const config_t *c, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", c->state_dir, name);
}

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itl.h"
#include "log.h"
#include "protocheck.h"

enum kind {
    K_STR,
    K_INT,
    K_BOOL,
    K_ROLE,
    K_FOLDER,
    K_RESTART,
    K_DIGEST,
    K_LEVEL,
    K_GROUP
};

typedef struct {
    const char *key;
    int kind;
    size_t offset;
    size_t size; /* string capacity, or int bounds below */
    long min, max;
} key_t_;

#define STR(k, f)                                                              \
    {                                                                          \
        k, K_STR, offsetof(config_t, f), sizeof(((config_t *)0)->f), 0, 0      \
    }
#define INT(k, f, lo, hi)                                                      \
    {                                                                          \
        k, K_INT, offsetof(config_t, f), 0, lo, hi                             \
    }
#define SPECIAL(k, kind, f)                                                    \
    {                                                                          \
        k, kind, offsetof(config_t, f), 0, 0, 0                                \
    }

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

#define NKEYS (sizeof(s_keys) / sizeof(s_keys[0]))
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

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
                           "not '%s'",
                           where, v);
        break;
    case K_RESTART:
        n = !strcmp(v, "supervise") ? CONFIG_RESTART_SUPERVISE
            : !strcmp(v, "command") ? CONFIG_RESTART_COMMAND
            : !strcmp(v, "none")    ? CONFIG_RESTART_NONE
                                    : -1;
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: tftp_restart: expected supervise, command "
                           "or none, not '%s'",
                           where, v);
        break;
    case K_DIGEST:
        n = !strcmp(v, "sha1")     ? ITL_DIGEST_SHA1
            : !strcmp(v, "sha256") ? ITL_DIGEST_SHA256
            : !strcmp(v, "sha512") ? ITL_DIGEST_SHA512
                                   : -1;
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: digest: expected sha1, sha256 or sha512, "
                           "not '%s'",
                           where, v);
        break;
    case K_LEVEL:
        n = log_level_parse(v);
        if (n < 0)
            return err_set(ERR_ARG,
                           "%s: log_level: expected err, warning, notice, "
                           "info or debug, not '%s'",
                           where, v);
        break;
    case K_GROUP: {
        struct group *g = getgrnam(v);
        if (g == NULL)
            return err_set(ERR_ARG, "%s: admin_group: no group '%s'", where, v);
        n = (int)g->gr_gid;
        break;
    }
    }
    *ip = n;
    return ERR_OK;
}

static int
s_set(config_t *c, const char *key, const char *v, const char *where,
      int lineno)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const key_t_ *k = &s_keys[i];
        char *field = (char *)c + k->offset;
        long n;

        if (strcmp(k->key, key) != 0)
            continue;
        c->key_line[i] = lineno; /* a repeated key: its last line */
        if (k->kind == K_STR) {
            if (strlen(v) >= k->size)
                return err_set(ERR_ARG,
                               "%s: %s: value longer than %zu "
                               "characters",
                               where, key, k->size - 1);
            memcpy(field, v, strlen(v) + 1);
            return ERR_OK;
        }
        if (k->kind == K_INT) {
            if (s_parse_int(v, k->min, k->max, &n) < 0)
                return err_set(ERR_ARG,
                               "%s: %s: expected a whole number "
                               "from %ld to %ld, not '%s'",
                               where, key, k->min, k->max, v);
            *(int *)field = (int)n;
            return ERR_OK;
        }
        if (k->kind == K_FOLDER) {
            if (c->ntftp_folders == CONFIG_MAX_FOLDERS)
                return err_set(ERR_ARG,
                               "%s: tftp_folder: at most %d "
                               "folders",
                               where, CONFIG_MAX_FOLDERS);
            if (v[0] != '/' || strlen(v) >= sizeof(c->tftp_folders[0]))
                return err_set(ERR_ARG,
                               "%s: tftp_folder: expected an "
                               "absolute path, not '%s'",
                               where, v);
            memcpy(c->tftp_folders[c->ntftp_folders++], v, strlen(v) + 1);
            return ERR_OK;
        }
        return s_set_special(k, c, v, where);
    }
    return err_set(ERR_ARG, "%s: unknown key '%s'", where, key);
}

/* The role the file names (0 if none) and the line that names it. */
static int
s_role_of(FILE *f, int *at)
{
    char line[1024];
    int role = 0, lineno = 0;

    while (fgets(line, sizeof(line), f)) {
        char *s = s_trim(line), *eq = strchr(s, '=');
        lineno++;
        if (eq == NULL || s[0] == '#')
            continue;
        *eq = '\0';
        if (strcmp(s_trim(s), "role") == 0) {
            char *v = s_trim(eq + 1);
            role = !strcmp(v, "publisher")    ? CONFIG_PUBLISHER
                   : !strcmp(v, "subscriber") ? CONFIG_SUBSCRIBER
                                              : 0;
            *at = lineno;
        }
    }
    rewind(f);
    return role;
}

static const char *
s_role_name(int role)
{
    return role == CONFIG_PUBLISHER ? "publisher" : "subscriber";
}

static int
s_load(const char *path, int role, int strict, config_t *c)
{
    FILE *f;
    char line[1024], where[300];
    int lineno = 0, rc = ERR_OK, file_role, role_line = 0;

    f = fopen(path, "r");
    if (f == NULL)
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "cannot read configuration %s: %s", path,
                       strerror(errno));
    file_role = s_role_of(f, &role_line);
    if (strict && file_role != 0 && file_role != role) {
        fclose(f);
        return err_set(ERR_ARG,
                       "%s:%d: role: this file configures a %s, not a %s", path,
                       role_line, s_role_name(file_role), s_role_name(role));
    }
    config_defaults(c, file_role ? file_role : role);
    while (rc == ERR_OK && fgets(line, sizeof(line), f)) {
        char *s, *eq, *key, *v;

        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = err_set(ERR_ARG, "%s: line longer than %zu characters", where,
                         sizeof(line) - 2);
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
        rc = s_set(c, key, v, where, lineno);
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
config_load(const char *path, int role, config_t *c)
{
    return s_load(path, role, 0, c);
}

int
config_load_role(const char *path, int role, config_t *c)
{
    return s_load(path, role, 1, c);
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

/* Line of key in c, 0 when it was not set. */
static int
s_line(const config_t *c, const char *key)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(s_keys[i].key, key) == 0)
            return c->key_line[i];
    }
    return 0;
}

/* ERR_ARG "path:LINE: key: ..." or "path: key: not set; ...". */
static int __attribute__((format(printf, 4, 5)))
s_bad(const char *path, int line, const char *key, const char *fmt, ...)
{
    char what[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (line > 0)
        return err_set(ERR_ARG, "%s:%d: %s: %s", path, line, key, what);
    return err_set(ERR_ARG, "%s: %s: not set; %s", path, key, what);
}

#define BAD(key, ...) s_bad(path, s_line(c, key), key, __VA_ARGS__)

static int
s_numeric(const char *a, int v6_too)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, a, buf) == 1 ||
           (v6_too && inet_pton(AF_INET6, a, buf) == 1);
}

/* A DNS name: labels of letters, digits and '-', up to 253 in all. */
static int
s_dns_name(const char *h)
{
    size_t n = strlen(h), label = 0;

    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (h[i] == '.' || h[i] == '\0') {
            if (label == 0 || label > 63 || h[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)h[i]) || (h[i] == '-' && label)) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int
s_check_endpoints(const config_t *c, const char *path)
{
    char host[128];
    int port;

    if (c->role == CONFIG_PUBLISHER) {
        if (config_split_endpoint(c->listen, host, sizeof(host), &port) < 0)
            return BAD("listen", "'%s' is not host:port", c->listen);
        if (strcmp(host, "*") != 0 && !s_numeric(host, 0))
            return BAD("listen",
                       "'%s' is not a numeric IPv4 address or '*' (host "
                       "names and IPv6 are not supported here)",
                       host);
        return ERR_OK;
    }
    if (config_split_endpoint(c->publisher, host, sizeof(host), &port) < 0)
        return BAD("publisher", "'%s' is not host:port", c->publisher);
    if (!s_numeric(host, 0) && !s_dns_name(host))
        return BAD("publisher",
                   "'%s' is neither a host name nor a numeric IPv4 "
                   "address",
                   host);
    if (strlen(c->publisher_key) != 40)
        return BAD("publisher_key",
                   "expected the publisher's 40-character CURVE key (run "
                   "'itl-publisher show-key' on the publisher)");
    return ERR_OK;
}

/* The folder of file (or "/"), which must exist. */
static int
s_parent_exists(const char *file, char *dir, size_t len)
{
    const char *slash = strrchr(file, '/');
    struct stat st;
    size_t n = slash == NULL || slash == file ? 1 : (size_t)(slash - file);

    snprintf(dir, len, "%.*s", (int)n, slash == NULL ? "." : file);
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
s_check_service(const config_t *c, const char *path)
{
    struct stat st;
    char dir[PATH_MAX];

    if (c->tftp_address[0] != '\0' && !s_numeric(c->tftp_address, 1))
        return BAD("tftp_address", "'%s' is not a numeric IPv4 or IPv6 address",
                   c->tftp_address);
    if (c->tvs_address[0] != '\0' && !s_numeric(c->tvs_address, 1))
        return BAD("tvs_address", "'%s' is not a numeric IPv4 or IPv6 address",
                   c->tvs_address);
    if (c->tftp && c->tftp_restart == CONFIG_RESTART_SUPERVISE &&
        (stat(c->tftpd, &st) != 0 || !S_ISREG(st.st_mode) ||
         access(c->tftpd, X_OK) != 0))
        return BAD("tftpd",
                   "%s is not an executable file (the TFTP server this "
                   "node runs when tftp_restart = supervise)",
                   c->tftpd);
    if (c->tftp_user[0] != '\0' && getpwnam(c->tftp_user) == NULL)
        return BAD("tftp_user", "no user '%s' on this system", c->tftp_user);
    if (c->admin_socket[0] != '\0' &&
        !s_parent_exists(c->admin_socket, dir, sizeof(dir)))
        return BAD("admin_socket",
                   "the folder %s does not exist (the agent makes only the "
                   "socket in it)",
                   dir);
    if (c->tftp_restart == CONFIG_RESTART_COMMAND &&
        c->tftp_restart_command[0] == '\0')
        return BAD("tftp_restart_command",
                   "required when tftp_restart = command");
    return ERR_OK;
}

int
config_validate(const config_t *c, const char *path)
{
    int rc;

    if (c->role != CONFIG_PUBLISHER && c->role != CONFIG_SUBSCRIBER)
        return BAD("role", "must be publisher or subscriber");
    if (!protocheck_hostname(c->hostname))
        return BAD("hostname",
                   "'%s' is not a host name (1 to %d letters, digits, '-', "
                   "'_' or '.')",
                   c->hostname, PROTOCHECK_HOST_MAX);
    if (c->state_dir[0] != '/')
        return BAD("state_dir", "expected an absolute path, not '%s'",
                   c->state_dir);
    rc = s_check_endpoints(c, path);
    if (rc == ERR_OK)
        rc = s_check_service(c, path);
    if (rc != ERR_OK)
        return rc;
    if (c->heartbeat_timeout_ms <= c->heartbeat_ms)
        return BAD("heartbeat_timeout_ms",
                   "must be longer than heartbeat_ms (%d)", c->heartbeat_ms);
    return ERR_OK;
}

void
config_state_path(const config_t *c, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", c->state_dir, name);
}

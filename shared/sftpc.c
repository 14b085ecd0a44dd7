#include "sftpc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

/* Reads and writes go in pieces no larger than this. */
#define CHUNK 16384

/*
 * A whole transfer may take this many times the timeout: libssh bounds
 * the connection and the log-in by the timeout, but waits forever for an
 * SFTP answer, so a watchdog shuts the socket down when this runs out.
 */
#define WATCHDOG_FACTOR 3

typedef struct {
    ssh_session ssh;
    sftp_session sftp;
    char target[300]; /* HOST:PORT, for messages */
    int timeout_s;
    /* watchdog */
    pthread_t thread;
    int running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int fired;
    socket_t fd;
} s_conn_t;

int
sftpc_parse_target(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon, *h = s;
    size_t n;
    char *end;
    long v;

    *port = SFTPC_DEFAULT_PORT;
    if (s == NULL || s[0] == '\0')
        return err_set(ERR_ARG, "no SFTP server given");
    if (s[0] == '[') {
        colon = strchr(s, ']');
        if (colon == NULL)
            return err_set(ERR_ARG, "'%.100s': missing ']'", s);
        h = s + 1;
        n = (size_t)(colon - h);
        colon = colon[1] == ':' ? colon + 1 : NULL;
    } else {
        colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            colon = NULL; /* a bare IPv6 address */
        n = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (n == 0 || n >= hostlen)
        return err_set(ERR_ARG, "'%.100s': bad SFTP server name", s);
    memcpy(host, h, n);
    host[n] = '\0';
    if (colon == NULL)
        return ERR_OK;
    errno = 0;
    v = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || v < 1 || v > 65535)
        return err_set(ERR_ARG, "'%.100s': the port must be 1 to 65535", s);
    *port = (int)v;
    return ERR_OK;
}

/* ---- watchdog ---------------------------------------------------------- */

static void *
s_watch(void *arg)
{
    s_conn_t *c = arg;
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)c->timeout_s * WATCHDOG_FACTOR;
    pthread_mutex_lock(&c->lock);
    while (!c->done) {
        if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT) {
            /* Wakes libssh's poll with an error instead of a hang. */
            c->fired = 1;
            shutdown(c->fd, SHUT_RDWR);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void
s_watch_start(s_conn_t *c)
{
    c->fd = ssh_get_fd(c->ssh);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->running = pthread_create(&c->thread, NULL, s_watch, c) == 0;
}

static void
s_watch_stop(s_conn_t *c)
{
    if (!c->running)
        return;
    pthread_mutex_lock(&c->lock);
    c->done = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    c->running = 0;
}

/* ---- errors ------------------------------------------------------------ */

static int
s_ssh_fail(s_conn_t *c, const char *doing)
{
    const char *e = ssh_get_error(c->ssh);

    if (c->fired)
        return err_set(ERR_TIMEOUT,
                       "the SFTP server %s stopped answering while %s "
                       "(no progress within %d s)",
                       c->target, doing, c->timeout_s * WATCHDOG_FACTOR);
    if (e != NULL && strstr(e, "imeout") != NULL)
        return err_set(ERR_TIMEOUT,
                       "the SFTP server %s did not answer within %d s "
                       "while %s",
                       c->target, c->timeout_s, doing);
    return err_set(ERR_NET, "SFTP server %s: failed while %s: %.200s",
                   c->target, doing, e && *e ? e : "connection lost");
}

/* An SFTP request failed: says why, naming the remote path. */
static int
s_sftp_fail(s_conn_t *c, const char *doing, const char *path)
{
    int code = c->sftp ? sftp_get_error(c->sftp) : SSH_FX_OK;

    switch (code) {
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
        return err_set(ERR_NOTFOUND,
                       "SFTP server %s: no such file or "
                       "folder: %.200s",
                       c->target, path);
    case SSH_FX_PERMISSION_DENIED:
    case SSH_FX_WRITE_PROTECT:
        return err_set(ERR_PERM,
                       "SFTP server %s: permission denied %s "
                       "%.200s",
                       c->target, doing, path);
    case SSH_FX_OK:
    case SSH_FX_NO_CONNECTION:
    case SSH_FX_CONNECTION_LOST:
        return s_ssh_fail(c, doing);
    default:
        return err_set(ERR_PROTO,
                       "SFTP server %s: failed %s %.200s "
                       "(SFTP status %d: %.200s)",
                       c->target, doing, path, code, ssh_get_error(c->ssh));
    }
}

/* ---- host key ---------------------------------------------------------- */

static int
s_host_key(s_conn_t *c, const sftpc_opts_t *o)
{
    ssh_key key = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;
    const char *type;
    enum ssh_known_hosts_e state;
    int rc = ERR_OK;

    if (ssh_get_server_publickey(c->ssh, &key) != SSH_OK ||
        ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) !=
            0 ||
        (fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
                                       hlen)) == NULL) {
        rc = err_set(ERR_PROTO,
                     "SFTP server %s: cannot read its host key: "
                     "%.200s",
                     c->target, ssh_get_error(c->ssh));
        goto out;
    }
    type = ssh_key_type_to_char(ssh_key_type(key));
    state = ssh_session_is_known_server(c->ssh);
    switch (state) {
    case SSH_KNOWN_HOSTS_OK:
        break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        rc = err_set(ERR_UNTRUSTED,
                     "HOST KEY CHANGED: the SFTP server %s shows %s key "
                     "%s, which does not match the key recorded for it in "
                     "%s. Someone may be impersonating the server. If its "
                     "key was replaced on purpose, delete its line from %s "
                     "and try again.",
                     c->target, type ? type : "a", fp, o->known_hosts,
                     o->known_hosts);
        break;
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
        if (!o->accept_new &&
            (o->confirm == NULL ||
             !o->confirm(o->confirm_arg, c->target, type ? type : "?", fp))) {
            rc = err_set(ERR_UNTRUSTED,
                         "the host key of the SFTP server %s (%s) was not "
                         "accepted; nothing was transferred",
                         c->target, fp);
            break;
        }
        if (ssh_session_update_known_hosts(c->ssh) != SSH_OK)
            rc = err_set(ERR_IO,
                         "cannot record the host key of %s in %s: "
                         "%.200s",
                         c->target, o->known_hosts, ssh_get_error(c->ssh));
        break;
    default:
        rc = err_set(ERR_IO,
                     "cannot check the host key of %s against %s: "
                     "%.200s",
                     c->target, o->known_hosts, ssh_get_error(c->ssh));
    }
out:
    ssh_string_free_char(fp);
    ssh_clean_pubkey_hash(&hash);
    ssh_key_free(key);
    return rc;
}

/* ---- authentication ---------------------------------------------------- */

static void
s_methods(int m, char *buf, size_t len)
{
    static const struct {
        int bit;
        const char *name;
    } names[] = {{SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
                 {SSH_AUTH_METHOD_PASSWORD, "password"},
                 {SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
                 {SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
                 {SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"}};
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((m & names[i].bit) && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                     used ? ", " : "", names[i].name);
    }
    if (buf[0] == '\0')
        snprintf(buf, len, "none");
}

/* Answers every hidden prompt with the password; fails on other ones. */
static int
s_kbdint(s_conn_t *c, const char *password)
{
    int rc = ssh_userauth_kbdint(c->ssh, NULL, NULL);

    for (int round = 0; rc == SSH_AUTH_INFO && round < 8; round++) {
        int n = ssh_userauth_kbdint_getnprompts(c->ssh);

        for (int i = 0; i < n; i++) {
            char echo = 0;
            const char *q =
                ssh_userauth_kbdint_getprompt(c->ssh, (unsigned)i, &echo);
            if (echo)
                return err_set(ERR_REFUSED,
                               "SFTP server %s asks '%.80s' during "
                               "keyboard-interactive log-in; only password "
                               "prompts can be answered",
                               c->target, q ? q : "");
            if (ssh_userauth_kbdint_setanswer(c->ssh, (unsigned)i, password) <
                0)
                return s_ssh_fail(c, "logging in");
        }
        rc = ssh_userauth_kbdint(c->ssh, NULL, NULL);
    }
    return rc;
}

static int
s_auth(s_conn_t *c, const sftpc_opts_t *o)
{
    char offered[160];
    const char *how;
    int rc, methods;

    rc = ssh_userauth_none(c->ssh, NULL);
    if (rc == SSH_AUTH_SUCCESS)
        return ERR_OK;
    if (rc == SSH_AUTH_ERROR)
        return s_ssh_fail(c, "logging in");
    methods = ssh_userauth_list(c->ssh, NULL);
    if (methods & SSH_AUTH_METHOD_PASSWORD) {
        how = "password";
        rc = ssh_userauth_password(c->ssh, NULL, o->password);
    } else if (methods & SSH_AUTH_METHOD_INTERACTIVE) {
        how = "keyboard-interactive";
        rc = s_kbdint(c, o->password);
        if (rc < SSH_AUTH_ERROR)
            return rc; /* our own error, already set */
    } else {
        s_methods(methods, offered, sizeof(offered));
        return err_set(ERR_REFUSED,
                       "SFTP server %s offers no log-in method this tool "
                       "can use: it offers %s; tried password and "
                       "keyboard-interactive",
                       c->target, offered);
    }
    if (rc == SSH_AUTH_SUCCESS)
        return ERR_OK;
    if (rc == SSH_AUTH_ERROR)
        return s_ssh_fail(c, "logging in");
    return err_set(ERR_PASSWORD,
                   "SFTP server %s refused the password of user '%.64s' "
                   "(%s log-in)",
                   c->target, o->user, how);
}

/* ---- connection -------------------------------------------------------- */

static int
s_options(s_conn_t *c, const sftpc_opts_t *o)
{
    unsigned int port = (unsigned int)(o->port ? o->port : SFTPC_DEFAULT_PORT);
    long timeout = c->timeout_s;
    bool no = false;
    int quiet = SSH_LOG_NOLOG;

    if (ssh_options_set(c->ssh, SSH_OPTIONS_HOST, o->host) < 0 ||
        ssh_options_set(c->ssh, SSH_OPTIONS_PORT, &port) < 0 ||
        ssh_options_set(c->ssh, SSH_OPTIONS_USER, o->user) < 0 ||
        ssh_options_set(c->ssh, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
        ssh_options_set(c->ssh, SSH_OPTIONS_LOG_VERBOSITY, &quiet) < 0 ||
        ssh_options_set(c->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
        ssh_options_set(c->ssh, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts) < 0 ||
        /* Only our file decides, not /etc/ssh/ssh_known_hosts. */
        ssh_options_set(c->ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, o->known_hosts) <
            0)
        return err_set(ERR_ARG,
                       "SFTP server %s: bad connection option: "
                       "%.200s",
                       c->target, ssh_get_error(c->ssh));
    return ERR_OK;
}

static void
s_close(s_conn_t *c)
{
    s_watch_stop(c);
    if (c->sftp != NULL)
        sftp_free(c->sftp);
    if (c->ssh != NULL) {
        if (ssh_is_connected(c->ssh))
            ssh_disconnect(c->ssh);
        ssh_free(c->ssh);
    }
    c->sftp = NULL;
    c->ssh = NULL;
}

static int
s_open(s_conn_t *c, const sftpc_opts_t *o)
{
    int rc;

    memset(c, 0, sizeof(*c));
    c->timeout_s = o->timeout_s > 0 ? o->timeout_s : SFTPC_DEFAULT_TIMEOUT;
    if (o->host == NULL || o->user == NULL || o->user[0] == '\0' ||
        o->password == NULL || o->known_hosts == NULL)
        return err_set(ERR_ARG, "SFTP: host, user, password and "
                                "known-hosts file are all needed");
    snprintf(c->target, sizeof(c->target),
             strchr(o->host, ':') ? "[%.250s]:%d" : "%.250s:%d", o->host,
             o->port ? o->port : SFTPC_DEFAULT_PORT);
    c->ssh = ssh_new();
    if (c->ssh == NULL)
        return err_set(ERR_NOMEM, "out of memory starting an SSH session");
    rc = s_options(c, o);
    if (rc != ERR_OK)
        return rc;
    if (ssh_connect(c->ssh) != SSH_OK)
        return s_ssh_fail(c, "connecting");
    s_watch_start(c);
    rc = s_host_key(c, o);
    if (rc == ERR_OK)
        rc = s_auth(c, o);
    if (rc != ERR_OK)
        return rc;
    c->sftp = sftp_new(c->ssh);
    if (c->sftp == NULL)
        return s_ssh_fail(c, "opening the SFTP channel");
    if (sftp_init(c->sftp) != SSH_OK)
        return err_set(ERR_PROTO,
                       "SFTP server %s: the SFTP subsystem "
                       "does not start (status %d): %.200s",
                       c->target, sftp_get_error(c->sftp),
                       ssh_get_error(c->ssh));
    return ERR_OK;
}

/* ---- download ---------------------------------------------------------- */

/* Finds the file to read: path itself, or path/ITLRecovery.p12. */
static int
s_resolve(s_conn_t *c, const char *path, size_t max, char *out, size_t outlen,
          uint64_t *size)
{
    sftp_attributes a = sftp_stat(c->sftp, path);

    if (a == NULL)
        return s_sftp_fail(c, "reading", path);
    if (a->type == SSH_FILEXFER_TYPE_DIRECTORY) {
        sftp_attributes_free(a);
        snprintf(out, outlen, "%s%s%s", path,
                 path[strlen(path) - 1] == '/' ? "" : "/", SFTPC_KEY_FILE);
        a = sftp_stat(c->sftp, out);
        if (a == NULL)
            return s_sftp_fail(c, "reading", out);
    } else {
        snprintf(out, outlen, "%s", path);
    }
    if (a->type != SSH_FILEXFER_TYPE_REGULAR) {
        sftp_attributes_free(a);
        return err_set(ERR_FORMAT,
                       "SFTP server %s: %.200s is not a "
                       "regular file",
                       c->target, out);
    }
    *size = a->size;
    sftp_attributes_free(a);
    if (*size > max)
        return err_set(ERR_TOOBIG,
                       "SFTP server %s: %.200s is %llu bytes, "
                       "over the limit of %zu for a key file",
                       c->target, out, (unsigned long long)*size, max);
    return ERR_OK;
}

static int
s_read_all(s_conn_t *c, const char *path, size_t max, uint8_t **buf,
           size_t *len)
{
    sftp_file f = sftp_open(c->sftp, path, O_RDONLY, 0);
    uint8_t *b = NULL;
    size_t used = 0;
    int rc = ERR_OK;

    if (f == NULL)
        return s_sftp_fail(c, "reading", path);
    b = malloc(max + 1);
    if (b == NULL) {
        rc = err_set(ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        size_t want = max + 1 - used < CHUNK ? max + 1 - used : CHUNK;
        ssize_t n = sftp_read(f, b + used, want);
        if (n < 0) {
            rc = s_sftp_fail(c, "reading", path);
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            rc = err_set(ERR_TOOBIG,
                         "SFTP server %s: %.200s is over the "
                         "limit of %zu bytes for a key file",
                         c->target, path, max);
            goto out;
        }
    }
    *buf = b;
    *len = used;
    b = NULL;
out:
    free(b);
    sftp_close(f);
    return rc;
}

int
sftpc_download(const sftpc_opts_t *o, const char *path, size_t max,
               uint8_t **buf, size_t *len, char *remote, size_t remotelen)
{
    s_conn_t c;
    char file[1024];
    uint64_t size = 0;
    int rc;

    *buf = NULL;
    *len = 0;
    if (path == NULL || path[0] == '\0')
        return err_set(ERR_ARG, "no remote path given");
    rc = s_open(&c, o);
    if (rc == ERR_OK)
        rc = s_resolve(&c, path, max, file, sizeof(file), &size);
    if (rc == ERR_OK)
        rc = s_read_all(&c, file, max, buf, len);
    if (rc == ERR_OK && remote != NULL)
        snprintf(remote, remotelen, "%s", file);
    s_close(&c);
    return rc;
}

/* ---- upload ------------------------------------------------------------ */

static int
s_write_all(s_conn_t *c, const char *path, const uint8_t *buf, size_t len,
            size_t *sent)
{
    sftp_file f = sftp_open(c->sftp, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = ERR_OK;

    *sent = 0;
    if (f == NULL)
        return s_sftp_fail(c, "writing", path);
    while (*sent < len) {
        size_t want = len - *sent < CHUNK ? len - *sent : CHUNK;
        ssize_t n = sftp_write(f, buf + *sent, want);
        if (n <= 0) {
            rc = s_sftp_fail(c, "writing", path);
            break;
        }
        *sent += (size_t)n;
    }
    if (sftp_close(f) != SSH_NO_ERROR && rc == ERR_OK)
        rc = s_sftp_fail(c, "closing", path);
    return rc;
}

/*
 * Renames part over final. SFTP version 3 (OpenSSH) refuses to rename
 * over an existing file, so an existing final is removed first; a failure
 * between the two steps leaves the complete copy as part.
 */
static int
s_replace(s_conn_t *c, const char *part, const char *final)
{
    if (sftp_rename(c->sftp, part, final) == 0)
        return ERR_OK;
    if (sftp_unlink(c->sftp, final) < 0 &&
        sftp_get_error(c->sftp) != SSH_FX_NO_SUCH_FILE)
        return s_sftp_fail(c, "replacing", final);
    if (sftp_rename(c->sftp, part, final) < 0)
        return s_sftp_fail(c, "renaming to", final);
    return ERR_OK;
}

static int
s_check_size(s_conn_t *c, const char *path, size_t len)
{
    sftp_attributes a = sftp_stat(c->sftp, path);
    uint64_t size;

    if (a == NULL)
        return s_sftp_fail(c, "checking", path);
    size = a->size;
    sftp_attributes_free(a);
    if (size != len)
        return err_set(ERR_IO,
                       "SFTP server %s: %.200s holds %llu bytes "
                       "after the upload, not %zu",
                       c->target, path, (unsigned long long)size, len);
    return ERR_OK;
}

int
sftpc_upload(const sftpc_opts_t *o, const char *dir, const char *name,
             const uint8_t *buf, size_t len, size_t *sent, char *remote,
             size_t remotelen)
{
    s_conn_t c;
    char final[1024], part[1040];
    size_t n = 0;
    int rc;

    if (dir == NULL || dir[0] == '\0' || name == NULL || name[0] == '\0')
        return err_set(ERR_ARG, "no remote folder given");
    snprintf(final, sizeof(final), "%s%s%s", dir,
             dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    snprintf(part, sizeof(part), "%s.part", final);
    rc = s_open(&c, o);
    if (rc == ERR_OK)
        rc = s_write_all(&c, part, buf, len, &n);
    if (rc == ERR_OK)
        rc = s_replace(&c, part, final);
    if (rc == ERR_OK)
        rc = s_check_size(&c, final, len);
    if (rc != ERR_OK && c.sftp != NULL && n > 0)
        (void)sftp_unlink(c.sftp, part);
    if (sent != NULL)
        *sent = rc == ERR_OK ? n : 0;
    if (rc == ERR_OK && remote != NULL)
        snprintf(remote, remotelen, "%s", final);
    s_close(&c);
    return rc;
}

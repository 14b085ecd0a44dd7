/*
 * The recovery key file's commands: `file get tftp ITLRecovery.p12` (copy
 * it to an SFTP server), `utils itl reset remotekey` (fetch a saved copy
 * and reset with it) and `set password cluster`.
 *
 * itl-admin does the SFTP transfer itself, because it can ask the operator
 * (passwords, an unknown host key) and the agent must not block on a
 * network peer. The agent owns the state folder: it hands over the key
 * file, records the backup, opens a fetched key, runs the reset and only
 * then installs the fetched file. See docs/KEY-BACKUP.md.
 *
 * With --password-stdin every answer comes from standard input, one line
 * each, in the order the questions are asked (host-key question included).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "adminsock.h"
#include "clusterpw.h"
#include "cmd_cert.h"
#include "commands.h"
#include "prompt.h"
#include "sftpc.h"

#define AGENT_TIMEOUT_MS 120000
/* Under the admin socket's message limit, far over any real key file. */
#define KEY_MAX 60000

typedef struct {
    const char *socket, *config, *known_hosts, *state;
    const char *host_arg, *user, *dir, *port_arg;
    int password_stdin, accept_new, timeout;
    char *pos[4];
    int npos;
} s_opts_t;

static int
s_parse(const char *words, int argc, char **argv, s_opts_t *o)
{
    static const struct option longs[] = {
        {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"known-hosts", required_argument, NULL, 'k'},
        {"state", required_argument, NULL, 'S'},
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'P'},
        {"user", required_argument, NULL, 'u'},
        {"dir", required_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 't'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"accept-new-host-key", no_argument, NULL, 'a'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            o->socket = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'k':
            o->known_hosts = optarg;
            break;
        case 'S':
            o->state = optarg;
            break;
        case 'h':
            o->host_arg = optarg;
            break;
        case 'P':
            o->port_arg = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 't':
            o->timeout = atoi(optarg);
            break;
        case 'p':
            o->password_stdin = 1;
            break;
        case 'a':
            o->accept_new = 1;
            break;
        default:
            return cmd_usage(words);
        }
    }
    for (; optind < argc; optind++) {
        if (o->npos == 4)
            return cmd_usage(words);
        o->pos[o->npos++] = argv[optind];
    }
    return 0;
}

/* Reads one answer: from stdin in script mode, else from the terminal. */
static int
s_ask(const char *prompt, int from_stdin, char *buf, size_t len)
{
    FILE *tty = from_stdin ? NULL : fopen("/dev/tty", "r+");
    FILE *in = tty ? tty : stdin, *out = tty ? tty : stderr;
    int rc = 0;

    fprintf(out, "%s", prompt);
    fflush(out);
    if (fgets(buf, (int)len, in) == NULL)
        rc = -1;
    else
        buf[strcspn(buf, "\r\n")] = '\0';
    if (!tty)
        fputc('\n', out);
    if (tty)
        fclose(tty);
    return rc;
}

static int
s_confirm(void *arg, const char *target, const char *keytype,
          const char *fingerprint)
{
    const s_opts_t *o = arg;
    char line[32] = "";

    fprintf(stderr,
            "The SFTP server %s is not in the known hosts yet.\n"
            "Its %s host key fingerprint is %s.\n",
            target, keytype, fingerprint);
    if (s_ask("Trust this key and continue (yes/no)? ", o->password_stdin, line,
              sizeof(line)) < 0)
        return 0;
    return strcasecmp(line, "yes") == 0 || strcasecmp(line, "y") == 0;
}

static int
s_agent(const s_opts_t *o, char *sock, size_t len, char *role, size_t rolelen)
{
    char *q[] = {"role"};

    if (cmd_agent_socket(o->socket, o->config, sock, len) < 0)
        return CMD_EXIT_ERROR;
    role[0] = '\0';
    return adminsock_query(sock, 1, q, NULL, 0, 10000, role, rolelen);
}

/* The known-hosts file: --known-hosts, else STATE/sftp_known_hosts. */
static int
s_known_hosts(const s_opts_t *o, const char *sock, char *buf, size_t len)
{
    char state[300] = "";
    char *q[] = {"state-dir"};
    int rc;

    if (o->known_hosts != NULL) {
        snprintf(buf, len, "%s", o->known_hosts);
        return 0;
    }
    rc = adminsock_query(sock, 1, q, NULL, 0, 10000, state, sizeof(state));
    if (rc != 0 || state[0] == '\0')
        return rc ? rc : CMD_EXIT_ERROR;
    snprintf(buf, len, "%s/sftp_known_hosts", state);
    return 0;
}

static int
s_fail(int rc)
{
    fprintf(stderr, "itl-admin: %s\n", err_detail());
    return rc == ERR_UNTRUSTED ? CMD_EXIT_NO : CMD_EXIT_ERROR;
}

/* ---- utils itl reset remotekey ---------------------------------------- */

static int
s_fetch(const s_opts_t *o, sftpc_opts_t *so, const char *path, uint8_t **buf,
        size_t *len, char *from, size_t fromlen)
{
    char remote[1024];
    int rc;

    rc = sftpc_download(so, path, KEY_MAX, buf, len, remote, sizeof(remote));
    if (rc != ERR_OK) {
        rc = s_fail(rc);
        fprintf(stderr, "Nothing was changed.\n");
        return rc;
    }
    snprintf(from, fromlen, "%s@%s:%d:%s", so->user, so->host, so->port,
             remote);
    printf("Downloaded %s (%zu bytes).\n", from, *len);
    fflush(stdout);
    (void)o;
    return 0;
}

int
cmd_reset_remotekey(int argc, char **argv)
{
    static const char *words = "utils itl reset remotekey";
    char sock[300], role[32], kh[600], host[256], sftppw[256] = "",
                                                  adminpw[256] = "", from[1400];
    char *v[] = {"utils", "itl", "reset", "remotekey", from};
    sftpc_opts_t so = {0};
    s_opts_t o;
    uint8_t *key = NULL;
    size_t keylen = 0;
    int rc;

    if ((rc = s_parse(words, argc, argv, &o)) != 0)
        return rc;
    if (o.npos != 3)
        return cmd_usage(words);
    if ((rc = s_agent(&o, sock, sizeof(sock), role, sizeof(role))) != 0)
        return rc;
    if (strcmp(role, "publisher") != 0) {
        fprintf(stderr, "This is not a publisher node\n");
        return CMD_EXIT_NO;
    }
    if (sftpc_parse_target(o.pos[0], host, sizeof(host), &so.port) != ERR_OK)
        return s_fail(ERR_ARG);
    if ((rc = s_known_hosts(&o, sock, kh, sizeof(kh))) != 0)
        return rc;
    rc = CMD_EXIT_ERROR;
    if (prompt_password("Enter Sftp password :", o.password_stdin, sftppw,
                        sizeof(sftppw)) != ERR_OK ||
        prompt_password("Enter administrator password: ", o.password_stdin,
                        adminpw, sizeof(adminpw)) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        goto out;
    }
    so = (sftpc_opts_t){host,         so.port,   o.pos[1],  sftppw, kh,
                        o.accept_new, o.timeout, s_confirm, &o};
    rc = s_fetch(&o, &so, o.pos[2], &key, &keylen, from, sizeof(from));
    if (rc == 0)
        rc = adminsock_exchange(sock, 5, v, adminpw, key, keylen, NULL, NULL,
                                AGENT_TIMEOUT_MS);
out:
    OPENSSL_cleanse(sftppw, sizeof(sftppw));
    OPENSSL_cleanse(adminpw, sizeof(adminpw));
    if (key != NULL)
        OPENSSL_cleanse(key, keylen);
    free(key);
    return rc;
}

/* ---- file get tftp ITLRecovery.p12 ------------------------------------ */

static int
s_port(const char *s, int *port)
{
    char *end;
    long p;

    if (s[0] == '\0')
        return ERR_OK; /* the default stays */
    p = strtol(s, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        return err_set(ERR_ARG, "'%.40s': the port must be 1 to 65535", s);
    *port = (int)p;
    return ERR_OK;
}

/* Asks for every destination detail the options did not give. */
static int
s_destination(s_opts_t *o, char host[256], int *port, char user[128],
              char dir[512], char *password, size_t pwlen)
{
    char line[600];
    int had_port;

    if (o->host_arg != NULL)
        snprintf(line, sizeof(line), "%s", o->host_arg);
    else if (s_ask("SFTP server: ", o->password_stdin, line, sizeof(line)) < 0)
        return err_set(ERR_ARG, "no SFTP server given");
    had_port = strchr(line, ':') != NULL;
    if (sftpc_parse_target(line, host, 256, port) != ERR_OK)
        return ERR_ARG;
    if (o->port_arg != NULL) {
        if (s_port(o->port_arg, port) != ERR_OK)
            return ERR_ARG;
    } else if (!had_port) {
        if (s_ask("SFTP port [22]: ", o->password_stdin, line, sizeof(line)) <
            0)
            return err_set(ERR_ARG, "no SFTP port given");
        if (s_port(line, port) != ERR_OK)
            return ERR_ARG;
    }
    if (o->user != NULL)
        snprintf(user, 128, "%s", o->user);
    else if (s_ask("User ID: ", o->password_stdin, user, 128) < 0 || !*user)
        return err_set(ERR_ARG, "no SFTP user given");
    if (prompt_password("Password: ", o->password_stdin, password, pwlen) !=
        ERR_OK)
        return ERR_ARG;
    if (o->dir != NULL)
        snprintf(dir, 512, "%s", o->dir);
    else if (s_ask("Directory: ", o->password_stdin, dir, 512) < 0 || !*dir)
        return err_set(ERR_ARG, "no destination folder given");
    return ERR_OK;
}

static void
s_sha256(const uint8_t *buf, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned int n = 0;

    out[0] = '\0';
    if (EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) != 1)
        return;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Uploads key and has the agent record it. */
static int
s_upload(const char *sock, sftpc_opts_t *so, const char *dir,
         const uint8_t *key, size_t keylen)
{
    char remote[1100], where[1400], sha[65];
    char *v[] = {"key", "backed-up", sha, where};
    size_t sent = 0;
    int rc;

    rc = sftpc_upload(so, dir, SFTPC_KEY_FILE, key, keylen, &sent, remote,
                      sizeof(remote));
    if (rc != ERR_OK)
        return s_fail(rc);
    snprintf(where, sizeof(where), "%s@%s:%d:%s", so->user, so->host, so->port,
             remote);
    printf("Transferred ITLRecovery.p12 to %s: %zu bytes sent.\n", where, sent);
    fflush(stdout);
    s_sha256(key, keylen, sha);
    return adminsock_call(sock, 4, v, NULL, 0, AGENT_TIMEOUT_MS);
}

int
cmd_file_get_tftp(int argc, char **argv)
{
    static const char *words = "file get tftp";
    char sock[300], role[32], kh[600], host[256], user[128], dir[512],
        pw[256] = "";
    char *v[] = {"key", "export"};
    sftpc_opts_t so = {0};
    s_opts_t o;
    uint8_t *key = NULL;
    size_t keylen = 0;
    int rc, port = SFTPC_DEFAULT_PORT;

    if ((rc = s_parse(words, argc, argv, &o)) != 0)
        return rc;
    if (o.npos != 1)
        return cmd_usage(words);
    if ((rc = s_agent(&o, sock, sizeof(sock), role, sizeof(role))) != 0)
        return rc;
    if (strcasecmp(o.pos[0], SFTPC_KEY_FILE) != 0 ||
        strcmp(role, "publisher") != 0) {
        fprintf(stderr, "%s: file not found on this node%s\n", o.pos[0],
                strcmp(role, "publisher") != 0
                    ? " (the recovery key file is kept on the publisher)"
                    : "");
        return CMD_EXIT_NO;
    }
    if ((rc = s_known_hosts(&o, sock, kh, sizeof(kh))) != 0)
        return rc;
    rc = adminsock_exchange(sock, 2, v, NULL, NULL, 0, &key, &keylen,
                            AGENT_TIMEOUT_MS);
    if (rc != 0 || key == NULL)
        return rc ? rc : CMD_EXIT_ERROR;
    if (s_destination(&o, host, &port, user, dir, pw, sizeof(pw)) != ERR_OK) {
        rc = s_fail(ERR_ARG);
        goto out;
    }
    so = (sftpc_opts_t){host,         port,      user,      pw, kh,
                        o.accept_new, o.timeout, s_confirm, &o};
    rc = s_upload(sock, &so, dir, key, keylen);
out:
    OPENSSL_cleanse(pw, sizeof(pw));
    OPENSSL_cleanse(key, keylen);
    free(key);
    return rc;
}

/* ---- set password cluster --------------------------------------------- */

int
cmd_set_password_cluster(int argc, char **argv)
{
    static const char *words = "set password cluster";
    char cur[256] = "", next[256] = "", again[256] = "";
    const char *state;
    s_opts_t o;
    int rc;

    if ((rc = s_parse(words, argc, argv, &o)) != 0)
        return rc;
    if (o.npos != 0)
        return cmd_usage(words);
    state = o.state ? o.state : CMD_DEFAULT_STATE;
    rc = CMD_EXIT_ERROR;
    if (prompt_password("Current cluster security password: ", o.password_stdin,
                        cur, sizeof(cur)) != ERR_OK ||
        prompt_password("New cluster security password: ", o.password_stdin,
                        next, sizeof(next)) != ERR_OK ||
        (!o.password_stdin &&
         prompt_password("New cluster security password (again): ", 0, again,
                         sizeof(again)) != ERR_OK)) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        goto out;
    }
    if (!o.password_stdin && strcmp(next, again) != 0) {
        fprintf(stderr, "itl-admin: the two new passwords differ; nothing "
                        "was changed\n");
        goto out;
    }
    if ((rc = clusterpw_change(state, cur, next)) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        rc = rc == ERR_PASSWORD ? CMD_EXIT_NO : CMD_EXIT_ERROR;
        goto out;
    }
    printf("Changed the cluster security password of the node in %s:\n"
           "ITLRecovery.p12 is re-encrypted (the old file is kept as "
           "ITLRecovery.p12.prev), secrets/p12.pass and secrets/enrol.key "
           "are rewritten.\n"
           "Restart the node's agent for the new enrolment key to take "
           "effect. Enrolled subscribers keep working; initialise new "
           "ones with the new password.\n"
           "The key file changed: back it up again with: file get tftp "
           "ITLRecovery.p12\n",
           state);
    rc = CMD_EXIT_OK;
out:
    OPENSSL_cleanse(cur, sizeof(cur));
    OPENSSL_cleanse(next, sizeof(next));
    OPENSSL_cleanse(again, sizeof(again));
    return rc;
}

/* ---- show backup ------------------------------------------------------- */

int
cmd_show_backup(int argc, char **argv)
{
    char sock[300], role[32];
    char *v[] = {"key", "backup-status"};
    s_opts_t o;
    int rc;

    if ((rc = s_parse("show backup", argc, argv, &o)) != 0)
        return rc;
    if (o.npos != 0)
        return cmd_usage("show backup");
    if ((rc = s_agent(&o, sock, sizeof(sock), role, sizeof(role))) != 0)
        return rc;
    if (strcmp(role, "publisher") != 0) {
        fprintf(stderr, "This is not a publisher node\n");
        return CMD_EXIT_NO;
    }
    return adminsock_call(sock, 2, v, NULL, 0, AGENT_TIMEOUT_MS);
}

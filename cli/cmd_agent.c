/*
 * Commands that go through the node's agent on its admin socket.
 *
 * The socket is found from --socket PATH, else the ITL_ADMIN_SOCKET
 * environment variable, else the admin_socket (or state_dir) of the
 * configuration given by --config FILE, else of the installed publisher or
 * subscriber configuration under /etc/itl-recovery.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "adminsock.h"
#include "commands.h"
#include "config.h"
#include "fsutil.h"
#include "prompt.h"

/* How long an agent may stay silent: long for the commands that do work
 * on every node (each line resets it), short for the others. */
#define AGENT_TIMEOUT_MS 120000
#define AGENT_QUICK_MS   15000

typedef struct {
    const char *socket;
    const char *config;
    int password_stdin;
    int json;
} agent_opts_t;

static int
s_opts(const char *words, int argc, char **argv, agent_opts_t *o)
{
    static const struct option longs[] = {
        {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
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
        case 'p':
            o->password_stdin = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        default:
            return cmd_usage(words);
        }
    }
    if (optind < argc)
        return cmd_usage(words);
    return 0;
}

/* Finds the agent's socket; prints why not and returns -1 when it can't. */
static int
s_socket_path(const agent_opts_t *o, char *buf, size_t len)
{
    static const char *const defaults[] = {"/etc/itl-recovery/publisher.conf",
                                           "/etc/itl-recovery/subscriber.conf",
                                           NULL};
    const char *env = getenv("ITL_ADMIN_SOCKET");
    const char *conf = o->config;
    config_t c;

    if (o->socket || (env && *env)) {
        snprintf(buf, len, "%s", o->socket ? o->socket : env);
        return 0;
    }
    for (int i = 0; conf == NULL && defaults[i]; i++) {
        if (fs_exists(defaults[i]))
            conf = defaults[i];
    }
    if (conf == NULL) {
        fprintf(stderr,
                "itl-admin: no agent configuration in "
                "/etc/itl-recovery; give --config FILE or --socket PATH\n");
        return -1;
    }
    if (config_load(conf, CONFIG_PUBLISHER, &c) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        return -1;
    }
    if (c.admin_socket[0])
        snprintf(buf, len, "%s", c.admin_socket);
    else
        config_state_path(&c, "admin.sock", buf, len);
    return 0;
}

/* Sends words (plus nothing else) to the agent and prints its answer. */
static int
s_call(const char *words, int argc, char **argv, int needs_password)
{
    char sock[300], password[256] = "", copy[128];
    char *v[8];
    int n = 0, rc;
    agent_opts_t o;

    rc = s_opts(words, argc, argv, &o);
    if (rc != 0)
        return rc;
    if (s_socket_path(&o, sock, sizeof(sock)) < 0)
        return CMD_EXIT_ERROR;
    snprintf(copy, sizeof(copy), "%s", words);
    for (char *w = strtok(copy, " "); w && n < 8; w = strtok(NULL, " "))
        v[n++] = w;
    if (needs_password) {
        /* Only the publisher asks for the password: a subscriber answers
         * the command itself, before anything is typed. */
        char role[32] = "";
        char *q[] = {"role"};
        rc = adminsock_query(sock, 1, q, NULL, 0, 10000, role, sizeof(role));
        if (rc != 0)
            return rc;
        needs_password = strcmp(role, "publisher") == 0;
    }
    if (needs_password &&
        prompt_password("Enter administrator password: ", o.password_stdin,
                        password, sizeof(password)) != ERR_OK) {
        fprintf(stderr, "itl-admin: %s\n", err_detail());
        return CMD_EXIT_ERROR;
    }
    rc = adminsock_call(sock, n, v, needs_password ? password : NULL, o.json,
                        needs_password || strstr(words, "restart") != NULL
                            ? AGENT_TIMEOUT_MS
                            : AGENT_QUICK_MS);
    OPENSSL_cleanse(password, sizeof(password));
    return rc;
}

int
cmd_reset_localkey(int argc, char **argv)
{
    return s_call("utils itl reset localkey", argc, argv, 1);
}

int
cmd_service_restart_tftp(int argc, char **argv)
{
    return s_call("utils service restart tftp", argc, argv, 0);
}

int
cmd_show_cluster(int argc, char **argv)
{
    return s_call("show cluster", argc, argv, 0);
}

int
cmd_show_itl_cluster(int argc, char **argv)
{
    return s_call("show itl cluster", argc, argv, 0);
}

int
cmd_agent_socket(const char *socket, const char *config, char *buf, size_t len)
{
    agent_opts_t o;

    memset(&o, 0, sizeof(o));
    o.socket = socket;
    o.config = config;
    return s_socket_path(&o, buf, len);
}

int
cmd_status(int argc, char **argv)
{
    return s_call("status", argc, argv, 0);
}

int
cmd_agent_itl_path(const char *socket, const char *config, char *out,
                   size_t outlen)
{
    char sock[300];
    char *v[] = {"itl-path"};
    agent_opts_t o;
    int rc;

    memset(&o, 0, sizeof(o));
    o.socket = socket;
    o.config = config;
    if (s_socket_path(&o, sock, sizeof(sock)) < 0)
        return CMD_EXIT_ERROR;
    out[0] = '\0';
    rc = adminsock_query(sock, 1, v, NULL, 0, 10000, out, outlen);
    if (rc == 0 && out[0] == '\0')
        rc = CMD_EXIT_ERROR;
    return rc;
}

int
cmd_show_reset(int argc, char **argv)
{
    return s_call("show reset", argc, argv, 0);
}

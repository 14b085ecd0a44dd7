#include "agent.h"

#include <getopt.h>
#include <unistd.h>
#include <sys/file.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fsutil.h"
#include "log.h"
#include "node.h"
#include "prompt.h"

volatile sig_atomic_t agent_stop;

static void
s_usage(const char *prog, FILE *out)
{
    fprintf(out,
            "usage: %s [--config FILE] [--foreground] [COMMAND]\n"
            "commands:\n"
            "  run            run the agent (the default)\n"
            "  init           create this node's keys (asks for passwords;\n"
            "                 --password-stdin reads them from stdin)\n"
            "  show-key       print this node's CURVE public key\n"
            "  check-config   validate the configuration and exit\n"
            "options:\n"
            "  --config FILE  configuration (default "
            "/etc/itl-recovery/%s.conf)\n"
            "  --foreground   log to stderr instead of syslog\n"
            "  --check-config same as the check-config command\n",
            prog, prog + 4);
}

int
agent_parse_args(const char *prog, int argc, char **argv, agent_opts_t *o)
{
    static char def[128];
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"check-config", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    snprintf(def, sizeof(def), "/etc/itl-recovery/%s.conf", prog + 4);
    o->config_path = def;
    o->command = "run";
    while ((c = getopt_long(argc, argv, "c:fh", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'f':
            o->foreground = 1;
            break;
        case 'p':
            o->password_stdin = 1;
            break;
        case 'k':
            o->command = "check-config";
            break;
        case 'h':
            s_usage(prog, stdout);
            return 1;
        default:
            s_usage(prog, stderr);
            return -1;
        }
    }
    if (optind < argc)
        o->command = argv[optind++];
    if (optind < argc ||
        (strcmp(o->command, "run") && strcmp(o->command, "init") &&
         strcmp(o->command, "show-key") &&
         strcmp(o->command, "check-config"))) {
        s_usage(prog, stderr);
        return -1;
    }
    return 0;
}

int
agent_load_config(const agent_opts_t *o, int role, config_t *c)
{
    if (config_load_role(o->config_path, role, c) != ERR_OK) {
        fprintf(stderr, "%s\n", err_detail());
        return -1;
    }
    if (c->role != role) {
        fprintf(stderr, "%s: role: this file configures a %s, not a %s\n",
                o->config_path,
                c->role == CONFIG_PUBLISHER ? "publisher" : "subscriber",
                role == CONFIG_PUBLISHER ? "publisher" : "subscriber");
        return -1;
    }
    return 0;
}

int
agent_curve_keys(const config_t *c, curve_keys_t *k, int *created)
{
    char path[300];
    int existed;

    config_state_path(c, "curve.key", path, sizeof(path));
    existed = fs_exists(path);
    if (created != NULL)
        *created = !existed;
    return curve_keys_load_or_create(path, k);
}

int
agent_lock_state(const config_t *c)
{
    char path[300], pid[32] = "";
    int fd;
    ssize_t n;

    config_state_path(c, "agent.lock", path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        n = read(fd, pid, sizeof(pid) - 1);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        return err_set(ERR_EXISTS,
                       "the state folder %s is in use by another "
                       "agent (pid %s); stop it first",
                       c->state_dir, pid[0] ? pid : "unknown");
    }
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, pid, strlen(pid)) < 0)
        log_warning("cannot write %s: %s", path, strerror(errno));
    /* The descriptor stays open: the lock lasts as long as the process. */
    return ERR_OK;
}

void
agent_admin_path(const config_t *c, char *buf, size_t len)
{
    if (c->admin_socket[0])
        snprintf(buf, len, "%s", c->admin_socket);
    else
        config_state_path(c, "admin.sock", buf, len);
}

int
agent_enrol_key(const config_t *c, uint8_t key[32])
{
    return node_enrol_key_load(c->state_dir, key);
}

static int
s_ask_twice(const char *what, int from_stdin, char *buf, size_t len)
{
    char again[256], prompt[128];

    snprintf(prompt, sizeof(prompt), "Enter the %s: ", what);
    if (prompt_password(prompt, from_stdin, buf, len) != ERR_OK)
        return -1;
    if (from_stdin)
        return 0;
    snprintf(prompt, sizeof(prompt), "Enter the %s again: ", what);
    if (prompt_password(prompt, 0, again, sizeof(again)) != ERR_OK)
        return -1;
    int same = strcmp(buf, again) == 0;
    OPENSSL_cleanse(again, sizeof(again));
    if (!same) {
        err_set(ERR_PASSWORD, "the two %ss differ", what);
        return -1;
    }
    return 0;
}

int
agent_init(const agent_opts_t *o, const config_t *c)
{
    char cluster[256] = "", admin[256] = "";
    curve_keys_t k;
    node_params_t np;
    int pub = c->role == CONFIG_PUBLISHER, rc = 1;

    memset(&np, 0, sizeof(np));
    np.hostname = c->hostname;
    np.org.ou = c->org_ou;
    np.org.o = c->org_o;
    np.org.l = c->org_l;
    np.org.st = c->org_st;
    np.org.c = c->org_c;
    np.key_bits = c->key_bits;
    np.publisher = pub;
    /* Refuse before asking anything when the folder holds a node. */
    if (node_init_check(c->state_dir) != ERR_OK) {
        fprintf(stderr, "init: %s\n", err_detail());
        goto out;
    }
    if (s_ask_twice("cluster security password", o->password_stdin, cluster,
                    sizeof(cluster)) < 0 ||
        (pub && s_ask_twice("administrator password", o->password_stdin, admin,
                            sizeof(admin)) < 0)) {
        fprintf(stderr, "init: %s\n", err_detail());
        goto out;
    }
    printf("Creating the keys of %s %s in %s (RSA-%d)...\n",
           pub ? "publisher" : "subscriber", c->hostname, c->state_dir,
           c->key_bits);
    fflush(stdout);
    if (fs_mkdir_p(c->state_dir, 0700) != ERR_OK ||
        node_init(c->state_dir, &np, cluster, pub ? admin : NULL) != ERR_OK ||
        agent_curve_keys(c, &k, NULL) != ERR_OK) {
        fprintf(stderr, "init: %s\n", err_detail());
        goto out;
    }
    printf("Node %s initialised.\n", c->hostname);
    printf("CURVE public key: %s\n", k.pub);
    if (pub)
        printf("Put this key in every subscriber's configuration as "
               "publisher_key, then start the agent.\n");
    else
        printf("Start the agent; it enrols with the publisher at %s using "
               "the cluster security password.\n",
               c->publisher);
    OPENSSL_cleanse(&k, sizeof(k));
    rc = 0;
out:
    OPENSSL_cleanse(cluster, sizeof(cluster));
    OPENSSL_cleanse(admin, sizeof(admin));
    return rc;
}

static void
s_on_signal(int sig)
{
    (void)sig;
    agent_stop = 1;
}

void
agent_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* No reload on SIGHUP (restart the agent to read its configuration);
     * a stray signal must not kill a node that phones depend on. */
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
}

int
agent_endpoint(const char *hostport, int delta, char *buf, size_t len)
{
    char host[128];
    int port;

    if (config_split_endpoint(hostport, host, sizeof(host), &port) != ERR_OK)
        return ERR_ARG;
    if (port + delta > 65535)
        return err_set(ERR_ARG, "port %d + %d is out of range", port, delta);
    snprintf(buf, len, "tcp://%s:%d", host, port + delta);
    return ERR_OK;
}
